//! # ksc-plugins: finding, checking and running backend plugins
//!
//! A backend plugin is a shared library named `libksc_backend_<x>.so`
//! (the `cdylib` of a crate `ksc-backend-<x>`) that exports the root module
//! of [`ksc_plugin_abi`]. [`Registry`] searches, in this order (the first
//! plugin of a name wins):
//!
//! 1. each directory of `KSC_PLUGIN_PATH` (colon-separated),
//! 2. the directory of the ksc executable,
//! 3. `$XDG_DATA_HOME/ksc/plugins` (else `~/.local/share/ksc/plugins`),
//! 4. `/usr/local/lib/ksc/plugins`.
//!
//! Loading checks, with a clear error naming the file and the versions:
//! that the file loads at all, that it is an abi_stable library exporting
//! a ksc backend, that its ABI version and type layouts match ksc's (a
//! plugin built before fields were added at the end of the root module
//! included: see `plugins/README.md`, "Versioning rules"), and
//! that it accepts the IR version ksc produces. Running one serialises the
//! IR and the options to RON, and turns the plugin's answer (files,
//! diagnostics, errors, panics) into Rust values; output paths are
//! checked to stay inside the output directory.
//!
//! [`targets`] loads the target descriptions (`targets/*.ron`).

use std::fmt;
use std::path::{Component, Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use ksc_plugin_abi::{BackendModRef, ErrorKind};

pub use ksc_plugin_abi::{Options, Severity, ABI_VERSION};

mod layout;
pub mod python;
pub mod targets;

/// The environment variable listing extra plugin directories.
pub const PLUGIN_PATH_VAR: &str = "KSC_PLUGIN_PATH";

/// What a plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    /// The IR schema version it accepts.
    pub ir_version: u32,
    /// The plugin ABI version it was built against.
    pub abi_version: String,
    pub description: String,
    pub output_kinds: Vec<String>,
    /// Where it comes from; `None` when not given, or from a plugin built
    /// before the field existed (crate version 0.2.0 of the ABI).
    pub homepage: Option<String>,
    pub path: PathBuf,
}

impl PluginInfo {
    /// Whether ksc can run it (it accepts the IR ksc produces).
    pub fn compatible(&self) -> bool {
        self.ir_version == ksc_ir::IR_VERSION
    }
}

/// A loaded plugin, ready to run.
pub struct Plugin {
    pub info: PluginInfo,
    module: BackendModRef,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("info", &self.info).finish()
    }
}

/// A diagnostic from a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub severity: Severity,
    pub message: String,
    /// Where in the source (a span of the IR the plugin was given).
    pub span: Option<ksc_ir::Span>,
}

/// What a successful run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Paths are relative and checked to stay inside the output directory.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Warnings and notes.
    pub diagnostics: Vec<Diag>,
}

/// Why a plugin could not be found, loaded or run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No plugin of that name in the search path.
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
        found: Vec<PluginInfo>,
        broken: Vec<(PathBuf, String)>,
    },
    /// The file could not be loaded as a shared library, or is no ksc plugin.
    NotLoadable { path: PathBuf, reason: String },
    /// Built against another version or layout of the plugin ABI.
    AbiMismatch {
        path: PathBuf,
        plugin_abi: String,
        detail: String,
    },
    /// The plugin's root module failed while loading (error or panic).
    LoadFailed { path: PathBuf, reason: String },
    /// The plugin accepts another IR schema version.
    IrVersion {
        name: String,
        version: String,
        path: PathBuf,
        accepts: u32,
    },
    /// The plugin reported errors about the program.
    Failed {
        name: String,
        path: PathBuf,
        message: String,
        diagnostics: Vec<Diag>,
    },
    /// The plugin could not read its input.
    InvalidInput {
        name: String,
        path: PathBuf,
        message: String,
    },
    /// The plugin panicked (caught inside the plugin).
    Panicked {
        name: String,
        path: PathBuf,
        message: String,
    },
    /// The plugin answered something ksc refuses (a path outside the
    /// output directory).
    InvalidOutput {
        name: String,
        path: PathBuf,
        message: String,
    },
}

