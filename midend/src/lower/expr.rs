//! Lowering expressions: literals, names (locals, globals, constants,
//! functions as values), casts, fields (`config.field` included),
//! indexing, map reads and lookups, struct and array literals, `new`,
//! `match` and `if`-expressions. Operators are in `operators`.

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Domain, FnKind, IntType, TypeId, TypeKind, Value};

use super::{python, FnCx};
use crate::checker::{suggest, Sym};
use crate::consteval::{int_value, value_int};

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn expr(&mut self, e: &ast::Expr, expect: Option<TypeId>) -> ir::Expr {
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
                    let x = self.expr(expr, Some(to));
                    self.read_through(x)
                };
                let x = self.adapt_literal(x, to);
                if !self.t().castable(x.ty, to) {
                    let (f, t) = (self.t().display(x.ty), self.t().display(to));
                    self.c
                        .error(
                            codes::BAD_CAST,
                            span,
                            format!("cannot convert `{f}` to `{t}`"),
                        )
                        .help =
                        Some("`as` converts between integers, bools, enums and pointers".into());
                    return self.err_expr(span);
                }
                if x.ty == to {
                    return x;
                }
                self.mk(ir::ExprKind::Cast(Box::new(x)), to, span)
            }
            AE::Call { callee, args } => {
                if let Some(x) = self.python_call(e, python::PyExpect::Value(expect)) {
                    return x;
                }
                self.call(callee, args, span)
            }
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
                        .error(
                            codes::BAD_OPERAND,
                            index.span,
                            "an index must be an integer",
                        )
                        .label = format!("found `{}`", self.t().display(i.ty));
                }
                let elem = match self.t().kind(b.ty).clone() {
                    TypeKind::Array(el, n) => {
                        if let ir::ExprKind::Value(v) = &i.kind {
                            if value_int(v).is_some_and(|k| k < 0 || k >= n as i128) {
                                self.c.error(
                                    codes::BOUNDS,
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
                                codes::BAD_OPERAND,
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
                if name.name == "perf_options" && self.c.lookup_sym(name).is_none() {
                    // Only `attach` takes one (lower_attach_perf).
                    let d = self.c.error(
                        codes::PERF,
                        span,
                        "a `perf_options` literal is written as the second argument of `attach`",
                    );
                    d.help = Some("write `attach(handle, perf_options { perf_type: ..., perf_config: ... }, 0)`".into());
                    for f in fields {
                        self.expr(&f.value, None);
                    }
                    return self.err_expr(span);
                }
                let ty = self.c.named_type(name);
                let Some(def) = self.t().struct_def(ty).cloned() else {
                    if !self.t().is_error(ty) {
                        self.c.error(
                            codes::WRONG_KIND,
                            name.span,
                            format!("`{}` is not a struct", name.name),
                        );
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
                        self.c.error(
                            codes::DUPLICATE,
                            f.name.span,
                            format!("field `{}` is set twice", f.name.name),
                        );
                    }
                    seen.push(i);
                    let v = self.coerce_expr(&f.value, def.fields[i].ty, true);
                    out.push(ir::FieldInit {
                        field: i as u32,
                        value: v,
                    });
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
                    self.c.error(
                        codes::NO_INFER,
                        span,
                        "cannot infer the element type of an empty array",
                    );
                }
                if let Some(TypeKind::Array(_, n)) = expect.map(|t| self.t().kind(t).clone()) {
                    if xs.len() as u32 > n {
                        self.c.error(
                            codes::OUT_OF_RANGE,
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
                if Self::has_block_arm(arms) {
                    self.c
                        .error(codes::MATCH,
                            span,
                            "a `match` with block arms stands where a statement does",
                        )
                        .help = Some("use it as a statement, after `return`, or as a variable's initial value: `var v = match (...) { ... }`".into());
                    return self.err_expr(span);
                }
                let (s, raw) = self.match_scrutinee(scrutinee);
                let is_bool = matches!(self.t().kind(raw), TypeKind::Bool);
                let super::matches::Cases { cases, default } =
                    self.match_cases(raw, is_bool, arms, span);
                // Bodies lowered in source order; the first fixes the type.
                let mut ty = expect;
                let mut lower = |fx: &mut Self, arm: &ast::MatchArm| {
                    let body = match ty {
                        Some(t) => fx.coerce_expr(&arm.body, t, true),
                        None => fx.expr(&arm.body, None),
                    };
                    ty = ty.or(Some(body.ty));
                    body
                };
                let mut out: Vec<ir::SwitchArm> = Vec::new();
                let mut default_body = None;
                for arm in arms {
                    if default.is_some_and(|d| std::ptr::eq(d, arm)) {
                        default_body = Some(lower(self, arm));
                    } else if let Some((v, _)) = cases.iter().find(|(_, a)| std::ptr::eq(*a, arm)) {
                        let result = lower(self, arm);
                        out.push(ir::SwitchArm { value: *v, result });
                    }
                }
                let ty = ty.unwrap_or(self.c.types.void);
                let default = match default_body {
                    Some(d) => d,
                    None => self.err_expr(span),
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
            AE::Block(_) => {
                self.c
                    .error(
                        codes::MATCH,
                        span,
                        "a block is a value only as a `match` arm",
                    )
                    .help = Some("write the value itself".into());
                self.err_expr(span)
            }
            AE::If { cond, then, els } | AE::Ternary { cond, then, els } => {
                let c = self.cond(cond);
                let t = match expect {
                    Some(t) => self.coerce_expr(then, t, true),
                    None if matches!(els.kind, AE::Null) => self.expr_ptr_ok(then, None),
                    None => {
                        // `if (v != null) { v } else { 0 }` reads the entry.
                        let t = self.expr(then, None);
                        self.read_through(t)
                    }
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
            AE::New { ty, args } => self.new_object(ty, args, span),
            AE::Error => self.err_expr(span),
        }
    }

    /// `new T()` / `new T(GFP_...)` (docs/language.md, "`new` and `delete`").
    fn new_object(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> ir::Expr {
        let written = ast::Type {
            kind: ast::TypeKind::Named(name.clone()),
            span: name.span,
        };
        let ty = self.c.resolve_type(&written);
        if self.t().is_error(ty) {
            return self.err_expr(span);
        }
        let ours = self
            .t()
            .struct_def(ty)
            .is_some_and(|s| !s.origin.is_kernel());
        if !ours {
            self.c
                .error(
                    codes::NEW_DELETE,
                    name.span,
                    format!(
                        "`new` allocates a struct the program declares, not `{}`",
                        name.name
                    ),
                )
                .help = Some(format!(
                "declare one, `struct Box {{ value: {} }}`, and write `new Box()`",
                self.t().display(ty)
            ));
            return self.err_expr(span);
        }
        let mut gfp = Vec::new();
        match args {
            [] => {}
            [flags] => {
                if !self.gfp_names(flags, &mut gfp) {
                    self.c
                        .error(
                            codes::GFP,
                            flags.span,
                            "`new` takes GFP flags: `GFP_ATOMIC`, `GFP_KERNEL`, ...",
                        )
                        .help = Some(format!(
                        "write `new {}(GFP_ATOMIC)`, flags joined with `|`",
                        name.name
                    ));
                    gfp.clear();
                } else if self.domain != Domain::KernelModule {
                    let where_ = if self.ebpf() { "eBPF" } else { "userspace" };
                    let how = if self.ebpf() {
                        "bpf_obj_new allocates without sleeping and takes no flags"
                    } else {
                        "userspace memory comes from calloc"
                    };
                    self.c
                        .error(codes::GFP,
                            flags.span,
                            format!("GFP flags are for kernel-module code (`@kfunc`, `@private`), not {where_} code"),
                        )
                        .help = Some(format!("write `new {}()`: {how}", name.name));
                    gfp.clear();
                } else if gfp.iter().any(|g| g == "GFP_KERNEL") {
                    let d = self.c.warning(codes::MAY_SLEEP,
                        flags.span,
                        "`GFP_KERNEL` may sleep, and kernel-module functions run inside eBPF programs, which must not",
                    );
                    d.help = Some(format!(
                        "write `new {}(GFP_ATOMIC)` (the default: `new {}()`)",
                        name.name, name.name
                    ));
                }
            }
            _ => {
                self.c
                    .error(
                        codes::GFP,
                        span,
                        "`new` takes at most one argument, the GFP flags",
                    )
                    .help = Some(format!("write `new {}()`", name.name));
            }
        }
        // With a chosen kernel, `kernels::check_target` asks that kernel.
        if self.ebpf() && !self.c.kernel_chosen {
            let missing = self
                .c
                .btf()
                .is_some_and(|b| !b.has_func("bpf_obj_new_impl"));
            if missing {
                self.c
                    .error(codes::TOO_OLD, span, "this kernel has no `bpf_obj_new` (it came in Linux 6.2)")
                    .help = Some(
                    "allocate in a map instead: a one-entry `percpu_array<u32, T>(1)` as scratch space, or a `hash` entry per object".into(),
                );
            }
        }
        let pt = self.c.types.ptr(ty);
        self.mk(ir::ExprKind::ObjNew { gfp }, pt, span)
    }

    /// The flag names of `GFP_A | GFP_B`; false when it is anything else.
    fn gfp_names(&self, e: &ast::Expr, out: &mut Vec<String>) -> bool {
        const KNOWN: &[&str] = &[
            "GFP_ATOMIC",
            "GFP_KERNEL",
            "GFP_KERNEL_ACCOUNT",
            "GFP_NOWAIT",
            "GFP_NOIO",
            "GFP_NOFS",
            "GFP_USER",
            "GFP_DMA",
            "GFP_DMA32",
            "__GFP_ZERO",
            "__GFP_NOWARN",
            "__GFP_HIGH",
            "__GFP_NORETRY",
            "__GFP_RETRY_MAYFAIL",
            "__GFP_NOFAIL",
            "__GFP_ACCOUNT",
        ];
        match &e.kind {
            AE::Name(id) if KNOWN.contains(&id.name.as_str()) => {
                out.push(id.name.clone());
                true
            }
            AE::Binary {
                op: ast::BinOp::BitOr,
                lhs,
                rhs,
            } => self.gfp_names(lhs, out) && self.gfp_names(rhs, out),
            _ => false,
        }
    }

    pub(super) fn name(&mut self, id: &ast::Ident) -> ir::Expr {
        let span = id.span;
        if let Some((l, _)) = self.lookup_local(&id.name) {
            let ty = self.locals[l.index()].ty;
            return self.mk(ir::ExprKind::Local(l), ty, span);
        }
        match self.c.lookup_sym(id) {
            Some(Sym::Global(g)) => {
                let (ty, vis) = (
                    self.c.globals[g.index()].ty,
                    self.c.globals[g.index()].visibility,
                );
                if vis == ir::GlobalVisibility::Local && self.domain == Domain::Userspace {
                    self.c
                        .error(
                            codes::KERNEL_ONLY,
                            span,
                            format!(
                                "`{}` is a `local var`, visible only to kernel code",
                                id.name
                            ),
                        )
                        .help = Some("remove `local` to share it with userspace".into());
                }
                if self.c.globals[g.index()].userspace_only && self.domain != Domain::Userspace {
                    let code = if self.ebpf() {
                        "eBPF code"
                    } else {
                        "kernel-module code"
                    };
                    let e = self.c.error(codes::FN_POINTER,
                        span,
                        format!(
                            "`{}` holds a function pointer and lives in userspace only; {code} cannot use it",
                            id.name
                        ),
                    );
                    e.label = format!("used in {code}");
                    e.help = Some("eBPF has no indirect calls, and userspace functions do not exist in the kernel: in eBPF code keep a function pointer (to a `@helper`) in a local variable or parameter, or call the function by name (docs/language.md, function-pointer globals)".into());
                }
                self.mk(ir::ExprKind::Global(g), ty, span)
            }
            Some(Sym::Const(i)) => match self.c.const_value(i) {
                Some((v, ty)) => self.mk(ir::ExprKind::Value(v), ty, span),
                None => self.err_expr(span),
            },
            Some(Sym::EnumVariant(ty, v)) => {
                let v = crate::consteval::enum_value(self.t(), ty, v);
                self.mk(ir::ExprKind::Value(v), ty, span)
            }
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
                self.mk(ir::ExprKind::StructOpsRef(ir::StructOpsId(i)), ty, span)
            }
            Some(Sym::Map(_)) => {
                self.c.error(
                    codes::MAP_USE,
                    span,
                    format!("`{}` is a map; use it as `{}[key]`", id.name, id.name),
                );
                self.err_expr(span)
            }
            Some(Sym::Config(_)) => {
                self.c.error(
                    codes::WRONG_KIND,
                    span,
                    format!(
                        "`{}` is a config block; read its fields as `{}.field`",
                        id.name, id.name
                    ),
                );
                self.err_expr(span)
            }
            Some(Sym::Type(_) | Sym::Alias(_)) => {
                self.c.error(
                    codes::WRONG_KIND,
                    span,
                    format!("`{}` is a type, not a value", id.name),
                );
                self.err_expr(span)
            }
            Some(Sym::Import | Sym::PyModule(_)) => {
                self.c.error(
                    codes::MODULE_ITEM,
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

    fn field(&mut self, base: &ast::Expr, field: &ast::Ident, arrow: bool, span: Span) -> ir::Expr {
        // `config.field`
        if let AE::Name(id) = &base.kind {
            if self.lookup_local(&id.name).is_none() {
                if let Some(Sym::Config(c)) = self.c.lookup_sym(id) {
                    let cfg = &self.c.configs[c.index()];
                    let Some(i) = cfg.fields.iter().position(|f| f.name == field.name) else {
                        let hint = suggest(&field.name, cfg.fields.iter().map(|f| f.name.as_str()));
                        let name = cfg.name.clone();
                        let d = self.c.error(
                            codes::NO_FIELD,
                            field.span,
                            format!("config `{name}` has no field `{}`", field.name),
                        );
                        if let Some(h) = hint {
                            d.help = Some(format!("did you mean `{h}`?"));
                        }
                        return self.err_expr(span);
                    };
                    let ty = cfg.fields[i].ty;
                    return self.mk(
                        ir::ExprKind::ConfigField {
                            config: c,
                            field: i as u32,
                        },
                        ty,
                        span,
                    );
                }
                if let Some(Sym::Import) = self.c.lookup_sym(id) {
                    // Only when the program was checked without
                    // `imports::load` (which rewrites `m.x`).
                    self.c.error(
                        codes::MODULE_ITEM,
                        span,
                        format!("module `{}` was not loaded", id.name),
                    );
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
                            codes::BAD_OPERAND,
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
        self.c.fill_btf_struct(sty);
        let Some(def) = self.t().struct_def(sty).cloned() else {
            self.c
                .error(
                    codes::NO_FIELD,
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

    /// Like `expr`, but a map access `m[k]` stays a pointer (MapLookup).
    pub(super) fn expr_ptr_ok(&mut self, e: &ast::Expr, expect: Option<TypeId>) -> ir::Expr {
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
            self.c
                .error(codes::RINGBUF, span, "a ring buffer has no keys")
                .help = Some("use `reserve` and `submit`".into());
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

    pub(super) fn map_of(&self, e: &ast::Expr) -> Option<ir::MapId> {
        match &e.kind {
            AE::Name(id) if self.lookup_local(&id.name).is_none() => match self.c.lookup_sym(id) {
                Some(Sym::Map(m)) => Some(m),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn no_field(&mut self, f: &ast::Ident, def: &ir::StructDef) {
        let hint = suggest(&f.name, def.fields.iter().map(|d| d.name.as_str()));
        let d = self.c.error(
            codes::NO_FIELD,
            f.span,
            format!("`{}` has no field `{}`", def.name, f.name),
        );
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
}
