//! Several files, one program: `include "x.kh"` and `import m from "x.ks"`
//! (docs/language.md, "Several files").
//!
//! [`load`] reads and parses every file the main file names, transitively,
//! and hands the checker one syntax tree holding every module's items:
//!
//! * a header's items are flattened into the file that includes it (a
//!   header holds declarations only; anything else is an error located in
//!   the header); a header included twice by one module is read once;
//! * an imported `.ks` module keeps its items in a namespace: each of its
//!   files gets the module's prefix ([`Loaded::prefixes`]), which the
//!   checker puts before every name declared or looked up in that file, so
//!   a module sees its own items and the built-ins, never its importer's;
//! * `m.x` in an importer (an expression, or the type `m.T`) is rewritten to
//!   the one name `P.x` (`P` the module's prefix), checked here to exist;
//! * a module imported from several places is loaded once: its maps,
//!   globals and configs are the same objects for every importer.
//!
//! Imports of other languages dispatch on the extension (`.py` is not yet
//! supported here).

use ksc_frontend::diag::{codes, Code};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use ksc_frontend::ast::{self, ExprKind as AE, ItemKind, StmtKind as S, TypeKind as T};
use ksc_frontend::{Diagnostic, FileId, SourceMap, Span};

use crate::suggest::suggest;

/// Source files larger than this are refused (as the main file is).
const MAX_BYTES: u64 = 16 << 20;

/// A whole program: every file's items, ready for [`crate::check_loaded`].
pub struct Loaded {
    /// The main file's items, its headers' and every imported module's.
    pub file: ast::File,
    /// Problems reading, parsing or linking the files (not the checker's).
    pub diagnostics: Vec<Diagnostic>,
    /// The namespace of each file, by [`FileId`].
    pub scopes: Vec<Scope>,
}

/// The namespace of a file: where its names are declared and looked up.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Put before its names (`prefix.name`): empty for the main module,
    /// the module's for an imported one, `#N` for header file N.
    pub prefix: String,
    /// The prefixes of the headers the file sees (its module's, transitively).
    pub headers: Vec<String>,
    /// A header: its declarations are program-wide (one type wherever it
    /// is included) and keep their names in the generated code.
    pub header: bool,
}

/// A header, read once per program.
struct Header {
    /// Its prefix and those of the headers it includes.
    prefixes: Vec<String>,
    /// Its names (and those of the headers it includes), with their keys.
    names: HashMap<String, String>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A loaded `.ks` module.
struct Module {
    /// The path as shown in diagnostics.
    shown: String,
    /// Its top-level names (and enum variants, and its headers' names),
    /// with their keys, for `m.x`.
    names: HashMap<String, String>,
}

struct Loader<'f> {
    files: &'f mut SourceMap,
    diags: Vec<Diagnostic>,
    scopes: Vec<Scope>,
    modules: Vec<Module>,
    headers: HashMap<PathBuf, Header>,
    by_path: HashMap<PathBuf, usize>,
    /// Prefixes given to modules so far (also those still loading).
    taken: HashSet<String>,
    /// Modules being loaded, outermost first: (canonical path, shown path).
    stack: Vec<(PathBuf, String)>,
    out: Vec<ast::Item>,
}

/// Read every file `main` (the parsed [`FileId::MAIN`] of `files`)
/// includes or imports, adding each to `files`, and link them.
pub fn load(main: ast::File, files: &mut SourceMap) -> Loaded {
    let main_name = files.name(FileId::MAIN).to_string();
    let main_path = Path::new(&main_name);
    let canon = std::fs::canonicalize(main_path).unwrap_or_else(|_| main_path.to_path_buf());
    let mut l = Loader {
        files,
        diags: Vec::new(),
        scopes: vec![Scope::default()],
        modules: Vec::new(),
        headers: HashMap::new(),
        taken: HashSet::new(),
        by_path: HashMap::new(),
        stack: vec![(canon, main_name.clone())],
        out: Vec::new(),
    };
    let dir = main_path.parent().unwrap_or(Path::new("")).to_path_buf();
    l.module(FileId::MAIN, main, &dir, "");
    let mut scopes = l.scopes;
    scopes.resize(l.files.len(), Scope::default());
    Loaded {
        file: ast::File { items: l.out },
        diagnostics: l.diags,
        scopes,
    }
}

