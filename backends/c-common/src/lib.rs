//! # C from the IR
//!
//! One emitter for both sides of a KernelScript program: the kernel side
//! (eBPF C for `clang -target bpf`, [`generate_c`]) and, with the userspace
//! flavour, the loader program over the runtime library. Types, statements,
//! expressions, `try`/`catch`/`defer` lowering and `print` formatting are
//! shared; maps, globals and built-in functions differ by side.

mod emit;
mod pymaps;

pub use emit::{generate_c, generate_kmod_c, generate_user_c, EmitError};
pub use pymaps::python_maps_module;

/// The output directory's Makefile. The kernel side: clang 14 or newer, the
/// UAPI and libbpf headers, no vmlinux.h (kernel structs come from BTF
/// inside the .c file). With `runtime` (the hash of the loader runtime's
/// source, `ksc_runtime.c`/`.h` written beside, and of the headers every
/// program includes first, `ksc_user.h`), also the program's
/// object and the executable `<name>` linked with the runtime library,
/// libbpf and the eBPF object (`<name>.embed.s` puts its bytes in the
/// executable); `make` builds both. The userspace C does not include the
/// object (ksc writes the skeleton itself), so clang and cc run side by
/// side (`make -j3` unless told otherwise) and only the link waits for
/// both. The runtime library is built once into a cache shared by every
/// program (`$KSC_CACHE_DIR`, else `~/.cache/ksc`), in a directory named
/// by the hash and by a checksum of the compiler's version, command and
/// flags, and so are the precompiled headers, so a program's build
/// compiles only its own code.
pub fn makefile(name: &str, runtime: Option<Runtime>) -> String {
    makefile_with_python(name, runtime, None)
}

/// The versions of the loader's cached parts, which name their cache
/// directories.
#[derive(Clone, Copy)]
pub struct Runtime<'a> {
    /// The hash of the runtime's source (`ksc_runtime.c`/`.h`).
    pub hash: &'a str,
    /// The hash of the headers every program includes first
    /// (`ksc_user.h`, precompiled).
    pub headers_hash: &'a str,
}

/// How the executable links the Python bridge (`import m from "x.py"`).
pub struct PythonLink<'a> {
    /// The bridge's static library (`libksc_python_bridge.a`).
    pub lib: &'a str,
    /// Its link flags (libpython and the system libraries).
    pub ldflags: &'a str,
}

