//! Compiled rule bundles: the same verdicts as the TOML they came from, the bundled packs'
//! bundle up to date, and every damaged, truncated, foreign or tampered bundle refused with a
//! message, never a panic.

use fanzha::{BundleInfo, Engine, Error, Event, Limits, Monitor, RuleSet};
use proptest::prelude::*;

use super::ROOT;

const SIGNATURE_AND_FORMAT: usize = 12;

fn conformance() -> (Engine, Vec<String>) {
    let rules = RuleSet::from_path(format!("{ROOT}/tests/conformance/rules.toml")).unwrap();
    let events = std::fs::read_to_string(format!("{ROOT}/tests/conformance/events.jsonl")).unwrap();
    (Engine::new(&rules).unwrap(), events.lines().map(str::to_string).collect())
}

fn observe_all(engine: Engine, events: &[String]) -> Vec<String> {
    let mut monitor = Monitor::new(engine);
    events.iter().map(|l| monitor.observe(&Event::from_json(l).unwrap()).to_json()).collect()
}

#[test]
fn a_bundle_gives_the_committed_conformance_verdicts() {
    let (engine, events) = conformance();
    let loaded = Engine::from_bundle(&engine.to_bundle()).unwrap();
    assert_eq!(loaded.version(), engine.version());
    assert_eq!(loaded.stats(), engine.stats());
    let want: Vec<String> = std::fs::read_to_string(format!("{ROOT}/tests/conformance/verdicts.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(observe_all(loaded, &events), want);
}

#[test]
fn the_bundled_packs_bundle_matches_their_toml_and_passes_their_examples() {
    let rules = RuleSet::bundled().unwrap();
    let compiled = Engine::new(&rules).unwrap();
    let committed = std::fs::read(format!("{ROOT}/rules/bundled.fzb")).unwrap();
    assert!(
        compiled.to_bundle() == committed,
        "rules/bundled.fzb is not the bundle of rules/*.toml: run\n  \
         cargo run --release -p fanzha-cli -- compile -o rules/bundled.fzb\n\
         (until then Engine::bundled() compiles the TOML at every start)"
    );
    // Engine::bundled() trusts the committed bundle (no index checks): it must pass them all.
    Engine::from_bundle(&committed)
        .expect("the committed bundle passes every check of a bundle from outside");
    let loaded = Engine::bundled().unwrap();
    let report = rules.run_examples(&loaded);
    assert!(report.examples > 1_000, "{} examples", report.examples);
    assert!(report.failures.is_empty(), "{} examples fail through the bundle", report.failures.len());
    // The sample stream and the held-out sets give the same verdicts, hit for hit.
    let mut lines = 0;
    for file in
        ["examples/messages.jsonl", "tests/data/holdout/blind.jsonl", "tests/data/holdout/telecom.jsonl"]
    {
        for line in std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap().lines() {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            let event = match Event::from_json(line) {
                Ok(e) => e,
                Err(_) => Event::message(json["text"].as_str().unwrap()),
            };
            assert_eq!(compiled.scan(&event).to_json(), loaded.scan(&event).to_json(), "{line}");
            lines += 1;
        }
    }
    assert!(lines > 100, "{lines} lines");
}

fn small_bundle() -> Vec<u8> {
    let (engine, _) = conformance();
    engine.to_bundle()
}

fn error_of(bytes: &[u8]) -> String {
    match Engine::from_bundle(bytes) {
        Err(e @ Error::Bundle(_)) => e.to_string(),
        Err(e) => panic!("not a bundle error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn every_flipped_byte_is_refused_by_the_checksum() {
    let bundle = small_bundle();
    for at in (0..bundle.len()).step_by(7) {
        let mut b = bundle.clone();
        b[at] ^= 0x10;
        let e = error_of(&b);
        let expected = if at < 8 {
            "signature"
        } else if at < SIGNATURE_AND_FORMAT {
            "format"
        } else {
            "checksum"
        };
        assert!(e.contains(expected), "byte {at}: {e}");
    }
}

#[test]
fn every_truncation_is_refused() {
    let bundle = small_bundle();
    for len in (0..bundle.len()).step_by(5) {
        let e = error_of(&bundle[..len]);
        assert!(
            ["signature", "truncated", "checksum"].iter().any(|w| e.contains(w)),
            "{len} of {} bytes: {e}",
            bundle.len()
        );
    }
}

#[test]
fn another_format_or_a_rule_file_is_named_as_such() {
    let mut b = small_bundle();
    b[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = error_of(&b);
    assert!(e.contains("bundle format 7, written by fanzha 0.1.0") && e.contains("fanzha compile"), "{e}");
    let toml = std::fs::read(format!("{ROOT}/tests/conformance/rules.toml")).unwrap();
    assert!(error_of(&toml).contains("looks like a TOML rule pack"));
    let e = Engine::from_bundle_path("/nonexistent/rules.fzb").unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/rules.fzb: "), "{e}");
}

#[test]
fn the_header_says_what_wrote_it() {
    let (engine, _) = conformance();
    let info = BundleInfo::read(&engine.to_bundle()).unwrap();
    assert_eq!(info.format, 2);
    assert_eq!(info.rules_version, engine.version());
    assert_eq!(&engine.to_bundle()[..8], BundleInfo::SIGNATURE);
}

#[test]
fn a_bundle_cannot_raise_the_readers_limits() {
    let pack = std::fs::read_to_string(format!("{ROOT}/tests/conformance/rules.toml")).unwrap();
    let raised = Limits { regex_bytes: 64 << 20, ..Limits::default() };
    let rules = RuleSet::builder().limits(raised).add_source("r.toml", &pack).build().unwrap();
    let bundle = Engine::new(&rules).unwrap().to_bundle();
    assert!(error_of(&bundle).contains("regex_bytes"));
    assert!(Engine::from_bundle_with_limits(&bundle, &raised).is_ok());
}

/// Rewrites the checksum after tampering, as a hostile file would.
fn reseal(b: &mut [u8]) {
    let sum = crc32fast::hash(&b[16..]);
    b[12..16].copy_from_slice(&sum.to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Tampered bundles with a valid checksum: every one is an error or an engine that scans
    /// without panicking.
    #[test]
    fn tampered_bundles_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut b = small_bundle();
        for (at, byte) in &edits {
            let at = 16 + at.index(b.len() - 16);
            b[at] = *byte;
        }
        reseal(&mut b);
        if let Ok(engine) = Engine::from_bundle(&b) {
            let (_, events) = conformance();
            let _ = observe_all(engine, &events);
        }
    }
}
