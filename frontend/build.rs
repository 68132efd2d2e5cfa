//! Build script: generates the parser from `src/grammar.lalrpop` with
//! lalrpop into OUT_DIR.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("the KernelScript grammar failed to build");
}
