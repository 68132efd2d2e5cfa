//! Completion and signature help (which work on text being typed, so they
//! read the text around the cursor rather than the tree), semantic tokens
//! (from the lexer, names classified by the check) and code actions.

use ksc_frontend::lexer::lex_file;
use ksc_frontend::token::Tok;
use ksc_frontend::FileId;
use ksc_ir::{FnKind, Function, MapKind, TypeId, TypeKind};
use ksc_midend::btf::BtfType;
use lsp_types::{self as lsp, CompletionItem, CompletionItemKind as CK, Url};

use crate::analysis::{Analysis, DeclKind};
use crate::btfview;
use crate::features::{
    attributes, builtins, fn_params, fn_signature, helper_signature, helpers_for, is_member,
    keywords,
};
use crate::pos::range;

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn item(label: &str, kind: CK, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..Default::default()
    }
}

/// The function being written at `at`: the last `fn NAME(` before the
/// cursor, looked up by name (so an older check still answers).
fn enclosing<'a>(a: &'a Analysis, text: &str, at: usize) -> Option<&'a Function> {
    let before = &text[..at];
    let mut i = before.len();
    while let Some(j) = before[..i].rfind("fn ") {
        let rest = &before[j + 3..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        let starts_word = j == 0 || !is_ident(before[..j].chars().last().unwrap_or(' '));
        if starts_word && !name.is_empty() {
            return a.module.as_ref()?.functions.iter().find(|f| f.name == name);
        }
        i = j;
    }
    None
}

/// A type met while following `a.b->c`: the checker's, or a kernel
/// struct's member read from BTF (kernel structs met through pointers
/// are filled lazily by the checker).
enum Ty {
    Ir(TypeId),
    Btf(BtfType),
    Map(MapKind),
}

fn strip_ptr(a: &Analysis, t: Ty) -> Ty {
    match t {
        Ty::Ir(id) => match a.module.as_ref().map(|m| &m.types[id.index()].kind) {
            Some(TypeKind::Pointer(p)) => Ty::Ir(*p),
            _ => Ty::Ir(id),
        },
        Ty::Btf(BtfType::Pointer(p)) => Ty::Btf(*p),
        t => t,
    }
}

