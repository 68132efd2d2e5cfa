//! Programs written for the reference implementation (docs/language.md,
//! "Headers, kernel structs and enums"): headers restating built-ins,
//! kernel structs by name and checked against BTF, integers as enums,
//! enums keying array maps. Each test writes a small project to a
//! temporary directory and checks it as `ksc` does; the kernel runs are
//! conformance cases (`lang-ref-headers`, `lang-kernel-structs`,
//! `lang-enum-keys`).

use ksc_frontend::{Diagnostic, SourceMap};
use ksc_ir::{StructOrigin, TypeKind};

mod support;
use support::Project;

impl Project {
    fn check(&self) -> Outcome {
        let main = self.dir.join("prog.ks");
        let src = std::fs::read_to_string(&main).unwrap();
        let dir = self.dir.display().to_string();
        let mut files = SourceMap::single(main.display().to_string(), src.as_str());
        let p = ksc_midend::check_main_with(&mut files, &support::options());
        let diags = p.diagnostics;
        let module = p.checked.and_then(|c| c.module);
        let at = |d: &Diagnostic| {
            let name = files.name(d.span.file);
            let name = name
                .strip_prefix(&dir)
                .map_or(name, |n| n.trim_start_matches('/'));
            let line = files.line_col(d.span).0;
            // The secondary labels (each difference a restatement has) and
            // the help, so tests can ask for them.
            let mut text = format!("{name}:{line}: {}", d.message);
            for (s, l) in &d.secondary {
                text.push_str(&format!(" | {}: {l}", files.line_col(*s).0));
            }
            if let Some(h) = &d.help {
                text.push_str(&format!(" | help: {h}"));
            }
            text
        };
        Outcome {
            errors: diags.iter().filter(|d| d.is_error()).map(at).collect(),
            warnings: diags.iter().filter(|d| !d.is_error()).map(at).collect(),
            module,
            rendered: ksc_frontend::diag::render_files(&files, &diags),
        }
    }
}

struct Outcome {
    errors: Vec<String>,
    warnings: Vec<String>,
    module: Option<ksc_ir::Module>,
    rendered: String,
}

impl Outcome {
    fn clean(&self) -> &ksc_ir::Module {
        assert!(
            self.errors.is_empty() && self.warnings.is_empty(),
            "{}",
            self.rendered
        );
        self.module.as_ref().expect("a module")
    }

    fn compiles(&self) -> &ksc_ir::Module {
        assert!(self.errors.is_empty(), "{}", self.rendered);
        self.module.as_ref().expect("a module")
    }

    fn has(list: &[String], at: &str, phrases: &[&str], rendered: &str) {
        assert!(
            list.iter()
                .any(|e| e.starts_with(&format!("{at}: ")) && phrases.iter().all(|p| e.contains(p))),
            "want a diagnostic at {at} saying {phrases:?}; got:\n{list:#?}\n{rendered}"
        );
    }

    fn has_error(&self, at: &str, phrases: &[&str]) {
        Self::has(&self.errors, at, phrases, &self.rendered);
    }

    fn has_warning(&self, at: &str, phrases: &[&str]) {
        Self::has(&self.warnings, at, phrases, &self.rendered);
    }
}

