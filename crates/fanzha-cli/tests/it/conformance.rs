//! The conformance vectors (tests/conformance): the crate gives exactly the committed verdicts,
//! through a monitor and through the command. The C and Python suites check the same files.

use fanzha::{Engine, Event, Monitor, RuleSet};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/conformance");

fn expected() -> Vec<String> {
    std::fs::read_to_string(format!("{DIR}/verdicts.jsonl")).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn the_monitor_gives_the_committed_verdicts() {
    let engine = Engine::new(&RuleSet::from_path(format!("{DIR}/rules.toml")).unwrap()).unwrap();
    let mut monitor = Monitor::new(engine);
    let events = std::fs::read_to_string(format!("{DIR}/events.jsonl")).unwrap();
    let ours: Vec<String> =
        events.lines().map(|l| monitor.observe(&Event::from_json(l).unwrap()).to_json()).collect();
    let want = expected();
    assert_eq!(ours.len(), want.len());
    for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
        assert_eq!(a, b, "event {}", i + 1);
    }
    // The vectors exercise what they claim to.
    let all = want.join("\n");
    for part in ["\"events\":[", "\"late\":true", "\"level\":\"warn\"", "\"level\":\"notice\"", "\"id\":null"]
    {
        assert!(all.contains(part), "the vectors should contain {part}");
    }
}

#[test]
fn the_command_gives_the_committed_verdicts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["scan", "--threads", "2", "--rules"])
        .arg(format!("{DIR}/rules.toml"))
        .arg(format!("{DIR}/events.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(lines, expected());
}
