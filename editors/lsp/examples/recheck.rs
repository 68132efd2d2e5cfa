//! The language server's latency benchmark: a 2,000-line program is
//! opened, then edited, and each edit re-checked as `textDocument/didChange`
//! does (the whole check, diagnostics converted for publishing). Prints
//! the time per re-check; the goal is under 150 ms.
//!
//!     cargo run --release -p ksc-lsp --example recheck

use std::time::Instant;

use lsp_types::Url;

/// One unit of the program: a struct, a map, a helper and an XDP program
/// reading the packet and the map (25 lines).
fn unit(i: usize) -> String {
    format!(
        "struct Pair{i} {{
    key: u32,
    count: u64,
}}

var counts{i} : hash<u32, u64>(1024)

@helper
fn bump{i}(x: u32) -> u32 {{
    var y = x + {i}
    if (y > 100) {{
        return y - 100
    }}
    return y
}}

@xdp
fn prog{i}(ctx: *xdp_md) -> xdp_action {{
    var len = (ctx->data_end - ctx->data) as u32
    var p = Pair{i} {{ key: bump{i}(len), count: 1 }}
    var c = counts{i}[p.key]
    if (c != null) {{ *c += p.count }} else {{ counts{i}[p.key] = p.count }}
    return XDP_PASS
}}
"
    )
}

fn main() {
    let mut text = String::new();
    let mut i = 0;
    while text.lines().count() < 2000 {
        text.push_str(&unit(i));
        text.push('\n');
        i += 1;
    }
    text.push_str("fn main() -> i32 {\n    return 0\n}\n");
    let lines = text.lines().count();
    let uri = Url::parse("file:///tmp/ksc-bench/recheck.ks").unwrap();
    let mut server = ksc_lsp::Server::new(None);

    // The server reads the kernel's BTF on a thread at startup.
    let t = Instant::now();
    let btf = ksc_midend::btf::Btf::vmlinux().is_ok();
    let btf_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    server.update(uri.clone(), text.clone());
    let first = t.elapsed();
    let d = server.diagnostics(&uri);
    let errors: usize = d.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(errors, 0, "the benchmark program checks clean: {d:?}");

    let mut times = Vec::new();
    for n in 0..10 {
        // An edit inside one function: a different constant each time.
        let edited = text.replacen("var y = x + 0", &format!("var y = x + {}", n + 1), 1);
        let t = Instant::now();
        server.update(uri.clone(), edited);
        let d = server.diagnostics(&uri);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(d.iter().all(|(_, v)| v.is_empty()));
    }
    // What an editor asks next: the highlighting of the whole file.
    let t = Instant::now();
    let tokens = server.semantic_tokens(lsp_types::SemanticTokensParams {
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
        text_document: lsp_types::TextDocumentIdentifier::new(uri.clone()),
    });
    let tokens_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(tokens.is_some());
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "ksc lsp re-check of a {lines}-line program ({i} programs): median {median:.1} ms, \
         max {:.1} ms over {} edits (first check {:.1} ms); goal < 150 ms",
        times[times.len() - 1],
        times.len(),
        first.as_secs_f64() * 1000.0
    );
    println!("semantic tokens of the whole file: {tokens_ms:.1} ms; kernel BTF read once at startup: {btf_ms:.1} ms (found: {btf})");
}
