mod bundle;
mod bundled;
mod contract;
mod diagnostics;
mod holdout;
mod layers;
mod limits;
mod mixed;
mod monitor;
mod partition;
mod properties;
mod reference;
mod reload;

/// The repository's root (crates/fanzha-cli's tests share `mixed` and give it theirs).
pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");
