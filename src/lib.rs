mod normalize;
pub use normalize::{fold, Folded};
