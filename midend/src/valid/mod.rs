//! Whole-program validation, on the IR of a checked file (every function
//! lowered):
//!
//! * `graph`: the **call graph** across execution domains and the
//!   **tail-call graph** (petgraph), with recursion in eBPF code and
//!   tail-call chains deeper than the kernel's 33 reported; **stack
//!   analysis**: each eBPF function's frame, summed along the deepest call
//!   path, against the verifier's 512 bytes;
//! * `helpers`: every BPF helper a program calls, directly or through
//!   the functions it calls, is one its program type may call;
//! * `throws`: which error codes can leave each function; uncaught in an
//!   eBPF program is an error, out of `main` a warning;
//! * `flow`: **null safety** (spec 4.6.8), **packet bounds** and **map
//!   value pointer lifetimes**, by a flow-sensitive pass over each
//!   function;
//! * `module_maps`: maps in kernel-module code are the module's own
//!   storage, unless eBPF or userspace code uses them too (an error);
//! * `record`: the facts backends need that no rule does (function-pointer
//!   targets).
//!
//! Takes the checker after lowering; gives diagnostics, the
//! [`ProgramGraph`] (for `--emit=graph`) and the [`ir::Analysis`] record
//! that travels with the module: throws, stack use, function-pointer
//! targets and the tail-call slots lowering numbered.

use ksc_frontend::diag::codes;
use std::collections::HashMap;

use ksc_ir as ir;
use ksc_ir::{Callee, Domain, FnId, FnKind, TypeKind};
use petgraph::graphmap::DiGraphMap;

use crate::checker::Checker;

mod flow;
mod graph;
mod helpers;
mod locks;
mod map_access;
mod module_maps;
mod record;
mod temps;
mod throws;

/// The verifier's stack limit per program (all frames of a call chain).
pub const STACK_LIMIT: u32 = 512;
/// Warn when a program comes this close to the limit.
pub const STACK_WARN: u32 = 448;
/// The kernel's limit on chained tail calls (MAX_TAIL_CALL_CNT).
pub const TAIL_CALL_LIMIT: usize = 33;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    Call,
    TailCall,
}

/// Functions and who calls whom, for `--emit=graph` and the rules here.
pub struct ProgramGraph {
    pub graph: DiGraphMap<u32, Edge>,
    pub names: Vec<String>,
    pub kinds: Vec<String>,
    pub domains: Vec<Domain>,
    /// Deepest stack of each eBPF function (its frame plus its callees').
    pub stack: HashMap<u32, u32>,
}

impl ProgramGraph {
    /// Graphviz DOT: one node per function, coloured by domain; tail calls dashed.
    pub fn to_dot(&self) -> String {
        let mut s = String::from(
            "digraph program {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for n in self.graph.nodes() {
            let i = n as usize;
            let (color, domain) = match self.domains[i] {
                Domain::Ebpf => ("lightblue", "eBPF"),
                Domain::KernelModule => ("khaki", "kernel module"),
                Domain::Userspace => ("palegreen", "userspace"),
            };
            let stack = self
                .stack
                .get(&n)
                .map(|b| format!("\\nstack {b} B"))
                .unwrap_or_default();
            s.push_str(&format!(
                "  f{n} [label=\"{}\\n{} ({domain}){stack}\", style=filled, fillcolor={color}];\n",
                self.names[i], self.kinds[i]
            ));
        }
        let mut edges: Vec<(u32, u32, Edge)> =
            self.graph.all_edges().map(|(a, b, e)| (a, b, *e)).collect();
        edges.sort_by_key(|e| (e.0, e.1));
        for (a, b, e) in edges {
            match e {
                Edge::Call => s.push_str(&format!("  f{a} -> f{b};\n")),
                Edge::TailCall => s.push_str(&format!(
                    "  f{a} -> f{b} [style=dashed, label=\"tail call\"];\n"
                )),
            }
        }
        s.push_str("}\n");
        s
    }
}

