//! The grammar, construct by construct: each test parses source and checks the
//! tree's shape (printed compactly as an s-expression).

use ksc_frontend::ast::*;
use ksc_frontend::parse;

fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Char(c) => format!("'{}'", *c as char),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Null => "null".into(),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs)),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sx(operand)),
        ExprKind::Cast { expr, ty } => format!("(as {} {})", sx(expr), tx(ty)),
        ExprKind::Call { callee, args } => format!(
            "(call {}{})",
            sx(callee),
            args.iter()
                .map(|a| format!(" {}", sx(a)))
                .collect::<String>()
        ),
        ExprKind::Field { base, field, arrow } => {
            format!(
                "({} {} {})",
                if *arrow { "->" } else { "." },
                sx(base),
                field.name
            )
        }
        ExprKind::Index { base, index } => format!("(idx {} {})", sx(base), sx(index)),
        ExprKind::StructLit { name, fields } => format!(
            "(struct {}{})",
            name.name,
            fields
                .iter()
                .map(|f| format!(" {}={}", f.name.name, sx(&f.value)))
                .collect::<String>()
        ),
        ExprKind::ArrayLit(v) => format!("[{}]", v.iter().map(sx).collect::<Vec<_>>().join(" ")),
        ExprKind::ArrayRepeat { value, count } => format!("[{}; {}]", sx(value), sx(count)),
        ExprKind::Match { scrutinee, arms } => format!(
            "(match {}{})",
            sx(scrutinee),
            arms.iter()
                .map(|a| format!(" {}=>{}", px(&a.pattern), sx(&a.body)))
                .collect::<String>()
        ),
        ExprKind::If { cond, then, els } => format!("(if {} {} {})", sx(cond), sx(then), sx(els)),
        ExprKind::Ternary { cond, then, els } => {
            format!("(? {} {} {})", sx(cond), sx(then), sx(els))
        }
        ExprKind::Sizeof(t) => format!("(sizeof {})", tx(t)),
        ExprKind::Block(b) => format!("{{{} stmts}}", b.stmts.len()),
        ExprKind::New { ty, args } => format!(
            "(new {}{})",
            ty.name,
            args.iter()
                .map(|a| format!(" {}", sx(a)))
                .collect::<String>()
        ),
        ExprKind::Error => "ERROR".into(),
    }
}

fn px(p: &Pattern) -> String {
    match p {
        Pattern::Int(n, _) => n.to_string(),
        Pattern::Char(c, _) => format!("'{}'", *c as char),
        Pattern::Bool(b, _) => b.to_string(),
        Pattern::Name(n) => n.name.clone(),
        Pattern::Default(_) => "default".into(),
    }
}

fn tx(t: &Type) -> String {
    match &t.kind {
        TypeKind::Prim(p) => format!("{p:?}").to_lowercase(),
        TypeKind::Named(n) => n.name.clone(),
        TypeKind::Str(ArrayLen::Lit(n, _)) => format!("str({n})"),
        TypeKind::Str(ArrayLen::Const(c)) => format!("str({})", c.name),
        TypeKind::Pointer(t) => format!("*{}", tx(t)),
        TypeKind::Array(t, Some(ArrayLen::Lit(n, _))) => format!("[{}; {n}]", tx(t)),
        TypeKind::Array(t, Some(ArrayLen::Const(c))) => format!("[{}; {}]", tx(t), c.name),
        TypeKind::Array(t, None) => format!("[{}]", tx(t)),
        TypeKind::Function(f) => format!(
            "fn({}){}",
            f.params
                .iter()
                .map(|p| tx(&p.ty))
                .collect::<Vec<_>>()
                .join(", "),
            f.ret
                .as_ref()
                .map(|r| format!(" -> {}", tx(&r.ty)))
                .unwrap_or_default()
        ),
        TypeKind::Error => "ERROR".into(),
    }
}

fn parse_ok(src: &str) -> File {
    let p = parse(src);
    assert!(
        !p.has_errors(),
        "unexpected errors in:\n{src}\n{}",
        ksc_frontend::diag::render("test.ks", src, &p.diagnostics)
    );
    p.file
}

/// The statements of `fn f() { <body> }`.
fn stmts(body: &str) -> Vec<Stmt> {
    let file = parse_ok(&format!("fn f() {{\n{body}\n}}\n"));
    match file.items.into_iter().next().map(|i| i.kind) {
        Some(ItemKind::Fn(f)) => f.body.stmts,
        other => panic!("expected a function, got {other:?}"),
    }
}

