//! Expressions, calls, built-ins and print formats.

use serde::{Deserialize, Serialize};

use crate::*;

/// An expression: what it computes, its type and where it is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// The type of its value, after the midend's conversions (explicit as
    /// [`ExprKind::Cast`]s).
    pub ty: TypeId,
    /// The source of the expression.
    pub span: Span,
}

/// What an [`ExprKind::Call`] calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Callee {
    /// A function of the module (never a program: those are tail-called or
    /// loaded), called directly.
    Function(FnId),
    /// A BPF helper (`bpf_ktime_get_ns`), by its number; [`helper`] gives
    /// its name and signature.
    BpfHelper(HelperId),
    /// A function built into the language (`load`, `htons`, ...).
    Builtin(Builtin),
    /// Through a function pointer.
    Pointer(Box<Expr>),
    /// A function of an imported Python module (userspace only). The
    /// signature is the call's: the arguments' types (integers, `bool`,
    /// `str(N)`) convert to Python, the result converts to the call's type
    /// (range-checked; `void` discards it). A Python exception, or a result
    /// that does not convert, throws [`PYTHON_ERROR`] (the analysis counts
    /// it among the function's throws).
    Python {
        /// The module, in [`Module::python_modules`].
        module: PyModuleId,
        /// The function's name in the module (a top-level `def`).
        function: String,
    },
}

/// The error code a failed Python call throws (built-in `PYTHON_ERROR`).
pub const PYTHON_ERROR: i64 = 0x7079;

/// An imported Python module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PyModule {
    /// The KernelScript name (`import name from ...`).
    pub name: String,
    /// The Python module name: the file's stem. At run time the bridge
    /// imports it from the executable's directory (the build copies the
    /// file there) or `$KSC_PYTHON_PATH`.
    pub module: String,
    /// The file on the compiling machine, as resolved from the importing
    /// file (the build copies it next to the executable).
    pub path: String,
    /// The `import` declaration.
    pub span: Span,
}

/// A Python script `exec` replaces the loader with (docs/language.md,
/// "`exec` into Python"): the build copies it next to the executable,
/// beside the module `<name>.py` through which it reads the maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecScript {
    /// Its file name next to the executable (`reader.py`); the argument
    /// of the [`Builtin::Exec`] calls that run it.
    pub file: String,
    /// The file on the compiling machine, as resolved from the file that
    /// calls `exec`.
    pub path: String,
    /// The first `exec` call naming it.
    pub span: Span,
}

/// A function built into the language. `Load`, `Attach`, `Detach`,
/// `Register`, `Test`, `Sleep`, `Daemon` and `Exec` exist in userspace only; the byte-order
/// conversions everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    /// `load(prog)`: load an eBPF program into the kernel; gives its
    /// [`TypeKind::ProgramHandle`].
    Load,
    /// `attach(handle, target, flags)`: attach a loaded program to its
    /// target (an interface, function or tracepoint name, or an interface
    /// index); gives 0 or an error (`i32`).
    Attach,
    /// `detach(handle)`: detach a program attached with `attach` (and
    /// every perf counter it is still attached to).
    Detach,
    /// `attach(handle, perf_options { .. }, flags)` for a `@perf_event`
    /// program: open a perf counter (`perf_event_open`), reset it, attach
    /// the program to it, enable it; gives a
    /// [`TypeKind::PerfAttachment`]. The midend flattens the options, with
    /// their defaults filled in, into the arguments: `handle`, `flags`
    /// (`u32`, 0), then [`PERF_OPTIONS`] in that order. A failure is a
    /// run-time error: the executable says why (naming the counter) and
    /// exits with status 1.
    AttachPerf,
    /// `read(att)`: the counter's current value (`i64`), -1 for a
    /// detached attachment or a failed read.
    ReadPerf,
    /// `detach(att)`: disable the counter, unlink the program, close the
    /// counter, in that order; a detached attachment is left alone.
    DetachPerf,
    /// `register(impl)`: register a `@struct_ops` impl block with the
    /// kernel; gives 0 or an error (`i32`).
    Register,
    /// `test(prog, XdpTestContext { .. })`, in `@test` functions: run the
    /// program once in the kernel (`BPF_PROG_TEST_RUN`); gives its result.
    Test,
    /// `sleep(ms)`: pause for a `u32` number of milliseconds.
    Sleep,
    /// `htons(x)`: a `u16` from host to network (big-endian) byte order.
    Htons,
    /// `ntohs(x)`: a `u16` from network to host byte order.
    Ntohs,
    /// `htonl(x)`: a `u32` from host to network byte order.
    Htonl,
    /// `ntohl(x)`: a `u32` from network to host byte order.
    Ntohl,
    /// `daemon()` (userspace): flush what was printed, leave the terminal
    /// (fork, setsid, standard streams to /dev/null); the foreground
    /// process exits 0, the daemon keeps what is attached until SIGTERM or
    /// SIGINT, then detaches and exits 0. Never returns.
    Daemon,
    /// `exec("x.py")`: replace the process with `python3 x.py`, the maps
    /// and attachments staying open for it. Its one argument is a
    /// [`Value::Str`] of the script's file name next to the executable
    /// (an [`ExecScript::file`] of [`Module::exec_scripts`]). Returns only
    /// when it fails, and then ends the process (exit status 1).
    Exec,
}

