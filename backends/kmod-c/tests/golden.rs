//! Golden (snapshot) tests of the generated kernel module C: programs with
//! `@kfunc`/`@private` functions, their `<stem>.mod.c` compared with the
//! snapshot under `tests/snapshots/`. No kernel or build tree needed (the
//! modules are built for 6.1 and 6.12 by `ksc/tests/kmod.rs` and
//! `spec_programs.rs`, and run under qemu by `conformance/cases/kmod-*`).
//! A change in the generated code shows as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always` and `git diff`).

use std::path::Path;

/// Paths from the repository root.
const INPUTS: &[&str] = &[
    // Maps only module code uses: every kind, lowered to module storage.
    "conformance/cases/kmod-module-map/prog.ks",
    // `new`/`delete`: kzalloc (GFP_ATOMIC by default) and kfree.
    "conformance/cases/kmod-new-delete/prog.ks",
    "examples/kfunc_packet_score.ks",
    "midend/tests/fixtures/spec/28_private_functions.ks",
];

fn module(path: &str) -> ksc_ir::Module {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::read_to_string(root.join(path)).unwrap();
    ksc_midend::check_source(&src, path).unwrap_or_else(|e| panic!("{path} does not check:\n{e}"))
}

#[test]
fn generated_module_c() {
    for path in INPUTS {
        let m = module(path);
        let files = ksc_backend_kmod_c::generate(&m).unwrap_or_else(|e| panic!("{path}: {}", e[0]));
        let (_, c) = files.iter().find(|(p, _)| p.ends_with(".mod.c")).unwrap();
        let dir = Path::new(path).parent().unwrap().file_name().unwrap();
        let stem = Path::new(path).file_stem().unwrap().to_string_lossy();
        let name = if stem == "prog" {
            dir.to_string_lossy().into_owned()
        } else {
            stem.into_owned()
        };
        insta::assert_snapshot!(format!("{name}.mod.c"), c);
    }
}
