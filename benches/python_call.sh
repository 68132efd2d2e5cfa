#!/usr/bin/env bash
# The cost of one Python call from a KernelScript loop, for each userspace
# target (c-libbpf: the C loader linking the bridge's static library;
# rust-aya: the Rust loader depending on the bridge's run-time crate): a
# program built with `ksc build --target=T` calls `def inc(x: int) -> int` N times (through the
# Python bridge: argument and result conversion, the interpreter's lock,
# the range check) and, for comparison, a KernelScript function doing the
# same; the difference of the two runs divided by N is the cost of one
# call. Figures, not assertions. Needs clang, bpftool, libbpf and
# python3-dev (.ci/setup), and cargo for rust-aya (its first build compiles
# aya and pyo3 into ~/.cache/ksc/cargo-target); no root.
#
#   benches/python_call.sh [N]      # default 1000000 calls; best of 3 runs
#   PROFILE=debug benches/python_call.sh   # with the debug build of ksc and the bridge
#   TARGETS=c-libbpf benches/python_call.sh # one target only
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
profile=${PROFILE:-release}
target=${CARGO_TARGET_DIR:-target}
flag=()
[ "$profile" = release ] && flag=(--release)
cargo build -q "${flag[@]}" -p ksc -p ksc-backend-ebpf-c -p ksc-backend-libbpf-c -p ksc-backend-rust-aya -p ksc-python-bridge
ksc="$target/$profile/ksc"
export KSC_PLUGIN_PATH="$target/$profile"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/pycall.py" <<'PY'
def inc(x: int) -> int:
    return x + 1
PY
cat > "$dir/pycall.ks" <<'KS'
import py from "pycall.py"

struct Args { calls: u32, python: bool }

fn native_inc(x: i64) -> i64 {
    return x + 1
}

fn main(args: Args) -> i32 {
    var acc: i64 = 0
    for (i in 0..args.calls) {
        if (args.python) {
            acc = py.inc(acc)
        } else {
            acc = native_inc(acc)
        }
    }
    print("%lld", acc)
    return 0
}
KS
# Best of 3 wall-clock runs of $exe, in nanoseconds.
best() {
    local b=
    for _ in 1 2 3; do
        local s e out
        s=$(date +%s%N)
        out=$("$exe" "$@")
        e=$(date +%s%N)
        [ "$out" = "$n" ] || { echo "unexpected output: $out" >&2; exit 1; }
        local t=$((e - s))
        if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
    done
    echo "$b"
}

printf '%-28s %12s\n' "calls" "$n"
for t in ${TARGETS:-c-libbpf rust-aya}; do
    "$ksc" build --target="$t" "$dir/pycall.ks" -o "$dir/out-$t" >/dev/null 2>&1 || {
        "$ksc" build --target="$t" "$dir/pycall.ks" -o "$dir/out-$t"
        exit 1
    }
    exe="$dir/out-$t/pycall"
    native=$(best --calls "$n")
    python=$(best --calls "$n" --python true)
    per=$(( (python - native) / n ))
    echo "$t:"
    printf '  %-26s %9d ms\n' "KernelScript loop (native)" $((native / 1000000))
    printf '  %-26s %9d ms\n' "KernelScript loop (Python)" $((python / 1000000))
    printf '  %-26s %9d ns\n' "one Python call" "$per"
done
