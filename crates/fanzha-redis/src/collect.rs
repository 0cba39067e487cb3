//! `fanzha collect`: the partitions' output streams merged back into input order, checked.
//!
//! Each partition's output stream is in input order (see `partition`), and every line has
//! its verdict in exactly one of them, so the input order is a k-way merge: hold the next
//! page of each stream, and print the smallest head while it is the line expected next. Memory
//! is a page per partition, however long the stream. The merge checks as it goes that there
//! is exactly one verdict per line: a line seen twice, or a line no stream holds once all are
//! read, is an error (exit 1). With `follow` it waits for the line expected next instead, and
//! so prints a live run's verdicts in input order as they are written; with `partition` it
//! prints one partition's stream: the verdicts of the lines whose home (smallest partition)
//! it is, in input order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use redis::Value;

use super::keys::Keys;
use super::nodes::Nodes;
use super::wire;
use super::{written, Fail, Meta, Redis, RedisOptions};

/// What `fanzha collect` does.
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisOptions,
    /// Wait until routing is over and every line has its verdict.
    pub wait: bool,
    /// Print verdicts as they are written, in input order, until the last line's (forever
    /// while routing goes on).
    pub follow: bool,
    /// Print only this partition's verdicts (in input order).
    pub partition: Option<u32>,
}

/// Output entries (batches of verdicts) read from a stream at a time.
const PAGE: usize = 16;
/// How long a follower waits before asking again.
const POLL: Duration = Duration::from_millis(50);

/// Prints the verdicts in input order on standard output; returns the exit code (1 if a line
/// has no verdict or more than one, 2 on other errors, with the error on standard error).
pub fn run(args: Options) -> i32 {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = collect(&args, &mut out);
    let flushed = out.flush();
    match (result, flushed) {
        (Err((code, e)), _) => {
            eprintln!("error: {e}");
            code
        }
        (Ok(()), Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write: {e}");
            2
        }
        _ => 0,
    }
}

type Failed = (i32, String);

fn usage(e: Fail) -> Failed {
    (2, e.to_string())
}

fn collect(args: &Options, out: &mut dyn Write) -> Result<(), Failed> {
    let mut nodes = args.redis.connect().map_err(usage)?;
    let mut keys = Keys::new(&args.redis.prefix, 0);
    // Routing is over (the number of lines known) and, with --wait, every verdict written.
    let lines =
        loop {
            let meta = Meta::read(&mut nodes, &keys).map_err(usage)?;
            if let Some(m) = &meta {
                keys = Keys::new(&args.redis.prefix, m.partitions);
            }
            match meta {
                Some(Meta { lines: Some(lines), .. })
                    if !args.wait || written(&mut nodes, &keys).map_err(usage)? >= lines =>
                {
                    break Some(lines)
                }
                // Routed, but verdicts still missing: wait.
                Some(Meta { lines: Some(_), .. }) => {}
                Some(_) if args.follow => break None,
                None if !args.wait && !args.follow => {
                    return Err((
                        2,
                        format!(
                            "nothing was routed under --prefix {} ({} does not exist)",
                            args.redis.prefix,
                            keys.meta()
                        ),
                    ))
                }
                Some(_) if !args.wait => return Err((
                    1,
                    "routing has not finished: the number of lines is not known yet (use --wait or --follow)"
                        .into(),
                )),
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(200));
        };
    let partitions: Vec<u32> = match args.partition {
        Some(p) if p >= keys.partitions() => {
            return Err((2, format!("--partition {p}: the run has {} partitions", keys.partitions())))
        }
        Some(p) => vec![p],
        None => (0..keys.partitions()).collect(),
    };
    let mut streams: Vec<Stream> = partitions.iter().map(|&p| Stream::new(keys.out(p))).collect();
    let write = |out: &mut dyn Write, v: &[u8]| -> Result<bool, Failed> {
        match out.write_all(v).and_then(|()| out.write_all(b"\n")) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err((2, format!("cannot write: {e}"))),
        }
    };
    if args.partition.is_some() {
        return follow_one(&mut nodes, &keys, &mut streams[0], lines, args.follow, out, write);
    }
    // The k-way merge: the heap holds each stream's head line number.
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut expected = 1u64;
    let mut lines = lines;
    for (i, s) in streams.iter_mut().enumerate() {
        if let Some(n) = s.head(&mut nodes).map_err(usage)? {
            heap.push(Reverse((n, i)));
        }
    }
    loop {
        if lines.is_some_and(|l| expected > l) {
            break;
        }
        match heap.peek().copied() {
            Some(Reverse((n, i))) if n == expected => {
                heap.pop();
                let s = &mut streams[i];
                let (_, verdict) = s.buf.pop_front().unwrap_or_default();
                if !write(out, &verdict)? {
                    return Ok(());
                }
                expected += 1;
                if let Some(next) = s.head(&mut nodes).map_err(usage)? {
                    if next <= n {
                        return Err(duplicate(next, &s.key));
                    }
                    heap.push(Reverse((next, i)));
                }
            }
            Some(Reverse((n, i))) if n < expected => return Err(duplicate(n, &streams[i].key)),
            _ => {
                // The line expected next is in no stream yet: streams that were dry may have
                // grown, and a follower waits for it.
                let mut grew = false;
                for (i, s) in streams.iter_mut().enumerate() {
                    if s.buf.is_empty() {
                        if let Some(n) = s.head(&mut nodes).map_err(usage)? {
                            heap.push(Reverse((n, i)));
                            grew = true;
                        }
                    }
                }
                if grew {
                    continue;
                }
                if !args.follow {
                    let total = lines.unwrap_or(0);
                    return Err((
                        1,
                        format!("line {expected} of {total} has no verdict in any partition's output stream"),
                    ));
                }
                out.flush().map_err(|e| (2, format!("cannot write: {e}")))?;
                std::thread::sleep(POLL);
                if lines.is_none() {
                    lines = Meta::read(&mut nodes, &keys).map_err(usage)?.and_then(|m| m.lines);
                }
            }
        }
    }
    // Every line printed: anything left is a verdict too many.
    for s in &mut streams {
        if let Some(n) = s.head(&mut nodes).map_err(usage)? {
            let total = lines.unwrap_or(0);
            return Err((
                1,
                format!("{} holds a verdict for line {n}, but the input has {total} lines", s.key),
            ));
        }
    }
    Ok(())
}

