//! Bad input, each a test: rule files and event streams that are broken on purpose.
//!
//! Rule problems are [`Diagnostic`]s located by file, line and column, and the column points
//! at the offending value; a stream gives exactly one output line per input line, in order,
//! an unreadable line giving `{"line":N,"error":"..."}` that names what is wrong without
//! repeating what the line said (privacy: the text and any phone number in it stay out of
//! the output); nothing panics, nothing hangs. Through the library and through `fanzha`.

use std::path::Path;
use std::process::Output;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::cli::fanzha;
use fanzha::{
    Diagnostic, Engine, Event, Level, LiveEngine, Monitor, MonitorConfig, Pipeline, PipelineOptions, RuleSet,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/bad");
const HEAD: &str = "[pack]\nid = \"t\"\nversion = \"1\"\n";
/// A phone number and the scam phrase the bad lines carry: never to be echoed in an error.
const PHONE: &str = "13812345678";
const PHRASE: &str = "先出票";

fn data(name: &str) -> String {
    format!("{DATA}/{name}")
}

/// A pack with one rule `t.r` whose `when` is written on line 9, from column 8.
fn rule(when: &str) -> String {
    format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {when}\n")
}

/// The diagnostics of a source that must fail to load or compile.
fn diagnostics(name: &str, source: &str) -> Vec<Diagnostic> {
    match RuleSet::from_str(name, source).and_then(|r| Engine::new(&r)) {
        Ok(_) => panic!("{name} should have been rejected"),
        Err(e) => {
            assert!(!e.diagnostics().is_empty(), "{name}: an error without diagnostics: {e}");
            e.diagnostics().to_vec()
        }
    }
}

/// Runs `f` on a thread of its own and waits at most `limit` for it: a hang fails the test
/// instead of stalling the run, and a stack overflow shows as the thread dying.
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the thread died (panic or overflow)"),
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "fanzha panicked:\n{err}");
}

// ---------------------------------------------------------------- rule files

#[test]
fn a_rule_file_with_invalid_utf8_is_located_at_the_bad_byte() {
    // Line 7 is `title = "先\xff\xfe"`: the first bad byte is the 11th character of the line.
    let path = data("bad_utf8.toml");
    for result in [RuleSet::from_path(&path), {
        let mut b = RuleSet::builder();
        b.add_path(DATA.to_string() + "/dup_ids.toml").add_path(&path);
        b.build()
    }] {
        let e = result.expect_err("not UTF-8");
        let d =
            e.diagnostics().iter().find(|d| d.file.ends_with("bad_utf8.toml")).expect("located in the file");
        assert_eq!((d.code, d.line, d.column), ("E009", 7, 11), "{d}");
        assert!(d.message.contains("UTF-8"), "{d}");
    }
    let out = fanzha(&["check", &path], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad_utf8.toml:7:11: error[E009]"), "{}", stderr(&out));
    assert_no_panic(&out);
    // The same through `scan --rules`: refused before any input is read, nothing on stdout.
    let out = fanzha(&["scan", "--rules", &path], b"{\"kind\":\"message\",\"text\":\"x\"}\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("bad_utf8.toml:7:11"), "{}", stderr(&out));
}

#[test]
fn truncated_and_mistyped_rule_files_point_at_the_value() {
    // `title = "cut off` with no closing quote and no newline at the end: line 7.
    let e = RuleSet::from_path(data("truncated.toml")).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.code, d.line), ("E001", 7), "{d}");
    assert!((9..=17).contains(&d.column), "the column points into the unterminated string: {d}");
    assert_eq!(d.rule.as_deref(), Some("tr.r"), "{d}");
    // `points = "seventy"`: the value, column 10.
    let e = RuleSet::from_path(data("wrong_types.toml")).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.code, d.line, d.column), ("E001", 9, 10), "{d}");
    assert_eq!(d.rule.as_deref(), Some("wt.r"), "{d}");
    // Half a file, cut at every line: always located, never a panic.
    let whole = std::fs::read_to_string(data("dup_ids.toml")).unwrap();
    for cut in (0..whole.len()).filter(|&i| whole.is_char_boundary(i)) {
        let part = &whole[..cut];
        if let Err(e) = RuleSet::from_str("part.toml", part) {
            for d in e.diagnostics() {
                let lines = part.lines().count().max(1);
                assert!(d.line >= 1 && d.line <= lines + 1 && d.column >= 1, "cut at {cut}: {d}");
            }
        }
    }
    // Wrong-typed values of every kind, each at its own line and column.
    for (when, value) in [
        ("{ any = \"先出票\" }", "\"先出票\""),
        ("{ any = [42] }", "42"),
        ("{ amount = { ge = \"five\" } }", "\"five\""),
        ("{ near = [[\"a\"], [\"b\"]], within = -3 }", "-3"),
        ("{ field = { name = 7, eq = 1 } }", "7"),
    ] {
        let d = diagnostics("t.toml", &rule(when));
        assert_eq!((d[0].code, d[0].line), ("E001", 9), "{when}: {}", d[0]);
        let column = 8 + when[..when.find(value).unwrap()].chars().count();
        assert_eq!(d[0].column, column, "{when}: {} should point at {value}", d[0]);
    }
}

