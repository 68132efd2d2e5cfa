//! Functions, their kinds and domains, blocks and statements.

use serde::{Deserialize, Serialize};

use crate::*;

// ------------------------------------------------------------------ functions

/// Where a function runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    /// eBPF programs and `@helper`s: checked by the verifier.
    Ebpf,
    /// `@kfunc` and `@private`: a generated kernel module.
    KernelModule,
    /// Plain functions: the native userspace executable.
    Userspace,
}

/// The kind of an eBPF program: where the kernel runs it and which
/// section (`SEC("...")`) a C backend puts it in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProgramType {
    /// `@xdp`: runs on each packet a network device receives, before the
    /// kernel's stack (`SEC("xdp")`).
    Xdp,
    /// `@tc("ingress")` / `@tc("egress")`: a traffic-control classifier
    /// (`SEC("classifier")`).
    Tc {
        /// Attached on the ingress hook; `false`: egress.
        ingress: bool,
    },
    /// `@tracepoint("category/event")` (`SEC("tracepoint/category/event")`).
    Tracepoint {
        /// The tracepoint's subsystem (`syscalls`, `sched`).
        category: String,
        /// The event in it (`sys_enter_openat`).
        event: String,
    },
    /// `@probe("f")` (offset `None`: function entry, typed parameters) or
    /// `@probe("f+N")` (a kprobe at an instruction offset).
    Probe {
        /// The kernel function probed.
        function: String,
        /// Byte offset into the function; `None`: its entry.
        offset: Option<u64>,
    },
    /// `@lsm("hook")`: a BPF LSM program (`SEC("lsm/hook")`).
    Lsm {
        /// The LSM hook's name (`file_open`).
        hook: String,
    },
    /// `@perf_event`: runs on each sample of a perf counter that
    /// userspace opens and attaches it to (`SEC("perf_event")`).
    PerfEvent,
    /// A member function of a `@struct_ops` impl block.
    StructOps {
        /// The impl block.
        ops: StructOpsId,
        /// The kernel struct's member the function fills.
        member: String,
    },
}

impl ProgramType {
    /// The ELF section the eBPF object holds the program in: the eBPF C
    /// backend writes it and userspace loaders find the program by it, so
    /// every backend takes it from here.
    pub fn elf_section(&self) -> String {
        match self {
            ProgramType::Xdp => "xdp".into(),
            // `classifier`, not libbpf's newer `tc`: libbpf 1.1 reads both,
            // aya 0.13 only this one (docs/language.md, rust-aya target).
            ProgramType::Tc { .. } => "classifier".into(),
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
            ProgramType::PerfEvent => "perf_event".into(),
        }
    }
}

/// What a function is, from its attribute; with [`Domain`] it decides how
/// a backend writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FnKind {
    /// An eBPF program entry point.
    Program(ProgramType),
    /// `@helper`: shared eBPF code.
    Helper,
    /// `@kfunc`: a kernel function in the generated module, callable from eBPF.
    Kfunc,
    /// `@private`: module-internal.
    Private,
    /// `extern`: a kernel function that exists already (no body). When it
    /// re-declares a BPF helper (`extern bpf_ktime_get_ns() -> u64`),
    /// `helper` names it: the helper headers declare it, so a C backend
    /// declares nothing (calls still go through [`Callee::Function`]).
    Extern {
        /// The BPF helper this declaration re-declares, if any.
        helper: Option<HelperId>,
    },
    /// A plain userspace function (`main` included).
    Userspace,
    /// `@test`: a userspace test, run by `ksc test` instead of `main`.
    Test,
}

/// A parameter or local variable of a [`Function`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Local {
    /// The name as written (`__match` for the midend's `match` temporary);
    /// shadowing may repeat it within a function, so backends make their
    /// own names unique.
    pub name: String,
    /// Its type.
    pub ty: TypeId,
    /// Where it is declared (its name).
    pub span: Span,
}

