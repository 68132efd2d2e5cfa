//! One check of a program, kept for the editor's questions: what `ksc
//! check` reported, the IR (whole, or as far as it was typed when the
//! program has errors) and the declarations of every file it reads.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ksc_frontend::ast::{self, ItemKind};
use ksc_frontend::{Diagnostic, FileId, SourceMap, Span};
use ksc_ir::{Expr, ExprKind, Function, Module, TypeId};
use ksc_midend::PythonBridge;

/// What a top-level name (or a struct's field, an enum's variant) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Function,
    Map,
    Global,
    Const,
    Config,
    Struct,
    Field,
    Enum,
    Variant,
    Alias,
    Extern,
    Impl,
    Import,
}

/// A declaration as written.
#[derive(Clone, Debug)]
pub struct Decl {
    pub name: String,
    pub kind: DeclKind,
    /// The name where it is declared.
    pub name_span: Span,
    /// The whole declaration (its first line is shown on hover).
    pub span: Span,
    /// For a field or variant: the struct or enum it belongs to.
    pub parent: Option<String>,
    /// Attributes as written (`@xdp`), for functions.
    pub attrs: Vec<String>,
}

/// One check of the program whose main file is open.
#[derive(Clone)]
pub struct Analysis {
    /// The program's files: the main file first, then those it includes
    /// and imports (read from disk).
    pub files: SourceMap,
    /// Exactly what `ksc check` reports.
    pub diagnostics: Vec<Diagnostic>,
    /// The IR: the program's, or as far as the checker got (after a
    /// syntax error, from the tree the parser recovered).
    pub module: Option<Module>,
    pub decls: Vec<Decl>,
    /// Whether the main file parsed without errors (such an analysis is
    /// kept for completion while later edits do not parse).
    pub parsed: bool,
}

impl Analysis {
    /// Check `text` as the main file `path`, through the entry point of
    /// `ksc check` ([`ksc_midend::check_main`]).
    pub fn new(path: &str, text: &str, python: Option<&dyn PythonBridge>) -> Analysis {
        let mut files = SourceMap::single(path, text);
        // A panic in the checker must not take the editor's server down:
        // the diagnostics then say so, and the server keeps running.
        let program = catch_unwind(AssertUnwindSafe(|| {
            ksc_midend::check_main(&mut files, python)
        }));
        let program = match program {
            Ok(p) => p,
            Err(_) => {
                return Analysis {
                    files: SourceMap::single(path, text),
                    diagnostics: vec![Diagnostic::error(
                        ksc_frontend::diag::codes::INTERNAL,
                        Span::new(FileId::MAIN, 0, 0),
                        "internal compiler error: the checker panicked on this file",
                    )],
                    module: None,
                    decls: Vec::new(),
                    parsed: false,
                }
            }
        };
        let parsed = program.checked.is_some() || !ksc_frontend::parse(text).has_errors();
        let (files, module) = match program.checked {
            Some(c) => (files, c.module.or(c.partial.map(|m| *m))),
            None => recovered(path, text, python),
        };
        let mut decls = Vec::new();
        for (id, f) in files.iter() {
            let p = ksc_frontend::parse_file(id, &f.text);
            collect_decls(&p.file.items, &mut decls);
        }
        Analysis {
            files,
            diagnostics: program.diagnostics,
            module,
            decls,
            parsed,
        }
    }

    pub fn file_named(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .find(|(_, f)| f.name == name)
            .map(|(id, _)| id)
    }

    pub fn text(&self, file: FileId) -> &str {
        self.files.get(file).map_or("", |f| &f.text)
    }

    /// How a type is written in KernelScript.
    pub fn type_name(&self, t: TypeId) -> String {
        let Some(m) = &self.module else {
            return "?".into();
        };
        ksc_ir::type_display(&m.types, t)
    }

    /// The function (of the IR) whose declaration holds `at`.
    pub fn function_at(&self, file: FileId, at: u32) -> Option<&Function> {
        let m = self.module.as_ref()?;
        m.functions
            .iter()
            .filter(|f| f.span.file == file && f.span.start <= at && at <= f.span.end)
            .min_by_key(|f| f.span.end - f.span.start)
    }

    /// The smallest expression of the IR that covers `at`, with its function.
    pub fn expr_at(&self, file: FileId, at: u32) -> Option<(&Function, &Expr)> {
        let m = self.module.as_ref()?;
        let mut best: Option<(&Function, &Expr)> = None;
        for f in m.functions.iter().filter(|f| f.span.file == file) {
            if !(f.span.start <= at && at <= f.span.end) {
                continue;
            }
            f.body.walk_exprs(&mut |e| {
                let s = e.span;
                if s.file == file && s.start <= at && at <= s.end && s.end > s.start {
                    let better = match best {
                        None => true,
                        Some((_, b)) => s.end - s.start < b.span.end - b.span.start,
                    };
                    if better {
                        best = Some((f, e));
                    }
                }
            });
        }
        best
    }

