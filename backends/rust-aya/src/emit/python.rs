//! Calls into imported Python modules (`import m from "x.py"`): each is a
//! call of the loader runtime's `ksc_rt::py` (`runtime/src/py.rs`, as `ksc_py`),
//! which goes through the Python bridge's run-time crate; a failure throws
//! `PYTHON_ERROR` like a throwing KernelScript function. The project
//! files it needs: `crate::python`.

use ksc_ir::*;

use super::{operand, FnCx, Gen};

impl<'m> Gen<'m> {
    /// `module.function(args)` as an expression of the call's type.
    pub(super) fn python_call(
        &mut self,
        e: &Expr,
        module: PyModuleId,
        function: &str,
        args: &[Expr],
        cx: &mut FnCx,
    ) -> String {
        let pymod = self.m.python_modules[module.index()].module.clone();
        let mut items = Vec::new();
        for a in args {
            let v = self.expr(a, cx);
            // As the C loader's wrapper: bools and strings as such,
            // unsigned integers as u64, everything else as i64.
            items.push(match self.kind(a.ty) {
                TypeKind::Bool => format!("ksc_py::A::B({v})"),
                TypeKind::Str(_) => format!("ksc_py::A::S({}.text())", operand(&v)),
                TypeKind::Int(it) if !it.signed() => {
                    format!("ksc_py::A::U({} as u64)", operand(&v))
                }
                _ => format!("ksc_py::A::I({} as i64)", operand(&v)),
            });
        }
        let (m, f) = (super::esc(&pymod), super::esc(function));
        let argv = format!("&[{}]", items.join(", "));
        let int = |signed: bool, bits: u32| {
            format!("ksc_py::int(\"{m}\", \"{f}\", {argv}, {signed}, {bits})")
        };
        let (call, value) = match self.kind(e.ty) {
            TypeKind::Void => (
                format!("ksc_py::void(\"{m}\", \"{f}\", {argv})"),
                "v".to_string(),
            ),
            TypeKind::Bool => (
                format!("ksc_py::boolean(\"{m}\", \"{f}\", {argv})"),
                "v".into(),
            ),
            TypeKind::Str(n) => (
                format!("ksc_py::string::<{n}>(\"{m}\", \"{f}\", {argv})"),
                "v".into(),
            ),
            TypeKind::Int(it) => (int(it.signed(), it.bits()), format!("v as {}", it.name())),
            // Anything else converts as the C loader's does: a signed
            // integer of the type's size.
            TypeKind::Enum(ed) => (
                int(true, ed.repr.bits()),
                format!("v as {}", ed.repr.name()),
            ),
            _ => (int(true, 8), "v as u8".into()),
        };
        let t = self.throw_expr("code", cx);
        format!("match {call} {{\n Ok(v) => {value},\n Err(code) => {t},\n }}")
    }
}