/// The expression of `var x = <e>`.
fn expr(e: &str) -> String {
    let s = stmts(&format!("var x = {e}"));
    match &s[0].kind {
        StmtKind::Var { init: Some(e), .. } => sx(e),
        other => panic!("{other:?}"),
    }
}

fn errors(src: &str) -> Vec<(usize, String)> {
    let p = parse(src);
    p.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            (
                ksc_frontend::span::line_col(src, d.span.start as usize).0,
                d.message.clone(),
            )
        })
        .collect()
}

#[test]
fn precedence_follows_c() {
    assert_eq!(expr("a + b * c"), "(+ a (* b c))");
    assert_eq!(expr("a - b - c"), "(- (- a b) c)");
    assert_eq!(expr("a << 2 + 1"), "(<< a (+ 2 1))");
    assert_eq!(expr("a < b == c < d"), "(== (< a b) (< c d))");
    // C's precedence, warts included: `&` binds looser than `==`.
    assert_eq!(expr("a & b == c"), "(& a (== b c))");
    assert_eq!(expr("a | b ^ c & d"), "(| a (^ b (& c d)))");
    assert_eq!(expr("a || b && c"), "(|| a (&& b c))");
    assert_eq!(expr("c ? a : b ? d : e"), "(? c a (? b d e))");
    assert_eq!(expr("!a && ~b"), "(&& (Not a) (BitNot b))");
}

#[test]
fn casts_bind_between_unary_and_binary() {
    assert_eq!(expr("(pid_tgid >> 32) as u32"), "(as (>> pid_tgid 32) u32)");
    assert_eq!(expr("-x as u32"), "(as (Neg x) u32)");
    assert_eq!(expr("a * b as u64"), "(* a (as b u64))");
    assert_eq!(expr("data as *EthHdr"), "(as data *EthHdr)");
    assert_eq!(expr("x as u32 < y"), "(< (as x u32) y)");
    assert_eq!(expr("p as *u8 as u64"), "(as (as p *u8) u64)");
}

#[test]
fn unary_pointer_operators() {
    assert_eq!(expr("*p + 1"), "(+ (Deref p) 1)");
    assert_eq!(expr("&buf[0]"), "(AddrOf (idx buf 0))");
    assert_eq!(expr("(*hdr).version"), "(. (Deref hdr) version)");
    assert_eq!(
        expr("&buf_ptr->data[0]"),
        "(AddrOf (idx (-> buf_ptr data) 0))"
    );
}

#[test]
fn postfix_chains() {
    assert_eq!(
        expr("ctx->data_end - ctx->data"),
        "(- (-> ctx data_end) (-> ctx data))"
    );
    assert_eq!(expr("ctx.packet().len"), "(. (call (. ctx packet)) len)");
    assert_eq!(expr("m[k].count"), "(. (idx m k) count)");
    assert_eq!(expr("f(1, g(2), )"), "(call f 1 (call g 2))");
}

