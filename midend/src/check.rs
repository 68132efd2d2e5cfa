//! Name resolution, type checking and lowering of the AST to the IR.
//!
//! Pass 1 collects every top-level declaration (so order does not matter),
//! pass 2 checks function bodies and lowers them. Rules that need the whole
//! program (tail calls, throws, stack, null safety) run afterwards in
//! `analysis.rs` on the IR.

use std::collections::HashMap;

use ksc_frontend::ast::{self, ExprKind as AE, ItemKind, StmtKind as AS};
use ksc_frontend::{Diagnostic, Span};
use ksc_ir as ir;
use ksc_ir::{
    Builtin, Callee, Domain, FnId, FnKind, IntType, LocalId, ProgramType, TypeId, TypeKind, Value,
};

use crate::builtins;
use crate::types::{common_int, Types};

/// Byte offsets to line/column, for IR spans.
pub struct LineIndex {
    starts: Vec<u32>,
    src: String,
}

impl LineIndex {
    pub fn new(src: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|b| b.1 == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex {
            starts,
            src: src.to_string(),
        }
    }

    pub fn line_of(&self, offset: u32) -> u32 {
        (self.starts.partition_point(|&s| s <= offset)) as u32
    }

    pub fn span(&self, s: Span) -> ir::Span {
        let line = self.line_of(s.start);
        let ls = self.starts[(line - 1) as usize] as usize;
        let end = (s.start as usize).min(self.src.len());
        let col = self
            .src
            .get(ls..end)
            .map_or(1, |t| t.chars().count() as u32 + 1);
        ir::Span {
            start: s.start,
            end: s.end,
            line,
            col,
        }
    }
}

pub fn fspan(s: ir::Span) -> Span {
    Span {
        start: s.start,
        end: s.end,
    }
}

#[derive(Clone, Copy, Debug)]
enum Sym {
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

struct SymInfo {
    sym: Sym,
    /// Where it was defined (`None` for built-ins).
    span: Option<Span>,
}

#[derive(Clone, Copy, PartialEq)]
enum Eval {
    Todo,
    Busy,
    Done,
}

struct ConstEntry<'a> {
    decl: &'a ast::ConstDecl,
    state: Eval,
    value: Option<(Value, TypeId)>,
}

struct AliasEntry<'a> {
    decl: &'a ast::TypeAlias,
    state: Eval,
    ty: TypeId,
}

/// What pass 1 knows of a function.
struct FnInfo<'a> {
    decl: Option<&'a ast::FnDecl>,
    params: Vec<(String, TypeId, Span)>,
    ret_name: Option<(String, Span)>,
    /// For programs: the kind of program, for tail-call compatibility.
    prog_class: Option<&'static str>,
}

pub struct Checker<'a> {
    pub lines: LineIndex,
    pub diags: Vec<Diagnostic>,
    pub types: Types,
    syms: HashMap<String, SymInfo>,
    consts: Vec<ConstEntry<'a>>,
    aliases: Vec<AliasEntry<'a>>,
    /// Every function's name, known before globals are evaluated (for
    /// the message when one initialises a global).
    fn_names: std::collections::HashSet<String>,
    pub maps: Vec<ir::Map>,
    pub globals: Vec<ir::Global>,
    pub configs: Vec<ir::Config>,
    pub functions: Vec<ir::Function>,
    fn_info: Vec<FnInfo<'a>>,
    pub struct_ops: Vec<ir::StructOps>,
    pub tail_call_slots: Vec<FnId>,
    pub main: Option<FnId>,
    /// Where each function's name is (for whole-function diagnostics).
    pub name_spans: Vec<Span>,
    /// eBPF functions with a local larger than the stack (already reported).
    pub oversized: std::collections::HashSet<FnId>,
    xdp_md: TypeId,
    sk_buff: TypeId,
    xdp_action: TypeId,
    btf: Option<Result<crate::btf::Btf, String>>,
    /// Kernel structs already made from BTF, by name.
    btf_types: HashMap<String, TypeId>,
    /// Names of `impl` blocks, by struct_ops index.
    impl_names: Vec<String>,
}

