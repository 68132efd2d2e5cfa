//! A small, defensive reader for the kernel's BPF Type Format (BTF).
//!
//! Reads raw BTF (as exposed in `/sys/kernel/btf/vmlinux`, not ELF `.BTF`
//! sections) and answers the two questions the compiler needs:
//!
//! * the memory layout of a kernel struct/union ([`Btf::find_struct`]), e.g.
//!   `trace_event_raw_sys_enter` or `tcp_congestion_ops`;
//! * the prototype of a kernel function ([`Btf::find_func`]), e.g. `vfs_read`
//!   for `@probe("vfs_read")` parameter checking.
//!
//! Parsing validates every length, string offset and type reference up
//! front, so [`Btf::from_bytes`] returns `Err` on malformed input instead of
//! panicking, and later look-ups only ever see in-range data. Type resolution
//! is bounded by a nesting-depth limit and a per-look-up node budget, so
//! cyclic or pathological type graphs cannot hang or overflow the stack.
//!
//! Split BTF (a kernel module's, whose type ids and string offsets continue
//! those of vmlinux) is read on top of its base with [`Btf::from_split`];
//! [`Btf::from_bytes`] rejects it, as it references ids that are not in
//! the blob.

use std::collections::HashMap;
use std::fmt;

/// Where the running kernel exposes its own BTF.
const VMLINUX_PATH: &str = "/sys/kernel/btf/vmlinux";
/// `BTF_MAGIC`, stored little-endian as the bytes `9f eb`.
const BTF_MAGIC: u16 = 0xeb9f;
/// The only BTF version defined so far.
const BTF_VERSION: u8 = 1;
/// Size of `struct btf_header` (magic, version, flags, hdr_len and four
/// section offset/length words).
const HEADER_MIN_LEN: usize = 24;
/// Size of `struct btf_type` (name_off, info, size/type).
const TYPE_HEADER_LEN: usize = 12;
/// Maximum nesting of type resolution (modifier chains, pointers, arrays,
/// anonymous structs). Real kernel types stay far below this.
const MAX_DEPTH: u32 = 48;
/// Maximum number of type nodes produced by a single look-up; protects
/// against exponential blow-up on adversarial input.
const NODE_BUDGET: u32 = 100_000;

// BTF_KIND_* values.
const KIND_INT: u8 = 1;
const KIND_PTR: u8 = 2;
const KIND_ARRAY: u8 = 3;
const KIND_STRUCT: u8 = 4;
const KIND_UNION: u8 = 5;
const KIND_ENUM: u8 = 6;
const KIND_FWD: u8 = 7;
const KIND_TYPEDEF: u8 = 8;
const KIND_VOLATILE: u8 = 9;
const KIND_CONST: u8 = 10;
const KIND_RESTRICT: u8 = 11;
const KIND_FUNC: u8 = 12;
const KIND_FUNC_PROTO: u8 = 13;
const KIND_VAR: u8 = 14;
const KIND_DATASEC: u8 = 15;
const KIND_FLOAT: u8 = 16;
const KIND_DECL_TAG: u8 = 17;
const KIND_TYPE_TAG: u8 = 18;
const KIND_ENUM64: u8 = 19;

// BTF_INT_* encoding bits.
const INT_SIGNED: u32 = 1;
const INT_BOOL: u32 = 4;

