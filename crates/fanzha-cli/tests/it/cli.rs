//! The `fanzha` command as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::mixed::mixed_stream;

pub(super) fn fanzha(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(args)
        .current_dir(super::ROOT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fanzha");
    // Feed stdin from another thread: with large input and output, writing it all before
    // reading would fill both pipes and deadlock.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// A scratch directory for one test, removed when dropped.
pub(super) struct Scratch(std::path::PathBuf);

impl Scratch {
    pub(super) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fanzha-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes a file and returns its path as a string.
    pub(super) fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn scan_gives_one_line_per_input_line_in_order() {
    let input: &[u8] = b"{\"kind\":\"message\",\"id\":\"a\",\"text\":\"ok\"}\n\
                 not json\n\
                 {\"kind\":\"message\",\"id\":\"b\"}\n\
                 \n\
                 {\"kind\":\"message\",\"id\":\"c\",\"text\":\"lao ban xian chu piao\"}\n\
                 {\"kind\":\"message\",\"id\":\"d\",\"text\":\"\xff\xfe\"}\n\
                 {\"kind\":\"transaction\",\"id\":\"t\",\"amount\":-5}\n";
    let mut input = input.to_vec();
    // Line 5 is a real scam message (the byte-string literal above has to stay ASCII).
    let scam = "{\"kind\":\"message\",\"id\":\"c\",\"text\":\"老板，先帮我出5万的票，钱等下转你\"}";
    let line5: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let mut rebuilt = Vec::new();
    for (i, l) in line5.iter().enumerate() {
        if i > 0 {
            rebuilt.push(b'\n');
        }
        rebuilt.extend_from_slice(if i == 4 { scam.as_bytes() } else { l });
    }
    input = rebuilt;
    let out = fanzha(&["scan"], &input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = lines(&out);
    assert_eq!(v.len(), 7);
    assert_eq!(v[0]["id"], "a");
    assert_eq!(v[0]["level"], "none");
    assert_eq!(v[1]["line"], 2);
    assert!(v[1]["error"].as_str().unwrap().contains("JSON"));
    assert_eq!(v[2]["line"], 3);
    assert!(v[2]["error"].as_str().unwrap().contains("text"));
    assert_eq!(v[3]["line"], 4);
    assert_eq!(v[4]["id"], "c");
    assert!(matches!(v[4]["level"].as_str(), Some("warn" | "block")), "{}", v[4]);
    assert_eq!(v[5]["line"], 6);
    assert!(v[5]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(v[6]["line"], 7);
}

#[test]
fn scan_reads_a_file_and_custom_rules() {
    let dir = Scratch::new("scan");
    let rules = dir.file(
        "r.toml",
        "[pack]\nid = \"r\"\nversion = \"1\"\n[[rule]]\nid = \"r.x\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 70\nadvice = [\"小心\"]\nwhen = { any = [\"先出票\"] }\n",
    );
    let events = dir.file("e.jsonl", "{\"kind\":\"message\",\"id\":\"m1\",\"text\":\"老板先出票\"}\n");
    let out = fanzha(&["scan", "--rules", &rules, &events], b"");
    assert!(out.status.success());
    let v = lines(&out);
    assert_eq!(
        v[0],
        serde_json::json!({"id":"m1","level":"warn","score":70,"hits":[{"rule":"r.x","category":"c","score":70,"evidence":["先出票"],"spans":[[2,5]]}],"advice":["小心"]})
    );
}

#[test]
fn check_reports_located_errors_and_exits_2() {
    let dir = Scratch::new("check");
    let bad = dir.file(
        "bad.toml",
        "[pack]\nid = \"b\"\nversion = \"1\"\n[[rule]]\nid = \"b.x\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"@missing\"] }\n",
    );
    let out = fanzha(&["check", &bad], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:9:17: error[E003] rule `b.x`: undefined set `@missing`"), "{err}");
    let out = fanzha(&["check", "--json", &bad], b"");
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["code"], "E003");
    assert_eq!(d["line"], 9);
}

#[test]
fn check_and_test_pass_on_the_bundled_packs() {
    let out = fanzha(&["check", "rules"], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = fanzha(&["test", "rules"], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn test_exits_1_on_a_failing_example() {
    let dir = Scratch::new("test");
    let f = dir.file(
        "t.toml",
        "[pack]\nid = \"t\"\nversion = \"1\"\n[[rule]]\nid = \"t.x\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"先出票\"] }\nexamples.match = [\"先出票\", \"出票\"]\n",
    );
    let out = fanzha(&["test", &f], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL t.x"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn explain_shows_folded_text_and_amounts() {
    let out = fanzha(&["explain", "--text", "老細 先 出-票，兩萬塊"], b"");
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("folded:  老细先出票两万块"), "{s}");
    assert!(s.contains("amount:  20000 yuan"), "{s}");
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["scan", "check", "test", "explain"] {
        let out = fanzha(&[sub, "--help"], b"");
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
    assert_eq!(fanzha(&["frobnicate"], b"").status.code(), Some(2));
}

#[test]
fn the_worked_example_of_the_rules_guide_passes() {
    let out = fanzha(&["test", "examples/rules/snack-advance.toml"], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("12 passed, 0 failed"), "{stdout}");
}

#[test]
fn unreadable_rule_files_are_located_errors() {
    let dir = Scratch::new("utf8");
    let bad = dir.file("bad.toml", b"[pack]\nid = \"b\"\nversion = \"\xff1\"\n");
    let out = fanzha(&["check", &bad], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:12: error[E009]") && err.contains("UTF-8"), "{err}");
    let out = fanzha(&["check", dir.0.join("missing.toml").to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("E009"));
    let out = fanzha(&["scan", dir.0.join("missing.jsonl").to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_is_byte_identical_for_any_number_of_threads() {
    // A mixed stream long enough that batches and chunks split it at many places, with
    // windows and sequences that span those splits.
    let input = mixed_stream(60);
    let lines_in = input.iter().filter(|&&b| b == b'\n').count();
    let one = fanzha(&["scan", "--threads", "1"], &input);
    assert!(one.status.success());
    assert_eq!(one.stdout.iter().filter(|&&b| b == b'\n').count(), lines_in);
    let text = String::from_utf8(one.stdout.clone()).unwrap();
    let stateful = text.matches("\"events\":[").count();
    assert!(stateful >= 60 * 10, "windows and sequences should hit in every copy: {stateful}");
    assert!(!text.contains("\"late\":true"), "the copies are in time order");
    for t in ["2", "8"] {
        let many = fanzha(&["scan", "--threads", t], &input);
        assert!(many.stdout == one.stdout, "--threads {t} differs from --threads 1");
    }
}

#[test]
fn watch_reloads_rules_mid_stream_and_keeps_them_when_broken() {
    use std::io::BufRead;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = Scratch::new("watch");
    let rules = |version: &str, points: u32| {
        format!(
            "[pack]\nid = \"w\"\nversion = \"{version}\"\n[[rule]]\nid = \"w.r\"\ntitle = \"r\"\ncategory = \"c\"\npoints = {points}\nwhen = {{ any = [\"先出票\"] }}\n"
        )
    };
    let file = dir.file("w.toml", rules("1", 10));
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["scan", "--watch", "--threads", "2", "--rules", &file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Each verdict must come back while the stream is still open: a bot waits for it.
    // The watcher reports each reload on stderr: the test waits for that line, not the clock.
    let (etx, erx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            if etx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut err = Vec::new();
    let mut wait_for = |what: &str| {
        loop {
            let line = erx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {what:?} on stderr within 60 s; it said: {err:?}"));
            err.push(line);
            if err.last().unwrap().contains(what) {
                break;
            }
        }
        err.join("\n")
    };
    let mut ask = |n: u32| -> serde_json::Value {
        writeln!(stdin, "{{\"kind\":\"message\",\"id\":\"m{n}\",\"text\":\"老板先出票\"}}").unwrap();
        stdin.flush().unwrap();
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("a verdict for a live line");
        serde_json::from_str(&line).unwrap()
    };
    let v = ask(1);
    assert_eq!((v["rules"].as_str(), v["score"].as_u64()), (Some("w@1"), Some(10)));

    std::fs::write(&file, rules("2.0", 20)).unwrap();
    wait_for("reloaded rules w@2.0");
    let v = ask(2);
    assert_eq!((v["rules"].as_str(), v["score"].as_u64()), (Some("w@2.0"), Some(20)));

    std::fs::write(&file, "[pack]\nid = \"w\"\nversion = \"3\"\n[[rule]]\nid = \"w.r\"\n").unwrap();
    wait_for("w.toml:4:1: error[E001]");
    // The error shows the line it is about, underlined, as `fanzha check` does.
    let err = wait_for("  | ^^^^^^^^");
    assert!(err.contains("4 | [[rule]]"), "{err}");
    let v = ask(3);
    assert_eq!(
        (v["rules"].as_str(), v["score"].as_u64()),
        (Some("w@2.0"), Some(20)),
        "a broken set is not loaded"
    );

    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert!(err.contains("reloaded rules w@2.0"), "{err}");
    assert!(err.contains("rules not reloaded") && err.contains("w.toml:4:1: error[E001]"), "{err}");
    assert_eq!(fanzha(&["scan", "--watch"], b"").status.code(), Some(2), "--watch needs --rules");
}

#[test]
fn scan_takes_the_monitor_limits_from_flags() {
    let input = "{\"kind\":\"message\",\"id\":\"a\",\"ts\":\"2025-05-19T10:05:00+08:00\",\"text\":\"你好\"}\n\
                 {\"kind\":\"message\",\"id\":\"b\",\"ts\":\"2025-05-19T10:02:00+08:00\",\"text\":\"你好\"}\n";
    // Three minutes behind: within the default five minutes, late with one.
    let default = lines(&fanzha(&["scan"], input.as_bytes()));
    assert_eq!(default[1]["late"], serde_json::Value::Null);
    let strict = lines(&fanzha(&["scan", "--lateness", "1m"], input.as_bytes()));
    assert_eq!(strict[1]["late"], true);
    // Stateless scoring never marks an event late: it keeps no clock.
    let stateless = lines(&fanzha(&["scan", "--stateless", "--lateness", "1m"], input.as_bytes()));
    assert_eq!(stateless[1]["late"], serde_json::Value::Null);
    let bad = fanzha(&["scan", "--lateness", "soon"], input.as_bytes());
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--lateness"));
}

/// A live stream, a line at a time: each verdict comes out before the next line goes in (the
/// reader never waits for a full buffer, the pipeline never holds a scored line back).
#[test]
fn a_live_stream_is_answered_line_by_line() {
    use std::io::BufRead;
    for args in [&["scan", "--stateless"][..], &["scan"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fanzha"))
            .args(args)
            .current_dir(super::ROOT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run fanzha");
        let mut input = child.stdin.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        for (id, text) in
            [("a", "老板先出票，钱等下转你"), ("b", "来两份酸辣粉"), ("c", "先出piao，我等下转")]
        {
            writeln!(input, "{{\"kind\":\"message\",\"id\":\"{id}\",\"text\":\"{text}\"}}").unwrap();
            input.flush().unwrap();
            // Generous: a verdict held back for more input would never come.
            let verdict =
                rx.recv_timeout(std::time::Duration::from_secs(60)).expect("a verdict before more input");
            assert!(verdict.starts_with(&format!("{{\"id\":\"{id}\"")), "{args:?}: {verdict}");
        }
        drop(input);
        assert!(child.wait().unwrap().success());
    }
}
