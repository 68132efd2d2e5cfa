//! `ksc deploy`, `undeploy`, `status`, `attach`, `detach`, `package` and
//! the hidden `__supervise`: the command-line side of the ksc-deploy crate
//! (docs/deploy.md). Building and checking the program is ksc's own
//! (compile.rs); errors about the deployment file are diagnostics shown
//! with it, like the program's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codespan_reporting::term::termcolor::ColorChoice;
use ksc_deploy::config::{Attach, Deployment, XdpMode};
use ksc_frontend::FileId;

use crate::{read_source, report, CompileOpts, Source};

const EXIT_PROGRAM: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// What `ksc deploy --emit` writes instead of deploying.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum DeployEmit {
    /// bpfman's `BpfApplication` (bpfman.io/v1alpha1) on stdout.
    Bpfman,
}

/// The deployment file read and parsed alone (its own source map): enough
/// to find `spec.source` and the pin directory.
fn read_config(config: &Path, color: ColorChoice) -> Result<(String, Deployment), ExitCode> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: cannot read the deployment file `{}`: {e}",
                config.display()
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    let src = Source {
        files: ksc_frontend::SourceMap::single(config.display().to_string(), text.clone()),
    };
    let d = parse_config(&src, &text, FileId::MAIN, config, color)?;
    Ok((text, d))
}

/// The deployment file `yaml`, file `yid` of `src`, parsed; its errors
/// reported located.
fn parse_config(
    src: &Source,
    yaml: &str,
    yid: FileId,
    config: &Path,
    color: ColorChoice,
) -> Result<Deployment, ExitCode> {
    ksc_deploy::parse(yaml, yid).map_err(|diags| {
        report_deploy(
            src,
            &diags,
            color,
            &format!("`{}` is not a valid deployment file", config.display()),
        );
        ExitCode::from(EXIT_PROGRAM)
    })
}

/// The program file: given on the command line, else `spec.source`
/// (relative to the deployment file).
fn source_file(file: Option<PathBuf>, config: &Path, d: &Deployment) -> Result<PathBuf, ExitCode> {
    if let Some(f) = file {
        return Ok(f);
    }
    match &d.source {
        Some(s) => Ok(config.parent().unwrap_or(Path::new(".")).join(&s.value)),
        None => {
            eprintln!(
                "error: which program? give `ksc deploy FILE.ks --config={}` or `spec.source: FILE.ks` in it",
                config.display()
            );
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Check the program, build it unless its output is newer than its
/// sources and ksc, and parse the deployment file again into the
/// program's source map (so errors can point into both).
struct Built {
    src: Source,
    module: ksc_ir::Module,
    out: PathBuf,
    deployment: Deployment,
}

fn build(
    file: &Path,
    opts: &CompileOpts,
    config: &Path,
    yaml: &str,
    color: ColorChoice,
) -> Result<Built, ExitCode> {
    let btf = crate::load_btf(opts.btf.as_deref())?;
    let check = |color| -> Result<(Source, ksc_ir::Module), ExitCode> {
        let Some(mut src) = read_source(file, color) else {
            return Err(ExitCode::from(crate::input_error_code(file)));
        };
        let bridge = crate::python::LazyBridge::default();
        let Some((checked, diags)) =
            crate::check_source(&mut src, color, &bridge, None, btf.as_ref())
        else {
            return Err(ExitCode::from(EXIT_PROGRAM));
        };
        report(&src, &diags, color);
        match checked.module {
            Some(m) if !checked.has_errors() => Ok((src, m)),
            _ => Err(ExitCode::from(EXIT_PROGRAM)),
        }
    };
    let (mut src, module) = check(color)?;
    let out = opts.output.clone().unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| module.name.clone());
        Path::new("out").join(stem)
    });
    let object = out.join(format!("{}.ebpf.o", module.name));
    let newest_input = module
        .files
        .iter()
        .filter_map(|(_, f)| mtime(Path::new(&f.name)))
        .chain(std::env::current_exe().ok().and_then(|e| mtime(&e)))
        .max();
    let fresh = match (mtime(&object), newest_input) {
        (Some(o), Some(i)) => o > i,
        _ => false,
    };
    if fresh {
        eprintln!("using {} (up to date)", object.display());
    } else {
        let mut o = opts.clone();
        o.output = Some(out.clone());
        let code = crate::compile::compile(file, &o, crate::compile::Mode::Build, color);
        if code != ExitCode::SUCCESS {
            return Err(code);
        }
    }
    let yid = src
        .files
        .add(config.display().to_string(), yaml.to_string());
    let deployment = parse_config(&src, yaml, yid, config, color)?;
    Ok(Built {
        src,
        module,
        out,
        deployment,
    })
}

