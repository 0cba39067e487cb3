//! Bad input that fanzha handles wrongly today: each test states the behaviour wanted and
//! fails until it is fixed. Not compiled in (`tests/it/mod.rs` does not name this module);
//! to run them, add `mod bad_input_pending;` there, and move each test into `bad_input.rs`
//! once it passes.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanzha::{Engine, Event, LiveEngine, Monitor, MonitorConfig, Pipeline, PipelineOptions, RuleSet};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bad");
const PHONE: &str = "13812345678";

fn fanzha(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fanzha");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn window_engine() -> Engine {
    Engine::new(&RuleSet::from_path(format!("{DATA}/window.toml")).unwrap()).unwrap()
}

/// Wrong today: `unknown event kind `…`` repeats the value of `kind`, whatever it holds, into
/// the error line (and the C and Python errors): a producer that puts a phone number or a
/// message there (a shifted column, a mislabelled field) has it copied into the verdict
/// stream and the logs that keep it. The error should name the field, not its value.
#[test]
fn an_unknown_kind_is_not_echoed_into_the_error() {
    let line = format!("{{\"kind\":\"电话{PHONE}\",\"text\":\"先出票\"}}");
    let e = Event::from_json(&line).unwrap_err().to_string();
    assert!(e.contains("kind"), "{e}");
    assert!(!e.contains(PHONE), "the error echoes the input: {e}");
    let out = fanzha(&["scan"], format!("{line}\n").as_bytes());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("{\"line\":1,\"error\":"), "{stdout}");
    assert!(!stdout.contains(PHONE), "the error line echoes the input: {stdout}");
}

/// Wrong today: a `ts` of epoch milliseconds near `i64::MIN` (valid JSON, read as a time)
/// makes the monitor subtract a window's length from it and overflow:
/// "attempt to subtract with overflow" at src/monitor/mod.rs:570 (`p.t - w.within_ms`; also
/// 551 and 633) in debug builds, a wrapped time (a silently wrong window) in release builds.
/// Through `fanzha scan` the panic kills the whole stream. Times so far out should be refused
/// (`ts` out of range) or saturate.
#[test]
fn a_time_near_i64_min_neither_panics_nor_wraps() {
    for ts in [i64::MIN, i64::MIN + 1, i64::MIN + 3_600_000] {
        let engine = window_engine();
        let r = std::panic::catch_unwind(move || {
            let mut m = Monitor::new(engine);
            let line =
                format!("{{\"kind\":\"message\",\"ts\":{ts},\"conversation\":\"c\",\"text\":\"先出票\"}}");
            match Event::from_json(&line) {
                Ok(e) => {
                    m.observe(&e);
                    m.observe(&e).score
                }
                Err(e) => {
                    assert!(e.to_string().contains("`ts`"), "{e}");
                    0
                }
            }
        });
        assert!(r.is_ok(), "ts {ts}: the monitor panicked");
    }
    // First in the stream, so it is not late: today the command exits 101 with no output at
    // all, the good line after it lost too.
    let input = format!(
        "{{\"kind\":\"message\",\"id\":\"b\",\"ts\":{},\"conversation\":\"c\",\"text\":\"先出票\"}}\n\
         {{\"kind\":\"message\",\"id\":\"c\",\"text\":\"你好\"}}\n",
        i64::MIN
    );
    let out = fanzha(&["scan", "--rules", &format!("{DATA}/window.toml")], input.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2, "one line per input line");
}

