#!/usr/bin/env bash
# Build time of a generated tracepoint program: ksc's way (UAPI headers plus
# the few kernel structs it needs, emitted from BTF) against the usual way
# (`#include "vmlinux.h"`, all ~100k lines of kernel types). Prints the mean
# of several clang runs for each.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p ksc-backend-ebpf-c --example ksc-ebpf-c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
arch_inc=-I/usr/include/$(uname -m)-linux-gnu
runs=${RUNS:-5}

target/release/examples/ksc-ebpf-c examples/syscall_counter.ks > "$work/ksc.c"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$work/vmlinux.h"
cat > "$work/vmlinux_way.c" <<'C'
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, __u64);
} reads SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_read")
int count_reads(struct trace_event_raw_sys_enter *ctx)
{
    (void)ctx;
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u64 one = 1, *v = bpf_map_lookup_elem(&reads, &pid);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&reads, &pid, &one, BPF_NOEXIST);
    return 0;
}
C

time_it() {
    local src=$1 start end
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do
        clang -g -O2 -target bpf -D__TARGET_ARCH_x86 "$arch_inc" -I"$work" -c "$src" -o "$work/out.o"
    done
    end=$(date +%s%N)
    echo $(( (end - start) / runs / 1000000 ))
}

printf '%-28s %10s %12s\n' variant "lines in" "ms/build"
printf '%-28s %10d %12d\n' "ksc (UAPI + BTF structs)" "$(wc -l < "$work/ksc.c")" "$(time_it "$work/ksc.c")"
printf '%-28s %10d %12d\n' "vmlinux.h" "$(( $(wc -l < "$work/vmlinux.h") + $(wc -l < "$work/vmlinux_way.c") ))" "$(time_it "$work/vmlinux_way.c")"
