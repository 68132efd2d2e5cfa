//! The bridge's Rust API, as a Rust loader uses it: inspecting a module at
//! compile time, calling it at run time with conversions and errors.

use std::path::PathBuf;

use ksc_ir::python::PyInspection;
use ksc_python_bridge::{call, inspect, Arg, Ret, RetKind};

fn module_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksc-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bridge_mod.py"),
        r#"
def add(a: int, b: int = 1, *rest) -> int:
    return a + b + sum(rest)

async def later():
    pass

def kw(*, needed):
    return needed

def upper(s: str) -> str:
    return s.upper()

def flag(b):
    return not b

def boom():
    raise KeyError("nope")
"#,
    )
    .unwrap();
    std::fs::write(dir.join("bad_mod.py"), "def f(:\n    pass\n").unwrap();
    dir
}

#[test]
fn inspect_reports_defs_and_syntax_errors_without_running() {
    let dir = module_dir();
    let PyInspection::Module(info) = inspect(&dir.join("bridge_mod.py")) else {
        panic!("not inspected")
    };
    let add = info.functions.iter().find(|f| f.name == "add").unwrap();
    assert_eq!(add.line, 2);
    assert_eq!(add.returns.as_deref(), Some("int"));
    assert_eq!(add.params.len(), 2);
    assert!(!add.params[0].has_default && add.params[1].has_default);
    assert_eq!(add.params[0].annotation.as_deref(), Some("int"));
    assert!(add.varargs);
    assert!(info
        .functions
        .iter()
        .any(|f| f.name == "later" && f.is_async));
    assert!(info
        .functions
        .iter()
        .any(|f| f.name == "kw" && f.required_keyword_only));
    match inspect(&dir.join("bad_mod.py")) {
        PyInspection::SyntaxError { line, .. } => assert_eq!(line, 1),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        inspect(&dir.join("absent.py")),
        PyInspection::Unreadable(_)
    ));
}

#[test]
fn calls_convert_and_range_check() {
    let dir = module_dir();
    std::env::set_var(ksc_python_bridge::PATH_VAR, &dir);
    let int32 = RetKind::Int {
        signed: true,
        bits: 32,
    };
    assert_eq!(
        call("bridge_mod", "add", &[Arg::Int(40), Arg::UInt(2)], int32),
        Ok(Ret::Int(42))
    );
    assert_eq!(
        call(
            "bridge_mod",
            "upper",
            &[Arg::Str("ks")],
            RetKind::Str { cap: 8 }
        ),
        Ok(Ret::Str("KS".into()))
    );
    assert_eq!(
        call("bridge_mod", "flag", &[Arg::Bool(false)], RetKind::Bool),
        Ok(Ret::Bool(true))
    );
    let e = call(
        "bridge_mod",
        "add",
        &[Arg::Int(250), Arg::Int(10)],
        RetKind::Int {
            signed: false,
            bits: 8,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, "OverflowError");
    let e = call(
        "bridge_mod",
        "upper",
        &[Arg::Str("long string")],
        RetKind::Str { cap: 4 },
    )
    .unwrap_err();
    assert_eq!(e.kind, "ValueError");
    let e = call("bridge_mod", "flag", &[Arg::Bool(true)], int32).unwrap_err();
    assert_eq!(e.kind, "TypeError");
    let e = call("bridge_mod", "boom", &[], RetKind::Void).unwrap_err();
    assert_eq!(
        (e.kind.as_str(), e.call.as_str()),
        ("KeyError", "bridge_mod.boom()")
    );
    assert!(e.report().contains("in boom"), "{}", e.report());
    let e = call("no_such_mod", "f", &[], RetKind::Void).unwrap_err();
    assert_eq!(e.kind, "ModuleNotFoundError");
}
