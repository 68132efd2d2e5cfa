//! A misbehaving backend plugin for ksc's tests. Its library file is
//! `libksc_test_plugin.so`, which ksc never discovers by itself: the tests
//! copy it into a plugin directory as `libksc_backend_<name>.so`.
//!
//! What it does is chosen by the environment of the ksc process:
//!
//! | variable | effect |
//! |---|---|
//! | `KSC_TEST_PLUGIN_NAME` | its name (default `test`) |
//! | `KSC_TEST_PLUGIN_IR_VERSION` | the IR version it declares (default: the real one) |
//! | `KSC_TEST_PLUGIN=panic` | `generate` panics |
//! | `KSC_TEST_PLUGIN=panic-at-load` | the root module constructor panics |
//! | `KSC_TEST_PLUGIN=error` | `generate` reports an error at the first function |
//! | `KSC_TEST_PLUGIN=escape` | `generate` returns a file outside the output dir |
//! | `KSC_TEST_PLUGIN=ok-error` | `generate` returns files and an error diagnostic |
//! | `KSC_TEST_PLUGIN=mixed` | `generate` fails with located and unlocated errors, a warning and a located note, interleaved |
//! | `KSC_TEST_PLUGIN=empty-error` | `generate` fails with no diagnostics |
//! | `KSC_TEST_PLUGIN=exit` | `generate` ends the process (`exit(0)`) |
//! | otherwise | writes `<module>.txt` listing the options and a warning |

use ksc_plugin_abi::ksc_ir::Module;
use ksc_plugin_abi::{export_backend, Diag, File, Options};

fn mode() -> String {
    std::env::var("KSC_TEST_PLUGIN").unwrap_or_default()
}

type Generated = Result<(Vec<File>, Vec<Diag>), Vec<Diag>>;

fn generate(module: &Module, options: &Options) -> Generated {
    match mode().as_str() {
        "panic" => panic!("the test plugin was told to panic"),
        "error" => {
            let mut d = Diag::error("the test plugin refuses this program");
            if let Some(f) = module.functions.first() {
                d = d.at(f.span);
            }
            Err(vec![d])
        }
        "escape" => Ok((vec![File::new("../escaped.txt", "x")], vec![])),
        "ok-error" => Ok((
            vec![File::new(format!("{}.txt", module.name), "x")],
            vec![Diag::error("the test plugin says Ok, with an error")],
        )),
        "mixed" => {
            let at = |i: usize| module.functions[i % module.functions.len()].span;
            Err(vec![
                Diag::warning("first: an unlocated warning"),
                Diag::error("second: a located error").at(at(1)),
                Diag::error("third: an unlocated error"),
                Diag::note("fourth: a located note").at(at(0)),
                Diag::error("fifth: a located error").at(at(2)),
            ])
        }
        "empty-error" => Err(vec![]),
        "exit" => std::process::exit(0),
        _ => Ok((
            vec![File::new(
                format!("{}.txt", module.name),
                format!(
                    "target={} backends={}\n",
                    options.target,
                    options.backends.join(",")
                ),
            )],
            vec![Diag::warning("the test plugin ran")],
        )),
    }
}

fn name() -> &'static str {
    if mode() == "panic-at-load" {
        panic!("the test plugin was told to panic while loading");
    }
    match std::env::var("KSC_TEST_PLUGIN_NAME") {
        Ok(n) => Box::leak(n.into_boxed_str()),
        Err(_) => "test",
    }
}

fn ir_version() -> u32 {
    std::env::var("KSC_TEST_PLUGIN_IR_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ksc_plugin_abi::ksc_ir::IR_VERSION)
}

export_backend! {
    name: name(),
    version: "9.8.7",
    description: "misbehaves on request (ksc's tests)",
    outputs: ["txt"],
    ir_version: ir_version(),
    homepage: "https://example.org/ksc-test-plugin",
    generate: generate,
}
