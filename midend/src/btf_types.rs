//! Kernel types from BTF: structs named in a program but declared by the
//! kernel (`trace_event_raw_*` tracepoint contexts, `*_ops` struct_ops
//! tables) are read from the kernel BTF the check was given
//! ([`crate::CheckOptions::btf`]; by default the running kernel's, loaded
//! by [`crate::btf::Btf::for_checks`] at the first need) and entered in
//! the type table with their kernel layout.
//!
//! Takes a name; gives a kernel struct [`TypeId`] (one per struct name),
//! or a located error saying why the kernel type is unknown.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_ir::{IntType, TypeId};

use crate::checker::{Checker, Sym, SymInfo};

impl<'a> Checker<'a> {
    /// The kernel BTF of this check, `None` when there is none.
    pub(crate) fn btf(&mut self) -> Option<&'a crate::btf::Btf> {
        if self.btf.is_none() {
            // No BTF was given: the default loader's (the one place the
            // checks' BTF is read from disk).
            let (btf, from_env) = crate::btf::Btf::for_checks();
            if let (Some(_), Err(e)) = (from_env, btf) {
                // Checking against no kernel would pass what the chosen
                // one refuses.
                self.error(codes::BTF_FILE, ksc_ir::Span::default(), format!("KSC_BTF: {e}"))
                    .help = Some("KSC_BTF names a kernel's raw BTF: a copy of its /sys/kernel/btf/vmlinux, or the .BTF section of its vmlinux (`llvm-objcopy --dump-section .BTF=FILE vmlinux`)".into());
            }
            self.btf = Some(btf.as_ref().map_err(Clone::clone));
        }
        self.btf.as_ref().and_then(|b| b.as_ref().ok().copied())
    }

    /// Any struct of the kernel's BTF may be named without a declaration
    /// (docs/language.md, "Headers, kernel structs and enums").
    pub(crate) fn btf_has(&mut self, name: &str) -> bool {
        self.btf().is_some_and(|b| b.has_struct(name))
    }

    /// A kernel struct met through a pointer gets its fields when a
    /// program first looks into it (so `task->mm` does not pull every
    /// struct the kernel's `task_struct` leads to into the program).
    pub(crate) fn fill_btf_struct(&mut self, t: TypeId) {
        let Some(name) = self.btf_lazy.remove(&t) else {
            return;
        };
        let Some(layout) = self.btf().and_then(|b| b.find_struct(&name)) else {
            return;
        };
        let fields = self.btf_fields(&layout, 0);
        self.types.set_kernel_fields(t, fields);
    }

    /// The fields ksc models of a BTF struct, at their offsets.
    fn btf_fields(
        &mut self,
        l: &crate::btf::StructLayout,
        depth: u32,
    ) -> Vec<(String, TypeId, u32)> {
        // Members of anonymous structs and unions are read by their names,
        // as in C; of a union's members only those that do not overlap the
        // one before are laid out (the C struct ksc writes has no unions;
        // CO-RE reads fields by name).
        let mut fields: Vec<(String, TypeId, u32)> = Vec::new();
        let mut end = 0u32;
        for (name, fty, off) in crate::btf::btf_flat_fields(l) {
            if off % 8 != 0 || off / 8 < end {
                continue;
            }
            let ty = self.btf_to_type(&fty, depth + 1);
            end = off / 8 + self.types.size(ty);
            fields.push((name, ty, off / 8));
        }
        fields
    }

    /// A kernel struct's type, its fields filled later
    /// ([`Self::fill_btf_struct`]).
    fn btf_struct_lazy(&mut self, name: &str, size: u32) -> TypeId {
        if let Some(&t) = self.btf_types.get(name) {
            return t;
        }
        let t = self
            .types
            .kernel_struct(name, vec![], size, btf_origin(name));
        self.btf_types.insert(name.to_string(), t);
        self.btf_lazy.insert(t, name.to_string());
        t
    }

    /// A kernel struct read from the running kernel's BTF.
    pub(crate) fn btf_struct(&mut self, id: &ast::Ident) -> TypeId {
        let layout = self.btf().and_then(|b| b.find_struct(&id.name));
        let Some(layout) = layout else {
            let why = match &self.btf {
                Some(Err(e)) => format!(" ({e})"),
                _ => String::new(),
            };
            self.error(codes::NOT_IN_KERNEL, id.span, format!("kernel type `{}` not found in the kernel's BTF{why}", id.name)).help =
                Some("tracepoint contexts are named `trace_event_raw_<event>` (`trace_event_raw_sys_enter` for syscalls)".into());
            return self.types.error;
        };
        let ty = self.btf_to_type(&crate::btf::BtfType::Struct(layout), 0);
        self.fill_btf_struct(ty);
        self.syms.insert(
            id.name.clone(),
            SymInfo {
                sym: Sym::Type(ty),
                span: None,
            },
        );
        ty
    }

    fn btf_to_type(&mut self, t: &crate::btf::BtfType, depth: u32) -> TypeId {
        use crate::btf::BtfType as B;
        if depth > 8 {
            return self.types.u8_;
        }
        match t {
            B::Int { bits, signed, .. } => {
                let it = match (bits, signed) {
                    (8, false) => IntType::U8,
                    (16, false) => IntType::U16,
                    (32, false) => IntType::U32,
                    (64, false) => IntType::U64,
                    (8, true) => IntType::I8,
                    (16, true) => IntType::I16,
                    (32, true) => IntType::I32,
                    _ => IntType::I64,
                };
                self.types.int(it)
            }
            B::Char => self.types.char_,
            B::Bool => self.types.bool_,
            B::Void => self.types.void,
            // A pointer to a named kernel struct points to that struct.
            B::Pointer(p) => {
                let pointee = match &**p {
                    B::Struct(l) if !l.name.is_empty() && l.size > 0 => {
                        self.btf_struct_lazy(&l.name, l.size)
                    }
                    _ => self.types.u8_,
                };
                self.types.ptr(pointee)
            }
            B::Array(e, n) => {
                let et = self.btf_to_type(e, depth + 1);
                self.types.array(et, *n)
            }
            // A named enum of 4 or 8 bytes stays an enum: CO-RE matches an
            // enum field only with an enum of the same name.
            B::Enum { name, size, values } if !name.is_empty() && (*size == 4 || *size == 8) => {
                let key = format!("enum {name}");
                if let Some(&t) = self.btf_types.get(&key) {
                    return t;
                }
                let signed = values.iter().any(|v| v.1 < 0);
                let repr = match (size, signed) {
                    (4, false) => IntType::U32,
                    (4, true) => IntType::I32,
                    (_, false) => IntType::U64,
                    (_, true) => IntType::I64,
                };
                // The UAPI headers the eBPF C file includes declare some.
                let t = self.types.new_enum(
                    name,
                    repr,
                    values.clone(),
                    UAPI_ENUMS.contains(&name.as_str()),
                );
                self.btf_types.insert(key, t);
                t
            }
            B::Enum { size, .. } => self.types.int(match size {
                1 => IntType::U8,
                2 => IntType::U16,
                8 => IntType::U64,
                _ => IntType::U32,
            }),
            // An anonymous struct or union as a named member's type: C needs
            // a tag; CO-RE matches nested members by field name, whatever
            // the tag.
            B::Struct(l) if l.name.is_empty() => {
                let fields = self.btf_fields(l, depth);
                let tag = format!("__ksc_anon{}", self.btf_types.len());
                let t =
                    self.types
                        .kernel_struct(&tag, fields, l.size, ksc_ir::StructOrigin::Kernel);
                self.btf_types.insert(tag, t);
                t
            }
            B::Struct(l) => {
                // One type per kernel struct name (`trace_entry` is shared
                // by every tracepoint context), made before its fields so
                // a field pointing back (`task_struct.parent`) finds it.
                let t = self.btf_struct_lazy(&l.name, l.size);
                if !l.fields.is_empty() && self.btf_lazy.remove(&t).is_some() {
                    let fields = self.btf_fields(l, depth);
                    self.types.set_kernel_fields(t, fields);
                }
                t
            }
            B::FuncProto { .. } | B::Unknown(_) => {
                let u8_ = self.types.u8_;
                self.types.ptr(u8_)
            }
        }
    }
}

