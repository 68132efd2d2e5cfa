//! Targets are data: one RON file per target naming the backends that run,
//! in order, and how their output is built.
//!
//! ```ron
//! Target(
//!     description: "eBPF C and a libbpf userspace loader in C",
//!     backends: ["ebpf-c", "libbpf-c"],
//!     when_kfuncs: ["kmod-c"],            // appended when the program has @kfunc/@private
//!     build: Some(Build(command: ["make"])), // run in the output directory
//!     settings: {"key": "value"},         // passed to every backend (Options::settings)
//!     capabilities: ["userspace"],        // what the output can do (Options::capabilities)
//! )
//! ```
//!
//! The target's name is its file name without `.ron`. The repository's
//! `targets/` are built into ksc; files in these directories add targets or
//! replace built-in ones of the same name (later ones win):
//! `<dir of the ksc executable>/targets`, `$XDG_DATA_HOME/ksc/targets`
//! (else `~/.local/share/ksc/targets`), each directory of `KSC_TARGET_PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ksc_ir::{FnKind, Module};
pub use ksc_plugin_abi::{Capability, UnknownCapability};
use serde::{Deserialize, Serialize};

/// The target used when none is given.
pub const DEFAULT_TARGET: &str = "c-libbpf";

/// The environment variable listing extra target directories.
pub const TARGET_PATH_VAR: &str = "KSC_TARGET_PATH";

/// The repository's `targets/*.ron`, built in.
const BUILTIN: &[(&str, &str)] = &[
    ("c-libbpf", include_str!("../../../targets/c-libbpf.ron")),
    ("dot", include_str!("../../../targets/dot.ron")),
    ("ebpf-c", include_str!("../../../targets/ebpf-c.ron")),
    ("rust-aya", include_str!("../../../targets/rust-aya.ron")),
];

/// Where a target was defined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    BuiltIn,
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The file name without `.ron`.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub origin: Origin,
    pub description: String,
    /// Backend plugins, run in this order.
    pub backends: Vec<String>,
    /// Appended to `backends` when the program has kernel-module functions
    /// (`@kfunc`, `@private`).
    #[serde(default)]
    pub when_kfuncs: Vec<String>,
    /// How the output directory is built; `None`: nothing to build.
    #[serde(default)]
    pub build: Option<Build>,
    /// Passed to every backend as `Options::settings`.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// What the output can do; code that depends on it asks this, never
    /// the backends' names. Default none: files written before it existed
    /// still parse.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Program and arguments, run in the output directory (`["make"]`:
    /// make's default goal).
    pub command: Vec<String>,
}

impl Target {
    /// Read a target description.
    pub fn parse(name: &str, text: &str, origin: Origin) -> Result<Target, String> {
        let mut t: Target = ron::from_str(text).map_err(|e| e.to_string())?;
        if t.backends.is_empty() {
            return Err("a target needs at least one backend".to_string());
        }
        if t.build.as_ref().is_some_and(|b| b.command.is_empty()) {
            return Err(
                "the build command is empty (write `build: None` for no build)".to_string(),
            );
        }
        t.name = name.to_string();
        t.origin = origin;
        Ok(t)
    }

    /// Read a target file; its name is the file name without `.ron`.
    pub fn from_file(path: &Path) -> Result<Target, String> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("`{}`: not a target file name", path.display()))?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read target `{}`: {e}", path.display()))?;
        Target::parse(name, &text, Origin::File(path.to_path_buf()))
            .map_err(|e| format!("invalid target file `{}`: {e}", path.display()))
    }

    /// The target declares `c`.
    pub fn has(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }

    /// What `ksc targets --format=ron` prints for this target.
    pub fn listed(&self) -> Listed {
        Listed {
            name: self.name.clone(),
            default: self.name == DEFAULT_TARGET,
            description: self.description.clone(),
            backends: self.backends.clone(),
            when_kfuncs: self.when_kfuncs.clone(),
            build: self.build.as_ref().map(|b| b.command.clone()),
            capabilities: self.capabilities.clone(),
            file: match &self.origin {
                Origin::BuiltIn => None,
                Origin::File(f) => Some(f.clone()),
            },
        }
    }

    /// The backends to run for this module, in order.
    pub fn backends_for(&self, module: &Module) -> Vec<String> {
        let mut out = self.backends.clone();
        let kfuncs = module
            .functions
            .iter()
            .any(|f| matches!(f.kind, FnKind::Kfunc | FnKind::Private));
        if kfuncs {
            out.extend(self.when_kfuncs.iter().cloned());
        }
        out
    }
}

/// One target as `ksc targets --format=ron` lists it: what tools (the
/// conformance runner) read instead of the human-readable listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    /// It is the target used when none is given.
    #[serde(default)]
    pub default: bool,
    pub description: String,
    pub backends: Vec<String>,
    #[serde(default)]
    pub when_kfuncs: Vec<String>,
    /// The build command; `None`: nothing to build.
    #[serde(default)]
    pub build: Option<Vec<String>>,
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The file it was read from; `None`: built in.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl Listed {
    /// The listing as `ksc targets --format=ron` prints it.
    pub fn to_ron(list: &[Listed]) -> String {
        ron::ser::to_string_pretty(list, ron::ser::PrettyConfig::default())
            .expect("a target listing serialises to RON")
    }

    /// Read what `ksc targets --format=ron` printed.
    pub fn from_ron(text: &str) -> Result<Vec<Listed>, String> {
        ron::from_str(text).map_err(|e| format!("malformed target listing: {e}"))
    }
}

