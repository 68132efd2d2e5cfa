//! The rust-aya target against the C loader: every example builds with
//! both `--target=c-libbpf` and `--target=rust-aya`, and the two
//! executables give the same stdout and exit status — for the command
//! line (`--help`, bad options and values) and, on a veth pair inside a
//! network namespace the test creates (never the machine's own
//! interfaces), for attaching, counting traffic, SIGINT and detaching.
//! The conformance suite (`ksc-conformance --targets c-libbpf,rust-aya`)
//! diffs the two on every case too. Needs root, clang, bpftool, libbpf
//! and cargo (the first rust-aya build fetches and compiles aya into
//! `~/.cache/ksc/cargo-target`).

use ksc_testkit::net::{sh, Veth};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static SEQ: AtomicU32 = AtomicU32::new(0);

fn plugin_dir() -> PathBuf {
    // Dev-dependency cdylibs land in target/<profile>/deps.
    Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps")
}

/// `ksc build --target=T` of an example; the executable's path.
fn build(example: &Path, target: &str) -> PathBuf {
    let name = example.file_stem().unwrap().to_string_lossy().into_owned();
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "ksc-aya-{}-{n}-{target}-{name}",
        std::process::id()
    ));
    let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
        .arg("build")
        .arg(format!("--target={target}"))
        .arg(example)
        .arg("-o")
        .arg(&out)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{name} ({target}): build failed:\n{err}"
    );
    // Neither the C compiler nor rustc may warn (ksc's own warnings about
    // the program are allowed: they name the .ks file).
    assert!(
        !err.lines()
            .any(|l| (l.contains(".c:") && l.contains("warning"))
                || l.starts_with("warning: unused")
                || l.contains("--> src/")),
        "{name} ({target}): the build warned:\n{err}"
    );
    out.join(&name)
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .collect();
    names.sort();
    names
}

fn show(o: &Output) -> (Option<i32>, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn every_example_builds_with_both_targets_and_its_command_line_behaves_alike() {
    let all = examples();
    assert!(all.len() >= 25);
    for ex in all {
        let name = ex.file_stem().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&ex).unwrap();
        if src.contains("@kfunc") {
            // aya cannot resolve kfuncs from kernel modules: a compile-time
            // error at each, naming the target that supports them.
            let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
                .args(["build", "--target=rust-aya"])
                .arg(&ex)
                .arg("-o")
                .arg(std::env::temp_dir().join(format!("ksc-aya-kfunc-{}", std::process::id())))
                .env("KSC_PLUGIN_PATH", plugin_dir())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{name}: {err}");
            assert!(
                err.contains("kfuncs from kernel modules are not supported by aya")
                    && err.contains("the c-libbpf target supports them")
                    && err.contains(&format!("{name}.ks:")),
                "{name}: {err}"
            );
            continue;
        }
        let c = build(&ex, "c-libbpf");
        let rust = build(&ex, "rust-aya");
        assert!(rust.with_file_name(format!("{name}.ebpf.o")).exists());
        if !src.contains("fn main(args") {
            let _ = std::fs::remove_dir_all(c.parent().unwrap());
            let _ = std::fs::remove_dir_all(rust.parent().unwrap());
            continue;
        }
        // Only the command line: a `main` would attach to what the
        // example names (the veth tests below and the conformance suite
        // run them).
        for args in [
            &["--help"][..],
            &["-h"],
            &["--no-such-option=1"],
            &["--help=1"],
            &["stray"],
        ] {
            let a = show(&Command::new(&c).args(args).output().unwrap());
            let b = show(&Command::new(&rust).args(args).output().unwrap());
            // The usage line names the executable's path.
            let b = (
                b.0,
                b.1.replace(rust.to_str().unwrap(), c.to_str().unwrap()),
            );
            assert_eq!(a, b, "{name} {args:?}: c-libbpf, then rust-aya");
        }
        let _ = std::fs::remove_dir_all(c.parent().unwrap());
        let _ = std::fs::remove_dir_all(rust.parent().unwrap());
    }
}

