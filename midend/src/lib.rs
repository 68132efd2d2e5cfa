//! # ksc midend
//!
//! From a syntax tree to a checked [`ksc_ir::Module`], in passes with one
//! job each, over one shared `Checker` (`checker.rs`):
//!
//! ```text
//! ast::File ──collect (pass 1)──▶ symbols, types, constants, maps, globals,
//!                                 configs, function signatures    (collect/)
//!              ├ consteval ─────▶ folded constants                (consteval.rs)
//!              ├ resolve_type ──▶ type ids                        (resolve_type.rs)
//!              └ btf_types ─────▶ kernel structs from BTF         (btf_types.rs)
//!           ──lower (pass 2)────▶ typed IR function bodies        (lower/)
//!           ──valid─────────────▶ call / tail-call graphs, stack    (valid/graph.rs)
//!                                 throws                          (valid/throws.rs)
//!                                 null safety, packet bounds,
//!                                 map-pointer lifetimes           (valid/flow/)
//!                      ──record─▶ ir::Analysis: throws, stack, pointer
//!                                 targets, tail-call slots        (valid/)
//! ```
//!
//! Every rule of the spec that can be decided at compile time is enforced
//! here with a located diagnostic; the IR handed to backends is valid.

pub mod btf;
mod btf_types;
mod builtins;
mod checker;
mod collect;
mod consteval;
pub mod imports;
pub mod kernels;
mod lower;
pub mod python;
mod resolve_type;
mod suggest;
pub mod types;
pub mod valid;

pub use collect::FUNCTION_ATTRIBUTES;
/// Edit distance (with transpositions), for "did you mean" suggestions.
pub use suggest::edit_distance;

pub use imports::project_name;
use ksc_frontend::diag::codes;
use ksc_frontend::{ast, Diagnostic, FileId, SourceMap};
pub use python::PythonBridge;

