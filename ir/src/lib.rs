//! # The ksc IR
//!
//! One typed representation of a whole KernelScript file, produced by the
//! midend after every check passed, and consumed by every backend. It is the
//! contract between ksc and its backend plugins: it crosses the plugin ABI
//! as RON text ([`Module::to_ron`] / [`Module::from_ron`]) stamped with
//! [`IR_VERSION`].
//!
//! ## Shape
//!
//! A [`Module`] is a set of tables indexed by small ids:
//!
//! | table | id | what |
//! |---|---|---|
//! | [`Module::types`] | [`TypeId`] | every type, interned, with size and alignment |
//! | [`Module::files`] | [`FileId`] | source files: name and text (see [Source locations](#source-locations)) |
//! | [`Module::maps`] | [`MapId`] | BPF maps |
//! | [`Module::globals`] | [`GlobalId`] | global variables (shared, local, pinned) |
//! | [`Module::configs`] | [`ConfigId`] | `config` blocks |
//! | [`Module::functions`] | [`FnId`] | every function: programs, helpers, kfuncs, userspace, externs |
//! | [`Module::struct_ops`] | [`StructOpsId`] | `@struct_ops` impl blocks |
//! | [`Module::python_modules`] | [`PyModuleId`] | imported Python modules (`import m from "x.py"`) |
//!
//! Inside a [`Function`], locals (parameters first) are indexed by
//! [`LocalId`]. Every expression carries its type and every node its source
//! [`Span`].
//!
//! ## Source locations
//!
//! A [`Span`] is `(file, start, end)`: a [`FileId`] and a half-open byte
//! range in that file. [`Module::files`] is the file table, a
//! [`SourceMap`]: each file's name and text, [`FileId::MAIN`] (0) being the
//! file given to ksc. Lines and columns are computed from it
//! ([`SourceMap::line_col`], [`SourceMap::line`]), for `// prog.ks:LINE`
//! comments or messages; a backend error pointing at a node's span is
//! shown by ksc with the source under a caret.
//!
//! BPF helpers are not a table of the module but of the crate:
//! [`HELPERS`] (module [`helpers`]) lists each helper's name, number in
//! `include/uapi/linux/bpf.h`, signature and the program types that may
//! call it; [`Callee::BpfHelper`] names a helper by its [`HelperId`].
//!
//! ## What the midend already did
//!
//! * Names are resolved: no identifier lookups remain. Constants and
//!   `sizeof` are folded to values.
//! * Types are checked, implicit widenings are explicit [`ExprKind::Cast`]s.
//! * Each function knows its [`Domain`] (eBPF, kernel module, userspace).
//! * Map accesses are explicit: [`ExprKind::MapLookup`] (a pointer that may
//!   be null), [`ExprKind::MapRead`] (the value, zero when absent), [`StmtKind::MapUpdate`], [`StmtKind::MapDelete`] and
//!   [`StmtKind::MapCompound`] (`m[k] += v`: one lookup, update in place).
//! * Named return values are ordinary locals and every `return` names its
//!   value.
//! * `return prog(ctx)` to a program of the same type is a
//!   [`StmtKind::TailCall`]; [`Analysis::tail_call_slots`] numbers the targets.
//! * `match` is [`ExprKind::Switch`]; `if`-expressions and `?:` are
//!   [`ExprKind::Select`].
//! * `try`/`catch`/`throw`/`defer` keep their structure with fixed
//!   semantics: a `throw` transfers control to the innermost enclosing `try`
//!   of the same function whose catch matches (else to the caller, else it
//!   ends the program); deferred blocks run at every exit of their function
//!   (return, throw out of it, end of body) in last-in-first-out order, after
//!   the return value was computed. Backends lower this to their control flow.
//!
//! ## What validation found
//!
//! [`Module::analysis`] is the record of whole-program validation, computed
//! once by the midend on this IR so that backends do not compute it again:
//!
//! * [`Analysis::throws`]: per function, the error codes that may be thrown
//!   out of it ([`Analysis::can_throw`]); in a C backend such a function
//!   passes its error to its caller;
//! * [`Analysis::stack`]: each eBPF program's stack need along its deepest
//!   call path;
//! * [`Analysis::fn_pointer_targets`]: per signature, the eBPF functions
//!   whose address is taken ([`Analysis::pointer_targets`]), which a call
//!   through a pointer can reach (eBPF has no indirect calls: backends
//!   dispatch over them);
//! * [`Analysis::tail_call_slots`]: which program is in which slot of the
//!   tail-call program array.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

pub mod helpers;
pub mod kernels;
pub mod python;
pub mod sched_ext;

mod data;
mod expr;
mod func;
mod module;
mod program;
mod source;
mod types;
pub use data::*;
pub use expr::*;
pub use func::*;
pub use helpers::{
    helper, helper_named, Helper, HelperFlags, HelperId, HelperType, ProgramTypes, HELPERS,
};
pub use module::*;
pub use program::*;
pub use source::*;
pub use types::*;

/// Version of this schema. Bump on any change a backend could notice.
pub const IR_VERSION: u32 = 12;

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u32);
        impl $name {
            /// The id as a `usize`, to index its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// Index into [`Module::types`].
    TypeId
);
id!(
    /// Index into [`Module::maps`].
    MapId
);
id!(
    /// Index into [`Module::globals`].
    GlobalId
);
id!(
    /// Index into [`Module::configs`].
    ConfigId
);
id!(
    /// Index into [`Module::functions`].
    FnId
);
id!(
    /// Index into [`Function::locals`].
    LocalId
);
id!(
    /// Index into [`Module::struct_ops`]: a `@struct_ops` impl block.
    StructOpsId
);
id!(
    /// Index into [`Module::python_modules`]: an `import m from "x.py"`.
    PyModuleId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let mut files = SourceMap::new();
        assert_eq!(files.add("a.ks", "ab\né x\n\nz"), FileId::MAIN);
        let b = files.add("b.ks", "one\ntwo");
        let at = |file, start| Span::new(file, start, start);
        assert_eq!(files.line_col(at(FileId::MAIN, 0)), (1, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 2)), (1, 3));
        assert_eq!(files.line_col(at(FileId::MAIN, 3)), (2, 1));
        // `é` is two bytes, one column.
        assert_eq!(files.line_col(at(FileId::MAIN, 6)), (2, 3));
        assert_eq!(files.line_col(at(FileId::MAIN, 8)), (3, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 9)), (4, 1));
        assert_eq!(files.line_col(at(FileId::MAIN, 99)), (4, 2));
        assert_eq!(files.line(at(b, 5)), 2);
        assert_eq!(files.name(b), "b.ks");
        assert_eq!(files.line_col(at(FileId(7), 0)), (0, 0));
    }

    #[test]
    fn source_map_round_trips_without_line_starts() {
        let files = SourceMap::single("p.ks", "x\ny\n");
        let text = ron::to_string(&files).unwrap();
        assert_eq!(text, r#"[(name:"p.ks",text:"x\ny\n")]"#);
        let back: SourceMap = ron::from_str(&text).unwrap();
        assert_eq!(back, files);
        assert_eq!(back.get(FileId::MAIN).unwrap().line_starts(), &[0, 2, 4]);
        let span = ron::to_string(&Span::new(FileId::MAIN, 1, 2)).unwrap();
        assert_eq!(span, "(file:0,start:1,end:2)");
    }
}
