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

/// An integer option in `lo..=hi`, read as the C loader's `__ksc_int`:
/// `strtoll` for text starting with `-`, else `strtoull` (leading white
/// space and `+` allowed); decimal, `0x` hex or `0` octal; nothing may
/// follow the digits.
pub fn int_opt(s: &str, lo: i128, hi: i128) -> Option<i128> {
    if let Some(rest) = s.strip_prefix('-') {
        let v = -digits(rest)?;
        return (lo..=hi).contains(&v).then_some(v);
    }
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let v = match t.strip_prefix('-') {
        // strtoull negates in 64 bits: "-1" is its largest value.
        Some(rest) => {
            let d = digits(rest)?;
            u64::try_from(d).ok()?.wrapping_neg().into()
        }
        None => digits(t.strip_prefix('+').unwrap_or(t))?,
    };
    (v <= u64::MAX.into() && (lo..=hi).contains(&v)).then_some(v)
}

/// Unsigned digits in C's base 0 (`0x` hex, `0` octal, else decimal).
fn digits(s: &str) -> Option<i128> {
    let (radix, body) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(body, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::{int_opt, parse, Opt};

    /// Options 0 (`--port`), 1 (`--count`, `--cnt`) and 2 (`--dry-run`
    /// and `--dry_run`, as ksc writes a name with `_`).
    const NAMES: &[(&str, usize)] = &[
        ("port", 0),
        ("count", 1),
        ("cnt", 1),
        ("dry-run", 2),
        ("dry_run", 2),
    ];

    fn run(args: &[&str]) -> Result<Vec<String>, String> {
        let argv: Vec<String> = std::iter::once("prog")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        parse(&argv, NAMES).map(|v| {
            v.into_iter()
                .map(|o| match o {
                    Opt::Value(i, v) => format!("{i}={v}"),
                    Opt::Help => "help".into(),
                    Opt::Extra(a) => format!("extra {a}"),
                })
                .collect()
        })
    }

    #[test]
    fn values_by_name_spelling_and_unambiguous_prefix() {
        assert_eq!(run(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            run(&["--port=80", "--count", "3"]).unwrap(),
            ["0=80", "1=3"]
        );
        assert_eq!(
            run(&["--cnt=4", "--dry_run=1", "--dry-run", "0"]).unwrap(),
            ["1=4", "2=1", "2=0"]
        );
        // A prefix of one option's names only, even through two spellings.
        assert_eq!(
            run(&["--po=1", "--dry=2", "--c=5"]).unwrap(),
            ["0=1", "2=2", "1=5"]
        );
        // A value may start with `-` or be empty.
        assert_eq!(run(&["--port", "-1", "--count="]).unwrap(), ["0=-1", "1="]);
    }

    #[test]
    fn help_stops_the_parse() {
        assert_eq!(
            run(&["--port=1", "--help", "--nope"]).unwrap(),
            ["0=1", "help"]
        );
        assert_eq!(run(&["-h"]).unwrap(), ["help"]);
        assert_eq!(run(&["--he"]).unwrap(), ["help"]);
    }

    /// Other arguments: after the options (as `getopt_long` permutes
    /// them), the first one only; after `--`, the next one.
    #[test]
    fn extra_arguments_come_last() {
        assert_eq!(run(&["stray", "--port=2"]).unwrap(), ["0=2", "extra stray"]);
        assert_eq!(run(&["a", "b"]).unwrap(), ["extra a"]);
        assert_eq!(run(&["--", "--port=2"]).unwrap(), ["extra --port=2"]);
        assert_eq!(run(&["-"]).unwrap(), ["extra -"]);
        assert_eq!(run(&["--"]).unwrap(), Vec::<String>::new());
    }

    /// The C loader's (glibc's) first line for each bad command line.
    #[test]
    fn bad_command_lines_say_what_getopt_long_says() {
        for (args, msg) in [
            (&["--nope"][..], "prog: unrecognized option '--nope'"),
            (&["--nope=3"], "prog: unrecognized option '--nope'"),
            (&["--port"], "prog: option '--port' requires an argument"),
            (
                &["--help=1"],
                "prog: option '--help' doesn't allow an argument",
            ),
            (&["-x"], "prog: invalid option -- 'x'"),
            (&["-é"], "prog: invalid option -- 'é'"),
            (&["--z"], "prog: unrecognized option '--z'"),
        ] {
            assert_eq!(run(args).unwrap_err(), msg, "{args:?}");
        }
        // A prefix of two options' names is ambiguous (`--c` above is
        // count/cnt, one option).
        let two: &[(&str, usize)] = &[("alpha", 0), ("also", 1)];
        let argv: Vec<String> = ["p", "--al=1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            parse(&argv, two).err().unwrap(),
            "p: option '--al' is ambiguous"
        );
    }

    #[test]
    fn integers_read_as_strtoll_within_their_range() {
        let all = (i128::from(i64::MIN), i128::from(u64::MAX));
        for (s, v) in [
            ("0", 0),
            ("42", 42),
            ("-42", -42),
            ("+7", 7),
            ("0x1f", 31),
            ("0X1F", 31),
            ("-0x10", -16),
            ("017", 15),
            ("18446744073709551615", i128::from(u64::MAX)),
            ("-9223372036854775808", i128::from(i64::MIN)),
        ] {
            assert_eq!(int_opt(s, all.0, all.1), Some(v), "{s}");
        }
        for s in [
            "",
            "-",
            "x",
            "0x",
            "08",
            "1.5",
            "12a",
            "--1",
            "-+1",
            "+-1",
            "0x-1",
            "0-1",
            "- 1",
            "+",
            "1 ",
            "18446744073709551616",
        ] {
            assert_eq!(int_opt(s, all.0, all.1), None, "{s:?}");
        }
        // strtoull skips leading white space, and negates after it.
        assert_eq!(int_opt(" \t12", all.0, all.1), Some(12));
        assert_eq!(
            int_opt(" -1", 0, i128::from(u64::MAX)),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(int_opt(" -1", -128, 127), None);
        assert_eq!(int_opt("255", 0, 255), Some(255));
        assert_eq!(int_opt("256", 0, 255), None);
        assert_eq!(int_opt("-1", 0, 255), None);
    }
}
