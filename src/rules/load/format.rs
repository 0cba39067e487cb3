//! The rule-file format as serde reads it: a faithful image of the TOML, with spans, and no
//! meaning yet. The rest of the loader checks it and resolves it into rules.
//!
//! Every table denies unknown keys, so a misspelt key is a located error rather than a
//! silently ignored condition.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type Str = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    pub pack: PackMeta,
    #[serde(default)]
    pub sets: BTreeMap<String, Spanned<Vec<Str>>>,
    #[serde(default)]
    pub variants: BTreeMap<String, Spanned<Vec<Str>>>,
    #[serde(default)]
    pub counter: Vec<CounterRaw>,
    #[serde(default)]
    pub rule: Vec<RuleRaw>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackMeta {
    pub id: Str,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub languages: Vec<String>,
    pub levels: Option<Spanned<LevelsRaw>>,
    /// Generate pinyin spellings of this pack's literals (default true).
    pub pinyin: Option<bool>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct LevelsRaw {
    pub notice: u32,
    pub warn: u32,
    pub block: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleRaw {
    pub id: Str,
    pub title: String,
    pub category: Str,
    #[serde(default)]
    pub kinds: Vec<Str>,
    pub points: Spanned<i64>,
    #[serde(default)]
    pub advice: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub group: Option<Str>,
    /// Required, except in a sequence rule (where it is an optional last step).
    pub when: Option<Spanned<CondRaw>>,
    pub window: Option<Spanned<WindowRaw>>,
    pub sequence: Option<Spanned<SequenceRaw>>,
    #[serde(default)]
    pub counter: Vec<CounterRaw>,
    #[serde(default)]
    pub examples: ExamplesRaw,
    /// Event streams the rule must or must not hit on, run through a fresh monitor each.
    #[serde(default)]
    pub stream: Vec<Spanned<StreamRaw>>,
}

/// A duration: seconds, or text such as `"90s"`, `"30m"`, `"2h"`, `"1d"`, `"1h30m"`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum DurationRaw {
    Seconds(i64),
    Text(String),
}

/// `window = { key, within, count, sum, distinct, new }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowRaw {
    pub key: Str,
    pub within: Spanned<DurationRaw>,
    pub count: Option<Spanned<CompareRaw>>,
    pub sum: Option<Spanned<CompareRaw>>,
    pub distinct: Option<Spanned<CompareRaw>>,
    pub new: Option<Str>,
}

/// `sequence = { key, within, steps, new }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SequenceRaw {
    pub key: Str,
    pub within: Spanned<DurationRaw>,
    pub steps: Vec<Spanned<StepRaw>>,
    pub new: Option<Str>,
}

/// A sequence step: `"rule:ID"`, `"category:NAME"`, either with a leading `!` for "no such
/// event in between", or a table `{ rule = "ID", key = "payee", not = true }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StepRaw {
    Short(String),
    Full(StepTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepTable {
    pub rule: Option<String>,
    pub category: Option<String>,
    pub key: Option<String>,
    pub not: Option<bool>,
}

/// `[[rule.stream]]`: events (TOML tables in the input contract) and what the rule must do on
/// them: `match` hits on the last event, `no_match` hits on none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamRaw {
    pub expect: Str,
    pub events: Vec<Spanned<toml::Table>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExamplesRaw {
    #[serde(default, rename = "match")]
    pub matches: Vec<Str>,
    #[serde(default)]
    pub no_match: Vec<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterRaw {
    pub when: Spanned<CondRaw>,
    pub cancel: Option<bool>,
    pub points: Option<i64>,
    pub cap: Option<u32>,
    pub max_level: Option<Str>,
}

/// A condition table: every key present must hold.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CondRaw {
    pub any: Option<Vec<Str>>,
    pub all: Option<Vec<Str>>,
    pub none: Option<Vec<Str>>,
    pub near: Option<Vec<Vec<Str>>>,
    pub within: Option<Spanned<u32>>,
    pub ordered: Option<bool>,
    pub amount: Option<Spanned<CompareRaw>>,
    pub field: Option<Spanned<CompareRaw>>,
    pub all_of: Option<Vec<Spanned<CondRaw>>>,
    pub any_of: Option<Vec<Spanned<CondRaw>>>,
    pub none_of: Option<Vec<Spanned<CondRaw>>>,
}

/// Comparison operators, shared by `amount` (no `name`) and `field` (with `name`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompareRaw {
    pub name: Option<String>,
    pub eq: Option<toml::Value>,
    pub ne: Option<toml::Value>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<toml::Value>>,
    pub ge: Option<f64>,
    pub gt: Option<f64>,
    pub le: Option<f64>,
    pub lt: Option<f64>,
    pub contains: Option<String>,
    pub exists: Option<bool>,
}
