//! Flow checks, one function at a time, following control flow with a
//! [`State`] of facts per local: **null safety** (a pointer that may be
//! null is not dereferenced; spec 4.6.8), **packet bounds** (reads and
//! writes through packet pointers stay within a checked length; helpers
//! that move the packet make its pointers stale) and **map value pointer
//! lifetimes** (a pointer into a hash map's value is not used after an
//! update or delete of that map may have freed it). In userspace, a write
//! through a copy of a map entry is flagged as not reaching the map.
//!
//! Takes one lowered function; gives diagnostics.

use ksc_frontend::diag::codes;
use std::collections::{HashMap, HashSet};

use ksc_frontend::Diagnostic;
use ksc_ir as ir;
use ksc_ir::{Callee, Domain, FnId, FnKind, LocalId, MapId, TypeKind};

use super::{for_child_blocks, walk_stmt_exprs};
use crate::checker::Checker;

/// Like [`ir::Expr::walk`], but `&&`, `||` and `?:` nodes are not entered: they
/// are collected in `nested` for the caller to visit with refinement.
fn walk_shallow(e: &ir::Expr, nested: &mut Vec<ir::Expr>, f: &mut impl FnMut(&ir::Expr)) {
    if matches!(
        e.kind,
        ir::ExprKind::Binary {
            op: ir::BinOp::And | ir::BinOp::Or,
            ..
        } | ir::ExprKind::Select { .. }
    ) {
        nested.push(e.clone());
        return;
    }
    f(e);
    e.for_each_child(|c| walk_shallow(c, nested, f));
}

#[derive(Clone, Default)]
struct State {
    /// Locals known not to be null here.
    nonnull: HashSet<LocalId>,
    /// Locals holding a pointer into a map's value, and which map.
    map_ptr: HashMap<LocalId, MapId>,
    /// Locals whose map pointer may have been invalidated, and where.
    invalid: HashMap<LocalId, ir::Span>,
    /// Packet pointers: byte offset from the packet's start (`ctx->data`).
    pkt: HashMap<LocalId, i64>,
    /// Locals holding `ctx->data_end`.
    pkt_end: HashSet<LocalId>,
    /// Bytes from the packet's start proven to be inside the packet
    /// (`i64::MAX` once a check this analysis cannot read was made: the
    /// verifier is then the judge).
    checked: i64,
    /// Locals known to hold a constant integer.
    consts: HashMap<LocalId, i64>,
    /// Packet pointers made stale by a helper that moved the packet.
    stale: HashMap<LocalId, ir::Span>,
    /// Locals holding a ring-buffer record `reserve` gave that may still
    /// need its `submit`/`discard` here, and where it was reserved.
    reserved: HashMap<LocalId, ir::Span>,
    /// Loop counters' largest values (`for (i in 0..8)`: 7).
    ranges: HashMap<LocalId, i64>,
    /// Locals whose object or record was released (`delete`, `submit`,
    /// `discard`, or a function doing so) on some path, and where.
    freed: HashMap<LocalId, ir::Span>,
}

impl State {
    fn join(&self, o: &State) -> State {
        State {
            nonnull: self.nonnull.intersection(&o.nonnull).copied().collect(),
            map_ptr: self
                .map_ptr
                .iter()
                .filter(|(k, v)| o.map_ptr.get(k) == Some(v))
                .map(|(k, v)| (*k, *v))
                .collect(),
            invalid: self
                .invalid
                .iter()
                .chain(o.invalid.iter())
                .map(|(k, v)| (*k, *v))
                .collect(),
            pkt: self
                .pkt
                .iter()
                .filter(|(k, v)| o.pkt.get(k) == Some(v))
                .map(|(k, v)| (*k, *v))
                .collect(),
            pkt_end: self.pkt_end.intersection(&o.pkt_end).copied().collect(),
            checked: self.checked.min(o.checked),
            consts: self
                .consts
                .iter()
                .filter(|(k, v)| o.consts.get(k) == Some(v))
                .map(|(k, v)| (*k, *v))
                .collect(),
            stale: self
                .stale
                .iter()
                .chain(o.stale.iter())
                .map(|(k, v)| (*k, *v))
                .collect(),
            ranges: self
                .ranges
                .iter()
                .filter_map(|(k, v)| Some((*k, (*v).max(*o.ranges.get(k)?))))
                .collect(),
            freed: self
                .freed
                .iter()
                .chain(o.freed.iter())
                .map(|(k, v)| (*k, *v))
                .collect(),
            // Held on either path: the verifier follows each.
            reserved: self
                .reserved
                .iter()
                .chain(o.reserved.iter())
                .map(|(k, v)| (*k, *v))
                .collect(),
        }
    }
}

pub(super) struct Flow<'c, 'a> {
    c: &'c mut Checker<'a>,
    f: FnId,
    reported: HashSet<ir::Span>,
    /// Userspace locals bound to `m[k]`: they point to a copy of the entry.
    user_copies: HashMap<LocalId, MapId>,
    /// Locals ever bound to a map lookup `m[k]`, for the null check's help.
    lookups: HashMap<LocalId, MapId>,
    /// For each enclosing `try`: the records held where a `throw` jumps
    /// to its catches.
    try_throws: Vec<Option<HashMap<LocalId, ir::Span>>>,
    /// For each enclosing loop: the records held when its iteration began.
    loops: Vec<HashSet<LocalId>>,
    /// What each `reserve` or `new` (by its span) holds, for messages.
    reserve_maps: HashMap<ir::Span, Held>,
    /// The call whose packet pointers this run follows into the function.
    site: Option<ir::Span>,
}

/// What a tracked local holds until it is released.
#[derive(Clone, Copy, PartialEq)]
enum Held {
    /// A ring-buffer record of this map (`reserve`).
    Record(MapId),
    /// An object from `new`.
    Object,
}

impl<'c, 'a> Flow<'c, 'a> {
    pub(super) fn check_function(c: &'c mut Checker<'a>, f: FnId) {
        if matches!(c.functions[f.index()].kind, FnKind::Extern { .. }) {
            return;
        }
        let mut st = State::default();
        // A program's context pointer is never null.
        if matches!(c.functions[f.index()].kind, FnKind::Program(_))
            && c.functions[f.index()].params > 0
        {
            st.nonnull.insert(LocalId(0));
        }
        // Pointer parameters every call passes non-null (docs/language.md).
        for p in 0..c.functions[f.index()].params {
            if c.nonnull_params.contains(&(f, p)) {
                st.nonnull.insert(LocalId(p));
            }
        }
        let body = c.functions[f.index()].body.clone();
        let span = c.functions[f.index()].span;
        let mut fl = Flow {
            c,
            f,
            reported: HashSet::new(),
            user_copies: HashMap::new(),
            lookups: HashMap::new(),
            try_throws: Vec::new(),
            loops: Vec::new(),
            reserve_maps: HashMap::new(),
            site: None,
        };
        // Falling off the end: the function's closing brace.
        let close = ir::Span {
            start: span.end.saturating_sub(1),
            ..span
        };
        if let Some(end) = fl.block(&body, st.clone()) {
            fl.leaks(&end, None, close, "the function ends here");
        }
        // Again for each call passing packet pointers, as that call gives
        // them: reads through them need the caller's check or one here
        // (docs/language.md, "What ksc catches that the verifier would
        // refuse").
        if fl.c.functions[f.index()].domain != Domain::Ebpf {
            return;
        }
        let sites = fl.c.pkt_sites.get(&f).cloned().unwrap_or_default();
        for site in sites {
            let mut s = st.clone();
            for &(p, off) in &site.params {
                s.pkt.insert(LocalId(p), off);
                s.nonnull.insert(LocalId(p));
            }
            for &p in &site.ends {
                s.pkt_end.insert(LocalId(p));
            }
            s.checked = site.checked;
            fl.site = Some(site.span);
            if let Some(end) = fl.block(&body, s) {
                fl.leaks(&end, None, close, "the function ends here");
            }
        }
    }

