//! Counting: every scored row is added once, in input order, to the figures of the report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fanzha::{Level, Levels};
use serde::Serialize;

use super::compare::{EventRecord, Matcher};
use super::fit::Patterns;

/// Bad lines reported on stderr one by one; the rest are only counted, so an unlabelled
/// corpus read without `--label` does not bury the report.
pub const ERRORS_SHOWN: u64 = 20;

/// One input line after scoring.
pub struct Scored {
    pub file: usize,
    pub line: usize,
    pub outcome: Result<Outcome, String>,
}

/// A readable row's label, groups and verdict.
pub struct Outcome {
    pub id: Option<String>,
    pub label: String,
    pub positive: bool,
    /// Values of the breakdown fields, in the order of [`Tally::breakdowns`].
    pub fields: Vec<Option<String>>,
    pub level: Level,
    pub score: u32,
    /// Each hit's rule and points, in verdict order.
    pub hits: Vec<(Arc<str>, u32)>,
    /// The text, shortened, when some listing may show this row.
    pub excerpt: Option<String>,
}

/// How many positives and negatives a group holds and how far they got.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub positives: u64,
    pub pos_warn: u64,
    pub pos_notice: u64,
    pub negatives: u64,
    pub neg_warn: u64,
    pub neg_notice: u64,
}

impl Counts {
    pub fn add(&mut self, positive: bool, level: Level) {
        self.add_n(positive, level, 1);
    }

    pub fn add_n(&mut self, positive: bool, level: Level, count: u64) {
        let (n, warn, notice) = if positive {
            (&mut self.positives, &mut self.pos_warn, &mut self.pos_notice)
        } else {
            (&mut self.negatives, &mut self.neg_warn, &mut self.neg_notice)
        };
        *n += count;
        *warn += count * u64::from(level >= Level::Warn);
        *notice += count * u64::from(level >= Level::Notice);
    }

    pub fn recall_warn(&self) -> Option<f64> {
        ratio(self.pos_warn, self.positives)
    }
    pub fn recall_notice(&self) -> Option<f64> {
        ratio(self.pos_notice, self.positives)
    }
    pub fn fpr_warn(&self) -> Option<f64> {
        ratio(self.neg_warn, self.negatives)
    }
    pub fn fpr_notice(&self) -> Option<f64> {
        ratio(self.neg_notice, self.negatives)
    }
}

/// Counts with their rates, as `--json` and `--save` write them.
impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out {
            positives: u64,
            positives_warn: u64,
            positives_notice: u64,
            recall_warn: Option<f64>,
            recall_notice: Option<f64>,
            negatives: u64,
            negatives_warn: u64,
            negatives_notice: u64,
            fpr_warn: Option<f64>,
            fpr_notice: Option<f64>,
        }
        Out {
            positives: self.positives,
            positives_warn: self.pos_warn,
            positives_notice: self.pos_notice,
            recall_warn: self.recall_warn(),
            recall_notice: self.recall_notice(),
            negatives: self.negatives,
            negatives_warn: self.neg_warn,
            negatives_notice: self.neg_notice,
            fpr_warn: self.fpr_warn(),
            fpr_notice: self.fpr_notice(),
        }
        .serialize(s)
    }
}

/// `part / whole`, or nothing for an empty group (a rate of 0 would read as a measurement).
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A rule of the loaded set, as the report names it.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub category: String,
    pub points: u32,
}

/// What one rule did on the corpus.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleCounts {
    pub positives: u64,
    pub negatives: u64,
    /// Positives at warn or above that would fall below warn without this hit's points.
    pub alone: u64,
}

/// A row shown in a listing (misses, false alarms, changes).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub label: String,
    pub score: u32,
    pub level: Level,
    /// Rules that fired and their points.
    pub hits: Vec<(String, u32)>,
    pub text: String,
}

/// The `n` rows with the highest scores, earliest first among equals: the misses nearest to
/// warn and the loudest false alarms are the ones worth reading first.
pub struct Top {
    n: usize,
    seen: u64,
    rows: Vec<(u32, u64, Listed)>,
}

impl Top {
    fn new(n: usize) -> Top {
        Top { n, seen: 0, rows: Vec::new() }
    }

