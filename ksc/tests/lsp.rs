//! `ksc lsp` driven as an editor drives it: a JSON-RPC client speaking
//! the Language Server Protocol over the server's stdin/stdout, against
//! real programs (examples/, conformance cases with includes and imports).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use ksc_testkit as testkit;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next: i64,
    /// Notifications received while waiting for a response.
    pending: Vec<Value>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ksc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ksc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = channel();
        std::thread::spawn(move || loop {
            let mut len = None;
            loop {
                let mut line = String::new();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    len = n.parse::<usize>().ok();
                }
            }
            let mut body = vec![0; len.expect("a Content-Length header")];
            if out.read_exact(&mut body).is_err() {
                return;
            }
            let v: Value = serde_json::from_slice(&body).expect("JSON from the server");
            if tx.send(v).is_err() {
                return;
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next: 0,
            pending: Vec::new(),
        };
        let r = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        let caps = &r["capabilities"];
        for cap in [
            "hoverProvider",
            "definitionProvider",
            "referencesProvider",
            "completionProvider",
            "documentSymbolProvider",
            "semanticTokensProvider",
            "signatureHelpProvider",
            "codeActionProvider",
        ] {
            assert!(!caps[cap].is_null(), "the server announces {cap}: {caps}");
        }
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within 60 s")
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let v = self.recv();
            if v["id"] == json!(id) {
                assert!(v["error"].is_null(), "{method} failed: {v}");
                return v["result"].clone();
            }
            self.pending.push(v);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let found = self.pending.iter().position(|v| {
                v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri
            });
            if let Some(i) = found {
                let v = self.pending.remove(i);
                return v["params"]["diagnostics"].as_array().unwrap().clone();
            }
            let v = self.recv();
            self.pending.push(v);
        }
    }

    fn open(&mut self, path: &Path) -> (String, String) {
        let text = std::fs::read_to_string(path).unwrap();
        let u = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": u, "languageId": "kernelscript", "version": 1, "text": text } }),
        );
        (u, text)
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn at(&mut self, method: &str, uri: &str, pos: (u32, u32)) -> Value {
        let mut params = json!({
            "textDocument": { "uri": uri },
            "position": { "line": pos.0, "character": pos.1 },
        });
        if method == "textDocument/references" {
            params["context"] = json!({ "includeDeclaration": true });
        }
        self.request(method, params)
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.is_null());
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "ksc lsp exits 0 after shutdown/exit");
    }
}

