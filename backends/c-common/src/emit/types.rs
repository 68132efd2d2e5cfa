//! Types: C declarations, struct definitions, constants and initializers.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    pub(super) fn int_c(i: IntType) -> &'static str {
        match i {
            IntType::U8 => "__u8",
            IntType::U16 => "__u16",
            IntType::U32 => "__u32",
            IntType::U64 => "__u64",
            IntType::I8 => "__s8",
            IntType::I16 => "__s16",
            IntType::I32 => "__s32",
            IntType::I64 => "__s64",
        }
    }

    /// A C declaration of `name` with type `t` (name may be empty: a type name).
    pub(super) fn decl(&mut self, t: TypeId, name: &str) -> String {
        let fl = self.fl;
        if let Some(d) = fl.decl(self, t, name) {
            return d;
        }
        let sp = |n: &str| {
            if n.is_empty() {
                String::new()
            } else {
                format!(" {n}")
            }
        };
        match self.kind(t) {
            TypeKind::Void => format!("void{}", sp(name)),
            TypeKind::Bool => format!("_Bool{}", sp(name)),
            TypeKind::Char => format!("char{}", sp(name)),
            TypeKind::Int(i) => format!("{}{}", Self::int_c(*i), sp(name)),
            TypeKind::Str(n) => format!("ks_str{n}{}", sp(name)),
            TypeKind::Pointer(p) => match self.kind(*p) {
                TypeKind::Array(..) => self.decl(*p, &format!("(*{name})")),
                TypeKind::Slice(e) => self.decl(*e, &format!("*{name}")),
                _ => self.decl(*p, &format!("*{name}")),
            },
            TypeKind::Array(e, n) => self.decl(*e, &format!("{name}[{n}]")),
            TypeKind::Slice(e) => self.decl(*e, &format!("{name}[]")),
            TypeKind::Struct(s) => format!("struct {}{}", ident(&s.name), sp(name)),
            TypeKind::Enum(e) if e.kernel => format!("enum {}{}", e.name, sp(name)),
            TypeKind::Enum(e) => format!("{}{}", Self::int_c(e.repr), sp(name)),
            TypeKind::Null => format!("void *{name}"),
            // The flavour declares these (above).
            TypeKind::Function(_)
            | TypeKind::ProgramRef
            | TypeKind::ProgramHandle
            | TypeKind::PerfAttachment
            | TypeKind::StructOpsRef => format!("void *{name}"),
        }
    }

    pub(super) fn type_name(&mut self, t: TypeId) -> String {
        self.decl(t, "")
    }

    /// Struct types in an order where each is defined after the structs it
    /// contains by value.
    pub(super) fn struct_order(&self) -> Vec<TypeId> {
        fn visit(g: &Gen, t: TypeId, seen: &mut HashSet<TypeId>, out: &mut Vec<TypeId>) {
            if !seen.insert(t) {
                return;
            }
            match g.kind(t) {
                TypeKind::Struct(s) => {
                    for f in &s.fields {
                        visit(g, f.ty, seen, out);
                    }
                    out.push(t);
                }
                TypeKind::Array(e, _) => visit(g, *e, seen, out),
                _ => {}
            }
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for i in 0..self.m.types.len() {
            visit(self, TypeId(i as u32), &mut seen, &mut out);
        }
        out
    }

    pub(super) fn types(&mut self) {
        // Fixed-size strings: a struct, so they assign and pass by value.
        let mut strs: Vec<u32> = self
            .m
            .types
            .iter()
            .filter_map(|t| {
                if let TypeKind::Str(n) = t.kind {
                    Some(n)
                } else {
                    None
                }
            })
            .collect();
        strs.sort();
        strs.dedup();
        for n in strs {
            let _ = writeln!(self.out, "typedef struct {{ char s[{n}]; }} ks_str{n};");
        }
        // User enums: their constants.
        for (i, t) in self.m.types.iter().enumerate() {
            if let TypeKind::Enum(e) = &t.kind {
                if !e.kernel {
                    // 64-bit values with their C suffix (`ULL` above 2^63).
                    let vs: Vec<String> = e
                        .variants
                        .iter()
                        .map(|v| {
                            let n = self.int_lit(TypeId(i as u32), e.value_of(v.value));
                            format!("{} = {n}", ident(&v.name))
                        })
                        .collect();
                    let _ = writeln!(self.out, "enum {} {{ {} }};", ident(&e.name), vs.join(", "));
                }
            }
        }
        let order = self.struct_order();
        for t in order {
            let TypeKind::Struct(s) = self.kind(t) else {
                continue;
            };
            // The UAPI header declares the context structs.
            if s.origin == StructOrigin::Uapi || self.fl.skips_struct(self, s) {
                continue;
            }
            if s.origin == StructOrigin::ProbeRegs && !self.has_probes() {
                continue;
            }
            if s.origin == StructOrigin::ProbeRegs {
                // x86-64 layout; CO-RE relocates the fields bpf_tracing.h reads.
                self.out.push_str(
                    "struct pt_regs {\n    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;\n} __attribute__((preserve_access_index));\n",
                );
                continue;
            }
            let fields: Vec<(String, TypeId, u32)> = s
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.ty, f.offset))
                .collect();
            let (kernel, size) = (s.origin.is_kernel(), self.m.types[t.index()].size);
            let mut body = String::new();
            let mut at = 0u32;
            for (i, (name, ty, offset)) in fields.into_iter().enumerate() {
                // Kernel structs keep the kernel's offsets: the fields ksc
                // does not model (bitfields, anonymous members) become padding.
                if kernel && offset > at {
                    let _ = writeln!(body, "    char __pad{i}[{}];", offset - at);
                }
                let d = self.decl(ty, &ident(&name));
                let _ = writeln!(body, "    {d};");
                at = offset + self.m.types[ty.index()].size;
            }
            if kernel && size > at {
                let _ = writeln!(body, "    char __pad_end[{}];", size - at);
            }
            // Tracepoint contexts are read with plain loads at fixed offsets
            // (the verifier refuses computed context pointers, which CO-RE
            // array accesses produce); other kernel structs relocate (CO-RE).
            let attr = if kernel && s.origin != StructOrigin::TracepointContext {
                " __attribute__((preserve_access_index))"
            } else {
                ""
            };
            let _ = writeln!(self.out, "struct {} {{\n{body}}}{attr};", ident(&s.name));
        }
    }

    // ------------------------------------------------------------ values

    pub(super) fn int_lit(&self, t: TypeId, v: i128) -> String {
        let it = match self.kind(t) {
            TypeKind::Int(i) => *i,
            TypeKind::Enum(e) => e.repr,
            _ => IntType::I64,
        };
        // An unsigned value may arrive as its bit pattern (a `u64` enum's
        // variant above 2^63, a match arm's `i64`).
        let v = if !it.signed() && v < 0 {
            v + (1i128 << it.bits())
        } else {
            v
        };
        if (0..=i32::MAX as i128).contains(&v) {
            return v.to_string();
        }
        if it.signed() {
            if v == i64::MIN as i128 {
                return "(-9223372036854775807LL - 1)".into();
            }
            if v >= i32::MIN as i128 && it.bits() <= 32 {
                return format!("({v})");
            }
            format!("({v}LL)")
        } else if it.bits() <= 32 {
            // `unsigned int`, as the value's type is (a `%u`/`%x` of it
            // must not see an `unsigned long long`).
            format!("{v}U")
        } else {
            format!("{v}ULL")
        }
    }

    /// An integer literal with the width of its type even when small:
    /// operands of arithmetic, where C would compute a small literal in
    /// `int` (`1 << 40` is 0 there; in KernelScript it is a `u64`).
    pub(super) fn wide_lit(&self, e: &Expr) -> Option<String> {
        let ExprKind::Value(v) = &e.kind else {
            return None;
        };
        let n = match v {
            Value::Int(n) => *n as i128,
            Value::UInt(n) => *n as i128,
            _ => return None,
        };
        match self.kind(e.ty) {
            TypeKind::Int(i) if i.bits() == 64 && (0..=i32::MAX as i128).contains(&n) => {
                Some(format!("{n}{}", if i.signed() { "LL" } else { "ULL" }))
            }
            _ => None,
        }
    }

    /// A constant as a C initializer for type `t`.
    pub(super) fn init(&mut self, t: TypeId, v: &Value) -> String {
        match (v, self.kind(t)) {
            (Value::Int(n), _) => self.int_lit(t, *n as i128),
            (Value::UInt(n), _) => self.int_lit(t, *n as i128),
            (Value::Bool(b), _) => (*b as u8).to_string(),
            (Value::Char(c), _) => c.to_string(),
            (Value::Null, _) => "0".into(),
            (Value::Str(s), TypeKind::Str(_)) => format!("{{ \"{}\" }}", esc_c(s)),
            (Value::Str(s), _) => format!("\"{}\"", esc_c(s)),
            (Value::Array(vs), TypeKind::Array(e, _)) => {
                let e = *e;
                let items: Vec<String> = vs.iter().map(|v| self.init(e, v)).collect();
                format!("{{ {} }}", items.join(", "))
            }
            (Value::Repeat(v, n), TypeKind::Array(e, _)) => {
                let e = *e;
                let item = self.init(e, v);
                if item == "0" || item == "{ 0 }" {
                    "{ 0 }".into()
                } else {
                    format!("{{ {} }}", vec![item; *n as usize].join(", "))
                }
            }
            (Value::Struct(vs), TypeKind::Struct(s)) => {
                let fields = s.fields.clone();
                let items: Vec<String> = fields
                    .iter()
                    .zip(vs)
                    .map(|(f, v)| format!(".{} = {}", ident(&f.name), self.init(f.ty, v)))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }
            (Value::Zero, _) | (_, _) => "{ 0 }".into(),
        }
    }

    pub(super) fn zero(&mut self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Int(_) | TypeKind::Enum(_) | TypeKind::Bool | TypeKind::Char => "0".into(),
            TypeKind::Pointer(_) | TypeKind::Null => "0".into(),
            _ => {
                let tn = self.type_name(t);
                format!("(({tn}){{ 0 }})")
            }
        }
    }

    /// `struct config_<name> { ... };`, the type of a config block (both
    /// sides: the skeleton names it).
    pub(super) fn config_struct(&mut self, c: &Config) -> String {
        let mut body = String::new();
        for f in &c.fields {
            let d = self.decl(f.ty, &ident(&f.name));
            let _ = writeln!(body, "    {d};");
        }
        format!("struct config_{} {{\n{body}}};\n", ident(&c.name))
    }
}
