//! Syntax programs written for the reference implementation use
//! (docs/language.md, "Syntax the reference accepts"): each construct
//! checks clean where it is valid, and its misuses are errors at their line.

mod support;
use support::check;

fn assert_error(src: &str, line: usize, phrase: &str) {
    support::assert_error(src, line, None, phrase, "");
}

/// No errors (warnings allowed).
fn assert_clean(src: &str) -> ksc_ir::Module {
    let o = check(src);
    assert!(o.errors.is_empty(), "{}", o.rendered);
    o.module.expect("a module")
}

const MAP: &str = "struct Stats { count: u64 }\nvar stats : hash<u32, Stats>(16)\n";

#[test]
fn if_var_binds_a_lookup_for_the_then_branch() {
    // Non-null in the then-branch: fields read and written through it.
    assert_clean(&format!("{MAP}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (var s = stats[1]) {{\n        s.count = s.count + 1\n    }} else {{\n        stats[1] = Stats {{ count: 1 }}\n    }}\n    return XDP_PASS\n}}\n"));
    // `x` exists in the then-branch only: not in `else`, not after.
    assert_error(&format!("{MAP}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (var s = stats[1]) {{\n        s.count = 1\n    }} else {{\n        s.count = 2\n    }}\n    return XDP_PASS\n}}\n"), 7, "cannot find value `s`");
    assert_error(&format!("{MAP}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (var s = stats[1]) {{ s.count = 1 }}\n    s.count = 2\n    return XDP_PASS\n}}\n"), 5, "cannot find value `s`");
    // A value that is not a pointer is tested as `if (e)`; typed bindings too.
    assert_clean("fn f(x: u32) -> u32 {\n    if (var n = x * 2) {\n        return n\n    }\n    return 7\n}\nfn main() -> i32 {\n    if (var b: bool = f(1) > 1) { return 0 }\n    return 1\n}\n");
    // The condition must still be one.
    assert_error("struct P { a: u32 }\nfn main() -> i32 {\n    if (var p = P { a: 1 }) { return 0 }\n    return 1\n}\n", 3, "a condition must be");
    // The lowered form: the binding, then `if (s != null)`.
    let m = assert_clean(&format!("{MAP}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (var s = stats[1]) {{ s.count = 1 }}\n    return XDP_PASS\n}}\n"));
    let f = m.functions.iter().find(|f| f.name == "p").unwrap();
    let ksc_ir::StmtKind::Block(b) = &f.body.stmts[0].kind else {
        panic!("{:?}", f.body.stmts[0])
    };
    assert!(matches!(b.stmts[0].kind, ksc_ir::StmtKind::Let { .. }));
    let ksc_ir::StmtKind::If { cond, .. } = &b.stmts[1].kind else {
        panic!("{:?}", b.stmts[1])
    };
    assert!(matches!(
        cond.kind,
        ksc_ir::ExprKind::Binary {
            op: ksc_ir::BinOp::Ne,
            ..
        }
    ));
}

#[test]
fn keywords_name_fields() {
    assert_clean("struct H {\n    type: u16,\n    match: u8,\n}\nfn main() -> i32 {\n    var h = H { type: 1, match: 2 }\n    h.type = h.type + h.match\n    var p = &h\n    p->match = 3\n    return h.type as i32\n}\n");
    assert_error("struct H { type: u16 }\nfn main() -> i32 {\n    var h = H { type: 1 }\n    return h.typ as i32\n}\n", 4, "no field `typ`");
}

