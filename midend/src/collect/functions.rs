//! Collection of functions: kind and execution domain from attributes
//! (`@xdp`, `@tc("ingress")`, `@probe("f")`, `@helper`, `@kfunc`, ...),
//! parameter and return types, the signature each program kind requires
//! (checked against the kernel's BTF for `@probe`), `extern` declarations,
//! and `@struct_ops` impl blocks (members checked against the kernel
//! struct).
//!
//! Takes function, extern and impl items; gives `Checker::functions` (bodies
//! still empty), `fn_info` (what lowering needs: the declaration, named
//! return value, program class), `struct_ops` and `main`.

use ksc_frontend::ast::{self, ExprKind as AE, ItemKind};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Domain, FnId, FnKind, ProgramType, StructOrigin, TypeId, TypeKind, Value};

use crate::btf_types::btf_size;
use crate::checker::{suggest, Checker, FnInfo, Sym, SymInfo};
use crate::types::Types;

impl<'a> Checker<'a> {
    fn attr_string(&mut self, a: &ast::Attribute) -> Option<String> {
        match a.args.as_slice() {
            [ast::Expr {
                kind: AE::Str(s), ..
            }] => Some(s.clone()),
            [ast::Expr {
                kind: AE::Name(id), ..
            }] => Some(id.name.clone()),
            _ => None,
        }
    }

