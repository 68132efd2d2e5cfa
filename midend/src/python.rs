//! `import m from "x.py"`: Python modules called from userspace code.
//!
//! Collection asks the Python bridge (a plugin ksc loads only for this,
//! behind [`PythonBridge`]) what the file defines — its syntax, not by
//! running it — and enters the module as `Sym::PyModule` (`collect/python.rs`,
//! with `exec` scripts). Lowering
//! checks each call `m.f(args)` against the `def`: it exists, it is called
//! from userspace, the argument count and the annotated parameter types
//! fit; and types its result: the annotation (`-> int`, `-> bool`,
//! `-> str`, `-> None`), else the type the context expects (a typed
//! `var`, a parameter, a return), else the call is an error asking for
//! one. The call becomes [`ir::Callee::Python`], which throws
//! `PYTHON_ERROR` when Python raises or the result does not convert
//! (docs/language.md, "Python imports"). Calls are lowered in
//! `lower/python.rs`.

use std::path::Path;

use ksc_frontend::ast;
use ksc_ir as ir;
use ksc_ir::python::{PyInspection, PyModuleInfo};

/// Answers, for the midend, what a `.py` file defines. ksc implements it
/// by loading the bridge plugin on first use.
pub trait PythonBridge {
    /// Inspect the file; `Err` when the bridge itself is unavailable
    /// (its message says why and what to install).
    fn inspect(&self, path: &Path) -> Result<PyInspection, String>;
}

/// The checker's Python state.
#[derive(Default)]
pub(crate) struct PyState<'a> {
    pub(crate) bridge: Option<&'a dyn PythonBridge>,
    /// Source file names by `FileId` (imports resolve from their file).
    pub(crate) file_names: Vec<String>,
    pub(crate) modules: Vec<ir::PyModule>,
    /// The scripts `exec` runs, by file name.
    pub(crate) exec_scripts: Vec<ir::ExecScript>,
    /// What each module defines; `None` when it could not be inspected
    /// (already reported: its calls are not checked further).
    pub(crate) info: Vec<Option<PyModuleInfo>>,
}

/// Does this import name a Python module?
pub(crate) fn is_python_import(imp: &ast::ImportDecl) -> bool {
    imp.path.value.ends_with(".py")
}
