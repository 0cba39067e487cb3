//! `fanzha corpus`: the rule author's daily measurement. Labelled events in; recall, false
//! alarms, the score distribution, what each rule contributes, the misses and false alarms to
//! read, the events a rule change moved, and points fitted to the corpus out.
//!
//! Built on the library's public API only: rows are read as `fanzha scan` reads events, and
//! scored by an [`Engine`]'s scanners (stateless) or a [`Monitor`] per file (`--stateful`).

mod compare;
mod fit;
mod read;
mod report;
mod tally;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use fanzha::{Engine, Event, Limits, Monitor, Scanner, Verdict};
use rayon::prelude::*;

use super::RulesArg;
use read::{Row, RowSpec};
use report::{pct, Meta, Report};
use tally::{Outcome, RuleInfo, Scored, Tally, TallyOptions, Wants};

/// Characters of text shown per listed event.
const EXCERPT_CHARS: usize = 120;

pub const EXIT_CODES: &str = "Exit codes: 0 success; 1 --min-recall or --max-fpr not met (the report \
     says which); 2 bad usage, unreadable input or a missing file, bad rules, or an unreadable \
     --compare file. A line that cannot be read is reported as FILE:LINE: error and counted, and \
     does not change the exit code.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// A label that counts as positive (repeatable). Default: fraud. Every other label is negative.
    #[arg(long = "positive", value_name = "LABEL")]
    positive: Vec<String>,
    /// The label of rows without a "label" field (without it, such a row is an error).
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Also break the figures down by this field (repeatable), e.g. --by fraud_type.
    /// `category` and `source` are broken down whenever rows have them.
    #[arg(long = "by", value_name = "FIELD")]
    by: Vec<String>,
    /// Run each file through one Monitor, in line order, so windows and sequences count.
    /// Default: every event scored on its own.
    #[arg(long)]
    stateful: bool,
    /// List up to N positives below warn, nearest to warn first, with the rules that fired.
    #[arg(long, value_name = "N", default_value_t = 0)]
    misses: usize,
    /// List up to N negatives at warn or above, highest score first.
    #[arg(long = "false-alarms", value_name = "N", default_value_t = 0)]
    false_alarms: usize,
    /// Write every event's level, score and hits, and the summary, to this JSON file.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Show the events whose level changed since a run saved with --save (matched by file
    /// name and line, or by id).
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Fit rule points to the corpus and print them beside the current ones, with the recall
    /// and false-positive rate they would give. Changes no file.
    #[arg(long)]
    suggest_points: bool,
    /// Exit 1 if recall at warn is below this fraction (e.g. 0.6).
    #[arg(long, value_name = "X", value_parser = fraction)]
    min_recall: Option<f64>,
    /// Exit 1 if the false-positive rate at warn is above this fraction (e.g. 0.001).
    #[arg(long, value_name = "X", value_parser = fraction)]
    max_fpr: Option<f64>,
    /// Write the report as JSON.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Write the report as Markdown.
    #[arg(long)]
    markdown: bool,
    /// JSON Lines files of labelled events (`.gz` read directly); `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a fraction between 0 and 1")),
    }
}

pub fn run(args: Args) -> i32 {
    let (rules, engine) = match args.rules.load_rules(Limits::default()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let levels = engine.levels();
    // Markers (0 points) never appear in verdicts; they have nothing to measure here.
    let rule_infos: Vec<RuleInfo> = rules
        .rules()
        .filter(|r| r.points() > 0)
        .map(|r| RuleInfo { id: r.id().to_string(), category: r.category().to_string(), points: r.points() })
        .collect();
    let matcher = match args.compare.as_deref().map(compare::Matcher::load).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let files = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
    let mut inputs = Vec::with_capacity(files.len());
    for f in &files {
        match read::open(f) {
            Ok(i) => inputs.push(i),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return 2;
            }
        }
    }

    let mut fields = vec!["category".to_string(), "source".to_string()];
    for f in &args.by {
        if f != "label" && !fields.contains(f) {
            fields.push(f.clone());
        }
    }
    let spec = RowSpec { default_label: args.label.clone(), fields: fields.clone() };
    let positive_labels =
        if args.positive.is_empty() { vec!["fraud".to_string()] } else { args.positive.clone() };
    let positives: HashSet<String> = positive_labels.iter().cloned().collect();
    let wants =
        Wants { misses: args.misses > 0, false_alarms: args.false_alarms > 0, compare: matcher.is_some() };
    let mut tally = Tally::new(TallyOptions {
        levels,
        paths: inputs.iter().map(|i| i.path.clone()).collect(),
        fields,
        rules: rule_infos,
        misses: args.misses,
        false_alarms: args.false_alarms,
        save: args.save.is_some(),
        matcher,
        fit: args.suggest_points,
    });

    // Reading (and gunzipping) runs beside scoring; two chunks in flight keep both busy.
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let reader = std::thread::spawn(move || read::read_all(inputs, tx));
    let scorer =
        Scorer { engine: &engine, spec: &spec, positives: &positives, wants, pool: Mutex::default() };
    let mut monitor: Option<(usize, Monitor)> = None;
    let mut read_error = None;
    for chunk in rx {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        };
        let scored = if args.stateful {
            // One monitor per file: each file is its own stream.
            if monitor.as_ref().is_none_or(|(f, _)| *f != chunk.file) {
                monitor = Some((chunk.file, Monitor::new(engine.clone())));
            }
            scorer.stateful(chunk, &mut monitor.as_mut().unwrap().1)
        } else {
            scorer.stateless(chunk)
        };
        for s in scored {
            tally.add(s);
        }
    }
    let _ = reader.join();
    if let Some(e) = read_error {
        eprintln!("{e}");
        return 2;
    }
    if tally.errors > tally::ERRORS_SHOWN {
        eprintln!(
            "{} unreadable lines in all (the first {} are shown above)",
            tally.errors,
            tally::ERRORS_SHOWN
        );
    }

    let patterns = tally.patterns.take();
    let fit_rules = tally.rules.clone();
    let records = tally.records.take();
    let meta = Meta {
        rules: engine.version().to_string(),
        stateful: args.stateful,
        positive_labels,
        misses: args.misses > 0,
        false_alarms: args.false_alarms > 0,
    };
    let mut report = Report::new(tally, meta);
    if let Some(p) = &patterns {
        report.suggest_points = Some(fit::suggest(p, &fit_rules, levels, report.overall));
    }
    report.failed = checks(&args, &report);
    if let (Some(path), Some(records)) = (&args.save, &records) {
        if let Err(e) = compare::save(path, &report, records) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
    }
    let text = if args.json {
        report.to_json()
    } else if args.markdown {
        report.to_markdown()
    } else {
        report.to_plain()
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    for f in &report.failed {
        eprintln!("error: {f}");
    }
    if report.failed.is_empty() {
        0
    } else {
        1
    }
}

