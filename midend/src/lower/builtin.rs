//! Lowering calls of built-in functions: `print` (its format checked
//! against its values), `load`, `attach`, `detach`, `register`, `test`,
//! `sleep` and the byte-order conversions, each allowed only where it can
//! run.

use ksc_frontend::ast;
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
