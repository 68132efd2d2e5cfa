//! The BPF helpers KernelScript programs may call, defined once for the
//! whole compiler.
//!
//! The midend types calls against [`HELPERS`] (their signatures, and the
//! program types allowed to call each helper); the IR names a helper by its
//! [`HelperId`], the number `include/uapi/linux/bpf.h` gives it
//! (`BPF_FUNC_*`); backends look its name up with [`helper`]. The table is
//! part of the schema: changing it changes [`crate::IR_VERSION`].

use serde::{Deserialize, Serialize};

use crate::ProgramType;

/// A BPF helper, by its number in `include/uapi/linux/bpf.h`
/// (`BPF_FUNC_ktime_get_ns` is 5). [`helper`] finds its [`Helper`] entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HelperId(pub u32);

/// The type of a helper's parameter or result, as KernelScript types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperType {
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `i32`
    I32,
    /// Any pointer (`*void` accepts every pointer) to memory: never null
    /// (the verifier refuses it).
    Ptr,
    /// Any pointer, also null: the kernel's `ARG_PTR_TO_MEM_OR_NULL` and
    /// `ARG_ANYTHING` (the unsafe pointer `bpf_probe_read_*` reads from).
    PtrOrNull,
}

/// A set of program types (the ones that may call a helper).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgramTypes(u8);

impl ProgramTypes {
    /// `@xdp`
    pub const XDP: ProgramTypes = ProgramTypes(1);
    /// `@tc(...)`
    pub const TC: ProgramTypes = ProgramTypes(1 << 1);
    /// `@tracepoint(...)`
    pub const TRACEPOINT: ProgramTypes = ProgramTypes(1 << 2);
    /// `@probe(...)` (kprobes)
    pub const PROBE: ProgramTypes = ProgramTypes(1 << 3);
    /// `@lsm(...)`
    pub const LSM: ProgramTypes = ProgramTypes(1 << 4);
    /// Members of `@struct_ops` impl blocks.
    pub const STRUCT_OPS: ProgramTypes = ProgramTypes(1 << 5);
    /// `@perf_event`
    pub const PERF_EVENT: ProgramTypes = ProgramTypes(1 << 6);
    /// Packet programs: XDP and TC.
    pub const PACKET: ProgramTypes = ProgramTypes(Self::XDP.0 | Self::TC.0);
    /// Tracing programs: tracepoints, probes, LSM hooks and perf events
    /// (the kernel gives them all the tracing helpers).
    pub const TRACING: ProgramTypes =
        ProgramTypes(Self::TRACEPOINT.0 | Self::PROBE.0 | Self::LSM.0 | Self::PERF_EVENT.0);
    /// Every program type.
    pub const ALL: ProgramTypes = ProgramTypes(0x7f);

    /// The union of two sets.
    pub const fn or(self, other: ProgramTypes) -> ProgramTypes {
        ProgramTypes(self.0 | other.0)
    }

    /// The set holding just the type of `p`.
    pub fn of(p: &ProgramType) -> ProgramTypes {
        match p {
            ProgramType::Xdp => Self::XDP,
            ProgramType::Tc { .. } => Self::TC,
            ProgramType::Tracepoint { .. } => Self::TRACEPOINT,
            ProgramType::Probe { .. } => Self::PROBE,
            ProgramType::Lsm { .. } => Self::LSM,
            ProgramType::StructOps { .. } => Self::STRUCT_OPS,
            ProgramType::PerfEvent => Self::PERF_EVENT,
        }
    }

    /// Does the set hold the type of program `p`?
    pub fn allows(self, p: &ProgramType) -> bool {
        self.0 & Self::of(p).0 != 0
    }

