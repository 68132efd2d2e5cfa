//! What every program can use without declaring it: kernel constants,
//! context types and the language's built-in functions (BPF helpers are
//! `ksc_ir::HELPERS`).

use ksc_ir::{Builtin, IntType, StructOrigin, TypeId};

use crate::types::Types;

/// Built-in integer constants, by family: (name, value, type).
pub fn constants() -> Vec<(&'static str, i64, IntType)> {
    let mut v = vec![
        ("TC_ACT_UNSPEC", -1, IntType::I32),
        ("TC_ACT_OK", 0, IntType::I32),
        ("TC_ACT_RECLASSIFY", 1, IntType::I32),
        ("TC_ACT_SHOT", 2, IntType::I32),
        ("TC_ACT_PIPE", 3, IntType::I32),
        ("TC_ACT_STOLEN", 4, IntType::I32),
        ("TC_ACT_QUEUED", 5, IntType::I32),
        ("TC_ACT_REPEAT", 6, IntType::I32),
        ("TC_ACT_REDIRECT", 7, IntType::I32),
        ("ETH_P_IP", 0x0800, IntType::U16),
        ("ETH_P_ARP", 0x0806, IntType::U16),
        ("ETH_P_IPV6", 0x86DD, IntType::U16),
        ("ETH_P_8021Q", 0x8100, IntType::U16),
        ("ETH_P_8021AD", 0x88A8, IntType::U16),
        ("ETH_P_ALL", 0x0003, IntType::U16),
        ("IPPROTO_IP", 0, IntType::U8),
        ("IPPROTO_ICMP", 1, IntType::U8),
        ("IPPROTO_IGMP", 2, IntType::U8),
        ("IPPROTO_TCP", 6, IntType::U8),
        ("IPPROTO_UDP", 17, IntType::U8),
        ("IPPROTO_IPV6", 41, IntType::U8),
        ("IPPROTO_GRE", 47, IntType::U8),
        ("IPPROTO_ESP", 50, IntType::U8),
        ("IPPROTO_AH", 51, IntType::U8),
        ("IPPROTO_ICMPV6", 58, IntType::U8),
        ("IPPROTO_SCTP", 132, IntType::U8),
        ("IPPROTO_RAW", 255, IntType::U8),
        ("BPF_ANY", 0, IntType::U64),
        ("BPF_NOEXIST", 1, IntType::U64),
        ("BPF_EXIST", 2, IntType::U64),
        ("XDP_FLAGS_UPDATE_IF_NOEXIST", 1, IntType::U32),
        ("XDP_FLAGS_SKB_MODE", 2, IntType::U32),
        ("XDP_FLAGS_DRV_MODE", 4, IntType::U32),
        ("XDP_FLAGS_HW_MODE", 8, IntType::U32),
        // What a failed Python call throws (docs/language.md, "Python imports").
        ("PYTHON_ERROR", ksc_ir::PYTHON_ERROR, IntType::I32),
    ];
    v.extend(PERF_TYPES.iter().map(|&(n, x)| (n, x, IntType::U32)));
    v.extend(SCX_CONSTS.iter().map(|&(n, x)| (n, x as i64, IntType::U64)));
    v.extend(PERF_CONFIGS.iter().map(|&(n, _, x)| (n, x, IntType::U64)));
    v.extend(
        map_flags()
            .iter()
            .map(|&(n, x)| (n, x as i64, IntType::U32)),
    );
    v
}

/// `perf_options.perf_type` values: `PERF_TYPE_*` of linux/perf_event.h.
pub const PERF_TYPES: &[(&str, i64)] = &[
    ("perf_type_hardware", 0),
    ("perf_type_software", 1),
    ("perf_type_tracepoint", 2),
    ("perf_type_hw_cache", 3),
    ("perf_type_raw", 4),
    ("perf_type_breakpoint", 5),
];

