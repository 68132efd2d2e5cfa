//! # The ksc IR
//!
//! One typed representation of a whole KernelScript file, produced by the
//! midend after every check passed, and consumed by every backend. It is the
//! contract between ksc and its backend plugins: it crosses the plugin ABI
//! as RON text ([`Module::to_ron`] / [`Module::from_ron`]) stamped with
//! [`IR_VERSION`].
//!
//! ## Shape
//!
//! A [`Module`] is a set of tables indexed by small ids:
//!
//! | table | id | what |
//! |---|---|---|
//! | [`Module::types`] | [`TypeId`] | every type, interned, with size and alignment |
//! | [`Module::files`] | [`FileId`] | source files: name and text (see [Source locations](#source-locations)) |
//! | [`Module::maps`] | [`MapId`] | BPF maps |
//! | [`Module::globals`] | [`GlobalId`] | global variables (shared, local, pinned) |
//! | [`Module::configs`] | [`ConfigId`] | `config` blocks |
//! | [`Module::functions`] | [`FnId`] | every function: programs, helpers, kfuncs, userspace, externs |
//! | [`Module::struct_ops`] | [`StructOpsId`] | `@struct_ops` impl blocks |
//! | [`Module::python_modules`] | [`PyModuleId`] | imported Python modules (`import m from "x.py"`) |
//!
//! Inside a [`Function`], locals (parameters first) are indexed by
//! [`LocalId`]. Every expression carries its type and every node its source
//! [`Span`].
//!
//! ## Source locations
//!
//! A [`Span`] is `(file, start, end)`: a [`FileId`] and a half-open byte
//! range in that file. [`Module::files`] is the file table, a
//! [`SourceMap`]: each file's name and text, [`FileId::MAIN`] (0) being the
//! file given to ksc. Lines and columns are computed from it
//! ([`SourceMap::line_col`], [`SourceMap::line`]), for `// prog.ks:LINE`
//! comments or messages; a backend error pointing at a node's span is
//! shown by ksc with the source under a caret.
//!
//! BPF helpers are not a table of the module but of the crate:
//! [`HELPERS`] (module [`helpers`]) lists each helper's name, number in
//! `include/uapi/linux/bpf.h`, signature and the program types that may
//! call it; [`Callee::BpfHelper`] names a helper by its [`HelperId`].
//!
//! ## What the midend already did
//!
//! * Names are resolved: no identifier lookups remain. Constants and
//!   `sizeof` are folded to values.
//! * Types are checked, implicit widenings are explicit [`ExprKind::Cast`]s.
//! * Each function knows its [`Domain`] (eBPF, kernel module, userspace).
//! * Map accesses are explicit: [`ExprKind::MapLookup`] (a pointer that may
//!   be null), [`ExprKind::MapRead`] (the value, zero when absent), [`StmtKind::MapUpdate`], [`StmtKind::MapDelete`] and
//!   [`StmtKind::MapCompound`] (`m[k] += v`: one lookup, update in place).
//! * Named return values are ordinary locals and every `return` names its
//!   value.
//! * `return prog(ctx)` to a program of the same type is a
//!   [`StmtKind::TailCall`]; [`Analysis::tail_call_slots`] numbers the targets.
//! * `match` is [`ExprKind::Switch`]; `if`-expressions and `?:` are
//!   [`ExprKind::Select`].
//! * `try`/`catch`/`throw`/`defer` keep their structure with fixed
//!   semantics: a `throw` transfers control to the innermost enclosing `try`
//!   of the same function whose catch matches (else to the caller, else it
//!   ends the program); deferred blocks run at every exit of their function
//!   (return, throw out of it, end of body) in last-in-first-out order, after
//!   the return value was computed. Backends lower this to their control flow.
//!
//! ## What validation found
//!
//! [`Module::analysis`] is the record of whole-program validation, computed
//! once by the midend on this IR so that backends do not compute it again:
//!
//! * [`Analysis::throws`]: per function, the error codes that may be thrown
//!   out of it ([`Analysis::can_throw`]); in a C backend such a function
//!   passes its error to its caller;
//! * [`Analysis::stack`]: each eBPF program's stack need along its deepest
//!   call path;
//! * [`Analysis::fn_pointer_targets`]: per signature, the eBPF functions
//!   whose address is taken ([`Analysis::pointer_targets`]), which a call
//!   through a pointer can reach (eBPF has no indirect calls: backends
//!   dispatch over them);
//! * [`Analysis::tail_call_slots`]: which program is in which slot of the
//!   tail-call program array.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

pub mod helpers;
pub mod python;
pub use helpers::{helper, helper_named, Helper, HelperId, HelperType, ProgramTypes, HELPERS};

/// Version of this schema. Bump on any change a backend could notice.
pub const IR_VERSION: u32 = 8;

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u32);
        impl $name {
            /// The id as a `usize`, to index its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// Index into [`Module::types`].
    TypeId
);
id!(
    /// Index into [`Module::maps`].
    MapId
);
id!(
    /// Index into [`Module::globals`].
    GlobalId
);
id!(
    /// Index into [`Module::configs`].
    ConfigId
);
id!(
    /// Index into [`Module::functions`].
    FnId
);
id!(
    /// Index into [`Function::locals`].
    LocalId
);
id!(
    /// Index into [`Module::struct_ops`]: a `@struct_ops` impl block.
    StructOpsId
);
id!(
    /// Index into [`Module::python_modules`]: an `import m from "x.py"`.
    PyModuleId
);

/// A source file, as an index into a [`SourceMap`] ([`Module::files`]):
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
/// comments) all use it. The IR carries it as [`Module::files`].
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

/// A whole compiled KernelScript file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The schema version it was written with: [`IR_VERSION`]
    /// ([`Module::from_ron`] refuses any other).
    pub version: u32,
    /// Project name (the source file's stem): names output files and the
    /// pin directory `/sys/fs/bpf/<name>/`.
    pub name: String,
    /// The source path as given to ksc (the name of [`FileId::MAIN`]).
    pub source_path: String,
    /// The source files, indexed by the [`FileId`] of every [`Span`]:
    /// names and texts, for line numbers and quoting the source.
    pub files: SourceMap,
    /// The type table, indexed by [`TypeId`].
    pub types: Vec<TypeDef>,
    /// The BPF maps the program declares, indexed by [`MapId`].
    pub maps: Vec<Map>,
    /// The global variables, indexed by [`GlobalId`].
    pub globals: Vec<Global>,
    /// The `config` blocks, indexed by [`ConfigId`].
    pub configs: Vec<Config>,
    /// Every function of every domain, indexed by [`FnId`].
    pub functions: Vec<Function>,
    /// The `@struct_ops` impl blocks, indexed by [`StructOpsId`].
    pub struct_ops: Vec<StructOps>,
    /// Python modules imported by userspace code, called through
    /// [`Callee::Python`]. Empty (and absent from older RON) without
    /// `import m from "x.py"`.
    #[serde(default)]
    pub python_modules: Vec<PyModule>,
    /// The userspace entry point.
    pub main: Option<FnId>,
    /// What whole-program validation found (throws, stack, function-pointer
    /// targets, tail-call slots), so backends read it instead of
    /// recomputing it.
    pub analysis: Analysis,
}