/// The fields of a struct type: (name, type shown, type).
fn fields_of(a: &Analysis, t: &Ty) -> Vec<(String, String, Ty)> {
    let m = match a.module.as_ref() {
        Some(m) => m,
        None => return Vec::new(),
    };
    let btf_fields = |name: &str| -> Vec<(String, String, Ty)> {
        btfview::btf()
            .and_then(|b| b.find_struct(name))
            .map(|l| {
                l.fields
                    .into_iter()
                    .map(|f| (f.name, btfview::type_text(&f.ty), Ty::Btf(f.ty)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match t {
        Ty::Ir(id) => match &m.types[id.index()].kind {
            TypeKind::Struct(s) if s.fields.is_empty() => btf_fields(&s.name),
            TypeKind::Struct(s) => s
                .fields
                .iter()
                .map(|f| (f.name.clone(), a.type_name(f.ty), Ty::Ir(f.ty)))
                .collect(),
            _ => Vec::new(),
        },
        Ty::Btf(BtfType::Struct(s)) if s.fields.is_empty() => btf_fields(&s.name),
        Ty::Btf(BtfType::Struct(s)) => s
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    btfview::type_text(&f.ty),
                    Ty::Btf(f.ty.clone()),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The type of the receiver chain `x.y->z` that ends `head`.
fn receiver(a: &Analysis, f: Option<&Function>, head: &str) -> Option<Ty> {
    // Split `x.y->z` into names, reading backwards.
    let mut names = Vec::new();
    let mut rest = head.trim_end();
    loop {
        let name: String = rest.chars().rev().take_while(|c| is_ident(*c)).collect();
        if name.is_empty() {
            return None;
        }
        rest = &rest[..rest.len() - name.len()];
        names.push(name.chars().rev().collect::<String>());
        let r = rest.trim_end();
        if let Some(r) = r.strip_suffix("->").or_else(|| r.strip_suffix('.')) {
            rest = r;
        } else {
            break;
        }
    }
    names.reverse();
    let m = a.module.as_ref()?;
    let first = &names[0];
    let mut t = if let Some(l) = f.and_then(|f| f.locals.iter().rev().find(|l| l.name == *first)) {
        Ty::Ir(l.ty)
    } else if let Some(g) = m.globals.iter().find(|g| g.name == *first) {
        Ty::Ir(g.ty)
    } else if let Some(mp) = m.maps.iter().find(|mp| mp.name == *first) {
        Ty::Map(mp.kind)
    } else {
        return None;
    };
    for n in &names[1..] {
        let base = strip_ptr(a, t);
        t = fields_of(a, &base).into_iter().find(|(f, _, _)| f == n)?.2;
    }
    Some(t)
}

/// Completion at byte `at` of `text`; `a` is the check to read names from
/// (the last one that parsed), `cur` the current one.
pub fn complete(a: &Analysis, _cur: &Analysis, text: &str, at: usize) -> Vec<CompletionItem> {
    let at = at.min(text.len());
    let before = &text[..at];
    let prefix_len = before.chars().rev().take_while(|c| is_ident(*c)).count();
    let prefix = &before[before.len() - prefix_len..];
    let head = &before[..before.len() - prefix_len];
    let f = enclosing(a, text, at);
    let mut out = Vec::new();
    if head.ends_with('@') {
        for at in attributes() {
            out.push(item(at, CK::KEYWORD, Some("attribute".into())));
        }
        return filter(out, prefix);
    }
    let member = head
        .strip_suffix("->")
        .or_else(|| head.strip_suffix('.'))
        // `fn f() -> T`: a return type, not a member.
        .filter(|r| !r.trim_end().ends_with(')'));
    if let Some(recv) = member {
        match receiver(a, f, recv) {
            Some(Ty::Map(kind)) => {
                let methods: &[(&str, &str)] = if kind == MapKind::Ringbuf {
                    &[
                        (
                            "reserve",
                            "reserve() -> *T: a record, null when full (eBPF)",
                        ),
                        ("submit", "submit(record): publish it (eBPF)"),
                        ("discard", "discard(record): drop it (eBPF)"),
                        ("read", "read(): poll the events (userspace)"),
                        ("on_event", "on_event(handler) (userspace)"),
                    ]
                } else {
                    &[("contains_key", "contains_key(key) -> bool")]
                };
                for (n, d) in methods {
                    out.push(item(n, CK::METHOD, Some(d.to_string())));
                }
            }
            Some(t) => {
                let base = strip_ptr(a, t);
                for (name, shown, _) in fields_of(a, &base) {
                    if !name.is_empty() {
                        out.push(item(&name, CK::FIELD, Some(shown)));
                    }
                }
            }
            None => {}
        }
        return filter(out, prefix);
    }
    if let Some(f) = f {
        for l in &f.locals {
            if l.name.starts_with("__") || out.iter().any(|c: &CompletionItem| c.label == l.name) {
                continue;
            }

            out.push(item(&l.name, CK::VARIABLE, Some(a.type_name(l.ty))));
        }
    }
    for d in &a.decls {
        let kind = match d.kind {
            DeclKind::Function | DeclKind::Extern => CK::FUNCTION,
            DeclKind::Map | DeclKind::Global => CK::VARIABLE,
            DeclKind::Const => CK::CONSTANT,
            DeclKind::Struct => CK::STRUCT,
            DeclKind::Enum => CK::ENUM,
            DeclKind::Variant => CK::ENUM_MEMBER,
            DeclKind::Alias => CK::CLASS,
            DeclKind::Config | DeclKind::Import | DeclKind::Impl => CK::MODULE,
            DeclKind::Field => continue,
        };
        let detail = match a.function_named(&d.name) {
            Some(func) if kind == CK::FUNCTION => Some(fn_signature(a, func)),
            _ => None,
        };
        out.push(item(&d.name, kind, detail));
    }
    for h in helpers_for(f) {
        out.push(item(h.name, CK::FUNCTION, Some(helper_signature(h))));
    }
    for (n, d) in builtins() {
        out.push(item(n, CK::FUNCTION, Some(d.to_string())));
    }
    for k in keywords() {
        out.push(item(k, CK::KEYWORD, None));
    }
    for t in [
        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool", "char", "void", "str",
    ] {
        out.push(item(t, CK::TYPE_PARAMETER, Some("type".into())));
    }
    // Kernel names are thousands: offered once a prefix narrows them.
    if prefix.len() >= 2 {
        if let Some(b) = btfview::btf() {
            let in_program = f.is_some_and(|f| !matches!(f.kind, FnKind::Userspace));
            if in_program {
                for k in b
                    .kfuncs()
                    .iter()
                    .filter(|k| k.starts_with(prefix))
                    .take(200)
                {
                    out.push(item(k, CK::FUNCTION, Some("kfunc (kernel BTF)".into())));
                }
            }
            if prefix.len() >= 3 {
                let mut names: Vec<&str> =
                    b.struct_names().filter(|n| n.starts_with(prefix)).collect();
                names.sort();
                for n in names.into_iter().take(200) {
                    out.push(item(n, CK::STRUCT, Some("kernel struct (BTF)".into())));
                }
            }
        }
    }
    filter(out, prefix)
}

fn filter(items: Vec<CompletionItem>, prefix: &str) -> Vec<CompletionItem> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| i.label.starts_with(prefix) && seen.insert(i.label.clone()))
        .collect()
}

/// The call being written at `at`: its callee's name and which argument.
fn open_call(text: &str, at: usize) -> Option<(String, u32)> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut commas = 0u32;
    let mut i = at.min(text.len());
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            b'(' => {
                let name: String = text[..i]
                    .trim_end()
                    .chars()
                    .rev()
                    .take_while(|c| is_ident(*c))
                    .collect();
                return (!name.is_empty()).then(|| (name.chars().rev().collect(), commas));
            }
            b'[' | b'{' => return None,
            b',' if depth == 0 => commas += 1,
            b'\n' if depth == 0 && text[..i].trim_end().ends_with('{') => return None,
            _ => {}
        }
    }
    None
}

pub fn signature_help(a: &Analysis, text: &str, at: usize) -> Option<lsp::SignatureHelp> {
    let (name, active) = open_call(text, at)?;
    let (label, params): (String, Vec<String>) = if let Some(f) = a.function_named(&name) {
        (fn_signature(a, f), fn_params(a, f))
    } else if let Some(h) = ksc_ir::helper_named(&name) {
        let sig = helper_signature(h);
        let inner = sig[sig.find('(')? + 1..sig.rfind(')')?].to_string();
        let ps = inner
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        (sig, ps)
    } else if let Some((sig, ps)) = btfview::kfunc_signature(&name) {
        (sig, ps)
    } else {
        let (_, d) = builtins().iter().find(|(n, _)| *n == name)?;
        (d.to_string(), Vec::new())
    };
    let parameters = params
        .into_iter()
        .map(|p| lsp::ParameterInformation {
            label: lsp::ParameterLabel::Simple(p),
            documentation: None,
        })
        .collect();
    Some(lsp::SignatureHelp {
        signatures: vec![lsp::SignatureInformation {
            label,
            documentation: None,
            parameters: Some(parameters),
            active_parameter: Some(active),
        }],
        active_signature: Some(0),
        active_parameter: Some(active),
    })
}

const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::KEYWORD,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::VARIABLE,
    lsp::SemanticTokenType::PARAMETER,
    lsp::SemanticTokenType::PROPERTY,
    lsp::SemanticTokenType::STRUCT,
    lsp::SemanticTokenType::ENUM,
    lsp::SemanticTokenType::ENUM_MEMBER,
    lsp::SemanticTokenType::TYPE,
    lsp::SemanticTokenType::NUMBER,
    lsp::SemanticTokenType::STRING,
    lsp::SemanticTokenType::DECORATOR,
    lsp::SemanticTokenType::METHOD,
];

const TOKEN_MODIFIERS: &[lsp::SemanticTokenModifier] = &[
    lsp::SemanticTokenModifier::READONLY,
    lsp::SemanticTokenModifier::DEFAULT_LIBRARY,
];

pub fn legend() -> lsp::SemanticTokensLegend {
    lsp::SemanticTokensLegend {
        token_types: TOKEN_TYPES.to_vec(),
        token_modifiers: TOKEN_MODIFIERS.to_vec(),
    }
}

fn ty_index(t: lsp::SemanticTokenType) -> u32 {
    TOKEN_TYPES.iter().position(|x| *x == t).unwrap_or(0) as u32
}

const BUILTIN_TYPES: &[&str] = &[
    "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool", "char", "void", "str",
];

/// Semantic tokens of the main file: keywords, literals, and each name
/// classified by what the check says it is.
pub fn semantic_tokens(a: &Analysis) -> lsp::SemanticTokens {
    use lsp::SemanticTokenType as T;
    let text = a.text(FileId::MAIN);
    let lexed = lex_file(FileId::MAIN, text);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut data = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    let toks = &lexed.tokens;
    let index = NameIndex::new(a);
    for (i, (s, t, e)) in toks.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &toks[j].1);
        let next = toks.get(i + 1).map(|x| &x.1);
        let (kind, mods) = match t {
            Tok::Newline => continue,
            Tok::Int(_) => (T::NUMBER, 0),
            Tok::Str(_) | Tok::Char(_) => (T::STRING, 0),
            Tok::Ident(name) => classify(&index, name, *s as u32, prev, next, is_member(toks, i)),
            _ if Tok::keyword(&text[*s..*e]).is_some() => (T::KEYWORD, 0),
            _ => continue,
        };
        if e <= s || text[*s..*e].contains('\n') {
            continue;
        }
        let line = line_starts.partition_point(|l| *l <= *s) - 1;
        let col = text[line_starts[line]..*s].encode_utf16().count() as u32;
        let len = text[*s..*e].encode_utf16().count() as u32;
        let line = line as u32;
        let delta_col = if line == last_line {
            col - last_col
        } else {
            col
        };
        data.push(lsp::SemanticToken {
            delta_line: line - last_line,
            delta_start: delta_col,
            length: len,
            token_type: ty_index(kind),
            token_modifiers_bitset: mods,
        });
        last_line = line;
        last_col = col;
    }
    lsp::SemanticTokens {
        result_id: None,
        data,
    }
}

