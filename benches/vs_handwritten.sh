#!/usr/bin/env bash
# ksc's generated eBPF against hand-written libbpf C doing the same thing:
# the verifier's processed-instruction count ("processed N insns" of the
# load log's statistics, read by conformance/src/load.c), the translated
# instruction count (xlated) and BPF_PROG_TEST_RUN time per run, for each
# program that has a twin under benches/handwritten/. The goal is a ratio
# of 1.00 (within 5%). Needs root, clang, libbpf-dev, bpftool, bpffs.
# With KERNELS=5.10,6.1,6.12,7.2 the verifier's figures (processed and
# xlated) also per Debian kernel under qemu (ksc-qemu's boot example).
#
#   benches/vs_handwritten.sh            # prints the table
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p ksc-backend-ebpf-c --example ksc-ebpf-c
gen=${CARGO_TARGET_DIR:-target}/release/examples/ksc-ebpf-c
work=$(mktemp -d)
pins=/sys/fs/bpf/ksc-bench-$$
trap 'rm -rf "$work" "$pins"' EXIT
arch_inc=-I/usr/include/$(uname -m)-linux-gnu
cc -O2 -o "$work/load" conformance/src/load.c -lbpf
cflags="-g -O2 -target bpf -D__TARGET_ARCH_x86 $arch_inc"

python3 - "$work" <<'PY'
import struct, sys
w = sys.argv[1]
eth = b'\x00'*6 + b'\x11'*6 + struct.pack('!H', 0x0800)
ip = struct.pack('!BBHHHBBHII', 0x45, 0, 40, 0, 0, 64, 6, 0, 0x0a000001, 0x0a000002)
tcp = struct.pack('!HHIIBBHHH', 40000, 80, 0, 0, 0x50, 2, 1024, 0, 0)
open(f'{w}/pkt.bin', 'wb').write(eth + ip + tcp)
PY

# load OBJ DIR: pins the programs at DIR/<name>; "name processed" lines
# in OBJ.processed.
load() { mkdir -p "$2"; "$work/load" "$1" "$2" | sed -n 's/^PROG //p' > "$1.processed"; }
processed() { awk -v p="$2" '$1 == p { print $2 }' "$1.processed"; }
xlated() { bpftool -j prog show pinned "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_xlated"]//8)'; }
runtime() { bpftool prog run pinned "$1" data_in "$work/pkt.bin" repeat 2000000 2>&1 | sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p'; }

printf '%-16s %-18s %8s %8s %6s %8s %8s %6s %9s %9s %6s\n' example program "ksc ver" "C ver" ratio \
    "ksc ins" "C ins" ratio "ksc ns" "C ns" ratio
for twin in benches/handwritten/*.bpf.c; do
    name=$(basename "$twin" .bpf.c)
    $gen "examples/$name.ks" > "$work/$name.ksc.c"
    clang $cflags -c "$work/$name.ksc.c" -o "$work/$name.ksc.o"
    clang $cflags -c "$twin" -o "$work/$name.c.o"
    mkdir -p "$pins/$name" "$work/objs"
    cp "$work/$name.ksc.o" "$work/$name.c.o" "$work/objs/"
    load "$work/$name.ksc.o" "$pins/$name/ksc"
    load "$work/$name.c.o" "$pins/$name/c"
    for prog in $(ls "$pins/$name/c"); do
        kv=$(processed "$work/$name.ksc.o" "$prog"); cv=$(processed "$work/$name.c.o" "$prog")
        ki=$(xlated "$pins/$name/ksc/$prog"); ci=$(xlated "$pins/$name/c/$prog")
        kt=$(runtime "$pins/$name/ksc/$prog"); ct=$(runtime "$pins/$name/c/$prog")
        printf '%-16s %-18s %8d %8d %6.2f %8d %8d %6.2f %9d %9d %6.2f\n' "$name" "$prog" \
            "$kv" "$cv" "$(echo "$kv / $cv" | bc -l)" "$ki" "$ci" "$(echo "$ki / $ci" | bc -l)" \
            "$kt" "$ct" "$(echo "$kt / ($ct + 0.0001)" | bc -l)"
    done
done

# The verifier's figures on each qemu kernel: one boot loads every object.
[ -n "${KERNELS:-}" ] || exit 0
cargo build -q -p ksc-qemu --example boot
boot=${CARGO_TARGET_DIR:-target}/debug/examples/boot
cp "$work/load" "$work/ksc-conf-load"
guest_script='for o in /bench/*.o; do
  b=$(basename "$o" .o | tr . _); mkdir -p /sys/fs/bpf/$b
  ksc-conf-load "$o" /sys/fs/bpf/$b | sed -n "s/^PROG //p" | while read p v; do
    x=$(bpftool prog show pinned /sys/fs/bpf/$b/$p | sed -n "s/.*xlated \([0-9]*\)B.*/\1/p")
    echo "$b $p $v $((x / 8))" >>"$KSC_OUT"
  done
done'
for k in ${KERNELS//,/ }; do
    "$boot" "$k" "$guest_script" --file "$work/objs=/bench" --program "$work/ksc-conf-load" \
        > "$work/kernel-$k" 2> "$work/kernel-$k.log" || { echo "$k: did not boot:"; tail -5 "$work/kernel-$k.log"; continue; }
    echo
    echo "Linux $k ($(sed -n 's/: status.*//p' "$work/kernel-$k.log" | tail -1)):"
    printf '%-16s %-18s %8s %8s %6s %8s %8s %6s\n' example program "ksc ver" "C ver" ratio "ksc ins" "C ins" ratio
    while read -r obj prog v x; do
        case "$obj" in *_ksc) ;; *) continue ;; esac
        name=${obj%_ksc}
        read -r cv cx < <(awk -v o="${name}_c" -v p="$prog" '$1 == o && $2 == p { print $3, $4 }' "$work/kernel-$k")
        printf '%-16s %-18s %8d %8d %6.2f %8d %8d %6.2f\n' "$name" "$prog" "$v" "$cv" \
            "$(echo "$v / $cv" | bc -l)" "$x" "$cx" "$(echo "$x / $cx" | bc -l)"
    done < "$work/kernel-$k"
done