/// The result of checking a file.
pub struct Checked {
    /// The IR, when the program has no errors.
    pub module: Option<ksc_ir::Module>,
    pub diagnostics: Vec<Diagnostic>,
    /// Call and tail-call graphs (built even when there are errors).
    pub graph: Option<valid::ProgramGraph>,
    /// When the program has errors: the IR as far as it was typed and
    /// lowered (what an editor shows types and definitions from while the
    /// code is being written); never given to a backend.
    pub partial: Option<Box<ksc_ir::Module>>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Check a parsed file, the whole program. `path` names the source (its
/// stem is the project name, used for pin paths).
pub fn check(file: &ast::File, source: &str, path: &str) -> Checked {
    check_program(file, &SourceMap::single(path, source))
}

/// Parse and check one self-contained source (no `include`/`import`), as
/// tests and tools need the IR of a snippet: the module, or every
/// diagnostic rendered rustc-style. `path` names the source as in
/// [`check`].
pub fn check_source(source: &str, path: &str) -> Result<ksc_ir::Module, String> {
    let parsed = ksc_frontend::parse(source);
    let checked = check(&parsed.file, source, path);
    match checked.module {
        Some(m) if !parsed.has_errors() && !checked.has_errors() => Ok(m),
        _ => {
            let mut d = parsed.diagnostics;
            d.extend(checked.diagnostics);
            Err(ksc_frontend::diag::render(path, source, &d))
        }
    }
}

/// Check a parsed program whose source files are `files` (the IR carries
/// them as [`ksc_ir::Module::files`]); the name of the main file
/// ([`FileId::MAIN`]) names the project.
pub fn check_program(file: &ast::File, files: &SourceMap) -> Checked {
    check_with_scopes(file, files, Vec::new(), &CheckOptions::default())
}

/// [`check_program`] against what `opts` gives.
pub fn check_program_with(file: &ast::File, files: &SourceMap, opts: &CheckOptions) -> Checked {
    check_with_scopes(file, files, Vec::new(), opts)
}

/// [`check_program`], with the Python bridge that answers what imported
/// `.py` modules define (without it, such an import is an error).
pub fn check_program_with_python(
    file: &ast::File,
    files: &SourceMap,
    python: Option<&dyn PythonBridge>,
) -> Checked {
    let opts = CheckOptions {
        python,
        ..CheckOptions::default()
    };
    check_with_scopes(file, files, Vec::new(), &opts)
}

/// Check a program [`imports::load`] put together from several files
/// (`files` holds them all).
pub fn check_loaded(loaded: &imports::Loaded, files: &SourceMap) -> Checked {
    check_loaded_with_python(loaded, files, None)
}

/// [`check_loaded`], with the Python bridge for `.py` imports.
pub fn check_loaded_with_python(
    loaded: &imports::Loaded,
    files: &SourceMap,
    python: Option<&dyn PythonBridge>,
) -> Checked {
    let opts = CheckOptions {
        python,
        ..CheckOptions::default()
    };
    check_loaded_with(loaded, files, &opts)
}

/// What a program is checked against, besides its files: the inputs a
/// check takes from outside the program. The default is the running
/// kernel, with no Python bridge.
#[derive(Clone, Copy, Default)]
pub struct CheckOptions<'a> {
    /// Answers what imported `.py` modules define (without it, such an
    /// import is an error).
    pub python: Option<&'a dyn PythonBridge>,
    /// A chosen kernel (`--kernel`): each use that kernel lacks is a
    /// located error ([`kernels::check_target`]), and the kernel checks
    /// that otherwise ask the BTF (`new`) are left to it.
    pub kernel: Option<&'a kernels::TargetKernel>,
    /// The kernel BTF the checks read (kernel structs, tracepoint
    /// contexts, struct_ops tables, kfuncs, probe prototypes). `None`:
    /// [`btf::Btf::for_checks`]'s (`$KSC_BTF`'s file, else the running
    /// kernel's), loaded when a check first needs it. Given, the check
    /// reads nothing from the machine, so it is the same on every one.
    pub btf: Option<&'a btf::Btf>,
}

/// [`check_loaded_with_python`] for a chosen kernel (`--kernel`), as
/// [`check_loaded_with`] checks.
pub fn check_loaded_for_kernel(
    loaded: &imports::Loaded,
    files: &SourceMap,
    python: Option<&dyn PythonBridge>,
    kernel: Option<&kernels::TargetKernel>,
) -> Checked {
    let opts = CheckOptions {
        python,
        kernel,
        btf: None,
    };
    check_loaded_with(loaded, files, &opts)
}

/// Check a program [`imports::load`] put together, against what `opts`
/// gives.
pub fn check_loaded_with(
    loaded: &imports::Loaded,
    files: &SourceMap,
    opts: &CheckOptions,
) -> Checked {
    check_with_scopes(&loaded.file, files, loaded.scopes.clone(), opts)
}

fn check_with_scopes<'a>(
    file: &ast::File,
    files: &SourceMap,
    scopes: Vec<imports::Scope>,
    opts: &CheckOptions<'a>,
) -> Checked {
    let (python, kernel) = (opts.python, opts.kernel);
    let path = files.name(FileId::MAIN);
    let mut c = checker::Checker::new();
    c.kernel_chosen = kernel.is_some();
    c.btf = opts.btf.map(Ok);
    c.scopes = scopes;
    c.py.bridge = python;
    c.py.file_names = files.iter().map(|(_, f)| f.name.clone()).collect();
    c.texts = files.iter().map(|(_, f)| f.text.clone()).collect();
    c.collect(file);
    c.check_bodies();
    c.register_named_ring_handlers();
    c.report_not_kfuncs();
    let (graph, analysis) = valid::run(&mut c);
    let mut diagnostics = std::mem::take(&mut c.diags);
    diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    let mut has_errors = diagnostics.iter().any(Diagnostic::is_error);
    if !has_errors {
        // The checker's error type stays in the checker: code typed with
        // it was reported, so a clean module cannot mention it.
        if let Some(span) = mentions_error_type(&c) {
            diagnostics.push(Diagnostic::error(
                codes::INTERNAL,
                span,
                "internal compiler error: this code was not typed, but no error was reported",
            ));
            has_errors = true;
        }
    }
    let module = ksc_ir::Module {
        version: ksc_ir::IR_VERSION,
        name: project_name(path),
        source_path: path.to_string(),
        files: files.clone(),
        types: c.types.defs,
        maps: c.maps,
        globals: c.globals,
        configs: c.configs,
        functions: c.functions,
        struct_ops: c.struct_ops,
        python_modules: c.py.modules,
        exec_scripts: c.py.exec_scripts,
        main: c.main,
        analysis,
    };
    if let (false, Some(k)) = (has_errors, kernel) {
        let lacking = kernels::check_target(&module, k);
        has_errors = lacking.iter().any(Diagnostic::is_error);
        diagnostics.extend(lacking);
        diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    }
    let (module, partial) = if has_errors {
        (None, Some(Box::new(module)))
    } else {
        (Some(module), None)
    };
    Checked {
        module,
        diagnostics,
        graph: Some(graph),
        partial,
    }
}

