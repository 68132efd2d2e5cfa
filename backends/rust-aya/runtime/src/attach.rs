//! Attaching and detaching programs: XDP and TC on interfaces (tcx, else
//! a clsact qdisc removed again at detach), tracepoints and kprobes where
//! their section says.

use aya::programs::tc::{self, NlOptions, SchedClassifierLinkId, TcAttachOptions};
use aya::programs::{LinkOrder, Program, TcAttachType, XdpFlags};

use crate::desc::Kind;
use crate::load::error_chain;
use crate::perf::perf_detach;
use crate::state::{with, STATE};

/// How an attached program is attached, to detach it.
pub(crate) enum Attached {
    Xdp(aya::programs::xdp::XdpLinkId),
    Tc(SchedClassifierLinkId),
    TracePoint(aya::programs::trace_point::TracePointLinkId),
    KProbe(aya::programs::kprobe::KProbeLinkId),
}

/// Where `attach` goes: an interface by name or index.
pub enum Target<'a> {
    Name(&'a [u8]),
    Index(i32),
}

fn ifname(i: i32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer has IF_NAMESIZE bytes.
    let p = unsafe { libc::if_indextoname(i as u32, buf.as_mut_ptr()) };
    (!p.is_null()).then(|| {
        // SAFETY: if_indextoname wrote a NUL-terminated name.
        unsafe { std::ffi::CStr::from_ptr(p) }
            .to_string_lossy()
            .into_owned()
    })
}

fn ifindex(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: a valid C string.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// A tracepoint section's category and event
/// (`tracepoint/syscalls/sys_enter_read`: `syscalls`, `sys_enter_read`).
fn tracepoint_of(sec: &str) -> (&str, &str) {
    let rest = sec.trim_start_matches("tracepoint/");
    rest.split_once('/').unwrap_or((rest, ""))
}

/// A kprobe section's function and offset (`kprobe/f+8`: `f`, 8).
fn kprobe_of(sec: &str) -> (&str, u64) {
    let rest = sec.trim_start_matches("kprobe/");
    match rest.split_once('+') {
        Some((f, o)) => (f, o.parse().unwrap_or(0)),
        None => (rest, 0),
    }
}

/// `attach(prog, target, flags)`: 0, or a negative errno after a message.
pub fn attach(h: usize, target: Target, flags: u32) -> i32 {
    if with(|s| s.ebpf.is_none()) {
        let name = with(|s| s.desc.progs[h].name);
        eprintln!("error: attach({name}) before load()");
        return -libc::EINVAL;
    }
    if with(|s| s.attached[h].is_some()) {
        return 0;
    }
    let (p, desc) = with(|s| (&s.desc.progs[h], s.desc));
    let _ = desc;
    if p.kind == Kind::Perf {
        let to = match &target {
            Target::Name(n) => format!(" to {}", String::from_utf8_lossy(n)),
            Target::Index(_) => String::new(),
        };
        eprintln!("error: cannot attach `{}`{to}: a @perf_event program attaches to a perf counter: attach(handle, perf_options {{ perf_type: ..., perf_config: ... }}, 0)", p.name);
        return -libc::EINVAL;
    }
    let shown = match &target {
        Target::Name(n) => String::from_utf8_lossy(n).into_owned(),
        Target::Index(_) => String::new(),
    };
    let (ifi, ifn) = match &target {
        Target::Name(_) => (ifindex(&shown), shown.clone()),
        Target::Index(i) => (*i as u32, ifname(*i).unwrap_or_default()),
    };
    if p.kind != Kind::Link && matches!(target, Target::Name(_)) && ifi == 0 {
        eprintln!(
            "error: cannot attach `{}`: no network interface named `{shown}`",
            p.name
        );
        return -libc::ENODEV;
    }
    let mut made_qdisc = None;
    let r: Result<Attached, aya::programs::ProgramError> = with(|s| {
        let ebpf = s.ebpf.as_mut().expect("loaded");
        let prog = ebpf.program_mut(p.name).expect("in the object");
        match (p.kind, prog) {
            (Kind::Xdp, Program::Xdp(x)) => {
                let f = XdpFlags::from_bits_truncate(flags);
                x.attach_to_if_index(ifi, f).map(Attached::Xdp)
            }
            (Kind::TcIngress | Kind::TcEgress, Program::SchedClassifier(x)) => {
                let at = if p.kind == Kind::TcIngress {
                    TcAttachType::Ingress
                } else {
                    TcAttachType::Egress
                };
                // tcx first (6.6+), clsact when there is none or
                // KSC_NO_TCX is set, as the C loader.
                let tcx = if std::env::var_os("KSC_NO_TCX").is_none() {
                    x.attach_with_options(&ifn, at, TcAttachOptions::TcxOrder(LinkOrder::default()))
                        .ok()
                } else {
                    None
                };
                match tcx {
                    Some(l) => Ok(Attached::Tc(l)),
                    None => {
                        // The clsact qdisc, removed at detach when made here.
                        if tc::qdisc_add_clsact(&ifn).is_ok() {
                            made_qdisc = Some(ifi);
                        }
                        let nl = NlOptions {
                            priority: 1,
                            handle: 1,
                        };
                        x.attach_with_options(&ifn, at, TcAttachOptions::Netlink(nl))
                            .map(Attached::Tc)
                    }
                }
            }
            (Kind::Link, Program::TracePoint(x)) => {
                let (cat, ev) = tracepoint_of(p.sec);
                x.attach(cat, ev).map(Attached::TracePoint)
            }
            (Kind::Link, Program::KProbe(x)) => {
                let (f, off) = kprobe_of(p.sec);
                x.attach(f, off).map(Attached::KProbe)
            }
            _ => Err(aya::programs::ProgramError::UnexpectedProgramType),
        }
    });
    match r {
        Ok(a) => {
            with(|s| {
                s.attached[h] = Some(a);
                s.qdisc[h] = made_qdisc;
            });
            0
        }
        Err(e) => {
            let to = if ifn.is_empty() || p.kind == Kind::Link {
                String::new()
            } else {
                format!(" to {ifn}")
            };
            eprintln!("error: cannot attach `{}`{to}: {}", p.name, error_chain(&e));
            -libc::EINVAL
        }
    }
}

/// `detach(prog)`, with the program's perf counters.
pub fn detach(h: usize) {
    let perfs: Vec<u64> = STATE.with(|s| {
        s.borrow().as_ref().map_or(vec![], |s| {
            s.perfs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.live && p.prog == h)
                .map(|(i, p)| (p.gen as u64) << 32 | (i as u64 + 1))
                .collect()
        })
    });
    for att in perfs {
        perf_detach(att);
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(s) = s.as_mut() else { return };
        let Some(a) = s.attached.get_mut(h).and_then(Option::take) else {
            return;
        };
        let name = s.desc.progs[h].name;
        let Some(prog) = s.ebpf.as_mut().and_then(|e| e.program_mut(name)) else {
            return;
        };
        let _ = match (a, prog) {
            (Attached::Xdp(l), Program::Xdp(x)) => x.detach(l),
            (Attached::Tc(l), Program::SchedClassifier(x)) => x.detach(l),
            (Attached::TracePoint(l), Program::TracePoint(x)) => x.detach(l),
            (Attached::KProbe(l), Program::KProbe(x)) => x.detach(l),
            _ => Ok(()),
        };
        if let Some(ifi) = s.qdisc[h].take() {
            del_clsact(ifi);
        }
    });
}

