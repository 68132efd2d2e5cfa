/* Part of ksc_runtime.c: `test(prog, ctx)`, one run of a program in the
 * kernel (BPF_PROG_TEST_RUN). The parts (the files of runtime/ksc_runtime/)
 * are joined in order into the generated project's ksc_runtime.c (RUNTIME_C
 * in backends/libbpf-c/src/lib.rs), so they share state.c's statics. */

// `test(prog, ctx)`: run the program once in the kernel on a packet of
// `size` bytes, the context's `bytes` then zeros (BPF_PROG_TEST_RUN); its
// return value, or a negative errno with a message.
int __ksc_test(int h, __u32 size, __u32 ifindex, const void *bytes, size_t nbytes)
{
    __ksc_load(h);
    int fd = bpf_program__fd(__ksc_prog(h));
    if (size < 14 || size > 4000) {
        fprintf(stderr, "error: test(%s): packet_size %u is outside 14..4000 (the kernel runs packets of an Ethernet header up to a page)\n", __ksc_d->progs[h].name, size);
        return -EINVAL;
    }
    unsigned char *pkt = calloc(1, size);
    if (!pkt)
        return -ENOMEM;
    memcpy(pkt, bytes, nbytes < size ? nbytes : size);
    struct xdp_md xctx;
    memset(&xctx, 0, sizeof(xctx));
    xctx.data_end = size;
    xctx.ingress_ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = size, .repeat = 1);
    if (__ksc_d->progs[h].kind == KSC_XDP && ifindex) {
        opts.ctx_in = &xctx;
        opts.ctx_size_in = sizeof(xctx);
    }
    int err = bpf_prog_test_run_opts(fd, &opts);
    if (err && errno == EINVAL && opts.ctx_in && ifindex == 1) {
        // Before 5.15 an XDP test run takes no context (EINVAL); it runs
        // on the loopback device's queue, whose ifindex is 1: the same
        // run without one.
        opts.ctx_in = NULL;
        opts.ctx_size_in = 0;
        err = bpf_prog_test_run_opts(fd, &opts);
    } else if (err && errno == EINVAL && opts.ctx_in) {
        free(pkt);
        fprintf(stderr, "error: test(%s): this kernel cannot give an XDP test run an interface (interface_id %u): Linux 5.15 brought that; before it the run is on lo (interface_id 1)\n", __ksc_d->progs[h].name, ifindex);
        return -EINVAL;
    }
    free(pkt);
    if (err) {
        err = -errno;
        fprintf(stderr, "error: test(%s): the kernel cannot run it: %s\n", __ksc_d->progs[h].name, strerror(-err));
        return err;
    }
    return (int)opts.retval;
}
