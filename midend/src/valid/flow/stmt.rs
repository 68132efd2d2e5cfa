//! Statements and blocks: the state carried through control flow (branches
//! joined, loops widened, `try`/`throw`, ways out of the function).

use super::*;

impl<'c, 'a> Flow<'c, 'a> {
    /// Returns the state at the end, or None if control never gets there.
    pub(super) fn block(&mut self, b: &ir::Block, mut st: State) -> Option<State> {
        for s in &b.stmts {
            st = self.stmt(s, st)?;
        }
        Some(st)
    }

    pub(super) fn assigned_in(b: &ir::Block, out: &mut HashSet<LocalId>) {
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

    pub(super) fn loop_state(&self, body: &ir::Block, st: &State) -> State {
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

    pub(super) fn stmt(&mut self, s: &ir::Stmt, st: State) -> Option<State> {
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

    pub(super) fn stmt_inner(&mut self, s: &ir::Stmt, mut st: State) -> Option<State> {
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
    pub(super) fn loop_body(&mut self, body: &ir::Block, st: State, at: ir::Span) {
        let entry: HashSet<LocalId> = st.reserved.keys().copied().collect();
        self.loops.push(entry.clone());
        if let Some(end) = self.block(body, st) {
            self.leaks(&end, Some(&entry), at, "the loop's iteration ends here");
        }
        self.loops.pop();
    }
}