/// `--min-recall` and `--max-fpr`, at warn over the whole corpus.
fn checks(args: &Args, report: &Report) -> Vec<String> {
    let mut failed = Vec::new();
    let o = &report.overall;
    if let Some(min) = args.min_recall {
        match o.recall_warn() {
            Some(r) if r >= min => {}
            Some(r) => failed.push(format!(
                "recall at warn {} is below --min-recall {}",
                pct(Some(r)),
                pct(Some(min))
            )),
            None => failed
                .push(format!("no positive events, so recall cannot meet --min-recall {}", pct(Some(min)))),
        }
    }
    if let Some(max) = args.max_fpr {
        match o.fpr_warn() {
            Some(r) if r <= max => {}
            Some(r) => failed.push(format!(
                "false-positive rate at warn {} is above --max-fpr {}",
                pct(Some(r)),
                pct(Some(max))
            )),
            None => {
                failed.push(format!("no negative events, so --max-fpr {} cannot be checked", pct(Some(max))))
            }
        }
    }
    failed
}

/// Scores chunks of lines: parsing and scanning run on the rayon pool, results come back in
/// line order.
struct Scorer<'a> {
    engine: &'a Engine,
    spec: &'a RowSpec,
    positives: &'a HashSet<String>,
    wants: Wants,
    /// Scanners are lent to rayon's splits and returned, so there is about one per thread
    /// for the whole run instead of a new one per split.
    pool: Mutex<Vec<Scanner>>,
}

/// A row's label and its breakdown fields' values, while the monitor holds its event.
type LabelAndFields = (String, Vec<Option<String>>);

/// A scanner taken from the pool, put back when the split is done.
struct Lease<'a> {
    pool: &'a Mutex<Vec<Scanner>>,
    scanner: Option<Scanner>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let (Some(s), Ok(mut pool)) = (self.scanner.take(), self.pool.lock()) {
            pool.push(s);
        }
    }
}

impl Scorer<'_> {
    fn lease(&self) -> Lease<'_> {
        let scanner =
            self.pool.lock().ok().and_then(|mut p| p.pop()).unwrap_or_else(|| self.engine.scanner());
        Lease { pool: &self.pool, scanner: Some(scanner) }
    }

    fn stateless(&self, chunk: read::Chunk) -> Vec<Scored> {
        let (file, first) = (chunk.file, chunk.first_line);
        chunk
            .lines
            .par_iter()
            .enumerate()
            .with_min_len(64)
            .map_init(
                || self.lease(),
                |lease, (i, raw)| {
                    let scanner = lease.scanner.as_mut().expect("a leased scanner");
                    let outcome = read::parse(raw, self.spec).map(|row| {
                        let v = scanner.scan(&row.event);
                        self.outcome(&row.event, row.label, row.fields, v)
                    });
                    Scored { file, line: first + i, outcome }
                },
            )
            .collect()
    }

    /// Rows are read in parallel; the monitor then sees the readable ones in line order.
    fn stateful(&self, chunk: read::Chunk, monitor: &mut Monitor) -> Vec<Scored> {
        let (file, first) = (chunk.file, chunk.first_line);
        let rows: Vec<Result<Row, String>> =
            chunk.lines.par_iter().with_min_len(64).map(|raw| read::parse(raw, self.spec)).collect();
        let mut events = Vec::with_capacity(rows.len());
        let rest: Vec<Result<LabelAndFields, String>> = rows
            .into_iter()
            .map(|r| {
                r.map(|row| {
                    events.push(row.event);
                    (row.label, row.fields)
                })
            })
            .collect();
        let verdicts = monitor.observe_batch(&events);
        let mut scored = events.iter().zip(verdicts);
        rest.into_iter()
            .enumerate()
            .map(|(i, r)| {
                let outcome = r.map(|(label, fields)| {
                    let (event, v) = scored.next().expect("one verdict per event");
                    self.outcome(event, label, fields, v)
                });
                Scored { file, line: first + i, outcome }
            })
            .collect()
    }

    fn outcome(&self, event: &Event, label: String, fields: Vec<Option<String>>, v: Verdict) -> Outcome {
        let positive = self.positives.contains(&label);
        let excerpt = self.wants.text(positive, v.level).then(|| read::excerpt(event.text(), EXCERPT_CHARS));
        Outcome {
            id: v.id.or_else(|| event.id().map(String::from)),
            label,
            positive,
            fields,
            level: v.level,
            score: v.score,
            hits: v.hits.into_iter().map(|h| (h.rule, h.score)).collect(),
            excerpt,
        }
    }
}