impl Module {
    /// The type `id` names (panics on an id not from this module).
    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.index()]
    }

    /// The function `id` names (panics on an id not from this module).
    pub fn function(&self, id: FnId) -> &Function {
        &self.functions[id.index()]
    }

    /// The module as RON text (the form it crosses the plugin ABI in).
    pub fn to_ron(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new()
            .struct_names(false)
            .indentor(" ".to_string());
        // Serialising plain data to a String cannot fail.
        ron::ser::to_string_pretty(self, cfg).expect("IR serialises to RON")
    }

    /// Read a module back, refusing another schema version.
    pub fn from_ron(text: &str) -> Result<Module, String> {
        let m: Module = ron::from_str(text).map_err(|e| format!("malformed IR: {e}"))?;
        if m.version != IR_VERSION {
            return Err(format!(
                "IR schema version {} is not the supported version {IR_VERSION}",
                m.version
            ));
        }
        Ok(m)
    }
}

// ------------------------------------------------------------------ analysis

/// The facts whole-program validation established about a [`Module`],
/// carried with it for backends.
///
/// The midend computes them while validating the program (its call graph,
/// tail-call graph, stack analysis and throw analysis), after every
/// function was lowered; a backend that needs one of them reads it here
/// rather than walking the bodies again, so the compiler decides each fact
/// once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// One entry per function, indexed by [`FnId`]: the error codes a
    /// `throw` may carry out of it (not caught inside it or in the
    /// functions it calls). Empty for a function that cannot throw.
    pub throws: Vec<Throws>,
    /// Each eBPF program's stack need, in function order.
    pub stack: Vec<StackUse>,
    /// For each function-pointer signature, the eBPF functions (not
    /// programs) of that signature whose address is taken anywhere in the
    /// module: the functions a call through such a pointer in eBPF code
    /// can reach. In order of first [`FnId`]; targets in [`FnId`] order.
    pub fn_pointer_targets: Vec<PointerTargets>,
    /// The program array of tail calls: `tail_call_slots[slot]` is the
    /// program in that slot ([`StmtKind::TailCall`] names its `slot`).
    pub tail_call_slots: Vec<FnId>,
}

impl Analysis {
    /// May a `throw` leave function `f`?
    pub fn can_throw(&self, f: FnId) -> bool {
        self.throws.get(f.index()).is_some_and(|t| !t.is_empty())
    }

    /// The eBPF functions a call through a pointer of signature `sig` can
    /// reach (empty when no function of that signature has its address
    /// taken).
    pub fn pointer_targets(&self, sig: &FnSig) -> &[FnId] {
        self.fn_pointer_targets
            .iter()
            .find(|p| p.sig == *sig)
            .map_or(&[], |p| &p.targets)
    }
}

/// The error codes that may be thrown out of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throws {
    /// Constant codes (`throw 2`, `throw E_PARSE`), ascending.
    pub codes: Vec<i64>,
    /// A code only known at run time (`throw err`) may be thrown too.
    pub unknown: bool,
}

impl Throws {
    /// Nothing can be thrown out.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && !self.unknown
    }
}

/// The stack an eBPF program needs: its own frame plus those of the
/// functions it calls, along its deepest call path. The verifier allows
/// 512 bytes; the midend rejects programs that need more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackUse {
    /// The program (an eBPF [`FnKind::Program`]).
    pub program: FnId,
    /// Bytes, each local rounded up to 8.
    pub bytes: u32,
    /// The deepest call path, starting with the program itself.
    pub path: Vec<FnId>,
}

/// The functions a call through a pointer of one signature can reach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointerTargets {
    /// The pointer's signature (parameter and return types).
    pub sig: FnSig,
    /// The eBPF functions of that signature whose address is taken, in
    /// [`FnId`] order.
    pub targets: Vec<FnId>,
}

// ------------------------------------------------------------------ types

/// One entry of the type table ([`Module::types`]): what the type is and
/// its C layout. Structural types are interned (one [`TypeId`] each);
/// every struct and enum declaration is its own entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    /// What the type is.
    pub kind: TypeKind,
    /// Size in bytes as laid out in C (0 for `void` and function types).
    pub size: u32,
    /// Alignment in bytes as laid out in C (at least 1).
    pub align: u32,
}

/// A fixed-width integer type; C backends write it as `__u8` ... `__s64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntType {
    /// `u8`: unsigned, 8 bits.
    U8,
    /// `u16`: unsigned, 16 bits.
    U16,
    /// `u32`: unsigned, 32 bits.
    U32,
    /// `u64`: unsigned, 64 bits.
    U64,
    /// `i8`: two's complement, 8 bits.
    I8,
    /// `i16`: two's complement, 16 bits.
    I16,
    /// `i32`: two's complement, 32 bits.
    I32,
    /// `i64`: two's complement, 64 bits.
    I64,
}

impl IntType {
    /// Width in bits: 8, 16, 32 or 64.
    pub fn bits(self) -> u32 {
        match self {
            IntType::U8 | IntType::I8 => 8,
            IntType::U16 | IntType::I16 => 16,
            IntType::U32 | IntType::I32 => 32,
            IntType::U64 | IntType::I64 => 64,
        }
    }

    /// One of `i8` ... `i64` (two's complement)?
    pub fn signed(self) -> bool {
        matches!(
            self,
            IntType::I8 | IntType::I16 | IntType::I32 | IntType::I64
        )
    }

    /// The KernelScript spelling (`u32`), for messages.
    pub fn name(self) -> &'static str {
        match self {
            IntType::U8 => "u8",
            IntType::U16 => "u16",
            IntType::U32 => "u32",
            IntType::U64 => "u64",
            IntType::I8 => "i8",
            IntType::I16 => "i16",
            IntType::I32 => "i32",
            IntType::I64 => "i64",
        }
    }

    /// Smallest and largest value.
    pub fn range(self) -> (i128, i128) {
        let bits = self.bits();
        if self.signed() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        }
    }
}

