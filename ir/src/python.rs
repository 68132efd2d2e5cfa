//! What the Python bridge reports about a `.py` module at compile time
//! (not part of [`Module`](crate::Module)): the bridge plugin answers
//! ksc's question in this shape, as RON, and the midend checks calls
//! against it. The module is parsed, never run, at compile time.

use serde::{Deserialize, Serialize};

/// The outcome of inspecting one `.py` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PyInspection {
    Module(PyModuleInfo),
    /// The file does not parse: Python's message, 1-based line and column
    /// (0 when unknown).
    SyntaxError {
        message: String,
        line: u32,
        col: u32,
    },
    /// The file could not be read (missing, unreadable).
    Unreadable(String),
}

/// The top-level functions of a module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyModuleInfo {
    pub functions: Vec<PyFunction>,
}

/// A top-level `def`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyFunction {
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyParam {
    pub name: String,
    /// The annotation as written, if any.
    pub annotation: Option<String>,
    pub has_default: bool,
}
