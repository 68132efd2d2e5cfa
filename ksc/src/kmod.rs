//! Building a program's kernel module (the `kmod-c` backend's `kmod/`)
//! against a chosen kernel: `--kernel` / `$KSC_KERNEL`, else the running
//! kernel. The value is a kernel build tree (a directory), a release
//! whose `/lib/modules/<release>/build` exists, or a Debian kernel label
//! (`6.1`, `6.12`) whose build tree ksc prepares in its cache (headers,
//! vmlinux, resolve_btfids: see ksc-qemu). The module is good only with
//! module BTF: its `.BTF` and `.BTF_ids` sections are checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the module is built against, and whether the user chose it.
struct Choice {
    kdir: PathBuf,
    what: String,
    chosen: bool,
}

fn running_release() -> String {
    Command::new("uname")
        .arg("-r")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn is_label(s: &str) -> bool {
    let mut p = s.split('.');
    let num =
        |x: Option<&str>| x.is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()));
    num(p.next()) && num(p.next()) && p.next().is_none()
}

fn choose(kernel: Option<&str>) -> Result<Choice, String> {
    let env = std::env::var("KSC_KERNEL").ok().filter(|s| !s.is_empty());
    let (value, chosen) = match kernel.map(str::to_string).or(env) {
        Some(v) => (v, true),
        None => (running_release(), false),
    };
    let path = Path::new(&value);
    if path.is_dir() {
        return Ok(Choice {
            kdir: path.to_path_buf(),
            what: format!("the directory {value}"),
            chosen,
        });
    }
    if chosen && is_label(&value) {
        let mut say = |m: &str| eprintln!("{m}");
        let (k, kdir) = ksc_qemu::kernel_build_tree(&value, &mut say)
            .map_err(|e| format!("cannot prepare a build tree for kernel {value}: {e}"))?;
        return Ok(Choice {
            kdir,
            what: format!("Debian's kernel {}", k.release),
            chosen,
        });
    }
    let kdir = PathBuf::from(format!("/lib/modules/{value}/build"));
    Ok(Choice {
        what: format!("kernel {value}"),
        kdir,
        chosen,
    })
}

/// Builds `<name>.ko` in `out` when the backends wrote `kmod/`. Ok(())
/// also when the module was skipped with a warning (the running kernel's
/// headers absent: the rest of the build is still useful).
pub(crate) fn build(out: &Path, name: &str, kernel: Option<&str>) -> Result<(), String> {
    let kmod = out.join("kmod");
    if !kmod.join("Makefile").exists() {
        return Ok(());
    }
    let c = choose(kernel)?;
    let running = !c.chosen;
    if running && !Path::new("/proc/modules").exists() {
        eprintln!(
            "warning: the kernel module of `{name}` was not built: this kernel ({}) cannot load modules (built without CONFIG_MODULES), and its @kfunc functions need one; build for another kernel with --kernel RELEASE|DIR|LABEL (or $KSC_KERNEL), e.g. --kernel 6.12",
            running_release()
        );
        return Ok(());
    }
    if !c.kdir.join("Makefile").exists() {
        let msg = format!(
            "no kernel build tree for {} (nothing at {}): install its headers (Debian: apt-get install linux-headers-<release>), or choose a kernel with --kernel RELEASE|DIR|LABEL (or $KSC_KERNEL; a label such as 6.1 or 6.12 makes ksc fetch Debian's)",
            c.what,
            c.kdir.display()
        );
        if c.chosen {
            return Err(msg);
        }
        eprintln!("warning: the kernel module of `{name}` was not built: {msg}");
        return Ok(());
    }
    // Without these the module builds but has no BTF: its kfuncs could
    // not be registered.
    let mut missing = vec![];
    if !c.kdir.join("vmlinux").exists() {
        missing.push(format!("{}/vmlinux (the kernel's BTF)", c.kdir.display()));
    }
    if !Command::new("pahole")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing.push("pahole (apt-get install dwarves)".into());
    }
    if !c
        .kdir
        .join("tools/bpf/resolve_btfids/resolve_btfids")
        .exists()
    {
        missing.push(format!(
            "{}/tools/bpf/resolve_btfids/resolve_btfids",
            c.kdir.display()
        ));
    }
    if !missing.is_empty() {
        return Err(format!(
            "{} cannot make module BTF, which kfuncs need: missing {}; a Debian label (--kernel 6.1) makes ksc prepare a complete tree",
            c.what,
            missing.join(", ")
        ));
    }
    let stderr = std::io::stderr();
    let status = Command::new("make")
        .arg("-C")
        .arg(&kmod)
        .arg(format!("KDIR={}", c.kdir.display()))
        .stdin(Stdio::null())
        .stdout(
            std::os::fd::AsFd::as_fd(&stderr)
                .try_clone_to_owned()
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        )
        .status()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the kernel module against {} failed (make -C {} exited with {status})",
            c.what,
            kmod.display()
        ));
    }
    let ko = out.join(format!("{name}.ko"));
    check_btf(&ko)?;
    eprintln!("built {} for {}", ko.display(), c.what);
    Ok(())
}

/// The module has BTF (`.BTF`) and its kfunc set was resolved
/// (`.BTF_ids`).
pub(crate) fn check_btf(ko: &Path) -> Result<(), String> {
    let bytes = std::fs::read(ko).map_err(|e| format!("{}: {e}", ko.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| format!("{}: {e}", ko.display()))?;
    let has = |n: &str| {
        elf.section_headers
            .iter()
            .any(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(n))
    };
    for s in [".BTF", ".BTF_ids"] {
        if !has(s) {
            return Err(format!(
                "{} has no {s} section: the kernel would not register its kfuncs (the build tree lacks vmlinux, pahole or resolve_btfids)",
                ko.display()
            ));
        }
    }
    Ok(())
}