/// What a type is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TypeKind {
    /// No value: the return type of functions that return nothing, and
    /// the pointee of `*void`.
    Void,
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// One byte of text.
    Char,
    /// An integer of the given width and signedness.
    Int(IntType),
    /// `str(N)`: N bytes of text, NUL-terminated when shorter.
    Str(u32),
    /// `*T`: the address of a `T` (8 bytes).
    Pointer(TypeId),
    /// `[T; N]`: N elements of type `T`, laid out back to back.
    Array(TypeId, u32),
    /// `[T]` behind a pointer: elements of unknown count.
    Slice(TypeId),
    /// A struct declaration, with its fields and layout.
    Struct(StructDef),
    /// An enum declaration, with its variants' values.
    Enum(EnumDef),
    /// A function pointer type.
    Function(FnSig),
    /// A reference to an eBPF program function (what `load` takes).
    ProgramRef,
    /// What `load` returns and `attach`/`detach` take.
    ProgramHandle,
    /// A reference to a `@struct_ops` impl block (what `register` takes).
    StructOpsRef,
    /// The type of `null` before it meets a pointer type.
    Null,
}

/// A struct type: its name, fields with offsets, and who declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructDef {
    /// The name as declared (`PacketInfo`, `xdp_md`).
    pub name: String,
    /// Fields in declaration order, with their byte offsets.
    pub fields: Vec<Field>,
    /// Who declares it, so backends know whether to write it.
    pub origin: StructOrigin,
}

/// Who provides a struct's declaration: backends decide from it whether
/// (and on which side) to write the struct, never from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StructOrigin {
    /// Declared by the program: every C file that uses it defines it.
    User,
    /// A kernel-internal struct (read from BTF, `pt_regs`,
    /// `trace_event_raw_*`): fields keep the kernel's offsets (unmodelled
    /// ones are padding); only eBPF code uses it.
    Kernel,
    /// A context struct of `include/uapi/linux/bpf.h` (`xdp_md`,
    /// `__sk_buff`): the UAPI header declares it, nothing defines it; its
    /// pointer fields are 32-bit there.
    Uapi,
    /// A struct of the test harness (`XdpTestContext`, what `test()` takes):
    /// userspace only, never in eBPF code.
    TestHarness,
    /// A tracepoint context (`trace_event_raw_*`, `trace_entry`) from BTF:
    /// a kernel struct read with plain loads at its fixed offsets (the
    /// verifier refuses the computed context pointers CO-RE array accesses
    /// produce), so not relocated.
    TracepointContext,
    /// `pt_regs`, opaque to programs (probes get typed parameters): the
    /// eBPF C writer declares the x86-64 layout when a probe needs it.
    ProbeRegs,
    /// A struct_ops type the program re-declares (`tcp_congestion_ops`, as
    /// the spec's programs do): userspace uses the program's declaration;
    /// eBPF code uses the kernel's layout (from BTF) instead.
    StructOpsType,
}

impl StructOrigin {
    /// Provided by the kernel (its headers or its BTF), not by the program.
    pub fn is_kernel(self) -> bool {
        matches!(
            self,
            StructOrigin::Kernel
                | StructOrigin::Uapi
                | StructOrigin::TracepointContext
                | StructOrigin::ProbeRegs
        )
    }
}

/// One field of a [`StructDef`]; [`ExprKind::Field`] and
/// [`FieldInit`] name it by its index in [`StructDef::fields`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's name as declared (the C member name).
    pub name: String,
    /// The field's type.
    pub ty: TypeId,
    /// Offset in bytes from the start of the struct (the kernel's offset
    /// for kernel structs).
    pub offset: u32,
}

/// An enum type: named integer constants stored as `repr`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumDef {
    /// The name as declared (`Color`, `xdp_action`).
    pub name: String,
    /// The integer type a value is stored as (its size is the enum's).
    pub repr: IntType,
    /// Variants in declaration order.
    pub variants: Vec<EnumVariant>,
    /// Declared by the kernel headers (`xdp_action`).
    pub kernel: bool,
}

/// One variant of an [`EnumDef`]: its name and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumVariant {
    /// The name as declared (`XDP_PASS`), also its name in C.
    pub name: String,
    /// Its integer value; in expressions the variant is a [`Value::Int`]
    /// of the enum's type.
    pub value: i64,
}

/// A function signature: the type of a function pointer
/// ([`TypeKind::Function`]), and what [`Analysis::pointer_targets`] is
/// keyed by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnSig {
    /// Parameter types, in order.
    pub params: Vec<TypeId>,
    /// Return type ([`TypeKind::Void`] when nothing is returned).
    pub ret: TypeId,
}

// ------------------------------------------------------------------ shared state

/// The kind of a BPF map: its `BPF_MAP_TYPE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapKind {
    /// `hash<K, V>`: `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `array<u32, V>`: `BPF_MAP_TYPE_ARRAY`, every index present (zeroed).
    Array,
    /// `percpu_hash<K, V>`: `BPF_MAP_TYPE_PERCPU_HASH`, one value per CPU.
    PercpuHash,
    /// `percpu_array<u32, V>`: `BPF_MAP_TYPE_PERCPU_ARRAY`, one value per CPU.
    PercpuArray,
    /// `lru_hash<K, V>`: `BPF_MAP_TYPE_LRU_HASH`, evicting the least
    /// recently used entry when full.
    LruHash,
    /// Ring buffer (`ringbuf<T>(bytes)`), for `reserve`/`submit` events.
    Ringbuf,
    /// The program array ksc generates for tail calls.
    ProgArray,
}

/// A BPF map declared by the program (`var m : hash<K, V>(1024)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    /// The name as declared: the C variable and the pinned file's name.
    pub name: String,
    /// The map type.
    pub kind: MapKind,
    /// Key type: `u32` for array maps; a placeholder `u32`, unused, for a
    /// ring buffer.
    pub key: TypeId,
    /// Value type (the event type for a ring buffer).
    pub value: TypeId,
    /// Maximum number of entries; for a ring buffer its size in bytes (a
    /// power of two, at least 4096).
    pub max_entries: u32,
    /// `@flags(...)`: the names as written and their combined value.
    pub flags: Vec<String>,
    /// The `BPF_F_*` values of `flags`, or-ed together.
    pub flags_value: u32,
    /// Pinned under `/sys/fs/bpf/<module>/maps/<name>`.
    pub pinned: bool,
    /// Further `name = value` items of the declaration.
    pub extra: Vec<MapOption>,
    /// The whole declaration.
    pub span: Span,
}

