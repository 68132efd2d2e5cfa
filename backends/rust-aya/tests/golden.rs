//! Golden (snapshot) tests of the generated Rust (`src/main.rs`), the
//! Cargo manifest and the Makefile; and the errors for what aya cannot do.
//! No root, cargo build or kernel needed (`cargo metadata` checks the lock
//! file; the tests that build and run the projects are
//! `ksc/tests/rust_aya.rs` and the conformance suite).

use std::path::Path;

const INPUTS: &[&str] = &[
    "examples/xdp_blocklist.ks",
    "examples/tc_counter.ks",
    "examples/xdp_pipeline.ks",
    "examples/tracepoint_exec_counter.ks",
    "conformance/cases/lang-errors-user/prog.ks",
];

fn module(path: &str) -> ksc_ir::Module {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::read_to_string(root.join(path)).unwrap();
    ksc_midend::check_source(&src, path).unwrap_or_else(|e| panic!("{path} does not check:\n{e}"))
}

fn file(path: &str, name: &str) -> String {
    ksc_backend_rust_aya::generate(&module(path))
        .unwrap_or_else(|e| panic!("{path}: {}", e[0].message))
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

#[test]
fn generated_rust() {
    for path in INPUTS {
        let stem = Path::new(path)
            .with_extension("")
            .to_string_lossy()
            .replace('/', "_");
        insta::assert_snapshot!(format!("{stem}.rs"), file(path, "src/main.rs"));
    }
}

#[test]
fn generated_manifest_and_makefile() {
    let toml = file("examples/xdp_flow_counter.ks", "Cargo.toml");
    // The executable's name carries a hash of the sources: not snapshotted.
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("name = \"ksc-"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("Cargo.toml", toml);
    let mk = file("examples/xdp_flow_counter.ks", "Makefile");
    assert!(mk.contains("KSC_CARGO_TARGET_DIR ?= $(KSC_CACHE_DIR)/cargo-target"));
    assert!(mk.contains("all: $(EBPF_OBJ) xdp_flow_counter"));
    let lock = file("examples/xdp_flow_counter.ks", "Cargo.lock");
    assert!(lock.contains("name = \"aya\"\nversion = \"0.13.1\""));
    assert!(lock.contains("name = \"xdp_flow_counter\""));
}

#[test]
fn what_aya_cannot_do_is_a_located_error_naming_c_libbpf() {
    let m = module("midend/tests/fixtures/spec/34_struct_ops_minimal.ks");
    let errs = ksc_backend_rust_aya::generate(&m).unwrap_err();
    assert!(
        errs.iter().any(|e| e.message.contains("struct_ops")
            && e.message.contains("the c-libbpf target supports it")
            && e.span.is_some()),
        "{errs:?}"
    );
}

/// With `exec`, the map module `<name>.py` (docs/language.md, "`exec` into
/// Python"): the same file as the C loader's, from the shared writer
/// (libbpf-c's `tests/pymaps.rs` runs it on real maps).
#[test]
fn the_map_module_is_the_shared_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../libbpf-c/tests/pymaps/prog.ks");
    let src = std::fs::read_to_string(&path).unwrap();
    let m = ksc_midend::check_source(&src, &path.display().to_string()).unwrap();
    let (name, text) = ksc_backend_c_common::python_maps_module(&m).unwrap();
    let files = ksc_backend_rust_aya::generate(&m).unwrap();
    let ours = files.iter().find(|(n, _)| *n == name).expect("prog.py");
    assert_eq!(ours.1, text);
    assert!(
        !ksc_backend_rust_aya::generate(&module("examples/xdp_blocklist.ks"))
            .unwrap()
            .iter()
            .any(|(n, _)| n.ends_with(".py"))
    );
}

/// aya 0.13 does not resolve kfuncs: eBPF `new`/`delete` (bpf_obj_new,
/// bpf_obj_drop) in an object userspace loads is refused at the `new`, not
/// left to fail at load ("Unable to determine the size of section
/// `.ksyms`"). A program that never loads its object (conformance
/// `lang-new-delete`'s userspace) still builds.
#[test]
fn ebpf_kfunc_calls_are_refused_when_the_object_is_loaded() {
    let src = "struct B {\n    n: u64,\n}\n\n@xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n    var b = new B()\n    if (b == null) {\n        return XDP_PASS\n    }\n    delete b\n    return XDP_PASS\n}\n\nfn main() -> i32 {\n    var p = load(f)\n    return 0\n}\n";
    let m = ksc_midend::check_source(src, "k.ks").unwrap();
    let errs = ksc_backend_rust_aya::generate(&m).unwrap_err();
    assert!(
        errs.iter().any(|e| e.message.contains("kfuncs")
            && e.message.contains("the rust-aya target")
            && e.span
                .is_some_and(|s| &src[s.start as usize..s.end as usize] == "new B()")),
        "{errs:?}"
    );
    let unloaded = src.replace("    var p = load(f)\n", "");
    let m = ksc_midend::check_source(&unloaded, "k.ks").unwrap();
    assert!(ksc_backend_rust_aya::generate(&m).is_ok());
    let m = module("conformance/cases/lang-new-delete/prog.ks");
    assert!(ksc_backend_rust_aya::generate(&m).is_ok());
}

/// The lock file is the one cargo would write for the project (with the
/// runtime crate `ksc-rt/` as a path dependency): `cargo metadata
/// --locked --offline` accepts it unchanged, so `make` builds offline
/// once the crates are cached. Skips visibly when they are not.
#[test]
fn the_lock_file_is_the_one_cargo_writes() {
    let dir = std::env::temp_dir().join(format!("ksc-aya-lock-{}", std::process::id()));
    let files = ksc_backend_rust_aya::generate(&module("examples/xdp_flow_counter.ks")).unwrap();
    for (name, text) in &files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let o = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    if !o.status.success() && err.contains("offline") && !err.contains("needs to be updated") {
        return ksc_testkit::skip(&format!("the crates are not cached: {err}"));
    }
    assert!(o.status.success(), "{err}");
    let ours = files.iter().find(|(n, _)| n == "Cargo.lock").unwrap();
    assert_eq!(lock, ours.1, "cargo rewrote the lock file");
}
