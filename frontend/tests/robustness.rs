//! Any input gives diagnostics, never a panic, a hang or a stack overflow:
//! truncations of real programs at every token, random token soup, random
//! bytes, and mutations of the spec's programs (proptest).

use std::fs;
use std::path::Path;

use ksc_frontend::{diag, lexer, parse};
use proptest::prelude::*;

fn spec_sources() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec");
    let mut paths: Vec<_> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
}

/// Parse, check that every diagnostic lies inside the source and renders.
fn check_total(src: &str) -> ksc_frontend::Parsed {
    let parsed = parse(src);
    for d in &parsed.diagnostics {
        assert!(d.span.start <= d.span.end, "inverted span {:?}", d.span);
        assert!(
            d.span.end as usize <= src.len(),
            "span {:?} past the end ({})",
            d.span,
            src.len()
        );
    }
    let _ = diag::render("input.ks", src, &parsed.diagnostics);
    parsed
}

#[test]
fn truncation_at_every_token_of_every_spec_program() {
    let mut cuts = 0;
    for src in spec_sources() {
        let tokens = lexer::lex(&src).tokens;
        for (start, _, end) in &tokens {
            for cut in [*start, *end] {
                if !src.is_char_boundary(cut) {
                    continue;
                }
                let prefix = &src[..cut];
                let parsed = check_total(prefix);
                // A prefix that stops inside an item is an error, located.
                if parsed.has_errors() {
                    assert!(parsed.diagnostics.iter().any(|d| d.is_error()));
                }
                cuts += 1;
            }
        }
    }
    assert!(cuts > 10_000, "only {cuts} truncations");
}

#[test]
fn pathological_inputs() {
    let deep_parens = format!(
        "fn f() {{ var x = {}1{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let deep_unary = format!("fn f() {{ var x = {}1 }}", "-".repeat(1_000_000));
    let deep_not = format!("fn f() {{ var x = {}a }}", "!".repeat(300_000));
    let long_chain = format!("fn f() {{ var x = 1{} }}", " + 1".repeat(200_000));
    let deep_if = format!("fn f() {{ {} return }}", "if (x) ".repeat(100_000));
    let else_if = format!(
        "fn f() {{\n if (a) {{ }}{}\n}}",
        " else if (a) { }\n".repeat(50_000)
    );
    let deep_ptr = format!("var x: {}u8", "*".repeat(200_000));
    let long_line = format!("var s = \"{}\"", "a".repeat(1 << 20));
    let cases: Vec<(&str, String)> = vec![
        ("deep parens", deep_parens),
        ("deep unary", deep_unary),
        ("deep not", deep_not),
        ("long chain", long_chain),
        ("deep if", deep_if),
        ("else if chain", else_if),
        ("deep pointer type", deep_ptr),
        ("1 MB string", long_line),
        ("only braces", "{".repeat(10_000)),
        ("only closers", "}".repeat(10_000)),
        ("empty", String::new()),
        ("nul bytes", "\0".repeat(1000)),
        ("unterminated comment", "/*".to_string()),
        ("lone quote", "\"".to_string()),
    ];
    // Run where the CLI runs the compiler: on a thread with a large stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            for (name, src) in cases {
                let parsed = check_total(&src);
                if name != "empty" && name != "1 MB string" {
                    assert!(parsed.has_errors(), "{name}: expected an error");
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Tokens that programs are made of, for token-soup inputs.
const SOUP: &[&str] = &[
    "fn",
    "var",
    "const",
    "config",
    "local",
    "for",
    "in",
    "pin",
    "type",
    "struct",
    "enum",
    "if",
    "else",
    "while",
    "loop",
    "break",
    "continue",
    "return",
    "import",
    "from",
    "pub",
    "priv",
    "impl",
    "true",
    "false",
    "null",
    "none",
    "try",
    "catch",
    "throw",
    "defer",
    "delete",
    "match",
    "extern",
    "include",
    "as",
    "sizeof",
    "x",
    "ctx",
    "u32",
    "str",
    "hash",
    "@xdp",
    "@tc(\"ingress\")",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    ";",
    ".",
    "..",
    "->",
    "@",
    "?",
    "=",
    "+=",
    "<<=",
    "==",
    "!=",
    "<",
    ">",
    "<<",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "~",
    "!",
    "&&",
    "||",
    "0",
    "42",
    "0x1F",
    "\"s\"",
    "'c'",
    "\n",
    "\n",
    " ",
    "//c\n",
    "/* */",
    "_",
    "default",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SOUP), 0..200).prop_map(|t| t.join(" "))
}

fn mutated_spec() -> impl Strategy<Value = String> {
    let sources = spec_sources();
    (
        0..sources.len(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    )
        .prop_map(move |(i, edits)| {
            let mut bytes = sources[i].clone().into_bytes();
            for (at, op, b) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                match op {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, b"(){}[];,.:\"'\n@*-"[b as usize % 16]),
                    2 => bytes.truncate(at),
                    _ => {
                        let end = (at + 1 + b as usize % 40).min(bytes.len());
                        let chunk: Vec<u8> = bytes[at..end].to_vec();
                        bytes.splice(at..at, chunk);
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_crash(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        check_total(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_crashes(src in soup()) {
        check_total(&src);
    }

    #[test]
    fn mutated_spec_programs_never_crash(src in mutated_spec()) {
        check_total(&src);
    }
}
