//! BPF helpers by program type: a helper called from code a program runs
//! (its body, or a `@helper` it calls) must be one that program type's
//! verifier offers (`ksc_ir::Helper::programs`).

use ksc_frontend::diag::codes;
use std::collections::HashSet;

use ksc_ir as ir;
use ksc_ir::{Callee, FnKind, ProgramTypes};

use super::{for_child_blocks, walk_stmt_exprs, Edge, ProgramGraph};
use crate::checker::Checker;

/// Calls of BPF helpers in a block: (helper, span). A helper re-declared
/// with `extern` is the same helper (docs/language.md, BPF helpers).
fn helper_calls(fns: &[ir::Function], b: &ir::Block, out: &mut Vec<(ir::HelperId, ir::Span)>) {
    for s in &b.stmts {
        walk_stmt_exprs(s, &mut |e| match &e.kind {
            ir::ExprKind::Call {
                callee: Callee::BpfHelper(h),
                ..
            } => out.push((*h, e.span)),
            ir::ExprKind::Call {
                callee: Callee::Function(f),
                ..
            } => {
                if let Some(FnKind::Extern { helper: Some(h) }) =
                    fns.get(f.index()).map(|x| &x.kind)
                {
                    out.push((*h, e.span));
                }
            }
            _ => {}
        });
        for_child_blocks(s, &mut |b| helper_calls(fns, b, out));
    }
}

pub(super) fn program_types(c: &mut Checker, pg: &ProgramGraph) {
    // One error per call site and program type.
    let mut seen: HashSet<(u32, u32, ProgramTypes)> = HashSet::new();
    for p in 0..c.functions.len() {
        let FnKind::Program(pt) = c.functions[p].kind.clone() else {
            continue;
        };
        let this = ProgramTypes::of(&pt);
        // The program and every function it reaches through calls.
        let mut reached = vec![p as u32];
        let mut i = 0;
        while i < reached.len() {
            let f = reached[i];
            i += 1;
            for (_, g, e) in pg.graph.edges(f) {
                if *e == Edge::Call && !reached.contains(&g) {
                    reached.push(g);
                }
            }
        }
        let prog_span = c.functions[p].span;
        let attr = c.functions[p].kind.attribute();
        for f in reached {
            let mut calls = Vec::new();
            helper_calls(&c.functions, &c.functions[f as usize].body, &mut calls);
            for (h, span) in calls {
                let Some(helper) = ir::helper(h) else {
                    continue;
                };
                if helper.programs.allows(&pt) || !seen.insert((span.start, span.end, this)) {
                    continue;
                }
                let d = c.error(
                    codes::WRONG_SIDE,
                    span,
                    format!("`{}` cannot be called from a `{attr}` program", helper.name),
                );
                d.label = format!("not available to {attr} programs");
                d.help = Some(format!(
                    "the verifier offers `{}` to {} programs only (Linux 6.1 to 6.12; some newer kernels offer more)",
                    helper.name,
                    helper.programs.attributes().join(", ")
                ));
                if f as usize != p {
                    d.secondary
                        .push((prog_span, "in code this program runs".into()));
                }
            }
        }
    }
}
