//! The lexer: bytes to tokens, never failing.
//!
//! KernelScript has no semicolons, so line breaks end statements. The rule is
//! Go's, adapted to C habits:
//! * inside `( )` and `[ ]` line breaks are ignored;
//! * elsewhere a line break becomes a `Newline` token when the token before it
//!   can end a statement (identifier, literal, `)`, `]`, `}`, `return`, ...)
//!   and the token after it can begin one (so `}` / `else` / `catch` and
//!   binary operators that lead a continuation line never see a break).
//!
//! Malformed input (bad literals, stray characters, unterminated strings or
//! comments) produces a diagnostic and a best-effort token, so the parser
//! always runs and reports its own errors too.

use crate::diag::Diagnostic;
use crate::diag::{codes, Code};
use crate::span::{FileId, Span};
use crate::token::Tok;

/// Deepest bracket nesting accepted. Deeper input is almost certainly not a
/// program, and bounding it bounds every recursive pass over the AST.
pub const MAX_NESTING: usize = 256;

pub type Spanned = (usize, Tok, usize);

pub struct Lexed {
    pub tokens: Vec<Spanned>,
    pub diagnostics: Vec<Diagnostic>,
    /// Brackets still open at end of input (closed there by the lexer).
    pub unclosed: Vec<(usize, u8)>,
    /// Where the nesting limit stopped the lexer, if it did.
    pub stopped_at: Option<usize>,
    /// Byte ranges of the comments (`//` to the end of the line, without
    /// the line break; `/* */` whole), in order: the formatter keeps them.
    pub comments: Vec<(usize, usize)>,
}

/// Lex the main file ([`FileId::MAIN`]).
pub fn lex(src: &str) -> Lexed {
    lex_file(FileId::MAIN, src)
}

/// Lex `src`, the text of `file`: the spans of diagnostics name `file`
/// (token positions are byte offsets into `src`).
pub fn lex_file(file: FileId, src: &str) -> Lexed {
    let mut lx = Lexer {
        file,
        src: src.as_bytes(),
        pos: 0,
        tokens: Vec::with_capacity(src.len() / 4),
        diagnostics: Vec::new(),
        stack: Vec::new(),
        pending_newline: None,
        too_deep: false,
        comments: Vec::new(),
    };
    lx.run();
    let stopped_at = lx.too_deep.then(|| lx.tokens.last().map_or(0, |t| t.2));
    lx.close_unclosed();
    Lexed {
        tokens: lx.tokens,
        diagnostics: lx.diagnostics,
        unclosed: lx.stack,
        stopped_at,
        comments: lx.comments,
    }
}