/// A program checked as `ksc check` checks it: every diagnostic, in the
/// order they are shown, and the check's result.
pub struct Program {
    /// What parsing, loading the included and imported files, and
    /// checking reported.
    pub diagnostics: Vec<Diagnostic>,
    /// `None` when parsing or loading failed: the check stops there.
    pub checked: Option<Checked>,
}

/// Parse the main file of `files` ([`FileId::MAIN`]), load the files it
/// includes and imports (adding them to `files`), and check the program:
/// the one entry point of `ksc check`, `ksc build` and the language server.
pub fn check_main(files: &mut SourceMap, python: Option<&dyn PythonBridge>) -> Program {
    check_main_for_kernel(files, python, None)
}

/// [`check_main`] for a chosen kernel (`--kernel`), as
/// [`check_loaded_for_kernel`] checks.
pub fn check_main_for_kernel(
    files: &mut SourceMap,
    python: Option<&dyn PythonBridge>,
    kernel: Option<&kernels::TargetKernel>,
) -> Program {
    let opts = CheckOptions {
        python,
        kernel,
        btf: None,
    };
    check_main_with(files, &opts)
}

/// [`check_main`] against what `opts` gives (a chosen kernel, its BTF).
pub fn check_main_with(files: &mut SourceMap, opts: &CheckOptions) -> Program {
    let text = files.get(FileId::MAIN).map_or("", |f| &f.text);
    let parsed = ksc_frontend::parse(text);
    if parsed.has_errors() {
        return Program {
            diagnostics: parsed.diagnostics,
            checked: None,
        };
    }
    let mut diagnostics = parsed.diagnostics;
    let loaded = imports::load(parsed.file, files);
    diagnostics.extend(loaded.diagnostics.iter().cloned());
    if loaded.has_errors() {
        return Program {
            diagnostics,
            checked: None,
        };
    }
    let checked = check_loaded_with(&loaded, files, opts);
    diagnostics.extend(checked.diagnostics.iter().cloned());
    Program {
        diagnostics,
        checked: Some(checked),
    }
}

/// Where the error type appears in what would become the IR, if it does.
fn mentions_error_type(c: &checker::Checker) -> Option<ksc_ir::Span> {
    use ksc_ir::TypeKind as K;
    let bad = |t: ksc_ir::TypeId| t == types::ERROR;
    let types_bad = c.types.defs.iter().any(|d| match &d.kind {
        K::Pointer(t) | K::Array(t, _) | K::Slice(t) => bad(*t),
        K::Struct(s) => s.fields.iter().any(|f| bad(f.ty)),
        K::Function(sig) => bad(sig.ret) || sig.params.iter().any(|p| bad(*p)),
        _ => false,
    });
    if types_bad {
        return Some(ksc_ir::Span::default());
    }
    for m in &c.maps {
        if bad(m.key) || bad(m.value) {
            return Some(m.span);
        }
    }
    for g in &c.globals {
        if bad(g.ty) {
            return Some(g.span);
        }
    }
    for f in &c.functions {
        if bad(f.ret) {
            return Some(f.span);
        }
        if let Some(l) = f.locals.iter().find(|l| bad(l.ty)) {
            return Some(l.span);
        }
        let mut at = None;
        f.body.walk_exprs(&mut |e| {
            if at.is_none() && bad(e.ty) {
                at = Some(e.span);
            }
        });
        if at.is_some() {
            return at;
        }
    }
    None
}
