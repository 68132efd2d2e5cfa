//! Each program kind's text for `ksc init`: a template from `templates/`
//! filled in, with what BTF gives (a probed function's parameters, a
//! struct_ops type's members).

use std::fmt::Write as _;

use ksc_midend::btf::{Btf, BtfType};

use super::btf_types::{c_proto, c_type, ks_type, param_names, params};
use super::tracepoint::tracepoint_template;
use super::{closest, fail, suggestions, Fail, Kind, MAX_PROBE_PARAMS};

pub(super) fn template(kind: &Kind, ident: &str, btf: &Btf, host: bool) -> Result<String, Fail> {
    match kind {
        Kind::Xdp => Ok(xdp_template(ident)),
        Kind::Tc => Ok(tc_template(ident)),
        Kind::Tracepoint { category, event } => {
            tracepoint_template(ident, category, event, btf, host)
        }
        Kind::Probe { function } => probe_template(ident, function, btf),
        Kind::StructOps { ops } => struct_ops_template(ident, ops, btf),
        Kind::PerfEvent => Ok(perf_event_template(ident)),
    }
}

/// A template (`init/templates/*.ks`) with each `${name}` replaced by its
/// value. The templates are KernelScript files so they read (and diff) as
/// the programs they become; `ksc/tests/init.rs` checks every kind's.
pub(super) fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    debug_assert!(!out.contains("${"), "unfilled placeholder in:\n{out}");
    out
}

fn perf_event_template(ident: &str) -> String {
    fill(include_str!("templates/perf_event.ks"), &[("ident", ident)])
}

fn xdp_template(ident: &str) -> String {
    fill(include_str!("templates/xdp.ks"), &[("ident", ident)])
}

fn tc_template(ident: &str) -> String {
    fill(include_str!("templates/tc.ks"), &[("ident", ident)])
}

fn probe_template(ident: &str, function: &str, btf: &Btf) -> Result<String, Fail> {
    let Some((kparams, ret)) = btf.find_func(function) else {
        let near = closest(function, btf.func_names(), 3);
        return fail(
            format!("this kernel has no function `{function}` in its BTF"),
            suggestions("kernel functions", &near, "the kernel's functions are listed by `bpftool btf dump file /sys/kernel/btf/vmlinux | grep FUNC`"),
        );
    };
    let kparams: Vec<(String, BtfType)> = kparams.into_iter().filter(|p| p.0 != "...").collect();
    // The probe takes the kernel's parameters in order, as far as they
    // have a KernelScript type (at most 6: the argument registers).
    let mut ps = Vec::new();
    let mut note = String::new();
    let names = param_names(&kparams);
    for (i, (n, t)) in kparams.iter().enumerate().take(MAX_PROBE_PARAMS) {
        match ks_type(t) {
            Some(k) => ps.push((names[i].clone(), k)),
            None => {
                let _ = writeln!(
                    note,
                    "// Parameter `{n}` ({}) and those after it have no KernelScript type; the probe takes the ones before it.",
                    c_type(t)
                );
                break;
            }
        }
    }
    let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    let count_arg = ps
        .iter()
        .find(|(_, t)| t.starts_with('u') || t.starts_with('i'))
        .map(|(n, _)| n.clone());
    let (decl, body, report) = match &count_arg {
        Some(a) => (
            format!("var sum_{a} : array<u32, u64>(1)\n"),
            format!("    sum_{a}[0] += {a} as u64\n"),
            format!("    print(\"%d calls, {a} summed: %d\", calls[0], sum_{a}[0])\n"),
        ),
        None => (
            String::new(),
            String::new(),
            "    print(\"%d calls\", calls[0])\n".into(),
        ),
    };
    Ok(fill(
        include_str!("templates/probe.ks"),
        &[
            ("ident", ident),
            ("function", function),
            ("proto", c_proto(function, &kparams, &ret).as_str()),
            ("note", note.as_str()),
            ("decl", decl.as_str()),
            ("sig", sig.join(", ").as_str()),
            ("body", body.as_str()),
            ("report", report.as_str()),
        ],
    ))
}

