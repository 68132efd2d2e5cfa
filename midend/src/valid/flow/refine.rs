//! What the state learns: from an assignment to a local, and from a
//! condition known true or false (`&&`, `||` refine their later operands).

use super::*;

impl<'c, 'a> Flow<'c, 'a> {
    pub(super) fn assign_local(&self, st: &mut State, l: LocalId, value: Option<&ir::Expr>) {
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
    pub(super) fn refine(&self, cond: &ir::Expr, truth: bool, st: &mut State) {
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
    pub(super) fn cond(&mut self, e: &ir::Expr, st: &State) {
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
}
