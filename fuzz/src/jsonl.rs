//! `jsonl`: the JSON Lines reader and the streaming pipeline on any bytes.
//!
//! The first byte picks the pipeline's options (stateful or not, threads, batch size, the
//! most bytes a read returns, which cuts lines across reads); the rest is the input. Each line
//! goes through [`Event::from_json`] on its own, and the whole input through
//! [`Pipeline::run`], whose output must have exactly one line per input line, in order: an
//! error record `{"line":N,"error":"…"}` with N the input line number where the line is not
//! an event, and otherwise the very verdict a [`Monitor`] (or, stateless, a scanner) gives the
//! events read one by one.

use std::io::Read;
use std::sync::Arc;

use fanzha::{Event, LiveEngine, Monitor, Pipeline, PipelineOptions};

use crate::{bundled, Bytes};

pub fn run(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    let knobs = bytes.byte();
    let input = bytes.rest();
    let stateful = knobs & 1 == 0;
    let threads = 1 + (knobs >> 1 & 1) as usize;
    let batch = 1 + (knobs >> 2 & 7) as usize;
    let most = [1, 2, 3, 7, 16, 64, 512, 8192][(knobs >> 5) as usize];

    // What each line should give, read line by line as the contract says.
    let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    let events: Vec<Option<Event>> = lines.iter().map(|l| parse(l)).collect();
    let read: Vec<Event> = events.iter().flatten().cloned().collect();
    let engine = bundled();
    let mut verdicts = if stateful {
        Monitor::new(engine.clone()).observe_batch(&read)
    } else {
        let mut scanner = engine.scanner();
        read.iter().map(|e| scanner.scan(e)).collect()
    }
    .into_iter();

    let live = Arc::new(LiveEngine::new(engine.clone()));
    let options = PipelineOptions { threads, batch, stateful, ..PipelineOptions::default() };
    let reader = Trickle { input: input.to_vec(), at: 0, most };
    let mut out = Vec::new();
    let n = Pipeline::new(live, options).run(reader, &mut out, |_| {}).expect("writing to a Vec cannot fail");
    assert_eq!(n as usize, lines.len(), "lines counted");
    let out = String::from_utf8(out).expect("the output is UTF-8");
    let got: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(got.len(), lines.len(), "one output line per input line: {out:?}");
    assert!(out.is_empty() || out.ends_with('\n'), "the last output line has no newline");
    for (i, (line, event)) in got.iter().zip(&events).enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each output line is JSON");
        match event {
            None => {
                assert_eq!(value["line"], i + 1, "error record {line} for input line {}", i + 1);
                assert!(value["error"].is_string(), "error record without a message: {line}");
                assert_eq!(
                    value.as_object().map(|o| o.len()),
                    Some(2),
                    "error record with other fields: {line}"
                );
            }
            Some(e) => {
                let v = verdicts.next().expect("one verdict per event");
                assert_eq!(*line, v.to_json(), "the pipeline and the reference differ on line {}", i + 1);
                assert_eq!(v.id.as_deref(), e.id(), "verdict id");
            }
        }
    }
}

/// A line as the contract reads it: without its line end, UTF-8, not blank, one JSON object.
fn parse(raw: &[u8]) -> Option<Event> {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).ok()?;
    let event = Event::from_json(line);
    if line.trim().is_empty() {
        assert!(event.is_err(), "a blank line read as an event");
        return None;
    }
    event.ok()
}

/// Input that comes at most `most` bytes a read, as a pipe written slowly gives it.
struct Trickle {
    input: Vec<u8>,
    at: usize,
    most: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.most).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
