//! Boots a kernel with a script and prints what it wrote, the time, and
//! the console on `-v`:
//! `cargo run -p ksc-qemu --example boot -- 6.12 'uname -r >$KSC_OUT' [-v]
//! [--file HOST=GUEST]... [--program PATH]...` (files or directories
//! copied in; programs put on the guest's PATH with their libraries).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = vec![];
    let mut verbose = false;
    let mut files = vec![];
    let mut programs: Vec<String> = vec!["bpftool".into(), "ip".into()];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-v" => verbose = true,
            "--file" => {
                let Some((host, guest)) = it.next().and_then(|f| f.split_once('=')) else {
                    eprintln!("--file takes HOST=GUEST");
                    std::process::exit(2);
                };
                files.push((host.into(), guest.to_string()));
            }
            "--program" => programs.extend(it.next().cloned()),
            _ => positional.push(a.clone()),
        }
    }
    let (Some(label), Some(script)) = (positional.first(), positional.get(1)) else {
        eprintln!("usage: boot LABEL SCRIPT [-v] [--file HOST=GUEST]... [--program PATH]...");
        std::process::exit(2);
    };
    let kernel = ksc_qemu::fetch(label, &mut |l| eprintln!("{l}")).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let guest = ksc_qemu::Guest {
        script: script.clone(),
        files,
        programs,
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
