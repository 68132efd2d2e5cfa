//! Golden (snapshot) tests of the generated eBPF C: a set of programs
//! covering each kind of program, map, global and statement, their
//! `<stem>.ebpf.c` compared with the snapshot under `tests/snapshots/`.
//! No root, clang or kernel needed. A change in the generated code shows
//! as a snapshot diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always` and `git diff`).

use std::path::Path;

/// Examples and spec programs (paths from the repository root), and the
/// inputs in `tests/golden/` for what those do not cover (ring buffers,
/// function pointers in eBPF, string concatenation).
pub const INPUTS: &[&str] = &[
    "examples/xdp_flow_counter.ks",
    "examples/xdp_firewall.ks",
    "examples/xdp_pipeline.ks",
    "examples/xdp_blocklist.ks",
    "examples/xdp_parse_errors.ks",
    "examples/xdp_persistent_stats.ks",
    "examples/xdp_link_monitor.ks",
    "examples/tc_counter.ks",
    "examples/tc_proto_accounting.ks",
    "examples/tc_mark_policy.ks",
    "examples/tracepoint_exec_counter.ks",
    "examples/tracepoint_read_latency.ks",
    "examples/kprobe_vfs_read.ks",
    "midend/tests/fixtures/spec/14_pinned_globals_lowering.ks",
    "midend/tests/fixtures/spec/34_struct_ops_minimal.ks",
    "midend/tests/fixtures/spec/40_function_pointers_ebpf.ks",
    "midend/tests/fixtures/spec/57_tail_calls.ks",
    "midend/tests/fixtures/spec/61_match_expressions.ks",
    "midend/tests/fixtures/spec/62_throw_catch.ks",
    "midend/tests/fixtures/spec/64_defer_with_try.ks",
    "backends/ebpf-c/tests/golden/ringbuf_events.ks",
    "backends/ebpf-c/tests/golden/fn_pointers.ks",
];

fn module(path: &str) -> ksc_ir::Module {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::read_to_string(root.join(path)).unwrap();
    // The path as given (relative to the repository): the generated
    // header names it, and snapshots must not depend on the checkout.
    ksc_midend::check_source(&src, path).unwrap_or_else(|e| panic!("{path} does not check:\n{e}"))
}

fn stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn generated_ebpf_c() {
    for path in INPUTS {
        let m = module(path);
        let c = ksc_backend_ebpf_c::generate_c(&m).unwrap_or_else(|e| {
            panic!("{path}: {}", e[0]);
        });
        insta::assert_snapshot!(format!("{}.ebpf.c", stem(path)), c);
    }
}
