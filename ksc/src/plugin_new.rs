//! `ksc plugin new NAME`: write an out-of-tree backend plugin crate that
//! builds and runs as it is (the templates are `plugin_new/*.in`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const CARGO_TOML: &str = include_str!("plugin_new/Cargo.toml.in");
const LIB_RS: &str = include_str!("plugin_new/lib.rs.in");
const TARGET_RON: &str = include_str!("plugin_new/target.ron.in");
const README: &str = include_str!("plugin_new/README.md.in");

/// The ABI crate of the ksc being run, when its source is still where it
/// was built (a checkout); otherwise the plugin names the published crate.
fn default_abi_path() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/abi");
    p.join("Cargo.toml")
        .is_file()
        .then(|| p.canonicalize().unwrap_or(p))
}

/// Write `<dir>/<NAME>/` (default: `./ksc-backend-<NAME>/`).
pub(crate) fn new(name: &str, abi_path: Option<&Path>, dir: Option<&Path>) -> ExitCode {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        eprintln!(
            "error: `{name}` is not a plugin name\nhelp: use lowercase letters, digits and `-`, \
             starting with a letter (targets name the backend by it)"
        );
        return ExitCode::from(2);
    }
    let krate = format!("ksc-backend-{name}");
    let lib = krate.replace('-', "_");
    let abi = abi_path.map(Path::to_path_buf).or_else(default_abi_path);
    let abi_dep = match &abi {
        Some(p) => format!(
            "ksc-plugin-abi = {{ path = {:?} }}",
            p.display().to_string()
        ),
        None => format!(
            "# the ABI of this ksc ({}); or a path to ksc's plugins/abi\nksc-plugin-abi = \"{}\"",
            ksc_plugins::ABI_VERSION,
            ksc_plugins::ABI_VERSION
        ),
    };
    let fill = |t: &str| {
        t.replace("@NAME@", name)
            .replace("@CRATE@", &krate)
            .replace("@LIB@", &lib)
            .replace("@ABI_DEP@", &abi_dep)
    };
    let root = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(&krate));
    if root.exists() {
        eprintln!(
            "error: `{}` already exists; nothing was written\nhelp: give another directory with --dir",
            root.display()
        );
        return ExitCode::from(2);
    }
    let files = [
        ("Cargo.toml".to_string(), fill(CARGO_TOML)),
        ("src/lib.rs".to_string(), fill(LIB_RS)),
        (format!("{name}.ron"), fill(TARGET_RON)),
        ("README.md".to_string(), fill(README)),
    ];
    for (rel, text) in &files {
        let path = root.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "wrote the backend plugin `{name}` to {}: build it with `cargo build --release` there, \
         then run `KSC_PLUGIN_PATH=target/release ksc --target=./{name}.ron FILE.ks`",
        root.display()
    );
    ExitCode::SUCCESS
}