impl Error {
    /// Problems of the installation (missing, unloadable, incompatible
    /// plugins), as opposed to problems while running one.
    pub fn is_setup_problem(&self) -> bool {
        matches!(
            self,
            Error::NotFound { .. }
                | Error::NotLoadable { .. }
                | Error::AbiMismatch { .. }
                | Error::IrVersion { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound {
                name,
                searched,
                found,
                broken,
            } => {
                write!(f, "no backend plugin named `{name}` was found")?;
                if found.is_empty() {
                    write!(f, "; no plugins were found at all")?;
                } else {
                    write!(f, "; found:")?;
                    for p in found {
                        write!(f, "\n  {} {} ({})", p.name, p.version, p.path.display())?;
                    }
                }
                for (path, reason) in broken {
                    write!(f, "\n  not loadable: {}: {reason}", path.display())?;
                }
                write!(f, "\nsearched (set {PLUGIN_PATH_VAR} to add directories):")?;
                for d in searched {
                    write!(f, "\n  {}", d.display())?;
                }
                Ok(())
            }
            Error::NotLoadable { path, reason } => {
                write!(f, "`{}` is not a loadable plugin: {reason}", path.display())
            }
            Error::AbiMismatch {
                path,
                plugin_abi,
                detail,
            } => {
                if plugin_abi == ABI_VERSION {
                    write!(f, "`{}` {detail}", path.display())
                } else {
                    write!(
                        f,
                        "`{}` was built for plugin ABI {plugin_abi}, but this ksc uses plugin ABI \
                         {ABI_VERSION}; rebuild the plugin against this ksc's ksc-plugin-abi\
                         {}{detail}",
                        path.display(),
                        if detail.is_empty() { "" } else { ": " }
                    )
                }
            }
            Error::LoadFailed { path, reason } => {
                write!(
                    f,
                    "plugin `{}` failed while loading: {reason}",
                    path.display()
                )
            }
            Error::IrVersion {
                name,
                version,
                path,
                accepts,
            } => write!(
                f,
                "plugin `{name}` {version} ({}) accepts IR version {accepts}, but this ksc \
                 produces IR version {}; use a version of the plugin built for IR version {}",
                path.display(),
                ksc_ir::IR_VERSION,
                ksc_ir::IR_VERSION
            ),
            Error::Failed {
                name,
                path,
                message,
                ..
            } => write!(f, "backend `{name}` ({}) failed: {message}", path.display()),
            Error::InvalidInput {
                name,
                path,
                message,
            } => write!(
                f,
                "backend `{name}` ({}) could not read its input: {message}",
                path.display()
            ),
            Error::Panicked {
                name,
                path,
                message,
            } => write!(
                f,
                "backend `{name}` ({}) {message}; this is a bug in the plugin",
                path.display()
            ),
            Error::InvalidOutput {
                name,
                path,
                message,
            } => write!(
                f,
                "backend `{name}` ({}) returned invalid output: {message}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// All plugins found, and the files that could not be loaded.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// In search order; a later plugin with the name of an earlier one is
    /// shadowed (`shadowed` is true).
    pub plugins: Vec<(PluginInfo, bool)>,
    pub broken: Vec<(PathBuf, Error)>,
}

/// The plugin search path.
#[derive(Clone, Debug)]
pub struct Registry {
    dirs: Vec<PathBuf>,
}

impl Registry {
    /// The default search path, from the environment (see the crate docs).
    pub fn from_env() -> Registry {
        let mut dirs = Vec::new();
        if let Some(path) = std::env::var_os(PLUGIN_PATH_VAR) {
            dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
        }
        if let Some(dir) = exe_dir() {
            dirs.push(dir);
        }
        if let Some(data) = data_dir() {
            dirs.push(data.join("ksc").join("plugins"));
        }
        dirs.push(PathBuf::from("/usr/local/lib/ksc/plugins"));
        Registry::with_dirs(dirs)
    }

    /// Exactly these directories, in this order.
    pub fn with_dirs(dirs: Vec<PathBuf>) -> Registry {
        let mut unique: Vec<PathBuf> = Vec::new();
        for d in dirs {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        Registry { dirs: unique }
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Every plugin-named file in the search path, in search order.
    pub fn candidates(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| plugin_file_stem(p).is_some() && !p.is_dir())
                .collect();
            files.sort();
            out.extend(files);
        }
        out
    }

    /// Load every plugin in the search path.
    pub fn list(&self) -> Listing {
        let mut listing = Listing::default();
        for path in self.candidates() {
            match load_path(&path) {
                Ok(p) => {
                    let shadowed = listing.plugins.iter().any(|(q, _)| q.name == p.info.name);
                    listing.plugins.push((p.info, shadowed));
                }
                Err(e) => listing.broken.push((path, e)),
            }
        }
        listing
    }

    /// Load the plugin called `name`, checked to accept ksc's IR version.
    ///
    /// Files named after the plugin (`libksc_backend_<name>.so`, `-` as
    /// `_`) are tried first; only if none of them is it, every other
    /// plugin file is loaded to ask its name.
    pub fn load(&self, name: &str) -> Result<Plugin, Error> {
        let candidates = self.candidates();
        let wanted = name.replace('-', "_");
        let (named, others): (Vec<&PathBuf>, Vec<&PathBuf>) = candidates
            .iter()
            .partition(|p| plugin_file_stem(p) == Some(wanted.as_str()));
        let mut first_error = None;
        let mut found = Vec::new();
        let mut broken = Vec::new();
        for path in named.into_iter().chain(others) {
            match load_path(path) {
                Ok(p) if p.info.name == name => {
                    if !p.info.compatible() {
                        return Err(Error::IrVersion {
                            name: p.info.name.clone(),
                            version: p.info.version.clone(),
                            path: p.info.path.clone(),
                            accepts: p.info.ir_version,
                        });
                    }
                    return Ok(p);
                }
                Ok(p) => found.push(p.info),
                Err(e) => {
                    if first_error.is_none() && plugin_file_stem(path) == Some(wanted.as_str()) {
                        first_error = Some(e.clone());
                    }
                    broken.push((path.clone(), e.to_string()));
                }
            }
        }
        // A file named like the plugin that failed to load says more than
        // "not found".
        if let Some(e) = first_error {
            return Err(e);
        }
        Err(Error::NotFound {
            name: name.to_string(),
            searched: self.dirs.clone(),
            found,
            broken,
        })
    }
}

/// `ebpf_c` for `.../libksc_backend_ebpf_c.so`; `None` for other files.
pub fn plugin_file_stem(path: &Path) -> Option<&str> {
    let file = path.file_name()?.to_str()?;
    let rest = file.strip_prefix(std::env::consts::DLL_PREFIX)?;
    let rest = rest.strip_prefix(ksc_plugin_abi::FILE_PREFIX)?;
    let stem = rest.strip_suffix(std::env::consts::DLL_SUFFIX)?;
    (!stem.is_empty()).then_some(stem)
}

/// The file name a plugin called `name` should have (`libksc_backend_x.so`).
pub fn plugin_file_name(name: &str) -> String {
    format!(
        "{}{}{}{}",
        std::env::consts::DLL_PREFIX,
        ksc_plugin_abi::FILE_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// The directory of the running executable.
pub fn exe_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    exe.parent().map(Path::to_path_buf)
}

/// `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("XDG_DATA_HOME") {
        Some(d) if !d.is_empty() && Path::new(&d).is_absolute() => Some(PathBuf::from(d)),
        _ => {
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
            Some(PathBuf::from(home).join(".local").join("share"))
        }
    }
}

/// Load the plugin in one file (without checking its IR version).
///
/// The library stays loaded for the life of the process (abi_stable never
/// unloads), so loading one file twice is cheap and returns the same module.
pub fn load_path(path: &Path) -> Result<Plugin, Error> {
    let header = lib_header_from_path(path).map_err(|e| library_error(path, None, e))?;
    let plugin_abi = header.version_strings().to_string();
    // The version first (abi_stable's rule), then the layout, by hand: see
    // `check_root_layout`.
    let ours = <BackendModRef as RootModule>::VERSION_STRINGS.parsed();
    let theirs = header.version_strings().parsed();
    match (ours, theirs) {
        (Ok(o), Ok(t)) if o.is_compatible(t) => {}
        (Ok(o), Ok(t)) => {
            return Err(library_error(
                path,
                Some(&plugin_abi),
                LibraryError::IncompatibleVersionNumber {
                    library_name: "ksc backend plugin",
                    expected_version: o,
                    actual_version: t,
                },
            ))
        }
        (_, Err(e)) | (Err(e), _) => {
            return Err(library_error(
                path,
                Some(&plugin_abi),
                LibraryError::ParseVersionError(e),
            ))
        }
    }
    let Some(layout) = header.layout() else {
        return Err(Error::NotLoadable {
            path: path.to_path_buf(),
            reason: "its root module carries no type layout to check".to_string(),
        });
    };
    layout::check_root_layout(layout).map_err(|detail| Error::AbiMismatch {
        path: path.to_path_buf(),
        detail: layout::mismatch_detail(&plugin_abi, &detail),
        plugin_abi: plugin_abi.clone(),
    })?;
    // SAFETY: the layout was checked just above: everything the plugin has
    // matches ksc's; fields it lacks are read through accessors that see
    // the plugin's own field count and answer `None`.
    let module = unsafe { header.init_root_module_with_unchecked_layout::<BackendModRef>() }
        .map_err(|e| library_error(path, Some(&plugin_abi), e))?;
    let info = PluginInfo {
        name: module.name().to_string(),
        version: module.version().to_string(),
        ir_version: module.ir_version(),
        abi_version: plugin_abi,
        description: module.description().to_string(),
        output_kinds: module
            .output_kinds()
            .iter()
            .map(|k| k.to_string())
            .collect(),
        // A field after the last prefix field: `None` in older plugins.
        homepage: module
            .homepage()
            .map(|h| h.to_string())
            .filter(|h| !h.is_empty()),
        path: path.to_path_buf(),
    };
    Ok(Plugin { info, module })
}

fn library_error(path: &Path, plugin_abi: Option<&str>, e: LibraryError) -> Error {
    let path = path.to_path_buf();
    let abi = plugin_abi.unwrap_or("(unknown)").to_string();
    match e {
        LibraryError::OpenError { err, .. } => Error::NotLoadable {
            path,
            reason: format!("cannot open it as a shared library: {err}"),
        },
        LibraryError::GetSymbolError { .. } => Error::NotLoadable {
            path,
            reason: "it is a shared library but exports no abi_stable root module \
                     (plugins export one with `ksc_plugin_abi::export_backend!`)"
                .to_string(),
        },
        LibraryError::InvalidAbiHeader(h) => Error::AbiMismatch {
            path,
            plugin_abi: abi,
            detail: format!(
                "it was built with an incompatible abi_stable (header {h:?}); ksc uses abi_stable 0.11"
            )
            .replace('\n', " "),
        },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => Error::AbiMismatch {
            path,
            plugin_abi: actual_version.to_string(),
            detail: format!(
                "abi_stable 0.11 loads a 0.x plugin only with the same minor version and a patch \
                 at least ksc's ({expected_version})"
            ),
        },
        LibraryError::ParseVersionError(v) => Error::AbiMismatch {
            path,
            plugin_abi: abi,
            detail: format!("its plugin ABI version is unreadable: {v}"),
        },
        LibraryError::AbiInstability(detail) => Error::AbiMismatch {
            path,
            detail: layout::mismatch_detail(&abi, &first_lines(&detail.to_string(), 3)),
            plugin_abi: abi,
        },
        LibraryError::RootModule { err, .. } => Error::LoadFailed {
            path,
            reason: match err {
                abi_stable::library::RootModuleError::Unwound => {
                    "its root module constructor panicked".to_string()
                }
                abi_stable::library::RootModuleError::Returned(e) => e.to_string().trim().to_string(),
            },
        },
        other => Error::NotLoadable {
            path,
            reason: other.to_string().trim().to_string(),
        },
    }
}

fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    if lines.len() <= n {
        lines.join("\n")
    } else {
        format!(
            "{}\n... ({} more lines)",
            lines[..n].join("\n"),
            lines.len() - n
        )
    }
}

/// The exit status of a process a plugin ended (ksc's "plugin failure").
pub const EXIT_PLUGIN_ENDED: i32 = 3;

/// Set while a plugin's `generate` runs: what to say if it ends the process.
static RUNNING: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
    fn _exit(status: std::os::raw::c_int) -> !;
}

/// Runs at `exit()`: when a plugin is running, it is the plugin that ended
/// the process (`std::process::exit`, C `exit`), so say so and end with
/// the plugin-failure status instead of the status it chose.
extern "C" fn plugin_ended_process() {
    let message = match RUNNING.try_lock() {
        Ok(mut running) => running.take(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().take(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    };
    if let Some(message) = message {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {message}");
        let _ = err.flush();
        // SAFETY: ends the process without running the remaining exit
        // handlers, which is what exit() was about to do anyway.
        unsafe { _exit(EXIT_PLUGIN_ENDED) }
    }
}

/// Clears [`RUNNING`] when `generate` returns (or unwinds).
struct RunningGuard;

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut r) = RUNNING.lock() {
            *r = None;
        }
    }
}