/// The fields of a `perf_options` literal, in the order
/// [`Builtin::AttachPerf`] takes them: name, integer type (`None`: `bool`)
/// and default (`None`: required) (docs/language.md, "`@perf_event`
/// programs").
pub const PERF_OPTIONS: &[(&str, Option<IntType>, Option<i64>)] = &[
    ("perf_type", Some(IntType::U32), None),
    ("perf_config", Some(IntType::U64), None),
    ("pid", Some(IntType::I32), Some(-1)),
    ("cpu", Some(IntType::I32), Some(0)),
    ("period", Some(IntType::U64), Some(1_000_000)),
    ("wakeup", Some(IntType::U32), Some(1)),
    ("inherit", None, Some(0)),
    ("exclude_kernel", None, Some(0)),
    ("exclude_user", None, Some(0)),
];

/// One field of a [`ExprKind::StructLit`]: its index in the struct and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInit {
    /// Index into the struct's [`StructDef::fields`].
    pub field: u32,
    /// The field's value, of the field's type.
    pub value: Expr,
}

/// One arm of a [`ExprKind::Switch`]: taken when the scrutinee equals `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchArm {
    /// The constant compared with the scrutinee (an integer or enum value).
    pub value: i64,
    /// The `match` expression's value when this arm is taken.
    pub result: Expr,
}

/// A piece of a [`ExprKind::Print`] line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormatSegment {
    /// Text as it prints (`%%` already turned into `%`; escapes decoded).
    Text(String),
    /// `values[value]`, shown as `conv` says, padded as `spec` says.
    Value {
        /// Index into the `print`'s `values`.
        value: u32,
        /// How the value is shown.
        conv: FormatConv,
        /// Flags, width and precision.
        spec: FormatSpec,
    },
}

/// How a value prints. The midend picks it from the user's conversion and
/// the value's type; the writer picks the width modifier (`ll`) from the
/// type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormatConv {
    /// Decimal of a signed integer (`%d`, `%i`, or a list-style value).
    /// Also `bool` and enums, as `int`.
    Signed,
    /// Decimal of an unsigned integer (`%u`; `%d` of an unsigned value,
    /// which would otherwise show large values as negative).
    Unsigned,
    /// `%x` / `%X`.
    Hex {
        /// `%X`: digits `A`-`F` in upper case.
        upper: bool,
    },
    /// `%o`.
    Octal,
    /// `%c` of an integer, or a `char`: the character in userspace; eBPF
    /// prints its code (bpf_printk before 5.13 has no `%c`).
    Char,
    /// Text: a `str(N)` (its bytes), a `u8`/`char` array or a pointer to
    /// text, up to its NUL.
    Str,
    /// `%p`: an address.
    Pointer,
}

/// printf's flags, width and precision of one conversion (`%-08.3d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatSpec {
    /// `-`: pad on the right.
    pub left: bool,
    /// `+`: a sign on positive numbers too.
    pub plus: bool,
    /// ` `: a space where a `+` would go.
    pub space: bool,
    /// `#`: `0x` before hexadecimal, `0` before octal.
    pub alternate: bool,
    /// `0`: pad with zeros.
    pub zero: bool,
    /// Minimum width in characters, padded with spaces (or zeros).
    pub width: Option<u32>,
    /// `.N`: minimum digits of an integer; most bytes shown of text.
    pub precision: Option<u32>,
}

impl FormatSpec {
    /// The spec as printf writes it between `%` and the conversion.
    pub fn printf(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.left, '-'),
            (self.plus, '+'),
            (self.space, ' '),
            (self.alternate, '#'),
            (self.zero, '0'),
        ] {
            if on {
                s.push(c);
            }
        }
        if let Some(w) = self.width {
            s.push_str(&w.to_string());
        }
        if let Some(p) = self.precision {
            s.push('.');
            s.push_str(&p.to_string());
        }
        s
    }
}