/// Structs `include/uapi/linux/bpf.h` and `linux/pkt_cls.h` declare (the
/// eBPF C file includes them): ksc does not write them again.
const UAPI_STRUCTS: &[&str] = &[
    "__sk_buff",
    "bpf_attr",
    "bpf_btf_info",
    "bpf_cgroup_dev_ctx",
    "bpf_cgroup_storage_key",
    "bpf_core_relo",
    "bpf_cpumap_val",
    "bpf_devmap_val",
    "bpf_dynptr",
    "bpf_fib_lookup",
    "bpf_flow_keys",
    "bpf_func_info",
    "bpf_insn",
    "bpf_iter_link_info",
    "bpf_line_info",
    "bpf_link_info",
    "bpf_lpm_trie_key",
    "bpf_lpm_trie_key_hdr",
    "bpf_lpm_trie_key_u8",
    "bpf_map_info",
    "bpf_perf_event_value",
    "bpf_pidns_info",
    "bpf_prog_info",
    "bpf_raw_tracepoint_args",
    "bpf_redir_neigh",
    "bpf_sk_lookup",
    "bpf_sock",
    "bpf_sock_addr",
    "bpf_sock_ops",
    "bpf_sock_tuple",
    "bpf_sockopt",
    "bpf_spin_lock",
    "bpf_stack_build_id",
    "bpf_sysctl",
    "bpf_tcp_sock",
    "bpf_timer",
    "bpf_tunnel_key",
    "bpf_xdp_sock",
    "bpf_xfrm_state",
    "btf_ptr",
    "sk_msg_md",
    "sk_reuseport_md",
    "tc_basic_pcnt",
    "tc_cnt",
    "tc_matchall_pcnt",
    "tc_police",
    "tc_rsvp_gpi",
    "tc_rsvp_pinfo",
    "tc_u32_key",
    "tc_u32_mark",
    "tc_u32_pcnt",
    "tc_u32_sel",
    "tcf_ematch_hdr",
    "tcf_ematch_tree_hdr",
    "tcf_t",
    "xdp_md",
];

