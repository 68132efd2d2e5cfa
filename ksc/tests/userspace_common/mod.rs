//! What the userspace tests (`userspace_*.rs`) share: `ksc build` with this
//! build's plugins, running what it built, and a veth pair in a network
//! namespace of the test's own (never the machine's interfaces).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
// Not every test file that includes this module uses both.
#[allow(unused_imports)]
pub use ksc_testkit::net::{sh, Veth};

pub static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn plugin_dir() -> PathBuf {
    // Dev-dependency cdylibs land in target/<profile>/deps.
    Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps")
}

/// `ksc build` the source; returns the path of the executable.
pub fn build(name: &str, src: &str) -> PathBuf {
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
pub fn ksc(command: &str, file: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksc"))
        .arg(command)
        .arg(file)
        .arg("-o")
        .arg(out)
        .env("KSC_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap()
}

pub fn run(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// How many tcx links process `pid` holds (from its fds' fdinfo).
pub fn tcx_links_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .filter(|info| info.contains("link_type:\ttcx"))
                .count()
        })
        .unwrap_or(0)
}

/// Is the running kernel at least `major.minor`?
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}
