/* Part of ksc_runtime.c: attaching and detaching programs (links, XDP/TC,
 * perf events, struct_ops `register`). The parts (the files of
 * runtime/ksc_runtime/) are joined in order into the generated project's
 * ksc_runtime.c (RUNTIME_C in backends/libbpf-c/src/lib.rs), so they share
 * state.c's statics. */

// XDP (kernel 5.9+) and TC (tcx, 6.6+) through a link: it goes away with
// the process, even a killed one, and never replaces or disturbs other
// users' programs (EBUSY instead). Made with the raw link_create so that
// it works with libbpf 1.1, whose headers predate tcx (BPF_TCX_INGRESS/
// EGRESS are 46/47 in the kernel's UAPI). Returns the link fd, or a
// negative errno (EINVAL on kernels without such links).
static int __ksc_if_link(int prog_fd, int ifindex, int kind, __u32 flags)
{
    int type = kind == KSC_XDP ? BPF_XDP : kind == KSC_TC_INGRESS ? 46 : 47;
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
    int fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)type, &opts);
    return fd < 0 ? -errno : fd;
}

int __ksc_attach(int h, const char *target, int ifindex, __u32 flags)
{
    if (!__ksc_loaded) {
        fprintf(stderr, "error: attach(%s) before load()\n", __ksc_d->progs[h].name);
        return -EINVAL;
    }
    if (__ksc_h[h].attached)
        return 0;
    struct bpf_program *prog = __ksc_prog(h);
    int kind = __ksc_d->progs[h].kind, err = 0;
    if (kind == KSC_PERF) {
        fprintf(stderr, "error: cannot attach `%s`%s%s: a @perf_event program attaches to a perf counter: attach(handle, perf_options { perf_type: ..., perf_config: ... }, 0)\n",
                __ksc_d->progs[h].name, target ? " to " : "", target ? target : "");
        return -EINVAL;
    }
    if (kind == KSC_XDP || kind == KSC_TC_INGRESS || kind == KSC_TC_EGRESS) {
        if (target) {
            ifindex = (int)if_nametoindex(target);
            if (!ifindex) {
                fprintf(stderr, "error: cannot attach `%s`: no network interface named `%s`\n", __ksc_d->progs[h].name, target);
                return -ENODEV;
            }
        }
        __ksc_h[h].ifindex = ifindex;
    }
    int tc = kind == KSC_TC_INGRESS || kind == KSC_TC_EGRESS;
    __ksc_h[h].link_fd = 0;
    // A link first. Without one, XDP falls back to netlink only on kernels
    // without XDP links (EINVAL); TC falls back to clsact on any failure
    // (or when KSC_NO_TCX is set).
    if (kind == KSC_XDP || (tc && !getenv("KSC_NO_TCX"))) {
        int fd = __ksc_if_link(bpf_program__fd(prog), ifindex, kind, kind == KSC_XDP ? flags : 0);
        if (fd > 0)
            __ksc_h[h].link_fd = fd;
        else if (kind == KSC_XDP && fd != -EINVAL)
            err = fd;
    }
    if (__ksc_h[h].link_fd > 0 || err) {
        // Attached through the link, or failed.
    } else if (kind == KSC_XDP) {
        __ksc_h[h].xdp_flags = flags;
        err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), flags, NULL);
    } else if (tc) {
        struct bpf_tc_hook hook = { .sz = sizeof(hook), .ifindex = ifindex,
            .attach_point = kind == KSC_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS };
        err = bpf_tc_hook_create(&hook);
        __ksc_h[h].hook_created = !err;
        if (err == -EEXIST)
            err = 0;
        if (!err) {
            struct bpf_tc_opts opts = { .sz = sizeof(opts), .handle = 1, .priority = 1, .prog_fd = bpf_program__fd(prog) };
            err = bpf_tc_attach(&hook, &opts);
            __ksc_h[h].hook = hook;
            __ksc_h[h].opts = opts;
        }
    } else {
        // Tracepoints are found through tracefs (kprobes too, on kernels
        // without the kprobe PMU).
        if (!strncmp(__ksc_d->progs[h].sec, "tracepoint/", 11)
            && (err = __ksc_need_fs(__ksc_tracefs(), "tracefs", TRACEFS_MAGIC, "tracepoints are attached through it")))
            return err;
        __ksc_h[h].link = bpf_program__attach(prog);
        err = __ksc_h[h].link ? 0 : -errno;
    }
    if (err) {
        char why[1024];
        __ksc_why_no_link(h, err, why, sizeof(why));
        fprintf(stderr, "error: cannot attach `%s`%s%s: %s\n", __ksc_d->progs[h].name, target ? " to " : "", target ? target : "",
                err == -EPERM ? "not permitted (run as root)"
                : err == -EBUSY && kind == KSC_XDP ? "another XDP program is attached there (ksc does not replace it)"
                : why);
        return err;
    }
    __ksc_h[h].attached = 1;
    return 0;
}