    /// The attributes of the types in the set, as written in KernelScript
    /// (`@xdp`, `@tc`, ...), for messages.
    pub fn attributes(self) -> Vec<&'static str> {
        [
            (Self::XDP, "@xdp"),
            (Self::TC, "@tc"),
            (Self::TRACEPOINT, "@tracepoint"),
            (Self::PROBE, "@probe"),
            (Self::LSM, "@lsm"),
            (Self::STRUCT_OPS, "@struct_ops"),
            (Self::PERF_EVENT, "@perf_event"),
        ]
        .into_iter()
        .filter(|(s, _)| self.0 & s.0 != 0)
        .map(|(_, n)| n)
        .collect()
    }
}

/// What a call of a helper does beyond its result that the checker must
/// know (the verifier's view of it), as data in [`HELPERS`] rather than
/// tests on the helper's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct HelperFlags(u8);

impl HelperFlags {
    /// Nothing beyond its result.
    pub const NONE: HelperFlags = HelperFlags(0);
    /// It may move, resize or rewrite the packet: the verifier forgets
    /// every packet pointer and bounds check after it (the kernel's
    /// `bpf_helper_changes_pkt_data`).
    pub const CHANGES_PKT_DATA: HelperFlags = HelperFlags(1);
    /// It takes a `bpf_spin_lock`.
    pub const TAKES_LOCK: HelperFlags = HelperFlags(1 << 1);
    /// It releases a `bpf_spin_lock`.
    pub const RELEASES_LOCK: HelperFlags = HelperFlags(1 << 2);

    /// Both sets.
    pub const fn with(self, other: HelperFlags) -> HelperFlags {
        HelperFlags(self.0 | other.0)
    }

