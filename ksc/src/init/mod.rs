//! `ksc init KIND NAME`: a new project directory with a program template
//! for one program kind, typed from the kernel's BTF (the running kernel's,
//! or another's with `--btf FILE`): the tracepoint's `trace_event_raw_*`
//! context, the probed function's prototype, the struct_ops members. With
//! `--kfuncs` also a `.kh` of `extern` declarations of the kfuncs the BTF
//! offers that program kind.
//!
//! The template is checked before anything is written (when the BTF is
//! this kernel's), so what `init` writes builds as it is.
//!
//! The program text of each kind is a KernelScript file in
//! `init/templates/`, with `${name}` placeholders that `fill` replaces;
//! the parts drawn from BTF (fields, parameters, members) are built in
//! the modules below.
//!
//! This file: the command (arguments, program kinds, what it writes:
//! the project's Makefile and README). `btf_types` turns BTF types into
//! KernelScript and C text, `programs` fills each kind's template,
//! `tracepoint` finds a tracepoint's context struct, `kfuncs` writes the
//! `--kfuncs` header.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codespan_reporting::term::termcolor::ColorChoice;
use ksc_midend::btf::Btf;

use crate::{report, Source};

mod btf_types;
mod kfuncs;
mod programs;
mod tracepoint;

use kfuncs::{kfuncs_header, Family};
use programs::template;

const EXIT_PROGRAM: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// A BPF program attached per probe has at most 6 arguments in registers.
const MAX_PROBE_PARAMS: usize = 6;

/// The program kinds `init` knows, as written on the command line.
const KINDS: &[&str] = &[
    "xdp",
    "tc",
    "tracepoint/CAT/EVENT",
    "probe/FUNCTION",
    "struct_ops/TYPE",
    "perf_event",
];

/// What kind of program the project holds.
enum Kind {
    Xdp,
    Tc,
    Tracepoint { category: String, event: String },
    Probe { function: String },
    StructOps { ops: String },
    PerfEvent,
}

impl Kind {
    /// The kfunc families a program of this kind may use (see [`family`]).
    fn kfunc_families(&self) -> &'static [Family] {
        use Family::*;
        match self {
            Kind::Xdp => &[Generic, Xdp, Conntrack, Crypto],
            Kind::Tc => &[Generic, Skb, Conntrack, Crypto],
            // The kernel gives perf_event programs the tracing kfuncs.
            Kind::Tracepoint { .. } | Kind::Probe { .. } | Kind::PerfEvent => &[Generic, Tracing],
            Kind::StructOps { ops } if ops == "tcp_congestion_ops" => {
                &[Generic, Tracing, TcpCongestion]
            }
            Kind::StructOps { ops } if ops == "sched_ext_ops" => &[Generic, Tracing, SchedExt],
            Kind::StructOps { .. } => &[Generic, Tracing],
        }
    }

    /// A short name for files and messages (`xdp`, `tracepoint`, ...).
    fn short(&self) -> &'static str {
        match self {
            Kind::Xdp => "xdp",
            Kind::Tc => "tc",
            Kind::Tracepoint { .. } => "tracepoint",
            Kind::Probe { .. } => "probe",
            Kind::StructOps { .. } => "struct_ops",
            Kind::PerfEvent => "perf_event",
        }
    }
}

/// A user error: the message, an optional help line.
struct Fail(String, Option<String>);

fn fail<T>(msg: impl Into<String>, help: Option<String>) -> Result<T, Fail> {
    Err(Fail(msg.into(), help))
}

