//! The registry of diagnostic codes: every error and warning ksc reports
//! about a program has one, shown the way rustc shows its codes
//! (`error[E0501]: ...`), and `ksc explain CODE` prints its explanation
//! from `explanations.md` beside this file (docs/diagnostics.md).
//!
//! One number space, grouped by area (the hundreds); the letter says the
//! severity: `E` for errors, `W` for warnings. A code is never reused
//! for another kind of diagnostic; many call sites that report the same
//! kind share one code.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A registered diagnostic code, e.g. `E0501`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    pub fn is_warning(self) -> bool {
        self.0.starts_with('W')
    }

    /// The registered code spelled `s` (any case).
    pub fn lookup(s: &str) -> Option<Code> {
        ALL.iter()
            .map(|c| c.0)
            .find(|c| c.0.eq_ignore_ascii_case(s.trim()))
    }

    /// The one-line title.
    pub fn title(self) -> &'static str {
        ALL.iter().find(|c| c.0 == self).map_or("", |c| c.1)
    }

    /// The long explanation (markdown): what is wrong, a wrong example
    /// and its fix.
    pub fn explanation(self) -> Option<&'static str> {
        explanation(self.0)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = String::deserialize(d)?;
        Code::lookup(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown diagnostic code `{s}`")))
    }
}

const EXPLANATIONS: &str = include_str!("explanations.md");

/// The section `## CODE` of `explanations.md`, without its heading.
fn explanation(code: &str) -> Option<&'static str> {
    let heading = format!("## {code}");
    let start = EXPLANATIONS
        .match_indices(&heading)
        .map(|(i, _)| i)
        .find(|&i| {
            (i == 0 || EXPLANATIONS[..i].ends_with('\n'))
                && EXPLANATIONS[i + heading.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace() || c == ':')
        })?;
    let body = &EXPLANATIONS[start..];
    let end = body[1..].find("\n## ").map_or(body.len(), |e| e + 2);
    Some(body[..end].trim())
}

/// The codes nearest `s` (by edit distance, then by number), for an
/// unknown code's help.
pub fn nearest(s: &str, n: usize) -> Vec<Code> {
    let s = s.trim().to_ascii_uppercase();
    let mut v: Vec<(usize, Code)> = ALL
        .iter()
        .map(|c| (crate::diag::edit_distance(&s, c.0 .0), c.0))
        .collect();
    v.sort();
    v.into_iter().take(n).map(|x| x.1).collect()
}

