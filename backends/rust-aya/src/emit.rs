//! `src/main.rs` from the IR: the program's userspace functions as Rust,
//! with the same meaning as the C loader's (`backends/c-common`'s user
//! flavour): C's integer arithmetic (wrapping, as a release build does),
//! map entries read as snapshots, globals and configs through the runtime,
//! `print` as `printf`.

use std::collections::HashSet;
use std::fmt::Write as _;

use ksc_ir::*;

/// A located error: the construct this target cannot express.
#[derive(Clone, Debug)]
pub struct EmitError {
    pub message: String,
    pub span: Option<Span>,
}

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
        self.errors.push(EmitError {
            message: format!(
                "{what} is not supported by the rust-aya target (aya cannot do it, or this backend does not yet); the c-libbpf target supports it"
            ),
            span: Some(span),
        });
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
            // Userspace pointers are snapshots (map entries, events):
            // `None` is null.
            TypeKind::Pointer(p) => format!("Option<{}>", self.ty(*p)),
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
            TypeKind::Null => "Option<()>".into(),
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
    fn zero(&self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Bool => "false".into(),
            TypeKind::Int(_) | TypeKind::Char | TypeKind::Enum(_) => "0".into(),
            TypeKind::ProgramRef | TypeKind::ProgramHandle | TypeKind::StructOpsRef => "0".into(),
            TypeKind::Pointer(_) | TypeKind::Null => "None".into(),
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

    fn types(&mut self) {
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

    fn program_index(&self, f: FnId) -> usize {
        self.programs().iter().position(|p| p.0 == f).unwrap_or(0)
    }

    fn section(f: &Function) -> String {
        match &f.kind {
            FnKind::Program(p) => match p {
                ProgramType::Xdp => "xdp".into(),
                ProgramType::Tc { .. } => "classifier".into(),
                ProgramType::Tracepoint { category, event } => {
                    format!("tracepoint/{category}/{event}")
                }
                ProgramType::Probe {
                    function,
                    offset: None,
                } => format!("kprobe/{function}"),
                ProgramType::Probe {
                    function,
                    offset: Some(o),
                } => format!("kprobe/{function}+{o}"),
                ProgramType::Lsm { hook } => format!("lsm/{hook}"),
                ProgramType::StructOps { member, .. } => format!("struct_ops/{member}"),
            },
            _ => String::new(),
        }
    }

    fn module(&mut self) {
        let m = self.m;
        // What aya cannot do: refused here, at compile time.
        for so in &m.struct_ops {
            self.errors.push(EmitError {
                message: format!("`@struct_ops` impl block `{}`: registering struct_ops is not supported by aya, so not by the rust-aya target; the c-libbpf target supports it", so.name),
                span: Some(so.span),
            });
        }
        for f in &m.functions {
            match &f.kind {
                FnKind::Kfunc | FnKind::Private => self.errors.push(EmitError {
                    message: format!("`{}` `{}`: kfuncs from kernel modules are not supported by aya, so not by the rust-aya target; the c-libbpf target supports them", f.kind.attribute(), f.name),
                    span: Some(f.span),
                }),
                FnKind::Program(ProgramType::Lsm { .. }) => self.err(f.span, "an `@lsm` program"),
                _ => {}
            }
        }
        let _ = writeln!(
            self.out,
            "//! Generated by ksc from {} — do not edit.\n//! The userspace side of `{}`: loads, attaches and drives the eBPF\n//! programs of `{}.ebpf.o` (embedded) with aya.\n",
            m.source_path, m.name, m.name
        );
        self.out.push_str("// Names are the program's own; its types mirror the eBPF side's, whose\n// fields userspace need not all use.\n#![allow(dead_code, non_camel_case_types, non_snake_case, non_upper_case_globals)]\n\nmod ksc_rt;\n\nuse ksc_rt as rt;\n#[allow(unused_imports)]\nuse ksc_rt::{Arg, KStr, MapRef, Plain, Target};\n\n");
        // The program table.
        self.out
            .push_str("/// The eBPF programs, in the order `load`/`attach` number them.\nconst PROGRAMS: &[rt::Prog] = &[\n");
        for (_, f) in self.programs() {
            let kind = match &f.kind {
                FnKind::Program(ProgramType::Xdp) => "Xdp",
                FnKind::Program(ProgramType::Tc { ingress: true }) => "TcIngress",
                FnKind::Program(ProgramType::Tc { ingress: false }) => "TcEgress",
                _ => "Link",
            };
            let _ = writeln!(
                self.out,
                "    rt::Prog {{\n        name: \"{}\",\n        kind: rt::Kind::{kind},\n        sec: \"{}\",\n    }},",
                esc(&f.name),
                esc(&Self::section(f))
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

    fn stmt(
        &mut self,
        s: &Stmt,
        cx: &mut FnCx,
        st: &(HashSet<LocalId>, HashSet<LocalId>),
        out: &mut String,
        ind: usize,
    ) {
        let pad = Self::pad(ind);
        match &s.kind {
            StmtKind::Let { local, init } => {
                let t = self.ty_of_local(cx, *local);
                let lt = self.local_ty(*local, cx);
                let v = match init {
                    Some(e) => self.expr(e, cx),
                    None => self.zero(lt),
                };
                let name = if st.1.contains(local) {
                    cx.names[local.index()].clone()
                } else {
                    format!("_{}", cx.names[local.index()].trim_start_matches("r#"))
                };
                let m = if st.0.contains(local) { "mut " } else { "" };
                let _ = writeln!(out, "{pad}let {m}{name}: {t} = {v};");
            }
            StmtKind::Assign { place, value } => {
                let v = self.expr(value, cx);
                self.assign(place, None, &v, cx, out, &pad);
            }
            StmtKind::CompoundAssign { place, op, value } => {
                let v = self.expr(value, cx);
                self.assign(place, Some(*op), &v, cx, out, &pad);
            }
            StmtKind::MapUpdate { map, key, value } => {
                let k = self.expr(key, cx);
                let v = self.expr(value, cx);
                let _ = writeln!(
                    out,
                    "{pad}rt::update(&{}, &{}, &{});",
                    self.map_const(*map),
                    paren(&k),
                    paren(&v)
                );
            }
            StmtKind::MapDelete { map, key } => {
                let k = self.expr(key, cx);
                let _ = writeln!(
                    out,
                    "{pad}rt::delete(&{}, &{});",
                    self.map_const(*map),
                    paren(&k)
                );
            }
            StmtKind::MapCompound {
                map,
                key,
                path,
                op,
                value,
            } => {
                // Read, change, write back (not atomic, as the C loader's).
                let mp = &self.m.maps[map.index()];
                let (kt, vt) = (self.ty(mp.key), self.ty(mp.value));
                let k = self.expr(key, cx);
                let v = self.expr(value, cx);
                let mut field = String::new();
                let mut t = mp.value;
                for &i in path {
                    if let TypeKind::Struct(sd) = self.kind(t) {
                        let fd = &sd.fields[i as usize];
                        let _ = write!(field, ".{}", ident(&fd.name));
                        t = fd.ty;
                    }
                }
                let mc = self.map_const(*map);
                let upd = self.compound_op(&format!("entry{field}"), *op, &v, t);
                let _ = writeln!(
                    out,
                    "{pad}{{\n{pad}    let key: {kt} = {k};\n{pad}    let mut entry: {vt} = rt::lookup(&{mc}, &key).unwrap_or_else(Plain::zero);\n{pad}    {upd};\n{pad}    rt::update(&{mc}, &key, &entry);\n{pad}}}"
                );
            }
            StmtKind::Expr(e) => {
                let x = self.expr(e, cx);
                let _ = writeln!(out, "{pad}{x};");
            }
            StmtKind::If { cond, then, els } => {
                let c = self.expr(cond, cx);
                let t = self.sub_block(then, cx, st, ind);
                let _ = write!(out, "{pad}if {c} {{\n{t}{pad}}}");
                if els.stmts.len() == 1 {
                    if let StmtKind::If { .. } = els.stmts[0].kind {
                        let mut e = String::new();
                        self.stmt(&els.stmts[0], cx, st, &mut e, ind);
                        let _ = write!(out, " else {}", e.trim_start());
                        return;
                    }
                }
                if !els.stmts.is_empty() {
                    let e = self.sub_block(els, cx, st, ind);
                    let _ = write!(out, " else {{\n{e}{pad}}}");
                }
                out.push('\n');
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => {
                let a = self.expr(start, cx);
                let b = self.expr(end, cx);
                let l = self.loop_label(cx);
                let name = cx.names[var.index()].clone();
                let name = if st.1.contains(var) {
                    name
                } else {
                    format!("_{}", name.trim_start_matches("r#"))
                };
                let bd = self.sub_block(body, cx, st, ind);
                let label = self.end_loop(cx, &l);
                let _ = writeln!(
                    out,
                    "{pad}// {}:{}\n{pad}{label}for {name} in {}..{} {{\n{bd}{pad}}}",
                    self.file(s.span),
                    self.line(s.span),
                    operand(&a),
                    operand(&b)
                );
            }
            StmtKind::ForEach {
                map,
                key,
                value,
                body,
            } => {
                // As the C loader: the next key after the current one, then
                // a snapshot of its value; entries gone meanwhile are skipped.
                let mp = &self.m.maps[map.index()];
                let (kt, vt) = (self.ty(mp.key), self.ty(mp.value));
                let mc = self.map_const(*map);
                let kn = cx.names[key.index()].clone();
                let vn = cx.names[value.index()].clone();
                let n = self.n();
                let l = self.loop_label(cx);
                let bd = self.sub_block(body, cx, st, ind);
                let label = self.end_loop(cx, &l);
                let vname = if st.1.contains(value) {
                    vn
                } else {
                    format!("_{}", vn.trim_start_matches("r#"))
                };
                let km = if st.0.contains(key) { "mut " } else { "" };
                let vm = if st.0.contains(value) { "mut " } else { "" };
                let _ = writeln!(
                    out,
                    "{pad}// {}:{}: for each entry of `{}`\n{pad}let mut prev{n}: Option<{kt}> = None;\n{pad}{label}while let Some({km}{kn}) = rt::next_key::<{kt}>(&{mc}, prev{n}.as_ref()) {{\n{pad}    prev{n} = Some({kn});\n{pad}    let Some({vm}{vname}) = rt::lookup::<{kt}, {vt}>(&{mc}, &{kn}) else {{\n{pad}        continue;\n{pad}    }};\n{bd}{pad}}}",
                    self.file(s.span),
                    self.line(s.span),
                    mp.name
                );
            }
            StmtKind::While { cond, body } => {
                let c = self.expr(cond, cx);
                let l = self.loop_label(cx);
                let bd = self.sub_block(body, cx, st, ind);
                let label = self.end_loop(cx, &l);
                let _ = writeln!(out, "{pad}{label}while {c} {{\n{bd}{pad}}}");
            }
            StmtKind::Loop { body } => {
                let l = self.loop_label(cx);
                let bd = self.sub_block(body, cx, st, ind);
                let label = self.end_loop(cx, &l);
                let _ = writeln!(out, "{pad}{label}loop {{\n{bd}{pad}}}");
            }
            StmtKind::Break | StmtKind::Continue => {
                let what = if matches!(s.kind, StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                if cx.in_try > 0 {
                    if let Some(l) = cx.loops.last_mut() {
                        l.1 = true;
                        let _ = writeln!(out, "{pad}{what} '{};", l.0);
                        return;
                    }
                }
                let _ = writeln!(out, "{pad}{what};");
            }
            StmtKind::Return(e) if !cx.defers.is_empty() => {
                // The value first, then the deferred blocks.
                let t = self.ty(cx.ret);
                let v = e.as_ref().map(|e| self.expr(e, cx));
                let defers = self.run_defers(cx, ind + 1);
                let (decl, r) = match (v, cx.throws) {
                    (Some(v), true) => (format!("let result: {t} = {v};\n"), "Ok(result)"),
                    (Some(v), false) => (format!("let result: {t} = {v};\n"), "result"),
                    (None, true) => (String::new(), "Ok(())"),
                    (None, false) => (String::new(), ""),
                };
                let sep = if r.is_empty() { "" } else { " " };
                let _ = writeln!(
                    out,
                    "{pad}{{\n{pad}    {decl}{defers}{pad}    return{sep}{r};\n{pad}}}"
                );
            }
            StmtKind::Return(e) => {
                let v = e.as_ref().map(|e| self.expr(e, cx));
                let r = match (v, cx.throws) {
                    (Some(v), true) => format!("return Ok({v});"),
                    (None, true) => "return Ok(());".into(),
                    (Some(v), false) => format!("return {v};"),
                    (None, false) => "return;".into(),
                };
                let _ = writeln!(out, "{pad}{r}");
            }
            StmtKind::Throw(e) => {
                let v = self.expr(e, cx);
                let t = self.throw_expr(&cast_to(&v, "i64"), cx);
                let semi = if t.ends_with('}') { "" } else { ";" };
                let _ = writeln!(out, "{pad}{t}{semi}");
            }
            StmtKind::Try { body, catches } => {
                let l = format!("try{}", self.n());
                cx.throw_to.push(ThrowTo::Try(l.clone()));
                cx.in_try += 1;
                let bd = self.sub_block(body, cx, st, ind);
                cx.in_try -= 1;
                cx.throw_to.pop();
                let diverges = body
                    .stmts
                    .last()
                    .is_some_and(|s| matches!(s.kind, StmtKind::Throw(_) | StmtKind::Return(_)));
                let tail = if diverges {
                    String::new()
                } else {
                    format!("{pad}    None\n")
                };
                let _ = writeln!(
                    out,
                    "{pad}// {}:{}: try\n{pad}let thrown: Option<i64> = '{l}: {{\n{bd}{tail}{pad}}};",
                    self.file(s.span),
                    self.line(s.span)
                );
                let mut arms = String::new();
                let mut has_default = false;
                for c in catches {
                    let cb = self.sub_block(&c.body, cx, st, ind + 1);
                    let pat = match c.value {
                        Some(v) => v.to_string(),
                        None => {
                            has_default = true;
                            "_".into()
                        }
                    };
                    let _ = write!(arms, "{pad}        {pat} => {{\n{cb}{pad}        }}\n");
                }
                if !has_default {
                    let rethrow = self.throw_expr("code", cx);
                    let _ = writeln!(arms, "{pad}        code => {rethrow},");
                }
                let _ = writeln!(
                    out,
                    "{pad}if let Some(code) = thrown {{\n{pad}    match code {{\n{arms}{pad}    }}\n{pad}}}"
                );
            }
            StmtKind::Defer(b) => {
                if ind != 1 {
                    self.err(s.span, "`defer` inside a nested block in userspace");
                    return;
                }
                // Runs at every exit of the function from here on (return,
                // throw out of it, end of body), last first.
                let line = self.line(s.span);
                let _ = writeln!(
                    out,
                    "{pad}// defer (line {line}): runs when the function ends"
                );
                cx.defers.push((line, b.clone()));
            }
            StmtKind::Block(b) => {
                let bd = self.sub_block(b, cx, st, ind);
                let _ = writeln!(out, "{pad}{{\n{bd}{pad}}}");
            }
            StmtKind::TailCall { .. } => self.err(s.span, "a tail call in userspace"),
        }
    }

    fn end_loop(&mut self, cx: &mut FnCx, l: &str) -> String {
        let (_, used) = cx.loops.pop().unwrap_or((l.to_string(), false));
        if used {
            format!("'{l}: ")
        } else {
            String::new()
        }
    }

    fn local_ty(&self, l: LocalId, cx: &FnCx) -> TypeId {
        cx.tys[l.index()]
    }

    fn ty_of_local(&self, cx: &FnCx, l: LocalId) -> String {
        self.ty(self.local_ty(l, cx))
    }

    /// `op=` as Rust: the same operators, on the same types.
    fn compound_op(&self, place: &str, op: BinOp, v: &str, t: TypeId) -> String {
        let _ = t;
        format!("{place} {}= {}", op.symbol(), v)
    }

    /// `place = v` / `place op= v`. Globals and configs are read, changed
    /// and written back through the runtime.
    fn assign(
        &mut self,
        place: &Expr,
        op: Option<BinOp>,
        v: &str,
        cx: &mut FnCx,
        out: &mut String,
        pad: &str,
    ) {
        let (root, path) = self.place_path(place, cx);
        let set = |p: &str| match op {
            Some(op) => format!("{p} {}= {v}", op.symbol()),
            None => format!("{p} = {v}"),
        };
        match root {
            PlaceRoot::Global(g) if path.is_empty() && op.is_none() => {
                let gl = &self.m.globals[g.index()];
                let _ = writeln!(
                    out,
                    "{pad}rt::set_global(\"{}\", &{});",
                    esc(&gl.name),
                    paren(v)
                );
            }
            PlaceRoot::Global(g) => {
                let gl = &self.m.globals[g.index()];
                let _ = writeln!(
                    out,
                    "{pad}{{\n{pad}    let mut value: {} = rt::global(\"{}\");\n{pad}    {};\n{pad}    rt::set_global(\"{}\", &value);\n{pad}}}",
                    self.ty(gl.ty),
                    esc(&gl.name),
                    set(&format!("value{path}")),
                    esc(&gl.name)
                );
            }
            PlaceRoot::Config(c) => {
                let cfg = &self.m.configs[c.index()];
                let _ = writeln!(
                    out,
                    "{pad}{{\n{pad}    let mut config: Config{} = rt::global(\"{}\");\n{pad}    {};\n{pad}    rt::set_global(\"{}\", &config);\n{pad}}}",
                    camel(&cfg.name),
                    esc(&cfg.name),
                    set(&format!("config{path}")),
                    esc(&cfg.name)
                );
            }
            PlaceRoot::Other(p) => {
                let _ = writeln!(out, "{pad}{};", set(&format!("{p}{path}")));
            }
        }
    }

    fn place_path(&mut self, e: &Expr, cx: &mut FnCx) -> (PlaceRoot, String) {
        match &e.kind {
            ExprKind::Global(g) => (PlaceRoot::Global(*g), String::new()),
            ExprKind::ConfigField {
                config: c,
                field: f,
            } => {
                let cfg = &self.m.configs[c.index()];
                (
                    PlaceRoot::Config(*c),
                    format!(".{}", ident(&cfg.fields[*f as usize].name)),
                )
            }
            ExprKind::Field {
                base,
                field,
                through_pointer,
            } => {
                let fname = self.field_name(base.ty, *field, *through_pointer);
                if *through_pointer {
                    let (r, p) = self.place_path(base, cx);
                    (r, format!("{p}.as_mut().expect(\"null pointer\").{fname}"))
                } else {
                    let (r, p) = self.place_path(base, cx);
                    (r, format!("{p}.{fname}"))
                }
            }
            ExprKind::Index { base, index } => {
                let i = self.expr(index, cx);
                let (r, p) = self.place_path(base, cx);
                (r, format!("{p}[{} as usize]", operand(&i)))
            }
            ExprKind::Deref(inner) => {
                let (r, p) = self.place_path(inner, cx);
                (
                    PlaceRoot::Other(String::new()),
                    match r {
                        PlaceRoot::Other(x) => format!("*{x}{p}.as_mut().expect(\"null pointer\")"),
                        _ => p,
                    },
                )
            }
            _ => (PlaceRoot::Other(self.expr(e, cx)), String::new()),
        }
    }

    fn field_name(&self, base_ty: TypeId, field: u32, through_pointer: bool) -> String {
        let t = match (self.kind(base_ty), through_pointer) {
            (TypeKind::Pointer(p), true) => *p,
            _ => base_ty,
        };
        match self.kind(t) {
            TypeKind::Struct(sd) => sd
                .fields
                .get(field as usize)
                .map(|f| ident(&f.name))
                .unwrap_or_default(),
            _ => format!("{field}"),
        }
    }

    // ------------------------------------------------------------------ expressions

    fn value(&mut self, v: &Value, t: TypeId) -> String {
        match v {
            Value::Int(i) => self.int_lit(*i as i128, t),
            Value::UInt(u) => self.int_lit(*u as i128, t),
            Value::Bool(b) => match self.kind(t) {
                TypeKind::Bool => b.to_string(),
                _ => (*b as u8).to_string(),
            },
            Value::Char(c) => format!("b'{}'", std::ascii::escape_default(*c)),
            Value::Str(s) => match self.kind(t) {
                TypeKind::Str(n) => format!("KStr::<{n}>::new(\"{}\")", esc(s)),
                _ => format!("b\"{}\"", esc_bytes(s)),
            },
            Value::Null => "None".into(),
            Value::Zero => self.zero(t),
            Value::Array(xs) => {
                let et = match self.kind(t) {
                    TypeKind::Array(e, _) => *e,
                    _ => t,
                };
                let xs: Vec<String> = xs.iter().map(|x| self.value(x, et)).collect();
                format!("[{}]", xs.join(", "))
            }
            Value::Repeat(x, n) => {
                let et = match self.kind(t) {
                    TypeKind::Array(e, _) => *e,
                    _ => t,
                };
                format!("[{}; {n}]", self.value(x, et))
            }
            Value::Struct(fs) => match self.kind(t) {
                TypeKind::Struct(sd) => {
                    let parts: Vec<String> = sd
                        .fields
                        .iter()
                        .zip(fs)
                        .map(|(f, v)| format!("{}: {}", ident(&f.name), self.value(v, f.ty)))
                        .collect();
                    format!("{} {{ {} }}", ident(&sd.name), parts.join(", "))
                }
                _ => self.zero(t),
            },
        }
    }

    fn int_lit(&self, v: i128, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Bool => (v != 0).to_string(),
            TypeKind::Int(i) => {
                if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
                    v.to_string()
                } else {
                    format!("{v}{}", i.name())
                }
            }
            TypeKind::Enum(ed) => {
                if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
                    v.to_string()
                } else {
                    format!("{v}{}", ed.repr.name())
                }
            }
            _ => v.to_string(),
        }
    }

    fn is_throwing_call(&self, e: &Expr) -> Option<FnId> {
        match &e.kind {
            ExprKind::Call {
                callee: Callee::Function(f),
                ..
            } if self.can_throw(*f) => Some(*f),
            _ => None,
        }
    }

    fn expr(&mut self, e: &Expr, cx: &mut FnCx) -> String {
        match &e.kind {
            ExprKind::Value(v) => self.value(v, e.ty),
            ExprKind::Local(l) => cx.names[l.index()].clone(),
            ExprKind::Global(g) => {
                let gl = &self.m.globals[g.index()];
                if gl.visibility == GlobalVisibility::Local {
                    self.err(e.span, "a `local var` global in userspace");
                }
                format!("rt::global::<{}>(\"{}\")", self.ty(gl.ty), esc(&gl.name))
            }
            ExprKind::ConfigField {
                config: c,
                field: f,
            } => {
                let cfg = &self.m.configs[c.index()];
                format!(
                    "rt::global::<Config{}>(\"{}\").{}",
                    camel(&cfg.name),
                    esc(&cfg.name),
                    ident(&cfg.fields[*f as usize].name)
                )
            }
            ExprKind::FnRef(f) => {
                let fun = &self.m.functions[f.index()];
                match fun.kind {
                    FnKind::Program(_) => format!("{}", self.program_index(*f)),
                    _ => format!("{} as {}", self.fn_name(*f), self.ty(e.ty)),
                }
            }
            ExprKind::StructOpsRef(_) => {
                self.err(e.span, "`register` of struct_ops");
                "0".into()
            }
            ExprKind::Unary { op, operand: x } => {
                let v = self.expr(x, cx);
                match op {
                    UnOp::Not => format!("!{}", operand(&v)),
                    UnOp::BitNot => format!("!{}", operand(&v)),
                    UnOp::Neg => format!("{}.wrapping_neg()", operand(&v)),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let lt = self.kind(lhs.ty);
                let a = self.expr(lhs, cx);
                let b = self.expr(rhs, cx);
                if matches!(lt, TypeKind::Pointer(_) | TypeKind::Null)
                    || matches!(self.kind(rhs.ty), TypeKind::Pointer(_) | TypeKind::Null)
                {
                    // Snapshots compare by presence (`p == null`).
                    let (p, other_null) = if matches!(self.kind(rhs.ty), TypeKind::Null)
                        || matches!(rhs.kind, ExprKind::Value(Value::Null))
                    {
                        (a, true)
                    } else {
                        (b, matches!(lhs.kind, ExprKind::Value(Value::Null)))
                    };
                    if other_null {
                        return match op {
                            BinOp::Eq => format!("{}.is_none()", operand(&p)),
                            BinOp::Ne => format!("{}.is_some()", operand(&p)),
                            _ => {
                                self.err(e.span, "pointer arithmetic in userspace");
                                "false".into()
                            }
                        };
                    }
                    self.err(e.span, "pointer arithmetic or comparison in userspace");
                    return "false".into();
                }
                if matches!(op, BinOp::Shl | BinOp::Shr) {
                    // A literal receiver needs its type to call a method.
                    let a = if a.parse::<i64>().is_ok() {
                        format!("{a}{}", self.ty(lhs.ty))
                    } else {
                        a
                    };
                    // As C: the shift count's type is free; a count past
                    // the width is masked, as a release build does.
                    return format!(
                        "{}.{}({} as u32)",
                        operand(&a),
                        if *op == BinOp::Shl {
                            "wrapping_shl"
                        } else {
                            "wrapping_shr"
                        },
                        operand(&b)
                    );
                }
                format!("{} {} {}", operand(&a), op.symbol(), operand(&b))
            }
            ExprKind::Cast(x) => self.cast(x, e.ty, cx),
            ExprKind::Call { callee, args } => self.call(e, callee, args, cx),
            ExprKind::Field {
                base,
                field,
                through_pointer,
            } => {
                let b = self.expr(base, cx);
                let f = self.field_name(base.ty, *field, *through_pointer);
                if *through_pointer {
                    format!("{}.expect(\"null pointer\").{f}", operand(&b))
                } else {
                    format!("{}.{f}", operand(&b))
                }
            }
            ExprKind::Index { base, index }
                if matches!(self.kind(base.ty), TypeKind::Pointer(_)) =>
            {
                let _ = index;
                self.err(e.span, "indexing through a pointer in userspace");
                "0".into()
            }
            ExprKind::Index { base, index } => {
                let b = self.expr(base, cx);
                let i = self.expr(index, cx);
                format!("{}[{} as usize]", operand(&b), operand(&i))
            }
            ExprKind::Deref(x) => {
                let v = self.expr(x, cx);
                format!("{}.expect(\"null pointer\")", operand(&v))
            }
            ExprKind::AddrOf(_) => {
                self.err(e.span, "taking an address (`&`) in userspace");
                "None".into()
            }
            ExprKind::MapLookup { map, key } => {
                let mp = &self.m.maps[map.index()];
                let k = self.expr(key, cx);
                format!(
                    "rt::lookup::<{}, {}>(&{}, &{})",
                    self.ty(mp.key),
                    self.ty(mp.value),
                    self.map_const(*map),
                    paren(&k)
                )
            }
            ExprKind::MapRead { map, key } => {
                let mp = &self.m.maps[map.index()];
                let k = self.expr(key, cx);
                format!(
                    "rt::lookup::<{}, {}>(&{}, &{}).unwrap_or_else(Plain::zero)",
                    self.ty(mp.key),
                    self.ty(mp.value),
                    self.map_const(*map),
                    paren(&k)
                )
            }
            ExprKind::StructLit(fields) => {
                let TypeKind::Struct(sd) = self.kind(e.ty) else {
                    return self.zero(e.ty);
                };
                let mut parts = vec![];
                for fi in fields {
                    let v = self.expr(&fi.value, cx);
                    let f = &sd.fields[fi.field as usize];
                    parts.push(format!("{}: {v}", ident(&f.name)));
                }
                if fields.len() < sd.fields.len() {
                    parts.push("..Plain::zero()".into());
                }
                format!("{} {{ {} }}", ident(&sd.name), parts.join(", "))
            }
            ExprKind::ArrayLit(xs) => {
                let xs: Vec<String> = xs.iter().map(|x| self.expr(x, cx)).collect();
                format!("[{}]", xs.join(", "))
            }
            ExprKind::ArrayRepeat { value, count } => {
                let v = self.expr(value, cx);
                format!("[{v}; {count}]")
            }
            ExprKind::Select { cond, then, els } => {
                let c = self.expr(cond, cx);
                let a = self.expr(then, cx);
                let b = self.expr(els, cx);
                format!("if {c} {{ {a} }} else {{ {b} }}")
            }
            ExprKind::Switch {
                scrutinee,
                arms,
                default,
            } => {
                let s = self.expr(scrutinee, cx);
                let mut out = format!("match {s} {{ ");
                let mut seen = HashSet::new();
                for arm in arms {
                    let (v, a) = (arm.value, self.expr(&arm.result, cx));
                    if seen.insert(v) {
                        let _ = write!(out, "{v} => {a}, ");
                    }
                }
                let d = self.expr(default, cx);
                let _ = write!(out, "_ => {d} }}");
                out
            }
            ExprKind::Print { segments, values } => self.print(segments, values, cx),
            ExprKind::StrConcat(xs) => {
                let n = match self.kind(e.ty) {
                    TypeKind::Str(n) => *n,
                    _ => 1,
                };
                let parts: Vec<String> = xs.iter().map(|x| self.text_of(x, cx)).collect();
                format!("KStr::<{n}>::concat(&[{}])", parts.join(", "))
            }
            ExprKind::RingbufRead { map, timeout_ms } => {
                let mp = &self.m.maps[map.index()];
                let ms = match timeout_ms {
                    Some(t) => {
                        let v = self.expr(t, cx);
                        cast_to(&v, "u32")
                    }
                    None => "0".into(),
                };
                // A `ringbuf<u8>` record reads as its first byte (what `*p`
                // gives); indexing further into it is refused (`p[i]` on a
                // pointer).
                format!(
                    "rt::ring_read::<{}>(\"{}\", {ms})",
                    self.ty(mp.value),
                    esc(&mp.name)
                )
            }
            ExprKind::RingbufReserve { .. }
            | ExprKind::RingbufSubmit { .. }
            | ExprKind::RingbufOutput { .. } => {
                self.err(e.span, "writing a ring buffer from userspace");
                "None".into()
            }
        }
    }

    /// The bytes of a text value, for `StrConcat`.
    fn text_of(&mut self, x: &Expr, cx: &mut FnCx) -> String {
        match (&x.kind, self.kind(x.ty)) {
            (ExprKind::Value(Value::Str(s)), _) => format!("b\"{}\"", esc_bytes(s)),
            (_, TypeKind::Str(_)) => {
                let v = self.expr(x, cx);
                format!("{}.text()", operand(&v))
            }
            (_, TypeKind::Char) => {
                let v = self.expr(x, cx);
                format!("&[{v}]")
            }
            _ => {
                let v = self.expr(x, cx);
                format!("&{}[..]", operand(&v))
            }
        }
    }

    fn cast(&mut self, x: &Expr, to: TypeId, cx: &mut FnCx) -> String {
        let v = self.expr(x, cx);
        let from = self.kind(x.ty);
        match (from, self.kind(to)) {
            (_, TypeKind::Bool) if !matches!(from, TypeKind::Bool) => {
                format!("{} != 0", operand(&v))
            }
            (TypeKind::Str(_), TypeKind::Str(n)) => {
                format!("KStr::<{n}>::concat(&[{}.text()])", operand(&v))
            }
            (
                TypeKind::Int(_) | TypeKind::Char | TypeKind::Enum(_) | TypeKind::Bool,
                TypeKind::Int(_) | TypeKind::Char | TypeKind::Enum(_),
            ) => {
                // A literal takes the target type directly.
                if let ExprKind::Value(Value::Int(_) | Value::UInt(_)) = x.kind {
                    let lit = match &x.kind {
                        ExprKind::Value(Value::Int(i)) => *i as i128,
                        ExprKind::Value(Value::UInt(u)) => *u as i128,
                        _ => 0,
                    };
                    if let TypeKind::Int(it) = self.kind(to) {
                        let (lo, hi) = it.range();
                        if lit >= lo && lit <= hi {
                            return self.int_lit(lit, to);
                        }
                    }
                    // Out of the target's range: typed as its own (signed)
                    // type, then converted as C converts it.
                    let src = match self.kind(x.ty) {
                        TypeKind::Int(i) => i.name(),
                        _ => "i64",
                    };
                    return format!("{lit}{src} as {}", self.ty(to));
                }
                if self.ty(x.ty) == self.ty(to) {
                    v
                } else {
                    format!("{} as {}", operand(&v), self.ty(to))
                }
            }
            (TypeKind::Null, TypeKind::Pointer(_)) => "None".into(),
            (a, b) if a == b => v,
            _ => {
                if self.ty(x.ty) == self.ty(to) {
                    v
                } else {
                    self.err(x.span, "this conversion in userspace");
                    v
                }
            }
        }
    }

    fn call(&mut self, e: &Expr, callee: &Callee, args: &[Expr], cx: &mut FnCx) -> String {
        match callee {
            Callee::Builtin(b) => self.builtin(e, *b, args, cx),
            Callee::Function(f) => {
                let a: Vec<String> = args.iter().map(|x| self.expr(x, cx)).collect();
                let call = format!("{}({})", self.fn_name(*f), a.join(", "));
                if self.is_throwing_call(e).is_some() {
                    if cx.throws
                        && cx.defers.is_empty()
                        && matches!(cx.throw_to.last(), Some(ThrowTo::Caller))
                    {
                        format!("{call}?")
                    } else {
                        let t = self.throw_expr("code", cx);
                        format!("match {call} {{\n Ok(v) => v,\n Err(code) => {t},\n }}")
                    }
                } else {
                    call
                }
            }
            Callee::Pointer(p) => {
                let f = self.expr(p, cx);
                let a: Vec<String> = args.iter().map(|x| self.expr(x, cx)).collect();
                format!("({f})({})", a.join(", "))
            }
            Callee::BpfHelper(_) => {
                self.err(e.span, "a BPF helper call in userspace");
                "0".into()
            }
            Callee::Python { .. } => {
                self.err(e.span, "a call into an imported Python module");
                "0".into()
            }
        }
    }

    fn builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr], cx: &mut FnCx) -> String {
        let t: Vec<String> = args.iter().map(|x| self.expr(x, cx)).collect();
        let arg = |i: usize| t.get(i).cloned().unwrap_or_else(|| "0".into());
        match b {
            Builtin::Load => format!("rt::load({})", arg(0)),
            Builtin::Attach => {
                let target = match args.get(1).map(|a| self.kind(a.ty)) {
                    Some(TypeKind::Str(_)) => format!("Target::Name({}.text())", operand(&arg(1))),
                    _ => format!("Target::Index({})", cast_to(&arg(1), "i32")),
                };
                format!(
                    "rt::attach({}, {target}, {})",
                    arg(0),
                    cast_to(&arg(2), "u32")
                )
            }
            Builtin::Detach => format!("rt::detach({})", arg(0)),
            Builtin::Sleep => format!("rt::sleep({})", cast_to(&arg(0), "u32")),
            Builtin::Htons | Builtin::Htonl => format!("{}.to_be()", operand(&arg(0))),
            Builtin::Ntohs => format!("u16::from_be({})", arg(0)),
            Builtin::Ntohl => format!("u32::from_be({})", arg(0)),
            Builtin::Register => {
                self.err(e.span, "`register` of struct_ops");
                "0".into()
            }
            Builtin::Test => {
                // test(prog, XdpTestContext { packet_size, interface_id }).
                let field = |g: &Self, name: &str| -> String {
                    match g.kind(args[1].ty) {
                        TypeKind::Struct(sd) if sd.fields.iter().any(|f| f.name == name) => {
                            format!("ctx.{name} as u32")
                        }
                        _ => "0".into(),
                    }
                };
                format!(
                    "{{\n let ctx = {};\n rt::test({}, {}, {}) as {}\n }}",
                    arg(1),
                    arg(0),
                    field(self, "packet_size"),
                    field(self, "interface_id"),
                    self.ty(e.ty)
                )
            }
        }
    }

    /// `print(...)`: one line on stdout, formatted as the C loader's
    /// `printf` (the midend chose each value's conversion): a format for
    /// the runtime's `cfmt` and the values as `Arg`s, converted as C
    /// passes them (narrow values as `int`, unsigned conversions of
    /// signed values as their 32- or 64-bit pattern).
    fn print(&mut self, segments: &[FormatSegment], values: &[Expr], cx: &mut FnCx) -> String {
        let mut fmt = String::new();
        let mut argv: Vec<String> = Vec::new();
        for seg in segments {
            match seg {
                FormatSegment::Text(t) => fmt.push_str(&t.replace('%', "%%")),
                FormatSegment::Value { value, conv, spec } => {
                    let Some(v) = values.get(*value as usize) else {
                        continue;
                    };
                    let text = self.expr(v, cx);
                    let x = operand(&text);
                    let spec = spec.printf();
                    let wide = matches!(self.kind(v.ty), TypeKind::Int(i) if i.bits() == 64);
                    let int = matches!(self.kind(v.ty), TypeKind::Int(_));
                    let unsigned = |c: char| {
                        let a = if wide || !int {
                            if matches!(self.kind(v.ty), TypeKind::Int(IntType::U64)) {
                                format!("Arg::U({text})")
                            } else if int {
                                format!("Arg::U({x} as u64)")
                            } else {
                                format!("Arg::U({x} as u32 as u64)")
                            }
                        } else {
                            format!("Arg::U({x} as u32 as u64)")
                        };
                        (format!("%{spec}{c}"), a)
                    };
                    let (piece, arg) = match conv {
                        FormatConv::Signed => {
                            let a = match self.kind(v.ty) {
                                TypeKind::Int(IntType::I64) => format!("Arg::I({text})"),
                                TypeKind::Int(_) | TypeKind::Bool => format!("Arg::I({x} as i64)"),
                                _ => format!("Arg::I({x} as i32 as i64)"),
                            };
                            (format!("%{spec}d"), a)
                        }
                        FormatConv::Unsigned => unsigned('u'),
                        FormatConv::Hex { upper } => unsigned(if *upper { 'X' } else { 'x' }),
                        FormatConv::Octal => unsigned('o'),
                        FormatConv::Char => (format!("%{spec}c"), format!("Arg::C({x} as u8)")),
                        FormatConv::Str => match self.kind(v.ty) {
                            TypeKind::Str(_) => {
                                (format!("%{spec}s"), format!("Arg::S({x}.text())"))
                            }
                            TypeKind::Array(..) => {
                                (format!("%{spec}s"), format!("Arg::S(&{x}[..])"))
                            }
                            _ => {
                                self.err(v.span, "printing text through a pointer in userspace");
                                (format!("%{spec}s"), "Arg::S(b\"\")".into())
                            }
                        },
                        FormatConv::Pointer => {
                            self.err(v.span, "printing an address (`%p`) in userspace");
                            (format!("%{spec}p"), "Arg::U(0)".into())
                        }
                    };
                    fmt.push_str(&piece);
                    argv.push(arg);
                }
            }
        }
        format!("rt::print(\"{}\", &[{}])", esc(&fmt), argv.join(", "))
    }

    // ------------------------------------------------------------------ main

    fn rust_main(&mut self) {
        let m = self.m;
        let Some(main) = m.main else {
            self.out.push_str("fn main() {\n    rt::open(&DESC);\n}\n");
            return;
        };
        let f = &m.functions[main.index()];
        let mut s =
            String::from("fn main() {\n    let argv: Vec<String> = std::env::args().collect();\n");
        let tests: Vec<(FnId, &Function)> = m
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FnKind::Test)
            .map(|(i, f)| (FnId(i as u32), f))
            .collect();
        if !tests.is_empty() {
            // `ksc test` runs the executable with KSC_TEST set: the `@test`
            // functions run instead of `main`.
            let mut table = String::new();
            for (id, t) in &tests {
                let call = if matches!(self.kind(t.ret), TypeKind::Void) {
                    format!("|| {{\n {}();\n 0\n }}", self.fn_name(*id))
                } else {
                    format!("|| {}() as i32", self.fn_name(*id))
                };
                let _ = writeln!(table, "            (\"{}\", {call}),", esc(&t.name));
            }
            let _ = write!(
                s,
                "    if std::env::var_os(\"KSC_TEST\").is_some() {{\n        let tests: &[(&str, fn() -> i32)] = &[\n{table}        ];\n        rt::open(&DESC);\n        let n = tests.len();\n        let mut failed = 0;\n        rt::print(\"running %d test%s\", &[Arg::I(n as i64), Arg::S(if n == 1 {{ b\"\" }} else {{ b\"s\" }})]);\n        for (name, run) in tests {{\n            let r = run();\n            if r == 0 {{\n                rt::print(\"test %s ... ok\", &[Arg::S(name.as_bytes())]);\n            }} else {{\n                rt::print(\"test %s ... FAILED (returned %d)\", &[Arg::S(name.as_bytes()), Arg::I(r as i64)]);\n                failed += 1;\n            }}\n        }}\n        rt::print(\"\\ntest result: %s. %d passed; %d failed\", &[Arg::S(if failed > 0 {{ b\"FAILED\" }} else {{ b\"ok\" }}), Arg::I((n - failed) as i64), Arg::I(failed as i64)]);\n        rt::cleanup();\n        std::process::exit(if failed > 0 {{ 1 }} else {{ 0 }});\n    }}\n"
            );
        }
        let call = if f.params == 1 {
            let at = f.locals[0].ty;
            let TypeKind::Struct(sd) = self.kind(at) else {
                self.errors.push(EmitError {
                    message: "main's parameter must be a struct".into(),
                    span: Some(f.span),
                });
                return;
            };
            let tn = self.ty(at);
            let mut names = String::new();
            let mut help = String::new();
            let mut cases = String::new();
            for (i, fd) in sd.fields.iter().enumerate() {
                let dashed = fd.name.replace('_', "-");
                let _ = write!(names, "(\"{}\", {i}), ", fd.name);
                if dashed != fd.name {
                    let _ = write!(names, "(\"{dashed}\", {i}), ");
                }
                let id = ident(&fd.name);
                let n = &fd.name;
                let (what, parse) = match self.kind(fd.ty) {
                    TypeKind::Int(it) => {
                        let (lo, hi) = it.range();
                        (
                            it.name().to_string(),
                            format!(
                                "match rt::int_opt(&value, {lo}, {hi}) {{\n Some(v) => args.{id} = v as {t},\n None => {{\n eprintln!(\"error: --{n} takes a {t} ({lo} to {hi}), not `{{value}}`\");\n std::process::exit(2);\n }}\n }}",
                                t = it.name()
                            ),
                        )
                    }
                    TypeKind::Bool => (
                        "bool".into(),
                        format!(
                            "match value.as_str() {{\n \"1\" | \"true\" => args.{id} = true,\n \"0\" | \"false\" => args.{id} = false,\n _ => {{\n eprintln!(\"error: --{n} takes true/false/1/0, not `{{value}}`\");\n std::process::exit(2);\n }}\n }}"
                        ),
                    ),
                    TypeKind::Str(len) => (
                        format!("text, at most {} characters", len - 1),
                        format!(
                            "if value.len() >= {len} {{\n eprintln!(\"error: --{n} takes at most {max} characters\");\n std::process::exit(2);\n }}\n args.{id} = KStr::new(&value);",
                            max = len - 1
                        ),
                    ),
                    TypeKind::Char => (
                        "char".into(),
                        format!(
                            "if value.len() != 1 {{\n eprintln!(\"error: --{n} takes one character, not `{{value}}`\");\n std::process::exit(2);\n }}\n args.{id} = value.as_bytes()[0];"
                        ),
                    ),
                    _ => ("value".into(), String::new()),
                };
                let _ = writeln!(help, "  --{}=<{}>", fd.name, esc(&what));
                let _ = writeln!(
                    cases,
                    "            rt::Opt::Value({i}, value) => {{\n {parse}\n }}"
                );
            }
            let _ = write!(
                s,
                "    // The command line, as the C loader's getopt_long: `--name=value`\n    // or `--name value`, `-` for `_`, `--help`.\n    let mut args: {tn} = Plain::zero();\n    for opt in rt::options(&argv, &[{names}]) {{\n        match opt {{\n{cases}            rt::Opt::Value(..) => {{}}\n            rt::Opt::Extra(a) => {{\n                eprintln!(\"error: unexpected argument `{{a}}`\");\n                std::process::exit(2);\n            }}\n            rt::Opt::Help => {{\n                print!(\"usage: {{}} [options]\\n{}\", argv[0]);\n                std::process::exit(0);\n            }}\n        }}\n    }}\n",
                esc(&help)
            );
            "ks_main(args)"
        } else {
            s.push_str("    let _ = argv;\n");
            "ks_main()"
        };
        let _ = write!(
            s,
            "    rt::open(&DESC);\n    let status = {call} as i32;\n    rt::cleanup();\n    std::process::exit(status);\n}}\n"
        );
        self.out.push_str(&s);
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
            e.walk(&mut |x| {
                if let ExprKind::Local(l) = x.kind {
                    used.insert(l);
                }
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
