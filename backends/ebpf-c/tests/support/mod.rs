//! Helpers of the example tests (`examples_*.rs`): loading an example,
//! reading its maps and globals back, running it with BPF_PROG_TEST_RUN,
//! and building the packets the tests send.

#![allow(dead_code)]

use crate::common::*;

/// An example from `examples/`, loaded under a short name (the `.bss`,
/// `.data` maps are named after the first 8 characters of it).
pub fn ex(file: &str) -> Loaded {
    let name = file.trim_end_matches(".ks");
    load(name, &example(file))
}

/// bpftool prints a map's name with `.` replaced: `_data_config_x`,
/// `name_data`. Shared globals are all in `.data` (userspace finds them at
/// `skel->data`).
pub fn bss(name: &str) -> String {
    format!("{}_data", &name[..name.len().min(8)])
}

pub fn data(name: &str) -> String {
    format!("{}_data", &name[..name.len().min(8)])
}

pub fn cfg(name: &str) -> String {
    format!("_data_config_{name}")
}

pub fn mapp(l: &Loaded, map: &str) -> String {
    l.pins.join("maps").join(map).to_str().unwrap().to_string()
}

pub fn hex_bytes(list: &str) -> Vec<u8> {
    list.split(',')
        .filter_map(|b| {
            let b = b.trim().trim_matches('"').trim_start_matches("0x");
            u8::from_str_radix(b, 16).ok()
        })
        .collect()
}

/// The raw value bytes of `key` in `map`, one vector per CPU for per-CPU
/// maps; `None` when the key is absent.
pub fn lookup(l: &Loaded, map: &str, key: &[u8]) -> Option<Vec<Vec<u8>>> {
    let p = mapp(l, map);
    let mut args: Vec<String> = ["-j", "map", "lookup", "pinned", &p, "key"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(key.iter().map(|b| b.to_string()));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (ok, out, err) = tool("bpftool", &refs);
    if !ok || out.trim() == "null" {
        assert!(
            out.trim() == "null" || err.contains("not found") || out.contains("not found"),
            "lookup failed: {out}{err}"
        );
        return None;
    }
    Some(
        out.split("\"value\":[")
            .skip(1)
            .map(|c| hex_bytes(c.split(']').next().unwrap()))
            .collect(),
    )
}

pub fn le(v: &[u8]) -> u64 {
    v.iter()
        .take(8)
        .enumerate()
        .fold(0, |a, (i, b)| a | (*b as u64) << (8 * i))
}

/// A u64 at `offset` of the value of `key` (summed over CPUs); 0 if absent.
pub fn value_u64(l: &Loaded, map: &str, key: &[u8], offset: usize) -> u64 {
    lookup(l, map, key)
        .unwrap_or_default()
        .iter()
        .map(|v| le(&v[offset..offset + 8]))
        .sum()
}

/// Number of entries in a map.
pub fn entries(l: &Loaded, map: &str) -> usize {
    let (ok, out, err) = tool("bpftool", &["-j", "map", "dump", "pinned", &mapp(l, map)]);
    assert!(ok, "dump failed: {out}{err}");
    out.matches("{\"key\":[").count()
}

/// A global variable's value, by name, from the BTF-formatted dump of a
/// data section map (`.bss`, `.data`, configs).
pub fn global(l: &Loaded, map: &str, var: &str) -> i64 {
    let (ok, out, err) = tool("bpftool", &["-j", "map", "dump", "pinned", &mapp(l, map)]);
    assert!(ok, "dump failed: {out}{err}");
    let pat = format!("\"{var}\":");
    let at = out
        .find(&pat)
        .unwrap_or_else(|| panic!("no `{var}` in {out}"))
        + pat.len();
    let v: String = out[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match v.as_str() {
        "true" => 1,
        "false" => 0,
        n => n.parse().unwrap_or_else(|_| panic!("`{var}` = {v}")),
    }
}

/// Overwrite one global variable in a data section map, at the offset BTF
/// gives it.
pub fn set_global(l: &Loaded, map: &str, var: &str, bytes: &[u8]) {
    let (ok, btf, err) = tool(
        "bpftool",
        &["btf", "dump", "map", "pinned", &mapp(l, map), "value"],
    );
    assert!(ok, "{btf}{err}");
    let line = btf
        .lines()
        .find(|x| x.ends_with(&format!("(VAR '{var}')")))
        .unwrap_or_else(|| panic!("no `{var}` in {btf}"));
    let off: usize = line
        .split("offset=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut v = lookup(l, map, &[0; 4]).unwrap().remove(0);
    v[off..off + bytes.len()].copy_from_slice(bytes);
    l.map_set(map, &[0; 4], &v);
}

/// BPF_PROG_TEST_RUN with the packet the program leaves behind.
pub fn run_io(l: &Loaded, prog: &str, packet: &[u8]) -> (i64, Vec<u8>) {
    let output = l.work.join(format!("io-out-{prog}"));
    let _ = std::fs::remove_file(&output);
    let r = l.run_with(prog, packet, &["data_out", output.to_str().unwrap()]);
    (r, std::fs::read(&output).unwrap_or_default())
}

/// Size of `struct __sk_buff` as BPF_PROG_TEST_RUN takes it.
pub const SKB_CTX: usize = 192;

/// BPF_PROG_TEST_RUN of a TC program with `skb->mark` and `skb->priority`
/// set; returns the verdict and the (mark, priority) the program left.
pub fn run_skb(l: &Loaded, prog: &str, packet: &[u8], mark: u32, priority: u32) -> (i64, u32, u32) {
    let n = format!("{prog}-{mark}-{priority}-{}", packet.len());
    let ctx_in = l.work.join(format!("skb-ctx-{n}"));
    let ctx_out = l.work.join(format!("skb-ctx-out-{n}"));
    let mut ctx = vec![0u8; SKB_CTX];
    ctx[8..12].copy_from_slice(&mark.to_le_bytes());
    ctx[32..36].copy_from_slice(&priority.to_le_bytes());
    std::fs::write(&ctx_in, &ctx).unwrap();
    let r = l.run_with(
        prog,
        packet,
        &[
            "ctx_in",
            ctx_in.to_str().unwrap(),
            "ctx_out",
            ctx_out.to_str().unwrap(),
        ],
    );
    let c = std::fs::read(&ctx_out).unwrap();
    let word = |o: usize| u32::from_le_bytes(c[o..o + 4].try_into().unwrap());
    (r, word(8), word(32))
}

// ---------------------------------------------------------------- packets

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];
pub const IP_A: [u8; 4] = [10, 0, 0, 1];
pub const IP_B: [u8; 4] = [10, 0, 0, 2];

/// The Internet checksum of `b`.
pub fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub fn ether(dst: [u8; 6], src: [u8; 6], proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = dst.to_vec();
    p.extend(src);
    p.extend(proto.to_be_bytes());
    p.extend(payload);
    p
}

/// An Ethernet frame with VLAN tags (outermost first, 802.1Q each).
pub fn vlan_frame(vids: &[u16], proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = MAC_B.to_vec();
    p.extend(MAC_A);
    for v in vids {
        p.extend(0x8100u16.to_be_bytes());
        p.extend(v.to_be_bytes());
    }
    p.extend(proto.to_be_bytes());
    p.extend(payload);
    p
}

/// An IPv4 header (valid checksum) and payload.
pub fn ip4(src: [u8; 4], dst: [u8; 4], protocol: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend(total.to_be_bytes());
    h.extend([0x12, 0x34, 0x40, 0, ttl, protocol, 0, 0]);
    h.extend(src);
    h.extend(dst);
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend(payload);
    h
}

/// An Ethernet + IPv4 frame from MAC_A to MAC_B.
pub fn v4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    ether(MAC_B, MAC_A, 0x0800, &ip4(src, dst, protocol, 64, payload))
}

pub fn ip6(src: [u8; 16], dst: [u8; 16], next: u8, hops: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next, hops]);
    h.extend(src);
    h.extend(dst);
    h.extend(payload);
    h
}

