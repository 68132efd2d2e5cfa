//! Constant evaluation: constants, enum values, array lengths, global
//! initial values, config defaults and map sizes are folded at compile
//! time.
//!
//! Takes AST expressions; gives [`ksc_ir::Value`]s with their types, after
//! checking that they fit the type they are given. `const` declarations are
//! evaluated on first use, with cycles reported.

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir::{IntType, TypeId, TypeKind, Value};

use crate::checker::{Checker, Eval, Sym};
use crate::types::common_int;

impl<'a> Checker<'a> {
    pub(crate) fn const_value(&mut self, i: usize) -> Option<(Value, TypeId)> {
        match self.consts[i].state {
            Eval::Done => return self.consts[i].value.clone(),
            Eval::Busy => {
                let d = self.consts[i].decl;
                self.error(
                    codes::CYCLIC,
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
    pub(crate) fn fit_value(
        &mut self,
        v: Value,
        from: TypeId,
        to: TypeId,
        span: Span,
    ) -> Option<Value> {
        if let Some(it) = self.types.as_int(to) {
            if let Some(n) = value_int(&v) {
                let (lo, hi) = it.range();
                if n < lo || n > hi {
                    let shown = self.types.display(to);
                    let help = self.int_fit_help(n, it, &shown);
                    let d = self.error(
                        codes::OUT_OF_RANGE,
                        span,
                        format!("`{n}` does not fit in `{shown}`"),
                    );
                    d.label = format!("the range of `{}` is {lo}..={hi}", it.name());
                    d.help = Some(help);
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
                self.error(codes::OUT_OF_RANGE,
                    span,
                    format!("a string of {} bytes does not fit in `str({n})`", s.len() + 1),
                )
                .help = Some(format!(
                    "`str(N)` holds N-1 characters and the terminating NUL: declare it `str({})` or larger",
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
            codes::MISMATCH,
            span,
            format!("mismatched types: expected `{t}`, found `{f}`"),
        );
        None
    }

    /// Evaluate a constant expression (global initialisers, consts, lengths).
    pub(crate) fn const_eval(&mut self, e: &ast::Expr) -> Option<(Value, TypeId)> {
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
            AE::Name(id) => match self.lookup_sym(id) {
                Some(Sym::Const(i)) => return self.const_value(i),
                Some(Sym::EnumVariant(ty, v)) => (enum_value(&self.types, ty, v), ty),
                Some(Sym::BuiltinConst(v, ty)) => (
                    if self.types.as_int(ty).is_some_and(|i| i.signed()) {
                        Value::Int(v)
                    } else {
                        Value::UInt(v as u64)
                    },
                    ty,
                ),
                Some(_) => {
                    self.error(
                        codes::WRONG_KIND,
                        id.span,
                        format!("`{}` is not a constant", id.name),
                    )
                    .help = Some("initial values and sizes must be known at compile time".into());
                    return None;
                }
                None if self.fn_names.contains(&self.key(id)) => {
                    self.error(codes::GLOBAL_INIT, id.span, format!("a global cannot be initialised with the function `{}`", id.name))
                        .help = Some("a global's initial value is a constant of the eBPF object, where userspace functions do not exist: assign it at the start of `main` (a global holding a function pointer lives in userspace, null until assigned)".into());
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
                        self.error(codes::BOUNDS, rhs.span, "division by zero in a constant");
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
                            codes::NO_FIELD,
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
        self.error(
            codes::NOT_CONST,
            e.span,
            "this expression is not a compile-time constant",
        )
        .help = Some("global initial values, config defaults and sizes must be constants".into());
        None
    }

    /// The integer value of a named constant (a `const` or an enum
    /// variant) where a constant is required: array sizes, patterns.
    pub(crate) fn const_int(&mut self, id: &ast::Ident) -> Option<i128> {
        let e = ast::Expr {
            kind: AE::Name(id.clone()),
            span: id.span,
        };
        self.const_eval(&e).and_then(|(v, _)| value_int(&v))
    }
}

/// The value of an enum variant stored as `v` (its 64 bits for a `u64` enum).
pub(crate) fn enum_value(types: &crate::types::Types, ty: ksc_ir::TypeId, v: i64) -> Value {
    match types.kind(ty) {
        ksc_ir::TypeKind::Enum(e) if e.repr == ksc_ir::IntType::U64 => Value::UInt(v as u64),
        _ => Value::Int(v),
    }
}

pub(crate) fn value_int(v: &Value) -> Option<i128> {
    match v {
        Value::Int(n) => Some(*n as i128),
        Value::UInt(n) => Some(*n as i128),
        Value::Char(c) => Some(*c as i128),
        Value::Bool(b) => Some(*b as i128),
        _ => None,
    }
}

pub(crate) fn int_value(it: IntType, n: i128) -> Value {
    if it.signed() {
        Value::Int(n as i64)
    } else {
        Value::UInt(n as u64)
    }
}
