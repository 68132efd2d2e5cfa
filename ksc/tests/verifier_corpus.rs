//! What `ksc check` accepts, the kernel's verifier accepts: for every
//! program of the project's own corpora (examples/, the completed spec
//! programs, the midend's valid twins, the front end's spec and invalid
//! fixtures, the conformance cases) that ksc accepts, the eBPF C it
//! generates compiles with clang and every program of the object loads
//! through this kernel's verifier (bpftool prog loadall).
//!
//! Programs this host cannot load for reasons outside ksc are listed as
//! skipped, with the reason, counted and printed: those with a kernel
//! module (`@kfunc`: the conformance suite builds and inserts it), and
//! trampoline programs (LSM, fentry/fexit), which this machine's kernel
//! refuses with EPERM before the verifier runs. Kprobes load (only their
//! attach is refused here).
//!
//! All failures are reported together: each with its file and the first
//! lines of the verifier's (or clang's, or ksc's) complaint.
//! Needs root, clang, bpftool and bpffs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ks_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ks"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every program of the corpora, with a short name.
fn corpus() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in [
        "examples",
        "midend/tests/fixtures/spec",
        "midend/tests/fixtures/valid",
        "frontend/tests/fixtures/spec",
        "frontend/tests/fixtures/invalid",
    ] {
        for p in ks_in(dir) {
            let name = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
            out.push((name, p));
        }
    }
    let cases = root().join("conformance/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("prog.ks").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = format!(
            "conformance/cases/{}",
            d.file_name().unwrap().to_string_lossy()
        );
        out.push((name, d.join("prog.ks")));
    }
    out
}

fn run(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        ),
        Err(e) => (false, format!("cannot run: {e}")),
    }
}

/// The first lines of the complaint: for a verifier log, the lines after
/// the last instruction dump (where it says why), else the first lines.
fn first_lines(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    if let Some(end) = lines
        .iter()
        .position(|l| l.contains("-- END PROG LOAD LOG --"))
    {
        // The verifier's reason is the line before "processed N insns"
        // (or the log's last lines).
        let start = lines[..end]
            .iter()
            .rposition(|l| l.starts_with("processed ") || l.starts_with("verification time"))
            .unwrap_or(end);
        let from = start.saturating_sub(n);
        let failed = lines
            .iter()
            .find(|l| l.contains("failed to load"))
            .map(|l| format!("{l}\n"))
            .unwrap_or_default();
        return failed + &lines[from..start].join("\n");
    }
    // No verifier log: libbpf's own complaint.
    let said: Vec<&str> = lines
        .iter()
        .filter(|l| {
            let l = l.to_lowercase();
            (l.contains("error")
                || l.contains("fail")
                || l.contains("invalid")
                || l.contains("mismatch"))
                && !l.contains("libbpf strict mode")
        })
        .take(n)
        .copied()
        .collect();
    if said.is_empty() {
        lines.iter().take(n).copied().collect::<Vec<_>>().join("\n")
    } else {
        said.join("\n")
    }
}

/// Accepted programs the verifier still refuses, with why: the test fails
/// when one of them loads (so the list stays true) and reports them.
const KNOWN: &[(&str, &str)] = &[];

enum Outcome {
    /// `ksc` refused the program (its diagnostics are the other tests').
    Refused,
    Skipped(String),
    Loaded(usize),
    Failed(String),
}

