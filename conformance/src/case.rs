//! A case directory and its `expect` file (the format is conformance/README.md's).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One case: a directory with `prog.ks` and `expect`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    /// The directory's name (unique within a run).
    pub name: String,
    pub dir: PathBuf,
    pub lines: Vec<Line>,
    /// What the case proves: the first comment of its `expect`.
    #[serde(default)]
    pub about: String,
}

/// One line of `expect`, with its line number.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Line {
    pub no: usize,
    pub text: String,
    pub expect: Expect,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Packet {
    Zeros(usize),
    Bytes(Vec<u8>),
    /// A file of the case directory, read when the case runs.
    File(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expect {
    /// `requires K.M [WHAT...]`: n/a on kernels before K.M; WHAT names
    /// what they lack (shown in the n/a cell).
    Requires(u32, u32, String),
    /// `requires python`: the executable embeds Python (the case imports
    /// a `.py` module); n/a where no Python 3 runs (the qemu guests).
    RequiresPython,
    /// `requires sched_ext`: the kernel has sched_ext
    /// (`/sys/kernel/sched_ext`, CONFIG_SCHED_CLASS_EXT); n/a elsewhere.
    RequiresSchedExt,
    /// The target refuses the case at compile time by design (a feature it
    /// cannot support): building with it must fail with a diagnostic
    /// naming it; the case is `n/a` for it.
    Unsupported(String),
    Compile,
    Reject {
        file: String,
        line: u32,
    },
    Verify,
    Run {
        func: String,
        packet: Packet,
        ret: i64,
    },
    Map {
        name: String,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    /// A global or config, as JSON text (compared as JSON).
    Global {
        name: String,
        json: String,
    },
    /// The packet the last `run` left.
    PacketOut(Packet),
    User {
        file: String,
        args: Vec<String>,
    },
    UserRc {
        rc: i32,
        args: Vec<String>,
    },
    Tests,
    Net,
    Traffic {
        pings: u32,
    },
    Sigint {
        ms: u64,
    },
    /// For the next `user`/`userrc` line: once the executable has printed
    /// its first line, the file `path` (under /sys) reads `text`.
    Watch {
        path: String,
        text: String,
    },
    /// After the lines so far, the file `path` (under /sys) reads `text`.
    FileIs {
        path: String,
        text: String,
    },
    NothingLeft,
    /// After the lines so far: an XDP program or tc filter is on `$IFACE`
    /// (a daemon left it attached).
    Attached,
    /// SIGTERM to the daemons the case's executable left (`daemon()`):
    /// at least one, and each exits within 5 s.
    DaemonStop,
}

impl Case {
    /// Reads a case directory; errors are `file:line: message`.
    pub fn read(dir: &Path) -> Result<Case, String> {
        if !dir.is_dir() {
            return Err(format!("{}: no such case directory", dir.display()));
        }
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        if !dir.join("prog.ks").is_file() {
            return Err(format!(
                "{}: a case needs `prog.ks` (and an `expect` file); see conformance/README.md",
                dir.display()
            ));
        }
        let expect = dir.join("expect");
        let text = std::fs::read_to_string(&expect)
            .map_err(|e| format!("{}: cannot read: {e}", expect.display()))?;
        let mut lines = vec![];
        for (i, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let at = format!("{}:{}", expect.display(), i + 1);
            let expect = parse_line(content, dir).map_err(|e| format!("{at}: {e}"))?;
            lines.push(Line {
                no: i + 1,
                text: content.to_string(),
                expect,
            });
        }
        if lines.is_empty() {
            return Err(format!("{}: no expectations", expect.display()));
        }
        let rejects = lines
            .iter()
            .filter(|l| matches!(l.expect, Expect::Reject { .. }))
            .count();
        if rejects > 0 && rejects != lines.len() {
            let l = lines
                .iter()
                .find(|l| !matches!(l.expect, Expect::Reject { .. }))
                .unwrap();
            return Err(format!(
                "{}:{}: a `reject` case has no other expectations",
                expect.display(),
                l.no
            ));
        }
        let uses_iface = lines.iter().any(|l| match &l.expect {
            Expect::User { args, .. } | Expect::UserRc { args, .. } => {
                args.iter().any(|a| a.contains("$IFACE"))
            }
            Expect::NothingLeft | Expect::Traffic { .. } => true,
            _ => false,
        });
        if uses_iface && !lines.iter().any(|l| l.expect == Expect::Net) {
            return Err(format!(
                "{}: `$IFACE`, `traffic` and `nothing-left` need a `net` line",
                expect.display()
            ));
        }
        let about = text
            .lines()
            .find_map(|l| l.trim().strip_prefix('#'))
            .unwrap_or("")
            .trim()
            .to_string();
        Ok(Case {
            name,
            dir: dir.to_path_buf(),
            lines,
            about,
        })
    }

    pub fn is_reject(&self) -> bool {
        matches!(self.lines[0].expect, Expect::Reject { .. })
    }

    pub fn requires_sched_ext(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l.expect, Expect::RequiresSchedExt))
    }

    pub fn requires_python(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l.expect, Expect::RequiresPython))
    }

    /// Whether `target` refuses this case by design (an `unsupported` line).
    pub fn unsupported_by(&self, target: &str) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(&l.expect, Expect::Unsupported(t) if t == target))
    }

    /// The newest `requires K.M` (a case may need several things, each
    /// on its own line).
    pub fn requires(&self) -> Option<(u32, u32)> {
        self.requirements().into_iter().map(|r| r.0).max()
    }

    /// Every `requires K.M WHAT` line: the version and what it brought.
    pub fn requirements(&self) -> Vec<((u32, u32), String)> {
        self.lines
            .iter()
            .filter_map(|l| match &l.expect {
                Expect::Requires(a, b, what) => Some(((*a, *b), what.clone())),
                _ => None,
            })
            .collect()
    }
}