/// What the check knows about the main file's names, indexed once per
/// request (a lookup per token would walk the functions again).
struct NameIndex<'a> {
    /// Start of each local's declaration or use: a parameter?
    locals: std::collections::HashMap<u32, bool>,
    decls: std::collections::HashMap<&'a str, DeclKind>,
}

impl<'a> NameIndex<'a> {
    fn new(a: &'a Analysis) -> Self {
        let mut locals = std::collections::HashMap::new();
        let text = a.text(FileId::MAIN);
        if let Some(m) = &a.module {
            for f in m.functions.iter().filter(|f| f.span.file == FileId::MAIN) {
                let written = |s: ksc_ir::Span, name: &str| {
                    text.get(s.start as usize..s.end as usize) == Some(name)
                };
                for (i, l) in f.locals.iter().enumerate() {
                    if l.span.file == FileId::MAIN && written(l.span, &l.name) {
                        locals.insert(l.span.start, (i as u32) < f.params);
                    }
                }
                f.body.walk_exprs(&mut |e| {
                    if let ksc_ir::ExprKind::Local(l) = e.kind {
                        let local = &f.locals[l.index()];
                        if e.span.file == FileId::MAIN && written(e.span, &local.name) {
                            locals.insert(e.span.start, l.0 < f.params);
                        }
                    }
                });
            }
        }
        let mut decls = std::collections::HashMap::new();
        for d in &a.decls {
            if d.kind != DeclKind::Field {
                decls.entry(d.name.as_str()).or_insert(d.kind);
            }
        }
        NameIndex { locals, decls }
    }
}

