//! The table: one row a case, one column a kernel × target; each cell
//! pass, FAIL (with the first difference) or n/a. Cells are compared with
//! each other, so two targets or kernels that disagree fail even where
//! each met the expectations on its own.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::exec::{JobResult, LineResult, Verdict};
use crate::object::Object;

/// A column: a kernel (its label, e.g. `host`, `6.1`) and a target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Column {
    pub kernel: String,
    pub target: String,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kernel, self.target)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub verdict: Verdict,
    /// The first failing line, or the first difference from the reference column.
    pub reason: String,
    pub result: JobResult,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    pub name: String,
    pub cells: BTreeMap<String, Cell>,
    /// The eBPF object of each target (the same bytes for every target).
    pub objects: BTreeMap<String, Object>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub columns: Vec<Column>,
    /// `uname -r` of each kernel column.
    pub releases: BTreeMap<String, String>,
    pub cases: Vec<CaseReport>,
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
}

impl Cell {
    pub fn new(result: JobResult) -> Cell {
        let lines = &result.lines;
        let (verdict, reason) = if let Some(l) = lines.iter().find(|l| l.verdict == Verdict::Fail) {
            (
                Verdict::Fail,
                format!("expect:{} `{}`: {}", l.no, l.text, l.message),
            )
        } else if !lines.is_empty() && lines.iter().all(|l| l.verdict == Verdict::NotApplicable) {
            (Verdict::NotApplicable, lines[0].message.clone())
        } else {
            (Verdict::Pass, String::new())
        };
        Cell {
            verdict,
            reason,
            result,
        }
    }
}