/// Show diagnostics about a deployment: like the program's, but closed
/// with what failed (not "could not compile").
fn report_deploy(src: &Source, diags: &[ksc_frontend::Diagnostic], color: ColorChoice, what: &str) {
    use codespan_reporting::term::termcolor::Buffer;
    let mut buf = if matches!(color, ColorChoice::Never) {
        Buffer::no_color()
    } else {
        Buffer::ansi()
    };
    ksc_frontend::diag::emit(&mut buf, &src.files, diags);
    let text = String::from_utf8_lossy(buf.as_slice()).into_owned();
    let shown = match text.rfind("could not compile") {
        Some(at) => &text[..text[..at].rfind('\n').map_or(0, |n| n + 1)],
        None => &text,
    };
    eprint!("{shown}");
    let n = diags.iter().filter(|d| d.is_error()).count();
    eprintln!("error: {what}: {n} error{}", if n == 1 { "" } else { "s" });
}

fn print_all(lines: &[String]) {
    for l in lines {
        println!("{l}");
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_PROGRAM)
}

/// `ksc deploy`
pub(crate) fn deploy(
    file: Option<PathBuf>,
    config: &Path,
    emit: Option<DeployEmit>,
    image: Option<String>,
    opts: &CompileOpts,
    color: ColorChoice,
) -> ExitCode {
    let (yaml, d) = match read_config(config, color) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let file = match source_file(file, config, &d) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let b = match build(&file, opts, config, &yaml, color) {
        Ok(b) => b,
        Err(c) => return c,
    };
    let object = b.out.join(format!("{}.ebpf.o", b.module.name));
    if let Some(DeployEmit::Bpfman) = emit {
        let Some(image) = image.or_else(|| b.deployment.image.as_ref().map(|i| i.value.clone()))
        else {
            eprintln!(
                "error: `--emit=bpfman` needs the bytecode image: `--image REF` or `spec.image` \
                 (make it with `ksc package {} --oci DIR --push REF`)",
                file.display()
            );
            return ExitCode::from(EXIT_USAGE);
        };
        // The same checks as a deployment, minus the local kernel's
        // interfaces (the fleet's nodes have their own).
        let progs = ksc_deploy::plan::programs(&b.module);
        let mut diags = Vec::new();
        for p in &b.deployment.programs {
            if !progs.iter().any(|(n, _, _)| *n == p.name.value) {
                diags.push(
                    ksc_frontend::Diagnostic::error(
                        ksc_frontend::diag::codes::DEPLOY_PLAN,
                        p.name.span,
                        format!(
                            "`{}` has no eBPF program `{}`",
                            b.module.source_path, p.name.value
                        ),
                    )
                    .with_label("unknown program"),
                );
            }
        }
        if !diags.is_empty() {
            report_deploy(&b.src, &diags, color, "nothing written");
            return ExitCode::from(EXIT_PROGRAM);
        }
        print!(
            "{}",
            ksc_deploy::oci::bpf_application(&b.deployment, &b.module, &image)
        );
        return ExitCode::SUCCESS;
    }
    let plan = match ksc_deploy::plan(&b.deployment, &b.module) {
        Ok(p) => p,
        Err(diags) => {
            report_deploy(
                &b.src,
                &diags,
                color,
                &format!("`{}` not deployed", b.deployment.name.value),
            );
            return ExitCode::from(EXIT_PROGRAM);
        }
    };
    let lines = match ksc_deploy::ops::deploy(&plan, &object) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    print_all(&lines);
    if let Some(u) = &b.deployment.userspace {
        if u.auto_start {
            let exe = b.out.join(&b.module.name);
            if !exe.exists() || b.module.main.is_none() {
                return fail(format!(
                    "`userspace: auto_start: true`, but `{}` has no `main` (no {} was built)",
                    file.display(),
                    exe.display()
                ));
            }
            let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
            let ksc = match std::env::current_exe() {
                Ok(k) => k,
                Err(e) => return fail(format!("cannot find ksc's own executable: {e}")),
            };
            let log = ksc_deploy::supervisor::log_path(&b.deployment.name.value);
            match ksc_deploy::supervisor::start(
                &ksc,
                &plan.dir,
                u.restart_policy,
                &log,
                &exe,
                &u.args,
            ) {
                Ok(l) => println!("{l}"),
                Err(e) => return fail(e),
            }
        }
    }
    println!(
        "deployed `{}` at {}",
        b.deployment.name.value,
        plan.dir.display()
    );
    ExitCode::SUCCESS
}