/// Remove the clsact qdisc of interface `ifi` (RTM_DELQDISC), as libbpf's
/// `bpf_tc_hook_destroy`; aya has no call for it.
fn del_clsact(ifi: u32) {
    #[repr(C)]
    struct Req {
        // struct nlmsghdr
        len: u32,
        ty: u16,
        flags: u16,
        seq: u32,
        pid: u32,
        // struct tcmsg
        family: u8,
        pad1: u8,
        pad2: u16,
        ifindex: i32,
        handle: u32,
        parent: u32,
        info: u32,
    }
    let req = Req {
        len: std::mem::size_of::<Req>() as u32,
        ty: libc::RTM_DELQDISC,
        flags: (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16,
        seq: 1,
        pid: 0,
        family: libc::AF_UNSPEC as u8,
        pad1: 0,
        pad2: 0,
        ifindex: ifi as i32,
        handle: 0xffff_0000,
        parent: 0xffff_fff1, // TC_H_CLSACT
        info: 0,
    };
    // SAFETY: a netlink socket, a request of its own size, an ack read
    // into a local buffer, the socket closed.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        );
        if fd < 0 {
            return;
        }
        libc::send(
            fd,
            &req as *const Req as *const libc::c_void,
            std::mem::size_of::<Req>(),
            0,
        );
        let mut buf = [0u8; 1024];
        libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
        libc::close(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::{kprobe_of, tracepoint_of};

    #[test]
    fn sections_name_where_programs_attach() {
        assert_eq!(
            tracepoint_of("tracepoint/syscalls/sys_enter_read"),
            ("syscalls", "sys_enter_read")
        );
        assert_eq!(tracepoint_of("tracepoint/sched"), ("sched", ""));
        assert_eq!(kprobe_of("kprobe/do_sys_open"), ("do_sys_open", 0));
        assert_eq!(
            kprobe_of("kprobe/tcp_v4_connect+16"),
            ("tcp_v4_connect", 16)
        );
    }
}
