//! `monitor`: windows and sequences over any sequence of events.
//!
//! The bytes are decoded into up to 24 events from a small vocabulary: messages with scripts
//! the stateful rules look for, transactions with amounts from zero to absurd (negative,
//! huge, strings: those must fail to read, never panic), a few conversations, senders,
//! payers, payees and merchants, and times that advance, repeat, go back a little or a lot,
//! or jump to the ends of the range (epoch milliseconds and RFC 3339 with offsets). The events
//! that read go through a [`Monitor`] one by one with [`Monitor::observe`], and through a
//! second monitor in batches cut where the bytes say with [`Monitor::observe_batch`]: one
//! verdict per event, its id the event's, each keeping the verdict contract, and the two
//! monitors agreeing verdict for verdict (the monitor's promise: batches do not change
//! verdicts). Rules: the bundled packs (with `rules/streams.toml`'s windows and sequences),
//! or a small pack of short windows and sequences that the vocabulary reaches quickly, with
//! the default limits or limits so tight that keys are evicted and go idle all along.

use std::sync::OnceLock;
use std::time::Duration;

use fanzha::{Engine, Event, Monitor, MonitorConfig, RuleSet, Verdict};

use crate::{bundled, check_verdict, Bytes};

/// Short windows and sequences over the vocabulary below.
pub(crate) const PACK: &str = r#"
[pack]
id = "f"
version = "1"
pinyin = false

[[rule]]
id = "f.order"
title = "order"
category = "order"
points = 10
when = { any = ["出票", "大乐透", "万"] }

[[rule]]
id = "f.later"
title = "later"
category = "later"
points = 0
when = { any = ["等下", "截图", "一起结"] }

[[rule]]
id = "f.order-then-later"
title = "order, then later"
category = "script"
points = 40
sequence = { key = "conversation", within = "10m", steps = ["rule:f.order", "!category:paid", "rule:f.later"] }

[[rule]]
id = "f.paid"
title = "paid"
category = "paid"
points = 0
when = { any = ["到账了", "收到了"] }

[[rule]]
id = "f.burst"
title = "burst"
category = "burst"
kinds = ["transaction"]
points = 30
when = { field = { name = "remote", eq = true } }
window = { key = "merchant", within = "2m", count = { ge = 2 }, sum = { ge = 100 } }

[[rule]]
id = "f.new-payers"
title = "new payers"
category = "burst"
kinds = ["transaction"]
points = 25
when = { field = { name = "amount", gt = 10 } }
window = { key = "payee", within = "5m", new = "payer", distinct = { name = "payer", ge = 2 } }

[[rule]]
id = "f.lure-then-pay"
title = "lure, then pay"
category = "lure"
kinds = ["transaction"]
points = 50
when = { field = { name = "method", in = ["qr", "other"] } }
sequence = { key = "payer", within = "30m", new = "payee", steps = [{ rule = "f.new-payers", key = "payee" }] }
"#;

fn small() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let rules = RuleSet::from_str("f.toml", PACK).expect("the monitor target's pack loads");
        Engine::new(&rules).expect("the monitor target's pack compiles")
    })
}

const TEXTS: &[&str] = &[
    "这期大乐透帮我出三万",
    "好的，等下一起结",
    "我是做工程的，老板让我来",
    "先出票，我等下转你",
    "截图发你了，银行延迟到账",
    "扫我的码就能收款",
    "帮我出了发个照片",
    "到账了，谢谢",
    "民警提醒：冒充大客户让你先出票的千万别信",
    "来两份酸辣粉",
    "",
    "工地订四十份盒饭，先帮我们买两条中华一起结",
];
const KEYS: &[&str] = &["a", "b", "c"];
/// 2025-05-19T00:00:00Z.
const BASE: i64 = 1_747_612_800_000;
const STEPS_MS: &[i64] = &[0, 0, 1_000, 30_000, 61_000, 301_000, 1_860_000, 7_200_000, 90_000_000];
const BACK_MS: &[i64] = &[1_000, 10_000, 360_000, 86_400_000];
const EXTREME_TS: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "253402300799999",
    "-62135596800000",
    "1e20",
    "1.5",
    "\"1970-01-01T00:00:00Z\"",
    "\"9999-12-31T23:59:59.999+14:00\"",
    "\"0000-01-01T00:00:00-12:00\"",
    "\"2025-05-19 10:00\"",
];
const AMOUNTS: &[&str] = &[
    "0",
    "0.01",
    "33.33",
    "88",
    "999.99",
    "1000",
    "3000",
    "5000",
    "5000.01",
    "8000",
    "20000",
    "99999.99",
    "1e7",
    "1e13",
    "-0.0",
    "1e-9",
    "-1",
    "10000000000000.01",
    "1e300",
    "\"NaN\"",
    "\"8000\"",
    "true",
    "null",
];
/// Where the amounts that cannot be read start in [`AMOUNTS`].
const BAD_AMOUNTS: usize = 16;
const METHODS: &[&str] = &["qr", "transfer", "card", "cash", "other", "bank"];

