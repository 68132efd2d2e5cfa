//! The whole flow a user follows: `ksc build` a program (both backends,
//! make: eBPF object and the program's C side by side, the executable with
//! the object linked in), then run the executable and check what it prints
//! and its exit status, in the kernel. Needs root, clang, bpftool, libbpf.
//!
//! This file: the language in userspace (arguments, exit status, printing,
//! try/catch/throw, defer, strings, function pointers, named returns).

mod userspace_common;

use userspace_common::*;

#[test]
fn main_args_exit_status_and_print() {
    let exe = build(
        "args",
        r#"
struct Args {
    count: u32,
    delta: i16,
    name: str(8),
    verbose: bool,
    mark: char,
}
fn twice(x: u32) -> u32 {
    return x * 2
}
fn main(args: Args) -> i32 {
    var total: u64 = 0
    for (i in 0..args.count) {
        total += twice(i) as u64
    }
    print("total=%d delta=%d name=%s", total, args.delta, args.name)
    if (args.verbose) {
        print("verbose: ", args.count)
    }
    return (args.count % 7) as i32
}
"#,
    );
    let o = run(
        &exe,
        &[
            "--count=4",
            "--delta",
            "-3",
            "--name=abc",
            "--verbose=true",
            "--mark=x",
        ],
    );
    assert_eq!(stdout(&o), "total=12 delta=-3 name=abc\nverbose: 4\n");
    assert_eq!(
        o.status.code(),
        Some(4),
        "exit status is main's return value"
    );
    // Dashed spellings, defaults, help.
    let o = run(&exe, &["--count", "10"]);
    assert_eq!(stdout(&o), "total=90 delta=0 name=\n");
    assert_eq!(o.status.code(), Some(3));
    let o = run(&exe, &["--help"]);
    assert!(
        stdout(&o).contains("--count=<u32>")
            && stdout(&o).contains("--name=<text, at most 7 characters>"),
        "{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(0));
    for bad in [
        &["--count=x"][..],
        &["--delta=40000"],
        &["--name=toolongname"],
        &["--verbose=maybe"],
        &["--mark=ab"],
        &["--mark="],
        &["--nope=1"],
        &["stray"],
    ] {
        let o = run(&exe, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn try_catch_defer_and_uncaught_throws() {
    let exe = build(
        "errors",
        r#"
struct Args { code: u32 }
fn check(x: u32) -> u32 {
    defer print("check done")
    if (x > 10) { throw 42 }
    return x
}
fn main(args: Args) -> i32 {
    defer print("main done")
    try {
        check(args.code)
        print("ok")
    } catch 42 {
        print("caught 42")
    }
    if (args.code == 99) { throw 7 }
    return 0
}
"#,
    );
    let o = run(&exe, &["--code=1"]);
    assert_eq!(stdout(&o), "check done\nok\nmain done\n");
    let o = run(&exe, &["--code=50"]);
    assert_eq!(stdout(&o), "check done\ncaught 42\nmain done\n");
    let o = run(&exe, &["--code=99"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("uncaught throw 7"), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("main done\n"),
        "defer runs on throw too: {}",
        stdout(&o)
    );
}

#[test]
fn userspace_language_strings_function_pointers_match_named_returns() {
    let exe = build(
        "lang",
        r#"
@xdp
fn prog(ctx: *xdp_md) -> xdp_action { return XDP_PASS }

enum Color { Red = 1, Green = 2, Blue = 4 }
struct Point { x: i32, y: i32 }
struct Named { tag: u8[4], n: u32 }

fn add(a: i32, b: i32) -> i32 { return a + b }
fn mul(a: i32, b: i32) -> i32 { return a * b }
fn apply(f: fn(i32, i32) -> i32, a: i32, b: i32) -> i32 { return f(a, b) }
fn sum_to(n: u32) -> total: u64 {
    for (i in 0..n) { total += i }
    return total
}
fn code_of(c: Color) -> u32 {
    return match (c) { Red: 10, Green: 20, default: 30 }
}
fn bump(p: *Point) {
    if (p != null) { p->x += 1 }
}

fn main() -> i32 {
    var s: str(16) = "hello"
    var t: str(16) = " world"
    var u: str(32) = s + t
    var short: str(8) = s + t
    print("[%s] [%s] equal: %d", u, short, u == "hello world")
    print("char %c", s[1])
    var p = Point { x: 1, y: 2 }
    bump(&p)
    print("p %d %d", p.x, p.y)
    var op = mul
    print("fp %d %d", apply(add, 3, 4), apply(op, 3, 4))
    print("sum %d", sum_to(5))
    print("match %d %d %d", code_of(Red), code_of(Green), code_of(Blue))
    var i = 0
    loop {
        i += 1
        if (i > 3) { break }
    }
    while (i < 10) { i += 2 }
    var arr: u32[4] = [1, 2, 3, 4]
    print("i %d arr %d", i, arr[2])
    var nm = Named { tag: [0; 4], n: 2 }
    nm.tag[0] = 79
    nm.tag[1] = 75
    print("%c%c %5d|%-3s|%s %d", 72, 105, 42, "ab", nm.tag, nm.n)
    return 3
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[hello world] [hello w] equal: 1\nchar e\np 2 2\nfp 7 12\nsum 10\nmatch 10 20 30\ni 10 arr 3\nHi    42|ab |OK 2\n"
    );
}

#[test]
fn a_throwing_function_cannot_become_a_function_pointer() {
    let dir = std::env::temp_dir().join(format!("ksc-user-fp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("fp.ks");
    std::fs::write(
        &ks,
        "@xdp\nfn prog(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\nfn risky(a: i32) -> i32 {\n    if (a > 1) { throw 7 }\n    return a\n}\nfn apply(f: fn(i32) -> i32) -> i32 { return f(2) }\nfn main() -> i32 {\n    return apply(risky)\n}\n",
    )
    .unwrap();
    let o = ksc("build", &ks, &dir.join("out"));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("`risky` can throw, so it cannot be used as a function pointer")
            && e.contains("fp.ks:9:18"),
        "{e}"
    );
}

#[test]
fn defer_of_a_call_on_inner_block_variables_runs_at_function_exit() {
    // The spec's `defer release_flow_lock(lock)` inside `try`: the deferred
    // call uses variables of inner blocks, and runs at the function's exit
    // (last in, first out), on a caught throw as well.
    let exe = build(
        "deferinner",
        r#"
fn record(v: u64) {
    print("deferred %d", v)
}
fn work(n: u64) -> u64 {
    defer record(100)
    if (n > 0) {
        var inner = n * 2
        defer record(inner)
        try {
            var t = n + 1
            defer record(t)
            if (n == 3) {
                throw 7
            }
        } catch 7 {
            print("caught")
        }
    }
    return n
}
fn main() -> i32 {
    work(3)
    work(0)
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "caught\ndeferred 4\ndeferred 6\ndeferred 100\ndeferred 100\n"
    );
}
