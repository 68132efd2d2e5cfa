//! Which Linux release brought each kernel facility a KernelScript program
//! can use: the data behind `ksc check --emit=kernels` (the oldest kernel
//! a program runs on) and `ksc build --kernel K` (each use kernel K
//! lacks, located). See docs/kernels.md.
//!
//! Helpers carry their release in [`crate::HELPERS`] (`Helper::since`);
//! helpers KernelScript does not type, but a program may restate with
//! `extern`, are in [`OTHER_HELPERS`]; kernel kfuncs in [`KFUNCS`]; map
//! kinds, program types, attach modes and the other facilities in
//! [`FEATURES`]. Sources: the kernel's git history (the commit that added
//! each, as collected in bcc's `docs/kernel-versions.md`) and libbpf's
//! documentation; the commit is given where the table says `source`.
//!
//! Each entry may also name how a kernel's BTF shows it
//! ([`BtfProbe`]): with the chosen kernel's BTF at hand, ksc asks the BTF
//! rather than trusting the release alone (distributions backport, and
//! configurations leave things out).

/// A Linux release, `MAJOR.MINOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// `5` of 5.10.
    pub major: u32,
    /// `10` of 5.10.
    pub minor: u32,
}

/// `Release { major, minor }`, shorter in the tables.
pub const fn r(major: u32, minor: u32) -> Release {
    Release { major, minor }
}

