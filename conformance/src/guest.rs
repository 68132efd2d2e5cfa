//! Running a batch of built cases inside a Debian kernel under qemu
//! (through ksc-qemu): one boot per kernel runs every job, with this
//! program itself as the executor (`ksc-conformance exec PLAN`).

use std::path::Path;
use std::time::Duration;

use crate::exec::{Job, JobResult};

/// Kernel labels ksc-qemu can fetch and boot (`latest` is sid's newest,
/// 7.2 today).
pub const KERNELS: &[&str] = &["5.10", "6.1", "6.12", "7.2", "latest"];

/// Runs `jobs` in kernel `label` (one boot; `batch` tells apart boots of
/// the same kernel running side by side): its `uname -r` and each job's
/// result (in the order of `jobs`). `say` reports progress.
pub fn run(
    label: &str,
    batch: usize,
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
    if let Some(l) = std::env::var_os("KSC_CONF_LOADER") {
        programs.push(l.to_string_lossy().into_owned());
    }
    let mut plan: Vec<Job> = vec![];
    // Whether modules can be built for this kernel here at all.
    let unbuildable = if jobs.iter().any(|j| j.kmod.is_some()) {
        match ksc_qemu::kernel_build_tree(label, say) {
            Err(e @ ksc_qemu::Error::Toolchain(_)) => Some(e.to_string()),
            _ => None,
        }
    } else {
        None
    };
    let mut with_libs: Vec<String> = vec![];
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
            // The kernel module, built for this kernel (a job without it
            // fails with "not built for this kernel").
            let too_old = job
                .case
                .requires()
                .is_some_and(|want| crate::exec::version_of(&kernel.release) < want);
            if let Some(name) = job
                .kmod
                .as_ref()
                .filter(|_| !too_old && unbuildable.is_none())
            {
                match kmod_for(label, &job.out, name, work, say) {
                    // Beside the executable, where its loader looks (`prog.ks` -> `prog.ko`).
                    Ok(ko) => files.push((ko, format!("{out_dir}/prog.ko"))),
                    Err(e) => say(&format!("{}: {e}", job.case.name)),
                }
            }
            // Its shared libraries (libbpf and libelf for c-libbpf,
            // libgcc_s for rust-aya, ...) come with it: one executable of
            // each target brings them.
            let exe = job.out.join("prog").to_string_lossy().into_owned();
            if !with_libs.contains(&job.target) {
                with_libs.push(job.target.clone());
                programs.push(exe);
            }
        }
        let mut j = (*job).clone();
        if j.kmod.is_some() {
            j.kmod_unbuildable.clone_from(&unbuildable);
        }
        j.case.dir = case_dir.into();
        j.out = out_dir.into();
        plan.push(j);
    }
    let plan_file = work.join(format!("plan-{label}-{batch}.json"));
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

/// The module of the build in `out` built against kernel `label`'s build
/// tree (prepared once, see ksc-qemu), in a copy of its `kmod/` under
/// `work`; checked for module BTF.
fn kmod_for(
    label: &str,
    out: &Path,
    name: &str,
    work: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<std::path::PathBuf, String> {
    let rel = out.strip_prefix(work).unwrap_or(out);
    let dir = work.join(format!("kmod-{label}")).join(rel);
    let kdir = ksc_qemu::module_build_dir(label, out, &dir, say)?;
    say(&format!("building {name}.ko"));
    let o = std::process::Command::new("make")
        .arg("-C")
        .arg(dir.join("kmod"))
        .arg(format!("KDIR={}", kdir.display()))
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "building {name}.ko failed: {}",
            tail(&String::from_utf8_lossy(&o.stderr))
        ));
    }
    let ko = dir.join("kmod").join(format!("{name}.ko"));
    let bytes = std::fs::read(&ko).map_err(|e| format!("{}: {e}", ko.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| e.to_string())?;
    for s in [".BTF", ".BTF_ids"] {
        if !elf
            .section_headers
            .iter()
            .any(|h| elf.shdr_strtab.get_at(h.sh_name) == Some(s))
        {
            return Err(format!("{name}.ko has no {s} section (no module BTF)"));
        }
    }
    Ok(ko)
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
