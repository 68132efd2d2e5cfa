//! Debian's kernel packages: which one a label means, downloading and
//! unpacking it into the cache.

use crate::apt::Apt;
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
    if label == LATEST {
        let label = latest_label(progress)?;
        progress(&format!("kernel latest: {label}"));
        return fetch(&label, progress);
    }
    if !label_is_valid(label) {
        return Err(Error::Fetch(format!(
            "`{label}` is not a kernel label: expected MAJOR.MINOR (5.10, 6.1, 6.12, 7.2) or `latest`"
        )));
    }
    let cache = crate::cache_dir();
    let (package, apt) = match newest_package(label, progress) {
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
    let mut result = download_and_unpack(&package, apt, &tmp, progress);
    if result.is_err() && apt == Apt::Private {
        // sid keeps only its newest upload: a stale list names packages
        // the archive no longer has.
        progress("downloading failed: updating the private list and trying again");
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::create_dir_all(&tmp);
        result = apt
            .update(progress)
            .and_then(|()| download_and_unpack(&package, apt, &tmp, progress));
    }
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

/// The label of the newest kernel Debian has (sid's).
pub(crate) const LATEST: &str = "latest";

/// Is `s` a kernel label ksc-qemu fetches: `MAJOR.MINOR` (`5.10`, `6.12`)
/// or `latest`?
pub fn is_label(s: &str) -> bool {
    s == LATEST || label_is_valid(s)
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

/// The newest kernel image package for `label` and the apt source that has
/// it: the machine's sources first, then the private list (updated when
/// it has none, or none for the label); the machine's `apt-get update`
/// last.
fn newest_package(label: &str, progress: &mut dyn FnMut(&str)) -> Result<(String, Apt), Error> {
    progress(&format!(
        "kernel {label}: asking apt for linux-image-{label}.*-amd64[-unsigned]"
    ));
    let found = |apt: Apt| -> Result<Option<(String, Apt)>, Error> {
        let mut images = search(apt, label)?;
        images.sort_by(|a, b| version_cmp(&a.0, &b.0).then(a.1.len().cmp(&b.1.len())));
        Ok(images.pop().map(|(_, package)| (package, apt)))
    };
    if let Some(p) = found(Apt::System)? {
        return Ok(p);
    }
    if Apt::Private.has_lists() {
        if let Some(p) = found(Apt::Private)? {
            return Ok(p);
        }
    }
    progress("apt knows no such package");
    for apt in [Apt::Private, Apt::System] {
        apt.update(progress)?;
        if let Some(p) = found(apt)? {
            return Ok(p);
        }
    }
    Err(Error::Fetch(format!(
        "apt knows no package linux-image-{label}.*-amd64: neither the machine's apt sources nor Debian's bullseye and sid have Linux {label}"
    )))
}

/// The label (`MAJOR.MINOR`) of the newest kernel image apt knows (sid's),
/// after updating the private list when it is older than a day (sid moves
/// on); offline, the newest kernel in the cache.
fn latest_label(progress: &mut dyn FnMut(&str)) -> Result<String, Error> {
    let stale = std::fs::metadata(crate::cache_dir().join(".apt/lists"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age.as_secs() > 24 * 3600);
    let updated = if stale || !Apt::Private.has_lists() {
        Apt::Private.update(progress)
    } else {
        Ok(())
    };
    let mut releases = vec![];
    if updated.is_ok() {
        for apt in Apt::ALL {
            releases.extend(search(apt, "").unwrap_or_default().into_iter().map(|r| r.0));
        }
    }
    if releases.is_empty() {
        // Offline: the newest kernel cached.
        for entry in std::fs::read_dir(crate::cache_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && entry.path().join(COMPLETE).exists() {
                releases.push(name);
            }
        }
    }
    releases.sort_by(|a, b| version_cmp(a, b));
    let newest = releases.pop().ok_or_else(|| match updated {
        Err(e) => e,
        Ok(()) => Error::Fetch("apt knows no linux-image-*-amd64 package".into()),
    })?;
    let mut parts = newest.split(|c: char| !c.is_ascii_digit());
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
            Ok(format!("{major}.{minor}"))
        }
        _ => Err(Error::Fetch(format!("cannot tell the label of {newest}"))),
    }
}

/// `(release, package)` for each `linux-image-<label>.*-amd64` and
/// `...-amd64-unsigned` apt knows in `apt` (any label when `label` is
/// empty). bookworm and bullseye name the kernel itself `-unsigned`; sid's
/// `linux-image-<release>` is the kernel (through what it depends on).
fn search(apt: Apt, label: &str) -> Result<Vec<(String, String)>, Error> {
    let prefix = if label.is_empty() {
        "linux-image-".to_string()
    } else {
        format!("linux-image-{label}.")
    };
    let pattern = if label.is_empty() {
        "^linux-image-[0-9]+\\.[0-9]+\\..*-amd64(-unsigned)?$".to_string()
    } else {
        format!(
            "^linux-image-{}\\..*-amd64(-unsigned)?$",
            label.replace('.', "\\.")
        )
    };
    let out = apt
        .command("apt-cache")
        .args(["search", "--names-only", &pattern])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Missing {
                what: "apt-cache (kernels are Debian packages)".into(),
                install: "a Debian or Ubuntu host with apt".into(),
            },
            _ => Error::Fetch(format!("cannot run apt-cache: {e}")),
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|name| {
            let rest = name.strip_prefix(&prefix)?;
            let rest = rest
                .strip_suffix("-amd64-unsigned")
                .or_else(|| rest.strip_suffix("-amd64"))?;
            // 6.1: "0-57"; 6.12: "117+deb12"; 7.2: "13+deb14". Not the
            // cloud, rt or dbg flavours.
            let plain = rest.starts_with(|c: char| c.is_ascii_digit())
                && !rest.ends_with("-cloud")
                && !rest.ends_with("-rt")
                && !rest.contains("dbg");
            let release = name
                .trim_start_matches("linux-image-")
                .trim_end_matches("-unsigned")
                .to_string();
            plain.then(|| (release, name.to_string()))
        })
        .collect())
}

