//! IR to C. One pass over the eBPF functions; types and maps first.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use ksc_ir::*;

/// C keywords and names the generated code reserves; a KernelScript name
/// equal to one of them gets a trailing `_`.
const RESERVED: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Bool",
    "bool",
    "true",
    "false",
    "asm",
    "typeof",
    "ctx_",
    "SEC",
    "LICENSE",
    "NULL",
    // Library functions clang knows as builtins.
    "abs",
    "labs",
    "log",
    "log2",
    "log10",
    "exp",
    "exp2",
    "pow",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "floor",
    "ceil",
    "round",
    "fabs",
    "fmin",
    "fmax",
    "memcpy",
    "memset",
    "memmove",
    "memcmp",
    "strlen",
    "strcmp",
    "strncmp",
    "strcpy",
    "strncpy",
    "strcat",
    "strchr",
    "printf",
    "sprintf",
    "snprintf",
    "puts",
    "malloc",
    "free",
    "calloc",
    "realloc",
    "exit",
    "abort",
    "index",
    "rindex",
    "bzero",
    "bcmp",
    "time",
    "div",
    "signal",
    "main",
    // Names the userspace program's headers declare (libc, POSIX, getopt).
    "errno",
    "stdin",
    "stdout",
    "stderr",
    "optarg",
    "optind",
    "opterr",
    "optopt",
    "environ",
    "sleep",
    "usleep",
    "getopt",
    "getopt_long",
    "open",
    "close",
    "read",
    "write",
    "socket",
    "bind",
    "connect",
    "select",
    "poll",
    "random",
    "rand",
    "srand",
    "atoi",
    "atol",
    "strtol",
    "strtoul",
    "strtoll",
    "strtoull",
    "fork",
    "kill",
    "raise",
    "pause",
    "alarm",
    "access",
    "unlink",
    "mkdir",
    "stat",
    "fopen",
    "fclose",
    "fprintf",
    "fflush",
    "perror",
    "assert",
    "EOF",
    "htons",
    "ntohs",
    "htonl",
    "ntohl",
    "if_nametoindex",
    "if_indextoname",
    "atexit",
    "qsort",
    "bsearch",
];

fn ident(name: &str) -> String {
    if RESERVED.contains(&name) || name.starts_with("__ksc") {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

/// Kernel structs the UAPI headers already define.
const UAPI_STRUCTS: &[&str] = &["xdp_md", "__sk_buff"];

/// Something the C emitter cannot express, located in the source when it
/// comes from an expression or statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitError {
    pub message: String,
    /// Where in the source.
    pub span: Option<Span>,
    /// 1-based line and column of the span's start (from the module's
    /// [`SourceMap`](ksc_ir::SourceMap)), for messages shown without the
    /// source.
    pub line_col: Option<(u32, u32)>,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line_col {
            Some((l, c)) => write!(f, "{l}:{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<String> for EmitError {
    fn from(message: String) -> EmitError {
        EmitError {
            message,
            span: None,
            line_col: None,
        }
    }
}

impl From<&str> for EmitError {
    fn from(message: &str) -> EmitError {
        message.to_string().into()
    }
}

pub fn generate_c(m: &Module) -> Result<String, Vec<EmitError>> {
    run(m, false)
}

/// The userspace program (`main` and the functions it calls) as C over the
/// libbpf skeleton `<name>.skel.h`.
pub fn generate_user_c(m: &Module) -> Result<String, Vec<EmitError>> {
    run(m, true)
}

fn run(m: &Module, user: bool) -> Result<String, Vec<EmitError>> {
    let mut g = Gen {
        user,
        m,
        out: String::new(),
        errors: Vec::new(),
        tmp: 0,
        throwing: HashSet::new(),
        current: std::cell::Cell::new(FnId(0)),
    };
    g.module();
    if g.errors.is_empty() {
        Ok(g.out)
    } else {
        Err(g.errors)
    }
}

struct Gen<'m> {
    /// Emitting the userspace program rather than the eBPF side.
    user: bool,
    m: &'m Module,
    out: String,
    errors: Vec<EmitError>,
    tmp: u32,
    /// eBPF functions whose throws may escape (they take an error out-parameter).
    throwing: HashSet<FnId>,
    /// The function being emitted.
    current: std::cell::Cell<FnId>,
}

/// Per-function state while emitting a body.
struct FnState {
    /// Locals read anywhere in the function.
    used: HashSet<LocalId>,
    names: Vec<String>,
    /// Defers of this function: (flag variable, body), in declaration order.
    defers: Vec<(String, Block)>,
    /// Innermost try's catch label, if inside one.
    catch_labels: Vec<String>,
    uses_err: bool,
    ret: TypeId,
    is_program: bool,
    throws_out: bool,
}

fn esc_c(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'"' => o.push_str("\\\""),
            b'\\' => o.push_str("\\\\"),
            b'\n' => o.push_str("\\n"),
            b'\t' => o.push_str("\\t"),
            b'\r' => o.push_str("\\r"),
            0x20..=0x7e => o.push(b as char),
            _ => {
                let _ = write!(o, "\\{b:03o}");
            }
        }
    }
    o
}

