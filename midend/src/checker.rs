//! The checker's shared state, used by every pass from collection to
//! lowering: the symbol table, the type table, the IR tables being filled,
//! what pass 1 learnt of each function, and the diagnostics.
//!
//! Each pass adds its own `impl Checker` block in its own module
//! (`collect`, `consteval`, `resolve_type`, `btf_types`, `lower`); this
//! module holds the struct, its constructor (built-in types, constants and
//! enum variants), symbol definition, the helpers every pass reports with
//! (`error`, `warning`), and [`suggest`] (the "a similar name exists" hint).

use ksc_frontend::diag::{codes, Code};
use std::collections::HashMap;

use ksc_frontend::ast;
use ksc_frontend::{Diagnostic, Span};
use ksc_ir as ir;
use ksc_ir::{FnId, IntType, TypeId, Value};

use crate::builtins;
pub(crate) use crate::suggest::suggest;
use crate::types::Types;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Sym {
    Type(TypeId),
    Alias(usize),
    Const(usize),
    EnumVariant(TypeId, i64),
    BuiltinConst(i64, TypeId),
    Map(ir::MapId),
    Global(ir::GlobalId),
    Config(ir::ConfigId),
    Function(FnId),
    StructOps(u32),
    Import,
    /// `import m from "x.py"` (crate::python).
    PyModule(ir::PyModuleId),
}

pub(crate) struct SymInfo {
    pub(crate) sym: Sym,
    /// Where it was defined (`None` for built-ins).
    pub(crate) span: Option<Span>,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Eval {
    Todo,
    Busy,
    Done,
}

pub(crate) struct ConstEntry<'a> {
    pub(crate) decl: &'a ast::ConstDecl,
    pub(crate) state: Eval,
    pub(crate) value: Option<(Value, TypeId)>,
}

pub(crate) struct AliasEntry<'a> {
    pub(crate) decl: &'a ast::TypeAlias,
    pub(crate) state: Eval,
    pub(crate) ty: TypeId,
}

/// What pass 1 knows of a function.
pub(crate) struct FnInfo<'a> {
    pub(crate) decl: Option<&'a ast::FnDecl>,
    pub(crate) params: Vec<(String, TypeId, Span)>,
    pub(crate) ret_name: Option<(String, Span)>,
}

