//! Limits (`fanzha::Limits`): each rule limit is a located `E010` error, and a message over
//! the message limit is scanned in overlapping pieces with the same verdict as in one piece.

use fanzha::{Engine, Limits, RuleSet};
use proptest::prelude::*;

const HEAD: &str = "[pack]\nid = \"p\"\nversion = \"1\"\n";

fn rule(i: usize, when: &str) -> String {
    format!("\n[[rule]]\nid = \"p.r{i}\"\ntitle = \"t\"\ncategory = \"other\"\npoints = 30\nwhen = {when}\n")
}

fn load(limits: Limits, source: &str) -> Result<RuleSet, fanzha::Error> {
    RuleSet::builder().limits(limits).add_source("p.toml", source).build()
}

/// The one diagnostic of a failed load: (code, line, column, message).
fn only_error(r: Result<RuleSet, fanzha::Error>) -> (&'static str, usize, usize, String) {
    let e = r.expect_err("should not load");
    let d = &e.diagnostics()[0];
    (d.code, d.line, d.column, d.message.clone())
}

#[test]
fn rules_over_the_pack_limit_are_reported_at_the_first_one_over() {
    let source: String =
        HEAD.to_string() + &(0..4).map(|i| rule(i, "{ any = [\"先出票\"] }")).collect::<String>();
    let limits = Limits { rules_per_pack: 3, ..Limits::default() };
    let (code, line, _, message) = only_error(load(limits, &source));
    assert_eq!(code, "E010");
    // The fourth rule's id line: 3 head lines, then 7 lines a rule, id on its third.
    assert_eq!(line, 3 + 3 * 7 + 3, "{message}");
    assert!(message.contains("more than 3 rules"), "{message}");
    assert!(load(Limits::default(), &source).is_ok());
}

#[test]
fn deep_conditions_are_reported_where_they_pass_the_limit() {
    let nest = |depth: usize| {
        let mut when = "{ any = [\"先出票\"] }".to_string();
        for _ in 0..depth {
            when = format!("{{ any_of = [{when}] }}");
        }
        HEAD.to_string() + &rule(0, &when)
    };
    let strict = Limits { condition_depth: 4, ..Limits::default() };
    let (code, line, column, message) = only_error(load(strict, &nest(6)));
    assert_eq!((code, line), ("E010", 10), "{message}");
    // The sixth table opens after 5 `{ any_of = [` (12 characters each) past `when = `.
    assert_eq!(column, 8 + 5 * 12, "{message}");
    assert!(message.contains("deeper than the limit of 4"), "{message}");
    assert!(load(Limits::default(), &nest(6)).is_ok());
    // Deeper than the TOML reader goes: its own located error, before conditions are read.
    let (code, line, _, message) = only_error(load(Limits::default(), &nest(64)));
    assert_eq!((code, line), ("E001", 10), "{message}");
}

#[test]
fn ten_thousand_nested_tables_are_an_error_not_a_stack_overflow() {
    let mut when = "{ any = [\"先出票\"] }".to_string();
    for _ in 0..10_000 {
        when = format!("{{ any_of = [{when}] }}");
    }
    let e = load(Limits::default(), &(HEAD.to_string() + &rule(0, &when))).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.file.as_str(), d.line), ("p.toml", 10), "{d}");
}

#[test]
fn literal_and_spelling_limits_are_located_at_the_term() {
    let words: Vec<String> = (0..50).map(|i| format!("\"口令{i}号\"")).collect();
    let source =
        HEAD.to_string() + "pinyin = false\n" + &rule(0, &format!("{{ any = [{}] }}", words.join(", ")));
    let (code, line, column, message) =
        only_error(load(Limits { literals: 20, ..Limits::default() }, &source));
    assert_eq!((code, line), ("E010", 11), "{message}");
    // The 21st literal is the first over: `when = { any = [` then 20 quoted words.
    let before: usize = 16 + words[..20].iter().map(|w| w.chars().count() + 2).sum::<usize>();
    assert_eq!(column, before + 1, "{message}");

    let mut variants = String::from("[variants]\n");
    for c in "先帮我出票马上转".chars() {
        variants.push_str(&format!("\"{c}\" = [\"{c}1\", \"{c}2\", \"{c}3\"]\n"));
    }
    let source = HEAD.to_string() + &variants + &rule(0, "{ any = [\"先帮我出票马上转\"] }");
    let (code, line, _, message) = only_error(load(Limits::default(), &source));
    assert_eq!((code, line), ("E007", 19), "{message}");
    assert!(message.contains("more than 512 spellings"), "{message}");
    let roomy = Limits { spellings_per_literal: 100_000, ..Limits::default() };
    assert!(load(roomy, &source).is_ok());
}

