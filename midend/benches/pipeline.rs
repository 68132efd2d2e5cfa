//! Front end and midend throughput and memory on generated programs of 10k
//! to 100k lines.
//!
//! `cargo bench -p ksc-midend --bench pipeline` prints, per size and stage
//! (parse; check = names, types, rules, graphs, lowering to IR), the best
//! time of several runs, lines per second, and the peak heap the stage used
//! (through a counting allocator), so linear growth is visible.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A realistic program of about `lines` lines: maps, structs, configs,
/// eBPF programs with packet parsing, helpers and userspace functions.
fn program(lines: usize) -> String {
    let mut s = String::with_capacity(lines * 40);
    s.push_str("config net {\n    enable: bool = true,\n    limit: u32 = 1500,\n}\n");
    s.push_str("struct EthHdr {\n    dst: u8[6],\n    src: u8[6],\n    proto: u16,\n}\n");
    let mut i = 0;
    while s.lines().count() < lines {
        s.push_str(&format!(
            r#"struct Flow{i} {{
    src: u32,
    dst: u32,
    bytes: u64,
}}
var flows{i} : hash<u32, Flow{i}>(1024)
@helper
fn parse{i}(ctx: *xdp_md) -> u32 {{
    var data = ctx->data
    var end = ctx->data_end
    if (data + 14 > end) {{
        return 0
    }}
    var eth = data as *EthHdr
    return (eth->proto as u32) << 8 | {i}
}}
@xdp
fn prog{i}(ctx: *xdp_md) -> xdp_action {{
    var key = parse{i}(ctx)
    var f = flows{i}[key]
    if (f != null) {{
        f->bytes += (ctx->data_end - ctx->data) as u64
    }} else {{
        flows{i}[key] = Flow{i} {{ src: key, dst: 0, bytes: 0 }}
    }}
    for (j in 0..4) {{
        if (net.enable && j * 2 > {i} % 7) {{ break }}
    }}
    return match (key & 3) {{
        0: XDP_PASS,
        1: XDP_DROP,
        default: XDP_TX
    }}
}}
fn report{i}() -> i32 {{
    for (k, v) in flows{i} {{
        print("flow %d: %d bytes", k, v.bytes)
    }}
    return 0
}}
"#
        ));
        i += 1;
    }
    s
}

fn measure<T>(f: impl Fn() -> T) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut peak = 0;
    for _ in 0..5 {
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let out = f();
        let dt = t.elapsed().as_secs_f64();
        peak = PEAK.load(Ordering::Relaxed) - base;
        drop(out);
        best = best.min(dt);
    }
    (best, peak)
}

fn main() {
    println!(
        "{:>8} {:>9} | {:>9} {:>11} {:>10} | {:>9} {:>11} {:>10}",
        "lines", "bytes", "parse ms", "lines/s", "peak heap", "check ms", "lines/s", "peak heap"
    );
    for lines in [10_000, 25_000, 50_000, 100_000] {
        let src = program(lines);
        let n = src.lines().count();
        let parsed = ksc_frontend::parse(&src);
        assert!(!parsed.has_errors());
        let checked = ksc_midend::check(&parsed.file, &src, "bench.ks");
        assert!(
            !checked.has_errors(),
            "{}",
            ksc_frontend::diag::render("bench.ks", &src, &checked.diagnostics[..1])
        );
        let (pt, pm) = measure(|| ksc_frontend::parse(&src));
        let (ct, cm) = measure(|| ksc_midend::check(&parsed.file, &src, "bench.ks"));
        println!(
            "{:>8} {:>9} | {:>9.1} {:>11.0} {:>8.1}MB | {:>9.1} {:>11.0} {:>8.1}MB",
            n,
            src.len(),
            pt * 1e3,
            n as f64 / pt,
            pm as f64 / 1e6,
            ct * 1e3,
            n as f64 / ct,
            cm as f64 / 1e6
        );
    }
}
