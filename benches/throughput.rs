//! The throughput harness: messages/s, MB/s and peak memory at 1, 2, … threads.
//!
//! ```text
//! cargo bench --bench throughput -- [--runs 7] [--threads 1,2] [--json target/bench/fanzha.json]
//! ```
//!
//! Workloads (see `workload/mod.rs`, deterministic):
//! - `synthetic`: 200,000 generated chat messages against a pack of 2,000 Chinese literals and
//!   50 regexes, through the full pipeline (fold, scan, evaluate, score, build the verdict),
//!   beside the raw Rust floor (an aho-corasick DFA and a `RegexSet` on the raw bytes, no
//!   folding, no scoring);
//! - `bundled`: the bundled packs on the real corpus with scam scripts mixed in at 2%;
//! - `scaling`: packs of 100, 1,000 and 10,000 rules: compile time, engine memory, and the
//!   per-message cost on the synthetic messages;
//! - `fanzha scan`: the command end to end, JSON in and out, on the synthetic messages.
//!
//! It also writes the workload where `benches/peers.py` reads it (`target/bench/`), so the
//! Python peers scan the very same messages with the very same patterns. Each figure is the
//! median of `--runs` runs; the machines are shared, and a single run can be off by half.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use fanzha::{Engine, Level, RuleSet};
use rayon::prelude::*;
use serde_json::json;

#[path = "workload/mod.rs"]
mod workload;

/// Counts live heap bytes and their peak, for engine memory and per-run peaks.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a peak measurement at the current live size.
fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

struct Options {
    runs: usize,
    threads: Vec<usize>,
    json: PathBuf,
    dir: PathBuf,
    corpus: PathBuf,
    quick: bool,
    /// Workloads to run (all if empty): synthetic, bundled, scaling, cli.
    only: Vec<String>,
    /// Only rows whose engine name contains this (for profiling one engine).
    engine: Option<String>,
}

impl Options {
    fn wants(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == workload)
    }
}

fn options() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut o = Options {
        runs: 7,
        threads: vec![1, 2],
        json: root.join("target/bench/fanzha.json"),
        dir: root.join("target/bench"),
        corpus: root.join("../shared/corpus/benign-chat.jsonl.gz"),
        quick: false,
        only: Vec::new(),
        engine: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--runs" => o.runs = value().parse().expect("--runs N"),
            "--threads" => {
                o.threads = value().split(',').map(|t| t.parse().expect("--threads 1,2")).collect()
            }
            "--json" => o.json = value().into(),
            "--corpus" => o.corpus = value().into(),
            // Fewer runs and messages, to check the harness itself works.
            "--quick" => o.quick = true,
            "--engine" => o.engine = Some(value()),
            "--only" => o.only = value().split(',').map(String::from).collect(),
            // cargo bench passes --bench; criterion-style filters are not used here.
            _ => {}
        }
    }
    if o.quick {
        o.runs = 2;
    }
    o
}

/// One measured row: the median of several timed runs over the same messages.
struct Row {
    workload: &'static str,
    engine: String,
    threads: usize,
    messages: usize,
    bytes: usize,
    seconds: Vec<f64>,
    peak_bytes: usize,
    alerts: usize,
}

impl Row {
    fn median(&self) -> f64 {
        median(&self.seconds)
    }
    fn per_sec(&self) -> f64 {
        self.messages as f64 / self.median()
    }
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.median() / 1e6
    }
    fn print(&self) {
        eprintln!(
            "{:<10} {:<34} {:>2} thr {:>11.0} msg/s {:>8.1} MB/s  peak {:>7.1} MiB  alerts {}",
            self.workload,
            self.engine,
            self.threads,
            self.per_sec(),
            self.mb_per_sec(),
            self.peak_bytes as f64 / 1048576.0,
            self.alerts
        );
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "workload": self.workload, "engine": self.engine, "threads": self.threads,
            "messages": self.messages, "bytes": self.bytes, "seconds": self.seconds,
            "median_seconds": self.median(), "messages_per_second": self.per_sec(),
            "mb_per_second": self.mb_per_sec(), "peak_bytes": self.peak_bytes, "alerts": self.alerts,
        })
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool")
}

/// Messages per parallel task: enough that a task's scanner and hand-off cost vanish.
const CHUNK: usize = 2048;

/// One scanner per pool thread, kept across runs as a long-running service keeps them: a
/// scanner's lazy regex caches warm up once, not once per run.
struct Scanners(Vec<std::sync::Mutex<fanzha::Scanner>>);

impl Scanners {
    fn new(engine: &Engine, pool: &rayon::ThreadPool) -> Scanners {
        Scanners((0..pool.current_num_threads()).map(|_| std::sync::Mutex::new(engine.scanner())).collect())
    }
}

