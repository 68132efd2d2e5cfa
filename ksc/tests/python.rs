//! `import m from "x.py"` end to end: `ksc build` programs that import
//! Python modules (the build links the Python bridge and copies the
//! modules next to the executable), run the executables and check stdout,
//! stderr and exit status; and `ksc check` programs whose Python calls are
//! wrong, each error at its line. Needs clang, bpftool, libbpf and
//! Debian's python3 with libpython (`.ci/setup`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn plugin_dir() -> PathBuf {
    // Dev-dependency cdylibs (and the bridge's staticlib) land in
    // target/<profile>/deps.
    Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps")
}

/// A fresh directory holding `prog.ks` and the given files.
fn project(src: &str, files: &[(&str, &str)]) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ksc-py-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("prog.ks"), src).unwrap();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn ksc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(args)
        .current_dir(dir)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap()
}

/// The userspace targets: every program that runs is built and run with
/// each, with the same assertions (the behaviour is the bridge's).
const TARGETS: [&str; 2] = ["c-libbpf", "rust-aya"];

/// `ksc build --target=TARGET prog.ks -o out`; the executable.
fn build(target: &str, src: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = project(src, files);
    let t = format!("--target={target}");
    let o = ksc(&["build", &t, "prog.ks", "-o", "out"], &dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ksc build ({target}) failed:\n{err}");
    // Neither the C compiler nor rustc may warn.
    assert!(
        !err.lines()
            .any(|l| (l.contains(".c:") && l.contains("warning"))
                || l.starts_with("warning: `")
                || l.starts_with("warning[")
                || l.trim_start().starts_with("--> ")),
        "the {target} build warned:\n{err}"
    );
    dir.join("out").join("prog")
}

/// `ksc check prog.ks`: it fails; its stderr.
fn reject(src: &str, files: &[(&str, &str)]) -> String {
    let dir = project(src, files);
    let o = ksc(&["check", "prog.ks"], &dir);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "ksc check accepted it:\n{err}");
    err
}

/// The error `message` is reported at `prog.ks:LINE`.
fn assert_error_at(err: &str, line: u32, message: &str) {
    let lines: Vec<&str> = err.lines().collect();
    let found = lines.iter().enumerate().any(|(i, l)| {
        l.starts_with("error") && l.contains(message) && {
            let at = lines.get(i + 1).copied().unwrap_or("");
            at.contains(&format!("prog.ks:{line}:"))
        }
    });
    assert!(found, "no error `{message}` at prog.ks:{line} in:\n{err}");
}

fn run(exe: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(exe)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

const STATS_PY: &str = r#"
def add(a: int, b: int) -> int:
    return a + b

def greet(name: str) -> str:
    return "hello " + name

def is_even(n: int) -> bool:
    return n % 2 == 0

def fail(msg: str):
    raise ValueError(msg)

def big() -> int:
    return 1 << 40

def triple(x):
    return x * 3

def shout(s):
    return s.upper() + "!"

def negate(b: bool) -> bool:
    return not b
"#;

#[test]
fn annotated_and_unannotated_calls_strings_bools_and_exceptions() {
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let exe = build(
            target,
            r#"
import stats from "stats.py"

fn tripled(x: u32) -> u16 {
    return stats.triple(x)
}

fn show(n: i64) {
    print("show: %d", n)
}

fn main() -> i32 {
    var s = stats.add(40, 2)
    print("add: %d", s)
    var g = stats.greet("ks")
    print("greet: %s", g)
    if (stats.is_even(7)) {
        print("7 even")
    } else {
        print("7 odd")
    }
    var t: u32 = stats.triple(5)
    print("triple: %d", t)
    print("tripled: %d", tripled(7))
    show(stats.triple(-4))
    var loud: str(16) = stats.shout("hi")
    print("shout: %s", loud)
    var b: bool = stats.negate(false)
    print("negate: %d", b)
    try {
        stats.fail("bad input")
        print("not reached")
    } catch PYTHON_ERROR {
        print("caught PYTHON_ERROR")
    }
    try {
        var small: u8 = stats.big()
        print("not reached: %d", small)
    } catch PYTHON_ERROR {
        print("u8 overflow caught")
    }
    try {
        var tiny: str(4) = stats.greet("world")
        print("not reached: %s", tiny)
    } catch _ {
        print("long string caught")
    }
    return 7
}
"#,
            &[("stats.py", STATS_PY)],
        );
        assert!(
            exe.with_file_name("stats.py").is_file(),
            "the module is copied next to the executable"
        );
        let o = run(&exe, &[]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "add: 42\ngreet: hello ks\n7 odd\ntriple: 15\ntripled: 21\nshow: -12\nshout: HI!\nnegate: 1\ncaught PYTHON_ERROR\nu8 overflow caught\nlong string caught\n"
        );
        assert_eq!(
            o.status.code(),
            Some(7),
            "stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn uncaught_python_exception_exits_1_with_type_message_and_traceback() {
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let exe = build(
            target,
            r#"
import stats from "stats.py"

fn check(n: u32) -> u32 {
    stats.fail("the model is missing")
    return n
}

fn main() -> i32 {
    print("before")
    check(1)
    print("not reached")
    return 0
}
"#,
            &[("stats.py", STATS_PY)],
        );
        let o = run(&exe, &[]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "before\n");
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(
                "error: uncaught PYTHON_ERROR: stats.fail() raised ValueError: the model is missing"
            ),
            "{err}"
        );
        assert!(err.contains("Traceback (most recent call last)"), "{err}");
        assert!(err.contains("stats.py\", line 12, in fail"), "{err}");
    }
}