impl Plugin {
    /// Run the backend on a module.
    ///
    /// The plugin runs in ksc's process (a child process per plugin would
    /// cost a copy of the IR and a second protocol for no other gain); a
    /// plugin that calls `exit` is caught by an `atexit` handler, which
    /// reports it and exits with [`EXIT_PLUGIN_ENDED`]. A plugin that
    /// crashes (a signal) or calls `_exit` cannot be caught this way.
    pub fn generate(&self, module: &ksc_ir::Module, options: &Options) -> Result<Generated, Error> {
        static REGISTERED: std::sync::Once = std::sync::Once::new();
        // SAFETY: registers a plain `extern "C" fn` with libc.
        REGISTERED.call_once(|| unsafe {
            atexit(plugin_ended_process);
        });
        let ir = module.to_ron();
        let opts = options.to_ron();
        let generate = self.module.generate();
        if let Ok(mut r) = RUNNING.lock() {
            *r = Some(format!(
                "backend `{}` ({}) ended the ksc process while generating, without an answer; \
                 this is a bug in the plugin (a plugin returns its errors, it never exits)",
                self.info.name,
                self.info.path.display()
            ));
        }
        let guard = RunningGuard;
        let result = generate(ir.as_str().into(), opts.as_str().into()).into_result();
        drop(guard);
        let name = self.info.name.clone();
        let path = self.info.path.clone();
        let diags = |ds: &abi_stable::std_types::RVec<ksc_plugin_abi::Diagnostic>| -> Vec<Diag> {
            ds.iter()
                .map(|d| Diag {
                    severity: d.severity,
                    message: d.message.to_string(),
                    span: d.span.into_option(),
                })
                .collect()
        };
        match result {
            Ok(out) => {
                let mut files = Vec::with_capacity(out.files.len());
                for f in out.files.iter() {
                    let rel = checked_relative_path(f.path.as_str()).map_err(|message| {
                        Error::InvalidOutput {
                            name: name.clone(),
                            path: path.clone(),
                            message,
                        }
                    })?;
                    files.push((rel, f.contents.to_vec()));
                }
                Ok(Generated {
                    files,
                    diagnostics: diags(&out.diagnostics),
                })
            }
            Err(e) => {
                let message = e.message.to_string();
                Err(match e.kind {
                    ErrorKind::Failed => Error::Failed {
                        name,
                        path,
                        message,
                        diagnostics: diags(&e.diagnostics),
                    },
                    ErrorKind::InvalidInput => Error::InvalidInput {
                        name,
                        path,
                        message,
                    },
                    ErrorKind::Panicked => Error::Panicked {
                        name,
                        path,
                        message,
                    },
                })
            }
        }
    }
}