    /// A call passing packet pointers or `data_end` to a function of ours.
    fn note_pkt_site(&mut self, g: FnId, call: ir::Span, args: &[ir::Expr], st: &State) {
        let mut params = Vec::new();
        let mut ends = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if let Some(o) = self.pkt_offset(a, st) {
                params.push((i as u32, o));
            } else if self.is_pkt_end(a, st) {
                ends.push(i as u32);
            }
        }
        if params.is_empty() {
            return;
        }
        let sites = self.c.pkt_sites.entry(g).or_default();
        match sites.iter_mut().find(|s| s.span == call) {
            Some(s) => {
                s.checked = s.checked.min(st.checked);
                s.params = params;
                s.ends = ends;
            }
            None => sites.push(super::PktSite {
                span: call,
                checked: st.checked,
                params,
                ends,
            }),
        }
    }

    /// Records held in `st` (and not in `keep`) at a way out of the
    /// function or of a loop iteration: the verifier refuses them
    /// ("Unreleased reference"). docs/language.md, "What ksc catches that
    /// the verifier would refuse".
    fn leaks(&mut self, st: &State, keep: Option<&HashSet<LocalId>>, exit: ir::Span, what: &str) {
        let mut held: Vec<(LocalId, ir::Span)> = st
            .reserved
            .iter()
            .filter(|(l, _)| keep.is_none_or(|k| !k.contains(l)))
            .map(|(l, s)| (*l, *s))
            .collect();
        held.sort_by_key(|(l, _)| l.0);
        for (l, at) in held {
            if !self.reported.insert(at) {
                continue;
            }
            let name = self.c.functions[self.f.index()].locals[l.index()]
                .name
                .clone();
            let held = self.reserve_maps.get(&at).copied();
            let d = match held {
                Some(Held::Object) => Diagnostic::error(codes::NOT_RELEASED,
                    at,
                    format!("object `{name}` from `new` is not deleted on every path"),
                )
                .with_label("allocated here")
                .with_secondary(exit, format!("still held when {what}"))
                .with_help(format!(
                    "delete it on every path before this: `delete {name}` (the verifier refuses a program that may leave an allocated object unreleased)"
                )),
                _ => {
                    let rb = match held {
                        Some(Held::Record(m)) => self.c.maps[m.index()].name.clone(),
                        _ => "rb".to_string(),
                    };
                    Diagnostic::error(codes::NOT_RELEASED,
                        at,
                        format!("ring-buffer record `{name}` is not submitted or discarded on every path"),
                    )
                    .with_label("reserved here")
                    .with_secondary(exit, format!("still held when {what}"))
                    .with_help(format!(
                        "submit or discard it on every path before this: `{rb}.submit({name})` or `{rb}.discard({name})` (the verifier refuses a program that may leave a record unreleased)"
                    ))
                }
            };
            self.c.diags.push(d);
        }
    }

    /// The local a ring-buffer record expression names (`e`, `e as *T`).
    fn record_local(e: &ir::Expr) -> Option<LocalId> {
        match &e.kind {
            ir::ExprKind::Local(l) => Some(*l),
            ir::ExprKind::Cast(inner) => Self::record_local(inner),
            _ => None,
        }
    }

    /// What a `reserve` or `new` expression (cast or not) acquires.
    fn reserve_of(e: &ir::Expr) -> Option<Held> {
        match &e.kind {
            ir::ExprKind::RingbufReserve { map, .. } => Some(Held::Record(*map)),
            ir::ExprKind::ObjNew { .. } => Some(Held::Object),
            ir::ExprKind::Cast(inner) => Self::reserve_of(inner),
            _ => None,
        }
    }

    /// Does function `g` submit or discard its parameter `p` (or delete
    /// it)? Then a record (object) passed there is released by the call.
    fn releases_param(&self, g: FnId, p: u32) -> bool {
        let mut found = false;
        self.c.functions[g.index()].body.walk_exprs(&mut |x| {
            if let Some(ptr) = Self::released_ptr(x) {
                found |= Self::record_local(ptr) == Some(LocalId(p));
            }
        });
        found
    }

    /// The pointer a `submit`/`discard`/`delete` releases.
    fn released_ptr(e: &ir::Expr) -> Option<&ir::Expr> {
        match &e.kind {
            ir::ExprKind::RingbufSubmit { ptr, .. } | ir::ExprKind::ObjDelete(ptr) => Some(ptr),
            _ => None,
        }
    }

    fn is_pointer(&self, ty: ir::TypeId) -> bool {
        matches!(self.c.types.kind(ty), TypeKind::Pointer(_))
    }

    /// Is this pointer expression certainly not null in state `st`?
    fn nonnull(&self, e: &ir::Expr, st: &State) -> bool {
        use ir::ExprKind as K;
        // Context pointers (`*xdp_md`, `*__sk_buff`, `*trace_event_raw_*`)
        // come from the kernel and are never null.
        if let Some(p) = self.c.types.pointee(e.ty) {
            if self
                .c
                .types
                .struct_def(p)
                .is_some_and(|s| s.origin.is_kernel())
            {
                return true;
            }
        }
        match &e.kind {
            K::Local(l) => st.nonnull.contains(l),
            K::AddrOf(_) => true,
            K::Value(ir::Value::Str(_)) => true,
            K::Cast(inner) => self.nonnull(inner, st),
            K::Binary {
                op: ir::BinOp::Add | ir::BinOp::Sub,
                lhs,
                ..
            } => self.nonnull(lhs, st),
            // Fields of kernel context structs (`ctx->data`) are valid pointers.
            K::Field { base, .. } => match self.c.types.kind(
                if let K::Field {
                    base: b,
                    through_pointer: true,
                    ..
                } = &e.kind
                {
                    self.c.types.pointee(b.ty).unwrap_or(b.ty)
                } else {
                    base.ty
                },
            ) {
                TypeKind::Struct(s) => s.origin.is_kernel(),
                _ => false,
            },
            K::Select { then, els, .. } => self.nonnull(then, st) && self.nonnull(els, st),
            _ => false,
        }
    }

    /// Is this a context struct's field `name` (`ctx->data`)?
    fn ctx_field(&self, e: &ir::Expr, name: &str) -> bool {
        let ir::ExprKind::Field { base, field, .. } = &e.kind else {
            return false;
        };
        let sty = self.c.types.pointee(base.ty).unwrap_or(base.ty);
        match self.c.types.struct_def(sty) {
            Some(s) if s.origin == ksc_ir::StructOrigin::Uapi => s
                .fields
                .get(*field as usize)
                .is_some_and(|f| f.name == name),
            _ => false,
        }
    }

    fn is_pkt_end(&self, e: &ir::Expr, st: &State) -> bool {
        match &e.kind {
            ir::ExprKind::Local(l) => st.pkt_end.contains(l),
            ir::ExprKind::Cast(inner) => self.is_pkt_end(inner, st),
            _ => self.ctx_field(e, "data_end"),
        }
    }

    /// A constant integer expression's value.
    fn const_of(&self, e: &ir::Expr, st: &State) -> Option<i64> {
        use ir::ExprKind as K;
        match &e.kind {
            K::Value(ir::Value::Int(n)) => Some(*n),
            K::Value(ir::Value::UInt(n)) => i64::try_from(*n).ok(),
            K::Local(l) => st.consts.get(l).copied(),
            K::Cast(inner) => self.const_of(inner, st),
            K::Binary { op, lhs, rhs } => {
                let (a, b) = (self.const_of(lhs, st)?, self.const_of(rhs, st)?);
                match op {
                    ir::BinOp::Add => a.checked_add(b),
                    ir::BinOp::Sub => a.checked_sub(b),
                    ir::BinOp::Mul => a.checked_mul(b),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The largest value a non-negative integer expression may have, when
    /// known (constants, loop counters, sums and products of them).
    fn bound_of(&self, e: &ir::Expr, st: &State) -> Option<i64> {
        use ir::ExprKind as K;
        if let Some(c) = self.const_of(e, st) {
            return Some(c);
        }
        match &e.kind {
            K::Local(l) => st.ranges.get(l).copied(),
            K::Cast(inner) => self.bound_of(inner, st),
            K::Binary { op, lhs, rhs } => {
                let (a, b) = (self.bound_of(lhs, st)?, self.bound_of(rhs, st)?);
                match op {
                    ir::BinOp::Add => a.checked_add(b),
                    ir::BinOp::Mul if a >= 0 && b >= 0 => a.checked_mul(b),
                    ir::BinOp::BitAnd if b >= 0 => Some(b),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The furthest byte offset a packet pointer with a run-time offset
    /// may have (`data + i`, `i` a loop counter), when known.
    fn pkt_offset_max(&self, e: &ir::Expr, st: &State) -> Option<i64> {
        use ir::ExprKind as K;
        if let Some(o) = self.pkt_offset(e, st) {
            return Some(o);
        }
        match &e.kind {
            K::Cast(inner) => self.pkt_offset_max(inner, st),
            K::Binary {
                op: ir::BinOp::Add,
                lhs,
                rhs,
            } => {
                let base = self.pkt_offset_max(lhs, st)?;
                let n = self.bound_of(rhs, st)?;
                let elem = self
                    .c
                    .types
                    .pointee(lhs.ty)
                    .map_or(1, |p| self.c.types.size(p).max(1)) as i64;
                base.checked_add(n.checked_mul(elem)?)
            }
            _ => None,
        }
    }

    /// Derived from a packet pointer, at an offset maybe unknown.
    fn pkt_derived(&self, e: &ir::Expr, st: &State) -> bool {
        use ir::ExprKind as K;
        self.pkt_offset(e, st).is_some()
            || match &e.kind {
                K::Cast(inner) => self.pkt_derived(inner, st),
                K::Binary {
                    op: ir::BinOp::Add | ir::BinOp::Sub,
                    lhs,
                    ..
                } => self.pkt_derived(lhs, st),
                _ => false,
            }
    }

    /// Byte offset of a packet pointer from the packet's start, if known.
    fn pkt_offset(&self, e: &ir::Expr, st: &State) -> Option<i64> {
        use ir::ExprKind as K;
        match &e.kind {
            K::Local(l) => st.pkt.get(l).copied(),
            K::Cast(inner) => self.pkt_offset(inner, st),
            K::Binary {
                op: op @ (ir::BinOp::Add | ir::BinOp::Sub),
                lhs,
                rhs,
            } => {
                let base = self.pkt_offset(lhs, st)?;
                let n = self.const_of(rhs, st)?;
                let elem = self
                    .c
                    .types
                    .pointee(lhs.ty)
                    .map_or(1, |p| self.c.types.size(p).max(1)) as i64;
                let d = n.checked_mul(elem)?;
                Some(if *op == ir::BinOp::Add {
                    base.checked_add(d)?
                } else {
                    base.checked_sub(d)?
                })
            }
            _ if self.ctx_field(e, "data") => Some(0),
            _ => None,
        }
    }

    /// A read or write through packet pointer `p`, of bytes `[lo, hi)`
    /// relative to it, must lie within what a bounds check proved.
    fn pkt_access(&mut self, p: &ir::Expr, lo: i64, hi: i64, at: ir::Span, st: &State) {
        let off = match self.pkt_offset(p, st) {
            Some(off) => off,
            // An offset known only at run time: its largest value must be
            // checked, unless a run-time check left it to the verifier.
            None if st.checked != i64::MAX && self.pkt_derived(p, st) => {
                match self.pkt_offset_max(p, st) {
                    Some(m) => m,
                    None => {
                        if self.reported.insert(at) {
                            let mut d = Diagnostic::error(codes::PACKET_BOUNDS, at, "packet access at an offset known only at run time, with no length check")
                                .with_label(format!("only {} bytes are known to be in the packet here", st.checked.max(0)))
                                .with_help("check the pointer you read through against the end first: `if (p + 1 > data_end) { return XDP_PASS }`; the verifier rejects unchecked packet reads");
                            if let Some(site) = self.site {
                                d = d.with_secondary(
                                    site,
                                    "the packet pointer comes from this call",
                                );
                            }
                            self.c.diags.push(d);
                        }
                        return;
                    }
                }
            }
            None => return,
        };
        if off + hi <= st.checked || !self.reported.insert(at) {
            return;
        }
        let (a, b) = (off + lo, off + hi);
        // The check spelled with the program's own names: its pointer to
        // the packet's start when it has one, and its program type's
        // "let it pass" (docs/language.md, what the reference accepts and
        // ksc refuses).
        let f = &self.c.functions[self.f.index()];
        let start = st
            .pkt
            .iter()
            .filter(|(_, o)| **o == 0)
            .map(|(l, _)| f.locals[l.index()].name.clone())
            .min()
            .unwrap_or_else(|| "ctx->data".into());
        let end = st
            .pkt_end
            .iter()
            .map(|l| f.locals[l.index()].name.clone())
            .min()
            .unwrap_or_else(|| "ctx->data_end".into());
        let pass = match f.kind {
            FnKind::Program(ir::ProgramType::Tc { .. }) => "return TC_ACT_OK",
            FnKind::Program(ir::ProgramType::Xdp) => "return XDP_PASS",
            _ => "return ...",
        };
        let mut d = Diagnostic::error(codes::PACKET_BOUNDS, at, format!("packet access past the checked length: bytes {a}..{b} of the packet"))
            .with_label(format!("only {} bytes are known to be in the packet here", st.checked.max(0)))
            .with_help(format!(
                "check the length first, e.g. `if ({start} + {b} > {end}) {{ {pass} }}`; the verifier rejects unchecked packet reads"
            ));
        if let Some(site) = self.site {
            d = d
                .with_secondary(site, "the packet pointer comes from this call")
                .with_help(format!(
                    "check the length before this call (`if ({start} + {b} > {end}) {{ {pass} }}`), or pass `ctx->data_end` too and check it in the function; the verifier follows packet pointers into calls"
                ));
        }
        self.c.diags.push(d);
    }

    fn deref(&mut self, p: &ir::Expr, at: ir::Span, st: &State) {
        if let Some(l) = Self::record_local(p) {
            if let Some(&gone) = st.freed.get(&l) {
                if self.reported.insert(at) {
                    let n = self.c.functions[self.f.index()].locals[l.index()]
                        .name
                        .clone();
                    self.c.diags.push(
                        Diagnostic::error(
                            codes::STALE_POINTER,
                            at,
                            format!("`{n}` is used after it was released"),
                        )
                        .with_label("its object or record may be gone here")
                        .with_secondary(gone, "released here")
                        .with_help(format!("read what you need from `{n}` before releasing it")),
                    );
                }
                return;
            }
        }
        if !self.is_pointer(p.ty) || self.nonnull(p, st) {
            return;
        }
        if !self.reported.insert(at) {
            return;
        }
        let what = match &p.kind {
            ir::ExprKind::Local(l) => format!(
                "`{}`",
                self.c.functions[self.f.index()].locals[l.index()].name
            ),
            ir::ExprKind::MapLookup { .. } => "a map lookup".to_string(),
            _ => "this pointer".to_string(),
        };
        let hint = match &p.kind {
            ir::ExprKind::Local(l)
                if l.0 < self.c.functions[self.f.index()].params
                    && self.c.uncalled.contains(&self.f) =>
            {
                // Nothing vouches for the parameter (docs/language.md, what
                // the reference accepts and ksc refuses).
                let f = &self.c.functions[self.f.index()];
                let n = &f.locals[l.index()].name;
                let args: Vec<String> = (0..f.params)
                    .map(|i| {
                        if i == l.0 {
                            "&value".to_string()
                        } else {
                            f.locals[i as usize].name.clone()
                        }
                    })
                    .collect();
                format!(
                    "`{}` is never called, so no call shows `{n}` is not null: check it first, `if ({n} != null) {{ ... }}`, or call it with a pointer known not to be null, `{}({})`",
                    f.name,
                    f.name,
                    args.join(", ")
                )
            }
            ir::ExprKind::Local(l) if l.0 < self.c.functions[self.f.index()].params => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                format!("check it first: `if ({n} != null) {{ ... }}`; a pointer parameter needs no check only when every call passes a pointer known not to be null and the function never becomes a function pointer")
            }
            ir::ExprKind::Local(l) if self.lookups.contains_key(l) => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                let m = &self.c.maps[self.lookups[l].index()].name;
                format!("a lookup is null when `{m}` has no entry for the key; check it first: `if ({n} != null) {{ ... }}` (or read `{m}[key]` directly, which gives zero for an absent key)")
            }
            ir::ExprKind::Local(l) => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                format!("check it first: `if ({n} != null) {{ ... }}`")
            }
            _ => "store it in a variable and check it against `null` first".to_string(),
        };
        self.c.diags.push(
            Diagnostic::error(
                codes::NULL_DEREF,
                at,
                format!("potential null pointer dereference of {what}"),
            )
            .with_label("may be null here")
            .with_help(hint),
        );
    }

    fn expr(&mut self, e: &ir::Expr, st: &State) {
        use ir::ExprKind as K;
        // `&&`, `||` and `?:` refine what their later operands see.
        match &e.kind {
            K::Binary {
                op: op @ (ir::BinOp::And | ir::BinOp::Or),
                lhs,
                rhs,
            } => {
                self.expr(lhs, st);
                let mut s2 = st.clone();
                self.refine(lhs, *op == ir::BinOp::And, &mut s2);
                self.expr(rhs, &s2);
                return;
            }
            K::Select { cond, then, els } => {
                self.expr(cond, st);
                let mut t = st.clone();
                self.refine(cond, true, &mut t);
                self.expr(then, &t);
                let mut f = st.clone();
                self.refine(cond, false, &mut f);
                self.expr(els, &f);
                return;
            }
            _ => {}
        }
        let mut nested: Vec<ir::Expr> = Vec::new();
        let mut derefs: Vec<(ir::Expr, ir::Span)> = Vec::new();
        let mut uses: Vec<(LocalId, ir::Span)> = Vec::new();
        walk_shallow(e, &mut nested, &mut |x| match &x.kind {
            K::Deref(p) => derefs.push(((**p).clone(), x.span)),
            K::Field {
                base,
                through_pointer: true,
                ..
            } => derefs.push(((**base).clone(), x.span)),
            K::Index { base, .. } => derefs.push(((**base).clone(), x.span)),
            K::Local(l) => uses.push((*l, x.span)),
            _ => {}
        });
        for (p, at) in derefs {
            self.deref(&p, at, st);
        }
        // A pointer cut to fewer than 64 bits: the verifier tracks it as a
        // pointer and refuses the partial copy, spill or shift.
        if self.c.functions[self.f.index()].domain == Domain::Ebpf {
            let mut cuts: Vec<(ir::Span, ir::TypeId, ir::TypeId)> = Vec::new();
            walk_shallow(e, &mut Vec::new(), &mut |x| {
                if let K::Cast(inner) = &x.kind {
                    // Through whole-width integer casts (`(p as u64) as u32`).
                    let mut from: &ir::Expr = inner;
                    while let K::Cast(i) = &from.kind {
                        if self.c.types.size(from.ty) < 8 {
                            break;
                        }
                        from = i;
                    }
                    cuts.push((x.span, from.ty, x.ty));
                }
            });
            for (at, from, to) in cuts {
                let narrow =
                    matches!(self.c.types.kind(to), TypeKind::Int(_)) && self.c.types.size(to) < 8;
                if narrow && self.is_pointer(from) && self.reported.insert(at) {
                    let t = self.c.types.display(to);
                    self.c.diags.push(
                        Diagnostic::error(codes::POINTER_CUT, at, format!("a pointer cut to `{t}` in eBPF code"))
                            .with_label("the verifier refuses a partial copy of a pointer")
                            .with_help("keep the whole value: convert to `u64` (`p as u64`), and key maps by `u64`"),
                    );
                }
            }
        }
        // A BPF helper's pointer parameters take memory, not null, except
        // those the table marks `PtrOrNull` (the verifier:
        // "R1 type=scalar expected=fp, ..."): docs/language.md, "What ksc
        // catches that the verifier would refuse".
        let mut helper_args: Vec<(ir::Expr, &'static str, usize)> = Vec::new();
        let functions = &self.c.functions;
        walk_shallow(e, &mut Vec::new(), &mut |x| {
            if let K::Call { callee, args } = &x.kind {
                // An `extern` restating a helper calls the helper.
                let def = match callee {
                    Callee::BpfHelper(h) => ir::helper(*h),
                    Callee::Function(f) => match functions[f.index()].kind {
                        FnKind::Extern { helper: Some(h) } => ir::helper(h),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(def) = def {
                    for (i, a) in args.iter().enumerate() {
                        let ptr_param = def.params.get(i) == Some(&ir::HelperType::Ptr);
                        if ptr_param {
                            helper_args.push((a.clone(), def.name, i));
                        }
                    }
                }
            }
        });
        for (a, name, i) in helper_args {
            let null_literal = matches!(&a.kind, K::Value(ir::Value::Null))
                || matches!(&a.kind, K::Cast(x) if matches!(x.kind, K::Value(ir::Value::Null)));
            if !(null_literal || (self.is_pointer(a.ty) && !self.nonnull(&a, st))) {
                continue;
            }
            if !self.reported.insert(a.span) {
                continue;
            }
            let what = if null_literal {
                "`null`"
            } else {
                "a pointer that may be null"
            };
            self.c.diags.push(
                Diagnostic::error(
                    codes::MISMATCH,
                    a.span,
                    format!("`{name}` takes memory as argument {}, not {what}", i + 1),
                )
                .with_label("the verifier refuses a null pointer here")
                .with_help(if null_literal {
                    "pass a pointer to a variable or a string (`&buf`, `\"text\"`)".to_string()
                } else {
                    "check it first: `if (p != null) { ... }`".to_string()
                }),
            );
        }
        // `submit`/`discard` take a record known not to be null (the
        // verifier: "expected=ringbuf_mem").
        let mut submits: Vec<(ir::Expr, MapId, bool)> = Vec::new();
        walk_shallow(e, &mut Vec::new(), &mut |x| {
            if let K::RingbufSubmit { map, ptr, discard } = &x.kind {
                submits.push(((**ptr).clone(), *map, *discard));
            }
        });
        for (p, map, discard) in submits {
            if self.nonnull(&p, st) || !self.reported.insert(p.span) {
                continue;
            }
            let mname = self.c.maps[map.index()].name.clone();
            let op = if discard { "discard" } else { "submit" };
            let help = match Self::record_local(&p) {
                Some(l) => {
                    let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                    format!("check it first: `if ({n} != null) {{ ...; {mname}.{op}({n}) }}`")
                }
                None => format!(
                    "keep the record in a variable and check it: `var e = {mname}.reserve()` then `if (e != null) {{ ...; {mname}.{op}(e) }}`"
                ),
            };
            self.c.diags.push(
                Diagnostic::error(
                    codes::NULL_DEREF,
                    p.span,
                    format!("`{mname}.{op}` of a ring-buffer record that may be null"),
                )
                .with_label("null when the ring buffer is full")
                .with_help(help),
            );
        }
        // eBPF `delete` takes what `new` gave and still holds: the verifier
        // refuses `bpf_obj_drop` of anything else (a map value, a freed
        // object).
        if self.tracks_objects() {
            let mut deletes: Vec<ir::Expr> = Vec::new();
            walk_shallow(e, &mut Vec::new(), &mut |x| {
                if let K::ObjDelete(p) = &x.kind {
                    deletes.push((**p).clone());
                }
            });
            let params = self.c.functions[self.f.index()].params;
            for p in deletes {
                let ok = match Self::record_local(&p) {
                    Some(l) => {
                        l.0 < params
                            || st
                                .reserved
                                .get(&l)
                                .is_some_and(|at| self.reserve_maps.get(at) == Some(&Held::Object))
                    }
                    None => Self::reserve_of(&p) == Some(Held::Object),
                };
                if ok || !self.reported.insert(p.span) {
                    continue;
                }
                self.c.diags.push(
                    Diagnostic::error(codes::NEW_DELETE, p.span, "`delete` of a pointer that holds no object from `new` here")
                        .with_label("not allocated by `new` on every path to here, or already deleted")
                        .with_help("delete each object `new` returned exactly once: `var p = new T()`, then `delete p`"),
                );
            }
        }
        // Pointer arguments: a maybe-null one makes its parameter need a check.
        let mut calls: Vec<(FnId, Vec<ir::Expr>, ir::Span)> = Vec::new();
        walk_shallow(e, &mut Vec::new(), &mut |x| {
            if let K::Call {
                callee: Callee::Function(g),
                args,
            } = &x.kind
            {
                calls.push((*g, args.clone(), x.span));
            }
        });
        for (g, args, span) in calls {
            self.note_pkt_site(g, span, &args, st);
            for (i, a) in args.iter().enumerate() {
                if self.is_pointer(a.ty) && !self.nonnull(a, st) {
                    self.c.null_args.insert((g, i as u32));
                }
            }
        }
        // Packet bounds: every access through a packet pointer.
        let mut pkt: Vec<(ir::Expr, i64, i64, ir::Span)> = Vec::new();
        walk_shallow(e, &mut nested, &mut |x| match &x.kind {
            K::Deref(p) => pkt.push(((**p).clone(), 0, self.c.types.size(x.ty) as i64, x.span)),
            K::Field {
                base,
                field,
                through_pointer: true,
            } => {
                let sty = self.c.types.pointee(base.ty).unwrap_or(base.ty);
                if let Some(f) = self
                    .c
                    .types
                    .struct_def(sty)
                    .and_then(|s| s.fields.get(*field as usize))
                {
                    let lo = f.offset as i64;
                    pkt.push((
                        (**base).clone(),
                        lo,
                        lo + self.c.types.size(f.ty) as i64,
                        x.span,
                    ));
                }
            }
            K::Index { base, index } if self.c.types.pointee(base.ty).is_some() => {
                let i = match &index.kind {
                    K::Value(ir::Value::UInt(n)) => i64::try_from(*n).ok(),
                    K::Value(ir::Value::Int(n)) => Some(*n),
                    _ => None,
                };
                let size = self.c.types.size(x.ty) as i64;
                match i {
                    Some(i) => pkt.push(((**base).clone(), i * size, (i + 1) * size, x.span)),
                    // `p[i]` is a read through `p + i`.
                    None => pkt.push((
                        ir::Expr {
                            kind: K::Binary {
                                op: ir::BinOp::Add,
                                lhs: base.clone(),
                                rhs: index.clone(),
                            },
                            ty: base.ty,
                            span: x.span,
                        },
                        0,
                        size,
                        x.span,
                    )),
                }
            }
            _ => {}
        });
        for (p, lo, hi, at) in pkt {
            self.pkt_access(&p, lo, hi, at, st);
        }
        for &(l, at) in &uses {
            if let Some(&moved) = st.stale.get(&l) {
                if self.reported.insert(at) {
                    let name = self.c.functions[self.f.index()].locals[l.index()]
                        .name
                        .clone();
                    self.c.diags.push(
                        Diagnostic::error(codes::STALE_POINTER, at, format!("packet pointer `{name}` is stale"))
                            .with_label("used after the packet moved")
                            .with_secondary(moved, "this helper call moves or resizes the packet")
                            .with_help("reload it from `ctx->data` (and check the length again) after the call"),
                    );
                }
            }
        }
        for (l, at) in uses {
            if let Some(&inv) = st.invalid.get(&l) {
                if self.reported.insert(at) {
                    let name = self.c.functions[self.f.index()].locals[l.index()]
                        .name
                        .clone();
                    self.c.diags.push(
                        Diagnostic::error(
                            codes::STALE_POINTER,
                            at,
                            format!("use of potentially invalidated map value pointer `{name}`"),
                        )
                        .with_label("used after the map changed")
                        .with_secondary(inv, "this map update may free the value it points to")
                        .with_help(format!(
                            "look the entry up again after the update: `{name} = map[key]`"
                        )),
                    );
                }
            }
        }
        for n in nested {
            self.expr(&n, st);
        }
    }

    /// In userspace `var p = m[k]` copies the entry out of the kernel.
    fn note_user_copy(&mut self, l: LocalId, value: Option<&ir::Expr>) {
        if let Some(ir::ExprKind::MapLookup { map, .. }) = value.map(|v| &v.kind) {
            self.lookups.insert(l, *map);
        }
        if self.c.functions[self.f.index()].domain != Domain::Userspace {
            return;
        }
        match value.map(|v| &v.kind) {
            Some(ir::ExprKind::MapLookup { map, .. }) => {
                self.user_copies.insert(l, *map);
            }
            _ => {
                self.user_copies.remove(&l);
            }
        }
    }

    /// A write through a userspace copy of a map entry changes only the
    /// copy; eBPF developers expect it to reach the map, so say so.
    fn write_to_user_copy(&mut self, place: &ir::Expr) {
        use ir::ExprKind as K;
        let mut base = place;
        loop {
            base = match &base.kind {
                K::Field { base: b, .. } | K::Index { base: b, .. } => b,
                K::Deref(b) => b,
                _ => break,
            };
            if let K::Local(l) = base.kind {
                let Some(map) = self.user_copies.get(&l).copied() else {
                    return;
                };
                if !self.reported.insert(place.span) {
                    return;
                }
                let f = &self.c.functions[self.f.index()];
                let name = f.locals[l.index()].name.clone();
                let mname = self.c.maps[map.index()].name.clone();
                let span = place.span;
                self.c.diags.push(
                    Diagnostic::warning(codes::COPY_WRITE,
                        span,
                        format!("`{name}` points to a copy of a `{mname}` entry: this write does not change the map"),
                    )
                    .with_label("changes the copy only")
                    .with_help(format!(
                        "in userspace, update the entry itself (`{mname}[key].field = v`, `{mname}[key] op= v`), or write the copy back with `{mname}[key] = *{name}`"
                    )),
                );
                return;
            }
        }
    }

    fn assign_local(&self, st: &mut State, l: LocalId, value: Option<&ir::Expr>) {
        // Facts about the new value come from the state before the
        // assignment (`p = p + 8` keeps `p` non-null).
        let nonnull_now = value.is_some_and(|v| self.nonnull(v, st));
        let off_now = value.and_then(|v| self.pkt_offset(v, st));
        let end_now = value.is_some_and(|v| self.is_pkt_end(v, st));
        let const_now = value.and_then(|v| self.const_of(v, st));
        st.invalid.remove(&l);
        st.ranges.remove(&l);
        st.map_ptr.remove(&l);
        st.nonnull.remove(&l);
        st.stale.remove(&l);
        st.freed.remove(&l);
        let Some(v) = value else {
            st.pkt.remove(&l);
            st.pkt_end.remove(&l);
            st.consts.remove(&l);
            return;
        };
        match const_now {
            Some(c) => st.consts.insert(l, c),
            None => st.consts.remove(&l),
        };
        match off_now {
            Some(o) => st.pkt.insert(l, o),
            None => st.pkt.remove(&l),
        };
        if end_now {
            st.pkt_end.insert(l);
        } else {
            st.pkt_end.remove(&l);
        }
        if nonnull_now {
            st.nonnull.insert(l);
        }
        if let ir::ExprKind::MapLookup { map, .. } = &v.kind {
            let kind = self.c.maps[map.index()].kind;
            if matches!(
                kind,
                ir::MapKind::Hash | ir::MapKind::LruHash | ir::MapKind::PercpuHash
            ) {
                st.map_ptr.insert(l, *map);
            }
        }
    }

    /// Refine the state by a condition known to be `truth`.
    fn refine(&self, cond: &ir::Expr, truth: bool, st: &mut State) {
        use ir::ExprKind as K;
        let local_of = |e: &ir::Expr| match &e.kind {
            K::Local(l) => Some(*l),
            K::Cast(inner) => match inner.kind {
                K::Local(l) => Some(l),
                _ => None,
            },
            _ => None,
        };
        let is_null = |e: &ir::Expr| {
            matches!(e.kind, K::Value(ir::Value::Null))
                || matches!(&e.kind, K::Cast(i) if matches!(i.kind, K::Value(ir::Value::Null)))
        };
        if let K::Binary { op, lhs, rhs } = &cond.kind {
            // `p + n > data_end` false (or `p + n <= data_end` true): the
            // packet has at least offset(p + n) bytes.
            use ir::BinOp as B;
            let bound = match (op, truth) {
                (B::Gt | B::Ge, false) | (B::Le | B::Lt, true) => {
                    if self.is_pkt_end(rhs, st) {
                        self.pkt_offset(lhs, st)
                    } else {
                        None
                    }
                }
                (B::Lt | B::Le, false) | (B::Gt | B::Ge, true) => {
                    if self.is_pkt_end(lhs, st) {
                        self.pkt_offset(rhs, st)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(n) = bound {
                st.checked = st.checked.max(n);
            } else if matches!(op, B::Gt | B::Ge | B::Lt | B::Le)
                && ((self.is_pkt_end(rhs, st) && self.pkt_derived(lhs, st))
                    || (self.is_pkt_end(lhs, st) && self.pkt_derived(rhs, st)))
            {
                // A bounds check with an offset known only at run time.
                st.checked = i64::MAX;
            }
        }
        match &cond.kind {
            K::Binary { op, lhs, rhs } => match op {
                ir::BinOp::Ne | ir::BinOp::Eq => {
                    let l = if is_null(rhs) {
                        local_of(lhs)
                    } else if is_null(lhs) {
                        local_of(rhs)
                    } else {
                        None
                    };
                    if let Some(l) = l {
                        if (*op == ir::BinOp::Ne) == truth {
                            st.nonnull.insert(l);
                        } else {
                            // A null record needs no release.
                            st.reserved.remove(&l);
                        }
                    }
                }
                ir::BinOp::And if truth => {
                    self.refine(lhs, true, st);
                    self.refine(rhs, true, st);
                }
                ir::BinOp::Or if !truth => {
                    self.refine(lhs, false, st);
                    self.refine(rhs, false, st);
                }
                _ => {}
            },
            K::Unary {
                op: ir::UnOp::Not,
                operand,
            } => self.refine(operand, !truth, st),
            K::Local(l) if truth && self.is_pointer(cond.ty) => {
                st.nonnull.insert(*l);
            }
            K::Local(l) if self.is_pointer(cond.ty) => {
                st.reserved.remove(l);
            }
            _ => {}
        }
    }

    /// Check a condition, refining as `&&` / `||` do while evaluating it.
    fn cond(&mut self, e: &ir::Expr, st: &State) {
        use ir::ExprKind as K;
        match &e.kind {
            K::Binary {
                op: ir::BinOp::And,
                lhs,
                rhs,
            } => {
                self.cond(lhs, st);
                let mut s2 = st.clone();
                self.refine(lhs, true, &mut s2);
                self.cond(rhs, &s2);
            }
            K::Binary {
                op: ir::BinOp::Or,
                lhs,
                rhs,
            } => {
                self.cond(lhs, st);
                let mut s2 = st.clone();
                self.refine(lhs, false, &mut s2);
                self.cond(rhs, &s2);
            }
            _ => self.expr(e, st),
        }
    }

    /// Returns the state at the end, or None if control never gets there.
    fn block(&mut self, b: &ir::Block, mut st: State) -> Option<State> {
        for s in &b.stmts {
            st = self.stmt(s, st)?;
        }
        Some(st)
    }

    fn assigned_in(b: &ir::Block, out: &mut HashSet<LocalId>) {
        for s in &b.stmts {
            match &s.kind {
                ir::StmtKind::Let { local, .. } => {
                    out.insert(*local);
                }
                ir::StmtKind::Assign { place, .. } | ir::StmtKind::CompoundAssign { place, .. } => {
                    if let ir::ExprKind::Local(l) = place.kind {
                        out.insert(l);
                    }
                }
                ir::StmtKind::ForRange { var, .. } => {
                    out.insert(*var);
                }
                ir::StmtKind::ForEach { key, value, .. } => {
                    out.insert(*key);
                    out.insert(*value);
                }
                _ => {}
            }
            for_child_blocks(s, &mut |b| Self::assigned_in(b, out));
        }
    }

    fn loop_state(&self, body: &ir::Block, st: &State) -> State {
        let mut assigned = HashSet::new();
        Self::assigned_in(body, &mut assigned);
        let mut s = st.clone();
        for l in assigned {
            s.nonnull.remove(&l);
            s.map_ptr.remove(&l);
        }
        // Map updates anywhere in the loop invalidate pointers from the start.
        let mut upd = Vec::new();
        Self::map_writes(body, &mut upd);
        for (m, at) in upd {
            let victims: Vec<LocalId> = s
                .map_ptr
                .iter()
                .filter(|(_, mm)| **mm == m)
                .map(|(l, _)| *l)
                .collect();
            for l in victims {
                s.invalid.entry(l).or_insert(at);
            }
        }
        s
    }

    fn map_writes(b: &ir::Block, out: &mut Vec<(MapId, ir::Span)>) {
        for s in &b.stmts {
            if let ir::StmtKind::MapUpdate { map, .. } | ir::StmtKind::MapDelete { map, .. } =
                &s.kind
            {
                out.push((*map, s.span));
            }
            for_child_blocks(s, &mut |b| Self::map_writes(b, out));
        }
    }

    fn stmt(&mut self, s: &ir::Stmt, st: State) -> Option<State> {
        let mut out = self.stmt_inner(s, st)?;
        // Helpers that move or resize the packet invalidate packet pointers
        // (the verifier forgets them too).
        let mut moves = false;
        walk_stmt_exprs(s, &mut |e| {
            if let ir::ExprKind::Call {
                callee: Callee::BpfHelper(h),
                ..
            } = &e.kind
            {
                let h = h.name();
                moves |= h.starts_with("bpf_xdp_adjust")
                    || h.starts_with("bpf_skb_change")
                    || h.starts_with("bpf_skb_vlan")
                    || matches!(
                        &*h,
                        "bpf_skb_pull_data"
                            | "bpf_skb_store_bytes"
                            | "bpf_l3_csum_replace"
                            | "bpf_l4_csum_replace"
                    );
            }
        });
        if moves {
            for (l, _) in out.pkt.drain() {
                out.stale.insert(l, s.span);
            }
            out.checked = 0;
        }
        // Records this statement submits or discards, or hands to a
        // function that does.
        let mut released = Vec::new();
        walk_stmt_exprs(s, &mut |e| match &e.kind {
            ir::ExprKind::RingbufSubmit { ptr, .. } | ir::ExprKind::ObjDelete(ptr) => {
                released.extend(Self::record_local(ptr))
            }
            ir::ExprKind::Call {
                callee: Callee::Function(g),
                args,
            } => {
                for (i, a) in args.iter().enumerate() {
                    if let Some(l) = Self::record_local(a) {
                        if out.reserved.contains_key(&l) && self.releases_param(*g, i as u32) {
                            released.push(l);
                        }
                    }
                }
            }
            _ => {}
        });
        for l in released {
            out.reserved.remove(&l);
            out.freed.insert(l, s.span);
        }
        self.stray_reserves(s);
        Some(out)
    }

    /// A `reserve` whose record is neither kept in a variable nor passed
    /// straight to `submit` (which reports the null check) can never be
    /// released.
    fn stray_reserves(&mut self, s: &ir::Stmt) {
        let kept = match &s.kind {
            ir::StmtKind::Let { init: Some(v), .. }
            | ir::StmtKind::Assign {
                place:
                    ir::Expr {
                        kind: ir::ExprKind::Local(_),
                        ..
                    },
                value: v,
            } if Self::reserve_of(v).is_some() => Some(v.span),
            _ => None,
        };
        let mut stray = Vec::new();
        walk_stmt_exprs(s, &mut |e| {
            if let Some(ptr) = Self::released_ptr(e) {
                if Self::reserve_of(ptr).is_some() {
                    stray.retain(|x: &(ir::Span, Held)| x.0 != ptr.span);
                    self.reported.insert(ptr.span);
                }
            }
            if let ir::ExprKind::RingbufReserve { map, .. } = &e.kind {
                stray.push((e.span, Held::Record(*map)));
            }
            if let ir::ExprKind::ObjNew { .. } = &e.kind {
                stray.push((e.span, Held::Object));
            }
        });
        for (at, held) in stray {
            if Some(at) == kept || self.reported.contains(&at) || !self.reported.insert(at) {
                continue;
            }
            let map = match held {
                Held::Record(m) => m,
                Held::Object => {
                    if self.tracks_objects() {
                        self.c.diags.push(
                            Diagnostic::error(
                                codes::NEW_DELETE,
                                at,
                                "an object from `new` must be kept in a variable",
                            )
                            .with_label("this object could never be deleted")
                            .with_help(
                                "`var p = new T()`, then `if (p != null) { ... }` and `delete p`",
                            ),
                        );
                    }
                    continue;
                }
            };
            let rb = self.c.maps[map.index()].name.clone();
            self.c.diags.push(
                Diagnostic::error(
                    codes::RINGBUF,
                    at,
                    "a reserved ring-buffer record must be kept in a variable",
                )
                .with_label("this record could never be submitted or discarded")
                .with_help(format!(
                    "`var e = {rb}.reserve()`, then `if (e != null) {{ ...; {rb}.submit(e) }}`"
                )),
            );
        }
    }

    /// `l` is (re)assigned by statement `s` to `value`: a record it held is
    /// lost; a new one from `reserve` is tracked.
    fn reassign_record(
        &mut self,
        st: &mut State,
        l: LocalId,
        value: Option<&ir::Expr>,
        s: &ir::Stmt,
    ) {
        if st.reserved.contains_key(&l) {
            let held = State {
                reserved: st
                    .reserved
                    .iter()
                    .filter(|(k, _)| **k == l)
                    .map(|(k, v)| (*k, *v))
                    .collect(),
                ..State::default()
            };
            self.leaks(&held, None, s.span, "it is overwritten here");
            st.reserved.remove(&l);
        }
        // `var b = a`: what `a` held is now `b`'s to release.
        if let Some(src) = value.and_then(Self::record_local) {
            if src != l {
                if let Some(at) = st.reserved.remove(&src) {
                    st.reserved.insert(l, at);
                    return;
                }
            }
        }
        if let Some((v, m)) = value.and_then(|v| Some((v, Self::reserve_of(v)?))) {
            if m == Held::Object && !self.tracks_objects() {
                return;
            }
            st.reserved.insert(l, v.span);
            self.reserve_maps.insert(v.span, m);
        }
    }

    /// Objects from `new` must be released on every path only in eBPF code,
    /// where the verifier refuses a leak; elsewhere a leak is only a leak.
    fn tracks_objects(&self) -> bool {
        self.c.functions[self.f.index()].domain == Domain::Ebpf
    }

    fn stmt_inner(&mut self, s: &ir::Stmt, mut st: State) -> Option<State> {
        use ir::StmtKind as K;
        match &s.kind {
            K::Let { local, init } => {
                if let Some(e) = init {
                    self.expr(e, &st);
                }
                self.note_user_copy(*local, init.as_ref());
                self.assign_local(&mut st, *local, init.as_ref());
                self.reassign_record(&mut st, *local, init.as_ref(), s);
            }
            K::Assign { place, value } => {
                self.expr(value, &st);
                match place.kind {
                    ir::ExprKind::Local(l) => {
                        self.note_user_copy(l, Some(value));
                        self.assign_local(&mut st, l, Some(value));
                        self.reassign_record(&mut st, l, Some(value), s);
                    }
                    _ => {
                        self.write_to_user_copy(place);
                        self.expr(place, &st)
                    }
                }
            }
            K::CompoundAssign { place, value, .. } => {
                self.write_to_user_copy(place);
                self.expr(place, &st);
                self.expr(value, &st);
            }
            K::MapUpdate { map, key, value }
            | K::MapCompound {
                map, key, value, ..
            } => {
                self.expr(key, &st);
                self.expr(value, &st);
                if matches!(s.kind, K::MapUpdate { .. }) {
                    self.invalidate(*map, s.span, &mut st);
                }
            }
            K::MapDelete { map, key } => {
                self.expr(key, &st);
                self.invalidate(*map, s.span, &mut st);
            }
            K::Expr(e) => self.expr(e, &st),
            K::If { cond, then, els } => {
                self.cond(cond, &st);
                let mut ts = st.clone();
                self.refine(cond, true, &mut ts);
                let mut es = st.clone();
                self.refine(cond, false, &mut es);
                let a = self.block(then, ts);
                let b = self.block(els, es);
                return match (a, b) {
                    (Some(a), Some(b)) => Some(a.join(&b)),
                    (Some(a), None) => Some(a),
                    (None, Some(b)) => Some(b),
                    (None, None) => None,
                };
            }
            K::ForRange {
                var,
                start,
                end,
                body,
            } => {
                self.expr(start, &st);
                self.expr(end, &st);
                let ls = self.loop_state(body, &st);
                let mut inside = ls.clone();
                inside.consts.remove(var);
                match (self.const_of(start, &st), self.bound_of(end, &st)) {
                    (Some(a), Some(b)) if a >= 0 => inside.ranges.insert(*var, b - 1),
                    _ => inside.ranges.remove(var),
                };
                self.loop_body(body, inside, s.span);
                return Some(ls);
            }
            K::ForEach { body, .. } | K::Loop { body } => {
                let ls = self.loop_state(body, &st);
                self.loop_body(body, ls.clone(), s.span);
                return Some(ls);
            }
            K::While { cond, body } => {
                let ls = self.loop_state(body, &st);
                self.cond(cond, &ls);
                let mut inside = ls.clone();
                self.refine(cond, true, &mut inside);
                self.loop_body(body, inside, s.span);
                let mut after = ls;
                self.refine(cond, false, &mut after);
                return Some(after);
            }
            K::Break | K::Continue => {
                if let Some(entry) = self.loops.last().cloned() {
                    self.leaks(
                        &st,
                        Some(&entry),
                        s.span,
                        "the loop's iteration is left here",
                    );
                }
                return None;
            }
            K::Return(e) => {
                if let Some(e) = e {
                    self.expr(e, &st);
                }
                self.leaks(&st, None, s.span, "the function returns here");
                return None;
            }
            K::TailCall { ctx, .. } => {
                self.expr(ctx, &st);
                self.leaks(&st, None, s.span, "the program tail-calls here");
                return None;
            }
            K::Throw(e) => {
                self.expr(e, &st);
                match self.try_throws.last_mut() {
                    // Caught here: the catches start with what is held.
                    Some(t) => t
                        .get_or_insert_with(HashMap::new)
                        .extend(st.reserved.iter().map(|(k, v)| (*k, *v))),
                    None => self.leaks(&st, None, s.span, "the function throws here"),
                }
                return None;
            }
            K::Try { body, catches } => {
                let mut assigned = HashSet::new();
                Self::assigned_in(body, &mut assigned);
                let mut cst = st.clone();
                for l in &assigned {
                    cst.nonnull.remove(l);
                }
                self.try_throws.push(None);
                let mut out = self.block(body, st.clone());
                // The catches start with what the body's throws held (with
                // none, a called function threw: what the try began with).
                if let Some(thrown) = self.try_throws.pop().flatten() {
                    cst.reserved = thrown;
                }
                for c in catches {
                    let r = self.block(&c.body, cst.clone());
                    out = match (out, r) {
                        (Some(a), Some(b)) => Some(a.join(&b)),
                        (a, b) => a.or(b),
                    };
                }
                return out;
            }
            K::Defer(b) | K::Block(b) => {
                let r = self.block(b, st.clone());
                if matches!(s.kind, K::Defer(_)) {
                    // A deferred `submit(e)` releases `e` on every way out.
                    b.walk_exprs(&mut |x| {
                        if let Some(ptr) = Self::released_ptr(x) {
                            if let Some(l) = Self::record_local(ptr) {
                                st.reserved.remove(&l);
                            }
                        }
                    });
                    return Some(st);
                }
                return r;
            }
        }
        Some(st)
    }

    /// A loop's body: a record reserved in one iteration is released in it.
    fn loop_body(&mut self, body: &ir::Block, st: State, at: ir::Span) {
        let entry: HashSet<LocalId> = st.reserved.keys().copied().collect();
        self.loops.push(entry.clone());
        if let Some(end) = self.block(body, st) {
            self.leaks(&end, Some(&entry), at, "the loop's iteration ends here");
        }
        self.loops.pop();
    }

    fn invalidate(&mut self, map: MapId, at: ir::Span, st: &mut State) {
        let victims: Vec<LocalId> = st
            .map_ptr
            .iter()
            .filter(|(_, m)| **m == map)
            .map(|(l, _)| *l)
            .collect();
        for l in victims {
            st.invalid.insert(l, at);
            st.map_ptr.remove(&l);
        }
    }
}