/// Wrong today: a window's `sum` adds fen as `u64` without a check (src/monitor/mod.rs:572).
/// Each amount is at most 10^15 fen, so with the default 64 entries per key the sum cannot
/// overflow, but `--max-events-per-key` (`MonitorConfig::max_events_per_key`) may be raised:
/// from 18,447 maximal amounts within one window the sum overflows: a panic in debug builds
/// ("attempt to add with overflow", inside the rayon pool), a wrapped small sum and a missed
/// hit in release. Slow in debug (about 90 s: each event filters the key's whole list).
#[test]
fn a_window_sum_of_huge_amounts_does_not_overflow() {
    let config = MonitorConfig { max_events_per_key: 100_000, ..MonitorConfig::default() };
    let mut m = Monitor::with_config(window_engine(), config);
    let events: Vec<Event> = (0..18_500)
        .map(|i| {
            Event::from_json(&format!(
                "{{\"kind\":\"transaction\",\"ts\":{},\"merchant\":\"m\",\"amount\":10000000000000}}",
                1_747_612_800_000i64 + i
            ))
            .unwrap()
        })
        .collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.observe_batch(&events)));
    let verdicts = r.expect("the monitor panicked");
    let last = verdicts.last().unwrap();
    assert!(last.hits.iter().any(|h| &*h.rule == "win.sum"), "a sum far over 100 yuan: {}", last.to_json());
}

/// Wrong today: `max_keys` is documented as the most keys kept ("at most `max_keys` keys for
/// windows and again for sequences", docs/RULES.md), but each of the 64 shards keeps
/// `max_keys.div_ceil(64)` (src/monitor/mod.rs:461): `max_keys = 100` keeps 128 keys and
/// `max_keys = 1` keeps 64. Either the bound is kept exactly or the docs say it is rounded up
/// to a multiple of 64.
#[test]
fn max_keys_is_the_most_keys_kept() {
    for max_keys in [1, 100] {
        let config = MonitorConfig { max_keys, ..MonitorConfig::default() };
        let mut m = Monitor::with_config(window_engine(), config);
        let events: Vec<Event> = (0..5_000)
            .map(|i| {
                Event::from_json(&format!(
                    "{{\"kind\":\"message\",\"ts\":{},\"conversation\":\"c{i}\",\"text\":\"先出票\"}}",
                    1_747_612_800_000i64 + i
                ))
                .unwrap()
            })
            .collect();
        m.observe_batch(&events);
        let s = m.stats();
        assert!(s.keys <= max_keys, "max_keys {max_keys}: {s:?}");
    }
}

/// Not quite right today: an amount too large for a float (`1e400`) is refused by the JSON
/// reader ("invalid JSON: number out of range at line 1 column N") rather than as an amount;
/// the line is answered with an error, but unlike every other bad amount the error does not
/// name the field. Wanted: "`amount` must be between 0 and 10000000000000 yuan".
#[test]
fn an_amount_too_large_for_a_float_is_named() {
    let e = Event::from_json(r#"{"kind":"transaction","amount":1e400}"#).unwrap_err().to_string();
    assert!(e.contains("`amount`"), "{e}");
}

/// Limits (being added): a 100 MB message is scanned in bounded time and memory, or cut with a
/// marker in the verdict. Today a 100 MB message dense with hits takes minutes in a debug
/// build (about 2.4 s per MB: every one of the ~11 million hits is evaluated), and memory
/// grows with the message (text, folded copy, offset map).
#[test]
fn a_100_mb_message_is_scanned_in_bounded_time_or_cut() {
    let engine = Engine::bundled().unwrap();
    let text = "老板先出票，钱等下转你。".repeat(100 << 20 >> 5);
    assert!(text.len() >= 100 << 20);
    let started = Instant::now();
    let v = engine.scan_text(&text);
    let took = started.elapsed();
    assert!(v.level >= fanzha::Level::Warn);
    assert!(took < Duration::from_secs(30), "100 MB took {took:?}");
    // Through a stream: the line is answered (a verdict, cut, or an error naming the limit),
    // and the lines around it too.
    let line = serde_json::json!({"kind": "message", "id": "huge", "text": text}).to_string();
    let input = format!("{{\"kind\":\"message\",\"id\":\"a\",\"text\":\"x\"}}\n{line}\n{{\"kind\":\"message\",\"id\":\"b\",\"text\":\"x\"}}\n");
    let live = Arc::new(LiveEngine::new(engine));
    let mut out = Vec::new();
    let started = Instant::now();
    Pipeline::new(live, PipelineOptions::default())
        .run(std::io::Cursor::new(input.into_bytes()), &mut out, |_| {})
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 3);
    assert!(out.lines().nth(1).unwrap().len() < 1 << 20, "the answer to a huge line stays small");
}
