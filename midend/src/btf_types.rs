//! Kernel types from BTF: structs named in a program but declared by the
//! kernel (`trace_event_raw_*` tracepoint contexts, `*_ops` struct_ops
//! tables) are read from the running kernel's BTF (`/sys/kernel/btf/vmlinux`,
//! loaded once, on first need) and entered in the type table with their
//! kernel layout.
//!
//! Takes a name; gives a kernel struct [`TypeId`] (one per struct name),
//! or a located error saying why the kernel type is unknown.

use ksc_frontend::ast;
use ksc_ir::{IntType, TypeId};

use crate::checker::{Checker, Sym, SymInfo};

impl<'a> Checker<'a> {
    pub(crate) fn btf(&mut self) -> Option<&crate::btf::Btf> {
        if self.btf.is_none() {
            self.btf = Some(crate::btf::Btf::load_vmlinux());
        }
        self.btf.as_ref().and_then(|b| b.as_ref().ok())
    }

    pub(crate) fn btf_has(&mut self, name: &str) -> bool {
        // Only kernel structs a program can meet: struct_ops types and the like.
        name.ends_with("_ops") && self.btf().is_some_and(|b| b.has_struct(name))
    }

    /// A kernel struct read from the running kernel's BTF.
    pub(crate) fn btf_struct(&mut self, id: &ast::Ident) -> TypeId {
        let layout = self.btf().and_then(|b| b.find_struct(&id.name));
        let Some(layout) = layout else {
            let why = match &self.btf {
                Some(Err(e)) => format!(" ({e})"),
                _ => String::new(),
            };
            self.error(id.span, format!("kernel type `{}` not found in the kernel's BTF{why}", id.name)).help =
                Some("tracepoint contexts are named `trace_event_raw_<event>` (`trace_event_raw_sys_enter` for syscalls)".into());
            return self.types.error;
        };
        let ty = self.btf_to_type(&crate::btf::BtfType::Struct(layout), 0);
        self.syms.insert(
            id.name.clone(),
            SymInfo {
                sym: Sym::Type(ty),
                span: None,
            },
        );
        ty
    }

    fn btf_to_type(&mut self, t: &crate::btf::BtfType, depth: u32) -> TypeId {
        use crate::btf::BtfType as B;
        if depth > 8 {
            return self.types.u8_;
        }
        match t {
            B::Int { bits, signed, .. } => {
                let it = match (bits, signed) {
                    (8, false) => IntType::U8,
                    (16, false) => IntType::U16,
                    (32, false) => IntType::U32,
                    (64, false) => IntType::U64,
                    (8, true) => IntType::I8,
                    (16, true) => IntType::I16,
                    (32, true) => IntType::I32,
                    _ => IntType::I64,
                };
                self.types.int(it)
            }
            B::Char => self.types.char_,
            B::Bool => self.types.bool_,
            B::Void => self.types.void,
            B::Pointer(_) => {
                let u8_ = self.types.u8_;
                self.types.ptr(u8_)
            }
            B::Array(e, n) => {
                let et = self.btf_to_type(e, depth + 1);
                self.types.array(et, *n)
            }
            B::Enum { size, .. } => self.types.int(match size {
                1 => IntType::U8,
                2 => IntType::U16,
                8 => IntType::U64,
                _ => IntType::U32,
            }),
            B::Struct(l) => {
                // One type per kernel struct name (`trace_entry` is shared
                // by every tracepoint context).
                if !l.name.is_empty() {
                    if let Some(&t) = self.btf_types.get(&l.name) {
                        return t;
                    }
                }
                let fields: Vec<(String, TypeId, u32)> = l
                    .fields
                    .iter()
                    .filter(|f| f.bitfield_size == 0 && !f.name.is_empty())
                    .map(|f| {
                        let ty = self.btf_to_type(&f.ty, depth + 1);
                        (f.name.clone(), ty, f.offset_bits / 8)
                    })
                    .collect();
                // `trace_event_raw_*` and the `trace_entry` they start with.
                let origin = if l.name.starts_with("trace_") {
                    ksc_ir::StructOrigin::TracepointContext
                } else {
                    ksc_ir::StructOrigin::Kernel
                };
                let t = self.types.kernel_struct(&l.name, fields, l.size, origin);
                if !l.name.is_empty() {
                    self.btf_types.insert(l.name.clone(), t);
                }
                t
            }
            B::FuncProto { .. } | B::Unknown(_) => {
                let u8_ = self.types.u8_;
                self.types.ptr(u8_)
            }
        }
    }
}

/// Size in bytes of a BTF member type (for struct_ops data members).
pub(crate) fn btf_size(t: &crate::btf::BtfType) -> u32 {
    use crate::btf::BtfType as B;
    match t {
        B::Int { bits, .. } => bits / 8,
        B::Char | B::Bool => 1,
        B::Pointer(_) => 8,
        B::Array(e, n) => btf_size(e) * n,
        B::Enum { size, .. } => *size,
        B::Struct(l) => l.size,
        _ => 8,
    }
}
