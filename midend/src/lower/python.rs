//! Calls of imported Python functions (`m.f(args)`, see `crate::python`):
//! checked against the module's `def` and typed by its annotations or the
//! call's context.

use ksc_frontend::ast;
use ksc_frontend::diag::codes;
use ksc_frontend::Span;
use ksc_ir as ir;
use ksc_ir::python::PyFunction;
use ksc_ir::{Domain, PyModuleId, TypeId, TypeKind};

use super::FnCx;
use crate::checker::{suggest, Sym};

/// The KernelScript type of a `-> str` result without a typed context.
const DEFAULT_STR: u32 = 256;

/// What a call expects of its result.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyExpect {
    /// A value of this type, if known.
    Value(Option<TypeId>),
    /// A statement: the result is discarded.
    Discard,
}

/// The KernelScript side of a Python annotation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PyTy {
    Int,
    Bool,
    Str,
    None,
    /// Anything else (`float`, `list[int]`, ...): cannot convert.
    Other,
}

fn py_ty(annotation: &str) -> PyTy {
    let a = annotation.trim().trim_matches(|c| c == '\'' || c == '"');
    match a {
        "int" => PyTy::Int,
        "bool" => PyTy::Bool,
        "str" => PyTy::Str,
        "None" => PyTy::None,
        _ => PyTy::Other,
    }
}

impl<'c, 'a> FnCx<'c, 'a> {
    /// `m.f(args)` when `m` is a Python module; `None` for any other
    /// expression.
    pub(crate) fn python_call(&mut self, e: &ast::Expr, expect: PyExpect) -> Option<ir::Expr> {
        let ast::ExprKind::Call { callee, args } = &e.kind else {
            return None;
        };
        let ast::ExprKind::Field { base, field, .. } = &callee.kind else {
            return None;
        };
        let ast::ExprKind::Name(m) = &base.kind else {
            return None;
        };
        if self.lookup_local(&m.name).is_some() {
            return None;
        }
        let Some(Sym::PyModule(id)) = self.c.syms.get(&m.name).map(|s| s.sym) else {
            return None;
        };
        Some(self.python_call_to(e.span, id, &m.name, field, args, expect))
    }

    fn python_call_to(
        &mut self,
        span: Span,
        id: PyModuleId,
        m: &str,
        field: &ast::Ident,
        args: &[ast::Expr],
        expect: PyExpect,
    ) -> ir::Expr {
        let call = format!("{m}.{}", field.name);
        let file = self.c.py.modules[id.index()].path.clone();
        let lower_args = |fx: &mut Self| {
            for a in args {
                fx.expr(a, None);
            }
        };
        if self.domain != Domain::Userspace {
            let d = self.c.error(
                codes::PYTHON,
                span,
                format!("`{call}` is a Python function: it cannot be called from eBPF code"),
            );
            d.label = "called in the kernel".into();
            d.notes.push(
                "eBPF code runs inside the kernel, where the verifier admits only BPF instructions, helpers and kfuncs: there is no Python interpreter to run it".into(),
            );
            d.help = Some(
                "call it from userspace (e.g. `main`) and hand the result to the eBPF program through a map, a global or a `config` field".into(),
            );
            lower_args(self);
            return self.err_expr(span);
        }
        let Some(info) = self.c.py.info[id.index()].as_ref() else {
            lower_args(self);
            return self.err_expr(span);
        };
        let Some(f) = info
            .functions
            .iter()
            .find(|f| f.name == field.name)
            .cloned()
        else {
            let hint = suggest(&field.name, info.functions.iter().map(|f| f.name.as_str()));
            let names: Vec<String> = info
                .functions
                .iter()
                .map(|f| format!("`{}`", f.name))
                .collect();
            let d = self.c.error(
                codes::PYTHON,
                field.span,
                format!(
                    "Python module `{m}` ({file}) has no function `{}`",
                    field.name
                ),
            );
            d.label = "not defined at the top level of the module".into();
            d.help = Some(match hint {
                Some(h) => format!("a similar name exists: `{h}`"),
                None if names.is_empty() => {
                    "the module defines no functions (`def`) at its top level".into()
                }
                None => format!("it defines {}", names.join(", ")),
            });
            lower_args(self);
            return self.err_expr(span);
        };
        let def_at = format!("`{}` is defined at {file}:{}", f.name, f.line);
        if f.is_async || f.required_keyword_only {
            let why = if f.is_async {
                "is `async`: KernelScript cannot await it"
            } else {
                "has keyword-only parameters without defaults: KernelScript passes arguments by position"
            };
            self.c
                .error(codes::PYTHON, span, format!("`{call}` {why}"))
                .notes
                .push(def_at);
            lower_args(self);
            return self.err_expr(span);
        }
        let required = f.params.iter().filter(|p| !p.has_default).count();
        let max = f.params.len();
        if args.len() < required || (!f.varargs && args.len() > max) {
            let takes = if f.varargs {
                format!("at least {required}")
            } else if required == max {
                format!("{max}")
            } else {
                format!("{required} to {max}")
            };
            let plural = if takes == "1" { "" } else { "s" };
            let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
            let d = self.c.error(
                codes::PYTHON,
                span,
                format!(
                    "`{call}` takes {takes} argument{plural} but {} {} given",
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
            );
            d.notes
                .push(format!("{def_at}: `def {}({})`", f.name, params.join(", ")));
            lower_args(self);
            return self.err_expr(span);
        }
        let mut lowered = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            lowered.push(self.python_arg(&call, &f, i, a));
        }
        let Some(ret) = self.python_ret(&call, &f, span, expect, &def_at) else {
            return self.err_expr(span);
        };
        self.mk(
            ir::ExprKind::Call {
                callee: ir::Callee::Python {
                    module: id,
                    function: f.name.clone(),
                },
                args: lowered,
            },
            ret,
            span,
        )
    }

