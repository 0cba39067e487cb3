//! Verdicts: the explained result of scoring one event, in the output contract's shape.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// How serious a verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to report.
    #[default]
    None,
    /// Worth a look; never interrupts anyone.
    Notice,
    /// A scam script: warn the person.
    Warn,
    /// A scam script with aggravating signs: stop the transaction.
    Block,
}

impl Level {
    /// The lowercase name used in the output contract.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Block => "block",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that hit, with what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The rule id.
    pub rule: Arc<str>,
    /// The rule's category.
    pub category: Arc<str>,
    /// Points this hit added to the score, after counter-evidence.
    pub score: u32,
    /// The original text of each span.
    pub evidence: Vec<String>,
    /// Character offsets `[start, end)` into the original text.
    pub spans: Vec<[usize; 2]>,
    /// For a window or sequence hit: the events that made it up, oldest first, this one
    /// last (their ids, or `#N` for the N-th event a monitor saw when it had none). Empty,
    /// and left out of the JSON, for a hit on this event alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

/// The result of scoring one event.
///
/// Serializes to one line of the output contract:
/// `{"id":"m1","level":"warn","score":70,"hits":[…],"advice":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Verdict {
    /// The event's id, when it had one.
    pub id: Option<String>,
    /// The level the score earns (possibly capped by counter-evidence).
    pub level: Level,
    /// Sum of the hits' points.
    pub score: u32,
    /// Rules that hit, by points (highest first), then rule id.
    pub hits: Vec<Hit>,
    /// Advice of the rules that hit, deduplicated, in hit order.
    pub advice: Vec<Arc<str>>,
    /// The event came later than the monitor's allowed lateness, so windows and sequences did
    /// not see it: it was scored on its own. Left out of the JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

impl Verdict {
    /// The verdict as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// Masks phone, ID card and bank card numbers in the evidence, all but their last four
    /// digits (see [`mask_personal_data`](crate::mask_personal_data)). Spans are unchanged:
    /// masking keeps the evidence's length.
    ///
    /// ```
    /// let engine = fanzha::Engine::bundled()?;
    /// let mut v = engine.scan_text("老板先出票，钱马上转，有事打我电话13812345678");
    /// v.mask_personal_data();
    /// assert!(!v.to_json().contains("13812345678"));
    /// # Ok::<(), fanzha::Error>(())
    /// ```
    pub fn mask_personal_data(&mut self) {
        for hit in &mut self.hits {
            for e in &mut hit.evidence {
                if let std::borrow::Cow::Owned(masked) = crate::privacy::mask_personal_data(e) {
                    *e = masked;
                }
            }
        }
    }
}
