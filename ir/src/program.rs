//! Program kinds as data: the attribute that names a program type is
//! parsed into [`ProgramKind`] here and nowhere else, its argument into a
//! [`ProgramType`] by [`ProgramType::from_attribute`] (with a typed
//! [`ProgramTypeError`]), and everything after matches on the enums.
//! Tracepoint context structs are recognised by [`TraceStruct`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ProgramType, StructOpsId};

/// The kind of an eBPF program without its argument: which BPF program
/// type the kernel runs it as (two programs of the same kind may tail-call
/// each other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProgramKind {
    /// `@xdp`
    Xdp,
    /// `@tc("ingress" | "egress")`
    Tc,
    /// `@tracepoint("category/event")`
    Tracepoint,
    /// `@probe("function")` (also written `@kprobe`)
    Probe,
    /// `@lsm("hook")`
    Lsm,
    /// `@perf_event`
    PerfEvent,
    /// A member of a `@struct_ops` impl block.
    StructOps,
}

/// What a program works on, which decides its context, its helpers and
/// how a loader attaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProgramClass {
    /// XDP and TC: a packet context (`data`, `data_end`), verdict results.
    Packet,
    /// Tracepoints, probes and perf events: a tracing context, observe only.
    Tracing,
    /// LSM hooks: typed hook arguments, the result allows or denies.
    Lsm,
    /// struct_ops members: the kernel calls them through its ops table.
    StructOps,
}

impl ProgramKind {
    /// Every kind, in attribute order.
    pub const ALL: &'static [ProgramKind] = &[
        ProgramKind::Xdp,
        ProgramKind::Tc,
        ProgramKind::Tracepoint,
        ProgramKind::Probe,
        ProgramKind::Lsm,
        ProgramKind::PerfEvent,
        ProgramKind::StructOps,
    ];

    /// The attribute's name as written (`perf_event` for `@perf_event`).
    pub fn attribute(self) -> &'static str {
        match self {
            ProgramKind::Xdp => "xdp",
            ProgramKind::Tc => "tc",
            ProgramKind::Tracepoint => "tracepoint",
            ProgramKind::Probe => "probe",
            ProgramKind::Lsm => "lsm",
            ProgramKind::PerfEvent => "perf_event",
            ProgramKind::StructOps => "struct_ops",
        }
    }

    /// What programs of this kind work on.
    pub fn class(self) -> ProgramClass {
        match self {
            ProgramKind::Xdp | ProgramKind::Tc => ProgramClass::Packet,
            ProgramKind::Tracepoint | ProgramKind::Probe | ProgramKind::PerfEvent => {
                ProgramClass::Tracing
            }
            ProgramKind::Lsm => ProgramClass::Lsm,
            ProgramKind::StructOps => ProgramClass::StructOps,
        }
    }
}

impl fmt::Display for ProgramKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute())
    }
}

/// A name that is no program kind's attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProgramKind(pub String);

impl fmt::Display for UnknownProgramKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<String> = ProgramKind::ALL
            .iter()
            .map(|k| format!("@{}", k.attribute()))
            .collect();
        write!(
            f,
            "`@{}` is not a program type; program types are {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownProgramKind {}

impl FromStr for ProgramKind {
    type Err = UnknownProgramKind;

    /// The attribute's name, without `@`; `kprobe` is the older spelling
    /// of `probe`.
    fn from_str(s: &str) -> Result<ProgramKind, UnknownProgramKind> {
        if s == "kprobe" {
            return Ok(ProgramKind::Probe);
        }
        ProgramKind::ALL
            .iter()
            .copied()
            .find(|k| k.attribute() == s)
            .ok_or_else(|| UnknownProgramKind(s.to_string()))
    }
}

/// Why a program attribute's argument does not name a program type. Each
/// knows the program type checking goes on with ([`Self::recovered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramTypeError {
    /// `@tc` without a direction.
    TcNoDirection,
    /// `@tc("sideways")`
    TcDirection(String),
    /// `@tracepoint` whose argument is not `"category/event"`.
    TracepointName,
    /// `@probe` without the function.
    ProbeFunction {
        /// The offset given, if any.
        offset: Option<u64>,
    },
    /// `@probe("f+x")`: the offset is not a number.
    ProbeOffset {
        /// The function probed.
        function: String,
    },
    /// `@struct_ops` on a function (it goes on an `impl` block).
    StructOpsOnFunction,
}