pub(crate) struct Checker<'a> {
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) types: Types,
    pub(crate) syms: HashMap<String, SymInfo>,
    pub(crate) consts: Vec<ConstEntry<'a>>,
    pub(crate) aliases: Vec<AliasEntry<'a>>,
    /// Every function's name, known before globals are evaluated (for
    /// the message when one initialises a global).
    pub(crate) fn_names: std::collections::HashSet<String>,
    pub(crate) maps: Vec<ir::Map>,
    pub(crate) globals: Vec<ir::Global>,
    pub(crate) configs: Vec<ir::Config>,
    pub(crate) functions: Vec<ir::Function>,
    pub(crate) fn_info: Vec<FnInfo<'a>>,
    pub(crate) struct_ops: Vec<ir::StructOps>,
    /// Tail-call targets by slot, numbered as lowering meets them;
    /// validation hands them on in the analysis record.
    pub(crate) tail_call_slots: Vec<FnId>,
    pub(crate) main: Option<FnId>,
    /// Where each function's name is (for whole-function diagnostics).
    pub(crate) name_spans: Vec<Span>,
    /// eBPF functions with a local larger than the stack (already reported).
    pub(crate) oversized: std::collections::HashSet<FnId>,
    pub(crate) xdp_md: TypeId,
    pub(crate) sk_buff: TypeId,
    pub(crate) xdp_action: TypeId,
    /// The kernel's `struct bpf_spin_lock`, made at its first use (so
    /// programs without it keep their type numbering).
    pub(crate) spin_lock: Option<TypeId>,
    /// `bpf_perf_event_data`, likewise made at its first use.
    pub(crate) perf_ctx: Option<TypeId>,
    /// The kernel BTF the checks read: given by the caller
    /// ([`crate::CheckOptions::btf`]), else [`crate::btf::Btf::for_checks`]'s,
    /// loaded at the first need. `Err` says why there is none.
    pub(crate) btf: Option<Result<&'a crate::btf::Btf, String>>,
    /// The user chose a kernel (`--kernel`): checks of what the kernel
    /// has are [`crate::kernels::check_target`]'s, against that kernel,
    /// not the running kernel's.
    pub(crate) kernel_chosen: bool,
    /// Kernel structs already made from BTF, by name.
    pub(crate) btf_types: HashMap<String, TypeId>,
    /// Kernel structs met through pointers, their fields not yet read.
    pub(crate) btf_lazy: HashMap<TypeId, String>,
    /// Names of `impl` blocks, by struct_ops index.
    pub(crate) impl_names: Vec<String>,
    /// The namespace of each source file, by [`ksc_frontend::FileId`]
    /// (docs/language.md, "Several files"). A name is found by its
    /// identifier's file, so no pass needs to track which module it is in.
    pub(crate) scopes: Vec<crate::imports::Scope>,
    /// Imported Python modules (crate::python).
    pub(crate) py: crate::python::PyState<'a>,
    /// Names in the generated C, with the key and place of what has each
    /// (a header's declarations keep their names, so a main file that does
    /// not include the header could clash with them).
    pub(crate) c_names: HashMap<String, (String, Span)>,
    /// Pointer parameters (function, index) that every call passes a
    /// pointer known not to be null (docs/language.md, null safety).
    pub(crate) nonnull_params: std::collections::HashSet<(FnId, u32)>,
    /// Pointer parameters some call passes a maybe-null pointer (found
    /// while the null analysis runs).
    pub(crate) null_args: std::collections::HashSet<(FnId, u32)>,
    /// Ring buffers some `rb.on_event(f)` registers a handler for, and
    /// each ring buffer passed to `dispatch` with its argument's place
    /// (checked once every body is lowered: docs/language.md, "Ring-buffer
    /// callbacks, `dispatch` and `daemon`").
    pub(crate) ring_handlers: std::collections::HashSet<ksc_ir::MapId>,
    pub(crate) ring_dispatches: Vec<(ksc_ir::MapId, Span)>,
    /// Calls that pass packet pointers, by the function called: each is
    /// checked again as that call gives it (crate::valid::flow).
    pub(crate) pkt_sites: HashMap<FnId, Vec<PktSite>>,
    /// The kfuncs of the kernel's BTF, read on the first `extern`.
    pub(crate) kfuncs: Option<std::collections::HashSet<String>>,
    /// "not a kfunc" warnings of `extern` functions, by name: reported
    /// only for those eBPF code calls (kernel-module code may call any
    /// function the kernel exports to modules; kmod-c checks those).
    pub(crate) not_kfuncs: Vec<(String, ksc_frontend::Diagnostic)>,
    /// Collecting ksc's own `extern`s (sched_ext's kfuncs), which are not
    /// checked against BTF as a program's are.
    pub(crate) builtin_decl: bool,
    /// The functions ksc declared itself (sched_ext's kfuncs).
    pub(crate) builtin_fns: std::collections::HashSet<FnId>,
    /// The source files' texts by `FileId`, for quoting the user's own
    /// code in a `help:` line.
    pub(crate) texts: Vec<String>,
    /// Functions never called by name nor used as a value (their pointer
    /// parameters have no caller vouching for them).
    pub(crate) uncalled: std::collections::HashSet<FnId>,
    /// Struct declarations that restate a built-in or kernel struct
    /// (collect/restate.rs): checked once every type is known.
    pub(crate) restated: Vec<(&'a ast::StructDecl, Restated)>,
}

/// What a struct declaration restates.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Restated {
    /// A built-in struct (the type ksc uses): differences are warnings.
    Builtin(TypeId),
    /// A struct of the kernel's BTF declared in a header: differences
    /// are errors.
    Kernel,
}

/// A call that passes packet pointers (or `data_end`) to a function: the
/// callee's reads through them are checked against what the caller proved
/// (the verifier follows the pointers into the call).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PktSite {
    /// The call.
    pub(crate) span: ir::Span,
    /// Bytes from the packet's start the caller proved in the packet.
    pub(crate) checked: i64,
    /// Parameters given packet pointers, with their offsets.
    pub(crate) params: Vec<(u32, i64)>,
    /// Parameters given `data_end`.
    pub(crate) ends: Vec<u32>,
}