/// A further `name = value` item of a map declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapOption {
    /// The item's name as written.
    pub name: String,
    /// Its folded value.
    pub value: Value,
}

/// A constant value (initialisers, defaults, folded constants).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A value of a signed integer type or of an enum.
    Int(i64),
    /// A value of an unsigned integer type.
    UInt(u64),
    /// `true` or `false`.
    Bool(bool),
    /// A character, by its byte.
    Char(u8),
    /// Text (without its terminating NUL), of a `str(N)` or a pointer to text.
    Str(String),
    /// The null pointer.
    Null,
    /// Array elements, in index order.
    Array(Vec<Value>),
    /// `[v; n]`
    Repeat(Box<Value>, u32),
    /// Field values in declaration order.
    Struct(Vec<Value>),
    /// All bytes zero.
    Zero,
}

/// Who sees a global variable and where it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GlobalVisibility {
    /// Shared with userspace (in the skeleton).
    Shared,
    /// `local var`: kernel-only.
    Local,
    /// `pin var`: shared, and kept in the single-entry pinned-globals map.
    Pinned,
}

/// A global variable of the eBPF side (`var x: u32 = 0`), read and
/// written by eBPF code and, unless local, by userspace through the
/// skeleton.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Global {
    /// The name as declared (also its C name and skeleton field).
    pub name: String,
    /// Its type (declared, or inferred from the initial value).
    pub ty: TypeId,
    /// Initial value, folded to a constant; `None`: zero.
    pub init: Option<Value>,
    /// Shared, local or pinned.
    pub visibility: GlobalVisibility,
    /// The whole declaration.
    pub span: Span,
}

/// A `config name { ... }` block: settings userspace writes after loading
/// and eBPF code reads (`name.field`); C backends keep it in the
/// `.data.config_<name>` section as a `struct config_<name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The block's name.
    pub name: String,
    /// Fields in declaration order; [`ExprKind::ConfigField`] indexes them.
    pub fields: Vec<ConfigField>,
    /// The block's name in the declaration.
    pub span: Span,
}

/// One setting of a [`Config`] block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    /// The name as declared.
    pub name: String,
    /// Its type.
    pub ty: TypeId,
    /// The value before userspace sets it, folded; `None`: zero.
    pub default: Option<Value>,
}

/// A `@struct_ops` impl block: a kernel ops table (`tcp_congestion_ops`)
/// the program fills with eBPF functions and values, registered from
/// userspace with `register`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructOps {
    /// The impl block's name (what `register` takes).
    pub name: String,
    /// The kernel struct it implements (`tcp_congestion_ops`).
    pub ops_type: String,
    /// Member functions, by the field they fill.
    pub members: Vec<StructOpsMember>,
    /// Non-function fields (`name: "x"`). `name` defaults to the impl
    /// block's name.
    pub fields: Vec<StructOpsField>,
    /// The whole impl block.
    pub span: Span,
}

/// A function member of a `@struct_ops` impl block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructOpsMember {
    /// The kernel struct's function-pointer field it fills.
    pub field: String,
    /// The eBPF program ([`ProgramType::StructOps`]) that fills it.
    pub function: FnId,
}

/// A data field of a `@struct_ops` impl block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructOpsField {
    /// The kernel struct's field.
    pub name: String,
    /// Its value (a string, integer or bool).
    pub value: Value,
    /// The field's size in bytes in the kernel struct (from BTF).
    pub size: u32,
}

// ------------------------------------------------------------------ functions

/// Where a function runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    /// eBPF programs and `@helper`s: checked by the verifier.
    Ebpf,
    /// `@kfunc` and `@private`: a generated kernel module.
    KernelModule,
    /// Plain functions: the native userspace executable.
    Userspace,
}

/// The kind of an eBPF program: where the kernel runs it and which
/// section (`SEC("...")`) a C backend puts it in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProgramType {
    /// `@xdp`: runs on each packet a network device receives, before the
    /// kernel's stack (`SEC("xdp")`).
    Xdp,
    /// `@tc("ingress")` / `@tc("egress")`: a traffic-control classifier
    /// (`SEC("tc")`).
    Tc {
        /// Attached on the ingress hook; `false`: egress.
        ingress: bool,
    },
    /// `@tracepoint("category/event")` (`SEC("tracepoint/category/event")`).
    Tracepoint {
        /// The tracepoint's subsystem (`syscalls`, `sched`).
        category: String,
        /// The event in it (`sys_enter_openat`).
        event: String,
    },
    /// `@probe("f")` (offset `None`: function entry, typed parameters) or
    /// `@probe("f+N")` (a kprobe at an instruction offset).
    Probe {
        /// The kernel function probed.
        function: String,
        /// Byte offset into the function; `None`: its entry.
        offset: Option<u64>,
    },
    /// `@lsm("hook")`: a BPF LSM program (`SEC("lsm/hook")`).
    Lsm {
        /// The LSM hook's name (`file_open`).
        hook: String,
    },
    /// A member function of a `@struct_ops` impl block.
    StructOps {
        /// The impl block.
        ops: StructOpsId,
        /// The kernel struct's member the function fills.
        member: String,
    },
}

/// What a function is, from its attribute; with [`Domain`] it decides how
/// a backend writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FnKind {
    /// An eBPF program entry point.
    Program(ProgramType),
    /// `@helper`: shared eBPF code.
    Helper,
    /// `@kfunc`: a kernel function in the generated module, callable from eBPF.
    Kfunc,
    /// `@private`: module-internal.
    Private,
    /// `extern`: a kernel function that exists already (no body). When it
    /// re-declares a BPF helper (`extern bpf_ktime_get_ns() -> u64`),
    /// `helper` names it: the helper headers declare it, so a C backend
    /// declares nothing (calls still go through [`Callee::Function`]).
    Extern {
        /// The BPF helper this declaration re-declares, if any.
        helper: Option<HelperId>,
    },
    /// A plain userspace function (`main` included).
    Userspace,
    /// `@test`: a userspace test, run by `ksc test` instead of `main`.
    Test,
}

/// A parameter or local variable of a [`Function`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Local {
    /// The name as written (`__match` for the midend's `match` temporary);
    /// shadowing may repeat it within a function, so backends make their
    /// own names unique.
    pub name: String,
    /// Its type.
    pub ty: TypeId,
    /// Where it is declared (its name).
    pub span: Span,
}

