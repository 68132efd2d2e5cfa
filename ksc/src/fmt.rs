//! `ksc fmt [--check] FILE|DIR|- ...`: the canonical layout
//! (`ksc_frontend::format_source`), written back in place, checked, or
//! (for `-`) read from stdin and written to stdout.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codespan_reporting::term::termcolor::ColorChoice;
use ksc_frontend::FormatError;

use crate::{read_source, report, Source};

pub(crate) fn fmt(paths: &[PathBuf], check: bool, color: ColorChoice) -> ExitCode {
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    let mut worst = 0u8;
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(p.clone());
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    for f in files {
        // A file reached twice (a case's `prog.ks` links to an example) once.
        if f.as_os_str() != "-" {
            if let Ok(c) = std::fs::canonicalize(&f) {
                if !seen.insert(c) {
                    continue;
                }
            }
        }
        worst = worst.max(one(&f, check, color));
    }
    ExitCode::from(worst)
}

/// `.ks` and `.kh` files under `dir`, skipping hidden directories and `target`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "ks" || x == "kh") {
            out.push(p);
        }
    }
}

/// Format one file (or stdin); the exit status it deserves.
fn one(path: &Path, check: bool, color: ColorChoice) -> u8 {
    let stdin = path.as_os_str() == "-";
    let src = if stdin {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read stdin: {e}");
            return 2;
        }
        Source::new("<stdin>".into(), text)
    } else {
        match read_source(path, color) {
            Some(s) => s,
            None => return crate::input_error_code(path),
        }
    };
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let text = src.text();
    let out = match ksc_frontend::format_source(text) {
        Ok(o) => o,
        Err(FormatError::Parse(diags)) => {
            report(&src, &diags, color);
            eprintln!("error: `{name}` does not parse; not formatted");
            return 1;
        }
        Err(e) => {
            eprintln!("error: `{name}`: {e}");
            return 1;
        }
    };
    if stdin && !check {
        let mut so = std::io::stdout().lock();
        return match so.write_all(out.as_bytes()).and_then(|_| so.flush()) {
            Ok(()) => 0,
            Err(_) => 1,
        };
    }
    if out == text {
        return 0;
    }
    if check {
        // A closed stdout (`| head`) is not an error worth a panic.
        let mut so = std::io::stdout().lock();
        let _ = writeln!(
            so,
            "{name}: not formatted (`ksc fmt {name}` would change it)"
        );
        let _ = write!(so, "{}", hint(text, &out));
        return 1;
    }
    if let Err(e) = std::fs::write(path, out) {
        eprintln!("error: cannot write `{name}`: {e}");
        return 2;
    }
    0
}

/// The first place the texts differ, as a few `-`/`+` lines.
fn hint(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Where the texts agree again: the nearest pair of equal lines.
    let (mut da, mut db) = (a.len() - pre, b.len() - pre);
    'search: for k in 1..(a.len() + b.len()).saturating_sub(2 * pre) {
        for i in 0..=k {
            let j = k - i;
            if pre + i < a.len() && pre + j < b.len() && a[pre + i] == b[pre + j] {
                (da, db) = (i, j);
                break 'search;
            }
        }
    }
    let mut s = format!("  line {}:\n", pre + 1);
    const MAX: usize = 8;
    for (sign, lines) in [('-', &a[pre..pre + da]), ('+', &b[pre..pre + db])] {
        for l in lines.iter().take(MAX) {
            s.push_str(&format!("  {sign} {l}\n"));
        }
        if lines.len() > MAX {
            s.push_str(&format!(
                "  {sign} ... ({} more lines)\n",
                lines.len() - MAX
            ));
        }
    }
    s
}
