//! Rule packs: the file format, loading, and validation.
//!
//! A [`RuleSet`] is one or more packs loaded together and checked as a whole (sets and
//! variant spellings are shared between packs). It holds rules in resolved form — set
//! references expanded, regexes checked, thresholds agreed — ready for
//! [`Engine::new`](crate::Engine::new) to compile. Problems are collected, not thrown one by
//! one: a pack author sees every error of a file at once, each located by file, line and
//! column.

mod bundled;
mod load;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use load::RuleSetBuilder;

use crate::error::Error;
use crate::verdict::Level;

/// Score thresholds for the levels: a score at or above `warn` is a warning, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    /// Lowest score that earns a notice.
    pub notice: u32,
    /// Lowest score that earns a warning.
    pub warn: u32,
    /// Lowest score that earns a block.
    pub block: u32,
}

impl Default for Levels {
    fn default() -> Levels {
        Levels { notice: 30, warn: 60, block: 100 }
    }
}

/// Where something was written: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file or source name.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Metadata of one loaded pack.
#[derive(Debug, Clone, Serialize)]
pub struct PackInfo {
    /// Unique pack id.
    pub id: String,
    /// The pack's version string.
    pub version: String,
    /// What the pack is for.
    pub description: String,
    /// Language and dialect tags.
    pub languages: Vec<String>,
    /// The file it came from.
    pub file: String,
}

/// The kinds of event a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kinds {
    pub message: bool,
    pub transaction: bool,
}

/// A term after set expansion: what one slot of a condition may match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Atom {
    /// A literal, already folded and expanded to one spelling.
    Literal(String),
    /// A regular expression over folded text.
    Regex(String),
}

/// Numeric comparison; all bounds must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumCmp {
    pub ge: Option<f64>,
    pub gt: Option<f64>,
    pub le: Option<f64>,
    pub lt: Option<f64>,
    pub eq: Option<f64>,
    /// The same bounds in fen (ge, gt, le, lt, eq), rounded once here rather than per
    /// comparison (where the optimiser would also round the absent ones' undefined bits).
    fen: [Option<i128>; 5],
}

impl NumCmp {
    pub(crate) fn new(
        ge: Option<f64>,
        gt: Option<f64>,
        le: Option<f64>,
        lt: Option<f64>,
        eq: Option<f64>,
    ) -> NumCmp {
        let fen = |b: Option<f64>| b.map(|b| (b * 100.0).round() as i128);
        NumCmp { ge, gt, le, lt, eq, fen: [fen(ge), fen(gt), fen(le), fen(lt), fen(eq)] }
    }

    pub(crate) fn holds(&self, v: f64) -> bool {
        self.ge.is_none_or(|b| v >= b)
            && self.gt.is_none_or(|b| v > b)
            && self.le.is_none_or(|b| v <= b)
            && self.lt.is_none_or(|b| v < b)
            && self.eq.is_none_or(|b| v == b)
    }

    /// Compares an amount of money exactly: the bounds, written in yuan, are taken to the
    /// nearest fen and compared as integers, so 0.1 + 0.2 yuan is 0.3 yuan.
    pub(crate) fn holds_fen(&self, fen: u64) -> bool {
        let v = fen as i128;
        let [ge, gt, le, lt, eq] = self.fen;
        ge.is_none_or(|b| v >= b)
            && gt.is_none_or(|b| v > b)
            && le.is_none_or(|b| v <= b)
            && lt.is_none_or(|b| v < b)
            && eq.is_none_or(|b| v == b)
    }

    fn bounds(&self) -> impl Iterator<Item = f64> {
        [self.ge, self.gt, self.le, self.lt, self.eq].into_iter().flatten()
    }

    /// Whether every bound is a finite number.
    pub(crate) fn is_finite(&self) -> bool {
        self.bounds().all(f64::is_finite)
    }
}

/// A scalar an event field is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// Comparison of an event field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FieldCmp {
    pub name: String,
    pub eq: Option<Scalar>,
    pub ne: Option<Scalar>,
    pub one_of: Option<Vec<Scalar>>,
    pub num: NumCmp,
    /// Folded, so it compares like rule literals.
    pub contains: Option<String>,
    pub exists: Option<bool>,
}

/// A resolved condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// At least one atom appears.
    Any(Vec<Atom>),
    /// Each slot has at least one atom appearing.
    All(Vec<Vec<Atom>>),
    /// No atom appears.
    None(Vec<Atom>),
    /// An atom of each group, at most `within` folded characters apart.
    Near {
        groups: Vec<Vec<Atom>>,
        within: u32,
        ordered: bool,
    },
    /// An amount mentioned in the text compares so (in yuan).
    Amount(NumCmp),
    /// An event field compares so.
    Field(FieldCmp),
    AllOf(Vec<Cond>),
    AnyOf(Vec<Cond>),
    NoneOf(Vec<Cond>),
}

/// What counter-evidence does to a hit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Counter {
    pub when: Cond,
    pub cancel: bool,
    pub points: i64,
    pub cap: Option<u32>,
    pub max_level: Option<Level>,
}

