//! The midend's top-level modules (`src/*.rs`, `src/*/mod.rs`) form a DAG:
//! a module refers (`crate::m`, `use crate::{a, b}`, `super::` out of a
//! submodule) only to modules below it, and the crate root (`lib.rs`),
//! which declares and drives every module, is referred to by none. A cycle
//! is printed with the reference behind each of its edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

/// The crate root's node.
const ROOT: &str = "lib";

/// Every `.rs` file under `dir`, with its module path (`valid/flow/mod.rs`:
/// `["valid", "flow"]`; `lib.rs`: `[]`).
fn sources(dir: &Path, path: &[String], out: &mut Vec<(PathBuf, Vec<String>)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            let mut sub = path.to_vec();
            sub.push(name);
            sources(&p, &sub, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut m = path.to_vec();
            if !(stem == "mod" || (path.is_empty() && stem == "lib")) {
                m.push(stem.to_string());
            }
            out.push((p, m));
        }
    }
}

/// The text without comments (`//` to the end of the line, `/* */`) and
/// string literals, so a path mentioned in prose is not a reference.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'"' {
            // A string (raw strings in this crate hold no `crate::`).
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 3 < b.len() && b[i + 1] == b'\\' {
            // An escaped char literal (`'\''`, `'\\'`).
            let end = b[i + 3..].iter().position(|&c| c == b'\'').unwrap_or(0);
            i += end + 4;
            out.push_str("' '");
        } else if b[i] == b'\'' && i + 2 < b.len() && b[i + 2] == b'\'' {
            // A char literal (`'"'` would otherwise open a string).
            i += 3;
            out.push_str("' '");
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segment of each item of a `{a, b::c, d}` group (`s` starts
/// after the `{`).
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident_at(s[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident_at(s[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads.into_iter().filter(|h| !h.is_empty()).collect()
}

/// The top-level module (or [`ROOT`]) each reference in `code` (a file of
/// module `path`) leads to.
fn references(code: &str, path: &[String], modules: &BTreeSet<String>) -> Vec<String> {
    let top = |name: &str| {
        if modules.contains(name) {
            name.to_string()
        } else {
            ROOT.to_string()
        }
    };
    let mut out = Vec::new();
    let is_boundary = |i: usize| {
        i == 0 || {
            let c = code.as_bytes()[i - 1];
            !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        }
    };
    for (i, _) in code.match_indices("crate::") {
        if !is_boundary(i) {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(g) = rest.strip_prefix('{') {
            out.extend(group_heads(g).into_iter().map(top));
        } else {
            out.push(top(ident_at(rest)));
        }
    }
    for (i, _) in code.match_indices("super::") {
        // Only the first of `super::super::`.
        if !is_boundary(i) {
            continue;
        }
        let mut rest = &code[i..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            up += 1;
        }
        let parent = &path[..path.len().saturating_sub(up)];
        match parent.first() {
            Some(m) => out.push(m.clone()),
            None if rest.starts_with('{') => {
                out.extend(group_heads(&rest[1..]).into_iter().map(top))
            }
            None => out.push(top(ident_at(rest))),
        }
    }
    out
}

/// Edges between top-level modules, each with the first file showing it.
fn module_edges(src: &Path) -> BTreeMap<(String, String), String> {
    let mut files = Vec::new();
    sources(src, &[], &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(_, m)| m.first().cloned())
        .collect();
    let mut edges = BTreeMap::new();
    // The root declares every module and drives the passes.
    for m in &modules {
        edges.insert((ROOT.to_string(), m.clone()), "lib.rs: mod".to_string());
    }
    for (file, path) in &files {
        let from = path.first().cloned().unwrap_or_else(|| ROOT.to_string());
        let code = code_only(&fs::read_to_string(file).unwrap());
        for to in references(&code, path, &modules) {
            if to != from {
                let rel = file.strip_prefix(src).unwrap_or(file).display();
                edges
                    .entry((from.clone(), to.clone()))
                    .or_insert_with(|| format!("{rel}: {to}"));
            }
        }
    }
    edges
}

/// The cycles (strongly connected sets of more than one module), each
/// listed with the references making its edges.
fn cycles(edges: &BTreeMap<(String, String), String>) -> Vec<String> {
    let mut g = DiGraphMap::<&str, ()>::new();
    for (a, b) in edges.keys() {
        g.add_edge(a.as_str(), b.as_str(), ());
    }
    tarjan_scc(&g)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            let mut lines = vec![format!("cycle among {scc:?}:")];
            for ((a, b), why) in edges {
                if scc.contains(&a.as_str()) && scc.contains(&b.as_str()) {
                    lines.push(format!("  {a} -> {b}  ({why})"));
                }
            }
            lines.join("\n")
        })
        .collect()
}

#[test]
fn midend_modules_form_a_dag() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_edges(&src);
    // Guard against a scan that finds nothing (and so no cycle).
    for (a, b) in [
        ("collect", "checker"),
        ("lower", "checker"),
        ("valid", "checker"),
    ] {
        assert!(
            edges.contains_key(&(a.to_string(), b.to_string())),
            "the scan missed {a} -> {b}; edges: {:?}",
            edges.keys().collect::<Vec<_>>()
        );
    }
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "the midend's modules must form a DAG (a module refers only to modules below it, never to the crate root):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_cycle_is_found() {
    let modules: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    let code = code_only(
        "// crate::b in a comment\nuse crate::{b::X, lib_fn};\nlet s = \"crate::a\";\nfn f() { super::b::g() }",
    );
    let refs = references(&code, &["a".to_string(), "sub".to_string()], &modules);
    assert_eq!(refs, ["b", ROOT, "a"]);
    let mut edges = BTreeMap::new();
    edges.insert(("a".to_string(), "b".to_string()), "a.rs".to_string());
    edges.insert(("b".to_string(), "a".to_string()), "b.rs".to_string());
    edges.insert((ROOT.to_string(), "a".to_string()), "lib.rs".to_string());
    let found = cycles(&edges);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a -> b") && found[0].contains("b -> a"));
}
