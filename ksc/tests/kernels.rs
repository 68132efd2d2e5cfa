//! Kernels at compile time (docs/kernels.md): `ksc check --emit=kernels`
//! prints each program's oldest kernel; `ksc build --kernel K` and `ksc
//! check --kernel K` report each use K lacks, located, by the release
//! tables and by K's BTF; `ksc test --kernel A,B` runs the tests inside
//! each kernel under qemu.
//!
//! The compile-time tests run with an empty kernel cache
//! (`KSC_KERNEL_CACHE`), so a label is checked against the tables alone
//! and nothing depends on which kernels this machine has fetched or runs;
//! BTF is a file the test writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn dir() -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ksc-kernels-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("empty-cache")).unwrap();
    d
}

fn ksc(d: &Path, args: &[&str]) -> Output {
    let plugins = Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(args)
        .env("KSC_PLUGIN_PATH", plugins)
        .env("KSC_KERNEL_CACHE", d.join("empty-cache"))
        .env_remove("KSC_KERNEL")
        .output()
        .unwrap()
}

fn write(d: &Path, src: &str) -> String {
    let p = d.join("prog.ks");
    std::fs::write(&p, src).unwrap();
    p.to_string_lossy().into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `bpf_loop` (restated with `extern`) and `bpf_ktime_get_coarse_ns` on
/// 5.10: one located error each, naming the feature and its release,
/// with the caret under the call and a help line; nothing is written.
#[test]
fn building_for_5_10_names_each_helper_it_lacks_at_its_line() {
    let d = dir();
    let ks = write(
        &d,
        r#"extern bpf_loop(nr: u32, callback: *u8, ctx: *u8, flags: u64) -> i64

var hits : array<u32, u64>(1)

@xdp
fn counter(ctx: *xdp_md) -> xdp_action {
    hits[0] += 1
    var t = bpf_ktime_get_coarse_ns()
    bpf_loop(4, null, null, 0)
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
"#,
    );
    let out = d.join("out");
    let o = ksc(
        &d,
        &[
            "build",
            &ks,
            "--kernel",
            "5.10",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("error[E0806]: `bpf_loop` came in Linux 5.17; 5.10 is older")
            && e.contains("prog.ks:9:5")
            && e.contains("^^^^^^^^^^^^^^^^^^^^^^^^^^")
            && e.contains("help: build for Linux 5.17 or later"),
        "{e}"
    );
    assert!(
        e.contains("error[E0806]: `bpf_ktime_get_coarse_ns` came in Linux 5.11; 5.10 is older")
            && e.contains("prog.ks:8:13"),
        "{e}"
    );
    assert!(!out.exists(), "files were written for a failed check");
    // `ksc check --kernel` says the same; 5.17 lacks neither.
    let c = ksc(&d, &["check", &ks, "--kernel", "5.10.0-32-amd64"]);
    assert_eq!(c.status.code(), Some(1));
    assert!(
        err(&c).contains("`bpf_loop` came in Linux 5.17; 5.10.0-32-amd64 is older"),
        "{}",
        err(&c)
    );
    let ok = ksc(&d, &["check", &ks, "--kernel", "5.17"]);
    assert!(!err(&ok).contains("error"), "{}", err(&ok));
    let _ = std::fs::remove_dir_all(&d);
}

/// A program calling a `@kfunc` (a kernel module's) and a kernel kfunc:
/// 5.10 has neither module kfuncs (5.18) nor `bpf_iter_num_new` (6.4).
#[test]
fn a_kfunc_program_for_5_10_is_refused_at_each_call() {
    let d = dir();
    let ks = write(
        &d,
        r#"extern bpf_iter_num_new(it: *u8, start: i32, end: i32) -> i32

@kfunc
fn tripled(x: u32) -> u32 {
    return x * 3
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    var buf: u64 = 0
    bpf_iter_num_new(&buf as *u8, 0, 4)
    if (tripled(2) == 6) {
        return XDP_PASS
    }
    return XDP_DROP
}

fn main() -> i32 {
    return 0
}
"#,
    );
    let o = ksc(&d, &["check", &ks, "--kernel", "5.10"]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("kfuncs of kernel modules (`@kfunc`) came in Linux 5.18; 5.10 is older")
            && e.contains("prog.ks:12:9"),
        "{e}"
    );
    assert!(
        e.contains("the kfunc `bpf_iter_num_new` came in Linux 6.4; 5.10 is older")
            && e.contains("prog.ks:11:5"),
        "{e}"
    );
    assert!(
        e.contains("kfunc calls (kernel functions called from eBPF) came in Linux 5.13"),
        "{e}"
    );
    // 6.1 has module kfuncs but not the iterator kfunc.
    let o = ksc(&d, &["check", &ks, "--kernel", "6.1"]);
    let e = err(&o);
    assert!(!e.contains("`@kfunc`) needs"), "{e}");
    assert!(
        e.contains("`bpf_iter_num_new` came in Linux 6.4; 6.1 is older"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// `new` asks the chosen kernel, not the running one; ring buffers on a
/// kernel before 5.8 are refused with what to do instead.
#[test]
fn new_and_ring_buffers_are_checked_against_the_chosen_kernel() {
    let d = dir();
    let ks = write(
        &d,
        r#"struct Event {
    v: u64,
}

var events : ringbuf<Event>(4096)

@xdp
fn boxed(ctx: *xdp_md) -> xdp_action {
    var b = new Event()
    if (b == null) {
        return XDP_PASS
    }
    events.submit(Event { v: 1 })
    delete b
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
"#,
    );
    let o = ksc(&d, &["check", &ks, "--kernel", "5.4"]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("`new`/`delete` in eBPF (`bpf_obj_new`) came in Linux 6.2; 5.4 is older")
            && e.contains("prog.ks:9:13")
            && e.contains("help: allocate in a map instead"),
        "{e}"
    );
    assert!(
        e.contains("ring buffers (`ringbuf` maps) came in Linux 5.8; 5.4 is older")
            && e.contains("prog.ks:5:1")
            && e.contains("help: on kernels before 5.8"),
        "{e}"
    );
    let o = ksc(&d, &["check", &ks, "--kernel", "6.12"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let _ = std::fs::remove_dir_all(&d);
}

/// Raw BTF holding only `enum bpf_func_id` with the given helpers and
/// the XDP program type and array map type enumerators.
fn btf_with_helpers(helpers: &[&str]) -> Vec<u8> {
    let mut strings = vec![0u8];
    let mut name = |s: &str| {
        let off = strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        off
    };
    let mut types = vec![];
    let enumeration = |types: &mut Vec<u8>, ename: u32, values: Vec<u32>| {
        types.extend(ename.to_le_bytes());
        types.extend(((6u32 << 24) | values.len() as u32).to_le_bytes());
        types.extend(4u32.to_le_bytes());
        for (i, v) in values.into_iter().enumerate() {
            types.extend(v.to_le_bytes());
            types.extend((i as u32).to_le_bytes());
        }
    };
    let e = name("bpf_func_id");
    let vals = helpers
        .iter()
        .map(|h| name(&format!("BPF_FUNC_{}", h.trim_start_matches("bpf_"))))
        .collect();
    enumeration(&mut types, e, vals);
    let e = name("bpf_prog_type");
    let v = vec![name("BPF_PROG_TYPE_XDP")];
    enumeration(&mut types, e, v);
    let e = name("bpf_map_type");
    let v = vec![name("BPF_MAP_TYPE_ARRAY")];
    enumeration(&mut types, e, v);
    let mut out = vec![];
    out.extend(0xeb9fu16.to_le_bytes());
    out.extend([1u8, 0]);
    out.extend(24u32.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend((types.len() as u32).to_le_bytes());
    out.extend((types.len() as u32).to_le_bytes());
    out.extend((strings.len() as u32).to_le_bytes());
    out.extend(types);
    out.extend(strings);
    out
}

/// With a BTF file as the kernel, its BTF decides: a helper its `enum
/// bpf_func_id` lacks is refused, saying so; one it has passes.
#[test]
fn a_btf_file_decides_which_helpers_the_kernel_has() {
    let d = dir();
    let btf = d.join("vmlinux.btf");
    std::fs::write(&btf, btf_with_helpers(&["bpf_ktime_get_ns"])).unwrap();
    let ks = write(
        &d,
        r#"var seen : array<u32, u64>(1)

@xdp
fn stamp(ctx: *xdp_md) -> xdp_action {
    seen[0] = bpf_ktime_get_ns() + (bpf_get_prandom_u32() as u64)
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
"#,
    );
    let o = ksc(&d, &["check", &ks, "--kernel", btf.to_str().unwrap()]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("`bpf_get_prandom_u32` came in Linux 4.1; not in the kernel of")
            && e.contains(": its BTF has no `BPF_FUNC_get_prandom_u32` in `enum bpf_func_id`")
            && e.contains("prog.ks:5:37"),
        "{e}"
    );
    assert!(!e.contains("`bpf_ktime_get_ns` needs"), "{e}");
    std::fs::write(
        &btf,
        btf_with_helpers(&["bpf_ktime_get_ns", "bpf_get_prandom_u32"]),
    )
    .unwrap();
    let o = ksc(&d, &["check", &ks, "--kernel", btf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let _ = std::fs::remove_dir_all(&d);
}

/// Every example has a floor, printed per program and for the file.
#[test]
fn emit_kernels_prints_the_floor_of_every_example() {
    let d = dir();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&examples).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "ks") {
            continue;
        }
        n += 1;
        let o = ksc(&d, &["check", "--emit=kernels", p.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}: {}", p.display(), err(&o));
        assert!(out.contains("program `"), "{}: {out}", p.display());
        let file = out.lines().last().unwrap_or("");
        assert!(
            file.starts_with("file `") && file.contains(": Linux ") && file.contains("(set by "),
            "{}: {out}",
            p.display()
        );
    }
    assert!(n > 30, "{n} examples");
    // The kfunc example's floor is module kfuncs', at the kfunc call.
    let p = examples.join("kfunc_flow_buckets.ks");
    let o = ksc(&d, &["check", "--emit=kernels", p.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("program `count_arrivals` (xdp): Linux 5.18")
            && out.contains("* 5.18   kfuncs of kernel modules (`@kfunc`)"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The labels of the kernels in ksc's cache (those `ksc test --kernel`
/// can boot without fetching).
fn cached_labels() -> Vec<String> {
    std::fs::read_dir(ksc_qemu::cache_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("complete").exists())
        .filter_map(|e| std::fs::read_to_string(e.path().join("label")).ok())
        .map(|l| l.trim().to_string())
        .collect()
}

fn qemu_present() -> Result<(), String> {
    let found = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| Path::new(d).join("qemu-system-x86_64").exists());
    if found {
        Ok(())
    } else {
        Err("qemu-system-x86_64 is not installed".into())
    }
}

/// `ksc test --kernel` boots each kernel, runs the example's tests there
/// and prints a table per kernel, exit 0 when all pass. A kernel that
/// lacks what a program uses (`new` on 6.1) is not booted: its column
/// says n/a, the located error is shown, and the exit status is 1.
/// Slow (a qemu boot per kernel); skips when qemu or the kernels are
/// absent (`KSC_TEST_NO_SKIP=1` makes that a failure).
#[test]
fn ksc_test_runs_the_tests_inside_each_kernel() {
    ksc_testkit::require!(qemu_present());
    let cached = cached_labels();
    let mut labels: Vec<&str> = vec![];
    for want in ["5.10", "6.1", "6.12", "7.2"] {
        if cached.iter().any(|c| c == want) {
            labels.push(want);
        }
    }
    ksc_testkit::require!(if labels.contains(&"6.1") && labels.contains(&"6.12") {
        Ok(())
    } else {
        Err(format!(
            "Debian's 6.1 and 6.12 are not both in {} (the conformance runner fetches them)",
            ksc_qemu::cache_dir().display()
        ))
    });
    let d = dir();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/xdp_firewall.ks");
    let plugins = Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    let run = |file: &Path, kernels: &str, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_ksc"))
            .arg("test")
            .arg(file)
            .args(["--kernel", kernels, "-o"])
            .arg(d.join(out))
            .env("KSC_PLUGIN_PATH", &plugins)
            .env_remove("KSC_KERNEL")
            .output()
            .unwrap()
    };
    let o = run(&example, &labels.join(","), "fw");
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{table}\n{}", err(&o));
    let lines: Vec<&str> = table.lines().collect();
    let kernel_row: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(kernel_row[0], "kernel");
    assert_eq!(&kernel_row[1..], &labels[..], "{table}");
    let release_row: Vec<&str> = lines[1].split_whitespace().collect();
    for (label, release) in labels.iter().zip(&release_row[1..]) {
        assert!(release.starts_with(&format!("{label}.")), "{table}");
    }
    for row in ["non_ip_frames_pass", "result"] {
        let cells: Vec<&str> = lines
            .iter()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no `{row}` row: {table}"))
            .split_whitespace()
            .collect();
        assert_eq!(cells.len(), labels.len() + 1, "{table}");
        assert!(cells[1..].iter().all(|c| *c == "ok"), "{table}");
    }

    // `new` needs 6.2: 6.1 is not booted, 6.12 runs the test.
    let prog = d.join("boxed.ks");
    std::fs::write(
        &prog,
        r#"struct Box {
    v: u64,
}

@xdp
fn boxed(ctx: *xdp_md) -> xdp_action {
    var b = new Box()
    if (b == null) {
        return XDP_ABORTED
    }
    b->v = 7
    var v = b->v
    delete b
    return if (v == 7) { XDP_PASS } else { XDP_DROP }
}

@test
fn boxes_hold_values() -> i32 {
    var verdict = test(boxed, XdpTestContext { packet_size: 64, interface_id: 0, expected_action: 2 })
    return if (verdict == XDP_PASS) { 0 } else { 1 }
}

fn main() -> i32 {
    return 0
}
"#,
    )
    .unwrap();
    let o = run(&prog, "6.1,6.12", "boxed");
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{table}\n{e}");
    assert!(
        e.contains("`new`/`delete` in eBPF (`bpf_obj_new`) came in Linux 6.2; 6.1 is older")
            && e.contains("boxed.ks:7:13"),
        "{e}"
    );
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("boxes_hold_values"))
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(row, ["boxes_hold_values", "n/a", "ok"], "{table}\n{e}");

    // A program with a kernel module: built for each kernel and loaded
    // there by the loader before the test runs; 5.10 has no module
    // kfuncs (5.18), so its column is n/a when it is cached.
    let kmod =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/cases/kmod-loader/prog.ks");
    let with_510 = labels.contains(&"5.10");
    let kernels = if with_510 { "5.10,6.12" } else { "6.12" };
    let o = run(&kmod, kernels, "kmod");
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let e = err(&o);
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("test_kfunc"))
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if with_510 {
        assert_eq!(o.status.code(), Some(1), "{table}\n{e}");
        assert_eq!(row, ["test_kfunc", "n/a", "ok"], "{table}\n{e}");
        assert!(
            e.contains("not run on 5.10: kfuncs of kernel modules (`@kfunc`) came in Linux 5.18; 5.10 is older"),
            "{e}"
        );
    } else {
        assert_eq!(o.status.code(), Some(0), "{table}\n{e}");
        assert_eq!(row, ["test_kfunc", "ok"], "{table}\n{e}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A `@test` giving an XDP program an interface makes the runtime pass an
/// XDP context to BPF_PROG_TEST_RUN (5.15); a `tcp_congestion_ops`
/// struct_ops needs 5.6. Both located, with their releases.
#[test]
fn test_contexts_and_struct_ops_have_their_releases() {
    let d = dir();
    let ks = write(
        &d,
        r#"var calls : array<u32, u64>(1)

@struct_ops("tcp_congestion_ops")
impl ksc_floor {
    fn ssthresh(sk: *u8) -> u32 {
        calls[0] += 1
        return 8
    }
    fn undo_cwnd(sk: *u8) -> u32 {
        return 16
    }
    fn cong_avoid(sk: *u8, ack: u32, acked: u32) -> void {
    }
}

@xdp
fn p(ctx: *xdp_md) -> xdp_action {
    return XDP_PASS
}

@test
fn t() -> i32 {
    var r = test(p, XdpTestContext { packet_size: 64, interface_id: 1, expected_action: 2 })
    return if (r == XDP_PASS) { 0 } else { 1 }
}

fn main() -> i32 {
    return register(ksc_floor)
}
"#,
    );
    let o = ksc(&d, &["check", &ks, "--kernel", "5.4"]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("an XDP context in `test()`")
            && e.contains("came in Linux 5.15; 5.4 is older")
            && e.contains("prog.ks:23:69")
            && e.contains("help: give `interface_id: 0`"),
        "{e}"
    );
    assert!(
        e.contains("`@struct_ops` programs came in Linux 5.6; 5.4 is older")
            && e.contains("`tcp_congestion_ops` struct_ops came in Linux 5.6; 5.4 is older")
            && e.contains("prog.ks:3:1"),
        "{e}"
    );
    let o = ksc(&d, &["check", "--emit=kernels", &ks]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("program `ksc_floor_ssthresh` (struct_ops/ssthresh): Linux 5.6"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("Linux 5.15 (set by an XDP context in `test()` (a nonzero `interface_id`: `ctx_in` of BPF_PROG_TEST_RUN for XDP))"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The loader's compile-time attach choice follows the chosen kernel's
/// release, from the same table: built for 5.10 (before tcx, 6.6) it
/// attaches TC programs through clsact straight away; for 6.12 it tries
/// a tcx link first.
#[test]
fn a_loader_built_for_a_kernel_before_tcx_goes_straight_to_clsact() {
    let d = dir();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tc_counter.ks");
    for (kernel, clsact) in [("5.10", true), ("6.12", false)] {
        let out = d.join(kernel);
        let o = ksc(
            &d,
            &[
                example.to_str().unwrap(),
                "--kernel",
                kernel,
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", err(&o));
        let c = std::fs::read_to_string(out.join("tc_counter.c")).unwrap();
        assert_eq!(
            c.contains("setenv(\"KSC_NO_TCX\", \"1\", 0);"),
            clsact,
            "{kernel}: {c}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A build tree as the kernel: its release from `utsrelease.h`, its BTF
/// from its `vmlinux` (here raw BTF the test writes): both are asked.
#[test]
fn a_build_tree_gives_its_release_and_its_btf() {
    let d = dir();
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("include/generated")).unwrap();
    std::fs::write(
        tree.join("include/generated/utsrelease.h"),
        "#define UTS_RELEASE \"5.10.0-99-amd64\"\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("vmlinux"),
        btf_with_helpers(&["bpf_ktime_get_ns"]),
    )
    .unwrap();
    let ks = write(
        &d,
        r#"var seen : array<u32, u64>(1)

@xdp
fn stamp(ctx: *xdp_md) -> xdp_action {
    seen[0] = bpf_ktime_get_coarse_ns() + (bpf_get_prandom_u32() as u64)
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
"#,
    );
    let o = ksc(&d, &["check", &ks, "--kernel", tree.to_str().unwrap()]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    // By the release,
    assert!(
        e.contains("`bpf_ktime_get_coarse_ns` came in Linux 5.11; 5.10.0-99-amd64 is older\n"),
        "{e}"
    );
    // and by the BTF.
    assert!(
        e.contains("`bpf_get_prandom_u32` came in Linux 4.1; not in 5.10.0-99-amd64: its BTF has no `BPF_FUNC_get_prandom_u32` in `enum bpf_func_id`"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
