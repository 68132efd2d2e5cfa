//! Boots Debian's own kernels under qemu with a batch of files and a shell
//! script, and returns what the script wrote.
//!
//! The conformance runner uses it to run eBPF programs on the kernels
//! ksc supports rather than only on the host's. [`fetch`] brings a kernel
//! (a Debian package) into the cache; [`boot`] builds an initramfs for a
//! [`Guest`], boots the kernel on it with qemu's software emulation
//! (`-accel tcg`: no KVM needed) and collects the results.
//!
//! # The guest
//! An initramfs (a newc cpio, written by this crate) holding:
//! - `/bin/busybox` (Debian's `busybox`, with its libraries) and its
//!   applets, linked by `/init` at boot. Not `busybox-static` when a
//!   program shares a name with an applet (`ip`, `tc`): that build runs
//!   its own applet before anything on `PATH` (see [`Error::Missing`]);
//! - `/init`, which mounts proc, sysfs, devtmpfs, devpts, tmpfs on `/tmp`
//!   and `/run` (with `/run/netns`; `/var/run` links to `/run`), bpffs on
//!   `/sys/fs/bpf`, tracefs on `/sys/kernel/tracing` and debugfs; raises
//!   the locked-memory limit; loads the modules; brings `lo` up; runs the
//!   script; powers off;
//! - the script, `/ksc/script`, run by busybox `sh` in `/` with stdin
//!   from `/dev/null`, stdout and stderr on the console, and `KSC_OUT`
//!   naming the results channel (a virtio-serial port, `/dev/vportNpM`:
//!   what is written there arrives byte for byte in
//!   [`Outcome::output`]);
//! - each of [`Guest::programs`] in `/usr/bin` (first on `PATH`, before
//!   busybox's applets of the same name), with the shared libraries and
//!   dynamic loader `ldd` names, at their host paths;
//! - each of [`Guest::modules`] and the modules it depends on, in
//!   `/ksc/modules` (decompressed on the host), loaded in order;
//! - [`Guest::files`] at the guest paths given (directories recursively,
//!   permission bits kept).
//!
//! qemu's character devices are all files on the host: ttyS0 is the
//! console ([`Outcome::console`]); ttyS1 `/init`'s progress, from which
//! the host tells a kernel that never ran `/init` ([`Error::NoBoot`])
//! from a guest that died under the script ([`Error::Died`]); the
//! virtio-serial port `ksc.out` the results (`virtio_pci` and
//! `virtio_console` are loaded for it where they are modules; it moves
//! megabytes a second where a 16550 under emulation moves 30 KB). Should
//! a kernel lack it, `/init` says so on the console and `KSC_OUT` is
//! ttyS2 (raw mode) instead. The machine has no network device
//! (`-nodefaults`): the guest's only interfaces are `lo` and what the
//! script creates.
//!
//! Boot time (software emulation, one CPU): about 8 s from starting qemu
//! to the script on an idle host, of which the kernel takes 5 and
//! `/init` 1.5; more when the host is busy.
//!
//! `$KSC_QEMU_CMDLINE` is appended to the kernel's command line
//! (`loglevel=7` shows every kernel message on the console).
//!
//! # The cache
//! [`cache_dir`]: `$KSC_KERNEL_CACHE`, else `~/.cache/ksc/kernels`. One
//! directory per kernel release (`6.1.0-57-amd64/`), holding
//! `boot/vmlinuz-<release>` and `lib/modules/<release>/` as unpacked from
//! the `.deb` (which is deleted), less the drivers for hardware a guest
//! never has: 117 MB for 5.10, 140 MB for 6.1, 46 MB for 6.12, 52 MB for 7.2 (the last two xz-compress their modules);
//! the private apt list adds 55 MB. A newer package of the same label
//! replaces the older one when fetched.
//!
//! # Kernel labels
//! A label is `MAJOR.MINOR` (`5.10`, `6.1`, `6.12`, `7.2`) or `latest`.
//! [`fetch`] takes the newest package named
//! `linux-image-<label>.*-amd64-unsigned` or `...-amd64` (not `-cloud`,
//! `-rt`, `-dbg`) that apt knows: first from the machine's own apt sources
//! (bookworm has 6.1, and 6.12 in its security and point releases), then
//! from a private list of Debian's bullseye (5.10) and sid (the newest
//! kernel: 7.2 today) kept in `<cache>/.apt` and read with apt's
//! `Dir::Etc::sourcelist`/`Dir::State::Lists`/`Dir::Cache` options, so
//! the machine's sources never change. sid's image package is empty and
//! depends on `linux-binary-*`, `linux-modules-*` and `linux-base-*`
//! (installed under `/usr/lib/modules`): those are fetched and laid out as
//! bookworm's. `latest` is the newest kernel of all (the private list is
//! refreshed when a day old) and is fetched under its own label
//! ([`Kernel::label`] says which). No debug (`-dbg`) package is needed:
//! the module build tree takes `vmlinux` from the image (see
//! [`kernel_build_tree`]).

