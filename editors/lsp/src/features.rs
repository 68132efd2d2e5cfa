//! The answers to the editor's questions, from the last check of the
//! document ([`Analysis`]).

use ksc_frontend::lexer::lex_file;
use ksc_frontend::token::Tok;
use ksc_frontend::{FileId, Severity, Span};
use ksc_ir::{ExprKind, FnKind, Function, TypeKind, HELPERS};
use lsp_types::{self as lsp, Url};

use crate::analysis::{Analysis, DeclKind};
use crate::pos::{offset, path_of, range, uri_of};
use crate::{btfview, Docs};

pub struct Server<'p> {
    pub(crate) docs: Docs,
    python: Option<&'p dyn ksc_midend::PythonBridge>,
}

/// A name in the source: its token's text and byte range.
pub(crate) struct Word {
    pub name: String,
    pub start: u32,
    pub end: u32,
    /// Written after `.` or `->` (a field or method).
    pub member: bool,
}

/// Attributes only items other than functions carry (`@struct_ops impl`,
/// `@export`); a function's are the checker's
/// ([`ksc_midend::FUNCTION_ATTRIBUTES`]).
const ITEM_ATTRIBUTES: &[&str] = &["struct_ops", "export"];

const KEYWORDS: &[&str] = &[
    "fn", "var", "const", "config", "local", "for", "in", "pin", "type", "struct", "enum", "if",
    "else", "while", "loop", "break", "continue", "return", "import", "pub", "priv", "impl",
    "true", "false", "null", "none", "try", "catch", "throw", "defer", "delete", "match", "extern",
    "include", "as", "sizeof", "new",
];

const BUILTINS: &[(&str, &str)] = &[
    ("print", "print(format, values...): one line of text"),
    ("load", "load(program) -> ProgramHandle"),
    ("attach", "attach(handle, target, flags) -> i32"),
    ("detach", "detach(handle)"),
    ("register", "register(impl) -> i32"),
    ("test", "test(program, context) -> result"),
    ("sleep", "sleep(ms)"),
    ("exec", "exec(script)"),
    ("htons", "htons(u16) -> u16"),
    ("ntohs", "ntohs(u16) -> u16"),
    ("htonl", "htonl(u32) -> u32"),
    ("ntohl", "ntohl(u32) -> u32"),
    ("daemon", "daemon()"),
];

impl<'p> Server<'p> {
    pub fn new(python: Option<&'p dyn ksc_midend::PythonBridge>) -> Self {
        Server {
            docs: Docs::default(),
            python,
        }
    }

    /// A new text of an open document: check it again.
    pub fn update(&mut self, uri: Url, text: String) {
        let a = Analysis::new(&path_of(&uri), &text, self.python);
        if a.parsed {
            self.docs.last_good.insert(uri.clone(), a.clone());
        }
        self.docs.analysis.insert(uri.clone(), a);
        self.docs.text.insert(uri, text);
    }

    /// The open documents and their texts.
    pub fn open_documents(&self) -> Vec<(Url, String)> {
        self.docs
            .text
            .iter()
            .map(|(u, t)| (u.clone(), t.clone()))
            .collect()
    }

    pub fn close(&mut self, uri: &Url) {
        self.docs.text.remove(uri);
        self.docs.analysis.remove(uri);
        self.docs.last_good.remove(uri);
    }

    /// Diagnostics to publish after a check of `uri`: for it and for each
    /// file it includes or imports (the `ksc check` diagnostics located in
    /// that file).
    pub fn diagnostics(&mut self, uri: &Url) -> Vec<(Url, Vec<lsp::Diagnostic>)> {
        let mut out = self.diagnostics_now(uri);
        // A file the program no longer reads keeps no stale diagnostics.
        let now: Vec<Url> = out.iter().map(|(u, _)| u.clone()).collect();
        let before = self.docs.published.insert(uri.clone(), now.clone());
        for u in before.unwrap_or_default() {
            if !now.contains(&u) {
                out.push((u, Vec::new()));
            }
        }
        out
    }

