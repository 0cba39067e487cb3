//! `fanzha corpus` on a small labelled fixture scored by its own tiny pack
//! (`tests/data/corpus/`), so every figure is exact.
//!
//! Fixture scores (warn 60, notice 30, block 100): positives p1 100, p2 70, p3 60, p4 95,
//! p5 30, p6 0; negatives n1 65, n2 65, n3 30, n4 65 (spam), n5 0, n6 0 (a marker only).

use std::io::Write;
use std::process::Output;

use serde_json::Value;

use super::cli::{fanzha, Scratch};

const RULES: &str = "tests/data/corpus/rules.toml";
const DATA: &str = "tests/data/corpus/labelled.jsonl";

fn corpus(args: &[&str], stdin: &[u8]) -> Output {
    let mut all = vec!["corpus", "--rules", RULES];
    all.extend_from_slice(args);
    fanzha(&all, stdin)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The report of a successful `--json` run.
fn report(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = corpus(&all, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("--json is one JSON document")
}

/// positives, at warn+, at notice+, negatives, at warn+, at notice+.
fn counts(v: &Value) -> [u64; 6] {
    ["positives", "positives_warn", "positives_notice", "negatives", "negatives_warn", "negatives_notice"]
        .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}")))
}

fn group<'a>(r: &'a Value, field: &str, value: &str) -> &'a Value {
    let b = r["breakdowns"].as_array().unwrap().iter().find(|b| b["field"] == field);
    let b = b.unwrap_or_else(|| panic!("no breakdown by {field}"));
    b["groups"].as_array().unwrap().iter().find(|g| g["value"] == value).unwrap()
}