/// What an expression computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    /// A constant (literal or folded), of the expression's type.
    Value(Value),
    /// A local variable or parameter of the current function (also a place).
    Local(LocalId),
    /// A global variable (also a place).
    Global(GlobalId),
    /// `config.field`: field `field` of [`Module::configs`]`[config]`.
    ConfigField {
        /// The `config` block.
        config: ConfigId,
        /// Index into its [`Config::fields`].
        field: u32,
    },
    /// A function used as a value (function pointer, program reference).
    FnRef(FnId),
    /// A `@struct_ops` impl block used as a value.
    StructOpsRef(StructOpsId),
    /// `op operand`.
    Unary {
        /// The operator.
        op: UnOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `lhs op rhs`, operands already converted to a common type. Pointer
    /// arithmetic `p + n` scales by the pointee size as in C.
    Binary {
        /// The operator.
        op: BinOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// Conversion of the operand to the expression's type: between
    /// integers, bools, enums and pointers (as in C), or a `str(N)` to a
    /// longer `str(M)` (zero-filled).
    Cast(Box<Expr>),
    /// A call; the expression's type is the callee's return type.
    Call {
        /// What is called.
        callee: Callee,
        /// The arguments, in parameter order.
        args: Vec<Expr>,
    },
    /// `base.field` (or `base->field` when `through_pointer`).
    Field {
        /// The struct, or a pointer to it when `through_pointer`.
        base: Box<Expr>,
        /// Index into the struct's [`StructDef::fields`].
        field: u32,
        /// `base` is a pointer to the struct (`->`).
        through_pointer: bool,
    },
    /// `base[index]`: an element of an array, a `char` of a `str(N)`, or
    /// an element through a pointer.
    Index {
        /// The array, string or pointer.
        base: Box<Expr>,
        /// The element's index, an integer.
        index: Box<Expr>,
    },
    /// `*p`: what the pointer points to (also a place).
    Deref(Box<Expr>),
    /// `&x`: the address of a place.
    AddrOf(Box<Expr>),
    /// `m[k]` kept as a pointer (`var p = m[k]`): null when the key is absent.
    MapLookup {
        /// The map looked up.
        map: MapId,
        /// The key, of the map's key type.
        key: Box<Expr>,
    },
    /// `m[k]` used as a value (`m[k] + 1`, `m[k].f`): the value, or zero
    /// when the key is absent.
    MapRead {
        /// The map read.
        map: MapId,
        /// The key, of the map's key type.
        key: Box<Expr>,
    },
    /// `S { a: x, b: y }`: the fields given (the rest are zero).
    StructLit(Vec<FieldInit>),
    /// `[a, b, c]`: the elements in index order.
    ArrayLit(Vec<Expr>),
    /// `[value; count]`: an array of `count` copies of `value`.
    ArrayRepeat {
        /// The element repeated.
        value: Box<Expr>,
        /// Number of elements.
        count: u32,
    },
    /// `cond ? then : els`, `if (cond) { then } else { els }`
    Select {
        /// The condition, as in [`StmtKind::If`].
        cond: Box<Expr>,
        /// The value when `cond` holds (only it is evaluated).
        then: Box<Expr>,
        /// The value otherwise (only it is evaluated).
        els: Box<Expr>,
    },
    /// `match`: the first arm whose value equals the scrutinee, else `default`.
    Switch {
        /// The value matched, an integer or enum.
        scrutinee: Box<Expr>,
        /// The arms, in source order.
        arms: Vec<SwitchArm>,
        /// The value when no arm matches (`_ =>`).
        default: Box<Expr>,
    },
    /// `print(...)`: one line of text and values. The midend has parsed
    /// the format and chosen each value's conversion from its type, so a
    /// backend writes the segments in order and parses nothing. The line
    /// ends after the last segment (bpf_printk adds the newline itself;
    /// userspace writers add `\n`). See docs/language.md, `print`.
    Print {
        /// The line's text and conversions, in order.
        segments: Vec<FormatSegment>,
        /// The values shown, in argument order; segments index them.
        values: Vec<Expr>,
    },
    /// `a + b + ...` on strings into a `str(N)` of the expression's type.
    StrConcat(Vec<Expr>),
    /// `rb.reserve()`: a pointer to a new event in the ring buffer (null
    /// when full); `size` in bytes for `ringbuf<u8>`.
    RingbufReserve {
        /// The ring buffer ([`MapKind::Ringbuf`]).
        map: MapId,
        /// Bytes to reserve, for `ringbuf<u8>` only; `None`: one event of
        /// the value type.
        size: Option<Box<Expr>>,
    },
    /// `rb.submit(p)` / `rb.discard(p)` of a reserved event.
    RingbufSubmit {
        /// The ring buffer the event was reserved in.
        map: MapId,
        /// The pointer [`ExprKind::RingbufReserve`] gave.
        ptr: Box<Expr>,
        /// Drop the event instead of publishing it.
        discard: bool,
    },
    /// `new T()`: a zeroed `T` on the heap, null when memory is short; the
    /// expression's type is `*T`. eBPF: `bpf_obj_new`; kernel module:
    /// `kzalloc`; userspace: `calloc`. See docs/language.md, "`new` and
    /// `delete`".
    ObjNew {
        /// GFP flag names (`GFP_ATOMIC`), kernel-module code only; empty:
        /// the default (`GFP_ATOMIC`).
        gfp: Vec<String>,
    },
    /// `delete p` of an object [`ExprKind::ObjNew`] gave; nothing when `p`
    /// is null. Type `void`.
    ObjDelete(Box<Expr>),
    /// `rb.submit(value)`: copy an event into the ring buffer.
    RingbufOutput {
        /// The ring buffer.
        map: MapId,
        /// The event, of the map's value type.
        value: Box<Expr>,
    },
    /// Userspace `rb.read()` / `rb.read(ms)`: a pointer to the next event
    /// (valid until the next read of this ring buffer), or null when none
    /// arrived, waiting up to `timeout_ms` when given.
    RingbufRead {
        /// The ring buffer read.
        map: MapId,
        /// Longest wait for an event, in milliseconds; `None`: take only an
        /// event already there.
        timeout_ms: Option<Box<Expr>>,
    },
    /// Userspace `rb.on_event(handler)`: from now on [`ExprKind::RingbufDispatch`]
    /// calls `handler` with each event of `map` (a pointer to a copy of it,
    /// never null). The handler is a userspace function `fn(*T) -> i32`,
    /// named, not a function pointer (docs/language.md, "Ring-buffer
    /// callbacks, `dispatch` and `daemon`").
    RingbufOnEvent {
        /// The ring buffer.
        map: MapId,
        /// The handler: one parameter, a pointer to the map's value type;
        /// returns `i32`; cannot throw.
        handler: FnId,
    },
    /// Userspace `dispatch(rb, ...)`: wait for events of these ring buffers
    /// and call their handlers; gives the first nonzero value a handler
    /// returns, or 0 once the process got SIGINT or SIGTERM (`i32`).
    RingbufDispatch {
        /// The ring buffers, in the order written; none twice.
        maps: Vec<MapId>,
    },
}

impl Expr {
    /// The direct sub-expressions, in evaluation order.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        use ExprKind as K;
        match &self.kind {
            K::Unary { operand: a, .. } | K::Cast(a) | K::Deref(a) | K::AddrOf(a) => f(a),
            K::Field { base, .. } => f(base),
            K::Binary { lhs, rhs, .. }
            | K::Index {
                base: lhs,
                index: rhs,
            } => {
                f(lhs);
                f(rhs);
            }
            K::Call { callee, args } => {
                if let Callee::Pointer(p) = callee {
                    f(p);
                }
                args.iter().for_each(f);
            }
            K::MapLookup { key, .. } | K::MapRead { key, .. } => f(key),
            K::StructLit(fields) => fields.iter().for_each(|x| f(&x.value)),
            K::ArrayLit(xs) | K::StrConcat(xs) | K::Print { values: xs, .. } => {
                xs.iter().for_each(f)
            }
            K::ArrayRepeat { value, .. } => f(value),
            K::Select { cond, then, els } => {
                f(cond);
                f(then);
                f(els);
            }
            K::Switch {
                scrutinee,
                arms,
                default,
            } => {
                f(scrutinee);
                arms.iter().for_each(|a| f(&a.result));
                f(default);
            }
            K::RingbufReserve { size, .. } => {
                if let Some(s) = size {
                    f(s);
                }
            }
            K::RingbufSubmit { ptr, .. } | K::ObjDelete(ptr) => f(ptr),
            K::RingbufOutput { value, .. } => f(value),
            K::RingbufRead { timeout_ms, .. } => {
                if let Some(t) = timeout_ms {
                    f(t)
                }
            }
            K::RingbufOnEvent { .. } | K::RingbufDispatch { .. } | K::ObjNew { .. } => {}
            K::Value(_)
            | K::Local(_)
            | K::Global(_)
            | K::ConfigField { .. }
            | K::FnRef(_)
            | K::StructOpsRef(_) => {}
        }
    }

    /// This expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        self.for_each_child(|c| c.walk(f));
    }
}
