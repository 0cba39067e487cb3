mod bundled;
pub(super) mod cli;
mod conformance;
mod contract;
mod holdout;
mod monitor;
mod properties;
mod reference;
mod reload;
