//! The guest's root file system: a newc cpio archive, written here
//! (uncompressed: the kernel reads it as is, and compressing costs more
//! host time than qemu saves loading it).

use crate::{Error, Guest, Kernel};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file of the archive.
enum Entry {
    Dir,
    /// Contents from a host file, with this mode's permission bits.
    Host(PathBuf, u32),
    Bytes(Vec<u8>, u32),
    Symlink(String),
    CharDev(u32, u32),
}

/// The archive's contents, by absolute guest path.
#[derive(Default)]
pub(crate) struct Tree {
    entries: BTreeMap<String, Entry>,
}

impl Tree {
    fn dir(&mut self, path: &str) {
        let mut at = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at.push('/');
            at.push_str(part);
            self.entries.entry(at.clone()).or_insert(Entry::Dir);
        }
    }

    fn put(&mut self, path: &str, entry: Entry) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entries.insert(path.to_string(), entry);
    }

    /// Writes the archive; parents sort before their children.
    pub(crate) fn write(&self, to: &Path) -> Result<(), Error> {
        let io = |e: std::io::Error| {
            Error::Setup(format!("cannot write the initramfs {}: {e}", to.display()))
        };
        let file = std::fs::File::create(to).map_err(io)?;
        let mut w = Cpio {
            out: BufWriter::new(file),
            ino: 1,
        };
        for (path, entry) in &self.entries {
            let name = &path[1..];
            match entry {
                Entry::Dir => w.entry(name, 0o040755, 0, &[]).map_err(io)?,
                Entry::Symlink(target) => {
                    w.entry(name, 0o120777, 0, target.as_bytes()).map_err(io)?
                }
                Entry::CharDev(major, minor) => w
                    .entry(name, 0o020600, (*major << 8) | *minor, &[])
                    .map_err(io)?,
                Entry::Bytes(data, mode) => w.entry(name, 0o100000 | mode, 0, data).map_err(io)?,
                Entry::Host(src, mode) => {
                    let data = std::fs::read(src)
                        .map_err(|e| Error::Setup(format!("cannot read {}: {e}", src.display())))?;
                    w.entry(name, 0o100000 | mode, 0, &data).map_err(io)?
                }
            }
        }
        w.entry("TRAILER!!!", 0, 0, &[]).map_err(io)?;
        w.out.flush().map_err(io)
    }
}

/// A newc ("070701") cpio writer.
struct Cpio<W: Write> {
    out: W,
    ino: u32,
}

impl<W: Write> Cpio<W> {
    /// `rdev` is `major << 8 | minor` for a device node.
    fn entry(&mut self, name: &str, mode: u32, rdev: u32, data: &[u8]) -> std::io::Result<()> {
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0, // mtime
            data.len(),
            0,
            0,
            rdev >> 8,
            rdev & 0xff,
            name.len() + 1,
            0,
        );
        self.ino += 1;
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(110 + name.len() + 1)?;
        self.out.write_all(data)?;
        self.pad(data.len())
    }

    fn pad(&mut self, len: usize) -> std::io::Result<()> {
        self.out.write_all(&[0u8; 3][..(4 - len % 4) % 4])
    }
}

/// Where the guest finds things (see the crate documentation).
pub(crate) const SCRIPT: &str = "/ksc/script";
pub(crate) const MODULES: &str = "/ksc/modules";
pub(crate) const PROGRAMS: &str = "/usr/bin";
/// The virtio-serial port's name that the results channel goes by.
pub(crate) const CHANNEL: &str = "ksc.out";
/// What the results channel needs, where the kernel has them as modules.
const CHANNEL_MODULES: &[&str] = &["virtio_pci", "virtio_console"];

