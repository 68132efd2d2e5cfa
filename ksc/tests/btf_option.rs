//! `ksc check --btf FILE` (and `KSC_BTF=FILE`, its alias): the program is
//! checked against that kernel BTF, not the running kernel's, which
//! `KSC_NO_HOST_BTF=1` hides here to show it is not read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A Debian kernel's BTF, the midend tests' (midend/tests/btf/).
fn small_btf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../midend/tests/btf/small.btf")
}

fn ksc(args: &[&str], btf_env: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ksc"));
    c.args(args)
        .env("KSC_NO_HOST_BTF", "1")
        .env_remove("KSC_BTF");
    if let Some(p) = btf_env {
        c.env("KSC_BTF", p);
    }
    c.output().unwrap()
}

const TRACEPOINT: &str = "@tracepoint(\"sched/sched_switch\")\nfn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return ctx->prev_pid as i32\n}\n\nfn main() -> i32 {\n    return 0\n}\n";

#[test]
fn check_reads_the_btf_it_is_given() {
    let d = std::env::temp_dir().join(format!("ksc-btf-option-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let ks = d.join("tp.ks");
    std::fs::write(&ks, TRACEPOINT).unwrap();
    let (ks, btf) = (ks.to_str().unwrap(), small_btf());
    let btf_s = btf.to_str().unwrap();
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // Given: the tracepoint's context comes from that kernel.
    let o = ksc(&["check", "--btf", btf_s, ks], None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // Through KSC_BTF, the same.
    let o = ksc(&["check", ks], Some(&btf));
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // Neither: no kernel to ask (the running one is hidden), a located error.
    let o = ksc(&["check", "--color=never", ks], None);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("tp.ks:2:")
            && err(&o).contains("`trace_event_raw_sched_switch` not found in the kernel's BTF"),
        "{}",
        err(&o)
    );
    // A file that is no BTF: a usage error before anything is checked,
    // for `check` and for `build` alike.
    for cmd in ["check", "build"] {
        let o = ksc(&[cmd, "--btf", ks, ks], None);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", err(&o));
        assert!(err(&o).contains("error: --btf: "), "{cmd}: {}", err(&o));
        assert!(err(&o).contains("help: "), "{cmd}: {}", err(&o));
    }
    let _ = std::fs::remove_dir_all(&d);
}