impl Release {
    /// The release a kernel version string starts with: `5.10` of
    /// `5.10.0-32-amd64`, `6.12.118+deb12-amd64` or `5.10`.
    pub fn parse(s: &str) -> Option<Release> {
        let mut n = s.split(|c: char| !c.is_ascii_digit());
        let major = n.next()?.parse().ok()?;
        let minor = n.next()?.parse().ok()?;
        Some(Release { major, minor })
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How a kernel's BTF shows that it has a facility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BtfProbe {
    /// An enumerator of a kernel enum (`bpf_func_id`'s `BPF_FUNC_loop`,
    /// `bpf_map_type`'s `BPF_MAP_TYPE_RINGBUF`).
    Enumerator(&'static str, &'static str),
    /// A kernel function (`bpf_obj_new_impl`).
    Func(&'static str),
    /// A kernel struct (`sched_ext_ops`).
    Struct(&'static str),
}

/// A kernel facility that is not a single helper or kfunc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    /// Its key, for [`feature`].
    pub key: &'static str,
    /// What it is, for messages (`ring buffer maps`).
    pub what: &'static str,
    /// The release that brought it.
    pub since: Release,
    /// How the kernel's BTF shows it, if it does.
    pub btf: Option<BtfProbe>,
    /// Where the release comes from: the kernel commit, or why.
    pub source: &'static str,
}

macro_rules! features {
    ($($key:literal : $what:literal since ($ma:literal, $mi:literal) $(btf $probe:expr)? ; $source:literal;)*) => {
        /// Map kinds, program types, attach modes and the other
        /// facilities, each with the release that brought it.
        pub const FEATURES: &[Feature] = &[
            $(Feature {
                key: $key,
                what: $what,
                since: r($ma, $mi),
                btf: features!(@probe $($probe)?),
                source: $source,
            },)*
        ];
    };
    (@probe $p:expr) => { Some($p) };
    (@probe) => { None };
}

use BtfProbe::{Enumerator as E, Func as F, Struct as S};

features! {
    // Map kinds (ir::MapKind).
    "map:hash": "`hash` maps" since (3, 19) btf E("bpf_map_type", "BPF_MAP_TYPE_HASH"); "0f8e4bd8a1fc";
    "map:array": "`array` maps" since (3, 19) btf E("bpf_map_type", "BPF_MAP_TYPE_ARRAY"); "28fbcfa08d8e";
    "map:prog_array": "tail calls (`BPF_MAP_TYPE_PROG_ARRAY`)" since (4, 2) btf E("bpf_map_type", "BPF_MAP_TYPE_PROG_ARRAY"); "04fd61ab36ec";
    "map:percpu_hash": "`percpu_hash` maps" since (4, 6) btf E("bpf_map_type", "BPF_MAP_TYPE_PERCPU_HASH"); "824bd0ce6c7c";
    "map:percpu_array": "`percpu_array` maps" since (4, 6) btf E("bpf_map_type", "BPF_MAP_TYPE_PERCPU_ARRAY"); "a10423b87a7e";
    "map:lru_hash": "`lru_hash` maps" since (4, 10) btf E("bpf_map_type", "BPF_MAP_TYPE_LRU_HASH"); "29ba732acbee";
    "map:ringbuf": "ring buffers (`ringbuf` maps)" since (5, 8) btf E("bpf_map_type", "BPF_MAP_TYPE_RINGBUF"); "457f44363a88";
    "map:struct_ops": "`@struct_ops` (`BPF_MAP_TYPE_STRUCT_OPS`)" since (5, 6) btf E("bpf_map_type", "BPF_MAP_TYPE_STRUCT_OPS"); "85d33df357b6";
    // Program types (ir::ProgramType).
    "prog:kprobe": "`@probe` programs (kprobes)" since (4, 1) btf E("bpf_prog_type", "BPF_PROG_TYPE_KPROBE"); "2541517c32be";
    "prog:tc": "`@tc` programs (`cls_bpf` in direct-action mode)" since (4, 4) btf E("bpf_prog_type", "BPF_PROG_TYPE_SCHED_CLS"); "045efa82ff56 (direct action)";
    "prog:tracepoint": "`@tracepoint` programs" since (4, 7) btf E("bpf_prog_type", "BPF_PROG_TYPE_TRACEPOINT"); "98b5c2c65c29";
    "prog:xdp": "`@xdp` programs" since (4, 8) btf E("bpf_prog_type", "BPF_PROG_TYPE_XDP"); "6a773a15a1e8";
    "prog:perf_event": "`@perf_event` programs" since (4, 9) btf E("bpf_prog_type", "BPF_PROG_TYPE_PERF_EVENT"); "0515e5999a46";
    "prog:struct_ops": "`@struct_ops` programs" since (5, 6) btf E("bpf_prog_type", "BPF_PROG_TYPE_STRUCT_OPS"); "27ae7997a661";
    "prog:lsm": "`@lsm` programs (BPF LSM)" since (5, 7) btf E("bpf_prog_type", "BPF_PROG_TYPE_LSM"); "fc611f47f218";
    // Attach modes: the oldest one the loaders use, and the newer ones
    // they prefer where the kernel has them (falling back otherwise).
    "attach:clsact": "the `clsact` qdisc (TC attach)" since (4, 5); "1f211a1b929c";
    "attach:tcx": "tcx links (TC attach through BPF links)" since (6, 6) btf E("bpf_attach_type", "BPF_TCX_INGRESS"); "e420bed02507";
    "attach:xdp_netlink": "XDP attach by netlink" since (4, 8) btf E("bpf_prog_type", "BPF_PROG_TYPE_XDP"); "6a773a15a1e8";
    "attach:xdp_link": "XDP links (`bpf_link`)" since (5, 9) btf E("bpf_attach_type", "BPF_XDP"); "aa8d3a716b59";
    "attach:perf_link": "perf-event links (`bpf_link`)" since (5, 15) btf E("bpf_link_type", "BPF_LINK_TYPE_PERF_EVENT"); "b89fbfbb854c";
    "attach:struct_ops_link": "struct_ops links" since (6, 4) btf E("bpf_link_type", "BPF_LINK_TYPE_STRUCT_OPS"); "struct_ops links, Linux 6.4";
    // What the generated eBPF code relies on.
    "code:bpf2bpf": "BPF-to-BPF function calls" since (4, 16); "cc8b0b92a169";
    "code:global_data": "global variables and `config` blocks (`.data`/`.bss` maps)" since (5, 2); "d8eca5bbb2be";
    "code:bounded_loops": "loops in eBPF code (bounded loops)" since (5, 3); "2589726d12a1";
    "code:tail_call_with_calls": "tail calls from a program that also calls functions" since (5, 10); "e411901c0b77 (x86-64)";
    "code:core": "kernel structs read through CO-RE (the kernel's BTF in /sys/kernel/btf/vmlinux)" since (5, 4) btf S("task_struct"); "341dfcf8d78e";
    "code:printk_many": "`print` with more than three values (`bpf_trace_vprintk`)" since (5, 16) btf E("bpf_func_id", "BPF_FUNC_trace_vprintk"); "10aceb629e19";
    // Kfunc facilities.
    "kfunc:calls": "kfunc calls (kernel functions called from eBPF)" since (5, 13); "e6ac2450d6de";
    "kfunc:module": "kfuncs of kernel modules (`@kfunc`)" since (5, 18) btf F("register_btf_kfunc_id_set"); "dee872e124e8";
    "kfunc:obj_new": "`new`/`delete` in eBPF (`bpf_obj_new`)" since (6, 2) btf F("bpf_obj_new_impl"); "958cf2e273f0";
    "kfunc:probe_hook": "kfunc calls from `@probe` programs" since (6, 10); "kmod.rs: the kfunc hook for BPF_PROG_TYPE_KPROBE, Linux 6.10";
    "kfunc:tracing_hook": "kfunc calls from `@tracepoint` and `@perf_event` programs" since (6, 12); "kmod.rs: tracing kfunc hook for tracepoint/perf_event, Linux 6.12";
    // struct_ops kinds (`@struct_ops` impl blocks, by the kernel struct).
    "ops:tcp_congestion_ops": "`tcp_congestion_ops` struct_ops" since (5, 6) btf S("tcp_congestion_ops"); "0baf26b0fcd7";
    "ops:hid_bpf_ops": "`hid_bpf_ops` struct_ops" since (6, 11); "HID-BPF on struct_ops, Linux 6.11";
    "ops:sched_ext_ops": "`sched_ext_ops` struct_ops (sched_ext)" since (6, 12) btf S("sched_ext_ops"); "f0e1a0643a59";
    "ops:Qdisc_ops": "`Qdisc_ops` struct_ops (BPF qdiscs)" since (6, 16); "bpf qdisc, Linux 6.16";
    // Userspace.
    "user:test_run": "running a program from a `@test` (`BPF_PROG_TEST_RUN`)" since (4, 12) btf E("bpf_cmd", "BPF_PROG_TEST_RUN"); "1cf1cae963c2";
    "user:test_run_xdp_ctx": "an XDP context in `test()` (a nonzero `interface_id`: `ctx_in` of BPF_PROG_TEST_RUN for XDP)" since (5, 15); "47316f4a3053";
    "user:pin": "pinned maps and globals (bpffs)" since (4, 4) btf E("bpf_cmd", "BPF_OBJ_PIN"); "b2197755b263";
}

/// The feature with this key (a key of [`FEATURES`]).
pub fn feature(key: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.key == key)
}

/// BPF helpers KernelScript does not type but a program may restate with
/// `extern` (name, release, commit), from bcc's `docs/kernel-versions.md`.
pub const OTHER_HELPERS: &[(&str, Release, &str)] = &[
    ("bpf_map_lookup_elem", r(3, 19), "d0003ec01c66"),
    ("bpf_map_update_elem", r(3, 19), "d0003ec01c66"),
    ("bpf_map_delete_elem", r(3, 19), "d0003ec01c66"),
    ("bpf_probe_read", r(4, 1), "2541517c32be"),
    ("bpf_tail_call", r(4, 2), "04fd61ab36ec"),
    ("bpf_perf_event_output", r(4, 4), "a43eec304259"),
    ("bpf_get_stackid", r(4, 6), "d5a3b1f69186"),
    ("bpf_probe_write_user", r(4, 8), "96ae52279594"),
    ("bpf_probe_read_str", r(4, 11), "a5e8c07059d0"),
    ("bpf_redirect_map", r(4, 14), "97f91a7cf04f"),
    ("bpf_get_stack", r(4, 18), "de2ff05f48af"),
    ("bpf_fib_lookup", r(4, 18), "87f5fc7e48dd"),
    ("bpf_get_current_cgroup_id", r(4, 18), "bf6fa2c893c5"),
    ("bpf_sk_lookup_tcp", r(4, 20), "6acc9b432e67"),
    ("bpf_map_push_elem", r(4, 20), "f1a2e44a3aec"),
    ("bpf_map_pop_elem", r(4, 20), "f1a2e44a3aec"),
    ("bpf_map_peek_elem", r(4, 20), "f1a2e44a3aec"),
    ("bpf_get_ns_current_pid_tgid", r(5, 7), "b4490c5c4e02"),
    ("bpf_ringbuf_output", r(5, 8), "457f44363a88"),
    ("bpf_ringbuf_reserve", r(5, 8), "457f44363a88"),
    ("bpf_ringbuf_submit", r(5, 8), "457f44363a88"),
    ("bpf_ringbuf_discard", r(5, 8), "457f44363a88"),
    ("bpf_ringbuf_query", r(5, 8), "457f44363a88"),
    ("bpf_get_task_stack", r(5, 9), "fa28dcb82a38"),
    ("bpf_d_path", r(5, 10), "6e22ab9da793"),
    ("bpf_copy_from_user", r(5, 10), "07be4c4a3e7a"),
    ("bpf_per_cpu_ptr", r(5, 10), "eaa6bcb71ef6"),
    ("bpf_this_cpu_ptr", r(5, 10), "63d9b80dcf2c"),
    ("bpf_redirect_neigh", r(5, 10), "b4ab31414970"),
    ("bpf_redirect_peer", r(5, 10), "9aa1206e8f48"),
    ("bpf_get_current_task_btf", r(5, 11), "3ca1032ab7ab"),
    ("bpf_task_storage_get", r(5, 11), "4cf1bc1f1045"),
    ("bpf_check_mtu", r(5, 12), "34b2021cc616"),
    ("bpf_for_each_map_elem", r(5, 13), "69c087ba6225"),
    ("bpf_snprintf", r(5, 13), "7b15523a989b"),
    ("bpf_timer_init", r(5, 15), "b00628b1c7d5"),
    ("bpf_timer_set_callback", r(5, 15), "b00628b1c7d5"),
    ("bpf_timer_start", r(5, 15), "b00628b1c7d5"),
    ("bpf_timer_cancel", r(5, 15), "b00628b1c7d5"),
    ("bpf_get_func_ip", r(5, 15), "5d8b583d04ae"),
    ("bpf_get_attach_cookie", r(5, 15), "7adfc6c9b315"),
    ("bpf_trace_vprintk", r(5, 16), "10aceb629e19"),
    ("bpf_get_branch_snapshot", r(5, 16), "856c02dbce4f"),
    ("bpf_loop", r(5, 17), "e6f2dd0f8067"),
    ("bpf_find_vma", r(5, 17), "7c7e3d31e785"),
    ("bpf_strncmp", r(5, 17), "c5fb19937455"),
    ("bpf_get_func_arg", r(5, 17), "f92c1e183604"),
    ("bpf_copy_from_user_task", r(5, 18), "376040e47334"),
    ("bpf_skb_set_tstamp", r(5, 18), "9bb984f28d5b"),
    ("bpf_kptr_xchg", r(5, 19), "c0a5a21c25f3"),
    ("bpf_map_lookup_percpu_elem", r(5, 19), "07343110b293"),
    ("bpf_dynptr_from_mem", r(5, 19), "263ae152e962"),
    ("bpf_dynptr_read", r(5, 19), "13bbbfbea759"),
    ("bpf_dynptr_write", r(5, 19), "13bbbfbea759"),
    ("bpf_ringbuf_reserve_dynptr", r(5, 19), "bc34dee65a65"),
    ("bpf_ktime_get_tai_ns", r(6, 1), "c8996c98f703"),
    ("bpf_user_ringbuf_drain", r(6, 1), "205715673844"),
    ("bpf_cgrp_storage_get", r(6, 2), "c4bcfb38a95e"),
];

/// Kernel kfuncs (called through `extern`), with the release that brought
/// each (from the kernel's `Documentation/bpf/kfuncs.rst` and git
/// history; the source column names the release, not a commit).
pub const KFUNCS: &[(&str, Release, &str)] = &[
    ("bpf_skb_ct_lookup", r(5, 18), "Linux 5.18"),
    ("bpf_xdp_ct_lookup", r(5, 18), "Linux 5.18"),
    ("bpf_ct_release", r(5, 18), "Linux 5.18"),
    ("bpf_obj_new_impl", r(6, 2), "Linux 6.2"),
    ("bpf_obj_drop_impl", r(6, 2), "Linux 6.2"),
    ("bpf_list_push_front_impl", r(6, 2), "Linux 6.2"),
    ("bpf_list_push_back_impl", r(6, 2), "Linux 6.2"),
    ("bpf_rcu_read_lock", r(6, 2), "Linux 6.2"),
    ("bpf_rcu_read_unlock", r(6, 2), "Linux 6.2"),
    ("bpf_task_acquire", r(6, 2), "Linux 6.2"),
    ("bpf_task_release", r(6, 2), "Linux 6.2"),
    ("bpf_cgroup_acquire", r(6, 2), "Linux 6.2"),
    ("bpf_cgroup_release", r(6, 2), "Linux 6.2"),
    ("bpf_cpumask_create", r(6, 3), "Linux 6.3"),
    ("bpf_cpumask_release", r(6, 3), "Linux 6.3"),
    ("bpf_task_from_pid", r(6, 3), "Linux 6.3"),
    ("bpf_dynptr_from_skb", r(6, 3), "Linux 6.3"),
    ("bpf_dynptr_from_xdp", r(6, 3), "Linux 6.3"),
    ("bpf_dynptr_slice", r(6, 3), "Linux 6.3"),
    ("bpf_rbtree_add_impl", r(6, 3), "Linux 6.3"),
    ("bpf_xdp_metadata_rx_timestamp", r(6, 3), "Linux 6.3"),
    ("bpf_xdp_metadata_rx_hash", r(6, 3), "Linux 6.3"),
    ("bpf_iter_num_new", r(6, 4), "Linux 6.4"),
    ("bpf_iter_num_next", r(6, 4), "Linux 6.4"),
    ("bpf_iter_num_destroy", r(6, 4), "Linux 6.4"),
    ("bpf_refcount_acquire_impl", r(6, 4), "Linux 6.4"),
    ("bpf_sock_destroy", r(6, 5), "Linux 6.5"),
    ("bpf_percpu_obj_new_impl", r(6, 6), "Linux 6.6"),
    ("bpf_map_sum_elem_count", r(6, 6), "Linux 6.6"),
    ("bpf_throw", r(6, 7), "Linux 6.7"),
    ("bpf_get_file_xattr", r(6, 8), "Linux 6.8"),
];

/// The release that brought the BPF helper or kernel kfunc `name`, if
/// the tables know it.
pub fn function_since(name: &str) -> Option<Release> {
    crate::helper_named(name)
        .map(|h| h.since)
        .or_else(|| OTHER_HELPERS.iter().find(|h| h.0 == name).map(|h| h.1))
        .or_else(|| KFUNCS.iter().find(|k| k.0 == name).map(|k| k.1))
}

/// Is `name` a BPF helper (typed or not)?
pub fn is_helper(name: &str) -> bool {
    crate::helper_named(name).is_some() || OTHER_HELPERS.iter().any(|h| h.0 == name)
}

/// `BPF_FUNC_<x>` for helper `bpf_<x>`: its enumerator in the kernel's
/// `enum bpf_func_id`.
pub fn helper_enumerator(name: &str) -> String {
    format!("BPF_FUNC_{}", name.strip_prefix("bpf_").unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_releases_parse() {
        for (i, f) in FEATURES.iter().enumerate() {
            assert!(FEATURES[..i].iter().all(|g| g.key != f.key), "{}", f.key);
            assert!(f.since >= r(3, 18), "{}", f.key);
        }
        assert_eq!(Release::parse("5.10.0-32-amd64"), Some(r(5, 10)));
        assert_eq!(Release::parse("6.12.118+deb12-amd64"), Some(r(6, 12)));
        assert_eq!(Release::parse("latest"), None);
        assert_eq!(r(5, 10).to_string(), "5.10");
        assert!(r(5, 9) < r(5, 10) && r(5, 17) < r(6, 1));
        assert_eq!(function_since("bpf_loop"), Some(r(5, 17)));
        assert_eq!(function_since("bpf_ktime_get_coarse_ns"), Some(r(5, 11)));
        assert_eq!(helper_enumerator("bpf_loop"), "BPF_FUNC_loop");
    }
}
