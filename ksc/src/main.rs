//! `ksc`, the KernelScript compiler.
//!
//! The command line drives the pipeline: source → frontend (parse) → midend
//! (check, lower to IR) → backend plugins → files → build. Exit status: 0 on
//! success, 1 when the program has errors (diagnostics on stderr), 2 when ksc
//! itself was used wrongly (bad arguments, unreadable file).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use ksc_frontend::diag;

/// Source files larger than this are refused: no KernelScript program is
/// that big, and it bounds the work any input can cause.
const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// The compiler's own stack: generous, so that recursive passes over the
/// (depth-limited) syntax tree never come near it.
const STACK_BYTES: usize = 256 << 20;

#[derive(Parser)]
#[command(name = "ksc", version, about = "The KernelScript compiler", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,

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

#[derive(Subcommand)]
enum Command {
    /// Check a program: exit 0 if it is valid, 1 with diagnostics if not.
    Check {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        /// Also print the checked program.
        #[arg(long, value_enum)]
        emit: Option<CheckEmit>,
    },
    /// Parse a program and print its syntax tree.
    Parse {
        /// The KernelScript source file (.ks).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = ParseEmit::Ast)]
        emit: ParseEmit,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckEmit {
    /// The IR the backends consume, as RON.
    Ir,
    /// The call and tail-call graph, as Graphviz DOT.
    Graph,
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
    match cli.command {
        Command::Check { file, emit } => {
            let Some(src) = read_source(&file, color) else {
                return ExitCode::from(input_error_code(&file));
            };
            let parsed = ksc_frontend::parse(&src.text);
            if parsed.has_errors() {
                report(&src, &parsed.diagnostics, color);
                return ExitCode::from(1);
            }
            let checked = ksc_midend::check(&parsed.file, &src.text, &src.name);
            let mut diags = parsed.diagnostics;
            diags.extend(checked.diagnostics.iter().cloned());
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
                None => {}
            }
            exit_for(checked.has_errors())
        }
        Command::Parse { file, emit } => {
            let Some(src) = read_source(&file, color) else {
                return ExitCode::from(input_error_code(&file));
            };
            let parsed = ksc_frontend::parse(&src.text);
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

struct Source {
    /// The path as the user wrote it (shown in diagnostics).
    name: String,
    text: String,
}

/// Exit status after `read_source` failed: 2 when the file could not be read
/// at all, 1 when it was read but is not a program (too large, not UTF-8).
fn input_error_code(path: &Path) -> u8 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => 1,
        _ => 2,
    }
}

fn read_source(path: &Path, color: ColorChoice) -> Option<Source> {
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
        Ok(text) => Some(Source { name, text }),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let src = Source { name, text };
            let d = ksc_frontend::Diagnostic::error(
                ksc_frontend::Span::new(at, at + 1),
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

fn report(src: &Source, diags: &[ksc_frontend::Diagnostic], color: ColorChoice) {
    if diags.is_empty() {
        return;
    }
    let mut stderr = StandardStream::stderr(color);
    diag::emit(&mut stderr, &src.name, &src.text, diags);
}

fn exit_for(has_errors: bool) -> ExitCode {
    if has_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
