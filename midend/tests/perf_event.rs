//! `@perf_event` programs (docs/language.md, "`@perf_event` programs"):
//! the program's signature and helpers, `attach(h, perf_options { .. }, 0)`
//! with its defaults, `read`/`detach` of a `PerfAttachment`, the errors
//! decided at compile time (each at its line and column, with its help),
//! and the built-in names a program may still define for itself.

mod support;
use support::*;

/// A program and a `main` whose body is `body`.
fn with_main(body: &str) -> String {
    format!(
        "var hits : array<u32, u64>(1)\n\
         @perf_event\n\
         fn on_sample(ctx: *bpf_perf_event_data) -> i32 {{\n\
         \x20   hits[0] += ctx->sample_period\n\
         \x20   return 0\n\
         }}\n\
         fn main() -> i32 {{\n\
         \x20   var prog = load(on_sample)\n\
         {body}\n\
         \x20   return 0\n\
         }}\n"
    )
}

/// The arguments of the (one) `attach` of a perf counter in `m`.
fn perf_attach_args(m: &ksc_ir::Module) -> Vec<ksc_ir::Expr> {
    let mut found = vec![];
    for f in &m.functions {
        f.body.walk_exprs(&mut |x| {
            if let ksc_ir::ExprKind::Call {
                callee: ksc_ir::Callee::Builtin(ksc_ir::Builtin::AttachPerf),
                args,
            } = &x.kind
            {
                found = args.clone();
            }
        });
    }
    found
}

fn int(e: &ksc_ir::Expr) -> Option<i128> {
    match &e.kind {
        ksc_ir::ExprKind::Value(ksc_ir::Value::Int(v)) => Some(*v as i128),
        ksc_ir::ExprKind::Value(ksc_ir::Value::UInt(v)) => Some(*v as i128),
        ksc_ir::ExprKind::Value(ksc_ir::Value::Bool(b)) => Some(*b as i128),
        ksc_ir::ExprKind::Cast(x) => int(x),
        ksc_ir::ExprKind::Unary {
            op: ksc_ir::UnOp::Neg,
            operand,
        } => int(operand).map(|v| -v),
        _ => None,
    }
}

#[test]
fn a_perf_event_program_and_its_attach_with_defaults() {
    let m = assert_clean(&with_main(
        "    var att: PerfAttachment = attach(prog, perf_options { perf_type: perf_type_software, perf_config: page_faults }, 0)\n\
         \x20   var n: i64 = read(att)\n\
         \x20   print(\"%lld\", n)\n\
         \x20   detach(att)\n\
         \x20   detach(prog)",
    ));
    let p = m.functions.iter().find(|f| f.name == "on_sample").unwrap();
    assert_eq!(
        p.kind,
        ksc_ir::FnKind::Program(ksc_ir::ProgramType::PerfEvent)
    );
    assert_eq!(ksc_ir::ProgramType::PerfEvent.elf_section(), "perf_event");
    // handle, flags, then perf_type, perf_config, pid, cpu, period,
    // wakeup, inherit, exclude_kernel, exclude_user.
    let args = perf_attach_args(&m);
    let vals: Vec<Option<i128>> = args[1..].iter().map(int).collect();
    assert_eq!(
        vals,
        [0, 1, 2, -1, 0, 1_000_000, 1, 0, 0, 0].map(Some).to_vec(),
        "{args:#?}"
    );
    // Every field given.
    let m = assert_clean(&with_main(
        "    var att = attach(prog, perf_options { perf_type: perf_type_hardware, perf_config: cpu_cycles, pid: 0, cpu: -1, period: 5000, wakeup: 4, inherit: true, exclude_kernel: true, exclude_user: false }, 0)\n\
         \x20   detach(att)",
    ));
    let vals: Vec<Option<i128>> = perf_attach_args(&m)[1..].iter().map(int).collect();
    assert_eq!(vals, [0, 0, 0, 0, -1, 5000, 4, 1, 1, 0].map(Some).to_vec());
}

#[test]
fn the_program_takes_bpf_perf_event_data_and_returns_i32() {
    assert_error(
        "@perf_event\nfn h(ctx: *xdp_md) -> i32 {\n    return 0\n}\n",
        2,
        Some(6),
        "this program takes one parameter: `ctx: *bpf_perf_event_data`",
        "",
    );
    assert_error(
        "@perf_event\nfn h(ctx: *bpf_perf_event_data) -> bool {\n    return true\n}\n",
        2,
        None,
        "a `@perf_event` program returns `i32`",
        "",
    );
    assert_error(
        "@perf_evnt\nfn h(ctx: *bpf_perf_event_data) -> i32 {\n    return 0\n}\n",
        1,
        Some(2),
        "unknown attribute `@perf_evnt`",
        "did you mean `@perf_event`?",
    );
}

