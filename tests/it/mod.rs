mod bundled;
pub(super) mod cli;
mod contract;
mod holdout;
mod monitor;
mod properties;
mod reference;
mod reload;
