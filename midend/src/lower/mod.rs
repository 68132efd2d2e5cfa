//! Pass 2, lowering: each function body is type-checked and lowered to IR
//! statements and expressions, one function at a time, with a [`FnCx`]
//! (its locals, scopes and loop depth) over the shared [`Checker`].
//!
//! Takes the collected functions' AST bodies; gives each [`ir::Function`]
//! its body and locals. The named return value becomes an ordinary local;
//! a body that may fall off its end returns it (or is reported).
//!
//! * `stmt`: statements, `return` (tail calls, `return match`),
//!   assignments and map writes;
//! * `expr`: expressions, names, operators, fields, map reads;
//! * `convert`: implicit conversions, literal typing, conditions;
//! * `call`: calls of functions, pointers, BPF helpers and map methods;
//! * `builtin`: the built-in functions (`print`, `load`, `attach`, `test`, ...).

use ksc_frontend::diag::codes;
use std::collections::HashMap;

use ksc_frontend::ast::{self, StmtKind as AS};
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{Domain, FnId, FnKind, LocalId, TypeId, TypeKind, Value};

use crate::checker::Checker;
use crate::types::Types;
use matches::Sink;

mod builtin;
mod call;
mod convert;
mod expr;
mod matches;
mod operators;
mod python;
mod stmt;

impl<'a> Checker<'a> {
    pub(crate) fn check_bodies(&mut self) {
        for i in 0..self.functions.len() {
            if let Some(decl) = self.fn_info[i].decl {
                let body = {
                    let mut fx = FnCx::new(self, FnId(i as u32));
                    // A body ending in an expression returns it (implicit
                    // return, docs/language.md "Syntax the reference accepts").
                    let implicit =
                        !matches!(fx.t().kind(fx.ret), TypeKind::Void) && fx.ret_local.is_none();
                    let b = fx.block_with_tail(&decl.body, implicit.then_some(Sink::Return));
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
                            ..decl.body.span
                        };
                        self.error(
                            codes::VOID,
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
    /// Locals declared from a packet pointer (`var p = ctx->data`): their
    /// differences are packet lengths (docs/language.md, packet length).
    packet_locals: std::collections::HashSet<LocalId>,
    /// Locals declared from a map lookup (`var v = m[k]`): used as a value
    /// they read through (docs/language.md, a map lookup used as a value).
    lookup_locals: std::collections::HashSet<LocalId>,
    /// Statements the last lowered statement needs before it, in the same
    /// block (the declaration of `var x = match ...` with block arms).
    pre_stmts: Vec<ir::Stmt>,
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
            packet_locals: Default::default(),
            lookup_locals: Default::default(),
            pre_stmts: Vec::new(),
        };
        if let Some((name, span)) = fx.c.fn_info[id.index()].ret_name.clone() {
            let l = fx.declare(&name, ret, span, false);
            fx.ret_local = Some(l);
        }
        fx
    }

    pub(super) fn ebpf(&self) -> bool {
        self.domain == Domain::Ebpf
    }

    pub(super) fn declare(
        &mut self,
        name: &str,
        ty: TypeId,
        span: Span,
        is_const: bool,
    ) -> LocalId {
        // `m.x` is rewritten to module `m`'s item before checking, so a
        // local `m` could never be read as `m.x`: refuse the name.
        let as_ident = ast::Ident {
            name: name.to_string(),
            span,
        };
        if let Some(crate::checker::Sym::Import) = self.c.lookup_sym(&as_ident) {
            self.c
                .error(
                    codes::MODULE_ITEM,
                    span,
                    format!("`{name}` names an imported module"),
                )
                .help = Some("choose another name for the variable".into());
        }
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(ir::Local {
            name: name.to_string(),
            ty,
            span,
        });
        self.scopes
            .last_mut()
            .unwrap()
            .insert(name.to_string(), (id, is_const));
        id
    }

    /// Whether `e` is a packet pointer: `ctx->data`, `ctx->data_end` or
    /// `ctx->data_meta` of an XDP or TC context, a cast of one, one plus or
    /// minus an offset, or a local declared from one.
    pub(super) fn is_packet(&self, e: &ir::Expr) -> bool {
        match &e.kind {
            ir::ExprKind::Field {
                base,
                field,
                through_pointer,
            } => {
                let st = if *through_pointer {
                    self.t().pointee(base.ty)
                } else {
                    Some(base.ty)
                };
                st.is_some_and(|st| {
                    (st == self.c.xdp_md || st == self.c.sk_buff)
                        && crate::builtins::packet_field(self.t(), st, *field).is_some()
                })
            }
            ir::ExprKind::Cast(inner) => self.is_packet(inner),
            ir::ExprKind::Binary {
                op: ir::BinOp::Add | ir::BinOp::Sub,
                lhs,
                ..
            } => self.t().pointee(e.ty).is_some() && self.is_packet(lhs),
            ir::ExprKind::Local(l) => self.packet_locals.contains(l),
            _ => false,
        }
    }

    /// Whether `x` is a local declared from a map lookup (`var v = m[k]`,
    /// or from another such local).
    pub(super) fn is_lookup(&self, x: &ir::Expr) -> bool {
        matches!(x.kind, ir::ExprKind::Local(l) if self.lookup_locals.contains(&l))
    }

    /// Record that `local` was declared from `init`: a map lookup, or a
    /// local that holds one, makes it a lookup local.
    pub(super) fn note_lookup(&mut self, local: LocalId, init: Option<&ir::Expr>) {
        if init
            .is_some_and(|x| matches!(x.kind, ir::ExprKind::MapLookup { .. }) || self.is_lookup(x))
        {
            self.lookup_locals.insert(local);
        }
    }

    /// A map lookup held in a local, used where a value is expected, reads
    /// the entry through the pointer (docs/language.md, a map lookup used
    /// as a value). The read is a `Deref` at the use, so the flow pass
    /// requires the pointer to be known non-null there.
    pub(super) fn read_through(&self, x: ir::Expr) -> ir::Expr {
        if !self.is_lookup(&x) {
            return x;
        }
        let Some(p) = self.t().pointee(x.ty) else {
            return x;
        };
        let span = x.span;
        self.mk(ir::ExprKind::Deref(Box::new(x)), p, span)
    }

    pub(super) fn lookup_local(&self, name: &str) -> Option<(LocalId, bool)> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    pub(super) fn local_names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|s| s.keys().cloned()).collect()
    }

