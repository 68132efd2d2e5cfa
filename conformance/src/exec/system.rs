//! The machine side of a job: veth pairs in network namespaces it made,
//! shell and tool runs, map lookups through bpftool, and the bpffs.

use std::process::Command;

use super::lines::fail;

pub(super) struct Net {
    pub(super) ns: String,
    pub(super) peer_ns: String,
}

impl Net {
    pub(super) const IFACE: &'static str = "kscv0";

    pub(super) fn new(id: &str) -> Result<Net, String> {
        let net = Net {
            ns: format!("kscA{id}"),
            peer_ns: format!("kscB{id}"),
        };
        let script = format!(
            "ip netns add {a} && ip netns add {b} && \
             ip -n {a} link add {i} type veth peer name kscp0 netns {b} && \
             ip -n {a} addr add 10.201.0.1/24 dev {i} && ip -n {a} link set {i} up && ip -n {a} link set lo up && \
             ip -n {b} addr add 10.201.0.2/24 dev kscp0 && ip -n {b} link set kscp0 up && ip -n {b} link set lo up",
            a = net.ns,
            b = net.peer_ns,
            i = Net::IFACE
        );
        let (ok, out) = sh(&script);
        if !ok {
            return Err(format!("cannot create the veth pair: {out}"));
        }
        Ok(net)
    }

    /// Attached XDP programs, tc filters and clsact qdiscs left on the interface.
    pub(super) fn leftovers(&self) -> String {
        let i = Net::IFACE;
        let a = &self.ns;
        let mut left = vec![];
        let (_, link) = sh(&format!("ip -n {a} -d link show {i}"));
        if link.contains("prog/xdp") || link.contains(" xdp") {
            left.push("an XDP program".to_string());
        }
        for dir in ["ingress", "egress"] {
            let (_, f) = sh(&format!("tc -n {a} filter show dev {i} {dir}"));
            if !f.trim().is_empty() {
                left.push(format!("a tc {dir} filter"));
            }
        }
        let (_, q) = sh(&format!("tc -n {a} qdisc show dev {i}"));
        if q.contains("clsact") {
            left.push("a clsact qdisc".into());
        }
        left.join(", ")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        sh(&format!(
            "ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null",
            self.ns, self.peer_ns
        ));
    }
}

pub(super) fn sh(script: &str) -> (bool, String) {
    match Command::new("sh").arg("-c").arg(script).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        ),
        Err(e) => (false, format!("cannot run sh: {e}")),
    }
}

pub(super) fn tool(cmd: &str, args: &[&str]) -> (bool, String, String) {
    match Command::new(cmd).args(args).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (false, String::new(), format!("cannot run {cmd}: {e}")),
    }
}

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A map entry as bytes (a per-CPU integer value summed over CPUs);
/// None when there is no entry.
pub(super) fn lookup(id: u64, key: &[u8]) -> Result<Option<Vec<u8>>, (String, String)> {
    let mut args: Vec<String> = ["-j", "map", "lookup", "id"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(id.to_string());
    args.push("key".into());
    args.push("hex".into());
    args.extend(key.iter().map(|b| format!("{b:02x}")));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (ok, out, err) = tool("bpftool", &refs);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    if v.is_null() && out.trim() == "null" {
        // bpftool's answer for a key with no entry.
        return Ok(None);
    }
    if !ok || v.get("error").is_some() {
        let e = v
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or(&err)
            .to_string();
        if e.contains("not found") {
            return Ok(None);
        }
        return fail(format!("cannot read map {id}: {}", e.trim()));
    }
    let bytes = |v: &serde_json::Value| -> Vec<u8> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b.as_str())
                    .filter_map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(value) = v.get("value") {
        return Ok(Some(bytes(value)));
    }
    // Per-CPU: summed over CPUs as one little-endian integer (a value of
    // at most 8 bytes) or 8 bytes at a time (a struct of u64 counters).
    let per_cpu: Vec<Vec<u8>> = v
        .get("values")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .map(|c| bytes(c.get("value").unwrap_or(&serde_json::Value::Null)))
                .collect()
        })
        .unwrap_or_default();
    let width = per_cpu.first().map(|v| v.len()).unwrap_or(0);
    if width == 0 || (width > 8 && !width.is_multiple_of(8)) {
        return Ok(per_cpu.into_iter().next());
    }
    let lane = width.min(8);
    let mut total = vec![0u8; width];
    for at in (0..width).step_by(lane) {
        let sum = per_cpu
            .iter()
            .map(|v| {
                let mut b = [0u8; 8];
                b[..lane].copy_from_slice(&v[at..at + lane]);
                u64::from_le_bytes(b)
            })
            .fold(0u64, |a, b| a.wrapping_add(b));
        total[at..at + lane].copy_from_slice(&sum.to_le_bytes()[..lane]);
    }
    Ok(Some(total))
}

/// A bpffs of this mount namespace's own at /sys/fs/bpf.
pub(super) fn fresh_bpffs() -> Result<(), String> {
    let (ok, _, err) = tool("mount", &["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    if ok {
        Ok(())
    } else {
        Err(format!("cannot mount a bpffs for the case: {}", err.trim()))
    }
}

pub(super) fn ensure_bpffs() -> Result<(), String> {
    let mounted = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some("/sys/fs/bpf") && l.split(' ').nth(2) == Some("bpf"));
    if mounted {
        return Ok(());
    }
    let (ok, _, err) = tool("mount", &["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bpffs is not mounted at /sys/fs/bpf and cannot be mounted: {err}"
        ))
    }
}
