/* The loader runtime of ksc's userspace programs: see ksc_runtime.h.
 * Compiled on its own (cc -Wall -Wextra) into libksc_rt.a. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ksc_runtime.h"

/* The program being run, and its state. */
static const struct ksc_rt_desc *__ksc_d;
struct __ksc_handle {
    int attached, ifindex;
    __u32 xdp_flags;
    struct bpf_link *link;
    struct bpf_tc_hook hook;
    struct bpf_tc_opts opts;
    int hook_created;
    int link_fd; /* > 0: attached through an XDP or tcx link */
};
static struct __ksc_handle *__ksc_h;
/* struct_ops tables' links (`register`). */
static struct bpf_link **__ksc_ops_link;
static struct bpf_object *__ksc_obj;
/* The skeleton the object is opened as: libbpf maps each global-data
 * section at one address before load and keeps the live map there after. */
static struct bpf_object_skeleton *__ksc_skel;
/* The skeleton's slots for those sections: their maps and memory. */
static struct bpf_map **__ksc_sec_maps;
static void **__ksc_sec_mem;
static int __ksc_loaded;
static volatile sig_atomic_t __ksc_stop;
static struct __ksc_ring *__ksc_rings;
/* Perf counters a `@perf_event` program is attached to. A handle is the
 * slot + 1 in its low half and the slot's generation in its high half: a
 * copy kept after `detach` no longer matches and is refused. */
struct __ksc_perf {
    int prog, perf_fd, link_fd, live;
    __u32 gen;
};
static struct __ksc_perf *__ksc_perfs;
static int __ksc_nperfs;

// libbpf's messages (the verifier's log among them) are kept, and shown,
// trimmed to their end, only when loading fails.
static char __ksc_log[1 << 16];
static size_t __ksc_log_len;

static int __ksc_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    char msg[8192];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n <= 0)
        return n;
    size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    // Keep the end: when full, drop the older half.
    if (__ksc_log_len + len >= sizeof(__ksc_log)) {
        size_t keep = sizeof(__ksc_log) / 2;
        memmove(__ksc_log, __ksc_log + __ksc_log_len - keep, keep);
        __ksc_log_len = keep;
    }
    memcpy(__ksc_log + __ksc_log_len, msg, len);
    __ksc_log_len += len;
    __ksc_log[__ksc_log_len] = 0;
    return n;
}

static void __ksc_print_log_tail(int lines)
{
    size_t at = __ksc_log_len;
    while (at > 0 && lines >= 0) {
        at--;
        if (__ksc_log[at] == '\n')
            lines--;
    }
    fprintf(stderr, "%s%s", at > 0 ? "...\n" : "", __ksc_log + (at > 0 ? at + 1 : 0));
}

static void __ksc_on_signal(int sig)
{
    (void)sig;
    __ksc_stop = 1;
}

// After SIGINT/SIGTERM, at the next wait (`sleep`, `rb.read(ms)`): detach
// everything and exit 130, like an interrupted shell command.
static void __ksc_check_stop(void)
{
    if (__ksc_stop) {
        __ksc_cleanup();
        exit(130);
    }
}

static void __ksc_mkdirs(const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
    }
    mkdir(buf, 0700);
}

// Is `dir` a mount of the file system with this magic number?
static int __ksc_is_fs(const char *dir, long magic)
{
    struct statfs s;
    return statfs(dir, &s) == 0 && (long)s.f_type == magic;
}

// Mount `fstype` at `dir` when it is not there, as bpftool does for
// bpffs (a fresh machine has neither bpffs nor tracefs mounted). 0 when
// it is there now; else says what is missing, why, and the command that
// fixes it, and returns a negative errno.
static int __ksc_need_fs(const char *dir, const char *fstype, long magic, const char *why)
{
    if (__ksc_is_fs(dir, magic) || mount(fstype, dir, fstype, 0, NULL) == 0)
        return 0;
    int err = errno;
    fprintf(stderr, "error: %s is not mounted at %s (%s), and `%s` cannot mount it: %s\n"
                    "  mount it as root: mount -t %s %s %s\n",
            fstype, dir, why, __ksc_d->name, strerror(err), fstype, fstype, dir);
    return -err;
}

// Where libbpf looks for trace events: debugfs's tracing directory when
// debugfs is mounted, else tracefs's own mount point.
static const char *__ksc_tracefs(void)
{
    return access("/sys/kernel/debug/tracing", F_OK) == 0 ? "/sys/kernel/debug/tracing" : "/sys/kernel/tracing";
}

// Edit distance between two names (for "did you mean").
static size_t __ksc_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (la >= 128 || lb >= 128)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

