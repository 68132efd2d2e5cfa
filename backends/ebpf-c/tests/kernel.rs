//! The generated C in the real kernel: each program is compiled by ksc,
//! built with clang (warnings are failures), loaded through the verifier with
//! bpftool, run with BPF_PROG_TEST_RUN on crafted packets, and its maps read
//! back. Needs root, clang, bpftool and bpffs (`.ci/setup` provides them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn tool(cmd: &str, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// KernelScript source -> verified, pinned programs and maps.
struct Loaded {
    pins: PathBuf,
    work: PathBuf,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.pins);
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

fn ensure_bpffs() {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(" /sys/fs/bpf bpf "));
    if !mounted {
        let (ok, _, err) = tool("mount", &["-t", "bpf", "bpf", "/sys/fs/bpf"]);
        assert!(ok, "cannot mount bpffs: {err}");
    }
}

fn generate(name: &str, src: &str) -> String {
    let parsed = ksc_frontend::parse(src);
    let checked = ksc_midend::check(&parsed.file, src, &format!("{name}.ks"));
    if parsed.has_errors() || checked.has_errors() {
        let mut d = parsed.diagnostics.clone();
        d.extend(checked.diagnostics.iter().cloned());
        panic!("{}", ksc_frontend::diag::render(name, src, &d));
    }
    ksc_backend_ebpf_c::generate_c(checked.module.as_ref().unwrap())
        .unwrap_or_else(|e| panic!("{}", e.join("\n")))
}

fn load(name: &str, src: &str) -> Loaded {
    ensure_bpffs();
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let tag = format!("ksc-test-{}-{n}-{name}", std::process::id());
    let work = std::env::temp_dir().join(&tag);
    std::fs::create_dir_all(&work).unwrap();
    let c = work.join(format!("{name}.ebpf.c"));
    std::fs::write(&c, generate(name, src)).unwrap();
    let obj = work.join(format!("{name}.ebpf.o"));
    let arch = format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let (ok, _, err) = tool(
        "clang",
        &[
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-Wall",
            "-Wextra",
            "-D__TARGET_ARCH_x86",
            &arch,
            "-c",
            c.to_str().unwrap(),
            "-o",
            obj.to_str().unwrap(),
        ],
    );
    assert!(
        ok && err.is_empty(),
        "clang failed or warned:\n{err}\n{}",
        std::fs::read_to_string(&c).unwrap()
    );
    let pins = Path::new("/sys/fs/bpf").join(&tag);
    let maps = pins.join("maps");
    let (ok, out, err) = tool(
        "bpftool",
        &[
            "prog",
            "loadall",
            obj.to_str().unwrap(),
            pins.to_str().unwrap(),
            "pinmaps",
            maps.to_str().unwrap(),
        ],
    );
    assert!(
        ok,
        "the verifier rejected {name}:\n{out}\n{err}\n{}",
        std::fs::read_to_string(&c).unwrap()
    );
    Loaded { pins, work }
}

