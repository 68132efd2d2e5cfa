//! The fixture corpus (see fixtures/README.md):
//! * every complete program of the spec parses without a diagnostic;
//! * every malformed program gives an error at each line its header names,
//!   and never a crash;
//! * the spec's invalid programs that are syntax errors fail at their line
//!   (the others are semantic errors, tested with the midend).

use std::fs;
use std::path::{Path, PathBuf};

use ksc_frontend::{diag, parse, span::line_col};

fn fixtures(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<_> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", root.display());
    files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// Lines named by `// expect-error: 3, 9` (or `// expect-error: 3: what`).
fn expected_lines(src: &str) -> Vec<usize> {
    let first = src.lines().next().unwrap_or("");
    let rest = first
        .strip_prefix("// expect-error:")
        .unwrap_or_else(|| panic!("missing `// expect-error:` header: {first}"));
    let nums = rest.split(':').next().unwrap();
    nums.split(',').map(|n| n.trim().parse().unwrap()).collect()
}

fn error_lines(src: &str) -> (Vec<usize>, String) {
    let p = parse(src);
    let lines = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        // A secondary label counts: "unclosed `{`" points at the opener.
        .flat_map(|d| std::iter::once(d.span).chain(d.secondary.iter().map(|s| s.0)))
        .map(|s| line_col(src, s.start as usize).0)
        .collect();
    (lines, diag::render("fixture.ks", src, &p.diagnostics))
}

#[test]
fn spec_programs_parse() {
    let mut failures = Vec::new();
    for (path, src) in fixtures("spec") {
        let p = parse(&src);
        if !p.diagnostics.is_empty() {
            failures.push(format!(
                "{}:\n{}",
                path.display(),
                diag::render(&path.display().to_string(), &src, &p.diagnostics)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_programs_fail_at_the_right_lines() {
    let mut failures = Vec::new();
    for (path, src) in fixtures("malformed") {
        let want = expected_lines(&src);
        let (got, rendered) = error_lines(&src);
        for line in &want {
            if !got.contains(line) {
                failures.push(format!(
                    "{}: expected an error on line {line}, got lines {got:?}\n{rendered}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Lines that `//~ ERROR` annotations name (`//~^` one line up per caret;
/// the midend's tests check the messages and codes, `fixtures/README.md`).
fn annotated_error_lines(src: &str) -> Vec<usize> {
    src.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let a = &l[l.find("//~")? + 3..];
            let up = a.chars().take_while(|&c| c == '^').count();
            a[up..]
                .trim_start()
                .starts_with("ERROR")
                .then(|| i + 1 - up)
        })
        .collect()
}

#[test]
fn invalid_spec_programs_that_are_syntax_errors() {
    let mut syntax_errors = 0;
    for (path, src) in fixtures("invalid") {
        let want = annotated_error_lines(&src);
        assert!(
            !want.is_empty(),
            "{}: no `//~ ERROR` annotation",
            path.display()
        );
        let (got, rendered) = error_lines(&src);
        if got.is_empty() {
            continue; // a semantic error: the midend's tests cover it
        }
        syntax_errors += 1;
        assert!(
            want.iter().all(|l| got.contains(l)),
            "{}: want {want:?}, got {got:?}\n{rendered}",
            path.display()
        );
    }
    // `program NAME : xdp { }` and `pin local var` at least.
    assert!(
        syntax_errors >= 2,
        "only {syntax_errors} syntax-error fixtures"
    );
}
