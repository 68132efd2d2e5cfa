//! `ksc init`: every program kind gives a project that `ksc build` builds
//! as it is, and whose program the kernel accepts — XDP and TC through
//! their own `@test` (BPF_PROG_TEST_RUN), the tracepoint by running it,
//! the probe through the verifier (this kernel has no kprobes to attach
//! to), struct_ops by registering it. Unknown events, functions and types
//! are errors with suggestions. Needs root, clang, bpftool, libbpf and the
//! kernel's BTF.

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

/// A fresh empty directory to run `ksc init` in.
fn workdir() -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ksc-init-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ksc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .args(args)
        .current_dir(cwd)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn btf() -> bool {
    if let Err(why) = ksc_testkit::vmlinux_btf() {
        ksc_testkit::skip(&why);
        return false;
    }
    true
}

/// `ksc init ARGS` in a new directory; the project's directory.
fn init(args: &[&str]) -> PathBuf {
    let w = workdir();
    let o = ksc(&w, &[&["init"], args].concat());
    assert_eq!(o.status.code(), Some(0), "ksc init {args:?}:\n{}", text(&o));
    let dir = w.join(args.last().unwrap());
    let name = args.last().unwrap().replace('-', "_");
    for f in [format!("{name}.ks"), "README.md".into(), "Makefile".into()] {
        assert!(dir.join(&f).is_file(), "{f} missing");
    }
    dir
}

