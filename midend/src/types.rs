//! The type table: interning, C layout, and the language's type relations.

use std::collections::HashMap;

use ksc_ir::{EnumDef, FnSig, IntType, StructDef, StructOrigin, TypeDef, TypeId, TypeKind};

/// Structural identity of a type (structs and enums are nominal: each
/// declaration is its own type).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Void,
    Bool,
    Char,
    Int(IntType),
    Str(u32),
    Ptr(TypeId),
    Array(TypeId, u32),
    Slice(TypeId),
    Fn(Vec<TypeId>, TypeId),
    ProgramRef,
    ProgramHandle,
    PerfAttachment,
    StructOpsRef,
    Null,
}

/// The type of erroneous code: it absorbs every check, so one mistake is
/// reported once. It is not in the table (`defs`), so it can never reach
/// the IR: a module with errors is not handed to backends, and a module
/// without errors has no expression of this type.
pub(crate) const ERROR: TypeId = TypeId(u32::MAX);

static ERROR_DEF: TypeDef = TypeDef {
    kind: TypeKind::Struct(StructDef {
        name: String::new(),
        fields: Vec::new(),
        origin: StructOrigin::User,
    }),
    size: 0,
    align: 1,
};

pub struct Types {
    /// The types, indexed by `TypeId` (what becomes `ir::Module::types`).
    pub defs: Vec<TypeDef>,
    interned: HashMap<Key, TypeId>,
    pub void: TypeId,
    pub bool_: TypeId,
    pub char_: TypeId,
    pub u8_: TypeId,
    pub u16_: TypeId,
    pub u32_: TypeId,
    pub u64_: TypeId,
    pub i32_: TypeId,
    pub i64_: TypeId,
    pub null: TypeId,
    pub error: TypeId,
}

impl Default for Types {
    fn default() -> Self {
        Self::new()
    }
}

impl Types {
    pub fn new() -> Types {
        let mut t = Types {
            defs: Vec::new(),
            interned: HashMap::new(),
            void: TypeId(0),
            bool_: TypeId(0),
            char_: TypeId(0),
            u8_: TypeId(0),
            u16_: TypeId(0),
            u32_: TypeId(0),
            u64_: TypeId(0),
            i32_: TypeId(0),
            i64_: TypeId(0),
            null: TypeId(0),
            error: TypeId(0),
        };
        t.void = t.intern(Key::Void);
        t.bool_ = t.intern(Key::Bool);
        t.char_ = t.intern(Key::Char);
        t.u8_ = t.int(IntType::U8);
        t.u16_ = t.int(IntType::U16);
        t.u32_ = t.int(IntType::U32);
        t.u64_ = t.int(IntType::U64);
        t.i32_ = t.int(IntType::I32);
        t.i64_ = t.int(IntType::I64);
        t.null = t.intern(Key::Null);
        t.error = ERROR;
        t
    }

    fn push(&mut self, def: TypeDef) -> TypeId {
        self.defs.push(def);
        TypeId(self.defs.len() as u32 - 1)
    }

    fn intern(&mut self, key: Key) -> TypeId {
        if let Some(&id) = self.interned.get(&key) {
            return id;
        }
        let (kind, size, align) = match &key {
            Key::Void => (TypeKind::Void, 0, 1),
            Key::Bool => (TypeKind::Bool, 1, 1),
            Key::Char => (TypeKind::Char, 1, 1),
            Key::Int(i) => (TypeKind::Int(*i), i.bits() / 8, i.bits() / 8),
            Key::Str(n) => (TypeKind::Str(*n), *n, 1),
            Key::Ptr(t) => (TypeKind::Pointer(*t), 8, 8),
            Key::Array(t, n) => {
                let d = self.def(*t);
                (TypeKind::Array(*t, *n), d.size.saturating_mul(*n), d.align)
            }
            Key::Slice(t) => (TypeKind::Slice(*t), 0, self.def(*t).align),
            Key::Fn(p, r) => (
                TypeKind::Function(FnSig {
                    params: p.clone(),
                    ret: *r,
                }),
                8,
                8,
            ),
            Key::ProgramRef => (TypeKind::ProgramRef, 8, 8),
            Key::ProgramHandle => (TypeKind::ProgramHandle, 8, 8),
            Key::PerfAttachment => (TypeKind::PerfAttachment, 8, 8),
            Key::StructOpsRef => (TypeKind::StructOpsRef, 8, 8),
            Key::Null => (TypeKind::Null, 8, 8),
        };
        let id = self.push(TypeDef { kind, size, align });
        self.interned.insert(key, id);
        id
    }

