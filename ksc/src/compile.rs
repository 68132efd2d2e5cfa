//! Compile mode (`ksc FILE.ks`, `ksc build FILE.ks`) and the `plugins` and
//! `targets` listings: check the program, run the target's backend plugins
//! in order, write their files, and run the target's build command.

use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use codespan_reporting::term::termcolor::ColorChoice;
use ksc_plugins::targets::{Capability, Listed, Origin, Target, Targets, DEFAULT_TARGET};
use ksc_plugins::{Error as PluginError, Generated, Registry, Severity};

use crate::{input_error_code, read_source, report, CompileOpts, Source};

/// Exit statuses (see the crate docs).
const EXIT_PROGRAM: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_PLUGIN: u8 = 3;

/// `ksc FILE.ks` (`build == false`) and `ksc build FILE.ks`.
pub(crate) fn compile(file: &Path, opts: &CompileOpts, mode: Mode, color: ColorChoice) -> ExitCode {
    // The target first: a typo there needs no parsing to be told.
    let targets = Targets::from_env();
    let target = match targets.resolve(opts.target.as_deref().unwrap_or(DEFAULT_TARGET)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            for p in &targets.problems {
                eprintln!("warning: {p}");
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The target's file says whether its build makes a program that can
    // run the tests: refused before anything is checked or built.
    if mode == Mode::Test && !target.has(Capability::Userspace) {
        let able: Vec<&str> = targets
            .targets
            .values()
            .filter(|t| t.has(Capability::Userspace))
            .map(|t| t.name.as_str())
            .collect();
        eprintln!(
            "error: target `{}` builds no userspace program, so it cannot run `@test` functions\n\
             help: use a target with the `userspace` capability: {}",
            target.name,
            able.join(", ")
        );
        return ExitCode::from(EXIT_USAGE);
    }

    if !file.exists() && file.extension().is_none() && file.components().count() == 1 {
        eprintln!(
            "error: `{}` is neither a command nor a file; commands: check, parse, build, test, \
             init, plugins, plugin, targets, deploy, undeploy, status, attach, detach, package \
             (see `ksc --help`)",
            file.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    // `ksc test --kernel A,B`: the tests run inside those kernels under
    // qemu; the program is checked against each there. Otherwise the
    // chosen kernel is what the program is checked for.
    let test_kernels: Option<Vec<String>> = match (mode, &opts.kernel) {
        (Mode::Test, Some(k)) => Some(
            k.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        _ => None,
    };
    if let Some(bad) = test_kernels
        .iter()
        .flatten()
        .find(|k| !crate::target::is_label(k))
    {
        eprintln!(
            "error: `ksc test --kernel` takes kernel labels to boot under qemu (5.10, 6.1, 6.12, 7.2, latest), separated by commas; `{bad}` is not one"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let kernel = match (&test_kernels, opts.kernel.as_deref()) {
        (None, Some(k)) => match crate::target::resolve(k) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        },
        _ => None,
    };
    let btf = match crate::load_btf(opts.btf.as_deref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let Some(mut src) = read_source(file, color) else {
        return ExitCode::from(input_error_code(file));
    };
    // Loaded at most once: the check asks it about `.py` imports, the
    // build below for what the loader links.
    let bridge = crate::python::LazyBridge::default();
    let Some((checked, diags)) =
        crate::check_source(&mut src, color, &bridge, kernel.as_ref(), btf.as_ref())
    else {
        return ExitCode::from(EXIT_PROGRAM);
    };
    report(&src, &diags, color);
    let module = match checked.module {
        Some(m) if !checked.diagnostics.iter().any(|d| d.is_error()) => m,
        _ => return ExitCode::from(EXIT_PROGRAM),
    };

    let out_dir = opts.output.clone().unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| module.name.clone());
        Path::new("out").join(stem)
    });

    // Load every plugin before running any, so that a missing one fails
    // before anything is written.
    let backends = target.backends_for(&module);
    let registry = Registry::from_env();
    let mut plugins = Vec::new();
    for name in &backends {
        match registry.load(name) {
            Ok(p) => plugins.push(p),
            Err(e) => {
                eprintln!(
                    "error: target `{}` needs the backend plugin `{name}`: {e}",
                    target.name
                );
                let code = if e.is_setup_problem() {
                    EXIT_USAGE
                } else {
                    EXIT_PLUGIN
                };
                return ExitCode::from(code);
            }
        }
    }

    let mut options = ksc_plugins::Options {
        target: target.name.clone(),
        backends: backends.clone(),
        settings: target.settings.clone(),
        capabilities: target.capabilities.clone(),
    };
    // The loaders' compile-time choices follow the chosen kernel's release.
    if let Some(r) = kernel.as_ref().and_then(|k| k.release) {
        options
            .settings
            .insert("kernel-release".into(), r.to_string());
    }
    let mut files: Vec<(PathBuf, Vec<u8>, String)> = Vec::new();
    if !module.python_modules.is_empty() {
        // What the C loader links for the Python calls (the bridge's
        // static library, the `.py` files to copy).
        match bridge.build_inputs(&module) {
            Ok((settings, extra)) => {
                options.settings.extend(settings);
                files.extend(
                    extra
                        .into_iter()
                        .map(|(p, c)| (p, c, "python-bridge".into())),
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    // The scripts `exec` runs, next to the executable (docs/language.md,
    // "`exec` into Python"); one also imported is copied once.
    for script in &module.exec_scripts {
        let path = PathBuf::from(&script.file);
        if files.iter().any(|(p, _, _)| *p == path) {
            continue;
        }
        match std::fs::read(&script.path) {
            Ok(text) => files.push((path, text, "exec".into())),
            Err(e) => {
                eprintln!("error: cannot read Python script `{}`: {e}", script.path);
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    for plugin in &plugins {
        let name = &plugin.info.name;
        match plugin.generate(&module, &options) {
            Ok(Generated {
                files: out,
                diagnostics,
            }) => {
                // An error fails the build even when the plugin said `Ok`:
                // nothing is written.
                if report_plugin_diags(&src, name, &diagnostics, color) {
                    return ExitCode::from(EXIT_PROGRAM);
                }
                for (path, contents) in out {
                    if let Some((_, _, other)) = files.iter().find(|(p, _, _)| *p == path) {
                        eprintln!(
                            "error: backends `{other}` and `{name}` both generate `{}`",
                            path.display()
                        );
                        if path == Path::new("Makefile") && !target.has(Capability::Userspace) {
                            // ebpf-c leaves the Makefile to a userspace
                            // backend only when the target says it has one.
                            eprintln!(
                                "help: a target with a userspace backend declares \
                                 `capabilities: [\"userspace\"]` (targets/README.md)"
                            );
                        }
                        return ExitCode::from(EXIT_PLUGIN);
                    }
                    files.push((path, contents, name.clone()));
                }
            }
            Err(PluginError::Failed {
                diagnostics,
                ref message,
                ..
            }) => {
                if !report_plugin_diags(&src, name, &diagnostics, color) {
                    eprintln!("error: backend `{name}` failed: {message}");
                }
                return ExitCode::from(EXIT_PROGRAM);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_PLUGIN);
            }
        }
    }

    if let Err(e) = write_files(&out_dir, &files) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    eprintln!(
        "wrote {} file{} to {} (target {}: {})",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        out_dir.display(),
        target.name,
        backends.join(", ")
    );

    if mode == Mode::Emit {
        return ExitCode::SUCCESS;
    }
    let built = match &target.build {
        None => {
            eprintln!("target `{}` has nothing to build", target.name);
            ExitCode::SUCCESS
        }
        Some(b) => run_build(&b.command, &out_dir, &target.name),
    };
    if built != ExitCode::SUCCESS {
        return built;
    }
    let mut located = |d: &[ksc_frontend::Diagnostic]| report(&src, d, color);
    if let Some(labels) = &test_kernels {
        // Each kernel gets its own build of the module, in qemu_test.
        return crate::qemu_test::run(&out_dir, &module, labels, &mut located);
    }
    if let Err(e) = crate::kmod::build(&out_dir, &module, opts.kernel.as_deref(), &mut located) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_PROGRAM);
    }
    if mode == Mode::Build || built != ExitCode::SUCCESS {
        return built;
    }
    run_tests(&out_dir.join(&module.name), &module)
}

/// What `compile` does after checking the program.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Write the backends' files.
    Emit,
    /// Write them and run the target's build.
    Build,
    /// Build, then run the program's `@test` functions (`ksc test`).
    Test,
}

/// Run the built program in test mode: its `@test` functions, each
/// reported as `ok` or `FAILED`; the exit status says whether all passed.
fn run_tests(exe: &Path, module: &ksc_ir::Module) -> ExitCode {
    if !module
        .functions
        .iter()
        .any(|f| f.kind == ksc_ir::FnKind::Test)
    {
        eprintln!("error: `{}` has no `@test` functions", module.source_path);
        return ExitCode::from(EXIT_PROGRAM);
    }
    if !exe.exists() {
        eprintln!(
            "error: the target built no program at `{}` to test (use a target with a userspace backend, such as c-libbpf)",
            exe.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    match Command::new(exe).env("KSC_TEST", "1").status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(EXIT_PROGRAM),
        Err(e) => {
            eprintln!("error: cannot run `{}`: {e}", exe.display());
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn write_files(dir: &Path, files: &[(PathBuf, Vec<u8>, String)]) -> Result<(), String> {
    let mkdir = |d: &Path| {
        std::fs::create_dir_all(d)
            .map_err(|e| format!("cannot create the output directory `{}`: {e}", d.display()))
    };
    mkdir(dir)?;
    for (rel, contents, _) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            mkdir(parent)?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// Show a backend's diagnostics in the order it gave them, through the
/// same renderer as ksc's own (so the summary counts every error): located
/// ones rustc-style with the source line, the others as one line with the
/// note. Returns whether any is an error.
fn report_plugin_diags(
    src: &Source,
    backend: &str,
    diags: &[ksc_plugins::Diag],
    color: ColorChoice,
) -> bool {
    // A span in no file of the program: rendered without a source line.
    const NOWHERE: ksc_ir::Span = ksc_ir::Span {
        file: ksc_ir::FileId(u32::MAX),
        start: 0,
        end: 0,
    };
    let shown: Vec<ksc_frontend::Diagnostic> = diags
        .iter()
        .map(|d| {
            let severity = match d.severity {
                Severity::Error => ksc_frontend::diag::Severity::Error,
                Severity::Warning => ksc_frontend::diag::Severity::Warning,
                Severity::Note => ksc_frontend::diag::Severity::Note,
            };
            // The plugin ABI carries no code (plugins/abi's `Diagnostic`).
            ksc_frontend::Diagnostic::uncoded(severity, d.span.unwrap_or(NOWHERE), &d.message)
                .with_note(format!("reported by the `{backend}` backend"))
        })
        .collect();
    report(src, &shown, color);
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// Run the target's build command in the output directory: with a spinner
/// when stderr is a terminal (the tool's output is shown when it is done:
/// its errors and warnings always, everything when it failed), else with
/// the tool's output passed straight through.
fn run_build(command: &[String], dir: &Path, target: &str) -> ExitCode {
    let shown = command.join(" ");
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .current_dir(dir)
        .stdin(Stdio::null());
    let interactive = std::io::stderr().is_terminal();
    let status = if interactive {
        run_with_spinner(cmd, &command[0], dir)
    } else {
        // The build's chatter goes to stderr like ksc's own: stdout stays
        // for what the user asked for (`ksc test`'s report).
        match std::io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => {
                cmd.stdout(Stdio::from(fd));
            }
            Err(_) => {
                cmd.stdout(Stdio::null());
            }
        }
        cmd.status().map(|s| (s, String::new()))
    };
    match status {
        Err(e) => {
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                "not found".to_string()
            } else {
                e.to_string()
            };
            eprintln!(
                "error: cannot run `{shown}` (the build command of target `{target}`) in `{}`: {reason}",
                dir.display()
            );
            ExitCode::from(EXIT_USAGE)
        }
        Ok((status, output)) => {
            eprint!("{output}");
            if status.success() {
                eprintln!("built {} with `{shown}`", dir.display());
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "error: the build failed: `{shown}` in `{}` exited with {status}",
                    dir.display()
                );
                ExitCode::from(EXIT_PROGRAM)
            }
        }
    }
}

/// Run with piped output and a spinner showing the latest line. Returns the
/// status and the output to show afterwards.
fn run_with_spinner(
    mut cmd: Command,
    program: &str,
    dir: &Path,
) -> std::io::Result<(std::process::ExitStatus, String)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    let streams: [(bool, Option<Box<dyn Read + Send>>); 2] = [
        (false, child.stdout.take().map(|s| Box::new(s) as _)),
        (true, child.stderr.take().map(|s| Box::new(s) as _)),
    ];
    for (is_err, stream) in streams {
        let Some(stream) = stream else { continue };
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                match line {
                    Ok(l) => {
                        if tx.send((is_err, l)).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    drop(tx);

    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {prefix}: {wide_msg}") {
        bar.set_style(style);
    }
    bar.set_prefix(format!("building {} ({program})", dir.display()));
    bar.enable_steady_tick(Duration::from_millis(100));
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((is_err, line)) => {
                bar.set_message(line.chars().take(100).collect::<String>());
                lines.push((is_err, line));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait()?;
    bar.finish_and_clear();
    let mut output = String::new();
    for (is_err, line) in lines {
        if is_err || !status.success() {
            output.push_str(&line);
            output.push('\n');
        }
    }
    Ok((status, output))
}

/// `ksc plugins`
pub(crate) fn list_plugins() -> ExitCode {
    let registry = Registry::from_env();
    let listing = registry.list();
    if listing.plugins.is_empty() {
        println!("no backend plugins found");
    }
    for (p, shadowed) in &listing.plugins {
        let mut notes = Vec::new();
        if !p.compatible() {
            notes.push(format!(
                "incompatible: accepts IR version {}, ksc produces {}",
                p.ir_version,
                ksc_ir::IR_VERSION
            ));
        }
        if *shadowed {
            notes.push("shadowed by an earlier plugin of this name".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", notes.join("; "))
        };
        println!(
            "{} {} (IR {}, ABI {}): {} [outputs: {}]{notes}\n    {}",
            p.name,
            p.version,
            p.ir_version,
            p.abi_version,
            p.description,
            p.output_kinds.join(", "),
            p.path.display()
        );
        if let Some(h) = &p.homepage {
            println!("    {h}");
        }
    }
    for (_, e) in &listing.broken {
        eprintln!("warning: skipped: {e}");
    }
    println!(
        "\nsearched, in order (KSC_PLUGIN_PATH adds directories first):\n{}",
        registry
            .dirs()
            .iter()
            .map(|d| format!("    {}", d.display()))
            .collect::<Vec<_>>()
            .join("\n")
    );
    ExitCode::SUCCESS
}

/// `ksc targets`; `ron`: the same as data for tools (`Listed`, read by
/// the conformance runner), every target with its capabilities.
pub(crate) fn list_targets(ron: bool) -> ExitCode {
    let targets = Targets::from_env();
    if ron {
        let list: Vec<Listed> = targets.targets.values().map(Target::listed).collect();
        println!("{}", Listed::to_ron(&list));
    } else {
        for t in targets.targets.values() {
            println!("{}{}: {}", t.name, default_mark(t), t.description);
            let mut backends = t.backends.join(", ");
            if !t.when_kfuncs.is_empty() {
                backends.push_str(&format!(" (+ {} with @kfunc)", t.when_kfuncs.join(", ")));
            }
            println!("    backends: {backends}");
            match &t.build {
                Some(b) => println!(
                    "    build: {} (in the output directory)",
                    b.command.join(" ")
                ),
                None => println!("    build: none"),
            }
            if !t.capabilities.is_empty() {
                let c: Vec<&str> = t.capabilities.iter().map(|c| c.as_str()).collect();
                println!("    capabilities: {}", c.join(", "));
            }
            if let Origin::File(f) = &t.origin {
                println!("    from {}", f.display());
            }
        }
    }
    for p in &targets.problems {
        eprintln!("warning: {p}");
    }
    ExitCode::SUCCESS
}

fn default_mark(t: &Target) -> &'static str {
    if t.name == DEFAULT_TARGET {
        " (default)"
    } else {
        ""
    }
}
