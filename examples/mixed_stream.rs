//! Writes a mixed stream of real chat and ordinary payments as JSON Lines, for measuring
//! `fanzha scan` on what a busy deployment sees and for checking that ordinary life raises no
//! warning.
//!
//! `cargo run --release --example mixed_stream [CORPUS] > mixed.jsonl`
//!
//! CORPUS defaults to `../shared/corpus/benign-chat.jsonl.gz` (228,186 real messages). Each
//! message gets a time (half a second apart), one of 5,000 conversations and one of 20,000
//! senders; after every second message comes a payment at one of 3,000 shops from one of
//! 50,000 payers, with amount, method and remoteness from a fixed pseudo-random sequence. The
//! output is the same on every run: 342,279 events from the shared corpus.

use std::io::{BufRead, BufReader, Write};

/// The stream built from corpus lines, one event after another.
pub fn mixed(lines: impl Iterator<Item = String>) -> impl Iterator<Item = serde_json::Value> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        // xorshift64: fixed, so the stream is too.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    lines.enumerate().flat_map(move |(i, line)| {
        let mut v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let ts = 1_747_612_800_000u64 + i as u64 * 500;
        v["ts"] = ts.into();
        v["conversation"] = format!("c{}", i % 5000).into();
        v["sender"] = format!("u{}", i % 20_000).into();
        let payment = (i % 2 == 0).then(|| {
            let shop = format!("shop{}", i % 3000);
            let method = ["qr", "cash", "card", "transfer"][next(4) as usize];
            serde_json::json!({
                "kind": "transaction", "id": format!("t{i}"), "ts": ts, "merchant": shop, "payee": shop,
                "payer": format!("p{}", next(50_000)), "amount": next(900_000) as f64 / 100.0,
                "currency": "CNY", "method": method, "remote": next(10) < 3,
            })
        });
        std::iter::once(v).chain(payment)
    })
}

/// The corpus lines, or an error saying where it was looked for.
pub fn corpus_lines(path: &str) -> std::io::Result<impl Iterator<Item = String>> {
    let file = std::fs::File::open(path)?;
    Ok(BufReader::new(flate2::read::GzDecoder::new(file)).lines().map_while(Result::ok))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "../shared/corpus/benign-chat.jsonl.gz".to_string());
    let lines = corpus_lines(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in mixed(lines) {
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
