//! # libbpf userspace C backend
//!
//! The program's own executable: `<name>.c` over the libbpf skeleton that
//! `bpftool gen skeleton` makes from `<name>.ebpf.o`, and the Makefile that
//! builds both (`make` → `<name>.ebpf.o`, `<name>.skel.h`, `<name>`).
//! The C emitter is shared with the eBPF backend (`ksc-backend-c-common`).

use ksc_plugin_abi::ksc_ir::Module;
use ksc_plugin_abi::{export_backend, Diag, File};

/// The loader runtime every program links (see `runtime/ksc_runtime.h`).
pub const RUNTIME_H: &str = include_str!("../runtime/ksc_runtime.h");
pub const RUNTIME_C: &str = include_str!("../runtime/ksc_runtime.c");

/// The runtime's version: a hash (64-bit FNV-1a, hex) of its source, which
/// names its directory in the build cache.
pub fn runtime_hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in RUNTIME_H.bytes().chain([0]).chain(RUNTIME_C.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Generate `<name>.c`, the runtime's source (built once into the cache,
/// its header included by `<name>.c`) and the Makefile for both sides.
pub fn generate(
    module: &Module,
) -> Result<Vec<(String, String)>, Vec<ksc_backend_c_common::EmitError>> {
    let c = ksc_backend_c_common::generate_user_c(module)?;
    Ok(vec![
        (format!("{}.c", module.name), c),
        ("ksc_runtime.h".into(), RUNTIME_H.into()),
        ("ksc_runtime.c".into(), RUNTIME_C.into()),
        (
            "Makefile".into(),
            ksc_backend_c_common::makefile(&module.name, Some(&runtime_hash())),
        ),
    ])
}

fn plugin_generate(
    module: &Module,
    _options: &ksc_plugin_abi::Options,
) -> Result<Vec<File>, Vec<Diag>> {
    generate(module)
        .map(|files| files.into_iter().map(|(p, c)| File::new(p, c)).collect())
        .map_err(|errs| {
            errs.into_iter()
                .map(|e| Diag::error_at(e.message, e.span))
                .collect()
        })
}

export_backend! {
    name: "libbpf-c",
    version: env!("CARGO_PKG_VERSION"),
    description: "the userspace program as C over the libbpf skeleton, with the Makefile for both sides",
    outputs: ["c", "Makefile"],
    generate: plugin_generate,
}
