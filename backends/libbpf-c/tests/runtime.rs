//! The loader runtime (`runtime/ksc_runtime/*.c`, joined) compiles on its own,
//! without warnings: it is built once into the cached library every
//! generated program links. Needs cc and the libbpf headers (skipped,
//! with a note, without cc).

use std::process::Command;

#[test]
fn runtime_compiles_alone_without_warnings() {
    let dir = std::env::temp_dir().join(format!("ksc-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ksc_runtime.h"), ksc_backend_libbpf_c::RUNTIME_H).unwrap();
    std::fs::write(dir.join("ksc_runtime.c"), ksc_backend_libbpf_c::RUNTIME_C).unwrap();
    let o = match Command::new("cc")
        .args(["-g", "-O2", "-Wall", "-Wextra", "-Werror", "-c"])
        .arg(dir.join("ksc_runtime.c"))
        .arg("-o")
        .arg(dir.join("ksc_runtime.o"))
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: no cc ({e}): not compiled");
            return;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_makefile_links_the_runtime_cached_under_its_hash() {
    let h = ksc_backend_libbpf_c::runtime_hash();
    assert_eq!(h.len(), 16);
    let hh = ksc_backend_libbpf_c::user_h_hash();
    let mk = ksc_backend_c_common::makefile(
        "p",
        Some(ksc_backend_c_common::Runtime {
            hash: &h,
            headers_hash: &hh,
        }),
    );
    assert!(mk.contains(&format!("runtime-{h}-$(KSC_CC_KEY)")), "{mk}");
    assert!(mk.contains(&format!("headers-{hh}-$(KSC_CC_KEY)")), "{mk}");
    assert!(
        mk.contains("p: p.o p.embed.s $(EBPF_OBJ) $(KSC_RT_LIB)"),
        "{mk}"
    );
}
