//! Scoring: from an event's evaluation (the rules that hit, the level cap their counters set,
//! and the window and sequence hits a monitor found) to a [`Verdict`].
//!
//! Points add up; of the rules in a group, and of rules of one category that saw the same
//! spans, only the strongest counts (one script is one piece of evidence); counter-evidence
//! caps the level; the levels' thresholds turn the score into a level; advice comes from the
//! rules that count. Scanning and the monitor both end here, so a verdict means the same
//! whichever produced it.

use std::sync::Arc;

use crate::compile::stateful::Matcher;
use crate::compile::Compiled;
use crate::rules::Levels;
use crate::verdict::{Hit, Level, Verdict};

/// The stricter of two optional level caps.
pub(crate) fn min_level(a: Option<Level>, b: Option<Level>) -> Option<Level> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One event's rule outcomes before scoring; the [`Monitor`](crate::Monitor) adds the hits of
/// windows and sequences to them.
#[derive(Debug, Default)]
pub(crate) struct Evaluation {
    /// Stateless hits, with the index of their rule, before duplicates are dropped.
    pub hits: Vec<(usize, Hit)>,
    /// The level cap from counter-evidence of the hits.
    pub cap_level: Option<Level>,
    /// Window and sequence rules whose `when` held on this event.
    pub passed: Vec<Passed>,
}

/// A stateful rule whose `when` held: the hit it becomes if its window or sequence completes.
#[derive(Debug)]
pub(crate) struct Passed {
    pub rule: u32,
    pub hit: Hit,
    /// The level cap its counters set, applied only if it hits.
    pub max_level: Option<Level>,
}

/// Orders hits, adds up the score, applies the level cap and collects advice.
pub(crate) fn score(
    inner: &Compiled,
    mut hits: Vec<(usize, Hit)>,
    cap_level: Option<Level>,
    keep_duplicates: bool,
) -> Verdict {
    if !keep_duplicates {
        // Markers exist for sequence steps; a verdict does not report them.
        hits.retain(|(_, h)| h.score > 0);
    }
    hits.sort_by(|(_, a), (_, b)| b.score.cmp(&a.score).then_with(|| a.rule.cmp(&b.rule)));
    // One script is one piece of evidence: of the rules in a group (a Mandarin rule and its
    // dialect twins), and of rules of one category that saw exactly the same spans, only the
    // strongest counts.
    let mut i = 0;
    while i < hits.len() && !keep_duplicates {
        let (ri, h) = &hits[i];
        let group = inner.rules()[*ri].group;
        let dup = hits[..i].iter().any(|(rk, k)| {
            (group.is_some() && inner.rules()[*rk].group == group)
                || (k.category == h.category && k.spans == h.spans && k.events == h.events)
        });
        if dup {
            hits.remove(i);
        } else {
            i += 1;
        }
    }
    let mut score = hits.iter().fold(0u32, |s, (_, h)| s.saturating_add(h.score));
    if let Some(l) = cap_level {
        score = score.min(inner.levels().ceiling(l));
    }
    let mut advice: Vec<Arc<str>> = Vec::new();
    for (r, _) in &hits {
        for a in inner.rules()[*r].advice.iter() {
            if !advice.contains(a) {
                advice.push(a.clone());
            }
        }
    }
    let hits = hits.into_iter().map(|(_, h)| h).collect();
    Verdict { id: None, level: inner.levels().level(score), score, hits, advice, late: false }
}

/// An event's stateless hits and its window and sequence hits, scored.
pub(crate) fn finish(
    inner: &Compiled,
    mut e: Evaluation,
    fired: Vec<(u32, Vec<String>)>,
    keep_duplicates: bool,
) -> Verdict {
    for (rule, events) in fired {
        let r = &inner.rules()[rule as usize];
        let own = e.passed.iter().position(|p| p.rule == rule);
        let mut hit = match own {
            Some(i) => {
                e.cap_level = min_level(e.cap_level, e.passed[i].max_level);
                e.passed[i].hit.clone()
            }
            // A sequence without a `when`: its evidence is what its last step saw here.
            None => {
                let (mut evidence, mut spans) = (Vec::new(), Vec::new());
                let prog = inner.stateful();
                if let Some(q) = prog.sequences.iter().find(|q| q.rule == rule) {
                    let last = &q.steps[q.steps.len() - 1];
                    for (hr, h) in &e.hits {
                        let matches = match last.matcher {
                            Matcher::Rule(x) => x as usize == *hr,
                            Matcher::Category(c) => prog.rule_category[*hr] == c,
                            Matcher::Own => false,
                        };
                        if matches {
                            for (ev, sp) in h.evidence.iter().zip(&h.spans) {
                                if !spans.contains(sp) {
                                    evidence.push(ev.clone());
                                    spans.push(*sp);
                                }
                            }
                        }
                    }
                }
                Hit {
                    rule: r.id.clone(),
                    category: r.category.clone(),
                    score: r.points,
                    evidence,
                    spans,
                    events: Vec::new(),
                }
            }
        };
        hit.events = events;
        e.hits.push((rule as usize, hit));
    }
    score(inner, e.hits, e.cap_level, keep_duplicates)
}

impl Levels {
    /// The level a score earns.
    pub fn level(&self, score: u32) -> Level {
        if score >= self.block {
            Level::Block
        } else if score >= self.warn {
            Level::Warn
        } else if score >= self.notice {
            Level::Notice
        } else {
            Level::None
        }
    }

    /// The highest score that stays at `level` or below.
    pub(crate) fn ceiling(&self, level: Level) -> u32 {
        match level {
            Level::None => self.notice.saturating_sub(1),
            Level::Notice => self.warn.saturating_sub(1),
            Level::Warn => self.block.saturating_sub(1),
            Level::Block => u32::MAX,
        }
    }
}
