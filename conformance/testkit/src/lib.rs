//! What ksc's tests share: skips that cannot pass unnoticed, and the
//! kernel facilities (bpffs, tracefs, BTF) they need, mounted when missing;
//! and (`net`) a veth pair in a namespace of the test's own.
//!
//! A test that cannot run here (no kernel BTF, no tracefs and no right to
//! mount it) calls [`skip`] (or the [`require!`] macro) and returns. The
//! skip is printed as `skipped: <test>: <why>` even though the test
//! passes (cargo test hides a passing test's own output), and each test
//! binary ends with a count of its skips and their reasons. With
//! `KSC_TEST_NO_SKIP=1` (CI sets it) a skip fails the test instead: on a
//! machine set up by `.ci/setup`, everything must run.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

pub mod net;

static SKIPS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
}

/// At exit: how many tests of this binary were skipped, and why.
extern "C" fn summary() {
    let skips = SKIPS.lock().map(|s| s.clone()).unwrap_or_default();
    let mut why: Vec<(String, usize)> = vec![];
    for (_, w) in &skips {
        match why.iter_mut().find(|(x, _)| x == w) {
            Some(e) => e.1 += 1,
            None => why.push((w.clone(), 1)),
        }
    }
    let reasons: Vec<String> = why.iter().map(|(w, n)| format!("{n} × {w}")).collect();
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {} test{} of this binary ({})",
        skips.len(),
        if skips.len() == 1 { "" } else { "s" },
        reasons.join("; ")
    );
}

/// Records that the calling test cannot run here, and why; the caller
/// returns. Fails the test instead when `KSC_TEST_NO_SKIP` is set.
pub fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?").to_string();
    if std::env::var_os("KSC_TEST_NO_SKIP").is_some_and(|v| v != "0") {
        panic!("{test} cannot run here: {why} (KSC_TEST_NO_SKIP is set, so this fails instead of skipping)");
    }
    // Straight to the stream: `eprintln!` would be captured and hidden.
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
    let mut skips = SKIPS.lock().unwrap_or_else(|e| e.into_inner());
    if skips.is_empty() {
        // SAFETY: registers a plain function; atexit has no other contract.
        unsafe { atexit(summary) };
    }
    skips.push((test, why.to_string()));
}

/// `require!(testkit::tracefs())`: skip the test (and return) unless the
/// facility is there.
#[macro_export]
macro_rules! require {
    ($what:expr) => {
        if let Err(why) = $what {
            $crate::skip(&why);
            return;
        }
    };
}

const TRACEFS: &str = "/sys/kernel/tracing";
const BPFFS: &str = "/sys/fs/bpf";
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn mounted(dir: &str, fstype: &str) -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let mut f = l.split(' ');
            (f.nth(1), f.next()) == (Some(dir), Some(fstype))
        })
}

/// Mounts `fstype` at `dir` unless it is there; Err says what is missing.
fn ensure_mounted(dir: &str, fstype: &str) -> Result<(), String> {
    if mounted(dir, fstype) {
        return Ok(());
    }
    let o = std::process::Command::new("mount")
        .args(["-t", fstype, fstype, dir])
        .output();
    match o {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{fstype} is not mounted at {dir} and cannot be mounted here ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("{fstype} is not mounted at {dir} (mount: {e})")),
    }
}

/// tracefs at /sys/kernel/tracing (where the tests read trace events).
pub fn tracefs() -> Result<(), String> {
    ensure_mounted(TRACEFS, "tracefs")
}

/// bpffs at /sys/fs/bpf (where the tests pin programs and maps).
pub fn bpffs() -> Result<(), String> {
    ensure_mounted(BPFFS, "bpf")
}

/// The running kernel's BTF.
pub fn vmlinux_btf() -> Result<(), String> {
    if Path::new(VMLINUX).exists() {
        Ok(())
    } else {
        Err(format!(
            "{VMLINUX} is missing (a kernel built without CONFIG_DEBUG_INFO_BTF)"
        ))
    }
}

/// A program on the PATH.
pub fn command(name: &str) -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    if found {
        Ok(())
    } else {
        Err(format!("`{name}` is not installed"))
    }
}
