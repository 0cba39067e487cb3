//! JSON Lines in, verdicts out: the ordered streaming pipeline behind `fanzha scan`.
//!
//! A reader thread reads lines into a bounded channel; the scoring thread cuts them into
//! batches (when a batch is full, or as soon as no more input is waiting, so a live stream is
//! answered line by line) and scores each batch on a rayon pool; the verdicts are written in
//! input order. At most two batches of lines are in flight, whatever the input's size.
//!
//! The pipeline follows a [`LiveEngine`]: each batch is scored by the engine current when the
//! batch starts, so an event is never dropped or scored twice across a reload, and with
//! [`PipelineOptions::with_version`] each verdict names the rule-set version that scored it.
//! Stateful scoring keeps the monitor's state across reloads for the rules that stay.

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::compile::{Engine, LiveEngine};
use crate::event::Event;
use crate::monitor::{Monitor, MonitorConfig};
use crate::scan::Scanner;
use crate::verdict::Verdict;

/// Lines one worker takes at a time.
const CHUNK: usize = 128;

/// How a [`Pipeline`] runs.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Worker threads (default: all cores). The output is the same for any number.
    pub threads: usize,
    /// Lines read before a batch is scored: large enough to keep every worker busy, small
    /// enough that output keeps flowing on a slow stream. Default 8192.
    pub batch: usize,
    /// Score through a [`Monitor`] (windows and sequences; default) or each event alone.
    pub stateful: bool,
    /// Limits of the monitor's state.
    pub monitor: MonitorConfig,
    /// Add `"rules":"<pack>@<version>+…"` to each verdict: the rule set that scored it.
    pub with_version: bool,
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch: 8192,
            stateful: true,
            monitor: MonitorConfig::default(),
            with_version: false,
        }
    }
}

/// How far a pipeline has got, after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input lines scored so far.
    pub lines: u64,
    /// Input bytes read so far.
    pub bytes: u64,
}

/// Scores a stream of JSON Lines events into JSON Lines verdicts, one per input line, in order
/// (a line that cannot be read gives `{"line":N,"error":"…"}` in its place).
///
/// ```
/// use std::sync::Arc;
/// use fanzha::{Engine, LiveEngine, Pipeline, PipelineOptions};
///
/// let input = "{\"kind\":\"message\",\"id\":\"a\",\"text\":\"老板先出票，钱等下转你\"}\nnot json\n";
/// let live = Arc::new(LiveEngine::new(Engine::bundled()?));
/// let mut out = Vec::new();
/// let lines = Pipeline::new(live, PipelineOptions::default()).run(input.as_bytes(), &mut out, |_| {})?;
/// let out = String::from_utf8(out)?;
/// assert_eq!(lines, 2);
/// assert!(out.starts_with("{\"id\":\"a\",\"level\":\"warn\""));
/// assert!(out.ends_with("{\"line\":2,\"error\":\"invalid JSON: expected ident at line 1 column 2\"}\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Pipeline {
    live: Arc<LiveEngine>,
    options: PipelineOptions,
}

/// Scores batches with the engine of the moment: a monitor, or one scanner per worker.
enum Scorer {
    Stateful(Box<Monitor>),
    Stateless(Vec<Mutex<Scanner>>),
}

impl Pipeline {
    /// A pipeline over `live`'s engines.
    pub fn new(live: Arc<LiveEngine>, options: PipelineOptions) -> Pipeline {
        Pipeline { live, options }
    }

    /// Reads `reader` to its end, writing one line to `writer` per input line, in order;
    /// `progress` is called after each batch. Returns the number of lines read. Fails only when
    /// reading or writing fails, or the worker threads cannot start.
    pub fn run<R, W>(&self, reader: R, mut writer: W, mut progress: impl FnMut(Progress)) -> io::Result<u64>
    where
        R: BufRead + Send + 'static,
        W: Write,
    {
        let threads = self.options.threads.max(1);
        let batch_size = self.options.batch.max(1);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(io::Error::other)?;
        let bytes_read = Arc::new(AtomicU64::new(0));
        let rx = read_lines(reader, 2 * batch_size, Arc::clone(&bytes_read));
        let mut engine = self.live.engine();
        let mut scorer = self.scorer(&engine, threads);
        let mut n = 0u64;
        let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(batch_size);
        loop {
            batch.clear();
            let Ok(first) = rx.recv() else { break };
            batch.push(first?);
            while batch.len() < batch_size {
                match rx.try_recv() {
                    Ok(line) => batch.push(line?),
                    Err(_) => break,
                }
            }
            n = batch.last().map_or(n, |l| l.0);
            // One rule-set version per batch: an event is scored once, by the engine current
            // when its batch started.
            let current = self.live.engine();
            if !Arc::ptr_eq(&current, &engine) {
                engine = current;
                match &mut scorer {
                    // The state of the rules the new set keeps goes on.
                    Scorer::Stateful(m) => m.set_engine((*engine).clone()),
                    Scorer::Stateless(_) => scorer = self.scorer(&engine, threads),
                }
            }
            let version = self.options.with_version.then(|| engine.version().to_string());
            let rendered = pool.install(|| match &mut scorer {
                Scorer::Stateful(m) => observe(m, &batch, version.as_deref()),
                Scorer::Stateless(scanners) => scan(scanners, &batch, version.as_deref()),
            });
            for r in &rendered {
                writer.write_all(r)?;
            }
            if batch.len() < batch_size {
                // Input is not keeping up: hand over what is done rather than wait.
                writer.flush()?;
            }
            progress(Progress { lines: n, bytes: bytes_read.load(Ordering::Relaxed) });
        }
        writer.flush()?;
        Ok(n)
    }