// The (at most three) names closest to `name` among the entries of `dir`
// (or the text symbols of /proc/kallsyms when `dir` is NULL), written
// into `out` as "`a`, `b`"; empty when nothing is close.
static void __ksc_closest(const char *dir, const char *name, char *out, size_t n)
{
    char best[3][256] = { "", "", "" };
    size_t dist[3] = { (size_t)-1, (size_t)-1, (size_t)-1 }, limit = strlen(name) / 3 + 1;
    DIR *d = dir ? opendir(dir) : NULL;
    FILE *syms = dir ? NULL : fopen("/proc/kallsyms", "r");
    char line[512], cand[256];
    out[0] = 0;
    for (;;) {
        if (d) {
            struct dirent *e = readdir(d);
            if (!e)
                break;
            if (e->d_name[0] == '.' || e->d_type != DT_DIR)
                continue;
            snprintf(cand, sizeof(cand), "%s", e->d_name);
        } else if (syms && fgets(line, sizeof(line), syms)) {
            char type;
            if (sscanf(line, "%*s %c %255s", &type, cand) != 2 || (type != 't' && type != 'T'))
                continue;
        } else {
            break;
        }
        size_t dc = __ksc_distance(name, cand);
        // A close spelling, or a name that contains the one asked for.
        if (dc > limit && !strstr(cand, name))
            continue;
        for (int i = 0; i < 3; i++) {
            if (!strcmp(best[i], cand))
                break;
            if (dc < dist[i]) {
                for (int j = 2; j > i; j--) {
                    dist[j] = dist[j - 1];
                    memcpy(best[j], best[j - 1], sizeof(best[j]));
                }
                dist[i] = dc;
                snprintf(best[i], sizeof(best[i]), "%s", cand);
                break;
            }
        }
    }
    if (d)
        closedir(d);
    if (syms)
        fclose(syms);
    for (int i = 0; i < 3 && best[i][0]; i++) {
        size_t at = strlen(out);
        snprintf(out + at, n - at, "%s`%.120s`", i ? ", " : "", best[i]);
    }
}

// Why a tracepoint or probe did not attach, in plain words: the event or
// function does not exist (with the closest names), or the kernel has no
// kprobes at all. Falls back to the errno's text.
static void __ksc_why_no_link(int h, int err, char *why, size_t n)
{
    const char *sec = __ksc_d->progs[h].sec;
    char path[512], near[512];
    snprintf(why, n, "%s", strerror(-err));
    if (!strncmp(sec, "tracepoint/", 11)) {
        char cat[128] = "";
        const char *event = strchr(sec + 11, '/');
        if (!event)
            return;
        snprintf(cat, sizeof(cat), "%.*s", (int)(event - sec - 11), sec + 11);
        event++;
        snprintf(path, sizeof(path), "%s/events/%s", __ksc_tracefs(), cat);
        if (access(path, F_OK) != 0) {
            snprintf(path, sizeof(path), "%s/events", __ksc_tracefs());
            __ksc_closest(path, cat, near, sizeof(near));
            snprintf(why, n, "this kernel has no tracepoint category `%s`%s%s%s", cat,
                     near[0] ? " (closest: " : "", near, near[0] ? ")" : "");
            return;
        }
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", event);
        if (access(path, F_OK) != 0) {
            *strrchr(path, '/') = 0;
            __ksc_closest(path, event, near, sizeof(near));
            snprintf(why, n, "this kernel has no tracepoint `%s/%s`%s%s%s", cat, event,
                     near[0] ? " (closest in that category: " : "", near, near[0] ? ")" : "");
        }
    } else if (!strncmp(sec, "kprobe/", 7)) {
        char fn[128];
        snprintf(fn, sizeof(fn), "%s", sec + 7);
        fn[strcspn(fn, "+")] = 0;
        snprintf(path, sizeof(path), "%s/kprobe_events", __ksc_tracefs());
        if (access("/sys/bus/event_source/devices/kprobe", F_OK) != 0 && access(path, F_OK) != 0) {
            snprintf(why, n, "this kernel does not support kprobes (it was built without CONFIG_KPROBES)");
            return;
        }
        __ksc_closest(NULL, fn, near, sizeof(near));
        if (strncmp(near, "`", 1) || strncmp(near + 1, fn, strlen(fn)) || near[1 + strlen(fn)] != '`')
            snprintf(why, n, "this kernel has no function `%s` to probe%s%s%s", fn,
                     near[0] ? " (closest: " : "", near, near[0] ? ")" : "");
    }
}

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

/* Open the object as a skeleton over the program's maps and the sections
 * of its globals (each mapped, so that its memory stays the map's after
 * load). 0 or a negative errno. */