/// `/init`: mounts, modules, the script, power off. Progress markers go
/// to the status port (ttyS1) so that the host can tell a kernel that
/// never ran `/init` from a guest that died under the script. The results
/// channel is the virtio-serial port `ksc.out` (fast: a 16550 under
/// emulation moves about 30 KB/s), else ttyS2.
const INIT: &str = r#"#!/bin/sh
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root TERM=dumb
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
stty -F /dev/ttyS1 raw -echo
echo started >/dev/ttyS1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
ulimit -l unlimited
for m in /ksc/modules/*.ko; do
    [ -e "$m" ] || continue
    insmod "$m" || echo "ksc-qemu: insmod $m failed"
done
ip link set lo up
# The port's name arrives from the host shortly after the device.
out=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    for p in /sys/class/virtio-ports/*; do
        [ "$(cat $p/name 2>/dev/null)" = ksc.out ] && [ -e /dev/${p##*/} ] && out=/dev/${p##*/}
    done
    [ -n "$out" ] && break
    sleep 0.25
done
if [ -z "$out" ]; then
    echo "ksc-qemu: no virtio port ksc.out: results go to ttyS2"
    out=/dev/ttyS2
    stty -F $out raw -echo
fi
cd /
KSC_OUT=$out sh /ksc/script </dev/null
echo "exit $?" >/dev/ttyS1
poweroff -f
"#;

/// Resolves a program name the way a shell would, in `path`.
pub(crate) fn which(name: &str, path: &OsStr) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(path).map(|d| d.join(name)).find(|p| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The shared libraries (and dynamic loader) `program` needs, from
/// `ldd`; none for a static program.
fn libraries(program: &Path) -> Result<Vec<PathBuf>, Error> {
    let out = Command::new("ldd")
        .arg(program)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Missing {
                what: "ldd".into(),
                install: "apt-get install libc-bin".into(),
            },
            _ => Error::Setup(format!("cannot run ldd: {e}")),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || text.contains("not a dynamic executable")
        || text.contains("statically linked")
    {
        return Ok(vec![]);
    }
    let mut libs = vec![];
    for line in text.lines() {
        let line = line.trim();
        if line.contains("=> not found") {
            return Err(Error::Setup(format!("{}: {line}", program.display())));
        }
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"; not "linux-vdso.so.1 (0x...)".
        let path = match line.split_once("=>") {
            Some((_, rhs)) => rhs.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// Adds `program` at `guest` with its libraries at their host paths
/// (symbolic links followed: the guest gets the files).
fn add_program(tree: &mut Tree, host: &Path, guest: &str) -> Result<(), Error> {
    tree.put(guest, Entry::Host(host.to_path_buf(), 0o755));
    for lib in libraries(host)? {
        let path = lib.to_string_lossy().into_owned();
        if !tree.entries.contains_key(&path) {
            tree.put(&path, Entry::Host(lib, 0o755));
        }
    }
    Ok(())
}

/// Adds a host file, or a directory and everything under it.
fn add_files(tree: &mut Tree, host: &Path, guest: &str) -> Result<(), Error> {
    let meta =
        std::fs::metadata(host).map_err(|e| Error::Setup(format!("{}: {e}", host.display())))?;
    if meta.is_dir() {
        tree.dir(guest);
        let entries = std::fs::read_dir(host)
            .map_err(|e| Error::Setup(format!("{}: {e}", host.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            add_files(
                tree,
                &entry.path(),
                &format!("{}/{name}", guest.trim_end_matches('/')),
            )?;
        }
    } else {
        tree.put(
            guest,
            Entry::Host(host.to_path_buf(), meta.permissions().mode() & 0o7777),
        );
    }
    Ok(())
}

/// Builds the guest's tree: busybox, `/init`, the script, the programs
/// with their libraries, the modules with their dependencies, the files.
pub(crate) fn build(kernel: &Kernel, guest: &Guest, search: &OsStr) -> Result<Tree, Error> {
    let mut tree = Tree::default();
    for d in [
        "/proc",
        "/sys",
        "/dev",
        "/tmp",
        "/run",
        "/root",
        "/etc",
        "/var",
        "/bin",
        "/sbin",
        "/usr/bin",
        "/usr/sbin",
        MODULES,
    ] {
        tree.dir(d);
    }
    // The kernel opens /dev/console for /init before devtmpfs is mounted.
    tree.put("/dev/console", Entry::CharDev(5, 1));
    tree.put("/var/run", Entry::Symlink("/run".into()));
    tree.put(
        "/etc/passwd",
        Entry::Bytes(b"root:x:0:0:root:/root:/bin/sh\n".to_vec(), 0o644),
    );
    tree.put("/etc/group", Entry::Bytes(b"root:x:0:\n".to_vec(), 0o644));

    let busybox = which("busybox", search)
        .or_else(|| which("/bin/busybox", search))
        .ok_or_else(|| Error::Missing {
            what: "busybox".into(),
            install: "apt-get install busybox".into(),
        })?;
    check_busybox(&busybox, &guest.programs)?;
    add_program(&mut tree, &busybox, "/bin/busybox")?;
    tree.put("/bin/sh", Entry::Symlink("busybox".into()));
    tree.put("/init", Entry::Bytes(INIT.as_bytes().to_vec(), 0o755));
    tree.put(
        SCRIPT,
        Entry::Bytes(guest.script.as_bytes().to_vec(), 0o755),
    );

    for name in &guest.programs {
        let host = which(name, search).ok_or_else(|| Error::Missing {
            what: format!("the program `{name}` (asked for in the guest)"),
            install: install_hint(name),
        })?;
        let base = host
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        add_program(&mut tree, &host, &format!("{PROGRAMS}/{base}"))?;
    }

    for (i, (name, path)) in module_order(kernel, &guest.modules, CHANNEL_MODULES)?
        .into_iter()
        .enumerate()
    {
        let data = read_module(&path)?;
        tree.put(
            &format!("{MODULES}/{i:03}-{name}.ko"),
            Entry::Bytes(data, 0o644),
        );
    }

    for (host, guest_path) in &guest.files {
        if !guest_path.starts_with('/') {
            return Err(Error::Setup(format!(
                "guest path `{guest_path}` is not absolute"
            )));
        }
        add_files(&mut tree, host, guest_path)?;
    }
    Ok(tree)
}

/// A busybox built with the "standalone shell" (Debian's
/// `busybox-static`) runs its own applet for any name it has, before
/// `PATH`: `ip` in the script would be busybox's, not iproute2's. Such a
/// busybox serves only when no program shares a name with an applet.
fn check_busybox(busybox: &Path, programs: &[String]) -> Result<(), Error> {
    let prefers_applets = Command::new(busybox)
        .args(["sh", "-c", "command -v ls"])
        .env("PATH", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !prefers_applets {
        return Ok(());
    }
    let applets = Command::new(busybox)
        .arg("--list")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let applets = String::from_utf8_lossy(&applets);
    let base = |p: &String| p.rsplit('/').next().unwrap_or(p).to_string();
    match programs.iter().map(base).find(|p| applets.lines().any(|a| a == p)) {
        None => Ok(()),
        Some(clash) => Err(Error::Missing {
            what: format!(
                "a busybox that runs programs from PATH before its applets ({} runs its own `{clash}` instead of the guest's)",
                busybox.display()
            ),
            install: "apt-get install busybox".into(),
        }),
    }
}

fn install_hint(program: &str) -> String {
    let package = match program {
        "bpftool" => "bpftool",
        "ip" | "tc" | "bridge" => "iproute2",
        "clang" => "clang",
        "busybox" => "busybox",
        "strace" => "strace",
        _ => return format!("install `{program}`, or put it on the PATH"),
    };
    format!("apt-get install {package}")
}

fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The modules to load, dependencies first, as (name, file); modules
/// built into the kernel are left out, and so are the `optional` ones the
/// kernel does not have.
fn module_order(
    kernel: &Kernel,
    wanted: &[String],
    optional: &[&str],
) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut files = BTreeMap::new();
    index_modules(&kernel.modules.join("kernel"), &mut files);
    let builtin: BTreeSet<String> = std::fs::read_to_string(kernel.modules.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .map(|f| normalize(f.trim_end_matches(".ko")))
        .collect();
    let mut order = vec![];
    let mut seen = BTreeSet::new();
    fn visit(
        name: &str,
        files: &BTreeMap<String, PathBuf>,
        builtin: &BTreeSet<String>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<(String, PathBuf)>,
        release: &str,
    ) -> Result<(), Error> {
        let name = normalize(name);
        if !seen.insert(name.clone()) || builtin.contains(&name) {
            return Ok(());
        }
        let path = files.get(&name).ok_or_else(|| {
            Error::Setup(format!(
                "kernel {release} has no module `{name}` (neither as a file nor built in)"
            ))
        })?;
        let data = read_module(path)?;
        for dep in modinfo(&data, "depends") {
            for d in dep.split(',').filter(|d| !d.is_empty()) {
                visit(d, files, builtin, seen, order, release)?;
            }
        }
        order.push((name, path.clone()));
        Ok(())
    }
    for o in optional {
        if files.contains_key(&normalize(o)) {
            visit(o, &files, &builtin, &mut seen, &mut order, &kernel.release)?;
        }
    }
    for w in wanted {
        visit(w, &files, &builtin, &mut seen, &mut order, &kernel.release)?;
    }
    Ok(order)
}

fn index_modules(dir: &Path, into: &mut BTreeMap<String, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            index_modules(&path, into);
        } else {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some((stem, _)) = file.split_once(".ko") {
                into.insert(normalize(stem), path);
            }
        }
    }
}

/// A module's ELF image; `.ko.xz`/`.ko.zst`/`.ko.gz` decompressed with
/// the host's tool (busybox insmod takes plain ELF only).
fn read_module(path: &Path) -> Result<Vec<u8>, Error> {
    let name = path.to_string_lossy();
    let (tool, package) = if name.ends_with(".ko") {
        return std::fs::read(path).map_err(|e| Error::Setup(format!("{name}: {e}")));
    } else if name.ends_with(".xz") {
        ("xz", "xz-utils")
    } else if name.ends_with(".zst") {
        ("zstd", "zstd")
    } else if name.ends_with(".gz") {
        ("gzip", "gzip")
    } else {
        return Err(Error::Setup(format!("{name}: unknown module compression")));
    };
    let mut child = Command::new(tool)
        .args(["-dc"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Missing {
                what: format!("{tool} (to decompress kernel modules)"),
                install: format!("apt-get install {package}"),
            },
            _ => Error::Setup(format!("cannot run {tool}: {e}")),
        })?;
    let mut data = vec![];
    child.stdout.take().map(|mut s| s.read_to_end(&mut data));
    let status = child
        .wait()
        .map_err(|e| Error::Setup(format!("{tool}: {e}")))?;
    if !status.success() || data.is_empty() {
        return Err(Error::Setup(format!("{tool} -dc {name} failed")));
    }
    Ok(data)
}

/// The values of `key` in a module's `.modinfo` section
/// (NUL-separated `key=value` strings).
fn modinfo(elf: &[u8], key: &str) -> Vec<String> {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    // ELF64, little-endian only (x86-64 kernels).
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1]) {
        return vec![];
    }
    let section = || -> Option<&[u8]> {
        let (shoff, shentsize, shnum, shstrndx) =
            (u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?);
        let header = |i: usize| shoff + i * shentsize;
        let strtab = u64_at(header(shstrndx) + 24)?;
        for i in 0..shnum {
            let h = header(i);
            let name_off = strtab + u32_at(h)?;
            let name = elf.get(name_off..)?.split(|&b| b == 0).next()?;
            if name == b".modinfo" {
                let (off, size) = (u64_at(h + 24)?, u64_at(h + 32)?);
                return elf.get(off..off + size);
            }
        }
        None
    };
    let prefix = format!("{key}=");
    section()
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| s.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_entries_are_aligned() {
        let mut out = vec![];
        let mut w = Cpio {
            out: &mut out,
            ino: 1,
        };
        w.entry("a", 0o100644, 0, b"xyz").unwrap();
        w.entry("TRAILER!!!", 0, 0, &[]).unwrap();
        assert_eq!(&out[..6], b"070701");
        // header 110 + "a\0" = 112 (aligned), data 3 + 1 pad.
        assert_eq!(&out[112..116], b"xyz\0");
        assert_eq!(&out[116..122], b"070701");
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn parents_come_first() {
        let mut t = Tree::default();
        t.put("/a/b/c", Entry::Bytes(vec![], 0o644));
        t.put("/a-b", Entry::Dir);
        let keys: Vec<&String> = t.entries.keys().collect();
        assert_eq!(keys, ["/a", "/a-b", "/a/b", "/a/b/c"]);
    }
}