impl Loaded {
    /// BPF_PROG_TEST_RUN: the program's return value on `packet`.
    fn run(&self, prog: &str, packet: &[u8]) -> i64 {
        let input = self
            .work
            .join(format!("in-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&input, packet).unwrap();
        let p = self.pins.join(prog);
        let (ok, out, err) = tool(
            "bpftool",
            &[
                "prog",
                "run",
                "pinned",
                p.to_str().unwrap(),
                "data_in",
                input.to_str().unwrap(),
                "repeat",
                "1",
            ],
        );
        assert!(ok, "prog run failed: {out}{err}");
        let text = out + &err;
        let v = text
            .split("Return value: ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit() && c != '-').next())
            .unwrap_or_else(|| panic!("no return value in {text}"));
        v.parse().unwrap()
    }

    /// The formatted value of `key` in a map (summed over CPUs for per-CPU maps).
    fn map_u64(&self, map: &str, key: u32) -> u64 {
        let p = self.pins.join("maps").join(map);
        let (ok, out, err) = tool(
            "bpftool",
            &[
                "-j",
                "map",
                "lookup",
                "pinned",
                p.to_str().unwrap(),
                "key",
                &(key & 0xff).to_string(),
                &((key >> 8) & 0xff).to_string(),
                &((key >> 16) & 0xff).to_string(),
                &(key >> 24).to_string(),
            ],
        );
        if !ok {
            assert!(
                err.contains("not found") || out.contains("not found"),
                "lookup failed: {out}{err}"
            );
            return 0;
        }
        let bytes_sum = |vals: &str| -> u64 {
            // "value":["0x01","0x00",...] little-endian bytes
            let mut total = 0u64;
            for chunk in vals.split("\"value\":[").skip(1) {
                let list = chunk.split(']').next().unwrap();
                let mut v = 0u64;
                for (i, b) in list.split(',').enumerate() {
                    let b = b.trim().trim_matches('"').trim_start_matches("0x");
                    if let Ok(x) = u64::from_str_radix(b, 16) {
                        v |= x << (8 * i.min(7));
                    }
                }
                total += v;
            }
            total
        };
        bytes_sum(&out)
    }

    /// Replace a map's value for `key` with raw bytes.
    fn map_set(&self, map: &str, key: &[u8], value: &[u8]) {
        let p = self.pins.join("maps").join(map);
        let mut args: Vec<String> = vec![
            "map".into(),
            "update".into(),
            "pinned".into(),
            p.to_str().unwrap().into(),
            "key".into(),
        ];
        args.extend(key.iter().map(|b| b.to_string()));
        args.push("value".into());
        args.extend(value.iter().map(|b| b.to_string()));
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (ok, out, err) = tool("bpftool", &refs);
        assert!(ok, "map update failed: {out}{err}");
    }
}

// ---------------------------------------------------------------- packets

fn eth(proto: u16) -> Vec<u8> {
    let mut p = vec![0u8; 6];
    p.extend([0x11; 6]);
    p.extend(proto.to_be_bytes());
    p
}

fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = eth(0x0800);
    let total = (20 + payload.len()) as u16;
    p.extend([0x45, 0]);
    p.extend(total.to_be_bytes());
    p.extend([0, 0, 0, 0, 64, protocol, 0, 0]);
    p.extend([10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend(payload);
    p
}

fn tcp(dport: u16) -> Vec<u8> {
    let mut t = 40000u16.to_be_bytes().to_vec();
    t.extend(dport.to_be_bytes());
    t.extend([0u8; 16]);
    ipv4(6, &t)
}

fn udp(dport: u16) -> Vec<u8> {
    let mut u = 5353u16.to_be_bytes().to_vec();
    u.extend(dport.to_be_bytes());
    u.extend([0, 8, 0, 0]);
    ipv4(17, &u)
}

const XDP_ABORTED: i64 = 0;
const XDP_DROP: i64 = 1;
const XDP_PASS: i64 = 2;
const XDP_TX: i64 = 3;

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name),
    )
    .unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn firewall_drops_blocked_ports_and_counts() {
    let l = load("xdp_firewall", &example("xdp_firewall.ks"));
    assert_eq!(l.run("firewall_filter", &tcp(23)), XDP_DROP);
    assert_eq!(l.run("firewall_filter", &tcp(80)), XDP_PASS);
    assert_eq!(l.run("firewall_filter", &udp(23)), XDP_DROP);
    assert_eq!(
        l.run("firewall_filter", &eth(0x86DD)),
        XDP_PASS,
        "IPv6 passes"
    );
    assert_eq!(
        l.run("firewall_filter", &ipv4(6, &[0u8; 2])),
        XDP_PASS,
        "a truncated TCP header passes"
    );
    assert_eq!(l.map_u64("dropped", 0), 2);
    assert_eq!(
        l.map_u64("proto_counts", 6),
        3,
        "counted before the L4 bounds check"
    );
    assert_eq!(l.map_u64("proto_counts", 17), 1);
    // Configs live in their own writable data map: change the port.
    l.map_set("_data_config_firewall", &[0, 0, 0, 0], &[80, 0, 1, 0]);
    assert_eq!(l.run("firewall_filter", &tcp(80)), XDP_DROP);
    assert_eq!(l.run("firewall_filter", &tcp(23)), XDP_PASS);
    assert_eq!(
        l.run("firewall_filter", &ipv4(1, &[8, 0, 0, 0])),
        XDP_DROP,
        "drop_icmp now set"
    );
}

#[test]
fn tc_counter_counts_packets_and_bytes() {
    let l = load("tc_counter", &example("tc_counter.ks"));
    let p = tcp(80);
    assert_eq!(l.run("ingress_counter", &p), 0, "TC_ACT_OK");
    assert_eq!(l.run("ingress_counter", &p), 0);
    assert_eq!(l.run("egress_counter", &p), 0);
    assert_eq!(l.map_u64("stats", 2), 2);
    assert_eq!(l.map_u64("stats", 3), 2 * p.len() as u64);
    assert_eq!(l.map_u64("stats", 0), 1);
}

#[test]
fn tracepoint_program_loads() {
    let _l = load("syscall_counter", &example("syscall_counter.ks"));
}

#[test]
fn control_flow_match_helpers_and_globals() {
    let src = r#"
var seen: u64 = 0
local var secret: u32 = 7
var by_action : array<u32, u64>(8)

@helper
fn classify(proto: u8, port: u16) -> u32 {
    var score: u32 = 0
    for (i in 0..4) {
        if (i == 2) { continue }
        score += i
    }
    if (port < 1024) {
        score += 10
    } else if (port == 8080) {
        score += 100
    }
    return match (proto) {
        6: score,
        17: score * 2,
        default: 0
    }
}

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    seen += 1
    secret ^= 1
    var data = ctx->data
    var end = ctx->data_end
    if (data + 38 > end) { return XDP_ABORTED }
    var proto = *(data + 23)
    var port = ntohs(*((data + 36) as *u16))
    var s = classify(proto, port)
    var action = if (s >= 100) { XDP_TX } else { s > 20 ? XDP_DROP : XDP_PASS }
    by_action[action as u32] += 1
    return action
}
"#;
    let l = load("control", src);
    assert_eq!(l.run("prog", &tcp(80)), XDP_PASS, "tcp: 4 + 10 = 14");
    assert_eq!(l.run("prog", &udp(53)), XDP_DROP, "udp: (4 + 10) * 2 = 28");
    assert_eq!(l.run("prog", &tcp(8080)), XDP_TX, "104");
    assert_eq!(l.run("prog", &[0u8; 20]), XDP_ABORTED);
    assert_eq!(l.map_u64("by_action", XDP_PASS as u32), 1);
    assert_eq!(l.map_u64("by_action", XDP_DROP as u32), 1);
    assert_eq!(l.map_u64("by_action", XDP_TX as u32), 1);
}

#[test]
fn try_catch_throw_and_defer() {
    let src = r#"
var log : array<u32, u64>(8)

@helper
fn parse_port(ctx: *xdp_md) -> u16 {
    var data = ctx->data
    var end = ctx->data_end
    if (data + 38 > end) { throw 1 }
    var port = ntohs(*((data + 36) as *u16))
    if (port == 0) { throw 2 }
    return port
}

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    defer log[0] += 1
    try {
        var port = parse_port(ctx)
        if (port == 666) { throw 3 }
        return XDP_PASS
    } catch 1 {
        log[1] += 1
        return XDP_ABORTED
    } catch 3 {
        log[3] += 1
        return XDP_DROP
    } catch _ {
        log[2] += 1
        return XDP_TX
    }
}
"#;
    let l = load("errors", src);
    assert_eq!(l.run("prog", &tcp(80)), XDP_PASS);
    assert_eq!(
        l.run("prog", &[0u8; 20]),
        XDP_ABORTED,
        "caught 1 from the helper"
    );
    assert_eq!(l.run("prog", &tcp(666)), XDP_DROP, "caught 3");
    assert_eq!(l.run("prog", &tcp(0)), XDP_TX, "catch-all for 2");
    // `log` is a C library name: the map is emitted (and pinned) as `log_`.
    assert_eq!(l.map_u64("log_", 0), 4, "defer ran on every exit");
    assert_eq!(
        (
            l.map_u64("log_", 1),
            l.map_u64("log_", 2),
            l.map_u64("log_", 3)
        ),
        (1, 1, 1)
    );
}

