//! # The run-time half of the KernelScript Python bridge
//!
//! What a loader calls for `import m from "x.py"` (docs/language.md,
//! "Python imports"): [`call`] imports the module on first use, calls a
//! function and converts its result; every failure is a [`PyError`], which
//! the loader throws as `PYTHON_ERROR`. `ksc-python-bridge` re-exports it
//! (and wraps it in a C API for the C loader); a generated Rust/aya
//! project depends on this crate directly: the rust-aya backend writes
//! these sources into the project (`ksc-python-runtime/`), so the project
//! builds on its own, wherever ksc is installed. Hence this crate's
//! manifest inherits nothing from the ksc workspace.
//!
//! At run time a module is imported on first use from the directories of
//! `$KSC_PYTHON_PATH` ([`PATH_VAR`], colon-separated) if set, else from the
//! executable's directory, where `ksc build` copies the `.py` file. The
//! interpreter is initialised once, on the first call. Arguments convert
//! naturally (integers, `bool`, strings); the result converts to the
//! type the call site expects ([`RetKind`]), range-checked.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

/// Directories to import modules from at run time, instead of the
/// executable's directory.
pub const PATH_VAR: &str = "KSC_PYTHON_PATH";

/// An argument of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    Int(i64),
    UInt(u64),
    Bool(bool),
    Str(&'a str),
}

/// The type a call's result converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// Discarded (a call used as a statement).
    Void,
    Bool,
    /// An integer of `bits` bits (8, 16, 32, 64), signed or not.
    Int {
        signed: bool,
        bits: u32,
    },
    /// A string of at most `cap - 1` bytes (KernelScript `str(cap)`).
    Str {
        cap: usize,
    },
}

/// A converted result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ret {
    Void,
    Bool(bool),
    /// Within the range [`RetKind::Int`] asked for.
    Int(i128),
    Str(String),
}

/// A failed call: what was called, Python's exception type and message,
/// and the formatted traceback (ending with `Type: message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyError {
    /// `module.function()`.
    pub call: String,
    /// The exception's type name (`ValueError`), or `ImportError` /
    /// `OverflowError` / `TypeError` for the bridge's own failures.
    pub kind: String,
    pub message: String,
    pub traceback: String,
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.call, self.kind, self.message)
    }
}

impl PyError {
    /// The report of an uncaught error, as the loaders print it on stderr.
    pub fn report(&self) -> String {
        let mut s = format!(
            "error: uncaught PYTHON_ERROR: {} raised {}: {}\n",
            self.call, self.kind, self.message
        );
        if !self.traceback.is_empty() {
            s.push_str(&self.traceback);
            if !self.traceback.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }
}

/// Imported modules, by name.
static MODULES: Mutex<Option<HashMap<String, Py<PyModule>>>> = Mutex::new(None);

fn import_dirs() -> Vec<String> {
    if let Ok(p) = std::env::var(PATH_VAR) {
        return p
            .split(':')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.to_string_lossy().into_owned()))
        .into_iter()
        .collect()
}

fn module<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyModule>> {
    let mut guard = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    let first = guard.is_none();
    let cache = guard.get_or_insert_with(HashMap::new);
    if first {
        // Once: the module directories go first on sys.path, so the
        // module (and the modules next to it that it imports) are found.
        let path = py.import("sys")?.getattr("path")?;
        for (i, d) in import_dirs().into_iter().enumerate() {
            path.call_method1("insert", (i, d))?;
        }
    }
    if let Some(m) = cache.get(name) {
        return Ok(m.bind(py).clone());
    }
    let m = py.import(name)?;
    cache.insert(name.to_string(), m.clone().unbind());
    Ok(m)
}

/// Call `module.function(args)` and convert its result to `ret`.
pub fn call(module_name: &str, function: &str, args: &[Arg], ret: RetKind) -> Result<Ret, PyError> {
    // Only failures need the call's name: the common path formats nothing.
    let what = || format!("{module_name}.{function}()");
    Python::attach(|py| {
        let m = module(py, module_name).map_err(|e| {
            let mut err = py_error(py, &what(), &e);
            err.message = format!(
                "{} (module `{module_name}` could not be imported from {}; the build copies `{module_name}.py` next to the executable, or set {PATH_VAR})",
                err.message,
                import_dirs().join(":")
            );
            err
        })?;
        let result = (|| -> PyResult<Bound<'_, PyAny>> {
            let f = m.getattr(function)?;
            let mut items = Vec::with_capacity(args.len());
            for a in args {
                items.push(match *a {
                    Arg::Int(n) => n.into_bound_py_any(py)?,
                    Arg::UInt(n) => n.into_bound_py_any(py)?,
                    Arg::Bool(b) => b.into_bound_py_any(py)?,
                    Arg::Str(s) => s.into_bound_py_any(py)?,
                });
            }
            f.call1(PyTuple::new(py, items)?)
        })()
        .map_err(|e| py_error(py, &what(), &e))?;
        convert(&result, ret).map_err(|(kind, message)| PyError {
            call: what(),
            traceback: format!("{kind}: {message}"),
            kind: kind.into(),
            message,
        })
    })
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Convert a result; the error is (exception type, message).
fn convert(v: &Bound<'_, PyAny>, ret: RetKind) -> Result<Ret, (&'static str, String)> {
    match ret {
        RetKind::Void => Ok(Ret::Void),
        RetKind::Bool => {
            if v.is_instance_of::<PyBool>() {
                Ok(Ret::Bool(v.is_truthy().unwrap_or(false)))
            } else {
                Err((
                    "TypeError",
                    format!("the result must be a bool, got {}", type_name(v)),
                ))
            }
        }
        RetKind::Int { signed, bits } => {
            let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
            if !v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
                return Err((
                    "TypeError",
                    format!(
                        "the result must be an int (for `{ty}`), got {}",
                        type_name(v)
                    ),
                ));
            }
            let (lo, hi): (i128, i128) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            let text = v.str().map(|s| s.to_string()).unwrap_or_default();
            match v.extract::<i128>() {
                Ok(n) if n >= lo && n <= hi => Ok(Ret::Int(n)),
                _ => Err((
                    "OverflowError",
                    format!("the result {text} does not fit in `{ty}` ({lo}..={hi})"),
                )),
            }
        }
        RetKind::Str { cap } => {
            if !v.is_instance_of::<PyString>() {
                return Err((
                    "TypeError",
                    format!("the result must be a str, got {}", type_name(v)),
                ));
            }
            let s: String = v
                .extract()
                .map_err(|_| ("UnicodeError", "the result is not valid UTF-8".to_string()))?;
            if s.len() + 1 > cap || s.contains('\0') {
                return Err((
                    "ValueError",
                    format!(
                        "the result string of {} bytes does not fit in `str({cap})` (at most {} bytes, no NUL)",
                        s.len(),
                        cap.saturating_sub(1)
                    ),
                ));
            }
            Ok(Ret::Str(s))
        }
    }
}

fn py_error(py: Python<'_>, call: &str, e: &PyErr) -> PyError {
    let kind = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let message = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let traceback = (|| -> PyResult<String> {
        let tb = py.import("traceback")?;
        let lines = tb.call_method1(
            "format_exception",
            (e.get_type(py), e.value(py), e.traceback(py)),
        )?;
        Ok(lines.extract::<Vec<String>>()?.concat())
    })()
    .unwrap_or_else(|_| format!("{kind}: {message}\n"));
    PyError {
        call: call.to_string(),
        kind,
        message,
        traceback,
    }
}
