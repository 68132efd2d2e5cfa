//! The whole flow a user follows: `ksc build` a program (both backends,
//! make: eBPF object and the program's C side by side, the executable with
//! the object linked in), then run the executable and check what it prints
//! and its exit status, in the kernel. Needs root, clang, bpftool, libbpf.
//!
//! This file: programs attached to a veth pair inside a network namespace
//! the test creates (never the machine's own interfaces), traffic sent
//! through it, nothing left attached afterwards (also after signals);
//! struct_ops registration, attach and verifier errors, every example built.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

mod userspace_common;

use userspace_common::*;

#[test]
fn firewall_on_a_veth_pair_drops_and_counts_then_detaches() {
    let exe = build(
        "xdp_firewall",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/xdp_firewall.ks"),
        )
        .unwrap(),
    );
    let v = Veth::new();
    let child = Command::new(&exe)
        .args(["--interface", &v.host, "--blocked_port=5000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    v.udp(5000, 3);
    v.udp(6000, 2);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "dropped: 3\n");
    let left = sh(&format!("bpftool net show dev {}", v.host));
    assert!(!left.contains("firewall_filter"), "still attached:\n{left}");
}

#[test]
fn tc_counters_on_a_veth_pair_and_nothing_left_behind() {
    let exe = build(
        "tc_counter",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tc_counter.ks"),
        )
        .unwrap(),
    );
    // Twice: through tcx links where the kernel has them (6.6+), and
    // through clsact filters, the fallback for older kernels (forced here
    // with KSC_NO_TCX).
    let tcx_kernel = kernel_at_least(6, 6);
    for legacy in [false, true] {
        let v = Veth::new();
        let mut cmd = Command::new(&exe);
        cmd.args(["--interface", &v.host])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if legacy {
            cmd.env("KSC_NO_TCX", "1");
        }
        let child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        // How it is attached, seen from outside while it runs.
        let tcx_links = tcx_links_of(child.id());
        let filters = sh(&format!(
            "tc filter show dev {h} ingress; tc filter show dev {h} egress",
            h = v.host
        ));
        v.udp(7000, 4);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        if legacy || !tcx_kernel {
            assert_eq!(tcx_links, 0);
            assert!(
                filters.contains("ingress_counter") && filters.contains("egress_counter"),
                "clsact filters while running:\n{filters}"
            );
        } else {
            assert_eq!(tcx_links, 2, "one tcx link per direction");
            assert!(!filters.contains("counter"), "{filters}");
        }
        let out = stdout(&o);
        let ingress: u64 = out
            .lines()
            .find_map(|l| l.strip_prefix("ingress: "))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        assert!(ingress >= 4, "legacy={legacy}: {out}");
        let left = sh(&format!(
            "bpftool net show dev {h}; tc filter show dev {h} ingress; tc qdisc show dev {h}",
            h = v.host
        ));
        assert!(
            !left.contains("counter") && !left.contains("clsact"),
            "still attached:\n{left}"
        );
    }
}

