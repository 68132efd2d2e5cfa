//! The runtime on a real eBPF object (built here with clang): globals and
//! configs read and set in the object's image before load (no root
//! needed), then, as root, load through the verifier, BPF_PROG_TEST_RUN,
//! map lookups, updates, walks and deletes, per-CPU sums, and a
//! tracepoint attached, counting, and detached. Skips visibly without
//! clang or root; fails instead under `KSC_TEST_NO_SKIP=1`.

use std::path::Path;
use std::process::Command;

use ksc_rt::{Desc, Kind, MapRef, Prog, Target};

const PROGS: &[Prog] = &[
    Prog {
        name: "count_xdp",
        kind: Kind::Xdp,
        sec: "xdp",
    },
    Prog {
        name: "count_getppid",
        kind: Kind::Link,
        sec: "tracepoint/syscalls/sys_enter_getppid",
    },
];

const LENGTHS: MapRef = MapRef {
    name: "lengths",
    percpu: false,
    sum_width: 0,
};

const CALLS: MapRef = MapRef {
    name: "calls",
    percpu: true,
    sum_width: 8,
};

/// The object, compiled once per test binary; Err: why it cannot be.
fn object() -> Result<&'static [u8], String> {
    static OBJ: std::sync::OnceLock<Result<&'static [u8], String>> = std::sync::OnceLock::new();
    OBJ.get_or_init(|| {
        ksc_testkit::command("clang")?;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/prog.bpf.c");
        let out = std::env::temp_dir().join(format!("ksc-aya-rt-{}.bpf.o", std::process::id()));
        let o = Command::new("clang")
            .args([
                "-g",
                "-O2",
                "-target",
                "bpf",
                "-I/usr/include/x86_64-linux-gnu",
                "-c",
            ])
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run clang: {e}"))?;
        assert!(
            o.status.success(),
            "clang failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        // 8-aligned, as `aya::include_bytes_aligned!` gives generated code.
        let words: Vec<u64> = bytes
            .chunks(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_ne_bytes(w)
            })
            .collect();
        let words: &'static [u64] = Box::leak(words.into_boxed_slice());
        // SAFETY: the words' own bytes, as many as the file had.
        Ok(unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, bytes.len()) })
    })
    .clone()
}

fn desc(name: &'static str) -> Result<&'static Desc, String> {
    Ok(Box::leak(Box::new(Desc {
        name,
        object: object()?,
        progs: PROGS,
        pin_dir: None,
        globals_pin: None,
        tail_calls: &[],
    })))
}

/// `open` reads the data sections and symbols: globals and configs have
/// their initial values and take new ones, all before any load.
#[test]
fn globals_and_configs_are_read_and_set_in_the_image_before_load() {
    let d = match desc("image") {
        Ok(d) => d,
        Err(why) => return ksc_testkit::skip(&why),
    };
    ksc_rt::open(d);
    assert_eq!(ksc_rt::global::<u32>("verdict"), 1, "XDP_DROP");
    assert_eq!(ksc_rt::global::<u32>("who"), 0);
    assert_eq!(ksc_rt::global::<u64>("bytes"), 100);
    ksc_rt::set_global("verdict", &2u32);
    ksc_rt::set_global("bytes", &7u64);
    assert_eq!(ksc_rt::global::<u32>("verdict"), 2);
    assert_eq!(ksc_rt::global::<u64>("bytes"), 7);
    ksc_rt::cleanup();
}

fn getppid() {
    // SAFETY: a system call without arguments.
    unsafe { libc::getppid() };
}

#[test]
fn load_test_run_maps_and_a_tracepoint_in_the_kernel() {
    // SAFETY: no arguments, no state.
    if unsafe { libc::geteuid() } != 0 {
        return ksc_testkit::skip("loading eBPF programs needs root");
    }
    ksc_testkit::require!(ksc_testkit::tracefs());
    let d = match desc("kernel") {
        Ok(d) => d,
        Err(why) => return ksc_testkit::skip(&why),
    };
    ksc_rt::open(d);
    // Configs as set before load are what the verifier sees.
    ksc_rt::set_global("verdict", &2u32);
    ksc_rt::set_global("who", &std::process::id());
    assert_eq!(ksc_rt::load(0), 0);
    assert_eq!(ksc_rt::load(1), 1, "loaded once, for every program");

    assert_eq!(ksc_rt::test(0, 64, 0, &[0xff; 14]), 2, "XDP_PASS");
    assert_eq!(ksc_rt::test(0, 64, 0, &[]), 2);
    assert_eq!(ksc_rt::test(0, 100, 0, &[]), 2);
    assert_eq!(ksc_rt::lookup::<u32, u64>(&LENGTHS, &64), Some(2));
    assert_eq!(ksc_rt::lookup::<u32, u64>(&LENGTHS, &100), Some(1));
    assert_eq!(ksc_rt::lookup::<u32, u64>(&LENGTHS, &7), None);
    // After load, globals are the live values in the data maps.
    assert_eq!(ksc_rt::global::<u64>("bytes"), 100 + 64 + 64 + 100);
    ksc_rt::set_global("bytes", &1u64);
    assert_eq!(ksc_rt::test(0, 20, 0, &[]), 2);
    assert_eq!(ksc_rt::global::<u64>("bytes"), 21);

    assert_eq!(ksc_rt::update(&LENGTHS, &7u32, &70u64), 0);
    assert_eq!(ksc_rt::lookup::<u32, u64>(&LENGTHS, &7), Some(70));
    let mut keys = vec![];
    let mut k = None;
    while let Some(next) = ksc_rt::next_key::<u32>(&LENGTHS, k.as_ref()) {
        keys.push(next);
        k = Some(next);
    }
    keys.sort();
    assert_eq!(keys, [7, 20, 64, 100]);
    ksc_rt::delete(&LENGTHS, &7u32);
    assert_eq!(ksc_rt::lookup::<u32, u64>(&LENGTHS, &7), None);

    // A tracepoint: counts this process's calls while attached only.
    assert_eq!(ksc_rt::lookup::<u32, u64>(&CALLS, &0), Some(0));
    assert_eq!(ksc_rt::attach(1, Target::Index(0), 0), 0);
    for _ in 0..5 {
        getppid();
    }
    assert_eq!(ksc_rt::lookup::<u32, u64>(&CALLS, &0), Some(5));
    ksc_rt::detach(1);
    getppid();
    assert_eq!(ksc_rt::lookup::<u32, u64>(&CALLS, &0), Some(5));
    // A per-CPU entry written from userspace: CPU 0's, summed back.
    assert_eq!(ksc_rt::update(&CALLS, &0u32, &9u64), 0);
    assert_eq!(ksc_rt::lookup::<u32, u64>(&CALLS, &0), Some(9));
    ksc_rt::cleanup();
}
