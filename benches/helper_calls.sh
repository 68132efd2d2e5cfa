#!/usr/bin/env bash
# @helper functions as inlined code (ksc's choice) or as BPF-to-BPF calls:
# instructions after translation and instructions the verifier processed,
# for benches/programs/helpers.ks and every example with helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p ksc-backend-ebpf-c --example ksc-ebpf-c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 backends/ebpf-c/tests/tools/ksc-testload.c -lbpf -o "$work/testload"
cflags="-g -O2 -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(uname -m)-linux-gnu"
printf '%-22s %-18s %10s %10s %12s %12s\n' program function "inline xl" "call xl" "inline ver" "call ver"
for ks in benches/programs/helpers.ks $(grep -l '@helper' examples/*.ks); do
    name=$(basename "$ks" .ks)
    target/release/examples/ksc-ebpf-c "$ks" > "$work/$name.inline.c" 2>/dev/null || continue
    sed -e "s/static __always_inline/static __noinline/" "$work/$name.inline.c" > "$work/$name.call.c"
    sed -i "s/static __noinline/static __always_inline/" "$work/$name.inline.c"
    for v in inline call; do
        clang $cflags -c "$work/$name.$v.c" -o "$work/$name.$v.o"
        "$work/testload" stats "$work/$name.$v.o" > "$work/$name.$v.txt" 2>/dev/null || echo "- 0 0" > "$work/$name.$v.txt"
    done
    paste "$work/$name.inline.txt" "$work/$name.call.txt" | while read -r p xi vi _ xc vc; do
        printf '%-22s %-18s %10s %10s %12s %12s\n' "$name" "$p" "$xi" "$xc" "$vi" "$vc"
    done
done
