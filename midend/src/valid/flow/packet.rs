//! Packet bounds: offsets of packet pointers from `ctx->data`, what bounds
//! checks proved, and reads and writes through packet pointers within it;
//! calls passing packet pointers on to our functions.

use super::*;
use crate::builtins::PacketField;
use ksc_frontend::diag::codes;

impl<'c, 'a> Flow<'c, 'a> {
    /// A call passing packet pointers or `data_end` to a function of ours.
    pub(super) fn note_pkt_site(&mut self, g: FnId, call: ir::Span, args: &[ir::Expr], st: &State) {
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
            None => sites.push(crate::checker::PktSite {
                span: call,
                checked: st.checked,
                params,
                ends,
            }),
        }
    }

    /// Is this a context struct's packet pointer `role` (`ctx->data`)?
    pub(super) fn ctx_field(&self, e: &ir::Expr, role: PacketField) -> bool {
        let ir::ExprKind::Field { base, field, .. } = &e.kind else {
            return false;
        };
        let sty = self.c.types.pointee(base.ty).unwrap_or(base.ty);
        crate::builtins::packet_field(&self.c.types, sty, *field) == Some(role)
    }

    pub(super) fn is_pkt_end(&self, e: &ir::Expr, st: &State) -> bool {
        match &e.kind {
            ir::ExprKind::Local(l) => st.pkt_end.contains(l),
            ir::ExprKind::Cast(inner) => self.is_pkt_end(inner, st),
            _ => self.ctx_field(e, PacketField::DataEnd),
        }
    }

    /// A constant integer expression's value.
    pub(super) fn const_of(&self, e: &ir::Expr, st: &State) -> Option<i64> {
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
    pub(super) fn bound_of(&self, e: &ir::Expr, st: &State) -> Option<i64> {
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
    pub(super) fn pkt_offset_max(&self, e: &ir::Expr, st: &State) -> Option<i64> {
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
    pub(super) fn pkt_derived(&self, e: &ir::Expr, st: &State) -> bool {
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
    pub(super) fn pkt_offset(&self, e: &ir::Expr, st: &State) -> Option<i64> {
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
            _ if self.ctx_field(e, PacketField::Data) => Some(0),
            _ => None,
        }
    }

    /// A read or write through packet pointer `p`, of bytes `[lo, hi)`
    /// relative to it, must lie within what a bounds check proved.
    pub(super) fn pkt_access(&mut self, p: &ir::Expr, lo: i64, hi: i64, at: ir::Span, st: &State) {
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
}
