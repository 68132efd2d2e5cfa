//! The whole flow a user follows: `ksc build` a program (both backends,
//! make: eBPF object and the program's C side by side, the executable with
//! the object linked in), then run the executable and check what it prints
//! and its exit status, in the kernel. Needs root, clang, bpftool, libbpf.
//!
//! This file: tracepoint and probe programs with their own loaders, tracefs
//! mounted by the loader when missing, a missing tracepoint named with the
//! closest events.

use std::path::Path;
use std::process::Command;

mod userspace_common;

use userspace_common::*;

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
