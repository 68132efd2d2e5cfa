//! The host column of the conformance suite, in `cargo test`: every case
//! under conformance/cases/ on this machine's kernel with every userspace
//! target (`cargo run --release -p ksc-conformance` adds 6.1 and 6.12):
//! c-libbpf and rust-aya, diffed line by line (same verdicts, stdout, exit
//! statuses, map contents and what is left attached). rust-aya's
//! deliberate refusals (`unsupported rust-aya`: kfuncs of kernel
//! modules) are n/a, never a pass.

use std::path::Path;
use std::process::Command;

/// The runner on this kernel with both userspace targets, working in
/// `work`; case directories are added by the caller (none: every case).
fn both_targets_on_the_host(work: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ksc-conformance"));
    // The rust-aya programs' own crates at opt-level 0 (their dependencies
    // optimised): about 1.5 minutes for the 97 cases instead of 5.5
    // (ksc/tests/rust_aya.rs builds the examples as users get them).
    c.args([
        "--kernels",
        "host",
        "--targets",
        "c-libbpf,rust-aya",
        "--rust-opt-level",
        "0",
        "--work",
    ])
    .arg(work)
    // Builds ksc and its plugins first, as `cargo run` would.
    .env("CARGO", env!("CARGO"));
    c
}

#[test]
fn every_case_passes_on_this_kernel() {
    let work = std::env::temp_dir().join(format!("ksc-conformance-{}", std::process::id()));
    let o = both_targets_on_the_host(&work)
        .output()
        .expect("run ksc-conformance");
    let _ = std::fs::remove_dir_all(&work);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with(" failed") && l.contains(" 0 failed")),
        "{out}"
    );
}

/// A userspace target that prints differently (its build edits the
/// generated loader so every printed line ends with `!`) fails in the
/// table with the first difference, while the real target passes.
#[test]
fn a_target_that_prints_differently_fails_with_the_first_difference() {
    let dir = std::env::temp_dir().join(format!("ksc-conformance-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("broken.ron");
    std::fs::write(
        &target,
        r#"Target(
    description: "c-libbpf whose loader prints differently",
    backends: ["ebpf-c", "libbpf-c"],
    capabilities: ["userspace"],
    build: Some(Build(command: ["sh", "-c", "sed -i 's/\\\\n\", /!\\\\n\", /' prog.c && make"])),
)"#,
    )
    .unwrap();
    let case = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/lang-print");
    let o = Command::new(env!("CARGO_BIN_EXE_ksc-conformance"))
        .args(["--kernels", "host", "--targets"])
        .arg(format!("c-libbpf,{}", target.display()))
        .arg("--work")
        .arg(dir.join("work"))
        .arg(&case)
        .env("CARGO", env!("CARGO"))
        .output()
        .expect("run ksc-conformance");
    let _ = std::fs::remove_dir_all(&dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL lang-print on host/"), "{out}");
    assert!(
        out.contains("differs from host/c-libbpf at expect:4 `user print.out`")
            || out.contains("expect:4 `user print.out`: the output differs from print.out"),
        "{out}"
    );
    assert!(out.lines().last() == Some("1 passed, 1 failed"), "{out}");
}

/// `unsupported rust-aya` promises a compile-time refusal naming the
/// target: a case that builds with it anyway is a FAIL, never n/a, while
/// c-libbpf runs it as usual.
#[test]
fn an_unsupported_line_on_a_case_the_target_builds_fails() {
    let dir = std::env::temp_dir().join(format!("ksc-conformance-unsup-{}", std::process::id()));
    let case = dir.join("unsup");
    std::fs::create_dir_all(&case).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/lang-print");
    for f in ["prog.ks", "print.out"] {
        std::fs::copy(src.join(f), case.join(f)).unwrap();
    }
    std::fs::write(
        case.join("expect"),
        "# builds with rust-aya, yet says it is refused\nunsupported rust-aya\nuser print.out\n",
    )
    .unwrap();
    let o = both_targets_on_the_host(&dir.join("work"))
        .arg(&case)
        .output()
        .expect("run ksc-conformance");
    let _ = std::fs::remove_dir_all(&dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL unsup on host/rust-aya")
            && out.contains("it built; `unsupported rust-aya` wants a compile-time refusal"),
        "{out}"
    );
    assert!(out.lines().last() == Some("1 passed, 1 failed"), "{out}");
}

/// A case that tests an example (its expect's first line starts with the
/// example's file name, `# xdp_firewall.ks: ...`) holds that example
/// verbatim, so an edit of the example cannot leave its case behind.
#[test]
fn cases_of_examples_hold_them_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for e in std::fs::read_dir(root.join("conformance/cases")).unwrap() {
        let dir = e.unwrap().path();
        let Ok(expect) = std::fs::read_to_string(dir.join("expect")) else {
            continue;
        };
        let first = expect.lines().next().unwrap_or_default();
        let Some((file, _)) = first.trim_start_matches("# ").split_once(": ") else {
            continue;
        };
        if !file.ends_with(".ks") || file.contains(' ') {
            continue;
        }
        let example = std::fs::read_to_string(root.join("examples").join(file))
            .unwrap_or_else(|e| panic!("{}: examples/{file}: {e}", dir.display()));
        let prog = std::fs::read_to_string(dir.join("prog.ks")).unwrap();
        assert!(
            prog == example,
            "{}/prog.ks is not examples/{file}: copy it again",
            dir.display()
        );
        checked += 1;
    }
    assert!(checked >= 36, "only {checked} cases of examples");
}