#[test]
fn duplicate_ids_are_each_located_at_the_second_definition() {
    let e = RuleSet::from_path(data("dup_ids.toml")).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.code, d.line, d.column), ("E002", 13, 6), "{d}");
    assert_eq!(d.rule.as_deref(), Some("d.print-first"));
    // Across files of one set: the same pack id twice, a set defined twice.
    let a = "[pack]\nid = \"same\"\nversion = \"1\"\n[sets]\nbig = [\"大客户\"]\n";
    let mut b = RuleSet::builder();
    b.add_source("a.toml", a).add_source("b.toml", a);
    let d = b.build().unwrap_err().diagnostics().to_vec();
    assert!(
        d.iter().any(|d| (d.code, d.file.as_str(), d.line, d.column) == ("E002", "b.toml", 2, 6)),
        "{d:?}"
    );
    assert!(
        d.iter().any(|d| d.code == "E002" && d.file == "b.toml" && d.line == 5 && d.message.contains("big")),
        "{d:?}"
    );
    let out = fanzha(&["check", "--json", &data("dup_ids.toml")], b"");
    assert_eq!(out.status.code(), Some(2));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["code"].as_str(), first["line"].as_u64(), first["column"].as_u64()),
        (Some("E002"), Some(13), Some(6))
    );
}

#[test]
fn pathological_regexes_compile_and_run_in_linear_time() {
    let rules = RuleSet::from_path(data("pathological.toml")).unwrap();
    let engine = Engine::new(&rules).unwrap();
    // `(a+)+$` on the input that makes backtracking engines take exponential time.
    let e = engine.clone();
    let v = within(Duration::from_secs(60), "(a+)+$", move || {
        let near_miss = "a".repeat(100_000) + "b";
        let miss = e.scan_text(&near_miss);
        let hit = e.scan_text(&("b".to_string() + &"a".repeat(100_000)));
        (miss, hit)
    });
    assert!(v.0.hits.iter().all(|h| &*h.rule != "p.nested-plus"), "`$` is not at the end");
    assert_eq!(
        v.1.hits.iter().find(|h| &*h.rule == "p.nested-plus").map(|h| h.spans.clone()),
        Some(vec![[1, 100_001]])
    );
    // `(x{5}){5}{5}{5}{5}` is 3125 x's exactly: found in a longer run, missed in a shorter one.
    let v = within(Duration::from_secs(60), "(x{5}){5}{5}{5}{5}", move || {
        (engine.scan_text(&"x".repeat(3124)), engine.scan_text(&format!("y{}", "x".repeat(4000))))
    });
    assert!(v.0.hits.iter().all(|h| &*h.rule != "p.nested-counts"));
    assert_eq!(
        v.1.hits.iter().find(|h| &*h.rule == "p.nested-counts").map(|h| h.spans.clone()),
        Some(vec![[1, 3126]])
    );
    // Through the command as well.
    let input = format!("{{\"kind\":\"message\",\"id\":\"a\",\"text\":\"{}!\"}}\n", "a".repeat(50_000));
    let out = fanzha(&["scan", "--rules", &data("pathological.toml")], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("{\"id\":\"a\",\"level\":\"none\""));
}

#[test]
fn regexes_too_large_or_matching_nothing_are_rejected_where_written() {
    // `(x{1000}){1000}` is a million states: refused at the term, column 24 of line 10.
    let e = RuleSet::from_path(data("regex_too_big.toml")).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.code, d.line, d.column), ("E004", 10, 24), "{d}");
    assert_eq!(d.rule.as_deref(), Some("big.r"));
    let out = fanzha(&["check", &data("regex_too_big.toml")], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("regex_too_big.toml:10:24: error[E004]"), "{}", stderr(&out));
    for pattern in [
        r"\w{500}",
        r"(?i)\w{1000}",
        r"[\p{L}]{300}",
        r"a*",
        r"\b",
        r"$",
        r"x|",
        r"(?:)",
        r"先(?=出)",
        r"(",
        r"[z-a]",
    ] {
        let d = diagnostics("t.toml", &rule(&format!("{{ any = [\"a\", {:?}] }}", format!("/{pattern}/"))));
        assert_eq!((d[0].code, d[0].line, d[0].column), ("E004", 9, 22), "/{pattern}/: {}", d[0]);
    }
}

