//! Money amounts mentioned in folded Chinese chat text.
//!
//! Scam scripts name sums in many shapes ("5w", "1.5万", "两万五", "壹万贰仟元",
//! "3k") and rules compare those sums against thresholds. This module turns
//! every mention into an exact number of fen plus the byte span it came from.
//!
//! It sits on the scanner's hot path, so it makes one pass over the bytes,
//! allocates nothing except by pushing results, uses no floats (fixed-point
//! integers keep "1.5万" exact), and never panics: arithmetic is checked, and a
//! mention worth more than 10^15 yuan is dropped rather than reported wrong.
//!
//! Input is expected to be folded already (simplified, NFKC, lowercase,
//! separators between CJK removed), see the examples in the tests.

/// An amount of money mentioned in text, in fen (1 yuan = 100 fen), with its byte span in the folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    /// The value in fen (1 yuan = 100 fen); anything below one fen is truncated.
    pub fen: u64,
    /// Byte offset in the folded text where the mention starts.
    pub start: usize,
    /// Byte offset just past the mention (number, multipliers and currency word).
    pub end: usize,
}

/// Mentions worth more yuan than this are skipped: no real transfer is that
/// large, so such a value is either an overflow or not money at all.
const MAX_YUAN: u64 = 1_000_000_000_000_000;

/// Values are fixed-point integers in units of 10^-FRAC_DIGITS yuan, so decimal
/// input scales by 万/亿 exactly. With 20 digits the cap (10^35 units) leaves
/// room in a u128 for one more ×10 before a checked op has to fail.
const FRAC_DIGITS: u32 = 20;
const ONE: u128 = 10u128.pow(FRAC_DIGITS);
const CAP: u128 = MAX_YUAN as u128 * ONE;
const FEN: u128 = ONE / 100;

/// A bare run of this many ASCII digits or more, without a unit or currency word, is not taken
/// as money (see `scan_run`).
const BARE_DIGITS_NOT_MONEY: usize = 9;

const WAN: u128 = 10_000;
const YI: u128 = 100_000_000;

/// What a character means inside a Chinese numeral.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cn {
    Digit(u8),
    /// 十 百 千 万 亿 and their financial forms, by value.
    Unit(u128),
}

fn classify(c: char) -> Option<Cn> {
    Some(match c {
        '零' | '〇' => Cn::Digit(0),
        '一' | '壹' => Cn::Digit(1),
        '二' | '两' | '贰' => Cn::Digit(2),
        '三' | '叁' => Cn::Digit(3),
        '四' | '肆' => Cn::Digit(4),
        '五' | '伍' => Cn::Digit(5),
        '六' | '陆' => Cn::Digit(6),
        '七' | '柒' => Cn::Digit(7),
        '八' | '捌' => Cn::Digit(8),
        '九' | '玖' => Cn::Digit(9),
        '十' | '拾' => Cn::Unit(10),
        '百' | '佰' => Cn::Unit(100),
        '千' | '仟' => Cn::Unit(1_000),
        '万' => Cn::Unit(WAN),
        '亿' => Cn::Unit(YI),
        _ => return None,
    })
}

fn char_at(s: &str, pos: usize) -> Option<char> {
    s.get(pos..).and_then(|t| t.chars().next())
}

fn cn_digit_at(s: &str, pos: usize) -> Option<u8> {
    match char_at(s, pos).and_then(classify) {
        Some(Cn::Digit(d)) => Some(d),
        _ => None,
    }
}

/// What the previous token of a run was; it decides what may come next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    Start,
    Arabic,
    CnDigit,
    /// Inside the fraction of "一点五".
    CnFrac,
    CnUnit,
    AsciiUnit,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Empty,
    Cn,
    Arabic,
}