#[test]
fn match_arms_take_blocks() {
    // As a statement, a `return` value, an initial value; nested; with a
    // last expression that is an `if`.
    assert_clean("fn f(x: u32) -> u32 {\n    match (x) {\n        1: {\n            print(\"one\")\n        },\n        default: {\n            print(\"other\")\n        }\n    }\n    var v = match (x) {\n        1: { print(\"a\")\n 10 },\n        default: 20\n    }\n    return match (v) {\n        10: {\n            if (x > 5) { 1 } else { 2 }\n        },\n        default: match (x) { 3: { 4 }, default: 5 }\n    }\n}\nfn main() -> i32 { return f(1) as i32 }\n");
    // An arm used as a value must have one.
    assert_error("fn f(x: u32) -> u32 {\n    var v = match (x) {\n        1: 10,\n        default: { print(\"none\") }\n    }\n    return v\n}\n", 4, "this arm has no value");
    // Inside a larger expression a block arm has nowhere to go.
    assert_error("fn g(x: u32) -> u32 { return x }\nfn f(x: u32) -> u32 {\n    return g(match (x) { 1: { 2 }, default: 3 })\n}\n", 3, "stands where a statement does");
    // The arms' blocks are scopes of their own.
    assert_error("fn f(x: u32) -> u32 {\n    match (x) {\n        1: { var y = 2 },\n        default: { }\n    }\n    return y\n}\n", 6, "cannot find value `y`");
}

#[test]
fn a_body_ending_in_an_expression_returns_it() {
    assert_clean("fn f(x: u32) -> u32 {\n    x + 1\n}\nfn g(x: u32) -> u32 {\n    match (x) {\n        1: 5,\n        default: f(x)\n    }\n}\nfn h(x: u32) -> u32 {\n    if (x > 1) { 2 } else { 3 }\n}\nfn main() -> i32 {\n    var t = f(1) + g(2) + h(3)\n    t as i32\n}\n");
    // Still a value of the return type.
    assert_error(
        "fn f(x: u32) -> u8 {\n    var y: u64 = x\n    y\n}\n",
        3,
        "mismatched types",
    );
    // A call returning nothing is no value: the function may reach its end.
    assert_error(
        "fn g() { }\nfn f(x: u32) -> u32 {\n    g()\n}\n",
        4,
        "may reach its end without returning",
    );
    // An `if` without `else` has no value either.
    assert_error(
        "fn f(x: u32) -> u32 {\n    if (x > 1) { 2 }\n}\n",
        3,
        "may reach its end without returning",
    );
}

#[test]
fn match_on_bool_and_exhaustive_enums() {
    assert_clean("enum Dir { In = 0, Out = 1, Both = 2 }\nfn f(b: bool) -> u32 {\n    return match (b) {\n        true: 1,\n        false: 0\n    }\n}\nfn g(d: Dir) -> u32 {\n    return match (d) {\n        In: 1,\n        Out: 2,\n        Both: 3\n    }\n}\nfn h(d: Dir) -> u32 {\n    match (d) {\n        In: { 1 },\n        Out: { 2 },\n        Both: { 3 }\n    }\n}\nfn main() -> i32 {\n    return (f(true) + g(Out) + h(Both)) as i32\n}\n");
    // A variant left out is an error naming it.
    assert_error("enum Dir { In = 0, Out = 1, Both = 2 }\nfn g(d: Dir) -> u32 {\n    return match (d) {\n        In: 1,\n        Out: 2\n    }\n}\n", 3, "does not cover every value");
    assert_error(
        "fn f(b: bool) -> u32 {\n    return match (b) { true: 1 }\n}\n",
        2,
        "does not cover every value",
    );
    // `true`/`false` match a `bool`, and a `bool` only those.
    assert_error(
        "fn f(x: u32) -> u32 {\n    return match (x) { true: 1, default: 0 }\n}\n",
        2,
        "`true` matches a `bool`",
    );
    assert_error(
        "fn f(b: bool) -> u32 {\n    return match (b) { 1: 1, default: 0 }\n}\n",
        2,
        "are `true` and `false`",
    );
    // An integer scrutinee still needs a `default`.
    assert_error(
        "fn f(x: u32) -> u32 {\n    return match (x) { 1: 2 }\n}\n",
        2,
        "needs a `default` arm",
    );
}

