//! # The ksc backend plugin ABI
//!
//! A backend plugin is a `cdylib` that exports one [`BackendMod`] root
//! module through [abi_stable]. ksc loads it (dlopen), checks with
//! abi_stable's checker that both sides agree on [`ABI_VERSION`] and on the
//! layout of every type below (see "Versioning"), and then calls
//! [`BackendMod::generate`] with the checked program as RON text ([`ksc_ir::Module::to_ron`]) and the [`Options`] as
//! RON text. The plugin answers with files and diagnostics.
//!
//! Writing a plugin in Rust takes one macro call, see [`export_backend!`]:
//!
//! ```ignore
//! use ksc_plugin_abi::{export_backend, Diag, File, Options};
//! use ksc_plugin_abi::ksc_ir::Module;
//!
//! fn generate(m: &Module, _o: &Options) -> Result<Vec<File>, Vec<Diag>> {
//!     Ok(vec![File::new(format!("{}.txt", m.name), "hello\n")])
//! }
//!
//! export_backend! {
//!     name: "hello",
//!     version: env!("CARGO_PKG_VERSION"),
//!     description: "says hello",
//!     outputs: ["txt"],
//!     generate: generate,
//! }
//! ```
//!
//! ## Versioning
//!
//! * [`ABI_VERSION`] (`0.2.0`) is the version abi_stable checks when it
//!   loads a plugin. For a 0.x version abi_stable 0.11 requires the same
//!   minor and a plugin patch at least the host's (`0.2.0` host, `0.2.1`
//!   plugin: loads; the other way round: refused), so the patch stays 0:
//!   only an incompatible change bumps it, and then the minor.
//! * [`BackendMod`] is a prefix type: fields may be added after
//!   `generate` (the last field every plugin has) without touching
//!   [`ABI_VERSION`]; abi_stable's layout check accepts a plugin with fewer
//!   or more of them, and the host reads them as `Option`s (`None` from an
//!   older plugin). Nothing before them may change.
//! * This crate's own version (Cargo.toml) moves its patch with every such
//!   addition; abi_stable checks each type's crate version only loosely
//!   (for 0.x: the same minor).
//! * The IR has its own schema version ([`ksc_ir::IR_VERSION`]); a plugin
//!   declares the one it accepts ([`BackendMod::ir_version`]) and ksc runs
//!   it only when that is the version it produces.
//! * [`Options`] crosses as RON with defaults for every field, so fields can
//!   be added without breaking plugins.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};
use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

pub use abi_stable;
pub use ksc_ir;

/// The plugin ABI version abi_stable checks (see the crate docs,
/// "Versioning"); not this crate's version, whose patch moves with every
/// field added at the end of [`BackendMod`].
pub const ABI_VERSION: &str = "0.2.0";

/// The file name prefix of backend plugins: `libksc_backend_<name>.so` on
/// Linux (the `cdylib` of a crate named `ksc-backend-<name>`).
pub const FILE_PREFIX: &str = "ksc_backend_";

/// The root module every backend plugin exports.
///
/// Fields up to `generate` exist in every version of the ABI; fields added
/// later go after it and are read as `Option`s by the host (accessors
/// `homepage()` and so on return `None` for a plugin built before them).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = BackendModRef, prefix_fields = BackendModPrefix)))]
pub struct BackendMod {
    /// The backend's name, as targets refer to it (`ebpf-c`, `dot`).
    pub name: RStr<'static>,
    /// The plugin's own version (semver text).
    pub version: RStr<'static>,
    /// The IR schema version it accepts ([`ksc_ir::IR_VERSION`] when built).
    pub ir_version: u32,
    /// One line: what it generates.
    pub description: RStr<'static>,
    /// The kinds of files it writes (`c`, `h`, `Makefile`, `dot`).
    pub output_kinds: RSlice<'static, RStr<'static>>,
    /// Generate files from the IR (RON) and options (RON).
    #[sabi(last_prefix_field)]
    pub generate:
        extern "C" fn(ir_ron: RStr<'_>, options_ron: RStr<'_>) -> RResult<Output, PluginError>,
    /// Where the plugin comes from (a URL), empty when not given; shown by
    /// `ksc plugins`. Added in crate version 0.2.1 (ABI 0.2.0).
    pub homepage: RStr<'static>,
}