/// Line and column (0-based) of the `n`th occurrence of `needle`, plus `delta` columns.
fn find(text: &str, needle: &str, n: usize, delta: u32) -> (u32, u32) {
    let at = text.match_indices(needle).nth(n).expect(needle).0;
    let line = text[..at].matches('\n').count() as u32;
    let col = (at - text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32;
    (line, col + delta)
}

fn labels(v: &Value) -> Vec<String> {
    let items = v
        .as_array()
        .or_else(|| v["items"].as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

fn hover_text(v: &Value) -> String {
    v["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn protocol_on_an_example() {
    let mut c = Client::start();
    let path = root().join("examples/xdp_flow_counter.ks");
    let (u, text) = c.open(&path);
    assert_eq!(
        c.diagnostics(&u),
        Vec::<Value>::new(),
        "the example checks clean"
    );

    // Hover: a map, a local, a helper, a user function.
    let h = hover_text(&c.at("textDocument/hover", &u, find(&text, "flows[", 0, 1)));
    assert!(
        h.contains("lru_hash<FlowKey, FlowStats>") && h.contains("16384"),
        "{h}"
    );
    let h = hover_text(&c.at("textDocument/hover", &u, find(&text, "var eth", 0, 5)));
    assert!(h.contains("var eth: *EthHdr"), "{h}");
    let h = hover_text(&c.at(
        "textDocument/hover",
        &u,
        find(&text, "bpf_ktime_get_ns", 0, 3),
    ));
    assert!(
        h.contains("bpf_ktime_get_ns() -> u64") && h.contains("@xdp"),
        "{h}"
    );
    let h = hover_text(&c.at("textDocument/hover", &u, find(&text, "flow_counter", 0, 2)));
    assert!(
        h.contains("@xdp fn flow_counter(ctx: *xdp_md) -> xdp_action"),
        "{h}"
    );

    // Definition of a struct used in a cast; of a local.
    let d = c.at(
        "textDocument/definition",
        &u,
        find(&text, "as *EthHdr", 0, 6),
    );
    assert_eq!(
        d["range"]["start"]["line"],
        json!(find(&text, "struct EthHdr", 0, 0).0),
        "{d}"
    );
    assert_eq!(d["uri"], json!(u));
    let d = c.at(
        "textDocument/definition",
        &u,
        find(&text, "eth->proto", 0, 1),
    );
    assert_eq!(
        d["range"]["start"],
        json!({ "line": find(&text, "var eth", 0, 4).0, "character": 8 })
    );

    // References: every use of the map, with its declaration.
    let r = c.at(
        "textDocument/references",
        &u,
        find(&text, "var flows", 0, 5),
    );
    let lines: Vec<u64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("var flows") || l.contains("flows[") || l.contains("in flows"))
        .map(|(i, _)| i as u64)
        .collect();
    assert_eq!(lines, want, "{r}");

    // Completion: fields after `->`, names and helpers in scope.
    let after = find(&text, "eth->proto", 0, 5);
    let l = labels(&c.at("textDocument/completion", &u, after));
    assert!(
        ["dst", "src", "proto"]
            .iter()
            .all(|f| l.contains(&f.to_string())),
        "{l:?}"
    );
    let in_body = find(&text, "var data = ctx->data", 0, 0);
    let l = labels(&c.at("textDocument/completion", &u, in_body));
    for name in ["flows", "FlowKey", "bpf_ktime_get_ns", "ctx", "return"] {
        assert!(l.contains(&name.to_string()), "{name} in {l:?}");
    }

    // Symbols, semantic tokens, signature help.
    let s = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": u } }),
    );
    let names: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for n in ["EthHdr", "flows", "flow_counter"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let t = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": u } }),
    );
    assert!(t["data"].as_array().unwrap().len() > 100 * 5, "{t}");
    let at = find(&text, "htons(ETH_P_IP)", 0, 6);
    let sig = c.at("textDocument/signatureHelp", &u, at);
    assert!(
        sig["signatures"][0]["label"]
            .as_str()
            .unwrap()
            .contains("htons"),
        "{sig}"
    );

    // Formatting: `ksc fmt`'s layout; the example is already in it.
    let fmt = |c: &mut Client| {
        c.request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
        )
    };
    assert_eq!(fmt(&mut c), json!([]));
    let messy = text.replacen(
        "    var data = ctx->data\n",
        "      var   data=ctx->data\n",
        1,
    );
    c.change(&u, 2, &messy);
    assert!(c.diagnostics(&u).is_empty());
    let edits = fmt(&mut c);
    assert_eq!(edits[0]["newText"], json!(text), "{edits}");
    c.shutdown();
}

#[test]
fn diagnostics_follow_edits_with_help_and_fixes() {
    let mut c = Client::start();
    let path = root().join("examples/xdp_flow_counter.ks");
    let (u, text) = c.open(&path);
    assert!(c.diagnostics(&u).is_empty());

    // A narrowing assignment: the error `ksc check` gives, its help as
    // related information, and the `as T` quick fix.
    let bad = text.replacen(
        "    var data = ctx->data\n",
        "    var data = ctx->data\n    var wide: u64 = 7\n    var narrow: u8 = wide\n",
        1,
    );
    c.change(&u, 2, &bad);
    let d = c.diagnostics(&u);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("mismatched types: expected `u8`, found `u64`"),
        "{d:?}"
    );
    assert_eq!(d[0]["severity"], json!(1));
    // The diagnostic's code, for `ksc explain` (docs/diagnostics.md).
    assert_eq!(d[0]["code"], json!("E0301"));
    let rel = d[0]["relatedInformation"].to_string();
    assert!(rel.contains("help: "), "{rel}");
    let line = find(&bad, "var narrow", 0, 0).0;
    assert_eq!(d[0]["range"]["start"]["line"], json!(line));
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": d[0]["range"], "context": { "diagnostics": d } }),
    );
    let edit = &actions[0]["edit"]["changes"][&u][0];
    assert_eq!(edit["newText"], json!("wide as u8"), "{actions}");

    // A syntax error: the parser's diagnostic, and completion still works
    // inside the incomplete line.
    let broken = text.replacen(
        "    var data = ctx->data\n",
        "    var data = ctx->data\n    var e2 = eth->\n",
        1,
    );
    c.change(&u, 3, &broken);
    let d = c.diagnostics(&u);
    assert!(!d.is_empty() && d[0]["severity"] == json!(1), "{d:?}");
    let pos = find(&broken, "eth->\n", 0, 5);
    let l = labels(&c.at("textDocument/completion", &u, pos));
    assert!(l.contains(&"proto".to_string()), "{l:?}");

    // Back to the clean text: the diagnostics clear.
    c.change(&u, 4, &text);
    assert!(c.diagnostics(&u).is_empty());
    c.shutdown();
}

