//! Window and sequence rules compiled for the [`Monitor`](crate::Monitor): field names
//! interned, steps resolved to rule indices and category ids, and every `new = "field"`
//! turned into a tracker that the monitor keeps once per key however many rules use it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::CompiledRule;
use crate::rules::{NumCmp, RuleSet, Stateful, StepMatch};

/// Index into [`Program::fields`].
pub(crate) type FieldId = u16;

/// Remembers, per value of `key`, when each value of `value` was first seen: "is this payer
/// new to this merchant?".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Tracker {
    pub key: FieldId,
    pub value: FieldId,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WindowProgram {
    pub rule: u32,
    pub key: FieldId,
    pub within_ms: i64,
    pub count: Option<NumCmp>,
    pub sum: Option<NumCmp>,
    pub distinct: Option<(FieldId, NumCmp)>,
    /// Index into [`Program::trackers`].
    pub new: Option<usize>,
    /// The resolved window, to tell whether a reloaded rule is the same.
    pub definition: crate::rules::Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Matcher {
    Rule(u32),
    Category(u32),
    Own,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StepProgram {
    pub matcher: Matcher,
    pub negated: bool,
    pub key: FieldId,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SequenceProgram {
    pub rule: u32,
    pub within_ms: i64,
    pub steps: Box<[StepProgram]>,
    /// Index into [`Program::trackers`], keyed by the last step's key.
    pub new: Option<usize>,
    pub definition: crate::rules::Sequence,
}

/// Everything the monitor needs about the stateful rules of one engine.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Program {
    pub fields: Box<[Arc<str>]>,
    pub windows: Box<[WindowProgram]>,
    pub sequences: Box<[SequenceProgram]>,
    pub trackers: Box<[Tracker]>,
    /// Per rule: its category id (for category steps).
    pub rule_category: Box<[u32]>,
    /// Per rule: its window, if it is a window rule.
    pub rule_window: Box<[Option<u32>]>,
}

impl Program {
    pub fn new(rules: &RuleSet, compiled: &[CompiledRule]) -> Program {
        let mut fields: Vec<Arc<str>> = Vec::new();
        let mut field = |name: &str| -> FieldId {
            match fields.iter().position(|f| &**f == name) {
                Some(i) => i as FieldId,
                None => {
                    fields.push(Arc::from(name));
                    (fields.len() - 1) as FieldId
                }
            }
        };
        let mut categories: HashMap<&str, u32> = HashMap::new();
        let rule_category: Box<[u32]> = compiled
            .iter()
            .map(|r| {
                let next = categories.len() as u32;
                *categories.entry(&r.category).or_insert(next)
            })
            .collect();
        let index: HashMap<&str, u32> =
            rules.rules.iter().enumerate().map(|(i, r)| (r.id.as_str(), i as u32)).collect();
        let mut trackers: Vec<Tracker> = Vec::new();
        let mut tracker = |t: Tracker| match trackers.iter().position(|x| *x == t) {
            Some(i) => i,
            None => {
                trackers.push(t);
                trackers.len() - 1
            }
        };
        let mut windows = Vec::new();
        let mut sequences = Vec::new();
        let mut rule_window = vec![None; compiled.len()];
        for (i, r) in rules.rules.iter().enumerate() {
            match &r.stateful {
                None => {}
                Some(Stateful::Window(w)) => {
                    let key = field(&w.key);
                    let new = w.new.as_deref().map(|n| tracker(Tracker { key, value: field(n) }));
                    rule_window[i] = Some(windows.len() as u32);
                    windows.push(WindowProgram {
                        rule: i as u32,
                        key,
                        within_ms: w.within_ms,
                        count: w.count.clone(),
                        sum: w.sum.clone(),
                        distinct: w.distinct.as_ref().map(|(f, c)| (field(f), c.clone())),
                        new,
                        definition: (**w).clone(),
                    });
                }
                Some(Stateful::Sequence(q)) => {
                    let steps: Box<[StepProgram]> = q
                        .steps
                        .iter()
                        .map(|s| StepProgram {
                            matcher: match &s.matcher {
                                // The loader checked that every name resolves.
                                StepMatch::Rule(id) => {
                                    Matcher::Rule(index.get(id.as_str()).copied().unwrap_or(0))
                                }
                                StepMatch::Category(c) => {
                                    Matcher::Category(categories.get(c.as_str()).copied().unwrap_or(u32::MAX))
                                }
                                StepMatch::Own => Matcher::Own,
                            },
                            negated: s.negated,
                            key: field(&s.key),
                        })
                        .collect();
                    let last_key = steps.last().map_or(0, |s| s.key);
                    let new = q.new.as_deref().map(|n| tracker(Tracker { key: last_key, value: field(n) }));
                    sequences.push(SequenceProgram {
                        rule: i as u32,
                        within_ms: q.within_ms,
                        steps,
                        new,
                        definition: q.clone(),
                    });
                }
            }
        }
        Program {
            fields: fields.into_boxed_slice(),
            windows: windows.into_boxed_slice(),
            sequences: sequences.into_boxed_slice(),
            trackers: trackers.into_boxed_slice(),
            rule_category,
            rule_window: rule_window.into_boxed_slice(),
        }
    }

    /// Whether there is anything for a monitor to keep.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.sequences.is_empty()
    }
}
