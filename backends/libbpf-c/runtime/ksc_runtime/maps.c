/* Part of ksc_runtime.c: map entries from userspace: the map's fd, reading
 * (per-CPU summed) and writing. The parts (the files of
 * runtime/ksc_runtime/) are joined in order into the generated project's
 * ksc_runtime.c (RUNTIME_C in backends/libbpf-c/src/lib.rs), so they share
 * state.c's statics. */

int __ksc_map_fd(struct bpf_map *map, const char *name)
{
    if (!__ksc_loaded) {
        fprintf(stderr, "error: map `%s` used before load(): maps exist once the programs are loaded\n", name);
        exit(1);
    }
    return bpf_map__fd(map);
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
