//! The link flags a C program needs to link the bridge's static library:
//! the Python pyo3 was configured with (PYO3_PYTHON, see .cargo/config.toml)
//! plus what any Rust static library needs. ksc reads them from the
//! compile-time plugin (`ksc_python_ldflags`) for the generated Makefile;
//! and the interpreter's path (`ksc_python_executable`), for Rust loaders.

fn main() {
    let cfg = pyo3_build_config::get();
    let mut flags = Vec::new();
    if let Some(dir) = cfg.lib_dir() {
        flags.push(format!("-L{dir}"));
        // A libpython outside the linker's default paths must be found at
        // run time too.
        if !["/usr/lib", "/usr/lib64", "/lib"]
            .iter()
            .any(|d| dir.starts_with(d))
        {
            flags.push(format!("-Wl,-rpath,{dir}"));
        }
    }
    if let Some(name) = cfg.lib_name() {
        flags.push(format!("-l{name}"));
    }
    // A Rust staticlib's own system libraries (`--print native-static-libs`).
    flags.extend(
        [
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    println!("cargo:rustc-env=KSC_PY_LDFLAGS={}", flags.join(" "));
    // The interpreter itself: a Rust loader (rust-aya) builds its own pyo3
    // against the same Python (PYO3_PYTHON in its .cargo/config.toml).
    println!(
        "cargo:rustc-env=KSC_PY_EXECUTABLE={}",
        cfg.executable().unwrap_or("python3")
    );
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