#[test]
fn hash_maps_lookup_update_delete_and_tail_calls() {
    let src = r#"
struct Flow {
    packets: u64,
    bytes: u64,
}
var flows : hash<u32, Flow>(1024)
var hits : array<u32, u64>(2)

@xdp
fn entry(ctx: *xdp_md) -> xdp_action {
    var len = (ctx->data_end - ctx->data) as u32
    var f = flows[len]
    if (f == null) {
        flows[len] = Flow { packets: 1, bytes: len as u64 }
    } else {
        f->packets += 1
        f->bytes += len as u64
    }
    if (len > 60) {
        return big(ctx)
    }
    if (flows[len].packets >= 3) {
        delete flows[len]
        return XDP_DROP
    }
    return XDP_PASS
}

@xdp
fn big(ctx: *xdp_md) -> xdp_action {
    hits[1] += 1
    return XDP_TX
}
"#;
    let l = load("flows", src);
    let small = tcp(80); // 54 bytes
    assert_eq!(l.run("entry", &small), XDP_PASS);
    assert_eq!(l.run("entry", &small), XDP_PASS);
    assert_eq!(
        l.run("entry", &small),
        XDP_DROP,
        "third packet of the flow: deleted"
    );
    assert_eq!(l.run("entry", &small), XDP_PASS, "flow starts over");
    let mut big = tcp(80);
    big.extend([0u8; 40]);
    assert_eq!(l.run("entry", &big), XDP_TX, "tail call into `big`");
    assert_eq!(l.map_u64("hits", 1), 1);
}

#[test]
fn probes_load_through_the_verifier() {
    // This kernel cannot attach kprobes, but it verifies them.
    let src = r#"
var reads : hash<u32, u64>(1024)
@probe("vfs_read")
fn on_read(file: *u8, buf: *u8, count: size_t, pos: *u8) -> i32 {
    var pid = (bpf_get_current_pid_tgid() >> 32) as u32
    reads[pid] += count
    return 0
}
@probe("vfs_read+16")
fn at_offset() -> i32 {
    print("inside vfs_read")
    return 0
}
"#;
    let _l = load("probes", src);
}

#[test]
fn print_formats_fit_the_argument_types() {
    let src = r#"
var n: u64 = 0
@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    n += 1
    var small: u8 = 7
    var neg: i32 = -3
    print("n=%d small=%d neg=%d", n, small, neg)
    print("list style: ", n)
    return XDP_PASS
}
"#;
    let c = generate("print", src);
    // One line per call: the trace event adds the newline itself.
    assert!(
        c.contains("bpf_printk(\"n=%llu small=%u neg=%d\", n, small, neg)"),
        "{c}"
    );
    assert!(c.contains("bpf_printk(\"list style: %llu\", n)"), "{c}");
    let l = load("print", src);
    assert_eq!(l.run("prog", &tcp(1)), XDP_PASS);
}
