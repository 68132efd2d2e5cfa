//! Several files, one program: `include "x.kh"` and `import m from "x.ks"`
//! (docs/language.md, "Several files"). Each test writes a small project
//! to a temporary directory and checks it as `ksc` does; the kernel runs
//! of such programs are conformance cases (`lang-imports`, `reject-*`).

use std::path::Path;

use ksc_frontend::{FileId, SourceMap};

mod support;
use support::Project;

impl Project {
    fn check(&self) -> Outcome {
        let main = self.dir.join("prog.ks");
        check_file(&main)
    }
}

struct Outcome {
    /// `file:line:col: message` of each error, the file relative to the
    /// project.
    errors: Vec<String>,
    module: Option<ksc_ir::Module>,
    rendered: String,
}

impl Outcome {
    fn clean(&self) -> &ksc_ir::Module {
        assert!(self.errors.is_empty(), "{}", self.rendered);
        self.module.as_ref().expect("a module")
    }

    fn has_error(&self, at: &str, phrase: &str) {
        assert!(
            self.errors
                .iter()
                .any(|e| e.starts_with(&format!("{at}:")) && e.contains(phrase)),
            "want an error at {at} saying {phrase:?}; got:\n{}",
            self.rendered
        );
    }
}

fn check_file(main: &Path) -> Outcome {
    let src = std::fs::read_to_string(main).unwrap();
    let dir = main.parent().unwrap().display().to_string();
    let mut files = SourceMap::single(main.display().to_string(), src.as_str());
    let p = ksc_midend::check_main_with(&mut files, &support::options());
    let diags = p.diagnostics;
    let module = p.checked.and_then(|c| c.module);
    let errors = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let name = files.name(d.span.file);
            let name = name
                .strip_prefix(&dir)
                .map_or(name, |n| n.trim_start_matches('/'));
            let (line, col) = files.line_col(d.span);
            format!("{name}:{line}:{col}: {}", d.message)
        })
        .collect();
    Outcome {
        errors,
        module,
        rendered: ksc_frontend::diag::render_files(&files, &diags),
    }
}

const XDP_MAIN: &str = "@xdp\nfn prog(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n";

#[test]
fn a_module_is_a_namespace_shared_by_ebpf_and_userspace() {
    let p = Project::new(
        "namespace",
        &[
            (
                "prog.ks",
                "import util from \"lib/util.ks\"\n\
                 const LIMIT: u32 = 1\n\
                 fn helper_of_main() -> u32 { return 5 }\n\
                 @xdp\nfn prog(ctx: *xdp_md) -> xdp_action {\n\
                 \x20   var p: util.Pair = util.make(util.LIMIT)\n\
                 \x20   util.counts[p.a] += 1\n\
                 \x20   return XDP_PASS\n}\n\
                 fn main() -> i32 {\n\
                 \x20   var q = util.Pair { a: 1, b: 2 }\n\
                 \x20   var x: u32 = util.twice(LIMIT) + helper_of_main() + q.b\n\
                 \x20   var h = load(util.other)\n\
                 \x20   return 0\n}\n",
            ),
            (
                "lib/util.ks",
                // Its own `LIMIT` and `helper_of_main`: no clash with main's.
                "const LIMIT: u32 = 7\n\
                 struct Pair { a: u32, b: u32 }\n\
                 var counts : array<u32, u64>(8)\n\
                 @helper\nfn make(n: u32) -> Pair { return Pair { a: n, b: LIMIT } }\n\
                 fn twice(n: u32) -> u32 { return n * 2 }\n\
                 fn helper_of_main() -> u32 { return 6 }\n\
                 @xdp\nfn other(ctx: *xdp_md) -> xdp_action {\n\
                 \x20   counts[0] += 1\n\
                 \x20   return XDP_PASS\n}\n",
            ),
        ],
    );
    let m = p.check();
    let m = m.clean();
    let names: Vec<&str> = m.functions.iter().map(|f| f.name.as_str()).collect();
    for n in [
        "prog",
        "main",
        "helper_of_main",
        "util__make",
        "util__twice",
        "util__helper_of_main",
        "util__other",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    // One map, the module's, used by both programs.
    assert_eq!(m.maps.len(), 1);
    assert_eq!(m.maps[0].name, "util__counts");
    assert!(m.files.len() == 2 && m.files.name(FileId(1)).ends_with("lib/util.ks"));
}

#[test]
fn modules_imported_under_one_name_stay_apart() {
    // `util` is main's name for a.ks and a.ks's name for b.ks.
    let p = Project::new(
        "samename",
        &[
            (
                "prog.ks",
                "import util from \"a.ks\"\nfn main() -> i32 { return util.f() as i32 }\n",
            ),
            (
                "a.ks",
                "import util from \"b.ks\"\nfn f() -> u32 { return util.f() + 1 }\n",
            ),
            ("b.ks", "fn f() -> u32 { return 1 }\n"),
        ],
    );
    let o = p.check();
    let m = o.clean();
    let mut names: Vec<&str> = m.functions.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["main", "util2__f", "util__f"]);
}

