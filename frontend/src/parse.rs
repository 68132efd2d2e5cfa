//! The parse driver: lexer -> LALRPOP parser -> AST plus diagnostics.

use crate::diag::codes;
use lalrpop_util::{ErrorRecovery, ParseError};

use crate::ast::*;
use crate::depth;
use crate::diag::Diagnostic;
use crate::lexer::{self, Lexed};
use crate::span::{FileId, Span};
use crate::token::Tok;

/// The lexer never fails (it reports and recovers), so the parser's user
/// error type is uninhabited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoError {}

/// State shared with grammar actions.
#[derive(Default)]
pub struct ParseCtx {
    /// The file being parsed: every span names it.
    pub file: FileId,
    pub diags: Vec<Diagnostic>,
    pub recovered: Vec<ErrorRecovery<usize, Tok, NoError>>,
}

impl ParseCtx {
    /// The span of parser locations `l..r` in the file being parsed.
    pub fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r)
    }
}

/// The result of parsing one file: an AST (with `Error` nodes where the
/// parser recovered) and every diagnostic, sorted by position.
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse KernelScript source text, the main file ([`FileId::MAIN`]).
pub fn parse(src: &str) -> Parsed {
    parse_file(FileId::MAIN, src)
}

/// Parse `src`, the text of file `id` (its id in the program's
/// [`SourceMap`](crate::span::SourceMap)): every span of the tree and of
/// the diagnostics names `id`.
pub fn parse_file(id: FileId, src: &str) -> Parsed {
    let Lexed {
        tokens,
        diagnostics: lex_diags,
        unclosed,
        stopped_at,
        ..
    } = lexer::lex_file(id, src);
    let mut ctx = ParseCtx {
        file: id,
        ..ParseCtx::default()
    };
    let result = crate::grammar::FileParser::new().parse(&mut ctx, tokens.iter().cloned());
    let mut syntax: Vec<ParseError<usize, Tok, NoError>> =
        ctx.recovered.drain(..).map(|r| r.error).collect();
    let file = match result {
        Ok(file) => file,
        Err(e) => {
            syntax.push(e);
            File { items: Vec::new() }
        }
    };

    let mut diags = lex_diags;
    let lex_error_spans: Vec<Span> = diags.iter().map(|d| d.span).collect();
    for e in syntax {
        let d = syntax_error(id, src, &tokens, &unclosed, e);
        // Past the point where the lexer gave up, errors are artefacts.
        if stopped_at.is_some_and(|at| d.span.start as usize >= at) {
            continue;
        }
        // A bad literal or stray character was already reported by the lexer;
        // the parser tripping over it right there adds nothing.
        let dup = lex_error_spans
            .iter()
            .any(|s| d.span.start >= s.start && d.span.start <= s.end);
        if !dup {
            diags.push(d);
        }
    }
    diags.extend(ctx.diags);

    // Recursive passes (and dropping the tree) need bounded depth.
    let file = match depth::check(&file) {
        None => file,
        Some(d) => {
            diags.push(d);
            // Dropping a pathologically deep tree recurses as deep as it is;
            // leak it instead: the caller reports and exits.
            std::mem::forget(file);
            File { items: Vec::new() }
        }
    };
    diags.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    diags.dedup_by(|a, b| a.span.start == b.span.start && a.message == b.message);
    Parsed {
        file,
        diagnostics: diags,
    }
}

fn describe_expected(expected: &[String]) -> Vec<String> {
    const EXPR_START: &[&str] = &[
        "ident", "int", "string", "char", "true", "false", "null", "none", "(", "[", "-", "!", "~",
        "*", "&", "match", "sizeof", "if",
    ];
    let names: Vec<&str> = expected.iter().map(|s| s.trim_matches('"')).collect();
    let has_expr = ["ident", "int", "("].iter().all(|t| names.contains(t));
    let mut out = Vec::new();
    if has_expr {
        out.push("expression".to_string());
    }
    for n in names {
        if has_expr && EXPR_START.contains(&n) {
            continue;
        }
        out.push(match n {
            "ident" => "identifier".to_string(),
            "int" => "integer".to_string(),
            "string" => "string literal".to_string(),
            "char" => "character literal".to_string(),
            "NL" => "end of line".to_string(),
            other => format!("`{other}`"),
        });
    }
    out
}

