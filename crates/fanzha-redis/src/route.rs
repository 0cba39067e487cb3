//! `fanzha route`: the input, placed on the stream's clock and split into partition streams.
//!
//! This is the only step that sees the whole stream, and it does the only work that needs
//! to: read each line, place each event on one [`StreamClock`] (time, lateness, position) and
//! name its partitions. Lines are parsed in parallel, a block at a time; placing and routing
//! run in input order; each block becomes one entry per partition it touches (many lines to
//! an entry, see `wire`), sent in one pipeline per node, so every partition stream is in input
//! order and Redis does a few operations per block, not per line.
//!
//! An entry's id is the number of its first line (`n-0`), so routing can resume after a lost
//! connection or a restarted shard: the block is sent again, without the entries a partition
//! already holds.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::keys::Keys;
use super::nodes::Nodes;
use super::wire::Record;
use super::{Fail, Meta, Redis, RedisOptions};
use fanzha::{Engine, Event, MonitorConfig, Partitioning, PipelineOptions, StreamClock};

/// Lines read, parsed and sent at a time.
const BATCH: usize = 4096;

/// What `fanzha route` does.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisOptions,
    /// Partitions to split the stream into: the most workers that can share the work.
    pub partitions: u32,
    /// Delete every key of an earlier run under the same prefix first. Without it, route
    /// refuses to write over a run.
    pub reset: bool,
    /// JSON Lines input; `-` or `None` for standard input.
    pub input: Option<PathBuf>,
}

