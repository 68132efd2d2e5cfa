//! The Rust `fn main`: opens the runtime, parses `main(args)`' options,
//! calls the program's `main` and cleans up.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

impl<'m> Gen<'m> {
    pub(super) fn rust_main(&mut self) {
        let m = self.m;
        let Some(main) = m.main else {
            self.out.push_str("fn main() {\n    rt::open(&DESC);\n}\n");
            return;
        };
        let f = &m.functions[main.index()];
        let mut s =
            String::from("fn main() {\n    let argv: Vec<String> = std::env::args().collect();\n");
        let tests: Vec<(FnId, &Function)> = m
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FnKind::Test)
            .map(|(i, f)| (FnId(i as u32), f))
            .collect();
        if !tests.is_empty() {
            // `ksc test` runs the executable with KSC_TEST set: the `@test`
            // functions run instead of `main`.
            let mut table = String::new();
            for (id, t) in &tests {
                let call = if matches!(self.kind(t.ret), TypeKind::Void) {
                    format!("|| {{\n {}();\n 0\n }}", self.fn_name(*id))
                } else {
                    format!("|| {}() as i32", self.fn_name(*id))
                };
                let _ = writeln!(table, "            (\"{}\", {call}),", esc(&t.name));
            }
            let _ = write!(
                s,
                "    if std::env::var_os(\"KSC_TEST\").is_some() {{\n        let tests: &[(&str, fn() -> i32)] = &[\n{table}        ];\n        rt::open(&DESC);\n        let n = tests.len();\n        let mut failed = 0;\n        rt::print(\"running %d test%s\", &[Arg::I(n as i64), Arg::S(if n == 1 {{ b\"\" }} else {{ b\"s\" }})]);\n        for (name, run) in tests {{\n            let r = run();\n            if r == 0 {{\n                rt::print(\"test %s ... ok\", &[Arg::S(name.as_bytes())]);\n            }} else {{\n                rt::print(\"test %s ... FAILED (returned %d)\", &[Arg::S(name.as_bytes()), Arg::I(r as i64)]);\n                failed += 1;\n            }}\n        }}\n        rt::print(\"\\ntest result: %s. %d passed; %d failed\", &[Arg::S(if failed > 0 {{ b\"FAILED\" }} else {{ b\"ok\" }}), Arg::I((n - failed) as i64), Arg::I(failed as i64)]);\n        rt::cleanup();\n        std::process::exit(if failed > 0 {{ 1 }} else {{ 0 }});\n    }}\n"
            );
        }
        let call = if f.params == 1 {
            let at = f.locals[0].ty;
            let TypeKind::Struct(sd) = self.kind(at) else {
                self.errors.push(EmitError::at(
                    &self.m.files,
                    f.span,
                    "main's parameter must be a struct",
                ));
                return;
            };
            let tn = self.ty(at);
            let mut names = String::new();
            let mut help = String::new();
            let mut cases = String::new();
            for (i, fd) in sd.fields.iter().enumerate() {
                let dashed = fd.name.replace('_', "-");
                let _ = write!(names, "(\"{}\", {i}), ", fd.name);
                if dashed != fd.name {
                    let _ = write!(names, "(\"{dashed}\", {i}), ");
                }
                let id = ident(&fd.name);
                let n = &fd.name;
                let (what, parse) = match self.kind(fd.ty) {
                    TypeKind::Int(it) => {
                        let (lo, hi) = it.range();
                        (
                            it.name().to_string(),
                            format!(
                                "match rt::int_opt(&value, {lo}, {hi}) {{\n Some(v) => args.{id} = v as {t},\n None => {{\n eprintln!(\"error: --{n} takes a {t} ({lo} to {hi}), not `{{value}}`\");\n std::process::exit(2);\n }}\n }}",
                                t = it.name()
                            ),
                        )
                    }
                    TypeKind::Bool => (
                        "bool".into(),
                        format!(
                            "match value.as_str() {{\n \"1\" | \"true\" => args.{id} = true,\n \"0\" | \"false\" => args.{id} = false,\n _ => {{\n eprintln!(\"error: --{n} takes true/false/1/0, not `{{value}}`\");\n std::process::exit(2);\n }}\n }}"
                        ),
                    ),
                    TypeKind::Str(len) => (
                        format!("text, at most {} characters", len - 1),
                        format!(
                            "if value.len() >= {len} {{\n eprintln!(\"error: --{n} takes at most {max} characters\");\n std::process::exit(2);\n }}\n args.{id} = KStr::new(&value);",
                            max = len - 1
                        ),
                    ),
                    TypeKind::Char => (
                        "char".into(),
                        format!(
                            "if value.len() != 1 {{\n eprintln!(\"error: --{n} takes one character, not `{{value}}`\");\n std::process::exit(2);\n }}\n args.{id} = value.as_bytes()[0];"
                        ),
                    ),
                    _ => ("value".into(), String::new()),
                };
                let _ = writeln!(help, "  --{}=<{}>", fd.name, esc(&what));
                let _ = writeln!(
                    cases,
                    "            rt::Opt::Value({i}, value) => {{\n {parse}\n }}"
                );
            }
            let _ = write!(
                s,
                "    // The command line, as the C loader's getopt_long: `--name=value`\n    // or `--name value`, `-` for `_`, `--help`.\n    let mut args: {tn} = Plain::zero();\n    for opt in rt::options(&argv, &[{names}]) {{\n        match opt {{\n{cases}            rt::Opt::Value(..) => {{}}\n            rt::Opt::Extra(a) => {{\n                eprintln!(\"error: unexpected argument `{{a}}`\");\n                std::process::exit(2);\n            }}\n            rt::Opt::Help => {{\n                print!(\"usage: {{}} [options]\\n{}\", argv[0]);\n                std::process::exit(0);\n            }}\n        }}\n    }}\n",
                esc(&help)
            );
            "ks_main(args)"
        } else {
            s.push_str("    let _ = argv;\n");
            "ks_main()"
        };
        let _ = write!(
            s,
            "    rt::open(&DESC);\n    let status = {call} as i32;\n    rt::cleanup();\n    std::process::exit(status);\n}}\n"
        );
        self.out.push_str(&s);
    }
}
