//! `fanzha scan`: events in, verdicts out, one line each, in order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use is_terminal::IsTerminal;

use super::{load_engine, RulesArg};
use fanzha::Event;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
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
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Progress goes to a terminal only, never into a pipe or a log.
    let progress = io::stderr().is_terminal();
    let mut scanner = engine.scanner();
    match scan_lines(reader, &mut out, &mut scanner, progress) {
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

fn scan_lines(
    mut reader: Box<dyn BufRead>,
    out: &mut impl Write,
    scanner: &mut fanzha::Scanner,
    progress: bool,
) -> io::Result<u64> {
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let result = match std::str::from_utf8(line) {
            Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 1)),
            Ok(s) if s.trim().is_empty() => Err("empty line".to_string()),
            Ok(s) => Event::from_json(s).map_err(|e| e.to_string()),
        };
        match result {
            Ok(event) => {
                let v = scanner.scan(&event);
                serde_json::to_writer(&mut *out, &v)?;
            }
            Err(message) => {
                serde_json::to_writer(&mut *out, &serde_json::json!({"line": n, "error": message}))?;
            }
        }
        out.write_all(b"\n")?;
        if progress && n % 100_000 == 0 {
            eprint!("\rscanned {n} events");
        }
    }
    out.flush()?;
    Ok(n)
}