    pub fn int(&mut self, i: IntType) -> TypeId {
        self.intern(Key::Int(i))
    }
    pub fn str_(&mut self, n: u32) -> TypeId {
        self.intern(Key::Str(n))
    }
    pub fn ptr(&mut self, t: TypeId) -> TypeId {
        self.intern(Key::Ptr(t))
    }
    pub fn array(&mut self, t: TypeId, n: u32) -> TypeId {
        self.intern(Key::Array(t, n))
    }
    pub fn slice(&mut self, t: TypeId) -> TypeId {
        self.intern(Key::Slice(t))
    }
    pub fn func(&mut self, params: Vec<TypeId>, ret: TypeId) -> TypeId {
        self.intern(Key::Fn(params, ret))
    }
    pub fn program_ref(&mut self) -> TypeId {
        self.intern(Key::ProgramRef)
    }
    pub fn program_handle(&mut self) -> TypeId {
        self.intern(Key::ProgramHandle)
    }
    pub fn perf_attachment(&mut self) -> TypeId {
        self.intern(Key::PerfAttachment)
    }
    pub fn struct_ops_ref(&mut self) -> TypeId {
        self.intern(Key::StructOpsRef)
    }

    /// A struct with C layout computed from its fields' types.
    pub fn new_struct(
        &mut self,
        name: &str,
        fields: Vec<(String, TypeId)>,
        origin: StructOrigin,
    ) -> TypeId {
        let id = self.push(TypeDef {
            kind: TypeKind::Void,
            size: 0,
            align: 1,
        });
        self.set_struct_fields(id, name, fields, origin);
        id
    }

    /// Declare a struct now, fill its fields later (structs may refer to
    /// each other in any order).
    pub fn declare_struct(&mut self, name: &str, origin: StructOrigin) -> TypeId {
        self.push(TypeDef {
            kind: TypeKind::Struct(StructDef {
                name: name.into(),
                fields: vec![],
                origin,
            }),
            size: 0,
            align: 1,
        })
    }

    /// Re-mark a struct's origin (a user struct found to be a struct_ops
    /// type).
    pub fn set_origin(&mut self, id: TypeId, origin: StructOrigin) {
        if let TypeKind::Struct(s) = &mut self.defs[id.index()].kind {
            s.origin = origin;
        }
    }

    pub fn set_struct_fields(
        &mut self,
        id: TypeId,
        name: &str,
        fields: Vec<(String, TypeId)>,
        origin: StructOrigin,
    ) {
        let mut offset = 0u32;
        let mut align = 1u32;
        let mut out = Vec::new();
        for (fname, ty) in fields {
            let d = self.def(ty);
            let a = d.align.max(1);
            offset = offset.div_ceil(a).saturating_mul(a);
            out.push(ksc_ir::Field {
                name: fname,
                ty,
                offset,
            });
            offset = offset.saturating_add(d.size);
            align = align.max(a);
        }
        let size = offset.div_ceil(align).saturating_mul(align);
        self.defs[id.index()] = TypeDef {
            kind: TypeKind::Struct(StructDef {
                name: name.into(),
                fields: out,
                origin,
            }),
            size,
            align,
        };
    }

    /// Fill a kernel struct made without fields (its size stays the
    /// kernel's).
    pub fn set_kernel_fields(&mut self, id: TypeId, fields: Vec<(String, TypeId, u32)>) {
        let align = fields
            .iter()
            .map(|f| self.def(f.1).align)
            .max()
            .unwrap_or(1);
        let d = &mut self.defs[id.index()];
        d.align = align;
        if let TypeKind::Struct(s) = &mut d.kind {
            s.fields = fields
                .into_iter()
                .map(|(name, ty, offset)| ksc_ir::Field { name, ty, offset })
                .collect();
        }
    }

    /// A kernel (or UAPI) struct with given field offsets (layout from
    /// the kernel).
    /// A kernel struct the program may hold but not look into
    /// (`bpf_spin_lock`): no fields, the kernel's size and alignment.
    pub fn opaque_struct(
        &mut self,
        name: &str,
        size: u32,
        align: u32,
        origin: StructOrigin,
    ) -> TypeId {
        self.push(TypeDef {
            kind: TypeKind::Struct(StructDef {
                name: name.into(),
                fields: Vec::new(),
                origin,
            }),
            size,
            align,
        })
    }

    pub fn kernel_struct(
        &mut self,
        name: &str,
        fields: Vec<(String, TypeId, u32)>,
        size: u32,
        origin: StructOrigin,
    ) -> TypeId {
        let align = fields
            .iter()
            .map(|f| self.def(f.1).align)
            .max()
            .unwrap_or(1);
        self.push(TypeDef {
            kind: TypeKind::Struct(StructDef {
                name: name.into(),
                fields: fields
                    .into_iter()
                    .map(|(name, ty, offset)| ksc_ir::Field { name, ty, offset })
                    .collect(),
                origin,
            }),
            size,
            align,
        })
    }

    pub fn new_enum(
        &mut self,
        name: &str,
        repr: IntType,
        variants: Vec<(String, i64)>,
        kernel: bool,
    ) -> TypeId {
        let size = repr.bits() / 8;
        self.push(TypeDef {
            kind: TypeKind::Enum(EnumDef {
                name: name.into(),
                repr,
                variants: variants
                    .into_iter()
                    .map(|(name, value)| ksc_ir::EnumVariant { name, value })
                    .collect(),
                kernel,
            }),
            size,
            align: size,
        })
    }

