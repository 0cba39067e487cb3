//! Stateful scoring of event streams: windows and sequences.
//!
//! Some scams show only across events: three remote orders from new payers within half an
//! hour, a collection code that gathers small transfers from ten strangers and then sends one
//! large one, or a "big customer" whose claim, order, "print first" and "screenshot" arrive as
//! four mild messages. A [`Monitor`] is an [`Engine`] plus bounded per-key state that scores
//! such rules (`window` and `sequence` in `docs/RULES.md`).
//!
//! # How a batch is scored
//!
//! 1. In input order, each event gets its time (its `ts`, or the latest time seen when it has
//!    none) and is marked late if it is older than the latest time seen minus the allowed
//!    lateness. Late events are scored without state, never dropped.
//! 2. In parallel, every event is scanned on its own, as [`Engine::scan`] would.
//! 3. Windows and "first seen" trackers run in shards keyed by field and value; each shard
//!    handles its events in input order.
//! 4. Sequences run in shards keyed by the party's value, after every window hit of the batch
//!    is known, so a step may name a window rule.
//! 5. In parallel, each event's hits are scored into its verdict.
//!
//! The shards are fixed in number, and each handles its keys in input order, so the verdicts
//! are the same for any number of threads.

mod clock;
mod live;
mod merge;
mod state;

pub use clock::{Placement, StreamClock};
pub use live::LiveMonitor;
pub use merge::{Observed, StatefulHit};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;

use crate::compile::stateful::{Matcher, Program};
use crate::compile::Compiled;
use crate::event::{Event, FieldValue};
use crate::partition::{fnv, Partitioning};
use crate::scan::Engine;
use crate::score::{finish, Evaluation};
use crate::verdict::Verdict;
use state::{Entry, Seen, Shard};

/// Shards of state. Fixed, so that caps per shard, and with them every verdict, do not depend
/// on the number of threads.
const SHARDS: usize = 64;
/// Events one worker scans at a time.
const CHUNK: usize = 128;
/// Batches smaller than this are scored on the calling thread: for a chat bot observing one
/// message at a time, handing work to a pool would cost more than the work.
const PARALLEL_FROM: usize = 64;

/// Limits of a [`Monitor`]'s state.
///
/// State is bounded by `max_keys × max_events_per_key` entries for each of the two kinds of
/// state (windows, sequences); [`Monitor::stats`] estimates what is held. A key holding one
/// event takes about 0.8 KB of heap and each further event about 60 bytes, so the defaults
/// come to about 80 MB per kind when keys hold one event each and about 460 MB in the worst
/// case (`docs/RULES.md`, "Time, lateness and memory").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Keys kept at most, for windows (a key is a field value such as one merchant) and again
    /// for sequences (a key is a party); the least recently used goes first. Keys live in 64
    /// shards of `max_keys / 64` (rounded up) keys each, so the bound is exact for multiples
    /// of 64 and at most 63 over otherwise. Default 100,000.
    pub max_keys: usize,
    /// Entries kept per key at most (counted events, sequence steps, values seen); the oldest
    /// entry of the key's longest list goes first. Default 64.
    pub max_events_per_key: usize,
    /// A key untouched for this long in event time is dropped. Default 24 hours.
    pub idle: Duration,
    /// Events older than the latest time seen minus this are late: scored without state and
    /// marked `"late":true`. Default 5 minutes.
    pub lateness: Duration,
    /// An event dated more than this after the machine's clock is treated as undated (it takes
    /// the monitor's time), so one bogus far-future `ts` cannot make every later event late.
    /// `None` trusts every time, for replays of synthetic future data. Default 24 hours.
    pub max_ahead: Option<Duration>,
}

