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
var events : ringbuf<u64>(4096)
pin var shared : hash<u32, u64>(16)

@kfunc
fn bump(x: u32) -> u64 {
    total = 1
    counts[x] = 1
    events.submit(x as u64)
    shared[x] = 2
    return 0
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    bump(1)
    counts[2] = 5
    return XDP_PASS
}
"#;
    let o = ksc_build(src, &d, &[], &[]);
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // A map eBPF code uses too: the module cannot reach it.
    assert!(
        err.contains("prog.ks:9:5")
            && err.contains("map `counts` is used by kernel-module code (@kfunc/@private) and by eBPF code: the module cannot reach the eBPF program's maps")
            && err.contains("eBPF code uses it here")
            && err.contains("pass the value the module needs to the @kfunc as an argument"),
        "{err}"
    );
    assert!(
        err.contains("prog.ks:10:5")
            && err.contains("ring buffer `events` cannot be used in kernel-module code"),
        "{err}"
    );
    assert!(
        err.contains("prog.ks:11:5")
            && err.contains("pinned map `shared` cannot be kernel-module storage"),
        "{err}"
    );
    // Reported by the midend: the backend's messages never come.
    assert!(!err.contains("global `total`"), "{err}");
    let d = dir();
    let o = ksc_build(
        &src.replace("    counts[2] = 5\n", "")
            .replace("    events.submit(x as u64)\n", "")
            .replace("    shared[x] = 2\n", ""),
        &d,
        &[],
        &[],
    );
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("prog.ks:8:5") && err.contains("global `total`"),
        "{err}"
    );
    assert!(!err.contains("counts"), "{err}");
}

/// A map only module code uses is the module's own storage (every map
/// kind but ring buffers): not in the eBPF object, static tables in the
/// module, which builds without a warning for 6.1 and 6.12.
#[test]
fn a_map_only_module_code_uses_is_the_modules_own_storage() {
    let d = dir();
    let src = r#"struct Stats {
    packets: u64,
    bytes: u64,
}
var by_src : hash<u32, Stats>(100)
var recent : lru_hash<u64, u32>(3)
var slots : array<u32, u64>(8)
var per_cpu : percpu_array<u32, u64>(4)
var scratch : percpu_hash<u32, u64>(4)
var seen : hash<u32, u64>(4)

@kfunc
fn account(src: u32, len: u32) -> u64 {
    by_src[src].packets += 1
    by_src[src].bytes += len
    recent[src as u64] = len
    slots[src % 8] += 1
    per_cpu[0] += 1
    scratch[src] = 1
    delete scratch[src]
    var r = recent[src as u64]
    if (r == null) {
        return 0
    }
    return by_src[src].bytes + slots[src % 8] + per_cpu[0] + (*r as u64)
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    seen[1] = account(1, 2)
    return XDP_PASS
}
"#;
    let o = ksc_build(src, &d, &[], &[]);
    let out = d.join("out");
    let c = std::fs::read_to_string(out.join("prog.mod.c")).unwrap_or_default();
    let ebpf = std::fs::read_to_string(out.join("prog.ebpf.c")).unwrap_or_default();
    assert!(o.status.success() || modules_load_here(), "{}", stderr(&o));
    // Only `seen`, which eBPF code uses, is a BPF map.
    assert_eq!(ebpf.matches("SEC(\".maps\")").count(), 1, "{ebpf}");
    assert!(ebpf.contains("} seen SEC(\".maps\")"), "{ebpf}");
    for t in ["by_src", "recent", "scratch"] {
        assert!(
            c.contains(&format!("static struct __ksc_table __ksc_map_{t} = {{")),
            "{c}"
        );
    }
    assert!(
        c.contains(".lru = true,") && c.contains("static __u64 __ksc_map_slots[8];"),
        "{c}"
    );
    assert!(
        c.contains("__ksc_map_per_cpu = __alloc_percpu(sizeof(__u64) * 4"),
        "{c}"
    );
    assert!(c.contains("free_percpu(__ksc_map_scratch.pcpu);"), "{c}");
    assert!(!c.contains("seen"), "{c}");
    let _ = std::fs::remove_dir_all(&d);
    for kernel in ["6.1", "6.12"] {
        ksc_testkit::require!(ksc_qemu::kernel_build_tree(kernel, &mut |_| {})
            .map(|_| ())
            .map_err(|e| format!("no build tree for Debian's {kernel}: {e}")));
        let d = dir();
        let o = ksc_build(src, &d, &[&format!("--kernel={kernel}")], &[]);
        let ko = d.join("out/prog.ko").exists();
        let _ = std::fs::remove_dir_all(&d);
        let err = stderr(&o);
        assert!(o.status.success() && ko, "{kernel}: {err}");
        assert!(!err.contains("warning"), "{kernel}: {err}");
    }
}