/// `text` with LSP text edits applied (ASCII text).
fn apply(text: &str, edits: &[Value]) -> String {
    let off = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + p["character"].as_u64().unwrap() as usize
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                off(&e["range"]["start"]),
                off(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, new) in spans {
        out.replace_range(s..e, &new);
    }
    out
}

#[test]
fn quick_fixes_make_the_program_check() {
    let mut c = Client::start();
    let dir = std::env::temp_dir().join(format!("ksc-lsp-fix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fix.ks");
    let text = "var counts : hash<u32, u64>(1024)

enum Color {
    Red = 0,
    Green = 1,
    Blue = 2,
}

@xdp
fn prog(ctx: *xdp_md) -> xdp_action {
    var key: u32 = 1
    var c = counts[key]
    *c += 1
    var col: Color = Red
    var v: u32 = match (col) {
        Red: 1,
        Green: 2,
    }
    return XDP_PASS
}

fn main() -> i32 {
    return 0
}
";
    std::fs::write(&path, text).unwrap();
    let (u, _) = c.open(&path);
    let d = c.diagnostics(&u);
    assert_eq!(d.len(), 2, "{d:?}");
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": d[0]["range"], "context": { "diagnostics": d } }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Check `c != null` first", "Add a `default` arm"]);
    let edits: Vec<Value> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["edit"]["changes"][&u][0].clone())
        .collect();
    let fixed = apply(text, &edits);
    assert!(
        fixed.contains("    if (c != null) {\n        *c += 1\n    }\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("        Green: 2,\n        default: 0,\n    }"),
        "{fixed}"
    );
    c.change(&u, 2, &fixed);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new(), "{fixed}");
    let _ = std::fs::remove_dir_all(&dir);
    c.shutdown();
}