/// Named `perf_options.perf_config` values (`u64`): the counter, with the
/// `perf_type` it is meant for (0 hardware, 1 software):
/// `PERF_COUNT_HW_*` / `PERF_COUNT_SW_*` of linux/perf_event.h.
pub const PERF_CONFIGS: &[(&str, i64, i64)] = &[
    ("cpu_cycles", 0, 0),
    ("instructions", 0, 1),
    ("cache_references", 0, 2),
    ("cache_misses", 0, 3),
    ("branch_instructions", 0, 4),
    ("branch_misses", 0, 5),
    ("bus_cycles", 0, 6),
    ("ref_cpu_cycles", 0, 9),
    ("cpu_clock", 1, 0),
    ("task_clock", 1, 1),
    ("page_faults", 1, 2),
    ("context_switches", 1, 3),
    ("cpu_migrations", 1, 4),
    ("page_faults_min", 1, 5),
    ("page_faults_maj", 1, 6),
];

/// sched_ext's constants (include/linux/sched/ext.h, kernel/sched/ext.c;
/// the same values in Linux 6.12 and 7.2): dispatch-queue ids, slices and
/// flags. 64-bit values (`SCX_DSQ_GLOBAL` is 2^63 + 1), typed `u64` and
/// written with `ULL` in C (docs/language.md, "sched_ext schedulers").
pub const SCX_CONSTS: &[(&str, u64)] = &[
    ("SCX_DSQ_FLAG_BUILTIN", 1 << 63),
    ("SCX_DSQ_FLAG_LOCAL_ON", 1 << 62),
    ("SCX_DSQ_INVALID", 1 << 63),
    ("SCX_DSQ_GLOBAL", (1 << 63) | 1),
    ("SCX_DSQ_LOCAL", (1 << 63) | 2),
    ("SCX_DSQ_LOCAL_ON", (1 << 63) | (1 << 62)),
    ("SCX_DSQ_LOCAL_CPU_MASK", 0xffff_ffff),
    ("SCX_SLICE_DFL", 20_000_000),
    ("SCX_SLICE_INF", u64::MAX),
    ("SCX_ENQ_WAKEUP", 1),
    ("SCX_ENQ_HEAD", 1 << 16),
    ("SCX_ENQ_PREEMPT", 1 << 32),
    ("SCX_ENQ_REENQ", 1 << 40),
    ("SCX_ENQ_LAST", 1 << 41),
    ("SCX_DEQ_SLEEP", 1),
    ("SCX_KICK_IDLE", 1),
    ("SCX_KICK_PREEMPT", 2),
    ("SCX_KICK_WAIT", 4),
    ("SCX_OPS_KEEP_BUILTIN_IDLE", 1),
    ("SCX_OPS_ENQ_LAST", 2),
    ("SCX_OPS_ENQ_EXITING", 4),
    ("SCX_OPS_SWITCH_PARTIAL", 8),
    ("SCX_PICK_IDLE_CORE", 1),
];

/// Built-in names a program may define for itself (common words such as
/// `instructions`): its own definition hides the built-in one.
pub fn weak(name: &str) -> bool {
    PERF_TYPES.iter().any(|(n, _)| *n == name)
        || PERF_CONFIGS.iter().any(|(n, ..)| *n == name)
        || name == "perf_type"
        // Headers written for the reference declare sched_ext's enums.
        || SCX_CONSTS.iter().any(|(n, _)| *n == name)
}

/// `@flags(...)` names and values (include/uapi/linux/bpf.h).
pub fn map_flags() -> &'static [(&'static str, u32)] {
    &[
        ("BPF_F_NO_PREALLOC", 1 << 0),
        ("BPF_F_NO_COMMON_LRU", 1 << 1),
        ("BPF_F_NUMA_NODE", 1 << 2),
        ("BPF_F_RDONLY", 1 << 3),
        ("BPF_F_WRONLY", 1 << 4),
        ("BPF_F_RDONLY_PROG", 1 << 7),
        ("BPF_F_WRONLY_PROG", 1 << 8),
        ("BPF_F_CLONE", 1 << 9),
        ("BPF_F_MMAPABLE", 1 << 10),
    ]
}

