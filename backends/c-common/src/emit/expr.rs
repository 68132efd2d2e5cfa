//! Expressions, calls and `print`.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    // ------------------------------------------------------------ expressions

    pub(super) fn expr(&mut self, e: &Expr, st: &mut FnState) -> String {
        match &e.kind {
            ExprKind::Value(v) => match v {
                Value::Str(s) => match self.kind(e.ty) {
                    TypeKind::Str(n) => format!("((ks_str{n}){{ \"{}\" }})", esc_c(s)),
                    _ => format!("\"{}\"", esc_c(s)),
                },
                Value::Null => "((void *)0)".into(),
                Value::Char(c) => match *c {
                    b' '..=b'~' if *c != b'\'' && *c != b'\\' => format!("'{}'", *c as char),
                    _ => c.to_string(),
                },
                // Kernel enum values by name (`XDP_PASS`), for readable C.
                Value::Int(n) if matches!(self.kind(e.ty), TypeKind::Enum(en) if en.kernel) => {
                    match self.kind(e.ty) {
                        TypeKind::Enum(en) => en
                            .variants
                            .iter()
                            .find(|(_, x)| x == n)
                            .map_or_else(|| n.to_string(), |(name, _)| name.clone()),
                        _ => n.to_string(),
                    }
                }
                Value::Int(_) | Value::UInt(_) | Value::Bool(_) => self.init(e.ty, v),
                _ => {
                    let t = self.type_name(e.ty);
                    let i = self.init(e.ty, v);
                    format!("(({t}){i})")
                }
            },
            ExprKind::Local(l) => st.names[l.index()].clone(),
            ExprKind::Global(g) => {
                let fl = self.fl;
                fl.global(self, e, *g)
            }
            ExprKind::ConfigField(c, i) => {
                let fl = self.fl;
                fl.config_field(self, *c, *i)
            }
            ExprKind::FnRef(f) => {
                let fun = &self.m.functions[f.index()];
                let name = fun.name.clone();
                match fun.kind {
                    FnKind::Program(_) => {}
                    // A throwing function takes a hidden error slot, which
                    // a call through a pointer could not pass.
                    _ if self.throwing.contains(f) => {
                        self.err(
                            e.span,
                            format!("`{name}` can throw, so it cannot be used as a function pointer; catch inside it, or return an error code"),
                        );
                        return "0".into();
                    }
                    _ => {}
                }
                let fl = self.fl;
                fl.fn_ref(self, e, *f)
            }
            ExprKind::StructOpsRef(i) => {
                let fl = self.fl;
                fl.struct_ops_ref(self, e, *i)
            }
            ExprKind::Unary { op, operand } => {
                let x = self
                    .wide_lit(operand)
                    .unwrap_or_else(|| self.expr(operand, st));
                let o = match op {
                    UnOp::Not => "!",
                    UnOp::Neg => "-",
                    UnOp::BitNot => "~",
                };
                // C promotes narrow integers to `int` first (`~(u8)0xf0` is
                // -241 there, 15 in KernelScript): cast back to the type.
                match (op, self.kind(e.ty)) {
                    (UnOp::Neg | UnOp::BitNot, TypeKind::Int(i)) if i.bits() < 32 => {
                        format!("(({})({o}{x}))", Self::int_c(*i))
                    }
                    _ => format!("({o}{x})"),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.wide_lit(lhs).unwrap_or_else(|| self.expr(lhs, st));
                let b = self.wide_lit(rhs).unwrap_or_else(|| self.expr(rhs, st));
                if matches!(
                    (self.kind(lhs.ty), op),
                    (TypeKind::Str(_), BinOp::Eq | BinOp::Ne)
                ) {
                    let n = match self.kind(lhs.ty) {
                        TypeKind::Str(n) => *n,
                        _ => 0,
                    };
                    let m = match self.kind(rhs.ty) {
                        TypeKind::Str(m) => *m,
                        _ => 0,
                    };
                    let eq = format!("__ksc_streq(({a}).s, ({b}).s, {})", n.min(m));
                    self.need_streq();
                    return if *op == BinOp::Eq {
                        eq
                    } else {
                        format!("(!{eq})")
                    };
                }
                let text = format!("({a} {} {b})", op.symbol());
                // C computes narrow integers in `int`; KernelScript keeps
                // the operand type (u8 + u8 wraps at 256), so cast back.
                match (op, self.kind(e.ty)) {
                    (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Shl, TypeKind::Int(i))
                        if i.bits() < 32 =>
                    {
                        format!("(({}){text})", Self::int_c(*i))
                    }
                    _ => text,
                }
            }
            ExprKind::Cast(inner) => {
                let x = self.expr(inner, st);
                match (self.kind(inner.ty), self.kind(e.ty)) {
                    (TypeKind::Str(a), TypeKind::Str(b)) => {
                        let (a, b) = (*a, *b);
                        let n = self.fresh();
                        format!("({{ ks_str{b} __ksc_s{n}; __builtin_memset(&__ksc_s{n}, 0, sizeof(__ksc_s{n})); ks_str{a} __ksc_f{n} = {x}; __builtin_memcpy(__ksc_s{n}.s, __ksc_f{n}.s, {a}); __ksc_s{n}; }})")
                    }
                    (TypeKind::Null, _) => x,
                    _ => {
                        let t = self.type_name(e.ty);
                        format!("(({t}){x})")
                    }
                }
            }
            ExprKind::Call { callee, args } => self.call(e, callee, args, st),
            ExprKind::Field {
                base,
                field,
                through_pointer,
            } => {
                let b = self.expr(base, st);
                let sty = if *through_pointer {
                    match self.kind(base.ty) {
                        TypeKind::Pointer(p) => *p,
                        _ => base.ty,
                    }
                } else {
                    base.ty
                };
                let TypeKind::Struct(s) = self.kind(sty) else {
                    self.err(e.span, "field of a non-struct");
                    return "0".into();
                };
                let f = &s.fields[*field as usize];
                let access = format!(
                    "{b}{}{}",
                    if *through_pointer { "->" } else { "." },
                    ident(&f.name)
                );
                // Context packet pointers are 32-bit fields in the UAPI struct.
                if s.origin == StructOrigin::Uapi && matches!(self.kind(f.ty), TypeKind::Pointer(_))
                {
                    let t = self.type_name(f.ty);
                    return format!("(({t})(long){access})");
                }
                format!("({access})")
            }
            ExprKind::Index { base, index } => {
                let b = self.expr(base, st);
                let i = self.expr(index, st);
                if matches!(self.kind(base.ty), TypeKind::Str(_)) {
                    format!("({b}.s[{i}])")
                } else {
                    format!("({b}[{i}])")
                }
            }
            ExprKind::Deref(p) => {
                let x = self.expr(p, st);
                format!("(*{x})")
            }
            ExprKind::AddrOf(x) => {
                let v = self.expr(x, st);
                format!("(&{v})")
            }
            ExprKind::MapLookup { map, key } | ExprKind::MapRead { map, key } => {
                let (_, kt, _) = self.map_parts(*map);
                let n = self.fresh();
                let mut setup = Out::default();
                let k = self.map_arg(kt, &format!("__ksc_k{n}"), key, st, &mut setup, "", " ");
                let pointer = matches!(e.kind, ExprKind::MapLookup { .. });
                let fl = self.fl;
                let tail = fl.map_lookup(self, *map, &k, n, pointer);
                if setup.text.is_empty() && !tail.contains(';') {
                    tail
                } else if tail.ends_with(';') {
                    format!("({{ {}{tail} }})", setup.text)
                } else {
                    format!("({{ {}{tail}; }})", setup.text)
                }
            }
            ExprKind::StructLit(fields) => {
                let t = self.type_name(e.ty);
                let TypeKind::Struct(s) = self.kind(e.ty) else {
                    return "0".into();
                };
                let names: Vec<String> = s.fields.iter().map(|f| ident(&f.name)).collect();
                let items: Vec<String> = fields
                    .iter()
                    .map(|(i, x)| {
                        let v = self.expr(x, st);
                        format!(".{} = {v}", names[*i as usize])
                    })
                    .collect();
                format!("(({t}){{ {} }})", items.join(", "))
            }
            ExprKind::ArrayLit(_) | ExprKind::ArrayRepeat { .. } => {
                self.err(
                    e.span,
                    "array values (`[a, b]`, `[v; n]`) can only initialise a `var` or a struct field; declare a `var` and pass that",
                );
                "0".into()
            }
            ExprKind::Select { cond, then, els } => {
                let c = self.expr(cond, st);
                let a = self.expr(then, st);
                let b = self.expr(els, st);
                format!("({c} ? {a} : {b})")
            }
            ExprKind::Switch {
                scrutinee,
                arms,
                default,
            } => {
                let s = self.expr(scrutinee, st);
                let n = self.fresh();
                let sd = self.decl(scrutinee.ty, &format!("__ksc_m{n}"));
                let mut chain = String::new();
                for (v, body) in arms {
                    let b = self.expr(body, st);
                    let lit = self.int_lit(scrutinee.ty, *v as i128);
                    let _ = write!(chain, "__ksc_m{n} == {lit} ? {b} : ");
                }
                let d = self.expr(default, st);
                format!("({{ {sd} = {s}; {chain}{d}; }})")
            }
            ExprKind::RingbufReserve { map, size } => {
                let (mn, _, vt) = self.map_parts(*map);
                let t = self.type_name(vt);
                let n = match size {
                    Some(sz) => self.expr(sz, st),
                    None => format!("sizeof({t})"),
                };
                format!("(({t} *)bpf_ringbuf_reserve(&{mn}, {n}, 0))")
            }
            ExprKind::RingbufSubmit { ptr, discard, .. } => {
                let p = self.expr(ptr, st);
                let f = if *discard {
                    "bpf_ringbuf_discard"
                } else {
                    "bpf_ringbuf_submit"
                };
                format!("{f}({p}, 0)")
            }
            ExprKind::RingbufOutput { map, value } => {
                let (mn, _, vt) = self.map_parts(*map);
                let n = self.fresh();
                let mut setup = Out::default();
                self.temp(vt, &format!("__ksc_e{n}"), value, st, &mut setup, "", " ");
                let setup = setup.text;
                format!(
                    "({{ {setup}bpf_ringbuf_output(&{mn}, &__ksc_e{n}, sizeof(__ksc_e{n}), 0); }})"
                )
            }
            ExprKind::RingbufRead { map, timeout_ms } => {
                let fl = self.fl;
                fl.ring_read(self, e, *map, timeout_ms.as_deref(), st)
            }
            ExprKind::StrConcat(parts) => {
                // Append each part, truncating to the result's capacity and
                // always leaving a terminating NUL.
                let TypeKind::Str(cap) = *self.kind(e.ty) else {
                    self.err(e.span, "string concatenation needs a `str(N)` result");
                    return "0".into();
                };
                let n = self.fresh();
                self.need_strcat();
                let mut c = format!(
                    "({{ ks_str{cap} __ksc_s{n}; __builtin_memset(&__ksc_s{n}, 0, sizeof(__ksc_s{n})); __u32 __ksc_l{n} = 0; "
                );
                for (i, part) in parts.iter().enumerate() {
                    let TypeKind::Str(pc) = *self.kind(part.ty) else {
                        self.err(part.span, "only strings can be concatenated");
                        return "0".into();
                    };
                    let x = self.expr(part, st);
                    let _ = write!(
                        c,
                        "ks_str{pc} __ksc_p{n}_{i} = {x}; __ksc_l{n} = __ksc_strcat(__ksc_s{n}.s, {cap}, __ksc_l{n}, __ksc_p{n}_{i}.s, {pc}); "
                    );
                }
                let _ = write!(c, "__ksc_s{n}; }})");
                c
            }
        }
    }

    pub(super) fn need_streq(&mut self) {
        self.need_helper(
            "__ksc_streq(const char",
            "static __always_inline int __ksc_streq(const char *a, const char *b, __u32 n)\n{\n    for (__u32 i = 0; i < n; i++) {\n        if (a[i] != b[i])\n            return 0;\n        if (!a[i])\n            return 1;\n    }\n    return 1;\n}\n\n",
        );
    }

    /// Append `src` (a `str(srccap)`) to `dst` (a `str(cap)` holding `at`
    /// characters), truncating and keeping the NUL; bounded loops only, so
    /// the verifier accepts it.
    pub(super) fn need_strcat(&mut self) {
        self.need_helper(
            "__ksc_strcat(char",
            "static __always_inline __u32 __ksc_strcat(char *dst, __u32 cap, __u32 at, const char *src, __u32 srccap)\n{\n    for (__u32 i = 0; i < srccap; i++) {\n        if (!src[i] || at + 1 >= cap)\n            break;\n        dst[at] = src[i];\n        at++;\n    }\n    return at;\n}\n\n",
        );
    }

    /// Define a small C helper once, before the functions that use it
    /// (the flavour places `self.helpers`).
    pub(super) fn need_helper(&mut self, marker: &str, helper: &str) {
        if !self.helpers.contains(marker) {
            self.helpers.push_str(helper);
        }
    }

    pub(super) fn call(
        &mut self,
        e: &Expr,
        callee: &Callee,
        args: &[Expr],
        st: &mut FnState,
    ) -> String {
        if let Some(t) = st.hoisted.get(&(e as *const Expr)) {
            return t.clone();
        }
        let mut a: Vec<String> = args.iter().map(|x| self.expr(x, st)).collect();
        match callee {
            Callee::Function(f) => {
                let fun = &self.m.functions[f.index()];
                // `extern` kernel functions are kfuncs, declared `__ksym`
                // at the top of the file (BPF helpers re-declared with
                // `extern` are called as the helpers they are).
                if self.throwing.contains(f) {
                    st.uses_err = true;
                    a.push("&__ksc_err".into());
                }
                format!("{}({})", ident(&fun.name), a.join(", "))
            }
            Callee::BpfHelper(h) => format!("{}({})", h.name(), a.join(", ")),
            Callee::Pointer(p) => {
                let fl = self.fl;
                fl.call_pointer(self, e, p, &a, st)
            }
            Callee::Builtin(b) => {
                let fl = self.fl;
                fl.builtin(self, e, *b, args, &a)
            }
            Callee::Python { module, function } => {
                let f = self.python_wrapper(*module, function, args, e.ty);
                st.uses_err = true;
                a.push("&__ksc_err".into());
                format!("{f}({})", a.join(", "))
            }
        }
    }

    /// `print` -> bpf_printk: printf-style (length modifiers fitted to the
    /// argument types) or the list style (values appended), one line each.
    pub(super) fn print(&mut self, args: &[Expr], texts: &[String]) -> String {
        let fmt = match args.first().map(|a| &a.kind) {
            Some(ExprKind::Value(Value::Str(s))) => s.clone(),
            _ => String::new(),
        };
        let vals = &args[1.min(args.len())..];
        let mut out = String::new();
        let mut argv: Vec<String> = Vec::new();
        let mut vi = 0;
        let mut chars = fmt.chars().peekable();
        let has_specs = fmt.replace("%%", "").contains('%');
        while let Some(c) = chars.next() {
            if c != '%' || !has_specs {
                out.push(c);
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                out.push_str("%%");
                continue;
            }
            // Skip flags/width and the user's length modifier; keep the conversion.
            let mut spec = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || "-+ #.".contains(d) {
                    spec.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            while matches!(chars.peek(), Some('l' | 'h' | 'z')) {
                chars.next();
            }
            let conv = chars.next().unwrap_or('d');
            let (piece, arg) = self.format_arg(vals.get(vi), texts.get(vi + 1), conv, &spec);
            vi += 1;
            out.push_str(&piece);
            argv.extend(arg);
        }
        // List style: the remaining values after the text.
        for (i, v) in vals.iter().enumerate().skip(vi) {
            let (piece, arg) = self.format_arg(Some(v), texts.get(i + 1), 'v', "");
            out.push_str(&piece);
            argv.extend(arg);
        }
        let (func, newline, _) = self.fl.print();
        let line = if newline { format!("{out}\n") } else { out };
        let mut call = format!("{func}(\"{}\"", esc_c(&line));
        for a in argv {
            call.push_str(", ");
            call.push_str(&a);
        }
        call.push(')');
        call
    }

    pub(super) fn format_arg(
        &self,
        v: Option<&Expr>,
        text: Option<&String>,
        conv: char,
        spec: &str,
    ) -> (String, Option<String>) {
        let (Some(v), Some(text)) = (v, text) else {
            return (format!("%{spec}{conv}"), None);
        };
        match self.kind(v.ty) {
            TypeKind::Str(_) => (format!("%{spec}s"), Some(format!("{text}.s"))),
            TypeKind::Pointer(_) if conv == 's' => ("%s".into(), Some(text.clone())),
            TypeKind::Array(..) => (format!("%{spec}s"), Some(text.clone())),
            TypeKind::Pointer(_) => ("%p".into(), Some(text.clone())),
            // printf prints the character; bpf_printk before 5.13 has no
            // `%c`, so eBPF prints the code.
            TypeKind::Int(_) if conv == 'c' && self.fl.print().2 => {
                (format!("%{spec}c"), Some(format!("(int)({text})")))
            }
            TypeKind::Int(i) => {
                let signed = i.signed();
                let c = match conv {
                    'x' | 'X' | 'o' | 'u' | 'c' => conv,
                    'v' | 'd' | 'i' if signed => 'd',
                    // An unsigned value printed with %d would show as negative.
                    'v' | 'd' | 'i' => 'u',
                    other => other,
                };
                let c = if c == 'c' { 'd' } else { c };
                if i.bits() == 64 {
                    (format!("%{spec}ll{c}"), Some(text.clone()))
                } else {
                    (format!("%{spec}{c}"), Some(text.clone()))
                }
            }
            TypeKind::Char => ("%c".into(), Some(text.clone())),
            _ => (format!("%{spec}d"), Some(format!("(int){text}"))),
        }
    }
}
