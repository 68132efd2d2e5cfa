//! The TC examples of `examples/` in the real kernel: compiled by ksc,
//! built with clang, loaded through the verifier, run with
//! BPF_PROG_TEST_RUN on crafted packets (with `skb->mark`/`priority`),
//! their maps read back. Needs root, clang, bpftool and bpffs.

mod common;
mod support;

use support::*;

#[test]
fn tc_proto_accounting_counts_both_directions() {
    let l = ex("tc_proto_accounting.ks");
    let t = tcp4(IP_A, 1, 80, ACK);
    let u = udp4(IP_A, 1, 53, b"query");
    let six = v6(58, &icmp_msg(128, 0, &[0; 4]));
    let arp = ether(MAC_B, MAC_A, 0x0806, &[0u8; 28]);
    for pk in [&t, &t, &u, &six, &arp] {
        assert_eq!(l.run("account_ingress", pk), TC_ACT_OK);
    }
    assert_eq!(l.run("account_egress", &t), TC_ACT_OK);
    let key = |dir: u32, proto: u32| {
        let mut k = dir.to_le_bytes().to_vec();
        k.extend(proto.to_le_bytes());
        k
    };
    assert_eq!(value_u64(&l, "by_protocol", &key(0, 6), 0), 2);
    assert_eq!(
        value_u64(&l, "by_protocol", &key(0, 6), 8),
        2 * t.len() as u64
    );
    assert_eq!(value_u64(&l, "by_protocol", &key(0, 17), 0), 1);
    assert_eq!(value_u64(&l, "by_protocol", &key(0, 58), 0), 1);
    assert_eq!(
        value_u64(&l, "by_protocol", &key(0, 256), 0),
        1,
        "ARP: not IP"
    );
    assert_eq!(value_u64(&l, "by_protocol", &key(1, 6), 0), 1, "egress");
    assert_eq!(entries(&l, "by_protocol"), 5);
    let fam = |i: u32, off| value_u64(&l, "by_family", &i.to_le_bytes(), off);
    assert_eq!(fam(0, 0), 3, "ingress IPv4 packets");
    assert_eq!(fam(0, 8), (2 * t.len() + u.len()) as u64);
    assert_eq!(fam(1, 0), 1, "ingress IPv6");
    assert_eq!(fam(2, 0), 1, "ingress other");
    assert_eq!(fam(3, 0), 1, "egress IPv4");
}

#[test]
fn tc_mark_policy_marks_and_drops_by_mark() {
    let l = ex("tc_mark_policy.ks");
    let (r, mark, prio) = run_skb(&l, "mark_ingress", &tcp4(IP_A, 40000, 22, SYN), 0, 0);
    assert_eq!((r, mark, prio), (TC_ACT_OK, 0x10, 6), "ssh: interactive");
    let (r, mark, prio) = run_skb(&l, "mark_ingress", &udp4(IP_A, 1, 5000, &[]), 0x1, 0);
    assert_eq!(
        (r, mark, prio),
        (TC_ACT_OK, 0x21, 1),
        "bulk, existing mark kept"
    );
    let (r, mark, prio) = run_skb(&l, "mark_ingress", &tcp4(IP_A, 40000, 80, SYN), 0, 3);
    assert_eq!((r, mark, prio), (TC_ACT_OK, 0, 3), "port 80: untouched");
    let (r, mark, _) = run_skb(&l, "mark_ingress", &tcp4(IP_A, 40000, 4444, SYN), 0x10, 0);
    assert_eq!((r, mark), (TC_ACT_OK, 0x666), "quarantined");
    // Egress: the quarantine mark is dropped, others pass.
    let pk = tcp4(IP_B, 4444, 40000, ACK);
    assert_eq!(
        run_skb(&l, "drop_quarantined", &pk, 0x666, 0).0,
        TC_ACT_SHOT
    );
    assert_eq!(run_skb(&l, "drop_quarantined", &pk, 0x10, 0).0, TC_ACT_OK);
    assert_eq!(run_skb(&l, "drop_quarantined", &pk, 0, 0).0, TC_ACT_OK);
    assert_eq!(
        (
            l.map_u64("marked", 0),
            l.map_u64("marked", 1),
            l.map_u64("marked", 2)
        ),
        (1, 1, 1)
    );
    assert_eq!(l.map_u64("dropped", 0), 1);
    // A new quarantine mark (0x42) and port (8080).
    let mut c = 0x42u32.to_le_bytes().to_vec();
    c.extend(8080u16.to_le_bytes());
    c.extend([0, 0]);
    l.map_set(&cfg("marks"), &[0; 4], &c);
    assert_eq!(
        run_skb(&l, "mark_ingress", &tcp4(IP_A, 1, 8080, SYN), 0, 0).1,
        0x42
    );
    assert_eq!(run_skb(&l, "drop_quarantined", &pk, 0x42, 0).0, TC_ACT_SHOT);
    assert_eq!(run_skb(&l, "drop_quarantined", &pk, 0x666, 0).0, TC_ACT_OK);
}

