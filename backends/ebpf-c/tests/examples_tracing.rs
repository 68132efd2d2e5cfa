//! The tracepoint and kprobe examples of `examples/` in the real kernel:
//! compiled by ksc, built with clang, loaded through the verifier;
//! tracepoint programs are attached and triggered (needs python3 and
//! tracefs; without them they only load). Needs root, clang, bpftool, bpffs.

mod common;
mod support;

use common::*;
use support::*;

// Attaching tracepoints and kprobes is the userspace loader's job (not
// generated yet): these load through the verifier and are checked for
// type. Tracepoints are also attached by a stand-in loader and run; this
// kernel has no kprobes (CONFIG_KPROBES is off), so probes only load.

/// Attaches pinned tracepoint programs the way the userspace loader will
/// (perf_event_open + PERF_EVENT_IOC_SET_BPF), runs `cmd` while they are
/// attached, detaches. Done by a small Python script (no libc crate here);
/// false, with the test counted as skipped, when python3 or tracefs is
/// missing.
fn with_tracepoints(l: &Loaded, progs: &[(&str, &str)], cmd: &str) -> bool {
    if let Err(why) = ksc_testkit::tracefs().and(ksc_testkit::command("python3")) {
        ksc_testkit::skip(&why);
        return false;
    }
    let script = l.work.join("tp_attach.py");
    std::fs::write(&script, TP_ATTACH).unwrap();
    let mut args = vec![script.to_str().unwrap().to_string()];
    for (prog, event) in progs {
        args.push(format!("{}:{event}", l.pins.join(prog).to_str().unwrap()));
    }
    args.extend(["--", "sh", "-c", cmd].map(String::from));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (ok, out, err) = tool("python3", &refs);
    assert!(ok, "attaching {progs:?} failed: {out}{err}");
    true
}

const TP_ATTACH: &str = r#"# Attach pinned tracepoint programs with perf_event_open + PERF_EVENT_IOC_SET_BPF
# (one event is enough: a tracepoint's programs run on every CPU), run a
# command, detach. Usage: tp_attach.py PIN:CAT/EVENT... -- CMD...
import ctypes, os, struct, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF, SYS_PERF_EVENT_OPEN = {"x86_64": (321, 298), "aarch64": (280, 241)}[os.uname().machine]
def check(r, what):
    if r < 0:
        sys.exit(f"{what}: {os.strerror(ctypes.get_errno())}")
    return r
def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = ctypes.create_string_buffer(struct.pack("QII", ctypes.addressof(p), 0, 0), 16)
    return check(libc.syscall(SYS_BPF, 7, attr, 16), f"BPF_OBJ_GET {path}")
sep = sys.argv.index("--")
fds = []
for spec in sys.argv[1:sep]:
    pin, event = spec.split(":")
    prog = obj_get(pin)
    tp = int(open(f"/sys/kernel/tracing/events/{event}/id").read())
    attr = ctypes.create_string_buffer(struct.pack("IIQQ", 2, 128, tp, 1), 128)
    fd = check(libc.syscall(SYS_PERF_EVENT_OPEN, attr, -1, 0, -1, 8), f"perf_event_open {event}")
    check(libc.ioctl(fd, 0x40042408, prog), "PERF_EVENT_IOC_SET_BPF")
    check(libc.ioctl(fd, 0x2400, 0), "PERF_EVENT_IOC_ENABLE")
    fds.append(fd)
r = subprocess.run(sys.argv[sep + 1:]).returncode
for fd in fds:
    os.close(fd)
sys.exit(r)
"#;

fn comm_key(name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.resize(16, 0);
    k
}

#[test]
fn tracepoint_exec_counter_counts_execs_by_command() {
    let l = ex("tracepoint_exec_counter.ks");
    assert_eq!(prog_type(&l, "on_exec"), "tracepoint");
    let name = "tracepoint_exec_counter";
    assert_eq!(global(&l, &bss(name), "total_execs"), 0);
    let ev = [("on_exec", "sched/sched_process_exec")];
    if !with_tracepoints(&l, &ev, "/bin/true; /bin/true; /usr/bin/env true") {
        return;
    }
    // sh, true, true, env, true (and whatever else the machine started).
    assert!(global(&l, &bss(name), "total_execs") >= 5);
    assert!(value_u64(&l, "execs_by_comm", &comm_key("true"), 0) >= 3);
    assert!(value_u64(&l, "execs_by_comm", &comm_key("env"), 0) >= 1);
    assert!(
        value_u64(&l, "execs_by_uid", &0u32.to_le_bytes(), 0) >= 5,
        "we are root"
    );
    let last = lookup(&l, "last_exec", &[0; 4]).unwrap().remove(0);
    assert_ne!(le(&last[0..4]), 0, "pid");
    let file: Vec<u8> = last[8..].iter().copied().take_while(|b| *b != 0).collect();
    assert!(
        file.starts_with(b"/"),
        "a file name from __data_loc: {:?}",
        String::from_utf8_lossy(&file)
    );
    // ignore_root: our execs are no longer counted.
    let trues = value_u64(&l, "execs_by_comm", &comm_key("true"), 0);
    l.map_set(&cfg("exec_filter"), &[0; 4], &[1]);
    assert!(with_tracepoints(&l, &ev, "/bin/true"));
    assert_eq!(value_u64(&l, "execs_by_comm", &comm_key("true"), 0), trues);
}

