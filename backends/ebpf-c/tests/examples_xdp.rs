//! The XDP examples of `examples/` in the real kernel (filters, counters,
//! rewriters, tail calls, globals, pinned and per-CPU maps): compiled by
//! ksc, built with clang (warnings are failures), loaded through the
//! verifier with bpftool, run with BPF_PROG_TEST_RUN on crafted packets,
//! their maps and globals read back. Needs root, clang, bpftool and bpffs.

mod common;
mod support;

use common::*;
use support::*;

#[test]
fn ipv6_filter_counts_next_headers_and_drops_pings() {
    let l = ex("xdp_ipv6_filter.ks");
    let p = "ipv6_filter";
    let ping = icmp_msg(128, 0, &[0, 1, 0, 1]);
    let pong = icmp_msg(129, 0, &[0, 1, 0, 1]);
    assert_eq!(l.run(p, &v6(58, &ping)), XDP_DROP, "echo request dropped");
    assert_eq!(l.run(p, &v6(58, &pong)), XDP_PASS, "echo reply passes");
    assert_eq!(l.run(p, &v6(6, &tcp_seg(1234, 80, SYN, &[]))), XDP_PASS);
    assert_eq!(l.run(p, &v6(17, &udp_dgram(1234, 53, &[]))), XDP_PASS);
    // Behind a hop-by-hop options header (8 bytes: next = ICMPv6, len 0).
    let mut hbh = vec![58, 0, 1, 4, 0, 0, 0, 0];
    hbh.extend(&ping);
    assert_eq!(l.run(p, &v6(0, &hbh)), XDP_DROP, "ping behind hop-by-hop");
    // An 16-byte hop-by-hop header (len 1) before UDP.
    let mut hbh2 = vec![17, 1];
    hbh2.extend([0u8; 14]);
    hbh2.extend(udp_dgram(1, 2, &[]));
    assert_eq!(l.run(p, &v6(0, &hbh2)), XDP_PASS);
    // hop-by-hop -> routing (24 bytes) -> destination options -> ICMPv6.
    let mut chain = vec![43, 0, 0, 0, 0, 0, 0, 0];
    chain.extend([60, 2]);
    chain.extend([0u8; 22]);
    chain.extend([58, 0, 0, 0, 0, 0, 0, 0]);
    chain.extend(&ping);
    assert_eq!(
        l.run(p, &v6(0, &chain)),
        XDP_DROP,
        "ping behind three headers"
    );
    // Four extension headers: more than the filter walks.
    let mut four = vec![60, 0, 0, 0, 0, 0, 0, 0];
    four.extend(&chain);
    assert_eq!(l.run(p, &v6(0, &four)), XDP_DROP, "chain too long");
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 80, SYN)), XDP_PASS, "IPv4 ignored");
    let mut short = v6(6, &[]);
    short.truncate(14 + 20);
    assert_eq!(l.run(p, &short), XDP_DROP, "truncated IPv6 header");
    assert_eq!(l.map_u64("next_headers", 58), 4);
    assert_eq!(l.map_u64("next_headers", 6), 1);
    assert_eq!(l.map_u64("next_headers", 17), 2);
    assert_eq!(l.map_u64("pings_dropped", 0), 3);
    // Config: allow pings, require 65 hops left (our packets carry 64).
    l.map_set(&cfg("ipv6_policy"), &[0, 0, 0, 0], &[0, 0]);
    assert_eq!(l.run(p, &v6(58, &ping)), XDP_PASS, "pings allowed now");
    l.map_set(&cfg("ipv6_policy"), &[0, 0, 0, 0], &[0, 65]);
    assert_eq!(l.run(p, &v6(58, &ping)), XDP_DROP, "hop limit too low");
    assert_eq!(global(&l, &cfg("ipv6_policy"), "min_hop_limit"), 65);
}

