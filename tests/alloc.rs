//! Heap use, measured by a counting global allocator: scanning a message that hits nothing
//! allocates nothing once the scanner is warm, a monitor's state stays under its caps, and a
//! 100 MB message is scanned in memory bounded by the message limit, not by its size.
//!
//! Its own test binary because it installs the allocator; the tests take turns so that one's
//! allocations do not show in the other's figures. Allocations are counted per thread: the
//! test harness's own thread allocates when another test ends, at any moment.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The most bytes live at once since it was last reset.
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

thread_local! {
    /// Allocations made by this thread (const-initialized: reading it never allocates).
    static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_mine() {
    // `try_with`: a thread being torn down has no thread-locals left, and still allocates.
    let _ = MINE.try_with(|n| n.set(n.get() + 1));
}

/// Allocations this thread has made.
fn allocations_here() -> usize {
    MINE.with(|n| n.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_mine();
        let live = LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_mine();
        let grow = new_size as isize - layout.size() as isize;
        PEAK.fetch_max(LIVE.fetch_add(grow, Ordering::Relaxed) + grow, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn monitor_state_stays_under_its_caps_with_a_million_senders() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rules = fanzha::RuleSet::from_str(
        "burst.toml",
        "[pack]\nid = \"b\"\nversion = \"1\"\n[[rule]]\nid = \"b.burst\"\ntitle = \"b\"\ncategory = \"c\"\n\
         kinds = [\"transaction\"]\npoints = 40\nwhen = { field = { name = \"amount\", ge = 0 } }\n\
         window = { key = \"sender\", within = \"1h\", count = { ge = 5 } }\n",
    )
    .unwrap();
    let config = fanzha::MonitorConfig { max_keys: 10_000, max_events_per_key: 8, ..Default::default() };
    let mut monitor = fanzha::Monitor::with_config(fanzha::Engine::new(&rules).unwrap(), config);
    // Senders `who-N`, one event each, a millisecond apart from event `first` on.
    let batch = |who: &str, first: u64, size: u64| -> Vec<fanzha::Event> {
        (first..first + size)
            .map(|n| {
                let line = format!(
                    r#"{{"kind":"transaction","id":"t{n}","amount":1,"sender":"{who}-{n}","ts":{}}}"#,
                    1_747_612_800_000u64 + n
                );
                fanzha::Event::from_json(&line).unwrap()
            })
            .collect()
    };
    // Warm up: scanners, shard tables and the rayon pool exist before the baseline.
    monitor.observe_batch(&batch("warm", 0, 10));
    let baseline = LIVE.load(Ordering::Relaxed);
    let mut peak = 0;
    for block in 0..100 {
        let events = batch("sender", 10 + block * 10_000, 10_000);
        std::hint::black_box(monitor.observe_batch(&events));
        drop(events);
        peak = peak.max(LIVE.load(Ordering::Relaxed) - baseline);
    }
    let stats = monitor.stats();
    assert_eq!(stats.events, 1_000_010);
    assert!((9_000..=10_000 + 64).contains(&stats.keys), "{} keys", stats.keys);
    // docs/RULES.md: about 420 bytes a key holding one event; allow 1 KiB.
    let cap = 10_064 * 1024;
    println!(
        "heap held by state after 1,000,000 senders: {peak} bytes at peak for {} keys ({} per key); stats say {}",
        stats.keys,
        peak as usize / stats.keys.max(1),
        stats.state_bytes
    );
    assert!(peak < cap, "{peak} bytes of state, cap {cap}");
}

#[test]
fn clean_messages_do_not_allocate() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = fanzha::Engine::bundled().unwrap();
    let mut scanner = engine.scanner();
    let texts = [
        "今天天气不错，来两份酸辣粉",
        "老細，呢度幾錢？",
        "頭家，一碗扁食偌濟箍？",
        "帮我机选五注双色球，谢谢老板",
        "ok thanks, see you tomorrow",
    ];
    // Warm up: buffers grow to the longest message.
    for t in texts {
        assert!(scanner.scan_text(t).hits.is_empty(), "{t} should hit nothing");
    }
    let before = allocations_here();
    for _ in 0..100 {
        for t in texts {
            std::hint::black_box(scanner.scan_text(t));
        }
    }
    let after = allocations_here();
    assert_eq!(after - before, 0, "allocations while scanning clean messages");
}

#[path = "../benches/workload/mod.rs"]
mod workload;

/// The throughput workload: 2,000 literals and 50 regexes, messages that reach candidate
/// rules, regexes and `near` without hitting. Once the scanner has seen them (its buffers and
/// lazy regex states have grown), scanning them again allocates nothing.
#[test]
fn messages_that_hit_nothing_do_not_allocate_on_the_synthetic_workload() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let patterns = workload::patterns();
    let pack = workload::synthetic_pack(&patterns);
    let engine = fanzha::Engine::new(&fanzha::RuleSet::from_str("synthetic.toml", &pack).unwrap()).unwrap();
    let mut scanner = engine.scanner();
    let messages = workload::messages(3_000, &patterns);
    let clean: Vec<&String> = messages.iter().filter(|m| scanner.scan_text(m).hits.is_empty()).collect();
    assert!(clean.len() > 2_500, "most generated messages are ordinary chat: {}", clean.len());
    for m in &clean {
        scanner.scan_text(m);
    }
    let before = allocations_here();
    for m in &clean {
        std::hint::black_box(scanner.scan_text(m));
    }
    let after = allocations_here();
    assert_eq!(after - before, 0, "allocations while scanning {} messages that hit nothing", clean.len());
}

#[test]
fn a_100_mb_message_is_scanned_in_bounded_memory_and_its_end_still_counts() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = fanzha::Engine::bundled().unwrap();
    let mut scanner = engine.scanner();
    // Ordinary shop chatter padding the script, which comes last, past every early piece.
    let filler = "老板今天的双色球开了没有，我晚点过来拿两注。";
    let mut text = filler.repeat(100_000_000 / filler.len());
    let scam_at = text.chars().count();
    text.push_str("我是大客户，你先帮我出票，钱马上转给你");
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let verdict = scanner.scan_text(&text);
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    println!("scanning a {} byte message took {peak} bytes of heap at peak", text.len());
    assert!(verdict.level >= fanzha::Level::Warn, "{verdict:?}");
    // The script's own words are in the evidence, where they are; the list stays short.
    let print_first = verdict.hits.iter().find(|h| h.evidence.iter().any(|e| e.contains("出票"))).unwrap();
    let at = print_first.evidence.iter().position(|e| e.contains("出票")).unwrap();
    assert!(print_first.spans[at][0] >= scam_at, "{verdict:?}");
    assert!(verdict.hits.iter().all(|h| h.spans.len() <= 4 * engine.limits().spans_per_hit * 4));
    let limit = engine.limits().message_bytes as isize;
    assert!(peak < 32 * limit, "{peak} bytes at peak for a message limit of {limit}");
}
