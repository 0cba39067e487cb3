//! `fanzha consume`: a worker that scores the partitions it owns.
//!
//! The loop: take free partitions up to the fair share (or give extra ones up), drop the ones
//! whose leases were lost (a thread renews them, see `lease`); for each owned partition, read and score its next input entries, hand the partials
//! of lines merged elsewhere to their home partitions, gather the partials its own merged
//! lines wait for, and commit what is ready. See `partition` for how results are written
//! exactly once and how a partition is taken over, and `lease` for ownership.
//!
//! A lost connection, a restarted shard or slots on the move do not stop the worker: it drops
//! what it holds in memory, reconnects (reading the cluster's slot map again) and takes its
//! partitions over again from their cursors, for up to [`RECONNECT`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::lease::Leases;
use super::metrics::Metrics;
use super::nodes::Nodes;
use super::partition::{hand_over, Handoff, Owned, Prepared};
use super::scripts::{Committed, Scripts};
use super::{written, Fail, Meta, Redis, RedisOptions, Rules};
use fanzha::{Engine, Partitioning};
use rayon::prelude::*;

/// How long a worker waits when a round found nothing new.
const IDLE: Duration = Duration::from_millis(20);
/// How long a worker tries to reach Redis again after losing it, before it gives up.
pub const RECONNECT: Duration = Duration::from_secs(60);

/// What a `fanzha consume` worker does.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisOptions,
    /// This worker's name, unique among the run's workers.
    pub name: String,
    /// How long a partition stays owned by a worker that stopped renewing it: after a crash,
    /// its partitions move to other workers after this. At least 100 ms.
    pub lease: Duration,
    /// Exit once every input line has its verdict (after `fanzha route` finished).
    pub exit_when_done: bool,
    /// Serve Prometheus metrics on this address (`host:port`) at `/metrics`.
    pub metrics: Option<String>,
}

/// Works as one of the run's workers with `rules` (an engine, or a bundle loaded once its
/// header's version matches the run's: the rules the stream was routed with) until every line
/// has its verdict if `exit_when_done`, or until an error; returns the exit code (2 with the
/// error on standard error).
pub fn run(args: Options, rules: impl Into<Rules>) -> i32 {
    if args.lease < Duration::from_millis(100) {
        eprintln!("error: --lease must be at least 100ms");
        return 2;
    }
    match work(&args, rules.into()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: fanzha consume {}: {e}", args.name);
            2
        }
    }
}

/// A worker's state across reconnections.
struct Worker<'a> {
    args: &'a Options,
    engine: &'a Engine,
    keys: Keys,
    scripts: Scripts,
    parts: Partitioning,
    leases: Leases,
    owned: BTreeMap<u32, Owned>,
    metrics: Arc<Metrics>,
    meta: Meta,
    /// A round was done since the last failure.
    progressed: bool,
}