/// `ksc undeploy`
pub(crate) fn undeploy(config: &Path, color: ColorChoice) -> ExitCode {
    let (_, d) = match read_config(config, color) {
        Ok(x) => x,
        Err(c) => return c,
    };
    match ksc_deploy::ops::undeploy(&d.pin_dir(), !d.global_maps.cleanup_on_exit) {
        Ok(l) => {
            print_all(&l);
            println!("undeployed `{}`", d.name.value);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `ksc status`
pub(crate) fn status(config: Option<PathBuf>, json: bool, color: ColorChoice) -> ExitCode {
    let config = config.or_else(|| Some(PathBuf::from("deploy.yaml")).filter(|p| p.exists()));
    let dirs: Vec<PathBuf> = match &config {
        Some(c) => match read_config(c, color) {
            Ok((_, d)) => vec![d.pin_dir()],
            Err(code) => return code,
        },
        None => {
            let root = Path::new(ksc_deploy::config::DEFAULT_PIN_ROOT);
            let mut v: Vec<PathBuf> = std::fs::read_dir(root)
                .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            v.sort();
            v
        }
    };
    let all: Vec<ksc_deploy::Status> = dirs.iter().map(|d| ksc_deploy::ops::status(d)).collect();
    if json {
        let text = if config.is_some() {
            serde_json::to_string_pretty(&all[0])
        } else {
            serde_json::to_string_pretty(&all)
        };
        match text {
            Ok(t) => println!("{t}"),
            Err(e) => return fail(e),
        }
    } else if all.is_empty() {
        println!(
            "nothing deployed under {}",
            ksc_deploy::config::DEFAULT_PIN_ROOT
        );
    } else {
        for s in &all {
            print!("{}", s.render());
        }
    }
    ExitCode::SUCCESS
}

/// Where `ksc attach` attaches, from its flags.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct AttachTo {
    /// A kernel function (kprobe programs).
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// A network interface (XDP and TC programs).
    #[arg(long, value_name = "IFNAME")]
    interface: Option<String>,
    /// XDP mode: native, generic or offload [default: the kernel chooses].
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
    /// A tracepoint, CATEGORY/EVENT.
    #[arg(long, value_name = "CAT/EVENT")]
    tracepoint: Option<String>,
    /// An LSM hook.
    #[arg(long, value_name = "HOOK")]
    hook: Option<String>,
}

/// The program's type, read back from the pinned program's source: the
/// deployment file's entry names it, the `.ks` decides it.
fn deployed_type(
    d: &Deployment,
    config: &Path,
    prog: &str,
    color: ColorChoice,
) -> Result<ksc_ir::ProgramType, ExitCode> {
    if !d.programs.iter().any(|p| p.name.value == prog) {
        eprintln!("error: `{}` deploys no program `{prog}`", config.display());
        return Err(ExitCode::from(EXIT_USAGE));
    }
    // `ksc attach` has no FILE argument: the program's type comes from
    // the file's `spec.source`.
    let file = source_file(None, config, d)?;
    let Some(mut src) = read_source(&file, color) else {
        return Err(ExitCode::from(crate::input_error_code(&file)));
    };
    let bridge = crate::python::LazyBridge::default();
    let module = crate::check_source(&mut src, color, &bridge, None, None)
        .and_then(|(c, _)| c.module)
        .ok_or(ExitCode::from(EXIT_PROGRAM))?;
    ksc_deploy::plan::programs(&module)
        .into_iter()
        .find(|(n, _, _)| *n == prog)
        .map(|(_, t, _)| t.clone())
        .ok_or_else(|| {
            eprintln!("error: `{}` has no eBPF program `{prog}`", file.display());
            ExitCode::from(EXIT_PROGRAM)
        })
}

/// `ksc attach`
pub(crate) fn attach(prog: &str, config: &Path, to: &AttachTo, color: ColorChoice) -> ExitCode {
    let (_, d) = match read_config(config, color) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let given: Vec<Attach> = [
        to.interface.clone().map(Attach::Interface),
        to.tracepoint.clone().map(Attach::Tracepoint),
        to.hook.clone().map(Attach::Hook),
        to.function.clone().map(Attach::Function),
    ]
    .into_iter()
    .flatten()
    .collect();
    let ty = match deployed_type(&d, config, prog, color) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let a = match given.as_slice() {
        [a] => a.clone(),
        [] => match ksc_deploy::plan::default_attach(&ty) {
            Some(a) => a,
            None => {
                eprintln!("error: where? give `--interface=IFNAME` for `{prog}`");
                return ExitCode::from(EXIT_USAGE);
            }
        },
        _ => {
            eprintln!("error: give one of --interface, --tracepoint, --hook, --function");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mode = match to.mode.as_deref() {
        None => XdpMode::Default,
        Some("native" | "driver") => XdpMode::Native,
        Some("generic" | "skb") => XdpMode::Generic,
        Some("offload") => XdpMode::Offload,
        Some(m) => {
            eprintln!("error: unknown XDP mode `{m}`; use native, generic or offload");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let target = match ksc_deploy::plan::resolve(&ty, &a, mode) {
        Ok(t) => t,
        Err((msg, help)) => {
            eprintln!("error: {msg}\n  help: {help}");
            return ExitCode::from(EXIT_PROGRAM);
        }
    };
    match ksc_deploy::ops::attach(&d.pin_dir(), prog, &a, &target) {
        Ok(l) => {
            println!("{l}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `ksc detach`
pub(crate) fn detach(prog: &str, config: &Path, color: ColorChoice) -> ExitCode {
    let (_, d) = match read_config(config, color) {
        Ok(x) => x,
        Err(c) => return c,
    };
    match ksc_deploy::ops::detach(&d.pin_dir(), prog) {
        Ok(l) => {
            print_all(&l);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `ksc package`
pub(crate) fn package(
    file: &Path,
    oci: &Path,
    tag: &str,
    push: Option<&str>,
    opts: &CompileOpts,
    color: ColorChoice,
) -> ExitCode {
    let code = crate::compile::compile(file, opts, crate::compile::Mode::Build, color);
    if code != ExitCode::SUCCESS {
        return code;
    }
    let Some(mut src) = read_source(file, color) else {
        return ExitCode::from(crate::input_error_code(file));
    };
    let bridge = crate::python::LazyBridge::default();
    let Some(module) = crate::check_source(&mut src, ColorChoice::Never, &bridge, None, None)
        .and_then(|(c, _)| c.module)
    else {
        return ExitCode::from(EXIT_PROGRAM);
    };
    let out = opts.output.clone().unwrap_or_else(|| {
        Path::new("out").join(
            file.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    });
    let object = out.join(format!("{}.ebpf.o", module.name));
    match ksc_deploy::oci::package(&module, &object, oci, tag) {
        Ok(digest) => println!(
            "wrote bpfman bytecode image {}:{tag} ({digest})",
            oci.display()
        ),
        Err(e) => return fail(e),
    }
    if let Some(r) = push {
        if let Err(e) = ksc_deploy::oci::push(oci, tag, r) {
            return fail(e);
        }
        println!("pushed {r}");
    }
    ExitCode::SUCCESS
}

/// `ksc __supervise` (started by `ksc deploy`).
pub(crate) fn supervise(dir: &Path, policy: &str, log: &Path, cmd: &[String]) -> ExitCode {
    let Some(policy) = ksc_deploy::RestartPolicy::parse(policy) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let Some((exe, args)) = cmd.split_first() else {
        return ExitCode::from(EXIT_USAGE);
    };
    let code = ksc_deploy::supervisor::run(dir, policy, log, Path::new(exe), args);
    ExitCode::from(code as u8)
}
