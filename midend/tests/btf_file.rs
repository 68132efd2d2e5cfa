//! The BTF a check reads is its input: given (`CheckOptions::btf`, what
//! `ksc check --btf FILE` passes), else `KSC_BTF=FILE`'s, else the running
//! kernel's (docs/language.md, "sched_ext schedulers"). One test in this
//! binary: it sets variables for the whole process.

mod support;

use support::*;

const KERNEL: &str = r#"
struct task_struct { int pid; };
struct sched_ext_ops {
    int (*select_cpu)(struct task_struct *, int, unsigned long long);
    void (*enqueue)(struct task_struct *, unsigned long long);
    int (*init)(void);
    unsigned long long flags;
    unsigned int timeout_ms;
    char name[16];
};
struct sched_ext_ops ops;
"#;

#[test]
fn the_checker_reads_the_kernel_named_by_ksc_btf() {
    // A kernel of two structs: BTF from clang, as raw BTF (the .BTF section).
    let dir = std::env::temp_dir().join(format!("ksc-btf-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, o, btf) = (dir.join("k.c"), dir.join("k.o"), dir.join("k.btf"));
    std::fs::write(&c, KERNEL).unwrap();
    let ran = |cmd: &str, args: &[&std::ffi::OsStr]| {
        std::process::Command::new(cmd)
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ran(
        "clang",
        &["-g", "-target", "bpf", "-c"]
            .map(std::ffi::OsStr::new)
            .into_iter()
            .chain([c.as_os_str(), "-o".as_ref(), o.as_os_str()])
            .collect::<Vec<_>>(),
    ) || !ran(
        "llvm-objcopy",
        &[
            std::ffi::OsString::from(format!("--dump-section=.BTF={}", btf.display())).as_os_str(),
            o.as_os_str(),
        ],
    ) {
        ksc_testkit::skip("clang and llvm-objcopy are needed to make a BTF file");
        return;
    }
    // The running kernel's BTF is hidden: each check below reads only the
    // BTF it is given or KSC_BTF names.
    std::env::set_var("KSC_NO_HOST_BTF", "1");
    let e = ksc_midend::btf::Btf::load_vmlinux().unwrap_err();
    assert!(e.contains("KSC_NO_HOST_BTF"), "{e}");
    let none = ksc_midend::CheckOptions::default();
    let ops = "@struct_ops(\"sched_ext_ops\")\nimpl s {\n    fn init() -> i32 {\n        return 0\n    }\n}\n";
    let tp = "@tracepoint(\"sched/sched_switch\")\nfn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return ctx->prev_pid as i32\n}\n";
    let out = check_with(tp, &none);
    assert!(
        has(&out.errors, 2, None, "not found in the kernel's BTF", "")
            && out.rendered.contains("KSC_NO_HOST_BTF hides"),
        "{}",
        out.rendered
    );
    // The tests' BTF, a Debian kernel's, has it.
    assert!(check_with(tp, &options()).errors.is_empty());
    // Given (what `ksc check --btf FILE` does), then named by KSC_BTF.
    let given = ksc_midend::btf::Btf::load_file(&btf).unwrap();
    let given = ksc_midend::CheckOptions {
        btf: Some(&given),
        ..Default::default()
    };
    checks_against_a_two_struct_kernel("given", &given);
    std::env::set_var("KSC_BTF", &btf);
    checks_against_a_two_struct_kernel("KSC_BTF", &none);
    // A file that is no BTF is an error, not a check against no kernel.
    std::env::set_var("KSC_BTF", &c);
    let out = check_with(ops, &none);
    assert!(
        has(&out.errors, 1, None, "KSC_BTF: ", "raw BTF"),
        "{}",
        out.rendered
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn checks_against_a_two_struct_kernel(how: &str, opts: &ksc_midend::CheckOptions) {
    // This kernel has sched_ext_ops: members are checked against it, and
    // its `name` holds 15 characters.
    let src = r#"
@struct_ops("sched_ext_ops")
impl s {
    fn init() -> i32 {
        return 0
    }
    fn tick(p: *task_struct) -> void {
    }
    name: "a_name_of_twenty_chars",
}
"#;
    let out = check_with(src, opts);
    assert!(
        has(
            &out.errors,
            7,
            None,
            "`sched_ext_ops` has no function member `tick`",
            ""
        ),
        "{how}: {}",
        out.rendered
    );
    assert!(
        has(&out.errors, 9, None, "holds at most 15 characters", ""),
        "{how}: {}",
        out.rendered
    );
    assert!(
        !out.rendered.contains("not in this kernel's BTF"),
        "{how}: {}",
        out.rendered
    );
    // `new` in eBPF on a kernel without bpf_obj_new (this one has no
    // kfuncs at all): located, for the kernel given.
    let alloc = "struct B {\n    n: u64,\n}\n\n@xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n    var b = new B()\n    if (b != null) {\n        delete b\n    }\n    return XDP_PASS\n}\n";
    let out = check_with(alloc, opts);
    assert!(
        has(&out.errors, 7, None, "this kernel has no `bpf_obj_new`", ""),
        "{how}: {}",
        out.rendered
    );
}
