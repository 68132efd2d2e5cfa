//! Programs written for the reference implementation (docs/language.md,
//! "Programs written for the reference implementation"): a map lookup used
//! as a value, and what the reference accepts that ksc refuses, each error
//! at its line and column with the `help:` that shows the fix.

mod support;
use support::*;

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

// ---------------------------------------------------------------------------
// What the reference accepts and ksc refuses: each error at its line and
// column, with the `help:` that shows the fix.

#[test]
fn implicit_narrowing_is_refused_with_the_cast_spelled_out() {
    let pre = "struct Rec { small: u32 }\n@helper fn take(x: u32) -> u32 { return x }\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var t: u64 = bpf_ktime_get_ns()\n";
    let end = "    return XDP_PASS\n}\n";
    // A struct literal's field.
    assert_error(
        &format!("{pre}    var r = Rec {{ small: t }}\n{end}"),
        5,
        Some(26),
        "mismatched types: expected `u32`, found `u64`",
        "convert explicitly if the value fits, `t as u32`, or make the destination a `u64`",
    );
    // An assignment: the expression is parenthesised in the fix.
    assert_error(
        &format!("{pre}    var s: u32 = 0\n    s = t + 1\n{end}"),
        6,
        Some(9),
        "mismatched types: expected `u32`, found `u64`",
        "`(t + 1) as u32`",
    );
    // An argument; a call needs no parentheses.
    assert_error(
        &format!("{pre}    var u = take(t >> 3)\n{end}"),
        5,
        Some(18),
        "mismatched types: expected `u32`, found `u64`",
        "`(t >> 3) as u32`",
    );
    assert_error(
        &format!("{pre}    var u = take(bpf_ktime_get_ns())\n{end}"),
        5,
        Some(18),
        "mismatched types: expected `u32`, found `u64`",
        "`bpf_ktime_get_ns() as u32`",
    );
    // A compound assignment, and a map lookup read as a value.
    assert_error(
        &format!("{pre}    var s: u32 = 0\n    s += t\n{end}"),
        6,
        Some(10),
        "mismatched types: `u32` += `u64`",
        "`t as u32`",
    );
    assert_error(
        "var m : hash<u32, u64>(4)\n@helper fn g(k: u32) -> u32 {\n    var v = m[k]\n    if (v != null) {\n        return v\n    }\n    return 0\n}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    return if (g(1) > 0) { XDP_DROP } else { XDP_PASS }\n}\n",
        5,
        Some(16),
        "mismatched types: expected `u32`, found `u64`",
        "`v as u32`",
    );
}

#[test]
fn a_string_longer_than_its_str_names_the_size_needed() {
    // Seven characters and the NUL: `str(8)`.
    assert_error(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var name: str(6) = \"toolong\"\n    return XDP_PASS\n}\n",
        2,
        Some(24),
        "a string of 8 bytes does not fit in `str(6)`",
        "declare it `str(8)` or larger",
    );
    // A global's initial value, folded as a constant.
    assert_error(
        "var greeting: str(5) = \"hello\"\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n",
        1,
        Some(24),
        "a string of 6 bytes does not fit in `str(5)`",
        "declare it `str(6)` or larger",
    );
}

#[test]
fn an_unchecked_packet_read_shows_the_bounds_check() {
    assert_error(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var data = ctx->data\n    var proto = *(data + 23)\n    return if (proto == 6) { XDP_DROP } else { XDP_PASS }\n}\n",
        3,
        Some(17),
        "packet access past the checked length: bytes 23..24 of the packet",
        "`if (data + 24 > ctx->data_end) { return XDP_PASS }`",
    );
    // With the program's own names, and TC's action.
    assert_error(
        "@tc(\"ingress\") fn p(ctx: *__sk_buff) -> i32 {\n    var start = ctx->data\n    var stop = ctx->data_end\n    if (start + 14 > stop) { return TC_ACT_OK }\n    var b = *(start + 20)\n    return if (b == 6) { TC_ACT_SHOT } else { TC_ACT_OK }\n}\n",
        5,
        Some(13),
        "packet access past the checked length: bytes 20..21",
        "`if (start + 21 > stop) { return TC_ACT_OK }`",
    );
}

#[test]
fn a_600_byte_stack_array_shows_the_scratch_map() {
    assert_error(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var big: u8[600] = [0; 600]\n    big[0] = 1\n    return XDP_PASS\n}\n",
        2,
        Some(9),
        "`big` needs 600 bytes, more than the whole 512-byte eBPF stack",
        "`var big_buf : percpu_array<u32, u8[600]>(1)`, then `var big = big_buf[0]` and `if (big != null) { ... }`",
    );
    // The fix checks clean.
    assert_clean("var big_buf : percpu_array<u32, u8[600]>(1)\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var big = big_buf[0]\n    if (big != null) {\n        big[0] = 1\n    }\n    return XDP_PASS\n}\n");
}

#[test]
fn an_integer_literal_too_large_names_the_type_that_fits() {
    // In a function, through an alias; a dotted quad without its dots.
    assert_error(
        "type IpAddress = u32\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var ip: IpAddress = 192168001001\n    return if (ip == 0) { XDP_DROP } else { XDP_PASS }\n}\n",
        3,
        Some(25),
        "`192168001001` does not fit in `u32`",
        "a `u32` holds 0..=4294967295; a value this large needs a `u64`; if this is the IPv4 address 192.168.1.1, write it as `0xC0A80101` (3232235777)",
    );
    // A global, folded as a constant.
    assert_error(
        "var limit: u16 = 70000\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n",
        1,
        Some(18),
        "`70000` does not fit in `u16`",
        "a `u16` holds 0..=65535; a value this large needs a `u32`",
    );
}