impl<'m> Gen<'m> {
    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.errors.push(EmitError {
            message: msg.into(),
            span: Some(span),
            line_col: Some(self.m.files.line_col(span)),
        });
    }

    fn kind(&self, t: TypeId) -> &'m TypeKind {
        &self.m.types[t.index()].kind
    }

    fn has_probes(&self) -> bool {
        self.m
            .functions
            .iter()
            .any(|f| matches!(f.kind, FnKind::Program(ProgramType::Probe { .. })))
    }

    /// The functions this side emits: eBPF code, or userspace code.
    fn ebpf_functions(&self) -> impl Iterator<Item = (FnId, &'m Function)> {
        let user = self.user;
        self.m
            .functions
            .iter()
            .enumerate()
            .filter(move |(_, f)| {
                if user {
                    f.domain == Domain::Userspace
                        && matches!(f.kind, FnKind::Userspace | FnKind::Test)
                } else {
                    f.domain == Domain::Ebpf
                }
            })
            .map(|(i, f)| (FnId(i as u32), f))
    }

    // ------------------------------------------------------------ types

    fn int_c(i: IntType) -> &'static str {
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
    fn decl(&mut self, t: TypeId, name: &str) -> String {
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
            TypeKind::ProgramRef | TypeKind::ProgramHandle | TypeKind::StructOpsRef
                if self.user =>
            {
                format!("int{}", sp(name))
            }
            TypeKind::Function(sig) if self.user => {
                let sig = sig.clone();
                let params: Vec<String> = sig.params.iter().map(|p| self.type_name(*p)).collect();
                let params = if params.is_empty() {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                self.decl(sig.ret, &format!("(*{name})({params})"))
            }
            // eBPF has no indirect calls: a function pointer is the number
            // of the function (0 is null) and calls dispatch on it.
            TypeKind::Function(_) => format!("__u32{}", sp(name)),
            TypeKind::ProgramRef | TypeKind::ProgramHandle | TypeKind::StructOpsRef => {
                let msg = format!(
                    "values of type {:?} cannot exist in eBPF code",
                    self.kind(t)
                );
                self.errors.push(msg.into());
                format!("void *{name}")
            }
        }
    }

    fn type_name(&mut self, t: TypeId) -> String {
        self.decl(t, "")
    }

    /// Struct types in an order where each is defined after the structs it
    /// contains by value.
    fn struct_order(&self) -> Vec<TypeId> {
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

    fn types(&mut self) {
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
        for t in &self.m.types {
            if let TypeKind::Enum(e) = &t.kind {
                if !e.kernel {
                    let vs: Vec<String> = e
                        .variants
                        .iter()
                        .map(|(n, v)| format!("{} = {v}", ident(n)))
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
            if UAPI_STRUCTS.contains(&s.name.as_str())
                || (self.user && s.kernel)
                || s.name == "{error}"
                || (s.name == "XdpTestContext" && !self.user)
                // The spec declares the ops struct it implements; the
                // kernel's layout (from BTF) is the one emitted.
                || (!self.user && self.m.struct_ops.iter().any(|o| o.ops_type == s.name))
            {
                continue;
            }
            if s.name == "pt_regs" && !self.has_probes() {
                continue;
            }
            if s.name == "pt_regs" {
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
            let (kernel, size) = (s.kernel, self.m.types[t.index()].size);
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
            let attr = if kernel && !s.name.starts_with("trace_") {
                " __attribute__((preserve_access_index))"
            } else {
                ""
            };
            let _ = writeln!(self.out, "struct {} {{\n{body}}}{attr};", ident(&s.name));
        }
    }

    // ------------------------------------------------------------ values

    fn int_lit(&self, t: TypeId, v: i128) -> String {
        let it = match self.kind(t) {
            TypeKind::Int(i) => *i,
            TypeKind::Enum(e) => e.repr,
            _ => IntType::I64,
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
        } else {
            format!("{v}ULL")
        }
    }

    /// A constant as a C initializer for type `t`.
    fn init(&mut self, t: TypeId, v: &Value) -> String {
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

    fn zero(&mut self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Int(_) | TypeKind::Enum(_) | TypeKind::Bool | TypeKind::Char => "0".into(),
            TypeKind::Pointer(_) | TypeKind::Null => "0".into(),
            _ => {
                let tn = self.type_name(t);
                format!("(({tn}){{ 0 }})")
            }
        }
    }

    // ------------------------------------------------------------ module

    fn module(&mut self) {
        if self.user {
            return self.user_module();
        }
        let m = self.m;
        let _ = writeln!(
            self.out,
            "// Generated by ksc from {} — do not edit.\n// The kernel side of `{}`: build with clang -target bpf (see the Makefile).\n",
            m.source_path, m.name
        );
        self.out.push_str(
            "// Kernel pt_regs names for bpf_tracing.h (the struct comes from BTF below).\n#define __VMLINUX_H__\n#include <linux/types.h>\n#include <linux/bpf.h>\n#include <linux/pkt_cls.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_endian.h>\n#include <bpf/bpf_tracing.h>\n#include <bpf/bpf_core_read.h>\n\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n\n",
        );
        self.types();
        self.out.push('\n');
        self.compute_throwing();
        self.maps();
        self.globals();
        // Kernel functions (kfuncs) the programs call, resolved by libbpf
        // against the kernel's BTF at load time.
        for f in &m.functions {
            if f.kind == FnKind::Extern && !is_bpf_helper(&f.name) {
                let params: Vec<String> = f.locals[..f.params as usize]
                    .iter()
                    .map(|l| self.decl(l.ty, &ident(&l.name)))
                    .collect();
                let params = if params.is_empty() {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                let ret = self.type_name(f.ret);
                let _ = writeln!(
                    self.out,
                    "extern {ret} {}({params}) __ksym;",
                    ident(&f.name)
                );
            }
        }
        // Prototypes, so functions may be used before their definition.
        let fns: Vec<(FnId, &Function)> = self.ebpf_functions().collect();
        for (id, f) in &fns {
            if !matches!(f.kind, FnKind::Program(_)) {
                let sig = self.signature(*id, f);
                let _ = writeln!(self.out, "{sig};");
            }
        }
        if !m.analysis.tail_call_slots.is_empty() {
            // Programs are declared first: the array's initializer names them.
            for &t in &m.analysis.tail_call_slots {
                let f = &m.functions[t.index()];
                let params: Vec<String> = f.locals[..f.params as usize]
                    .iter()
                    .map(|l| self.decl(l.ty, &ident(&l.name)))
                    .collect();
                let _ = writeln!(self.out, "int {}({});", ident(&f.name), params.join(", "));
            }
            self.tail_call_array();
        }
        self.out.push('\n');
        for (id, f) in &fns {
            self.function(*id, f);
        }
        self.struct_ops_tables();
    }

    fn compute_throwing(&mut self) {
        // Which functions may throw out comes with the IR (the midend's
        // throw analysis). Programs must catch everything; userspace `main`
        // (and a `@test`) ends on an uncaught throw instead of passing it on.
        let a = &self.m.analysis;
        self.throwing = self
            .ebpf_functions()
            .filter(|(id, f)| {
                let catches_all = matches!(f.kind, FnKind::Program(_) | FnKind::Test)
                    || (self.user && self.m.main == Some(*id));
                !catches_all && a.can_throw(*id)
            })
            .map(|(id, _)| id)
            .collect();
    }

    fn stmt_calls_throwing(&self, s: &Stmt) -> bool {
        let mut found = false;
        s.for_each_expr(|e| {
            e.walk(&mut |x| {
                if let ExprKind::Call {
                    callee: Callee::Function(f),
                    ..
                } = &x.kind
                {
                    found |= self.throwing.contains(f);
                }
            })
        });
        found
    }

    fn maps(&mut self) {
        let m = self.m;
        for map in &m.maps {
            let ty = match map.kind {
                MapKind::Hash => "BPF_MAP_TYPE_HASH",
                MapKind::Array => "BPF_MAP_TYPE_ARRAY",
                MapKind::PercpuHash => "BPF_MAP_TYPE_PERCPU_HASH",
                MapKind::PercpuArray => "BPF_MAP_TYPE_PERCPU_ARRAY",
                MapKind::LruHash => "BPF_MAP_TYPE_LRU_HASH",
                MapKind::Ringbuf => "BPF_MAP_TYPE_RINGBUF",
                MapKind::ProgArray => "BPF_MAP_TYPE_PROG_ARRAY",
            };
            let mut s = format!(
                "struct {{\n    __uint(type, {ty});\n    __uint(max_entries, {});\n",
                map.max_entries
            );
            if map.kind != MapKind::Ringbuf {
                let k = self.type_name(map.key);
                let v = self.type_name(map.value);
                let _ = writeln!(s, "    __type(key, {k});\n    __type(value, {v});");
            }
            if !map.flags.is_empty() {
                let _ = writeln!(s, "    __uint(map_flags, {});", map.flags.join(" | "));
            }
            if map.pinned {
                s.push_str("    __uint(pinning, LIBBPF_PIN_BY_NAME);\n");
            }
            let _ = writeln!(s, "}} {} SEC(\".maps\");\n", ident(&map.name));
            self.out.push_str(&s);
        }
    }

    fn globals(&mut self) {
        let m = self.m;
        for g in &m.globals {
            let d = self.decl(g.ty, &ident(&g.name));
            let init = match &g.init {
                Some(v) => format!(" = {}", self.init(g.ty, v)),
                None => String::new(),
            };
            let line = match g.visibility {
                // Hidden from the skeleton: libbpf skips static variables.
                GlobalVisibility::Local => format!("static {d}{init};\n"),
                // One section, one single-entry map: the loader pins it.
                GlobalVisibility::Pinned => format!("{d} SEC(\".data.pinned_globals\"){init};\n"),
                // In `.data` even when zero, so userspace finds every shared
                // global at `skel->data`.
                GlobalVisibility::Shared => format!("{d} SEC(\".data\"){init};\n"),
            };
            self.out.push_str(&line);
        }
        // Configs: writable globals (userspace sets them between load and attach).
        for c in &m.configs {
            let def = self.config_struct(c);
            let inits: Vec<String> = c
                .fields
                .iter()
                .filter_map(|f| {
                    f.default
                        .as_ref()
                        .map(|v| format!(".{} = {}", ident(&f.name), self.init(f.ty, v)))
                })
                .collect();
            let _ = writeln!(
                self.out,
                "{def}struct config_{n} {n} SEC(\".data.config_{n}\") = {{ {} }};",
                inits.join(", "),
                n = ident(&c.name)
            );
        }
        if !m.globals.is_empty() || !m.configs.is_empty() {
            self.out.push('\n');
        }
    }

    /// `@struct_ops` impl blocks: for each kernel ops type the members the
    /// program fills (libbpf matches them to the kernel's struct by name),
    /// then one `.struct_ops` variable per impl, pointing at its programs.
    fn struct_ops_tables(&mut self) {
        let m = self.m;
        let mut types: Vec<&str> = m.struct_ops.iter().map(|o| o.ops_type.as_str()).collect();
        types.sort();
        types.dedup();
        for ty in types {
            let mut fields: Vec<String> = Vec::new();
            for o in m.struct_ops.iter().filter(|o| o.ops_type == ty) {
                for (member, _) in &o.members {
                    let f = format!("    void (*{})(void);", ident(member));
                    if !fields.contains(&f) {
                        fields.push(f);
                    }
                }
                for (name, v, size) in &o.fields {
                    let f = match v {
                        Value::Str(_) => format!("    char {}[{size}];", ident(name)),
                        _ => format!("    __u{} {};", size * 8, ident(name)),
                    };
                    if !fields.contains(&f) {
                        fields.push(f);
                    }
                }
            }
            let _ = writeln!(self.out, "struct {ty} {{\n{}\n}};\n", fields.join("\n"));
        }
        for o in &m.struct_ops {
            let mut inits: Vec<String> = o
                .members
                .iter()
                .map(|(member, f)| {
                    format!(
                        "    .{} = (void *){},",
                        ident(member),
                        ident(&m.functions[f.index()].name)
                    )
                })
                .collect();
            for (name, v, _) in &o.fields {
                let val = match v {
                    Value::Str(t) => format!("\"{}\"", esc_c(t)),
                    Value::Int(n) => n.to_string(),
                    Value::UInt(n) => n.to_string(),
                    Value::Bool(b) => (*b as u8).to_string(),
                    _ => "0".into(),
                };
                inits.push(format!("    .{} = {val},", ident(name)));
            }
            let _ = writeln!(
                self.out,
                "SEC(\".struct_ops\")\nstruct {} {} = {{\n{}\n}};\n",
                o.ops_type,
                ident(&o.name),
                inits.join("\n")
            );
        }
    }

    /// `struct config_<name> { ... };`, the type of a config block (both
    /// sides: the skeleton names it).
    fn config_struct(&mut self, c: &Config) -> String {
        let mut body = String::new();
        for f in &c.fields {
            let d = self.decl(f.ty, &ident(&f.name));
            let _ = writeln!(body, "    {d};");
        }
        format!("struct config_{} {{\n{body}}};\n", ident(&c.name))
    }

    fn tail_call_array(&mut self) {
        let m = self.m;
        let n = m.analysis.tail_call_slots.len();
        let values: Vec<String> = m
            .analysis
            .tail_call_slots
            .iter()
            .enumerate()
            .map(|(i, f)| {
                format!(
                    "        [{i}] = (void *)&{},",
                    ident(&m.functions[f.index()].name)
                )
            })
            .collect();
        let _ = writeln!(
            self.out,
            "// Tail-call targets, filled when the object is loaded.\nstruct {{\n    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);\n    __uint(max_entries, {n});\n    __uint(key_size, sizeof(__u32));\n    __array(values, int(void *));\n}} __ksc_tail_calls SEC(\".maps\") = {{\n    .values = {{\n{}\n    }},\n}};",
            values.join("\n")
        );
    }

    fn section(&self, f: &Function) -> Option<String> {
        let FnKind::Program(p) = &f.kind else {
            return None;
        };
        Some(match p {
            ProgramType::Xdp => "xdp".into(),
            ProgramType::Tc { .. } => "tc".into(),
            ProgramType::Tracepoint { category, event } => format!("tracepoint/{category}/{event}"),
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
        })
    }

    /// `@helper`s called from one place are inlined; helpers called from
    /// several become BPF-to-BPF calls (`benches/helper_calls.sh`: fewer
    /// instructions to translate and to verify once code is shared).
    fn linkage(&self, id: FnId) -> &'static str {
        let mut sites = 0;
        for (_, f) in self.ebpf_functions() {
            count_calls(&f.body, id, &mut sites);
        }
        // A BPF-to-BPF call passes at most 5 scalar arguments in registers
        // and returns a scalar: anything else must be inlined.
        let f = &self.m.functions[id.index()];
        let scalar = |t: TypeId| {
            !matches!(
                self.kind(t),
                TypeKind::Struct(_) | TypeKind::Array(..) | TypeKind::Str(_)
            )
        };
        let args = f.params as usize + usize::from(self.throwing.contains(&id));
        let callable = args <= 5
            && scalar(f.ret)
            && f.locals[..f.params as usize].iter().all(|l| scalar(l.ty));
        if sites > 1 && callable {
            "__noinline"
        } else {
            "__always_inline"
        }
    }

    fn signature(&mut self, id: FnId, f: &Function) -> String {
        let mut params: Vec<String> = f.locals[..f.params as usize]
            .iter()
            .map(|l| self.decl(l.ty, &ident(&l.name)))
            .collect();
        if self.throwing.contains(&id) {
            params.push("__s64 *__ksc_exc".into());
        }
        if params.is_empty() {
            params.push("void".into());
        }
        let ret = self.type_name(f.ret);
        // Unused functions are the user's to keep (a helper not called
        // yet, `@test`s in a normal build): no C warning for them.
        format!(
            "static __attribute__((unused)) {} {ret} {}({})",
            if self.user { "" } else { self.linkage(id) },
            ident(&f.name),
            params.join(", ")
        )
    }

    // ------------------------------------------------------------ functions

    fn function(&mut self, id: FnId, f: &'m Function) {
        self.current.set(id);
        // Unique C names for locals (KernelScript allows shadowing).
        let mut used: HashMap<String, u32> = HashMap::new();
        let names: Vec<String> = f
            .locals
            .iter()
            .map(|l| {
                let base = ident(&l.name);
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
        let mut st = FnState {
            used: used_locals,
            names,
            defers: Vec::new(),
            catch_labels: Vec::new(),
            uses_err: false,
            ret: f.ret,
            is_program,
            throws_out: self.throwing.contains(&id),
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
        let header = match (&f.kind, self.section(f)) {
            (FnKind::Program(ProgramType::Probe { offset: None, .. }), Some(sec)) => {
                let args = macro_args(self);
                format!("SEC(\"{sec}\")\nint BPF_KPROBE({})", args.join(", "))
            }
            (FnKind::Program(ProgramType::StructOps { .. }), Some(sec)) => {
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
        let mut body = String::new();
        // Parameters the body never reads: say so, for -Wextra.
        let used = st.used.clone();
        let probe_entry = matches!(
            f.kind,
            FnKind::Program(ProgramType::Probe { offset: None, .. })
        );
        let ctx_macro =
            probe_entry || matches!(f.kind, FnKind::Program(ProgramType::StructOps { .. }));
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
        // Falling off the end runs the defers.
        let mut post = String::new();
        if !st.defers.is_empty() && falls_through(&f.body) {
            self.run_defers(&mut st, &mut post, 1);
        }
        let _ = writeln!(self.out, "{header}\n{{\n{pre}{body}{post}}}\n");
    }

    fn indent(n: usize) -> String {
        "    ".repeat(n)
    }

    fn block_inner(&mut self, b: &Block, st: &mut FnState, out: &mut String, ind: usize) {
        for s in &b.stmts {
            self.stmt(s, st, out, ind);
        }
    }

    fn block(&mut self, b: &Block, st: &mut FnState, out: &mut String, ind: usize) {
        out.push_str("{\n");
        self.block_inner(b, st, out, ind + 1);
        let _ = write!(out, "{}}}", Self::indent(ind));
    }

    fn run_defers(&mut self, st: &mut FnState, out: &mut String, ind: usize) {
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
    fn check_exc(&mut self, s: &Stmt, st: &mut FnState, out: &mut String, ind: usize) {
        if !self.stmt_calls_throwing(s) {
            return;
        }
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
    fn propagate(&mut self, st: &mut FnState, out: &mut String, ind: usize) {
        let pad = Self::indent(ind);
        out.push_str("{\n");
        self.run_defers(st, out, ind + 1);
        if st.throws_out {
            let _ = writeln!(out, "{pad}    *__ksc_exc = __ksc_err;");
        } else if self.user && !st.is_program {
            // Uncaught in userspace: the process ends (DECISIONS.md).
            let _ = writeln!(out, "{pad}    __ksc_uncaught(__ksc_err);");
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

    fn stmt(&mut self, s: &Stmt, st: &mut FnState, out: &mut String, ind: usize) {
        // Each statement's first C line names its .ks line in a comment:
        // clang's messages and the verifier's log quote source lines, so
        // both lead back to the KernelScript source.
        let start = out.len();
        self.stmt_code(s, st, out, ind);
        let line = self.m.files.line(s.span);
        if line > 0 && !matches!(s.kind, StmtKind::Block(_)) {
            if let Some(nl) = out[start..].find('\n') {
                let path = self.m.files.name(s.span.file);
                let file = std::path::Path::new(path)
                    .file_name()
                    .map_or_else(|| path.to_string(), |f| f.to_string_lossy().into_owned());
                out.insert_str(start + nl, &format!(" // {file}:{line}"));
            }
        }
    }

    fn stmt_code(&mut self, s: &Stmt, st: &mut FnState, out: &mut String, ind: usize) {
        if self.user && self.user_map_stmt(s, st, out, ind) {
            return;
        }
        let pad = Self::indent(ind);
        match &s.kind {
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
                    (Some(e), TypeKind::Struct(_) | TypeKind::Array(..)) => {
                        // Zeroed first, so padding bytes are zero: structs are
                        // map keys, and hashing sees every byte.
                        let d = self.decl(lty, &name);
                        let _ = writeln!(
                            out,
                            "{pad}{d};
{pad}__builtin_memset(&{name}, 0, sizeof({name}));"
                        );
                        self.fill(&name, e, st, out, &pad);
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
            StmtKind::Assign { place, value } => {
                let p = self.expr(place, st);
                let v = self.expr(value, st);
                if matches!(self.kind(place.ty), TypeKind::Array(..)) {
                    let _ = writeln!(out, "{pad}__builtin_memcpy(&{p}, &{v}, sizeof({p}));");
                } else {
                    let _ = writeln!(out, "{pad}{p} = {v};");
                }
            }
            StmtKind::CompoundAssign { place, op, value } => {
                let p = self.expr(place, st);
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
                let (mn, kt, vt) = self.map_parts(*map);
                let n = self.fresh();
                let inner = format!("{pad}    ");
                let _ = writeln!(out, "{pad}{{");
                self.temp(kt, &format!("__ksc_k{n}"), key, st, out, &inner);
                self.temp(vt, &format!("__ksc_v{n}"), value, st, out, &inner);
                let _ = writeln!(
                    out,
                    "{inner}bpf_map_update_elem(&{mn}, &__ksc_k{n}, &__ksc_v{n}, BPF_ANY);\n{pad}}}"
                );
            }
            StmtKind::MapCompound {
                map,
                key,
                path,
                op,
                value,
            } => {
                let (mn, kt, vt) = self.map_parts(*map);
                let n = self.fresh();
                let mut key_setup = String::new();
                self.temp(
                    kt,
                    &format!("__ksc_k{n}"),
                    key,
                    st,
                    &mut key_setup,
                    &format!("{pad}    "),
                );
                let v = self.expr(value, st);
                let mut field = String::new();
                let mut fty = vt;
                for &i in path {
                    if let TypeKind::Struct(s) = self.kind(fty) {
                        let f = &s.fields[i as usize];
                        let _ = write!(field, ".{}", ident(&f.name));
                        fty = f.ty;
                    }
                }
                let percpu = matches!(
                    self.m.maps[map.index()].kind,
                    MapKind::PercpuArray | MapKind::PercpuHash
                );
                let pd = self.decl(vt, &format!("*__ksc_p{n}"));
                let vd = self.decl(vt, &format!("__ksc_v{n}"));
                let in_place = self.update(&format!("(*__ksc_p{n}){field}"), *op, &v, fty, !percpu);
                let fresh = self.update(&format!("__ksc_v{n}{field}"), *op, &v, fty, false);
                let array = matches!(
                    self.m.maps[map.index()].kind,
                    MapKind::Array | MapKind::PercpuArray
                );
                if array {
                    // Array entries always exist: no insert path (as
                    // hand-written code does; an out-of-range key is a no-op).
                    let _ = writeln!(
                        out,
                        "{pad}{{\n{key_setup}{pad}    {pd} = bpf_map_lookup_elem(&{mn}, &__ksc_k{n});\n{pad}    if (__ksc_p{n})\n{pad}        {in_place};\n{pad}}}"
                    );
                    let _ = (vd, fresh);
                    return self.check_exc(s, st, out, ind);
                }
                let _ = writeln!(
                    out,
                    "{pad}{{\n{key_setup}{pad}    {pd} = bpf_map_lookup_elem(&{mn}, &__ksc_k{n});\n{pad}    if (__ksc_p{n}) {{\n{pad}        {in_place};\n{pad}    }} else {{\n{pad}        {vd};\n{pad}        __builtin_memset(&__ksc_v{n}, 0, sizeof(__ksc_v{n}));\n{pad}        {fresh};\n{pad}        bpf_map_update_elem(&{mn}, &__ksc_k{n}, &__ksc_v{n}, BPF_NOEXIST);\n{pad}    }}\n{pad}}}"
                );
            }
            StmtKind::MapDelete { map, key } => {
                let (mn, kt, _) = self.map_parts(*map);
                let n = self.fresh();
                let inner = format!("{pad}    ");
                let _ = writeln!(out, "{pad}{{");
                self.temp(kt, &format!("__ksc_k{n}"), key, st, out, &inner);
                let _ = writeln!(
                    out,
                    "{inner}bpf_map_delete_elem(&{mn}, &__ksc_k{n});\n{pad}}}"
                );
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
                let c = self.expr(cond, st);
                let _ = write!(out, "{pad}if ({}) ", strip_parens(&c));
                self.block(then, st, out, ind);
                if !els.stmts.is_empty() {
                    out.push_str(" else ");
                    if let [one @ Stmt {
                        kind: StmtKind::If { .. },
                        ..
                    }] = els.stmts.as_slice()
                    {
                        let mut inner = String::new();
                        self.stmt(one, st, &mut inner, ind);
                        out.push_str(inner.trim_start());
                        return;
                    }
                    self.block(els, st, out, ind);
                }
                out.push('\n');
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
            StmtKind::ForEach { .. } => {
                self.err(s.span, "iterating over a map is not possible in eBPF code")
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
                slot,
                ctx,
                fallback,
                ..
            } => {
                let c = self.expr(ctx, st);
                let fb = self.expr(fallback, st);
                let _ = writeln!(out, "{pad}bpf_tail_call({c}, &__ksc_tail_calls, {slot});");
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
    fn fill(&mut self, target: &str, e: &Expr, st: &mut FnState, out: &mut String, pad: &str) {
        match (&e.kind, self.kind(e.ty)) {
            (ExprKind::StructLit(fields), TypeKind::Struct(s)) => {
                let names: Vec<String> = s.fields.iter().map(|f| ident(&f.name)).collect();
                for (i, x) in fields {
                    let fname = format!("{target}.{}", names[*i as usize]);
                    if matches!(self.kind(x.ty), TypeKind::Struct(_) | TypeKind::Array(..)) {
                        self.fill(&fname, x, st, out, pad);
                    } else {
                        let v = self.expr(x, st);
                        let _ = writeln!(out, "{pad}{fname} = {v};");
                    }
                }
            }
            (ExprKind::ArrayLit(xs), _) => {
                for (i, x) in xs.iter().enumerate() {
                    let v = self.expr(x, st);
                    let _ = writeln!(out, "{pad}{target}[{i}] = {v};");
                }
            }
            (ExprKind::ArrayRepeat { value, .. }, TypeKind::Array(_, n)) => {
                let n = *n;
                let v = self.expr(value, st);
                // The target is zeroed already.
                if v != "0" {
                    let _ = writeln!(
                        out,
                        "{pad}for (__u32 __i = 0; __i < {n}; __i++) {target}[__i] = {v};"
                    );
                }
            }
            (_, TypeKind::Array(..)) => {
                let v = self.expr(e, st);
                let _ = writeln!(
                    out,
                    "{pad}__builtin_memcpy(&{target}, &{v}, sizeof({target}));"
                );
            }
            _ => {
                let v = self.expr(e, st);
                let _ = writeln!(out, "{pad}{target} = {v};");
            }
        }
    }

    /// A temporary holding `e` (zero-padded when it is a struct), for
    /// map calls that take addresses.
    fn temp(
        &mut self,
        ty: TypeId,
        name: &str,
        e: &Expr,
        st: &mut FnState,
        out: &mut String,
        pad: &str,
    ) {
        let d = self.decl(ty, name);
        if matches!(self.kind(ty), TypeKind::Struct(_) | TypeKind::Array(..)) {
            let _ = writeln!(
                out,
                "{pad}{d};\n{pad}__builtin_memset(&{name}, 0, sizeof({name}));"
            );
            self.fill(name, e, st, out, pad);
        } else {
            let v = self.expr(e, st);
            let _ = writeln!(out, "{pad}{d} = {v};");
        }
    }

    fn local_ty(&self, _st: &FnState, l: LocalId) -> TypeId {
        // Locals are looked up in the function being emitted.
        self.current_locals()[l.index()].ty
    }

    fn current_locals(&self) -> &'m [Local] {
        &self.m.functions[self.current.get().index()].locals
    }

    fn fresh(&mut self) -> u32 {
        self.tmp += 1;
        self.tmp
    }

    fn map_parts(&self, map: MapId) -> (String, TypeId, TypeId) {
        let mp = &self.m.maps[map.index()];
        (ident(&mp.name), mp.key, mp.value)
    }

    /// `place op= value`; additions to shared memory are atomic, as
    /// hand-written eBPF does for counters.
    fn update(&self, place: &str, op: BinOp, value: &str, ty: TypeId, shared: bool) -> String {
        let wide = matches!(self.kind(ty), TypeKind::Int(i) if i.bits() >= 32);
        match op {
            BinOp::Add if shared && wide => format!("__sync_fetch_and_add(&{place}, {value})"),
            // clang 14 cannot select an atomic sub for BPF: add the negation.
            BinOp::Sub if shared && wide => format!("__sync_fetch_and_add(&{place}, -({value}))"),
            _ => format!("{place} {}= {value}", op.symbol()),
        }
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, e: &Expr, st: &mut FnState) -> String {
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
            ExprKind::Global(g) if self.user => {
                // Through the skeleton: the initial image before load(),
                // the live value after (DECISIONS.md).
                let gl = &self.m.globals[g.index()];
                if matches!(self.kind(gl.ty), TypeKind::Function(_)) {
                    let name = gl.name.clone();
                    self.err(
                        e.span,
                        format!("global `{name}` holds a function pointer, and globals are shared with eBPF code, where userspace functions do not exist: keep userspace function pointers in local variables"),
                    );
                    return "0".into();
                }
                let sec = if gl.visibility == GlobalVisibility::Pinned {
                    "data_pinned_globals"
                } else {
                    "data"
                };
                format!("__ksc_skel->{sec}->{}", ident(&gl.name))
            }
            ExprKind::Global(g) => ident(&self.m.globals[g.index()].name),
            ExprKind::ConfigField(c, i) if self.user => {
                let cfg = &self.m.configs[c.index()];
                let n = ident(&cfg.name);
                format!(
                    "__ksc_skel->data_config_{n}->{n}.{}",
                    ident(&cfg.fields[*i as usize].name)
                )
            }
            ExprKind::ConfigField(c, i) => {
                let cfg = &self.m.configs[c.index()];
                format!(
                    "{}.{}",
                    ident(&cfg.name),
                    ident(&cfg.fields[*i as usize].name)
                )
            }
            ExprKind::FnRef(f) => {
                let fun = &self.m.functions[f.index()];
                let name = fun.name.clone();
                match fun.kind {
                    // A program is its index in the loader's table.
                    FnKind::Program(_) if self.user => self.program_index(*f).to_string(),
                    FnKind::Program(_) => {
                        self.err(
                            e.span,
                            "a program cannot be a function pointer in eBPF code; tail-call it with `return prog(ctx)`",
                        );
                        "0".into()
                    }
                    // A throwing function takes a hidden error slot, which
                    // a call through a pointer could not pass.
                    _ if self.throwing.contains(f) => {
                        self.err(
                            e.span,
                            format!("`{name}` can throw, so it cannot be used as a function pointer; catch inside it, or return an error code"),
                        );
                        "0".into()
                    }
                    _ if self.user => ident(&name),
                    // eBPF has no indirect calls: the function's number,
                    // which calls through the pointer dispatch on.
                    _ => format!("{}u", f.index() + 1),
                }
            }
            ExprKind::StructOpsRef(i) if self.user => i.to_string(),
            ExprKind::StructOpsRef(_) => {
                self.err(e.span, "struct_ops references are userspace values");
                "0".into()
            }
            ExprKind::Unary { op, operand } => {
                let x = self.expr(operand, st);
                let o = match op {
                    UnOp::Not => "!",
                    UnOp::Neg => "-",
                    UnOp::BitNot => "~",
                };
                format!("({o}{x})")
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs, st);
                let b = self.expr(rhs, st);
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
                if UAPI_STRUCTS.contains(&s.name.as_str())
                    && matches!(self.kind(f.ty), TypeKind::Pointer(_))
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
            ExprKind::MapLookup { .. } | ExprKind::MapRead { .. } if self.user => {
                self.user_map_expr(e, st)
            }
            ExprKind::MapLookup { map, key } | ExprKind::MapRead { map, key } => {
                let (mn, kt, vt) = self.map_parts(*map);
                let n = self.fresh();
                let mut setup = String::new();
                self.temp(kt, &format!("__ksc_k{n}"), key, st, &mut setup, "");
                let setup = setup.replace('\n', " ");
                let pd = self.decl(vt, &format!("*__ksc_p{n}"));
                if matches!(e.kind, ExprKind::MapLookup { .. }) {
                    format!("({{ {setup}{pd} = bpf_map_lookup_elem(&{mn}, &__ksc_k{n}); __ksc_p{n}; }})")
                } else {
                    let z = self.zero(vt);
                    format!("({{ {setup}{pd} = bpf_map_lookup_elem(&{mn}, &__ksc_k{n}); __ksc_p{n} ? *__ksc_p{n} : {z}; }})")
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
                let mut setup = String::new();
                self.temp(vt, &format!("__ksc_e{n}"), value, st, &mut setup, "");
                let setup = setup.replace('\n', " ");
                format!(
                    "({{ {setup}bpf_ringbuf_output(&{mn}, &__ksc_e{n}, sizeof(__ksc_e{n}), 0); }})"
                )
            }
            ExprKind::RingbufRead { map, timeout_ms } => {
                if self.user {
                    self.user_ring_read(*map, timeout_ms.as_deref(), st)
                } else {
                    self.err(e.span, "`read` of a ring buffer is for userspace");
                    "0".into()
                }
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

    /// The eBPF functions of signature `sig` used as values anywhere.
    fn pointer_targets(&self, sig: &ksc_ir::FnSig) -> Vec<FnId> {
        self.m.analysis.pointer_targets(sig).to_vec()
    }

    fn need_streq(&mut self) {
        self.need_helper(
            "__ksc_streq(const char",
            "static __always_inline int __ksc_streq(const char *a, const char *b, __u32 n)\n{\n    for (__u32 i = 0; i < n; i++) {\n        if (a[i] != b[i])\n            return 0;\n        if (!a[i])\n            return 1;\n    }\n    return 1;\n}\n\n",
        );
    }

    /// Append `src` (a `str(srccap)`) to `dst` (a `str(cap)` holding `at`
    /// characters), truncating and keeping the NUL; bounded loops only, so
    /// the verifier accepts it.
    fn need_strcat(&mut self) {
        self.need_helper(
            "__ksc_strcat(char",
            "static __always_inline __u32 __ksc_strcat(char *dst, __u32 cap, __u32 at, const char *src, __u32 srccap)\n{\n    for (__u32 i = 0; i < srccap; i++) {\n        if (!src[i] || at + 1 >= cap)\n            break;\n        dst[at] = src[i];\n        at++;\n    }\n    return at;\n}\n\n",
        );
    }

    /// Define a small C helper once, before the functions that use it.
    fn need_helper(&mut self, marker: &str, helper: &str) {
        if !self.out.contains(marker) {
            let anchor = if self.user {
                "#include \""
            } else {
                "char LICENSE[]"
            };
            if let Some(pos) = self.out.find(anchor) {
                let at = self.out[pos..]
                    .find('\n')
                    .map_or(self.out.len(), |p| pos + p + 2);
                self.out.insert_str(at.min(self.out.len()), helper);
            }
        }
    }

    fn call(&mut self, e: &Expr, callee: &Callee, args: &[Expr], st: &mut FnState) -> String {
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
            Callee::BpfHelper(name) => format!("{name}({})", a.join(", ")),
            Callee::Pointer(p) if self.user => {
                let f = self.expr(p, st);
                format!("({f})({})", a.join(", "))
            }
            Callee::Pointer(p) => {
                // Dispatch over the functions of this signature whose
                // address is taken: direct calls the verifier accepts.
                let TypeKind::Function(sig) = self.kind(p.ty).clone() else {
                    self.err(e.span, "call through a value that is not a function");
                    return "0".into();
                };
                let fp = self.expr(p, st);
                let n = self.fresh();
                let void = matches!(self.kind(sig.ret), TypeKind::Void);
                let mut c = format!("({{ __u32 __ksc_fp{n} = {fp}; ");
                if !void {
                    let d = self.decl(sig.ret, &format!("__ksc_r{n}"));
                    let _ = write!(c, "{d} = 0; ");
                }
                let mut first = true;
                for id in self.pointer_targets(&sig) {
                    let name = ident(&self.m.functions[id.index()].name);
                    let call = format!("{name}({})", a.join(", "));
                    let _ = write!(
                        c,
                        "{}if (__ksc_fp{n} == {}u) {}{call}; ",
                        if first { "" } else { "else " },
                        id.index() + 1,
                        if void {
                            String::new()
                        } else {
                            format!("__ksc_r{n} = ")
                        }
                    );
                    first = false;
                }
                if !void {
                    let _ = write!(c, "__ksc_r{n}; ");
                }
                c.push_str("})");
                c
            }
            Callee::Builtin(b) => match b {
                _ if self.user => self.user_builtin(*b, args, &a),
                Builtin::Print => self.print(args, &a),
                Builtin::Htons => format!("bpf_htons({})", a[0]),
                Builtin::Ntohs => format!("bpf_ntohs({})", a[0]),
                Builtin::Htonl => format!("bpf_htonl({})", a[0]),
                Builtin::Ntohl => format!("bpf_ntohl({})", a[0]),
                other => {
                    self.err(e.span, format!("`{other:?}` cannot be used in eBPF code"));
                    "0".into()
                }
            },
        }
    }

    /// `print` -> bpf_printk: printf-style (length modifiers fitted to the
    /// argument types) or the list style (values appended), one line each.
    fn print(&mut self, args: &[Expr], texts: &[String]) -> String {
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
        let line = if self.user { format!("{out}\n") } else { out };
        let mut call = format!(
            "{}(\"{}\"",
            if self.user { "printf" } else { "bpf_printk" },
            esc_c(&line)
        );
        for a in argv {
            call.push_str(", ");
            call.push_str(&a);
        }
        call.push(')');
        call
    }

    fn format_arg(
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
            TypeKind::Int(_) if conv == 'c' && self.user => {
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

/// Names `bpf/bpf_helper_defs.h` declares (a helper, not a kfunc).
fn is_bpf_helper(name: &str) -> bool {
    const HELPERS: &[&str] = &[
        "bpf_ktime_get_ns",
        "bpf_ktime_get_boot_ns",
        "bpf_ktime_get_coarse_ns",
        "bpf_jiffies64",
        "bpf_get_current_pid_tgid",
        "bpf_get_current_uid_gid",
        "bpf_get_current_comm",
        "bpf_get_current_task",
        "bpf_get_smp_processor_id",
        "bpf_get_numa_node_id",
        "bpf_get_prandom_u32",
        "bpf_trace_printk",
        "bpf_probe_read_kernel",
        "bpf_probe_read_user",
        "bpf_probe_read_kernel_str",
        "bpf_probe_read_user_str",
        "bpf_xdp_adjust_head",
        "bpf_xdp_adjust_tail",
        "bpf_xdp_adjust_meta",
        "bpf_redirect",
        "bpf_skb_load_bytes",
        "bpf_skb_store_bytes",
        "bpf_csum_diff",
        "bpf_send_signal",
        "bpf_get_socket_cookie",
    ];
    HELPERS.contains(&name)
}

fn strip_parens(s: &str) -> &str {
    // `({ ... })` is a statement expression: its parentheses are syntax.
    if s.starts_with("({") {
        return s;
    }
    if s.starts_with('(') && s.ends_with(')') {
        // Only if the outer pair matches.
        let mut depth = 0;
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i != s.len() - 1 {
                        return s;
                    }
                }
                _ => {}
            }
        }
        return &s[1..s.len() - 1];
    }
    s
}

fn falls_through(b: &Block) -> bool {
    !matches!(
        b.stmts.last().map(|s| &s.kind),
        Some(StmtKind::Return(_) | StmtKind::TailCall { .. } | StmtKind::Throw(_))
    )
}

/// How many calls of `target` a block makes.
fn count_calls(b: &Block, target: FnId, n: &mut u32) {
    b.walk_exprs(&mut |x| {
        if matches!(&x.kind, ExprKind::Call { callee: Callee::Function(f), .. } if *f == target) {
            *n += 1;
        }
    });
}

/// Every local read or written anywhere in a block.
fn collect_locals(b: &Block, out: &mut HashSet<LocalId>) {
    b.walk_exprs(&mut |x| {
        if let ExprKind::Local(l) = x.kind {
            out.insert(l);
        }
    });
    // Loop variables and declared locals count as used by their statement.
    fn decls(b: &Block, out: &mut HashSet<LocalId>) {
        for s in &b.stmts {
            if let StmtKind::ForEach { key, value, .. } = &s.kind {
                out.insert(*key);
                out.insert(*value);
            }
            s.for_each_block(|b| decls(b, out));
        }
    }
    decls(b, out);
}

mod user;