impl Default for MonitorConfig {
    fn default() -> MonitorConfig {
        MonitorConfig {
            max_keys: 100_000,
            max_events_per_key: 64,
            idle: Duration::from_secs(24 * 3600),
            lateness: Duration::from_secs(300),
            max_ahead: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

/// What a monitor holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct MonitorStats {
    /// Events observed.
    pub events: u64,
    /// Events that came too late to take part in windows and sequences.
    pub late: u64,
    /// Keys held.
    pub keys: usize,
    /// Entries held across all keys.
    pub entries: usize,
    /// Keys dropped to stay under `max_keys` or because they went idle.
    pub evicted: u64,
    /// Approximate heap bytes held by the state (keys, entries, ids, tables).
    pub state_bytes: usize,
}

/// An [`Engine`] with bounded per-key state: scores a stream of events, windows and sequences
/// included. Feed events in input order through [`Monitor::observe`] or, faster,
/// [`Monitor::observe_batch`], which works on the current rayon pool.
///
/// ```
/// use fanzha::{Engine, Event, Level, Monitor, RuleSet};
///
/// let rules = RuleSet::from_str("shop.toml", r#"
/// [pack]
/// id = "shop"
/// version = "1"
///
/// [[rule]]
/// id = "shop.remote-order"
/// title = "Large remote order"
/// category = "fake_large_order"
/// kinds = ["transaction"]
/// points = 10
/// when = { field = { name = "remote", eq = true }, all_of = [{ field = { name = "amount", gt = 5000 } }] }
/// window = { key = "merchant", within = "30m", new = "payer", count = { ge = 3 } }
/// "#)?;
/// let mut monitor = Monitor::new(Engine::new(&rules)?);
/// let order = |id: &str, payer: &str, minute: u32| {
///     Event::from_json(&format!(
///         r#"{{"kind":"transaction","id":"{id}","ts":"2025-05-19T10:{minute:02}:00+08:00","merchant":"m1","payer":"{payer}","amount":8000,"remote":true}}"#
///     ))
/// };
/// assert!(monitor.observe(&order("t1", "a", 0)?).hits.is_empty());
/// assert!(monitor.observe(&order("t2", "b", 5)?).hits.is_empty());
/// let v = monitor.observe(&order("t3", "c", 9)?);
/// assert_eq!(v.hits[0].events, ["t1", "t2", "t3"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Monitor {
    engine: Engine,
    config: MonitorConfig,
    /// Shards of the windows and trackers (keys `field=value`), then of the sequences (keys
    /// by party value). Apart, so each set sees its tasks in input order however batches
    /// cut the stream: step 3 of a batch runs before step 4 of the same batch but after
    /// step 4 of the batch before, and shared caps or idle drops would see that.
    shards: Box<[Mutex<Shard>]>,
    /// Times, lateness and positions: the latest event time seen, events and late events.
    clock: StreamClock,
    /// The partition whose key values this monitor keeps state for; `None`: all of them.
    partition: Option<(Partitioning, u32)>,
    /// Keep hits that repeat another's evidence (for rule examples; see `Scanner`).
    pub(crate) keep_duplicates: bool,
    /// The clock at the last sweep for idle keys.
    swept: Option<i64>,
}

/// Per event of a batch: its time, lateness, position and the clock after it (state older
/// than the clock minus the windows and lateness can go).
type Placed = Placement;

/// An event's window and sequence hits: the rule, and the events that make up the hit.
type Fired = Vec<(u32, Vec<String>)>;

/// A batch being observed: the events and what steps 1 and 2 made of them.
#[derive(Clone, Copy)]
struct Batch<'a> {
    inner: &'a Compiled,
    events: &'a [Event],
    placed: &'a [Placed],
    evaluations: &'a [Evaluation],
    /// Whether to spread the work over the pool (not for a handful of events).
    parallel: bool,
}

/// Work for a shard, in input order.
#[derive(Debug)]
enum Task {
    /// Event `event` passed window `window`'s `when`.
    Window { event: u32, window: u32 },
    /// Record the tracked value of event `event`.
    Track { event: u32, tracker: u32, value: u64 },
    /// Event `event` matched step `step` of sequence `sequence`.
    Step { event: u32, sequence: u32, step: u32 },
}

