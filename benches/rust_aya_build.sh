#!/usr/bin/env bash
# Build time and executable size of the rust-aya target next to the C
# loader (c-libbpf), for two programs (default examples/xdp_flow_counter.ks
# then examples/tc_counter.ks): figures, not assertions.
#
#   first build   the first program, in a fresh cargo target directory:
#                 aya and its dependencies compile (crates already
#                 downloaded: run one online build first, or cargo fetch)
#   cached build  the second program, in the same target directory: only
#                 its own crate compiles
#   size          the stripped size of the second program's executable
#
# With WARM=1 the first build uses the shared target directory
# (KSC_CARGO_TARGET_DIR, else ~/.cache/ksc/cargo-target) instead of a
# fresh one. The C loader's runtime is likewise cached (KSC_CACHE_DIR).
# Needs clang, bpftool, libbpf, cargo; no root.
#
#   [WARM=1] [PROFILE=debug] benches/rust_aya_build.sh [FIRST.ks [SECOND.ks]]
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-examples/xdp_flow_counter.ks}
second=${2:-examples/tc_counter.ks}
target=${CARGO_TARGET_DIR:-target}
# ksc's own profile (PROFILE=debug reuses a debug build; cargo's time
# dominates either way).
profile=${PROFILE:-release}
flag=$([[ $profile == release ]] && echo --release || true)
cargo build -q $flag -p ksc -p ksc-backend-ebpf-c -p ksc-backend-libbpf-c -p ksc-backend-rust-aya
ksc="$target/$profile/ksc"
export KSC_PLUGIN_PATH="$target/$profile"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z "${WARM:-}" ]]; then
    export KSC_CARGO_TARGET_DIR="$work/cargo-target"
    export KSC_CACHE_DIR="$work/cache"
fi

now() { date +%s.%N; }
timed() { # target file outdir -> seconds
    local t0 t1
    t0=$(now)
    "$ksc" build --target="$1" "$2" -o "$3" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
size() { # executable -> stripped bytes
    cp "$1" "$work/s" && strip "$work/s" && stat -c %s "$work/s"
}

declare -A t
for tgt in c-libbpf rust-aya; do
    t[$tgt,first]=$(timed "$tgt" "$first" "$work/$tgt-1")
    t[$tgt,second]=$(timed "$tgt" "$second" "$work/$tgt-2")
done
name=$(basename "$second" .ks)
printf '%-10s %14s %14s %16s\n' target "first build" "cached build" "executable"
for tgt in c-libbpf rust-aya; do
    printf '%-10s %13.2fs %13.2fs %10d bytes\n' "$tgt" "${t[$tgt,first]}" "${t[$tgt,second]}" \
        "$(size "$work/$tgt-2/$name")"
done
echo "(first: $(basename "$first"), ${WARM:+warm}${WARM:-fresh} caches; cached: $(basename "$second"); sizes stripped)"
