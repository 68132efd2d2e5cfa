//! What the midend's test files share: check a source text as `ksc check`
//! does (parse, imports, checks) and find its diagnostics by line, column,
//! message and help.
// Each test file uses what it needs of this.
#![allow(dead_code)]

pub mod annotations;

pub struct Diag {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: String,
}

pub struct Outcome {
    pub errors: Vec<Diag>,
    pub warnings: Vec<Diag>,
    pub module: Option<ksc_ir::Module>,
    pub rendered: String,
}

/// The kernel BTF every check of the midend's tests reads: a small file
/// made from a Debian kernel's BTF by `tests/btf/make-small-btf.sh`, so a
/// test's result is the same on every machine, whatever its kernel and
/// with or without `/sys/kernel/btf/vmlinux`.
pub fn test_btf() -> &'static ksc_midend::btf::Btf {
    static BTF: std::sync::OnceLock<ksc_midend::btf::Btf> = std::sync::OnceLock::new();
    BTF.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/btf/small.btf");
        ksc_midend::btf::Btf::load_file(&path).expect("the tests' BTF file")
    })
}

/// How the tests check: against [`test_btf`], nothing else.
pub fn options() -> ksc_midend::CheckOptions<'static> {
    ksc_midend::CheckOptions {
        btf: Some(test_btf()),
        ..Default::default()
    }
}

pub fn check(src: &str) -> Outcome {
    check_with(src, &options())
}

/// [`check`] against what `opts` gives.
pub fn check_with(src: &str, opts: &ksc_midend::CheckOptions) -> Outcome {
    let mut files = ksc_frontend::SourceMap::single("test.ks", src);
    let p = ksc_midend::check_main_with(&mut files, opts);
    let diags = p.diagnostics;
    let module = p.checked.and_then(|c| c.module);
    let at = |d: &ksc_frontend::Diagnostic| {
        let (line, col) = files.line_col(d.span);
        Diag {
            line: line as usize,
            col: col as usize,
            message: d.message.clone(),
            help: d.help.clone().unwrap_or_default(),
        }
    };
    Outcome {
        errors: diags.iter().filter(|d| d.is_error()).map(at).collect(),
        warnings: diags.iter().filter(|d| !d.is_error()).map(at).collect(),
        module,
        rendered: ksc_frontend::diag::render_files(&files, &diags),
    }
}

/// An error of `src` is on `line` (and `col`, when given), its message
/// contains `message` and its help contains `help`.
pub fn assert_error(src: &str, line: usize, col: Option<usize>, message: &str, help: &str) {
    let o = check(src);
    assert!(
        has(&o.errors, line, col, message, help),
        "want an error at {line}:{col:?} containing {message:?} with help {help:?}, got:\n{}",
        o.rendered
    );
}

pub fn assert_clean(src: &str) -> ksc_ir::Module {
    let o = check(src);
    assert!(
        o.errors.is_empty() && o.warnings.is_empty(),
        "{}",
        o.rendered
    );
    o.module.expect("a module")
}

/// Is there a diagnostic in `ds` on `line` (and `col`, when given) whose
/// message contains `message` and whose help contains `help`?
pub fn has(ds: &[Diag], line: usize, col: Option<usize>, message: &str, help: &str) -> bool {
    ds.iter().any(|d| {
        d.line == line
            && col.is_none_or(|c| d.col == c)
            && d.message.contains(message)
            && d.help.contains(help)
    })
}

/// A small project written to a temporary directory (removed when
/// dropped), to check as `ksc` does.
pub struct Project {
    pub dir: std::path::PathBuf,
}

impl Project {
    pub fn new(name: &str, files: &[(&str, &str)]) -> Project {
        let dir = std::env::temp_dir().join(format!(
            "ksc-{}-{}-{name}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Project { dir }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
