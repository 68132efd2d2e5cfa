//! Ring-buffer callbacks, `dispatch` and `daemon` (docs/language.md,
//! "Ring-buffer callbacks, `dispatch` and `daemon`"): each error at its
//! line with its message and help; the accepted forms check clean.

mod support;

use support::assert_clean;

/// An error on `line` containing `phrase`, and `help` somewhere in what
/// is shown.
fn assert_error(src: &str, line: usize, phrase: &str, help: &str) {
    let o = support::check(src);
    assert!(
        support::has(&o.errors, line, None, phrase, ""),
        "want an error on line {line} containing {phrase:?}, got:\n{}",
        o.rendered
    );
    assert!(
        o.rendered.contains(help),
        "want help {help:?}:\n{}",
        o.rendered
    );
}

const PRE: &str = "struct Ev { n: u32 }\nstruct Al { code: u32 }\nvar events : ringbuf<Ev>(4096)\nvar alerts : ringbuf<Al>(4096)\n";

#[test]
fn handlers_registered_with_on_event_and_dispatch_check_clean() {
    // The handlers dereference their event unchecked: registration makes
    // the parameter non-null. `dispatch` gives an `i32`; `read` still works.
    let m = assert_clean(&format!(
        "{PRE}fn on_ev(e: *Ev) -> i32 {{\n    print(\"%u\", e->n)\n    return 0\n}}\nfn on_al(a: *Al) -> i32 {{\n    return a->code as i32\n}}\nfn main() -> i32 {{\n    events.on_event(on_ev)\n    alerts.on_event(on_al)\n    var first = events.read()\n    if (first != null) {{\n        print(\"%u\", first->n)\n    }}\n    var r = dispatch(events, alerts)\n    return r\n}}\n"
    ));
    let mut seen = (0, 0);
    for f in &m.functions {
        f.body.walk_exprs(&mut |x| match &x.kind {
            ksc_ir::ExprKind::RingbufOnEvent { .. } => seen.0 += 1,
            ksc_ir::ExprKind::RingbufDispatch { maps } => seen.1 += maps.len(),
            _ => {}
        });
    }
    assert_eq!(seen, (2, 2));
}

#[test]
fn a_handler_must_fit_the_ring_buffer() {
    let main = "fn main() -> i32 {\n    events.on_event(h)\n    return dispatch(events)\n}\n";
    // Wrong parameter type.
    assert_error(
        &format!("{PRE}fn h(e: *Al) -> i32 {{\n    return 0\n}}\n{main}"),
        9,
        "`h` does not fit the events of `events`: a handler is `fn(*Ev) -> i32`",
        "help: declare it `fn h(event: *Ev) -> i32`",
    );
    // Wrong return type.
    assert_error(
        &format!("{PRE}fn h(e: *Ev) -> u32 {{\n    return 0\n}}\n{main}"),
        9,
        "a handler is `fn(*Ev) -> i32`",
        "found `fn(*Ev) -> u32`",
    );
    // Not a function name.
    assert_error(
        &format!("{PRE}fn main() -> i32 {{\n    events.on_event(1)\n    return 0\n}}\n"),
        6,
        "`on_event` takes the name of the function that handles each event",
        "declare `fn handler(event: *Ev) -> i32`",
    );
    // An eBPF helper is no handler.
    assert_error(
        &format!("{PRE}@helper fn h(e: *Ev) -> i32 {{\n    return 0\n}}\n{main}"),
        9,
        "`h` cannot handle ring-buffer events",
        "(no attribute)",
    );
}

#[test]
fn on_event_and_dispatch_are_userspace_only() {
    assert_error(
        &format!("{PRE}fn h(e: *Ev) -> i32 {{\n    return 0\n}}\n@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    events.on_event(h)\n    return XDP_PASS\n}}\nfn main() -> i32 {{\n    return 0\n}}\n"),
        9,
        "`on_event` is for userspace",
        "wait for events there with `dispatch(events)`",
    );
    assert_error(
        &format!("{PRE}@xdp fn p(ctx: *xdp_md) -> xdp_action {{\n    dispatch(events)\n    return XDP_PASS\n}}\n"),
        6,
        "`dispatch` is a userspace function",
        "userspace waits for them with `dispatch`",
    );
    assert_error(
        "@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    daemon()\n    return XDP_PASS\n}\n",
        2,
        "`daemon` is a userspace function",
        "help:",
    );
}