/// Edit distance counting a swap of two neighbours as one edit (typos like
/// `xpd` for `xdp`).
fn edit_distance(a: &str, b: &str) -> usize {
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
pub fn suggest<'n>(name: &str, candidates: impl Iterator<Item = &'n str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

impl<'a> Checker<'a> {
    pub fn new(src: &str) -> Checker<'a> {
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
            lines: LineIndex::new(src),
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
        };
        // The context `test()` runs an XDP program with (spec: testing).
        let u32_ = c.types.u32_;
        let test_ctx = c.types.new_struct(
            "XdpTestContext",
            vec![
                ("packet_size".into(), u32_),
                ("interface_id".into(), u32_),
                ("expected_action".into(), u32_),
            ],
            false,
        );
        for (name, ty) in [
            ("XdpTestContext", test_ctx),
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

    pub fn span(&self, s: Span) -> ir::Span {
        self.lines.span(s)
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(span, msg));
        self.diags.last_mut().unwrap()
    }

    fn warning(&mut self, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(span, msg));
        self.diags.last_mut().unwrap()
    }

    fn define(&mut self, name: &ast::Ident, sym: Sym) {
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

    fn unknown_name(&mut self, id: &ast::Ident, what: &str, locals: &[&str]) {
        let cands: Vec<&str> = locals
            .iter()
            .copied()
            .chain(self.syms.keys().map(|s| s.as_str()))
            .chain(builtins::bpf_helpers().iter().map(|h| h.0))
            .collect();
        let hint = suggest(&id.name, cands.into_iter());
        let d = self.error(id.span, format!("cannot find {what} `{}`", id.name));
        d.label = "not found in this scope".into();
        if let Some(h) = hint {
            d.help = Some(format!("a similar name exists: `{h}`"));
        }
    }

    // ------------------------------------------------------------ pass 1

    pub fn collect(&mut self, file: &'a ast::File) {
        // Names of types first, so declarations can refer to each other.
        for item in &file.items {
            match &item.kind {
                ItemKind::Struct(s) => {
                    let id = self.types.declare_struct(&s.name.name, false);
                    self.define(&s.name, Sym::Type(id));
                }
                ItemKind::TypeAlias(a) => {
                    self.aliases.push(AliasEntry {
                        decl: a,
                        state: Eval::Todo,
                        ty: TypeId(0),
                    });
                    let i = self.aliases.len() - 1;
                    self.define(&a.name, Sym::Alias(i));
                }
                ItemKind::Enum(e) => self.collect_enum(e),
                ItemKind::Const(k) => {
                    self.consts.push(ConstEntry {
                        decl: k,
                        state: Eval::Todo,
                        value: None,
                    });
                    let i = self.consts.len() - 1;
                    self.define(&k.name, Sym::Const(i));
                }
                ItemKind::Import(imp) => self.define(&imp.name, Sym::Import),
                ItemKind::Fn(f) => {
                    self.fn_names.insert(f.name.name.clone());
                }
                ItemKind::Include(path) => {
                    self.warning(path.span, format!("`include \"{}\"` is not processed yet", path.value)).help = Some(
                        "declare what the header provides in this file (externs, structs, constants)".into(),
                    );
                }
                _ => {}
            }
        }
        for item in &file.items {
            if let ItemKind::Struct(s) = &item.kind {
                let Some(SymInfo {
                    sym: Sym::Type(id), ..
                }) = self.syms.get(&s.name.name)
                else {
                    continue;
                };
                let id = *id;
                if !matches!(self.types.kind(id), TypeKind::Struct(_))
                    || self
                        .types
                        .struct_def(id)
                        .is_some_and(|d| !d.fields.is_empty())
                {
                    continue;
                }
                let mut fields = Vec::new();
                self.check_unique("field", s.fields.iter().map(|f| &f.name));
                for f in &s.fields {
                    let ty = self.resolve_type(&f.ty);
                    if ty == id {
                        self.error(f.ty.span, "a struct cannot contain itself").help =
                            Some("use a pointer: `*Name`".into());
                    }
                    fields.push((f.name.name.clone(), ty));
                }
                self.types
                    .set_struct_fields(id, &s.name.name, fields, false);
            }
        }
        for i in 0..self.aliases.len() {
            self.alias_type(i);
        }
        for i in 0..self.consts.len() {
            self.const_value(i);
        }
        for item in &file.items {
            match &item.kind {
                ItemKind::Map(m) => self.collect_map(item, m),
                ItemKind::Global(g) => self.collect_global(item, g),
                ItemKind::Config(c) => self.collect_config(c),
                _ => {}
            }
        }
        for item in &file.items {
            match &item.kind {
                ItemKind::Fn(f) => {
                    self.collect_fn(item, f, None);
                }
                ItemKind::Extern(e) => self.collect_extern(item, e),
                ItemKind::Impl(i) => self.collect_impl(item, i),
                _ => {}
            }
            if !matches!(item.kind, ItemKind::Fn(_) | ItemKind::Impl(_)) {
                self.check_no_attrs(item);
            }
        }
    }

    fn check_no_attrs(&mut self, item: &ast::Item) {
        for a in &item.attrs {
            let ok = a.name.name == "flags" && matches!(item.kind, ItemKind::Map(_));
            if !ok {
                self.error(a.span, format!("attribute `@{}` does not apply here", a.name.name)).help = Some(
                    "program attributes go on functions, `@struct_ops` on `impl` blocks, `@flags` on maps".into(),
                );
            }
        }
    }

    fn collect_enum(&mut self, e: &ast::EnumDecl) {
        let mut next: i64 = 0;
        let mut variants = Vec::new();
        for v in &e.variants {
            let value = match &v.value {
                Some(expr) => match self.const_eval(expr) {
                    Some((Value::Int(n), _)) => n,
                    Some((Value::UInt(n), _)) if n <= i64::MAX as u64 => n as i64,
                    Some(_) => {
                        self.error(expr.span, "enum values must be integers");
                        next
                    }
                    None => next,
                },
                None => next,
            };
            variants.push((v.name.name.clone(), value));
            next = value.wrapping_add(1);
        }
        let (lo, hi) = variants
            .iter()
            .fold((0i64, 0i64), |(lo, hi), v| (lo.min(v.1), hi.max(v.1)));
        let repr = if lo >= 0 && hi <= u32::MAX as i64 {
            IntType::U32
        } else if lo >= i32::MIN as i64 && hi <= i32::MAX as i64 {
            IntType::I32
        } else {
            IntType::I64
        };
        let ty = self
            .types
            .new_enum(&e.name.name, repr, variants.clone(), false);
        self.define(&e.name, Sym::Type(ty));
        for (v, (_, value)) in e.variants.iter().zip(variants) {
            self.define(&v.name, Sym::EnumVariant(ty, value));
        }
    }

    fn alias_type(&mut self, i: usize) -> TypeId {
        match self.aliases[i].state {
            Eval::Done => return self.aliases[i].ty,
            Eval::Busy => {
                let d = self.aliases[i].decl;
                self.error(
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

    fn const_value(&mut self, i: usize) -> Option<(Value, TypeId)> {
        match self.consts[i].state {
            Eval::Done => return self.consts[i].value.clone(),
            Eval::Busy => {
                let d = self.consts[i].decl;
                self.error(
                    d.name.span,
                    format!("constant `{}` depends on itself", d.name.name),
                );
                return None;
            }
            Eval::Todo => {}
        }
        self.consts[i].state = Eval::Busy;
        let decl = self.consts[i].decl;
        let mut v = self.const_eval(&decl.value);
        if let (Some(tyx), Some((val, vty))) = (&decl.ty, &v) {
            let ty = self.resolve_type(tyx);
            v = self
                .fit_value(val.clone(), *vty, ty, decl.value.span)
                .map(|val| (val, ty));
        }
        self.consts[i].state = Eval::Done;
        self.consts[i].value = v.clone();
        v
    }

    /// Check that a constant of type `from` fits `to`; returns the value.
    fn fit_value(&mut self, v: Value, from: TypeId, to: TypeId, span: Span) -> Option<Value> {
        if let Some(it) = self.types.as_int(to) {
            if let Some(n) = value_int(&v) {
                let (lo, hi) = it.range();
                if n < lo || n > hi {
                    self.error(
                        span,
                        format!("`{n}` does not fit in `{}`", self.types.display(to)),
                    )
                    .label = format!("the range of `{}` is {lo}..={hi}", it.name());
                    return None;
                }
                return Some(if it.signed() {
                    Value::Int(n as i64)
                } else {
                    Value::UInt(n as u64)
                });
            }
        }
        if let (Value::Str(s), TypeKind::Str(n)) = (&v, self.types.kind(to)) {
            if s.len() as u32 + 1 > *n {
                self.error(
                    span,
                    format!("string of {} bytes does not fit in `str({n})`", s.len() + 1),
                )
                .help = Some(format!(
                    "`str(N)` holds N-1 characters and the terminating NUL; use `str({})`",
                    s.len() + 1
                ));
                return None;
            }
            return Some(v);
        }
        if self.types.coerces(from, to) || value_int(&v).is_some() && self.types.is_integer(to) {
            return Some(v);
        }
        if matches!(
            v,
            Value::Array(_) | Value::Repeat(..) | Value::Struct(_) | Value::Zero | Value::Null
        ) {
            return Some(v);
        }
        let (f, t) = (self.types.display(from), self.types.display(to));
        self.error(
            span,
            format!("mismatched types: expected `{t}`, found `{f}`"),
        );
        None
    }

    /// Evaluate a constant expression (global initialisers, consts, lengths).
    pub fn const_eval(&mut self, e: &ast::Expr) -> Option<(Value, TypeId)> {
        let t = &self.types;
        Some(match &e.kind {
            AE::Int(n) => {
                if *n <= u32::MAX as u64 {
                    (Value::UInt(*n), t.u32_)
                } else {
                    (Value::UInt(*n), t.u64_)
                }
            }
            AE::Bool(b) => (Value::Bool(*b), t.bool_),
            AE::Char(c) => (Value::Char(*c), t.char_),
            AE::Str(s) => {
                let ty = self.types.str_(s.len() as u32 + 1);
                (Value::Str(s.clone()), ty)
            }
            AE::Null => (Value::Null, t.null),
            AE::Name(id) => match self.syms.get(&id.name).map(|s| s.sym) {
                Some(Sym::Const(i)) => return self.const_value(i),
                Some(Sym::EnumVariant(ty, v)) => (Value::Int(v), ty),
                Some(Sym::BuiltinConst(v, ty)) => (
                    if self.types.as_int(ty).is_some_and(|i| i.signed()) {
                        Value::Int(v)
                    } else {
                        Value::UInt(v as u64)
                    },
                    ty,
                ),
                Some(_) => {
                    self.error(id.span, format!("`{}` is not a constant", id.name))
                        .help =
                        Some("initial values and sizes must be known at compile time".into());
                    return None;
                }
                None if self.fn_names.contains(&id.name) => {
                    self.error(id.span, format!("a global cannot be initialised with the function `{}`", id.name))
                        .help = Some("globals are shared between eBPF and userspace, where functions differ: keep function pointers in local variables (eBPF code may store a `@helper` in a global at run time)".into());
                    return None;
                }
                None => {
                    self.unknown_name(id, "constant", &[]);
                    return None;
                }
            },
            AE::Unary { op, operand } => {
                let (v, ty) = self.const_eval(operand)?;
                let n = value_int(&v);
                match (op, n) {
                    (ast::UnOp::Neg, Some(n)) => {
                        let ty = if self.types.as_int(ty).is_some_and(|i| i.signed()) {
                            ty
                        } else if -n >= i32::MIN as i128 {
                            self.types.i32_
                        } else {
                            self.types.i64_
                        };
                        (Value::Int((-n) as i64), ty)
                    }
                    (ast::UnOp::BitNot, Some(n)) => {
                        let it = self.types.as_int(ty).unwrap_or(IntType::U32);
                        let mask = if it.bits() == 64 {
                            u64::MAX
                        } else {
                            (1u64 << it.bits()) - 1
                        };
                        (int_value(it, (!(n as u64) & mask) as i128), ty)
                    }
                    (ast::UnOp::Not, _) => match v {
                        Value::Bool(b) => (Value::Bool(!b), ty),
                        _ => return self.not_const(e),
                    },
                    _ => return self.not_const(e),
                }
            }
            AE::Binary { op, lhs, rhs } => {
                let (a, at) = self.const_eval(lhs)?;
                let (b, bt) = self.const_eval(rhs)?;
                let (Some(x), Some(y)) = (value_int(&a), value_int(&b)) else {
                    return self.not_const(e);
                };
                let ai = self.types.as_int(at).unwrap_or(IntType::U32);
                let bi = self.types.as_int(bt).unwrap_or(IntType::U32);
                let it = common_int(ai, bi).unwrap_or(if ai.bits() >= bi.bits() { ai } else { bi });
                let ty = self.types.int(it);
                use ast::BinOp::*;
                let r: i128 = match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x.checked_mul(y)?,
                    Div | Rem if y == 0 => {
                        self.error(rhs.span, "division by zero in a constant");
                        return None;
                    }
                    Div => x / y,
                    Rem => x % y,
                    BitAnd => x & y,
                    BitOr => x | y,
                    BitXor => x ^ y,
                    Shl => x.checked_shl(u32::try_from(y).ok()?)?,
                    Shr => x >> u32::try_from(y).ok()?.min(127),
                    Eq | Ne | Lt | Le | Gt | Ge => {
                        let b = match op {
                            Eq => x == y,
                            Ne => x != y,
                            Lt => x < y,
                            Le => x <= y,
                            Gt => x > y,
                            _ => x >= y,
                        };
                        return Some((Value::Bool(b), self.types.bool_));
                    }
                    And | Or => return self.not_const(e),
                };
                let (lo, hi) = it.range();
                let ty = if r < lo || r > hi {
                    if r >= 0 && r <= u64::MAX as i128 {
                        self.types.u64_
                    } else {
                        self.types.i64_
                    }
                } else {
                    ty
                };
                (int_value(self.types.as_int(ty).unwrap(), r), ty)
            }
            AE::Cast { expr, ty } => {
                let (v, _) = self.const_eval(expr)?;
                let to = self.resolve_type(ty);
                match (value_int(&v), self.types.as_int(to)) {
                    (Some(n), Some(it)) => {
                        let bits = it.bits();
                        let m = if bits == 64 {
                            n as u64 as i128
                        } else {
                            n & ((1i128 << bits) - 1)
                        };
                        let m = if it.signed() && m >= 1i128 << (bits - 1) {
                            m - (1i128 << bits)
                        } else {
                            m
                        };
                        (int_value(it, m), to)
                    }
                    _ => (v, to),
                }
            }
            AE::Sizeof(ty) => {
                let t = self.resolve_type(ty);
                (Value::UInt(self.types.size(t) as u64), self.types.u32_)
            }
            AE::ArrayLit(elems) => {
                let mut vals = Vec::new();
                let mut ety = self.types.u32_;
                for el in elems {
                    let (v, t) = self.const_eval(el)?;
                    ety = t;
                    vals.push(v);
                }
                let n = vals.len() as u32;
                let ty = self.types.array(ety, n);
                (Value::Array(vals), ty)
            }
            AE::ArrayRepeat { value, count } => {
                let (v, t) = self.const_eval(value)?;
                let (c, _) = self.const_eval(count)?;
                let n = u32::try_from(value_int(&c)?).ok()?;
                let ty = self.types.array(t, n);
                (Value::Repeat(Box::new(v), n), ty)
            }
            AE::StructLit { name, fields } => {
                let ty = self.named_type(name);
                let def = self.types.struct_def(ty).cloned()?;
                let mut vals = vec![Value::Zero; def.fields.len()];
                for f in fields {
                    let Some(i) = def.fields.iter().position(|d| d.name == f.name.name) else {
                        self.error(
                            f.name.span,
                            format!("struct `{}` has no field `{}`", def.name, f.name.name),
                        );
                        continue;
                    };
                    let (v, vt) = self.const_eval(&f.value)?;
                    vals[i] = self.fit_value(v, vt, def.fields[i].ty, f.value.span)?;
                }
                (Value::Struct(vals), ty)
            }
            _ => return self.not_const(e),
        })
    }

    fn not_const<T>(&mut self, e: &ast::Expr) -> Option<T> {
        self.error(e.span, "this expression is not a compile-time constant")
            .help =
            Some("global initial values, config defaults and sizes must be constants".into());
        None
    }

    // ------------------------------------------------------------ types

    fn named_type(&mut self, id: &ast::Ident) -> TypeId {
        match self.syms.get(&id.name).map(|s| s.sym) {
            Some(Sym::Type(t)) => t,
            Some(Sym::Alias(i)) => self.alias_type(i),
            Some(_) => {
                self.error(id.span, format!("`{}` is not a type", id.name));
                self.types.error
            }
            None if id.name.starts_with("trace_event_raw_") || self.btf_has(&id.name) => {
                self.btf_struct(id)
            }
            None => {
                let mut cands: Vec<String> = self
                    .syms
                    .iter()
                    .filter(|(_, s)| matches!(s.sym, Sym::Type(_) | Sym::Alias(_)))
                    .map(|(n, _)| n.clone())
                    .collect();
                cands.extend(
                    [
                        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool", "char",
                        "void", "size_t",
                    ]
                    .map(String::from),
                );
                let hint = suggest(&id.name, cands.iter().map(|s| s.as_str()));
                let d = self.error(id.span, format!("cannot find type `{}`", id.name));
                d.label = "not a known type".into();
                if let Some(h) = hint {
                    d.help = Some(format!("a similar type exists: `{h}`"));
                }
                self.types.error
            }
        }
    }

    fn btf(&mut self) -> Option<&crate::btf::Btf> {
        if self.btf.is_none() {
            self.btf = Some(crate::btf::Btf::load_vmlinux());
        }
        self.btf.as_ref().and_then(|b| b.as_ref().ok())
    }

    fn btf_has(&mut self, name: &str) -> bool {
        // Only kernel structs a program can meet: struct_ops types and the like.
        name.ends_with("_ops") && self.btf().is_some_and(|b| b.has_struct(name))
    }

    /// A kernel struct read from the running kernel's BTF.
    fn btf_struct(&mut self, id: &ast::Ident) -> TypeId {
        let layout = self.btf().and_then(|b| b.find_struct(&id.name));
        let Some(layout) = layout else {
            let why = match &self.btf {
                Some(Err(e)) => format!(" ({e})"),
                _ => String::new(),
            };
            self.error(id.span, format!("kernel type `{}` not found in the kernel's BTF{why}", id.name)).help =
                Some("tracepoint contexts are named `trace_event_raw_<event>` (`trace_event_raw_sys_enter` for syscalls)".into());
            return self.types.error;
        };
        let ty = self.btf_to_type(&crate::btf::BtfType::Struct(layout), 0);
        self.syms.insert(
            id.name.clone(),
            SymInfo {
                sym: Sym::Type(ty),
                span: None,
            },
        );
        ty
    }

    fn btf_to_type(&mut self, t: &crate::btf::BtfType, depth: u32) -> TypeId {
        use crate::btf::BtfType as B;
        if depth > 8 {
            return self.types.u8_;
        }
        match t {
            B::Int { bits, signed, .. } => {
                let it = match (bits, signed) {
                    (8, false) => IntType::U8,
                    (16, false) => IntType::U16,
                    (32, false) => IntType::U32,
                    (64, false) => IntType::U64,
                    (8, true) => IntType::I8,
                    (16, true) => IntType::I16,
                    (32, true) => IntType::I32,
                    _ => IntType::I64,
                };
                self.types.int(it)
            }
            B::Char => self.types.char_,
            B::Bool => self.types.bool_,
            B::Void => self.types.void,
            B::Pointer(_) => {
                let u8_ = self.types.u8_;
                self.types.ptr(u8_)
            }
            B::Array(e, n) => {
                let et = self.btf_to_type(e, depth + 1);
                self.types.array(et, *n)
            }
            B::Enum { size, .. } => self.types.int(match size {
                1 => IntType::U8,
                2 => IntType::U16,
                8 => IntType::U64,
                _ => IntType::U32,
            }),
            B::Struct(l) => {
                // One type per kernel struct name (`trace_entry` is shared
                // by every tracepoint context).
                if !l.name.is_empty() {
                    if let Some(&t) = self.btf_types.get(&l.name) {
                        return t;
                    }
                }
                let fields: Vec<(String, TypeId, u32)> = l
                    .fields
                    .iter()
                    .filter(|f| f.bitfield_size == 0 && !f.name.is_empty())
                    .map(|f| {
                        let ty = self.btf_to_type(&f.ty, depth + 1);
                        (f.name.clone(), ty, f.offset_bits / 8)
                    })
                    .collect();
                let t = self.types.kernel_struct(&l.name, fields, l.size);
                if !l.name.is_empty() {
                    self.btf_types.insert(l.name.clone(), t);
                }
                t
            }
            B::FuncProto { .. } | B::Unknown(_) => {
                let u8_ = self.types.u8_;
                self.types.ptr(u8_)
            }
        }
    }

    pub fn resolve_type(&mut self, t: &ast::Type) -> TypeId {
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

    /// The integer value of a named constant (a `const` or an enum
    /// variant) where a constant is required: array sizes, patterns.
    fn const_int(&mut self, id: &ast::Ident) -> Option<i128> {
        let e = ast::Expr {
            kind: AE::Name(id.clone()),
            span: id.span,
        };
        self.const_eval(&e).and_then(|(v, _)| value_int(&v))
    }

    fn array_len(&mut self, len: &ast::ArrayLen) -> Option<u32> {
        let (n, span) = match len {
            ast::ArrayLen::Lit(n, s) => (Some(*n as i128), *s),
            ast::ArrayLen::Const(id) => (self.const_int(id), id.span),
        };
        match n {
            Some(n) if n > 0 && n <= (1 << 24) => Some(n as u32),
            Some(n) => {
                self.error(span, format!("length {n} is out of range")).help =
                    Some("lengths are 1 to 16777216".into());
                None
            }
            None => None,
        }
    }

    // ------------------------------------------------------------ maps, globals, configs

    fn collect_map(&mut self, item: &ast::Item, m: &ast::MapDecl) {
        let kind = match m.kind.name.as_str() {
            "hash" => ir::MapKind::Hash,
            "array" => ir::MapKind::Array,
            "percpu_hash" => ir::MapKind::PercpuHash,
            "percpu_array" => ir::MapKind::PercpuArray,
            "lru_hash" => ir::MapKind::LruHash,
            "ringbuf" => ir::MapKind::Ringbuf,
            other => {
                let kinds = [
                    "hash",
                    "array",
                    "percpu_hash",
                    "percpu_array",
                    "lru_hash",
                    "ringbuf",
                ];
                let hint = suggest(other, kinds.into_iter());
                let d = self.error(m.kind.span, format!("unknown map kind `{other}`"));
                d.help = Some(match hint {
                    Some(h) => format!("did you mean `{h}`? The kinds are {}", kinds.join(", ")),
                    None => format!("the kinds are {}", kinds.join(", ")),
                });
                ir::MapKind::Hash
            }
        };
        let want_args = if kind == ir::MapKind::Ringbuf { 1 } else { 2 };
        if m.type_args.len() != want_args {
            self.error(
                m.kind.span,
                format!(
                    "`{}` takes {want_args} type argument{}",
                    m.kind.name,
                    if want_args == 1 { "" } else { "s" }
                ),
            )
            .help = Some(if want_args == 1 {
                "write `ringbuf<Event>(4096)`".into()
            } else {
                format!("write `{}<KeyType, ValueType>(max_entries)`", m.kind.name)
            });
        }
        let targs: Vec<TypeId> = m.type_args.iter().map(|t| self.resolve_type(t)).collect();
        let (key, value) = match (kind, targs.as_slice()) {
            (ir::MapKind::Ringbuf, [v, ..]) => (self.types.u32_, *v),
            (_, [k, v, ..]) => (*k, *v),
            _ => (self.types.u32_, self.types.u64_),
        };
        if matches!(kind, ir::MapKind::Array | ir::MapKind::PercpuArray)
            && !matches!(
                self.types.kind(key),
                TypeKind::Int(IntType::U32) | TypeKind::Int(IntType::I32)
            )
            && !self.types.is_error(key)
        {
            self.error(m.type_args[0].span, "array maps are indexed by `u32`")
                .label = format!("found `{}`", self.types.display(key));
        }
        let mut max_entries = 0u32;
        let mut extra = Vec::new();
        let mut positional = 0;
        for a in &m.args {
            match &a.name {
                None => {
                    positional += 1;
                    if positional == 1 {
                        match self.const_eval(&a.value).and_then(|(v, _)| value_int(&v)) {
                            Some(n) if n > 0 && n <= u32::MAX as i128 => max_entries = n as u32,
                            Some(_) => {
                                self.error(
                                    a.value.span,
                                    "`max_entries` must be between 1 and 4294967295",
                                );
                            }
                            None => {}
                        }
                    } else {
                        self.error(
                            a.value.span,
                            "extra map arguments are written `name = value`",
                        );
                    }
                }
                Some(n) => {
                    if let Some((v, _)) = self.const_eval(&a.value) {
                        extra.push((n.name.clone(), v));
                    }
                }
            }
        }
        if m.args.iter().all(|a| a.name.is_some()) {
            self.error(m.name.span, "a map needs its maximum number of entries")
                .help = Some(format!(
                "write `var {} : {}<...>(1024)`",
                m.name.name, m.kind.name
            ));
        }
        if kind == ir::MapKind::Ringbuf
            && max_entries != 0
            && (!max_entries.is_power_of_two() || max_entries < 4096)
        {
            self.error(
                m.args[0].value.span,
                "a ring buffer's size must be a power of two of at least 4096 bytes",
            );
        }
        let mut flags = Vec::new();
        let mut flags_value = 0;
        for a in &item.attrs {
            if a.name.name != "flags" {
                continue;
            }
            for arg in &a.args {
                self.collect_flags(arg, &mut flags, &mut flags_value);
            }
        }
        let span = self.span(item.span);
        self.maps.push(ir::Map {
            name: m.name.name.clone(),
            kind,
            key,
            value,
            max_entries,
            flags,
            flags_value,
            pinned: m.pin,
            extra,
            span,
        });
        let id = ir::MapId(self.maps.len() as u32 - 1);
        self.define(&m.name, Sym::Map(id));
    }

    fn collect_flags(&mut self, e: &ast::Expr, names: &mut Vec<String>, value: &mut u32) {
        match &e.kind {
            AE::Binary {
                op: ast::BinOp::BitOr,
                lhs,
                rhs,
            } => {
                self.collect_flags(lhs, names, value);
                self.collect_flags(rhs, names, value);
            }
            AE::Name(id) => match builtins::map_flags().iter().find(|f| f.0 == id.name) {
                Some((n, v)) => {
                    names.push(n.to_string());
                    *value |= v;
                }
                None => {
                    let hint = suggest(&id.name, builtins::map_flags().iter().map(|f| f.0));
                    let d = self.error(id.span, format!("unknown map flag `{}`", id.name));
                    if let Some(h) = hint {
                        d.help = Some(format!("did you mean `{h}`?"));
                    }
                }
            },
            _ => {
                self.error(e.span, "map flags are `BPF_F_*` names joined with `|`");
            }
        }
    }

    fn collect_global(&mut self, item: &ast::Item, g: &ast::GlobalVar) {
        let declared = g.ty.as_ref().map(|t| self.resolve_type(t));
        let init = g.init.as_ref().and_then(|e| {
            let v = self.const_eval(e)?;
            Some((v, e.span))
        });
        let ty = match (declared, &init) {
            (Some(t), _) => t,
            // Spec 3.3.2: integer literals infer u32 (u64 when larger),
            // strings str(len + 1), null *u8, arrays of the element type.
            (None, Some(((v, t), _))) => match (v, self.types.kind(*t)) {
                (_, TypeKind::Null) => {
                    let u8_ = self.types.u8_;
                    self.types.ptr(u8_)
                }
                _ => *t,
            },
            (None, None) => {
                self.error(
                    g.name.span,
                    format!("global `{}` needs a type or an initial value", g.name.name),
                )
                .help = Some(format!("write `var {}: u32 = 0`", g.name.name));
                self.types.error
            }
        };
        let value = match init {
            Some(((v, vt), span)) => self.fit_value(v, vt, ty, span),
            None => None,
        };
        if matches!(self.types.kind(ty), TypeKind::Void) {
            self.error(g.name.span, "a global cannot have type `void`");
        }
        let visibility = if g.pin {
            ir::GlobalVisibility::Pinned
        } else if g.local {
            ir::GlobalVisibility::Local
        } else {
            ir::GlobalVisibility::Shared
        };
        let span = self.span(item.span);
        self.globals.push(ir::Global {
            name: g.name.name.clone(),
            ty,
            init: value,
            visibility,
            span,
        });
        let id = ir::GlobalId(self.globals.len() as u32 - 1);
        self.define(&g.name, Sym::Global(id));
    }

    /// Report a name declared twice in one list (struct or config fields).
    fn check_unique<'n>(&mut self, what: &str, names: impl Iterator<Item = &'n ast::Ident>) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for n in names {
            if let Some(prev) = seen.insert(&n.name, n.span) {
                let d = Diagnostic::error(n.span, format!("{what} `{}` is declared twice", n.name))
                    .with_secondary(prev, "first declared here");
                self.diags.push(d);
            }
        }
    }

    fn collect_config(&mut self, c: &ast::ConfigDecl) {
        let mut fields = Vec::new();
        self.check_unique("config field", c.fields.iter().map(|f| &f.name));
        for f in &c.fields {
            let ty = self.resolve_type(&f.ty);
            let default = f.default.as_ref().and_then(|e| {
                let (v, vt) = self.const_eval(e)?;
                self.fit_value(v, vt, ty, e.span)
            });
            fields.push(ir::ConfigField {
                name: f.name.name.clone(),
                ty,
                default,
            });
        }
        let span = self.span(c.name.span);
        self.configs.push(ir::Config {
            name: c.name.name.clone(),
            fields,
            span,
        });
        let id = ir::ConfigId(self.configs.len() as u32 - 1);
        self.define(&c.name, Sym::Config(id));
    }

    // ------------------------------------------------------------ functions

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
                    ops,
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
                            self.error(a.span, format!("unknown TC direction `{other}`"))
                                .help =
                                Some("write `@tc(\"ingress\")` or `@tc(\"egress\")`".into());
                            true
                        }
                        None => {
                            self.error(a.span, "`@tc` needs a direction").help =
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
                            self.error(a.span, "`@tracepoint` needs \"category/event\"")
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
                                    a.span,
                                    "the probe offset must be a number: `@probe(\"func+16\")`",
                                );
                            }
                            (f.to_string(), off)
                        }
                        None => (target.clone(), None),
                    };
                    if function.is_empty() {
                        self.error(a.span, "`@probe` needs the kernel function to probe")
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
                "helper" => (FnKind::Helper, None),
                "kfunc" => (FnKind::Kfunc, None),
                "private" => (FnKind::Private, None),
                "test" => (FnKind::Test, None),
                "struct_ops" => {
                    self.error(a.span, "`@struct_ops` goes on an `impl` block");
                    continue;
                }
                other => {
                    let known = [
                        "xdp",
                        "tc",
                        "tracepoint",
                        "probe",
                        "lsm",
                        "helper",
                        "kfunc",
                        "private",
                        "test",
                    ];
                    let hint = suggest(other, known.into_iter());
                    let d = self.error(a.name.span, format!("unknown attribute `@{other}`"));
                    d.help = Some(match hint {
                        Some(h) => format!("did you mean `@{h}`?"),
                        None => format!(
                            "function attributes are {}",
                            known.map(|k| format!("@{k}")).join(", ")
                        ),
                    });
                    continue;
                }
            };
            if kind.is_some() {
                self.error(a.span, "a function has at most one kind attribute");
                continue;
            }
            kind = Some(k);
        }
        kind.unwrap_or((FnKind::Userspace, None))
    }

    fn collect_fn(
        &mut self,
        item: &'a ast::Item,
        f: &'a ast::FnDecl,
        in_impl: Option<(u32, &str)>,
    ) -> FnId {
        let (kind, prog_class) = self.fn_kind(item, &f.name, in_impl);
        let domain = match &kind {
            FnKind::Program(_) | FnKind::Helper => Domain::Ebpf,
            FnKind::Kfunc | FnKind::Private | FnKind::Extern => Domain::KernelModule,
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
            None => f.name.clone(),
        };
        let id = self.push_function(item, &fname, kind, domain, ret, info);
        if in_impl.is_none() {
            self.define(&f.name, Sym::Function(id));
            if f.name.name == "main" && domain == Domain::Userspace {
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
                span: self.span(*s),
            })
            .collect();
        let span = self.span(item.span);
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
                    self.error(ret_span, "an `@xdp` program returns `xdp_action`")
                        .label = format!("found `{}`", self.types.display(ret));
                }
            }
            FnKind::Program(ProgramType::Tc { .. }) => {
                self.expect_ctx(f, params, self.sk_buff, "*__sk_buff");
                if !int_ret(&self.types) {
                    self.error(
                        ret_span,
                        "a `@tc` program returns `i32` (a `TC_ACT_*` value)",
                    );
                }
            }
            FnKind::Program(ProgramType::Tracepoint { .. }) => {
                if params.len() != 1
                    || !self.types.pointee(params[0].1).is_some_and(|p| {
                        self.types.struct_def(p).is_some() || self.types.is_error(p)
                    })
                {
                    self.error(f.name.span, "a `@tracepoint` program takes one parameter: `ctx: *trace_event_raw_<event>`");
                }
                if !int_ret(&self.types) {
                    self.error(ret_span, "a `@tracepoint` program returns `i32`");
                }
            }
            FnKind::Program(ProgramType::Probe { function, offset }) => {
                if offset.is_none() && !function.is_empty() {
                    self.check_probe_target(f, function, params);
                }
                if ret != self.types.i32_ {
                    self.error(ret_span, "probe functions must return `i32`")
                        .label = format!("found `{}`", self.types.display(ret));
                }
                if params.len() > 6 {
                    self.error(
                        f.name.span,
                        "a probe takes at most 6 parameters (the argument registers)",
                    );
                }
                if offset.is_some() && !params.is_empty() {
                    self.error(f.params[0].span, "a probe at an offset has no parameters")
                        .help = Some(
                        "only `@probe(\"function\")` at function entry sees the arguments".into(),
                    );
                }
            }
            FnKind::Userspace if f.name.name == "main" => {
                if !int_ret(&self.types) {
                    self.error(ret_span, "`main` returns `i32` (the process exit status)");
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
                                        self.error(*s, format!("command-line field `{}` has type `{}`", field.name, self.types.display(field.ty))).help =
                                        Some("`main(args)` fields must be integers, bools or `str(N)`".into());
                                    }
                                }
                            }
                            None if self.types.is_error(*t) => {}
                            None => {
                                self.error(*s, "`main` takes its command-line options as one struct: `main(args: Args)`");
                            }
                        }
                    }
                    _ => {
                        self.error(
                            f.name.span,
                            "`main` takes no parameter or one struct of command-line options",
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// `@probe("f")` against the running kernel's BTF: the function
    /// exists, and the parameters agree in number and kind.
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
            let kernel_ptr = matches!(kty, crate::btf::BtfType::Pointer(_));
            let ours_ptr = self.types.pointee(*ty).is_some();
            let ours_int =
                self.types.is_integer(*ty) || matches!(self.types.kind(*ty), TypeKind::Bool);
            if kernel_ptr != ours_ptr || (!ours_ptr && !ours_int) {
                let what = if kernel_ptr {
                    "a pointer"
                } else {
                    "an integer"
                };
                self.error(
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
                span,
                format!("this program takes one parameter: `ctx: {written}`"),
            );
        }
    }

    fn collect_extern(&mut self, item: &'a ast::Item, e: &'a ast::ExternDecl) {
        if let Some(b) = &e.body {
            self.error(b.span, "an `extern` function cannot have a body").help =
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
        let id = self.push_function(
            item,
            &e.name,
            FnKind::Extern,
            Domain::KernelModule,
            ret,
            info,
        );
        // `extern bpf_ktime_get_ns() -> u64` re-declares a helper: allowed.
        if builtins::bpf_helpers().iter().any(|h| h.0 == e.name.name) {
            self.syms.insert(
                e.name.name.clone(),
                SymInfo {
                    sym: Sym::Function(id),
                    span: Some(e.name.span),
                },
            );
        } else {
            self.define(&e.name, Sym::Function(id));
        }
    }

    fn collect_impl(&mut self, item: &'a ast::Item, i: &'a ast::ImplDecl) {
        let ops_type = match item.attrs.iter().find(|a| a.name.name == "struct_ops") {
            Some(a) => self.attr_string(a).unwrap_or_default(),
            None => {
                self.error(
                    i.name.span,
                    "an `impl` block needs `@struct_ops(\"kernel_ops_type\")`",
                );
                String::new()
            }
        };
        let index = self.struct_ops.len() as u32;
        self.impl_names.push(i.name.name.clone());
        // The kernel's struct: members are checked against it (BTF).
        let layout = if ops_type.is_empty() {
            None
        } else {
            match self.btf().map(|b| b.find_struct(&ops_type)) {
                Some(Some(l)) => Some(l),
                Some(None) => {
                    // Warning: e.g. `sched_ext_ops` exists only on newer kernels
                    // than the build machine's; members go unchecked.
                    self.warning(
                        i.name.span,
                        format!("kernel struct `{ops_type}` is not in this kernel's BTF"),
                    )
                    .help = Some(
                        "members are not checked, and registering fails on this kernel".into(),
                    );
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
                                f.name.span,
                                format!("`{ops_type}` has no function member `{}`", f.name.name),
                            );
                        }
                        let id = self.collect_fn(fi, f, Some((index, &ops_type)));
                        members.push((f.name.name.clone(), id));
                    }
                }
                ast::ImplMember::Field { name, value, .. } => {
                    let size = match (&layout, member_of(&name.name)) {
                        (Some(_), Some(m)) => btf_size(&m.ty),
                        (Some(_), None) => {
                            self.error(
                                name.span,
                                format!("`{ops_type}` has no member `{}`", name.name),
                            );
                            continue;
                        }
                        (None, _) => 8,
                    };
                    if let Some((v, _)) = self.const_eval(value) {
                        // A string member (`name`) is a char array with its NUL.
                        if let (Value::Str(text), Some(_)) = (&v, &layout) {
                            if text.len() >= size as usize {
                                self.error(
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
                        fields.push((name.name.clone(), v, size));
                    }
                }
            }
        }
        // A table needs its name (tcp_congestion_ops does): the impl's name.
        if !fields.iter().any(|f| f.0 == "name") {
            if let Some(m) = member_of("name") {
                let size = btf_size(&m.ty);
                let mut default = i.name.name.clone();
                let max = (size as usize).saturating_sub(1);
                if default.len() > max {
                    // The spec's examples use long impl names: cut, and say so.
                    default.truncate(max);
                    self.warning(
                        i.name.span,
                        format!("the table is registered as `{default}`: `{ops_type}.name` holds {max} characters"),
                    )
                    .help = Some("choose the name with `name: \"...\",` in the impl".into());
                }
                fields.push(("name".into(), Value::Str(default), size));
            }
        }
        let span = self.span(item.span);
        self.struct_ops.push(ir::StructOps {
            name: i.name.name.clone(),
            ops_type,
            members,
            fields,
            span,
        });
        self.define(&i.name, Sym::StructOps(index));
    }

    // ------------------------------------------------------------ pass 2: bodies

    pub fn check_bodies(&mut self) {
        for i in 0..self.functions.len() {
            if let Some(decl) = self.fn_info[i].decl {
                let body = {
                    let mut fx = FnCx::new(self, FnId(i as u32));
                    let b = fx.block(&decl.body);
                    let ret_local = fx.ret_local;
                    let locals = std::mem::take(&mut fx.locals);
                    let falls = fx.falls_off(&b);
                    (b, ret_local, locals, falls)
                };
                let (mut b, ret_local, locals, falls) = body;
                // The named return value is an ordinary local, declared
                // (zeroed) where the function starts.
                if let Some(rl) = ret_local {
                    let span = self.functions[i].span;
                    b.stmts.insert(
                        0,
                        ir::Stmt {
                            kind: ir::StmtKind::Let {
                                local: rl,
                                init: None,
                            },
                            span,
                        },
                    );
                }
                let f = &self.functions[i];
                let ret = f.ret;
                if falls {
                    if let Some(rl) = ret_local {
                        let ty = ret;
                        let span = f.span;
                        b.stmts.push(ir::Stmt {
                            kind: ir::StmtKind::Return(Some(ir::Expr {
                                kind: ir::ExprKind::Local(rl),
                                ty,
                                span,
                            })),
                            span,
                        });
                    } else if !matches!(self.types.kind(ret), TypeKind::Void)
                        && !self.types.is_error(ret)
                    {
                        let end = Span {
                            start: decl.body.span.end.saturating_sub(1),
                            end: decl.body.span.end,
                        };
                        self.error(
                            end,
                            format!(
                                "`{}` may reach its end without returning a value",
                                decl.name.name
                            ),
                        )
                        .help = Some(format!(
                            "add a `return` of type `{}`",
                            self.types.display(ret)
                        ));
                    }
                }
                let f = &mut self.functions[i];
                f.body = b;
                f.ret_local = ret_local;
                f.locals = locals;
            }
        }
    }
}

/// Size in bytes of a BTF member type (for struct_ops data members).
fn btf_size(t: &crate::btf::BtfType) -> u32 {
    use crate::btf::BtfType as B;
    match t {
        B::Int { bits, .. } => bits / 8,
        B::Char | B::Bool => 1,
        B::Pointer(_) => 8,
        B::Array(e, n) => btf_size(e) * n,
        B::Enum { size, .. } => *size,
        B::Struct(l) => l.size,
        _ => 8,
    }
}

fn value_int(v: &Value) -> Option<i128> {
    match v {
        Value::Int(n) => Some(*n as i128),
        Value::UInt(n) => Some(*n as i128),
        Value::Char(c) => Some(*c as i128),
        Value::Bool(b) => Some(*b as i128),
        _ => None,
    }
}

fn int_value(it: IntType, n: i128) -> Value {
    if it.signed() {
        Value::Int(n as i64)
    } else {
        Value::UInt(n as u64)
    }
}

// ---------------------------------------------------------------- function bodies

/// Checking one function body.
struct FnCx<'c, 'a> {
    c: &'c mut Checker<'a>,
    id: FnId,
    domain: Domain,
    kind: FnKind,
    ret: TypeId,
    ret_local: Option<LocalId>,
    locals: Vec<ir::Local>,
    scopes: Vec<HashMap<String, (LocalId, bool)>>,
    loops: u32,
    /// Inside a `defer` block (no `return` there).
    in_defer: bool,
}

impl<'c, 'a> FnCx<'c, 'a> {
    fn new(c: &'c mut Checker<'a>, id: FnId) -> Self {
        let f = &c.functions[id.index()];
        let (domain, kind, ret) = (f.domain, f.kind.clone(), f.ret);
        let locals = f.locals.clone();
        let mut scope = HashMap::new();
        for (i, l) in locals.iter().enumerate() {
            scope.insert(l.name.clone(), (LocalId(i as u32), false));
        }
        let mut fx = FnCx {
            c,
            id,
            domain,
            kind,
            ret,
            ret_local: None,
            locals,
            scopes: vec![scope],
            loops: 0,
            in_defer: false,
        };
        if let Some((name, span)) = fx.c.fn_info[id.index()].ret_name.clone() {
            let l = fx.declare(&name, ret, span, false);
            fx.ret_local = Some(l);
        }
        fx
    }

    fn ebpf(&self) -> bool {
        self.domain == Domain::Ebpf
    }

    fn declare(&mut self, name: &str, ty: TypeId, span: Span, is_const: bool) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        let s = self.c.span(span);
        self.locals.push(ir::Local {
            name: name.to_string(),
            ty,
            span: s,
        });
        self.scopes
            .last_mut()
            .unwrap()
            .insert(name.to_string(), (id, is_const));
        id
    }

    fn lookup_local(&self, name: &str) -> Option<(LocalId, bool)> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn local_names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|s| s.keys().cloned()).collect()
    }

    fn t(&self) -> &Types {
        &self.c.types
    }

    fn mk(&self, kind: ir::ExprKind, ty: TypeId, span: Span) -> ir::Expr {
        ir::Expr {
            kind,
            ty,
            span: self.c.span(span),
        }
    }

    fn err_expr(&self, span: Span) -> ir::Expr {
        self.mk(ir::ExprKind::Value(Value::Zero), self.c.types.error, span)
    }

    fn block(&mut self, b: &ast::Block) -> ir::Block {
        self.scopes.push(HashMap::new());
        let mut stmts = Vec::new();
        let mut dead_reported = false;
        for s in &b.stmts {
            if !dead_reported
                && stmts.last().is_some_and(|l: &ir::Stmt| {
                    matches!(
                        l.kind,
                        ir::StmtKind::Return(_)
                            | ir::StmtKind::TailCall { .. }
                            | ir::StmtKind::Throw(_)
                            | ir::StmtKind::Break
                            | ir::StmtKind::Continue
                    )
                })
            {
                // Unreachable code is legal but suspicious.
                self.c.warning(s.span, "unreachable statement").label =
                    "control never reaches this".into();
                dead_reported = true;
            }
            if let Some(st) = self.stmt(s) {
                stmts.push(st);
            }
        }
        self.scopes.pop();
        ir::Block { stmts }
    }

    fn sub_block(&mut self, s: &ast::Stmt) -> ir::Block {
        match &s.kind {
            AS::Block(b) => self.block(b),
            _ => {
                self.scopes.push(HashMap::new());
                let st = self.stmt(s);
                self.scopes.pop();
                ir::Block {
                    stmts: st.into_iter().collect(),
                }
            }
        }
    }

    /// Does control reach the end of this block?
    fn falls_off(&self, b: &ir::Block) -> bool {
        match b.stmts.last().map(|s| &s.kind) {
            None => true,
            Some(
                ir::StmtKind::Return(_) | ir::StmtKind::TailCall { .. } | ir::StmtKind::Throw(_),
            ) => false,
            Some(ir::StmtKind::If { then, els, .. }) => self.falls_off(then) || self.falls_off(els),
            Some(ir::StmtKind::Block(b)) => self.falls_off(b),
            Some(ir::StmtKind::Loop { body }) => contains_break(body),
            Some(ir::StmtKind::While { cond, body }) => {
                !matches!(cond.kind, ir::ExprKind::Value(Value::Bool(true))) || contains_break(body)
            }
            Some(ir::StmtKind::Try { body, catches }) => {
                self.falls_off(body) || catches.iter().any(|c| self.falls_off(&c.body))
            }
            Some(_) => true,
        }
    }

    fn stmt(&mut self, s: &ast::Stmt) -> Option<ir::Stmt> {
        let span = self.c.span(s.span);
        let kind = match &s.kind {
            AS::Var {
                is_const,
                name,
                ty,
                init,
            } => {
                let declared = ty.as_ref().map(|t| self.c.resolve_type(t));
                let init = match (init, declared) {
                    (Some(e), Some(t)) => Some(self.coerce_expr(e, t, true)),
                    (Some(e), None) => {
                        let x = self.expr_ptr_ok(e, None);
                        Some(self.default_int(x))
                    }
                    (None, _) => None,
                };
                let ty = match (declared, &init) {
                    (Some(t), _) => t,
                    (None, Some(x)) => {
                        if matches!(self.t().kind(x.ty), TypeKind::Null) {
                            self.c
                                .error(name.span, "cannot infer a type from `null`")
                                .help = Some(format!("write `var {}: *T = null`", name.name));
                            self.c.types.error
                        } else if matches!(self.t().kind(x.ty), TypeKind::Void) {
                            self.c
                                .error(name.span, "this expression has no value (`void`)");
                            self.c.types.error
                        } else {
                            x.ty
                        }
                    }
                    (None, None) => {
                        self.c
                            .error(
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
                    self.c.error(name.span, "a `const` needs a value");
                }
                if self.ebpf() && self.t().size(ty) > 256 && !self.t().is_error(ty) {
                    let size = self.t().size(ty);
                    let help = Some("large buffers belong in a map (a one-entry `percpu_array` works as scratch space)".into());
                    if size > crate::analysis::STACK_LIMIT {
                        self.c.error(name.span, format!("`{}` needs {size} bytes, more than the whole 512-byte eBPF stack", name.name)).help = help;
                        self.c.oversized.insert(self.id);
                    } else {
                        self.c
                            .warning(
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
                ir::StmtKind::Let { local, init }
            }
            AS::Assign { target, op, value } => return self.assign(s, target, *op, value),
            AS::Expr(e) => {
                let x = self.expr(e, None);
                if let ir::ExprKind::Binary {
                    op: ir::BinOp::Eq, ..
                } = x.kind
                {
                    self.c.warning(e.span, "comparison result is unused").help =
                        Some("did you mean `=` (assignment)?".into());
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
            AS::ForRange {
                var,
                start,
                end,
                body,
            } => {
                let (start_e, end_e) = (start, end);
                let s0 = self.expr(start, None);
                let e0 = self.expr(end, None);
                let (start, end) = self.unify_ints(s0, e0, s.span);
                for (bound, ast_e) in [(&start, start_e), (&end, end_e)] {
                    if !self.t().is_integer(bound.ty) && !self.t().is_error(bound.ty) {
                        let found = self.t().display(bound.ty);
                        let pointer = self.t().pointee(bound.ty).is_some();
                        let d = self.c.error(ast_e.span, "a range bound must be an integer");
                        d.label = format!("found `{found}`");
                        if pointer {
                            d.help = Some("this is a pointer to a map entry (`var x = m[k]` keeps the entry); read the value: `m[k]` in the range, or `*x` after a null check".into());
                        }
                    }
                }
                let ty = if self.t().is_integer(start.ty) {
                    start.ty
                } else {
                    if !self.t().is_error(start.ty) {
                        self.c.error(s.span, "a range loop runs over integers");
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
                    AE::Name(id) => match self.c.syms.get(&id.name).map(|s| s.sym) {
                        Some(Sym::Map(m)) => Some(m),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(map) = map else {
                    self.c
                        .error(iter.span, "`for (k, v) in ...` iterates over a map")
                        .label = "not a map".into();
                    return None;
                };
                if self.ebpf() {
                    self.c
                        .error(
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
                        .error(s.span, format!("`{word}` outside of a loop"))
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
                    self.c.error(map.span, "`delete` removes a map entry").label =
                        "not a map".into();
                    return None;
                };
                let kt = self.c.maps[m.index()].key;
                let key = self.coerce_expr(key, kt, false);
                ir::StmtKind::MapDelete { map: m, key }
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
                    self.c.error(s.span, "`try` needs at least one `catch`");
                }
                ir::StmtKind::Try { body, catches: cs }
            }
            AS::Throw(e) => {
                let x = self.expr(e, None);
                let x = self.default_int(x);
                if !self.t().is_integer(x.ty) && !self.t().is_error(x.ty) {
                    self.c
                        .error(e.span, "`throw` takes an integer error code")
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

    fn ret(&mut self, s: &ast::Stmt, e: Option<&ast::Expr>) -> Option<ir::Stmt> {
        let span = self.c.span(s.span);
        if self.in_defer {
            self.c.error(s.span, "`return` inside `defer`").help = Some(
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
        if let AE::Match { scrutinee, arms } = &e.kind {
            if arms.iter().any(|a| self.is_program_call(&a.body)) {
                return self.ret_match(s, scrutinee, arms);
            }
        }
        // `return prog(ctx)` between programs of one type is a tail call.
        if let AE::Call { callee, args } = &e.kind {
            if let AE::Name(id) = &callee.kind {
                if let Some(Sym::Function(target)) = self.c.syms.get(&id.name).map(|s| s.sym) {
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
            self.c.error(e.span, "this function returns nothing").help =
                Some("remove the value, or declare a return type with `->`".into());
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

    fn is_program_call(&self, e: &ast::Expr) -> bool {
        let AE::Call { callee, .. } = &e.kind else {
            return false;
        };
        let AE::Name(id) = &callee.kind else {
            return false;
        };
        self.lookup_local(&id.name).is_none()
            && matches!(
                self.c.syms.get(&id.name).map(|s| s.sym),
                Some(Sym::Function(f)) if matches!(self.c.functions[f.index()].kind, FnKind::Program(_))
            )
    }

    /// `return match (...) { ... }` with program calls in arms, lowered to
    /// an `if` chain of returns and tail calls.
    fn ret_match(
        &mut self,
        s: &ast::Stmt,
        scrutinee: &ast::Expr,
        arms: &[ast::MatchArm],
    ) -> Option<ir::Stmt> {
        let span = self.c.span(s.span);
        let x = self.expr(scrutinee, None);
        if !self.t().is_integer(x.ty) && !self.t().is_error(x.ty) {
            self.c
                .error(scrutinee.span, "`match` works on integers and enums");
        }
        let ty = x.ty;
        let m = self.declare("__match", ty, scrutinee.span, true);
        let mut chain: Option<ir::Block> = None;
        let mut default: Option<&ast::MatchArm> = None;
        let mut cases: Vec<(i64, &ast::MatchArm)> = Vec::new();
        for arm in arms {
            match &arm.pattern {
                ast::Pattern::Default(_) => default = Some(arm),
                ast::Pattern::Int(n, _) => cases.push((*n as i64, arm)),
                ast::Pattern::Char(c, _) => cases.push((*c as i64, arm)),
                ast::Pattern::Name(id) => {
                    if let Some(v) = self.c.const_int(id) {
                        cases.push((v as i64, arm));
                    }
                }
            }
        }
        let arm_stmt = |fx: &mut Self, arm: &ast::MatchArm| -> ir::Block {
            let st = ast::Stmt {
                kind: AS::Return(Some(arm.body.clone())),
                span: arm.span,
            };
            ir::Block {
                stmts: fx.ret(&st, Some(&arm.body)).into_iter().collect(),
            }
        };
        match default {
            Some(d) => chain = Some(arm_stmt(self, d)),
            None => {
                self.c.error(s.span, "`match` needs a `default` arm").help =
                    Some("add `default: value` for the values no arm names".into());
            }
        }
        for (v, arm) in cases.into_iter().rev() {
            let then = arm_stmt(self, arm);
            let it = self.t().as_int(ty).unwrap_or(IntType::I64);
            let lit = self.mk(ir::ExprKind::Value(int_value(it, v as i128)), ty, arm.span);
            let local = self.mk(ir::ExprKind::Local(m), ty, arm.span);
            let bool_ = self.c.types.bool_;
            let cond = self.mk(
                ir::ExprKind::Binary {
                    op: ir::BinOp::Eq,
                    lhs: Box::new(local),
                    rhs: Box::new(lit),
                },
                bool_,
                arm.span,
            );
            let els = chain.take().unwrap_or(ir::Block { stmts: vec![] });
            chain = Some(ir::Block {
                stmts: vec![ir::Stmt {
                    kind: ir::StmtKind::If { cond, then, els },
                    span: self.c.span(arm.span),
                }],
            });
        }
        let mut stmts = vec![ir::Stmt {
            kind: ir::StmtKind::Let {
                local: m,
                init: Some(x),
            },
            span,
        }];
        stmts.extend(chain.map(|b| b.stmts).unwrap_or_default());
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
        let span = self.c.span(s.span);
        let my_class = self.c.fn_info[self.id.index()].prog_class;
        let its_class = self.c.fn_info[target.index()].prog_class;
        if !matches!(self.kind, FnKind::Program(_)) {
            self.program_call_error(id, target);
            return None;
        }
        if my_class != its_class {
            self.c
                .error(
                    id.span,
                    format!(
                        "tail call from an `@{}` program to an `@{}` program",
                        my_class.unwrap_or("?"),
                        its_class.unwrap_or("?")
                    ),
                )
                .help = Some("a tail call must stay within one program type".into());
            return None;
        }
        let ctx = match args {
            [a] => self.expr(a, None),
            _ => {
                self.c.error(
                    id.span,
                    "a tail call passes exactly the context: `return next(ctx)`",
                );
                return None;
            }
        };
        if ctx.ty != self.locals[0].ty || !matches!(ctx.kind, ir::ExprKind::Local(LocalId(0))) {
            self.c.error(
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
            Some("xdp") => self.mk(ir::ExprKind::Value(Value::UInt(0)), self.ret, s.span),
            Some("tc") => self.mk(ir::ExprKind::Value(Value::Int(2)), self.ret, s.span),
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

    fn program_call_error(&mut self, id: &ast::Ident, target: FnId) {
        let userspace = self.domain == Domain::Userspace;
        let d = self.c.error(
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
        let span = self.c.span(s.span);
        // Map entries: `m[k] = v`, `m[k] op= v`, `m[k].f op= v`.
        if let Some((map, key, path)) = self.map_place(target) {
            let m = &self.c.maps[map.index()];
            let (kt, mut vt) = (m.key, m.value);
            let key = self.coerce_expr(key, kt, false);
            let mut field_path = Vec::new();
            for f in &path {
                let Some(def) = self.t().struct_def(vt).cloned() else {
                    self.c
                        .error(f.span, format!("`{}` has no fields", self.t().display(vt)));
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
                    self.c.error(target.span, "assign the whole map value, or update a field with a compound assignment").help =
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
                        self.c
                            .error(
                                value.span,
                                format!("mismatched types: `{b}` {}= `{a}`", op.symbol()),
                            )
                            .help = Some(format!("convert explicitly: `... as {b}`"));
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

    fn map_of(&self, e: &ast::Expr) -> Option<ir::MapId> {
        match &e.kind {
            AE::Name(id) if self.lookup_local(&id.name).is_none() => {
                match self.c.syms.get(&id.name).map(|s| s.sym) {
                    Some(Sym::Map(m)) => Some(m),
                    _ => None,
                }
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
            K::ConfigField(..) => {
                if self.ebpf() {
                    self.c
                        .error(target.span, "configs are read-only in eBPF programs")
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
                    AE::Name(id) => match self.c.syms.get(&id.name).map(|s| s.sym) {
                        Some(Sym::Const(_))
                        | Some(Sym::EnumVariant(..))
                        | Some(Sym::BuiltinConst(..)) => {
                            self.c
                                .error(
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
                    .error(target.span, format!("cannot assign to {what}"))
                    .help = Some("assign to a variable, a field, an element or `*pointer`".into());
                return None;
            }
        }
        Some(())
    }

    fn no_field(&mut self, f: &ast::Ident, def: &ir::StructDef) {
        let hint = suggest(&f.name, def.fields.iter().map(|d| d.name.as_str()));
        let d = self
            .c
            .error(f.span, format!("`{}` has no field `{}`", def.name, f.name));
        d.label = "unknown field".into();
        d.help = Some(match hint {
            Some(h) => format!("did you mean `{h}`?"),
            None => format!(
                "the fields are {}",
                def.fields
                    .iter()
                    .map(|d| format!("`{}`", d.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }

    fn check_arith(&mut self, op: ir::BinOp, a: TypeId, b: TypeId, span: Span) {
        if self.t().is_error(a) || self.t().is_error(b) {
            return;
        }
        let ok = self.t().is_integer(a) && self.t().is_integer(b);
        if !ok {
            let (x, y) = (self.t().display(a), self.t().display(b));
            self.c
                .error(
                    span,
                    format!("`{}` cannot be applied to `{x}` and `{y}`", op.symbol()),
                )
                .help = Some("arithmetic and bitwise operators work on integers".into());
        }
    }

    /// A condition: bool, integer or pointer (C's truthiness).
    fn cond(&mut self, e: &ast::Expr) -> ir::Expr {
        let x = self.expr_ptr_ok(e, None);
        let x = self.default_int(x);
        let ok = matches!(
            self.t().kind(x.ty),
            TypeKind::Bool
                | TypeKind::Int(_)
                | TypeKind::Enum(_)
                | TypeKind::Char
                | TypeKind::Pointer(_)
        ) || self.t().is_error(x.ty);
        if !ok {
            self.c
                .error(
                    e.span,
                    "a condition must be a `bool`, an integer or a pointer",
                )
                .label = format!("found `{}`", self.t().display(x.ty));
        }
        x
    }

    // ------------------------------------------------------------ expressions

    /// An integer literal without context type becomes `u32` (`u64` if larger).
    fn default_int(&self, x: ir::Expr) -> ir::Expr {
        x
    }

    /// Give an untyped integer literal the type `to` (if it fits).
    fn adapt_literal(&mut self, mut x: ir::Expr, to: TypeId) -> ir::Expr {
        if let ir::ExprKind::Value(v) = &x.kind {
            if let (Some(n), Some(it)) = (value_int(v), self.t().as_int(to)) {
                if self.t().is_integer(x.ty)
                    && !matches!(self.t().kind(x.ty), TypeKind::Enum(_))
                    && !matches!(v, Value::Bool(_))
                {
                    let (lo, hi) = it.range();
                    if n >= lo && n <= hi {
                        x.kind = ir::ExprKind::Value(int_value(it, n));
                        x.ty = to;
                    }
                }
            }
        }
        x
    }

    fn cast_to(&self, x: ir::Expr, to: TypeId) -> ir::Expr {
        if x.ty == to || self.t().is_error(x.ty) || self.t().is_error(to) {
            return x;
        }
        let span = x.span;
        ir::Expr {
            kind: ir::ExprKind::Cast(Box::new(x)),
            ty: to,
            span,
        }
    }

    /// Check `e` where a `to` is expected, inserting the implicit widening.
    /// `print("fmt", values...)` with conversions: as many values as
    /// conversions, each of a kind its conversion formats. (Without any
    /// conversion the values are printed after the text: DECISIONS.md.)
    fn check_print_format(&mut self, out: &[ir::Expr], args: &[ast::Expr], span: Span) {
        let Some(ir::ExprKind::Value(Value::Str(fmt))) = out.first().map(|e| &e.kind) else {
            return;
        };
        let convs = match format_conversions(fmt) {
            Ok(c) => c,
            Err(msg) => {
                self.c.error(args[0].span, msg).help = Some(
                    "the conversions are %d %i %u %x %X %o %c %s %p (and %% for a percent sign)"
                        .into(),
                );
                return;
            }
        };
        if convs.is_empty() {
            return;
        }
        let values = &out[1..];
        if convs.len() != values.len() {
            let (n, m) = (convs.len(), values.len());
            self.c
                .error(
                    span,
                    format!(
                        "the format has {n} conversion{} but {m} value{} follow{}",
                        if n == 1 { "" } else { "s" },
                        if m == 1 { "" } else { "s" },
                        if m == 1 { "s" } else { "" }
                    ),
                )
                .help = Some("give one value per `%` conversion".into());
            return;
        }
        for ((conv, v), a) in convs.iter().zip(values).zip(&args[1..]) {
            if self.t().is_error(v.ty) {
                continue;
            }
            let kind = self.t().kind(v.ty).clone();
            let texty = |t: &Self, e: TypeId| {
                matches!(
                    t.t().kind(e),
                    TypeKind::Char | TypeKind::Int(IntType::U8 | IntType::I8)
                )
            };
            let integer = matches!(
                kind,
                TypeKind::Int(_) | TypeKind::Bool | TypeKind::Char | TypeKind::Enum(_)
            );
            let text = match kind {
                TypeKind::Str(_) => true,
                TypeKind::Array(e, _) | TypeKind::Pointer(e) => texty(self, e),
                _ => false,
            };
            let pointer = matches!(kind, TypeKind::Pointer(_));
            let (fits, wants) = match conv {
                's' => (text, "a string (`str(N)`, a `u8`/`char` array or pointer)"),
                'p' => (pointer, "a pointer"),
                _ => (integer, "an integer"),
            };
            if !fits {
                let found = self.t().display(v.ty);
                self.c
                    .error(
                        a.span,
                        format!("`%{conv}` formats {wants}, but this is a `{found}`"),
                    )
                    .help = Some(if text {
                    "use `%s` for text".into()
                } else if integer {
                    "use `%d` (or `%u`, `%x`) for integers".into()
                } else {
                    "choose the conversion for this value's type".into()
                });
            }
        }
    }

    fn coerce_expr(&mut self, e: &ast::Expr, to: TypeId, ptr_ok: bool) -> ir::Expr {
        let x = if ptr_ok && self.t().pointee(to).is_some() {
            self.expr_ptr_ok(e, Some(to))
        } else {
            self.expr(e, Some(to))
        };
        self.coerce(x, to, e.span)
    }

    fn coerce(&mut self, x: ir::Expr, to: TypeId, span: Span) -> ir::Expr {
        let x = self.adapt_literal(x, to);
        if self.t().coerces(x.ty, to) {
            return self.cast_to(x, to);
        }
        // A function used as a value of function-pointer type.
        if let (ir::ExprKind::FnRef(f), TypeKind::Function(sig)) = (&x.kind, self.t().kind(to)) {
            let fun = &self.c.functions[f.index()];
            let params: Vec<TypeId> = fun.locals[..fun.params as usize]
                .iter()
                .map(|l| l.ty)
                .collect();
            if params == sig.params && fun.ret == sig.ret {
                let mut x = x;
                x.ty = to;
                return x;
            }
        }
        if let ir::ExprKind::Value(v) = &x.kind {
            if let (Some(n), Some(it)) = (value_int(v), self.t().as_int(to)) {
                if self.t().is_integer(x.ty) {
                    self.c
                        .error(span, format!("`{n}` does not fit in `{}`", it.name()));
                    return self.err_expr(span);
                }
            }
        }
        if let (TypeKind::Str(a), TypeKind::Str(b)) = (self.t().kind(x.ty), self.t().kind(to)) {
            let (a, b) = (*a, *b);
            self.c
                .error(
                    span,
                    format!("a string of {a} bytes does not fit in `str({b})`"),
                )
                .help = Some(format!(
                "`str(N)` holds N-1 characters and the terminating NUL; use `str({a})` or larger"
            ));
            return self.err_expr(span);
        }
        let (f, t) = (self.t().display(x.ty), self.t().display(to));
        let castable = self.t().castable(x.ty, to);
        let d = self.c.error(
            span,
            format!("mismatched types: expected `{t}`, found `{f}`"),
        );
        d.label = format!("expected `{t}`");
        if castable {
            d.help = Some(format!(
                "convert explicitly if the value fits: `... as {t}`"
            ));
        }
        self.err_expr(span)
    }

    /// Like `expr`, but a map access `m[k]` stays a pointer (MapLookup).
    fn expr_ptr_ok(&mut self, e: &ast::Expr, expect: Option<TypeId>) -> ir::Expr {
        if let AE::Index { base, index } = &e.kind {
            if let Some(m) = self.map_of(base) {
                return self.map_lookup(m, index, e.span);
            }
        }
        self.expr(e, expect)
    }

    fn map_lookup(&mut self, m: ir::MapId, key: &ast::Expr, span: Span) -> ir::Expr {
        let (kt, vt, kind) = {
            let map = &self.c.maps[m.index()];
            (map.key, map.value, map.kind)
        };
        if kind == ir::MapKind::Ringbuf {
            self.c.error(span, "a ring buffer has no keys").help =
                Some("use `reserve` and `submit`".into());
        }
        let key = self.coerce_expr(key, kt, false);
        let pt = self.c.types.ptr(vt);
        self.mk(
            ir::ExprKind::MapLookup {
                map: m,
                key: Box::new(key),
            },
            pt,
            span,
        )
    }

    fn unify_ints(&mut self, a: ir::Expr, b: ir::Expr, span: Span) -> (ir::Expr, ir::Expr) {
        let a_lit = matches!(a.kind, ir::ExprKind::Value(_));
        let b_lit = matches!(b.kind, ir::ExprKind::Value(_));
        let (a, b) = if a_lit && !b_lit {
            (self.adapt_literal(a, b.ty), b)
        } else if b_lit && !a_lit {
            let bt = a.ty;
            (a, self.adapt_literal(b, bt))
        } else {
            (a, b)
        };
        match (self.t().as_int(a.ty), self.t().as_int(b.ty)) {
            (Some(x), Some(y)) if a.ty != b.ty => match common_int(x, y) {
                Some(c) => {
                    let ct = self.c.types.int(c);
                    (self.cast_to(a, ct), self.cast_to(b, ct))
                }
                None => {
                    let (p, q) = (self.t().display(a.ty), self.t().display(b.ty));
                    self.c.error(span, format!("mismatched integer types `{p}` and `{q}`")).help =
                        Some(format!("neither converts to the other without loss; convert one explicitly: `x as {p}` or `y as {q}`"));
                    (a, b)
                }
            },
            _ => (a, b),
        }
    }

    fn expr(&mut self, e: &ast::Expr, expect: Option<TypeId>) -> ir::Expr {
        let span = e.span;
        match &e.kind {
            AE::Int(n) => {
                let ty = match expect.and_then(|t| self.t().as_int(t).map(|i| (t, i))) {
                    Some((t, it))
                        if (*n as i128) <= it.range().1
                            && !matches!(self.t().kind(t), TypeKind::Enum(_)) =>
                    {
                        t
                    }
                    _ if *n <= u32::MAX as u64 => self.c.types.u32_,
                    _ => self.c.types.u64_,
                };
                let v = int_value(self.t().as_int(ty).unwrap_or(IntType::U64), *n as i128);
                self.mk(ir::ExprKind::Value(v), ty, span)
            }
            AE::Bool(b) => self.mk(
                ir::ExprKind::Value(Value::Bool(*b)),
                self.c.types.bool_,
                span,
            ),
            AE::Char(c) => self.mk(
                ir::ExprKind::Value(Value::Char(*c)),
                self.c.types.char_,
                span,
            ),
            AE::Str(s) => {
                let ty = self.c.types.str_(s.len() as u32 + 1);
                self.mk(ir::ExprKind::Value(Value::Str(s.clone())), ty, span)
            }
            AE::Null => self.mk(ir::ExprKind::Value(Value::Null), self.c.types.null, span),
            AE::Name(id) => self.name(id),
            AE::Unary { op, operand } => self.unary(*op, operand, expect, span),
            AE::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, expect, span),
            AE::Cast { expr, ty } => {
                let to = self.c.resolve_type(ty);
                // `m[k] as T` converts the value; `m[k] as *T` the entry's pointer.
                let x = if self.t().pointee(to).is_some() {
                    self.expr_ptr_ok(expr, Some(to))
                } else {
                    self.expr(expr, Some(to))
                };
                let x = self.adapt_literal(x, to);
                if !self.t().castable(x.ty, to) {
                    let (f, t) = (self.t().display(x.ty), self.t().display(to));
                    self.c
                        .error(span, format!("cannot convert `{f}` to `{t}`"))
                        .help =
                        Some("`as` converts between integers, bools, enums and pointers".into());
                    return self.err_expr(span);
                }
                if x.ty == to {
                    return x;
                }
                self.mk(ir::ExprKind::Cast(Box::new(x)), to, span)
            }
            AE::Call { callee, args } => self.call(callee, args, span),
            AE::Field { base, field, arrow } => self.field(base, field, *arrow, span),
            AE::Index { base, index } => {
                if let Some(m) = self.map_of(base) {
                    let p = self.map_lookup(m, index, span);
                    let vt = self.c.maps[m.index()].value;
                    let ir::ExprKind::MapLookup { map, key } = p.kind else {
                        unreachable!()
                    };
                    return self.mk(ir::ExprKind::MapRead { map, key }, vt, span);
                }
                let b = self.expr(base, None);
                let i = self.expr(index, Some(self.c.types.u32_));
                if !self.t().is_integer(i.ty) && !self.t().is_error(i.ty) {
                    self.c
                        .error(index.span, "an index must be an integer")
                        .label = format!("found `{}`", self.t().display(i.ty));
                }
                let elem = match self.t().kind(b.ty).clone() {
                    TypeKind::Array(el, n) => {
                        if let ir::ExprKind::Value(v) = &i.kind {
                            if value_int(v).is_some_and(|k| k < 0 || k >= n as i128) {
                                self.c.error(
                                    index.span,
                                    format!("index out of bounds: the array has {n} elements"),
                                );
                            }
                        }
                        el
                    }
                    TypeKind::Str(_) => self.c.types.char_,
                    TypeKind::Pointer(p) => match self.t().kind(p).clone() {
                        TypeKind::Slice(el) | TypeKind::Array(el, _) => el,
                        _ => p,
                    },
                    _ if self.t().is_error(b.ty) => return self.err_expr(span),
                    _ => {
                        self.c
                            .error(
                                base.span,
                                format!("`{}` cannot be indexed", self.t().display(b.ty)),
                            )
                            .help =
                            Some("arrays, strings, pointers and maps can be indexed".into());
                        return self.err_expr(span);
                    }
                };
                self.mk(
                    ir::ExprKind::Index {
                        base: Box::new(b),
                        index: Box::new(i),
                    },
                    elem,
                    span,
                )
            }
            AE::StructLit { name, fields } => {
                let ty = self.c.named_type(name);
                let Some(def) = self.t().struct_def(ty).cloned() else {
                    if !self.t().is_error(ty) {
                        self.c
                            .error(name.span, format!("`{}` is not a struct", name.name));
                    }
                    return self.err_expr(span);
                };
                let mut out = Vec::new();
                let mut seen = Vec::new();
                for f in fields {
                    let Some(i) = def.fields.iter().position(|d| d.name == f.name.name) else {
                        self.no_field(&f.name, &def);
                        continue;
                    };
                    if seen.contains(&i) {
                        self.c
                            .error(f.name.span, format!("field `{}` is set twice", f.name.name));
                    }
                    seen.push(i);
                    let v = self.coerce_expr(&f.value, def.fields[i].ty, true);
                    out.push((i as u32, v));
                }
                self.mk(ir::ExprKind::StructLit(out), ty, span)
            }
            AE::ArrayLit(elems) => {
                let want_elem = expect.and_then(|t| match self.t().kind(t) {
                    TypeKind::Array(e, _) => Some(*e),
                    _ => None,
                });
                let mut xs: Vec<ir::Expr> = Vec::new();
                for el in elems {
                    let x = match want_elem.or(xs.first().map(|x| x.ty)) {
                        Some(t) => self.coerce_expr(el, t, false),
                        None => self.expr(el, None),
                    };
                    xs.push(x);
                }
                let et = want_elem
                    .or(xs.first().map(|x| x.ty))
                    .unwrap_or(self.c.types.u32_);
                if xs.is_empty() && want_elem.is_none() {
                    self.c
                        .error(span, "cannot infer the element type of an empty array");
                }
                if let Some(TypeKind::Array(_, n)) = expect.map(|t| self.t().kind(t).clone()) {
                    if xs.len() as u32 > n {
                        self.c.error(
                            span,
                            format!("{} elements do not fit in an array of {n}", xs.len()),
                        );
                    }
                    let ty = expect.unwrap();
                    return self.mk(ir::ExprKind::ArrayLit(xs), ty, span);
                }
                let ty = self.c.types.array(et, xs.len() as u32);
                self.mk(ir::ExprKind::ArrayLit(xs), ty, span)
            }
            AE::ArrayRepeat { value, count } => {
                let want_elem = expect.and_then(|t| match self.t().kind(t) {
                    TypeKind::Array(e, _) => Some(*e),
                    _ => None,
                });
                let v = match want_elem {
                    Some(t) => self.coerce_expr(value, t, false),
                    None => self.expr(value, None),
                };
                let n = self
                    .c
                    .const_eval(count)
                    .and_then(|(v, _)| value_int(&v))
                    .unwrap_or(0)
                    .clamp(0, 1 << 24) as u32;
                let ty = match expect {
                    Some(t) if want_elem.is_some() => t,
                    _ => self.c.types.array(v.ty, n),
                };
                self.mk(
                    ir::ExprKind::ArrayRepeat {
                        value: Box::new(v),
                        count: n,
                    },
                    ty,
                    span,
                )
            }
            AE::Match { scrutinee, arms } => {
                let s = self.expr(scrutinee, None);
                if !self.t().is_integer(s.ty) && !self.t().is_error(s.ty) {
                    self.c
                        .error(scrutinee.span, "`match` works on integers and enums")
                        .label = format!("found `{}`", self.t().display(s.ty));
                }
                let mut out: Vec<(i64, ir::Expr)> = Vec::new();
                let mut default = None;
                let mut ty = expect;
                for arm in arms {
                    let body = match ty {
                        Some(t) => self.coerce_expr(&arm.body, t, true),
                        None => self.expr(&arm.body, None),
                    };
                    ty = ty.or(Some(body.ty));
                    match &arm.pattern {
                        ast::Pattern::Default(ps) => {
                            if default.is_some() {
                                self.c.error(*ps, "`match` has more than one `default` arm");
                            }
                            default = Some(body);
                        }
                        p => {
                            let v = match p {
                                ast::Pattern::Int(n, _) => Some(*n as i64),
                                ast::Pattern::Char(c, _) => Some(*c as i64),
                                ast::Pattern::Name(id) => self.c.const_int(id).map(|n| n as i64),
                                ast::Pattern::Default(_) => None,
                            };
                            if let Some(v) = v {
                                if out.iter().any(|(w, _)| *w == v) {
                                    self.c.warning(
                                        arm.span,
                                        format!("value {v} is already matched by an earlier arm"),
                                    );
                                }
                                out.push((v, body));
                            }
                        }
                    }
                }
                let ty = ty.unwrap_or(self.c.types.void);
                let default = match default {
                    Some(d) => d,
                    None => {
                        self.c.error(span, "`match` needs a `default` arm").help =
                            Some("add `default: value` for the values no arm names".into());
                        self.err_expr(span)
                    }
                };
                self.mk(
                    ir::ExprKind::Switch {
                        scrutinee: Box::new(s),
                        arms: out,
                        default: Box::new(default),
                    },
                    ty,
                    span,
                )
            }
            AE::If { cond, then, els } | AE::Ternary { cond, then, els } => {
                let c = self.cond(cond);
                let t = match expect {
                    Some(t) => self.coerce_expr(then, t, true),
                    None if matches!(els.kind, AE::Null) => self.expr_ptr_ok(then, None),
                    None => self.expr(then, None),
                };
                let ety = expect.unwrap_or(t.ty);
                let f = self.coerce_expr(els, ety, true);
                let (t, f) = self.unify_ints(t, f, span);
                let ty = if matches!(self.t().kind(t.ty), TypeKind::Null) {
                    f.ty
                } else {
                    t.ty
                };
                self.mk(
                    ir::ExprKind::Select {
                        cond: Box::new(c),
                        then: Box::new(t),
                        els: Box::new(f),
                    },
                    ty,
                    span,
                )
            }
            AE::Sizeof(t) => {
                let ty = self.c.resolve_type(t);
                let n = self.t().size(ty);
                self.mk(
                    ir::ExprKind::Value(Value::UInt(n as u64)),
                    self.c.types.u32_,
                    span,
                )
            }
            AE::Error => self.err_expr(span),
        }
    }

    fn name(&mut self, id: &ast::Ident) -> ir::Expr {
        let span = id.span;
        if let Some((l, _)) = self.lookup_local(&id.name) {
            let ty = self.locals[l.index()].ty;
            return self.mk(ir::ExprKind::Local(l), ty, span);
        }
        match self.c.syms.get(&id.name).map(|s| s.sym) {
            Some(Sym::Global(g)) => {
                let (ty, vis) = (
                    self.c.globals[g.index()].ty,
                    self.c.globals[g.index()].visibility,
                );
                if vis == ir::GlobalVisibility::Local && self.domain == Domain::Userspace {
                    self.c
                        .error(
                            span,
                            format!(
                                "`{}` is a `local var`, visible only to kernel code",
                                id.name
                            ),
                        )
                        .help = Some("remove `local` to share it with userspace".into());
                }
                self.mk(ir::ExprKind::Global(g), ty, span)
            }
            Some(Sym::Const(i)) => match self.c.const_value(i) {
                Some((v, ty)) => self.mk(ir::ExprKind::Value(v), ty, span),
                None => self.err_expr(span),
            },
            Some(Sym::EnumVariant(ty, v)) => self.mk(ir::ExprKind::Value(Value::Int(v)), ty, span),
            Some(Sym::BuiltinConst(v, ty)) => {
                let it = self.t().as_int(ty).unwrap_or(IntType::U32);
                self.mk(ir::ExprKind::Value(int_value(it, v as i128)), ty, span)
            }
            Some(Sym::Function(f)) => {
                let fun = &self.c.functions[f.index()];
                let ty = match fun.kind {
                    FnKind::Program(_) => self.c.types.program_ref(),
                    _ => {
                        let params: Vec<TypeId> = fun.locals[..fun.params as usize]
                            .iter()
                            .map(|l| l.ty)
                            .collect();
                        let ret = fun.ret;
                        self.c.types.func(params, ret)
                    }
                };
                self.mk(ir::ExprKind::FnRef(f), ty, span)
            }
            Some(Sym::StructOps(i)) => {
                let ty = self.c.types.struct_ops_ref();
                self.mk(ir::ExprKind::StructOpsRef(i), ty, span)
            }
            Some(Sym::Map(_)) => {
                self.c.error(
                    span,
                    format!("`{}` is a map; use it as `{}[key]`", id.name, id.name),
                );
                self.err_expr(span)
            }
            Some(Sym::Config(_)) => {
                self.c.error(
                    span,
                    format!(
                        "`{}` is a config block; read its fields as `{}.field`",
                        id.name, id.name
                    ),
                );
                self.err_expr(span)
            }
            Some(Sym::Type(_) | Sym::Alias(_)) => {
                self.c
                    .error(span, format!("`{}` is a type, not a value", id.name));
                self.err_expr(span)
            }
            Some(Sym::Import) => {
                self.c.error(
                    span,
                    format!("module `{}` is used without a function", id.name),
                );
                self.err_expr(span)
            }
            None => {
                let locals = self.local_names();
                let refs: Vec<&str> = locals.iter().map(|s| s.as_str()).collect();
                self.c.unknown_name(id, "value", &refs);
                self.err_expr(span)
            }
        }
    }

    fn unary(
        &mut self,
        op: ast::UnOp,
        operand: &ast::Expr,
        expect: Option<TypeId>,
        span: Span,
    ) -> ir::Expr {
        use ast::UnOp as U;
        match op {
            U::AddrOf => {
                let x = self.expr_ptr_ok(operand, None);
                if let ir::ExprKind::MapLookup { .. } = x.kind {
                    return x; // `&m[k]` is the entry's pointer
                }
                let lvalue = matches!(
                    x.kind,
                    ir::ExprKind::Local(_)
                        | ir::ExprKind::Global(_)
                        | ir::ExprKind::Field { .. }
                        | ir::ExprKind::Index { .. }
                        | ir::ExprKind::Deref(_)
                        | ir::ExprKind::ConfigField(..)
                );
                if !lvalue && !self.t().is_error(x.ty) {
                    self.c
                        .error(span, "`&` needs a variable, a field or an element");
                    return self.err_expr(span);
                }
                let pt = self.c.types.ptr(x.ty);
                self.mk(ir::ExprKind::AddrOf(Box::new(x)), pt, span)
            }
            U::Deref => {
                let x = self.expr_ptr_ok(operand, None);
                match self.t().pointee(x.ty) {
                    Some(p) if !matches!(self.t().kind(p), TypeKind::Void) => {
                        self.mk(ir::ExprKind::Deref(Box::new(x)), p, span)
                    }
                    _ if self.t().is_error(x.ty) => self.err_expr(span),
                    _ => {
                        self.c.error(
                            span,
                            format!(
                                "`*` dereferences a pointer; this is `{}`",
                                self.t().display(x.ty)
                            ),
                        );
                        self.err_expr(span)
                    }
                }
            }
            U::Neg => {
                // A negative literal takes the expected type when it fits.
                if let AE::Int(n) = operand.kind {
                    let it = expect
                        .and_then(|t| self.t().as_int(t))
                        .filter(|i| i.signed())
                        .unwrap_or(if n <= 1 << 31 {
                            IntType::I32
                        } else {
                            IntType::I64
                        });
                    let v = -(n as i128);
                    let (lo, _) = it.range();
                    if v < lo {
                        self.c
                            .error(span, format!("`-{n}` does not fit in `{}`", it.name()));
                        return self.err_expr(span);
                    }
                    let ty = self.c.types.int(it);
                    return self.mk(ir::ExprKind::Value(Value::Int(v as i64)), ty, span);
                }
                let x = self.expr(operand, expect);
                match self.t().as_int(x.ty) {
                    Some(it) if it.signed() => {
                        let ty = x.ty;
                        self.mk(
                            ir::ExprKind::Unary {
                                op: ir::UnOp::Neg,
                                operand: Box::new(x),
                            },
                            ty,
                            span,
                        )
                    }
                    Some(it) => {
                        self.c
                            .error(span, format!("cannot negate an unsigned `{}`", it.name()))
                            .help = Some(format!(
                            "convert first: `-(x as i{})`",
                            (it.bits() * 2).min(64)
                        ));
                        self.err_expr(span)
                    }
                    None => {
                        if !self.t().is_error(x.ty) {
                            self.c
                                .error(span, format!("cannot negate `{}`", self.t().display(x.ty)));
                        }
                        self.err_expr(span)
                    }
                }
            }
            U::Not => {
                let x = self.cond(operand);
                self.mk(
                    ir::ExprKind::Unary {
                        op: ir::UnOp::Not,
                        operand: Box::new(x),
                    },
                    self.c.types.bool_,
                    span,
                )
            }
            U::BitNot => {
                let x = self.expr(operand, expect);
                if !self.t().is_integer(x.ty) && !self.t().is_error(x.ty) {
                    self.c.error(
                        span,
                        format!("`~` works on integers, not `{}`", self.t().display(x.ty)),
                    );
                    return self.err_expr(span);
                }
                let ty = x.ty;
                self.mk(
                    ir::ExprKind::Unary {
                        op: ir::UnOp::BitNot,
                        operand: Box::new(x),
                    },
                    ty,
                    span,
                )
            }
        }
    }

    fn binary(
        &mut self,
        op: ast::BinOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        expect: Option<TypeId>,
        span: Span,
    ) -> ir::Expr {
        use ast::BinOp as B;
        let bop = binop(op);
        match op {
            B::And | B::Or => {
                let a = self.cond(lhs);
                let b = self.cond(rhs);
                return self.mk(
                    ir::ExprKind::Binary {
                        op: bop,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    self.c.types.bool_,
                    span,
                );
            }
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => {
                // `m[k] == null` compares the entry's pointer; `m[k] > 3` its value.
                let null_l = matches!(lhs.kind, AE::Null);
                let null_r = matches!(rhs.kind, AE::Null);
                let a = if null_r {
                    self.expr_ptr_ok(lhs, None)
                } else {
                    self.expr(lhs, None)
                };
                let b = if null_l {
                    self.expr_ptr_ok(rhs, Some(a.ty))
                } else {
                    self.expr(rhs, Some(a.ty))
                };
                let (a, b) = if matches!(a.kind, ir::ExprKind::Value(_))
                    && !matches!(b.kind, ir::ExprKind::Value(_))
                {
                    let a2 = self.adapt_literal(a, b.ty);
                    (a2, b)
                } else {
                    (a, b)
                };
                let (a, b) = self.unify_ints(a, b, span);
                let (ta, tb) = (a.ty, b.ty);
                let t = self.t();
                let ok = t.is_error(ta)
                    || t.is_error(tb)
                    || (t.is_integer(ta) && t.is_integer(tb))
                    || (t.is_pointer_like(ta) && t.is_pointer_like(tb))
                    || (matches!(t.kind(ta), TypeKind::Bool)
                        && matches!(t.kind(tb), TypeKind::Bool)
                        && matches!(op, B::Eq | B::Ne))
                    || (matches!(t.kind(ta), TypeKind::Str(_))
                        && matches!(t.kind(tb), TypeKind::Str(_))
                        && matches!(op, B::Eq | B::Ne));
                if !ok {
                    let (x, y) = (t.display(ta), t.display(tb));
                    self.c
                        .error(span, format!("cannot compare `{x}` with `{y}`"));
                }
                return self.mk(
                    ir::ExprKind::Binary {
                        op: bop,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    self.c.types.bool_,
                    span,
                );
            }
            _ => {}
        }
        let a = self.expr(lhs, expect);
        // Pointer arithmetic: p + n, p - n, p - q.
        if let Some(_p) = self.t().pointee(a.ty) {
            let b = self.expr(rhs, None);
            if matches!(op, B::Add | B::Sub) && self.t().is_integer(b.ty) {
                let ty = a.ty;
                return self.mk(
                    ir::ExprKind::Binary {
                        op: bop,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    ty,
                    span,
                );
            }
            if op == B::Sub && b.ty == a.ty {
                return self.mk(
                    ir::ExprKind::Binary {
                        op: bop,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    self.c.types.i64_,
                    span,
                );
            }
            let (x, y) = (self.t().display(a.ty), self.t().display(b.ty));
            self.c
                .error(
                    span,
                    format!("`{}` cannot be applied to `{x}` and `{y}`", bop.symbol()),
                )
                .help = Some("pointers support `+ n`, `- n` and `p - q`".into());
            return self.err_expr(span);
        }
        // String concatenation: "a" + s, into an explicitly sized str(N).
        if matches!(self.t().kind(a.ty), TypeKind::Str(_)) && op == B::Add {
            let b = self.expr(rhs, None);
            if !matches!(self.t().kind(b.ty), TypeKind::Str(_)) {
                self.c.error(
                    rhs.span,
                    format!("cannot add `{}` to a string", self.t().display(b.ty)),
                );
                return self.err_expr(span);
            }
            let Some(to) = expect.filter(|t| matches!(self.t().kind(*t), TypeKind::Str(_))) else {
                self.c
                    .error(span, "string concatenation needs an explicit result size")
                    .help = Some("declare the result: `var s: str(64) = a + b`".into());
                return self.err_expr(span);
            };
            let mut parts = match a.kind {
                ir::ExprKind::StrConcat(p) => p,
                _ => vec![a],
            };
            parts.push(b);
            return self.mk(ir::ExprKind::StrConcat(parts), to, span);
        }
        let b = self.expr(rhs, Some(a.ty));
        let (a, b) = if matches!(op, B::Shl | B::Shr) {
            let at = a.ty;
            let b = self.adapt_literal(b, at);
            // A shift keeps the left operand's type: `x_u8 << 8` is always 0.
            if let (Some(it), ir::ExprKind::Value(v)) = (self.t().as_int(at), &b.kind) {
                if value_int(v).is_some_and(|n| n >= it.bits() as i128 || n < 0) {
                    let wider = if it.bits() < 32 { "u32" } else { "u64" };
                    self.c.error(
                        rhs.span,
                        format!("shifting a `{}` by {} leaves no bits", it.name(), value_int(v).unwrap_or(0)),
                    )
                    .help = Some(format!("a shift keeps its left operand's type; widen it first: `(x as {wider}) << n`"));
                }
            }
            (a, b)
        } else {
            self.unify_ints(a, b, span)
        };
        self.check_arith(bop, a.ty, b.ty, span);
        if let (B::Div | B::Rem, ir::ExprKind::Value(v)) = (op, &b.kind) {
            if value_int(v) == Some(0) {
                self.c.error(rhs.span, "division by zero");
            }
        }
        let ty = if matches!(self.t().kind(a.ty), TypeKind::Enum(_)) {
            self.t()
                .as_int(a.ty)
                .map(|i| self.c.types.int(i))
                .unwrap_or(a.ty)
        } else {
            a.ty
        };
        self.mk(
            ir::ExprKind::Binary {
                op: bop,
                lhs: Box::new(a),
                rhs: Box::new(b),
            },
            ty,
            span,
        )
    }

    fn field(&mut self, base: &ast::Expr, field: &ast::Ident, arrow: bool, span: Span) -> ir::Expr {
        // `config.field`
        if let AE::Name(id) = &base.kind {
            if self.lookup_local(&id.name).is_none() {
                if let Some(Sym::Config(c)) = self.c.syms.get(&id.name).map(|s| s.sym) {
                    let cfg = &self.c.configs[c.index()];
                    let Some(i) = cfg.fields.iter().position(|f| f.name == field.name) else {
                        let hint = suggest(&field.name, cfg.fields.iter().map(|f| f.name.as_str()));
                        let name = cfg.name.clone();
                        let d = self.c.error(
                            field.span,
                            format!("config `{name}` has no field `{}`", field.name),
                        );
                        if let Some(h) = hint {
                            d.help = Some(format!("did you mean `{h}`?"));
                        }
                        return self.err_expr(span);
                    };
                    let ty = cfg.fields[i].ty;
                    return self.mk(ir::ExprKind::ConfigField(c, i as u32), ty, span);
                }
                if let Some(Sym::Import) = self.c.syms.get(&id.name).map(|s| s.sym) {
                    self.c
                        .error(
                            span,
                            format!(
                                "functions of imported module `{}` cannot be used yet",
                                id.name
                            ),
                        )
                        .help =
                        Some("imports are parsed but not linked by this version of ksc".into());
                    return self.err_expr(span);
                }
            }
        }
        // `m[k].f` reads the entry's field (zero when absent): a value access.
        let b = self.expr(base, None);
        let (sty, through_pointer) = match self.t().kind(b.ty).clone() {
            TypeKind::Pointer(p) => (p, true),
            _ => {
                if arrow && !self.t().is_error(b.ty) {
                    self.c
                        .error(
                            span,
                            format!(
                                "`->` needs a pointer; `{}` is a value",
                                self.t().display(b.ty)
                            ),
                        )
                        .help = Some(format!("write `.{}`", field.name));
                }
                (b.ty, false)
            }
        };
        if self.t().is_error(sty) {
            return self.err_expr(span);
        }
        let Some(def) = self.t().struct_def(sty).cloned() else {
            self.c
                .error(
                    field.span,
                    format!("`{}` has no fields", self.t().display(b.ty)),
                )
                .label = format!("field `{}` requested here", field.name);
            return self.err_expr(span);
        };
        let Some(i) = def.fields.iter().position(|f| f.name == field.name) else {
            self.no_field(field, &def);
            return self.err_expr(span);
        };
        let ty = def.fields[i].ty;
        self.mk(
            ir::ExprKind::Field {
                base: Box::new(b),
                field: i as u32,
                through_pointer,
            },
            ty,
            span,
        )
    }

    fn call(&mut self, callee: &ast::Expr, args: &[ast::Expr], span: Span) -> ir::Expr {
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
                    if let Some(Sym::Import) = self.c.syms.get(&b.name).map(|s| s.sym) {
                        self.c
                            .error(
                                span,
                                format!(
                                    "functions of imported module `{}` cannot be called yet",
                                    b.name
                                ),
                            )
                            .help =
                            Some("imports are parsed but not linked by this version of ksc".into());
                        return self.err_expr(span);
                    }
                }
                self.c.error(callee.span, format!("there is no method {what}")).help =
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
        match self.c.syms.get(&id.name).map(|s| s.sym) {
            Some(Sym::Function(f)) => self.call_fn(id, f, args, span),
            Some(Sym::Global(_)) => {
                let f = self.name(id);
                self.call_pointer(f, args, span)
            }
            Some(_) => {
                self.c
                    .error(id.span, format!("`{}` is not a function", id.name));
                self.err_expr(span)
            }
            None => {
                if let Some(b) = builtins::builtin(&id.name) {
                    return self.call_builtin(id, b, args, span);
                }
                if let Some((_, params, ret)) =
                    builtins::bpf_helpers().iter().find(|h| h.0 == id.name)
                {
                    return self.call_helper(id, params, *ret, args, span);
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
                    self.c.error(span, "`contains_key` takes the key");
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
                        self.c.error(span, "`reserve()` takes no arguments: it reserves one event of the ring buffer's type")
                            .help = Some("declare the ring buffer as `ringbuf<u8>(bytes)` to reserve sizes in bytes".into());
                        None
                    }
                };
                let pt = self.c.types.ptr(vt);
                self.mk(ir::ExprKind::RingbufReserve { map: m, size }, pt, span)
            }
            ("submit" | "discard", true) => {
                if !self.ebpf() {
                    self.c
                        .error(span, format!("`{}` is for eBPF code", method.name));
                }
                let [a] = args else {
                    self.c.error(
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
                    self.c
                        .error(a.span, "`discard` takes what `reserve` returned");
                    self.err_expr(span)
                }
            }
            ("read", true) => {
                if self.ebpf() {
                    self.c.error(
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
                            span,
                            "`read` takes at most one argument: how many milliseconds to wait",
                        );
                        None
                    }
                };
                let pt = self.c.types.ptr(vt);
                self.mk(ir::ExprKind::RingbufRead { map: m, timeout_ms }, pt, span)
            }
            (other, _) => {
                let list = if ring {
                    "`reserve`, `submit`, `discard` (eBPF) and `read` (userspace)"
                } else {
                    "`contains_key`"
                };
                self.c
                    .error(
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

    fn check_args(
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

    fn call_fn(&mut self, id: &ast::Ident, f: FnId, args: &[ast::Expr], span: Span) -> ir::Expr {
        let (kind, fdom, ret) = {
            let fun = &self.c.functions[f.index()];
            (fun.kind.clone(), fun.domain, fun.ret)
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
            (FnKind::Extern, Domain::Ebpf) => None,
            (FnKind::Extern, _) => Some(("an `extern` kernel function", "extern kfuncs can only be called from eBPF programs".into())),
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
                id.span,
                format!("`{}` is {what} and cannot be called from {place}", id.name),
            );
            d.help = Some(help);
        }
        let _ = fdom;
        let params: Vec<TypeId> = self.c.fn_info[f.index()]
            .params
            .iter()
            .map(|p| p.1)
            .collect();
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

    fn call_pointer(&mut self, f: ir::Expr, args: &[ast::Expr], span: Span) -> ir::Expr {
        let TypeKind::Function(sig) = self.t().kind(f.ty).clone() else {
            if !self.t().is_error(f.ty) {
                self.c.error(
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
        params: &[builtins::P],
        ret: builtins::P,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        if !self.ebpf() {
            self.c
                .error(
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
        let map = |t: &mut Types, p: builtins::P| match p {
            builtins::P::U32 => t.u32_,
            builtins::P::U64 => t.u64_,
            builtins::P::I32 => t.i32_,
            builtins::P::Ptr => void_ptr,
        };
        let ps: Vec<TypeId> = params.iter().map(|p| map(&mut self.c.types, *p)).collect();
        let rt = map(&mut self.c.types, ret);
        let args = self.check_args(&format!("`{}`", id.name), &ps, args, span);
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::BpfHelper(id.name.clone()),
                args,
            },
            rt,
            span,
        )
    }

    fn call_builtin(
        &mut self,
        id: &ast::Ident,
        b: Builtin,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let userspace_only = matches!(
            b,
            Builtin::Load | Builtin::Attach | Builtin::Detach | Builtin::Register | Builtin::Sleep
        );
        if userspace_only && self.domain != Domain::Userspace {
            self.c
                .error(id.span, format!("`{}` is a userspace function", id.name))
                .help =
                Some("programs are loaded, attached and registered from userspace (`main`)".into());
        }
        let void = self.c.types.void;
        let (params, ret): (Vec<TypeId>, TypeId) = match b {
            Builtin::Print => {
                let mut out = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let x = self.expr(a, None);
                    if i == 0
                        && !matches!(self.t().kind(x.ty), TypeKind::Str(_))
                        && !self.t().is_error(x.ty)
                    {
                        self.c
                            .error(a.span, "`print` starts with a string: `print(\"x=%d\", x)`");
                    }
                    let text_array = matches!(self.t().kind(x.ty), TypeKind::Array(e, _) if matches!(self.t().kind(*e), TypeKind::Char | TypeKind::Int(IntType::U8)));
                    if !text_array
                        && matches!(
                            self.t().kind(x.ty),
                            TypeKind::Struct(_) | TypeKind::Array(..) | TypeKind::Void
                        )
                        && !self.t().is_error(x.ty)
                    {
                        self.c
                            .error(
                                a.span,
                                format!("`print` cannot format a `{}`", self.t().display(x.ty)),
                            )
                            .help = Some("print its fields".into());
                    }
                    out.push(x);
                }
                self.check_print_format(&out, args, span);
                if self.ebpf() && out.len() > 4 {
                    self.c.error(span, format!("`print` in eBPF takes at most 3 values after the format; this has {}", out.len() - 1)).help =
                        Some("bpf_printk formats at most 3 values: split the line into several `print` calls".into());
                }
                return self.mk(
                    ir::ExprKind::Call {
                        callee: Callee::Builtin(b),
                        args: out,
                    },
                    void,
                    span,
                );
            }
            Builtin::Load => {
                let pr = self.c.types.program_ref();
                let ph = self.c.types.program_handle();
                (vec![pr], ph)
            }
            Builtin::Attach => {
                let ph = self.c.types.program_handle();
                let x = args.first().map(|a| self.expr(a, None));
                if let Some(x) = &x {
                    if x.ty != ph && !self.t().is_error(x.ty) {
                        let found = self.t().display(x.ty);
                        let d = self.c.error(
                            args[0].span,
                            "`attach` takes the handle that `load` returned",
                        );
                        d.label = format!("found `{found}`");
                        d.help = Some(
                            "write `var h = load(program)` then `attach(h, target, flags)`".into(),
                        );
                    }
                }
                let target = args.get(1).map(|a| self.expr(a, None));
                if let Some(t) = &target {
                    if !matches!(self.t().kind(t.ty), TypeKind::Str(_) | TypeKind::Int(_))
                        && !self.t().is_error(t.ty)
                    {
                        self.c.error(args[1].span, "the attach target is a string (interface, function, tracepoint) or an interface index");
                    }
                }
                let u32_ = self.c.types.u32_;
                let flags = args.get(2).map(|a| self.coerce_expr(a, u32_, false));
                if args.len() != 3 {
                    self.c.error(
                        span,
                        format!(
                            "`attach` takes 3 arguments (handle, target, flags) but {} were given",
                            args.len()
                        ),
                    );
                }
                let out: Vec<ir::Expr> = [x, target, flags].into_iter().flatten().collect();
                let i32_ = self.c.types.i32_;
                return self.mk(
                    ir::ExprKind::Call {
                        callee: Callee::Builtin(b),
                        args: out,
                    },
                    i32_,
                    span,
                );
            }
            Builtin::Detach => {
                let ph = self.c.types.program_handle();
                (vec![ph], void)
            }
            Builtin::Register => {
                let so = self.c.types.struct_ops_ref();
                (vec![so], self.c.types.i32_)
            }
            Builtin::Test => {
                if self.kind != FnKind::Test {
                    self.c
                        .error(
                            id.span,
                            "`test()` can only be called from a `@test` function",
                        )
                        .help = Some(
                        "mark the function `@test`; test runs are kept out of production code"
                            .into(),
                    );
                }
                // test(program, XdpTestContext { .. }): checked like a call.
                let pr = self.c.types.program_ref();
                let ctx = match self.c.syms.get("XdpTestContext").map(|s| &s.sym) {
                    Some(Sym::Type(t)) => *t,
                    _ => self.c.types.error,
                };
                let out = self.check_args("`test`", &[pr, ctx], args, span);
                // The program's own return type (`xdp_action` for XDP), so
                // `test(p, c) == XDP_DROP` reads naturally.
                let i32_ = match out.first().map(|e| &e.kind) {
                    Some(ir::ExprKind::FnRef(f)) => self.c.functions[f.index()].ret,
                    _ => self.c.types.i32_,
                };
                return self.mk(
                    ir::ExprKind::Call {
                        callee: Callee::Builtin(b),
                        args: out,
                    },
                    i32_,
                    span,
                );
            }
            Builtin::Sleep => (vec![self.c.types.u32_], void),
            Builtin::Htons | Builtin::Ntohs => (vec![self.c.types.u16_], self.c.types.u16_),
            Builtin::Htonl | Builtin::Ntohl => (vec![self.c.types.u32_], self.c.types.u32_),
        };
        let out = self.check_args(&format!("`{}`", id.name), &params, args, span);
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::Builtin(b),
                args: out,
            },
            ret,
            span,
        )
    }
}

/// The conversions of a printf-style format (`d`, `s`, ...), skipping
/// `%%`; flags, width, precision and length modifiers are allowed.
fn format_conversions(fmt: &str) -> Result<Vec<char>, String> {
    let mut out = Vec::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let mut spec = String::from("%");
        loop {
            let Some(&n) = chars.peek() else {
                return Err(format!("the format ends inside the conversion `{spec}`"));
            };
            chars.next();
            spec.push(n);
            match n {
                '%' if spec == "%%" => break,
                '-' | '+' | ' ' | '#' | '0'..='9' | '.' | 'l' | 'h' | 'z' | 'j' | 't' => {}
                'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' | 's' | 'p' => {
                    out.push(n);
                    break;
                }
                'f' | 'e' | 'g' | 'E' | 'G' | 'a' => {
                    return Err(format!(
                        "`{spec}` formats a floating-point number; KernelScript has none"
                    ))
                }
                _ => return Err(format!("`{spec}` is not a conversion `print` knows")),
            }
        }
    }
    Ok(out)
}

fn contains_break(b: &ir::Block) -> bool {
    b.stmts.iter().any(|s| match &s.kind {
        ir::StmtKind::Break => true,
        ir::StmtKind::If { then, els, .. } => contains_break(then) || contains_break(els),
        ir::StmtKind::Block(b) => contains_break(b),
        ir::StmtKind::Try { body, catches } => {
            contains_break(body) || catches.iter().any(|c| contains_break(&c.body))
        }
        _ => false,
    })
}

pub fn binop(op: ast::BinOp) -> ir::BinOp {
    use ast::BinOp as A;
    use ir::BinOp as B;
    match op {
        A::Add => B::Add,
        A::Sub => B::Sub,
        A::Mul => B::Mul,
        A::Div => B::Div,
        A::Rem => B::Rem,
        A::BitAnd => B::BitAnd,
        A::BitOr => B::BitOr,
        A::BitXor => B::BitXor,
        A::Shl => B::Shl,
        A::Shr => B::Shr,
        A::Eq => B::Eq,
        A::Ne => B::Ne,
        A::Lt => B::Lt,
        A::Le => B::Le,
        A::Gt => B::Gt,
        A::Ge => B::Ge,
        A::And => B::And,
        A::Or => B::Or,
    }
}
