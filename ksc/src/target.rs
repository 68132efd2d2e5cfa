//! `--kernel K` as the kernel a program is checked for (docs/kernels.md):
//! K is a Debian label (`5.10`, `6.12`, `latest`), a release
//! (`5.10.0-32-amd64`), a kernel build tree (a directory) or a BTF file
//! (raw, or a `vmlinux` ELF). What is known of it is its release and,
//! where at hand, its BTF: a BTF file; a build tree's `vmlinux`; for a
//! label or release, a kernel in ksc's cache (`~/.cache/ksc/kernels`:
//! its build tree's `vmlinux` or its `-dbg` `vmlinux`); the running
//! kernel's `/sys/kernel/btf/vmlinux` for its own release. Nothing is
//! fetched: a label not in the cache is checked against the tables alone.

use std::path::{Path, PathBuf};

use ksc_ir::kernels::Release;
use ksc_midend::btf::Btf;
use ksc_midend::kernels::TargetKernel;

/// Is `s` a kernel label (`6.12`, `latest`)? ksc-qemu's rule, which
/// fetches them.
pub(crate) fn is_label(s: &str) -> bool {
    ksc_qemu::is_label(s)
}

/// The kernel `spec` names, for checking.
pub(crate) fn resolve(spec: &str) -> Result<TargetKernel, String> {
    let path = Path::new(spec);
    if path.is_dir() {
        let release = tree_release(path);
        let btf = [path.join("vmlinux")]
            .into_iter()
            .find(|p| p.is_file())
            .and_then(|p| Btf::load_raw_or_elf(&p).ok());
        return Ok(TargetKernel {
            name: match &release {
                Some(r) => r.clone(),
                None => format!("the kernel of {spec}"),
            },
            release: release.as_deref().and_then(Release::parse),
            btf,
        });
    }
    if path.is_file() {
        let btf = Btf::load_raw_or_elf(path)
            .map_err(|e| format!("`--kernel {spec}` is neither a build tree nor BTF: {e}"))?;
        return Ok(TargetKernel {
            name: format!("the kernel of {spec}"),
            release: None,
            btf: Some(btf),
        });
    }
    if is_label(spec) {
        let cached = cached(|label, _| label == spec);
        let release = if spec == "latest" {
            cached.as_ref().and_then(|(r, _)| Release::parse(r))
        } else {
            Release::parse(spec)
        };
        let btf = cached.and_then(|(_, dir)| btf_in(&dir));
        if release.is_none() && btf.is_none() {
            eprintln!(
                "warning: kernel `{spec}` is not in ksc's cache ({}): the program is not checked against it (`ksc test --kernel {spec}` fetches it)",
                ksc_qemu::cache_dir().display()
            );
        }
        return Ok(TargetKernel {
            name: spec.to_string(),
            release,
            btf,
        });
    }
    let Some(release) = Release::parse(spec) else {
        return Err(format!(
            "`--kernel {spec}` names no kernel: give a label (5.10, 6.1, 6.12, 7.2, latest), a release (5.10.0-32-amd64), a build tree or a BTF file"
        ));
    };
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let btf = if running.trim() == spec {
        Btf::load_vmlinux().ok()
    } else {
        cached(|_, r| r == spec)
            .and_then(|(_, dir)| btf_in(&dir))
            .or_else(|| {
                [
                    format!("/lib/modules/{spec}/build/vmlinux"),
                    format!("/usr/lib/debug/boot/vmlinux-{spec}"),
                    format!("/boot/vmlinux-{spec}"),
                ]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .and_then(|p| Btf::load_raw_or_elf(&p).ok())
            })
    };
    Ok(TargetKernel {
        name: spec.to_string(),
        release: Some(release),
        btf,
    })
}

/// The release a build tree is for (`include/generated/utsrelease.h`,
/// else `include/config/kernel.release`).
fn tree_release(kdir: &Path) -> Option<String> {
    if let Ok(h) = std::fs::read_to_string(kdir.join("include/generated/utsrelease.h")) {
        if let Some(r) = h.split('"').nth(1) {
            return Some(r.to_string());
        }
    }
    std::fs::read_to_string(kdir.join("include/config/kernel.release"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The newest cached kernel whose (label, release) `want` accepts: its
/// release and directory.
fn cached(want: impl Fn(&str, &str) -> bool) -> Option<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(ksc_qemu::cache_dir())
        .ok()?
        .flatten()
        .filter_map(|e| {
            let dir = e.path();
            let label = std::fs::read_to_string(dir.join("label")).ok()?;
            let release = e.file_name().to_string_lossy().into_owned();
            (dir.join("complete").exists() && want(label.trim(), &release))
                .then_some((release, dir))
        })
        .collect();
    found.sort_by_key(|(r, _)| release_key(r));
    found.pop()
}

/// Sorts releases by their numbers (`6.12.118` after `6.12.9`).
fn release_key(r: &str) -> Vec<u64> {
    r.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// A cached kernel's BTF: the `vmlinux` of its build tree or of its
/// debug package, wherever under its directory (its modules aside).
fn btf_in(dir: &Path) -> Option<Btf> {
    fn walk(d: &Path, depth: u32, out: &mut Vec<PathBuf>) {
        if depth > 7 {
            return;
        }
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            match e.file_type() {
                Ok(t) if t.is_dir() && name != "modules" => walk(&p, depth + 1, out),
                Ok(t) if t.is_file() && (name == "vmlinux" || name.starts_with("vmlinux-")) => {
                    out.push(p)
                }
                _ => {}
            }
        }
    }
    // Where ksc-qemu prepares the build tree, before looking anywhere.
    let release = dir.file_name()?.to_string_lossy().into_owned();
    let tree = dir.join(format!(
        "kbuild/root/usr/src/linux-headers-{release}/vmlinux"
    ));
    if let Ok(b) = Btf::load_raw_or_elf(&tree) {
        return Some(b);
    }
    let mut found = vec![];
    walk(dir, 0, &mut found);
    found.iter().find_map(|p| Btf::load_raw_or_elf(p).ok())
}
