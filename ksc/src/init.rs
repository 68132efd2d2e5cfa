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
//! the parts drawn from BTF (fields, parameters, members) are built here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codespan_reporting::term::termcolor::ColorChoice;
use ksc_ir::{ProgramKind, TraceStruct};
use ksc_midend::btf::{Btf, BtfType};

use crate::{report, Source};

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

    /// A short name for files and messages: the kind's attribute.
    fn short(&self) -> &'static str {
        match self {
            Kind::Xdp => ProgramKind::Xdp,
            Kind::Tc => ProgramKind::Tc,
            Kind::Tracepoint { .. } => ProgramKind::Tracepoint,
            Kind::Probe { .. } => ProgramKind::Probe,
            Kind::StructOps { .. } => ProgramKind::StructOps,
            Kind::PerfEvent => ProgramKind::PerfEvent,
        }
        .attribute()
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
    Ok(match head.parse::<ProgramKind>() {
        Ok(ProgramKind::Xdp | ProgramKind::Tc | ProgramKind::PerfEvent) if !rest.is_empty() => {
            return fail(
                format!("`{head}` takes nothing after it: `ksc init {head} NAME`"),
                None,
            )
        }
        Ok(ProgramKind::Xdp) => Kind::Xdp,
        Ok(ProgramKind::Tc) => Kind::Tc,
        Ok(ProgramKind::PerfEvent) => Kind::PerfEvent,
        Ok(ProgramKind::Tracepoint) => {
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
        Ok(ProgramKind::Probe) if !rest.is_empty() && !rest.contains('/') => Kind::Probe {
            function: rest.into(),
        },
        Ok(ProgramKind::Probe) => return Err(need("a kernel function", "vfs_read")),
        Ok(ProgramKind::StructOps) if !rest.is_empty() && !rest.contains('/') => {
            Kind::StructOps { ops: rest.into() }
        }
        Ok(ProgramKind::StructOps) => return Err(need("a kernel struct", "tcp_congestion_ops")),
        Ok(ProgramKind::Lsm) | Err(_) => {
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

/// A BTF type as C, for comments.
fn c_type(t: &BtfType) -> String {
    match t {
        BtfType::Int { name, .. } => name.clone(),
        BtfType::Char => "char".into(),
        BtfType::Bool => "bool".into(),
        BtfType::Void => "void".into(),
        BtfType::Pointer(p) => match &**p {
            BtfType::FuncProto { .. } => "function pointer".into(),
            p => format!("{} *", c_type(p)),
        },
        BtfType::Array(e, n) => format!("{}[{n}]", c_type(e)),
        BtfType::Struct(l) => {
            let kw = if l.is_union { "union" } else { "struct" };
            if l.name.is_empty() {
                format!("{kw} {{...}}")
            } else {
                format!("{kw} {}", l.name)
            }
        }
        BtfType::Enum { name, .. } if name.is_empty() => "enum".into(),
        BtfType::Enum { name, .. } => format!("enum {name}"),
        BtfType::FuncProto { .. } => "function".into(),
        BtfType::Unknown(s) => s.clone(),
    }
}

/// An integer of BTF as a KernelScript type.
fn int_type(bits: u32, signed: bool) -> Option<&'static str> {
    Some(match (bits, signed) {
        (8, false) => "u8",
        (16, false) => "u16",
        (32, false) => "u32",
        (64, false) => "u64",
        (8, true) => "i8",
        (16, true) => "i16",
        (32, true) => "i32",
        (64, true) => "i64",
        _ => return None,
    })
}

/// A parameter or return type of BTF as KernelScript: integers by width,
/// pointers to integers typed, to the two context structs KernelScript
/// knows by name, and to anything else as `*u8`. `None`: no KernelScript
/// equivalent (structs by value, 128-bit integers, floats).
fn ks_type(t: &BtfType) -> Option<String> {
    Some(match t {
        BtfType::Int { bits, signed, .. } => int_type(*bits, *signed)?.into(),
        BtfType::Char => "u8".into(),
        BtfType::Bool => "bool".into(),
        BtfType::Enum { size, .. } => int_type(size * 8, false)?.into(),
        BtfType::Pointer(p) => match &**p {
            BtfType::Int { bits, signed, .. } => {
                format!("*{}", int_type(*bits, *signed).unwrap_or("u8"))
            }
            BtfType::Struct(l) if l.name == "xdp_md" || l.name == "__sk_buff" => {
                format!("*{}", l.name)
            }
            _ => "*u8".into(),
        },
        _ => return None,
    })
}

/// Parameter names usable in KernelScript: BTF's, or for function-pointer
/// members (which have none) the pointee struct's name (`sock`), else
/// `argN`; keywords get a trailing `_`, repeats their position.
fn param_names(ps: &[(String, BtfType)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, (n, t)) in ps.iter().enumerate() {
        let mut name = match (n.as_str(), t) {
            ("", BtfType::Pointer(p)) => match &**p {
                BtfType::Struct(l) if !l.name.is_empty() => l.name.clone(),
                _ => format!("arg{i}"),
            },
            ("", _) => format!("arg{i}"),
            (n, _) => n.to_string(),
        };
        if ksc_frontend::token::Tok::keyword(&name).is_some() {
            name.push('_');
        }
        if names.contains(&name) {
            name = format!("{name}{i}");
        }
        names.push(name);
    }
    names
}

/// `(a: T, b: U)` from BTF parameters; `Err(i)` when parameter `i` has no
/// KernelScript type.
fn params(ps: &[(String, BtfType)]) -> Result<Vec<(String, String)>, usize> {
    let names = param_names(ps);
    ps.iter()
        .enumerate()
        .map(|(i, (_, t))| ks_type(t).map(|k| (names[i].clone(), k)).ok_or(i))
        .collect()
}

fn c_proto(name: &str, ps: &[(String, BtfType)], ret: &BtfType) -> String {
    let ps: Vec<String> = ps
        .iter()
        .map(|(n, t)| {
            let c = c_type(t);
            if n.is_empty() || c.ends_with('*') {
                format!("{c}{n}")
            } else {
                format!("{c} {n}")
            }
        })
        .collect();
    format!("{} {name}({})", c_type(ret), ps.join(", "))
}

fn template(kind: &Kind, ident: &str, btf: &Btf, host: bool) -> Result<String, Fail> {
    match kind {
        Kind::Xdp => Ok(xdp_template(ident)),
        Kind::Tc => Ok(tc_template(ident)),
        Kind::Tracepoint { category, event } => {
            tracepoint_template(ident, category, event, btf, host)
        }
        Kind::Probe { function } => probe_template(ident, function, btf),
        Kind::StructOps { ops } => struct_ops_template(ident, ops, btf),
        Kind::PerfEvent => Ok(perf_event_template(ident)),
    }
}

/// A template (`init/templates/*.ks`) with each `${name}` replaced by its
/// value. The templates are KernelScript files so they read (and diff) as
/// the programs they become; `ksc/tests/init.rs` checks every kind's.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    debug_assert!(!out.contains("${"), "unfilled placeholder in:\n{out}");
    out
}

fn perf_event_template(ident: &str) -> String {
    fill(
        include_str!("init/templates/perf_event.ks"),
        &[("ident", ident)],
    )
}

fn xdp_template(ident: &str) -> String {
    fill(include_str!("init/templates/xdp.ks"), &[("ident", ident)])
}

fn tc_template(ident: &str) -> String {
    fill(include_str!("init/templates/tc.ks"), &[("ident", ident)])
}

/// Where tracefs shows the kernel's events, if mounted.
fn tracefs_events() -> Option<PathBuf> {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
}

/// The field names of an event's format file (without the common ones).
fn tracefs_fields(events: &Path, category: &str, event: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(events.join(category).join(event).join("format")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("field:"))
            .filter_map(|f| f.split(';').next())
            .map(|decl| {
                let decl = decl.split('[').next().unwrap_or(decl);
                decl.rsplit(' ').next().unwrap_or(decl).to_string()
            })
            .filter(|n| !n.starts_with("common_"))
            .collect(),
    )
}

/// The context struct of a tracepoint, `trace_event_raw_<event>` or, for
/// events sharing a class (`sched_wakeup_new`), the class's struct.
fn tracepoint_context(category: &str, event: &str, btf: &Btf, host: bool) -> Result<String, Fail> {
    if category == "syscalls" {
        let (ctx, sys) = if let Some(s) = event.strip_prefix("sys_enter_") {
            ("trace_event_raw_sys_enter", s)
        } else if let Some(s) = event.strip_prefix("sys_exit_") {
            ("trace_event_raw_sys_exit", s)
        } else {
            return fail(
                format!("unknown syscall event `{event}`"),
                Some("syscall events are `sys_enter_<name>` and `sys_exit_<name>`, e.g. `syscalls/sys_enter_openat`".into()),
            );
        };
        // Syscalls are the kernel's `__<arch>_sys_<name>` functions.
        let prefixes = ["__x64_sys_", "__arm64_sys_", "__riscv_sys_", "__s390x_sys_"];
        let syscalls: Vec<&str> = btf
            .func_names()
            .filter_map(|f| prefixes.iter().find_map(|p| f.strip_prefix(p)))
            .collect();
        if !syscalls.is_empty() && !syscalls.contains(&sys) {
            let near = closest(sys, syscalls.iter().copied(), 3);
            let dir = &event[..event.len() - sys.len()];
            let near: Vec<String> = near.iter().map(|n| format!("syscalls/{dir}{n}")).collect();
            return fail(
                format!("this kernel has no system call `{sys}` (event `syscalls/{event}`)"),
                suggestions(
                    "system calls",
                    &near,
                    "see /sys/kernel/tracing/events/syscalls",
                ),
            );
        }
        return Ok(ctx.into());
    }
    // Every tracepoint has a `btf_trace_<event>` typedef (its raw form).
    let events: Vec<String> = btf
        .typedefs_with_prefix("btf_trace_")
        .into_iter()
        .map(|t| t["btf_trace_".len()..].to_string())
        .collect();
    let tracefs = if host { tracefs_events() } else { None };
    if !events.iter().any(|e| e == event) {
        let near = closest(event, events.iter().map(String::as_str), 3);
        let near: Vec<String> = near
            .into_iter()
            .map(|n| match &tracefs {
                Some(t) => find_category(t, &n).map_or(n.clone(), |c| format!("{c}/{n}")),
                None => n,
            })
            .collect();
        return fail(
            format!("this kernel has no tracepoint `{category}/{event}`"),
            suggestions(
                "events",
                &near,
                "the events are listed under /sys/kernel/tracing/events",
            ),
        );
    }
    if let Some(t) = &tracefs {
        if !t.join(category).join(event).is_dir() {
            let help = match find_category(t, event) {
                Some(c) => format!("`{event}` is in category `{c}`: `tracepoint/{c}/{event}`"),
                None => format!("see {}", t.display()),
            };
            return fail(
                format!("this kernel has no tracepoint `{category}/{event}`"),
                Some(help),
            );
        }
    }
    let direct = TraceStruct::Raw { class: event }.name();
    if btf.has_struct(&direct) {
        return Ok(direct);
    }
    // Events of a class share its struct: match tracefs's field names, or
    // else take the longest class name the event starts with.
    let raws: Vec<(&str, &str)> = btf
        .struct_names()
        .filter_map(|n| Some((n, TraceStruct::try_from(n).ok()?.class()?)))
        .collect();
    if let Some(fields) = tracefs
        .as_ref()
        .and_then(|t| tracefs_fields(t, category, event))
    {
        let mut matching: Vec<(&str, &str)> = raws
            .iter()
            .copied()
            .filter(|(r, _)| {
                btf.find_struct(r).is_some_and(|l| {
                    let names: Vec<&str> = l
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .filter(|n| *n != "ent" && *n != "__data")
                        .map(|n| n.strip_prefix("__data_loc_").unwrap_or(n))
                        .collect();
                    names == fields.iter().map(String::as_str).collect::<Vec<_>>()
                })
            })
            .collect();
        matching.sort_by_key(|(_, class)| std::cmp::Reverse(common_prefix(class, event)));
        if let Some((r, _)) = matching.first() {
            return Ok(r.to_string());
        }
    }
    let class = raws
        .iter()
        .filter(|(_, class)| {
            let base = class
                .strip_suffix("_template")
                .or_else(|| class.strip_suffix("_class"))
                .unwrap_or(class);
            event.starts_with(base)
        })
        .max_by_key(|(r, _)| r.len());
    match class {
        Some((c, _)) => Ok(c.to_string()),
        None => fail(
            format!("cannot tell the context struct of `{category}/{event}` from BTF (no `trace_event_raw_{event}`)"),
            Some("this event belongs to a class; name its `trace_event_raw_<class>` in the program".into()),
        ),
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn find_category(events: &Path, event: &str) -> Option<String> {
    std::fs::read_dir(events).ok()?.flatten().find_map(|d| {
        d.path()
            .join(event)
            .is_dir()
            .then(|| d.file_name().to_string_lossy().into_owned())
    })
}

fn tracepoint_template(
    ident: &str,
    category: &str,
    event: &str,
    btf: &Btf,
    host: bool,
) -> Result<String, Fail> {
    let ctx = tracepoint_context(category, event, btf, host)?;
    let Some(layout) = btf.find_struct(&ctx) else {
        return fail(format!("`{ctx}` is not in the BTF"), None);
    };
    let mut fields = String::new();
    let mut sample = None;
    for f in &layout.fields {
        if f.name.is_empty() || f.name == "ent" || f.name == "__data" {
            continue;
        }
        let _ = writeln!(fields, "//   {}: {}", f.name, c_type(&f.ty));
        if sample.is_none() && f.bitfield_size == 0 && !f.name.starts_with("__data_loc") {
            if let BtfType::Int { bits, .. } = f.ty {
                if bits <= 64 {
                    sample = Some(f.name.clone());
                }
            }
        }
    }
    let (decl, body) = match &sample {
        Some(s) => (
            format!("var last_{s} : array<u32, u64>(1)\n"),
            format!("    last_{s}[0] = ctx->{s} as u64\n"),
        ),
        None => (String::new(), String::new()),
    };
    let report = match &sample {
        Some(s) => format!("    print(\"%d events, last {s}: %d\", events[0], last_{s}[0])\n"),
        None => "    print(\"%d events\", events[0])\n".into(),
    };
    Ok(fill(
        include_str!("init/templates/tracepoint.ks"),
        &[
            ("ident", ident),
            ("category", category),
            ("event", event),
            ("ctx", ctx.as_str()),
            ("fields", fields.as_str()),
            ("decl", decl.as_str()),
            ("body", body.as_str()),
            ("report", report.as_str()),
        ],
    ))
}

fn probe_template(ident: &str, function: &str, btf: &Btf) -> Result<String, Fail> {
    let Some((kparams, ret)) = btf.find_func(function) else {
        let near = closest(function, btf.func_names(), 3);
        return fail(
            format!("this kernel has no function `{function}` in its BTF"),
            suggestions("kernel functions", &near, "the kernel's functions are listed by `bpftool btf dump file /sys/kernel/btf/vmlinux | grep FUNC`"),
        );
    };
    let kparams: Vec<(String, BtfType)> = kparams.into_iter().filter(|p| p.0 != "...").collect();
    // The probe takes the kernel's parameters in order, as far as they
    // have a KernelScript type (at most 6: the argument registers).
    let mut ps = Vec::new();
    let mut note = String::new();
    let names = param_names(&kparams);
    for (i, (n, t)) in kparams.iter().enumerate().take(MAX_PROBE_PARAMS) {
        match ks_type(t) {
            Some(k) => ps.push((names[i].clone(), k)),
            None => {
                let _ = writeln!(
                    note,
                    "// Parameter `{n}` ({}) and those after it have no KernelScript type; the probe takes the ones before it.",
                    c_type(t)
                );
                break;
            }
        }
    }
    let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    let count_arg = ps
        .iter()
        .find(|(_, t)| t.starts_with('u') || t.starts_with('i'))
        .map(|(n, _)| n.clone());
    let (decl, body, report) = match &count_arg {
        Some(a) => (
            format!("var sum_{a} : array<u32, u64>(1)\n"),
            format!("    sum_{a}[0] += {a} as u64\n"),
            format!("    print(\"%d calls, {a} summed: %d\", calls[0], sum_{a}[0])\n"),
        ),
        None => (
            String::new(),
            String::new(),
            "    print(\"%d calls\", calls[0])\n".into(),
        ),
    };
    Ok(fill(
        include_str!("init/templates/probe.ks"),
        &[
            ("ident", ident),
            ("function", function),
            ("proto", c_proto(function, &kparams, &ret).as_str()),
            ("note", note.as_str()),
            ("decl", decl.as_str()),
            ("sig", sig.join(", ").as_str()),
            ("body", body.as_str()),
            ("report", report.as_str()),
        ],
    ))
}

/// The struct_ops types of a BTF: the kernel wraps each registered one in
/// `struct bpf_struct_ops_<type>`.
fn struct_ops_types(btf: &Btf) -> Vec<String> {
    let mut v: Vec<String> = btf
        .struct_names()
        .filter_map(|n| n.strip_prefix("bpf_struct_ops_"))
        .filter(|t| t.ends_with("_ops") && btf.has_struct(t))
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn struct_ops_template(ident: &str, ops: &str, btf: &Btf) -> Result<String, Fail> {
    let types = struct_ops_types(btf);
    let layout = match btf.find_struct(ops) {
        Some(l) if types.iter().any(|t| t == ops) => l,
        _ => {
            let near = closest(ops, types.iter().map(String::as_str), 3);
            let list = format!("this kernel's struct_ops types: {}", types.join(", "));
            let help = match near.as_slice() {
                [] => list,
                _ => format!(
                    "{} ({list})",
                    suggestions("", &near, "").unwrap_or_default()
                ),
            };
            return fail(
                format!("`{ops}` is not a struct_ops type of this kernel"),
                Some(help),
            );
        }
    };
    let mut members = String::new();
    let mut data = String::new();
    let mut skipped = String::new();
    let mut name_field = String::new();
    for f in &layout.fields {
        if let (Some(why), BtfType::Pointer(_)) = (unsupported_member(ops, &f.name), &f.ty) {
            let _ = writeln!(skipped, "//   {} ({why})", f.name);
            continue;
        }
        // A name longer than the kernel's `name` field holds is cut: set
        // one that fits.
        if let ("name", BtfType::Array(_, n)) = (f.name.as_str(), &f.ty) {
            if ident.len() >= *n as usize && *n > 1 {
                name_field = format!("    name: \"{}\",\n\n", &ident[..*n as usize - 1]);
            }
        }
        let BtfType::Pointer(p) = &f.ty else {
            if !f.name.is_empty() {
                let _ = writeln!(data, "//   {}: {}", f.name, c_type(&f.ty));
            }
            continue;
        };
        let BtfType::FuncProto { params: kp, ret } = &**p else {
            let _ = writeln!(data, "//   {}: {}", f.name, c_type(&f.ty));
            continue;
        };
        let (ps, ret_ks) = match (params(kp), ret.as_ref()) {
            (Ok(ps), BtfType::Void) => (ps, None),
            (Ok(ps), r) => match ks_type(r) {
                Some(k) => (ps, Some(k)),
                None => {
                    let _ = writeln!(
                        skipped,
                        "//   {} (no KernelScript type)",
                        c_proto(&f.name, kp, ret)
                    );
                    continue;
                }
            },
            (Err(_), _) => {
                let _ = writeln!(
                    skipped,
                    "//   {} (no KernelScript type)",
                    c_proto(&f.name, kp, ret)
                );
                continue;
            }
        };
        let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let (arrow, body) = match &ret_ks {
            None => (" -> void".to_string(), String::new()),
            Some(t) if t.starts_with('*') => (format!(" -> {t}"), "        return null\n".into()),
            Some(t) if t == "bool" => (format!(" -> {t}"), "        return false\n".into()),
            Some(t) => (format!(" -> {t}"), "        return 0\n".into()),
        };
        let _ = write!(
            members,
            "    // {}\n    fn {}({}){arrow} {{\n        calls[0] += 1\n{body}    }}\n\n",
            c_proto(&f.name, kp, ret),
            f.name,
            sig.join(", ")
        );
    }
    let members = members.trim_end().to_string();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("//\n// Members left out:\n{skipped}")
    };
    Ok(fill(
        include_str!("init/templates/struct_ops.ks"),
        &[
            ("ident", ident),
            ("ops", ops),
            ("data", data.as_str()),
            ("skipped", skipped.as_str()),
            ("name_field", name_field.as_str()),
            ("members", members.as_str()),
        ],
    ))
}

/// Members the kernel refuses to a BPF implementation (it says "attach to
/// unsupported member"); BTF does not tell them apart.
fn unsupported_member(ops: &str, member: &str) -> Option<&'static str> {
    match (ops, member) {
        ("tcp_congestion_ops", "get_info") => Some("the kernel refuses BPF for it"),
        _ => None,
    }
}

/// Kfunc families, by name (see docs/language.md, `ksc init --kfuncs`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Family {
    Generic,
    Xdp,
    Skb,
    Conntrack,
    Crypto,
    Tracing,
    TcpCongestion,
    SchedExt,
    /// The kernel's self-tests: never offered.
    Test,
}

/// The family of a kfunc, from its name: BTF records that a function is a
/// kfunc, not for which program types (that is in the kernel's kfunc sets,
/// outside the BTF).
fn family(name: &str) -> Family {
    use Family::*;
    let has = |s: &str| name.contains(s);
    let starts = |ps: &[&str]| ps.iter().any(|p| name.starts_with(p));
    if starts(&[
        "__bpf_trap",
        "bpf_fentry_test",
        "bpf_modify_return_test",
        "bpf_kfunc_call_",
    ]) {
        Test
    } else if has("xdp") {
        Xdp
    } else if has("skb") || starts(&["bpf_sk_", "bpf_sock_"]) {
        Skb
    } else if starts(&["bpf_ct_"]) {
        Conntrack
    } else if starts(&["bpf_crypto_"]) {
        Crypto
    } else if starts(&["tcp_", "cubictcp_", "bbr_", "dctcp_"]) {
        TcpCongestion
    } else if starts(&["scx_"]) {
        SchedExt
    } else if starts(&[
        "bpf_task_",
        "bpf_iter_task",
        "bpf_iter_css",
        "bpf_cgroup_",
        "css_",
        "bpf_get_file_xattr",
        "bpf_get_dentry_xattr",
        "bpf_set_dentry_xattr",
        "bpf_remove_dentry_xattr",
        "bpf_path_",
        "bpf_put_file",
        "bpf_get_task_exe_file",
        "bpf_copy_from_user",
        "bpf_probe_read_",
        "bpf_send_signal_task",
        "bpf_iter_kmem_cache",
        "bpf_get_kmem_cache",
        "bpf_iter_dmabuf",
        "bpf_lookup_",
        "bpf_key_put",
        "bpf_session_",
        "bpf_verify_pkcs7",
    ]) {
        Tracing
    } else {
        Generic
    }
}

/// The `.kh` of `extern` declarations for the kfuncs of `kind`.
fn kfuncs_header(kind: &Kind, btf: &Btf, btf_name: &str) -> String {
    let families = kind.kfunc_families();
    let all = btf.kfuncs();
    let mut out = format!(
        "// Kernel functions (kfuncs) for {} programs, from the BTF of {btf_name}\n\
         // (made by `ksc init --kfuncs`). Kfuncs are the functions BTF tags\n\
         // `bpf_kfunc`; BTF does not say which program types may call each, so\n\
         // they are chosen by family (docs/language.md, `ksc init --kfuncs`):\n\
         // the verifier has the last word when the program loads.\n\
         // Pointers to kernel structs are `*u8`.\n\n",
        kind.short()
    );
    let mut skipped = Vec::new();
    let mut n = 0;
    for name in &all {
        if !families.contains(&family(name)) {
            continue;
        }
        let Some((kp, ret)) = btf.find_func(name) else {
            continue;
        };
        let variadic = kp.iter().any(|p| p.0 == "...");
        let ps = params(&kp);
        let ret_ks = match ret {
            BtfType::Void => Some(None),
            ref r => ks_type(r).map(Some),
        };
        match (ps, ret_ks, variadic) {
            (Ok(ps), Some(ret_ks), false) => {
                let sig: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                let arrow = ret_ks.map(|r| format!(" -> {r}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "// {}\nextern {name}({}){arrow}\n",
                    c_proto(name, &kp, &ret),
                    sig.join(", ")
                );
                n += 1;
            }
            _ => skipped.push(c_proto(name, &kp, &ret)),
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "// Left out (a parameter or result KernelScript cannot type):"
        );
        for s in skipped {
            let _ = writeln!(out, "//   {s}");
        }
    }
    let _ = writeln!(out, "// {n} kfuncs of {} in this BTF.", all.len());
    out
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
