//! Check a deployment file against the program (its IR) and the running
//! kernel before anything is loaded: each problem is a located error, in
//! the deployment file or, for what the `.ks` decides, in the source.

use std::path::PathBuf;

use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir::{FnKind, Module, ProgramClass, ProgramType};

use crate::config::{Attach, Deployment, Located, XdpMode};
use crate::kernel::{self, Target};

/// One program to deploy: its name, its type from the `.ks`, and where
/// it attaches (empty when `auto_attach` is false).
#[derive(Clone, Debug)]
pub struct PlannedProgram {
    pub name: String,
    pub ty: ProgramType,
    pub attach: Vec<(Attach, Target)>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub dir: PathBuf,
    pub programs: Vec<PlannedProgram>,
}

/// The deployment file's word for a program type: the attribute's name,
/// except that probes are `kprobe` there (the spec's tooling section).
pub fn type_word(t: &ProgramType) -> &'static str {
    match t.kind() {
        ksc_ir::ProgramKind::Probe => "kprobe",
        k => k.attribute(),
    }
}

fn type_matches(word: &str, t: &ProgramType) -> bool {
    let word = word.to_ascii_lowercase();
    // The attributes' names (`kprobe` too, parsed by ir's ProgramKind),
    // and libbpf's section name for TC programs.
    match word.as_str() {
        "classifier" => t.kind() == ksc_ir::ProgramKind::Tc,
        w => w.parse::<ksc_ir::ProgramKind>() == Ok(t.kind()),
    }
}

/// The eBPF programs of `m`: name, type, and where the name is declared.
pub fn programs(m: &Module) -> Vec<(&str, &ProgramType, ksc_ir::Span)> {
    m.functions
        .iter()
        .filter_map(|f| match &f.kind {
            FnKind::Program(t) => Some((f.name.as_str(), t, name_span(m, f))),
            _ => None,
        })
        .collect()
}

/// The span of `fn NAME`'s name within the function's (whole) span.
fn name_span(m: &Module, f: &ksc_ir::Function) -> ksc_ir::Span {
    let Some(file) = m.files.get(f.span.file) else {
        return f.span;
    };
    let (start, end) = (f.span.start as usize, f.span.end as usize);
    let Some(text) = file.text.get(start..end) else {
        return f.span;
    };
    match text.find(&format!("fn {}", f.name)) {
        Some(at) => {
            let s = start + at + 3;
            ksc_ir::Span::new(f.span.file, s, s + f.name.len())
        }
        None => f.span,
    }
}

/// Resolve an attach point of a program of type `ty` against the kernel.
/// `Err` carries the message and help.
pub fn resolve(ty: &ProgramType, a: &Attach, mode: XdpMode) -> Result<Target, (String, String)> {
    match (ty, a) {
        // Packet programs (XDP, TC) attach to network interfaces.
        (t, Attach::Interface(i)) if t.class() == ProgramClass::Packet => {
            let Some(ifindex) = kernel::ifindex(i) else {
                return Err((
                    format!("there is no network interface `{i}` on this machine"),
                    "`ip link` lists the interfaces".into(),
                ));
            };
            Ok(match ty {
                ProgramType::Tc { ingress } => Target::Tcx {
                    ifindex,
                    ingress: *ingress,
                },
                _ => Target::Xdp { ifindex, mode },
            })
        }
        (ProgramType::Tracepoint { .. }, Attach::Tracepoint(tp)) => match kernel::tracepoint_id(tp)
        {
            Some(id) => Ok(Target::Tracepoint { id }),
            None => Err((
                format!("the kernel has no tracepoint `{tp}`"),
                "the tracepoints are listed under /sys/kernel/tracing/events/ (CATEGORY/EVENT)"
                    .into(),
            )),
        },
        (ProgramType::Lsm { hook }, Attach::Hook(h)) => {
            if h != hook {
                return Err((
                    format!("the program is built for LSM hook `{hook}`, not `{h}`"),
                    format!("write `hooks: [\"{hook}\"]`, or change the program's `@lsm(\"...\")`"),
                ));
            }
            if !kernel::bpf_lsm_active() {
                return Err((
                    "the kernel's BPF LSM is not active (no `bpf` in /sys/kernel/security/lsm)"
                        .into(),
                    "boot with `lsm=...,bpf`".into(),
                ));
            }
            Ok(Target::Lsm)
        }
        (ProgramType::Probe { function, offset }, Attach::Function(f)) => {
            if f != function {
                return Err((
                    format!("the program is built for function `{function}`, not `{f}`"),
                    format!("write `functions: [\"{function}\"]`"),
                ));
            }
            if kernel::kprobe_pmu().is_none() {
                return Err((
                    "the kernel has no kprobes".into(),
                    "a kernel built with CONFIG_KPROBES is needed".into(),
                ));
            }
            Ok(Target::Kprobe {
                function: f.clone(),
                offset: offset.unwrap_or(0),
            })
        }
        (t, a) => Err((
            format!(
                "a {} program cannot attach to a {}",
                type_word(t),
                a.describe()
            ),
            match t {
                ProgramType::Xdp | ProgramType::Tc { .. } => "give `interfaces:`".into(),
                ProgramType::Tracepoint { .. } => "give `tracepoints:` (CATEGORY/EVENT)".into(),
                ProgramType::Lsm { .. } => "give `hooks:`".into(),
                ProgramType::Probe { .. } => "give `functions:`".into(),
                _ => "ksc deploy attaches xdp, tc, tracepoint, lsm and kprobe programs".into(),
            },
        )),
    }
}

