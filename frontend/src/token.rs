//! Tokens produced by the lexer and consumed by the LALRPOP grammar.

use std::fmt;

/// One token. Keywords are separate variants so the grammar can name them;
/// `Newline` is the statement separator the lexer inserts (see `lexer.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Int(u64),
    Str(String),
    Char(u8),
    /// A line break that ends a statement (inserted by the lexer, Go-style).
    Newline,

    // Keywords.
    Fn,
    Var,
    Const,
    Config,
    Local,
    For,
    In,
    Pin,
    Type,
    Struct,
    Enum,
    If,
    Else,
    While,
    Loop,
    Break,
    Continue,
    Return,
    Import,
    Pub,
    Priv,
    Impl,
    True,
    False,
    Null,
    None,
    Try,
    Catch,
    Throw,
    Defer,
    Delete,
    Match,
    Extern,
    Include,
    As,
    Sizeof,

    // Punctuation.
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Semi,
    Dot,
    DotDot,
    Arrow,
    At,
    Question,
    Assign,
    PlusAssign,
    MinusAssign,
    StarAssign,
    SlashAssign,
    PercentAssign,
    AmpAssign,
    PipeAssign,
    CaretAssign,
    ShlAssign,
    ShrAssign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    AndAnd,
    OrOr,
}

impl Tok {
    pub fn keyword(word: &str) -> Option<Tok> {
        Some(match word {
            "fn" => Tok::Fn,
            "var" => Tok::Var,
            "const" => Tok::Const,
            "config" => Tok::Config,
            "local" => Tok::Local,
            "for" => Tok::For,
            "in" => Tok::In,
            "pin" => Tok::Pin,
            "type" => Tok::Type,
            "struct" => Tok::Struct,
            "enum" => Tok::Enum,
            "if" => Tok::If,
            "else" => Tok::Else,
            "while" => Tok::While,
            "loop" => Tok::Loop,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "return" => Tok::Return,
            "import" => Tok::Import,
            "pub" => Tok::Pub,
            "priv" => Tok::Priv,
            "impl" => Tok::Impl,
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "none" => Tok::None,
            "try" => Tok::Try,
            "catch" => Tok::Catch,
            "throw" => Tok::Throw,
            "defer" => Tok::Defer,
            "delete" => Tok::Delete,
            "match" => Tok::Match,
            "extern" => Tok::Extern,
            "include" => Tok::Include,
            "as" => Tok::As,
            "sizeof" => Tok::Sizeof,
            _ => return None,
        })
    }

    /// The token as written in source (for keywords and punctuation).
    pub fn text(&self) -> &'static str {
        match self {
            Tok::Ident(_) => "identifier",
            Tok::Int(_) => "integer literal",
            Tok::Str(_) => "string literal",
            Tok::Char(_) => "character literal",
            Tok::Newline => "end of line",
            Tok::Fn => "fn",
            Tok::Var => "var",
            Tok::Const => "const",
            Tok::Config => "config",
            Tok::Local => "local",
            Tok::For => "for",
            Tok::In => "in",
            Tok::Pin => "pin",
            Tok::Type => "type",
            Tok::Struct => "struct",
            Tok::Enum => "enum",
            Tok::If => "if",
            Tok::Else => "else",
            Tok::While => "while",
            Tok::Loop => "loop",
            Tok::Break => "break",
            Tok::Continue => "continue",
            Tok::Return => "return",
            Tok::Import => "import",
            Tok::Pub => "pub",
            Tok::Priv => "priv",
            Tok::Impl => "impl",
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            Tok::None => "none",
            Tok::Try => "try",
            Tok::Catch => "catch",
            Tok::Throw => "throw",
            Tok::Defer => "defer",
            Tok::Delete => "delete",
            Tok::Match => "match",
            Tok::Extern => "extern",
            Tok::Include => "include",
            Tok::As => "as",
            Tok::Sizeof => "sizeof",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Semi => ";",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Arrow => "->",
            Tok::At => "@",
            Tok::Question => "?",
            Tok::Assign => "=",
            Tok::PlusAssign => "+=",
            Tok::MinusAssign => "-=",
            Tok::StarAssign => "*=",
            Tok::SlashAssign => "/=",
            Tok::PercentAssign => "%=",
            Tok::AmpAssign => "&=",
            Tok::PipeAssign => "|=",
            Tok::CaretAssign => "^=",
            Tok::ShlAssign => "<<=",
            Tok::ShrAssign => ">>=",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            Tok::Caret => "^",
            Tok::Tilde => "~",
            Tok::Bang => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
        }
    }

    /// Can a statement end with this token? A line break after such a token
    /// ends the statement; after any other token the expression continues.
    pub(crate) fn can_end_statement(&self) -> bool {
        matches!(
            self,
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Str(_)
                | Tok::Char(_)
                | Tok::True
                | Tok::False
                | Tok::Null
                | Tok::None
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
                | Tok::Return
                | Tok::Break
                | Tok::Continue
        )
    }

    /// Can this token only continue what came before (never start a
    /// statement or an item)? A pending line break before such a token is
    /// dropped, so `}` / `else` on the next line and operators leading a
    /// continuation line work as a C programmer expects.
    pub(crate) fn continues_line(&self) -> bool {
        matches!(
            self,
            Tok::RBrace
                | Tok::RParen
                | Tok::RBracket
                | Tok::Comma
                | Tok::Dot
                | Tok::DotDot
                | Tok::Arrow
                | Tok::Question
                | Tok::Colon
                | Tok::Assign
                | Tok::PlusAssign
                | Tok::MinusAssign
                | Tok::StarAssign
                | Tok::SlashAssign
                | Tok::PercentAssign
                | Tok::AmpAssign
                | Tok::PipeAssign
                | Tok::CaretAssign
                | Tok::ShlAssign
                | Tok::ShrAssign
                | Tok::EqEq
                | Tok::NotEq
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::Shl
                | Tok::Shr
                | Tok::Plus
                | Tok::Slash
                | Tok::Percent
                | Tok::Pipe
                | Tok::Caret
                | Tok::AndAnd
                | Tok::OrOr
                | Tok::Else
                | Tok::Catch
                | Tok::As
                | Tok::In
        )
    }
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier `{s}`"),
            Tok::Int(n) => write!(f, "integer `{n}`"),
            Tok::Str(_) => write!(f, "string literal"),
            Tok::Char(_) => write!(f, "character literal"),
            Tok::Newline => write!(f, "end of line"),
            other => write!(f, "`{}`", other.text()),
        }
    }
}
