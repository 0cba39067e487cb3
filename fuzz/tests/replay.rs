//! Replays the committed corpus and every past crash of each fuzz target, on stable: the
//! same function the libFuzzer binary calls, on every file of `corpus/<target>/` and
//! `regressions/<target>/` (and, for `rules`, the bundled packs `rules/*.toml`). A crash input saved under
//! `regressions/` stays a test forever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

fn replay(target: &str) {
    let run = fanzha_fuzz::TARGETS.iter().find(|(name, _)| *name == target).expect("a known target").1;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("corpus").join(target), root.join("regressions").join(target)] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            files.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    if target == "rules" {
        // The bundled packs seed the rule target without being copied into its corpus: their
        // TOML, not their compiled bundle (`rules/bundled.fzb`) beside them.
        let entries = std::fs::read_dir(root.join("../rules")).expect("the bundled packs");
        let packs = entries.filter_map(|e| e.ok()).map(|e| e.path());
        files.extend(packs.filter(|p| p.extension().is_some_and(|x| x == "toml")));
    }
    files.sort();
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs failed:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn every_target_has_a_committed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (target, _) in fanzha_fuzz::TARGETS {
        let n = std::fs::read_dir(root.join("corpus").join(target)).map_or(0, |d| d.count());
        assert!(n > 0, "fuzz/corpus/{target}/ is empty");
    }
}

#[test]
fn fold() {
    replay("fold");
}

#[test]
fn scan() {
    replay("scan");
}

#[test]
fn rules() {
    replay("rules");
}

#[test]
fn jsonl() {
    replay("jsonl");
}

#[test]
fn monitor() {
    replay("monitor");
}

#[test]
fn c_json() {
    replay("c_json");
}

#[test]
fn differential() {
    replay("differential");
}

#[test]
fn bundle() {
    replay("bundle");
}
