//! `@struct_ops("kernel_ops_type")` impl blocks: members checked against
//! the kernel struct (function pointers and data members), giving
//! `Checker::struct_ops`.

use ksc_frontend::ast::{self, ItemKind};
use ksc_frontend::diag::codes;
use ksc_ir as ir;
use ksc_ir::{StructOrigin, Value};

use crate::btf_types::btf_size;
use crate::checker::{Checker, Sym};

impl<'a> Checker<'a> {
    pub(crate) fn collect_impl(&mut self, item: &'a ast::Item, i: &'a ast::ImplDecl) {
        let ops_type = match item.attrs.iter().find(|a| a.name.name == "struct_ops") {
            Some(a) => self.attr_string(a).unwrap_or_default(),
            None => {
                self.error(
                    codes::STRUCT_OPS,
                    i.name.span,
                    "an `impl` block needs `@struct_ops(\"kernel_ops_type\")`",
                );
                String::new()
            }
        };
        let index = self.struct_ops.len() as u32;
        self.impl_names.push(self.ir_name(&i.name));
        // The program's own declaration of the ops struct, if any: eBPF
        // code uses the kernel's.
        let ops_name = ast::Ident {
            name: ops_type.clone(),
            span: i.name.span,
        };
        if let Some(Sym::Type(t)) = self.lookup_sym(&ops_name) {
            if self
                .types
                .struct_def(t)
                .is_some_and(|s| s.origin == StructOrigin::User)
            {
                self.types.set_origin(t, StructOrigin::StructOpsType);
            }
        }
        // The kernel's struct: members are checked against it (BTF).
        let layout = if ops_type.is_empty() {
            None
        } else {
            match self.btf().map(|b| b.find_struct(&ops_type)) {
                Some(Some(l)) => Some(l),
                Some(None) => {
                    // Warning: e.g. `sched_ext_ops` exists only on newer kernels
                    // than the build machine's; members go unchecked.
                    let d = self.warning(
                        codes::MAYBE_NOT_IN_KERNEL,
                        i.name.span,
                        format!("kernel struct `{ops_type}` is not in this kernel's BTF"),
                    );
                    d.help = Some(if ops_type == "sched_ext_ops" {
                        "this kernel has no sched_ext (built without CONFIG_SCHED_CLASS_EXT): members are not checked, and registering fails here; check against the kernel the scheduler will run on with `--btf FILE`, its raw BTF (its /sys/kernel/btf/vmlinux) or vmlinux".into()
                    } else {
                        "members are not checked, and registering fails on this kernel; `--btf FILE` checks against another kernel's BTF".into()
                    });
                    None
                }
                None => None,
            }
        };
        let member_of = |name: &str| {
            layout
                .as_ref()
                .and_then(|l| l.fields.iter().find(|f| f.name == name).cloned())
        };
        let mut members = Vec::new();
        let mut fields = Vec::new();
        for m in &i.members {
            match m {
                ast::ImplMember::Fn(fi) => {
                    if let ItemKind::Fn(f) = &fi.kind {
                        if layout.is_some()
                            && !matches!(
                                member_of(&f.name.name).map(|m| m.ty),
                                Some(crate::btf::BtfType::Pointer(_))
                            )
                        {
                            self.error(
                                codes::STRUCT_OPS,
                                f.name.span,
                                format!("`{ops_type}` has no function member `{}`", f.name.name),
                            );
                        }
                        let id = self.collect_fn(fi, f, Some((index, &ops_type)));
                        members.push(ir::StructOpsMember {
                            field: f.name.name.clone(),
                            function: id,
                        });
                    }
                }
                ast::ImplMember::Field { name, value, .. } => {
                    let size = match (&layout, member_of(&name.name)) {
                        (Some(_), Some(m)) => btf_size(&m.ty),
                        (Some(_), None) => {
                            self.error(
                                codes::STRUCT_OPS,
                                name.span,
                                format!("`{ops_type}` has no member `{}`", name.name),
                            );
                            continue;
                        }
                        // Without the kernel's struct: sched_ext_ops's are
                        // known (ksc_ir::sched_ext); others are taken as 8.
                        (None, _) => known_size(&ops_type, &name.name).unwrap_or(8),
                    };
                    if let Some((v, _)) = self.const_eval(value) {
                        // A string member (`name`) is a char array with its NUL.
                        let known = layout.is_some() || known_size(&ops_type, &name.name).is_some();
                        if let (Value::Str(text), true) = (&v, known) {
                            if text.len() >= size as usize {
                                self.error(
                                    codes::STRUCT_OPS,
                                    value.span,
                                    format!(
                                        "`{}` holds at most {} characters; this has {}",
                                        name.name,
                                        size.saturating_sub(1),
                                        text.len()
                                    ),
                                )
                                .help = Some(
                                    "the kernel rejects a longer name when the table is registered"
                                        .into(),
                                );
                            }
                        }
                        fields.push(ir::StructOpsField {
                            name: name.name.clone(),
                            value: v,
                            size,
                        });
                    }
                }
            }
        }
        // A table needs its name (tcp_congestion_ops does): the impl's name.
        if !fields.iter().any(|f| f.name == "name") {
            let size = match &layout {
                Some(_) => member_of("name").map(|m| btf_size(&m.ty)),
                None => known_size(&ops_type, "name"),
            };
            if let Some(size) = size {
                let mut default = i.name.name.clone();
                let max = (size as usize).saturating_sub(1);
                if default.len() > max {
                    // The spec's examples use long impl names: cut, and say so.
                    default.truncate(max);
                    self.warning(codes::STRUCT_OPS_WARN,
                        i.name.span,
                        format!("the table is registered as `{default}`: `{ops_type}.name` holds {max} characters"),
                    )
                    .help = Some("choose the name with `name: \"...\",` in the impl".into());
                }
                fields.push(ir::StructOpsField {
                    name: "name".into(),
                    value: Value::Str(default),
                    size,
                });
            }
        }
        let span = item.span;
        self.struct_ops.push(ir::StructOps {
            name: self.ir_name(&i.name),
            ops_type,
            members,
            fields,
            span,
        });
        self.define(&i.name, Sym::StructOps(index));
    }
}

/// A data member's size in a struct_ops table ksc knows without BTF
/// (`sched_ext_ops`).
fn known_size(ops_type: &str, field: &str) -> Option<u32> {
    if ops_type != "sched_ext_ops" {
        return None;
    }
    ksc_ir::sched_ext::SCHED_EXT_OPS_FIELDS
        .iter()
        .find(|(n, _)| *n == field)
        .map(|&(_, s)| s)
}