/// `@flags(...)` spelled as the reference compiler does (docs/language.md,
/// "Headers, kernel structs and enums"): the `BPF_F_*` name each means.
/// `numa_node(N)` is `BPF_F_NUMA_NODE` and the node.
pub fn map_flag_spelling(name: &str) -> Option<&'static str> {
    Some(match name {
        "rdonly" => "BPF_F_RDONLY",
        "wronly" => "BPF_F_WRONLY",
        "no_prealloc" => "BPF_F_NO_PREALLOC",
        "no_common_lru" => "BPF_F_NO_COMMON_LRU",
        "clone" => "BPF_F_CLONE",
        "numa_node" => "BPF_F_NUMA_NODE",
        "rdonly_prog" => "BPF_F_RDONLY_PROG",
        "wronly_prog" => "BPF_F_WRONLY_PROG",
        "mmapable" => "BPF_F_MMAPABLE",
        _ => return None,
    })
}

/// `xdp_action` values.
pub const XDP_ACTIONS: &[(&str, i64)] = &[
    ("XDP_ABORTED", 0),
    ("XDP_DROP", 1),
    ("XDP_PASS", 2),
    ("XDP_TX", 3),
    ("XDP_REDIRECT", 4),
];

/// The role of a packet context's pointer field (`xdp_md`, `__sk_buff`):
/// decided from the field's name here, once; the checks match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketField {
    /// `data`: the packet's first byte.
    Data,
    /// `data_end`: one past its last byte; accesses are checked against it.
    DataEnd,
    /// `data_meta`: the metadata area before `data` (XDP).
    DataMeta,
}

impl PacketField {
    /// The field's name in the UAPI struct.
    pub fn name(self) -> &'static str {
        match self {
            PacketField::Data => "data",
            PacketField::DataEnd => "data_end",
            PacketField::DataMeta => "data_meta",
        }
    }
}

/// A field name that is no packet pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotPacketField(pub String);

impl std::fmt::Display for NotPacketField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a packet pointer field (data, data_end, data_meta)",
            self.0
        )
    }
}

impl std::str::FromStr for PacketField {
    type Err = NotPacketField;
    fn from_str(s: &str) -> Result<PacketField, NotPacketField> {
        [
            PacketField::Data,
            PacketField::DataEnd,
            PacketField::DataMeta,
        ]
        .into_iter()
        .find(|f| f.name() == s)
        .ok_or_else(|| NotPacketField(s.to_string()))
    }
}

/// The packet role of field number `field` of the struct `sty`, when
/// `sty` is a UAPI context struct and the field one of its packet
/// pointers.
pub(crate) fn packet_field(types: &Types, sty: TypeId, field: u32) -> Option<PacketField> {
    let s = types.struct_def(sty)?;
    if s.origin != StructOrigin::Uapi {
        return None;
    }
    s.fields.get(field as usize)?.name.parse().ok()
}

/// The context structs of packet programs, as the language types them:
/// `data`/`data_end`/`data_meta` are packet pointers (`*u8`); offsets are
/// the UAPI ones.
pub fn xdp_md(t: &mut Types) -> TypeId {
    let p = t.ptr(t.u8_);
    let u32_ = t.u32_;
    t.kernel_struct(
        "xdp_md",
        vec![
            (PacketField::Data.name().into(), p, 0),
            (PacketField::DataEnd.name().into(), p, 4),
            (PacketField::DataMeta.name().into(), p, 8),
            ("ingress_ifindex".into(), u32_, 12),
            ("rx_queue_index".into(), u32_, 16),
            ("egress_ifindex".into(), u32_, 20),
        ],
        24,
        StructOrigin::Uapi,
    )
}

