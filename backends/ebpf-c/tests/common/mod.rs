//! Test harness for generated eBPF C in the real kernel: compile with ksc,
//! build with clang (warnings are failures), load through the verifier with
//! bpftool, run with BPF_PROG_TEST_RUN on crafted packets, read maps back.
//! Needs root, clang, bpftool and bpffs (`.ci/setup` provides them).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn tool(cmd: &str, args: &[&str]) -> (bool, String, String) {
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
pub struct Loaded {
    pub pins: PathBuf,
    pub work: PathBuf,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.pins);
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

pub fn ensure_bpffs() {
    if let Err(why) = ksc_testkit::bpffs() {
        panic!("{why}");
    }
}

pub fn generate(name: &str, src: &str) -> String {
    let module =
        ksc_midend::check_source(src, &format!("{name}.ks")).unwrap_or_else(|e| panic!("{e}"));
    ksc_backend_ebpf_c::generate_c(&module).unwrap_or_else(|e| {
        let msgs: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        panic!("{}", msgs.join("\n"))
    })
}

/// Compile `src` with ksc and build it with clang (warnings fail):
/// returns the scratch directory, its tag and the object file.
pub fn build(name: &str, src: &str) -> (PathBuf, String, PathBuf) {
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
    (work, tag, obj)
}

pub fn load(name: &str, src: &str) -> Loaded {
    let (work, tag, obj) = build(name, src);
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
        std::fs::read_to_string(obj.with_extension("c")).unwrap_or_default()
    );
    Loaded { pins, work }
}

impl Loaded {
    /// BPF_PROG_TEST_RUN: the program's return value on `packet`.
    pub fn run(&self, prog: &str, packet: &[u8]) -> i64 {
        self.run_with(prog, packet, &[])
    }

    /// BPF_PROG_TEST_RUN with more `bpftool prog run` arguments
    /// (`data_out FILE`, `ctx_in FILE`, ...): the program's return value.
    pub fn run_with(&self, prog: &str, packet: &[u8], extra: &[&str]) -> i64 {
        let input = self
            .work
            .join(format!("in-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&input, packet).unwrap();
        let p = self.pins.join(prog);
        let mut args = vec![
            "prog",
            "run",
            "pinned",
            p.to_str().unwrap(),
            "data_in",
            input.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["repeat", "1"]);
        let (ok, out, err) = tool("bpftool", &args);
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
    pub fn map_u64(&self, map: &str, key: u32) -> u64 {
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
    pub fn map_set(&self, map: &str, key: &[u8], value: &[u8]) {
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

pub fn eth(proto: u16) -> Vec<u8> {
    let mut p = vec![0u8; 6];
    p.extend([0x11; 6]);
    p.extend(proto.to_be_bytes());
    p
}

pub fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = eth(0x0800);
    let total = (20 + payload.len()) as u16;
    p.extend([0x45, 0]);
    p.extend(total.to_be_bytes());
    p.extend([0, 0, 0, 0, 64, protocol, 0, 0]);
    p.extend([10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend(payload);
    p
}

pub fn tcp(dport: u16) -> Vec<u8> {
    let mut t = 40000u16.to_be_bytes().to_vec();
    t.extend(dport.to_be_bytes());
    t.extend([0u8; 16]);
    ipv4(6, &t)
}

pub fn udp(dport: u16) -> Vec<u8> {
    let mut u = 5353u16.to_be_bytes().to_vec();
    u.extend(dport.to_be_bytes());
    u.extend([0, 8, 0, 0]);
    ipv4(17, &u)
}

pub const XDP_ABORTED: i64 = 0;
pub const XDP_DROP: i64 = 1;
pub const XDP_PASS: i64 = 2;
pub const XDP_TX: i64 = 3;

pub fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name),
    )
    .unwrap()
}

/// The libbpf-based helper in tests/tools (attach, verified instructions),
/// built once per test process.
pub fn testload() -> &'static Path {
    static TOOL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TOOL.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/ksc-testload.c");
        let out = std::env::temp_dir().join(format!("ksc-testload-{}", std::process::id()));
        let (ok, _, err) = tool(
            "cc",
            &[
                "-O2",
                "-Wall",
                "-Wextra",
                src.to_str().unwrap(),
                "-lbpf",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert!(ok && err.is_empty(), "building ksc-testload: {err}");
        out
    })
}

impl Loaded {
    pub fn object(&self) -> PathBuf {
        let name = self
            .work
            .read_dir()
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "o"))
            .expect("an object file");
        name
    }
}
