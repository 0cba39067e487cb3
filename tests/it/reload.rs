//! Rule sets swapped while eight threads score: every event is scored exactly once,
//! by exactly one rule-set version, the verdict is that version's and no other's (each
//! version's rule has its own id and points), a thread never goes back to an older version,
//! and a broken set never replaces the running one. Per event through a `LiveScanner`, per
//! batch through the engine of the moment, and through the `Pipeline`.
//!
//! No clock paces anything: the scanners ask for each swap (a tick every so many events) and,
//! at set points, wait for the swap they asked for, so every run meets many versions however
//! the threads are scheduled.

use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::Duration;

use fanzha::{Engine, Event, Level, LiveEngine, LiveMonitor, RuleSet};

/// Version `v` of a pack: its one rule is `live.v{v}`, worth `points(v)`, so a verdict shows
/// which version scored it, and a verdict mixing two versions would show two rule ids.
fn pack(version: u32) -> RuleSet {
    RuleSet::from_str(
        "live.toml",
        &format!(
            "[pack]\nid = \"live\"\nversion = \"{version}\"\npinyin = false\n[[rule]]\nid = \"live.v{version}\"\ntitle = \"r\"\ncategory = \"c\"\npoints = {}\nwhen = {{ any = [\"先出票\"] }}\n",
            points(version)
        ),
    )
    .unwrap()
}

fn points(version: u32) -> u32 {
    version % 900 + 1
}

fn version_of(name: &str) -> u32 {
    name.strip_prefix("live@").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("version {name}"))
}

/// The newest version installed, published by the reloader once the swap is done.
#[derive(Default)]
struct Installed {
    version: Mutex<u32>,
    changed: Condvar,
}

impl Installed {
    fn publish(&self, version: u32) {
        *self.version.lock().unwrap() = version;
        self.changed.notify_all();
    }

    /// Waits for a version newer than `version` to be installed; returns it.
    fn wait_past(&self, version: u32) -> u32 {
        let guard = self.version.lock().unwrap();
        let (guard, waited) =
            self.changed.wait_timeout_while(guard, Duration::from_secs(60), |v| *v <= version).unwrap();
        assert!(!waited.timed_out(), "no version after {version} installed within 60 s");
        *guard
    }
}

/// Worker threads scoring at once: more than the machine's cores, so scans are preempted
/// in the middle and swaps land at every point of a scan.
const WORKERS: usize = 8;
const EVENTS_PER_WORKER: usize = 6_000;
/// Each worker asks for a swap after this many events.
const TICK: usize = 100;

/// What a worker saw: per event, its id, the version that scored it, and the verdict's hits.
type Seen = Vec<(String, u32, Vec<(String, u32)>)>;

fn check(text_hits: bool, id: &str, version: u32, hits: &[(String, u32)]) {
    if text_hits {
        assert_eq!(
            hits,
            [(format!("live.v{version}"), points(version))],
            "event {id}: the verdict must be exactly the work of the version it names"
        );
    } else {
        assert!(hits.is_empty(), "event {id}: {hits:?}");
    }
}

