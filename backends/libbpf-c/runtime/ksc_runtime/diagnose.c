/* Part of ksc_runtime.c: why a tracepoint or probe did not attach, with the
 * closest names. The parts (the files of runtime/ksc_runtime/) are joined in
 * order into the generated project's ksc_runtime.c (RUNTIME_C in
 * backends/libbpf-c/src/lib.rs), so they share state.c's statics. */

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
