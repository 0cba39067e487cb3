//! The evasion suite: the obfuscations fraudsters use to slip past keyword filters, as code
//! that transforms text, and a report of how well a rule set still detects its own `match`
//! examples under each of them.
//!
//! Every [`Transform`] is deterministic: the same text and seed give the same output, and the
//! seed decides where characters are inserted, which word is respelled, which style is used.
//! The catalogue, with what fanzha does against each, is `docs/EVASION.md`.
//!
//! | name | family | what it does |
//! |---|---|---|
//! | `spacing` | mechanical | spaces, dots or dashes between characters: 先 出 票, 先-出-票 |
//! | `symbols` | mechanical | decorative symbols between characters: 先★出~票 |
//! | `zero-width` | mechanical | U+200B/200C/200D/2060/FEFF anywhere, even inside words |
//! | `bidi` | mechanical | bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069) |
//! | `emoji` | mechanical | emoji, with skin tones, joiners and flags, between characters |
//! | `full-width` | mechanical | ASCII letters, digits and punctuation in full width: ＶＸ, ５万 |
//! | `traditional` | mechanical | the whole text in traditional characters (OpenCC s2t, s2hk, s2tw) |
//! | `circled-numerals` | mechanical | digits as ①②, ❶, ➀, ⓵, ⑴, ⒈, keycaps |
//! | `financial-numerals` | mechanical | numbers in Chinese numerals: 贰万, 三千五, 一三八… |
//! | `homophones` | lexical | a filtered word by a homophone or slang: 微信 → 薇信/VX, 支付宝 → zfb |
//! | `pinyin-words` | lexical | a word in toneless pinyin: 出票 → chupiao |
//! | `pinyin-initials` | lexical | a well-known word by its pinyin initials: 微信 → wx |
//! | `romanisation` | lexical | one character of a word in pinyin: 先出piao, zhuan账 |
//! | `mixed-*` | mixed | two or three of the above composed |
//!
//! ```
//! use fanzha::evasion;
//!
//! let t = evasion::transform("spacing").unwrap();
//! let out = (t.apply)("老板先出票", 7);
//! assert_ne!(out, "老板先出票");
//! assert_eq!(fanzha::fold(&out), "老板先出票");
//! assert_eq!((t.apply)("老板先出票", 7), out); // deterministic
//! ```

mod lexical;
mod mechanical;

use std::fmt::Write as _;

use serde::Serialize;

use crate::rules::RuleSet;
use crate::scan::Engine;
use crate::verdict::Level;

pub use lexical::SLANG;

/// Whether an obfuscation leaves the words alone (and so must fold away) or respells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Characters inserted or swapped for look-alikes; the fold table undoes them.
    Mechanical,
    /// A word respelled; rules meet it with variants and pinyin spellings.
    Lexical,
    /// Two or three transforms composed.
    Mixed,
}

impl Family {
    /// `mechanical`, `lexical` or `mixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Mechanical => "mechanical",
            Family::Lexical => "lexical",
            Family::Mixed => "mixed",
        }
    }
}

/// One obfuscation.
#[derive(Debug, Clone, Copy)]
pub struct Transform {
    /// Short name, e.g. `zero-width`.
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// One line on what it does.
    pub description: &'static str,
    /// Applies it: deterministic in `(text, seed)`; text it has no hold on comes back unchanged.
    pub apply: fn(&str, u64) -> String,
}

