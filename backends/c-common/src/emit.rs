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

/// A function's C name: `@private` functions get a prefix, so that one
/// named like a kernel function (`ktime_get_ns`) does not clash with the
/// kernel headers' declaration.
fn fn_ident(f: &Function) -> String {
    if f.kind == FnKind::Private {
        format!("__ksc_private_{}", f.name)
    } else {
        ident(&f.name)
    }
}

fn ident(name: &str) -> String {
    if RESERVED.contains(&name) || name.starts_with("__ksc") {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

pub use ksc_plugin_abi::EmitError;

pub fn generate_c(m: &Module) -> Result<String, Vec<EmitError>> {
    run(m, &ebpf::Ebpf)
}

/// The kernel module (`@kfunc` and `@private` functions) as C for an
/// out-of-tree module built with Kbuild.
pub fn generate_kmod_c(m: &Module) -> Result<String, Vec<EmitError>> {
    run(m, &kmod::Kmod)
}

/// The userspace program (`main` and the functions it calls) as C over the
/// loader runtime (`ksc_runtime.h`), which opens the eBPF object linked
/// into the executable.
pub fn generate_user_c(m: &Module) -> Result<String, Vec<EmitError>> {
    run(m, &user::User)
}

fn run(m: &Module, fl: &'static dyn Flavour) -> Result<String, Vec<EmitError>> {
    let mut g = Gen {
        fl,
        m,
        out: String::new(),
        helpers: String::new(),
        errors: Vec::new(),
        tmp: 0,
        throwing: HashSet::new(),
        current: std::cell::Cell::new(FnId(0)),
        span: std::cell::Cell::new(None),
        as_place: false,
    };
    fl.module(&mut g);
    if g.errors.is_empty() {
        Ok(g.out)
    } else {
        Err(g.errors)
    }
}

/// What the two sides write differently. The writer ([`Gen`]) does the
/// language (types, expressions, statements, `try`/`catch`/`defer`, the
/// shape of map statements); a flavour lays out the file and says how its
/// side reaches maps, globals, programs and the built-in functions.
/// `ebpf::Ebpf` writes C for `clang -target bpf`, `user::User` the loader
/// over the runtime library.
pub(super) trait Flavour {
    /// The whole file, in order.
    fn module(&self, g: &mut Gen);
    /// Whether this side writes `f`.
    fn writes(&self, f: &Function) -> bool;
    /// Whether fields of kernel structs are read with `bpf_core_read`
    /// (eBPF code: a kernel pointer is not directly readable in tracing
    /// programs) rather than directly (module code).
    fn core_reads(&self) -> bool {
        false
    }
    /// Whether an uncaught throw in `id` ends the process instead of
    /// passing to the caller (userspace `main`).
    fn ends_process(&self, m: &Module, id: FnId) -> bool;

    // ---- types
    /// A declaration for the types only one side has a C form for
    /// (program handles, function pointers); `None` for the others.
    fn decl(&self, g: &mut Gen, t: TypeId, name: &str) -> Option<String>;
    /// Struct types this side does not define (the headers or the
    /// kernel's BTF do).
    fn skips_struct(&self, g: &Gen, s: &StructDef) -> bool;
    /// `static` functions' linkage attribute (inlined or called).
    fn linkage(&self, g: &Gen, id: FnId) -> &'static str;
    /// What an uncaught throw does before returning, if anything.
    fn uncaught(&self, m: &Module, st: &FnState) -> Option<&'static str>;

    // ---- expressions
    fn global(&self, g: &mut Gen, e: &Expr, id: GlobalId) -> String;
    fn config_field(&self, g: &mut Gen, c: ConfigId, field: u32) -> String;
    /// A program or (non-throwing) function used as a value.
    fn fn_ref(&self, g: &mut Gen, e: &Expr, f: FnId) -> String;
    fn struct_ops_ref(&self, g: &mut Gen, e: &Expr, i: StructOpsId) -> String;
    /// A call through a function pointer `p`, arguments written.
    fn call_pointer(
        &self,
        g: &mut Gen,
        e: &Expr,
        p: &Expr,
        args: &[String],
        st: &mut FnState,
    ) -> String;
    fn builtin(&self, g: &mut Gen, e: &Expr, b: Builtin, args: &[Expr], texts: &[String])
        -> String;
    /// `print`: the C function, whether it ends the line itself, whether
    /// `%c` prints characters.
    fn print(&self) -> (&'static str, bool, bool);
    /// `rb.read()`: only userspace reads ring buffers (kernel code, eBPF
    /// or module, gets this error).
    fn ring_read(
        &self,
        g: &mut Gen,
        e: &Expr,
        _map: MapId,
        _timeout: Option<&Expr>,
        _st: &mut FnState,
    ) -> String {
        g.err(e.span, "`read` of a ring buffer is for userspace");
        "0".into()
    }
    /// `rb.on_event(handler)`: userspace only.
    fn ring_on_event(&self, g: &mut Gen, e: &Expr, _map: MapId, _handler: FnId) -> String {
        g.err(e.span, "`on_event` of a ring buffer is for userspace");
        "0".into()
    }
    /// `dispatch(rb, ...)`: userspace only.
    fn ring_dispatch(&self, g: &mut Gen, e: &Expr, _maps: &[MapId]) -> String {
        g.err(e.span, "`dispatch` is for userspace");
        "0".into()
    }

    // ---- maps: keys and values are given as addresses (`&local`, or a
    // zeroed temporary the writer filled)
    /// `m[k] = v` as a statement (lines at `pad`).
    fn map_update(&self, g: &mut Gen, map: MapId, key: &str, value: &str, pad: &str) -> String;
    /// `new T()` of C type `t` (`struct T`), with the GFP flags written.
    fn obj_new(&self, g: &mut Gen, t: &str, gfp: &[String]) -> String;
    /// `delete p` (nothing when `p` is null).
    fn obj_delete(&self, g: &mut Gen, p: &str) -> String;
    /// `delete m[k]`.
    fn map_delete(&self, g: &mut Gen, map: MapId, key: &str, pad: &str) -> String;
    /// `m[k]` as a pointer to the entry (`pointer`) or its value (zero
    /// when absent): the statement-expression's tail after the key setup.
    fn map_lookup(&self, g: &mut Gen, map: MapId, key: &str, n: u32, pointer: bool) -> String;
    /// `m[k].path op= v` (lines at `pad`, inside the block holding the key).
    #[allow(clippy::too_many_arguments)]
    fn map_compound(
        &self,
        g: &mut Gen,
        map: MapId,
        key: &str,
        n: u32,
        place: &MapPlace,
        value: &str,
        pad: &str,
    ) -> String;
    /// `for (k, v) in m { body }`.
    #[allow(clippy::too_many_arguments)]
    fn map_iterate(
        &self,
        g: &mut Gen,
        s: &Stmt,
        map: MapId,
        key: LocalId,
        value: LocalId,
        body: &Block,
        st: &mut FnState,
        out: &mut Out,
        ind: usize,
    );
}

/// The part of a map value a compound assignment changes.
pub(super) struct MapPlace {
    /// `.a.b` (empty for the whole value).
    pub field: String,
    pub ty: TypeId,
    pub op: BinOp,
}

pub(super) struct Gen<'m> {
    fl: &'static dyn Flavour,
    m: &'m Module,
    out: String,
    /// Small C helpers the code uses (string compare, concatenation), each
    /// once; the flavour places them before the functions.
    helpers: String,
    errors: Vec<EmitError>,
    tmp: u32,
    /// eBPF functions whose throws may escape (they take an error out-parameter).
    throwing: HashSet<FnId>,
    /// The function being emitted.
    current: std::cell::Cell<FnId>,
    /// The statement being emitted (where flavour errors without an
    /// expression of their own point).
    span: std::cell::Cell<Option<Span>>,
    /// The expression being written is a place (assigned to, or its
    /// address taken), not a value read: kernel struct fields are then not
    /// read through `bpf_core_read`.
    as_place: bool,
}

/// Per-function state while emitting a body.
pub(super) struct FnState {
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
    /// Throwing calls already evaluated into temporaries before their
    /// statement (see `hoist_throwing`), by node: the temporary's name.
    hoisted: std::collections::HashMap<*const Expr, String>,
    temps: u32,
    /// Scalar locals a deferred body uses: declared at the function's top
    /// (the deferred code runs where an inner block's locals are out of C
    /// scope), their `var` an assignment.
    defer_hoisted: HashSet<LocalId>,
    /// eBPF loop counters (see `loop_counters`): a map key or value naming
    /// one is copied to a temporary.
    loop_counters: HashSet<LocalId>,
}

/// A function body's text, written in order. Each statement's first line
/// ends with a note naming its source line: the statement sets `note`, and
/// the first line break written after carries it.
#[derive(Default)]
pub(super) struct Out {
    text: String,
    note: Option<String>,
}

impl Out {
    fn push_str(&mut self, s: &str) {
        match self.note.take() {
            Some(note) => match s.find('\n') {
                Some(i) => {
                    self.text.push_str(&s[..i]);
                    self.text.push_str(&note);
                    self.text.push_str(&s[i..]);
                }
                None => {
                    self.text.push_str(s);
                    self.note = Some(note);
                }
            },
            None => self.text.push_str(s),
        }
    }

    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }
}

impl std::fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
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
        self.errors.push(EmitError::at(&self.m.files, span, msg));
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
        let fl = self.fl;
        self.m
            .functions
            .iter()
            .enumerate()
            .filter(move |(_, f)| fl.writes(f))
            .map(|(i, f)| (FnId(i as u32), f))
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
                    || self.fl.ends_process(self.m, *id);
                !catches_all && a.can_throw(*id)
            })
            .map(|(id, _)| id)
            .collect();
    }

    fn stmt_calls_throwing(&self, s: &Stmt) -> bool {
        let mut found = false;
        s.for_each_expr(|e| {
            e.walk(&mut |x| {
                match &x.kind {
                    ExprKind::Call {
                        callee: Callee::Function(f),
                        ..
                    } => found |= self.throwing.contains(f),
                    // Python calls throw PYTHON_ERROR.
                    ExprKind::Call {
                        callee: Callee::Python { .. },
                        ..
                    } => found = true,
                    _ => {}
                }
            })
        });
        found
    }

    fn signature(&mut self, id: FnId, f: &Function) -> String {
        let names = self.param_names(f);
        let mut params: Vec<String> = f.locals[..f.params as usize]
            .iter()
            .zip(&names)
            .map(|(l, n)| self.decl(l.ty, n))
            .collect();
        if self.throwing.contains(&id) {
            params.push("__s64 *__ksc_exc".into());
        }
        if params.is_empty() {
            params.push("void".into());
        }
        let ret = self.type_name(f.ret);
        if f.kind == FnKind::Kfunc {
            // Called from eBPF through BTF: global, never inlined away.
            return format!(
                "__ksc_kfunc {ret} {}({})",
                ident(&f.name),
                params.join(", ")
            );
        }
        // Unused functions are the user's to keep (a helper not called
        // yet, `@test`s in a normal build): no C warning for them.
        let linkage = self.fl.linkage(self, id);
        if matches!(self.kind(f.ret), TypeKind::Function(_)) {
            // Returning a function pointer: C's `R (*name(params))(args)`.
            let d = self.decl(f.ret, &format!("{}({})", fn_ident(f), params.join(", ")));
            return format!("static __attribute__((unused)) {linkage} {d}");
        }
        format!(
            "static __attribute__((unused)) {linkage} {ret} {}({})",
            fn_ident(f),
            params.join(", ")
        )
    }

    /// The C names of `f`'s parameters. A kfunc's integer parameter right
    /// after a pointer is its length (the kernel's kfunc convention: the
    /// suffix `__sz` makes the pair one memory region of that size, which
    /// the verifier checks against packet or stack memory).
    fn param_names(&self, f: &Function) -> Vec<String> {
        let ps = &f.locals[..f.params as usize];
        ps.iter()
            .enumerate()
            .map(|(i, l)| {
                let n = ident(&l.name);
                let sized = f.kind == FnKind::Kfunc
                    && i > 0
                    && matches!(self.kind(l.ty), TypeKind::Int(_))
                    && matches!(self.kind(ps[i - 1].ty), TypeKind::Pointer(_));
                if sized {
                    format!("{n}__sz")
                } else {
                    n
                }
            })
            .collect()
    }

    /// The eBPF functions of signature `sig` used as values anywhere.
    fn pointer_targets(&self, sig: &ksc_ir::FnSig) -> Vec<FnId> {
        self.m.analysis.pointer_targets(sig).to_vec()
    }
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

