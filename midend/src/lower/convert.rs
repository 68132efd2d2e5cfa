//! Conversions while lowering: literals take the type they are used at,
//! implicit widenings become explicit casts, two integer operands are
//! unified, and a value is coerced to an expected type (or the mismatch is
//! reported). Conditions (`bool`, integers or pointers) are checked here
//! too.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{TypeId, TypeKind, Value};

use super::FnCx;
use crate::consteval::{int_value, value_int};
use crate::types::common_int;

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn check_arith(&mut self, op: ir::BinOp, a: TypeId, b: TypeId, span: Span) {
        if self.t().is_error(a) || self.t().is_error(b) {
            return;
        }
        let ok = self.t().is_integer(a) && self.t().is_integer(b);
        if !ok {
            let (x, y) = (self.t().display(a), self.t().display(b));
            self.c
                .error(
                    codes::BAD_OPERAND,
                    span,
                    format!("`{}` cannot be applied to `{x}` and `{y}`", op.symbol()),
                )
                .help = Some("arithmetic and bitwise operators work on integers".into());
        }
    }

    /// A condition: bool, integer or pointer (C's truthiness).
    pub(super) fn cond(&mut self, e: &ast::Expr) -> ir::Expr {
        let x = self.expr_ptr_ok(e, None);
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
                    codes::BAD_OPERAND,
                    e.span,
                    "a condition must be a `bool`, an integer or a pointer",
                )
                .label = format!("found `{}`", self.t().display(x.ty));
        }
        x
    }

    /// Give an untyped integer literal the type `to` (if it fits).
    pub(super) fn adapt_literal(&mut self, mut x: ir::Expr, to: TypeId) -> ir::Expr {
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

    pub(super) fn cast_to(&self, x: ir::Expr, to: TypeId) -> ir::Expr {
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
    pub(super) fn coerce_expr(&mut self, e: &ast::Expr, to: TypeId, ptr_ok: bool) -> ir::Expr {
        let x = if ptr_ok && self.t().pointee(to).is_some() {
            self.expr_ptr_ok(e, Some(to))
        } else {
            self.expr(e, Some(to))
        };
        self.coerce(x, to, e.span)
    }

    pub(super) fn coerce(&mut self, x: ir::Expr, to: TypeId, span: Span) -> ir::Expr {
        // A lookup where a value (not a pointer) is expected reads the entry.
        let x = if !self.t().is_pointer_like(to) && !self.t().is_error(to) {
            self.read_through(x)
        } else {
            x
        };
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
                    let shown = it.name();
                    let help = self.c.int_fit_help(n, it, shown);
                    self.c
                        .error(
                            codes::OUT_OF_RANGE,
                            span,
                            format!("`{n}` does not fit in `{shown}`"),
                        )
                        .help = Some(help);
                    return self.err_expr(span);
                }
            }
        }
        if let (TypeKind::Str(a), TypeKind::Str(b)) = (self.t().kind(x.ty), self.t().kind(to)) {
            let (a, b) = (*a, *b);
            self.c
                .error(codes::OUT_OF_RANGE,
                    span,
                    format!("a string of {a} bytes does not fit in `str({b})`"),
                )
                .help = Some(format!(
                "`str(N)` holds N-1 characters and the terminating NUL: declare it `str({a})` or larger"
            ));
            return self.err_expr(span);
        }
        let (f, t) = (self.t().display(x.ty), self.t().display(to));
        let castable = self.t().castable(x.ty, to);
        let narrowing = self.t().is_integer(x.ty) && self.t().is_integer(to);
        // The fix, quoting the user's expression: `t as u32`.
        let q = self.c.quote(span).unwrap_or_else(|| "...".into());
        // An enum destination is the program's (a return type, a
        // parameter): widening it is no fix.
        let to_enum = matches!(self.t().kind(to), TypeKind::Enum(_));
        // A value where a pointer to it is expected: typically a struct
        // assigned to `var v = m[k]` when the lookup found nothing
        // (docs/language.md, "A map lookup used as a value").
        let value_for_pointer = self.t().pointee(to) == Some(x.ty);
        // An array or string where a pointer to its elements is expected:
        // C would decay it; KernelScript asks for the address.
        let array_for_pointer = self
            .t()
            .pointee(to)
            .is_some_and(|p| match self.t().kind(x.ty) {
                TypeKind::Array(e, _) => *e == p,
                TypeKind::Str(_) => self.t().as_int(p).is_some_and(|i| i.bits() == 8),
                _ => false,
            });
        let d = self.c.error(
            codes::MISMATCH,
            span,
            format!("mismatched types: expected `{t}`, found `{f}`"),
        );
        d.label = format!("expected `{t}`");
        if castable && narrowing {
            // Implicit conversions are only the lossless ones (docs/language.md,
            // types and conversions; what the reference accepts and ksc refuses).
            d.help = Some(if to_enum {
                format!("a `{f}` does not always fit in a `{t}`: convert explicitly if the value fits, `{q} as {t}`")
            } else {
                format!("a `{f}` does not always fit in a `{t}`: convert explicitly if the value fits, `{q} as {t}`, or make the destination a `{f}`")
            });
        } else if castable {
            d.help = Some(format!(
                "convert explicitly if the value fits: `{q} as {t}`"
            ));
        } else if array_for_pointer {
            d.help = Some(format!(
                "an array is not a pointer in KernelScript (no C-style decay): point at its first element, `&{q}[0]`"
            ));
        } else if value_for_pointer {
            d.help = Some(format!(
                "a `{t}` points to a `{f}` somewhere else: to store this value in a map write the entry (`m[key] = value`); to point at it, keep it in a variable and take its address (`var v: {f} = ...`, then `&v`)"
            ));
        }
        self.err_expr(span)
    }

    pub(super) fn unify_ints(
        &mut self,
        a: ir::Expr,
        b: ir::Expr,
        span: Span,
    ) -> (ir::Expr, ir::Expr) {
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
                    self.c.error(codes::MISMATCH, span, format!("mismatched integer types `{p}` and `{q}`")).help =
                        Some(format!("neither converts to the other without loss; convert one explicitly: `x as {p}` or `y as {q}`"));
                    (a, b)
                }
            },
            _ => (a, b),
        }
    }
}