fn join_expected(list: &[String]) -> String {
    match list.len() {
        0 => "something else".to_string(),
        1 => list[0].clone(),
        2 => format!("{} or {}", list[0], list[1]),
        n if n <= 7 => format!("one of {}, or {}", list[..n - 1].join(", "), list[n - 1]),
        _ => format!("one of {}, ...", list[..6].join(", ")),
    }
}

/// The token before byte offset `at`, if any.
fn token_before(tokens: &[lexer::Spanned], at: usize) -> Option<&Tok> {
    let i = tokens.partition_point(|(s, _, _)| *s < at);
    i.checked_sub(1).map(|i| &tokens[i].1)
}

/// The token after the one starting at byte offset `at`, if any.
fn token_after(tokens: &[lexer::Spanned], at: usize) -> Option<&Tok> {
    let i = tokens.partition_point(|(s, _, _)| *s <= at);
    tokens.get(i).map(|t| &t.1)
}

fn syntax_error(
    file: FileId,
    src: &str,
    tokens: &[lexer::Spanned],
    unclosed: &[(usize, u8)],
    e: ParseError<usize, Tok, NoError>,
) -> Diagnostic {
    match e {
        ParseError::UnrecognizedEof { location, expected } => {
            let exp = describe_expected(&expected);
            let at = location.min(src.len());
            Diagnostic::error(
                codes::SYNTAX,
                Span::new(file, at, at),
                format!("unexpected end of file; expected {}", join_expected(&exp)),
            )
            .with_label("the file ends here")
        }
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let exp = describe_expected(&expected);
            let found = match &tok {
                Tok::Newline => "end of line".to_string(),
                t => t.to_string(),
            };
            let (l, r) = if tok == Tok::Newline { (l, l) } else { (l, r) };
            let prev = token_before(tokens, l);
            let expects = |t: &str| expected.iter().any(|e| e.trim_matches('"') == t);
            // Two statements on one line is the usual cause when a line break
            // would have been accepted; say that rather than list 20 operators.
            let end_of_stmt = expects("NL")
                && !matches!(tok, Tok::Newline | Tok::RBrace)
                && !matches!(prev, None | Some(Tok::Newline | Tok::Semi | Tok::LBrace));
            let message = if exp.is_empty() {
                format!("unexpected {found}")
            } else if end_of_stmt {
                format!("expected end of statement, found {found}")
            } else {
                format!("expected {}, found {found}", join_expected(&exp))
            };
            let mut d = Diagnostic::error(codes::SYNTAX, Span::new(file, l, r), message)
                .with_label(match exp.len() {
                    _ if end_of_stmt => "unexpected here".to_string(),
                    1 => format!("expected {}", exp[0]),
                    0 => "unexpected here".to_string(),
                    n => format!("expected one of {n} possible tokens"),
                });
            if matches!(prev, Some(Tok::If | Tok::While | Tok::Match)) && expects("(") {
                d = d.with_help("conditions are written in parentheses: `if (x > 0) { ... }`");
            } else if matches!(
                tok,
                Tok::Fn
                    | Tok::Struct
                    | Tok::Config
                    | Tok::Enum
                    | Tok::Impl
                    | Tok::Extern
                    | Tok::Include
                    | Tok::Import
            ) && expects("var")
            {
                d = d.with_help("this item is inside a function body; is a `}` missing above it?");
            } else if tok == Tok::Question || prev == Some(&Tok::Question) {
                d = d.with_help(
                    "KernelScript has no `?` operator; compare with `null` and return early",
                );
            } else if tok == Tok::Else || tok == Tok::Catch {
                d = d.with_help(format!(
                    "`{}` must directly follow the closing `}}` of {}",
                    tok.text(),
                    if tok == Tok::Else {
                        "an `if`"
                    } else {
                        "a `try` or another `catch`"
                    }
                ));
            } else if tok == Tok::Colon
                && (prev == Some(&Tok::Colon) || token_after(tokens, l) == Some(&Tok::Colon))
            {
                d = d.with_help("there are no `::` paths; call functions by their plain name");
            } else if end_of_stmt {
                d = d.with_help("put each statement on its own line, or separate them with `;`");
            } else if tok == Tok::RBrace && unclosed.is_empty() && !expected.is_empty() {
                d = d.with_note("this `}` may close a block that was never opened");
            }
            d
        }
        ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::error(
            codes::SYNTAX,
            Span::new(file, l, r),
            format!("unexpected {tok}"),
        ),
        ParseError::InvalidToken { location } => Diagnostic::error(
            codes::BAD_LITERAL,
            Span::new(file, location, location + 1),
            "invalid token",
        ),
        ParseError::User { error } => match error {},
    }
}

