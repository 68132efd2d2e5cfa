//! Diagnostics: one type for every stage of the compiler, rendered the way
//! rustc renders them (`error: ...`, `--> file:line:col`, source line, caret,
//! `help:`), through codespan-reporting, by one function: [`emit`], which
//! shows each span under the source of its own file of the program's
//! [`SourceMap`].

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor};
use serde::{Deserialize, Serialize};

use crate::span::{FileId, SourceFile, SourceMap, Span};

pub mod codes;

pub use codes::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Only from backend plugins (ksc's own checks have warnings and errors).
    Note,
    Warning,
    Error,
}

/// A message about the source, with a primary location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What kind of diagnostic this is (`ksc explain CODE`); `None` only
    /// for backend plugins' messages, whose ABI carries no code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
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
    /// An error of the kind `code` (an `E` code of [`codes`]).
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        debug_assert!(!code.is_warning(), "{code} is a warning's code");
        Self::new(Severity::Error, Some(code), span, message.into())
    }

    /// A warning of the kind `code` (a `W` code of [`codes`]).
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        debug_assert!(code.is_warning(), "{code} is an error's code");
        Self::new(Severity::Warning, Some(code), span, message.into())
    }

    /// A message without a code: only for what backend plugins report
    /// (their ABI has no field for one).
    pub fn uncoded(severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Self::new(severity, None, span, message.into())
    }

    fn new(severity: Severity, code: Option<Code>, span: Span, message: String) -> Self {
        Diagnostic {
            severity,
            code,
            message,
            span,
            label: String::new(),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// `error[E0501]` / `warning[W0508]` / `error`: how the diagnostic's
    /// first line starts.
    pub fn headline(&self) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        match self.code {
            Some(c) => format!("{kind}[{c}]"),
            None => kind.to_string(),
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

    /// As codespan-reporting's diagnostic; a span in a file `files` does
    /// not have (a plugin's mistake) gets no label.
    fn to_codespan(&self, files: &SourceMap) -> CsDiagnostic<FileId> {
        let label = |s: Span| {
            let source = files.get(s.file)?.text.as_str();
            let start = floor_boundary(source, s.start as usize);
            let end = floor_boundary(source, s.end as usize).max(start);
            Some((s.file, start..end))
        };
        let mut labels = Vec::new();
        if let Some((file, range)) = label(self.span) {
            labels.push(Label::primary(file, range).with_message(&self.label));
        }
        for (span, msg) in &self.secondary {
            if let Some((file, range)) = label(*span) {
                labels.push(Label::secondary(file, range).with_message(msg));
            }
        }
        let mut notes = self.notes.clone();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        let d = match self.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Note => CsDiagnostic::note(),
        };
        let d = match self.code {
            Some(c) => d.with_code(c.as_str()),
            None => d,
        };
        d.with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// codespan-reporting's view of a [`SourceMap`]: names, texts and the
/// line starts the map computed (codespan does not compute its own).
struct CsFiles<'a>(&'a SourceMap);

impl CsFiles<'_> {
    fn file(&self, id: FileId) -> Result<&SourceFile, FilesError> {
        self.0.get(id).ok_or(FilesError::FileMissing)
    }
}

impl<'a> Files<'a> for CsFiles<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.file(id)?.name)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.file(id)?.text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let offset = byte_index.min(u32::MAX as usize) as u32;
        Ok(self.file(id)?.line_index(offset))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.file(id)?;
        let starts = file.line_starts();
        let start = |i: usize| match i.cmp(&starts.len()) {
            std::cmp::Ordering::Less => Ok(starts[i] as usize),
            std::cmp::Ordering::Equal => Ok(file.text.len()),
            std::cmp::Ordering::Greater => Err(FilesError::LineTooLarge {
                given: i,
                max: starts.len() - 1,
            }),
        };
        Ok(start(line_index)?..start(line_index + 1)?)
    }
}

/// Edit distance counting a swap of two neighbours as one edit (typos like
/// `xpd` for `xdp`, `E0510` for `E0501`): the "did you mean" of every
/// stage (the midend's `suggest`, `ksc explain`'s nearest codes).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
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

/// The byte range of the line containing `offset`, without its `\n`.
fn line_bounds(file: &SourceFile, offset: usize) -> (usize, usize) {
    let line = file.line_index(offset as u32);
    let start = file.line_starts()[line] as usize;
    let end = file
        .line_starts()
        .get(line + 1)
        .map_or(file.text.len(), |&next| next as usize - 1);
    (start, end)
}

fn touches_long_line(files: &SourceMap, d: &Diagnostic) -> bool {
    std::iter::once(d.span)
        .chain(d.secondary.iter().map(|s| s.0))
        .any(|s| {
            files.get(s.file).is_some_and(|file| {
                let (a, b) = line_bounds(file, s.start as usize);
                b - a > LONG_LINE
            })
        })
}

