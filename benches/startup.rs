//! Start-up: how long an engine takes to be ready, and what it holds, compiled from TOML and
//! loaded from a bundle; for the bundled packs and for generated packs of 1,000 and 10,000
//! rules.
//!
//! ```text
//! cargo build --release -p fanzha-cli && cargo bench --bench startup -- [--runs 9]
//! ```
//!
//! In-process figures (the library): parse + compile from TOML, `Engine::from_bundle`,
//! `Engine::bundled()` in a fresh process, and the engine's heap by part (automaton, regexes,
//! the rest of the program) from a counting allocator. Whole-process figures (what a shell
//! script or a serverless handler pays): `fanzha scan` of one message, wall time and peak
//! resident memory from `wait4`. Medians of `--runs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use fanzha::{Engine, RuleSet};

#[path = "workload/mod.rs"]
mod workload;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
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
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1048576.0)
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

/// One process: its wall time and peak resident set. The peak comes from `/usr/bin/time`, a
/// small process that forks the command: a child forked from this bench would count the
/// bench's own pages, which it holds until it execs.
fn run_process(args: &[std::ffi::OsString]) -> (f64, f64) {
    let time = Path::new("/usr/bin/time");
    let t = Instant::now();
    let out = if time.exists() {
        Command::new(time)
            .arg("-f")
            .arg("peak-kib %M")
            .args(args)
            .stdout(std::process::Stdio::null())
            .output()
    } else {
        // Without it (Debian package `time`), the wall time only.
        Command::new(&args[0]).args(&args[1..]).stdout(std::process::Stdio::null()).output()
    }
    .expect("run the command");
    let wall = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-kib "))
        .and_then(|k| k.trim().parse().ok())
        .unwrap_or(0.0);
    (wall, kib * 1024.0)
}

struct Set {
    name: String,
    /// `--rules` arguments for TOML (none for the bundled packs, which the binary embeds).
    toml: Vec<PathBuf>,
    bundle: PathBuf,
    rules: RuleSet,
}

fn main() {
    if std::env::args().any(|a| a == "--bundled-once") {
        let before = LIVE.load(Ordering::Relaxed);
        let t = Instant::now();
        let engine = Engine::bundled().unwrap();
        println!("bundled-once {}", t.elapsed().as_secs_f64());
        println!("bundled-heap {}", LIVE.load(Ordering::Relaxed) - before);
        assert!(engine.stats().rules > 100);
        return;
    }
    let mut runs = 9;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N");
        }
    }
    let dir = Path::new(ROOT).join("target/bench/startup");
    std::fs::create_dir_all(&dir).unwrap();
    let one = dir.join("one.jsonl");
    std::fs::write(
        &one,
        "{\"kind\":\"message\",\"text\":\"老板，我是做工程的，先帮我出五万的票，钱马上转你\"}\n",
    )
    .unwrap();
    let fanzha = Path::new(ROOT).join("target/release/fanzha");
    assert!(fanzha.exists(), "build the command first: cargo build --release -p fanzha-cli");

    let mut sets = vec![Set {
        name: "bundled packs".into(),
        toml: vec![Path::new(ROOT).join("rules")],
        bundle: dir.join("bundled.fzb"),
        rules: RuleSet::bundled().unwrap(),
    }];
    for n in [1_000, 10_000] {
        let path = dir.join(format!("scale-{n}.toml"));
        std::fs::write(&path, workload::scaling_pack(n)).unwrap();
        sets.push(Set {
            name: format!("{n} generated rules"),
            rules: RuleSet::from_path(&path).unwrap(),
            toml: vec![path],
            bundle: dir.join(format!("scale-{n}.fzb")),
        });
    }

    println!("| rules | literals | bundle | from TOML | from bundle | engine heap | automaton | regexes | rest of the program |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for s in &sets {
        let engine = Engine::new(&s.rules).unwrap();
        let bundle = engine.to_bundle();
        std::fs::write(&s.bundle, &bundle).unwrap();
        drop(engine);
        let mut from_toml = Vec::new();
        let mut from_bundle = Vec::new();
        let mut heap = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let mut b = RuleSet::builder();
            for p in &s.toml {
                b.add_path(p);
            }
            drop(Engine::new(&b.build().unwrap()).unwrap());
            from_toml.push(t.elapsed().as_secs_f64());
            let before = LIVE.load(Ordering::Relaxed);
            let t = Instant::now();
            let e = Engine::from_bundle(&bundle).unwrap();
            from_bundle.push(t.elapsed().as_secs_f64());
            heap = LIVE.load(Ordering::Relaxed) - before;
            drop(e);
        }
        let e = Engine::from_bundle(&bundle).unwrap();
        let st = e.stats();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            st.literals,
            mib(bundle.len() as f64),
            ms(median(from_toml)),
            ms(median(from_bundle)),
            mib(heap as f64),
            mib(st.automaton_bytes as f64),
            mib(st.regex_bytes as f64),
            mib(heap.saturating_sub(st.automaton_bytes + st.regex_bytes) as f64),
        );
    }

    // `Engine::bundled()` the first time in a process: this binary run again, timing one call.
    let mut first = Vec::new();
    let mut heap = 0.0;
    for _ in 0..runs {
        let out = Command::new(std::env::current_exe().unwrap()).arg("--bundled-once").output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        if let Some(secs) = s.lines().find_map(|l| l.strip_prefix("bundled-once ")) {
            first.push(secs.trim().parse::<f64>().unwrap());
        }
        if let Some(bytes) = s.lines().find_map(|l| l.strip_prefix("bundled-heap ")) {
            heap = bytes.trim().parse::<f64>().unwrap();
        }
    }
    if !first.is_empty() {
        // Its words are read in place from the binary, so its heap is smaller than a bundle
        // loaded from a file (the table above).
        println!(
            "\n`Engine::bundled()`, first call in a fresh process: {}, engine heap {}",
            ms(median(first)),
            mib(heap)
        );
    }

    println!("\n| `fanzha scan` of one message | wall | peak resident |");
    println!("|---|---|---|");
    for s in &sets {
        for (how, rules) in [("TOML", s.toml.clone()), ("bundle", vec![s.bundle.clone()])] {
            let mut wall = Vec::new();
            let mut rss = Vec::new();
            for _ in 0..runs {
                let mut cmd = vec![fanzha.clone().into_os_string(), "scan".into()];
                // The bundled packs from TOML are the directory; from a bundle, the binary's own.
                if !(s.name == "bundled packs" && how == "bundle") {
                    for r in &rules {
                        cmd.push("--rules".into());
                        cmd.push(r.clone().into_os_string());
                    }
                }
                cmd.push(one.clone().into_os_string());
                let (w, r) = run_process(&cmd);
                wall.push(w);
                rss.push(r);
            }
            let label = if s.name == "bundled packs" && how == "bundle" {
                "bundled packs, embedded bundle (no --rules)".to_string()
            } else {
                format!("{}, {how}", s.name)
            };
            let rss = median(rss);
            let rss = if rss > 0.0 { mib(rss) } else { "n/a".to_string() };
            println!("| {label} | {} | {rss} |", ms(median(wall)));
        }
    }
}