#[test]
fn literals() {
    assert_eq!(expr("0x1F"), "31");
    assert_eq!(expr("0o17"), "15");
    assert_eq!(expr("0b101"), "5");
    assert_eq!(expr("1_000_000"), "1000000");
    assert_eq!(expr("18446744073709551615"), "18446744073709551615");
    assert_eq!(expr("'a'"), "'a'");
    assert_eq!(expr(r"'\n'"), "'\n'");
    assert_eq!(expr(r#""a\tb\x41\0""#), "\"a\\tbA\\0\"");
    assert_eq!(expr("null"), "null");
    assert_eq!(expr("none"), "null");
    assert_eq!(expr("true"), "true");
}

#[test]
fn aggregate_expressions() {
    assert_eq!(expr("[1, 2, 3]"), "[1 2 3]");
    assert_eq!(expr("[0; 256]"), "[0; 256]");
    assert_eq!(expr("Point { x: 1, y: 2 }"), "(struct Point x=1 y=2)");
    assert_eq!(expr("Point {\n x: 1,\n y: 2\n}"), "(struct Point x=1 y=2)");
    assert_eq!(expr("Empty {}"), "(struct Empty)");
    assert_eq!(expr("sizeof(EthHdr)"), "(sizeof EthHdr)");
    assert_eq!(expr("sizeof(*u8)"), "(sizeof *u8)");
}

#[test]
fn match_and_if_expressions() {
    assert_eq!(
        expr("match (p) {\n IPPROTO_TCP: XDP_PASS,\n 80: 1,\n -1: 2,\n 'a': 3,\n default: XDP_DROP\n}"),
        "(match p IPPROTO_TCP=>XDP_PASS 80=>1 -1=>2 'a'=>3 default=>XDP_DROP)"
    );
    assert_eq!(
        expr("match (x) { 1: a, _: b }"),
        "(match x 1=>a default=>b)"
    );
    assert_eq!(
        expr("if (t == null) { 5000 } else { t }"),
        "(if (== t null) 5000 t)"
    );
    assert_eq!(
        expr("if (a) { 1 } else if (b) { 2 } else { 3 }"),
        "(if a 1 (if b 2 3))"
    );
    assert_eq!(
        expr("match (a) {\n 1: match (b) { 2: x, default: y },\n default: z\n}"),
        "(match a 1=>(match b 2=>x default=>y) default=>z)"
    );
}

// docs/language.md, "Syntax the reference accepts".
#[test]
fn reference_syntax() {
    // Match arms with blocks, `bool` patterns.
    assert_eq!(
        expr(
            "match (p) {\n 1: { print(\"a\")\n 2 },\n true: {\n },\n false: 3,\n default: { x }\n}"
        ),
        "(match p 1=>{2 stmts} true=>{0 stmts} false=>3 default=>{1 stmts})"
    );
    // A match statement with block arms separated by line breaks.
    let s = stmts("match (x) {\n 1: {\n a()\n }\n default: {\n b()\n }\n}\nreturn 1");
    assert_eq!(s.len(), 2);
    // `if (var x = e)`, with and without a type and `else`.
    let s =
        stmts("if (var s = m[k]) {\n s.n = 1\n} else {\n m[k] = 1\n}\nif (var n: u32 = f()) g(n)");
    match &s[0].kind {
        StmtKind::IfVar {
            name,
            ty: None,
            init,
            els: Some(_),
            ..
        } => assert_eq!((name.name.as_str(), sx(init).as_str()), ("s", "(idx m k)")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &s[1].kind,
        StmtKind::IfVar {
            ty: Some(_),
            els: None,
            ..
        }
    ));
    // Keywords as field names: declarations, literals, `.` and `->`.
    let f = parse_ok("struct H {\n type: u16,\n match: u8\n}\nfn f() {\n var h = H { type: 1, match: 2 }\n h.type = h.match\n}\n");
    match &f.items[0].kind {
        ItemKind::Struct(s) => {
            let names: Vec<&str> = s.fields.iter().map(|f| f.name.name.as_str()).collect();
            assert_eq!(names, ["type", "match"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(expr("H { type: 1, match: 2 }"), "(struct H type=1 match=2)");
    assert_eq!(expr("p->type + q.match"), "(+ (-> p type) (. q match))");
}

#[test]
fn statements_without_semicolons() {
    let s = stmts("var a = 1\nvar b: u32\nb = a\n*p = 3\n-x\nb += 1; b <<= 2");
    let kinds: Vec<String> = s
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Var { name, .. } => format!("var {}", name.name),
            StmtKind::Assign { target, op, value } => {
                format!(
                    "{} {}= {}",
                    sx(target),
                    op.map(|o| o.symbol()).unwrap_or(""),
                    sx(value)
                )
            }
            StmtKind::Expr(e) => sx(e),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "var a",
            "var b",
            "b = a",
            "(Deref p) = 3",
            "(Neg x)",
            "b += 1",
            "b <<= 2"
        ]
    );
}

#[test]
fn continuation_lines() {
    // An operator or `)` on the next line continues the expression.
    assert_eq!(expr("a\n  + b\n  + c"), "(+ (+ a b) c)");
    assert_eq!(expr("f(a,\n b,\n c)"), "(call f a b c)");
    assert_eq!(expr("a &&\n b"), "(&& a b)");
    assert_eq!(expr("c\n ? a\n : b"), "(? c a b)");
}

#[test]
fn if_forms() {
    let s = stmts(
        "if (x) return 1\nif (x)\n  return 2\nif (a) { } else if (b) { } else { }\nif (x)\n{\n}\nelse\n{\n}\nif (a) if (b) c() else d()",
    );
    assert_eq!(s.len(), 5);
    // Dangling else binds to the nearest if.
    match &s[4].kind {
        StmtKind::If {
            els: None, then, ..
        } => {
            assert!(matches!(then.kind, StmtKind::If { els: Some(_), .. }))
        }
        other => panic!("{other:?}"),
    }
    match &s[2].kind {
        StmtKind::If { els: Some(e), .. } => {
            assert!(matches!(e.kind, StmtKind::If { els: Some(_), .. }))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn loops_and_control_flow() {
    let s = stmts(
        "for (i in 0..(len / 2)) { continue }\nfor (k, v) in counters { break }\nwhile (n < 10) { n += 1 }\nloop { break }\nreturn\n",
    );
    assert!(matches!(&s[0].kind, StmtKind::ForRange { var, .. } if var.name == "i"));
    assert!(
        matches!(&s[1].kind, StmtKind::ForEach { key, value, .. } if key.name == "k" && value.name == "v")
    );
    assert!(matches!(&s[2].kind, StmtKind::While { .. }));
    assert!(matches!(&s[3].kind, StmtKind::Loop { .. }));
    assert!(matches!(&s[4].kind, StmtKind::Return(None)));
}

#[test]
fn errors_and_cleanup() {
    let s = stmts(
        "try {\n throw 5\n} catch 1 {\n} catch PARSE_ERROR {\n}\ncatch _ { }\ndefer f(x)\ndefer {\n g()\n}\ndelete m[k]\nthrow E",
    );
    match &s[0].kind {
        StmtKind::Try { catches, .. } => {
            assert!(matches!(catches[0].pattern, CatchPattern::Int(1, _)));
            assert!(
                matches!(&catches[1].pattern, CatchPattern::Name(n) if n.name == "PARSE_ERROR")
            );
            assert!(matches!(catches[2].pattern, CatchPattern::Any(_)));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&s[1].kind, StmtKind::Defer(d) if matches!(d.kind, StmtKind::Expr(_))));
    assert!(matches!(&s[2].kind, StmtKind::Defer(d) if matches!(d.kind, StmtKind::Block(_))));
    assert!(matches!(&s[3].kind, StmtKind::Delete { .. }));
    assert!(matches!(&s[4].kind, StmtKind::Throw(_)));
}

#[test]
fn types() {
    let file = parse_ok(
        "struct S {\n a: u8[64],\n b: [u8; 256],\n c: [u8 14],\n d: str(16),\n e: *[u8],\n f: fn(i32, i32) -> i32,\n g: fn(error_code: i32) -> bool,\n h: fn(*u8, u32) -> hash: u64,\n i: *u8[4],\n j: size_t\n k: u32[N]\n}",
    );
    let ItemKind::Struct(s) = &file.items[0].kind else {
        panic!()
    };
    let got: Vec<String> = s.fields.iter().map(|f| tx(&f.ty)).collect();
    assert_eq!(
        got,
        [
            "[u8; 64]",
            "[u8; 256]",
            "[u8; 14]",
            "str(16)",
            "*[u8]",
            "fn(i32, i32) -> i32",
            "fn(i32) -> bool",
            "fn(*u8, u32) -> u64",
            "*[u8; 4]",
            "sizet",
            "[u32; N]"
        ]
    );
}

#[test]
fn top_level_items() {
    let src = r#"
include "generated/common_kfuncs.kh"
import utils from "./common/utils.ks"
import ml from "./ml/threat.py"
config network {
    enable_logging: bool = true,
    max_packet_size: u32 = 1500,
    blocked_ports: u16[5] = [22, 23, 135, 445, 3389],
}
var counters : array<u32, u64>(256)
@flags(BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU) pin var cache : lru_hash<u32, u64>(1024, numa_node = 0)
pin @flags(BPF_F_NO_PREALLOC) var flows : hash<u32, u64>(2048)
var events : ringbuf<Event>(4096)
var global_counter: u32 = 0
var inferred = 42
var uninit: str(128)
pin var pinned: u64 = 0
local var nonce: u64 = 0x123456789ABCDEF0
const MAX: u32 = 1000
type IpAddress = u32
type Handler = fn(error_code: i32) -> bool
enum ParseError { TOO_SHORT = 1, BAD = 2, NEG = -1, NEXT }
extern bpf_ktime_get_ns() -> u64
extern bpf_trace_printk(fmt: *u8, fmt_size: u32) -> i32
@helper pub fn h() -> u32 { return 1 }
@helper
priv fn p() { }
@tc("ingress")
fn t(ctx: *__sk_buff) -> i32 { return TC_ACT_OK }
@probe("vfs_read+109")
fn pr() -> i32 { return 0 }
@tracepoint("sched/sched_switch")
fn tp(ctx: *trace_event_raw_sched_switch) -> i32 { return 0 }
fn named(a: i32, b: i32) -> sum: i32 { sum = a + b
 return }
@struct_ops("sched_ext_ops")
impl sched {
    fn init() -> i32 { return 0 }
    @helper fn enqueue(p: *u8, f: u64) -> void { }
    name: "simple_fifo",
    timeout_ms: 0,
}
"#;
    let file = parse_ok(src);
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Include(_) => "include",
            ItemKind::Import(_) => "import",
            ItemKind::Config(_) => "config",
            ItemKind::Map(_) => "map",
            ItemKind::Global(_) => "global",
            ItemKind::Const(_) => "const",
            ItemKind::TypeAlias(_) => "type",
            ItemKind::Enum(_) => "enum",
            ItemKind::Extern(_) => "extern",
            ItemKind::Fn(_) => "fn",
            ItemKind::Impl(_) => "impl",
            ItemKind::Struct(_) => "struct",
            ItemKind::Error => "error",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "include", "import", "import", "config", "map", "map", "map", "map", "global",
            "global", "global", "global", "global", "const", "type", "type", "enum", "extern",
            "extern", "fn", "fn", "fn", "fn", "fn", "fn", "impl"
        ]
    );
    let ItemKind::Map(m) = &file.items[5].kind else {
        panic!()
    };
    assert!(m.pin);
    assert_eq!(file.items[5].attrs[0].name.name, "flags");
    assert_eq!(m.args.len(), 2);
    assert_eq!(m.args[1].name.as_ref().unwrap().name, "numa_node");
    let ItemKind::Map(m) = &file.items[6].kind else {
        panic!()
    };
    assert!(m.pin && file.items[6].attrs.len() == 1);
    let ItemKind::Global(g) = &file.items[12].kind else {
        panic!()
    };
    assert!(g.local && !g.pin);
    let ItemKind::Fn(f) = &file.items[24].kind else {
        panic!()
    };
    assert_eq!(f.ret.as_ref().unwrap().name.as_ref().unwrap().name, "sum");
    let ItemKind::Impl(i) = &file.items[25].kind else {
        panic!()
    };
    assert_eq!(i.members.len(), 4);
}

#[test]
fn spans_point_at_source() {
    let src = "fn f() {\n    var x = a + b\n}\n";
    let s = stmts("    var x = a + b");
    let StmtKind::Var { init: Some(e), .. } = &s[0].kind else {
        panic!()
    };
    let full = format!("fn f() {{\n{}\n}}\n", "    var x = a + b");
    assert_eq!(&full[e.span.start as usize..e.span.end as usize], "a + b");
    assert_eq!(full, src);
}

#[test]
fn pin_local_is_an_error() {
    assert_eq!(
        errors("var a: u32 = 0\npin local var x: u32 = 0\n"),
        [(2, "a `local var` cannot be pinned".to_string())]
    );
}

#[test]
fn old_program_syntax_is_explained() {
    let src = "config c { x: u32 = 1 }\nprogram packet_filter : xdp {\n    fn main(ctx: *xdp_md) -> xdp_action {\n        return XDP_PASS\n    }\n}\n";
    let p = parse(src);
    let errs: Vec<_> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        ksc_frontend::span::line_col(src, errs[0].span.start as usize).0,
        2
    );
    assert!(errs[0]
        .help
        .as_deref()
        .unwrap()
        .contains("@xdp fn packet_filter(ctx: *xdp_md) -> xdp_action"));
}

#[test]
fn several_errors_are_all_reported() {
    let src = "fn a() {\n    var x = = 1\n    return 0\n}\n\nfn b() {\n    if x > 0 { }\n    var ok = 1\n}\n\nfn c() -> u32 {\n    return 1 2\n}\n";
    let lines: Vec<usize> = errors(src).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, [2, 7, 12]);
}

/// `new T(...)` by position (`new` stays a name), `delete p` of an object.
#[test]
fn new_and_delete_object() {
    assert_eq!(expr("new T()"), "(new T)");
    assert_eq!(
        expr("new T(GFP_ATOMIC | __GFP_ZERO)"),
        "(new T (| GFP_ATOMIC __GFP_ZERO))"
    );
    assert_eq!(expr("new(1)"), "(call new 1)");
    let s = stmts("var p = new T()\ndelete p\ndelete m[k]");
    assert!(matches!(&s[1].kind, StmtKind::DeleteObj(e) if matches!(e.kind, ExprKind::Name(_))));
    assert!(matches!(&s[2].kind, StmtKind::Delete { .. }));
    let e = errors("fn f() {\n    var p = make T()\n}\n");
    assert!(
        e.iter()
            .any(|(l, m)| *l == 2 && m.contains("unexpected name `T` after `make`")),
        "{e:?}"
    );
}