#[test]
fn vlan_filter_skips_tags_and_enforces_the_vlan() {
    let l = ex("xdp_vlan_filter.ks");
    let p = "vlan_filter";
    let ip = ip4(IP_A, IP_B, 17, 64, &udp_dgram(1, 2, &[]));
    assert_eq!(l.run(p, &vlan_frame(&[100], 0x0800, &ip)), XDP_PASS);
    assert_eq!(l.run(p, &vlan_frame(&[200], 0x0800, &ip)), XDP_DROP);
    // QinQ: outer 7, inner 100: the inner id decides.
    assert_eq!(
        l.run(p, &vlan_frame(&[7, 100], 0x86DD, &[0u8; 40])),
        XDP_PASS
    );
    assert_eq!(l.run(p, &vlan_frame(&[100, 7], 0x0800, &ip)), XDP_DROP);
    // Priority bits do not change the id.
    assert_eq!(
        l.run(p, &vlan_frame(&[0xe000 | 100], 0x0806, &[0u8; 28])),
        XDP_PASS
    );
    assert_eq!(
        l.run(p, &vlan_frame(&[], 0x0800, &ip)),
        XDP_PASS,
        "untagged"
    );
    assert_eq!(
        l.run(p, &vlan_frame(&[1, 2, 3], 0x0800, &ip)),
        XDP_DROP,
        "3 tags"
    );
    let mut cut = vlan_frame(&[100], 0x0800, &[]);
    cut.truncate(16);
    assert_eq!(l.run(p, &cut), XDP_DROP, "truncated tag");
    assert_eq!(l.map_u64("per_vlan", 100), 3);
    assert_eq!(l.map_u64("per_vlan", 200), 1);
    assert_eq!(l.map_u64("per_vlan", 7), 1);
    assert_eq!(l.map_u64("per_vlan", 0), 1);
    assert_eq!(l.map_u64("per_proto", 0), 4, "IPv4");
    assert_eq!(l.map_u64("per_proto", 1), 1, "IPv6");
    assert_eq!(l.map_u64("per_proto", 2), 1, "ARP");
    assert_eq!(l.map_u64("rejected", 0), 3);
    // allowed_vlan = 200, no untagged traffic.
    l.map_set(&cfg("vlan_policy"), &[0; 4], &[200, 0, 0, 0]);
    assert_eq!(l.run(p, &vlan_frame(&[200], 0x0800, &ip)), XDP_PASS);
    assert_eq!(l.run(p, &vlan_frame(&[100], 0x0800, &ip)), XDP_DROP);
    assert_eq!(l.run(p, &vlan_frame(&[], 0x0800, &ip)), XDP_DROP);
}

#[test]
fn rate_limiter_spends_tokens_per_source() {
    let l = ex("xdp_rate_limiter.ks");
    let p = "rate_limit";
    let a = udp4(IP_A, 1, 2, &[]);
    let b = udp4([192, 168, 1, 9], 1, 2, &[]);
    // burst 3 at 1 packet/s: three pass, the rest of the burst drops.
    for i in 0..3 {
        assert_eq!(l.run(p, &a), XDP_PASS, "token {i}");
    }
    assert_eq!(l.run(p, &a), XDP_DROP);
    assert_eq!(l.run(p, &a), XDP_DROP);
    assert_eq!(l.run(p, &b), XDP_PASS, "another source has its own bucket");
    assert_eq!(l.run(p, &tcp(80)[..30]), XDP_PASS, "too short");
    assert_eq!(l.map_u64("verdicts", 0), 4);
    assert_eq!(l.map_u64("verdicts", 1), 2);
    let bucket = lookup(&l, "buckets", &IP_A).expect("bucket of 10.0.0.1");
    assert_eq!(le(&bucket[0][0..8]), 0, "no tokens left");
    assert_eq!(le(&bucket[0][16..24]), 2, "dropped");
    assert_eq!(entries(&l, "buckets"), 2);
    // A fast rate (1e9/s) refills the bucket within a nanosecond or so.
    let mut v = 1_000_000_000u64.to_le_bytes().to_vec();
    v.extend(3u64.to_le_bytes());
    l.map_set(&cfg("limits"), &[0; 4], &v);
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(l.run(p, &a), XDP_PASS, "refilled");
}

#[test]
fn flow_counter_keys_flows_by_five_tuple() {
    let l = ex("xdp_flow_counter.ks");
    let p = "flow_counter";
    let f1 = tcp4(IP_A, 40000, 443, ACK);
    let f2 = udp4(IP_A, 40000, 443, &[1, 2, 3, 4]);
    for _ in 0..3 {
        assert_eq!(l.run(p, &f1), XDP_PASS);
    }
    assert_eq!(l.run(p, &f2), XDP_PASS);
    assert_eq!(l.run(p, &v6(6, &tcp_seg(1, 2, SYN, &[]))), XDP_PASS);
    // IP options (ihl = 6): the ports follow them.
    let mut opt = ip4(IP_B, IP_A, 6, 64, &[]);
    opt[0] = 0x46;
    opt.extend([1, 1, 1, 1]);
    opt.extend(tcp_seg(22, 50000, ACK, &[]));
    assert_eq!(l.run(p, &ether(MAC_B, MAC_A, 0x0800, &opt)), XDP_PASS);
    assert_eq!(
        entries(&l, "flows"),
        3,
        "two flows plus the one with options"
    );
    let mut key = IP_A.to_vec();
    key.extend(IP_B);
    key.extend(40000u16.to_le_bytes());
    key.extend(443u16.to_le_bytes());
    key.extend([6, 0, 0, 0]);
    assert_eq!(
        value_u64(&l, "flows", &key, 0),
        3,
        "packets of the TCP flow"
    );
    assert_eq!(value_u64(&l, "flows", &key, 8), 3 * f1.len() as u64);
    key[12] = 17;
    assert_eq!(value_u64(&l, "flows", &key, 0), 1, "the UDP flow");
    let mut k3 = IP_B.to_vec();
    k3.extend(IP_A);
    k3.extend(22u16.to_le_bytes());
    k3.extend(50000u16.to_le_bytes());
    k3.extend([6, 0, 0, 0]);
    assert_eq!(
        value_u64(&l, "flows", &k3, 0),
        1,
        "ports read after the options"
    );
    assert_eq!(l.map_u64("untracked", 0), 1);
}