/// The full pipeline: every message folded, scanned, evaluated, scored, and its verdict built
/// and kept. Returns how many verdicts are at `notice` or above.
fn run_pipeline(scanners: &Scanners, texts: &[String], pool: &rayon::ThreadPool) -> usize {
    let verdicts: Vec<Vec<fanzha::Verdict>> = pool.install(|| {
        texts
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut s = scanners.0[rayon::current_thread_index().unwrap_or(0)].lock().unwrap();
                chunk.iter().map(|t| s.scan_text(t)).collect()
            })
            .collect()
    });
    verdicts.iter().flatten().filter(|v| v.level >= Level::Notice).count()
}

/// The floor: the same literals and regexes on the raw bytes, no folding, no scoring. A
/// message counts if anything matched.
struct Floor {
    ac: AhoCorasick,
    daac: daachorse::CharwiseDoubleArrayAhoCorasick<u32>,
    set: regex::bytes::RegexSet,
}

impl Floor {
    fn new(p: &workload::Patterns) -> Floor {
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(&p.literals)
            .expect("literal automaton");
        let set = regex::bytes::RegexSet::new(&p.regexes).expect("regex set");
        let daac = daachorse::CharwiseDoubleArrayAhoCorasick::new(&p.literals).expect("daachorse");
        Floor { ac, daac, set }
    }

    fn run_daac(&self, texts: &[String], pool: &rayon::ThreadPool) -> usize {
        pool.install(|| {
            texts
                .par_chunks(CHUNK)
                .map(|chunk| {
                    chunk.iter().filter(|t| self.daac.find_overlapping_iter(t.as_str()).count() > 0).count()
                })
                .sum()
        })
    }

    fn run(&self, texts: &[String], pool: &rayon::ThreadPool, regexes: bool) -> usize {
        pool.install(|| {
            texts
                .par_chunks(CHUNK)
                .map(|chunk| {
                    chunk
                        .iter()
                        .filter(|t| {
                            let lit = self.ac.find_overlapping_iter(t.as_str()).count() > 0;
                            lit | (regexes && self.set.is_match(t.as_bytes()))
                        })
                        .count()
                })
                .sum()
        })
    }
}

/// One row to measure: a closure that processes every message once and returns the alerts.
struct Case<'a> {
    workload: &'static str,
    engine: String,
    threads: usize,
    texts: &'a [String],
    run: Box<dyn FnMut() -> usize + 'a>,
}

impl<'a> Case<'a> {
    fn new(
        workload: &'static str,
        engine: impl Into<String>,
        threads: usize,
        texts: &'a [String],
        run: impl FnMut() -> usize + 'a,
    ) -> Case<'a> {
        Case { workload, engine: engine.into(), threads, texts, run: Box::new(run) }
    }
}

/// Nanoseconds of the current run spent checking its result rather than doing the work
/// measured (see [`untimed`]).
static UNTIMED_NS: AtomicU64 = AtomicU64::new(0);

/// Runs `f` off the clock: a case's own bookkeeping (counting alerts in a process's output)
/// is not the throughput being measured, and on two cores it would count as serial time.
fn untimed<T>(f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let x = f();
    UNTIMED_NS.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    x
}

/// Runs the cases round-robin, a warm-up round first: every round runs each case once, so a
/// noisy spell on the shared machine slows all of them alike and the ratios between them hold.
fn measure_all(o: &Options, mut cases: Vec<Case>) -> Vec<Row> {
    cases.retain(|c| o.engine.as_ref().is_none_or(|e| c.engine.contains(e.as_str())));
    let n = cases.len();
    let mut seconds = vec![Vec::with_capacity(o.runs); n];
    let mut peaks = vec![0usize; n];
    let mut alerts = vec![0usize; n];
    for round in 0..=o.runs {
        for (i, c) in cases.iter_mut().enumerate() {
            // The peak is counted above what is live before the run (the messages, the engine).
            let base = live();
            reset_peak();
            UNTIMED_NS.store(0, Ordering::Relaxed);
            let t = Instant::now();
            alerts[i] = (c.run)();
            let untimed = UNTIMED_NS.load(Ordering::Relaxed) as f64 / 1e9;
            let elapsed = t.elapsed().as_secs_f64() - untimed;
            peaks[i] = peaks[i].max(peak().saturating_sub(base));
            if round > 0 {
                seconds[i].push(elapsed);
            }
        }
    }
    let mut rows = Vec::with_capacity(n);
    for (i, c) in cases.into_iter().enumerate() {
        let row = Row {
            workload: c.workload,
            engine: c.engine,
            threads: c.threads,
            messages: c.texts.len(),
            bytes: c.texts.iter().map(String::len).sum(),
            seconds: std::mem::take(&mut seconds[i]),
            peak_bytes: peaks[i],
            alerts: alerts[i],
        };
        row.print();
        rows.push(row);
    }
    rows
}