void __ksc_detach(int h)
{
    // The program's perf counters go with it.
    for (int i = 0; i < __ksc_nperfs; i++)
        if (__ksc_perfs[i].live && __ksc_perfs[i].prog == h)
            __ksc_perf_detach((__u64)__ksc_perfs[i].gen << 32 | (__u64)(i + 1));
    if (!__ksc_h[h].attached)
        return;
    int kind = __ksc_d->progs[h].kind;
    if (__ksc_h[h].link_fd > 0) {
        close(__ksc_h[h].link_fd);
        __ksc_h[h].link_fd = 0;
    } else if (kind == KSC_XDP) {
        bpf_xdp_detach(__ksc_h[h].ifindex, __ksc_h[h].xdp_flags, NULL);
    } else if (kind == KSC_TC_INGRESS || kind == KSC_TC_EGRESS) {
        __ksc_h[h].opts.prog_fd = 0;
        __ksc_h[h].opts.prog_id = 0;
        __ksc_h[h].opts.flags = 0;
        bpf_tc_detach(&__ksc_h[h].hook, &__ksc_h[h].opts);
        if (__ksc_h[h].hook_created) {
            __ksc_h[h].hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
            bpf_tc_hook_destroy(&__ksc_h[h].hook);
        }
    } else {
        bpf_link__destroy(__ksc_h[h].link);
    }
    __ksc_h[h].attached = 0;
}

// The counter a perf_type/perf_config pair names, for messages: the
// language's name when it has one.
static void __ksc_perf_name(__u32 type, __u64 config, char *out, size_t n)
{
    static const char *const hw[] = { "cpu_cycles", "instructions", "cache_references", "cache_misses",
        "branch_instructions", "branch_misses", "bus_cycles", NULL, NULL, "ref_cpu_cycles" };
    static const char *const sw[] = { "cpu_clock", "task_clock", "page_faults", "context_switches",
        "cpu_migrations", "page_faults_min", "page_faults_maj" };
    static const char *const types[] = { "perf_type_hardware", "perf_type_software", "perf_type_tracepoint",
        "perf_type_hw_cache", "perf_type_raw", "perf_type_breakpoint" };
    const char *name = NULL;
    if (type == PERF_TYPE_HARDWARE && config < sizeof(hw) / sizeof(hw[0]))
        name = hw[config];
    else if (type == PERF_TYPE_SOFTWARE && config < sizeof(sw) / sizeof(sw[0]))
        name = sw[config];
    const char *tn = type < sizeof(types) / sizeof(types[0]) ? types[type] : NULL;
    if (name)
        snprintf(out, n, "%s counter `%s`", type == PERF_TYPE_HARDWARE ? "hardware" : "software", name);
    else if (tn)
        snprintf(out, n, "counter %s with perf_config %llu", tn, (unsigned long long)config);
    else
        snprintf(out, n, "counter of perf_type %u with perf_config %llu", type, (unsigned long long)config);
}

static void __ksc_perf_fail(int h, const char *counter, const char *why)
{
    fprintf(stderr, "error: cannot attach `%s` to the %s: %s\n", __ksc_d->progs[h].name, counter, why);
    exit(1);
}

