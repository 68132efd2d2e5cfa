//! Declarations against the running kernel's BTF: `extern` kernel
//! functions (kfuncs) and `extern`s restating BPF helpers, `@lsm` hooks,
//! `@probe` targets and tracepoint contexts agree with the kernel's
//! prototypes; the "not a kfunc" warnings of the externs eBPF code calls.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Domain, FnKind, StructOrigin, TraceStruct, TypeId, TypeKind};

use crate::checker::{suggest, Checker};

impl<'a> Checker<'a> {
    /// A tracepoint's context against the running kernel's BTF: the event
    /// exists (a `btf_trace_<event>` typedef; a warning otherwise, as the
    /// program may target another kernel), and the context is its
    /// `trace_event_raw_<event>` (`_sys_enter`/`_sys_exit` for syscalls);
    /// an event without a struct of its own takes its class's, unchecked.
    pub(super) fn check_tracepoint_context(
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
        if !TraceStruct::try_from(ctx.as_str()).is_ok_and(|t| t.is_raw()) {
            return;
        }
        let Some(btf) = self.btf() else { return };
        let expected = if category == "syscalls" {
            if event.starts_with("sys_enter_") {
                Some(TraceStruct::Raw { class: "sys_enter" }.name())
            } else if event.starts_with("sys_exit_") {
                Some(TraceStruct::Raw { class: "sys_exit" }.name())
            } else {
                None
            }
        } else {
            let own = TraceStruct::Raw { class: event }.name();
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
    pub(super) fn check_extern_signature(
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
    pub(super) fn check_lsm_hook(
        &mut self,
        f: &ast::FnDecl,
        hook: &str,
        params: &[(String, TypeId, Span)],
    ) {
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
    pub(super) fn kernel_kind_differs(
        &self,
        ty: TypeId,
        kty: &crate::btf::BtfType,
    ) -> Option<&'static str> {
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
    pub(super) fn is_probe_regs_ptr(&self, t: TypeId) -> bool {
        match self.types.kind(t) {
            TypeKind::Pointer(inner) => matches!(
                self.types.kind(*inner),
                TypeKind::Struct(s) if s.origin == StructOrigin::ProbeRegs
            ),
            _ => false,
        }
    }

    pub(super) fn check_probe_target(
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

    /// An `extern` restating a BPF helper: the same number of parameters,
    /// each a pointer where the helper's is and an integer of its size
    /// elsewhere (the sign may differ), and so the result. A different
    /// prototype is a warning; calls then use the helper's.
    pub(super) fn extern_matches_helper(
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
}
