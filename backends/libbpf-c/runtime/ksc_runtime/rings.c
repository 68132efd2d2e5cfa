/* Part of ksc_runtime.c: ring buffers: `read`, `on_event` callbacks and
 * `dispatch`. The parts (the files of runtime/ksc_runtime/) are joined in
 * order into the generated project's ksc_runtime.c (RUNTIME_C in
 * backends/libbpf-c/src/lib.rs), so they share state.c's statics. */

static int __ksc_ring_take(void *ctx, void *data, size_t len)
{
    struct __ksc_ring *r = ctx;
    memset(r->slot, 0, r->size);
    memcpy(r->slot, data, len < r->size ? len : r->size);
    r->got = 1;
    // Negative: libbpf stops after this event (already consumed), so each
    // read() takes exactly one.
    return -ECANCELED;
}

// `rb.read(ms)`: the next event, or NULL when none arrives within `ms`.
void *__ksc_ring_read(struct __ksc_ring *r, struct bpf_map *map, const char *name, __u32 ms)
{
    if (!r->rb) {
        int fd = __ksc_map_fd(map, name);
        if (!r->slot)
            r->slot = calloc(1, r->size);
        r->rb = r->slot ? ring_buffer__new(fd, __ksc_ring_take, r, NULL) : NULL;
        if (!r->rb) {
            fprintf(stderr, "error: cannot read ring buffer `%s`: %s\n", name, strerror(errno));
            exit(1);
        }
        if (!r->next && __ksc_rings != r) {
            r->next = __ksc_rings;
            __ksc_rings = r;
        }
    }
    r->got = 0;
    ring_buffer__consume(r->rb);
    if (!r->got && ms > 0 && !__ksc_stop)
        ring_buffer__poll(r->rb, (int)ms);
    if (!r->got)
        __ksc_check_stop();
    return r->got ? r->slot : NULL;
}

// `rb.on_event(f)` (docs/language.md, "Ring-buffer callbacks, `dispatch`
// and `daemon`").
void __ksc_on_event(struct __ksc_ring *r, int (*handler)(void *event))
{
    r->handler = handler;
}

static int __ksc_dispatch_ret;

// One event for `dispatch`: a zero-padded copy (the ring's pages are
// read-only, and a `ringbuf<u8>` record may be shorter than the ring) to
// the handler. A nonzero return ends `dispatch`: a negative value makes
// libbpf stop after this event, which is consumed.
static int __ksc_dispatch_one(void *ctx, void *data, size_t len)
{
    struct __ksc_ring *r = ctx;
    if (!r->handler) {
        if (!r->warned)
            fprintf(stderr, "warning: ring buffer `%s` has no handler yet (`%s.on_event(f)`): its events are dropped\n", r->name, r->name);
        r->warned = 1;
        return 0;
    }
    memset(r->event, 0, r->size);
    memcpy(r->event, data, len < r->size ? len : r->size);
    int ret = r->handler(r->event);
    if (ret != 0) {
        __ksc_dispatch_ret = ret;
        return -ECANCELED;
    }
    return 0;
}

// `dispatch(rb, ...)`: one ring-buffer manager over all of them, polled
// until a handler returns nonzero or SIGINT/SIGTERM arrives (then 0: the
// program goes on to its own cleanup, see __ksc_check_stop for the waits
// that end it instead).
int __ksc_dispatch(struct __ksc_ring *const *rings, int n)
{
    struct ring_buffer *rb = NULL;
    for (int i = 0; i < n; i++) {
        struct __ksc_ring *r = rings[i];
        int fd = __ksc_map_fd(*r->map, r->name);
        if (!r->event)
            r->event = calloc(1, r->size);
        int err = !r->event ? -ENOMEM
                  : !rb ? ((rb = ring_buffer__new(fd, __ksc_dispatch_one, r, NULL)) ? 0 : -errno)
                        : ring_buffer__add(rb, fd, __ksc_dispatch_one, r);
        if (err) {
            fprintf(stderr, "error: cannot read ring buffer `%s`: %s\n", r->name, strerror(-err));
            exit(1);
        }
    }
    __ksc_dispatch_ret = 0;
    while (!__ksc_stop && !__ksc_dispatch_ret) {
        int got = ring_buffer__poll(rb, 100);
        if (got < 0 && got != -EINTR && got != -ECANCELED) {
            fprintf(stderr, "error: waiting for ring-buffer events: %s\n", strerror(-got));
            exit(1);
        }
    }
    ring_buffer__free(rb);
    return __ksc_dispatch_ret;
}
