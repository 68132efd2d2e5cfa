//! "Did you mean" suggestions: the closest known name to a mistyped
//! one, by edit distance.

pub use ksc_frontend::diag::edit_distance;

/// The closest candidate to `name`, if close enough to be a likely typo.
pub(crate) fn suggest<'n>(name: &str, candidates: impl Iterator<Item = &'n str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}
