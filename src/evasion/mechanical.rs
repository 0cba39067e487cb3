//! Mechanical obfuscations: characters inserted, or characters swapped for look-alikes, without
//! changing a word. The fold table undoes every one of them.

use std::sync::OnceLock;

use super::{is_han, Rng};

/// Separators people type between characters: ASCII and ideographic spaces, dots, dashes.
const SPACERS: &[&str] = &[" ", "  ", "　", ".", "-", "_", "·", "。", "，", "、", "…", "--", " . "];

/// Symbols used as decoration or as filter breakers.
const SYMBOLS: &[&str] = &[
    "★", "☆", "~", "～", "|", "｜", "・", "※", "♡", "♥", "*", "#", "/", "\\", "+", "=", "^", "→", "↓", "◆",
    "■", "●", "○", "△", "√", "✓", "✔", "✘", "♂", "♀", "♪", "§", "¤", "〓", "【", "】", "「", "」", "『",
    "』", "<", ">", "《", "》", "$", "%", "&", "@",
];

/// Zero-width characters: space, non-joiner, joiner, word joiner, byte-order mark.
const ZERO_WIDTH: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Bidirectional controls: embeddings and overrides (U+202A–202E) and isolates (U+2066–2069).
const BIDI: &[char] = &[
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// Emoji as people type them: single code points, with variation selectors, with skin tones,
/// joined sequences and flags. None of them carries a letter, digit or ideograph.
const EMOJI: &[&str] = &[
    "😀",
    "😂",
    "🙏",
    "💰",
    "🔥",
    "✨",
    "❤️",
    "👍",
    "👍🏻",
    "🎫",
    "🧧",
    "💴",
    "📱",
    "✅",
    "⭐️",
    "🌹",
    "🤝",
    "👉",
    "😊",
    "💯",
    "🎉",
    "🙂",
    "😘",
    "💪🏼",
    "👨\u{200D}💻",
    "🇨🇳",
    "☎️",
    "⚠️",
    "➡️",
];

/// Inserts `pick`'s output into gaps next to a Han character, each with probability 1/2 and at
/// least one (chosen by the seed) when there is any such gap. Only gaps next to Han: between
/// two Latin letters or two digits a space changes the word (`v x`, `5 000`), which is not
/// the same message any more.
fn insert_near_han(text: &str, rng: &mut Rng, mut pick: impl FnMut(&mut Rng) -> String) -> String {
    insert(text, rng, |a, b| is_han(a) || is_han(b), &mut pick)
}

/// Inserts into any gap between two characters.
fn insert_anywhere(text: &str, rng: &mut Rng, mut pick: impl FnMut(&mut Rng) -> String) -> String {
    insert(text, rng, |_, _| true, &mut pick)
}

fn insert(
    text: &str,
    rng: &mut Rng,
    eligible: impl Fn(char, char) -> bool,
    pick: &mut dyn FnMut(&mut Rng) -> String,
) -> String {
    let chars: Vec<char> = text.chars().collect();
    let gaps: Vec<usize> = (1..chars.len()).filter(|&i| eligible(chars[i - 1], chars[i])).collect();
    if gaps.is_empty() {
        return text.to_string();
    }
    let forced = gaps[rng.below(gaps.len())];
    let mut out = String::with_capacity(text.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && gaps.binary_search(&i).is_ok() && (i == forced || rng.chance(1, 2)) {
            out.push_str(&pick(rng));
        }
        out.push(c);
    }
    out
}

pub(super) fn spacing(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "spacing");
    // One spacer per message, as people type: 先 出 票 or 先-出-票.
    let spacer = SPACERS[rng.below(SPACERS.len())];
    insert_near_han(text, &mut rng, |_| spacer.to_string())
}

pub(super) fn symbols(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "symbols");
    insert_near_han(text, &mut rng, |r| SYMBOLS[r.below(SYMBOLS.len())].to_string())
}

pub(super) fn zero_width(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "zero-width");
    insert_anywhere(text, &mut rng, |r| ZERO_WIDTH[r.below(ZERO_WIDTH.len())].to_string())
}

pub(super) fn bidi(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "bidi");
    insert_anywhere(text, &mut rng, |r| BIDI[r.below(BIDI.len())].to_string())
}

pub(super) fn emoji(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "emoji");
    insert_near_han(text, &mut rng, |r| EMOJI[r.below(EMOJI.len())].to_string())
}

