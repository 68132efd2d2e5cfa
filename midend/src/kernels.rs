//! The oldest kernel each program runs on, and what a chosen kernel lacks
//! (docs/kernels.md).
//!
//! [`floors`] walks each eBPF program of a checked [`Module`] (with the
//! functions it calls) and lists every use of a kernel facility the
//! tables of [`ksc_ir::kernels`] date: helpers, kfuncs, map kinds, the
//! program type, the oldest attach mode the loaders fall back to, and what
//! the generated code relies on (loops, global data, CO-RE). The floor is
//! the newest release among them. [`check_target`] reports, located, each
//! use a chosen [`TargetKernel`] lacks: by its release, and by its BTF
//! when the BTF is at hand.

use ksc_frontend::diag::codes;
use ksc_frontend::Diagnostic;
use ksc_ir::kernels::{self as k, BtfProbe, Release};
use ksc_ir::{
    Callee, Domain, ExprKind, FnId, FnKind, MapKind, Module, ProgramType, Span, StmtKind, TypeKind,
};

use crate::btf::Btf;

/// One use of a dated kernel facility.
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    /// What is used, for messages: "`bpf_loop`", "ring buffers (`ringbuf` maps)".
    pub what: String,
    /// The release that brought it.
    pub since: Release,
    /// Where.
    pub span: Span,
    /// How a kernel's BTF shows it.
    pub probe: Option<BtfProbe>,
    /// A kernel without it still loads the program, but the verifier
    /// refuses this use: a warning rather than an error (the kfunc hooks
    /// of tracing program types; docs/language.md, "Which programs may
    /// call a `@kfunc`").
    pub warn_only: bool,
    /// What to do instead on an older kernel, if anything.
    pub instead: Option<&'static str>,
}

/// The floor of one program.
#[derive(Clone, Debug)]
pub struct ProgramFloor {
    /// The program.
    pub program: FnId,
    /// The oldest release it runs on.
    pub floor: Release,
    /// Each dated use (the first of each kind), newest release first.
    pub uses: Vec<Use>,
}

impl ProgramFloor {
    /// The uses that set the floor.
    pub fn set_by(&self) -> impl Iterator<Item = &Use> {
        self.uses.iter().filter(move |u| u.since == self.floor)
    }
}

/// Every program's floor, in function order, and the uses outside any
/// program (maps the loader creates) as a last entry-less list.
pub fn floors(m: &Module) -> (Vec<ProgramFloor>, Vec<Use>) {
    let mut out = vec![];
    for (i, f) in m.functions.iter().enumerate() {
        let FnKind::Program(pt) = &f.kind else {
            continue;
        };
        let id = FnId(i as u32);
        let mut w = Walker {
            m,
            uses: vec![],
            seen: vec![false; m.functions.len()],
            program: pt,
        };
        w.program_type(id, pt);
        w.function(id);
        for (p, call) in m.kfunc_callers() {
            if p == id {
                w.kfunc_hook(pt, call);
            }
        }
        let mut uses = dedup(w.uses);
        uses.sort_by_key(|u| std::cmp::Reverse(u.since));
        let floor = uses.iter().map(|u| u.since).max().unwrap_or(k::r(3, 18));
        out.push(ProgramFloor {
            program: id,
            floor,
            uses,
        });
    }
    let mut file = vec![];
    for map in &m.maps {
        file.push(feature_use(map_feature(map.kind), map.span));
    }
    for f in m.functions.iter().filter(|f| f.domain == Domain::Userspace) {
        f.body.walk_exprs(&mut |e| test_run_uses(m, e, &mut file));
    }
    (out, dedup(file))
}

