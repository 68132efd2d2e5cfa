//! Programs written for the reference implementation (docs/language.md,
//! "Programs written for the reference implementation"): a map lookup used
//! as a value, and what the reference accepts that ksc refuses, each error
//! at its line and column with the `help:` that shows the fix.

struct Diag {
    line: usize,
    col: usize,
    message: String,
    help: String,
}

struct Outcome {
    errors: Vec<Diag>,
    warnings: Vec<Diag>,
    module: Option<ksc_ir::Module>,
    rendered: String,
}

fn check(src: &str) -> Outcome {
    let mut files = ksc_frontend::SourceMap::single("test.ks", src);
    let parsed = ksc_frontend::parse(src);
    let mut diags = parsed.diagnostics.clone();
    let mut module = None;
    if !parsed.has_errors() {
        let loaded = ksc_midend::imports::load(parsed.file, &mut files);
        diags.extend(loaded.diagnostics.iter().cloned());
        if !loaded.has_errors() {
            let c = ksc_midend::check_loaded(&loaded, &files);
            diags.extend(c.diagnostics.iter().cloned());
            module = c.module;
        }
    }
    let at = |d: &ksc_frontend::Diagnostic| {
        let (line, col) = files.line_col(d.span);
        Diag {
            line: line as usize,
            col: col as usize,
            message: d.message.clone(),
            help: d.help.clone().unwrap_or_default(),
        }
    };
    Outcome {
        errors: diags.iter().filter(|d| d.is_error()).map(at).collect(),
        warnings: diags.iter().filter(|d| !d.is_error()).map(at).collect(),
        module,
        rendered: ksc_frontend::diag::render_files(&files, &diags),
    }
}

/// The one error of `src` is on `line` (and `col`, when given), its message
/// contains `message` and its help contains `help`.
fn assert_error(src: &str, line: usize, col: Option<usize>, message: &str, help: &str) {
    let o = check(src);
    assert!(
        o.errors.iter().any(|d| d.line == line
            && col.is_none_or(|c| d.col == c)
            && d.message.contains(message)
            && d.help.contains(help)),
        "want an error at {line}:{col:?} containing {message:?} with help {help:?}, got:\n{}",
        o.rendered
    );
}

fn assert_clean(src: &str) -> ksc_ir::Module {
    let o = check(src);
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{}",
        o.rendered
    );
    o.module.expect("a module")
}

/// How many `*p` reads the module holds (counted in its RON text, the
/// IR's stable form).
fn derefs(m: &ksc_ir::Module) -> usize {
    m.to_ron().matches("Deref(").count()
}

// ---------------------------------------------------------------------------
// A map lookup used as a value.

const LOOKUP_PRE: &str = "struct Pair { a: u32, b: u32 }\nvar counts : hash<u32, u64>(16)\nvar pairs : array<u32, Pair>(4)\n@helper fn twice(x: u64) -> u64 { return x * 2 }\n@helper fn sum(p: Pair) -> u32 { return p.a + p.b }\n";

#[test]
fn a_checked_lookup_reads_through_as_a_value() {
    // Arithmetic, comparison with a number, `return`, a scalar variable, a
    // map write, an argument, a compound assignment, `match`, an
    // if-expression, a struct variable, a struct argument and map write.
    let m = assert_clean(&format!(
        "{LOOKUP_PRE}@helper fn get(k: u32) -> u64 {{
    var v = counts[k]
    if (v != null) {{
        return v
    }}
    return 0
}}
@xdp fn p(ctx: *xdp_md) -> xdp_action {{
    var v = counts[1]
    if (v == null) {{
        return XDP_PASS
    }}
    var x: u64 = v
    x += v
    x = twice(v) + get(2)
    var y = if (v != null) {{ v }} else {{ 0 }}
    var z = match (v) {{
        3: 1,
        default: 2,
    }}
    var q = pairs[0]
    if (q != null) {{
        var copy: Pair = q
        pairs[1] = q
        copy.a = sum(q)
        pairs[2] = copy
    }}
    var big = v > 10 || v == 0 || -(v as i64) < 0
    counts[2] = v + x + y + z
    return if (big) {{ XDP_DROP }} else {{ XDP_PASS }}
}}
"
    ));
    assert_eq!(derefs(&m), 13);
}

#[test]
fn a_checked_lookup_reads_through_in_userspace() {
    assert_clean(&format!(
        "{LOOKUP_PRE}fn show(p: Pair) -> u32 {{
    return p.a
}}
fn main() -> i32 {{
    var v = counts[5]
    if (v != null) {{
        print(\"%d %d\", v + 1, v)
        counts[6] = v * 2
    }}
    var q = pairs[1]
    if (q != null && q.a > 0) {{
        return show(q) as i32
    }}
    return 0
}}
"
    ));
}

#[test]
fn a_lookup_used_as_a_value_before_its_check_is_a_null_dereference() {
    let pre = LOOKUP_PRE;
    let help = "check it first: `if (v != null) { ... }`";
    // Arithmetic into a map write, at the use of `v`.
    assert_error(
        &format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var v = counts[1]\n    counts[1] = v + 1\n    return XDP_PASS\n}}\n"),
        8,
        Some(17),
        "potential null pointer dereference of `v`",
        help,
    );
    // The help names the map and the read that needs no check.
    assert_error(
        &format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var v = counts[1]\n    counts[1] = v + 1\n    return XDP_PASS\n}}\n"),
        8,
        Some(17),
        "potential null pointer dereference of `v`",
        "`counts[key]` directly, which gives zero",
    );
    // A comparison with a number.
    assert_error(
        &format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var v = counts[1]\n    if (v == 0) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n"),
        8,
        Some(9),
        "potential null pointer dereference of `v`",
        help,
    );
    // `return v`, on the path where the check failed.
    assert_error(
        &format!("{pre}@helper fn g(k: u32) -> u64 {{\n    var v = counts[k]\n    if (v == null) {{\n        return v\n    }}\n    return 1\n}}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    return if (g(1) > 0) {{ XDP_DROP }} else {{ XDP_PASS }}\n}}\n"),
        9,
        Some(16),
        "potential null pointer dereference of `v`",
        help,
    );
    // An argument, and a struct variable, in userspace.
    assert_error(
        &format!("{pre}fn main() -> i32 {{\n    var v = counts[1]\n    print(\"%d\", twice(v))\n    return 0\n}}\n"),
        8,
        None,
        "potential null pointer dereference of `v`",
        help,
    );
    assert_error(
        &format!("{pre}fn main() -> i32 {{\n    var q = pairs[1]\n    var c: Pair = q\n    return c.a as i32\n}}\n"),
        8,
        Some(19),
        "potential null pointer dereference of `q`",
        "check it first: `if (q != null) { ... }`",
    );
}

#[test]
fn a_lookup_compared_with_null_stays_a_pointer() {
    let m = assert_clean(&format!(
        "{LOOKUP_PRE}@xdp fn p(ctx: *xdp_md) -> xdp_action {{
    var v = counts[1]
    var w = v
    if (v == null || w != null) {{
        return XDP_DROP
    }}
    return XDP_PASS
}}
"
    ));
    assert_eq!(derefs(&m), 0);
}

#[test]
fn other_pointers_stay_explicit() {
    // Only map lookups read through; `&x` needs `*p`.
    assert_error(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var x: u64 = 1\n    var p = &x\n    var y: u64 = p\n    return XDP_PASS\n}\n",
        4,
        None,
        "mismatched types: expected `u64`, found `*u64`",
        "",
    );
}
