//! Generates the character fold table from the complete Unicode and OpenCC data.
//!
//! Folding a message must cost one table look-up per character (measured against the
//! alternatives in docs/BENCHMARKS.md), so the expensive parts — NFKC, accent stripping,
//! lowercasing, and OpenCC's traditional→simplified character conversion — are applied here
//! once to every code point, and the result is written as a run-length encoded table that
//! `src/normalize/table.rs` expands at first use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

// Classes, mirrored in src/normalize/table.rs.
const DROP: u32 = 0;
const SEP: u32 = 1;
const CJK: u32 = 2;
const ASCII: u32 = 3;
const WORD: u32 = 4;
const MULTI: u32 = 5;

/// Variant characters that survive OpenCC's t2s but that people use interchangeably with a
/// more common simplified form in money talk. Kept deliberately tiny: OpenCC is the source of
/// truth for traditional→simplified, this only merges simplified-side variants.
const VARIANTS: &[(char, char)] = &[('帐', '账'), ('欵', '款'), ('綫', '线')];

/// Financial (anti-forgery) numerals fold to the plain ones, so that a rule written with 五万 or
/// a regex over 一二三 meets 伍万 and 捌拾份. 陆 stays: it is mostly "land" (大陆, 登陆), read
/// lu, and folding it would give its literals the wrong pinyin; the amount parser knows it.
const FINANCIAL: &[(char, char)] = &[
    ('壹', '一'),
    ('贰', '二'),
    ('叁', '三'),
    ('肆', '四'),
    ('伍', '五'),
    ('柒', '七'),
    ('捌', '八'),
    ('玖', '九'),
    ('拾', '十'),
    ('佰', '百'),
    ('仟', '千'),
];

/// Enclosed numerals that have no compatibility decomposition, so NFKC leaves them alone while
/// ① → 1 and ⑴ → (1) fold: the dingbat circles (❶ ➀ ➊), double circles (⓵), negative circles
/// (⓫ ⓿) and the circled sans-serif zeros. Each block is consecutive in Unicode:
/// (first code point, last code point, value of the first).
const ENCLOSED_NUMERALS: &[(u32, u32, u32)] = &[
    (0x2776, 0x277F, 1),   // ❶ … ❿
    (0x2780, 0x2789, 1),   // ➀ … ➉
    (0x278A, 0x2793, 1),   // ➊ … ➓
    (0x24EB, 0x24F4, 11),  // ⓫ … ⓴
    (0x24F5, 0x24FE, 1),   // ⓵ … ⓾
    (0x24FF, 0x24FF, 0),   // ⓿
    (0x1F10B, 0x1F10B, 0), // 🄋
    (0x1F10C, 0x1F10C, 0), // 🄌
];

fn enclosed_numeral(c: char) -> Option<String> {
    let cp = c as u32;
    ENCLOSED_NUMERALS
        .iter()
        .find(|&&(s, e, _)| (s..=e).contains(&cp))
        .map(|&(s, _, v)| (v + cp - s).to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    bundle_rule_packs();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // The table only depends on this script and its dependencies, i.e. on the script's own
    // binary: skip the minute of work when the build reruns for a changed rule pack.
    let stamp = std::env::current_exe()
        .and_then(std::fs::read)
        .map(|bytes| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            format!("{:x}", h.finish())
        })
        .unwrap_or_default();
    let stamp_file = out_dir.join("fold_table.stamp");
    if !stamp.is_empty()
        && out_dir.join("fold_table.rs").exists()
        && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp)
    {
        return;
    }
    generate_fold_table(&out_dir);
    std::fs::write(stamp_file, stamp).unwrap();
}

