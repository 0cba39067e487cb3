//! The stream's clock: each event's position, time and lateness, in input order.
//!
//! A [`Monitor`](crate::Monitor) places events itself; a partitioned stream places them once,
//! before routing, so every partition judges time as one monitor over the whole stream would.

use std::time::Duration;

use super::MonitorConfig;
use crate::event::Event;

/// Where an event stands in its stream: its position, its time, whether it is late, and the
/// stream's clock once it is counted. Made by a [`StreamClock`]; a [`Monitor`](super::Monitor) makes its own
/// unless given them ([`Monitor::observe_placed`](super::Monitor::observe_placed)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// The event's position among the stream's events, from 1 (lines that are not events do
    /// not count). A hit names an event without an id as `#seq`.
    pub seq: u64,
    /// The event's time in epoch milliseconds: its `ts`, or the clock when it has none.
    pub t: i64,
    /// Older than the clock minus the lateness: scored without state.
    pub late: bool,
    /// The latest time seen once this event is counted.
    pub clock: i64,
}

/// The time step of a [`Monitor`](super::Monitor), on its own: gives each event of a stream its
/// [`Placement`], in input order. Run once over a whole stream before it is partitioned, so
/// every partition judges time as one monitor over the stream would.
#[derive(Debug, Clone)]
pub struct StreamClock {
    lateness_ms: i64,
    max_ahead: Option<Duration>,
    clock: Option<i64>,
    events: u64,
    late: u64,
}

impl StreamClock {
    /// A clock with the lateness and `max_ahead` of `config`.
    pub fn new(config: &MonitorConfig) -> StreamClock {
        StreamClock {
            lateness_ms: config.lateness.as_millis().min(i64::MAX as u128) as i64,
            max_ahead: config.max_ahead,
            clock: None,
            events: 0,
            late: 0,
        }
    }

    /// Places the next event of the stream.
    pub fn place(&mut self, event: &Event) -> Placement {
        let latest = self.max_ahead.map(|ahead| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            now.saturating_add(ahead).as_millis().min(i64::MAX as u128) as i64
        });
        self.events += 1;
        let ts = event.ts().map(|t| t.millis).filter(|&t| latest.is_none_or(|l| t <= l));
        let late = matches!((ts, self.clock), (Some(t), Some(c)) if t < c.saturating_sub(self.lateness_ms));
        let t = ts.or(self.clock).unwrap_or(0);
        if late {
            self.late += 1;
        } else {
            self.clock = Some(self.clock.map_or(t, |c| c.max(t)));
        }
        Placement { t, late, seq: self.events, clock: self.clock.unwrap_or(t) }
    }

    /// Counts an event placed elsewhere, so the clock stays the stream's.
    pub(crate) fn absorb(&mut self, p: &Placement) {
        self.events += 1;
        if p.late {
            self.late += 1;
        }
        self.clock = Some(self.clock.map_or(p.clock, |c| c.max(p.clock)));
    }

    /// The latest time seen.
    pub(crate) fn now(&self) -> Option<i64> {
        self.clock
    }

    /// Events placed, and how many of them were late.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.events, self.late)
    }
}