mod apt;
mod fetch;
mod initramfs;

pub use fetch::{is_label, version_cmp};
mod kbuild;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A kernel ready to boot: Debian's image and its modules, unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// What it was fetched as: `5.10`, `6.1`, `6.12`, `7.2` (`latest`
    /// resolves to the label of the newest kernel).
    pub label: String,
    /// Its `uname -r`: `6.1.0-57-amd64`.
    pub release: String,
    /// The bootable image.
    pub vmlinuz: PathBuf,
    /// `.../lib/modules/<release>`.
    pub modules: PathBuf,
}

/// Where fetched kernels are kept: `$KSC_KERNEL_CACHE`, else
/// `$HOME/.cache/ksc/kernels` (outside any repository).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KSC_KERNEL_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/ksc/kernels")
}

/// The kernel for `label` (`"5.10"`, `"6.1"`, `"6.12"`, `"7.2"`,
/// `"latest"`): the newest `linux-image-<label>.*-amd64[-unsigned]` apt
/// knows (see the crate's "Kernel labels"; lists are updated when they
/// have none), downloaded and unpacked into
/// [`cache_dir`], or the copy already there. `progress` hears what is
/// being done, a line at a time. Without apt, the newest kernel cached
/// for the label serves.
pub fn fetch(label: &str, progress: &mut dyn FnMut(&str)) -> Result<Kernel, Error> {
    fetch::fetch(label, progress)
}

/// A build tree (`KDIR`) for out-of-tree modules of the kernel for
/// `label`, one that makes module BTF: Debian's headers and kbuild
/// packages, the kernel's `vmlinux` (taken out of its image) and
/// `resolve_btfids` (built once from `linux-source-<label>` when Debian's
/// kbuild package lacks it), kept beside the kernel in the cache. Needs
/// `pahole` (dwarves) on the host. Callers may run side by side (tests,
/// builds): one prepares the tree under `kbuild.lock`, the others wait
/// for it.
pub fn kernel_build_tree(
    label: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(Kernel, PathBuf), Error> {
    let kernel = fetch(label, progress)?;
    let kdir = kbuild::build_tree(&kernel, progress)?;
    Ok((kernel, kdir))
}

/// The kernel module `ksc build` wrote into `out` (`<stem>.mod.c` and
/// `kmod/` with its Kbuild and Makefile) copied into `dir` (emptied
/// first), ready for `make -C dir/kmod KDIR=<the returned tree>` against
/// kernel `label` ([`kernel_build_tree`]). The Makefile leaves `<stem>.ko`
/// in `dir` and the module itself in `dir/kmod`.
pub fn module_build_dir(
    label: &str,
    out: &Path,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, String> {
    let (_, kdir) = kernel_build_tree(label, progress).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("kmod")).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(out.join("kmod"))
        .map_err(|e| e.to_string())?
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_file())
            && matches!(e.file_name().to_str(), Some("Kbuild" | "Makefile"))
        {
            std::fs::copy(e.path(), dir.join("kmod").join(e.file_name()))
                .map_err(|e| e.to_string())?;
        }
    }
    // The module's sources sit beside `kmod/` (`<stem>.mod.c`).
    for e in std::fs::read_dir(out).map_err(|e| e.to_string())?.flatten() {
        if e.file_name().to_string_lossy().ends_with(".mod.c") {
            std::fs::copy(e.path(), dir.join(e.file_name())).map_err(|e| e.to_string())?;
        }
    }
    Ok(kdir)
}

