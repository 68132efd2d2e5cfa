//! The type table: integers, pointers, arrays, structs, enums and their layouts.

use serde::{Deserialize, Serialize};

use crate::*;

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

/// How type `t` of the type table `types` ([`Module::types`]) is written in
/// KernelScript (`*u8`, `str(16)`, `fn(u32) -> i32`), for messages and
/// editors; `{unknown}` for an id the table does not hold (the checker's
/// error type).
pub fn type_display(types: &[TypeDef], t: TypeId) -> String {
    let Some(def) = types.get(t.index()) else {
        return "{unknown}".into();
    };
    let n = |t: TypeId| type_display(types, t);
    match &def.kind {
        TypeKind::Void => "void".into(),
        TypeKind::Bool => "bool".into(),
        TypeKind::Char => "char".into(),
        TypeKind::Int(i) => i.name().into(),
        TypeKind::Str(len) => format!("str({len})"),
        TypeKind::Pointer(p) => format!("*{}", n(*p)),
        TypeKind::Array(e, len) => format!("{}[{len}]", n(*e)),
        TypeKind::Slice(e) => format!("[{}]", n(*e)),
        TypeKind::Struct(s) => s.name.clone(),
        TypeKind::Enum(e) => e.name.clone(),
        TypeKind::Function(f) => format!(
            "fn({}) -> {}",
            f.params
                .iter()
                .map(|p| n(*p))
                .collect::<Vec<_>>()
                .join(", "),
            n(f.ret)
        ),
        TypeKind::ProgramRef => "FunctionRef".into(),
        TypeKind::ProgramHandle => "ProgramHandle".into(),
        TypeKind::PerfAttachment => "PerfAttachment".into(),
        TypeKind::StructOpsRef => "StructOpsRef".into(),
        TypeKind::Null => "null".into(),
    }
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
    /// One perf counter a `@perf_event` program is attached to: what
    /// `attach(handle, perf_options { .. }, 0)` returns and `read`/`detach`
    /// take. 8 bytes: a handle of the loader runtime (a slot and a
    /// generation, so a copy used after `detach` is refused).
    PerfAttachment,
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

impl EnumDef {
    /// The number a variant's [`EnumVariant::value`] stands for.
    pub fn value_of(&self, value: i64) -> i128 {
        if self.repr == IntType::U64 {
            value as u64 as i128
        } else {
            value as i128
        }
    }
}

/// One variant of an [`EnumDef`]: its name and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumVariant {
    /// The name as declared (`XDP_PASS`), also its name in C.
    pub name: String,
    /// Its integer value; in expressions the variant is a [`Value::Int`]
    /// of the enum's type. For an enum stored as `u64`, the value's 64
    /// bits (values above `i64::MAX` are negative here, a [`Value::UInt`]
    /// in expressions; [`EnumDef::value_of`] reads them).
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