/// One event as a JSON line; `clock` is the time the stream has reached.
fn event(b: &mut Bytes, i: usize, clock: &mut i64) -> String {
    let choice = b.byte();
    let ts = match choice & 7 {
        0 => None,
        1..=4 => {
            *clock += b.pick(STEPS_MS);
            Some(clock.to_string())
        }
        5 => Some((*clock - b.pick(BACK_MS)).to_string()),
        6 => {
            *clock += b.pick(STEPS_MS);
            let offset = b.pick(&["+08:00", "Z", "-05:00", "+14:00"]);
            let secs = *clock / 1000 - BASE / 1000;
            let offset_secs = match *offset {
                "+08:00" => 8 * 3600,
                "-05:00" => -5 * 3600,
                "+14:00" => 14 * 3600,
                _ => 0,
            };
            let t = secs + offset_secs;
            let (day, rest) = (t.div_euclid(86_400), t.rem_euclid(86_400));
            Some(format!(
                "\"2025-05-{:02}T{:02}:{:02}:{:02}{offset}\"",
                (19 + day).clamp(1, 28),
                rest / 3600,
                rest / 60 % 60,
                rest % 60
            ))
        }
        _ => Some(b.pick(EXTREME_TS).to_string()),
    };
    let id = match choice >> 3 & 3 {
        0 => String::new(),
        1 => format!(",\"id\":{i}"),
        _ => format!(",\"id\":\"e{i}\""),
    };
    let ts = ts.map(|t| format!(",\"ts\":{t}")).unwrap_or_default();
    let key = |b: &mut Bytes| *b.pick(KEYS);
    if choice >> 5 & 3 != 0 {
        format!(
            r#"{{"kind":"message"{id}{ts},"channel":"wechat","conversation":"{}","sender":"{}","merchant":"{}","text":{:?}}}"#,
            key(b),
            key(b),
            key(b),
            b.pick(TEXTS)
        )
    } else {
        format!(
            r#"{{"kind":"transaction"{id}{ts},"merchant":"{}","payer":"{}","payee":"{}","amount":{},"method":"{}","remote":{},"memo":{:?}}}"#,
            key(b),
            key(b),
            key(b),
            b.pick(AMOUNTS),
            b.pick(METHODS),
            b.byte() & 1 == 0,
            b.pick(&["", "大乐透", "保证金", "房租", "走流水"])
        )
    }
}

pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let setup = b.byte();
    let engine = if setup & 1 == 0 { bundled() } else { small() };
    let config = if setup & 2 == 0 {
        MonitorConfig::default()
    } else {
        MonitorConfig {
            max_keys: 2,
            max_events_per_key: 2,
            idle: Duration::from_secs(600),
            lateness: Duration::from_secs(u64::from(setup >> 2 & 3) * 60),
            ..MonitorConfig::default()
        }
    };
    let mut clock = BASE;
    let mut events = Vec::new();
    let mut cuts = Vec::new();
    let mut i = 0;
    while !b.is_empty() && events.len() < 24 {
        i += 1;
        let line = event(&mut b, i, &mut clock);
        match Event::from_json(&line) {
            Ok(e) => {
                events.push(e);
                if b.byte() & 3 == 0 {
                    cuts.push(events.len());
                }
            }
            Err(_) => {
                // Only the vocabulary's bad amounts and times fail to read.
                assert!(
                    AMOUNTS[BAD_AMOUNTS..].iter().any(|a| line.contains(&format!("\"amount\":{a},")))
                        || EXTREME_TS.iter().any(|t| line.contains(&format!("\"ts\":{t},"))),
                    "a good event failed to read: {line}"
                );
            }
        }
    }

    let mut one = Monitor::with_config(engine.clone(), config.clone());
    let singly: Vec<Verdict> = events.iter().map(|e| one.observe(e)).collect();
    let mut batched = Monitor::with_config(engine.clone(), config);
    let mut in_batches = Vec::new();
    let mut from = 0;
    for to in cuts.into_iter().chain([events.len()]) {
        let vs = batched.observe_batch(&events[from..to]);
        assert_eq!(vs.len(), to - from, "one verdict per event of a batch");
        in_batches.extend(vs);
        from = to;
    }
    assert_eq!(singly.len(), events.len());
    for (k, ((e, v), w)) in events.iter().zip(&singly).zip(&in_batches).enumerate() {
        assert_eq!(v.id.as_deref(), e.id(), "verdict {k}'s id");
        check_verdict(v, e.text(), engine.levels(), false);
        for h in &v.hits {
            if let Some(last) = h.events.last() {
                assert!(!v.late, "a late event completed {}", h.rule);
                assert!(
                    e.id().map_or(last.starts_with('#'), |id| last == id),
                    "hit {} of event {k} ends with {last}, not this event",
                    h.rule
                );
            }
        }
        assert_eq!(v, w, "event {k}: one by one and in batches differ");
    }
    let stats = one.stats();
    assert_eq!(stats.events as usize, events.len(), "events counted");
}
