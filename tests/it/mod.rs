mod bundled;
mod cli;
mod contract;
mod holdout;
mod properties;
mod reference;
mod reload;
