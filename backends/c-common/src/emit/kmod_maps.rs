//! Maps in kernel-module code (docs/language.md, "Maps in kernel-module
//! code"). A map only `@kfunc`/`@private` functions use is the module's
//! own storage: `array` a static array, `hash`/`lru_hash` a fixed table of
//! `max_entries` slots under a spinlock (`kmod_table.c`), their per-CPU
//! kinds the same with values allocated per CPU when the module loads.
//! A map eBPF or userspace code uses too is the midend's error; here it
//! only gets a fallback error.

use std::fmt::Write as _;

use ksc_ir::*;

use super::*;

/// The table runtime, written once before the maps that use it.
const TABLE_C: &str = include_str!("kmod_table.c");

/// What the module's init and exit functions do for its maps.
#[derive(Default)]
pub(super) struct MapSetup {
    /// Statements of `__ksc_init` before the kfuncs are registered (their
    /// failure frees what was allocated and returns the error).
    pub init: String,
    /// Statements freeing what `init` allocated.
    pub free: String,
}

fn is_array(k: MapKind) -> bool {
    matches!(k, MapKind::Array | MapKind::PercpuArray)
}

fn is_percpu(k: MapKind) -> bool {
    matches!(k, MapKind::PercpuArray | MapKind::PercpuHash)
}

impl<'m> Gen<'m> {
    /// The storage of every module-only map, with the runtime it needs;
    /// returns what the module's init and exit add.
    pub(super) fn kmod_maps(&mut self) -> MapSetup {
        let m = self.m;
        let uses = m.map_uses();
        let mut setup = MapSetup::default();
        let mut any = false;
        for (i, (map, u)) in m.maps.iter().zip(&uses).enumerate() {
            if !u.module_only() {
                continue;
            }
            if !any {
                self.out.push_str(TABLE_C);
                self.out.push('\n');
                any = true;
            }
            let name = self.kmod_map_name(MapId(i as u32));
            let n = map.max_entries.max(1);
            let what = format!(
                "// `{}` ({:?}, {} entries): only the module uses it.\n",
                map.name, map.kind, map.max_entries
            );
            self.out.push_str(&what);
            let value_decl = |g: &mut Gen, name: &str| g.decl(map.value, name);
            if is_array(map.kind) {
                if is_percpu(map.kind) {
                    let _ = writeln!(self.out, "static u8 __percpu *{name};\n");
                    let t = value_decl(self, "");
                    let _ = write!(
                        setup.init,
                        "    {name} = __alloc_percpu(sizeof({t}) * {n}, __alignof__({t}));\n    if (!{name}) {{\n        err = -ENOMEM;\n        goto fail;\n    }}\n"
                    );
                    let _ = writeln!(setup.free, "    free_percpu({name});");
                } else {
                    let d = value_decl(self, &format!("{name}[{n}]"));
                    let _ = writeln!(self.out, "static {d};\n");
                }
                continue;
            }
            let buckets = n.checked_next_power_of_two().unwrap_or(1 << 31);
            let kd = self.decl(map.key, &format!("{name}_keys[{n}]"));
            let _ = writeln!(self.out, "static {kd};");
            let values = if is_percpu(map.kind) {
                let t = value_decl(self, "");
                let _ = write!(
                    setup.init,
                    "    {name}.pcpu = __alloc_percpu(sizeof({t}) * {n}, __alignof__({t}));\n    if (!{name}.pcpu) {{\n        err = -ENOMEM;\n        goto fail;\n    }}\n"
                );
                let _ = writeln!(setup.free, "    free_percpu({name}.pcpu);");
                "NULL".to_string()
            } else {
                let vd = value_decl(self, &format!("{name}_values[{n}]"));
                let _ = writeln!(self.out, "static {vd};");
                format!("(u8 *){name}_values")
            };
            let lru = map.kind == MapKind::LruHash;
            let vsize = format!("sizeof({})", value_decl(self, ""));
            let _ = write!(
                self.out,
                "static struct __ksc_link {name}_links[{n}];\nstatic u32 {name}_buckets[{buckets}];\nstatic struct __ksc_table {name} = {{\n    .lock = __RAW_SPIN_LOCK_UNLOCKED({name}.lock),\n    .key_size = sizeof({name}_keys[0]),\n    .value_size = {vsize},\n    .cap = {n},\n    .mask = {buckets} - 1,\n    .lru = {lru},\n    .keys = (u8 *){name}_keys,\n    .values = {values},\n    .link = {name}_links,\n    .buckets = {name}_buckets,\n}};\n\n",
            );
            let _ = writeln!(setup.init, "    {name}.seed = get_random_u32();");
        }
        setup
    }

    /// The C name of a module-only map's storage.
    pub(super) fn kmod_map_name(&self, map: MapId) -> String {
        format!("__ksc_map_{}", self.m.maps[map.index()].name)
    }

