//! `ksc-conformance`: builds every case with every userspace target, runs
//! each on every kernel (the host's, and Debian's under qemu), checks the
//! case's expectations and diffs what the targets and kernels did. The
//! case format is conformance/README.md's.

mod case;
mod exec;
mod guest;
mod object;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ksc_plugins::targets::{Capability, Listed};

use case::{Case, Expect};
use exec::{Job, JobResult, LineResult, Verdict};
use report::{CaseReport, Cell, Column, Report};

#[derive(Parser)]
#[command(
    name = "ksc-conformance",
    about = "Run conformance cases on every userspace target and kernel, and diff what they did",
    after_help = "With no CASE_DIR, runs every case under conformance/cases/. The case format: conformance/README.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Kernels to run on: `host` (this machine's) and Debian's `5.10`,
    /// `6.1`, `6.12`, `7.2` (or `latest`: sid's newest) under qemu.
    #[arg(long, value_delimiter = ',', default_value = "host,6.1,6.12")]
    kernels: Vec<String>,
    /// Targets to build with (default: every target that builds a userspace program).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the table as Markdown.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Rewrite the table between `<!-- conformance:begin -->` and
    /// `<!-- conformance:end -->` in FILE (docs/features.md) with the results.
    #[arg(long, value_name = "FILE")]
    features: Option<PathBuf>,
    /// Builds and host runs at once.
    #[arg(short = 'j', long, default_value_t = 2)]
    jobs: usize,
    /// qemu guests at once (each emulates one CPU on one host core; a
    /// kernel's cases are split over several guests when there are fewer
    /// kernels than guests). Default: the host's cores.
    #[arg(long, value_name = "N")]
    guests: Option<usize>,
    /// Build rust-aya executables with the program's own crate at this
    /// opt-level (its dependencies stay optimised, as `--release` builds
    /// them): `0` builds a case in about 0.5 s instead of 2.6 s (cargo
    /// serialises builds in the shared target directory), which is what
    /// `cargo test` and CI use. Default: the project's own release profile.
    #[arg(long, value_name = "N")]
    rust_opt_level: Option<u8>,
    /// The ksc to test (default: the one next to this program, built first when run by cargo).
    #[arg(long, value_name = "PATH")]
    ksc: Option<PathBuf>,
    /// Where builds go (default: target/conformance).
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    cases: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum Sub {
    /// (Inside a guest) run a plan of built cases on this kernel; JSON results on stdout.
    #[command(hide = true)]
    Exec { plan: PathBuf },
    /// (Internal) run one job read from stdin, in the mount namespace made for it.
    #[command(hide = true)]
    ExecJob,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Sub::Exec { plan }) => return exec_plan(plan),
        Some(Sub::ExecJob) => {
            let job: Job = match serde_json::from_reader(std::io::stdin()) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("error: cannot read the job: {e}");
                    return ExitCode::from(2);
                }
            };
            println!("{}", serde_json::to_string(&exec::run_here(&job)).unwrap());
            return ExitCode::SUCCESS;
        }
        None => {}
    }
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn exec_plan(plan: &Path) -> ExitCode {
    let jobs: Vec<Job> = match std::fs::read(plan)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: cannot read the plan {}: {e}", plan.display());
            return ExitCode::from(2);
        }
    };
    let results: Vec<JobResult> = jobs
        .iter()
        .map(|j| {
            eprintln!("ksc-conformance: {} ({})", j.case.name, j.target);
            exec::run(j)
        })
        .collect();
    println!("{}", serde_json::to_string(&results).unwrap());
    ExitCode::SUCCESS
}