/// A function of any kind and domain, with its locals and lowered body
/// (empty for an `extern`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// The name as declared: the C function (or program) name.
    pub name: String,
    /// Program, helper, kfunc, extern, userspace function or test.
    pub kind: FnKind,
    /// Where it runs, from its kind.
    pub domain: Domain,
    /// Parameters are the first `params` locals.
    pub params: u32,
    /// Return type ([`TypeKind::Void`] when nothing is returned).
    pub ret: TypeId,
    /// The named return value's local, if the function has one.
    pub ret_local: Option<LocalId>,
    /// Every local, indexed by [`LocalId`]: the parameters, then the
    /// variables of the body (the named return value included).
    pub locals: Vec<Local>,
    /// The statements of the body, lowered.
    pub body: Block,
    /// The whole declaration.
    pub span: Span,
}

impl Function {
    /// The parameters' [`LocalId`]s, in order.
    pub fn param_ids(&self) -> impl Iterator<Item = LocalId> {
        (0..self.params).map(LocalId)
    }
}

/// A sequence of statements: a scope for the locals it declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Statements in execution order.
    pub stmts: Vec<Stmt>,
}

/// A statement and where it is in the source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// What a statement does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    /// Declare a local, optionally initialised (otherwise zeroed).
    Let {
        /// The local declared.
        local: LocalId,
        /// Its initial value, of the local's type.
        init: Option<Expr>,
    },
    /// `place = value`; `place` is a local, global, config field, field,
    /// index or dereference.
    Assign {
        /// Where the value is stored.
        place: Expr,
        /// The value stored, of the place's type.
        value: Expr,
    },
    /// `place op= value` on a place that is not a map entry.
    CompoundAssign {
        /// The place read and written (evaluated once).
        place: Expr,
        /// The arithmetic or bitwise operator applied.
        op: BinOp,
        /// The right operand.
        value: Expr,
    },
    /// `m[k] = v`
    MapUpdate {
        /// `MapId` of the map this statement updates.
        map: MapId,
        /// The key, of the map's key type.
        key: Expr,
        /// The value stored, of the map's value type.
        value: Expr,
    },
    /// `m[k] op= v` or `m[k].f op= v` (`path`: field indices into the
    /// value): one lookup; updated in place when present, inserted from
    /// zero when absent.
    MapCompound {
        /// The map updated.
        map: MapId,
        /// The entry's key, of the map's key type.
        key: Expr,
        /// Field indices from the value to the place updated; empty: the
        /// value itself.
        path: Vec<u32>,
        /// The arithmetic or bitwise operator applied.
        op: BinOp,
        /// The right operand, of the updated place's type.
        value: Expr,
    },
    /// `delete m[k]`
    MapDelete {
        /// The map the entry is removed from.
        map: MapId,
        /// The key, of the map's key type.
        key: Expr,
    },
    /// An expression evaluated for its effect (a call); its value is dropped.
    Expr(Expr),
    /// `if (cond) { then } else { els }`.
    If {
        /// The condition: a `bool`, an integer or a pointer (true when not
        /// zero or null).
        cond: Expr,
        /// Run when `cond` holds.
        then: Block,
        /// Run otherwise; empty without `else`.
        els: Block,
    },
    /// `for (var in start..end)`: `end` excluded.
    ForRange {
        /// The loop variable, of the bounds' integer type.
        var: LocalId,
        /// The first value of `var`.
        start: Expr,
        /// The bound `var` stays below.
        end: Expr,
        /// Run once per value of `var`.
        body: Block,
    },
    /// `for (key, value) in map` (userspace only).
    ForEach {
        /// The map whose entries are visited.
        map: MapId,
        /// Local receiving each entry's key, of the map's key type.
        key: LocalId,
        /// Local receiving a copy of the entry's value, of the map's value type.
        value: LocalId,
        /// Run once per entry.
        body: Block,
    },
    /// `while (cond) { body }`.
    While {
        /// Tested before each iteration, as in [`StmtKind::If`].
        cond: Expr,
        /// The loop body.
        body: Block,
    },
    /// `loop { body }`: runs until a `break`, `return` or `throw`.
    Loop {
        /// The loop body.
        body: Block,
    },
    /// Leave the innermost loop.
    Break,
    /// Go to the next iteration of the innermost loop.
    Continue,
    /// Leave the function (after its deferred blocks), with its value
    /// unless the function returns `void`.
    Return(Option<Expr>),
    /// `return target(ctx)` between programs of one type: the program is
    /// replaced by `target` (slot `Analysis::tail_call_slots[slot]`). If the
    /// tail call fails, `fallback` is returned.
    TailCall {
        /// The program tail-called.
        target: FnId,
        /// Its index in [`Analysis::tail_call_slots`] (and the program array).
        slot: u32,
        /// The context passed on: the calling program's context parameter
        /// (local 0).
        ctx: Expr,
        /// Returned when the tail call fails, of the program's return type: a
        /// fail-safe constant the midend picks (`XDP_ABORTED` for XDP,
        /// `TC_ACT_SHOT` for TC, else 0).
        fallback: Expr,
    },
    /// `throw code`: an integer error code, caught by the innermost
    /// matching [`StmtKind::Try`] (see the crate docs).
    Throw(Expr),
    /// `try { body } catch ...`.
    Try {
        /// The statements whose throws are caught.
        body: Block,
        /// The handlers, tried in order; the first that matches runs.
        catches: Vec<Catch>,
    },
    /// `defer { ... }`: a block run when the function exits, deferred
    /// blocks last-in first-out (see the crate docs).
    Defer(Block),
    /// `{ ... }`: a nested scope.
    Block(Block),
}

/// One `catch` clause of a [`StmtKind::Try`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// `None` for `catch _`.
    pub value: Option<i64>,
    /// Run when a thrown code matches `value`.
    pub body: Block,
}

