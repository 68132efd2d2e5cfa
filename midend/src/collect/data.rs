//! Collection of shared state: maps (kind, key and value types, size,
//! flags, extra arguments), globals (type inferred from the initial value
//! when not written, visibility) and `config` blocks (fields and
//! defaults). Initial values and sizes are constants, folded by
//! `consteval`.
//!
//! Takes the declarations; gives `Checker::maps`, `globals`, `configs` and
//! their symbols.

use ksc_frontend::ast::{self, ExprKind as AE};
use ksc_frontend::diag::codes;
use ksc_ir as ir;
use ksc_ir::{IntType, TypeId, TypeKind};

use crate::builtins;
use crate::checker::{suggest, Checker, Sym};
use crate::consteval::value_int;

impl<'a> Checker<'a> {
    pub(crate) fn collect_map(&mut self, item: &ast::Item, m: &ast::MapDecl) {
        let kind = match m.kind.name.as_str() {
            "hash" => ir::MapKind::Hash,
            "array" => ir::MapKind::Array,
            "percpu_hash" => ir::MapKind::PercpuHash,
            "percpu_array" => ir::MapKind::PercpuArray,
            "lru_hash" => ir::MapKind::LruHash,
            "ringbuf" => ir::MapKind::Ringbuf,
            other => {
                let kinds = [
                    "hash",
                    "array",
                    "percpu_hash",
                    "percpu_array",
                    "lru_hash",
                    "ringbuf",
                ];
                let hint = suggest(other, kinds.into_iter());
                let d = self.error(
                    codes::MAP_DECL,
                    m.kind.span,
                    format!("unknown map kind `{other}`"),
                );
                d.help = Some(match hint {
                    Some(h) => format!("did you mean `{h}`? The kinds are {}", kinds.join(", ")),
                    None => format!("the kinds are {}", kinds.join(", ")),
                });
                ir::MapKind::Hash
            }
        };
        let want_args = if kind == ir::MapKind::Ringbuf { 1 } else { 2 };
        if m.type_args.len() != want_args {
            self.error(
                codes::ARITY,
                m.kind.span,
                format!(
                    "`{}` takes {want_args} type argument{}",
                    m.kind.name,
                    if want_args == 1 { "" } else { "s" }
                ),
            )
            .help = Some(if want_args == 1 {
                "write `ringbuf<Event>(4096)`".into()
            } else {
                format!("write `{}<KeyType, ValueType>(max_entries)`", m.kind.name)
            });
        }
        let targs: Vec<TypeId> = m.type_args.iter().map(|t| self.resolve_type(t)).collect();
        let (mut key, mut value) = match (kind, targs.as_slice()) {
            (ir::MapKind::Ringbuf, [v, ..]) => (self.types.u32_, *v),
            (_, [k, v, ..]) => (*k, *v),
            _ => (self.types.u32_, self.types.u64_),
        };
        // An enum keys an array map (docs/language.md, "Headers, kernel
        // structs and enums"): the map's key is the enum's 32-bit integer
        // (the kernel takes only a 32-bit integer key type for arrays), and
        // the enum's values convert to it.
        if let (ir::MapKind::Array | ir::MapKind::PercpuArray, TypeKind::Enum(e)) =
            (kind, self.types.kind(key))
        {
            if e.repr.bits() == 32 {
                key = self.types.int(e.repr);
            }
        }
        if matches!(kind, ir::MapKind::Array | ir::MapKind::PercpuArray)
            && !matches!(
                self.types.kind(key),
                TypeKind::Int(IntType::U32) | TypeKind::Int(IntType::I32)
            )
            && !self.types.is_error(key)
        {
            self.error(
                codes::MAP_DECL,
                m.type_args[0].span,
                "array maps are indexed by `u32`",
            )
            .label = format!("found `{}`", self.types.display(key));
        }
        // An object from `new` kept in a map would be a `__kptr` field moved
        // in and out with `bpf_kptr_xchg`; ksc does not generate that, so it
        // is refused here rather than by the verifier (docs/language.md,
        // "`new` and `delete`").
        if let Some(obj) = self.types.pointee(value) {
            if self
                .types
                .struct_def(obj)
                .is_some_and(|s| !s.origin.is_kernel())
            {
                let vspan = m
                    .type_args
                    .get(1)
                    .or(m.type_args.first())
                    .map_or(m.name.span, |t| t.span);
                let t = self.types.display(obj);
                let mk = m.kind.name.clone();
                let help = format!(
                    "keep the struct itself in the map, `{mk}<{}, {t}>`: write it with `{}[key] = {t} {{ ... }}` and update it in place through `var s = {}[key]` then `if (s != null) {{ s->field = ... }}`",
                    self.types.display(key),
                    m.name.name,
                    m.name.name
                );
                let d = self.error(
                    codes::MAP_VALUE,
                    vspan,
                    format!("a map cannot hold a pointer to `{t}`"),
                );
                d.label = "maps hold values, not objects from `new`".into();
                d.help = Some(help);
                // Go on as if the struct were written, so uses of the map
                // are checked without a cascade.
                value = obj;
            }
        }
        let mut max_entries = 0u32;
        let mut extra = Vec::new();
        let mut positional = 0;
        for a in &m.args {
            match &a.name {
                None => {
                    positional += 1;
                    if positional == 1 {
                        match self.const_eval(&a.value).and_then(|(v, _)| value_int(&v)) {
                            Some(n) if n > 0 && n <= u32::MAX as i128 => max_entries = n as u32,
                            Some(_) => {
                                self.error(
                                    codes::MAP_DECL,
                                    a.value.span,
                                    "`max_entries` must be between 1 and 4294967295",
                                );
                            }
                            None => {}
                        }
                    } else {
                        self.error(
                            codes::MAP_DECL,
                            a.value.span,
                            "extra map arguments are written `name = value`",
                        );
                    }
                }
                Some(n) => {
                    if let Some((v, _)) = self.const_eval(&a.value) {
                        extra.push(ir::MapOption {
                            name: n.name.clone(),
                            value: v,
                        });
                    }
                }
            }
        }
        if m.args.iter().all(|a| a.name.is_some()) {
            self.error(
                codes::MAP_DECL,
                m.name.span,
                "a map needs its maximum number of entries",
            )
            .help = Some(format!(
                "write `var {} : {}<...>(1024)`",
                m.name.name, m.kind.name
            ));
        }
        if kind == ir::MapKind::Ringbuf
            && max_entries != 0
            && (!max_entries.is_power_of_two() || max_entries < 4096)
        {
            self.error(
                codes::RINGBUF,
                m.args[0].value.span,
                "a ring buffer's size must be a power of two of at least 4096 bytes",
            );
        }
        let mut flags = Vec::new();
        let mut flags_value = 0;
        let mut flags_at = None;
        let mut numa = None;
        for a in &item.attrs {
            if a.name.name != "flags" {
                continue;
            }
            flags_at.get_or_insert(a.span);
            for arg in &a.args {
                self.collect_flags(arg, &mut flags, &mut flags_value, &mut numa);
            }
        }
        flags.dedup();
        if let Some(at) = flags_at {
            self.check_flags_fit(kind, &flags, at);
        }
        if let Some(node) = numa {
            extra.push(ir::MapOption {
                name: "numa_node".into(),
                value: ksc_ir::Value::UInt(node as u64),
            });
        }
        let span = item.span;
        self.maps.push(ir::Map {
            name: self.ir_name(&m.name),
            kind,
            key,
            value,
            max_entries,
            flags,
            flags_value,
            pinned: m.pin,
            extra,
            span,
        });
        let id = ir::MapId(self.maps.len() as u32 - 1);
        self.define(&m.name, Sym::Map(id));
    }

