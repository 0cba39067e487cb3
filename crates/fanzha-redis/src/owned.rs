//! A partition a worker owns: its monitor, how its results are written, and how it is
//! taken over.
//!
//! **Exactly once.** Results go to Redis through scripts that store them and acknowledge the
//! entry in one atomic step, and a line is written (marked done with `HSETNX`, its verdict
//! added to the output stream) at most once. A worker that dies before the step leaves the
//! entry pending and the next owner offers it again; an entry offered twice, or for a line
//! already done, changes nothing.
//!
//! **In order, without waiting.** A line's verdict may go out only after the line before it in
//! each of its partitions: each result is offered with the line before it in this partition's
//! stream, and the scripts write a line once its verdict is known and those lines are written,
//! then, in cascade, the lines that were waiting for it. So each partition's lines, and with
//! them each key value's (a value's events are all in the partition that owns it), reach the
//! output stream in input order, while workers score on without waiting for each other.
//!
//! **Events in several partitions.** Each partition offers its partial (its window and
//! sequence hits on the event); the worker whose offer completes the set gets the partials
//! back, merges them ([`fanzha::Scanner::merge`], in partition order) and sets the verdict.
//!
//! **Taking over.** A partition's state is a function of its stream up to the entry being
//! scored, so a new owner replays the stream from the start to the group's last-delivered
//! entry: acknowledged entries only feed the state, entries still pending (the previous
//! owner's unfinished work) are offered as well. Then it reads new entries as usual.

use std::collections::{HashMap, HashSet, VecDeque};

use rayon::prelude::*;
use redis::{Connection, Value};

use super::keys::{Keys, GROUP};
use super::lease::Leases;
use super::redis_error;
use super::scripts::Scripts;
use super::wire::{self, Entry, Record};
use fanzha::{Engine, Event, Monitor, MonitorConfig, Partitioning, Placement, Scanner, StatefulHit};

/// Results offered in one script call at most.
const OFFER: usize = 1024;
/// Stream entries replayed at a time when taking a partition over.
const REPLAY: usize = 1024;

/// What the worker needs of Redis.
pub(super) struct Ctx<'a> {
    pub(super) con: &'a mut Connection,
    pub(super) keys: &'a Keys,
    pub(super) scripts: &'a Scripts,
    pub(super) engine: &'a Engine,
    /// For merges: a scanner's buffers are worth keeping (a new one is zeroed tables).
    pub(super) scanner: &'a mut Scanner,
}

/// A result to offer: `prev` is the line before line `n` in this partition's stream (0 for
/// none), `id` the stream entry's.
pub(super) enum Offer {
    /// The verdict or error record of a line routed here alone.
    Verdict { id: String, n: u64, prev: u64, event: String, json: String },
    /// This partition's partial of a line routed to the partitions `route`; the event is kept
    /// for the merge.
    Partial {
        id: String,
        n: u64,
        prev: u64,
        route: Vec<u32>,
        stateful: Vec<StatefulHit>,
        event: Box<Event>,
        late: bool,
    },
}

/// An owned partition.
pub(super) struct Owned {
    p: u32,
    parts: Partitioning,
    monitor: Monitor,
    /// The line number of the last entry scored.
    last: u64,
}