/// `ksc build NAME.ks -o out` in the project, with no C warning.
fn build(dir: &Path) {
    let name = dir.file_name().unwrap().to_str().unwrap().replace('-', "_");
    let o = ksc(dir, &["build", &format!("{name}.ks"), "-o", "out"]);
    let t = text(&o);
    assert!(o.status.success(), "ksc build failed:\n{t}");
    assert!(
        !t.lines()
            .any(|l| l.contains(".c:") && l.contains("warning")),
        "the C build warned:\n{t}"
    );
    assert!(
        !t.contains("warning:"),
        "the template draws a warning:\n{t}"
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn xdp_project_builds_and_its_test_passes_in_the_kernel() {
    if !btf() {
        return;
    }
    let dir = init(&["--kfuncs", "xdp", "edge_counter"]);
    let src = read(&dir.join("edge_counter.ks"));
    assert!(
        src.contains("@xdp\nfn edge_counter(ctx: *xdp_md) -> xdp_action {"),
        "{src}"
    );
    // The Makefile's build, then its test target (`ksc test`: the program
    // passes the verifier and runs on a 64-byte packet).
    let o = Command::new("make")
        .arg(format!("KSC={}", env!("CARGO_BIN_EXE_ksc")))
        .arg("build")
        .arg("test")
        .current_dir(&dir)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("test test_edge_counter_passes_packets ... ok"),
        "{t}"
    );
    assert!(dir.join("out/edge_counter").is_file());

    // The kfunc header: extern declarations, typed; a program including
    // it (by hand until `include` lands) calls two of them, and the
    // kernel resolves them when it loads.
    let kh = read(&dir.join("xdp_kfuncs.kh"));
    assert!(
        kh.contains("extern bpf_xdp_metadata_rx_timestamp(ctx: *xdp_md, timestamp: *u64) -> i32"),
        "{kh}"
    );
    assert!(kh.contains("extern bpf_rcu_read_lock()\n"), "{kh}");
    assert!(
        !kh.contains("extern bpf_skb_"),
        "TC's kfuncs are not XDP's: {kh}"
    );
    assert!(!kh.contains("extern bpf_fentry_test"), "self-tests: {kh}");
    let with = src.replace(
        "    packets[0] += 1\n",
        "    bpf_rcu_read_lock()\n    packets[0] += 1\n    bpf_rcu_read_unlock()\n",
    );
    assert_ne!(with, src);
    let kdir = workdir();
    std::fs::write(kdir.join("edge_counter.ks"), format!("{kh}\n{with}")).unwrap();
    let o = ksc(&kdir, &["test", "edge_counter.ks", "-o", "out"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("1 passed; 0 failed"), "{t}");
    assert!(read(&kdir.join("out/edge_counter.ebpf.c"))
        .contains("extern void bpf_rcu_read_lock(void) __ksym;"));
}

#[test]
fn tc_project_builds_and_its_test_passes_in_the_kernel() {
    if !btf() {
        return;
    }
    let dir = init(&["--kfuncs", "tc", "ingress-meter"]);
    // The program is named after the directory, `-` read as `_`.
    let src = read(&dir.join("ingress_meter.ks"));
    assert!(
        src.contains("@tc(\"ingress\")\nfn ingress_meter(ctx: *__sk_buff) -> i32 {"),
        "{src}"
    );
    let o = ksc(&dir, &["test", "ingress_meter.ks", "-o", "out"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("test test_ingress_meter_lets_packets_through ... ok"),
        "{t}"
    );
    let kh = read(&dir.join("tc_kfuncs.kh"));
    assert!(kh.contains("extern bpf_dynptr_from_skb("), "{kh}");
    assert!(!kh.contains("extern bpf_xdp_"), "{kh}");
}

#[test]
fn tracepoint_project_counts_real_events() {
    if !btf() {
        return;
    }
    ksc_testkit::require!(ksc_testkit::tracefs());
    let dir = init(&["tracepoint/sched/sched_switch", "switches"]);
    let src = read(&dir.join("switches.ks"));
    assert!(
        src.contains("fn switches(ctx: *trace_event_raw_sched_switch) -> i32 {"),
        "{src}"
    );
    // The fields, from BTF, in a comment; one is read.
    assert!(src.contains("//   prev_pid: int\n"), "{src}");
    assert!(
        src.contains("last_prev_pid[0] = ctx->prev_pid as u64"),
        "{src}"
    );
    build(&dir);
    let o = Command::new(dir.join("out/switches")).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let n: u64 = t
        .split(" events")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{t}"));
    assert!(n > 0, "{t}");
}

#[test]
fn perf_event_project_counts_samples_of_its_own_cpu_time() {
    if !btf() {
        return;
    }
    let dir = init(&["--kfuncs", "perf_event", "cycles-watch"]);
    let src = read(&dir.join("cycles_watch.ks"));
    assert!(
        src.contains("@perf_event\nfn cycles_watch(ctx: *bpf_perf_event_data) -> i32 {"),
        "{src}"
    );
    assert!(dir.join("perf_event_kfuncs.kh").is_file());
    build(&dir);
    let o = Command::new(dir.join("out/cycles_watch")).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let n: u64 = t
        .split(" samples")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{t}"));
    assert!(n > 0, "{t}");
    assert!(t.contains(" ns of CPU time"), "{t}");
}

#[test]
fn tracepoint_contexts_of_syscalls_and_event_classes() {
    if !btf() {
        return;
    }
    ksc_testkit::require!(ksc_testkit::tracefs());
    let dir = init(&["tracepoint/syscalls/sys_enter_openat", "opens"]);
    let src = read(&dir.join("opens.ks"));
    assert!(src.contains("ctx: *trace_event_raw_sys_enter"), "{src}");
    assert!(src.contains("last_id[0] = ctx->id as u64"), "{src}");
    build(&dir);
    let dir = init(&["tracepoint/syscalls/sys_exit_read", "reads"]);
    assert!(read(&dir.join("reads.ks")).contains("ctx: *trace_event_raw_sys_exit"));
    // sched_wakeup_new has no struct of its own: its class's.
    let dir = init(&["tracepoint/sched/sched_wakeup_new", "wakeups"]);
    let src = read(&dir.join("wakeups.ks"));
    assert!(
        src.contains("ctx: *trace_event_raw_sched_wakeup_template"),
        "{src}"
    );
    build(&dir);
}

#[test]
fn probe_project_takes_the_prototype_and_passes_the_verifier() {
    if !btf() {
        return;
    }
    ksc_testkit::require!(ksc_testkit::bpffs());
    let dir = init(&["probe/vfs_read", "reads"]);
    let src = read(&dir.join("reads.ks"));
    assert!(
        src.contains(
            "@probe(\"vfs_read\")\nfn reads(file: *u8, buf: *u8, count: u64, pos: *i64) -> i32 {"
        ),
        "{src}"
    );
    assert!(
        src.contains("vfs_read(struct file *file, char *buf"),
        "{src}"
    );
    build(&dir);
    // This kernel cannot attach kprobes; loading goes through the verifier.
    let pin = format!("/sys/fs/bpf/ksc-init-probe-{}", std::process::id());
    let o = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(dir.join("out/reads.ebpf.o"))
        .arg(&pin)
        .output()
        .unwrap();
    let t = text(&o);
    let _ = std::fs::remove_dir_all(&pin);
    assert!(o.status.success(), "the verifier refused the probe: {t}");
}

#[test]
fn struct_ops_project_has_every_member_and_registers() {
    if !btf() {
        return;
    }
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("kscinit{}x{n}", std::process::id() % 1000);
    let dir = init(&["struct_ops/tcp_congestion_ops", &name]);
    let src = read(&dir.join(format!("{name}.ks")));
    for member in [
        "fn ssthresh(sock: *u8) -> u32 {",
        "fn cong_avoid(sock: *u8, arg1: u32, arg2: u32) -> void {",
        "fn undo_cwnd(sock: *u8) -> u32 {",
        "fn cong_control(sock: *u8, arg1: u32, arg2: i32, rate_sample: *u8) -> void {",
    ] {
        assert!(src.contains(member), "{member}: {src}");
    }
    // The kernel refuses a BPF `get_info`: left out, with why.
    assert!(!src.contains("fn get_info"), "{src}");
    assert!(
        src.contains("get_info (the kernel refuses BPF for it)"),
        "{src}"
    );
    build(&dir);
    let o = Command::new(dir.join(format!("out/{name}")))
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("{name} registered")), "{t}");

    // A long name is cut to what the kernel's `name` holds, in the template.
    let dir = init(&[
        "struct_ops/tcp_congestion_ops",
        "a_rather_long_congestion_control",
    ]);
    let src = read(&dir.join("a_rather_long_congestion_control.ks"));
    assert!(src.contains("    name: \"a_rather_long_c\",\n"), "{src}");
    build(&dir);
}

#[test]
fn btf_file_reads_another_kernels_types() {
    if !btf() {
        return;
    }
    let w = workdir();
    std::fs::copy("/sys/kernel/btf/vmlinux", w.join("other.btf")).unwrap();
    let o = ksc(
        &w,
        &[
            "init",
            "--btf",
            "other.btf",
            "struct_ops/tcp_congestion_ops",
            "cc",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(read(&w.join("cc/README.md")).contains("other.btf"));
    build(&w.join("cc"));

    // Not BTF, or missing: exit 2, nothing written.
    std::fs::write(w.join("junk.btf"), b"not btf at all, just text").unwrap();
    let o = ksc(&w, &["init", "--btf", "junk.btf", "xdp", "j"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not BTF data"), "{}", text(&o));
    let o = ksc(&w, &["init", "--btf", "missing.btf", "xdp", "m"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("cannot read BTF from missing.btf"),
        "{}",
        text(&o)
    );
    assert!(!w.join("j").exists() && !w.join("m").exists());
}

/// `ksc init ARGS` fails with exit 2, says `want`, and writes nothing.
fn refused(args: &[&str], want: &[&str]) {
    let w = workdir();
    let o = ksc(&w, &[&["init"], args].concat());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "ksc init {args:?}:\n{t}");
    for s in want {
        assert!(t.contains(s), "ksc init {args:?}: wanted {s:?} in:\n{t}");
    }
    assert!(!t.contains("panicked"), "{t}");
    assert_eq!(std::fs::read_dir(&w).unwrap().count(), 0, "wrote something");
}

#[test]
fn unknown_kinds_events_functions_and_types_are_errors_with_suggestions() {
    if !btf() {
        return;
    }
    ksc_testkit::require!(ksc_testkit::tracefs());
    refused(
        &["xpd", "p"],
        &["unknown program kind `xpd`", "did you mean `xdp`?"],
    );
    refused(
        &["perf_evnt", "p"],
        &[
            "unknown program kind `perf_evnt`",
            "did you mean `perf_event`?",
        ],
    );
    refused(
        &["perf_event/cpu_clock", "p"],
        &["`perf_event` takes nothing after it"],
    );
    refused(
        &["tracepoint", "p"],
        &["`ksc init tracepoint/sched/sched_switch NAME`"],
    );
    refused(
        &["tracepoint/sched/sched_swich", "p"],
        &["no tracepoint `sched/sched_swich`", "`sched/sched_switch`"],
    );
    refused(
        &["tracepoint/irq/sched_switch", "p"],
        &[
            "no tracepoint `irq/sched_switch`",
            "`sched_switch` is in category `sched`",
        ],
    );
    refused(
        &["tracepoint/syscalls/sys_enter_opnat", "p"],
        &["no system call `opnat`", "syscalls/sys_enter_openat"],
    );
    refused(
        &["probe/vfs_raed", "p"],
        &["no function `vfs_raed`", "`vfs_read`"],
    );
    refused(
        &["struct_ops/tcp_congestion_op", "p"],
        &[
            "`tcp_congestion_op` is not a struct_ops type of this kernel",
            "did you mean `tcp_congestion_ops`?",
        ],
    );
    refused(
        &["struct_ops/task_struct", "p"],
        &["not a struct_ops type", "tcp_congestion_ops"],
    );
    refused(&["xdp", "1st"], &["`1st` cannot name a program"]);
    refused(&["xdp", "match"], &["`match` is a KernelScript keyword"]);
    // An existing project is not overwritten.
    let w = workdir();
    std::fs::create_dir(w.join("p")).unwrap();
    std::fs::write(w.join("p/keep"), b"mine").unwrap();
    let o = ksc(&w, &["init", "xdp", "p"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("`p` already exists and is not empty"),
        "{}",
        text(&o)
    );
    assert_eq!(read(&w.join("p/keep")), "mine");
}

/// Every template in `ksc/src/init/templates/` instantiated (one kind
/// each) passes `ksc check` with no diagnostic at all, without root or a
/// backend: the quick guard for an edit to a template.
#[test]
fn every_template_checks_clean() {
    if !btf() {
        return;
    }
    for (kind, name) in [
        ("xdp", "t_xdp"),
        ("tc", "t_tc"),
        ("perf_event", "t_perf"),
        ("tracepoint/sched/sched_switch", "t_tp"),
        ("probe/vfs_read", "t_probe"),
        ("struct_ops/tcp_congestion_ops", "t_ops"),
    ] {
        let dir = init(&[kind, name]);
        let o = ksc(&dir, &["check", &format!("{name}.ks")]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "template {kind}:\n{t}");
        assert!(
            t.trim().is_empty(),
            "template {kind} draws diagnostics:\n{t}"
        );
        assert!(
            !read(&dir.join(format!("{name}.ks"))).contains("${"),
            "template {kind} has an unfilled placeholder"
        );
    }
}
