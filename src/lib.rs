//! fanzha (反诈, "anti-fraud") is an embeddable early-warning rules engine for the scams that
//! target lottery shops, snack shops and their customers.
//!
//! Anti-fraud specialists write fraud patterns as declarative TOML rule packs (see
//! `docs/RULES.md`). fanzha folds every message — width, case, traditional characters,
//! invisible characters, separators inserted to dodge filters, inline romanisation — matches
//! all rule literals at once with one Aho-Corasick automaton, evaluates only the rules some
//! literal of which hit, and returns a [`Verdict`]: a level, a score, and every hit with its
//! rule, evidence, spans in the original text, and advice.
//!
//! # The main types
//!
//! * [`RuleSet`] — packs loaded and validated; errors are [`Diagnostic`]s located by file,
//!   line and column.
//! * [`Engine`] — the compiled rules: immutable, `Send + Sync`, cheap to clone.
//! * [`Scanner`] — per-thread scratch space; scanning a message that hits nothing allocates
//!   nothing.
//! * [`Event`] and [`Verdict`] — the input and output contracts.
//! * [`Monitor`] — an engine with bounded per-key state, for windows and sequences over a
//!   stream; [`Partitioning`] splits a stream over many monitors with the same verdicts.
//!
//! # Example
//!
//! ```
//! use fanzha::{Engine, Level, RuleSet};
//!
//! let rules = RuleSet::from_str("shop.toml", r#"
//! [pack]
//! id = "shop"
//! version = "1.0.0"
//!
//! [variants]
//! "出票" = ["出piao"]
//!
//! [[rule]]
//! id = "shop.print-first"
//! title = "Asks to print tickets before paying"
//! category = "fake_large_order"
//! points = 70
//! advice = ["未收到款项前不要出票"]
//! when = { any = ["先出票"] }
//! "#)?;
//! let engine = Engine::new(&rules)?;
//! let mut scanner = engine.scanner();
//!
//! let v = scanner.scan_text("老板先 出-票，钱马上到");
//! assert_eq!(v.level, Level::Warn);
//! assert_eq!(v.hits[0].evidence, ["先 出-票"]);
//! assert_eq!(v.hits[0].spans, [[2, 7]]);
//!
//! // Traditional characters and pinyin variants are the same script.
//! assert_eq!(scanner.scan_text("頭家先出piao啦").level, Level::Warn);
//! assert_eq!(scanner.scan_text("今天出票机坏了").level, Level::None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

// Layers, lowest first; each imports only from those above it in this list (docs/INTERNALS.md,
// checked by tests/it/layers.rs).
mod compile;
mod error;
#[cfg(feature = "evasion")]
pub mod evasion;
mod event;
mod limits;
mod live;
mod monitor;
mod normalize;
mod partition;
mod pipeline;
mod privacy;
mod rules;
mod scan;
mod score;
mod selftest;
mod verdict;

pub use compile::{BundleInfo, Stats};
pub use error::{Diagnostic, Error};
pub use event::{Event, EventKind, Timestamp};
pub use limits::Limits;
pub use live::{LiveEngine, LiveScanner};
pub use monitor::{
    LiveMonitor, Monitor, MonitorConfig, MonitorStats, Observed, Placement, StatefulHit, StreamClock,
};
pub use normalize::{fold, Folded};
pub use partition::Partitioning;
pub use pipeline::{Pipeline, PipelineOptions, Progress};
pub use privacy::mask_personal_data;
pub use rules::{Levels, Location, PackInfo, RuleRef, RuleSet, RuleSetBuilder};
pub use scan::{Engine, Explanation, Scanner};
pub use selftest::{ExampleFailure, ExampleReport};
pub use verdict::{Hit, Level, Verdict};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<crate::Engine>();
        assert_send_sync::<crate::LiveEngine>();
        assert_send_sync::<crate::RuleSet>();
        assert_send_sync::<crate::Scanner>();
        assert_send_sync::<crate::Verdict>();
        assert_send_sync::<crate::Event>();
        assert_send_sync::<crate::Monitor>();
        assert_send_sync::<crate::Partitioning>();
        assert_send_sync::<crate::Error>();
    }
}
