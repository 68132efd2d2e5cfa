//! The host column of the conformance suite, in `cargo test`: every case
//! under conformance/cases/ on this machine's kernel with every userspace
//! target (`cargo run --release -p ksc-conformance` adds 6.1 and 6.12).

use std::process::Command;

#[test]
fn every_case_passes_on_this_kernel() {
    let work = std::env::temp_dir().join(format!("ksc-conformance-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_ksc-conformance"))
        .args(["--kernels", "host", "--work"])
        .arg(&work)
        // Builds ksc and its plugins first, as `cargo run` would.
        .env("CARGO", env!("CARGO"))
        .output()
        .expect("run ksc-conformance");
    let _ = std::fs::remove_dir_all(&work);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with(" failed") && l.contains(" 0 failed")),
        "{out}"
    );
}
