//! `ksc deploy` / `status` / `undeploy` / `attach` / `detach` / `package`
//! in the kernel: programs attach only to a veth pair inside a network
//! namespace the test creates (never the machine's own interfaces) or to a
//! tracepoint; each deployment pins under its own directory on bpffs and
//! the test checks that nothing is left afterwards. Needs root, clang,
//! bpftool, libbpf.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ksc_testkit::require;

mod deploy_common;
use deploy_common::{example, map_value, root, sh, Case, Veth};

fn link_ids(status: &serde_json::Value) -> Vec<u64> {
    status["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["link"]["id"].as_u64())
        .collect()
}

fn assert_gone(case: &Case, link_ids: &[u64], prog_ids: &[u64]) {
    assert!(
        !case.pins().exists(),
        "pins left: {}",
        sh(&format!("ls -R {}", case.pins().display()))
    );
    for id in link_ids {
        let o = sh(&format!("bpftool link show id {id}"));
        assert!(
            o.contains("Error") || o.trim().is_empty(),
            "link {id} left: {o}"
        );
    }
    for id in prog_ids {
        // A program's release is deferred (RCU): give it a moment.
        let t = Instant::now();
        loop {
            let o = sh(&format!("bpftool prog show id {id}"));
            if o.contains("Error") || o.trim().is_empty() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "program {id} left: {o}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn prog_ids(status: &serde_json::Value) -> Vec<u64> {
    status["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_u64())
        .collect()
}

const XDP_YAML: &str = "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: @NAME@
spec:
  source: prog.ks
  programs:
    - name: firewall_filter
      type: xdp
      attach:
        interfaces: [\"@IF@\"]
        mode: generic
";

#[test]
fn xdp_example_outlives_ksc_counts_is_replaced_in_place_and_undeploys_clean() {
    require!(root());
    require!(ksc_testkit::bpffs());
    let v = Veth::new();
    let case = Case::new(
        "xdp",
        &example("xdp_firewall.ks"),
        &XDP_YAML.replace("@IF@", &v.host),
    );
    let out = case.ok(&["deploy"]);
    assert!(out.contains("attached to interface"), "{out}");
    // ksc has exited: the program is still attached, through its pinned link.
    let s1 = case.status();
    let links1 = link_ids(&s1);
    assert_eq!(links1.len(), 1, "{s1}");
    assert_eq!(s1["links"][0]["interface"], v.host.as_str(), "{s1}");
    let shown = sh(&format!("bpftool net show dev {}", v.host));
    let id1 = prog_ids(&s1)[0];
    assert!(
        shown.contains(&format!("id {id1}")),
        "not attached after ksc exited:\n{shown}"
    );
    let counts = case.pins().join("maps/proto_counts");
    sh(&v.udp_cmd(6000, 5, 1));
    assert_eq!(
        map_value(&counts, 17),
        5,
        "UDP packets counted in the pinned map"
    );

    // Redeploy a changed program while traffic flows: every packet is
    // counted once (the link is updated atomically and the map is reused).
    let changed = example("xdp_firewall.ks").replacen(
        "fn firewall_filter(ctx: *xdp_md) -> xdp_action {\n",
        "fn firewall_filter(ctx: *xdp_md) -> xdp_action {\n    proto_counts[255] += 1\n",
        1,
    );
    std::fs::write(case.dir.join("prog.ks"), changed).unwrap();
    let sender = Command::new("sh")
        .arg("-c")
        .arg(v.udp_cmd(6000, 200, 5))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = case.ok(&["deploy"]);
    assert!(out.contains("replaced in place"), "{out}");
    assert!(out.contains("reusing"), "maps not reused: {out}");
    let mut sender = sender;
    sender.wait().unwrap();
    assert_eq!(
        map_value(&counts, 17),
        205,
        "a packet went uncounted across the redeploy"
    );
    let after = map_value(&counts, 255);
    assert!(
        after > 0 && after < 205,
        "the new program never ran (or ran from the start): {after}"
    );
    let s2 = case.status();
    assert_eq!(link_ids(&s2), links1, "the same link, updated in place");
    assert_ne!(prog_ids(&s2), prog_ids(&s1), "a new program");

    case.ok(&["undeploy"]);
    assert_gone(&case, &links1, &[prog_ids(&s1), prog_ids(&s2)].concat());
    let shown = sh(&format!("bpftool net show dev {}", v.host));
    assert!(!shown.contains(" id "), "still attached:\n{shown}");
}

#[test]
fn tracepoint_example_deploys_counts_redeploys_and_undeploys_clean() {
    require!(root());
    require!(ksc_testkit::bpffs());
    require!(ksc_testkit::tracefs());
    let yaml = "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: @NAME@
spec:
  source: prog.ks
  programs:
    - name: on_exec
      type: tracepoint
      attach:
        tracepoints: [sched/sched_process_exec]
";
    let case = Case::new("tp", &example("tracepoint_exec_counter.ks"), yaml);
    case.ok(&["deploy"]);
    let s1 = case.status();
    let by_uid = case.pins().join("maps/execs_by_uid");
    let before = map_value(&by_uid, 0);
    for _ in 0..5 {
        Command::new("/bin/true").status().unwrap();
    }
    let mid = map_value(&by_uid, 0);
    assert!(
        mid >= before + 5,
        "execs not counted after ksc exited: {before} -> {mid}"
    );
    // Redeploy: a perf-event link cannot be updated, so the new one is
    // attached before the old one goes; the map keeps its counts.
    let out = case.ok(&["deploy"]);
    assert!(out.contains("attached anew"), "{out}");
    for _ in 0..5 {
        Command::new("/bin/true").status().unwrap();
    }
    let end = map_value(&by_uid, 0);
    assert!(
        end >= mid + 5,
        "counts lost or not counted after redeploy: {mid} -> {end}"
    );
    let s2 = case.status();
    case.ok(&["undeploy"]);
    assert_gone(
        &case,
        &[link_ids(&s1), link_ids(&s2)].concat(),
        &[prog_ids(&s1), prog_ids(&s2)].concat(),
    );
}

const SUPERVISED: &str = "
var hits : array<u32, u64>(1)

@xdp
fn pass_all(ctx: *xdp_md) -> xdp_action {
    hits[0] += 1
    return XDP_PASS
}

fn main() -> i32 {
    sleep(600000)
    return 0
}
";

fn supervised_yaml(policy: &str, iface: &str) -> String {
    format!(
        "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: @NAME@
spec:
  source: prog.ks
  programs:
    - name: pass_all
      type: xdp
      attach:
        interfaces: [{iface}]
  userspace:
    auto_start: true
    restart_policy: {policy}
"
    )
}

fn userspace_pid(case: &Case) -> (u64, bool) {
    let s = case.status();
    (
        s["userspace"]["pid"].as_u64().unwrap_or(0),
        s["userspace"]["running"].as_bool().unwrap_or(false),
    )
}

#[test]
fn killed_userspace_is_restarted_under_always_not_under_never() {
    require!(root());
    require!(ksc_testkit::bpffs());
    let v = Veth::new();
    for (policy, restarts) in [("always", true), ("never", false)] {
        let case = Case::new(
            &format!("sup-{policy}"),
            SUPERVISED,
            &supervised_yaml(policy, &v.host),
        );
        let out = case.ok(&["deploy"]);
        assert!(out.contains("under supervisor"), "{out}");
        let (pid, running) = userspace_pid(&case);
        assert!(running && pid != 0, "userspace not running");
        sh(&format!("kill -9 {pid}"));
        let t = Instant::now();
        let mut seen = (pid, false);
        while t.elapsed() < Duration::from_secs(5) {
            seen = userspace_pid(&case);
            if seen.0 != pid && seen.1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if restarts {
            assert!(
                seen.0 != pid && seen.1,
                "not restarted under `{policy}`: {seen:?}"
            );
        } else {
            assert_eq!(seen, (pid, false), "restarted under `never`");
        }
        let s = case.status();
        let sup = s["userspace"]["supervisor_pid"].as_u64().unwrap();
        case.ok(&["undeploy"]);
        assert!(
            !Path::new(&format!("/proc/{sup}")).exists()
                || sh(&format!("cat /proc/{sup}/stat")).contains(") Z"),
            "supervisor {sup} left running"
        );
        if seen.1 {
            let left = sh(&format!("cat /proc/{}/stat 2>/dev/null", seen.0));
            assert!(
                left.is_empty() || left.contains(") Z"),
                "userspace {} left running",
                seen.0
            );
        }
        assert!(!case.pins().exists());
    }
}

/// Where systemd runs the machine, `auto_start` is a unit: written with
/// `Restart=` from the policy, started, shown by `status`, stopped and
/// removed by `undeploy`. This machine has no systemd: the unit directory
/// is a scratch one and `systemctl` a script that records its calls.
#[test]
fn under_systemd_userspace_is_a_unit_started_and_removed() {
    require!(root());
    require!(ksc_testkit::bpffs());
    let v = Veth::new();
    for (policy, restart) in [("always", "always"), ("never", "no")] {
        let mut case = Case::new(
            &format!("sd-{policy}"),
            SUPERVISED,
            &supervised_yaml(policy, &v.host),
        );
        let units = case.dir.join("units");
        let bin = case.dir.join("bin");
        std::fs::create_dir_all(&units).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let calls = case.dir.join("systemctl.log");
        let fake = bin.join("systemctl");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nif [ \"$1\" = show ]; then printf 'MainPID=4242\\nActiveState=active\\n'; fi\n",
                calls.display()
            ),
        )
        .unwrap();
        sh(&format!("chmod +x '{}'", fake.display()));
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        case.env.push(("PATH".into(), path));
        case.env
            .push(("KSC_SYSTEMD_UNIT_DIR".into(), units.display().to_string()));
        let unit = format!("ksc-{}.service", case.name);
        let out = case.ok(&["deploy"]);
        assert!(out.contains(&format!("systemd unit {unit}")), "{out}");
        let text = std::fs::read_to_string(units.join(&unit)).unwrap();
        assert!(text.contains(&format!("Restart={restart}\n")), "{text}");
        assert!(text.contains("ExecStart=\""), "{text}");
        let log = std::fs::read_to_string(&calls).unwrap();
        assert!(
            log.contains("daemon-reload") && log.contains(&format!("restart {unit}")),
            "{log}"
        );
        let s = case.status();
        assert_eq!(s["userspace"]["manager"], "systemd", "{s}");
        assert_eq!(s["userspace"]["pid"], 4242, "{s}");
        // No ksc supervisor beside the unit.
        assert!(!case.pins().join("supervisor").exists());
        let out = case.ok(&["undeploy"]);
        assert!(out.contains("stopped and removed"), "{out}");
        let log = std::fs::read_to_string(&calls).unwrap();
        assert!(log.contains(&format!("stop {unit}")), "{log}");
        assert!(!units.join(&unit).exists());
        assert!(!case.pins().exists());
    }
}

#[test]
fn deployment_file_errors_are_located() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "bad-yaml",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  programs: [\n    - name: a\n",
            &["deploy.yaml:", "invalid YAML"],
        ),
        (
            "unknown-program",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  source: prog.ks\n  programs:\n    - name: no_such_prog\n      type: xdp\n      attach:\n        interfaces: [lo]\n",
            &["deploy.yaml:8:13", "has no eBPF program `no_such_prog`", "its programs are: firewall_filter"],
        ),
        (
            "missing-interface",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  source: prog.ks\n  programs:\n    - name: firewall_filter\n      type: xdp\n      attach:\n        interfaces: [\"ksc-no-such0\"]\n",
            &["deploy.yaml:11:22", "no network interface `ksc-no-such0`"],
        ),
        (
            "type-mismatch",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  source: prog.ks\n  programs:\n    - name: firewall_filter\n      type: tracepoint\n",
            &["deploy.yaml:9:13", "is of type `xdp` in the source, not `tracepoint`", "prog.ks:38:4"],
        ),
        (
            "unknown-field",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  source: prog.ks\n  auto_atach: true\n  programs: []\n",
            &["deploy.yaml:7:3", "unknown field `auto_atach`"],
        ),
        (
            "pin-path",
            "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: x\nspec:\n  source: prog.ks\n  programs: []\n  global_maps:\n    pin_path: /tmp/not-bpffs\n",
            &["deploy.yaml:9:15", "is not on a bpf filesystem"],
        ),
    ];
    for (tag, yaml, want) in cases {
        let case = Case::new(tag, &example("xdp_firewall.ks"), yaml);
        let o = case.ksc(&["deploy", "--color=never"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{tag}: {err}");
        for w in *want {
            assert!(err.contains(w), "{tag}: no `{w}` in:\n{err}");
        }
        assert!(!err.contains("panicked"), "{tag}: {err}");
    }
}

#[test]
fn attach_and_detach_with_auto_attach_false() {
    require!(root());
    require!(ksc_testkit::bpffs());
    let v = Veth::new();
    let yaml = "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: @NAME@
spec:
  source: prog.ks
  auto_attach: false
  programs:
    - name: firewall_filter
      type: xdp
";
    let case = Case::new("attach", &example("xdp_firewall.ks"), yaml);
    case.ok(&["deploy"]);
    assert!(link_ids(&case.status()).is_empty());
    case.ok(&[
        "attach",
        "firewall_filter",
        &format!("--interface={}", v.host),
        "--mode=generic",
    ]);
    let s = case.status();
    assert_eq!(link_ids(&s).len(), 1, "{s}");
    sh(&v.udp_cmd(6000, 3, 1));
    assert_eq!(map_value(&case.pins().join("maps/proto_counts"), 17), 3);
    case.ok(&["detach", "firewall_filter"]);
    assert!(link_ids(&case.status()).is_empty());
    case.ok(&["undeploy"]);
    assert!(!case.pins().exists());
}

#[test]
fn tc_example_deploys_on_tcx_links_and_is_replaced_in_place() {
    require!(root());
    require!(ksc_testkit::bpffs());
    let v = Veth::new();
    let yaml = format!(
        "apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: @NAME@
spec:
  source: prog.ks
  programs:
    - name: ingress_counter
      type: tc
      attach:
        interfaces: {host}
    - name: egress_counter
      type: tc
      attach:
        interfaces: {host}
",
        host = v.host
    );
    let case = Case::new("tc", &example("tc_counter.ks"), &yaml);
    case.ok(&["deploy"]);
    let s1 = case.status();
    let kinds: Vec<&str> = s1["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["link"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["tcx", "tcx"], "{s1}");
    let stats = case.pins().join("maps/stats");
    sh(&v.udp_cmd(6000, 3, 1));
    assert!(map_value(&stats, 2) >= 3, "ingress not counted");
    let out = case.ok(&["deploy"]);
    assert_eq!(out.matches("replaced in place").count(), 2, "{out}");
    assert_eq!(link_ids(&case.status()), link_ids(&s1));
    let before = map_value(&stats, 2);
    sh(&v.udp_cmd(6000, 3, 1));
    assert!(
        map_value(&stats, 2) >= before + 3,
        "counts lost or not counted after redeploy"
    );
    let s2 = case.status();
    case.ok(&["undeploy"]);
    assert_gone(
        &case,
        &link_ids(&s1),
        &[prog_ids(&s1), prog_ids(&s2)].concat(),
    );
}
