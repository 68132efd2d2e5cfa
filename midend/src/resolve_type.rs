//! Type resolution: written types (`u32`, `*Name`, `[T; N]`, `str(N)`,
//! function types, aliases) to interned [`TypeId`]s of the type table.
//!
//! Takes AST types; gives type ids, reporting unknown names with a
//! suggestion. Kernel structs not declared in the file come from BTF
//! (`btf_types`).

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_ir::{IntType, TypeId};

use crate::checker::{suggest, Checker, Eval, Sym};

impl<'a> Checker<'a> {
    pub(crate) fn alias_type(&mut self, i: usize) -> TypeId {
        match self.aliases[i].state {
            Eval::Done => return self.aliases[i].ty,
            Eval::Busy => {
                let d = self.aliases[i].decl;
                self.error(
                    codes::CYCLIC,
                    d.name.span,
                    format!("type alias `{}` refers to itself", d.name.name),
                );
                return self.types.error;
            }
            Eval::Todo => {}
        }
        self.aliases[i].state = Eval::Busy;
        let decl = self.aliases[i].decl;
        let ty = self.resolve_type(&decl.ty);
        self.aliases[i].state = Eval::Done;
        self.aliases[i].ty = ty;
        ty
    }

    /// `struct bpf_spin_lock` of `include/uapi/linux/bpf.h`: four bytes,
    /// opaque (the verifier refuses direct reads and writes of it).
    pub(crate) fn spin_lock_type(&mut self) -> TypeId {
        if let Some(t) = self.spin_lock {
            return t;
        }
        let t = self
            .types
            .opaque_struct("bpf_spin_lock", 4, 4, ksc_ir::StructOrigin::Uapi);
        self.spin_lock = Some(t);
        t
    }

    /// The context of `@perf_event` programs, made at its first use (so
    /// other programs keep their type numbering). The kernel's struct
    /// (linux/bpf_perf_event.h): `regs` (the sampled registers, opaque
    /// here, as for probes) then the two counters' fields, read by name
    /// (CO-RE).
    pub(crate) fn perf_ctx_type(&mut self) -> TypeId {
        if let Some(t) = self.perf_ctx {
            return t;
        }
        let u64_ = self.types.u64_;
        let t = self.types.kernel_struct(
            "bpf_perf_event_data",
            vec![
                ("sample_period".into(), u64_, 168),
                ("addr".into(), u64_, 176),
            ],
            184,
            ksc_ir::StructOrigin::Kernel,
        );
        self.perf_ctx = Some(t);
        t
    }

    pub(crate) fn named_type(&mut self, id: &ast::Ident) -> TypeId {
        match self.lookup_sym(id) {
            Some(Sym::Type(t)) => t,
            Some(Sym::Alias(i)) => self.alias_type(i),
            Some(_) => {
                self.error(
                    codes::WRONG_KIND,
                    id.span,
                    format!("`{}` is not a type", id.name),
                );
                self.types.error
            }
            // The kernel's lock for map values (docs/language.md, "Spin
            // locks"): a type here, the helper of the same name in a call.
            None if id.name == "bpf_spin_lock" => self.spin_lock_type(),
            None if id.name == "bpf_perf_event_data" => self.perf_ctx_type(),
            None if ksc_ir::TraceStruct::try_from(id.name.as_str()).is_ok_and(|t| t.is_raw())
                || self.btf_has(&id.name) =>
            {
                self.btf_struct(id)
            }
            None => {
                let mut cands: Vec<String> = self
                    .names_in_scope(id.span)
                    .into_iter()
                    .filter(|(_, s)| matches!(s, Sym::Type(_) | Sym::Alias(_)))
                    .map(|(n, _)| n.to_string())
                    .collect();
                cands.extend(
                    [
                        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool", "char",
                        "void", "size_t",
                    ]
                    .map(String::from),
                );
                let hint = suggest(&id.name, cands.iter().map(|s| s.as_str()));
                let d = self.error(
                    codes::NOT_FOUND,
                    id.span,
                    format!("cannot find type `{}`", id.name),
                );
                d.label = "not a known type".into();
                if let Some(h) = hint {
                    d.help = Some(format!("a similar type exists: `{h}`"));
                }
                self.types.error
            }
        }
    }

    pub(crate) fn resolve_type(&mut self, t: &ast::Type) -> TypeId {
        use ast::TypeKind as T;
        match &t.kind {
            T::Prim(p) => {
                use ast::PrimType::*;
                match p {
                    U8 => self.types.u8_,
                    U16 => self.types.u16_,
                    U32 => self.types.u32_,
                    U64 | SizeT => self.types.u64_,
                    I8 => self.types.int(IntType::I8),
                    I16 => self.types.int(IntType::I16),
                    I32 => self.types.i32_,
                    I64 => self.types.i64_,
                    Bool => self.types.bool_,
                    Char => self.types.char_,
                    Void => self.types.void,
                }
            }
            T::Named(id) => match id.name.as_str() {
                "FunctionRef" | "ProgramRef" => self.types.program_ref(),
                "ProgramHandle" => self.types.program_handle(),
                "PerfAttachment" => self.types.perf_attachment(),
                "string" => self.types.str_(256),
                _ => self.named_type(id),
            },
            T::Str(len) => match self.array_len(len) {
                Some(0) | None => self.types.error,
                Some(n) => self.types.str_(n),
            },
            T::Pointer(inner) => {
                let i = self.resolve_type(inner);
                self.types.ptr(i)
            }
            T::Array(elem, len) => {
                let e = self.resolve_type(elem);
                match len {
                    Some(l) => match self.array_len(l) {
                        Some(n) => self.types.array(e, n),
                        None => self.types.error,
                    },
                    None => self.types.slice(e),
                }
            }
            T::Function(f) => {
                let params: Vec<TypeId> =
                    f.params.iter().map(|p| self.resolve_type(&p.ty)).collect();
                let ret = match &f.ret {
                    Some(r) => self.resolve_type(&r.ty),
                    None => self.types.void,
                };
                self.types.func(params, ret)
            }
            T::Error => self.types.error,
        }
    }

    fn array_len(&mut self, len: &ast::ArrayLen) -> Option<u32> {
        let (n, span) = match len {
            ast::ArrayLen::Lit(n, s) => (Some(*n as i128), *s),
            ast::ArrayLen::Const(id) => (self.const_int(id), id.span),
        };
        match n {
            Some(n) if n > 0 && n <= (1 << 24) => Some(n as u32),
            Some(n) => {
                self.error(
                    codes::OUT_OF_RANGE,
                    span,
                    format!("length {n} is out of range"),
                )
                .help = Some("lengths are 1 to 16777216".into());
                None
            }
            None => None,
        }
    }
}
