//! Expressions and types back to text. Parentheses of the source are kept
//! (one pair where several were written); others are added only where
//! the grammar needs them.

use super::doc::{concat, group, nest, text, Doc};
use super::print::{rng, Printer, Sep};
use crate::ast::*;
use crate::token::Tok;

/// Precedence levels, loosest first, as in `grammar.lalrpop`.
pub const TERNARY: u8 = 1;
pub const CAST: u8 = 12;
pub const UNARY: u8 = 13;
pub const POSTFIX: u8 = 14;
const PRIMARY: u8 = 15;

fn bin_level(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::BitOr => 4,
        BinOp::BitXor => 5,
        BinOp::BitAnd => 6,
        BinOp::Eq | BinOp::Ne => 7,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 8,
        BinOp::Shl | BinOp::Shr => 9,
        BinOp::Add | BinOp::Sub => 10,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 11,
    }
}

fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If { .. } => 0,
        ExprKind::Ternary { .. } => TERNARY,
        ExprKind::Binary { op, .. } => bin_level(*op),
        ExprKind::Cast { .. } => CAST,
        ExprKind::Unary { .. } => UNARY,
        ExprKind::Call { .. } | ExprKind::Field { .. } | ExprKind::Index { .. } => POSTFIX,
        _ => PRIMARY,
    }
}

/// The sub-expression an expression starts with, if it starts with one.
fn first_child(e: &Expr) -> Option<&Expr> {
    match &e.kind {
        ExprKind::Binary { lhs, .. } => Some(lhs),
        ExprKind::Cast { expr, .. } => Some(expr),
        ExprKind::Call { callee, .. } => Some(callee),
        ExprKind::Field { base, .. } | ExprKind::Index { base, .. } => Some(base),
        ExprKind::Ternary { cond, .. } => Some(cond),
        _ => None,
    }
}

fn unop(op: UnOp) -> &'static str {
    match op {
        UnOp::Not => "!",
        UnOp::Neg => "-",
        UnOp::BitNot => "~",
        UnOp::Deref => "*",
        UnOp::AddrOf => "&",
    }
}

