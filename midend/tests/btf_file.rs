//! `KSC_BTF=FILE`: the checker reads another kernel's BTF instead of this
//! machine's (docs/language.md, "sched_ext schedulers"). One test in this
//! binary: it sets the variable for the whole process.

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
    std::env::set_var("KSC_BTF", &btf);
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
    let out = check(src);
    assert!(
        has(
            &out.errors,
            7,
            None,
            "`sched_ext_ops` has no function member `tick`",
            ""
        ),
        "{}",
        out.rendered
    );
    assert!(
        has(&out.errors, 9, None, "holds at most 15 characters", ""),
        "{}",
        out.rendered
    );
    assert!(
        !out.rendered.contains("not in this kernel's BTF"),
        "{}",
        out.rendered
    );
    // `new` in eBPF on a kernel without bpf_obj_new (this one has no
    // kfuncs at all): located, for the kernel KSC_BTF names.
    let alloc = "struct B {\n    n: u64,\n}\n\n@xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n    var b = new B()\n    if (b != null) {\n        delete b\n    }\n    return XDP_PASS\n}\n";
    let out = check(alloc);
    assert!(
        has(&out.errors, 7, None, "this kernel has no `bpf_obj_new`", ""),
        "{}",
        out.rendered
    );
    // A file that is no BTF is an error, not a check against no kernel.
    std::env::set_var("KSC_BTF", &c);
    let out = check(src);
    assert!(
        has(&out.errors, 1, None, "KSC_BTF: ", "raw BTF"),
        "{}",
        out.rendered
    );
    let _ = std::fs::remove_dir_all(&dir);
}
