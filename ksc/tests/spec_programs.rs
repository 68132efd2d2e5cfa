//! Every complete program of the spec that `ksc check` accepts must build:
//! ksc generates both sides, clang, bpftool and cc compile them, and the C
//! compilers do not warn. The few that do not yet are listed with the
//! reason, and the test fails when one of them starts to build (so the list
//! stays true) or when any other one stops.
//!
//! The executables are built, never run: the spec's programs attach to
//! `eth0`, this machine's own uplink.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Programs with a kernel module that builds: also built for Debian's
/// 6.12 (by `spec_kernel_modules_build`), with module BTF.
const KMOD: &[&str] = &[
    "21_kfunc_definitions",
    "22_kfunc_registration_names",
    "23_kfunc_kernel_integration",
    "28_private_functions",
    "29_private_call_hierarchy",
    "30_private_modularity",
    "31_private_security",
    "32_private_performance",
    "42_string_contexts",
];

/// Known failures, with why. Empty: an entry must name a limitation of this
/// machine's kernel, not a gap of ksc.
const KNOWN: &[(&str, &str)] = &[];

/// Known C warnings, with why.
const WARNS: &[&str] = &[
    "13_shared_pinned_local_vars", // an unused local of the spec's code
    "24_extern_kfuncs",            // `char *` vs `u8 *` for the spec's extern
    "25_extern_in_tc",             // the same
    "50_compound_assign_ebpf",     // a local set but never read, as written
];

#[test]
fn every_spec_program_that_checks_builds() {
    // Dev-dependency cdylibs land in target/<profile>/deps (built before
    // this test even on a clean checkout).
    let plugins = PathBuf::from(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../midend/tests/fixtures/spec");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .collect();
    files.sort();
    assert!(files.len() >= 75);
    let out = std::env::temp_dir().join(format!("ksc-spec-{}", std::process::id()));
    let mut problems = Vec::new();
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
            .arg("build")
            .arg(f)
            .arg("-o")
            .arg(out.join(&name))
            .env("KSC_PLUGIN_PATH", &plugins)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let warned = err
            .lines()
            .any(|l| l.contains(".c:") && l.contains("warning"));
        let known = KNOWN.iter().find(|k| k.0 == name);
        let outcome = match o.status.code() {
            Some(0) if known.is_some() => format!("{name}: builds now; take it off KNOWN"),
            Some(0) if warned != WARNS.contains(&name.as_str()) => {
                format!("{name}: C warnings changed (warned: {warned}); update WARNS:\n{err}")
            }
            Some(0) => continue,
            _ if known.is_some() => continue,
            code => format!("{name}: exit {code:?}\n{err}"),
        };
        problems.push(outcome);
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The spec's programs with a kernel module build it for Debian's 6.12
/// (headers, vmlinux and resolve_btfids prepared by ksc-qemu), and the
/// module has BTF (ksc checks its `.BTF` and `.BTF_ids` sections).
#[test]
fn spec_kernel_modules_build() {
    let plugins = PathBuf::from(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    ksc_testkit::require!(ksc_qemu::kernel_build_tree("6.12", &mut |_| {})
        .map_err(|e| format!("no build tree for Debian's 6.12: {e}")));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../midend/tests/fixtures/spec");
    let out = std::env::temp_dir().join(format!("ksc-spec-kmod-{}", std::process::id()));
    let mut problems = Vec::new();
    for name in KMOD {
        let o = Command::new(env!("CARGO_BIN_EXE_ksc"))
            .arg("build")
            .arg(dir.join(format!("{name}.ks")))
            .arg("-o")
            .arg(out.join(name))
            .arg("--kernel=6.12")
            .env("KSC_PLUGIN_PATH", &plugins)
            .output()
            .unwrap();
        let ko = out.join(name).join(format!("p{name}.ko"));
        if !o.status.success() || !ko.exists() {
            problems.push(format!(
                "{name}: {:?}\n{}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
