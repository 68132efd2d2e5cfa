//! `ksc fmt` over every program the project has: the examples, the
//! conformance cases, the spec's programs (as parsed by the fixtures) and
//! the checker's fixtures. Formatting keeps the tree (spans aside) and every
//! comment, and formatting twice changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use ksc_frontend::format::{comment_texts, format_source, same_tree, FormatError};
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

/// Every construct of the grammar, written untidily, with comments in odd
/// places.
const ALL: &str = include_str!("fixtures/format/all_constructs.ks");

#[test]
fn every_construct_formats_to_the_canonical_layout() {
    let out = format_source(ALL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(format_source(&out).unwrap(), out, "not idempotent");
    for want in [
        "/* file header\n   spanning lines */\ninclude \"x.kh\" // trailing on include\n",
        "type Buf = u8[16]\ntype Ptrs = [*u8; 4]\n",
        "const K: u32 = 0x10 | 0b11\n",
        "enum E {\n    A = 1,\n    B,\n    C = -2,\n}\n",
        "@flags(BPF_F_NO_PREALLOC)\npin var mp : hash<u32, S>(1024, map_flags = 1)\n",
        "impl ops {\n    @helper\n    fn f(a: u32) -> u32 {\n        return a\n    }\n    name: \"x\",\n    flags: 0,\n}\n",
        "    var a = (1 + 2) * 3\n    var b: u32 = -(-a) as u32\n    var p = & &a\n",
        "    var u = if (a == 1) { 1 } else if (a == 2) { 2 } else { 3 }\n",
        "    if (var v = mp[1]) {\n        v->data = null\n    } else {\n        return XDP_DROP\n    }\n",
        "    if (a) return XDP_PASS\n",
        "    for (i in 0..(a + 1)) {\n        continue\n    }\n",
        "    for (k, v) in m.maps {\n",
        "    while (a < 10) {\n        a += 1\n    } // loop\n",
        "    try {\n        throw 1\n    } catch -1 {\n        a = 0\n    } catch E_X {} catch _ {}\n",
        "    defer a = 2\n",
        "        -2: '\\n',\n        true: 0,\n        default: {\n            var z = 1\n            z\n        },\n    }\n",
        "    var s = S { type: 1, data: null }\n",
        "    var s2 = m.T {\n        x: 1, // one\n",
        "    var arr = [1, 2, /* three */ 3]\n",
        "    a = a + b // plus\n",
        "    c.n = (a & 1) == 0 && !(b | 2 != 0)\n",
        "    return XDP_PASS\n}\n\n// the end\n",
    ] {
        assert!(out.contains(want), "missing:\n{want}\nin:\n{out}");
    }
}

#[test]
fn text_that_does_not_parse_is_refused_with_its_diagnostics() {
    match format_source("fn main() -> i32 {\n    var x = \n}\n") {
        Err(FormatError::Parse(d)) => assert!(d.iter().any(|d| d.is_error())),
        other => panic!("{other:?}"),
    }
}

/// A comment or an empty line at every place one can go (between any two
/// tokens, where it leaves the tree as it is) is kept, and formatting is
/// idempotent.
#[test]
fn comments_anywhere_survive_and_formatting_stays_idempotent() {
    let mut sources = vec![ALL.to_string()];
    sources.push(fs::read_to_string(root().join("examples/xdp_firewall.ks")).unwrap());
    let mut bad = Vec::new();
    let mut tried = 0;
    for src in &sources {
        let tree = parse(src).file;
        let toks = ksc_frontend::lexer::lex(src).tokens;
        for &(_, _, end) in &toks {
            for c in [" /* c */ ", " // c\n", "\n\n"] {
                let mut s = src.clone();
                s.insert_str(end, c);
                let p = parse(&s);
                if p.has_errors() || !same_tree(&tree, &p.file) {
                    continue; // a line break there ends a statement
                }
                tried += 1;
                match format_source(&s) {
                    Ok(out) => match format_source(&out) {
                        Ok(twice) if twice == out => {}
                        Ok(twice) => bad.push(format!(
                            "{c:?} after byte {end}: not idempotent:\n{}",
                            first_difference(&out, &twice)
                        )),
                        Err(e) => bad.push(format!("{c:?} after byte {end}: again: {e}")),
                    },
                    Err(e) => bad.push(format!("{c:?} after byte {end}: {e}")),
                }
            }
        }
    }
    assert!(tried > 1000, "{tried}");
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad[..bad.len().min(8)].join("\n")
    );
}
