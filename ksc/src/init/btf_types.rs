//! BTF types as KernelScript and C text, for the templates of `ksc init`:
//! parameter and return types, parameter names, prototypes for comments.

use ksc_midend::btf::BtfType;

/// A BTF type as C, for comments.
pub(super) fn c_type(t: &BtfType) -> String {
    match t {
        BtfType::Int { name, .. } => name.clone(),
        BtfType::Char => "char".into(),
        BtfType::Bool => "bool".into(),
        BtfType::Void => "void".into(),
        BtfType::Pointer(p) => match &**p {
            BtfType::FuncProto { .. } => "function pointer".into(),
            p => format!("{} *", c_type(p)),
        },
        BtfType::Array(e, n) => format!("{}[{n}]", c_type(e)),
        BtfType::Struct(l) => {
            let kw = if l.is_union { "union" } else { "struct" };
            if l.name.is_empty() {
                format!("{kw} {{...}}")
            } else {
                format!("{kw} {}", l.name)
            }
        }
        BtfType::Enum { name, .. } if name.is_empty() => "enum".into(),
        BtfType::Enum { name, .. } => format!("enum {name}"),
        BtfType::FuncProto { .. } => "function".into(),
        BtfType::Unknown(s) => s.clone(),
    }
}

/// An integer of BTF as a KernelScript type.
fn int_type(bits: u32, signed: bool) -> Option<&'static str> {
    Some(match (bits, signed) {
        (8, false) => "u8",
        (16, false) => "u16",
        (32, false) => "u32",
        (64, false) => "u64",
        (8, true) => "i8",
        (16, true) => "i16",
        (32, true) => "i32",
        (64, true) => "i64",
        _ => return None,
    })
}

/// A parameter or return type of BTF as KernelScript: integers by width,
/// pointers to integers typed, to the two context structs KernelScript
/// knows by name, and to anything else as `*u8`. `None`: no KernelScript
/// equivalent (structs by value, 128-bit integers, floats).
pub(super) fn ks_type(t: &BtfType) -> Option<String> {
    Some(match t {
        BtfType::Int { bits, signed, .. } => int_type(*bits, *signed)?.into(),
        BtfType::Char => "u8".into(),
        BtfType::Bool => "bool".into(),
        BtfType::Enum { size, .. } => int_type(size * 8, false)?.into(),
        BtfType::Pointer(p) => match &**p {
            BtfType::Int { bits, signed, .. } => {
                format!("*{}", int_type(*bits, *signed).unwrap_or("u8"))
            }
            BtfType::Struct(l) if l.name == "xdp_md" || l.name == "__sk_buff" => {
                format!("*{}", l.name)
            }
            _ => "*u8".into(),
        },
        _ => return None,
    })
}

/// Parameter names usable in KernelScript: BTF's, or for function-pointer
/// members (which have none) the pointee struct's name (`sock`), else
/// `argN`; keywords get a trailing `_`, repeats their position.
pub(super) fn param_names(ps: &[(String, BtfType)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, (n, t)) in ps.iter().enumerate() {
        let mut name = match (n.as_str(), t) {
            ("", BtfType::Pointer(p)) => match &**p {
                BtfType::Struct(l) if !l.name.is_empty() => l.name.clone(),
                _ => format!("arg{i}"),
            },
            ("", _) => format!("arg{i}"),
            (n, _) => n.to_string(),
        };
        if ksc_frontend::token::Tok::keyword(&name).is_some() {
            name.push('_');
        }
        if names.contains(&name) {
            name = format!("{name}{i}");
        }
        names.push(name);
    }
    names
}

/// `(a: T, b: U)` from BTF parameters; `Err(i)` when parameter `i` has no
/// KernelScript type.
pub(super) fn params(ps: &[(String, BtfType)]) -> Result<Vec<(String, String)>, usize> {
    let names = param_names(ps);
    ps.iter()
        .enumerate()
        .map(|(i, (_, t))| ks_type(t).map(|k| (names[i].clone(), k)).ok_or(i))
        .collect()
}

pub(super) fn c_proto(name: &str, ps: &[(String, BtfType)], ret: &BtfType) -> String {
    let ps: Vec<String> = ps
        .iter()
        .map(|(n, t)| {
            let c = c_type(t);
            if n.is_empty() || c.ends_with('*') {
                format!("{c}{n}")
            } else {
                format!("{c} {n}")
            }
        })
        .collect();
    format!("{} {name}({})", c_type(ret), ps.join(", "))
}
