// Test and benchmark helper for generated eBPF objects, over libbpf:
//   ksc-testload stats OBJ             per program: name, xlated and verified instructions
//   ksc-testload trace OBJ MAP CMD...  attach every program, run CMD, dump MAP
//   ksc-testload ring OBJ PROG RINGBUF PKT  test-run PROG on the packet in file PKT, print
//                                      its return value and the ring buffer's events
// (bpftool 7.1 can neither attach tracepoints nor report verified_insns.)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static struct bpf_object *open_and_load(const char *path)
{
    struct bpf_object *obj = bpf_object__open_file(path, NULL);
    if (!obj) {
        fprintf(stderr, "open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (bpf_object__load(obj)) {
        fprintf(stderr, "load %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return obj;
}

static int print_event(void *ctx, void *data, size_t size)
{
    (void)ctx;
    printf("event ");
    for (size_t i = 0; i < size; i++)
        printf("%02x", ((unsigned char *)data)[i]);
    printf("\n");
    return 0;
}

static void hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "stats")) {
        struct bpf_object *obj = open_and_load(argv[2]);
        struct bpf_program *prog;
        bpf_object__for_each_program(prog, obj) {
            struct bpf_prog_info info;
            __u32 len = sizeof(info);
            memset(&info, 0, sizeof(info));
            if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
                return 1;
            printf("%s %u %u\n", bpf_program__name(prog), info.xlated_prog_len / 8, info.verified_insns);
        }
        bpf_object__close(obj);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "trace")) {
        struct bpf_object *obj = open_and_load(argv[2]);
        struct bpf_program *prog;
        bpf_object__for_each_program(prog, obj) {
            if (!bpf_program__attach(prog)) {
                fprintf(stderr, "attach %s: %s\n", bpf_program__name(prog), strerror(errno));
                return 1;
            }
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execvp(argv[4], argv + 4);
            _exit(127);
        }
        printf("pid %d\n", (int)pid);
        int status;
        waitpid(pid, &status, 0);
        struct bpf_map *map = bpf_object__find_map_by_name(obj, argv[3]);
        if (!map)
            return 1;
        int fd = bpf_map__fd(map);
        unsigned char key[256], next[256], val[4096];
        size_t ks = bpf_map__key_size(map), vs = bpf_map__value_size(map);
        void *prev = NULL;
        while (!bpf_map_get_next_key(fd, prev, next)) {
            if (!bpf_map_lookup_elem(fd, next, val)) {
                hex(next, ks);
                printf(" ");
                hex(val, vs);
                printf("\n");
            }
            memcpy(key, next, ks);
            prev = key;
        }
        return WIFEXITED(status) ? 0 : 1;
    }
    if (argc == 6 && !strcmp(argv[1], "ring")) {
        struct bpf_object *obj = open_and_load(argv[2]);
        struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[3]);
        struct bpf_map *map = bpf_object__find_map_by_name(obj, argv[4]);
        FILE *f = fopen(argv[5], "rb");
        if (!prog || !map || !f)
            return 1;
        unsigned char pkt[1 << 16];
        size_t n = fread(pkt, 1, sizeof(pkt), f);
        fclose(f);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = n, .repeat = 1);
        if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
            return 1;
        printf("ret %u\n", opts.retval);
        struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), print_event, NULL, NULL);
        if (!rb)
            return 1;
        ring_buffer__consume(rb);
        ring_buffer__free(rb);
        return 0;
    }
    fprintf(stderr, "usage: ksc-testload stats OBJ | trace OBJ MAP CMD... | ring OBJ PROG RINGBUF PKT\n");
    return 2;
}