#[test]
fn out_of_range_integer_result_raises() {
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let exe = build(
            target,
            r#"
import stats from "stats.py"
fn main() -> i32 {
    var fits: u64 = stats.big()
    print("u64: %llu", fits)
    var small: i32 = stats.big()
    print("not reached: %d", small)
    return 0
}
"#,
            &[("stats.py", STATS_PY)],
        );
        let o = run(&exe, &[]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "u64: 1099511627776\n");
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(
                "stats.big() raised OverflowError: the result 1099511627776 does not fit in `i32`"
            ),
            "{err}"
        );
    }
}

#[test]
fn module_that_fails_to_import_at_run_time() {
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let src = r#"
import stats from "stats.py"
fn main() -> i32 {
    try {
        print("add: %d", stats.add(1, 2))
    } catch PYTHON_ERROR {
        print("no Python module")
        return 3
    }
    return 0
}
"#;
        let exe = build(target, src, &[("stats.py", STATS_PY)]);
        // Runs with the copied module.
        let o = run(&exe, &[]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "add: 3\n");
        // The override: a directory without the module (caught), and one
        // whose module raises while imported (uncaught by `main` below).
        let empty = exe.parent().unwrap().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let o = run(&exe, &[("KSC_PYTHON_PATH", empty.to_str().unwrap())]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "no Python module\n");
        assert_eq!(o.status.code(), Some(3));

        let exe = build(
            target,
            r#"
import stats from "stats.py"
fn main() -> i32 {
    print("add: %d", stats.add(1, 2))
    return 0
}
"#,
            &[("stats.py", STATS_PY)],
        );
        let broken = exe.parent().unwrap().join("broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(
            broken.join("stats.py"),
            "raise RuntimeError('config file not found')\n",
        )
        .unwrap();
        let o = run(&exe, &[("KSC_PYTHON_PATH", broken.to_str().unwrap())]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("RuntimeError: config file not found"), "{err}");
        assert!(
            err.contains("module `stats` could not be imported"),
            "{err}"
        );
        // And a missing one, uncaught.
        let o = run(&exe, &[("KSC_PYTHON_PATH", empty.to_str().unwrap())]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("ModuleNotFoundError: No module named 'stats'"),
            "{err}"
        );
        assert!(err.contains("KSC_PYTHON_PATH"), "{err}");
    }
}

/// The spec's import example: Python functions called from userspace
/// (a module in a subdirectory), and its eBPF-side call rejected.
#[test]
fn spec_import_example() {
    let py = r#"
def get_model_version() -> int:
    return 3

def compute_threat_score(packet_len: int) -> int:
    return 90 if packet_len > 1000 else 10
"#;
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let exe = build(
            target,
            r#"
import ml_analysis from "./ml/threat_analysis.py"

@xdp
fn intelligent_filter(ctx: *xdp_md) -> xdp_action {
    return XDP_PASS
}

fn main() -> i32 {
    var version = ml_analysis.get_model_version()
    var score = ml_analysis.compute_threat_score(1500)
    print("Model version: %d, score: %d", version, score)
    return 0
}
"#,
            &[("ml/threat_analysis.py", py)],
        );
        let o = run(&exe, &[]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "Model version: 3, score: 90\n"
        );
        assert_eq!(o.status.code(), Some(0));
    }

    let err = reject(
        r#"
import ml_analysis from "./ml/threat_analysis.py"

@xdp
fn intelligent_filter(ctx: *xdp_md) -> xdp_action {
    var packet_len = ctx->data_end - ctx->data
    var threat_score = ml_analysis.compute_threat_score(packet_len)
    if (threat_score > 80) {
        return XDP_DROP
    }
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
"#,
        &[("ml/threat_analysis.py", py)],
    );
    assert_error_at(
        &err,
        7,
        "`ml_analysis.compute_threat_score` is a Python function: it cannot be called from eBPF code",
    );
    assert!(err.contains("no Python interpreter"), "{err}");
}

