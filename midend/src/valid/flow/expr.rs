//! Expressions: each one checked against the state where it is evaluated.

use super::*;
use ksc_frontend::diag::codes;

impl<'c, 'a> Flow<'c, 'a> {
    pub(super) fn expr(&mut self, e: &ir::Expr, st: &State) {
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
}
