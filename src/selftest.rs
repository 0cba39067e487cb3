//! Running the examples embedded in rules: every `match` text must make its rule hit, every
//! `no_match` text must not.

use serde::Serialize;

use crate::monitor::Monitor;
use crate::rules::{Location, RuleSet};
use crate::scan::Engine;
use crate::verdict::Verdict;

/// An embedded example that did not behave as its rule says.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleFailure {
    /// The rule whose example failed.
    pub rule: String,
    /// Where the example is written.
    pub location: Location,
    /// The example text.
    pub text: String,
    /// `true` for a `match` example (the rule should have hit), `false` for `no_match`.
    pub should_match: bool,
    /// The verdict the engine gave.
    pub verdict: Verdict,
}

/// The outcome of running every embedded example.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExampleReport {
    /// Rules checked.
    pub rules: usize,
    /// Examples run.
    pub examples: usize,
    /// Examples that failed.
    pub failures: Vec<ExampleFailure>,
}

impl RuleSet {
    /// Runs every embedded example against `engine` (compiled from this set, so variants,
    /// counters and other packs take part exactly as they do in production).
    pub fn run_examples(&self, engine: &Engine) -> ExampleReport {
        let mut scanner = engine.scanner();
        scanner.keep_duplicates = true;
        let mut report = ExampleReport { rules: self.rules.len(), ..ExampleReport::default() };
        for rule in &self.rules {
            for (should_match, list) in [(true, &rule.examples_match), (false, &rule.examples_no_match)] {
                for (text, location) in list {
                    report.examples += 1;
                    let verdict = scanner.scan_text(text);
                    let hit = verdict.hits.iter().any(|h| *h.rule == *rule.id);
                    if hit != should_match {
                        report.failures.push(ExampleFailure {
                            rule: rule.id.clone(),
                            location: location.clone(),
                            text: text.clone(),
                            should_match,
                            verdict,
                        });
                    }
                }
            }
        }
        for rule in &self.rules {
            for st in &rule.examples_stream {
                report.examples += 1;
                let mut monitor = Monitor::new(engine.clone());
                monitor.keep_duplicates = true;
                let verdicts = monitor.observe_batch(&st.events);
                let hit = |v: &Verdict| v.hits.iter().any(|h| *h.rule == *rule.id);
                // `match`: the rule hits the last event; `no_match`: it hits none.
                let bad = if st.should_match {
                    verdicts.last().filter(|v| !hit(v))
                } else {
                    verdicts.iter().find(|v| hit(v))
                };
                if let Some(v) = bad {
                    report.failures.push(ExampleFailure {
                        rule: rule.id.clone(),
                        location: st.location.clone(),
                        text: st.events.iter().map(|e| e.text()).collect::<Vec<_>>().join(" ⏎ "),
                        should_match: st.should_match,
                        verdict: v.clone(),
                    });
                }
            }
        }
        report
    }

    /// Number of embedded examples per rule, as `(rule id, match count, no_match count)`.
    pub fn example_counts(&self) -> Vec<(&str, usize, usize)> {
        self.rules
            .iter()
            .map(|r| {
                let streams = |m: bool| r.examples_stream.iter().filter(|s| s.should_match == m).count();
                (
                    r.id.as_str(),
                    r.examples_match.len() + streams(true),
                    r.examples_no_match.len() + streams(false),
                )
            })
            .collect()
    }
}