/// A binary operator of [`ExprKind::Binary`], [`StmtKind::CompoundAssign`]
/// and [`StmtKind::MapCompound`]. Arithmetic keeps the operands' integer
/// type and wraps at its width; comparisons and `&&`/`||` give `bool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    /// `+`: integer addition, or a pointer plus an element count.
    Add,
    /// `-`: integer subtraction, a pointer minus an element count, or the
    /// element count between two pointers.
    Sub,
    /// `*`: integer multiplication.
    Mul,
    /// `/`: integer division, truncating toward zero.
    Div,
    /// `%`: remainder of [`BinOp::Div`], with the dividend's sign.
    Rem,
    /// `&`: bitwise and.
    BitAnd,
    /// `|`: bitwise or.
    BitOr,
    /// `^`: bitwise exclusive or.
    BitXor,
    /// `<<`: left shift, keeping the left operand's type.
    Shl,
    /// `>>`: right shift, arithmetic on signed types, logical on unsigned.
    Shr,
    /// `==`: equal (integers, bools, pointers, or the text of two `str`s).
    Eq,
    /// `!=`: not equal, as [`BinOp::Eq`].
    Ne,
    /// `<`: less than.
    Lt,
    /// `<=`: less than or equal.
    Le,
    /// `>`: greater than.
    Gt,
    /// `>=`: greater than or equal.
    Ge,
    /// `&&`: logical and; `rhs` is evaluated only when `lhs` holds.
    And,
    /// `||`: logical or; `rhs` is evaluated only when `lhs` does not hold.
    Or,
}

/// A unary operator of [`ExprKind::Unary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    /// `!`: logical not, a `bool`.
    Not,
    /// `-`: two's complement negation, in the operand's type.
    Neg,
    /// `~`: bitwise complement, in the operand's type.
    BitNot,
}

/// An expression: what it computes, its type and where it is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// The type of its value, after the midend's conversions (explicit as
    /// [`ExprKind::Cast`]s).
    pub ty: TypeId,
    /// The source of the expression.
    pub span: Span,
}

/// What an [`ExprKind::Call`] calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Callee {
    /// A function of the module (never a program: those are tail-called or
    /// loaded), called directly.
    Function(FnId),
    /// A BPF helper (`bpf_ktime_get_ns`), by its number; [`helper`] gives
    /// its name and signature.
    BpfHelper(HelperId),
    /// A function built into the language (`load`, `htons`, ...).
    Builtin(Builtin),
    /// Through a function pointer.
    Pointer(Box<Expr>),
    /// A function of an imported Python module (userspace only). The
    /// signature is the call's: the arguments' types (integers, `bool`,
    /// `str(N)`) convert to Python, the result converts to the call's type
    /// (range-checked; `void` discards it). A Python exception, or a result
    /// that does not convert, throws [`PYTHON_ERROR`] (the analysis counts
    /// it among the function's throws).
    Python {
        /// The module, in [`Module::python_modules`].
        module: PyModuleId,
        /// The function's name in the module (a top-level `def`).
        function: String,
    },
}

/// The error code a failed Python call throws (built-in `PYTHON_ERROR`).
pub const PYTHON_ERROR: i64 = 0x7079;

/// An imported Python module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PyModule {
    /// The KernelScript name (`import name from ...`).
    pub name: String,
    /// The Python module name: the file's stem. At run time the bridge
    /// imports it from the executable's directory (the build copies the
    /// file there) or `$KSC_PYTHON_PATH`.
    pub module: String,
    /// The file on the compiling machine, as resolved from the importing
    /// file (the build copies it next to the executable).
    pub path: String,
    /// The `import` declaration.
    pub span: Span,
}

/// A function built into the language. `Load`, `Attach`, `Detach`,
/// `Register`, `Test` and `Sleep` exist in userspace only; the byte-order
/// conversions everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    /// `load(prog)`: load an eBPF program into the kernel; gives its
    /// [`TypeKind::ProgramHandle`].
    Load,
    /// `attach(handle, target, flags)`: attach a loaded program to its
    /// target (an interface, function or tracepoint name, or an interface
    /// index); gives 0 or an error (`i32`).
    Attach,
    /// `detach(handle)`: detach a program attached with `attach`.
    Detach,
    /// `register(impl)`: register a `@struct_ops` impl block with the
    /// kernel; gives 0 or an error (`i32`).
    Register,
    /// `test(prog, XdpTestContext { .. })`, in `@test` functions: run the
    /// program once in the kernel (`BPF_PROG_TEST_RUN`); gives its result.
    Test,
    /// `sleep(ms)`: pause for a `u32` number of milliseconds.
    Sleep,
    /// `htons(x)`: a `u16` from host to network (big-endian) byte order.
    Htons,
    /// `ntohs(x)`: a `u16` from network to host byte order.
    Ntohs,
    /// `htonl(x)`: a `u32` from host to network byte order.
    Htonl,
    /// `ntohl(x)`: a `u32` from network to host byte order.
    Ntohl,
}

/// One field of a [`ExprKind::StructLit`]: its index in the struct and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInit {
    /// Index into the struct's [`StructDef::fields`].
    pub field: u32,
    /// The field's value, of the field's type.
    pub value: Expr,
}

/// One arm of a [`ExprKind::Switch`]: taken when the scrutinee equals `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchArm {
    /// The constant compared with the scrutinee (an integer or enum value).
    pub value: i64,
    /// The `match` expression's value when this arm is taken.
    pub result: Expr,
}

/// A piece of a [`ExprKind::Print`] line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormatSegment {
    /// Text as it prints (`%%` already turned into `%`; escapes decoded).
    Text(String),
    /// `values[value]`, shown as `conv` says, padded as `spec` says.
    Value {
        /// Index into the `print`'s `values`.
        value: u32,
        /// How the value is shown.
        conv: FormatConv,
        /// Flags, width and precision.
        spec: FormatSpec,
    },
}

/// How a value prints. The midend picks it from the user's conversion and
/// the value's type; the writer picks the width modifier (`ll`) from the
/// type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormatConv {
    /// Decimal of a signed integer (`%d`, `%i`, or a list-style value).
    /// Also `bool` and enums, as `int`.
    Signed,
    /// Decimal of an unsigned integer (`%u`; `%d` of an unsigned value,
    /// which would otherwise show large values as negative).
    Unsigned,
    /// `%x` / `%X`.
    Hex {
        /// `%X`: digits `A`-`F` in upper case.
        upper: bool,
    },
    /// `%o`.
    Octal,
    /// `%c` of an integer, or a `char`: the character in userspace; eBPF
    /// prints its code (bpf_printk before 5.13 has no `%c`).
    Char,
    /// Text: a `str(N)` (its bytes), a `u8`/`char` array or a pointer to
    /// text, up to its NUL.
    Str,
    /// `%p`: an address.
    Pointer,
}

