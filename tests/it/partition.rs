//! Scaling out: a stream split by `Partitioning`, scored by one monitor per partition and
//! merged, gives the verdicts of one monitor over the whole stream.

use fanzha::{
    Engine, Event, Monitor, MonitorConfig, Observed, Partitioning, Placement, RuleSet, StatefulHit,
    StreamClock, Verdict,
};

/// A small deterministic generator (xorshift), so every run sees the same streams.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SCRIPTS: &[&str] = &[
    "这期大乐透帮我出三万",
    "好的，等下一起结",
    "老細，幫我打伍萬蚊嘅六合彩",
    "截咗圖俾你，銀行延遲",
    "老板你好，我们是隔壁工地做工程的",
    "帮我出两万的大乐透",
    "转账截图发你了",
    "搞快点打出来嘛",
    "这期双色球来五万块的",
    "我们工地明天中午订150份盒饭",
    "顺便帮我们买十条烟，钱你先垫一下",
    "我先付款，你查一下到账再出",
    "收到了，马上打出来",
    "来两份酸辣粉",
    "今天几点关门？",
    "老板先出票，钱马上转",
];
const LURES: &[&str] = &["你的收款码被限制了，扫这个二维码重新认证一下", "扫我的码就能收款，钱直接到你账上"];

/// A mixed stream: chat in a few conversations, QR lures in shops' chats, remote orders to a
/// few merchants, small transfers gathering on collection codes that then pay out, events
/// without ids or times, and some that arrive late.
fn stream(seed: u64, n: usize) -> Vec<Event> {
    let mut r = Rng(seed | 1);
    let base: i64 = 1_736_128_800_000; // 2025-01-06T02:00:00Z
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let mut t = base + i as i64 * 40_000;
        if r.below(20) == 0 {
            t -= 10 * 60_000; // late: ten minutes behind
        }
        let mut v = match r.below(10) {
            0..=3 => serde_json::json!({
                "kind": "message",
                "conversation": format!("c{}", r.below(12)),
                "text": r.pick(SCRIPTS),
            }),
            4 => serde_json::json!({
                "kind": "message",
                "merchant": format!("shop{}", r.below(4)),
                "text": r.pick(LURES),
            }),
            5 => {
                let shop = format!("shop{}", r.below(4));
                serde_json::json!({
                    "kind": "transaction", "merchant": shop, "payer": shop,
                    "payee": format!("x{}", r.below(30)), "amount": 100 + r.below(3000),
                    "method": r.pick(&["qr", "transfer", "cash"]), "remote": true,
                })
            }
            6 | 7 => serde_json::json!({
                "kind": "transaction",
                "merchant": format!("m{}", r.below(3)),
                "payer": format!("a{}", r.below(40)),
                "amount": 4000 + r.below(12000),
                "remote": r.below(4) != 0,
                "method": "transfer",
            }),
            8 => serde_json::json!({
                "kind": "transaction",
                "payee": format!("code{}", r.below(2)),
                "payer": format!("a{}", r.below(40)),
                "amount": 50 + r.below(950),
                "remote": true,
            }),
            _ => serde_json::json!({
                "kind": "transaction",
                "payer": format!("code{}", r.below(2)),
                "payee": format!("far{}", r.below(50)),
                "amount": 3000 + r.below(5000),
                "remote": true,
                "method": "transfer",
            }),
        };
        if r.below(10) != 0 {
            v["id"] = format!("e{i}").into();
        }
        if r.below(15) != 0 {
            v["ts"] = t.into();
        }
        events.push(Event::from_value(v).unwrap());
    }
    events
}

/// Scores `events` as a cluster would: one clock over the stream, each event to the
/// partitions of its route, one monitor per partition fed in input order in batches of
/// `batch`, and the events of several partitions merged.
fn partitioned(engine: &Engine, events: &[Event], partitions: u32, batch: usize) -> (Vec<Verdict>, usize) {
    let parts = Partitioning::new(engine, partitions).unwrap();
    let mut clock = StreamClock::new(&MonitorConfig::default());
    let placed: Vec<Placement> = events.iter().map(|e| clock.place(e)).collect();
    let routes: Vec<Vec<u32>> = events.iter().zip(&placed).map(|(e, p)| parts.route(e, p.seq)).collect();
    // Per event, what each of its partitions made of it.
    let mut observed: Vec<Vec<Observed>> = vec![Vec::new(); events.len()];
    for p in 0..partitions {
        let mine: Vec<usize> = (0..events.len()).filter(|&i| routes[i].contains(&p)).collect();
        let mut monitor = Monitor::with_partition(engine.clone(), MonitorConfig::default(), &parts, p);
        for chunk in mine.chunks(batch) {
            let evs: Vec<Event> = chunk.iter().map(|&i| events[i].clone()).collect();
            let pls: Vec<Placement> = chunk.iter().map(|&i| placed[i]).collect();
            for (&i, o) in chunk.iter().zip(monitor.observe_placed(&evs, &pls)) {
                observed[i].push(o);
            }
        }
    }
    let mut multi = 0;
    let mut scanner = engine.scanner();
    let verdicts = events
        .iter()
        .zip(observed)
        .zip(&placed)
        .map(|((e, mut obs), p)| {
            if obs.len() == 1 {
                return obs.pop().unwrap().verdict;
            }
            multi += 1;
            let stateful: Vec<StatefulHit> = obs.into_iter().flat_map(|o| o.stateful).collect();
            // Both ways to merge: a reused scanner, and the engine's one-off.
            let v = scanner.merge(e, p.late, &stateful);
            if multi % 50 == 1 {
                assert_eq!(engine.merge(e, p.late, &stateful), v);
            }
            v
        })
        .collect();
    (verdicts, multi)
}