impl ProgramTypeError {
    /// A help line for the user, if there is more to say.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            ProgramTypeError::TcNoDirection => {
                Some("write `@tc(\"ingress\")` or `@tc(\"egress\")`: no direction is assumed")
            }
            ProgramTypeError::TcDirection(_) => {
                Some("write `@tc(\"ingress\")` or `@tc(\"egress\")`")
            }
            ProgramTypeError::TracepointName => {
                Some("for example `@tracepoint(\"syscalls/sys_enter_read\")`")
            }
            ProgramTypeError::ProbeFunction { .. } => {
                Some("for example `@probe(\"vfs_read\")` or `@probe(\"vfs_read+16\")`")
            }
            ProgramTypeError::ProbeOffset { .. } | ProgramTypeError::StructOpsOnFunction => None,
        }
    }

    /// The program type checking continues with, so that one bad
    /// attribute does not hide the function's other errors; `None`: the
    /// attribute is dropped.
    pub fn recovered(&self) -> Option<ProgramType> {
        Some(match self {
            ProgramTypeError::TcNoDirection | ProgramTypeError::TcDirection(_) => {
                ProgramType::Tc { ingress: true }
            }
            ProgramTypeError::TracepointName => ProgramType::Tracepoint {
                category: String::new(),
                event: String::new(),
            },
            ProgramTypeError::ProbeFunction { offset } => ProgramType::Probe {
                function: String::new(),
                offset: *offset,
            },
            ProgramTypeError::ProbeOffset { function } => ProgramType::Probe {
                function: function.clone(),
                offset: None,
            },
            ProgramTypeError::StructOpsOnFunction => return None,
        })
    }
}

impl fmt::Display for ProgramTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramTypeError::TcNoDirection => f.write_str("`@tc` needs a direction"),
            ProgramTypeError::TcDirection(d) => write!(f, "unknown TC direction `{d}`"),
            ProgramTypeError::TracepointName => {
                f.write_str("`@tracepoint` needs \"category/event\"")
            }
            ProgramTypeError::ProbeFunction { .. } => {
                f.write_str("`@probe` needs the kernel function to probe")
            }
            ProgramTypeError::ProbeOffset { .. } => {
                f.write_str("the probe offset must be a number: `@probe(\"func+16\")`")
            }
            ProgramTypeError::StructOpsOnFunction => {
                f.write_str("`@struct_ops` goes on an `impl` block")
            }
        }
    }
}

impl std::error::Error for ProgramTypeError {}

