//! `src/main.rs` from the IR: the program's userspace functions as Rust,
//! with the same meaning as the C loader's (`backends/c-common`'s user
//! flavour): C's integer arithmetic (wrapping, as a release build does),
//! map entries read as snapshots, globals and configs through the runtime,
//! `print` as `printf`.

use std::collections::HashSet;
use std::fmt::Write as _;

use ksc_ir::*;

mod expr;
mod globals;
mod main_fn;
mod python;
mod stmt;

pub use ksc_plugin_abi::EmitError;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use",
    "where", "while", "yield", "try", "abstract", "become", "do", "final", "macro", "override",
    "priv", "typeof", "unsized", "virtual", "gen",
];

fn ident(name: &str) -> String {
    match name {
        "self" | "Self" | "super" | "crate" => format!("{name}_"),
        _ if KEYWORDS.contains(&name) => format!("r#{name}"),
        _ => name.to_string(),
    }
}

/// `config_blocking` -> `ConfigBlocking`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.chars().flat_map(char::escape_default).collect()
}

fn esc_bytes(s: &str) -> String {
    s.bytes()
        .flat_map(std::ascii::escape_default)
        .map(char::from)
        .collect()
}

/// Where a `throw` goes from the current point.
#[derive(Clone)]
enum ThrowTo {
    /// `break 'label Some(code)` to the innermost `try`.
    Try(String),
    /// Out of the function: `return Err(code)`.
    Caller,
    /// Nobody catches: the process ends.
    Uncaught,
}

struct FnCx {
    names: Vec<String>,
    throws: bool,
    throw_to: Vec<ThrowTo>,
    /// Labels of the enclosing loops, and whether each was used.
    loops: Vec<(String, bool)>,
    /// Inside a `try` body (break/continue need labels then).
    in_try: usize,
    /// The locals' types.
    tys: Vec<TypeId>,
    /// The function's return type.
    ret: TypeId,
    /// The `defer` blocks reached so far (at the function's top level),
    /// with their lines.
    defers: Vec<(u32, Block)>,
    /// Mutated and read locals.
    st: Scan,
}

type Scan = (HashSet<LocalId>, HashSet<LocalId>);

struct Gen<'m> {
    m: &'m Module,
    out: String,
    errors: Vec<EmitError>,
    fresh: u32,
}

pub fn generate_main(m: &Module) -> Result<String, Vec<EmitError>> {
    let mut g = Gen {
        m,
        out: String::new(),
        errors: vec![],
        fresh: 0,
    };
    g.module();
    if g.errors.is_empty() {
        Ok(g.out)
    } else {
        Err(g.errors)
    }
}

impl<'m> Gen<'m> {
    fn err(&mut self, span: Span, what: &str) {
        self.errors.push(EmitError::at(&self.m.files, span, format!(
                "{what} is not supported by the rust-aya target (aya cannot do it, or this backend does not yet); the c-libbpf target supports it"
            )));
    }

    fn n(&mut self) -> u32 {
        self.fresh += 1;
        self.fresh
    }

