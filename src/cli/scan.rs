//! `fanzha scan`: events in, verdicts out, one line each, in order.
//!
//! Lines are read in batches; each batch is scored in parallel (JSON parsing, scanning and
//! serialising all happen on the workers, one scanner per worker thread) and written in input
//! order, so the output does not depend on the number of threads.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use is_terminal::IsTerminal;
use rayon::prelude::*;

use super::{load_engine, RulesArg};
use fanzha::{Event, Scanner};

/// Lines read before a batch is scored: large enough to keep every worker busy, small enough
/// that output keeps flowing on a slow stream.
const BATCH: usize = 8192;
/// Lines one worker takes at a time.
const CHUNK: usize = 128;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// Worker threads (default: all cores). The output is the same for any number.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// JSON Lines input; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

pub fn run(args: Args) -> i32 {
    let (_, engine) = match load_engine(&args.rules) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let reader: Box<dyn BufRead> = match &args.input {
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
    let scanners: Vec<Mutex<Scanner>> = (0..threads).map(|_| Mutex::new(engine.scanner())).collect();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Progress goes to a terminal only, never into a pipe or a log.
    let progress = io::stderr().is_terminal();
    match scan_stream(reader, &mut out, &pool, &scanners, progress) {
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

fn scan_stream(
    mut reader: Box<dyn BufRead>,
    out: &mut impl Write,
    pool: &rayon::ThreadPool,
    scanners: &[Mutex<Scanner>],
    progress: bool,
) -> io::Result<u64> {
    let mut n = 0u64;
    let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        while batch.len() < BATCH {
            let mut buf = Vec::new();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            n += 1;
            batch.push((n, buf));
        }
        if batch.is_empty() {
            break;
        }
        let rendered: Vec<Vec<u8>> = pool.install(|| {
            batch
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let worker = rayon::current_thread_index().unwrap_or(0) % scanners.len();
                    let mut scanner = scanners[worker].lock().unwrap_or_else(|e| e.into_inner());
                    let mut text = Vec::with_capacity(chunk.len() * 128);
                    for (line_no, line) in chunk {
                        render(&mut scanner, *line_no, line, &mut text);
                    }
                    text
                })
                .collect()
        });
        for r in &rendered {
            out.write_all(r)?;
        }
        if progress {
            eprint!("\rscanned {n} events");
        }
    }
    out.flush()?;
    Ok(n)
}

/// One output line for one input line: a verdict, or an error record naming the line.
fn render(scanner: &mut Scanner, line_no: u64, raw: &[u8], out: &mut Vec<u8>) {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let result = match std::str::from_utf8(line) {
        Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)),
        Ok(s) if s.trim().is_empty() => Err("empty line".to_string()),
        Ok(s) => Event::from_json(s).map_err(|e| e.to_string()),
    };
    // Writing JSON into a Vec cannot fail.
    let _ = match result {
        Ok(event) => serde_json::to_writer(&mut *out, &scanner.scan(&event)),
        Err(message) => {
            serde_json::to_writer(&mut *out, &serde_json::json!({"line": line_no, "error": message}))
        }
    };
    out.push(b'\n');
}
