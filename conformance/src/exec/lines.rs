//! One job's lines, checked one by one: the state a job keeps while its
//! `expect` lines run (pins, namespace, watched files) and what each kind
//! of line does and compares.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::system::{ensure_bpffs, hex, last_lines, lookup, sh, tool, Net};
use super::{loader, Job, Loaded, SEQ};
use crate::case::{Expect, Packet};

/// State of one job while its lines run.
pub(super) struct Run<'j> {
    pub(super) job: &'j Job,
    pub(super) id: String,
    pub(super) scratch: PathBuf,
    pub(super) pins: Option<Result<PathBuf, String>>,
    pub(super) net: Option<Net>,
    pub(super) traffic: Option<u32>,
    pub(super) sigint: Option<u64>,
    /// `watch` lines for the next run: (path, text).
    pub(super) watch: Vec<(String, String)>,
    pub(super) programs: Vec<Loaded>,
    /// The loaded object's maps: the kernel's name (at most 15 bytes) and id.
    pub(super) maps: Vec<(String, u64)>,
    /// What the last `run` left of its packet.
    pub(super) packet_out: Option<Vec<u8>>,
    pub(super) verifier_log: String,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        if let Some(Ok(p)) = &self.pins {
            let _ = std::fs::remove_dir_all(p);
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

type LineOutcome = Result<String, (String, String)>;

/// A file's contents, trimmed (`watch`/`file` lines); the error text when
/// it cannot be read.
fn read_trimmed(path: &str) -> String {
    match std::fs::read_to_string(path) {
        Ok(t) => t.trim().to_string(),
        Err(e) => format!("(unreadable: {e})"),
    }
}
/// How the executable ended (`exit N`, `signal N`), its stdout and stderr.
type Ran = (String, Vec<u8>, Vec<u8>);

pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, (String, String)> {
    Err((String::new(), message.into()))
}

impl Run<'_> {
    pub(super) fn line(&mut self, e: &Expect) -> LineOutcome {
        let built = self.job.built;
        let needs_build = !matches!(
            e,
            Expect::Requires(..)
                | Expect::RequiresPython
                | Expect::RequiresSchedExt
                | Expect::Unsupported(_)
                | Expect::Reject { .. }
                | Expect::Net
                | Expect::Watch { .. }
                | Expect::Traffic { .. }
                | Expect::Sigint { .. }
        );
        if needs_build && !built {
            return fail(format!("the case did not build: {}", self.job.build_error));
        }
        match e {
            // Decided when the case was built (on the host).
            Expect::Requires(..)
            | Expect::RequiresPython
            | Expect::RequiresSchedExt
            | Expect::Unsupported(_)
            | Expect::Compile
            | Expect::Reject { .. } => Ok("built".into()),
            Expect::Verify => {
                self.pins()?;
                let names: Vec<&str> = self.programs.iter().map(|p| p.name.as_str()).collect();
                Ok(format!("loaded {}", names.join(", ")))
            }
            Expect::Run { func, packet, ret } => {
                let pins = self.pins()?;
                let bytes = self.packet_bytes(packet)?;

                let input = self
                    .scratch
                    .join(format!("pkt-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
                std::fs::write(&input, &bytes).or_else(|e| fail(format!("{e}")))?;
                let prog = pins.join(func);
                let output = self.scratch.join("pkt-out");
                let _ = std::fs::remove_file(&output);
                let (ok, out, err) = tool(
                    "bpftool",
                    &[
                        "prog",
                        "run",
                        "pinned",
                        &prog.to_string_lossy(),
                        "data_in",
                        &input.to_string_lossy(),
                        "data_out",
                        &output.to_string_lossy(),
                        "repeat",
                        "1",
                    ],
                );
                let text = out + &err;
                let got = text
                    .split("Return value: ")
                    .nth(1)
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit() && c != '-').next())
                    .and_then(|v| v.parse::<i64>().ok());
                self.packet_out = std::fs::read(&output).ok();
                match got {
                    Some(v) if ok => {
                        // Return values are 32-bit: compare as such.
                        let v = v as i32 as i64;
                        if v == *ret {
                            Ok(format!("returned {v}"))
                        } else {
                            Err((format!("returned {v}"), format!("returned {v}, want {ret}")))
                        }
                    }
                    _ => fail(format!(
                        "the kernel cannot run `{func}`: {}",
                        last_lines(&text, 3)
                    )),
                }
            }
            Expect::Map { name, key, value } => {
                self.pins()?;
                let Some(id) = self
                    .maps
                    .iter()
                    .find(|(n, _)| map_name_matches(n, name))
                    .map(|m| m.1)
                else {
                    let names: Vec<&str> = self.maps.iter().map(|m| m.0.as_str()).collect();
                    return fail(format!(
                        "the loaded programs use no map `{name}` (they use {})",
                        names.join(", ")
                    ));
                };
                let got = lookup(id, key)?;
                let shown =
                    |v: &Option<Vec<u8>>| v.as_ref().map(|v| hex(v)).unwrap_or("none".into());
                if &got == value {
                    Ok(shown(&got))
                } else {
                    Err((
                        shown(&got),
                        format!(
                            "{name}[{}] is {}, want {}",
                            hex(key),
                            shown(&got),
                            shown(value)
                        ),
                    ))
                }
            }
            Expect::PacketOut(want) => {
                let want = self.packet_bytes(want)?;
                let Some(got) = self.packet_out.clone() else {
                    return fail("no `run` before (or it left no packet)");
                };
                if got == want {
                    Ok(hex(&got))
                } else {
                    let at = got
                        .iter()
                        .zip(&want)
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.len().min(want.len()));
                    Err((
                        hex(&got),
                        format!(
                            "the packet differs at byte {at} ({} bytes, want {}): {}",
                            got.len(),
                            want.len(),
                            hex(&got)
                        ),
                    ))
                }
            }
            Expect::Global { name, json } => {
                self.pins()?;
                let want: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
                let got = self.global(name)?;
                if got == want {
                    Ok(got.to_string())
                } else {
                    Err((got.to_string(), format!("{name} is {got}, want {want}")))
                }
            }
            Expect::User { file, args } => {
                let want = std::fs::read(self.job.case.dir.join(file))
                    .or_else(|e| fail(format!("cannot read {file}: {e}")))?;
                let (status, stdout, stderr) = self.exec(args, &[])?;
                let got = String::from_utf8_lossy(&stdout).into_owned();
                if stdout == want {
                    Ok(got)
                } else {
                    let first = first_difference(&String::from_utf8_lossy(&want), &got);
                    Err((
                        got,
                        format!(
                            "the output differs from {file} ({status}): {first}{}",
                            stderr_note(&stderr)
                        ),
                    ))
                }
            }
            Expect::UserRc { rc, args } => {
                let (status, _, stderr) = self.exec(args, &[])?;
                if status == format!("exit {rc}") {
                    Ok(status)
                } else {
                    Err((
                        status.clone(),
                        format!("{status}, want exit {rc}{}", stderr_note(&stderr)),
                    ))
                }
            }
            Expect::Tests => {
                let (status, stdout, stderr) = self.exec(&[], &[("KSC_TEST", "1")])?;
                let out = String::from_utf8_lossy(&stdout).into_owned();
                if status == "exit 0" {
                    Ok(out)
                } else {
                    Err((
                        out.clone(),
                        format!(
                            "the tests failed ({status}): {}{}",
                            last_lines(&out, 5),
                            stderr_note(&stderr)
                        ),
                    ))
                }
            }
            Expect::Net => {
                self.net = Some(Net::new(&self.id).or_else(fail)?);
                Ok("veth pair".into())
            }
            Expect::Traffic { pings } => {
                self.traffic = Some(*pings);
                Ok(String::new())
            }
            Expect::Sigint { ms } => {
                self.sigint = Some(*ms);
                Ok(String::new())
            }
            Expect::Watch { path, text } => {
                self.watch.push((path.clone(), text.clone()));
                Ok(String::new())
            }
            Expect::FileIs { path, text } => {
                let got = read_trimmed(path);
                if got == *text {
                    Ok(got)
                } else {
                    Err((got, format!("{path} reads something else than `{text}`")))
                }
            }
            Expect::NothingLeft => {
                let Some(net) = &self.net else {
                    return fail("no `net` line before");
                };
                match net.leftovers() {
                    l if l.is_empty() => Ok("nothing left".into()),
                    l => Err((l.clone(), format!("left on the interface: {l}"))),
                }
            }
            Expect::Attached => {
                let Some(net) = &self.net else {
                    return fail("no `net` line before");
                };
                match net.leftovers() {
                    l if l.is_empty() => fail("nothing is attached to the interface"),
                    l => Ok(l),
                }
            }
            Expect::DaemonStop => self.daemon_stop(),
        }
    }

    /// SIGTERM to every process running the case's executable (what
    /// `daemon()` left); waits for each to end (a zombie has ended).
    fn daemon_stop(&self) -> LineOutcome {
        let exe = std::fs::canonicalize(self.job.out.join("prog"))
            .or_else(|e| fail(format!("no executable: {e}")))?;
        let me = std::process::id();
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&p| p != me)
            .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|x| x == exe))
            .collect();
        if pids.is_empty() {
            return fail("no daemon of the executable is running");
        }
        for p in &pids {
            sh(&format!("kill -TERM {p}"));
        }
        let ended = |p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        };
        let start = Instant::now();
        while !pids.iter().all(ended) {
            if start.elapsed() > Duration::from_secs(5) {
                return fail("the daemon did not exit within 5 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(format!("stopped {}", pids.len()))
    }

    fn packet_bytes(&self, p: &Packet) -> Result<Vec<u8>, (String, String)> {
        Ok(match p {
            Packet::Zeros(n) => vec![0; *n],
            Packet::Bytes(b) => b.clone(),
            Packet::File(f) => std::fs::read(self.job.case.dir.join(f))
                .or_else(|e| fail(format!("cannot read {f}: {e}")))?,
        })
    }

    /// A global (or config) by name, from the data sections' maps as the
    /// kernel's BTF formats them.
    fn global(&self, name: &str) -> Result<serde_json::Value, (String, String)> {
        for (map, id) in &self.maps {
            if !map.contains("bss") && !map.contains("data") {
                continue;
            }
            let (_, out, _) = tool("bpftool", &["-j", "map", "dump", "id", &id.to_string()]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let sections = v
                .get(0)
                .and_then(|e| e.get("formatted"))
                .and_then(|f| f.get("value"))
                .and_then(|v| v.as_object());
            for vars in sections.into_iter().flat_map(|o| o.values()) {
                for var in vars.as_array().into_iter().flatten() {
                    if let Some(x) = var.get(name) {
                        return Ok(x.clone());
                    }
                }
            }
        }
        fail(format!(
            "the loaded programs use no global or config named `{name}`"
        ))
    }

    /// The object's programs pinned (loading it the first time).
    fn pins(&mut self) -> Result<PathBuf, (String, String)> {
        if self.pins.is_none() {
            let r = self.load();
            self.pins = Some(r);
        }
        match self.pins.as_ref().unwrap() {
            Ok(p) => Ok(p.clone()),
            Err(e) => fail(e.clone()),
        }
    }

    fn load(&mut self) -> Result<PathBuf, String> {
        ensure_bpffs()?;
        let pins = PathBuf::from(format!("/sys/fs/bpf/ksc-conf-{}", self.id));
        let obj = self.job.out.join("prog.ebpf.o");
        // Maps pinned too: a program array with no user reference left is
        // emptied by the kernel (tail calls would fail). An object whose
        // maps are pinned by name already keeps them there instead.
        let maps = pins.join("maps").to_string_lossy().into_owned();
        let (obj, pinned) = (obj.to_string_lossy(), pins.to_string_lossy());
        // ksc-conf-load (load.c) loads as bpftool does and reads the
        // verifier's statistics; bpftool where it was not built.
        let loader = loader();
        let (mut ok, mut out, mut err) = match &loader {
            Some(l) => tool(l, &[&obj, &pinned, &maps]),
            None => tool(
                "bpftool",
                &["prog", "loadall", &obj, &pinned, "pinmaps", &maps],
            ),
        };
        if loader.is_none() && !ok && err.contains("already has pin path") {
            let _ = std::fs::remove_dir_all(&pins);
            (ok, out, err) = tool("bpftool", &["prog", "loadall", &obj, &pinned]);
        }
        let processed: Vec<(String, u64)> = out
            .lines()
            .filter_map(|l| {
                let mut w = l.strip_prefix("PROG ")?.split_whitespace();
                Some((w.next()?.to_string(), w.next()?.parse().ok()?))
            })
            .collect();
        if !ok {
            let _ = std::fs::remove_dir_all(&pins);
            self.verifier_log = last_lines(&(out + &err), 20);
            return Err(format!(
                "the kernel rejected the object; the end of the log:\n{}",
                self.verifier_log
            ));
        }
        let mut names: Vec<String> = std::fs::read_dir(&pins)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "maps")
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        self.programs = names
            .into_iter()
            .map(|name| {
                let (_, out, _) = tool(
                    "bpftool",
                    &[
                        "-j",
                        "prog",
                        "show",
                        "pinned",
                        &pins.join(&name).to_string_lossy(),
                    ],
                );
                let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
                // The maps, by the kernel's name for them (found through
                // the programs: the object's own pins may be elsewhere).
                for id in v
                    .get("map_ids")
                    .and_then(|m| m.as_array())
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = id.as_u64() else { continue };
                    if self.maps.iter().any(|m| m.1 == id) {
                        continue;
                    }
                    let (_, m, _) = tool("bpftool", &["-j", "map", "show", "id", &id.to_string()]);
                    let m: serde_json::Value = serde_json::from_str(&m).unwrap_or_default();
                    if let Some(n) = m.get("name").and_then(|n| n.as_str()) {
                        self.maps.push((n.to_string(), id));
                    }
                }
                Loaded {
                    processed_insns: processed
                        .iter()
                        .find(|p| p.0 == name)
                        .map(|p| p.1)
                        .unwrap_or(0),
                    xlated_bytes: n("bytes_xlated"),
                    jited_bytes: n("bytes_jited"),
                    verified_insns: n("verified_insns"),
                    name,
                }
            })
            .collect();
        Ok(pins)
    }

    /// Runs the executable (in the case's namespace when it has one) with
    /// the pending `traffic`/`sigint`; its status, stdout and stderr.
    fn exec(&mut self, args: &[String], env: &[(&str, &str)]) -> Result<Ran, (String, String)> {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("$IFACE", Net::IFACE))
            .collect();
        // Run as `./prog` from its directory: what it prints of argv[0]
        // (usage lines) is the same wherever the build is.
        let mut cmd = match &self.net {
            Some(net) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{}", net.ns)).arg("./prog");
                c
            }
            None => Command::new("./prog"),
        };
        cmd.args(&args)
            .envs(env.iter().copied())
            .current_dir(&self.job.out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .or_else(|e| fail(format!("cannot run the executable: {e}")))?;
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        // Set at the first line on stdout: the loaders print once they
        // have attached, and traffic waits for that (a slow start, e.g.
        // under qemu's emulation, would otherwise miss the first packets).
        let said = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let said_w = said.clone();
        let out_t = std::thread::spawn(move || {
            let mut b = vec![];
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                b.extend_from_slice(&chunk[..n]);
                if b.contains(&b'\n') {
                    said_w.store(true, Ordering::Relaxed);
                }
            }
            b
        });
        let err_t = std::thread::spawn(move || {
            let mut b = vec![];
            let _ = stderr.read_to_end(&mut b);
            b
        });
        let start = Instant::now();
        let mut traffic = self.traffic.take();
        let sigint = self.sigint.take();
        let mut watch = std::mem::take(&mut self.watch);
        let mut watched: Vec<String> = vec![];
        let mut interrupted = false;
        let mut traffic_done: Option<Duration> = None;
        let limit = Duration::from_secs(20);
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Some(s);
            }
            let t = start.elapsed();
            if let (Some(n), Some(net)) = (traffic, &self.net) {
                // 300 ms in, once the executable said it attached (its
                // first line), or at 5 s for one that prints nothing.
                if t >= Duration::from_millis(300)
                    && (said.load(Ordering::Relaxed) || t >= Duration::from_secs(5))
                {
                    traffic = None;
                    // One ping at a time: each returns at its reply (or after 1 s).
                    sh(&format!(
                        "for i in $(seq {n}); do nsenter --net=/run/netns/{} ping -c 1 -W 1 10.201.0.1 >/dev/null 2>&1; done",
                        net.peer_ns
                    ));
                    traffic_done = Some(start.elapsed());
                }
            }
            if !watch.is_empty() && said.load(Ordering::Relaxed) {
                // Read while it runs, once it has said it is set up.
                for (path, text) in watch.drain(..) {
                    let got = read_trimmed(&path);
                    if got != text {
                        watched.push(format!("{path} read `{got}` while it ran, not `{text}`"));
                    }
                }
            }
            if let Some(ms) = sigint {
                // After `ms`, and 300 ms after the traffic: the loader
                // polls (sleep) before it sees the last packet's count.
                let after_traffic =
                    traffic_done.is_none_or(|d| t >= d + Duration::from_millis(300));
                if !interrupted
                    && t >= Duration::from_millis(ms)
                    && traffic.is_none()
                    && after_traffic
                {
                    interrupted = true;
                    sh(&format!("kill -INT {}", child.id()));
                }
            }
            if t > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let out = out_t.join().unwrap_or_default();
        let err = err_t.join().unwrap_or_default();
        let Some(status) = status else {
            return Err((
                "timeout".into(),
                format!(
                    "it did not exit within {} s{}",
                    limit.as_secs(),
                    stderr_note(&err)
                ),
            ));
        };
        if !watch.is_empty() {
            watched.push("it printed nothing, so the `watch` files were not read".into());
        }
        if !watched.is_empty() {
            return Err((
                "watch".into(),
                format!("{}{}", watched.join("; "), stderr_note(&err)),
            ));
        }
        use std::os::unix::process::ExitStatusExt as _;
        let shown = match (status.code(), status.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            _ => "unknown".into(),
        };
        Ok((shown, out, err))
    }
}

fn stderr_note(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    if s.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", last_lines(s.trim(), 3))
    }
}

/// The first line where `got` differs from `want`.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            return format!(
                "line {}: want {:?}, got {:?}",
                i + 1,
                a.copied().unwrap_or("<end>"),
                b.copied().unwrap_or("<end>")
            );
        }
    }
    "the line endings differ".into()
}

/// The kernel keeps the first 15 bytes of a map's name.
fn map_name_matches(kernel: &str, name: &str) -> bool {
    kernel == name || (kernel.len() == 15 && name.starts_with(kernel))
}
