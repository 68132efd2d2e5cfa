//! The kernel side: bpf_link creation from a program's fd, pins, link
//! updates and object info, through libbpf's thin syscall wrappers
//! (libbpf-sys). Loading the object itself (relocations, BTF, pinned-map
//! reuse) is libbpf-rs's, in `deploy.rs`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use libbpf_sys as sys;

use crate::config::{Attach, XdpMode};

const PERF_TYPE_TRACEPOINT: u32 = 2;

/// bpffs's `statfs` magic.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path has a NUL byte"))
}

/// libbpf's calls return `-errno` (or set errno and return -1).
fn check(rc: i32) -> io::Result<i32> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        let code = if e.raw_os_error().unwrap_or(0) != 0 {
            e
        } else {
            io::Error::from_raw_os_error(-rc)
        };
        Err(code)
    } else {
        Ok(rc)
    }
}

fn owned(fd: i32) -> OwnedFd {
    // SAFETY: `fd` was just returned by the kernel and is ours alone.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Whether `path` (or, if it does not exist yet, its nearest existing
/// ancestor) is on a bpf filesystem.
pub fn on_bpffs(path: &Path) -> bool {
    let mut p = path;
    loop {
        if p.exists() {
            let Ok(c) = cpath(p) else { return false };
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: valid C string and out-pointer.
            let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
            return rc == 0 && st.f_type as i64 == BPF_FS_MAGIC;
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return false,
        }
    }
}

/// Mount `fstype` at `dir` unless something is mounted there, as the
/// generated loaders do (a fresh machine may have neither bpffs nor
/// tracefs mounted). Failures are left to the caller's next step to
/// report.
pub fn ensure_mounted(dir: &str, fstype: &str) {
    let mounted = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(dir));
    if mounted || !Path::new(dir).is_dir() {
        return;
    }
    let (Ok(src), Ok(target), Ok(ty)) = (
        CString::new(fstype),
        CString::new(dir),
        CString::new(fstype),
    ) else {
        return;
    };
    // SAFETY: valid C strings; no data.
    unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            ty.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
}

pub fn obj_get(path: &Path) -> io::Result<OwnedFd> {
    let c = cpath(path)?;
    // SAFETY: valid C string.
    check(unsafe { sys::bpf_obj_get(c.as_ptr()) }).map(owned)
}

pub fn obj_pin(fd: &OwnedFd, path: &Path) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: valid fd and C string.
    check(unsafe { sys::bpf_obj_pin(fd.as_raw_fd(), c.as_ptr()) }).map(|_| ())
}

/// Replace the program a link runs, atomically: no event between the two
/// programs goes unseen.
pub fn link_update(link: &OwnedFd, prog: i32) -> io::Result<()> {
    // SAFETY: valid fds; no options.
    check(unsafe { sys::bpf_link_update(link.as_raw_fd(), prog, std::ptr::null()) }).map(|_| ())
}

pub fn ifindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

