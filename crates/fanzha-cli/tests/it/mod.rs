mod bad_input;
mod bundle;
pub(super) mod cli;
mod conformance;
mod corpus;
mod diagnostics;
mod evasion;
mod labelled;
mod limits;
#[path = "../../../../tests/it/mixed.rs"]
mod mixed;
mod partition;
mod privacy;
mod streams;

/// The repository's root: the command runs there, and the tests read rules/, tests/data and
/// examples/ from there.
pub(crate) const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A path relative to the repository's root, for reading its data in the test process.
pub(crate) fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(ROOT).join(path)
}
