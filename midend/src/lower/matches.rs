//! `match` arms and values in statement position: the arms' patterns and
//! exhaustiveness (shared with the `match` expression), `match` with block
//! arms (`PAT: { stmts }`) lowered to an `if` chain, and the "tail" of a
//! block, whose last expression is a value (a block arm's value, a
//! function's implicit return). docs/language.md, "Syntax the reference
//! accepts".

use ksc_frontend::diag::codes;
use std::collections::HashMap;

use ksc_frontend::ast::{self, ExprKind as AE, StmtKind as AS};
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{IntType, LocalId, TypeId, TypeKind};

use super::FnCx;
use crate::consteval::int_value;

/// Where the value of a block's last expression goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sink {
    /// Nowhere: the block is a statement.
    Discard,
    /// Returned from the function (`return match`, an implicit return).
    Return,
    /// Stored in this local; while its type is `void` the first value
    /// found fixes it (`var x = match ...` without a type).
    Local(LocalId),
}

/// A `match`'s arms resolved: `(value, arm)` in source order and the arm
/// taken otherwise (the `default`, or for a match covering every value of
/// its `bool` or enum, the last arm). `default` is `None` only after an error.
pub(super) struct Cases<'e> {
    pub cases: Vec<(i64, &'e ast::MatchArm)>,
    pub default: Option<&'e ast::MatchArm>,
}

impl<'c, 'a> FnCx<'c, 'a> {
    /// Does any arm of this `match` have a block body?
    pub(super) fn has_block_arm(arms: &[ast::MatchArm]) -> bool {
        arms.iter().any(|a| matches!(a.body.kind, AE::Block(_)))
    }

    /// Lower and check a `match` scrutinee: an integer, enum, `char` or
    /// `bool` (a `bool` is switched on as `0`/`1`).
    /// Returns it and its type as written (before a `bool` became `u32`).
    pub(super) fn match_scrutinee(&mut self, e: &ast::Expr) -> (ir::Expr, TypeId) {
        let s = self.expr(e, None);
        // A checked lookup matched reads through (docs/language.md, "A map
        // lookup used as a value").
        let s = self.read_through(s);
        let raw = s.ty;
        if matches!(self.t().kind(s.ty), TypeKind::Bool) {
            let u32_ = self.c.types.u32_;
            return (self.mk(ir::ExprKind::Cast(Box::new(s)), u32_, e.span), raw);
        }
        if !self.t().is_integer(s.ty) && !self.t().is_error(s.ty) {
            self.c
                .error(
                    codes::MATCH,
                    e.span,
                    "`match` works on integers, enums and `bool`",
                )
                .label = format!("found `{}`", self.t().display(s.ty));
        }
        (s, raw)
    }

