//! `@perf_event` programs on perf counters: opening the counter, attaching
//! (a perf link, else the older ioctl), `read(att)` and `detach(att)`, and
//! the counter's name in messages, as the C loader says them.

use std::os::fd::{AsFd as _, AsRawFd as _};

use crate::desc::{Kind, Prog};
use crate::state::{die, with, State, STATE};

/// One perf counter: a handle is the slot + 1 in its low half and the
/// slot's generation in its high half, so a copy kept after `detach` no
/// longer matches.
pub(crate) struct Perf {
    pub(crate) prog: usize,
    pub(crate) perf_fd: i32,
    /// The perf link; -1: attached with the older ioctl.
    pub(crate) link_fd: i32,
    pub(crate) live: bool,
    pub(crate) gen: u32,
}

/// The counter a perf_type/perf_config pair names, for messages: the
/// language's name when it has one (as the C loader says it).
fn perf_name(ty: u32, config: u64) -> String {
    const HW: [&str; 10] = [
        "cpu_cycles",
        "instructions",
        "cache_references",
        "cache_misses",
        "branch_instructions",
        "branch_misses",
        "bus_cycles",
        "",
        "",
        "ref_cpu_cycles",
    ];
    const SW: [&str; 7] = [
        "cpu_clock",
        "task_clock",
        "page_faults",
        "context_switches",
        "cpu_migrations",
        "page_faults_min",
        "page_faults_maj",
    ];
    const TYPES: [&str; 6] = [
        "perf_type_hardware",
        "perf_type_software",
        "perf_type_tracepoint",
        "perf_type_hw_cache",
        "perf_type_raw",
        "perf_type_breakpoint",
    ];
    let named = match ty {
        0 => HW.get(config as usize).filter(|n| !n.is_empty()),
        1 => SW.get(config as usize),
        _ => None,
    };
    match (named, TYPES.get(ty as usize)) {
        (Some(n), _) => format!(
            "{} counter `{n}`",
            if ty == 0 { "hardware" } else { "software" }
        ),
        (None, Some(t)) => format!("counter {t} with perf_config {config}"),
        (None, None) => format!("counter of perf_type {ty} with perf_config {config}"),
    }
}

/// `struct perf_event_attr` as its first version (PERF_ATTR_SIZE_VER0):
/// every field `perf_options` sets is in it.
#[repr(C)]
struct PerfEventAttr {
    ty: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// disabled, inherit, pinned, exclusive, exclude_user, exclude_kernel, ...
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// `union bpf_attr` for BPF_LINK_CREATE of a perf link.
#[repr(C)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    bpf_cookie: u64,
}

const PERF_EVENT_IOC_ENABLE: u64 = 0x2400;
const PERF_EVENT_IOC_DISABLE: u64 = 0x2401;
const PERF_EVENT_IOC_RESET: u64 = 0x2403;
const PERF_EVENT_IOC_SET_BPF: u64 = 0x4004_2408;
const PERF_FLAG_FD_CLOEXEC: u64 = 8;
const BPF_LINK_CREATE: i64 = 28;
const BPF_PERF_EVENT: u32 = 41;

/// What makes a perf attach of program `p` impossible before the kernel
/// is asked: not a `@perf_event` program, flags, `pid`/`cpu` out of range.
fn check_attach(p: &Prog, flags: u32, pid: i32, cpu: i32) -> Result<(), String> {
    if p.kind != Kind::Perf {
        return Err(format!(
            "it is not a @perf_event program (its section is `{}`)",
            p.sec
        ));
    }
    if flags != 0 {
        return Err(format!("a perf attach takes no flags (0), not {flags}"));
    }
    if pid < -1 || cpu < -1 {
        return Err(format!(
            "pid {pid}, cpu {cpu}: each is -1 (any) or a number"
        ));
    }
    if pid == -1 && cpu == -1 {
        return Err("pid -1 with cpu -1 (every process on every CPU) is not a counter the kernel opens: give a pid (0 is this process) or a cpu".into());
    }
    Ok(())
}

