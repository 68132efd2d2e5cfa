//! Lowering statements: declarations (with the eBPF stack-size rules),
//! control flow, `try`/`throw`/`defer`, `return` (including tail calls
//! between programs of one type and `return match` with program calls in
//! its arms) and assignments (map updates and in-place compound updates of
//! map entries).

use ksc_frontend::diag::codes;
use std::collections::HashMap;

use ksc_frontend::ast::{self, ExprKind as AE, StmtKind as AS};
use ksc_ir as ir;
use ksc_ir::{Domain, FnId, FnKind, LocalId, TypeKind, Value};

use super::matches::Sink;
use super::{binop, FnCx};
use crate::checker::Sym;

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn stmt(&mut self, s: &ast::Stmt) -> Option<ir::Stmt> {
        let span = s.span;
        let kind = match &s.kind {
            AS::Var {
                is_const,
                name,
                ty,
                init,
            } => {
                if let Some(ast::Expr {
                    kind: AE::Match { scrutinee, arms },
                    span: mspan,
                }) = init
                {
                    if Self::has_block_arm(arms) {
                        return self.var_match(
                            s,
                            *is_const,
                            name,
                            ty.as_ref(),
                            scrutinee,
                            arms,
                            *mspan,
                        );
                    }
                }
                let declared = ty.as_ref().map(|t| self.c.resolve_type(t));
                let init = match (init, declared) {
                    (Some(e), Some(t)) => Some(self.coerce_expr(e, t, true)),
                    (Some(e), None) => Some(self.expr_ptr_ok(e, None)),
                    (None, _) => None,
                };
                let ty = match (declared, &init) {
                    (Some(t), _) => t,
                    (None, Some(x)) => {
                        if matches!(self.t().kind(x.ty), TypeKind::Null) {
                            self.c
                                .error(
                                    codes::NO_INFER,
                                    name.span,
                                    "cannot infer a type from `null`",
                                )
                                .help = Some(format!("write `var {}: *T = null`", name.name));
                            self.c.types.error
                        } else if matches!(self.t().kind(x.ty), TypeKind::Void) {
                            self.c.error(
                                codes::VOID,
                                name.span,
                                "this expression has no value (`void`)",
                            );
                            self.c.types.error
                        } else {
                            x.ty
                        }
                    }
                    (None, None) => {
                        self.c
                            .error(
                                codes::NO_INFER,
                                name.span,
                                format!("`{}` needs a type or an initial value", name.name),
                            )
                            .help = Some(format!(
                            "write `var {}: u32` or `var {} = 0`",
                            name.name, name.name
                        ));
                        self.c.types.error
                    }
                };
                if *is_const && init.is_none() {
                    self.c
                        .error(codes::NOT_CONST, name.span, "a `const` needs a value");
                }
                if self.ebpf() && self.t().size(ty) > 256 && !self.t().is_error(ty) {
                    let size = self.t().size(ty);
                    // The fix, spelled out (docs/language.md, what the
                    // reference accepts and ksc refuses).
                    let n = &name.name;
                    let help = Some(format!(
                        "large buffers belong in a map: a one-entry per-CPU array is scratch space, `var {n}_buf : percpu_array<u32, {}>(1)`, then `var {n} = {n}_buf[0]` and `if ({n} != null) {{ ... }}`",
                        self.t().display(ty)
                    ));
                    if size > crate::valid::STACK_LIMIT {
                        self.c.error(codes::STACK, name.span, format!("`{}` needs {size} bytes, more than the whole 512-byte eBPF stack", name.name)).help = help;
                        self.c.oversized.insert(self.id);
                    } else {
                        self.c
                            .warning(
                                codes::STACK_NEAR,
                                name.span,
                                format!(
                                    "`{}` takes {size} bytes of the 512-byte eBPF stack",
                                    name.name
                                ),
                            )
                            .help = help;
                    }
                }
                let local = self.declare(&name.name, ty, name.span, *is_const);
                if init.as_ref().is_some_and(|x| self.is_packet(x)) {
                    self.packet_locals.insert(local);
                }
                if self.t().pointee(ty).is_some() {
                    self.note_lookup(local, init.as_ref());
                }
                ir::StmtKind::Let { local, init }
            }
            // `x = match (...) { PAT: { ... } }` on a variable.
            AS::Assign {
                target: ast::Expr {
                    kind: AE::Name(id), ..
                },
                op: None,
                value:
                    ast::Expr {
                        kind: AE::Match { scrutinee, arms },
                        span: mspan,
                    },
            } if Self::has_block_arm(arms)
                && self.lookup_local(&id.name).is_some_and(|(_, c)| !c) =>
            {
                let (l, _) = self.lookup_local(&id.name).expect("a local");
                return Some(self.match_stmt(scrutinee, arms, Sink::Local(l), *mspan));
            }
            AS::Assign { target, op, value } => return self.assign(s, target, *op, value),
            AS::Expr(m) if matches!(&m.kind, AE::Match { arms, .. } if Self::has_block_arm(arms)) =>
            {
                let AE::Match { scrutinee, arms } = &m.kind else {
                    unreachable!()
                };
                return Some(self.match_stmt(scrutinee, arms, Sink::Discard, s.span));
            }
            AS::Expr(e) => {
                let x = match self.python_call(e, super::python::PyExpect::Discard) {
                    Some(x) => x,
                    None => self.expr(e, None),
                };
                if let ir::ExprKind::Binary {
                    op: ir::BinOp::Eq, ..
                } = x.kind
                {
                    self.c
                        .warning(codes::UNUSED_COMPARE, e.span, "comparison result is unused")
                        .help = Some("did you mean `=` (assignment)?".into());
                }
                ir::StmtKind::Expr(x)
            }
            AS::If { cond, then, els } => {
                let cond = self.cond(cond);
                let then = self.sub_block(then);
                let els = match els {
                    Some(e) => self.sub_block(e),
                    None => ir::Block { stmts: vec![] },
                };
                ir::StmtKind::If { cond, then, els }
            }
            AS::IfVar {
                name,
                ty,
                init,
                then,
                els,
            } => return self.if_var(s, name, ty.as_ref(), init, then, els.as_deref(), None),
            AS::ForRange {
                var,
                start,
                end,
                body,
            } => {
                let (start_e, end_e) = (start, end);
                let s0 = self.expr(start, None);
                let s0 = self.read_through(s0);
                let e0 = self.expr(end, None);
                let e0 = self.read_through(e0);
                let (start, end) = self.unify_ints(s0, e0, s.span);
                for (bound, ast_e) in [(&start, start_e), (&end, end_e)] {
                    if !self.t().is_integer(bound.ty) && !self.t().is_error(bound.ty) {
                        let found = self.t().display(bound.ty);
                        let pointer = self.t().pointee(bound.ty).is_some();
                        let d = self.c.error(
                            codes::BAD_OPERAND,
                            ast_e.span,
                            "a range bound must be an integer",
                        );
                        d.label = format!("found `{found}`");
                        if pointer {
                            d.help =
                                Some("this is a pointer; read the value through it: `*p`".into());
                        }
                    }
                }
                let ty = if self.t().is_integer(start.ty) {
                    start.ty
                } else {
                    if !self.t().is_error(start.ty) {
                        self.c.error(
                            codes::BAD_OPERAND,
                            s.span,
                            "a range loop runs over integers",
                        );
                    }
                    self.c.types.u32_
                };
                self.scopes.push(HashMap::new());
                let v = self.declare(&var.name, ty, var.span, false);
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                self.scopes.pop();
                ir::StmtKind::ForRange {
                    var: v,
                    start,
                    end,
                    body,
                }
            }
            AS::ForEach {
                key,
                value,
                iter,
                body,
            } => {
                let map = match &iter.kind {
                    AE::Name(id) => match self.c.lookup_sym(id) {
                        Some(Sym::Map(m)) => Some(m),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(map) = map else {
                    self.c
                        .error(
                            codes::MAP_USE,
                            iter.span,
                            "`for (k, v) in ...` iterates over a map",
                        )
                        .label = "not a map".into();
                    return None;
                };
                if self.ebpf() {
                    self.c
                        .error(
                            codes::MAP_USE,
                            s.span,
                            "iterating over a whole map is only possible in userspace",
                        )
                        .help = Some("in eBPF, look up the keys you need".into());
                }
                let (kt, vt) = (self.c.maps[map.index()].key, self.c.maps[map.index()].value);
                self.scopes.push(HashMap::new());
                let k = self.declare(&key.name, kt, key.span, false);
                let v = self.declare(&value.name, vt, value.span, false);
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                self.scopes.pop();
                ir::StmtKind::ForEach {
                    map,
                    key: k,
                    value: v,
                    body,
                }
            }
            AS::While { cond, body } => {
                let cond = self.cond(cond);
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                ir::StmtKind::While { cond, body }
            }
            AS::Loop { body } => {
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                ir::StmtKind::Loop { body }
            }
            AS::Break | AS::Continue => {
                let word = if matches!(s.kind, AS::Break) {
                    "break"
                } else {
                    "continue"
                };
                if self.loops == 0 {
                    self.c
                        .error(
                            codes::OUTSIDE_LOOP,
                            s.span,
                            format!("`{word}` outside of a loop"),
                        )
                        .label = "cannot leave a loop here".into();
                    return None;
                }
                if matches!(s.kind, AS::Break) {
                    ir::StmtKind::Break
                } else {
                    ir::StmtKind::Continue
                }
            }
            AS::Return(e) => return self.ret(s, e.as_ref()),
            AS::Delete { map, key } => {
                let Some(m) = self.map_of(map) else {
                    self.c
                        .error(codes::NEW_DELETE, map.span, "`delete` removes a map entry")
                        .label = "not a map".into();
                    return None;
                };
                let kt = self.c.maps[m.index()].key;
                let key = self.coerce_expr(key, kt, false);
                ir::StmtKind::MapDelete { map: m, key }
            }
            AS::DeleteObj(e) => {
                let x = self.expr(e, None);
                let from_new = self
                    .t()
                    .pointee(x.ty)
                    .and_then(|p| self.t().struct_def(p))
                    .is_some_and(|s| !s.origin.is_kernel());
                if !from_new && !self.t().is_error(x.ty) {
                    let found = self.t().display(x.ty);
                    let d = self.c.error(
                        codes::NEW_DELETE,
                        e.span,
                        "`delete` frees an object `new` allocated, or removes a map entry",
                    );
                    d.label = format!("found `{found}`");
                    d.help = Some(
                        "write `delete p` with `var p = new T()`, or `delete map_name[key]`".into(),
                    );
                    return None;
                }
                let void = self.c.types.void;
                ir::StmtKind::Expr(self.mk(ir::ExprKind::ObjDelete(Box::new(x)), void, span))
            }
            AS::Try { body, catches } => {
                let body = self.block(body);
                let mut cs = Vec::new();
                for c in catches {
                    let value = match &c.pattern {
                        ast::CatchPattern::Int(n, _) => Some(*n as i64),
                        ast::CatchPattern::Any(_) => None,
                        ast::CatchPattern::Name(id) => self.c.const_int(id).map(|n| n as i64),
                    };
                    let body = self.block(&c.body);
                    cs.push(ir::Catch { value, body });
                }
                if cs.is_empty() {
                    self.c
                        .error(codes::THROW, s.span, "`try` needs at least one `catch`");
                }
                ir::StmtKind::Try { body, catches: cs }
            }
            AS::Throw(e) => {
                let x = self.expr(e, None);
                if !self.t().is_integer(x.ty) && !self.t().is_error(x.ty) {
                    self.c
                        .error(codes::THROW, e.span, "`throw` takes an integer error code")
                        .label = format!("found `{}`", self.t().display(x.ty));
                }
                ir::StmtKind::Throw(x)
            }
            AS::Defer(inner) => {
                let was = self.in_defer;
                self.in_defer = true;
                let b = self.sub_block(inner);
                self.in_defer = was;
                ir::StmtKind::Defer(b)
            }
            AS::Block(b) => ir::StmtKind::Block(self.block(b)),
            AS::Error => return None,
        };
        Some(ir::Stmt { kind, span })
    }

    pub(super) fn ret(&mut self, s: &ast::Stmt, e: Option<&ast::Expr>) -> Option<ir::Stmt> {
        let span = s.span;
        if self.in_defer {
            self.c
                .error(codes::VOID, s.span, "`return` inside `defer`")
                .help = Some(
                "deferred code runs while the function is returning; it cannot return itself"
                    .into(),
            );
            return None;
        }
        let void = matches!(self.t().kind(self.ret), TypeKind::Void);
        let Some(e) = e else {
            if let Some(rl) = self.ret_local {
                let x = self.mk(ir::ExprKind::Local(rl), self.ret, s.span);
                return Some(ir::Stmt {
                    kind: ir::StmtKind::Return(Some(x)),
                    span,
                });
            }
            if !void && !self.t().is_error(self.ret) {
                self.c.error(
                    codes::VOID,
                    s.span,
                    format!(
                        "`return` needs a value of type `{}`",
                        self.t().display(self.ret)
                    ),
                );
            }
            return Some(ir::Stmt {
                kind: ir::StmtKind::Return(None),
                span,
            });
        };
        // `return match (x) { A: prog(ctx), ... }`: each arm returns, and
        // arms calling programs become tail calls (spec: tail calls).
        // Arms with blocks return their blocks' values.
        if let AE::Match { scrutinee, arms } = &e.kind {
            if Self::has_block_arm(arms) || arms.iter().any(|a| self.is_program_call(&a.body)) {
                return Some(self.match_stmt(scrutinee, arms, Sink::Return, s.span));
            }
        }
        // `return prog(ctx)` between programs of one type is a tail call.
        if let AE::Call { callee, args } = &e.kind {
            if let AE::Name(id) = &callee.kind {
                if let Some(Sym::Function(target)) = self.c.lookup_sym(id) {
                    if matches!(self.c.functions[target.index()].kind, FnKind::Program(_)) {
                        // After an error, still end the path: no "missing return" cascade.
                        let err = self.err_expr(e.span);
                        return self.tail_call(s, target, id, args).or(Some(ir::Stmt {
                            kind: ir::StmtKind::Return(Some(err)),
                            span,
                        }));
                    }
                }
            }
        }
        if void {
            self.c
                .error(codes::VOID, e.span, "this function returns nothing")
                .help = Some("remove the value, or declare a return type with `->`".into());
            return Some(ir::Stmt {
                kind: ir::StmtKind::Return(None),
                span,
            });
        }
        let x = self.coerce_expr(e, self.ret, true);
        Some(ir::Stmt {
            kind: ir::StmtKind::Return(Some(x)),
            span,
        })
    }

    pub(super) fn is_program_call(&self, e: &ast::Expr) -> bool {
        let AE::Call { callee, .. } = &e.kind else {
            return false;
        };
        let AE::Name(id) = &callee.kind else {
            return false;
        };
        self.lookup_local(&id.name).is_none()
            && matches!(
                self.c.lookup_sym(id),
                Some(Sym::Function(f)) if matches!(self.c.functions[f.index()].kind, FnKind::Program(_))
            )
    }

    /// `var x [: T] = match (...) { PAT: { ... }, ... }`: `x` is declared
    /// first (visible after the statement only), then the arms store their
    /// values in it.
    #[allow(clippy::too_many_arguments)]
    fn var_match(
        &mut self,
        s: &ast::Stmt,
        is_const: bool,
        name: &ast::Ident,
        ty: Option<&ast::Type>,
        scrutinee: &ast::Expr,
        arms: &[ast::MatchArm],
        mspan: ksc_frontend::Span,
    ) -> Option<ir::Stmt> {
        let declared = ty.map(|t| self.c.resolve_type(t));
        // `void` until the first arm's value fixes the type.
        let ty0 = declared.unwrap_or(self.c.types.void);
        let shadowed = self
            .scopes
            .last()
            .and_then(|sc| sc.get(&name.name).copied());
        let local = self.declare(&name.name, ty0, name.span, is_const);
        // Not visible to the arms: they see what the name meant before.
        let scope = self.scopes.last_mut().unwrap();
        match shadowed {
            Some(old) => scope.insert(name.name.clone(), old),
            None => scope.remove(&name.name),
        };
        let m = self.match_stmt(scrutinee, arms, Sink::Local(local), mspan);
        if matches!(self.t().kind(self.locals[local.index()].ty), TypeKind::Void) {
            self.locals[local.index()].ty = self.c.types.error;
        }
        self.scopes
            .last_mut()
            .unwrap()
            .insert(name.name.clone(), (local, is_const));
        // The declaration goes before the `match`, in the same block.
        self.pre_stmts.push(ir::Stmt {
            kind: ir::StmtKind::Let { local, init: None },
            span: s.span,
        });
        Some(m)
    }

    /// `if (var x [: T] = e) { ... } else { ... }` (docs/language.md,
    /// "Syntax the reference accepts"): `x` is bound to `e`, evaluated
    /// once, and exists in the then-branch only. For a pointer (a map
    /// lookup) the then-branch runs when it is not null; for any other
    /// value when it is true, as `if (e)` (not zero).
    /// With `tail`, both branches' last values go there (the statement is
    /// the last of a block whose value is used).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn if_var(
        &mut self,
        s: &ast::Stmt,
        name: &ast::Ident,
        ty: Option<&ast::Type>,
        init: &ast::Expr,
        then: &ast::Stmt,
        els: Option<&ast::Stmt>,
        tail: Option<Sink>,
    ) -> Option<ir::Stmt> {
        let span = s.span;
        let var = ast::Stmt {
            kind: AS::Var {
                is_const: false,
                name: name.clone(),
                ty: ty.cloned(),
                init: Some(init.clone()),
            },
            span: name.span.to(init.span),
        };
        self.scopes.push(HashMap::new());
        let decl = self.stmt(&var);
        let id = ast::Expr {
            kind: AE::Name(name.clone()),
            span: name.span,
        };
        let pointer = self
            .lookup_local(&name.name)
            .is_some_and(|(l, _)| self.t().pointee(self.locals[l.index()].ty).is_some());
        // The null check written out, so the null-safety pass sees `x`
        // non-null in the then-branch.
        let cond = if pointer {
            ast::Expr {
                kind: AE::Binary {
                    op: ast::BinOp::Ne,
                    lhs: Box::new(id),
                    rhs: Box::new(ast::Expr {
                        kind: AE::Null,
                        span: name.span,
                    }),
                },
                span: name.span,
            }
        } else {
            id
        };
        let cond = self.cond(&cond);
        let then = match tail {
            Some(k) => self.tail_sub_block(then, k),
            None => self.sub_block(then),
        };
        self.scopes.pop();
        let els = match (els, tail) {
            (Some(e), Some(k)) => self.tail_sub_block(e, k),
            (Some(e), None) => self.sub_block(e),
            (None, _) => ir::Block { stmts: vec![] },
        };
        let mut stmts: Vec<ir::Stmt> = decl.into_iter().collect();
        stmts.push(ir::Stmt {
            kind: ir::StmtKind::If { cond, then, els },
            span,
        });
        Some(ir::Stmt {
            kind: ir::StmtKind::Block(ir::Block { stmts }),
            span,
        })
    }

    fn tail_call(
        &mut self,
        s: &ast::Stmt,
        target: FnId,
        id: &ast::Ident,
        args: &[ast::Expr],
    ) -> Option<ir::Stmt> {
        let span = s.span;
        // Tail calls stay within one BPF program type: one ProgramKind.
        let kind_of = |k: &FnKind| match k {
            FnKind::Program(p) => Some(p.kind()),
            _ => None,
        };
        let my_class = kind_of(&self.kind);
        let its_class = kind_of(&self.c.functions[target.index()].kind);
        if !matches!(self.kind, FnKind::Program(_)) {
            self.program_call_error(id, target);
            return None;
        }
        if my_class != its_class {
            self.c
                .error(
                    codes::TAIL_CALL,
                    id.span,
                    format!(
                        "tail call from an `@{}` program to an `@{}` program",
                        my_class.map_or("?", ir::ProgramKind::attribute),
                        its_class.map_or("?", ir::ProgramKind::attribute)
                    ),
                )
                .help = Some("a tail call must stay within one program type".into());
            return None;
        }
        let ctx = match args {
            [a] => self.expr(a, None),
            _ => {
                self.c.error(
                    codes::TAIL_CALL,
                    id.span,
                    "a tail call passes exactly the context: `return next(ctx)`",
                );
                return None;
            }
        };
        if ctx.ty != self.locals[0].ty || !matches!(ctx.kind, ir::ExprKind::Local(LocalId(0))) {
            self.c.error(
                codes::TAIL_CALL,
                args[0].span,
                "a tail call passes this program's own context parameter",
            );
        }
        let slot = match self.c.tail_call_slots.iter().position(|&f| f == target) {
            Some(i) => i as u32,
            None => {
                self.c.tail_call_slots.push(target);
                self.c.tail_call_slots.len() as u32 - 1
            }
        };
        // When the target is not in the program array, fail safe.
        let fallback = match my_class {
            Some(ir::ProgramKind::Xdp) => {
                self.mk(ir::ExprKind::Value(Value::UInt(0)), self.ret, s.span)
            }
            Some(ir::ProgramKind::Tc) => {
                self.mk(ir::ExprKind::Value(Value::Int(2)), self.ret, s.span)
            }
            _ => self.mk(ir::ExprKind::Value(Value::Int(0)), self.ret, s.span),
        };
        Some(ir::Stmt {
            kind: ir::StmtKind::TailCall {
                target,
                slot,
                ctx,
                fallback,
            },
            span,
        })
    }

    pub(super) fn program_call_error(&mut self, id: &ast::Ident, target: FnId) {
        let userspace = self.domain == Domain::Userspace;
        let d = self.c.error(
            codes::PROGRAM_CALL,
            id.span,
            format!(
                "`{}` is an eBPF program and cannot be called directly",
                id.name
            ),
        );
        d.label = "program function called".into();
        d.help = Some(if userspace {
            format!(
                "load and attach it: `var h = load({})` then `attach(h, target, flags)`",
                id.name
            )
        } else {
            format!("`return {}(ctx)` in a program of the same type makes a tail call; move shared code into a `@helper`", id.name)
        });
        let _ = target;
    }

    fn assign(
        &mut self,
        s: &ast::Stmt,
        target: &ast::Expr,
        op: Option<ast::BinOp>,
        value: &ast::Expr,
    ) -> Option<ir::Stmt> {
        let span = s.span;
        // Map entries: `m[k] = v`, `m[k] op= v`, `m[k].f op= v`.
        if let Some((map, key, path)) = self.map_place(target) {
            let m = &self.c.maps[map.index()];
            let (kt, mut vt) = (m.key, m.value);
            let key = self.coerce_expr(key, kt, false);
            let mut field_path = Vec::new();
            for f in &path {
                let Some(def) = self.t().struct_def(vt).cloned() else {
                    self.c.error(
                        codes::NO_FIELD,
                        f.span,
                        format!("`{}` has no fields", self.t().display(vt)),
                    );
                    return None;
                };
                let Some(i) = def.fields.iter().position(|d| d.name == f.name) else {
                    self.no_field(f, &def);
                    return None;
                };
                field_path.push(i as u32);
                vt = def.fields[i].ty;
            }
            let value = self.coerce_expr(value, vt, true);
            let kind = match op {
                None if field_path.is_empty() => ir::StmtKind::MapUpdate { map, key, value },
                None => {
                    self.c.error(codes::MAP_USE, target.span, "assign the whole map value, or update a field with a compound assignment").help =
                        Some("read the entry into a pointer first: `var e = m[k]` then `if (e != null) { e->f = v }`".into());
                    return None;
                }
                Some(op) => {
                    let op = binop(op);
                    self.check_arith(op, vt, vt, target.span);
                    ir::StmtKind::MapCompound {
                        map,
                        key,
                        path: field_path,
                        op,
                        value,
                    }
                }
            };
            return Some(ir::Stmt { kind, span });
        }
        let place = self.expr(target, None);
        self.check_place(&place, target)?;
        let kind = match op {
            None => {
                let value = self.coerce_expr(value, place.ty, true);
                ir::StmtKind::Assign { place, value }
            }
            Some(op) => {
                let op = binop(op);
                let v = self.expr(value, Some(place.ty));
                let v = if self.t().pointee(place.ty).is_none() {
                    self.read_through(v)
                } else {
                    v
                };
                let v = self.adapt_literal(v, place.ty);
                if self.t().pointee(place.ty).is_some()
                    && matches!(op, ir::BinOp::Add | ir::BinOp::Sub)
                    && self.t().is_integer(v.ty)
                {
                    // pointer += n
                } else {
                    self.check_arith(op, place.ty, v.ty, s.span);
                    if !self.t().coerces(v.ty, place.ty) && !self.t().is_error(v.ty) {
                        let (a, b) = (self.t().display(v.ty), self.t().display(place.ty));
                        let q = self.c.quote(value.span).unwrap_or_else(|| "...".into());
                        self.c
                            .error(
                                codes::MISMATCH,
                                value.span,
                                format!("mismatched types: `{b}` {}= `{a}`", op.symbol()),
                            )
                            .help = Some(format!(
                            "convert explicitly if the value fits: `{q} as {b}`"
                        ));
                    }
                }
                let v = self.cast_to(v, place.ty);
                ir::StmtKind::CompoundAssign {
                    place,
                    op,
                    value: v,
                }
            }
        };
        Some(ir::Stmt { kind, span })
    }

    /// `m[k]` or `m[k].f.g` as an assignment target.
    fn map_place<'e>(
        &self,
        e: &'e ast::Expr,
    ) -> Option<(ir::MapId, &'e ast::Expr, Vec<&'e ast::Ident>)> {
        match &e.kind {
            AE::Index { base, index } => self.map_of(base).map(|m| (m, &**index, vec![])),
            AE::Field {
                base,
                field,
                arrow: false,
            } => {
                let (m, k, mut path) = self.map_place(base)?;
                path.push(field);
                Some((m, k, path))
            }
            _ => None,
        }
    }

    fn check_place(&mut self, place: &ir::Expr, target: &ast::Expr) -> Option<()> {
        use ir::ExprKind as K;
        match &place.kind {
            K::Local(l) => {
                let name = &self.locals[l.index()].name;
                if let Some((_, true)) = self.lookup_local(name) {
                    self.c
                        .error(
                            codes::ASSIGN_CONST,
                            target.span,
                            format!("cannot assign to `{name}`, a constant"),
                        )
                        .label = "assignment to a `const`".into();
                    return None;
                }
            }
            K::Global(g) => {
                let gl = &self.c.globals[g.index()];
                if gl.visibility == ir::GlobalVisibility::Local && self.domain == Domain::Userspace
                {
                    // reported by expr() already
                }
            }
            K::ConfigField { .. } => {
                if self.ebpf() {
                    self.c
                        .error(
                            codes::CONFIG_WRITE,
                            target.span,
                            "configs are read-only in eBPF programs",
                        )
                        .help = Some(
                        "userspace sets configs; eBPF keeps changing state in globals or maps"
                            .into(),
                    );
                    return None;
                }
            }
            K::Field { .. } | K::Index { .. } | K::Deref(_) => {}
            K::Value(_) if self.t().is_error(place.ty) => return None,
            _ => {
                let what = match &target.kind {
                    AE::Name(id) => match self.c.lookup_sym(id) {
                        Some(Sym::Const(_))
                        | Some(Sym::EnumVariant(..))
                        | Some(Sym::BuiltinConst(..)) => {
                            self.c
                                .error(
                                    codes::ASSIGN_CONST,
                                    target.span,
                                    format!("cannot assign to `{}`, a constant", id.name),
                                )
                                .label = "assignment to a constant".into();
                            return None;
                        }
                        _ => "this expression",
                    },
                    _ => "this expression",
                };
                self.c
                    .error(
                        codes::ASSIGN_CONST,
                        target.span,
                        format!("cannot assign to {what}"),
                    )
                    .help = Some("assign to a variable, a field, an element or `*pointer`".into());
                return None;
            }
        }
        Some(())
    }
}