fn write_workload(o: &Options, p: &workload::Patterns, pack: &str, texts: &[String]) -> PathBuf {
    std::fs::create_dir_all(&o.dir).expect("target/bench");
    let mut lines = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
    for t in texts {
        lines.push_str(t);
        lines.push('\n');
    }
    std::fs::write(o.dir.join("synthetic-messages.txt"), lines).expect("write messages");
    let patterns = json!({"literals": p.literals, "regexes": p.regexes});
    std::fs::write(o.dir.join("synthetic-patterns.json"), patterns.to_string()).expect("write patterns");
    std::fs::write(o.dir.join("synthetic.toml"), pack).expect("write pack");
    let mut events = String::new();
    for (i, t) in texts.iter().enumerate() {
        events.push_str(&json!({"kind": "message", "id": format!("s{i}"), "text": t}).to_string());
        events.push('\n');
    }
    let path = o.dir.join("synthetic-events.jsonl");
    std::fs::write(&path, events).expect("write events");
    path
}

/// The `fanzha` binary (crates/fanzha-cli), built in release beside this bench: a bench can
/// only name its own package's binaries.
fn cli_exe() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "fanzha-cli", "--bin", "fanzha"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build -p fanzha-cli failed");
    // This bench is target/release/deps/throughput-…; the binary is target/release/fanzha.
    let exe = std::env::current_exe().expect("the bench's path");
    let dir = exe.parent().and_then(Path::parent).expect("target/release");
    dir.join(format!("fanzha{}", std::env::consts::EXE_SUFFIX))
}