    /// The local variable named at `span` (its use or its declaration).
    /// Only a local whose name is the one written there counts (the
    /// checker's own temporaries carry the span of what they stand for).
    pub fn local_at(&self, file: FileId, at: u32) -> Option<(&Function, usize)> {
        let f = self.function_at(file, at)?;
        let text = self.text(file).as_bytes();
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut s = (at as usize).min(text.len());
        while s > 0 && ident(text[s - 1]) {
            s -= 1;
        }
        let mut e = (at as usize).min(text.len());
        while e < text.len() && ident(text[e]) {
            e += 1;
        }
        let word = std::str::from_utf8(&text[s..e]).unwrap_or("");
        if let Some(i) = f.locals.iter().position(|l| {
            l.span.file == file && l.span.start <= at && at <= l.span.end && l.name == word
        }) {
            return Some((f, i));
        }
        match self.expr_at(file, at) {
            Some((f, e)) => match e.kind {
                ExprKind::Local(l) if f.locals[l.index()].name == word => Some((f, l.index())),
                _ => None,
            },
            None => None,
        }
    }

    /// The function of that name; one of an imported module (`m.f`,
    /// `m__f` in the IR) if the program has none.
    pub fn function_named(&self, name: &str) -> Option<&Function> {
        let fs = &self.module.as_ref()?.functions;
        let suffix = format!("__{name}");
        fs.iter()
            .find(|f| f.name == name)
            .or_else(|| fs.iter().find(|f| f.name.ends_with(&suffix)))
    }

    pub fn decl(&self, name: &str) -> Option<&Decl> {
        self.decls
            .iter()
            .find(|d| d.name == name && d.kind != DeclKind::Field && d.kind != DeclKind::Variant)
    }

    /// A user struct's field declaration.
    pub fn field_decl(&self, parent: &str, name: &str) -> Option<&Decl> {
        self.decls.iter().find(|d| {
            d.kind == DeclKind::Field && d.name == name && d.parent.as_deref() == Some(parent)
        })
    }
}

/// After a syntax error `ksc check` stops; the editor still wants types
/// and names, so the tree the parser recovered is checked too (its
/// diagnostics are not shown: they are not what `ksc check` says).
fn recovered(
    path: &str,
    text: &str,
    python: Option<&dyn PythonBridge>,
) -> (SourceMap, Option<Module>) {
    let mut files = SourceMap::single(path, text);
    let module = catch_unwind(AssertUnwindSafe(|| {
        let parsed = ksc_frontend::parse(text);
        let loaded = ksc_midend::imports::load(parsed.file, &mut files);
        let c = ksc_midend::check_loaded_with_python(&loaded, &files, python);
        c.module.or(c.partial.map(|m| *m))
    }))
    .ok()
    .flatten();
    (files, module)
}

fn collect_decls(items: &[ast::Item], out: &mut Vec<Decl>) {
    for item in items {
        let attrs: Vec<String> = item
            .attrs
            .iter()
            .map(|a| format!("@{}", a.name.name))
            .collect();
        let mut push = |name: &ast::Ident, kind: DeclKind, span: Span, parent: Option<&str>| {
            out.push(Decl {
                name: name.name.clone(),
                kind,
                name_span: name.span,
                span,
                parent: parent.map(str::to_string),
                attrs: attrs.clone(),
            })
        };
        match &item.kind {
            ItemKind::Fn(f) => push(&f.name, DeclKind::Function, item.span, None),
            ItemKind::Map(m) => push(&m.name, DeclKind::Map, item.span, None),
            ItemKind::Global(g) => push(&g.name, DeclKind::Global, item.span, None),
            ItemKind::Const(c) => push(&c.name, DeclKind::Const, item.span, None),
            ItemKind::Config(c) => push(&c.name, DeclKind::Config, item.span, None),
            ItemKind::TypeAlias(t) => push(&t.name, DeclKind::Alias, item.span, None),
            ItemKind::Extern(e) => push(&e.name, DeclKind::Extern, item.span, None),
            ItemKind::Impl(i) => push(&i.name, DeclKind::Impl, item.span, None),
            ItemKind::Import(i) => push(&i.name, DeclKind::Import, item.span, None),
            ItemKind::Struct(s) => {
                push(&s.name, DeclKind::Struct, item.span, None);
                for f in &s.fields {
                    push(&f.name, DeclKind::Field, f.name.span, Some(&s.name.name));
                }
            }
            ItemKind::Enum(e) => {
                push(&e.name, DeclKind::Enum, item.span, None);
                for v in &e.variants {
                    push(&v.name, DeclKind::Variant, v.name.span, Some(&e.name.name));
                }
            }
            ItemKind::Include(_) | ItemKind::Error => {}
        }
    }
}