    fn kind(&self, t: TypeId) -> &'m TypeKind {
        &self.m.types[t.index()].kind
    }

    fn line(&self, span: Span) -> u32 {
        self.m.files.line(span)
    }

    fn file(&self, span: Span) -> &'m str {
        self.m.files.name(span.file)
    }

    // ------------------------------------------------------------------ types

    fn ty(&self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Void => "()".into(),
            TypeKind::Bool => "bool".into(),
            TypeKind::Char => "u8".into(),
            TypeKind::Int(i) => i.name().into(),
            TypeKind::Str(n) => format!("KStr<{n}>"),
            // Userspace pointers: null, a snapshot (map entries, events) or
            // a variable's address (`rt::Ptr`).
            TypeKind::Pointer(p) => format!("Ptr<{}>", self.ty(*p)),
            TypeKind::Array(e, n) => format!("[{}; {n}]", self.ty(*e)),
            TypeKind::Slice(e) => format!("Vec<{}>", self.ty(*e)),
            TypeKind::Struct(sd) => ident(&sd.name),
            TypeKind::Enum(ed) => ed.repr.name().into(),
            TypeKind::Function(sig) => {
                let ps: Vec<String> = sig.params.iter().map(|p| self.ty(*p)).collect();
                match self.kind(sig.ret) {
                    TypeKind::Void => format!("fn({})", ps.join(", ")),
                    _ => format!("fn({}) -> {}", ps.join(", "), self.ty(sig.ret)),
                }
            }
            TypeKind::ProgramRef | TypeKind::ProgramHandle | TypeKind::StructOpsRef => {
                "usize".into()
            }
            // A handle of the runtime's perf table (slot and generation).
            TypeKind::PerfAttachment => "u64".into(),
            TypeKind::Null => "Ptr<()>".into(),
        }
    }

    fn plain_ok(&self, t: TypeId) -> bool {
        match self.kind(t) {
            TypeKind::Pointer(_)
            | TypeKind::Slice(_)
            | TypeKind::Function(_)
            | TypeKind::Null
            | TypeKind::Void => false,
            TypeKind::Array(e, _) => self.plain_ok(*e),
            TypeKind::Struct(sd) => sd.fields.iter().all(|f| self.plain_ok(f.ty)),
            _ => true,
        }
    }

    /// A zero value of `t` (C's `= {}`).
    pub(super) fn zero(&self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Bool => "false".into(),
            TypeKind::Int(_) | TypeKind::Char | TypeKind::Enum(_) => "0".into(),
            TypeKind::ProgramRef
            | TypeKind::ProgramHandle
            | TypeKind::PerfAttachment
            | TypeKind::StructOpsRef => "0".into(),
            TypeKind::Pointer(_) | TypeKind::Null => "Ptr::Null".into(),
            _ => format!("<{} as Plain>::zero()", self.ty(t)),
        }
    }

    fn user_structs(&self) -> Vec<(TypeId, &'m StructDef)> {
        self.m
            .types
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.kind {
                TypeKind::Struct(sd) if !sd.origin.is_kernel() => Some((TypeId(i as u32), sd)),
                _ => None,
            })
            .collect()
    }

    /// Kernel structs without modelled fields that the program's own
    /// structs hold (`bpf_spin_lock` in a map value): userspace sees only
    /// their bytes, so each is an opaque block of the kernel's size and
    /// alignment, as the C loader's UAPI header declares it.
    fn opaque_kernel_structs(&mut self) {
        let mut seen = HashSet::new();
        let mut todo: Vec<TypeId> = self
            .user_structs()
            .iter()
            .flat_map(|(_, sd)| sd.fields.iter().map(|f| f.ty))
            .chain(
                self.m
                    .configs
                    .iter()
                    .flat_map(|c| c.fields.iter().map(|f| f.ty)),
            )
            .collect();
        while let Some(t) = todo.pop() {
            match self.kind(t) {
                TypeKind::Array(e, _) => todo.push(*e),
                TypeKind::Struct(sd)
                    if sd.origin.is_kernel() && sd.fields.is_empty() && seen.insert(t) =>
                {
                    let td = &self.m.types[t.index()];
                    let _ = writeln!(
                        self.out,
                        "/// The kernel's `struct {}`: opaque to userspace.\n#[repr(C, align({}))]\n#[derive(Clone, Copy)]\npub struct {} {{\n    _opaque: [u8; {}],\n}}\n\n// SAFETY: bytes only.\nunsafe impl Plain for {} {{}}\n",
                        sd.name,
                        td.align.max(1),
                        ident(&sd.name),
                        td.size,
                        ident(&sd.name)
                    );
                }
                _ => {}
            }
        }
    }

    fn types(&mut self) {
        self.opaque_kernel_structs();
        for (_, sd) in self.user_structs() {
            let plain = sd.fields.iter().all(|f| self.plain_ok(f.ty));
            let _ = writeln!(
                self.out,
                "#[repr(C)]\n#[derive(Clone, Copy)]\npub struct {} {{",
                ident(&sd.name)
            );
            for f in &sd.fields {
                let _ = writeln!(self.out, "    pub {}: {},", ident(&f.name), self.ty(f.ty));
            }
            self.out.push_str("}\n\n");
            if plain {
                let _ = writeln!(
                    self.out,
                    "// SAFETY: repr(C) of plain fields (see `Plain`).\nunsafe impl Plain for {} {{}}\n",
                    ident(&sd.name)
                );
            }
        }
        for c in &self.m.configs {
            let _ = writeln!(
                self.out,
                "/// `config {}`, in the object's `.data.config_{}`.\n#[repr(C)]\n#[derive(Clone, Copy)]\npub struct Config{} {{",
                c.name,
                c.name,
                camel(&c.name)
            );
            for f in &c.fields {
                let _ = writeln!(self.out, "    pub {}: {},", ident(&f.name), self.ty(f.ty));
            }
            let _ = writeln!(
                self.out,
                "}}\n\n// SAFETY: repr(C) of plain fields (see `Plain`).\nunsafe impl Plain for Config{} {{}}\n",
                camel(&c.name)
            );
        }
    }

    // ------------------------------------------------------------------ module

    fn programs(&self) -> Vec<(FnId, &'m Function)> {
        self.m
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.kind, FnKind::Program(_)))
            .map(|(i, f)| (FnId(i as u32), f))
            .collect()
    }

    /// Where eBPF code first calls a kfunc, if it does.
    fn ebpf_kfunc_call(&self) -> Option<ksc_ir::Span> {
        let m = self.m;
        let mut at = None;
        for f in m.functions.iter().filter(|f| f.domain == Domain::Ebpf) {
            f.body.walk_exprs(&mut |e| {
                let kfunc = match &e.kind {
                    ExprKind::ObjNew { .. } | ExprKind::ObjDelete(_) => true,
                    ExprKind::Call {
                        callee: Callee::Function(g),
                        ..
                    } => m.functions[g.index()].kind == (FnKind::Extern { helper: None }),
                    _ => false,
                };
                if kfunc && at.is_none() {
                    at = Some(e.span);
                }
            });
        }
        at
    }

    fn program_index(&self, f: FnId) -> usize {
        self.programs().iter().position(|p| p.0 == f).unwrap_or(0)
    }

    fn module(&mut self) {
        let m = self.m;
        // What aya cannot do: refused here, at compile time.
        for so in &m.struct_ops {
            self.errors.push(EmitError::at(&self.m.files, so.span, format!("`@struct_ops` impl block `{}`: registering struct_ops is not supported by aya, so not by the rust-aya target; the c-libbpf target supports it", so.name)));
        }
        for f in &m.functions {
            match &f.kind {
                FnKind::Kfunc | FnKind::Private => self.errors.push(EmitError::at(&self.m.files, f.span, format!("`{}` `{}`: kfuncs from kernel modules are not supported by aya, so not by the rust-aya target; the c-libbpf target supports them", f.kind.attribute(), f.name))),
                FnKind::Program(ProgramType::Lsm { .. }) => self.err(f.span, "an `@lsm` program"),
                _ => {}
            }
        }
        // aya 0.13 does not resolve kfuncs: an object whose eBPF code calls
        // one (`new`/`delete` are bpf_obj_new/bpf_obj_drop; an `extern`)
        // does not load. Refused when userspace loads the object.
        if let Some(at) = self.ebpf_kfunc_call() {
            let loads = m.functions.iter().any(|f| {
                let mut l = false;
                f.body.walk_exprs(&mut |e| {
                    if let ExprKind::Call {
                        callee: Callee::Builtin(Builtin::Load | Builtin::Exec | Builtin::Test),
                        ..
                    } = &e.kind
                    {
                        l = true;
                    }
                });
                l && f.domain == Domain::Userspace
            });
            if loads {
                self.errors.push(EmitError::at(&m.files, at, "eBPF code calling kfuncs (`new`/`delete` call bpf_obj_new/bpf_obj_drop; an `extern` kernel function) is not supported by aya 0.13, which does not resolve kfuncs, so not by the rust-aya target when the program is loaded; the c-libbpf target supports it"));
            }
        }
        let _ = writeln!(
            self.out,
            "//! Generated by ksc from {} — do not edit.\n//! The userspace side of `{}`: loads, attaches and drives the eBPF\n//! programs of `{}.ebpf.o` (embedded) with aya.\n",
            m.source_path, m.name, m.name
        );
        self.out.push_str("// Names are the program's own; its types mirror the eBPF side's, whose\n// fields userspace need not all use; a variable is declared zeroed before\n// the branches that assign it (`var x = match ...`).\n#![allow(dead_code, non_camel_case_types, non_snake_case, non_upper_case_globals, unused_assignments)]\n\nuse ksc_rt as rt;\n#[allow(unused_imports)]\nuse ksc_rt::{Arg, KStr, MapRef, Plain, Ptr, Target};\n\n");
        if !m.python_modules.is_empty() {
            self.out.push_str("use ksc_rt::py as ksc_py;\n\n");
        }
        // The program table.
        self.out
            .push_str("/// The eBPF programs, in the order `load`/`attach` number them.\nconst PROGRAMS: &[rt::Prog] = &[\n");
        for (_, f) in self.programs() {
            let FnKind::Program(p) = &f.kind else {
                continue;
            };
            let kind = match p {
                ProgramType::Xdp => "Xdp",
                ProgramType::Tc { ingress: true } => "TcIngress",
                ProgramType::Tc { ingress: false } => "TcEgress",
                ProgramType::PerfEvent => "Perf",
                _ => "Link",
            };
            let _ = writeln!(
                self.out,
                "    rt::Prog {{\n        name: \"{}\",\n        kind: rt::Kind::{kind},\n        sec: \"{}\",\n    }},",
                esc(&f.name),
                esc(&p.elf_section())
            );
        }
        self.out.push_str("];\n\n");
        let pinned = m.maps.iter().any(|mp| mp.pinned);
        let pin_globals = m
            .globals
            .iter()
            .any(|g| g.visibility == GlobalVisibility::Pinned);
        let globals_pin = if pin_globals {
            format!(
                "Some(\"/sys/fs/bpf/{}/globals/pinned_globals\")",
                esc(&m.name)
            )
        } else {
            "None".into()
        };
        let pin_dir = if pinned || pin_globals {
            format!("Some(\"/sys/fs/bpf/{}/maps\")", esc(&m.name))
        } else {
            "None".into()
        };
        let tails: Vec<String> = m
            .analysis
            .tail_call_slots
            .iter()
            .map(|f| format!("\"{}\"", esc(&m.functions[f.index()].name)))
            .collect();
        let _ = writeln!(
            self.out,
            "static DESC: rt::Desc = rt::Desc {{\n    name: \"{name}\",\n    object: aya::include_bytes_aligned!(\"../{name}.ebpf.o\"),\n    progs: PROGRAMS,\n    pin_dir: {pin_dir},\n    globals_pin: {globals_pin},\n    tail_calls: &[{}],\n}};\n",
            tails.join(", "),
            name = esc(&m.name)
        );
        // Maps userspace uses.
        for (i, mp) in m.maps.iter().enumerate() {
            if mp.kind == MapKind::ProgArray {
                continue;
            }
            let percpu = matches!(mp.kind, MapKind::PercpuArray | MapKind::PercpuHash);
            let width = match self.kind(mp.value) {
                TypeKind::Int(i) => (i.bits() / 8) as usize,
                _ => 0,
            };
            let _ = writeln!(
                self.out,
                "/// `{}` ({}:{}).\nconst {}: MapRef = MapRef {{\n    name: \"{}\",\n    percpu: {percpu},\n    sum_width: {width},\n}};\n",
                mp.name,
                self.file(mp.span),
                self.line(mp.span),
                self.map_const(MapId(i as u32)),
                esc(&mp.name)
            );
        }
        self.types();
        self.userspace_globals();
        for (i, f) in m.functions.iter().enumerate() {
            if f.domain == Domain::Userspace && matches!(f.kind, FnKind::Userspace | FnKind::Test) {
                self.function(FnId(i as u32), f);
            }
        }
        self.rust_main();
    }

    fn map_const(&self, id: MapId) -> String {
        format!("MAP_{}", self.m.maps[id.index()].name.to_uppercase())
    }

    fn fn_name(&self, id: FnId) -> String {
        let f = &self.m.functions[id.index()];
        if self.m.main == Some(id) {
            "ks_main".into()
        } else {
            ident(&f.name)
        }
    }

    fn can_throw(&self, id: FnId) -> bool {
        self.m.analysis.can_throw(id) && self.m.main != Some(id)
    }

    // ------------------------------------------------------------------ functions

    fn function(&mut self, id: FnId, f: &Function) {
        let names: Vec<String> = f
            .locals
            .iter()
            .enumerate()
            .map(|(i, l)| {
                // Locals of one name in different scopes: the later ones
                // are shadowing lets in Rust, so the name can stay.
                let _ = i;
                ident(&l.name)
            })
            .collect();
        let mut mutated = HashSet::new();
        let mut used = HashSet::new();
        scan_block(&f.body, &mut mutated, &mut used);
        let throws = self.can_throw(id);
        let mut cx = FnCx {
            names,
            throws,
            throw_to: vec![if throws {
                ThrowTo::Caller
            } else {
                ThrowTo::Uncaught
            }],
            loops: vec![],
            in_try: 0,
            tys: f.locals.iter().map(|l| l.ty).collect(),
            ret: f.ret,
            defers: vec![],
            st: (mutated.clone(), used.clone()),
        };
        let params: Vec<String> = f
            .param_ids()
            .map(|p| {
                let l = &f.locals[p.index()];
                let name = if used.contains(&p) {
                    cx.names[p.index()].clone()
                } else {
                    format!("_{}", l.name)
                };
                let m = if mutated.contains(&p) { "mut " } else { "" };
                format!("{m}{name}: {}", self.ty(l.ty))
            })
            .collect();
        let ret = match self.kind(f.ret) {
            TypeKind::Void if throws => " -> Result<(), i64>".to_string(),
            TypeKind::Void => String::new(),
            _ if throws => format!(" -> Result<{}, i64>", self.ty(f.ret)),
            _ => format!(" -> {}", self.ty(f.ret)),
        };
        let _ = writeln!(
            self.out,
            "// {}:{}\nfn {}({}){ret} {{",
            self.file(f.span),
            self.line(f.span),
            self.fn_name(id),
            params.join(", ")
        );
        let mut body = String::new();
        let st = (mutated, used);
        self.block_stmts(&f.body, &mut cx, &st, &mut body, 1);
        let ends = f.body.stmts.last().is_some_and(|s| {
            matches!(
                s.kind,
                StmtKind::Return(_) | StmtKind::Throw(_) | StmtKind::Loop { .. }
            )
        });
        if !ends {
            body.push_str(&self.run_defers(&mut cx, 1));
        }
        if throws && matches!(self.kind(f.ret), TypeKind::Void) && !ends {
            body.push_str("    Ok(())\n");
        }
        self.out.push_str(&body);
        self.out.push_str("}\n\n");
    }

    fn pad(ind: usize) -> String {
        "    ".repeat(ind)
    }

    fn block_stmts(
        &mut self,
        b: &Block,
        cx: &mut FnCx,
        st: &(HashSet<LocalId>, HashSet<LocalId>),
        out: &mut String,
        ind: usize,
    ) {
        for s in &b.stmts {
            self.stmt(s, cx, st, out, ind);
        }
    }

    fn sub_block(
        &mut self,
        b: &Block,
        cx: &mut FnCx,
        st: &(HashSet<LocalId>, HashSet<LocalId>),
        ind: usize,
    ) -> String {
        let mut s = String::new();
        self.block_stmts(b, cx, st, &mut s, ind + 1);
        s
    }

    /// `throw code` as a diverging expression.
    fn throw_expr(&mut self, code: &str, cx: &mut FnCx) -> String {
        let to = cx.throw_to.last().cloned().unwrap_or(ThrowTo::Uncaught);
        if let ThrowTo::Try(l) = to {
            return format!("break '{l} Some({code})");
        }
        let end = match to {
            ThrowTo::Caller => "return Err(code)",
            // With Python imports: Python's report when a Python call threw.
            _ if !self.m.python_modules.is_empty() => "ksc_py::uncaught(code)",
            _ => "rt::uncaught(code)",
        };
        // Leaving the function: its deferred blocks run first.
        let defers = self.run_defers(cx, 1);
        if defers.is_empty() {
            return end.replace("code", code);
        }
        format!("{{\nlet code: i64 = {code};\n{defers}{end}\n}}")
    }

    /// The function's deferred blocks reached so far, last first.
    fn run_defers(&mut self, cx: &mut FnCx, ind: usize) -> String {
        let defers = std::mem::take(&mut cx.defers);
        let mut out = String::new();
        let st = cx.st.clone();
        for (line, b) in defers.iter().rev() {
            let body = self.sub_block(b, cx, &st, ind);
            let pad = Self::pad(ind);
            let _ = write!(
                out,
                "{pad}// deferred at line {line}\n{pad}{{\n{body}{pad}}}\n"
            );
        }
        cx.defers = defers;
        out
    }

    fn loop_label(&mut self, cx: &mut FnCx) -> String {
        let l = format!("l{}", self.n());
        cx.loops.push((l.clone(), false));
        l
    }
}