/// `dir/rel` without `.` components and with `x/..` folded, as shown in
/// diagnostics (`lib/../a.ks` is `a.ks`).
fn join(dir: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in dir.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

fn extension(path: &str) -> &str {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
}

impl Loader<'_> {
    fn error(&mut self, code: Code, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, span, msg));
        self.diags.last_mut().unwrap()
    }

    /// Read and parse `path` (named at `at`); `None` (reported) when it
    /// cannot be read.
    fn read(&mut self, path: &Path, at: Span) -> Option<(FileId, ast::File)> {
        let shown = path.display().to_string();
        let text = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(format!("`{shown}` is a directory")),
            Ok(m) if m.len() > MAX_BYTES => Err(format!(
                "`{shown}` is {} bytes; source files are limited to {} MiB",
                m.len(),
                MAX_BYTES >> 20
            )),
            _ => std::fs::read(path)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => format!("file `{shown}` not found"),
                    _ => format!("cannot read `{shown}`: {e}"),
                })
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| format!("`{shown}` is not valid UTF-8"))
                }),
        };
        let text = match text {
            Ok(t) => t,
            Err(msg) => {
                self.error(codes::FILE, at, msg).help =
                    Some("paths are relative to the directory of the file that names them".into());
                return None;
            }
        };
        let id = self.files.add(shown, text);
        let parsed = ksc_frontend::parse_file(id, &self.files.get(id).unwrap().text);
        self.diags.extend(parsed.diagnostics);
        Some((id, parsed.file))
    }

    /// Load one module (the main one, or an imported one with `prefix`):
    /// flatten its headers, load its imports, rewrite its `m.x` names and
    /// add its items to the program. Returns its top-level names.
    fn module(
        &mut self,
        id: FileId,
        file: ast::File,
        dir: &Path,
        prefix: &str,
    ) -> HashMap<String, String> {
        let mut items = Vec::new();
        let mut seen = Header {
            prefixes: Vec::new(),
            names: HashMap::new(),
        };
        self.flatten(file.items, dir, &mut seen, &mut items);
        self.set_scope(
            id,
            Scope {
                prefix: prefix.to_string(),
                headers: seen.prefixes,
                header: false,
            },
        );
        // Imports: alias -> module index.
        let mut aliases: HashMap<String, usize> = HashMap::new();
        for item in &items {
            if let ItemKind::Import(imp) = &item.kind {
                if let Some(m) = self.import(imp, dir) {
                    aliases.entry(imp.name.name.clone()).or_insert(m);
                }
            }
        }
        let mut names = seen.names;
        for n in top_level_names(&items) {
            let key = if prefix.is_empty() {
                n.clone()
            } else {
                format!("{prefix}.{n}")
            };
            names.insert(n, key);
        }
        let mut rw = Rewriter {
            aliases: &aliases,
            modules: &self.modules,
            diags: Vec::new(),
        };
        for item in &mut items {
            rw.item(item);
        }
        let diags = rw.diags;
        self.diags.extend(diags);
        self.out.extend(items);
        names
    }

    fn set_scope(&mut self, id: FileId, scope: Scope) {
        let i = id.0 as usize;
        if self.scopes.len() <= i {
            self.scopes.resize(i + 1, Scope::default());
        }
        self.scopes[i] = scope;
    }

    /// Put `items` into `out`, and for each `include` note the header in
    /// `seen` (its prefixes and names), reading it the first time the
    /// program includes it: its declarations go to the program once.
    fn flatten(
        &mut self,
        items: Vec<ast::Item>,
        dir: &Path,
        seen: &mut Header,
        out: &mut Vec<ast::Item>,
    ) {
        for item in items {
            let ItemKind::Include(path) = &item.kind else {
                out.push(item);
                continue;
            };
            match extension(&path.value) {
                "kh" => {}
                ext @ ("ks" | "py") => {
                    self.error(
                        codes::INCLUDE,
                        path.span,
                        format!("`include` takes a header (`.kh`), not a `.{ext}` file"),
                    )
                    .help = Some(format!(
                        "import a module into a namespace: `import name from \"{}\"`",
                        path.value
                    ));
                    continue;
                }
                _ => {
                    self.error(codes::INCLUDE, path.span, "`include` takes a header file ending in `.kh`")
                        .help = Some("headers hold declarations: structs, enums, type aliases, consts, `extern` functions".into());
                    continue;
                }
            }
            let full = join(dir, &path.value);
            let canon = std::fs::canonicalize(&full).unwrap_or_else(|_| full.clone());
            if let Some(h) = self.headers.get(&canon) {
                // Read once: this module sees what it declared.
                for p in &h.prefixes {
                    if !seen.prefixes.contains(p) {
                        seen.prefixes.push(p.clone());
                    }
                }
                seen.names
                    .extend(h.names.iter().map(|(k, v)| (k.clone(), v.clone())));
                continue;
            }
            let Some((id, header)) = self.read(&full, path.span) else {
                continue;
            };
            // Not an identifier: no module's prefix is the same.
            let prefix = format!("#{}", id.0);
            // Known before its own includes are read: a cycle of headers ends here.
            self.headers.insert(
                canon.clone(),
                Header {
                    prefixes: vec![prefix.clone()],
                    names: HashMap::new(),
                },
            );
            let hdir = full.parent().unwrap_or(Path::new("")).to_path_buf();
            let mut decls = Vec::new();
            for h in header.items {
                if self.declaration_only(&h) {
                    decls.push(h);
                }
            }
            let mut own = Header {
                prefixes: vec![prefix.clone()],
                names: HashMap::new(),
            };
            let mut items = Vec::new();
            self.flatten(decls, &hdir, &mut own, &mut items);
            for n in top_level_names(&items) {
                let key = format!("{prefix}.{n}");
                own.names.insert(n, key);
            }
            self.set_scope(
                id,
                Scope {
                    prefix,
                    headers: own.prefixes.clone(),
                    header: true,
                },
            );
            for p in &own.prefixes {
                if !seen.prefixes.contains(p) {
                    seen.prefixes.push(p.clone());
                }
            }
            seen.names
                .extend(own.names.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.headers.insert(canon, own);
            self.out.extend(items);
        }
    }

    /// Whether a header's item is a declaration; reports it if not.
    fn declaration_only(&mut self, item: &ast::Item) -> bool {
        let (what, at) = match &item.kind {
            ItemKind::Struct(_)
            | ItemKind::Enum(_)
            | ItemKind::TypeAlias(_)
            | ItemKind::Const(_)
            | ItemKind::Include(_)
            | ItemKind::Error => return true,
            ItemKind::Extern(e) if e.body.is_none() => return true,
            ItemKind::Extern(e) => ("an `extern` function with a body", e.name.span),
            ItemKind::Fn(f) => ("a function with a body", f.name.span),
            ItemKind::Map(m) => ("a map", m.name.span),
            ItemKind::Global(g) => ("a global variable", g.name.span),
            ItemKind::Config(c) => ("a config block", c.name.span),
            ItemKind::Impl(i) => ("an `impl` block", i.name.span),
            ItemKind::Import(i) => ("an `import`", i.name.span),
        };
        let program = matches!(item.kind, ItemKind::Fn(_)) && !item.attrs.is_empty();
        let what = if program {
            "a program or attributed function"
        } else {
            what
        };
        self.error(codes::HEADER, at, format!("a header (`.kh`) holds declarations only; this is {what}"))
            .help = Some(
            "put definitions in a `.ks` module and `import` it; a header declares structs, enums, type aliases, consts and `extern` functions".into(),
        );
        false
    }

    /// Load the module `imp` names (once per program); its index.
    fn import(&mut self, imp: &ast::ImportDecl, dir: &Path) -> Option<usize> {
        let span = imp.path.span;
        match extension(&imp.path.value) {
            "ks" => {}
            // The checker collects Python modules (crate::python): the
            // item stays for it.
            "py" => return None,
            "kh" => {
                self.error(
                    codes::INCLUDE,
                    span,
                    "a header (`.kh`) is included, not imported",
                )
                .help = Some(format!("write `include \"{}\"`", imp.path.value));
                return None;
            }
            _ => {
                self.error(
                    codes::INCLUDE,
                    span,
                    "`import` takes a KernelScript module (`.ks`) or a Python module (`.py`)",
                );
                return None;
            }
        }
        let full = join(dir, &imp.path.value);
        let canon = std::fs::canonicalize(&full).unwrap_or_else(|_| full.clone());
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == canon) {
            let mut chain: Vec<&str> = self.stack[pos..].iter().map(|(_, s)| s.as_str()).collect();
            let shown = full.display().to_string();
            chain.push(&shown);
            let chain = chain.join(" -> ");
            self.error(codes::IMPORT_CYCLE, span, format!("import cycle: {chain}"))
                .help = Some(
                "modules cannot import each other; move what both need to a third module".into(),
            );
            return None;
        }
        if let Some(&m) = self.by_path.get(&canon) {
            return Some(m);
        }
        let prefix = self.fresh_prefix(&imp.name.name);
        let (id, file) = self.read(&full, span)?;
        let shown = self.files.name(id).to_string();
        if let Some(main) = file.items.iter().find_map(|i| match &i.kind {
            ItemKind::Fn(f) if f.name.name == "main" => Some(f.name.span),
            _ => None,
        }) {
            let d = Diagnostic::error(codes::MAIN, main, "an imported module has no `main`")
                .with_secondary(span, "imported here")
                .with_help("the program's `main` is in the file given to ksc");
            self.diags.push(d);
        }
        self.stack.push((canon.clone(), shown.clone()));
        let mdir = full.parent().unwrap_or(Path::new("")).to_path_buf();
        let names = self.module(id, file, &mdir, &prefix);
        self.stack.pop();
        self.modules.push(Module { shown, names });
        let m = self.modules.len() - 1;
        self.by_path.insert(canon, m);
        Some(m)
    }

    /// A prefix no other module has: the import's name, numbered if taken.
    fn fresh_prefix(&mut self, name: &str) -> String {
        let p = std::iter::once(name.to_string())
            .chain((2..).map(|n| format!("{name}{n}")))
            .find(|p| !self.taken.contains(p))
            .unwrap();
        self.taken.insert(p.clone());
        p
    }
}

