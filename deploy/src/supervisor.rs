//! The userspace side's supervisor (`userspace: auto_start: true`): a
//! systemd unit where systemd runs the machine (`systemd.rs`); elsewhere
//! ksc's own small process, detached (its own session), restarting the program's `main` per `restart_policy`
//! with a back-off. Its pids live in a one-entry array map pinned at
//! `DIR/supervisor` (bpffs holds no plain files), so `status` and
//! `undeploy` find it from the deployment's directory alone.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::RestartPolicy;
use crate::kernel;
use crate::ops::Error;

/// The first restart waits this long; each further one twice as long, up
/// to [`MAX_BACKOFF`]; a run that lasted [`STABLE`] resets it.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const STABLE: Duration = Duration::from_secs(10);

fn pin(dir: &Path) -> PathBuf {
    dir.join("supervisor")
}

/// Where the userspace program's output goes.
pub fn log_path(deployment: &str) -> PathBuf {
    let run = Path::new("/run/ksc");
    let base = if std::fs::create_dir_all(run).is_ok() {
        run.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("{deployment}.log"))
}

/// The supervisor's and the current process's pids, if one was started.
pub fn pids(dir: &Path) -> Option<(u32, u32)> {
    let fd = kernel::obj_get(&pin(dir)).ok()?;
    kernel::pids_read(&fd).ok()
}

/// Whether `pid` is a live (not zombie) process.
pub fn alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn is_supervisor(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|a| a == b"__supervise"))
        .unwrap_or(false)
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < within {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

/// Stop the userspace side: the deployment's systemd unit, or a running
/// supervisor (and with it the program), removing its pin.
pub fn stop(dir: &Path) -> Option<String> {
    let unit = crate::systemd::stop(dir);
    let own = stop_own(dir);
    match (unit, own) {
        (Some(u), Some(o)) => Some(format!("{u}; {o}")),
        (u, o) => u.or(o),
    }
}

fn stop_own(dir: &Path) -> Option<String> {
    let (sup, child) = pids(dir)?;
    let mut msg = String::from("userspace: not running");
    if alive(sup) && is_supervisor(sup) {
        // SAFETY: plain kill(2).
        unsafe { libc::kill(sup as i32, libc::SIGTERM) };
        if !wait_gone(sup, Duration::from_secs(5)) {
            unsafe { libc::kill(sup as i32, libc::SIGKILL) };
        }
        msg = format!("userspace: supervisor {sup} stopped");
    }
    if alive(child) {
        unsafe { libc::kill(child as i32, libc::SIGKILL) };
        wait_gone(child, Duration::from_secs(2));
    }
    let _ = std::fs::remove_file(pin(dir));
    Some(msg)
}

/// Start `exe args` supervised: as a systemd unit where systemd runs the
/// machine, else under ksc's own supervisor, detached (`ksc` is the ksc
/// binary; the supervisor is `ksc __supervise`).
pub fn start(
    ksc: &Path,
    dir: &Path,
    policy: RestartPolicy,
    log: &Path,
    exe: &Path,
    args: &[String],
) -> Result<String, Error> {
    stop(dir);
    if crate::systemd::running() {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return crate::systemd::start(dir, &name, policy, log, exe, args);
    }
    let mut cmd = Command::new(ksc);
    cmd.arg("__supervise")
        .arg("--dir")
        .arg(dir)
        .arg("--policy")
        .arg(policy.as_str())
        .arg("--log")
        .arg(log)
        .arg("--")
        .arg(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        Error(format!(
            "cannot start the supervisor `{}`: {e}",
            ksc.display()
        ))
    })?;
    let pid = child.id();
    drop(child);
    // Wait until it has recorded itself and started the program.
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if let Some((s, c)) = pids(dir) {
            if s == pid && c != 0 {
                return Ok(format!(
                    "userspace: {} started (pid {c}) under supervisor {pid}, restart_policy {}, output in {}",
                    exe.display(),
                    policy.as_str(),
                    log.display()
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(Error(format!(
        "the supervisor (pid {pid}) did not start `{}`; see {}",
        exe.display(),
        log.display()
    )))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn sleep_unless_stopped(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d && !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The supervisor's body (`ksc __supervise`): returns its exit status.
pub fn run(dir: &Path, policy: RestartPolicy, log: &Path, exe: &Path, args: &[String]) -> i32 {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_term as *const () as libc::sighandler_t);
    }
    let me = std::process::id();
    let note = |s: &str| {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "[ksc supervisor {me}] {s}");
        }
    };
    let map = match kernel::pids_map_create() {
        Ok(m) => m,
        Err(e) => {
            note(&format!("cannot create the pid record: {e}"));
            return 1;
        }
    };
    let _ = kernel::pids_write(&map, me, 0);
    let _ = std::fs::remove_file(pin(dir));
    if let Err(e) = kernel::obj_pin(&map, &pin(dir)) {
        note(&format!("cannot pin the pid record: {e}"));
        return 1;
    }
    let mut backoff = FIRST_BACKOFF;
    while !STOP.load(Ordering::SeqCst) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log);
        let (o, e) = match out.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
            Err(_) => (Stdio::null(), Stdio::null()),
        };
        let started = Instant::now();
        let mut child = match Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(o)
            .stderr(e)
            .spawn()
        {
            Ok(c) => c,
            Err(err) => {
                note(&format!("cannot start {}: {err}", exe.display()));
                if policy == RestartPolicy::Never {
                    return 1;
                }
                sleep_unless_stopped(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let _ = kernel::pids_write(&map, me, child.id());
        note(&format!("started {} (pid {})", exe.display(), child.id()));
        let status = loop {
            if STOP.load(Ordering::SeqCst) {
                // SAFETY: plain kill(2) of our child.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(3) {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
                note("stopped");
                return 0;
            }
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break std::process::ExitStatus::default(),
            }
        };
        note(&format!("pid {} exited: {status}", child.id()));
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !status.success(),
            RestartPolicy::Never => false,
        };
        if !restart {
            note(&format!(
                "not restarted (restart_policy {})",
                policy.as_str()
            ));
            return 0;
        }
        if started.elapsed() >= STABLE {
            backoff = FIRST_BACKOFF;
        }
        note(&format!("restarting in {} ms", backoff.as_millis()));
        sleep_unless_stopped(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    0
}
