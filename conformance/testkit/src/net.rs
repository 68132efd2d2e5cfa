//! Network fixtures of ksc's tests: a veth pair whose far end lives in a
//! network namespace the test made (tests never touch the machine's own
//! interfaces), removed on drop; and `sh`, the shell the fixtures use.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Runs `cmd` with `sh -c`; its stdout then its stderr.
pub fn sh(cmd: &str) -> String {
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A veth pair: `host` in this namespace (10.`net`.0.1), its peer in the
/// new namespace `ns` (10.`net`.0.2, with `lo` up). Names carry the
/// process id and a counter, so tests and test binaries running side by
/// side never share one; all of it is removed on drop.
pub struct Veth {
    pub ns: String,
    pub host: String,
    pub net: u32,
}

impl Veth {
    /// Panics (failing the test) when the pair cannot be made.
    #[allow(clippy::new_without_default)] // makes interfaces: not a default
    pub fn new() -> Veth {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let id = std::process::id() % 10000;
        let v = Veth {
            ns: format!("ksc-t{id}-{n}"),
            host: format!("kscv{id}x{n}"),
            // Spread over processes too: two pairs with one subnet on the
            // host side would confuse routing.
            net: 100 + (id + n) % 150,
        };
        let peer = format!("kscp{id}x{n}");
        let out = sh(&format!(
            "ip netns add {ns} && ip link add {h} type veth peer name {peer} netns {ns} && ip addr add 10.{net}.0.1/24 dev {h} && ip link set {h} up && ip -n {ns} addr add 10.{net}.0.2/24 dev {peer} && ip -n {ns} link set {peer} up && ip -n {ns} link set lo up && echo ok",
            ns = v.ns,
            h = v.host,
            net = v.net
        ));
        assert!(out.contains("ok"), "cannot create the veth pair: {out}");
        v
    }

    /// Sends `count` UDP datagrams from the namespace to the host side.
    pub fn udp(&self, port: u16, count: usize) {
        for _ in 0..count {
            sh(&format!(
                "ip netns exec {} bash -c 'echo x > /dev/udp/10.{}.0.1/{port}'",
                self.ns, self.net
            ));
        }
    }

    /// The command that sends `count` UDP datagrams from the namespace to
    /// the host side, `gap_ms` apart (to run beside something else).
    pub fn udp_cmd(&self, port: u16, count: usize, gap_ms: u32) -> String {
        format!(
            "ip netns exec {} bash -c 'for i in $(seq {count}); do echo x > /dev/udp/10.{}.0.1/{port}; sleep 0.{gap_ms:03}; done'",
            self.ns, self.net
        )
    }

    /// What is still attached to the host side: XDP programs, tc filters,
    /// tcx links, a clsact qdisc (empty when nothing is).
    pub fn left(&self) -> String {
        sh(&format!(
            "bpftool net show dev {h} | grep -v '^\\(xdp\\|tc\\|flow_dissector\\|netfilter\\):$' | grep .; tc filter show dev {h} ingress; tc filter show dev {h} egress; tc qdisc show dev {h} | grep clsact",
            h = self.host
        ))
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        sh(&format!(
            "ip link del {} 2>/dev/null; ip netns del {}",
            self.host, self.ns
        ));
    }
}
