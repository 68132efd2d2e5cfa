//! `ksc-backend-dot`: an example backend plugin for third parties.
//!
//! It writes `<module>.dot`, a Graphviz picture of the program: every
//! function grouped by where it runs (eBPF, kernel module, userspace), the
//! maps, and the edges between them (calls, tail calls, program
//! references, map accesses). Render it with `dot -Tsvg prog.dot`.
//!
//! The whole plugin interface is the `export_backend!` call at the end.

use std::collections::BTreeSet;
use std::fmt::Write;

use ksc_plugin_abi::ksc_ir::{
    Block, Callee, Domain, Expr, ExprKind, FnId, MapId, Module, Stmt, StmtKind,
};
use ksc_plugin_abi::{export_backend, Diag, File, Options};

/// The backend: one DOT file named after the module.
pub fn generate(module: &Module, _options: &Options) -> Result<Vec<File>, Vec<Diag>> {
    Ok(vec![File::new(
        format!("{}.dot", module.name),
        to_dot(module),
    )])
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    Call(FnId),
    TailCall(FnId),
    /// A function used as a value (`load(prog)`, function pointers).
    Ref(FnId),
    Map(MapId),
}

/// The graph as DOT text.
pub fn to_dot(module: &Module) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&module.name));
    out.push_str("    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n");
    for (domain, title) in [
        (Domain::Ebpf, "eBPF"),
        (Domain::KernelModule, "kernel module"),
        (Domain::Userspace, "userspace"),
    ] {
        let members: Vec<usize> = (0..module.functions.len())
            .filter(|&i| module.functions[i].domain == domain)
            .collect();
        if members.is_empty() {
            continue;
        }
        let id = title.replace(' ', "_");
        let _ = writeln!(out, "    subgraph cluster_{id} {{");
        let _ = writeln!(out, "        label={};", quote(title));
        for i in members {
            let f = &module.functions[i];
            let label = format!("{}\n{}", f.name, f.kind.attribute());
            let _ = writeln!(out, "        f{i} [label={}];", quote(&label));
        }
        out.push_str("    }\n");
    }
    for (i, m) in module.maps.iter().enumerate() {
        let label = format!("{}\n{:?}({})", m.name, m.kind, m.max_entries);
        let _ = writeln!(out, "    m{i} [shape=cylinder, label={}];", quote(&label));
    }
    for (i, f) in module.functions.iter().enumerate() {
        let mut edges = BTreeSet::new();
        walk_block(&f.body, &mut edges);
        for e in edges {
            let _ = match e {
                Edge::Call(t) => writeln!(out, "    f{i} -> f{};", t.0),
                Edge::TailCall(t) => {
                    writeln!(
                        out,
                        "    f{i} -> f{} [style=dashed, label=\"tail call\"];",
                        t.0
                    )
                }
                Edge::Ref(t) => writeln!(out, "    f{i} -> f{} [style=dotted];", t.0),
                Edge::Map(m) => writeln!(out, "    f{i} -> m{} [arrowhead=none, color=gray];", m.0),
            };
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT string literal.
fn quote(text: &str) -> String {
    let mut q = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn walk_block(b: &Block, edges: &mut BTreeSet<Edge>) {
    for s in &b.stmts {
        walk_stmt(s, edges);
    }
}

fn walk_stmt(s: &Stmt, edges: &mut BTreeSet<Edge>) {
    match &s.kind {
        StmtKind::Let { init, .. } => init.iter().for_each(|e| walk_expr(e, edges)),
        StmtKind::Assign { place, value } | StmtKind::CompoundAssign { place, value, .. } => {
            walk_expr(place, edges);
            walk_expr(value, edges);
        }
        StmtKind::MapUpdate { map, key, value }
        | StmtKind::MapCompound {
            map, key, value, ..
        } => {
            edges.insert(Edge::Map(*map));
            walk_expr(key, edges);
            walk_expr(value, edges);
        }
        StmtKind::MapDelete { map, key } => {
            edges.insert(Edge::Map(*map));
            walk_expr(key, edges);
        }
        StmtKind::Expr(e) | StmtKind::Throw(e) => walk_expr(e, edges),
        StmtKind::Return(e) => e.iter().for_each(|e| walk_expr(e, edges)),
        StmtKind::If { cond, then, els } => {
            walk_expr(cond, edges);
            walk_block(then, edges);
            walk_block(els, edges);
        }
        StmtKind::ForRange {
            start, end, body, ..
        } => {
            walk_expr(start, edges);
            walk_expr(end, edges);
            walk_block(body, edges);
        }
        StmtKind::ForEach { map, body, .. } => {
            edges.insert(Edge::Map(*map));
            walk_block(body, edges);
        }
        StmtKind::While { cond, body } => {
            walk_expr(cond, edges);
            walk_block(body, edges);
        }
        StmtKind::Loop { body } | StmtKind::Defer(body) | StmtKind::Block(body) => {
            walk_block(body, edges)
        }
        StmtKind::TailCall {
            target,
            ctx,
            fallback,
            ..
        } => {
            edges.insert(Edge::TailCall(*target));
            walk_expr(ctx, edges);
            walk_expr(fallback, edges);
        }
        StmtKind::Try { body, catches } => {
            walk_block(body, edges);
            for c in catches {
                walk_block(&c.body, edges);
            }
        }
        StmtKind::Break | StmtKind::Continue => {}
    }
}

fn walk_expr(e: &Expr, edges: &mut BTreeSet<Edge>) {
    // `Expr::walk` visits every sub-expression: only the interesting ones matter here.
    e.walk(&mut |x| match &x.kind {
        ExprKind::FnRef(f) => {
            edges.insert(Edge::Ref(*f));
        }
        ExprKind::Call {
            callee: Callee::Function(f),
            ..
        } => {
            edges.insert(Edge::Call(*f));
        }
        ExprKind::MapLookup { map, .. }
        | ExprKind::MapRead { map, .. }
        | ExprKind::RingbufReserve { map, .. }
        | ExprKind::RingbufSubmit { map, .. }
        | ExprKind::RingbufOutput { map, .. }
        | ExprKind::RingbufRead { map, .. } => {
            edges.insert(Edge::Map(*map));
        }
        ExprKind::RingbufOnEvent { map, handler } => {
            edges.insert(Edge::Map(*map));
            edges.insert(Edge::Ref(*handler));
        }
        ExprKind::RingbufDispatch { maps } => {
            edges.extend(maps.iter().map(|m| Edge::Map(*m)));
        }
        _ => {}
    });
}

export_backend! {
    name: "dot",
    version: env!("CARGO_PKG_VERSION"),
    description: "the program's functions, maps and call graph as Graphviz DOT",
    outputs: ["dot"],
    generate: generate,
}