/// Routes the input with `engine`'s rules; reports on standard error and returns the exit
/// code (0, or 2 with the error on standard error).
pub fn run(args: Options, engine: &Engine) -> i32 {
    let partitioning = match Partitioning::new(engine, args.partitions) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let stdin = || BufReader::with_capacity(1 << 16, Box::new(io::stdin()) as Box<dyn Read>);
    let reader = match &args.input {
        None => stdin(),
        Some(p) if p.as_os_str() == "-" => stdin(),
        Some(p) => match File::open(p) {
            Ok(f) => BufReader::with_capacity(1 << 16, Box::new(f) as Box<dyn Read>),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return 2;
            }
        },
    };
    let meta = Meta {
        partitions: args.partitions,
        rules: engine.version().to_string(),
        fields: partitioning.fields().iter().map(|f| f.to_string()).collect(),
        lines: None,
    };
    match route(&args, reader, &partitioning, &meta) {
        Ok(counts) => {
            eprintln!(
                "fanzha: routed {} lines ({} events, {} unreadable) to {} partitions; {} events went to more than one",
                counts.lines, counts.events, counts.bad, args.partitions, counts.multi
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// How long routing tries to reach Redis again after losing it.
const RECONNECT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Counts {
    lines: u64,
    events: u64,
    bad: u64,
    multi: u64,
}

fn route(
    args: &Options,
    reader: BufReader<Box<dyn Read>>,
    parts: &Partitioning,
    meta: &Meta,
) -> Result<Counts, Fail> {
    let keys = Keys::new(&args.redis.prefix, parts.partitions());
    let mut nodes = args.redis.connect()?;
    if args.reset {
        reset(&mut nodes, &keys)?;
    } else if Meta::read(&mut nodes, &keys)?.is_some() {
        return Err(Fail::Other(format!(
            "{} exists: a stream was routed under --prefix {} before; pass --reset to delete that run's keys, or choose another prefix",
            keys.meta(),
            args.redis.prefix
        )));
    }
    meta.write(&mut nodes, &keys)?;

    // Blocks are parsed and placed here while a thread sends the one before: a block's
    // round trips to the shards overlap the next block's work.
    let (blocks, received) = sync_channel::<Vec<(u64, Vec<u8>)>>(2);
    let (counts, sent) = std::thread::scope(|s| {
        let sender = s.spawn(|| send_all(nodes, &keys, &args.redis, received));
        let live = args.input.as_ref().is_none_or(|p| p.as_os_str() == "-");
        let counts = place_and_split(reader, live, parts, blocks);
        let sent = sender.join().unwrap_or_else(|_| Err(Fail::Other("the sending thread panicked".into())));
        (counts, sent)
    });
    let mut nodes = sent?;
    let counts = counts?;
    finish(&mut nodes, &keys, &counts)?;
    Ok(counts)
}

/// Reads, parses, places and routes the input, a block at a time, handing each block's
/// entries (per partition: its first line and its records) to `blocks`. A `live` input
/// (standard input) is cut into blocks as soon as nothing more is waiting.
fn place_and_split(
    mut reader: BufReader<Box<dyn Read>>,
    live: bool,
    parts: &Partitioning,
    blocks: SyncSender<Vec<(u64, Vec<u8>)>>,
) -> Result<Counts, Fail> {
    let max_line = PipelineOptions::default().max_line_bytes;
    let mut clock = StreamClock::new(&MonitorConfig::default());
    let mut counts = Counts::default();
    let mut lines: Vec<Option<Vec<u8>>> = Vec::with_capacity(BATCH);
    let n_parts = parts.partitions() as usize;
    loop {
        lines.clear();
        while lines.len() < BATCH {
            match read_line(&mut reader, max_line).map_err(|e| format!("cannot read the input: {e}"))? {
                Some(line) => lines.push(line),
                None => break,
            }
            // A live stream (standard input) is sent as soon as nothing more is waiting, so
            // workers see each event without waiting for a block to fill.
            if live && reader.buffer().is_empty() {
                break;
            }
        }
        if lines.is_empty() {
            break;
        }
        let parsed: Vec<Result<Event, String>> = lines
            .par_iter()
            .map(|l| match l {
                Some(l) => Event::from_line(l).map_err(|e| e.to_string()),
                None => Err(Event::overlong(max_line).to_string()),
            })
            .collect();
        // Each partition's entry for this block: its first line and its records.
        let mut block: Vec<(u64, Vec<u8>)> = vec![(0, Vec::new()); n_parts];
        let mut add = |p: u32, record: &Record| {
            let (first, batch) = &mut block[p as usize];
            if batch.is_empty() {
                *first = record.n();
            }
            record.encode(batch);
        };
        for (line, event) in lines.iter_mut().zip(parsed) {
            counts.lines += 1;
            let n = counts.lines;
            match event {
                Ok(event) => {
                    counts.events += 1;
                    let placement = clock.place(&event);
                    let route = parts.route(&event, placement.seq);
                    if route.len() > 1 {
                        counts.multi += 1;
                    }
                    let mut line = line.take().unwrap_or_default();
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let record = Record::Event { n, placement, k: route.len() as u32, line };
                    for p in route {
                        add(p, &record);
                    }
                }
                Err(error) => {
                    counts.bad += 1;
                    add((n % n_parts as u64) as u32, &Record::Bad { n, error });
                }
            }
        }
        if blocks.send(block).is_err() {
            break; // the sender failed: its error is the one to report
        }
    }
    Ok(counts)
}

/// Sends the blocks it receives, in order, and gives the connections back at the end.
fn send_all(
    mut nodes: Nodes,
    keys: &Keys,
    redis: &RedisOptions,
    blocks: Receiver<Vec<(u64, Vec<u8>)>>,
) -> Result<Nodes, Fail> {
    for block in blocks {
        send(&mut nodes, keys, &block, redis)?;
    }
    Ok(nodes)
}

/// Sets the run's number of lines, which tells workers and `collect` that routing is over.
fn finish(nodes: &mut Nodes, keys: &Keys, counts: &Counts) -> Result<(), Fail> {
    let key = keys.meta();
    redis::cmd("HSET")
        .arg(&key)
        .arg("lines")
        .arg(counts.lines)
        .query::<i64>(nodes.for_key(&key))
        .redis("HSET meta lines")
        .map(drop)
}

/// Adds a block's entries, one pipeline per node; after a lost connection, reconnects and
/// sends again the entries the partitions do not hold yet.
fn send(nodes: &mut Nodes, keys: &Keys, block: &[(u64, Vec<u8>)], redis: &RedisOptions) -> Result<(), Fail> {
    let mut again = false;
    let start = Instant::now();
    loop {
        match try_send(nodes, keys, block, again) {
            Ok(()) => return Ok(()),
            Err(e) if e.transient() && start.elapsed() < RECONNECT => {
                eprintln!("fanzha route: {e}; reconnecting");
                std::thread::sleep(Duration::from_millis(200));
                if let Ok(n) = redis.connect() {
                    *nodes = n;
                }
                again = true;
            }
            Err(e) => return Err(e),
        }
    }
}

fn try_send(nodes: &mut Nodes, keys: &Keys, block: &[(u64, Vec<u8>)], again: bool) -> Result<(), Fail> {
    let mut pipes: Vec<redis::Pipeline> = (0..nodes.len()).map(|_| redis::pipe()).collect();
    for (p, (first, batch)) in block.iter().enumerate() {
        if batch.is_empty() {
            continue;
        }
        let p = p as u32;
        let key = keys.input(p);
        if again {
            // Sent before the connection was lost?
            let last: Vec<(String, redis::Value)> = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query(nodes.for_key(&key))
                .redis("XREVRANGE")?;
            let held =
                last.first().and_then(|(id, _)| id.split('-').next()?.parse::<u64>().ok()).unwrap_or(0);
            if held >= *first {
                continue;
            }
        }
        pipes[nodes.node(keys.slot(p))]
            .cmd("XADD")
            .arg(&key)
            .arg(format!("{first}-0"))
            .arg("b")
            .arg(batch.as_slice())
            .ignore();
    }
    for (i, pipe) in pipes.iter().enumerate() {
        if !pipe.is_empty() {
            pipe.query::<()>(nodes.con(i)).redis("XADD")?;
        }
    }
    Ok(())
}

/// Deletes every key of the run on every node (found with SCAN, so a server is never blocked
/// long; one key at a time, as keys of different slots cannot go in one DEL on a cluster).
fn reset(nodes: &mut Nodes, keys: &Keys) -> Result<(), Fail> {
    for i in 0..nodes.len() {
        let mut cursor = 0u64;
        loop {
            let (next, found): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(keys.pattern())
                .arg("COUNT")
                .arg(1000)
                .query(nodes.con(i))
                .redis("SCAN")?;
            if !found.is_empty() {
                let mut pipe = redis::pipe();
                for k in found {
                    pipe.cmd("DEL").arg(k).ignore();
                }
                pipe.query::<()>(nodes.con(i)).redis("DEL")?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(())
}

/// The next line as `fanzha scan` cuts the input: `Some(Some(line))` with its newline if it
/// has one, `Some(None)` for a line over `max` bytes (not counting its newline; skipped
/// without being held in memory), `None` at the end.
fn read_line(reader: &mut dyn BufRead, max: usize) -> io::Result<Option<Option<Vec<u8>>>> {
    let mut line = Vec::new();
    let mut over = false;
    let mut any = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        any = true;
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let content = chunk.len() - usize::from(end);
        if !over && line.len() + content > max {
            over = true;
            line = Vec::new();
        }
        if !over {
            line.extend_from_slice(chunk);
        }
        let used = chunk.len();
        reader.consume(used);
        if end {
            break;
        }
    }
    Ok(match (any, over) {
        (false, _) => None,
        (true, true) => Some(None),
        (true, false) => Some(Some(line)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Option<Vec<u8>>> {
        let mut r: Box<dyn BufRead> = Box::new(BufReader::with_capacity(3, input));
        let mut out = Vec::new();
        while let Some(l) = read_line(&mut r, max).unwrap() {
            out.push(l);
        }
        out
    }

    #[test]
    fn lines_are_cut_as_scan_cuts_them() {
        let got = lines(b"ab\n\ncdefg\r\nxyz", 5);
        let want: Vec<Option<Vec<u8>>> =
            vec![Some(b"ab\n".to_vec()), Some(b"\n".to_vec()), None, Some(b"xyz".to_vec())];
        assert_eq!(got, want);
        assert_eq!(lines(b"abcdef", 5), vec![None]);
        assert_eq!(lines(b"abcde\n", 5), vec![Some(b"abcde\n".to_vec())]);
        assert!(lines(b"", 5).is_empty());
    }
}
