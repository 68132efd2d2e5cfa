/* ksc-conf-load OBJ PINDIR [MAPDIR]: loads an eBPF object as
 * `bpftool prog loadall OBJ PINDIR pinmaps MAPDIR` does (libbpf; each
 * program pinned at PINDIR/<name>, each map not already pinned by name at
 * MAPDIR/<name>) and prints, a line per program, its name and the
 * verifier's processed-instruction count from the load log's statistics
 * (log level 4, BPF_LOG_STATS: "processed N insns"), which
 * bpf_prog_info's verified_insns gives only from Linux 5.16 on:
 *   PROG <name> <processed>
 * On a refusal the verifier's log goes to stderr and the status is 1.
 * Built by ksc-conformance with the host's libbpf; run on the host and in
 * the qemu guests. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_SIZE (1 << 20)

static int print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings carry the verifier log of a refused program. */
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJ PINDIR [MAPDIR]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, obj) n++;
	char **logs = calloc(n ? n : 1, sizeof(*logs));
	int i = 0;
	bpf_object__for_each_program(prog, obj)
	{
		/* Statistics only: a level-1 log of a large program would not
		 * fit, and on kernels before 6.4 a full buffer fails the load. */
		logs[i] = calloc(1, LOG_SIZE);
		bpf_program__set_log_buf(prog, logs[i], LOG_SIZE);
		bpf_program__set_log_level(prog, 4);
		i++;
	}
	int err = bpf_object__load(obj);
	if (err) {
		for (i = 0; i < n; i++)
			if (logs[i][0])
				fputs(logs[i], stderr);
		fprintf(stderr, "loading %s failed: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = bpf_object__pin_programs(obj, argv[2]);
	if (err) {
		fprintf(stderr, "pinning the programs at %s failed: %s\n", argv[2], strerror(-err));
		return 1;
	}
	if (argc > 3) {
		struct bpf_map *map;
		bpf_object__for_each_map(map, obj)
		{
			/* Maps pinned by name stay where the object put them;
			 * internal maps (.bss, .rodata, ...) are pinned as bpftool
			 * pins them. */
			if (bpf_map__is_pinned(map))
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[3], bpf_map__name(map));
			/* bpffs refuses dots in names: `.data` as libbpf pins it. */
			for (char *c = path + strlen(argv[3]) + 1; *c; c++)
				if (*c == '.')
					*c = '_';
			err = bpf_map__pin(map, path);
			if (err) {
				fprintf(stderr, "pinning map %s failed: %s\n", path, strerror(-err));
				return 1;
			}
		}
	}
	i = 0;
	bpf_object__for_each_program(prog, obj)
	{
		const char *p = strstr(logs[i], "processed ");
		long processed = p ? strtol(p + strlen("processed "), NULL, 10) : -1;
		if (bpf_program__fd(prog) >= 0)
			printf("PROG %s %ld\n", bpf_program__name(prog), processed);
		i++;
	}
	return 0;
}