#[test]
fn dispatch_takes_ring_buffers_each_with_a_handler() {
    assert_error(
        &format!(
            "{PRE}var h : hash<u32, u32>(8)\nfn main() -> i32 {{\n    return dispatch(h)\n}}\n"
        ),
        7,
        "`dispatch` takes ring buffers",
        "dispatch(events)",
    );
    assert_error(
        &format!("{PRE}fn h(e: *Ev) -> i32 {{\n    return 0\n}}\nfn main() -> i32 {{\n    events.on_event(h)\n    return dispatch(events, events)\n}}\n"),
        10,
        "`events` is passed to `dispatch` twice",
        "",
    );
    assert_error(
        &format!("{PRE}fn main() -> i32 {{\n    return dispatch()\n}}\n"),
        6,
        "`dispatch` takes the ring buffers to wait for",
        "dispatch(events, alerts)",
    );
    // No `on_event` for a ring buffer dispatch waits for.
    assert_error(
        &format!("{PRE}fn main() -> i32 {{\n    return dispatch(alerts)\n}}\n"),
        6,
        "`alerts` has no handler: nothing registers one with `alerts.on_event(...)`",
        "`alerts.on_event(handler)` with `fn handler(event: *Al) -> i32`",
    );
    // The reference's naming convention: a `<rb>_callback` that fits is
    // the handler from the start of `main`, and reads its events unchecked.
    assert_clean(&format!("{PRE}fn alerts_callback(a: *Al) -> i32 {{\n    return a->code as i32\n}}\nfn main() -> i32 {{\n    return dispatch(alerts)\n}}\n"));
    // One that does not fit registers nothing; the help says what fits.
    assert_error(
        &format!("{PRE}fn alerts_callback(a: *Al) -> u32 {{\n    return 0\n}}\nfn main() -> i32 {{\n    return dispatch(alerts)\n}}\n"),
        9,
        "`alerts` has no handler",
        "`alerts_callback` would be the handler, but a handler is a userspace function `fn alerts_callback(event: *Al) -> i32`",
    );
    // A registration anywhere in the program counts.
    assert_clean(&format!("{PRE}fn h(e: *Ev) -> i32 {{\n    return 0\n}}\nfn setup() {{\n    events.on_event(h)\n}}\nfn main() -> i32 {{\n    setup()\n    return dispatch(events)\n}}\n"));
}

#[test]
fn a_handler_cannot_throw() {
    assert_error(
        &format!("{PRE}fn h(e: *Ev) -> i32 {{\n    if (e->n > 3) {{\n        throw 2\n    }}\n    return 0\n}}\nfn main() -> i32 {{\n    events.on_event(h)\n    return dispatch(events)\n}}\n"),
        12,
        "handler `h` may throw, and `dispatch` has no caller to give the error to",
        "catch it inside `h`",
    );
}

#[test]
fn a_handler_that_is_also_a_pointer_or_called_with_null_needs_its_check() {
    // Also a function pointer: the pointer could be called with anything.
    assert_error(
        &format!("{PRE}var fp : fn(*Ev) -> i32\nfn h(e: *Ev) -> i32 {{\n    return e->n as i32\n}}\nfn main() -> i32 {{\n    fp = h\n    events.on_event(h)\n    return dispatch(events)\n}}\n"),
        7,
        "potential null pointer dereference of `e`",
        "check it first",
    );
    // Also called directly with what `read` gave (maybe null).
    assert_error(
        &format!("{PRE}fn h(e: *Ev) -> i32 {{\n    return e->n as i32\n}}\nfn main() -> i32 {{\n    h(events.read())\n    events.on_event(h)\n    return dispatch(events)\n}}\n"),
        6,
        "potential null pointer dereference of `e`",
        "check it first",
    );
}

#[test]
fn daemon_is_a_userspace_builtin_and_a_program_may_still_name_a_function_daemon() {
    assert_clean("@xdp fn p(ctx: *xdp_md) -> xdp_action {\n    return XDP_PASS\n}\nfn main() -> i32 {\n    var h = load(p)\n    attach(h, \"lo\", 0)\n    daemon()\n    return 0\n}\n");
    assert_clean("fn daemon() -> i32 {\n    return 4\n}\nfn dispatch(x: u32) -> u32 {\n    return x\n}\nfn main() -> i32 {\n    return daemon() + dispatch(1) as i32\n}\n");
}
