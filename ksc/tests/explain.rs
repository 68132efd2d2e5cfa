//! Diagnostic codes from the outside: `ksc explain`, the registry against
//! the sources and docs/diagnostics.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use ksc_frontend::diag::codes::{self, Code};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn explain(code: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["explain", code])
        .output()
        .unwrap()
}

#[test]
fn explain_prints_the_explanation() {
    let o = explain("E0501");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.starts_with("E0501: potential null pointer dereference\n\n"),
        "{out}"
    );
    assert!(out.matches("```").count() >= 4, "{out}");
    assert!(out.contains("if (v != null)"), "{out}");
    // Any case; warnings too.
    let o = explain("w0508");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("W0508: a tail-call cycle\n"));
}

#[test]
fn an_unknown_code_is_an_error_naming_the_nearest() {
    let o = explain("E0599");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: no diagnostic code `E0599`\n"),
        "{err}"
    );
    assert!(err.contains("= help: the nearest codes are E05"), "{err}");
}

/// Every code named in the sources (`codes::NAME`), the fixtures'
/// annotations and the docs is registered, and every registered code is
/// used by some diagnostic and listed in docs/diagnostics.md.
#[test]
fn codes_used_registered_and_documented() {
    let names: Vec<String> = {
        let text = std::fs::read_to_string(root().join("frontend/src/diag/codes.rs")).unwrap();
        text.lines()
            .filter_map(|l| {
                let (name, rest) = l.trim().split_once(" = \"")?;
                rest.starts_with(['E', 'W']).then(|| name.to_string())
            })
            .collect()
    };
    assert_eq!(names.len(), codes::ALL.len());
    let mut sources = String::new();
    let mut fixtures = String::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") || name.ends_with(".lalrpop") {
                if !p.ends_with("frontend/src/diag/codes.rs") {
                    sources += &std::fs::read_to_string(&p).unwrap_or_default();
                }
            } else if name.ends_with(".ks") {
                fixtures += &std::fs::read_to_string(&p).unwrap_or_default();
            }
        }
    }
    for (name, (code, _)) in names.iter().zip(codes::ALL) {
        assert!(
            sources.contains(&format!("codes::{name},"))
                || sources.contains(&format!("codes::{name})"))
                || sources.contains(&format!("codes::{name}\n")),
            "{code} ({name}) is registered but no diagnostic uses it"
        );
    }
    for part in fixtures.split("//~").skip(1) {
        let word = part
            .trim_start_matches('^')
            .split_whitespace()
            .nth(1)
            .unwrap_or("");
        if word.len() == 5 && word[1..].chars().all(|c| c.is_ascii_digit()) {
            assert!(Code::lookup(word).is_some(), "a fixture expects {word}");
        }
    }
    let docs = std::fs::read_to_string(root().join("docs/diagnostics.md")).unwrap();
    for (code, title) in codes::ALL {
        assert!(
            docs.contains(&format!("| `{code}` | {title} |")),
            "{code} missing from docs/diagnostics.md"
        );
    }
}