#[test]
fn tracepoint_openat_counts_opens_per_process() {
    let l = ex("tracepoint_openat.ks");
    assert_eq!(prog_type(&l, "on_openat"), "tracepoint");
    let ev = [("on_openat", "syscalls/sys_enter_openat")];
    let f = l.work.join("created");
    let cmd = format!(
        "cat /etc/hostname /etc/passwd > /dev/null; echo x > {}",
        f.display()
    );
    if !with_tracepoints(&l, &ev, &cmd) {
        return;
    }
    assert!(l.map_u64("watched_paths", 0) >= 2, "two opens under /etc/");
    // (opens, writes, watched) per process, from the formatted dump.
    let (_, dump, _) = tool(
        "bpftool",
        &["-j", "map", "dump", "pinned", &mapp(&l, "per_process")],
    );
    let field = |e: &str, f: &str| -> u64 {
        let at = e.find(&format!("\"{f}\":")).unwrap() + f.len() + 3;
        e[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let stats: Vec<(u64, u64, u64)> = dump
        .split("\"formatted\":")
        .skip(1)
        .map(|e| (field(e, "opens"), field(e, "writes"), field(e, "watched")))
        .collect();
    assert!(
        stats.iter().any(|&(_, w, x)| w == 0 && x >= 2),
        "cat opened two files under /etc/ read-only (and ld.so.cache): {stats:?}"
    );
    assert!(
        stats.iter().any(|&(_, w, _)| w >= 2),
        "the shell opened two files for writing: {stats:?}"
    );
    assert!(stats.iter().all(|&(o, w, x)| w <= o && x <= o));
}

#[test]
fn tracepoint_read_latency_times_reads() {
    let l = ex("tracepoint_read_latency.ks");
    assert_eq!(prog_type(&l, "read_enter"), "tracepoint");
    assert_eq!(prog_type(&l, "read_exit"), "tracepoint");
    let ev = [
        ("read_enter", "syscalls/sys_enter_read"),
        ("read_exit", "syscalls/sys_exit_read"),
    ];
    if !with_tracepoints(
        &l,
        &ev,
        "head -c 100000 /dev/zero > /dev/null; cat /nonexistent-dir/ 2>/dev/null; true",
    ) {
        return;
    }
    let name = "tracepoint_read_latency";
    let timed = global(&l, &bss(name), "reads_timed") as u64;
    assert!(timed >= 2, "reads: {timed}");
    assert!(global(&l, &bss(name), "bytes_read") >= 100000);
    let in_histogram: u64 = (0..24).map(|i| l.map_u64("latency_us", i)).sum();
    assert_eq!(in_histogram, timed, "every timed read is in the histogram");
}

#[test]
fn tracepoint_sched_switch_counts_context_switches() {
    let l = ex("tracepoint_sched_switch.ks");
    assert_eq!(prog_type(&l, "on_switch"), "tracepoint");
    if !with_tracepoints(
        &l,
        &[("on_switch", "sched/sched_switch")],
        "sleep 0.05; sleep 0.05",
    ) {
        return;
    }
    let switches = l.map_u64("switches", 0);
    assert!(switches >= 2, "switches: {switches}");
    let per_cpu: u64 = (0..1024).map(|c| l.map_u64("per_cpu", c)).sum::<u64>();
    assert_eq!(per_cpu, switches, "one count per switch, on its CPU");
    assert!(l.map_u64("preemptions", 0) <= switches);
    assert!(
        value_u64(&l, "switched_in", &comm_key("sleep"), 0) >= 2,
        "each sleep woke up"
    );
}

#[test]
fn kprobe_vfs_read_loads() {
    let l = ex("kprobe_vfs_read.ks");
    assert_eq!(prog_type(&l, "on_vfs_read"), "kprobe");
    assert_eq!(prog_type(&l, "inside_vfs_read"), "kprobe");
}

#[test]
fn kprobe_tcp_connect_loads() {
    let l = ex("kprobe_tcp_connect.ks");
    assert_eq!(prog_type(&l, "on_connect"), "kprobe");
}
