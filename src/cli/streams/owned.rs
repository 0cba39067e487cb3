//! A partition a worker owns: its monitor, its results waiting to be written, and how it is
//! taken over.
//!
//! **Exactly once.** Results are written by a script that marks the line done (`HSETNX`),
//! adds the verdict only if the mark is new, and acknowledges the entry, all in one atomic
//! step. A worker that dies before it leaves the entry pending and the next owner writes it;
//! a redelivered entry whose line is done writes nothing.
//!
//! **Events in several partitions, in order.** Results leave a partition's queue in stream
//! order. When an event routed to `k` partitions reaches the head of one partition's queue,
//! that partition stores its partial (its window and sequence hits on the event) in the line's
//! `part` hash and waits for the line to be done; the partition that stores the `k`th partial
//! merges them ([`fanzha::Engine::merge`]) and writes the verdict. So a verdict is written
//! only after every partition it went to has written everything before it, and the output
//! stream holds each key value's verdicts (all from the one partition that owns the value)
//! in input order. Nothing waits forever: the earliest line not yet written has nothing
//! unwritten before it in any of its partitions, so it reaches the head of each.
//!
//! **Taking over.** A partition's state is a function of its stream up to the entry being
//! scored, so a new owner replays the stream from the start to the group's last-delivered
//! entry: acknowledged entries only feed the state, entries still pending (the previous
//! owner's unfinished work) are written as well. Then it reads new entries as usual.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use rayon::prelude::*;
use redis::{Connection, Value};

use super::keys::{Keys, GROUP};
use super::lease::Leases;
use super::redis_error;
use super::scripts::Scripts;
use super::wire::{self, Entry, Record};
use fanzha::{Engine, Event, Monitor, MonitorConfig, Partitioning, Placement, StatefulHit};

/// Results sent to the write script in one call at most.
const FLUSH: usize = 2048;
/// Stream entries replayed at a time when taking a partition over.
const REPLAY: usize = 1024;

/// What the worker needs of Redis.
pub(super) struct Ctx<'a> {
    pub(super) con: &'a mut Connection,
    pub(super) keys: &'a Keys,
    pub(super) scripts: &'a Scripts,
    pub(super) engine: &'a Engine,
}

/// A result waiting for its turn to be written, in stream order. `id` is the stream entry's.
enum Item {
    /// A verdict or error record of line `n`, ready; `merged`: its partials hash goes too.
    Write { id: String, n: u64, event: String, json: String, merged: bool },
    /// This partition's partial of line `n` (its window and sequence hits), routed to the
    /// partitions `route`, to store once it is at the head (`stored` once it is: then the line
    /// waits to be done). The event and the partial are kept for a merge in this worker.
    Part {
        id: String,
        n: u64,
        route: Vec<u32>,
        stateful: Vec<StatefulHit>,
        event: Box<Event>,
        late: bool,
        stored: bool,
    },
    /// Line `n`'s partial is stored; another partition writes it, and nothing may be written
    /// after it until it is done.
    Wait { id: String, n: u64 },
}

/// An owned partition.
pub(super) struct Owned {
    p: u32,
    parts: Partitioning,
    monitor: Monitor,
    queue: VecDeque<Item>,
}

impl Owned {
    /// Claims partition `p`'s pending entries, replays its stream to rebuild the state and
    /// writes what the previous owner left unwritten. `None` if the lease was lost meanwhile.
    pub(super) fn take_over(
        ctx: &mut Ctx,
        parts: &Partitioning,
        p: u32,
        name: &str,
        leases: &mut Leases,
        lease_ms: u64,
    ) -> Result<Option<Owned>, String> {
        let mut owned = Owned {
            p,
            parts: parts.clone(),
            monitor: Monitor::with_partition(ctx.engine.clone(), MonitorConfig::default(), parts, p),
            queue: VecDeque::new(),
        };
        let key = ctx.keys.input(p);
        let claimed = claim(ctx.con, &key, name, lease_ms)?;
        if claimed > 0 {
            eprintln!("fanzha consume {name}: claimed {claimed} pending entries of partition {p}");
        }
        // Every pending entry is written again, whoever holds it: a worker that gave the
        // partition up (or lost it) will not write it any more, and the guard makes a second
        // write nothing.
        let pending = pending(ctx.con, &key)?;
        let last = last_delivered(ctx.con, &key)?;
        let (mut replayed, mut start) = (0usize, "-".to_string());
        let mut more = last != "0-0";
        while more {
            let v: Value = redis::cmd("XRANGE")
                .arg(&key)
                .arg(&start)
                .arg(&last)
                .arg("COUNT")
                .arg(REPLAY)
                .query(ctx.con)
                .map_err(redis_error("XRANGE"))?;
            let entries = wire::entries(v)?;
            let Some(tail) = entries.last() else { break };
            start = format!("({}", tail.id);
            more = entries.len() == REPLAY;
            replayed += entries.len();
            owned.score(entries, |id| pending.contains(id))?;
            // Partials of pending lines go through Redis here: the other partitions this worker
            // owns are out of reach until the takeover is over (a stored partial can still be
            // merged here later).
            owned.flush(ctx, &BTreeSet::new())?;
            for lost in leases.renew_if_due(ctx.con, ctx.keys, ctx.scripts)? {
                eprintln!("fanzha consume {name}: lost partition {lost}");
            }
            if !leases.held().contains(&p) {
                return Ok(None);
            }
        }
        eprintln!(
            "fanzha consume {name}: took partition {p} (replayed {replayed} entries, {} of them pending)",
            pending.len()
        );
        Ok(Some(owned))
    }

