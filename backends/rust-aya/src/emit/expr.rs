//! Expressions: literals, operators with C's integer semantics, casts,
//! calls, built-ins and `print`.

use std::collections::HashSet;
use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    pub(super) fn value(&mut self, v: &Value, t: TypeId) -> String {
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
            Value::Null => "Ptr::Null".into(),
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

    pub(super) fn int_lit(&self, v: i128, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Bool => (v != 0).to_string(),
            TypeKind::Int(i) => {
                let v = if !i.signed() && v < 0 {
                    v + (1i128 << i.bits())
                } else {
                    v
                };
                if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
                    v.to_string()
                } else {
                    format!("{v}{}", i.name())
                }
            }
            TypeKind::Enum(ed) => {
                // A `u64` enum's values above 2^63 arrive as their bit pattern.
                let v = if !ed.repr.signed() && v < 0 {
                    v + (1i128 << ed.repr.bits())
                } else {
                    v
                };
                if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
                    v.to_string()
                } else {
                    format!("{v}{}", ed.repr.name())
                }
            }
            _ => v.to_string(),
        }
    }

    pub(super) fn is_throwing_call(&self, e: &Expr) -> Option<FnId> {
        match &e.kind {
            ExprKind::Call {
                callee: Callee::Function(f),
                ..
            } if self.can_throw(*f) => Some(*f),
            _ => None,
        }
    }

    pub(super) fn expr(&mut self, e: &Expr, cx: &mut FnCx) -> String {
        match &e.kind {
            ExprKind::Value(v) => self.value(v, e.ty),
            ExprKind::Local(l) => cx.names[l.index()].clone(),
            ExprKind::Global(g) => {
                let gl = &self.m.globals[g.index()];
                if gl.visibility == GlobalVisibility::Local {
                    self.err(e.span, "a `local var` global in userspace");
                }
                if gl.userspace_only {
                    return format!("{}.get()", self.user_global(*g));
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
                        (a.clone(), true)
                    } else {
                        (b.clone(), matches!(lhs.kind, ExprKind::Value(Value::Null)))
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
                    // Arithmetic on addresses (`&x`), in elements as C's.
                    let rk = self.kind(rhs.ty);
                    match (op, matches!(lt, TypeKind::Pointer(_)), rk) {
                        (BinOp::Add, true, TypeKind::Int(_)) => {
                            return format!("{}.offset({})", operand(&a), cast_to(&b, "i64"));
                        }
                        (BinOp::Sub, true, TypeKind::Int(_)) => {
                            return format!("{}.offset(-({} as i64))", operand(&a), operand(&b));
                        }
                        (BinOp::Sub, true, TypeKind::Pointer(_)) => {
                            return format!("{}.diff({b}) as {}", operand(&a), self.ty(e.ty));
                        }
                        _ => {}
                    }
                    self.err(e.span, "comparing two pointers (other than with `null`), or this pointer arithmetic, in userspace");
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
                let b = self.expr(base, cx);
                let i = self.expr(index, cx);
                format!("{}.at({} as i64)", operand(&b), operand(&i))
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
            ExprKind::AddrOf(x) if addressable(x) => {
                let v = self.expr(x, cx);
                format!("Ptr::Addr(std::ptr::addr_of_mut!({v}))")
            }
            ExprKind::AddrOf(_) => {
                self.err(
                    e.span,
                    "taking the address (`&`) of anything but a local variable, its fields or elements, in userspace",
                );
                "Ptr::Null".into()
            }
            ExprKind::MapLookup { map, key } => {
                let mp = &self.m.maps[map.index()];
                let k = self.expr(key, cx);
                format!(
                    "Ptr::from(rt::lookup::<{}, {}>(&{}, &{}))",
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
                match self.kind(e.ty) {
                    // Fewer elements than the array has (`packet: [8, 0]`
                    // of a test context): the rest are zero, as in C.
                    TypeKind::Array(_, n) if (*n as usize) > xs.len() => {
                        let t = self.ty(e.ty);
                        format!(
                            "{{ let mut a = <{t} as Plain>::zero(); a[..{}].copy_from_slice(&[{}]); a }}",
                            xs.len(),
                            xs.join(", ")
                        )
                    }
                    _ => format!("[{}]", xs.join(", ")),
                }
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
                        // Typed as the scrutinee (a `u64` enum's values above
                        // 2^63 are negative `i64`s in the IR).
                        let lit = self.int_lit(v as i128, scrutinee.ty);
                        let _ = write!(out, "{lit} => {a}, ");
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
                    "Ptr::from(rt::ring_read::<{}>(\"{}\", {ms}))",
                    self.ty(mp.value),
                    esc(&mp.name)
                )
            }
            ExprKind::RingbufOnEvent { map, handler } => {
                let mp = &self.m.maps[map.index()];
                format!(
                    "rt::on_event::<{}>(\"{}\", {})",
                    self.ty(mp.value),
                    esc(&mp.name),
                    self.fn_name(*handler)
                )
            }
            ExprKind::RingbufDispatch { maps } => {
                let names: Vec<String> = maps
                    .iter()
                    .map(|m| format!("\"{}\"", esc(&self.m.maps[m.index()].name)))
                    .collect();
                format!("rt::dispatch(&[{}])", names.join(", "))
            }
            ExprKind::ObjNew { .. } => {
                let pointee = match self.kind(e.ty) {
                    TypeKind::Pointer(p) => *p,
                    _ => e.ty,
                };
                format!("Ptr::alloc({})", self.zero(pointee))
            }
            ExprKind::ObjDelete(p) => {
                let p = self.expr(p, cx);
                format!("{}.free()", operand(&p))
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
    pub(super) fn text_of(&mut self, x: &Expr, cx: &mut FnCx) -> String {
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

    pub(super) fn cast(&mut self, x: &Expr, to: TypeId, cx: &mut FnCx) -> String {
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
            (TypeKind::Null, TypeKind::Pointer(_)) => "Ptr::Null".into(),
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

    pub(super) fn call(
        &mut self,
        e: &Expr,
        callee: &Callee,
        args: &[Expr],
        cx: &mut FnCx,
    ) -> String {
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
            Callee::Python { module, function } => self.python_call(e, *module, function, args, cx),
        }
    }

    pub(super) fn builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr], cx: &mut FnCx) -> String {
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
            // handle, flags, then the options in ksc_ir::PERF_OPTIONS order.
            Builtin::AttachPerf => {
                let mut a = vec![arg(0), cast_to(&arg(1), "u32")];
                for (i, (_, it, _)) in PERF_OPTIONS.iter().enumerate() {
                    a.push(match it {
                        Some(it) => cast_to(&arg(i + 2), it.name()),
                        None => arg(i + 2),
                    });
                }
                format!("rt::perf_attach({})", a.join(", "))
            }
            Builtin::ReadPerf => format!("rt::perf_read({})", arg(0)),
            Builtin::DetachPerf => format!("rt::perf_detach({})", arg(0)),
            Builtin::Sleep => format!("rt::sleep({})", cast_to(&arg(0), "u32")),
            Builtin::Daemon => "rt::daemon()".into(),
            Builtin::Htons | Builtin::Htonl => format!("{}.to_be()", operand(&arg(0))),
            Builtin::Ntohs => format!("u16::from_be({})", arg(0)),
            Builtin::Ntohl => format!("u32::from_be({})", arg(0)),
            // exec("x.py") (docs/language.md, "`exec` into Python"): the
            // script's file name next to the executable.
            Builtin::Exec => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Value(Value::Str(file))) => format!("rt::exec({file:?})"),
                _ => "rt::exec(\"\")".into(),
            },
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
                // The packet: the context's `packet` bytes, then zeros (as
                // the C loader's).
                let packet = match self.kind(args[1].ty) {
                    TypeKind::Struct(sd) if sd.fields.iter().any(|f| f.name == "packet") => {
                        "&ctx.packet[..]"
                    }
                    _ => "&[]",
                };
                format!(
                    "{{\n let ctx = {};\n rt::test({}, {}, {}, {packet}) as {}\n }}",
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
    pub(super) fn print(
        &mut self,
        segments: &[FormatSegment],
        values: &[Expr],
        cx: &mut FnCx,
    ) -> String {
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
}

/// A place `&` can take in userspace: a local, its fields, its elements.
fn addressable(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Local(_) => true,
        ExprKind::Field {
            base,
            through_pointer: false,
            ..
        } => addressable(base),
        ExprKind::Index { base, .. } => addressable(base),
        _ => false,
    }
}
