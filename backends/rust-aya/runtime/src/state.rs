//! The runtime's state (the object, what is attached, open rings and
//! perf counters) and the program's lifetime: SIGINT/SIGTERM, `sleep`,
//! cleanup at exit, and fatal errors.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use aya::Ebpf;

use crate::attach::{detach, Attached};
use crate::desc::Desc;
use crate::perf::Perf;

pub(crate) struct State {
    pub(crate) desc: &'static Desc,
    pub(crate) ebpf: Option<Ebpf>,
    /// Globals: name -> (section, offset, size), from the object's symbols.
    pub(crate) globals: HashMap<String, (String, usize, usize)>,
    /// Data sections' bytes before load (the initial image, overridable).
    pub(crate) image: HashMap<String, Vec<u8>>,
    pub(crate) attached: Vec<Option<Attached>>,
    /// The interface whose clsact qdisc `attach` made, per program.
    pub(crate) qdisc: Vec<Option<u32>>,
    pub(crate) rings: HashMap<&'static str, RingBuf<MapData>>,
    /// Perf counters programs are attached to (`perf_attach`).
    pub(crate) perfs: Vec<Perf>,
}

thread_local! {
    pub(crate) static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

pub(crate) extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub(crate) fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = s.as_mut().expect("ksc_rt::open ran first");
        f(s)
    })
}

pub(crate) fn die(msg: std::fmt::Arguments) -> ! {
    eprintln!("{msg}");
    cleanup();
    std::process::exit(1)
}

/// Detach everything, close the object: at return, exit and signals.
pub fn cleanup() {
    let n = STATE.with(|s| s.borrow().as_ref().map_or(0, |s| s.attached.len()));
    for h in (0..n).rev() {
        detach(h);
    }
    STATE.with(|s| {
        if let Some(s) = s.borrow_mut().as_mut() {
            s.rings.clear();
            s.ebpf = None;
        }
    });
}

/// After SIGINT/SIGTERM, at the next wait: clean up and exit 130.
pub(crate) fn check_stop() {
    if STOP.load(Ordering::SeqCst) {
        cleanup();
        std::process::exit(130);
    }
}

/// `sleep(ms)`, cut short by SIGINT/SIGTERM.
pub fn sleep(ms: u32) {
    let mut ms = ms;
    while ms > 0 && !STOP.load(Ordering::SeqCst) {
        let step = ms.min(100);
        std::thread::sleep(Duration::from_millis(u64::from(step)));
        ms -= step;
    }
    check_stop();
}

/// A `throw` nobody caught: the process ends.
pub fn uncaught(err: i64) -> ! {
    eprintln!("error: uncaught throw {err}");
    cleanup();
    std::process::exit(1)
}