static TRANSFORMS: &[Transform] = &[
    Transform {
        name: "spacing",
        family: Family::Mechanical,
        description: "spaces, dots or dashes between characters next to Han (先 出 票, 先-出-票)",
        apply: mechanical::spacing,
    },
    Transform {
        name: "symbols",
        family: Family::Mechanical,
        description: "decorative symbols between characters next to Han (先★出|票)",
        apply: mechanical::symbols,
    },
    Transform {
        name: "zero-width",
        family: Family::Mechanical,
        description: "zero-width space, joiners, word joiner, BOM between any two characters",
        apply: mechanical::zero_width,
    },
    Transform {
        name: "bidi",
        family: Family::Mechanical,
        description: "bidi embedding, override and isolate controls between any two characters",
        apply: mechanical::bidi,
    },
    Transform {
        name: "emoji",
        family: Family::Mechanical,
        description: "emoji (skin tones, ZWJ sequences, flags) between characters next to Han",
        apply: mechanical::emoji,
    },
    Transform {
        name: "full-width",
        family: Family::Mechanical,
        description: "ASCII letters, digits, punctuation and spaces in full width (ＶＸ, ５万)",
        apply: mechanical::full_width,
    },
    Transform {
        name: "traditional",
        family: Family::Mechanical,
        description: "the text in traditional characters, OpenCC s2t, s2hk or s2tw phrase conversion",
        apply: mechanical::traditional,
    },
    Transform {
        name: "circled-numerals",
        family: Family::Mechanical,
        description: "digits as circled and enclosed numerals (⑤, ❺, ➄, ⓹, ⑸, ⒌, 5️⃣, ⑮)",
        apply: mechanical::circled_numerals,
    },
    Transform {
        name: "financial-numerals",
        family: Family::Mechanical,
        description: "numbers in Chinese numerals, financial or plain (贰万, 三千五百; 一三八… for codes)",
        apply: mechanical::financial_numerals,
    },
    Transform {
        name: "homophones",
        family: Family::Lexical,
        description: "a filtered word by a homophone or slang spelling (微信→薇信/VX, 支付宝→zfb)",
        apply: lexical::homophones,
    },
    Transform {
        name: "pinyin-words",
        family: Family::Lexical,
        description: "a word in toneless pinyin (出票→chupiao), a filtered word if there is one",
        apply: lexical::pinyin_words,
    },
    Transform {
        name: "pinyin-initials",
        family: Family::Lexical,
        description: "a well-known filtered word by its pinyin initials (微信→wx, 银行卡→yhk)",
        apply: lexical::pinyin_initials,
    },
    Transform {
        name: "romanisation",
        family: Family::Lexical,
        description: "one character of a word in pinyin (先出piao, zhuan账)",
        apply: lexical::romanisation,
    },
    Transform {
        name: "mixed-slang-spacing",
        family: Family::Mixed,
        description: "homophones, then spacing",
        apply: mixed_slang_spacing,
    },
    Transform {
        name: "mixed-traditional-zw-symbols",
        family: Family::Mixed,
        description: "traditional, then zero-width, then symbols",
        apply: mixed_traditional_zw_symbols,
    },
    Transform {
        name: "mixed-initials-full-width",
        family: Family::Mixed,
        description: "pinyin initials, then full width (ＷＸ)",
        apply: mixed_initials_full_width,
    },
    Transform {
        name: "mixed-romanisation-emoji-numerals",
        family: Family::Mixed,
        description: "romanisation, then emoji, then circled numerals",
        apply: mixed_romanisation_emoji_numerals,
    },
];

fn mixed_slang_spacing(text: &str, seed: u64) -> String {
    mechanical::spacing(&lexical::homophones(text, seed), seed ^ 0x51)
}

fn mixed_traditional_zw_symbols(text: &str, seed: u64) -> String {
    let t = mechanical::traditional(text, seed);
    mechanical::symbols(&mechanical::zero_width(&t, seed ^ 0x52), seed ^ 0x53)
}

fn mixed_initials_full_width(text: &str, seed: u64) -> String {
    mechanical::full_width(&lexical::pinyin_initials(text, seed), seed ^ 0x54)
}

fn mixed_romanisation_emoji_numerals(text: &str, seed: u64) -> String {
    let t = lexical::romanisation(text, seed);
    mechanical::circled_numerals(&mechanical::emoji(&t, seed ^ 0x55), seed ^ 0x56)
}

/// Every transform of the suite, mechanical first.
pub fn transforms() -> &'static [Transform] {
    TRANSFORMS
}

/// The transform called `name`.
pub fn transform(name: &str) -> Option<&'static Transform> {
    TRANSFORMS.iter().find(|t| t.name == name)
}

/// Whether `c` is a Han ideograph (or 〇, 々).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
        || c == '〇'
        || c == '々'
}

/// A small seeded generator (SplitMix64): reproducible, no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed`, salted with the transform's name so that transforms composed
    /// with one seed do not make the same choices.
    pub(crate) fn new(seed: u64, salt: &str) -> Rng {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in salt.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3);
        }
        Rng(seed ^ h)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
}

/// Detection rate each mechanical transform must reach.
pub const MECHANICAL_MIN: f64 = 0.99;
/// Detection rate every transform must reach.
pub const EACH_MIN: f64 = 0.90;
/// Detection rate over all transforms together.
pub const OVERALL_MIN: f64 = 0.95;

/// The seeds the report uses unless told otherwise.
pub const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 4];