/// A function of any kind and domain, with its locals and lowered body
/// (empty for an `extern`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// The name as declared: the C function (or program) name.
    pub name: String,
    /// Program, helper, kfunc, extern, userspace function or test.
    pub kind: FnKind,
    /// Where it runs, from its kind.
    pub domain: Domain,
    /// Parameters are the first `params` locals.
    pub params: u32,
    /// Return type ([`TypeKind::Void`] when nothing is returned).
    pub ret: TypeId,
    /// The named return value's local, if the function has one.
    pub ret_local: Option<LocalId>,
    /// Every local, indexed by [`LocalId`]: the parameters, then the
    /// variables of the body (the named return value included).
    pub locals: Vec<Local>,
    /// The statements of the body, lowered.
    pub body: Block,
    /// The whole declaration.
    pub span: Span,
}

/// How a map helper's key or value argument reaches the helper, which
/// takes its address. Backends make a temporary (on the eBPF stack) only
/// for [`MapArg::Temp`]; the midend's stack estimate counts the same
/// temporaries, so the two agree (docs/language.md, "Stack").
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MapArg<'e> {
    /// `&local`: a local of the argument's type (not a struct or array
    /// parameter, a copy whose padding C leaves undefined).
    Local(LocalId),
    /// `p` for `*p`: the memory the pointer points to, which the helper
    /// copies itself (`m[k] = *rec`, no stack copy of the value).
    Pointee(&'e Expr),
    /// A temporary of the argument's type.
    Temp,
}

impl Function {
    /// How the expression `e`, as the key or value (of type `ty`) of a
    /// map call, is passed; `aggregate` tells struct and array types.
    pub fn map_arg<'e>(
        &self,
        ty: TypeId,
        e: &'e Expr,
        aggregate: impl Fn(TypeId) -> bool,
    ) -> MapArg<'e> {
        match &e.kind {
            ExprKind::Local(l) => {
                let param = l.index() < self.params as usize;
                if e.ty == ty && self.locals[l.index()].ty == ty && !(param && aggregate(ty)) {
                    return MapArg::Local(*l);
                }
                MapArg::Temp
            }
            ExprKind::Deref(p) if e.ty == ty && aggregate(ty) => MapArg::Pointee(p),
            _ => MapArg::Temp,
        }
    }

    /// The parameters' [`LocalId`]s, in order.
    pub fn param_ids(&self) -> impl Iterator<Item = LocalId> {
        (0..self.params).map(LocalId)
    }
}

/// A sequence of statements: a scope for the locals it declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Statements in execution order.
    pub stmts: Vec<Stmt>,
}