/// Positional accumulator for one numeral run, all values fixed-point.
struct Acc {
    /// Everything already closed by 亿.
    yi: u128,
    /// The group closed by 万 (below 亿).
    wan: u128,
    /// Small-unit parts (十百千) of the current group.
    section: u128,
    /// The number not yet claimed by a unit.
    num: u128,
    slot: Slot,
    /// Chinese integer digits in `num`, for the "三四万" range reading.
    digits: u32,
    first_digit: u8,
    last_digit: u8,
    /// Next fraction place of "一点五", 0 when not in a fraction.
    frac_place: u32,
    /// `num` is one bare digit, so "一万二" may read it one unit lower.
    single: bool,
    /// The unit just before `num` began, 0 if none.
    shorthand_unit: u128,
    last_unit: u128,
    had_unit: bool,
    overflow: bool,
}

impl Acc {
    fn new() -> Self {
        Acc {
            yi: 0,
            wan: 0,
            section: 0,
            num: 0,
            slot: Slot::Empty,
            digits: 0,
            first_digit: 0,
            last_digit: 0,
            frac_place: 0,
            single: false,
            shorthand_unit: 0,
            last_unit: 0,
            had_unit: false,
            overflow: false,
        }
    }

    /// Keeps a checked result within the cap; otherwise marks the run as
    /// overflowed (it is still consumed, so no tail of it gets reported).
    fn chk(&mut self, v: Option<u128>) -> u128 {
        match v {
            Some(x) if x <= CAP => x,
            _ => {
                self.overflow = true;
                0
            }
        }
    }

    fn begin_slot(&mut self, slot: Slot, value: u128, single: bool) {
        self.slot = slot;
        self.num = value;
        self.single = single;
        self.shorthand_unit = self.last_unit;
        self.frac_place = 0;
    }

    fn cn_digit(&mut self, d: u8) {
        let dv = u128::from(d) * ONE;
        if self.slot == Slot::Empty {
            self.begin_slot(Slot::Cn, dv, true);
            self.digits = 1;
            self.first_digit = d;
        } else {
            // Digits without units between them ("一九九二") read one by one.
            let v = self.num.checked_mul(10).and_then(|v| v.checked_add(dv));
            self.num = self.chk(v);
            self.digits = self.digits.saturating_add(1);
            self.single = false;
        }
        self.last_digit = d;
    }

    fn start_frac(&mut self) {
        self.frac_place = 1;
        self.single = false;
    }

    fn frac_digit(&mut self, d: u8) {
        // Places beyond our precision are far below a fen; drop them.
        if self.frac_place <= FRAC_DIGITS {
            let add = u128::from(d) * 10u128.pow(FRAC_DIGITS - self.frac_place);
            let v = self.num.checked_add(add);
            self.num = self.chk(v);
        }
        self.frac_place = self.frac_place.saturating_add(1);
    }

    fn arabic(&mut self, value: Option<u128>, single: bool) {
        let v = self.chk(value);
        self.begin_slot(Slot::Arabic, v, single);
    }

    /// The pending number as a unit claims it.
    fn take_num(&self, unit: u128) -> u128 {
        match self.slot {
            // "十五" means 1×10; a bare 百/千/万 can only occur mid-run and adds nothing.
            Slot::Empty => {
                if unit == 10 {
                    ONE
                } else {
                    0
                }
            }
            // "三四万" is a range (30-40k): take the upper end, not 34万.
            Slot::Cn
                if self.digits == 2
                    && self.frac_place == 0
                    && self.first_digit >= 1
                    && self.first_digit + 1 == self.last_digit =>
            {
                u128::from(self.last_digit) * ONE
            }
            _ => self.num,
        }
    }

