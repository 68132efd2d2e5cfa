/* Part of ksc_runtime.c: the program's kernel module, inserted before
 * loading and removed at exit. The parts (the files of runtime/ksc_runtime/)
 * are joined in order into the generated project's ksc_runtime.c (RUNTIME_C
 * in backends/libbpf-c/src/lib.rs), so they share state.c's statics. */

static int __ksc_kmod_inserted;

/* What the kernel logged about module `name` since `kmsg` (/dev/kmsg,
 * opened non-blocking and moved to its end before the insertion) was
 * opened: its messages, "; "-separated, in `out` ("" when it said
 * nothing, or its log cannot be read). */
static void __ksc_kernel_said(int kmsg, const char *name, char *out, size_t n)
{
    out[0] = 0;
    if (kmsg < 0)
        return;
    char rec[1024];
    ssize_t len;
    size_t used = 0;
    // One record per read: "prio,seq,usec,flags;message\n" (and, for
    // some, continuation lines " KEY=value" after the message).
    while ((len = read(kmsg, rec, sizeof(rec) - 1)) != 0) {
        if (len < 0) {
            if (errno == EPIPE) // records were overwritten: read on
                continue;
            break;
        }
        rec[len] = 0;
        char *msg = strchr(rec, ';');
        if (!msg || !strstr(++msg, name))
            continue;
        msg[strcspn(msg, "\n")] = 0;
        int w = snprintf(out + used, n - used, "%s%s", used ? "; " : "", msg);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

/* Inserts the program's kernel module (finit_module) unless the same build
 * is loaded already; exits with a plain message when the kernel refuses. */
static void __ksc_kmod_insert(const struct ksc_rt_desc *desc)
{
    char sys[256], path[4096];
    snprintf(sys, sizeof(sys), "/sys/module/%s", desc->kmod_name);
    if (access(sys, F_OK) == 0)
        return;
    if (access("/proc/modules", F_OK) != 0) {
        fprintf(stderr, "error: `%s` needs its kernel module (its @kfunc functions), and this kernel cannot load modules (it was built without module support)\n", desc->name);
        exit(1);
    }
    const char *env = getenv("KSC_KMOD");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
    } else {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = 0;
        snprintf(path, sizeof(path), "%s/%s", n > 0 ? dirname(exe) : ".", desc->kmod_file);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "error: cannot open the kernel module of `%s` (%s): %s; build it for this kernel with `ksc build --kernel %s` (or set KSC_KMOD to the .ko)\n", desc->name, path, strerror(errno), "$(uname -r)");
        exit(1);
    }
    // The kernel says why it refuses a module in its log, not in errno.
    int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (kmsg >= 0)
        lseek(kmsg, 0, SEEK_END);
    long r = syscall(SYS_finit_module, fd, "", 0);
    int err = errno;
    close(fd);
    char said[1024] = "";
    if (r != 0)
        __ksc_kernel_said(kmsg, desc->kmod_name, said, sizeof(said));
    if (kmsg >= 0)
        close(kmsg);
    if (r == 0) {
        __ksc_kmod_inserted = 1;
        return;
    }
    if (err == EEXIST)
        return;
    const char *why;
    switch (err) {
    case ENOSYS:
        why = "this kernel cannot load modules (it was built without module support)";
        break;
    case EPERM:
        why = "not permitted: loading modules needs root (CAP_SYS_MODULE), and /proc/sys/kernel/modules_disabled must be 0";
        break;
    case EKEYREJECTED:
    case ENOKEY:
    case EBADMSG:
        why = "this kernel enforces module signatures, and ksc's module is not signed (sign it with the kernel's scripts/sign-file, or boot without module.sig_enforce / Secure Boot lockdown)";
        break;
    case ENOEXEC:
        why = "it was built for another kernel (its version magic or format does not match): rebuild it with `ksc build --kernel $(uname -r)`";
        break;
    case EINVAL:
        why = "the kernel refused it, or refused to register its kfuncs (a BTF mismatch: it must be built against this very kernel)";
        break;
    default:
        why = strerror(err);
        break;
    }
    fprintf(stderr, "error: cannot insert the kernel module of `%s` (%s): %s\n", desc->name, path, why);
    if (said[0])
        fprintf(stderr, "  the kernel said: %s\n", said);
    else if (err != ENOSYS && err != EPERM)
        fprintf(stderr, "  the kernel's log (dmesg) may say more\n");
    exit(1);
}

/* Removes the module if this process inserted it: once the programs that
 * call its kfuncs are gone (their release is asynchronous, hence the
 * retries). */
static void __ksc_kmod_remove(void)
{
    if (!__ksc_kmod_inserted)
        return;
    __ksc_kmod_inserted = 0;
    // Up to 30 s: on a busy or emulated machine the kernel frees the
    // programs (and drops their hold on the module) seconds later.
    for (int i = 0; i < 300; i++) {
        if (syscall(SYS_delete_module, __ksc_d->kmod_name, O_NONBLOCK) == 0 || errno == ENOENT)
            return;
        if (errno != EAGAIN && errno != EBUSY)
            break;
        usleep(100 * 1000);
    }
    fprintf(stderr, "warning: the kernel module %s is still loaded (%s): remove it with `rmmod %s`\n", __ksc_d->kmod_name, strerror(errno), __ksc_d->kmod_name);
}
