/* The loader runtime of ksc's userspace programs: open, load, attach and
 * detach the eBPF programs of the object linked into the executable,
 * clean up on exit and on SIGINT/SIGTERM, read and write maps and
 * globals, read ring buffers, run `@test`s.
 *
 * Built once into a static library (libksc_rt.a, cached by the hash of
 * this source, the compiler and the flags) that every generated program
 * links. A program describes
 * itself with a `struct ksc_rt_desc` (its object's bytes, the maps and
 * globals it uses, its programs, struct_ops tables and pin paths) passed
 * to __ksc_open(), which opens the object as a libbpf skeleton.
 * The generated code uses the functions below; nothing here depends on a
 * particular program. */
#ifndef KSC_RUNTIME_H
#define KSC_RUNTIME_H

#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

/* How a program attaches. */
enum { KSC_XDP, KSC_TC_INGRESS, KSC_TC_EGRESS, KSC_LINK, KSC_PERF };

/* One eBPF program of the object: the name libbpf knows it under, how it
 * attaches, its ELF section (what it attaches to). */
struct ksc_rt_prog {
    const char *name;
    int kind;
    const char *sec;
};

/* A map the program uses by name: the runtime fills `*map` when it opens
 * the object. */
struct ksc_rt_map {
    const char *name;
    struct bpf_map **map;
};

/* A global variable userspace reads and writes: the ELF section (the map)
 * it lives in (".data", ".data.config_<name>", ...), its name and size,
 * and where its address goes. The runtime finds it in the object's BTF
 * when it opens the object, and checks its size; the address stays valid
 * after load (the map's memory is mapped at the same place). */
struct ksc_rt_var {
    const char *sec;
    const char *name;
    size_t size;
    void **addr;
};

/* What the runtime needs to know of a program. */
struct ksc_rt_desc {
    /* The program's name, for messages. */
    const char *name;
    /* The object's name (libbpf names its global-data maps after it). */
    const char *obj_name;
    /* The eBPF object's bytes, linked into the executable. */
    const char *elf;
    const char *elf_end;
    /* The maps and globals the program uses. */
    const struct ksc_rt_map *maps;
    int nmaps;
    const struct ksc_rt_var *vars;
    int nvars;
    /* The programs `load`/`attach` take the index of, in order. */
    const struct ksc_rt_prog *progs;
    int nprogs;
    /* The struct_ops tables `register` takes the index of (map names). */
    const char *const *ops;
    int nops;
    /* Programs loaded sleepable (BPF_F_SLEEPABLE), by name: struct_ops
     * members the kernel lets sleep (sched_ext's init and exit). */
    const char *const *sleepable;
    int nsleepable;
    /* Maps pinned by name live in pin_root (NULL: none); pin_dir is made
     * before loading (NULL: none). */
    const char *pin_root;
    const char *pin_dir;
    /* Pinned globals (the map of section ".data.pinned_globals"): their
     * directory and path (NULL: none). */
    const char *globals_dir;
    const char *globals_pin;
    /* The program's kernel module (its @kfunc functions), by name, and its
     * file beside the executable (NULL: none). Inserted before the object
     * is opened unless a module of that name (the same build: the name
     * holds a hash of its source) is loaded; removed at exit if inserted
     * here. $KSC_KMOD names another file. */
    const char *kmod_name;
    const char *kmod_file;
};

/* A ring buffer read from userspace: `rb.read()` hands out one event at a
 * time, copied into `slot` (valid until the next read of that ring). The
 * program defines one per ring, with `size`, `name` and `map` set.
 * `dispatch` hands each event to `handler` (`rb.on_event(f)`), copied into
 * `event`. */
struct __ksc_ring {
    struct ring_buffer *rb;
    void *slot;
    size_t size;
    int got;
    struct __ksc_ring *next;
    const char *name;
    struct bpf_map **map;
    int (*handler)(void *event);
    void *event;
    int warned;
};