/// The struct type named `name` of a module and its origin.
fn struct_named(m: &ksc_ir::Module, name: &str) -> Vec<(StructOrigin, Vec<(String, u32)>)> {
    m.types
        .iter()
        .filter_map(|t| match &t.kind {
            TypeKind::Struct(s) if s.name == name => Some((
                s.origin,
                s.fields
                    .iter()
                    .map(|f| (f.name.clone(), f.offset))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

const XDP_HEADER: &str = "\
// What a header written for the reference compiler declares.
struct xdp_md {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
}

enum xdp_action {
    XDP_ABORTED = 0,
    XDP_DROP = 1,
    XDP_PASS = 2,
    XDP_TX = 3,
    XDP_REDIRECT = 4,
}

extern bpf_ktime_get_ns() -> u64
";

#[test]
fn a_compatible_header_keeps_the_built_in_meaning() {
    let p = Project::new(
        "compatible",
        &[
            ("defs.kh", XDP_HEADER),
            (
                "prog.ks",
                "include \"defs.kh\"\n\
                 @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
                 \x20   var data = ctx->data\n\
                 \x20   if (data + 1 > ctx->data_end) { return XDP_ABORTED }\n\
                 \x20   if (data[0] == 0xAA && bpf_ktime_get_ns() > 0) { return XDP_DROP }\n\
                 \x20   return XDP_PASS\n}\n\
                 fn main() -> i32 { return 0 }\n",
            ),
        ],
    );
    let m = p.check().clean().clone();
    // One `xdp_md`: the built-in context (packet pointers), not the header's.
    let xdp = struct_named(&m, "xdp_md");
    assert_eq!(xdp.len(), 1, "{xdp:?}");
    assert_eq!(xdp[0].0, StructOrigin::Uapi);
    let data = m
        .types
        .iter()
        .find_map(|t| match &t.kind {
            TypeKind::Struct(s) if s.name == "xdp_md" => Some(s.fields[0].ty),
            _ => None,
        })
        .unwrap();
    assert!(matches!(m.types[data.index()].kind, TypeKind::Pointer(_)));
}

#[test]
fn an_incompatible_restatement_warns_and_the_kernel_layout_wins() {
    let p = Project::new(
        "skbuff",
        &[
            (
                "tc.kh",
                "struct __sk_buff {\n    len: u32,\n    mark: i32,\n    cb: u32,\n    extra: u32,\n    tstamp: u64,\n}\n",
            ),
            (
                "prog.ks",
                "include \"tc.kh\"\n\
                 @tc(\"ingress\")\nfn f(ctx: *__sk_buff) -> i32 {\n\
                 \x20   return (ctx->cb[1] + ctx->len + ctx->wire_len + (ctx->tstamp as u32)) as i32\n}\n\
                 fn main() -> i32 { return 0 }\n",
            ),
        ],
    );
    let o = p.check();
    o.compiles();
    // One warning at the declaration naming each difference; `mark`
    // (a different sign) is no difference.
    o.has_warning(
        "tc.kh:1",
        &[
            "`struct __sk_buff` differs from the kernel's",
            "4: field `cb` is `u32[5]` in the kernel's `__sk_buff`; this declares `u32`",
            "5: the kernel's `__sk_buff` has no field `extra`",
        ],
    );
    assert_eq!(o.warnings.len(), 1, "{}", o.rendered);
    assert!(!o.warnings[0].contains("`mark`"), "{}", o.rendered);
}

#[test]
fn a_restated_tracepoint_context_is_read_at_the_kernels_offsets() {
    let p = Project::new(
        "sched",
        &[
            (
                "tp.kh",
                "struct trace_event_raw_sched_switch {\n    ent: u32,\n    prev_comm: u32,\n    prev_pid: u32,\n}\n",
            ),
            (
                "prog.ks",
                "include \"tp.kh\"\n\
                 @tracepoint(\"sched/sched_switch\")\n\
                 fn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n\
                 \x20   return ctx->prev_pid as i32\n}\n\
                 fn main() -> i32 { return 0 }\n",
            ),
        ],
    );
    let o = p.check();
    let m = o.compiles();
    o.has_warning(
        "tp.kh:1",
        &[
            "2: field `ent` is `trace_entry`",
            "3: field `prev_comm` is `char[16]`",
        ],
    );
    let s = struct_named(m, "trace_event_raw_sched_switch");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, StructOrigin::TracepointContext);
    // `prev_pid` after the 8-byte `trace_entry` and the 16-byte name.
    assert!(s[0].1.contains(&("prev_pid".into(), 24)), "{s:?}");
}

#[test]
fn a_restated_enum_keeps_the_built_in_values() {
    let p = Project::new(
        "enum",
        &[(
            "prog.ks",
            "enum xdp_action {\n    XDP_DROP = 1,\n    XDP_PASS = 3,\n    XDP_MORE = 9,\n}\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    let o = p.check();
    o.compiles();
    o.has_warning(
        "prog.ks:1",
        &[
            "`enum xdp_action` differs from the built-in one",
            "3: `XDP_PASS` is 2 in the built-in `xdp_action`; this declares 3",
            "4: the built-in `xdp_action` has no `XDP_MORE`",
        ],
    );
    // A compatible restatement (a subset, the same values) says nothing.
    let p = Project::new(
        "enum-ok",
        &[(
            "prog.ks",
            "enum xdp_action { XDP_DROP = 1, XDP_PASS = 2 }\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    p.check().clean();
}

#[test]
fn an_extern_restating_a_helper_is_the_helper() {
    let prog = |decl: &str| {
        format!(
            "{decl}\n@xdp\nfn f(ctx: *xdp_md) -> xdp_action {{\n\
             \x20   if (bpf_ktime_get_ns() == 0) {{ return XDP_DROP }}\n\
             \x20   return XDP_PASS\n}}\nfn main() -> i32 {{ return 0 }}\n"
        )
    };
    let p = Project::new(
        "extern-ok",
        &[("prog.ks", &prog("extern bpf_ktime_get_ns() -> u64"))],
    );
    p.check().clean();
    // A different prototype: a warning, and calls still mean the helper.
    let p = Project::new(
        "extern-bad",
        &[("prog.ks", &prog("extern bpf_ktime_get_ns(x: u32) -> u32"))],
    );
    let o = p.check();
    o.compiles();
    o.has_warning(
        "prog.ks:1",
        &[
            "differs from the BPF helper of that name",
            "the helper is `bpf_ktime_get_ns() -> u64`",
        ],
    );
}

#[test]
fn a_test_context_declared_by_the_program_is_the_built_in_one() {
    let src = |fields: &str| {
        format!(
            "struct XdpTestContext {{ {fields} }}\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {{ return XDP_PASS }}\n\
             @test\nfn t() -> i32 {{\n\
             \x20   var c = XdpTestContext {{ packet_size: 64, interface_id: 1, expected_action: 2 }}\n\
             \x20   return test(f, c) as i32\n}}\n\
             fn main() -> i32 {{ return 0 }}\n"
        )
    };
    let p = Project::new(
        "testctx",
        &[(
            "prog.ks",
            &src("packet_size: u32, interface_id: u32, expected_action: u32"),
        )],
    );
    p.check().clean();
    let p = Project::new(
        "testctx-bad",
        &[("prog.ks", &src("packet_size: u64, interface_id: u32"))],
    );
    let o = p.check();
    o.compiles();
    o.has_warning(
        "prog.ks:1",
        &["field `packet_size` is `u32` in the built-in `XdpTestContext`; this declares `u64`"],
    );
}

#[test]
fn a_kernel_struct_in_a_header_is_checked_against_btf() {
    let prog = "include \"k.kh\"\n\
                @helper\nfn pid_of(t: *task_struct) -> i32 {\n    return t->pid\n}\n\
                @tracepoint(\"sched/sched_switch\")\n\
                fn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return 0\n}\n\
                fn main() -> i32 { return 0 }\n";
    // A subset of its fields, with the kernel's types (signs may differ).
    let p = Project::new(
        "kstruct-ok",
        &[
            (
                "k.kh",
                "struct task_struct {\n    pid: u32,\n    tgid: i32,\n}\n",
            ),
            ("prog.ks", prog),
        ],
    );
    let m = p.check().clean().clone();
    let s = struct_named(&m, "task_struct");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, StructOrigin::Kernel);
    // A field the kernel lacks, and one of another size: errors there.
    let p = Project::new(
        "kstruct-bad",
        &[
            (
                "k.kh",
                "struct task_struct {\n    pid: u64,\n    tgid: i32,\n    pids: u32,\n}\n",
            ),
            ("prog.ks", prog),
        ],
    );
    let o = p.check();
    o.has_error(
        "k.kh:2",
        &[
            "field `pid` is `i32` in the kernel's `task_struct`; this declares `u64`",
            "help: declare it as `pid: i32`",
        ],
    );
    o.has_error(
        "k.kh:4",
        &[
            "the kernel's `task_struct` has no field `pids`",
            "help: a similar field exists: `pid`",
        ],
    );
    assert_eq!(o.errors.len(), 2, "{}", o.rendered);
}

#[test]
fn kernel_structs_are_named_without_a_declaration() {
    let p = Project::new(
        "kstruct-name",
        &[(
            "prog.ks",
            "@helper\nfn parent_pid(t: *task_struct) -> i32 {\n\
             \x20   var p = t->real_parent\n    return p->tgid\n}\n\
             @helper\nfn mode(f: *file) -> u32 {\n    return f->f_mode as u32\n}\n\
             @tracepoint(\"sched/sched_switch\")\n\
             fn f(ctx: *trace_event_raw_sched_switch) -> i32 {\n    return 0\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    let m = p.check().clean().clone();
    // Structs met through pointers are read on demand: `real_parent` is a
    // `*task_struct`, and the program does not hold every struct the
    // kernel's `task_struct` leads to.
    assert_eq!(struct_named(&m, "task_struct").len(), 1);
    assert!(m.types.len() < 400, "{} types", m.types.len());
}

#[test]
fn an_integer_converts_to_an_enum() {
    let p = Project::new(
        "int-enum",
        &[(
            "prog.ks",
            "enum Verdict { KEEP = 0, DROP = 1 }\n\
             @helper\nfn pick(n: u32) -> Verdict {\n    return n\n}\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
             \x20   var action: u32 = 2\n    var v: Verdict = pick(1)\n\
             \x20   if (v == DROP) { return XDP_DROP }\n    return action\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    p.check().clean();
    // Not when the integer does not fit the enum's.
    let p = Project::new(
        "int-enum-wide",
        &[(
            "prog.ks",
            "@xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
             \x20   var action: u64 = 2\n    return action\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    p.check().has_error(
        "prog.ks:4",
        &[
            "expected `xdp_action`, found `u64`",
            "help: a `u64` does not always fit in a `xdp_action`: convert explicitly if the value fits, `action as xdp_action`",
        ],
    );
}

#[test]
fn an_enum_keys_an_array_map() {
    let p = Project::new(
        "enum-key",
        &[(
            "prog.ks",
            "enum Proto { TCP = 0, UDP = 1, OTHER = 2 }\n\
             var counts : array<Proto, u64>(3)\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
             \x20   var p: Proto = UDP\n    counts[p] += 1\n    counts[TCP] = 5\n\
             \x20   return XDP_PASS\n}\n\
             fn main() -> i32 {\n    counts[OTHER] = 7\n    return 0\n}\n",
        )],
    );
    let m = p.check().clean().clone();
    // The kernel takes only 32-bit integer keys for arrays.
    let key = m.maps[0].key;
    assert!(matches!(
        m.types[key.index()].kind,
        TypeKind::Int(ksc_ir::IntType::U32)
    ));
}

#[test]
fn map_flags_are_spelled_as_the_reference_does() {
    let p = Project::new(
        "flags",
        &[(
            "prog.ks",
            "@flags(rdonly)\nvar a : array<u32, u64>(1)\n\
             @flags(wronly | no_prealloc, numa_node(1))\nvar b : hash<u32, u64>(8)\n\
             @flags(no_common_lru)\nvar c : lru_hash<u32, u64>(8)\n\
             @flags(BPF_F_NO_PREALLOC)\nvar d : hash<u32, u64>(8)\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
             \x20   b[1] = a[0] + c[0] + d[0]\n    return XDP_PASS\n}\n\
             fn main() -> i32 { return 0 }\n",
        )],
    );
    let m = p.check().clean().clone();
    let flags: Vec<(Vec<String>, u32)> = m
        .maps
        .iter()
        .map(|x| (x.flags.clone(), x.flags_value))
        .collect();
    assert_eq!(flags[0], (vec!["BPF_F_RDONLY".to_string()], 1 << 3));
    assert_eq!(
        flags[1],
        (
            vec![
                "BPF_F_WRONLY".to_string(),
                "BPF_F_NO_PREALLOC".into(),
                "BPF_F_NUMA_NODE".into()
            ],
            (1 << 4) | 1 | (1 << 2)
        )
    );
    assert_eq!(m.maps[1].extra[0].name, "numa_node");
    assert_eq!(m.maps[1].extra[0].value, ksc_ir::Value::UInt(1));
    assert_eq!(flags[2], (vec!["BPF_F_NO_COMMON_LRU".to_string()], 1 << 1));
    assert_eq!(flags[3], (vec!["BPF_F_NO_PREALLOC".to_string()], 1));
    let p = Project::new(
        "flags-typo",
        &[(
            "prog.ks",
            "@flags(rdonyl)\nvar a : array<u32, u64>(1)\nfn main() -> i32 { return 0 }\n",
        )],
    );
    p.check().has_error(
        "prog.ks:1",
        &["unknown map flag `rdonyl`", "did you mean `rdonly`?"],
    );
}

#[test]
fn userspace_cannot_write_an_rdonly_map_nor_read_a_wronly_one() {
    let p = Project::new(
        "rdonly",
        &[(
            "prog.ks",
            "@flags(rdonly)\nvar a : array<u32, u64>(1)\n\
             @flags(wronly)\nvar b : hash<u32, u64>(8)\n\
             @xdp\nfn f(ctx: *xdp_md) -> xdp_action {\n\
             \x20   a[0] = 1\n    var x: u64 = b[1]\n    return XDP_PASS\n}\n\
             fn main() -> i32 {\n\
             \x20   var prog = load(f)\n\
             \x20   var n: u64 = a[0]\n\
             \x20   b[1] = n\n\
             \x20   a[0] = 2\n\
             \x20   a[0] += 1\n\
             \x20   delete a[0]\n\
             \x20   var m: u64 = b[1]\n\
             \x20   for (k, v) in b {\n        print(\"%u\", v)\n    }\n\
             \x20   return 0\n}\n",
        )],
    );
    let o = p.check();
    // Reading `a` and writing `b` from userspace is what the flags allow;
    // eBPF code is not limited by them.
    o.has_error(
        "prog.ks:15",
        &[
            "map `a` is read-only for userspace",
            "help: write it from eBPF code only",
        ],
    );
    o.has_error("prog.ks:16", &["map `a` is read-only for userspace"]);
    o.has_error("prog.ks:17", &["map `a` is read-only for userspace"]);
    o.has_error("prog.ks:18", &["map `b` is write-only for userspace"]);
    o.has_error("prog.ks:19", &["map `b` is write-only for userspace"]);
    assert_eq!(o.errors.len(), 5, "{}", o.rendered);
}

#[test]
fn a_struct_ops_member_calls_a_sibling_by_name() {
    let p = Project::new(
        "siblings",
        &[(
            "prog.ks",
            "@struct_ops(\"tcp_congestion_ops\")\nimpl cc {\n\
             \x20   fn ssthresh(sk: *u8) -> u32 {\n        return 8\n    }\n\
             \x20   fn undo_cwnd(sk: *u8) -> u32 {\n        return ssthresh(sk) * 2\n    }\n\
             \x20   fn cong_avoid(sk: *u8, ack: u32, acked: u32) -> void {\n    }\n}\n\
             fn main() -> i32 {\n    return register(cc)\n}\n",
        )],
    );
    let m = p.check().clean().clone();
    let ssthresh = m
        .functions
        .iter()
        .position(|f| f.name == "cc_ssthresh")
        .unwrap();
    let undo = m
        .functions
        .iter()
        .find(|f| f.name == "cc_undo_cwnd")
        .unwrap();
    let mut calls = Vec::new();
    undo.body.walk_exprs(&mut |e| {
        if let ksc_ir::ExprKind::Call {
            callee: ksc_ir::Callee::Function(f),
            ..
        } = &e.kind
        {
            calls.push(f.index());
        }
    });
    assert_eq!(calls, vec![ssthresh]);
    // Only inside the impl, and not itself.
    let p = Project::new(
        "siblings-bad",
        &[(
            "prog.ks",
            "@struct_ops(\"tcp_congestion_ops\")\nimpl cc {\n\
             \x20   fn ssthresh(sk: *u8) -> u32 {\n        return ssthresh(sk)\n    }\n\
             \x20   fn undo_cwnd(sk: *u8) -> u32 {\n        return 2\n    }\n}\n\
             @helper\nfn h(sk: *u8) -> u32 {\n    return undo_cwnd(sk)\n}\n\
             fn main() -> i32 {\n    return register(cc)\n}\n",
        )],
    );
    let o = p.check();
    o.has_error("prog.ks:4", &["recursion in eBPF code: cc_ssthresh"]);
    o.has_error("prog.ks:12", &["cannot find function `undo_cwnd`"]);
}

#[test]
fn a_program_handle_compared_with_null_is_constant() {
    let p = Project::new(
        "handle-null",
        &[(
            "prog.ks",
            "@xdp\nfn f(ctx: *xdp_md) -> xdp_action { return XDP_PASS }\n\
             fn main() -> i32 {\n    var prog = load(f)\n\
             \x20   if (prog == null) {\n        return 1\n    }\n\
             \x20   if (null != prog) {\n        return 2\n    }\n    return 0\n}\n",
        )],
    );
    let o = p.check();
    o.compiles();
    o.has_warning(
        "prog.ks:5",
        &[
            "a program handle is never null: this is always false",
            "help: `load` ends the program",
        ],
    );
    o.has_warning("prog.ks:8", &["this is always true"]);
}