#[test]
fn module_code_calls_kernel_functions_and_a_missing_one_is_located() {
    ksc_testkit::require!(ksc_qemu::kernel_build_tree("6.12", &mut |_| {})
        .map(|_| ())
        .map_err(|e| format!("no build tree for Debian's 6.12: {e}")));
    let d = dir();
    let src = r#"extern ktime_get_ns() -> u64
extern no_such_kernel_function(x: u32) -> u32

@kfunc
fn stamp(x: u64) -> u64 {
    return ktime_get_ns() + x
}

@kfunc
fn bogus(x: u32) -> u32 {
    return no_such_kernel_function(x)
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    if (stamp(1) > 0 && bogus(2) > 0) {
        return XDP_PASS
    }
    return XDP_DROP
}
"#;
    let bad = ksc_build(src, &d, &["--kernel=6.12"], &[]);
    let good = ksc_build(
        &src.replace("    return no_such_kernel_function(x)", "    return x"),
        &d,
        &["--kernel=6.12"],
        &[],
    );
    let ko = d.join("out/prog.ko").exists();
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&bad);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains("kernel function `no_such_kernel_function` does not exist for modules")
            && err.contains("prog.ks:2:1"),
        "{err}"
    );
    assert!(!err.contains("`ktime_get_ns`"), "{err}");
    assert!(good.status.success() && ko, "{}", stderr(&good));
}

