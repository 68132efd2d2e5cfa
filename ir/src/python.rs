//! What the Python bridge reports about a `.py` module at compile time
//! (not part of [`Module`](crate::Module)): the bridge plugin answers
//! ksc's question in this shape, as RON, and the midend checks calls
//! against it. The module is parsed, never run, at compile time.

use serde::{Deserialize, Serialize};

/// The outcome of inspecting one `.py` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PyInspection {
    /// The file parses: what it defines.
    Module(PyModuleInfo),
    /// The file does not parse.
    SyntaxError {
        /// Python's message (`invalid syntax`).
        message: String,
        /// 1-based line, 0 when unknown.
        line: u32,
        /// 1-based column, 0 when unknown.
        col: u32,
    },
    /// The file could not be read (missing, unreadable), or the bridge
    /// failed: why.
    Unreadable(String),
}

/// The top-level functions of a module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyModuleInfo {
    /// Each top-level `def` (the last one of a name, as when run).
    pub functions: Vec<PyFunction>,
}

/// A top-level `def`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyFunction {
    /// The function's name.
    pub name: String,
    /// 1-based line of the `def`.
    pub line: u32,
    /// Positional parameters, in order.
    pub params: Vec<PyParam>,
    /// Has `*args`: any number of further positional arguments.
    pub varargs: bool,
    /// Has keyword-only parameters without defaults (cannot be called
    /// positionally).
    pub required_keyword_only: bool,
    /// The return annotation as written (`int`, `'int'`, `None`), if any.
    pub returns: Option<String>,
    /// `async def` (cannot be called from KernelScript).
    pub is_async: bool,
}

/// A positional parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyParam {
    /// The parameter's name.
    pub name: String,
    /// The annotation as written, if any.
    pub annotation: Option<String>,
    /// It has a default value (the argument may be left out).
    pub has_default: bool,
}
