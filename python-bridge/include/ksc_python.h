/* The KernelScript Python bridge, for C loaders (python-bridge/, linked as
 * libksc_python_bridge.a with the link flags of the Python it was built
 * for). Generated loaders call it for `import m from "x.py"`.
 *
 * The module `m` is imported on first use, from the directories of
 * $KSC_PYTHON_PATH (colon-separated) if set, else from the executable's
 * directory (where `ksc build` copies the .py file). The interpreter is
 * initialised once, on the first call. Not thread-safe beyond what the
 * interpreter's lock gives. */
#ifndef KSC_PYTHON_H
#define KSC_PYTHON_H

#include <stddef.h>

/* Kinds of arguments and results. */
enum {
    KSC_PY_VOID = 0, /* result only: discarded */
    KSC_PY_BOOL = 1, /* `bool` <-> Python bool (a result must be a bool) */
    KSC_PY_INT = 2,  /* signed integer <-> Python int */
    KSC_PY_UINT = 3, /* unsigned integer <-> Python int */
    KSC_PY_STR = 4,  /* NUL-terminated UTF-8 <-> Python str */
};

/* One argument: `kind` says which field holds it. */
struct ksc_py_arg {
    int kind;
    long long i;          /* KSC_PY_INT, KSC_PY_BOOL (0 or 1) */
    unsigned long long u; /* KSC_PY_UINT */
    const char *s;        /* KSC_PY_STR */
};

/* Call module.function(args...). The result converts to `ret_kind` into
 * `ret` (`ret_size` bytes): an integer of that many bytes (range-checked),
 * a bool (1 byte), or a string of at most ret_size - 1 bytes plus NUL.
 * Returns 0; or -1 when the module could not be imported, Python raised,
 * or the result did not convert: the error is kept for ksc_py_report. */
int ksc_py_call(const char *module, const char *function,
                const struct ksc_py_arg *args, int nargs,
                int ret_kind, void *ret, size_t ret_size);

/* Print the last failed call's error on stderr (what was called, Python's
 * exception type, message and traceback) and forget it. Returns 0 when
 * there was none. */
int ksc_py_report(void);

#endif
