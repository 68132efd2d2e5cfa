//! Collection of functions: kind and execution domain from attributes
//! (`@xdp`, `@tc("ingress")`, `@probe("f")`, `@helper`, `@kfunc`, ...),
//! parameter and return types, the signature each program kind requires,
//! and `extern` declarations. Checks against the kernel's BTF are in
//! `kernel_sig`; `@struct_ops` impl blocks in `struct_ops`.
//!
//! Takes function and extern items; gives `Checker::functions` (bodies
//! still empty), `fn_info` (what lowering needs: the declaration, named
//! return value, program class) and `main`.

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Domain, FnId, FnKind, ProgramKind, ProgramType, TypeId, TypeKind};

use crate::checker::{suggest, Checker, FnInfo, Sym, SymInfo};
use crate::types::Types;

impl<'a> Checker<'a> {
    pub(super) fn attr_string(&mut self, a: &ast::Attribute) -> Option<String> {
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

    /// Kind and domain of a function from its attributes. A program
    /// attribute is parsed by ir (`ProgramKind`, `ProgramType::from_attribute`);
    /// its typed errors become diagnostics here.
    fn fn_kind(
        &mut self,
        item: &ast::Item,
        f_name: &ast::Ident,
        in_impl: Option<(u32, &str)>,
    ) -> FnKind {
        if let Some((ops, _)) = in_impl {
            return FnKind::Program(ProgramType::struct_ops(ir::StructOpsId(ops), &f_name.name));
        }
        let mut kind: Option<FnKind> = None;
        for a in &item.attrs {
            let name = a.name.name.as_str();
            let arg = self.attr_string(a);
            let k = match (name, name.parse::<ProgramKind>()) {
                ("helper", _) => FnKind::Helper,
                ("kfunc", _) => FnKind::Kfunc,
                ("private", _) => FnKind::Private,
                ("test", _) => FnKind::Test,
                (_, Ok(pk)) => match ProgramType::from_attribute(pk, arg.as_deref()) {
                    Ok(t) => FnKind::Program(t),
                    Err(e) => {
                        let code = match e {
                            ir::ProgramTypeError::StructOpsOnFunction => codes::STRUCT_OPS,
                            _ => codes::ATTRIBUTE_ARG,
                        };
                        self.error(code, a.span, e.to_string()).help = e.help().map(String::from);
                        match e.recovered() {
                            Some(t) => FnKind::Program(t),
                            None => continue,
                        }
                    }
                },
                (other, Err(_)) => {
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
        kind.unwrap_or(FnKind::Userspace)
    }

    pub(crate) fn collect_fn(
        &mut self,
        item: &'a ast::Item,
        f: &'a ast::FnDecl,
        in_impl: Option<(u32, &str)>,
    ) -> FnId {
        let kind = self.fn_kind(item, &f.name, in_impl);
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
}