#[test]
fn attach_errors_are_plain_words() {
    let exe = build(
        "noif",
        r#"
@xdp
fn prog(ctx: *xdp_md) -> xdp_action { return XDP_PASS }
fn main() -> i32 {
    var h = load(prog)
    if (attach(h, "no-such-if0", 0) != 0) {
        return 3
    }
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("no network interface named `no-such-if0`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_example_builds_both_sides_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .collect();
    names.sort();
    assert!(names.len() >= 25);
    for p in names {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let exe = build(&name, &std::fs::read_to_string(&p).unwrap());
        assert!(exe.exists(), "{name}: no executable");
        // Only programs with options are run, and only with --help: a
        // `main` would attach to what the example names.
        let src = std::fs::read_to_string(&p).unwrap();
        if src.contains("fn main(args") {
            let o = run(&exe, &["--help"]);
            assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
            assert!(stdout(&o).contains("usage:"), "{name}");
        }
    }
}

#[test]
fn verifier_rejection_is_reported_with_the_end_of_its_log() {
    let exe = build(
        "unbounded",
        r#"
var limit : array<u32, u32>(1)
var hits : array<u32, u64>(1)
@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    for (i in 0..limit[0]) {
        hits[0] += 1
    }
    return XDP_PASS
}
fn main() -> i32 {
    var h = load(prog)
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("the kernel rejected the eBPF programs of `unbounded`"),
        "{err}"
    );
    assert!(err.lines().count() <= 30, "trimmed: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Segmentation"),
        "{err}"
    );
}

#[test]
fn struct_ops_register_a_congestion_control_and_unregister_at_exit() {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("kscc{}x{n}", std::process::id() % 1000);
    let src = format!(
        r#"
var calls : array<u32, u64>(1)
@struct_ops("tcp_congestion_ops")
impl {name} {{
    fn ssthresh(sk: *u8) -> u32 {{
        calls[0] += 1
        return 16
    }}
    fn undo_cwnd(sk: *u8) -> u32 {{
        return 16
    }}
    fn cong_avoid(sk: *u8, ack: u32, acked: u32) -> void {{
    }}
}}
fn main() -> i32 {{
    var r = register({name})
    print("registered: %d", r)
    return r
}}
"#
    );
    let exe = build("ops", &src);
    let o = run(&exe, &[]);
    assert_eq!(stdout(&o), "registered: 0\n", "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    assert!(
        !sh("bpftool struct_ops list").contains(&name),
        "unregistered at exit"
    );
    // The kernel checks the table: a member that does not exist is caught by ksc.
    let bad = src.replace("fn undo_cwnd", "fn undo_cwnd_typo");
    let dir = std::env::temp_dir().join(format!("ksc-user-bad-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.ks"), bad).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(["check", dir.join("bad.ks").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`tcp_congestion_ops` has no function member `undo_cwnd_typo`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn signals_detach_everything_even_sigkill() {
    // A loader that waits forever — in sleep() or reading events — stops on
    // SIGINT/SIGTERM, detaches what it attached and exits 130; after
    // SIGKILL its XDP and tcx links go with it.
    let exe = build(
        "forever",
        r#"
struct Ev { n: u32 }
var evs : ringbuf<Ev>(4096)
@xdp
fn watch(ctx: *xdp_md) -> xdp_action { return XDP_PASS }
@tc("ingress")
fn watch_tc(ctx: *__sk_buff) -> i32 { return TC_ACT_OK }
struct Args { interface: str(16), read: bool }
fn main(args: Args) -> i32 {
    var x = load(watch)
    var t = load(watch_tc)
    if (attach(x, args.interface, 0) != 0) {
        return 3
    }
    attach(t, args.interface, 0)
    print("attached")
    while (true) {
        if (args.read) {
            var e = evs.read(1000)
        } else {
            sleep(1000)
        }
    }
    return 0
}
"#,
    );
    for (signal, read) in [
        ("INT", false),
        ("TERM", false),
        ("TERM", true),
        ("KILL", false),
    ] {
        let v = Veth::new();
        let mut args = vec!["--interface", v.host.as_str()];
        if read {
            args.push("--read=true");
        }
        let child = Command::new(&exe)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        let during = sh(&format!("ip link show dev {}", v.host));
        // A second loader does not replace the first one's program.
        let second = run(&exe, &["--interface", &v.host]);
        sh(&format!("kill -{signal} {}", child.id()));
        let o = child.wait_with_output().unwrap();
        let after = sh(&format!(
            "ip link show dev {h}; tc filter show dev {h} ingress",
            h = v.host
        ));
        assert!(
            during.contains("xdp"),
            "XDP attached while running: {during}"
        );
        assert_eq!(second.status.code(), Some(3));
        assert!(
            stderr(&second).contains("another XDP program is attached there"),
            "{}",
            stderr(&second)
        );
        // SIGKILL cannot be caught: the links die with the process.
        let expected = if signal == "KILL" { None } else { Some(130) };
        assert_eq!(
            o.status.code(),
            expected,
            "SIG{signal} (read={read}): {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "attached\n");
        assert!(
            !after.contains("xdp") && !after.contains("watch"),
            "left attached after SIG{signal}:\n{after}"
        );
    }
}

#[test]
fn every_network_example_loads_attaches_and_cleans_up_on_a_veth() {
    // Each XDP/TC example's own loader, on a veth pair of this test: it
    // loads through the verifier, attaches, sees traffic, and on SIGINT
    // (the examples wait 1–60 s) detaches everything and exits 130.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".ks") && (n.starts_with("xdp_") || n.starts_with("tc_"))
        })
        .collect();
    names.sort();
    assert!(names.len() >= 25);
    for p in names {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&p).unwrap();
        let exe = build(&name, &src);
        let v = Veth::new();
        let mut args = vec!["--interface", v.host.as_str()];
        if src.contains("seconds:") {
            args.push("--seconds=30");
        }
        let child = Command::new(&exe)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        v.udp(5000, 2);
        let during = sh(&format!(
            "ip link show dev {h}; tc filter show dev {h} ingress; tc filter show dev {h} egress",
            h = v.host
        ));
        let tcx_links = tcx_links_of(child.id());
        sh(&format!("kill -INT {}", child.id()));
        let o = child.wait_with_output().unwrap();
        let after = sh(&format!(
            "ip link show dev {h}; tc filter show dev {h} ingress; tc filter show dev {h} egress; tc qdisc show dev {h}",
            h = v.host
        ));
        let _ = std::fs::remove_dir_all(Path::new("/sys/fs/bpf").join(&name));
        let err = stderr(&o);
        assert!(
            matches!(o.status.code(), Some(130) | Some(0)),
            "{name}: exit {:?}\n{err}",
            o.status.code()
        );
        assert!(!err.contains("error"), "{name}: {err}");
        if name.starts_with("xdp_") {
            assert!(during.contains("xdp"), "{name}: not attached: {during}");
        } else if kernel_at_least(6, 6) {
            assert!(tcx_links >= 1, "{name}: no tcx link while running");
        }
        assert!(
            !after.contains("xdp") && !after.contains("clsact") && !after.contains("direct-action"),
            "{name}: left attached:\n{after}"
        );
    }
}