/// rustc's layout, by hand, for a diagnostic on a very long line: only the
/// primary span, with a window of the line around it.
fn emit_windowed(
    w: &mut dyn termcolor::WriteColor,
    files: &SourceMap,
    d: &Diagnostic,
) -> std::io::Result<()> {
    let Some(file) = files.get(d.span.file) else {
        // Only a secondary span is on a long line: the primary one is in
        // no known file, so there is nothing to quote.
        return term::emit(w, &config(), &CsFiles(files), &d.to_codespan(files))
            .map_err(std::io::Error::other);
    };
    let (path, source) = (file.name.as_str(), file.text.as_str());
    let at = floor_boundary(source, d.span.start as usize);
    let (line, col) = file.line_col(at as u32);
    let (ls, le) = line_bounds(file, at);
    let from = floor_boundary(source, at.saturating_sub(60).max(ls));
    let to = floor_boundary(source, (at + 60).min(le));
    let window = &source[from..to];
    let prefix = if from > ls { "..." } else { "" };
    let suffix = if to < le { "..." } else { "" };
    let caret_pad = prefix.len() + source[from..at].chars().count();
    let width =
        (d.span.end.saturating_sub(d.span.start) as usize).clamp(1, to.saturating_sub(at).max(1));
    let gutter = line.to_string().len();
    writeln!(w, "{}: {}", d.headline(), d.message)?;
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

/// rustc's look: `error: msg` then ` --> file:line:col`.
fn config() -> term::Config {
    term::Config {
        chars: term::Chars::ascii(),
        start_context_lines: 1,
        end_context_lines: 1,
        ..term::Config::default()
    }
}

/// Render the diagnostics of a one-file program (`path`, `source`) to a
/// string, without colour: [`emit`] with a [`SourceMap`] of that file.
pub fn render(path: &str, source: &str, diags: &[Diagnostic]) -> String {
    render_files(&SourceMap::single(path, source), diags)
}

/// Render diagnostics to a string, without colour (see [`emit`]).
pub fn render_files(files: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut buf = termcolor::Buffer::no_color();
    emit(&mut buf, files, diags);
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// Render diagnostics to a terminal writer (colour if the writer supports
/// it), rustc style: each with the source of its span's file of `files`,
/// then a summary naming the main file ([`FileId::MAIN`]). Every
/// diagnostic ksc shows about a program goes through here: the front
/// end's, the midend's, backend plugins' and ksc's own.
pub fn emit(w: &mut dyn termcolor::WriteColor, files: &SourceMap, diags: &[Diagnostic]) {
    let config = config();
    let cs_files = CsFiles(files);
    for d in diags.iter().take(MAX_REPORTED) {
        // Rendering into a buffer or stderr only fails on I/O errors, which
        // leave nothing useful to do.
        if touches_long_line(files, d) {
            let _ = emit_windowed(w, files, d);
        } else {
            let _ = term::emit(w, &config, &cs_files, &d.to_codespan(files));
        }
    }
    if diags.len() > MAX_REPORTED {
        let _ = writeln!(
            w,
            "note: {} more diagnostics not shown",
            diags.len() - MAX_REPORTED
        );
    }
    let path = files.name(FileId::MAIN);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_span_is_shown_in_its_own_file() {
        let mut files = SourceMap::single("main.ks", "include \"lib.ks\"\nfn main() {}\n");
        let lib = files.add("lib.ks", "fn helper() -> u32 {\n    return x\n}\n");
        let d = Diagnostic::error(
            codes::NOT_FOUND,
            Span::new(lib, 32, 33),
            "undefined variable `x`",
        )
        .with_label("not found")
        .with_secondary(Span::new(FileId::MAIN, 0, 16), "included here");
        let out = render_files(&files, &[d]);
        assert!(out.contains("--> lib.ks:2:12"), "{out}");
        assert!(out.contains("2 |     return x"), "{out}");
        assert!(out.contains("--> main.ks:1:1"), "{out}");
        assert!(out.contains("include \"lib.ks\""), "{out}");
        assert!(
            out.ends_with("error: could not compile `main.ks` due to 1 previous error\n"),
            "{out}"
        );
    }

    #[test]
    fn a_span_in_an_unknown_file_shows_the_message_only() {
        let files = SourceMap::single("main.ks", "fn main() {}\n");
        let d = Diagnostic::uncoded(
            Severity::Error,
            Span::new(FileId(9), 0, 1),
            "from a confused plugin",
        );
        let out = render_files(&files, &[d]);
        assert!(out.starts_with("error: from a confused plugin\n"), "{out}");
        let d = Diagnostic::error(codes::SYNTAX, Span::new(FileId(9), 0, 1), "unexpected `}`");
        let out = render_files(&files, &[d]);
        assert!(out.starts_with("error[E0101]: unexpected `}`\n"), "{out}");
        assert!(!out.contains("-->"), "{out}");
    }
}