fn one(name: &str, path: &Path, work: &Path, plugins: &Path) -> Outcome {
    let src = std::fs::read_to_string(path).unwrap_or_default();
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let out = work.join(&slug);
    let ksc = env!("CARGO_BIN_EXE_ksc");
    let (ok, log) = run(Command::new(ksc)
        .arg(path)
        .arg("--target=ebpf-c")
        .arg("-o")
        .arg(&out)
        .env("KSC_PLUGIN_PATH", plugins));
    if !ok {
        let (checks, _) = run(Command::new(ksc)
            .arg("check")
            .arg(path)
            .env("KSC_PLUGIN_PATH", plugins));
        if !checks {
            return Outcome::Refused;
        }
        if src.contains("@kfunc") {
            return Outcome::Skipped("a kernel module (@kfunc)".into());
        }
        return Outcome::Failed(format!(
            "`ksc check` accepts it, generating the eBPF C fails:\n{}",
            first_lines(&log, 8)
        ));
    }
    let Some(c) = std::fs::read_dir(&out).ok().and_then(|d| {
        d.filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".ebpf.c"))
    }) else {
        // Userspace only: nothing for the kernel.
        return Outcome::Loaded(0);
    };
    let code = std::fs::read_to_string(&c).unwrap_or_default();
    if src.contains("@kfunc") {
        return Outcome::Skipped("a kernel module (@kfunc)".into());
    }
    for (sec, why) in [
        (
            "SEC(\"lsm/",
            "an LSM program (trampolines are refused on this host)",
        ),
        (
            "SEC(\"fentry/",
            "an fentry program (trampolines are refused on this host)",
        ),
        (
            "SEC(\"fexit/",
            "an fexit program (trampolines are refused on this host)",
        ),
    ] {
        if code.contains(sec) {
            return Outcome::Skipped(why.into());
        }
    }
    let programs = code.matches("SEC(\"").count()
        - code.matches("SEC(\"license\")").count()
        - code.matches("SEC(\".maps\")").count();
    if programs == 0 {
        return Outcome::Loaded(0);
    }
    let obj = out.join("prog.ebpf.o");
    let (ok, log) = run(Command::new("clang").args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        &format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH),
        "-c",
        &c.to_string_lossy(),
        "-o",
        &obj.to_string_lossy(),
    ]));
    if !ok {
        let errs: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("error"))
            .take(6)
            .collect();
        return Outcome::Failed(format!(
            "`ksc check` accepts it, clang refuses the eBPF C:\n{}",
            errs.join("\n")
        ));
    }
    // In a mount namespace with a bpffs of its own: maps pinned by name
    // (`pin var`) start empty and vanish with it, as in the conformance
    // runner.
    let script = format!(
        "mount -t bpf bpf /sys/fs/bpf && bpftool -d prog loadall '{}' /sys/fs/bpf/p && echo \"loaded $(ls /sys/fs/bpf/p | wc -l)\"",
        obj.display()
    );
    let (ok, log) = run(Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(&script));
    let loaded = log
        .lines()
        .find_map(|l| l.strip_prefix("loaded ")?.trim().parse().ok())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&out);
    if !ok && log.contains("not found in kernel or module BTFs") {
        let what = log
            .lines()
            .find(|l| l.contains("not found in kernel or module BTFs"))
            .unwrap_or_default()
            .trim_start_matches("libbpf: ");
        return Outcome::Skipped(format!("this kernel lacks what it uses ({what})"));
    }
    if !ok {
        return Outcome::Failed(format!(
            "`ksc check` accepts it, the verifier refuses it:\n{}",
            first_lines(&log, 6)
        ));
    }
    Outcome::Loaded(loaded)
}

#[test]
fn every_program_ksc_accepts_loads_through_the_verifier() {
    if let Err(why) = ksc_testkit::bpffs() {
        panic!("{why}");
    }
    let plugins = PathBuf::from(env!("CARGO_BIN_EXE_ksc"))
        .parent()
        .unwrap()
        .join("deps");
    let work = std::env::temp_dir().join(format!("ksc-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let files = corpus();
    assert!(files.len() > 200, "the corpora are missing");
    let queue = Mutex::new(files.iter());
    let results: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some((name, path)) = queue.lock().unwrap().next() else {
                    break;
                };
                let o = one(name, path, &work, &plugins);
                results.lock().unwrap().push((name.clone(), o));
            });
        }
    });
    let _ = std::fs::remove_dir_all(&work);
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut refused, mut loaded, mut progs) = (0, 0, 0);
    let mut skipped = Vec::new();
    let mut failed = Vec::new();
    let mut known = Vec::new();
    for (name, o) in &results {
        let k = KNOWN.iter().find(|k| k.0 == name);
        match (o, k) {
            (Outcome::Failed(_), Some(k)) => known.push(format!("  {name}: {}", k.1)),
            (_, Some(_)) => failed.push(format!(
                "{name}: loads now (or is refused by ksc): take it off KNOWN"
            )),
            (Outcome::Refused, None) => refused += 1,
            (Outcome::Loaded(n), None) => {
                loaded += 1;
                progs += n;
            }
            (Outcome::Skipped(why), None) => skipped.push(format!("  {name}: {why}")),
            (Outcome::Failed(why), None) => failed.push(format!("{name}: {why}")),
        }
    }
    println!(
        "{} programs: {loaded} accepted and loaded ({progs} eBPF programs), {refused} refused by ksc, {} skipped, {} known failures, {} failed",
        results.len(),
        skipped.len(),
        known.len(),
        failed.len()
    );
    if !skipped.is_empty() {
        println!("skipped:\n{}", skipped.join("\n"));
    }
    if !known.is_empty() {
        println!("known failures:\n{}", known.join("\n"));
    }
    assert!(
        failed.is_empty(),
        "{} accepted by ksc, refused later:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}
