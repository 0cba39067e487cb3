//! A partition a worker owns: its monitor, the results it has scored and not written yet, and
//! how it is taken over.
//!
//! **Independent.** A partition writes its verdicts to its own output stream and moves its
//! own cursor, in batches, one script call a batch (`scripts::COMMIT`); nothing it writes
//! waits for another partition's write.
//!
//! **Exactly once.** The commit writes a batch's verdicts and moves the cursor past the batch's
//! input entries in one atomic step, if the cursor is still where this worker found it. A
//! worker that dies before the step leaves the cursor behind the batch, and the next owner
//! scores and writes it; one that dies after it has written it for good.
//!
//! **Events in several partitions.** Such an event's parts meet at its *home*, the smallest of
//! its partitions. The others hand their partials (their window and sequence hits on it) to
//! the home's `parts` hash before their own commit passes the line (so a crash resends them;
//! the home ignores a partial of a line it has written). The home, on reaching the line in its
//! own stream, waits for the partials (holding its later results back, but scoring on) and
//! writes the merged verdict ([`fanzha::Scanner::merge`], partials in partition order) in its
//! place. A partition waits only for partials of lines before the one it holds back, and
//! those come from partitions that reached them, so no cycle of waits can form.
//!
//! **In order.** So each partition's output stream is in input order: `collect` merges them
//! with a k-way merge, and a consumer of one partition's stream reads its lines in input
//! order.
//!
//! **Taking over.** A partition's state is a function of its stream up to the entry being
//! scored, so a new owner replays the stream from the start to the cursor (state only) and
//! goes on from there.

use std::collections::VecDeque;

use rayon::prelude::*;
use redis::Value;

use super::keys::Keys;
use super::nodes::Nodes;
use super::scripts::{Committed, Scripts};
use super::wire::{self, Entry, Record};
use super::{Fail, Redis};
use fanzha::{Engine, Event, Level, Monitor, MonitorConfig, Partitioning, Placement, Scanner, StatefulHit};

/// Input entries read at a time (each holds many lines).
const READ: usize = 8;
/// Results held back (waiting for a home's partials) past which no more is read.
const HOLD: usize = 50_000;

/// The last input entry whose results are written, and its last line (the entry `0-0` and
/// line 0 before any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) id: String,
    pub(super) line: u64,
}

/// A scored result, in stream order.
enum Item {
    /// A verdict or error record known here; `level` is `None` for an error record.
    Out { n: u64, json: String, level: Option<Level> },
    /// A line this partition merges: its own partial, and the others' once they are in.
    Home {
        n: u64,
        event: Box<Event>,
        late: bool,
        own: Vec<StatefulHit>,
        others: Vec<u32>,
        got: Option<Vec<Value>>,
    },
    /// The end of an input entry: the cursor may move here once everything before is written.
    End(Cursor),
}

/// What a commit wrote, for the metrics.
#[derive(Debug, Default)]
pub(super) struct Wrote {
    pub(super) entries: u64,
    pub(super) levels: Vec<Option<Level>>,
}

/// A partial result for a line merged at another partition: `(home, n, partial)`.
pub(super) type Handoff = (u32, u64, String);

/// An owned partition.
pub(super) struct Owned {
    pub(super) p: u32,
    parts: Partitioning,
    monitor: Monitor,
    /// The last input entry read.
    read: String,
    cursor: Cursor,
    /// Scored, not yet written.
    queue: VecDeque<Item>,
    /// Input entries up to the cursor (for the lag).
    pub(super) through: u64,
    /// For merges: a scanner's buffers are worth keeping (a new one is zeroed tables).
    scanner: Scanner,
}

/// A batch ready to commit: what [`Owned::prepare`] made of the results ready to go.
pub(super) struct Prepared {
    /// Items of the queue it covers.
    upto: usize,
    cursor: Cursor,
    /// Line numbers, space-separated, and the verdicts, one a line.
    lines: String,
    verdicts: String,
    count: usize,
    /// `parts` fields merged.
    merged: Vec<String>,
    wrote: Wrote,
}