pub fn v6addr(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    a
}

pub fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
    ether(
        MAC_B,
        MAC_A,
        0x86DD,
        &ip6(v6addr(1), v6addr(2), next, 64, payload),
    )
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP header (20 bytes, no options) and payload.
pub fn tcp_seg(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = sport.to_be_bytes().to_vec();
    t.extend(dport.to_be_bytes());
    t.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend(payload);
    t
}

pub fn udp_dgram(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend(dport.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    u
}

/// An ICMP (or ICMPv6) message with a valid ICMP checksum.
pub fn icmp_msg(kind: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, code, 0, 0];
    m.extend(rest);
    let c = csum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

pub fn tcp4(src: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    v4(src, IP_B, 6, &tcp_seg(sport, dport, flags, &[]))
}

pub fn udp4(src: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    v4(src, IP_B, 17, &udp_dgram(sport, dport, payload))
}

pub const TC_ACT_OK: i64 = 0;
pub const TC_ACT_SHOT: i64 = 2;

pub fn tcp4_payload(src: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    v4(src, IP_B, 6, &tcp_seg(sport, dport, ACK | PSH, payload))
}

/// The kernel's program type of a loaded program (`xdp`, `tracepoint`, ...).
pub fn prog_type(l: &Loaded, prog: &str) -> String {
    let p = l.pins.join(prog);
    let (ok, out, err) = tool(
        "bpftool",
        &["-j", "prog", "show", "pinned", p.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    out.split("\"type\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Load like `common::load`, but without bpftool's `pinmaps` (it refuses
/// maps that libbpf already pinned by name): every map of the programs is
/// pinned under `maps/` afterwards, by id. Maps with `pin` are also at
/// /sys/fs/bpf/<name>, where they outlive the Loaded.
pub fn load_pinned(name: &str, src: &str) -> Loaded {
    let (work, tag, obj) = build(name, src);
    let pins = std::path::Path::new("/sys/fs/bpf").join(&tag);
    let (ok, out, err) = tool(
        "bpftool",
        &[
            "prog",
            "loadall",
            obj.to_str().unwrap(),
            pins.to_str().unwrap(),
        ],
    );
    let l = Loaded { pins, work };
    assert!(ok, "the verifier rejected {name}:\n{out}\n{err}");
    std::fs::create_dir_all(l.pins.join("maps")).unwrap();
    for prog in std::fs::read_dir(&l.pins).unwrap() {
        let prog = prog.unwrap().path();
        if prog.is_dir() {
            continue;
        }
        let (_, out, _) = tool(
            "bpftool",
            &["-j", "prog", "show", "pinned", prog.to_str().unwrap()],
        );
        let ids = out
            .split("\"map_ids\":[")
            .nth(1)
            .map_or("", |s| s.split(']').next().unwrap());
        for id in ids.split(',').filter(|s| !s.is_empty()) {
            let (_, m, _) = tool("bpftool", &["-j", "map", "show", "id", id]);
            let mname = m
                .split("\"name\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .replace('.', "_");
            let path = l.pins.join("maps").join(&mname);
            if !path.exists() {
                let (ok, out, err) =
                    tool("bpftool", &["map", "pin", "id", id, path.to_str().unwrap()]);
                assert!(ok, "{out}{err}");
            }
        }
    }
    l
}