/// `ksc init [--kfuncs] [--btf FILE] KIND NAME`.
pub(crate) fn init(
    kind: &str,
    name: &Path,
    kfuncs: bool,
    btf_file: Option<&Path>,
    color: ColorChoice,
) -> ExitCode {
    match run(kind, name, kfuncs, btf_file, color) {
        Ok(code) => code,
        Err(Fail(msg, help)) => {
            eprintln!("error: {msg}");
            if let Some(h) = help {
                eprintln!("  = help: {h}");
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(
    kind: &str,
    dir: &Path,
    kfuncs: bool,
    btf_file: Option<&Path>,
    color: ColorChoice,
) -> Result<ExitCode, Fail> {
    let ident = project_ident(dir)?;
    let kind = parse_kind(kind)?;
    if dir.exists() && std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_some()) {
        return fail(
            format!("`{}` already exists and is not empty", dir.display()),
            Some("`ksc init` writes a new project; give a new directory name".into()),
        );
    }
    let btf = match btf_file {
        Some(p) => Btf::load_file(p),
        None => Btf::load_vmlinux(),
    }
    .map_err(|e| {
        Fail(
            e,
            Some("give another kernel's BTF with `--btf FILE`".into()),
        )
    })?;
    let btf_name = btf_file.map_or("/sys/kernel/btf/vmlinux".to_string(), |p| {
        p.display().to_string()
    });

    let program = template(&kind, &ident, &btf, btf_file.is_none())?;
    let kh = kfuncs.then(|| kfuncs_header(&kind, &btf, &btf_name));
    let kh_name = format!("{}_kfuncs.kh", kind.short());

    // The template must check (on this kernel: another kernel's types may
    // not be here); a failure is ksc's bug, not the user's.
    if btf_file.is_none() {
        let file_name = format!("{}/{ident}.ks", dir.display());
        let mut text = program.clone();
        if let Some(kh) = &kh {
            // The header's declarations must check too.
            text = format!("{kh}\n{program}");
        }
        let src = Source::new(file_name, text);
        let parsed = ksc_frontend::parse(src.text());
        let mut diags = parsed.diagnostics.clone();
        if !parsed.has_errors() {
            let checked = ksc_midend::check_program(&parsed.file, &src.files);
            diags.extend(checked.diagnostics.iter().cloned());
        }
        if diags.iter().any(|d| d.is_error()) {
            report(&src, &diags, color);
            eprintln!(
                "error: the generated template does not check (a bug of ksc init; please report it)"
            );
            return Ok(ExitCode::from(EXIT_PROGRAM));
        }
    }

    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text)
            .map_err(|e| Fail(format!("cannot write `{}`: {e}", path.display()), None))
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Fail(format!("cannot create `{}`: {e}", dir.display()), None))?;
    write(dir.join(format!("{ident}.ks")), &program)?;
    write(dir.join("Makefile"), &makefile(&kind, &ident))?;
    write(
        dir.join("README.md"),
        &readme(
            &kind,
            &ident,
            &btf_name,
            kh.as_ref().map(|_| kh_name.as_str()),
        ),
    )?;
    let mut files = vec![format!("{ident}.ks"), "README.md".into(), "Makefile".into()];
    if let Some(kh) = &kh {
        write(dir.join(&kh_name), kh)?;
        files.push(kh_name);
    }
    println!(
        "created {}/ ({}); build it with `make -C {}`",
        dir.display(),
        files.join(", "),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The program's name: the directory's last component, `-` read as `_`.
fn project_ident(dir: &Path) -> Result<String, Fail> {
    let stem = dir
        .file_name()
        .map(|s| s.to_string_lossy().replace('-', "_"))
        .unwrap_or_default();
    let ok = stem
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return fail(
            format!("`{}` cannot name a program", dir.display()),
            Some("the project's name becomes the program's: letters, digits, `_` and `-`, not starting with a digit".into()),
        );
    }
    if ksc_frontend::token::Tok::keyword(&stem).is_some() || stem == "main" {
        return fail(
            format!("`{stem}` is a KernelScript keyword and cannot name a program"),
            Some(format!("try `{stem}_prog`")),
        );
    }
    Ok(stem)
}

fn parse_kind(kind: &str) -> Result<Kind, Fail> {
    let (head, rest) = kind.split_once('/').unwrap_or((kind, ""));
    let need = |what: &str, ex: &str| {
        Fail(
            format!("`{head}` needs {what}: `ksc init {head}/{ex} NAME`"),
            None,
        )
    };
    Ok(match head {
        "xdp" | "tc" | "perf_event" if !rest.is_empty() => {
            return fail(
                format!("`{head}` takes nothing after it: `ksc init {head} NAME`"),
                None,
            )
        }
        "xdp" => Kind::Xdp,
        "tc" => Kind::Tc,
        "perf_event" => Kind::PerfEvent,
        "tracepoint" => {
            let Some((category, event)) = rest.split_once('/') else {
                return Err(need("a category and an event", "sched/sched_switch"));
            };
            if category.is_empty() || event.is_empty() || event.contains('/') {
                return Err(need("a category and an event", "sched/sched_switch"));
            }
            Kind::Tracepoint {
                category: category.into(),
                event: event.into(),
            }
        }
        "probe" | "kprobe" if !rest.is_empty() && !rest.contains('/') => Kind::Probe {
            function: rest.into(),
        },
        "probe" | "kprobe" => return Err(need("a kernel function", "vfs_read")),
        "struct_ops" if !rest.is_empty() && !rest.contains('/') => {
            Kind::StructOps { ops: rest.into() }
        }
        "struct_ops" => return Err(need("a kernel struct", "tcp_congestion_ops")),
        _ => {
            let heads = [
                "xdp",
                "tc",
                "tracepoint",
                "probe",
                "struct_ops",
                "perf_event",
            ];
            let near = closest(head, heads.iter().copied(), 1);
            return fail(
                format!("unknown program kind `{kind}`"),
                Some(match near.first() {
                    Some(n) => format!("did you mean `{n}`? The kinds are {}", KINDS.join(", ")),
                    None => format!("the kinds are {}", KINDS.join(", ")),
                }),
            );
        }
    })
}

/// Up to `n` candidates closest to `name` (by edit distance, within a
/// third of its length, or sharing it as a prefix or substring).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, n: usize) -> Vec<String> {
    let limit = (name.len() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .filter(|c| *c != name)
        .filter_map(|c| {
            if c.len().abs_diff(name.len()) <= limit {
                let d = ksc_midend::edit_distance(name, c);
                if d <= limit {
                    return Some((d, c));
                }
            }
            (name.len() >= 4 && c.contains(name)).then(|| (limit + 1 + c.len() - name.len(), c))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(n)
        .map(|(_, c)| c.to_string())
        .collect()
}

fn suggestions(what: &str, near: &[String], otherwise: &str) -> Option<String> {
    Some(match near {
        [] => otherwise.to_string(),
        [one] => format!("did you mean `{one}`?"),
        many => format!(
            "did you mean one of {}? ({what})",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

fn makefile(kind: &Kind, ident: &str) -> String {
    let run = match kind {
        Kind::Xdp | Kind::Tc => "\t./out/$(NAME) --interface=$(IFACE)\n",
        _ => "\t./out/$(NAME)\n",
    };
    let test = match kind {
        Kind::Xdp | Kind::Tc => "\n# Run the @test functions in the kernel (root).\ntest:\n\t$(KSC) test $(NAME).ks -o out\n",
        _ => "",
    };
    let iface = match kind {
        Kind::Xdp | Kind::Tc => "IFACE ?= lo\n",
        _ => "",
    };
    format!(
        "# Built with ksc, the KernelScript compiler: `make`, then `make run` as root.\n\
         KSC ?= ksc\nNAME := {ident}\n{iface}\n\
         .PHONY: build run test clean\n\n\
         # The eBPF object and the executable `out/$(NAME)`.\nbuild:\n\t$(KSC) build $(NAME).ks -o out\n\n\
         # Load and attach (root).\nrun: build\n{run}{test}\n\
         clean:\n\trm -rf out\n"
    )
}

fn readme(kind: &Kind, ident: &str, btf_name: &str, kh: Option<&str>) -> String {
    let what = match kind {
        Kind::Xdp => "an XDP program: it counts packets and passes them all".to_string(),
        Kind::Tc => "a TC ingress program: it counts packets and lets them through".to_string(),
        Kind::Tracepoint { category, event } => {
            format!("a program on the tracepoint `{category}/{event}`: it counts events")
        }
        Kind::Probe { function } => {
            format!("a probe on the kernel function `{function}`: it counts calls")
        }
        Kind::StructOps { ops } => {
            format!("an implementation of the kernel's `{ops}` with a neutral body for each member")
        }
        Kind::PerfEvent => {
            "a perf_event program: it counts the samples of a software counter of its own process"
                .to_string()
        }
    };
    let test = match kind {
        Kind::Xdp | Kind::Tc => "make test     # run the @test functions in the kernel (root)\n",
        _ => "",
    };
    let run = match kind {
        Kind::Xdp | Kind::Tc => "sudo make run IFACE=veth0   # attach for 5 seconds",
        Kind::StructOps { .. } => "sudo make run   # register for 5 seconds",
        Kind::PerfEvent => "sudo make run   # attach, work a moment, print the counts",
        _ => "sudo make run   # attach for 5 seconds",
    };
    let kh = kh.map_or(String::new(), |kh| {
        format!(
            "\n`{kh}` declares, as `extern` functions, the kfuncs the kernel offers\n\
             this kind of program (chosen by family: the verifier has the last word).\n\
             Include it to call them: `include \"{kh}\"`.\n"
        )
    });
    format!(
        "# {ident}\n\n`{ident}.ks` is {what}. It was made by `ksc init` with the kernel types\n\
         of {btf_name}, and builds as it is.\n\n\
         ```sh\nmake          # ksc build {ident}.ks -o out: the eBPF object and out/{ident}\n\
         {test}{run}\n```\n{kh}\n\
         Without make: `ksc build {ident}.ks -o out`, then run `out/{ident}` as root.\n"
    )
}
