//! The eBPF C backend as a ksc plugin (`libksc_backend_ebpf_c.so`): the
//! export through the stable plugin ABI (see `plugins/README.md`).

use ksc_plugin_abi::ksc_ir::Module;
use ksc_plugin_abi::{export_backend, Capability, EmitError, File};

fn generate(
    module: &Module,
    options: &ksc_plugin_abi::Options,
) -> Result<Vec<File>, Vec<EmitError>> {
    // A target that builds a userspace program has its userspace
    // backend's Makefile build both sides; this one's is only for targets
    // without it.
    let with_user = options.has(Capability::Userspace);
    let files = crate::generate(module, &crate::Options::default())?;
    Ok(files
        .into_iter()
        .filter(|f| !(with_user && f.path == "Makefile"))
        .map(|f| File::new(f.path, f.contents))
        .collect())
}

export_backend! {
    name: "ebpf-c",
    version: env!("CARGO_PKG_VERSION"),
    description: "the kernel side as C for clang -target bpf (libbpf conventions), with its Makefile",
    outputs: ["c", "Makefile"],
    generate: generate,
}