    fn diagnostics_now(&self, uri: &Url) -> Vec<(Url, Vec<lsp::Diagnostic>)> {
        let Some(a) = self.docs.analysis.get(uri) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (id, f) in a.files.iter() {
            let file_uri = if id == FileId::MAIN {
                uri.clone()
            } else {
                match uri_of(&f.name) {
                    Some(u) => u,
                    None => continue,
                }
            };
            let ds = a
                .diagnostics
                .iter()
                .filter(|d| d.span.file == id)
                .map(|d| to_lsp_diagnostic(a, &file_uri, d))
                .collect();
            out.push((file_uri, ds));
        }
        out
    }

    fn at(&self, p: &lsp::TextDocumentPositionParams) -> Option<(&Analysis, FileId, u32)> {
        let uri = &p.text_document.uri;
        // The file may be the open document or one it includes: find the
        // check that read it.
        if let Some(a) = self.docs.analysis.get(uri) {
            let text = self.docs.text.get(uri)?;
            return Some((a, FileId::MAIN, offset(text, p.position)));
        }
        let path = path_of(uri);
        self.docs.analysis.values().find_map(|a| {
            let id = a.file_named(&path)?;
            Some((a, id, offset(a.text(id), p.position)))
        })
    }

    pub fn hover(&self, p: lsp::HoverParams) -> Option<lsp::Hover> {
        let (a, file, at) = self.at(&p.text_document_position_params)?;
        let word = word_at(a.text(file), file, at);
        let text = hover_text(a, file, at, word.as_ref())?;
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: text,
            }),
            range: word.map(|w| range(a.text(file), w.start, w.end)),
        })
    }

    pub fn definition(&self, p: lsp::GotoDefinitionParams) -> Option<lsp::GotoDefinitionResponse> {
        let (a, file, at) = self.at(&p.text_document_position_params)?;
        let word = word_at(a.text(file), file, at)?;
        let loc = match definition(a, file, &word)? {
            Def::Span(s) => location(a, s)?,
            Def::Kernel(name, field) => {
                let path = btfview::btf_view_path(&name)?;
                // The field's line in the view, else the struct's.
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let line = text
                    .lines()
                    .position(|l| match &field {
                        Some(f) => l.trim_start().starts_with(&format!("{f}:")),
                        None => l.starts_with("struct "),
                    })
                    .unwrap_or(0) as u32;
                let at = lsp::Position::new(line, 0);
                lsp::Location::new(Url::from_file_path(path).ok()?, lsp::Range::new(at, at))
            }
        };
        Some(lsp::GotoDefinitionResponse::Scalar(loc))
    }

    pub fn references(&self, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
        let (a, file, at) = self.at(&p.text_document_position)?;
        let word = word_at(a.text(file), file, at)?;
        let def = definition(a, file, &word);
        let mut out = Vec::new();
        if let Some((f, l)) = a.local_at(file, word.start) {
            // A local: its declaration and every use in its function.
            let decl = f.locals[l].span;
            if p.context.include_declaration {
                out.extend(location(a, decl));
            }
            f.body.walk_exprs(&mut |e| {
                if matches!(e.kind, ExprKind::Local(id) if id.0 as usize == l) {
                    out.extend(location(a, e.span));
                }
            });
            return Some(out);
        }
        let def = def?;
        for (id, f) in a.files.iter() {
            for w in words(&f.text, id) {
                if w.name != word.name {
                    continue;
                }
                if a.local_at(id, w.start).is_some() {
                    continue;
                }
                let same = match (&def, definition(a, id, &w)) {
                    (Def::Span(s), Some(Def::Span(t))) => *s == t,
                    (Def::Kernel(n, f), Some(Def::Kernel(m, g))) => *n == m && *f == g,
                    _ => false,
                };
                let is_decl = matches!(&def, Def::Span(s) if s.file == id && s.start == w.start);
                if same && (!is_decl || p.context.include_declaration) {
                    out.extend(location(a, Span::new(id, w.start as usize, w.end as usize)));
                }
            }
        }
        Some(out)
    }

    pub fn symbols(&self, p: lsp::DocumentSymbolParams) -> Option<lsp::DocumentSymbolResponse> {
        let a = self.docs.analysis.get(&p.text_document.uri)?;
        let text = a.text(FileId::MAIN);
        let mut out = Vec::new();
        for d in a.decls.iter().filter(|d| d.span.file == FileId::MAIN) {
            use lsp::SymbolKind as K;
            let kind = match d.kind {
                DeclKind::Function | DeclKind::Extern => K::FUNCTION,
                DeclKind::Map | DeclKind::Global => K::VARIABLE,
                DeclKind::Const => K::CONSTANT,
                DeclKind::Config | DeclKind::Import | DeclKind::Impl => K::MODULE,
                DeclKind::Struct => K::STRUCT,
                DeclKind::Enum => K::ENUM,
                DeclKind::Alias => K::TYPE_PARAMETER,
                DeclKind::Field | DeclKind::Variant => continue,
            };
            let children: Vec<lsp::DocumentSymbol> = a
                .decls
                .iter()
                .filter(|c| c.parent.as_deref() == Some(&d.name) && c.span.file == FileId::MAIN)
                .map(|c| symbol(text, &c.name, K::FIELD, c.span, c.name_span, None))
                .collect();
            let detail = d.attrs.first().cloned();
            let mut s = symbol(text, &d.name, kind, d.span, d.name_span, detail);
            if !children.is_empty() {
                s.children = Some(children);
            }
            out.push(s);
        }
        Some(lsp::DocumentSymbolResponse::Nested(out))
    }

    pub fn formatting(
        &self,
        p: lsp::DocumentFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>, String> {
        let Some(text) = self.docs.text.get(&p.text_document.uri) else {
            return Ok(None);
        };
        // `ksc fmt`'s formatter; text that does not parse is left alone
        // (the diagnostics say why).
        let new = match ksc_frontend::format_source(text) {
            Ok(t) => t,
            Err(ksc_frontend::FormatError::Parse(_)) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if new == *text {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(vec![lsp::TextEdit::new(
            range(text, 0, text.len() as u32),
            new,
        )]))
    }

    /// The check to answer completion from: the current one when the text
    /// parsed, else the last that did (positions in it may be off; names
    /// are looked up by the enclosing function's name).
    fn for_completion(&self, uri: &Url) -> Option<&Analysis> {
        let a = self.docs.analysis.get(uri)?;
        if a.parsed {
            return Some(a);
        }
        self.docs.last_good.get(uri).or(Some(a))
    }

    pub fn completion(&self, p: lsp::CompletionParams) -> Option<lsp::CompletionResponse> {
        let uri = &p.text_document_position.text_document.uri;
        let text = self.docs.text.get(uri)?;
        let at = offset(text, p.text_document_position.position) as usize;
        let a = self.for_completion(uri)?;
        let items = crate::complete::complete(a, self.docs.analysis.get(uri)?, text, at);
        Some(lsp::CompletionResponse::Array(items))
    }

    pub fn signature_help(&self, p: lsp::SignatureHelpParams) -> Option<lsp::SignatureHelp> {
        let uri = &p.text_document_position_params.text_document.uri;
        let text = self.docs.text.get(uri)?;
        let at = offset(text, p.text_document_position_params.position) as usize;
        let a = self.for_completion(uri)?;
        crate::complete::signature_help(a, text, at)
    }

    pub fn semantic_tokens(
        &self,
        p: lsp::SemanticTokensParams,
    ) -> Option<lsp::SemanticTokensResult> {
        let a = self.docs.analysis.get(&p.text_document.uri)?;
        Some(lsp::SemanticTokensResult::Tokens(
            crate::complete::semantic_tokens(a),
        ))
    }

    pub fn code_actions(&self, p: lsp::CodeActionParams) -> Option<lsp::CodeActionResponse> {
        let uri = &p.text_document.uri;
        let text = self.docs.text.get(uri)?;
        Some(crate::complete::code_actions(
            uri,
            text,
            &p.context.diagnostics,
        ))
    }
}

fn symbol(
    text: &str,
    name: &str,
    kind: lsp::SymbolKind,
    span: Span,
    sel: Span,
    detail: Option<String>,
) -> lsp::DocumentSymbol {
    let full = range(text, span.start, span.end.max(sel.end));
    #[allow(deprecated)]
    lsp::DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: full,
        selection_range: range(text, sel.start, sel.end),
        children: None,
    }
}