const TRACEFS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The id of tracepoint `cat/event`, if the kernel has it.
pub fn tracepoint_id(tp: &str) -> Option<u64> {
    ensure_mounted(TRACEFS[0], "tracefs");
    TRACEFS.iter().find_map(|root| {
        std::fs::read_to_string(Path::new(root).join("events").join(tp).join("id"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
}

/// Whether the BPF LSM is active (`bpf` in the LSM list).
pub fn bpf_lsm_active() -> bool {
    std::fs::read_to_string("/sys/kernel/security/lsm")
        .map(|s| s.split(',').any(|l| l.trim() == "bpf"))
        .unwrap_or(false)
}

/// The kprobe PMU's perf type, if the kernel has kprobes.
pub fn kprobe_pmu() -> Option<u32> {
    std::fs::read_to_string("/sys/bus/event_source/devices/kprobe/type")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// What to attach a program to, resolved against the kernel.
#[derive(Clone, Debug)]
pub enum Target {
    Xdp { ifindex: u32, mode: XdpMode },
    Tcx { ifindex: u32, ingress: bool },
    Tracepoint { id: u64 },
    Lsm,
    Kprobe { function: String, offset: u64 },
}

/// Attach program `prog` (an fd) and return the link.
pub fn attach(prog: i32, target: &Target) -> io::Result<OwnedFd> {
    match target {
        Target::Xdp { ifindex, mode } => {
            let opts = sys::bpf_link_create_opts {
                sz: std::mem::size_of::<sys::bpf_link_create_opts>() as _,
                flags: match mode {
                    XdpMode::Default => 0,
                    XdpMode::Generic => sys::XDP_FLAGS_SKB_MODE,
                    XdpMode::Native => sys::XDP_FLAGS_DRV_MODE,
                    XdpMode::Offload => sys::XDP_FLAGS_HW_MODE,
                },
                ..Default::default()
            };
            // SAFETY: valid fds and options.
            check(unsafe { sys::bpf_link_create(prog, *ifindex as i32, sys::BPF_XDP, &opts) })
                .map(owned)
        }
        Target::Tcx { ifindex, ingress } => {
            let ty = if *ingress {
                sys::BPF_TCX_INGRESS
            } else {
                sys::BPF_TCX_EGRESS
            };
            // SAFETY: valid fds; no options.
            check(unsafe { sys::bpf_link_create(prog, *ifindex as i32, ty, std::ptr::null()) })
                .map(owned)
        }
        Target::Tracepoint { id } => {
            let pfd = perf_open(PERF_TYPE_TRACEPOINT, *id, None)?;
            // SAFETY: valid fds; no options.
            check(unsafe {
                sys::bpf_link_create(prog, pfd.as_raw_fd(), sys::BPF_PERF_EVENT, std::ptr::null())
            })
            .map(owned)
        }
        Target::Kprobe { function, offset } => {
            let ty = kprobe_pmu().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
            let name = CString::new(function.as_str())
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            let pfd = perf_open(ty, 0, Some((&name, *offset)))?;
            // SAFETY: valid fds; no options.
            check(unsafe {
                sys::bpf_link_create(prog, pfd.as_raw_fd(), sys::BPF_PERF_EVENT, std::ptr::null())
            })
            .map(owned)
        }
        Target::Lsm => {
            // SAFETY: valid fd; no options.
            check(unsafe { sys::bpf_link_create(prog, 0, sys::BPF_LSM_MAC, std::ptr::null()) })
                .map(owned)
        }
    }
}

/// perf_event_open for a tracepoint (`config` = its id) or a kprobe
/// (`probe` = function and offset), on CPU 0 for every task: a BPF perf
/// link fires on every CPU regardless. The attribute is laid out by hand
/// (the libc crate does not declare it): type, size, config,
/// sample_period, ..., wakeup_events at 48, config1 at 56, config2 at 64.
fn perf_open(ty: u32, config: u64, probe: Option<(&CString, u64)>) -> io::Result<OwnedFd> {
    const PERF_TYPE_TRACEPOINT_SIZE: usize = 136;
    const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
    let mut attr = [0u64; PERF_TYPE_TRACEPOINT_SIZE / 8];
    attr[0] = ty as u64 | ((PERF_TYPE_TRACEPOINT_SIZE as u64) << 32);
    attr[1] = config;
    attr[2] = 1; // sample_period
    attr[6] = 1; // wakeup_events (low half)
    if let Some((name, offset)) = probe {
        attr[7] = name.as_ptr() as u64;
        attr[8] = offset;
    }
    // SAFETY: attr is a complete perf_event_attr; the name outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1i32,
            0i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(owned(fd as i32))
}

/// What the kernel says about a link.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LinkInfo {
    pub id: u32,
    pub kind: String,
    pub prog_id: u32,
    /// XDP and tcx links: the interface's index.
    pub ifindex: Option<u32>,
}

pub fn link_info(fd: &OwnedFd) -> io::Result<LinkInfo> {
    let mut info: sys::bpf_link_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<sys::bpf_link_info>() as u32;
    // SAFETY: out-pointers sized as told.
    check(unsafe { sys::bpf_link_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) })?;
    let kind = match info.type_ {
        sys::BPF_LINK_TYPE_XDP => "xdp",
        sys::BPF_LINK_TYPE_TCX => "tcx",
        sys::BPF_LINK_TYPE_PERF_EVENT => "perf_event",
        sys::BPF_LINK_TYPE_TRACING => "tracing",
        sys::BPF_LINK_TYPE_RAW_TRACEPOINT => "raw_tracepoint",
        _ => "other",
    };
    // SAFETY: the union member matching the link's type.
    let ifindex = unsafe {
        match info.type_ {
            sys::BPF_LINK_TYPE_XDP => Some(info.__bindgen_anon_1.xdp.ifindex),
            sys::BPF_LINK_TYPE_TCX => Some(info.__bindgen_anon_1.tcx.ifindex),
            _ => None,
        }
    };
    Ok(LinkInfo {
        id: info.id,
        kind: kind.into(),
        prog_id: info.prog_id,
        ifindex,
    })
}

/// What the kernel says about a program.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProgInfo {
    pub id: u32,
    pub name: String,
    pub prog_type: u32,
}

fn cname(raw: &[std::os::raw::c_char]) -> String {
    raw.iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8 as char)
        .collect()
}

pub fn prog_info(fd: i32) -> io::Result<ProgInfo> {
    let mut info: sys::bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<sys::bpf_prog_info>() as u32;
    // SAFETY: out-pointers sized as told.
    check(unsafe { sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) })?;
    Ok(ProgInfo {
        id: info.id,
        name: cname(&info.name),
        prog_type: info.type_,
    })
}