fn parse_line(content: &str, dir: &Path) -> Result<Expect, String> {
    let words: Vec<&str> = content.split_whitespace().collect();
    let (&kw, rest) = words.split_first().unwrap();
    let want = |n: usize, usage: &str| -> Result<(), String> {
        if rest.len() == n {
            Ok(())
        } else {
            Err(format!("`{kw}` takes {usage}"))
        }
    };
    let file_in_case = |f: &str| -> Result<String, String> {
        if f.contains('/') || !dir.join(f).is_file() {
            return Err(format!("no file `{f}` in the case directory"));
        }
        Ok(f.to_string())
    };
    let num = |s: &str, what: &str| -> Result<i64, String> {
        parse_int(s).ok_or_else(|| format!("`{s}` is not {what}"))
    };
    Ok(match kw {
        "requires" if rest.first() == Some(&"sched_ext") => {
            want(1, "`sched_ext`, `python` or a kernel version")?;
            Expect::RequiresSchedExt
        }
        "requires" if rest.first() == Some(&"python") => {
            want(1, "`python` or a kernel version")?;
            Expect::RequiresPython
        }
        "requires" => {
            if rest.is_empty() {
                return Err(
                    "`requires` takes a kernel version and what it brought: `requires 6.6 tcx links`, or `requires python`"
                        .into(),
                );
            }
            let (a, b) = rest[0]
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                .ok_or_else(|| format!("`{}` is not a kernel version like 6.6", rest[0]))?;
            Expect::Requires(a, b, rest[1..].join(" "))
        }
        "unsupported" => {
            want(1, "a target: `unsupported rust-aya`")?;
            Expect::Unsupported(rest[0].to_string())
        }
        "compile" => {
            want(0, "nothing")?;
            Expect::Compile
        }
        "verify" => {
            want(0, "nothing")?;
            Expect::Verify
        }
        "tests" => {
            want(0, "nothing")?;
            Expect::Tests
        }
        "net" => {
            want(0, "nothing")?;
            Expect::Net
        }
        "nothing-left" => {
            want(0, "nothing")?;
            Expect::NothingLeft
        }
        "attached" => {
            want(0, "nothing")?;
            Expect::Attached
        }
        "daemon-stop" => {
            want(0, "nothing")?;
            Expect::DaemonStop
        }
        "reject" => {
            want(1, "a line number: `reject 12`")?;
            Expect::Reject {
                file: "prog.ks".into(),
                line: num(rest[0], "a line number")? as u32,
            }
        }
        "rejectin" => {
            want(2, "a file and a line number: `rejectin lib.ks 12`")?;
            Expect::Reject {
                file: rest[0].to_string(),
                line: num(rest[1], "a line number")? as u32,
            }
        }
        "run" => {
            want(3, "a program, a packet and a return value: `run f zeros:64 XDP_PASS`")?;
            let packet = packet(rest[1], &file_in_case)?;
            let ret = action(rest[2])
                .map(Ok)
                .unwrap_or_else(|| num(rest[2], "a return value or an action name"))?;
            Expect::Run {
                func: rest[0].to_string(),
                packet,
                ret,
            }
        }
        "map" => {
            want(3, "a map, a key and a value: `map counts 01000000 0a00000000000000`")?;
            Expect::Map {
                name: rest[0].to_string(),
                key: parse_hex(rest[1])?,
                value: if rest[2] == "none" {
                    None
                } else {
                    Some(parse_hex(rest[2])?)
                },
            }
        }
        "global" => {
            if rest.len() < 2 {
                return Err("`global` takes a name and a JSON value: `global seen 3`".into());
            }
            let json = rest[1..].join(" ");
            serde_json::from_str::<serde_json::Value>(&json)
                .map_err(|e| format!("`{json}` is not a JSON value: {e}"))?;
            Expect::Global {
                name: rest[0].to_string(),
                json,
            }
        }
        "packet" => {
            want(1, "a packet: `packet hex:AABB...`")?;
            Expect::PacketOut(packet(rest[0], &file_in_case)?)
        }
        "user" => {
            if rest.is_empty() {
                return Err("`user` takes the file of the expected output, then the arguments".into());
            }
            Expect::User {
                file: file_in_case(rest[0])?,
                args: rest[1..].iter().map(|s| s.to_string()).collect(),
            }
        }
        "userrc" => {
            if rest.is_empty() {
                return Err("`userrc` takes the exit status, then the arguments".into());
            }
            Expect::UserRc {
                rc: num(rest[0], "an exit status")? as i32,
                args: rest[1..].iter().map(|s| s.to_string()).collect(),
            }
        }
        "traffic" => {
            if rest.len() != 2 || rest[0] != "ping" {
                return Err("`traffic` takes `ping N`".into());
            }
            Expect::Traffic {
                pings: num(rest[1], "a count")? as u32,
            }
        }
        "watch" | "file" => {
            if rest.len() < 2 {
                return Err(format!("`{kw}` takes a path under /sys and the text it reads"));
            }
            // Only the kernel's state is read: a case cannot reach the
            // machine's other files.
            if !rest[0].starts_with("/sys/") || rest[0].contains("..") {
                return Err(format!("`{}` is not a path under /sys", rest[0]));
            }
            let (path, text) = (rest[0].to_string(), rest[1..].join(" "));
            if kw == "watch" {
                Expect::Watch { path, text }
            } else {
                Expect::FileIs { path, text }
            }
        }
        "sigint" => {
            want(1, "milliseconds: `sigint 500`")?;
            Expect::Sigint {
                ms: num(rest[0], "milliseconds")? as u64,
            }
        }
        other => {
            return Err(format!(
                "unknown expectation `{other}` (known: requires, unsupported, compile, reject, rejectin, verify, run, packet, map, global, user, userrc, tests, net, traffic, sigint, watch, file, nothing-left, attached, daemon-stop)"
            ))
        }
    })
}