fn classify(
    a: &NameIndex,
    name: &str,
    at: u32,
    prev: Option<&Tok>,
    next: Option<&Tok>,
    member: bool,
) -> (lsp::SemanticTokenType, u32) {
    use lsp::SemanticTokenType as T;
    const READONLY: u32 = 1;
    const LIBRARY: u32 = 2;
    if matches!(prev, Some(Tok::At)) {
        return (T::DECORATOR, 0);
    }
    if member {
        return if matches!(next, Some(Tok::LParen)) {
            (T::METHOD, 0)
        } else {
            (T::PROPERTY, 0)
        };
    }
    if let Some(param) = a.locals.get(&at) {
        return if *param {
            (T::PARAMETER, 0)
        } else {
            (T::VARIABLE, 0)
        };
    }
    if let Some(kind) = a.decls.get(name) {
        return match kind {
            DeclKind::Function | DeclKind::Extern => (T::FUNCTION, 0),
            DeclKind::Const => (T::VARIABLE, READONLY),
            DeclKind::Struct => (T::STRUCT, 0),
            DeclKind::Enum => (T::ENUM, 0),
            DeclKind::Alias => (T::TYPE, 0),
            DeclKind::Variant => (T::ENUM_MEMBER, 0),
            _ => (T::VARIABLE, 0),
        };
    }
    if BUILTIN_TYPES.contains(&name) {
        return (T::TYPE, LIBRARY);
    }
    if ksc_ir::helper_named(name).is_some() || builtins().iter().any(|(n, _)| *n == name) {
        return (T::FUNCTION, LIBRARY);
    }
    if name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        // Kernel constants (`XDP_PASS`, `ETH_P_IP`).
        return (T::ENUM_MEMBER, READONLY | LIBRARY);
    }
    if btfview::btf().is_some_and(|b| b.has_struct(name)) {
        return (T::STRUCT, LIBRARY);
    }
    (T::VARIABLE, 0)
}

