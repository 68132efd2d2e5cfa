//! # libbpf userspace C backend
//!
//! The program's own executable: `<name>.c` over the libbpf skeleton that
//! `bpftool gen skeleton` makes from `<name>.ebpf.o`, and the Makefile that
//! builds both (`make` → `<name>.ebpf.o`, `<name>.skel.h`, `<name>`).
//! The C emitter is shared with the eBPF backend (`ksc-backend-c-common`).

use ksc_plugin_abi::ksc_ir::Module;
use ksc_plugin_abi::{export_backend, Diag, File};

/// Generate `<name>.c` and the Makefile for both sides.
pub fn generate(
    module: &Module,
) -> Result<Vec<(String, String)>, Vec<ksc_backend_c_common::EmitError>> {
    let c = ksc_backend_c_common::generate_user_c(module)?;
    Ok(vec![
        (format!("{}.c", module.name), c),
        (
            "Makefile".into(),
            ksc_backend_c_common::makefile(&module.name, true),
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