#[test]
fn a_module_imported_twice_is_loaded_once() {
    let p = Project::new(
        "diamond",
        &[
            (
                "prog.ks",
                "import a from \"a.ks\"\nimport b from \"b.ks\"\n\
                 @xdp\nfn prog(ctx: *xdp_md) -> xdp_action {\n\
                 \x20   a.bump()\n    b.bump()\n    return XDP_PASS\n}\n",
            ),
            (
                "a.ks",
                "import s from \"shared.ks\"\n@helper\nfn bump() { s.hits[0] += 1 }\n",
            ),
            (
                "b.ks",
                "import sh from \"./sub/../shared.ks\"\n@helper\nfn bump() { sh.hits[1] += 1 }\n",
            ),
            ("shared.ks", "var hits : array<u32, u64>(2)\n"),
        ],
    );
    let o = p.check();
    let m = o.clean();
    assert_eq!(m.maps.len(), 1, "{:?}", m.maps);
}

#[test]
fn a_header_is_flattened_and_one_type_wherever_included() {
    let p = Project::new(
        "header",
        &[
            (
                "prog.ks",
                "include \"types.kh\"\ninclude \"types.kh\"\nimport lib from \"lib.ks\"\n\
                 fn main() -> i32 {\n\
                 \x20   var h = Hdr { len: MAX }\n\
                 \x20   var k: lib.Hdr = h\n\
                 \x20   return lib.size(h) as i32\n}\n",
            ),
            (
                "types.kh",
                "include \"more.kh\"\nstruct Hdr { len: u32 }\nconst MAX: u32 = 9\n",
            ),
            (
                "more.kh",
                "type Len = u32\nextern bpf_ktime_get_ns() -> u64\n",
            ),
            (
                "lib.ks",
                "include \"types.kh\"\nfn size(h: Hdr) -> Len { return h.len + MAX }\n",
            ),
        ],
    );
    let o = p.check();
    let m = o.clean();
    let structs: Vec<&str> = m
        .types
        .iter()
        .filter_map(|t| match &t.kind {
            ksc_ir::TypeKind::Struct(s) if s.name == "Hdr" => Some(s.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(structs, ["Hdr"], "one struct `Hdr` in the IR");
}

#[test]
fn names_stay_in_their_module() {
    let p = Project::new(
        "scopes",
        &[
            (
                "prog.ks",
                "import lib from \"lib.ks\"\nconst MINE: u32 = 1\n\
                 fn main() -> i32 {\n    return hidden() as i32\n}\n\
                 fn other() -> u32 {\n    var lib: u32 = 1\n    return lib\n}\n",
            ),
            ("lib.ks", "fn hidden() -> u32 { return MINE }\n"),
        ],
    );
    let o = p.check();
    o.has_error("prog.ks:4", "cannot find function `hidden`");
    o.has_error("lib.ks:1:29", "cannot find value `MINE`");
    o.has_error("prog.ks:7", "`lib` names an imported module");
}

#[test]
fn unknown_members_and_modules_are_located_with_a_suggestion() {
    let p = Project::new(
        "unknown",
        &[
            (
                "prog.ks",
                "import util from \"util.ks\"\n\
                 fn main() -> i32 {\n\
                 \x20   var x: u32 = util.LIMT\n\
                 \x20   var t: utl.Pair = util.nope()\n\
                 \x20   return 0\n}\n",
            ),
            ("util.ks", "const LIMIT: u32 = 3\nstruct Pair { a: u32 }\n"),
        ],
    );
    let o = p.check();
    o.has_error("prog.ks:3:23", "module `util` has no item `LIMT`");
    assert!(
        o.rendered.contains("a similar name exists: `util.LIMIT`"),
        "{}",
        o.rendered
    );
    o.has_error("prog.ks:4:12", "there is no imported module `utl`");
    o.has_error("prog.ks:4:28", "module `util` has no item `nope`");
}

#[test]
fn cycles_missing_files_and_wrong_kinds_are_errors() {
    let p = Project::new(
        "cycle",
        &[
            ("prog.ks", &format!("import a from \"a.ks\"\n{XDP_MAIN}")),
            ("a.ks", "import b from \"b.ks\"\nconst A: u32 = 1\n"),
            ("b.ks", "const B: u32 = 1\nimport a from \"a.ks\"\n"),
        ],
    );
    let o = p.check();
    o.has_error("b.ks:2:15", "import cycle: ");
    assert!(o.rendered.contains("a.ks -> "), "{}", o.rendered);

    let p = Project::new(
        "selfimport",
        &[(
            "prog.ks",
            &format!("import me from \"prog.ks\"\n{XDP_MAIN}"),
        )],
    );
    p.check().has_error("prog.ks:1", "import cycle");

    let p = Project::new(
        "kinds",
        &[
            (
                "prog.ks",
                &format!(
                    "include \"lib.ks\"\nimport h from \"h.kh\"\nimport py from \"x.py\"\n\
                     import gone from \"gone.ks\"\ninclude \"gone.kh\"\n{XDP_MAIN}"
                ),
            ),
            ("lib.ks", "const X: u32 = 1\n"),
            ("h.kh", "const Y: u32 = 1\n"),
            ("x.py", "def f(): pass\n"),
        ],
    );
    let o = p.check();
    o.has_error(
        "prog.ks:1",
        "`include` takes a header (`.kh`), not a `.ks` file",
    );
    o.has_error("prog.ks:2", "a header (`.kh`) is included, not imported");
    // The `.py` import is the checker's (after loading succeeds): see below.
    o.has_error("prog.ks:4", "file `");
    o.has_error("prog.ks:5", "gone.kh` not found");

    // Without the bridge (the midend alone), a `.py` import is an error
    // at the import.
    let p = Project::new(
        "python",
        &[
            ("prog.ks", &format!("import py from \"x.py\"\n{XDP_MAIN}")),
            ("x.py", "def f(): pass\n"),
        ],
    );
    p.check()
        .has_error("prog.ks:1", "Python imports need the Python bridge");
}

#[test]
fn headers_hold_declarations_only() {
    let p = Project::new(
        "decls",
        &[
            ("prog.ks", &format!("include \"bad.kh\"\n{XDP_MAIN}")),
            (
                "bad.kh",
                "struct S { a: u32 }\n\
                 fn body() -> u32 { return 1 }\n\
                 var m : hash<u32, u32>(4)\n\
                 var g: u32 = 0\n\
                 @xdp\nfn p(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n\
                 config c { x: u32 = 1 }\n\
                 import q from \"q.ks\"\n",
            ),
        ],
    );
    let o = p.check();
    o.has_error("bad.kh:2:4", "this is a function with a body");
    o.has_error("bad.kh:3:5", "this is a map");
    o.has_error("bad.kh:4", "this is a global variable");
    o.has_error("bad.kh:6", "this is a program");
    o.has_error("bad.kh:7", "this is a config block");
    o.has_error("bad.kh:8", "this is an `import`");
    // The source under the caret is the header's.
    assert!(o.rendered.contains("fn body() -> u32"), "{}", o.rendered);
}

#[test]
fn duplicate_names_and_a_module_main_are_errors() {
    let p = Project::new(
        "dups",
        &[
            (
                "prog.ks",
                "import lib from \"lib.ks\"\nimport lib from \"other.ks\"\n\
                 include \"t.kh\"\nconst K: u32 = 2\n\
                 fn main() -> i32 { return 0 }\n",
            ),
            ("lib.ks", "fn main() -> i32 { return 0 }\n"),
            ("other.ks", "const O: u32 = 1\n"),
            ("t.kh", "const K: u32 = 1\n"),
        ],
    );
    let o = p.check();
    o.has_error("lib.ks:1:4", "an imported module has no `main`");
    let p = Project::new(
        "dups2",
        &[
            (
                "prog.ks",
                "import lib from \"lib.ks\"\nimport lib from \"other.ks\"\n\
                 include \"t.kh\"\nconst K: u32 = 2\n\
                 fn main() -> i32 { return 0 }\n",
            ),
            ("lib.ks", "const L: u32 = 1\n"),
            ("other.ks", "const O: u32 = 1\n"),
            ("t.kh", "const K: u32 = 1\n"),
        ],
    );
    let o = p.check();
    o.has_error("prog.ks:2:8", "`lib` is defined more than once");
    o.has_error("prog.ks:4:7", "`K` is defined more than once");
    // A header only a module includes, and a main file declaring the same
    // struct: both would be `struct Hdr` in C.
    let p = Project::new(
        "cclash",
        &[
            (
                "prog.ks",
                "import lib from \"lib.ks\"\nstruct Hdr { x: u64 }\nfn main() -> i32 { return 0 }\n",
            ),
            ("lib.ks", "include \"t.kh\"\nfn f(h: Hdr) -> u32 { return h.x }\n"),
            ("t.kh", "struct Hdr { x: u32 }\n"),
        ],
    );
    p.check()
        .has_error("prog.ks:2:8", "has the same name in the generated code");
    assert!(o.rendered.contains("--> "), "{}", o.rendered);
    assert!(o.rendered.contains("t.kh:1:7"), "{}", o.rendered);
}
