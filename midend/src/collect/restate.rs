//! Declarations that restate what ksc already knows (docs/language.md,
//! "Headers, kernel structs and enums"): headers written for the
//! reference compiler declare the context structs (`xdp_md`,
//! `__sk_buff`, `trace_event_raw_*`, ...), `enum xdp_action` and kernel
//! structs again.
//!
//! * A built-in struct restated (the packet contexts and the UAPI structs
//!   they lead to, `pt_regs`, tracepoint contexts, the test contexts) is
//!   compared with the kernel's (or ksc's) definition: any subset of its
//!   fields by name, each of the same size and kind, is compatible; an
//!   incompatible one is a warning naming the differences, and the
//!   built-in is used either way.
//! * A kernel struct declared in a header (one the kernel's BTF has) is
//!   checked field by field: a field the kernel lacks or of another
//!   size/kind is an error at that field. The kernel's struct is used
//!   (fields are read by name, with CO-RE).
//! * `enum xdp_action` restated: its values must be the built-in ones
//!   (a warning otherwise); the built-in enum stays.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir::{TypeId, TypeKind, Value};

use crate::btf::btf_flat_fields;
use crate::btf::BtfType;
use crate::checker::{suggest, Checker, Restated, Sym, SymInfo};

/// Structs the context types lead to, treated as built-ins: the UAPI
/// structs `__sk_buff` points to.
const CONTEXT_UAPI: &[&str] = &["bpf_sock", "bpf_flow_keys"];

/// What a field's type must agree on: size and kind (the sign of an
/// integer may differ).
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    Int(u32),
    Ptr,
    Array(Box<Shape>, u32),
    Struct(String),
    Other,
}

fn btf_shape(t: &BtfType) -> Shape {
    match t {
        BtfType::Int { bits, .. } => Shape::Int(bits / 8),
        BtfType::Char | BtfType::Bool => Shape::Int(1),
        BtfType::Enum { size, .. } => Shape::Int(*size),
        BtfType::Pointer(_) | BtfType::FuncProto { .. } => Shape::Ptr,
        BtfType::Array(e, n) => Shape::Array(Box::new(btf_shape(e)), *n),
        BtfType::Struct(l) if !l.name.is_empty() => Shape::Struct(l.name.clone()),
        _ => Shape::Other,
    }
}

/// A BTF type as a KernelScript type is written (for messages).
fn btf_type_name(t: &BtfType) -> String {
    match t {
        BtfType::Int { bits, signed, .. } => format!("{}{bits}", if *signed { "i" } else { "u" }),
        BtfType::Char => "char".into(),
        BtfType::Bool => "bool".into(),
        BtfType::Void => "void".into(),
        BtfType::Enum { name, size, .. } if name.is_empty() => format!("u{}", size * 8),
        BtfType::Enum { name, .. } => format!("enum {name}"),
        BtfType::Pointer(p) => match &**p {
            BtfType::FuncProto { .. } => "a function pointer".into(),
            inner => format!("*{}", btf_type_name(inner)),
        },
        BtfType::Array(e, n) => format!("{}[{n}]", btf_type_name(e)),
        BtfType::Struct(l) if l.name.is_empty() => "an anonymous struct".into(),
        BtfType::Struct(l) => l.name.clone(),
        BtfType::FuncProto { .. } => "a function".into(),
        BtfType::Unknown(s) => s.clone(),
    }
}

impl<'a> Checker<'a> {
    fn shape(&self, t: TypeId) -> Shape {
        match self.types.kind(t) {
            TypeKind::Int(i) => Shape::Int(i.bits() / 8),
            TypeKind::Bool | TypeKind::Char => Shape::Int(1),
            TypeKind::Enum(e) => Shape::Int(e.repr.bits() / 8),
            TypeKind::Pointer(_) | TypeKind::Function(_) => Shape::Ptr,
            TypeKind::Array(e, n) => Shape::Array(Box::new(self.shape(*e)), *n),
            TypeKind::Str(n) => Shape::Array(Box::new(Shape::Int(1)), *n),
            TypeKind::Struct(s) => Shape::Struct(s.name.clone()),
            _ => Shape::Other,
        }
    }