/// A resolved BTF type.
///
/// Typedefs and `const`/`volatile`/`restrict`/type-tag modifiers are
/// stripped during resolution. An anonymous struct, union or enum reached
/// through a typedef takes the typedef's name (e.g. `atomic_t`).
#[derive(Clone, Debug, PartialEq)]
pub enum BtfType {
    /// An integer; `name` is the base C name (e.g. `long long unsigned int`).
    Int {
        name: String,
        bits: u32,
        signed: bool,
    },
    /// An 8-bit integer named `char`.
    Char,
    /// A BTF `BOOL`-encoded integer (`_Bool`).
    Bool,
    /// `void` (type id 0).
    Void,
    /// A pointer. The pointee is resolved shallowly: a pointer to a struct
    /// or union is `Pointer(Struct(..))` with the name and size but no
    /// fields.
    Pointer(Box<BtfType>),
    /// An array of `n` elements (`n` is 0 for flexible array members).
    Array(Box<BtfType>, u32),
    /// A struct or union (see [`StructLayout::is_union`]). A forward
    /// declaration is a struct/union of size 0 without fields.
    Struct(StructLayout),
    /// An enum (32-bit `ENUM` or 64-bit `ENUM64`).
    Enum {
        name: String,
        size: u32,
        values: Vec<(String, i64)>,
    },
    /// A function prototype. A variadic prototype ends with the parameter
    /// `("...", Void)`.
    FuncProto {
        params: Vec<(String, BtfType)>,
        ret: Box<BtfType>,
    },
    /// Anything else (floats, variables, data sections, declaration tags)
    /// or a type that could not be resolved, with a short description.
    Unknown(String),
}

/// The layout of a struct or union.
#[derive(Clone, Debug, PartialEq)]
pub struct StructLayout {
    /// The struct name; empty for an anonymous struct.
    pub name: String,
    /// Size in bytes.
    pub size: u32,
    /// `true` for a union.
    pub is_union: bool,
    /// Members in declaration order (empty when not expanded).
    pub fields: Vec<BtfField>,
}

/// One member of a struct or union.
#[derive(Clone, Debug, PartialEq)]
pub struct BtfField {
    /// The member name; empty for an anonymous struct/union member.
    pub name: String,
    /// Offset from the start of the enclosing struct, in bits.
    pub offset_bits: u32,
    /// Width of a bitfield in bits, or 0 if the member is not a bitfield.
    pub bitfield_size: u32,
    /// The member's type.
    pub ty: BtfType,
}

/// One entry of the type section, kept raw; kind-specific data is decoded
/// on demand from `Btf::type_data` at `extra`.
#[derive(Clone, Copy, Debug)]
struct RawType {
    name_off: u32,
    info: u32,
    size_or_type: u32,
    /// Offset of the kind-specific data within the type section.
    extra: usize,
}

impl RawType {
    fn kind(&self) -> u8 {
        ((self.info >> 24) & 0x1f) as u8
    }

    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    fn kind_flag(&self) -> bool {
        self.info >> 31 != 0
    }
}

/// Parsed BTF: the raw type table, the string section and name indexes for
/// structs/unions and functions.
pub struct Btf {
    /// `types[i]` is type id `i + 1` (id 0 is `void`).
    types: Vec<RawType>,
    /// The type section.
    type_data: Vec<u8>,
    /// The string section.
    strings: Vec<u8>,
    /// Struct/union name -> type id.
    structs: HashMap<String, u32>,
    /// Function name -> `BTF_KIND_FUNC` type id.
    funcs: HashMap<String, u32>,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("types", &self.types.len())
            .field("strings_len", &self.strings.len())
            .field("structs", &self.structs.len())
            .field("funcs", &self.funcs.len())
            .finish()
    }
}

