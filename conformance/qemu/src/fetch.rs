//! Debian's kernel packages: which one a label means, downloading and
//! unpacking it into the cache.

use crate::{Error, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directories under `lib/modules/<release>/kernel` deleted after
/// unpacking: drivers for hardware the guest never has (the guest is a
/// qemu `pc` machine with serial ports and nothing else). About two
/// thirds of the unpacked size.
const PRUNED: &[&str] = &[
    "sound",
    "drivers/gpu",
    "drivers/media",
    "drivers/scsi",
    "drivers/infiniband",
    "drivers/usb",
    "drivers/iio",
    "drivers/staging",
    "drivers/hwmon",
    "drivers/comedi",
    "drivers/mtd",
    "drivers/target",
    "drivers/video",
    "drivers/isdn",
    "drivers/bluetooth",
    "drivers/hid",
    "drivers/input",
    "drivers/mmc",
    "drivers/net/wireless",
    "drivers/net/ethernet",
    "drivers/net/usb",
    "drivers/net/can",
];

/// The marker written last into a cached kernel's directory: without it
/// the directory is an interrupted unpack.
const COMPLETE: &str = "complete";

pub(crate) fn fetch(label: &str, progress: &mut dyn FnMut(&str)) -> Result<Kernel, Error> {
    if !label_is_valid(label) {
        return Err(Error::Fetch(format!(
            "`{label}` is not a kernel label: expected MAJOR.MINOR, e.g. 6.1 or 6.12"
        )));
    }
    let cache = crate::cache_dir();
    let package = match newest_package(label, progress) {
        Ok(p) => p,
        Err(e) => {
            // Without apt (or without a package for the label) a kernel
            // cached earlier still serves.
            if let Some(k) = cached_for_label(&cache, label) {
                progress(&format!("{e}; using the cached {}", k.release));
                return Ok(k);
            }
            return Err(e);
        }
    };
    let release = package
        .trim_start_matches("linux-image-")
        .trim_end_matches("-unsigned")
        .to_string();
    let dir = cache.join(&release);
    if dir.join(COMPLETE).exists() {
        progress(&format!(
            "kernel {label}: {release} (cached in {})",
            dir.display()
        ));
        return kernel_in(&dir, label, &release);
    }
    std::fs::create_dir_all(&cache).map_err(|e| {
        Error::Fetch(format!(
            "cannot create the kernel cache {}: {e}",
            cache.display()
        ))
    })?;
    // Unpack beside the final directory, then rename: a concurrent fetch
    // of the same kernel, or an interrupted one, never leaves half a tree.
    let tmp = cache.join(format!(".{release}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)
        .map_err(|e| Error::Fetch(format!("cannot create {}: {e}", tmp.display())))?;
    let result = download_and_unpack(&package, &tmp, progress);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let _ = std::fs::write(tmp.join("label"), label);
    let _ = std::fs::write(tmp.join(COMPLETE), &package);
    if std::fs::rename(&tmp, &dir).is_err() {
        // Someone else finished first (or a stale incomplete directory is
        // in the way): use theirs, or replace the stale one.
        if dir.join(COMPLETE).exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        } else {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir).map_err(|e| {
                Error::Fetch(format!(
                    "cannot move {} to {}: {e}",
                    tmp.display(),
                    dir.display()
                ))
            })?;
        }
    }
    prune_older(&cache, label, &release, progress);
    kernel_in(&dir, label, &release)
}

fn label_is_valid(label: &str) -> bool {
    let mut parts = label.split('.');
    let ok =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The kernel unpacked in `dir`.
fn kernel_in(dir: &Path, label: &str, release: &str) -> Result<Kernel, Error> {
    let vmlinuz = dir.join("boot").join(format!("vmlinuz-{release}"));
    let modules = dir.join("lib/modules").join(release);
    if !vmlinuz.is_file() || !modules.is_dir() {
        return Err(Error::Fetch(format!(
            "{} does not hold boot/vmlinuz-{release} and lib/modules/{release}: delete it and fetch again",
            dir.display()
        )));
    }
    Ok(Kernel {
        label: label.to_string(),
        release: release.to_string(),
        vmlinuz,
        modules,
    })
}

/// The newest complete kernel in the cache fetched for `label`.
fn cached_for_label(cache: &Path, label: &str) -> Option<Kernel> {
    let mut found: Vec<(String, PathBuf)> = vec![];
    for entry in std::fs::read_dir(cache).ok()?.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !dir.join(COMPLETE).exists() {
            continue;
        }
        if std::fs::read_to_string(dir.join("label")).ok()?.trim() == label {
            found.push((name, dir));
        }
    }
    found.sort_by(|a, b| version_cmp(&a.0, &b.0));
    let (release, dir) = found.pop()?;
    kernel_in(&dir, label, &release).ok()
}

/// Deletes the cached kernels of `label` other than `keep`: a newer
/// package replaces the older one.
fn prune_older(cache: &Path, label: &str, keep: &str, progress: &mut dyn FnMut(&str)) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep || name.starts_with('.') {
            continue;
        }
        let dir = entry.path();
        if std::fs::read_to_string(dir.join("label")).is_ok_and(|l| l.trim() == label) {
            progress(&format!("deleting the older {name} from the cache"));
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// `linux-image-<label>.*-amd64-unsigned`, newest first, as apt knows
/// them; runs `apt-get update` once when it knows none.
fn newest_package(label: &str, progress: &mut dyn FnMut(&str)) -> Result<String, Error> {
    progress(&format!(
        "kernel {label}: asking apt for linux-image-{label}.*-amd64-unsigned"
    ));
    let mut names = search(label)?;
    if names.is_empty() {
        progress("apt knows no such package: running apt-get update");
        let out = Command::new("apt-get")
            .args(["update", "-qq"])
            .output()
            .map_err(|e| Error::Fetch(format!("cannot run apt-get update: {e}")))?;
        if !out.status.success() {
            return Err(Error::Fetch(format!(
                "apt-get update failed (it needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        names = search(label)?;
    }
    names.sort_by(|a, b| version_cmp(a, b));
    names.pop().ok_or_else(|| {
        Error::Fetch(format!(
            "apt knows no package linux-image-{label}.*-amd64-unsigned: add a Debian suite that has Linux {label} to apt's sources"
        ))
    })
}

fn search(label: &str) -> Result<Vec<String>, Error> {
    let pattern = format!(
        "^linux-image-{}\\..*-amd64-unsigned$",
        label.replace('.', "\\.")
    );
    let out = Command::new("apt-cache")
        .args(["search", "--names-only", &pattern])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Missing {
                what: "apt-cache (kernels are Debian packages)".into(),
                install: "a Debian or Ubuntu host with apt".into(),
            },
            _ => Error::Fetch(format!("cannot run apt-cache: {e}")),
        })?;
    let prefix = format!("linux-image-{label}.");
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            let Some(rest) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix("-amd64-unsigned"))
            else {
                return false;
            };
            // 6.1: "0-57"; 6.12: "117+deb12". Not the cloud, rt or dbg flavours.
            rest.starts_with(|c: char| c.is_ascii_digit())
                && !rest.ends_with("-cloud")
                && !rest.ends_with("-rt")
                && !rest.contains("dbg")
        })
        .map(str::to_string)
        .collect())
}