fn generate_fold_table(out_dir: &std::path::Path) {
    let t2s = OpenCC::from_config(BuiltinConfig::T2s).expect("OpenCC t2s config");
    let hk2s = OpenCC::from_config(BuiltinConfig::Hk2s).expect("OpenCC hk2s config");
    let tw2s = OpenCC::from_config(BuiltinConfig::Tw2s).expect("OpenCC tw2s config");

    let fold_char = |c: char| -> String {
        if let Some(digits) = enclosed_numeral(c) {
            return digits;
        }
        // Compatibility decomposition, then drop accents so that pinyin with tone marks
        // (piào) and plain pinyin (piao) meet; recompose what is left (Hangul, kana).
        let decomposed: String = c.to_string().nfkd().filter(|&d| !is_combining_mark(d)).collect();
        let composed: String = decomposed.nfc().collect();
        let lower = composed.to_lowercase();
        let mut out = String::new();
        for d in lower.chars() {
            if d.script() == Script::Han {
                let s = d.to_string();
                let mut conv = t2s.convert(&s);
                if conv == s {
                    conv = hk2s.convert(&s);
                }
                if conv == s {
                    conv = tw2s.convert(&s);
                }
                // Only a one-to-one character conversion is a fold; phrase-level results
                // don't apply to a single character.
                let mut it = conv.chars();
                let d2 = match (it.next(), it.next()) {
                    (Some(x), None) => x,
                    _ => d,
                };
                let d3 = VARIANTS
                    .iter()
                    .chain(FINANCIAL)
                    .find(|(from, _)| *from == d2)
                    .map(|(_, to)| *to)
                    .unwrap_or(d2);
                out.push(d3);
            } else {
                out.push(d);
            }
        }
        out
    };

    let class_of = |d: char| -> u32 {
        if d.is_ascii_alphanumeric() {
            return ASCII;
        }
        match get_general_category(d) {
            GeneralCategory::Format
            | GeneralCategory::NonspacingMark
            | GeneralCategory::EnclosingMark
            | GeneralCategory::Surrogate => return DROP,
            _ => {}
        }
        match d.script() {
            Script::Han | Script::Hiragana | Script::Katakana | Script::Bopomofo | Script::Hangul
                if d.is_alphanumeric() || d == '々' || d == '〇' =>
            {
                CJK
            }
            _ if d.is_alphanumeric() => WORD,
            _ => SEP,
        }
    };

    // Entry: class << 24 | payload. Payload is the folded char, or for MULTI an index into
    // the multi-char table. Bit 31 marks "identity" in runs (payload = the code point itself).
    const IDENT: u32 = 1 << 31;
    let mut multi: Vec<String> = Vec::new();
    let mut multi_index: BTreeMap<String, u32> = BTreeMap::new();
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    for cp in 0u32..=0x10FFFF {
        let Some(c) = char::from_u32(cp) else { continue };
        // Iterate to a fixpoint so folding is idempotent (a fold's output folds to itself).
        let mut f = fold_char(c);
        for _ in 0..4 {
            let g: String = f.chars().map(fold_char).collect();
            if g == f {
                break;
            }
            f = g;
        }
        let entry = if get_general_category(c) == GeneralCategory::Format || f.is_empty() {
            DROP << 24
        } else {
            let mut chars = f.chars();
            let first = chars.next().unwrap();
            if chars.next().is_none() {
                let class = class_of(first);
                if class == DROP {
                    DROP << 24
                } else if first == c {
                    IDENT | class << 24
                } else {
                    class << 24 | first as u32
                }
            } else {
                let kept: String = f.chars().filter(|&d| class_of(d) != DROP).collect();
                let next = multi.len() as u32;
                let idx = *multi_index.entry(kept.clone()).or_insert_with(|| {
                    multi.push(kept);
                    next
                });
                MULTI << 24 | idx
            }
        };
        match runs.last_mut() {
            Some((_, end, e)) if *end + 1 == cp && *e == entry && entry & IDENT != 0 => *end = cp,
            Some((_, end, e)) if *end + 1 == cp && *e == entry && entry >> 24 == DROP => *end = cp,
            _ => runs.push((cp, cp, entry)),
        }
    }

    let mut src = String::new();
    src.push_str("// Generated by build.rs from Unicode and OpenCC data. Do not edit.\n");
    writeln!(src, "pub(super) static RUNS: [(u32, u32, u32); {}] = [", runs.len()).unwrap();
    for (s, e, v) in &runs {
        writeln!(src, "({s:#x},{e:#x},{v:#x}),").unwrap();
    }
    src.push_str("];\n");
    writeln!(src, "pub(super) static MULTI: [&str; {}] = [", multi.len()).unwrap();
    for m in &multi {
        writeln!(src, "{m:?},").unwrap();
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("fold_table.rs"), src).unwrap();
}

/// Lists `rules/*.toml` so the bundled packs are compiled into the crate in name order.
fn bundle_rule_packs() {
    println!("cargo:rerun-if-changed=rules");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    let mut src = String::from("// Generated by build.rs from rules/*.toml. Do not edit.\n");
    src.push_str("pub(super) static PACKS: &[(&str, &str)] = &[\n");
    for f in &files {
        let name = format!("rules/{}", f.file_name().unwrap().to_string_lossy());
        println!("cargo:rerun-if-changed={}", f.display());
        writeln!(src, "({name:?}, include_str!({:?})),", f.display().to_string()).unwrap();
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bundled_packs.rs");
    std::fs::write(out, src).unwrap();
}
