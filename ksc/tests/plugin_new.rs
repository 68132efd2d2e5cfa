//! `ksc plugin new NAME` writes a plugin crate that builds as it is
//! (cargo, offline, against this workspace's ABI crate and lock file) and
//! runs through a target file, as the README says; its `src/lib.rs` is
//! plugins/README.md's example, so the README's plugin is the one tested.

use std::path::Path;
use std::process::Command;

fn ksc(dir: &Path, args: &[&str], plugins: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksc"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("KSC_TARGET_PATH");
    match plugins {
        Some(p) => cmd.env("KSC_PLUGIN_PATH", p),
        None => cmd.env_remove("KSC_PLUGIN_PATH"),
    };
    cmd.output().expect("run ksc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_new_plugin_builds_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-new");
    let dir = tmp.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let abi = root.join("plugins/abi");
    let o = ksc(
        &dir,
        &[
            "plugin",
            "new",
            "hello",
            "--abi-path",
            abi.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let krate = dir.join("ksc-backend-hello");
    for f in ["Cargo.toml", "src/lib.rs", "hello.ron", "README.md"] {
        assert!(krate.join(f).is_file(), "{f}");
    }
    // What is built below is the example of plugins/README.md, word for word.
    let readme = std::fs::read_to_string(root.join("plugins/README.md")).unwrap();
    let example = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("plugins/README.md has a Rust example");
    let lib = std::fs::read_to_string(krate.join("src/lib.rs")).unwrap();
    let code = &lib[lib.find("use ").unwrap()..];
    assert_eq!(
        code, example,
        "plugins/README.md's example and `ksc plugin new`'s src/lib.rs differ"
    );
    // Again: refused, nothing overwritten.
    let o = ksc(&dir, &["plugin", "new", "hello"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already exists"),
        "{}",
        text(&o.stderr)
    );
    let o = ksc(&dir, &["plugin", "new", "Bad_Name"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is not a plugin name"),
        "{}",
        text(&o.stderr)
    );

    // The workspace's versions: no network needed.
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = tmp.join("target");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&krate)
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build failed:\n{}",
        text(&out.stderr)
    );
    let plugins = target.join("debug");

    let o = ksc(&krate, &["plugins"], Some(&plugins));
    assert!(
        text(&o.stdout).contains("hello 0.1.0 (IR "),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );

    std::fs::write(
        krate.join("prog.ks"),
        "@helper fn bump(x: u32) -> u32 {\n    return x + 1\n}\n\
         @xdp fn pass(ctx: *xdp_md) -> xdp_action {\n    bump(1)\n    return XDP_PASS\n}\n",
    )
    .unwrap();
    let o = ksc(
        &krate,
        &["--target=./hello.ron", "prog.ks", "-o", "out"],
        Some(&plugins),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let listed = std::fs::read_to_string(krate.join("out/prog.txt")).unwrap();
    assert!(
        listed.contains("bump Ebpf\n") && listed.contains("pass Ebpf\n"),
        "{listed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