/// A statement and where it is in the source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// What a statement does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    /// Declare a local, optionally initialised (otherwise zeroed).
    Let {
        /// The local declared.
        local: LocalId,
        /// Its initial value, of the local's type.
        init: Option<Expr>,
    },
    /// `place = value`; `place` is a local, global, config field, field,
    /// index or dereference.
    Assign {
        /// Where the value is stored.
        place: Expr,
        /// The value stored, of the place's type.
        value: Expr,
    },
    /// `place op= value` on a place that is not a map entry.
    CompoundAssign {
        /// The place read and written (evaluated once).
        place: Expr,
        /// The arithmetic or bitwise operator applied.
        op: BinOp,
        /// The right operand.
        value: Expr,
    },
    /// `m[k] = v`
    MapUpdate {
        /// `MapId` of the map this statement updates.
        map: MapId,
        /// The key, of the map's key type.
        key: Expr,
        /// The value stored, of the map's value type.
        value: Expr,
    },
    /// `m[k] op= v` or `m[k].f op= v` (`path`: field indices into the
    /// value): one lookup; updated in place when present, inserted from
    /// zero when absent.
    MapCompound {
        /// The map updated.
        map: MapId,
        /// The entry's key, of the map's key type.
        key: Expr,
        /// Field indices from the value to the place updated; empty: the
        /// value itself.
        path: Vec<u32>,
        /// The arithmetic or bitwise operator applied.
        op: BinOp,
        /// The right operand, of the updated place's type.
        value: Expr,
    },
    /// `delete m[k]`
    MapDelete {
        /// The map the entry is removed from.
        map: MapId,
        /// The key, of the map's key type.
        key: Expr,
    },
    /// An expression evaluated for its effect (a call); its value is dropped.
    Expr(Expr),
    /// `if (cond) { then } else { els }`.
    If {
        /// The condition: a `bool`, an integer or a pointer (true when not
        /// zero or null).
        cond: Expr,
        /// Run when `cond` holds.
        then: Block,
        /// Run otherwise; empty without `else`.
        els: Block,
    },
    /// `for (var in start..end)`: `end` excluded.
    ForRange {
        /// The loop variable, of the bounds' integer type.
        var: LocalId,
        /// The first value of `var`.
        start: Expr,
        /// The bound `var` stays below.
        end: Expr,
        /// Run once per value of `var`.
        body: Block,
    },
    /// `for (key, value) in map` (userspace only).
    ForEach {
        /// The map whose entries are visited.
        map: MapId,
        /// Local receiving each entry's key, of the map's key type.
        key: LocalId,
        /// Local receiving a copy of the entry's value, of the map's value type.
        value: LocalId,
        /// Run once per entry.
        body: Block,
    },
    /// `while (cond) { body }`.
    While {
        /// Tested before each iteration, as in [`StmtKind::If`].
        cond: Expr,
        /// The loop body.
        body: Block,
    },
    /// `loop { body }`: runs until a `break`, `return` or `throw`.
    Loop {
        /// The loop body.
        body: Block,
    },
    /// Leave the innermost loop.
    Break,
    /// Go to the next iteration of the innermost loop.
    Continue,
    /// Leave the function (after its deferred blocks), with its value
    /// unless the function returns `void`.
    Return(Option<Expr>),
    /// `return target(ctx)` between programs of one type: the program is
    /// replaced by `target` (slot `Analysis::tail_call_slots[slot]`). If the
    /// tail call fails, `fallback` is returned.
    TailCall {
        /// The program tail-called.
        target: FnId,
        /// Its index in [`Analysis::tail_call_slots`] (and the program array).
        slot: u32,
        /// The context passed on: the calling program's context parameter
        /// (local 0).
        ctx: Expr,
        /// Returned when the tail call fails, of the program's return type: a
        /// fail-safe constant the midend picks (`XDP_ABORTED` for XDP,
        /// `TC_ACT_SHOT` for TC, else 0).
        fallback: Expr,
    },
    /// `throw code`: an integer error code, caught by the innermost
    /// matching [`StmtKind::Try`] (see the crate docs).
    Throw(Expr),
    /// `try { body } catch ...`.
    Try {
        /// The statements whose throws are caught.
        body: Block,
        /// The handlers, tried in order; the first that matches runs.
        catches: Vec<Catch>,
    },
    /// `defer { ... }`: a block run when the function exits, deferred
    /// blocks last-in first-out (see the crate docs).
    Defer(Block),
    /// `{ ... }`: a nested scope.
    Block(Block),
}

/// One `catch` clause of a [`StmtKind::Try`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// `None` for `catch _`.
    pub value: Option<i64>,
    /// Run when a thrown code matches `value`.
    pub body: Block,
}

/// A binary operator of [`ExprKind::Binary`], [`StmtKind::CompoundAssign`]
/// and [`StmtKind::MapCompound`]. Arithmetic keeps the operands' integer
/// type and wraps at its width; comparisons and `&&`/`||` give `bool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    /// `+`: integer addition, or a pointer plus an element count.
    Add,
    /// `-`: integer subtraction, a pointer minus an element count, or the
    /// element count between two pointers.
    Sub,
    /// `*`: integer multiplication.
    Mul,
    /// `/`: integer division, truncating toward zero.
    Div,
    /// `%`: remainder of [`BinOp::Div`], with the dividend's sign.
    Rem,
    /// `&`: bitwise and.
    BitAnd,
    /// `|`: bitwise or.
    BitOr,
    /// `^`: bitwise exclusive or.
    BitXor,
    /// `<<`: left shift, keeping the left operand's type.
    Shl,
    /// `>>`: right shift, arithmetic on signed types, logical on unsigned.
    Shr,
    /// `==`: equal (integers, bools, pointers, or the text of two `str`s).
    Eq,
    /// `!=`: not equal, as [`BinOp::Eq`].
    Ne,
    /// `<`: less than.
    Lt,
    /// `<=`: less than or equal.
    Le,
    /// `>`: greater than.
    Gt,
    /// `>=`: greater than or equal.
    Ge,
    /// `&&`: logical and; `rhs` is evaluated only when `lhs` holds.
    And,
    /// `||`: logical or; `rhs` is evaluated only when `lhs` does not hold.
    Or,
}

