//! Source files and spans: where every item and diagnostic is.

use serde::{Deserialize, Serialize};

/// A source file, as an index into a [`SourceMap`] ([`Module::files`](crate::Module::files)):
/// [`FileId::MAIN`] is the file given to ksc; files it includes or imports
/// get the next ids.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "abi_stable", derive(abi_stable::StableAbi))]
#[repr(transparent)]
#[serde(transparent)]
pub struct FileId(pub u32);

impl FileId {
    /// The file given to ksc.
    pub const MAIN: FileId = FileId(0);

    /// The id as a `usize`, to index the [`SourceMap`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A place in the source: the half-open byte range `start..end` of one
/// file. This is the one span type of ksc: the front end's syntax tree,
/// the IR, diagnostics and backend plugins' errors all carry it. Lines and
/// columns are not stored: [`SourceMap::line_col`] computes them.
///
/// In RON: `(file: 0, start: 120, end: 131)`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "abi_stable", derive(abi_stable::StableAbi))]
#[repr(C)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte covered.
    pub start: u32,
    /// Byte offset just past the last byte covered (`start` when empty).
    pub end: u32,
}

impl Span {
    /// `start..end` in `file` (offsets fit in `u32`: ksc refuses sources
    /// larger than 16 MiB).
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (of the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Bytes covered (0 for an empty or inverted span).
    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// Covers no byte (a point, such as an insertion position).
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

/// One source file: its name as shown in diagnostics, its text, and where
/// its lines start (computed once, when the file is added).
///
/// In RON: `(name: "prog.ks", text: "...")`; the line starts are
/// recomputed when the IR is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SourceFileText")]
pub struct SourceFile {
    /// The path as given to ksc (or as included).
    pub name: String,
    /// The whole text of the file, as read (UTF-8).
    pub text: String,
    #[serde(skip)]
    line_starts: Vec<u32>,
}

/// [`SourceFile`] as serialised.
#[derive(Deserialize)]
struct SourceFileText {
    name: String,
    text: String,
}

impl From<SourceFileText> for SourceFile {
    fn from(f: SourceFileText) -> SourceFile {
        SourceFile::new(f.name, f.text)
    }
}

impl SourceFile {
    /// A file of this name and text, with its line starts computed.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i as u32 + 1),
            )
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// Byte offsets where lines start: `0`, then after each `\n`.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }

    /// The 0-based line containing byte `offset` (clamped to the text).
    pub fn line_index(&self, offset: u32) -> usize {
        let offset = offset.min(self.text.len() as u32);
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// Line and column of byte `offset`, both 1-based, the column counted
    /// in characters (an offset inside a character counts as one more).
    /// Offsets past the end are clamped to it.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(self.text.len());
        let line = self.line_index(offset as u32);
        let start = self.line_starts[line] as usize;
        let col = String::from_utf8_lossy(&self.text.as_bytes()[start..offset])
            .chars()
            .count();
        (line as u32 + 1, col as u32 + 1)
    }
}

/// Every source file of a program, indexed by [`FileId`]. The one place
/// ksc turns byte offsets into lines and columns: diagnostics, the
/// midend's checks and backends (the C backends' `// prog.ks:LINE`
/// comments) all use it. The IR carries it as [`Module::files`](crate::Module::files).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// A map with no files yet.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// A map of one file, [`FileId::MAIN`].
    pub fn single(name: impl Into<String>, text: impl Into<String>) -> SourceMap {
        let mut m = SourceMap::new();
        m.add(name, text);
        m
    }

    /// Add a file; returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId(self.files.len() as u32 - 1)
    }

    /// The file with this id; `None` for an id this map did not give.
    pub fn get(&self, file: FileId) -> Option<&SourceFile> {
        self.files.get(file.index())
    }

    /// Every file with its id.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The number of files (the next [`FileId`] [`SourceMap::add`] gives).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// No file was added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The name of `file` (empty for an unknown id).
    pub fn name(&self, file: FileId) -> &str {
        self.get(file).map_or("", |f| &f.name)
    }

    /// Line and column (1-based) where `span` starts; `(0, 0)` when its
    /// file is unknown.
    pub fn line_col(&self, span: Span) -> (u32, u32) {
        self.get(span.file)
            .map_or((0, 0), |f| f.line_col(span.start))
    }

    /// The 1-based line where `span` starts; 0 when its file is unknown.
    pub fn line(&self, span: Span) -> u32 {
        self.get(span.file)
            .map_or(0, |f| f.line_index(span.start) as u32 + 1)
    }
}
