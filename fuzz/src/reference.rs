//! A deliberately simple reference evaluator: a loop over rules and terms with
//! `str::contains` on the folded text. The compiled engine must agree with it.
//!
//! Shared by the proptest in `tests/it/reference.rs` (which includes this file by path) and
//! the `differential` fuzz target, so both judge the engine by the same model.

use std::collections::BTreeSet;

use fanzha::fold;

/// Words the rules are made of: overlapping ones (先出 / 出票 / 票款), traditional and
/// simplified spellings, a one-character word inside longer ones (码 in 收款码).
pub const WORDS: &[&str] =
    &["先出", "出票", "票款", "转账", "轉帳", "老板", "老闆", "大客户", "垫付", "烟酒", "收款码", "码"];
/// What may stand between words in a message: folded away next to CJK, or kept.
pub const NOISE: &[&str] = &["，", " ", "哈", "嘛", "的", "!", "\u{200b}", "了"];

/// One rule's condition, over indices into [`WORDS`].
#[derive(Debug, Clone)]
pub enum Cond {
    Any(Vec<usize>),
    All(Vec<usize>),
    AnyNone(Vec<usize>, Vec<usize>),
    Near(Vec<usize>, Vec<usize>, u32, bool),
    /// A regex: word, up to two characters, word (gated by the first word's literal).
    Regex(usize, usize),
}

pub fn regex_of(a: usize, b: usize) -> String {
    format!("{}.{{0,2}}{}", fold(WORDS[a]), fold(WORDS[b]))
}

fn list(ix: &[usize]) -> String {
    let q: Vec<String> = ix.iter().map(|&i| format!("{:?}", WORDS[i])).collect();
    format!("[{}]", q.join(", "))
}

/// A rule pack with rule `r.{i}` for condition `i`.
pub fn pack(conds: &[Cond]) -> String {
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
pub fn occurrences(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = hay.chars().collect();
    let n: Vec<char> = needle.chars().collect();
    (0..chars.len()).filter(|&i| chars[i..].starts_with(&n)).map(|i| (i, i + n.len())).collect()
}

/// The ids of the rules of `pack(conds)` that hit `text`.
pub fn reference(conds: &[Cond], text: &str) -> BTreeSet<String> {
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