impl Owned {
    /// Takes partition `p` over: reads its cursor and replays its stream up to it, to rebuild
    /// the state the previous owner had there. Returns the partition and the entries replayed.
    pub(super) fn take_over(
        nodes: &mut Nodes,
        keys: &Keys,
        engine: &Engine,
        parts: &Partitioning,
        p: u32,
    ) -> Result<Owned, Fail> {
        let key = keys.cursor(p);
        let (id, line): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(&key)
            .arg("id")
            .arg("line")
            .query(nodes.for_key(&key))
            .redis("HMGET cursor")?;
        let cursor = Cursor { id: id.unwrap_or_else(|| "0-0".into()), line: line.unwrap_or(0) };
        let mut owned = Owned {
            p,
            parts: parts.clone(),
            monitor: Monitor::with_partition(engine.clone(), MonitorConfig::default(), parts, p),
            read: "0-0".into(),
            cursor: cursor.clone(),
            queue: VecDeque::new(),
            through: 0,
            scanner: engine.scanner(),
        };
        while owned.read != cursor.id {
            let entries = owned.range(nodes, keys, &cursor.id, 64)?;
            if entries.is_empty() {
                return Err(Fail::Other(format!(
                    "partition {p}: the cursor is at entry {}, which its input stream does not hold",
                    cursor.id
                )));
            }
            owned.through += entries.len() as u64;
            owned.score(entries, None)?;
        }
        Ok(owned)
    }