#[test]
fn includes_and_imports() {
    let mut c = Client::start();
    let case = root().join("conformance/cases/lang-imports");
    let (u, text) = c.open(&case.join("prog.ks"));
    assert!(c.diagnostics(&u).is_empty());
    // `Verdict` is declared in the included header.
    let d = c.at(
        "textDocument/definition",
        &u,
        find(&text, "Verdict =", 0, 1),
    );
    assert_eq!(d["uri"], json!(uri(&case.join("types.kh"))), "{d}");
    // `filter.classify` is declared in the imported module.
    let d = c.at("textDocument/definition", &u, find(&text, "classify", 0, 2));
    assert_eq!(d["uri"], json!(uri(&case.join("lib/filter.ks"))), "{d}");

    // Signature help and hover for a function of the imported module.
    let sig = c.at(
        "textDocument/signatureHelp",
        &u,
        find(&text, "classify(len)", 0, 9),
    );
    assert_eq!(
        sig["signatures"][0]["parameters"][0]["label"],
        json!("len: u32"),
        "{sig}"
    );
    let h = hover_text(&c.at("textDocument/hover", &u, find(&text, "classify(len)", 0, 2)));
    assert!(
        h.contains("@helper fn filter.classify(len: u32) -> Verdict"),
        "{h}"
    );

    // References of the header's struct in every file of the program.
    let r = c.at(
        "textDocument/references",
        &u,
        find(&text, "Verdict =", 0, 1),
    );
    let mut got: Vec<String> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let file = l["uri"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            format!(
                "{file}:{}",
                l["range"]["start"]["line"].as_u64().unwrap() + 1
            )
        })
        .collect();
    got.sort();
    let mut want = Vec::new();
    for f in ["prog.ks", "lib/filter.ks", "types.kh"] {
        let t = std::fs::read_to_string(case.join(f)).unwrap();
        for (i, l) in t.lines().enumerate() {
            for _ in l.matches("Verdict") {
                want.push(format!("{}:{}", f.rsplit('/').next().unwrap(), i + 1));
            }
        }
    }
    want.sort();
    assert_eq!(got, want);

    // A header saved with an error: the program that includes it is
    // checked again and the error published on the header.
    let dir = std::env::temp_dir().join(format!("ksc-lsp-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = dir.join("h.kh");
    std::fs::write(&header, "const LIMIT: u32 = 10\n").unwrap();
    let main = dir.join("main.ks");
    std::fs::write(
        &main,
        "include \"h.kh\"\n\n@xdp\nfn p(ctx: *xdp_md) -> xdp_action {\n    var n: u32 = LIMIT\n    return XDP_PASS\n}\n\nfn main() -> i32 {\n    return 0\n}\n",
    )
    .unwrap();
    let (mu, _) = c.open(&main);
    assert!(c.diagnostics(&mu).is_empty());
    assert!(c.diagnostics(&uri(&header)).is_empty());
    std::fs::write(&header, "const LIMIT: u8 = 300\n").unwrap();
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri(&header) } }),
    );
    let hd = c.diagnostics(&uri(&header));
    assert!(
        hd[0]["message"].as_str().unwrap().contains("300"),
        "the header's error is published on it: {hd:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // An error in an imported module is published on that module.
    let case = root().join("conformance/cases/reject-error-in-module");
    let (u, _) = c.open(&case.join("prog.ks"));
    let util = uri(&case.join("util.ks"));
    let mut found = Vec::new();
    for _ in 0..2 {
        let v = c.diagnostics(if found.is_empty() { &util } else { &u });
        found.extend(v);
    }
    assert!(
        found
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("mismatched types")),
        "{found:?}"
    );
    c.shutdown();
}