macro_rules! codes {
    ($($name:ident = $code:literal, $title:literal;)*) => {
        $(#[doc = $title] pub const $name: Code = Code($code);)*
        /// Every registered code with its title.
        pub const ALL: &[(Code, &str)] = &[$(($name, $title)),*];
    };
}

codes! {
    // E00xx: the compiler itself.
    INTERNAL = "E0001", "internal compiler error";

    // E01xx: syntax.
    SYNTAX = "E0101", "unexpected token";
    UNTERMINATED = "E0102", "unterminated literal or comment";
    BAD_LITERAL = "E0103", "invalid literal or escape";
    UNCLOSED = "E0104", "unclosed delimiter";
    TOO_DEEP = "E0105", "nesting too deep";
    OLD_FORM = "E0106", "syntax form that KernelScript no longer has";

    // E02xx: names and scopes.
    NOT_FOUND = "E0201", "cannot find a name";
    DUPLICATE = "E0202", "a name defined more than once";
    WRONG_KIND = "E0203", "a name used as the wrong kind of item";
    NO_FIELD = "E0204", "no such field or member";
    ASSIGN_CONST = "E0205", "assignment to something that cannot be assigned";
    OUTSIDE_LOOP = "E0206", "`break` or `continue` outside of a loop";
    CYCLIC = "E0207", "a definition that refers to itself";
    UNREACHABLE = "W0208", "unreachable code";

    // E03xx: types.
    MISMATCH = "E0301", "mismatched types";
    OUT_OF_RANGE = "E0302", "a value that does not fit its type";
    BAD_OPERAND = "E0303", "an operator applied to a type it does not work on";
    BAD_CAST = "E0304", "a conversion that is not possible";
    ARITY = "E0305", "wrong number of arguments";
    STRING_SIZE = "E0306", "string size";
    NO_INFER = "E0307", "a type that cannot be inferred";
    MATCH = "E0308", "a `match` that does not cover its values or has bad arms";
    NOT_CONST = "E0309", "a compile-time constant is needed";
    FORMAT = "E0310", "a `print` format that does not fit its values";
    NO_METHOD = "E0311", "KernelScript has no methods";
    VOID = "E0312", "a value where there is none, or none where one is needed";
    UNUSED_COMPARE = "W0313", "a comparison whose result is unused";
    REDUNDANT_ARM = "W0314", "a `match` arm that can never match";
    THROW = "E0316", "`try`, `catch` or `throw` misused";

    // E04xx: kernel and userspace context.
    WRONG_SIDE = "E0401", "a function called from a context it cannot run in";
    KERNEL_ONLY = "E0402", "kernel-side state used from the wrong side";
    TEST_ONLY = "E0403", "`test()` outside of a `@test` function";
    EXTERN = "E0404", "an `extern` declaration with a body";
    FN_POINTER = "E0405", "a function pointer in kernel code";
    LOAD_ATTACH = "E0406", "`load`, `attach` and `register` misused";
    PROGRAM_CALL = "E0407", "an eBPF program called like a function";
    GFP = "E0408", "GFP flags outside of kernel-module code";
    MAY_SLEEP = "W0409", "code that may sleep inside an eBPF program";
    CONFIG_WRITE = "E0410", "a config written from eBPF code";
    EXEC = "E0411", "`exec` misused";
    ALWAYS = "W0412", "a test that always has the same result";

    // E05xx: verifier safety.
    NULL_DEREF = "E0501", "potential null pointer dereference";
    STALE_POINTER = "E0502", "a pointer used after what it points to may be gone";
    PACKET_BOUNDS = "E0503", "a packet access the verifier cannot prove in bounds";
    STACK = "E0504", "too much eBPF stack";
    NOT_RELEASED = "E0505", "a resource not released on every path";
    RECURSION = "E0506", "recursion in eBPF code";
    TAIL_CALL = "E0507", "a tail call the kernel refuses";
    TAIL_CALL_CYCLE = "W0508", "a tail-call cycle";
    UNCAUGHT = "E0509", "an uncaught `throw` in eBPF code";
    UNCAUGHT_USER = "W0510", "an uncaught `throw` in userspace";
    POINTER_CUT = "E0511", "a pointer cut to a narrower integer in eBPF code";
    LOCK = "E0512", "a `bpf_spin_lock` used in a way the verifier refuses";
    BOUNDS = "E0513", "an index or divisor that is certainly wrong";
    NEW_DELETE = "E0514", "`new` or `delete` misused";
    STACK_NEAR = "W0515", "a lot of eBPF stack";
    COPY_WRITE = "W0516", "a write to a copy of a map entry";

    // E06xx: maps.
    MAP_DECL = "E0601", "a map declaration the kernel refuses";
    MAP_FLAGS = "E0602", "a map flag that does not fit the map";
    MAP_USE = "E0603", "a map used in a way it does not support";
    RINGBUF = "E0604", "a ring buffer misused";
    MAP_VALUE = "E0605", "a map value type a map cannot hold";
    MAP_PLACE = "E0606", "a map used from code that cannot reach it";

    // E07xx: attributes and program types.
    ATTRIBUTE = "E0701", "an unknown or misplaced attribute";
    PROGRAM_SIGNATURE = "E0702", "a program's parameters or return type";
    ATTRIBUTE_ARG = "E0703", "an attribute's argument";
    MAIN = "E0704", "`main`'s signature";
    STORAGE = "E0705", "`pin`, `local` and global declarations";
    STRUCT_OPS = "E0706", "a `@struct_ops` implementation";
    PERF = "E0707", "perf-event options";
    GLOBAL_INIT = "E0708", "a global's type or initial value";
    SIGNATURE_WARN = "W0709", "a program parameter that holds nothing";
    PERF_WARN = "W0710", "a perf counter that does not fit its event type";
    STRUCT_OPS_WARN = "W0711", "a `@struct_ops` name the kernel shortens";

    // E08xx: kernels and BTF.
    NOT_IN_KERNEL = "E0801", "something the kernel's BTF does not have";
    MAYBE_NOT_IN_KERNEL = "W0802", "something this kernel's BTF does not have";
    KERNEL_DIFFERS = "E0803", "a declaration that differs from the kernel's";
    KERNEL_DIFFERS_WARN = "W0804", "a declaration that differs from what ksc uses";
    BTF_FILE = "E0805", "the kernel BTF cannot be read";
    TOO_OLD = "E0806", "a feature the target kernel does not have";
    TOO_OLD_WARN = "W0807", "a feature the target kernel may not have";

    // E09xx: include, import, Python.
    FILE = "E0901", "a source file that cannot be read";
    INCLUDE = "E0902", "`include` or `import` of the wrong kind of file";
    IMPORT_CYCLE = "E0903", "modules that import each other";
    MODULE_ITEM = "E0904", "a module's item not found";
    PYTHON = "E0905", "a Python import or call misused";
    HEADER = "E0906", "a header that holds more than declarations";

    // E10xx: deployment files (`ksc deploy`).
    DEPLOY_FILE = "E1001", "a deployment file that does not have the expected shape";
    DEPLOY_PLAN = "E1002", "a deployment that cannot be planned";

    // E11xx: building and testing.
    BUILD_WARN = "W1103", "a warning from a build step";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (c, title) in ALL {
            let s = c.as_str();
            assert!(seen.insert(&s[1..]), "number of {s} used twice");
            assert!(
                s.len() == 5 && (s.starts_with('E') || s.starts_with('W')),
                "{s}"
            );
            assert!(s[1..].chars().all(|c| c.is_ascii_digit()), "{s}");
            assert!(!title.is_empty(), "{s} has no title");
        }
    }

    #[test]
    fn every_code_has_an_explanation_with_a_wrong_example_and_its_fix() {
        for (c, _) in ALL {
            let e = c
                .explanation()
                .unwrap_or_else(|| panic!("{c} has no explanation"));
            assert!(
                e.matches("```").count() >= 4,
                "{c}: an explanation shows a wrong example and its fix:\n{e}"
            );
        }
    }

    #[test]
    fn every_explanation_is_of_a_registered_code() {
        for line in EXPLANATIONS.lines() {
            if let Some(rest) = line.strip_prefix("## ") {
                let code = rest.split([' ', ':']).next().unwrap();
                assert!(Code::lookup(code).is_some(), "{code} is not registered");
            }
        }
    }

    #[test]
    fn lookup_and_nearest() {
        assert_eq!(Code::lookup("e0501"), Some(NULL_DEREF));
        assert_eq!(nearest("E0599", 1).len(), 1);
        assert!(nearest("E0502", 3).contains(&STALE_POINTER));
    }
}
