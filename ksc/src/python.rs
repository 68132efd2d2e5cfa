//! The Python bridge for `import m from "x.py"`: loaded on the first such
//! import (ksc runs without Python otherwise), it answers the midend's
//! questions at compile time and gives the build its static library, link
//! flags, header and interpreter.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use ksc_ir::python::PyInspection;
use ksc_plugins::python::PythonBridge;
use ksc_plugins::Registry;

/// The bridge, loaded when first asked.
#[derive(Default)]
pub(crate) struct LazyBridge {
    cell: OnceCell<Result<PythonBridge, String>>,
}

impl LazyBridge {
    pub(crate) fn get(&self) -> Result<&PythonBridge, String> {
        self.cell
            .get_or_init(|| PythonBridge::load(&Registry::from_env()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// For a program with Python imports: the backends' settings (the
    /// static library, link flags) and the files the build needs beside
    /// the generated ones (the header, the modules, copied next to the
    /// executable).
    #[allow(clippy::type_complexity)]
    pub(crate) fn build_inputs(
        &self,
        module: &ksc_ir::Module,
    ) -> Result<(Vec<(String, String)>, Vec<(PathBuf, Vec<u8>)>), String> {
        let b = self.get()?;
        let lib = b.static_lib();
        // The Makefile runs in the output directory: an absolute path
        // (the plugin directory may be given relative).
        let lib = std::fs::canonicalize(&lib).unwrap_or(lib);
        if !lib.is_file() {
            return Err(format!(
                "the Python bridge's static library `{}` is missing (it is built with the plugin)",
                lib.display()
            ));
        }
        let settings = vec![
            ("python-bridge-lib".to_string(), lib.display().to_string()),
            ("python-ldflags".to_string(), b.ldflags.clone()),
            // What a Rust loader's pyo3 builds against (rust-aya).
            ("python-executable".to_string(), b.executable.clone()),
        ];
        let mut files = vec![(PathBuf::from("ksc_python.h"), b.header.clone().into_bytes())];
        for m in &module.python_modules {
            let text = std::fs::read(&m.path)
                .map_err(|e| format!("cannot read Python module `{}`: {e}", m.path))?;
            files.push((PathBuf::from(format!("{}.py", m.module)), text));
        }
        Ok((settings, files))
    }
}

impl ksc_midend::PythonBridge for LazyBridge {
    fn inspect(&self, path: &Path) -> Result<PyInspection, String> {
        self.get()?.inspect(path)
    }
}