impl RootModule for BackendModRef {
    abi_stable::declare_root_module_statics! {BackendModRef}
    const BASE_NAME: &'static str = "ksc_backend";
    const NAME: &'static str = "ksc backend plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION);
}

/// What a successful `generate` returns.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub files: RVec<OutFile>,
    /// Warnings and notes (errors make `generate` fail instead).
    pub diagnostics: RVec<Diagnostic>,
}

/// One generated file.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct OutFile {
    /// Relative to the output directory, `/`-separated, without `..`.
    pub path: RString,
    pub contents: RVec<u8>,
}

#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// A message from a backend, optionally about a place in the source.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: RString,
    /// Where in the source, as in the IR: [`ksc_ir::Span`] (a file of
    /// [`ksc_ir::Module::files`] and a byte range) crosses the ABI as it is.
    pub span: ROption<ksc_ir::Span>,
}

#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The IR or the options could not be read (malformed, wrong version).
    InvalidInput,
    /// The backend refused the program; see the diagnostics.
    Failed,
    /// The backend panicked; the message says where.
    Panicked,
}

/// What a failed `generate` returns.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
    pub diagnostics: RVec<Diagnostic>,
}

// ------------------------------------------------------------------ options

/// Options for one run of a backend. Crosses the ABI as RON; every field
/// has a default, so fields can be added without breaking plugins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// The target being compiled (`c-libbpf`).
    pub target: String,
    /// Every backend of this run, in order (a backend may adapt to the
    /// others: the userspace loader to the kernel-module backend).
    pub backends: Vec<String>,
    /// Free-form `key: value` settings from the target file.
    pub settings: BTreeMap<String, String>,
    /// What the target declares it can do (its file's `capabilities`): a
    /// backend adapts to these, not to the names of the other backends.
    /// A name this plugin does not know is dropped, so a newer host's
    /// capabilities never make an older plugin's options unreadable.
    #[serde(deserialize_with = "known_capabilities")]
    pub capabilities: Vec<Capability>,
}

fn known_capabilities<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Capability>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

// ------------------------------------------------------------------ capabilities

/// Something a target's output can do, declared in its target file
/// (`capabilities: ["userspace"]`, see targets/README.md) so that code
/// asks the target instead of comparing backend names. Parsed from its
/// name only by [`Capability::from_str`](std::str::FromStr) (serde goes
/// through it too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Capability {
    /// The build makes a userspace program (the loader with `main` and the
    /// `@test`s), whose backend's Makefile also builds the eBPF object.
    Userspace,
}

impl Capability {
    /// Every capability, in the order `ksc targets` lists them.
    pub const ALL: &'static [Capability] = &[Capability::Userspace];

    /// The name a target file writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Userspace => "userspace",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A capability name that is not one of [`Capability::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCapability(pub String);

impl std::fmt::Display for UnknownCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        write!(
            f,
            "unknown capability `{}`; known capabilities: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownCapability {}

impl std::str::FromStr for Capability {
    type Err = UnknownCapability;
    fn from_str(s: &str) -> Result<Capability, UnknownCapability> {
        Capability::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_string()))
    }
}

impl TryFrom<String> for Capability {
    type Error = UnknownCapability;
    fn try_from(s: String) -> Result<Capability, UnknownCapability> {
        s.parse()
    }
}

impl From<Capability> for String {
    fn from(c: Capability) -> String {
        c.as_str().to_string()
    }
}

impl Options {
    /// The target declares `c`.
    pub fn has(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }

    pub fn to_ron(&self) -> String {
        ron::to_string(self).expect("options serialise to RON")
    }

    pub fn from_ron(text: &str) -> Result<Options, String> {
        if text.trim().is_empty() {
            return Ok(Options::default());
        }
        ron::from_str(text).map_err(|e| format!("malformed options: {e}"))
    }
}

// ------------------------------------------------------------------ Rust-side helpers

/// A generated file, on the Rust side of a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: Vec<u8>,
}

