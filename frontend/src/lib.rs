//! # ksc front end
//!
//! Source text to a syntax tree, with rustc-style diagnostics:
//!
//! ```text
//! source ──lexer──▶ tokens ──grammar (LALRPOP)──▶ ast::File
//!                      └──────── diag::Diagnostic ◀──┘
//! ```
//!
//! * [`lexer`] turns bytes into tokens, inserting statement-ending line
//!   breaks, and never fails: bad input becomes diagnostics.
//! * `grammar.lalrpop` is the whole language as an LR(1) grammar, with error
//!   recovery at statement and item level.
//! * [`ast`] is the tree, every node with its [`Span`] (the one span type
//!   of ksc, `ksc_ir::Span`: a file id and a byte range).
//! * [`diag`] is the diagnostic type every stage of ksc reports with.
//!
//! Name resolution, types and the safety rules are the midend's job.

pub mod ast;
mod depth;
pub mod diag;
pub mod format;
pub mod lexer;
pub mod parse;
pub mod span;
pub mod token;

#[allow(clippy::all, unused_parens, unused_imports)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/grammar.rs"));
}

pub use depth::MAX_DEPTH;
pub use diag::{Diagnostic, Severity};
pub use format::{format_source, FormatError};
pub use parse::{parse, parse_file, Parsed};
pub use span::{FileId, SourceMap, Span};
