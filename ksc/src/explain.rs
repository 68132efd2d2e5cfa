//! `ksc explain CODE`: the long explanation of a diagnostic code, from the
//! registry in `frontend/src/diag/codes.rs` (docs/diagnostics.md).

use std::process::ExitCode;

use ksc_frontend::diag::codes::{self, Code};

pub(crate) fn explain(code: &str) -> ExitCode {
    match Code::lookup(code) {
        Some(c) => {
            // A registered code always has its explanation (a test in
            // codes.rs checks it).
            let text = c.explanation().unwrap_or("");
            println!("{c}: {}\n", c.title());
            // The section without its `## CODE` heading.
            let body = text.split_once('\n').map_or("", |b| b.1).trim();
            println!("{body}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: no diagnostic code `{code}`");
            let near: Vec<String> = codes::nearest(code, 3)
                .into_iter()
                .map(|c| format!("{c} ({})", c.title()))
                .collect();
            eprintln!("  = help: the nearest codes are {}", near.join(", "));
            eprintln!("  = note: codes look like `E0501`; docs/diagnostics.md lists them all");
            ExitCode::from(2)
        }
    }
}
