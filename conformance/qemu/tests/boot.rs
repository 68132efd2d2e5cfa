//! Boots Debian's 5.10, 6.1, 6.12 and 7.2 kernels under qemu and runs eBPF in them;
//! checks the failures (a hanging guest, a panic, no kernel, no qemu).
//!
//! The kernels are fetched into the cache on first use (apt-get download,
//! about 180 MB) and reused after.

use ksc_qemu::{fetch, Error, Guest, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Two boots at a time (one per core of a small machine): software
/// emulation is CPU-bound, and more guests at once make each slow enough
/// to blur the timeouts under test.
static RUNNING: (Mutex<u32>, Condvar) = (Mutex::new(0), Condvar::new());

fn boot(kernel: &Kernel, guest: &Guest) -> Result<ksc_qemu::Outcome, Error> {
    struct Turn;
    impl Drop for Turn {
        fn drop(&mut self) {
            *RUNNING.0.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            RUNNING.1.notify_one();
        }
    }
    let mut running = RUNNING.0.lock().unwrap_or_else(|e| e.into_inner());
    while *running >= 2 {
        running = RUNNING.1.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running += 1;
    drop(running);
    let _turn = Turn;
    ksc_qemu::boot(kernel, guest)
}

fn kernel(label: &str) -> Option<Kernel> {
    match fetch(label, &mut |line| eprintln!("fetch {label}: {line}")) {
        Ok(k) => Some(k),
        Err(e @ Error::Missing { .. }) => {
            ksc_testkit::skip(&e.to_string());
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// A scratch directory for this test's host files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksc-qemu-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An XDP program returning XDP_PASS and a TC one returning TC_ACT_OK,
/// built on the host.
fn bpf_object(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("pass.bpf.c");
    std::fs::write(
        &src,
        r#"#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int xdp_pass(void *ctx) { return 2; /* XDP_PASS */ }
SEC("tc") int tc_ok(void *ctx) { return 0; /* TC_ACT_OK */ }
char _license[] SEC("license") = "GPL";
"#,
    )
    .unwrap();
    let obj = dir.join("pass.bpf.o");
    match Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
    {
        Ok(s) if s.success() => Some(obj),
        Ok(s) => panic!("clang failed: {s}"),
        Err(e) => {
            ksc_testkit::skip(&format!("clang (to build the eBPF object) cannot run: {e}"));
            None
        }
    }
}

const SCRIPT: &str = r#"
out() { echo "$1" >>"$KSC_OUT"; }
out "release=$(uname -r)"
grep -q ' /sys/fs/bpf bpf ' /proc/mounts && out bpffs=yes
grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts && out tracefs=yes
bpftool prog loadall /ksc-test/pass.bpf.o /sys/fs/bpf/x && out loaded=yes
ls /sys/fs/bpf/x
head -c 64 /dev/zero >/tmp/zeros
bpftool prog run pinned /sys/fs/bpf/x/xdp_pass data_in /tmp/zeros repeat 1 >/tmp/run 2>&1
cat /tmp/run
out "xdp_run=$(sed -n 's/.*Return value: \([0-9-]*\).*/\1/p' /tmp/run)"
ip netns add t && out netns=yes
ip link add v0 type veth peer name v1 && ip link set v1 netns t && out veth=yes
ip addr add 10.0.0.1/24 dev v0 && ip link set v0 up
ip -n t addr add 10.0.0.2/24 dev v1 && ip -n t link set v1 up && ip -n t link set lo up
ip link set dev v0 xdp pinned /sys/fs/bpf/x/xdp_pass && ip link show v0 | grep -q 'xdp' && out xdp_attached=yes
tc qdisc add dev v0 clsact && tc filter add dev v0 ingress bpf direct-action object-pinned /sys/fs/bpf/x/tc_ok \
    && tc filter show dev v0 ingress | grep -q tc_ok && out tc_attached=yes
ping -c 1 -W 5 10.0.0.2 && out ping=yes
ip netns exec t ip link show v1 >/dev/null && out netns_exec=yes
out done
exit 3
"#;

fn boots_and_runs_ebpf(label: &str) {
    let Some(kernel) = kernel(label) else { return };
    let dir = scratch(label);
    let Some(obj) = bpf_object(&dir) else { return };
    let guest = Guest {
        files: vec![(obj, "/ksc-test/pass.bpf.o".into())],
        programs: vec!["bpftool".into(), "ip".into(), "tc".into()],
        modules: vec!["veth".into(), "sch_ingress".into(), "cls_bpf".into()],
        script: SCRIPT.into(),
        timeout: Duration::from_secs(240),
        ..Guest::default()
    };
    let outcome = boot(&kernel, &guest).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{label} ({}): booted and ran in {:.1}s",
        kernel.release,
        outcome.elapsed.as_secs_f64()
    );
    let expected = format!(
        "release={}\nbpffs=yes\ntracefs=yes\nloaded=yes\nxdp_run=2\nnetns=yes\nveth=yes\nxdp_attached=yes\n\
         tc_attached=yes\nping=yes\nnetns_exec=yes\ndone\n",
        kernel.release
    );
    assert_eq!(outcome.output, expected, "console:\n{}", outcome.console);
    assert_eq!(outcome.status, 3);
}

#[test]
fn linux_6_1_boots_and_runs_ebpf() {
    boots_and_runs_ebpf("6.1");
}

#[test]
fn linux_6_12_boots_and_runs_ebpf() {
    boots_and_runs_ebpf("6.12");
}

/// Debian bullseye's, from the private apt list (the machine's sources
/// have no 5.10).
#[test]
fn linux_5_10_boots_and_runs_ebpf() {
    boots_and_runs_ebpf("5.10");
}

/// Debian sid's 7.2: its image package is split (binary, modules, base)
/// and installs under /usr/lib/modules.
#[test]
fn linux_7_2_boots_and_runs_ebpf() {
    boots_and_runs_ebpf("7.2");
}

/// `latest` is sid's newest kernel, fetched under its own label.
#[test]
fn latest_is_the_newest_label() {
    let Some(kernel) = kernel("latest") else {
        return;
    };
    assert_ne!(kernel.label, "latest");
    for older in ["5.10", "6.1", "6.12"] {
        assert!(
            ksc_qemu::version_cmp(&kernel.label, older).is_gt(),
            "latest is {}, not newer than {older}",
            kernel.label
        );
    }
    assert!(kernel.vmlinuz.is_file() && kernel.modules.is_dir());
}

#[test]
fn a_hanging_guest_times_out_with_the_console_tail() {
    let Some(kernel) = kernel("6.1") else { return };
    let guest = Guest {
        script: "echo partial >$KSC_OUT; echo about to hang; sleep 1000\n".into(),
        timeout: Duration::from_secs(45),
        ..Guest::default()
    };
    match boot(&kernel, &guest) {
        Err(Error::Timeout {
            console_tail,
            output,
            ..
        }) => {
            assert!(console_tail.contains("about to hang"), "{console_tail}");
            assert_eq!(output, "partial\n");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_panicking_guest_died() {
    let Some(kernel) = kernel("6.12") else { return };
    let guest = Guest {
        script: "echo before >$KSC_OUT; echo c >/proc/sysrq-trigger; sleep 100\n".into(),
        timeout: Duration::from_secs(120),
        ..Guest::default()
    };
    match boot(&kernel, &guest) {
        Err(Error::Died {
            console_tail,
            output,
        }) => {
            assert!(console_tail.contains("Kernel panic"), "{console_tail}");
            assert_eq!(output, "before\n");
        }
        other => panic!("expected the guest to die, got {other:?}"),
    }
}

#[test]
fn no_kernel_is_no_boot() {
    let dir = scratch("nokernel");
    let vmlinuz = dir.join("vmlinuz");
    std::fs::write(&vmlinuz, b"not a kernel").unwrap();
    let kernel = Kernel {
        label: "x".into(),
        release: "x".into(),
        vmlinuz,
        modules: dir.clone(),
    };
    let has_qemu = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("qemu-system-x86_64").exists());
    if !has_qemu {
        ksc_testkit::skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        return;
    }
    let result = boot(
        &kernel,
        &Guest {
            timeout: Duration::from_secs(60),
            ..Guest::default()
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(e @ Error::NoBoot { .. }) => assert!(e.to_string().contains("did not boot"), "{e}"),
        other => panic!("expected NoBoot, got {other:?}"),
    }
}

#[test]
fn no_qemu_is_missing_with_the_install_command() {
    let kernel = Kernel {
        label: "6.1".into(),
        release: "6.1.0-0-amd64".into(),
        vmlinuz: "/nonexistent/vmlinuz".into(),
        modules: "/nonexistent/modules".into(),
    };
    let guest = Guest {
        search_path: Some("".into()),
        ..Guest::default()
    };
    match boot(&kernel, &guest) {
        Err(e @ Error::Missing { .. }) => {
            let Error::Missing { what, install } = &e else {
                unreachable!()
            };
            assert_eq!(what, "qemu-system-x86_64");
            assert_eq!(install, "apt-get install qemu-system-x86");
            assert!(
                e.to_string().contains("apt-get install qemu-system-x86"),
                "{e}"
            );
        }
        other => panic!("expected Missing, got {other:?}"),
    }
}
