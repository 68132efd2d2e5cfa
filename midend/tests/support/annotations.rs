//! Expected diagnostics written in the fixture, rustc-compiletest style,
//! at the line they are expected on:
//!
//! - `//~ ERROR fragment`: an error on this line whose message contains
//!   `fragment`; `//~ WARNING fragment` for a warning;
//! - `//~^ ERROR ...` (one `^` per line up): on a line above;
//! - a code after the kind, `//~ ERROR E0501 fragment`, must be the
//!   diagnostic's code;
//! - several on one line: `... //~ ERROR a //~ WARNING b`;
//! - `//~ HELP fragment`: a diagnostic on this line (`^` as above) has a
//!   `help:` containing `fragment` (helps are optional otherwise).
//!
//! [`check_annotated`] passes when each annotation is matched by its own
//! diagnostic and every error and warning is annotated.

use ksc_frontend::diag::Severity;

#[derive(Debug)]
pub struct Annotation {
    pub line: usize,
    pub severity: Severity,
    /// `HELP`: the fragment is looked for in a diagnostic's help.
    pub help: bool,
    pub code: Option<String>,
    pub fragment: String,
}

pub fn annotations(src: &str) -> Result<Vec<Annotation>, String> {
    let mut out = Vec::new();
    for (i, text) in src.lines().enumerate() {
        for part in text.split("//~").skip(1) {
            let up = part.chars().take_while(|c| *c == '^').count();
            let rest = part[up..].trim();
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (severity, help) = match kind {
                "ERROR" => (Severity::Error, false),
                "WARNING" => (Severity::Warning, false),
                "HELP" => (Severity::Note, true),
                _ => {
                    return Err(format!(
                        "line {}: `//~ {kind}`: ERROR, WARNING or HELP",
                        i + 1
                    ))
                }
            };
            let rest = rest.trim();
            let is_code = |w: &str| {
                w.len() == 5
                    && (w.starts_with('E') || w.starts_with('W'))
                    && w[1..].chars().all(|c| c.is_ascii_digit())
            };
            let (code, fragment) = match rest.split_once(' ') {
                Some((w, f)) if is_code(w) => (Some(w.to_string()), f.trim()),
                None if is_code(rest) => (Some(rest.to_string()), ""),
                _ => (None, rest),
            };
            if i < up {
                return Err(format!(
                    "line {}: `//~{}` points above the file",
                    i + 1,
                    "^".repeat(up)
                ));
            }
            out.push(Annotation {
                line: i + 1 - up,
                severity,
                help,
                code,
                fragment: fragment.to_string(),
            });
        }
    }
    Ok(out)
}

/// Check `src` (named `name`) against its annotations; the error says
/// what did not match, with the rendered diagnostics.
pub fn check_annotated(name: &str, src: &str) -> Result<(), String> {
    let want = annotations(src).map_err(|e| format!("{name}: {e}"))?;
    let mut files = ksc_frontend::SourceMap::single(name, src);
    let p = ksc_midend::check_main_with(&mut files, &super::options());
    let diags: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error | Severity::Warning))
        .collect();
    let line_of = |d: &ksc_frontend::Diagnostic| {
        (d.span.file == ksc_frontend::FileId::MAIN).then(|| files.line_col(d.span).0 as usize)
    };
    let mut used = vec![false; diags.len()];
    let mut problems = Vec::new();
    // The most specific annotations choose first, so that a short fragment
    // does not take the diagnostic a longer one on the same line needs.
    for a in want.iter().filter(|a| a.help) {
        let found = diags.iter().any(|d| {
            line_of(d) == Some(a.line) && d.help.as_deref().is_some_and(|h| h.contains(&a.fragment))
        });
        if !found {
            problems.push(format!(
                "line {}: no diagnostic with a help containing {:?}",
                a.line, a.fragment
            ));
        }
    }
    let mut order: Vec<&Annotation> = want.iter().filter(|a| !a.help).collect();
    order.sort_by_key(|a| std::cmp::Reverse(a.fragment.len() + a.code.as_ref().map_or(0, |_| 1)));
    for a in order {
        let found = diags.iter().enumerate().position(|(i, d)| {
            !used[i]
                && line_of(d) == Some(a.line)
                && d.severity == a.severity
                && d.message.contains(&a.fragment)
                && a.code
                    .as_deref()
                    .is_none_or(|c| d.code.is_some_and(|dc| dc.as_str() == c))
        });
        match found {
            Some(i) => used[i] = true,
            None => problems.push(format!(
                "line {}: no {:?}{} containing {:?}",
                a.line,
                a.severity,
                a.code.as_ref().map_or(String::new(), |c| format!(" [{c}]")),
                a.fragment
            )),
        }
    }
    for (i, d) in diags.iter().enumerate() {
        if !used[i] {
            problems.push(format!(
                "line {:?}: unannotated {}: {}",
                line_of(d),
                d.headline(),
                d.message
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name}:\n  {}\n{}",
            problems.join("\n  "),
            ksc_frontend::diag::render_files(&files, &p.diagnostics)
        ))
    }
}

/// [`check_annotated`] for every `.ks` file of `dir` (relative to the
/// workspace root); panics listing every failure.
pub fn check_annotated_dir(dir: &str) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ks"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for p in &paths {
        let src = std::fs::read_to_string(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy();
        if let Err(e) = check_annotated(&name, &src) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    paths.len()
}
