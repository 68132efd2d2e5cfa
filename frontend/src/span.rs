//! Source locations: the one span type of ksc and the file table, defined
//! in the IR crate (the IR and backend plugins carry them too) and used by
//! the syntax tree as they are.

pub use ksc_ir::{FileId, SourceFile, SourceMap, Span};

/// Line and column (both 1-based, column in characters) of a byte offset
/// into `source`, for a one-off question about a text that has no
/// [`SourceMap`]; anything asking more than once builds the map (this
/// computes the text's line starts on every call).
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len()) as u32;
    let (line, col) = SourceFile::new("", source).line_col(offset);
    (line as usize, col as usize)
}
