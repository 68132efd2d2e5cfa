//! What the generated `main.rs` tells the runtime about the program: its
//! eBPF object, the programs in it and how each attaches, where pinned
//! maps and globals live, and how userspace reads each map's values.

/// What a program attaches to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xdp,
    TcIngress,
    TcEgress,
    /// Tracepoints and probes: attached where their section says.
    Link,
    /// `@perf_event`: attached to perf counters (`perf_attach`).
    Perf,
}

/// One eBPF program of the object.
pub struct Prog {
    pub name: &'static str,
    pub kind: Kind,
    /// Its ELF section (`xdp`, `tracepoint/syscalls/sys_enter_read`).
    pub sec: &'static str,
}

/// The program being run, as the generated `main.rs` describes it.
pub struct Desc {
    pub name: &'static str,
    pub object: &'static [u8],
    pub progs: &'static [Prog],
    /// Where pinned maps live (`/sys/fs/bpf/<name>/maps`), if any.
    pub pin_dir: Option<&'static str>,
    /// Where `pin var` globals are pinned (their `.data.pinned_globals`
    /// map), if any.
    pub globals_pin: Option<&'static str>,
    /// The program array of tail calls: slot i holds `tail_calls[i]`.
    pub tail_calls: &'static [&'static str],
}

/// A map of the object, by name, and how userspace reads its values.
pub struct MapRef {
    pub name: &'static str,
    pub percpu: bool,
    /// Per-CPU integer values are summed at this width (bytes; 0: CPU 0's).
    pub sum_width: usize,
}