/// What a `test(prog, ctx)` call in userspace code needs: the test-run
/// command, and for an XDP program given an interface, the XDP context
/// the runtime then passes (`ctx_in`, 5.15).
fn test_run_uses(m: &Module, e: &ksc_ir::Expr, file: &mut Vec<Use>) {
    let ExprKind::Call {
        callee: Callee::Builtin(ksc_ir::Builtin::Test),
        args,
    } = &e.kind
    else {
        return;
    };
    file.push(feature_use("user:test_run", e.span));
    let xdp = matches!(
        args.first().map(|a| &a.kind),
        Some(ExprKind::FnRef(p)) if m.function(*p).kind == FnKind::Program(ProgramType::Xdp)
    );
    let Some(ctx) = args.get(1).filter(|_| xdp) else {
        return;
    };
    let ExprKind::StructLit(fields) = &ctx.kind else {
        return;
    };
    let TypeKind::Struct(def) = &m.ty(ctx.ty).kind else {
        return;
    };
    for fi in fields {
        let named = def
            .fields
            .get(fi.field as usize)
            .is_some_and(|d| d.name == "interface_id");
        let zero = matches!(
            fi.value.kind,
            ExprKind::Value(ksc_ir::Value::UInt(0) | ksc_ir::Value::Int(0))
        );
        if named && !zero {
            file.push(feature_use("user:test_run_xdp_ctx", fi.value.span));
        }
    }
}

/// The floor of the whole file: the newest of its programs' and of the
/// file-level uses.
pub fn file_floor(programs: &[ProgramFloor], file: &[Use]) -> Release {
    programs
        .iter()
        .map(|p| p.floor)
        .chain(file.iter().map(|u| u.since))
        .max()
        .unwrap_or(k::r(3, 18))
}

fn dedup(uses: Vec<Use>) -> Vec<Use> {
    let mut out: Vec<Use> = vec![];
    for u in uses {
        if !out.iter().any(|o| o.what == u.what) {
            out.push(u);
        }
    }
    out
}

fn map_feature(kind: MapKind) -> &'static str {
    match kind {
        MapKind::Hash => "map:hash",
        MapKind::Array => "map:array",
        MapKind::PercpuHash => "map:percpu_hash",
        MapKind::PercpuArray => "map:percpu_array",
        MapKind::LruHash => "map:lru_hash",
        MapKind::Ringbuf => "map:ringbuf",
        MapKind::ProgArray => "map:prog_array",
    }
}

fn feature_use(key: &str, span: Span) -> Use {
    let f = k::feature(key).unwrap_or_else(|| panic!("feature `{key}` is in ir::kernels"));
    Use {
        what: f.what.to_string(),
        since: f.since,
        span,
        probe: f.btf,
        warn_only: false,
        instead: instead(key),
    }
}

/// What an older kernel's user can do instead, where there is a way.
fn instead(key: &str) -> Option<&'static str> {
    Some(match key {
        "map:ringbuf" => "on kernels before 5.8 send events through a map userspace reads (a `hash` or `percpu_array`)",
        "kfunc:obj_new" => "allocate in a map instead: a one-entry `percpu_array<u32, T>(1)` as scratch space, or a `hash` entry per object",
        "kfunc:module" => "do the work in eBPF code (a `@helper`)",
        "code:printk_many" => "print at most three values per `print`",
        "user:test_run_xdp_ctx" => "give `interface_id: 0`: the program then runs without an XDP context",
        "code:bounded_loops" => "kernels before 5.3 take only loops the compiler unrolls: use constant bounds small enough to unroll",
        _ => return None,
    })
}

/// The first line of a span (a function's whole declaration is too much
/// to underline).
fn first_line(m: &Module, span: Span) -> Span {
    let text = m.files.get(span.file).map_or("", |f| f.text.as_str());
    let end = text
        .get(span.start as usize..span.end as usize)
        .and_then(|s| s.find('\n'))
        .map_or(span.end, |n| span.start + n as u32);
    Span::new(span.file, span.start as usize, end as usize)
}

struct Walker<'m> {
    m: &'m Module,
    uses: Vec<Use>,
    seen: Vec<bool>,
    program: &'m ProgramType,
}

impl<'m> Walker<'m> {
    fn add(&mut self, key: &str, span: Span) {
        self.uses.push(feature_use(key, span));
    }

