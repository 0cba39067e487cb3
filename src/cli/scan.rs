//! `fanzha scan`: events in, verdicts out, one line each, in order.
//!
//! A reader thread feeds lines to batches; each batch is scored in parallel (JSON parsing,
//! scanning and serialising all happen on the workers, one scanner per worker thread) and
//! written in input order, so the output does not depend on the number of threads.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use is_terminal::IsTerminal;
use rayon::prelude::*;

use super::{load_engine, RulesArg};
use fanzha::{Event, LiveEngine, Monitor, RuleSet, Scanner, Verdict};

/// Lines read before a batch is scored: large enough to keep every worker busy, small enough
/// that output keeps flowing on a slow stream.
const BATCH: usize = 8192;
/// Lines one worker takes at a time.
const CHUNK: usize = 128;
/// How often `--watch` looks at the rule files.
const WATCH_INTERVAL: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// Worker threads (default: all cores). The output is the same for any number.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Score each event on its own: no windows or sequences, no state kept.
    #[arg(long)]
    stateless: bool,
    /// Reload the --rules files when they change, keeping the running set if the new one has
    /// errors; each verdict then names the rule-set version that scored it ("rules").
    #[arg(long)]
    watch: bool,
    /// JSON Lines input; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

pub fn run(args: Args) -> i32 {
    if args.watch && args.rules.rules.is_empty() {
        eprintln!("error: --watch needs --rules PATH (the bundled packs cannot change)");
        return 2;
    }
    let (_, engine) = match load_engine(&args.rules) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let reader: Box<dyn BufRead + Send> = match &args.input {
        None => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return 2;
            }
        },
    };
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start {threads} worker threads: {e}");
            return 2;
        }
    };
    let live = Arc::new(LiveEngine::new(engine));
    if args.watch {
        watch(args.rules.rules.clone(), Arc::clone(&live));
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Progress goes to a terminal only, never into a pipe or a log.
    let progress = io::stderr().is_terminal();
    // With a file, progress can say how far through it the scan is.
    let total_bytes = args
        .input
        .as_ref()
        .filter(|p| p.as_os_str() != "-")
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    let opts =
        Options { threads, progress, total_bytes, with_version: args.watch, stateful: !args.stateless };
    match scan_stream(reader, &mut out, &pool, &live, &opts) {
        Ok(n) => {
            if progress {
                eprintln!("\rscanned {n} events");
            }
            0
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

struct Options {
    threads: usize,
    progress: bool,
    /// Size of the input file, when it is one.
    total_bytes: Option<u64>,
    /// Name the rule-set version in each verdict (with --watch, where it can change).
    with_version: bool,
    /// Score through a monitor (windows and sequences) rather than event by event.
    stateful: bool,
}

/// Reloads the rules whenever a rule file changes; a set with errors is reported and the
/// running one kept.
fn watch(paths: Vec<PathBuf>, live: Arc<LiveEngine>) {
    std::thread::spawn(move || {
        let mut last = fingerprint(&paths);
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let now = fingerprint(&paths);
            if now == last {
                continue;
            }
            last = now;
            let mut b = RuleSet::builder();
            for p in &paths {
                b.add_path(p);
            }
            match b.build().and_then(|rules| live.reload(&rules).map(|()| rules.version())) {
                Ok(version) => eprintln!("fanzha: reloaded rules {version}"),
                Err(e) => eprintln!("fanzha: rules not reloaded, the running set is kept:\n{e}"),
            }
        }
    });
}

/// Names, sizes and modification times of the rule files under `paths`.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut files = Vec::new();
    for p in paths {
        let entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(_) => vec![p.clone()],
        };
        for f in entries {
            let meta = std::fs::metadata(&f).ok();
            files.push((f, meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok())));
        }
    }
    files.sort();
    files
}