/// Calls made by a block: (callee, span, is_tail_call).
fn calls_in_block(b: &ir::Block, out: &mut Vec<(FnId, ir::Span, bool)>) {
    for s in &b.stmts {
        walk_stmt_exprs(s, &mut |e| {
            if let ir::ExprKind::Call {
                callee: Callee::Function(f),
                ..
            } = &e.kind
            {
                out.push((*f, e.span, false));
            }
        });
        if let ir::StmtKind::TailCall { target, .. } = &s.kind {
            out.push((*target, s.span, true));
        }
        for_child_blocks(s, &mut |b| calls_in_block(b, out));
    }
}

fn for_child_blocks<'a>(s: &'a ir::Stmt, f: &mut impl FnMut(&'a ir::Block)) {
    s.for_each_block(f);
}

/// Every expression directly in a statement (not in child blocks), deep.
fn walk_stmt_exprs<'a>(s: &'a ir::Stmt, f: &mut impl FnMut(&'a ir::Expr)) {
    s.for_each_expr(|e| e.walk(f));
}

/// Find every call passing packet pointers, through chains of calls: run
/// the flow analysis (its diagnostics dropped) until no new call appears.
fn pkt_sites(c: &mut Checker) {
    c.pkt_sites.clear();
    for _ in 0..8 {
        let before = c.pkt_sites.clone();
        let diags = c.diags.len();
        for i in 0..c.functions.len() {
            flow::Flow::check_function(c, FnId(i as u32));
        }
        c.diags.truncate(diags);
        if c.pkt_sites == before {
            break;
        }
    }
}

/// Run every whole-program rule; returns the program graph and the
/// analysis record.
pub(crate) fn run(c: &mut Checker) -> (ProgramGraph, ir::Analysis) {
    let n = c.functions.len();
    let mut graph: DiGraphMap<u32, Edge> = DiGraphMap::new();
    let mut sites: HashMap<(u32, u32), ir::Span> = HashMap::new();
    for i in 0..n {
        graph.add_node(i as u32);
    }
    for (i, f) in c.functions.iter().enumerate() {
        let mut calls = Vec::new();
        calls_in_block(&f.body, &mut calls);
        for (g, span, tail) in calls {
            let e = if tail { Edge::TailCall } else { Edge::Call };
            if graph.edge_weight(i as u32, g.0).is_none() {
                graph.add_edge(i as u32, g.0, e);
                sites.insert((i as u32, g.0), span);
            }
        }
    }
    let mut pg = ProgramGraph {
        graph,
        names: c.functions.iter().map(|f| f.name.clone()).collect(),
        kinds: c.functions.iter().map(|f| f.kind.attribute()).collect(),
        domains: c.functions.iter().map(|f| f.domain).collect(),
        stack: HashMap::new(),
    };
    graph::recursion(c, &pg, &sites);
    graph::tail_calls(c, &pg);
    helpers::program_types(c, &pg);
    module_maps::check(c);
    map_access::check(c);
    locks::check(c);
    let stack = graph::stack(c, &mut pg);
    let throws = throws::throws(c);
    ring_handlers(c, &throws);
    nonnull_params(c);
    pkt_sites(c);
    for i in 0..n {
        flow::Flow::check_function(c, FnId(i as u32));
    }
    let analysis = ir::Analysis {
        throws,
        stack,
        fn_pointer_targets: record::fn_pointer_targets(&c.functions),
        tail_call_slots: std::mem::take(&mut c.tail_call_slots),
    };
    (pg, analysis)
}

