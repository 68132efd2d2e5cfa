//! Dereferences: a pointer that may be null (spec 4.6.8) or whose object or
//! record was released is not dereferenced.

use super::*;
use ksc_frontend::diag::codes;

impl<'c, 'a> Flow<'c, 'a> {
    pub(super) fn is_pointer(&self, ty: ir::TypeId) -> bool {
        matches!(self.c.types.kind(ty), TypeKind::Pointer(_))
    }

    /// Is this pointer expression certainly not null in state `st`?
    pub(super) fn nonnull(&self, e: &ir::Expr, st: &State) -> bool {
        use ir::ExprKind as K;
        // Context pointers (`*xdp_md`, `*__sk_buff`, `*trace_event_raw_*`)
        // come from the kernel and are never null.
        if let Some(p) = self.c.types.pointee(e.ty) {
            if self
                .c
                .types
                .struct_def(p)
                .is_some_and(|s| s.origin.is_kernel())
            {
                return true;
            }
        }
        match &e.kind {
            K::Local(l) => st.nonnull.contains(l),
            K::AddrOf(_) => true,
            K::Value(ir::Value::Str(_)) => true,
            K::Cast(inner) => self.nonnull(inner, st),
            K::Binary {
                op: ir::BinOp::Add | ir::BinOp::Sub,
                lhs,
                ..
            } => self.nonnull(lhs, st),
            // Fields of kernel context structs (`ctx->data`) are valid pointers.
            K::Field { base, .. } => match self.c.types.kind(
                if let K::Field {
                    base: b,
                    through_pointer: true,
                    ..
                } = &e.kind
                {
                    self.c.types.pointee(b.ty).unwrap_or(b.ty)
                } else {
                    base.ty
                },
            ) {
                TypeKind::Struct(s) => s.origin.is_kernel(),
                _ => false,
            },
            K::Select { then, els, .. } => self.nonnull(then, st) && self.nonnull(els, st),
            _ => false,
        }
    }

    pub(super) fn deref(&mut self, p: &ir::Expr, at: ir::Span, st: &State) {
        if let Some(l) = Self::record_local(p) {
            if let Some(&gone) = st.freed.get(&l) {
                if self.reported.insert(at) {
                    let n = self.c.functions[self.f.index()].locals[l.index()]
                        .name
                        .clone();
                    self.c.diags.push(
                        Diagnostic::error(
                            codes::STALE_POINTER,
                            at,
                            format!("`{n}` is used after it was released"),
                        )
                        .with_label("its object or record may be gone here")
                        .with_secondary(gone, "released here")
                        .with_help(format!("read what you need from `{n}` before releasing it")),
                    );
                }
                return;
            }
        }
        if !self.is_pointer(p.ty) || self.nonnull(p, st) {
            return;
        }
        if !self.reported.insert(at) {
            return;
        }
        let what = match &p.kind {
            ir::ExprKind::Local(l) => format!(
                "`{}`",
                self.c.functions[self.f.index()].locals[l.index()].name
            ),
            ir::ExprKind::MapLookup { .. } => "a map lookup".to_string(),
            _ => "this pointer".to_string(),
        };
        let hint = match &p.kind {
            ir::ExprKind::Local(l)
                if l.0 < self.c.functions[self.f.index()].params
                    && self.c.uncalled.contains(&self.f) =>
            {
                // Nothing vouches for the parameter (docs/language.md, what
                // the reference accepts and ksc refuses).
                let f = &self.c.functions[self.f.index()];
                let n = &f.locals[l.index()].name;
                let args: Vec<String> = (0..f.params)
                    .map(|i| {
                        if i == l.0 {
                            "&value".to_string()
                        } else {
                            f.locals[i as usize].name.clone()
                        }
                    })
                    .collect();
                format!(
                    "`{}` is never called, so no call shows `{n}` is not null: check it first, `if ({n} != null) {{ ... }}`, or call it with a pointer known not to be null, `{}({})`",
                    f.name,
                    f.name,
                    args.join(", ")
                )
            }
            ir::ExprKind::Local(l) if l.0 < self.c.functions[self.f.index()].params => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                format!("check it first: `if ({n} != null) {{ ... }}`; a pointer parameter needs no check only when every call passes a pointer known not to be null and the function never becomes a function pointer")
            }
            ir::ExprKind::Local(l) if self.lookups.contains_key(l) => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                let m = &self.c.maps[self.lookups[l].index()].name;
                format!("a lookup is null when `{m}` has no entry for the key; check it first: `if ({n} != null) {{ ... }}` (or read `{m}[key]` directly, which gives zero for an absent key)")
            }
            ir::ExprKind::Local(l) => {
                let n = &self.c.functions[self.f.index()].locals[l.index()].name;
                format!("check it first: `if ({n} != null) {{ ... }}`")
            }
            _ => "store it in a variable and check it against `null` first".to_string(),
        };
        self.c.diags.push(
            Diagnostic::error(
                codes::NULL_DEREF,
                at,
                format!("potential null pointer dereference of {what}"),
            )
            .with_label("may be null here")
            .with_help(hint),
        );
    }
}
