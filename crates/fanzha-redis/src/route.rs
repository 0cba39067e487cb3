//! `fanzha route`: the input, placed on the stream's clock and split into partition streams.
//!
//! This is the only step that sees the whole stream, and it does the only work that needs
//! to: read each line, place each event on one [`StreamClock`] (time, lateness, position) and
//! name its partitions. Lines are parsed in parallel, a batch at a time; placing and routing
//! run in input order; each batch's XADDs go in one pipeline, so every partition stream is in
//! input order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use rayon::prelude::*;
use redis::Connection;

use super::keys::{Keys, GROUP};
use super::wire::Record;
use super::{redis_error, Meta, RedisOptions};
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

#[derive(Debug, Default)]
struct Counts {
    lines: u64,
    events: u64,
    bad: u64,
    multi: u64,
}

fn route(
    args: &Options,
    mut reader: BufReader<Box<dyn Read>>,
    parts: &Partitioning,
    meta: &Meta,
) -> Result<Counts, String> {
    let keys = args.redis.keys();
    let mut con = args.redis.connect()?;
    if args.reset {
        reset(&mut con, &keys)?;
    } else if Meta::read(&mut con, &keys)?.is_some() {
        return Err(format!(
            "{} exists: a stream was routed under --prefix {} before; pass --reset to delete that run's keys, or choose another prefix",
            keys.meta(),
            args.redis.prefix
        ));
    }
    // The groups exist before any entry does, so a worker started early reads from the start.
    let mut pipe = redis::pipe();
    for p in 0..parts.partitions() {
        pipe.cmd("XGROUP").arg("CREATE").arg(keys.input(p)).arg(GROUP).arg("0").arg("MKSTREAM").ignore();
    }
    pipe.query::<()>(&mut con).map_err(redis_error("XGROUP CREATE"))?;
    meta.write(&mut con, &keys)?;

    let max_line = PipelineOptions::default().max_line_bytes;
    let live = args.input.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let mut clock = StreamClock::new(&MonitorConfig::default());
    let mut counts = Counts::default();
    let mut lines: Vec<Option<Vec<u8>>> = Vec::with_capacity(BATCH);
    loop {
        lines.clear();
        while lines.len() < BATCH {
            match read_line(&mut reader, max_line).map_err(|e| format!("cannot read the input: {e}"))? {
                Some(line) => lines.push(line),
                None => break,
            }
            // A live stream (standard input) is sent as soon as nothing more is waiting, so
            // workers see each event without waiting for a batch to fill.
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
        let mut pipe = redis::pipe();
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
                        add(&mut pipe, &keys, p, &record);
                    }
                }
                Err(error) => {
                    counts.bad += 1;
                    add(
                        &mut pipe,
                        &keys,
                        (n % u64::from(parts.partitions())) as u32,
                        &Record::Bad { n, error },
                    );
                }
            }
        }
        pipe.query::<()>(&mut con).map_err(redis_error("XADD"))?;
    }
    redis::cmd("HSET")
        .arg(keys.meta())
        .arg("lines")
        .arg(counts.lines)
        .query::<i64>(&mut con)
        .map_err(redis_error("HSET meta lines"))?;
    Ok(counts)
}

fn add(pipe: &mut redis::Pipeline, keys: &Keys, p: u32, record: &Record) {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(keys.input(p)).arg("*");
    record.write_fields(&mut cmd);
    pipe.add_command(cmd).ignore();
}

/// Deletes every key of the run (found with SCAN, so the server is never blocked long).
fn reset(con: &mut Connection, keys: &Keys) -> Result<(), String> {
    let mut cursor = 0u64;
    loop {
        let (next, found): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(keys.pattern())
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .map_err(redis_error("SCAN"))?;
        if !found.is_empty() {
            redis::cmd("DEL").arg(found).query::<i64>(con).map_err(redis_error("DEL"))?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
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