/// Compares the cells of one case: every cell that ran must have observed
/// what the first one did, line by line.
pub fn diff(cells: &mut BTreeMap<String, Cell>, order: &[Column]) {
    let ran: Vec<String> = order
        .iter()
        .map(|c| c.to_string())
        .filter(|c| {
            cells
                .get(c)
                .is_some_and(|x| x.verdict != Verdict::NotApplicable)
        })
        .collect();
    let Some(reference) = ran.first().cloned() else {
        return;
    };
    let ref_lines: Vec<LineResult> = cells[&reference].result.lines.clone();
    for col in &ran[1..] {
        let cell = cells.get_mut(col).unwrap();
        if cell.verdict == Verdict::Fail {
            continue;
        }
        let first = ref_lines
            .iter()
            .zip(&cell.result.lines)
            .find(|(a, b)| a.verdict != b.verdict || a.observed != b.observed);
        if let Some((a, b)) = first {
            cell.verdict = Verdict::Fail;
            cell.reason = format!(
                "differs from {reference} at expect:{} `{}`: {:?} there, {:?} here",
                a.no,
                a.text,
                shorten(&a.observed),
                shorten(&b.observed)
            );
        }
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim_end();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

impl Report {
    /// The kernels in the order of the columns.
    fn kernels(&self) -> Vec<&String> {
        let mut v: Vec<&String> = vec![];
        for c in &self.columns {
            if !v.contains(&&c.kernel) {
                v.push(&c.kernel);
            }
        }
        v
    }

    pub fn count(&mut self) {
        let (mut p, mut f, mut n) = (0, 0, 0);
        for c in &self.cases {
            for cell in c.cells.values() {
                match cell.verdict {
                    Verdict::Pass => p += 1,
                    Verdict::Fail => f += 1,
                    Verdict::NotApplicable => n += 1,
                }
            }
        }
        (self.passed, self.failed, self.not_applicable) = (p, f, n);
    }

    fn cell_text(&self, c: &CaseReport, col: &Column) -> String {
        match c.cells.get(&col.to_string()) {
            None => "-".into(),
            Some(cell) => match cell.verdict {
                Verdict::Pass => "pass".into(),
                Verdict::NotApplicable => "n/a".into(),
                Verdict::Fail => "FAIL".into(),
            },
        }
    }

    /// The table for a terminal, then each failure's first difference.
    pub fn text(&self) -> String {
        let width = self
            .cases
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!("{:width$}", "case");
        for col in &self.columns {
            out += &format!("  {:>14}", col.to_string());
        }
        out.push('\n');
        for c in &self.cases {
            out += &format!("{:width$}", c.name);
            for col in &self.columns {
                out += &format!("  {:>14}", self.cell_text(c, col));
            }
            out.push('\n');
        }
        let mut failures = String::new();
        for c in &self.cases {
            for col in &self.columns {
                if let Some(cell) = c.cells.get(&col.to_string()) {
                    if cell.verdict == Verdict::Fail {
                        failures += &format!("FAIL {} on {col}: {}\n", c.name, cell.reason);
                    }
                }
            }
        }
        out += "\n";
        out += &self.totals();
        if !failures.is_empty() {
            out += "\n";
            out += &failures;
        }
        out
    }

    /// A line per column: its passes, failures, n/a and the time its cases
    /// took on that kernel (the cases' own time, without the builds or
    /// the boot).
    pub fn totals(&self) -> String {
        let mut out = String::new();
        for col in &self.columns {
            let (mut p, mut f, mut n, mut ms) = (0, 0, 0, 0u64);
            for c in &self.cases {
                if let Some(cell) = c.cells.get(&col.to_string()) {
                    match cell.verdict {
                        Verdict::Pass => p += 1,
                        Verdict::Fail => f += 1,
                        Verdict::NotApplicable => n += 1,
                    }
                    ms += cell.result.elapsed_ms;
                }
            }
            out += &format!(
                "{col}: {p} pass, {f} FAIL, {n} n/a; cases took {:.1} s\n",
                ms as f64 / 1000.0
            );
        }
        out
    }

    /// The section of docs/features.md between its conformance markers:
    /// one row a case (what it proves, from its `expect`'s first comment),
    /// one column a kernel (all targets must pass for `works`).
    pub fn features_section(&self, about: &BTreeMap<String, String>) -> String {
        let kernels = self.kernels();
        let mut out = String::from("| case | what it proves |");
        for k in &kernels {
            out += &format!(" {k} ({}) |", self.releases[*k]);
        }
        out += "\n|---|---|";
        for _ in &kernels {
            out += "---|";
        }
        out.push('\n');
        for c in &self.cases {
            out += &format!(
                "| `{}` | {} |",
                c.name,
                about
                    .get(&c.name)
                    .map(|s| s.replace('|', "\\|"))
                    .unwrap_or_default()
            );
            for k in &kernels {
                let cells: Vec<&Cell> = c
                    .cells
                    .iter()
                    .filter(|(col, _)| col.starts_with(&format!("{k}/")))
                    .map(|(_, cell)| cell)
                    .collect();
                let text = if cells.iter().any(|x| x.verdict == Verdict::Fail) {
                    "FAIL"
                } else if !cells.is_empty()
                    && cells.iter().all(|x| x.verdict == Verdict::NotApplicable)
                {
                    "n/a"
                } else if cells.is_empty() {
                    "-"
                } else {
                    "works"
                };
                out += &format!(" {text} |");
            }
            out.push('\n');
        }
        out
    }

    /// The table as Markdown, with instruction counts per program.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Conformance\n\nKernels: ");
        let kernels: Vec<String> = self
            .kernels()
            .iter()
            .map(|k| format!("`{k}` ({})", self.releases[*k]))
            .collect();
        out += &kernels.join(", ");
        out += "\n\n| case |";
        for col in &self.columns {
            out += &format!(" {col} |");
        }
        out += "\n|---|";
        for _ in &self.columns {
            out += "---|";
        }
        out.push('\n');
        for c in &self.cases {
            out += &format!("| {} |", c.name);
            for col in &self.columns {
                let cell = c.cells.get(&col.to_string());
                let text = self.cell_text(c, col);
                match cell {
                    Some(x) if x.verdict == Verdict::Fail => {
                        out += &format!(
                            " FAIL: {} |",
                            x.reason.replace('|', "\\|").replace('\n', " ")
                        )
                    }
                    Some(x) if x.result.elapsed_ms > 0 => {
                        out += &format!(" {text} {:.1}s |", x.result.elapsed_ms as f64 / 1000.0)
                    }
                    _ => out += &format!(" {text} |"),
                }
            }
            out.push('\n');
        }
        out += &format!(
            "\n{} passed, {} failed, {} n/a\n\n{}\n## Programs\n\nInstructions as compiled, then per kernel: the verifier's processed instructions (\"processed N insns\" of the load log's statistics) / the instructions as translated (xlated bytes / 8).\n\n| case | program | section | insns |",
            self.passed,
            self.failed,
            self.not_applicable,
            self.totals().lines().map(|l| format!("- {l}\n")).collect::<String>()
        );
        let kernels = self.kernels();
        for k in &kernels {
            out += &format!(" {k} |");
        }
        out += "\n|---|---|---|---|";
        for _ in &kernels {
            out += "---|";
        }
        out.push('\n');
        for c in &self.cases {
            let Some(obj) = c.objects.values().next() else {
                continue;
            };
            for p in &obj.programs {
                out += &format!(
                    "| {} | {} | `{}` | {} |",
                    c.name, p.name, p.section, p.insns
                );
                for k in &kernels {
                    let xlated = c
                        .cells
                        .iter()
                        .filter(|(col, _)| col.starts_with(&format!("{k}/")))
                        .find_map(|(_, cell)| {
                            cell.result
                                .programs
                                .iter()
                                .find(|l| l.name == p.name)
                                .map(|l| {
                                    (l.processed_insns.max(l.verified_insns), l.xlated_bytes / 8)
                                })
                        });
                    out += &match xlated {
                        Some((0, x)) => format!(" ? / {x} |"),
                        Some((p, x)) => format!(" {p} / {x} |"),
                        None => " - |".into(),
                    };
                }
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(observed: &str, verdict: Verdict) -> Cell {
        Cell::new(JobResult {
            case: "c".into(),
            target: "t".into(),
            release: String::new(),
            lines: vec![LineResult {
                no: 2,
                text: "run f zeros:14 XDP_PASS".into(),
                verdict,
                observed: observed.into(),
                message: String::new(),
            }],
            programs: vec![],
            verifier_log: String::new(),
            elapsed_ms: 0,
        })
    }

    /// A kernel that behaves differently fails, with the first difference,
    /// even where its own expectation could not tell (n/a cells are left out).
    #[test]
    fn a_kernel_that_differs_fails_with_the_first_difference() {
        let cols: Vec<Column> = ["host", "6.1", "6.12"]
            .iter()
            .map(|k| Column {
                kernel: k.to_string(),
                target: "c-libbpf".into(),
            })
            .collect();
        let mut cells = BTreeMap::new();
        cells.insert(
            "host/c-libbpf".to_string(),
            cell("returned 2", Verdict::Pass),
        );
        cells.insert(
            "6.1/c-libbpf".to_string(),
            cell("returned 1", Verdict::Pass),
        );
        cells.insert(
            "6.12/c-libbpf".to_string(),
            cell("", Verdict::NotApplicable),
        );
        diff(&mut cells, &cols);
        assert_eq!(cells["host/c-libbpf"].verdict, Verdict::Pass);
        assert_eq!(cells["6.12/c-libbpf"].verdict, Verdict::NotApplicable);
        let c = &cells["6.1/c-libbpf"];
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(
            c.reason,
            "differs from host/c-libbpf at expect:2 `run f zeros:14 XDP_PASS`: \"returned 2\" there, \"returned 1\" here"
        );
    }
}