#[test]
fn kernel_structs_from_btf() {
    testkit::require!(testkit::vmlinux_btf());
    let mut c = Client::start();
    let path = root().join("examples/tracepoint_sched_switch.ks");
    let (u, text) = c.open(&path);
    assert!(c.diagnostics(&u).is_empty());
    // Fields of the kernel's tracepoint context after `->`.
    let l = labels(&c.at(
        "textDocument/completion",
        &u,
        find(&text, "ctx->next_pid", 0, 5),
    ));
    for f in ["next_pid", "prev_state", "next_comm"] {
        assert!(l.contains(&f.to_string()), "{f} in {l:?}");
    }
    // Hover shows the struct from BTF; definition opens its read-only view.
    let h = hover_text(&c.at(
        "textDocument/hover",
        &u,
        find(&text, "trace_event_raw_sched_switch", 0, 3),
    ));
    assert!(
        h.contains("struct trace_event_raw_sched_switch") && h.contains("next_pid"),
        "{h}"
    );
    let d = c.at(
        "textDocument/definition",
        &u,
        find(&text, "trace_event_raw_sched_switch", 0, 3),
    );
    let file = d["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    let view = std::fs::read_to_string(&file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o222,
        0,
        "the view is read-only"
    );
    assert!(
        file.ends_with("trace_event_raw_sched_switch.kh") && view.contains("next_pid: i32"),
        "{view}"
    );
    let d = c.at(
        "textDocument/definition",
        &u,
        find(&text, "ctx->next_pid", 0, 7),
    );
    assert!(
        d["uri"]
            .as_str()
            .unwrap()
            .ends_with("/trace_event_raw_sched_switch.kh"),
        "{d}"
    );
    let line = d["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(
        view.lines()
            .nth(line)
            .unwrap()
            .trim_start()
            .starts_with("next_pid: i32"),
        "{d}"
    );
    // A kfunc: hover, signature help and completion from BTF.
    let typed = text.replacen(
        "    var cpu = ",
        "    bpf_task_from_pid(1)\n    var cpu = ",
        1,
    );
    c.change(&u, 2, &typed);
    c.diagnostics(&u);
    let at = find(&typed, "bpf_task_from_pid(1)", 0, 3);
    let h = hover_text(&c.at("textDocument/hover", &u, at));
    assert!(
        h.contains("extern bpf_task_from_pid(pid: i32) -> *task_struct"),
        "{h}"
    );
    let sig = c.at(
        "textDocument/signatureHelp",
        &u,
        find(&typed, "bpf_task_from_pid(1)", 0, 18),
    );
    assert_eq!(
        sig["signatures"][0]["parameters"][0]["label"],
        json!("pid: i32"),
        "{sig}"
    );
    let l = labels(&c.at(
        "textDocument/completion",
        &u,
        find(&typed, "bpf_task_from_pid(1)", 0, 10),
    ));
    assert!(l.contains(&"bpf_task_from_pid".to_string()), "{l:?}");
    // The view of a kernel struct, for clients that open `ksc-btf:` URIs.
    let h = c.request("ksc/btfView", json!({ "uri": "ksc-btf:///task_struct.kh" }));
    assert!(h.as_str().unwrap().contains("struct task_struct {"), "{h}");
    c.shutdown();
}