#[test]
fn tc_http_methods_reads_the_payload_with_skb_load_bytes() {
    let l = ex("tc_http_methods.ks");
    let p = "http_methods";
    let req = |m: &[u8], port| tcp4_payload(IP_A, 40000, port, m);
    assert_eq!(l.run(p, &req(b"GET / HTTP/1.1\r\n\r\n", 80)), TC_ACT_OK);
    assert_eq!(l.run(p, &req(b"GET /x HTTP/1.1\r\n\r\n", 80)), TC_ACT_OK);
    assert_eq!(l.run(p, &req(b"POST /form HTTP/1.1\r\n", 80)), TC_ACT_OK);
    assert_eq!(l.run(p, &req(b"DELETE /a HTTP/1.1\r\n", 80)), TC_ACT_OK);
    assert_eq!(l.run(p, &req(b"HEAD / HTTP/1.0\r\n", 80)), TC_ACT_OK);
    assert_eq!(
        l.run(p, &req(b"\x16\x03\x01\x02", 80)),
        TC_ACT_OK,
        "TLS: other"
    );
    assert_eq!(
        l.run(p, &req(b"GET / HTTP/1.1\r\n", 8080)),
        TC_ACT_OK,
        "not the port"
    );
    assert_eq!(
        l.run(p, &tcp4(IP_A, 40000, 80, SYN)),
        TC_ACT_OK,
        "no payload"
    );
    // TCP options (data offset 8 words): the payload starts 12 bytes later.
    let mut seg = tcp_seg(40000, 80, ACK | PSH, &[1; 12]);
    seg[12] = 0x80;
    seg.extend(b"PUT /f HTTP/1.1\r\n");
    assert_eq!(l.run(p, &v4(IP_A, IP_B, 6, &seg)), TC_ACT_OK);
    let m: Vec<u64> = (0..6).map(|i| l.map_u64("methods", i)).collect();
    assert_eq!(
        m,
        vec![1, 2, 1, 1, 1, 1],
        "other, GET, POST, PUT, DELETE, HEAD"
    );
    l.map_set(&cfg("http"), &[0; 4], &[80, 0, 1, 0]);
    assert_eq!(l.run(p, &req(b"POST / HTTP/1.1\r\n", 80)), TC_ACT_SHOT);
    assert_eq!(l.run(p, &req(b"GET / HTTP/1.1\r\n", 80)), TC_ACT_OK);
    assert_eq!(l.map_u64("rejected", 0), 1);
}

#[test]
fn tc_dscp_remark_rewrites_tos_with_a_valid_checksum() {
    let l = ex("tc_dscp_remark.ks");
    let p = "dscp_remark";
    let check = |out: &[u8], dscp: u8| {
        assert_eq!(out[15] >> 2, dscp, "DSCP");
        assert_eq!(csum(&out[14..34]), 0, "IP checksum still valid");
    };
    let (r, out) = run_io(&l, p, &udp4(IP_A, 5060, 5060, b"sip"));
    assert_eq!(r, TC_ACT_OK);
    check(&out, 46);
    let (_, out) = run_io(&l, p, &udp4(IP_A, 8801, 1, b"video"));
    check(&out, 34);
    let (_, out) = run_io(&l, p, &tcp4(IP_A, 22, 50000, ACK));
    check(&out, 18);
    let (_, out) = run_io(&l, p, &tcp4(IP_A, 443, 50000, ACK));
    check(&out, 0);
    // Already marked (AF11 = 10): kept.
    let mut marked = udp4(IP_A, 5060, 5060, b"sip");
    marked[15] = 10 << 2;
    marked[24] = 0;
    marked[25] = 0;
    let c = csum(&marked[14..34]);
    marked[24..26].copy_from_slice(&c.to_be_bytes());
    let (_, out) = run_io(&l, p, &marked);
    assert_eq!(out, marked);
    l.map_set(&cfg("qos"), &[0; 4], &[0xc4, 0x13, 0x61, 0x22, 0, 0]);
    let (_, out) = run_io(&l, p, &marked);
    check(&out, 46);
    let r: Vec<u64> = (0..4).map(|i| l.map_u64("remarked", i)).collect();
    assert_eq!(r, vec![0, 1, 1, 2], "best effort needs no rewrite");
}

#[test]
fn tc_policy_chain_tail_calls_between_tc_programs() {
    let l = ex("tc_policy_chain.ks");
    let p = "classify";
    for port in [22u16, 443] {
        l.map_set("tcp_allowed", &port.to_le_bytes(), &[1]);
    }
    assert_eq!(l.run(p, &tcp4(IP_A, 40000, 443, SYN)), TC_ACT_OK);
    assert_eq!(
        l.run(p, &tcp4(IP_A, 40000, 25, SYN)),
        TC_ACT_SHOT,
        "classify -> tcp_policy"
    );
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[0u8; 100])), TC_ACT_OK);
    assert_eq!(
        l.run(p, &udp4(IP_A, 1, 53, &[0u8; 1000])),
        TC_ACT_SHOT,
        "classify -> udp_policy"
    );
    assert_eq!(
        l.run(p, &v4(IP_A, IP_B, 1, &[8, 0, 0, 0])),
        TC_ACT_OK,
        "ICMP: no policy"
    );
    assert_eq!(
        l.run("tcp_policy", &tcp4(IP_A, 40000, 22, SYN)),
        TC_ACT_OK,
        "a stage alone"
    );
    let v: Vec<u64> = (0..4).map(|i| l.map_u64("verdicts", i)).collect();
    assert_eq!(v, vec![2, 1, 1, 1]);
    l.map_set(&cfg("policy"), &[0; 4], &2000u32.to_le_bytes());
    assert_eq!(l.run(p, &udp4(IP_A, 1, 53, &[0u8; 1000])), TC_ACT_OK);
}