fn le16(buf: &[u8], off: usize) -> Option<u16> {
    let bytes = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

fn le32(buf: &[u8], off: usize) -> Option<u32> {
    let bytes = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// The NUL-terminated string at `off` (lossily decoded), or `""` if `off`
/// is out of range.
fn c_str(strings: &[u8], off: u32) -> String {
    let tail = match strings.get(off as usize..) {
        Some(tail) => tail,
        None => return String::new(),
    };
    let bytes = tail.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(bytes).into_owned()
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_INT => "int",
        KIND_PTR => "ptr",
        KIND_ARRAY => "array",
        KIND_STRUCT => "struct",
        KIND_UNION => "union",
        KIND_ENUM => "enum",
        KIND_FWD => "fwd",
        KIND_TYPEDEF => "typedef",
        KIND_VOLATILE => "volatile",
        KIND_CONST => "const",
        KIND_RESTRICT => "restrict",
        KIND_FUNC => "func",
        KIND_FUNC_PROTO => "func_proto",
        KIND_VAR => "var",
        KIND_DATASEC => "datasec",
        KIND_FLOAT => "float",
        KIND_DECL_TAG => "decl_tag",
        KIND_TYPE_TAG => "type_tag",
        KIND_ENUM64 => "enum64",
        _ => "unknown",
    }
}

/// Returns the `[off, off + len)` section that starts after the header.
fn section<'a>(
    data: &'a [u8],
    hdr_len: usize,
    off: u32,
    len: u32,
    what: &str,
) -> Result<&'a [u8], String> {
    let start = hdr_len.checked_add(off as usize);
    let end = start.and_then(|s| s.checked_add(len as usize));
    match (start, end) {
        (Some(start), Some(end)) if end <= data.len() => data
            .get(start..end)
            .ok_or_else(|| format!("BTF {what} section is out of range")),
        _ => Err(format!(
            "BTF {what} section (offset {off}, length {len}) extends past the end of the data \
             ({} bytes after a {hdr_len}-byte header)",
            data.len().saturating_sub(hdr_len)
        )),
    }
}

/// Reads a `u32` inside the type section at `off` (already bounds-checked
/// while parsing; out-of-range reads yield 0 instead of panicking).
fn field32(data: &[u8], off: usize) -> u32 {
    le32(data, off).unwrap_or(0)
}

/// The contents of section `name` of a 64-bit little-endian ELF file,
/// bounds-checked (`None` for anything else).
fn elf_section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let le64 = |off: usize| -> Option<u64> {
        Some(u64::from_le_bytes(elf.get(off..off + 8)?.try_into().ok()?))
    };
    // ELFCLASS64, ELFDATA2LSB
    if elf.get(4) != Some(&2) || elf.get(5) != Some(&1) {
        return None;
    }
    let shoff = usize::try_from(le64(0x28)?).ok()?;
    let shentsize = usize::from(le16(elf, 0x3a)?);
    let shnum = usize::from(le16(elf, 0x3c)?);
    let shstrndx = usize::from(le16(elf, 0x3e)?);
    let header = |i: usize| -> Option<(u32, usize, usize)> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let off = usize::try_from(le64(h + 0x18)?).ok()?;
        let size = usize::try_from(le64(h + 0x20)?).ok()?;
        Some((le32(elf, h)?, off, size))
    };
    let (_, str_off, str_size) = header(shstrndx)?;
    let names = elf.get(str_off..str_off.checked_add(str_size)?)?;
    (0..shnum).find_map(|i| {
        let (n, off, size) = header(i)?;
        (c_str(names, n) == name).then_some(())?;
        elf.get(off..off.checked_add(size)?)
    })
}

/// The type and string sections of raw BTF, after checking its header.
fn sections(data: &[u8]) -> Result<(&[u8], &[u8]), String> {
    if data.len() < HEADER_MIN_LEN {
        return Err(format!(
            "BTF data too short: {} bytes, the header alone needs {HEADER_MIN_LEN}",
            data.len()
        ));
    }
    let magic = le16(data, 0).unwrap_or(0);
    if magic != BTF_MAGIC {
        if magic == BTF_MAGIC.swap_bytes() {
            return Err("big-endian BTF is not supported".to_string());
        }
        return Err(format!(
            "not BTF data: bad magic {magic:#06x} (expected {BTF_MAGIC:#06x})"
        ));
    }
    let version = data.get(2).copied().unwrap_or(0);
    if version != BTF_VERSION {
        return Err(format!("unsupported BTF version {version}"));
    }
    let word = |off: usize| le32(data, off).unwrap_or(0);
    let hdr_len = word(4) as usize;
    if hdr_len < HEADER_MIN_LEN || hdr_len > data.len() {
        return Err(format!(
            "bad BTF header length {hdr_len} (data is {} bytes)",
            data.len()
        ));
    }
    let type_sec = section(data, hdr_len, word(8), word(12), "type")?;
    let str_sec = section(data, hdr_len, word(16), word(20), "string")?;
    Ok((type_sec, str_sec))
}

