//! `print`: C's `printf` conversions, formatted byte for byte as the C
//! loader's output.

use std::io::Write as _;

/// One value for `printf`.
pub enum Arg<'a> {
    I(i64),
    U(u64),
    C(u8),
    S(&'a [u8]),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::I(v)
    }
}
impl From<u64> for Arg<'_> {
    fn from(v: u64) -> Self {
        Arg::U(v)
    }
}

/// C's `printf` for the conversions ksc writes (`%d %u %x %X %o %c %s %p
/// %%`, flags `-+ #0`, width, precision): output as the C loader's.
pub fn cfmt(fmt: &str, args: &[Arg]) -> Vec<u8> {
    let f = fmt.as_bytes();
    let mut out = Vec::new();
    let mut ai = args.iter();
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'%' {
            out.push(f[i]);
            i += 1;
            continue;
        }
        i += 1;
        let (mut left, mut plus, mut space, mut alt, mut zero) =
            (false, false, false, false, false);
        while i < f.len() && b"-+ #0".contains(&f[i]) {
            match f[i] {
                b'-' => left = true,
                b'+' => plus = true,
                b' ' => space = true,
                b'#' => alt = true,
                _ => zero = true,
            }
            i += 1;
        }
        let mut width = 0usize;
        while i < f.len() && f[i].is_ascii_digit() {
            width = width * 10 + usize::from(f[i] - b'0');
            i += 1;
        }
        let mut prec: Option<usize> = None;
        if i < f.len() && f[i] == b'.' {
            i += 1;
            let mut p = 0;
            while i < f.len() && f[i].is_ascii_digit() {
                p = p * 10 + usize::from(f[i] - b'0');
                i += 1;
            }
            prec = Some(p);
        }
        while i < f.len() && b"lhz".contains(&f[i]) {
            i += 1;
        }
        let Some(&conv) = f.get(i) else { break };
        i += 1;
        if conv == b'%' {
            out.push(b'%');
            continue;
        }
        let arg = ai.next();
        let (mut sign, mut prefix, mut body): (&str, &str, Vec<u8>) = ("", "", Vec::new());
        let numeric = !matches!(conv, b'c' | b's');
        match (conv, arg) {
            (b's', Some(Arg::S(s))) => {
                let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
                body = s[..prec.unwrap_or(s.len()).min(s.len())].to_vec();
            }
            (b'c', Some(Arg::C(c))) => body = vec![*c],
            (b'c', Some(Arg::I(v))) => body = vec![*v as u8],
            (b'c', Some(Arg::U(v))) => body = vec![*v as u8],
            (b'p', Some(Arg::U(v))) => {
                body = if *v == 0 {
                    b"(nil)".to_vec()
                } else {
                    format!("0x{v:x}").into_bytes()
                }
            }
            (_, Some(a)) => {
                let (neg, mag) = match a {
                    Arg::I(v) if matches!(conv, b'd' | b'i') => (*v < 0, v.unsigned_abs()),
                    Arg::I(v) => (false, *v as u64),
                    Arg::U(v) => (false, *v),
                    Arg::C(c) => (false, u64::from(*c)),
                    Arg::S(_) => (false, 0),
                };
                let digits = match conv {
                    b'x' => format!("{mag:x}"),
                    b'X' => format!("{mag:X}"),
                    b'o' => format!("{mag:o}"),
                    _ => mag.to_string(),
                };
                let mut d = if prec == Some(0) && mag == 0 {
                    String::new()
                } else {
                    digits
                };
                if let Some(p) = prec {
                    while d.len() < p {
                        d.insert(0, '0');
                    }
                }
                // `#`: 0x before nonzero hex; octal starts with a 0, even
                // a zero printed with precision 0 (C prints "0").
                match conv {
                    b'x' if alt && mag != 0 => prefix = "0x",
                    b'X' if alt && mag != 0 => prefix = "0X",
                    b'o' if alt && !d.starts_with('0') => d.insert(0, '0'),
                    _ => {}
                }
                sign = if neg {
                    "-"
                } else if plus && matches!(conv, b'd' | b'i') {
                    "+"
                } else if space && matches!(conv, b'd' | b'i') {
                    " "
                } else {
                    ""
                };
                body = d.into_bytes();
            }
            (_, None) => {}
        }
        let len = sign.len() + prefix.len() + body.len();
        let pad = width.saturating_sub(len);
        if left {
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(&body);
            out.extend(std::iter::repeat_n(b' ', pad));
        } else if zero && numeric && prec.is_none() {
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(prefix.as_bytes());
            out.extend(std::iter::repeat_n(b'0', pad));
            out.extend_from_slice(&body);
        } else {
            out.extend(std::iter::repeat_n(b' ', pad));
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(&body);
        }
    }
    out
}