/// Compares the runs of digits as numbers, the rest as text:
/// `6.1.0-9` < `6.1.0-57`.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
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
    apt: Apt,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), Error> {
    // sid's image package is empty: the kernel, its modules and its config
    // are in the packages it depends on that carry its release.
    let release = package
        .trim_start_matches("linux-image-")
        .trim_end_matches("-unsigned");
    let mut packages = vec![package.to_string()];
    if let Ok(out) = apt
        .command("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
    {
        let show = String::from_utf8_lossy(&out.stdout);
        let depends = show
            .lines()
            .find_map(|l| l.strip_prefix("Depends:"))
            .unwrap_or("");
        for dep in depends.split([',', '|']) {
            let name = dep.split_whitespace().next().unwrap_or("");
            let split = ["linux-binary-", "linux-modules-", "linux-base-"];
            if split.iter().any(|p| name.starts_with(p)) && name.ends_with(release) {
                packages.push(name.to_string());
            }
        }
    }
    progress(&format!("downloading {}", packages.join(" ")));
    let out = apt
        .command("apt-get")
        .args(["-q", "download"])
        .args(&packages)
        .current_dir(dir)
        .output()
        .map_err(|e| Error::Fetch(format!("cannot run apt-get download: {e}")))?;
    if !out.status.success() {
        return Err(Error::Fetch(format!(
            "apt-get download {} failed: {}",
            packages.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Fetch(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    if debs.is_empty() {
        return Err(Error::Fetch(format!(
            "apt-get download {package} left no .deb in {}",
            dir.display()
        )));
    }
    for deb in debs {
        unpack(&deb, dir, progress)?;
    }
    // sid installs under /usr/lib/modules/<release>, the image beside the
    // modules: the cache keeps bookworm's layout.
    let usr_modules = dir.join("usr/lib/modules");
    if usr_modules.is_dir() {
        let _ = std::fs::create_dir_all(dir.join("lib"));
        std::fs::rename(&usr_modules, dir.join("lib/modules"))
            .map_err(|e| Error::Fetch(format!("cannot move {}: {e}", usr_modules.display())))?;
    }
    let inside = dir.join("lib/modules").join(release).join("vmlinuz");
    if inside.is_file() {
        let _ = std::fs::create_dir_all(dir.join("boot"));
        std::fs::rename(&inside, dir.join("boot").join(format!("vmlinuz-{release}")))
            .map_err(|e| Error::Fetch(format!("cannot move {}: {e}", inside.display())))?;
    }
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

fn unpack(deb: &Path, dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), Error> {
    progress(&format!(
        "unpacking {}",
        deb.file_name().unwrap_or_default().to_string_lossy()
    ));
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
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
    let _ = std::fs::remove_file(deb);
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