    fn in_header(&self, span: ksc_frontend::Span) -> bool {
        self.scopes
            .get(span.file.0 as usize)
            .is_some_and(|s| s.header)
    }

    /// Whether the struct declaration `s` restates a built-in or kernel
    /// struct; if so it is recorded (checked by [`Self::check_restated`])
    /// and not declared: the name keeps its built-in meaning.
    pub(crate) fn restates(&mut self, s: &'a ast::StructDecl) -> bool {
        let name = s.name.name.as_str();
        let kind = match self.lookup(&s.name) {
            Some(SymInfo {
                sym: Sym::Type(t),
                span: None,
            }) if matches!(self.types.kind(*t), TypeKind::Struct(_)) => Restated::Builtin(*t),
            Some(_) => return false,
            None => {
                let context =
                    ksc_ir::TraceStruct::try_from(name).is_ok() || CONTEXT_UAPI.contains(&name);
                // struct_ops tables keep their own treatment (the
                // program's declaration serves userspace: collect_impl).
                let kernel = !context && !name.ends_with("_ops") && self.in_header(s.name.span);
                if !(context || kernel) || !self.btf().is_some_and(|b| b.has_struct(name)) {
                    return false;
                }
                let t = self.btf_struct(&s.name);
                if context {
                    Restated::Builtin(t)
                } else {
                    Restated::Kernel
                }
            }
        };
        self.restated.push((s, kind));
        true
    }

    /// Compare each recorded restatement with what it restates.
    pub(crate) fn check_restated(&mut self) {
        for (s, kind) in std::mem::take(&mut self.restated) {
            let name = s.name.name.as_str();
            let declared: Vec<(&ast::FieldDecl, TypeId)> = s
                .fields
                .iter()
                .map(|f| (f, self.resolve_type(&f.ty)))
                .collect();
            // The kernel's fields (BTF), and ksc's own typing of a built-in
            // (its packet pointers are `u32`s in the kernel's struct).
            let kernel: Option<Vec<(String, BtfType)>> =
                self.btf().and_then(|b| b.find_struct(name)).map(|l| {
                    btf_flat_fields(&l)
                        .into_iter()
                        .map(|(n, t, _)| (n, t))
                        .collect()
                });
            let builtin: Vec<(String, TypeId)> = match kind {
                Restated::Builtin(t) => self
                    .types
                    .struct_def(t)
                    .map(|d| d.fields.iter().map(|f| (f.name.clone(), f.ty)).collect())
                    .unwrap_or_default(),
                Restated::Kernel => Vec::new(),
            };
            let whose = if kernel.is_some() {
                format!("the kernel's `{name}`")
            } else {
                format!("the built-in `{name}`")
            };
            // (field, what is wrong, the help naming the right type)
            let mut diffs: Vec<(&ast::FieldDecl, String, Option<String>)> = Vec::new();
            for (f, ty) in declared {
                if self.types.is_error(ty) {
                    continue;
                }
                let fname = f.name.name.as_str();
                let ours = self.shape(ty);
                let k = kernel
                    .as_ref()
                    .and_then(|k| k.iter().find(|(n, _)| n == fname));
                let b = builtin.iter().find(|(n, _)| n == fname);
                let fits = k.is_some_and(|(_, kt)| btf_shape(kt) == ours)
                    || b.is_some_and(|(_, bt)| self.shape(*bt) == ours);
                if fits {
                    continue;
                }
                let shown = self.types.display(ty);
                match (k, b) {
                    (None, None) => {
                        let names: Vec<&str> = match &kernel {
                            Some(k) => k.iter().map(|(n, _)| n.as_str()).collect(),
                            None => builtin.iter().map(|(n, _)| n.as_str()).collect(),
                        };
                        let near = suggest(fname, names.into_iter());
                        diffs.push((
                            f,
                            format!("{whose} has no field `{fname}`"),
                            near.map(|n| format!("a similar field exists: `{n}`")),
                        ));
                    }
                    _ => {
                        let theirs = match (k, b) {
                            (Some((_, kt)), _) => btf_type_name(kt),
                            (None, Some((_, bt))) => self.types.display(*bt),
                            (None, None) => unreachable!(),
                        };
                        diffs.push((
                            f,
                            format!(
                                "field `{fname}` is `{theirs}` in {whose}; this declares `{shown}`"
                            ),
                            Some(format!(
                                "declare it as `{fname}: {theirs}`, or leave it out"
                            )),
                        ));
                    }
                }
            }
            if diffs.is_empty() {
                continue;
            }
            match kind {
                Restated::Builtin(_) => {
                    let mut d = Diagnostic::warning(codes::KERNEL_DIFFERS_WARN,
                        s.name.span,
                        format!("this `struct {name}` differs from {whose}, which ksc uses"),
                    )
                    .with_label("restates a built-in struct")
                    .with_help(format!(
                        "fields are read at the offsets of {whose}; a restatement may list any of its fields with their types (docs/language.md, \"Headers, kernel structs and enums\")"
                    ));
                    for (f, what, _) in diffs {
                        d = d.with_secondary(f.span, what);
                    }
                    self.diags.push(d);
                }
                Restated::Kernel => {
                    for (i, (f, what, help)) in diffs.into_iter().enumerate() {
                        let d = self.error(codes::KERNEL_DIFFERS, f.span, what);
                        d.label = "not as the kernel declares it".into();
                        d.help = Some(help.unwrap_or_else(|| {
                            format!("fields are read by name from {whose} (CO-RE): declare only fields it has, or leave the field out")
                        }));
                        if i == 0 {
                            d.notes.push(format!("a header's `struct {name}` declares the kernel's struct of that name; a struct of the program's own needs another name, or a `.ks` file"));
                        }
                    }
                }
            }
        }
    }

