//! The Python bridge plugin (`python-bridge/`): `libksc_python_bridge.so`,
//! found in the plugin search path and loaded only when a program imports
//! a `.py` module, so ksc runs without Python otherwise. Unlike backends
//! it exports plain C functions (`ksc_python_*`), loaded with libloading;
//! its answers are RON text ([`ksc_ir::python`]).

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};

use ksc_ir::python::PyInspection;

use crate::Registry;

/// The bridge's file name.
pub const FILE: &str = "libksc_python_bridge.so";
/// Its static library, next to it, for the C loader.
pub const STATIC_LIB: &str = "libksc_python_bridge.a";
/// The interface version this ksc speaks (`ksc_python_plugin_abi`).
pub const PLUGIN_ABI: u32 = 2;

type InspectFn = unsafe extern "C" fn(*const c_char) -> *mut c_char;
type FreeFn = unsafe extern "C" fn(*mut c_char);
type StrFn = unsafe extern "C" fn() -> *const c_char;

/// A loaded bridge.
pub struct PythonBridge {
    pub path: PathBuf,
    inspect: InspectFn,
    free: FreeFn,
    /// The C loader's link flags for the static library.
    pub ldflags: String,
    /// The C header of the run-time API (`ksc_python.h`).
    pub header: String,
    /// The Python interpreter the bridge embeds (for Rust loaders' pyo3).
    pub executable: String,
    // Kept loaded for the function pointers above.
    _lib: libloading::Library,
}

impl PythonBridge {
    /// Find and load the bridge from the registry's directories.
    pub fn load(registry: &Registry) -> Result<PythonBridge, String> {
        let Some(path) = registry
            .dirs()
            .iter()
            .map(|d| d.join(FILE))
            .find(|p| p.is_file())
        else {
            return Err(format!(
                "`{FILE}` was not found in the plugin directories ({})",
                registry
                    .dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        Self::load_file(&path)
    }

    /// Load the bridge from a file.
    pub fn load_file(path: &Path) -> Result<PythonBridge, String> {
        // Global symbols: Python's own extension modules, loaded by the
        // interpreter later, resolve libpython's symbols through them.
        let lib = unsafe {
            libloading::os::unix::Library::open(
                Some(path),
                libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
            )
        }
        .map(libloading::Library::from)
        .map_err(|e| format!("cannot load `{}`: {e}", path.display()))?;
        unsafe {
            let abi: libloading::Symbol<unsafe extern "C" fn() -> u32> = lib
                .get(b"ksc_python_plugin_abi\0")
                .map_err(|e| format!("`{}` is not a ksc Python bridge: {e}", path.display()))?;
            let v = abi();
            if v != PLUGIN_ABI {
                return Err(format!(
                    "`{}` speaks bridge interface {v}, this ksc speaks {PLUGIN_ABI}: rebuild it with this ksc",
                    path.display()
                ));
            }
            let sym = |name: &[u8]| -> Result<StrFn, String> {
                lib.get::<StrFn>(name)
                    .map(|s| *s)
                    .map_err(|e| format!("`{}`: {e}", path.display()))
            };
            let text = |f: StrFn| CStr::from_ptr(f()).to_string_lossy().into_owned();
            let ldflags = text(sym(b"ksc_python_ldflags\0")?);
            let header = text(sym(b"ksc_python_header\0")?);
            let executable = text(sym(b"ksc_python_executable\0")?);
            let inspect = *lib
                .get::<InspectFn>(b"ksc_python_inspect\0")
                .map_err(|e| format!("`{}`: {e}", path.display()))?;
            let free = *lib
                .get::<FreeFn>(b"ksc_python_free\0")
                .map_err(|e| format!("`{}`: {e}", path.display()))?;
            Ok(PythonBridge {
                path: path.to_path_buf(),
                inspect,
                free,
                ldflags,
                header,
                executable,
                _lib: lib,
            })
        }
    }

    /// What the `.py` file defines (parsed, not run).
    pub fn inspect(&self, file: &Path) -> Result<PyInspection, String> {
        let c = CString::new(file.to_string_lossy().as_bytes())
            .map_err(|_| "the path contains a NUL byte".to_string())?;
        let text = unsafe {
            let p = (self.inspect)(c.as_ptr());
            if p.is_null() {
                return Err("the Python bridge gave no answer".into());
            }
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            (self.free)(p);
            s
        };
        ron::from_str(&text).map_err(|e| format!("malformed answer from the Python bridge: {e}"))
    }

    /// The static library the C loader links, next to the plugin.
    pub fn static_lib(&self) -> PathBuf {
        self.path.with_file_name(STATIC_LIB)
    }
}
