//! The call graph's rules: no recursion in eBPF code, tail-call chains
//! within the kernel's limit, and each eBPF program's stack, along its
//! deepest call path, within the verifier's 512 bytes.
//!
//! Takes the [`ProgramGraph`]; gives diagnostics, each eBPF function's
//! deepest stack (in the graph, for `--emit=graph`) and each program's
//! [`ir::StackUse`] for the analysis record.

use ksc_frontend::diag::codes;
use std::collections::{HashMap, HashSet};

use ksc_frontend::Diagnostic;
use ksc_ir as ir;
use ksc_ir::{Domain, FnId, FnKind};
use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::{Edge, ProgramGraph, STACK_LIMIT, STACK_WARN, TAIL_CALL_LIMIT};
use crate::checker::Checker;

/// eBPF code may not recurse (the verifier rejects call cycles).
pub(super) fn recursion(c: &mut Checker, pg: &ProgramGraph, sites: &HashMap<(u32, u32), ir::Span>) {
    let calls: DiGraphMap<u32, ()> = DiGraphMap::from_edges(
        pg.graph
            .all_edges()
            .filter(|(a, b, e)| {
                **e == Edge::Call
                    && pg.domains[*a as usize] == Domain::Ebpf
                    && pg.domains[*b as usize] == Domain::Ebpf
            })
            .map(|(a, b, _)| (a, b)),
    );
    for scc in tarjan_scc(&calls) {
        let cyclic = scc.len() > 1 || calls.contains_edge(scc[0], scc[0]);
        if !cyclic {
            continue;
        }
        let mut cycle: Vec<u32> = scc.clone();
        cycle.sort();
        let first = cycle[0];
        let next = cycle
            .iter()
            .copied()
            .find(|&g| calls.contains_edge(first, g))
            .unwrap_or(first);
        let span = sites
            .get(&(first, next))
            .copied()
            .unwrap_or(c.functions[first as usize].span);
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| pg.names[i as usize].as_str())
            .collect();
        c.diags.push(
            Diagnostic::error(
                codes::RECURSION,
                span,
                format!("recursion in eBPF code: {}", names.join(" → ")),
            )
            .with_label("this call closes the cycle")
            .with_help("the verifier rejects recursive calls; use a bounded loop"),
        );
    }
}

/// Tail-call chains: deeper than 33 is an error, a cycle a warning.
pub(super) fn tail_calls(c: &mut Checker, pg: &ProgramGraph) {
    let tails: DiGraphMap<u32, ()> = DiGraphMap::from_edges(
        pg.graph
            .all_edges()
            .filter(|(_, _, e)| **e == Edge::TailCall)
            .map(|(a, b, _)| (a, b)),
    );
    if tails.node_count() == 0 {
        return;
    }
    for scc in tarjan_scc(&tails) {
        let cyclic = scc.len() > 1 || tails.contains_edge(scc[0], scc[0]);
        if cyclic {
            let mut names: Vec<&str> = scc.iter().map(|&i| pg.names[i as usize].as_str()).collect();
            names.sort();
            let at = *scc.iter().min().unwrap();
            c.diags.push(
                Diagnostic::warning(codes::TAIL_CALL_CYCLE, c.name_spans[at as usize], format!("tail-call cycle between {}", names.join(", ")))
                    .with_note(format!("at run time the kernel stops a chain after {TAIL_CALL_LIMIT} tail calls and the program returns its fallback")),
            );
        }
    }
    // Longest chain from each program (on the acyclic part).
    fn depth(
        g: &DiGraphMap<u32, ()>,
        n: u32,
        memo: &mut HashMap<u32, usize>,
        on: &mut HashSet<u32>,
    ) -> usize {
        if let Some(&d) = memo.get(&n) {
            return d;
        }
        if !on.insert(n) {
            return 0;
        }
        let d = g
            .neighbors(n)
            .map(|m| 1 + depth(g, m, memo, on))
            .max()
            .unwrap_or(0);
        on.remove(&n);
        memo.insert(n, d);
        d
    }
    let mut memo = HashMap::new();
    for n in tails.nodes() {
        let d = depth(&tails, n, &mut memo, &mut HashSet::new());
        if d > TAIL_CALL_LIMIT
            && tails
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .next()
                .is_none()
        {
            c.diags.push(
                Diagnostic::error(
                    codes::TAIL_CALL,
                    c.name_spans[n as usize],
                    format!(
                        "a chain of {d} tail calls starts at `{}`",
                        pg.names[n as usize]
                    ),
                )
                .with_help(format!(
                    "the kernel allows at most {TAIL_CALL_LIMIT} tail calls in a row"
                )),
            );
        }
    }
}

