//! Ring buffers: `rb.read(ms)`, handlers registered with `rb.on_event(f)`,
//! and `dispatch`, which polls the rings and calls the handlers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::AsRawFd as _;
use std::sync::atomic::Ordering;

use aya::maps::RingBuf;

use crate::maps::map_fd;
use crate::plain::Plain;
use crate::ptr::Ptr;
use crate::state::{check_stop, die, with, STOP};

/// The ring buffer `name`, opened for reading on first use (shared by
/// `read` and `dispatch`: one consumer per ring).
fn open_ring(name: &'static str) {
    let missing = with(|s| !s.rings.contains_key(name));
    if missing {
        map_fd(name);
        let ring = with(|s| {
            let m = s.ebpf.as_mut().and_then(|e| e.take_map(name))?;
            RingBuf::try_from(m).ok()
        });
        match ring {
            Some(r) => with(|s| s.rings.insert(name, r)),
            None => die(format_args!("error: cannot read ring buffer `{name}`")),
        };
    }
}

/// `rb.read(ms)`: the next event, or None when none arrives within `ms`.
pub fn ring_read<V: Plain>(name: &'static str, ms: u32) -> Option<V> {
    open_ring(name);
    let take = || {
        with(|s| {
            let r = s.rings.get_mut(name)?;
            r.next().map(|item| V::from_bytes(&item))
        })
    };
    if let Some(v) = take() {
        return Some(v);
    }
    if ms > 0 && !STOP.load(Ordering::SeqCst) {
        let fd = with(|s| s.rings.get(name).map(|r| r.as_raw_fd()).unwrap_or(-1));
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms as i32) };
        if let Some(v) = take() {
            return Some(v);
        }
    }
    check_stop();
    None
}

/// A handler registered with `rb.on_event(f)`: takes an event's bytes.
type Handler = std::rc::Rc<dyn Fn(&[u8]) -> i32>;

thread_local! {
    static HANDLERS: RefCell<HashMap<&'static str, Handler>> = RefCell::new(HashMap::new());
}

/// `rb.on_event(f)`: `dispatch` calls `f` with a copy of each event
/// (docs/language.md, "Ring-buffer callbacks, `dispatch` and `daemon`").
pub fn on_event<V: Plain>(name: &'static str, f: fn(Ptr<V>) -> i32) {
    let h: Handler = std::rc::Rc::new(move |b: &[u8]| f(Ptr::Snap(V::from_bytes(b))));
    HANDLERS.with(|m| m.borrow_mut().insert(name, h));
}

/// `dispatch(rb, ...)`: wait (poll, without an async runtime) for events
/// of these rings and call their handlers; the first nonzero value a
/// handler returns, or 0 once SIGINT/SIGTERM arrived (the program goes on
/// to its own cleanup).
pub fn dispatch(names: &[&'static str]) -> i32 {
    for n in names {
        open_ring(n);
    }
    let mut warned = vec![false; names.len()];
    let mut fds: Vec<libc::pollfd> = names
        .iter()
        .map(|n| libc::pollfd {
            fd: with(|s| s.rings.get(n).map(|r| r.as_raw_fd()).unwrap_or(-1)),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    while !STOP.load(Ordering::SeqCst) {
        for (i, n) in names.iter().enumerate() {
            // The event is copied and the ring released before the
            // handler runs: it may use the runtime (maps, print).
            while let Some(bytes) = with(|s| {
                let r = s.rings.get_mut(n)?;
                r.next().map(|item| item.to_vec())
            }) {
                match HANDLERS.with(|m| m.borrow().get(n).cloned()) {
                    Some(h) => {
                        let ret = h(&bytes);
                        if ret != 0 {
                            return ret;
                        }
                    }
                    None if !warned[i] => {
                        warned[i] = true;
                        eprintln!("warning: ring buffer `{n}` has no handler yet (`{n}.on_event(f)`): its events are dropped");
                    }
                    None => {}
                }
            }
        }
        // SAFETY: valid pollfds, one per ring.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
    }
    0
}
