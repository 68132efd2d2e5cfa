//! The map module a program with `exec` gets (`<name>.py`, docs/language.md
//! "`exec` into Python"): both userspace backends write the same file, and
//! it works on real maps: `pymaps/check.py` makes maps of the program's
//! types itself (BPF_MAP_CREATE), names them in KSC_MAPS as the loader
//! does, and reads, writes, deletes and iterates every kind of value
//! through the module. Needs python3 and the right to make maps (skipped,
//! with a note, otherwise); the loader's side is the conformance case
//! `lang-exec-python`.

use std::path::Path;
use std::process::Command;

fn module() -> ksc_ir::Module {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pymaps");
    let path = dir.join("prog.ks");
    let src = std::fs::read_to_string(&path).unwrap();
    ksc_midend::check_source(&src, &path.display().to_string()).unwrap()
}

#[test]
fn both_userspace_backends_write_the_same_module() {
    let m = module();
    let (name, text) = ksc_backend_c_common::python_maps_module(&m).unwrap();
    assert_eq!(name, "prog.py");
    let c = ksc_backend_libbpf_c::generate(&m).unwrap();
    let from_c = c
        .iter()
        .find(|(p, _)| *p == name)
        .expect("libbpf-c writes prog.py");
    assert_eq!(from_c.1, text);
    // rust-aya calls the same writer: see its golden test.
    assert!(
        text.contains("\"pc\": _Map(\"pc\", \"percpu_hash\", _c.c_uint64, Inner, 8, True, None)")
    );
    assert!(!text.contains("\"events\""), "ring buffers are left out");
    // Without exec, no module.
    let mut m = m;
    m.exec_scripts.clear();
    assert!(ksc_backend_c_common::python_maps_module(&m).is_none());
    let c = ksc_backend_libbpf_c::generate(&m).unwrap();
    assert!(!c.iter().any(|(p, _)| p.ends_with(".py")));
}

#[test]
fn the_module_drives_real_maps() {
    let m = module();
    let (name, text) = ksc_backend_c_common::python_maps_module(&m).unwrap();
    let dir = std::env::temp_dir().join(format!("ksc-pymaps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&name), text).unwrap();
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pymaps/check.py");
    std::fs::copy(&check, dir.join("check.py")).unwrap();
    let out = match Command::new("python3").arg(dir.join("check.py")).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: no python3 ({e}): not run");
            return;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(why) = stdout.strip_prefix("skip: ") {
        eprintln!("note: {why}: not run");
        return;
    }
    assert_eq!(stdout, "ok\n");
}
