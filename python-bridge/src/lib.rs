//! # The KernelScript Python bridge
//!
//! One library for `import m from "x.py"`, used three ways:
//!
//! * **At compile time** ksc loads it as a plugin (the `cdylib`, see
//!   [`plugin`]) only when a program imports a `.py` file, and asks what
//!   the module defines ([`inspect`]): the file is parsed with Python's
//!   own `ast` module, never run. ksc itself does not link Python.
//! * **At run time, from C**: the generated loader links the `staticlib`
//!   and calls it through `include/ksc_python.h` ([`capi`]).
//! * **At run time, from Rust**: a Rust loader depends on this crate and
//!   calls [`call`] directly.
//!
//! At run time a module is imported on first use from the directories of
//! `$KSC_PYTHON_PATH` ([`PATH_VAR`], colon-separated) if set, else from the
//! executable's directory, where `ksc build` copies the `.py` file. The
//! interpreter is initialised once, on the first call. Arguments convert
//! naturally (integers, `bool`, strings); the result converts to the
//! type the call site expects ([`RetKind`]), range-checked. Every failure
//! (import, exception, conversion) is a [`PyError`], which the loader
//! throws as KernelScript's `PYTHON_ERROR`.

use std::path::Path;

use ksc_ir::python::{PyFunction, PyInspection, PyModuleInfo, PyParam};
use pyo3::prelude::*;

pub use ksc_python_runtime::{call, Arg, PyError, Ret, RetKind, PATH_VAR};

pub mod capi;
pub mod plugin;

/// Python code that lists a module's top-level functions without running
/// the module.
const INSPECT_PY: &std::ffi::CStr = c"
import ast

def inspect(path):
    try:
        with open(path, 'rb') as f:
            src = f.read()
    except OSError as e:
        return ('unreadable', str(e))
    try:
        tree = ast.parse(src, filename=path)
    except SyntaxError as e:
        return ('syntax', e.msg, e.lineno or 0, e.offset or 0)
    fns = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.posonlyargs + a.args
            first_default = len(pos) - len(a.defaults)
            params = [(p.arg, ast.unparse(p.annotation) if p.annotation else None, i >= first_default)
                      for i, p in enumerate(pos)]
            req_kw = any(d is None for d in a.kw_defaults)
            ret = ast.unparse(node.returns) if node.returns else None
            # A later definition replaces an earlier one, as when run.
            fns[node.name] = (node.name, node.lineno, params, a.vararg is not None, req_kw, ret,
                              isinstance(node, ast.AsyncFunctionDef))
    return ('module', list(fns.values()))
";

type RawFn = (
    String,
    u32,
    Vec<(String, Option<String>, bool)>,
    bool,
    bool,
    Option<String>,
    bool,
);

/// What the `.py` file at `path` defines, from its syntax (it is not run).
pub fn inspect(path: &Path) -> PyInspection {
    Python::attach(|py| {
        let r = (|| -> PyResult<PyInspection> {
            let m = PyModule::from_code(py, INSPECT_PY, c"ksc_inspect.py", c"ksc_inspect")?;
            let v = m
                .getattr("inspect")?
                .call1((path.to_string_lossy().as_ref(),))?;
            let tag: String = v.get_item(0)?.extract()?;
            Ok(match tag.as_str() {
                "unreadable" => PyInspection::Unreadable(v.get_item(1)?.extract()?),
                "syntax" => PyInspection::SyntaxError {
                    message: v.get_item(1)?.extract()?,
                    line: v.get_item(2)?.extract()?,
                    col: v.get_item(3)?.extract()?,
                },
                _ => {
                    let raw: Vec<RawFn> = v.get_item(1)?.extract()?;
                    PyInspection::Module(PyModuleInfo {
                        functions: raw
                            .into_iter()
                            .map(|(name, line, params, varargs, req_kw, returns, is_async)| {
                                PyFunction {
                                    name,
                                    line,
                                    params: params
                                        .into_iter()
                                        .map(|(name, annotation, has_default)| PyParam {
                                            name,
                                            annotation,
                                            has_default,
                                        })
                                        .collect(),
                                    varargs,
                                    required_keyword_only: req_kw,
                                    returns,
                                    is_async,
                                }
                            })
                            .collect(),
                    })
                }
            })
        })();
        r.unwrap_or_else(|e| PyInspection::Unreadable(format!("the Python bridge failed: {e}")))
    })
}