/// The loader's refusal of a module the kernel will not take, under qemu:
/// a module built for Debian's 6.12 inserted into 6.1 is refused with
/// ENOEXEC, which the loader says in plain words and follows with what
/// the kernel logged about the module (its own words: the version magic
/// or a symbol version that disagrees).
#[test]
fn a_module_built_for_another_kernel_is_refused_with_the_kernels_words() {
    ksc_testkit::require!(ksc_qemu::kernel_build_tree("6.12", &mut |_| {})
        .map_err(|e| format!("no build tree for Debian's 6.12: {e}")));
    let kernel = match ksc_qemu::fetch("6.1", &mut |_| {}) {
        Ok(k) => k,
        Err(e) => {
            ksc_testkit::skip(&format!("Debian's 6.1 cannot be fetched: {e}"));
            return;
        }
    };
    let d = dir();
    let o = ksc_build(PROG, &d, &["--kernel=6.12"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = d.join("out");
    assert!(out.join("prog.ko").exists());
    let guest = ksc_qemu::Guest {
        files: vec![(out.clone(), "/t".into())],
        // Its shared libraries come along this way.
        programs: vec![out.join("prog").to_string_lossy().into_owned()],
        script: concat!(
            "cd /t && ./prog >/dev/null 2>/tmp/err; echo \"rc=$?\" > \"$KSC_OUT\"\n",
            "cat /tmp/err >> \"$KSC_OUT\"\n",
            "ls /sys/module | grep '^ksc_' >> \"$KSC_OUT\"\n",
        )
        .into(),
        timeout: std::time::Duration::from_secs(240),
        ..ksc_qemu::Guest::default()
    };
    let outcome = ksc_qemu::boot(&kernel, &guest);
    let _ = std::fs::remove_dir_all(&d);
    let outcome = outcome.unwrap_or_else(|e| panic!("the 6.1 guest: {e}"));
    let said = outcome.output;
    assert!(said.starts_with("rc=1\n"), "{said}");
    assert!(
        said.contains("error: cannot insert the kernel module of `prog`")
            && said.contains("it was built for another kernel"),
        "{said}"
    );
    let kernel_line = said
        .lines()
        .find(|l| l.starts_with("  the kernel said: "))
        .unwrap_or_else(|| panic!("no words of the kernel's: {said}"));
    assert!(
        kernel_line.contains("ksc_prog_")
            && (kernel_line.contains("version magic")
                || kernel_line.contains("disagrees about version")),
        "{kernel_line}"
    );
    assert!(!said.contains("\nksc_"), "the module stayed loaded: {said}");
}

/// A kfunc call from a program type the chosen kernel does not let call
/// kfuncs is a located warning at the build (6.1 refuses them from
/// tracepoints and kprobes: conformance `kmod-tracepoint-kfunc` and
/// `kmod-probe-kfunc` show its verifier's refusal); 6.12 takes both.
#[test]
fn kfunc_calls_a_kernel_will_refuse_are_warned_about_at_the_call() {
    for label in ["6.1", "6.12"] {
        ksc_testkit::require!(ksc_qemu::kernel_build_tree(label, &mut |_| {})
            .map_err(|e| format!("no build tree for Debian's {label}: {e}")));
    }
    let src = r#"
@kfunc
fn weigh(x: u64) -> u64 {
    return x * 2 + 1
}

var weights : array<u32, u64>(1)

@helper
fn weighed(x: u64) -> u64 {
    return weigh(x)
}

@tracepoint("sched/sched_process_exec")
fn on_exec(ctx: *trace_event_raw_sched_process_exec) -> i32 {
    weights[0] += weighed(ctx->pid as u64)
    return 0
}

@probe("vfs_read")
fn on_read(file: *u8, buf: *u8, count: size_t, pos: *i64) -> i32 {
    weights[0] += weigh(count)
    return 0
}

@xdp
fn kf(ctx: *xdp_md) -> xdp_action {
    weights[0] += weigh(1)
    return XDP_PASS
}

// Calls no kfunc: the set is not registered for TC.
@tc("ingress")
fn quiet(ctx: *__sk_buff) -> i32 {
    return TC_ACT_OK
}
"#;
    let d = dir();
    let old = ksc_build(src, &d, &["--kernel=6.1"], &[]);
    let c = std::fs::read_to_string(d.join("out/prog.mod.c")).unwrap_or_default();
    let new = ksc_build(src, &d, &["--kernel=6.12"], &[]);
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&old);
    assert!(old.status.success(), "{err}");
    // The call in the helper the tracepoint program calls, and the
    // kprobe's own call; none for XDP.
    assert!(
        err.contains("does not let tracepoint programs call kfuncs (Linux 6.12 and later do)")
            && err.contains("in `on_exec`")
            && err.contains("prog.ks:11:12"),
        "{err}"
    );
    assert!(
        err.contains("does not let probe programs call kfuncs (Linux 6.10 and later do)")
            && err.contains("prog.ks:22:19"),
        "{err}"
    );
    assert_eq!(err.matches("call kfuncs").count(), 2, "{err}");
    // The set is registered for exactly the types that call kfuncs.
    for t in ["XDP", "TRACEPOINT", "KPROBE"] {
        assert!(
            c.contains(&format!("register_btf_kfunc_id_set(BPF_PROG_TYPE_{t}")),
            "{t}: {c}"
        );
    }
    assert!(!c.contains("BPF_PROG_TYPE_SCHED_CLS"), "{c}");
    assert!(new.status.success(), "{}", stderr(&new));
    assert!(!stderr(&new).contains("call kfuncs"), "{}", stderr(&new));
}