#[test]
fn compile_time_errors_each_at_its_line() {
    let files = [("stats.py", STATS_PY)];
    // A missing module, with the similar file suggested.
    let err = reject(
        "\nimport stats from \"stat.py\"\nfn main() -> i32 {\n    return 0\n}\n",
        &files,
    );
    assert_error_at(&err, 2, "cannot find Python module `stat.py`");
    assert!(err.contains("a similar file exists: `stats.py`"), "{err}");

    let err = reject(
        r#"
import stats from "stats.py"
fn main() -> i32 {
    var a = stats.ad(1, 2)
    var b = stats.add(1)
    var c = stats.add(1, 2, 3)
    var d: u32 = stats.fail("x")
    var e = stats.triple(4)
    var f = stats.add("one", 2)
    var g = stats.is_even(true)
    var h: *u32 = stats.triple(1)
    return 0
}
"#,
        &files,
    );
    assert_error_at(
        &err,
        4,
        "Python module `stats` (stats.py) has no function `ad`",
    );
    assert!(err.contains("a similar name exists: `add`"), "{err}");
    assert_error_at(&err, 5, "`stats.add` takes 2 arguments but 1 was given");
    assert_error_at(&err, 6, "`stats.add` takes 2 arguments but 3 were given");
    assert!(err.contains("`add` is defined at stats.py:2"), "{err}");
    // `fail` is unannotated: its result takes the context's type, so this
    // one is fine (it raises at run time); `e` has no type to take.
    assert!(!err.contains("prog.ks:7:"), "{err}");
    assert_error_at(&err, 8, "the type of `stats.triple`'s result is unknown");
    assert_error_at(
        &err,
        9,
        "parameter `a` of `stats.add` is annotated `int`, but this is `str(4)`",
    );
    assert_error_at(
        &err,
        10,
        "parameter `n` of `stats.is_even` is annotated `int`, but this is `bool`",
    );
    assert_error_at(&err, 11, "a Python result cannot convert to `*u32`");

    // A syntax error in the module: its file and line.
    let err = reject(
        "\n\nimport bad from \"bad.py\"\nfn main() -> i32 {\n    return 0\n}\n",
        &[(
            "bad.py",
            "def ok():\n    return 1\n\ndef broken(:\n    pass\n",
        )],
    );
    assert_error_at(&err, 3, "syntax error in Python module `bad.py`: bad.py:4:");

    // Results KernelScript cannot take, and Python calls in eBPF helpers.
    let err = reject(
        r#"
import m from "m.py"
@helper
fn h() -> u32 {
    return m.num()
}
fn main() -> i32 {
    var r = m.ratio()
    m.ratio()
    return 0
}
"#,
        &[(
            "m.py",
            "def ratio() -> float:\n    return 0.5\n\ndef num() -> int:\n    return 1\n",
        )],
    );
    assert_error_at(
        &err,
        5,
        "`m.num` is a Python function: it cannot be called from eBPF code",
    );
    assert_error_at(
        &err,
        8,
        "`m.ratio` returns `float`, which KernelScript cannot receive",
    );
    assert!(
        !err.contains("prog.ks:9:"),
        "a discarded result needs no type:\n{err}"
    );
}

/// A throwing call (native or Python) inside `print`'s arguments, another
/// call's or a `return`: the throw leaves before the value is used.
#[test]
fn throws_inside_expressions_leave_before_the_value_is_used() {
    for target in TARGETS {
        // Which target a failed assertion below was about.
        eprintln!("-- target {target}");
        let exe = build(
            target,
            r#"
import stats from "stats.py"

fn check(x: u32) -> u32 {
    if (x > 10) {
        throw 42
    }
    return x
}

fn passes(x: u32) -> u32 {
    return check(x) + 1
}

fn twice(x: u32) -> u32 {
    print("twice called")
    return x * 2
}

fn main() -> i32 {
    try {
        print("check: %d", check(20))
    } catch 42 {
        print("caught 42 before print")
    }
    try {
        print("passes: %d", passes(30))
    } catch 42 {
        print("caught 42 through return")
    }
    try {
        print("twice: %d", twice(stats.add(1, 2)))
        print("twice: %d", twice(stats.triple(stats.add(1, 2))))
        print("greet: %s", stats.greet("x"))
        twice(stats.fail("no"))
    } catch PYTHON_ERROR {
        print("caught PYTHON_ERROR before twice")
    }
    return 0
}
"#,
            &[("stats.py", STATS_PY)],
        );
        let o = run(&exe, &[]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "caught 42 before print\ncaught 42 through return\ntwice called\ntwice: 6\ntwice called\ntwice: 18\ngreet: hello x\ncaught PYTHON_ERROR before twice\n"
        );
        assert_eq!(o.status.code(), Some(0));
    }
}

/// Without a working bridge, a program importing Python gets a clear
/// error at the import (and one without Python imports never loads it).
#[test]
fn unusable_bridge_is_an_error_at_the_import() {
    let dir = project(
        "\n\nimport stats from \"stats.py\"\nfn main() -> i32 {\n    return 0\n}\n",
        &[("stats.py", STATS_PY)],
    );
    // A broken bridge first in the search path.
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("libksc_python_bridge.so"), "not a library").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["check", "prog.ks"])
        .current_dir(&dir)
        .env("KSC_PLUGIN_PATH", &plugins)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_error_at(
        &err,
        3,
        "cannot import `stats.py`: the Python bridge is not available",
    );
    assert!(err.contains("libksc_python_bridge.so"), "{err}");

    std::fs::write(
        dir.join("plain.ks"),
        "fn main() -> i32 {\n    return 0\n}\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["check", "plain.ks"])
        .current_dir(&dir)
        .env("KSC_PLUGIN_PATH", &plugins)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
