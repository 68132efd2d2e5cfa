//! The abstract syntax tree: KernelScript as written, every node with its span.
//!
//! The AST keeps the source's shape (attributes are raw, names unresolved,
//! types as written); the midend resolves it and lowers it to the IR. `Error`
//! variants stand where the parser recovered from a syntax error, so later
//! passes can skip them without reporting twice.

use serde::{Deserialize, Serialize};

use crate::span::Span;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole source file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct File {
    pub items: Vec<Item>,
}

/// `@name` or `@name(args)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: Ident,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    Default,
    Pub,
    Priv,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub attrs: Vec<Attribute>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ItemKind {
    /// `config name { field: T = v, ... }`
    Config(ConfigDecl),
    /// `[pin] [local] var name [: T] [= v]` at top level.
    Global(GlobalVar),
    /// `[pin] var name : kind<K, V>(max_entries, extra = v)`
    Map(MapDecl),
    /// `const NAME [: T] = v`
    Const(ConstDecl),
    /// `type Name = T`
    TypeAlias(TypeAlias),
    Struct(StructDecl),
    Enum(EnumDecl),
    Fn(FnDecl),
    /// `impl name { fn ...  field: value }` (struct_ops).
    Impl(ImplDecl),
    /// `extern name(params) -> T`: a kernel function that already exists.
    Extern(ExternDecl),
    /// `include "x.kh"`
    Include(StrLit),
    /// `import name from "x.ks"` / `"x.py"`
    Import(ImportDecl),
    /// A syntax error the parser recovered from.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigDecl {
    pub name: Ident,
    pub fields: Vec<ConfigField>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: Ident,
    pub ty: Type,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalVar {
    pub pin: bool,
    pub local: bool,
    pub name: Ident,
    pub ty: Option<Type>,
    pub init: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapDecl {
    pub pin: bool,
    pub name: Ident,
    /// `hash`, `array`, `percpu_hash`, `percpu_array`, `lru_hash`, `ringbuf`, ...
    pub kind: Ident,
    /// Key and value types as written (`ringbuf<T>` has one).
    pub type_args: Vec<Type>,
    /// `(1024, extra = v)`: positional arguments first (max_entries).
    pub args: Vec<MapArg>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapArg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstDecl {
    pub name: Ident,
    pub ty: Option<Type>,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeAlias {
    pub name: Ident,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumDecl {
    pub name: Ident,
    pub variants: Vec<EnumVariant>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumVariant {
    pub name: Ident,
    pub value: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnDecl {
    pub vis: Visibility,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<RetSpec>,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: Ident,
    pub ty: Type,
    pub span: Span,
}

/// `-> T` or the named form `-> name: T`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetSpec {
    pub name: Option<Ident>,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImplDecl {
    pub name: Ident,
    pub members: Vec<ImplMember>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImplMember {
    Fn(Box<Item>),
    /// `name: value` (e.g. `name: "simple_fifo"` in a sched_ext impl).
    Field {
        name: Ident,
        value: Expr,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExternDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<Type>,
    /// Always an error; kept so the checker can point at it.
    pub body: Option<Block>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportDecl {
    pub name: Ident,
    pub path: StrLit,
}

// ---------------------------------------------------------------- types

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Type {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrimType {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    Bool,
    Char,
    Void,
    SizeT,
}

impl PrimType {
    pub fn from_name(name: &str) -> Option<PrimType> {
        Some(match name {
            "u8" => PrimType::U8,
            "u16" => PrimType::U16,
            "u32" => PrimType::U32,
            "u64" => PrimType::U64,
            "i8" => PrimType::I8,
            "i16" => PrimType::I16,
            "i32" => PrimType::I32,
            "i64" => PrimType::I64,
            "bool" => PrimType::Bool,
            "char" => PrimType::Char,
            "void" => PrimType::Void,
            "size_t" => PrimType::SizeT,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TypeKind {
    Prim(PrimType),
    /// A struct, enum, alias or built-in named type (`xdp_md`, `xdp_action`...).
    Named(Ident),
    /// `str(N)`
    Str(ArrayLen),
    /// `*T`
    Pointer(Box<Type>),
    /// `T[N]`, `[T; N]`, `[T N]`; `[T]` (no length) only behind a pointer.
    Array(Box<Type>, Option<ArrayLen>),
    /// `fn(A, b: B) -> R`
    Function(FnType),
    Error,
}

/// An array or string length: a literal or a named constant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArrayLen {
    Lit(u64, Span),
    Const(Ident),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnType {
    pub params: Vec<FnTypeParam>,
    pub ret: Option<Box<RetSpec>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnTypeParam {
    pub name: Option<Ident>,
    pub ty: Type,
}

// ---------------------------------------------------------------- statements

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StmtKind {
    /// `var x [: T] [= e]` or `const x [: T] = e`
    Var {
        is_const: bool,
        name: Ident,
        ty: Option<Type>,
        init: Option<Expr>,
    },
    /// `target = e`, `target op= e` (op is the binary operator of a compound assignment).
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
    },
    Expr(Expr),
    If {
        cond: Expr,
        then: Box<Stmt>,
        els: Option<Box<Stmt>>,
    },
    /// `if (var x [: T] = e) { } else { }`: `x` is bound to `e` (evaluated
    /// once) and exists in the then-branch only (docs/language.md,
    /// "Syntax the reference accepts").
    IfVar {
        name: Ident,
        ty: Option<Type>,
        init: Expr,
        then: Box<Stmt>,
        els: Option<Box<Stmt>>,
    },
    /// `for (i in start..end) { }`: `end` excluded.
    ForRange {
        var: Ident,
        start: Expr,
        end: Expr,
        body: Block,
    },
    /// `for (k, v) in m { }`
    ForEach {
        key: Ident,
        value: Ident,
        iter: Expr,
        body: Block,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Loop {
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// `delete m[k]`
    Delete {
        map: Expr,
        key: Expr,
    },
    /// `delete p` of an object `new` allocated.
    DeleteObj(Expr),
    Try {
        body: Block,
        catches: Vec<Catch>,
    },
    Throw(Expr),
    Defer(Box<Stmt>),
    Block(Block),
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    pub pattern: CatchPattern,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CatchPattern {
    /// `catch 1`, `catch -1`
    Int(i128, Span),
    /// `catch PARSE_ERROR_TOO_SHORT` (an enum constant or const)
    Name(Ident),
    /// `catch _`
    Any(Span),
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    /// `!`
    Not,
    /// `-`
    Neg,
    /// `~`
    BitNot,
    /// `*p`
    Deref,
    /// `&x`
    AddrOf,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Int(u64),
    Bool(bool),
    Char(u8),
    Str(String),
    /// `null` or `none`.
    Null,
    Name(Ident),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    /// `e as T`
    Cast {
        expr: Box<Expr>,
        ty: Type,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `e.f` (`arrow: false`) or `e->f` (`arrow: true`).
    Field {
        base: Box<Expr>,
        field: Ident,
        arrow: bool,
    },
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `Name { a: e, b: e }`
    StructLit {
        name: Ident,
        fields: Vec<FieldInit>,
    },
    /// `[a, b, c]`
    ArrayLit(Vec<Expr>),
    /// `[value; count]`
    ArrayRepeat {
        value: Box<Expr>,
        count: Box<Expr>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<MatchArm>,
    },
    /// `if (c) { a } else { b }` as an expression.
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `c ? a : b`
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    Sizeof(Type),
    /// `{ stmts }` as a match arm's body: its statements run, and its last
    /// statement, when an expression, is the arm's value.
    Block(Block),
    /// `new T()` / `new T(flags)`: a zeroed `T` on the heap, as a `*T`
    /// (`new` is a name elsewhere, so it is recognised by position).
    New {
        ty: Ident,
        args: Vec<Expr>,
    },
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchArm {
    pub pattern: Pattern,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Pattern {
    Int(i128, Span),
    Char(u8, Span),
    /// `true` or `false` (a `match` on a `bool`).
    Bool(bool, Span),
    /// A constant: enum variant or `const`.
    Name(Ident),
    /// `default` or `_`
    Default(Span),
}
