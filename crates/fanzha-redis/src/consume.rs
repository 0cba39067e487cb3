//! `fanzha consume`: a worker that scores the partitions it owns.
//!
//! The loop: take free partitions up to the fair share (or give extra ones up); beat and renew
//! leases; read new entries of every owned partition in one call; score them and offer
//! the results, which acknowledges them. See `owned`
//! for how results are written exactly once and how a partition is taken over, and
//! `lease` for ownership.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::lease::Leases;
use super::owned::{Ctx, Flight, Owned};
use super::scripts::Scripts;
use super::wire;
use super::{done_count, Meta, RedisOptions};
use fanzha::{Engine, Partitioning};

/// Entries read from one partition at a time.
const READ: usize = 512;
/// How long a worker waits when a read found nothing new.
const IDLE: Duration = Duration::from_millis(20);

/// What a `fanzha consume` worker does.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisOptions,
    /// This worker's name, unique among the run's workers (its consumer name in the group).
    pub name: String,
    /// How long a partition stays owned by a worker that stopped renewing it: after a crash,
    /// its partitions move to other workers after this. At least 100 ms.
    pub lease: Duration,
    /// Exit once every input line has its verdict (after `fanzha route` finished).
    pub exit_when_done: bool,
}

/// Works as one of the run's workers with `engine` (built from the rules the stream was
/// routed with) until every line has its verdict if `exit_when_done`, or until an error;
/// returns the exit code (2 with the error on standard error).
pub fn run(args: Options, engine: Engine) -> i32 {
    if args.lease < Duration::from_millis(100) {
        eprintln!("error: --lease must be at least 100ms");
        return 2;
    }
    match work(&args, engine) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: fanzha consume {}: {e}", args.name);
            2
        }
    }
}