/// A `match` example that its rule no longer hits once transformed.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    /// The rule.
    pub rule: String,
    /// The seed.
    pub seed: u64,
    /// The example as written.
    pub original: String,
    /// The example transformed.
    pub transformed: String,
}

/// A text that reached `warn` only once transformed.
#[derive(Debug, Clone, Serialize)]
pub struct NewWarning {
    /// Where the text came from: `no_match of RULE`, or a label given to [`Report::check_quiet`].
    pub source: String,
    /// The seed.
    pub seed: u64,
    /// The text as written.
    pub original: String,
    /// The text transformed.
    pub transformed: String,
    /// The level reached.
    pub level: Level,
    /// The rules that hit.
    pub rules: Vec<String>,
}

/// How one transform fared.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The transform's name.
    pub transform: &'static str,
    /// Its family.
    pub family: Family,
    /// `match` examples × seeds tried (examples their rule does not hit as written are left out).
    pub trials: usize,
    /// Trials whose text the transform changed: the rate is over these.
    pub changed: usize,
    /// Changed trials whose rule still hit.
    pub detected: usize,
    /// Changed trials whose rule no longer hit.
    pub misses: Vec<Miss>,
    /// Texts that were below `warn` and reached it once transformed.
    pub new_warnings: Vec<NewWarning>,
}

impl Outcome {
    /// Detected over changed (1 when nothing changed).
    pub fn rate(&self) -> f64 {
        if self.changed == 0 {
            1.0
        } else {
            self.detected as f64 / self.changed as f64
        }
    }

    /// The rate this transform must reach.
    pub fn threshold(&self) -> f64 {
        if self.family == Family::Mechanical {
            MECHANICAL_MIN
        } else {
            EACH_MIN
        }
    }
}

/// The evasion report of a rule set: detection per transform, and new warnings on text that
/// must stay quiet.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One outcome per transform, in [`transforms`] order.
    pub outcomes: Vec<Outcome>,
    /// The seeds used.
    pub seeds: Vec<u64>,
    /// `no_match` examples and other quiet texts checked, before transforms and seeds.
    pub quiet_texts: usize,
}

impl Report {
    /// Applies every transform with every seed to every `match` example of `rules` (the rule
    /// must still hit, as `fanzha test` judges it) and every `no_match` example (the text must
    /// not reach `warn` unless it did as written). `engine` must be compiled from `rules`.
    pub fn run(rules: &RuleSet, engine: &Engine, seeds: &[u64]) -> Report {
        let mut scanner = engine.scanner();
        scanner.keep_duplicates = true;
        let mut outcomes: Vec<Outcome> = TRANSFORMS
            .iter()
            .map(|t| Outcome {
                transform: t.name,
                family: t.family,
                trials: 0,
                changed: 0,
                detected: 0,
                misses: Vec::new(),
                new_warnings: Vec::new(),
            })
            .collect();
        for rule in &rules.rules {
            for (text, _) in &rule.examples_match {
                let hits = |v: &crate::verdict::Verdict| v.hits.iter().any(|h| *h.rule == *rule.id);
                if !hits(&scanner.scan_text(text)) {
                    // A failing example: `fanzha test` reports it; it measures nothing here.
                    continue;
                }
                for (t, out) in TRANSFORMS.iter().zip(outcomes.iter_mut()) {
                    for &seed in seeds {
                        out.trials += 1;
                        let transformed = (t.apply)(text, seed);
                        if transformed == *text {
                            continue;
                        }
                        out.changed += 1;
                        if hits(&scanner.scan_text(&transformed)) {
                            out.detected += 1;
                        } else {
                            out.misses.push(Miss {
                                rule: rule.id.clone(),
                                seed,
                                original: text.clone(),
                                transformed,
                            });
                        }
                    }
                }
            }
        }
        let mut report = Report { outcomes, seeds: seeds.to_vec(), quiet_texts: 0 };
        let no_match: Vec<(String, &str)> = rules
            .rules
            .iter()
            .flat_map(|r| {
                r.examples_no_match.iter().map(move |(t, _)| (format!("no_match of {}", r.id), t.as_str()))
            })
            .collect();
        let mut quiet = engine.scanner();
        for (source, text) in no_match {
            report.check_one(&mut quiet, &source, text);
        }
        report
    }

