//! The monitor: windows and sequences over streams, batch and thread invariance, lateness,
//! bounded state, reloads that keep state, and the blind mixed streams.

use fanzha::{Engine, Event, Level, Monitor, MonitorConfig, RuleSet};

fn engine(rules: &str) -> Engine {
    let src = format!("[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n{rules}");
    Engine::new(&RuleSet::from_str("t.toml", &src).unwrap()).unwrap()
}

fn ev(json: &str) -> Event {
    Event::from_json(json).unwrap()
}

const VELOCITY: &str = r#"
[[rule]]
id = "t.velocity"
title = "v"
category = "c"
kinds = ["transaction"]
points = 70
when = { field = { name = "remote", eq = true } }
window = { key = "merchant", within = "10m", count = { ge = 3 }, sum = { ge = 100 } }
"#;

fn order(id: &str, minute: u32, amount: f64) -> Event {
    ev(&format!(
        r#"{{"kind":"transaction","id":"{id}","ts":"2025-05-19T10:{minute:02}:00+08:00","merchant":"m","payer":"{id}","amount":{amount},"remote":true}}"#
    ))
}

#[test]
fn windows_count_and_sum_exactly_and_name_their_events() {
    let mut m = Monitor::new(engine(VELOCITY));
    // 33.33 + 33.33 + 33.34 is 100.00 yuan exactly, whatever floats make of it.
    assert!(m.observe(&order("a", 0, 33.33)).hits.is_empty());
    assert!(m.observe(&order("b", 1, 33.33)).hits.is_empty());
    let v = m.observe(&order("c", 2, 33.34));
    assert_eq!(v.level, Level::Warn);
    assert_eq!(v.hits[0].events, ["a", "b", "c"]);
    let mut m = Monitor::new(engine(VELOCITY));
    m.observe(&order("a", 0, 33.33));
    m.observe(&order("b", 1, 33.33));
    assert!(m.observe(&order("c", 2, 33.33)).hits.is_empty(), "99.99 yuan is under 100");
    // Outside the window the first order no longer counts.
    let mut m = Monitor::new(engine(VELOCITY));
    m.observe(&order("a", 0, 50.0));
    m.observe(&order("b", 5, 50.0));
    assert!(m.observe(&order("c", 11, 50.0)).hits.is_empty());
    assert_eq!(m.observe(&order("d", 12, 50.0)).hits[0].events, ["b", "c", "d"]);
}

#[test]
fn verdicts_do_not_depend_on_batches_or_threads() {
    let input = super::mixed::mixed_stream(3);
    let events: Vec<Event> =
        String::from_utf8(input).unwrap().lines().filter_map(|l| Event::from_json(l).ok()).collect();
    let engine = Engine::bundled().unwrap();
    // Default limits, and limits so tight that keys are evicted and dropped as idle all along.
    let tight = MonitorConfig {
        max_keys: 300,
        max_events_per_key: 4,
        idle: std::time::Duration::from_secs(1800),
        ..MonitorConfig::default()
    };
    for config in [MonitorConfig::default(), tight] {
        let one_by_one: Vec<String> = {
            let mut m = Monitor::with_config(engine.clone(), config.clone());
            events.iter().map(|e| m.observe(e).to_json()).collect()
        };
        assert!(one_by_one.iter().any(|v| v.contains("\"events\":[")));
        for (threads, batch) in [(1, 1000), (2, 7), (8, 256), (3, events.len())] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut m = Monitor::with_config(engine.clone(), config.clone());
            let out: Vec<String> = pool.install(|| {
                events.chunks(batch).flat_map(|c| m.observe_batch(c)).map(|v| v.to_json()).collect()
            });
            assert!(out == one_by_one, "{threads} threads, batches of {batch}, {config:?}");
        }
    }
}

