//! `import m from "x.py"`: Python modules called from userspace code.
//!
//! Collection asks the Python bridge (a plugin ksc loads only for this,
//! behind [`PythonBridge`]) what the file defines — its syntax, not by
//! running it — and enters the module as [`Sym::PyModule`]. Lowering
//! checks each call `m.f(args)` against the `def`: it exists, it is called
//! from userspace, the argument count and the annotated parameter types
//! fit; and types its result: the annotation (`-> int`, `-> bool`,
//! `-> str`, `-> None`), else the type the context expects (a typed
//! `var`, a parameter, a return), else the call is an error asking for
//! one. The call becomes [`ir::Callee::Python`], which throws
//! `PYTHON_ERROR` when Python raises or the result does not convert
//! (docs/language.md, "Python imports"). Calls are lowered in
//! `lower/python.rs`.

use std::path::{Path, PathBuf};

use ksc_frontend::ast;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::python::{PyInspection, PyModuleInfo};
use ksc_ir::PyModuleId;

use crate::checker::{suggest, Checker, Sym};

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
    /// What each module defines; `None` when it could not be inspected
    /// (already reported: its calls are not checked further).
    pub(crate) info: Vec<Option<PyModuleInfo>>,
}

/// Does this import name a Python module?
pub(crate) fn is_python_import(imp: &ast::ImportDecl) -> bool {
    imp.path.value.ends_with(".py")
}

impl<'a> Checker<'a> {
    /// `import name from "x.py"`: resolve the file, inspect it, define
    /// `name`.
    pub(crate) fn collect_python_import(&mut self, imp: &ast::ImportDecl) {
        let span = imp.path.span;
        let from = self
            .py
            .file_names
            .get(span.file.0 as usize)
            .cloned()
            .unwrap_or_default();
        let dir = Path::new(&from)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path: PathBuf = dir.join(&imp.path.value);
        let module = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = PyModuleId(self.py.modules.len() as u32);
        let info = self.inspect_python(imp, &path, &dir, &module);
        if let Some(prev) = self.py.modules.iter().find(|m| m.module == module) {
            let prev = prev.span;
            let d = self.error(
                span,
                format!("a Python module named `{module}` is already imported"),
            );
            d.secondary.push((prev, "imported here".into()));
            d.help = Some(
                "the executable imports Python modules by file name: rename one of the files"
                    .into(),
            );
        }
        self.py.modules.push(ir::PyModule {
            name: imp.name.name.clone(),
            module,
            path: path.to_string_lossy().into_owned(),
            span: Span {
                end: span.end,
                ..imp.name.span
            },
        });
        self.py.info.push(info);
        self.define(&imp.name, Sym::PyModule(id));
    }

    fn inspect_python(
        &mut self,
        imp: &ast::ImportDecl,
        path: &Path,
        dir: &Path,
        module: &str,
    ) -> Option<PyModuleInfo> {
        let span = imp.path.span;
        if !module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || module.starts_with(|c: char| c.is_ascii_digit())
        {
            self.error(
                span,
                format!("`{module}` is not a valid Python module name"),
            )
            .help =
                Some("name the file like a Python identifier (`stats.py`, `ml_model.py`)".into());
            return None;
        }
        let Some(bridge) = self.py.bridge else {
            self.error(
                span,
                "Python imports need the Python bridge, which this check has not loaded",
            )
            .help =
                Some("build with `ksc build` or `ksc check`, which load the bridge plugin".into());
            return None;
        };
        match bridge.inspect(path) {
            Err(why) => {
                let d = self.error(
                    span,
                    format!(
                        "cannot import `{}`: the Python bridge is not available",
                        imp.path.value
                    ),
                );
                d.notes.push(why);
                d.help = Some(
                    "Python imports need libpython 3 (Debian: `apt-get install libpython3-dev`) and ksc's bridge plugin, libksc_python_bridge.so, next to ksc or in KSC_PLUGIN_PATH"
                        .into(),
                );
                None
            }
            Ok(PyInspection::Unreadable(why)) => {
                let d = self.error(
                    span,
                    format!("cannot find Python module `{}`", imp.path.value),
                );
                d.label = format!("looked for {}", path.display());
                d.notes.push(why);
                let others: Vec<String> = std::fs::read_dir(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                })
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            let n = e.file_name().to_string_lossy().into_owned();
                            n.strip_suffix(".py").map(String::from)
                        })
                        .collect()
                })
                .unwrap_or_default();
                let hint = suggest(module, others.iter().map(|s| s.as_str()));
                d.help = Some(match hint {
                    Some(h) => format!("a similar file exists: `{h}.py`"),
                    None => "the path is relative to the importing file".into(),
                });
                None
            }
            Ok(PyInspection::SyntaxError { message, line, col }) => {
                let at = if col > 0 {
                    format!("{}:{line}:{col}", path.display())
                } else {
                    format!("{}:{line}", path.display())
                };
                let d = self.error(
                    span,
                    format!(
                        "syntax error in Python module `{}`: {at}: {message}",
                        imp.path.value
                    ),
                );
                d.label = "imported here".into();
                None
            }
            Ok(PyInspection::Module(info)) => Some(info),
        }
    }
}
