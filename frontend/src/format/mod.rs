//! `ksc fmt`: one canonical layout for KernelScript source.
//!
//! [`format_source`] parses the text and prints the tree back: four spaces
//! a level, one statement a line, single spaces around binary operators and
//! after `,` and `:`, at most one empty line kept where the source had
//! some, every comment kept (own-line comments before what follows them,
//! trailing comments at the end of their line, aligned with their
//! neighbours), literals and parentheses as written. Lists that do not fit
//! in 100 columns break one element a line.
//!
//! Never changing meaning is checked, not hoped for: the result is parsed
//! again and must give the same tree (spans aside, [`same_tree`]) and the
//! same comments, else [`FormatError::Unchanged`] and no result.

mod doc;
mod expr;
mod print;

use crate::ast::File;
use crate::diag::Diagnostic;
use print::{Comment, Printer};

/// Why a text could not be formatted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The text does not parse: the parser's diagnostics (errors and any
    /// warnings), located in [`FileId::MAIN`](crate::span::FileId::MAIN).
    Parse(Vec<Diagnostic>),
    /// The formatter's result would not have meant the same as the text
    /// (a bug of the formatter, caught by re-parsing): what differed. The
    /// text is left as it is.
    Unchanged(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Parse(d) => {
                let n = d.iter().filter(|d| d.is_error()).count();
                write!(f, "the source has {n} syntax error(s); it is not formatted")
            }
            FormatError::Unchanged(why) => write!(
                f,
                "not formatted: the formatted text would differ from the source ({why}); \
                 this is a bug of ksc fmt"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// `text` in the canonical layout, or why it cannot be formatted.
pub fn format_source(text: &str) -> Result<String, FormatError> {
    let parsed = crate::parse(text);
    if parsed.has_errors() {
        return Err(FormatError::Parse(parsed.diagnostics));
    }
    let out = print_file(text, &parsed.file);
    let again = crate::parse(&out);
    if again.has_errors() {
        let first = again
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| {
                let (l, c) = crate::span::line_col(&out, d.span.start as usize);
                format!("{l}:{c}: {}", d.message)
            })
            .unwrap_or_default();
        return Err(FormatError::Unchanged(format!(
            "the result does not parse: {first}"
        )));
    }
    if !same_tree(&parsed.file, &again.file) {
        return Err(FormatError::Unchanged("the syntax tree changed".into()));
    }
    // A trailing comment may move to the end of its line, past others.
    let sorted = |t: &str| {
        let mut v = comment_texts(t);
        v.sort();
        v
    };
    if sorted(text) != sorted(&out) {
        return Err(FormatError::Unchanged("the comments changed".into()));
    }
    Ok(out)
}

fn print_file(src: &str, file: &File) -> String {
    let lexed = crate::lexer::lex(src);
    let comments: Vec<Comment> = lexed
        .comments
        .iter()
        .map(|&(start, end)| Comment { start, end })
        .collect();
    let mut p = Printer {
        src,
        tokens: &lexed.tokens,
        comments: &comments,
        next: 0,
    };
    let d = p.file(file);
    let out = doc::render(&d);
    // Every line without trailing blanks (inner lines of block comments
    // too), the file ending in one line break.
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut s = lines.join("\n");
    s.truncate(s.trim_end_matches('\n').len());
    let lead = s.len() - s.trim_start_matches('\n').len();
    s.drain(..lead);
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// The comments of `src`, each line of them without trailing blanks.
pub fn comment_texts(src: &str) -> Vec<String> {
    crate::lexer::lex(src)
        .comments
        .iter()
        .map(|&(s, e)| {
            let lines: Vec<&str> = src[s..e].lines().map(str::trim_end).collect();
            lines.join("\n")
        })
        .collect()
}

/// The tree as text with every span left out: two trees that print the same
/// are the same program, wherever their parts are in the source.
pub fn tree_without_spans(file: &File) -> String {
    let dbg = format!("{file:?}");
    let mut out = String::with_capacity(dbg.len());
    let mut rest = dbg.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        out.push('_');
        let after = &rest[i..];
        let close = after.find('}').map_or(after.len(), |j| j + 1);
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// Do `a` and `b` hold the same program, spans aside?
pub fn same_tree(a: &File, b: &File) -> bool {
    tree_without_spans(a) == tree_without_spans(b)
}