    /// `enum xdp_action` (or another built-in enum) declared again: its
    /// values must be the built-in ones. Returns whether `e` restates one.
    pub(crate) fn restates_enum(&mut self, e: &ast::EnumDecl) -> bool {
        let Some(SymInfo {
            sym: Sym::Type(t),
            span: None,
        }) = self.lookup(&e.name)
        else {
            return false;
        };
        let t = *t;
        let TypeKind::Enum(def) = self.types.kind(t) else {
            return false;
        };
        let builtin: Vec<(String, i64)> = def
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.value))
            .collect();
        let mut next: i64 = 0;
        let mut diffs = Vec::new();
        for v in &e.variants {
            let value = match &v.value {
                Some(x) => match self.const_eval(x) {
                    Some((Value::Int(n), _)) => n,
                    Some((Value::UInt(n), _)) => n as i64,
                    _ => next,
                },
                None => next,
            };
            next = value.wrapping_add(1);
            match builtin.iter().find(|(n, _)| *n == v.name.name) {
                Some((_, b)) if *b == value => {}
                Some((n, b)) => diffs.push((
                    v.span,
                    format!(
                        "`{n}` is {b} in the built-in `{}`; this declares {value}",
                        e.name.name
                    ),
                )),
                None => diffs.push((
                    v.span,
                    format!("the built-in `{}` has no `{}`", e.name.name, v.name.name),
                )),
            }
        }
        if !diffs.is_empty() {
            let mut d = Diagnostic::warning(
                codes::KERNEL_DIFFERS_WARN,
                e.name.span,
                format!(
                    "this `enum {}` differs from the built-in one, which ksc uses",
                    e.name.name
                ),
            )
            .with_label("restates a built-in enum")
            .with_help(format!(
                "the built-in values are the kernel's: {}",
                builtin
                    .iter()
                    .map(|(n, v)| format!("{n} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            for (span, what) in diffs {
                d = d.with_secondary(span, what);
            }
            self.diags.push(d);
        }
        true
    }
}