#[test]
fn completion_by_program_type_attributes_methods_and_signatures() {
    // The tracepoint's context is a kernel struct.
    testkit::require!(testkit::vmlinux_btf());
    let mut c = Client::start();
    let path = root().join("examples/tracepoint_sched_switch.ks");
    let (u, text) = c.open(&path);
    assert!(c.diagnostics(&u).is_empty());
    // In a tracepoint program: tracing helpers, no packet helpers.
    let in_tp = find(&text, "    var cpu = bpf_get_smp_processor_id()", 0, 4);
    let l = labels(&c.at("textDocument/completion", &u, in_tp));
    assert!(l.contains(&"bpf_send_signal".to_string()), "{l:?}");
    assert!(
        !l.contains(&"bpf_redirect".to_string()) && !l.contains(&"bpf_xdp_adjust_head".to_string()),
        "{l:?}"
    );
    for name in [
        "switches",
        "per_cpu",
        "ctx",
        "CommKey",
        "TASK_RUNNING",
        "print",
    ] {
        assert!(l.contains(&name.to_string()), "{name} in {l:?}");
    }

    // In an XDP program: the packet helpers, not the tracing ones.
    let xdp = root().join("examples/xdp_flow_counter.ks");
    let (ux, xtext) = c.open(&xdp);
    assert!(c.diagnostics(&ux).is_empty());
    let l = labels(&c.at(
        "textDocument/completion",
        &ux,
        find(&xtext, "var data = ctx->data", 0, 0),
    ));
    assert!(
        l.contains(&"bpf_xdp_adjust_head".to_string())
            && !l.contains(&"bpf_send_signal".to_string()),
        "{l:?}"
    );

    // Typing: `@` offers attributes; `per_cpu.` the map's methods; a
    // helper's signature while its arguments are written.
    let edited = text.replacen(
        "    switches[0] += 1\n",
        "    switches[0] += 1\n    per_cpu.\n",
        1,
    );
    c.change(&u, 2, &edited);
    c.diagnostics(&u);
    let l = labels(&c.at(
        "textDocument/completion",
        &u,
        find(&edited, "per_cpu.\n", 0, 8),
    ));
    assert_eq!(l, ["contains_key"]);
    let edited = format!("@\n{text}");
    c.change(&u, 3, &edited);
    c.diagnostics(&u);
    let l = labels(&c.at("textDocument/completion", &u, (0, 1)));
    for a in [
        "xdp",
        "tc",
        "tracepoint",
        "probe",
        "helper",
        "kfunc",
        "test",
    ] {
        assert!(l.contains(&a.to_string()), "{a} in {l:?}");
    }
    c.change(&u, 4, &text);
    c.diagnostics(&u);
    let at = find(&text, "bpf_probe_read_kernel(&key.comm, 16", 0, 34);
    let sig = c.at("textDocument/signatureHelp", &u, at);
    assert_eq!(sig["activeParameter"], json!(1), "{sig}");
    assert!(
        sig["signatures"][0]["label"]
            .as_str()
            .unwrap()
            .starts_with("bpf_probe_read_kernel("),
        "{sig}"
    );

    // Hover on an expression: its type.
    let h = hover_text(&c.at(
        "textDocument/hover",
        &u,
        find(&text, "ctx->prev_state as i64", 0, 7),
    ));
    assert!(h.contains(".prev_state: "), "{h}");
    let h = hover_text(&c.at(
        "textDocument/hover",
        &u,
        find(&text, "ctx->next_pid == 0", 0, 15),
    ));
    assert!(h.contains("bool"), "{h}");

    // Semantic tokens: the map in `switches[0]` is a variable, `on_switch`
    // a function, `@tracepoint` a decorator.
    let t = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": u } }),
    );
    let data: Vec<u64> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let legend = [
        "keyword",
        "function",
        "variable",
        "parameter",
        "property",
        "struct",
        "enum",
        "enumMember",
        "type",
        "number",
        "string",
        "decorator",
        "method",
    ];
    let (mut line, mut col) = (0u64, 0u64);
    let mut kinds = std::collections::HashMap::new();
    for tok in data.chunks(5) {
        if tok[0] > 0 {
            col = 0;
        }
        line += tok[0];
        col += tok[1];
        let word: String = text.lines().nth(line as usize).unwrap()
            [col as usize..(col + tok[2]) as usize]
            .to_string();
        kinds.entry(word).or_insert(legend[tok[3] as usize]);
    }
    assert_eq!(kinds["switches"], "variable");
    assert_eq!(kinds["on_switch"], "function");
    assert_eq!(kinds["tracepoint"], "decorator");
    assert_eq!(kinds["fn"], "keyword");
    assert_eq!(kinds["next_pid"], "property");
    assert_eq!(kinds["bpf_probe_read_kernel"], "function");
    c.shutdown();
}

/// Every example and conformance program: opened, and asked at many places
/// what an editor asks; every answer is a result, never an error.
#[test]
fn every_program_answers_everywhere() {
    let mut c = Client::start();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ks"))
        .collect();
    for e in std::fs::read_dir(root().join("conformance/cases")).unwrap() {
        let p = e.unwrap().path().join("prog.ks");
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    assert!(files.len() > 40);
    for path in files {
        let (u, text) = c.open(&path);
        c.diagnostics(&u);
        let doc = json!({ "textDocument": { "uri": u } });
        c.request("textDocument/documentSymbol", doc.clone());
        c.request("textDocument/semanticTokens/full", doc);
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate().step_by(3) {
            let col = (l.len() / 2) as u32;
            for m in [
                "textDocument/hover",
                "textDocument/definition",
                "textDocument/completion",
                "textDocument/signatureHelp",
            ] {
                c.at(m, &u, (i as u32, col));
            }
        }
        c.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": u } }),
        );
    }
    c.shutdown();
}