fn packet(
    word: &str,
    file_in_case: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Packet, String> {
    Ok(match word.split_once(':') {
        Some(("zeros", n)) => Packet::Zeros(
            n.parse()
                .map_err(|_| format!("`{n}` is not a packet length"))?,
        ),
        Some(("hex", h)) => Packet::Bytes(parse_hex(h)?),
        Some(("file", f)) => Packet::File(file_in_case(f)?),
        _ => {
            return Err(format!(
                "`{word}` is not a packet: `zeros:N`, `hex:AABB...` or `file:NAME`"
            ))
        }
    })
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_hex(h: &str) -> Result<Vec<u8>, String> {
    if !h.len().is_multiple_of(2) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{h}` is not hex bytes (an even number of hex digits)"
        ));
    }
    Ok((0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect())
}

/// Program return values by name.
fn action(name: &str) -> Option<i64> {
    Some(match name {
        "XDP_ABORTED" => 0,
        "XDP_DROP" => 1,
        "XDP_PASS" => 2,
        "XDP_TX" => 3,
        "XDP_REDIRECT" => 4,
        "TC_ACT_UNSPEC" => -1,
        "TC_ACT_OK" => 0,
        "TC_ACT_RECLASSIFY" => 1,
        "TC_ACT_SHOT" => 2,
        "TC_ACT_PIPE" => 3,
        "TC_ACT_STOLEN" => 4,
        "TC_ACT_QUEUED" => 5,
        "TC_ACT_REPEAT" => 6,
        "TC_ACT_REDIRECT" => 7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expect: &str) -> Result<Case, String> {
        // One directory per call: tests run in parallel, and two expects
        // of one length (what named it before) raced for one directory.
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ksc-conf-case-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prog.ks"), "").unwrap();
        std::fs::write(dir.join("out.txt"), "").unwrap();
        std::fs::write(dir.join("expect"), expect).unwrap();
        let r = Case::read(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn sched_ext_watch_file_and_daemon_lines_parse() {
        let c = case("requires sched_ext\nwatch /sys/kernel/sched_ext/state enabled\nuser out.txt\nfile /sys/kernel/sched_ext/root/ops a b\nattached\ndaemon-stop\n").unwrap();
        assert!(c.requires_sched_ext());
        assert_eq!(
            c.lines[3].expect,
            Expect::FileIs {
                path: "/sys/kernel/sched_ext/root/ops".into(),
                text: "a b".into()
            }
        );
        assert_eq!(c.lines[4].expect, Expect::Attached);
        assert_eq!(c.lines[5].expect, Expect::DaemonStop);
        assert!(case("watch /etc/passwd root\n").is_err());
        assert!(case("file /sys/../etc/passwd x\n").is_err());
        assert!(case("watch /sys/kernel/sched_ext/state\n").is_err());
    }

    #[test]
    fn requires_python_parses() {
        let c = case("requires python\nuser out.txt\n").unwrap();
        assert_eq!(c.lines[0].expect, Expect::RequiresPython);
        assert!(c.requires_python());
        assert_eq!(c.requires(), None);
        assert!(case("requires python3\n").is_err());
    }

    #[test]
    fn requires_lines_name_what_the_kernel_lacks() {
        let c = case(
            "requires 5.18 kfuncs of kernel modules\nrequires 6.10 kfuncs from kprobes\nverify\n",
        )
        .unwrap();
        assert_eq!(c.requires(), Some((6, 10)));
        assert_eq!(
            c.requirements(),
            vec![
                ((5, 18), "kfuncs of kernel modules".to_string()),
                ((6, 10), "kfuncs from kprobes".to_string())
            ]
        );
        assert!(case("requires\n").is_err());
        assert!(case("requires five\n").is_err());
    }

    #[test]
    fn lines_parse() {
        let c = case("# what\nverify\nrun f hex:0a0B XDP_PASS # two bytes\nmap m 00 none\nuser out.txt --x=1\nuserrc 2 --bad\nrequires 6.6\n").unwrap();
        assert_eq!(c.lines.len(), 6);
        assert_eq!(
            c.lines[1].expect,
            Expect::Run {
                func: "f".into(),
                packet: Packet::Bytes(vec![10, 11]),
                ret: 2
            }
        );
        assert_eq!(c.lines[1].no, 3);
        assert_eq!(c.requires(), Some((6, 6)));
        assert!(!c.requires_python());
    }

    #[test]
    fn bad_lines_are_located() {
        let e = case("verify\nrun f zeros:x 2\n").unwrap_err();
        assert!(e.ends_with("expect:2: `x` is not a packet length"), "{e}");
        let e = case("verfy\n").unwrap_err();
        assert!(e.contains("expect:1: unknown expectation `verfy`"), "{e}");
        let e = case("user missing.txt\n").unwrap_err();
        assert!(e.contains("no file `missing.txt`"), "{e}");
        let e = case("reject 3\nverify\n").unwrap_err();
        assert!(e.contains("expect:2: a `reject` case"), "{e}");
        let e = case("userrc 0 --interface=$IFACE\n").unwrap_err();
        assert!(e.contains("need a `net` line"), "{e}");
    }
}