/// The known targets, by name.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    pub targets: BTreeMap<String, Target>,
    /// Target files that could not be read (reported, then skipped).
    pub problems: Vec<String>,
}

impl Targets {
    /// Only the built-in targets.
    pub fn builtin() -> Targets {
        let mut t = Targets::default();
        for (name, text) in BUILTIN {
            match Target::parse(name, text, Origin::BuiltIn) {
                Ok(target) => {
                    t.targets.insert(name.to_string(), target);
                }
                Err(e) => t
                    .problems
                    .push(format!("invalid built-in target `{name}`: {e}")),
            }
        }
        t
    }

    /// The built-in targets, then the `*.ron` files of `dirs` in order.
    pub fn load(dirs: &[PathBuf]) -> Targets {
        let mut t = Targets::builtin();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ron") && p.is_file())
                .collect();
            files.sort();
            for f in files {
                match Target::from_file(&f) {
                    Ok(target) => {
                        t.targets.insert(target.name.clone(), target);
                    }
                    Err(e) => t.problems.push(e),
                }
            }
        }
        t
    }

    /// The directories searched by default (see the module docs).
    pub fn default_dirs() -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = crate::exe_dir() {
            dirs.push(d.join("targets"));
        }
        if let Some(d) = crate::data_dir() {
            dirs.push(d.join("ksc").join("targets"));
        }
        if let Some(path) = std::env::var_os(TARGET_PATH_VAR) {
            dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
        }
        dirs
    }

    pub fn from_env() -> Targets {
        Targets::load(&Targets::default_dirs())
    }

    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// A target by name, or by path when `spec` names a `.ron` file
    /// (contains a `/` or ends with `.ron`).
    pub fn resolve(&self, spec: &str) -> Result<Target, String> {
        if let Some(t) = self.get(spec) {
            return Ok(t.clone());
        }
        if spec.contains('/') || spec.ends_with(".ron") {
            return Target::from_file(Path::new(spec));
        }
        let known: Vec<&str> = self.targets.keys().map(String::as_str).collect();
        Err(format!(
            "unknown target `{spec}`; known targets: {}",
            known.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_targets_parse() {
        let t = Targets::builtin();
        assert!(t.problems.is_empty(), "{:?}", t.problems);
        let c = t.get("c-libbpf").unwrap();
        assert_eq!(c.backends, ["ebpf-c", "libbpf-c"]);
        assert_eq!(c.when_kfuncs, ["kmod-c"]);
        assert_eq!(c.build.as_ref().unwrap().command, ["make"]);
        assert!(c.has(Capability::Userspace));
        assert!(t.get("rust-aya").unwrap().has(Capability::Userspace));
        assert!(!t.get("ebpf-c").unwrap().has(Capability::Userspace));
        let d = t.get("dot").unwrap();
        assert_eq!(d.backends, ["dot"]);
        assert!(d.build.is_none());
        assert!(d.capabilities.is_empty());
        assert!(t.get(DEFAULT_TARGET).is_some());
    }

    #[test]
    fn unknown_and_invalid_targets_are_explained() {
        let t = Targets::builtin();
        let e = t.resolve("nope").unwrap_err();
        assert_eq!(
            e,
            "unknown target `nope`; known targets: c-libbpf, dot, ebpf-c, rust-aya"
        );
        let e = Target::parse(
            "x",
            "Target(description: \"\", backends: [])",
            Origin::BuiltIn,
        )
        .unwrap_err();
        assert!(e.contains("at least one backend"), "{e}");
        let e = Target::parse(
            "x",
            "Target(description: \"\", backends: [\"a\"], when_kfunc: [])",
            Origin::BuiltIn,
        )
        .unwrap_err();
        assert!(e.contains("when_kfunc"), "{e}");
        let e = Target::parse(
            "x",
            "Target(description: \"\", backends: [\"a\"], capabilities: [\"teleport\"])",
            Origin::BuiltIn,
        )
        .unwrap_err();
        assert!(
            e.contains("unknown capability `teleport`; known capabilities: userspace"),
            "{e}"
        );
    }

    #[test]
    fn the_ron_listing_round_trips() {
        let t = Targets::builtin();
        let list: Vec<Listed> = t.targets.values().map(Target::listed).collect();
        let back = Listed::from_ron(&Listed::to_ron(&list)).unwrap();
        assert_eq!(back, list);
        let c = back.iter().find(|l| l.name == "c-libbpf").unwrap();
        assert!(c.default);
        assert_eq!(c.capabilities, [Capability::Userspace]);
        assert_eq!(c.build.as_deref(), Some(&["make".to_string()][..]));
        assert!(Listed::from_ron("[(name: 1)]").is_err());
    }

    #[test]
    fn files_override_and_extend_builtins() {
        let dir = std::env::temp_dir().join(format!("ksc-targets-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dot.ron"),
            "(description: \"mine\", backends: [\"dot\", \"x\"])",
        )
        .unwrap();
        std::fs::write(dir.join("broken.ron"), "Target(").unwrap();
        let t = Targets::load(std::slice::from_ref(&dir));
        assert_eq!(t.get("dot").unwrap().backends, ["dot", "x"]);
        assert_eq!(
            t.get("dot").unwrap().origin,
            Origin::File(dir.join("dot.ron"))
        );
        assert_eq!(t.problems.len(), 1);
        assert!(t.problems[0].contains("broken.ron"), "{:?}", t.problems);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