/// A unary operator of [`ExprKind::Unary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    /// `!`: logical not, a `bool`.
    Not,
    /// `-`: two's complement negation, in the operand's type.
    Neg,
    /// `~`: bitwise complement, in the operand's type.
    BitNot,
}

impl Stmt {
    /// The expressions directly in this statement (not in nested blocks).
    pub fn for_each_expr<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        use StmtKind as K;
        match &self.kind {
            K::Let { init: Some(e), .. } | K::Expr(e) | K::Return(Some(e)) | K::Throw(e) => f(e),
            K::Assign { place, value } | K::CompoundAssign { place, value, .. } => {
                f(place);
                f(value);
            }
            K::MapUpdate { key, value, .. } | K::MapCompound { key, value, .. } => {
                f(key);
                f(value);
            }
            K::MapDelete { key, .. } => f(key),
            K::If { cond, .. } | K::While { cond, .. } => f(cond),
            K::ForRange { start, end, .. } => {
                f(start);
                f(end);
            }
            K::TailCall { ctx, fallback, .. } => {
                f(ctx);
                f(fallback);
            }
            _ => {}
        }
    }

    /// The blocks nested directly in this statement.
    pub fn for_each_block<'a>(&'a self, mut f: impl FnMut(&'a Block)) {
        use StmtKind as K;
        match &self.kind {
            K::If { then, els, .. } => {
                f(then);
                f(els);
            }
            K::ForRange { body, .. }
            | K::ForEach { body, .. }
            | K::While { body, .. }
            | K::Loop { body }
            | K::Defer(body)
            | K::Block(body) => f(body),
            K::Try { body, catches } => {
                f(body);
                catches.iter().for_each(|c| f(&c.body));
            }
            _ => {}
        }
    }
}

impl Block {
    /// Every expression in this block and the blocks nested in it, deep.
    pub fn walk_exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        for s in &self.stmts {
            s.for_each_expr(|e| e.walk(f));
            s.for_each_block(|b| b.walk_exprs(f));
        }
    }
}

impl FnKind {
    /// The function's kind as written in KernelScript (`@xdp`,
    /// `@tc("ingress")`, `@helper`, `fn`, ...), for labels and messages.
    pub fn attribute(&self) -> String {
        match self {
            FnKind::Program(p) => match p {
                ProgramType::Xdp => "@xdp".into(),
                ProgramType::Tc { ingress } => {
                    format!("@tc(\"{}\")", if *ingress { "ingress" } else { "egress" })
                }
                ProgramType::Tracepoint { category, event } => {
                    format!("@tracepoint(\"{category}/{event}\")")
                }
                ProgramType::Probe { function, offset } => match offset {
                    Some(o) => format!("@probe(\"{function}+{o}\")"),
                    None => format!("@probe(\"{function}\")"),
                },
                ProgramType::Lsm { hook } => format!("@lsm(\"{hook}\")"),
                ProgramType::StructOps { member, .. } => format!("@struct_ops .{member}"),
                ProgramType::PerfEvent => "@perf_event".into(),
            },
            FnKind::Helper => "@helper".into(),
            FnKind::Kfunc => "@kfunc".into(),
            FnKind::Private => "@private".into(),
            FnKind::Extern { .. } => "extern".into(),
            FnKind::Userspace => "fn".into(),
            FnKind::Test => "@test".into(),
        }
    }
}

impl BinOp {
    /// The operator as written (the same in KernelScript and C).
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}