    pub(super) fn partition(&self) -> u32 {
        self.p
    }

    /// Results waiting to be written.
    pub(super) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether the head of the queue waits for another partition.
    pub(super) fn waiting(&self) -> bool {
        matches!(self.queue.front(), Some(Item::Wait { .. } | Item::Part { stored: true, .. }))
    }

    /// Scores entries of this partition's stream, in stream order, queueing the results of
    /// those `write` says to write (the others only feed the state).
    pub(super) fn score(&mut self, entries: Vec<Entry>, write: impl Fn(&str) -> bool) -> Result<(), String> {
        let records: Vec<(String, Record)> = entries
            .into_iter()
            .map(|e| {
                let id = e.id.clone();
                Record::from_entry(e).map(|r| (id, r))
            })
            .collect::<Result<_, _>>()?;
        let parsed: Vec<Option<Event>> = records
            .par_iter()
            .map(|(id, r)| match r {
                Record::Event { line, n, .. } => Event::from_line(line).map(Some).map_err(|e| {
                    format!(
                        "stream entry {id} (line {n}) does not read as an event here ({e}): \
                         was it routed by another version of fanzha?"
                    )
                }),
                Record::Bad { .. } => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let mut events = Vec::with_capacity(parsed.len());
        let mut placements: Vec<Placement> = Vec::with_capacity(parsed.len());
        for ((_, r), e) in records.iter().zip(parsed) {
            if let (Record::Event { placement, .. }, Some(e)) = (r, e) {
                events.push(e);
                placements.push(*placement);
            }
        }
        let observed =
            if events.is_empty() { Vec::new() } else { self.monitor.observe_placed(&events, &placements) };
        let mut events = events.into_iter();
        let mut observed = observed.into_iter();
        for (id, r) in records {
            let (event, o) = match r {
                Record::Event { .. } => (events.next(), observed.next()),
                Record::Bad { .. } => (None, None),
            };
            if !write(&id) {
                continue;
            }
            match r {
                Record::Bad { n, error } => {
                    let json =
                        serde_json::to_string(&LineError { line: n, error: &error }).unwrap_or_default();
                    self.queue.push_back(Item::Write { id, n, event: String::new(), json, merged: false });
                }
                Record::Event { n, k, placement, .. } => {
                    let (Some(event), Some(o)) = (event, o) else {
                        return Err("a monitor gave fewer results than events".into());
                    };
                    if k <= 1 {
                        let event = event.id().unwrap_or_default().to_string();
                        self.queue.push_back(Item::Write {
                            id,
                            n,
                            event,
                            json: o.verdict.to_json(),
                            merged: false,
                        });
                    } else {
                        let route = self.parts.route(&event, placement.seq);
                        if route.len() != k as usize || !route.contains(&self.p) {
                            return Err(format!(
                                "line {n} was routed to {k} partitions, these rules send it to {route:?}: \
                                 was it routed with other rules?"
                            ));
                        }
                        let (event, late, stateful) = (Box::new(event), placement.late, o.stateful);
                        self.queue.push_back(Item::Part {
                            id,
                            n,
                            route,
                            stateful,
                            event,
                            late,
                            stored: false,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the results at the head of the queue that may go now, acknowledging each
    /// entry with its write, and merges the partials of the lines this partition completes.
    /// Stops before a line all of whose partitions are in `local` ([`merge_local`] merges
    /// those without Redis). Returns how many results left the queue plus how many partials
    /// were stored: 0 when nothing moved.
    pub(super) fn flush(&mut self, ctx: &mut Ctx, local: &BTreeSet<u32>) -> Result<usize, String> {
        let mut total = 0;
        while !self.queue.is_empty() {
            let mut items = 0;
            let mut call = ctx.scripts.flush().prepare_invoke();
            call.key(ctx.keys.done()).key(ctx.keys.out()).key(ctx.keys.input(self.p)).arg(GROUP);
            let mut keys = 3;
            // Ready writes, up to the first item that can stop the script.
            for item in self.queue.iter().take(FLUSH) {
                match item {
                    Item::Write { id, n, event, json, merged } => {
                        let part = if *merged {
                            keys += 1;
                            call.key(ctx.keys.part(*n));
                            keys
                        } else {
                            0
                        };
                        call.arg("W").arg(id).arg(*n).arg(event).arg(json).arg(part);
                    }
                    Item::Part { stored: false, route, .. } if route.iter().all(|p| local.contains(p)) => {
                        break
                    }
                    Item::Part { id, n, stored: true, .. } | Item::Wait { id, n } => {
                        call.arg("A").arg(id).arg(*n);
                        items += 1;
                        break;
                    }
                    Item::Part { id, n, route, stateful, .. } => {
                        keys += 1;
                        call.key(ctx.keys.part(*n));
                        let partial = serde_json::to_string(stateful).unwrap_or_default();
                        call.arg("P").arg(id).arg(*n).arg(keys).arg(self.p).arg(partial).arg(route.len());
                        items += 1;
                        break;
                    }
                }
                items += 1;
            }
            if items == 0 {
                break;
            }
            let reply: Value = call.invoke(ctx.con).map_err(redis_error("writing verdicts"))?;
            let Value::Array(mut reply) = reply else {
                return Err(format!("unexpected reply of the write script: {reply:?}"));
            };
            let number = |v: Option<&Value>| match v {
                Some(Value::Int(i)) => usize::try_from(*i).ok(),
                _ => None,
            };
            let (Some(consumed), Some(status)) = (number(reply.first()), number(reply.get(1))) else {
                return Err("unexpected reply of the write script".into());
            };
            self.queue.drain(..consumed.min(self.queue.len()));
            total += consumed;
            match status {
                0 => {}
                1 => {
                    // The partial is stored: the line now waits for its other partitions.
                    if let Some(Item::Part { stored, .. }) = self.queue.front_mut() {
                        *stored = true;
                    }
                    total += 1;
                    break;
                }
                2 => {
                    let Some(Item::Part { id, n, event, late, .. }) = self.queue.pop_front() else {
                        return Err("the write script stopped at a line that is not a partial".into());
                    };
                    let json = merge(ctx.engine, n, &event, late, reply.pop().unwrap_or(Value::Nil))?;
                    let event = event.id().unwrap_or_default().to_string();
                    self.queue.push_front(Item::Write { id, n, event, json, merged: true });
                }
                _ => break,
            }
        }
        Ok(total)
    }
}

/// Merges, without a round trip, the lines at the head of every one of their partitions
/// when this worker owns all those partitions (whether or not some partials were stored in
/// Redis already): the lowest partition writes the verdict, the others wait for it (their
/// entries are acknowledged once it is written). Returns how many lines were merged.
pub(super) fn merge_local(owned: &mut BTreeMap<u32, Owned>, engine: &Engine) -> usize {
    let mut merged = 0;
    let heads: Vec<(u32, u64, Vec<u32>)> = owned
        .iter()
        .filter_map(|(&p, o)| match o.queue.front() {
            Some(Item::Part { n, route, .. }) if route.first() == Some(&p) => Some((p, *n, route.clone())),
            _ => None,
        })
        .collect();
    for (p, n, route) in heads {
        let at_head = |q: &u32| {
            owned.get(q).is_some_and(|o| matches!(o.queue.front(), Some(Item::Part { n: m, .. }) if *m == n))
        };
        if !route.iter().all(at_head) {
            continue;
        }
        let mut hits = Vec::new();
        let mut lead = None;
        for q in &route {
            let o = owned.get_mut(q).expect("checked above");
            if let Some(Item::Part { id, stateful, event, late, .. }) = o.queue.pop_front() {
                hits.extend(stateful);
                if *q == p {
                    lead = Some((id, event, late));
                } else {
                    o.queue.push_front(Item::Wait { id, n });
                }
            }
        }
        if let Some((id, event, late)) = lead {
            let json = engine.merge(&event, late, &hits).to_json();
            let event = event.id().unwrap_or_default().to_string();
            // `merged`: a partials hash left by an earlier owner goes with the write.
            owned.get_mut(&p).expect("checked above").queue.push_front(Item::Write {
                id,
                n,
                event,
                json,
                merged: true,
            });
            merged += 1;
        }
    }
    merged
}

/// The verdict of line `n` from every partition's partial (`[partition, json, …]`), merged in
/// partition order.
fn merge(engine: &Engine, n: u64, event: &Event, late: bool, flat: Value) -> Result<String, String> {
    let Value::Array(flat) = flat else { return Err(format!("no partials of line {n}")) };
    let mut partials: Vec<(u32, Vec<StatefulHit>)> = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(p), Some(json)) = (it.next(), it.next()) {
        let p: u32 = wire::text(p).and_then(|s| s.parse().ok()).ok_or("a partial without its partition")?;
        let json = wire::bytes(json).unwrap_or_default();
        let hits = serde_json::from_slice(&json).map_err(|e| format!("a bad partial of line {n}: {e}"))?;
        partials.push((p, hits));
    }
    partials.sort_by_key(|(p, _)| *p);
    let hits: Vec<StatefulHit> = partials.into_iter().flat_map(|(_, h)| h).collect();
    Ok(engine.merge(event, late, &hits).to_json())
}

/// The record in place of a line that cannot be read, as `fanzha scan` writes it.
#[derive(serde::Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a str,
}

/// Moves the group's entries of `key` idle for a lease or longer to `name`; returns how many.
fn claim(con: &mut Connection, key: &str, name: &str, min_idle_ms: u64) -> Result<usize, String> {
    let mut start = "0-0".to_string();
    let mut claimed = 0;
    loop {
        let v: Value = redis::cmd("XAUTOCLAIM")
            .arg(key)
            .arg(GROUP)
            .arg(name)
            .arg(min_idle_ms)
            .arg(&start)
            .arg("COUNT")
            .arg(1000)
            .arg("JUSTID")
            .query(con)
            .map_err(redis_error("XAUTOCLAIM"))?;
        let Value::Array(mut parts) = v else { return Err(format!("unexpected XAUTOCLAIM reply: {v:?}")) };
        if parts.len() < 2 {
            return Err("unexpected XAUTOCLAIM reply".into());
        }
        if let Value::Array(ids) = std::mem::take(&mut parts[1]) {
            claimed += ids.len();
        }
        let next = wire::text(std::mem::take(&mut parts[0])).unwrap_or_default();
        if next == "0-0" || next.is_empty() {
            return Ok(claimed);
        }
        start = next;
    }
}

/// The ids of the group's pending entries of `key`, whoever holds them.
fn pending(con: &mut Connection, key: &str) -> Result<HashSet<String>, String> {
    let mut ids = HashSet::new();
    let mut start = "-".to_string();
    loop {
        let v: Value = redis::cmd("XPENDING")
            .arg(key)
            .arg(GROUP)
            .arg(&start)
            .arg("+")
            .arg(10_000)
            .query(con)
            .map_err(redis_error("XPENDING"))?;
        let Value::Array(rows) = v else { return Err(format!("unexpected XPENDING reply: {v:?}")) };
        let count = rows.len();
        let mut last = None;
        for row in rows {
            if let Value::Array(mut row) = row {
                if let Some(id) = row.first_mut().map(std::mem::take).and_then(wire::text) {
                    last = Some(id.clone());
                    ids.insert(id);
                }
            }
        }
        match last {
            Some(l) if count == 10_000 => start = format!("({l}"),
            _ => return Ok(ids),
        }
    }
}

/// The group's last-delivered entry id on `key`.
fn last_delivered(con: &mut Connection, key: &str) -> Result<String, String> {
    let v: Value =
        redis::cmd("XINFO").arg("GROUPS").arg(key).query(con).map_err(redis_error("XINFO GROUPS"))?;
    let Value::Array(groups) = v else { return Err(format!("unexpected XINFO GROUPS reply: {v:?}")) };
    for g in groups {
        let pairs: Vec<(Value, Value)> = match g {
            Value::Array(flat) => {
                let mut it = flat.into_iter();
                std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect()
            }
            Value::Map(m) => m,
            _ => continue,
        };
        let mut name = None;
        let mut last = None;
        for (k, v) in pairs {
            match wire::text(k).as_deref() {
                Some("name") => name = wire::text(v),
                Some("last-delivered-id") => last = wire::text(v),
                _ => {}
            }
        }
        if name.as_deref() == Some(GROUP) {
            return last.ok_or_else(|| format!("XINFO GROUPS {key}: no last-delivered-id"));
        }
    }
    Err(format!("{key} has no consumer group `{GROUP}`: was it made by `fanzha route`?"))
}