impl File {
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>) -> File {
        File {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

/// A diagnostic, on the Rust side of a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub severity: Severity,
    pub message: String,
    /// Where in the source (any IR node's span).
    pub span: Option<ksc_ir::Span>,
}

impl Diag {
    pub fn error(message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Error,
            message: message.into(),
            span: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(message)
        }
    }

    pub fn note(message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Note,
            ..Diag::error(message)
        }
    }

    /// An error at a place in the source, when known.
    pub fn error_at(message: impl Into<String>, span: Option<ksc_ir::Span>) -> Diag {
        Diag {
            span,
            ..Diag::error(message)
        }
    }

    /// Point at a place in the source (any IR node's span).
    pub fn at(mut self, span: ksc_ir::Span) -> Diag {
        self.span = Some(span);
        self
    }
}

impl From<String> for Diag {
    fn from(message: String) -> Diag {
        Diag::error(message)
    }
}

impl From<&str> for Diag {
    fn from(message: &str) -> Diag {
        Diag::error(message)
    }
}

impl From<Diag> for Diagnostic {
    fn from(d: Diag) -> Diagnostic {
        Diagnostic {
            severity: d.severity,
            message: d.message.into(),
            span: d.span.into(),
        }
    }
}

impl From<File> for OutFile {
    fn from(f: File) -> OutFile {
        OutFile {
            path: f.path.into(),
            contents: f.contents.into(),
        }
    }
}

/// The one error type of the backends: something the backend cannot
/// express, located in the source when it comes from an IR node. Every
/// backend's `generate` returns `Vec<EmitError>` on failure, which
/// [`export_backend!`] turns into located error diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitError {
    pub message: String,
    /// Where in the source.
    pub span: Option<ksc_ir::Span>,
    /// 1-based line and column of the span's start (from the module's
    /// [`SourceMap`](ksc_ir::SourceMap)), for messages shown without the
    /// source ([`Display`](std::fmt::Display)); ksc itself shows the span.
    pub line_col: Option<(u32, u32)>,
}