/// Run `exe` on a fresh veth pair with `args` (`IFACE` replaced), send UDP
/// datagrams to `port` after 300 ms, SIGINT it after `sigint_ms` when
/// given; its status and stdout, and what it left attached.
fn run_on_veth(
    exe: &Path,
    args: &[&str],
    port: u16,
    sigint_ms: Option<u64>,
    env: &[(&str, &str)],
) -> ((Option<i32>, String), String) {
    let v = Veth::new();
    let args: Vec<String> = args.iter().map(|a| a.replace("IFACE", &v.host)).collect();
    let child = Command::new(exe)
        .args(&args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    v.udp(port, 3);
    if let Some(ms) = sigint_ms {
        std::thread::sleep(Duration::from_millis(ms));
        sh(&format!("kill -INT {}", child.id()));
    }
    let o = child.wait_with_output().unwrap();
    (show(&o), v.left())
}

#[test]
fn xdp_and_tc_examples_on_a_veth_pair_behave_alike() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    type Case<'a> = (
        &'a str,
        &'a [&'a str],
        u16,
        Option<u64>,
        &'a [(&'a str, &'a str)],
    );
    let cases: &[Case] = &[
        // Runs for its own time, detaches, prints the drops.
        (
            "xdp_firewall",
            &["--interface", "IFACE", "--blocked_port=5000"],
            5000,
            None,
            &[],
        ),
        // Counts through tcx links, then through clsact (KSC_NO_TCX).
        ("tc_counter", &["--interface", "IFACE"], 7000, None, &[]),
        (
            "tc_counter",
            &["--interface", "IFACE"],
            7000,
            None,
            &[("KSC_NO_TCX", "1")],
        ),
        // SIGINT while it sleeps: cleanup, status 130.
        (
            "xdp_blocklist",
            &["--interface=IFACE", "--block=167772162"],
            9000,
            Some(300),
            &[],
        ),
    ];
    for (name, args, port, sigint, env) in cases {
        let ex = dir.join(format!("{name}.ks"));
        let c = build(&ex, "c-libbpf");
        let rust = build(&ex, "rust-aya");
        let (a, left_a) = run_on_veth(&c, args, *port, *sigint, env);
        let (b, left_b) = run_on_veth(&rust, args, *port, *sigint, env);
        // tc_counter counts every packet, ARP and IPv6 neighbour discovery
        // among them, whose number varies: its lines are compared with
        // the numbers left out.
        let shape = |r: &(Option<i32>, String)| {
            if *name == "tc_counter" {
                (r.0, r.1.replace(|c: char| c.is_ascii_digit(), ""))
            } else {
                r.clone()
            }
        };
        assert_eq!(
            shape(&a),
            shape(&b),
            "{name} {env:?}: c-libbpf, then rust-aya"
        );
        assert!(left_a.trim().is_empty(), "{name}: c-libbpf left:\n{left_a}");
        assert!(left_b.trim().is_empty(), "{name}: rust-aya left:\n{left_b}");
        if sigint.is_some() {
            assert_eq!(b.0, Some(130), "{name}");
        }
        let _ = std::fs::remove_dir_all(c.parent().unwrap());
        let _ = std::fs::remove_dir_all(rust.parent().unwrap());
    }
}

/// The pid of the running process whose executable is `exe`, other than
/// `not` (the daemon `daemon()` left behind).
fn pid_of(exe: &Path, not: u32) -> Option<u32> {
    let exe = std::fs::canonicalize(exe).ok()?;
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        (pid != not && std::fs::read_link(format!("/proc/{pid}/exe")).ok()? == exe).then_some(pid)
    })
}

/// The counter of the daemon's program (an array map named
/// `kdaemon_ticks`), through bpftool.
fn daemon_ticks() -> Option<u64> {
    // With BTF, bpftool formats the value (`"value": 5`); without, as
    // bytes (`value: 05 00 00 00 00 00 00 00`).
    let out = sh("bpftool map dump name kdaemon_ticks 2>/dev/null");
    if let Some(v) = out.lines().find_map(|l| l.split("\"value\":").nth(1)) {
        return v.trim().trim_end_matches(',').parse().ok();
    }
    let value = out.lines().find_map(|l| l.split("value:").nth(1))?;
    let mut n = 0u64;
    for (i, b) in value.split_whitespace().enumerate().take(8) {
        n |= u64::from_str_radix(b, 16).ok()? << (8 * i);
    }
    Some(n)
}

