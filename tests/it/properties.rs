//! Properties of folding and of spans, on generated text full of the tricks fraudsters use.

use fanzha::{fold, Engine, RuleSet};
use proptest::prelude::*;

/// Characters that exercise every path of the normalizer.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "先", "出", "票", "萬", "兩", "塊", "轉", "帳", "微", "信", "码", "老", "細", "頭", "家", "俾",
            "咗",
        ])
        .prop_map(str::to_string),
        prop::sample::select(vec![
            " ", "-", "，", "。", "!", "🎫", "\u{200b}", "\u{202e}", "\u{fe0f}", "(", ")", "（", "）", ".",
            ",",
        ])
        .prop_map(str::to_string),
        prop::sample::select(vec![
            "Ｖ",
            "Ｘ",
            "５",
            "⑤",
            "⑴",
            "㎡",
            "ﬁ",
            "À",
            "piào",
            "zhàpiàn",
            "5",
            "1",
            "w",
            "k",
            "vx",
            "A"
        ])
        .prop_map(str::to_string),
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

/// `s` with every Han character replaced by its first toneless pinyin reading.
fn in_pinyin(s: &str) -> String {
    use pinyin::ToPinyin;
    s.chars().map(|c| c.to_pinyin().map_or_else(|| c.to_string(), |p| p.plain().to_string())).collect()
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..24).prop_map(|v| v.concat())
}

const PACK: &str = r#"
[pack]
id = "p"
version = "1"
[variants]
"微信" = ["vx"]
[[rule]]
id = "p.a"
title = "a"
category = "c"
points = 40
when = { any = ["先出票", "万块", "加微信"] }
[[rule]]
id = "p.b"
title = "b"
category = "c"
points = 30
when = { near = [["老细"], ["出票"]], within = 4 }
[[rule]]
id = "p.c"
title = "c"
category = "c"
points = 30
when = { amount = { ge = 5 } }
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn folding_is_idempotent(s in text()) {
        let once = fold(&s);
        prop_assert_eq!(fold(&once), once);
    }

    #[test]
    fn spans_are_character_ranges_whose_text_folds_to_the_evidence(s in text()) {
        let engine = Engine::new(&RuleSet::from_str("p.toml", PACK).unwrap()).unwrap();
        let v = engine.scan_text(&s);
        let chars: Vec<char> = s.chars().collect();
        for h in &v.hits {
            prop_assert_eq!(h.spans.len(), h.evidence.len());
            let mut last_end = 0;
            for (span, ev) in h.spans.iter().zip(&h.evidence) {
                prop_assert!(span[0] < span[1] && span[1] <= chars.len(), "{:?} in {:?}", span, s);
                prop_assert!(span[0] >= last_end, "spans overlap or are unordered: {:?}", h.spans);
                last_end = span[1];
                let slice: String = chars[span[0]..span[1]].iter().collect();
                prop_assert_eq!(&slice, ev);
                prop_assert!(!fold(ev).is_empty(), "evidence {:?} folds to nothing", ev);
            }
            if &*h.rule == "p.a" {
                // Literals may be matched in any mix of characters and pinyin (先出piào), so
                // compare both sides spelled out in toneless pinyin.
                let spelled: Vec<String> = h.evidence.iter().map(|e| in_pinyin(&fold(e))).collect();
                prop_assert!(
                    spelled.iter().any(|f| ["先出票", "万块", "加微信", "加vx"].iter().any(|l| f.contains(&in_pinyin(l)))),
                    "evidence {:?} of {:?}", spelled, s
                );
            }
        }
    }

    #[test]
    fn scanning_never_panics_and_levels_follow_scores(s in text()) {
        let engine = Engine::new(&RuleSet::from_str("p.toml", PACK).unwrap()).unwrap();
        let v = engine.scan_text(&s);
        let sum: u32 = v.hits.iter().map(|h| h.score).sum();
        prop_assert_eq!(v.score, sum);
        prop_assert_eq!(v.level, engine.levels().level(v.score));
    }
}