#[test]
fn out_of_order_events_within_lateness_count_and_later_ones_are_marked() {
    let config = MonitorConfig { lateness: std::time::Duration::from_secs(120), ..MonitorConfig::default() };
    let mut m = Monitor::with_config(engine(VELOCITY), config.clone());
    m.observe(&order("a", 5, 50.0));
    // One minute behind the clock: within lateness, takes its place in time.
    let b = m.observe(&order("b", 4, 50.0));
    assert!(!b.late);
    let c = m.observe(&order("c", 6, 50.0));
    assert_eq!(c.hits[0].events, ["b", "a", "c"], "events in time order");

    let mut m = Monitor::with_config(engine(VELOCITY), config);
    m.observe(&order("a", 10, 50.0));
    m.observe(&order("b", 11, 50.0));
    // Nine minutes behind: late. Scored on its own (so still a verdict), never counted.
    let late = m.observe(&order("c", 2, 50.0));
    assert!(late.late && late.hits.is_empty());
    assert!(late.to_json().ends_with(",\"late\":true}"));
    assert!(m.observe(&order("d", 12, 50.0)).hits[0].events == ["a", "b", "d"]);
    assert_eq!(m.stats().late, 1);
    // A late event's stateless hits still stand.
    let mut m = Monitor::new(Engine::bundled().unwrap());
    m.observe(&ev(r#"{"kind":"message","ts":"2025-05-19T12:00:00+08:00","text":"你好"}"#));
    let v = m.observe(&ev(
        r#"{"kind":"message","ts":"2025-05-19T08:00:00+08:00","text":"老板先帮我出五万的票，钱等下转你"}"#,
    ));
    assert!(v.late && v.level >= Level::Warn);
}

#[test]
fn sequences_need_their_steps_in_order_without_a_negated_step_between() {
    let e = engine(
        r#"
[[rule]]
id = "t.claim"
title = "claim"
category = "claim"
points = 0
when = { any = ["大客户"] }
[[rule]]
id = "t.paid"
title = "paid"
category = "paid"
points = 0
when = { any = ["到账了"] }
[[rule]]
id = "t.later"
title = "later"
category = "later"
points = 0
when = { any = ["等下转"] }
[[rule]]
id = "t.script"
title = "s"
category = "fake_large_order"
points = 65
sequence = { key = "conversation", within = "1h", steps = ["rule:t.claim", "!category:paid", "rule:t.later"] }
"#,
    );
    let msg = |c: &str, min: u32, text: &str| {
        ev(&format!(
            r#"{{"kind":"message","id":"{c}{min}","conversation":"{c}","ts":"2025-05-19T10:{min:02}:00+08:00","text":"{text}"}}"#
        ))
    };
    let mut m = Monitor::new(e);
    assert!(m.observe(&msg("a", 0, "我是大客户")).hits.is_empty(), "markers never show");
    let v = m.observe(&msg("a", 5, "钱等下转"));
    assert_eq!((v.level, v.hits[0].events.clone()), (Level::Warn, vec!["a0".to_string(), "a5".to_string()]));
    assert_eq!(v.hits[0].evidence, ["等下转"], "evidence of the last step");
    // The wrong order, another conversation, a payment seen in between, or too late: no hit.
    assert!(m.observe(&msg("b", 0, "钱等下转")).hits.is_empty());
    assert!(m.observe(&msg("b", 1, "我是大客户")).hits.is_empty());
    assert!(m.observe(&msg("c", 2, "钱等下转")).hits.is_empty());
    m.observe(&msg("d", 3, "我是大客户"));
    m.observe(&msg("d", 4, "到账了"));
    assert!(m.observe(&msg("d", 5, "钱等下转")).hits.is_empty());
    // A step that arrives late, within the lateness, takes its place in time for later events.
    m.observe(&msg("f", 5, "钱等下转"));
    assert!(!m.observe(&msg("f", 3, "我是大客户")).late);
    assert_eq!(m.observe(&msg("f", 6, "钱等下转")).hits[0].events, ["f3", "f6"]);
    let mut m2 = Monitor::new(m.engine().clone());
    m2.observe(&msg("e", 0, "我是大客户"));
    let far =
        ev(r#"{"kind":"message","conversation":"e","ts":"2025-05-19T11:30:00+08:00","text":"钱等下转"}"#);
    assert!(m2.observe(&far).hits.is_empty());
}

#[test]
fn state_stays_under_its_caps_with_a_million_senders() {
    let e = engine(
        r#"
[[rule]]
id = "t.burst"
title = "b"
category = "c"
kinds = ["transaction"]
points = 40
when = { field = { name = "amount", ge = 0 } }
window = { key = "sender", within = "1h", count = { ge = 5 } }
"#,
    );
    let config = MonitorConfig { max_keys: 10_000, max_events_per_key: 8, ..MonitorConfig::default() };
    let mut m = Monitor::with_config(e, config);
    let mut peak = 0;
    for block in 0..100u64 {
        let events: Vec<Event> = (0..10_000u64)
            .map(|i| {
                let n = block * 10_000 + i;
                Event::from_value(serde_json::json!({
                    "kind": "transaction", "amount": 1, "sender": format!("s{n}"),
                    "ts": 1_747_612_800_000u64 + n,
                }))
                .unwrap()
            })
            .collect();
        m.observe_batch(&events);
        peak = peak.max(m.stats().state_bytes);
    }
    let s = m.stats();
    assert_eq!(s.events, 1_000_000);
    assert!(s.keys <= 10_000 + 64, "{} keys", s.keys);
    assert!(s.evicted >= 990_000 - 64, "{} evicted", s.evicted);
    // The documented figure: under 1 KiB per key with a one-entry window.
    assert!(peak < 10_064 * 1024, "{peak} bytes at peak for {} keys", s.keys);
    println!("state: {} keys, {} bytes ({} per key)", s.keys, s.state_bytes, s.state_bytes / s.keys.max(1));
}

#[test]
fn idle_keys_are_dropped_as_the_clock_passes_them() {
    let config = MonitorConfig { idle: std::time::Duration::from_secs(3600), ..MonitorConfig::default() };
    let mut m = Monitor::with_config(engine(VELOCITY), config);
    let at = |merchant: &str, hhmm: &str| {
        ev(&format!(
            r#"{{"kind":"transaction","ts":"2025-05-19T{hhmm}:00+08:00","merchant":"{merchant}","amount":50,"remote":true}}"#
        ))
    };
    for i in 0..20 {
        m.observe(&at(&format!("m{i}"), "10:00"));
    }
    assert_eq!(m.stats().keys, 20);
    m.observe(&at("other", "10:59"));
    assert_eq!(m.stats().keys, 21, "not idle for an hour yet");
    m.observe(&at("other", "11:01"));
    let s = m.stats();
    assert_eq!((s.keys, s.evicted), (1, 20), "the twenty went idle at 11:00");
}

#[test]
fn reloads_keep_the_state_of_unchanged_rules() {
    let mut m = Monitor::new(engine(VELOCITY));
    m.observe(&order("a", 0, 50.0));
    m.observe(&order("b", 1, 50.0));
    // Same rule, new pack version: the two orders still count.
    let same = VELOCITY.to_string() + "\n[[rule]]\nid = \"t.other\"\ntitle = \"o\"\ncategory = \"c\"\npoints = 1\nwhen = { any = [\"x\"] }\n";
    m.set_engine(engine(&same));
    assert_eq!(m.observe(&order("c", 2, 50.0)).hits[0].events, ["a", "b", "c"]);
    // A changed window starts afresh.
    m.set_engine(engine(&VELOCITY.replace("count = { ge = 3 }", "count = { ge = 2 }")));
    assert!(m.observe(&order("d", 3, 50.0)).hits.is_empty());
    assert_eq!(m.observe(&order("e", 4, 50.0)).hits[0].events, ["d", "e"]);
}

#[test]
fn blind_mixed_streams() {
    // Written by people who never saw the rules: multi-message scams, QR lures followed by a
    // payment, velocity and fan-in/fan-out, busy ordinary days and publicity. `blind2` was
    // written after the packs; its first contact was 30/43 alerts and 2/182 quiet events warned.
    for name in ["blind", "blind2"] {
        let path = format!("{}/tests/data/streams/{name}.jsonl", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        let values: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let events: Vec<Event> = values.iter().map(|v| Event::from_value(v.clone()).unwrap()).collect();
        let engine = Engine::bundled().unwrap();
        let verdicts = Monitor::new(engine.clone()).observe_batch(&events);
        let (mut alerts, mut caught, mut quiet, mut false_alarms, mut only_stateful) = (0, 0, 0, 0, 0);
        for ((v, e), verdict) in values.iter().zip(&events).zip(&verdicts) {
            let alarm = verdict.level >= Level::Warn;
            match v["expect"].as_str().unwrap() {
                "alert" => {
                    alerts += 1;
                    caught += alarm as usize;
                    only_stateful += (alarm && engine.scan(e).level < Level::Warn) as usize;
                    if !alarm {
                        println!("{name}: missed {}: {} {}", v["id"], verdict.level, verdict.score);
                    }
                }
                "quiet" => {
                    quiet += 1;
                    if alarm {
                        false_alarms += 1;
                        let rules: Vec<&str> = verdict.hits.iter().map(|h| &*h.rule).collect();
                        println!("{name}: false alarm {}: {rules:?}", v["id"]);
                    }
                }
                _ => {}
            }
        }
        println!(
            "{name}: {caught}/{alerts} alerts caught ({only_stateful} only through state), {false_alarms}/{quiet} quiet events warned"
        );
        assert!(caught * 100 >= alerts * 85, "{name}: {caught}/{alerts}");
        assert!(false_alarms * 100 <= quiet * 2, "{name}: {false_alarms}/{quiet}");
        assert!(
            only_stateful >= 8,
            "{name}: multi-event scams where no single event reaches warn: {only_stateful}"
        );
    }
}

#[test]
fn a_far_future_time_does_not_make_later_events_late() {
    let bogus = |max_ahead| {
        let config = MonitorConfig { max_ahead, ..MonitorConfig::default() };
        let mut m = Monitor::with_config(engine(VELOCITY), config);
        m.observe(&order("a", 0, 50.0));
        let far = r#"{"kind":"transaction","id":"x","ts":"2999-01-01T00:00:00Z","merchant":"m","payer":"x","amount":1,"remote":true}"#;
        m.observe(&ev(far));
        m.observe(&order("b", 1, 50.0))
    };
    // Taken as undated, the bogus event joins the window at the monitor's time.
    let v = bogus(MonitorConfig::default().max_ahead);
    assert!(!v.late);
    assert_eq!(v.level, Level::Warn);
    assert_eq!(v.hits[0].events, ["a", "x", "b"]);
    // Trusted, it moves the clock 974 years on and the next real event is late.
    assert!(bogus(None).late);
}

#[test]
fn times_outside_1970_to_9999_are_refused_when_read() {
    for ts in ["-1", "-9223372036854775808", "253402300800000", "\"0000-01-01T00:00:00Z\""] {
        let line = format!(r#"{{"kind":"message","text":"x","ts":{ts}}}"#);
        let e = Event::from_json(&line).unwrap_err().to_string();
        assert!(e.contains("from 1970 to 9999"), "{ts}: {e}");
    }
    for ts in ["0", "253402300799999", "\"9999-12-31T23:59:59.999Z\""] {
        let line = format!(r#"{{"kind":"message","text":"x","ts":{ts}}}"#);
        assert!(Event::from_json(&line).is_ok(), "{ts}");
    }
}
