//! `exec("x.py")` (docs/language.md, "`exec` into Python"): the script is
//! a `.py` file found relative to the calling file, recorded in
//! `Module::exec_scripts` under the name the build copies it to; anything
//! else is an error at the argument with a `help:`. The kernel runs are
//! the conformance case `lang-exec-python`.

use std::path::PathBuf;

use ksc_frontend::SourceMap;

mod support;
use support::Project;

impl Project {
    /// Check `prog.ks`: errors as `line:col: message`, the rendered text.
    fn check(&self) -> (Vec<String>, Option<ksc_ir::Module>, String) {
        let main = self.dir.join("prog.ks");
        let src = std::fs::read_to_string(&main).unwrap();
        let mut files = SourceMap::single(main.display().to_string(), src.as_str());
        let parsed = ksc_frontend::parse(&src);
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        let loaded = ksc_midend::imports::load(parsed.file, &mut files);
        let c = ksc_midend::check_loaded_with(&loaded, &files, &support::options());
        let errors = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let (l, col) = files.line_col(d.span);
                format!("{l}:{col}: {}", d.message)
            })
            .collect();
        let rendered = ksc_frontend::diag::render_files(&files, &c.diagnostics);
        (errors, c.module, rendered)
    }
}

const PROG: &str = "var counts : hash<u32, u64>(16)

@xdp fn count(ctx: *xdp_md) -> xdp_action {
    counts[1] += 1
    return XDP_PASS
}

fn main() -> i32 {
    var h = load(count)
    attach(h, \"lo\", 0)
    exec(SCRIPT)
    return 0
}
";

fn prog(script: &str) -> String {
    PROG.replace("SCRIPT", script)
}

#[track_caller]
fn has_error(p: &Project, at: &str, phrase: &str, help: &str) {
    let (errors, _, rendered) = p.check();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{at}:")) && e.contains(phrase)),
        "want an error at {at} saying {phrase:?}; got:\n{rendered}"
    );
    assert!(
        rendered.contains(&format!("help: {help}")),
        "want help {help:?}; got:\n{rendered}"
    );
}

#[test]
fn a_script_beside_the_program_is_recorded_and_named_in_the_call() {
    let p = Project::new(
        "ok",
        &[
            ("prog.ks", &prog("\"./scripts/reader.py\"")),
            ("scripts/reader.py", "import prog\n"),
        ],
    );
    let (errors, module, rendered) = p.check();
    assert!(errors.is_empty(), "{rendered}");
    let m = module.unwrap();
    assert_eq!(m.exec_scripts.len(), 1);
    let s = &m.exec_scripts[0];
    assert_eq!(s.file, "reader.py");
    assert_eq!(PathBuf::from(&s.path), p.dir.join("./scripts/reader.py"));
    // The call's argument is the name next to the executable.
    let main = m.function(m.main.unwrap());
    let mut args = None;
    main.body.walk_exprs(&mut |e| {
        if let ksc_ir::ExprKind::Call {
            callee: ksc_ir::Callee::Builtin(ksc_ir::Builtin::Exec),
            args: a,
        } = &e.kind
        {
            args = Some(a.clone());
        }
    });
    let args = args.expect("an exec call");
    assert!(matches!(
        &args[..],
        [ksc_ir::Expr { kind: ksc_ir::ExprKind::Value(ksc_ir::Value::Str(f)), .. }] if f == "reader.py"
    ));
    // The IR round-trips with it.
    assert_eq!(ksc_ir::Module::from_ron(&m.to_ron()).unwrap(), m);
}

#[test]
fn a_path_not_ending_in_py_is_an_error() {
    let p = Project::new(
        "notpy",
        &[("prog.ks", &prog("\"reader.sh\"")), ("reader.sh", "")],
    );
    has_error(
        &p,
        "11:10",
        "`exec` runs Python scripts, and `reader.sh` does not end in `.py`",
        "`exec` replaces the program with `python3 SCRIPT.py`",
    );
}

#[test]
fn a_missing_script_is_an_error_naming_a_similar_file() {
    let p = Project::new(
        "missing",
        &[("prog.ks", &prog("\"raeder.py\"")), ("reader.py", "")],
    );
    has_error(
        &p,
        "11:10",
        "cannot find Python script `raeder.py`",
        "a similar file exists: `reader.py`",
    );
    let p = Project::new("missing2", &[("prog.ks", &prog("\"x.py\""))]);
    has_error(
        &p,
        "11:10",
        "cannot find Python script `x.py`",
        "the path is relative to the file that calls `exec`",
    );
}

#[test]
fn exec_in_ebpf_is_an_error() {
    let src = "@xdp fn count(ctx: *xdp_md) -> xdp_action {
    exec(\"reader.py\")
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
";
    let p = Project::new("ebpf", &[("prog.ks", src), ("reader.py", "")]);
    has_error(
        &p,
        "2:5",
        "`exec` is a userspace function",
        "`exec` replaces the loader with a Python script",
    );
}

#[test]
fn the_script_cannot_take_the_map_module_name() {
    let p = Project::new(
        "named",
        &[("prog.ks", &prog("\"prog.py\"")), ("prog.py", "")],
    );
    has_error(
        &p,
        "11:10",
        "the script cannot be named `prog.py`",
        "rename the script (e.g. `prog_main.py`)",
    );
}

#[test]
fn the_argument_is_one_string_literal() {
    let src =
        prog("\"reader.py\"").replace("exec(\"reader.py\")", "var s = \"reader.py\"\n    exec(s)");
    let p = Project::new("literal", &[("prog.ks", &src), ("reader.py", "")]);
    has_error(
        &p,
        "12:10",
        "`exec` takes the script's path as a string literal",
        "write the path in the call",
    );
    let src = prog("\"reader.py\", 1");
    let p = Project::new("arity", &[("prog.ks", &src), ("reader.py", "")]);
    has_error(
        &p,
        "11:5",
        "`exec` takes 1 argument (the script's path) but 2 were given",
        "write `exec(\"report.py\")`",
    );
}

#[test]
fn two_scripts_of_one_file_name_are_an_error() {
    let src = prog("\"a/reader.py\"").replace(
        "exec(\"a/reader.py\")",
        "exec(\"a/reader.py\")\n    exec(\"b/reader.py\")",
    );
    let p = Project::new(
        "clash",
        &[("prog.ks", &src), ("a/reader.py", ""), ("b/reader.py", "")],
    );
    has_error(
        &p,
        "12:10",
        "another file named `reader.py` is already copied next to the executable",
        "the build copies Python files next to the executable by file name",
    );
    // The same file twice is one script.
    let src = prog("\"reader.py\"").replace(
        "exec(\"reader.py\")",
        "exec(\"reader.py\")\n    exec(\"./reader.py\")",
    );
    let p = Project::new("twice", &[("prog.ks", &src), ("reader.py", "")]);
    let (errors, m, rendered) = p.check();
    assert!(errors.is_empty(), "{rendered}");
    assert_eq!(m.unwrap().exec_scripts.len(), 1);
}