/// A module's top-level names, including enum variants.
fn top_level_names(items: &[ast::Item]) -> HashSet<String> {
    let mut names = HashSet::new();
    for item in items {
        let name = match &item.kind {
            ItemKind::Config(c) => &c.name,
            ItemKind::Global(g) => &g.name,
            ItemKind::Map(m) => &m.name,
            ItemKind::Const(c) => &c.name,
            ItemKind::TypeAlias(a) => &a.name,
            ItemKind::Struct(s) => &s.name,
            ItemKind::Enum(e) => {
                names.extend(e.variants.iter().map(|v| v.name.name.clone()));
                &e.name
            }
            ItemKind::Fn(f) => &f.name,
            ItemKind::Impl(i) => &i.name,
            ItemKind::Extern(e) => &e.name,
            ItemKind::Include(_) | ItemKind::Import(_) | ItemKind::Error => continue,
        };
        names.insert(name.name.clone());
    }
    names
}

/// Rewrites `m.x` (an expression or the type `m.T`) to the name `P.x`.
struct Rewriter<'r> {
    aliases: &'r HashMap<String, usize>,
    modules: &'r [Module],
    diags: Vec<Diagnostic>,
}

impl Rewriter<'_> {
    /// The key of `member` of module `alias`, or `None` (reported when
    /// `alias` is a module without that member).
    fn qualify(&mut self, alias: &ast::Ident, member: &ast::Ident) -> Option<String> {
        let m = &self.modules[*self.aliases.get(&alias.name)?];
        if let Some(key) = m.names.get(&member.name) {
            return Some(key.clone());
        }
        let hint = suggest(&member.name, m.names.keys().map(|s| s.as_str()));
        let mut d = Diagnostic::error(
            codes::MODULE_ITEM,
            member.span,
            format!("module `{}` has no item `{}`", alias.name, member.name),
        )
        .with_label(format!("not found in `{}`", m.shown));
        if let Some(h) = hint {
            d = d.with_help(format!("a similar name exists: `{}.{h}`", alias.name));
        }
        self.diags.push(d);
        None
    }

    fn item(&mut self, item: &mut ast::Item) {
        for a in &mut item.attrs {
            a.args.iter_mut().for_each(|e| self.expr(e));
        }
        match &mut item.kind {
            ItemKind::Config(c) => {
                for f in &mut c.fields {
                    self.ty(&mut f.ty);
                    if let Some(e) = &mut f.default {
                        self.expr(e);
                    }
                }
            }
            ItemKind::Global(g) => {
                if let Some(t) = &mut g.ty {
                    self.ty(t);
                }
                if let Some(e) = &mut g.init {
                    self.expr(e);
                }
            }
            ItemKind::Map(m) => {
                m.type_args.iter_mut().for_each(|t| self.ty(t));
                m.args.iter_mut().for_each(|a| self.expr(&mut a.value));
            }
            ItemKind::Const(c) => {
                if let Some(t) = &mut c.ty {
                    self.ty(t);
                }
                self.expr(&mut c.value);
            }
            ItemKind::TypeAlias(a) => self.ty(&mut a.ty),
            ItemKind::Struct(s) => s.fields.iter_mut().for_each(|f| self.ty(&mut f.ty)),
            ItemKind::Enum(e) => {
                for v in &mut e.variants {
                    if let Some(x) = &mut v.value {
                        self.expr(x);
                    }
                }
            }
            ItemKind::Fn(f) => self.func(f),
            ItemKind::Impl(i) => {
                for m in &mut i.members {
                    match m {
                        ast::ImplMember::Fn(it) => self.item(it),
                        ast::ImplMember::Field { value, .. } => self.expr(value),
                    }
                }
            }
            ItemKind::Extern(e) => {
                e.params.iter_mut().for_each(|p| self.ty(&mut p.ty));
                if let Some(t) = &mut e.ret {
                    self.ty(t);
                }
            }
            ItemKind::Include(_) | ItemKind::Import(_) | ItemKind::Error => {}
        }
    }

    fn func(&mut self, f: &mut ast::FnDecl) {
        f.params.iter_mut().for_each(|p| self.ty(&mut p.ty));
        if let Some(r) = &mut f.ret {
            self.ty(&mut r.ty);
        }
        self.block(&mut f.body);
    }

    fn ty(&mut self, t: &mut ast::Type) {
        match &mut t.kind {
            T::Named(id) => {
                if !self.qualified_name(id) {
                    t.kind = T::Error;
                }
            }
            T::Pointer(p) | T::Array(p, _) => self.ty(p),
            T::Function(f) => {
                f.params.iter_mut().for_each(|p| self.ty(&mut p.ty));
                if let Some(r) = &mut f.ret {
                    self.ty(&mut r.ty);
                }
            }
            T::Prim(_) | T::Str(_) | T::Error => {}
        }
    }

    /// Resolve the type name `m.T` (one identifier from the parser) to
    /// its key; false (reported) when it names nothing. Other names stay.
    fn qualified_name(&mut self, id: &mut ast::Ident) -> bool {
        let Some((m, member)) = id.name.split_once('.') else {
            return true;
        };
        let span = id.span;
        if !self.aliases.contains_key(m) {
            let d = Diagnostic::error(
                codes::MODULE_ITEM,
                span,
                format!("there is no imported module `{m}`"),
            )
            .with_label("not imported in this file")
            .with_help(format!("import it first: `import {m} from \"{m}.ks\"`"));
            self.diags.push(d);
            return false;
        }
        let alias = ast::Ident {
            name: m.to_string(),
            span,
        };
        let member = ast::Ident {
            name: member.to_string(),
            span,
        };
        match self.qualify(&alias, &member) {
            Some(key) => {
                id.name = key;
                true
            }
            None => false,
        }
    }

    fn block(&mut self, b: &mut ast::Block) {
        b.stmts.iter_mut().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, s: &mut ast::Stmt) {
        match &mut s.kind {
            S::Var { ty, init, .. } => {
                if let Some(t) = ty {
                    self.ty(t);
                }
                if let Some(e) = init {
                    self.expr(e);
                }
            }
            S::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            S::Expr(e) | S::Throw(e) | S::Return(Some(e)) => self.expr(e),
            S::If { cond, then, els } => {
                self.expr(cond);
                self.stmt(then);
                if let Some(e) = els {
                    self.stmt(e);
                }
            }
            S::IfVar {
                ty,
                init,
                then,
                els,
                ..
            } => {
                if let Some(t) = ty {
                    self.ty(t);
                }
                self.expr(init);
                self.stmt(then);
                if let Some(e) = els {
                    self.stmt(e);
                }
            }
            S::ForRange {
                start, end, body, ..
            } => {
                self.expr(start);
                self.expr(end);
                self.block(body);
            }
            S::ForEach { iter, body, .. } => {
                self.expr(iter);
                self.block(body);
            }
            S::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            S::Loop { body } | S::Block(body) => self.block(body),
            S::Delete { map, key } => {
                self.expr(map);
                self.expr(key);
            }
            S::Try { body, catches } => {
                self.block(body);
                for c in catches {
                    self.block(&mut c.body);
                }
            }
            S::Defer(s) => self.stmt(s),
            S::DeleteObj(e) => self.expr(e),
            S::Break | S::Continue | S::Return(None) | S::Error => {}
        }
    }

    fn expr(&mut self, e: &mut ast::Expr) {
        if let AE::Field {
            base,
            field,
            arrow: false,
        } = &e.kind
        {
            if let AE::Name(m) = &base.kind {
                if self.aliases.contains_key(&m.name) {
                    let key = self.qualify(m, field);
                    e.kind = match key {
                        Some(name) => AE::Name(ast::Ident { name, span: e.span }),
                        None => AE::Error,
                    };
                    return;
                }
            }
        }
        match &mut e.kind {
            AE::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            AE::Unary { operand, .. } => self.expr(operand),
            AE::Cast { expr, ty } => {
                self.expr(expr);
                self.ty(ty);
            }
            AE::Call { callee, args } => {
                self.expr(callee);
                args.iter_mut().for_each(|a| self.expr(a));
            }
            AE::Field { base, .. } => self.expr(base),
            AE::Index { base, index } => {
                self.expr(base);
                self.expr(index);
            }
            AE::StructLit { name, fields } => {
                if !self.qualified_name(name) {
                    e.kind = AE::Error;
                    return;
                }
                fields.iter_mut().for_each(|f| self.expr(&mut f.value));
            }
            AE::ArrayLit(v) => v.iter_mut().for_each(|x| self.expr(x)),
            AE::ArrayRepeat { value, count } => {
                self.expr(value);
                self.expr(count);
            }
            AE::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                arms.iter_mut().for_each(|a| self.expr(&mut a.body));
            }
            AE::If { cond, then, els } | AE::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            AE::Sizeof(t) => self.ty(t),
            AE::Block(b) => self.block(b),
            AE::New { args, .. } => args.iter_mut().for_each(|a| self.expr(a)),
            AE::Int(_)
            | AE::Bool(_)
            | AE::Char(_)
            | AE::Str(_)
            | AE::Null
            | AE::Name(_)
            | AE::Error => {}
        }
    }
}

/// The project name: the file stem, made a valid C identifier.
pub fn project_name(path: &str) -> String {
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into());
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'p');
    }
    name
}
