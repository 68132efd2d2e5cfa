//! `ksc`, the KernelScript compiler.
//!
//! The command line drives the pipeline: source → frontend (parse) → midend
//! (check, lower to IR) → backend plugins → files → build. Exit status: 0 on
//! success, 1 when the program has errors (diagnostics on stderr, ksc's or a
//! backend's) or its build failed, 2 when ksc itself was used wrongly or is
//! set up wrongly (bad arguments, unreadable file, unknown target, a backend
//! plugin missing or incompatible, the build tool missing), 3 when a backend
//! plugin failed (panicked, answered nonsense).

mod compile;
mod deploy;
mod explain;
mod fmt;
mod init;
mod kmod;
mod plugin_new;
mod python;
mod qemu_test;
mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use ksc_frontend::{diag, FileId, SourceMap};

/// Source files larger than this are refused: no KernelScript program is
/// that big, and it bounds the work any input can cause.
const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// The compiler's own stack: generous, so that recursive passes over the
/// (depth-limited) syntax tree never come near it.
const STACK_BYTES: usize = 256 << 20;

#[derive(Parser)]
#[command(
    name = "ksc",
    version,
    about = "The KernelScript compiler",
    long_about = None,
    arg_required_else_help = true,
    override_usage = "ksc [OPTIONS] FILE.ks [--target=NAME] [-o DIR]\n       ksc [OPTIONS] <COMMAND>",
    after_help = "Compile: `ksc FILE.ks [--target=NAME] [-o DIR]` runs the target's backend plugins \
                  and writes their files to DIR (default: out/<file stem>); `ksc build` also builds them."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The KernelScript source file to compile (.ks).
    file: Option<PathBuf>,

    #[command(flatten)]
    compile: CompileOpts,

    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Where compiled output goes and how it is produced.
#[derive(Args, Clone, Debug, Default)]
struct CompileOpts {
    /// The target: which backends run and how their output is built (`ksc targets`
    /// lists them); a name, or a target .ron file. [default: c-libbpf]
    #[arg(long, short = 't', value_name = "NAME")]
    target: Option<String>,
    /// The output directory. [default: out/<file stem>]
    #[arg(long, short = 'o', value_name = "DIR")]
    output: Option<PathBuf>,
    /// The kernel to build for: each use it lacks is a located error
    /// (docs/kernels.md), and the program's kernel module (its @kfunc
    /// functions) is built for it. A Debian label (5.10, 6.1, 6.12, 7.2,
    /// latest), a release (with /lib/modules/<release>/build for the
    /// module), a build tree (directory) or a BTF file. `ksc test` takes a
    /// list (5.10,6.12) and runs the tests in each under qemu.
    /// [env: KSC_KERNEL, for the module only; default: the running kernel]
    #[arg(long, value_name = "LABEL|RELEASE|DIR|BTF")]
    kernel: Option<String>,
    /// Check against this kernel BTF (raw, as a copy of another kernel's
    /// /sys/kernel/btf/vmlinux, or a vmlinux ELF) instead of the running
    /// kernel's: kernel structs, tracepoint contexts, struct_ops, kfuncs.
    /// [env: KSC_BTF]
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
}