    /// Does the set hold every flag of `other`?
    pub const fn has(self, other: HelperFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One BPF helper: its name, number, signature and who may call it.
#[derive(Clone, Copy, Debug)]
pub struct Helper {
    /// The C name (`bpf_ktime_get_ns`), as `bpf/bpf_helper_defs.h`
    /// declares it.
    pub name: &'static str,
    /// Its number in `include/uapi/linux/bpf.h`.
    pub id: HelperId,
    /// Parameter types.
    pub params: &'static [HelperType],
    /// Result type.
    pub ret: HelperType,
    /// Further arguments allowed after `params` (`bpf_trace_printk`: up to
    /// three integers).
    pub variadic: bool,
    /// The program types whose verifier accepts a call to it.
    pub programs: ProgramTypes,
    /// The Linux release that brought it (bcc's `docs/kernel-versions.md`,
    /// from the kernel's git history); see [`crate::kernels`].
    pub since: crate::kernels::Release,
    /// What a call does that the checker tracks.
    pub flags: HelperFlags,
}

macro_rules! helpers {
    ($($name:literal = $id:literal ($($p:ident),*) -> $ret:ident $(, $variadic:ident)? since ($ma:literal, $mi:literal) $(+ $flag:ident)* in $progs:expr;)*) => {
        /// Every BPF helper KernelScript code may call, in helper-number
        /// order. Signatures follow `bpf/bpf_helper_defs.h` (results the
        /// kernel declares `long` are typed `i32`); the program types are
        /// those every supported kernel (6.1 and later) accepts.
        pub const HELPERS: &[Helper] = &[
            $(Helper {
                name: $name,
                id: HelperId($id),
                params: &[$(HelperType::$p),*],
                ret: HelperType::$ret,
                variadic: helpers!(@v $($variadic)?),
                programs: $progs,
                since: crate::kernels::r($ma, $mi),
                flags: HelperFlags::NONE$(.with(HelperFlags::$flag))*,
            },)*
        ];
    };
    (@v variadic) => { true };
    (@v) => { false };
}

const ALL: ProgramTypes = ProgramTypes::ALL;
const XDP: ProgramTypes = ProgramTypes::XDP;
const TC: ProgramTypes = ProgramTypes::TC;
const PACKET: ProgramTypes = ProgramTypes::PACKET;
const PERF_EVENT: ProgramTypes = ProgramTypes::PERF_EVENT;
/// `bpf_get_current_comm`/`_uid_gid`: tracing programs; struct_ops
/// programs get them on some kernels, so they are not refused there.
const TASK: ProgramTypes = ProgramTypes::TRACING.or(ProgramTypes::STRUCT_OPS);
const TRACING: ProgramTypes = ProgramTypes::TRACING;
/// `bpf_spin_lock`/`_unlock`: the verifier refuses maps holding a spin
/// lock in kprobe and tracepoint programs ("tracing progs cannot use
/// bpf_spin_lock yet", perf_event programs too); LSM and struct_ops
/// programs may take them.
const LOCK: ProgramTypes = ProgramTypes::PACKET
    .or(ProgramTypes::LSM)
    .or(ProgramTypes::STRUCT_OPS);

helpers! {
    "bpf_ktime_get_ns" = 5 () -> U64 since (4, 1) in ALL;
    "bpf_trace_printk" = 6 (Ptr, U32) -> I32, variadic since (4, 1) in ALL;
    "bpf_get_prandom_u32" = 7 () -> U32 since (4, 1) in ALL;
    "bpf_get_smp_processor_id" = 8 () -> U32 since (4, 1) in ALL;
    "bpf_skb_store_bytes" = 9 (Ptr, U32, Ptr, U32, U64) -> I32 since (4, 1) + CHANGES_PKT_DATA in TC;
    "bpf_l3_csum_replace" = 10 (Ptr, U32, U64, U64, U64) -> I32 since (4, 1) + CHANGES_PKT_DATA in TC;
    "bpf_l4_csum_replace" = 11 (Ptr, U32, U64, U64, U64) -> I32 since (4, 1) + CHANGES_PKT_DATA in TC;
    "bpf_clone_redirect" = 13 (Ptr, U32, U64) -> I32 since (4, 2) + CHANGES_PKT_DATA in TC;
    "bpf_get_current_pid_tgid" = 14 () -> U64 since (4, 2) in ALL;
    "bpf_get_current_uid_gid" = 15 () -> U64 since (4, 2) in TASK;
    "bpf_get_current_comm" = 16 (Ptr, U32) -> I32 since (4, 2) in TASK;
    "bpf_get_cgroup_classid" = 17 (Ptr) -> U32 since (4, 3) in TC;
    "bpf_skb_vlan_push" = 18 (Ptr, U32, U32) -> I32 since (4, 3) + CHANGES_PKT_DATA in TC;
    "bpf_skb_vlan_pop" = 19 (Ptr) -> I32 since (4, 3) + CHANGES_PKT_DATA in TC;
    "bpf_redirect" = 23 (U32, U64) -> I32 since (4, 4) in PACKET;
    "bpf_skb_load_bytes" = 26 (Ptr, U32, Ptr, U32) -> I32 since (4, 5) in TC;
    "bpf_csum_diff" = 28 (PtrOrNull, U32, PtrOrNull, U32, U32) -> I32 since (4, 6) in PACKET;
    "bpf_get_hash_recalc" = 34 (Ptr) -> U32 since (4, 8) in TC;
    "bpf_get_current_task" = 35 () -> U64 since (4, 8) in ALL;
    "bpf_skb_pull_data" = 39 (Ptr, U32) -> I32 since (4, 9) + CHANGES_PKT_DATA in TC;
    "bpf_get_numa_node_id" = 42 () -> I32 since (4, 10) in ALL;
    "bpf_skb_change_head" = 43 (Ptr, U32, U64) -> I32 since (4, 10) + CHANGES_PKT_DATA in TC;
    "bpf_xdp_adjust_head" = 44 (Ptr, I32) -> I32 since (4, 10) + CHANGES_PKT_DATA in XDP;
    "bpf_get_socket_cookie" = 46 (Ptr) -> U64 since (4, 12) in TC;
    "bpf_set_hash" = 48 (Ptr, U32) -> I32 since (4, 13) in TC;
    "bpf_xdp_adjust_meta" = 54 (Ptr, I32) -> I32 since (4, 15) + CHANGES_PKT_DATA in XDP;
    "bpf_perf_prog_read_value" = 55 (Ptr, Ptr, U32) -> I32 since (4, 15) in PERF_EVENT;
    "bpf_xdp_adjust_tail" = 65 (Ptr, I32) -> I32 since (4, 18) + CHANGES_PKT_DATA in XDP;
    "bpf_spin_lock" = 93 (Ptr) -> I32 since (5, 1) + TAKES_LOCK in LOCK;
    "bpf_spin_unlock" = 94 (Ptr) -> I32 since (5, 1) + RELEASES_LOCK in LOCK;
    "bpf_send_signal" = 109 (U32) -> I32 since (5, 3) in TRACING;
    "bpf_probe_read_user" = 112 (Ptr, U32, PtrOrNull) -> I32 since (5, 5) in ALL;
    "bpf_probe_read_kernel" = 113 (Ptr, U32, PtrOrNull) -> I32 since (5, 5) in ALL;
    "bpf_probe_read_user_str" = 114 (Ptr, U32, PtrOrNull) -> I32 since (5, 5) in ALL;
    "bpf_probe_read_kernel_str" = 115 (Ptr, U32, PtrOrNull) -> I32 since (5, 5) in ALL;
    "bpf_jiffies64" = 118 () -> U64 since (5, 5) in ALL;
    "bpf_ktime_get_boot_ns" = 125 () -> U64 since (5, 8) in ALL;
    "bpf_ktime_get_coarse_ns" = 160 () -> U64 since (5, 11) in ALL;
}

/// The helper with this number, if KernelScript knows it.
pub fn helper(id: HelperId) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.id == id)
}

