#!/usr/bin/env bash
# The main job end to end: compile the firewall example with ksc (eBPF C +
# libbpf userspace C, built with clang, bpftool and cc), run the program it
# makes against a veth pair in a network namespace created here (never the
# machine's own interfaces), send it traffic, and show what it saw.
# Needs root, clang, bpftool, libbpf (.ci/setup installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ksc=${KSC:-target/release/ksc}
[ -x "$ksc" ] || ksc=target/debug/ksc
out=$(mktemp -d)
ns=ksc-demo-$$
host=kscdemo$$
trap 'ip link del "$host" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -rf "$out"' EXIT

echo "== ksc build examples/xdp_firewall.ks"
"$ksc" build examples/xdp_firewall.ks -o "$out"

echo "== a veth pair: $host here (10.250.0.1), its peer in namespace $ns (10.250.0.2)"
ip netns add "$ns"
ip link add "$host" type veth peer name kscpeer netns "$ns"
ip addr add 10.250.0.1/24 dev "$host"
ip link set "$host" up
ip -n "$ns" addr add 10.250.0.2/24 dev kscpeer
ip -n "$ns" link set kscpeer up

echo "== running the firewall on $host, blocking UDP/TCP port 5000"
"$out/xdp_firewall" --interface "$host" --blocked_port 5000 &
pid=$!
sleep 0.3
for port in 5000 5000 5000 6000 6000; do
    ip netns exec "$ns" bash -c "echo hello > /dev/udp/10.250.0.1/$port"
done
echo "   sent 3 datagrams to port 5000 and 2 to port 6000"
wait "$pid"
echo "== after exit, attached to $host: $(bpftool net show dev "$host" | grep -c firewall || true) programs"
