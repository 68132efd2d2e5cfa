//! The tracepoint template of `ksc init`: the event's context struct
//! (`trace_event_raw_*` in BTF), checked against tracefs when mounted.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ksc_midend::btf::{Btf, BtfType};

use super::btf_types::c_type;
use super::programs::fill;
use super::{closest, fail, suggestions, Fail};

/// Where tracefs shows the kernel's events, if mounted.
fn tracefs_events() -> Option<PathBuf> {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
}

/// The field names of an event's format file (without the common ones).
fn tracefs_fields(events: &Path, category: &str, event: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(events.join(category).join(event).join("format")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("field:"))
            .filter_map(|f| f.split(';').next())
            .map(|decl| {
                let decl = decl.split('[').next().unwrap_or(decl);
                decl.rsplit(' ').next().unwrap_or(decl).to_string()
            })
            .filter(|n| !n.starts_with("common_"))
            .collect(),
    )
}

/// The context struct of a tracepoint, `trace_event_raw_<event>` or, for
/// events sharing a class (`sched_wakeup_new`), the class's struct.
fn tracepoint_context(category: &str, event: &str, btf: &Btf, host: bool) -> Result<String, Fail> {
    if category == "syscalls" {
        let (ctx, sys) = if let Some(s) = event.strip_prefix("sys_enter_") {
            ("trace_event_raw_sys_enter", s)
        } else if let Some(s) = event.strip_prefix("sys_exit_") {
            ("trace_event_raw_sys_exit", s)
        } else {
            return fail(
                format!("unknown syscall event `{event}`"),
                Some("syscall events are `sys_enter_<name>` and `sys_exit_<name>`, e.g. `syscalls/sys_enter_openat`".into()),
            );
        };
        // Syscalls are the kernel's `__<arch>_sys_<name>` functions.
        let prefixes = ["__x64_sys_", "__arm64_sys_", "__riscv_sys_", "__s390x_sys_"];
        let syscalls: Vec<&str> = btf
            .func_names()
            .filter_map(|f| prefixes.iter().find_map(|p| f.strip_prefix(p)))
            .collect();
        if !syscalls.is_empty() && !syscalls.contains(&sys) {
            let near = closest(sys, syscalls.iter().copied(), 3);
            let dir = &event[..event.len() - sys.len()];
            let near: Vec<String> = near.iter().map(|n| format!("syscalls/{dir}{n}")).collect();
            return fail(
                format!("this kernel has no system call `{sys}` (event `syscalls/{event}`)"),
                suggestions(
                    "system calls",
                    &near,
                    "see /sys/kernel/tracing/events/syscalls",
                ),
            );
        }
        return Ok(ctx.into());
    }
    // Every tracepoint has a `btf_trace_<event>` typedef (its raw form).
    let events: Vec<String> = btf
        .typedefs_with_prefix("btf_trace_")
        .into_iter()
        .map(|t| t["btf_trace_".len()..].to_string())
        .collect();
    let tracefs = if host { tracefs_events() } else { None };
    if !events.iter().any(|e| e == event) {
        let near = closest(event, events.iter().map(String::as_str), 3);
        let near: Vec<String> = near
            .into_iter()
            .map(|n| match &tracefs {
                Some(t) => find_category(t, &n).map_or(n.clone(), |c| format!("{c}/{n}")),
                None => n,
            })
            .collect();
        return fail(
            format!("this kernel has no tracepoint `{category}/{event}`"),
            suggestions(
                "events",
                &near,
                "the events are listed under /sys/kernel/tracing/events",
            ),
        );
    }
    if let Some(t) = &tracefs {
        if !t.join(category).join(event).is_dir() {
            let help = match find_category(t, event) {
                Some(c) => format!("`{event}` is in category `{c}`: `tracepoint/{c}/{event}`"),
                None => format!("see {}", t.display()),
            };
            return fail(
                format!("this kernel has no tracepoint `{category}/{event}`"),
                Some(help),
            );
        }
    }
    let direct = format!("trace_event_raw_{event}");
    if btf.has_struct(&direct) {
        return Ok(direct);
    }
    // Events of a class share its struct: match tracefs's field names, or
    // else take the longest class name the event starts with.
    let raws: Vec<&str> = btf
        .struct_names()
        .filter(|n| n.starts_with("trace_event_raw_"))
        .collect();
    if let Some(fields) = tracefs
        .as_ref()
        .and_then(|t| tracefs_fields(t, category, event))
    {
        let mut matching: Vec<&str> = raws
            .iter()
            .copied()
            .filter(|r| {
                btf.find_struct(r).is_some_and(|l| {
                    let names: Vec<&str> = l
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .filter(|n| *n != "ent" && *n != "__data")
                        .map(|n| n.strip_prefix("__data_loc_").unwrap_or(n))
                        .collect();
                    names == fields.iter().map(String::as_str).collect::<Vec<_>>()
                })
            })
            .collect();
        matching.sort_by_key(|r| std::cmp::Reverse(common_prefix(r, event)));
        if let Some(r) = matching.first() {
            return Ok(r.to_string());
        }
    }
    let class = raws
        .iter()
        .filter(|r| {
            let class = &r["trace_event_raw_".len()..];
            let base = class
                .strip_suffix("_template")
                .or_else(|| class.strip_suffix("_class"))
                .unwrap_or(class);
            event.starts_with(base)
        })
        .max_by_key(|r| r.len());
    match class {
        Some(c) => Ok(c.to_string()),
        None => fail(
            format!("cannot tell the context struct of `{category}/{event}` from BTF (no `trace_event_raw_{event}`)"),
            Some("this event belongs to a class; name its `trace_event_raw_<class>` in the program".into()),
        ),
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    let a = a.trim_start_matches("trace_event_raw_");
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn find_category(events: &Path, event: &str) -> Option<String> {
    std::fs::read_dir(events).ok()?.flatten().find_map(|d| {
        d.path()
            .join(event)
            .is_dir()
            .then(|| d.file_name().to_string_lossy().into_owned())
    })
}

pub(super) fn tracepoint_template(
    ident: &str,
    category: &str,
    event: &str,
    btf: &Btf,
    host: bool,
) -> Result<String, Fail> {
    let ctx = tracepoint_context(category, event, btf, host)?;
    let Some(layout) = btf.find_struct(&ctx) else {
        return fail(format!("`{ctx}` is not in the BTF"), None);
    };
    let mut fields = String::new();
    let mut sample = None;
    for f in &layout.fields {
        if f.name.is_empty() || f.name == "ent" || f.name == "__data" {
            continue;
        }
        let _ = writeln!(fields, "//   {}: {}", f.name, c_type(&f.ty));
        if sample.is_none() && f.bitfield_size == 0 && !f.name.starts_with("__data_loc") {
            if let BtfType::Int { bits, .. } = f.ty {
                if bits <= 64 {
                    sample = Some(f.name.clone());
                }
            }
        }
    }
    let (decl, body) = match &sample {
        Some(s) => (
            format!("var last_{s} : array<u32, u64>(1)\n"),
            format!("    last_{s}[0] = ctx->{s} as u64\n"),
        ),
        None => (String::new(), String::new()),
    };
    let report = match &sample {
        Some(s) => format!("    print(\"%d events, last {s}: %d\", events[0], last_{s}[0])\n"),
        None => "    print(\"%d events\", events[0])\n".into(),
    };
    Ok(fill(
        include_str!("templates/tracepoint.ks"),
        &[
            ("ident", ident),
            ("category", category),
            ("event", event),
            ("ctx", ctx.as_str()),
            ("fields", fields.as_str()),
            ("decl", decl.as_str()),
            ("body", body.as_str()),
            ("report", report.as_str()),
        ],
    ))
}
