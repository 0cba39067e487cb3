//! Scores the sample stream with the bundled packs through a monitor (so scams that span
//! several events are caught) and prints one line per event: level, score, the rules that hit
//! (with the events that made up a window or sequence hit), and the text.
//!
//! `cargo run --example scan_messages [FILE]` (default: examples/messages.jsonl)

use std::error::Error;
use std::io::Write;

use fanzha::{Engine, Event, Monitor};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "examples/messages.jsonl".to_string());
    let mut monitor = Monitor::new(Engine::bundled()?);
    // Stop quietly when the reader goes away (`| head`).
    let mut out = std::io::stdout().lock();
    for (n, line) in std::fs::read_to_string(&path)?.lines().enumerate() {
        let event = match Event::from_json(line) {
            Ok(e) => e,
            Err(e) => {
                if writeln!(out, "line {}: {e}", n + 1).is_err() {
                    break;
                }
                continue;
            }
        };
        let verdict = monitor.observe(&event);
        let rules: Vec<String> = verdict
            .hits
            .iter()
            .map(|h| match h.events.as_slice() {
                [] => h.rule.to_string(),
                events => format!("{}[{}]", h.rule, events.join(" ")),
            })
            .collect();
        let (level, score, rules) = (verdict.level, verdict.score, rules.join(","));
        if writeln!(out, "{level:<6} {score:>3}  {rules:<40} {}", event.text()).is_err() {
            break;
        }
    }
    Ok(())
}