/// [`makefile`], linking the executable with the Python bridge when given
/// (its header, `ksc_python.h`, is written beside by ksc).
pub fn makefile_with_python(
    name: &str,
    runtime: Option<Runtime>,
    python: Option<PythonLink>,
) -> String {
    let (py_vars, py_lib, py_flags, py_h) = match &python {
        Some(p) => (
            format!(
                "\n# The Python bridge (python-bridge/), built with ksc, and what it needs.\nKSC_PY_LIB := {}\nKSC_PY_LDFLAGS := {}\n",
                p.lib, p.ldflags
            ),
            " $(KSC_PY_LIB)",
            " $(KSC_PY_LDFLAGS)",
            " ksc_python.h",
        ),
        None => (String::new(), "", "", ""),
    };
    let (jobs, all, user_rules, clean) = if let Some(Runtime { hash, headers_hash }) = runtime {
        (
            "# clang (the eBPF object) and cc (the program's C) run side by side;\n# `make -j1` builds one step at a time.\nMAKEFLAGS += -j3\n",
            name.to_string(),
            format!(
                r#"
# The loader runtime, built once into the cache: its directory names the
# hash of its source and a checksum of the compiler (its version), the
# flags and the header directories (a package upgrade renames files in
# them, which changes their times), so the library there is never out of
# date.
KSC_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ksc
KSC_INCLUDE_DIRS := $(addprefix /usr/include/,. bpf linux asm-generic $(addprefix $(MULTIARCH)/,. bits sys asm))
KSC_CC_KEY := $(firstword $(shell {{ $(CC) --version; echo '$(subst ','\'',$(CC) $(CFLAGS))'; stat -L -c '%n %Y' $(KSC_INCLUDE_DIRS); }} 2>/dev/null | cksum))
KSC_RT_DIR := $(KSC_CACHE_DIR)/runtime-{hash}-$(KSC_CC_KEY)
KSC_RT_LIB := $(KSC_RT_DIR)/libksc_rt.a
# The headers every program includes first (ksc_user.h), precompiled once
# into the cache beside a copy of them; cc uses the PCH when it fits (else
# it reads the copy). Both are rebuilt when a header they include changes
# (the .d files list them).
KSC_PCH_DIR := $(KSC_CACHE_DIR)/headers-{headers_hash}-$(KSC_CC_KEY)
KSC_PCH := $(KSC_PCH_DIR)/ksc_user.h.gch
-include $(KSC_RT_DIR)/libksc_rt.d $(KSC_PCH_DIR)/ksc_user.d
{py_vars}
{name}.o: {name}.c ksc_user.h ksc_runtime.h $(KSC_PCH){py_h}
	$(CC) $(CFLAGS) -include $(KSC_PCH_DIR)/ksc_user.h -c {name}.c -o $@

# gold, when installed, links in about two thirds of ld.bfd's time.
LDFLAGS ?= $(if $(wildcard $(addsuffix /ld.gold,$(subst :, ,$(PATH)))),-fuse-ld=gold)

# The eBPF object goes into the executable here ({name}.embed.s), so
# only the link waits for clang.
{name}: {name}.o {name}.embed.s $(EBPF_OBJ) $(KSC_RT_LIB){py_lib}
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ {name}.o {name}.embed.s $(KSC_RT_LIB){py_lib} $(LDLIBS){py_flags}

# Built under temporary names and renamed: builds running side by side
# share the cache. The runtime compiles from its copy in the cache, which
# its debug info names (not this directory).
$(KSC_RT_LIB):
	mkdir -p $(KSC_RT_DIR)
	cp ksc_runtime.h $(KSC_RT_DIR)/ksc_runtime.h.$$$$ && mv -f $(KSC_RT_DIR)/ksc_runtime.h.$$$$ $(KSC_RT_DIR)/ksc_runtime.h && \
	cp ksc_runtime.c $(KSC_RT_DIR)/ksc_runtime.c.$$$$ && mv -f $(KSC_RT_DIR)/ksc_runtime.c.$$$$ $(KSC_RT_DIR)/ksc_runtime.c && \
	$(CC) $(CFLAGS) -MD -MP -MT $@ -MF $(KSC_RT_DIR)/libksc_rt.$$$$.d -c $(KSC_RT_DIR)/ksc_runtime.c -o $(KSC_RT_DIR)/ksc_runtime.$$$$.o && \
	$(AR) rcs $(KSC_RT_DIR)/libksc_rt.$$$$.a $(KSC_RT_DIR)/ksc_runtime.$$$$.o && \
	rm -f $(KSC_RT_DIR)/ksc_runtime.$$$$.o && \
	mv -f $(KSC_RT_DIR)/libksc_rt.$$$$.a $@ && \
	mv -f $(KSC_RT_DIR)/libksc_rt.$$$$.d $(KSC_RT_DIR)/libksc_rt.d

$(KSC_PCH):
	mkdir -p $(KSC_PCH_DIR)
	cp ksc_runtime.h $(KSC_PCH_DIR)/ksc_runtime.h.$$$$ && mv -f $(KSC_PCH_DIR)/ksc_runtime.h.$$$$ $(KSC_PCH_DIR)/ksc_runtime.h && \
	cp ksc_user.h $(KSC_PCH_DIR)/ksc_user.h.$$$$ && mv -f $(KSC_PCH_DIR)/ksc_user.h.$$$$ $(KSC_PCH_DIR)/ksc_user.h && \
	$(CC) $(CFLAGS) -MD -MP -MT $@ -MF $(KSC_PCH_DIR)/ksc_user.$$$$.d -x c-header $(KSC_PCH_DIR)/ksc_user.h -o $(KSC_PCH_DIR)/ksc_user.$$$$.gch && \
	mv -f $(KSC_PCH_DIR)/ksc_user.$$$$.gch $@ && \
	mv -f $(KSC_PCH_DIR)/ksc_user.$$$$.d $(KSC_PCH_DIR)/ksc_user.d
"#
            ),
            format!(" {name}.o {name}"),
        )
    } else {
        ("", "$(EBPF_OBJ)".to_string(), String::new(), String::new())
    };
    format!(
        r#"# Generated by ksc — do not edit.
CLANG ?= clang
# The machine (from make's own host triplet: no process to start).
KSC_MACHINE := $(firstword $(subst -, ,$(MAKE_HOST)))
ARCH := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(KSC_MACHINE)))
MULTIARCH := $(KSC_MACHINE)-linux-gnu
# The build directory is kept out of the object's debug info: the same
# program gives the same object wherever it is built.
BPF_CFLAGS ?= -g -O2 -Wall -Wextra
CFLAGS ?= -g -O2 -Wall -Wextra
LDLIBS ?= -lbpf -lelf -lz
EBPF_OBJ := {name}.ebpf.o
{jobs}
.PHONY: all clean
all: {all}

$(EBPF_OBJ): {name}.ebpf.c
	$(CLANG) $(BPF_CFLAGS) -fdebug-prefix-map=$(CURDIR)=. -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(MULTIARCH) -c $< -o $@
{user_rules}
clean:
	rm -f $(EBPF_OBJ){clean}
"#
    )
}

/// `<name>.embed.s`: the eBPF object's bytes as the symbols `__ksc_elf`
/// .. `__ksc_elf_end` (what the loader runtime opens), assembled into the
/// executable at link time, so that the program's C compiles without
/// waiting for the object.
pub fn embed_asm(name: &str) -> String {
    let file = format!("{name}.ebpf.o")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "# Generated by ksc — do not edit.\n# The eBPF object, linked into the executable (see ksc_runtime.h).\n\t.section .rodata\n\t.balign 8\n\t.globl __ksc_elf\n\t.hidden __ksc_elf\n\t.type __ksc_elf, @object\n__ksc_elf:\n\t.incbin \"{file}\"\n\t.globl __ksc_elf_end\n\t.hidden __ksc_elf_end\n__ksc_elf_end:\n\t.size __ksc_elf, __ksc_elf_end - __ksc_elf\n\t.section .note.GNU-stack,\"\",@progbits\n"
    )
}

/// Whether the program has a kernel module (`@kfunc` or `@private`
/// functions).
pub fn has_kmod(m: &ksc_ir::Module) -> bool {
    m.functions
        .iter()
        .any(|f| matches!(f.kind, ksc_ir::FnKind::Kfunc | ksc_ir::FnKind::Private))
}

/// The kernel module's name: the program's name (letters, digits and `_`)
/// and a hash of the module's source, so that a module already loaded
/// under that name is this very build (the loader reuses it).
pub fn kmod_name(m: &ksc_ir::Module, source: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in source.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let stem: String = m
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("ksc_{stem}_{:08x}", h as u32)
}
