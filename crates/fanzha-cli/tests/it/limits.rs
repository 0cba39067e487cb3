//! The limits as `fanzha scan` flags (the library's side is in tests/it/limits.rs at the
//! repository's root).

#[test]
fn scan_takes_the_line_and_message_limits_from_flags() {
    let long = format!(
        r#"{{"kind":"message","id":"long","text":"{}你先帮我出票，钱马上转给你"}}"#,
        "哈".repeat(20_000)
    );
    let input = format!("{{\"kind\":\"message\",\"id\":\"a\",\"text\":\"你好\"}}\n{long}\n{{\"kind\":\"message\",\"id\":\"b\",\"text\":\"先出票\"}}\n");
    let out = super::cli::fanzha(&["scan", "--max-line-bytes", "1000", "--stateless"], input.as_bytes());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[1], r#"{"line":2,"error":"the line is longer than the limit of 1000 bytes"}"#);
    assert!(lines[2].starts_with(r#"{"id":"b""#));

    // Read whole, the long message is scanned in pieces of 8 KiB and its end still counts.
    let out = super::cli::fanzha(&["scan", "--max-message-bytes", "8192", "--stateless"], input.as_bytes());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
    assert_eq!(v["id"], "long");
    assert_ne!(v["level"], "none", "{v}");
    assert!(v["hits"][0]["spans"][0][0].as_u64().unwrap() >= 20_000, "{v}");
    assert_eq!(out.status.code(), Some(0));
}