/// Window and sequence hits are the ones that list their events.
fn stateful_hits(v: &Verdict) -> usize {
    v.hits.iter().filter(|h| !h.events.is_empty()).count()
}

#[test]
fn partitioned_streams_give_the_verdicts_of_one_monitor() {
    let engine = Engine::bundled().unwrap();
    let mut found = 0;
    let mut merged_with_state = 0;
    for seed in 1..=4u64 {
        let events = stream(seed * 7919, 1500);
        let whole = Monitor::new(engine.clone()).observe_batch(&events);
        for v in &whole {
            found += stateful_hits(v);
        }
        for (partitions, batch) in [(1, 1500), (2, 64), (3, 1), (5, 200), (8, 33)] {
            let (split, multi) = partitioned(&engine, &events, partitions, batch);
            assert!(partitions == 1 || multi > 0, "no event went to several partitions");
            for (i, (a, b)) in whole.iter().zip(&split).enumerate() {
                assert_eq!(a, b, "seed {seed}, {partitions} partitions, batch {batch}: event {i} differs");
            }
            assert_eq!(whole.len(), split.len());
        }
        // Events in several partitions whose verdict has a window or sequence hit: the merge
        // is what found it.
        let parts = Partitioning::new(&engine, 8).unwrap();
        let mut clock = StreamClock::new(&MonitorConfig::default());
        for (e, v) in events.iter().zip(&whole) {
            let p = clock.place(e);
            if parts.route(e, p.seq).len() > 1 && stateful_hits(v) > 0 {
                merged_with_state += 1;
            }
        }
    }
    // The streams exercise what they claim to.
    assert!(found > 100, "only {found} window and sequence hits");
    assert!(merged_with_state > 10, "only {merged_with_state} merged events with window or sequence hits");
}

#[test]
fn a_monitor_fed_its_own_clock_is_the_plain_monitor() {
    let engine = Engine::bundled().unwrap();
    let events = stream(42, 800);
    let whole = Monitor::new(engine.clone()).observe_batch(&events);
    let mut clock = StreamClock::new(&MonitorConfig::default());
    let placed: Vec<Placement> = events.iter().map(|e| clock.place(e)).collect();
    assert!(placed.iter().any(|p| p.late), "the stream has late events");
    let mut monitor = Monitor::new(engine);
    let observed = monitor.observe_placed(&events, &placed);
    let verdicts: Vec<&Verdict> = observed.iter().map(|o| &o.verdict).collect();
    assert_eq!(verdicts, whole.iter().collect::<Vec<_>>());
    assert_eq!(monitor.stats().late, placed.iter().filter(|p| p.late).count() as u64);
}

#[test]
fn the_bundled_packs_partition_by_their_parties() {
    let engine = Engine::bundled().unwrap();
    let parts = Partitioning::new(&engine, 8).unwrap();
    let fields: Vec<&str> = parts.fields().iter().map(|f| &**f).collect();
    assert_eq!(fields, ["conversation", "merchant", "payee", "payer", "sender"]);
    // FNV-1a (64-bit) of the value's text, modulo N: the vectors other languages check against.
    let thousand = Partitioning::new(&engine, 1000).unwrap();
    assert_eq!(thousand.partition_of("a"), 996);
    assert_eq!(thousand.partition_of("foobar"), 968);
    assert_eq!(thousand.partition_of("商户7"), 675);
    // A number keys by its decimal text.
    let e = Event::from_json(r#"{"kind":"transaction","payer":42,"payee":"c1","amount":5}"#).unwrap();
    assert_eq!(parts.route(&e, 9), [parts.partition_of("c1"), parts.partition_of("42")]);
    let mut sorted = parts.route(&e, 9);
    sorted.sort();
    assert_eq!(parts.route(&e, 9), sorted);
    // Without a key value, the position spreads the event.
    let plain = Event::from_json(r#"{"kind":"message","text":"你好"}"#).unwrap();
    assert_eq!(parts.route(&plain, 13), [13 % 8]);
    assert!(Partitioning::new(&engine, 0).is_err());
}

const SPLIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/partition/split.toml");

#[test]
fn a_step_that_needs_a_window_keyed_by_another_field_is_refused() {
    let rules = RuleSet::from_path(SPLIT).unwrap();
    let engine = Engine::new(&rules).unwrap();
    let err = Partitioning::new(&engine, 4).unwrap_err().to_string();
    assert!(err.contains("split.fan-out"), "{err}");
    assert!(err.contains("`merchant`") && err.contains("`payee`"), "{err}");
    assert!(err.contains("key = \"payee\""), "{err}");
    // One partition cannot split anything, but the check is about the rules, not N.
    assert!(Partitioning::new(&engine, 1).is_err());
}