#[test]
fn syn_guard_counts_syns_and_drops_floods() {
    let l = ex("xdp_syn_guard.ks");
    let p = "syn_guard_prog";
    // max_syns = 3
    l.map_set(&cfg("syn_guard"), &[0; 4], &3u64.to_le_bytes());
    for port in [80, 80, 443] {
        assert_eq!(l.run(p, &tcp4(IP_A, 40000, port, SYN)), XDP_PASS);
    }
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 22, SYN)), XDP_DROP, "4th SYN");
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 80, ACK)), XDP_PASS, "not a SYN");
    assert_eq!(l.run(p, &tcp4(IP_B, 80, 40000, SYN | ACK)), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_B, 80, 40000, RST | ACK)), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_B, 80, 40000, FIN | ACK | PSH)), XDP_PASS);
    assert_eq!(
        l.run(p, &tcp4([10, 9, 9, 9], 1, 80, SYN)),
        XDP_PASS,
        "other source"
    );
    assert_eq!(l.map_u64("events", 0), 5, "SYN");
    assert_eq!(l.map_u64("events", 1), 1, "SYN-ACK");
    assert_eq!(l.map_u64("events", 2), 1, "RST");
    assert_eq!(l.map_u64("events", 3), 1, "FIN");
    assert_eq!(value_u64(&l, "syns_per_port", &80u16.to_le_bytes(), 0), 3);
    assert_eq!(value_u64(&l, "syns_per_port", &443u16.to_le_bytes(), 0), 1);
    assert_eq!(value_u64(&l, "syns_per_source", &IP_A, 0), 4);
    assert_eq!(l.map_u64("flood_drops", 0), 1);
}

#[test]
fn port_classifier_matches_ports_to_classes() {
    let l = ex("xdp_port_classifier.ks");
    let p = "port_classifier";
    let web = tcp4(IP_A, 40000, 443, ACK);
    assert_eq!(l.run(p, &web), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 80, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &udp4(IP_A, 40000, 53, &[])), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 22, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 587, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 873, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &udp4(IP_A, 1, 50000, &[])), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 1234, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &v4(IP_A, IP_B, 1, &[8, 0, 0, 0])), XDP_PASS);
    let packets = |c: u32| value_u64(&l, "classes", &c.to_le_bytes(), 0);
    assert_eq!(packets(1), 2, "web");
    assert_eq!(
        value_u64(&l, "classes", &1u32.to_le_bytes(), 8),
        2 * web.len() as u64
    );
    assert_eq!(packets(2), 1, "dns");
    assert_eq!(packets(3), 1, "ssh");
    assert_eq!(packets(4), 1, "mail");
    assert_eq!(packets(5), 2, "bulk: rsync and an ephemeral port");
    assert_eq!(packets(0), 2, "other: port 1234 and ICMP");
    l.map_set(&cfg("shaping"), &[0; 4], &[1]);
    assert_eq!(
        l.run(p, &tcp4(IP_A, 40000, 873, ACK)),
        XDP_DROP,
        "bulk shed"
    );
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 443, ACK)), XDP_PASS);
}

/// A DNS header: id, flags, qd/an/ns/ar counts.
fn dns_msg(flags: u16, ancount: u16) -> Vec<u8> {
    let mut d = 0x1234u16.to_be_bytes().to_vec();
    d.extend(flags.to_be_bytes());
    d.extend(1u16.to_be_bytes());
    d.extend(ancount.to_be_bytes());
    d.extend([0, 0, 0, 0]);
    d.extend(b"\x07example\x03com\x00\x00\x01\x00\x01");
    d
}

