//! `ksc fmt` over every program the project has: the examples, the
//! conformance cases, the spec's programs (as parsed by the fixtures) and
//! the checker's fixtures. Formatting keeps the tree (spans aside) and every
//! comment, and formatting twice changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use ksc_frontend::format::{comment_texts, format_source, same_tree};
use ksc_frontend::parse;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `.ks` and `.kh` files under `dir` (one level of subdirectories).
fn sources(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ks" || x == "kh") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no sources in {dir}");
    out
}

/// Every problem with formatting `files`, as a message each.
fn check(files: &[PathBuf]) -> Vec<String> {
    let mut bad = Vec::new();
    for f in files {
        let src = fs::read_to_string(f).unwrap();
        if parse(&src).has_errors() {
            continue; // refused, tested below
        }
        let out = match format_source(&src) {
            Ok(o) => o,
            Err(e) => {
                bad.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        // format_source checks these itself; the test says it again.
        if !same_tree(&parse(&src).file, &parse(&out).file) {
            bad.push(format!("{}: the tree changed", f.display()));
        }
        if comment_texts(&src) != comment_texts(&out) {
            bad.push(format!("{}: the comments changed", f.display()));
        }
        match format_source(&out) {
            Ok(twice) if twice == out => {}
            Ok(twice) => bad.push(format!(
                "{}: not idempotent:\n{}",
                f.display(),
                first_difference(&out, &twice)
            )),
            Err(e) => bad.push(format!("{}: formatted text refused: {e}", f.display())),
        }
    }
    bad
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n- {x}\n+ {y}", i + 1);
        }
    }
    format!(
        "lengths {} and {} lines",
        a.lines().count(),
        b.lines().count()
    )
}

#[test]
fn examples_format_keeping_tree_and_comments() {
    let bad = check(&sources("examples"));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn conformance_cases_format_keeping_tree_and_comments() {
    let bad = check(&sources("conformance/cases"));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn spec_programs_format_keeping_tree_and_comments() {
    let mut files = sources("frontend/tests/fixtures/spec");
    files.extend(sources("midend/tests/fixtures/spec"));
    assert!(files.len() >= 160);
    let bad = check(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn checker_fixtures_format_keeping_tree_and_comments() {
    let mut files = sources("midend/tests/fixtures/valid");
    files.extend(sources("frontend/tests/fixtures/invalid"));
    let bad = check(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