#[test]
fn test_is_a_built_in_only_in_test_functions() {
    // A program, or a userspace function, may be named `test`.
    assert_clean("@xdp fn test(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n@test fn t() -> i32 {\n    var c = XdpTestContext { packet_size: 64, interface_id: 1, expected_action: 2 }\n    return if (test(test, c) == XDP_PASS) { 0 } else { 1 }\n}\nfn main() -> i32 {\n    var h = load(test)\n    return 0\n}\n");
    let m = assert_clean(
        "fn test(x: u32) -> u32 { return x * 2 }\nfn main() -> i32 { return test(2) as i32 }\n",
    );
    assert!(m.functions.iter().any(|f| f.name == "test"));
    // Without one, `test()` outside `@test` is still the built-in, refused there.
    assert_error("@xdp fn p(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\nfn main() -> i32 {\n    var c = XdpTestContext { packet_size: 64, interface_id: 1, expected_action: 2 }\n    return test(p, c) as i32\n}\n", 4, "can only be called from a `@test` function");
    // Other built-ins stay reserved.
    assert_error(
        "fn load(x: u32) -> u32 { return x }\nfn main() -> i32 { return 0 }\n",
        1,
        "cannot be redefined",
    );
}

#[test]
fn enum_values_may_be_64_bit() {
    let m = assert_clean("enum Wide {\n    A = 1,\n    B = 5000000000,\n    C = 9223372036854775810,\n    D = 18446744073709551615,\n}\nenum Neg { N = -1, P = 3000000000 }\nenum Small { X = 0, Y = 4294967295 }\nenum Int { I = -1, J = 5 }\nfn main() -> i32 {\n    var x: u64 = B\n    var y: u64 = D\n    var n: i64 = N\n    return if (x < y && n < 0) { 0 } else { 1 }\n}\n");
    let repr = |name: &str| {
        m.types
            .iter()
            .find_map(|t| match &t.kind {
                ksc_ir::TypeKind::Enum(e) if e.name == name => Some(e.clone()),
                _ => None,
            })
            .unwrap()
    };
    let wide = repr("Wide");
    assert_eq!(wide.repr, ksc_ir::IntType::U64);
    assert_eq!(wide.value_of(wide.variants[2].value), 9223372036854775810);
    assert_eq!(wide.value_of(wide.variants[3].value), u64::MAX as i128);
    assert_eq!(repr("Neg").repr, ksc_ir::IntType::I64);
    assert_eq!(repr("Small").repr, ksc_ir::IntType::U32);
    assert_eq!(repr("Int").repr, ksc_ir::IntType::I32);
    // Negative values and values above 2^63 do not fit one 64-bit type.
    assert_error(
        "enum Bad {\n    A = -1,\n    B = 9223372036854775810,\n}\nfn main() -> i32 { return 0 }\n",
        1,
        "span more than 64 bits",
    );
}

#[test]
fn block_values_through_if_var_and_assignment() {
    // An `if (var ...)` with `else` as a body's last statement returns.
    assert_clean(&format!("{MAP}@helper fn count(k: u32) -> u64 {{\n    if (var s = stats[k]) {{\n        s.count\n    }} else {{\n        0\n    }}\n}}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    if (count(1) > 2) {{ return XDP_DROP }}\n    return XDP_PASS\n}}\n"));
    // `x = match` with block arms assigns a variable.
    assert_clean("fn f(x: u32) -> u32 {\n    var v: u32 = 0\n    v = match (x) {\n        1: { print(\"one\")\n 10 },\n        default: 20\n    }\n    return v\n}\nfn main() -> i32 { return f(1) as i32 }\n");
    // Not a constant.
    assert_error("fn f(x: u32) -> u32 {\n    const v: u32 = 0\n    v = match (x) {\n        1: { 10 },\n        default: 20\n    }\n    return v\n}\n", 3, "cannot assign to `v`, a constant");
}