#[test]
fn dns_counter_counts_queries_responses_and_rcodes() {
    let l = ex("xdp_dns_counter.ks");
    let p = "dns_counter";
    let client = [192, 168, 0, 7];
    let query = v4(client, IP_B, 17, &udp_dgram(40000, 53, &dns_msg(0x0100, 0)));
    let answer = v4(IP_B, client, 17, &udp_dgram(53, 40000, &dns_msg(0x8180, 1)));
    let nx = v4(IP_B, client, 17, &udp_dgram(53, 40000, &dns_msg(0x8183, 0)));
    let big = v4(
        IP_B,
        client,
        17,
        &udp_dgram(53, 40000, &dns_msg(0x8380, 40)),
    );
    let notify = v4(client, IP_B, 17, &udp_dgram(40000, 53, &dns_msg(0x2000, 0)));
    for pk in [&query, &query, &answer, &nx, &nx, &big, &notify] {
        assert_eq!(l.run(p, pk), XDP_PASS);
    }
    assert_eq!(
        l.run(p, &udp4(client, 40000, 53, &[1, 2, 3])),
        XDP_PASS,
        "short"
    );
    assert_eq!(
        l.run(p, &udp4(client, 40000, 5353, &dns_msg(0, 0))),
        XDP_PASS
    );
    assert_eq!(l.map_u64("stats", 0), 3, "queries");
    assert_eq!(l.map_u64("stats", 1), 4, "responses");
    assert_eq!(l.map_u64("stats", 2), 1, "malformed");
    assert_eq!(l.map_u64("stats", 3), 1, "truncated (TC bit)");
    assert_eq!(l.map_u64("opcodes", 0), 6);
    assert_eq!(l.map_u64("opcodes", 4), 1, "NOTIFY");
    assert_eq!(l.map_u64("rcodes", 0), 2);
    assert_eq!(l.map_u64("rcodes", 3), 2, "NXDOMAIN");
    assert_eq!(value_u64(&l, "nxdomain_clients", &client, 0), 2);
    // Limit answers to 10: the 40-answer response is dropped.
    l.map_set(&cfg("dns_guard"), &[0; 4], &10u16.to_le_bytes());
    assert_eq!(l.run(p, &big), XDP_DROP);
    assert_eq!(l.run(p, &answer), XDP_PASS);
    assert_eq!(l.map_u64("stats", 4), 1);
}

#[test]
fn size_histogram_buckets_by_log2() {
    let l = ex("xdp_size_histogram.ks");
    let p = "size_histogram";
    for len in [14usize, 60, 64, 100, 128, 1500, 3000] {
        assert_eq!(l.run(p, &vec![0u8; len]), XDP_PASS);
    }
    let b = |i| l.map_u64("histogram", i);
    assert_eq!(b(3), 1, "14");
    assert_eq!(b(5), 1, "60");
    assert_eq!(b(6), 2, "64, 100");
    assert_eq!(b(7), 1, "128");
    assert_eq!(b(10), 1, "1500");
    assert_eq!(b(11), 1, "3000");
    let name = "xdp_size_histogram";
    assert_eq!(global(&l, &bss(name), "total_packets"), 7);
    assert_eq!(
        global(&l, &bss(name), "total_bytes"),
        14 + 60 + 64 + 100 + 128 + 1500 + 3000
    );
    assert_eq!(global(&l, &bss(name), "max_len"), 3000);
}

#[test]
fn blocklist_drops_listed_sources_when_enabled() {
    let l = ex("xdp_blocklist.ks");
    let p = "blocklist_filter";
    let bad = [203, 0, 113, 9];
    let pk = tcp4(bad, 1, 80, SYN);
    assert_eq!(l.run(p, &pk), XDP_PASS, "not listed yet");
    // What `blocklist[ip] = BlockEntry {...}` does from userspace.
    l.map_set("blocklist", &bad, &[0u8; 16]);
    assert_eq!(l.run(p, &pk), XDP_DROP);
    assert_eq!(l.run(p, &udp4(bad, 1, 53, &[])), XDP_DROP);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 80, SYN)), XDP_PASS);
    assert_eq!(l.run(p, &v6(6, &tcp_seg(1, 80, SYN, &[]))), XDP_PASS);
    let e = lookup(&l, "blocklist", &bad).unwrap();
    assert_eq!(le(&e[0][0..8]), 2, "drops");
    assert_ne!(le(&e[0][8..16]), 0, "last drop time");
    assert_eq!(l.map_u64("totals", 0), 4);
    assert_eq!(l.map_u64("totals", 1), 2);
    // dry run: counted, not dropped.
    l.map_set(&cfg("blocking"), &[0; 4], &[1, 1]);
    assert_eq!(l.run(p, &pk), XDP_PASS);
    assert_eq!(value_u64(&l, "blocklist", &bad, 0), 3);
    // disabled: nothing is even checked.
    l.map_set(&cfg("blocking"), &[0; 4], &[0, 0]);
    assert_eq!(l.run(p, &pk), XDP_PASS);
    assert_eq!(l.map_u64("totals", 0), 5);
    let (ok, out, _) = tool(
        "bpftool",
        &["-j", "map", "show", "pinned", &mapp(&l, "blocklist")],
    );
    assert!(
        ok && out.contains("\"flags\":1"),
        "BPF_F_NO_PREALLOC: {out}"
    );
}

