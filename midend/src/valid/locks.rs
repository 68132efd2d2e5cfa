//! Spin locks (docs/language.md, "Spin locks"): what the verifier refuses
//! while a `bpf_spin_lock` is held, found where it is written. After
//! `bpf_spin_lock(...)`, up to the `bpf_spin_unlock(...)` that follows it
//! in the same block (or to the end of the block when a `defer` releases
//! it):
//!
//! * no BPF helper, map operation, ring-buffer operation, `print`
//!   or tail call (the verifier: "function calls are not allowed while
//!   holding a lock");
//! * without a `defer`, no `return` or `throw`, and the lock is released
//!   before the block ends ("bpf_spin_unlock is missing").
//!
//! The check is lexical: kfunc calls (the list and rbtree kfuncs need the
//! lock held), calls of `@helper` functions (inlined, or bpf-to-
//! bpf calls when called from several places) and a lock taken in one
//! block and released in another are left to the verifier.

use ksc_frontend::diag::codes;
use ksc_frontend::{Diagnostic, Span};
use ksc_ir as ir;
use ksc_ir::{Callee, Domain, ExprKind, HelperFlags, StmtKind};

use crate::checker::Checker;

pub(super) fn check(c: &mut Checker) {
    let mut diags = Vec::new();
    for f in &c.functions {
        if f.domain == Domain::Ebpf {
            block(&f.body, &mut diags);
        }
    }
    c.diags.extend(diags);
}

/// The helper `h`'s table entry has `flag` (`ir::HELPERS`: taking or
/// releasing the lock is data there, not a name to compare).
fn has_flag(h: ir::HelperId, flag: HelperFlags) -> bool {
    ir::helper(h).is_some_and(|h| h.flags.has(flag))
}

/// `stmt` is a call, as a statement, of a helper with `flag`.
fn helper_stmt(s: &ir::Stmt, flag: HelperFlags) -> bool {
    let StmtKind::Expr(e) = &s.kind else {
        return false;
    };
    matches!(&e.kind, ExprKind::Call { callee: Callee::BpfHelper(h), .. } if has_flag(*h, flag))
}

fn block(b: &ir::Block, diags: &mut Vec<Diagnostic>) {
    // The lock held (where it was taken) and whether a `defer` releases it.
    let mut held: Option<(Span, bool)> = None;
    for s in &b.stmts {
        match held {
            None if helper_stmt(s, HelperFlags::TAKES_LOCK) => held = Some((s.span, false)),
            None => s.for_each_block(|b| block(b, diags)),
            Some((at, deferred)) => {
                if helper_stmt(s, HelperFlags::RELEASES_LOCK) && !deferred {
                    held = None;
                    continue;
                }
                if let StmtKind::Defer(body) = &s.kind {
                    if body
                        .stmts
                        .iter()
                        .any(|s| helper_stmt(s, HelperFlags::RELEASES_LOCK))
                    {
                        held = Some((at, true));
                        continue;
                    }
                }
                locked(s, at, deferred, diags);
            }
        }
    }
    if let Some((at, false)) = held {
        diags.push(
            Diagnostic::error(codes::NOT_RELEASED, at, "this `bpf_spin_lock` is not released in its block")
                .with_label("taken here")
                .with_help("release it on every way out: `defer bpf_spin_unlock(&v.lock)` right after taking it"),
        );
    }
}

/// A statement run while the lock taken at `at` is held.
fn locked(s: &ir::Stmt, at: Span, deferred: bool, diags: &mut Vec<Diagnostic>) {
    let bad = |diags: &mut Vec<Diagnostic>, span: Span, what: &str| {
        diags.push(
            Diagnostic::error(codes::LOCK, span, format!("{what} while a `bpf_spin_lock` is held"))
                .with_label("the verifier refuses this under the lock")
                .with_secondary(at, "the lock is taken here")
                .with_help("do it before taking the lock or after releasing it; keep critical sections to reads and writes of the map value"),
        );
    };
    match &s.kind {
        StmtKind::MapUpdate { .. } | StmtKind::MapCompound { .. } | StmtKind::MapDelete { .. } => {
            bad(diags, s.span, "a map operation")
        }
        StmtKind::TailCall { .. } => bad(diags, s.span, "a tail call"),
        StmtKind::Return(_) | StmtKind::Throw(_) if !deferred => {
            diags.push(
                Diagnostic::error(codes::LOCK, s.span, "leaving the function while a `bpf_spin_lock` is held")
                    .with_label("the lock is still held here")
                    .with_secondary(at, "the lock is taken here")
                    .with_help("release it on every way out: `defer bpf_spin_unlock(&v.lock)` right after taking it"),
            );
        }
        _ => {}
    }
    s.for_each_expr(|e| {
        e.walk(&mut |x: &ir::Expr| {
            let what = match &x.kind {
                ExprKind::Call {
                    callee: Callee::BpfHelper(h),
                    ..
                } if !has_flag(*h, HelperFlags::RELEASES_LOCK) => {
                    Some(format!("a call of the BPF helper `{}`", h.name()))
                }
                ExprKind::MapLookup { .. } | ExprKind::MapRead { .. } => {
                    Some("a map lookup".to_string())
                }
                ExprKind::RingbufReserve { .. }
                | ExprKind::RingbufSubmit { .. }
                | ExprKind::RingbufOutput { .. } => Some("a ring-buffer operation".to_string()),
                ExprKind::Print { .. } => Some("`print`".to_string()),
                ExprKind::ObjNew { .. } | ExprKind::ObjDelete(_) => {
                    Some("`new`/`delete` (a kfunc call)".to_string())
                }
                _ => None,
            };
            if let Some(w) = what {
                bad(diags, x.span, &w);
            }
        })
    });
    s.for_each_block(|b| {
        for s in &b.stmts {
            // Released on this branch: what follows is not under the lock.
            if helper_stmt(s, HelperFlags::RELEASES_LOCK) {
                break;
            }
            locked(s, at, deferred, diags);
        }
    });
}
