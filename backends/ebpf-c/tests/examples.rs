//! Every program in `examples/` in the real kernel: compiled by ksc, built
//! with clang (warnings are failures), loaded through the verifier with
//! bpftool, run with BPF_PROG_TEST_RUN on crafted packets, its maps and
//! globals read back. Needs root, clang, bpftool and bpffs.

mod common;

use common::*;

// ---------------------------------------------------------------- helpers

#[test]
#[ignore]
fn scratch() {
    let f = std::env::var("KS_FILE").unwrap();
    let src = std::fs::read_to_string(&f).unwrap();
    let c = generate("scratch", &src);
    std::fs::write("/tmp/ksx/scratch.c", &c).unwrap();
    let l = load("scratch", &src);
    let (_, out, _) = tool("bpftool", &["map", "show"]);
    println!("{out}");
    let (_, out, _) = tool("ls", &["-R", l.pins.to_str().unwrap()]);
    println!("{out}");
}
