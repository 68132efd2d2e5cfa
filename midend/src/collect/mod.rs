//! Pass 1, collection: every top-level declaration is entered in the
//! symbol table before any body is checked, so order in the file does not
//! matter.
//!
//! Takes the [`ast::File`]; gives the [`Checker`] its symbols, struct and
//! enum types, type aliases and constants (evaluated by `consteval`), maps,
//! globals and configs (`data`), and every function with its kind, domain
//! and checked signature, its body still empty (`functions`). Attributes
//! that do not apply to an item are reported here.

use ksc_frontend::diag::codes;
use std::collections::HashMap;

use ksc_frontend::ast::{self, ItemKind};
use ksc_frontend::{Diagnostic, Span};
use ksc_ir::{IntType, TypeId, TypeKind, Value};

use crate::checker::{AliasEntry, Checker, ConstEntry, Eval, Sym, SymInfo};

mod data;
mod functions;
mod kernel_sig;
mod python;
mod restate;
mod sched_ext;
mod struct_ops;

/// The attributes a function may carry (`@xdp fn ...`), in the order
/// messages list them.
pub const FUNCTION_ATTRIBUTES: &[&str] = &[
    "xdp",
    "tc",
    "tracepoint",
    "probe",
    "lsm",
    "perf_event",
    "helper",
    "kfunc",
    "private",
    "test",
];

impl<'a> Checker<'a> {
    pub(crate) fn collect(&mut self, file: &'a ast::File) {
        // Names of types first, so declarations can refer to each other.
        for item in &file.items {
            match &item.kind {
                // A restated built-in or kernel struct keeps the built-in
                // meaning (docs/language.md, "Headers, kernel structs and enums").
                ItemKind::Struct(s) if self.restates(s) => {}
                ItemKind::Struct(s) => {
                    let ir_name = self.ir_name(&s.name);
                    let id = self
                        .types
                        .declare_struct(&ir_name, ksc_ir::StructOrigin::User);
                    self.define(&s.name, Sym::Type(id));
                }
                ItemKind::TypeAlias(a) => {
                    self.aliases.push(AliasEntry {
                        decl: a,
                        state: Eval::Todo,
                        ty: TypeId(0),
                    });
                    let i = self.aliases.len() - 1;
                    self.define(&a.name, Sym::Alias(i));
                }
                ItemKind::Enum(e) => self.collect_enum(e),
                ItemKind::Const(k) => {
                    self.consts.push(ConstEntry {
                        decl: k,
                        state: Eval::Todo,
                        value: None,
                    });
                    let i = self.consts.len() - 1;
                    self.define(&k.name, Sym::Const(i));
                }
                ItemKind::Import(imp) if crate::python::is_python_import(imp) => {
                    self.collect_python_import(imp)
                }
                ItemKind::Import(imp) => self.define(&imp.name, Sym::Import),
                ItemKind::Fn(f) => {
                    self.fn_names.insert(self.key(&f.name));
                }
                // Headers were flattened into this file by `imports::load`.
                ItemKind::Include(_) => {}
                _ => {}
            }
        }
        for item in &file.items {
            if let ItemKind::Struct(s) = &item.kind {
                if self.restated.iter().any(|(r, _)| std::ptr::eq(*r, s)) {
                    continue;
                }
                let Some(SymInfo {
                    sym: Sym::Type(id), ..
                }) = self.lookup(&s.name)
                else {
                    continue;
                };
                let id = *id;
                if !matches!(self.types.kind(id), TypeKind::Struct(_))
                    || self
                        .types
                        .struct_def(id)
                        .is_some_and(|d| !d.fields.is_empty())
                {
                    continue;
                }
                let mut fields = Vec::new();
                self.check_unique("field", s.fields.iter().map(|f| &f.name));
                for f in &s.fields {
                    let ty = self.resolve_type(&f.ty);
                    if ty == id {
                        self.error(codes::CYCLIC, f.ty.span, "a struct cannot contain itself")
                            .help = Some("use a pointer: `*Name`".into());
                    }
                    fields.push((f.name.name.clone(), ty));
                }
                let ir_name = self.ir_name(&s.name);
                self.types
                    .set_struct_fields(id, &ir_name, fields, ksc_ir::StructOrigin::User);
            }
        }
        self.check_restated();
        for i in 0..self.aliases.len() {
            self.alias_type(i);
        }
        for i in 0..self.consts.len() {
            self.const_value(i);
        }
        for item in &file.items {
            match &item.kind {
                ItemKind::Map(m) => self.collect_map(item, m),
                ItemKind::Global(g) => self.collect_global(item, g),
                ItemKind::Config(c) => self.collect_config(c),
                _ => {}
            }
        }
        for item in &file.items {
            match &item.kind {
                ItemKind::Fn(f) => {
                    self.collect_fn(item, f, None);
                }
                ItemKind::Extern(e) => self.collect_extern(item, e),
                ItemKind::Impl(i) => self.collect_impl(item, i),
                _ => {}
            }
            if !matches!(item.kind, ItemKind::Fn(_) | ItemKind::Impl(_)) {
                self.check_no_attrs(item);
            }
        }
        self.collect_sched_ext_kfuncs();
    }