// ---------------------------------------------------------------- grammar helpers

/// What follows `var name` at top level: a global or a map.
pub enum VarRest {
    Global(Option<Type>, Option<Expr>),
    Map(Ident, Vec<Type>, Vec<MapArg>),
}

/// The condition of an `if`: an expression, or `var x [: T] = e`.
pub enum IfCond {
    Expr(Expr),
    Var(Ident, Option<Type>, Expr),
}

pub(crate) fn if_stmt(cond: IfCond, then: Stmt, els: Option<Stmt>, span: Span) -> Stmt {
    let (then, els) = (Box::new(then), els.map(Box::new));
    let kind = match cond {
        IfCond::Expr(cond) => StmtKind::If { cond, then, els },
        IfCond::Var(name, ty, init) => StmtKind::IfVar {
            name,
            ty,
            init,
            then,
            els,
        },
    };
    Stmt { kind, span }
}

/// The name of a struct literal `m.Type { ... }`: one name `m.Type`, which
/// the import loader resolves; `m` must be a plain name.
pub(crate) fn qualified_struct_name(ctx: &mut ParseCtx, base: Expr, name: Ident) -> Ident {
    let span = base.span.to(name.span);
    match base.kind {
        ExprKind::Name(m) => Ident {
            name: format!("{}.{}", m.name, name.name),
            span,
        },
        _ => {
            ctx.diags.push(
                Diagnostic::error(codes::SYNTAX, base.span, "a struct literal names its type")
                    .with_help(
                    "write `Type { field: value }`, or `module.Type { ... }` for a module's struct",
                ),
            );
            name
        }
    }
}

pub(crate) fn named_type(id: Ident) -> Type {
    let span = id.span;
    let kind = match PrimType::from_name(&id.name) {
        Some(p) => TypeKind::Prim(p),
        None => TypeKind::Named(id),
    };
    Type { kind, span }
}

pub(crate) fn str_type(ctx: &mut ParseCtx, id: Ident, n: ArrayLen, span: Span) -> Type {
    if id.name == "str" {
        return Type {
            kind: TypeKind::Str(n),
            span,
        };
    }
    ctx.diags.push(
        Diagnostic::error(
            codes::WRONG_KIND,
            span,
            format!("`{}(...)` is not a type", id.name),
        )
        .with_help("the only sized type written with parentheses is `str(N)`"),
    );
    Type {
        kind: TypeKind::Error,
        span,
    }
}

/// Context parameter type of a program kind (its attribute's name, parsed
/// by ir's `ProgramKind`), for the old-syntax hint.
pub(crate) fn context_type(kind: &str) -> &'static str {
    match kind.parse::<ksc_ir::ProgramKind>() {
        Ok(ksc_ir::ProgramKind::Xdp) => "xdp_md",
        Ok(ksc_ir::ProgramKind::Tc) => "__sk_buff",
        Ok(ksc_ir::ProgramKind::Probe) => "pt_regs",
        _ => "CTX",
    }
}

pub(crate) fn return_type(kind: &str) -> &'static str {
    match kind.parse::<ksc_ir::ProgramKind>() {
        Ok(ksc_ir::ProgramKind::Xdp) => "xdp_action",
        _ => "i32",
    }
}