/// The attach points a program has when the file gives none: what its
/// attribute in the `.ks` names, for kinds that name one.
pub fn default_attach(ty: &ProgramType) -> Option<Attach> {
    match ty {
        ProgramType::Tracepoint { category, event } => {
            Some(Attach::Tracepoint(format!("{category}/{event}")))
        }
        ProgramType::Lsm { hook } => Some(Attach::Hook(hook.clone())),
        ProgramType::Probe { function, .. } => Some(Attach::Function(function.clone())),
        _ => None,
    }
}

/// Check `d` against `m` and the kernel.
pub fn plan(d: &Deployment, m: &Module) -> Result<Plan, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    let progs = programs(m);
    let dir = d.pin_dir();
    if dir.starts_with("/sys/fs/bpf") {
        kernel::ensure_mounted("/sys/fs/bpf", "bpf");
    }
    if !kernel::on_bpffs(&dir) || !dir.is_absolute() {
        let at = d
            .global_maps
            .pin_path
            .as_ref()
            .map_or(d.name.span, |p| p.span);
        errs.push(
            Diagnostic::error(
                codes::DEPLOY_PLAN,
                at,
                format!("`{}` is not on a bpf filesystem", dir.display()),
            )
            .with_label("pins live on bpffs")
            .with_help(
                "use a directory under /sys/fs/bpf (mount it with `mount -t bpf bpf /sys/fs/bpf`)",
            ),
        );
    }
    let mut planned = Vec::new();
    for p in &d.programs {
        let Some((name, ty, fspan)) = progs.iter().find(|(n, _, _)| *n == p.name.value) else {
            let names: Vec<&str> = progs.iter().map(|(n, _, _)| *n).collect();
            errs.push(
                Diagnostic::error(
                    codes::DEPLOY_PLAN,
                    p.name.span,
                    format!("`{}` has no eBPF program `{}`", m.source_path, p.name.value),
                )
                .with_label("unknown program")
                .with_help(if names.is_empty() {
                    "the program declares no eBPF programs".to_string()
                } else {
                    format!("its programs are: {}", names.join(", "))
                }),
            );
            continue;
        };
        if !type_matches(&p.ty.value, ty) {
            errs.push(
                Diagnostic::error(
                    codes::DEPLOY_PLAN,
                    p.ty.span,
                    format!(
                        "program `{name}` is of type `{}` in the source, not `{}`",
                        type_word(ty),
                        p.ty.value
                    ),
                )
                .with_label("type does not match the source")
                .with_secondary(*fspan, format!("declared as {} here", type_word(ty)))
                .with_help(format!("write `type: {}`", type_word(ty))),
            );
            continue;
        }
        let mut attach = Vec::new();
        if d.auto_attach {
            let given: Vec<Located<Attach>> = if p.attach.is_empty() {
                match default_attach(ty) {
                    Some(a) => vec![Located {
                        value: a,
                        span: *fspan,
                    }],
                    None => {
                        errs.push(
                            Diagnostic::error(codes::DEPLOY_PLAN,
                                p.name.span,
                                format!("program `{name}` has nowhere to attach"),
                            )
                            .with_label("no `attach:` for this program")
                            .with_help(if ty.class() == ProgramClass::Packet {
                                "add `attach:` with `interfaces: [\"IFNAME\"]`, or `auto_attach: false` and `ksc attach` later"
                            } else {
                                "ksc deploy attaches xdp, tc, tracepoint, lsm and kprobe programs"
                            }),
                        );
                        continue;
                    }
                }
            } else {
                p.attach.clone()
            };
            for a in given {
                match resolve(ty, &a.value, p.mode) {
                    Ok(t) => attach.push((a.value, t)),
                    Err((msg, help)) => errs.push(
                        Diagnostic::error(codes::DEPLOY_PLAN, a.span, msg)
                            .with_label("attach point not available")
                            .with_help(help),
                    ),
                }
            }
        } else if !matches!(
            ty,
            ProgramType::Xdp
                | ProgramType::Tc { .. }
                | ProgramType::Tracepoint { .. }
                | ProgramType::Lsm { .. }
                | ProgramType::Probe { .. }
        ) {
            errs.push(
                Diagnostic::error(
                    codes::DEPLOY_PLAN,
                    p.ty.span,
                    format!("ksc deploy cannot attach {} programs", type_word(ty)),
                )
                .with_label("not deployable")
                .with_help("ksc deploy attaches xdp, tc, tracepoint, lsm and kprobe programs"),
            );
        }
        planned.push(PlannedProgram {
            name: name.to_string(),
            ty: (*ty).clone(),
            attach,
        });
    }
    if errs.is_empty() {
        Ok(Plan {
            dir,
            programs: planned,
        })
    } else {
        Err(errs)
    }
}
