//! Scaling a stream out over partitions without changing a verdict.
//!
//! One [`Monitor`] keeps the state of every key in one process. When a stream outgrows a
//! machine, it is split into partitions, each scored by its own monitor, on whatever runs the
//! partitions (Redis Streams consumers, Spark tasks). Three things keep the verdicts the same
//! as one monitor over the whole stream:
//!
//! 1. **Routing by key value.** Window state lives under a field's value (one merchant),
//!    sequence state under a party's value, whichever field named it (a code that is `payee`
//!    in one event and `payer` in the next). [`Partitioning::route`] sends an event to the
//!    partition of every key value it carries, so all the events that touch one value's state
//!    meet in one partition, in input order. Most events carry one key value and go to one
//!    partition; a transaction may carry three (merchant, payer, payee).
//! 2. **Ownership.** A partition's monitor ([`Monitor::with_partition`]) keeps only the state
//!    of the values it owns. An event routed to several partitions gets a part of its window
//!    and sequence hits from each ([`Observed::stateful`]), and [`Engine::merge`] scores the
//!    union: the verdict one monitor gives.
//! 3. **One clock.** Lateness, the time of an undated event and the expiry of state depend on
//!    the latest time of the *whole* stream. A [`StreamClock`] runs that step once, in input
//!    order, before the stream is split, and every partition observes with its
//!    [`Placement`]s ([`Monitor::observe_placed`]).
//!
//! A rule set can make this impossible: a sequence step whose state lives under one field's
//! value but that asks whether a window keyed by another field hit. The window's hit is found
//! in another partition than the step needs it in. [`Partitioning::new`] refuses such a rule
//! set and says which step to re-key, so scaling out never changes a verdict silently.
//!
//! What still differs is only capacity: each partition has its own `max_keys`, so a
//! partitioned run evicts later than one monitor would (verdicts are the same while the single
//! monitor evicts no key for want of room).
//!
//! ```
//! use fanzha::{Engine, Event, Monitor, MonitorConfig, Partitioning, StreamClock};
//!
//! let engine = Engine::bundled()?;
//! let parts = Partitioning::new(&engine, 4)?;
//! let lines = [
//!     r#"{"kind":"message","id":"m1","conversation":"c1","text":"这期大乐透帮我出三万"}"#,
//!     r#"{"kind":"message","id":"m2","conversation":"c1","text":"好的，等下一起结"}"#,
//! ];
//! let events: Vec<Event> = lines.iter().map(|l| Event::from_json(l)).collect::<Result<_, _>>()?;
//!
//! // The one sequential step: place every event on the stream's clock, and route it.
//! let mut clock = StreamClock::new(&MonitorConfig::default());
//! let placed: Vec<_> = events.iter().map(|e| clock.place(e)).collect();
//! let route = parts.route(&events[0], placed[0].seq);
//! assert_eq!(route, [parts.partition_of("c1")]);
//!
//! // Each partition's monitor, wherever it runs, observes its events in input order.
//! let mut monitor =
//!     Monitor::with_partition(engine.clone(), MonitorConfig::default(), &parts, route[0]);
//! let observed = monitor.observe_placed(&events, &placed);
//! let mut whole = Monitor::new(engine);
//! assert_eq!(observed[1].verdict, whole.observe_batch(&events)[1]);
//! # Ok::<(), fanzha::Error>(())
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use crate::compile::stateful::Matcher;
use crate::compile::Engine;
use crate::error::Error;
use crate::event::{Event, FieldValue};
#[cfg(doc)]
use crate::monitor::Monitor;
use crate::monitor::MonitorConfig;
use crate::scan::Scanner;
use crate::verdict::Verdict;

/// How a rule set's stream is split into `N` partitions: the key fields its window and
/// sequence rules use, and which partition each value of them belongs to.
///
/// The partition of a value is FNV-1a (64-bit) of its UTF-8 text, modulo `N`: fixed, so any
/// producer, in any language, can compute it (a number's text is its shortest decimal form,
/// as JSON would print it: `7`, `7.5`).
#[derive(Debug, Clone)]
pub struct Partitioning {
    fields: Box<[Arc<str>]>,
    partitions: u32,
}

