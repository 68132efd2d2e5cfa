//! Diagnostics: one type for every stage of the compiler, rendered the way
//! rustc renders them (`error: ...`, `--> file:line:col`, source line, caret,
//! `help:`), through codespan-reporting.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use serde::{Deserialize, Serialize};

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Warning,
    Error,
}

/// A message about the source, with a primary location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Text shown under the caret of the primary span.
    pub label: String,
    /// Further locations that explain the error (e.g. "unclosed `{` here").
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn to_codespan(&self, source: &str) -> CsDiagnostic<()> {
        let clamp = |s: Span| {
            let start = floor_boundary(source, s.start as usize);
            let end = floor_boundary(source, s.end as usize).max(start);
            start..end
        };
        let mut labels = vec![Label::primary((), clamp(self.span)).with_message(&self.label)];
        for (span, msg) in &self.secondary {
            labels.push(Label::secondary((), clamp(*span)).with_message(msg));
        }
        let mut notes = self.notes.clone();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        let d = match self.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        };
        d.with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// How many diagnostics are printed at most; random input can produce
/// thousands and the first few are the ones that matter.
pub const MAX_REPORTED: usize = 50;

/// The largest char boundary at or before `i` (clamped to the source).
fn floor_boundary(source: &str, i: usize) -> usize {
    let mut i = i.min(source.len());
    while !source.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Lines longer than this are shown as a window around the span: a
/// generated or minified 1 MB line must not be printed whole per error.
const LONG_LINE: usize = 240;

fn line_bounds(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let bytes = source.as_bytes();
    let start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(source.len(), |p| offset + p);
    (start, end)
}

fn touches_long_line(source: &str, d: &Diagnostic) -> bool {
    std::iter::once(d.span)
        .chain(d.secondary.iter().map(|s| s.0))
        .any(|s| {
            let (a, b) = line_bounds(source, s.start as usize);
            b - a > LONG_LINE
        })
}

/// rustc's layout, by hand, for a diagnostic on a very long line: only the
/// primary span, with a window of the line around it.
fn emit_windowed(
    w: &mut dyn termcolor::WriteColor,
    path: &str,
    source: &str,
    d: &Diagnostic,
) -> std::io::Result<()> {
    let at = floor_boundary(source, d.span.start as usize);
    let (line, col) = crate::span::line_col(source, at);
    let (ls, le) = line_bounds(source, at);
    let from = floor_boundary(source, at.saturating_sub(60).max(ls));
    let to = floor_boundary(source, (at + 60).min(le));
    let window = &source[from..to];
    let prefix = if from > ls { "..." } else { "" };
    let suffix = if to < le { "..." } else { "" };
    let caret_pad = prefix.len() + source[from..at].chars().count();
    let width =
        (d.span.end.saturating_sub(d.span.start) as usize).clamp(1, to.saturating_sub(at).max(1));
    let gutter = line.to_string().len();
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    writeln!(w, "{kind}: {}", d.message)?;
    writeln!(w, "{:gutter$}--> {path}:{line}:{col}", "")?;
    writeln!(w, "{:gutter$} |", "")?;
    writeln!(w, "{line} | {prefix}{window}{suffix}")?;
    writeln!(
        w,
        "{:gutter$} | {:caret_pad$}{} {}",
        "",
        "",
        "^".repeat(width),
        d.label
    )?;
    for n in &d.notes {
        writeln!(w, "{:gutter$} = note: {n}", "")?;
    }
    if let Some(h) = &d.help {
        writeln!(w, "{:gutter$} = help: {h}", "")?;
    }
    writeln!(w)
}

/// Render diagnostics for one file to a string (no colour), rustc style.
pub fn render(path: &str, source: &str, diags: &[Diagnostic]) -> String {
    let mut buf = termcolor::Buffer::no_color();
    emit(&mut buf, path, source, diags);
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// Render diagnostics to a terminal writer (colour if the writer supports it).
pub fn emit(w: &mut dyn termcolor::WriteColor, path: &str, source: &str, diags: &[Diagnostic]) {
    let file = SimpleFile::new(path, source);
    let mut config = term::Config {
        chars: term::Chars::ascii(),
        ..term::Config::default()
    };
    // rustc's look: `error: msg` then ` --> file:line:col`.
    config.start_context_lines = 1;
    config.end_context_lines = 1;
    for d in diags.iter().take(MAX_REPORTED) {
        // Rendering into a buffer or stderr only fails on I/O errors, which
        // leave nothing useful to do.
        if touches_long_line(source, d) {
            let _ = emit_windowed(w, path, source, d);
        } else {
            let _ = term::emit(w, &config, &file, &d.to_codespan(source));
        }
    }
    if diags.len() > MAX_REPORTED {
        let _ = writeln!(
            w,
            "note: {} more diagnostics not shown",
            diags.len() - MAX_REPORTED
        );
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if errors > 0 {
        let _ = writeln!(
            w,
            "error: could not compile `{path}` due to {errors} previous error{}{}",
            plural(errors),
            if warnings > 0 {
                format!("; {warnings} warning{} emitted", plural(warnings))
            } else {
                String::new()
            }
        );
    } else if warnings > 0 {
        let _ = writeln!(w, "warning: {warnings} warning{} emitted", plural(warnings));
    }
}
