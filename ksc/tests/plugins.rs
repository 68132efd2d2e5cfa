//! Backend plugins and targets through the `ksc` command line: listing,
//! compiling with the example DOT plugin, building, and every way a plugin
//! can be missing, broken, incompatible or misbehaving (a clear error and
//! exit status, never a crash).
//!
//! The plugins are dev-dependencies of `ksc`, so their `cdylib`s are built
//! into `target/<profile>/deps/` before these tests run. Each test copies
//! the ones it needs into its own directory and points `KSC_PLUGIN_PATH`
//! there (searched before the directory of the ksc binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROGRAM: &str = "var counts : array<u32, u64>(4)\n\
@helper fn bump(i: u32) { counts[i] += 1 }\n\
@xdp fn classify(ctx: *xdp_md) -> xdp_action {\n    bump(0)\n    return deep(ctx)\n}\n\
@xdp fn deep(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n";

/// A built plugin library: `name` is its crate's library name.
fn built_plugin(lib: &str) -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_ksc"));
    let file = format!(
        "{}{lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let dir = exe.parent().unwrap();
    for candidate in [dir.join("deps").join(&file), dir.join(&file)] {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{file} was not built next to {}", exe.display());
}

/// A fresh directory for one test: `plugins/`, the program, targets.
struct Setup {
    dir: PathBuf,
    plugins: PathBuf,
}

impl Setup {
    fn new(test: &str) -> Setup {
        let dir = std::env::temp_dir().join(format!("ksc-plugins-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(dir.join("prog.ks"), PROGRAM).unwrap();
        Setup { dir, plugins }
    }

    /// Install the example DOT plugin.
    fn with_dot(self) -> Setup {
        std::fs::copy(
            built_plugin("ksc_backend_dot"),
            self.plugins.join(plugin_file("dot")),
        )
        .unwrap();
        self
    }

    /// Install the test plugin under the name `test`.
    fn with_test_plugin(self) -> Setup {
        std::fs::copy(
            built_plugin("ksc_test_plugin"),
            self.plugins.join(plugin_file("test")),
        )
        .unwrap();
        self
    }

    /// Write a target file; returns its path.
    fn target(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(format!("{name}.ron"));
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn ksc(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksc"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env("KSC_PLUGIN_PATH", &self.plugins)
            .env_remove("KSC_TEST_PLUGIN")
            .env_remove("KSC_TEST_PLUGIN_IR_VERSION")
            .env_remove("KSC_TARGET_PATH");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run ksc")
    }

    fn prog(&self) -> String {
        self.dir.join("prog.ks").to_str().unwrap().to_string()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn plugin_file(name: &str) -> String {
    format!(
        "{}ksc_backend_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// No Rust panic report or signal death leaked out of ksc.
fn assert_no_crash(o: &Output) {
    let e = stderr(o);
    assert!(o.status.code().is_some(), "killed by a signal: {e}");
    assert_ne!(o.status.code(), Some(101), "{e}");
    assert!(!e.contains("RUST_BACKTRACE"), "{e}");
}

#[test]
fn plugins_lists_the_example_plugin_with_its_versions() {
    let s = Setup::new("list").with_dot();
    let o = s.ksc(&["plugins"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let path = s.plugins.join(plugin_file("dot"));
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.contains(&format!(
            "dot {version} (IR {}, ABI {}): the program's functions, maps and call graph as Graphviz DOT [outputs: dot]\n    {}\n",
            ksc_ir::IR_VERSION,
            "0.2.0",
            path.display()
        )),
        "{out}"
    );
    assert!(out.contains(&s.plugins.display().to_string()), "{out}");
}

#[test]
fn compiles_with_the_dot_target() {
    let s = Setup::new("dot").with_dot();
    let o = s.ksc(&["--target=dot", &s.prog(), "-o", "outdir"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("wrote 1 file to outdir (target dot: dot)"),
        "{}",
        stderr(&o)
    );
    let dot = std::fs::read_to_string(s.dir.join("outdir/prog.dot")).unwrap();
    assert!(dot.starts_with("digraph \"prog\" {"), "{dot}");
    assert!(dot.contains("f0 [label=\"bump\\n@helper\"];"), "{dot}");
    assert!(dot.contains("f1 [label=\"classify\\n@xdp\"];"), "{dot}");
    assert!(dot.contains("f1 -> f0;"), "{dot}");
    assert!(
        dot.contains("f1 -> f2 [style=dashed, label=\"tail call\"];"),
        "{dot}"
    );
    assert!(
        dot.contains("m0 [shape=cylinder, label=\"counts\\nArray(4)\"];"),
        "{dot}"
    );
    assert!(dot.contains("f0 -> m0"), "{dot}");

    // Default output directory: out/<stem>; `build` of a target without a
    // build step only generates.
    let o = s.ksc(&["build", &s.prog(), "--target", "dot"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(s.dir.join("out/prog/prog.dot").is_file());
    assert!(
        stderr(&o).contains("target `dot` has nothing to build"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn subcommands_and_compile_mode_coexist() {
    let s = Setup::new("modes").with_dot();
    for args in [
        &["check", &s.prog()][..],
        &["--color", "never", "check", &s.prog()],
        &["check", "--color=never", &s.prog()],
    ] {
        let o = s.ksc(args, &[]);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(o.stderr.is_empty(), "{}", stderr(&o));
    }
    // Top-level compile options do not combine with a command.
    let o = s.ksc(&["--target=dot", "check", &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give them after the command"),
        "{}",
        stderr(&o)
    );
    // A word that is neither.
    let o = s.ksc(&["frobnicate"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("neither a command nor a file"),
        "{}",
        stderr(&o)
    );
    // A program with errors stops before any backend runs.
    std::fs::write(
        s.dir.join("bad.ks"),
        "fn main() -> i32 {\n    return nope\n}\n",
    )
    .unwrap();
    let o = s.ksc(&["--target=dot", "bad.ks"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot find value `nope`"),
        "{}",
        stderr(&o)
    );
    assert!(!s.dir.join("out").exists());
}

#[test]
fn targets_lists_the_builtin_targets_and_unknown_ones_are_explained() {
    let s = Setup::new("targets");
    let o = s.ksc(&["targets"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("c-libbpf (default): "), "{out}");
    assert!(
        out.contains("    backends: ebpf-c, libbpf-c (+ kmod-c with @kfunc)\n    build: make"),
        "{out}"
    );
    assert!(out.contains("dot: "), "{out}");

    let o = s.ksc(&["--target=nope", &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_no_crash(&o);
    assert!(
        stderr(&o).contains("error: unknown target `nope`; known targets: c-libbpf, dot"),
        "{}",
        stderr(&o)
    );

    // Targets from KSC_TARGET_PATH join the list.
    let tdir = s.dir.join("targets");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(
        tdir.join("mine.ron"),
        "Target(description: \"my target\", backends: [\"dot\"])",
    )
    .unwrap();
    let o = s.ksc(&["targets"], &[("KSC_TARGET_PATH", tdir.to_str().unwrap())]);
    assert!(stdout(&o).contains("mine: my target"), "{}", stdout(&o));
}

/// `--format=ron` is the listing as data (what the conformance runner
/// reads): every target with its capabilities; a target file without
/// `capabilities` still loads, with none.
#[test]
fn targets_format_ron_lists_capabilities_as_data() {
    use ksc_plugins::targets::{Capability, Listed};
    let s = Setup::new("targets-ron");
    let tdir = s.dir.join("targets");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(
        tdir.join("mine.ron"),
        "Target(description: \"my target\", backends: [\"dot\"])",
    )
    .unwrap();
    let o = s.ksc(
        &["targets", "--format=ron"],
        &[("KSC_TARGET_PATH", tdir.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list = Listed::from_ron(&stdout(&o)).unwrap();
    let get = |n: &str| list.iter().find(|t| t.name == n).unwrap();
    assert!(get("c-libbpf").default);
    assert_eq!(get("c-libbpf").capabilities, [Capability::Userspace]);
    assert_eq!(get("rust-aya").capabilities, [Capability::Userspace]);
    assert_eq!(get("ebpf-c").capabilities, []);
    assert_eq!(get("ebpf-c").build, Some(vec!["make".to_string()]));
    assert_eq!(get("mine").capabilities, []);
    assert_eq!(
        get("mine").file.as_deref(),
        Some(tdir.join("mine.ron").as_path())
    );

    let o = s.ksc(&["targets", "--format=yaml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_no_crash(&o);
}

/// `ksc test` on a target without the `userspace` capability is refused
/// before anything is built, naming the targets that can run tests.
#[test]
fn test_on_a_target_without_userspace_is_refused_up_front() {
    let s = Setup::new("test-no-user");
    let o = s.ksc(&["test", "--target=ebpf-c", &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_crash(&o);
    let e = stderr(&o);
    assert!(
        e.contains("error: target `ebpf-c` builds no userspace program, so it cannot run `@test` functions\nhelp: use a target with the `userspace` capability: c-libbpf, rust-aya"),
        "{e}"
    );
    assert!(!s.dir.join("out").exists(), "nothing is written");
}

#[test]
fn a_missing_plugin_lists_what_was_found() {
    let s = Setup::new("missing").with_dot();
    let t = s.target(
        "needs-absent",
        "Target(description: \"x\", backends: [\"dot\", \"absent\"])",
    );
    let o = s.ksc(&["--target", &t, &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_crash(&o);
    let e = stderr(&o);
    assert!(
        e.starts_with(
            "error: target `needs-absent` needs the backend plugin `absent`: \
             no backend plugin named `absent` was found; found:\n  dot "
        ),
        "{e}"
    );
    assert!(e.contains(&s.plugins.display().to_string()), "{e}");
    assert!(!s.dir.join("out").exists(), "nothing is written");
}

#[test]
fn a_file_that_is_not_a_plugin_is_reported_not_loaded() {
    let s = Setup::new("bogus").with_dot();
    let bogus = s.plugins.join(plugin_file("bogus"));
    std::fs::write(&bogus, b"").unwrap();

    let o = s.ksc(&["plugins"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("dot "), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "warning: skipped: `{}` is not a loadable plugin: cannot open it as a shared library",
            bogus.display()
        )),
        "{e}"
    );

    // Other targets still work ...
    let o = s.ksc(&["--target=dot", &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // ... and asking for it names the file and the reason.
    let t = s.target("bogus", "Target(description: \"x\", backends: [\"bogus\"])");
    let o = s.ksc(&["--target", &t, &s.prog()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_crash(&o);
    assert!(
        stderr(&o).contains(&format!(
            "needs the backend plugin `bogus`: `{}` is not a loadable plugin",
            bogus.display()
        )),
        "{}",
        stderr(&o)
    );

    // A real shared library that is no ksc plugin.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib64/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file());
    if let Some(libm) = libm {
        std::fs::copy(libm, &bogus).unwrap();
        let o = s.ksc(&["--target", &t, &s.prog()], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("exports no abi_stable root module"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn an_ir_version_mismatch_names_both_versions() {
    let s = Setup::new("irversion").with_test_plugin();
    let t = s.target("t", "Target(description: \"x\", backends: [\"test\"])");
    let env = [("KSC_TEST_PLUGIN_IR_VERSION", "999")];
    let o = s.ksc(&["--target", &t, &s.prog()], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_crash(&o);
    let path = s.plugins.join(plugin_file("test"));
    assert!(
        stderr(&o).contains(&format!(
            "plugin `test` 9.8.7 ({}) accepts IR version 999, but this ksc produces IR version {}",
            path.display(),
            ksc_ir::IR_VERSION
        )),
        "{}",
        stderr(&o)
    );
    let o = s.ksc(&["plugins"], &env);
    assert!(
        stdout(&o).contains("[incompatible: accepts IR version 999, ksc produces"),
        "{}",
        stdout(&o)
    );
    // The optional root-module field, given by this plugin.
    assert!(
        stdout(&o).contains(&format!(
            "    {}\n    https://example.org/ksc-test-plugin\n",
            path.display()
        )),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_panicking_plugin_is_an_error_not_a_crash() {
    let s = Setup::new("panic").with_test_plugin();
    let t = s.target("t", "Target(description: \"x\", backends: [\"test\"])");
    let o = s.ksc(
        &["--target", &t, &s.prog()],
        &[("KSC_TEST_PLUGIN", "panic")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_no_crash(&o);
    let e = stderr(&o);
    assert!(e.starts_with("error: backend `test` ("), "{e}");
    assert!(
        e.contains(") panicked at plugins/test-plugin/src/lib.rs:"),
        "{e}"
    );
    assert!(
        e.contains(": the test plugin was told to panic; this is a bug in the plugin"),
        "{e}"
    );
    assert!(
        !e.contains("thread '"),
        "the plugin's panic report is captured: {e}"
    );
    assert!(!s.dir.join("out").exists());

    let o = s.ksc(
        &["--target", &t, &s.prog()],
        &[("KSC_TEST_PLUGIN", "panic-at-load")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_no_crash(&o);
    let e = stderr(&o);
    assert!(
        e.contains("failed while loading: panicked at plugins/test-plugin/src/lib.rs:"),
        "{e}"
    );
    assert!(
        e.contains(": the test plugin was told to panic while loading"),
        "{e}"
    );
    assert!(!e.contains("thread '"), "{e}");
}

#[test]
fn plugin_diagnostics_are_shown_with_the_source() {
    let s = Setup::new("diags").with_test_plugin();
    let t = s.target(
        "t",
        "Target(description: \"x\", backends: [\"test\"], settings: {\"k\": \"v\"})",
    );
    let o = s.ksc(
        &["--target", &t, &s.prog()],
        &[("KSC_TEST_PLUGIN", "error")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("error: the test plugin refuses this program\n"),
        "{e}"
    );
    assert!(e.contains(&format!("--> {}:2:", s.prog())), "{e}");
    assert!(e.contains("reported by the `test` backend"), "{e}");

    // Success with a warning; the options reach the plugin.
    let o = s.ksc(&["--target", &t, &s.prog(), "-o", "o"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: the test plugin ran\n = reported by the `test` backend\n"),
        "{}",
        stderr(&o)
    );
    let txt = std::fs::read_to_string(s.dir.join("o/prog.txt")).unwrap();
    assert_eq!(txt, "target=t backends=test\n");

    // Output paths outside the output directory are refused.
    let o = s.ksc(
        &["--target", &t, &s.prog(), "-o", "o2"],
        &[("KSC_TEST_PLUGIN", "escape")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("returned invalid output: the file path `../escaped.txt`"),
        "{}",
        stderr(&o)
    );
    assert!(!s.dir.join("escaped.txt").exists());
}

#[test]
fn build_runs_the_targets_build_command_and_passes_its_errors_through() {
    let s = Setup::new("build").with_dot();
    let ok = s.target(
        "ok",
        "Target(description: \"x\", backends: [\"dot\"], \
         build: Some(Build(command: [\"sh\", \"-c\", \"test -f prog.dot && echo built > stamp\"])))",
    );
    let o = s.ksc(&["build", &s.prog(), "--target", &ok], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(s.dir.join("out/prog/stamp")).unwrap(),
        "built\n"
    );

    let failing = s.target(
        "failing",
        "Target(description: \"x\", backends: [\"dot\"], \
         build: Some(Build(command: [\"sh\", \"-c\", \"echo 'prog.c:1: boom' >&2; exit 4\"])))",
    );
    let o = s.ksc(&["build", &s.prog(), "--target", &failing], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("prog.c:1: boom\n"), "{e}");
    assert!(e.contains("error: the build failed: `sh -c"), "{e}");

    let missing = s.target(
        "missing",
        "Target(description: \"x\", backends: [\"dot\"], \
         build: Some(Build(command: [\"ksc-no-such-build-tool\"])))",
    );
    let o = s.ksc(&["build", &s.prog(), "--target", &missing], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "cannot run `ksc-no-such-build-tool` (the build command of target `missing`)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(": not found"), "{}", stderr(&o));
}

#[test]
fn an_ok_with_an_error_fails_and_writes_nothing() {
    let s = Setup::new("okerror").with_test_plugin();
    let t = s.target("t", "Target(description: \"x\", backends: [\"test\"])");
    let o = s.ksc(
        &["--target", &t, &s.prog(), "-o", "o"],
        &[("KSC_TEST_PLUGIN", "ok-error")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_no_crash(&o);
    let e = stderr(&o);
    assert!(
        e.starts_with("error: the test plugin says Ok, with an error\n"),
        "{e}"
    );
    assert!(e.contains("reported by the `test` backend"), "{e}");
    assert!(e.contains("due to 1 previous error"), "{e}");
    assert!(!e.contains("wrote "), "{e}");
    assert!(!s.dir.join("o").exists(), "nothing is written");
}

#[test]
fn plugin_diagnostics_keep_their_order_counts_and_places() {
    let s = Setup::new("order").with_test_plugin();
    let t = s.target("t", "Target(description: \"x\", backends: [\"test\"])");
    let o = s.ksc(
        &["--target", &t, &s.prog()],
        &[("KSC_TEST_PLUGIN", "mixed")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    let order: Vec<usize> = ["first:", "second:", "third:", "fourth:", "fifth:"]
        .iter()
        .map(|m| e.find(m).unwrap_or_else(|| panic!("{m} missing: {e}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{e}");
    assert!(e.contains("warning: first: an unlocated warning\n"), "{e}");
    assert!(e.contains("error: third: an unlocated error\n"), "{e}");
    // The note keeps its place in the source.
    let note = &e[order[3]..order[4]];
    assert!(note.contains(&format!("--> {}:", s.prog())), "{note}");
    assert!(
        e.contains("error: could not compile `")
            && e.contains("due to 3 previous errors; 1 warning emitted"),
        "{e}"
    );

    let o = s.ksc(
        &["--target", &t, &s.prog()],
        &[("KSC_TEST_PLUGIN", "empty-error")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("error: backend `test` failed: the backend failed without saying why"),
        "{e}"
    );
    assert!(!e.contains("0 errors"), "{e}");
}

#[test]
fn a_plugin_that_ends_the_process_is_a_plugin_failure() {
    let s = Setup::new("exit").with_test_plugin();
    let t = s.target("t", "Target(description: \"x\", backends: [\"test\"])");
    let o = s.ksc(
        &["--target", &t, &s.prog(), "-o", "o"],
        &[("KSC_TEST_PLUGIN", "exit")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("error: backend `test` (")
            && e.contains("ended the ksc process while generating"),
        "{e}"
    );
    assert!(!s.dir.join("o").exists(), "nothing is written");
}
