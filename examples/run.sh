#!/usr/bin/env bash
# Compile the firewall example with ksc, build it, load it through the
# kernel's verifier and run it on crafted packets (BPF_PROG_TEST_RUN):
# the main job end to end, until the userspace loader (`ksc build` with the
# c-libbpf target) lands. Needs root, clang, bpftool, bpffs (.ci/setup).
set -euo pipefail
cd "$(dirname "$0")/.."
ksc=${KSC:-target/release/ksc}
[ -x "$ksc" ] || ksc=target/debug/ksc
out=$(mktemp -d)
pins=/sys/fs/bpf/ksc-demo-$$
trap 'rm -rf "$out" "$pins"' EXIT

echo "== ksc build examples/xdp_firewall.ks --target=ebpf-c"
"$ksc" build examples/xdp_firewall.ks --target=ebpf-c -o "$out"
echo "== loading through the verifier"
bpftool prog loadall "$out/xdp_firewall.ebpf.o" "$pins" pinmaps "$pins/maps"
bpftool prog show pinned "$pins/firewall_filter" > "$out/show.txt"
head -n 1 "$out/show.txt"

python3 - "$out" <<'PY'
import struct, sys
eth = b'\0' * 6 + b'\x11' * 6 + struct.pack('!H', 0x0800)
def tcp(port):
    ip = struct.pack('!BBHHHBBHII', 0x45, 0, 40, 0, 0, 64, 6, 0, 0x0a000001, 0x0a000002)
    return eth + ip + struct.pack('!HHIIBBHHH', 40000, port, 0, 0, 0x50, 2, 1024, 0, 0)
for port in (23, 80):
    open(f'{sys.argv[1]}/tcp{port}.bin', 'wb').write(tcp(port))
PY
names=(XDP_ABORTED XDP_DROP XDP_PASS XDP_TX XDP_REDIRECT)
for port in 23 80; do
    v=$(bpftool prog run pinned "$pins/firewall_filter" data_in "$out/tcp$port.bin" repeat 1 2>&1 | sed -n 's/.*Return value: \([0-9]*\).*/\1/p')
    echo "TCP to port $port -> ${names[$v]}"
done
echo "dropped counter: $(bpftool -j map lookup pinned "$pins/maps/dropped" key 0 0 0 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["formatted"]["value"])')"