/// The stack frame of one eBPF function: its locals, each 8-byte aligned,
/// and the temporaries the backend makes for its largest statement.
fn frame(c: &Checker, f: &ir::Function) -> u32 {
    let locals: u32 = f
        .locals
        .iter()
        .skip(f.params as usize)
        .map(|l| c.types.size(l.ty).div_ceil(8) * 8)
        .sum();
    locals + super::temps::temporaries(c, f).0
}

/// Each eBPF function's deepest stack (into the graph), checked for each
/// program; returns each program's [`ir::StackUse`].
pub(super) fn stack(c: &mut Checker, pg: &mut ProgramGraph) -> Vec<ir::StackUse> {
    fn deepest(
        c: &Checker,
        pg: &ProgramGraph,
        n: u32,
        memo: &mut HashMap<u32, (u32, Vec<u32>)>,
        on: &mut HashSet<u32>,
    ) -> (u32, Vec<u32>) {
        if let Some(d) = memo.get(&n) {
            return d.clone();
        }
        if !on.insert(n) {
            return (0, vec![]); // recursion: reported elsewhere
        }
        let own = frame(c, &c.functions[n as usize]);
        let mut best = (0, vec![]);
        for (_, m, e) in pg.graph.edges(n) {
            if *e == Edge::Call && pg.domains[m as usize] == Domain::Ebpf {
                let d = deepest(c, pg, m, memo, on);
                if d.0 > best.0 {
                    best = d;
                }
            }
        }
        on.remove(&n);
        let mut path = vec![n];
        path.extend(best.1);
        let r = (own + best.0, path);
        memo.insert(n, r.clone());
        r
    }
    let mut memo = HashMap::new();
    let mut uses = Vec::new();
    for i in 0..c.functions.len() {
        if c.functions[i].domain != Domain::Ebpf {
            continue;
        }
        let (bytes, path) = deepest(c, pg, i as u32, &mut memo, &mut HashSet::new());
        pg.stack.insert(i as u32, bytes);
        if !matches!(c.functions[i].kind, FnKind::Program(_)) {
            continue;
        }
        uses.push(ir::StackUse {
            program: FnId(i as u32),
            bytes,
            path: path.iter().map(|&p| FnId(p)).collect(),
        });
        let names: Vec<String> = path
            .iter()
            .map(|&p| {
                format!(
                    "{} ({} B)",
                    pg.names[p as usize],
                    frame(c, &c.functions[p as usize])
                )
            })
            .collect();
        let span = c.name_spans[i];
        if path.iter().any(|p| c.oversized.contains(&FnId(*p))) {
            continue; // the oversized local was reported where it is declared
        }
        if bytes > STACK_LIMIT {
            let mut d = Diagnostic::error(
                codes::STACK,
                span,
                format!(
                    "`{}` needs {bytes} bytes of stack; eBPF allows {STACK_LIMIT}",
                    c.functions[i].name
                ),
            )
            .with_label("stack limit exceeded")
            .with_note(format!("deepest path: {}", names.join(" → ")));
            // The statement whose temporaries weigh most on the path.
            if let Some((t, at)) = path
                .iter()
                .map(|&p| super::temps::temporaries(c, &c.functions[p as usize]))
                .filter_map(|(t, at)| Some((t, at?)))
                .max_by_key(|x| x.0)
            {
                d = d.with_secondary(at, format!("{t} bytes of temporaries here (a copy of each map key, value or literal that is not already in memory)"));
            }
            c.diags.push(d.with_help("move large locals into a map (a one-entry `percpu_array` works as scratch space) or pass pointers (`m[k] = *p` copies from the pointee, with no stack copy)"));
        } else if bytes > STACK_WARN {
            c.diags.push(
                Diagnostic::warning(
                    codes::STACK_NEAR,
                    span,
                    format!(
                        "`{}` uses {bytes} of the {STACK_LIMIT} bytes of eBPF stack",
                        c.functions[i].name
                    ),
                )
                .with_note(format!("deepest path: {}", names.join(" → "))),
            );
        }
    }
    uses
}