struct Lexer<'a> {
    file: FileId,
    src: &'a [u8],
    pos: usize,
    tokens: Vec<Spanned>,
    diagnostics: Vec<Diagnostic>,
    /// Open brackets: (offset, b'(' | b'[' | b'{').
    stack: Vec<(usize, u8)>,
    /// Offset of a line break seen since the last token, if it may end a statement.
    pending_newline: Option<usize>,
    /// The nesting limit stopped the lexer.
    too_deep: bool,
    comments: Vec<(usize, usize)>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.get(self.pos + n).copied()
    }

    fn error(
        &mut self,
        code: Code,
        start: usize,
        end: usize,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(
            code,
            Span::new(self.file, start, end),
            msg,
        ));
        self.diagnostics.last_mut().unwrap()
    }

    fn in_parens(&self) -> bool {
        matches!(self.stack.last(), Some((_, b'(' | b'[')))
    }

    fn line_break(&mut self, at: usize) {
        if self.in_parens() || self.pending_newline.is_some() {
            return;
        }
        if let Some((_, last, _)) = self.tokens.last() {
            if last.can_end_statement() {
                self.pending_newline = Some(at);
            }
        }
    }

    fn push(&mut self, start: usize, tok: Tok, end: usize) {
        if let Some(nl) = self.pending_newline.take() {
            if !tok.continues_line() {
                self.tokens.push((nl, Tok::Newline, nl + 1));
            }
        }
        self.tokens.push((start, tok, end));
    }

    fn run(&mut self) {
        while let Some(b) = self.peek() {
            let start = self.pos;
            match b {
                b'\n' => {
                    self.line_break(start);
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => self.pos += 1,
                b'/' if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                    self.comments.push((start, self.pos));
                }
                b'/' if self.peek_at(1) == Some(b'*') => {
                    self.block_comment();
                    self.comments.push((start, self.pos));
                }
                b'"' => self.string(),
                b'\'' => self.char_lit(),
                b'0'..=b'9' => self.number(),
                c if is_ident_start(c) => {
                    while self.peek().is_some_and(is_ident_continue) {
                        self.pos += 1;
                    }
                    // Identifiers are ASCII, so this slice is valid UTF-8.
                    let word = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                    // After `.` or `->` a keyword is a field name (`hdr.type`),
                    // and like any name it may end a statement.
                    let after_dot =
                        matches!(self.tokens.last(), Some((_, Tok::Dot | Tok::Arrow, _)));
                    let tok = match Tok::keyword(word) {
                        Some(k) if !after_dot => k,
                        _ => Tok::Ident(word.to_string()),
                    };
                    self.push(start, tok, self.pos);
                }
                _ => {
                    if !self.punct() {
                        return; // nesting limit hit: stop reading
                    }
                }
            }
        }
    }

    /// Report brackets left open at end of input and close them there, so the
    /// parser can finish and report every error it found on the way.
    fn close_unclosed(&mut self) {
        let end = self.src.len();
        // After the nesting limit stopped the lexer, the open brackets were
        // already reported as one error.
        let report = !self.too_deep;
        for &(pos, open) in self.stack.iter().rev() {
            let (close, tok) = match open {
                b'(' => (')', Tok::RParen),
                b'[' => (']', Tok::RBracket),
                _ => ('}', Tok::RBrace),
            };
            let mut d = Diagnostic::error(
                codes::UNCLOSED,
                Span::new(self.file, pos, pos + 1),
                format!("unclosed `{}`", open as char),
            )
            .with_label(format!("this `{}` is never closed", open as char))
            .with_secondary(Span::new(self.file, end, end), "the file ends here");
            d.help = Some(format!("add the missing `{close}`"));
            if report {
                self.diagnostics.push(d);
            }
            self.pending_newline = None;
            self.tokens.push((end, tok, end));
        }
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        loop {
            match self.peek() {
                None => {
                    self.error(
                        codes::UNTERMINATED,
                        start,
                        start + 2,
                        "unterminated block comment",
                    )
                    .label = "comment starts here and never ends".into();
                    return;
                }
                Some(b'*') if self.peek_at(1) == Some(b'/') => {
                    self.pos += 2;
                    return;
                }
                Some(b'\n') => {
                    self.line_break(self.pos);
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// One escape sequence after a backslash at `self.pos - 1`; returns the byte.
    fn escape(&mut self) -> u8 {
        let esc_start = self.pos - 1;
        let Some(c) = self.peek() else {
            return b'\\';
        };
        self.pos += 1;
        match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'\\' => b'\\',
            b'\'' => b'\'',
            b'"' => b'"',
            b'0' => 0,
            b'x' => {
                let hex = |b: Option<u8>| b.and_then(|b| (b as char).to_digit(16));
                match (hex(self.peek()), hex(self.peek_at(1))) {
                    (Some(h), Some(l)) => {
                        self.pos += 2;
                        let v = (h * 16 + l) as u8;
                        if v > 0x7f {
                            self.error(codes::BAD_LITERAL, esc_start, self.pos, "escape `\\x` above 0x7f in a literal")
                                .help = Some("string and character literals hold ASCII; write larger bytes into a `u8` array".into());
                        }
                        v
                    }
                    _ => {
                        self.error(
                            codes::BAD_LITERAL,
                            esc_start,
                            self.pos,
                            "invalid `\\x` escape",
                        )
                        .help = Some("write two hex digits, e.g. `\\x1b`".into());
                        0
                    }
                }
            }
            _ => {
                // Skip the whole (possibly multi-byte) character.
                let end = (self.pos + utf8_len(c) - 1).min(self.src.len());
                self.pos = end;
                self.error(
                    codes::BAD_LITERAL,
                    esc_start,
                    end,
                    "unknown escape sequence",
                )
                .help = Some("the escapes are \\n \\t \\r \\\\ \\' \\\" \\0 and \\xHH".into());
                c
            }
        }
    }

    fn string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let mut value: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    self.error(
                        codes::UNTERMINATED,
                        start,
                        start + 1,
                        "unterminated string literal",
                    )
                    .with_label_mut("string starts here; add a closing `\"` on the same line");
                    break;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    value.push(self.escape());
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        let text = String::from_utf8(value)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.push(start, Tok::Str(text), self.pos);
    }

    fn char_lit(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let value = match self.peek() {
            Some(b'\\') => {
                self.pos += 1;
                self.escape()
            }
            Some(b'\'') | Some(b'\n') | None => {
                let end = self.pos + usize::from(self.peek() == Some(b'\''));
                self.error(
                    codes::UNTERMINATED,
                    start,
                    end,
                    "empty or unterminated character literal",
                )
                .help =
                    Some("a character literal holds one character, e.g. `'a'` or `'\\n'`".into());
                self.pos = end;
                self.push(start, Tok::Char(0), end);
                return;
            }
            Some(c) => {
                let n = utf8_len(c);
                self.pos = (self.pos + n).min(self.src.len());
                if n > 1 {
                    self.error(
                        codes::BAD_LITERAL,
                        start + 1,
                        self.pos,
                        "non-ASCII character in a character literal",
                    )
                    .help = Some("`char` is one byte; use a string or a `u8` value".into());
                }
                c
            }
        };
        if self.peek() == Some(b'\'') {
            self.pos += 1;
        } else {
            // Either several characters ('ab') or a missing quote.
            let mut end = self.pos;
            while end < self.src.len()
                && end - self.pos < 64
                && !matches!(self.src[end], b'\'' | b'\n')
            {
                end += 1;
            }
            if end < self.src.len() && self.src[end] == b'\'' {
                self.error(
                    codes::BAD_LITERAL,
                    start,
                    end + 1,
                    "character literal may only contain one character",
                )
                .help = Some("use double quotes for a string: \"...\"".into());
                self.pos = end + 1;
            } else {
                self.error(
                    codes::UNTERMINATED,
                    start,
                    start + 1,
                    "unterminated character literal",
                )
                .with_label_mut("add a closing `'`");
            }
        }
        self.push(start, Tok::Char(value), self.pos);
    }

    fn number(&mut self) {
        let start = self.pos;
        let (radix, digits_start) = match (self.peek(), self.peek_at(1)) {
            (Some(b'0'), Some(b'x' | b'X')) => (16, start + 2),
            (Some(b'0'), Some(b'o' | b'O')) => (8, start + 2),
            (Some(b'0'), Some(b'b' | b'B')) => (2, start + 2),
            _ => (10, start),
        };
        self.pos = digits_start;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        // `3.14`: a float (not `0..5`, a range).
        if radix == 10
            && self.peek() == Some(b'.')
            && self.peek_at(1).is_some_and(|c| c.is_ascii_digit())
        {
            self.pos += 1;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.pos += 1;
            }
            self.error(
                codes::BAD_LITERAL,
                start,
                self.pos,
                "floating-point literals are not supported",
            )
            .help = Some("eBPF has no floating point; use integers (e.g. scale by 1000)".into());
            self.push(start, Tok::Int(0), self.pos);
            return;
        }
        let text = &self.src[digits_start..self.pos];
        let mut value: u64 = 0;
        let mut overflow = false;
        let mut any_digit = false;
        for (i, &c) in text.iter().enumerate() {
            if c == b'_' {
                continue;
            }
            match (c as char).to_digit(radix) {
                Some(d) => {
                    any_digit = true;
                    match value
                        .checked_mul(radix as u64)
                        .and_then(|v| v.checked_add(d as u64))
                    {
                        Some(v) => value = v,
                        None => overflow = true,
                    }
                }
                None => {
                    let at = digits_start + i;
                    let what = match radix {
                        16 => "hexadecimal",
                        8 => "octal",
                        2 => "binary",
                        _ => "decimal",
                    };
                    let d = self.error(
                        codes::BAD_LITERAL,
                        at,
                        self.pos,
                        format!("invalid digit `{}` in {what} literal", c as char),
                    );
                    if radix == 10 && c.is_ascii_alphabetic() {
                        d.help = Some(
                            "integer literals have no suffixes; use `as` to pick a type: `5 as u8`"
                                .into(),
                        );
                    }
                    self.push(start, Tok::Int(value), self.pos);
                    return;
                }
            }
        }
        if !any_digit {
            self.error(
                codes::BAD_LITERAL,
                start,
                self.pos,
                "missing digits after the integer prefix",
            )
            .help = Some("write e.g. `0x1F`, `0o17` or `0b101`".into());
        } else if overflow {
            self.error(
                codes::BAD_LITERAL,
                start,
                self.pos,
                "integer literal is too large",
            )
            .with_label_mut("does not fit in 64 bits");
        }
        self.push(start, Tok::Int(value), self.pos);
    }

    /// Punctuation. Returns false when the nesting limit stops the lexer.
    fn punct(&mut self) -> bool {
        let start = self.pos;
        let b = self.src[start];
        let next = self.peek_at(1);
        let next2 = self.peek_at(2);
        let (tok, len) = match (b, next, next2) {
            (b'<', Some(b'<'), Some(b'=')) => (Tok::ShlAssign, 3),
            (b'>', Some(b'>'), Some(b'=')) => (Tok::ShrAssign, 3),
            (b'<', Some(b'<'), _) => (Tok::Shl, 2),
            (b'>', Some(b'>'), _) => (Tok::Shr, 2),
            (b'<', Some(b'='), _) => (Tok::Le, 2),
            (b'>', Some(b'='), _) => (Tok::Ge, 2),
            (b'=', Some(b'='), _) => (Tok::EqEq, 2),
            (b'!', Some(b'='), _) => (Tok::NotEq, 2),
            (b'+', Some(b'='), _) => (Tok::PlusAssign, 2),
            (b'-', Some(b'='), _) => (Tok::MinusAssign, 2),
            (b'*', Some(b'='), _) => (Tok::StarAssign, 2),
            (b'/', Some(b'='), _) => (Tok::SlashAssign, 2),
            (b'%', Some(b'='), _) => (Tok::PercentAssign, 2),
            (b'&', Some(b'='), _) => (Tok::AmpAssign, 2),
            (b'|', Some(b'='), _) => (Tok::PipeAssign, 2),
            (b'^', Some(b'='), _) => (Tok::CaretAssign, 2),
            (b'&', Some(b'&'), _) => (Tok::AndAnd, 2),
            (b'|', Some(b'|'), _) => (Tok::OrOr, 2),
            (b'-', Some(b'>'), _) => (Tok::Arrow, 2),
            (b'.', Some(b'.'), _) => (Tok::DotDot, 2),
            (b'(', ..) => (Tok::LParen, 1),
            (b')', ..) => (Tok::RParen, 1),
            (b'{', ..) => (Tok::LBrace, 1),
            (b'}', ..) => (Tok::RBrace, 1),
            (b'[', ..) => (Tok::LBracket, 1),
            (b']', ..) => (Tok::RBracket, 1),
            (b',', ..) => (Tok::Comma, 1),
            (b':', ..) => (Tok::Colon, 1),
            (b';', ..) => (Tok::Semi, 1),
            (b'.', ..) => (Tok::Dot, 1),
            (b'@', ..) => (Tok::At, 1),
            (b'?', ..) => (Tok::Question, 1),
            (b'=', ..) => (Tok::Assign, 1),
            (b'<', ..) => (Tok::Lt, 1),
            (b'>', ..) => (Tok::Gt, 1),
            (b'+', ..) => (Tok::Plus, 1),
            (b'-', ..) => (Tok::Minus, 1),
            (b'*', ..) => (Tok::Star, 1),
            (b'/', ..) => (Tok::Slash, 1),
            (b'%', ..) => (Tok::Percent, 1),
            (b'&', ..) => (Tok::Amp, 1),
            (b'|', ..) => (Tok::Pipe, 1),
            (b'^', ..) => (Tok::Caret, 1),
            (b'~', ..) => (Tok::Tilde, 1),
            (b'!', ..) => (Tok::Bang, 1),
            _ => {
                self.stray();
                return true;
            }
        };
        self.pos += len;
        match tok {
            Tok::LParen | Tok::LBrace | Tok::LBracket => {
                if self.stack.len() >= MAX_NESTING {
                    self.error(
                        codes::TOO_DEEP,
                        start,
                        start + 1,
                        format!("brackets nested more than {MAX_NESTING} deep"),
                    )
                    .with_label_mut("the compiler stopped reading here");
                    self.pos = self.src.len();
                    self.too_deep = true;
                    return false;
                }
                // A line break pending before `{` (e.g. `if (x)` then `{` on the
                // next line) is kept: the grammar accepts it where a block starts.
                self.push(start, tok, self.pos);
                self.stack.push((start, b));
            }
            Tok::RParen | Tok::RBrace | Tok::RBracket => {
                let open = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                // Pop to the matching opener if there is one; a stray closer
                // leaves the stack alone and the parser reports it.
                if let Some(i) = self.stack.iter().rposition(|&(_, o)| o == open) {
                    self.stack.truncate(i);
                }
                self.push(start, tok, self.pos);
            }
            _ => self.push(start, tok, self.pos),
        }
        true
    }

    /// A run of characters that are not part of the language: one diagnostic.
    fn stray(&mut self) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace()
                || c.is_ascii_alphanumeric()
                || b"_\"'(){}[],:;.@?=<>+-*/%&|^~!".contains(&c)
            {
                break;
            }
            self.pos += utf8_len(c);
        }
        self.pos = self.pos.min(self.src.len()).max(start + 1);
        let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        let msg = if text.chars().count() == 1 {
            format!("unexpected character `{}`", text.escape_debug())
        } else {
            format!(
                "unexpected characters `{}`",
                text.chars().take(16).collect::<String>().escape_debug()
            )
        };
        let d = self.error(codes::SYNTAX, start, self.pos, msg);
        if text.starts_with('#') {
            d.help = Some(
                "comments start with `//`; there is no preprocessor (use `include \"x.kh\"`)"
                    .into(),
            );
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

trait LabelMut {
    fn with_label_mut(&mut self, label: &str);
}

impl LabelMut for Diagnostic {
    fn with_label_mut(&mut self, label: &str) {
        self.label = label.to_string();
    }
}