#[test]
fn reloads_under_load_score_every_event_once_with_one_version() {
    let live = Arc::new(LiveEngine::new(Engine::new(&pack(1)).unwrap()));
    let installed = Arc::new(Installed::default());
    // A swap to a new version (2, 3, 4, …) for each tick a worker sends, each time also
    // offering a broken set; over when every worker is done (and has dropped its sender).
    let (tick, ticks) = mpsc::channel::<()>();
    let reloader = {
        let (live, installed) = (Arc::clone(&live), Arc::clone(&installed));
        std::thread::spawn(move || {
            let (mut version, mut rejected) = (1, 0);
            while ticks.recv().is_ok() {
                version += 1;
                live.reload(&pack(version)).unwrap();
                installed.publish(version);
                // A set that fails to compile never replaces the running one.
                let bad = RuleSet::from_str(
                    "bad.toml",
                    "[pack]\nid = \"live\"\nversion = \"999999\"\n[[rule]]\nid = \"x\"\n",
                );
                if bad.and_then(|r| live.reload(&r)).is_err() {
                    rejected += 1;
                }
            }
            (version, rejected)
        })
    };
    let start = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (live, start, installed, tick) =
                (Arc::clone(&live), Arc::clone(&start), Arc::clone(&installed), tick.clone());
            std::thread::spawn(move || -> Seen {
                let events: Vec<Event> = (0..EVENTS_PER_WORKER)
                    .map(|i| {
                        let text = if (i + w) % 2 == 0 { "老板先出票" } else { "今天天气好" };
                        Event::message(text).with_id(format!("w{w}-{i}"))
                    })
                    .collect();
                start.wait();
                let mut seen = Seen::new();
                let hits = |v: &fanzha::Verdict| -> Vec<(String, u32)> {
                    v.hits.iter().map(|h| (h.rule.to_string(), h.score)).collect()
                };
                if w % 2 == 0 {
                    // Event by event through a scanner that follows reloads.
                    let mut scanner = live.scanner();
                    for (i, e) in events.iter().enumerate() {
                        let (v, version) = scanner.scan(e);
                        let version = version_of(&version);
                        seen.push((v.id.clone().unwrap(), version, hits(&v)));
                        if (i + 1) % TICK == 0 {
                            tick.send(()).unwrap();
                            if w == 0 {
                                // The first worker waits for the swap it asked for: its next
                                // scan is by a newer version.
                                installed.wait_past(version);
                            }
                        }
                    }
                } else {
                    // In batches through the engine of the moment (as the bindings do): one
                    // version for the whole batch.
                    for (b, batch) in events.chunks(50).enumerate() {
                        let engine = live.engine();
                        let version = version_of(engine.version());
                        for v in engine.scan_batch(batch) {
                            seen.push((v.id.clone().unwrap(), version, hits(&v)));
                        }
                        if (b + 1) * 50 % TICK == 0 {
                            tick.send(()).unwrap();
                        }
                    }
                }
                seen
            })
        })
        .collect();
    drop(tick);
    let mut ids = std::collections::HashSet::new();
    let mut versions = std::collections::BTreeSet::new();
    for (w, worker) in workers.into_iter().enumerate() {
        let seen = worker.join().unwrap();
        assert_eq!(seen.len(), EVENTS_PER_WORKER, "worker {w}: one verdict per event");
        let mut last = 0;
        for (i, (id, version, hits)) in seen.iter().enumerate() {
            assert_eq!(*id, format!("w{w}-{i}"), "verdicts in the order of the events");
            assert!(ids.insert(id.clone()), "event {id} scored twice");
            check((i + w) % 2 == 0, id, *version, hits);
            // A thread never goes back to an older set once it has seen a newer one.
            assert!(*version >= last, "worker {w}: version {version} after {last}");
            last = *version;
            versions.insert(*version);
        }
    }
    let (installed, rejected) = reloader.join().unwrap();
    assert_eq!(ids.len(), WORKERS * EVENTS_PER_WORKER, "every event scored exactly once");
    assert!(versions.iter().all(|&v| (1..=installed).contains(&v)), "only versions that were installed");
    assert_eq!(rejected, installed - 1, "every broken set was refused");
    assert_eq!(installed as usize, 1 + WORKERS * EVENTS_PER_WORKER / TICK, "one swap per tick");
    // The first worker met a new version after each of its ticks but the last.
    assert!(
        versions.len() >= EVENTS_PER_WORKER / TICK,
        "scans should have met a new version after each wait: {} of {installed}",
        versions.len()
    );
}