/// The running kernel's BTF, read once per process: a language server
/// checks on every edit, and the kernel's BTF does not change under it.
static VMLINUX: std::sync::OnceLock<Result<Btf, String>> = std::sync::OnceLock::new();

impl Btf {
    /// The running kernel's BTF ([`Btf::load_vmlinux`]), loaded on first
    /// use and shared by every later check.
    pub fn vmlinux() -> &'static Result<Btf, String> {
        VMLINUX.get_or_init(Btf::load_vmlinux)
    }

    /// The BTF the checks read: `$KSC_BTF`'s file when it is set (another
    /// kernel's raw BTF, to check a program for the kernel it will run on
    /// rather than the machine building it), else the running kernel's;
    /// each file loaded once per process. The path is returned when
    /// `$KSC_BTF` chose it.
    pub fn for_checks() -> (&'static Result<Btf, String>, Option<std::path::PathBuf>) {
        type Loaded = HashMap<std::path::PathBuf, &'static Result<Btf, String>>;
        static BY_PATH: std::sync::Mutex<Option<Loaded>> = std::sync::Mutex::new(None);
        match std::env::var_os("KSC_BTF") {
            Some(p) if !p.is_empty() => {
                let path = std::path::PathBuf::from(p);
                let mut loaded = BY_PATH.lock().unwrap_or_else(|e| e.into_inner());
                let btf = *loaded
                    .get_or_insert_with(HashMap::new)
                    .entry(path.clone())
                    .or_insert_with(|| Box::leak(Box::new(Btf::load_file(&path))));
                (btf, Some(path))
            }
            _ => (Btf::vmlinux(), None),
        }
    }

    /// Loads the running kernel's BTF from `/sys/kernel/btf/vmlinux`.
    /// With `$KSC_NO_HOST_BTF` set (non-empty), fails as on a machine
    /// without it: how the checker's tests show they never read it.
    pub fn load_vmlinux() -> Result<Btf, String> {
        if std::env::var_os("KSC_NO_HOST_BTF").is_some_and(|v| !v.is_empty()) {
            return Err(format!(
                "kernel BTF not available: KSC_NO_HOST_BTF hides {VMLINUX_PATH}"
            ));
        }
        let data = std::fs::read(VMLINUX_PATH).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "kernel BTF not available: {VMLINUX_PATH} does not exist \
                     (is the kernel built with CONFIG_DEBUG_INFO_BTF=y?)"
                )
            } else {
                format!("cannot read kernel BTF from {VMLINUX_PATH}: {e}")
            }
        })?;
        Btf::from_bytes(&data).map_err(|e| format!("{VMLINUX_PATH}: {e}"))
    }

    /// Loads raw BTF from a file (another kernel's `/sys/kernel/btf/vmlinux`,
    /// copied, or one extracted with `bpftool btf dump file X format raw`).
    pub fn load_file(path: &std::path::Path) -> Result<Btf, String> {
        let data = std::fs::read(path)
            .map_err(|e| format!("cannot read BTF from {}: {e}", path.display()))?;
        Btf::from_bytes(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses raw BTF. Never panics; malformed input yields `Err`.
    pub fn from_bytes(data: &[u8]) -> Result<Btf, String> {
        let (types, strings) = sections(data)?;
        Btf::from_sections(types.to_vec(), strings.to_vec())
    }

    /// Parses split BTF, a kernel module's (`/sys/kernel/btf/<module>`),
    /// on top of its base, the kernel's (`/sys/kernel/btf/vmlinux`). Split
    /// BTF continues the base: its type ids follow the base's last, and
    /// its string offsets count from the start of the base's strings, so
    /// the two sections laid end to end read as one self-contained BTF.
    pub fn from_split(base: &[u8], split: &[u8]) -> Result<Btf, String> {
        let (base_types, base_strings) = sections(base).map_err(|e| format!("base BTF: {e}"))?;
        let (types, strings) = sections(split)?;
        Btf::from_sections(
            [base_types, types].concat(),
            [base_strings, strings].concat(),
        )
    }

    fn from_sections(type_data: Vec<u8>, strings: Vec<u8>) -> Result<Btf, String> {
        let mut btf = Btf {
            types: Vec::with_capacity(type_data.len() / 24),
            type_data,
            strings,
            structs: HashMap::new(),
            funcs: HashMap::new(),
        };
        btf.parse_types()?;
        btf.build_index();
        Ok(btf)
    }

    /// Looks up a struct or union by name, with its members resolved.
    ///
    /// Member types have typedefs and modifiers stripped. A member whose
    /// type is a named struct/union is expanded one level (it carries its
    /// own fields, whose struct-typed members are name-only); anonymous
    /// struct/union members are always expanded. Pointers to structs are
    /// never expanded.
    pub fn find_struct(&self, name: &str) -> Option<StructLayout> {
        let id = *self.structs.get(name)?;
        let mut resolver = Resolver::new(self);
        match resolver.resolve(id, 0, Expand::Levels(2)) {
            BtfType::Struct(layout) => Some(layout),
            _ => None,
        }
    }

    /// Looks up a kernel function (`BTF_KIND_FUNC`) and returns its
    /// parameters (name, type) and return type.
    pub fn find_func(&self, name: &str) -> Option<(Vec<(String, BtfType)>, BtfType)> {
        let id = *self.funcs.get(name)?;
        let func = self.raw(id)?;
        let mut resolver = Resolver::new(self);
        match resolver.resolve(func.size_or_type, 0, Expand::Levels(0)) {
            BtfType::FuncProto { params, ret } => Some((params, *ret)),
            _ => None,
        }
    }

    /// Whether a struct or union with this name is defined (forward
    /// declarations do not count).
    pub fn has_struct(&self, name: &str) -> bool {
        self.structs.contains_key(name)
    }

    /// Whether a function (`BTF_KIND_FUNC`) of this name exists.
    pub fn has_func(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// The names of all kernel functions (`BTF_KIND_FUNC`).
    pub fn func_names(&self) -> impl Iterator<Item = &str> {
        self.funcs.keys().map(String::as_str)
    }

    /// The names of all defined structs and unions.
    pub fn struct_names(&self) -> impl Iterator<Item = &str> {
        self.structs.keys().map(String::as_str)
    }

    /// The names of typedefs starting with `prefix` (e.g. `btf_trace_`: one
    /// per tracepoint of the kernel), sorted.
    pub fn typedefs_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .types
            .iter()
            .filter(|t| t.kind() == KIND_TYPEDEF && t.name_off != 0)
            .map(|t| self.name(t.name_off))
            .filter(|n| n.starts_with(prefix))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The kfuncs: functions carrying the declaration tag `bpf_kfunc` (the
    /// kernel's `__bpf_kfunc` annotation, in BTF since 6.2), sorted. Which
    /// program types may call each is not in this BTF (the kernel keeps
    /// its kfunc sets in vmlinux's `.BTF_ids` ELF section).
    pub fn kfuncs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .types
            .iter()
            .filter(|t| {
                t.kind() == KIND_DECL_TAG
                    && self.name(t.name_off) == "bpf_kfunc"
                    && field32(&self.type_data, t.extra) == u32::MAX
            })
            .filter_map(|t| self.raw(t.size_or_type))
            .filter(|f| f.kind() == KIND_FUNC)
            .map(|f| self.name(f.name_off))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether a kernel enum named `enum_name` has an enumerator `value`
    /// (`bpf_func_id`'s `BPF_FUNC_loop`): how a kernel's BTF says it has a
    /// helper, map type or program type (`ir::kernels::BtfProbe`).
    pub fn has_enumerator(&self, enum_name: &str, value: &str) -> bool {
        self.types.iter().any(|t| {
            let stride = match t.kind() {
                KIND_ENUM => 8,
                KIND_ENUM64 => 12,
                _ => return false,
            };
            self.name(t.name_off) == enum_name
                && (0..t.vlen())
                    .any(|i| self.name(field32(&self.type_data, t.extra + i * stride)) == value)
        })
    }

    /// Loads BTF from raw BTF or from the `.BTF` section of an ELF file
    /// (a kernel's `vmlinux`: a build tree's, or Debian's `-dbg` one).
    pub fn load_raw_or_elf(path: &std::path::Path) -> Result<Btf, String> {
        let data = std::fs::read(path)
            .map_err(|e| format!("cannot read BTF from {}: {e}", path.display()))?;
        let raw = if data.starts_with(b"\x7fELF") {
            elf_section(&data, ".BTF")
                .ok_or_else(|| format!("{} has no .BTF section", path.display()))?
        } else {
            &data[..]
        };
        Btf::from_bytes(raw).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The raw type with this id (`None` for void or out-of-range ids).
    fn raw(&self, id: u32) -> Option<RawType> {
        let index = (id as usize).checked_sub(1)?;
        self.types.get(index).copied()
    }

    fn name(&self, off: u32) -> String {
        c_str(&self.strings, off)
    }

    /// Walks the type section, recording each type and validating its
    /// kind, length, string offsets and type references.
    fn parse_types(&mut self) -> Result<(), String> {
        let data = &self.type_data;
        let str_len = self.strings.len();
        let check_name = |off: u32, id: usize| -> Result<(), String> {
            if off != 0 && off as usize >= str_len {
                Err(format!(
                    "type id {id}: name offset {off} is outside the string section ({str_len} bytes)"
                ))
            } else {
                Ok(())
            }
        };
        let mut max_ref: u32 = 0;
        let mut pos = 0usize;
        while pos < data.len() {
            let id = self.types.len() + 1;
            if id > u32::MAX as usize {
                return Err("too many BTF types".to_string());
            }
            let header = data
                .get(pos..pos + TYPE_HEADER_LEN)
                .ok_or_else(|| format!("type id {id}: truncated type header at offset {pos}"))?;
            let raw = RawType {
                name_off: field32(header, 0),
                info: field32(header, 4),
                size_or_type: field32(header, 8),
                extra: pos + TYPE_HEADER_LEN,
            };
            let kind = raw.kind();
            let vlen = raw.vlen();
            let extra_len = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                _ => return Err(format!("type id {id}: unknown BTF kind {kind}")),
            };
            let end = raw.extra + extra_len;
            let extra = data.get(raw.extra..end).ok_or_else(|| {
                format!(
                    "type id {id} ({}): kind-specific data truncated at offset {pos}",
                    kind_name(kind)
                )
            })?;
            check_name(raw.name_off, id)?;
            match kind {
                KIND_PTR | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_TYPE_TAG | KIND_VAR | KIND_DECL_TAG | KIND_FUNC_PROTO => {
                    max_ref = max_ref.max(raw.size_or_type);
                }
                _ => {}
            }
            match kind {
                KIND_ARRAY => {
                    max_ref = max_ref.max(field32(extra, 0)).max(field32(extra, 4));
                }
                KIND_STRUCT | KIND_UNION => {
                    for m in extra.chunks_exact(12) {
                        check_name(field32(m, 0), id)?;
                        max_ref = max_ref.max(field32(m, 4));
                    }
                }
                KIND_FUNC_PROTO => {
                    for p in extra.chunks_exact(8) {
                        check_name(field32(p, 0), id)?;
                        max_ref = max_ref.max(field32(p, 4));
                    }
                }
                KIND_ENUM => {
                    for v in extra.chunks_exact(8) {
                        check_name(field32(v, 0), id)?;
                    }
                }
                KIND_ENUM64 => {
                    for v in extra.chunks_exact(12) {
                        check_name(field32(v, 0), id)?;
                    }
                }
                KIND_DATASEC => {
                    for v in extra.chunks_exact(12) {
                        max_ref = max_ref.max(field32(v, 0));
                    }
                }
                _ => {}
            }
            self.types.push(raw);
            pos = end;
        }
        if max_ref as usize > self.types.len() {
            return Err(format!(
                "type id {max_ref} is referenced but only {} types are defined \
                 (split BTF, e.g. a kernel module's, needs its base BTF)",
                self.types.len()
            ));
        }
        Ok(())
    }

    /// Indexes named structs/unions and functions. The first definition of
    /// a name wins, except that a non-empty struct replaces an empty one.
    fn build_index(&mut self) {
        let mut structs: HashMap<String, u32> = HashMap::new();
        let mut funcs: HashMap<String, u32> = HashMap::new();
        for (index, raw) in self.types.iter().enumerate() {
            if raw.name_off == 0 {
                continue;
            }
            let id = (index + 1) as u32;
            match raw.kind() {
                KIND_STRUCT | KIND_UNION => {
                    let name = self.name(raw.name_off);
                    let existing = structs.get(&name).and_then(|&old| self.raw(old));
                    let replace = match existing {
                        None => true,
                        Some(old) => old.vlen() == 0 && raw.vlen() > 0,
                    };
                    if replace {
                        structs.insert(name, id);
                    }
                }
                KIND_FUNC => {
                    funcs.entry(self.name(raw.name_off)).or_insert(id);
                }
                _ => {}
            }
        }
        self.structs = structs;
        self.funcs = funcs;
    }
}

/// How far struct/union types are expanded into their fields.
#[derive(Clone, Copy, Debug)]
enum Expand {
    /// Pointer context: no struct is expanded, not even anonymous ones.
    None,
    /// Named structs are expanded while the level is above 0 (their
    /// members get one level less); anonymous ones are always expanded.
    Levels(u32),
}

/// Resolves type ids into [`BtfType`] trees within a node budget.
struct Resolver<'a> {
    btf: &'a Btf,
    budget: u32,
}

impl<'a> Resolver<'a> {
    fn new(btf: &'a Btf) -> Self {
        Resolver {
            btf,
            budget: NODE_BUDGET,
        }
    }

    fn resolve(&mut self, id: u32, depth: u32, expand: Expand) -> BtfType {
        if id == 0 {
            return BtfType::Void;
        }
        if depth > MAX_DEPTH {
            return BtfType::Unknown(format!("type id {id}: nesting too deep"));
        }
        if self.budget == 0 {
            return BtfType::Unknown(format!("type id {id}: type too complex"));
        }
        self.budget -= 1;
        let raw = match self.btf.raw(id) {
            Some(raw) => raw,
            None => return BtfType::Unknown(format!("invalid type id {id}")),
        };
        let btf = self.btf;
        let data = &btf.type_data;
        let name = || btf.name(raw.name_off);
        match raw.kind() {
            KIND_INT => {
                let int = field32(data, raw.extra);
                let encoding = (int >> 24) & 0x0f;
                let bits = match int & 0xff {
                    0 => raw.size_or_type.saturating_mul(8),
                    n => n,
                };
                let name = name();
                if encoding & INT_BOOL != 0 {
                    BtfType::Bool
                } else if name == "char" && bits == 8 {
                    BtfType::Char
                } else {
                    BtfType::Int {
                        name,
                        bits,
                        signed: encoding & INT_SIGNED != 0,
                    }
                }
            }
            KIND_PTR => {
                let pointee = self.resolve(raw.size_or_type, depth + 1, Expand::None);
                BtfType::Pointer(Box::new(pointee))
            }
            KIND_ARRAY => {
                let elem = field32(data, raw.extra);
                let nelems = field32(data, raw.extra + 8);
                BtfType::Array(Box::new(self.resolve(elem, depth + 1, expand)), nelems)
            }
            KIND_STRUCT | KIND_UNION => {
                let name = name();
                let (expand_here, inner) = match expand {
                    Expand::None => (false, Expand::None),
                    Expand::Levels(0) if name.is_empty() => (true, Expand::Levels(0)),
                    Expand::Levels(0) => (false, Expand::None),
                    Expand::Levels(n) if name.is_empty() => (true, Expand::Levels(n)),
                    Expand::Levels(n) => (true, Expand::Levels(n - 1)),
                };
                let mut fields = Vec::new();
                if expand_here {
                    fields.reserve(raw.vlen());
                    for i in 0..raw.vlen() {
                        let m = raw.extra + i * 12;
                        let offset = field32(data, m + 8);
                        let (offset_bits, bitfield_size) = if raw.kind_flag() {
                            (offset & 0x00ff_ffff, offset >> 24)
                        } else {
                            (offset, 0)
                        };
                        let ty = self.resolve(field32(data, m + 4), depth + 1, inner);
                        fields.push(BtfField {
                            name: btf.name(field32(data, m)),
                            offset_bits,
                            bitfield_size,
                            ty,
                        });
                    }
                }
                BtfType::Struct(StructLayout {
                    name,
                    size: raw.size_or_type,
                    is_union: raw.kind() == KIND_UNION,
                    fields,
                })
            }
            KIND_FWD => BtfType::Struct(StructLayout {
                name: name(),
                size: 0,
                is_union: raw.kind_flag(),
                fields: Vec::new(),
            }),
            KIND_ENUM | KIND_ENUM64 => {
                let is64 = raw.kind() == KIND_ENUM64;
                let stride = if is64 { 12 } else { 8 };
                let signed = raw.kind_flag();
                let values = (0..raw.vlen())
                    .map(|i| {
                        let v = raw.extra + i * stride;
                        let lo = field32(data, v + 4);
                        let value = if is64 {
                            let hi = field32(data, v + 8);
                            ((u64::from(hi) << 32) | u64::from(lo)) as i64
                        } else if signed {
                            i64::from(lo as i32)
                        } else {
                            i64::from(lo)
                        };
                        (btf.name(field32(data, v)), value)
                    })
                    .collect();
                BtfType::Enum {
                    name: name(),
                    size: raw.size_or_type,
                    values,
                }
            }
            KIND_TYPEDEF => {
                let mut inner = self.resolve(raw.size_or_type, depth + 1, expand);
                match &mut inner {
                    BtfType::Struct(StructLayout { name: n, .. })
                    | BtfType::Enum { name: n, .. }
                        if n.is_empty() =>
                    {
                        *n = name();
                    }
                    _ => {}
                }
                inner
            }
            KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                self.resolve(raw.size_or_type, depth + 1, expand)
            }
            KIND_FUNC => self.resolve(raw.size_or_type, depth + 1, expand),
            KIND_FUNC_PROTO => {
                let mut params = Vec::with_capacity(raw.vlen());
                for i in 0..raw.vlen() {
                    let p = raw.extra + i * 8;
                    let name_off = field32(data, p);
                    let ty = field32(data, p + 4);
                    if name_off == 0 && ty == 0 && i + 1 == raw.vlen() {
                        params.push(("...".to_string(), BtfType::Void));
                    } else {
                        let pexp = match expand {
                            Expand::None => Expand::None,
                            Expand::Levels(_) => Expand::Levels(0),
                        };
                        params.push((btf.name(name_off), self.resolve(ty, depth + 1, pexp)));
                    }
                }
                let ret = self.resolve(raw.size_or_type, depth + 1, Expand::None);
                BtfType::FuncProto {
                    params,
                    ret: Box::new(ret),
                }
            }
            kind => BtfType::Unknown(format!("{} {}", kind_name(kind), name())),
        }
    }
}

/// The fields of a BTF struct by name, with those of anonymous struct and
/// union members lifted into it (as C reads them): (name, type, offset in
/// bits). Bitfields are left out (ksc cannot read them).
pub(crate) fn btf_flat_fields(l: &StructLayout) -> Vec<(String, BtfType, u32)> {
    let mut out = Vec::new();
    for f in &l.fields {
        if f.bitfield_size != 0 {
            continue;
        }
        match (&f.ty, f.name.is_empty()) {
            (BtfType::Struct(inner), true) => {
                for (n, t, off) in btf_flat_fields(inner) {
                    out.push((n, t, off + f.offset_bits));
                }
            }
            (_, true) => {}
            (t, false) => out.push((f.name.clone(), t.clone(), f.offset_bits)),
        }
    }
    out
}
