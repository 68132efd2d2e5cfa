//! The eBPF C backend as a ksc plugin (`libksc_backend_ebpf_c.so`): the
//! export through the stable plugin ABI (see `plugins/README.md`).

use ksc_plugin_abi::ksc_ir::Module;
use ksc_plugin_abi::{export_backend, Diag, File};

fn generate(module: &Module, _options: &ksc_plugin_abi::Options) -> Result<Vec<File>, Vec<Diag>> {
    crate::generate(module, &crate::Options::default())
        .map(|files| {
            files
                .into_iter()
                .map(|f| File::new(f.path, f.contents))
                .collect()
        })
        .map_err(|errors| errors.into_iter().map(Diag::error).collect())
}

export_backend! {
    name: "ebpf-c",
    version: env!("CARGO_PKG_VERSION"),
    description: "the kernel side as C for clang -target bpf (libbpf conventions), with its Makefile",
    outputs: ["c", "Makefile"],
    generate: generate,
}
