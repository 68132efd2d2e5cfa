//! Userspace access to maps created read-only or write-only for the
//! system-call side (docs/language.md, "Headers, kernel structs and
//! enums"): `@flags(rdonly)` (BPF_F_RDONLY) makes the kernel refuse
//! updates and deletes from userspace, `@flags(wronly)` (BPF_F_WRONLY)
//! lookups and iteration. Both fail at run time with EPERM; ksc reports
//! them where userspace code does it. eBPF code is not affected (that is
//! `rdonly_prog`/`wronly_prog`).

use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir as ir;
use ksc_ir::{Domain, ExprKind, StmtKind};

use crate::checker::Checker;

const RDONLY: u32 = 1 << 3;
const WRONLY: u32 = 1 << 4;

pub(super) fn check(c: &mut Checker) {
    if !c
        .maps
        .iter()
        .any(|m| m.flags_value & (RDONLY | WRONLY) != 0)
    {
        return;
    }
    let mut found: Vec<(ir::MapId, ir::Span, bool)> = Vec::new();
    for f in c.functions.iter().filter(|f| f.domain == Domain::Userspace) {
        walk(&f.body, &mut found);
    }
    for (m, span, write) in found {
        let map = &c.maps[m.index()];
        let (flag, spelled, what) = if write {
            (
                RDONLY,
                "rdonly",
                "read-only for userspace: the kernel refuses this write",
            )
        } else {
            (
                WRONLY,
                "wronly",
                "write-only for userspace: the kernel refuses this read",
            )
        };
        if map.flags_value & flag == 0 {
            continue;
        }
        let d = Diagnostic::error(codes::MAP_USE, span, format!("map `{}` is {what}", map.name))
            .with_label(if write { "written here" } else { "read here" })
            .with_secondary(map.span, format!("declared with `{spelled}` (BPF_F_{})", spelled.to_uppercase()))
            .with_help(if write {
                "write it from eBPF code only, or drop `rdonly` (`rdonly_prog` makes it read-only for eBPF code instead)"
            } else {
                "read it from eBPF code only, or drop `wronly` (`wronly_prog` makes it write-only for eBPF code instead)"
            });
        c.diags.push(d);
    }
}

/// Map accesses in `b`: (map, where, whether it writes). A compound
/// update both reads and writes.
fn walk(b: &ir::Block, out: &mut Vec<(ir::MapId, ir::Span, bool)>) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::MapUpdate { map, .. } | StmtKind::MapDelete { map, .. } => {
                out.push((*map, s.span, true))
            }
            StmtKind::MapCompound { map, .. } => {
                out.push((*map, s.span, true));
                out.push((*map, s.span, false));
            }
            StmtKind::ForEach { map, .. } => out.push((*map, s.span, false)),
            _ => {}
        }
        s.for_each_expr(|e| {
            e.walk(&mut |x| {
                if let ExprKind::MapLookup { map, .. } | ExprKind::MapRead { map, .. } = &x.kind {
                    out.push((*map, x.span, false));
                }
            })
        });
        s.for_each_block(|b| walk(b, out));
    }
}