/* Open the object (exits on failure) and set up cleanup at exit and on
 * SIGINT/SIGTERM. */
void __ksc_open(const struct ksc_rt_desc *desc);
/* Detach everything, free the rings, close the object. */
void __ksc_cleanup(void);
/* `load(prog)`: loading any program loads the object; returns `prog`. */
int __ksc_load(int prog);
/* `attach(prog, target, flags)`: an interface name (`target`) or index,
 * or nothing for the programs that attach by their section. */
int __ksc_attach(int prog, const char *target, int ifindex, __u32 flags);
void __ksc_detach(int prog);
/* `attach(prog, perf_options { .. }, flags)` for a `@perf_event` program:
 * open the counter (disabled), reset it, attach the program, enable it.
 * Gives a handle of the runtime's perf table; on failure says why (the
 * counter by name) and exits with status 1. `detach(prog)` also detaches
 * the program's counters. */
__u64 __ksc_perf_attach(int prog, __u32 flags, __u32 type, __u64 config, __s32 pid, __s32 cpu,
                        __u64 period, __u32 wakeup, _Bool inherit, _Bool exclude_kernel,
                        _Bool exclude_user);
/* `read(att)`: the counter's value; -1 once detached or when the read fails. */
__s64 __ksc_perf_read(__u64 att);
/* `detach(att)`: disable, unlink, close; nothing for a detached handle. */
void __ksc_perf_detach(__u64 att);
/* `register(impl)`: a struct_ops table. */
int __ksc_register(int ops);
/* `exec("x.py")`: replace the process with `python3 DIR/x.py`, DIR the
 * executable's directory, loading the object first; every fd (maps,
 * programs, links) stays open for the script, the maps named in
 * $KSC_MAPS (`name=fd,...`). Returns only on failure, exiting 1. */
void __ksc_exec(const char *script);
/* `sleep(ms)`, stopping early (exit 130) on SIGINT/SIGTERM. */
void __ksc_sleep(__u32 ms);
/* An uncaught throw in userspace: the process ends. */
void __ksc_uncaught(__s64 err);
/* A map's fd, once loaded (exits before). */
int __ksc_map_fd(struct bpf_map *map, const char *name);
/* Read a map entry; per-CPU values are summed when `sum_width` is 1, 2,
 * 4 or 8 (an integer value), else CPU 0's value is read. */
int __ksc_lookup(int fd, const void *key, void *value, size_t size, int percpu, int sum_width);
/* Write a map entry; a per-CPU entry gets the value on CPU 0 and zero on
 * the others, so reading it back (summed) gives the value written. */
int __ksc_update(int fd, const void *key, const void *value, size_t size, int percpu);
/* `rb.read(ms)`: the next event, or NULL when none arrives within `ms`. */
void *__ksc_ring_read(struct __ksc_ring *r, struct bpf_map *map, const char *name, __u32 ms);
/* `rb.on_event(f)`: `dispatch` calls `handler` with each event of `r`. */
void __ksc_on_event(struct __ksc_ring *r, int (*handler)(void *event));
/* `dispatch(rb, ...)`: wait for events of these rings and call their
 * handlers; the first nonzero value a handler returns, or 0 once SIGINT or
 * SIGTERM arrived (the program goes on, and cleans up when it ends). */
int __ksc_dispatch(struct __ksc_ring *const *rings, int n);
/* `daemon()`: leave the terminal; the foreground process exits 0, the
 * daemon keeps what is attached until SIGTERM/SIGINT, then cleans up and
 * exits 0. Never returns. */
void __ksc_daemon(void) __attribute__((noreturn));
/* `test(prog, ctx)`: one run in the kernel (BPF_PROG_TEST_RUN). */
int __ksc_test(int prog, __u32 size, __u32 ifindex, const void *bytes, size_t nbytes);
/* An integer command-line option, checked against lo..hi. */
int __ksc_int(const char *s, long long lo, unsigned long long hi, long long *out);

#endif
