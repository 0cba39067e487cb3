//! `fanzha collect`: the output stream back in input order, checked.
//!
//! Verdicts reach the output stream in the order partitions finish them, one key's in input
//! order but different keys' interleaved. Collect puts them back in input order and checks
//! there is exactly one per input line, so its output is what `fanzha scan` prints for the
//! same input. It holds every verdict in memory until all are in.

use std::io::{self, BufWriter, Write};
use std::time::Duration;

use redis::Value;

use super::wire;
use super::{done_count, redis_error, Meta, RedisOptions};

/// What `fanzha collect` does.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisOptions,
    /// Wait until routing is over and every line has its verdict.
    pub wait: bool,
}

/// Entries read at a time.
const PAGE: usize = 10_000;

/// Prints the verdicts in input order on standard output; returns the exit code (1 if a line
/// has no verdict or more than one, 2 on other errors, with the error on standard error).
pub fn run(args: Options) -> i32 {
    match collect(&args) {
        Ok(()) => 0,
        Err((code, e)) => {
            eprintln!("error: {e}");
            code
        }
    }
}

fn collect(args: &Options) -> Result<(), (i32, String)> {
    let usage = |e: String| (2, e);
    let keys = args.redis.keys();
    let mut con = args.redis.connect().map_err(usage)?;
    let lines = loop {
        let meta = Meta::read(&mut con, &keys).map_err(usage)?;
        if let Some(Meta { lines: Some(lines), .. }) = meta {
            if !args.wait || done_count(&mut con, &keys).map_err(usage)? >= lines {
                break lines;
            }
        } else if !args.wait {
            return Err(match meta {
                None => (
                    2,
                    format!(
                        "nothing was routed under --prefix {} ({} does not exist)",
                        args.redis.prefix,
                        keys.meta()
                    ),
                ),
                Some(_) => {
                    (1, "routing has not finished: the number of lines is not known yet (use --wait)".into())
                }
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut verdicts: Vec<Option<Vec<u8>>> = vec![None; lines as usize];
    let mut start = "-".to_string();
    loop {
        let v: Value = redis::cmd("XRANGE")
            .arg(keys.out())
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query(&mut con)
            .map_err(redis_error("XRANGE"))
            .map_err(usage)?;
        let entries = wire::entries(v).map_err(usage)?;
        let Some(tail) = entries.last() else { break };
        start = format!("({}", tail.id);
        let full = entries.len() == PAGE;
        for e in entries {
            let n: u64 = e.number("n").map_err(usage)?;
            let verdict =
                e.field("verdict").ok_or_else(|| (2, format!("output entry {} has no verdict", e.id)))?;
            let slot = n.checked_sub(1).and_then(|i| verdicts.get_mut(i as usize)).ok_or_else(|| {
                (1, format!("output entry {} is for line {n}, but the input has {lines} lines", e.id))
            })?;
            if slot.is_some() {
                return Err((
                    1,
                    format!("line {n} has more than one verdict in {} (again at entry {})", keys.out(), e.id),
                ));
            }
            *slot = Some(verdict.to_vec());
        }
        if !full {
            break;
        }
    }
    let missing: Vec<usize> =
        verdicts.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| i + 1).collect();
    if let Some(first) = missing.first() {
        return Err((
            1,
            format!(
                "{} of {lines} lines have no verdict in {}, the first line {first}",
                missing.len(),
                keys.out()
            ),
        ));
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = verdicts.iter().flatten().try_for_each(|v| {
        out.write_all(v)?;
        out.write_all(b"\n")
    });
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err((2, format!("cannot write: {e}"))),
    }
}
