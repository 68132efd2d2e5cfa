//! Runs one built case on the kernel this process runs on: loads the
//! object through the verifier, runs programs with BPF_PROG_TEST_RUN,
//! reads maps, runs the executable (in network namespaces it made, when
//! the case asks for a veth pair). The same code runs on the host and,
//! as `ksc-conformance exec PLAN`, inside each qemu guest.
//!
//! This file: the job and result types, and running a job (its kernel
//! module in and out, its own mount namespace); `lines` checks each
//! `expect` line, `system` talks to the machine (namespaces, tools, maps).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::case::{Case, Expect};

mod lines;
mod system;

use lines::Run;
use system::{fresh_bpffs, last_lines, tool};

/// One case built for one target, ready to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub case: Case,
    pub target: String,
    /// The build's directory: `prog.ebpf.o` and the executable `prog`.
    pub out: PathBuf,
    /// Whether `ksc build` succeeded (a case that did not build fails
    /// every line that needs what it would have made).
    pub built: bool,
    /// The end of the build's messages when it failed.
    pub build_error: String,
    /// The program's kernel module (its `@kfunc`s), by name: `<name>.ko`
    /// in `out`, built per kernel, inserted before the case runs and
    /// removed after.
    #[serde(default)]
    pub kmod: Option<String>,
    /// Why no module can be built for the kernel the job runs on (this
    /// machine's toolchain cannot build for it): the case is n/a there.
    #[serde(default)]
    pub kmod_unbuildable: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    Fail,
    /// The kernel lacks what the case needs (its `requires` line).
    NotApplicable,
}

/// What one `expect` line gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LineResult {
    pub no: usize,
    pub text: String,
    pub verdict: Verdict,
    /// What happened, in a form compared across targets and kernels.
    pub observed: String,
    /// Why it failed (empty on a pass).
    pub message: String,
}

/// A loaded program, as the kernel reports it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Loaded {
    pub name: String,
    pub xlated_bytes: u64,
    pub jited_bytes: u64,
    /// bpf_prog_info's count (Linux 5.16 on; 0 before).
    pub verified_insns: u64,
    /// "processed N insns" of the verifier's load log (every kernel; 0
    /// when loaded without ksc-conf-load).
    #[serde(default)]
    pub processed_insns: u64,
}

/// The name ksc-conf-load (load.c) has on the host (`$KSC_CONF_LOADER`,
/// set by the runner once it built it) or in a guest (on `PATH`).
pub const LOADER: &str = "ksc-conf-load";

