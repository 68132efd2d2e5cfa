//! The C API of `include/ksc_python.h`, for the C loader (which links the
//! static library). The last error is kept for `ksc_py_report`.

use std::ffi::{c_char, c_int, c_longlong, c_ulonglong, c_void, CStr};
use std::sync::Mutex;

use crate::{call, Arg, PyError, Ret, RetKind};

pub const KSC_PY_VOID: c_int = 0;
pub const KSC_PY_BOOL: c_int = 1;
pub const KSC_PY_INT: c_int = 2;
pub const KSC_PY_UINT: c_int = 3;
pub const KSC_PY_STR: c_int = 4;

/// `struct ksc_py_arg`.
#[repr(C)]
pub struct KscPyArg {
    pub kind: c_int,
    pub i: c_longlong,
    pub u: c_ulonglong,
    pub s: *const c_char,
}

static LAST: Mutex<Option<PyError>> = Mutex::new(None);

fn fail(call: String, kind: &str, message: String) -> c_int {
    let e = PyError {
        call,
        kind: kind.into(),
        traceback: format!("{kind}: {message}"),
        message,
    };
    *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
    -1
}

/// # Safety
/// `module` and `function` are NUL-terminated; `args` points to `nargs`
/// arguments whose strings are NUL-terminated; `ret` has `ret_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn ksc_py_call(
    module: *const c_char,
    function: *const c_char,
    args: *const KscPyArg,
    nargs: c_int,
    ret_kind: c_int,
    ret: *mut c_void,
    ret_size: usize,
) -> c_int {
    let r = std::panic::catch_unwind(|| {
        let module = CStr::from_ptr(module).to_string_lossy().into_owned();
        let function = CStr::from_ptr(function).to_string_lossy().into_owned();
        let what = format!("{module}.{function}()");
        let raw: &[KscPyArg] = if nargs > 0 {
            std::slice::from_raw_parts(args, nargs as usize)
        } else {
            &[]
        };
        let mut strs = Vec::new();
        for a in raw {
            if a.kind == KSC_PY_STR {
                match CStr::from_ptr(a.s).to_str() {
                    Ok(s) => strs.push(s),
                    Err(_) => {
                        return fail(
                            what,
                            "UnicodeError",
                            "a string argument is not valid UTF-8".into(),
                        )
                    }
                }
            }
        }
        let mut strs = strs.into_iter();
        let conv: Vec<Arg> = raw
            .iter()
            .map(|a| match a.kind {
                KSC_PY_BOOL => Arg::Bool(a.i != 0),
                KSC_PY_UINT => Arg::UInt(a.u),
                KSC_PY_STR => Arg::Str(strs.next().unwrap_or("")),
                _ => Arg::Int(a.i),
            })
            .collect();
        let kind = match ret_kind {
            KSC_PY_VOID => RetKind::Void,
            KSC_PY_BOOL => RetKind::Bool,
            KSC_PY_INT | KSC_PY_UINT => RetKind::Int {
                signed: ret_kind == KSC_PY_INT,
                bits: (ret_size * 8) as u32,
            },
            _ => RetKind::Str { cap: ret_size },
        };
        match call(&module, &function, &conv, kind) {
            Ok(v) => {
                write_ret(v, ret as *mut u8, ret_size);
                0
            }
            Err(e) => {
                *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                -1
            }
        }
    });
    r.unwrap_or_else(|_| {
        fail(
            "Python call".into(),
            "SystemError",
            "the Python bridge panicked".into(),
        )
    })
}

unsafe fn write_ret(v: Ret, out: *mut u8, size: usize) {
    match v {
        Ret::Void => {}
        Ret::Bool(b) => *out = u8::from(b),
        Ret::Int(n) => {
            // Little or big endian: the low `size` bytes in native order.
            let bytes = (n as u64).to_ne_bytes();
            let src = if cfg!(target_endian = "big") {
                &bytes[8 - size..]
            } else {
                &bytes[..size]
            };
            std::ptr::copy_nonoverlapping(src.as_ptr(), out, size);
        }
        Ret::Str(s) => {
            std::ptr::copy_nonoverlapping(s.as_ptr(), out, s.len());
            *out.add(s.len()) = 0;
        }
    }
}

/// Print the last error on stderr and forget it; 0 when there was none.
#[no_mangle]
pub extern "C" fn ksc_py_report() -> c_int {
    let e = LAST.lock().unwrap_or_else(|e| e.into_inner()).take();
    match e {
        Some(e) => {
            eprint!("{}", e.report());
            1
        }
        None => 0,
    }
}
