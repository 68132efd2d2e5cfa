//! `ksc test FILE.ks --kernel 5.10,6.1,6.12`: the built program's `@test`
//! functions run inside each of those kernels under qemu (ksc-qemu, the
//! conformance runner's machinery), one boot per kernel, and a table
//! shows each test's result per kernel (docs/kernels.md). A kernel that
//! lacks something the program uses is not booted: its column says what
//! (the located error is shown). Exit status 0 only when every test
//! passed on every kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use ksc_frontend::Diagnostic;
use ksc_ir::{FnKind, Module};

/// One kernel's run.
struct Column {
    label: String,
    release: String,
    /// Per test, in the program's order: `ok`, `FAILED`, or why not run.
    results: Vec<String>,
    /// The whole kernel passed.
    passed: bool,
    /// Why the kernel did not run the tests, if it did not.
    problem: Option<String>,
}

/// Runs the tests of the program built in `out` in each kernel of
/// `labels`; `report` shows located diagnostics.
pub(crate) fn run(
    out: &Path,
    module: &Module,
    labels: &[String],
    report: &mut dyn FnMut(&[Diagnostic]),
) -> ExitCode {
    let tests: Vec<&str> = module
        .functions
        .iter()
        .filter(|f| f.kind == FnKind::Test)
        .map(|f| f.name.as_str())
        .collect();
    if tests.is_empty() {
        eprintln!("error: `{}` has no `@test` functions", module.source_path);
        return ExitCode::from(1);
    }
    let exe = out.join(&module.name);
    if !exe.exists() {
        eprintln!(
            "error: the target built no program at `{}` to test (use a target with a userspace backend, such as c-libbpf)",
            exe.display()
        );
        return ExitCode::from(2);
    }
    let mut columns = vec![];
    for label in labels {
        let col = run_one(out, module, &exe, label, &tests, report);
        if let Some(p) = &col.problem {
            eprintln!("kernel {label}: {p}");
        }
        columns.push(col);
    }
    print_table(&tests, &columns);
    if columns.iter().all(|c| c.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn not_run(label: &str, tests: &[&str], short: &str, why: String) -> Column {
    Column {
        label: label.to_string(),
        release: "-".into(),
        results: vec![short.to_string(); tests.len()],
        passed: false,
        problem: Some(why),
    }
}

fn run_one(
    out: &Path,
    module: &Module,
    exe: &Path,
    label: &str,
    tests: &[&str],
    report: &mut dyn FnMut(&[Diagnostic]),
) -> Column {
    // What the kernel lacks, from the tables and its BTF when cached.
    match crate::target::resolve(label) {
        Ok(t) => {
            let lacking = ksc_midend::kernels::check_target(module, &t);
            if lacking.iter().any(Diagnostic::is_error) {
                // The program itself compiled: for this kernel's column
                // each use it lacks is shown, as a warning (the table
                // and the exit status say the run failed).
                let shown: Vec<Diagnostic> = lacking
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| {
                        let mut w = Diagnostic::warning(
                            ksc_frontend::diag::codes::BUILD_WARN,
                            d.span,
                            format!("not run on {label}: {}", d.message),
                        );
                        w.help = d.help.clone();
                        w
                    })
                    .collect();
                report(&shown);
                let first = lacking
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| d.message.clone())
                    .unwrap_or_default();
                return not_run(label, tests, "n/a", format!("not run: {first}"));
            }
        }
        Err(e) => return not_run(label, tests, "n/a", e),
    }
    // ksc-qemu's messages name the kernel already.
    let mut say = |m: &str| eprintln!("{m}");
    let kernel = match ksc_qemu::fetch(label, &mut say) {
        Ok(k) => k,
        Err(e) => return not_run(label, tests, "error", e.to_string()),
    };
    let name = &module.name;
    let mut files: Vec<(PathBuf, String)> = vec![(exe.to_path_buf(), format!("/ksc/test/{name}"))];
    if out.join("kmod/Makefile").exists() {
        match kmod_for(label, out, name, &mut say) {
            Ok(ko) => files.push((ko, format!("/ksc/test/{name}.ko"))),
            Err(e) => return not_run(label, tests, "error", e),
        }
    }
    let guest = ksc_qemu::Guest {
        files,
        // The executable again, for the shared libraries it needs.
        programs: vec![exe.to_string_lossy().into_owned()],
        modules: vec!["veth".into(), "sch_ingress".into(), "cls_bpf".into()],
        script: format!(
            "uname -r > \"$KSC_OUT\"\ncd /ksc/test && KSC_TEST=1 ./{name} >> \"$KSC_OUT\" 2>&1\necho \"exit $?\" >> \"$KSC_OUT\"\n"
        ),
        timeout: Duration::from_secs(180 + 20 * tests.len() as u64),
        memory_mb: 1024,
        ..ksc_qemu::Guest::default()
    };
    say(&format!(
        "kernel {label}: booting {} under qemu",
        kernel.release
    ));
    let outcome = match ksc_qemu::boot(&kernel, &guest) {
        Ok(o) => o,
        Err(e) => return not_run(label, tests, "error", e.to_string()),
    };
    let mut lines = outcome.output.lines();
    let release = lines.next().unwrap_or("").trim().to_string();
    let text: Vec<&str> = lines.collect();
    let results: Vec<String> = tests
        .iter()
        .map(|t| {
            let prefix = format!("test {t} ... ");
            text.iter()
                .find_map(|l| l.strip_prefix(&prefix))
                .map(|r| {
                    if r.starts_with("ok") {
                        "ok".to_string()
                    } else {
                        "FAILED".to_string()
                    }
                })
                .unwrap_or_else(|| "not run".into())
        })
        .collect();
    let exit = text
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("exit "))
        .and_then(|s| s.trim().parse::<i32>().ok());
    let passed = exit == Some(0) && results.iter().all(|r| r == "ok");
    let problem = (!passed).then(|| {
        let shown: Vec<&str> = text
            .iter()
            .copied()
            .filter(|l| !l.starts_with("exit "))
            .collect();
        format!(
            "the tests' output in {release}:\n{}",
            shown[shown.len().saturating_sub(20)..].join("\n")
        )
    });
    Column {
        label: label.to_string(),
        release,
        results,
        passed,
        problem,
    }
}

