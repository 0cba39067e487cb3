//! Criterion benches for the hot path: folding, scanning a short and a long message, a
//! monitor observing one event and a batch of mixed events, and compiling the bundled packs.
//! `cargo bench --bench scan`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fanzha::{fold, Engine, Event, Folded, Monitor, RuleSet};

const SHORT: &str = "老闆，先幫我出伍萬嘅票，錢等陣俾你";

fn long() -> String {
    let para = "今天店里生意不错，来买双色球和大乐透的人很多，有个老顾客说下周还要来。";
    let mut s = para.repeat(40);
    s.push_str("老板先出票，钱马上转你，我这边是做工程的，长期合作");
    s
}

fn benches(c: &mut Criterion) {
    let engine = Engine::bundled().unwrap();
    let long = long();

    let mut g = c.benchmark_group("fold");
    let mut buf = Folded::new();
    g.throughput(Throughput::Bytes(SHORT.len() as u64));
    g.bench_function("short", |b| b.iter(|| buf.fold_from(SHORT)));
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.bench_function("long", |b| b.iter(|| buf.fold_from(&long)));
    g.bench_function("fold_alloc_short", |b| b.iter(|| fold(SHORT)));
    g.finish();

    let mut g = c.benchmark_group("scan");
    let mut scanner = engine.scanner();
    g.throughput(Throughput::Elements(1));
    g.bench_function("short_hit", |b| b.iter(|| scanner.scan_text(SHORT)));
    g.bench_function("short_clean", |b| b.iter(|| scanner.scan_text("老板来两份酸辣粉，微信付过了")));
    g.bench_function("long", |b| b.iter(|| scanner.scan_text(&long)));
    g.finish();

    // A shop's day, a second apart: chat in 50 conversations, payments at 20 merchants from
    // 500 payers, a scam script now and then.
    let texts = [
        "老板来两份酸辣粉",
        "今天开奖了吗",
        "这期大乐透帮我出三万",
        "钱等下一起结",
        "好的谢谢",
        "明天几点开门",
    ];
    let mixed: Vec<serde_json::Value> = (0..4096u64)
        .map(|i| {
            let ts = 1_747_612_800_000u64 + i * 1000;
            let json = if i % 2 == 0 {
                serde_json::json!({"kind": "message", "id": format!("m{i}"), "ts": ts,
                    "conversation": format!("c{}", i % 50), "text": texts[(i / 2 % 6) as usize]})
            } else {
                serde_json::json!({"kind": "transaction", "id": format!("t{i}"), "ts": ts,
                    "merchant": format!("shop{}", i % 20), "payer": format!("u{}", i * 7 % 500),
                    "payee": format!("shop{}", i % 20), "amount": (i * 37 % 9000) as f64 + 0.5,
                    "remote": i % 3 == 0, "method": "qr"})
            };
            json
        })
        .collect();
    // Each round moves the day on, so events are never late and state keeps working.
    let mut round = 0u64;
    let mut next_day = |events: &[serde_json::Value]| -> Vec<Event> {
        round += 1;
        events
            .iter()
            .map(|v| {
                let mut v = v.clone();
                v["ts"] = (v["ts"].as_u64().unwrap() + round * 86_400_000).into();
                Event::from_value(v).unwrap()
            })
            .collect()
    };
    let mut g = c.benchmark_group("monitor");
    let mut monitor = Monitor::new(engine.clone());
    g.throughput(Throughput::Elements(1));
    let one = [mixed[4].clone(), mixed[1].clone()];
    g.bench_function("one_message", |b| {
        b.iter_batched(|| next_day(&one[..1]), |e| monitor.observe(&e[0]), BatchSize::SmallInput)
    });
    g.bench_function("one_transaction", |b| {
        b.iter_batched(|| next_day(&one[1..]), |e| monitor.observe(&e[0]), BatchSize::SmallInput)
    });
    g.throughput(Throughput::Elements(mixed.len() as u64));
    g.bench_function("batch_4096_mixed", |b| {
        b.iter_batched(|| next_day(&mixed), |e| monitor.observe_batch(&e), BatchSize::LargeInput)
    });
    // The same events scored one by one without state, for comparison.
    g.bench_function("stateless_4096_mixed", |b| {
        b.iter_batched(|| next_day(&mixed), |e| engine.scan_batch(&e), BatchSize::LargeInput)
    });
    g.finish();

    c.bench_function("compile_bundled", |b| b.iter(|| Engine::new(&RuleSet::bundled().unwrap()).unwrap()));
}

criterion_group!(group, benches);
criterion_main!(group);