pub(crate) fn location(a: &Analysis, s: Span) -> Option<lsp::Location> {
    let f = a.files.get(s.file)?;
    Some(lsp::Location::new(
        uri_of(&f.name)?,
        range(&f.text, s.start, s.end),
    ))
}

fn to_lsp_diagnostic(a: &Analysis, uri: &Url, d: &ksc_frontend::Diagnostic) -> lsp::Diagnostic {
    let text = a.text(d.span.file);
    let mut related = Vec::new();
    for (s, label) in &d.secondary {
        if let Some(loc) = location(a, *s) {
            related.push(lsp::DiagnosticRelatedInformation {
                location: loc,
                message: label.clone(),
            });
        }
    }
    let here = lsp::Location::new(uri.clone(), range(text, d.span.start, d.span.end));
    for n in &d.notes {
        related.push(lsp::DiagnosticRelatedInformation {
            location: here.clone(),
            message: format!("note: {n}"),
        });
    }
    if let Some(h) = &d.help {
        related.push(lsp::DiagnosticRelatedInformation {
            location: here.clone(),
            message: format!("help: {h}"),
        });
    }
    let mut message = d.message.clone();
    if !d.label.is_empty() {
        message.push_str(&format!(" ({})", d.label));
    }
    lsp::Diagnostic {
        range: here.range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Note => lsp::DiagnosticSeverity::INFORMATION,
        }),
        source: Some("ksc".into()),
        // `ksc explain CODE` explains it (docs/diagnostics.md).
        code: d
            .code
            .map(|c| lsp::NumberOrString::String(c.as_str().into())),
        message,
        related_information: (!related.is_empty()).then_some(related),
        // The help travels as data too, for the code actions.
        data: d.help.as_ref().map(|h| serde_json::json!({ "help": h })),
        ..Default::default()
    }
}

