//! `differential`: the compiled engine against the reference evaluator.
//!
//! The bytes are decoded into up to five rule conditions over the reference model's words
//! (`any`, `all`, `any`+`none`, `near` with a window and order, a gated regex) and up to eight
//! messages made of those words, single characters of them, and separators the normalizer
//! folds away or keeps. The rules compiled into an engine must hit exactly where
//! [`crate::reference::reference`] (a loop of `str::contains` on the folded text) says, with
//! one scanner reused across the messages.

use std::collections::BTreeSet;

use fanzha::{Engine, RuleSet};

use crate::reference::{pack, reference, Cond, NOISE, WORDS};
use crate::Bytes;

/// Pieces of messages beyond the model's: single characters of its words (partial and
/// overlapping matches) and separators of other kinds (full-width space, brackets,
/// full-width digit). No Latin letters: the engine also matches pinyin spellings of words,
/// which the model does not know.
const EXTRA: &[&str] =
    &["先", "出", "票", "款", "码", "（", "）", "(", ")", "、", "\u{3000}", "５", "-", "·"];

/// Terms: one to three indices into [`WORDS`].
fn terms(b: &mut Bytes) -> Vec<usize> {
    let n = 1 + b.below(3);
    (0..n).map(|_| b.below(WORDS.len())).collect()
}

/// Conditions and messages from bytes: the fuzz target's input format.
pub fn decode(data: &[u8]) -> (Vec<Cond>, Vec<String>) {
    let mut b = Bytes::new(data);
    let n = 1 + b.below(5);
    let mut conds = Vec::with_capacity(n);
    for _ in 0..n {
        let c = match b.below(5) {
            0 => Cond::Any(terms(&mut b)),
            1 => Cond::All(terms(&mut b)),
            2 => Cond::AnyNone(terms(&mut b), terms(&mut b)),
            3 => {
                let (x, y) = (terms(&mut b), terms(&mut b));
                let within = b.below(6) as u32;
                Cond::Near(x, y, within, b.byte() & 1 == 1)
            }
            _ => Cond::Regex(b.below(WORDS.len()), b.below(WORDS.len())),
        };
        conds.push(c);
    }
    let mut texts = Vec::new();
    while !b.is_empty() && texts.len() < 8 {
        let len = b.below(13);
        let mut t = String::new();
        for _ in 0..len {
            let x = b.byte();
            let piece = match x % 8 {
                0..=4 => WORDS[(x as usize >> 3) % WORDS.len()],
                5 | 6 => NOISE[(x as usize >> 3) % NOISE.len()],
                _ => EXTRA[(x as usize >> 3) % EXTRA.len()],
            };
            t.push_str(piece);
        }
        texts.push(t);
    }
    (conds, texts)
}

pub fn run(data: &[u8]) {
    let (conds, texts) = decode(data);
    let source = pack(&conds);
    let rules = RuleSet::from_str("r.toml", &source).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let engine = Engine::new(&rules).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let mut scanner = engine.scanner();
    for t in &texts {
        let got: BTreeSet<String> = scanner.scan_text(t).hits.iter().map(|h| h.rule.to_string()).collect();
        assert_eq!(got, reference(&conds, t), "text {t:?}, rules {conds:?}");
    }
}
