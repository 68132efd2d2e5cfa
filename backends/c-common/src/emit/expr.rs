//! Expressions, calls and `print`.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    // ------------------------------------------------------------ expressions

    /// An expression assigned to: its fields are places, not reads.
    pub(super) fn place(&mut self, e: &Expr, st: &mut FnState) -> String {
        self.as_place = true;
        self.expr(e, st)
    }

    pub(super) fn expr(&mut self, e: &Expr, st: &mut FnState) -> String {
        // Whether this expression (not its operands) is a place.
        let place = std::mem::take(&mut self.as_place);
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
                            .find(|x| x.value == *n)
                            .map_or_else(|| n.to_string(), |x| x.name.clone()),
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
            ExprKind::ConfigField { config, field } => {
                let fl = self.fl;
                fl.config_field(self, *config, *field)
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
            ExprKind::Print { segments, values } => {
                let texts: Vec<String> = values.iter().map(|x| self.expr(x, st)).collect();
                self.print(segments, values, &texts)
            }
            ExprKind::Field {
                base,
                field,
                through_pointer,
            } => {
                let sty = if *through_pointer {
                    match self.kind(base.ty) {
                        TypeKind::Pointer(p) => *p,
                        _ => base.ty,
                    }
                } else {
                    base.ty
                };
                // Not the perf_event context (UAPI `bpf_perf_event_data`,
                // laid out by the checker): the verifier rewrites loads from
                // a context, and a probe read of it would read other memory.
                let kernel = self.fl.core_reads()
                    && matches!(self.kind(sty), TypeKind::Struct(s)
                        if s.origin == StructOrigin::Kernel && s.name != "bpf_perf_event_data");
                // A pointer base is a value; a struct base is part of the
                // place (or of the kernel path read at once below).
                self.as_place = !*through_pointer && (place || kernel);
                let b = self.expr(base, st);
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
                // A kernel struct's scalar field read in eBPF code: through
                // `bpf_core_read` (relocated by name, CO-RE), which tracing
                // programs need for kernel pointers (docs/language.md,
                // "Headers, kernel structs and enums").
                if kernel
                    && !place
                    && matches!(
                        self.kind(f.ty),
                        TypeKind::Int(_)
                            | TypeKind::Enum(_)
                            | TypeKind::Char
                            | TypeKind::Bool
                            | TypeKind::Pointer(_)
                    )
                {
                    self.need_helper(
                        "#define __ksc_kread",
                        "/* A kernel struct's field, read by name (CO-RE). */\n#define __ksc_kread(x) ({ typeof(x) __ksc_r; bpf_core_read(&__ksc_r, sizeof(__ksc_r), &(x)); __ksc_r; })\n",
                    );
                    return format!("__ksc_kread({access})");
                }
                // Context packet pointers are 32-bit fields in the UAPI struct.
                if s.origin == StructOrigin::Uapi && matches!(self.kind(f.ty), TypeKind::Pointer(_))
                {
                    let t = self.type_name(f.ty);
                    return format!("(({t})(long){access})");
                }
                format!("({access})")
            }
            ExprKind::Index { base, index } => {
                // An array element is part of the array's place.
                self.as_place = place && matches!(self.kind(base.ty), TypeKind::Array(..));
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
                self.as_place = true;
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
                    .map(|f| {
                        // An array field takes its elements in braces.
                        let v = match &f.value.kind {
                            ExprKind::ArrayLit(xs) => {
                                let items: Vec<String> =
                                    xs.iter().map(|x| self.expr(x, st)).collect();
                                format!("{{ {} }}", items.join(", "))
                            }
                            _ => self.expr(&f.value, st),
                        };
                        format!(".{} = {v}", names[f.field as usize])
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
                for arm in arms {
                    let b = self.expr(&arm.result, st);
                    let lit = self.int_lit(scrutinee.ty, arm.value as i128);
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
            ExprKind::ObjNew { gfp } => {
                let pointee = match self.kind(e.ty) {
                    TypeKind::Pointer(p) => *p,
                    _ => e.ty,
                };
                let t = self.type_name(pointee);
                let fl = self.fl;
                fl.obj_new(self, &t, gfp)
            }
            ExprKind::ObjDelete(p) => {
                let p = self.expr(p, st);
                let fl = self.fl;
                fl.obj_delete(self, &p)
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
            ExprKind::RingbufOnEvent { map, handler } => {
                let fl = self.fl;
                fl.ring_on_event(self, e, *map, *handler)
            }
            ExprKind::RingbufDispatch { maps } => {
                let fl = self.fl;
                fl.ring_dispatch(self, e, maps)
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
                // A struct_ops member calling a sibling: the sibling's body,
                // the static inline function BPF_PROG wraps (a program's
                // entry cannot be called from another program).
                if matches!(fun.kind, FnKind::Program(ProgramType::StructOps { .. })) {
                    a.insert(0, "ctx".into());
                    return format!("____{}({})", fn_ident(fun), a.join(", "));
                }
                format!("{}({})", fn_ident(fun), a.join(", "))
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

    /// `print`: the segments the midend made, as one printf-style call
    /// (bpf_printk in eBPF, printf in userspace). Each value is cast to
    /// exactly the C type its conversion reads, so the format is right
    /// whatever C type the expression has (`r - p` is a `long`).
    pub(super) fn print(
        &mut self,
        segments: &[FormatSegment],
        values: &[Expr],
        texts: &[String],
    ) -> String {
        let (func, newline, has_char) = self.fl.print();
        let mut fmt = String::new();
        let mut argv: Vec<String> = Vec::new();
        for seg in segments {
            match seg {
                FormatSegment::Text(t) => fmt.push_str(&t.replace('%', "%%")),
                FormatSegment::Value { value, conv, spec } => {
                    let i = *value as usize;
                    let (Some(v), Some(text)) = (values.get(i), texts.get(i)) else {
                        continue;
                    };
                    let (piece, arg) = self.format_value(v, text, *conv, &spec.printf(), has_char);
                    fmt.push_str(&piece);
                    argv.push(arg);
                }
            }
        }
        if newline {
            fmt.push('\n');
        }
        let mut call = format!("{func}(\"{}\"", esc_c(&fmt));
        for a in argv {
            call.push_str(", ");
            call.push_str(&a);
        }
        call.push(')');
        call
    }

    /// The printf conversion of one value and the argument to pass.
    fn format_value(
        &self,
        v: &Expr,
        text: &str,
        conv: FormatConv,
        spec: &str,
        has_char: bool,
    ) -> (String, String) {
        let wide = matches!(self.kind(v.ty), TypeKind::Int(i) if i.bits() == 64);
        // `%+d` of a narrow unsigned value is printed as a long long.
        let widened = conv == FormatConv::Signed
            && matches!(self.kind(v.ty), TypeKind::Int(i) if !i.signed() && i.bits() < 64);
        let wide = wide || widened;
        // Signs are for signed conversions (printf warns otherwise).
        let unsigned_spec;
        let spec = if matches!(conv, FormatConv::Signed) {
            spec
        } else {
            unsigned_spec = spec.replace(['+', ' '], "");
            unsigned_spec.as_str()
        };
        // Integers already have the C type the conversion reads (`__u64` is
        // `unsigned long long`), except bool and enums (promoted to int)
        // and a difference of pointers, which C types `long`.
        let cast = match (&v.kind, self.kind(v.ty)) {
            (ExprKind::Binary { lhs, .. }, _)
                if matches!(self.kind(lhs.ty), TypeKind::Pointer(_)) =>
            {
                true
            }
            (_, TypeKind::Int(_)) => widened,
            _ => true,
        };
        let integer = |c: char, signed: bool| {
            let (len, ty) = match (wide, signed) {
                (true, true) => ("ll", "long long"),
                (true, false) => ("ll", "unsigned long long"),
                (false, true) => ("", "int"),
                (false, false) => ("", "unsigned int"),
            };
            let arg = if cast {
                format!("({ty})({text})")
            } else {
                text.to_string()
            };
            (format!("%{spec}{len}{c}"), arg)
        };
        match conv {
            FormatConv::Signed => integer('d', true),
            FormatConv::Unsigned => integer('u', false),
            FormatConv::Hex { upper } => integer(if upper { 'X' } else { 'x' }, false),
            FormatConv::Octal => integer('o', false),
            // bpf_printk before 5.13 has no `%c`: eBPF prints the code.
            FormatConv::Char if has_char => (format!("%{spec}c"), format!("(int)({text})")),
            FormatConv::Char => (format!("%{spec}d"), format!("(int)({text})")),
            FormatConv::Str => match self.kind(v.ty) {
                TypeKind::Str(_) => (format!("%{spec}s"), format!("{text}.s")),
                _ => (format!("%{spec}s"), text.to_string()),
            },
            FormatConv::Pointer => (format!("%{spec}p"), text.to_string()),
        }
    }
}
