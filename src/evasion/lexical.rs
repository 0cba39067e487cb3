//! Lexical obfuscations: a word is respelled — a homophone, slang, its pinyin, its initials, or
//! one character of it in pinyin. No character table can undo these; rules meet them with
//! declared `[variants]` and the pinyin spellings generated for their literals.

use pinyin::ToPinyin;

use super::{is_han, Rng};

/// Words that keyword filters look for and fraudsters therefore respell, with the respellings
/// seen in fraud chat: homophones (薇信, 转帐), letters for characters (V信, 收款ma), initials
/// (zfb, yhk) and look-alike slang (扣扣). Field knowledge, kept small and documented in
/// docs/EVASION.md; the pinyin transforms use the same words as the likely targets.
pub const SLANG: &[(&str, &[&str])] = &[
    ("微信", &["威信", "薇信", "徽信", "V信", "VX", "vx", "wx"]),
    ("QQ", &["扣扣", "企鹅"]),
    ("支付宝", &["zfb", "ZFB", "支付bao"]),
    ("银行卡", &["yhk", "银行k", "银行咔"]),
    ("二维码", &["ewm", "二维马", "二唯码"]),
    ("收款码", &["收款ma", "skm", "收钱码"]),
    ("转账", &["转帐", "zhuan账", "转zhang"]),
    ("汇款", &["汇kuan"]),
    ("付款", &["付kuan", "fk"]),
    ("打款", &["打kuan"]),
    ("验证码", &["yzm", "验证ma", "验正码"]),
    ("密码", &["秘码"]),
    ("账户", &["帐户", "账hu"]),
    ("账号", &["帐号", "zh号"]),
    ("刷单", &["刷dan"]),
    ("返利", &["返li", "fl"]),
    ("贷款", &["带款", "贷kuan"]),
    ("手续费", &["sxf", "手续fei"]),
    ("保证金", &["bzj", "保证jin"]),
    ("客服", &["kf", "客fu"]),
    ("公安", &["gongan", "工安"]),
    ("警察", &["警茶"]),
    ("出票", &["出piao"]),
    ("彩票", &["彩piao", "cp"]),
    ("截图", &["截tu", "jt"]),
    ("到账", &["到帐", "到zhang"]),
    ("退款", &["退kuan", "tk"]),
    ("兼职", &["jz", "兼zhi"]),
    ("佣金", &["yj", "佣jin"]),
    ("提现", &["tx", "提xian"]),
    ("充值", &["cz", "充zhi"]),
    ("冻结", &["冻jie"]),
    ("安全账户", &["安全帐户", "aqzh"]),
    ("好处费", &["hcf", "好处fei"]),
];

/// More words that filters look for in fraud scripts, without a slang spelling of their own:
/// the pinyin transforms respell these too.
pub const TARGETS: &[&str] = &[
    "收款",
    "扫码",
    "银行",
    "垫付",
    "返点",
    "流水",
    "过账",
    "洗钱",
    "稳赚",
    "投资",
    "理财",
    "征信",
    "解冻",
    "理赔",
    "中奖",
    "补贴",
    "注销",
    "法院",
    "涉嫌",
    "订单",
    "提现",
    "屏幕共享",
    "下载",
    "链接",
    "红包",
    "押金",
    "定金",
    "预付",
    "先付",
    "结账",
    "结算",
    "大单",
    "包工头",
    "收钱",
    "付钱",
    "给钱",
    "打钱",
];

/// Words commonly written by their pinyin initials (wx, zfb, yhk, ewm); the initials
/// themselves come from the pinyin data. Initials that mostly mean something else in chat
/// (sd for 刷单 is an SD card, mm for 密码 is 妹妹, hk for 汇款 is Hong Kong, dj, zz) are left
/// out: a victim would not read them either.
pub const ABBREVIATED: &[&str] = &[
    "微信",
    "支付宝",
    "银行卡",
    "二维码",
    "收款码",
    "验证码",
    "手续费",
    "保证金",
    "客服",
    "彩票",
    "兼职",
    "佣金",
    "返利",
    "提现",
    "充值",
    "好处费",
    "安全账户",
    "付款",
];

/// Readings of words whose characters the pinyin data reads otherwise by default (行 xing, 还
/// hai, 长 zhang): what people type for these words.
const READINGS: &[(&str, &[&str])] = &[
    ("银行", &["yin", "hang"]),
    ("还款", &["huan", "kuan"]),
    ("还钱", &["huan", "qian"]),
    ("长期", &["chang", "qi"]),
    ("行长", &["hang", "zhang"]),
    ("重新", &["chong", "xin"]),
    ("乐透", &["le", "tou"]),
    ("单子", &["dan", "zi"]),
];

/// Each character as simplified (traditional 帳 as 账), so words are found and read in
/// traditional text too.
fn simplified(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| {
            if !is_han(c) {
                return c;
            }
            let f = crate::normalize::fold(c.encode_utf8(&mut [0; 4]));
            let mut it = f.chars();
            match (it.next(), it.next()) {
                (Some(d), None) if is_han(d) => d,
                _ => c,
            }
        })
        .collect()
}

/// Non-overlapping occurrences of catalogue words in `chars`, as (start, end) char indices,
/// longer words first.
fn catalogue_hits(chars: &[char], words: impl Iterator<Item = &'static str>) -> Vec<(usize, usize)> {
    let mut words: Vec<&str> = words.collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut taken = vec![false; chars.len()];
    let mut hits = Vec::new();
    for w in words {
        let wc: Vec<char> = w.chars().collect();
        let mut i = 0;
        while i + wc.len() <= chars.len() {
            if chars[i..i + wc.len()] == wc[..] && !taken[i..i + wc.len()].iter().any(|&t| t) {
                taken[i..i + wc.len()].iter_mut().for_each(|t| *t = true);
                hits.push((i, i + wc.len()));
                i += wc.len();
            } else {
                i += 1;
            }
        }
    }
    hits.sort();
    hits
}

