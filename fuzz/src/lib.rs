//! The bodies of fanzha's fuzz targets, one module per target.
//!
//! Each module has `pub fn run(data: &[u8])`, which panics when a property fails. The
//! libFuzzer binaries in `fuzz_targets/` call it (nightly, `cargo fuzz run <target>`), and
//! `tests/replay.rs` calls it on every file of `corpus/<target>/` and `regressions/<target>/`
//! (stable, `cargo test`). What each target checks is in its module's docs and in
//! `docs/FUZZING.md`.

use std::sync::OnceLock;

use fanzha::{Engine, Levels, Verdict};

pub mod bundle;
pub mod c_json;
pub mod differential;
pub mod fold;
pub mod jsonl;
pub mod monitor;
pub mod reference;
pub mod rules;
pub mod scan;

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets, by name, as `cargo fuzz` and the corpus directories name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("fold", fold::run),
    ("scan", scan::run),
    ("rules", rules::run),
    ("jsonl", jsonl::run),
    ("monitor", monitor::run),
    ("c_json", c_json::run),
    ("differential", differential::run),
    ("bundle", bundle::run),
];

/// The bundled packs, compiled once per process.
pub fn bundled() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::bundled().expect("the bundled packs compile"))
}

/// Checks what every verdict promises about the text it was scored on: spans are non-empty
/// character ranges inside the text, each with its evidence (the original text of the span);
/// the level is the one the score earns; the score is at most the sum of the hits' points;
/// hits are ordered by points, then rule id.
///
/// With `text_only` (a message scanned without a monitor), every hit must also show some
/// evidence: the rules can only have seen the text.
pub fn check_verdict(v: &Verdict, text: &str, levels: Levels, text_only: bool) {
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(v.level, levels.level(v.score), "level {:?} for score {} ({levels:?})", v.level, v.score);
    let sum = v.hits.iter().fold(0u32, |s, h| s.saturating_add(h.score));
    assert!(v.score <= sum, "score {} over the hits' sum {sum}", v.score);
    for pair in v.hits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.score > b.score || (a.score == b.score && a.rule <= b.rule),
            "hits out of order: {} ({}) before {} ({})",
            a.rule,
            a.score,
            b.rule,
            b.score
        );
    }
    for h in &v.hits {
        assert!(h.score > 0, "hit {} with no points", h.rule);
        assert_eq!(h.evidence.len(), h.spans.len(), "hit {}: evidence and spans differ in number", h.rule);
        for (e, &[a, b]) in h.evidence.iter().zip(&h.spans) {
            assert!(a < b && b <= chars.len(), "hit {}: span [{a}, {b}) outside 0..{}", h.rule, chars.len());
            let original: String = chars[a..b].iter().collect();
            assert_eq!(e, &original, "hit {}: evidence is not the text of span [{a}, {b})", h.rule);
        }
        // Spans are merged: sorted, apart from each other.
        assert!(
            h.spans.windows(2).all(|s| s[0][1] < s[1][0]),
            "hit {}: spans not merged: {:?}",
            h.rule,
            h.spans
        );
        if text_only {
            assert!(!h.evidence.is_empty(), "hit {} on a text shows no evidence", h.rule);
        }
    }
}

/// Reads bytes as a stream of small choices; past the end every choice is 0.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte (0 past the end).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    /// One of `items`.
    pub fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.below(items.len())]
    }

    /// The rest of the bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
