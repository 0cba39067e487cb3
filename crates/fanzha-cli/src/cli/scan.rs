//! `fanzha scan`: events in, verdicts out, one line each, in order.
//!
//! A thin wrapper over [`fanzha::Pipeline`] (which reads, scores in parallel and writes in
//! order): this module parses the arguments, watches rule files for `--watch`, and shows
//! progress on a terminal.

use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use is_terminal::IsTerminal;

use super::RulesArg;
use fanzha::{Limits, LiveEngine, MonitorConfig, Pipeline, PipelineOptions, Progress, RuleSet};

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
    /// Events this far behind the latest time seen still take part in windows and sequences;
    /// later ones are scored alone and marked "late":true.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    lateness: Duration,
    /// Keys kept at most, for windows and again for sequences (least recently used go first).
    #[arg(long, value_name = "N", default_value_t = MonitorConfig::default().max_keys)]
    max_keys: usize,
    /// Entries (counted events, sequence steps, values seen) kept per key at most.
    #[arg(long, value_name = "N", default_value_t = MonitorConfig::default().max_events_per_key)]
    max_events_per_key: usize,
    /// A key untouched for this long, in event time, is dropped.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    idle: Duration,
    /// Bytes of message text scanned in one piece; longer texts are scanned in overlapping
    /// pieces of this size, so memory stays bounded.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().message_bytes)]
    max_message_bytes: usize,
    /// Bytes of one input line at most; a longer line is skipped and answered with
    /// {"line":N,"error":"..."}.
    #[arg(long, value_name = "BYTES", default_value_t = PipelineOptions::default().max_line_bytes)]
    max_line_bytes: usize,
    /// Mask phone, ID card and bank card numbers in the evidence, all but their last four
    /// digits.
    #[arg(long)]
    mask_personal_data: bool,
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
    let limits = Limits { message_bytes: args.max_message_bytes, ..Limits::default() };
    let engine = match args.rules.load(limits) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Unbuffered: the pipeline reads into its own blocks.
    let reader: Box<dyn Read + Send> = match &args.input {
        None => Box::new(io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin()),
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return 2;
            }
        },
    };
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let live = Arc::new(LiveEngine::new(engine));
    if args.watch {
        watch(args.rules.rules.clone(), Arc::clone(&live), limits);
    }
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Progress goes to a terminal only, never into a pipe or a log.
    let show_progress = io::stderr().is_terminal();
    // With a file, progress can say how far through it the scan is.
    let total_bytes = args
        .input
        .as_ref()
        .filter(|p| p.as_os_str() != "-")
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .filter(|&t| t > 0);
    let monitor = MonitorConfig {
        max_keys: args.max_keys,
        max_events_per_key: args.max_events_per_key,
        idle: args.idle,
        lateness: args.lateness,
        ..MonitorConfig::default()
    };
    let options = PipelineOptions {
        threads,
        stateful: !args.stateless,
        monitor,
        with_version: args.watch,
        max_line_bytes: args.max_line_bytes,
        mask_personal_data: args.mask_personal_data,
        ..PipelineOptions::default()
    };
    let progress = |p: Progress| {
        if !show_progress {
            return;
        }
        match total_bytes {
            Some(total) => {
                let done = p.bytes.min(total) as f64 * 100.0 / total as f64;
                eprint!("\rscanned {} events, {done:.0}%", p.lines);
            }
            None => eprint!("\rscanned {} events", p.lines),
        }
    };
    match Pipeline::new(live, options).run(reader, out, progress) {
        Ok(n) => {
            if show_progress {
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

/// Reloads the rules whenever a rule file changes; a set with errors is reported and the
/// running one kept.
fn watch(paths: Vec<PathBuf>, live: Arc<LiveEngine>, limits: Limits) {
    // The first look is taken before returning, so a change made after the first verdict is seen.
    let mut last = fingerprint(&paths);
    std::thread::spawn(move || loop {
        std::thread::sleep(WATCH_INTERVAL);
        let now = fingerprint(&paths);
        if now == last {
            continue;
        }
        last = now;
        if let [path] = paths.as_slice() {
            if super::is_bundle(path) {
                // `fanzha compile` replaces a bundle whole, so what is read is one bundle.
                match super::load_bundle(path, &limits) {
                    Ok(engine) => {
                        let version = engine.version().to_string();
                        live.swap(engine);
                        eprintln!("fanzha: reloaded rules {version} from {}", path.display());
                    }
                    Err(_) => eprintln!("fanzha: rules not reloaded, the running set is kept"),
                }
                continue;
            }
        }
        let mut b = RuleSet::builder();
        b.limits(limits);
        for p in &paths {
            b.add_path(p);
        }
        match b.build().and_then(|rules| live.reload(&rules).map(|()| rules.version())) {
            Ok(version) => eprintln!("fanzha: reloaded rules {version}"),
            Err(e) => {
                eprintln!("fanzha: rules not reloaded, the running set is kept:");
                super::print_rules_error(&b, &e);
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