    fn program_type(&mut self, id: FnId, pt: &ProgramType) {
        let span = first_line(self.m, self.m.function(id).span);
        match pt {
            ProgramType::Xdp => {
                self.add("prog:xdp", span);
                self.add("attach:xdp_netlink", span);
            }
            ProgramType::Tc { .. } => {
                self.add("prog:tc", span);
                self.add("attach:clsact", span);
            }
            ProgramType::Tracepoint { .. } => self.add("prog:tracepoint", span),
            ProgramType::Probe { .. } => self.add("prog:kprobe", span),
            ProgramType::Lsm { .. } => self.add("prog:lsm", span),
            ProgramType::PerfEvent => self.add("prog:perf_event", span),
            ProgramType::StructOps { ops, .. } => {
                // At the impl block, once for all its members (the
                // struct_ops map came with the program type).
                if let Some(o) = self.m.struct_ops.get(ops.index()) {
                    let at = first_line(self.m, o.span);
                    self.add("prog:struct_ops", at);
                    let key = format!("ops:{}", o.ops_type);
                    if k::feature(&key).is_some() {
                        self.add(&key, at);
                    }
                }
            }
        }
    }

    /// The kfunc hook of the program's type (docs/language.md, "Which
    /// programs may call a `@kfunc`").
    fn kfunc_hook(&mut self, pt: &ProgramType, call: Span) {
        let key = match pt {
            ProgramType::Probe { .. } => "kfunc:probe_hook",
            ProgramType::Tracepoint { .. } | ProgramType::PerfEvent => "kfunc:tracing_hook",
            _ => return,
        };
        let mut u = feature_use(key, call);
        u.warn_only = true;
        self.uses.push(u);
    }

    fn helper(&mut self, name: &str, since: Release, span: Span) {
        let mut since = since;
        // XDP programs may redirect since 4.14 (the helper is older, for TC).
        if name == "bpf_redirect" && *self.program == ProgramType::Xdp {
            since = since.max(k::r(4, 14));
        }
        self.uses.push(Use {
            what: format!("`{name}`"),
            since,
            span,
            probe: Some(BtfProbe::Enumerator(
                "bpf_func_id",
                leak(k::helper_enumerator(name)),
            )),
            warn_only: false,
            instead: None,
        });
    }

    fn function(&mut self, id: FnId) {
        if std::mem::replace(&mut self.seen[id.index()], true) {
            return;
        }
        let f = self.m.function(id);
        if f.domain != Domain::Ebpf {
            return;
        }
        let mut calls = vec![];
        f.body.walk_exprs(&mut |e| {
            let here = e.span;
            match &e.kind {
                ExprKind::Call { callee, .. } => match callee {
                    Callee::BpfHelper(h) => {
                        if let Some(h) = ksc_ir::helper(*h) {
                            self.helper(h.name, h.since, here);
                        }
                    }
                    Callee::Function(c) => calls.push((*c, here)),
                    Callee::Pointer(p) => {
                        if let TypeKind::Function(sig) = &self.m.ty(p.ty).kind {
                            for t in self.m.analysis.pointer_targets(sig) {
                                calls.push((*t, here));
                            }
                        }
                    }
                    _ => {}
                },
                ExprKind::MapLookup { map, .. } | ExprKind::MapRead { map, .. } => {
                    self.map(*map, here)
                }
                ExprKind::RingbufReserve { map, .. }
                | ExprKind::RingbufSubmit { map, .. }
                | ExprKind::RingbufOutput { map, .. } => self.map(*map, here),
                ExprKind::ObjNew { .. } | ExprKind::ObjDelete(_) => self.add("kfunc:obj_new", here),
                ExprKind::Global(_) | ExprKind::ConfigField { .. } => {
                    self.add("code:global_data", here)
                }
                ExprKind::Print { values, .. } if values.len() > 3 => {
                    self.add("code:printk_many", here)
                }
                ExprKind::Field { base, .. } => {
                    let mut t = base.ty;
                    if let TypeKind::Pointer(p) = self.m.ty(t).kind {
                        t = p;
                    }
                    if let TypeKind::Struct(s) = &self.m.ty(t).kind {
                        if s.origin == ksc_ir::StructOrigin::Kernel {
                            self.add("code:core", here);
                        }
                    }
                }
                _ => {}
            }
        });
        self.stmts(&f.body);
        for (c, span) in calls {
            let g = self.m.function(c);
            match &g.kind {
                FnKind::Kfunc => self.add("kfunc:module", span),
                FnKind::Extern { helper: Some(h) } => {
                    if let Some(h) = ksc_ir::helper(*h) {
                        self.helper(h.name, h.since, span);
                    }
                }
                FnKind::Extern { helper: None } => self.external(&g.name, span),
                _ => self.function(c),
            }
        }
    }