/// The loop counters of a block: `for (i in a..b)` variables and locals a
/// `while` tests and its body assigns. Passing `&i` to a map helper makes
/// clang keep `i` on the stack, where the verifier cannot bound the loop
/// ("infinite loop detected"); a copy keeps the counter in a register.
fn loop_counters(b: &Block, out: &mut HashSet<LocalId>) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::ForRange { var, .. } => {
                out.insert(*var);
            }
            StmtKind::While { cond, body } => {
                let mut tested = HashSet::new();
                cond.walk(&mut |x| {
                    if let ExprKind::Local(l) = x.kind {
                        tested.insert(l);
                    }
                });
                let mut assigned = HashSet::new();
                assigned_locals(body, &mut assigned);
                out.extend(tested.intersection(&assigned).copied());
            }
            _ => {}
        }
        s.for_each_block(|b| loop_counters(b, out));
    }
}

/// Locals a block assigns (`=` or `op=`), nested blocks included.
fn assigned_locals(b: &Block, out: &mut HashSet<LocalId>) {
    for s in &b.stmts {
        if let StmtKind::Assign { place, .. } | StmtKind::CompoundAssign { place, .. } = &s.kind {
            if let ExprKind::Local(l) = place.kind {
                out.insert(l);
            }
        }
        s.for_each_block(|b| assigned_locals(b, out));
    }
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

/// The locals the deferred bodies of a block use.
fn deferred_locals(b: &Block, out: &mut HashSet<LocalId>) {
    for s in &b.stmts {
        if let StmtKind::Defer(d) = &s.kind {
            collect_locals(d, out);
        }
        s.for_each_block(|b| deferred_locals(b, out));
    }
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

mod ebpf;
mod expr;
mod kmod;
mod kmod_maps;
mod stmt;
mod types;
mod user;
