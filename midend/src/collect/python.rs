//! Collecting `import m from "x.py"`: the Python bridge inspects the
//! file and the module is entered as [`Sym::PyModule`]; and checking
//! `exec("x.py")`'s script (docs/language.md, "Python imports", "`exec`
//! into Python"). The shared state is in `crate::python`.

use ksc_frontend::diag::codes;
use std::path::{Path, PathBuf};

use ksc_frontend::ast;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::python::{PyInspection, PyModuleInfo};
use ksc_ir::PyModuleId;

use crate::checker::{suggest, Checker, Sym};

impl<'a> Checker<'a> {
    /// The directory of source file `file`, which `import` and `exec`
    /// paths are relative to.
    fn source_dir(&self, file: ksc_frontend::FileId) -> PathBuf {
        let from = self
            .py
            .file_names
            .get(file.0 as usize)
            .cloned()
            .unwrap_or_default();
        Path::new(&from)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// `import name from "x.py"`: resolve the file, inspect it, define
    /// `name`.
    pub(crate) fn collect_python_import(&mut self, imp: &ast::ImportDecl) {
        let span = imp.path.span;
        let dir = self.source_dir(span.file);
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
                codes::PYTHON,
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
                codes::PYTHON,
                span,
                format!("`{module}` is not a valid Python module name"),
            )
            .help =
                Some("name the file like a Python identifier (`stats.py`, `ml_model.py`)".into());
            return None;
        }
        let Some(bridge) = self.py.bridge else {
            self.error(
                codes::PYTHON,
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
                    codes::PYTHON,
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
                    codes::PYTHON,
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
                    codes::PYTHON,
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

impl<'a> Checker<'a> {
    /// `exec("x.py")`'s argument (docs/language.md, "`exec` into Python"):
    /// a string literal naming a `.py` file that exists, relative to the
    /// calling file. Returns the name the build copies it under, next to
    /// the executable; `None` when reported.
    pub(crate) fn exec_script(&mut self, arg: &ast::Expr) -> Option<String> {
        let ast::ExprKind::Str(written) = &arg.kind else {
            self.error(codes::EXEC, arg.span, "`exec` takes the script's path as a string literal")
                .help = Some(
                "write the path in the call, e.g. `exec(\"report.py\")`: the build copies the script next to the executable"
                    .into(),
            );
            return None;
        };
        if !written.ends_with(".py") {
            let d = self.error(
                codes::EXEC,
                arg.span,
                format!("`exec` runs Python scripts, and `{written}` does not end in `.py`"),
            );
            d.label = "not a `.py` file".into();
            d.help = Some(
                "`exec` replaces the program with `python3 SCRIPT.py`; name the script with `.py`, e.g. `exec(\"report.py\")`"
                    .into(),
            );
            return None;
        }
        let dir = self.source_dir(arg.span.file);
        let path: PathBuf = dir.join(written);
        let file = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_file() {
            let d = self.error(
                codes::PYTHON,
                arg.span,
                format!("cannot find Python script `{written}`"),
            );
            d.label = format!("looked for {}", path.display());
            let others: Vec<String> = std::fs::read_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &dir
            })
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".py"))
                    .collect()
            })
            .unwrap_or_default();
            d.help = Some(match suggest(&file, others.iter().map(|s| s.as_str())) {
                Some(h) => format!("a similar file exists: `{h}`"),
                None => "the path is relative to the file that calls `exec`".into(),
            });
            return None;
        }
        let main = self.py.file_names.first().cloned().unwrap_or_default();
        let module = format!("{}.py", crate::imports::project_name(&main));
        if file == module {
            let d = self.error(codes::PYTHON,
                arg.span,
                format!("the script cannot be named `{module}`: the build writes the program's map module under that name"),
            );
            d.label = "named like the map module".into();
            d.help = Some(format!(
                "rename the script (e.g. `{}_main.py`); it reads the maps with `import {}`",
                module.trim_end_matches(".py"),
                module.trim_end_matches(".py")
            ));
            return None;
        }
        let same_file = |p: &str| {
            let a = std::fs::canonicalize(p).ok();
            a.is_some() && a == std::fs::canonicalize(&path).ok()
        };
        let clash = self
            .py
            .exec_scripts
            .iter()
            .map(|s| (s.file.clone(), s.path.clone(), s.span, "run by `exec` here"))
            .chain(self.py.modules.iter().map(|m| {
                (
                    format!("{}.py", m.module),
                    m.path.clone(),
                    m.span,
                    "imported here",
                )
            }))
            .find(|(f, p, _, _)| *f == file && !same_file(p));
        if let Some((_, other, span, what)) = clash {
            let d = self.error(
                codes::EXEC,
                arg.span,
                format!("another file named `{file}` is already copied next to the executable"),
            );
            d.secondary.push((span, what.into()));
            d.notes.push(format!("that one is {other}"));
            d.help = Some(
                "the build copies Python files next to the executable by file name: rename one of them"
                    .into(),
            );
            return None;
        }
        if !self.py.exec_scripts.iter().any(|s| s.file == file) {
            self.py.exec_scripts.push(ir::ExecScript {
                file: file.clone(),
                path: path.to_string_lossy().into_owned(),
                span: arg.span,
            });
        }
        Some(file)
    }
}
