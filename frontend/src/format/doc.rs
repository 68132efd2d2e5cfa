//! A small Wadler-style document printer: text, line breaks that a group
//! takes flat (as a space or nothing) when the group fits the width, and
//! hard breaks. Trailing comments wait for the next line break and are
//! then aligned with their neighbours (as gofmt does).

/// Maximum line width the groups try to keep to.
pub const WIDTH: usize = 100;
const INDENT: usize = 4;
/// Marks where a trailing comment starts in the rendered text, until the
/// alignment pass replaces it by padding.
const SUFFIX_MARK: char = '\u{1}';

#[derive(Clone, Debug)]
pub enum Doc {
    /// Text without line breaks.
    Text(String),
    /// A space when flat, a line break when broken.
    Line,
    /// Nothing when flat, a line break when broken.
    SoftLine,
    /// Always a line break.
    Hard,
    /// Always an empty line (two line breaks).
    Blank,
    /// Its contents one level deeper after line breaks.
    Nest(Box<Doc>),
    /// Flat if it fits on the rest of the line, else broken.
    Group(Box<Doc>),
    Concat(Vec<Doc>),
    /// Text only where the enclosing group is broken (a trailing comma).
    IfBreak(&'static str),
    /// A trailing comment: printed at the end of the line, before the next
    /// line break (may contain line breaks: a block comment).
    Suffix(String),
    /// Forces every enclosing group to break.
    BreakParent,
}

pub fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub fn concat(v: Vec<Doc>) -> Doc {
    Doc::Concat(v)
}

pub fn nest(d: Doc) -> Doc {
    Doc::Nest(Box::new(d))
}

pub fn group(d: Doc) -> Doc {
    Doc::Group(Box::new(d))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Flat,
    Break,
}

/// Render `doc`, then align runs of trailing comments.
pub fn render(doc: &Doc) -> String {
    let mut r = Renderer {
        out: String::new(),
        col: 0,
        pending_indent: None,
        suffixes: Vec::new(),
    };
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((ind, mode, d)) = stack.pop() {
        match d {
            Doc::BreakParent => {}
            Doc::Text(s) => r.text(s),
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(d, Doc::Line) {
                    r.text(" ")
                }
            }
            Doc::Line | Doc::SoftLine | Doc::Hard => r.newline(ind, 1),
            Doc::Blank => r.newline(ind, 2),
            Doc::Nest(inner) => stack.push((ind + INDENT, mode, inner)),
            Doc::Group(inner) => {
                let m =
                    if mode == Mode::Flat || fits(WIDTH as isize - r.col as isize, inner, &stack) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    };
                stack.push((ind, m, inner));
            }
            Doc::Concat(v) => {
                for x in v.iter().rev() {
                    stack.push((ind, mode, x));
                }
            }
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    r.text(s)
                }
            }
            Doc::Suffix(s) => r.suffixes.push(s.clone()),
        }
    }
    r.flush_suffixes(0);
    align_suffixes(&r.out)
}

/// Does `doc`, flat, and what follows it up to the next line break fit in `rem`?
fn fits(mut rem: isize, doc: &Doc, rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut local: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest_i = rest.len();
    loop {
        let (mode, d) = match local.pop() {
            Some(x) => x,
            None => {
                if rest_i == 0 {
                    return true;
                }
                rest_i -= 1;
                (rest[rest_i].1, rest[rest_i].2)
            }
        };
        match d {
            Doc::Suffix(_) => {}
            Doc::Text(s) => rem -= s.chars().count() as isize,
            Doc::Line | Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
                if matches!(d, Doc::Line) {
                    rem -= 1;
                }
            }
            Doc::Hard | Doc::Blank => return mode == Mode::Break,
            // What follows a forced break still counts up to the next line break.
            Doc::BreakParent if mode == Mode::Flat => return false,
            Doc::BreakParent => {}
            Doc::Nest(inner) => local.push((mode, inner)),
            Doc::Group(inner) => local.push((Mode::Flat, inner)),
            Doc::Concat(v) => local.extend(v.iter().rev().map(|x| (mode, x))),
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    rem -= s.len() as isize
                }
            }
        }
        if rem < 0 {
            return false;
        }
    }
}

struct Renderer {
    out: String,
    col: usize,
    /// Indentation owed to the current line, written with its first text
    /// (so empty lines carry no spaces).
    pending_indent: Option<usize>,
    suffixes: Vec<String>,
}

impl Renderer {
    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(n) = self.pending_indent.take() {
            self.out.extend(std::iter::repeat_n(' ', n));
            self.col = n;
        }
        self.out.push_str(s);
        self.col += s.chars().count();
    }

    /// Trailing comments waiting for the line break, before one that starts
    /// a line indented by `indent`.
    fn flush_suffixes(&mut self, indent: usize) {
        let mut line_comment = false;
        for s in std::mem::take(&mut self.suffixes) {
            if line_comment {
                // Text after a `//` comment would join it: a line of its own.
                self.out.push('\n');
                self.pending_indent = Some(indent);
            }
            if self.pending_indent.is_some() || self.out.is_empty() {
                // Nothing on this line yet: the comment is the line.
                self.text(&s);
            } else if s.contains('\n') {
                self.out.push(' ');
                self.out.push_str(&s);
            } else {
                self.out.push(SUFFIX_MARK);
                self.out.push_str(&s);
            }
            line_comment = s.starts_with("//");
        }
    }

    fn newline(&mut self, indent: usize, n: usize) {
        self.flush_suffixes(indent);
        if !self.out.is_empty() {
            if n == 1 {
                self.out.push('\n');
            } else {
                // An empty line: at most one in a row, whatever asked for it.
                let trailing = self.out.len() - self.out.trim_end_matches('\n').len();
                for _ in trailing..2 {
                    self.out.push('\n');
                }
            }
        }
        self.pending_indent = Some(indent);
        self.col = indent;
    }
}

/// Runs of consecutive lines with a trailing comment, at one indentation,
/// get their comments in one column, one space after the longest code.
fn align_suffixes(s: &str) -> String {
    let lines: Vec<&str> = s.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut i = 0;
    while i < lines.len() {
        let Some(_) = lines[i].find(SUFFIX_MARK) else {
            out.push(lines[i].to_string());
            i += 1;
            continue;
        };
        let mut j = i;
        while j < lines.len()
            && lines[j].contains(SUFFIX_MARK)
            && indent(lines[j]) == indent(lines[i])
        {
            j += 1;
        }
        let width = lines[i..j]
            .iter()
            .map(|l| {
                l.split(SUFFIX_MARK)
                    .next()
                    .unwrap()
                    .trim_end()
                    .chars()
                    .count()
            })
            .max()
            .unwrap_or(0);
        for l in &lines[i..j] {
            let mut parts = l.split(SUFFIX_MARK);
            let code = parts.next().unwrap().trim_end();
            let mut line = format!("{code:width$}");
            for c in parts {
                line.push(' ');
                line.push_str(c);
            }
            out.push(line);
        }
        i = j;
    }
    out.join("\n")
}
