//! Privacy: fanzha writes no message text, phone number, id or account number to its logs,
//! whatever the input; `--mask-personal-data` (and `Verdict::mask_personal_data`) hides phone,
//! ID card and bank card numbers in verdict evidence.
//!
//! Canary data goes in through every path that can fail (good events, malformed and
//! mistyped events, unknown kinds, invalid UTF-8, over-long lines, a rule set that breaks
//! on reload) and must not come out on standard error.

use std::time::Duration;

use fanzha::{Engine, RuleSet};

const PHONE: &str = "13912345678";
const ID_CARD: &str = "11010519491231002X";
const BANK_CARD: &str = "6222021234567890123";
const TEXT: &str = "金丝雀暗号鸮鹦";
const EVENT_ID: &str = "canary-id-7f3a";
const ACCOUNT: &str = "acct-canary-9931";
const CANARIES: &[&str] = &[PHONE, ID_CARD, BANK_CARD, TEXT, EVENT_ID, ACCOUNT];
const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/privacy/numbers.toml");

/// Every kind of line, good and bad, each carrying canaries.
fn input() -> Vec<u8> {
    let good = [
        format!("你先转到{BANK_CARD}，{TEXT}"),
        format!("身份证{ID_CARD}，{TEXT}"),
        format!("有事打我电话{PHONE}，{TEXT}"),
        format!("老板先出票，钱马上转，电话{PHONE}"),
    ];
    let mut lines: Vec<Vec<u8>> = good
        .iter()
        .map(|t| {
            format!(r#"{{"kind":"message","id":"{EVENT_ID}","sender":"{ACCOUNT}","ts":1747612800000,"text":"{t}"}}"#)
                .into_bytes()
        })
        .collect();
    for bad in [
        format!(r#"{{"kind":"message","id":"{EVENT_ID}","text":"{TEXT}{PHONE}""#),
        format!(r#"{{"kind":"message","text":{PHONE}}}"#),
        format!(r#"{{"kind":"{TEXT}{PHONE}","text":"x"}}"#),
        format!(r#"{{"kind":"transaction","amount":"{BANK_CARD}","payer":"{ACCOUNT}"}}"#),
        format!(r#"{{"kind":"message","text":"x","ts":"{ID_CARD}"}}"#),
        format!(r#"{{"kind":"message","text":"x","{ACCOUNT}":{PHONE},}}"#),
        format!(r#"["{TEXT}", "{PHONE}"]"#),
        format!(r#"{{"kind":"message","text":"{}"}}"#, TEXT.repeat(200)),
    ] {
        lines.push(bad.into_bytes());
    }
    let mut utf8 = format!(r#"{{"kind":"message","text":"{PHONE}"#).into_bytes();
    utf8.extend_from_slice(b"\xff\xfe\"}");
    lines.push(utf8);
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    out
}

fn assert_no_canary(what: &str, text: &str) {
    for c in CANARIES {
        assert!(!text.contains(c), "{what} contains {c:?}:\n{text}");
    }
}

#[test]
fn the_command_logs_no_personal_data_and_masks_evidence_when_asked() {
    let input = input();
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    for stateless in [false, true] {
        let mut args = vec!["scan", "--rules", RULES, "--max-line-bytes", "1000"];
        if stateless {
            args.push("--stateless");
        }
        let plain = super::cli::fanzha(&args, &input);
        let stderr = String::from_utf8_lossy(&plain.stderr);
        assert_no_canary("stderr", &stderr);
        let stdout = String::from_utf8(plain.stdout).unwrap();
        assert_eq!(stdout.lines().count(), lines, "{stdout}");
        // The numbers reach the evidence, so masking has something to do …
        for number in [PHONE, ID_CARD, BANK_CARD] {
            assert!(stdout.contains(number), "{number} not in the evidence:\n{stdout}");
        }
        // … and error lines never quote the input.
        for line in stdout.lines().filter(|l| l.contains("\"error\"")) {
            assert_no_canary("an error line", line);
        }

        args.push("--mask-personal-data");
        let masked = super::cli::fanzha(&args, &input);
        assert_no_canary("stderr", &String::from_utf8_lossy(&masked.stderr));
        let stdout = String::from_utf8(masked.stdout).unwrap();
        for number in [PHONE, ID_CARD, BANK_CARD] {
            assert!(!stdout.contains(number), "{number} unmasked:\n{stdout}");
        }
        assert!(stdout.contains("*******5678"), "{stdout}");
        assert!(stdout.contains("***************0123"), "{stdout}");
        assert!(stdout.contains("**************002X"), "{stdout}");
        // Masking changes evidence only: the same verdicts, levels and spans.
        let levels = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .map(|v| {
                    format!("{} {} {}", v["level"], v["score"], v["hits"].as_array().map_or(0, Vec::len))
                })
                .collect()
        };
        assert_eq!(levels(&stdout), levels(&String::from_utf8(plain_stdout(&args)).unwrap()));
    }
}

/// The same run without `--mask-personal-data`.
fn plain_stdout(args: &[&str]) -> Vec<u8> {
    let args: Vec<&str> = args.iter().copied().filter(|a| *a != "--mask-personal-data").collect();
    super::cli::fanzha(&args, &input()).stdout
}

#[test]
fn a_reload_that_fails_logs_the_rule_error_and_no_event_data() {
    let dir = std::env::temp_dir().join(format!("fanzha-privacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("numbers.toml");
    std::fs::copy(RULES, &rules).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["scan", "--watch", "--rules", rules.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for events, not the clock: the first verdict shows the watcher has looked at the
    // rules, and the reload's failure is read from stderr before the stream is closed.
    let lines = |r: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(r).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let stdout = lines(Box::new(child.stdout.take().unwrap()));
    let stderr_lines = lines(Box::new(child.stderr.take().unwrap()));
    let mut stderr = String::new();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&input()).unwrap();
        stdin.flush().unwrap();
        stdout.recv_timeout(Duration::from_secs(60)).expect("a first verdict");
        std::fs::write(&rules, "[pack]\nid = \"privacy\"\nversion = \"2\"\n[[rule]]\nid = \"broken\"\n")
            .unwrap();
        while !stderr.contains("rules not reloaded") {
            let line = stderr_lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no failed reload reported within 60 s: {stderr}"));
            stderr.push_str(&line);
            stderr.push('\n');
        }
        stdin.write_all(&input()).unwrap();
    }
    assert!(child.wait().unwrap().success());
    stderr.extend(stderr_lines.iter().map(|l| l + "\n"));
    assert!(stderr.contains("rules not reloaded"), "{stderr}");
    assert_no_canary("stderr", &stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_library_masks_evidence_and_keeps_spans() {
    let engine = Engine::new(&RuleSet::from_path(RULES).unwrap()).unwrap();
    let text = format!("你先转到{BANK_CARD}，电话{PHONE}");
    let plain = engine.scan_text(&text);
    let mut masked = plain.clone();
    masked.mask_personal_data();
    assert_eq!(masked.level, plain.level);
    let json = masked.to_json();
    assert!(!json.contains(BANK_CARD) && !json.contains(PHONE), "{json}");
    for (m, p) in masked.hits.iter().zip(&plain.hits) {
        assert_eq!(m.spans, p.spans);
        for (me, pe) in m.evidence.iter().zip(&p.evidence) {
            assert_eq!(me.chars().count(), pe.chars().count());
        }
    }
}