    /// Flags the kernel refuses for this kind of map (map creation fails
    /// with EINVAL or ENOTSUPP when the object loads).
    fn check_flags_fit(&mut self, kind: ir::MapKind, flags: &[String], at: ksc_frontend::Span) {
        use ir::MapKind as K;
        for f in flags {
            let fits = match f.as_str() {
                "BPF_F_NO_PREALLOC" => matches!(kind, K::Hash | K::PercpuHash),
                "BPF_F_NO_COMMON_LRU" => kind == K::LruHash,
                "BPF_F_MMAPABLE" => kind == K::Array,
                _ => true,
            };
            if !fits {
                let kinds = match f.as_str() {
                    "BPF_F_NO_PREALLOC" => "`hash` and `percpu_hash` maps",
                    "BPF_F_NO_COMMON_LRU" => "`lru_hash` maps",
                    _ => "`array` maps",
                };
                self.error(
                    codes::MAP_FLAGS,
                    at,
                    format!("`{f}` is for {kinds}: the kernel refuses it on this map"),
                )
                .help = Some(format!("remove `{f}` from the flags"));
            }
        }
    }

    fn collect_flags(
        &mut self,
        e: &ast::Expr,
        names: &mut Vec<String>,
        value: &mut u32,
        numa: &mut Option<u32>,
    ) {
        let mut add = |name: &str, names: &mut Vec<String>| {
            if let Some((n, v)) = builtins::map_flags().iter().find(|f| f.0 == name) {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
                *value |= v;
            }
        };
        match &e.kind {
            AE::Binary {
                op: ast::BinOp::BitOr,
                lhs,
                rhs,
            } => {
                self.collect_flags(lhs, names, value, numa);
                self.collect_flags(rhs, names, value, numa);
            }
            // The reference's spellings: `rdonly`, `numa_node(N)`, ...
            // (docs/language.md, "Headers, kernel structs and enums").
            AE::Name(id) if builtins::map_flag_spelling(&id.name).is_some() => {
                add(builtins::map_flag_spelling(&id.name).unwrap(), names);
            }
            AE::Call { callee, args } if matches!(&callee.kind, AE::Name(n) if n.name == "numa_node") =>
            {
                let node = match args.as_slice() {
                    [a] => self.const_eval(a).and_then(|(v, _)| value_int(&v)),
                    _ => None,
                };
                match node {
                    Some(n) if (0..=u32::MAX as i128).contains(&n) => {
                        add("BPF_F_NUMA_NODE", names);
                        *numa = Some(n as u32);
                    }
                    _ => {
                        self.error(
                            codes::MAP_FLAGS,
                            e.span,
                            "`numa_node` takes the node's number",
                        )
                        .help = Some("write `numa_node(0)`".into());
                    }
                }
            }
            AE::Name(id) => match builtins::map_flags().iter().find(|f| f.0 == id.name) {
                Some((n, _)) => add(n, names),
                None => {
                    let spelled = [
                        "rdonly",
                        "wronly",
                        "no_prealloc",
                        "no_common_lru",
                        "clone",
                        "numa_node",
                    ];
                    let hint = suggest(
                        &id.name,
                        builtins::map_flags()
                            .iter()
                            .map(|f| f.0)
                            .chain(spelled.iter().copied()),
                    );
                    let d = self.error(
                        codes::MAP_FLAGS,
                        id.span,
                        format!("unknown map flag `{}`", id.name),
                    );
                    if let Some(h) = hint {
                        d.help = Some(format!("did you mean `{h}`?"));
                    }
                }
            },
            _ => {
                self.error(codes::MAP_FLAGS, e.span, "map flags are `BPF_F_*` names (or `rdonly`, `numa_node(N)`, ...) joined with `|`");
            }
        }
    }

