//! The checker's shared state, used by every pass from collection to
//! lowering: the symbol table, the type table, the IR tables being filled,
//! what pass 1 learnt of each function, and the diagnostics.
//!
//! Each pass adds its own `impl Checker` block in its own module
//! (`collect`, `consteval`, `resolve_type`, `btf_types`, `lower`); this
//! module holds the struct, its constructor (built-in types, constants and
//! enum variants), symbol definition, the helpers every pass reports with
//! (`error`, `warning`), and [`suggest`] (the "a similar name exists" hint).

use std::collections::HashMap;

use ksc_frontend::ast;
use ksc_frontend::{Diagnostic, Span};
use ksc_ir as ir;
use ksc_ir::{FnId, IntType, TypeId, Value};

use crate::builtins;
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
    /// For programs: the kind of program, for tail-call compatibility.
    pub(crate) prog_class: Option<&'static str>,
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
    pub(crate) btf: Option<Result<crate::btf::Btf, String>>,
    /// Kernel structs already made from BTF, by name.
    pub(crate) btf_types: HashMap<String, TypeId>,
    /// Names of `impl` blocks, by struct_ops index.
    pub(crate) impl_names: Vec<String>,
    /// Pointer parameters (function, index) that every call passes a
    /// pointer known not to be null (docs/language.md, null safety).
    pub(crate) nonnull_params: std::collections::HashSet<(FnId, u32)>,
    /// Pointer parameters some call passes a maybe-null pointer (found
    /// while the null analysis runs).
    pub(crate) null_args: std::collections::HashSet<(FnId, u32)>,
    /// The kfuncs of the kernel's BTF, read on the first `extern`.
    pub(crate) kfuncs: Option<std::collections::HashSet<String>>,
}

/// Bytes of packet a `@test` context carries: the headers a test feeds
/// (small enough for the eBPF stack, should a helper declare one).
pub(crate) const TEST_PACKET_BYTES: u32 = 128;

/// Edit distance counting a swap of two neighbours as one edit (typos like
/// `xpd` for `xdp`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub(crate) fn suggest<'n>(name: &str, candidates: impl Iterator<Item = &'n str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

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
            btf: None,
            btf_types: HashMap::new(),
            impl_names: Vec::new(),
            nonnull_params: Default::default(),
            null_args: Default::default(),
            kfuncs: None,
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

    pub(crate) fn error(&mut self, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(span, msg));
        self.diags.last_mut().unwrap()
    }

    pub(crate) fn warning(&mut self, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(span, msg));
        self.diags.last_mut().unwrap()
    }

    pub(crate) fn define(&mut self, name: &ast::Ident, sym: Sym) {
        if let Some(prev) = self.syms.get(&name.name) {
            let d = Diagnostic::error(
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
                name.span,
                format!(
                    "`{}` is a built-in function and cannot be redefined",
                    name.name
                ),
            );
            return;
        }
        self.syms.insert(
            name.name.clone(),
            SymInfo {
                sym,
                span: Some(name.span),
            },
        );
    }

    pub(crate) fn unknown_name(&mut self, id: &ast::Ident, what: &str, locals: &[&str]) {
        let cands: Vec<&str> = locals
            .iter()
            .copied()
            .chain(self.syms.keys().map(|s| s.as_str()))
            .chain(ksc_ir::HELPERS.iter().map(|h| h.name))
            .collect();
        let hint = suggest(&id.name, cands.into_iter());
        let d = self.error(id.span, format!("cannot find {what} `{}`", id.name));
        d.label = "not found in this scope".into();
        if let Some(h) = hint {
            d.help = Some(format!("a similar name exists: `{h}`"));
        }
    }
}