/// printf's flags, width and precision of one conversion (`%-08.3d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatSpec {
    /// `-`: pad on the right.
    pub left: bool,
    /// `+`: a sign on positive numbers too.
    pub plus: bool,
    /// ` `: a space where a `+` would go.
    pub space: bool,
    /// `#`: `0x` before hexadecimal, `0` before octal.
    pub alternate: bool,
    /// `0`: pad with zeros.
    pub zero: bool,
    /// Minimum width in characters, padded with spaces (or zeros).
    pub width: Option<u32>,
    /// `.N`: minimum digits of an integer; most bytes shown of text.
    pub precision: Option<u32>,
}

impl FormatSpec {
    /// The spec as printf writes it between `%` and the conversion.
    pub fn printf(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.left, '-'),
            (self.plus, '+'),
            (self.space, ' '),
            (self.alternate, '#'),
            (self.zero, '0'),
        ] {
            if on {
                s.push(c);
            }
        }
        if let Some(w) = self.width {
            s.push_str(&w.to_string());
        }
        if let Some(p) = self.precision {
            s.push('.');
            s.push_str(&p.to_string());
        }
        s
    }
}

/// What an expression computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// A constant (literal or folded), of the expression's type.
    Value(Value),
    /// A local variable or parameter of the current function (also a place).
    Local(LocalId),
    /// A global variable (also a place).
    Global(GlobalId),
    /// `config.field`: field `field` of [`Module::configs`]`[config]`.
    ConfigField {
        /// The `config` block.
        config: ConfigId,
        /// Index into its [`Config::fields`].
        field: u32,
    },
    /// A function used as a value (function pointer, program reference).
    FnRef(FnId),
    /// A `@struct_ops` impl block used as a value.
    StructOpsRef(StructOpsId),
    /// `op operand`.
    Unary {
        /// The operator.
        op: UnOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `lhs op rhs`, operands already converted to a common type. Pointer
    /// arithmetic `p + n` scales by the pointee size as in C.
    Binary {
        /// The operator.
        op: BinOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// Conversion of the operand to the expression's type: between
    /// integers, bools, enums and pointers (as in C), or a `str(N)` to a
    /// longer `str(M)` (zero-filled).
    Cast(Box<Expr>),
    /// A call; the expression's type is the callee's return type.
    Call {
        /// What is called.
        callee: Callee,
        /// The arguments, in parameter order.
        args: Vec<Expr>,
    },
    /// `base.field` (or `base->field` when `through_pointer`).
    Field {
        /// The struct, or a pointer to it when `through_pointer`.
        base: Box<Expr>,
        /// Index into the struct's [`StructDef::fields`].
        field: u32,
        /// `base` is a pointer to the struct (`->`).
        through_pointer: bool,
    },
    /// `base[index]`: an element of an array, a `char` of a `str(N)`, or
    /// an element through a pointer.
    Index {
        /// The array, string or pointer.
        base: Box<Expr>,
        /// The element's index, an integer.
        index: Box<Expr>,
    },
    /// `*p`: what the pointer points to (also a place).
    Deref(Box<Expr>),
    /// `&x`: the address of a place.
    AddrOf(Box<Expr>),
    /// `m[k]` kept as a pointer (`var p = m[k]`): null when the key is absent.
    MapLookup {
        /// The map looked up.
        map: MapId,
        /// The key, of the map's key type.
        key: Box<Expr>,
    },
    /// `m[k]` used as a value (`m[k] + 1`, `m[k].f`): the value, or zero
    /// when the key is absent.
    MapRead {
        /// The map read.
        map: MapId,
        /// The key, of the map's key type.
        key: Box<Expr>,
    },
    /// `S { a: x, b: y }`: the fields given (the rest are zero).
    StructLit(Vec<FieldInit>),
    /// `[a, b, c]`: the elements in index order.
    ArrayLit(Vec<Expr>),
    /// `[value; count]`: an array of `count` copies of `value`.
    ArrayRepeat {
        /// The element repeated.
        value: Box<Expr>,
        /// Number of elements.
        count: u32,
    },
    /// `cond ? then : els`, `if (cond) { then } else { els }`
    Select {
        /// The condition, as in [`StmtKind::If`].
        cond: Box<Expr>,
        /// The value when `cond` holds (only it is evaluated).
        then: Box<Expr>,
        /// The value otherwise (only it is evaluated).
        els: Box<Expr>,
    },
    /// `match`: the first arm whose value equals the scrutinee, else `default`.
    Switch {
        /// The value matched, an integer or enum.
        scrutinee: Box<Expr>,
        /// The arms, in source order.
        arms: Vec<SwitchArm>,
        /// The value when no arm matches (`_ =>`).
        default: Box<Expr>,
    },
    /// `print(...)`: one line of text and values. The midend has parsed
    /// the format and chosen each value's conversion from its type, so a
    /// backend writes the segments in order and parses nothing. The line
    /// ends after the last segment (bpf_printk adds the newline itself;
    /// userspace writers add `\n`). See docs/language.md, `print`.
    Print {
        /// The line's text and conversions, in order.
        segments: Vec<FormatSegment>,
        /// The values shown, in argument order; segments index them.
        values: Vec<Expr>,
    },
    /// `a + b + ...` on strings into a `str(N)` of the expression's type.
    StrConcat(Vec<Expr>),
    /// `rb.reserve()`: a pointer to a new event in the ring buffer (null
    /// when full); `size` in bytes for `ringbuf<u8>`.
    RingbufReserve {
        /// The ring buffer ([`MapKind::Ringbuf`]).
        map: MapId,
        /// Bytes to reserve, for `ringbuf<u8>` only; `None`: one event of
        /// the value type.
        size: Option<Box<Expr>>,
    },
    /// `rb.submit(p)` / `rb.discard(p)` of a reserved event.
    RingbufSubmit {
        /// The ring buffer the event was reserved in.
        map: MapId,
        /// The pointer [`ExprKind::RingbufReserve`] gave.
        ptr: Box<Expr>,
        /// Drop the event instead of publishing it.
        discard: bool,
    },
    /// `rb.submit(value)`: copy an event into the ring buffer.
    RingbufOutput {
        /// The ring buffer.
        map: MapId,
        /// The event, of the map's value type.
        value: Box<Expr>,
    },
    /// Userspace `rb.read()` / `rb.read(ms)`: a pointer to the next event
    /// (valid until the next read of this ring buffer), or null when none
    /// arrived, waiting up to `timeout_ms` when given.
    RingbufRead {
        /// The ring buffer read.
        map: MapId,
        /// Longest wait for an event, in milliseconds; `None`: take only an
        /// event already there.
        timeout_ms: Option<Box<Expr>>,
    },
}

impl Expr {
    /// The direct sub-expressions, in evaluation order.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        use ExprKind as K;
        match &self.kind {
            K::Unary { operand: a, .. } | K::Cast(a) | K::Deref(a) | K::AddrOf(a) => f(a),
            K::Field { base, .. } => f(base),
            K::Binary { lhs, rhs, .. }
            | K::Index {
                base: lhs,
                index: rhs,
            } => {
                f(lhs);
                f(rhs);
            }
            K::Call { callee, args } => {
                if let Callee::Pointer(p) = callee {
                    f(p);
                }
                args.iter().for_each(f);
            }
            K::MapLookup { key, .. } | K::MapRead { key, .. } => f(key),
            K::StructLit(fields) => fields.iter().for_each(|x| f(&x.value)),
            K::ArrayLit(xs) | K::StrConcat(xs) | K::Print { values: xs, .. } => {
                xs.iter().for_each(f)
            }
            K::ArrayRepeat { value, .. } => f(value),
            K::Select { cond, then, els } => {
                f(cond);
                f(then);
                f(els);
            }
            K::Switch {
                scrutinee,
                arms,
                default,
            } => {
                f(scrutinee);
                arms.iter().for_each(|a| f(&a.result));
                f(default);
            }
            K::RingbufReserve { size, .. } => {
                if let Some(s) = size {
                    f(s);
                }
            }
            K::RingbufSubmit { ptr, .. } => f(ptr),
            K::RingbufOutput { value, .. } => f(value),
            K::RingbufRead { timeout_ms, .. } => {
                if let Some(t) = timeout_ms {
                    f(t)
                }
            }
            K::Value(_)
            | K::Local(_)
            | K::Global(_)
            | K::ConfigField { .. }
            | K::FnRef(_)
            | K::StructOpsRef(_) => {}
        }
    }

    /// This expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        self.for_each_child(|c| c.walk(f));
    }
}

