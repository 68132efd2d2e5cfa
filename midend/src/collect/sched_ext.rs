//! sched_ext's kfuncs, declared for every program with a
//! `@struct_ops("sched_ext_ops")` impl (docs/language.md, "sched_ext
//! schedulers"): the declarations a scheduler would otherwise write as
//! `extern`s, typed as the kernel's BTF has them (Linux 6.12 and 7.2). A
//! program's own `extern` of one of these names is used instead.
//! Renamed kfuncs (`scx_bpf_dispatch` became `scx_bpf_dsq_insert`) are
//! both here; the eBPF C calls whichever the kernel has
//! (`ksc_ir::sched_ext::KFUNC_RENAMES`).

use std::sync::OnceLock;

use ksc_frontend::ast::{self, ItemKind};

use crate::checker::Checker;

const KFUNCS: &str = "
extern scx_bpf_select_cpu_dfl(p: *task_struct, prev_cpu: i32, wake_flags: u64, is_idle: *bool) -> i32
extern scx_bpf_dsq_insert(p: *task_struct, dsq_id: u64, slice: u64, enq_flags: u64)
extern scx_bpf_dispatch(p: *task_struct, dsq_id: u64, slice: u64, enq_flags: u64)
extern scx_bpf_dsq_insert_vtime(p: *task_struct, dsq_id: u64, slice: u64, vtime: u64, enq_flags: u64)
extern scx_bpf_dispatch_vtime(p: *task_struct, dsq_id: u64, slice: u64, vtime: u64, enq_flags: u64)
extern scx_bpf_dsq_move_to_local(dsq_id: u64) -> bool
extern scx_bpf_consume(dsq_id: u64) -> bool
extern scx_bpf_create_dsq(dsq_id: u64, node: i32) -> i32
extern scx_bpf_destroy_dsq(dsq_id: u64)
extern scx_bpf_dsq_nr_queued(dsq_id: u64) -> i32
extern scx_bpf_kick_cpu(cpu: i32, flags: u64)
extern scx_bpf_task_cpu(p: *task_struct) -> i32
extern scx_bpf_task_running(p: *task_struct) -> bool
extern scx_bpf_test_and_clear_cpu_idle(cpu: i32) -> bool
extern scx_bpf_nr_cpu_ids() -> u32
extern scx_bpf_dispatch_nr_slots() -> u32
extern scx_bpf_dispatch_cancel()
extern scx_bpf_reenqueue_local() -> u32
extern scx_bpf_now() -> u64
";

fn kfuncs() -> &'static ast::File {
    static FILE: OnceLock<ast::File> = OnceLock::new();
    FILE.get_or_init(|| ksc_frontend::parse(KFUNCS).file)
}

impl<'a> Checker<'a> {
    /// Declares sched_ext's kfuncs the program has not declared itself.
    pub(crate) fn collect_sched_ext_kfuncs(&mut self) {
        if !self
            .struct_ops
            .iter()
            .any(|o| o.ops_type == "sched_ext_ops")
        {
            return;
        }
        // One declaration a line, in the order of the items.
        let lines = KFUNCS.lines().filter(|l| !l.trim().is_empty());
        for (line, item) in lines.zip(&kfuncs().items) {
            let ItemKind::Extern(e) = &item.kind else {
                continue;
            };
            if self.lookup_sym(&e.name).is_some() {
                continue;
            }
            // Its text is ksc's, not the program's: nothing may be
            // reported at it. A kernel without `task_struct` in its BTF
            // (none at all, or a foreign file without it) leaves the
            // kfuncs taking one undeclared.
            if line.contains("task_struct") && !self.btf_has("task_struct") {
                continue;
            }
            self.builtin_decl = true;
            self.collect_extern(item, e);
            self.builtin_decl = false;
            self.builtin_fns
                .insert(ksc_ir::FnId(self.functions.len() as u32 - 1));
        }
    }
}
