//! The kernel-module side (`@kfunc`, `@private`) on this machine, whose
//! kernel cannot load modules: what `ksc build` says for each choice of
//! kernel, the located errors for what module code cannot use, and the
//! loader's plain refusal. Loading and calling the kfuncs is proven under
//! qemu (conformance/cases/kmod-*, on 6.1 and 6.12).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

const PROG: &str = r#"
@kfunc
fn tripled(x: u32) -> u32 {
    return x * 3
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    if (tripled(2) == 6) {
        return XDP_PASS
    }
    return XDP_DROP
}

fn main() -> i32 {
    return 0
}
"#;

fn dir() -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ksc-kmod-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ksc_build(src: &str, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let ks = dir.join("prog.ks");
    std::fs::write(&ks, src).unwrap();
    let plugins = Path::new(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    let mut c = Command::new(env!("CARGO_BIN_EXE_ksc"));
    c.arg("build")
        .arg(&ks)
        .arg("-o")
        .arg(dir.join("out"))
        .args(extra)
        .env("KSC_PLUGIN_PATH", plugins)
        .env_remove("KSC_KERNEL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn modules_load_here() -> bool {
    Path::new("/proc/modules").exists()
}

#[test]
fn the_module_source_and_kbuild_files_are_written() {
    let d = dir();
    let o = ksc_build(PROG, &d, &[], &[]);
    let out = d.join("out");
    let c = std::fs::read_to_string(out.join("prog.mod.c")).unwrap();
    let kbuild = std::fs::read_to_string(out.join("kmod/Kbuild")).unwrap();
    let ebpf = std::fs::read_to_string(out.join("prog.ebpf.c")).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    assert!(o.status.success() || modules_load_here(), "{}", stderr(&o));
    assert!(c.contains("BTF_KFUNCS_START") && c.contains("BTF_SET8_START"));
    assert!(c.contains("register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP"));
    assert!(c.contains("MODULE_LICENSE(\"GPL\")"));
    assert!(kbuild.starts_with("# Generated") && kbuild.contains("obj-m := ksc_prog_"));
    assert!(ebpf.contains("extern __u32 tripled(__u32 x) __ksym;"));
}

#[test]
fn the_running_kernel_without_modules_is_a_warning_and_the_loader_refuses_plainly() {
    if modules_load_here() {
        ksc_testkit::skip(
            "this kernel can load modules: the no-module messages are for one that cannot",
        );
        return;
    }
    let d = dir();
    let o = ksc_build(PROG, &d, &[], &[]);
    let err = stderr(&o);
    let exe = d.join("out/prog");
    let run = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: the kernel module of `prog` was not built")
            && err.contains("cannot load modules")
            && err.contains("--kernel"),
        "{err}"
    );
    assert_eq!(run.status.code(), Some(1));
    let rerr = stderr(&run);
    assert!(
        rerr.contains("needs its kernel module") && rerr.contains("cannot load modules"),
        "{rerr}"
    );
}

#[test]
fn a_chosen_kernel_without_a_build_tree_is_an_error() {
    let d = dir();
    let empty = d.join("empty-tree");
    std::fs::create_dir_all(&empty).unwrap();
    let by_option = ksc_build(PROG, &d, &[&format!("--kernel={}", empty.display())], &[]);
    let by_env = ksc_build(PROG, &d, &[], &[("KSC_KERNEL", "0.0-none")]);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(by_option.status.code(), Some(1), "{}", stderr(&by_option));
    assert!(
        stderr(&by_option).contains("no kernel build tree for the directory"),
        "{}",
        stderr(&by_option)
    );
    assert_eq!(by_env.status.code(), Some(1), "{}", stderr(&by_env));
    assert!(
        stderr(&by_env).contains("/lib/modules/0.0-none/build"),
        "{}",
        stderr(&by_env)
    );
}

#[test]
fn maps_and_globals_in_module_code_are_located_errors() {
    let d = dir();
    let src = r#"var counts : hash<u32, u64>(16)
var total: u64 = 0

@kfunc
fn bump(x: u32) -> u64 {
    total = 1
    counts[x] = 1
    return 0
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    bump(1)
    return XDP_PASS
}
"#;
    let o = ksc_build(src, &d, &[], &[]);
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("prog.ks:6:5") && err.contains("global `total`"),
        "{err}"
    );
    assert!(
        err.contains("prog.ks:7:5") && err.contains("map `counts`"),
        "{err}"
    );
}