/// The repository's root (cases and the default work directory are found from it).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// The ksc to test, and the directory its plugins are in.
fn find_ksc(cli: &Cli) -> Result<PathBuf, String> {
    if let Some(k) = &cli.ksc {
        // Builds run in the case's directory.
        return k
            .canonicalize()
            .map_err(|e| format!("--ksc {}: {e}", k.display()));
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = me.parent().unwrap();
    // Run by cargo: build ksc and all its plugins with the same profile first.
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut c = Command::new(cargo);
        c.args([
            "build",
            "-p",
            "ksc",
            "-p",
            "ksc-backend-ebpf-c",
            "-p",
            "ksc-backend-libbpf-c",
            // Cases with `@kfunc` need the module backend, `--targets
            // rust-aya` its plugin, Python imports the bridge: build every
            // plugin a case may load, or a clean checkout finds none of them.
            "-p",
            "ksc-backend-kmod-c",
            "-p",
            "ksc-backend-rust-aya",
            "-p",
            "ksc-python-bridge",
        ]);
        if dir.ends_with("release") {
            c.arg("--release");
        }
        eprintln!("building ksc and its plugins...");
        let s = c.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !s.success() {
            return Err("building ksc failed".into());
        }
    }
    let ksc = dir.join("ksc");
    if ksc.exists() {
        Ok(ksc)
    } else {
        Err(format!(
            "no ksc next to {} (build it: cargo build --release), or pass --ksc PATH",
            me.display()
        ))
    }
}