    pub(crate) fn collect_global(&mut self, item: &ast::Item, g: &ast::GlobalVar) {
        let declared = g.ty.as_ref().map(|t| self.resolve_type(t));
        let init = g.init.as_ref().and_then(|e| {
            let v = self.const_eval(e)?;
            Some((v, e.span))
        });
        let ty = match (declared, &init) {
            (Some(t), _) => t,
            // Spec 3.3.2: integer literals infer u32 (u64 when larger),
            // strings str(len + 1), null *u8, arrays of the element type.
            (None, Some(((v, t), _))) => match (v, self.types.kind(*t)) {
                (_, TypeKind::Null) => {
                    let u8_ = self.types.u8_;
                    self.types.ptr(u8_)
                }
                _ => *t,
            },
            (None, None) => {
                self.error(
                    codes::GLOBAL_INIT,
                    g.name.span,
                    format!("global `{}` needs a type or an initial value", g.name.name),
                )
                .help = Some(format!("write `var {}: u32 = 0`", g.name.name));
                self.types.error
            }
        };
        let value = match init {
            Some(((v, vt), span)) => self.fit_value(v, vt, ty, span),
            None => None,
        };
        if matches!(self.types.kind(ty), TypeKind::Void) {
            self.error(
                codes::GLOBAL_INIT,
                g.name.span,
                "a global cannot have type `void`",
            );
        }
        let visibility = if g.pin {
            ir::GlobalVisibility::Pinned
        } else if g.local {
            ir::GlobalVisibility::Local
        } else {
            ir::GlobalVisibility::Shared
        };
        // A function pointer is a userspace address: such a global lives in
        // the userspace program only (docs/language.md, function-pointer globals); lowering
        // refuses its uses in eBPF code.
        let userspace_only = self.holds_fn_pointer(ty);
        if userspace_only && visibility != ir::GlobalVisibility::Shared {
            let kind = if g.pin {
                "a `pin var`"
            } else {
                "a `local var`"
            };
            self.error(codes::FN_POINTER,
                g.name.span,
                format!("{kind} cannot hold a function pointer"),
            )
            .help = Some("a global holding a function pointer lives in the userspace program only: declare it with plain `var`".into());
        }
        let span = item.span;
        self.globals.push(ir::Global {
            name: self.ir_name(&g.name),
            ty,
            init: value,
            visibility,
            span,
            userspace_only,
        });
        let id = ir::GlobalId(self.globals.len() as u32 - 1);
        self.define(&g.name, Sym::Global(id));
    }