/// Compares the runs of digits as numbers, the rest as text:
/// `6.1.0-9` < `6.1.0-57`.
pub(crate) fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = vec![];
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then(x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

fn download_and_unpack(
    package: &str,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), Error> {
    progress(&format!("downloading {package}"));
    let out = Command::new("apt-get")
        // As root apt drops to the `_apt` user to download, which cannot
        // write into a root-owned cache: download as the caller.
        .args(["-q", "-o", "APT::Sandbox::User=root", "download", package])
        .current_dir(dir)
        .output()
        .map_err(|e| Error::Fetch(format!("cannot run apt-get download: {e}")))?;
    if !out.status.success() {
        return Err(Error::Fetch(format!(
            "apt-get download {package} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let deb = std::fs::read_dir(dir)
        .map_err(|e| Error::Fetch(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| {
            Error::Fetch(format!(
                "apt-get download {package} left no .deb in {}",
                dir.display()
            ))
        })?;
    progress(&format!(
        "unpacking {}",
        deb.file_name().unwrap_or_default().to_string_lossy()
    ));
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(dir)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Missing {
                what: "dpkg-deb".into(),
                install: "apt-get install dpkg".into(),
            },
            _ => Error::Fetch(format!("cannot run dpkg-deb: {e}")),
        })?;
    if !out.status.success() {
        return Err(Error::Fetch(format!(
            "dpkg-deb -x {} failed: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let _ = std::fs::remove_file(&deb);
    // Only the kernel and its modules are kept.
    for extra in ["usr", "etc", "var"] {
        let _ = std::fs::remove_dir_all(dir.join(extra));
    }
    if let Ok(releases) = std::fs::read_dir(dir.join("lib/modules")) {
        for r in releases.flatten() {
            for p in PRUNED {
                let _ = std::fs::remove_dir_all(r.path().join("kernel").join(p));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let mut v = [
            "linux-image-6.1.0-9-amd64-unsigned",
            "linux-image-6.1.0-57-amd64-unsigned",
            "linux-image-6.1.0-10-amd64-unsigned",
        ];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(v.last(), Some(&"linux-image-6.1.0-57-amd64-unsigned"));
        assert!(version_cmp("6.12.117+deb12", "6.12.99+deb12").is_gt());
    }

    #[test]
    fn labels() {
        assert!(label_is_valid("6.1"));
        assert!(label_is_valid("6.12"));
        assert!(!label_is_valid("6"));
        assert!(!label_is_valid("6.1.0"));
        assert!(!label_is_valid("6.x"));
    }
}
