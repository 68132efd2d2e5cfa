//! Throw analysis: which error codes may be thrown out of each function,
//! to a fixed point over the call graph. A throw that can leave an eBPF
//! program is an error (the verifier has no exceptions to end it); one that
//! can leave `main` a warning (the process ends with status 1).
//!
//! Takes the lowered functions; gives diagnostics and, per function, the
//! [`ir::Throws`] of the analysis record.

use ksc_frontend::diag::codes;
use std::collections::BTreeSet;

use ksc_frontend::Diagnostic;
use ksc_ir as ir;
use ksc_ir::{Callee, FnId, FnKind};

use super::{for_child_blocks, walk_stmt_exprs};
use crate::checker::Checker;

/// Error codes that may leave a function: known values, or unknown ones.
#[derive(Clone, Default, PartialEq)]
struct Throws {
    values: BTreeSet<i64>,
    unknown: bool,
    /// Where the first escaping throw or call is.
    site: Option<ir::Span>,
}

impl Throws {
    fn is_empty(&self) -> bool {
        self.values.is_empty() && !self.unknown
    }
}

/// Reports throws that escape a program or `main`; returns, per function,
/// what may be thrown out of it.
pub(super) fn throws(c: &mut Checker) -> Vec<ir::Throws> {
    let n = c.functions.len();
    let mut t: Vec<Throws> = vec![Throws::default(); n];
    // Iterate to a fixed point over the call graph.
    for _ in 0..n.max(1) + 1 {
        let mut changed = false;
        for i in 0..n {
            let mut out = Throws::default();
            escaping(&c.functions[i].body, &[], &t, &mut out);
            if out.values != t[i].values || out.unknown != t[i].unknown {
                changed = true;
            }
            t[i] = out;
        }
        if !changed {
            break;
        }
    }
    for (i, th) in t.iter().enumerate() {
        if th.is_empty() {
            continue;
        }
        let f = &c.functions[i];
        let what = if th.unknown {
            "an error".to_string()
        } else {
            format!(
                "error {}",
                th.values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let span = th.site.unwrap_or(c.name_spans[i]);
        if matches!(f.kind, FnKind::Program(_)) {
            c.diags.push(
                Diagnostic::error(codes::UNCAUGHT, span, format!("{what} may be thrown out of eBPF program `{}`", f.name))
                    .with_label("not caught")
                    .with_help("every throw must be caught inside an eBPF program: wrap it in `try { } catch N { }` or `catch _ { }`"),
            );
        } else if c.main == Some(FnId(i as u32))
            // Python's exceptions end the process with Python's own report
            // (docs/language.md, "Python imports"): no warning for them.
            && (th.unknown || th.values.iter().any(|v| *v != ir::PYTHON_ERROR))
        {
            c.diags.push(
                Diagnostic::warning(
                    codes::UNCAUGHT_USER,
                    span,
                    format!("{what} may be thrown out of `main`"),
                )
                .with_label("not caught")
                .with_note("an uncaught throw ends the process with a message and exit status 1"),
            );
        }
    }
    t.into_iter()
        .map(|th| ir::Throws {
            codes: th.values.into_iter().collect(),
            unknown: th.unknown,
        })
        .collect()
}

/// Add to `out` what escapes `b`, given the enclosing catches.
fn escaping(b: &ir::Block, catching: &[Option<Vec<Option<i64>>>], t: &[Throws], out: &mut Throws) {
    // `catching` holds, innermost last, the catch values of enclosing trys.
    let caught = |v: Option<i64>| {
        catching.iter().any(|cs| match cs {
            Some(list) => list.iter().any(|c| c.is_none() || (v.is_some() && *c == v)),
            None => false,
        })
    };
    for s in &b.stmts {
        match &s.kind {
            ir::StmtKind::Throw(e) => {
                let v = match &e.kind {
                    ir::ExprKind::Value(ir::Value::Int(n)) => Some(*n),
                    ir::ExprKind::Value(ir::Value::UInt(n)) => Some(*n as i64),
                    _ => None,
                };
                if !caught(v) {
                    match v {
                        Some(v) => out.values.insert(v),
                        None => {
                            out.unknown = true;
                            true
                        }
                    };
                    out.site.get_or_insert(s.span);
                }
            }
            ir::StmtKind::Try { body, catches } => {
                let mut inner = catching.to_vec();
                inner.push(Some(catches.iter().map(|c| c.value).collect()));
                escaping(body, &inner, t, out);
                for c in catches {
                    escaping(&c.body, catching, t, out);
                }
                continue;
            }
            _ => {}
        }
        walk_stmt_exprs(s, &mut |e| {
            // A Python call throws PYTHON_ERROR when Python raises.
            if let ir::ExprKind::Call {
                callee: Callee::Python { .. },
                ..
            } = &e.kind
            {
                if !caught(Some(ir::PYTHON_ERROR)) {
                    out.values.insert(ir::PYTHON_ERROR);
                    out.site.get_or_insert(e.span);
                }
            }
            if let ir::ExprKind::Call {
                callee: Callee::Function(g),
                ..
            } = &e.kind
            {
                let th = &t[g.index()];
                let mut escaped = false;
                for v in &th.values {
                    if !caught(Some(*v)) {
                        out.values.insert(*v);
                        escaped = true;
                    }
                }
                if th.unknown && !caught(None) {
                    out.unknown = true;
                    escaped = true;
                }
                if escaped {
                    out.site.get_or_insert(e.span);
                }
            }
        });
        for_child_blocks(s, &mut |b| escaping(b, catching, t, out));
    }
}
