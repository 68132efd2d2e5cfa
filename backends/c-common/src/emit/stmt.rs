//! Statements: function bodies, blocks, `try`/`catch`/`defer`, map statements.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    // ------------------------------------------------------------ functions

    pub(super) fn function(&mut self, id: FnId, f: &'m Function) {
        self.current.set(id);
        // Unique C names for locals (KernelScript allows shadowing).
        let mut used: HashMap<String, u32> = HashMap::new();
        let params = self.param_names(f);
        let names: Vec<String> = f
            .locals
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let base = params.get(i).cloned().unwrap_or_else(|| ident(&l.name));
                let n = used.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base}_{}", *n - 1)
                }
            })
            .collect();
        let is_program = matches!(f.kind, FnKind::Program(_));
        let mut used_locals = HashSet::new();
        collect_locals(&f.body, &mut used_locals);
        let mut hoisted = HashSet::new();
        deferred_locals(&f.body, &mut hoisted);
        hoisted.retain(|l| {
            l.0 >= f.params
                && matches!(
                    self.kind(f.locals[l.index()].ty),
                    TypeKind::Int(_)
                        | TypeKind::Bool
                        | TypeKind::Char
                        | TypeKind::Pointer(_)
                        | TypeKind::Enum(_)
                )
        });
        let mut st = FnState {
            used: used_locals,
            names,
            defers: Vec::new(),
            catch_labels: Vec::new(),
            uses_err: false,
            ret: f.ret,
            is_program,
            throws_out: self.throwing.contains(&id),
            hoisted: Default::default(),
            temps: 0,
            defer_hoisted: hoisted,
            loop_counters: {
                let mut lc = HashSet::new();
                if f.domain == Domain::Ebpf {
                    loop_counters(&f.body, &mut lc);
                }
                lc
            },
        };
        // The function's name then its typed parameters, as libbpf's
        // BPF_KPROBE/BPF_PROG macros take them.
        let macro_args = |g: &mut Self| {
            let mut args = vec![ident(&f.name)];
            for (l, n) in f.locals[..f.params as usize].iter().zip(&st.names) {
                args.push(g.decl(l.ty, n));
            }
            args
        };
        // LSM programs read the hook's arguments through BPF_PROG; the
        // spec's struct-by-value `LsmContext` form keeps a plain signature.
        let lsm_args = !matches!(f.kind, FnKind::Program(ProgramType::Lsm { .. }))
            || f.locals[..f.params as usize]
                .iter()
                .all(|l| !matches!(self.kind(l.ty), TypeKind::Struct(_)));
        // `fn h(ctx: *pt_regs)`: the parameter is the context itself, so a
        // plain signature (BPF_KPROBE would define its own `ctx`).
        let regs_ctx = matches!(f.kind, FnKind::Program(ProgramType::Probe { .. }))
            && f.params == 1
            && matches!(self.kind(f.locals[0].ty), TypeKind::Pointer(t)
                if matches!(self.kind(*t), TypeKind::Struct(s) if s.origin == StructOrigin::ProbeRegs));
        let header = match (&f.kind, self.section(f)) {
            (FnKind::Program(ProgramType::Probe { offset: None, .. }), Some(sec)) if !regs_ctx => {
                let args = macro_args(self);
                format!("SEC(\"{sec}\")\nint BPF_KPROBE({})", args.join(", "))
            }
            (FnKind::Program(ProgramType::StructOps { .. }), Some(sec))
            | (FnKind::Program(ProgramType::Lsm { .. }), Some(sec))
                if lsm_args =>
            {
                // Arguments come from the kernel's call of the table member.
                let args = macro_args(self);
                let ret = self.type_name(f.ret);
                format!("SEC(\"{sec}\")\n{ret} BPF_PROG({})", args.join(", "))
            }
            (FnKind::Program(_), Some(sec)) => {
                let params: Vec<String> = f.locals[..f.params as usize]
                    .iter()
                    .zip(&st.names)
                    .map(|(l, n)| self.decl(l.ty, n))
                    .collect();
                let params = if params.is_empty() {
                    match &f.kind {
                        FnKind::Program(ProgramType::Probe { .. }) => {
                            "struct pt_regs *ctx".to_string()
                        }
                        _ => "void *ctx".to_string(),
                    }
                } else {
                    params.join(", ")
                };
                format!("SEC(\"{sec}\")\nint {}({params})", ident(&f.name))
            }
            _ => self.signature(id, f),
        };
        let mut body = Out::default();
        // Parameters the body never reads: say so, for -Wextra.
        let used = st.used.clone();
        let probe_entry = matches!(
            f.kind,
            FnKind::Program(ProgramType::Probe { offset: None, .. })
        ) && !regs_ctx;
        let ctx_macro = probe_entry
            || matches!(f.kind, FnKind::Program(ProgramType::StructOps { .. }))
            || (matches!(f.kind, FnKind::Program(ProgramType::Lsm { .. })) && lsm_args);
        if ctx_macro || (is_program && f.params == 0) {
            // BPF_KPROBE's context parameter, or our own.
            body.push_str("    (void)ctx;\n");
        }
        for (i, n) in st.names.iter().enumerate().take(f.params as usize) {
            if !used.contains(&LocalId(i as u32)) {
                let _ = writeln!(body, "    (void){n};");
            }
        }
        self.block_inner(&f.body, &mut st, &mut body, 1);
        let mut pre = String::new();
        if st.uses_err {
            pre.push_str("    __s64 __ksc_err = 0;\n");
        }
        for (flag, _) in &st.defers {
            let _ = writeln!(pre, "    __u8 {flag} = 0;");
        }
        let mut hoisted: Vec<LocalId> = st.defer_hoisted.iter().copied().collect();
        hoisted.sort_by_key(|l| l.0);
        for l in hoisted {
            let d = self.decl(f.locals[l.index()].ty, &st.names[l.index()]);
            let _ = writeln!(pre, "    {d} = 0;");
        }
        // Falling off the end runs the defers.
        let mut post = Out::default();
        if !st.defers.is_empty() && falls_through(&f.body) {
            self.run_defers(&mut st, &mut post, 1);
        }
        let _ = writeln!(
            self.out,
            "{header}\n{{\n{pre}{}{}}}\n",
            body.text, post.text
        );
    }

    pub(super) fn indent(n: usize) -> String {
        "    ".repeat(n)
    }

    pub(super) fn block_inner(&mut self, b: &Block, st: &mut FnState, out: &mut Out, ind: usize) {
        for s in &b.stmts {
            self.stmt(s, st, out, ind);
        }
    }

    pub(super) fn block(&mut self, b: &Block, st: &mut FnState, out: &mut Out, ind: usize) {
        out.push_str("{\n");
        self.block_inner(b, st, out, ind + 1);
        let _ = write!(out, "{}}}", Self::indent(ind));
    }

    pub(super) fn run_defers(&mut self, st: &mut FnState, out: &mut Out, ind: usize) {
        let defers = st.defers.clone();
        for (flag, body) in defers.iter().rev() {
            let _ = write!(out, "{}if ({flag}) ", Self::indent(ind));
            // A defer's body must not see itself again.
            let saved = std::mem::take(&mut st.defers);
            self.block(body, st, out, ind);
            st.defers = saved;
            out.push('\n');
        }
    }

    /// After a statement that calls throwing functions: leave if one threw.
    pub(super) fn check_exc(&mut self, s: &Stmt, st: &mut FnState, out: &mut Out, ind: usize) {
        if !self.stmt_calls_throwing(s) {
            return;
        }
        self.exc_check(st, out, ind);
    }

    /// Leave (to the catch, else out of the function) if a throw is pending.
    fn exc_check(&mut self, st: &mut FnState, out: &mut Out, ind: usize) {
        st.uses_err = true;
        let pad = Self::indent(ind);
        match st.catch_labels.last() {
            Some(l) => {
                let _ = writeln!(out, "{pad}if (__ksc_err) goto {l};");
            }
            None => {
                let _ = write!(out, "{pad}if (__ksc_err) ");
                self.propagate(st, out, ind);
            }
        }
    }

    /// Leave the function with `__ksc_err` as the thrown value.
    pub(super) fn propagate(&mut self, st: &mut FnState, out: &mut Out, ind: usize) {
        let pad = Self::indent(ind);
        out.push_str("{\n");
        self.run_defers(st, out, ind + 1);
        if st.throws_out {
            let _ = writeln!(out, "{pad}    *__ksc_exc = __ksc_err;");
        } else if let Some(call) = self.fl.uncaught(self.m, st) {
            let _ = writeln!(out, "{pad}    {call}");
        }
        let ret = if matches!(self.kind(st.ret), TypeKind::Void) {
            "return;".to_string()
        } else if st.is_program {
            "return 0;".to_string()
        } else {
            format!("return {};", self.zero(st.ret))
        };
        let _ = writeln!(out, "{pad}    {ret}\n{pad}}}");
    }

    pub(super) fn stmt(&mut self, s: &Stmt, st: &mut FnState, out: &mut Out, ind: usize) {
        // Each statement's first C line names its .ks line in a comment:
        // clang's messages and the verifier's log quote source lines, so
        // both lead back to the KernelScript source.
        out.note = self.note(s);
        self.span.set(Some(s.span));
        self.hoist_throwing(s, st, out, ind);
        self.stmt_code(s, st, out, ind);
        // A statement written without a line break has no note.
        out.note = None;
    }

    /// Throwing calls whose value the statement would use before the
    /// check after it (an argument of another call or `print`, a
    /// `return` value, an operand) are evaluated first, each into a
    /// temporary and checked: a throw leaves before anything uses the
    /// value. A call that is the whole expression of `var x = f()`,
    /// `x = f()` or `f()` needs no temporary: the check after the
    /// statement comes first. Calls in the right operand of `&&`/`||`
    /// and in `?:`/`match` arms stay in place (evaluated conditionally).
    fn hoist_throwing(&mut self, s: &Stmt, st: &mut FnState, out: &mut Out, ind: usize) {
        let root = match &s.kind {
            StmtKind::Let { init: Some(e), .. } | StmtKind::Expr(e) => Some(e),
            StmtKind::Assign { value, .. } => Some(value),
            StmtKind::Return(_)
            | StmtKind::CompoundAssign { .. }
            | StmtKind::MapUpdate { .. }
            | StmtKind::MapCompound { .. }
            | StmtKind::MapDelete { .. }
            | StmtKind::If { .. }
            | StmtKind::Throw(_) => None,
            _ => return,
        };
        if !self.stmt_calls_throwing(s) {
            return;
        }
        let mut calls: Vec<&Expr> = Vec::new();
        s.for_each_expr(|e| self.throwing_calls(e, &mut calls));
        if let Some(r) = root {
            calls.retain(|c| !std::ptr::eq(*c, r));
        }
        let pad = Self::indent(ind);
        for c in calls {
            let code = self.expr(c, st);
            let name = if matches!(self.kind(c.ty), TypeKind::Void) {
                let _ = writeln!(out, "{pad}{};", strip_parens(&code));
                "((void)0)".to_string()
            } else {
                st.temps += 1;
                let name = format!("__ksc_t{}", st.temps);
                let d = self.decl(c.ty, &name);
                let _ = writeln!(out, "{pad}{d} = {};", strip_parens(&code));
                name
            };
            self.exc_check(st, out, ind);
            st.hoisted.insert(c as *const Expr, name);
        }
    }

    /// The throwing calls of `e` that are always evaluated, innermost first.
    fn throwing_calls<'e>(&self, e: &'e Expr, out: &mut Vec<&'e Expr>) {
        match &e.kind {
            ExprKind::Binary {
                op: BinOp::And | BinOp::Or,
                lhs,
                ..
            } => return self.throwing_calls(lhs, out),
            ExprKind::Select { cond, .. } => return self.throwing_calls(cond, out),
            ExprKind::Switch { scrutinee, .. } => return self.throwing_calls(scrutinee, out),
            _ => {}
        }
        e.for_each_child(|c| self.throwing_calls(c, out));
        let throws = match &e.kind {
            ExprKind::Call {
                callee: Callee::Function(f),
                ..
            } => self.throwing.contains(f),
            ExprKind::Call {
                callee: Callee::Python { .. },
                ..
            } => true,
            _ => false,
        };
        if throws {
            out.push(e);
        }
    }

    /// The comment naming a statement's source line.
    fn note(&self, s: &Stmt) -> Option<String> {
        let line = self.m.files.line(s.span);
        if line == 0 || matches!(s.kind, StmtKind::Block(_)) {
            return None;
        }
        let path = self.m.files.name(s.span.file);
        let file = std::path::Path::new(path)
            .file_name()
            .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned());
        Some(format!(" // {file}:{line}"))
    }

    /// `if (c) { } else if ...`, the first `if` after `lead`. True when
    /// it ended with an `else if` (whose statement checked for throws).
    #[allow(clippy::too_many_arguments)]
    fn if_chain(
        &mut self,
        cond: &Expr,
        then: &Block,
        els: &Block,
        st: &mut FnState,
        out: &mut Out,
        ind: usize,
        lead: &str,
    ) -> bool {
        let c = self.expr(cond, st);
        let _ = write!(out, "{lead}if ({}) ", strip_parens(&c));
        self.block(then, st, out, ind);
        if !els.stmts.is_empty() {
            out.push_str(" else ");
            if let [one @ Stmt {
                kind:
                    StmtKind::If {
                        cond: c2,
                        then: t2,
                        els: e2,
                    },
                ..
            }] = els.stmts.as_slice()
            {
                out.note = self.note(one);
                let chained = self.if_chain(c2, t2, e2, st, out, ind, "");
                out.note = None;
                if !chained {
                    self.check_exc(one, st, out, ind);
                }
                return true;
            }
            self.block(els, st, out, ind);
        }
        out.push('\n');
        false
    }

    /// A map statement: its call, in a block when it needs temporaries.
    fn map_block(
        &mut self,
        out: &mut Out,
        pad: &str,
        setup: Out,
        call: impl FnOnce(&mut Self, &str) -> String,
    ) {
        if setup.text.is_empty() {
            let c = call(self, pad);
            out.push_str(&c);
        } else {
            let inner = format!("{pad}    ");
            let c = call(self, &inner);
            let _ = write!(out, "{pad}{{\n{}{c}{pad}}}\n", setup.text);
        }
    }

    /// The address of `e` as a map key or value of type `ty`: the local
    /// itself when `e` is a local of exactly that type (its bytes are what
    /// a copy would hold: aggregate locals are zeroed when declared, so a
    /// struct key's padding is zero), else a temporary `name`, zeroed
    /// first when it is an aggregate, written to `out`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn map_arg(
        &mut self,
        ty: TypeId,
        name: &str,
        e: &Expr,
        st: &mut FnState,
        out: &mut Out,
        pad: &str,
        end: &str,
    ) -> String {
        let f = &self.m.functions[self.current.get().index()];
        let types = &self.m.types;
        let aggregate = |t: TypeId| {
            matches!(
                types[t.index()].kind,
                TypeKind::Struct(_) | TypeKind::Array(..)
            )
        };
        match f.map_arg(ty, e, aggregate) {
            MapArg::Local(l) if !st.loop_counters.contains(&l) => {
                return format!("&{}", st.names[l.index()])
            }
            MapArg::Local(_) => {}
            // The helper copies from the pointee: no copy on the stack.
            MapArg::Pointee(p) => return self.expr(p, st),
            MapArg::Temp => {}
        }
        self.temp(ty, name, e, st, out, pad, end);
        format!("&{name}")
    }

    pub(super) fn stmt_code(&mut self, s: &Stmt, st: &mut FnState, out: &mut Out, ind: usize) {
        let pad = Self::indent(ind);
        match &s.kind {
            StmtKind::Let { local, init } if st.defer_hoisted.contains(local) => {
                let name = st.names[local.index()].clone();
                let v = match init {
                    Some(e) => self.expr(e, st),
                    None => "0".into(),
                };
                let _ = writeln!(out, "{pad}{name} = {v};");
            }
            StmtKind::Let { local, init } => {
                let name = st.names[local.index()].clone();
                let lty0 = self.local_ty(st, *local);
                if !st.used.contains(local)
                    && !matches!(self.kind(lty0), TypeKind::Struct(_) | TypeKind::Array(..))
                {
                    // Declared, never read (a handle kept for later, say):
                    // keep the code, silence -Wunused-variable.
                    let d = self.decl(lty0, &name);
                    let v = match init {
                        Some(e) => self.expr(e, st),
                        None => "0".into(),
                    };
                    let _ = writeln!(out, "{pad}{d} = {v};\n{pad}(void){name};");
                    return;
                }
                let lty = self.local_ty(st, *local);
                match (init, self.kind(lty)) {
                    (
                        Some(Expr {
                            kind: ExprKind::ArrayLit(xs),
                            ..
                        }),
                        TypeKind::Array(..),
                    ) => {
                        let items: Vec<String> = xs.iter().map(|x| self.expr(x, st)).collect();
                        let d = self.decl(lty, &name);
                        let _ = writeln!(out, "{pad}{d} = {{ {} }};", items.join(", "));
                    }
                    (
                        Some(Expr {
                            kind: ExprKind::ArrayRepeat { value, .. },
                            ..
                        }),
                        TypeKind::Array(_, n),
                    ) => {
                        let n = *n;
                        let d = self.decl(lty, &name);
                        let v = self.expr(value, st);
                        if v == "0" {
                            let _ = writeln!(
                                out,
                                "{pad}{d};\n{pad}__builtin_memset(&{name}, 0, sizeof({name}));"
                            );
                        } else {
                            let _ = writeln!(out, "{pad}{d};\n{pad}for (__u32 __i = 0; __i < {n}; __i++) {name}[__i] = {v};");
                        }
                    }
                    (
                        Some(Expr {
                            kind: ExprKind::Deref(ptr),
                            ..
                        }),
                        TypeKind::Struct(_) | TypeKind::Array(..),
                    ) if self.byte_copy(lty) => {
                        // A large struct of bytes: see `word_copy`.
                        let d = self.decl(lty, &name);
                        let p = self.expr(ptr, st);
                        let _ = writeln!(out, "{pad}{d};");
                        self.word_copy(&name, &p, out, &pad);
                    }
                    (Some(e), TypeKind::Struct(_) | TypeKind::Array(..)) => {
                        // Zeroed first, so padding bytes are zero: structs are
                        // map keys, and hashing sees every byte.
                        let d = self.decl(lty, &name);
                        let _ = writeln!(
                            out,
                            "{pad}{d};
{pad}__builtin_memset(&{name}, 0, sizeof({name}));"
                        );
                        self.fill(&name, e, st, out, &pad, "\n");
                    }
                    (Some(e), _) => {
                        let v = self.expr(e, st);
                        let d = self.decl(lty, &name);
                        let _ = writeln!(out, "{pad}{d} = {v};");
                    }
                    (
                        None,
                        TypeKind::Int(_)
                        | TypeKind::Bool
                        | TypeKind::Char
                        | TypeKind::Enum(_)
                        | TypeKind::Pointer(_),
                    ) => {
                        let d = self.decl(lty, &name);
                        let _ = writeln!(out, "{pad}{d} = 0;");
                    }
                    (None, _) => {
                        let d = self.decl(lty, &name);
                        let _ = writeln!(
                            out,
                            "{pad}{d};\n{pad}__builtin_memset(&{name}, 0, sizeof({name}));"
                        );
                    }
                }
            }
            StmtKind::Assign {
                place,
                value:
                    Expr {
                        kind: ExprKind::Deref(ptr),
                        ..
                    },
            } if self.byte_copy(place.ty) => {
                let p = self.expr(place, st);
                let v = self.expr(ptr, st);
                self.word_copy(&p, &v, out, &pad);
            }
            StmtKind::Assign { place, value } => {
                let p = self.place(place, st);
                let v = self.expr(value, st);
                if matches!(self.kind(place.ty), TypeKind::Array(..)) {
                    let _ = writeln!(out, "{pad}__builtin_memcpy(&{p}, &{v}, sizeof({p}));");
                } else {
                    let _ = writeln!(out, "{pad}{p} = {v};");
                }
            }
            StmtKind::CompoundAssign { place, op, value } => {
                let p = self.place(place, st);
                let v = self.expr(value, st);
                let shared = matches!(place.kind, ExprKind::Global(_))
                    || matches!(
                        place.kind,
                        ExprKind::Field {
                            through_pointer: true,
                            ..
                        }
                    );
                let _ = writeln!(out, "{pad}{};", self.update(&p, *op, &v, place.ty, shared));
            }
            StmtKind::MapUpdate { map, key, value } => {
                let (_, kt, vt) = self.map_parts(*map);
                let n = self.fresh();
                let inner = format!("{pad}    ");
                let mut setup = Out::default();
                let k = self.map_arg(
                    kt,
                    &format!("__ksc_k{n}"),
                    key,
                    st,
                    &mut setup,
                    &inner,
                    "\n",
                );
                let v = self.map_arg(
                    vt,
                    &format!("__ksc_v{n}"),
                    value,
                    st,
                    &mut setup,
                    &inner,
                    "\n",
                );
                self.map_block(out, &pad, setup, |g, p| {
                    let fl = g.fl;
                    fl.map_update(g, *map, &k, &v, p)
                });
            }
            StmtKind::MapCompound {
                map,
                key,
                path,
                op,
                value,
            } => {
                let (_, kt, vt) = self.map_parts(*map);
                let n = self.fresh();
                let inner = format!("{pad}    ");
                let mut setup = Out::default();
                let k = self.map_arg(
                    kt,
                    &format!("__ksc_k{n}"),
                    key,
                    st,
                    &mut setup,
                    &inner,
                    "\n",
                );
                let v = self.expr(value, st);
                let mut field = String::new();
                let mut fty = vt;
                for &i in path {
                    if let TypeKind::Struct(sd) = self.kind(fty) {
                        let f = &sd.fields[i as usize];
                        let _ = write!(field, ".{}", ident(&f.name));
                        fty = f.ty;
                    }
                }
                let place = MapPlace {
                    field,
                    ty: fty,
                    op: *op,
                };
                // Always a block: the flavour's own temporaries live in it.
                let fl = self.fl;
                let body = fl.map_compound(self, *map, &k, n, &place, &v, &inner);
                let _ = write!(out, "{pad}{{\n{}{body}{pad}}}\n", setup.text);
            }
            StmtKind::MapDelete { map, key } => {
                let (_, kt, _) = self.map_parts(*map);
                let n = self.fresh();
                let inner = format!("{pad}    ");
                let mut setup = Out::default();
                let k = self.map_arg(
                    kt,
                    &format!("__ksc_k{n}"),
                    key,
                    st,
                    &mut setup,
                    &inner,
                    "\n",
                );
                self.map_block(out, &pad, setup, |g, p| {
                    let fl = g.fl;
                    fl.map_delete(g, *map, &k, p)
                });
            }
            StmtKind::Expr(e) => {
                let v = self.expr(e, st);
                // A value-producing statement expression (a call through a
                // function pointer) used for its effect only.
                let discard = if v.starts_with("({") && !matches!(self.kind(e.ty), TypeKind::Void) {
                    "(void)"
                } else {
                    ""
                };
                let _ = writeln!(out, "{pad}{discard}{v};");
            }
            StmtKind::If { cond, then, els } => {
                if self.if_chain(cond, then, els, st, out, ind, &pad) {
                    return;
                }
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => {
                let name = st.names[var.index()].clone();
                let ty = self.local_ty(st, *var);
                let d = self.decl(ty, &name);
                let a = self.expr(start, st);
                let b = self.expr(end, st);
                if matches!(end.kind, ExprKind::Value(_) | ExprKind::Local(_)) {
                    let _ = write!(out, "{pad}for ({d} = {a}; {name} < {b}; {name}++) ");
                    self.block(body, st, out, ind);
                    out.push('\n');
                } else {
                    // The end is evaluated once, before the loop.
                    let n = self.fresh();
                    let ed = self.decl(ty, &format!("__ksc_end{n}"));
                    let _ = write!(out, "{pad}{{\n{pad}    {ed} = {b};\n{pad}    for ({d} = {a}; {name} < __ksc_end{n}; {name}++) ");
                    self.block(body, st, out, ind + 1);
                    let _ = writeln!(out, "\n{pad}}}");
                }
            }
            StmtKind::ForEach {
                map,
                key,
                value,
                body,
            } => {
                let fl = self.fl;
                fl.map_iterate(self, s, *map, *key, *value, body, st, out, ind);
            }
            StmtKind::While { cond, body } => {
                let c = self.expr(cond, st);
                let _ = write!(out, "{pad}while ({}) ", strip_parens(&c));
                self.block(body, st, out, ind);
                out.push('\n');
            }
            StmtKind::Loop { body } => {
                let _ = write!(out, "{pad}for (;;) ");
                self.block(body, st, out, ind);
                out.push('\n');
            }
            StmtKind::Break => {
                let _ = writeln!(out, "{pad}break;");
            }
            StmtKind::Continue => {
                let _ = writeln!(out, "{pad}continue;");
            }
            StmtKind::Return(e) => {
                let v = e.as_ref().map(|e| self.expr(e, st));
                if st.defers.is_empty() {
                    match v {
                        Some(v) => {
                            let _ = writeln!(out, "{pad}return {};", strip_parens(&v));
                        }
                        None => {
                            let _ = writeln!(out, "{pad}return;");
                        }
                    }
                } else {
                    // The value is computed before the deferred code runs.
                    let _ = writeln!(out, "{pad}{{");
                    if let Some(v) = &v {
                        let d = self.decl(st.ret, "__ksc_ret");
                        let _ = writeln!(out, "{pad}    {d} = {v};");
                    }
                    self.run_defers(st, out, ind + 1);
                    let _ = writeln!(
                        out,
                        "{pad}    return{};\n{pad}}}",
                        if v.is_some() { " __ksc_ret" } else { "" }
                    );
                }
                return;
            }
            StmtKind::TailCall {
                target,
                slot,
                ctx,
                fallback,
            } => {
                let c = self.expr(ctx, st);
                let fb = self.expr(fallback, st);
                let map = self.tail_map(*target);
                let _ = writeln!(out, "{pad}bpf_tail_call({c}, &{map}, {slot});");
                let _ = writeln!(out, "{pad}return {fb};");
                return;
            }
            StmtKind::Throw(e) => {
                st.uses_err = true;
                let v = self.expr(e, st);
                let _ = writeln!(out, "{pad}__ksc_err = {v};");
                match st.catch_labels.last() {
                    Some(l) => {
                        let _ = writeln!(out, "{pad}goto {l};");
                    }
                    None => {
                        let _ = write!(out, "{pad}");
                        self.propagate(st, out, ind);
                    }
                }
                return;
            }
            StmtKind::Try { body, catches } => {
                st.uses_err = true;
                let n = self.fresh();
                let label = format!("__ksc_catch{n}");
                let end = format!("__ksc_try_end{n}");
                let _ = writeln!(out, "{pad}{{");
                st.catch_labels.push(label.clone());
                self.block_inner(body, st, out, ind + 1);
                st.catch_labels.pop();
                // Unused when nothing in the body throws.
                let _ = writeln!(
                    out,
                    "{pad}    goto {end};\n{pad}{label}: __attribute__((unused));"
                );
                let mut first = true;
                let mut has_any = false;
                for c in catches {
                    let cond = match c.value {
                        Some(v) => format!("__ksc_err == {v}"),
                        None => {
                            has_any = true;
                            "1".into()
                        }
                    };
                    let kw = if first { "if" } else { "else if" };
                    first = false;
                    let _ = write!(
                        out,
                        "{pad}    {kw} ({cond}) {{\n{pad}        __ksc_err = 0;\n"
                    );
                    self.block_inner(&c.body, st, out, ind + 2);
                    let _ = writeln!(out, "{pad}    }}");
                }
                if !has_any {
                    // No catch matched: throw further.
                    let _ = write!(out, "{pad}    else ");
                    match st.catch_labels.last().cloned() {
                        Some(l) => {
                            let _ = writeln!(out, "goto {l};");
                        }
                        None => self.propagate(st, out, ind + 1),
                    }
                }
                let _ = writeln!(out, "{pad}{end}:;\n{pad}}}");
            }
            StmtKind::Defer(b) => {
                let flag = format!("__ksc_defer{}", st.defers.len());
                st.defers.push((flag.clone(), b.clone()));
                let _ = writeln!(out, "{pad}{flag} = 1;");
            }
            StmtKind::Block(b) => {
                out.push_str(&pad);
                self.block(b, st, out, ind);
                out.push('\n');
            }
        }
        self.check_exc(s, st, out, ind);
    }

    /// Store the value of `e` into the (zeroed) aggregate `target`:
    /// struct literals field by field (padding stays zero), arrays by copy.
    pub(super) fn fill(
        &mut self,
        target: &str,
        e: &Expr,
        st: &mut FnState,
        out: &mut Out,
        pad: &str,
        end: &str,
    ) {
        match (&e.kind, self.kind(e.ty)) {
            (ExprKind::StructLit(fields), TypeKind::Struct(s)) => {
                let names: Vec<String> = s.fields.iter().map(|f| ident(&f.name)).collect();
                for f in fields {
                    let (i, x) = (f.field, &f.value);
                    let fname = format!("{target}.{}", names[i as usize]);
                    if matches!(self.kind(x.ty), TypeKind::Struct(_) | TypeKind::Array(..)) {
                        self.fill(&fname, x, st, out, pad, end);
                    } else {
                        let v = self.expr(x, st);
                        let _ = write!(out, "{pad}{fname} = {v};{end}");
                    }
                }
            }
            (ExprKind::ArrayLit(xs), _) => {
                for (i, x) in xs.iter().enumerate() {
                    let v = self.expr(x, st);
                    let _ = write!(out, "{pad}{target}[{i}] = {v};{end}");
                }
            }
            (ExprKind::ArrayRepeat { value, .. }, TypeKind::Array(_, n)) => {
                let n = *n;
                let v = self.expr(value, st);
                // The target is zeroed already.
                if v != "0" {
                    let _ = write!(
                        out,
                        "{pad}for (__u32 __i = 0; __i < {n}; __i++) {target}[__i] = {v};{end}"
                    );
                }
            }
            (_, TypeKind::Array(..)) => {
                let v = self.expr(e, st);
                let _ = write!(
                    out,
                    "{pad}__builtin_memcpy(&{target}, &{v}, sizeof({target}));{end}"
                );
            }
            _ => {
                let v = self.expr(e, st);
                let _ = write!(out, "{pad}{target} = {v};{end}");
            }
        }
    }

    /// A temporary holding `e` (zero-padded when it is a struct), for
    /// map calls that take addresses.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn temp(
        &mut self,
        ty: TypeId,
        name: &str,
        e: &Expr,
        st: &mut FnState,
        out: &mut Out,
        pad: &str,
        end: &str,
    ) {
        let d = self.decl(ty, name);
        if matches!(self.kind(ty), TypeKind::Struct(_) | TypeKind::Array(..)) {
            let _ = write!(
                out,
                "{pad}{d};{end}{pad}__builtin_memset(&{name}, 0, sizeof({name}));{end}"
            );
            self.fill(name, e, st, out, pad, end);
        } else {
            let v = self.expr(e, st);
            let _ = write!(out, "{pad}{d} = {v};{end}");
        }
    }

    /// `to = *from` for a [`Self::byte_copy`] type. clang 14 copies such
    /// a struct one byte at a time, loads all first and spills them past
    /// the 512-byte stack (its "stack limit exceeded" for a 256-byte
    /// local). A loop of 8-byte words, each through a register the
    /// compiler may not look into (so it is not turned back into one big
    /// copy), needs no stack; the source may be unaligned (packet data).
    fn word_copy(&mut self, to: &str, from: &str, out: &mut Out, pad: &str) {
        let _ = writeln!(
            out,
            "{pad}{{\n{pad}    const __u8 *__ksc_from = (const __u8 *)({from});\n{pad}    __u8 *__ksc_to = (__u8 *)&{to};\n{pad}    for (__u32 __i = 0; __i + 8 <= sizeof({to}); __i += 8) {{\n{pad}        __u64 __ksc_w;\n{pad}        __builtin_memcpy(&__ksc_w, __ksc_from + __i, 8);\n{pad}        asm volatile(\"\" : \"+r\"(__ksc_w) : : \"memory\");\n{pad}        __builtin_memcpy(__ksc_to + __i, &__ksc_w, 8);\n{pad}    }}\n{pad}    for (__u32 __i = sizeof({to}) & ~7u; __i < sizeof({to}); __i++)\n{pad}        __ksc_to[__i] = __ksc_from[__i];\n{pad}}}"
        );
    }

    /// An eBPF aggregate that clang would copy in more than 64 narrow
    /// loads and stores (its alignment is under 8).
    fn byte_copy(&self, t: TypeId) -> bool {
        let d = &self.m.types[t.index()];
        self.m.functions[self.current.get().index()].domain == Domain::Ebpf
            && d.align < 8
            && d.size > 64
    }

    pub(super) fn local_ty(&self, _st: &FnState, l: LocalId) -> TypeId {
        // Locals are looked up in the function being emitted.
        self.current_locals()[l.index()].ty
    }

    pub(super) fn current_locals(&self) -> &'m [Local] {
        &self.m.functions[self.current.get().index()].locals
    }

    pub(super) fn fresh(&mut self) -> u32 {
        self.tmp += 1;
        self.tmp
    }

    pub(super) fn map_parts(&self, map: MapId) -> (String, TypeId, TypeId) {
        let mp = &self.m.maps[map.index()];
        (ident(&mp.name), mp.key, mp.value)
    }

    /// `place op= value`; additions to shared memory are atomic, as
    /// hand-written eBPF does for counters.
    pub(super) fn update(
        &self,
        place: &str,
        op: BinOp,
        value: &str,
        ty: TypeId,
        shared: bool,
    ) -> String {
        let wide = matches!(self.kind(ty), TypeKind::Int(i) if i.bits() >= 32);
        match op {
            BinOp::Add if shared && wide => format!("__sync_fetch_and_add(&{place}, {value})"),
            // clang 14 cannot select an atomic sub for BPF: add the negation.
            BinOp::Sub if shared && wide => format!("__sync_fetch_and_add(&{place}, -({value}))"),
            _ => format!("{place} {}= {value}", op.symbol()),
        }
    }
}
