//! The plugin ABI evolves without breaking plugins: plugins built against
//! the previous shape of the root module (before `homepage`) and against
//! a next one (with `homepage` and a field after it) load and run in this
//! host; a changed layout without a version bump, and the version numbers
//! abi_stable refuses, are refused with a one-line reason.
//!
//! Each plugin is `tests/abi-fixture` (a copy of the ABI crate's types at
//! that shape, named `ksc-plugin-abi`), built here with cargo, offline,
//! against this workspace's lock file, into a target directory that
//! persists under `target/tmp` (the first run compiles abi_stable).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use abi_stable::sabi_types::{VersionNumber, VersionStrings};
use ksc_plugins::{load_path, Error, Options, ABI_VERSION};

/// Builds share one output file name: one at a time.
static BUILD: Mutex<()> = Mutex::new(());

/// Build the fixture as crate version `version` with `features`, declaring
/// plugin ABI `abi`; returns a copy of the library named as a plugin.
fn build_fixture(test: &str, version: &str, features: &str, abi: &str) -> PathBuf {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..").canonicalize().unwrap();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abi-fixture");
    let src = tmp.join("src-dir");
    std::fs::create_dir_all(src.join("src")).unwrap();
    let fixture = manifest.join("tests/abi-fixture");
    let toml = std::fs::read_to_string(fixture.join("Cargo.toml.in"))
        .unwrap()
        .replace("@VERSION@", version)
        .replace("@IR@", root.join("ir").to_str().unwrap());
    std::fs::write(src.join("Cargo.toml"), toml).unwrap();
    std::fs::copy(fixture.join("src/lib.rs"), src.join("src/lib.rs")).unwrap();
    // The workspace's versions of abi_stable and its dependencies: no
    // network needed.
    std::fs::copy(root.join("Cargo.lock"), src.join("Cargo.lock")).unwrap();
    let target = tmp.join("target");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--lib"])
        .arg("--manifest-path")
        .arg(src.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .args(["--features", features])
        .env("FIXTURE_ABI", abi)
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building the fixture failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = target.join("debug").join(format!(
        "{}ksc_plugin_abi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let dir = tmp.join(format!("plugins-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let plugin = dir.join(ksc_plugins::plugin_file_name("fixture"));
    std::fs::copy(&lib, &plugin).unwrap();
    plugin
}

fn module() -> ksc_ir::Module {
    ksc_ir::Module {
        version: ksc_ir::IR_VERSION,
        name: "t".into(),
        source_path: "t.ks".into(),
        files: ksc_ir::SourceMap::single("t.ks", ""),
        types: vec![],
        maps: vec![],
        globals: vec![],
        configs: vec![],
        functions: vec![],
        struct_ops: vec![],
        python_modules: vec![],
        exec_scripts: vec![],
        main: None,
        analysis: ksc_ir::Analysis::default(),
    }
}

/// It loads, says who it is, and its `generate` runs.
fn loads_and_runs(plugin: &Path, crate_version: &str) -> ksc_plugins::PluginInfo {
    let p = load_path(plugin).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.info.name, "fixture");
    assert_eq!(p.info.version, crate_version);
    assert_eq!(p.info.abi_version, ABI_VERSION);
    let out = p.generate(&module(), &Options::default()).unwrap();
    assert_eq!(
        out.files,
        vec![(
            PathBuf::from("fixture.txt"),
            crate_version.as_bytes().to_vec()
        )]
    );
    p.info
}

#[test]
fn a_plugin_built_against_the_previous_abi_loads() {
    let plugin = build_fixture("previous", "0.2.0", "", "0.2.0");
    let info = loads_and_runs(&plugin, "0.2.0");
    // A field the plugin's ABI did not have reads as absent.
    assert_eq!(info.homepage, None);
}

#[test]
fn a_plugin_built_against_the_next_abi_loads() {
    let plugin = build_fixture("next", "0.2.9", "next", "0.2.0");
    let info = loads_and_runs(&plugin, "0.2.9");
    // A field both know is read; the one after it (`priority`) is unknown
    // to this host and ignored.
    assert_eq!(
        info.homepage.as_deref(),
        Some("https://example.org/fixture")
    );
}

#[test]
fn a_layout_change_without_a_version_bump_names_the_field() {
    let plugin = build_fixture("changed", "0.2.1", "changed", "0.2.0");
    let e = load_path(&plugin).unwrap_err();
    assert!(matches!(e, Error::AbiMismatch { .. }), "{e:?}");
    let text = e.to_string();
    eprintln!("{text}");
    assert!(
        text.contains("says plugin ABI 0.2.0 like this ksc, but its types differ from ksc's: at `"),
        "{text}"
    );
    assert!(
        text.contains("at `BackendMod.ir_version`, ksc's type is `u32`, the plugin's `u64`"),
        "{text}"
    );
    assert!(!text.contains("but this ksc uses plugin ABI"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn abi_versions_are_checked_as_documented() {
    // What abi_stable 0.11 requires of a 0.x version (host, plugin): the
    // same minor, the plugin's patch at least the host's. So a host whose
    // patch moved would refuse every older plugin: ABI_VERSION keeps patch 0.
    let v = |s: &'static str| -> VersionNumber { VersionStrings::new(s).parsed().unwrap() };
    assert!(v("0.2.0").is_compatible(v("0.2.5")));
    assert!(!v("0.2.1").is_compatible(v("0.2.0")));
    assert!(!v("0.2.0").is_compatible(v("0.3.0")));
    assert!(ABI_VERSION.ends_with(".0"), "{ABI_VERSION}");

    // Seen from this host: a newer patch loads, another minor does not.
    let plugin = build_fixture("patch", "0.2.0", "", "0.2.3");
    let p = load_path(&plugin).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.info.abi_version, "0.2.3");
    for other in ["0.3.0", "0.1.0"] {
        let plugin = build_fixture(&format!("minor-{other}"), "0.2.0", "", other);
        let text = load_path(&plugin).unwrap_err().to_string();
        eprintln!("{text}");
        assert!(
            text.contains(&format!(
                "was built for plugin ABI {other}, but this ksc uses plugin ABI {ABI_VERSION}"
            )),
            "{text}"
        );
    }

    // The types' crate version is checked loosely: another minor of
    // ksc-plugin-abi is refused even with the same ABI_VERSION.
    let plugin = build_fixture("crate-minor", "0.3.0", "", "0.2.0");
    let text = load_path(&plugin).unwrap_err().to_string();
    eprintln!("{text}");
    assert!(
        text.contains(
            "at `BackendMod`, ksc's type comes from crate version 0.2.1, the plugin's from 0.3.0"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn older_and_newer_plugins_load_side_by_side() {
    // abi_stable keeps a global view of each prefix type across the
    // libraries it checked: one process (one ksc run) loads both kinds,
    // in either order, and each still answers for itself.
    let previous = build_fixture("side-previous", "0.2.0", "", "0.2.0");
    let next = build_fixture("side-next", "0.2.9", "next", "0.2.0");
    for _ in 0..2 {
        assert_eq!(
            loads_and_runs(&next, "0.2.9").homepage.as_deref(),
            Some("https://example.org/fixture")
        );
        assert_eq!(loads_and_runs(&previous, "0.2.0").homepage, None);
    }
}
