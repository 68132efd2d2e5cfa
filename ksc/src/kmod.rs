//! Building a program's kernel module (the `kmod-c` backend's `kmod/`)
//! against a chosen kernel: `--kernel` / `$KSC_KERNEL`, else the running
//! kernel. The value is a kernel build tree (a directory), a release
//! whose `/lib/modules/<release>/build` exists, or a Debian kernel label
//! (`6.1`, `6.12`) whose build tree ksc prepares in its cache (headers,
//! vmlinux, resolve_btfids: see ksc-qemu). The module is good only with
//! module BTF: its `.BTF` and `.BTF_ids` sections are checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ksc_frontend::Diagnostic;

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
    if chosen && ksc_qemu::is_label(&value) {
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
/// headers absent: the rest of the build is still useful). Located
/// diagnostics (a kernel function the chosen kernel lacks, a kfunc call
/// it will refuse) go to `report`.
pub(crate) fn build(
    out: &Path,
    module: &ksc_ir::Module,
    kernel: Option<&str>,
    report: &mut dyn FnMut(&[Diagnostic]),
) -> Result<(), String> {
    let name = &module.name;
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
    let o = Command::new("make")
        .arg("-C")
        .arg(&kmod)
        .arg(format!("KDIR={}", c.kdir.display()))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    eprint!("{text}");
    if !o.status.success() {
        report(&missing_kernel_functions(module, &c, &text));
        return Err(format!(
            "building the kernel module against {} failed (make -C {} exited with {})",
            c.what,
            kmod.display(),
            o.status
        ));
    }
    let ko = out.join(format!("{name}.ko"));
    check_btf(&ko)?;
    eprintln!("built {} for {}", ko.display(), c.what);
    if let Some(version) = tree_version(&c.kdir) {
        report(&kfunc_calls_refused(module, version, &c.what));
    }
    Ok(())
}

/// The `(major, minor)` version of the kernel a build tree is for, from
/// its `include/generated/utsrelease.h`.
fn tree_version(kdir: &Path) -> Option<(u32, u32)> {
    let h = std::fs::read_to_string(kdir.join("include/generated/utsrelease.h")).ok()?;
    let release = h.split('"').nth(1)?;
    let mut n = release.split(|ch: char| !ch.is_ascii_digit());
    Some((n.next()?.parse().ok()?, n.next()?.parse().ok()?))
}

/// Warnings for the kfunc calls of programs whose type the chosen kernel
/// does not let call kfuncs (its verifier refuses them: "calling kernel
/// function ... is not allowed"). XDP, TC, LSM and struct_ops programs
/// may on every kernel ksc builds modules for; kprobes since 6.10 (the
/// kfunc hook for BPF_PROG_TYPE_KPROBE), tracepoints and perf events
/// since 6.12.
/// (docs/language.md, "Which programs may call a `@kfunc`").
fn kfunc_calls_refused(
    module: &ksc_ir::Module,
    version: (u32, u32),
    what: &str,
) -> Vec<Diagnostic> {
    use ksc_ir::{FnKind, ProgramKind};
    let mut out = vec![];
    for (id, call) in module.kfunc_callers() {
        let FnKind::Program(p) = &module.function(id).kind else {
            continue;
        };
        let kind = p.kind();
        let since = match kind {
            ProgramKind::Probe => (6, 10),
            // The same kernel gave perf_event programs the tracing kfunc hook.
            ProgramKind::Tracepoint | ProgramKind::PerfEvent => (6, 12),
            _ => continue,
        };
        if version < since {
            out.push(
                Diagnostic::warning(
                    ksc_frontend::diag::codes::TOO_OLD_WARN,
                    call,
                    format!(
                        "{what} does not let {kind} programs call kfuncs (Linux {}.{} and later do): its verifier will refuse this call in `{}`",
                        since.0,
                        since.1,
                        module.function(id).name
                    ),
                )
                .with_note("call the kfunc from an XDP, TC, LSM or struct_ops program, or build for a newer kernel"),
            );
        }
    }
    out
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

/// After a failed module build: each `extern` kernel function the C
/// compiler found undeclared, as an error at its declaration saying
/// whether the kernel exports it to modules at all (`Module.symvers`).
fn missing_kernel_functions(
    module: &ksc_ir::Module,
    c: &Choice,
    make_output: &str,
) -> Vec<Diagnostic> {
    use ksc_ir::FnKind;
    let symvers = std::fs::read_to_string(c.kdir.join("Module.symvers")).unwrap_or_default();
    let exported = |n: &str| symvers.lines().any(|l| l.split('\t').nth(1) == Some(n));
    let mut seen = std::collections::BTreeSet::new();
    let mut out = vec![];
    for line in make_output.lines() {
        let Some(rest) = line.split("implicit declaration of function ").nth(1) else {
            continue;
        };
        let name: String = rest
            .trim_start_matches(['\'', '`', '\u{2018}'])
            .chars()
            .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            .collect();
        let Some(f) = module
            .functions
            .iter()
            .find(|f| f.name == name && f.kind == (FnKind::Extern { helper: None }))
        else {
            continue;
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let why = if exported(&name) {
            "it is exported, but none of the headers the module includes declares it"
        } else {
            "its headers do not declare it and it does not export it to modules"
        };
        out.push(Diagnostic::error(
            ksc_frontend::diag::codes::NOT_IN_KERNEL,
            f.span,
            format!(
                "kernel function `{name}` does not exist for modules in {}: {why}",
                c.what
            ),
        ));
    }
    out
}
