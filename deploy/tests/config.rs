//! The deployment file: the spec's example reads as written, defaults
//! apply, and mistakes are errors at their line and column.

use ksc_deploy::config::{parse, Attach, RestartPolicy, XdpMode};
use ksc_ir::{FileId, SourceMap};

/// Line and column (1-based) of a span's start.
fn at(text: &str, span: ksc_ir::Span) -> (u32, u32) {
    SourceMap::single("deploy.yaml", text).line_col(span)
}

/// The spec's example, its interface names replaced by names of the same
/// length (it names the machine's own uplink; nothing is attached here,
/// but no test names it).
#[test]
fn the_spec_example_reads_with_its_values() {
    let text = r#"# Deployment configuration for KernelScript programs
apiVersion: kernelscript.dev/v1
kind: ProgramDeployment
metadata:
  name: network-monitoring
spec:
  programs:
    - name: packet_counter
      type: xdp
      attach:
        interfaces: ["ksc0", "ksc1"]
        mode: "native" # or "generic"
    - name: security_monitor
      type: lsm
      attach:
        hooks: ["socket_connect"]
    - name: perf_tracer
      type: kprobe
      attach:
        functions:
          - "sys_read"
          - "sys_write"
  auto_attach: true
  global_maps:
    pin_path: "/sys/fs/bpf/monitoring/"
    cleanup_on_exit: true
  userspace:
    auto_start: true
    restart_policy: "always"
"#;
    let d = parse(text, FileId::MAIN).unwrap();
    assert_eq!(d.name.value, "network-monitoring");
    assert_eq!(d.programs.len(), 3);
    let p = &d.programs[0];
    assert_eq!(p.ty.value, "xdp");
    assert_eq!(p.mode, XdpMode::Native);
    let ifs: Vec<&Attach> = p.attach.iter().map(|a| &a.value).collect();
    assert_eq!(
        ifs,
        [
            &Attach::Interface("ksc0".into()),
            &Attach::Interface("ksc1".into())
        ]
    );
    assert_eq!(at(text, p.attach[1].span), (11, 30));
    assert_eq!(
        d.programs[1].attach[0].value,
        Attach::Hook("socket_connect".into())
    );
    assert_eq!(d.programs[2].attach.len(), 2);
    assert_eq!(d.pin_dir(), std::path::Path::new("/sys/fs/bpf/monitoring"));
    let u = d.userspace.unwrap();
    assert!(u.auto_start);
    assert_eq!(u.restart_policy, RestartPolicy::Always);
}

#[test]
fn defaults() {
    let text = "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: d\nspec:\n  programs:\n    - name: p\n      type: tracepoint\n  userspace: {}\n";
    let d = parse(text, FileId::MAIN).unwrap();
    assert!(d.auto_attach);
    assert!(d.global_maps.cleanup_on_exit);
    assert_eq!(d.pin_dir(), std::path::Path::new("/sys/fs/bpf/ksc/d"));
    assert!(d.programs[0].attach.is_empty());
    assert_eq!(d.programs[0].mode, XdpMode::Default);
    let u = d.userspace.unwrap();
    assert!(!u.auto_start);
    assert_eq!(u.restart_policy, RestartPolicy::OnFailure);
    assert!(u.args.is_empty());
}

#[test]
fn mistakes_are_located() {
    let head =
        "apiVersion: kernelscript.dev/v1\nkind: ProgramDeployment\nmetadata:\n  name: d\nspec:\n";
    let cases: &[(&str, &str, (u32, u32))] = &[
        (
            "  programs:\n    - name: p\n      typo: xdp\n",
            "unknown field `typo`",
            (8, 7),
        ),
        ("  programs:\n    - name: p\n", "has no `type`", (7, 7)),
        (
            "  programs: []\n  userspace:\n    restart_policy: sometimes\n",
            "unknown restart_policy `sometimes`",
            (8, 21),
        ),
        (
            "  programs: []\n  auto_attach: perhaps\n",
            "must be true or false",
            (7, 16),
        ),
        (
            "  programs:\n    - name: p\n      type: xdp\n      attach:\n        mode: turbo\n",
            "unknown XDP mode",
            (10, 15),
        ),
        (
            "  programs:\n    - name: p\n      type: xdp\n    - name: p\n      type: xdp\n",
            "listed twice",
            (9, 13),
        ),
        ("  programs: [\n", "invalid YAML", (7, 1)),
    ];
    for (body, msg, pos) in cases {
        let text = format!("{head}{body}");
        let errs = parse(&text, FileId::MAIN).unwrap_err();
        let e = errs
            .iter()
            .find(|e| e.message.contains(msg))
            .unwrap_or_else(|| panic!("no `{msg}` in {errs:?}"));
        assert_eq!(at(&text, e.span), *pos, "{msg}");
    }
    let errs = parse("apiVersion: v2\nkind: Pod\n", FileId::MAIN).unwrap_err();
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("unknown apiVersion")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("unknown kind")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("no `metadata`")), "{msgs:?}");
}
