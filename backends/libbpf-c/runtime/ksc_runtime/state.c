/* The loader runtime of ksc's userspace programs: see ksc_runtime.h.
 * Compiled on its own (cc -Wall -Wextra) into libksc_rt.a.
 *
 * This part, the first of runtime/ksc_runtime/ (joined in order into
 * the generated project's ksc_runtime.c by RUNTIME_C in
 * backends/libbpf-c/src/lib.rs): the includes, the running program's
 * state every part shares, libbpf's log, signals, file-system mounts. */
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