pub(super) fn full_width(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "full-width");
    let ascii: Vec<usize> =
        text.char_indices().filter(|(_, c)| c.is_ascii_graphic() || *c == ' ').map(|(i, _)| i).collect();
    if ascii.is_empty() {
        return text.to_string();
    }
    let forced = ascii[rng.below(ascii.len())];
    text.char_indices()
        .map(|(i, c)| {
            let convert = (c.is_ascii_graphic() || c == ' ') && (i == forced || rng.chance(3, 4));
            match c {
                ' ' if convert => '\u{3000}',
                '!'..='~' if convert => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            }
        })
        .collect()
}

pub(super) fn traditional(text: &str, seed: u64) -> String {
    use ferrous_opencc::{config::BuiltinConfig, OpenCC};
    static CONVERTERS: OnceLock<Vec<OpenCC>> = OnceLock::new();
    let converters = CONVERTERS.get_or_init(|| {
        [BuiltinConfig::S2t, BuiltinConfig::S2hk, BuiltinConfig::S2tw]
            .into_iter()
            .map(|c| OpenCC::from_config(c).expect("OpenCC's built-in configurations load"))
            .collect()
    });
    let mut rng = Rng::new(seed, "traditional");
    converters[rng.below(converters.len())].convert(text)
}

/// Circled and enclosed digit styles: each maps 0–9 (index) to a character. `None` for a
/// digit the style lacks.
const CIRCLED_STYLES: &[[char; 10]] = &[
    // ⓪ ① … ⑨
    ['⓪', '①', '②', '③', '④', '⑤', '⑥', '⑦', '⑧', '⑨'],
    // negative circled ⓿ ❶ … ❾
    ['⓿', '❶', '❷', '❸', '❹', '❺', '❻', '❼', '❽', '❾'],
    // dingbat circled sans-serif 🄋 ➀ … ➈
    ['🄋', '➀', '➁', '➂', '➃', '➄', '➅', '➆', '➇', '➈'],
    // dingbat negative circled sans-serif 🄌 ➊ … ➒
    ['🄌', '➊', '➋', '➌', '➍', '➎', '➏', '➐', '➑', '➒'],
    // double circled ⓵ … ⓽ (no zero of its own)
    ['⓪', '⓵', '⓶', '⓷', '⓸', '⓹', '⓺', '⓻', '⓼', '⓽'],
];

/// Styles for a lone digit only: parenthesised ⑴, with full stop ⒈, keycap 5️⃣.
fn lone_digit(d: u32, rng: &mut Rng) -> String {
    match rng.below(3) {
        0 if d > 0 => char::from_u32(0x2473 + d).map(String::from).unwrap_or_default(),
        1 if d > 0 => char::from_u32(0x2487 + d).map(String::from).unwrap_or_default(),
        _ => format!("{d}\u{FE0F}\u{20E3}"),
    }
}

pub(super) fn circled_numerals(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "circled-numerals");
    map_digit_runs(
        text,
        |run, rng| {
            let n: u32 = run.parse().unwrap_or(u32::MAX);
            if run.len() == 1 && rng.chance(1, 2) {
                return lone_digit(n, rng);
            }
            if (10..=20).contains(&n) && !run.starts_with('0') && rng.chance(1, 2) {
                // ⑩ … ⑳ are one character each.
                return char::from_u32(0x2460 + n - 1).map(String::from).unwrap_or_default();
            }
            let style = &CIRCLED_STYLES[rng.below(CIRCLED_STYLES.len())];
            run.bytes().map(|b| style[(b - b'0') as usize]).collect()
        },
        &mut rng,
        false,
    )
}

const PLAIN_DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const FINANCIAL_DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const PLAIN_UNITS: [char; 3] = ['十', '百', '千'];
const FINANCIAL_UNITS: [char; 3] = ['拾', '佰', '仟'];

/// A number below 10^8 read out in Chinese: 20000 → 两万 or 贰万, 3500 → 三千五百.
fn chinese_number(n: u64, financial: bool, two: char) -> String {
    let digits = if financial { FINANCIAL_DIGITS } else { PLAIN_DIGITS };
    let units = if financial { FINANCIAL_UNITS } else { PLAIN_UNITS };
    let below_10k = |n: u64, leading: bool| -> String {
        let mut s = String::new();
        let mut zero = false;
        for (k, place) in [(1000, Some(2)), (100, Some(1)), (10, Some(0)), (1, None)] {
            let d = (n / k % 10) as usize;
            if d == 0 {
                zero = !s.is_empty();
                continue;
            }
            if zero {
                s.push(digits[0]);
                zero = false;
            }
            let first = s.is_empty() && leading;
            // 两 before 千 and 百 at the start (两千, 两百), 十 alone for 10–19 (十五).
            match (d, place) {
                (1, Some(0)) if first && !financial => {}
                (2, Some(1 | 2)) if first => s.push(two),
                _ => s.push(digits[d]),
            }
            if let Some(p) = place {
                s.push(units[p]);
            }
        }
        s
    };
    if n == 0 {
        return digits[0].to_string();
    }
    if n >= 10_000 {
        let high = n / 10_000;
        let low = n % 10_000;
        let mut s = below_10k(high, true);
        if high == 2 {
            s = two.to_string();
        }
        s.push('万');
        if low > 0 {
            if low < 1000 {
                s.push(digits[0]);
            }
            s.push_str(&below_10k(low, false));
        }
        s
    } else {
        below_10k(n, true)
    }
}