#[test]
fn the_pipeline_under_reloads_answers_every_line_once_in_order_with_its_version() {
    // A window rule too, so reloads happen while the monitor holds state.
    let pack = |version: u32, points: u32| {
        RuleSet::from_str(
            "live.toml",
            &format!(
                "[pack]\nid = \"live\"\nversion = \"{version}\"\n\
                 [[rule]]\nid = \"live.r\"\ntitle = \"r\"\ncategory = \"c\"\npoints = {points}\nwhen = {{ any = [\"先出票\"] }}\n\
                 [[rule]]\nid = \"live.w\"\ntitle = \"w\"\ncategory = \"w\"\npoints = 1\nwhen = {{ any = [\"先出票\"] }}\n\
                 window = {{ key = \"conversation\", within = \"1h\", count = {{ ge = 2 }} }}\n"
            ),
        )
        .unwrap()
    };
    let live = Arc::new(LiveEngine::new(Engine::new(&pack(1, points(1))).unwrap()));
    let installed = Arc::new(Installed::default());
    // A swap for each batch the pipeline finishes (asked for from its progress callback), done
    // while the next batch is scored.
    let (tick, ticks) = mpsc::channel::<()>();
    let reloader = {
        let (live, installed) = (Arc::clone(&live), Arc::clone(&installed));
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while ticks.recv().is_ok() {
                swaps += 1;
                let v = swaps + 1;
                live.reload(&pack(v, points(v))).unwrap();
                installed.publish(v);
            }
            swaps
        })
    };
    let n = 60_000;
    let mut input = String::new();
    for i in 0..n {
        let text = if i % 2 == 0 { "老板先出票" } else { "今天天气好" };
        input.push_str(&format!(
            "{{\"kind\":\"message\",\"id\":\"e{i}\",\"ts\":{},\"conversation\":\"c{}\",\"text\":\"{text}\"}}\n",
            1_747_612_800_000u64 + i * 1000,
            i % 50
        ));
    }
    let options =
        fanzha::PipelineOptions { threads: WORKERS, batch: 500, with_version: true, ..Default::default() };
    let mut out = Vec::new();
    // Moved into the pipeline and dropped with it: the reloader stops when the run is over.
    let mut batches = 0u32;
    let progress = move |_| {
        batches += 1;
        tick.send(()).unwrap();
        if batches % 10 == 0 {
            // Every tenth batch, the swaps asked for so far are waited for: the next batch is
            // scored by a newer version than every batch before it.
            installed.wait_past(batches);
        }
    };
    let lines = fanzha::Pipeline::new(Arc::clone(&live), options)
        .run(std::io::Cursor::new(input.into_bytes()), &mut out, progress)
        .unwrap();
    let swaps = reloader.join().unwrap();
    assert_eq!(lines, n);
    let out = String::from_utf8(out).unwrap();
    let mut versions = std::collections::BTreeSet::new();
    let mut count = 0;
    let mut last = 0;
    for (i, line) in out.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], format!("e{i}"), "every line once, in order");
        let version = version_of(v["rules"].as_str().unwrap());
        // Batches are scored in input order, each by the set current when it starts.
        assert!(version >= last, "line {i}: version {version} after {last}");
        last = version;
        let scored = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["rule"] == "live.r")
            .map_or(0, |h| h["score"].as_u64().unwrap());
        let expected = if i % 2 == 0 { points(version) as u64 } else { 0 };
        assert_eq!(scored, expected, "line {i}: a verdict is the work of the version it names");
        versions.insert(version);
        count += 1;
    }
    assert_eq!(count, n as usize);
    assert!(versions.iter().all(|&v| v <= swaps + 1), "only versions that were installed");
    assert!(versions.len() >= 3, "several versions should have scored: {versions:?}");
    // The window kept counting across reloads: every conversation's later orders hit it.
    assert!(out.matches("\"rule\":\"live.w\"").count() > (n as usize) / 4);
}

/// A script under way when the rules are reloaded is still caught: a `LiveMonitor` moves its
/// state to the new engine (the same rules, loaded again: swapped in, or read from a bundle by
/// `reload_path`), where a monitor made after the reload starts afresh and misses it. A broken
/// path keeps the running rules.
#[test]
fn a_live_monitor_keeps_a_script_under_way_across_reloads() {
    let script: Vec<Event> =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/messages.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| ["\"s1\"", "\"s2\"", "\"s3\""].iter().any(|id| l.contains(id)))
            .map(|l| Event::from_json(l).unwrap())
            .collect();
    assert_eq!(script.len(), 3);
    let dir = std::env::temp_dir().join(format!("fanzha-live-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("rules.fzb");
    let bytes = Engine::bundled().unwrap().to_bundle();
    std::fs::write(&bundle, &bytes).unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[pack]\nid = \"x\"\n[[rule]]\n").unwrap();

    let live = LiveEngine::new(Engine::bundled().unwrap());
    let mut monitor = LiveMonitor::new(&live);
    for e in &script[..2] {
        assert!(monitor.observe(e).level < Level::Warn, "{:?} alone", e.id());
    }
    live.swap(Engine::from_bundle(&bytes).unwrap());
    assert!(live.reload_path(&broken).is_err());
    live.reload_path(&bundle).unwrap();
    let fresh = LiveMonitor::new(&live).observe(&script[2]);
    assert!(fresh.level < Level::Warn, "a monitor made after the reload has not seen the script");
    let verdict = monitor.observe(&script[2]);
    assert!(
        verdict.level >= Level::Warn,
        "the script's last message after two reloads: {}",
        verdict.to_json()
    );
    std::fs::remove_dir_all(&dir).ok();
}