/// Every ring buffer `dispatch` waits for has a handler registered
/// somewhere (`rb.on_event(f)`), and no handler can throw: `dispatch` has
/// no caller to hand the error to (docs/language.md, "Ring-buffer
/// callbacks, `dispatch` and `daemon`").
fn ring_handlers(c: &mut Checker, throws: &[ir::Throws]) {
    let dispatches = std::mem::take(&mut c.ring_dispatches);
    let mut reported = std::collections::HashSet::new();
    for (m, span) in dispatches {
        if c.ring_handlers.contains(&m) || !reported.insert(m) {
            continue;
        }
        let map = &c.maps[m.index()];
        let (rb, vt) = (map.name.clone(), map.value);
        // A `<rb>_callback` that fits is registered when `main` starts
        // (Checker::register_named_ring_handlers); one that is here did not fit.
        let by_name = format!("{rb}_callback");
        let has_by_name = c.functions.iter().any(|f| f.name == by_name);
        let help = if has_by_name {
            format!(
                "`{by_name}` would be the handler, but a handler is a userspace function `fn {by_name}(event: *{}) -> i32`",
                c.types.display(vt)
            )
        } else {
            format!(
                "register a handler before `dispatch`: `{rb}.on_event(handler)` with `fn handler(event: *{}) -> i32`",
                c.types.display(vt)
            )
        };
        let d = c.error(
            codes::RINGBUF,
            span,
            format!("`{rb}` has no handler: nothing registers one with `{rb}.on_event(...)`"),
        );
        d.label = "its events would be dropped".into();
        d.help = Some(help);
    }
    let mut bad = Vec::new();
    for f in &c.functions {
        f.body.walk_exprs(&mut |x| {
            if let ir::ExprKind::RingbufOnEvent { handler, .. } = &x.kind {
                if throws.get(handler.index()).is_some_and(|t| !t.is_empty()) {
                    bad.push((*handler, x.span));
                }
            }
        });
    }
    for (h, span) in bad {
        let name = c.functions[h.index()].name.clone();
        c.error(codes::UNCAUGHT,
            span,
            format!("handler `{name}` may throw, and `dispatch` has no caller to give the error to"),
        )
        .help = Some(format!(
            "catch it inside `{name}`: `try {{ ... }} catch _ {{ return 1 }}` (a nonzero return ends `dispatch` with that value)"
        ));
    }
}

/// The pointer parameters that need no null check: those of functions
/// that are called and never become function pointers, where every call
/// passes a pointer known not to be null (docs/language.md, null safety).
/// Whether an argument is known not null depends on the caller's own
/// parameters, so this starts from every candidate and drops those some
/// call passes a maybe-null pointer, until nothing changes.
fn nonnull_params(c: &mut Checker) {
    let mut called = std::collections::HashSet::new();
    let mut taken = std::collections::HashSet::new();
    for f in &c.functions {
        f.body.walk_exprs(&mut |x| match &x.kind {
            ir::ExprKind::FnRef(id) => {
                taken.insert(*id);
            }
            ir::ExprKind::Call {
                callee: Callee::Function(id),
                ..
            } => {
                called.insert(*id);
            }
            // `dispatch` calls a registered handler with an event, never
            // null (docs/language.md, "Ring-buffer callbacks, `dispatch`
            // and `daemon`").
            ir::ExprKind::RingbufOnEvent { handler, .. } => {
                called.insert(*handler);
            }
            _ => {}
        });
    }
    c.nonnull_params.clear();
    c.uncalled.clear();
    for (i, f) in c.functions.iter().enumerate() {
        let id = FnId(i as u32);
        if !called.contains(&id)
            && !taken.contains(&id)
            && matches!(f.kind, FnKind::Helper | FnKind::Private | FnKind::Userspace)
        {
            c.uncalled.insert(id);
        }
        if !called.contains(&id)
            || taken.contains(&id)
            || matches!(f.kind, FnKind::Program(_) | FnKind::Extern { .. })
        {
            continue;
        }
        for (p, l) in f.locals[..f.params as usize].iter().enumerate() {
            if matches!(c.types.kind(l.ty), TypeKind::Pointer(_)) {
                c.nonnull_params.insert((id, p as u32));
            }
        }
    }
    while !c.nonnull_params.is_empty() {
        c.null_args.clear();
        let diags = c.diags.len();
        for i in 0..c.functions.len() {
            flow::Flow::check_function(c, FnId(i as u32));
        }
        c.diags.truncate(diags);
        let before = c.nonnull_params.len();
        let null_args = std::mem::take(&mut c.null_args);
        c.nonnull_params.retain(|k| !null_args.contains(k));
        if c.nonnull_params.len() == before {
            break;
        }
    }
}