/// Every name in `text`, from the lexer.
pub(crate) fn words(text: &str, file: FileId) -> Vec<Word> {
    let lexed = lex_file(file, text);
    let mut out = Vec::new();
    let toks = &lexed.tokens;
    for (i, (s, t, e)) in toks.iter().enumerate() {
        if let Tok::Ident(name) = t {
            out.push(Word {
                name: name.clone(),
                start: *s as u32,
                end: *e as u32,
                member: is_member(toks, i),
            });
        }
    }
    out
}

/// Whether token `i` is written after `.` or `->` as a field or method
/// (`-> T` after a parameter list is a return type).
pub(crate) fn is_member(toks: &[ksc_frontend::lexer::Spanned], i: usize) -> bool {
    match i.checked_sub(1).map(|j| &toks[j].1) {
        Some(Tok::Dot) => true,
        Some(Tok::Arrow) => !matches!(i.checked_sub(2).map(|j| &toks[j].1), Some(Tok::RParen)),
        _ => false,
    }
}

/// The name under (or just before) the cursor.
pub(crate) fn word_at(text: &str, file: FileId, at: u32) -> Option<Word> {
    words(text, file)
        .into_iter()
        .find(|w| w.start <= at && at <= w.end)
}

/// Whether member `w` is written after an imported module's name
/// (`filter.classify`).
fn of_import(a: &Analysis, file: FileId, w: &Word) -> bool {
    let text = a.text(file);
    let recv: String = text[..w.start as usize]
        .trim_end_matches(['.', '>', '-'])
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .chars()
        .rev()
        .collect();
    a.decls
        .iter()
        .any(|d| d.kind == DeclKind::Import && d.name == recv)
}

pub(crate) enum Def {
    Span(Span),
    /// A kernel struct (and one of its fields), shown from BTF.
    Kernel(String, Option<String>),
}

