// Hand-written libbpf twin of examples/xdp_firewall.ks, for
// benches/vs_handwritten.sh: the same logic as an experienced eBPF developer
// writes it.
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct ports {
    __u16 src;
    __u16 dst;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} proto_counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} dropped SEC(".maps");

struct config {
    __u16 blocked_port;
    _Bool drop_icmp;
};
struct config firewall SEC(".data.config") = { .blocked_port = 23, .drop_icmp = 0 };

static __always_inline void count_drop(void)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&dropped, &k);
    if (v)
        __sync_fetch_and_add(v, 1);
}

SEC("xdp")
int firewall_filter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    __u32 proto = ip->protocol;
    __u64 *cnt = bpf_map_lookup_elem(&proto_counts, &proto);
    if (cnt)
        *cnt += 1;
    if (ip->protocol == IPPROTO_ICMP && firewall.drop_icmp) {
        count_drop();
        return XDP_DROP;
    }
    if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
        struct ports *p = (void *)(ip + 1);
        if ((void *)(p + 1) > data_end)
            return XDP_PASS;
        if (bpf_ntohs(p->dst) == firewall.blocked_port) {
            count_drop();
            return XDP_DROP;
        }
    }
    return XDP_PASS;
}
