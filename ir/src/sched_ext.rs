//! What every layer needs to know of sched_ext (`@struct_ops("sched_ext_ops")`,
//! docs/language.md, "sched_ext schedulers"): kfuncs the kernel renamed,
//! and the members it lets sleep. Tables, not IR: the IR's format does not
//! change.

/// sched_ext kfuncs renamed in Linux 6.13: (newer name, older name). Both
/// take the same arguments; a kernel has one or the other (6.13 and 6.14
/// both). A program may call either: the eBPF C declares both as weak
/// kfuncs and calls the one the kernel it loads into has, so one object
/// runs on 6.12 and on later kernels.
pub const KFUNC_RENAMES: &[(&str, &str)] = &[
    ("scx_bpf_dsq_insert", "scx_bpf_dispatch"),
    ("scx_bpf_dsq_insert_vtime", "scx_bpf_dispatch_vtime"),
    ("scx_bpf_dsq_move_to_local", "scx_bpf_consume"),
];

/// The other name of a renamed kfunc, and whether `name` is the newer.
pub fn kfunc_renamed(name: &str) -> Option<(&'static str, bool)> {
    KFUNC_RENAMES.iter().find_map(|&(new, old)| {
        if name == new {
            Some((old, true))
        } else if name == old {
            Some((new, false))
        } else {
            None
        }
    })
}

/// Whether the struct_ops member `member` of `ops_type` is loaded as a
/// sleepable program (`BPF_F_SLEEPABLE`): `init` and `exit` of
/// `sched_ext_ops`, which the kernel lets sleep (6.12 and later) and where
/// schedulers call sleepable kfuncs (`scx_bpf_create_dsq`). Every other
/// member must not be sleepable (the kernel refuses the table).
pub fn struct_ops_member_sleepable(ops_type: &str, member: &str) -> bool {
    ops_type == "sched_ext_ops" && matches!(member, "init" | "exit")
}

/// The data members of `sched_ext_ops` and their sizes (the same in 6.12
/// and 7.2), for a program built where the kernel's BTF has no sched_ext:
/// the table's C struct must give each the kernel's size (libbpf refuses
/// another), and `name` (128 bytes) is required.
pub const SCHED_EXT_OPS_FIELDS: &[(&str, u32)] = &[
    ("dispatch_max_batch", 4),
    ("flags", 8),
    ("timeout_ms", 4),
    ("exit_dump_len", 4),
    ("hotplug_seq", 8),
    ("name", 128),
];
