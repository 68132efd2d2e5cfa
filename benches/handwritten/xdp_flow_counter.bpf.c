// Hand-written libbpf twin of examples/xdp_flow_counter.ks.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct eth { __u8 dst[6], src[6]; __u16 proto; };
struct ip4 { __u8 ver_ihl, tos; __u16 total_len, id, frag_off; __u8 ttl, protocol; __u16 check; __u32 saddr, daddr; };
struct ports { __u16 src, dst; };
struct flow_key { __u32 saddr, daddr; __u16 sport, dport; __u8 protocol; };
struct flow_stats { __u64 packets, bytes, first_seen_ns, last_seen_ns; };

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct flow_key);
    __type(value, struct flow_stats);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} untracked SEC(".maps");

static __always_inline void count_untracked(void)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&untracked, &k);
    if (v)
        __sync_fetch_and_add(v, 1);
}

SEC("xdp")
int flow_counter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if (data + sizeof(struct eth) + sizeof(struct ip4) > data_end)
        return XDP_PASS;
    struct eth *eth = data;
    if (eth->proto != bpf_htons(0x0800)) {
        count_untracked();
        return XDP_PASS;
    }
    struct ip4 *ip = data + sizeof(struct eth);
    if (ip->protocol != 6 && ip->protocol != 17) {
        count_untracked();
        return XDP_PASS;
    }
    __u32 ihl = (ip->ver_ihl & 0x0f) * 4;
    if (ihl < 20)
        return XDP_DROP;
    void *l4 = data + sizeof(struct eth) + ihl;
    if (l4 + sizeof(struct ports) > data_end)
        return XDP_PASS;
    struct ports *ports = l4;
    // Zeroed so the padding after `protocol` hashes the same every time.
    struct flow_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.saddr = ip->saddr;
    key.daddr = ip->daddr;
    key.sport = bpf_ntohs(ports->src);
    key.dport = bpf_ntohs(ports->dst);
    key.protocol = ip->protocol;
    __u64 len = data_end - data;
    __u64 now = bpf_ktime_get_ns();
    struct flow_stats *s = bpf_map_lookup_elem(&flows, &key);
    if (s) {
        __sync_fetch_and_add(&s->packets, 1);
        __sync_fetch_and_add(&s->bytes, len);
        s->last_seen_ns = now;
    } else {
        struct flow_stats fresh = { .packets = 1, .bytes = len, .first_seen_ns = now, .last_seen_ns = now };
        bpf_map_update_elem(&flows, &key, &fresh, BPF_ANY);
    }
    return XDP_PASS;
}