static int __ksc_skel_open(const struct ksc_rt_desc *d, const struct bpf_object_open_opts *opts)
{
    struct bpf_object_skeleton *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->sz = sizeof(*s);
    s->name = d->obj_name;
    s->data = d->elf;
    s->data_sz = (size_t)(d->elf_end - d->elf);
    s->obj = &__ksc_obj;
    s->map_skel_sz = sizeof(*s->maps);
    s->prog_skel_sz = sizeof(*s->progs);
    // The maps, then one entry per section of the globals.
    s->maps = calloc((size_t)(d->nmaps + d->nvars) + 1, sizeof(*s->maps));
    __ksc_sec_maps = calloc((size_t)d->nvars + 1, sizeof(*__ksc_sec_maps));
    __ksc_sec_mem = calloc((size_t)d->nvars + 1, sizeof(*__ksc_sec_mem));
    if (!s->maps || !__ksc_sec_maps || !__ksc_sec_mem) {
        bpf_object__destroy_skeleton(s);
        return -ENOMEM;
    }
    for (int i = 0; i < d->nmaps; i++) {
        s->maps[s->map_cnt].name = d->maps[i].name;
        s->maps[s->map_cnt].map = d->maps[i].map;
        s->map_cnt++;
    }
    for (int i = 0, n = 0; i < d->nvars; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= !strcmp(d->vars[j].sec, d->vars[i].sec);
        if (seen)
            continue;
        s->maps[s->map_cnt].name = d->vars[i].sec;
        s->maps[s->map_cnt].map = &__ksc_sec_maps[n];
        s->maps[s->map_cnt].mmaped = &__ksc_sec_mem[n];
        s->map_cnt++;
        n++;
    }
    int err = bpf_object__open_skeleton(s, opts);
    if (err) {
        bpf_object__destroy_skeleton(s);
        __ksc_obj = NULL;
        return err;
    }
    __ksc_skel = s;
    return 0;
}

/* Point each global at its place in its section's memory, found by name in
 * the object's BTF; exits when one is missing or of another size (an
 * object built from other source). */
static void __ksc_vars(const struct ksc_rt_desc *d)
{
    struct btf *btf = bpf_object__btf(__ksc_obj);
    for (int i = 0; i < d->nvars; i++) {
        const struct ksc_rt_var *v = &d->vars[i];
        // The section's memory, as the skeleton mapped it.
        char *mem = NULL;
        size_t size = 0;
        for (int j = 0; j < __ksc_skel->map_cnt; j++) {
            struct bpf_object_skeleton *s = __ksc_skel;
            if (s->maps[j].mmaped && !strcmp(s->maps[j].name, v->sec) && *s->maps[j].map) {
                mem = *s->maps[j].mmaped;
                size = bpf_map__value_size(*s->maps[j].map);
            }
        }
        int id = btf ? btf__find_by_name_kind(btf, v->sec, BTF_KIND_DATASEC) : -1;
        const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
        const struct btf_var_secinfo *vs = t ? btf_var_secinfos(t) : NULL;
        int found = 0;
        for (int j = 0; mem && t && j < btf_vlen(t); j++, vs++) {
            const struct btf_type *var = btf__type_by_id(btf, vs->type);
            if (!var || strcmp(btf__name_by_offset(btf, var->name_off), v->name))
                continue;
            if (vs->size != v->size || vs->offset + vs->size > size)
                break;
            *v->addr = mem + vs->offset;
            found = 1;
            break;
        }
        if (!found) {
            fprintf(stderr, "error: the eBPF object of `%s` has no global `%s` of %zu bytes in %s: was it built from another source?\n", d->name, v->name, v->size, v->sec);
            exit(1);
        }
    }
}

