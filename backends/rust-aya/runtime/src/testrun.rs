//! `test(prog, ctx)`: one BPF_PROG_TEST_RUN of a program on a packet.

use std::os::fd::{AsFd as _, AsRawFd as _};

use crate::desc::Kind;
use crate::load::load;
use crate::state::with;

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    // The struct's tail padding, named so that it is zero: the kernel
    // refuses (EINVAL) an attribute whose bytes past its last field are
    // not, and padding holds whatever the stack held.
    pad: u32,
}

/// `test(prog, ctx)`: one BPF_PROG_TEST_RUN on a packet of `size` bytes,
/// `bytes` then zeros; the program's return value, or a negative errno.
pub fn test(h: usize, size: u32, ifindex: u32, bytes: &[u8]) -> i32 {
    load(h);
    let p = with(|s| &s.desc.progs[h]);
    let fd = with(|s| {
        s.ebpf
            .as_ref()
            .and_then(|e| e.program(p.name))
            .and_then(|x| x.fd().ok())
            .map(|fd| fd.as_fd().as_raw_fd())
            .unwrap_or(-1)
    });
    if !(14..=4000).contains(&size) {
        eprintln!("error: test({}): packet_size {size} is outside 14..4000 (the kernel runs packets of an Ethernet header up to a page)", p.name);
        return -libc::EINVAL;
    }
    let mut pkt = vec![0u8; size as usize];
    let n = bytes.len().min(pkt.len());
    pkt[..n].copy_from_slice(&bytes[..n]);
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
    let xctx: [u32; 6] = [0, size, 0, ifindex, 0, 0];
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: size,
        data_in: pkt.as_ptr() as u64,
        repeat: 1,
        ..Default::default()
    };
    if p.kind == Kind::Xdp && ifindex != 0 {
        attr.ctx_in = xctx.as_ptr() as u64;
        attr.ctx_size_in = 24;
    }
    let run = |attr: &mut TestRunAttr| {
        // SAFETY: the attribute points at live buffers of the sizes given.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                10i64,
                attr as *mut TestRunAttr,
                std::mem::size_of::<TestRunAttr>(),
            )
        };
        (r, std::io::Error::last_os_error())
    };
    let (mut r, mut e) = run(&mut attr);
    if r < 0 && e.raw_os_error() == Some(libc::EINVAL) && attr.ctx_in != 0 {
        // Before 5.15 an XDP test run takes no context (EINVAL); it runs
        // on the loopback device's queue, whose ifindex is 1: the same
        // run without one.
        if ifindex != 1 {
            eprintln!("error: test({}): this kernel cannot give an XDP test run an interface (interface_id {ifindex}): Linux 5.15 brought that; before it the run is on lo (interface_id 1)", p.name);
            return -libc::EINVAL;
        }
        attr.ctx_in = 0;
        attr.ctx_size_in = 0;
        (r, e) = run(&mut attr);
    }
    if r < 0 {
        eprintln!("error: test({}): the kernel cannot run it: {e}", p.name);
        return -e.raw_os_error().unwrap_or(libc::EINVAL);
    }
    attr.retval as i32
}
