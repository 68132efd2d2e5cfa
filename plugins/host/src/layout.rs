//! The layout check of a plugin's root module: abi_stable's checker, plus
//! the one thing ksc accepts that it refuses (a plugin built before fields
//! were added at the end of `BackendMod`), and the first difference in
//! one line when it fails.

use abi_stable::abi_stability::abi_checking::{
    check_layout_compatibility, AbiInstability, AbiInstabilityError, AbiInstabilityErrors,
};
use abi_stable::type_layout::{TLFieldOrFunction, TypeLayout};
use abi_stable::StableAbi;
use ksc_plugin_abi::BackendModRef;

use crate::ABI_VERSION;

/// The number of fields every plugin's root module has (up to `generate`,
/// its `last_prefix_field`).
const PREFIX_FIELDS: usize = 6;

/// Check the plugin's root module against ksc's with abi_stable's checker,
/// accepting one thing it refuses: a plugin built before fields were added
/// at the end of `BackendMod` (abi_stable 0.11 lets the plugin have more
/// fields than the host, not fewer). Every field both have is still
/// checked, since the checker compares all common fields before giving
/// its errors. Returns the first real difference, in one line.
pub(crate) fn check_root_layout(plugin: &'static TypeLayout) -> Result<(), String> {
    let Err(errors) = check_layout_compatibility(BackendModRef::LAYOUT, plugin) else {
        return Ok(());
    };
    let older_plugin = |e: &AbiInstabilityError| {
        let on_root = match e.stack_trace.last() {
            Some(step) => match &step.expected {
                TLFieldOrFunction::Field(f) => f.layout().name() == "BackendMod",
                TLFieldOrFunction::Function(_) => false,
            },
            None => false,
        };
        e.errs.iter().all(|x| match x {
            AbiInstability::FieldCountMismatch(v) => {
                on_root && v.expected > v.found && v.found >= PREFIX_FIELDS
            }
            AbiInstability::Size(v) => on_root && v.expected > v.found,
            _ => false,
        })
    };
    if errors.errors.iter().all(older_plugin) {
        return Ok(());
    }
    Err(first_difference(&errors, &older_plugin))
}

/// The whole message of a layout mismatch, for a plugin saying `abi`.
pub(crate) fn mismatch_detail(abi: &str, first: &str) -> String {
    if abi == ABI_VERSION {
        format!(
            "says plugin ABI {abi} like this ksc, but its types differ from ksc's: {first}; \
             it was built against a changed ksc-plugin-abi whose ABI version was not bumped: \
             rebuild it against the ksc-plugin-abi of this ksc"
        )
    } else {
        format!("its types differ from ksc's: {first}")
    }
}

/// The first difference abi_stable found, in one line: where (the path of
/// fields from the root module down) and what.
fn first_difference(
    e: &AbiInstabilityErrors,
    tolerated: &dyn Fn(&AbiInstabilityError) -> bool,
) -> String {
    let Some(first) = e.errors.iter().find(|x| !tolerated(x)) else {
        return "(abi_stable reported no detail)".to_string();
    };
    // Field names from the root down; a tuple field (the `0` of
    // `PrefixRef`) by its type's name (`BackendMod`).
    let mut place = Vec::new();
    for step in first.stack_trace.iter() {
        place.push(match &step.expected {
            TLFieldOrFunction::Field(f) if f.name().parse::<u32>().is_ok() => {
                f.layout().name().to_string()
            }
            TLFieldOrFunction::Field(f) => f.name().to_string(),
            TLFieldOrFunction::Function(f) => format!("{}()", f.name),
        });
    }
    if place.is_empty() {
        place.push(e.interface.name().to_string());
    }
    let what = match &first.errs[0] {
        AbiInstability::FieldCountMismatch(v) => format!(
            "ksc's type has {} fields, the plugin's {}",
            v.expected, v.found
        ),
        AbiInstability::UnexpectedField(v) => format!(
            "ksc has the field `{}: {}` where the plugin has `{}: {}`",
            v.expected.name(),
            v.expected.full_type(),
            v.found.name(),
            v.found.full_type()
        ),
        AbiInstability::Name(v) => {
            format!("ksc's type is `{}`, the plugin's `{}`", v.expected, v.found)
        }
        AbiInstability::Size(v) => format!(
            "ksc's type is {} bytes, the plugin's {}",
            v.expected, v.found
        ),
        AbiInstability::Alignment(v) => format!(
            "ksc's type is aligned to {} bytes, the plugin's to {}",
            v.expected, v.found
        ),
        AbiInstability::TooManyVariants(v) => format!(
            "ksc's enum has {} variants, the plugin's {}",
            v.expected, v.found
        ),
        AbiInstability::UnexpectedVariant(v) => format!(
            "ksc has the variant `{}` where the plugin has `{}`",
            v.expected, v.found
        ),
        AbiInstability::Package(v) => format!(
            "ksc's type comes from the crate `{}`, the plugin's from `{}`",
            v.expected, v.found
        ),
        AbiInstability::PackageVersion(v) => format!(
            "ksc's type comes from crate version {}, the plugin's from {}",
            v.expected, v.found
        ),
        other => {
            let text = format!("{other:?}");
            let mut short: String = text.chars().take(160).collect();
            if short.len() < text.len() {
                short.push_str("...");
            }
            short
        }
    };
    format!("at `{}`, {what}", place.join("."))
}