/// Where the name `w` of file `file` is declared.
pub(crate) fn definition(a: &Analysis, file: FileId, w: &Word) -> Option<Def> {
    if let Some((f, l)) = a.local_at(file, w.start) {
        return Some(Def::Span(f.locals[l].span));
    }
    if w.member {
        // `module.name`: a declaration of an imported module.
        if of_import(a, file, w) {
            let d = a
                .decls
                .iter()
                .find(|d| d.name == w.name && d.span.file != file && d.kind != DeclKind::Field)?;
            return Some(Def::Span(d.name_span));
        }
        // `base.field`: the struct of the field expression's base.
        let (_, e) = a.expr_at(file, w.start)?;
        let m = a.module.as_ref()?;
        if let ExprKind::Field { base, field, .. } = &e.kind {
            let mut t = base.ty;
            if let TypeKind::Pointer(p) = m.types[t.index()].kind {
                t = p;
            }
            if let TypeKind::Struct(s) = &m.types[t.index()].kind {
                if let Some(d) = a.field_decl(&s.name, &w.name) {
                    return Some(Def::Span(d.name_span));
                }
                if s.origin != ksc_ir::StructOrigin::User {
                    return Some(Def::Kernel(s.name.clone(), Some(w.name.clone())));
                }
                let _ = field;
            }
        }
        return None;
    }
    if let Some(d) = a.decl(&w.name) {
        return Some(Def::Span(d.name_span));
    }
    if let Some(d) = a
        .decls
        .iter()
        .find(|d| d.name == w.name && d.kind == DeclKind::Variant)
    {
        return Some(Def::Span(d.name_span));
    }
    if btfview::btf().is_some_and(|b| b.has_struct(&w.name)) {
        return Some(Def::Kernel(w.name.clone(), None));
    }
    None
}

fn code(s: &str) -> String {
    format!("```kernelscript\n{s}\n```")
}

fn hover_text(a: &Analysis, file: FileId, at: u32, w: Option<&Word>) -> Option<String> {
    if let Some((f, l)) = a.local_at(file, at) {
        let local = &f.locals[l];
        let what = if (l as u32) < f.params {
            "parameter"
        } else {
            "variable"
        };
        return Some(format!(
            "{}\n\n{what} of `{}`",
            code(&format!("var {}: {}", local.name, a.type_name(local.ty))),
            f.name
        ));
    }
    if let Some(w) = w {
        if !w.member || of_import(a, file, w) {
            if let Some(s) = name_hover(a, &w.name) {
                return Some(s);
            }
        } else if let Some((_, e)) = a.expr_at(file, at) {
            return Some(code(&format!(".{}: {}", w.name, a.type_name(e.ty))));
        }
    }
    let (_, e) = a.expr_at(file, at)?;
    Some(code(&a.type_name(e.ty)))
}

/// What a top-level name is: a user declaration, a BPF helper, a kfunc or
/// a kernel struct.
pub(crate) fn name_hover(a: &Analysis, name: &str) -> Option<String> {
    if let Some(f) = a.function_named(name) {
        let mut s = code(&fn_signature(a, f));
        if let FnKind::Program(_) = f.kind {
            s.push_str("\n\neBPF program");
        }
        return Some(s);
    }
    if let Some(m) = a
        .module
        .as_ref()
        .and_then(|m| m.maps.iter().find(|m| m.name == name))
    {
        let written = a
            .text(m.span.file)
            .get(m.span.start as usize..m.span.end as usize)
            .and_then(|s| s.lines().next())
            .unwrap_or(name)
            .to_string();
        return Some(format!(
            "{}\n\nmap: key `{}`, value `{}`, {} entries{}",
            code(&written),
            a.type_name(m.key),
            a.type_name(m.value),
            m.max_entries,
            if m.pinned { ", pinned" } else { "" }
        ));
    }
    if let Some(g) = a
        .module
        .as_ref()
        .and_then(|m| m.globals.iter().find(|g| g.name == name))
    {
        return Some(code(&format!("var {}: {}", g.name, a.type_name(g.ty))));
    }
    if let Some(d) = a.decl(name) {
        let text = a.text(d.span.file);
        let first = text
            .get(d.span.start as usize..d.span.end as usize)
            .and_then(|s| s.lines().next())
            .unwrap_or(name);
        return Some(code(first.trim_end_matches('{').trim_end()));
    }
    if let Some(h) = ksc_ir::helper_named(name) {
        return Some(format!(
            "{}\n\nBPF helper {}; callable from {}",
            code(&helper_signature(h)),
            h.id.0,
            h.programs.attributes().join(", ")
        ));
    }
    if let Some((_, b)) = BUILTINS.iter().find(|(n, _)| *n == name) {
        return Some(format!("{}\n\nbuilt-in", code(b)));
    }
    if let Some((sig, _)) = btfview::kfunc_signature(name) {
        return Some(format!("{}\n\nkernel function (BTF)", code(&sig)));
    }
    if let Some(l) = btfview::btf().and_then(|b| b.find_struct(name)) {
        let fields: Vec<String> = l
            .fields
            .iter()
            .take(40)
            .map(|f| format!("    {}: {},", f.name, btfview::type_text(&f.ty)))
            .collect();
        let more = if l.fields.len() > 40 { "\n    ..." } else { "" };
        return Some(code(&format!(
            "struct {} {{ // kernel, {} bytes\n{}{more}\n}}",
            name,
            l.size,
            fields.join("\n")
        )));
    }
    None
}