impl ProgramType {
    /// The program type an attribute of `kind` with argument `arg` (its
    /// string, or the name written) declares on a function.
    pub fn from_attribute(
        kind: ProgramKind,
        arg: Option<&str>,
    ) -> Result<ProgramType, ProgramTypeError> {
        Ok(match kind {
            ProgramKind::Xdp => ProgramType::Xdp,
            ProgramKind::Tc => match arg {
                Some("ingress") => ProgramType::Tc { ingress: true },
                Some("egress") => ProgramType::Tc { ingress: false },
                Some(other) => return Err(ProgramTypeError::TcDirection(other.to_string())),
                None => return Err(ProgramTypeError::TcNoDirection),
            },
            ProgramKind::Tracepoint => match arg.and_then(|s| s.split_once('/')) {
                Some((c, e)) if !c.is_empty() && !e.is_empty() => ProgramType::Tracepoint {
                    category: c.to_string(),
                    event: e.to_string(),
                },
                _ => return Err(ProgramTypeError::TracepointName),
            },
            ProgramKind::Probe => {
                let target = arg.unwrap_or_default();
                let (function, offset) = match target.split_once('+') {
                    Some((f, off)) => {
                        let off = match off.strip_prefix("0x") {
                            Some(h) => u64::from_str_radix(h, 16).ok(),
                            None => off.parse().ok(),
                        };
                        let Some(off) = off else {
                            return Err(ProgramTypeError::ProbeOffset {
                                function: f.to_string(),
                            });
                        };
                        (f, Some(off))
                    }
                    None => (target, None),
                };
                if function.is_empty() {
                    return Err(ProgramTypeError::ProbeFunction { offset });
                }
                ProgramType::Probe {
                    function: function.to_string(),
                    offset,
                }
            }
            ProgramKind::Lsm => ProgramType::Lsm {
                hook: arg.unwrap_or_default().to_string(),
            },
            ProgramKind::PerfEvent => ProgramType::PerfEvent,
            ProgramKind::StructOps => return Err(ProgramTypeError::StructOpsOnFunction),
        })
    }

    /// A member of the struct_ops impl block `ops` filling `member`.
    pub fn struct_ops(ops: StructOpsId, member: &str) -> ProgramType {
        ProgramType::StructOps {
            ops,
            member: member.to_string(),
        }
    }

    /// Its kind, without the argument.
    pub fn kind(&self) -> ProgramKind {
        match self {
            ProgramType::Xdp => ProgramKind::Xdp,
            ProgramType::Tc { .. } => ProgramKind::Tc,
            ProgramType::Tracepoint { .. } => ProgramKind::Tracepoint,
            ProgramType::Probe { .. } => ProgramKind::Probe,
            ProgramType::Lsm { .. } => ProgramKind::Lsm,
            ProgramType::PerfEvent => ProgramKind::PerfEvent,
            ProgramType::StructOps { .. } => ProgramKind::StructOps,
        }
    }

    /// What it works on.
    pub fn class(&self) -> ProgramClass {
        self.kind().class()
    }
}

/// A tracepoint context struct, recognised by its name in one place: the
/// checker, the restatement rules and `ksc init` ask this, not the name's
/// prefix. Both come from the kernel's BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceStruct<'a> {
    /// `trace_entry`: the common header every tracepoint record starts with.
    Entry,
    /// `trace_event_raw_<class>`: the record of an event class (`sys_enter`
    /// for every `syscalls/sys_enter_*` event).
    Raw {
        /// The event class.
        class: &'a str,
    },
}

/// The prefix of an event class's record struct in BTF.
const RAW_PREFIX: &str = "trace_event_raw_";

impl<'a> TraceStruct<'a> {
    /// The BTF struct name (`trace_event_raw_sys_enter`).
    pub fn name(self) -> String {
        match self {
            TraceStruct::Entry => "trace_entry".to_string(),
            TraceStruct::Raw { class } => format!("{RAW_PREFIX}{class}"),
        }
    }

    /// Is it an event class's record (`trace_event_raw_*`)?
    pub fn is_raw(self) -> bool {
        matches!(self, TraceStruct::Raw { .. })
    }

    /// The event class of a class record.
    pub fn class(self) -> Option<&'a str> {
        match self {
            TraceStruct::Raw { class } => Some(class),
            TraceStruct::Entry => None,
        }
    }
}

/// A struct name that is no tracepoint context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotTraceStruct(pub String);

impl fmt::Display for NotTraceStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a tracepoint context (`trace_entry`, `{RAW_PREFIX}<class>`)",
            self.0
        )
    }
}

impl std::error::Error for NotTraceStruct {}

