//! Userspace-only globals (`Global::userspace_only`: their type holds a
//! function pointer, so they are not in the eBPF object; docs/language.md,
//! globals): each is a thread-local `Cell` of the program, whose start value
//! is "null": a function that stops the program when called, as calling
//! through a null pointer would.

use std::fmt::Write as _;

use ksc_ir::*;

use super::{ident, Gen};

impl<'m> Gen<'m> {
    /// The Rust name of a userspace-only global's cell.
    pub(super) fn user_global(&self, g: GlobalId) -> String {
        format!("__ksc_u_{}", ident(&self.m.globals[g.index()].name))
    }

    /// Declares the cells, and the "null" function of each function type
    /// they hold.
    pub(super) fn userspace_globals(&mut self) {
        let m = self.m;
        let mut fns = Vec::new();
        for (i, gl) in m.globals.iter().enumerate() {
            if !gl.userspace_only {
                continue;
            }
            let Some(zero) = self.null_value(gl.ty, &mut fns) else {
                self.err(gl.span, "a global struct holding a function pointer");
                continue;
            };
            let _ = writeln!(
                self.out,
                "thread_local! {{\n    /// `{}` ({}:{}): userspace only, null until assigned.\n    static {}: std::cell::Cell<{}> = const {{ std::cell::Cell::new({zero}) }};\n}}\n",
                gl.name,
                self.file(gl.span),
                self.line(gl.span),
                self.user_global(GlobalId(i as u32)),
                self.ty(gl.ty)
            );
        }
        fns.sort();
        fns.dedup();
        for t in fns {
            let TypeKind::Function(sig) = self.kind(t) else {
                continue;
            };
            let ps: Vec<String> = sig
                .params
                .iter()
                .map(|p| format!("_: {}", self.ty(*p)))
                .collect();
            let ret = match self.kind(sig.ret) {
                TypeKind::Void => String::new(),
                _ => format!(" -> {}", self.ty(sig.ret)),
            };
            let _ = writeln!(
                self.out,
                "/// A null `{}`: calling it stops the program.\nfn __ksc_null_fn_{}({}){ret} {{\n    panic!(\"call through a null function pointer\")\n}}\n",
                self.ty(t),
                t.0,
                ps.join(", ")
            );
        }
    }

    /// The null value of `t` as a constant expression (None: a struct,
    /// not supported here), noting the function types it needs.
    fn null_value(&self, t: TypeId, fns: &mut Vec<TypeId>) -> Option<String> {
        match self.kind(t) {
            TypeKind::Function(_) => {
                fns.push(t);
                Some(format!("__ksc_null_fn_{} as {}", t.0, self.ty(t)))
            }
            TypeKind::Array(e, n) => Some(format!("[{}; {n}]", self.null_value(*e, fns)?)),
            TypeKind::Struct(_) => None,
            _ => Some(self.zero(t)),
        }
    }
}