impl Owned {
    /// Claims partition `p`'s pending entries, replays its stream to rebuild the state and
    /// offers what the previous owner left unacknowledged. `None` if the lease was lost meanwhile.
    pub(super) fn take_over(
        ctx: &mut Ctx,
        parts: &Partitioning,
        p: u32,
        name: &str,
        leases: &mut Leases,
    ) -> Result<Option<Owned>, String> {
        let mut owned = Owned {
            p,
            parts: parts.clone(),
            monitor: Monitor::with_partition(ctx.engine.clone(), MonitorConfig::default(), parts, p),
            last: 0,
        };
        let key = ctx.keys.input(p);
        // Every pending entry, however recently read: the lease was free, so whoever read it
        // has stopped reading this partition (its lease expired, or it gave the partition up).
        // A threshold of a lease's idle time would leave the last batch a dead worker read
        // with it whenever the takeover comes less than a lease after that read.
        let claimed = claim(ctx.con, &key, name)?;
        if claimed > 0 {
            eprintln!("fanzha consume {name}: claimed {claimed} pending entries of partition {p}");
        }
        // Every pending entry is offered again, whoever holds it: a worker that gave the
        // partition up (or lost it) will not offer it any more, and a second offer changes
        // nothing.
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
            let offers = owned.score(entries, |id| pending.contains(id))?;
            let mut flight = Flight::default();
            flight.send(ctx, p, offers)?;
            flight.drain(ctx)?;
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

    /// Scores entries of this partition's stream, in stream order, and returns the results
    /// to offer of those `write` says to write (the others only feed the state).
    pub(super) fn score(
        &mut self,
        entries: Vec<Entry>,
        write: impl Fn(&str) -> bool,
    ) -> Result<Vec<Offer>, String> {
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
        let mut offers = Vec::with_capacity(records.len());
        for (id, r) in records {
            let (event, o) = match r {
                Record::Event { .. } => (events.next(), observed.next()),
                Record::Bad { .. } => (None, None),
            };
            let prev = self.last;
            let n = match &r {
                Record::Event { n, .. } | Record::Bad { n, .. } => *n,
            };
            self.last = n;
            if !write(&id) {
                continue;
            }
            match r {
                Record::Bad { n, error } => {
                    let json =
                        serde_json::to_string(&LineError { line: n, error: &error }).unwrap_or_default();
                    offers.push(Offer::Verdict { id, n, prev, event: String::new(), json });
                }
                Record::Event { n, k, placement, .. } => {
                    let (Some(event), Some(o)) = (event, o) else {
                        return Err("a monitor gave fewer results than events".into());
                    };
                    if k <= 1 {
                        let event = event.id().unwrap_or_default().to_string();
                        offers.push(Offer::Verdict { id, n, prev, event, json: o.verdict.to_json() });
                    } else {
                        let route = self.parts.route(&event, placement.seq);
                        if route.len() != k as usize || !route.contains(&self.p) {
                            return Err(format!(
                                "line {n} was routed to {k} partitions, these rules send it to {route:?}: \
                                 was it routed with other rules?"
                            ));
                        }
                        let (event, late, stateful) = (Box::new(event), placement.late, o.stateful);
                        offers.push(Offer::Partial { id, n, prev, route, stateful, event, late });
                    }
                }
            }
        }
        Ok(offers)
    }
}

/// Offers on their way to Redis and merged verdicts on their way back: a worker sends a
/// partition's offers and scores the next partition's entries while Redis runs them, and
/// reads the replies, in order, later. Nothing else may use the connection until they are
/// read ([`Flight::drain`]).
#[derive(Default)]
pub(super) struct Flight {
    pending: VecDeque<Pending>,
}

/// A script call sent and not answered yet.
enum Pending {
    /// Offers of partition `p`, with the lines whose partials may come back to merge.
    Offer {
        p: u32,
        partials: HashMap<u64, (String, Box<Event>, bool, String)>,
    },
    Verdict,
}

impl Flight {
    /// Sends partition `p`'s offers (see `scripts.rs`) without waiting for the reply.
    pub(super) fn send(&mut self, ctx: &mut Ctx, p: u32, offers: Vec<Offer>) -> Result<(), String> {
        let mut offers = offers.into_iter().peekable();
        while offers.peek().is_some() {
            let mut cmd = script_call(ctx, ctx.scripts.offer(), p);
            let mut partials = HashMap::new();
            for o in offers.by_ref().take(OFFER) {
                match o {
                    Offer::Verdict { id, n, prev, event, json } => {
                        cmd.arg("V").arg(id).arg(n).arg(prev).arg(event).arg(json);
                    }
                    Offer::Partial { id, n, prev, route, stateful, event, late } => {
                        let partial = serde_json::to_string(&stateful).unwrap_or_default();
                        let route = route.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
                        cmd.arg("P").arg(&id).arg(n).arg(prev).arg(route.split(' ').count()).arg(p);
                        cmd.arg(partial).arg(&route);
                        partials.insert(n, (id, event, late, route));
                    }
                }
            }
            ctx.con
                .send_packed_command(&cmd.get_packed_command())
                .map_err(redis_error("offering results"))?;
            self.pending.push_back(Pending::Offer { p, partials });
        }
        Ok(())
    }

    /// Calls in flight.
    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Reads the oldest reply; an offer's reply may send the merged verdicts of the lines it
    /// completed.
    pub(super) fn receive(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let Some(pending) = self.pending.pop_front() else { return Ok(()) };
        let reply = ctx.con.recv_response().map_err(redis_error("offering results"))?;
        let Pending::Offer { p, partials } = pending else { return Ok(()) };
        let Value::Array(reply) = reply else {
            return Err(format!("unexpected reply of the offer script: {reply:?}"));
        };
        if reply.is_empty() {
            return Ok(());
        }
        let mut cmd = script_call(ctx, ctx.scripts.verdict(), p);
        let mut it = reply.into_iter();
        while let (Some(n), Some(list)) = (it.next(), it.next()) {
            let n: u64 = match n {
                Value::Int(i) => u64::try_from(i).ok(),
                other => wire::text(other).and_then(|s| s.parse().ok()),
            }
            .ok_or("the offer script named no line")?;
            let (id, event, late, route) =
                partials.get(&n).ok_or_else(|| format!("asked to merge line {n}, not offered"))?;
            let json = merge(ctx.scanner, n, event, *late, list)?;
            cmd.arg(id).arg(n).arg(event.id().unwrap_or_default()).arg(json).arg(route);
        }
        ctx.con
            .send_packed_command(&cmd.get_packed_command())
            .map_err(redis_error("setting merged verdicts"))?;
        self.pending.push_back(Pending::Verdict);
        Ok(())
    }

    /// Reads every reply.
    pub(super) fn drain(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        while !self.pending.is_empty() {
            self.receive(ctx)?;
        }
        Ok(())
    }
}

/// An EVALSHA of a write script for partition `p`, its keys and the group in place.
fn script_call(ctx: &Ctx, script: &redis::Script, p: u32) -> redis::Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    let keys = ctx.keys.write_keys(p);
    cmd.arg(script.get_hash()).arg(keys.len());
    for k in &keys {
        cmd.arg(k);
    }
    cmd.arg(GROUP);
    cmd
}

/// The verdict of line `n` from every partition's partial (`[partition, json, …]`), merged in
/// partition order.
fn merge(scanner: &mut Scanner, n: u64, event: &Event, late: bool, flat: Value) -> Result<String, String> {
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
    Ok(scanner.merge(event, late, &hits).to_json())
}

/// The record in place of a line that cannot be read, as `fanzha scan` writes it.
#[derive(serde::Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a str,
}

/// Moves the group's pending entries of `key` to `name`; returns how many.
fn claim(con: &mut Connection, key: &str, name: &str) -> Result<usize, String> {
    let mut start = "0-0".to_string();
    let mut claimed = 0;
    loop {
        let v: Value = redis::cmd("XAUTOCLAIM")
            .arg(key)
            .arg(GROUP)
            .arg(name)
            .arg(0)
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
