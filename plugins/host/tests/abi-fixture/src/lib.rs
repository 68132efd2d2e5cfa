//! The plugin ABI's root module pinned to one shape (see Cargo.toml.in),
//! with a plugin exporting it: the types are copies of
//! `plugins/abi/src/lib.rs` as they were (default: crate version 0.2.0,
//! before `homepage`) or as a later version may have them (`next`).
//! `FIXTURE_ABI` is the ABI version the module declares.

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBoxError, ROption, RResult, RSlice, RStr, RString, RVec};
use abi_stable::StableAbi;

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = BackendModRef, prefix_fields = BackendModPrefix)))]
pub struct BackendMod {
    pub name: RStr<'static>,
    pub version: RStr<'static>,
    #[cfg(not(feature = "changed"))]
    pub ir_version: u32,
    #[cfg(feature = "changed")]
    pub ir_version: u64,
    pub description: RStr<'static>,
    pub output_kinds: RSlice<'static, RStr<'static>>,
    #[sabi(last_prefix_field)]
    pub generate:
        extern "C" fn(ir_ron: RStr<'_>, options_ron: RStr<'_>) -> RResult<Output, PluginError>,
    #[cfg(feature = "next")]
    pub homepage: RStr<'static>,
    #[cfg(feature = "next")]
    pub priority: u32,
}

impl RootModule for BackendModRef {
    abi_stable::declare_root_module_statics! {BackendModRef}
    const BASE_NAME: &'static str = "ksc_backend";
    const NAME: &'static str = "ksc backend plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(env!("FIXTURE_ABI"));
}

#[repr(C)]
#[derive(StableAbi)]
pub struct Output {
    pub files: RVec<OutFile>,
    pub diagnostics: RVec<Diagnostic>,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct OutFile {
    pub path: RString,
    pub contents: RVec<u8>,
}

#[repr(u8)]
#[derive(StableAbi)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: RString,
    pub span: ROption<ksc_ir::Span>,
}

#[repr(u8)]
#[derive(StableAbi)]
pub enum ErrorKind {
    InvalidInput,
    Failed,
    Panicked,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
    pub diagnostics: RVec<Diagnostic>,
}

extern "C" fn generate(_ir: RStr<'_>, _options: RStr<'_>) -> RResult<Output, PluginError> {
    RResult::ROk(Output {
        files: vec![OutFile {
            path: "fixture.txt".into(),
            contents: env!("CARGO_PKG_VERSION").as_bytes().to_vec().into(),
        }]
        .into(),
        diagnostics: RVec::new(),
    })
}

#[abi_stable::export_root_module]
pub fn ksc_backend_root_module() -> Result<BackendModRef, RBoxError> {
    const OUTPUTS: &[RStr<'static>] = &[RStr::from_str("txt")];
    Ok(BackendMod {
        name: RStr::from_str("fixture"),
        version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        ir_version: ksc_ir::IR_VERSION.into(),
        description: RStr::from_str("the plugin ABI at another shape"),
        output_kinds: RSlice::from_slice(OUTPUTS),
        generate,
        #[cfg(feature = "next")]
        homepage: RStr::from_str("https://example.org/fixture"),
        #[cfg(feature = "next")]
        priority: 7,
    }
    .leak_into_prefix())
}
