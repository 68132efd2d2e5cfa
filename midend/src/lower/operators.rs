//! Lowering unary and binary operators: pointer arithmetic, string
//! concatenation, shifts, comparisons and their operand types.

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{IntType, TypeId, TypeKind, Value};

use super::{binop, FnCx};
use crate::consteval::value_int;

impl<'c, 'a> FnCx<'c, 'a> {
    pub(super) fn unary(
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
                        | ir::ExprKind::ConfigField { .. }
                );
                if !lvalue && !self.t().is_error(x.ty) {
                    self.c.error(
                        codes::BAD_OPERAND,
                        span,
                        "`&` needs a variable, a field or an element",
                    );
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
                            codes::BAD_OPERAND,
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
                        self.c.error(
                            codes::OUT_OF_RANGE,
                            span,
                            format!("`-{n}` does not fit in `{}`", it.name()),
                        );
                        return self.err_expr(span);
                    }
                    let ty = self.c.types.int(it);
                    return self.mk(ir::ExprKind::Value(Value::Int(v as i64)), ty, span);
                }
                let x = self.expr(operand, expect);
                let x = self.read_through(x);
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
                            .error(
                                codes::BAD_OPERAND,
                                span,
                                format!("cannot negate an unsigned `{}`", it.name()),
                            )
                            .help = Some(format!(
                            "convert first: `-(x as i{})`",
                            (it.bits() * 2).min(64)
                        ));
                        self.err_expr(span)
                    }
                    None => {
                        if !self.t().is_error(x.ty) {
                            self.c.error(
                                codes::BAD_OPERAND,
                                span,
                                format!("cannot negate `{}`", self.t().display(x.ty)),
                            );
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
                let x = self.read_through(x);
                if !self.t().is_integer(x.ty) && !self.t().is_error(x.ty) {
                    self.c.error(
                        codes::BAD_OPERAND,
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

    pub(super) fn binary(
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
                // A lookup compared with a value (not `null`, not another
                // pointer) compares the entry's value.
                let plain_ptr =
                    |fx: &Self, x: &ir::Expr| fx.t().is_pointer_like(x.ty) && !fx.is_lookup(x);
                let (a, b) = if null_l || null_r || plain_ptr(self, &a) || plain_ptr(self, &b) {
                    (a, b)
                } else {
                    (self.read_through(a), self.read_through(b))
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
                // `prog == null` of a handle `load` returned: `load` ends the
                // program when loading fails, so a handle is never null
                // (docs/language.md, "Headers, kernel structs and enums").
                let handle = |x: &ir::Expr, t: &crate::types::Types| {
                    matches!(t.kind(x.ty), TypeKind::ProgramHandle)
                        && matches!(x.kind, ir::ExprKind::Local(_))
                };
                let null =
                    |x: &ir::Expr, t: &crate::types::Types| matches!(t.kind(x.ty), TypeKind::Null);
                if matches!(op, B::Eq | B::Ne)
                    && ((handle(&a, self.t()) && null(&b, self.t()))
                        || (null(&a, self.t()) && handle(&b, self.t())))
                {
                    let ne = op == B::Ne;
                    self.c
                        .warning(codes::ALWAYS,
                            span,
                            format!(
                                "a program handle is never null: this is always {}",
                                if ne { "true" } else { "false" }
                            ),
                        )
                        .help = Some("`load` ends the program (status 1, with the kernel's message) when loading fails; the check can go".into());
                    return self.mk(
                        ir::ExprKind::Value(ksc_ir::Value::Bool(ne)),
                        self.c.types.bool_,
                        span,
                    );
                }
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
                    self.c.error(
                        codes::BAD_OPERAND,
                        span,
                        format!("cannot compare `{x}` with `{y}`"),
                    );
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
        // Arithmetic on a lookup reads the entry's value: no pointer
        // arithmetic on map entries.
        let a = self.expr(lhs, expect);
        let a = self.read_through(a);
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
                // The length between two packet pointers is a `u32`, as the
                // context's fields are (docs/language.md, packet length).
                let packet = self.is_packet(&a) && self.is_packet(&b);
                let diff = self.mk(
                    ir::ExprKind::Binary {
                        op: bop,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    },
                    self.c.types.i64_,
                    span,
                );
                if packet {
                    return self.mk(ir::ExprKind::Cast(Box::new(diff)), self.c.types.u32_, span);
                }
                return diff;
            }
            let (x, y) = (self.t().display(a.ty), self.t().display(b.ty));
            self.c
                .error(
                    codes::BAD_OPERAND,
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
                    codes::STRING_SIZE,
                    rhs.span,
                    format!("cannot add `{}` to a string", self.t().display(b.ty)),
                );
                return self.err_expr(span);
            }
            let Some(to) = expect.filter(|t| matches!(self.t().kind(*t), TypeKind::Str(_))) else {
                self.c
                    .error(
                        codes::STRING_SIZE,
                        span,
                        "string concatenation needs an explicit result size",
                    )
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
        let b = self.read_through(b);
        let (a, b) = if matches!(op, B::Shl | B::Shr) {
            let at = a.ty;
            let b = self.adapt_literal(b, at);
            // A shift keeps the left operand's type: `x_u8 << 8` is always 0.
            if let (Some(it), ir::ExprKind::Value(v)) = (self.t().as_int(at), &b.kind) {
                if value_int(v).is_some_and(|n| n >= it.bits() as i128 || n < 0) {
                    let wider = if it.bits() < 32 { "u32" } else { "u64" };
                    self.c.error(codes::BOUNDS,
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
                self.c.error(codes::BOUNDS, rhs.span, "division by zero");
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
}
