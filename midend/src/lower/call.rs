//! Lowering calls: functions by name (with the rules of who may call whom
//! across execution domains), function pointers, BPF helpers, and map
//! methods (`contains_key`; a ring buffer's `reserve`, `submit`,
//! `discard` and `read`).

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Callee, Domain, FnId, FnKind, IntType, TypeId, TypeKind, Value};

use super::FnCx;
use crate::builtins;
use crate::checker::Sym;
use crate::types::Types;

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn call(&mut self, callee: &ast::Expr, args: &[ast::Expr], span: Span) -> ir::Expr {
        let AE::Name(id) = &callee.kind else {
            if let AE::Field { base, field, .. } = &callee.kind {
                let what = match &base.kind {
                    AE::Name(b) => format!("`{}.{}`", b.name, field.name),
                    _ => format!("`.{}`", field.name),
                };
                if let Some(m) = self.map_of(base) {
                    return self.map_method(m, field, args, span);
                }
                if let AE::Name(b) = &base.kind {
                    if let Some(Sym::Import) = self.c.lookup_sym(b) {
                        // Only when the program was checked without
                        // `imports::load` (which rewrites `m.f`).
                        self.c.error(
                            codes::MODULE_ITEM,
                            span,
                            format!("module `{}` was not loaded", b.name),
                        );
                        return self.err_expr(span);
                    }
                }
                self.c.error(codes::NO_METHOD, callee.span, format!("there is no method {what}")).help =
                    Some("KernelScript has no methods; read fields directly (e.g. `ctx->data`) or call a function".into());
                for a in args {
                    self.expr(a, None);
                }
                return self.err_expr(span);
            }
            let f = self.expr(callee, None);
            return self.call_pointer(f, args, span);
        };
        if let Some((l, _)) = self.lookup_local(&id.name) {
            let ty = self.locals[l.index()].ty;
            let f = self.mk(ir::ExprKind::Local(l), ty, id.span);
            return self.call_pointer(f, args, span);
        }
        // In a `@test` function `test(...)` is the built-in even when the
        // program has a function named `test` (docs/language.md, "Syntax
        // the reference accepts").
        if id.name == "test" && self.kind == FnKind::Test {
            return self.call_builtin(id, ir::Builtin::Test, args, span);
        }
        match self.c.lookup_sym(id) {
            Some(Sym::Function(f)) => self.call_fn(id, f, args, span),
            Some(Sym::Global(_)) => {
                let f = self.name(id);
                self.call_pointer(f, args, span)
            }
            Some(_) => {
                self.c.error(
                    codes::WRONG_KIND,
                    id.span,
                    format!("`{}` is not a function", id.name),
                );
                self.err_expr(span)
            }
            None => {
                if id.name == "print" {
                    return self.lower_print(args, span);
                }
                if id.name == "dispatch" {
                    return self.lower_dispatch(id, args, span);
                }
                if let Some(b) = builtins::builtin(&id.name) {
                    return self.call_builtin(id, b, args, span);
                }
                // Not reserved: a program's own `read` is found above.
                if id.name == "read" {
                    return self.lower_read(id, args, span);
                }
                if let Some(h) = ksc_ir::helper_named(&id.name) {
                    return self.call_helper(id, h, args, span);
                }
                if let Some(f) = self.sibling_member(&id.name) {
                    return self.call_sibling(id, f, args, span);
                }
                let locals = self.local_names();
                let refs: Vec<&str> = locals.iter().map(|s| s.as_str()).collect();
                self.c.unknown_name(id, "function", &refs);
                for a in args {
                    self.expr(a, None);
                }
                self.err_expr(span)
            }
        }
    }

    /// Map methods: `m.contains_key(k)`; on ring buffers `reserve()`,
    /// `submit(p)` / `submit(value)` and `discard(p)`.
    fn map_method(
        &mut self,
        m: ir::MapId,
        method: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let (kind, kt, vt) = {
            let map = &self.c.maps[m.index()];
            (map.kind, map.key, map.value)
        };
        let void = self.c.types.void;
        let ring = kind == ir::MapKind::Ringbuf;
        match (method.name.as_str(), ring) {
            ("contains_key", false) => {
                let [k] = args else {
                    self.c
                        .error(codes::MAP_USE, span, "`contains_key` takes the key");
                    return self.err_expr(span);
                };
                let key = self.coerce_expr(k, kt, false);
                let pt = self.c.types.ptr(vt);
                let lookup = self.mk(
                    ir::ExprKind::MapLookup {
                        map: m,
                        key: Box::new(key),
                    },
                    pt,
                    span,
                );
                let null = self.mk(ir::ExprKind::Value(Value::Null), self.c.types.null, span);
                let bool_ = self.c.types.bool_;
                self.mk(
                    ir::ExprKind::Binary {
                        op: ir::BinOp::Ne,
                        lhs: Box::new(lookup),
                        rhs: Box::new(null),
                    },
                    bool_,
                    span,
                )
            }
            ("reserve", true) => {
                if !self.ebpf() {
                    self.c
                        .error(
                            codes::WRONG_SIDE,
                            span,
                            "`reserve` is for eBPF code; userspace reads the ring buffer's events",
                        )
                        .help = Some(
                        "read them with `var e = rb.read()` (or `rb.read(ms)` to wait)".into(),
                    );
                }
                let size = match args {
                    [] => None,
                    [n] if matches!(
                        self.t().kind(vt),
                        TypeKind::Int(IntType::U8) | TypeKind::Char
                    ) =>
                    {
                        let u32_ = self.c.types.u32_;
                        Some(Box::new(self.coerce_expr(n, u32_, false)))
                    }
                    _ => {
                        self.c.error(codes::RINGBUF, span, "`reserve()` takes no arguments: it reserves one event of the ring buffer's type")
                            .help = Some("declare the ring buffer as `ringbuf<u8>(bytes)` to reserve sizes in bytes".into());
                        None
                    }
                };
                let pt = self.c.types.ptr(vt);
                self.mk(ir::ExprKind::RingbufReserve { map: m, size }, pt, span)
            }
            ("submit" | "discard", true) => {
                if !self.ebpf() {
                    self.c.error(
                        codes::WRONG_SIDE,
                        span,
                        format!("`{}` is for eBPF code", method.name),
                    );
                }
                let [a] = args else {
                    self.c.error(
                        codes::RINGBUF,
                        span,
                        format!("`{}` takes what `reserve` returned", method.name),
                    );
                    return self.err_expr(span);
                };
                let x = self.expr(a, None);
                if self.t().pointee(x.ty) == Some(vt) {
                    let discard = method.name == "discard";
                    self.mk(
                        ir::ExprKind::RingbufSubmit {
                            map: m,
                            ptr: Box::new(x),
                            discard,
                        },
                        void,
                        span,
                    )
                } else if method.name == "submit" {
                    // `submit(value)`: copy an event into the ring buffer.
                    let v = self.coerce(x, vt, a.span);
                    self.mk(
                        ir::ExprKind::RingbufOutput {
                            map: m,
                            value: Box::new(v),
                        },
                        void,
                        span,
                    )
                } else {
                    self.c.error(
                        codes::RINGBUF,
                        a.span,
                        "`discard` takes what `reserve` returned",
                    );
                    self.err_expr(span)
                }
            }
            ("read", true) => {
                if self.ebpf() {
                    self.c.error(
                        codes::WRONG_SIDE,
                        span,
                        "`read` is for userspace: eBPF code writes events with `reserve`/`submit`",
                    );
                }
                let timeout_ms = match args {
                    [] => None,
                    [t] => {
                        let u32_ = self.c.types.u32_;
                        Some(Box::new(self.coerce_expr(t, u32_, false)))
                    }
                    _ => {
                        self.c.error(
                            codes::RINGBUF,
                            span,
                            "`read` takes at most one argument: how many milliseconds to wait",
                        );
                        None
                    }
                };
                let pt = self.c.types.ptr(vt);
                self.mk(ir::ExprKind::RingbufRead { map: m, timeout_ms }, pt, span)
            }
            ("on_event", true) => self.on_event(m, method, args, span),
            (other, _) => {
                let list = if ring {
                    "`reserve`, `submit`, `discard` (eBPF), `read` and `on_event` (userspace)"
                } else {
                    "`contains_key`"
                };
                self.c
                    .error(
                        codes::MAP_USE,
                        method.span,
                        format!("maps of this kind have no method `{other}`"),
                    )
                    .help = Some(format!(
                    "the methods are {list}; read and write entries with `m[key]`"
                ));
                for a in args {
                    self.expr(a, None);
                }
                self.err_expr(span)
            }
        }
    }

    /// `rb.on_event(handler)` (userspace): `handler` names a userspace
    /// function `fn(event: *T) -> i32`, `T` the ring buffer's value type
    /// (docs/language.md, "Ring-buffer callbacks, `dispatch` and `daemon`").
    fn on_event(
        &mut self,
        m: ir::MapId,
        method: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let vt = self.c.maps[m.index()].value;
        let rb = self.c.maps[m.index()].name.clone();
        let want = format!("fn handler(event: *{}) -> i32", self.t().display(vt));
        if self.ebpf() {
            self.c
                .error(codes::WRONG_SIDE,
                    method.span,
                    "`on_event` is for userspace: eBPF code writes events with `reserve`/`submit`",
                )
                .help = Some(format!(
                "register the handler in userspace (`main`), then wait for events there with `dispatch({rb})`"
            ));
        }
        let handler = match args {
            [a] => match &a.kind {
                AE::Name(id) if self.lookup_local(&id.name).is_none() => {
                    match self.c.lookup_sym(id) {
                        Some(Sym::Function(f)) => Some((f, a.span)),
                        _ => None,
                    }
                }
                _ => None,
            }
            .or_else(|| {
                self.expr(a, None);
                let d = self.c.error(
                    codes::RINGBUF,
                    a.span,
                    "`on_event` takes the name of the function that handles each event",
                );
                d.help = Some(format!(
                    "declare `{want}` and write `{rb}.on_event(handler)`"
                ));
                None
            }),
            _ => {
                self.c
                    .error(
                        codes::RINGBUF,
                        span,
                        format!(
                            "`on_event` takes one argument (the handler) but {} were given",
                            args.len()
                        ),
                    )
                    .help = Some(format!(
                    "declare `{want}` and write `{rb}.on_event(handler)`"
                ));
                None
            }
        };
        let void = self.c.types.void;
        let Some((f, at)) = handler else {
            return self.err_expr(span);
        };
        let name = self.c.functions[f.index()].name.clone();
        match self.c.handler_fit(f, m) {
            HandlerFit::Fits => {
                self.c.ring_handlers.insert(m);
            }
            HandlerFit::NotUserspace => {
                self.c
                    .error(codes::WRONG_SIDE,
                        at,
                        format!("`{name}` cannot handle ring-buffer events: a handler is a userspace function other than `main`"),
                    )
                    .help = Some(format!("declare `{want}` (no attribute)"));
            }
            HandlerFit::Signature { params, ret } => {
                let found = format!(
                    "fn({}) -> {}",
                    params
                        .iter()
                        .map(|p| self.t().display(*p))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.t().display(ret)
                );
                let d = self.c.error(
                    codes::RINGBUF,
                    at,
                    format!(
                        "`{name}` does not fit the events of `{rb}`: a handler is `fn(*{}) -> i32`",
                        self.t().display(vt)
                    ),
                );
                d.label = format!("found `{found}`");
                d.help = Some(format!(
                    "declare it `{}`; the handler's nonzero return ends `dispatch` with that value",
                    want.replacen("handler", &name, 1)
                ));
            }
        }
        self.mk(
            ir::ExprKind::RingbufOnEvent { map: m, handler: f },
            void,
            span,
        )
    }

    /// `dispatch(rb, ...)` (userspace): wait for events of these ring
    /// buffers and call their handlers; an `i32` (docs/language.md,
    /// "Ring-buffer callbacks, `dispatch` and `daemon`").
    fn lower_dispatch(&mut self, id: &ast::Ident, args: &[ast::Expr], span: Span) -> ir::Expr {
        if self.domain != Domain::Userspace {
            self.c
                .error(codes::WRONG_SIDE, id.span, "`dispatch` is a userspace function")
                .help = Some(
                "eBPF code writes events with `reserve`/`submit`; userspace waits for them with `dispatch`".into(),
            );
        }
        if args.is_empty() {
            self.c
                .error(
                    codes::RINGBUF,
                    span,
                    "`dispatch` takes the ring buffers to wait for",
                )
                .help = Some("write `dispatch(events)` or `dispatch(events, alerts)`".into());
        }
        let mut maps: Vec<ir::MapId> = Vec::new();
        for a in args {
            match self.map_of(a) {
                Some(m) if self.c.maps[m.index()].kind == ir::MapKind::Ringbuf => {
                    if maps.contains(&m) {
                        self.c.error(
                            codes::RINGBUF,
                            a.span,
                            format!(
                                "`{}` is passed to `dispatch` twice",
                                self.c.maps[m.index()].name
                            ),
                        );
                    } else {
                        maps.push(m);
                        if self.domain == Domain::Userspace {
                            self.c.ring_dispatches.push((m, a.span));
                        }
                    }
                }
                other => {
                    if other.is_none() {
                        self.expr(a, None);
                    }
                    self.c
                        .error(
                            codes::RINGBUF,
                            a.span,
                            "`dispatch` takes ring buffers (`ringbuf<T>(bytes)` maps)",
                        )
                        .help = Some("pass the ring buffers by name: `dispatch(events)`".into());
                }
            }
        }
        let i32_ = self.c.types.i32_;
        self.mk(ir::ExprKind::RingbufDispatch { maps }, i32_, span)
    }

    pub(super) fn check_args(
        &mut self,
        what: &str,
        params: &[TypeId],
        args: &[ast::Expr],
        span: Span,
    ) -> Vec<ir::Expr> {
        if params.len() != args.len() {
            let sig = params
                .iter()
                .map(|p| self.t().display(*p))
                .collect::<Vec<_>>()
                .join(", ");
            self.c
                .error(
                    codes::ARITY,
                    span,
                    format!(
                        "{what} takes {} argument{} but {} {} given",
                        params.len(),
                        if params.len() == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                )
                .help = Some(format!("the parameters are ({sig})"));
        }
        args.iter()
            .enumerate()
            .map(|(i, a)| match params.get(i) {
                Some(&t) => self.coerce_expr(a, t, true),
                None => self.expr(a, None),
            })
            .collect()
    }

    /// In a `@struct_ops` impl, a member's bare name is its sibling
    /// (docs/language.md, "Headers, kernel structs and enums").
    fn sibling_member(&self, name: &str) -> Option<FnId> {
        let FnKind::Program(ir::ProgramType::StructOps { ops, .. }) = &self.kind else {
            return None;
        };
        self.c
            .struct_ops
            .get(ops.index())?
            .members
            .iter()
            .find(|m| m.field == name)
            .map(|m| m.function)
    }

    /// A call of a sibling member: the eBPF C backend calls its body (the
    /// kernel calls the member itself through the table).
    fn call_sibling(
        &mut self,
        id: &ast::Ident,
        f: FnId,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        // (Recursion is reported with the call graph: valid/graph.rs.)
        self.plain_call(id, f, args, span)
    }

    /// A call of function `f`, its arguments checked against its
    /// parameters.
    fn plain_call(&mut self, id: &ast::Ident, f: FnId, args: &[ast::Expr], span: Span) -> ir::Expr {
        let ret = self.c.functions[f.index()].ret;
        let mut params: Vec<TypeId> = self.c.fn_info[f.index()]
            .params
            .iter()
            .map(|p| p.1)
            .collect();
        // ksc's own sched_ext kfuncs take any pointer where the kernel
        // takes a task: the reference's spec types members' tasks `*u8`
        // (docs/language.md, "sched_ext schedulers"); C converts.
        if self.c.builtin_fns.contains(&f) {
            let void_ptr = self.c.types.ptr(self.c.types.void);
            for p in params.iter_mut() {
                if self.c.types.pointee(*p).is_some() {
                    *p = void_ptr;
                }
            }
        }
        let args = self.check_args(&format!("`{}`", id.name), &params, args, span);
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::Function(f),
                args,
            },
            ret,
            span,
        )
    }

    fn call_fn(&mut self, id: &ast::Ident, f: FnId, args: &[ast::Expr], span: Span) -> ir::Expr {
        let (kind, fdom) = {
            let fun = &self.c.functions[f.index()];
            (fun.kind.clone(), fun.domain)
        };
        // Who may call whom (spec: scoping rules, @helper, @kfunc, @private, extern).
        let me = self.domain;
        let problem: Option<(&str, String)> = match (&kind, me) {
            (FnKind::Program(_), _) => {
                self.program_call_error(id, f);
                for a in args {
                    self.expr(a, None);
                }
                return self.err_expr(span);
            }
            (FnKind::Helper, Domain::Ebpf) => None,
            (FnKind::Helper, _) => Some(("an eBPF `@helper`", "helpers run inside eBPF programs; userspace reads their results through maps and globals".into())),
            (FnKind::Kfunc, Domain::Ebpf | Domain::KernelModule) => None,
            (FnKind::Kfunc, _) => Some(("a `@kfunc`", "kfuncs run in the kernel and are called from eBPF programs".into())),
            (FnKind::Extern { .. }, Domain::Ebpf) => None,
            // Kernel functions, which the module links against (docs/language.md).
            (FnKind::Extern { helper: None }, Domain::KernelModule) => None,
            (FnKind::Extern { .. }, _) => Some(("an `extern` kernel function", "extern kfuncs can only be called from eBPF programs".into())),
            (FnKind::Private, Domain::KernelModule) => None,
            (FnKind::Private, _) => Some(("a `@private` kernel-module function", "only `@kfunc` and `@private` functions of the module may call it; expose it through a `@kfunc`".into())),
            // Tests stay out of production code (spec "Testing").
            (FnKind::Test, Domain::Userspace) if self.kind != FnKind::Test => Some(("a `@test` function", "tests run with `ksc test`; production code cannot call them".into())),
            (FnKind::Userspace | FnKind::Test, Domain::Userspace) => None,
            (FnKind::Userspace | FnKind::Test, _) => Some(("a userspace function", "eBPF and kernel code can only call `@helper`s, `@kfunc`s and kernel functions; make it a `@helper`".into())),
        };
        if let Some((what, help)) = problem {
            let place = match me {
                Domain::Ebpf => "eBPF code",
                Domain::KernelModule => "a kernel module function",
                Domain::Userspace => "userspace",
            };
            let d = self.c.error(
                codes::WRONG_SIDE,
                id.span,
                format!("`{}` is {what} and cannot be called from {place}", id.name),
            );
            d.help = Some(help);
        }
        let _ = fdom;
        self.plain_call(id, f, args, span)
    }

    fn call_pointer(&mut self, f: ir::Expr, args: &[ast::Expr], span: Span) -> ir::Expr {
        let TypeKind::Function(sig) = self.t().kind(f.ty).clone() else {
            if !self.t().is_error(f.ty) {
                self.c.error(
                    codes::WRONG_KIND,
                    span,
                    format!("`{}` is not a function", self.t().display(f.ty)),
                );
            }
            return self.err_expr(span);
        };
        let args = self.check_args("this function pointer", &sig.params, args, span);
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::Pointer(Box::new(f)),
                args,
            },
            sig.ret,
            span,
        )
    }

    fn call_helper(
        &mut self,
        id: &ast::Ident,
        h: &ksc_ir::Helper,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        if !self.ebpf() {
            self.c
                .error(
                    codes::WRONG_SIDE,
                    id.span,
                    format!(
                        "`{}` is a BPF helper, callable only from eBPF code",
                        id.name
                    ),
                )
                .help =
                Some("userspace reads what eBPF programs record through maps and globals".into());
        }
        let void_ptr = {
            let v = self.c.types.void;
            self.c.types.ptr(v)
        };
        let map = |t: &mut Types, p: ksc_ir::HelperType| match p {
            ksc_ir::HelperType::U32 => t.u32_,
            ksc_ir::HelperType::U64 => t.u64_,
            ksc_ir::HelperType::I32 => t.i32_,
            ksc_ir::HelperType::Ptr | ksc_ir::HelperType::PtrOrNull => void_ptr,
        };
        let ps: Vec<TypeId> = h
            .params
            .iter()
            .map(|p| map(&mut self.c.types, *p))
            .collect();
        let rt = map(&mut self.c.types, h.ret);
        let written = args;
        let args = if h.variadic && args.len() >= ps.len() {
            // Fixed parameters, then up to three integers.
            let (fixed, extra) = args.split_at(ps.len());
            let mut out = self.check_args(&format!("`{}`", id.name), &ps, fixed, span);
            if extra.len() > 3 {
                self.c.error(
                    codes::ARITY,
                    span,
                    format!("`{}` takes at most {} arguments", id.name, ps.len() + 3),
                );
            }
            for a in extra {
                let e = self.expr(a, None);
                if !self.t().is_integer(e.ty) && !self.t().is_error(e.ty) {
                    let d = self.t().display(e.ty);
                    self.c.error(
                        codes::FORMAT,
                        a.span,
                        format!("`{}` formats integers, not `{d}`", id.name),
                    );
                }
                out.push(e);
            }
            out
        } else {
            self.check_args(&format!("`{}`", id.name), &ps, args, span)
        };
        if matches!(h.name, "bpf_spin_lock" | "bpf_spin_unlock") {
            if let (Some(a), Some(e)) = (written.first(), args.first()) {
                self.check_lock_arg(id, a.span, e);
            }
        }
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::BpfHelper(h.id),
                args,
            },
            rt,
            span,
        )
    }

    /// `bpf_spin_lock(&v->lock)`: the verifier takes locks only in map
    /// values, so the argument must be the address of a `bpf_spin_lock`
    /// field reached through a pointer (docs/language.md, "Spin locks").
    fn check_lock_arg(&mut self, id: &ast::Ident, at: Span, e: &ir::Expr) {
        let lock = self.c.spin_lock_type();
        let mut ok = false;
        let mut e = e;
        // `check_args` made it a `*void`.
        while let ir::ExprKind::Cast(inner) = &e.kind {
            e = inner;
        }
        if let ir::ExprKind::AddrOf(place) = &e.kind {
            let mut p = &**place;
            if p.ty == lock {
                // Down the field chain to a field read through a pointer.
                while let ir::ExprKind::Field {
                    base,
                    through_pointer,
                    ..
                } = &p.kind
                {
                    if *through_pointer {
                        ok = true;
                        break;
                    }
                    p = base;
                }
            }
        }
        if !ok && !self.t().is_error(e.ty) {
            self.c
                .error(codes::LOCK,
                    at,
                    format!(
                        "`{}` takes the address of a `bpf_spin_lock` field of a map value",
                        id.name
                    ),
                )
                .help = Some(
                "look the value up first: `var v = m[k]`, check it is not null, then `bpf_spin_lock(&v.lock)`".into(),
            );
        }
    }
}