#[test]
fn a_200000_way_alternation_compiles_in_bounded_time_or_is_refused_where_written() {
    let words: Vec<String> = (0..200_000).map(|i| format!("k{i}z")).collect();
    let source = rule(&format!("{{ any = [\"/{}/\"] }}", words.join("|")));
    let result = within(Duration::from_secs(300), "200,000-way alternation", move || {
        RuleSet::from_str("t.toml", &source).and_then(|r| Engine::new(&r))
    });
    match result {
        Ok(engine) => {
            let v = within(Duration::from_secs(60), "scan", move || {
                (engine.scan_text("订单号 k199999z 已付"), engine.scan_text(&"k1y ".repeat(10_000)))
            });
            assert_eq!(v.0.hits.len(), 1);
            assert_eq!(v.0.hits[0].evidence, ["k199999z"]);
            assert!(v.1.hits.is_empty());
        }
        Err(e) => {
            let d = &e.diagnostics()[0];
            assert_eq!((d.line, d.column), (9, 17), "refused, at the term: {d}");
        }
    }
    // The same size as literals.
    let literals: Vec<String> = (0..200_000).map(|i| format!("\"词{i}号\"")).collect();
    let source = format!("{HEAD}pinyin = false\n[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [{}] }}\n", literals.join(", "));
    let result = within(Duration::from_secs(300), "200,000 literals", move || {
        RuleSet::from_str("t.toml", &source).and_then(|r| Engine::new(&r))
    });
    match result {
        Ok(engine) => assert_eq!(engine.scan_text("找词199999号").hits.len(), 1),
        Err(e) => assert_eq!(e.diagnostics()[0].line, 10, "{e}"),
    }
}

/// `depth` `all_of`s around one `any`.
fn nested(depth: usize) -> String {
    let mut c = "{ any = [\"先出票\"] }".to_string();
    for _ in 0..depth {
        c = format!("{{ all_of = [{c}] }}");
    }
    c
}

#[test]
fn deeply_nested_conditions_are_refused_where_they_go_too_deep() {
    // The first depth refused is reported at the innermost condition: each level adds 12
    // characters (`{ all_of = [`) after `when = ` (7).
    let first_refused = (1..=64)
        .find(|&depth| RuleSet::from_str("t.toml", &rule(&nested(depth))).is_err())
        .expect("some depth up to 64 is refused");
    assert!(first_refused >= 8, "ordinary nesting is allowed");
    let d = diagnostics("t.toml", &rule(&nested(first_refused)));
    assert_eq!((d[0].line, d[0].column), (9, 8 + 12 * first_refused), "{}", d[0]);
    assert!(d[0].code == "E005" || d[0].code == "E010", "a condition or limit error: {}", d[0]);
    assert_eq!(d[0].rule.as_deref(), Some("t.r"));
    assert!(d[0].message.contains("nest"), "{}", d[0]);
    // Ten thousand levels: refused with a location on the line, no stack overflow, on a thread
    // with the ordinary 2 MiB stack.
    let source = rule(&nested(10_000));
    let len = source.lines().nth(8).unwrap().chars().count();
    let d = within(Duration::from_secs(120), "10,000-deep condition", move || {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || RuleSet::from_str("t.toml", &source).map(|_| ()))
            .unwrap()
            .join()
            .expect("no stack overflow")
    })
    .unwrap_err();
    let d = &d.diagnostics()[0];
    assert_eq!(d.line, 9, "{d}");
    assert!((8..=len).contains(&d.column), "{d}");
    assert_eq!(d.rule.as_deref(), Some("t.r"));
}

// ---------------------------------------------------------------- events

