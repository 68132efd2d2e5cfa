/* Part of ksc_runtime.c: opening the object as a skeleton, its globals, and
 * loading it. The parts (the files of runtime/ksc_runtime/) are joined in
 * order into the generated project's ksc_runtime.c (RUNTIME_C in
 * backends/libbpf-c/src/lib.rs), so they share state.c's statics. */

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
