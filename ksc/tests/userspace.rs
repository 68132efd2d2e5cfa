//! The whole flow a user follows: `ksc build` a program (both backends,
//! make: eBPF object and the program's C side by side, the executable with
//! the object linked in), then run the executable and
//! check what it prints and its exit status — in the kernel: programs are
//! attached to a veth pair inside a network namespace the test creates
//! (never to the machine's own interfaces), traffic is sent through it, and
//! nothing may stay attached afterwards. Needs root, clang, bpftool, libbpf.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn plugin_dir() -> PathBuf {
    // Dev-dependency cdylibs land in target/<profile>/deps.
    Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps")
}

/// `ksc build` the source; returns the path of the executable.
fn build(name: &str, src: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ksc-user-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join(format!("{name}.ks"));
    std::fs::write(&ks, src).unwrap();
    let out = dir.join("out");
    let o = ksc("build", &ks, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ksc build failed:\n{err}");
    // The C compilers must not warn (ksc's own warnings are allowed).
    assert!(
        !err.lines()
            .any(|l| l.contains(".c:") && l.contains("warning")),
        "the C build warned:\n{err}"
    );
    out.join(name)
}

/// `ksc COMMAND FILE -o OUT` with this build's plugins.
fn ksc(command: &str, file: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .arg(command)
        .arg(file)
        .arg("-o")
        .arg(out)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap()
}

fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sh(cmd: &str) -> String {
    let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A veth pair: `host` in this namespace (10.x.0.1), its peer in a new
/// namespace (10.x.0.2). Removed on drop.
struct Veth {
    ns: String,
    host: String,
    net: u32,
}

impl Veth {
    fn new() -> Veth {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let id = std::process::id() % 1000;
        let v = Veth {
            ns: format!("ksc-t{id}-{n}"),
            host: format!("kscv{id}x{n}"),
            net: 200 + (n % 50),
        };
        let peer = format!("kscp{id}x{n}");
        let script = format!(
            "ip netns add {ns} && ip link add {h} type veth peer name {p} netns {ns} && ip addr add 10.{net}.0.1/24 dev {h} && ip link set {h} up && ip -n {ns} addr add 10.{net}.0.2/24 dev {p} && ip -n {ns} link set {p} up && ip -n {ns} link set lo up && echo ok",
            ns = v.ns,
            h = v.host,
            p = peer,
            net = v.net
        );
        let out = sh(&script);
        assert!(out.contains("ok"), "cannot create the veth pair: {out}");
        v
    }

    /// Send UDP datagrams from the namespace to the host side.
    fn udp(&self, port: u16, count: usize) {
        for _ in 0..count {
            sh(&format!(
                "ip netns exec {} bash -c 'echo x > /dev/udp/10.{}.0.1/{port}'",
                self.ns, self.net
            ));
        }
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        sh(&format!(
            "ip link del {} 2>/dev/null; ip netns del {}",
            self.host, self.ns
        ));
    }
}

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
fn maps_and_globals_from_userspace() {
    let exe = build(
        "state",
        r#"
struct Flow { packets: u64, bytes: u64 }
var flows : hash<u32, Flow>(64)
var hits : percpu_array<u32, u64>(4)
var seen: u64 = 5
config knobs { limit: u32 = 10 }

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    seen += 1
    if (knobs.limit > 100) { return XDP_DROP }
    return XDP_PASS
}

fn main() -> i32 {
    print("before load seen=%d", seen)
    seen = 7
    var h = load(prog)
    knobs.limit = 200
    flows[1] = Flow { packets: 1, bytes: 100 }
    flows[2] = Flow { packets: 2, bytes: 200 }
    flows[2].packets += 3
    hits[0] += 5
    hits[0] += 1
    print("flow2=%d hits=%d missing=%d seen=%d limit=%d", flows[2].packets, hits[0], flows[9].bytes, seen, knobs.limit)
    var total: u64 = 0
    for (k, v) in flows {
        total += v.bytes
    }
    delete flows[1]
    var p = flows[1]
    print("total=%d gone=%d", total, p == null)
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(
        stdout(&o),
        "before load seen=5\nflow2=5 hits=6 missing=0 seen=7 limit=200\ntotal=300 gone=1\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(0));
}

/// ksc describes the skeleton itself: each shared global is found by name
/// in the object's BTF (a `local var` shares `.data` with it, at an
/// offset clang chooses), and an object without it (here: rebuilt from
/// edited C) is refused at open, not read at a guessed offset.
#[test]
fn globals_are_found_by_name_in_the_linked_object_and_a_mismatch_is_refused() {
    let exe = build(
        "found",
        r#"
local var bias: u64 = 3
var seen: u64 = 5
config knobs { limit: u32 = 10 }

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    bias += 1
    seen += bias
    if (knobs.limit > 100) { return XDP_DROP }
    return XDP_PASS
}

fn main() -> i32 {
    print("seen=%d limit=%d", seen, knobs.limit)
    seen = 9
    knobs.limit = 11
    var h = load(prog)
    print("seen=%d limit=%d", seen, knobs.limit)
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert_eq!(
        stdout(&o),
        "seen=5 limit=10\nseen=9 limit=11\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(0));
    // The executable's C is unchanged; the object it links no longer has
    // `seen`.
    let dir = exe.parent().unwrap();
    let c = dir.join("found.ebpf.c");
    let text = std::fs::read_to_string(&c).unwrap();
    std::fs::write(&c, text.replace("seen", "seen_renamed")).unwrap();
    let made = Command::new("make").current_dir(dir).output().unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let o = run(&exe, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("the eBPF object of `found` has no global `seen` of 8 bytes in .data"),
        "{}",
        stderr(&o)
    );
}

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

/// How many tcx links process `pid` holds (from its fds' fdinfo).
fn tcx_links_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .filter(|info| info.contains("link_type:\ttcx"))
                .count()
        })
        .unwrap_or(0)
}

/// Is the running kernel at least `major.minor`?
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
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
fn pinned_maps_and_globals_keep_their_values_across_runs() {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("pins{}x{n}", std::process::id() % 10000);
    let src = r#"
pin var runs: u64 = 100
pin var seen : hash<u32, u64>(16)
@xdp
fn prog(ctx: *xdp_md) -> xdp_action { return XDP_PASS }
fn main() -> i32 {
    var h = load(prog)
    runs += 1
    seen[7] += 10
    print("runs=%d seen=%d", runs, seen[7])
    return 0
}
"#;
    let exe = build(&name, src);
    let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/{name}"));
    let first = stdout(&run(&exe, &[]));
    let second = stdout(&run(&exe, &[]));
    let pinned = Path::new("/sys/fs/bpf").join(&name);
    let map_pinned = pinned.join("maps/seen").exists();
    let globals_pinned = pinned.join("globals/pinned_globals").exists();
    let _ = std::fs::remove_dir_all(&pinned);
    assert_eq!(first, "runs=101 seen=10\n");
    assert_eq!(second, "runs=102 seen=20\n", "values survive the process");
    assert!(
        map_pinned && globals_pinned,
        "pins at /sys/fs/bpf/<project>/maps and /globals"
    );
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
fn ringbuf_events_are_read_one_at_a_time_in_userspace() {
    // Every clock_nanosleep on the machine (our own sleep() among them)
    // sends an event numbered in order; userspace reads them back one by
    // one, waiting for the first, and gets null once the ring is drained.
    let exe = build(
        "naps",
        r#"
struct Nap { pid: u32, n: u64 }
var naps : ringbuf<Nap>(65536)
var sent: u64 = 0
@tracepoint("syscalls/sys_enter_clock_nanosleep")
fn on_nap(ctx: *trace_event_raw_sys_enter) -> i32 {
    sent += 1
    var e = naps.reserve()
    if (e != null) {
        e->pid = (bpf_get_current_pid_tgid() >> 32) as u32
        e->n = sent
        naps.submit(e)
    }
    return 0
}
fn main() -> i32 {
    var h = load(on_nap)
    if (naps.read() == null) {
        print("empty before attach")
    }
    if (attach(h, "syscalls/sys_enter_clock_nanosleep", 0) != 0) {
        return 1
    }
    sleep(2)
    sleep(2)
    sleep(2)
    detach(h)
    var got: u64 = 0
    var last: u64 = 0
    var ordered = true
    var e = naps.read(500)
    while (e != null) {
        got += 1
        if (e->n <= last) {
            ordered = false
        }
        last = e->n
        e = naps.read()
    }
    print("at least three: %d, in order: %d, all read: %d", got >= 3, ordered, got == sent)
    return 0
}
"#,
    );
    let o = run(&exe, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "empty before attach\nat least three: 1, in order: 1, all read: 1\n"
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
fn ksc_test_runs_the_test_functions_in_the_kernel() {
    // `test(prog, ctx)` runs the program once through BPF_PROG_TEST_RUN on
    // a packet of `packet_size` bytes; `ksc test` reports each @test.
    let dir = std::env::temp_dir().join(format!("ksc-user-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("filt.ks");
    std::fs::write(
        &ks,
        r#"
var seen : array<u32, u64>(1)
@xdp
fn packet_filter(ctx: *xdp_md) -> xdp_action {
    seen[0] += 1
    var packet_size = ctx->data_end - ctx->data
    if (packet_size > 1000) {
        return XDP_DROP
    }
    return XDP_PASS
}
@tc("ingress")
fn shaper(ctx: *__sk_buff) -> i32 {
    if (ctx->len > 1000) {
        return TC_ACT_SHOT
    }
    return TC_ACT_OK
}
@test
fn test_small_packets() -> i32 {
    var test_ctx = XdpTestContext { packet_size: 64, interface_id: 1, expected_action: 2 }
    var result = test(packet_filter, test_ctx)
    return if (result == XDP_PASS) { 0 } else { 1 }
}
@test
fn test_large_packets() -> i32 {
    var result = test(packet_filter, XdpTestContext { packet_size: 1500, interface_id: 0, expected_action: 1 })
    return if (result == XDP_DROP && seen[0] == 2) { 0 } else { 1 }
}
@test
fn test_tc() -> i32 {
    var small = test(shaper, XdpTestContext { packet_size: 100, interface_id: 0, expected_action: 0 })
    var large = test(shaper, XdpTestContext { packet_size: 1200, interface_id: 0, expected_action: 0 })
    return if (small == TC_ACT_OK && large == TC_ACT_SHOT) { 0 } else { 1 }
}
@test
fn test_wrong_expectation() -> i32 {
    var result = test(packet_filter, XdpTestContext { packet_size: 100, interface_id: 0, expected_action: 1 })
    return if (result == XDP_DROP) { 0 } else { 7 }
}
fn main() -> i32 {
    return 0
}
"#,
    )
    .unwrap();
    let o = ksc("test", &ks, &dir.join("out"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert_eq!(
        out,
        "running 4 tests\ntest test_small_packets ... ok\ntest test_large_packets ... ok\ntest test_tc ... ok\ntest test_wrong_expectation ... FAILED (returned 7)\n\ntest result: FAILED. 3 passed; 1 failed\n"
    );
    // The ordinary run is untouched by the tests.
    let plain = run(&dir.join("out/filt"), &[]);
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(stdout(&plain), "");
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

#[test]
fn tracepoint_and_probe_examples_run_their_own_loaders() {
    // Tracepoint examples attach and wait (SIGINT ends them, exit 130);
    // probe examples cannot attach on a kernel without kprobes and must say
    // so in plain words and exit 1, not crash.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    // The kprobe PMU (sysfs, so known without tracefs).
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe").exists();
    for name in [
        "syscall_counter",
        "tracepoint_exec_counter",
        "tracepoint_openat",
        "tracepoint_read_latency",
        "tracepoint_sched_switch",
        "kprobe_tcp_connect",
        "kprobe_vfs_read",
    ] {
        let src = std::fs::read_to_string(dir.join(format!("{name}.ks"))).unwrap();
        let exe = build(name, &src);
        let mut args = vec![];
        if src.contains("seconds:") {
            args.push("--seconds=30");
        }
        let child = Command::new(&exe)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        sh(&format!("kill -INT {} 2>/dev/null", child.id()));
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        if name.starts_with("kprobe_") && !kprobes {
            assert_eq!(o.status.code(), Some(1), "{name}: {err}");
            assert!(
                err.contains("error: cannot attach")
                    && err.contains("this kernel does not support kprobes"),
                "{name}: {err}"
            );
        } else {
            assert_eq!(o.status.code(), Some(130), "{name}: {err}");
            assert!(!err.contains("error"), "{name}: {err}");
        }
    }
}

const EXEC_WATCH: &str = r#"var execs : u64 = 0

@tracepoint("sched/sched_process_exec")
fn on_exec(ctx: *trace_event_raw_sched_process_exec) -> i32 {
    execs += 1
    return 0
}

fn main() -> i32 {
    var h = load(on_exec)
    if (attach(h, "sched/sched_process_exec", 0) != 0) {
        return 1
    }
    print("attached")
    for (i in 0..100) {
        if (execs >= 3) {
            break
        }
        sleep(50)
    }
    print("saw execs: %s", execs >= 3 ? "yes" : "no")
    return 0
}
"#;

/// In a mount namespace of its own with tracefs (and debugfs) unmounted,
/// as on a fresh machine: run `exe` under `prefix` (e.g. setpriv), exec a
/// few programs while it waits; its output, exit status, and whether
/// tracefs is mounted in that namespace afterwards.
fn run_without_tracefs(exe: &Path, prefix: &str) -> (String, i32, bool) {
    let script = format!(
        "umount /sys/kernel/debug 2>/dev/null; umount /sys/kernel/tracing 2>/dev/null; \
         if grep -q ' tracefs ' /proc/self/mounts; then echo 'tracefs still mounted' >&2; exit 99; fi; \
         {prefix} {exe} > out.txt 2> err.txt & \
         for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2; /bin/true; done; wait $!; rc=$?; \
         cat out.txt err.txt; echo rc=$rc; grep -c ' tracefs ' /proc/self/mounts",
        exe = exe.display()
    );
    let dir = exe.parent().unwrap();
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = stdout(&o) + &stderr(&o);
    let rc = text
        .lines()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("no exit status in:\n{text}"));
    let mounted = text.lines().last().is_some_and(|l| l.trim() != "0");
    (text, rc, mounted)
}

#[test]
fn tracepoint_loader_mounts_tracefs_itself_or_says_what_to_mount() {
    let exe = build("exec_watch", EXEC_WATCH);
    // As root: the loader mounts tracefs, attaches and sees the execs.
    let (out, rc, mounted) = run_without_tracefs(&exe, "");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("attached\nsaw execs: yes"), "{out}");
    assert!(mounted, "tracefs mounted by the loader: {out}");
    // Without CAP_SYS_ADMIN it cannot mount it: it says what is missing
    // and the command that fixes it, and does not blame the kernel.
    let (out, rc, mounted) = run_without_tracefs(&exe, "setpriv --bounding-set=-sys_admin");
    assert_eq!(rc, 1, "{out}");
    assert!(!mounted, "{out}");
    assert!(
        out.contains("error: tracefs is not mounted at /sys/kernel/tracing")
            && out.contains("mount it as root: mount -t tracefs tracefs /sys/kernel/tracing"),
        "{out}"
    );
    assert!(
        !out.contains("no such") && !out.lines().any(|l| l == "attached"),
        "{out}"
    );
}

#[test]
fn a_missing_tracepoint_is_named_with_the_closest_events() {
    // The program's own section is wrong (the attach call names the event
    // it meant): the message names the section's event.
    let src = EXEC_WATCH.replace("sched_process_exec\")", "sched_process_exex\")");
    let exe = build("exec_typo", &src);
    let o = run(&exe, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: cannot attach `on_exec` to sched/sched_process_exec: this kernel has no tracepoint `sched/sched_process_exex` (closest in that category: `sched_process_exec`"),
        "{err}"
    );
    let src = EXEC_WATCH.replace("\"sched/", "\"schde/");
    let exe = build("exec_typo_cat", &src);
    let err = stderr(&run(&exe, &[]));
    assert!(
        err.contains("this kernel has no tracepoint category `schde` (closest: `sched`"),
        "{err}"
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

#[test]
fn test_contexts_carry_packet_bytes_for_xdp_and_tc() {
    // `XdpTestContext { packet: [...] }` (and `TcTestContext`, the same
    // for TC): the packet's first bytes, zeros up to `packet_size`.
    let dir = std::env::temp_dir().join(format!("ksc-user-pkt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("pkt.ks");
    std::fs::write(
        &ks,
        r#"
struct EthHdr {
    dst: u8[6],
    src: u8[6],
    proto: u16,
}
var seen : array<u32, u64>(2)
@xdp
fn only_ipv4(ctx: *xdp_md) -> xdp_action {
    var eth = ctx->data as *EthHdr
    if ((eth + 1) as *u8 > ctx->data_end) {
        return XDP_ABORTED
    }
    if (ntohs(eth->proto) == ETH_P_IP) {
        seen[0] += 1
        return XDP_PASS
    }
    return XDP_DROP
}
@tc("ingress")
fn tc_first_byte(ctx: *__sk_buff) -> i32 {
    var d = ctx->data
    if (d + 1 > ctx->data_end) {
        return TC_ACT_SHOT
    }
    seen[1] = d[0] as u64
    return TC_ACT_OK
}
@test
fn ipv4_passes() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 2, packet: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45] })
    return if (r == XDP_PASS && seen[0] == 1) { 0 } else { 1 }
}
@test
fn ipv6_drops() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 1, packet: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd] })
    return if (r == XDP_DROP && seen[0] == 1) { 0 } else { 1 }
}
@test
fn zeros_drop() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 1 })
    return if (r == XDP_DROP) { 0 } else { 1 }
}
@test
fn tc_sees_the_bytes() -> i32 {
    var r = test(tc_first_byte, TcTestContext { packet_size: 64, packet: [0xab] })
    return if (r == TC_ACT_OK && seen[1] == 0xab) { 0 } else { 1 }
}
fn main() -> i32 {
    return 0
}
"#,
    )
    .unwrap();
    let o = ksc("test", &ks, &dir.join("out"));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("test result: ok. 4 passed; 0 failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
