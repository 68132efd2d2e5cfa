//! The eBPF stack the C backend's temporaries take in one function: the
//! copies it makes of map keys and values (the helpers take their
//! addresses, so these stay in memory), of ring-buffer records, and of
//! `str(N)` conversions and concatenations whose result is not written
//! straight into a local. Copies clang folds away (a concatenation's
//! parts, `m[k]` read as a value, an aggregate literal passed or returned
//! by value) are not counted: the estimate must not refuse what clang and
//! the verifier accept. Each statement's temporaries
//! live in a block of their own, so clang reuses their slots from one
//! statement to the next: a function needs the largest statement's.
//!
//! Keys and values passed in place (a local of the type, or `*p` whose
//! pointee the helper copies) take none: `ir::Function::map_arg` decides
//! for the backends and for this estimate alike.

use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::{ExprKind, MapArg, MapKind, StmtKind, TypeId, TypeKind};

use crate::checker::Checker;

/// The bytes of the largest statement's temporaries in `f`, and where
/// that statement is (`None` when it makes none).
pub(super) fn temporaries(c: &Checker, f: &ir::Function) -> (u32, Option<Span>) {
    let mut best = (0, None);
    walk(c, f, &f.body, &mut best);
    best
}

fn walk(c: &Checker, f: &ir::Function, b: &ir::Block, best: &mut (u32, Option<Span>)) {
    for s in &b.stmts {
        let n = stmt(c, f, s);
        if n > best.0 {
            *best = (n, Some(s.span));
        }
        s.for_each_block(|b| walk(c, f, b, best));
    }
}

/// A temporary of type `t`, as the stack holds it (8-byte slots).
fn slot(c: &Checker, t: TypeId) -> u32 {
    c.types.size(t).div_ceil(8) * 8
}

fn aggregate(c: &Checker, t: TypeId) -> bool {
    matches!(c.types.kind(t), TypeKind::Struct(_) | TypeKind::Array(..))
}

/// A map call's key or value argument: a temporary unless passed in place.
fn map_arg(c: &Checker, f: &ir::Function, t: TypeId, e: &ir::Expr) -> u32 {
    match f.map_arg(t, e, |t| aggregate(c, t)) {
        MapArg::Temp => slot(c, t),
        MapArg::Local(_) | MapArg::Pointee(_) => 0,
    }
}

fn stmt(c: &Checker, f: &ir::Function, s: &ir::Stmt) -> u32 {
    let map = |m: &ir::MapId| &c.maps[m.index()];
    let mut n = 0;
    // Aggregate values the statement itself copies into a temporary.
    let mut skip: Option<&ir::Expr> = None;
    match &s.kind {
        StmtKind::MapUpdate { map: m, key, value } => {
            n += map_arg(c, f, map(m).key, key) + map_arg(c, f, map(m).value, value);
            skip = Some(value);
        }
        StmtKind::MapCompound { map: m, key, .. } => {
            n += map_arg(c, f, map(m).key, key);
            // A hash entry that is absent is made from a zeroed value.
            if !matches!(map(m).kind, MapKind::Array | MapKind::PercpuArray) {
                n += slot(c, map(m).value);
            }
        }
        StmtKind::MapDelete { map: m, key } => n += map_arg(c, f, map(m).key, key),
        // A local's initialiser is written into the local itself.
        StmtKind::Let { init: Some(e), .. } => skip = Some(e),
        _ => {}
    }
    let mut filled = Vec::new();
    if let Some(e) = skip {
        in_place(c, e, &mut filled);
    }
    s.for_each_expr(|e| {
        e.walk(&mut |x: &ir::Expr| {
            n += expr(c, f, x, filled.iter().any(|p| std::ptr::eq(*p, x)));
        })
    });
    n
}

/// The literals written field by field into their target (the backend's
/// `fill`): a struct literal's aggregate fields, down.
fn in_place<'e>(c: &Checker, e: &'e ir::Expr, out: &mut Vec<&'e ir::Expr>) {
    out.push(e);
    if let ExprKind::StructLit(fields) = &e.kind {
        for fi in fields {
            if aggregate(c, fi.value.ty) {
                in_place(c, &fi.value, out);
            }
        }
    }
}

fn expr(c: &Checker, f: &ir::Function, e: &ir::Expr, in_place: bool) -> u32 {
    let str_cap = |t: TypeId| match c.types.kind(t) {
        TypeKind::Str(n) => *n,
        _ => 0,
    };
    match &e.kind {
        // The key's address goes to the helper. (`m[k]` read as a value is
        // loaded from the entry: clang keeps no copy of it.)
        ExprKind::MapLookup { map, key } | ExprKind::MapRead { map, key } => {
            map_arg(c, f, c.maps[map.index()].key, key)
        }
        ExprKind::RingbufOutput { map, .. } => slot(c, c.maps[map.index()].value),
        // A `str(N)` result not written straight into a local. (The
        // copies of the parts clang folds away.)
        ExprKind::Cast(inner) if str_cap(inner.ty) > 0 && !in_place => {
            str_cap(e.ty).div_ceil(8) * 8
        }
        ExprKind::StrConcat(_) if !in_place => str_cap(e.ty).div_ceil(8) * 8,
        _ => 0,
    }
}
