//! # libbpf userspace C backend
//!
//! The program's own executable: `<name>.c` over the loader runtime, which
//! opens `<name>.ebpf.o` (linked into the executable through
//! `<name>.embed.s`) as a libbpf skeleton ksc describes itself, and the
//! Makefile that builds both (`make` → `<name>.ebpf.o` and, side by side,
//! `<name>.o`, then `<name>`).
//! The C emitter is shared with the eBPF backend (`ksc-backend-c-common`).

use ksc_plugin_abi::export_backend;
use ksc_plugin_abi::ksc_ir::Module;

/// The loader runtime every program links (see `runtime/ksc_runtime.h`).
pub const RUNTIME_H: &str = include_str!("../runtime/ksc_runtime.h");
/// `ksc_runtime.c` as the generated project gets it: its parts, one job
/// each, joined in this order (later parts use the statics of earlier
/// ones, so it stays one translation unit, built once into the cache).
pub const RUNTIME_C: &str = concat!(
    include_str!("../runtime/ksc_runtime/state.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/diagnose.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/kmod.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/load.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/attach.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/lifecycle.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/maps.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/rings.c"),
    "\n",
    include_str!("../runtime/ksc_runtime/test_run.c"),
);

/// The headers every program includes first (the runtime's among them),
/// precompiled once into the build cache.
pub const USER_H: &str = include_str!("../runtime/ksc_user.h");

/// The runtime's version: a hash (64-bit FNV-1a, hex) of its source, which
/// names its directory in the build cache.
pub fn runtime_hash() -> String {
    fnv(&[RUNTIME_H, RUNTIME_C])
}

/// The precompiled headers' version: a hash of `ksc_user.h` and the
/// runtime's header it includes.
pub fn user_h_hash() -> String {
    fnv(&[USER_H, RUNTIME_H])
}

fn fnv(texts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, t) in texts.iter().enumerate() {
        let sep: &[u8] = if i == 0 { &[] } else { &[0] };
        for &b in sep.iter().chain(t.as_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Generate `<name>.c`, `<name>.embed.s`, `ksc_user.h`, the runtime's source (built once
/// into the cache, its header included by `<name>.c`) and the Makefile for
/// both sides.
pub fn generate(
    module: &Module,
) -> Result<Vec<(String, String)>, Vec<ksc_backend_c_common::EmitError>> {
    generate_with(module, &ksc_plugin_abi::Options::default())
}

/// The settings ksc passes when the program imports Python modules: the
/// bridge's static library and its link flags.
pub const PYTHON_LIB: &str = "python-bridge-lib";
pub const PYTHON_LDFLAGS: &str = "python-ldflags";
/// The setting ksc passes for `--kernel K` when K's release is known
/// (`5.10`): the loader's compile-time attach choices follow it.
pub const KERNEL_RELEASE: &str = "kernel-release";

/// [`generate`] with the options of the run (the Python bridge's link).
pub fn generate_with(
    module: &Module,
    options: &ksc_plugin_abi::Options,
) -> Result<Vec<(String, String)>, Vec<ksc_backend_c_common::EmitError>> {
    let python = if module.python_modules.is_empty() {
        None
    } else {
        match (
            options.settings.get(PYTHON_LIB),
            options.settings.get(PYTHON_LDFLAGS),
        ) {
            (Some(lib), Some(ldflags)) => Some(ksc_backend_c_common::PythonLink { lib, ldflags }),
            _ => {
                return Err(vec![ksc_backend_c_common::EmitError::at(
                    &module.files,
                    module.python_modules[0].span,
                    format!(
                        "the program imports Python modules, but ksc did not pass the Python bridge's library (settings `{PYTHON_LIB}`, `{PYTHON_LDFLAGS}`)"
                    ),
                )])
            }
        }
    };
    let mut c = ksc_backend_c_common::generate_user_c(module)?;
    // Built for a kernel older than tcx (`ksc build --kernel 5.10`): the
    // loader attaches TC programs through clsact straight away, as it does
    // with KSC_NO_TCX, instead of trying a tcx link first (the release
    // from the same table as the compile-time check, docs/kernels.md).
    let tcx = ksc_plugin_abi::ksc_ir::kernels::feature("attach:tcx").map(|f| f.since);
    let target = options
        .settings
        .get(KERNEL_RELEASE)
        .and_then(|r| ksc_plugin_abi::ksc_ir::kernels::Release::parse(r));
    if let (Some(t), Some(tcx)) = (target, tcx) {
        let has_tc = module.functions.iter().any(|f| {
            matches!(
                f.kind,
                ksc_plugin_abi::ksc_ir::FnKind::Program(
                    ksc_plugin_abi::ksc_ir::ProgramType::Tc { .. }
                )
            )
        });
        let main = "int main(int argc, char **argv)\n{\n";
        if t < tcx && has_tc && c.contains(main) {
            c = c.replacen(
                main,
                &format!("{main}    /* built for Linux {t}, before tcx ({tcx}) */\n    setenv(\"KSC_NO_TCX\", \"1\", 0);\n"),
                1,
            );
        }
    }
    // With `exec`: the map module its scripts import.
    let pymaps = ksc_backend_c_common::python_maps_module(module);
    Ok(vec![
        (format!("{}.c", module.name), c),
        (
            format!("{}.embed.s", module.name),
            ksc_backend_c_common::embed_asm(&module.name),
        ),
        ("ksc_user.h".into(), USER_H.into()),
        ("ksc_runtime.h".into(), RUNTIME_H.into()),
        ("ksc_runtime.c".into(), RUNTIME_C.into()),
        (
            "Makefile".into(),
            ksc_backend_c_common::makefile_with_python(
                &module.name,
                Some(ksc_backend_c_common::Runtime {
                    hash: &runtime_hash(),
                    headers_hash: &user_h_hash(),
                }),
                python,
            ),
        ),
    ]
    .into_iter()
    .chain(pymaps)
    .collect())
}

export_backend! {
    name: "libbpf-c",
    version: env!("CARGO_PKG_VERSION"),
    description: "the userspace program as C over libbpf (the eBPF object linked in), with the Makefile for both sides",
    outputs: ["c", "s", "Makefile", "py"],
    generate: generate_with,
}