fn rule<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["rules_hit"].as_array().unwrap().iter().find(|x| x["rule"] == id).unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn recall_and_false_positive_rate_overall_by_label_and_by_source() {
    let r = report(&[DATA]);
    assert_eq!((r["events"].as_u64(), r["unreadable"].as_u64()), (Some(12), Some(0)));
    assert_eq!(counts(&r["overall"]), [6, 4, 5, 6, 3, 4]);
    assert_eq!(r["overall"]["recall_warn"].as_f64(), Some(4.0 / 6.0));
    assert_eq!(r["overall"]["fpr_warn"].as_f64(), Some(0.5));
    assert_eq!(counts(group(&r, "label", "fraud")), [6, 4, 5, 0, 0, 0]);
    assert_eq!(counts(group(&r, "label", "benign")), [0, 0, 0, 5, 2, 3]);
    assert_eq!(counts(group(&r, "label", "spam")), [0, 0, 0, 1, 1, 1]);
    assert_eq!(counts(group(&r, "source", "chat")), [2, 2, 2, 3, 2, 2]);
    assert_eq!(counts(group(&r, "source", "sms")), [3, 2, 3, 2, 1, 2]);
    assert_eq!(counts(group(&r, "source", "call")), [1, 0, 0, 1, 0, 0]);
    assert_eq!(counts(group(&r, "category", "telecom")), [3, 1, 2, 0, 0, 0]);
    // Rows without the field are counted under `-`.
    assert_eq!(counts(group(&r, "category", "-")), [0, 0, 0, 6, 3, 4]);

    let out = corpus(&[DATA], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("12 events from 1 file, 0 unreadable lines; rules qa@1; stateless."), "{text}");
    let row = |name: &str| {
        let found = text.lines().find(|l| l.split_whitespace().next() == Some(name));
        found
            .unwrap_or_else(|| panic!("no row {name} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("all"), "all 6 66.7% (4) 83.3% (5) 6 50.0% (3) 66.7% (4)");
    assert_eq!(row("chat"), "chat 2 100.0% (2) 100.0% (2) 3 66.7% (2) 66.7% (2)");
    assert_eq!(row("sms"), "sms 3 66.7% (2) 100.0% (3) 2 50.0% (1) 100.0% (2)");
}

#[test]
fn histogram_counts_positives_and_negatives_by_ten_points_up_to_block() {
    let r = report(&[DATA]);
    let h: Vec<(u64, Option<u64>, u64, u64)> = r["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["from"].as_u64().unwrap(),
                b["to"].as_u64(),
                b["positives"].as_u64().unwrap(),
                b["negatives"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(h.len(), 11);
    assert_eq!(h[0], (0, Some(9), 1, 2));
    assert_eq!(h[3], (30, Some(39), 1, 1));
    assert_eq!(h[6], (60, Some(69), 1, 3));
    assert_eq!(h[7], (70, Some(79), 1, 0));
    assert_eq!(h[9], (90, Some(99), 1, 0));
    assert_eq!(h[10], (100, None, 1, 0));
    assert_eq!(h.iter().map(|b| b.2 + b.3).sum::<u64>(), 12);

    let text = stdout(&corpus(&[DATA], b""));
    let line = text.lines().find(|l| l.trim_start().starts_with("60–69")).unwrap();
    assert!(line.contains("← warn"), "{line}");
    assert_eq!(line.split_whitespace().filter(|w| w.parse::<u64>().is_ok()).collect::<Vec<_>>(), ["1", "3"]);
    assert!(text.lines().any(|l| l.trim_start().starts_with("100+") && l.contains("← block")), "{text}");
}

#[test]
fn per_rule_hits_precision_and_alone_including_rules_that_never_hit() {
    let r = report(&[DATA]);
    let rules: Vec<&str> =
        r["rules_hit"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap()).collect();
    // By positive hits; the marker is left out; a rule that never hit is still listed.
    assert_eq!(rules, ["qa.big-order", "qa.pay-later", "qa.print-first", "qa.discount", "qa.never"]);
    let figures = |id: &str| {
        let x = rule(&r, id);
        (x["positives"].as_u64().unwrap(), x["negatives"].as_u64().unwrap(), x["alone"].as_u64().unwrap())
    };
    assert_eq!(figures("qa.big-order"), (3, 0, 1)); // alone on p3 (60 − 30 < 60), not on p4 (95 − 30)
    assert_eq!(figures("qa.pay-later"), (2, 1, 1));
    assert_eq!(figures("qa.print-first"), (2, 0, 2));
    assert_eq!(figures("qa.discount"), (1, 3, 1));
    assert_eq!(figures("qa.never"), (0, 0, 0));
    assert_eq!(rule(&r, "qa.discount")["precision"].as_f64(), Some(0.25));
    assert!(rule(&r, "qa.never")["precision"].is_null());

    let text = stdout(&corpus(&[DATA], b""));
    let line = text.lines().find(|l| l.trim_start().starts_with("qa.discount")).unwrap();
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["qa.discount", "65", "1", "3", "25.0%", "1"]);
    assert!(text.contains("1 rule never hit"), "{text}");
}

#[test]
fn misses_and_false_alarms_list_texts_with_file_line_score_and_rules() {
    let out = corpus(&["--misses", "5", "--false-alarms", "2", DATA], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Misses\npositives below warn: 2\n"), "{text}");
    assert!(
        text.contains(&format!("{DATA}:5 p5 [fraud] score 30 notice: qa.big-order +30\n      大单\n")),
        "{text}"
    );
    assert!(text.contains(&format!("{DATA}:6 p6 [fraud] score 0 none: no rule fired")), "{text}");
    assert!(text.contains("negatives at warn or above: 3; the 2 highest"), "{text}");
    assert!(text.contains(&format!("{DATA}:7 n1 [benign] score 65 warn: qa.discount +65")), "{text}");
    assert!(
        text.contains(&format!("{DATA}:8 n2 [benign]")) && !text.contains(&format!("{DATA}:10 n4")),
        "{text}"
    );

    let r = report(&["--misses", "1", DATA]);
    let shown = r["misses"]["shown"].as_array().unwrap();
    assert_eq!((r["misses"]["total"].as_u64(), shown.len()), (Some(2), 1));
    assert_eq!(shown[0]["id"], "p5", "the miss nearest to warn first");
    assert_eq!(shown[0]["hits"], serde_json::json!([["qa.big-order", 30]]));
    // A long text is cut to 120 characters.
    let r = report(&["--misses", "2", DATA]);
    let long = r["misses"]["shown"][1]["text"].as_str().unwrap();
    assert_eq!(long.chars().count(), 121, "{long}");
    assert!(long.ends_with('…'));
    assert!(r.get("false_alarms").is_none(), "listings only when asked for");
}

#[test]
fn by_field_positive_labels_and_a_default_label() {
    let r = report(&["--by", "fraud_type", DATA]);
    assert_eq!(counts(group(&r, "fraud_type", "order")), [3, 3, 3, 0, 0, 0]);
    assert_eq!(counts(group(&r, "fraud_type", "promo")), [3, 1, 2, 0, 0, 0]);
    let text = stdout(&corpus(&["--by", "fraud_type", DATA], b""));
    assert!(text.contains("By fraud_type"), "{text}");

    // Spam as the positive class: fraud and benign rows are the negatives now.
    let r = report(&["--positive", "spam", DATA]);
    assert_eq!(counts(&r["overall"]), [1, 1, 1, 11, 6, 8]);
    assert_eq!(r["positive_labels"], serde_json::json!(["spam"]));
    let r = report(&["--positive", "spam", "--positive", "fraud", DATA]);
    assert_eq!(counts(&r["overall"])[..3], [7, 5, 6]);

    let dir = Scratch::new("corpus-label");
    let unlabelled = dir.file("chat.jsonl", "{\"text\":\"今天有优惠吗\"}\n{\"id\":7,\"text\":\"明天见\"}\n");
    let r = report(&["--label", "benign", &unlabelled]);
    assert_eq!(counts(&r["overall"]), [0, 0, 0, 2, 1, 1]);
    // Without --label an unlabelled row is an error on its line, counted, not fatal.
    let out = corpus(&["--json", &unlabelled], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains(&format!("{unlabelled}:2: error: no \"label\" field")), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["events"].as_u64(), r["unreadable"].as_u64()), (Some(0), Some(2)));
}

#[test]
fn gzip_files_several_files_and_stdin() {
    let dir = Scratch::new("corpus-gz");
    let data = std::fs::read(super::repo(DATA)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&data).unwrap();
    let gz = dir.file("labelled.jsonl.gz", gz.finish().unwrap());
    let r = report(&[&gz]);
    assert_eq!(counts(&r["overall"]), [6, 4, 5, 6, 3, 4]);

    let r = report(&[&gz, DATA]);
    assert_eq!(counts(&r["overall"]), [12, 8, 10, 12, 6, 8]);
    assert_eq!(r["files"][0]["rows"].as_u64(), Some(12));
    assert_eq!(r["files"][1]["path"], DATA);

    let out = corpus(&["--json", "-"], &data);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts(&r["overall"]), [6, 4, 5, 6, 3, 4]);
}

#[test]
fn a_bad_line_is_reported_with_file_and_line_and_counted() {
    let dir = Scratch::new("corpus-bad");
    let file = dir.file(
        "bad.jsonl",
        "{\"label\":\"fraud\",\"text\":\"先出票\"}\nnot json\n{\"label\":\"benign\",\"kind\":\"message\"}\n\n{\"label\":\"benign\",\"text\":\"好\"}\n",
    );
    let out = corpus(&["--json", &file], b"");
    assert_eq!(out.status.code(), Some(0), "bad lines do not change the exit code");
    let err = stderr(&out);
    assert!(err.contains(&format!("{file}:2: error: invalid JSON")), "{err}");
    assert!(err.contains(&format!("{file}:3: error: ")), "{err}");
    assert!(err.contains(&format!("{file}:4: error: empty line")), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["events"].as_u64(), r["unreadable"].as_u64()), (Some(2), Some(3)));
    assert_eq!(r["files"][0]["errors"].as_u64(), Some(3));
}

#[test]
fn a_truncated_gzip_file_is_unreadable_input() {
    let dir = Scratch::new("corpus-truncated");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(super::repo(DATA)).unwrap()).unwrap();
    let bytes = gz.finish().unwrap();
    let cut = dir.file("cut.jsonl.gz", &bytes[..bytes.len() / 2]);
    let out = corpus(&[&cut], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{cut}:")), "{}", stderr(&out));
}

#[test]
fn exit_codes_for_thresholds_missing_files_and_bad_usage() {
    let out = corpus(&["--min-recall", "0.9", DATA], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("recall at warn 66.7% is below --min-recall 90.0%"), "{}", stderr(&out));
    assert!(stdout(&out).contains("Failed checks"), "the report says which too");
    let out = corpus(&["--max-fpr", "0.1", DATA], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("false-positive rate at warn 50.0% is above --max-fpr 10.0%"));
    assert_eq!(corpus(&["--min-recall", "0.6", "--max-fpr", "0.5", DATA], b"").status.code(), Some(0));

    let out = corpus(&[DATA, "tests/data/corpus/no-such-file.jsonl"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read tests/data/corpus/no-such-file.jsonl"), "{}", stderr(&out));
    assert_eq!(corpus(&["--min-recall", "1.5", DATA], b"").status.code(), Some(2));
    assert_eq!(
        fanzha(&["corpus", "--rules", "tests/data/corpus/none.toml", DATA], b"").status.code(),
        Some(2)
    );
    let help = stdout(&fanzha(&["corpus", "--help"], b""));
    assert!(help.contains("Exit codes: 0 success; 1 --min-recall or --max-fpr not met"), "{help}");
}

#[test]
fn save_then_compare_lists_the_events_a_rule_change_moved() {
    let dir = Scratch::new("corpus-compare");
    let saved = &dir.file("run.json", "");
    assert_eq!(corpus(&["--save", saved, DATA], b"").status.code(), Some(0));
    let run: Value = serde_json::from_slice(&std::fs::read(saved).unwrap()).unwrap();
    assert_eq!(run["events"].as_array().unwrap().len(), 12);
    assert_eq!(run["events"][0]["hits"], serde_json::json!([["qa.print-first", 70], ["qa.pay-later", 30]]));
    assert_eq!(run["events"][0]["level"], "block");
    assert_eq!(counts(&run["summary"]["overall"]), [6, 4, 5, 6, 3, 4]);

    // A large order now weighs 60: p4 goes from warn to block, p5 from notice to warn.
    let rules = std::fs::read_to_string(super::repo(RULES)).unwrap();
    let heavier = rules.replacen(
        "points = 30\nwhen = { any = [\"大单\"] }",
        "points = 60\nwhen = { any = [\"大单\"] }",
        1,
    );
    assert_ne!(heavier, rules);
    let heavier = dir.file("heavier.toml", heavier);
    let out = fanzha(&["corpus", "--rules", &heavier, "--compare", saved, DATA], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 events changed level; 0 new, 0 gone."), "{text}");
    assert!(
        text.contains("positive notice→warn: 1\n") && text.contains("positive warn→block: 1\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{DATA}:5 p5 [fraud] notice 30 → warn 60: qa.big-order +60\n      大单")),
        "{text}"
    );

    // Matched by id when lines move: the same rows in reverse order change nothing.
    let data = std::fs::read_to_string(super::repo(DATA)).unwrap();
    let reversed: String = data.lines().rev().map(|l| format!("{l}\n")).collect();
    let moved = dir.file("labelled.jsonl", reversed);
    let out = corpus(&["--json", "--compare", saved, &moved], b"");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["compare"]["changed"].as_array().unwrap().len(), 0);
    assert_eq!((r["compare"]["new"].as_u64(), r["compare"]["gone"].as_u64()), (Some(0), Some(0)));

    assert_eq!(corpus(&["--compare", "tests/data/corpus/rules.toml", DATA], b"").status.code(), Some(2));
}

#[test]
fn suggested_points_lower_a_rule_that_hits_mostly_negatives() {
    let r = report(&["--suggest-points", DATA]);
    let s = &r["suggest_points"];
    let discount = s["rules"].as_array().unwrap().iter().find(|x| x["rule"] == "qa.discount").unwrap();
    assert_eq!(discount["current"].as_u64(), Some(65));
    let suggested = discount["suggested"].as_u64().unwrap();
    assert!(suggested < 60, "alone it no longer warns: {suggested}");
    // Rules that hit nothing keep their points and are not listed.
    assert!(s["rules"].as_array().unwrap().iter().all(|x| x["rule"] != "qa.never"));
    assert_eq!(counts(&s["current"]), counts(&r["overall"]));
    assert_eq!(s["suggested"]["negatives_warn"].as_u64(), Some(0), "{s}");
    assert!(s["suggested"]["positives_warn"].as_u64() >= s["current"]["positives_warn"].as_u64(), "{s}");

    let text = stdout(&corpus(&["--suggest-points", DATA], b""));
    let line = text.lines().find(|l| l.trim_start().starts_with("qa.discount") && l.contains('→')).unwrap();
    let suggested = suggested.to_string();
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["qa.discount", "1", "3", "65", "→", &suggested]);
    let line = text.lines().find(|l| l.trim_start().starts_with("suggested points, sum of hits")).unwrap();
    assert!(line.ends_with("0.0% (0)"), "{line}");
}

#[test]
fn stateful_runs_each_file_through_its_own_monitor() {
    let dir = Scratch::new("corpus-stateful");
    let window = dir.file(
        "window.toml",
        "[pack]\nid = \"qa-window\"\nversion = \"1\"\n\n[[rule]]\nid = \"qa.repeat-order\"\n\
         title = \"A third large order in one conversation\"\ncategory = \"fake_large_order\"\npoints = 40\n\
         when = { any = [\"大单\"] }\nwindow = { key = \"conversation\", within = \"10m\", count = { ge = 3 } }\n",
    );
    let rows = |n: usize| -> String {
        (0..n)
            .map(|i| format!("{{\"label\":\"fraud\",\"conversation\":\"c1\",\"ts\":\"2026-01-01T10:0{i}:00Z\",\"text\":\"大单\"}}\n"))
            .collect()
    };
    let (a, b) = (dir.file("a.jsonl", rows(3)), dir.file("b.jsonl", rows(2)));
    let run = |stateful: bool| {
        let mut args = vec!["corpus", "--json", "--rules", RULES, "--rules", &window, &a, &b];
        if stateful {
            args.push("--stateful");
        }
        let out = fanzha(&args, b"");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    // Stateless, every row is one large order (30, notice).
    assert_eq!(counts(&run(false)["overall"]), [5, 0, 5, 0, 0, 0]);
    // Stateful, a.jsonl's third row completes the window (70, warn); b.jsonl starts afresh.
    let r = run(true);
    assert_eq!(counts(&r["overall"]), [5, 1, 5, 0, 0, 0]);
    assert_eq!(rule(&r, "qa.repeat-order")["alone"].as_u64(), Some(1));
}

#[test]
fn stateful_markdown_and_json_formats() {
    let r = report(&["--stateful", DATA]);
    assert_eq!(r["stateful"], true);
    assert_eq!(counts(&r["overall"]), [6, 4, 5, 6, 3, 4]);
    let md = stdout(&corpus(&["--markdown", DATA], b""));
    assert!(md.starts_with("# fanzha corpus\n"), "{md}");
    assert!(md.contains("| source | positives | recall@warn |"), "{md}");
    assert!(md.contains("| chat | 2 | 100.0% (2) | 100.0% (2) | 3 | 66.7% (2) | 66.7% (2) |"), "{md}");
    assert!(md.contains("```text\n"), "{md}");
    assert_eq!(corpus(&["--json", "--markdown", DATA], b"").status.code(), Some(2));
}