enum PlaceRoot {
    Global(GlobalId),
    Config(ConfigId),
    Other(String),
}

/// Wrap an operand that is not atomic (a path, a literal, a call or a
/// method chain) in parentheses.
fn operand(s: &str) -> String {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut prev = ' ';
    let mut atomic = !s.is_empty() && !s.starts_with(['!', '-', '&', '*']);
    for c in s.chars() {
        if quoted {
            if c == '"' && prev != '\\' {
                quoted = false;
            }
        } else {
            match c {
                '"' => quoted = true,
                '(' | '[' | '{' | '<' => depth += 1,
                ')' | ']' | '}' | '>' => depth -= 1,
                ' ' | '\n' if depth == 0 => atomic = false,
                _ => {}
            }
        }
        prev = c;
    }
    if atomic {
        s.to_string()
    } else {
        format!("({s})")
    }
}

/// `&` of an expression.
fn paren(s: &str) -> String {
    operand(s)
}

/// `s as t`, or `s` alone when it is an integer literal (it takes `t`).
fn cast_to(s: &str, t: &str) -> String {
    if s.parse::<i64>().is_ok() {
        s.to_string()
    } else {
        format!("{} as {t}", operand(s))
    }
}

/// Locals assigned after their declaration (need `mut`) and locals read.
fn scan_block(b: &Block, mutated: &mut HashSet<LocalId>, used: &mut HashSet<LocalId>) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Assign { place, .. } | StmtKind::CompoundAssign { place, .. } => {
                if let Some(l) = root_local(place) {
                    mutated.insert(l);
                }
            }
            StmtKind::ForEach { key, value, .. } => {
                let _ = (key, value);
            }
            _ => {}
        }
        s.for_each_expr(|e| {
            e.walk(&mut |x| match &x.kind {
                ExprKind::Local(l) => {
                    used.insert(*l);
                }
                // `&x` writes through: x is `mut`.
                ExprKind::AddrOf(p) => {
                    if let Some(l) = root_local(p) {
                        mutated.insert(l);
                    }
                }
                _ => {}
            })
        });
        s.for_each_block(|b| scan_block(b, mutated, used));
    }
}

fn root_local(e: &Expr) -> Option<LocalId> {
    match &e.kind {
        ExprKind::Local(l) => Some(*l),
        ExprKind::Field { base, .. } | ExprKind::Index { base, .. } => root_local(base),
        ExprKind::Deref(b) => root_local(b),
        _ => None,
    }
}