    /// Resolve the arms' patterns against a scrutinee of type `ty` (its
    /// type before a `bool` became `u32`: `is_bool`), and check that every
    /// value is covered.
    pub(super) fn match_cases<'e>(
        &mut self,
        ty: TypeId,
        is_bool: bool,
        arms: &'e [ast::MatchArm],
        span: Span,
    ) -> Cases<'e> {
        let mut cases: Vec<(i64, &ast::MatchArm)> = Vec::new();
        let mut default = None;
        for arm in arms {
            let v = match &arm.pattern {
                ast::Pattern::Default(ps) => {
                    if default.is_some() {
                        self.c
                            .error(codes::MATCH, *ps, "`match` has more than one `default` arm");
                    }
                    default = Some(arm);
                    continue;
                }
                ast::Pattern::Bool(b, ps) => {
                    if !is_bool && !self.t().is_error(ty) {
                        self.c
                            .error(codes::MATCH, *ps, format!("`{b}` matches a `bool`"))
                            .label = format!("the value matched is `{}`", self.t().display(ty));
                    }
                    Some(*b as i64)
                }
                _ if is_bool => {
                    let ps = match &arm.pattern {
                        ast::Pattern::Int(_, s) | ast::Pattern::Char(_, s) => *s,
                        ast::Pattern::Name(id) => id.span,
                        _ => arm.span,
                    };
                    self.c
                        .error(
                            codes::MATCH,
                            ps,
                            "the arms of a `match` on a `bool` are `true` and `false`",
                        )
                        .label = "not a `bool`".into();
                    None
                }
                ast::Pattern::Int(n, _) => Some(*n as i64),
                ast::Pattern::Char(c, _) => Some(*c as i64),
                ast::Pattern::Name(id) => self.c.const_int(id).map(|n| n as i64),
            };
            if let Some(v) = v {
                if cases.iter().any(|(w, _)| *w == v) {
                    self.c.warning(
                        codes::REDUNDANT_ARM,
                        arm.span,
                        format!("value {v} is already matched by an earlier arm"),
                    );
                }
                cases.push((v, arm));
            }
        }
        if default.is_none() && !self.t().is_error(ty) {
            // Values no arm names (docs/language.md, "Syntax the reference
            // accepts": a match covering every variant needs no `default`).
            let missing: Option<Vec<String>> = if is_bool {
                Some(
                    [(1, "true"), (0, "false")]
                        .iter()
                        .filter(|(v, _)| !cases.iter().any(|(w, _)| w == v))
                        .map(|(_, n)| format!("`{n}`"))
                        .collect(),
                )
            } else if let TypeKind::Enum(def) = self.t().kind(ty) {
                Some(
                    def.variants
                        .iter()
                        .filter(|v| !cases.iter().any(|(w, _)| *w == v.value))
                        .map(|v| format!("`{}`", v.name))
                        .collect(),
                )
            } else {
                None
            };
            match missing {
                Some(m) if m.is_empty() && !cases.is_empty() => {
                    let (_, last) = cases.pop().expect("an arm");
                    default = Some(last);
                }
                Some(m) => {
                    self.c
                        .error(codes::MATCH, span, "`match` does not cover every value")
                        .help = Some(format!(
                        "add arms for {}, or `default: value`",
                        m.join(", ")
                    ));
                }
                None => {
                    self.c
                        .error(codes::MATCH, span, "`match` needs a `default` arm")
                        .help = Some("add `default: value` for the values no arm names".into());
                }
            }
        }
        Cases { cases, default }
    }

    /// A `match` in statement position, each arm's value going to `sink`:
    /// the scrutinee in a local, then an `if` chain of the arms.
    pub(super) fn match_stmt(
        &mut self,
        scrutinee: &ast::Expr,
        arms: &[ast::MatchArm],
        sink: Sink,
        span: Span,
    ) -> ir::Stmt {
        let (x, raw) = self.match_scrutinee(scrutinee);
        let is_bool = matches!(self.t().kind(raw), TypeKind::Bool);
        let ty = x.ty;
        let m = self.declare("__match", ty, scrutinee.span, true);
        let Cases { cases, default } = self.match_cases(raw, is_bool, arms, span);
        // Arms lowered in source order (their diagnostics, and the first
        // value fixing an untyped result), then chained.
        let mut chain = ir::Block { stmts: vec![] };
        let mut lowered: Vec<(i64, &ast::MatchArm, ir::Block)> = Vec::new();
        for arm in arms {
            if default.is_some_and(|d| std::ptr::eq(d, arm)) {
                chain = self.arm_block(arm, sink);
            } else if let Some((v, _)) = cases.iter().find(|(_, a)| std::ptr::eq(*a, arm)) {
                let b = self.arm_block(arm, sink);
                lowered.push((*v, arm, b));
            }
        }
        for (v, arm, then) in lowered.into_iter().rev() {
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
            chain = ir::Block {
                stmts: vec![ir::Stmt {
                    kind: ir::StmtKind::If {
                        cond,
                        then,
                        els: chain,
                    },
                    span: arm.span,
                }],
            };
        }
        let mut stmts = vec![ir::Stmt {
            kind: ir::StmtKind::Let {
                local: m,
                init: Some(x),
            },
            span,
        }];
        stmts.extend(chain.stmts);
        ir::Stmt {
            kind: ir::StmtKind::Block(ir::Block { stmts }),
            span,
        }
    }

    fn arm_block(&mut self, arm: &ast::MatchArm, sink: Sink) -> ir::Block {
        match &arm.body.kind {
            AE::Block(b) => self.tail_block(b, sink),
            _ => {
                self.scopes.push(HashMap::new());
                let st = self.sink_expr(&arm.body, sink, arm.span);
                self.scopes.pop();
                ir::Block {
                    stmts: st.into_iter().collect(),
                }
            }
        }
    }

    /// A block whose last statement's value goes to `sink`.
    pub(super) fn tail_block(&mut self, b: &ast::Block, sink: Sink) -> ir::Block {
        self.block_with_tail(b, Some(sink))
    }

    /// The last statement of a block whose value goes to `sink`.
    pub(super) fn tail_stmt(&mut self, s: &ast::Stmt, sink: Sink) -> Option<ir::Stmt> {
        match &s.kind {
            AS::Expr(e) => self.sink_expr(e, sink, s.span),
            AS::Block(b) => Some(ir::Stmt {
                kind: ir::StmtKind::Block(self.tail_block(b, sink)),
                span: s.span,
            }),
            AS::IfVar {
                name,
                ty,
                init,
                then,
                els: Some(els),
            } if sink != Sink::Discard => {
                self.if_var(s, name, ty.as_ref(), init, then, Some(els), Some(sink))
            }
            AS::If {
                cond,
                then,
                els: Some(els),
            } if sink != Sink::Discard => {
                let cond = self.cond(cond);
                let then = self.tail_sub_block(then, sink);
                let els = self.tail_sub_block(els, sink);
                Some(ir::Stmt {
                    kind: ir::StmtKind::If { cond, then, els },
                    span: s.span,
                })
            }
            _ => {
                let st = self.stmt(s);
                if let (Sink::Local(_), Some(st)) = (sink, &st) {
                    if !diverges(st) {
                        self.no_value(s.span);
                    }
                }
                st
            }
        }
    }

    pub(super) fn tail_sub_block(&mut self, s: &ast::Stmt, sink: Sink) -> ir::Block {
        match &s.kind {
            AS::Block(b) => self.tail_block(b, sink),
            _ => {
                self.scopes.push(HashMap::new());
                let st = self.tail_stmt(s, sink);
                self.scopes.pop();
                let mut stmts = std::mem::take(&mut self.pre_stmts);
                stmts.extend(st);
                ir::Block { stmts }
            }
        }
    }

    fn no_value(&mut self, span: Span) {
        self.c
            .error(codes::MATCH, span, "this arm has no value")
            .help = Some("end the block with the arm's value, e.g. `{ print(\"x\"); 1 }`".into());
    }

    /// The expression `e` as a block's value, going to `sink`.
    pub(super) fn sink_expr(&mut self, e: &ast::Expr, sink: Sink, span: Span) -> Option<ir::Stmt> {
        if let AE::Match { scrutinee, arms } = &e.kind {
            if Self::has_block_arm(arms) || (sink == Sink::Return && self.arms_call_programs(arms))
            {
                return Some(self.match_stmt(scrutinee, arms, sink, e.span));
            }
        }
        if let AE::Block(b) = &e.kind {
            return Some(ir::Stmt {
                kind: ir::StmtKind::Block(self.tail_block(b, sink)),
                span,
            });
        }
        match sink {
            Sink::Discard => self.stmt(&ast::Stmt {
                kind: AS::Expr(e.clone()),
                span,
            }),
            // A call of a function returning nothing is a statement, not a
            // value: the function may then reach its end (reported there).
            Sink::Return if matches!(e.kind, AE::Call { .. }) && !self.is_program_call(e) => {
                let x = if self.t().pointee(self.ret).is_some() {
                    self.expr_ptr_ok(e, Some(self.ret))
                } else {
                    self.expr(e, Some(self.ret))
                };
                if matches!(self.t().kind(x.ty), TypeKind::Void) {
                    return Some(ir::Stmt {
                        kind: ir::StmtKind::Expr(x),
                        span,
                    });
                }
                let ret = self.ret;
                let x = self.coerce(x, ret, e.span);
                Some(ir::Stmt {
                    kind: ir::StmtKind::Return(Some(x)),
                    span,
                })
            }
            Sink::Return => {
                let st = ast::Stmt {
                    kind: AS::Return(Some(e.clone())),
                    span,
                };
                self.ret(&st, Some(e))
            }
            Sink::Local(l) => {
                let lt = self.locals[l.index()].ty;
                let untyped = matches!(self.t().kind(lt), TypeKind::Void);
                let x = if untyped || matches!(e.kind, AE::Call { .. }) {
                    let x = self.expr_ptr_ok(e, (!untyped).then_some(lt));
                    if matches!(self.t().kind(x.ty), TypeKind::Void) {
                        self.no_value(e.span);
                        return Some(ir::Stmt {
                            kind: ir::StmtKind::Expr(x),
                            span,
                        });
                    }
                    if untyped {
                        self.locals[l.index()].ty = x.ty;
                        x
                    } else {
                        self.coerce(x, lt, e.span)
                    }
                } else {
                    self.coerce_expr(e, lt, true)
                };
                let ty = self.locals[l.index()].ty;
                let place = self.mk(ir::ExprKind::Local(l), ty, span);
                Some(ir::Stmt {
                    kind: ir::StmtKind::Assign { place, value: x },
                    span,
                })
            }
        }
    }

    fn arms_call_programs(&self, arms: &[ast::MatchArm]) -> bool {
        arms.iter().any(|a| self.is_program_call(&a.body))
    }
}

/// Does control leave through this statement (so it needs no value)?
fn diverges(s: &ir::Stmt) -> bool {
    match &s.kind {
        ir::StmtKind::Return(_)
        | ir::StmtKind::TailCall { .. }
        | ir::StmtKind::Throw(_)
        | ir::StmtKind::Break
        | ir::StmtKind::Continue => true,
        ir::StmtKind::Block(b) => b.stmts.last().is_some_and(diverges),
        ir::StmtKind::If { then, els, .. } => {
            then.stmts.last().is_some_and(diverges) && els.stmts.last().is_some_and(diverges)
        }
        _ => false,
    }
}