    /// Whether `map` is the module's own storage; if not, the located
    /// error (the midend reports it first; this is the backend's guard).
    fn kmod_map(&mut self, map: MapId) -> Option<&'m Map> {
        let mp = &self.m.maps[map.index()];
        if self.m.map_uses()[map.index()].module_only() && mp.kind != MapKind::Ringbuf {
            return Some(mp);
        }
        let span = self
            .span
            .get()
            .unwrap_or(self.m.functions[self.current.get().index()].span);
        self.err(
            span,
            format!("map `{}` is used by eBPF or userspace code too: kernel-module code (@kfunc/@private) cannot reach the eBPF program's maps; pass the value to the @kfunc as an argument", mp.name),
        );
        None
    }

    /// The entry `key` of an array map: a pointer, NULL past the end.
    fn kmod_array_at(&mut self, mp: &Map, name: &str, key: &str) -> String {
        let t = self.decl(mp.value, "");
        let base = if is_percpu(mp.kind) {
            format!("this_cpu_ptr({name})")
        } else {
            name.to_string()
        };
        format!(
            "__ksc_array_at({base}, sizeof({t}), {}, {key})",
            mp.max_entries.max(1)
        )
    }

    /// A pointer to the value type's declarator (`V *`, or `V (*)[N]`).
    fn kmod_value_ptr(&mut self, vt: TypeId, name: &str) -> String {
        if matches!(self.kind(vt), TypeKind::Array(..)) {
            self.decl(vt, &format!("(*{name})"))
        } else {
            self.decl(vt, &format!("*{name}"))
        }
    }

    pub(super) fn kmod_map_update(
        &mut self,
        map: MapId,
        key: &str,
        value: &str,
        pad: &str,
    ) -> String {
        let Some(mp) = self.kmod_map(map) else {
            return String::new();
        };
        let name = self.kmod_map_name(map);
        if is_array(mp.kind) {
            let at = self.kmod_array_at(mp, &name, key);
            let t = self.decl(mp.value, "");
            let n = self.fresh();
            return format!(
                "{pad}{{\n{pad}    void *__ksc_p{n} = {at};\n{pad}    if (__ksc_p{n})\n{pad}        memcpy(__ksc_p{n}, {value}, sizeof({t}));\n{pad}}}\n"
            );
        }
        format!("{pad}__ksc_table_update(&{name}, {key}, {value});\n")
    }

    pub(super) fn kmod_map_delete(&mut self, map: MapId, key: &str, pad: &str) -> String {
        let Some(mp) = self.kmod_map(map) else {
            return String::new();
        };
        if is_array(mp.kind) {
            // Array entries always exist (eBPF answers EINVAL).
            return format!("{pad}(void)({key});\n");
        }
        let name = self.kmod_map_name(map);
        format!("{pad}__ksc_table_delete(&{name}, {key});\n")
    }

    pub(super) fn kmod_map_lookup(
        &mut self,
        map: MapId,
        key: &str,
        n: u32,
        pointer: bool,
    ) -> String {
        let Some(mp) = self.kmod_map(map) else {
            return "0;".into();
        };
        let name = self.kmod_map_name(map);
        let call = if is_array(mp.kind) {
            self.kmod_array_at(mp, &name, key)
        } else {
            format!("__ksc_table_lookup(&{name}, {key})")
        };
        if pointer {
            let pt = self.kmod_value_ptr(mp.value, "");
            return format!("(({pt}){call})");
        }
        let pd = self.kmod_value_ptr(mp.value, &format!("__ksc_p{n}"));
        let z = self.zero(mp.value);
        format!("{pd} = {call}; __ksc_p{n} ? *__ksc_p{n} : {z};")
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn kmod_map_compound(
        &mut self,
        map: MapId,
        key: &str,
        n: u32,
        place: &MapPlace,
        value: &str,
        pad: &str,
    ) -> String {
        let Some(mp) = self.kmod_map(map) else {
            return String::new();
        };
        let name = self.kmod_map_name(map);
        let percpu = is_percpu(mp.kind);
        let field = &place.field;
        let pd = self.kmod_value_ptr(mp.value, &format!("__ksc_p{n}"));
        // The operand first: it may use this map itself (its lock is not
        // taken twice).
        let cd = self.decl(place.ty, &format!("__ksc_c{n}"));
        // Atomic on shared entries, as in eBPF: code elsewhere may update
        // the same value through a pointer, outside the table's lock.
        let in_place = self.update(
            &format!("(*__ksc_p{n}){field}"),
            place.op,
            &format!("__ksc_c{n}"),
            place.ty,
            !percpu,
        );
        if is_array(mp.kind) {
            let at = self.kmod_array_at(mp, &name, key);
            return format!(
                "{pad}{cd} = {value};\n{pad}{pd} = {at};\n{pad}if (__ksc_p{n})\n{pad}    {in_place};\n"
            );
        }
        // Found or inserted from zero, and updated, under the lock.
        format!(
            "{pad}{cd} = {value};\n{pad}unsigned long __ksc_f{n};\n{pad}if (__ksc_table_lock(&{name}, &__ksc_f{n})) {{\n{pad}    u32 __ksc_i{n} = __ksc_table_insert(&{name}, {key});\n{pad}    if (__ksc_i{n}) {{\n{pad}        {pd} = __ksc_table_value(&{name}, __ksc_i{n});\n{pad}        {in_place};\n{pad}    }}\n{pad}    __ksc_table_unlock(&{name}, __ksc_f{n});\n{pad}}}\n"
        )
    }
}