#[test]
fn ttl_router_decrements_ttl_and_keeps_the_checksum_valid() {
    let l = ex("xdp_ttl_router.ks");
    let p = "ttl_router";
    for ttl in [64u8, 2, 255, 0x80] {
        let pk = ether(
            MAC_B,
            MAC_A,
            0x0800,
            &ip4(IP_A, IP_B, 17, ttl, &udp_dgram(1, 2, &[])),
        );
        let (r, out) = run_io(&l, p, &pk);
        assert_eq!(r, XDP_PASS);
        assert_eq!(out[14 + 8], ttl - 1, "TTL");
        assert_eq!(csum(&out[14..34]), 0, "checksum valid after TTL {ttl}");
        let mut expect = ip4(IP_A, IP_B, 17, ttl - 1, &udp_dgram(1, 2, &[]));
        expect.truncate(20);
        assert_eq!(&out[14..34], &expect[..], "the header a router would send");
    }
    let dying = ether(MAC_B, MAC_A, 0x0800, &ip4(IP_A, IP_B, 17, 1, &[]));
    assert_eq!(l.run(p, &dying), XDP_DROP);
    let (r, out) = run_io(&l, p, &v6(17, &udp_dgram(1, 2, &[])));
    assert_eq!((r, out[14 + 7]), (XDP_PASS, 63), "hop limit");
    let mut dying6 = v6(17, &[]);
    dying6[14 + 7] = 1;
    assert_eq!(l.run(p, &dying6), XDP_DROP);
    assert_eq!(l.map_u64("forwarded", 0), 4);
    assert_eq!(l.map_u64("forwarded", 1), 1);
    assert_eq!(l.map_u64("expired", 0), 1);
    assert_eq!(l.map_u64("expired", 1), 1);
}

#[test]
fn icmp_echo_answers_pings_with_xdp_tx() {
    let l = ex("xdp_icmp_echo.ks");
    let p = "icmp_echo";
    let payload = b"abcdefghijklmnopqrstuvwxyz012345";
    let mut rest = vec![0x12, 0x34, 0, 7];
    rest.extend(payload);
    let req = ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ip4(IP_A, IP_B, 1, 50, &icmp_msg(8, 0, &rest)),
    );
    let (r, out) = run_io(&l, p, &req);
    assert_eq!(r, XDP_TX);
    let want = ether(
        MAC_A,
        MAC_B,
        0x0800,
        &ip4(IP_B, IP_A, 1, 64, &icmp_msg(0, 0, &rest)),
    );
    assert_eq!(out, want, "a valid echo reply back to the sender");
    let reply = ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ip4(IP_A, IP_B, 1, 50, &icmp_msg(0, 0, &rest)),
    );
    assert_eq!(l.run(p, &reply), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 2, SYN)), XDP_PASS);
    // Only for 10.0.0.9: a ping to 10.0.0.2 passes to the stack.
    l.map_set(&cfg("responder"), &[0; 4], &[10, 0, 0, 9]);
    assert_eq!(l.run(p, &req), XDP_PASS);
    let req9 = ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ip4(IP_A, [10, 0, 0, 9], 1, 50, &icmp_msg(8, 0, &rest)),
    );
    assert_eq!(l.run(p, &req9), XDP_TX);
    assert_eq!(l.map_u64("replies", 0), 2);
}

#[test]
fn udp_reflector_swaps_addresses_and_ports() {
    let l = ex("xdp_udp_reflector.ks");
    let p = "udp_reflector";
    let pk = ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ip4(IP_A, IP_B, 17, 64, &udp_dgram(40000, 7, b"ping")),
    );
    let (r, out) = run_io(&l, p, &pk);
    assert_eq!(r, XDP_TX);
    let want = ether(
        MAC_A,
        MAC_B,
        0x0800,
        &ip4(IP_B, IP_A, 17, 64, &udp_dgram(7, 40000, b"ping")),
    );
    assert_eq!(out, want);
    assert_eq!(l.run(p, &udp4(IP_A, 40000, 8, b"x")), XDP_PASS);
    l.map_set(&cfg("reflector"), &[0; 4], &9u16.to_le_bytes());
    assert_eq!(l.run(p, &udp4(IP_A, 40000, 9, b"hello")), XDP_TX);
    assert_eq!(l.run(p, &pk), XDP_PASS, "port 7 no longer");
    assert_eq!(l.map_u64("reflected", 0), 2);
    assert_eq!(l.map_u64("reflected_bytes", 0), 4 + 5);
}