/// A windowed aggregate: the rule hits on an event that passes its `when` when the events that
/// passed it under the same key within `within_ms` add up so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Window {
    /// The field whose value keys the state (`merchant`, `payee`, `conversation`…).
    pub key: String,
    pub within_ms: i64,
    pub count: Option<NumCmp>,
    /// Sum of transaction amounts, compared in fen.
    pub sum: Option<NumCmp>,
    /// Number of distinct values of a field.
    pub distinct: Option<(String, NumCmp)>,
    /// Only events whose value of this field the key first saw within the window count.
    pub new: Option<String>,
}

/// What one sequence step matches on an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StepMatch {
    /// This rule hit.
    Rule(String),
    /// Some rule of this category hit.
    Category(String),
    /// The sequence rule's own `when` held (its last step).
    Own,
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Step {
    pub matcher: StepMatch,
    /// No such event between the neighbouring steps.
    pub negated: bool,
    /// The field that names the party of this step.
    pub key: String,
}

/// Ordered steps by one party within a time window; the rule hits on the event that
/// completes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sequence {
    pub within_ms: i64,
    pub steps: Vec<Step>,
    /// The event that completes the sequence must carry a value of this field that its party
    /// first saw within the window.
    pub new: Option<String>,
}

/// What makes a rule stateful.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stateful {
    Window(Box<Window>),
    Sequence(Sequence),
}

/// An embedded event stream and what the rule must do on it.
#[derive(Debug, Clone)]
pub(crate) struct StreamExample {
    pub events: Vec<crate::event::Event>,
    /// Hit on the last event (`true`), or on none (`false`).
    pub should_match: bool,
    pub location: Location,
}

/// A rule in resolved form.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: String,
    pub title: String,
    pub category: String,
    pub kinds: Kinds,
    pub points: u32,
    pub advice: Vec<String>,
    pub tags: Vec<String>,
    /// Rules of one group are alternatives: only the strongest hit of a group counts.
    pub group: Option<String>,
    /// The per-event condition; `None` only for a sequence whose steps say it all.
    pub when: Option<Cond>,
    /// A window or sequence, scored by a [`Monitor`](crate::Monitor).
    pub stateful: Option<Stateful>,
    /// The rule's own counters followed by its pack's.
    pub counters: Vec<Counter>,
    pub examples_match: Vec<(String, Location)>,
    pub examples_no_match: Vec<(String, Location)>,
    pub examples_stream: Vec<StreamExample>,
    pub location: Location,
}

/// Rule packs loaded together and validated, ready to compile.
///
/// ```
/// let rules = fanzha::RuleSet::from_str("demo.toml", r#"
/// [pack]
/// id = "demo"
/// version = "1"
///
/// [[rule]]
/// id = "demo.print-first"
/// title = "Print before paying"
/// category = "fake_large_order"
/// points = 70
/// when = { any = ["先出票"] }
/// "#)?;
/// assert_eq!(rules.rule_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) packs: Vec<PackInfo>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) levels: Levels,
    pub(crate) limits: crate::limits::Limits,
    /// Checksum of the sources, names and texts (see `load::sources_digest`).
    pub(crate) digest: u32,
}

impl RuleSet {
    /// A builder to load several files or sources as one set.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::new()
    }

    /// The checksum a rule set of the bundled packs, and nothing else, has.
    pub(crate) fn bundled_digest() -> u32 {
        load::sources_digest(bundled::PACKS.iter().copied())
    }

    /// The packs bundled with fanzha (compiled into the crate; no files needed).
    pub fn bundled() -> Result<RuleSet, Error> {
        RuleSetBuilder::new().add_bundled().build()
    }

    /// Loads one pack from a string; `name` is used in error locations.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(name: &str, source: &str) -> Result<RuleSet, Error> {
        let mut b = RuleSetBuilder::new();
        b.add_source(name, source);
        b.build()
    }

    /// Loads a pack file, or every `*.toml` file in a directory (in name order).
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<RuleSet, Error> {
        let mut b = RuleSetBuilder::new();
        b.add_path(path);
        b.build()
    }

    /// The loaded packs.
    pub fn packs(&self) -> &[PackInfo] {
        &self.packs
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Score thresholds.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// The limits the set was loaded under; the engine compiled from it keeps them.
    pub fn limits(&self) -> crate::limits::Limits {
        self.limits
    }

    /// A version string naming every pack and its version, e.g. `common@1.0.0+merchant@1.2`.
    pub fn version(&self) -> String {
        let parts: Vec<String> = self.packs.iter().map(|p| format!("{}@{}", p.id, p.version)).collect();
        parts.join("+")
    }
}

/// A read-only view of one rule of a [`RuleSet`].
#[derive(Debug, Clone, Copy)]
pub struct RuleRef<'a>(&'a Rule);

impl<'a> RuleRef<'a> {
    /// The rule id.
    pub fn id(&self) -> &'a str {
        &self.0.id
    }
    /// The one-line title.
    pub fn title(&self) -> &'a str {
        &self.0.title
    }
    /// The category.
    pub fn category(&self) -> &'a str {
        &self.0.category
    }
    /// Points added when the rule hits.
    pub fn points(&self) -> u32 {
        self.0.points
    }
    /// Tags.
    pub fn tags(&self) -> &'a [String] {
        &self.0.tags
    }
    /// Where the rule is written.
    pub fn location(&self) -> &'a Location {
        &self.0.location
    }
}

impl RuleSet {
    /// The rules, in load order.
    pub fn rules(&self) -> impl Iterator<Item = RuleRef<'_>> {
        self.rules.iter().map(RuleRef)
    }
}