impl<'a> TryFrom<&'a str> for TraceStruct<'a> {
    type Error = NotTraceStruct;
    fn try_from(name: &'a str) -> Result<TraceStruct<'a>, NotTraceStruct> {
        match name.strip_prefix(RAW_PREFIX) {
            _ if name == "trace_entry" => Ok(TraceStruct::Entry),
            Some(class) if !class.is_empty() => Ok(TraceStruct::Raw { class }),
            _ => Err(NotTraceStruct(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_structs_are_recognised_by_name_once() {
        let p = |n| TraceStruct::try_from(n);
        assert_eq!(p("trace_entry"), Ok(TraceStruct::Entry));
        assert_eq!(
            p("trace_event_raw_sys_enter"),
            Ok(TraceStruct::Raw { class: "sys_enter" })
        );
        assert_eq!(
            TraceStruct::Raw { class: "sys_enter" }.name(),
            "trace_event_raw_sys_enter"
        );
        assert!(p("trace_event_raw_sched_switch").unwrap().is_raw());
        assert!(!TraceStruct::Entry.is_raw());
        assert_eq!(TraceStruct::Entry.class(), None);
        // Other kernel structs that merely start with `trace_`.
        let e = p("trace_array").unwrap_err();
        assert_eq!(e, NotTraceStruct("trace_array".into()));
        assert_eq!(
            e.to_string(),
            "`trace_array` is not a tracepoint context (`trace_entry`, `trace_event_raw_<class>`)"
        );
        assert!(p("trace_event_raw_").is_err());
    }

    #[test]
    fn kinds_parse_from_their_attribute_and_unknown_ones_are_explained() {
        for k in ProgramKind::ALL {
            assert_eq!(k.attribute().parse::<ProgramKind>(), Ok(*k));
        }
        assert_eq!("kprobe".parse::<ProgramKind>(), Ok(ProgramKind::Probe));
        let e = "xdpp".parse::<ProgramKind>().unwrap_err();
        assert_eq!(e, UnknownProgramKind("xdpp".into()));
        assert_eq!(
            e.to_string(),
            "`@xdpp` is not a program type; program types are @xdp, @tc, @tracepoint, @probe, @lsm, @perf_event, @struct_ops"
        );
        assert_eq!(ProgramKind::Tc.class(), ProgramClass::Packet);
        assert_eq!(ProgramKind::PerfEvent.class(), ProgramClass::Tracing);
    }

    #[test]
    fn arguments_parse_into_program_types_with_typed_errors() {
        let p = |k, a| ProgramType::from_attribute(k, a);
        assert_eq!(
            p(ProgramKind::Tc, Some("egress")),
            Ok(ProgramType::Tc { ingress: false })
        );
        assert_eq!(
            p(ProgramKind::Tc, Some("up")),
            Err(ProgramTypeError::TcDirection("up".into()))
        );
        assert_eq!(
            p(ProgramKind::Tc, None),
            Err(ProgramTypeError::TcNoDirection)
        );
        assert_eq!(
            p(ProgramKind::Tracepoint, Some("sched/sched_switch")),
            Ok(ProgramType::Tracepoint {
                category: "sched".into(),
                event: "sched_switch".into()
            })
        );
        assert_eq!(
            p(ProgramKind::Tracepoint, Some("sched/")),
            Err(ProgramTypeError::TracepointName)
        );
        assert_eq!(
            p(ProgramKind::Probe, Some("vfs_read+0x10")),
            Ok(ProgramType::Probe {
                function: "vfs_read".into(),
                offset: Some(16)
            })
        );
        let e = p(ProgramKind::Probe, Some("vfs_read+x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the probe offset must be a number: `@probe(\"func+16\")`"
        );
        assert_eq!(
            e.recovered(),
            Some(ProgramType::Probe {
                function: "vfs_read".into(),
                offset: None
            })
        );
        assert_eq!(
            p(ProgramKind::Probe, None),
            Err(ProgramTypeError::ProbeFunction { offset: None })
        );
        let e = p(ProgramKind::StructOps, None).unwrap_err();
        assert_eq!(e.recovered(), None);
        assert_eq!(
            p(ProgramKind::Lsm, Some("file_open")).map(|t| t.class()),
            Ok(ProgramClass::Lsm)
        );
    }
}
