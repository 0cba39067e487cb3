//! Events seen by several partitions: what each partition reports of an event
//! ([`Observed`], [`StatefulHit`]) and how the parts become one verdict ([`Engine::merge`]).

use crate::event::Event;
use crate::live::LiveEngine;
use crate::scan::{Engine, Scanner};
use crate::score::finish;
use crate::verdict::Verdict;

/// A window or sequence hit on an event, as a partition found it: the rule and the events
/// that make it up (`Hit::events`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatefulHit {
    /// The rule's id.
    pub rule: String,
    /// The ids of the events of the window or sequence, oldest first.
    pub events: Vec<String>,
}

/// What a monitor made of one event: its verdict, and the window and sequence hits in it
/// (markers included) that [`Engine::merge`] needs when the event went to several partitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The verdict, from this monitor's state alone.
    pub verdict: Verdict,
    /// This monitor's window and sequence hits on the event.
    pub stateful: Vec<StatefulHit>,
}

impl Engine {
    /// The verdict of an event observed in several partitions: its stateless hits, scanned
    /// again, with the union of the partitions' [`Observed::stateful`] hits, scored together.
    /// `late` is the event's [`Placement::late`](crate::Placement::late). Hits of rules this engine
    /// does not have are ignored. Scratch comes from the engine's pool.
    pub fn merge(&self, event: &Event, late: bool, stateful: &[StatefulHit]) -> Verdict {
        self.scanner().merge(event, late, stateful)
    }
}

impl Scanner {
    /// [`Engine::merge`] with this scanner's buffers.
    pub fn merge(&mut self, event: &Event, late: bool, stateful: &[StatefulHit]) -> Verdict {
        let evaluation = self.evaluate(event);
        let inner = &self.engine().inner;
        let fired = stateful
            .iter()
            .filter_map(|h| {
                let rule = inner.rules().iter().position(|r| *r.id == *h.rule)?;
                Some((rule as u32, h.events.clone()))
            })
            .collect();
        let mut v = finish(inner, evaluation, fired, false);
        v.id = event.id().map(str::to_string);
        v.late = late;
        v
    }
}

impl LiveEngine {
    /// Merges an event's partition results with the current engine ([`Engine::merge`]).
    /// Masked if asked ([`LiveEngine::set_mask_personal_data`]).
    pub fn merge(&self, event: &Event, late: bool, stateful: &[StatefulHit]) -> Verdict {
        self.masked(self.engine().merge(event, late, stateful))
    }
}