/// What a shard found.
#[derive(Debug)]
enum Found {
    /// A window or sequence hit on `event`, made of these events.
    Hit { event: u32, rule: u32, events: Vec<String> },
    /// When the tracked value of `event` was first seen before it.
    FirstSeen { event: u32, tracker: u32, first: Option<i64> },
}

impl Monitor {
    /// A monitor with the default limits.
    pub fn new(engine: Engine) -> Monitor {
        Monitor::with_config(engine, MonitorConfig::default())
    }

    /// A monitor with the given limits.
    pub fn with_config(engine: Engine, config: MonitorConfig) -> Monitor {
        let clock = StreamClock::new(&config);
        Monitor {
            engine,
            config,
            shards: (0..2 * SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            clock,
            partition: None,
            keep_duplicates: false,
            swept: None,
        }
    }

    /// A monitor for one partition of a stream split by `partitioning`: it keeps the window
    /// and sequence state of the key values that partition `index` owns and no other, so it
    /// needs only the events [`Partitioning::route`] sends it. Feed it with
    /// [`Monitor::observe_placed`]; see the [`Partitioning`] docs for the whole scheme.
    pub fn with_partition(
        engine: Engine,
        config: MonitorConfig,
        partitioning: &Partitioning,
        index: u32,
    ) -> Monitor {
        let mut m = Monitor::with_config(engine, config);
        m.partition = Some((partitioning.clone(), index));
        m
    }

    /// The engine scoring events now.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits in force.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// Replaces the engine (a reload). State of window and sequence rules that the new rule
    /// set keeps unchanged (same id, same definition) carries over; the rest is dropped.
    pub fn set_engine(&mut self, engine: Engine) {
        let old = self.engine.inner.stateful();
        let new = &engine.inner.stateful();
        let (old_rules, new_rules) = (&self.engine.inner.rules(), &engine.inner.rules());
        // Where each old rule's state goes: the new rule of the same id and definition.
        let windows = carry(&old.windows, &new.windows, |o, n| {
            new_rules[n.rule as usize].id == old_rules[o.rule as usize].id && n.definition == o.definition
        });
        let sequences = carry(&old.sequences, &new.sequences, |o, n| {
            new_rules[n.rule as usize].id == old_rules[o.rule as usize].id && n.definition == o.definition
        });
        let trackers = carry(&old.trackers, &new.trackers, |o, n| {
            (&old.fields[o.key as usize], &old.fields[o.value as usize])
                == (&new.fields[n.key as usize], &new.fields[n.value as usize])
        });
        for shard in self.shards.iter() {
            lock(shard).remap(&windows, &sequences, &trackers);
        }
        self.engine = engine;
    }

    /// Scores one event.
    pub fn observe(&mut self, event: &Event) -> Verdict {
        self.observe_batch(std::slice::from_ref(event)).pop().unwrap_or_default()
    }

    /// Scores a batch of events, in input order, on the current rayon pool; returns one verdict
    /// per event, in order. The same events give the same verdicts however they are split into
    /// batches and however many threads run.
    pub fn observe_batch(&mut self, events: &[Event]) -> Vec<Verdict> {
        let placed: Vec<Placed> = events.iter().map(|e| self.clock.place(e)).collect();
        self.score(events, placed, false).into_iter().map(|o| o.verdict).collect()
    }

    /// Scores a batch of events whose placements a [`StreamClock`] made over the whole stream
    /// (which this monitor may see only part of), in input order. Besides each verdict, gives
    /// the window and sequence hits on the event, for [`Engine::merge`].
    ///
    /// # Panics
    ///
    /// If `events` and `placements` differ in length.
    pub fn observe_placed(&mut self, events: &[Event], placements: &[Placement]) -> Vec<Observed> {
        assert_eq!(events.len(), placements.len(), "one placement per event");
        for p in placements {
            self.clock.absorb(p);
        }
        self.score(events, placements.to_vec(), true)
    }

    /// Steps 2 to 5 of a batch already placed.
    fn score(&mut self, events: &[Event], placed: Vec<Placed>, partials: bool) -> Vec<Observed> {
        let inner = Arc::clone(&self.engine.inner);
        let parallel = events.len() >= PARALLEL_FROM;
        let evaluations = self.evaluate(events, parallel);
        let mut found: Vec<Vec<Found>> = Vec::new();
        if !inner.stateful().is_empty() {
            let batch = Batch { inner: &inner, events, placed: &placed, evaluations: &evaluations, parallel };
            let (windows, hit_rules) = self.run_windows(&batch);
            let sequences = self.run_sequences(&batch, &hit_rules, &windows);
            found = windows;
            found.extend(sequences);
        }
        self.sweep_idle();
        // Per event: its window and sequence hits.
        let mut stateful: Vec<Fired> = vec![Vec::new(); events.len()];
        for f in found.into_iter().flatten() {
            if let Found::Hit { event, rule, events } = f {
                stateful[event as usize].push((rule, events));
            }
        }
        let keep = self.keep_duplicates;
        let verdict = |(((e, fired), p), event): (((Evaluation, Fired), Placed), &Event)| {
            let stateful = if partials {
                fired
                    .iter()
                    .map(|(r, events)| StatefulHit {
                        rule: inner.rules()[*r as usize].id.to_string(),
                        events: events.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mut v = finish(&inner, e, fired, keep);
            v.id = event.id().map(str::to_string);
            v.late = p.late;
            Observed { verdict: v, stateful }
        };
        if parallel {
            evaluations
                .into_par_iter()
                .zip(stateful)
                .zip(placed)
                .zip(events)
                .with_min_len(CHUNK)
                .map(verdict)
                .collect()
        } else {
            evaluations.into_iter().zip(stateful).zip(placed).zip(events).map(verdict).collect()
        }
    }

    /// Drops idle keys from every shard, at most once a minute of event time. A shard also
    /// drops them before its own work, so this changes no verdict: it only frees the memory of
    /// shards the stream has stopped reaching.
    fn sweep_idle(&mut self) {
        let Some(clock) = self.clock.now() else { return };
        if self.swept.is_some_and(|s| clock - s < 60_000) {
            return;
        }
        self.swept = Some(clock);
        let before = clock.saturating_sub(self.config.idle.as_millis() as i64);
        for shard in self.shards.iter() {
            lock(shard).drop_idle(before);
        }
    }

    /// What the monitor holds now.
    pub fn stats(&self) -> MonitorStats {
        let (events, late) = self.clock.counts();
        let mut s = MonitorStats { events, late, ..MonitorStats::default() };
        for shard in self.shards.iter() {
            let shard = lock(shard);
            s.keys += shard.keys.len();
            s.evicted += shard.evicted;
            s.entries += shard.keys.values().map(|k| k.entries).sum::<usize>();
            s.state_bytes += shard.heap_bytes();
        }
        s
    }

    /// Whether this monitor keeps the state under a key written by `key_text`, whose value
    /// starts at byte `at`.
    fn owner(&self) -> impl Fn(&str, usize) -> bool + Sync + '_ {
        move |key: &str, at: usize| match &self.partition {
            None => true,
            Some((p, index)) => p.owns(*index, &key[at..]),
        }
    }

    /// Step 2: every event scanned on its own, in parallel, with scratch from the engine's
    /// pool for each run of events.
    fn evaluate(&self, events: &[Event], parallel: bool) -> Vec<Evaluation> {
        if !parallel {
            let mut scanner = self.engine.scanner();
            return events.iter().map(|e| scanner.evaluate(e)).collect();
        }
        let chunks: Vec<Vec<Evaluation>> = events
            .par_chunks(CHUNK)
            .map_init(
                || self.engine.scanner(),
                |scanner, chunk| chunk.iter().map(|e| scanner.evaluate(e)).collect(),
            )
            .collect();
        chunks.into_iter().flatten().collect()
    }

    /// Step 3: windows and trackers. Returns what the shards found and, per event, the rules
    /// that hit it so far (stateless and window hits), for the sequences.
    fn run_windows(&self, batch: &Batch) -> (Vec<Vec<Found>>, Vec<Vec<u32>>) {
        let Batch { inner, evaluations, .. } = *batch;
        let prog = inner.stateful();
        let owned = self.owner();
        let tasks = shard_tasks(batch, |i, event, key, tasks| {
            // Windows first: they ask whether a value is new before this event records it.
            for passed in &evaluations[i].passed {
                let Some(w) = prog.rule_window[passed.rule as usize] else { continue };
                let field = &prog.fields[prog.windows[w as usize].key as usize];
                if key_text(event, field, false, key) && owned(key, field.len() + 1) {
                    tasks[shard_of(key)].push(Task::Window { event: i as u32, window: w });
                }
            }
            for (k, t) in prog.trackers.iter().enumerate() {
                let Some(value) = value_hash(event, &prog.fields[t.value as usize]) else { continue };
                let field = &prog.fields[t.key as usize];
                if key_text(event, field, false, key) && owned(key, field.len() + 1) {
                    tasks[shard_of(key)].push(Task::Track { event: i as u32, tracker: k as u32, value });
                }
            }
        });
        let found = self.run_shards(batch, tasks, &[], &self.shards[..SHARDS]);
        let mut hit_rules: Vec<Vec<u32>> =
            evaluations.iter().map(|e| e.hits.iter().map(|(r, _)| *r as u32).collect()).collect();
        for f in found.iter().flatten() {
            if let Found::Hit { event, rule, .. } = f {
                hit_rules[*event as usize].push(*rule);
            }
        }
        (found, hit_rules)
    }

    /// Step 4: sequences, keyed by the party's value.
    fn run_sequences(
        &self,
        batch: &Batch,
        hit_rules: &[Vec<u32>],
        window_found: &[Vec<Found>],
    ) -> Vec<Vec<Found>> {
        let Batch { inner, evaluations, .. } = *batch;
        let prog = inner.stateful();
        if prog.sequences.is_empty() {
            return Vec::new();
        }
        let owned = self.owner();
        let tasks = shard_tasks(batch, |i, event, key, tasks| {
            let hits = &hit_rules[i];
            for (s, q) in prog.sequences.iter().enumerate() {
                for (j, step) in q.steps.iter().enumerate() {
                    let matched = match step.matcher {
                        Matcher::Rule(r) => hits.contains(&r),
                        Matcher::Category(c) => hits.iter().any(|&r| prog.rule_category[r as usize] == c),
                        Matcher::Own => evaluations[i].passed.iter().any(|x| x.rule == q.rule),
                    };
                    if matched && key_text(event, &prog.fields[step.key as usize], true, key) && owned(key, 1)
                    {
                        tasks[shard_of(key)].push(Task::Step {
                            event: i as u32,
                            sequence: s as u32,
                            step: j as u32,
                        });
                    }
                }
            }
        });
        // When each event's tracked value was first seen, from step 3.
        let mut first_seen: Vec<(u32, u32, Option<i64>)> = window_found
            .iter()
            .flatten()
            .filter_map(|f| match f {
                Found::FirstSeen { event, tracker, first } => Some((*event, *tracker, *first)),
                _ => None,
            })
            .collect();
        first_seen.sort_unstable_by_key(|&(e, t, _)| (e, t));
        self.run_shards(batch, tasks, &first_seen, &self.shards[SHARDS..])
    }

    /// Runs each shard's tasks in order, the shards in parallel.
    fn run_shards(
        &self,
        batch: &Batch,
        tasks: Vec<Vec<Task>>,
        first_seen: &[(u32, u32, Option<i64>)],
        shards: &[Mutex<Shard>],
    ) -> Vec<Vec<Found>> {
        let parallel = batch.parallel;
        let cx = ShardContext {
            prog: batch.inner.stateful(),
            events: batch.events,
            placed: batch.placed,
            first_seen,
            config: &self.config,
            max_keys: self.config.max_keys.div_ceil(SHARDS),
        };
        let work = |(tasks, shard): (Vec<Task>, &Mutex<Shard>)| {
            let mut shard = lock(shard);
            let mut found = Vec::new();
            let mut key = String::new();
            for task in tasks {
                cx.run(&mut shard, task, &mut key, &mut found);
            }
            found
        };
        if parallel {
            tasks.into_par_iter().zip(shards.par_iter()).filter(|(t, _)| !t.is_empty()).map(work).collect()
        } else {
            tasks.into_iter().zip(shards.iter()).filter(|(t, _)| !t.is_empty()).map(work).collect()
        }
    }
}

/// What a shard needs to know about the batch.
struct ShardContext<'a> {
    prog: &'a Program,
    events: &'a [Event],
    placed: &'a [Placed],
    first_seen: &'a [(u32, u32, Option<i64>)],
    config: &'a MonitorConfig,
    max_keys: usize,
}

impl ShardContext<'_> {
    fn run(&self, shard: &mut Shard, task: Task, key: &mut String, found: &mut Vec<Found>) {
        let lateness = self.config.lateness.as_millis() as i64;
        let idle = self.config.idle.as_millis() as i64;
        let cap = self.config.max_events_per_key;
        let prog = self.prog;
        // The key is written again here rather than carried: most tasks touch keys that exist,
        // and looking one up by a reused buffer allocates nothing.
        let (event, field, party) = match task {
            Task::Window { event, window } => (event, prog.windows[window as usize].key, false),
            Task::Track { event, tracker, .. } => (event, prog.trackers[tracker as usize].key, false),
            Task::Step { event, sequence, step } => {
                (event, prog.sequences[sequence as usize].steps[step as usize].key, true)
            }
        };
        let event = event as usize;
        key_text(&self.events[event], &prog.fields[field as usize], party, key);
        let p = self.placed[event];
        shard.drop_idle(p.clock.saturating_sub(idle));
        let state = shard.touch(key, p.t, self.max_keys);
        // Older state can no longer fall inside its rule's window, even for an event as late as
        // allowed.
        let oldest = p.clock.saturating_sub(lateness);
        state.expire(
            |w| oldest.saturating_sub(prog.windows[w as usize].within_ms),
            |q| oldest.saturating_sub(prog.sequences[q as usize].within_ms),
        );
        let e = &self.events[event];
        let entry = || Entry {
            t: p.t,
            seq: p.seq,
            fen: e.amount_fen().unwrap_or(0),
            distinct: 0,
            id: event_ref(e, p.seq).into(),
        };
        match task {
            Task::Track { tracker, value, .. } => {
                let seen = state.tracker(tracker);
                let first = match seen.iter_mut().find(|s| s.value == value) {
                    Some(s) => {
                        let first = s.first;
                        s.first = s.first.min(p.t);
                        s.last = s.last.max(p.t);
                        Some(first)
                    }
                    None => None,
                };
                if first.is_none() {
                    state.make_room(cap);
                    state.tracker(tracker).push(Seen { value, first: p.t, last: p.t });
                    state.entries += 1;
                }
                found.push(Found::FirstSeen { event: event as u32, tracker, first });
            }
            Task::Window { window, .. } => {
                let w = &self.prog.windows[window as usize];
                if let Some(k) = w.new {
                    let value = value_hash(e, &self.prog.fields[self.prog.trackers[k].value as usize]);
                    let first = value
                        .and_then(|v| state.tracker(k as u32).iter().find(|s| s.value == v).map(|s| s.first));
                    // New: never seen here, or first seen within the window.
                    if value.is_none() || first.is_some_and(|f| f <= p.t - w.within_ms) {
                        return;
                    }
                }
                let mut new = entry();
                if let Some((f, _)) = &w.distinct {
                    match value_hash(e, &self.prog.fields[*f as usize]) {
                        Some(h) => new.distinct = h,
                        None => return,
                    }
                }
                state.make_room(cap);
                let list = state.window(window);
                let at = list.partition_point(|x| (x.t, x.seq) <= (new.t, new.seq));
                list.insert(at, new);
                state.entries += 1;
                let list = state.window(window);
                // The window that ends at this event: (t - within, t], nothing after it.
                let members: Vec<&Entry> =
                    list.iter().filter(|x| x.t > p.t - w.within_ms && (x.t, x.seq) <= (p.t, p.seq)).collect();
                let count = members.len() as f64;
                // Saturating: a raised `max_events_per_key` lets enough maximal amounts overflow u64.
                let sum: u64 = members.iter().fold(0u64, |s, x| s.saturating_add(x.fen));
                let holds = w.count.as_ref().is_none_or(|c| c.holds(count))
                    && w.sum.as_ref().is_none_or(|c| c.holds_fen(sum))
                    && w.distinct.as_ref().is_none_or(|(_, c)| {
                        let mut values: Vec<u64> = members.iter().map(|x| x.distinct).collect();
                        values.sort_unstable();
                        values.dedup();
                        c.holds(values.len() as f64)
                    });
                if holds {
                    let events = members.iter().map(|x| x.id.to_string()).collect();
                    found.push(Found::Hit { event: event as u32, rule: w.rule, events });
                }
            }
            Task::Step { sequence, step, .. } => {
                let q = &self.prog.sequences[sequence as usize];
                let last = q.steps.len() - 1;
                let steps = state.sequence(sequence, q.steps.len());
                if step as usize == last {
                    let Some(chain) = complete(q, steps, p.t, p.seq) else { return };
                    if let Some(k) = q.new {
                        let first = self
                            .first_seen
                            .binary_search_by_key(&(event as u32, k as u32), |&(e, t, _)| (e, t))
                            .ok()
                            .map(|i| self.first_seen[i].2);
                        // New: never seen, or first seen since the sequence began. Without the
                        // field, nothing about the event is new.
                        let began = chain.first().map_or(p.t, |x| x.t);
                        match first {
                            Some(None) => {}
                            Some(Some(f)) if f >= began => {}
                            _ => return,
                        }
                    }
                    let mut events: Vec<String> = chain.iter().map(|x| x.id.to_string()).collect();
                    events.push(event_ref(e, p.seq));
                    found.push(Found::Hit { event: event as u32, rule: q.rule, events });
                    return;
                }
                state.make_room(cap);
                let steps = state.sequence(sequence, q.steps.len());
                let list = &mut steps[step as usize];
                let new = entry();
                let at = list.partition_point(|x| (x.t, x.seq) <= (new.t, new.seq));
                list.insert(at, new);
                state.entries += 1;
            }
        }
    }
}

/// The events that complete sequence `q` with a last step at `(t, seq)`, oldest first: going
/// back from the end, each positive step takes its latest match before the step after it,
/// which leaves the most room for earlier steps and the fewest negated events in between.
fn complete<'a>(
    q: &crate::compile::stateful::SequenceProgram,
    steps: &'a [std::collections::VecDeque<Entry>],
    t: i64,
    seq: u64,
) -> Option<Vec<&'a Entry>> {
    let earliest = t - q.within_ms;
    let mut after = (t, seq);
    let mut chain = Vec::new();
    let mut j = q.steps.len() - 1;
    while j > 0 {
        // Negated steps between the previous positive step and `after`.
        let mut k = j - 1;
        let mut negated = Vec::new();
        while q.steps[k].negated {
            negated.push(k);
            k -= 1;
        }
        let list = &steps[k];
        let at = list.partition_point(|x| (x.t, x.seq) < after);
        let candidate = list.range(..at).next_back().filter(|x| x.t >= earliest)?;
        let before = (candidate.t, candidate.seq);
        let blocked =
            negated.iter().any(|&n| steps[n].iter().any(|x| (x.t, x.seq) > before && (x.t, x.seq) < after));
        if blocked {
            return None;
        }
        chain.push(candidate);
        after = before;
        j = k;
    }
    chain.reverse();
    Some(chain)
}

