//! What replaces or forks the process: `exec("x.py")` into Python with the
//! maps' fds inherited, and `daemon()`.

use std::io::Write as _;
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::sync::atomic::Ordering;

use crate::attach::Attached;
use crate::load::load;
use crate::maps::map_data;
use crate::state::{cleanup, die, with, STOP};

/// `exec("x.py")` (docs/language.md, "`exec` into Python"): replace the
/// process with `python3 DIR/x.py`, DIR the executable's directory,
/// loading the object first. Maps, programs and links are fds: with
/// FD_CLOEXEC cleared they outlive the exec (a link detaches when its last
/// fd closes: when the script exits); the maps are named in `KSC_MAPS`
/// (`name=fd,...`). Returns only on failure, ending the process (exit 1).
pub fn exec(script: &str) {
    use std::os::unix::process::CommandExt as _;
    load(0);
    let maps: Vec<String> = with(|s| {
        s.ebpf
            .as_ref()
            .map(|e| {
                e.maps()
                    .map(|(n, m)| format!("{n}={}", map_data(m).fd().as_fd().as_raw_fd()))
                    .collect()
            })
            .unwrap_or_default()
    });
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| ".".into());
    let path = dir.join(script);
    with(|s| {
        for (h, a) in s.attached.iter().enumerate() {
            // What netlink attached is no fd: it outlives the script.
            if matches!(a, Some(Attached::Tc(_))) && s.qdisc[h].is_some() {
                eprintln!(
                    "warning: `{}` stays attached after the script ends: this kernel attached it without a link (remove it with `tc filter del dev IF ingress` or `egress`)",
                    s.desc.progs[h].name
                );
            }
        }
    });
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        for fd in fds.into_iter().filter(|fd| *fd > 2) {
            // SAFETY: flags of an fd; a closed one fails harmlessly.
            unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFD);
                if fl >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, fl & !libc::FD_CLOEXEC);
                }
            }
        }
    }
    let _ = std::io::stdout().flush();
    let err = std::process::Command::new("python3")
        .arg(&path)
        .env("KSC_MAPS", maps.join(","))
        .exec();
    eprintln!(
        "error: exec(\"{script}\"): cannot run python3 {}: {err}",
        path.display()
    );
    cleanup();
    std::process::exit(1)
}

/// `daemon()`: what was printed goes out once (flushed before the fork);
/// the foreground process leaves with `_exit(0)`, skipping the cleanup
/// that would detach the daemon's programs; the daemon, in a session of
/// its own with its standard streams on /dev/null, waits for SIGTERM or
/// SIGINT and then detaches everything and exits 0.
pub fn daemon() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: the runtime is single-threaded; the child goes on with the
    // same state.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        die(format_args!(
            "error: daemon(): cannot fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid > 0 {
        // SAFETY: ends the foreground process at once.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: plain system calls on this process's own descriptors.
    unsafe {
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
        // Blocked between the check and the wait, so no signal is lost.
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGINT);
        libc::sigaddset(&mut block, libc::SIGTERM);
        libc::sigprocmask(libc::SIG_BLOCK, &block, &mut old);
        while !STOP.load(Ordering::SeqCst) {
            libc::sigsuspend(&old);
        }
    }
    cleanup();
    std::process::exit(0);
}