fn scan_stream(
    reader: Box<dyn BufRead + Send>,
    out: &mut impl Write,
    pool: &rayon::ThreadPool,
    live: &LiveEngine,
    opts: &Options,
) -> io::Result<u64> {
    // A reader thread keeps input flowing while a batch is scored; a batch is cut when it is
    // full or when no more input is waiting, so a live stream is answered line by line.
    let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<(u64, Vec<u8>)>>(2 * BATCH);
    let bytes_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = Arc::clone(&bytes_read);
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut n = 0u64;
        loop {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(len) => {
                    counter.fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
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
    let mut engine = live.engine();
    let workers = if opts.stateful { 0 } else { opts.threads };
    let mut scanners: Vec<Mutex<Scanner>> = (0..workers).map(|_| Mutex::new(engine.scanner())).collect();
    let mut monitor: Option<Monitor> = None;
    let mut n = 0u64;
    let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        let Ok(first) = rx.recv() else { break };
        batch.push(first?);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(line) => batch.push(line?),
                Err(_) => break,
            }
        }
        n = batch.last().map_or(n, |l| l.0);
        // One rule-set version per batch: an event is scored once, by the engine current
        // when its batch started.
        let current = live.engine();
        if !Arc::ptr_eq(&current, &engine) {
            engine = current;
            if opts.stateful {
                // State of the rules the new set keeps goes on.
                if let Some(m) = monitor.as_mut() {
                    m.set_engine((*engine).clone());
                }
            } else {
                scanners = (0..opts.threads).map(|_| Mutex::new(engine.scanner())).collect();
            }
        }
        let version = opts.with_version.then(|| engine.version().to_string());
        if opts.stateful {
            let monitor = monitor.get_or_insert_with(|| Monitor::new((*engine).clone()));
            for r in pool.install(|| observe(monitor, &batch, version.as_deref())) {
                out.write_all(&r)?;
            }
        } else {
            let rendered: Vec<Vec<u8>> = pool.install(|| {
                batch
                    .par_chunks(CHUNK)
                    .map(|chunk| {
                        let worker = rayon::current_thread_index().unwrap_or(0) % scanners.len();
                        let mut scanner = scanners[worker].lock().unwrap_or_else(|e| e.into_inner());
                        let mut text = Vec::with_capacity(chunk.len() * 128);
                        for (line_no, line) in chunk {
                            render(&mut scanner, *line_no, line, version.as_deref(), &mut text);
                        }
                        text
                    })
                    .collect()
            });
            for r in &rendered {
                out.write_all(r)?;
            }
        }
        if batch.len() < BATCH {
            // Input is not keeping up: hand over what is done rather than wait.
            out.flush()?;
        }
        if opts.progress {
            match opts.total_bytes.filter(|&t| t > 0) {
                Some(total) => {
                    let done = bytes_read.load(std::sync::atomic::Ordering::Relaxed).min(total);
                    eprint!("\rscanned {n} events, {:.0}%", done as f64 * 100.0 / total as f64);
                }
                None => eprint!("\rscanned {n} events"),
            }
        }
    }
    out.flush()?;
    Ok(n)
}

/// Scores a batch through the monitor: lines parsed in parallel, the events observed in input
/// order, the verdicts and error records rendered in parallel. Returns the output in chunks.
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
    lines
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
        .collect()
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

/// One output line for one input line: a verdict, or an error record naming the line.
fn render(scanner: &mut Scanner, line_no: u64, raw: &[u8], version: Option<&str>, out: &mut Vec<u8>) {
    match parse(raw) {
        Ok(event) => write_verdict(out, &scanner.scan(&event), version),
        Err(message) => write_error(out, line_no, &message),
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

fn write_error(out: &mut Vec<u8>, line_no: u64, message: &str) {
    let _ = serde_json::to_writer(&mut *out, &serde_json::json!({"line": line_no, "error": message}));
    out.push(b'\n');
}

/// A verdict with the rule-set version that scored it (`--watch`).
#[derive(serde::Serialize)]
struct Versioned<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    rules: &'a str,
}