    fn check_no_attrs(&mut self, item: &ast::Item) {
        for a in &item.attrs {
            let ok = a.name.name == "flags" && matches!(item.kind, ItemKind::Map(_));
            if !ok {
                self.error(codes::ATTRIBUTE, a.span, format!("attribute `@{}` does not apply here", a.name.name)).help = Some(
                    "program attributes go on functions, `@struct_ops` on `impl` blocks, `@flags` on maps".into(),
                );
            }
        }
    }

    fn collect_enum(&mut self, e: &ast::EnumDecl) {
        if self.restates_enum(e) {
            return;
        }
        // Values as C has them: up to 64 bits, signed or unsigned
        // (docs/language.md, "Syntax the reference accepts").
        let mut next: i128 = 0;
        let mut values: Vec<(String, i128)> = Vec::new();
        for v in &e.variants {
            let value = match &v.value {
                Some(expr) => match self.const_eval(expr) {
                    Some((Value::Int(n), _)) => n as i128,
                    Some((Value::UInt(n), _)) => n as i128,
                    Some(_) => {
                        self.error(codes::MISMATCH, expr.span, "enum values must be integers");
                        next
                    }
                    None => next,
                },
                None => next,
            };
            if value > u64::MAX as i128 {
                self.error(
                    codes::OUT_OF_RANGE,
                    v.span,
                    "an enum value must fit in 64 bits",
                )
                .label = format!("`{}` is {value}", v.name.name);
            }
            values.push((self.ir_name(&v.name), value));
            next = value + 1;
        }
        let (lo, hi) = values
            .iter()
            .fold((0i128, 0i128), |(lo, hi), v| (lo.min(v.1), hi.max(v.1)));
        // The C type of an enum with these values: `unsigned int`, `int`,
        // then 64 bits (`unsigned long long` when none is negative).
        let repr = if lo >= 0 && hi <= u32::MAX as i128 {
            IntType::U32
        } else if lo >= i32::MIN as i128 && hi <= i32::MAX as i128 {
            IntType::I32
        } else if lo >= 0 {
            IntType::U64
        } else {
            if hi > i64::MAX as i128 {
                self.error(
                    codes::OUT_OF_RANGE,
                    e.name.span,
                    "an enum's values span more than 64 bits (negative and above 2^63)",
                );
            }
            IntType::I64
        };
        // Stored as 64-bit patterns: a `U64` enum's values above 2^63 read
        // back through `ksc_ir::EnumDef::value_of`.
        let variants: Vec<(String, i64)> = values
            .into_iter()
            .map(|(n, v)| (n, v as u64 as i64))
            .collect();
        let ty = self
            .types
            .new_enum(&self.ir_name(&e.name), repr, variants.clone(), false);
        self.define(&e.name, Sym::Type(ty));
        for (v, (_, value)) in e.variants.iter().zip(variants) {
            self.define(&v.name, Sym::EnumVariant(ty, value));
        }
    }

    /// Report a name declared twice in one list (struct or config fields).
    pub(crate) fn check_unique<'n>(
        &mut self,
        what: &str,
        names: impl Iterator<Item = &'n ast::Ident>,
    ) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for n in names {
            if let Some(prev) = seen.insert(&n.name, n.span) {
                let d = Diagnostic::error(
                    codes::DUPLICATE,
                    n.span,
                    format!("{what} `{}` is declared twice", n.name),
                )
                .with_secondary(prev, "first declared here");
                self.diags.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The program attributes listed are ir's program kinds (struct_ops
    /// goes on an impl block, not a function).
    #[test]
    fn function_attributes_list_every_program_kind() {
        for k in ksc_ir::ProgramKind::ALL {
            let listed = crate::collect::FUNCTION_ATTRIBUTES.contains(&k.attribute());
            assert_eq!(listed, *k != ksc_ir::ProgramKind::StructOps, "{k}");
        }
    }
}
