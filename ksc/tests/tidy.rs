//! Tidy rules for the whole tree, checked on the files themselves (no git,
//! no build): every Rust file starts with a `//!` doc saying what it is
//! for; nothing cites a file outside the repository (the settled language
//! decisions are restated in docs/language.md, which is what code cites);
//! no source file grows past 1,000 lines (files over the limit today are
//! listed in `OVERSIZED` with their current length, so the list can only
//! shrink: split one and remove (or lower) its entry); every source file
//! is named in the code map, `docs/architecture.md`, and starts with a
//! comment saying its job.

use std::fs;
use std::path::{Path, PathBuf};

/// Most lines a compiler, runtime or test-support source file may have.
const MAX_LINES: usize = 1000;

/// Files already over `MAX_LINES`, frozen at their length when this test
/// was written. A file here may shrink (then lower or drop its entry) but
/// not grow. Empty since every file was split by job; keep it that way.
const OVERSIZED: &[(&str, usize)] = &[];

/// Directories never scanned: build output, VCS data, and test data that
/// reproduces outside text on purpose (spec listings, golden outputs).
const SKIP_DIRS: &[&str] = &[
    "target",
    ".git",
    "node_modules",
    "fixtures",
    "golden",
    "snapshots",
    "generated",
];

/// Source files (subject to the length rule).
const SOURCE_EXT: &[&str] = &["rs", "c", "h", "py", "lalrpop", "sh"];

/// Text files that must not cite anything outside the repository.
const TEXT_EXT: &[&str] = &[
    "rs", "c", "h", "py", "lalrpop", "sh", "md", "ks", "kh", "toml", "ron", "txt", "yml", "yaml",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ksc/ sits in the workspace root")
        .to_path_buf()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                walk(&p, out);
            }
        } else if ft.is_file() {
            out.push(p);
        }
    }
}

/// (path relative to the root with `/` separators, extension, contents)
fn files() -> Vec<(String, String, String)> {
    let root = root();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    let mut out = Vec::new();
    for p in paths {
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !TEXT_EXT.contains(&ext.as_str()) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        out.push((rel, ext, text));
    }
    out.sort();
    assert!(
        out.iter().any(|(r, _, _)| r == "ksc/src/main.rs"),
        "the tidy walk did not find ksc/src/main.rs under {}",
        root.display()
    );
    out
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let missing: Vec<String> = files()
        .into_iter()
        .filter(|(_, ext, text)| ext == "rs" && !text.starts_with("//!"))
        .map(|(rel, _, _)| rel)
        .collect();
    assert!(
        missing.is_empty(),
        "these Rust files do not start with a `//!` doc comment saying what \
         the file is for:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn nothing_cites_a_file_outside_the_repository() {
    // Spelt in pieces so this file does not match itself.
    let banned = [
        concat!("DECISIONS", ".md"),
        concat!("/wo", "rk/"),
        concat!("../sha", "red/"),
    ];
    let mut hits = Vec::new();
    for (rel, _, text) in files() {
        for (n, line) in text.lines().enumerate() {
            for b in banned {
                if line.contains(b) {
                    hits.push(format!("{rel}:{}: cites `{b}`", n + 1));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "files cite something outside the repository; cite docs/language.md \
         (which restates the settled decisions) or name the KernelScript spec \
         instead:\n  {}",
        hits.join("\n  ")
    );
}

#[test]
fn no_source_file_exceeds_the_line_limit() {
    let mut errors = Vec::new();
    let mut seen = Vec::new();
    for (rel, ext, text) in files() {
        if !SOURCE_EXT.contains(&ext.as_str()) {
            continue;
        }
        let lines = text.lines().count();
        match OVERSIZED.iter().find(|(p, _)| *p == rel) {
            Some(&(_, frozen)) => {
                seen.push(rel.clone());
                if lines > frozen {
                    errors.push(format!(
                        "{rel}: {lines} lines, more than the {frozen} it was frozen at \
                         (it is already over {MAX_LINES}: move code out instead of adding)"
                    ));
                } else if lines <= MAX_LINES {
                    errors.push(format!(
                        "{rel}: {lines} lines, within the limit now: remove its OVERSIZED entry"
                    ));
                }
            }
            None if lines > MAX_LINES => errors.push(format!(
                "{rel}: {lines} lines, over the {MAX_LINES}-line limit: split it by job"
            )),
            None => {}
        }
    }
    for (p, _) in OVERSIZED {
        if !seen.iter().any(|s| s == p) {
            errors.push(format!(
                "{p}: listed in OVERSIZED but not found: remove its entry"
            ));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Folders whose files are test data, not sources: they need neither a
/// doc comment nor a place in the code map.
const NOT_SOURCES: &[&str] = &["conformance/cases/"];

fn is_source(rel: &str, ext: &str) -> bool {
    SOURCE_EXT.contains(&ext) && !NOT_SOURCES.iter().any(|d| rel.starts_with(d))
}

/// The paths `docs/architecture.md` names: every backticked token as it
/// is, and joined to the folder of the `###` section it appears in (a
/// heading such as ``### `midend/` `` sets the folder).
fn mapped_paths(map: &str) -> Vec<String> {
    let mut folders: Vec<String> = Vec::new();
    let mut named = Vec::new();
    for line in map.lines() {
        let ticks: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        if line.starts_with("### ") {
            folders = ticks
                .iter()
                .filter(|t| t.ends_with('/'))
                .map(|t| t.to_string())
                .collect();
            continue;
        }
        for t in ticks {
            named.push(t.to_string());
            for f in &folders {
                named.push(format!("{f}{t}"));
            }
        }
    }
    named
}

#[test]
fn every_source_file_is_in_the_code_map() {
    let map = fs::read_to_string(root().join("docs/architecture.md"))
        .expect("docs/architecture.md, the code map");
    let named = mapped_paths(&map);
    let missing: Vec<String> = files()
        .into_iter()
        .filter(|(rel, ext, _)| is_source(rel, ext) && !named.iter().any(|n| n == rel))
        .map(|(rel, _, _)| rel)
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md is the code map: name each of these files in \
         its folder's `###` section, with its one job:\n  {}",
        missing.join("\n  ")
    );
}

/// The first line that is not a `#!` line or blank.
fn first_text_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.starts_with("#!") && !l.trim().is_empty())
        .unwrap_or("")
}

#[test]
fn every_other_source_file_starts_with_a_comment_saying_its_job() {
    let missing: Vec<String> = files()
        .into_iter()
        .filter(|(rel, ext, _)| is_source(rel, ext) && ext != "rs")
        .filter(|(_, ext, text)| {
            let first = first_text_line(text);
            let ok = match ext.as_str() {
                "c" | "h" | "lalrpop" => first.starts_with("/*") || first.starts_with("//"),
                "py" => first.starts_with('#') || first.starts_with("\"\"\""),
                _ => first.starts_with('#'),
            };
            !ok
        })
        .map(|(rel, _, _)| rel)
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not start with a comment saying what they are for:\n  {}",
        missing.join("\n  ")
    );
}
