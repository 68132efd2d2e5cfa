//! # eBPF C backend
//!
//! Turns the eBPF part of a checked [`ksc_ir::Module`] into one C file for
//! `clang -target bpf` that follows libbpf's conventions: `SEC()` names
//! libbpf 1.1 loads (`xdp`, `tc`, `tracepoint/<cat>/<event>`,
//! `kprobe/<fn>[+off]`), BTF-defined maps in `.maps`, globals in
//! `.data`/`.bss` (`local var` as `static`, hidden from the skeleton),
//! configs as a writable global struct, pinned globals in their own
//! `.data.pinned_globals` section (one single-entry map), and tail-call
//! targets in a statically initialised program array, so the object is
//! self-contained: any libbpf-style loader runs it with the declared
//! initial values.
//!
//! Kernel structs the program reads (`trace_event_raw_*`, ...) are emitted
//! from BTF with `preserve_access_index` (CO-RE) instead of including a
//! 100k-line `vmlinux.h`; packet programs need only the UAPI headers.

mod plugin;

pub use ksc_backend_c_common::generate_c;

/// One generated file: a path relative to the output directory, and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Backend options (none yet; kept for the plugin ABI).
#[derive(Clone, Debug, Default)]
pub struct Options {}

/// Generate `<name>.ebpf.c` and a `Makefile` whose default goal builds
/// `<name>.ebpf.o` (the userspace backend extends it with the executable).
pub fn generate(
    module: &ksc_ir::Module,
    _options: &Options,
) -> Result<Vec<GeneratedFile>, Vec<ksc_backend_c_common::EmitError>> {
    let c = generate_c(module)?;
    Ok(vec![
        GeneratedFile {
            path: format!("{}.ebpf.c", module.name),
            contents: c,
        },
        GeneratedFile {
            path: "Makefile".into(),
            contents: ksc_backend_c_common::makefile(&module.name, None),
        },
    ])
}
