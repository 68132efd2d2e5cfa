//! The `ksc` command line: exit statuses, messages, output formats.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ksc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(args)
        .output()
        .expect("run ksc")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

#[test]
fn check_valid_program_exits_0_silently() {
    let p = temp_file(
        "ok.ks",
        b"@xdp fn f(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n",
    );
    let o = ksc(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty());
}

#[test]
fn check_reports_rustc_style_diagnostics_and_exits_1() {
    let p = temp_file(
        "bad.ks",
        b"fn main() -> i32 {\n    if x > 1 { }\n    return 0\n}\n",
    );
    let o = ksc(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    let path = p.to_str().unwrap();
    assert!(
        e.starts_with("error[E0101]: expected `(`, found identifier `x`\n"),
        "{e}"
    );
    assert!(e.contains(&format!("--> {path}:2:8\n")), "{e}");
    assert!(e.contains("2 |     if x > 1 { }\n"), "{e}");
    assert!(e.contains("  |        ^ expected `(`"), "{e}");
    assert!(
        e.contains("= help: conditions are written in parentheses"),
        "{e}"
    );
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{e}"
    );
}

#[test]
fn missing_file_directory_and_bad_usage_exit_2() {
    let o = ksc(&["check", "/nonexistent/prog.ks"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: cannot read `/nonexistent/prog.ks`: no such file\n"
    );

    let dir = std::env::temp_dir();
    let o = ksc(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1);
    assert!(stderr(&o).contains("is a directory"));

    let o = ksc(&["check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = ksc(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_for_each_command() {
    for args in [&["--help"][..], &["check", "--help"], &["parse", "--help"]] {
        let o = ksc(args);
        assert_eq!(o.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage:"));
    }
}

#[test]
fn parse_emits_the_ast_as_ron() {
    let p = temp_file("ast.ks", b"var counters : array<u32, u64>(256)\n");
    let o = ksc(&["parse", p.to_str().unwrap(), "--emit=ast"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Map(MapDecl("), "{out}");
    assert!(out.contains("name: \"counters\""), "{out}");
}

/// `ksc parse --emit=ast` prints every program `ksc check` accepts, and
/// the text reads back as the same tree (128-bit literals included, as in
/// `match`, `throw` and `catch`).
#[test]
fn parse_emits_the_ast_of_every_program_that_checks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![];
    for dir in [
        "examples",
        "midend/tests/fixtures/spec",
        "midend/tests/fixtures/valid",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ks") {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut checked, mut failures) = (0, vec![]);
    for p in &files {
        let path = p.to_str().unwrap();
        if ksc(&["check", path]).status.code() != Some(0) {
            continue;
        }
        checked += 1;
        let o = ksc(&["parse", path, "--emit=ast"]);
        if o.status.code() != Some(0) {
            failures.push(format!("{path}: {}", stderr(&o)));
            continue;
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let src = std::fs::read_to_string(p).unwrap();
        match ron::from_str::<ksc_frontend::ast::File>(&text) {
            Ok(tree) if tree == ksc_frontend::parse(&src).file => {}
            Ok(_) => failures.push(format!("{path}: the printed tree reads back differently")),
            Err(e) => failures.push(format!("{path}: the printed tree does not read back: {e}")),
        }
    }
    assert!(checked >= 100, "only {checked} programs checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn binary_and_invalid_utf8_input_is_a_diagnostic() {
    let p = temp_file("bin.ks", &[0x66, 0x6e, 0xff, 0xfe, 0x00, 0x01]);
    let o = ksc(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not valid UTF-8"), "{}", stderr(&o));

    let noise: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & 0x7f)
        .collect();
    let p = temp_file("noise.ks", &noise);
    let o = ksc(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn check_runs_the_midend_and_emits_ir_and_graph() {
    let src = b"var counts : array<u32, u64>(4)\n@helper fn bump(i: u32) { counts[i] += 1 }\n@xdp fn classify(ctx: *xdp_md) -> xdp_action {\n    bump(0)\n    return deep(ctx)\n}\n@xdp fn deep(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n";
    let p = temp_file("graph.ks", src);
    let o = ksc(&["check", p.to_str().unwrap(), "--emit=graph"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dot = String::from_utf8_lossy(&o.stdout);
    assert!(dot.starts_with("digraph program {"), "{dot}");
    assert!(
        dot.contains("f1 -> f2 [style=dashed, label=\"tail call\"];"),
        "{dot}"
    );
    assert!(dot.contains("f1 -> f0;"), "{dot}");

    let o = ksc(&["check", p.to_str().unwrap(), "--emit=ir"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ir = String::from_utf8_lossy(&o.stdout);
    let m = ksc_ir::Module::from_ron(&ir).expect("valid IR");
    assert_eq!(m.name, "graph");
    assert_eq!(m.analysis.tail_call_slots.len(), 1);

    let bad = temp_file(
        "semantic.ks",
        b"fn main() -> i32 {\n    return undefined_thing\n}\n",
    );
    let o = ksc(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot find value `undefined_thing`"),
        "{}",
        stderr(&o)
    );
}
