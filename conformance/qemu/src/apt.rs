//! Where apt finds a kernel's packages: the machine's own sources (which
//! serve 6.1 and 6.12 on bookworm), or a private list of the Debian suites
//! that hold the other kernels (bullseye's 5.10, sid's newest), kept in
//! the kernel cache so the machine's apt sources never change.

use crate::Error;
use std::path::PathBuf;
use std::process::Command;

/// The suites of the private list: bullseye (5.10; its security suite has
/// the newest ABI) and sid (the newest kernel, `latest`).
const PRIVATE_SOURCES: &str = "\
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Apt {
    /// apt as the machine has it configured.
    System,
    /// The private list in `<cache>/.apt`.
    Private,
}

impl Apt {
    /// Both, the machine's first: a label it serves keeps being fetched
    /// from it as before.
    pub(crate) const ALL: [Apt; 2] = [Apt::System, Apt::Private];

    fn dir() -> PathBuf {
        crate::cache_dir().join(".apt")
    }

    /// `tool` (`apt-get`, `apt-cache`) reading this source's lists. As root
    /// apt drops to the `_apt` user to download, which cannot write into a
    /// root-owned cache: it downloads as the caller.
    pub(crate) fn command(self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        cmd.args(["-o", "APT::Sandbox::User=root"]);
        if self == Apt::Private {
            let dir = Self::dir();
            let opt = |k: &str, v: PathBuf| format!("{k}={}", v.display());
            // Its own sources, lists and package cache (apt's binary cache
            // of the lists lives under Dir::Cache: the machine's stays
            // as it is).
            for (k, v) in [
                ("Dir::Etc::sourcelist", dir.join("sources.list")),
                ("Dir::Etc::sourceparts", dir.join("sources.list.d")),
                ("Dir::State::Lists", dir.join("lists")),
                ("Dir::Cache", dir.join("cache")),
            ] {
                cmd.arg("-o").arg(opt(k, v));
            }
        }
        cmd
    }

    /// Whether this source has lists at all (the private one has none until
    /// its first update).
    pub(crate) fn has_lists(self) -> bool {
        match self {
            Apt::System => true,
            Apt::Private => std::fs::read_dir(Self::dir().join("lists")).is_ok_and(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
            }),
        }
    }

    /// `apt-get update` of this source's lists; for the private one, its
    /// directories are made first, and one process at a time updates them.
    pub(crate) fn update(self, progress: &mut dyn FnMut(&str)) -> Result<(), Error> {
        let _lock = match self {
            Apt::System => None,
            Apt::Private => Some(Self::prepare()?),
        };
        progress(&match self {
            Apt::System => "running apt-get update".to_string(),
            Apt::Private => format!(
                "running apt-get update on the private list of bullseye and sid in {}",
                Self::dir().display()
            ),
        });
        let out = self
            .command("apt-get")
            .args(["update", "-qq"])
            .output()
            .map_err(|e| Error::Fetch(format!("cannot run apt-get update: {e}")))?;
        if !out.status.success() {
            return Err(Error::Fetch(format!(
                "apt-get update failed (it needs root and Debian's archive): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Makes the private directories and the sources list; returns the lock
    /// held while updating.
    fn prepare() -> Result<std::fs::File, Error> {
        let dir = Self::dir();
        let mk = |p: PathBuf| {
            std::fs::create_dir_all(&p)
                .map_err(|e| Error::Fetch(format!("cannot create {}: {e}", p.display())))
        };
        mk(dir.join("lists/partial"))?;
        mk(dir.join("cache/archives/partial"))?;
        mk(dir.join("sources.list.d"))?;
        let list = dir.join("sources.list");
        if std::fs::read_to_string(&list).ok().as_deref() != Some(PRIVATE_SOURCES) {
            std::fs::write(&list, PRIVATE_SOURCES)
                .map_err(|e| Error::Fetch(format!("cannot write {}: {e}", list.display())))?;
        }
        let lock_path = dir.join("update.lock");
        let lock = std::fs::File::create(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| Error::Fetch(format!("cannot lock {}: {e}", lock_path.display())))?;
        Ok(lock)
    }
}