    fn python_arg(&mut self, call: &str, f: &PyFunction, i: usize, a: &ast::Expr) -> ir::Expr {
        let ann = f.params.get(i).and_then(|p| p.annotation.clone());
        let want = ann.as_deref().map(py_ty);
        let hint = match want {
            Some(PyTy::Bool) => Some(self.c.types.bool_),
            Some(PyTy::Str) => None,
            _ => Some(self.c.types.i64_),
        };
        let x = self.expr(a, hint);
        if self.t().is_error(x.ty) {
            return x;
        }
        let kind = match self.t().kind(x.ty) {
            TypeKind::Bool => Some(PyTy::Bool),
            TypeKind::Str(_) => Some(PyTy::Str),
            TypeKind::Int(_) | TypeKind::Enum(_) | TypeKind::Char => Some(PyTy::Int),
            _ => None,
        };
        let found = self.t().display(x.ty);
        let Some(kind) = kind else {
            self.c
                .error(
                    codes::PYTHON,
                    a.span,
                    format!("`{found}` cannot be passed to Python"),
                )
                .help =
                Some("integers, `bool` and `str(N)` convert to Python's int, bool and str".into());
            return self.err_expr(a.span);
        };
        if let (Some(ann), Some(w)) = (&ann, want) {
            if w != kind {
                let pname = &f.params[i].name;
                let d = self.c.error(codes::PYTHON,
                    a.span,
                    format!("parameter `{pname}` of `{call}` is annotated `{ann}`, but this is `{found}`"),
                );
                d.label = format!("expected `{ann}`");
                d.help = Some(match w {
                    PyTy::Other | PyTy::None => format!(
                        "KernelScript passes integers as int, `bool` as bool and `str(N)` as str; `{ann}` is none of them"
                    ),
                    _ => "convert it, or change the annotation".into(),
                });
                return self.err_expr(a.span);
            }
        }
        x
    }

    /// The call's result type, or `None` after reporting why it is unknown.
    fn python_ret(
        &mut self,
        call: &str,
        f: &PyFunction,
        span: Span,
        expect: PyExpect,
        def_at: &str,
    ) -> Option<TypeId> {
        let void = self.c.types.void;
        let ann = f.returns.as_deref().map(py_ty);
        let expected = match expect {
            PyExpect::Discard => return Some(void),
            PyExpect::Value(t) => t.filter(|t| !self.t().is_error(*t)),
        };
        let fits = |fx: &Self, t: TypeId, k: PyTy| match fx.t().kind(t) {
            TypeKind::Bool => k == PyTy::Bool,
            TypeKind::Str(_) => k == PyTy::Str,
            TypeKind::Int(_) => k == PyTy::Int,
            _ => false,
        };
        match ann {
            Some(PyTy::Int) => Some(
                expected
                    .filter(|t| fits(self, *t, PyTy::Int))
                    .unwrap_or(self.c.types.i64_),
            ),
            Some(PyTy::Bool) => Some(self.c.types.bool_),
            Some(PyTy::Str) => Some(
                expected
                    .filter(|t| fits(self, *t, PyTy::Str))
                    .unwrap_or_else(|| self.c.types.str_(DEFAULT_STR)),
            ),
            Some(PyTy::None) => Some(void),
            Some(PyTy::Other) => {
                let ann = f.returns.clone().unwrap_or_default();
                let d = self.c.error(
                    codes::PYTHON,
                    span,
                    format!("`{call}` returns `{ann}`, which KernelScript cannot receive"),
                );
                d.notes.push(def_at.to_string());
                d.help = Some("results convert from int, bool and str: return one of them, or call it as a statement to discard the result".into());
                None
            }
            None => match expected {
                Some(t)
                    if fits(self, t, PyTy::Int)
                        || fits(self, t, PyTy::Bool)
                        || fits(self, t, PyTy::Str) =>
                {
                    Some(t)
                }
                Some(t) => {
                    let shown = self.t().display(t);
                    self.c
                        .error(
                            codes::PYTHON,
                            span,
                            format!("a Python result cannot convert to `{shown}`"),
                        )
                        .help =
                        Some("Python results convert to integers, `bool` and `str(N)`".into());
                    None
                }
                None => {
                    let d = self.c.error(
                        codes::PYTHON,
                        span,
                        format!("the type of `{call}`'s result is unknown"),
                    );
                    d.label = "unannotated Python function".into();
                    d.notes.push(def_at.to_string());
                    d.help = Some(format!(
                        "annotate it (`def {}(...) -> int:`, `-> bool`, `-> str`) or give the call a type (`var x: i64 = {call}(...)`)",
                        f.name
                    ));
                    None
                }
            },
        }
    }
}