/// A plugin's output path, refused unless it is relative, non-empty, and
/// stays inside the output directory.
pub fn checked_relative_path(p: &str) -> Result<PathBuf, String> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect())
    } else {
        Err(format!(
            "the file path `{p}` is not a relative path inside the output directory"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let so = std::env::consts::DLL_SUFFIX;
        let pre = std::env::consts::DLL_PREFIX;
        assert_eq!(
            plugin_file_stem(Path::new(&format!("/x/{pre}ksc_backend_ebpf_c{so}"))),
            Some("ebpf_c")
        );
        assert_eq!(plugin_file_stem(Path::new("/x/libother.so")), None);
        assert_eq!(
            plugin_file_stem(Path::new(&format!("/x/{pre}ksc_backend_{so}"))),
            None
        );
        assert_eq!(
            plugin_file_name("ebpf-c"),
            format!("{pre}ksc_backend_ebpf_c{so}")
        );
    }

    #[test]
    fn output_paths_stay_inside() {
        assert_eq!(
            checked_relative_path("a/b.c").unwrap(),
            PathBuf::from("a/b.c")
        );
        assert_eq!(
            checked_relative_path("./b.c").unwrap(),
            PathBuf::from("b.c")
        );
        for bad in ["", "/etc/passwd", "../x", "a/../../x", ".", "a/.."] {
            assert!(checked_relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_and_bogus_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("ksc-plugins-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bogus = dir.join(plugin_file_name("bogus"));
        std::fs::write(&bogus, b"").unwrap();
        let reg = Registry::with_dirs(vec![dir.clone(), dir.join("nonexistent")]);
        assert_eq!(reg.candidates(), vec![bogus.clone()]);
        match reg.load("bogus") {
            Err(Error::NotLoadable { path, reason }) => {
                assert_eq!(path, bogus);
                assert!(reason.contains("cannot open"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match reg.load("absent") {
            Err(e @ Error::NotFound { .. }) => {
                let text = e.to_string();
                assert!(text.contains("no backend plugin named `absent`"), "{text}");
                assert!(text.contains("not loadable"), "{text}");
                assert!(text.contains(&dir.display().to_string()), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let listing = reg.list();
        assert!(listing.plugins.is_empty());
        assert_eq!(listing.broken.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