/// `attach(prog, perf_options { .. }, flags)`: open the counter
/// (disabled), reset it, attach the program, enable it, as the C loader;
/// a failure says why, naming the counter, and exits with status 1.
#[allow(clippy::too_many_arguments)]
pub fn perf_attach(
    h: usize,
    flags: u32,
    ty: u32,
    config: u64,
    pid: i32,
    cpu: i32,
    period: u64,
    wakeup: u32,
    inherit: bool,
    exclude_kernel: bool,
    exclude_user: bool,
) -> u64 {
    let counter = perf_name(ty, config);
    let (p, loaded) = with(|s| (&s.desc.progs[h], s.ebpf.is_some()));
    if !loaded {
        die(format_args!("error: attach({}) before load()", p.name));
    }
    let fail = |why: String| -> ! {
        die(format_args!(
            "error: cannot attach `{}` to the {counter}: {why}",
            p.name
        ))
    };
    if let Err(why) = check_attach(p, flags, pid, cpu) {
        fail(why);
    }
    let attr = PerfEventAttr {
        ty,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config,
        sample_period: period,
        sample_type: 0,
        read_format: 0,
        flags: 1
            | (inherit as u64) << 1
            | (exclude_user as u64) << 4
            | (exclude_kernel as u64) << 5,
        wakeup_events: wakeup,
        bp_type: 0,
        config1: 0,
    };
    // SAFETY: a valid perf_event_attr of the size it declares.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid,
            cpu,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    } as i32;
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let errno = e.raw_os_error().unwrap_or(0);
        let why = match errno {
            libc::ENOENT | libc::EOPNOTSUPP if ty == 0 => "this machine has no such counter (no hardware performance counters, as in most virtual machines); software counters such as `cpu_clock` or `page_faults` work everywhere".to_string(),
            libc::ENOENT | libc::EOPNOTSUPP | libc::EINVAL => {
                format!("the kernel does not offer it with these perf_options ({})", strerror(errno))
            }
            libc::EACCES | libc::EPERM => "not permitted (run as root, or lower /proc/sys/kernel/perf_event_paranoid)".into(),
            libc::ESRCH => format!("no process has pid {pid}"),
            libc::ENODEV | libc::ENXIO => format!("no CPU {cpu} on this machine"),
            _ => strerror(errno),
        };
        fail(why);
    }
    let prog_fd = with(|s| {
        s.ebpf
            .as_ref()
            .and_then(|e| e.program(p.name))
            .and_then(|x| x.fd().ok())
            .map_or(-1, |fd| fd.as_fd().as_raw_fd())
    });
    // SAFETY: ioctls on the counter just opened.
    unsafe { libc::ioctl(fd, PERF_EVENT_IOC_RESET as _, 0) };
    let la = LinkCreateAttr {
        prog_fd: prog_fd as u32,
        target_fd: fd as u32,
        attach_type: BPF_PERF_EVENT,
        flags: 0,
        bpf_cookie: 0,
    };
    // A perf link (kernel 5.15+), else the older ioctl, as libbpf.
    // SAFETY: a valid bpf_attr prefix of the size given.
    let link = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_CREATE,
            &la as *const LinkCreateAttr,
            std::mem::size_of::<LinkCreateAttr>(),
        )
    } as i32;
    // SAFETY: the counter's fd and the program's fd.
    if link < 0 && unsafe { libc::ioctl(fd, PERF_EVENT_IOC_SET_BPF as _, prog_fd) } < 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: closing the fd opened here.
        unsafe { libc::close(fd) };
        fail(format!(
            "the kernel refused to attach the program ({})",
            strerror(e)
        ));
    }
    // SAFETY: as above.
    if unsafe { libc::ioctl(fd, PERF_EVENT_IOC_ENABLE as _, 0) } < 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: closing the fds made here.
        unsafe {
            if link >= 0 {
                libc::close(link);
            }
            libc::close(fd);
        }
        fail(format!("cannot start the counter ({})", strerror(e)));
    }
    with(|s| {
        let i = match s.perfs.iter().position(|p| !p.live) {
            Some(i) => i,
            None => {
                s.perfs.push(Perf {
                    prog: 0,
                    perf_fd: -1,
                    link_fd: -1,
                    live: false,
                    gen: 0,
                });
                s.perfs.len() - 1
            }
        };
        let p = &mut s.perfs[i];
        p.prog = h;
        p.perf_fd = fd;
        p.link_fd = link;
        p.live = true;
        p.gen = p.gen.wrapping_add(1);
        (p.gen as u64) << 32 | (i as u64 + 1)
    })
}

