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
    pub file: FileId,
    pub start: u32,
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

    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

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

    pub fn len(&self) -> usize {
        self.files.len()
    }

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
    pub version: u32,
    /// Project name (the source file's stem): names output files and the
    /// pin directory `/sys/fs/bpf/<name>/`.
    pub name: String,
    /// The source path as given to ksc (the name of [`FileId::MAIN`]).
    pub source_path: String,
    /// The source files, indexed by the [`FileId`] of every [`Span`]:
    /// names and texts, for line numbers and quoting the source.
    pub files: SourceMap,
    pub types: Vec<TypeDef>,
    pub maps: Vec<Map>,
    pub globals: Vec<Global>,
    pub configs: Vec<Config>,
    pub functions: Vec<Function>,
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
    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.index()]
    }

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    pub kind: TypeKind,
    /// Size in bytes as laid out in C (0 for `void` and function types).
    pub size: u32,
    pub align: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntType {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

impl IntType {
    pub fn bits(self) -> u32 {
        match self {
            IntType::U8 | IntType::I8 => 8,
            IntType::U16 | IntType::I16 => 16,
            IntType::U32 | IntType::I32 => 32,
            IntType::U64 | IntType::I64 => 64,
        }
    }

    pub fn signed(self) -> bool {
        matches!(
            self,
            IntType::I8 | IntType::I16 | IntType::I32 | IntType::I64
        )
    }

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TypeKind {
    Void,
    Bool,
    /// One byte of text.
    Char,
    Int(IntType),
    /// `str(N)`: N bytes of text, NUL-terminated when shorter.
    Str(u32),
    Pointer(TypeId),
    Array(TypeId, u32),
    /// `[T]` behind a pointer: elements of unknown count.
    Slice(TypeId),
    Struct(StructDef),
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub ty: TypeId,
    pub offset: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumDef {
    pub name: String,
    pub repr: IntType,
    pub variants: Vec<EnumVariant>,
    /// Declared by the kernel headers (`xdp_action`).
    pub kernel: bool,
}

/// One variant of an [`EnumDef`]: its name and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumVariant {
    pub name: String,
    pub value: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnSig {
    pub params: Vec<TypeId>,
    pub ret: TypeId,
}

// ------------------------------------------------------------------ shared state

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapKind {
    Hash,
    Array,
    PercpuHash,
    PercpuArray,
    LruHash,
    /// Ring buffer (`ringbuf<T>(bytes)`), for `reserve`/`submit` events.
    Ringbuf,
    /// The program array ksc generates for tail calls.
    ProgArray,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    pub name: String,
    pub kind: MapKind,
    pub key: TypeId,
    pub value: TypeId,
    pub max_entries: u32,
    /// `@flags(...)`: the names as written and their combined value.
    pub flags: Vec<String>,
    pub flags_value: u32,
    /// Pinned under `/sys/fs/bpf/<module>/maps/<name>`.
    pub pinned: bool,
    /// Further `name = value` items of the declaration.
    pub extra: Vec<MapOption>,
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
    Int(i64),
    UInt(u64),
    Bool(bool),
    Char(u8),
    Str(String),
    Null,
    Array(Vec<Value>),
    /// `[v; n]`
    Repeat(Box<Value>, u32),
    /// Field values in declaration order.
    Struct(Vec<Value>),
    /// All bytes zero.
    Zero,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GlobalVisibility {
    /// Shared with userspace (in the skeleton).
    Shared,
    /// `local var`: kernel-only.
    Local,
    /// `pin var`: shared, and kept in the single-entry pinned-globals map.
    Pinned,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Global {
    pub name: String,
    pub ty: TypeId,
    pub init: Option<Value>,
    pub visibility: GlobalVisibility,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub name: String,
    pub fields: Vec<ConfigField>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: String,
    pub ty: TypeId,
    pub default: Option<Value>,
}

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProgramType {
    Xdp,
    Tc {
        ingress: bool,
    },
    Tracepoint {
        category: String,
        event: String,
    },
    /// `@probe("f")` (offset `None`: function entry, typed parameters) or
    /// `@probe("f+N")` (a kprobe at an instruction offset).
    Probe {
        function: String,
        offset: Option<u64>,
    },
    Lsm {
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
    Extern { helper: Option<HelperId> },
    /// A plain userspace function (`main` included).
    Userspace,
    /// `@test`
    Test,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Local {
    pub name: String,
    pub ty: TypeId,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub kind: FnKind,
    pub domain: Domain,
    /// Parameters are the first `params` locals.
    pub params: u32,
    pub ret: TypeId,
    /// The named return value's local, if the function has one.
    pub ret_local: Option<LocalId>,
    pub locals: Vec<Local>,
    pub body: Block,
    pub span: Span,
}

impl Function {
    pub fn param_ids(&self) -> impl Iterator<Item = LocalId> {
        (0..self.params).map(LocalId)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    /// Declare a local, optionally initialised (otherwise zeroed).
    Let {
        local: LocalId,
        init: Option<Expr>,
    },
    /// `place = value`; `place` is a local, global, config field, field,
    /// index or dereference.
    Assign {
        place: Expr,
        value: Expr,
    },
    /// `place op= value` on a place that is not a map entry.
    CompoundAssign {
        place: Expr,
        op: BinOp,
        value: Expr,
    },
    /// `m[k] = v`
    MapUpdate {
        map: MapId,
        key: Expr,
        value: Expr,
    },
    /// `m[k] op= v` or `m[k].f op= v` (`path`: field indices into the
    /// value): one lookup; updated in place when present, inserted from
    /// zero when absent.
    MapCompound {
        map: MapId,
        key: Expr,
        path: Vec<u32>,
        op: BinOp,
        value: Expr,
    },
    /// `delete m[k]`
    MapDelete {
        map: MapId,
        key: Expr,
    },
    Expr(Expr),
    If {
        cond: Expr,
        then: Block,
        els: Block,
    },
    /// `for (var in start..end)`: `end` excluded.
    ForRange {
        var: LocalId,
        start: Expr,
        end: Expr,
        body: Block,
    },
    /// `for (key, value) in map`
    ForEach {
        map: MapId,
        key: LocalId,
        value: LocalId,
        body: Block,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Loop {
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// `return target(ctx)` between programs of one type: the program is
    /// replaced by `target` (slot `Analysis::tail_call_slots[slot]`). If the
    /// tail call fails, `fallback` is returned.
    TailCall {
        target: FnId,
        slot: u32,
        ctx: Expr,
        fallback: Expr,
    },
    Throw(Expr),
    Try {
        body: Block,
        catches: Vec<Catch>,
    },
    Defer(Block),
    Block(Block),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// `None` for `catch _`.
    pub value: Option<i64>,
    pub body: Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    Not,
    Neg,
    BitNot,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: TypeId,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Callee {
    Function(FnId),
    /// A BPF helper (`bpf_ktime_get_ns`), by its number; [`helper`] gives
    /// its name and signature.
    BpfHelper(HelperId),
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
        module: PyModuleId,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    Load,
    Attach,
    Detach,
    Register,
    Test,
    Sleep,
    /// Byte order: host to network and back.
    Htons,
    Ntohs,
    Htonl,
    Ntohl,
}

/// One field of a [`ExprKind::StructLit`]: its index in the struct and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInit {
    pub field: u32,
    pub value: Expr,
}

/// One arm of a [`ExprKind::Switch`]: taken when the scrutinee equals `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchArm {
    pub value: i64,
    pub result: Expr,
}

/// A piece of a [`ExprKind::Print`] line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormatSegment {
    /// Text as it prints (`%%` already turned into `%`; escapes decoded).
    Text(String),
    /// `values[value]`, shown as `conv` says, padded as `spec` says.
    Value {
        value: u32,
        conv: FormatConv,
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
    Hex { upper: bool },
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
    pub width: Option<u32>,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Value(Value),
    Local(LocalId),
    Global(GlobalId),
    /// `config.field`: field `field` of [`Module::configs`]`[config]`.
    ConfigField {
        config: ConfigId,
        field: u32,
    },
    /// A function used as a value (function pointer, program reference).
    FnRef(FnId),
    /// A `@struct_ops` impl block used as a value.
    StructOpsRef(StructOpsId),
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Pointer arithmetic `p + n` scales by the pointee size as in C.
    Cast(Box<Expr>),
    Call {
        callee: Callee,
        args: Vec<Expr>,
    },
    /// `base.field` (or `base->field` when `through_pointer`).
    Field {
        base: Box<Expr>,
        field: u32,
        through_pointer: bool,
    },
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    Deref(Box<Expr>),
    AddrOf(Box<Expr>),
    /// `m[k]` kept as a pointer (`var p = m[k]`): null when the key is absent.
    MapLookup {
        map: MapId,
        key: Box<Expr>,
    },
    /// `m[k]` used as a value (`m[k] + 1`, `m[k].f`): the value, or zero
    /// when the key is absent.
    MapRead {
        map: MapId,
        key: Box<Expr>,
    },
    /// `S { a: x, b: y }`: the fields given (the rest are zero).
    StructLit(Vec<FieldInit>),
    ArrayLit(Vec<Expr>),
    ArrayRepeat {
        value: Box<Expr>,
        count: u32,
    },
    /// `cond ? then : els`, `if (cond) { then } else { els }`
    Select {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `match`: the first arm whose value equals the scrutinee, else `default`.
    Switch {
        scrutinee: Box<Expr>,
        arms: Vec<SwitchArm>,
        default: Box<Expr>,
    },
    /// `print(...)`: one line of text and values. The midend has parsed
    /// the format and chosen each value's conversion from its type, so a
    /// backend writes the segments in order and parses nothing. The line
    /// ends after the last segment (bpf_printk adds the newline itself;
    /// userspace writers add `\n`). See docs/language.md, `print`.
    Print {
        segments: Vec<FormatSegment>,
        values: Vec<Expr>,
    },
    /// `a + b + ...` on strings into a `str(N)` of the expression's type.
    StrConcat(Vec<Expr>),
    /// `rb.reserve()`: a pointer to a new event in the ring buffer (null
    /// when full); `size` in bytes for `ringbuf<u8>`.
    RingbufReserve {
        map: MapId,
        size: Option<Box<Expr>>,
    },
    /// `rb.submit(p)` / `rb.discard(p)` of a reserved event.
    RingbufSubmit {
        map: MapId,
        ptr: Box<Expr>,
        discard: bool,
    },
    /// `rb.submit(value)`: copy an event into the ring buffer.
    RingbufOutput {
        map: MapId,
        value: Box<Expr>,
    },
    /// Userspace `rb.read()` / `rb.read(ms)`: a pointer to the next event
    /// (valid until the next read of this ring buffer), or null when none
    /// arrived, waiting up to `timeout_ms` when given.
    RingbufRead {
        map: MapId,
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