    /// A call of an `extern` kernel function from eBPF code: a helper the
    /// compiler does not type, or a kfunc.
    fn external(&mut self, name: &str, span: Span) {
        if k::is_helper(name) {
            let since = k::function_since(name).unwrap_or(k::r(3, 18));
            self.helper(name, since, span);
            return;
        }
        self.add("kfunc:calls", span);
        if let Some(since) = k::function_since(name) {
            self.uses.push(Use {
                what: format!("the kfunc `{name}`"),
                since,
                span,
                probe: Some(BtfProbe::Func(leak(name.to_string()))),
                warn_only: false,
                instead: None,
            });
        } else {
            // Undated: only a kernel's BTF can say whether it has it.
            self.uses.push(Use {
                what: format!("the kfunc `{name}`"),
                since: k::feature("kfunc:calls").map_or(k::r(5, 13), |f| f.since),
                span,
                probe: Some(BtfProbe::Func(leak(name.to_string()))),
                warn_only: false,
                instead: None,
            });
        }
    }

    fn map(&mut self, map: ksc_ir::MapId, span: Span) {
        if let Some(m) = self.m.maps.get(map.index()) {
            self.add(map_feature(m.kind), span);
        }
    }

    fn stmts(&mut self, b: &ksc_ir::Block) {
        for s in &b.stmts {
            match &s.kind {
                StmtKind::ForRange { .. } | StmtKind::While { .. } | StmtKind::Loop { .. } => {
                    self.add("code:bounded_loops", s.span)
                }
                StmtKind::TailCall { .. } => self.add("map:prog_array", s.span),
                StmtKind::MapUpdate { map, .. }
                | StmtKind::MapCompound { map, .. }
                | StmtKind::MapDelete { map, .. } => self.map(*map, s.span),
                _ => {}
            }
            s.for_each_block(|b| self.stmts(b));
        }
    }
}

/// Probes name kernel identifiers for the life of the compiler run: the
/// tables hold `&'static str`, and the few names made here (a helper's
/// enumerator, a kfunc's name) are kept rather than copied around.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The kernel a program is built for (`--kernel K`): its name as the user
/// gave it, its release when known, and its BTF when at hand.
pub struct TargetKernel {
    /// How messages name it: `5.10`, `6.12.118+deb12-amd64`, a path.
    pub name: String,
    /// Its release, when known (a label, a release string, a build tree's
    /// `utsrelease.h`); `None` for a bare BTF file.
    pub release: Option<Release>,
    /// Its BTF, when at hand.
    pub btf: Option<Btf>,
}

impl TargetKernel {
    /// Whether the kernel lacks `u`: `Some("")` when its release is older,
    /// `Some(what its BTF has not)` when its BTF says so, `None` when it
    /// has it (or nothing says otherwise).
    fn lacks(&self, u: &Use) -> Option<String> {
        if self.release.is_some_and(|r| r < u.since) {
            return Some(String::new());
        }
        let btf = self.btf.as_ref()?;
        let has = match u.probe? {
            BtfProbe::Enumerator(e, v) => btf.has_enumerator(e, v),
            BtfProbe::Func(f) => btf.has_func(f),
            BtfProbe::Struct(s) => btf.has_struct(s),
        };
        if has {
            return None;
        }
        let what = match u.probe? {
            BtfProbe::Enumerator(e, v) => format!("`{v}` in `enum {e}`"),
            BtfProbe::Func(f) => format!("function `{f}`"),
            BtfProbe::Struct(s) => format!("`struct {s}`"),
        };
        Some(what)
    }
}

