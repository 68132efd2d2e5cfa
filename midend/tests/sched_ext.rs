//! sched_ext schedulers (docs/language.md, "sched_ext schedulers"): the
//! kfuncs and constants a `@struct_ops("sched_ext_ops")` impl uses without
//! declaring them, typed as the kernel has them.

mod support;

use ksc_ir::{FnKind, TypeKind, Value};
use support::*;

/// A scheduler as the reference's spec writes one: no `extern`s, no
/// header, the old kfunc names beside the new.
const SPEC_LIKE: &str = r#"
@struct_ops("sched_ext_ops")
impl fifo {
    fn select_cpu(p: *task_struct, prev_cpu: i32, wake_flags: u64) -> i32 {
        var idle: bool = false
        var cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle)
        if (idle) {
            scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0)
        }
        return cpu
    }
    fn enqueue(p: *task_struct, enq_flags: u64) -> void {
        scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags | SCX_ENQ_HEAD)
    }
    fn dispatch(cpu: i32, prev: *task_struct) -> void {
        if (!scx_bpf_consume(SCX_DSQ_GLOBAL)) {
            scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE)
        }
    }
    fn init() -> i32 {
        return scx_bpf_create_dsq(7, -1)
    }
    timeout_ms: 0,
}

fn main() -> i32 {
    return register(fifo)
}
"#;

#[test]
fn a_scheduler_uses_the_kfuncs_and_constants_without_declaring_them() {
    // Clean but for the warning of a kernel without sched_ext (this one).
    let o = check(SPEC_LIKE);
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        o.warnings
            .iter()
            .all(|w| w.message.contains("sched_ext_ops")),
        "{}",
        o.rendered
    );
    let m = o.module.unwrap();
    for k in [
        "scx_bpf_select_cpu_dfl",
        "scx_bpf_dsq_insert",
        "scx_bpf_dispatch",
        "scx_bpf_consume",
        "scx_bpf_kick_cpu",
        "scx_bpf_create_dsq",
    ] {
        assert!(
            m.functions
                .iter()
                .any(|f| f.name == k && f.kind == FnKind::Extern { helper: None }),
            "{k} is declared"
        );
    }
    // The constants are u64 values, above 2^63 for the built-in queues.
    let mut seen = vec![];
    for f in &m.functions {
        f.body.walk_exprs(&mut |e| {
            if let ksc_ir::ExprKind::Value(Value::UInt(v)) = &e.kind {
                if matches!(
                    m.types[e.ty.index()].kind,
                    TypeKind::Int(ksc_ir::IntType::U64)
                ) {
                    seen.push(*v);
                }
            }
        });
    }
    for v in [(1u64 << 63) | 1, (1 << 63) | 2, 20_000_000, 1 << 16] {
        assert!(seen.contains(&v), "{v:#x} as a u64 value in {seen:x?}");
    }
    // The table's name: the impl's, in the kernel's 128 bytes, with or
    // without sched_ext in this kernel's BTF.
    let name = m.struct_ops[0].fields.iter().find(|f| f.name == "name");
    assert_eq!(
        name.map(|f| (&f.value, f.size)),
        Some((&Value::Str("fifo".into()), 128))
    );
    let timeout = m.struct_ops[0]
        .fields
        .iter()
        .find(|f| f.name == "timeout_ms");
    assert_eq!(timeout.map(|f| f.size), Some(4));
}

#[test]
fn a_header_declaring_the_constants_takes_their_place() {
    // Headers written for the reference declare sched_ext's enums.
    let src = r#"
enum scx_dsq_id_flags {
    SCX_DSQ_GLOBAL = 9223372036854775809,
    SCX_DSQ_LOCAL = 9223372036854775810,
}
extern scx_bpf_dsq_insert(p: *task_struct, dsq_id: u64, slice: u64, enq_flags: u64) -> void

@struct_ops("sched_ext_ops")
impl s {
    fn enqueue(p: *task_struct, enq_flags: u64) -> void {
        scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags)
    }
    name: "s",
}
"#;
    let o = check(src);
    assert!(o.errors.is_empty(), "{}", o.rendered);
}

#[test]
fn the_kfuncs_exist_only_for_schedulers() {
    assert_error(
        r#"
@xdp
fn f(ctx: *xdp_md) -> xdp_action {
    scx_bpf_kick_cpu(0, 0)
    return XDP_PASS
}
"#,
        4,
        None,
        "scx_bpf_kick_cpu",
        "",
    );
}

#[test]
fn a_string_member_too_long_for_the_kernel_is_an_error() {
    let long = "x".repeat(130);
    let src = format!(
        "@struct_ops(\"sched_ext_ops\")\nimpl s {{\n    fn init() -> i32 {{\n        return 0\n    }}\n    name: \"{long}\",\n}}\n"
    );
    assert_error(&src, 6, None, "holds at most 127 characters", "");
}

#[test]
fn a_task_may_be_any_pointer_as_the_spec_writes_it() {
    // The reference's spec types the members' tasks `*u8`: ksc's kfuncs
    // take any pointer there (C converts); a program's own `extern` keeps
    // its declared types.
    let src = r#"
@struct_ops("sched_ext_ops")
impl s {
    fn enqueue(p: *u8, enq_flags: u64) -> void {
        scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags)
    }
    fn dispatch(cpu: i32, prev: *u8) -> void {
        scx_bpf_consume(SCX_DSQ_GLOBAL)
    }
}
"#;
    let o = check(src);
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert_error(
        r#"
extern scx_bpf_task_cpu(p: *task_struct) -> i32
@struct_ops("sched_ext_ops")
impl s {
    fn running(p: *u8) -> void {
        scx_bpf_task_cpu(p)
    }
}
"#,
        6,
        None,
        "mismatched types",
        "",
    );
}
