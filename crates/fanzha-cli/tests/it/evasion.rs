//! The evasion suite (docs/EVASION.md): every obfuscation applied to every `match` example of
//! the bundled packs must leave it detected (per-transform thresholds), and applied to every
//! `no_match` example and to a sample of the shared real corpus must raise no new warning.

use std::io::BufRead;

use fanzha::evasion::{self, Family, Report};
use fanzha::{Engine, RuleSet};

/// A fixed sample of the shared corpus: about `want` lines, the same on every run.
fn corpus_sample(want: usize) -> Option<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/benign-chat.jsonl.gz");
    let file = std::fs::File::open(path).ok()?;
    let lines = std::io::BufReader::new(flate2::read::GzDecoder::new(file)).lines().map_while(Result::ok);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::new();
    for line in lines {
        // xorshift64: one in 64 lines, so the sample spans every source of the corpus.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if rng % 64 != 0 {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).ok()?;
        out.push(v["text"].as_str()?.to_string());
        if out.len() >= want {
            break;
        }
    }
    Some(out)
}

#[test]
fn bundled_packs_detect_their_examples_under_every_obfuscation() {
    let rules = RuleSet::bundled().unwrap();
    let engine = Engine::new(&rules).unwrap();
    let mut report = Report::run(&rules, &engine, evasion::DEFAULT_SEEDS);
    match corpus_sample(3000) {
        Some(sample) => report.check_quiet(&engine, "corpus", sample.iter().map(String::as_str)),
        None => println!("shared corpus not present; only the no_match examples were checked"),
    }
    println!("{}", report.table());
    for o in &report.outcomes {
        for m in o.misses.iter().take(8) {
            println!(
                "MISS {} {} seed {}: {:?} → {:?}",
                o.transform, m.rule, m.seed, m.original, m.transformed
            );
        }
    }
    let shortfalls = report.shortfalls();
    assert!(shortfalls.is_empty(), "{}", shortfalls.join("\n"));
    // Every transform changed enough examples to measure something.
    for o in &report.outcomes {
        assert!(o.changed >= 40, "{} changed only {} examples", o.transform, o.changed);
    }
}

#[test]
fn mechanical_transforms_fold_away() {
    // Whatever a mechanical transform inserts or swaps, the folded text is the folded original
    // (numerals aside, which change the digits' script, and traditional, which OpenCC may
    // convert phrase by phrase).
    let texts = ["老板先出票，钱马上转你", "加我vx：abc123，转账5000元", "頭家，一碗扁食偌濟箍？"];
    for t in evasion::transforms().iter().filter(|t| t.family == Family::Mechanical) {
        if matches!(t.name, "financial-numerals" | "traditional") {
            continue;
        }
        for text in texts {
            for seed in 0..16 {
                let out = (t.apply)(text, seed);
                assert_eq!(fanzha::fold(&out), fanzha::fold(text), "{} seed {seed}: {out:?}", t.name);
            }
        }
    }
}

#[test]
fn cli_reports_the_table_and_fails_weak_rules() {
    use std::process::Command;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fanzha"))
            .args(args)
            .current_dir(super::ROOT)
            .output()
            .expect("run fanzha")
    };
    let dir = std::env::temp_dir().join(format!("fanzha-evasion-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A rule that knows only one spelling and turned pinyin off: respellings slip past it.
    let weak = dir.join("weak.toml");
    std::fs::write(
        &weak,
        r#"[pack]
id = "weak"
version = "1.0.0"
pinyin = false

[[rule]]
id = "weak.wechat"
title = "Asks to move to WeChat"
category = "contact"
points = 70
advice = ["不要加陌生人微信"]
when = { any = ["加我微信"] }

[rule.examples]
match = ["老板加我微信", "加我微信聊", "你加我微信嘛"]
no_match = ["微信群里说", "我没有微信", "今天天气好"]
"#,
    )
    .unwrap();
    let out = run(&["test", "--evasion", weak.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for name in ["spacing", "zero-width", "pinyin-initials", "overall"] {
        assert!(stdout.contains(name), "{name} missing from\n{stdout}");
    }
    assert!(stdout.contains("FAIL pinyin-initials"), "{stdout}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[pack]\nid = \"x\"\n").unwrap();
    assert_eq!(run(&["test", "--evasion", bad.to_str().unwrap()]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