    fn unit(&mut self, unit: u128) {
        let n = self.take_num(unit);
        if unit < WAN {
            let v = n.checked_mul(unit).and_then(|p| p.checked_add(self.section));
            self.section = self.chk(v);
        } else if self.slot == Slot::Empty && self.last_unit >= unit {
            // "万万", "亿亿": a repeated big unit scales everything so far.
            let v = self
                .yi
                .checked_add(self.wan)
                .and_then(|t| t.checked_add(self.section))
                .and_then(|t| t.checked_mul(unit));
            self.yi = self.chk(v);
            self.wan = 0;
            self.section = 0;
        } else {
            if unit == WAN {
                let v = self
                    .section
                    .checked_add(n)
                    .and_then(|g| g.checked_mul(unit))
                    .and_then(|g| g.checked_add(self.wan));
                self.wan = self.chk(v);
            } else {
                // 亿 scales the 万 group too: "一万亿" = 10^12.
                let v = self
                    .section
                    .checked_add(n)
                    .and_then(|g| g.checked_add(self.wan))
                    .and_then(|g| g.checked_mul(unit))
                    .and_then(|g| g.checked_add(self.yi));
                self.yi = self.chk(v);
                self.wan = 0;
            }
            self.section = 0;
        }
        self.slot = Slot::Empty;
        self.single = false;
        self.frac_place = 0;
        self.last_unit = unit;
        self.had_unit = true;
    }

    fn finish(&mut self) -> Option<u128> {
        let mut n = if self.slot == Slot::Empty { 0 } else { self.num };
        // "一万二" = 12000, "三千五" = 3500: a lone digit after a unit is one unit lower.
        if self.slot != Slot::Empty && self.single && self.shorthand_unit >= 100 {
            let v = n.checked_mul(self.shorthand_unit / 10);
            n = self.chk(v);
        }
        let total = self
            .yi
            .checked_add(self.wan)
            .and_then(|t| t.checked_add(self.section))
            .and_then(|t| t.checked_add(n));
        let total = self.chk(total);
        if self.overflow {
            None
        } else {
            Some(total)
        }
    }
}

/// Parses `\d+(\.\d+)?` at `start`. Returns the fixed-point value (None if
/// too large), the end offset, and whether it was a single integer digit.
fn parse_arabic(b: &[u8], start: usize) -> (Option<u128>, usize, bool) {
    let mut i = start;
    let mut int: u128 = 0;
    let mut too_big = false;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        if !too_big {
            int = int * 10 + u128::from(c - b'0');
            too_big = int > u128::from(MAX_YUAN);
        }
        i += 1;
    }
    let single = i - start == 1;
    let mut frac: u128 = 0;
    let mut has_frac = false;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        has_frac = true;
        i += 1;
        let mut place = 1;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if place <= FRAC_DIGITS {
                frac += u128::from(c - b'0') * 10u128.pow(FRAC_DIGITS - place);
            }
            place = place.saturating_add(1);
            i += 1;
        }
    }
    let value = if too_big { None } else { Some(int * ONE + frac) };
    (value, i, single && !has_frac)
}

/// A multiplier allowed right after an Arabic number: Chinese units except
/// 十 ("5十" is not a way to write 50), or w/k when not the start of a word
/// ("5kg" is a weight, not 5000 yuan). Returns (unit, byte length, is ASCII).
fn multiplier_at(s: &str, pos: usize) -> Option<(u128, usize, bool)> {
    let b = s.as_bytes();
    let &c = b.get(pos)?;
    if c.is_ascii() {
        let unit = match c {
            b'w' | b'W' => WAN,
            b'k' | b'K' => 1_000,
            _ => return None,
        };
        if b.get(pos + 1).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        return Some((unit, 1, true));
    }
    let ch = char_at(s, pos)?;
    match classify(ch) {
        Some(Cn::Unit(u)) if u != 10 => Some((u, ch.len_utf8(), false)),
        _ => None,
    }
}

/// Byte length of `word` if `s` has it at `pos`.
fn word_at(s: &str, pos: usize, word: &str) -> Option<usize> {
    s.as_bytes().get(pos..).filter(|rest| rest.starts_with(word.as_bytes())).map(|_| word.len())
}

/// Currency word at `pos`: returns its end and whether a jiao digit may
/// follow it ("5块5" = 5.5 yuan).
fn currency_at(s: &str, pos: usize) -> Option<(usize, bool)> {
    // Longest first, so "块钱" wins over "块".
    const WORDS: [(&str, bool); 8] = [
        ("块钱", false),
        ("人民币", false),
        ("块", true),
        ("元", true),
        ("圆", true),
        ("蚊", true),
        ("箍", false),
        ("rmb", false),
    ];
    for (w, jiao) in WORDS {
        if let Some(len) = word_at(s, pos, w) {
            let end = pos + len;
            // "rmbx..." is some other word.
            if w == "rmb" && s.as_bytes().get(end).is_some_and(u8::is_ascii_alphanumeric) {
                return None;
            }
            return Some((end, jiao));
        }
    }
    None
}