impl EmitError {
    /// An error at an IR node, its line and column from `files`.
    pub fn at(files: &ksc_ir::SourceMap, span: ksc_ir::Span, message: impl Into<String>) -> Self {
        EmitError {
            message: message.into(),
            span: Some(span),
            line_col: Some(files.line_col(span)),
        }
    }
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line_col {
            Some((l, c)) => write!(f, "{l}:{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for EmitError {}

impl From<String> for EmitError {
    fn from(message: String) -> EmitError {
        EmitError {
            message,
            span: None,
            line_col: None,
        }
    }
}

impl From<&str> for EmitError {
    fn from(message: &str) -> EmitError {
        message.to_string().into()
    }
}

impl From<EmitError> for Diag {
    fn from(e: EmitError) -> Diag {
        Diag::error_at(e.message, e.span)
    }
}

/// A `(path, text)` pair, as the backends build their files.
impl From<(String, String)> for File {
    fn from((path, contents): (String, String)) -> File {
        File::new(path, contents)
    }
}

/// What a backend's generate function may return: its files (and, with
/// the second form, warnings or notes), or its errors.
pub trait IntoOutput {
    fn into_output(self) -> Result<Output, PluginError>;
}

impl<F: Into<File>, D: Into<Diag>> IntoOutput for Result<Vec<F>, Vec<D>> {
    fn into_output(self) -> Result<Output, PluginError> {
        self.map(|files| (files, Vec::<Diag>::new())).into_output()
    }
}

impl<F: Into<File>, W: Into<Diag>, D: Into<Diag>> IntoOutput for Result<(Vec<F>, Vec<W>), Vec<D>> {
    fn into_output(self) -> Result<Output, PluginError> {
        match self {
            Ok((files, diags)) => Ok(Output {
                files: files.into_iter().map(|f| OutFile::from(f.into())).collect(),
                diagnostics: diags
                    .into_iter()
                    .map(|d| Diagnostic::from(d.into()))
                    .collect(),
            }),
            Err(diags) => {
                let diagnostics: RVec<Diagnostic> = diags
                    .into_iter()
                    .map(|d| Diagnostic::from(d.into()))
                    .collect();
                let errors = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                let message = match errors {
                    0 => "the backend failed without saying why (it returned no error message)"
                        .to_string(),
                    1 => "the backend reported 1 error".to_string(),
                    n => format!("the backend reported {n} errors"),
                };
                Err(PluginError {
                    kind: ErrorKind::Failed,
                    message: message.into(),
                    diagnostics,
                })
            }
        }
    }
}

thread_local! {
    /// Set while a generate function runs: where it panicked.
    static PANIC_SLOT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Install (once) a panic hook that, while a backend's generate function
/// runs, records where it panicked instead of printing to stderr; ksc
/// reports it. Outside of a generate call the previous hook runs.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let captured = PANIC_SLOT.with(|slot| {
                let mut slot = slot.borrow_mut();
                match slot.as_mut() {
                    Some(place) => {
                        *place = info.location().map(|l| l.to_string());
                        true
                    }
                    None => false,
                }
            });
            if !captured {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Run `f`, turning a panic into `Err("panicked at <file:line:col>: <message>")`.
/// While `f` runs, the plugin's panic hook records the location instead of
/// printing a panic report: ksc reports the error.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    let outer = PANIC_SLOT.with(|s| s.borrow_mut().replace(None));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let location = PANIC_SLOT
        .with(|s| std::mem::replace(&mut *s.borrow_mut(), outer))
        .flatten();
    result.map_err(|payload| {
        let message = panic_message(&*payload);
        // Dropping a payload can itself panic; keep that from unwinding.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
        match location {
            Some(at) => format!("panicked at {at}: {message}"),
            None => format!("panicked: {message}"),
        }
    })
}

/// The body of an exported `generate`: reads the IR and options, runs the
/// backend's function, converts its result, and turns a panic into
/// [`ErrorKind::Panicked`]. [`export_backend!`] calls it; call it yourself
/// only when writing the root module by hand.
pub fn run_generate<R, F>(
    ir_ron: RStr<'_>,
    options_ron: RStr<'_>,
    generate: F,
) -> RResult<Output, PluginError>
where
    F: FnOnce(&ksc_ir::Module, &Options) -> R,
    R: IntoOutput,
{
    let result = catch_panic(|| {
        let module = ksc_ir::Module::from_ron(ir_ron.as_str()).map_err(invalid_input)?;
        let options = Options::from_ron(options_ron.as_str()).map_err(invalid_input)?;
        generate(&module, &options).into_output()
    });
    match result {
        Ok(r) => r.into(),
        Err(message) => RResult::RErr(PluginError {
            kind: ErrorKind::Panicked,
            message: message.into(),
            diagnostics: RVec::new(),
        }),
    }
}

fn invalid_input(message: String) -> PluginError {
    PluginError {
        kind: ErrorKind::InvalidInput,
        message: message.into(),
        diagnostics: RVec::new(),
    }
}

/// Export a backend plugin: expands to the `#[export_root_module]`
/// function abi_stable looks for. Use it once, in a `cdylib` crate that
/// depends on `ksc-plugin-abi` and `abi_stable` (the attribute macro names
/// `::abi_stable`).
///
/// `generate` is a function `fn(&Module, &Options) -> R` where `R` is
/// `Result<Vec<F>, Vec<D>>` or `Result<(Vec<F>, Vec<W>), Vec<D>>` with
/// `F: Into<File>` and `D, W: Into<Diag>` (`String` converts to an error).
/// `ir_version` defaults to the [`ksc_ir::IR_VERSION`] the plugin is built
/// with; `homepage` (optional, after it) to none. Panics in `generate` become errors, never crashes of ksc.
#[macro_export]
macro_rules! export_backend {
    (
        name: $name:expr,
        version: $version:expr,
        description: $description:expr,
        outputs: [$($output:expr),* $(,)?],
        $(ir_version: $ir_version:expr,)?
        $(homepage: $homepage:expr,)?
        generate: $generate:expr $(,)?
    ) => {
        #[::abi_stable::export_root_module]
        pub fn ksc_backend_root_module() -> ::std::result::Result<
            $crate::BackendModRef,
            $crate::abi_stable::std_types::RBoxError,
        > {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait as _;
            use $crate::abi_stable::std_types::{RBoxError, RResult, RSlice, RStr};

            extern "C" fn __ksc_backend_generate(
                ir_ron: RStr<'_>,
                options_ron: RStr<'_>,
            ) -> RResult<$crate::Output, $crate::PluginError> {
                $crate::run_generate(ir_ron, options_ron, $generate)
            }

            // Evaluated when ksc loads the plugin; a panic becomes a load error.
            $crate::catch_panic(|| {
                const OUTPUTS: &[RStr<'static>] = &[$(RStr::from_str($output)),*];
                #[allow(unused_variables)]
                let ir_version: u32 = $crate::ksc_ir::IR_VERSION;
                $(let ir_version: u32 = $ir_version;)?
                #[allow(unused_variables)]
                let homepage: &'static str = "";
                $(let homepage: &'static str = $homepage;)?
                $crate::BackendMod {
                    name: RStr::from_str($name),
                    version: RStr::from_str($version),
                    ir_version,
                    description: RStr::from_str($description),
                    output_kinds: RSlice::from_slice(OUTPUTS),
                    generate: __ksc_backend_generate,
                    homepage: RStr::from_str(homepage),
                }
                .leak_into_prefix()
            })
            .map_err(|message| RBoxError::from_fmt(&message))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ir() -> String {
        ksc_ir::Module {
            version: ksc_ir::IR_VERSION,
            name: "t".into(),
            source_path: "t.ks".into(),
            files: ksc_ir::SourceMap::single("t.ks", ""),
            types: vec![],
            maps: vec![],
            globals: vec![],
            configs: vec![],
            functions: vec![],
            struct_ops: vec![],
            python_modules: vec![],
            exec_scripts: vec![],
            main: None,
            analysis: ksc_ir::Analysis::default(),
        }
        .to_ron()
    }

    #[test]
    fn capabilities_parse_by_name_and_unknown_ones_are_explained() {
        for c in Capability::ALL {
            assert_eq!(c.as_str().parse::<Capability>(), Ok(*c));
        }
        let e = "kfuncs".parse::<Capability>().unwrap_err();
        assert_eq!(e, UnknownCapability("kfuncs".into()));
        assert_eq!(
            e.to_string(),
            "unknown capability `kfuncs`; known capabilities: userspace"
        );
    }

    #[test]
    fn options_carry_capabilities_and_drop_unknown_ones() {
        let o = Options {
            capabilities: vec![Capability::Userspace],
            ..Options::default()
        };
        let back = Options::from_ron(&o.to_ron()).unwrap();
        assert!(back.has(Capability::Userspace));
        // A newer host's capability an older plugin does not know.
        let o = Options::from_ron("(capabilities: [\"userspace\", \"teleport\"])").unwrap();
        assert_eq!(o.capabilities, [Capability::Userspace]);
        // Options from a host without capabilities at all.
        assert!(!Options::from_ron("(target: \"t\")")
            .unwrap()
            .has(Capability::Userspace));
    }

    #[test]
    fn files_and_errors_convert() {
        let ir = ir();
        let ok = run_generate(RStr::from_str(&ir), RStr::from_str(""), |m, _| {
            Ok::<_, Vec<String>>(vec![File::new(format!("{}.txt", m.name), "x")])
        });
        let out = ok.into_result().unwrap();
        assert_eq!(out.files[0].path.as_str(), "t.txt");
        assert_eq!(out.files[0].contents.as_slice(), b"x");

        let err = run_generate(RStr::from_str(&ir), RStr::from_str(""), |_, _| {
            Err::<Vec<File>, _>(vec![Diag::error("no").at(ksc_ir::Span {
                file: ksc_ir::FileId(1),
                start: 1,
                end: 2,
            })])
        });
        let e = err.into_result().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Failed);
        assert_eq!(
            e.diagnostics[0].span,
            ROption::RSome(ksc_ir::Span {
                file: ksc_ir::FileId(1),
                start: 1,
                end: 2
            })
        );
    }

    #[test]
    fn panics_and_bad_input_become_errors() {
        let ir = ir();
        let r = run_generate(
            RStr::from_str(&ir),
            RStr::from_str(""),
            |_, _| -> Result<Vec<File>, Vec<Diag>> { panic!("boom") },
        );
        let e = r.into_result().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Panicked);
        assert!(
            e.message.contains("boom") && e.message.contains("lib.rs"),
            "{}",
            e.message
        );

        let r = run_generate(RStr::from_str("garbage"), RStr::from_str(""), |_, _| {
            Ok::<Vec<File>, Vec<Diag>>(vec![])
        });
        let e = r.into_result().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains("malformed IR"), "{}", e.message);

        let opts = Options {
            target: "x".into(),
            ..Options::default()
        };
        assert_eq!(Options::from_ron(&opts.to_ron()).unwrap(), opts);
        assert_eq!(
            Options::from_ron("(future_field: 3)").unwrap(),
            Options::default()
        );
    }
}