/// What the kernel says about a map.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MapInfo {
    pub id: u32,
    pub name: String,
    pub map_type: u32,
    pub max_entries: u32,
}

pub fn map_info(fd: &OwnedFd) -> io::Result<MapInfo> {
    let mut info: sys::bpf_map_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<sys::bpf_map_info>() as u32;
    // SAFETY: out-pointers sized as told.
    check(unsafe { sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) })?;
    Ok(MapInfo {
        id: info.id,
        name: cname(&info.name),
        map_type: info.type_,
        max_entries: info.max_entries,
    })
}

/// The supervisor's record: a one-entry array map pinned in the
/// deployment's directory (bpffs holds no plain files) with the
/// supervisor's and the current userspace process's pids.
pub fn pids_map_create() -> io::Result<OwnedFd> {
    let name = CString::new("ksc_supervisor").expect("no NUL");
    // SAFETY: valid name; no options.
    check(unsafe {
        sys::bpf_map_create(
            sys::BPF_MAP_TYPE_ARRAY,
            name.as_ptr(),
            4,
            8,
            1,
            std::ptr::null(),
        )
    })
    .map(owned)
}

pub fn pids_write(map: &OwnedFd, supervisor: u32, child: u32) -> io::Result<()> {
    let key = 0u32;
    let val = [supervisor, child];
    // SAFETY: key and value sized as the map's.
    check(unsafe {
        sys::bpf_map_update_elem(
            map.as_raw_fd(),
            &key as *const u32 as *const _,
            val.as_ptr() as *const _,
            0,
        )
    })
    .map(|_| ())
}

pub fn pids_read(map: &OwnedFd) -> io::Result<(u32, u32)> {
    let key = 0u32;
    let mut val = [0u32; 2];
    // SAFETY: key and value sized as the map's.
    check(unsafe {
        sys::bpf_map_lookup_elem(
            map.as_raw_fd(),
            &key as *const u32 as *const _,
            val.as_mut_ptr() as *mut _,
        )
    })?;
    Ok((val[0], val[1]))
}

/// The kernel program type a `.ks` program kind loads as (for checks).
pub fn describe_attach(a: &Attach) -> String {
    a.describe()
}