fn main() {
    let o = options();
    let n = if o.quick { 20_000 } else { 200_000 };
    let mut rows = Vec::new();
    let mut extra = serde_json::Map::new();

    // Synthetic: 2,000 literals + 50 regexes.
    let patterns = workload::patterns();
    let pack = workload::synthetic_pack(&patterns);
    let texts = workload::messages(n, &patterns);
    let events = write_workload(&o, &patterns, &pack, &texts);
    let before = live();
    let t = Instant::now();
    let engine =
        Engine::new(&RuleSet::from_str("synthetic.toml", &pack).expect("synthetic pack")).expect("compile");
    extra.insert("synthetic_compile_seconds".into(), t.elapsed().as_secs_f64().into());
    extra.insert("synthetic_engine_bytes".into(), (live() - before).into());
    extra.insert("synthetic_stats".into(), serde_json::to_value(engine.stats()).unwrap());
    let floor = Floor::new(&patterns);
    let pools: Vec<(usize, rayon::ThreadPool)> = o.threads.iter().map(|&th| (th, pool(th))).collect();
    if o.wants("synthetic") {
        let scanners: Vec<Scanners> = pools.iter().map(|(_, p)| Scanners::new(&engine, p)).collect();
        let mut cases = Vec::new();
        for ((th, p), scanners) in pools.iter().zip(&scanners) {
            let (th, texts, floor) = (*th, &texts, &floor);
            cases.push(Case::new("synthetic", "fanzha pipeline", th, texts, move || {
                run_pipeline(scanners, texts, p)
            }));
            cases.push(Case::new("synthetic", "rust floor (literals)", th, texts, move || {
                floor.run(texts, p, false)
            }));
            cases.push(Case::new("synthetic", "rust floor (literals, daachorse)", th, texts, move || {
                floor.run_daac(texts, p)
            }));
            cases.push(Case::new("synthetic", "rust floor (literals+regexes)", th, texts, move || {
                floor.run(texts, p, true)
            }));
        }
        rows.extend(measure_all(&o, cases));
    }

    // The bundled packs on the real corpus.
    let corpus = if o.wants("bundled") { Some(workload::corpus_texts(&o.corpus)) } else { None };
    match corpus.unwrap_or(Ok(Vec::new())) {
        Ok(corpus) if corpus.is_empty() => {}
        Ok(mut corpus) => {
            if o.quick {
                corpus.truncate(20_000);
            }
            let corpus = workload::with_scams(corpus);
            let bundled = Engine::bundled().expect("bundled packs");
            let scanners: Vec<Scanners> = pools.iter().map(|(_, p)| Scanners::new(&bundled, p)).collect();
            let cases = pools
                .iter()
                .zip(&scanners)
                .map(|((th, p), s)| {
                    let corpus = &corpus;
                    Case::new("bundled", "fanzha pipeline", *th, corpus, move || run_pipeline(s, corpus, p))
                })
                .collect();
            rows.extend(measure_all(&o, cases));
        }
        Err(e) => eprintln!("skipping the corpus workload: {}: {e}", o.corpus.display()),
    }

    // Scaling with the number of rules: the engines are compiled first, then measured
    // round-robin, so the ratio between 100 and 10,000 rules holds however noisy the machine.
    let mut scaling = Vec::new();
    let one = pool(1);
    let mut engines = Vec::new();
    for rules in [100, 1_000, 10_000].into_iter().filter(|_| o.wants("scaling")) {
        let source = workload::scaling_pack(rules);
        let before = live();
        reset_peak();
        let t = Instant::now();
        let set = RuleSet::from_str("scale.toml", &source).expect("scaling pack");
        let parsed = t.elapsed().as_secs_f64();
        let engine = Engine::new(&set).expect("compile");
        let total = t.elapsed().as_secs_f64();
        drop(set);
        let bytes = live() - before;
        let compile_peak = peak() - before;
        eprintln!(
            "           {rules} rules: parse {parsed:.3} s, parse+compile {total:.3} s, engine {:.1} MiB \
             (peak while compiling {:.1} MiB), {} literals",
            bytes as f64 / 1048576.0,
            compile_peak as f64 / 1048576.0,
            engine.stats().literals
        );
        scaling.push(json!({
            "rules": rules, "parse_seconds": parsed, "compile_seconds": total - parsed,
            "total_seconds": total, "engine_bytes": bytes, "compile_peak_bytes": compile_peak,
            "literals": engine.stats().literals,
        }));
        let scanners = Scanners::new(&engine, &one);
        engines.push((rules, engine, scanners));
    }
    let cases = engines
        .iter()
        .map(|(rules, _, scanners)| {
            let (texts, one) = (&texts, &one);
            Case::new("scaling", format!("fanzha pipeline, {rules} rules"), 1, texts, move || {
                run_pipeline(scanners, texts, one)
            })
        })
        .collect();
    for (s, row) in scaling.iter_mut().zip(measure_all(&o, cases)) {
        s["ns_per_message"] = (row.median() / row.messages as f64 * 1e9).into();
        rows.push(row);
    }
    extra.insert("scaling".into(), scaling.into());

    // `fanzha scan` end to end: the process reads JSON Lines from a file and writes a verdict
    // per line into a file, as `fanzha scan events.jsonl > verdicts.jsonl` does. The rules are
    // a bundle compiled once, so start-up is milliseconds, not a compile per run; the output
    // goes to a file rather than a pipe this process drains, whose reading would take a core
    // from the two being measured; alerts are counted off the clock.
    let exe = if o.wants("cli") { cli_exe() } else { PathBuf::new() };
    let exe = &exe;
    let rules = o.dir.join("synthetic.fzb");
    if o.wants("cli") {
        let toml = o.dir.join("synthetic.toml");
        let out = std::process::Command::new(exe)
            .arg("compile")
            .arg("--rules")
            .arg(&toml)
            .arg("-o")
            .arg(&rules)
            .output()
            .expect("run fanzha compile");
        assert!(out.status.success(), "fanzha compile failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let verdicts = o.dir.join("cli-verdicts.jsonl");
    let mut cases = Vec::new();
    for &th in o.threads.iter().filter(|_| o.wants("cli")) {
        for stateless in [false, true] {
            let name = if stateless { "fanzha scan --stateless" } else { "fanzha scan" };
            let (rules, events, verdicts) = (&rules, &events, &verdicts);
            cases.push(Case::new("cli", name, th, &texts, move || {
                let mut cmd = std::process::Command::new(exe);
                cmd.arg("scan").arg("--rules").arg(rules).arg("--threads").arg(th.to_string());
                if stateless {
                    cmd.arg("--stateless");
                }
                let file = std::fs::File::create(verdicts).expect("create the verdicts file");
                let out = cmd
                    .arg(events)
                    .stdin(std::process::Stdio::null())
                    .stdout(file)
                    .output()
                    .expect("run fanzha scan");
                assert!(out.status.success(), "fanzha scan failed: {}", String::from_utf8_lossy(&out.stderr));
                untimed(|| {
                    let written = std::fs::read(verdicts).expect("read the verdicts");
                    let lines = written.split(|&b| b == b'\n').filter(|l| !l.is_empty());
                    const NONE: &[u8] = b"\"level\":\"none\"";
                    lines.filter(|l| !l.windows(NONE.len()).any(|w| w == NONE)).count()
                })
            }));
        }
    }
    rows.extend(measure_all(&o, cases));

    let doc = json!({
        "runs": o.runs,
        "messages": n,
        "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
        "extra": extra,
    });
    if let Some(dir) = o.json.parent() {
        std::fs::create_dir_all(dir).expect("json dir");
    }
    std::fs::write(&o.json, serde_json::to_string_pretty(&doc).unwrap()).expect("write json");
    eprintln!("figures written to {}", o.json.display());
}