#[test]
fn pipeline_tail_calls_per_protocol_stages() {
    let l = ex("xdp_pipeline.ks");
    let p = "pipeline_entry";
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 80, SYN)), XDP_PASS);
    assert_eq!(
        l.run(p, &tcp4(IP_A, 1, 23, SYN)),
        XDP_DROP,
        "entry -> ipv4 -> tcp"
    );
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[])), XDP_PASS);
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[])), XDP_PASS);
    assert_eq!(l.run(p, &v6(17, &[])), XDP_PASS);
    assert_eq!(l.run(p, &ether(MAC_B, MAC_A, 0x0806, &[0u8; 28])), XDP_PASS);
    assert_eq!(l.run(p, &v4(IP_A, IP_B, 1, &[8, 0, 0, 0])), XDP_PASS);
    let hits: Vec<u64> = (0..6).map(|i| l.map_u64("stage_hits", i)).collect();
    assert_eq!(
        hits,
        vec![7, 5, 1, 1, 2, 2],
        "entry, ipv4, ipv6, arp, tcp, udp"
    );
    assert_eq!(value_u64(&l, "udp_ports", &53u16.to_le_bytes(), 0), 2);
    // A stage runs alone too (it reads the scratch state left by the last run).
    l.map_set(&cfg("pipeline"), &[0; 4], &[80, 0, 1, 0]);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 80, SYN)), XDP_DROP);
    assert_eq!(l.run(p, &v6(17, &[])), XDP_DROP, "drop_ipv6");
    assert_eq!(l.run("handle_ipv6", &v6(17, &[])), XDP_DROP);
}

#[test]
fn parse_errors_catches_each_error_and_defers_the_count() {
    let l = ex("xdp_parse_errors.ks");
    let p = "strict_parser";
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, b"hello")), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 80, SYN)), XDP_PASS);
    assert_eq!(l.run(p, &v6(17, &[])), XDP_PASS, "not IPv4: caught, passed");
    let mut cut = udp4(IP_A, 1, 53, &[]);
    cut.truncate(14 + 10);
    assert_eq!(l.run(p, &cut), XDP_DROP, "truncated IP header");
    let mut v5 = udp4(IP_A, 1, 53, &[]);
    v5[14] = 0x55;
    assert_eq!(l.run(p, &v5), XDP_DROP, "version 5: catch _");
    let mut long = udp4(IP_A, 1, 53, &[]);
    long[16..18].copy_from_slice(&200u16.to_be_bytes());
    assert_eq!(l.run(p, &long), XDP_DROP, "total length past the frame");
    let mut frag = udp4(IP_A, 1, 53, &[]);
    frag[20] = 0x20; // more fragments
    assert_eq!(l.run(p, &frag), XDP_PASS, "fragment: caught, passed");
    let mut udp_len = udp4(IP_A, 1, 53, b"abc");
    udp_len[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(
        l.run(p, &udp_len),
        XDP_DROP,
        "UDP length: thrown from check_udp"
    );
    let mut udp_cut = v4(IP_A, IP_B, 17, &[0, 1, 0, 2]);
    udp_cut[16..18].copy_from_slice(&24u16.to_be_bytes());
    assert_eq!(l.run(p, &udp_cut), XDP_DROP, "UDP header truncated");
    assert_eq!(l.map_u64("processed", 0), 9, "the defer ran on every path");
    assert_eq!(l.map_u64("valid_udp", 0), 1);
    assert_eq!(l.map_u64("errors", 1), 2, "truncated");
    assert_eq!(l.map_u64("errors", 3), 2, "bad length");
    assert_eq!(l.map_u64("errors", 4), 1, "fragment");
    assert_eq!(l.map_u64("errors", 5), 1, "not IPv4");
    assert_eq!(l.map_u64("errors", 0), 1, "other");
}

#[test]
fn link_monitor_keeps_state_in_globals() {
    let l = ex("xdp_link_monitor.ks");
    let p = "link_monitor";
    let name = "xdp_link_monitor";
    for len in [60usize, 100, 1500, 60] {
        assert_eq!(l.run(p, &vec![0u8; len]), XDP_PASS);
    }
    assert_eq!(global(&l, &bss(name), "packets"), 4);
    assert_eq!(global(&l, &bss(name), "bytes"), 1720);
    assert_eq!(global(&l, &bss(name), "largest"), 1500);
    assert!(global(&l, &bss(name), "last_packet_ns") > 0);
    assert_eq!(global(&l, "_data_pinned_globals", "lifetime_packets"), 4);
    assert_eq!(global(&l, "_data_pinned_globals", "lifetime_bytes"), 1720);
    assert_eq!(global(&l, &data(name), "sample_every"), 100);
    assert_eq!(
        global(&l, &bss(name), "samples"),
        1,
        "the first packet is a sample"
    );
    // Userspace writes the shared globals: sample every 2nd packet.
    set_global(&l, &data(name), "sample_every", &2u32.to_le_bytes());
    for _ in 0..100 {
        assert_eq!(l.run(p, &[0u8; 60]), XDP_PASS);
    }
    // The countdown from the first sample (96 left) runs out, then every 2nd.
    assert_eq!(global(&l, &bss(name), "samples"), 3);
    // Pause: nothing is counted any more.
    set_global(&l, &bss(name), "paused", &[1]);
    assert_eq!(l.run(p, &[0u8; 60]), XDP_PASS);
    assert_eq!(global(&l, &bss(name), "packets"), 104);
    assert_eq!(global(&l, "_data_pinned_globals", "lifetime_packets"), 104);
}

