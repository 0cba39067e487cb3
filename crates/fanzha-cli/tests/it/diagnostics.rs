//! `fanzha check` as a rule author sees it: the error line, then the source line with the
//! term underlined; `--json` with the span.

use super::cli::{fanzha, Scratch};

const HEAD: &str = "[pack]\nid = \"t\"\nversion = \"1\"\n";

/// A rule `t.r` with `body` after its points.
fn rule(body: &str) -> String {
    format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\n{body}\n")
}

#[test]
fn check_shows_the_source_and_json_has_the_span() {
    let dir = Scratch::new("diagnostics-check");
    let source = rule("when = { any = [\"@missing\"] }");
    let path = dir.file("bad.toml", &source);

    let out = fanzha(&["check", &path], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{path}:9:17: error[E003] rule `t.r`: undefined set `@missing`")), "{err}");
    assert!(err.contains("9 | when = { any = [\"@missing\"] }\n  |                 ^^^^^^^^^^\n"), "{err}");
    assert!(!err.contains('\x1b'), "no colour when stderr is not a terminal: {err:?}");

    let out = fanzha(&["check", "--json", &path], b"");
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let d: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    for field in ["code", "file", "line", "column", "rule", "message"] {
        assert!(d.get(field).is_some(), "{field} missing: {d}");
    }
    let start = source.find("\"@missing\"").unwrap();
    assert_eq!(d["span"], serde_json::json!({ "start": start, "end": start + 10 }), "{d}");
    assert_eq!(
        (d["code"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("E003"), Some(9), Some(17))
    );
}
