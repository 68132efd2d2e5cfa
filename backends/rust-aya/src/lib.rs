//! # Rust/aya userspace backend
//!
//! The program's own executable as a Cargo project: `src/main.rs` (the
//! program's userspace functions, in Rust), `ksc-rt/` (the loader runtime
//! over [aya], crate `ksc-aya-rt` from `runtime/`, the counterpart of the
//! C loader's `ksc_runtime.c`; see `runtime.rs`), `Cargo.toml`/`Cargo.lock`,
//! and the Makefile that
//! builds `<name>.ebpf.o` (the eBPF C backend's object, which the Rust
//! program embeds and loads with aya) and then `<name>` with
//! `cargo build --release` in a cargo target directory shared by every
//! program (`$KSC_CARGO_TARGET_DIR`, else `~/.cache/ksc/cargo-target`).
//!
//! [aya]: https://aya-rs.dev

mod emit;
mod python;
mod runtime;

use ksc_plugin_abi::export_backend;
use ksc_plugin_abi::ksc_ir::Module;

pub use ksc_plugin_abi::EmitError;

/// 64-bit FNV-1a, hex: names the executable in the shared target directory.
fn hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// A crate name from the program's name.
fn crate_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s
    } else {
        format!("ksc_{s}")
    }
}

/// Format with rustfmt when it is installed (the text is valid either way).
fn rustfmt(src: String) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return src;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(src.as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => {
            String::from_utf8(out.stdout).unwrap_or(src)
        }
        _ => src,
    }
}

/// The Makefile: the eBPF object (as the eBPF C backend's), then the
/// executable through cargo, copied next to it.
fn makefile(name: &str, bin: &str, runtime: &str, extra_deps: &str) -> String {
    let ebpf = ksc_backend_c_common::makefile(name, None);
    let ebpf = ebpf.replace("all: $(EBPF_OBJ)\n", &format!("all: $(EBPF_OBJ) {name}\n"));
    let ebpf = ebpf.replace("rm -f $(EBPF_OBJ)", &format!("rm -f $(EBPF_OBJ) {name}"));
    format!(
        r#"{ebpf}
# The executable: a Cargo project (aya). Every program builds in one
# cargo target directory, so aya and its dependencies compile once; set
# KSC_CARGO_TARGET_DIR to use another, CARGO_FLAGS=--offline to never
# touch the network (the crates must be cached, e.g. by one online build).
KSC_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ksc
KSC_CARGO_TARGET_DIR ?= $(KSC_CACHE_DIR)/cargo-target
CARGO ?= cargo
CARGO_FLAGS ?=

{name}: Cargo.toml Cargo.lock src/main.rs {runtime}{extra_deps} $(EBPF_OBJ)
	CARGO_TARGET_DIR=$(KSC_CARGO_TARGET_DIR) $(CARGO) build --release --quiet $(CARGO_FLAGS)
	cp -f $(KSC_CARGO_TARGET_DIR)/release/{bin} $@.$$$$ && mv -f $@.$$$$ $@
"#
    )
}

/// Generate the Cargo project and the Makefile.
pub fn generate(module: &Module) -> Result<Vec<(String, String)>, Vec<EmitError>> {
    generate_with(module, None)
}

/// [`generate`], with the Python interpreter the bridge embeds (ksc's
/// setting `python-executable`), needed when the program imports Python.
pub fn generate_with(
    module: &Module,
    python: Option<&str>,
) -> Result<Vec<(String, String)>, Vec<EmitError>> {
    let main = rustfmt(emit::generate_main(module)?);
    let krate = crate_name(&module.name);
    let uses_python = !module.python_modules.is_empty();
    let python = match (uses_python, python) {
        (false, _) => None,
        (true, Some(p)) => Some(p),
        (true, None) => {
            return Err(vec![EmitError::at(
                &module.files,
                module.python_modules[0].span,
                format!(
                    "the program imports Python modules, but ksc did not pass the Python bridge's interpreter (setting `{}`)",
                    python::SETTING
                ),
            )])
        }
    };
    let rt_files = runtime::files(uses_python);
    let mut hashed = vec![main.as_str()];
    hashed.extend(rt_files.iter().map(|(_, text)| text.as_str()));
    if uses_python {
        hashed.extend(python::SOURCES);
    }
    let bin = format!("ksc-{}-{}", krate, &hash(&hashed)[..12]);
    let rt_features = if uses_python {
        ", features = [\"python\"]"
    } else {
        ""
    };
    let cargo_toml = format!(
        r#"# Generated by ksc from {src} — do not edit.
# The userspace side of `{name}`: loads {name}.ebpf.o (embedded) with aya.
[package]
name = "{krate}"
version = "0.1.0"
edition = "2021"
publish = false

# Named by a hash of its source: programs share one cargo target directory.
[[bin]]
name = "{bin}"
path = "src/main.rs"

[dependencies]
# For `include_bytes_aligned!`; the runtime uses aya too.
aya = "0.13.1"
# The loader runtime, written here by ksc.
ksc-aya-rt = {{ path = "ksc-rt"{rt_features} }}

[profile.release]
debug = false

# Not part of any enclosing workspace.
[workspace]
"#,
        src = module.source_path,
        name = module.name,
    );
    let lock = if uses_python {
        python::CARGO_LOCK
    } else {
        runtime::CARGO_LOCK
    };
    let lock = runtime::lock(lock, &krate);
    let make_deps = if uses_python { python::MAKE_DEPS } else { "" };
    let rt_paths: Vec<&str> = rt_files.iter().map(|(n, _)| n.as_str()).collect();
    let mk = makefile(&module.name, &bin, &rt_paths.join(" "), make_deps);
    let mut files = vec![
        ("Cargo.toml".into(), cargo_toml),
        ("Cargo.lock".into(), lock),
        ("src/main.rs".into(), main),
        ("Makefile".into(), mk),
    ];
    files.extend(rt_files);
    if let Some(p) = python {
        files.extend(python::files(module, p));
    }
    // With `exec`: the map module its scripts import (the same file as
    // the C loader's).
    files.extend(ksc_backend_c_common::python_maps_module(module));
    Ok(files)
}

export_backend! {
    name: "rust-aya",
    version: env!("CARGO_PKG_VERSION"),
    description: "the userspace program as a Cargo project in Rust over aya, with the Makefile for both sides",
    outputs: ["rs", "toml", "Makefile", "py"],
    generate: |module, options| {
        generate_with(module, options.settings.get(python::SETTING).map(String::as_str))
    },
}
