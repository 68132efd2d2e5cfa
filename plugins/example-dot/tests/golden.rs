//! Golden (snapshot) tests of the DOT plugin's output.

use std::path::Path;

#[test]
fn generated_dot() {
    for path in [
        "examples/xdp_pipeline.ks",
        "midend/tests/fixtures/spec/34_struct_ops_minimal.ks",
    ] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let src = std::fs::read_to_string(root.join(path)).unwrap();
        let parsed = ksc_frontend::parse(&src);
        let checked = ksc_midend::check(&parsed.file, &src, path);
        assert!(!parsed.has_errors() && !checked.has_errors(), "{path}");
        let dot = ksc_backend_dot::to_dot(checked.module.as_ref().unwrap());
        let stem = Path::new(path).file_stem().unwrap().to_string_lossy();
        insta::assert_snapshot!(format!("{stem}.dot"), dot);
    }
}
