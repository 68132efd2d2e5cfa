//! Facts of the analysis record that no rule needs but backends do.
//!
//! Takes the lowered functions; gives, per function-pointer signature, the
//! eBPF functions whose address is taken ([`ir::PointerTargets`]): a call
//! through a pointer in eBPF code can only reach those (eBPF has no
//! indirect calls, so backends dispatch over them).

use std::collections::BTreeSet;

use ksc_ir as ir;
use ksc_ir::{Domain, FnKind};

/// The eBPF functions (not programs) used as values anywhere, grouped by
/// signature; groups in order of their first function, targets in
/// [`ir::FnId`] order.
pub(super) fn fn_pointer_targets(functions: &[ir::Function]) -> Vec<ir::PointerTargets> {
    let mut taken = BTreeSet::new();
    for f in functions {
        f.body.walk_exprs(&mut |x| {
            if let ir::ExprKind::FnRef(id) = x.kind {
                taken.insert(id);
            }
        });
    }
    let mut out: Vec<ir::PointerTargets> = Vec::new();
    for id in taken {
        let f = &functions[id.index()];
        if f.domain != Domain::Ebpf || matches!(f.kind, FnKind::Program(_)) {
            continue;
        }
        let sig = ir::FnSig {
            params: f.locals[..f.params as usize].iter().map(|l| l.ty).collect(),
            ret: f.ret,
        };
        match out.iter_mut().find(|p| p.sig == sig) {
            Some(p) => p.targets.push(id),
            None => out.push(ir::PointerTargets {
                sig,
                targets: vec![id],
            }),
        }
    }
    out
}
