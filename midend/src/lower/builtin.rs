//! Lowering calls of built-in functions: `print` (its format checked
//! against its values), `load`, `attach`, `detach`, `register`, `test`,
//! `sleep`, `exec` and the byte-order conversions, each allowed only where it can
//! run.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Builtin, Callee, Domain, FnKind, IntType, TypeId, TypeKind, Value};

use super::FnCx;
use crate::checker::Sym;

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn call_builtin(
        &mut self,
        id: &ast::Ident,
        b: Builtin,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        let userspace_only = matches!(
            b,
            Builtin::Load
                | Builtin::Attach
                | Builtin::Detach
                | Builtin::Register
                | Builtin::Sleep
                | Builtin::Daemon
                | Builtin::Exec
                | Builtin::AttachPerf
                | Builtin::ReadPerf
                | Builtin::DetachPerf
        );
        if b == Builtin::Exec && self.domain != Domain::Userspace {
            self.c
                .error(codes::EXEC, id.span, "`exec` is a userspace function")
                .help = Some(
                "`exec` replaces the loader with a Python script: call it from `main` after loading and attaching"
                    .into(),
            );
        } else if userspace_only && self.domain != Domain::Userspace {
            self.c
                .error(
                    codes::WRONG_SIDE,
                    id.span,
                    format!("`{}` is a userspace function", id.name),
                )
                .help =
                Some("programs are loaded, attached and registered from userspace (`main`)".into());
        }
        let void = self.c.types.void;
        let (params, ret): (Vec<TypeId>, TypeId) = match b {
            Builtin::Load => {
                let pr = self.c.types.program_ref();
                let ph = self.c.types.program_handle();
                (vec![pr], ph)
            }
            Builtin::Attach
                if matches!(
                    args.get(1).map(|a| &a.kind),
                    Some(ast::ExprKind::StructLit { name, .. })
                        if name.name == "perf_options" && self.c.lookup_sym(name).is_none()
                ) =>
            {
                return self.lower_attach_perf(args, span);
            }
            Builtin::Attach => {
                let ph = self.c.types.program_handle();
                let x = args.first().map(|a| self.expr(a, None));
                if let Some(x) = &x {
                    if x.ty != ph && !self.t().is_error(x.ty) {
                        let found = self.t().display(x.ty);
                        let d = self.c.error(
                            codes::LOAD_ATTACH,
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
                        self.c.error(codes::LOAD_ATTACH, args[1].span, "the attach target is a string (interface, function, tracepoint) or an interface index");
                    }
                }
                let u32_ = self.c.types.u32_;
                let flags = args.get(2).map(|a| self.coerce_expr(a, u32_, false));
                if args.len() != 3 {
                    self.c.error(
                        codes::LOAD_ATTACH,
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
                // `detach(att)` tears one perf counter down.
                if let [a] = args {
                    let x = self.expr(a, None);
                    if matches!(self.t().kind(x.ty), TypeKind::PerfAttachment) {
                        return self.mk(
                            ir::ExprKind::Call {
                                callee: Callee::Builtin(Builtin::DetachPerf),
                                args: vec![x],
                            },
                            void,
                            span,
                        );
                    }
                    let x = self.coerce(x, ph, a.span);
                    return self.mk(
                        ir::ExprKind::Call {
                            callee: Callee::Builtin(b),
                            args: vec![x],
                        },
                        void,
                        span,
                    );
                }
                (vec![ph], void)
            }
            Builtin::ReadPerf | Builtin::DetachPerf => {
                let pa = self.c.types.perf_attachment();
                let ret = if b == Builtin::ReadPerf {
                    self.c.types.i64_
                } else {
                    void
                };
                (vec![pa], ret)
            }
            Builtin::AttachPerf => return self.lower_attach_perf(args, span),
            Builtin::Register => {
                let so = self.c.types.struct_ops_ref();
                (vec![so], self.c.types.i32_)
            }
            Builtin::Test => {
                if self.kind != FnKind::Test {
                    self.c
                        .error(
                            codes::TEST_ONLY,
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
            // docs/language.md, "Ring-buffer callbacks, `dispatch` and `daemon`".
            Builtin::Daemon => (vec![], void),
            // exec("x.py") (docs/language.md, "`exec` into Python"): the
            // argument becomes the script's file name next to the executable.
            Builtin::Exec => {
                if args.len() != 1 {
                    self.c
                        .error(
                            codes::EXEC,
                            span,
                            format!(
                                "`exec` takes 1 argument (the script's path) but {} were given",
                                args.len()
                            ),
                        )
                        .help = Some("write `exec(\"report.py\")`".into());
                }
                let file = args.first().and_then(|a| self.c.exec_script(a));
                let out = match (file, args.first()) {
                    (Some(f), Some(a)) => {
                        let ty = self.c.types.str_(f.len() as u32 + 1);
                        vec![self.mk(ir::ExprKind::Value(Value::Str(f)), ty, a.span)]
                    }
                    _ => vec![],
                };
                return self.mk(
                    ir::ExprKind::Call {
                        callee: Callee::Builtin(b),
                        args: out,
                    },
                    void,
                    span,
                );
            }
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

    /// `attach(handle, perf_options { .. }, flags)`: the options' fields
    /// checked and flattened, with their defaults, into the arguments of
    /// [`Builtin::AttachPerf`] (docs/language.md, "`@perf_event`
    /// programs"); constant flags other than 0 and a constant `pid: -1`
    /// with `cpu: -1` are errors here (the runtime refuses the others).
    fn lower_attach_perf(&mut self, args: &[ast::Expr], span: Span) -> ir::Expr {
        let ph = self.c.types.program_handle();
        let pa = self.c.types.perf_attachment();
        let mut out = Vec::new();
        if let Some(a) = args.first() {
            let x = self.expr(a, None);
            if x.ty != ph && !self.t().is_error(x.ty) {
                let found = self.t().display(x.ty);
                let d = self.c.error(
                    codes::LOAD_ATTACH,
                    a.span,
                    "`attach` takes the handle that `load` returned",
                );
                d.label = format!("found `{found}`");
                d.help = Some(
                    "write `var h = load(program)` then `attach(h, perf_options { .. }, 0)`".into(),
                );
            }
            out.push(x);
        }
        let u32_ = self.c.types.u32_;
        if args.len() != 3 {
            self.c
                .error(
                    codes::LOAD_ATTACH,
                    span,
                    format!(
                    "`attach` takes 3 arguments (handle, perf_options, flags) but {} were given",
                    args.len()
                ),
                )
                .help = Some("write `attach(handle, perf_options { .. }, 0)`".into());
        }
        match args.get(2) {
            Some(a) => {
                let flags = self.coerce_expr(a, u32_, false);
                if let Some(v) = const_int(&flags) {
                    if v != 0 {
                        let d = self.c.error(
                            codes::LOAD_ATTACH,
                            a.span,
                            format!("a perf attach takes no flags: this is {v}"),
                        );
                        d.label = "must be 0".into();
                        d.help = Some(
                            "write 0: the counter's settings are the fields of `perf_options`"
                                .into(),
                        );
                    }
                }
                out.push(flags);
            }
            None => out.push(self.mk(ir::ExprKind::Value(Value::UInt(0)), u32_, span)),
        }
        let Some(ast::Expr {
            kind: ast::ExprKind::StructLit { fields, .. },
            span: lit_span,
        }) = args.get(1)
        else {
            return self.mk(
                ir::ExprKind::Call {
                    callee: Callee::Builtin(Builtin::AttachPerf),
                    args: out,
                },
                pa,
                span,
            );
        };
        let mut given: Vec<Option<ir::Expr>> = vec![None; ir::PERF_OPTIONS.len()];
        let mut written: Vec<Option<&ast::Expr>> = vec![None; ir::PERF_OPTIONS.len()];
        for f in fields {
            let Some(i) = ir::PERF_OPTIONS
                .iter()
                .position(|(n, ..)| *n == f.name.name)
            else {
                let hint = crate::checker::suggest(
                    &f.name.name,
                    ir::PERF_OPTIONS.iter().map(|(n, ..)| *n),
                );
                let d = self.c.error(
                    codes::PERF,
                    f.name.span,
                    format!("`perf_options` has no field `{}`", f.name.name),
                );
                d.help = Some(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => format!(
                        "its fields are {}",
                        ir::PERF_OPTIONS
                            .iter()
                            .map(|(n, ..)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                self.expr(&f.value, None);
                continue;
            };
            if given[i].is_some() {
                self.c.error(
                    codes::DUPLICATE,
                    f.name.span,
                    format!("field `{}` is set twice", f.name.name),
                );
            }
            let ty = match ir::PERF_OPTIONS[i].1 {
                Some(it) => self.c.types.int(it),
                None => self.c.types.bool_,
            };
            given[i] = Some(self.coerce_expr(&f.value, ty, false));
            written[i] = Some(&f.value);
        }
        for (i, (fname, it, default)) in ir::PERF_OPTIONS.iter().enumerate() {
            if given[i].is_some() {
                continue;
            }
            let v = match default {
                Some(d) => {
                    let (ty, v) = match it {
                        Some(it) => (
                            self.c.types.int(*it),
                            crate::consteval::int_value(*it, *d as i128),
                        ),
                        None => (self.c.types.bool_, Value::Bool(*d != 0)),
                    };
                    self.mk(ir::ExprKind::Value(v), ty, *lit_span)
                }
                None => {
                    let d = self.c.error(
                        codes::PERF,
                        *lit_span,
                        format!("`perf_options` needs the field `{fname}`"),
                    );
                    d.label = format!("`{fname}` missing");
                    d.help = Some(
                        "name the counter: `perf_options { perf_type: perf_type_software, perf_config: page_faults }`"
                            .into(),
                    );
                    self.err_expr(*lit_span)
                }
            };
            given[i] = Some(v);
        }
        // pid -1 (every process) with cpu -1 (every CPU): perf_event_open
        // refuses it (docs/language.md, "`@perf_event` programs").
        let (pid, cpu) = (
            given[2].as_ref().and_then(const_int),
            given[3].as_ref().and_then(const_int),
        );
        for (i, what, v) in [(2, "pid", pid), (3, "cpu", cpu)] {
            if v.is_some_and(|v| v < -1) {
                let at = written[i].map_or(*lit_span, |e| e.span);
                let d = self.c.error(
                    codes::PERF,
                    at,
                    format!("`{what}` is -1 (any) or a number, not {}", v.unwrap_or(0)),
                );
                d.help = Some(if what == "pid" {
                    "`pid: 0` is this process, `pid: -1` every process".into()
                } else {
                    "`cpu: -1` is any CPU, `cpu: 0` the first".into()
                });
            }
        }
        if pid == Some(-1) && cpu == Some(-1) {
            let at = written[2].or(written[3]).map_or(*lit_span, |e| e.span);
            let d = self.c.error(
                codes::PERF,
                at,
                "a perf counter cannot watch every process on every CPU (`pid: -1` with `cpu: -1`)",
            );
            d.label = "pid -1 and cpu -1".into();
            d.help = Some(
                "watch one process on any CPU (`pid: 0` is this process, `cpu: -1`), or every process on one CPU (`pid: -1`, `cpu: 0`)"
                    .into(),
            );
        }
        // A named counter meant for the other type (`page_faults` with
        // `perf_type_hardware`) means another counter: say which.
        if let (Some(ast::ExprKind::Name(t)), Some(ast::ExprKind::Name(c))) =
            (written[0].map(|e| &e.kind), written[1].map(|e| &e.kind))
        {
            let ty = crate::builtins::PERF_TYPES
                .iter()
                .find(|(n, _)| *n == t.name && self.c.lookup(t).is_some_and(|s| s.span.is_none()));
            let conf = crate::builtins::PERF_CONFIGS
                .iter()
                .find(|(n, ..)| *n == c.name && self.c.lookup(c).is_some_and(|s| s.span.is_none()));
            if let (Some((tn, tv)), Some((cn, ct, cv))) = (ty, conf) {
                if (*tv == 0 || *tv == 1) && tv != ct {
                    let meant = if *ct == 0 {
                        "perf_type_hardware"
                    } else {
                        "perf_type_software"
                    };
                    let other = crate::builtins::PERF_CONFIGS
                        .iter()
                        .find(|(_, t2, v2)| t2 == tv && v2 == cv)
                        .map_or(String::new(), |(n, ..)| {
                            format!(" (with `{tn}` it is `{n}`)")
                        });
                    let d = self.c.warning(
                        codes::PERF_WARN,
                        c.span,
                        format!("`{cn}` is a counter of `{meant}`, not of `{tn}`{other}"),
                    );
                    d.help = Some(format!("write `perf_type: {meant}`"));
                }
            }
        }
        out.extend(given.into_iter().flatten());
        self.mk(
            ir::ExprKind::Call {
                callee: Callee::Builtin(Builtin::AttachPerf),
                args: out,
            },
            pa,
            span,
        )
    }

    /// `read(att)`: a perf counter's value. Not a reserved name: a
    /// program's own `read` is found before this.
    pub(super) fn lower_read(
        &mut self,
        id: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> ir::Expr {
        self.call_builtin(id, Builtin::ReadPerf, args, span)
    }

    /// `print("fmt", values...)`: the values checked, the format parsed
    /// into [`ir::FormatSegment`]s with each value's conversion chosen from
    /// its type (docs/language.md, `print`). With conversions there is one
    /// value per conversion, of a kind it formats; without any, the values
    /// follow the text.
    pub(super) fn lower_print(&mut self, args: &[ast::Expr], span: Span) -> ir::Expr {
        let void = self.c.types.void;
        let mut out = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let x = self.expr(a, None);
            // A lookup prints the entry's value.
            let x = self.read_through(x);
            if i == 0
                && !matches!(self.t().kind(x.ty), TypeKind::Str(_))
                && !self.t().is_error(x.ty)
            {
                self.c.error(
                    codes::FORMAT,
                    a.span,
                    "`print` starts with a string: `print(\"x=%d\", x)`",
                );
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
                        codes::FORMAT,
                        a.span,
                        format!("`print` cannot format a `{}`", self.t().display(x.ty)),
                    )
                    .help = Some("print its fields".into());
            }
            out.push(x);
        }
        if self.ebpf() && out.len() > 4 {
            self.c
                .error(
                    codes::ARITY,
                    span,
                    format!(
                        "`print` in eBPF takes at most 3 values after the format; this has {}",
                        out.len() - 1
                    ),
                )
                .help = Some(
                "bpf_printk formats at most 3 values: split the line into several `print` calls"
                    .into(),
            );
        }
        let mut it = out.into_iter();
        let fmt = it.next();
        let values: Vec<ir::Expr> = it.collect();
        let segments = match fmt.as_ref().map(|e| &e.kind) {
            Some(ir::ExprKind::Value(Value::Str(f))) => self.print_segments(f, &values, args, span),
            _ => Vec::new(),
        };
        self.mk(ir::ExprKind::Print { segments, values }, void, span)
    }

    fn print_segments(
        &mut self,
        fmt: &str,
        values: &[ir::Expr],
        args: &[ast::Expr],
        span: Span,
    ) -> Vec<ir::FormatSegment> {
        let pieces = match parse_format(fmt) {
            Ok(p) => p,
            Err(msg) => {
                self.c.error(codes::FORMAT, args[0].span, msg).help = Some(
                    "the conversions are %d %i %u %x %X %o %c %s %p (and %% for a percent sign)"
                        .into(),
                );
                return Vec::new();
            }
        };
        let convs = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Conv(..)))
            .count();
        let mut segments = Vec::new();
        if convs == 0 {
            // List style: the values follow the text.
            let text: String = pieces
                .into_iter()
                .map(|p| match p {
                    Piece::Text(t) => t,
                    Piece::Conv(..) => unreachable!(),
                })
                .collect();
            if !text.is_empty() {
                segments.push(ir::FormatSegment::Text(text));
            }
            for (i, v) in values.iter().enumerate() {
                let conv = self.conversion(v, 'v');
                segments.push(ir::FormatSegment::Value {
                    value: i as u32,
                    conv,
                    spec: ir::FormatSpec::default(),
                });
            }
            return segments;
        }
        if convs != values.len() {
            let (n, m) = (convs, values.len());
            self.c
                .error(
                    codes::FORMAT,
                    span,
                    format!(
                        "the format has {n} conversion{} but {m} value{} follow{}",
                        if n == 1 { "" } else { "s" },
                        if m == 1 { "" } else { "s" },
                        if m == 1 { "s" } else { "" }
                    ),
                )
                .help = Some("give one value per `%` conversion".into());
            return Vec::new();
        }
        let mut vi = 0;
        for p in pieces {
            match p {
                Piece::Text(t) => segments.push(ir::FormatSegment::Text(t)),
                Piece::Conv(spec, conv) => {
                    let v = &values[vi];
                    self.check_conversion(conv, v, &args[vi + 1]);
                    let mut c = self.conversion(v, conv);
                    // `%+d` of a narrow unsigned value: the sign the user
                    // asked for (it fits a signed 64-bit number).
                    if (spec.plus || spec.space)
                        && matches!(conv, 'd' | 'i')
                        && matches!(self.t().kind(v.ty), TypeKind::Int(i) if i.bits() < 64)
                    {
                        c = ir::FormatConv::Signed;
                    }
                    segments.push(ir::FormatSegment::Value {
                        value: vi as u32,
                        conv: c,
                        spec,
                    });
                    vi += 1;
                }
            }
        }
        segments
    }

    /// A value's conversion (`'v'`: list style, no conversion written).
    fn conversion(&self, v: &ir::Expr, conv: char) -> ir::FormatConv {
        use ir::FormatConv as F;
        match self.t().kind(v.ty) {
            TypeKind::Str(_) | TypeKind::Array(..) => F::Str,
            TypeKind::Pointer(_) if conv == 's' => F::Str,
            TypeKind::Pointer(_) => F::Pointer,
            TypeKind::Char => F::Char,
            TypeKind::Int(i) => match conv {
                'c' => F::Char,
                'x' => F::Hex { upper: false },
                'X' => F::Hex { upper: true },
                'o' => F::Octal,
                'u' => F::Unsigned,
                _ if i.signed() => F::Signed,
                // An unsigned value printed with %d would show as negative.
                _ => F::Unsigned,
            },
            _ => F::Signed,
        }
    }

    /// The value fits its conversion (an integer for `%d`, text for `%s`).
    fn check_conversion(&mut self, conv: char, v: &ir::Expr, a: &ast::Expr) {
        if self.t().is_error(v.ty) {
            return;
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
                    codes::FORMAT,
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

/// A parsed printf-style format: text, and conversions with their spec.
enum Piece {
    Text(String),
    Conv(ir::FormatSpec, char),
}

/// Parses a format: `%%` is a percent sign; flags, width, precision and
/// length modifiers are allowed (the length is the value's own: the
/// writer picks it from the type).
fn parse_format(fmt: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let mut written = String::from("%");
        let mut spec = ir::FormatSpec::default();
        let mut number: Option<u32> = None;
        let mut in_precision = false;
        let mut flags_done = false;
        loop {
            let Some(&n) = chars.peek() else {
                return Err(format!("the format ends inside the conversion `{written}`"));
            };
            chars.next();
            written.push(n);
            match n {
                '%' if written == "%%" => {
                    text.push('%');
                    break;
                }
                '-' | '+' | ' ' | '#' | '0' if !flags_done && number.is_none() => match n {
                    '-' => spec.left = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    '#' => spec.alternate = true,
                    _ => spec.zero = true,
                },
                '0'..='9' => {
                    flags_done = true;
                    let d = n.to_digit(10).unwrap_or(0);
                    number = Some(number.unwrap_or(0).saturating_mul(10).saturating_add(d));
                }
                '.' if !in_precision => {
                    flags_done = true;
                    spec.width = number.take();
                    in_precision = true;
                }
                'l' | 'h' | 'z' | 'j' | 't' => flags_done = true,
                'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' | 's' | 'p' => {
                    if in_precision {
                        spec.precision = Some(number.unwrap_or(0));
                    } else {
                        spec.width = number;
                    }
                    if !text.is_empty() {
                        out.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    out.push(Piece::Conv(spec, n));
                    break;
                }
                'f' | 'e' | 'g' | 'E' | 'G' | 'a' => {
                    return Err(format!(
                        "`{written}` formats a floating-point number; KernelScript has none"
                    ))
                }
                _ => return Err(format!("`{written}` is not a conversion `print` knows")),
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// The value of a constant integer expression (a literal, maybe negated or
/// converted), for the checks that can be made at compile time.
fn const_int(e: &ir::Expr) -> Option<i128> {
    match &e.kind {
        ir::ExprKind::Value(Value::Int(v)) => Some(*v as i128),
        ir::ExprKind::Value(Value::UInt(v)) => Some(*v as i128),
        ir::ExprKind::Cast(x) => const_int(x),
        ir::ExprKind::Unary {
            op: ir::UnOp::Neg,
            operand,
        } => const_int(operand).map(|v| -v),
        _ => None,
    }
}