/// Bytes of packet a `@test` context carries: the headers a test feeds
/// (small enough for the eBPF stack, should a helper declare one).
pub(crate) const TEST_PACKET_BYTES: u32 = 128;

impl<'a> Checker<'a> {
    pub(crate) fn new() -> Checker<'a> {
        let mut types = Types::new();
        let xdp_md = builtins::xdp_md(&mut types);
        let sk_buff = builtins::sk_buff(&mut types);
        let pt_regs = builtins::pt_regs(&mut types);
        let xdp_action = types.new_enum(
            "xdp_action",
            IntType::U32,
            builtins::XDP_ACTIONS
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
            true,
        );
        let mut c = Checker {
            diags: Vec::new(),
            types,
            syms: HashMap::new(),
            consts: Vec::new(),
            aliases: Vec::new(),
            fn_names: Default::default(),
            maps: Vec::new(),
            globals: Vec::new(),
            configs: Vec::new(),
            functions: Vec::new(),
            fn_info: Vec::new(),
            struct_ops: Vec::new(),
            tail_call_slots: Vec::new(),
            main: None,
            name_spans: Vec::new(),
            oversized: Default::default(),
            xdp_md,
            sk_buff,
            xdp_action,
            spin_lock: None,
            perf_ctx: None,
            btf: None,
            kernel_chosen: false,
            btf_types: HashMap::new(),
            btf_lazy: HashMap::new(),
            impl_names: Vec::new(),
            scopes: Vec::new(),
            py: Default::default(),
            c_names: HashMap::new(),
            nonnull_params: Default::default(),
            null_args: Default::default(),
            ring_handlers: Default::default(),
            ring_dispatches: Vec::new(),
            pkt_sites: Default::default(),
            kfuncs: None,
            not_kfuncs: Vec::new(),
            builtin_decl: false,
            builtin_fns: std::collections::HashSet::new(),
            texts: Vec::new(),
            uncalled: Default::default(),
            restated: Vec::new(),
        };
        // The context `test()` runs an XDP program with (spec: testing).
        let u32_ = c.types.u32_;
        // `packet`: the packet's first bytes (the rest, up to
        // `packet_size`, are zero), so a test can feed a real packet.
        let u8_ = c.types.u8_;
        let packet = c.types.array(u8_, TEST_PACKET_BYTES);
        let test_ctx = c.types.new_struct(
            "XdpTestContext",
            vec![
                ("packet_size".into(), u32_),
                ("interface_id".into(), u32_),
                ("expected_action".into(), u32_),
                ("packet".into(), packet),
            ],
            ksc_ir::StructOrigin::TestHarness,
        );
        for (name, ty) in [
            ("XdpTestContext", test_ctx),
            // The same context for TC programs, by a TC name.
            ("TcTestContext", test_ctx),
            ("xdp_md", xdp_md),
            ("__sk_buff", sk_buff),
            ("pt_regs", pt_regs),
            ("xdp_action", xdp_action),
            // `perf_options.perf_type`'s type, as the reference names it.
            ("perf_type", u32_),
        ] {
            c.syms.insert(
                name.into(),
                SymInfo {
                    sym: Sym::Type(ty),
                    span: None,
                },
            );
        }
        for (name, v) in builtins::XDP_ACTIONS {
            c.syms.insert(
                name.to_string(),
                SymInfo {
                    sym: Sym::EnumVariant(xdp_action, *v),
                    span: None,
                },
            );
        }
        for (name, v, it) in builtins::constants() {
            let ty = c.types.int(it);
            c.syms.insert(
                name.into(),
                SymInfo {
                    sym: Sym::BuiltinConst(v, ty),
                    span: None,
                },
            );
        }
        c
    }

    pub(crate) fn error(
        &mut self,
        code: Code,
        span: Span,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, span, msg));
        self.diags.last_mut().unwrap()
    }

    /// The `help:` for integer `n` that does not fit in `it` (shown as
    /// `shown`, an alias's name perhaps): the range, the smallest type that
    /// holds it and, for a dotted-quad written without dots
    /// (`192168001001`), the IPv4 address it probably means.
    pub(crate) fn int_fit_help(&self, n: i128, it: IntType, shown: &str) -> String {
        let (lo, hi) = it.range();
        let wider = [
            IntType::U8,
            IntType::U16,
            IntType::U32,
            IntType::U64,
            IntType::I8,
            IntType::I16,
            IntType::I32,
            IntType::I64,
        ]
        .into_iter()
        .filter(|w| w.signed() == (it.signed() || n < 0))
        .find(|w| w.range().0 <= n && n <= w.range().1);
        let mut help = format!("a `{shown}` holds {lo}..={hi}");
        if let Some(w) = wider {
            help += &format!("; a value this large needs a `{}`", w.name());
        }
        let digits = n.to_string();
        if digits.len() == 12 {
            let parts: Vec<u32> = (0..4)
                .filter_map(|i| digits[i * 3..i * 3 + 3].parse().ok())
                .collect();
            if parts.iter().all(|p| *p <= 255) {
                let ip = parts.iter().fold(0u64, |a, p| a << 8 | *p as u64);
                help += &format!(
                    "; if this is the IPv4 address {}.{}.{}.{}, write it as `0x{ip:08X}` ({ip})",
                    parts[0], parts[1], parts[2], parts[3]
                );
            }
        }
        help
    }

    /// The source text of `span` when it is short and on one line, to
    /// quote in a `help:` (`t as u32`); parenthesised unless it is a
    /// name, a field, a call or a literal.
    pub(crate) fn quote(&self, span: Span) -> Option<String> {
        let text = self
            .texts
            .get(span.file.index())?
            .get(span.start as usize..span.end as usize)?
            .trim();
        if text.is_empty() || text.len() > 40 || text.contains('\n') {
            return None;
        }
        let word = |s: &str| {
            !s.is_empty()
                && s.replace("->", ".")
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        };
        // `f(a, b)`: a name, then one parenthesised group to the end.
        let call = text.find('(').is_some_and(|i| {
            let mut depth = 0i32;
            word(&text[..i])
                && text[i..].char_indices().all(|(j, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth > 0 || i + j == text.len() - 1
                })
        });
        let simple = word(text) || call;
        Some(if simple {
            text.to_string()
        } else {
            format!("({text})")
        })
    }

    pub(crate) fn warning(
        &mut self,
        code: Code,
        span: Span,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(code, span, msg));
        self.diags.last_mut().unwrap()
    }

    fn scope(&self, span: Span) -> Option<&crate::imports::Scope> {
        self.scopes.get(span.file.0 as usize)
    }

    /// The namespace prefix of the file `span` is in ("" for the main module).
    fn prefix(&self, span: Span) -> &str {
        self.scope(span).map_or("", |s| s.prefix.as_str())
    }

    /// The prefixes of the headers the file of `span` sees.
    fn headers(&self, span: Span) -> &[String] {
        self.scope(span).map_or(&[], |s| s.headers.as_slice())
    }

    /// The symbol-table key of a name declared or used at `id`: the name
    /// itself in the main module, `prefix.name` in an imported module or a
    /// header. A name with a `.` is already a key (`m.f`, rewritten by the
    /// import loader).
    pub(crate) fn key(&self, id: &ast::Ident) -> String {
        let p = self.prefix(id.span);
        if p.is_empty() || id.name.contains('.') {
            id.name.clone()
        } else {
            format!("{p}.{}", id.name)
        }
    }

    /// What `id` names where it is written: its module's item, else an item
    /// of a header the module includes, else a built-in (declared with no
    /// span), visible everywhere.
    pub(crate) fn lookup(&self, id: &ast::Ident) -> Option<&SymInfo> {
        let key = self.key(id);
        if let Some(s) = self.syms.get(&key) {
            return Some(s);
        }
        if id.name.contains('.') {
            return None;
        }
        for h in self.headers(id.span) {
            if let Some(s) = self.syms.get(&format!("{h}.{}", id.name)) {
                return Some(s);
            }
        }
        self.syms.get(&id.name).filter(|s| s.span.is_none())
    }

    pub(crate) fn lookup_sym(&self, id: &ast::Ident) -> Option<Sym> {
        self.lookup(id).map(|s| s.sym)
    }

    /// The name an item declared at `id` has in the IR (and so in the
    /// generated C): its own name in the main module and in headers (which
    /// declare program-wide types, as C headers do), `m__name` in imported
    /// module `m`.
    pub(crate) fn ir_name(&self, id: &ast::Ident) -> String {
        match self.scope(id.span) {
            Some(s) if !s.header && !s.prefix.is_empty() => format!("{}__{}", s.prefix, id.name),
            _ => id.name.clone(),
        }
    }

    /// The names visible from the file of `at` (for "a similar name" hints).
    pub(crate) fn names_in_scope(&self, at: Span) -> Vec<(&str, Sym)> {
        let p = self.prefix(at);
        let hs = self.headers(at);
        self.syms
            .iter()
            .filter_map(|(k, s)| {
                // Built-ins, and the main module's names (no prefix).
                let plain = s.span.is_none() || (p.is_empty() && !k.contains('.'));
                let name = if plain {
                    Some(k.as_str())
                } else {
                    std::iter::once(p)
                        .chain(hs.iter().map(|h| h.as_str()))
                        .filter(|q| !q.is_empty())
                        .find_map(|q| k.strip_prefix(q).and_then(|r| r.strip_prefix('.')))
                };
                name.map(|n| (n, s.sym))
            })
            .collect()
    }

    pub(crate) fn define(&mut self, name: &ast::Ident, sym: Sym) {
        let key = self.key(name);
        // A module's names cannot hide its headers' or the built-in ones.
        let prev = self
            .syms
            .get(&key)
            .or_else(|| self.lookup(name))
            // A program's own `instructions` hides the perf constant.
            .filter(|p| !(p.span.is_none() && builtins::weak(&name.name)));
        if let Some(prev) = prev {
            let d = Diagnostic::error(
                codes::DUPLICATE,
                name.span,
                format!("`{}` is defined more than once", name.name),
            );
            let d = match prev.span {
                Some(p) => d
                    .with_secondary(p, "first defined here")
                    .with_label("defined again here"),
                None => d.with_label("this name is built in").with_help(
                    "choose another name; built-in constants and types need no declaration",
                ),
            };
            self.diags.push(d);
            return;
        }
        if builtins::reserved(&name.name) {
            self.error(
                codes::DUPLICATE,
                name.span,
                format!(
                    "`{}` is a built-in function and cannot be redefined",
                    name.name
                ),
            );
            return;
        }
        self.syms.insert(
            key.clone(),
            SymInfo {
                sym,
                span: Some(name.span),
            },
        );
        let emitted = match sym {
            Sym::Type(_) | Sym::EnumVariant(..) | Sym::Map(_) | Sym::Global(_) => true,
            Sym::Config(_) | Sym::StructOps(_) => true,
            Sym::Function(f) => !matches!(
                self.functions.get(f.index()).map(|f| &f.kind),
                Some(ir::FnKind::Extern { .. })
            ),
            _ => false,
        };
        if emitted {
            let c = self.ir_name(name);
            match self.c_names.get(&c) {
                Some((k, prev)) if *k != key => {
                    let d = Diagnostic::error(codes::DUPLICATE,
                        name.span,
                        format!("`{}` has the same name in the generated code as a declaration of another file", name.name),
                    )
                    .with_secondary(*prev, "this one")
                    .with_help("a header's declarations keep their names program-wide: rename one of them");
                    self.diags.push(d);
                }
                Some(_) => {}
                None => {
                    self.c_names.insert(c, (key, name.span));
                }
            }
        }
    }

    pub(crate) fn unknown_name(&mut self, id: &ast::Ident, what: &str, locals: &[&str]) {
        let cands: Vec<&str> = locals
            .iter()
            .copied()
            .chain(self.names_in_scope(id.span).into_iter().map(|(n, _)| n))
            .chain(ksc_ir::HELPERS.iter().map(|h| h.name))
            .collect();
        let hint = suggest(&id.name, cands.into_iter());
        let d = self.error(
            codes::NOT_FOUND,
            id.span,
            format!("cannot find {what} `{}`", id.name),
        );
        d.label = "not found in this scope".into();
        if let Some(h) = hint {
            d.help = Some(format!("a similar name exists: `{h}`"));
        }
    }
}
