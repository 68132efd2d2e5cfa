//! Running a batch of built cases inside a Debian kernel under qemu
//! (through ksc-qemu): one boot per kernel runs every job.

use std::path::Path;

use crate::exec::{Job, JobResult, LineResult, Verdict};

/// Kernel labels ksc-qemu can fetch and boot.
pub const KERNELS: &[&str] = &["6.1", "6.12"];

/// Runs `jobs` in kernel `label`: its `uname -r` and each job's result.
pub fn run(label: &str, jobs: &[&Job], work: &Path) -> Result<(String, Vec<JobResult>), String> {
    let _ = (label, jobs, work);
    Err("not wired yet".into())
}

/// Every line of a job failed, for a kernel that did not run it.
pub fn failed(job: &Job, label: &str, why: &str) -> JobResult {
    JobResult {
        case: job.case.name.clone(),
        target: job.target.clone(),
        release: label.to_string(),
        lines: job
            .case
            .lines
            .iter()
            .map(|l| LineResult {
                no: l.no,
                text: l.text.clone(),
                verdict: Verdict::Fail,
                observed: String::new(),
                message: format!("kernel {label} did not run: {why}"),
            })
            .collect(),
        programs: vec![],
        verifier_log: String::new(),
    }
}