/// `ksc plugin ...`.
#[derive(Subcommand)]
enum PluginAction {
    /// Write an out-of-tree backend plugin crate (`ksc-backend-NAME/`) that
    /// builds with cargo and runs as it is, with a target file naming it.
    New {
        /// The backend's name, as targets name it (lowercase, digits, `-`).
        name: String,
        /// The `plugins/abi` directory of ksc's source to build against
        /// [default: this ksc's, when built from a checkout].
        #[arg(long, value_name = "DIR")]
        abi_path: Option<PathBuf>,
        /// Where to write the crate [default: ./ksc-backend-NAME].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Check a program: exit 0 if it is valid, 1 with diagnostics if not.
    Check {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        /// Also print the checked program.
        #[arg(long, value_enum)]
        emit: Option<CheckEmit>,
        /// Check for this kernel: each use it lacks is a located error (a
        /// label such as 5.10, a release, a build tree or a BTF file).
        #[arg(long, value_name = "LABEL|RELEASE|DIR|BTF")]
        kernel: Option<String>,
        /// Check against this kernel BTF (raw, or a vmlinux ELF) instead
        /// of the running kernel's. [env: KSC_BTF]
        #[arg(long, value_name = "FILE")]
        btf: Option<PathBuf>,
    },
    /// Parse a program and print its syntax tree.
    Parse {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = ParseEmit::Ast)]
        emit: ParseEmit,
    },
    /// Compile a program, then build the output with the target's build command.
    Build {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        #[command(flatten)]
        opts: CompileOpts,
    },
    /// Build a program, then run its `@test` functions (each calls `test()`
    /// to run an eBPF program once in the kernel); exit 0 if all pass.
    Test {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        #[command(flatten)]
        opts: CompileOpts,
    },
    /// Start a project: a directory NAME with a program template of KIND
    /// typed from the kernel's BTF, a README and a Makefile.
    #[command(
        after_help = "KIND: xdp, tc, tracepoint/CAT/EVENT, probe/FUNCTION, struct_ops/TYPE\n\
                            e.g. `ksc init tracepoint/sched/sched_switch switches`"
    )]
    Init {
        /// The program kind: xdp, tc, tracepoint/CAT/EVENT, probe/FUNCTION, struct_ops/TYPE.
        kind: String,
        /// The project directory; its name is the program's.
        name: PathBuf,
        /// Also write KIND_kfuncs.kh: `extern` declarations of the kfuncs the
        /// kernel offers this kind of program.
        #[arg(long)]
        kfuncs: bool,
        /// Read the kernel types from this raw BTF file instead of
        /// /sys/kernel/btf/vmlinux (another kernel's).
        #[arg(long, value_name = "FILE")]
        btf: Option<PathBuf>,
    },
    /// Serve an editor: the language server, over stdin/stdout (see
    /// docs/editors.md).
    Lsp,
    /// Format source files in the canonical layout, in place; directories
    /// are searched for .ks and .kh files; `-` formats stdin to stdout.
    Fmt {
        /// Change nothing: list the files that are not formatted (with the
        /// first difference) and exit 1 if there are any.
        #[arg(long)]
        check: bool,
        /// Files, directories, or `-` for stdin.
        #[arg(required = true, value_name = "FILE|DIR|-")]
        files: Vec<PathBuf>,
    },
    /// List the backend plugins found, with their versions and files.
    Plugins,
    /// Work on backend plugins: `ksc plugin new NAME` writes a plugin crate.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
    /// List the targets.
    Targets {
        /// `ron`: as RON data for tools (name, description, backends,
        /// build, capabilities) instead of text.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Explain a diagnostic code (`E0501`): what it means, a wrong example
    /// and its fix.
    Explain {
        /// The code, as shown in `error[E0501]`.
        code: String,
    },
    /// Build a program, load it, attach and pin it on bpffs as a deployment
    /// file says, so that it outlives ksc (docs/deploy.md); again: replace
    /// it in place, map contents kept.
    Deploy {
        /// The KernelScript source file (.ks) [default: the file's `spec.source`].
        file: Option<PathBuf>,
        /// The deployment file (`kind: ProgramDeployment`).
        #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
        config: PathBuf,
        /// Write bpfman's Kubernetes resources for the deployment instead.
        #[arg(long, value_enum)]
        emit: Option<deploy::DeployEmit>,
        /// The bytecode image (`ksc package`) for `--emit=bpfman` [default: `spec.image`].
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        #[command(flatten)]
        opts: CompileOpts,
    },
    /// Stop, detach and unpin a deployment (its maps too with `cleanup_on_exit: true`).
    Undeploy {
        #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
        config: PathBuf,
    },
    /// Show what is deployed, read from the kernel and the pins: one
    /// deployment, or (no --config and no ./deploy.yaml) every deployment
    /// under /sys/fs/bpf/ksc.
    Status {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Attach a deployed program (`auto_attach: false`).
    Attach {
        /// The program.
        program: String,
        #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
        config: PathBuf,
        #[command(flatten)]
        to: deploy::AttachTo,
    },
    /// Detach a deployed program everywhere.
    Detach {
        /// The program.
        program: String,
        #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
        config: PathBuf,
    },
    /// Build a program and write its eBPF object as a bpfman bytecode image
    /// (an OCI image layout); `--push` sends it to a registry.
    Package {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        /// The OCI image layout directory to write.
        #[arg(long, value_name = "DIR")]
        oci: PathBuf,
        /// The image's tag in the layout.
        #[arg(long, default_value = "latest")]
        tag: String,
        /// Push the image to this reference (HOST[:PORT]/NAME:TAG) with skopeo.
        #[arg(long, value_name = "REF")]
        push: Option<String>,
        #[command(flatten)]
        opts: CompileOpts,
    },
    /// The userspace supervisor `ksc deploy` starts (internal).
    #[command(name = "__supervise", hide = true)]
    Supervise {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        policy: String,
        #[arg(long)]
        log: PathBuf,
        #[arg(last = true)]
        cmd: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckEmit {
    /// The IR the backends consume, as RON.
    Ir,
    /// The call and tail-call graph, as Graphviz DOT.
    Graph,
    /// The oldest kernel each program runs on, and which uses set it.
    Kernels,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    /// For people.
    Text,
    /// RON data for tools.
    Ron,
}

#[derive(Clone, Copy, ValueEnum)]
enum ParseEmit {
    /// The abstract syntax tree, as RON.
    Ast,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Run on a thread with a known, large stack.
    let worker = std::thread::Builder::new()
        .name("ksc".into())
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal compiler error (please report it with the input file)");
            ExitCode::from(101)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    let color = match cli.color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if std::io::stderr().is_terminal() => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    };
    let command = match cli.command {
        Some(_)
            if cli.file.is_some()
                || cli.compile.target.is_some()
                || cli.compile.output.is_some() =>
        {
            eprintln!(
                "error: a source file, `--target` and `-o` before a command belong to compile mode \
                 (`ksc FILE.ks --target=NAME -o DIR`); give them after the command (`ksc build FILE.ks -o DIR`)"
            );
            return ExitCode::from(2);
        }
        Some(c) => c,
        None => {
            // `ksc FILE.ks`: compile. (clap requires a file or a command.)
            let Some(file) = cli.file else {
                eprintln!("error: give a source file to compile, or a command (see `ksc --help`)");
                return ExitCode::from(2);
            };
            return compile::compile(&file, &cli.compile, compile::Mode::Emit, color);
        }
    };
    match command {
        Command::Build { file, opts } => {
            compile::compile(&file, &opts, compile::Mode::Build, color)
        }
        Command::Test { file, opts } => compile::compile(&file, &opts, compile::Mode::Test, color),
        Command::Init {
            kind,
            name,
            kfuncs,
            btf,
        } => init::init(&kind, &name, kfuncs, btf.as_deref(), color),
        Command::Lsp => {
            let bridge = python::LazyBridge::default();
            match ksc_lsp::run(Some(&bridge)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: ksc lsp: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Fmt { check, files } => fmt::fmt(&files, check, color),
        Command::Plugins => compile::list_plugins(),
        Command::Plugin {
            action:
                PluginAction::New {
                    name,
                    abi_path,
                    dir,
                },
        } => plugin_new::new(&name, abi_path.as_deref(), dir.as_deref()),
        Command::Deploy {
            file,
            config,
            emit,
            image,
            opts,
        } => deploy::deploy(file, &config, emit, image, &opts, color),
        Command::Undeploy { config } => deploy::undeploy(&config, color),
        Command::Status { config, json } => deploy::status(config, json, color),
        Command::Attach {
            program,
            config,
            to,
        } => deploy::attach(&program, &config, &to, color),
        Command::Detach { program, config } => deploy::detach(&program, &config, color),
        Command::Package {
            file,
            oci,
            tag,
            push,
            opts,
        } => deploy::package(&file, &oci, &tag, push.as_deref(), &opts, color),
        Command::Supervise {
            dir,
            policy,
            log,
            cmd,
        } => deploy::supervise(&dir, &policy, &log, &cmd),
        Command::Targets { format } => compile::list_targets(matches!(format, ListFormat::Ron)),
        Command::Explain { code } => explain::explain(&code),
        Command::Check {
            file,
            emit,
            kernel,
            btf,
        } => {
            let kernel = match kernel.as_deref().map(target::resolve).transpose() {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let btf = match load_btf(btf.as_deref()) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let Some(mut src) = read_source(&file, color) else {
                return ExitCode::from(input_error_code(&file));
            };
            let bridge = python::LazyBridge::default();
            let Some((checked, diags)) =
                check_source(&mut src, color, &bridge, kernel.as_ref(), btf.as_ref())
            else {
                return ExitCode::from(1);
            };
            report(&src, &diags, color);
            match emit {
                Some(CheckEmit::Ir) => {
                    if let Some(m) = &checked.module {
                        println!("{}", m.to_ron());
                    }
                }
                Some(CheckEmit::Graph) => {
                    if let Some(g) = &checked.graph {
                        print!("{}", g.to_dot());
                    }
                }
                Some(CheckEmit::Kernels) => {
                    if let Some(m) = &checked.module {
                        print!("{}", ksc_midend::kernels::describe(m));
                    }
                }
                None => {}
            }
            exit_for(checked.has_errors())
        }
        Command::Parse { file, emit } => {
            let Some(src) = read_source(&file, color) else {
                return ExitCode::from(input_error_code(&file));
            };
            let parsed = ksc_frontend::parse(src.text());
            report(&src, &parsed.diagnostics, color);
            if parsed.has_errors() {
                return ExitCode::from(1);
            }
            match emit {
                ParseEmit::Ast => {
                    let cfg = ron::ser::PrettyConfig::new().struct_names(true);
                    match ron::ser::to_string_pretty(&parsed.file, cfg) {
                        Ok(text) => println!("{text}"),
                        Err(e) => {
                            eprintln!("error: cannot print the syntax tree: {e}");
                            return ExitCode::from(1);
                        }
                    }
                }
            }
            ExitCode::SUCCESS
        }
    }
}

/// The program's source files (the one given to ksc, then those it
/// includes and imports), read once: the front end parses them, the midend
/// puts them in the IR, and every diagnostic is shown with them.
pub(crate) struct Source {
    pub(crate) files: SourceMap,
}

impl Source {
    pub(crate) fn new(name: String, text: String) -> Source {
        Source {
            files: SourceMap::single(name, text),
        }
    }

    /// The text of the main file.
    pub(crate) fn text(&self) -> &str {
        self.files.get(FileId::MAIN).map_or("", |f| &f.text)
    }
}

/// Parse the main file, load the files it includes and imports (adding
/// them to `src`), and check the program. `None` when parsing or loading
/// failed (reported); else the result and every diagnostic so far.
pub(crate) fn check_source(
    src: &mut Source,
    color: ColorChoice,
    bridge: &python::LazyBridge,
    kernel: Option<&ksc_midend::kernels::TargetKernel>,
    btf: Option<&ksc_midend::btf::Btf>,
) -> Option<(ksc_midend::Checked, Vec<ksc_frontend::Diagnostic>)> {
    let opts = ksc_midend::CheckOptions {
        python: Some(bridge),
        kernel,
        btf,
    };
    let program = ksc_midend::check_main_with(&mut src.files, &opts);
    match program.checked {
        Some(checked) => Some((checked, program.diagnostics)),
        None => {
            report(src, &program.diagnostics, color);
            None
        }
    }
}

/// `--btf FILE`'s BTF, loaded: `None` without the option, and the check
/// then reads `$KSC_BTF`'s file or the running kernel's
/// ([`ksc_midend::btf::Btf::for_checks`]). A file that is no BTF is an
/// error (exit 2), not a check against no kernel.
pub(crate) fn load_btf(path: Option<&Path>) -> Result<Option<ksc_midend::btf::Btf>, ExitCode> {
    let Some(path) = path else { return Ok(None) };
    match ksc_midend::btf::Btf::load_raw_or_elf(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) => {
            eprintln!("error: --btf: {e}");
            eprintln!("help: give a kernel's raw BTF (a copy of its /sys/kernel/btf/vmlinux) or its vmlinux");
            Err(ExitCode::from(2))
        }
    }
}

/// Exit status after `read_source` failed: 2 when the file could not be read
/// at all, 1 when it was read but is not a program (too large, not UTF-8).
pub(crate) fn input_error_code(path: &Path) -> u8 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => 1,
        _ => 2,
    }
}

pub(crate) fn read_source(path: &Path, color: ColorChoice) -> Option<Source> {
    let name = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {}", io_reason(&e));
            return None;
        }
    };
    if meta.is_dir() {
        eprintln!("error: `{name}` is a directory, not a KernelScript source file");
        return None;
    }
    if meta.len() > MAX_SOURCE_BYTES {
        eprintln!(
            "error: `{name}` is {} bytes; source files are limited to {} MiB",
            meta.len(),
            MAX_SOURCE_BYTES >> 20
        );
        return None;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {}", io_reason(&e));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(Source::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let src = Source::new(name, text);
            let d = ksc_frontend::Diagnostic::error(
                ksc_frontend::diag::codes::FILE,
                ksc_frontend::Span::new(FileId::MAIN, at, at + 1),
                "source file is not valid UTF-8",
            )
            .with_label("invalid byte here");
            report(&src, &[d], color);
            None
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Show diagnostics about the program on stderr, each with the source of
/// its file ([`diag::emit`], the one renderer).
pub(crate) fn report(src: &Source, diags: &[ksc_frontend::Diagnostic], color: ColorChoice) {
    if diags.is_empty() {
        return;
    }
    let mut stderr = StandardStream::stderr(color);
    diag::emit(&mut stderr, &src.files, diags);
}

fn exit_for(has_errors: bool) -> ExitCode {
    if has_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