impl Partitioning {
    /// The partitioning of `engine`'s rules over `partitions` partitions.
    ///
    /// Fails when `partitions` is 0, or when a sequence step names a window rule (by rule or
    /// category) keyed by another field than the step: the window's hit would be found in the
    /// partition of one value and needed in the partition of another.
    pub fn new(engine: &Engine, partitions: u32) -> Result<Partitioning, Error> {
        if partitions == 0 {
            return Err(Error::Partition("the number of partitions must be at least 1".into()));
        }
        let inner = &engine.inner;
        let prog = &inner.stateful;
        let mut problems = Vec::new();
        for q in prog.sequences.iter() {
            for (j, step) in q.steps.iter().enumerate() {
                let windows: Vec<u32> = match step.matcher {
                    Matcher::Rule(r) => prog.rule_window[r as usize].into_iter().collect(),
                    Matcher::Category(c) => (0..prog.rule_window.len())
                        .filter(|&r| prog.rule_category[r] == c)
                        .filter_map(|r| prog.rule_window[r])
                        .collect(),
                    Matcher::Own => Vec::new(),
                };
                for w in windows {
                    let w = &prog.windows[w as usize];
                    if w.key != step.key {
                        problems.push(format!(
                            "rule `{}`: sequence step {} is keyed by `{}` but names window rule `{}`, keyed by `{}`: \
                             give the step `key = \"{}\"` or the window `key = \"{}\"`",
                            inner.rules[q.rule as usize].id,
                            j + 1,
                            prog.fields[step.key as usize],
                            inner.rules[w.rule as usize].id,
                            prog.fields[w.key as usize],
                            prog.fields[w.key as usize],
                            prog.fields[step.key as usize],
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Partition(format!(
                "these rules cannot be split into partitions without changing verdicts:\n{}",
                problems.join("\n")
            )));
        }
        let mut fields: Vec<Arc<str>> = prog
            .windows
            .iter()
            .map(|w| w.key)
            .chain(prog.sequences.iter().flat_map(|q| q.steps.iter().map(|s| s.key)))
            .map(|f| prog.fields[f as usize].clone())
            .collect();
        fields.sort();
        fields.dedup();
        Ok(Partitioning { fields: fields.into_boxed_slice(), partitions })
    }

    /// The number of partitions.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// The fields whose values key window and sequence state, sorted. Empty for a rule set
    /// without such rules: then any split of the stream gives the same verdicts.
    pub fn fields(&self) -> &[Arc<str>] {
        &self.fields
    }

    /// The partition that owns the state of a key value.
    pub fn partition_of(&self, value: &str) -> u32 {
        (fnv(value.as_bytes()) % u64::from(self.partitions)) as u32
    }

    /// The partitions `event` must be observed in, sorted and without repeats: the partition
    /// of each key value it carries. An event without one goes to `seq % N` (`seq` is its
    /// [`Placement::seq`]), which spreads stateless work evenly. Never empty.
    pub fn route(&self, event: &Event, seq: u64) -> Vec<u32> {
        let mut route: Vec<u32> =
            self.fields.iter().filter_map(|f| key_value(event, f)).map(|v| self.partition_of(&v)).collect();
        if route.is_empty() {
            route.push((seq % u64::from(self.partitions)) as u32);
        }
        route.sort_unstable();
        route.dedup();
        route
    }

    /// Whether partition `index` owns the state of `value`.
    pub(crate) fn owns(&self, index: u32, value: &str) -> bool {
        self.partition_of(value) == index
    }
}

/// Where an event stands in its stream: its position, its time, whether it is late, and the
/// stream's clock once it is counted. Made by a [`StreamClock`]; a [`Monitor`] makes its own
/// unless given them ([`Monitor::observe_placed`]).
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

/// The time step of a [`Monitor`], on its own: gives each event of a stream its
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
    /// `late` is the event's [`Placement::late`]. Hits of rules this engine does not have are
    /// ignored. Makes a scanner each call; [`Scanner::merge`] reuses one.
    pub fn merge(&self, event: &Event, late: bool, stateful: &[StatefulHit]) -> Verdict {
        self.scanner().merge(event, late, stateful)
    }
}

impl Scanner {
    /// [`Engine::merge`] with this scanner's buffers.
    pub fn merge(&mut self, event: &Event, late: bool, stateful: &[StatefulHit]) -> Verdict {
        let inner = Arc::clone(&self.engine().inner);
        let evaluation = self.scratch.evaluate(&inner, event.text(), event.kind(), Some(event));
        let fired = stateful
            .iter()
            .filter_map(|h| {
                let rule = inner.rules.iter().position(|r| *r.id == *h.rule)?;
                Some((rule as u32, h.events.clone()))
            })
            .collect();
        let mut v = crate::monitor::finish(&inner, evaluation, fired, false);
        v.id = event.id().map(str::to_string);
        v.late = late;
        v
    }
}

/// An event's value for a key field as text, as state is keyed by it: a non-empty string, or
/// a number's decimal text. `None` for other values and absent fields.
pub(crate) fn key_value<'e>(e: &'e Event, field: &str) -> Option<Cow<'e, str>> {
    match e.field(field)? {
        FieldValue::Str(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        FieldValue::Num(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// FNV-1a: fixed, so partitions are the same on every run, machine and language.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
