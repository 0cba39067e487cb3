//! Criterion benches for the hot path: folding, scanning a short and a long message, and
//! compiling the bundled packs. `cargo bench --bench scan`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fanzha::{fold, Engine, Folded, RuleSet};

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

    c.bench_function("compile_bundled", |b| b.iter(|| Engine::new(&RuleSet::bundled().unwrap()).unwrap()));
}

criterion_group!(group, benches);
criterion_main!(group);
