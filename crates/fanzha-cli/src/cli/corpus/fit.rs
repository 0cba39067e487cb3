//! `--suggest-points`: rule points fitted to the corpus, for the author to weigh.
//!
//! A logistic regression on which rules hit each event, written in points: an event is
//! predicted positive with probability σ((Σ points of its hits − warn) / T), so the warn
//! threshold is the decision boundary by construction and the weights need no rescaling.
//! Each rule's points are pulled towards the author's with a Gaussian prior, so a rule that
//! hits a handful of events moves a little and one that never hits keeps its points; points
//! stay within 0..=150 (projected after every step). Rescoring ignores counter-evidence and
//! groups beyond what the verdicts already resolved: each event is the sum of its hits' points.

use std::collections::HashMap;

use fanzha::Levels;
use serde::Serialize;

use super::tally::{Counts, RuleInfo};

/// Highest suggested points: more than block on its own would leave nothing to combine.
const MAX_POINTS: f64 = 150.0;
/// Softness of the boundary, in points: an event 10 points past warn is e times likelier
/// positive than negative.
const TEMPERATURE: f64 = 10.0;
/// Width of the prior around the author's points.
const PRIOR_POINTS: f64 = 30.0;
const STEPS: usize = 3000;
/// Adam's step size, in points.
const RATE: f64 = 1.0;

/// Distinct sets of rules hit, with how many positives and negatives had each. Events are
/// few kinds of hit sets, so the fit runs over those, not over every event.
#[derive(Default)]
pub struct Patterns {
    map: HashMap<Vec<u32>, [u64; 2]>,
}

impl Patterns {
    pub fn add(&mut self, mut rules: Vec<u32>, positive: bool) {
        rules.sort_unstable();
        rules.dedup();
        self.map.entry(rules).or_default()[usize::from(!positive)] += 1;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggested {
    pub rule: String,
    pub current: u32,
    pub suggested: u32,
    pub positives: u64,
    pub negatives: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// Rules that hit at least one event (the others keep their points).
    pub rules: Vec<Suggested>,
    /// Figures from the verdicts as scored.
    pub current: Counts,
    /// Figures with each event rescored as the sum of its hits' current points.
    pub current_sum: Counts,
    /// Figures with each event rescored as the sum of its hits' suggested points.
    pub suggested: Counts,
}

pub fn suggest(patterns: &Patterns, rules: &[RuleInfo], levels: Levels, current: Counts) -> Suggestion {
    let mut pats: Vec<(&[u32], [f64; 2])> =
        patterns.map.iter().map(|(k, v)| (k.as_slice(), [v[0] as f64, v[1] as f64])).collect();
    // In a fixed order, so the sums, and the rounded points, are the same on every run.
    pats.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let prior: Vec<f64> = rules.iter().map(|r| f64::from(r.points)).collect();
    // Markers and zero-point rules stay out: they are not meant to score.
    let free: Vec<bool> = rules.iter().map(|r| r.points > 0).collect();
    let mut w = prior.clone();
    let (mut m, mut v) = (vec![0.0; w.len()], vec![0.0; w.len()]);
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let warn = f64::from(levels.warn);
    for step in 1..=STEPS {
        let mut grad: Vec<f64> =
            w.iter().zip(&prior).map(|(w, p)| (w - p) / (PRIOR_POINTS * PRIOR_POINTS)).collect();
        for (hits, [pos, neg]) in &pats {
            let z = (hits.iter().map(|&j| w[j as usize]).sum::<f64>() - warn) / TEMPERATURE;
            let p = 1.0 / (1.0 + (-z).exp());
            // d/dz of pos·softplus(−z) + neg·softplus(z)
            let g = (neg * p - pos * (1.0 - p)) / TEMPERATURE;
            for &j in *hits {
                grad[j as usize] += g;
            }
        }
        for j in 0..w.len() {
            if !free[j] {
                continue;
            }
            m[j] = b1 * m[j] + (1.0 - b1) * grad[j];
            v[j] = b2 * v[j] + (1.0 - b2) * grad[j] * grad[j];
            let mh = m[j] / (1.0 - f64::powi(b1, step as i32));
            let vh = v[j] / (1.0 - f64::powi(b2, step as i32));
            w[j] = (w[j] - RATE * mh / (vh.sqrt() + eps)).clamp(0.0, MAX_POINTS);
        }
    }
    let suggested: Vec<u32> = w
        .iter()
        .zip(rules)
        .zip(&free)
        .map(|((w, r), f)| if *f { w.round() as u32 } else { r.points })
        .collect();
    let current_points: Vec<u32> = rules.iter().map(|r| r.points).collect();

    let mut hit = vec![[0u64; 2]; rules.len()];
    for (hits, counts) in &patterns.map {
        for &j in hits {
            hit[j as usize][0] += counts[0];
            hit[j as usize][1] += counts[1];
        }
    }
    let mut table: Vec<Suggested> = rules
        .iter()
        .enumerate()
        .filter(|(j, r)| r.points > 0 && hit[*j] != [0, 0])
        .map(|(j, r)| Suggested {
            rule: r.id.clone(),
            current: r.points,
            suggested: suggested[j],
            positives: hit[j][0],
            negatives: hit[j][1],
        })
        .collect();
    table.sort_by(|a, b| {
        b.positives.cmp(&a.positives).then(a.negatives.cmp(&b.negatives)).then(a.rule.cmp(&b.rule))
    });
    Suggestion {
        rules: table,
        current,
        current_sum: rescore(patterns, &current_points, levels),
        suggested: rescore(patterns, &suggested, levels),
    }
}

/// The corpus's figures with each event scored as the sum of its hits' points.
fn rescore(patterns: &Patterns, points: &[u32], levels: Levels) -> Counts {
    let mut c = Counts::default();
    for (hits, [pos, neg]) in &patterns.map {
        let score: u32 = hits.iter().map(|&j| points[j as usize]).sum();
        let level = levels.level(score);
        c.add_n(true, level, *pos);
        c.add_n(false, level, *neg);
    }
    c
}