/// Each shard's tasks for a batch, in input order: `make(i, event, key buffer, tasks)` adds
/// those of event `i` (late events have none). Chunks of events are worked out in parallel and
/// joined in order, so a shard sees the same list however the work was split.
fn shard_tasks<F>(batch: &Batch, make: F) -> Vec<Vec<Task>>
where
    F: Fn(usize, &Event, &mut String, &mut Vec<Vec<Task>>) + Sync,
{
    const SPAN: usize = 1024;
    let tasks_of = |from: usize, to: usize| {
        let mut tasks: Vec<Vec<Task>> = (0..SHARDS).map(|_| Vec::new()).collect();
        let mut key = String::new();
        for i in from..to {
            if !batch.placed[i].late {
                make(i, &batch.events[i], &mut key, &mut tasks);
            }
        }
        tasks
    };
    let n = batch.events.len();
    if !batch.parallel || n <= SPAN {
        return tasks_of(0, n);
    }
    let parts: Vec<Vec<Vec<Task>>> =
        (0..n.div_ceil(SPAN)).into_par_iter().map(|c| tasks_of(c * SPAN, ((c + 1) * SPAN).min(n))).collect();
    let mut tasks: Vec<Vec<Task>> = (0..SHARDS).map(|_| Vec::new()).collect();
    for part in parts {
        for (shard, list) in tasks.iter_mut().zip(part) {
            shard.extend(list);
        }
    }
    tasks
}

