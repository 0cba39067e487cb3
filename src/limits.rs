//! Limits on what rule files and messages may cost, so that a mistaken or hostile rule file,
//! or one enormous message, is a clear error or a bounded scan, never a crash or a stall.
//!
//! Every limit has a default that fits real rule packs and chat with a wide margin (the
//! bundled packs use a few percent of each) and can be raised for unusual deployments. Rule
//! limits are checked while loading and compiling and reported as located diagnostics with
//! code `E010`; the message limit changes how a message is scanned, never whether.
//! `docs/SECURITY.md` lists them with the reasoning behind each default.

/// Limits on what rule files and messages may cost: a mistaken or hostile rule file, or one
/// enormous message, becomes a clear error or a bounded scan, never a crash or a stall.
///
/// Set them on a [`RuleSetBuilder`](crate::RuleSetBuilder) with
/// [`limits`](crate::RuleSetBuilder::limits); the compiled [`Engine`](crate::Engine) keeps
/// them for scanning.
///
/// ```
/// use fanzha::{Limits, RuleSet};
///
/// let pack = r#"
/// [pack]
/// id = "p"
/// version = "1"
///
/// [[rule]]
/// id = "p.deep"
/// title = "t"
/// category = "other"
/// points = 10
/// when = { any_of = [{ any_of = [{ any = ["先出票"] }] }] }
/// "#;
/// let strict = Limits { condition_depth: 1, ..Limits::default() };
/// let err = RuleSet::builder().limits(strict).add_source("p.toml", pack).build().unwrap_err();
/// assert_eq!(err.diagnostics()[0].code, "E010");
/// assert_eq!(err.diagnostics()[0].line, 11);
/// assert!(RuleSet::from_str("p.toml", pack).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Bytes of one rule file or source. Default 8 MiB (the bundled packs total 290 KB).
    pub source_bytes: usize,
    /// Rules in one pack. Default 20,000.
    pub rules_per_pack: usize,
    /// Distinct literal spellings in the whole rule set, after variants and pinyin. Default
    /// 1,000,000 (the bundled packs have about 76,000, most of them pinyin spellings).
    pub literals: usize,
    /// Spellings one literal may expand to through variants. Default 512.
    pub spellings_per_literal: usize,
    /// Nesting depth of conditions (`all_of` inside `any_of` inside …). Default 32.
    pub condition_depth: usize,
    /// Bytes of one compiled regular expression (the regex crate's size limits, for its
    /// NFA and its lazy DFA's cache). Default 4 MiB.
    pub regex_bytes: usize,
    /// Bytes of the whole compiled rule set: the literal automaton and every regex. Default
    /// 256 MiB (the bundled packs compile to about 5 MiB).
    pub compiled_bytes: usize,
    /// Bytes of message text scanned in one piece. A longer text is scanned in pieces of
    /// this size that overlap by [`Limits::WINDOW_OVERLAP`] bytes, so the scratch memory of
    /// a scanner stays bounded whatever it is given. Default 1 MiB.
    pub message_bytes: usize,
    /// Occurrences of one term that a hit lists as evidence; further ones still count but
    /// are not listed, so a message repeating a phrase a million times gives a short
    /// verdict. A text scanned in pieces lists at most four times this per hit in all.
    /// Default 16.
    pub spans_per_hit: usize,
}

impl Limits {
    /// Bytes by which the pieces of an over-long message overlap: a phrase, a `near` or a
    /// regex match shorter than this is found even where it straddles two pieces.
    pub const WINDOW_OVERLAP: usize = 4096;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            source_bytes: 8 << 20,
            rules_per_pack: 20_000,
            literals: 1_000_000,
            spellings_per_literal: 512,
            condition_depth: 32,
            regex_bytes: 4 << 20,
            compiled_bytes: 256 << 20,
            message_bytes: 1 << 20,
            spans_per_hit: 16,
        }
    }
}