impl crate::checker::Checker<'_> {
    /// A userspace function named `<rb>_callback` that fits the handler
    /// signature is `rb`'s handler from the start of `main`, as if `main`
    /// began with `rb.on_event(<rb>_callback)`; an explicit `on_event`
    /// later replaces it (docs/language.md, "Ring-buffer callbacks,
    /// `dispatch` and `daemon`").
    /// Can `f` handle the events of ring buffer `m`: a userspace function
    /// other than `main`, `fn(event: *T) -> i32` with `T` the ring's value
    /// type (docs/language.md, "Ring-buffer callbacks, `dispatch` and
    /// `daemon`").
    pub(crate) fn handler_fit(&mut self, f: FnId, m: ir::MapId) -> HandlerFit {
        let pt = self.types.ptr(self.maps[m.index()].value);
        let func = &self.functions[f.index()];
        if func.kind != FnKind::Userspace
            || func.domain != Domain::Userspace
            || self.main == Some(f)
        {
            return HandlerFit::NotUserspace;
        }
        let params: Vec<TypeId> = func.locals[..func.params as usize]
            .iter()
            .map(|l| l.ty)
            .collect();
        if params != [pt] || func.ret != self.types.i32_ {
            return HandlerFit::Signature {
                params,
                ret: func.ret,
            };
        }
        HandlerFit::Fits
    }

    pub(crate) fn register_named_ring_handlers(&mut self) {
        let Some(main) = self.main else { return };
        let named: Vec<(ir::MapId, FnId)> = self
            .maps
            .iter()
            .enumerate()
            .filter(|(_, map)| map.kind == ir::MapKind::Ringbuf)
            .filter_map(|(mi, map)| {
                let by_name = format!("{}_callback", map.name);
                let f = self.functions.iter().position(|f| f.name == by_name)?;
                Some((ir::MapId(mi as u32), FnId(f as u32)))
            })
            .collect();
        let mut regs = Vec::new();
        for (m, f) in named {
            if matches!(self.handler_fit(f, m), HandlerFit::Fits) {
                regs.push((m, f, self.functions[f.index()].span));
            }
        }
        let void = self.types.void;
        let body = &mut self.functions[main.index()].body;
        for (k, (map, handler, span)) in regs.into_iter().enumerate() {
            self.ring_handlers.insert(map);
            body.stmts.insert(
                k,
                ir::Stmt {
                    kind: ir::StmtKind::Expr(ir::Expr {
                        kind: ir::ExprKind::RingbufOnEvent { map, handler },
                        ty: void,
                        span,
                    }),
                    span,
                },
            );
        }
    }
}

/// What [`crate::checker::Checker::handler_fit`] found.
pub(crate) enum HandlerFit {
    Fits,
    /// Not a plain userspace function, or `main`.
    NotUserspace,
    /// Its parameters and return type, which do not fit.
    Signature {
        params: Vec<TypeId>,
        ret: TypeId,
    },
}
