//! `ksc fmt`: in place, `--check`, stdin, refusal of files that do not
//! parse, and the repository's own programs already formatted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ksc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(args)
        .output()
        .expect("run ksc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksc-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

const MESSY: &str = "// counts packets\nvar  hits : array<u32,u64>(1)   // one slot\n\n\n\
@xdp fn count(ctx:*xdp_md)->xdp_action{\nhits[0]+=1 ; return XDP_PASS\n}\n";

const TIDY: &str = "// counts packets\nvar hits : array<u32, u64>(1) // one slot\n\n\
@xdp\nfn count(ctx: *xdp_md) -> xdp_action {\n    hits[0] += 1\n    return XDP_PASS\n}\n";

#[test]
fn fmt_rewrites_in_place_and_check_reports_what_would_change() {
    let p = temp_file("messy.ks", MESSY);
    let ps = p.to_str().unwrap();
    let o = ksc(&["fmt", "--check", ps]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("messy.ks: not formatted"), "{out}");
    assert!(out.contains("line 2:"), "{out}");
    assert!(out.contains("- var  hits : array<u32,u64>(1)"), "{out}");
    assert!(out.contains("+ var hits : array<u32, u64>(1)"), "{out}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), MESSY, "--check wrote");

    let o = ksc(&["fmt", ps]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), TIDY);
    let o = ksc(&["fmt", "--check", ps]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(o.stdout.is_empty());
}

#[test]
fn fmt_dash_reads_stdin_and_writes_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(MESSY.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), TIDY);
}

#[test]
fn fmt_refuses_a_file_that_does_not_parse_with_located_errors() {
    let src = "fn main() -> i32 {\n    var x = \n    return 0\n}\n";
    let p = temp_file("broken.ks", src);
    let o = ksc(&["fmt", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("broken.ks:3:5"), "{err}");
    assert!(err.contains("does not parse; not formatted"), "{err}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), src);
}

#[test]
fn fmt_of_a_missing_file_is_a_usage_error() {
    let o = ksc(&["fmt", "/nonexistent/x.ks"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no such file"));
}

/// The examples and the conformance cases are kept formatted.
#[test]
fn examples_and_conformance_cases_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = ksc(&[
        "fmt",
        "--check",
        root.join("examples").to_str().unwrap(),
        root.join("conformance/cases").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "run `ksc fmt examples conformance/cases`:\n{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}
