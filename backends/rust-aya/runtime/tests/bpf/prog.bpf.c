// The eBPF object of tests/kernel.rs: an XDP program counting packet
// lengths (a hash map, a .data global, a .rodata config for its verdict)
// and a tracepoint program counting one process's getppid calls (a
// per-CPU array).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} lengths SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} calls SEC(".maps");

volatile const __u32 verdict = XDP_DROP;
volatile const __u32 who = 0;
__u64 bytes = 100;

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    __u64 one = 1, *v = bpf_map_lookup_elem(&lengths, &len);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&lengths, &len, &one, BPF_ANY);
    bytes += len;
    return verdict;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __u32 k = 0;
    __u64 *v;
    if ((bpf_get_current_pid_tgid() >> 32) != who)
        return 0;
    v = bpf_map_lookup_elem(&calls, &k);
    if (v)
        *v += 1;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
