//! Spellings: every way a literal may be written (declared variants, pinyin), and regexes
//! folded and checked.
//!
//! Fraudsters dodge keyword filters by respelling (加vx, 先出piao), so a literal stands for
//! all its spellings in the automaton; the limits keep one literal, or one variant table, from
//! blowing the automaton up.

use std::collections::{BTreeMap, BTreeSet};

use super::codes::Problem;
use crate::normalize::fold;

/// Every spelling of a folded literal under the declared variants, or how many there were
/// when they passed `limit`.
pub(super) fn spellings(
    variants: &BTreeMap<String, BTreeSet<String>>,
    folded: &str,
    limit: usize,
) -> Result<BTreeSet<String>, usize> {
    let mut all = BTreeSet::new();
    all.insert(folded.to_string());
    // Substitute each canonical text everywhere it occurs, one canonical at a time, so
    // spellings combine (加微信转账 → 加vx转帐).
    for (canonical, spellings) in variants {
        if !folded.contains(canonical.as_str()) {
            continue;
        }
        let mut next = all.clone();
        for s in &all {
            for (pos, _) in s.match_indices(canonical.as_str()) {
                for v in spellings {
                    let mut t = String::with_capacity(s.len() + v.len());
                    t.push_str(&s[..pos]);
                    t.push_str(v);
                    t.push_str(&s[pos + canonical.len()..]);
                    next.insert(t);
                    if next.len() > limit {
                        return Err(next.len());
                    }
                }
            }
        }
        all = next;
    }
    Ok(all)
}

/// Adds the pinyin spellings fraudsters use to dodge keyword filters: any run of characters in
/// pinyin (先出piao, xianchu票, 安全zhanghu) and, for longer literals, the whole phrase
/// (xianchupiao, xian chu piao). Best effort: stops quietly at the spelling limit, since the declared
/// spellings matter more.
pub(super) fn add_pinyin_spellings(folded: &str, all: &mut BTreeSet<String>, limit: usize) {
    use pinyin::ToPinyinMulti;
    // Several readings would be a product; the first is what people type.
    let chars: Vec<char> = folded.chars().collect();
    let readings: Vec<Vec<&'static str>> = chars
        .iter()
        .map(|c| {
            c.to_pinyin_multi()
                .map(|m| {
                    // The first reading is the common one; rare readings (信 shen) only add noise.
                    m.into_iter().map(|p| p.plain()).take(1).collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let han = readings.iter().filter(|r| !r.is_empty()).count();
    if han < 2 {
        // A lone character in pinyin ("ma", "piao") is an ordinary syllable, not evidence.
        return;
    }
    let add = |s: String, all: &mut BTreeSet<String>| {
        if all.len() < limit {
            all.insert(s);
        }
    };
    // Every contiguous run of characters in pinyin, shorter than the whole literal: people
    // type the word they can't be bothered to pick from the input method (安全zhanghu).
    for i in 0..chars.len() {
        for j in i + 1..=chars.len() {
            if j - i == chars.len() || readings[i..j].iter().any(Vec::is_empty) {
                continue;
            }
            let mut s = String::new();
            s.extend(&chars[..i]);
            for r in &readings[i..j] {
                s.push_str(r[0]);
            }
            s.extend(&chars[j..]);
            add(s, all);
        }
    }
    if han == chars.len() && chars.len() >= 3 {
        let first: Vec<&str> = readings.iter().map(|r| r[0]).collect();
        add(first.concat(), all);
        add(first.join(" "), all);
    }
}

/// Folds the CJK characters of a regex so `萬` in a pattern meets `万` in folded text; ASCII
/// is left alone because it carries the regex syntax.
pub(super) fn fold_regex(pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let f = fold(&c.to_string());
                if f.chars().count() == 1 && !f.is_ascii() {
                    f
                } else {
                    c.to_string()
                }
            }
        })
        .collect()
}

/// Whether a regex is valid, within `size_limit` and unable to match the empty string.
pub(super) fn check_regex(pattern: &str, size_limit: usize) -> Result<(), Problem> {
    let hir = regex_syntax::Parser::new().parse(pattern).map_err(|e| {
        Problem::Regex(format!("invalid regular expression: {}", e.to_string().lines().last().unwrap_or("")))
    })?;
    if hir.properties().minimum_len() == Some(0) {
        return Err(Problem::RegexMatchesEmpty);
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .dfa_size_limit(size_limit)
        .build()
        .map_err(|e| Problem::Regex(format!("invalid regular expression: {e}")))?;
    Ok(())
}
