//! Development driver: `cargo run -p ksc-backend-ebpf-c --example ksc-ebpf-c -- FILE.ks`
//! prints the generated C (the `ksc --target` command line is the real entry).

fn main() {
    let path = std::env::args().nth(1).expect("usage: ksc-ebpf-c FILE.ks");
    let src = std::fs::read_to_string(&path).expect("read");
    let parsed = ksc_frontend::parse(&src);
    let checked = ksc_midend::check(&parsed.file, &src, &path);
    if checked.has_errors() || parsed.has_errors() {
        let mut d = parsed.diagnostics.clone();
        d.extend(checked.diagnostics.iter().cloned());
        eprint!("{}", ksc_frontend::diag::render(&path, &src, &d));
        std::process::exit(1);
    }
    match ksc_backend_ebpf_c::generate_c(checked.module.as_ref().unwrap()) {
        Ok(c) => print!("{c}"),
        Err(e) => {
            for e in e {
                eprintln!("error: {e}");
            }
            std::process::exit(1);
        }
    }
}
