//! Boots a kernel with a script and prints what it wrote, the time, and
//! the console on `-v`:
//! `cargo run -p ksc-qemu --example boot -- 6.12 'uname -r >$KSC_OUT' [-v]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(label), Some(script)) = (args.first(), args.get(1)) else {
        eprintln!("usage: boot LABEL SCRIPT [-v]");
        std::process::exit(2);
    };
    let verbose = args.iter().any(|a| a == "-v");
    let kernel = ksc_qemu::fetch(label, &mut |l| eprintln!("{l}")).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let guest = ksc_qemu::Guest {
        script: script.clone(),
        programs: vec!["bpftool".into(), "ip".into()],
        modules: vec!["veth".into()],
        ..Default::default()
    };
    match ksc_qemu::boot(&kernel, &guest) {
        Ok(o) => {
            if verbose {
                eprintln!("{}", o.console);
            }
            print!("{}", o.output);
            eprintln!(
                "{}: status {} in {:.1}s",
                kernel.release,
                o.status,
                o.elapsed.as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