/// Syllables of each character of `chars[start..end]` (None for a character without pinyin),
/// using word readings where a listed word covers the character.
fn syllables(chars: &[char], start: usize, end: usize) -> Vec<Option<&'static str>> {
    let mut out: Vec<Option<&'static str>> =
        chars[start..end].iter().map(|c| c.to_pinyin().map(|p| p.plain())).collect();
    for (word, reading) in READINGS {
        let wc: Vec<char> = word.chars().collect();
        // Look at windows that overlap the span, so a word cut by the span still reads right.
        let from = start.saturating_sub(wc.len() - 1);
        for i in from..end.min(chars.len().saturating_sub(wc.len() - 1)) {
            if i + wc.len() <= chars.len() && chars[i..i + wc.len()] == wc[..] {
                for (k, r) in reading.iter().enumerate() {
                    let at = i + k;
                    if (start..end).contains(&at) {
                        out[at - start] = Some(r);
                    }
                }
            }
        }
    }
    out
}

/// Replaces `chars[start..end]` with `with`, putting a space between Latin letters or digits
/// that would otherwise run together (`加vx` + `hao` → `加vx hao`): people type one.
fn splice(chars: &[char], start: usize, end: usize, with: &str) -> String {
    let mut out: String = chars[..start].iter().collect();
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if alnum(chars[..start].last().copied()) && alnum(with.chars().next()) {
        out.push(' ');
    }
    out.push_str(with);
    if alnum(chars.get(end).copied()) && alnum(with.chars().last()) {
        out.push(' ');
    }
    out.extend(&chars[end..]);
    out
}

/// The word to respell, chosen by the seed among the catalogue words in the text: fraudsters
/// respell the words filters look for, not the words around them. `None` if there is none.
fn target(chars: &[char], rng: &mut Rng, abbreviated: bool) -> Option<(usize, usize)> {
    let words: Vec<&'static str> = if abbreviated {
        ABBREVIATED.to_vec()
    } else {
        SLANG.iter().map(|(w, _)| *w).chain(TARGETS.iter().copied()).collect()
    };
    let hits = catalogue_hits(chars, words.into_iter());
    let hits: Vec<_> = hits.into_iter().filter(|&(s, e)| chars[s..e].iter().all(|&c| is_han(c))).collect();
    (!hits.is_empty()).then(|| hits[rng.below(hits.len())])
}

pub(super) fn homophones(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "homophones");
    let chars: Vec<char> = text.chars().collect();
    let simple = simplified(text);
    let hits = catalogue_hits(&simple, SLANG.iter().map(|(w, _)| *w));
    if hits.is_empty() {
        return text.to_string();
    }
    let (s, e) = hits[rng.below(hits.len())];
    let word: String = simple[s..e].iter().collect();
    let spellings = SLANG.iter().find(|(w, _)| *w == word).map(|(_, v)| *v).unwrap_or(&[]);
    if spellings.is_empty() {
        return text.to_string();
    }
    splice(&chars, s, e, spellings[rng.below(spellings.len())])
}

pub(super) fn pinyin_words(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "pinyin-words");
    let chars: Vec<char> = text.chars().collect();
    let simple = simplified(text);
    let Some((s, e)) = target(&simple, &mut rng, false) else { return text.to_string() };
    let syl = syllables(&simple, s, e);
    if syl.iter().any(Option::is_none) {
        return text.to_string();
    }
    // Typed run together, as an input method would take it (chupiao).
    let word: String = syl.iter().flatten().copied().collect();
    splice(&chars, s, e, &word)
}

pub(super) fn pinyin_initials(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "pinyin-initials");
    let chars: Vec<char> = text.chars().collect();
    let simple = simplified(text);
    // Initials of arbitrary words mean nothing to the reader: only well-known words (see
    // ABBREVIATED) are written this way.
    let Some((s, e)) = target(&simple, &mut rng, true) else { return text.to_string() };
    let syl = syllables(&simple, s, e);
    if syl.iter().any(Option::is_none) {
        return text.to_string();
    }
    let upper = rng.chance(1, 3);
    let word: String = syl
        .iter()
        .flatten()
        .filter_map(|p| p.chars().next())
        .map(|c| if upper { c.to_ascii_uppercase() } else { c })
        .collect();
    splice(&chars, s, e, &word)
}

pub(super) fn romanisation(text: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed, "romanisation");
    let chars: Vec<char> = text.chars().collect();
    let simple = simplified(text);
    let Some((s, e)) = target(&simple, &mut rng, false) else { return text.to_string() };
    let at = s + rng.below(e - s);
    match syllables(&simple, at, at + 1)[0] {
        Some(p) => splice(&chars, at, at + 1, p),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_words_are_respelled() {
        assert_eq!(pinyin_initials("加我微信", 1), "加我wx");
        assert_eq!(pinyin_words("去银行卡那里", 3), "去yinhangka那里");
        let r = romanisation("先出票哈", 0);
        assert!(["先chu票哈", "先出piao哈"].contains(&r.as_str()), "{r}");
        assert_eq!(splice(&['加', 'v', 'x', '号'], 3, 4, "hao"), "加vx hao");
    }

    #[test]
    fn text_without_targets_is_left_alone() {
        assert_eq!(pinyin_initials("今天天气好", 0), "今天天气好");
        assert_eq!(homophones("ok", 0), "ok");
    }
}