/// `daemon()` (docs/language.md, "Ring-buffer callbacks, `dispatch` and
/// `daemon`"), with both targets and stdout a pipe, then a file: the
/// foreground prints what came before once and exits 0 at once; the
/// daemon's program stays attached and counts; SIGTERM to the daemon
/// detaches it and nothing is left.
#[test]
fn daemon_leaves_the_programs_attached_until_sigterm() {
    let dir = std::env::temp_dir().join(format!("ksc-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ex = dir.join("kdaemon.ks");
    std::fs::write(
        &ex,
        "var kdaemon_ticks : array<u32, u64>(1)\n\n@tracepoint(\"syscalls/sys_enter_getppid\")\nfn kdaemon_tick(ctx: *trace_event_raw_sys_enter) -> i32 {\n    kdaemon_ticks[0] += 1\n    return 0\n}\n\nfn main() -> i32 {\n    var p = load(kdaemon_tick)\n    if (attach(p, \"syscalls/sys_enter_getppid\", 0) != 0) {\n        return 1\n    }\n    print(\"attached\")\n    daemon()\n    print(\"after daemon\")\n    return 3\n}\n",
    )
    .unwrap();
    for target in ["c-libbpf", "rust-aya"] {
        let exe = build(&ex, target);
        for to_file in [false, true] {
            let what = format!(
                "{target}, stdout to a {}",
                if to_file { "file" } else { "pipe" }
            );
            let file = dir.join("stdout.txt");
            let mut cmd = Command::new(&exe);
            cmd.stderr(Stdio::piped());
            if to_file {
                cmd.stdout(std::fs::File::create(&file).unwrap());
            } else {
                cmd.stdout(Stdio::piped());
            }
            let start = std::time::Instant::now();
            let child = cmd.spawn().unwrap();
            let fg = child.id();
            // The pipe reaches its end when the foreground exits: the
            // daemon's stdout is /dev/null.
            let o = child.wait_with_output().unwrap();
            assert!(start.elapsed() < Duration::from_secs(10), "{what}");
            assert_eq!(
                o.status.code(),
                Some(0),
                "{what}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let printed = if to_file {
                std::fs::read_to_string(&file).unwrap()
            } else {
                String::from_utf8_lossy(&o.stdout).into_owned()
            };
            assert_eq!(printed, "attached\n", "{what}");
            let daemon = pid_of(&exe, fg).unwrap_or_else(|| panic!("{what}: no daemon running"));
            // A session of its own: it left the terminal.
            let stat = std::fs::read_to_string(format!("/proc/{daemon}/stat")).unwrap();
            let sid: u32 = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .nth(3)
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(sid, daemon, "{what}: {stat}");
            // Still attached, still counting.
            let before = daemon_ticks().unwrap_or_else(|| panic!("{what}: no map"));
            for _ in 0..5 {
                let _ = std::os::unix::process::parent_id();
            }
            std::thread::sleep(Duration::from_millis(100));
            let after = daemon_ticks().unwrap();
            assert!(after >= before + 5, "{what}: {before} then {after}");
            assert!(
                sh("bpftool prog show name kdaemon_tick").contains("kdaemon_tick"),
                "{what}"
            );
            sh(&format!("kill -TERM {daemon}"));
            let mut gone = false;
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(50));
                let alive =
                    std::fs::read_to_string(format!("/proc/{daemon}/stat")).is_ok_and(|s| {
                        !s.rsplit(')')
                            .next()
                            .unwrap_or("")
                            .trim_start()
                            .starts_with('Z')
                    });
                // The kernel frees the program, then the map, once the
                // daemon's descriptors close.
                if !alive
                    && !sh("bpftool prog show name kdaemon_tick").contains("kdaemon_tick")
                    && daemon_ticks().is_none()
                {
                    gone = true;
                    break;
                }
            }
            assert!(
                gone,
                "{what}: the daemon, its program or its map is still there"
            );
        }
        let _ = std::fs::remove_dir_all(exe.parent().unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `@perf_event` attaches the kernel refuses, with both targets: a
/// hardware counter this machine lacks (virtual machines have no PMU) is
/// named in a plain error, not an errno; pid -1 with cpu -1 and flags
/// other than 0, when not constant, are refused at run time. Exit 1, the
/// same stderr from both.
#[test]
fn perf_counters_refused_at_run_time_are_named_alike() {
    let dir = std::env::temp_dir().join(format!("ksc-aya-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("perf_refused.ks");
    std::fs::write(
        &ks,
        r#"
@perf_event
fn on_sample(ctx: *bpf_perf_event_data) -> i32 {
    return 0
}

struct Args {
    which: u32,
}

fn main(args: Args) -> i32 {
    var prog = load(on_sample)
    var any: i32 = -1
    if (args.which == 0) {
        var att = attach(prog, perf_options { perf_type: perf_type_hardware, perf_config: cpu_cycles, pid: 0, cpu: -1 }, 0)
        print("cycles: %s", if (read(att) >= 0) { "counted" } else { "none" })
    } else if (args.which == 1) {
        var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: any, cpu: any }, 0)
    } else {
        var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: 0, cpu: any }, args.which)
    }
    return 0
}
"#,
    )
    .unwrap();
    let c = build(&ks, "c-libbpf");
    let rust = build(&ks, "rust-aya");
    for (which, want) in [
        ("0", "error: cannot attach `on_sample` to the hardware counter `cpu_cycles`: this machine has no such counter (no hardware performance counters, as in most virtual machines); software counters such as `cpu_clock` or `page_faults` work everywhere\n"),
        ("1", "error: cannot attach `on_sample` to the software counter `cpu_clock`: pid -1 with cpu -1 (every process on every CPU) is not a counter the kernel opens: give a pid (0 is this process) or a cpu\n"),
        ("2", "error: cannot attach `on_sample` to the software counter `cpu_clock`: a perf attach takes no flags (0), not 2\n"),
    ] {
        let oc = Command::new(&c).arg(format!("--which={which}")).output().unwrap();
        let or = Command::new(&rust).arg(format!("--which={which}")).output().unwrap();
        let (ec, er) = (
            String::from_utf8_lossy(&oc.stderr),
            String::from_utf8_lossy(&or.stderr),
        );
        assert_eq!(show(&oc), show(&or), "which={which}: {ec} / {er}");
        assert_eq!(ec, er, "which={which}");
        if which == "0" && oc.status.success() {
            // This machine has a PMU: the counter counts instead.
            assert_eq!(show(&oc).1, "cycles: counted\n");
            continue;
        }
        assert_eq!(oc.status.code(), Some(1), "which={which}: {ec}");
        assert_eq!(ec, want, "which={which}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(c.parent().unwrap());
    let _ = std::fs::remove_dir_all(rust.parent().unwrap());
}
