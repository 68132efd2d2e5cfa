/* Part of ksc_runtime.c: the program's process: cleanup at exit, `exec` into
 * Python, `sleep`, uncaught throws, `daemon`, integer options. The parts
 * (the files of runtime/ksc_runtime/) are joined in order into the generated
 * project's ksc_runtime.c (RUNTIME_C in backends/libbpf-c/src/lib.rs), so
 * they share state.c's statics. */

void __ksc_cleanup(void)
{
    for (struct __ksc_ring *r = __ksc_rings; r; r = r->next) {
        ring_buffer__free(r->rb);
        r->rb = NULL;
    }
    if (!__ksc_d)
        return;
    for (int i = __ksc_d->nops - 1; i >= 0; i--) {
        if (__ksc_ops_link[i])
            bpf_link__destroy(__ksc_ops_link[i]);
        __ksc_ops_link[i] = NULL;
    }
    for (int h = __ksc_d->nprogs - 1; h >= 0; h--)
        __ksc_detach(h);
    if (__ksc_skel)
        bpf_object__destroy_skeleton(__ksc_skel);
    __ksc_skel = NULL;
    __ksc_obj = NULL;
    free(__ksc_sec_maps);
    free(__ksc_sec_mem);
    __ksc_sec_maps = NULL;
    __ksc_sec_mem = NULL;
    __ksc_kmod_remove();
}

// exec("x.py") (docs/language.md, "`exec` into Python"). Links, maps and
// programs are fds: with FD_CLOEXEC cleared they outlive the exec, and the
// kernel detaches a link when its last fd closes, so the programs stay
// attached while the script runs and detach when it exits. What netlink
// attached (XDP before links, TC without tcx) is no fd: it stays.
void __ksc_exec(const char *script)
{
    __ksc_load(0);
    char exe[4096], path[4096 + 256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(path, sizeof(path), "%s/%s", n > 0 ? dirname(exe) : ".", script);
    size_t cap = 64, used = 0;
    char *env = malloc(cap);
    struct bpf_map *map;
    if (!env)
        exit(1);
    env[0] = 0;
    bpf_object__for_each_map(map, __ksc_obj) {
        char item[512];
        int w = snprintf(item, sizeof(item), "%s%s=%d", used ? "," : "", bpf_map__name(map), bpf_map__fd(map));
        if (w <= 0 || (size_t)w >= sizeof(item) || bpf_map__fd(map) < 0)
            continue;
        if (used + (size_t)w + 1 > cap) {
            cap = 2 * (used + (size_t)w + 1);
            char *more = realloc(env, cap);
            if (!more)
                exit(1);
            env = more;
        }
        memcpy(env + used, item, (size_t)w + 1);
        used += (size_t)w;
    }
    setenv("KSC_MAPS", env, 1);
    free(env);
    for (int h = 0; h < __ksc_d->nprogs; h++) {
        int kind = __ksc_d->progs[h].kind;
        if (__ksc_h[h].attached && __ksc_h[h].link_fd <= 0 && kind != KSC_LINK) {
            char ifname[IF_NAMESIZE] = "?";
            if_indextoname((unsigned)__ksc_h[h].ifindex, ifname);
            fprintf(stderr, "warning: `%s` stays attached to %s after the script ends: this kernel attached it without a link (%s)\n",
                    __ksc_d->progs[h].name, ifname,
                    kind == KSC_XDP ? "detach it with `ip link set dev IF xdp off`" : "remove it with `tc filter del dev IF ingress` or `egress`");
        }
    }
    DIR *fds = opendir("/proc/self/fd");
    if (fds) {
        struct dirent *e;
        while ((e = readdir(fds))) {
            int fd = atoi(e->d_name);
            if (fd > 2 && fd != dirfd(fds)) {
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0)
                    fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
            }
        }
        closedir(fds);
    }
    fflush(stdout);
    fflush(stderr);
    char *argv[] = { "python3", path, NULL };
    execvp("python3", argv);
    fprintf(stderr, "error: exec(\"%s\"): cannot run python3 %s: %s\n", script, path, strerror(errno));
    exit(1);
}

void __ksc_sleep(__u32 ms)
{
    while (ms > 0 && !__ksc_stop) {
        __u32 step = ms > 100 ? 100 : ms;
        usleep(step * 1000);
        ms -= step;
    }
    __ksc_check_stop();
}

void __ksc_uncaught(__s64 err)
{
    fprintf(stderr, "error: uncaught throw %lld\n", (long long)err);
    exit(1);
}

// `daemon()`: what was printed goes out once (stdio's buffers are flushed
// before the fork, so a pipe or a file gets it from the parent only); the
// foreground process leaves with _exit(0), without the atexit cleanup
// that would detach the daemon's programs. The daemon, in a session of
// its own with its standard streams on /dev/null, waits for SIGTERM or
// SIGINT and then detaches everything.
void __ksc_daemon(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: daemon(): cannot fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0)
        _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    // The signals are blocked between the check and the wait, so one that
    // arrives in between is not lost.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!__ksc_stop)
        sigsuspend(&old);
    __ksc_cleanup();
    exit(0);
}

// Integer options: checked parse with the field's range.
int __ksc_int(const char *s, long long lo, unsigned long long hi, long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        long long v = strtoll(s, &end, 0);
        if (errno || *end || v < lo)
            return -1;
        *out = v;
        return 0;
    }
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || !*s || v > hi)
        return -1;
    *out = (long long)v;
    return 0;
}
