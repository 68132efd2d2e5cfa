//! Flow checks, one function at a time, following control flow with a
//! [`State`] of facts per local: **null safety** (a pointer that may be
//! null is not dereferenced; spec 4.6.8), **packet bounds** (reads and
//! writes through packet pointers stay within a checked length; helpers
//! that move the packet make its pointers stale) and **map value pointer
//! lifetimes** (a pointer into a hash map's value is not used after an
//! update or delete of that map may have freed it). In userspace, a write
//! through a copy of a map entry is flagged as not reaching the map.
//!
//! Takes one lowered function; gives diagnostics. This file holds the
//! state and the entry point; each job is in a submodule.

mod expr;
mod map_values;
mod nulls;
mod packet;
mod records;
mod refine;
mod stmt;

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
}