/// Each use in `m` that `target` lacks, located: an error (a warning for
/// a use the verifier refuses but the kernel loads around).
pub fn check_target(m: &Module, target: &TargetKernel) -> Vec<Diagnostic> {
    let (programs, file) = floors(m);
    let mut out: Vec<Diagnostic> = vec![];
    let mut seen: Vec<(String, Span)> = vec![];
    let all = programs
        .iter()
        .flat_map(|p| p.uses.iter().map(move |u| (Some(p.program), u)))
        .chain(file.iter().map(|u| (None, u)));
    for (program, u) in all {
        let Some(why) = target.lacks(u) else { continue };
        if seen.iter().any(|(w, s)| *w == u.what && *s == u.span) {
            continue;
        }
        seen.push((u.what.clone(), u.span));
        let name = &target.name;
        // Worded to suit one use (`bpf_loop`) and a kind of them (`ring
        // buffers`) alike.
        let lack = if why.is_empty() {
            format!("{name} is older")
        } else {
            format!("not in {name}: its BTF has no {why}")
        };
        let msg = if u.warn_only {
            let p = program.map_or(String::new(), |p| {
                format!(
                    ": its verifier will refuse this call in `{}`",
                    m.function(p).name
                )
            });
            format!("{} came in Linux {}; {lack}{p}", u.what, u.since)
        } else {
            format!("{} came in Linux {}; {lack}", u.what, u.since)
        };
        let mut d = if u.warn_only {
            Diagnostic::warning(codes::TOO_OLD_WARN, u.span, msg)
        } else {
            Diagnostic::error(codes::TOO_OLD, u.span, msg)
        };
        d.help = Some(match u.instead {
            Some(i) => format!("{i}; or build for Linux {} or later (`--kernel`)", u.since),
            None => format!(
                "build for Linux {} or later (`--kernel`), or do without it for {name}",
                u.since
            ),
        });
        out.push(d);
    }
    out.sort_by_key(|d| (d.span.file, d.span.start));
    out
}

/// `ksc check --emit=kernels`: each program's floor and what sets it,
/// then the file's.
pub fn describe(m: &Module) -> String {
    let (programs, file) = floors(m);
    let at = |s: Span| {
        let (l, c) = m.files.line_col(s);
        format!("{}:{l}:{c}", m.files.name(s.file))
    };
    let mut out = String::new();
    for p in &programs {
        let f = m.function(p.program);
        let kind = match &f.kind {
            FnKind::Program(pt) => pt.elf_section(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "program `{}` ({kind}): Linux {}\n",
            f.name, p.floor
        ));
        for u in &p.uses {
            let mark = if u.since == p.floor { '*' } else { ' ' };
            out.push_str(&format!(
                "  {mark} {:<6} {}  {}\n",
                u.since.to_string(),
                u.what,
                at(u.span)
            ));
        }
    }
    let floor = file_floor(&programs, &file);
    if !file.is_empty() {
        out.push_str("maps and userspace:\n");
        let mut file = file.clone();
        file.sort_by_key(|u| std::cmp::Reverse(u.since));
        for u in &file {
            let mark = if u.since == floor { '*' } else { ' ' };
            out.push_str(&format!(
                "  {mark} {:<6} {}  {}\n",
                u.since.to_string(),
                u.what,
                at(u.span)
            ));
        }
    }
    out.push_str(&format!("file `{}`: Linux {floor}", m.source_path));
    let by: Vec<String> = programs
        .iter()
        .filter(|p| p.floor == floor)
        .map(|p| format!("`{}`", m.function(p.program).name))
        .chain(
            file.iter()
                .filter(|u| u.since == floor)
                .map(|u| u.what.clone()),
        )
        .collect();
    if !by.is_empty() {
        out.push_str(&format!(" (set by {})", by.join(", ")));
    }
    out.push('\n');
    out
}
