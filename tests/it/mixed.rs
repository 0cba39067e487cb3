//! A long mixed stream built from the blind test data, shared by the library's tests and the
//! command's (crates/fanzha-cli/tests includes this file). `super::ROOT` is the repository's
//! root in both.

/// The blind mixed stream (messages and transactions) `copies` times over, a day apart, with
/// ids made unique, and unreadable lines mixed in.
pub(crate) fn mixed_stream(copies: usize) -> Vec<u8> {
    let blind = std::fs::read_to_string(format!("{}/tests/data/streams/blind.jsonl", super::ROOT)).unwrap();
    let events: Vec<serde_json::Value> = blind.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut input = Vec::new();
    for copy in 0..copies {
        for e in &events {
            let mut e = e.clone();
            let ts = chrono::DateTime::parse_from_rfc3339(e["ts"].as_str().unwrap()).unwrap();
            e["ts"] = (ts + chrono::Duration::days(copy as i64)).to_rfc3339().into();
            e["id"] = format!("{}#{copy}", e["id"].as_str().unwrap()).into();
            input.extend_from_slice(e.to_string().as_bytes());
            input.push(b'\n');
        }
        if copy % 7 == 0 {
            input.extend_from_slice(b"{broken\n\n");
        }
    }
    input
}
