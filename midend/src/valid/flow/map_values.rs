//! Map values: pointers into a map's value invalidated by an update or
//! delete of that map, and userspace copies of map entries that a write
//! does not reach the map through.

use super::*;
use ksc_frontend::diag::codes;

impl<'c, 'a> Flow<'c, 'a> {
    /// In userspace `var p = m[k]` copies the entry out of the kernel.
    pub(super) fn note_user_copy(&mut self, l: LocalId, value: Option<&ir::Expr>) {
        if let Some(ir::ExprKind::MapLookup { map, .. }) = value.map(|v| &v.kind) {
            self.lookups.insert(l, *map);
        }
        if self.c.functions[self.f.index()].domain != Domain::Userspace {
            return;
        }
        match value.map(|v| &v.kind) {
            Some(ir::ExprKind::MapLookup { map, .. }) => {
                self.user_copies.insert(l, *map);
            }
            _ => {
                self.user_copies.remove(&l);
            }
        }
    }

    /// A write through a userspace copy of a map entry changes only the
    /// copy; eBPF developers expect it to reach the map, so say so.
    pub(super) fn write_to_user_copy(&mut self, place: &ir::Expr) {
        use ir::ExprKind as K;
        let mut base = place;
        loop {
            base = match &base.kind {
                K::Field { base: b, .. } | K::Index { base: b, .. } => b,
                K::Deref(b) => b,
                _ => break,
            };
            if let K::Local(l) = base.kind {
                let Some(map) = self.user_copies.get(&l).copied() else {
                    return;
                };
                if !self.reported.insert(place.span) {
                    return;
                }
                let f = &self.c.functions[self.f.index()];
                let name = f.locals[l.index()].name.clone();
                let mname = self.c.maps[map.index()].name.clone();
                let span = place.span;
                self.c.diags.push(
                    Diagnostic::warning(codes::COPY_WRITE,
                        span,
                        format!("`{name}` points to a copy of a `{mname}` entry: this write does not change the map"),
                    )
                    .with_label("changes the copy only")
                    .with_help(format!(
                        "in userspace, update the entry itself (`{mname}[key].field = v`, `{mname}[key] op= v`), or write the copy back with `{mname}[key] = *{name}`"
                    )),
                );
                return;
            }
        }
    }

    pub(super) fn map_writes(b: &ir::Block, out: &mut Vec<(MapId, ir::Span)>) {
        for s in &b.stmts {
            if let ir::StmtKind::MapUpdate { map, .. } | ir::StmtKind::MapDelete { map, .. } =
                &s.kind
            {
                out.push((*map, s.span));
            }
            for_child_blocks(s, &mut |b| Self::map_writes(b, out));
        }
    }

    pub(super) fn invalidate(&mut self, map: MapId, at: ir::Span, st: &mut State) {
        let victims: Vec<LocalId> = st
            .map_ptr
            .iter()
            .filter(|(_, m)| **m == map)
            .map(|(l, _)| *l)
            .collect();
        for l in victims {
            st.invalid.insert(l, at);
            st.map_ptr.remove(&l);
        }
    }
}
