//! Runs one built case on the kernel this process runs on: loads the
//! object through the verifier, runs programs with BPF_PROG_TEST_RUN,
//! reads maps, runs the executable (in network namespaces it made, when
//! the case asks for a veth pair). The same code runs on the host and,
//! as `ksc-conformance exec PLAN`, inside each qemu guest.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::case::{Case, Expect, Packet};

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

struct Net {
    ns: String,
    peer_ns: String,
}

impl Net {
    const IFACE: &'static str = "kscv0";

    fn new(id: &str) -> Result<Net, String> {
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
    fn leftovers(&self) -> String {
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

fn sh(script: &str) -> (bool, String) {
    match Command::new("sh").arg("-c").arg(script).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        ),
        Err(e) => (false, format!("cannot run sh: {e}")),
    }
}

fn tool(cmd: &str, args: &[&str]) -> (bool, String, String) {
    match Command::new(cmd).args(args).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (false, String::new(), format!("cannot run {cmd}: {e}")),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// State of one job while its lines run.
struct Run<'j> {
    job: &'j Job,
    id: String,
    scratch: PathBuf,
    pins: Option<Result<PathBuf, String>>,
    net: Option<Net>,
    traffic: Option<u32>,
    sigint: Option<u64>,
    /// `watch` lines for the next run: (path, text).
    watch: Vec<(String, String)>,
    programs: Vec<Loaded>,
    /// The loaded object's maps: the kernel's name (at most 15 bytes) and id.
    maps: Vec<(String, u64)>,
    /// What the last `run` left of its packet.
    packet_out: Option<Vec<u8>>,
    verifier_log: String,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        if let Some(Ok(p)) = &self.pins {
            let _ = std::fs::remove_dir_all(p);
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
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

type LineOutcome = Result<String, (String, String)>;

/// A file's contents, trimmed (`watch`/`file` lines); the error text when
/// it cannot be read.
fn read_trimmed(path: &str) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t.trim().to_string(),
        Err(e) => format!("(unreadable: {e})"),
    }
}
/// How the executable ended (`exit N`, `signal N`), its stdout and stderr.
type Ran = (String, Vec<u8>, Vec<u8>);

fn fail<T>(message: impl Into<String>) -> Result<T, (String, String)> {
    Err((String::new(), message.into()))
}

impl Run<'_> {
    fn line(&mut self, e: &Expect) -> LineOutcome {
        let built = self.job.built;
        let needs_build = !matches!(
            e,
            Expect::Requires(..)
                | Expect::RequiresPython
                | Expect::RequiresSchedExt
                | Expect::Unsupported(_)
                | Expect::Reject { .. }
                | Expect::Net
                | Expect::Watch { .. }
                | Expect::Traffic { .. }
                | Expect::Sigint { .. }
        );
        if needs_build && !built {
            return fail(format!("the case did not build: {}", self.job.build_error));
        }
        match e {
            // Decided when the case was built (on the host).
            Expect::Requires(..)
            | Expect::RequiresPython
            | Expect::RequiresSchedExt
            | Expect::Unsupported(_)
            | Expect::Compile
            | Expect::Reject { .. } => Ok("built".into()),
            Expect::Verify => {
                self.pins()?;
                let names: Vec<&str> = self.programs.iter().map(|p| p.name.as_str()).collect();
                Ok(format!("loaded {}", names.join(", ")))
            }
            Expect::Run { func, packet, ret } => {
                let pins = self.pins()?;
                let bytes = self.packet_bytes(packet)?;

                let input = self
                    .scratch
                    .join(format!("pkt-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
                std::fs::write(&input, &bytes).or_else(|e| fail(format!("{e}")))?;
                let prog = pins.join(func);
                let output = self.scratch.join("pkt-out");
                let _ = std::fs::remove_file(&output);
                let (ok, out, err) = tool(
                    "bpftool",
                    &[
                        "prog",
                        "run",
                        "pinned",
                        &prog.to_string_lossy(),
                        "data_in",
                        &input.to_string_lossy(),
                        "data_out",
                        &output.to_string_lossy(),
                        "repeat",
                        "1",
                    ],
                );
                let text = out + &err;
                let got = text
                    .split("Return value: ")
                    .nth(1)
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit() && c != '-').next())
                    .and_then(|v| v.parse::<i64>().ok());
                self.packet_out = std::fs::read(&output).ok();
                match got {
                    Some(v) if ok => {
                        // Return values are 32-bit: compare as such.
                        let v = v as i32 as i64;
                        if v == *ret {
                            Ok(format!("returned {v}"))
                        } else {
                            Err((format!("returned {v}"), format!("returned {v}, want {ret}")))
                        }
                    }
                    _ => fail(format!(
                        "the kernel cannot run `{func}`: {}",
                        last_lines(&text, 3)
                    )),
                }
            }
            Expect::Map { name, key, value } => {
                self.pins()?;
                let Some(id) = self
                    .maps
                    .iter()
                    .find(|(n, _)| map_name_matches(n, name))
                    .map(|m| m.1)
                else {
                    let names: Vec<&str> = self.maps.iter().map(|m| m.0.as_str()).collect();
                    return fail(format!(
                        "the loaded programs use no map `{name}` (they use {})",
                        names.join(", ")
                    ));
                };
                let got = lookup(id, key)?;
                let shown =
                    |v: &Option<Vec<u8>>| v.as_ref().map(|v| hex(v)).unwrap_or("none".into());
                if &got == value {
                    Ok(shown(&got))
                } else {
                    Err((
                        shown(&got),
                        format!(
                            "{name}[{}] is {}, want {}",
                            hex(key),
                            shown(&got),
                            shown(value)
                        ),
                    ))
                }
            }
            Expect::PacketOut(want) => {
                let want = self.packet_bytes(want)?;
                let Some(got) = self.packet_out.clone() else {
                    return fail("no `run` before (or it left no packet)");
                };
                if got == want {
                    Ok(hex(&got))
                } else {
                    let at = got
                        .iter()
                        .zip(&want)
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.len().min(want.len()));
                    Err((
                        hex(&got),
                        format!(
                            "the packet differs at byte {at} ({} bytes, want {}): {}",
                            got.len(),
                            want.len(),
                            hex(&got)
                        ),
                    ))
                }
            }
            Expect::Global { name, json } => {
                self.pins()?;
                let want: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
                let got = self.global(name)?;
                if got == want {
                    Ok(got.to_string())
                } else {
                    Err((got.to_string(), format!("{name} is {got}, want {want}")))
                }
            }
            Expect::User { file, args } => {
                let want = std::fs::read(self.job.case.dir.join(file))
                    .or_else(|e| fail(format!("cannot read {file}: {e}")))?;
                let (status, stdout, stderr) = self.exec(args, &[])?;
                let got = String::from_utf8_lossy(&stdout).into_owned();
                if stdout == want {
                    Ok(got)
                } else {
                    let first = first_difference(&String::from_utf8_lossy(&want), &got);
                    Err((
                        got,
                        format!(
                            "the output differs from {file} ({status}): {first}{}",
                            stderr_note(&stderr)
                        ),
                    ))
                }
            }
            Expect::UserRc { rc, args } => {
                let (status, _, stderr) = self.exec(args, &[])?;
                if status == format!("exit {rc}") {
                    Ok(status)
                } else {
                    Err((
                        status.clone(),
                        format!("{status}, want exit {rc}{}", stderr_note(&stderr)),
                    ))
                }
            }
            Expect::Tests => {
                let (status, stdout, stderr) = self.exec(&[], &[("KSC_TEST", "1")])?;
                let out = String::from_utf8_lossy(&stdout).into_owned();
                if status == "exit 0" {
                    Ok(out)
                } else {
                    Err((
                        out.clone(),
                        format!(
                            "the tests failed ({status}): {}{}",
                            last_lines(&out, 5),
                            stderr_note(&stderr)
                        ),
                    ))
                }
            }
            Expect::Net => {
                self.net = Some(Net::new(&self.id).or_else(fail)?);
                Ok("veth pair".into())
            }
            Expect::Traffic { pings } => {
                self.traffic = Some(*pings);
                Ok(String::new())
            }
            Expect::Sigint { ms } => {
                self.sigint = Some(*ms);
                Ok(String::new())
            }
            Expect::Watch { path, text } => {
                self.watch.push((path.clone(), text.clone()));
                Ok(String::new())
            }
            Expect::FileIs { path, text } => {
                let got = read_trimmed(path);
                if got == *text {
                    Ok(got)
                } else {
                    Err((got, format!("{path} reads something else than `{text}`")))
                }
            }
            Expect::NothingLeft => {
                let Some(net) = &self.net else {
                    return fail("no `net` line before");
                };
                match net.leftovers() {
                    l if l.is_empty() => Ok("nothing left".into()),
                    l => Err((l.clone(), format!("left on the interface: {l}"))),
                }
            }
            Expect::Attached => {
                let Some(net) = &self.net else {
                    return fail("no `net` line before");
                };
                match net.leftovers() {
                    l if l.is_empty() => fail("nothing is attached to the interface"),
                    l => Ok(l),
                }
            }
            Expect::DaemonStop => self.daemon_stop(),
        }
    }

    /// SIGTERM to every process running the case's executable (what
    /// `daemon()` left); waits for each to end (a zombie has ended).
    fn daemon_stop(&self) -> LineOutcome {
        let exe = std::fs::canonicalize(self.job.out.join("prog"))
            .or_else(|e| fail(format!("no executable: {e}")))?;
        let me = std::process::id();
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&p| p != me)
            .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|x| x == exe))
            .collect();
        if pids.is_empty() {
            return fail("no daemon of the executable is running");
        }
        for p in &pids {
            sh(&format!("kill -TERM {p}"));
        }
        let ended = |p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        };
        let start = Instant::now();
        while !pids.iter().all(ended) {
            if start.elapsed() > Duration::from_secs(5) {
                return fail("the daemon did not exit within 5 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(format!("stopped {}", pids.len()))
    }

    fn packet_bytes(&self, p: &Packet) -> Result<Vec<u8>, (String, String)> {
        Ok(match p {
            Packet::Zeros(n) => vec![0; *n],
            Packet::Bytes(b) => b.clone(),
            Packet::File(f) => std::fs::read(self.job.case.dir.join(f))
                .or_else(|e| fail(format!("cannot read {f}: {e}")))?,
        })
    }

    /// A global (or config) by name, from the data sections' maps as the
    /// kernel's BTF formats them.
    fn global(&self, name: &str) -> Result<serde_json::Value, (String, String)> {
        for (map, id) in &self.maps {
            if !map.contains("bss") && !map.contains("data") {
                continue;
            }
            let (_, out, _) = tool("bpftool", &["-j", "map", "dump", "id", &id.to_string()]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let sections = v
                .get(0)
                .and_then(|e| e.get("formatted"))
                .and_then(|f| f.get("value"))
                .and_then(|v| v.as_object());
            for vars in sections.into_iter().flat_map(|o| o.values()) {
                for var in vars.as_array().into_iter().flatten() {
                    if let Some(x) = var.get(name) {
                        return Ok(x.clone());
                    }
                }
            }
        }
        fail(format!(
            "the loaded programs use no global or config named `{name}`"
        ))
    }

    /// The object's programs pinned (loading it the first time).
    fn pins(&mut self) -> Result<PathBuf, (String, String)> {
        if self.pins.is_none() {
            let r = self.load();
            self.pins = Some(r);
        }
        match self.pins.as_ref().unwrap() {
            Ok(p) => Ok(p.clone()),
            Err(e) => fail(e.clone()),
        }
    }

    fn load(&mut self) -> Result<PathBuf, String> {
        ensure_bpffs()?;
        let pins = PathBuf::from(format!("/sys/fs/bpf/ksc-conf-{}", self.id));
        let obj = self.job.out.join("prog.ebpf.o");
        // Maps pinned too: a program array with no user reference left is
        // emptied by the kernel (tail calls would fail). An object whose
        // maps are pinned by name already keeps them there instead.
        let maps = pins.join("maps").to_string_lossy().into_owned();
        let (obj, pinned) = (obj.to_string_lossy(), pins.to_string_lossy());
        // ksc-conf-load (load.c) loads as bpftool does and reads the
        // verifier's statistics; bpftool where it was not built.
        let loader = loader();
        let (mut ok, mut out, mut err) = match &loader {
            Some(l) => tool(l, &[&obj, &pinned, &maps]),
            None => tool(
                "bpftool",
                &["prog", "loadall", &obj, &pinned, "pinmaps", &maps],
            ),
        };
        if loader.is_none() && !ok && err.contains("already has pin path") {
            let _ = std::fs::remove_dir_all(&pins);
            (ok, out, err) = tool("bpftool", &["prog", "loadall", &obj, &pinned]);
        }
        let processed: Vec<(String, u64)> = out
            .lines()
            .filter_map(|l| {
                let mut w = l.strip_prefix("PROG ")?.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.parse().ok()?))
            })
            .collect();
        if !ok {
            let _ = std::fs::remove_dir_all(&pins);
            self.verifier_log = last_lines(&(out + &err), 20);
            return Err(format!(
                "the kernel rejected the object; the end of the log:\n{}",
                self.verifier_log
            ));
        }
        let mut names: Vec<String> = std::fs::read_dir(&pins)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "maps")
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        self.programs = names
            .into_iter()
            .map(|name| {
                let (_, out, _) = tool(
                    "bpftool",
                    &[
                        "-j",
                        "prog",
                        "show",
                        "pinned",
                        &pins.join(&name).to_string_lossy(),
                    ],
                );
                let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
                // The maps, by the kernel's name for them (found through
                // the programs: the object's own pins may be elsewhere).
                for id in v
                    .get("map_ids")
                    .and_then(|m| m.as_array())
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = id.as_u64() else { continue };
                    if self.maps.iter().any(|m| m.1 == id) {
                        continue;
                    }
                    let (_, m, _) = tool("bpftool", &["-j", "map", "show", "id", &id.to_string()]);
                    let m: serde_json::Value = serde_json::from_str(&m).unwrap_or_default();
                    if let Some(n) = m.get("name").and_then(|n| n.as_str()) {
                        self.maps.push((n.to_string(), id));
                    }
                }
                Loaded {
                    processed_insns: processed
                        .iter()
                        .find(|p| p.0 == name)
                        .map(|p| p.1)
                        .unwrap_or(0),
                    xlated_bytes: n("bytes_xlated"),
                    jited_bytes: n("bytes_jited"),
                    verified_insns: n("verified_insns"),
                    name,
                }
            })
            .collect();
        Ok(pins)
    }

    /// Runs the executable (in the case's namespace when it has one) with
    /// the pending `traffic`/`sigint`; its status, stdout and stderr.
    fn exec(&mut self, args: &[String], env: &[(&str, &str)]) -> Result<Ran, (String, String)> {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("$IFACE", Net::IFACE))
            .collect();
        // Run as `./prog` from its directory: what it prints of argv[0]
        // (usage lines) is the same wherever the build is.
        let mut cmd = match &self.net {
            Some(net) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{}", net.ns)).arg("./prog");
                c
            }
            None => Command::new("./prog"),
        };
        cmd.args(&args)
            .envs(env.iter().copied())
            .current_dir(&self.job.out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .or_else(|e| fail(format!("cannot run the executable: {e}")))?;
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        // Set at the first line on stdout: the loaders print once they
        // have attached, and traffic waits for that (a slow start, e.g.
        // under qemu's emulation, would otherwise miss the first packets).
        let said = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let said_w = said.clone();
        let out_t = std::thread::spawn(move || {
            let mut b = vec![];
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                b.extend_from_slice(&chunk[..n]);
                if b.contains(&b'\n') {
                    said_w.store(true, Ordering::Relaxed);
                }
            }
            b
        });
        let err_t = std::thread::spawn(move || {
            let mut b = vec![];
            let _ = stderr.read_to_end(&mut b);
            b
        });
        let start = Instant::now();
        let mut traffic = self.traffic.take();
        let sigint = self.sigint.take();
        let mut watch = std::mem::take(&mut self.watch);
        let mut watched: Vec<String> = vec![];
        let mut interrupted = false;
        let mut traffic_done: Option<Duration> = None;
        let limit = Duration::from_secs(20);
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Some(s);
            }
            let t = start.elapsed();
            if let (Some(n), Some(net)) = (traffic, &self.net) {
                // 300 ms in, once the executable said it attached (its
                // first line), or at 5 s for one that prints nothing.
                if t >= Duration::from_millis(300)
                    && (said.load(Ordering::Relaxed) || t >= Duration::from_secs(5))
                {
                    traffic = None;
                    // One ping at a time: each returns at its reply (or after 1 s).
                    sh(&format!(
                        "for i in $(seq {n}); do nsenter --net=/run/netns/{} ping -c 1 -W 1 10.201.0.1 >/dev/null 2>&1; done",
                        net.peer_ns
                    ));
                    traffic_done = Some(start.elapsed());
                }
            }
            if !watch.is_empty() && said.load(Ordering::Relaxed) {
                // Read while it runs, once it has said it is set up.
                for (path, text) in watch.drain(..) {
                    let got = read_trimmed(&path);
                    if got != text {
                        watched.push(format!("{path} read `{got}` while it ran, not `{text}`"));
                    }
                }
            }
            if let Some(ms) = sigint {
                // After `ms`, and 300 ms after the traffic: the loader
                // polls (sleep) before it sees the last packet's count.
                let after_traffic =
                    traffic_done.is_none_or(|d| t >= d + Duration::from_millis(300));
                if !interrupted
                    && t >= Duration::from_millis(ms)
                    && traffic.is_none()
                    && after_traffic
                {
                    interrupted = true;
                    sh(&format!("kill -INT {}", child.id()));
                }
            }
            if t > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let out = out_t.join().unwrap_or_default();
        let err = err_t.join().unwrap_or_default();
        let Some(status) = status else {
            return Err((
                "timeout".into(),
                format!(
                    "it did not exit within {} s{}",
                    limit.as_secs(),
                    stderr_note(&err)
                ),
            ));
        };
        if !watch.is_empty() {
            watched.push("it printed nothing, so the `watch` files were not read".into());
        }
        if !watched.is_empty() {
            return Err((
                "watch".into(),
                format!("{}{}", watched.join("; "), stderr_note(&err)),
            ));
        }
        use std::os::unix::process::ExitStatusExt as _;
        let shown = match (status.code(), status.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            _ => "unknown".into(),
        };
        Ok((shown, out, err))
    }
}

fn stderr_note(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    if s.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", last_lines(s.trim(), 3))
    }
}

/// The first line where `got` differs from `want`.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            return format!(
                "line {}: want {:?}, got {:?}",
                i + 1,
                a.copied().unwrap_or("<end>"),
                b.copied().unwrap_or("<end>")
            );
        }
    }
    "the line endings differ".into()
}

/// The kernel keeps the first 15 bytes of a map's name.
fn map_name_matches(kernel: &str, name: &str) -> bool {
    kernel == name || (kernel.len() == 15 && name.starts_with(kernel))
}

/// A map entry as bytes (a per-CPU integer value summed over CPUs);
/// None when there is no entry.
fn lookup(id: u64, key: &[u8]) -> Result<Option<Vec<u8>>, (String, String)> {
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
fn fresh_bpffs() -> Result<(), String> {
    let (ok, _, err) = tool("mount", &["-t", "bpf", "bpf", "/sys/fs/bpf"]);
    if ok {
        Ok(())
    } else {
        Err(format!("cannot mount a bpffs for the case: {}", err.trim()))
    }
}

fn ensure_bpffs() -> Result<(), String> {
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
