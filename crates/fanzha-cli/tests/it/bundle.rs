//! Bundles through the command: `fanzha compile`, then `--rules rules.fzb` wherever rules are
//! read, with the verdicts of the TOML it came from; damaged bundles refused by path.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::cli::{fanzha, Scratch};

const CONFORMANCE: &str = "tests/conformance";

fn compile(rules: &str, out: &str) {
    let o = fanzha(&["compile", "--rules", rules, "-o", out], b"");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("wrote {out}")));
}

#[test]
fn a_compiled_bundle_scans_explains_and_checks_like_its_toml() {
    let dir = Scratch::new("bundle-cli");
    let bundle = dir.file("c.fzb", b"");
    compile(&format!("{CONFORMANCE}/rules.toml"), &bundle);
    let events = std::fs::read(format!("{}/{CONFORMANCE}/events.jsonl", super::ROOT)).unwrap();
    let want = std::fs::read_to_string(format!("{}/{CONFORMANCE}/verdicts.jsonl", super::ROOT)).unwrap();
    for threads in ["1", "2"] {
        let out = fanzha(&["scan", "--threads", threads, "--rules", &bundle], &events);
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{threads} threads");
    }
    let toml =
        fanzha(&["explain", "--json", "--rules", &format!("{CONFORMANCE}/rules.toml"), "老板先出票"], b"");
    let fzb = fanzha(&["explain", "--json", "--rules", &bundle, "老板先出票"], b"");
    assert!(fzb.status.success());
    assert_eq!(toml.stdout, fzb.stdout);
    let check = fanzha(&["check", &bundle], b"");
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success() && said.contains("ok: bundle format 2 written by fanzha"), "{said}");
}

#[test]
fn bundles_that_cannot_be_used_are_refused_by_path() {
    let dir = Scratch::new("bundle-bad");
    let bundle = dir.file("c.fzb", b"");
    compile(&format!("{CONFORMANCE}/rules.toml"), &bundle);
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    let damaged = dir.file("damaged.fzb", &bytes);
    let out = fanzha(&["scan", "--rules", &damaged], b"{\"text\":\"x\"}\n");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(said.contains(&damaged) && said.contains("checksum"), "{said}");
    assert!(out.stdout.is_empty(), "nothing is scanned with a damaged bundle");

    let truncated = dir.file("truncated.fzb", &std::fs::read(&bundle).unwrap()[..n / 3]);
    let said = String::from_utf8_lossy(&fanzha(&["scan", "--rules", &truncated], b"").stderr).into_owned();
    assert!(said.contains("checksum") || said.contains("truncated"), "{said}");

    let out = fanzha(&["scan", "--rules", &bundle, "--rules", &format!("{CONFORMANCE}/rules.toml")], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a bundle is a whole rule set"));

    let out = fanzha(&["corpus", "--rules", &bundle], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a compiled bundle"));
}

#[test]
fn watch_reloads_a_bundle_when_it_is_compiled_again() {
    let dir = Scratch::new("bundle-watch");
    let rules = |version: &str, points: u32| {
        format!(
            "[pack]\nid = \"w\"\nversion = \"{version}\"\n[[rule]]\nid = \"w.r\"\ntitle = \"r\"\ncategory = \"c\"\npoints = {points}\nwhen = {{ any = [\"先出票\"] }}\n"
        )
    };
    let toml = dir.file("w.toml", rules("1", 10));
    let bundle = dir.file("w.fzb", b"");
    compile(&toml, &bundle);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanzha"))
        .args(["scan", "--watch", "--rules", &bundle])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = |r: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(r).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let out = lines(Box::new(child.stdout.take().unwrap()));
    let err = lines(Box::new(child.stderr.take().unwrap()));
    let wait_for = |what: &str| loop {
        let line =
            err.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no {what:?} within 60 s"));
        if line.contains(what) {
            break;
        }
    };
    let mut ask = |n: u32| -> serde_json::Value {
        writeln!(stdin, "{{\"kind\":\"message\",\"id\":\"m{n}\",\"text\":\"老板先出票\"}}").unwrap();
        stdin.flush().unwrap();
        serde_json::from_str(&out.recv_timeout(Duration::from_secs(20)).expect("a verdict")).unwrap()
    };
    assert_eq!(ask(1)["score"], 10);
    std::fs::write(&toml, rules("2", 20)).unwrap();
    compile(&toml, &bundle);
    wait_for("reloaded rules w@2 from");
    assert_eq!(ask(2)["score"], 20);
    std::fs::write(&bundle, b"\x89FZB\r\n\x1a\nnot really").unwrap();
    wait_for("rules not reloaded, the running set is kept");
    assert_eq!(ask(3)["score"], 20, "a broken bundle is not loaded");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
