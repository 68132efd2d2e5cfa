//! The compile-time plugin interface: plain C functions ksc finds with
//! libloading in `libksc_python_bridge.so`, loaded only when a program
//! imports a `.py` file. Answers cross as RON text ([`ksc_ir::python`]).

use std::ffi::{c_char, CStr, CString};
use std::path::Path;

/// Version of this interface; ksc refuses another. 2: `ksc_python_executable`.
pub const PLUGIN_ABI: u32 = 2;

/// The link flags of the static library's dependencies (libpython and
/// the Rust runtime's system libraries), for the C loader's Makefile.
pub const LDFLAGS: &str = env!("KSC_PY_LDFLAGS");

/// The Python pyo3 was built against (PYO3_PYTHON), for the generated
/// Rust/aya projects, whose own pyo3 must embed the same one.
pub const EXECUTABLE: &str = env!("KSC_PY_EXECUTABLE");

/// The C header of the run-time API.
pub const HEADER: &str = include_str!("../include/ksc_python.h");

#[no_mangle]
pub extern "C" fn ksc_python_plugin_abi() -> u32 {
    PLUGIN_ABI
}

/// Inspect the `.py` file at `path`: a [`ksc_ir::python::PyInspection`]
/// as RON, to be freed with [`ksc_python_free`].
///
/// # Safety
/// `path` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ksc_python_inspect(path: *const c_char) -> *mut c_char {
    let path = CStr::from_ptr(path).to_string_lossy().into_owned();
    let r = std::panic::catch_unwind(|| crate::inspect(Path::new(&path))).unwrap_or_else(|_| {
        ksc_ir::python::PyInspection::Unreadable("the Python bridge panicked".into())
    });
    let text = ron::to_string(&r).unwrap_or_default();
    CString::new(text).unwrap_or_default().into_raw()
}

/// # Safety
/// `s` came from [`ksc_python_inspect`].
#[no_mangle]
pub unsafe extern "C" fn ksc_python_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[no_mangle]
pub extern "C" fn ksc_python_ldflags() -> *const c_char {
    static FLAGS: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    FLAGS
        .get_or_init(|| CString::new(LDFLAGS).unwrap_or_default())
        .as_ptr()
}

#[no_mangle]
pub extern "C" fn ksc_python_header() -> *const c_char {
    static H: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    H.get_or_init(|| CString::new(HEADER).unwrap_or_default())
        .as_ptr()
}

#[no_mangle]
pub extern "C" fn ksc_python_executable() -> *const c_char {
    static E: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    E.get_or_init(|| CString::new(EXECUTABLE).unwrap_or_default())
        .as_ptr()
}
