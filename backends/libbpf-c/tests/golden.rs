//! Golden (snapshot) tests of the generated userspace C (`<stem>.c`, the
//! loader over the libbpf skeleton) and the Makefile, for programs with a
//! userspace part. No root, clang or kernel needed; see
//! `backends/ebpf-c/tests/golden.rs`.

use std::path::Path;

const INPUTS: &[&str] = &[
    "examples/xdp_flow_counter.ks",
    "examples/xdp_firewall.ks",
    "examples/xdp_pipeline.ks",
    "examples/xdp_persistent_stats.ks",
    "examples/xdp_link_monitor.ks",
    "examples/tc_counter.ks",
    "examples/tc_proto_accounting.ks",
    "examples/tracepoint_exec_counter.ks",
    "examples/kprobe_vfs_read.ks",
    "midend/tests/fixtures/spec/14_pinned_globals_lowering.ks",
    "midend/tests/fixtures/spec/17_program_function_refs.ks",
    "midend/tests/fixtures/spec/34_struct_ops_minimal.ks",
    "midend/tests/fixtures/spec/51_compound_assign_userspace.ks",
    "midend/tests/fixtures/spec/60_tail_call_userspace.ks",
    "midend/tests/fixtures/spec/68_userspace_try_catch.ks",
    "midend/tests/fixtures/spec/70_cli_args.ks",
    "midend/tests/fixtures/spec/80_test_descriptive_name.ks",
    "backends/ebpf-c/tests/golden/ringbuf_events.ks",
    "backends/ebpf-c/tests/golden/fn_pointers.ks",
];

fn module(path: &str) -> ksc_ir::Module {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::read_to_string(root.join(path)).unwrap();
    ksc_midend::check_source(&src, path).unwrap_or_else(|e| panic!("{path} does not check:\n{e}"))
}

fn files(path: &str) -> Vec<(String, String)> {
    ksc_backend_libbpf_c::generate(&module(path)).unwrap_or_else(|e| panic!("{path}: {}", e[0]))
}

#[test]
fn generated_userspace_c() {
    for path in INPUTS {
        let stem = Path::new(path).file_stem().unwrap().to_string_lossy();
        let (_, c) = files(path)
            .into_iter()
            .find(|(n, _)| n.ends_with(".c"))
            .unwrap();
        insta::assert_snapshot!(format!("{stem}.c"), c);
    }
}

#[test]
fn generated_makefile() {
    let (_, mk) = files("examples/xdp_flow_counter.ks")
        .into_iter()
        .find(|(n, _)| n == "Makefile")
        .unwrap();
    insta::assert_snapshot!("Makefile", mk);
}
