//! A depth limit on the syntax tree, checked without recursion.
//!
//! Every later pass walks the tree recursively, and so does dropping it. A
//! program nested deeper than any real one (a million `-` signs, an `if`
//! chain of ten thousand levels) is rejected here, before anything recurses.

use crate::ast::*;
use crate::diag::codes;
use crate::diag::Diagnostic;
use crate::span::Span;

/// Deepest statement/expression/type nesting accepted.
pub const MAX_DEPTH: u32 = 1000;

enum Node<'a> {
    Item(&'a Item),
    Block(&'a Block),
    Stmt(&'a Stmt),
    Expr(&'a Expr),
    Type(&'a Type),
}

/// The first place nested deeper than [`MAX_DEPTH`], as a diagnostic.
pub fn check<'a>(file: &'a File) -> Option<Diagnostic> {
    let mut stack: Vec<(Node<'a>, u32)> = file.items.iter().map(|i| (Node::Item(i), 0)).collect();
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            let span = match node {
                Node::Item(i) => i.span,
                Node::Block(b) => b.span,
                Node::Stmt(s) => s.span,
                Node::Expr(e) => e.span,
                Node::Type(t) => t.span,
            };
            return Some(too_deep(span));
        }
        let d = depth + 1;
        let mut push = |n: Node<'a>| stack.push((n, d));
        match node {
            Node::Item(item) => {
                for a in &item.attrs {
                    a.args.iter().for_each(|e| push(Node::Expr(e)));
                }
                item_children(item, &mut push);
            }
            Node::Block(b) => b.stmts.iter().for_each(|s| push(Node::Stmt(s))),
            Node::Stmt(s) => stmt_children(s, &mut push),
            Node::Expr(e) => expr_children(e, &mut push),
            Node::Type(t) => type_children(t, &mut push),
        }
    }
    None
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::TOO_DEEP,
        span,
        format!("nesting deeper than {MAX_DEPTH} levels"),
    )
    .with_label("the compiler gives up here")
    .with_help("split the expression or statement into smaller parts with `var`")
}

fn item_children<'a>(item: &'a Item, push: &mut impl FnMut(Node<'a>)) {
    match &item.kind {
        ItemKind::Config(c) => {
            for f in &c.fields {
                push(Node::Type(&f.ty));
                if let Some(e) = &f.default {
                    push(Node::Expr(e));
                }
            }
        }
        ItemKind::Global(g) => {
            if let Some(t) = &g.ty {
                push(Node::Type(t));
            }
            if let Some(e) = &g.init {
                push(Node::Expr(e));
            }
        }
        ItemKind::Map(m) => {
            m.type_args.iter().for_each(|t| push(Node::Type(t)));
            m.args.iter().for_each(|a| push(Node::Expr(&a.value)));
        }
        ItemKind::Const(c) => {
            if let Some(t) = &c.ty {
                push(Node::Type(t));
            }
            push(Node::Expr(&c.value));
        }
        ItemKind::TypeAlias(a) => push(Node::Type(&a.ty)),
        ItemKind::Struct(s) => s.fields.iter().for_each(|f| push(Node::Type(&f.ty))),
        ItemKind::Enum(e) => e
            .variants
            .iter()
            .filter_map(|v| v.value.as_ref())
            .for_each(|e| push(Node::Expr(e))),
        ItemKind::Fn(f) => fn_children(f, push),
        ItemKind::Impl(i) => {
            for m in &i.members {
                match m {
                    ImplMember::Fn(item) => push(Node::Item(item)),
                    ImplMember::Field { value, .. } => push(Node::Expr(value)),
                }
            }
        }
        ItemKind::Extern(e) => {
            e.params.iter().for_each(|p| push(Node::Type(&p.ty)));
            if let Some(t) = &e.ret {
                push(Node::Type(t));
            }
            if let Some(b) = &e.body {
                push(Node::Block(b));
            }
        }
        ItemKind::Include(_) | ItemKind::Import(_) | ItemKind::Error => {}
    }
}

fn fn_children<'a>(f: &'a FnDecl, push: &mut impl FnMut(Node<'a>)) {
    f.params.iter().for_each(|p| push(Node::Type(&p.ty)));
    if let Some(r) = &f.ret {
        push(Node::Type(&r.ty));
    }
    push(Node::Block(&f.body));
}

fn stmt_children<'a>(s: &'a Stmt, push: &mut impl FnMut(Node<'a>)) {
    match &s.kind {
        StmtKind::Var { ty, init, .. } => {
            if let Some(t) = ty {
                push(Node::Type(t));
            }
            if let Some(e) = init {
                push(Node::Expr(e));
            }
        }
        StmtKind::Assign { target, value, .. } => {
            push(Node::Expr(target));
            push(Node::Expr(value));
        }
        StmtKind::Expr(e) | StmtKind::Throw(e) | StmtKind::Return(Some(e)) => push(Node::Expr(e)),
        StmtKind::If { cond, then, els } => {
            push(Node::Expr(cond));
            push(Node::Stmt(then));
            if let Some(e) = els {
                push(Node::Stmt(e));
            }
        }
        StmtKind::IfVar {
            ty,
            init,
            then,
            els,
            ..
        } => {
            if let Some(t) = ty {
                push(Node::Type(t));
            }
            push(Node::Expr(init));
            push(Node::Stmt(then));
            if let Some(e) = els {
                push(Node::Stmt(e));
            }
        }
        StmtKind::ForRange {
            start, end, body, ..
        } => {
            push(Node::Expr(start));
            push(Node::Expr(end));
            push(Node::Block(body));
        }
        StmtKind::ForEach { iter, body, .. } => {
            push(Node::Expr(iter));
            push(Node::Block(body));
        }
        StmtKind::While { cond, body } => {
            push(Node::Expr(cond));
            push(Node::Block(body));
        }
        StmtKind::Loop { body } | StmtKind::Block(body) => push(Node::Block(body)),
        StmtKind::Delete { map, key } => {
            push(Node::Expr(map));
            push(Node::Expr(key));
        }
        StmtKind::Try { body, catches } => {
            push(Node::Block(body));
            catches.iter().for_each(|c| push(Node::Block(&c.body)));
        }
        StmtKind::Defer(s) => push(Node::Stmt(s)),
        StmtKind::DeleteObj(e) => push(Node::Expr(e)),
        StmtKind::Break | StmtKind::Continue | StmtKind::Return(None) | StmtKind::Error => {}
    }
}

fn expr_children<'a>(e: &'a Expr, push: &mut impl FnMut(Node<'a>)) {
    match &e.kind {
        ExprKind::Binary { lhs, rhs, .. } => {
            push(Node::Expr(lhs));
            push(Node::Expr(rhs));
        }
        ExprKind::Unary { operand, .. } => push(Node::Expr(operand)),
        ExprKind::Cast { expr, ty } => {
            push(Node::Expr(expr));
            push(Node::Type(ty));
        }
        ExprKind::Call { callee, args } => {
            push(Node::Expr(callee));
            args.iter().for_each(|a| push(Node::Expr(a)));
        }
        ExprKind::Field { base, .. } => push(Node::Expr(base)),
        ExprKind::Index { base, index } => {
            push(Node::Expr(base));
            push(Node::Expr(index));
        }
        ExprKind::StructLit { fields, .. } => {
            fields.iter().for_each(|f| push(Node::Expr(&f.value)))
        }
        ExprKind::ArrayLit(elems) => elems.iter().for_each(|a| push(Node::Expr(a))),
        ExprKind::ArrayRepeat { value, count } => {
            push(Node::Expr(value));
            push(Node::Expr(count));
        }
        ExprKind::Match { scrutinee, arms } => {
            push(Node::Expr(scrutinee));
            arms.iter().for_each(|a| push(Node::Expr(&a.body)));
        }
        ExprKind::If { cond, then, els } | ExprKind::Ternary { cond, then, els } => {
            push(Node::Expr(cond));
            push(Node::Expr(then));
            push(Node::Expr(els));
        }
        ExprKind::Sizeof(t) => push(Node::Type(t)),
        ExprKind::Block(b) => push(Node::Block(b)),
        ExprKind::New { args, .. } => args.iter().for_each(|a| push(Node::Expr(a))),
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Char(_)
        | ExprKind::Str(_)
        | ExprKind::Null
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
}

fn type_children<'a>(t: &'a Type, push: &mut impl FnMut(Node<'a>)) {
    match &t.kind {
        TypeKind::Pointer(inner) | TypeKind::Array(inner, _) => push(Node::Type(inner)),
        TypeKind::Function(f) => {
            f.params.iter().for_each(|p| push(Node::Type(&p.ty)));
            if let Some(r) = &f.ret {
                push(Node::Type(&r.ty));
            }
        }
        TypeKind::Prim(_) | TypeKind::Named(_) | TypeKind::Str(_) | TypeKind::Error => {}
    }
}
