//! Maps in kernel-module code (docs/language.md, "Maps in kernel-module
//! code"): a map only `@kfunc`/`@private` functions use is the module's own
//! storage, which the kmod backend lowers to kernel data structures. The
//! module cannot reach the eBPF object's maps (the loader creates them in
//! the kernel after the module is in, and no kernel API hands a module a
//! map by name), so a map both sides use is an error at the module's use,
//! and so are the maps that only exist as BPF objects: ring buffers (their
//! reader is userspace) and pinned maps (shared through bpffs).

use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir as ir;
use ksc_ir::{Domain, MapKind};

use crate::checker::Checker;

pub(super) fn check(c: &mut Checker) {
    let uses = ir::map_uses(&c.functions, c.maps.len());
    for (map, u) in c.maps.iter().zip(&uses) {
        let Some(at) = u.module else {
            continue;
        };
        let name = &map.name;
        let d = if let Some((other, domain)) = u.other {
            let side = match domain {
                Domain::Userspace => "userspace code",
                _ => "eBPF code",
            };
            Diagnostic::error(codes::MAP_PLACE,
                at,
                format!("map `{name}` is used by kernel-module code (@kfunc/@private) and by {side}: the module cannot reach the eBPF program's maps"),
            )
            .with_secondary(other, format!("{side} uses it here"))
            .with_note("a map only @kfunc/@private functions use is the module's own storage; one shared with eBPF or userspace code would be a BPF map, which lives in the eBPF object the loader creates")
            .with_help("pass the value the module needs to the @kfunc as an argument (and return what eBPF code needs), or keep the map to one side")
        } else if map.kind == MapKind::Ringbuf {
            Diagnostic::error(codes::RINGBUF,
                at,
                format!("ring buffer `{name}` cannot be used in kernel-module code (@kfunc/@private): a ring buffer carries events from eBPF code to userspace"),
            )
            .with_help("return the event's data from the @kfunc and submit it from the eBPF program")
        } else if map.pinned {
            Diagnostic::error(codes::MAP_PLACE,
                at,
                format!("pinned map `{name}` cannot be kernel-module storage: a pinned map is a BPF map, shared through bpffs"),
            )
            .with_secondary(map.span, "pinned here")
            .with_help("drop `pin` to make it the module's own storage, or use it from eBPF code and pass values to the @kfunc")
        } else {
            continue;
        };
        c.diags
            .push(d.with_label("kernel-module code uses it here"));
    }
}