/// `print(...)`: one line on stdout (line-buffered, as the C loader's).
pub fn print(fmt: &str, args: &[Arg]) {
    let mut line = cfmt(fmt, args);
    line.push(b'\n');
    let _ = std::io::stdout().lock().write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::{cfmt, Arg};

    /// What C's `snprintf` writes for one conversion of one value.
    fn c(fmt: &str, arg: &CArg) -> Vec<u8> {
        let f = std::ffi::CString::new(fmt).unwrap();
        let mut buf = vec![0u8; 256];
        let p = buf.as_mut_ptr() as *mut libc::c_char;
        // SAFETY: a buffer of its length, a format whose one conversion
        // takes the argument passed (as its C type).
        let n = unsafe {
            match arg {
                CArg::I(v) => libc::snprintf(p, buf.len(), f.as_ptr(), *v as libc::c_longlong),
                CArg::U(v) => libc::snprintf(p, buf.len(), f.as_ptr(), *v as libc::c_ulonglong),
                CArg::C(v) => libc::snprintf(p, buf.len(), f.as_ptr(), *v as libc::c_int),
                CArg::S(s) => {
                    let s = std::ffi::CString::new(*s).unwrap();
                    libc::snprintf(p, buf.len(), f.as_ptr(), s.as_ptr())
                }
                CArg::P(v) => libc::snprintf(p, buf.len(), f.as_ptr(), *v as *const libc::c_void),
            }
        };
        buf.truncate(n as usize);
        buf
    }

    enum CArg {
        I(i64),
        U(u64),
        C(u8),
        S(&'static str),
        P(usize),
    }

    /// Every flag set, width and precision on every numeric conversion,
    /// against glibc: the runtime prints what the C loader prints.
    #[test]
    fn numbers_format_as_cs_printf() {
        let flags = [
            "", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-#", "+ ",
        ];
        let widths = ["", "1", "5", "24"];
        let precs = ["", ".0", ".1", ".3", ".22"];
        let signed = [0i64, 1, -1, 7, -42, 255, 4096, i64::MIN, i64::MAX];
        let unsigned = [0u64, 1, 8, 255, 0xdead_beef, u64::MAX];
        let mut n = 0;
        for f in flags {
            for w in widths {
                for p in precs {
                    for conv in ["d", "i"] {
                        for v in signed {
                            let ours = cfmt(&format!("<%{f}{w}{p}{conv}>"), &[Arg::I(v)]);
                            let theirs = c(&format!("<%{f}{w}{p}ll{conv}>"), &CArg::I(v));
                            assert_eq!(ours, theirs, "%{f}{w}{p}{conv} of {v}");
                            n += 1;
                        }
                    }
                    for conv in ["u", "x", "X", "o"] {
                        for v in unsigned {
                            let ours = cfmt(&format!("<%{f}{w}{p}{conv}>"), &[Arg::U(v)]);
                            let theirs = c(&format!("<%{f}{w}{p}ll{conv}>"), &CArg::U(v));
                            assert_eq!(ours, theirs, "%{f}{w}{p}{conv} of {v}");
                            n += 1;
                        }
                        // A signed value through an unsigned conversion:
                        // its two's complement, as C reads it.
                        let ours = cfmt(&format!("%{f}{w}{p}{conv}"), &[Arg::I(-2)]);
                        let theirs = c(&format!("%{f}{w}{p}ll{conv}"), &CArg::I(-2));
                        assert_eq!(ours, theirs, "%{f}{w}{p}{conv} of -2");
                    }
                }
            }
        }
        assert!(n > 10_000);
    }

    #[test]
    fn text_characters_and_pointers_format_as_cs_printf() {
        for spec in ["%s", "%8s", "%-8s", "%.2s", "%8.3s", "%-8.0s", "[%s|%s]"] {
            for s in ["", "a", "hello", "hello, world"] {
                let args: Vec<Arg> = spec.matches('%').map(|_| Arg::S(s.as_bytes())).collect();
                let theirs = if args.len() == 2 {
                    let cs = std::ffi::CString::new(s).unwrap();
                    let f = std::ffi::CString::new(spec).unwrap();
                    let mut buf = vec![0u8; 128];
                    // SAFETY: as in `c`, two strings.
                    let n = unsafe {
                        libc::snprintf(
                            buf.as_mut_ptr() as *mut libc::c_char,
                            buf.len(),
                            f.as_ptr(),
                            cs.as_ptr(),
                            cs.as_ptr(),
                        )
                    };
                    buf.truncate(n as usize);
                    buf
                } else {
                    c(spec, &CArg::S(s))
                };
                assert_eq!(cfmt(spec, &args), theirs, "{spec} of {s:?}");
            }
        }
        // `str(N)` text ends at its NUL, as C's string does.
        assert_eq!(cfmt("%s!", &[Arg::S(b"ab\0cd")]), b"ab!");
        for spec in ["%c", "%3c", "%-3c"] {
            for ch in [b'a', b'Z', b' '] {
                let theirs = c(spec, &CArg::C(ch));
                assert_eq!(cfmt(spec, &[Arg::C(ch)]), theirs, "{spec}");
                assert_eq!(cfmt(spec, &[Arg::I(i64::from(ch))]), theirs, "{spec}");
                assert_eq!(cfmt(spec, &[Arg::U(u64::from(ch))]), theirs, "{spec}");
            }
        }
        for spec in ["%p", "%20p", "%-20p"] {
            for v in [0usize, 0x1000, 0xffff_8000_1234_5678] {
                let theirs = c(spec, &CArg::P(v));
                assert_eq!(cfmt(spec, &[Arg::U(v as u64)]), theirs, "{spec} of {v:#x}");
            }
        }
        assert_eq!(
            cfmt("100%% %d%%", &[Arg::I(5)]),
            c("100%% %lld%%", &CArg::I(5))
        );
    }

    /// Fewer values than conversions (ksc's checker refuses it; the
    /// runtime still prints the rest), and length modifiers, which ksc
    /// writes for C and the runtime skips.
    #[test]
    fn missing_values_and_length_modifiers() {
        assert_eq!(cfmt("a=%d b=%d.", &[Arg::I(1)]), b"a=1 b=.");
        assert_eq!(
            cfmt(
                "%lu %lld %hhx %zu",
                &[Arg::U(1), Arg::I(-2), Arg::U(255), Arg::U(3)]
            ),
            b"1 -2 ff 3"
        );
        assert_eq!(cfmt("trailing %", &[]), b"trailing ");
        assert_eq!(cfmt("", &[]), b"");
        assert_eq!(cfmt("%d", &[u64::MAX.into()]), b"18446744073709551615");
        assert_eq!(cfmt("%d", &[(-3i64).into()]), b"-3");
    }
}