fn strerror(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    // "No such file or directory (os error 2)": C's strerror text.
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The live counter a handle names.
fn perf_slot(s: &State, att: u64) -> Option<usize> {
    let i = (att & 0xffff_ffff).checked_sub(1)? as usize;
    let p = s.perfs.get(i)?;
    (p.live && p.gen == (att >> 32) as u32).then_some(i)
}

/// `read(att)`: the counter's value; -1 once detached or when the read fails.
pub fn perf_read(att: u64) -> i64 {
    let fd = STATE.with(|s| {
        let s = s.borrow();
        let s = s.as_ref()?;
        perf_slot(s, att).map(|i| s.perfs[i].perf_fd)
    });
    let Some(fd) = fd else { return -1 };
    let mut v: i64 = 0;
    // SAFETY: reading 8 bytes into an i64.
    let n = unsafe { libc::read(fd, &mut v as *mut i64 as *mut libc::c_void, 8) };
    if n == 8 {
        v
    } else {
        -1
    }
}

/// `detach(att)`: disable, unlink, close; nothing for a detached handle.
pub fn perf_detach(att: u64) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(s) = s.as_mut() else { return };
        let Some(i) = perf_slot(s, att) else { return };
        let p = &mut s.perfs[i];
        // SAFETY: the counter's and the link's fds, closed once.
        unsafe {
            libc::ioctl(p.perf_fd, PERF_EVENT_IOC_DISABLE as _, 0);
            if p.link_fd >= 0 {
                libc::close(p.link_fd);
            }
            libc::close(p.perf_fd);
        }
        p.live = false;
    });
}

#[cfg(test)]
mod tests {
    use super::{check_attach, perf_name, strerror};
    use crate::desc::{Kind, Prog};

    /// Counters are named as the language names them, as the C loader.
    #[test]
    fn counters_are_named_in_the_languages_words() {
        assert_eq!(perf_name(0, 0), "hardware counter `cpu_cycles`");
        assert_eq!(perf_name(0, 9), "hardware counter `ref_cpu_cycles`");
        assert_eq!(perf_name(1, 2), "software counter `page_faults`");
        assert_eq!(
            perf_name(0, 7),
            "counter perf_type_hardware with perf_config 7"
        );
        assert_eq!(
            perf_name(1, 99),
            "counter perf_type_software with perf_config 99"
        );
        assert_eq!(
            perf_name(2, 5),
            "counter perf_type_tracepoint with perf_config 5"
        );
        assert_eq!(perf_name(8, 1), "counter of perf_type 8 with perf_config 1");
    }

    #[test]
    fn impossible_attaches_are_refused_before_the_kernel_is_asked() {
        let perf = Prog {
            name: "p",
            kind: Kind::Perf,
            sec: "perf_event",
        };
        let xdp = Prog {
            name: "x",
            kind: Kind::Xdp,
            sec: "xdp",
        };
        assert_eq!(check_attach(&perf, 0, 0, -1), Ok(()));
        assert_eq!(check_attach(&perf, 0, -1, 0), Ok(()));
        assert_eq!(
            check_attach(&xdp, 0, 0, -1).unwrap_err(),
            "it is not a @perf_event program (its section is `xdp`)"
        );
        assert_eq!(
            check_attach(&perf, 1, 0, -1).unwrap_err(),
            "a perf attach takes no flags (0), not 1"
        );
        assert_eq!(
            check_attach(&perf, 0, -2, 0).unwrap_err(),
            "pid -2, cpu 0: each is -1 (any) or a number"
        );
        assert!(check_attach(&perf, 0, -1, -1)
            .unwrap_err()
            .starts_with("pid -1 with cpu -1"));
    }

    #[test]
    fn errors_read_as_cs_strerror() {
        for e in [libc::ENOENT, libc::EPERM, libc::EINVAL, libc::EOPNOTSUPP] {
            // SAFETY: strerror returns a static string for a known errno.
            let c = unsafe { std::ffi::CStr::from_ptr(libc::strerror(e)) };
            assert_eq!(strerror(e), c.to_string_lossy(), "errno {e}");
        }
    }
}