/// The helper with this C name, if KernelScript knows it.
pub fn helper_named(name: &str) -> Option<&'static Helper> {
    HELPERS.iter().find(|h| h.name == name)
}

impl HelperId {
    /// The helper's C name (`bpf_ktime_get_ns`); `bpf_helper_<n>` for a
    /// number the table does not know.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match helper(self) {
            Some(h) => h.name.into(),
            None => format!("bpf_helper_{}", self.0).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_unique_and_ordered() {
        for w in HELPERS.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].name, w[1].name);
        }
        for h in HELPERS {
            assert_eq!(helper_named(h.name).map(|x| x.id), Some(h.id));
            assert!(h.name.starts_with("bpf_"));
            assert!(h.programs != ProgramTypes(0), "{}", h.name);
        }
    }

    #[test]
    fn flags_are_data_in_the_table() {
        let f = |n: &str| helper_named(n).unwrap().flags;
        assert!(f("bpf_xdp_adjust_head").has(HelperFlags::CHANGES_PKT_DATA));
        assert!(f("bpf_clone_redirect").has(HelperFlags::CHANGES_PKT_DATA));
        assert!(!f("bpf_skb_load_bytes").has(HelperFlags::CHANGES_PKT_DATA));
        assert!(f("bpf_spin_lock").has(HelperFlags::TAKES_LOCK));
        assert!(!f("bpf_spin_lock").has(HelperFlags::RELEASES_LOCK));
        assert!(f("bpf_spin_unlock").has(HelperFlags::RELEASES_LOCK));
        assert_eq!(f("bpf_ktime_get_ns"), HelperFlags::NONE);
        // Only packet programs have packet data to change.
        for h in HELPERS {
            if h.flags.has(HelperFlags::CHANGES_PKT_DATA) {
                assert_eq!(
                    h.programs.or(ProgramTypes::PACKET),
                    ProgramTypes::PACKET,
                    "{}",
                    h.name
                );
            }
        }
    }

    #[test]
    fn program_sets() {
        let xdp = helper_named("bpf_xdp_adjust_head").unwrap();
        assert!(xdp.programs.allows(&ProgramType::Xdp));
        assert!(!xdp.programs.allows(&ProgramType::Tc { ingress: true }));
        assert_eq!(ProgramTypes::PACKET.attributes(), ["@xdp", "@tc"]);
    }
}
