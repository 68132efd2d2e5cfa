#!/usr/bin/env bash
# The time of each step of `ksc build` for a small program (default
# examples/xdp_flow_counter.ks), and of the whole build: figures, not
# assertions. Each step is run on its own, as the generated Makefile runs
# it (its commands, from `make -n`), in a fresh output directory:
#
#   ksc generate    ksc FILE.ks -o DIR (the backends write the files)
#   clang eBPF      NAME.ebpf.o                  } side by side in
#   cc userspace    NAME.o (the program's own C) } `make` (-j3)
#   link            NAME: NAME.o, the eBPF object (NAME.embed.s), the
#                   loader runtime library, libbpf
#   ksc build       the whole `ksc build FILE.ks -o DIR`, warm runtime cache
#
# `critical path` is generate + the longer of clang and cc + link: what the
# whole build takes on an idle machine with two cores. The loader runtime
# library and the precompiled headers every program includes are built
# once into a cache (KSC_CACHE_DIR, else ~/.cache/ksc) named by the hash of
# their source, the compiler and the flags; `cache (cold)` is their first
# build, which later builds skip. Figures are medians over RUNS
# (wall, and CPU: user + system of the step's processes); the load average
# is printed, as other work on the machine inflates wall times. Needs
# clang, cc and libbpf; no root, no bpftool.
#
# With BENCH_RT=1 (root), each measured step runs at real-time priority
# (`chrt -f 10`): its wall time is then what an idle machine gives even
# while other work runs (the CPU times do not change).
#
#   benches/build_steps.sh [FILE.ks] [RUNS]     # median of RUNS (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-examples/xdp_flow_counter.ks}
runs=${2:-7}
name=$(basename "$src" .ks)
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p ksc -p ksc-backend-ebpf-c -p ksc-backend-libbpf-c
ksc="$target/release/ksc"
export KSC_PLUGIN_PATH="$target/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KSC_CACHE_DIR="$work/cache"

declare -A wall cpu
prio=()
[[ -n "${BENCH_RT:-}" ]] && prio=(chrt -f 10)
TIMEFORMAT='%R %U %S'
step() { # name command...
    local t
    t=$( { time "${prio[@]}" "${@:2}" >/dev/null 2>"$work/err"; } 2>&1 ) || { cat "$work/err" >&2; exit 1; }
    read -r r u s <<<"$t"
    wall[$1]+="$r "
    cpu[$1]+="$(echo "$u + $s" | bc -l) "
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# A step's commands as the Makefile runs them.
recipe() { make -C "$1" -s -n --no-print-directory "$2"; }

for run in $(seq "$runs"); do
    out="$work/steps$run"
    step "ksc generate" "$ksc" "$src" -o "$out"
    if [[ $run == 1 ]]; then
        cached=$(make -C "$out" -s --no-print-directory -f Makefile -f - print-cached \
            <<<'print-cached: ; @echo $(KSC_RT_LIB) $(KSC_PCH)')
        # shellcheck disable=SC2086 # two paths
        step "cache (cold)" make -C "$out" -s $cached
    fi
    step "clang eBPF" sh -c "cd '$out' && $(recipe "$out" "$name.ebpf.o")"
    step "cc userspace" sh -c "cd '$out' && $(recipe "$out" "$name.o")"
    step "link" sh -c "cd '$out' && $(recipe "$out" "$name")"
    step "ksc build" "$ksc" build "$src" -o "$work/build$run"
done

printf '%-16s %8s %8s   (%s, median of %d; load average %s%s)\n' step "wall s" "cpu s" "$name" "$runs" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "${BENCH_RT:+; real-time priority}"
declare -A med
for s in "ksc generate" "cache (cold)" "clang eBPF" "cc userspace" "link" "ksc build"; do
    [[ -n "${wall[$s]:-}" ]] || continue
    med[$s]=$(median <<<"${wall[$s]}")
    printf '%-16s %8.3f %8.3f\n' "$s" "${med[$s]}" "$(median <<<"${cpu[$s]}")"
done
par=$(echo "if (${med[clang eBPF]} > ${med[cc userspace]}) ${med[clang eBPF]} else ${med[cc userspace]}" | bc -l)
printf '%-16s %8.3f\n' "critical path" "$(echo "${med[ksc generate]} + $par + ${med[link]}" | bc -l)"