    fn push(&mut self, row: Listed) {
        self.seen += 1;
        if self.n == 0 {
            return;
        }
        self.rows.push((row.score, self.seen, row));
        // Trim now and then rather than keeping a heap: listings are short and rarely full.
        if self.rows.len() >= 4 * self.n {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.rows.truncate(self.n);
    }

    /// The kept rows, and how many rows qualified in all.
    pub fn finish(mut self) -> (Vec<Listed>, u64) {
        self.trim();
        (self.rows.into_iter().map(|r| r.2).collect(), self.seen)
    }
}

/// Which rows listings and comparisons need the text of.
#[derive(Debug, Clone, Copy)]
pub struct Wants {
    pub misses: bool,
    pub false_alarms: bool,
    pub compare: bool,
}

impl Wants {
    pub fn text(&self, positive: bool, level: Level) -> bool {
        self.compare
            || (self.misses && positive && level < Level::Warn)
            || (self.false_alarms && !positive && level >= Level::Warn)
    }
}

/// Per input file: rows read and lines that could not be.
#[derive(Debug, Clone, Serialize)]
pub struct FileCounts {
    pub path: String,
    pub rows: u64,
    pub errors: u64,
}

/// Everything counted so far.
pub struct Tally {
    pub levels: Levels,
    pub files: Vec<FileCounts>,
    pub errors: u64,
    pub overall: Counts,
    pub by_label: BTreeMap<String, Counts>,
    /// Per breakdown field: whether any row had it, and the counts per value (`-` for rows
    /// without it).
    pub breakdowns: Vec<(String, bool, BTreeMap<String, Counts>)>,
    /// `[positives, negatives]` per score bucket (see [`buckets`]).
    pub histogram: Vec<[u64; 2]>,
    pub rules: Vec<RuleInfo>,
    pub rule_counts: Vec<RuleCounts>,
    rule_index: HashMap<String, usize>,
    pub misses: Top,
    pub false_alarms: Top,
    pub records: Option<Vec<EventRecord>>,
    pub matcher: Option<Matcher>,
    pub patterns: Option<Patterns>,
}

/// The score buckets: 10 points wide from 0 up to the block threshold, then one for block and
/// above. Each is `(from, to)`, `to` inclusive, `None` for the last.
pub fn buckets(levels: Levels) -> Vec<(u32, Option<u32>)> {
    let mut out: Vec<(u32, Option<u32>)> =
        (0..levels.block).step_by(10).map(|from| (from, Some((from + 9).min(levels.block - 1)))).collect();
    out.push((levels.block, None));
    out
}

pub struct TallyOptions {
    pub levels: Levels,
    pub paths: Vec<String>,
    pub fields: Vec<String>,
    pub rules: Vec<RuleInfo>,
    pub misses: usize,
    pub false_alarms: usize,
    pub save: bool,
    pub matcher: Option<Matcher>,
    pub fit: bool,
}

impl Tally {
    pub fn new(o: TallyOptions) -> Tally {
        let rule_index = o.rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        Tally {
            levels: o.levels,
            files: o.paths.into_iter().map(|path| FileCounts { path, rows: 0, errors: 0 }).collect(),
            errors: 0,
            overall: Counts::default(),
            by_label: BTreeMap::new(),
            breakdowns: o.fields.into_iter().map(|f| (f, false, BTreeMap::new())).collect(),
            histogram: vec![[0; 2]; buckets(o.levels).len()],
            rule_counts: vec![RuleCounts::default(); o.rules.len()],
            rules: o.rules,
            rule_index,
            misses: Top::new(o.misses),
            false_alarms: Top::new(o.false_alarms),
            records: o.save.then(Vec::new),
            matcher: o.matcher,
            patterns: o.fit.then(Patterns::default),
        }
    }

    pub fn add(&mut self, s: Scored) {
        // Owned: the listings below borrow the tally mutably.
        let path = self.files[s.file].path.clone();
        let o = match s.outcome {
            Ok(o) => o,
            Err(e) => {
                if self.errors < ERRORS_SHOWN {
                    eprintln!("{path}:{}: error: {e}", s.line);
                }
                self.errors += 1;
                self.files[s.file].errors += 1;
                return;
            }
        };
        self.files[s.file].rows += 1;
        self.overall.add(o.positive, o.level);
        self.by_label.entry(o.label.clone()).or_default().add(o.positive, o.level);
        for ((_, seen, groups), value) in self.breakdowns.iter_mut().zip(&o.fields) {
            *seen |= value.is_some();
            let key = value.as_deref().unwrap_or("-");
            match groups.get_mut(key) {
                Some(c) => c.add(o.positive, o.level),
                None => groups.entry(key.to_string()).or_default().add(o.positive, o.level),
            }
        }
        let bucket =
            if o.score >= self.levels.block { self.histogram.len() - 1 } else { o.score as usize / 10 };
        self.histogram[bucket][usize::from(!o.positive)] += 1;

        let mut indices = Vec::with_capacity(o.hits.len());
        for (rule, points) in &o.hits {
            let i = match self.rule_index.get(&**rule) {
                Some(&i) => i,
                // A hit from a rule the set does not list cannot happen with one engine;
                // count it anyway rather than lose it.
                None => {
                    let i = self.rules.len();
                    self.rules.push(RuleInfo {
                        id: rule.to_string(),
                        category: String::new(),
                        points: *points,
                    });
                    self.rule_counts.push(RuleCounts::default());
                    self.rule_index.insert(rule.to_string(), i);
                    i
                }
            };
            indices.push(i as u32);
            let c = &mut self.rule_counts[i];
            if o.positive {
                c.positives += 1;
                if o.level >= Level::Warn && o.score - points < self.levels.warn {
                    c.alone += 1;
                }
            } else {
                c.negatives += 1;
            }
        }
        if let Some(p) = &mut self.patterns {
            p.add(indices, o.positive);
        }

        let listed = |o: &Outcome| Listed {
            file: path.clone(),
            line: s.line,
            id: o.id.clone(),
            label: o.label.clone(),
            score: o.score,
            level: o.level,
            hits: o.hits.iter().map(|(r, p)| (r.to_string(), *p)).collect(),
            text: o.excerpt.clone().unwrap_or_default(),
        };
        if o.positive && o.level < Level::Warn {
            self.misses.push(listed(&o));
        }
        if !o.positive && o.level >= Level::Warn {
            self.false_alarms.push(listed(&o));
        }
        let record = (self.records.is_some() || self.matcher.is_some()).then(|| EventRecord {
            file: path.clone(),
            line: s.line,
            id: o.id.clone(),
            label: o.label.clone(),
            level: o.level.as_str().to_string(),
            score: o.score,
            hits: o.hits.iter().map(|(r, p)| (r.to_string(), *p)).collect(),
        });
        if let (Some(m), Some(r)) = (&mut self.matcher, &record) {
            m.observe(r, o.positive, || listed(&o));
        }
        if let (Some(records), Some(r)) = (&mut self.records, record) {
            records.push(r);
        }
    }
}
