//! Prepares the module build tree for each kernel label given and prints
//! its path: `cargo run -p ksc-qemu --example kbuild -- 6.1 6.12`.
fn main() {
    for label in std::env::args().skip(1) {
        match ksc_qemu::kernel_build_tree(&label, &mut |m| eprintln!("{m}")) {
            Ok((k, kdir)) => println!("{} {}", k.release, kdir.display()),
            Err(e) => {
                eprintln!("{label}: {e}");
                std::process::exit(1);
            }
        }
    }
}