    /// Applies every transform with every seed to each of `texts` (ordinary text that must stay
    /// quiet) and records each that reaches `warn` only once transformed, labelled `source`.
    pub fn check_quiet<'a>(
        &mut self,
        engine: &Engine,
        source: &str,
        texts: impl IntoIterator<Item = &'a str>,
    ) {
        let mut scanner = engine.scanner();
        for text in texts {
            self.check_one(&mut scanner, source, text);
        }
    }

    fn check_one(&mut self, scanner: &mut crate::scan::Scanner, source: &str, text: &str) {
        self.quiet_texts += 1;
        if scanner.scan_text(text).level >= Level::Warn {
            // Already loud as written: not what this check is about.
            return;
        }
        for (t, out) in TRANSFORMS.iter().zip(self.outcomes.iter_mut()) {
            for &seed in &self.seeds {
                let transformed = (t.apply)(text, seed);
                if transformed == text {
                    continue;
                }
                let v = scanner.scan_text(&transformed);
                if v.level >= Level::Warn {
                    out.new_warnings.push(NewWarning {
                        source: source.to_string(),
                        seed,
                        original: text.to_string(),
                        transformed,
                        level: v.level,
                        rules: v.hits.iter().map(|h| h.rule.to_string()).collect(),
                    });
                }
            }
        }
    }

    /// Detection over all changed trials of all transforms.
    pub fn overall(&self) -> f64 {
        let changed: usize = self.outcomes.iter().map(|o| o.changed).sum();
        let detected: usize = self.outcomes.iter().map(|o| o.detected).sum();
        if changed == 0 {
            1.0
        } else {
            detected as f64 / changed as f64
        }
    }

    /// The per-transform table, as printed by `fanzha test --evasion`.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<34} {:<10} {:>7} {:>7} {:>8} {:>7} {:>5}  new warnings",
            "transform", "family", "trials", "changed", "detected", "rate", "need"
        );
        for o in &self.outcomes {
            let _ = writeln!(
                s,
                "{:<34} {:<10} {:>7} {:>7} {:>8} {:>6.1}% {:>4.0}%  {}",
                o.transform,
                o.family.as_str(),
                o.trials,
                o.changed,
                o.detected,
                o.rate() * 100.0,
                o.threshold() * 100.0,
                o.new_warnings.len()
            );
        }
        let changed: usize = self.outcomes.iter().map(|o| o.changed).sum();
        let detected: usize = self.outcomes.iter().map(|o| o.detected).sum();
        let trials: usize = self.outcomes.iter().map(|o| o.trials).sum();
        let warnings: usize = self.outcomes.iter().map(|o| o.new_warnings.len()).sum();
        let _ = writeln!(
            s,
            "{:<34} {:<10} {:>7} {:>7} {:>8} {:>6.1}% {:>4.0}%  {}",
            "overall",
            "",
            trials,
            changed,
            detected,
            self.overall() * 100.0,
            OVERALL_MIN * 100.0,
            warnings
        );
        let _ = write!(
            s,
            "seeds {:?}; {} quiet texts checked under every transform",
            self.seeds, self.quiet_texts
        );
        s
    }

    /// Every way the report falls short: a transform under its threshold, the overall rate
    /// under [`OVERALL_MIN`], a new warning. Empty when the rule set passes.
    pub fn shortfalls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for o in &self.outcomes {
            if o.rate() < o.threshold() {
                out.push(format!(
                    "{}: {:.1}% of changed match examples detected, {:.0}% needed",
                    o.transform,
                    o.rate() * 100.0,
                    o.threshold() * 100.0
                ));
            }
            for w in &o.new_warnings {
                out.push(format!(
                    "{}: {} seed {}: {:?} → {:?} reaches {} [{}]",
                    o.transform,
                    w.source,
                    w.seed,
                    w.original,
                    w.transformed,
                    w.level,
                    w.rules.join(", ")
                ));
            }
        }
        if self.overall() < OVERALL_MIN {
            out.push(format!(
                "overall: {:.1}% detected, {:.0}% needed",
                self.overall() * 100.0,
                OVERALL_MIN * 100.0
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_are_deterministic_and_vary_with_the_seed() {
        let text = "老板先出票，加我微信转账5000元";
        for t in transforms() {
            assert_eq!((t.apply)(text, 9), (t.apply)(text, 9), "{}", t.name);
            let outs: std::collections::BTreeSet<String> = (0..8).map(|s| (t.apply)(text, s)).collect();
            assert!(outs.len() > 1 || t.name == "traditional", "{} ignores the seed", t.name);
        }
    }

    #[test]
    fn names_are_unique() {
        let names: std::collections::BTreeSet<_> = transforms().iter().map(|t| t.name).collect();
        assert_eq!(names.len(), transforms().len());
    }
}
