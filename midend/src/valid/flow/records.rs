//! Ring-buffer records (`reserve`) and objects (`new`): each is released
//! on every path (no leak at a way out, none lost to reassignment or left
//! unstored), and a function releasing its parameter releases the caller's.

use super::*;
use ksc_frontend::diag::codes;

impl<'c, 'a> Flow<'c, 'a> {
    /// Records held in `st` (and not in `keep`) at a way out of the
    /// function or of a loop iteration: the verifier refuses them
    /// ("Unreleased reference"). docs/language.md, "What ksc catches that
    /// the verifier would refuse".
    pub(super) fn leaks(
        &mut self,
        st: &State,
        keep: Option<&HashSet<LocalId>>,
        exit: ir::Span,
        what: &str,
    ) {
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
    pub(super) fn record_local(e: &ir::Expr) -> Option<LocalId> {
        match &e.kind {
            ir::ExprKind::Local(l) => Some(*l),
            ir::ExprKind::Cast(inner) => Self::record_local(inner),
            _ => None,
        }
    }

    /// What a `reserve` or `new` expression (cast or not) acquires.
    pub(super) fn reserve_of(e: &ir::Expr) -> Option<Held> {
        match &e.kind {
            ir::ExprKind::RingbufReserve { map, .. } => Some(Held::Record(*map)),
            ir::ExprKind::ObjNew { .. } => Some(Held::Object),
            ir::ExprKind::Cast(inner) => Self::reserve_of(inner),
            _ => None,
        }
    }

    /// Does function `g` submit or discard its parameter `p` (or delete
    /// it)? Then a record (object) passed there is released by the call.
    pub(super) fn releases_param(&self, g: FnId, p: u32) -> bool {
        let mut found = false;
        self.c.functions[g.index()].body.walk_exprs(&mut |x| {
            if let Some(ptr) = Self::released_ptr(x) {
                found |= Self::record_local(ptr) == Some(LocalId(p));
            }
        });
        found
    }

    /// The pointer a `submit`/`discard`/`delete` releases.
    pub(super) fn released_ptr(e: &ir::Expr) -> Option<&ir::Expr> {
        match &e.kind {
            ir::ExprKind::RingbufSubmit { ptr, .. } | ir::ExprKind::ObjDelete(ptr) => Some(ptr),
            _ => None,
        }
    }

    /// A `reserve` whose record is neither kept in a variable nor passed
    /// straight to `submit` (which reports the null check) can never be
    /// released.
    pub(super) fn stray_reserves(&mut self, s: &ir::Stmt) {
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
    pub(super) fn reassign_record(
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
    pub(super) fn tracks_objects(&self) -> bool {
        self.c.functions[self.f.index()].domain == Domain::Ebpf
    }
}
