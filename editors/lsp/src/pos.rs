//! Byte offsets (ksc's spans) to and from LSP positions (line, UTF-16
//! column), and file paths to and from URIs.

use lsp_types::{Position, Range, Url};

/// The LSP position of byte `offset` of `text`.
pub fn position(text: &str, offset: u32) -> Position {
    let offset = (offset as usize).min(text.len());
    let before = &text[..floor(text, offset)];
    let line = before.matches('\n').count() as u32;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[start..].encode_utf16().count() as u32;
    Position::new(line, col)
}

pub fn range(text: &str, start: u32, end: u32) -> Range {
    Range::new(position(text, start), position(text, end))
}

/// The byte offset of an LSP position in `text` (clamped to the line).
pub fn offset(text: &str, p: Position) -> u32 {
    let mut start = 0usize;
    for _ in 0..p.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len() as u32,
        }
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0u32;
    for (i, c) in text[start..line_end].char_indices() {
        if units >= p.character {
            return (start + i) as u32;
        }
        units += c.len_utf16() as u32;
    }
    line_end as u32
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The path a `file:` URI names, as ksc names the file.
pub fn path_of(uri: &Url) -> String {
    uri.to_file_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| uri.path().to_string())
}

pub fn uri_of(path: &str) -> Option<Url> {
    let p = std::path::Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    Url::from_file_path(abs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        // `é` is 2 bytes, 1 UTF-16 unit; `𝔁` is 4 bytes, 2 units.
        let text = "// é 𝔁\nvar x = 1\n";
        let x = text.find("x =").unwrap() as u32;
        assert_eq!(position(text, x), Position::new(1, 4));
        assert_eq!(offset(text, Position::new(1, 4)), x);
        let after = text.find('𝔁').unwrap() as u32 + 4;
        assert_eq!(position(text, after), Position::new(0, 7));
        assert_eq!(offset(text, Position::new(0, 7)), after);
        // Past the end of a line: its end; past the last line: the text's.
        assert_eq!(
            offset(text, Position::new(1, 99)),
            text.find("1\n").unwrap() as u32 + 1
        );
        assert_eq!(offset(text, Position::new(9, 0)), text.len() as u32);
    }
}