pub fn sk_buff(t: &mut Types) -> TypeId {
    let p = t.ptr(t.u8_);
    let (u8_, u32_, u64_) = (t.u8_, t.u32_, t.u64_);
    let cb = t.array(u32_, 5);
    let ip6 = t.array(u32_, 4);
    let fields: Vec<(String, TypeId, u32)> = vec![
        ("len", u32_, 0),
        ("pkt_type", u32_, 4),
        ("mark", u32_, 8),
        ("queue_mapping", u32_, 12),
        ("protocol", u32_, 16),
        ("vlan_present", u32_, 20),
        ("vlan_tci", u32_, 24),
        ("vlan_proto", u32_, 28),
        ("priority", u32_, 32),
        ("ingress_ifindex", u32_, 36),
        ("ifindex", u32_, 40),
        ("tc_index", u32_, 44),
        ("cb", cb, 48),
        ("hash", u32_, 68),
        ("tc_classid", u32_, 72),
        (PacketField::Data.name(), p, 76),
        (PacketField::DataEnd.name(), p, 80),
        ("napi_id", u32_, 84),
        ("family", u32_, 88),
        ("remote_ip4", u32_, 92),
        ("local_ip4", u32_, 96),
        ("remote_ip6", ip6, 100),
        ("local_ip6", ip6, 116),
        ("remote_port", u32_, 132),
        ("local_port", u32_, 136),
        ("data_meta", p, 140),
        // (flow_keys at 144 and sk at 168 are pointers ksc does not model.)
        ("tstamp", u64_, 152),
        ("wire_len", u32_, 160),
        ("gso_segs", u32_, 164),
        ("gso_size", u32_, 176),
        ("tstamp_type", u8_, 180),
        ("hwtstamp", u64_, 184),
    ]
    .into_iter()
    .map(|(n, t, o)| (n.to_string(), t, o))
    .collect();
    t.kernel_struct("__sk_buff", fields, 192, StructOrigin::Uapi)
}

/// `pt_regs` is opaque to programs: probes get typed parameters instead.
pub fn pt_regs(t: &mut Types) -> TypeId {
    t.kernel_struct("pt_regs", vec![], 168, StructOrigin::ProbeRegs)
}

/// The language's own functions.
pub fn builtin(name: &str) -> Option<Builtin> {
    Some(match name {
        "load" => Builtin::Load,
        "attach" => Builtin::Attach,
        "detach" => Builtin::Detach,
        "register" => Builtin::Register,
        "test" => Builtin::Test,
        "sleep" => Builtin::Sleep,
        "exec" => Builtin::Exec,
        "htons" => Builtin::Htons,
        "ntohs" => Builtin::Ntohs,
        "htonl" => Builtin::Htonl,
        "ntohl" => Builtin::Ntohl,
        "daemon" => Builtin::Daemon,
        _ => return None,
    })
}

/// Names a user may not redefine. `daemon` and `dispatch` stay free: a
/// program's own function of that name wins (sched_ext has a `dispatch`
/// callback). Nor is `test`: it is the built-in only inside `@test`
/// functions, elsewhere a user's function of that name is an ordinary one
/// (docs/language.md, "Syntax the reference accepts").
pub fn reserved(name: &str) -> bool {
    name == "print"
        || (name != "test" && builtin(name).is_some_and(|b| b != Builtin::Daemon))
        || ksc_ir::helper_named(name).is_some()
}

#[cfg(test)]
mod packet_field_tests {
    use crate::builtins::*;
    use crate::types::Types;

    #[test]
    fn packet_fields_parse_by_name_and_others_are_refused() {
        for f in [
            PacketField::Data,
            PacketField::DataEnd,
            PacketField::DataMeta,
        ] {
            assert_eq!(f.name().parse::<PacketField>(), Ok(f));
        }
        let e = "len".parse::<PacketField>().unwrap_err();
        assert_eq!(e, NotPacketField("len".into()));
        assert_eq!(
            e.to_string(),
            "`len` is not a packet pointer field (data, data_end, data_meta)"
        );
    }

    #[test]
    fn only_uapi_context_pointers_have_a_packet_role() {
        let mut t = Types::new();
        let xdp = xdp_md(&mut t);
        let skb = sk_buff(&mut t);
        assert_eq!(packet_field(&t, xdp, 1), Some(PacketField::DataEnd));
        assert_eq!(packet_field(&t, xdp, 3), None);
        let data = t
            .struct_def(skb)
            .unwrap()
            .fields
            .iter()
            .position(|f| f.name == "data");
        assert_eq!(
            packet_field(&t, skb, data.unwrap() as u32),
            Some(PacketField::Data)
        );
    }
}