/// What to boot the kernel with.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Host file or directory -> absolute guest path.
    pub files: Vec<(PathBuf, String)>,
    /// Host programs (names looked up on the search path, or paths),
    /// copied to `/usr/bin` with every shared library they need:
    /// `"bpftool"`, `"ip"`.
    pub programs: Vec<String>,
    /// Kernel modules to load, with what they depend on: `"veth"`.
    /// One built into the kernel is skipped. The guest kernel cannot load
    /// modules on demand (it has no modprobe): name all the script needs,
    /// e.g. `"sch_ingress"` (clsact) and `"cls_bpf"` to attach TC
    /// programs, which Debian builds as modules.
    pub modules: Vec<String>,
    /// The shell script `/init` runs (busybox `sh`); it writes its
    /// results to the file named by `$KSC_OUT`.
    pub script: String,
    /// How long the whole boot may take, from starting qemu to its exit.
    pub timeout: Duration,
    /// The guest's memory; the initramfs lives in it.
    pub memory_mb: u32,
    /// Where to look for qemu, busybox and [`Guest::programs`]:
    /// `None` is `$PATH` followed by `/usr/local/sbin:/usr/sbin:/sbin`.
    pub search_path: Option<OsString>,
}

impl Default for Guest {
    /// No files, programs or modules; an empty script; 5 minutes; 512 MB.
    fn default() -> Self {
        Guest {
            files: vec![],
            programs: vec![],
            modules: vec![],
            script: String::new(),
            timeout: Duration::from_secs(300),
            memory_mb: 512,
            search_path: None,
        }
    }
}

/// What a boot that ran the script to its end gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the script wrote to `$KSC_OUT`.
    pub output: String,
    /// The script's exit status.
    pub status: i32,
    /// Everything on the console (kernel messages, the script's stdout
    /// and stderr).
    pub console: String,
    /// From starting qemu to its exit.
    pub elapsed: Duration,
}

/// Why a kernel could not be fetched or booted. Each says what happened
/// in plain words (`Display`).
#[derive(Debug)]
pub enum Error {
    /// A host tool is not installed.
    Missing {
        /// The tool: `qemu-system-x86_64`.
        what: String,
        /// How to get it: `apt-get install qemu-system-x86`.
        install: String,
    },
    /// The kernel package could not be found, downloaded or unpacked.
    Fetch(String),
    /// The host's toolchain cannot build modules for the kernel (its
    /// compiler, or its build tools' C library, is newer than the host's).
    Toolchain(String),
    /// The guest could not be put together: a file, a module or a
    /// library is missing, the initramfs could not be written.
    Setup(String),
    /// qemu stopped before the guest ran `/init`: the kernel did not boot
    /// (or qemu itself failed).
    NoBoot {
        /// The console's last lines, then what qemu printed.
        console_tail: String,
    },
    /// The guest ran `/init` but stopped before the script ended (a
    /// kernel panic, say).
    Died {
        /// The console's last lines.
        console_tail: String,
        /// What the script had written to `$KSC_OUT` by then.
        output: String,
    },
    /// The guest had not powered off when the time was up; qemu was
    /// killed.
    Timeout {
        /// [`Guest::timeout`].
        after: Duration,
        /// The console's last lines.
        console_tail: String,
        /// What the script had written to `$KSC_OUT` by then.
        output: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing { what, install } => write!(f, "{what} is not installed (to install it: {install})"),
            Error::Fetch(why) => write!(f, "cannot fetch the kernel: {why}"),
            Error::Toolchain(why) => write!(f, "this machine cannot build modules for the kernel: {why}"),
            Error::Setup(why) => write!(f, "cannot prepare the guest: {why}"),
            Error::NoBoot { console_tail } => {
                write!(f, "the kernel did not boot; the console's last lines:\n{console_tail}")
            }
            Error::Died { console_tail, .. } => {
                write!(f, "the guest stopped before the script ended; the console's last lines:\n{console_tail}")
            }
            Error::Timeout { after, console_tail, .. } => write!(
                f,
                "the guest was still running after {}s and was stopped; the console's last lines:\n{console_tail}",
                after.as_secs()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// How many console lines an error carries.
const TAIL_LINES: usize = 30;

/// Kills qemu (and reaps it) whatever happens to the caller.
struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A scratch directory, deleted when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Result<Scratch, Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ksc-qemu-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Setup(format!("cannot create {}: {e}", dir.display())))?;
    Ok(Scratch(dir))
}

/// Boots `kernel` with `guest` under qemu and waits for the guest to power
/// off (at most [`Guest::timeout`]; qemu is always stopped on return).
/// The script's exit status does not make an error: see
/// [`Outcome::status`].
pub fn boot(kernel: &Kernel, guest: &Guest) -> Result<Outcome, Error> {
    let search = match &guest.search_path {
        Some(p) => p.clone(),
        None => {
            let mut p = std::env::var_os("PATH").unwrap_or_default();
            p.push(":/usr/local/sbin:/usr/sbin:/sbin");
            p
        }
    };
    let qemu = initramfs::which("qemu-system-x86_64", &search).ok_or_else(|| Error::Missing {
        what: "qemu-system-x86_64".into(),
        install: "apt-get install qemu-system-x86".into(),
    })?;
    let dir = scratch()?;
    let initrd = dir.0.join("initramfs.cpio");
    initramfs::build(kernel, guest, &search)?.write(&initrd)?;
    let (console, output, status, fallback, qemu_log) = (
        dir.0.join("console"),
        dir.0.join("output"),
        dir.0.join("status"),
        dir.0.join("output.serial"),
        dir.0.join("qemu.log"),
    );
    let log = std::fs::File::create(&qemu_log)
        .map_err(|e| Error::Setup(format!("{}: {e}", qemu_log.display())))?;
    let log2 = log.try_clone().map_err(|e| Error::Setup(e.to_string()))?;
    let serial = |p: &PathBuf| format!("file:{}", p.display());
    let start = Instant::now();
    let child = Command::new(&qemu)
        .args(["-accel", "tcg", "-cpu", "max", "-smp", "1", "-m"])
        .arg(guest.memory_mb.to_string())
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
        ])
        .args([
            "-serial",
            &serial(&console),
            "-serial",
            &serial(&status),
            "-serial",
            &serial(&fallback),
        ])
        .args(["-device", "virtio-serial-pci,id=vs", "-chardev"])
        .arg(format!("file,id=out,path={}", output.display()))
        .arg("-device")
        .arg(format!(
            "virtserialport,bus=vs.0,chardev=out,name={}",
            initramfs::CHANNEL
        ))
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(cmdline())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| Error::Setup(format!("cannot start {}: {e}", qemu.display())))?;
    let mut child = Reaper(child);
    let exited = loop {
        match child.0.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if start.elapsed() >= guest.timeout => break false,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(Error::Setup(format!("waiting for qemu: {e}"))),
        }
    };
    drop(child);
    let elapsed = start.elapsed();
    let read =
        |p: &PathBuf| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let (console, status, qemu_log) = (read(&console), read(&status), read(&qemu_log));
    // One of the two is empty.
    let output = read(&output) + &read(&fallback);
    let console_tail = tail(&console, TAIL_LINES);
    if !exited {
        return Err(Error::Timeout {
            after: guest.timeout,
            console_tail,
            output,
        });
    }
    let exit = status
        .lines()
        .find_map(|l| l.strip_prefix("exit "))
        .and_then(|s| s.trim().parse().ok());
    match exit {
        Some(status) => Ok(Outcome {
            output,
            status,
            console,
            elapsed,
        }),
        None if status.lines().any(|l| l == "started") => Err(Error::Died {
            console_tail,
            output,
        }),
        None => {
            let mut console_tail = console_tail;
            if !qemu_log.trim().is_empty() {
                console_tail.push_str("\nqemu: ");
                console_tail.push_str(qemu_log.trim());
            }
            Err(Error::NoBoot { console_tail })
        }
    }
}

