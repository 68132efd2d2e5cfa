//! The tree back to text: items, statements and the comments between them.
//! Expressions and types are in `expr.rs`.

use super::doc::{concat, group, nest, text, Doc};
use crate::ast::*;
use crate::lexer::Spanned;
use crate::span::Span;
use crate::token::Tok;

/// A comment of the source: its byte range.
#[derive(Clone, Copy, Debug)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
}

pub struct Printer<'a> {
    pub src: &'a str,
    pub tokens: &'a [Spanned],
    pub comments: &'a [Comment],
    /// The first comment not printed yet. Printing follows the source
    /// order, so the comments before a position are the next ones.
    pub next: usize,
}

/// What separates the elements of a list printed one per line.
#[derive(Clone, Copy, PartialEq)]
pub enum Sep {
    Comma,
    None,
}

impl<'a> Printer<'a> {
    pub fn comment_text(&self, c: Comment) -> String {
        self.src[c.start..c.end].trim_end().to_string()
    }

    /// Is the source before `pos` an empty line (after the previous token
    /// or comment)?
    pub fn blank_before(&self, pos: usize) -> bool {
        let before = &self.src[..pos];
        let code = before.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
        before[code.len()..].matches('\n').count() >= 2
    }

    /// Is the comment alone on its line so far (only blanks before it)?
    fn starts_line(&self, pos: usize) -> bool {
        let before = &self.src[..pos];
        let line = before.rsplit('\n').next().unwrap_or("");
        line.trim().is_empty()
    }

    /// Is the rest of the line after `pos` blank (or a line comment)?
    fn ends_line(&self, pos: usize) -> bool {
        let rest = self.src[pos..]
            .split('\n')
            .next()
            .unwrap_or("")
            .trim_start();
        rest.is_empty() || rest.starts_with("//")
    }