pub(crate) fn helper_signature(h: &ksc_ir::Helper) -> String {
    let ps: Vec<String> = h
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| format!("arg{}: {}", i + 1, helper_type(*p)))
        .collect();
    let var = if h.variadic { ", ..." } else { "" };
    format!(
        "{}({}{var}) -> {}",
        h.name,
        ps.join(", "),
        helper_type(h.ret)
    )
}

fn helper_type(t: ksc_ir::HelperType) -> &'static str {
    use ksc_ir::HelperType as H;
    match t {
        H::U32 => "u32",
        H::U64 => "u64",
        H::I32 => "i32",
        H::Ptr => "*void",
        H::PtrOrNull => "*void (may be null)",
    }
}

pub(crate) fn fn_params(a: &Analysis, f: &Function) -> Vec<String> {
    f.locals
        .iter()
        .take(f.params as usize)
        .map(|l| format!("{}: {}", l.name, a.type_name(l.ty)))
        .collect()
}

pub(crate) fn fn_signature(a: &Analysis, f: &Function) -> String {
    let attr = match &f.kind {
        FnKind::Userspace | FnKind::Extern { .. } => String::new(),
        k => format!("{} ", k.attribute()),
    };
    let kw = if matches!(f.kind, FnKind::Extern { .. }) {
        "extern"
    } else {
        "fn"
    };
    // A module's function is `m__f` in the IR, `m.f` where it is called.
    let name = match f.name.split_once("__") {
        Some((m, n)) if f.span.file != FileId::MAIN && !m.is_empty() => format!("{m}.{n}"),
        _ => f.name.clone(),
    };
    format!(
        "{attr}{kw} {name}({}) -> {}",
        fn_params(a, f).join(", "),
        a.type_name(f.ret)
    )
}

/// Helpers the enclosing function may call (all, outside a program).
pub(crate) fn helpers_for(f: Option<&Function>) -> impl Iterator<Item = &'static ksc_ir::Helper> {
    let prog = match f.map(|f| &f.kind) {
        Some(FnKind::Program(p)) => Some(p.clone()),
        _ => None,
    };
    HELPERS
        .iter()
        .filter(move |h| prog.as_ref().is_none_or(|p| h.programs.allows(p)))
}

/// Attributes a function or item may carry.
pub(crate) fn attributes() -> impl Iterator<Item = &'static str> {
    ksc_midend::FUNCTION_ATTRIBUTES
        .iter()
        .chain(ITEM_ATTRIBUTES)
        .copied()
}

pub(crate) fn keywords() -> &'static [&'static str] {
    KEYWORDS
}

pub(crate) fn builtins() -> &'static [(&'static str, &'static str)] {
    BUILTINS
}

pub fn legend() -> lsp::SemanticTokensLegend {
    crate::complete::legend()
}
