//! Scores the sample stream with the bundled packs and prints one line per event:
//! level, score, the rules that hit, and the text.
//!
//! `cargo run --example scan_messages [FILE]` (default: examples/messages.jsonl)

use std::error::Error;
use std::io::Write;

use fanzha::{Engine, Event};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "examples/messages.jsonl".to_string());
    let engine = Engine::bundled()?;
    let mut scanner = engine.scanner();
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
        let verdict = scanner.scan(&event);
        let rules: Vec<&str> = verdict.hits.iter().map(|h| &*h.rule).collect();
        let (level, score, rules) = (verdict.level, verdict.score, rules.join(","));
        if writeln!(out, "{level:<6} {score:>3}  {rules:<40} {}", event.text()).is_err() {
            break;
        }
    }
    Ok(())
}
