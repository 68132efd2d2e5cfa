//! `ksc init --kfuncs`: the `.kh` of `extern` declarations of the kfuncs
//! the BTF offers a program kind, by kfunc family.

use std::fmt::Write as _;

use ksc_midend::btf::{Btf, BtfType};

use super::btf_types::{c_proto, ks_type, params};
use super::Kind;

/// Kfunc families, by name (see docs/language.md, `ksc init --kfuncs`).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Family {
    Generic,
    Xdp,
    Skb,
    Conntrack,
    Crypto,
    Tracing,
    TcpCongestion,
    SchedExt,
    /// The kernel's self-tests: never offered.
    Test,
}

/// The family of a kfunc, from its name: BTF records that a function is a
/// kfunc, not for which program types (that is in the kernel's kfunc sets,
/// outside the BTF).
fn family(name: &str) -> Family {
    use Family::*;
    let has = |s: &str| name.contains(s);
    let starts = |ps: &[&str]| ps.iter().any(|p| name.starts_with(p));
    if starts(&[
        "__bpf_trap",
        "bpf_fentry_test",
        "bpf_modify_return_test",
        "bpf_kfunc_call_",
    ]) {
        Test
    } else if has("xdp") {
        Xdp
    } else if has("skb") || starts(&["bpf_sk_", "bpf_sock_"]) {
        Skb
    } else if starts(&["bpf_ct_"]) {
        Conntrack
    } else if starts(&["bpf_crypto_"]) {
        Crypto
    } else if starts(&["tcp_", "cubictcp_", "bbr_", "dctcp_"]) {
        TcpCongestion
    } else if starts(&["scx_"]) {
        SchedExt
    } else if starts(&[
        "bpf_task_",
        "bpf_iter_task",
        "bpf_iter_css",
        "bpf_cgroup_",
        "css_",
        "bpf_get_file_xattr",
        "bpf_get_dentry_xattr",
        "bpf_set_dentry_xattr",
        "bpf_remove_dentry_xattr",
        "bpf_path_",
        "bpf_put_file",
        "bpf_get_task_exe_file",
        "bpf_copy_from_user",
        "bpf_probe_read_",
        "bpf_send_signal_task",
        "bpf_iter_kmem_cache",
        "bpf_get_kmem_cache",
        "bpf_iter_dmabuf",
        "bpf_lookup_",
        "bpf_key_put",
        "bpf_session_",
        "bpf_verify_pkcs7",
    ]) {
        Tracing
    } else {
        Generic
    }
}

/// The `.kh` of `extern` declarations for the kfuncs of `kind`.
pub(super) fn kfuncs_header(kind: &Kind, btf: &Btf, btf_name: &str) -> String {
    let families = kind.kfunc_families();
    let all = btf.kfuncs();
    let mut out = format!(
        "// Kernel functions (kfuncs) for {} programs, from the BTF of {btf_name}\n\
         // (made by `ksc init --kfuncs`). Kfuncs are the functions BTF tags\n\
         // `bpf_kfunc`; BTF does not say which program types may call each, so\n\
         // they are chosen by family (docs/language.md, `ksc init --kfuncs`):\n\
         // the verifier has the last word when the program loads.\n\
         // Pointers to kernel structs are `*u8`.\n\n",
        kind.short()
    );
    let mut skipped = Vec::new();
    let mut n = 0;
    for name in &all {
        if !families.contains(&family(name)) {
            continue;
        }
        let Some((kp, ret)) = btf.find_func(name) else {
            continue;
        };
        let variadic = kp.iter().any(|p| p.0 == "...");
        let ps = params(&kp);
        let ret_ks = match ret {
            BtfType::Void => Some(None),
            ref r => ks_type(r).map(Some),
        };
        match (ps, ret_ks, variadic) {
            (Ok(ps), Some(ret_ks), false) => {
                let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                let arrow = ret_ks.map(|r| format!(" -> {r}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "// {}\nextern {name}({}){arrow}\n",
                    c_proto(name, &kp, &ret),
                    sig.join(", ")
                );
                n += 1;
            }
            _ => skipped.push(c_proto(name, &kp, &ret)),
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "// Left out (a parameter or result KernelScript cannot type):"
        );
        for s in skipped {
            let _ = writeln!(out, "//   {s}");
        }
    }
    let _ = writeln!(out, "// {n} kfuncs of {} in this BTF.", all.len());
    out
}