#[test]
fn a_never_called_function_must_check_its_pointer_parameter() {
    let src = "struct Point { x: u32, y: u32 }\n@helper fn update(p: *Point, n: u32) -> u32 {\n    p->x = n\n    return p->y\n}\n@xdp fn prog(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n";
    assert_error(
        src,
        3,
        Some(5),
        "potential null pointer dereference of `p`",
        "`update` is never called, so no call shows `p` is not null: check it first, `if (p != null) { ... }`, or call it with a pointer known not to be null, `update(&value, n)`",
    );
    // Called with `&pt`, it needs no check.
    assert_clean("struct Point { x: u32, y: u32 }\n@helper fn update(p: *Point, n: u32) -> u32 {\n    p->x = n\n    return p->y\n}\n@xdp fn prog(ctx: *xdp_md) -> xdp_action {\n    var pt = Point { x: 1, y: 2 }\n    return if (update(&pt, 3) == 2) { XDP_PASS } else { XDP_DROP }\n}\n");
}

/// A Python bridge that answers for one module without running Python.
struct FakeBridge;

impl ksc_midend::PythonBridge for FakeBridge {
    fn inspect(&self, _path: &std::path::Path) -> Result<ksc_ir::python::PyInspection, String> {
        let f = |name: &str, returns: Option<&str>| ksc_ir::python::PyFunction {
            name: name.into(),
            line: 1,
            params: vec![ksc_ir::python::PyParam {
                name: "n".into(),
                annotation: None,
                has_default: false,
            }],
            varargs: false,
            required_keyword_only: false,
            returns: returns.map(Into::into),
            is_async: false,
        };
        Ok(ksc_ir::python::PyInspection::Module(
            ksc_ir::python::PyModuleInfo {
                functions: vec![f("guess", None), f("count", Some("int"))],
            },
        ))
    }
}

#[test]
fn a_python_result_of_unknown_type_asks_for_an_annotation_or_a_type() {
    let src = "import model from \"model.py\"\nfn main() -> i32 {\n    var a = model.count(1)\n    var b: i64 = model.guess(2)\n    var c = model.guess(3)\n    return 0\n}\n";
    let mut files = ksc_frontend::SourceMap::single("test.ks", src);
    let parsed = ksc_frontend::parse(src);
    let loaded = ksc_midend::imports::load(parsed.file, &mut files);
    let c = ksc_midend::check_loaded_with(
        &loaded,
        &files,
        &ksc_midend::CheckOptions {
            python: Some(&FakeBridge),
            ..support::options()
        },
    );
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let (line, col) = files.line_col(d.span);
            (
                line,
                col,
                d.message.clone(),
                d.help.clone().unwrap_or_default(),
            )
        })
        .collect();
    // Only `c`: `a` is annotated `-> int`, `b` has a type.
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (line, col, message, help) = &errors[0];
    assert_eq!((*line, *col), (5, 13), "{errors:?}");
    assert_eq!(message, "the type of `model.guess`'s result is unknown");
    assert!(
        help.contains("annotate it (`def guess(...) -> int:`")
            && help.contains("give the call a type (`var x: i64 = model.guess(...)`)"),
        "{help}"
    );
}

#[test]
fn a_struct_assigned_to_a_lookup_says_how_to_store_or_point_at_it() {
    // Programs written for the reference fill a missing entry by assigning
    // a struct to the lookup's variable; it is a pointer, and the help
    // shows both fixes.
    assert_error(
        "struct S { n: u64 }\nvar m : hash<u32, S>(8)\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var s = m[1]\n    if (s == null) {\n        s = S { n: 0 }\n    }\n    return XDP_PASS\n}\n",
        6,
        Some(13),
        "mismatched types: expected `*S`, found `S`",
        "to store this value in a map write the entry (`m[key] = value`); to point at it, keep it in a variable and take its address (`var v: S = ...`, then `&v`)",
    );
}

#[test]
fn a_helper_takes_memory_not_null() {
    // The verifier refuses null where a helper takes memory ("R1
    // type=scalar expected=fp, ..."), also through an `extern` restating
    // the helper, as the reference's headers do.
    assert_error(
        "extern bpf_trace_printk(fmt: *u8, fmt_size: u32) -> i32\n@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    var r = bpf_trace_printk(null, 0)\n    return XDP_PASS\n}\n",
        3,
        Some(30),
        "`bpf_trace_printk` takes memory as argument 1, not `null`",
        "pass a pointer to a variable or a string",
    );
    assert_error(
        "var m : hash<u32, u64>(8)\n@tracepoint(\"syscalls/sys_enter_read\") fn p(ctx: *trace_event_raw_sys_enter) -> i32 {\n    var v = m[1]\n    var r = bpf_probe_read_kernel(v, 8, v)\n    return 0\n}\n",
        4,
        Some(35),
        "`bpf_probe_read_kernel` takes memory as argument 1, not a pointer that may be null",
        "check it first",
    );
    // The unsafe pointer of `bpf_probe_read_kernel` may be anything.
    assert_clean(
        "var m : hash<u32, u64>(8)\n@tracepoint(\"syscalls/sys_enter_read\") fn p(ctx: *trace_event_raw_sys_enter) -> i32 {\n    var x: u64 = 0\n    var v = m[1]\n    var r = bpf_probe_read_kernel(&x, 8, v)\n    return 0\n}\n",
    );
}
