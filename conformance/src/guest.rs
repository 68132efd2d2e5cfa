//! Running a batch of built cases inside a Debian kernel under qemu
//! (through ksc-qemu): one boot per kernel runs every job, with this
//! program itself as the executor (`ksc-conformance exec PLAN`).

use std::path::Path;
use std::time::Duration;

use crate::exec::{Job, JobResult};

/// Kernel labels ksc-qemu can fetch and boot.
pub const KERNELS: &[&str] = &["6.1", "6.12"];

/// Runs `jobs` in kernel `label`: its `uname -r` and each job's result
/// (in the order of `jobs`). `say` reports progress.
pub fn run(
    label: &str,
    jobs: &[&Job],
    work: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<(String, Vec<JobResult>), String> {
    let kernel = ksc_qemu::fetch(label, say).map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    // The plan, with the guest's paths: /conf/<case>/src holds the case's
    // data files, /conf/<case>/<target> the build.
    let mut files = vec![];
    let mut programs = vec![
        me.to_string_lossy().into_owned(),
        "bpftool".into(),
        "ip".into(),
        "tc".into(),
    ];
    let mut plan: Vec<Job> = vec![];
    for job in jobs {
        let case_dir = format!("/conf/{}/src", job.case.name);
        let out_dir = format!("/conf/{}/{}", job.case.name, job.target);
        if plan.iter().all(|p| p.case.name != job.case.name) {
            for e in std::fs::read_dir(&job.case.dir)
                .map_err(|e| e.to_string())?
                .flatten()
            {
                let p = e.path();
                // Regular files only (prog.ks may be a link into examples/;
                // the guest needs the builds, not the sources).
                if e.file_type().is_ok_and(|t| t.is_file())
                    && p.extension().is_none_or(|x| x != "ks")
                {
                    files.push((p, format!("{case_dir}/{}", e.file_name().to_string_lossy())));
                }
            }
        }
        if job.built {
            for f in ["prog.ebpf.o", "prog"] {
                files.push((job.out.join(f), format!("{out_dir}/{f}")));
            }
            // Its shared libraries (libbpf, libelf, ...) come with it.
            let exe = job.out.join("prog").to_string_lossy().into_owned();
            if programs.len() == 4 {
                programs.push(exe);
            }
        }
        let mut j = (*job).clone();
        j.case.dir = case_dir.into();
        j.out = out_dir.into();
        plan.push(j);
    }
    let plan_file = work.join(format!("plan-{label}.json"));
    std::fs::write(&plan_file, serde_json::to_vec(&plan).unwrap()).map_err(|e| e.to_string())?;
    files.push((plan_file, "/conf/plan.json".into()));
    let exe_name = me.file_name().unwrap().to_string_lossy().into_owned();
    let guest = ksc_qemu::Guest {
        files,
        programs,
        // Debian builds these as modules: veth pairs, clsact, BPF tc filters.
        modules: vec!["veth".into(), "sch_ingress".into(), "cls_bpf".into()],
        script: format!("uname -r > \"$KSC_OUT\"\ncd /conf && {exe_name} exec /conf/plan.json >> \"$KSC_OUT\"\n"),
        // Software emulation: a few seconds a case.
        timeout: Duration::from_secs(120 + 15 * plan.len() as u64),
        memory_mb: 1024,
        ..ksc_qemu::Guest::default()
    };
    say(&format!(
        "booting {} with {} jobs",
        kernel.release,
        plan.len()
    ));
    let outcome = ksc_qemu::boot(&kernel, &guest).map_err(|e| e.to_string())?;
    let (release, json) = outcome.output.split_once('\n').ok_or_else(|| {
        format!(
            "the guest wrote no results; the console's end:\n{}",
            tail(&outcome.console)
        )
    })?;
    let results: Vec<JobResult> = serde_json::from_str(json.trim()).map_err(|e| {
        format!(
            "the guest's results do not read ({e}); the console's end:\n{}",
            tail(&outcome.console)
        )
    })?;
    if results.len() != jobs.len() {
        return Err(format!(
            "the guest ran {} of {} jobs",
            results.len(),
            jobs.len()
        ));
    }
    Ok((release.trim().to_string(), results))
}

fn tail(s: &str) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(20)..].join("\n")
}

/// Every line of a job failed, for a kernel that did not run it.
pub fn failed(job: &Job, label: &str, why: &str) -> JobResult {
    JobResult::failed(
        job,
        label.to_string(),
        &format!("kernel {label} did not run: {why}"),
    )
}
