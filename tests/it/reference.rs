//! The compiled engine agrees with a deliberately simple reference evaluator: a loop over
//! rules and terms with `str::contains` on the folded text.

use std::collections::BTreeSet;

use fanzha::{fold, Engine, RuleSet};
use proptest::prelude::*;

const WORDS: &[&str] =
    &["先出", "出票", "票款", "转账", "轉帳", "老板", "老闆", "大客户", "垫付", "烟酒", "收款码", "码"];
const NOISE: &[&str] = &["，", " ", "哈", "嘛", "的", "!", "\u{200b}", "了"];

#[derive(Debug, Clone)]
enum Cond {
    Any(Vec<usize>),
    All(Vec<usize>),
    AnyNone(Vec<usize>, Vec<usize>),
    Near(Vec<usize>, Vec<usize>, u32, bool),
    /// A regex: word, up to two characters, word (gated by the first word's literal).
    Regex(usize, usize),
}

fn regex_of(a: usize, b: usize) -> String {
    format!("{}.{{0,2}}{}", fold(WORDS[a]), fold(WORDS[b]))
}

fn terms() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..WORDS.len(), 1..4)
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        terms().prop_map(Cond::Any),
        terms().prop_map(Cond::All),
        (terms(), terms()).prop_map(|(a, b)| Cond::AnyNone(a, b)),
        (terms(), terms(), 0u32..6, any::<bool>()).prop_map(|(a, b, w, o)| Cond::Near(a, b, w, o)),
        (0..WORDS.len(), 0..WORDS.len()).prop_map(|(a, b)| Cond::Regex(a, b)),
    ]
}

fn list(ix: &[usize]) -> String {
    let q: Vec<String> = ix.iter().map(|&i| format!("{:?}", WORDS[i])).collect();
    format!("[{}]", q.join(", "))
}

fn pack(conds: &[Cond]) -> String {
    let mut s = String::from("[pack]\nid = \"r\"\nversion = \"1\"\n");
    for (i, c) in conds.iter().enumerate() {
        let when = match c {
            Cond::Any(a) => format!("{{ any = {} }}", list(a)),
            Cond::All(a) => format!("{{ all = {} }}", list(a)),
            Cond::AnyNone(a, b) => format!("{{ any = {}, none = {} }}", list(a), list(b)),
            Cond::Near(a, b, w, o) => {
                format!("{{ near = [{}, {}], within = {w}, ordered = {o} }}", list(a), list(b))
            }
            Cond::Regex(a, b) => format!("{{ any = [\"/{}/\"] }}", regex_of(*a, *b)),
        };
        s.push_str(&format!(
            "[[rule]]\nid = \"r.{i}\"\ntitle = \"t\"\ncategory = \"c{i}\"\npoints = 10\nwhen = {when}\n"
        ));
    }
    s
}

/// Character positions [start, end) of every occurrence, overlapping ones included.
fn occurrences(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = hay.chars().collect();
    let n: Vec<char> = needle.chars().collect();
    (0..chars.len()).filter(|&i| chars[i..].starts_with(&n)).map(|i| (i, i + n.len())).collect()
}

fn reference(conds: &[Cond], text: &str) -> BTreeSet<String> {
    let folded = fold(text);
    let has = |i: &usize| folded.contains(&fold(WORDS[*i]));
    let occ = |ix: &[usize]| -> Vec<(usize, usize)> {
        ix.iter().flat_map(|&i| occurrences(&folded, &fold(WORDS[i]))).collect()
    };
    let mut out = BTreeSet::new();
    for (i, c) in conds.iter().enumerate() {
        let hit = match c {
            Cond::Any(a) => a.iter().any(has),
            Cond::All(a) => a.iter().all(has),
            Cond::AnyNone(a, b) => a.iter().any(has) && !b.iter().any(has),
            Cond::Regex(a, b) => regex::Regex::new(&regex_of(*a, *b)).unwrap().is_match(&folded),
            Cond::Near(a, b, w, ordered) => {
                let (oa, ob) = (occ(a), occ(b));
                oa.iter().any(|&(sa, ea)| {
                    ob.iter().any(|&(sb, eb)| {
                        let nested = (sa <= sb && eb <= ea) || (sb <= sa && ea <= eb);
                        !nested
                            && if *ordered {
                                sb >= sa && (sb as i64 - ea as i64) <= *w as i64
                            } else {
                                (sa.max(sb) as i64 - ea.min(eb) as i64) <= *w as i64
                            }
                    })
                })
            }
        };
        if hit {
            out.insert(format!("r.{i}"));
        }
    }
    out
}

fn message() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(WORDS.to_vec()),
            1 => prop::sample::select(NOISE.to_vec()),
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference(
        conds in prop::collection::vec(cond(), 1..6),
        texts in prop::collection::vec(message(), 1..8),
    ) {
        let engine = Engine::new(&RuleSet::from_str("r.toml", &pack(&conds)).unwrap()).unwrap();
        let mut scanner = engine.scanner();
        for t in &texts {
            let got: BTreeSet<String> = scanner.scan_text(t).hits.iter().map(|h| h.rule.to_string()).collect();
            prop_assert_eq!(&got, &reference(&conds, t), "text {:?}", t);
        }
    }
}