pub(super) fn financial_numerals(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "financial-numerals");
    map_digit_runs(
        text,
        |run, rng| {
            let financial = rng.chance(1, 2);
            let digits = if financial { FINANCIAL_DIGITS } else { PLAIN_DIGITS };
            // Numbers up to eight digits are read as amounts (贰万, 三千五); longer runs and runs
            // with a leading zero are codes and phone numbers, written digit by digit (一三八…).
            if run.len() <= 8 && !(run.len() > 1 && run.starts_with('0')) {
                let n: u64 = run.parse().unwrap_or(0);
                let two = if financial {
                    '贰'
                } else if rng.chance(1, 2) {
                    '两'
                } else {
                    '二'
                };
                chinese_number(n, financial, two)
            } else {
                let zero = if !financial && rng.chance(1, 2) { '〇' } else { '零' };
                run.bytes().map(|b| if b == b'0' { zero } else { digits[(b - b'0') as usize] }).collect()
            }
        },
        &mut rng,
        true,
    )
}

/// Replaces each run of ASCII digits with `f(run)`, and a decimal like 1.5 (the point kept
/// between digits) by each side mapped and 点 between them.
///
/// With `units`, a w or k right after the number becomes 万 or 千 (5w → 伍万): Chinese numerals
/// take Chinese units.
fn map_digit_runs(
    text: &str,
    mut f: impl FnMut(&str, &mut Rng) -> String,
    rng: &mut Rng,
    units: bool,
) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let b = text.as_bytes();
    let mut i = 0;
    let mut last_was_run = false;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push_str(&f(&text[start..i], rng));
            last_was_run = true;
            let unit = match b.get(i) {
                Some(b'w' | b'W') => Some('万'),
                Some(b'k' | b'K') => Some('千'),
                _ => None,
            };
            if let Some(u) = unit.filter(|_| units && !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)) {
                out.push(u);
                i += 1;
                last_was_run = false;
            }
            continue;
        }
        let c = text[i..].chars().next().unwrap_or_default();
        if c == '.' && last_was_run && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            // 1.5万: the point stays as 点 for Chinese numerals, as the character for others.
            out.push(if out.ends_with(|d: char| is_han(d)) { '点' } else { '.' });
        } else {
            out.push(c);
        }
        last_was_run = false;
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numbers_read_as_people_write_them() {
        assert_eq!(chinese_number(20_000, false, '两'), "两万");
        assert_eq!(chinese_number(20_000, true, '贰'), "贰万");
        assert_eq!(chinese_number(3_500, false, '两'), "三千五百");
        assert_eq!(chinese_number(15, false, '两'), "十五");
        assert_eq!(chinese_number(15, true, '贰'), "壹拾伍");
        assert_eq!(chinese_number(105, false, '二'), "一百零五");
        assert_eq!(chinese_number(50_800, false, '二'), "五万零八百");
        assert_eq!(chinese_number(1_200_000, false, '二'), "一百二十万");
        assert_eq!(chinese_number(2_000, false, '两'), "两千");
    }

    #[test]
    fn numerals_fold_back_to_digits() {
        for seed in 0..20 {
            for text in ["先转5万", "订单号12 号桌", "转账20000元", "验证码 0386"] {
                let circled = circled_numerals(text, seed);
                assert_eq!(crate::normalize::fold(&circled), crate::normalize::fold(text), "{circled}");
            }
        }
    }

    #[test]
    fn insertions_fold_away() {
        for seed in 0..20 {
            for text in ["老板先出票，钱马上转你", "加vx 聊"] {
                for f in [spacing, symbols, zero_width, bidi, emoji, full_width, traditional] {
                    let t = f(text, seed);
                    assert_eq!(crate::normalize::fold(&t), crate::normalize::fold(text), "{t:?}");
                }
            }
        }
    }
}
