//! A build tree for out-of-tree kernel modules of a fetched Debian kernel,
//! one that makes module BTF (which kfuncs need): Debian's headers and
//! kbuild packages unpacked into the cache, plus what the kernel build
//! uses for BTF and finds only in a full kernel tree:
//! - `vmlinux`, for its BTF (pahole's and resolve_btfids' base): taken
//!   from the kernel image itself (x86's bzImage holds the compressed ELF
//!   vmlinux, `.BTF` section included), so no debug package is needed;
//! - `tools/bpf/resolve_btfids/resolve_btfids`: shipped by Debian's kbuild
//!   package from 6.12 on; for older kernels built once from the matching
//!   `linux-source` package (only that tool), cached, the source deleted;
//! - `pahole` (Debian's dwarves), from the host.

use crate::apt::Apt;
use crate::{Error, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;

const COMPLETE: &str = "complete";

fn fail(what: impl Into<String>) -> Error {
    Error::Fetch(what.into())
}

fn run(cmd: &mut Command, what: &str) -> Result<String, Error> {
    let out = cmd
        .output()
        .map_err(|e| fail(format!("cannot run {what}: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(8).collect();
        return Err(fail(format!(
            "{what} failed: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The build tree (`KDIR`) for modules of `kernel`, prepared in its cache
/// directory on first use.
pub(crate) fn build_tree(
    kernel: &Kernel,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, Error> {
    let release = &kernel.release;
    let kdir_of = |root: &Path| {
        root.join("usr/src")
            .join(format!("linux-headers-{release}"))
    };
    // boot/vmlinuz-<release> lives in <cache>/<release>/boot.
    let base = kernel
        .vmlinuz
        .parent()
        .and_then(|b| b.parent())
        .ok_or_else(|| fail("the kernel's cache directory is unknown"))?
        .join("kbuild");
    if base.join(COMPLETE).exists() {
        let root = base.join("root");
        point_into_cache(&kdir_of(&root), &root)?;
        toolchain_fits(&kdir_of(&root))?;
        return Ok(kdir_of(&root));
    }
    // One preparer at a time (tests and builds run side by side, each
    // asking for the tree): the others wait here, then find it complete.
    let lock_path = base.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .and_then(|f| {
            if f.try_lock().is_err() {
                progress(&format!(
                    "kernel {release}: waiting for another process preparing its build tree"
                ));
                f.lock()?;
            }
            Ok(f)
        })
        .map_err(|e| fail(format!("cannot lock {}: {e}", lock_path.display())))?;
    if base.join(COMPLETE).exists() {
        return Ok(kdir_of(&base.join("root")));
    }
    if !tool_exists("pahole") {
        return Err(Error::Missing {
            what: "pahole (module BTF, which kfuncs need)".into(),
            install: "apt-get install dwarves".into(),
        });
    }
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(&root)
        .map_err(|e| fail(format!("cannot create {}: {e}", root.display())))?;
    let headers = format!("linux-headers-{release}");
    // From the apt source that has the kernel: the machine's, or the
    // private list of bullseye and sid.
    let mut found = None;
    for apt in Apt::ALL {
        let show = run(
            apt.command("apt-cache")
                .args(["show", "--no-all-versions", &headers]),
            &format!("apt-cache show {headers}"),
        );
        match show {
            Ok(show) if show.contains("Version:") => {
                found = Some((apt, show));
                break;
            }
            Ok(_) if apt == Apt::Private => {
                return Err(fail(format!("apt knows no package {headers}")))
            }
            Err(e) if apt == Apt::Private => return Err(e),
            _ => {}
        }
    }
    let (apt, show) = found.ok_or_else(|| fail(format!("apt knows no package {headers}")))?;
    let field = |name: &str| {
        show.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let version = field("Version:");
    let mut packages = vec![format!("{headers}={version}")];
    for dep in field("Depends:").split(',') {
        let name = dep.split_whitespace().next().unwrap_or("");
        if name.starts_with("linux-headers-") || name.starts_with("linux-kbuild-") {
            packages.push(format!("{name}={version}"));
        }
    }
    progress(&format!(
        "kernel {release}: downloading {}",
        packages.join(" ")
    ));
    download(apt, &base, &packages)?;
    for deb in debs(&base)? {
        run(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
            "dpkg-deb -x",
        )?;
        let _ = std::fs::remove_file(&deb);
    }
    let kdir = kdir_of(&root);
    point_into_cache(&kdir, &root)?;

    progress(&format!(
        "kernel {release}: taking vmlinux out of the image"
    ));
    let vmlinux = extract_vmlinux(&kernel.vmlinuz)?;
    std::fs::write(kdir.join("vmlinux"), vmlinux)
        .map_err(|e| fail(format!("cannot write vmlinux: {e}")))?;

    let rb = kdir.join("tools/bpf/resolve_btfids/resolve_btfids");
    if !rb.exists() {
        let bin = resolve_btfids(apt, &base, &kernel.label, &version, progress)?;
        let dir = rb.parent().unwrap();
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        std::fs::copy(&bin, &rb).map_err(|e| fail(format!("{}: {e}", rb.display())))?;
    }
    let _ = std::fs::write(base.join(COMPLETE), &version);
    drop(lock);
    toolchain_fits(&kdir)?;
    Ok(kdir)
}

/// Debian's per-flavour Makefile names the common tree (`include
/// /usr/src/...`) and, from 7.x on, itself (`KBUILD_OUTPUT=/usr/src/...`)
/// by absolute paths: points them into the cache (idempotent: trees
/// prepared before the second was known are mended on use).
fn point_into_cache(kdir: &Path, root: &Path) -> Result<(), Error> {
    let mk = kdir.join("Makefile");
    let text = std::fs::read_to_string(&mk)
        .map_err(|e| fail(format!("{} is not there: {e}", mk.display())))?;
    let fixed = text
        .replace(
            "include /usr/src/",
            &format!("include {}/usr/src/", root.display()),
        )
        .replace(
            "KBUILD_OUTPUT=/usr/src/",
            &format!("KBUILD_OUTPUT={}/usr/src/", root.display()),
        );
    if fixed != text {
        std::fs::write(&mk, fixed).map_err(|e| fail(format!("{}: {e}", mk.display())))?;
    }
    Ok(())
}

/// Whether this machine can build modules in `kdir`: the compiler the
/// kernel was built with (`CONFIG_CC_VERSION_TEXT`, which kbuild calls by
/// name) is installed, and the tree's own build tools (fixdep, modpost,
/// objtool: binaries from the same suite as the kernel) run here. sid's
/// 7.2 fails both on bookworm: built by gcc 16, its tools need glibc 2.38.
fn toolchain_fits(kdir: &Path) -> Result<(), Error> {
    let conf = std::fs::read_to_string(kdir.join("include/config/auto.conf")).unwrap_or_default();
    let cc = conf
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_CC_VERSION_TEXT="))
        .map(|t| t.trim_matches('"').to_string());
    if let Some(text) = cc {
        let name = text.split_whitespace().next().unwrap_or("");
        if !name.is_empty() && !tool_exists(name) {
            return Err(Error::Toolchain(format!(
                "the kernel was built by {text} and kbuild calls `{name}`, which is not installed here"
            )));
        }
    }
    let fixdep = kdir.join("scripts/basic/fixdep");
    if let Ok(out) = Command::new(&fixdep).output() {
        let err = String::from_utf8_lossy(&out.stderr);
        if let Some(line) = err.lines().find(|l| l.contains("GLIBC_")) {
            return Err(Error::Toolchain(format!(
                "its build tools need a newer C library than this machine's: {}",
                line.trim()
            )));
        }
    }
    Ok(())
}

fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn download(apt: Apt, dir: &Path, packages: &[String]) -> Result<(), Error> {
    let mut cmd = apt.command("apt-get");
    cmd.args(["-q", "download"]).args(packages).current_dir(dir);
    run(
        &mut cmd,
        &format!("apt-get download {}", packages.join(" ")),
    )
    .map(|_| ())
}

fn debs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| fail(format!("{}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect())
}

/// The ELF vmlinux inside a bzImage: the first xz, zstd or gzip stream
/// that decompresses to an ELF file.
fn extract_vmlinux(vmlinuz: &Path) -> Result<Vec<u8>, Error> {
    let data = std::fs::read(vmlinuz).map_err(|e| fail(format!("{}: {e}", vmlinuz.display())))?;
    let formats: [(&[u8], &str, &[&str]); 3] = [
        (b"\xfd7zXZ\x00", "xz", &["-dc"]),
        (b"\x28\xb5\x2f\xfd", "zstd", &["-dcq"]),
        (b"\x1f\x8b\x08", "gzip", &["-dc"]),
    ];
    for (magic, tool, args) in formats {
        let mut from = 0;
        while let Some(i) = find(&data[from..], magic).map(|i| i + from) {
            from = i + 1;
            let mut child = match Command::new(tool)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
            {
                Ok(c) => c,
                Err(_) => break,
            };
            let mut stdin = child.stdin.take().unwrap();
            let input = data[i..].to_vec();
            let writer = std::thread::spawn(move || {
                use std::io::Write as _;
                let _ = stdin.write_all(&input);
            });
            let out = child.wait_with_output();
            let _ = writer.join();
            // Trailing bytes after the stream make the tool complain; what
            // it wrote is still the whole ELF file.
            if let Ok(o) = out {
                if o.stdout.starts_with(b"\x7fELF") {
                    return Ok(o.stdout);
                }
            }
        }
    }
    Err(fail(format!(
        "found no compressed ELF vmlinux in {} (xz, zstd and gzip tried; install xz-utils and zstd)",
        vmlinuz.display()
    )))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// resolve_btfids built from `linux-source-<label>` at `version`, cached
/// in `~/.cache/ksc/tools/` (the source is deleted after).
fn resolve_btfids(
    apt: Apt,
    base: &Path,
    label: &str,
    version: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, Error> {
    let tools = crate::cache_dir()
        .parent()
        .map(|p| p.join("tools"))
        .unwrap_or_else(|| base.join("tools"));
    let bin = tools.join(format!("resolve_btfids-{version}"));
    if bin.exists() {
        return Ok(bin);
    }
    let src = base.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(|e| fail(format!("{}: {e}", src.display())))?;
    let package = format!("linux-source-{label}");
    progress(&format!(
        "building resolve_btfids from {package} {version} (once)"
    ));
    let result = (|| {
        download(apt, &src, &[format!("{package}={version}")])?;
        for deb in debs(&src)? {
            run(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&src),
                "dpkg-deb -x",
            )?;
            let _ = std::fs::remove_file(&deb);
        }
        let tarball = src
            .join("usr/src")
            .join(format!("linux-source-{label}.tar.xz"));
        let top = format!("linux-source-{label}");
        // Only what the tool's build reads.
        let mut tar = Command::new("tar");
        tar.arg("-xJf")
            .arg(&tarball)
            .arg("--wildcards")
            .current_dir(&src);
        for part in [
            "tools/*",
            "include/*",
            "scripts/*",
            "arch/x86/*",
            "kernel/bpf/*",
        ] {
            tar.arg(format!("{top}/{part}"));
        }
        tar.arg(format!("{top}/Makefile"));
        run(&mut tar, "tar")?;
        let _ = std::fs::remove_file(&tarball);
        let tree = src.join(&top);
        run(
            Command::new("make")
                .arg("-C")
                .arg(tree.join("tools/bpf/resolve_btfids"))
                .arg("-j2"),
            "make -C tools/bpf/resolve_btfids",
        )?;
        std::fs::create_dir_all(&tools).map_err(|e| fail(format!("{}: {e}", tools.display())))?;
        std::fs::copy(tree.join("tools/bpf/resolve_btfids/resolve_btfids"), &bin)
            .map_err(|e| fail(format!("{}: {e}", bin.display())))?;
        Ok(bin.clone())
    })();
    let _ = std::fs::remove_dir_all(&src);
    result
}