/// The struct_ops types of a BTF: the kernel wraps each registered one in
/// `struct bpf_struct_ops_<type>`.
fn struct_ops_types(btf: &Btf) -> Vec<String> {
    let mut v: Vec<String> = btf
        .struct_names()
        .filter_map(|n| n.strip_prefix("bpf_struct_ops_"))
        .filter(|t| t.ends_with("_ops") && btf.has_struct(t))
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn struct_ops_template(ident: &str, ops: &str, btf: &Btf) -> Result<String, Fail> {
    let types = struct_ops_types(btf);
    let layout = match btf.find_struct(ops) {
        Some(l) if types.iter().any(|t| t == ops) => l,
        _ => {
            let near = closest(ops, types.iter().map(String::as_str), 3);
            let list = format!("this kernel's struct_ops types: {}", types.join(", "));
            let help = match near.as_slice() {
                [] => list,
                _ => format!(
                    "{} ({list})",
                    suggestions("", &near, "").unwrap_or_default()
                ),
            };
            return fail(
                format!("`{ops}` is not a struct_ops type of this kernel"),
                Some(help),
            );
        }
    };
    let mut members = String::new();
    let mut data = String::new();
    let mut skipped = String::new();
    let mut name_field = String::new();
    for f in &layout.fields {
        if let (Some(why), BtfType::Pointer(_)) = (unsupported_member(ops, &f.name), &f.ty) {
            let _ = writeln!(skipped, "//   {} ({why})", f.name);
            continue;
        }
        // A name longer than the kernel's `name` field holds is cut: set
        // one that fits.
        if let ("name", BtfType::Array(_, n)) = (f.name.as_str(), &f.ty) {
            if ident.len() >= *n as usize && *n > 1 {
                name_field = format!("    name: \"{}\",\n\n", &ident[..*n as usize - 1]);
            }
        }
        let BtfType::Pointer(p) = &f.ty else {
            if !f.name.is_empty() {
                let _ = writeln!(data, "//   {}: {}", f.name, c_type(&f.ty));
            }
            continue;
        };
        let BtfType::FuncProto { params: kp, ret } = &**p else {
            let _ = writeln!(data, "//   {}: {}", f.name, c_type(&f.ty));
            continue;
        };
        let (ps, ret_ks) = match (params(kp), ret.as_ref()) {
            (Ok(ps), BtfType::Void) => (ps, None),
            (Ok(ps), r) => match ks_type(r) {
                Some(k) => (ps, Some(k)),
                None => {
                    let _ = writeln!(
                        skipped,
                        "//   {} (no KernelScript type)",
                        c_proto(&f.name, kp, ret)
                    );
                    continue;
                }
            },
            (Err(_), _) => {
                let _ = writeln!(
                    skipped,
                    "//   {} (no KernelScript type)",
                    c_proto(&f.name, kp, ret)
                );
                continue;
            }
        };
        let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let (arrow, body) = match &ret_ks {
            None => (" -> void".to_string(), String::new()),
            Some(t) if t.starts_with('*') => (format!(" -> {t}"), "        return null\n".into()),
            Some(t) if t == "bool" => (format!(" -> {t}"), "        return false\n".into()),
            Some(t) => (format!(" -> {t}"), "        return 0\n".into()),
        };
        let _ = write!(
            members,
            "    // {}\n    fn {}({}){arrow} {{\n        calls[0] += 1\n{body}    }}\n\n",
            c_proto(&f.name, kp, ret),
            f.name,
            sig.join(", ")
        );
    }
    let members = members.trim_end().to_string();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("//\n// Members left out:\n{skipped}")
    };
    Ok(fill(
        include_str!("templates/struct_ops.ks"),
        &[
            ("ident", ident),
            ("ops", ops),
            ("data", data.as_str()),
            ("skipped", skipped.as_str()),
            ("name_field", name_field.as_str()),
            ("members", members.as_str()),
        ],
    ))
}

/// Members the kernel refuses to a BPF implementation (it says "attach to
/// unsupported member"); BTF does not tell them apart.
fn unsupported_member(ops: &str, member: &str) -> Option<&'static str> {
    match (ops, member) {
        ("tcp_congestion_ops", "get_info") => Some("the kernel refuses BPF for it"),
        _ => None,
    }
}