fn work(args: &Options, engine: Engine) -> Result<(), String> {
    let keys = args.redis.keys();
    let mut con = args.redis.connect()?;
    // Named in CLIENT LIST, so an operator (or a test) can tell the workers' connections apart;
    // best effort, as a restricted Redis user may not be allowed to.
    let client_name: String = format!("fanzha-consume:{}", args.name)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    let _: redis::RedisResult<()> = redis::cmd("CLIENT").arg("SETNAME").arg(&client_name).query(&mut con);
    let scripts = Scripts::load(&mut con)?;
    let meta = wait_for_meta(&mut con, &keys, &args.name)?;
    if meta.rules != engine.version() {
        return Err(format!(
            "the stream was routed with rules {}, this worker has {}: start it with the same --rules",
            meta.rules,
            engine.version()
        ));
    }
    let parts = Partitioning::new(&engine, meta.partitions).map_err(|e| e.to_string())?;
    let fields: Vec<String> = parts.fields().iter().map(|f| f.to_string()).collect();
    if fields != meta.fields {
        return Err(format!(
            "the stream was partitioned by {:?}, these rules key state by {fields:?}",
            meta.fields
        ));
    }
    let n = parts.partitions();
    let mut leases = Leases::new(&args.name, args.lease);
    if leases.name_taken(&mut con, &keys)? {
        return Err(format!(
            "a worker named {} is running (it beat less than {} ago): give each worker its own --name",
            args.name,
            humantime::format_duration(args.lease)
        ));
    }
    leases.renew(&mut con, &keys, &scripts)?;
    // Workers started together see each other before counting their shares.
    std::thread::sleep(args.lease / 4);
    leases.renew(&mut con, &keys, &scripts)?;
    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let mut scanner = engine.scanner();
    // What offering and taking over need, for the rest of the worker's life.
    let mut ctx =
        Ctx { con: &mut con, keys: &keys, scripts: &scripts, engine: &engine, scanner: &mut scanner };
    // Partitions are tried from a place that depends on the name, so workers starting
    // together do not all race for partition 0.
    let offset = parts.partition_of(&args.name);
    // Both due at once.
    let long_ago = Instant::now().checked_sub(args.lease).unwrap_or_else(Instant::now);
    let (mut last_try, mut last_done_check) = (long_ago, long_ago);
    // The partitions last reported read to their end.
    let mut caught_up: Vec<u32> = Vec::new();
    loop {
        // The fair share: give extra partitions up, take free ones (not too often: a failed
        // take is a round trip per partition).
        let share = n.div_ceil(leases.live()) as usize;
        while owned.len() > share {
            let Some((p, _)) = owned.pop_last() else { break };
            leases.release(ctx.con, &keys, &scripts, p)?;
            eprintln!(
                "fanzha consume {}: gave partition {p} up ({share} each for {} workers)",
                args.name,
                leases.live()
            );
        }
        if owned.len() < share && last_try.elapsed() >= args.lease / 8 {
            last_try = Instant::now();
            for i in 0..n {
                let p = (offset + i) % n;
                if owned.len() >= share {
                    break;
                }
                if owned.contains_key(&p) || !leases.acquire(ctx.con, &keys, p)? {
                    continue;
                }
                if let Some(o) = Owned::take_over(&mut ctx, &parts, p, &args.name, &mut leases)? {
                    owned.insert(p, o);
                }
            }
        }
        // Renewed shortly before reading: entries are read only under a live lease.
        renew(&mut leases, &mut owned, ctx.con, &keys, &scripts, &args.name)?;
        let mut read = 0;
        if !owned.is_empty() {
            let by_key: HashMap<String, u32> = owned.keys().map(|&p| (keys.input(p), p)).collect();
            let partitions: Vec<u32> = owned.keys().copied().collect();
            let reply = scripts.read(ctx.con, &keys, &partitions, &args.name, READ)?;
            // Redis runs one partition's offers while the next partition's entries are scored.
            let mut flight = Flight::default();
            for (key, entries) in wire::read_reply(reply)? {
                let Some(o) = by_key.get(&key).and_then(|p| owned.get_mut(p)) else { continue };
                read += entries.len();
                let p = *by_key.get(&key).unwrap_or(&0);
                let offers = o.score(entries, |_| true)?;
                while flight.len() > 1 {
                    flight.receive(&mut ctx)?;
                }
                flight.send(&mut ctx, p, offers)?;
                // A long batch must not cost the leases.
                if leases.due() {
                    flight.drain(&mut ctx)?;
                    renew(&mut leases, &mut owned, ctx.con, &keys, &scripts, &args.name)?;
                }
            }
            flight.drain(&mut ctx)?;
        }
        if args.exit_when_done && (read == 0 || last_done_check.elapsed() >= args.lease) {
            last_done_check = Instant::now();
            if finished(ctx.con, &keys)? {
                leases.leave(ctx.con, &keys, &scripts)?;
                eprintln!("fanzha consume {}: every line has its verdict; exiting", args.name);
                return Ok(());
            }
        }
        if read == 0 {
            let now: Vec<u32> = owned.keys().copied().collect();
            if !now.is_empty() && now != caught_up {
                eprintln!(
                    "fanzha consume {}: caught up with partitions {now:?}; waiting for new entries",
                    args.name
                );
                caught_up = now;
            }
            std::thread::sleep(IDLE);
        }
    }
}

/// Renews the leases if due, dropping the partitions whose leases were lost.
fn renew(
    leases: &mut Leases,
    owned: &mut BTreeMap<u32, Owned>,
    con: &mut redis::Connection,
    keys: &Keys,
    scripts: &Scripts,
    name: &str,
) -> Result<(), String> {
    for p in leases.renew_if_due(con, keys, scripts)? {
        owned.remove(&p);
        eprintln!("fanzha consume {name}: lost partition {p}");
    }
    Ok(())
}

/// Waits for `fanzha route` to describe the run.
fn wait_for_meta(con: &mut redis::Connection, keys: &Keys, name: &str) -> Result<Meta, String> {
    let mut said = false;
    loop {
        if let Some(meta) = Meta::read(con, keys)? {
            return Ok(meta);
        }
        if !said {
            eprintln!("fanzha consume {name}: waiting for `fanzha route` to write {}", keys.meta());
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether routing is over and every line has its verdict.
fn finished(con: &mut redis::Connection, keys: &Keys) -> Result<bool, String> {
    let Some(meta) = Meta::read(con, keys)? else { return Ok(false) };
    match meta.lines {
        Some(lines) => Ok(done_count(con, keys)? >= lines),
        None => Ok(false),
    }
}