#[test]
fn unreadable_events_say_which_field_and_never_what_it_held() {
    for (line, says) in [
        (r#"{"kind":"message"}"#, "text"),
        (r#"{"kind":"message","text":13812345678}"#, "`text` must be a string"),
        (r#"{"kind":"message","text":["13812345678"]}"#, "`text` must be a string"),
        (r#"{"kind":"message","text":null}"#, "`text`"),
        (r#"{"kind":"message","id":{"phone":"13812345678"},"text":"先出票"}"#, "`id` must be"),
        (r#"{"kind":"message","id":[13812345678],"text":"先出票"}"#, "`id` must be"),
        (r#"{"kind":"message","text":"先出票","ts":"13812345678"}"#, "`ts` must be"),
        (r#"{"kind":"message","text":"先出票","ts":true}"#, "`ts` must be"),
        (r#"{"kind":"message","text":"先出票","ts":1.5e300}"#, "`ts` must be"),
        (r#"{"kind":"message","text":"先出票","ts":"2025-13-45T99:00:00+08:00"}"#, "`ts` must be"),
        (r#"{"kind":"transaction","amount":5,"memo":["13812345678"]}"#, "`memo` must be a string"),
        (r#"{"kind":"transaction","amount":5,"memo":{"先出票":1}}"#, "`memo` must be a string"),
        (r#"{"text":"先出票 13812345678"}"#, "missing field `kind`"),
        (r#"{"kind":7,"text":"先出票 13812345678"}"#, "`kind` must be a string"),
        (r#"{"kind":null,"text":"先出票 13812345678"}"#, "`kind` must be a string"),
        (r#"{"kind":"fax","text":"先出票 13812345678"}"#, "unknown event `kind`"),
        (r#"{"kind":"Message","text":"先出票 13812345678"}"#, "unknown event `kind`"),
        (r#"{"kind":"电话13812345678","text":"先出票"}"#, "unknown event `kind`"),
        (r#"{"kind":"先出票 13812345678","text":"x"}"#, "unknown event `kind`"),
        (r#""先出票 13812345678""#, "must be a JSON object"),
        (r#"13812345678"#, "must be a JSON object"),
        (r#"[{"kind":"message","text":"先出票"}]"#, "must be a JSON object"),
        (r#"null"#, "must be a JSON object"),
        (r#"{"kind":"message","text":"先出票 13812345678""#, "invalid JSON: EOF"),
        (r#"{"kind":"message","text":"先出票 13812345678"} {}"#, "invalid JSON: trailing"),
        (r#"{"kind":"message","text":"先出票 13812345678",}"#, "invalid JSON"),
        (r#"{"kind":"message","text":'先出票 13812345678'}"#, "invalid JSON"),
        (r#"{"kind":"message","text":"先出票 13812345678\q"}"#, "invalid JSON"),
        (r#"{"kind":"message","text":"先出票 13812345678","x":"\ud800"}"#, "invalid JSON"),
        (r#"{"kind":"message","text":"先出票 13812345678","x":tru}"#, "invalid JSON"),
        ("{\"kind\":\"message\",\"text\":\"先出票\n13812345678\"}", "invalid JSON"),
    ] {
        let e = Event::from_json(line).expect_err(line).to_string();
        assert!(e.contains(says), "{line}: {e}");
        assert!(!e.contains(PHONE) && !e.contains(PHRASE), "{line}: the error echoes the input: {e}");
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    for depth in [200, 10_000, 1_000_000] {
        let line = format!(
            "{{\"kind\":\"message\",\"text\":\"先出票 {PHONE}\",\"x\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let e = within(Duration::from_secs(60), "deep JSON", move || {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || Event::from_json(&line).map(|_| ()).map_err(|e| e.to_string()))
                .unwrap()
                .join()
                .expect("no stack overflow")
        })
        .unwrap_err();
        assert!(e.contains("recursion limit"), "{depth}: {e}");
        assert!(!e.contains(PHONE), "{e}");
    }
    // Nesting a little way is an ordinary extra field.
    let ok = format!("{{\"kind\":\"message\",\"text\":\"x\",\"x\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    assert!(Event::from_json(&ok).is_ok());
}

#[test]
fn amounts_that_are_not_money_are_refused_naming_the_field() {
    let tx = |amount: &str| {
        format!("{{\"kind\":\"transaction\",\"amount\":{amount},\"memo\":\"先出票 {PHONE}\"}}")
    };
    for (amount, says) in [
        ("-5", "`amount` must be between 0 and"),
        ("-0.001", "`amount` must be between 0 and"),
        ("-1e300", "`amount` must be between 0 and"),
        ("1e300", "`amount` must be between 0 and"),
        ("10000000000000.01", "`amount` must be between 0 and"),
        ("99999999999999999999999", "`amount` must be between 0 and"),
        ("\"20000\"", "`amount` must be a number"),
        ("\"二万\"", "`amount` must be a number"),
        ("\"NaN\"", "`amount` must be a number"),
        ("null", "`amount` must be a number"),
        ("true", "`amount` must be a number"),
        ("[20000]", "`amount` must be a number"),
        ("{\"value\":20000}", "`amount` must be a number"),
        // Not JSON at all: refused by the JSON reader, with a position rather than a name.
        ("NaN", "invalid JSON"),
        ("Infinity", "invalid JSON"),
        ("-Infinity", "invalid JSON"),
        ("1e400", "invalid JSON: number out of range"),
        ("0x10", "invalid JSON"),
        ("+5", "invalid JSON"),
        ("05", "invalid JSON"),
    ] {
        let line = tx(amount);
        let e = Event::from_json(&line).expect_err(&line).to_string();
        assert!(e.contains(says), "{amount}: {e}");
        assert!(!e.contains(PHONE) && !e.contains(PHRASE), "{amount}: {e}");
    }
    let missing = format!("{{\"kind\":\"transaction\",\"memo\":\"{PHONE}\"}}");
    assert_eq!(Event::from_json(&missing).unwrap_err().to_string(), "a transaction needs an `amount`");
    // Documented coercions: amounts are exact fen, rounded to the nearest; -0 is 0; up to
    // 10^13 yuan; a message's `amount` is an ordinary field, not money.
    for (amount, fen) in [
        ("0", 0),
        ("-0.0", 0),
        ("0.001", 0),
        ("0.005", 1),
        ("0.1", 10),
        ("20000", 2_000_000),
        ("20000.0", 2_000_000),
        ("2e4", 2_000_000),
        ("10000000000000", 1_000_000_000_000_000),
    ] {
        assert_eq!(Event::from_json(&tx(amount)).unwrap().amount_fen(), Some(fen), "{amount}");
    }
    let m = Event::from_json(r#"{"kind":"message","text":"x","amount":"lots"}"#).unwrap();
    assert_eq!(m.amount_fen(), None);
}

#[test]
fn empty_and_huge_messages_are_scanned() {
    let engine = Engine::bundled().unwrap();
    for quiet in ["", " ", "\u{200b}\u{200b}", "\u{feff}", "\0", "🙂🙂🙂", "\u{0301}"] {
        let v = engine.scan_text(quiet);
        assert_eq!((v.level, v.hits.len()), (Level::None, 0), "{quiet:?}");
    }
    let e = Event::from_json(r#"{"kind":"message","id":"e","text":""}"#).unwrap();
    assert_eq!(engine.scan(&e).level, Level::None);
    let e = Event::from_json(r#"{"kind":"transaction","id":"t","amount":1,"memo":""}"#).unwrap();
    assert_eq!(engine.scan(&e).level, Level::None);
    // 4 MiB of chat, the scam phrase at the very end: found, with its span in characters.
    let filler = "今天天气很好，大家吃了吗？Fine, thanks. ".repeat(4 << 20 >> 6);
    let at = filler.chars().count();
    let text = format!("{filler}老板先出票，钱等下转你");
    let e = engine.clone();
    let t = text.clone();
    let v = within(Duration::from_secs(120), "4 MiB message", move || e.scan_text(&t));
    assert!(v.level >= Level::Warn, "{}", v.to_json());
    let first = v.hits.iter().flat_map(|h| h.spans.iter()).map(|s| s[0]).min().unwrap();
    assert!(first >= at, "spans count characters of the original text: {first} < {at}");
    // The same message as one line of a stream, between two small ones.
    let line = serde_json::json!({"kind": "message", "id": "huge", "text": text}).to_string();
    let input = format!("{{\"kind\":\"message\",\"id\":\"a\",\"text\":\"\"}}\n{line}\n{{\"kind\":\"message\",\"id\":\"b\",\"text\":\"x\"}}\n");
    let out = pipeline(input.as_bytes(), PipelineOptions::default());
    assert_eq!(ids(&out), ["a", "huge", "b"]);
    assert!(
        out[1].contains("\"level\":\"warn\"") || out[1].contains("\"level\":\"block\""),
        "{}",
        &out[1][..200.min(out[1].len())]
    );
}

// ---------------------------------------------------------------- streams

/// What each line of `tests/data/bad/mixed.jsonl` must give: a verdict with this id, or an
/// error saying this.
enum Want {
    Verdict(&'static str),
    Alert(&'static str),
    Quiet(&'static str),
    Error(&'static str),
}

use Want::*;

const MIXED: [Want; 30] = [
    Alert("m1"),
    Error("invalid JSON"),
    Error("invalid UTF-8 at byte "),
    Error("empty line"),
    Error("empty line"),
    Quiet("m6"),
    Error("invalid JSON: EOF"),
    Error("invalid JSON: trailing"),
    Error("recursion limit"),
    Error("invalid JSON"),
    Error("`amount` must be between"),
    Error("invalid JSON: number out of range"),
    Error("`amount` must be a number"),
    Error("`amount` must be a number"),
    Error("needs an `amount`"),
    Error("missing field `kind`"),
    Error("unknown event `kind`"),
    Error("`text` must be a string"),
    Error("`id` must be"),
    Error("`ts` must be"),
    Error("`memo` must be a string"),
    Error("must be a JSON object"),
    Error("must be a JSON object"),
    Verdict("t24"),
    Verdict("m25"),
    Quiet("m26"),
    Error("invalid JSON"),
    Quiet("m28"),
    Quiet("t29"),
    Alert("m30"),
];

fn pipeline(input: &[u8], options: PipelineOptions) -> Vec<String> {
    let live = Arc::new(LiveEngine::new(Engine::bundled().unwrap()));
    let mut out = Vec::new();
    let n = Pipeline::new(live, options).run(std::io::Cursor::new(input.to_vec()), &mut out, |_| {}).unwrap();
    let out: Vec<String> = String::from_utf8(out).unwrap().lines().map(str::to_string).collect();
    assert_eq!(n as usize, out.len());
    out
}

fn ids(out: &[String]) -> Vec<String> {
    out.iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().map_or_else(|| format!("line {}", v["line"]), str::to_string)
        })
        .collect()
}

/// Checks the output for `mixed.jsonl` line by line.
fn check_mixed(input: &[u8], out: &[String]) {
    assert_eq!(out.len(), MIXED.len(), "one output line per input line");
    let bad_utf8 = input.split(|&b| b == b'\n').nth(2).unwrap();
    let byte = bad_utf8.iter().position(|&b| b == 0xff).unwrap() + 1;
    for (i, (line, want)) in out.iter().zip(&MIXED).enumerate() {
        let n = i + 1;
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {n}: {e}: {line}"));
        match want {
            Error(says) => {
                assert!(line.starts_with(&format!("{{\"line\":{n},\"error\":\"")), "line {n}: {line}");
                assert_eq!(v.as_object().unwrap().len(), 2, "line {n}: {line}");
                assert_eq!(v["line"], n, "line {n}: the error names its input line");
                let e = v["error"].as_str().unwrap();
                assert!(e.contains(says), "line {n}: {e}");
                assert!(!line.contains(PHONE) && !line.contains(PHRASE), "line {n} echoes the input: {line}");
                if n == 3 {
                    assert_eq!(e, format!("invalid UTF-8 at byte {byte}"));
                }
            }
            Verdict(id) | Alert(id) | Quiet(id) => {
                assert_eq!(v["id"], *id, "line {n}: {line}");
                assert!(v.get("error").is_none() && v["level"].is_string(), "line {n}: {line}");
                let level = v["level"].as_str().unwrap();
                match want {
                    Alert(_) => assert!(level == "warn" || level == "block", "line {n}: {line}"),
                    Quiet(_) => assert_eq!(level, "none", "line {n}: {line}"),
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn a_mixed_stream_gives_one_line_per_input_line_in_order() {
    let input = std::fs::read(data("mixed.jsonl")).unwrap();
    let reference = pipeline(&input, PipelineOptions { threads: 1, ..PipelineOptions::default() });
    check_mixed(&input, &reference);
    // The same whatever the threads, batch size, and stateful or not.
    for (threads, batch, stateful) in
        [(2, 8192, true), (3, 1, true), (2, 4, true), (1, 3, false), (4, 7, false)]
    {
        let out =
            pipeline(&input, PipelineOptions { threads, batch, stateful, ..PipelineOptions::default() });
        check_mixed(&input, &out);
        assert_eq!(out, reference, "{threads} threads, batch {batch}, stateful {stateful}");
    }
    // Repeated many times, the bad lines among thousands of good ones keep their places.
    let mut big = Vec::new();
    for _ in 0..200 {
        big.extend_from_slice(&input);
        big.push(b'\n');
    }
    let out = pipeline(&big, PipelineOptions { threads: 2, batch: 100, ..PipelineOptions::default() });
    assert_eq!(out.len(), 200 * MIXED.len());
    for (k, chunk) in out.chunks(MIXED.len()).enumerate() {
        for (i, (line, want)) in chunk.iter().zip(&MIXED).enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            match want {
                Error(_) => assert_eq!(v["line"], k * MIXED.len() + i + 1),
                Verdict(id) | Alert(id) | Quiet(id) => assert_eq!(v["id"], *id),
            }
        }
    }
}

#[test]
fn the_command_answers_a_mixed_stream_line_for_line_and_exits_0() {
    let input = std::fs::read(data("mixed.jsonl")).unwrap();
    let reference = pipeline(&input, PipelineOptions::default()).join("\n") + "\n";
    for args in [
        vec!["scan", "tests/data/bad/mixed.jsonl"],
        vec!["scan", "-"],
        vec!["scan"],
        vec!["scan", "--threads", "1", "tests/data/bad/mixed.jsonl"],
    ] {
        let stdin: &[u8] = if args.len() == 1 || args[1] == "-" { &input } else { b"" };
        let out = fanzha(&args, stdin);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_no_panic(&out);
        let err = stderr(&out);
        assert!(!err.contains(PHONE) && !err.contains(PHRASE), "{args:?}: stderr echoes the input: {err}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), reference, "{args:?}");
    }
    let out = fanzha(&["scan", "--stateless", "tests/data/bad/mixed.jsonl"], b"");
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    check_mixed(&input, &lines);
}

#[test]
fn the_command_exits_2_on_unreadable_input_or_usage() {
    for args in [
        vec!["scan", "tests/data/bad/no-such-file.jsonl"],
        vec!["scan", "tests/data/bad"],
        vec!["scan", "--threads", "many"],
        vec!["scan", "--rules", "tests/data/bad/no-such.toml"],
        vec!["check", "tests/data/bad"],
        vec!["check"],
        vec!["test", "tests/data/bad/dup_ids.toml"],
        vec!["test", "tests/data/bad/bad_utf8.toml"],
        vec!["explain", "--rules", "tests/data/bad/truncated.toml", "先出票"],
        vec!["frobnicate"],
    ] {
        let out = fanzha(&args, b"{\"kind\":\"message\",\"text\":\"x\"}\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_no_panic(&out);
        assert!(!stderr(&out).is_empty(), "{args:?} says why");
    }
    // A directory of rule files, some bad: every bad file is reported, located.
    let out = fanzha(&["check", "tests/data/bad"], b"");
    let err = stderr(&out);
    for at in ["bad_utf8.toml:7:11", "dup_ids.toml:13:6", "regex_too_big.toml:10:24", "wrong_types.toml:9:10"]
    {
        assert!(err.contains(at), "{at} missing from:\n{err}");
    }
}

fn window_engine() -> Engine {
    Engine::new(&RuleSet::from_path(data("window.toml")).unwrap()).unwrap()
}

fn message_at(ts: &str, conversation: &str) -> String {
    format!("{{\"kind\":\"message\",\"ts\":{ts},\"conversation\":\"{conversation}\",\"text\":\"先出票\"}}")
}

#[test]
fn times_out_of_range_are_refused_and_the_monitor_never_overflows() {
    // Epoch milliseconds that would overflow the monitor's arithmetic (a window's start is
    // the time minus its length), and times outside 1970–9999: refused, naming `ts`.
    for ts in [
        i64::MIN.to_string(),
        (i64::MIN + 1).to_string(),
        (i64::MIN + 3_600_000).to_string(),
        i64::MAX.to_string(),
        "-1".into(),
        "-62135596800000".into(),
        "253402300800000".into(),
        "\"1900-01-01T00:00:00Z\"".into(),
    ] {
        let e = Event::from_json(&message_at(&ts, "c")).unwrap_err().to_string();
        assert!(e.contains("`ts`"), "{ts}: {e}");
    }
    // The edges of the range, no time, and a far-future time, through a window rule.
    let mut m = Monitor::new(window_engine());
    let mut scores = Vec::new();
    for ts in ["0", "1747612800000", "null", "253402300799999", "1747612860000", "\"1970-01-01T00:00:00Z\""] {
        let e = Event::from_json(&message_at(ts, "c")).unwrap();
        scores.push(m.observe(&e).score);
    }
    assert_eq!(scores.len(), 6);
    // First in a stream (so not late) through the command: an error line in its place, and
    // the line after it answered.
    let input = format!(
        "{}\n{{\"kind\":\"message\",\"id\":\"c\",\"text\":\"你好\"}}\n",
        message_at(&i64::MIN.to_string(), "c")
    );
    let out = fanzha(&["scan", "--rules", &data("window.toml")], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_panic(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("{\"line\":1,\"error\":\"`ts` must be"), "{stdout}");
    assert!(lines[1].starts_with("{\"id\":\"c\""), "{stdout}");
}

#[test]
fn the_monitor_keeps_at_most_max_keys_rounded_up_to_its_shards() {
    // Documented: 64 shards of `max_keys / 64` (rounded up) keys each.
    for max_keys in [1, 100, 640] {
        let config = MonitorConfig { max_keys, ..MonitorConfig::default() };
        let mut m = Monitor::with_config(window_engine(), config);
        let events: Vec<Event> = (0..20_000)
            .map(|i| {
                Event::from_json(&message_at(&(1_747_612_800_000i64 + i).to_string(), &format!("c{i}")))
                    .unwrap()
            })
            .collect();
        let verdicts = m.observe_batch(&events);
        assert_eq!(verdicts.len(), events.len());
        let s = m.stats();
        let bound = max_keys.div_ceil(64) * 64;
        assert!(s.keys <= bound && s.evicted >= (20_000 - bound) as u64, "max_keys {max_keys}: {s:?}");
        if max_keys % 64 == 0 {
            assert!(s.keys <= max_keys, "exact for multiples of 64: {s:?}");
        }
    }
}

/// A window's `sum` of fen cannot overflow: 18,500 amounts of 10^13 yuan (the most accepted)
/// within one window, with the per-key limit raised to hold them all, add up past `u64`.
/// Slow in debug builds (about 90 s: each event filters its key's whole list).
#[test]
#[ignore = "about 90 s in a debug build; run with --ignored"]
fn a_window_sum_of_huge_amounts_does_not_overflow() {
    let config = MonitorConfig { max_events_per_key: 100_000, ..MonitorConfig::default() };
    let mut m = Monitor::with_config(window_engine(), config);
    let events: Vec<Event> = (0..18_500)
        .map(|i| {
            Event::from_json(&format!(
                "{{\"kind\":\"transaction\",\"ts\":{},\"merchant\":\"m\",\"amount\":10000000000000}}",
                1_747_612_800_000i64 + i
            ))
            .unwrap()
        })
        .collect();
    let verdicts = m.observe_batch(&events);
    let last = verdicts.last().unwrap();
    assert!(last.hits.iter().any(|h| &*h.rule == "win.sum"), "a sum far over 100 yuan: {}", last.to_json());
}

#[test]
fn lines_over_the_limit_are_answered_with_an_error_in_their_place() {
    // A line of 100 MB: with the default limit (8 MiB) it is skipped unread, answered with an
    // error naming the limit, and the lines around it are answered as usual.
    let huge = format!(
        "{{\"kind\":\"message\",\"id\":\"huge\",\"text\":\"先出票 {PHONE} {}\"}}",
        "今天天气很好".repeat(100 << 20 >> 4)
    );
    assert!(huge.len() > 100 << 20);
    let input = format!("{{\"kind\":\"message\",\"id\":\"a\",\"text\":\"x\"}}\n{huge}\n{{\"kind\":\"message\",\"id\":\"b\",\"text\":\"老板先出票，钱等下转你\"}}\n");
    drop(huge);
    let expect = |out: &[String]| {
        assert_eq!(out.len(), 3);
        assert!(out[0].starts_with("{\"id\":\"a\""), "{}", out[0]);
        assert!(out[1].starts_with("{\"line\":2,\"error\":"), "{}", &out[1][..out[1].len().min(200)]);
        assert!(out[1].contains("limit") && out[1].len() < 200, "{}", &out[1][..out[1].len().min(200)]);
        assert!(!out[1].contains(PHONE) && !out[1].contains(PHRASE));
        assert!(out[2].starts_with("{\"id\":\"b\",\"level\":\"warn\""), "{}", out[2]);
    };
    let out = within(Duration::from_secs(300), "a 100 MB line", {
        let input = input.clone();
        move || pipeline(input.as_bytes(), PipelineOptions::default())
    });
    expect(&out);
    let out = fanzha(&["scan"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_panic(&out);
    expect(&String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect::<Vec<_>>());
    // A lower limit, the same way.
    let small = PipelineOptions { max_line_bytes: 1000, ..PipelineOptions::default() };
    let long = format!("{{\"kind\":\"message\",\"id\":\"long\",\"text\":\"{}\"}}", "先出票".repeat(400));
    let input = format!("{long}\n{{\"kind\":\"message\",\"id\":\"b\",\"text\":\"x\"}}\n{long}");
    let out = pipeline(input.as_bytes(), small);
    assert_eq!(ids(&out), ["line 1", "b", "line 3"]);
    assert!(out[0].contains("1000 bytes"), "{}", out[0]);
    let out = fanzha(&["scan", "--max-line-bytes", "1000"], input.as_bytes());
    assert_eq!(
        ids(&String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect::<Vec<_>>()),
        ["line 1", "b", "line 3"]
    );
}

#[test]
fn the_bad_data_files_are_what_the_tests_say() {
    // Guards against an editor "fixing" the files: they are bad on purpose.
    let mixed = std::fs::read(data("mixed.jsonl")).unwrap();
    assert_eq!(mixed.split(|&b| b == b'\n').count(), MIXED.len());
    assert!(!mixed.ends_with(b"\n"), "the last line has no newline");
    assert!(mixed.windows(2).any(|w| w == b"\r\n"), "a CRLF line");
    assert!(std::str::from_utf8(&mixed).is_err());
    assert!(std::str::from_utf8(&std::fs::read(data("bad_utf8.toml")).unwrap()).is_err());
    assert!(Path::new(&data("truncated.toml")).exists());
}
/// Every limit on rules (`fanzha::Limits`), set low: a located error at what goes over it.
#[test]
fn rule_limits_are_located_errors() {
    use fanzha::Limits;
    let pack = format!(
        "{HEAD}pinyin = false\n[variants]\n\"微信\" = [\"vx\", \"薇信\", \"威信\"]\n\"转账\" = [\"转帐\", \"zz\"]\n\
         [[rule]]\nid = \"t.a\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [\"一二\", \"三四\"] }}\n\
         [[rule]]\nid = \"t.b\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [\"加微信转账\", \"/\\\\w{{50}}/\"] }}\n\
         [[rule]]\nid = \"t.c\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any_of = [{{ any = [\"五六\"] }}] }}\n"
    );
    assert!(RuleSet::from_str("l.toml", &pack).and_then(|r| Engine::new(&r)).is_ok());
    for (limits, code, line, column, rule) in [
        // The third rule's id.
        (Limits { rules_per_pack: 2, ..Limits::default() }, "E010", 21, 6, Some("t.c")),
        // The term whose spellings go over the count.
        (Limits { literals: 3, ..Limits::default() }, "E010", 19, 17, Some("t.b")),
        (Limits { spellings_per_literal: 4, ..Limits::default() }, "E007", 19, 17, Some("t.b")),
        // The condition nested one level too deep.
        (Limits { condition_depth: 0, ..Limits::default() }, "E010", 25, 20, Some("t.c")),
        // The regex term.
        (Limits { regex_bytes: 2000, ..Limits::default() }, "E004", 19, 26, Some("t.b")),
        // The whole file.
        (Limits { source_bytes: 100, ..Limits::default() }, "E010", 1, 1, None),
    ] {
        let e = RuleSet::builder().limits(limits).add_source("l.toml", &pack).build().unwrap_err();
        let d = &e.diagnostics()[0];
        assert_eq!(
            (d.code, d.file.as_str(), d.line, d.column, d.rule.as_deref()),
            (code, "l.toml", line, column, rule),
            "{limits:?}: {d}"
        );
    }
    // The compiled size is the whole set's: no one place to point at, but an error, not a
    // crash or a silent half-compiled engine.
    let rules = RuleSet::builder()
        .limits(Limits { compiled_bytes: 100, ..Limits::default() })
        .add_source("l.toml", &pack)
        .build()
        .unwrap();
    let e = Engine::new(&rules).unwrap_err();
    assert_eq!(e.diagnostics()[0].code, "E010", "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
}

/// A message longer than `Limits::message_bytes` (1 MiB) is scanned in overlapping pieces: a
/// phrase across the border of two pieces is found, at its place in the whole text.
#[test]
fn a_phrase_across_the_pieces_of_a_long_message_is_found() {
    let engine = Engine::new(&RuleSet::from_str("t.toml", &rule("{ any = [\"先出票\"] }")).unwrap()).unwrap();
    let mut scanner = engine.scanner();
    for size in [1usize << 20, 2 << 20, 3 << 20] {
        for back in [0usize, 1, 2, 3, 4, 5, 8, 4096, 4097] {
            let at = size - back;
            let text = format!("{}先出票{}", "a ".repeat(at / 2) + &"a".repeat(at % 2), "b".repeat(5000));
            let v = scanner.scan_text(&text);
            assert_eq!(v.hits.len(), 1, "{size} - {back}");
            assert_eq!(v.hits[0].spans, [[at, at + 3]], "{size} - {back}");
        }
    }
}
