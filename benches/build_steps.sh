#!/usr/bin/env bash
# The time of each step of `ksc build` for a small program (default
# examples/xdp_flow_counter.ks), and of the whole build: figures, not
# assertions. Each step is one target of the generated Makefile, run on
# its own in a fresh output directory:
#
#   ksc generate    ksc FILE.ks -o DIR (the backends write the files)
#   clang eBPF      make NAME.ebpf.o
#   bpftool skel    make NAME.skel.h
#   cc userspace    make NAME.o   (the program's own C)
#   link            make NAME     (with the loader runtime library)
#   ksc build       the whole `ksc build FILE.ks -o DIR`, warm runtime cache
#
# The loader runtime is built once into a cache (KSC_CACHE_DIR, else
# ~/.cache/ksc) named by the hash of its source; `runtime (cold)` is its
# first build, which later builds skip. With a Makefile that compiles and
# links the program in one command (before the cached runtime), that time
# shows as `cc userspace` and `link` is empty. Needs clang, bpftool,
# libbpf; no root.
#
#   benches/build_steps.sh [FILE.ks] [RUNS]     # best of RUNS (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-examples/xdp_flow_counter.ks}
runs=${2:-3}
name=$(basename "$src" .ks)
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ksc -p ksc-backend-ebpf-c -p ksc-backend-libbpf-c
ksc="$target/release/ksc"
export KSC_PLUGIN_PATH="$target/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KSC_CACHE_DIR="$work/cache"

now() { date +%s.%N; }
# best[step] = the least time over the runs
declare -A best
keep() { # step seconds
    if [[ -z "${best[$1]:-}" ]] || (( $(echo "$2 < ${best[$1]}" | bc -l) )); then best[$1]=$2; fi
}
step() { # name command...
    local t0 t1
    t0=$(now); "${@:2}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; t1=$(now)
    keep "$1" "$(echo "$t1 - $t0" | bc -l)"
}

for run in $(seq "$runs"); do
    out="$work/steps$run"
    step "ksc generate" "$ksc" "$src" -o "$out"
    step "clang eBPF" make -C "$out" "$name.ebpf.o"
    step "bpftool skel" make -C "$out" "$name.skel.h"
    if grep -q "^$name.o:" "$out/Makefile"; then
        if grep -q KSC_RT_LIB "$out/Makefile" && [[ $run == 1 ]]; then
            lib=$(make -C "$out" -s --no-print-directory -f Makefile -f - print-rt <<<'print-rt: ; @echo $(KSC_RT_LIB)')
            step "runtime (cold)" make -C "$out" "$lib"
        fi
        step "cc userspace" make -C "$out" "$name.o"
        step "link" make -C "$out" "$name"
    else
        step "cc userspace" make -C "$out" "$name"
        keep "link" 0
    fi
    step "ksc build" "$ksc" build "$src" -o "$work/build$run"
done

printf '%-16s %8s   (%s, best of %d)\n' step seconds "$name" "$runs"
for s in "ksc generate" "clang eBPF" "bpftool skel" "runtime (cold)" "cc userspace" "link" "ksc build"; do
    [[ -n "${best[$s]:-}" ]] && printf '%-16s %8.3f\n' "$s" "${best[$s]}"
done
