//! The whole flow a user follows: `ksc build` a program (both backends,
//! make: eBPF object and the program's C side by side, the executable with
//! the object linked in), then run the executable and check what it prints
//! and its exit status, in the kernel. Needs root, clang, bpftool, libbpf.
//!
//! This file: `ksc test`, the `@test` functions run in the kernel with
//! BPF_PROG_TEST_RUN and the packet bytes their contexts carry.

mod userspace_common;

use userspace_common::*;

#[test]
fn ksc_test_runs_the_test_functions_in_the_kernel() {
    // `test(prog, ctx)` runs the program once through BPF_PROG_TEST_RUN on
    // a packet of `packet_size` bytes; `ksc test` reports each @test.
    let dir = std::env::temp_dir().join(format!("ksc-user-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("filt.ks");
    std::fs::write(
        &ks,
        r#"
var seen : array<u32, u64>(1)
@xdp
fn packet_filter(ctx: *xdp_md) -> xdp_action {
    seen[0] += 1
    var packet_size = ctx->data_end - ctx->data
    if (packet_size > 1000) {
        return XDP_DROP
    }
    return XDP_PASS
}
@tc("ingress")
fn shaper(ctx: *__sk_buff) -> i32 {
    if (ctx->len > 1000) {
        return TC_ACT_SHOT
    }
    return TC_ACT_OK
}
@test
fn test_small_packets() -> i32 {
    var test_ctx = XdpTestContext { packet_size: 64, interface_id: 1, expected_action: 2 }
    var result = test(packet_filter, test_ctx)
    return if (result == XDP_PASS) { 0 } else { 1 }
}
@test
fn test_large_packets() -> i32 {
    var result = test(packet_filter, XdpTestContext { packet_size: 1500, interface_id: 0, expected_action: 1 })
    return if (result == XDP_DROP && seen[0] == 2) { 0 } else { 1 }
}
@test
fn test_tc() -> i32 {
    var small = test(shaper, XdpTestContext { packet_size: 100, interface_id: 0, expected_action: 0 })
    var large = test(shaper, XdpTestContext { packet_size: 1200, interface_id: 0, expected_action: 0 })
    return if (small == TC_ACT_OK && large == TC_ACT_SHOT) { 0 } else { 1 }
}
@test
fn test_wrong_expectation() -> i32 {
    var result = test(packet_filter, XdpTestContext { packet_size: 100, interface_id: 0, expected_action: 1 })
    return if (result == XDP_DROP) { 0 } else { 7 }
}
fn main() -> i32 {
    return 0
}
"#,
    )
    .unwrap();
    let o = ksc("test", &ks, &dir.join("out"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert_eq!(
        out,
        "running 4 tests\ntest test_small_packets ... ok\ntest test_large_packets ... ok\ntest test_tc ... ok\ntest test_wrong_expectation ... FAILED (returned 7)\n\ntest result: FAILED. 3 passed; 1 failed\n"
    );
    // The ordinary run is untouched by the tests.
    let plain = run(&dir.join("out/filt"), &[]);
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(stdout(&plain), "");
}

#[test]
fn test_contexts_carry_packet_bytes_for_xdp_and_tc() {
    // `XdpTestContext { packet: [...] }` (and `TcTestContext`, the same
    // for TC): the packet's first bytes, zeros up to `packet_size`.
    let dir = std::env::temp_dir().join(format!("ksc-user-pkt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("pkt.ks");
    std::fs::write(
        &ks,
        r#"
struct EthHdr {
    dst: u8[6],
    src: u8[6],
    proto: u16,
}
var seen : array<u32, u64>(2)
@xdp
fn only_ipv4(ctx: *xdp_md) -> xdp_action {
    var eth = ctx->data as *EthHdr
    if ((eth + 1) as *u8 > ctx->data_end) {
        return XDP_ABORTED
    }
    if (ntohs(eth->proto) == ETH_P_IP) {
        seen[0] += 1
        return XDP_PASS
    }
    return XDP_DROP
}
@tc("ingress")
fn tc_first_byte(ctx: *__sk_buff) -> i32 {
    var d = ctx->data
    if (d + 1 > ctx->data_end) {
        return TC_ACT_SHOT
    }
    seen[1] = d[0] as u64
    return TC_ACT_OK
}
@test
fn ipv4_passes() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 2, packet: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45] })
    return if (r == XDP_PASS && seen[0] == 1) { 0 } else { 1 }
}
@test
fn ipv6_drops() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 1, packet: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd] })
    return if (r == XDP_DROP && seen[0] == 1) { 0 } else { 1 }
}
@test
fn zeros_drop() -> i32 {
    var r = test(only_ipv4, XdpTestContext { packet_size: 60, interface_id: 0, expected_action: 1 })
    return if (r == XDP_DROP) { 0 } else { 1 }
}
@test
fn tc_sees_the_bytes() -> i32 {
    var r = test(tc_first_byte, TcTestContext { packet_size: 64, packet: [0xab] })
    return if (r == TC_ACT_OK && seen[1] == 0xab) { 0 } else { 1 }
}
fn main() -> i32 {
    return 0
}
"#,
    )
    .unwrap();
    let o = ksc("test", &ks, &dir.join("out"));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("test result: ok. 4 passed; 0 failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
