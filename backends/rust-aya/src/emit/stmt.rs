//! Statements: blocks, control flow, throws and defers, assignments to
//! locals, map entries, globals and configs.

use std::collections::HashSet;
use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    pub(super) fn stmt(
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
                // The map's own types, named: an untyped literal would be
                // an i32 and the kernel would read past it.
                let mp = &self.m.maps[map.index()];
                let (kt, vt) = (self.ty(mp.key), self.ty(mp.value));
                let k = self.expr(key, cx);
                let v = self.expr(value, cx);
                let _ = writeln!(
                    out,
                    "{pad}rt::update::<{kt}, {vt}>(&{}, &{}, &{});",
                    self.map_const(*map),
                    paren(&k),
                    paren(&v)
                );
            }
            StmtKind::MapDelete { map, key } => {
                let kt = self.ty(self.m.maps[map.index()].key);
                let k = self.expr(key, cx);
                let _ = writeln!(
                    out,
                    "{pad}rt::delete::<{kt}>(&{}, &{});",
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
                let diverges = never_completes(body);
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
                if diverges {
                    // The body never completes: something was thrown. A
                    // plain `match` lets rustc see that arms which all
                    // return leave the function (an `if let` without
                    // `else` would be a `()` there: E0317).
                    let _ = writeln!(
                        out,
                        "{pad}let Some(code) = thrown else {{ unreachable!() }};\n{pad}match code {{\n{arms}{pad}}}"
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{pad}if let Some(code) = thrown {{\n{pad}    match code {{\n{arms}{pad}    }}\n{pad}}}"
                    );
                }
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

    pub(super) fn end_loop(&mut self, cx: &mut FnCx, l: &str) -> String {
        let (_, used) = cx.loops.pop().unwrap_or((l.to_string(), false));
        if used {
            format!("'{l}: ")
        } else {
            String::new()
        }
    }

    pub(super) fn local_ty(&self, l: LocalId, cx: &FnCx) -> TypeId {
        cx.tys[l.index()]
    }

    pub(super) fn ty_of_local(&self, cx: &FnCx, l: LocalId) -> String {
        self.ty(self.local_ty(l, cx))
    }

    /// `op=` as Rust: the same operators, on the same types.
    pub(super) fn compound_op(&self, place: &str, op: BinOp, v: &str, t: TypeId) -> String {
        let _ = t;
        format!("{place} {}= {}", op.symbol(), v)
    }

    /// `place = v` / `place op= v`. Globals and configs are read, changed
    /// and written back through the runtime.
    pub(super) fn assign(
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
            PlaceRoot::Global(g) if self.m.globals[g.index()].userspace_only => {
                let cell = self.user_global(g);
                if path.is_empty() && op.is_none() {
                    let _ = writeln!(out, "{pad}{cell}.set({v});");
                } else {
                    let _ = writeln!(
                        out,
                        "{pad}{{
{pad}    let mut value = {cell}.get();
{pad}    {};
{pad}    {cell}.set(value);
{pad}}}",
                        set(&format!("value{path}"))
                    );
                }
            }
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

    pub(super) fn place_path(&mut self, e: &Expr, cx: &mut FnCx) -> (PlaceRoot, String) {
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
                        PlaceRoot::Other(x) => {
                            format!("(*{x}{p}.as_mut().expect(\"null pointer\"))")
                        }
                        _ => p,
                    },
                )
            }
            _ => (PlaceRoot::Other(self.expr(e, cx)), String::new()),
        }
    }

    pub(super) fn field_name(&self, base_ty: TypeId, field: u32, through_pointer: bool) -> String {
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
}

/// A block that never runs to its end (as rustc sees the Rust written for
/// it): its last statement returns, throws or tail-calls, or is an `if`
/// whose branches both never complete, or a block or `try` that never does.
fn never_completes(b: &Block) -> bool {
    match b.stmts.last().map(|s| &s.kind) {
        Some(StmtKind::Return(_) | StmtKind::Throw(_) | StmtKind::TailCall { .. }) => true,
        Some(StmtKind::If { then, els, .. }) => never_completes(then) && never_completes(els),
        Some(StmtKind::Block(b)) => never_completes(b),
        Some(StmtKind::Try { body, catches }) => {
            never_completes(body) && catches.iter().all(|c| never_completes(&c.body))
        }
        _ => false,
    }
}
