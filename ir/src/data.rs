//! Shared state: maps, globals, configs and struct_ops blocks.

use serde::{Deserialize, Serialize};

use crate::*;

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

/// Which code uses a map: the rule for maps in kernel-module code
/// (docs/language.md, "Maps in kernel-module code"). A map only `@kfunc` and
/// `@private` functions use is the module's own storage; one they share
/// with eBPF or userspace code is an error (the module cannot reach the
/// eBPF object's maps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapUse {
    /// The first use in kernel-module code.
    pub module: Option<Span>,
    /// The first use in eBPF or userspace code, and where that code runs.
    pub other: Option<(Span, Domain)>,
}

impl MapUse {
    /// Used by kernel-module code and by nothing else.
    pub fn module_only(&self) -> bool {
        self.module.is_some() && self.other.is_none()
    }
}

/// Who uses each of `maps` maps, from the bodies of `functions` (in
/// function order, so "first" is the first in the file).
pub fn map_uses(functions: &[Function], maps: usize) -> Vec<MapUse> {
    let mut out = vec![MapUse::default(); maps];
    for f in functions {
        let mut seen = |m: MapId, span: Span| {
            let Some(u) = out.get_mut(m.index()) else {
                return;
            };
            if f.domain == Domain::KernelModule {
                u.module.get_or_insert(span);
            } else {
                u.other.get_or_insert((span, f.domain));
            }
        };
        fn walk(b: &Block, seen: &mut impl FnMut(MapId, Span)) {
            for s in &b.stmts {
                match &s.kind {
                    StmtKind::MapUpdate { map, .. }
                    | StmtKind::MapCompound { map, .. }
                    | StmtKind::MapDelete { map, .. }
                    | StmtKind::ForEach { map, .. } => seen(*map, s.span),
                    _ => {}
                }
                s.for_each_expr(|e| {
                    e.walk(&mut |x| match &x.kind {
                        ExprKind::MapLookup { map, .. }
                        | ExprKind::MapRead { map, .. }
                        | ExprKind::RingbufReserve { map, .. }
                        | ExprKind::RingbufSubmit { map, .. }
                        | ExprKind::RingbufOutput { map, .. }
                        | ExprKind::RingbufRead { map, .. }
                        | ExprKind::RingbufOnEvent { map, .. } => seen(*map, x.span),
                        ExprKind::RingbufDispatch { maps } => {
                            maps.iter().for_each(|m| seen(*m, x.span))
                        }
                        _ => {}
                    })
                });
                s.for_each_block(|b| walk(b, seen));
            }
        }
        walk(&f.body, &mut seen);
    }
    out
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
    /// Lives in the userspace program only, not in the eBPF object: its
    /// type holds a function pointer and no eBPF code uses it (the checker
    /// refuses an eBPF use; docs/language.md, function-pointer globals). eBPF backends omit
    /// it; userspace backends keep it as a plain static variable of the
    /// loader, zero (null) at start.
    #[serde(default)]
    pub userspace_only: bool,
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