impl Printer<'_> {
    /// Was `e` written in parentheses? Its span then starts at a `(` that
    /// none of its parts starts with.
    fn parenthesized(&self, e: &Expr) -> bool {
        let s = e.span.start as usize;
        if self.src.as_bytes().get(s) != Some(&b'(') {
            return false;
        }
        match first_child(e) {
            Some(c) => c.span.start as usize != s,
            None => true,
        }
    }

    /// `e` where the grammar asks for precedence `min` or tighter.
    pub fn expr(&mut self, e: &Expr, min: u8) -> Doc {
        let lead = self.inline_comments(e.span.start as usize);
        let inner = self.expr_kind(e);
        if self.parenthesized(e) || level(e) < min {
            concat(vec![lead, text("("), inner, text(")")])
        } else {
            concat(vec![lead, inner])
        }
    }

    fn literal(&self, e: &Expr, want: impl Fn(&Tok) -> bool, fallback: String) -> Doc {
        text(
            self.token_text(e.span, want)
                .map_or(fallback, str::to_string),
        )
    }

    fn expr_kind(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Int(n) => self.literal(e, |t| matches!(t, Tok::Int(_)), n.to_string()),
            ExprKind::Str(s) => self.literal(e, |t| matches!(t, Tok::Str(_)), format!("{s:?}")),
            ExprKind::Char(c) => self.literal(
                e,
                |t| matches!(t, Tok::Char(_)),
                format!("'{}'", (*c as char).escape_default()),
            ),
            ExprKind::Bool(b) => text(b.to_string()),
            ExprKind::Null => {
                self.literal(e, |t| matches!(t, Tok::Null | Tok::None), "null".into())
            }
            ExprKind::Name(id) => text(id.name.clone()),
            ExprKind::Binary { op, .. } => {
                // A chain of one level (`a + b - c`) breaks after its operators.
                let lvl = bin_level(*op);
                let mut operands = Vec::new();
                let mut cur = e;
                while let ExprKind::Binary { op, lhs, rhs } = &cur.kind {
                    if bin_level(*op) != lvl || (!std::ptr::eq(cur, e) && self.parenthesized(cur)) {
                        break;
                    }
                    operands.push((*op, rhs.as_ref()));
                    cur = lhs;
                }
                let first = cur;
                operands.reverse();
                let mut v = vec![self.expr(first, lvl)];
                let mut rest = Vec::new();
                for (op, rhs) in operands {
                    rest.push(text(format!(" {}", op.symbol())));
                    rest.push(Doc::Line);
                    rest.push(self.expr(rhs, lvl + 1));
                }
                v.push(nest(concat(rest)));
                group(concat(v))
            }
            ExprKind::Unary { op, operand } => {
                let mut v = vec![text(unop(*op))];
                // `& &x` would lex as `&&x`, `- -x` is fine but reads badly.
                if let ExprKind::Unary { op: inner, .. } = &operand.kind {
                    if !self.parenthesized(operand)
                        && matches!(
                            (op, inner),
                            (UnOp::AddrOf, UnOp::AddrOf) | (UnOp::Neg, UnOp::Neg)
                        )
                    {
                        v.push(text(" "));
                    }
                }
                v.push(self.expr(operand, UNARY));
                concat(v)
            }
            ExprKind::Cast { expr, ty } => {
                concat(vec![self.expr(expr, CAST), text(" as "), self.ty(ty)])
            }
            ExprKind::Call { callee, args } => {
                concat(vec![self.expr(callee, POSTFIX), self.args(args)])
            }
            ExprKind::Field { base, field, arrow } => concat(vec![
                self.expr(base, POSTFIX),
                text(if *arrow { "->" } else { "." }),
                text(field.name.clone()),
            ]),
            ExprKind::Index { base, index } => concat(vec![
                self.expr(base, POSTFIX),
                text("["),
                self.expr(index, 0),
                text("]"),
            ]),
            ExprKind::StructLit { name, fields } => {
                let close = self.close_brace(e.span.end as usize);
                // Written across lines, a literal stays so (as prettier does).
                let open = name.span.end as usize;
                let expanded = self.src[open..close]
                    .split('{')
                    .nth(1)
                    .is_some_and(|after| {
                        after
                            .trim_start_matches([' ', '\t', '\r'])
                            .starts_with('\n')
                    });
                let has_comments = self
                    .comments
                    .get(self.next)
                    .is_some_and(|c| c.start < close);
                if expanded || has_comments {
                    let body = self.braced(
                        fields,
                        |f| f.span,
                        |_| Sep::Comma,
                        |p, f| p.field_init(f),
                        close,
                    );
                    concat(vec![text(format!("{} ", name.name)), body])
                } else if fields.is_empty() {
                    text(format!("{} {{}}", name.name))
                } else {
                    let list =
                        self.paren_list(fields, |f| f.span, |p, f| p.field_init(f), "{", "}", true);
                    concat(vec![text(format!("{} ", name.name)), list])
                }
            }
            ExprKind::ArrayLit(elems) => {
                self.paren_list(elems, |x| x.span, |p, x| p.expr(x, 0), "[", "]", false)
            }
            ExprKind::ArrayRepeat { value, count } => concat(vec![
                text("["),
                self.expr(value, 0),
                text("; "),
                self.expr(count, 0),
                text("]"),
            ]),
            ExprKind::Match { scrutinee, arms } => {
                let close = self.close_brace(e.span.end as usize);
                concat(vec![
                    text("match ("),
                    self.expr(scrutinee, 0),
                    text(") "),
                    self.braced(arms, |a| a.span, |_| Sep::Comma, |p, a| p.arm(a), close),
                ])
            }
            ExprKind::If { cond, then, els } => {
                let mut v = vec![
                    text("if ("),
                    self.expr(cond, 0),
                    text(") { "),
                    self.expr(then, 0),
                    text(" } else "),
                ];
                if matches!(els.kind, ExprKind::If { .. }) && !self.parenthesized(els) {
                    v.push(self.expr(els, 0));
                } else {
                    v.push(text("{ "));
                    v.push(self.expr(els, 0));
                    v.push(text(" }"));
                }
                concat(v)
            }
            ExprKind::Ternary { cond, then, els } => concat(vec![
                self.expr(cond, TERNARY + 1),
                text(" ? "),
                self.expr(then, 0),
                text(" : "),
                self.expr(els, TERNARY),
            ]),
            ExprKind::Sizeof(t) => concat(vec![text("sizeof("), self.ty(t), text(")")]),
            ExprKind::Block(b) => self.block(b),
            ExprKind::New { ty, args } => {
                concat(vec![text(format!("new {}", ty.name)), self.args(args)])
            }
            ExprKind::Error => text(self.src[rng(e.span)].to_string()),
        }
    }

    fn field_init(&mut self, f: &FieldInit) -> Doc {
        concat(vec![
            text(format!("{}: ", f.name.name)),
            self.expr(&f.value, 0),
        ])
    }

    fn arm(&mut self, a: &MatchArm) -> Doc {
        let pat = match &a.pattern {
            Pattern::Int(n, sp) => self.int_text(*sp, *n),
            Pattern::Char(c, sp) => self
                .token_text(*sp, |t| matches!(t, Tok::Char(_)))
                .map_or_else(
                    || format!("'{}'", (*c as char).escape_default()),
                    str::to_string,
                ),
            Pattern::Bool(b, _) => b.to_string(),
            Pattern::Name(id) => id.name.clone(),
            Pattern::Default(sp) => self.src[rng(*sp)].to_string(),
        };
        concat(vec![text(format!("{pat}: ")), self.expr(&a.body, 0)])
    }

    /// Call arguments `(a, b)`.
    pub fn args(&mut self, args: &[Expr]) -> Doc {
        self.paren_list(args, |x| x.span, |p, x| p.expr(x, 0), "(", ")", false)
    }

    /// Map arguments `(1024, flags = 1)`.
    pub fn named_args(&mut self, args: &[(Option<&Ident>, &Expr)]) -> Doc {
        self.paren_list(
            args,
            |a| a.1.span,
            |p, a| match a.0 {
                Some(n) => concat(vec![text(format!("{} = ", n.name)), p.expr(a.1, 0)]),
                None => p.expr(a.1, 0),
            },
            "(",
            ")",
            false,
        )
    }

    /// What `for (k, v) in` iterates: a name or field path as it is,
    /// anything else in parentheses.
    pub fn iter_expr(&mut self, e: &Expr) -> Doc {
        fn path(e: &Expr) -> bool {
            match &e.kind {
                ExprKind::Name(_) => true,
                ExprKind::Field { base, .. } => path(base),
                _ => false,
            }
        }
        if path(e) {
            fn print(e: &Expr) -> String {
                match &e.kind {
                    ExprKind::Name(id) => id.name.clone(),
                    ExprKind::Field { base, field, arrow } => {
                        format!(
                            "{}{}{}",
                            print(base),
                            if *arrow { "->" } else { "." },
                            field.name
                        )
                    }
                    _ => unreachable!("checked by path()"),
                }
            }
            let lead = self.inline_comments(e.span.start as usize);
            concat(vec![lead, text(print(e))])
        } else {
            let lead = self.inline_comments(e.span.start as usize);
            let inner = self.expr_kind(e);
            concat(vec![lead, text("("), inner, text(")")])
        }
    }

    // ------------------------------------------------------------ types

    pub fn ty(&mut self, t: &Type) -> Doc {
        text(self.ty_text(t))
    }

    fn len_text(&self, n: &ArrayLen) -> String {
        match n {
            ArrayLen::Lit(v, sp) => self.int_text(*sp, *v as i128),
            ArrayLen::Const(id) => id.name.clone(),
        }
    }

    fn ty_text(&self, t: &Type) -> String {
        match &t.kind {
            TypeKind::Prim(_) | TypeKind::Error => self.src[rng(t.span)].trim().to_string(),
            TypeKind::Named(id) => id.name.clone(),
            TypeKind::Str(n) => format!("str({})", self.len_text(n)),
            TypeKind::Pointer(inner) => format!("*{}", self.ty_text(inner)),
            TypeKind::Array(inner, None) => format!("[{}]", self.ty_text(inner)),
            TypeKind::Array(inner, Some(n)) => {
                // `T[N]` only binds to a type that is not a pointer or function.
                if matches!(inner.kind, TypeKind::Pointer(_) | TypeKind::Function(_)) {
                    format!("[{}; {}]", self.ty_text(inner), self.len_text(n))
                } else {
                    format!("{}[{}]", self.ty_text(inner), self.len_text(n))
                }
            }
            TypeKind::Function(f) => {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|p| match &p.name {
                        Some(n) => format!("{}: {}", n.name, self.ty_text(&p.ty)),
                        None => self.ty_text(&p.ty),
                    })
                    .collect();
                let mut s = format!("fn({})", params.join(", "));
                if let Some(r) = &f.ret {
                    s.push(' ');
                    s.push_str(&self.ret_text(r));
                }
                s
            }
        }
    }

    fn ret_text(&self, r: &RetSpec) -> String {
        match &r.name {
            Some(n) => format!("-> {}: {}", n.name, self.ty_text(&r.ty)),
            None => format!("-> {}", self.ty_text(&r.ty)),
        }
    }

    pub fn ret_spec(&mut self, r: &RetSpec) -> Doc {
        text(self.ret_text(r))
    }
}