/// Quick fixes for diagnostics whose `help:` is a mechanical edit: the
/// null check a dereference needs, an explicit `as T`, a `match`'s
/// missing `default` arm. The help text is the midend's; the fix is read
/// from the code it quotes.
pub fn code_actions(
    uri: &Url,
    text: &str,
    diags: &[lsp::Diagnostic],
) -> Vec<lsp::CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in diags {
        let Some(help) = d
            .data
            .as_ref()
            .and_then(|v| v.get("help"))
            .and_then(|h| h.as_str())
        else {
            continue;
        };
        let start = crate::pos::offset(text, d.range.start) as usize;
        let end = crate::pos::offset(text, d.range.end) as usize;
        let fix = if d.message.starts_with("potential null pointer dereference") {
            null_check(text, start, help)
        } else if d.message.starts_with("mismatched types") {
            cast(text, start, end, help)
        } else if d.message.contains("`match` needs a `default` arm")
            || d.message.contains("`match` does not cover every value")
        {
            match_default(text, start, end)
        } else {
            None
        };
        if let Some((title, s, e, new)) = fix {
            let edit = lsp::TextEdit::new(range(text, s as u32, e as u32), new);
            let mut changes = std::collections::HashMap::new();
            changes.insert(uri.clone(), vec![edit]);
            out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title,
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d.clone()]),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(changes),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }));
        }
    }
    out
}

type Fix = (String, usize, usize, String);

/// The text between the first backticks of `help` that contains `needle`.
fn quoted<'h>(help: &'h str, needle: &str) -> Option<&'h str> {
    help.split('`')
        .skip(1)
        .step_by(2)
        .find(|q| q.contains(needle))
}

/// Wrap the statement's line in `if (p != null) { ... }`.
fn null_check(text: &str, at: usize, help: &str) -> Option<Fix> {
    let cond = quoted(help, "!= null")?;
    let cond = cond.strip_prefix("if (")?.split(')').next()?;
    let ls = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let le = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[ls..le];
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    let body = line.trim_start();
    // Only a whole statement on its line is moved (a block is not).
    if body.ends_with('{') || body.starts_with('}') {
        return None;
    }
    let new = format!("{indent}if ({cond}) {{\n{indent}    {body}\n{indent}}}");
    Some((format!("Check `{cond}` first"), ls, le, new))
}

/// Replace the expression by `expr as T` (parenthesised unless a name,
/// call or literal).
fn cast(text: &str, start: usize, end: usize, help: &str) -> Option<Fix> {
    let q = quoted(help, " as ")?;
    let (expr, ty) = q.rsplit_once(" as ")?;
    let written = text.get(start..end)?;
    if written != expr {
        return None;
    }
    let simple = expr
        .chars()
        .all(|c| is_ident(c) || c == '.' || c == '>' || c == '-')
        || expr.ends_with(')')
            && expr.chars().take_while(|c| is_ident(*c)).count() > 0
            && !expr.contains(' ');
    let new = if simple {
        format!("{expr} as {ty}")
    } else {
        format!("({expr}) as {ty}")
    };
    Some((format!("Convert with `as {ty}`"), start, end, new))
}

/// Add a `default` arm before the `match`'s closing brace.
fn match_default(text: &str, start: usize, end: usize) -> Option<Fix> {
    let span = text.get(start..end)?;
    let close = start + span.rfind('}')?;
    let ls = text[..close].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[ls..close]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let arm_indent = format!("{indent}    ");
    let before = text[..close].trim_end();
    let comma = if before.ends_with(',') || before.ends_with('{') {
        ""
    } else {
        ","
    };
    let new = format!("{comma}\n{arm_indent}default: 0,\n{indent}");
    Some(("Add a `default` arm".into(), before.len(), close, new))
}