#[test]
fn regex_and_compiled_size_limits() {
    // Compiles in linear time, but its NFA is far over a small size limit.
    let source = HEAD.to_string() + &rule(0, r#"{ any = ["/出票\\w{200}{20}/"] }"#);
    let (code, line, _, message) =
        only_error(load(Limits { regex_bytes: 1 << 16, ..Limits::default() }, &source));
    assert_eq!((code, line), ("E004", 10), "{message}");
    assert!(message.contains("size limit"), "{message}");

    let rules =
        RuleSet::builder().limits(Limits { compiled_bytes: 4096, ..Limits::default() }).add_bundled().build();
    let e = Engine::new(&rules.unwrap()).unwrap_err();
    assert_eq!(e.diagnostics()[0].code, "E010");
    assert!(e.to_string().starts_with("error[E010]: the compiled rules take"), "{e}");
}

#[test]
fn pathological_regexes_compile_and_run_in_linear_time_or_are_rejected() {
    for (pattern, ok) in [("(a+)+$", true), ("(x{5}){5}{5}{5}{5}", true), ("(|a)", false), ("a*", false)] {
        let source = HEAD.to_string() + &rule(0, &format!("{{ any = [\"/{pattern}/\"] }}"));
        match load(Limits::default(), &source) {
            Ok(rules) => {
                assert!(ok, "{pattern} should be rejected");
                let engine = Engine::new(&rules).unwrap();
                let text = "a".repeat(100_000) + "b";
                assert_eq!(engine.scan_text(&text).hits.len(), 0, "{pattern}");
            }
            Err(e) => {
                assert!(!ok, "{pattern}: {e}");
                assert_eq!((e.diagnostics()[0].code, e.diagnostics()[0].line), ("E004", 10), "{e}");
            }
        }
    }
}

#[test]
fn a_200000_way_alternation_is_bounded() {
    let alternatives: Vec<String> = (0..200_000).map(|i| format!("q{i}z")).collect();
    let source = HEAD.to_string() + &rule(0, &format!("{{ any = [\"/({})/\"] }}", alternatives.join("|")));
    // Over the default regex size: rejected at its place, quickly.
    let (code, line, _, message) = only_error(load(Limits::default(), &source));
    assert_eq!((code, line), ("E004", 10), "{message}");
}

#[test]
fn oversized_rule_sources_are_refused_before_parsing() {
    let source = HEAD.to_string() + &rule(0, "{ any = [\"先出票\"] }");
    let small = Limits { source_bytes: 64, ..Limits::default() };
    let (code, line, column, message) = only_error(load(small, &source));
    assert_eq!((code, line, column), ("E010", 1, 1), "{message}");

    let dir = std::env::temp_dir().join(format!("fanzha-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.toml");
    std::fs::write(&path, &source).unwrap();
    let e = RuleSet::builder().limits(small).add_path(&path).build().unwrap_err();
    assert!(e.to_string().contains("big.toml:1:1: error[E010]"), "{e}");
    assert!(e.to_string().contains("larger than the limit of 64 bytes"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn windowed_engine(bytes: usize) -> Engine {
    let limits = Limits { message_bytes: bytes, spans_per_hit: 1_000_000, ..Limits::default() };
    Engine::new(&RuleSet::builder().limits(limits).add_bundled().build().unwrap()).unwrap()
}

static WHOLE: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(|| windowed_engine(usize::MAX));
static PIECEWISE: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(|| windowed_engine(8192));

const PIECES: &[&str] = &[
    "老板今天的双色球开了没有",
    "我晚点过来拿两注",
    "我是大客户",
    "你先帮我出票",
    "钱马上转给你",
    "截图给你看",
    "工地要订150份盒饭",
    "帮我垫付一下烟钱",
    "用你的私人账户走一下流水",
    "哈哈",
    "，",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Pieces of 8 KiB overlapping by 4 KiB: the same rules hit, with the same spans, as when
    /// the text is scanned whole, wherever the phrases fall relative to the seams.
    #[test]
    fn a_text_scanned_in_pieces_gets_the_verdict_of_the_whole(
        parts in prop::collection::vec(prop::sample::select(PIECES.to_vec()), 200..1_200),
    ) {
        let text = parts.concat();
        let whole = WHOLE.scan_text(&text);
        let pieces = PIECEWISE.scan_text(&text);
        let rules = |v: &fanzha::Verdict| v.hits.iter().map(|h| h.rule.to_string()).collect::<Vec<_>>();
        prop_assert_eq!(rules(&pieces), rules(&whole));
        prop_assert_eq!(pieces.level, whole.level);
        for (p, w) in pieces.hits.iter().zip(&whole.hits) {
            let mut spans = p.spans.clone();
            spans.sort();
            // A piece sees the phrases of its own stretch; the whole text may join spans
            // that touch across a seam.
            for s in &spans {
                prop_assert!(w.spans.iter().any(|ws| ws[0] <= s[0] && s[1] <= ws[1]), "{:?} not in {:?}", s, w.spans);
            }
        }
    }
}