/// A single digit at `pos` that stands alone (not the start of another
/// number): returns the digit and its end.
fn lone_digit_at(s: &str, pos: usize) -> Option<(u8, usize)> {
    let b = s.as_bytes();
    let &c = b.get(pos)?;
    let (d, end) = if c.is_ascii_digit() {
        (c - b'0', pos + 1)
    } else {
        let ch = char_at(s, pos)?;
        match classify(ch) {
            Some(Cn::Digit(d)) => (d, pos + ch.len_utf8()),
            _ => return None,
        }
    };
    let next = b.get(end).copied();
    if next.is_some_and(|n| n.is_ascii_digit() || n == b'.')
        || char_at(s, end).and_then(classify).is_some()
        || char_at(s, end) == Some('点')
    {
        return None;
    }
    Some((d, end))
}

/// 毛/角 (tenths of a yuan), optionally followed by 钱.
fn jiao_word_at(s: &str, pos: usize) -> Option<usize> {
    let len = word_at(s, pos, "毛").or_else(|| word_at(s, pos, "角"))?;
    let end = pos + len;
    Some(end + word_at(s, end, "钱").unwrap_or(0))
}

/// Parses one numeral run starting at `start` (an ASCII digit, a Chinese digit
/// or 十). Returns the amount, if it is one, and where scanning resumes, which
/// is always past `start`.
fn scan_run(s: &str, start: usize) -> (Option<Amount>, usize) {
    let b = s.as_bytes();
    let mut acc = Acc::new();
    let mut prev = Prev::Start;
    let mut pos = start;
    while let Some(&byte) = b.get(pos) {
        if byte.is_ascii_digit() {
            if !matches!(prev, Prev::Start | Prev::CnUnit | Prev::AsciiUnit) {
                break;
            }
            let (v, end, single) = parse_arabic(b, pos);
            acc.arabic(v, single);
            pos = end;
            prev = Prev::Arabic;
            continue;
        }
        if prev == Prev::Arabic {
            // The only place a space is allowed: "5 万", "5 w".
            let at = if byte == b' ' { pos + 1 } else { pos };
            match multiplier_at(s, at) {
                Some((unit, len, ascii)) => {
                    acc.unit(unit);
                    pos = at + len;
                    prev = if ascii { Prev::AsciiUnit } else { Prev::CnUnit };
                    continue;
                }
                None => break,
            }
        }
        if byte.is_ascii() {
            break;
        }
        let Some(c) = char_at(s, pos) else { break };
        match (classify(c), prev) {
            (Some(Cn::Digit(d)), Prev::CnFrac) => acc.frac_digit(d),
            (Some(Cn::Digit(d)), Prev::Start | Prev::CnDigit | Prev::CnUnit) => {
                acc.cn_digit(d);
                prev = Prev::CnDigit;
            }
            (Some(Cn::Unit(10)), Prev::Start | Prev::CnDigit | Prev::CnUnit) => {
                acc.unit(10);
                prev = Prev::CnUnit;
            }
            // 十 after a fraction ("两点五十") is a clock time, not ×10.
            (Some(Cn::Unit(u)), Prev::CnDigit | Prev::CnFrac | Prev::CnUnit) if u != 10 => {
                acc.unit(u);
                prev = Prev::CnUnit;
            }
            // "一点五万": 点 is a decimal point only between digits ("一点" is "a bit").
            (None, Prev::CnDigit) if c == '点' && cn_digit_at(s, pos + c.len_utf8()).is_some() => {
                acc.start_frac();
                prev = Prev::CnFrac;
            }
            _ => break,
        }
        pos += c.len_utf8();
    }

    let mut end = pos;
    let mut value = acc.finish();
    // A space survives folding only next to ASCII, so only then may one precede the currency word.
    let cur_pos = if b.get(end) == Some(&b' ') && end > start && b[end - 1].is_ascii_alphanumeric() {
        end + 1
    } else {
        end
    };
    if let Some((cur_end, jiao)) = currency_at(s, cur_pos) {
        end = cur_end;
        if jiao {
            if let Some((d, d_end)) = lone_digit_at(s, end) {
                end = jiao_word_at(s, d_end).unwrap_or(d_end);
                value = value.and_then(|v| v.checked_add(u128::from(d) * ONE / 10));
            }
        }
    } else if !acc.had_unit {
        if let Some(j_end) = jiao_word_at(s, end) {
            end = j_end;
            value = value.map(|v| v / 10);
        } else if end - start >= BARE_DIGITS_NOT_MONEY && b[start..end].iter().all(u8::is_ascii_digit) {
            // Nine bare digits or more are a phone, QQ, card, ID or order number, not money:
            // "打我电话13912345678" names no sum. With a currency word or a unit it is one.
            value = None;
        }
    }
    let amount = value.filter(|&v| v <= CAP).and_then(|v| u64::try_from(v / FEN).ok()).map(|fen| Amount {
        fen,
        start,
        end,
    });
    (amount, end)
}

