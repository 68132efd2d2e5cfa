//! # C from the IR
//!
//! One emitter for both sides of a KernelScript program: the kernel side
//! (eBPF C for `clang -target bpf`, [`generate_c`]) and, with the userspace
//! flavour, the loader program over the libbpf skeleton. Types, statements,
//! expressions, `try`/`catch`/`defer` lowering and `print` formatting are
//! shared; maps, globals and built-in functions differ by side.

mod emit;

pub use emit::generate_c;