#[test]
fn persistent_stats_survive_a_reload_through_pinned_maps() {
    let pinned = ["persist_ports", "persist_sources", "persist_totals"];
    let unpin = || {
        for m in pinned {
            let _ = std::fs::remove_file(std::path::Path::new("/sys/fs/bpf").join(m));
        }
    };
    unpin();
    let src = example("xdp_persistent_stats.ks");
    let p = "persistent_stats";
    {
        let l = load_pinned("persist1", &src);
        assert_eq!(l.run(p, &tcp4(IP_A, 1, 443, SYN)), XDP_PASS);
        assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[])), XDP_PASS);
        assert_eq!(l.run(p, &v6(17, &[])), XDP_PASS);
        assert_eq!(l.map_u64("persist_totals", 0), 2);
        for m in pinned {
            assert!(
                std::path::Path::new("/sys/fs/bpf").join(m).exists(),
                "{m} pinned by name"
            );
        }
    }
    // A second load finds the pinned maps and continues counting.
    let l = load_pinned("persist2", &src);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 443, ACK)), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_B, 1, 22, ACK)), XDP_PASS);
    assert_eq!(l.map_u64("persist_totals", 0), 4);
    assert_eq!(l.map_u64("persist_totals", 1), 1);
    assert_eq!(value_u64(&l, "persist_ports", &443u16.to_le_bytes(), 0), 2);
    assert_eq!(value_u64(&l, "persist_ports", &53u16.to_le_bytes(), 0), 1);
    assert_eq!(value_u64(&l, "persist_sources", &IP_A, 0), 3);
    assert_eq!(value_u64(&l, "persist_sources", &IP_B, 0), 1);
    let (_, out, _) = tool(
        "bpftool",
        &["-j", "map", "show", "pinned", "/sys/fs/bpf/persist_sources"],
    );
    assert!(out.contains("\"flags\":1"), "BPF_F_NO_PREALLOC: {out}");
    drop(l);
    unpin();
}

#[test]
fn cpu_balance_counts_in_per_cpu_maps() {
    let l = ex("xdp_cpu_balance.ks");
    let p = "cpu_balance";
    let t = tcp4(IP_A, 1, 80, ACK);
    for pk in [&t, &t, &udp4(IP_A, 1, 53, &[]), &v6(6, &[])] {
        assert_eq!(l.run(p, pk), XDP_PASS);
    }
    let total = 2 * t.len() + udp4(IP_A, 1, 53, &[]).len() + v6(6, &[]).len();
    assert_eq!(value_u64(&l, "this_cpu", &[0; 4], 0), 4, "summed over CPUs");
    assert_eq!(value_u64(&l, "this_cpu", &[0; 4], 8), total as u64);
    let cpus = lookup(&l, "this_cpu", &[0; 4]).unwrap().len();
    assert!(cpus >= 1, "one value per possible CPU");
    assert_eq!(
        value_u64(&l, "per_queue", &[0; 4], 0),
        4,
        "test runs arrive on queue 0"
    );
    assert_eq!(value_u64(&l, "per_protocol", &[6], 0), 2);
    assert_eq!(value_u64(&l, "per_protocol", &[17], 0), 1);
    assert_eq!(entries(&l, "per_protocol"), 2);
}

#[test]
fn redirect_port_steers_one_udp_port() {
    let l = ex("xdp_redirect_port.ks");
    let p = "redirect_port";
    let vx = udp4(IP_A, 1, 4789, &[0u8; 8]);
    assert_eq!(l.run(p, &vx), XDP_PASS, "steering off");
    let mut c = 4789u16.to_le_bytes().to_vec();
    c.extend([0, 0]);
    c.extend(1u32.to_le_bytes()); // ifindex 1 (lo)
    l.map_set(&cfg("steering"), &[0; 4], &c);
    assert_eq!(l.run(p, &vx), 4, "XDP_REDIRECT");
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[])), XDP_PASS);
    assert_eq!(l.run(p, &tcp4(IP_A, 1, 4789, SYN)), XDP_PASS);
    assert_eq!(l.map_u64("redirected", 0), 1);
    assert_eq!(l.map_u64("redirect_failed", 0), 0);
}

