#!/usr/bin/env bash
# Check, build (with each userspace target) and load through the verifier
# every .ks program of a directory: programs users bring (another
# implementation's examples, a project's own), one line each, and a total.
#
#   conformance/programs.sh DIR [TARGET...]     (default targets: c-libbpf rust-aya)
#
# Needs a release build of ksc and its plugins (`cargo build --release`),
# root and bpffs for the verifier column (it mounts bpffs if it can).
# Writes each program's output under $OUT (default /tmp/ksc-programs/).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ksc=${KSC:-$here/target/release/ksc}
dir=${1:?usage: programs.sh DIR [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(c-libbpf rust-aya)
out=${OUT:-/tmp/ksc-programs}
[ -x "$ksc" ] || { echo "programs.sh: no $ksc (run cargo build --release)" >&2; exit 2; }
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf; then mount -t bpf bpf /sys/fs/bpf; fi
pass=0 fail=0
for f in "$dir"/*.ks; do
    b=$(basename "$f" .ks)
    o=$out/$b
    rm -rf "$o" && mkdir -p "$o"
    if ! "$ksc" check "$f" >"$o/check.txt" 2>&1; then
        echo "$b: refused: $(grep -m1 '^error' "$o/check.txt")"
        fail=$((fail + 1))
        continue
    fi
    line="$b: checks"
    ok=1
    for t in "${targets[@]}"; do
        if "$ksc" build --target="$t" "$f" -o "$o/$t" >"$o/$t.txt" 2>&1; then
            line+=", builds ($t)"
        else
            line+=", does not build ($t: $(grep -m1 '^error' "$o/$t.txt"))"
            ok=0
        fi
    done
    obj=$(ls "$o"/*/"$b".ebpf.o 2>/dev/null | head -1)
    if [ -n "$obj" ] && [ "$(id -u)" = 0 ]; then
        pin=/sys/fs/bpf/ksc-programs-$$-$b
        if bpftool prog loadall "$obj" "$pin" >"$o/verify.txt" 2>&1; then
            line+=", loads"
        else
            line+=", not loaded here (see $o/verify.txt)"
        fi
        rm -rf "$pin"
    fi
    echo "$line"
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "$pass checked and built, $fail did not"
