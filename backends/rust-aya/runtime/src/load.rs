//! Opening and loading the program's eBPF object: its data sections and
//! global symbols (the image globals and configs are set in before load),
//! pinned maps and globals, the programs, and the tail-call array.

use std::collections::HashMap;
use std::os::fd::{AsFd as _, AsRawFd as _};

use aya::maps::MapData;
use aya::programs::Program;
use aya::EbpfLoader;
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

use crate::desc::Desc;
use crate::maps::{map_data, map_elem};
use crate::plain::Plain as _;
use crate::state::{cleanup, on_signal, with, State, STATE};

/// Globals by name: (section, offset, size).
pub(crate) type Globals = HashMap<String, (String, usize, usize)>;

/// The section of `pin var` globals.
pub(crate) const PINNED_GLOBALS: &str = ".data.pinned_globals";

/// The object's data sections (`.data*`, `.bss*`, `.rodata*`: their bytes,
/// the image a load starts from) and the global symbols in them.
pub(crate) fn layout(object: &[u8]) -> Result<(Globals, HashMap<String, Vec<u8>>), String> {
    let file = object::File::parse(object).map_err(|e| e.to_string())?;
    let mut globals = HashMap::new();
    let mut image = HashMap::new();
    for sec in file.sections() {
        let name = sec.name().unwrap_or_default();
        if name.starts_with(".data") || name.starts_with(".bss") || name.starts_with(".rodata") {
            image.insert(name.to_string(), sec.data().unwrap_or_default().to_vec());
        }
    }
    for sym in file.symbols() {
        let (Ok(name), Some(idx)) = (sym.name(), sym.section_index()) else {
            continue;
        };
        let Ok(sec) = file.section_by_index(idx) else {
            continue;
        };
        let sname = sec.name().unwrap_or_default().to_string();
        if image.contains_key(&sname) && sym.size() > 0 {
            globals.insert(
                name.to_string(),
                (sname, sym.address() as usize, sym.size() as usize),
            );
        }
    }
    Ok((globals, image))
}

/// Read the object's data sections and global symbols, install the signal
/// handlers (SIGINT/SIGTERM end the program at its next wait).
pub fn open(desc: &'static Desc) {
    // First: a SIGINT while the object is read (slow on an emulated CPU)
    // ends the program at its first wait, cleanly.
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let (globals, image) = match layout(desc.object) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot open the eBPF object of `{}`: {e}", desc.name);
            std::process::exit(1)
        }
    };
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            desc,
            ebpf: None,
            globals,
            image,
            attached: desc.progs.iter().map(|_| None).collect(),
            qdisc: desc.progs.iter().map(|_| None).collect(),
            perfs: Vec::new(),
            rings: HashMap::new(),
        })
    });
    if let Some(dir) = desc.pin_dir {
        need_bpffs();
        let _ = std::fs::create_dir_all(dir);
    }
    if let Some(pin) = desc.globals_pin {
        need_bpffs();
        if let Some(dir) = std::path::Path::new(pin).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A previous run's values: the image this run's map starts from
        // (aya cannot reuse a pinned data map, so the values are carried
        // over and the new map pinned in its place at load).
        if let Ok(old) = MapData::from_pin(pin) {
            with(|s| {
                if let Some(img) = s.image.get_mut(PINNED_GLOBALS) {
                    let mut v = vec![0u8; img.len()];
                    let fd = old.fd().as_fd().as_raw_fd();
                    if map_elem(1, fd, 0u32.bytes(), v.as_mut_ptr() as u64, 0) == 0 {
                        *img = v;
                    }
                }
            });
        }
    }
}

fn need_bpffs() {
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    let dir = c"/sys/fs/bpf";
    // SAFETY: valid C strings and a statfs buffer.
    let ok = unsafe {
        (libc::statfs(dir.as_ptr(), &mut s) == 0 && s.f_type as i64 == 0xcafe4a11)
            || libc::mount(
                c"bpf".as_ptr(),
                dir.as_ptr(),
                c"bpf".as_ptr(),
                0,
                std::ptr::null(),
            ) == 0
    };
    if !ok {
        let err = std::io::Error::last_os_error();
        eprintln!("error: bpf is not mounted at /sys/fs/bpf (pinned maps and globals live in it), and `{}` cannot mount it: {err}\n  mount it as root: mount -t bpf bpf /sys/fs/bpf", with(|s| s.desc.name));
        std::process::exit(1);
    }
}

/// `load(prog)`: loading any program loads the object (maps and every
/// program), with globals and configs as set so far.
pub fn load(prog: usize) -> usize {
    if with(|s| s.ebpf.is_some()) {
        return prog;
    }
    let result = with(|s| {
        let mut loader = EbpfLoader::new();
        if let Some(dir) = s.desc.pin_dir {
            loader.map_pin_path(dir);
        }
        for (name, (sec, off, size)) in &s.globals {
            if let Some(img) = s.image.get(sec) {
                if sec.starts_with(".data") || sec.starts_with(".rodata") {
                    loader.set_global(name.as_str(), &img[*off..*off + *size], true);
                }
            }
        }
        let mut ebpf = loader.load(s.desc.object).map_err(|e| e.to_string())?;
        for p in s.desc.progs {
            let prog = ebpf
                .program_mut(p.name)
                .ok_or_else(|| format!("no program `{}` in the object", p.name))?;
            let r = match prog {
                Program::Xdp(x) => x.load(),
                Program::SchedClassifier(x) => x.load(),
                Program::TracePoint(x) => x.load(),
                Program::KProbe(x) => x.load(),
                Program::PerfEvent(x) => x.load(),
                _ => Ok(()),
            };
            r.map_err(|e| error_chain(&e))?;
        }
        // The tail-call program array, which libbpf fills from the object.
        for (slot, name) in s.desc.tail_calls.iter().enumerate() {
            let fd = ebpf
                .program(name)
                .and_then(|p| p.fd().ok())
                .map(|fd| fd.as_fd().as_raw_fd() as u32)
                .unwrap_or(0);
            // One array, or (targets of several program types) one per
            // type, named after the first part of the target's section.
            let family = s
                .desc
                .progs
                .iter()
                .find(|p| p.name == *name)
                .map_or("", |p| p.sec.split('/').next().unwrap_or(""));
            let typed = format!("__ksc_tail_calls_{family}");
            if let Some(m) = ebpf.map("__ksc_tail_calls").or_else(|| ebpf.map(&typed)) {
                let mfd = map_data(m).fd().as_fd().as_raw_fd();
                map_elem(2, mfd, (slot as u32).bytes(), fd.bytes().as_ptr() as u64, 0);
            }
        }
        if let (Some(pin), Some(m)) = (s.desc.globals_pin, ebpf.map(PINNED_GLOBALS)) {
            let _ = std::fs::remove_file(pin);
            map_data(m)
                .pin(pin)
                .map_err(|e| format!("cannot pin the globals at {pin}: {e}"))?;
        }
        s.ebpf = Some(ebpf);
        Ok::<(), String>(())
    });
    if let Err(e) = result {
        let name = with(|s| s.desc.name);
        eprintln!("error: the kernel rejected the eBPF programs of `{name}` ({e})");
        if std::fs::metadata("/sys/kernel/btf/vmlinux").is_err() {
            eprintln!("note: this kernel has no BTF (/sys/kernel/btf/vmlinux): programs that read kernel structs need a kernel built with CONFIG_DEBUG_INFO_BTF");
        }
        cleanup();
        std::process::exit(1);
    }
    prog
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}