// The steps of the reference's lifecycle: open disabled, reset, attach,
// enable (docs/language.md, "`@perf_event` programs").
__u64 __ksc_perf_attach(int h, __u32 flags, __u32 type, __u64 config, __s32 pid, __s32 cpu,
                        __u64 period, __u32 wakeup, _Bool inherit, _Bool exclude_kernel,
                        _Bool exclude_user)
{
    char counter[128], why[256];
    __ksc_perf_name(type, config, counter, sizeof(counter));
    if (!__ksc_loaded) {
        fprintf(stderr, "error: attach(%s) before load()\n", __ksc_d->progs[h].name);
        exit(1);
    }
    if (__ksc_d->progs[h].kind != KSC_PERF) {
        snprintf(why, sizeof(why), "it is not a @perf_event program (its section is `%s`)", __ksc_d->progs[h].sec);
        __ksc_perf_fail(h, counter, why);
    }
    if (flags != 0) {
        snprintf(why, sizeof(why), "a perf attach takes no flags (0), not %u", flags);
        __ksc_perf_fail(h, counter, why);
    }
    if (pid < -1 || cpu < -1) {
        snprintf(why, sizeof(why), "pid %d, cpu %d: each is -1 (any) or a number", pid, cpu);
        __ksc_perf_fail(h, counter, why);
    }
    if (pid == -1 && cpu == -1)
        __ksc_perf_fail(h, counter, "pid -1 with cpu -1 (every process on every CPU) is not a counter the kernel opens: give a pid (0 is this process) or a cpu");
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    attr.sample_period = period;
    attr.wakeup_events = wakeup;
    attr.inherit = inherit;
    attr.exclude_kernel = exclude_kernel;
    attr.exclude_user = exclude_user;
    attr.disabled = 1;
    int fd = (int)syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if ((e == ENOENT || e == EOPNOTSUPP) && type == PERF_TYPE_HARDWARE)
            snprintf(why, sizeof(why), "this machine has no such counter (no hardware performance counters, as in most virtual machines); software counters such as `cpu_clock` or `page_faults` work everywhere");
        else if (e == ENOENT || e == EOPNOTSUPP || e == EINVAL)
            snprintf(why, sizeof(why), "the kernel does not offer it with these perf_options (%s)", strerror(e));
        else if (e == EACCES || e == EPERM)
            snprintf(why, sizeof(why), "not permitted (run as root, or lower /proc/sys/kernel/perf_event_paranoid)");
        else if (e == ESRCH)
            snprintf(why, sizeof(why), "no process has pid %d", pid);
        else if (e == ENODEV || e == ENXIO)
            snprintf(why, sizeof(why), "no CPU %d on this machine", cpu);
        else
            snprintf(why, sizeof(why), "%s", strerror(e));
        __ksc_perf_fail(h, counter, why);
    }
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    int prog_fd = bpf_program__fd(__ksc_prog(h));
    // A perf link (kernel 5.15+), else the older ioctl; either is undone
    // by closing what it made.
    int link = bpf_link_create(prog_fd, fd, BPF_PERF_EVENT, NULL);
    if (link < 0 && ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0) {
        int e = errno;
        close(fd);
        snprintf(why, sizeof(why), "the kernel refused to attach the program (%s)", strerror(e));
        __ksc_perf_fail(h, counter, why);
    }
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
        int e = errno;
        if (link >= 0)
            close(link);
        close(fd);
        snprintf(why, sizeof(why), "cannot start the counter (%s)", strerror(e));
        __ksc_perf_fail(h, counter, why);
    }
    int i = 0;
    while (i < __ksc_nperfs && __ksc_perfs[i].live)
        i++;
    if (i == __ksc_nperfs) {
        struct __ksc_perf *p = realloc(__ksc_perfs, (size_t)(__ksc_nperfs + 1) * sizeof(*p));
        if (!p) {
            fprintf(stderr, "error: out of memory\n");
            exit(1);
        }
        __ksc_perfs = p;
        __ksc_perfs[__ksc_nperfs++].gen = 0;
    }
    struct __ksc_perf *p = &__ksc_perfs[i];
    p->prog = h;
    p->perf_fd = fd;
    p->link_fd = link;
    p->live = 1;
    p->gen++;
    return (__u64)p->gen << 32 | (__u64)(i + 1);
}

static struct __ksc_perf *__ksc_perf_slot(__u64 att)
{
    __u64 i = (att & 0xffffffffu) - 1;
    if (i >= (__u64)__ksc_nperfs || !__ksc_perfs[i].live || __ksc_perfs[i].gen != (__u32)(att >> 32))
        return NULL;
    return &__ksc_perfs[i];
}

__s64 __ksc_perf_read(__u64 att)
{
    struct __ksc_perf *p = __ksc_perf_slot(att);
    __s64 v;
    if (!p || read(p->perf_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return -1;
    return v;
}

void __ksc_perf_detach(__u64 att)
{
    struct __ksc_perf *p = __ksc_perf_slot(att);
    if (!p)
        return;
    ioctl(p->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
    if (p->link_fd >= 0)
        close(p->link_fd);
    close(p->perf_fd);
    p->live = 0;
}

// `register(impl)`: load the object if needed, register the table.
int __ksc_register(int i)
{
    __ksc_load(0);
    if (__ksc_ops_link[i])
        return 0;
    struct bpf_map *map = bpf_object__find_map_by_name(__ksc_obj, __ksc_d->ops[i]);
    struct bpf_link *link = map ? bpf_map__attach_struct_ops(map) : NULL;
    if (!link) {
        int err = -errno;
        fprintf(stderr, "error: cannot register `%s`: %s\n", __ksc_d->ops[i], err == -EEXIST ? "a table of that name is registered already" : strerror(-err));
        return err;
    }
    __ksc_ops_link[i] = link;
    return 0;
}