/// Enums the UAPI headers of the eBPF C file declare.
const UAPI_ENUMS: &[&str] = &[
    "bpf_adj_room_mode",
    "bpf_attach_type",
    "bpf_cgroup_iter_order",
    "bpf_check_mtu_ret",
    "bpf_cmd",
    "bpf_core_relo_kind",
    "bpf_enum_value_kind",
    "bpf_field_info_kind",
    "bpf_func_id",
    "bpf_hdr_start_off",
    "bpf_link_type",
    "bpf_lwt_encap_mode",
    "bpf_map_type",
    "bpf_prog_type",
    "bpf_ret_code",
    "bpf_stack_build_id_status",
    "bpf_stats_type",
    "bpf_task_fd_type",
    "bpf_type_id_kind",
    "bpf_type_info_kind",
    "libbpf_pin_type",
    "libbpf_tristate",
    "sk_action",
    "tca_id",
    "xdp_action",
];

/// How a kernel struct of this name is read.
fn btf_origin(name: &str) -> ksc_ir::StructOrigin {
    if UAPI_STRUCTS.contains(&name) {
        // Declared by the UAPI headers; its layout is stable ABI.
        ksc_ir::StructOrigin::Uapi
    } else if ksc_ir::TraceStruct::try_from(name).is_ok() {
        // `trace_event_raw_*` and the `trace_entry` they start with.
        ksc_ir::StructOrigin::TracepointContext
    } else {
        ksc_ir::StructOrigin::Kernel
    }
}

/// Size in bytes of a BTF member type (for struct_ops data members).
pub(crate) fn btf_size(t: &crate::btf::BtfType) -> u32 {
    use crate::btf::BtfType as B;
    match t {
        B::Int { bits, .. } => bits / 8,
        B::Char | B::Bool => 1,
        B::Pointer(_) => 8,
        B::Array(e, n) => btf_size(e) * n,
        B::Enum { size, .. } => *size,
        B::Struct(l) => l.size,
        _ => 8,
    }
}