/// The kernel's command line: the console on ttyS0, few messages, reboot
/// (so qemu exits: `-no-reboot`) on a panic; `$KSC_QEMU_CMDLINE`
/// appended (e.g. `loglevel=7` to see every message while debugging).
fn cmdline() -> String {
    let mut line = String::from("console=ttyS0 quiet panic=-1 rdinit=/init mitigations=off");
    if let Some(extra) = std::env::var_os("KSC_QEMU_CMDLINE") {
        line.push(' ');
        line.push_str(&extra.to_string_lossy());
    }
    line
}

/// The last `n` lines of `text`; when a kernel crash report starts
/// before them, its first line, then `[...]`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let crash = [
        "Kernel panic",
        "BUG:",
        "Oops:",
        "general protection fault",
        "WARNING:",
    ];
    let first = lines
        .iter()
        .position(|l| crash.iter().any(|c| l.contains(c)));
    match first {
        Some(i) if i < start => format!("{}\n[...]\n{}", lines[i], lines[start..].join("\n")),
        _ => lines[start..].join("\n"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tail_keeps_the_crash_line() {
        let text: String =
            std::iter::once("[ 1.0] Kernel panic - not syncing: sysrq triggered crash".to_string())
                .chain((0..40).map(|i| format!("line {i}")))
                .collect::<Vec<_>>()
                .join("\n");
        let t = super::tail(&text, 30);
        assert!(t.starts_with("[ 1.0] Kernel panic"), "{t}");
        assert!(t.ends_with("line 39"));
        assert_eq!(t.lines().count(), 32);
        assert_eq!(super::tail("a\nb", 30), "a\nb");
    }
}