impl Stmt {
    /// The expressions directly in this statement (not in nested blocks).
    pub fn for_each_expr<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        use StmtKind as K;
        match &self.kind {
            K::Let { init: Some(e), .. } | K::Expr(e) | K::Return(Some(e)) | K::Throw(e) => f(e),
            K::Assign { place, value } | K::CompoundAssign { place, value, .. } => {
                f(place);
                f(value);
            }
            K::MapUpdate { key, value, .. } | K::MapCompound { key, value, .. } => {
                f(key);
                f(value);
            }
            K::MapDelete { key, .. } => f(key),
            K::If { cond, .. } | K::While { cond, .. } => f(cond),
            K::ForRange { start, end, .. } => {
                f(start);
                f(end);
            }
            K::TailCall { ctx, fallback, .. } => {
                f(ctx);
                f(fallback);
            }
            _ => {}
        }
    }

    /// The blocks nested directly in this statement.
    pub fn for_each_block<'a>(&'a self, mut f: impl FnMut(&'a Block)) {
        use StmtKind as K;
        match &self.kind {
            K::If { then, els, .. } => {
                f(then);
                f(els);
            }
            K::ForRange { body, .. }
            | K::ForEach { body, .. }
            | K::While { body, .. }
            | K::Loop { body }
            | K::Defer(body)
            | K::Block(body) => f(body),
            K::Try { body, catches } => {
                f(body);
                catches.iter().for_each(|c| f(&c.body));
            }
            _ => {}
        }
    }
}

impl Block {
    /// Every expression in this block and the blocks nested in it, deep.
    pub fn walk_exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        for s in &self.stmts {
            s.for_each_expr(|e| e.walk(f));
            s.for_each_block(|b| b.walk_exprs(f));
        }
    }
}

impl FnKind {
    /// The function's kind as written in KernelScript (`@xdp`,
    /// `@tc("ingress")`, `@helper`, `fn`, ...), for labels and messages.
    pub fn attribute(&self) -> String {
        match self {
            FnKind::Program(p) => match p {
                ProgramType::Xdp => "@xdp".into(),
                ProgramType::Tc { ingress } => {
                    format!("@tc(\"{}\")", if *ingress { "ingress" } else { "egress" })
                }
                ProgramType::Tracepoint { category, event } => {
                    format!("@tracepoint(\"{category}/{event}\")")
                }
                ProgramType::Probe { function, offset } => match offset {
                    Some(o) => format!("@probe(\"{function}+{o}\")"),
                    None => format!("@probe(\"{function}\")"),
                },
                ProgramType::Lsm { hook } => format!("@lsm(\"{hook}\")"),
                ProgramType::StructOps { member, .. } => format!("@struct_ops .{member}"),
            },
            FnKind::Helper => "@helper".into(),
            FnKind::Kfunc => "@kfunc".into(),
            FnKind::Private => "@private".into(),
            FnKind::Extern { .. } => "extern".into(),
            FnKind::Userspace => "fn".into(),
            FnKind::Test => "@test".into(),
        }
    }
}

impl BinOp {
    /// The operator as written (the same in KernelScript and C).
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let mut files = SourceMap::new();
        assert_eq!(files.add("a.ks", "ab\né x\n\nz"), FileId::MAIN);
        let b = files.add("b.ks", "one\ntwo");
        let at = |file, start| Span::new(file, start, start);
        assert_eq!(files.line_col(at(FileId::MAIN, 0)), (1, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 2)), (1, 3));
        assert_eq!(files.line_col(at(FileId::MAIN, 3)), (2, 1));
        // `é` is two bytes, one column.
        assert_eq!(files.line_col(at(FileId::MAIN, 6)), (2, 3));
        assert_eq!(files.line_col(at(FileId::MAIN, 8)), (3, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 9)), (4, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 99)), (4, 2));
        assert_eq!(files.line(at(b, 5)), 2);
        assert_eq!(files.name(b), "b.ks");
        assert_eq!(files.line_col(at(FileId(7), 0)), (0, 0));
    }

    #[test]
    fn source_map_round_trips_without_line_starts() {
        let files = SourceMap::single("p.ks", "x\ny\n");
        let text = ron::to_string(&files).unwrap();
        assert_eq!(text, r#"[(name:"p.ks",text:"x\ny\n")]"#);
        let back: SourceMap = ron::from_str(&text).unwrap();
        assert_eq!(back, files);
        assert_eq!(back.get(FileId::MAIN).unwrap().line_starts(), &[0, 2, 4]);
        let span = ron::to_string(&Span::new(FileId::MAIN, 1, 2)).unwrap();
        assert_eq!(span, "(file:0,start:1,end:2)");
    }
}