#[test]
fn helpers_are_those_of_tracing_programs() {
    let prog = |call: &str| {
        format!(
            "var out : array<u32, u64>(1)\n@perf_event\nfn h(ctx: *bpf_perf_event_data) -> i32 {{\n    {call}\n    return 0\n}}\n"
        )
    };
    assert_clean(&prog("out[0] = bpf_get_current_pid_tgid()"));
    assert_clean(&prog(
        "var comm: u8[16]\n    bpf_get_current_comm(&comm, 16)",
    ));
    assert_clean(&prog(
        "var v: u8[24]\n    bpf_perf_prog_read_value(ctx, &v, 24)",
    ));
    let o = check(&prog("bpf_xdp_adjust_head(ctx, 4)"));
    assert!(
        o.errors
            .iter()
            .any(|d| d.line == 4 && d.message.contains("bpf_xdp_adjust_head")),
        "{}",
        o.rendered
    );
    // bpf_perf_prog_read_value is perf_event's own.
    let o = check(
        "@xdp\nfn x(ctx: *xdp_md) -> xdp_action {\n    var v: u8[24]\n    bpf_perf_prog_read_value(ctx, &v, 24)\n    return XDP_PASS\n}\n",
    );
    assert!(
        o.errors
            .iter()
            .any(|d| d.line == 4 && d.message.contains("bpf_perf_prog_read_value")),
        "{}",
        o.rendered
    );
}

#[test]
fn flags_other_than_zero_are_refused_when_constant() {
    let src = with_main(
        "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: 0 }, 1)",
    );
    assert_error(
        &src,
        9,
        Some(108),
        "a perf attach takes no flags: this is 1",
        "write 0",
    );
    // Not constant: the runtime refuses it.
    assert_clean(&with_main(
        "    var f: u32 = 0\n    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: 0 }, f)\n    detach(att)",
    ));
}

#[test]
fn every_process_on_every_cpu_is_refused_when_constant() {
    assert_error(
        &with_main(
            "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: -1, cpu: -1 }, 0)",
        ),
        9,
        Some(103),
        "cannot watch every process on every CPU",
        "`pid: 0` is this process",
    );
    // pid's default is -1: the error is at the `cpu` written.
    assert_error(
        &with_main(
            "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, cpu: -1 }, 0)",
        ),
        9,
        Some(103),
        "cannot watch every process on every CPU",
        "every process on one CPU (`pid: -1`, `cpu: 0`)",
    );
    assert_error(
        &with_main(
            "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: -2 }, 0)",
        ),
        9,
        Some(103),
        "`pid` is -1 (any) or a number, not -2",
        "`pid: 0` is this process",
    );
    assert_clean(&with_main(
        "    var c: i32 = -1\n    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, pid: -1, cpu: c }, 0)\n    detach(att)",
    ));
}

#[test]
fn perf_options_fields_are_checked() {
    assert_error(
        &with_main("    var att = attach(prog, perf_options { perf_type: perf_type_software }, 0)"),
        9,
        Some(28),
        "`perf_options` needs the field `perf_config`",
        "perf_config: page_faults",
    );
    assert_error(
        &with_main(
            "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, cpus: 1 }, 0)",
        ),
        9,
        Some(98),
        "`perf_options` has no field `cpus`",
        "did you mean `cpu`?",
    );
    assert_error(
        &with_main(
            "    var att = attach(prog, perf_options { perf_type: perf_type_software, perf_config: cpu_clock, inherit: 3 }, 0)",
        ),
        9,
        Some(107),
        "mismatched types: expected `bool`, found `u32`",
        "",
    );
    // Outside `attach`: where it goes.
    assert_error(
        &with_main(
            "    var o = perf_options { perf_type: perf_type_software, perf_config: cpu_clock }",
        ),
        9,
        Some(13),
        "a `perf_options` literal is written as the second argument of `attach`",
        "attach(handle, perf_options {",
    );
}

#[test]
fn a_counter_named_for_the_other_type_is_a_warning() {
    let o = check(&with_main(
        "    var att = attach(prog, perf_options { perf_type: perf_type_hardware, perf_config: page_faults, pid: 0, cpu: -1 }, 0)\n    detach(att)",
    ));
    assert!(o.errors.is_empty(), "{}", o.rendered);
    assert!(
        has(
            &o.warnings,
            9,
            Some(87),
            "`page_faults` is a counter of `perf_type_software`, not of `perf_type_hardware` (with `perf_type_hardware` it is `cache_references`)",
            "write `perf_type: perf_type_software`",
        ),
        "{}",
        o.rendered
    );
}

#[test]
fn read_and_detach_of_attachments_are_userspace_only() {
    let o = check(
        "var keep : array<u32, u64>(1)\n@perf_event\nfn h(ctx: *bpf_perf_event_data) -> i32 {\n    keep[0] = read(0)\n    return 0\n}\n",
    );
    assert!(
        o.errors
            .iter()
            .any(|d| d.line == 4 && d.message.contains("`read` is a userspace function")),
        "{}",
        o.rendered
    );
    // read takes an attachment.
    assert_error(
        &with_main("    var n = read(prog)"),
        9,
        None,
        "mismatched types",
        "",
    );
}

#[test]
fn a_programs_own_names_hide_the_perf_built_ins() {
    // `read`, `instructions`, `cpu_clock` are common words: a program may
    // define them (docs/language.md, "`@perf_event` programs").
    let m = assert_clean(
        "var instructions: u32 = 5\n\
         fn read(fd: u32) -> u32 {\n    return fd + instructions\n}\n\
         fn main() -> i32 {\n    var cpu_clock: u32 = 2\n    return read(cpu_clock) as i32\n}\n",
    );
    assert!(m.functions.iter().any(|f| f.name == "read"));
    // Unless defined, they are the built-ins.
    assert_clean(&with_main(
        "    var t: perf_type = perf_type_software\n    var c: u64 = instructions\n    print(\"%u %llu\", t, c)",
    ));
}