fn loader() -> Option<String> {
    if let Some(l) = std::env::var_os("KSC_CONF_LOADER").filter(|l| !l.is_empty()) {
        return Some(l.to_string_lossy().into_owned());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .any(|d| d.join(LOADER).is_file())
        .then(|| LOADER.to_string())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobResult {
    pub case: String,
    pub target: String,
    /// `uname -r` of the kernel it ran on.
    pub release: String,
    pub lines: Vec<LineResult>,
    /// Programs as loaded (empty when the case loads nothing or loading failed).
    pub programs: Vec<Loaded>,
    /// The end of the verifier's log when loading failed.
    pub verifier_log: String,
    /// How long the case took on this kernel (its lines, the module's
    /// insertion and removal), in milliseconds.
    #[serde(default)]
    pub elapsed_ms: u64,
}

impl JobResult {
    /// Every line of `job` failed, for `why` (the job could not run).
    pub fn failed(job: &Job, release: String, why: &str) -> JobResult {
        JobResult {
            case: job.case.name.clone(),
            target: job.target.clone(),
            release,
            lines: job
                .case
                .lines
                .iter()
                .map(|l| LineResult {
                    no: l.no,
                    text: l.text.clone(),
                    verdict: Verdict::Fail,
                    observed: String::new(),
                    message: why.to_string(),
                })
                .collect(),
            programs: vec![],
            verifier_log: String::new(),
            elapsed_ms: 0,
        }
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// `uname -r`.
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `6.1.0-50-amd64` -> (6, 1).
pub fn version_of(release: &str) -> (u32, u32) {
    let mut p = release
        .split(['.', '-'])
        .map(|x| x.parse::<u32>().unwrap_or(0));
    (p.next().unwrap_or(0), p.next().unwrap_or(0))
}

/// Runs every line of the job on this kernel, in a mount namespace of its
/// own with a bpffs of its own: pins (the object's pinned-by-name maps,
/// the executable's pins) start empty and vanish with the job, whatever
/// ran before or runs beside it.
pub fn run(job: &Job) -> JobResult {
    let start = Instant::now();
    let mut r = run_timed(job);
    r.elapsed_ms = start.elapsed().as_millis() as u64;
    r
}

fn run_timed(job: &Job) -> JobResult {
    let Some(name) = &job.kmod else {
        return run_job(job);
    };
    // A kernel older than the case requires: n/a, with no module.
    if job
        .case
        .requires()
        .is_some_and(|want| version_of(&release()) < want)
    {
        return run_job(job);
    }
    if let Some(why) = &job.kmod_unbuildable {
        let mut r = JobResult::failed(job, release(), "");
        for l in &mut r.lines {
            l.verdict = Verdict::NotApplicable;
            l.message = format!("no kernel module for this kernel: {why}");
        }
        return r;
    }
    if !std::path::Path::new("/proc/modules").exists() {
        let mut r = JobResult::failed(job, release(), "");
        for l in &mut r.lines {
            l.verdict = Verdict::NotApplicable;
            l.message = "this kernel cannot load modules (the case has @kfunc functions)".into();
        }
        return r;
    }
    // Lines that load the object need the module first; the loader (the
    // `user`, `userrc` and `tests` lines) inserts and removes it itself.
    let loads = job.case.lines.iter().any(|l| {
        matches!(
            l.expect,
            Expect::Verify
                | Expect::Run { .. }
                | Expect::Map { .. }
                | Expect::Global { .. }
                | Expect::PacketOut(_)
        )
    });
    if !loads {
        let mut r = run_job(job);
        if std::path::Path::new(&format!("/sys/module/{name}")).exists() {
            if let Some(l) = r.lines.last_mut() {
                l.verdict = Verdict::Fail;
                l.message = format!("the loader left the kernel module {name} loaded");
            }
            let _ = tool("rmmod", &[name]);
        }
        return r;
    }
    let ko = job.out.join("prog.ko");
    if !ko.exists() {
        return JobResult::failed(
            job,
            release(),
            &format!("the kernel module {name} (prog.ko) was not built for this kernel"),
        );
    }
    let (ok, _, err) = tool("insmod", &[&ko.to_string_lossy()]);
    if !ok {
        return JobResult::failed(
            job,
            release(),
            &format!("insmod {name}.ko failed: {}", err.trim()),
        );
    }
    if let Err(why) = kfuncs_in_kernel_btf(job, name) {
        let _ = tool("rmmod", &[name]);
        return JobResult::failed(job, release(), &why);
    }
    let mut r = run_job(job);
    // The programs of the case are gone with its mount namespace (their
    // pins); their hold on the module goes a moment later.
    let sys = format!("/sys/module/{name}");
    let mut removed = false;
    let mut last = String::new();
    for _ in 0..300 {
        let (ok, _, err) = tool("rmmod", &[name]);
        if ok || !std::path::Path::new(&sys).exists() {
            removed = !std::path::Path::new(&sys).exists();
            if removed {
                break;
            }
        }
        last = err;
        std::thread::sleep(Duration::from_millis(100));
    }
    if !removed {
        if let Some(l) = r.lines.last_mut() {
            l.verdict = Verdict::Fail;
            l.message = format!(
                "the kernel module {name} is still loaded after the case: {}",
                last.trim()
            );
        }
    }
    r
}

/// Once the module is in, every kfunc the eBPF object calls must be a
/// function of the kernel's BTF: the kernel's own, or the module's (its
/// split BTF in `/sys/kernel/btf/<module>`, which the kernel makes from
/// the module's `.BTF` at insertion, and which the verifier resolves the
/// object's kfunc calls against).
fn kfuncs_in_kernel_btf(job: &Job, module: &str) -> Result<(), String> {
    let obj =
        std::fs::read(job.out.join("prog.ebpf.o")).map_err(|e| format!("prog.ebpf.o: {e}"))?;
    let kfuncs = crate::object::inspect(&obj)?.kfuncs;
    let base = std::fs::read("/sys/kernel/btf/vmlinux")
        .map_err(|e| format!("this kernel has no BTF (/sys/kernel/btf/vmlinux: {e})"))?;
    let path = format!("/sys/kernel/btf/{module}");
    let split = std::fs::read(&path).map_err(|e| {
        format!("the kernel module {module} is in, but the kernel has no BTF of it ({path}: {e})")
    })?;
    let btf =
        ksc_midend::btf::Btf::from_split(&base, &split).map_err(|e| format!("{path}: {e}"))?;
    let missing: Vec<&str> = kfuncs
        .iter()
        .map(String::as_str)
        .filter(|k| !btf.has_func(k))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "with the kernel module {module} in, the kernel's BTF has no function {}",
            missing.join(", ")
        ))
    }
}

fn run_job(job: &Job) -> JobResult {
    let me = std::env::current_exe().unwrap_or_else(|_| "ksc-conformance".into());
    let child = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(me)
        .arg("exec-job")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let result = child
        .map_err(|e| format!("cannot run unshare: {e}"))
        .and_then(|mut c| {
            let input = serde_json::to_vec(job).unwrap();
            let mut stdin = c.stdin.take().unwrap();
            std::thread::spawn(move || {
                use std::io::Write as _;
                let _ = stdin.write_all(&input);
            });
            let o = c.wait_with_output().map_err(|e| e.to_string())?;
            serde_json::from_slice::<JobResult>(&o.stdout).map_err(|e| {
                format!(
                    "the job ended without a result ({e}): {}",
                    last_lines(&String::from_utf8_lossy(&o.stderr), 5)
                )
            })
        });
    result.unwrap_or_else(|why| JobResult::failed(job, release(), &why))
}

/// `run`'s other half, inside the job's mount namespace.
pub fn run_here(job: &Job) -> JobResult {
    if let Err(why) = fresh_bpffs() {
        return JobResult::failed(job, release(), &why);
    }
    let release = release();
    let id = format!(
        "{}x{}",
        std::process::id() % 100000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let scratch = std::env::temp_dir().join(format!("ksc-conf-{id}"));
    let _ = std::fs::create_dir_all(&scratch);
    let mut r = Run {
        job,
        id,
        scratch,
        pins: None,
        net: None,
        traffic: None,
        sigint: None,
        watch: vec![],
        programs: vec![],
        maps: vec![],
        packet_out: None,
        verifier_log: String::new(),
    };
    // What this kernel lacks, by the case's `requires` lines.
    let have = version_of(&release);
    let lacks: Vec<String> = job
        .case
        .requirements()
        .into_iter()
        .filter(|(want, _)| have < *want)
        .map(|((a, b), what)| {
            if what.is_empty() {
                format!("Linux {a}.{b}")
            } else {
                format!("{what} (Linux {a}.{b})")
            }
        })
        .collect();
    let na = !lacks.is_empty();
    let no_python = job.case.requires_python() && !python_here();
    let no_sched_ext =
        job.case.requires_sched_ext() && !std::path::Path::new("/sys/kernel/sched_ext").exists();
    let mut lines = vec![];
    for l in &job.case.lines {
        let (verdict, observed, message) = if na {
            (
                Verdict::NotApplicable,
                String::new(),
                format!("this kernel ({release}) lacks {}", lacks.join(", ")),
            )
        } else if no_sched_ext {
            (
                Verdict::NotApplicable,
                String::new(),
                format!("this kernel ({release}) has no sched_ext (CONFIG_SCHED_CLASS_EXT)"),
            )
        } else if no_python {
            (
                Verdict::NotApplicable,
                String::new(),
                "no Python 3 here (the case imports a .py module; the qemu guests have none)"
                    .into(),
            )
        } else {
            match r.line(&l.expect) {
                Ok(observed) => (Verdict::Pass, observed, String::new()),
                Err((observed, message)) => (Verdict::Fail, observed, message),
            }
        };
        lines.push(LineResult {
            no: l.no,
            text: l.text.clone(),
            verdict,
            observed,
            message,
        });
    }
    JobResult {
        case: job.case.name.clone(),
        target: job.target.clone(),
        release,
        lines,
        programs: std::mem::take(&mut r.programs),
        verifier_log: std::mem::take(&mut r.verifier_log),
        elapsed_ms: 0,
    }
}

/// Whether a Python 3 interpreter runs on this machine (the executables
/// of cases that import `.py` modules embed it).
fn python_here() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import sys"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