void __ksc_open(const struct ksc_rt_desc *desc)
{
    __ksc_d = desc;
    // Line-buffered even into a pipe: a loader runs for long, and its
    // lines should reach `| grep` or a log as they are printed.
    setvbuf(stdout, NULL, _IOLBF, 0);
    // First: a SIGINT while the module goes in or the object is read (slow
    // on an emulated CPU) ends the program at its first wait, cleanly.
    signal(SIGINT, __ksc_on_signal);
    signal(SIGTERM, __ksc_on_signal);
    libbpf_set_print(__ksc_libbpf_print);
    __ksc_h = calloc(desc->nprogs > 0 ? (size_t)desc->nprogs : 1, sizeof(*__ksc_h));
    __ksc_ops_link = calloc(desc->nops > 0 ? (size_t)desc->nops : 1, sizeof(*__ksc_ops_link));
    if (!__ksc_h || !__ksc_ops_link) {
        fprintf(stderr, "error: out of memory\n");
        exit(1);
    }
    if (desc->kmod_name)
        __ksc_kmod_insert(desc);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = desc->pin_root);
    int err = __ksc_skel_open(desc, &opts);
    if (err) {
        fprintf(stderr, "error: cannot open the eBPF object of `%s`: %s\n", desc->name, strerror(-err));
        exit(1);
    }
    __ksc_vars(desc);
    if (desc->pin_dir) {
        if (__ksc_need_fs("/sys/fs/bpf", "bpf", BPF_FS_MAGIC, "pinned maps and globals live in it"))
            exit(1);
        __ksc_mkdirs(desc->pin_dir);
    }
    if (desc->globals_pin) {
        __ksc_mkdirs(desc->globals_dir);
        bpf_map__set_pin_path(bpf_object__find_map_by_name(__ksc_obj, ".data.pinned_globals"), desc->globals_pin);
    }
    atexit(__ksc_cleanup);
}

// `load(prog)`: loading any program loads the object (and creates maps).
int __ksc_load(int prog)
{
    if (!__ksc_loaded) {
        for (int i = 0; i < __ksc_d->nsleepable; i++) {
            struct bpf_program *p = bpf_object__find_program_by_name(__ksc_obj, __ksc_d->sleepable[i]);
            if (p)
                bpf_program__set_flags(p, bpf_program__flags(p) | BPF_F_SLEEPABLE);
        }
        int err = bpf_object__load_skeleton(__ksc_skel);
        if (err) {
            fprintf(stderr, "error: the kernel rejected the eBPF programs of `%s` (%s); the end of the verifier's log:\n", __ksc_d->name, strerror(-err));
            __ksc_print_log_tail(25);
            struct btf *obtf = bpf_object__btf(__ksc_obj);
            if (obtf && btf__find_by_name_kind(obtf, "sched_ext_ops", BTF_KIND_STRUCT) > 0 && access("/sys/kernel/sched_ext", F_OK) != 0)
                fprintf(stderr, "note: this kernel has no sched_ext (no /sys/kernel/sched_ext: it is built without CONFIG_SCHED_CLASS_EXT); a sched_ext_ops scheduler needs a kernel that has it (6.12 or later)\n");
            if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
                fprintf(stderr, "note: this kernel has no BTF (/sys/kernel/btf/vmlinux): programs that read kernel structs need a kernel built with CONFIG_DEBUG_INFO_BTF\n");
            exit(1);
        }
        __ksc_loaded = 1;
    }
    return prog;
}

static struct bpf_program *__ksc_prog(int h)
{
    return bpf_object__find_program_by_name(__ksc_obj, __ksc_d->progs[h].name);
}

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

int __ksc_map_fd(struct bpf_map *map, const char *name)
{
    if (!__ksc_loaded) {
        fprintf(stderr, "error: map `%s` used before load(): maps exist once the programs are loaded\n", name);
        exit(1);
    }
    return bpf_map__fd(map);
}

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

// Read a map entry; per-CPU values are summed when `sum_width` is 1, 2,
// 4 or 8 (an integer value), else CPU 0's value is read.
int __ksc_lookup(int fd, const void *key, void *value, size_t size, int percpu, int sum_width)
{
    if (!percpu)
        return bpf_map_lookup_elem(fd, key, value);
    int n = libbpf_num_possible_cpus();
    size_t stride = (size + 7) & ~(size_t)7;
    unsigned char *all = calloc(n, stride);
    if (!all)
        return -ENOMEM;
    int err = bpf_map_lookup_elem(fd, key, all);
    if (!err) {
        memcpy(value, all, size);
        if (sum_width) {
            unsigned long long total = 0;
            for (int c = 0; c < n; c++) {
                unsigned long long v = 0;
                memcpy(&v, all + (size_t)c * stride, (size_t)sum_width);
                total += v;
            }
            memcpy(value, &total, (size_t)sum_width);
        }
    }
    free(all);
    return err;
}

// Write a map entry; a per-CPU entry gets the value on CPU 0 and zero on
// the others, so reading it back (summed) gives the value written.
int __ksc_update(int fd, const void *key, const void *value, size_t size, int percpu)
{
    if (!percpu)
        return bpf_map_update_elem(fd, key, value, BPF_ANY);
    int n = libbpf_num_possible_cpus();
    size_t stride = (size + 7) & ~(size_t)7;
    unsigned char *all = calloc(n, stride);
    if (!all)
        return -ENOMEM;
    memcpy(all, value, size);
    int err = bpf_map_update_elem(fd, key, all, BPF_ANY);
    free(all);
    return err;
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
