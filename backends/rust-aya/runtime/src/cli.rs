//! The command line of `main(args)`: options as `getopt_long` reads them,
//! with the C loader's messages, and integer values as `strtoll` reads them.

/// The value of an option, as `getopt_long` finds it: `--name=v`,
/// `--name v`, or an unambiguous prefix of a name.
pub enum Opt {
    Value(usize, String),
    Help,
    /// An argument that is not an option (an error, after the options).
    Extra(String),
}

/// Parse `argv` against the options' names (each option may have two
/// spellings: `names` holds (spelling, option)). Exits 2 with the C
/// loader's messages on a bad command line; stops at `--help`.
pub fn options(argv: &[String], names: &[(&str, usize)]) -> Vec<Opt> {
    parse(argv, names).unwrap_or_else(|msg| {
        let prog = argv.first().map_or("prog", String::as_str);
        eprintln!("{msg}\nrun `{prog} --help` for the options");
        std::process::exit(2)
    })
}

/// [`options`], with the message of a bad command line as the error.
fn parse(argv: &[String], names: &[(&str, usize)]) -> Result<Vec<Opt>, String> {
    let prog = argv.first().map_or("prog", String::as_str);
    let mut out = Vec::new();
    // getopt_long moves the other arguments to the end: they are an error
    // once the options were read.
    let mut extra: Option<&String> = None;
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "--" {
            extra = extra.or(argv.get(i));
            break;
        }
        if a == "-h" {
            out.push(Opt::Help);
            return Ok(out);
        }
        let Some(body) = a.strip_prefix("--") else {
            if a.starts_with('-') && a.len() > 1 {
                let c = a[1..].chars().next().unwrap_or('-');
                return Err(format!("{prog}: invalid option -- '{c}'"));
            }
            extra = extra.or(Some(a));
            continue;
        };
        let (name, val) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let mut all: Vec<(usize, &str)> = names.iter().map(|&(n, i)| (i, n)).collect();
        all.push((usize::MAX, "help"));
        let exact = all.iter().find(|(_, n)| *n == name);
        let hit = match exact {
            Some(h) => Some(*h),
            None => {
                let pre: Vec<&(usize, &str)> =
                    all.iter().filter(|(_, n)| n.starts_with(name)).collect();
                let first = pre.first().map(|p| p.0);
                if pre.is_empty() {
                    None
                } else if pre.iter().all(|p| Some(p.0) == first) {
                    Some(*pre[0])
                } else {
                    return Err(format!("{prog}: option '--{name}' is ambiguous"));
                }
            }
        };
        let Some((idx, _)) = hit else {
            return Err(format!("{prog}: unrecognized option '--{name}'"));
        };
        if idx == usize::MAX {
            if val.is_some() {
                return Err(format!("{prog}: option '--help' doesn't allow an argument"));
            }
            out.push(Opt::Help);
            return Ok(out);
        }
        let v = match val {
            Some(v) => v,
            None if i < argv.len() => {
                i += 1;
                argv[i - 1].clone()
            }
            None => {
                return Err(format!("{prog}: option '--{name}' requires an argument"));
            }
        };
        out.push(Opt::Value(idx, v));
    }
    if let Some(a) = extra {
        out.push(Opt::Extra(a.clone()));
    }
    Ok(out)
}

/// An integer option in `lo..=hi` (decimal, 0x hex or 0 octal, as strtoll).
pub fn int_opt(s: &str, lo: i128, hi: i128) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i128::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse::<i128>().ok()?
    };
    let v = if neg { -v } else { v };
    (lo..=hi).contains(&v).then_some(v)
}
