//! The whole module and the analysis record that travels with it.

use serde::{Deserialize, Serialize};

use crate::*;

/// A whole compiled KernelScript file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The schema version it was written with: [`IR_VERSION`]
    /// ([`Module::from_ron`] refuses any other).
    pub version: u32,
    /// Project name (the source file's stem): names output files and the
    /// pin directory `/sys/fs/bpf/<name>/`.
    pub name: String,
    /// The source path as given to ksc (the name of [`FileId::MAIN`]).
    pub source_path: String,
    /// The source files, indexed by the [`FileId`] of every [`Span`]:
    /// names and texts, for line numbers and quoting the source.
    pub files: SourceMap,
    /// The type table, indexed by [`TypeId`].
    pub types: Vec<TypeDef>,
    /// The BPF maps the program declares, indexed by [`MapId`].
    pub maps: Vec<Map>,
    /// The global variables, indexed by [`GlobalId`].
    pub globals: Vec<Global>,
    /// The `config` blocks, indexed by [`ConfigId`].
    pub configs: Vec<Config>,
    /// Every function of every domain, indexed by [`FnId`].
    pub functions: Vec<Function>,
    /// The `@struct_ops` impl blocks, indexed by [`StructOpsId`].
    pub struct_ops: Vec<StructOps>,
    /// Python modules imported by userspace code, called through
    /// [`Callee::Python`]. Empty (and absent from older RON) without
    /// `import m from "x.py"`.
    #[serde(default)]
    pub python_modules: Vec<PyModule>,
    /// The Python scripts `exec` runs, one per file name. Empty (and
    /// absent from older RON) without `exec`. With any, the userspace
    /// backends write the map module `<name>.py` too.
    #[serde(default)]
    pub exec_scripts: Vec<ExecScript>,
    /// The userspace entry point.
    pub main: Option<FnId>,
    /// What whole-program validation found (throws, stack, function-pointer
    /// targets, tail-call slots), so backends read it instead of
    /// recomputing it.
    pub analysis: Analysis,
}

impl Module {
    /// Who uses each map ([`MapUse`]), indexed by [`MapId`].
    pub fn map_uses(&self) -> Vec<MapUse> {
        map_uses(&self.functions, self.maps.len())
    }

    /// The eBPF programs that call a `@kfunc`, directly or through the
    /// functions they call (`@helper`s, and through function pointers
    /// every function of the pointer's signature whose address is taken),
    /// each with one such call: the program types a kernel module
    /// registers its kfuncs for, and where to point when a kernel does
    /// not let a type call kfuncs. In [`FnId`] order.
    pub fn kfunc_callers(&self) -> Vec<(FnId, Span)> {
        let mut out = vec![];
        for (p, f) in self.functions.iter().enumerate() {
            if !matches!(f.kind, FnKind::Program(_)) {
                continue;
            }
            let mut seen = vec![false; self.functions.len()];
            let mut todo = vec![p];
            let mut call = None;
            while let Some(i) = todo.pop() {
                if call.is_some() || std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                self.functions[i].body.walk_exprs(&mut |e| {
                    let ExprKind::Call { callee, .. } = &e.kind else {
                        return;
                    };
                    match callee {
                        Callee::Function(c) if self.function(*c).kind == FnKind::Kfunc => {
                            call.get_or_insert(e.span);
                        }
                        Callee::Function(c) => todo.push(c.index()),
                        Callee::Pointer(ptr) => {
                            if let TypeKind::Function(sig) = &self.ty(ptr.ty).kind {
                                let targets = self.analysis.pointer_targets(sig);
                                todo.extend(targets.iter().map(|t| t.index()));
                            }
                        }
                        _ => {}
                    }
                });
            }
            if let Some(span) = call {
                out.push((FnId(p as u32), span));
            }
        }
        out
    }

    /// The type `id` names (panics on an id not from this module).
    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.index()]
    }

    /// The function `id` names (panics on an id not from this module).
    pub fn function(&self, id: FnId) -> &Function {
        &self.functions[id.index()]
    }

    /// The module as RON text (the form it crosses the plugin ABI in).
    pub fn to_ron(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new()
            .struct_names(false)
            .indentor(" ".to_string());
        // Serialising plain data to a String cannot fail.
        ron::ser::to_string_pretty(self, cfg).expect("IR serialises to RON")
    }

    /// Read a module back, refusing another schema version.
    pub fn from_ron(text: &str) -> Result<Module, String> {
        let m: Module = ron::from_str(text).map_err(|e| format!("malformed IR: {e}"))?;
        if m.version != IR_VERSION {
            return Err(format!(
                "IR schema version {} is not the supported version {IR_VERSION}",
                m.version
            ));
        }
        Ok(m)
    }
}

// ------------------------------------------------------------------ analysis

/// The facts whole-program validation established about a [`Module`],
/// carried with it for backends.
///
/// The midend computes them while validating the program (its call graph,
/// tail-call graph, stack analysis and throw analysis), after every
/// function was lowered; a backend that needs one of them reads it here
/// rather than walking the bodies again, so the compiler decides each fact
/// once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// One entry per function, indexed by [`FnId`]: the error codes a
    /// `throw` may carry out of it (not caught inside it or in the
    /// functions it calls). Empty for a function that cannot throw.
    pub throws: Vec<Throws>,
    /// Each eBPF program's stack need, in function order.
    pub stack: Vec<StackUse>,
    /// For each function-pointer signature, the eBPF functions (not
    /// programs) of that signature whose address is taken anywhere in the
    /// module: the functions a call through such a pointer in eBPF code
    /// can reach. In order of first [`FnId`]; targets in [`FnId`] order.
    pub fn_pointer_targets: Vec<PointerTargets>,
    /// The program array of tail calls: `tail_call_slots[slot]` is the
    /// program in that slot ([`StmtKind::TailCall`] names its `slot`).
    pub tail_call_slots: Vec<FnId>,
}

impl Analysis {
    /// May a `throw` leave function `f`?
    pub fn can_throw(&self, f: FnId) -> bool {
        self.throws.get(f.index()).is_some_and(|t| !t.is_empty())
    }

    /// The eBPF functions a call through a pointer of signature `sig` can
    /// reach (empty when no function of that signature has its address
    /// taken).
    pub fn pointer_targets(&self, sig: &FnSig) -> &[FnId] {
        self.fn_pointer_targets
            .iter()
            .find(|p| p.sig == *sig)
            .map_or(&[], |p| &p.targets)
    }
}

/// The error codes that may be thrown out of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throws {
    /// Constant codes (`throw 2`, `throw E_PARSE`), ascending.
    pub codes: Vec<i64>,
    /// A code only known at run time (`throw err`) may be thrown too.
    pub unknown: bool,
}

impl Throws {
    /// Nothing can be thrown out.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && !self.unknown
    }
}

/// The stack an eBPF program needs: its own frame plus those of the
/// functions it calls, along its deepest call path. The verifier allows
/// 512 bytes; the midend rejects programs that need more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackUse {
    /// The program (an eBPF [`FnKind::Program`]).
    pub program: FnId,
    /// Bytes, each local rounded up to 8.
    pub bytes: u32,
    /// The deepest call path, starting with the program itself.
    pub path: Vec<FnId>,
}

/// The functions a call through a pointer of one signature can reach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointerTargets {
    /// The pointer's signature (parameter and return types).
    pub sig: FnSig,
    /// The eBPF functions of that signature whose address is taken, in
    /// [`FnId`] order.
    pub targets: Vec<FnId>,
}