/// For each old item, the index of the new item it is the same as.
fn carry<T>(old: &[T], new: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<Option<u32>> {
    old.iter().map(|o| new.iter().position(|n| same(o, n)).map(|i| i as u32)).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How an event is named in a hit's `events`: its id, or its position.
fn event_ref(e: &Event, seq: u64) -> String {
    match e.id() {
        Some(id) => id.to_string(),
        None => format!("#{seq}"),
    }
}

/// Writes where an event's state lives for a field into `buf`: `field=value`, or for a
/// sequence the party's value alone (steps of one party meet under its value, whichever field
/// named it). False when the event has no text or number in that field.
fn key_text(e: &Event, field: &str, party: bool, buf: &mut String) -> bool {
    use std::fmt::Write;
    buf.clear();
    if party {
        buf.push('\u{1f}');
    } else {
        buf.push_str(field);
        buf.push('=');
    }
    match e.field(field) {
        Some(FieldValue::Str(s)) if !s.is_empty() => buf.push_str(s),
        Some(FieldValue::Num(n)) => {
            let _ = write!(buf, "{n}");
        }
        _ => return false,
    }
    true
}

/// A hash of an event's value for a field (a payer, a payee), for "distinct" and "new".
fn value_hash(e: &Event, field: &str) -> Option<u64> {
    match e.field(field)? {
        FieldValue::Str(s) if !s.is_empty() => Some(fnv(s.as_bytes())),
        FieldValue::Num(n) => Some(fnv(n.to_string().as_bytes())),
        _ => None,
    }
}

fn shard_of(key: &str) -> usize {
    (fnv(key.as_bytes()) % SHARDS as u64) as usize
}