    /// Comments before `pos` where an expression goes on: block comments in
    /// place, line comments at the end of the line (never a new line
    /// break, which could end a statement).
    pub fn inline_comments(&mut self, pos: usize) -> Doc {
        let mut out = Vec::new();
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            self.next += 1;
            let t = self.comment_text(c);
            // No forced break: the comment goes to the end of the line the
            // layout makes anyway (so formatting again finds it there).
            if t.starts_with("//") || t.contains('\n') {
                out.push(Doc::Suffix(t));
            } else {
                out.push(text(t));
                out.push(text(" "));
            }
        }
        concat(out)
    }

    /// Comments before `pos` in a list that may break: own-line comments on
    /// lines of their own (which breaks the list), others in place.
    pub fn list_leading(&mut self, pos: usize) -> Doc {
        let mut out = Vec::new();
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            self.next += 1;
            let t = self.comment_text(c);
            if self.starts_line(c.start) && self.ends_line(c.end) {
                out.push(Doc::Suffix(t));
                out.push(Doc::BreakParent);
                out.push(Doc::Hard);
            } else if t.starts_with("//") || t.contains('\n') {
                out.push(Doc::Suffix(t));
                out.push(Doc::BreakParent);
            } else {
                out.push(text(t));
                out.push(text(" "));
            }
        }
        concat(out)
    }

    /// Comments ending the line of an opening bracket, before the list's
    /// first element at `first`: kept there, so the list breaks after them
    /// (as the first formatting left a comment moved to that line's end).
    fn after_open(&mut self, first: usize) -> Doc {
        let mut out = Vec::new();
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= first || self.starts_line(c.start) || !self.ends_line(c.end) {
                break;
            }
            self.next += 1;
            out.push(Doc::Suffix(self.comment_text(c)));
            out.push(Doc::BreakParent);
        }
        concat(out)
    }

    /// Comments right after `end` on the same line (past a `,` or `;`):
    /// kept at the end of that line.
    pub fn trailing(&mut self, end: usize) -> Doc {
        let mut out = Vec::new();
        let mut end = end;
        while let Some(&c) = self.comments.get(self.next) {
            let between = self.src.get(end..c.start).unwrap_or("x");
            if !between
                .chars()
                .all(|ch| matches!(ch, ' ' | '\t' | ',' | ';'))
            {
                break;
            }
            // A block comment with code after it on its line belongs to that code.
            if !self.ends_line(c.end) {
                break;
            }
            self.next += 1;
            out.push(Doc::Suffix(self.comment_text(c)));
            out.push(Doc::BreakParent);
            end = c.end;
        }
        concat(out)
    }

    /// Elements one per line, each after its own comments, with the empty
    /// lines of the source kept (at most one), then the comments before
    /// `close` (the position of the closing brace, or the end of the file).
    /// Starts with a line break before the first element; the caller nests it.
    pub fn lines<T>(
        &mut self,
        elems: &[T],
        span: impl Fn(&T) -> Span,
        sep: impl Fn(&T) -> Sep,
        mut print: impl FnMut(&mut Self, &T) -> Doc,
        close: usize,
        first_break: bool,
    ) -> Doc {
        let mut out = Vec::new();
        let mut first = true;
        let mut brk = |p: &Self, out: &mut Vec<Doc>, pos: usize, first: &mut bool| {
            if *first {
                if first_break {
                    out.push(Doc::Hard);
                }
            } else if p.blank_before(pos) {
                out.push(Doc::Blank);
            } else {
                out.push(Doc::Hard);
            }
            *first = false;
        };
        for e in elems {
            let sp = span(e);
            self.own_line_comments(sp.start as usize, &mut out, &mut first, &mut brk);
            brk(self, &mut out, sp.start as usize, &mut first);
            out.push(print(self, e));
            if sep(e) == Sep::Comma {
                out.push(text(","));
            }
            out.push(self.trailing(sp.end as usize));
        }
        self.own_line_comments(close, &mut out, &mut first, &mut brk);
        concat(out)
    }

    fn own_line_comments(
        &mut self,
        pos: usize,
        out: &mut Vec<Doc>,
        first: &mut bool,
        brk: &mut impl FnMut(&Self, &mut Vec<Doc>, usize, &mut bool),
    ) {
        while let Some(&c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            self.next += 1;
            brk(self, out, c.start, first);
            let t = self.comment_text(c);
            // A comment that spans lines goes out as a suffix: rendered as
            // it is, with no indentation added to its inner lines.
            if t.contains('\n') {
                out.push(Doc::Suffix(t));
            } else {
                out.push(text(t));
            }
        }
    }

    /// The offset of the last `}` token ending at or before `end`.
    pub fn close_brace(&self, end: usize) -> usize {
        let i = self.tokens.partition_point(|t| t.2 <= end);
        self.tokens[..i]
            .iter()
            .rev()
            .find(|t| t.1 == Tok::RBrace)
            .map_or(end, |t| t.0)
    }

    /// The offset of the `{` that the `}` at `close` closes.
    fn open_brace(&self, close: usize) -> usize {
        let i = self.tokens.partition_point(|t| t.0 < close);
        let mut depth = 0usize;
        for t in self.tokens[..i].iter().rev() {
            match t.1 {
                Tok::RBrace => depth += 1,
                Tok::LBrace if depth == 0 => return t.0,
                Tok::LBrace => depth -= 1,
                _ => {}
            }
        }
        close
    }

    /// The source text of the first token in `sp` matching `want`.
    pub fn token_text(&self, sp: Span, want: impl Fn(&Tok) -> bool) -> Option<&'a str> {
        let i = self.tokens.partition_point(|t| t.0 < sp.start as usize);
        self.tokens[i..]
            .iter()
            .take_while(|t| t.0 < sp.end as usize)
            .find(|t| want(&t.1))
            .map(|t| &self.src[t.0..t.2])
    }

    /// Text of an integer literal (maybe negative) as written.
    pub fn int_text(&self, sp: Span, value: i128) -> String {
        match self.token_text(sp, |t| matches!(t, Tok::Int(_))) {
            Some(t) if value < 0 => format!("-{t}"),
            Some(t) => t.to_string(),
            None => value.to_string(),
        }
    }

    /// A `{ ... }` of elements one per line, `{}` when empty.
    pub fn braced<T>(
        &mut self,
        elems: &[T],
        span: impl Fn(&T) -> Span,
        sep: impl Fn(&T) -> Sep,
        print: impl FnMut(&mut Self, &T) -> Doc,
        close: usize,
    ) -> Doc {
        let has_comments = self
            .comments
            .get(self.next)
            .is_some_and(|c| c.start < close);
        if elems.is_empty() && !has_comments {
            return text("{}");
        }
        // A comment after the `{` stays there.
        let after_open = self.trailing(self.open_brace(close) + 1);
        let body = self.lines(elems, span, sep, print, close, true);
        concat(vec![
            text("{"),
            after_open,
            nest(body),
            Doc::Hard,
            text("}"),
        ])
    }

    // ------------------------------------------------------------ items

    pub fn file(&mut self, f: &File) -> Doc {
        let end = self.src.len();
        let body = self.lines(
            &f.items,
            |i| i.span,
            |_| Sep::None,
            |p, i| p.item(i),
            end,
            false,
        );
        concat(vec![body, Doc::Hard])
    }

    fn attrs(&mut self, attrs: &[Attribute]) -> Doc {
        let mut out = Vec::new();
        for a in attrs {
            // Comments before an attribute: on lines of their own, as they
            // will be when formatted again.
            while let Some(&c) = self.comments.get(self.next) {
                if c.start >= a.span.start as usize {
                    break;
                }
                self.next += 1;
                out.push(Doc::Suffix(self.comment_text(c)));
                out.push(Doc::Hard);
            }
            out.push(text(format!("@{}", a.name.name)));
            if !a.args.is_empty() {
                out.push(self.args(&a.args));
            }
            out.push(self.trailing(a.span.end as usize));
            out.push(Doc::Hard);
        }
        concat(out)
    }

    pub fn item(&mut self, item: &Item) -> Doc {
        let attrs = self.attrs(&item.attrs);
        let close = self.close_brace(item.span.end as usize);
        let kind = match &item.kind {
            ItemKind::Fn(f) => self.fn_decl(f),
            ItemKind::Global(g) => {
                let mut v = vec![text(format!(
                    "{}{}var {}",
                    if g.pin { "pin " } else { "" },
                    if g.local { "local " } else { "" },
                    g.name.name
                ))];
                if let Some(t) = &g.ty {
                    v.push(text(": "));
                    v.push(self.ty(t));
                }
                if let Some(e) = &g.init {
                    v.push(text(" = "));
                    v.push(self.expr(e, 0));
                }
                concat(v)
            }
            ItemKind::Map(m) => {
                let mut v = vec![text(format!(
                    "{}var {} : {}<",
                    if m.pin { "pin " } else { "" },
                    m.name.name,
                    m.kind.name
                ))];
                for (i, t) in m.type_args.iter().enumerate() {
                    if i > 0 {
                        v.push(text(", "));
                    }
                    v.push(self.ty(t));
                }
                v.push(text(">"));
                let args: Vec<(Option<&Ident>, &Expr)> =
                    m.args.iter().map(|a| (a.name.as_ref(), &a.value)).collect();
                v.push(self.named_args(&args));
                concat(v)
            }
            ItemKind::Const(c) => {
                let mut v = vec![text(format!("const {}", c.name.name))];
                if let Some(t) = &c.ty {
                    v.push(text(": "));
                    v.push(self.ty(t));
                }
                v.push(text(" = "));
                v.push(self.expr(&c.value, 0));
                concat(v)
            }
            ItemKind::TypeAlias(t) => concat(vec![
                text(format!("type {} = ", t.name.name)),
                self.ty(&t.ty),
            ]),
            ItemKind::Struct(s) => concat(vec![
                text(format!("struct {} ", s.name.name)),
                self.braced(
                    &s.fields,
                    |f| f.span,
                    |_| Sep::Comma,
                    |p, f| concat(vec![text(format!("{}: ", f.name.name)), p.ty(&f.ty)]),
                    close,
                ),
            ]),
            ItemKind::Config(c) => concat(vec![
                text(format!("config {} ", c.name.name)),
                self.braced(
                    &c.fields,
                    |f| f.span,
                    |_| Sep::Comma,
                    |p, f| {
                        let mut v = vec![text(format!("{}: ", f.name.name)), p.ty(&f.ty)];
                        if let Some(d) = &f.default {
                            v.push(text(" = "));
                            v.push(p.expr(d, 0));
                        }
                        concat(v)
                    },
                    close,
                ),
            ]),
            ItemKind::Enum(e) => concat(vec![
                text(format!("enum {} ", e.name.name)),
                self.braced(
                    &e.variants,
                    |v| v.span,
                    |_| Sep::Comma,
                    |p, v| {
                        let mut d = vec![text(v.name.name.clone())];
                        if let Some(x) = &v.value {
                            d.push(text(" = "));
                            d.push(p.expr(x, 0));
                        }
                        concat(d)
                    },
                    close,
                ),
            ]),
            ItemKind::Impl(i) => concat(vec![
                text(format!("impl {} ", i.name.name)),
                self.braced(
                    &i.members,
                    |m| match m {
                        ImplMember::Fn(item) => item.span,
                        ImplMember::Field { span, .. } => *span,
                    },
                    |m| match m {
                        ImplMember::Fn(_) => Sep::None,
                        ImplMember::Field { .. } => Sep::Comma,
                    },
                    |p, m| match m {
                        ImplMember::Fn(item) => p.item(item),
                        ImplMember::Field { name, value, .. } => {
                            concat(vec![text(format!("{}: ", name.name)), p.expr(value, 0)])
                        }
                    },
                    close,
                ),
            ]),
            ItemKind::Extern(x) => {
                let mut v = vec![text(format!("extern {}", x.name.name))];
                v.push(self.params(&x.params));
                if let Some(t) = &x.ret {
                    v.push(text(" -> "));
                    v.push(self.ty(t));
                }
                if let Some(b) = &x.body {
                    v.push(text(" "));
                    v.push(self.block(b));
                }
                concat(v)
            }
            ItemKind::Include(s) => text(format!("include {}", &self.src[rng(s.span)])),
            ItemKind::Import(i) => text(format!(
                "import {} from {}",
                i.name.name,
                &self.src[rng(i.path.span)]
            )),
            ItemKind::Error => text(self.src[rng(item.span)].to_string()),
        };
        concat(vec![attrs, kind])
    }

    fn fn_decl(&mut self, f: &FnDecl) -> Doc {
        let vis = match f.vis {
            Visibility::Default => "",
            Visibility::Pub => "pub ",
            Visibility::Priv => "priv ",
        };
        let mut v = vec![text(format!("{vis}fn {}", f.name.name))];
        v.push(self.params(&f.params));
        if let Some(r) = &f.ret {
            v.push(text(" "));
            v.push(self.ret_spec(r));
        }
        v.push(text(" "));
        v.push(self.block(&f.body));
        concat(v)
    }

    /// `(a: T, b: U)`, broken one per line when too long.
    fn params(&mut self, params: &[Param]) -> Doc {
        self.paren_list(
            params,
            |p| p.span,
            |pr, p| concat(vec![text(format!("{}: ", p.name.name)), pr.ty(&p.ty)]),
            "(",
            ")",
            false,
        )
    }

    // ------------------------------------------------------------ statements

    pub fn block(&mut self, b: &Block) -> Doc {
        let close = b.span.end as usize - 1;
        self.braced(&b.stmts, |s| s.span, |_| Sep::None, |p, s| p.stmt(s), close)
    }

    pub fn stmt(&mut self, s: &Stmt) -> Doc {
        match &s.kind {
            StmtKind::Var {
                is_const,
                name,
                ty,
                init,
            } => {
                let kw = if *is_const { "const" } else { "var" };
                let mut v = vec![text(format!("{kw} {}", name.name))];
                if let Some(t) = ty {
                    v.push(text(": "));
                    v.push(self.ty(t));
                }
                if let Some(e) = init {
                    v.push(text(" = "));
                    v.push(self.expr(e, 0));
                }
                concat(v)
            }
            StmtKind::Assign { target, op, value } => {
                let op = op.map_or(String::from("="), |o| format!("{}=", o.symbol()));
                concat(vec![
                    self.expr(target, super::expr::TERNARY),
                    text(format!(" {op} ")),
                    self.expr(value, 0),
                ])
            }
            StmtKind::Expr(e) => self.expr(e, super::expr::TERNARY),
            StmtKind::If { cond, then, els } => {
                let head = concat(vec![text("if ("), self.expr(cond, 0), text(")")]);
                self.if_rest(head, then, els.as_deref())
            }
            StmtKind::IfVar {
                name,
                ty,
                init,
                then,
                els,
            } => {
                let mut v = vec![text(format!("if (var {}", name.name))];
                if let Some(t) = ty {
                    v.push(text(": "));
                    v.push(self.ty(t));
                }
                v.push(text(" = "));
                v.push(self.expr(init, 0));
                v.push(text(")"));
                self.if_rest(concat(v), then, els.as_deref())
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => concat(vec![
                text(format!("for ({} in ", var.name)),
                self.expr(start, 0),
                text(".."),
                self.expr(end, 0),
                text(") "),
                self.block(body),
            ]),
            StmtKind::ForEach {
                key,
                value,
                iter,
                body,
            } => concat(vec![
                text(format!("for ({}, {}) in ", key.name, value.name)),
                self.iter_expr(iter),
                text(" "),
                self.block(body),
            ]),
            StmtKind::While { cond, body } => concat(vec![
                text("while ("),
                self.expr(cond, 0),
                text(") "),
                self.block(body),
            ]),
            StmtKind::Loop { body } => concat(vec![text("loop "), self.block(body)]),
            StmtKind::Break => text("break"),
            StmtKind::Continue => text("continue"),
            StmtKind::Return(None) => text("return"),
            StmtKind::Return(Some(e)) => concat(vec![text("return "), self.expr(e, 0)]),
            StmtKind::Delete { map, key } => concat(vec![
                text("delete "),
                self.expr(map, super::expr::POSTFIX),
                text("["),
                self.expr(key, 0),
                text("]"),
            ]),
            StmtKind::DeleteObj(e) => {
                concat(vec![text("delete "), self.expr(e, super::expr::POSTFIX)])
            }
            StmtKind::Try { body, catches } => {
                let mut v = vec![text("try "), self.block(body)];
                for c in catches {
                    let pat = match &c.pattern {
                        CatchPattern::Int(n, sp) => self.int_text(*sp, *n),
                        CatchPattern::Name(id) => id.name.clone(),
                        CatchPattern::Any(_) => "_".to_string(),
                    };
                    v.push(text(format!(" catch {pat} ")));
                    v.push(self.block(&c.body));
                }
                concat(v)
            }
            StmtKind::Throw(e) => concat(vec![text("throw "), self.expr(e, 0)]),
            StmtKind::Defer(s) => concat(vec![text("defer "), self.stmt(s)]),
            StmtKind::Block(b) => self.block(b),
            StmtKind::Error => text(self.src[rng(s.span)].to_string()),
        }
    }

    fn if_rest(&mut self, head: Doc, then: &Stmt, els: Option<&Stmt>) -> Doc {
        let mut v = vec![head, text(" "), self.stmt(then)];
        if let Some(e) = els {
            v.push(text(" else "));
            v.push(self.stmt(e));
        }
        concat(v)
    }

    /// `(a, b)` flat, or one element per line with a trailing comma.
    pub fn paren_list<T>(
        &mut self,
        elems: &[T],
        span: impl Fn(&T) -> Span,
        mut print: impl FnMut(&mut Self, &T) -> Doc,
        open: &str,
        close: &str,
        pad: bool,
    ) -> Doc {
        let edge = || if pad { Doc::Line } else { Doc::SoftLine };
        if elems.is_empty() {
            return text(format!("{open}{close}"));
        }
        let n = elems.len();
        let mut inner = vec![self.after_open(span(&elems[0]).start as usize), edge()];
        for (i, e) in elems.iter().enumerate() {
            let sp = span(e);
            inner.push(self.list_leading(sp.start as usize));
            inner.push(print(self, e));
            if i + 1 < n {
                inner.push(text(","));
                inner.push(self.trailing(sp.end as usize));
                inner.push(Doc::Line);
            } else {
                inner.push(Doc::IfBreak(","));
                inner.push(self.trailing(sp.end as usize));
            }
        }
        group(concat(vec![
            text(open),
            nest(concat(inner)),
            edge(),
            text(close),
        ]))
    }
}

/// The byte range of `sp`, to slice the source.
pub fn rng(sp: Span) -> std::ops::Range<usize> {
    sp.start as usize..sp.end as usize
}