/// Targets whose build makes a userspace program: those with the
/// `userspace` capability in `ksc targets --format=ron`.
fn userspace_targets(ksc: &Path) -> Result<Vec<String>, String> {
    let o = Command::new(ksc)
        .args(["targets", "--format=ron"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ksc.display()))?;
    if !o.status.success() {
        return Err(format!(
            "`ksc targets --format=ron` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    userspace_in(&String::from_utf8_lossy(&o.stdout))
}

fn userspace_in(listing: &str) -> Result<Vec<String>, String> {
    let targets: Vec<String> = Listed::from_ron(listing)?
        .into_iter()
        .filter(|t| t.capabilities.contains(&Capability::Userspace))
        .map(|t| t.name)
        .collect();
    if targets.is_empty() {
        return Err("`ksc targets` lists no target that builds a userspace program".into());
    }
    Ok(targets)
}

fn read_cases(dirs: &[PathBuf]) -> Result<Vec<Case>, String> {
    let dirs: Vec<PathBuf> = if dirs.is_empty() {
        let root = repo_root().join("conformance/cases");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(|e| format!("{}: {e}", root.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("expect").exists())
            .collect();
        v.sort();
        v
    } else {
        dirs.to_vec()
    };
    let mut cases = vec![];
    let mut errors = vec![];
    for d in &dirs {
        match Case::read(d) {
            Ok(c) => cases.push(c),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\nerror: "));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        if !seen.insert(c.name.clone()) {
            return Err(format!("two cases are named `{}`", c.name));
        }
    }
    Ok(cases)
}

/// ksc-conf-load (load.c: loads as `bpftool prog loadall` does, printing
/// the verifier's processed-instruction counts), built with the host's C
/// compiler and libbpf into `work`.
fn build_loader(work: &Path) -> Result<PathBuf, String> {
    let src = work.join("ksc-conf-load.c");
    let bin = work.join(exec::LOADER);
    std::fs::write(&src, include_str!("load.c")).map_err(|e| format!("{}: {e}", src.display()))?;
    let o = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lbpf")
        .output()
        .map_err(|e| format!("cannot run cc to build {}: {e}", exec::LOADER))?;
    if !o.status.success() {
        return Err(format!(
            "building {} failed (it needs libbpf-dev): {}",
            exec::LOADER,
            tail(&String::from_utf8_lossy(&o.stderr), 5)
        ));
    }
    Ok(bin)
}

/// What building one case for one target gave.
struct Built {
    job: Job,
    /// The compile/reject lines' results (decided on the host).
    lines: Vec<LineResult>,
    object: Option<object::Object>,
    /// For a target the case's `unsupported` line names: Ok(the refusal)
    /// when the build failed with a diagnostic naming the target (the case
    /// is n/a there, on every kernel), Err(why not) otherwise.
    refused: Option<Result<String, String>>,
}

/// A target's name in the table: its name, or a `.ron` file's stem.
fn label(target: &str) -> String {
    if target.contains('/') || target.ends_with(".ron") {
        Path::new(target)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| target.to_string())
    } else {
        target.to_string()
    }
}

fn build(ksc: &Path, case: &Case, target: &str, work: &Path, rust_opt: Option<u8>) -> Built {
    let out = work.join(&case.name).join(label(target));
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(ksc);
    cmd.args(["build", &format!("--target={target}"), "prog.ks", "-o"])
        .arg(&out)
        .current_dir(&case.dir);
    if let Some(n) = rust_opt {
        // The rust-aya Makefile passes CARGO_FLAGS to cargo; the package
        // is named after the source's stem.
        let mut flags = std::env::var("CARGO_FLAGS").unwrap_or_default();
        flags.push_str(&format!(
            " --config profile.release.package.prog.opt-level={n}"
        ));
        cmd.env("CARGO_FLAGS", flags.trim());
    }
    let o = cmd.output();
    let (ok, stderr) = match o {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (false, format!("cannot run {}: {e}", ksc.display())),
    };
    let mut lines = vec![];
    for l in &case.lines {
        let (verdict, observed, message) = match &l.expect {
            Expect::Compile if ok => (Verdict::Pass, "built".to_string(), String::new()),
            Expect::Compile => (Verdict::Fail, "rejected".into(), tail(&stderr, 12)),
            Expect::Reject { file, line } => {
                let at = format!("{file}:{line}:");
                let located: Vec<&str> = stderr
                    .lines()
                    .filter_map(|s| s.trim().strip_prefix("--> "))
                    .collect();
                if ok {
                    (
                        Verdict::Fail,
                        "built".into(),
                        "it built; want a rejection".into(),
                    )
                } else if located.iter().any(|s| s.starts_with(&at)) {
                    (
                        Verdict::Pass,
                        format!("rejected at {file}:{line}"),
                        String::new(),
                    )
                } else {
                    (
                        Verdict::Fail,
                        format!("rejected at {}", located.join(", ")),
                        format!("no diagnostic at {file}:{line}: {}", tail(&stderr, 12)),
                    )
                }
            }
            _ => continue,
        };
        lines.push(LineResult {
            no: l.no,
            text: l.text.clone(),
            verdict,
            observed,
            message,
        });
    }
    let refused = case.unsupported_by(&label(target)).then(|| {
        // The backends' refusals name the target: "... so not by the
        // rust-aya target; the c-libbpf target supports them".
        let named = format!("the {} target", label(target));
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or("");
        if ok {
            Err(format!(
                "it built; `unsupported {}` wants a compile-time refusal",
                label(target)
            ))
        } else if error.contains(&named) {
            Ok(format!(
                "refused by design: {}",
                error.trim_start_matches("error: ")
            ))
        } else {
            Err(format!(
                "refused, but no diagnostic names {named}: {}",
                tail(&stderr, 12)
            ))
        }
    });
    let object = std::fs::read(out.join("prog.ebpf.o"))
        .ok()
        .and_then(|b| object::inspect(&b).ok());
    let kmod = kmod_name(&out);
    Built {
        job: Job {
            case: case.clone(),
            target: label(target),
            out,
            built: ok,
            build_error: if ok { String::new() } else { tail(&stderr, 12) },
            kmod,
            kmod_unbuildable: None,
        },
        lines,
        object,
        refused,
    }
}

/// The result of a case its target refuses by design: n/a on every line,
/// or a failure when the refusal is not the one promised.
fn refusal(b: &Built, refused: &Result<String, String>) -> JobResult {
    let (verdict, message) = match refused {
        Ok(m) => (Verdict::NotApplicable, m.clone()),
        Err(m) => (Verdict::Fail, m.clone()),
    };
    JobResult {
        case: b.job.case.name.clone(),
        target: b.job.target.clone(),
        release: String::new(),
        lines: b
            .job
            .case
            .lines
            .iter()
            .map(|l| LineResult {
                no: l.no,
                text: l.text.clone(),
                verdict,
                observed: String::new(),
                message: message.clone(),
            })
            .collect(),
        programs: vec![],
        verifier_log: String::new(),
        elapsed_ms: 0,
    }
}

/// The kernel module a build has (`kmod/Kbuild`'s `obj-m`), by name.
fn kmod_name(out: &Path) -> Option<String> {
    let kbuild = std::fs::read_to_string(out.join("kmod/Kbuild")).ok()?;
    kbuild.lines().find_map(|l| {
        l.strip_prefix("obj-m := ")
            .and_then(|o| o.trim().strip_suffix(".o"))
            .map(str::to_string)
    })
}

fn tail(s: &str, n: usize) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(n)..].join("\n")
}

/// Runs `f` over `items` on `jobs` threads, keeping the order.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    pb: &ProgressBar,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                results.lock().unwrap()[i] = Some(r);
                pb.inc(1);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Runs the jobs on every qemu kernel, `guests` boots at a time: each
/// kernel's jobs are split into as many boots as make the guests busy
/// (a boot costs 10-20 s of emulated time; a case a few seconds).
/// Per kernel: its release and the results in the order of `runnable`.
fn run_guests(
    kernels: &[&String],
    runnable: &[&Built],
    work: &Path,
    guests: usize,
) -> BTreeMap<String, (String, Vec<JobResult>)> {
    let jobs: Vec<&Job> = runnable.iter().map(|b| &b.job).collect();
    let split = guests.div_ceil(kernels.len()).clamp(1, jobs.len().max(1));
    let chunk = jobs.len().div_ceil(split).max(1);
    let batches: Vec<(&String, usize, &[&Job])> = kernels
        .iter()
        .flat_map(|k| jobs.chunks(chunk).enumerate().map(move |(i, c)| (*k, i, c)))
        .collect();
    // Fetch (and prepare the module build trees) once per kernel before
    // the boots start, so that side-by-side boots do not race for them.
    for k in kernels {
        let _ = ksc_qemu::fetch(k, &mut |_| {});
    }
    let pb = progress(batches.len() as u64, "booting qemu kernels");
    pb.enable_steady_tick(std::time::Duration::from_millis(500));
    let results = parallel(&batches, guests, &pb, |(k, i, c)| {
        let start = std::time::Instant::now();
        let mut say = |m: &str| pb.set_message(format!("kernel {k}: {m}"));
        let r = guest::run(k, *i, c, work, &mut say);
        let secs = start.elapsed().as_secs_f64();
        pb.println(format!(
            "kernel {k}: boot {} of {} ({} jobs) took {secs:.0} s",
            i + 1,
            jobs.len().div_ceil(chunk),
            c.len()
        ));
        r
    });
    pb.finish_and_clear();
    let mut out: BTreeMap<String, (String, Vec<JobResult>)> = BTreeMap::new();
    for ((k, _, c), r) in batches.iter().zip(results) {
        let entry = out
            .entry(k.to_string())
            .or_insert_with(|| (String::new(), vec![]));
        match r {
            Ok((release, r)) => {
                entry.0 = release;
                entry.1.extend(r);
            }
            Err(e) => {
                eprintln!("{k}: {e}");
                if entry.0.is_empty() {
                    entry.0 = "did not run".into();
                }
                entry.1.extend(c.iter().map(|j| guest::failed(j, k, &e)));
            }
        }
    }
    out
}

/// Merges the host-decided lines (compile, reject) into a run's results.
fn merge(built: &Built, mut r: JobResult) -> JobResult {
    for l in &mut r.lines {
        if let Some(b) = built.lines.iter().find(|b| b.no == l.no) {
            if l.verdict != Verdict::NotApplicable {
                *l = b.clone();
            }
        }
    }
    r
}

fn run(cli: Cli) -> Result<bool, String> {
    let cases = read_cases(&cli.cases)?;
    for k in &cli.kernels {
        if k != "host" && !guest::KERNELS.contains(&k.as_str()) {
            return Err(format!(
                "unknown kernel `{k}` (known: host, {})",
                guest::KERNELS.join(", ")
            ));
        }
    }
    let ksc = find_ksc(&cli)?;
    let targets = if cli.targets.is_empty() {
        userspace_targets(&ksc)?
    } else {
        // A target given as a file is built from its absolute path (builds
        // run in each case's directory).
        cli.targets
            .iter()
            .map(|t| match Path::new(t).canonicalize() {
                Ok(p) if label(t) != *t => p.to_string_lossy().into_owned(),
                _ => t.clone(),
            })
            .collect()
    };
    let work = match &cli.work {
        Some(w) => w.clone(),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"))
            .join("conformance"),
    };
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let work = work.canonicalize().map_err(|e| e.to_string())?;
    match build_loader(&work) {
        // Read by exec (here and in its exec-job children); the guests get
        // the program on their PATH (guest.rs).
        Ok(l) => std::env::set_var("KSC_CONF_LOADER", l),
        Err(e) => eprintln!(
            "warning: {e}: objects load with bpftool, and the verifier's processed-instruction counts are missing"
        ),
    }

    // Build every case once per target, on the host.
    let pairs: Vec<(&Case, &String)> = cases
        .iter()
        .flat_map(|c| targets.iter().map(move |t| (c, t)))
        .collect();
    let pb = progress(pairs.len() as u64, "building");
    let built: Vec<Built> = parallel(&pairs, cli.jobs, &pb, |(c, t)| {
        build(&ksc, c, t, &work, cli.rust_opt_level)
    });
    pb.finish_and_clear();

    let columns: Vec<Column> = cli
        .kernels
        .iter()
        .flat_map(|k| {
            targets.iter().map(move |t| Column {
                kernel: k.clone(),
                target: label(t),
            })
        })
        .collect();
    let mut results: BTreeMap<(String, String), JobResult> = BTreeMap::new();
    let mut releases = BTreeMap::new();
    // Jobs that run in a kernel: every case but rejections.
    let runnable: Vec<&Built> = built
        .iter()
        .filter(|b| !b.job.case.is_reject() && b.refused.is_none())
        .collect();
    // The guests first, side by side on a thread of their own (each boot
    // serves many cases), while the host runs its cases.
    let guest_runs = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        let qemu: Vec<&String> = cli.kernels.iter().filter(|k| *k != "host").collect();
        if !qemu.is_empty() {
            let runnable = &runnable;
            let work = &work;
            let guest_runs = &guest_runs;
            let guests = cli
                .guests
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            scope.spawn(move || {
                let out = run_guests(&qemu, runnable, work, guests.max(1));
                guest_runs.lock().unwrap().extend(out);
            });
        }
        if cli.kernels.iter().any(|k| k == "host") {
            let pb = progress(runnable.len() as u64, "running on this kernel");
            let r = parallel(&runnable, cli.jobs, &pb, |b| exec::run(&b.job));
            pb.finish_and_clear();
            guest_runs
                .lock()
                .unwrap()
                .insert("host".to_string(), (exec::release(), r));
        }
    });
    let mut guest_runs = guest_runs.into_inner().unwrap();
    for kernel in &cli.kernels {
        let (release, runs) = guest_runs
            .remove(kernel)
            .unwrap_or_else(|| ("did not run".into(), vec![]));
        releases.insert(kernel.clone(), release);
        for (b, r) in runnable.iter().zip(runs) {
            results.insert(
                (
                    kernel.clone(),
                    format!("{}\0{}", b.job.case.name, b.job.target),
                ),
                merge(b, r),
            );
        }
        // Refusals by design are decided on the host too.
        for b in &built {
            if let Some(r) = &b.refused {
                results.insert(
                    (
                        kernel.clone(),
                        format!("{}\0{}", b.job.case.name, b.job.target),
                    ),
                    refusal(b, r),
                );
            }
        }
        // Rejections are decided on the host; every kernel shows the same.
        for b in built.iter().filter(|b| b.job.case.is_reject()) {
            let r = JobResult {
                case: b.job.case.name.clone(),
                target: b.job.target.clone(),
                release: String::new(),
                lines: b.lines.clone(),
                programs: vec![],
                verifier_log: String::new(),
                elapsed_ms: 0,
            };
            results.insert(
                (
                    kernel.clone(),
                    format!("{}\0{}", b.job.case.name, b.job.target),
                ),
                r,
            );
        }
    }

    let mut report = Report {
        columns: columns.clone(),
        releases,
        cases: vec![],
        passed: 0,
        failed: 0,
        not_applicable: 0,
    };
    for case in &cases {
        let mut cells = BTreeMap::new();
        for col in &columns {
            let key = (col.kernel.clone(), format!("{}\0{}", case.name, col.target));
            if let Some(r) = results.remove(&key) {
                cells.insert(col.to_string(), Cell::new(r));
            }
        }
        report::diff(&mut cells, &columns);
        // The eBPF object must not depend on the userspace target.
        let mut objects = BTreeMap::new();
        let mine: Vec<&Built> = built
            .iter()
            .filter(|b| b.job.case.name == case.name)
            .collect();
        // A build its target refused by design has no object to compare.
        let mine: Vec<&Built> = mine.into_iter().filter(|b| b.refused.is_none()).collect();
        for b in &mine {
            if let Some(o) = &b.object {
                objects.insert(b.job.target.clone(), o.clone());
            }
        }
        if let Some(first) = mine.first() {
            let bytes = std::fs::read(first.job.out.join("prog.ebpf.o")).ok();
            for b in &mine[1..] {
                if std::fs::read(b.job.out.join("prog.ebpf.o")).ok() != bytes {
                    for (col, cell) in cells.iter_mut() {
                        if col.ends_with(&format!("/{}", b.job.target)) {
                            cell.verdict = Verdict::Fail;
                            cell.reason =
                                format!("its eBPF object differs from {}'s", first.job.target);
                        }
                    }
                }
            }
        }
        report.cases.push(CaseReport {
            name: case.name.clone(),
            cells,
            objects,
        });
    }
    report.count();
    print!("{}", report.text());
    if let Some(p) = &cli.markdown {
        std::fs::write(p, report.markdown()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &cli.features {
        let about: BTreeMap<String, String> = cases
            .iter()
            .map(|c| (c.name.clone(), c.about.clone()))
            .collect();
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let (begin, end) = ("<!-- conformance:begin -->", "<!-- conformance:end -->");
        let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
            return Err(format!(
                "{}: no `{begin}` ... `{end}` section to fill",
                p.display()
            ));
        };
        let new = format!(
            "{}{begin}\n{}{}",
            &text[..a],
            report.features_section(&about),
            &text[b..]
        );
        std::fs::write(p, new).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if report.not_applicable > 0 {
        println!(
            "{} n/a (a kernel older than the case requires, one that cannot load the case's kernel module, a target that refuses the case by design, or a machine without the Python a case embeds)",
            report.not_applicable
        );
    }
    println!("{} passed, {} failed", report.passed, report.failed);
    Ok(report.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userspace_targets_are_those_with_the_capability() {
        let listing = r#"[
    (name: "c-libbpf", default: true, description: "d", backends: ["ebpf-c", "libbpf-c"],
     capabilities: ["userspace"]),
    (name: "ebpf-c", description: "d", backends: ["ebpf-c"]),
    (name: "mine", description: "d", backends: ["ebpf-c", "my-loader"],
     capabilities: ["userspace"], file: Some("/t/mine.ron")),
]"#;
        assert_eq!(userspace_in(listing).unwrap(), ["c-libbpf", "mine"]);
        let e = userspace_in("[(name: \"e\", description: \"d\", backends: [\"ebpf-c\"])]")
            .unwrap_err();
        assert!(
            e.contains("no target that builds a userspace program"),
            "{e}"
        );
        let e = userspace_in("backends: ebpf-c").unwrap_err();
        assert!(e.starts_with("malformed target listing"), "{e}");
    }
}
