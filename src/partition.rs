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

use crate::compile::stateful::Matcher;
use crate::error::Error;
use crate::event::{Event, FieldValue};
use crate::scan::Engine;

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
        let prog = inner.stateful();
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
                            inner.rules()[q.rule as usize].id,
                            j + 1,
                            prog.fields[step.key as usize],
                            inner.rules()[w.rule as usize].id,
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
    /// [`Placement::seq`](crate::Placement::seq)), which spreads stateless work evenly. Never empty.
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