    fn scorer(&self, engine: &Engine, threads: usize) -> Scorer {
        if self.options.stateful {
            Scorer::Stateful(Box::new(Monitor::with_config(engine.clone(), self.options.monitor.clone())))
        } else {
            Scorer::Stateless((0..threads).map(|_| Mutex::new(engine.scanner())).collect())
        }
    }
}

/// A reader thread: numbered lines into a channel of `capacity` lines, which bounds the input
/// held in memory. Ends at end of input, on a read error (sent on), or when nobody listens.
fn read_lines<R: BufRead + Send + 'static>(
    mut reader: R,
    capacity: usize,
    bytes_read: Arc<AtomicU64>,
) -> std::sync::mpsc::Receiver<io::Result<(u64, Vec<u8>)>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    std::thread::spawn(move || {
        let mut n = 0u64;
        loop {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(len) => {
                    bytes_read.fetch_add(len as u64, Ordering::Relaxed);
                    n += 1;
                    if tx.send(Ok((n, buf))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    rx
}

/// Scores a batch event by event, one scanner per worker.
fn scan(scanners: &[Mutex<Scanner>], batch: &[(u64, Vec<u8>)], version: Option<&str>) -> Vec<Vec<u8>> {
    batch
        .par_chunks(CHUNK)
        .map(|chunk| {
            let worker = rayon::current_thread_index().unwrap_or(0) % scanners.len();
            let mut scanner = scanners[worker].lock().unwrap_or_else(|e| e.into_inner());
            let mut text = Vec::with_capacity(chunk.len() * 128);
            for (line_no, line) in chunk {
                match parse(line) {
                    Ok(event) => write_verdict(&mut text, &scanner.scan(&event), version),
                    Err(message) => write_error(&mut text, *line_no, &message),
                }
            }
            text
        })
        .collect()
}

/// Scores a batch through the monitor: lines parsed in parallel, the events observed in input
/// order, the verdicts and error records rendered in parallel.
fn observe(monitor: &mut Monitor, batch: &[(u64, Vec<u8>)], version: Option<&str>) -> Vec<Vec<u8>> {
    let parsed: Vec<Result<Event, String>> =
        batch.par_iter().with_min_len(CHUNK).map(|(_, line)| parse(line)).collect();
    let mut events = Vec::with_capacity(parsed.len());
    let mut errors = Vec::new();
    for (p, (line_no, _)) in parsed.into_iter().zip(batch) {
        match p {
            Ok(e) => events.push(e),
            Err(message) => errors.push((*line_no, events.len(), message)),
        }
    }
    let verdicts = monitor.observe_batch(&events);
    // Error records go back in their place: before the event that followed them.
    let mut lines: Vec<Result<&Verdict, (u64, &str)>> = Vec::with_capacity(batch.len());
    let mut pending = errors.iter().peekable();
    for (i, v) in verdicts.iter().enumerate() {
        while let Some((line_no, _, message)) = pending.next_if(|e| e.1 == i) {
            lines.push(Err((*line_no, message)));
        }
        lines.push(Ok(v));
    }
    for (line_no, _, message) in pending {
        lines.push(Err((*line_no, message)));
    }
    let out = lines
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut text = Vec::with_capacity(chunk.len() * 128);
            for line in chunk {
                match line {
                    Ok(v) => write_verdict(&mut text, v, version),
                    Err((line_no, message)) => write_error(&mut text, *line_no, message),
                }
            }
            text
        })
        .collect();
    drop(lines);
    // An event is a tree of small allocations: freeing a batch of them on one thread would be
    // a serial step as long as parsing them was.
    rayon::join(|| events.into_par_iter().for_each(drop), || verdicts.into_par_iter().for_each(drop));
    out
}

/// Reads one input line as an event, or says why it cannot be read.
fn parse(raw: &[u8]) -> Result<Event, String> {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(line) {
        Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)),
        Ok(s) if s.trim().is_empty() => Err("empty line".to_string()),
        Ok(s) => Event::from_json(s).map_err(|e| e.to_string()),
    }
}

fn write_verdict(out: &mut Vec<u8>, verdict: &Verdict, version: Option<&str>) {
    // Writing JSON into a Vec cannot fail.
    let _ = match version {
        None => serde_json::to_writer(&mut *out, verdict),
        Some(rules) => serde_json::to_writer(&mut *out, &Versioned { verdict, rules }),
    };
    out.push(b'\n');
}

fn write_error(out: &mut Vec<u8>, line: u64, error: &str) {
    let _ = serde_json::to_writer(&mut *out, &LineError { line, error });
    out.push(b'\n');
}

/// The record in place of a line that cannot be read, fields in the contract's order.
#[derive(serde::Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a str,
}

/// A verdict with the rule-set version that scored it.
#[derive(serde::Serialize)]
struct Versioned<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    rules: &'a str,
}
