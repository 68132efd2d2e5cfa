// Hand-written libbpf twin of examples/tc_counter.ks.
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

static __always_inline void add(__u32 k, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&stats, &k);
    if (v)
        __sync_fetch_and_add(v, n);
}

SEC("tc")
int egress_counter(struct __sk_buff *skb)
{
    add(0, 1);
    add(1, skb->len);
    return TC_ACT_OK;
}

SEC("tc")
int ingress_counter(struct __sk_buff *skb)
{
    add(2, 1);
    add(3, skb->len);
    return TC_ACT_OK;
}