fn duplicate(n: u64, key: &str) -> Failed {
    (1, format!("line {n} has more than one verdict (again in {key})"))
}

/// One partition's stream, in order; with `follow`, waits for more until the line `lines`.
fn follow_one(
    nodes: &mut Nodes,
    keys: &Keys,
    s: &mut Stream,
    mut lines: Option<u64>,
    follow: bool,
    out: &mut dyn Write,
    write: impl Fn(&mut dyn Write, &[u8]) -> Result<bool, Failed>,
) -> Result<(), Failed> {
    let mut last = 0;
    loop {
        match s.head(nodes).map_err(usage)? {
            Some(n) => {
                if n <= last {
                    return Err(duplicate(n, &s.key));
                }
                last = n;
                let (_, v) = s.buf.pop_front().unwrap_or_default();
                if !write(out, &v)? {
                    return Ok(());
                }
            }
            None if !follow => return Ok(()),
            None => {
                if lines.is_some_and(|l| last >= l) {
                    return Ok(());
                }
                out.flush().map_err(|e| (2, format!("cannot write: {e}")))?;
                std::thread::sleep(POLL);
                if lines.is_none() {
                    lines = Meta::read(nodes, keys).map_err(usage)?.and_then(|m| m.lines);
                }
            }
        }
    }
}

/// A page of one output stream and where the next page starts.
struct Stream {
    key: String,
    buf: VecDeque<(u64, Vec<u8>)>,
    after: String,
}

impl Stream {
    fn new(key: String) -> Stream {
        Stream { key, buf: VecDeque::new(), after: "0-0".into() }
    }

    /// The line number of the next verdict, reading a page if none is held; `None` if the
    /// stream holds no more (for now).
    fn head(&mut self, nodes: &mut Nodes) -> Result<Option<u64>, Fail> {
        if self.buf.is_empty() {
            let v: Value = redis::cmd("XRANGE")
                .arg(&self.key)
                .arg(format!("({}", self.after))
                .arg("+")
                .arg("COUNT")
                .arg(PAGE)
                .query(nodes.for_key(&self.key))
                .redis("XRANGE")?;
            for e in wire::entries(v)? {
                self.buf.extend(wire::verdicts(&e)?);
                self.after = e.id;
            }
        }
        Ok(self.buf.front().map(|(n, _)| *n))
    }
}