/// Appends every amount found in `folded` to `out`, in order of position. Does not clear `out`.
pub fn find_amounts(folded: &str, out: &mut Vec<Amount>) {
    let b = folded.as_bytes();
    let mut i = 0;
    while let Some(&byte) = b.get(i) {
        let step;
        let starts = if byte.is_ascii() {
            step = 1;
            byte.is_ascii_digit()
        } else {
            let Some(c) = char_at(folded, i) else { break };
            step = c.len_utf8();
            // A run never starts at 百/千/万/亿: "千万" ("by all means") and
            // "万一" ("in case") are words, not ten million or ten thousand.
            matches!(classify(c), Some(Cn::Digit(_) | Cn::Unit(10)))
        };
        if starts {
            let (amount, end) = scan_run(folded, i);
            if let Some(a) = amount {
                out.push(a);
            }
            i = if end > i { end } else { i + step };
        } else {
            i += step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn find(text: &str) -> Vec<(u64, &str)> {
        let mut out = Vec::new();
        find_amounts(text, &mut out);
        out.iter().map(|a| (a.fen, &text[a.start..a.end])).collect()
    }

    const Y: u64 = 100;

    /// Asserts `text` holds exactly one amount, `yuan`, spanning `span`.
    fn one(text: &str, yuan: u64, span: &str) {
        assert_eq!(find(text), vec![(yuan * Y, span)], "input {text:?}");
    }

    #[test]
    fn brief_inputs() {
        one("老板帮我先出5w的票", 50_000, "5w");
        one("转了两万五给你", 25_000, "两万五");
        one("一万二", 12_000, "一万二");
        one("1.5万元", 15_000, "1.5万元");
        one("伍仟", 5_000, "伍仟");
        one("5千块", 5_000, "5千块");
        one("3k", 3_000, "3k");
        one("50000元", 50_000, "50000元");
        one("二十万", 200_000, "二十万");
        one("壹万贰仟元", 12_000, "壹万贰仟元");
        one("十万八千", 108_000, "十万八千");
        one("1万2", 12_000, "1万2");
        one("0.5w", 5_000, "0.5w");
        one("两百块", 200, "两百块");
        one("三千五百", 3_500, "三千五百");
        one("5 万", 50_000, "5 万");
    }

    #[test]
    fn arabic_with_multipliers() {
        one("5w", 50_000, "5w");
        one("5W", 50_000, "5W");
        one("3K", 3_000, "3K");
        one("50000", 50_000, "50000");
        one("2万5", 25_000, "2万5");
        one("3千5", 3_500, "3千5");
        one("5万", 50_000, "5万");
        one("2千", 2_000, "2千");
        one("3百万", 3_000_000, "3百万");
        one("5千万", 50_000_000, "5千万");
        one("1.5亿", 150_000_000, "1.5亿");
        one("5仟", 5_000, "5仟");
        one("5佰", 500, "5佰");
        one("1w2", 12_000, "1w2");
        one("3k5", 3_500, "3k5");
        one("5 w", 50_000, "5 w");
        one("1万25", 10_025, "1万25");
    }

    #[test]
    fn chinese_numerals() {
        one("一万零五百", 10_500, "一万零五百");
        one("十五", 15, "十五");
        one("一百二十三万四千五百六十七", 1_234_567, "一百二十三万四千五百六十七");
        one("两亿", 200_000_000, "两亿");
        one("两万五", 25_000, "两万五");
        one("三千五", 3_500, "三千五");
        one("五百五", 550, "五百五");
        one("一亿二", 120_000_000, "一亿二");
        one("一九九二", 1_992, "一九九二");
        one("二〇二三", 2_023, "二〇二三");
        one("一万零五", 10_005, "一万零五");
        one("一千零一", 1_001, "一千零一");
        one("一亿二千万", 120_000_000, "一亿二千万");
        one("一万亿", 1_000_000_000_000, "一万亿");
        one("拾万", 100_000, "拾万");
        one("一万万", 100_000_000, "一万万");
        one("一万万五千", 100_005_000, "一万万五千");
        one("叁仟伍佰元", 3_500, "叁仟伍佰元");
        one("陆柒捌玖", 6_789, "陆柒捌玖");
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(find("1.5万"), vec![(1_500_000, "1.5万")]);
        assert_eq!(find("1.23456万"), vec![(1_234_560, "1.23456万")]);
        assert_eq!(find("0.01"), vec![(1, "0.01")]);
        // Below a fen truncates.
        assert_eq!(find("0.009"), vec![(0, "0.009")]);
        assert_eq!(find("12.34元"), vec![(1_234, "12.34元")]);
        // A dot not followed by a digit is not part of the number.
        assert_eq!(find("5.块"), vec![(500, "5")]);
        one("一点五万", 15_000, "一点五万");
        // "一点" alone is "a bit": the 点 is not consumed.
        assert_eq!(find("快一点"), vec![(100, "一")]);
    }

    #[test]
    fn currency_words() {
        one("5块钱", 5, "5块钱");
        one("5蚊", 5, "5蚊");
        one("5箍", 5, "5箍");
        one("5rmb", 5, "5rmb");
        one("500 rmb", 500, "500 rmb");
        one("5圆", 5, "5圆");
        one("5000人民币", 5_000, "5000人民币");
        one("5 元", 5, "5 元");
        one("两块", 2, "两块");
        // "rmbx" is not the currency word.
        one("5rmbx", 5, "5");
    }

    #[test]
    fn jiao() {
        assert_eq!(find("5块5"), vec![(550, "5块5")]);
        assert_eq!(find("两块五毛"), vec![(250, "两块五毛")]);
        assert_eq!(find("5元5角"), vec![(550, "5元5角")]);
        assert_eq!(find("5毛"), vec![(50, "5毛")]);
        assert_eq!(find("一毛钱"), vec![(10, "一毛钱")]);
        // A digit that starts a longer number is not jiao.
        assert_eq!(find("5块50"), vec![(500, "5块"), (5_000, "50")]);
        assert_eq!(find("5块5万"), vec![(500, "5块"), (5_000_000, "5万")]);
    }

    #[test]
    fn letters_around_digits() {
        one("vx123456", 123_456, "123456");
        one("abc5w", 50_000, "5w");
        one("5g", 5, "5");
        one("12306abc", 12_306, "12306");
        // w/k starting a word are not multipliers.
        one("5kg", 5, "5");
        one("5wan", 5, "5");
        one("5 wives", 5, "5");
        // Space then a non-multiplier: the space is not in the span.
        one("5 个", 5, "5");
    }

    #[test]
    fn ordinary_words() {
        one("一起", 1, "一");
        one("统一", 1, "一");
        // Runs never start at 万/千: "万一" yields only the 一.
        one("万一", 1, "一");
        assert_eq!(find("千万别告诉别人"), vec![]);
        assert_eq!(find("百万富翁"), vec![]);
        one("零钱", 0, "零");
    }

    #[test]
    fn ranges_take_upper_end() {
        one("三四万", 40_000, "三四万");
        one("五六千块", 6_000, "五六千块");
        // Not consecutive: read as digits.
        one("三五万", 350_000, "三五万");
    }

    #[test]
    fn ten_after_arabic_is_separate() {
        assert_eq!(find("5十"), vec![(500, "5"), (1_000, "十")]);
        assert_eq!(find("两点五十"), vec![(250, "两点五"), (1_000, "十")]);
    }

    #[test]
    fn empty_and_no_numbers() {
        assert_eq!(find(""), vec![]);
        assert_eq!(find("你好，今天天气不错"), vec![]);
        assert_eq!(find("hello world"), vec![]);
    }

    #[test]
    fn several_in_order() {
        let text = "先转5w然后再转两万五最后3k块";
        assert_eq!(find(text), vec![(5_000_000, "5w"), (2_500_000, "两万五"), (300_000, "3k块")]);
        let mut out = vec![Amount { fen: 7, start: 0, end: 1 }];
        find_amounts("1元", &mut out);
        assert_eq!(out.len(), 2, "out is appended to, not cleared");
    }

    #[test]
    fn long_bare_numbers_are_not_money() {
        assert_eq!(find("有事打我电话13912345678"), vec![]);
        assert_eq!(find("卡号6222021234567890123"), vec![]);
        assert_eq!(find("QQ123456789"), vec![]);
        // Eight digits still are, and nine with a currency word or a unit.
        one("转12345678", 12_345_678, "12345678");
        one("转123456789元", 123_456_789, "123456789元");
        one("123456789万", 1_234_567_890_000, "123456789万");
        one("1.5亿", 150_000_000, "1.5亿");
    }

    #[test]
    fn overflow_is_skipped() {
        assert_eq!(find("99999999999999999999万"), vec![]);
        let nines = "九".repeat(400);
        assert_eq!(find(&nines), vec![]);
        assert_eq!(find(&"9".repeat(400)), vec![]);
        assert_eq!(find("九千九百万亿"), vec![]);
        assert_eq!(find("9999亿亿"), vec![]);
        // The skipped run does not hide what follows.
        let text = format!("{nines}又5w");
        assert_eq!(find(&text), vec![(5_000_000, "5w")]);
        // Right at the cap is still reported.
        assert_eq!(find("1000000000000000元"), vec![(MAX_YUAN * Y, "1000000000000000元")]);
        assert_eq!(find("1000000000000001元"), vec![]);
        assert_eq!(find("1千万亿"), vec![(MAX_YUAN * Y, "1千万亿")]);
        // Long fractions are truncated, not an overflow.
        let long = format!("1.{}", "9".repeat(300));
        assert_eq!(find(&long), vec![(199, long.as_str())]);
    }

    fn check_invariants(s: &str) {
        let mut out = Vec::new();
        find_amounts(s, &mut out);
        let mut last_end = 0;
        for a in &out {
            assert!(a.start < a.end, "{a:?} in {s:?}");
            assert!(a.start >= last_end, "overlap/order {a:?} in {s:?}");
            assert!(s.is_char_boundary(a.start) && s.is_char_boundary(a.end));
            assert!(a.fen <= MAX_YUAN * Y);
            last_end = a.end;
        }
    }

    proptest! {
        #[test]
        fn any_string_is_safe(s in any::<String>()) {
            check_invariants(&s);
        }

        #[test]
        fn numeral_soup_is_safe(s in "[0-9.wWkK 零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点块元毛角钱rmb人民币a]{0,60}") {
            check_invariants(&s);
        }

        #[test]
        fn plain_integers_round_trip(n in 0u64..=MAX_YUAN) {
            let text = format!("转{n}元");
            let expected = format!("{n}元");
            prop_assert_eq!(find(&text), vec![(n * Y, expected.as_str())]);
        }
    }
}