    /// The definition of `t` (the error type's is an empty struct).
    pub fn def(&self, t: TypeId) -> &TypeDef {
        if t == ERROR {
            return &ERROR_DEF;
        }
        &self.defs[t.index()]
    }

    pub fn kind(&self, t: TypeId) -> &TypeKind {
        &self.def(t).kind
    }

    pub fn size(&self, t: TypeId) -> u32 {
        self.def(t).size
    }

    pub fn is_error(&self, t: TypeId) -> bool {
        t == self.error
    }

    pub fn as_int(&self, t: TypeId) -> Option<IntType> {
        match self.kind(t) {
            TypeKind::Int(i) => Some(*i),
            TypeKind::Enum(e) => Some(e.repr),
            TypeKind::Char => Some(IntType::U8),
            _ => None,
        }
    }

    pub fn is_integer(&self, t: TypeId) -> bool {
        self.as_int(t).is_some()
    }

    pub fn pointee(&self, t: TypeId) -> Option<TypeId> {
        match self.kind(t) {
            TypeKind::Pointer(p) => Some(*p),
            _ => None,
        }
    }

    pub fn is_pointer_like(&self, t: TypeId) -> bool {
        matches!(
            self.kind(t),
            TypeKind::Pointer(_) | TypeKind::Null | TypeKind::Function(_)
        )
    }

    pub fn struct_def(&self, t: TypeId) -> Option<&StructDef> {
        match self.kind(t) {
            TypeKind::Struct(s) if t != self.error => Some(s),
            _ => None,
        }
    }

    /// How the type is written in KernelScript, for messages.
    pub fn display(&self, t: TypeId) -> String {
        if t == self.error {
            return "{unknown}".into();
        }
        ksc_ir::type_display(&self.defs, t)
    }

    /// Can a value of type `from` be used where `to` is expected without a
    /// cast? Lossless integer widening, `null` to pointers, shorter strings
    /// into longer ones, `char`/`u8`, enum to its integer and back, any pointer to and
    /// from `*void`.
    pub fn coerces(&self, from: TypeId, to: TypeId) -> bool {
        if from == to || self.is_error(from) || self.is_error(to) {
            return true;
        }
        match (self.kind(from), self.kind(to)) {
            (TypeKind::Int(a), TypeKind::Int(b)) => widens(*a, *b),
            (TypeKind::Enum(e), TypeKind::Int(b)) => widens(e.repr, *b),
            // Enums are C enums: an integer that fits the enum's integer
            // converts to it (docs/language.md, "Headers, kernel structs
            // and enums").
            (TypeKind::Int(a), TypeKind::Enum(e)) => widens(*a, e.repr),
            (TypeKind::Char, TypeKind::Int(IntType::U8))
            | (TypeKind::Int(IntType::U8), TypeKind::Char) => true,
            (TypeKind::Null, TypeKind::Pointer(_) | TypeKind::Function(_)) => true,
            (TypeKind::Str(a), TypeKind::Str(b)) => a <= b,
            (TypeKind::Pointer(a), TypeKind::Pointer(b)) => {
                matches!(self.kind(*a), TypeKind::Void)
                    || matches!(self.kind(*b), TypeKind::Void)
                    || self.coerces_pointee(*a, *b)
            }
            _ => false,
        }
    }

    fn coerces_pointee(&self, a: TypeId, b: TypeId) -> bool {
        match (self.kind(a), self.kind(b)) {
            // `*u8` and `*char` are both byte pointers.
            (TypeKind::Char, TypeKind::Int(IntType::U8))
            | (TypeKind::Int(IntType::U8), TypeKind::Char) => true,
            // `&arr` (pointer to array) where `*[T]` or `*T` is expected.
            (TypeKind::Array(e, _), TypeKind::Slice(f)) => e == f,
            _ => false,
        }
    }

    /// May an explicit `as` convert `from` to `to`?
    pub fn castable(&self, from: TypeId, to: TypeId) -> bool {
        if self.coerces(from, to) {
            return true;
        }
        let scalar = |t: TypeId| {
            matches!(
                self.kind(t),
                TypeKind::Int(_)
                    | TypeKind::Enum(_)
                    | TypeKind::Char
                    | TypeKind::Bool
                    | TypeKind::Pointer(_)
            )
        };
        scalar(from) && scalar(to)
    }
}

/// Lossless integer widening: same signedness and not narrower, or unsigned
/// into a strictly wider signed type.
pub fn widens(a: IntType, b: IntType) -> bool {
    if a.signed() == b.signed() {
        b.bits() >= a.bits()
    } else {
        !a.signed() && b.signed() && b.bits() > a.bits()
    }
}

/// The type both operands of an arithmetic operator convert to, if the
/// conversion is lossless for both.
pub fn common_int(a: IntType, b: IntType) -> Option<IntType> {
    if widens(a, b) {
        Some(b)
    } else if widens(b, a) {
        Some(a)
    } else {
        None
    }
}
