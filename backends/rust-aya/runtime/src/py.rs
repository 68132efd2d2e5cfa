//! The program's Python calls (`import m from "x.py"`), through the run-time
//! crate of the KernelScript Python bridge (`ksc-python-runtime/`): the same
//! conversions, range checks and errors as the C loader's `ksc_py_call`.
//! A failed call throws `PYTHON_ERROR`; the error is kept for the report
//! of an uncaught throw (Python's type, message and traceback). Built
//! with the `python` feature, which a program importing Python turns on.

use std::sync::Mutex;

use crate::plain::KStr;
use crate::state as rt;
use ksc_python_runtime::{call, Arg, PyError, Ret, RetKind};

/// KernelScript's built-in `PYTHON_ERROR`.
pub const PYTHON_ERROR: i64 = 0x7079;

/// The last failed call's error.
static LAST: Mutex<Option<PyError>> = Mutex::new(None);

/// An argument: signed or unsigned integer, bool, `str(N)` text.
pub enum A<'a> {
    I(i64),
    U(u64),
    B(bool),
    S(&'a [u8]),
}

fn fail(e: PyError) -> i64 {
    *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
    PYTHON_ERROR
}

fn bridge_error(call: String, kind: &str, message: &str) -> i64 {
    fail(PyError {
        call,
        kind: kind.into(),
        message: message.into(),
        traceback: format!("{kind}: {message}"),
    })
}

fn run(module: &str, function: &str, args: &[A], ret: RetKind) -> Result<Ret, i64> {
    let what = || format!("{module}.{function}()");
    let mut conv = Vec::with_capacity(args.len());
    for a in args {
        conv.push(match *a {
            A::I(n) => Arg::Int(n),
            A::U(n) => Arg::UInt(n),
            A::B(b) => Arg::Bool(b),
            A::S(s) => match std::str::from_utf8(s) {
                Ok(s) => Arg::Str(s),
                Err(_) => {
                    return Err(bridge_error(
                        what(),
                        "UnicodeError",
                        "a string argument is not valid UTF-8",
                    ))
                }
            },
        });
    }
    match std::panic::catch_unwind(|| call(module, function, &conv, ret)) {
        Ok(r) => r.map_err(fail),
        Err(_) => Err(bridge_error(
            "Python call".into(),
            "SystemError",
            "the Python bridge panicked",
        )),
    }
}

/// A call whose result is discarded.
pub fn void(module: &str, function: &str, args: &[A]) -> Result<(), i64> {
    run(module, function, args, RetKind::Void).map(|_| ())
}

pub fn boolean(module: &str, function: &str, args: &[A]) -> Result<bool, i64> {
    match run(module, function, args, RetKind::Bool)? {
        Ret::Bool(b) => Ok(b),
        _ => Ok(false),
    }
}

/// An integer result, within the range of `bits` bits (the caller casts).
pub fn int(module: &str, function: &str, args: &[A], signed: bool, bits: u32) -> Result<i128, i64> {
    match run(module, function, args, RetKind::Int { signed, bits })? {
        Ret::Int(n) => Ok(n),
        _ => Ok(0),
    }
}

/// A `str(N)` result (at most N - 1 bytes, checked by the bridge).
pub fn string<const N: usize>(module: &str, function: &str, args: &[A]) -> Result<KStr<N>, i64> {
    match run(module, function, args, RetKind::Str { cap: N })? {
        Ret::Str(s) => Ok(KStr::new(&s)),
        _ => Ok(KStr([0; N])),
    }
}

/// An uncaught throw: Python's report first when a Python call threw
/// (exit status 1), else the runtime's.
pub fn uncaught(err: i64) -> ! {
    if err == PYTHON_ERROR {
        let e = LAST.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(e) = e {
            eprint!("{}", e.report());
            rt::cleanup();
            std::process::exit(1);
        }
    }
    rt::uncaught(err)
}