fn work(args: &Options, mut rules: Rules) -> Result<(), Fail> {
    let name = &args.name;
    let mut nodes = match args.redis.connect() {
        Ok(nodes) => nodes,
        Err(e) if e.transient() => {
            eprintln!("fanzha consume {name}: {e}; trying again");
            reconnect(&args.redis)?
        }
        Err(e) => return Err(e),
    };
    name_connections(&mut nodes, name);
    if nodes.is_cluster() {
        eprintln!("fanzha consume {name}: Redis Cluster with {} primaries", nodes.len());
    }
    // The run's description, checked against this worker's rules and name; a cluster still
    // starting or a shard restarting is waited out.
    let (meta, parts) = loop {
        match start(args, &mut rules, &mut nodes) {
            Ok(x) => break x,
            Err(e) if e.transient() => {
                eprintln!("fanzha consume {name}: {e}; reconnecting");
                nodes = reconnect(&args.redis)?;
                name_connections(&mut nodes, name);
            }
            Err(e) => return Err(e),
        }
    };
    let engine = rules.engine()?.clone();
    let keys = Keys::new(&args.redis.prefix, meta.partitions);
    let metrics = Metrics::new(name, engine.version(), meta.partitions);
    if let Some(addr) = &args.metrics {
        let bound = metrics.serve(addr)?;
        eprintln!("fanzha consume {name}: metrics on http://{bound}/metrics");
    }
    let mut w = Worker {
        args,
        engine: &engine,
        keys: keys.clone(),
        scripts: Scripts::new(),
        parts,
        leases: Leases::start(name, args.lease, &args.redis, &keys),
        owned: BTreeMap::new(),
        metrics,
        meta,
        progressed: false,
    };
    // Workers started together (within a rule compile's jitter) see each other before
    // counting their shares, so they do not all take everything and give most of it back.
    // Best effort: the renewing thread beats from then on.
    let _ = w.leases.beat(&mut nodes, &w.keys, &w.scripts);
    std::thread::sleep(args.lease / 10);
    let _ = w.leases.beat(&mut nodes, &w.keys, &w.scripts);
    // Failures in a row without a round done in between: reconnections back off, are logged
    // now and then, and stop after RECONNECT.
    let (mut failing_since, mut failures, mut backoff) = (Instant::now(), 0u32, Duration::ZERO);
    loop {
        match w.rounds(&mut nodes) {
            Ok(()) => return Ok(()),
            Err(e) if e.transient() => {
                if std::mem::take(&mut w.progressed) {
                    (failing_since, failures, backoff) = (Instant::now(), 0, Duration::ZERO);
                }
                if failing_since.elapsed() >= RECONNECT {
                    return Err(Fail::Other(format!(
                        "gave up after {}s of failures: {e}",
                        RECONNECT.as_secs()
                    )));
                }
                failures += 1;
                w.metrics.redis_error("connection");
                if failures.is_power_of_two() {
                    eprintln!("fanzha consume {name}: {e}; reconnecting (failure {failures} in a row)");
                }
                w.owned.clear();
                w.leases.forget();
                w.metrics.leases(0);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).clamp(Duration::from_millis(50), Duration::from_secs(1));
                nodes = reconnect(&args.redis)?;
                name_connections(&mut nodes, name);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads the run's description (waiting for `fanzha route` to write it), checks it against
/// this worker's rules (a bundle's version from its header, before the bundle is loaded), and
/// checks that no live worker has this worker's name.
fn start(args: &Options, rules: &mut Rules, nodes: &mut Nodes) -> Result<(Meta, Partitioning), Fail> {
    let meta = wait_for_meta(nodes, &Keys::new(&args.redis.prefix, 0), &args.name)?;
    if meta.rules != rules.version() {
        return Err(Fail::Other(format!(
            "the stream was routed with rules {}, this worker has {}: start it with the same --rules",
            meta.rules,
            rules.describe()
        )));
    }
    let engine = rules.engine()?;
    let parts = Partitioning::new(engine, meta.partitions).map_err(|e| e.to_string())?;
    let fields: Vec<String> = parts.fields().iter().map(|f| f.to_string()).collect();
    if fields != meta.fields {
        return Err(Fail::Other(format!(
            "the stream was partitioned by {:?}, these rules key state by {fields:?}",
            meta.fields
        )));
    }
    let keys = Keys::new(&args.redis.prefix, meta.partitions);
    if Leases::name_taken(&args.name, args.lease, nodes, &keys)? {
        return Err(Fail::Other(format!(
            "a worker named {} is running (it beat less than {} ago): give each worker its own --name",
            args.name,
            humantime::format_duration(args.lease)
        )));
    }
    Ok((meta, parts))
}

impl Worker<'_> {
    /// The worker's loop, until every line has its verdict (with `exit_when_done`) or an error.
    fn rounds(&mut self, nodes: &mut Nodes) -> Result<(), Fail> {
        let name = &self.args.name;
        let n = self.keys.partitions();
        // Partitions are tried from a place that depends on the name, so workers starting
        // together do not all race for partition 0.
        let offset = self.parts.partition_of(name);
        let long_ago = Instant::now().checked_sub(self.args.lease).unwrap_or_else(Instant::now);
        let (mut last_try, mut last_done_check, mut last_lag) = (long_ago, long_ago, long_ago);
        let mut caught_up: Vec<u32> = Vec::new();
        loop {
            // The fair share: give extra partitions up, take free ones (not too often: a failed
            // take is a round trip per partition).
            let share = n.div_ceil(self.leases.live()) as usize;
            while self.owned.len() > share {
                let Some((p, _)) = self.owned.pop_last() else { break };
                self.leases.release(nodes, &self.keys, &self.scripts, p)?;
                self.metrics.forget(p);
                eprintln!(
                    "fanzha consume {name}: gave partition {p} up ({share} each for {} workers)",
                    self.leases.live()
                );
            }
            if self.owned.len() < share && last_try.elapsed() >= self.args.lease / 8 {
                last_try = Instant::now();
                for i in 0..n {
                    let p = (offset + i) % n;
                    if self.owned.len() >= share {
                        break;
                    }
                    if self.owned.contains_key(&p)
                        || !self.leases.acquire(nodes, &self.keys, &self.scripts, p)?
                    {
                        continue;
                    }
                    let o = Owned::take_over(nodes, &self.keys, self.engine, &self.parts, p)?;
                    self.metrics.rebuild(o.through);
                    eprintln!("fanzha consume {name}: took partition {p} (replayed {} entries)", o.through);
                    self.owned.insert(p, o);
                }
                self.metrics.leases(self.owned.len());
            }
            self.drop_lost();
            // Read every owned partition's next entries, score them all in parallel (each
            // partition has its own monitor), hand partials over to their homes (before any
            // commit passes them), gather the partials merged here, and commit.
            let mut batches = Vec::with_capacity(self.owned.len());
            for o in self.owned.values_mut() {
                batches.push(o.read(nodes, &self.keys)?);
            }
            let read: usize = batches.iter().map(Vec::len).sum();
            let mut owned: Vec<&mut Owned> = self.owned.values_mut().collect();
            let scored: Vec<Result<(usize, Vec<Handoff>), Fail>> = owned
                .par_iter_mut()
                .zip(batches)
                .map(|(o, entries)| {
                    let mut handoff = Vec::new();
                    let events = o.score_new(entries, &mut handoff)?;
                    Ok((events, handoff))
                })
                .collect();
            let mut handoff: Vec<(u32, u32, u64, String)> = Vec::new();
            for (r, &p) in scored.into_iter().zip(self.owned.keys()) {
                let (events, h) = r?;
                self.metrics.scored(events as u64);
                handoff.extend(h.into_iter().map(|(home, n, partial)| (home, p, n, partial)));
            }
            hand_over(nodes, &self.keys, &self.scripts, handoff)?;
            for o in self.owned.values_mut() {
                o.gather(nodes, &self.keys)?;
            }
            let mut owned: Vec<&mut Owned> = self.owned.values_mut().collect();
            let prepared: Vec<Result<Option<Prepared>, Fail>> =
                owned.par_iter_mut().map(|o| o.prepare()).collect();
            let mut busy = false;
            for (o, b) in self.owned.values_mut().zip(prepared) {
                if let Some(b) = b? {
                    let started = Instant::now();
                    match o.commit(nodes, &self.keys, &self.scripts, name, b)? {
                        Ok(wrote) => {
                            self.metrics.batch(wrote.entries, started.elapsed().as_secs_f64());
                            for level in wrote.levels {
                                match level {
                                    Some(l) => self.metrics.verdict(l),
                                    None => self.metrics.line_error(),
                                }
                            }
                        }
                        Err(why) => {
                            self.metrics.redis_error("lease_lost");
                            let what = match why {
                                Committed::LeaseLost => "its lease expired",
                                _ => "another worker wrote it",
                            };
                            eprintln!("fanzha consume {name}: lost partition {} ({what})", o.p);
                            self.leases.forget_one(o.p);
                        }
                    }
                }
                busy |= o.pending();
            }
            let held = self.leases.held();
            self.owned.retain(|p, _| held.contains(p));
            self.metrics.leases(self.owned.len());
            self.progressed = true;
            if last_lag.elapsed() >= Duration::from_secs(1) {
                last_lag = Instant::now();
                self.report_lag(nodes)?;
            }
            if self.args.exit_when_done && (read == 0 || last_done_check.elapsed() >= self.args.lease) {
                last_done_check = Instant::now();
                if self.finished(nodes)? {
                    self.leases.leave(nodes, &self.keys, &self.scripts)?;
                    eprintln!("fanzha consume {name}: every line has its verdict; exiting");
                    return Ok(());
                }
            }
            if read == 0 {
                let now: Vec<u32> = self.owned.keys().copied().collect();
                if !now.is_empty() && now != caught_up && !busy {
                    eprintln!(
                        "fanzha consume {name}: caught up with partitions {now:?}; waiting for new entries"
                    );
                    caught_up = now;
                }
                std::thread::sleep(IDLE);
            }
        }
    }

    /// Drops the partitions whose leases the renewing thread found lost.
    fn drop_lost(&mut self) {
        for p in self.leases.take_lost() {
            self.owned.remove(&p);
            self.metrics.forget(p);
            self.metrics.redis_error("lease_lost");
            eprintln!("fanzha consume {}: lost partition {p}", self.args.name);
        }
    }

    /// Input entries not yet written, per owned partition.
    fn report_lag(&mut self, nodes: &mut Nodes) -> Result<(), Fail> {
        for (p, o) in &self.owned {
            let key = self.keys.input(*p);
            let len: u64 = redis::cmd("XLEN").arg(&key).query(nodes.for_key(&key)).redis("XLEN")?;
            self.metrics.lag(*p, len.saturating_sub(o.through));
        }
        Ok(())
    }

    /// Whether routing is over and every line has its verdict.
    fn finished(&mut self, nodes: &mut Nodes) -> Result<bool, Fail> {
        if self.meta.lines.is_none() {
            match Meta::read(nodes, &self.keys)? {
                Some(m) => self.meta = m,
                None => return Ok(false),
            }
        }
        match self.meta.lines {
            Some(lines) => Ok(written(nodes, &self.keys)? >= lines),
            None => Ok(false),
        }
    }
}

/// Names the worker's connections in CLIENT LIST, so an operator (or a test) can tell them
/// apart; best effort, as a restricted Redis user may not be allowed to.
fn name_connections(nodes: &mut Nodes, name: &str) {
    let client_name: String = format!("fanzha-consume:{name}")
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    for i in 0..nodes.len() {
        let _: redis::RedisResult<()> =
            redis::cmd("CLIENT").arg("SETNAME").arg(&client_name).query(nodes.con(i));
    }
}

/// Connects again, trying for up to [`RECONNECT`].
fn reconnect(redis: &RedisOptions) -> Result<Nodes, Fail> {
    let start = Instant::now();
    let mut wait = Duration::from_millis(50);
    loop {
        match redis.connect() {
            Ok(nodes) => return Ok(nodes),
            Err(e) if start.elapsed() >= RECONNECT => {
                return Err(Fail::Other(format!("gave up reconnecting after {}s: {e}", RECONNECT.as_secs())))
            }
            Err(_) => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Waits for `fanzha route` to describe the run.
fn wait_for_meta(nodes: &mut Nodes, keys: &Keys, name: &str) -> Result<Meta, Fail> {
    let mut said = false;
    loop {
        if let Some(meta) = Meta::read(nodes, keys)? {
            return Ok(meta);
        }
        if !said {
            eprintln!("fanzha consume {name}: waiting for `fanzha route` to write {}", keys.meta());
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
