//! Rule sets swapped while several threads score: every event is scored exactly once, by
//! exactly one rule-set version, and the verdict is that version's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fanzha::{Engine, LiveEngine, RuleSet};

fn pack(version: u32, points: u32) -> RuleSet {
    RuleSet::from_str(
        "live.toml",
        &format!(
            "[pack]\nid = \"live\"\nversion = \"{version}\"\n[[rule]]\nid = \"live.r\"\ntitle = \"r\"\ncategory = \"c\"\npoints = {points}\nwhen = {{ any = [\"先出票\"] }}\n"
        ),
    )
    .unwrap()
}

#[test]
fn reloads_under_load_score_every_event_once_with_one_version() {
    let live = Arc::new(LiveEngine::new(Engine::new(&pack(1, 10)).unwrap()));
    let done = Arc::new(AtomicBool::new(false));
    let reloader = {
        let (live, done) = (Arc::clone(&live), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut swaps, mut rejected) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let v = swaps % 2 + 1;
                live.reload(&pack(v, v * 10)).unwrap();
                swaps += 1;
                // A set that fails to compile never replaces the running one.
                let bad = RuleSet::from_str(
                    "bad.toml",
                    "[pack]\nid = \"live\"\nversion = \"9\"\n[[rule]]\nid = \"x\"\n",
                );
                if bad.and_then(|r| live.reload(&r)).is_err() {
                    rejected += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (swaps, rejected)
        })
    };
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let live = Arc::clone(&live);
            std::thread::spawn(move || {
                let mut scanner = live.scanner();
                let mut seen = Vec::new();
                for i in 0..20_000 {
                    let text = if (i + w) % 2 == 0 { "老板先出票" } else { "今天天气好" };
                    let (v, version) = scanner.scan_text(text);
                    seen.push((text, v.score, version.to_string()));
                }
                seen
            })
        })
        .collect();
    let mut verdicts = 0;
    let mut versions = std::collections::BTreeSet::new();
    for w in workers {
        for (text, score, version) in w.join().unwrap() {
            verdicts += 1;
            let v: u32 = version.strip_prefix("live@").unwrap().parse().unwrap();
            assert!(v == 1 || v == 2, "version {version}");
            let expected = if text == "老板先出票" { v * 10 } else { 0 };
            assert_eq!(score, expected, "a verdict must be the work of the version it names");
            versions.insert(v);
        }
    }
    done.store(true, Ordering::Relaxed);
    let (swaps, rejected) = reloader.join().unwrap();
    assert_eq!(verdicts, 60_000);
    assert!(swaps > 0 && rejected == swaps, "{swaps} swaps, {rejected} rejected");
    assert!(versions.len() == 2 || swaps < 2, "both versions should have scored events: {versions:?}");
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
    let live = Arc::new(LiveEngine::new(Engine::new(&pack(1, 10)).unwrap()));
    let done = Arc::new(AtomicBool::new(false));
    let reloader = {
        let (live, done) = (Arc::clone(&live), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !done.load(Ordering::Relaxed) {
                let v = swaps % 2 + 1;
                live.reload(&pack(v, v * 10)).unwrap();
                swaps += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
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
        fanzha::PipelineOptions { threads: 3, batch: 500, with_version: true, ..Default::default() };
    let mut out = Vec::new();
    let lines = fanzha::Pipeline::new(Arc::clone(&live), options)
        .run(std::io::Cursor::new(input.into_bytes()), &mut out, |_| {})
        .unwrap();
    done.store(true, Ordering::Relaxed);
    let swaps = reloader.join().unwrap();
    assert_eq!(lines, n);
    let out = String::from_utf8(out).unwrap();
    let mut versions = std::collections::BTreeSet::new();
    let mut count = 0;
    for (i, line) in out.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], format!("e{i}"), "every line once, in order");
        let version: u64 = v["rules"].as_str().unwrap().strip_prefix("live@").unwrap().parse().unwrap();
        let points = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["rule"] == "live.r")
            .map_or(0, |h| h["score"].as_u64().unwrap());
        let expected = if i % 2 == 0 { version * 10 } else { 0 };
        assert_eq!(points, expected, "line {i}: a verdict is the work of the version it names");
        versions.insert(version);
        count += 1;
    }
    assert_eq!(count, n as usize);
    assert!(versions.len() == 2 || swaps < 2, "both versions should have scored: {versions:?}");
    // The window kept counting across reloads: every conversation's later orders hit it.
    assert!(out.matches("\"rule\":\"live.w\"").count() > (n as usize) / 4);
}