#[test]
fn vlan_pop_removes_the_access_vlan_tag() {
    let l = ex("xdp_vlan_pop.ks");
    let p = "vlan_pop";
    let ip = ip4(IP_A, IP_B, 17, 64, &udp_dgram(1, 2, b"data"));
    let (r, out) = run_io(&l, p, &vlan_frame(&[10], 0x0800, &ip));
    assert_eq!(r, XDP_PASS);
    assert_eq!(
        out,
        ether(MAC_B, MAC_A, 0x0800, &ip),
        "the frame without its tag"
    );
    let tagged = vlan_frame(&[20], 0x0800, &ip);
    let (r, out) = run_io(&l, p, &tagged);
    assert_eq!((r, &out), (XDP_PASS, &tagged), "other VLAN untouched");
    assert_eq!(
        run_io(&l, p, &udp4(IP_A, 1, 2, &[])).1,
        udp4(IP_A, 1, 2, &[])
    );
    assert_eq!(l.map_u64("popped", 0), 1);
    assert_eq!(l.map_u64("kept", 0), 1);
    l.map_set(&cfg("untag"), &[0; 4], &20u16.to_le_bytes());
    let (_, out) = run_io(&l, p, &tagged);
    assert_eq!(out, ether(MAC_B, MAC_A, 0x0800, &ip));
}

#[test]
fn packet_sampler_prints_every_nth_packet() {
    let l = ex("xdp_packet_sampler.ks");
    let p = "packet_sampler";
    let name = "xdp_packet_sampler";
    // every 3rd, verbose
    l.map_set(&cfg("sampling"), &[0; 4], &[3, 0, 0, 0, 1, 0, 0, 0]);
    let marker: u8 = 100 + (std::process::id() % 100) as u8;
    let pk = ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ip4([10, 77, 0, marker], IP_B, 17, 33, &udp_dgram(1, 2, &[])),
    );
    for _ in 0..7 {
        assert_eq!(l.run(p, &pk), XDP_PASS);
    }
    assert_eq!(l.run(p, &v6(17, &[])), XDP_PASS, "not counted");
    assert_eq!(global(&l, &bss(name), "seen"), 7);
    assert_eq!(global(&l, &bss(name), "sampled"), 3, "packets 1, 4 and 7");
    ksc_testkit::require!(ksc_testkit::tracefs());
    {
        let trace = std::fs::read_to_string("/sys/kernel/tracing/trace").unwrap();
        let line = format!("ksc-sample src a4d00{marker:02x} dst a000002 ttl 33");
        assert!(trace.contains(&line), "no `{line}` in the trace buffer");
        assert!(trace.contains(&format!("proto 17, {} bytes", pk.len())));
    }
}

#[test]
fn ipv4_validator_checks_version_lengths_and_checksum() {
    let l = ex("xdp_ipv4_validator.ks");
    let p = "ipv4_validator";
    let good = udp4(IP_A, 1, 2, b"payload");
    assert_eq!(l.run(p, &good), XDP_PASS);
    let mut bad_sum = good.clone();
    bad_sum[14 + 10] ^= 0xff;
    assert_eq!(l.run(p, &bad_sum), XDP_DROP);
    let mut v6hdr = good.clone();
    v6hdr[14] = 0x65;
    assert_eq!(l.run(p, &v6hdr), XDP_DROP, "version");
    let mut ihl = good.clone();
    ihl[14] = 0x44;
    assert_eq!(l.run(p, &ihl), XDP_DROP, "ihl 4");
    let mut len = good.clone();
    len[16..18].copy_from_slice(&400u16.to_be_bytes());
    assert_eq!(l.run(p, &len), XDP_DROP, "total length");
    // With options (ihl 6) and a correct checksum over 24 bytes.
    let mut h = ip4(IP_A, IP_B, 17, 64, &[]);
    h[0] = 0x46;
    h[2..4].copy_from_slice(&24u16.to_be_bytes());
    h.extend([1, 1, 1, 1]);
    h[10] = 0;
    h[11] = 0;
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(
        l.run(p, &ether(MAC_B, MAC_A, 0x0800, &h)),
        XDP_PASS,
        "options"
    );
    assert_eq!(l.run(p, &v6(17, &[])), XDP_PASS);
    let v: Vec<u64> = (0..5).map(|i| l.map_u64("verdicts", i)).collect();
    assert_eq!(v, vec![2, 1, 1, 1, 1]);
}