    /// Kind and domain of a function from its attributes.
    fn fn_kind(
        &mut self,
        item: &ast::Item,
        f_name: &ast::Ident,
        in_impl: Option<(u32, &str)>,
    ) -> (FnKind, Option<&'static str>) {
        if let Some((ops, _)) = in_impl {
            return (
                FnKind::Program(ProgramType::StructOps {
                    ops: ir::StructOpsId(ops),
                    member: f_name.name.clone(),
                }),
                Some("struct_ops"),
            );
        }
        let mut kind: Option<(FnKind, Option<&'static str>)> = None;
        for a in &item.attrs {
            let name = a.name.name.as_str();
            let arg = self.attr_string(a);
            let k = match name {
                "xdp" => (FnKind::Program(ProgramType::Xdp), Some("xdp")),
                "tc" => {
                    let ingress = match arg.as_deref() {
                        Some("ingress") => true,
                        Some("egress") => false,
                        Some(other) => {
                            self.error(
                                codes::ATTRIBUTE_ARG,
                                a.span,
                                format!("unknown TC direction `{other}`"),
                            )
                            .help = Some("write `@tc(\"ingress\")` or `@tc(\"egress\")`".into());
                            true
                        }
                        None => {
                            self.error(codes::ATTRIBUTE_ARG, a.span, "`@tc` needs a direction").help =
                                Some("write `@tc(\"ingress\")` or `@tc(\"egress\")`: no direction is assumed".into());
                            true
                        }
                    };
                    (FnKind::Program(ProgramType::Tc { ingress }), Some("tc"))
                }
                "tracepoint" => {
                    let (category, event) = match arg.as_deref().and_then(|s| s.split_once('/')) {
                        Some((c, e)) if !c.is_empty() && !e.is_empty() => {
                            (c.to_string(), e.to_string())
                        }
                        _ => {
                            self.error(
                                codes::ATTRIBUTE_ARG,
                                a.span,
                                "`@tracepoint` needs \"category/event\"",
                            )
                            .help = Some(
                                "for example `@tracepoint(\"syscalls/sys_enter_read\")`".into(),
                            );
                            (String::new(), String::new())
                        }
                    };
                    (
                        FnKind::Program(ProgramType::Tracepoint { category, event }),
                        Some("tracepoint"),
                    )
                }
                "probe" | "kprobe" => {
                    let target = arg.unwrap_or_default();
                    let (function, offset) = match target.split_once('+') {
                        Some((f, off)) => {
                            let off = if let Some(h) = off.strip_prefix("0x") {
                                u64::from_str_radix(h, 16).ok()
                            } else {
                                off.parse().ok()
                            };
                            if off.is_none() {
                                self.error(
                                    codes::ATTRIBUTE_ARG,
                                    a.span,
                                    "the probe offset must be a number: `@probe(\"func+16\")`",
                                );
                            }
                            (f.to_string(), off)
                        }
                        None => (target.clone(), None),
                    };
                    if function.is_empty() {
                        self.error(
                            codes::ATTRIBUTE_ARG,
                            a.span,
                            "`@probe` needs the kernel function to probe",
                        )
                        .help = Some(
                            "for example `@probe(\"vfs_read\")` or `@probe(\"vfs_read+16\")`"
                                .into(),
                        );
                    }
                    (
                        FnKind::Program(ProgramType::Probe { function, offset }),
                        Some("probe"),
                    )
                }
                "lsm" => (
                    FnKind::Program(ProgramType::Lsm {
                        hook: arg.unwrap_or_default(),
                    }),
                    Some("lsm"),
                ),
                "perf_event" => (FnKind::Program(ProgramType::PerfEvent), Some("perf_event")),
                "helper" => (FnKind::Helper, None),
                "kfunc" => (FnKind::Kfunc, None),
                "private" => (FnKind::Private, None),
                "test" => (FnKind::Test, None),
                "struct_ops" => {
                    self.error(
                        codes::STRUCT_OPS,
                        a.span,
                        "`@struct_ops` goes on an `impl` block",
                    );
                    continue;
                }
                other => {
                    let known = super::FUNCTION_ATTRIBUTES;
                    let hint = suggest(other, known.iter().copied());
                    let d = self.error(
                        codes::ATTRIBUTE,
                        a.name.span,
                        format!("unknown attribute `@{other}`"),
                    );
                    d.help = Some(match hint {
                        Some(h) => format!("did you mean `@{h}`?"),
                        None => format!(
                            "function attributes are {}",
                            known
                                .iter()
                                .map(|k| format!("@{k}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                    continue;
                }
            };
            if kind.is_some() {
                self.error(
                    codes::ATTRIBUTE,
                    a.span,
                    "a function has at most one kind attribute",
                );
                continue;
            }
            kind = Some(k);
        }
        kind.unwrap_or((FnKind::Userspace, None))
    }

    pub(crate) fn collect_fn(
        &mut self,
        item: &'a ast::Item,
        f: &'a ast::FnDecl,
        in_impl: Option<(u32, &str)>,
    ) -> FnId {
        let (kind, prog_class) = self.fn_kind(item, &f.name, in_impl);
        let domain = match &kind {
            FnKind::Program(_) | FnKind::Helper => Domain::Ebpf,
            FnKind::Kfunc | FnKind::Private | FnKind::Extern { .. } => Domain::KernelModule,
            FnKind::Userspace | FnKind::Test => Domain::Userspace,
        };
        let params: Vec<(String, TypeId, Span)> = f
            .params
            .iter()
            .map(|p| {
                let t = self.resolve_type(&p.ty);
                (p.name.name.clone(), t, p.name.span)
            })
            .collect();
        let ret = match &f.ret {
            Some(r) => self.resolve_type(&r.ty),
            None => self.types.void,
        };
        self.check_signature(f, &kind, &params, ret);
        if domain == Domain::Ebpf {
            // Spec: large structs passed by value in eBPF cost stack twice.
            for (p, (_, ty, span)) in f.params.iter().zip(&params) {
                let size = self.types.size(*ty);
                let aggregate = matches!(
                    self.types.kind(*ty),
                    TypeKind::Struct(_) | TypeKind::Array(..) | TypeKind::Str(_)
                );
                if aggregate && size > 64 && !self.types.is_error(*ty) {
                    let shown = self.types.display(*ty);
                    // The spec says "warns": the stack analysis rejects real overflows.
                    let d = self.warning(
                        codes::STACK_NEAR,
                        *span,
                        format!("large struct ({size} bytes) passed by value in eBPF code"),
                    );
                    d.help = Some(format!("pass a pointer: `{}: *{shown}`", p.name.name));
                }
            }
        }
        let ret_name = f
            .ret
            .as_ref()
            .and_then(|r| r.name.as_ref())
            .map(|n| (n.name.clone(), n.span));
        let info = FnInfo {
            decl: Some(f),
            params,
            ret_name,
            prog_class,
        };
        // struct_ops members are named `<impl>_<member>` (two tables may
        // both fill `ssthresh`); `StructOps::members` keeps the member name.
        let fname = match in_impl {
            Some((ops, _)) => ast::Ident {
                name: format!(
                    "{}_{}",
                    self.impl_names
                        .get(ops as usize)
                        .cloned()
                        .unwrap_or_default(),
                    f.name.name
                ),
                span: f.name.span,
            },
            None => ast::Ident {
                name: self.ir_name(&f.name),
                span: f.name.span,
            },
        };
        let id = self.push_function(item, &fname, kind, domain, ret, info);
        if in_impl.is_none() {
            self.define(&f.name, Sym::Function(id));
            if self.key(&f.name) == "main" && domain == Domain::Userspace {
                self.main = Some(id);
            }
        }
        id
    }

    /// Add a function (body still empty) and what pass 2 needs of it.
    fn push_function(
        &mut self,
        item: &ast::Item,
        name: &ast::Ident,
        kind: FnKind,
        domain: Domain,
        ret: TypeId,
        info: FnInfo<'a>,
    ) -> FnId {
        let locals = info
            .params
            .iter()
            .map(|(n, t, s)| ir::Local {
                name: n.clone(),
                ty: *t,
                span: *s,
            })
            .collect();
        let span = item.span;
        self.functions.push(ir::Function {
            name: name.name.clone(),
            kind,
            domain,
            params: info.params.len() as u32,
            ret,
            ret_local: None,
            locals,
            body: ir::Block { stmts: vec![] },
            span,
        });
        self.name_spans.push(name.span);
        self.fn_info.push(info);
        FnId(self.functions.len() as u32 - 1)
    }

    fn check_signature(
        &mut self,
        f: &ast::FnDecl,
        kind: &FnKind,
        params: &[(String, TypeId, Span)],
        ret: TypeId,
    ) {
        let ret_span = f.ret.as_ref().map_or(f.name.span, |r| r.ty.span);
        let int_ret = |t: &Types| t.is_integer(ret);
        match kind {
            FnKind::Program(ProgramType::Xdp) => {
                self.expect_ctx(f, params, self.xdp_md, "*xdp_md");
                if !(ret == self.xdp_action || int_ret(&self.types)) {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "an `@xdp` program returns `xdp_action`",
                    )
                    .label = format!("found `{}`", self.types.display(ret));
                }
            }
            FnKind::Program(ProgramType::Tc { .. }) => {
                self.expect_ctx(f, params, self.sk_buff, "*__sk_buff");
                if !int_ret(&self.types) {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "a `@tc` program returns `i32` (a `TC_ACT_*` value)",
                    );
                }
            }
            FnKind::Program(ProgramType::Tracepoint { category, event }) => {
                if params.len() != 1
                    || !self.types.pointee(params[0].1).is_some_and(|p| {
                        self.types.struct_def(p).is_some() || self.types.is_error(p)
                    })
                {
                    self.error(codes::PROGRAM_SIGNATURE, f.name.span, "a `@tracepoint` program takes one parameter: `ctx: *trace_event_raw_<event>`");
                } else if !category.is_empty() {
                    self.check_tracepoint_context(f, category, event, &params[0]);
                }
                if !int_ret(&self.types) {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "a `@tracepoint` program returns `i32`",
                    );
                }
            }
            FnKind::Program(ProgramType::Lsm { hook }) => {
                if hook.is_empty() {
                    self.error(
                        codes::ATTRIBUTE_ARG,
                        f.name.span,
                        "`@lsm` needs the hook: `@lsm(\"file_open\")`",
                    );
                } else {
                    self.check_lsm_hook(f, hook, params);
                }
                if ret != self.types.i32_ {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "an `@lsm` program returns `i32` (0 allows, a negative errno denies)",
                    )
                    .label = format!("found `{}`", self.types.display(ret));
                }
            }
            FnKind::Program(ProgramType::PerfEvent) => {
                let ctx = self.perf_ctx_type();
                self.expect_ctx(f, params, ctx, "*bpf_perf_event_data");
                if !int_ret(&self.types) {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "a `@perf_event` program returns `i32`",
                    )
                    .label = format!("found `{}`", self.types.display(ret));
                }
            }
            FnKind::Program(ProgramType::Probe { function, offset }) => {
                // `fn h(ctx: *pt_regs)`: the one parameter is the context
                // itself (the registers), not the probed function's first
                // argument, at entry or at an offset.
                let regs_ctx = matches!(params, [(_, t, _)] if self.is_probe_regs_ptr(*t));
                if offset.is_none() && !function.is_empty() && !regs_ctx {
                    self.check_probe_target(f, function, params);
                }
                if ret != self.types.i32_ {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        ret_span,
                        "probe functions must return `i32`",
                    )
                    .label = format!("found `{}`", self.types.display(ret));
                }
                if params.len() > 6 {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        f.name.span,
                        "a probe takes at most 6 parameters (the argument registers)",
                    );
                }
                if offset.is_some() && !params.is_empty() && !regs_ctx {
                    self.error(
                        codes::PROGRAM_SIGNATURE,
                        f.params[0].span,
                        "a probe at an offset has no parameters",
                    )
                    .help = Some(
                        "only `@probe(\"function\")` at function entry sees the arguments".into(),
                    );
                }
            }
            FnKind::Userspace if f.name.name == "main" => {
                if !int_ret(&self.types) {
                    self.error(
                        codes::MAIN,
                        ret_span,
                        "`main` returns `i32` (the process exit status)",
                    );
                }
                match params {
                    [] => {}
                    [(_, t, s)] => {
                        match self.types.struct_def(*t).cloned() {
                            Some(def) => {
                                for field in &def.fields {
                                    let ok = matches!(
                                        self.types.kind(field.ty),
                                        TypeKind::Int(_)
                                            | TypeKind::Bool
                                            | TypeKind::Str(_)
                                            | TypeKind::Char
                                    );
                                    if !ok {
                                        self.error(codes::MAIN, *s, format!("command-line field `{}` has type `{}`", field.name, self.types.display(field.ty))).help =
                                        Some("`main(args)` fields must be integers, bools or `str(N)`".into());
                                    }
                                }
                            }
                            None if self.types.is_error(*t) => {}
                            None => {
                                self.error(codes::MAIN, *s, "`main` takes its command-line options as one struct: `main(args: Args)`");
                            }
                        }
                    }
                    _ => {
                        self.error(
                            codes::MAIN,
                            f.name.span,
                            "`main` takes no parameter or one struct of command-line options",
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// A tracepoint's context against the running kernel's BTF: the event
    /// exists (a `btf_trace_<event>` typedef; a warning otherwise, as the
    /// program may target another kernel), and the context is its
    /// `trace_event_raw_<event>` (`_sys_enter`/`_sys_exit` for syscalls);
    /// an event without a struct of its own takes its class's, unchecked.
    fn check_tracepoint_context(
        &mut self,
        f: &ast::FnDecl,
        category: &str,
        event: &str,
        (_, ty, span): &(String, TypeId, Span),
    ) {
        let Some(ctx) = self
            .types
            .pointee(*ty)
            .and_then(|p| self.types.struct_def(p))
            .map(|d| d.name.clone())
        else {
            return;
        };
        if !ctx.starts_with("trace_event_raw_") {
            return;
        }
        let Some(btf) = self.btf() else { return };
        let expected = if category == "syscalls" {
            if event.starts_with("sys_enter_") {
                Some("trace_event_raw_sys_enter".to_string())
            } else if event.starts_with("sys_exit_") {
                Some("trace_event_raw_sys_exit".to_string())
            } else {
                None
            }
        } else {
            let own = format!("trace_event_raw_{event}");
            btf.has_struct(&own).then_some(own)
        };
        let unknown = category != "syscalls"
            && !btf
                .typedefs_with_prefix(&format!("btf_trace_{event}"))
                .iter()
                .any(|t| t["btf_trace_".len()..] == *event);
        if unknown {
            let events: Vec<String> = btf
                .typedefs_with_prefix("btf_trace_")
                .into_iter()
                .map(|t| t["btf_trace_".len()..].to_string())
                .collect();
            let near = suggest(event, events.iter().map(String::as_str));
            let d = self.warning(
                codes::MAYBE_NOT_IN_KERNEL,
                f.name.span,
                format!("this kernel has no tracepoint `{category}/{event}`"),
            );
            d.help = Some(match near {
                Some(n) => format!("did you mean `{n}`? The program will fail to attach here"),
                None => "the program will fail to attach on this kernel".into(),
            });
            return;
        }
        if let Some(expected) = expected {
            if ctx != expected {
                self.error(
                    codes::PROGRAM_SIGNATURE,
                    *span,
                    format!("the context of `{category}/{event}` is `*{expected}`"),
                )
                .label = format!("declared `*{ctx}`");
            }
        }
    }

    /// The "not a kfunc" warnings of the `extern` functions eBPF code calls
    /// (after the bodies are lowered).
    pub(crate) fn report_not_kfuncs(&mut self) {
        let mut called = std::collections::HashSet::new();
        for f in self.functions.iter().filter(|f| f.domain == Domain::Ebpf) {
            f.body.walk_exprs(&mut |e| {
                if let ir::ExprKind::Call {
                    callee: ir::Callee::Function(g),
                    ..
                } = &e.kind
                {
                    called.insert(*g);
                }
            });
        }
        let names: std::collections::HashSet<&str> = called
            .iter()
            .filter_map(|g| self.functions.get(g.index()))
            .filter(|g| matches!(g.kind, FnKind::Extern { .. }))
            .map(|g| g.name.as_str())
            .collect();
        let pending = std::mem::take(&mut self.not_kfuncs);
        for (name, d) in pending {
            if names.contains(name.as_str()) {
                self.diags.push(d);
            }
        }
    }

    /// An `extern` kernel function against the running kernel's BTF: the
    /// parameters agree with its prototype in number and kind (pointer or
    /// integer), and so does the result. A function this BTF does not
    /// have is a warning (libbpf fails to resolve it when loading here).
    fn check_extern_signature(
        &mut self,
        e: &ast::ExternDecl,
        params: &[(String, TypeId, Span)],
        ret: TypeId,
    ) {
        use crate::btf::BtfType as B;
        if self.kfuncs.is_none() {
            let set = self.btf().map(|b| b.kfuncs().into_iter().collect());
            self.kfuncs = Some(set.unwrap_or_default());
        }
        // A renamed sched_ext kfunc is checked against the name this
        // kernel has: the eBPF C calls that one.
        let name = match ksc_ir::sched_ext::kfunc_renamed(&e.name.name) {
            Some((other, _))
                if self
                    .kfuncs
                    .as_ref()
                    .is_some_and(|k| !k.contains(&e.name.name) && k.contains(other)) =>
            {
                other.to_string()
            }
            _ => e.name.name.clone(),
        };
        let name = &name;
        let kfuncs = self.kfuncs.as_ref().map_or(0, |k| k.len());
        let is_kfunc = self.kfuncs.as_ref().is_some_and(|k| k.contains(name));
        let Some(btf) = self.btf() else { return };
        let found = btf.find_func(name);
        // Kernels that tag kfuncs (6.2+): another kernel function is not
        // callable (the verifier refuses it), and its BTF prototype is not
        // the one a program sees (BPF helpers are `BPF_CALL_x` wrappers).
        if kfuncs > 0 && !is_kfunc {
            let mut d = ksc_frontend::Diagnostic::warning(
                codes::MAYBE_NOT_IN_KERNEL,
                e.name.span,
                format!("`{name}` is not a kfunc of this kernel"),
            );
            d.help = Some(if found.is_some() {
                "the verifier refuses calls of kernel functions that are not kfuncs (tagged `bpf_kfunc` in BTF)".into()
            } else {
                "loading fails on this kernel: libbpf resolves `extern` functions against the kernel's BTF".into()
            });
            // Reported once the bodies show eBPF code calls it.
            self.not_kfuncs.push((name.clone(), d));
            return;
        }
        let Some((kparams, kret)) = found else {
            self.warning(codes::MAYBE_NOT_IN_KERNEL,
                e.name.span,
                format!("kernel function `{name}` is not in this kernel's BTF"),
            )
            .help = Some("loading fails on this kernel: libbpf resolves `extern` functions against the kernel's BTF".into());
            return;
        };
        let variadic = kparams.iter().any(|p| p.0 == "...");
        let kparams: Vec<(String, B)> = kparams.into_iter().filter(|p| p.0 != "...").collect();
        let names = kparams
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if params.len() != kparams.len() && !(variadic && params.len() > kparams.len()) {
            self.error(
                codes::KERNEL_DIFFERS,
                e.name.span,
                format!(
                    "the kernel's `{name}` takes {} parameter{}; this declares {}",
                    kparams.len(),
                    if kparams.len() == 1 { "" } else { "s" },
                    params.len()
                ),
            )
            .help = Some(format!("the kernel's parameters are ({names})"));
            return;
        }
        let kind_of = |t: &B| match t {
            B::Pointer(_) => Some("a pointer"),
            B::Int { .. } | B::Char | B::Bool | B::Enum { .. } => Some("an integer"),
            _ => None,
        };
        for ((pname, ty, span), (kname, kty)) in params.iter().zip(&kparams) {
            let ours = if self.types.pointee(*ty).is_some() {
                Some("a pointer")
            } else if self.types.is_integer(*ty)
                || matches!(self.types.kind(*ty), TypeKind::Bool | TypeKind::Char)
            {
                Some("an integer")
            } else {
                None
            };
            if let (Some(k), Some(o)) = (kind_of(kty), ours) {
                if k != o {
                    self.error(
                        codes::KERNEL_DIFFERS,
                        *span,
                        format!("parameter `{pname}` is {k} in the kernel (`{kname}` of `{name}`)"),
                    )
                    .label = format!("declared `{}`", self.types.display(*ty));
                }
            }
        }
        let ret_span = e.ret.as_ref().map_or(e.name.span, |r| r.span);
        let ours_void = matches!(self.types.kind(ret), TypeKind::Void);
        match (&kret, ours_void) {
            (B::Void, false) => {
                self.error(
                    codes::KERNEL_DIFFERS,
                    ret_span,
                    format!("the kernel's `{name}` returns nothing"),
                )
                .help = Some("drop the `-> T`".into());
            }
            (k, true) if !matches!(k, B::Void) => {
                // Ignoring a result is allowed: the declaration may omit it.
            }
            (k, false) => {
                let ours = if self.types.pointee(ret).is_some() {
                    Some("a pointer")
                } else if self.types.is_integer(ret)
                    || matches!(self.types.kind(ret), TypeKind::Bool | TypeKind::Char)
                {
                    Some("an integer")
                } else {
                    None
                };
                if let (Some(k), Some(o)) = (kind_of(k), ours) {
                    if k != o {
                        self.error(
                            codes::KERNEL_DIFFERS,
                            ret_span,
                            format!("the kernel's `{name}` returns {k}"),
                        )
                        .label = format!("declared `{}`", self.types.display(ret));
                    }
                }
            }
            _ => {}
        }
    }

    /// `@lsm("hook")` against the running kernel's BTF: the hook is one of
    /// the kernel's (`bpf_lsm_<hook>`), and the parameters agree with its
    /// prototype in number and kind; one more parameter, an integer, is
    /// the return value of the previous program on the hook.
    fn check_lsm_hook(&mut self, f: &ast::FnDecl, hook: &str, params: &[(String, TypeId, Span)]) {
        // The spec's form `fn f(ctx: LsmContext)`: one struct by value,
        // which no hook passes. Accepted, with a warning saying so.
        if let [(name, ty, span)] = params {
            if self.types.struct_def(*ty).is_some() {
                self.warning(codes::SIGNATURE_WARN,
                    *span,
                    format!("an LSM program receives the hook's arguments, not a struct: `{name}` holds nothing the kernel passed"),
                )
                .help = Some(format!(
                    "declare the hook's parameters instead (the kernel's `bpf_lsm_{hook}` prototype), pointers as `*u8`"
                ));
                return;
            }
        }
        let Some(btf) = self.btf() else { return };
        let Some((kparams, _)) = btf.find_func(&format!("bpf_lsm_{hook}")) else {
            let hooks: Vec<&str> = btf
                .func_names()
                .filter_map(|n| n.strip_prefix("bpf_lsm_"))
                .collect();
            let near = crate::checker::suggest(hook, hooks.iter().copied());
            // A warning, as for probes: the program may target another kernel.
            let d = self.warning(
                codes::MAYBE_NOT_IN_KERNEL,
                f.name.span,
                format!("`{hook}` is not an LSM hook of this kernel"),
            );
            d.label = "LSM hook".into();
            d.help = Some(match near {
                Some(h) => format!("did you mean `{h}`? (hooks are the kernel's `bpf_lsm_<hook>` functions)"),
                None => "the hooks are the kernel's `bpf_lsm_<hook>` functions in /sys/kernel/btf/vmlinux".into(),
            });
            return;
        };
        if params.len() > kparams.len() + 1 {
            self.error(codes::PROGRAM_SIGNATURE,
                f.params[kparams.len() + 1].span,
                format!(
                    "the LSM hook `{hook}` takes {} parameter{} (and the previous program's return value); this program declares {}",
                    kparams.len(),
                    if kparams.len() == 1 { "" } else { "s" },
                    params.len()
                ),
            )
            .help = Some(format!(
                "the hook's parameters are ({})",
                kparams.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join(", ")
            ));
            return;
        }
        let ret = (
            "ret".to_string(),
            crate::btf::BtfType::Int {
                name: "int".into(),
                bits: 32,
                signed: true,
            },
        );
        for ((name, ty, span), (kname, kty)) in params.iter().zip(kparams.iter().chain([&ret])) {
            if let Some(what) = self.kernel_kind_differs(*ty, kty) {
                self.error(codes::KERNEL_DIFFERS,
                    *span,
                    format!("parameter `{name}` is {what} in the kernel (`{kname}` of the LSM hook `{hook}`)"),
                )
                .label = format!("declared `{}`", self.types.display(*ty));
            }
        }
    }

    /// What the kernel's parameter is ("a pointer" or "an integer") when
    /// the declared type `ty` is not of that kind (LSM hooks and probes
    /// read their arguments as pointers or integers).
    fn kernel_kind_differs(&self, ty: TypeId, kty: &crate::btf::BtfType) -> Option<&'static str> {
        let kernel_ptr = matches!(kty, crate::btf::BtfType::Pointer(_));
        let ours_ptr = self.types.pointee(ty).is_some();
        let ours_int = self.types.is_integer(ty) || matches!(self.types.kind(ty), TypeKind::Bool);
        (kernel_ptr != ours_ptr || (!ours_ptr && !ours_int)).then_some(if kernel_ptr {
            "a pointer"
        } else {
            "an integer"
        })
    }

    /// `@probe("f")` against the running kernel's BTF: the function
    /// exists, and the parameters agree in number and kind.
    /// `*pt_regs`: a probe's context pointer.
    fn is_probe_regs_ptr(&self, t: TypeId) -> bool {
        match self.types.kind(t) {
            TypeKind::Pointer(inner) => matches!(
                self.types.kind(*inner),
                TypeKind::Struct(s) if s.origin == StructOrigin::ProbeRegs
            ),
            _ => false,
        }
    }

    fn check_probe_target(
        &mut self,
        f: &ast::FnDecl,
        function: &str,
        params: &[(String, TypeId, Span)],
    ) {
        let Some(btf) = self.btf() else { return };
        let Some((kparams, _)) = btf.find_func(function) else {
            let base = function.trim_start_matches("sys_");
            let candidates = [
                format!("ksys_{base}"),
                format!("do_sys_{base}"),
                format!("vfs_{base}"),
                format!("__x64_sys_{base}"),
            ];
            let hint = candidates.into_iter().find(|c| btf.find_func(c).is_some());
            // A warning, not an error: the program may target another kernel
            // (cross-compiling); it simply cannot attach on this one.
            let d = self.warning(
                codes::MAYBE_NOT_IN_KERNEL,
                f.name.span,
                format!("kernel function `{function}` is not in this kernel's BTF"),
            );
            d.label = "probe target".into();
            d.help = Some(match hint {
                Some(h) => format!("this kernel has `{h}`; the probe will fail to attach here"),
                None => "the probe will fail to attach on this kernel; functions are listed in /sys/kernel/btf/vmlinux".into(),
            });
            return;
        };
        let kparams: Vec<(String, crate::btf::BtfType)> =
            kparams.into_iter().filter(|p| p.0 != "...").collect();
        if params.len() > kparams.len() {
            self.error(
                codes::PROGRAM_SIGNATURE,
                f.params[kparams.len()].span,
                format!(
                    "`{function}` takes {} parameter{}; this probe declares {}",
                    kparams.len(),
                    if kparams.len() == 1 { "" } else { "s" },
                    params.len()
                ),
            )
            .help = Some(format!(
                "the kernel's parameters are ({})",
                kparams
                    .iter()
                    .map(|p| p.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        }
        for ((name, ty, span), (kname, kty)) in params.iter().zip(&kparams) {
            if let Some(what) = self.kernel_kind_differs(*ty, kty) {
                self.error(
                    codes::KERNEL_DIFFERS,
                    *span,
                    format!(
                        "parameter `{name}` is {what} in the kernel (`{kname}` of `{function}`)"
                    ),
                )
                .label = format!("declared `{}`", self.types.display(*ty));
            }
        }
    }

    fn expect_ctx(
        &mut self,
        f: &ast::FnDecl,
        params: &[(String, TypeId, Span)],
        ctx: TypeId,
        written: &str,
    ) {
        let ok = params.len() == 1 && self.types.pointee(params[0].1) == Some(ctx);
        if !ok {
            let span = f.params.first().map_or(f.name.span, |p| p.span);
            self.error(
                codes::PROGRAM_SIGNATURE,
                span,
                format!("this program takes one parameter: `ctx: {written}`"),
            );
        }
    }

    pub(crate) fn collect_extern(&mut self, item: &'a ast::Item, e: &'a ast::ExternDecl) {
        if let Some(b) = &e.body {
            self.error(codes::EXTERN, b.span, "an `extern` function cannot have a body").help =
                Some("`extern` declares a kernel function that exists already; write a `@kfunc` to define one".into());
        }
        let params: Vec<(String, TypeId, Span)> = e
            .params
            .iter()
            .map(|p| (p.name.name.clone(), self.resolve_type(&p.ty), p.name.span))
            .collect();
        let ret = match &e.ret {
            Some(t) => self.resolve_type(t),
            None => self.types.void,
        };
        let info = FnInfo {
            decl: None,
            params,
            ret_name: None,
            prog_class: None,
        };
        let helper = ksc_ir::helper_named(&e.name.name).map(|h| h.id);
        if helper.is_some() && !self.extern_matches_helper(e, &info.params, ret) {
            return;
        }
        if helper.is_none() && e.body.is_none() && !self.builtin_decl {
            self.check_extern_signature(e, &info.params, ret);
        }
        let id = self.push_function(
            item,
            &e.name,
            FnKind::Extern { helper },
            Domain::KernelModule,
            ret,
            info,
        );
        // `extern bpf_ktime_get_ns() -> u64` re-declares a helper: allowed
        // when the prototype is the helper's; otherwise a warning, and the
        // name keeps meaning the helper (docs/language.md, "Headers, kernel
        // structs and enums").
        if helper.is_some() {
            self.syms.insert(
                self.key(&e.name),
                SymInfo {
                    sym: Sym::Function(id),
                    span: Some(e.name.span),
                },
            );
        } else {
            self.define(&e.name, Sym::Function(id));
        }
    }

    /// An `extern` restating a BPF helper: the same number of parameters,
    /// each a pointer where the helper's is and an integer of its size
    /// elsewhere (the sign may differ), and so the result. A different
    /// prototype is a warning; calls then use the helper's.
    fn extern_matches_helper(
        &mut self,
        e: &ast::ExternDecl,
        params: &[(String, TypeId, Span)],
        ret: TypeId,
    ) -> bool {
        use ksc_ir::HelperType as H;
        let Some(h) = ksc_ir::helper_named(&e.name.name) else {
            return true;
        };
        let fits = |c: &Self, t: TypeId, ht: H| match ht {
            H::Ptr | H::PtrOrNull => c.types.pointee(t).is_some(),
            H::U32 | H::I32 => c.types.as_int(t).is_some_and(|i| i.bits() == 32),
            H::U64 => c.types.as_int(t).is_some_and(|i| i.bits() == 64),
        };
        let count_ok =
            params.len() == h.params.len() || (h.variadic && params.len() > h.params.len());
        let ok = count_ok
            && params
                .iter()
                .zip(h.params)
                .all(|(p, ht)| fits(self, p.1, *ht))
            && fits(self, ret, h.ret);
        if !ok {
            let show = |ht: &H| match ht {
                H::Ptr | H::PtrOrNull => "*void",
                H::U32 => "u32",
                H::U64 => "u64",
                H::I32 => "i32",
            };
            let mut ps: Vec<&str> = h.params.iter().map(show).collect();
            if h.variadic {
                ps.push("...");
            }
            let d = self.warning(
                codes::KERNEL_DIFFERS_WARN,
                e.name.span,
                format!(
                    "this `extern {}` differs from the BPF helper of that name, which ksc calls",
                    h.name
                ),
            );
            d.label = "restates a BPF helper".into();
            d.help = Some(format!(
                "the helper is `{}({}) -> {}`; declare it so, or leave the declaration out",
                h.name,
                ps.join(", "),
                show(&h.ret)
            ));
        }
        ok
    }

    pub(crate) fn collect_impl(&mut self, item: &'a ast::Item, i: &'a ast::ImplDecl) {
        let ops_type = match item.attrs.iter().find(|a| a.name.name == "struct_ops") {
            Some(a) => self.attr_string(a).unwrap_or_default(),
            None => {
                self.error(
                    codes::STRUCT_OPS,
                    i.name.span,
                    "an `impl` block needs `@struct_ops(\"kernel_ops_type\")`",
                );
                String::new()
            }
        };
        let index = self.struct_ops.len() as u32;
        self.impl_names.push(self.ir_name(&i.name));
        // The program's own declaration of the ops struct, if any: eBPF
        // code uses the kernel's.
        let ops_name = ast::Ident {
            name: ops_type.clone(),
            span: i.name.span,
        };
        if let Some(Sym::Type(t)) = self.lookup_sym(&ops_name) {
            if self
                .types
                .struct_def(t)
                .is_some_and(|s| s.origin == StructOrigin::User)
            {
                self.types.set_origin(t, StructOrigin::StructOpsType);
            }
        }
        // The kernel's struct: members are checked against it (BTF).
        let layout = if ops_type.is_empty() {
            None
        } else {
            match self.btf().map(|b| b.find_struct(&ops_type)) {
                Some(Some(l)) => Some(l),
                Some(None) => {
                    // Warning: e.g. `sched_ext_ops` exists only on newer kernels
                    // than the build machine's; members go unchecked.
                    let d = self.warning(
                        codes::MAYBE_NOT_IN_KERNEL,
                        i.name.span,
                        format!("kernel struct `{ops_type}` is not in this kernel's BTF"),
                    );
                    d.help = Some(if ops_type == "sched_ext_ops" {
                        "this kernel has no sched_ext (built without CONFIG_SCHED_CLASS_EXT): members are not checked, and registering fails here; check against the kernel the scheduler will run on with `--btf FILE`, its raw BTF (its /sys/kernel/btf/vmlinux) or vmlinux".into()
                    } else {
                        "members are not checked, and registering fails on this kernel; `--btf FILE` checks against another kernel's BTF".into()
                    });
                    None
                }
                None => None,
            }
        };
        let member_of = |name: &str| {
            layout
                .as_ref()
                .and_then(|l| l.fields.iter().find(|f| f.name == name).cloned())
        };
        let mut members = Vec::new();
        let mut fields = Vec::new();
        for m in &i.members {
            match m {
                ast::ImplMember::Fn(fi) => {
                    if let ItemKind::Fn(f) = &fi.kind {
                        if layout.is_some()
                            && !matches!(
                                member_of(&f.name.name).map(|m| m.ty),
                                Some(crate::btf::BtfType::Pointer(_))
                            )
                        {
                            self.error(
                                codes::STRUCT_OPS,
                                f.name.span,
                                format!("`{ops_type}` has no function member `{}`", f.name.name),
                            );
                        }
                        let id = self.collect_fn(fi, f, Some((index, &ops_type)));
                        members.push(ir::StructOpsMember {
                            field: f.name.name.clone(),
                            function: id,
                        });
                    }
                }
                ast::ImplMember::Field { name, value, .. } => {
                    let size = match (&layout, member_of(&name.name)) {
                        (Some(_), Some(m)) => btf_size(&m.ty),
                        (Some(_), None) => {
                            self.error(
                                codes::STRUCT_OPS,
                                name.span,
                                format!("`{ops_type}` has no member `{}`", name.name),
                            );
                            continue;
                        }
                        // Without the kernel's struct: sched_ext_ops's are
                        // known (ksc_ir::sched_ext); others are taken as 8.
                        (None, _) => known_size(&ops_type, &name.name).unwrap_or(8),
                    };
                    if let Some((v, _)) = self.const_eval(value) {
                        // A string member (`name`) is a char array with its NUL.
                        let known = layout.is_some() || known_size(&ops_type, &name.name).is_some();
                        if let (Value::Str(text), true) = (&v, known) {
                            if text.len() >= size as usize {
                                self.error(
                                    codes::STRUCT_OPS,
                                    value.span,
                                    format!(
                                        "`{}` holds at most {} characters; this has {}",
                                        name.name,
                                        size.saturating_sub(1),
                                        text.len()
                                    ),
                                )
                                .help = Some(
                                    "the kernel rejects a longer name when the table is registered"
                                        .into(),
                                );
                            }
                        }
                        fields.push(ir::StructOpsField {
                            name: name.name.clone(),
                            value: v,
                            size,
                        });
                    }
                }
            }
        }
        // A table needs its name (tcp_congestion_ops does): the impl's name.
        if !fields.iter().any(|f| f.name == "name") {
            let size = match &layout {
                Some(_) => member_of("name").map(|m| btf_size(&m.ty)),
                None => known_size(&ops_type, "name"),
            };
            if let Some(size) = size {
                let mut default = i.name.name.clone();
                let max = (size as usize).saturating_sub(1);
                if default.len() > max {
                    // The spec's examples use long impl names: cut, and say so.
                    default.truncate(max);
                    self.warning(codes::STRUCT_OPS_WARN,
                        i.name.span,
                        format!("the table is registered as `{default}`: `{ops_type}.name` holds {max} characters"),
                    )
                    .help = Some("choose the name with `name: \"...\",` in the impl".into());
                }
                fields.push(ir::StructOpsField {
                    name: "name".into(),
                    value: Value::Str(default),
                    size,
                });
            }
        }
        let span = item.span;
        self.struct_ops.push(ir::StructOps {
            name: self.ir_name(&i.name),
            ops_type,
            members,
            fields,
            span,
        });
        self.define(&i.name, Sym::StructOps(index));
    }
}

/// A data member's size in a struct_ops table ksc knows without BTF
/// (`sched_ext_ops`).
fn known_size(ops_type: &str, field: &str) -> Option<u32> {
    if ops_type != "sched_ext_ops" {
        return None;
    }
    ksc_ir::sched_ext::SCHED_EXT_OPS_FIELDS
        .iter()
        .find(|(n, _)| *n == field)
        .map(|&(_, s)| s)
}