    /// Up to `count` input entries after the last one read, up to `end` (`+` for all).
    fn range(&mut self, nodes: &mut Nodes, keys: &Keys, end: &str, count: usize) -> Result<Vec<Entry>, Fail> {
        let key = keys.input(self.p);
        let v: Value = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({}", self.read))
            .arg(end)
            .arg("COUNT")
            .arg(count)
            .query(nodes.for_key(&key))
            .redis("XRANGE")?;
        let entries = wire::entries(v)?;
        if let Some(last) = entries.last() {
            self.read = last.id.clone();
        }
        Ok(entries)
    }

    /// The next input entries, unless it holds back so much that reading should wait.
    pub(super) fn read(&mut self, nodes: &mut Nodes, keys: &Keys) -> Result<Vec<Entry>, Fail> {
        if self.queue.len() > HOLD {
            return Ok(Vec::new());
        }
        self.range(nodes, keys, "+", READ)
    }

    /// Scores entries read, queueing the results to write; the partials of lines whose home
    /// is another partition go to `handoff` as `(home, n, partial)`, to hand over before the
    /// next commit. Returns the number of events.
    pub(super) fn score_new(
        &mut self,
        entries: Vec<Entry>,
        handoff: &mut Vec<Handoff>,
    ) -> Result<usize, Fail> {
        self.score(entries, Some(handoff))
    }

    /// Scores entries in stream order. With `handoff`, the results are queued to write and
    /// the partials for other homes go there; without, they only feed the state (a replay).
    /// Returns the number of events.
    fn score(&mut self, entries: Vec<Entry>, handoff: Option<&mut Vec<Handoff>>) -> Result<usize, Fail> {
        // Each entry's id and where its records end.
        let mut ends: Vec<(String, usize)> = Vec::with_capacity(entries.len());
        let mut records: Vec<Record> = Vec::new();
        for e in &entries {
            let b = e.field("b").ok_or_else(|| format!("input entry {} has no field `b`", e.id))?;
            records.extend(Record::decode(b).map_err(|err| format!("input entry {}: {err}", e.id))?);
            ends.push((e.id.clone(), records.len()));
        }
        let parsed: Vec<Option<Event>> = records
            .par_iter()
            .map(|r| match r {
                Record::Event { line, n, .. } => Event::from_line(line).map(Some).map_err(|e| {
                    format!("line {n} does not read as an event here ({e}): was it routed by another version of fanzha?")
                }),
                Record::Bad { .. } => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let mut events = Vec::with_capacity(parsed.len());
        let mut placements: Vec<Placement> = Vec::with_capacity(parsed.len());
        for (r, e) in records.iter().zip(parsed) {
            if let (Record::Event { placement, .. }, Some(e)) = (r, e) {
                events.push(e);
                placements.push(*placement);
            }
        }
        let count = events.len();
        let observed =
            if events.is_empty() { Vec::new() } else { self.monitor.observe_placed(&events, &placements) };
        let Some(handoff) = handoff else { return Ok(count) };
        let mut events = events.into_iter();
        let mut observed = observed.into_iter();
        let mut last = self.cursor_line_hint();
        let mut ends = ends.into_iter().peekable();
        // Entries before the first record (empty ones) end where the last cursor did.
        while let Some((id, _)) = ends.next_if(|(_, end)| *end == 0) {
            self.queue.push_back(Item::End(Cursor { id, line: last }));
        }
        for (i, r) in records.into_iter().enumerate() {
            let n = r.n();
            match r {
                Record::Bad { n, error } => {
                    let json =
                        serde_json::to_string(&LineError { line: n, error: &error }).unwrap_or_default();
                    self.queue.push_back(Item::Out { n, json, level: None });
                }
                Record::Event { k, placement, .. } => {
                    let (Some(event), Some(o)) = (events.next(), observed.next()) else {
                        return Err("a monitor gave fewer results than events".into());
                    };
                    if k <= 1 {
                        let level = Some(o.verdict.level);
                        self.queue.push_back(Item::Out { n, json: o.verdict.to_json(), level });
                    } else {
                        let route = self.parts.route(&event, placement.seq);
                        if route.len() != k as usize || !route.contains(&self.p) {
                            return Err(Fail::Other(format!(
                                "line {n} was routed to {k} partitions, these rules send it to {route:?}: \
                                 was it routed with other rules?"
                            )));
                        }
                        if route[0] == self.p {
                            let others = route[1..].to_vec();
                            let event = Box::new(event);
                            let item = Item::Home {
                                n,
                                event,
                                late: placement.late,
                                own: o.stateful,
                                others,
                                got: None,
                            };
                            self.queue.push_back(item);
                        } else {
                            let partial = serde_json::to_string(&o.stateful).unwrap_or_default();
                            handoff.push((route[0], n, partial));
                        }
                    }
                }
            }
            last = n;
            while let Some((id, _)) = ends.next_if(|(_, end)| *end <= i + 1) {
                self.queue.push_back(Item::End(Cursor { id, line: last }));
            }
        }
        // Entries without records (route writes none, but a cursor must be able to pass one).
        for (id, _) in ends {
            self.queue.push_back(Item::End(Cursor { id, line: last }));
        }
        Ok(count)
    }

    /// The line of the last cursor queued or written.
    fn cursor_line_hint(&self) -> u64 {
        self.queue
            .iter()
            .rev()
            .find_map(|i| match i {
                Item::End(c) => Some(c.line),
                _ => None,
            })
            .unwrap_or(self.cursor.line)
    }

    /// Asks the home's `parts` hash for the partials of lines still waiting for them.
    pub(super) fn gather(&mut self, nodes: &mut Nodes, keys: &Keys) -> Result<(), Fail> {
        let mut fields = Vec::new();
        for item in &self.queue {
            if let Item::Home { n, others, got: None, .. } = item {
                fields.extend(others.iter().map(|q| format!("{n}:{q}")));
            }
        }
        if fields.is_empty() {
            return Ok(());
        }
        let key = keys.parts(self.p);
        let got: Vec<Value> =
            redis::cmd("HMGET").arg(&key).arg(&fields).query(nodes.for_key(&key)).redis("HMGET parts")?;
        let mut got = got.into_iter();
        for item in &mut self.queue {
            if let Item::Home { others, got: slot @ None, .. } = item {
                let mine: Vec<Value> = got.by_ref().take(others.len()).collect();
                if mine.iter().all(|v| !matches!(v, Value::Nil)) {
                    *slot = Some(mine);
                }
            }
        }
        Ok(())
    }

    /// Whether anything scored is waiting to be written.
    pub(super) fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Makes a batch of the results ready to go, up to the last input entry all of whose
    /// results are ready (merging the lines whose partials are in); `None` if there is none.
    pub(super) fn prepare(&mut self) -> Result<Option<Prepared>, Fail> {
        let mut upto = None;
        for (i, item) in self.queue.iter().enumerate() {
            match item {
                Item::Home { got: None, .. } => break,
                Item::End(_) => upto = Some(i),
                _ => {}
            }
        }
        let Some(upto) = upto else { return Ok(None) };
        let p = self.p;
        let mut b = Prepared {
            upto,
            cursor: self.cursor.clone(),
            lines: String::new(),
            verdicts: String::new(),
            count: 0,
            merged: Vec::new(),
            wrote: Wrote::default(),
        };
        let add = |b: &mut Prepared, n: u64, json: &str, level: Option<Level>| {
            if b.count > 0 {
                b.lines.push(' ');
                b.verdicts.push('\n');
            }
            b.lines.push_str(&n.to_string());
            b.verdicts.push_str(json);
            b.count += 1;
            b.wrote.levels.push(level);
        };
        for item in self.queue.iter().take(upto + 1) {
            match item {
                Item::Out { n, json, level, .. } => add(&mut b, *n, json, *level),
                Item::Home { n, event, late, own, others, got: Some(got) } => {
                    let mut partials: Vec<(u32, Vec<StatefulHit>)> = vec![(p, own.clone())];
                    for (q, v) in others.iter().zip(got) {
                        let json = wire::bytes(v.clone()).unwrap_or_default();
                        let hits: Vec<StatefulHit> = serde_json::from_slice(&json)
                            .map_err(|e| format!("a bad partial of line {n} from partition {q}: {e}"))?;
                        partials.push((*q, hits));
                        b.merged.push(format!("{n}:{q}"));
                    }
                    partials.sort_by_key(|(q, _)| *q);
                    let hits: Vec<StatefulHit> = partials.into_iter().flat_map(|(_, h)| h).collect();
                    let verdict = self.scanner.merge(event, *late, &hits);
                    add(&mut b, *n, &verdict.to_json(), Some(verdict.level));
                }
                Item::Home { .. } => unreachable!("only ready items are prepared"),
                Item::End(c) => {
                    b.cursor = c.clone();
                    b.wrote.entries += 1;
                }
            }
        }
        Ok(Some(b))
    }

    /// Writes a prepared batch and moves the cursor past it (one script call).
    pub(super) fn commit(
        &mut self,
        nodes: &mut Nodes,
        keys: &Keys,
        scripts: &Scripts,
        name: &str,
        b: Prepared,
    ) -> Result<Result<Wrote, Committed>, Fail> {
        let p = self.p;
        let mut call = scripts.commit([keys.lease(p), keys.cursor(p), keys.out(p), keys.parts(p)]);
        call.arg(name).arg(&self.cursor.id).arg(&b.cursor.id).arg(b.cursor.line).arg(b.count);
        call.arg(&b.lines).arg(&b.verdicts);
        for f in &b.merged {
            call.arg(f);
        }
        match scripts.committed(nodes, keys.slot(p), &call)? {
            Committed::Yes => {
                self.queue.drain(..=b.upto);
                self.cursor = b.cursor;
                self.through += b.wrote.entries;
                Ok(Ok(b.wrote))
            }
            other => Ok(Err(other)),
        }
    }
}

/// Hands partials over to their home partitions, one script call per home:
/// `(home, from, n, partial)`.
pub(super) fn hand_over(
    nodes: &mut Nodes,
    keys: &Keys,
    scripts: &Scripts,
    mut handoff: Vec<(u32, u32, u64, String)>,
) -> Result<(), Fail> {
    handoff.sort_unstable_by_key(|(h, _, n, _)| (*h, *n));
    for chunk in handoff.chunk_by(|a, b| a.0 == b.0) {
        let home = chunk[0].0;
        let items: Vec<(u64, String, &str)> =
            chunk.iter().map(|(_, from, n, partial)| (*n, format!("{n}:{from}"), partial.as_str())).collect();
        scripts.contribute(nodes, keys.slot(home), &keys.cursor(home), &keys.parts(home), &items)?;
    }
    Ok(())
}

/// The record in place of a line that cannot be read, as `fanzha scan` writes it.
#[derive(serde::Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a str,
}