fn print_table(tests: &[&str], columns: &[Column]) {
    let first = tests
        .iter()
        .map(|t| t.len())
        .chain(["kernel".len(), "release".len()])
        .max()
        .unwrap_or(6);
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| {
            c.results
                .iter()
                .map(String::len)
                .chain([c.label.len(), c.release.len(), "FAILED".len()])
                .max()
                .unwrap_or(6)
        })
        .collect();
    let row = |head: &str, cells: Vec<&str>| {
        let mut line = format!("{head:<first$}");
        for (c, w) in cells.iter().zip(&widths) {
            line.push_str(&format!("  {c:<w$}"));
        }
        println!("{}", line.trim_end());
    };
    row("kernel", columns.iter().map(|c| c.label.as_str()).collect());
    row(
        "release",
        columns.iter().map(|c| c.release.as_str()).collect(),
    );
    for (i, t) in tests.iter().enumerate() {
        row(t, columns.iter().map(|c| c.results[i].as_str()).collect());
    }
    let verdicts: Vec<&str> = columns
        .iter()
        .map(|c| if c.passed { "ok" } else { "FAILED" })
        .collect();
    row("result", verdicts);
}

/// The program's kernel module built for kernel `label` (its build tree
/// prepared once by ksc-qemu), in a copy of `kmod/` beside the output.
fn kmod_for(
    label: &str,
    out: &Path,
    name: &str,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf, String> {
    let dir = out.join(format!("kmod-{label}"));
    let kdir = ksc_qemu::module_build_dir(label, out, &dir, say)?;
    say(&format!("kernel {label}: building {name}.ko"));
    let o = Command::new("make")
        .arg("-C")
        .arg(dir.join("kmod"))
        .arg(format!("KDIR={}", kdir.display()))
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "building {name}.ko for {label} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    // The Makefile leaves it beside `kmod/`, where the sources are.
    let ko = dir.join(format!("{name}.ko"));
    crate::kmod::check_btf(&ko)?;
    Ok(ko)
}
