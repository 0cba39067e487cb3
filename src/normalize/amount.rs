//! placeholder until the amount parser lands