    /// Whether a value of `t` holds a function pointer: itself, an array
    /// element, or a field of a program's struct (kernel structs are the
    /// kernel's business).
    pub(crate) fn holds_fn_pointer(&self, t: ir::TypeId) -> bool {
        match self.types.kind(t) {
            TypeKind::Function(_) => true,
            TypeKind::Array(e, _) => self.holds_fn_pointer(*e),
            TypeKind::Struct(sd) if !sd.origin.is_kernel() => {
                sd.fields.iter().any(|f| self.holds_fn_pointer(f.ty))
            }
            _ => false,
        }
    }

    pub(crate) fn collect_config(&mut self, c: &ast::ConfigDecl) {
        let mut fields = Vec::new();
        self.check_unique("config field", c.fields.iter().map(|f| &f.name));
        for f in &c.fields {
            let ty = self.resolve_type(&f.ty);
            let default = f.default.as_ref().and_then(|e| {
                let (v, vt) = self.const_eval(e)?;
                self.fit_value(v, vt, ty, e.span)
            });
            fields.push(ir::ConfigField {
                name: f.name.name.clone(),
                ty,
                default,
            });
        }
        let span = c.name.span;
        self.configs.push(ir::Config {
            name: self.ir_name(&c.name),
            fields,
            span,
        });
        let id = ir::ConfigId(self.configs.len() as u32 - 1);
        self.define(&c.name, Sym::Config(id));
    }
}