    pub(super) fn t(&self) -> &Types {
        &self.c.types
    }

    pub(super) fn mk(&self, kind: ir::ExprKind, ty: TypeId, span: Span) -> ir::Expr {
        ir::Expr { kind, ty, span }
    }

    pub(super) fn err_expr(&self, span: Span) -> ir::Expr {
        self.mk(ir::ExprKind::Value(Value::Zero), self.c.types.error, span)
    }

    pub(super) fn block(&mut self, b: &ast::Block) -> ir::Block {
        self.block_with_tail(b, None)
    }

    /// A block; with `tail`, its last statement's value goes there
    /// (`matches::Sink`).
    pub(super) fn block_with_tail(&mut self, b: &ast::Block, tail: Option<Sink>) -> ir::Block {
        self.scopes.push(HashMap::new());
        let mut stmts = Vec::new();
        let mut dead_reported = false;
        for (i, s) in b.stmts.iter().enumerate() {
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
                self.c
                    .warning(codes::UNREACHABLE, s.span, "unreachable statement")
                    .label = "control never reaches this".into();
                dead_reported = true;
            }
            let st = match tail {
                Some(sink) if i + 1 == b.stmts.len() => self.tail_stmt(s, sink),
                _ => self.stmt(s),
            };
            stmts.append(&mut self.pre_stmts);
            if let Some(st) = st {
                stmts.push(st);
            }
        }
        if let (Some(Sink::Local(_)), true) = (tail, b.stmts.is_empty()) {
            self.c
                .error(codes::MATCH, b.span, "this arm has no value")
                .help =
                Some("end the block with the arm's value, e.g. `{ print(\"x\"); 1 }`".into());
        }
        self.scopes.pop();
        ir::Block { stmts }
    }

    pub(super) fn sub_block(&mut self, s: &ast::Stmt) -> ir::Block {
        match &s.kind {
            AS::Block(b) => self.block(b),
            _ => {
                self.scopes.push(HashMap::new());
                let st = self.stmt(s);
                self.scopes.pop();
                let mut stmts = std::mem::take(&mut self.pre_stmts);
                stmts.extend(st);
                ir::Block { stmts }
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

fn binop(op: ast::BinOp) -> ir::BinOp {
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
