//! Folding text so that rules written once match every spelling of a phrase.
//!
//! Fraudsters and dialect writers spell the same script many ways: 先出票, 先 出-票, 先出票 with
//! zero-width spaces, 先出票 in traditional characters, ＶＸ for vx. The normalizer folds each
//! character through a table generated at build time (NFKC, accent stripping, lowercasing,
//! OpenCC traditional→simplified) and, while doing so:
//!
//! * drops zero-width, bidi and other format characters;
//! * skips whitespace, punctuation, symbols and emoji that stand next to a CJK character, and
//!   collapses them to one space between two Latin words (so `add vx` stays two words);
//! * drops inline romanisation annotations after CJK text: 诈骗(zhàpiàn), 一九九二年（it kiú）;
//! * keeps a decimal point between digits and drops thousands separators (5,000 → 5000).
//!
//! Every byte of the folded text remembers which characters of the original text it came
//! from, so hits found in folded text are reported as spans of the original.
//!
//! Rule literals go through the same [`fold`], so a rule and a message meet in the middle.

pub(crate) mod amount;
mod table;

pub(crate) use table::Class;
use table::{class_of_same, lookup, lookup_entry, lookup_in, multi, same_code};

/// A folded text with its offset map back to the original.
///
/// Reused across messages by a scanner, so normalizing does not allocate once the buffers
/// have grown to the size of the longest message seen.
///
/// The scanner folds the text alone first: most messages hit nothing, and the offset map
/// costs more to build than the text. Only a message whose rules need positions (evidence,
/// `near`) is folded again with the map.
#[derive(Debug, Default, Clone)]
pub struct Folded {
    text: String,
    /// For each byte of `text`: the original characters `[start, end)` it came from.
    origin: Vec<(u32, u32)>,
    /// For each byte of `text`: the index of the folded character it belongs to.
    char_at: Vec<u32>,
    chars: u32,
    /// The original text, kept when the map was not built, to build it on demand.
    original: String,
    /// Whether `origin` and `char_at` describe `text`.
    located: bool,
    /// Whether `char_at` describes `text` (built alone for `near`, which needs no origins).
    indexed: bool,
}

impl Folded {
    /// An empty buffer.
    pub fn new() -> Folded {
        Folded::default()
    }

    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Number of characters in the folded text.
    pub fn char_len(&self) -> usize {
        self.chars as usize
    }

    /// The character range of the original text that produced the folded bytes
    /// `[start, end)`. `start < end` and both must lie on character boundaries.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        debug_assert!(self.located, "original_span before locate");
        let (s, _) = self.origin[start];
        let (_, e) = self.origin[end - 1];
        (s as usize, e as usize)
    }

    /// The folded character index at byte `byte` (which may equal the text length).
    pub(crate) fn char_index(&self, byte: usize) -> u32 {
        debug_assert!(self.indexed, "char_index before index_chars");
        if byte >= self.text.len() {
            self.chars
        } else {
            self.char_at[byte]
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.origin.clear();
        self.char_at.clear();
        self.chars = 0;
    }

    #[inline(always)]
    fn push<const MAP: bool>(&mut self, c: char, from: u32, to: u32) {
        let before = self.text.len();
        self.text.push(c);
        if MAP {
            for _ in before..self.text.len() {
                self.origin.push((from, to));
                self.char_at.push(self.chars);
            }
        }
        self.chars += 1;
    }

    /// Folds `original` without the offset map, keeping a copy of it for [`Folded::locate`].
    pub(crate) fn fold_text(&mut self, original: &str) {
        self.fold::<false>(original);
        self.original.clear();
        self.original.push_str(original);
        self.located = false;
    }

    /// Builds the character index of each byte of the folded text, for [`Folded::char_index`]:
    /// one pass over the folded bytes, much cheaper than the full offset map.
    pub(crate) fn index_chars(&mut self) {
        if !self.indexed {
            self.char_at.clear();
            let mut at = 0u32;
            for &b in self.text.as_bytes() {
                // A byte that does not continue a character starts the next one.
                at += u32::from(b & 0xC0 != 0x80);
                self.char_at.push(at - 1);
            }
            self.indexed = true;
        }
    }

    /// Builds the offset map of the text last folded by [`Folded::fold_text`].
    pub(crate) fn locate(&mut self) {
        if !self.located {
            let original = std::mem::take(&mut self.original);
            self.fold::<true>(&original);
            self.original = original;
        }
    }

    /// Folds `original` into this buffer, replacing what it held.
    pub fn fold_from(&mut self, original: &str) {
        self.fold::<true>(original);
    }

    fn fold<const MAP: bool>(&mut self, original: &str) {
        self.clear();
        self.located = MAP;
        self.indexed = MAP;
        let table = table::bmp();
        let bytes = original.as_bytes();
        let mut state = State { last: Class::Sep, last_char: '\0', pending: None };
        let mut pos = 0usize;
        let mut i: u32 = 0;
        let mut skip_until: u32 = 0;
        let mut looked_up = None;
        while pos < bytes.len() {
            if !MAP && state.pending.is_none() && i >= skip_until {
                // With no separator pending, a letter, digit or Han character is written as it
                // folds and nothing else changes. Most text is runs of them between separators,
                // and most of those fold to themselves (simplified Han, lowercase letters,
                // digits): those stretches are copied whole.
                let start = pos;
                let mut copied = pos;
                // The last character written, as (class, code point), with the class of a
                // self-folding one kept as its summary code until the run ends.
                let mut last = (0u8, state.last, state.last_char as u32);
                while pos < bytes.len() {
                    let (cp, len) = decode(bytes, pos);
                    let code = same_code(table, cp);
                    if code != 0 {
                        last = (code, Class::Sep, cp);
                    } else {
                        let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                        let (class, payload) = lookup_entry(table, c);
                        if !matches!(class, Class::Cjk | Class::Ascii | Class::Word) {
                            // Handled below, without reading it twice.
                            looked_up = Some((c, len, class, payload));
                            break;
                        }
                        let folded = char::from_u32(payload).unwrap_or(c);
                        self.text.push_str(&original[copied..pos]);
                        self.text.push(folded);
                        copied = pos + len;
                        last = (0, class, folded as u32);
                    }
                    pos += len;
                    i += 1;
                    self.chars += 1;
                }
                if pos > start {
                    self.text.push_str(&original[copied..pos]);
                    state.last = if last.0 != 0 { class_of_same(last.0) } else { last.1 };
                    state.last_char = char::from_u32(last.2).unwrap_or_default();
                }
                if pos >= bytes.len() {
                    break;
                }
            }
            let here = pos;
            let (c, len, class, payload) = looked_up.take().unwrap_or_else(|| {
                let (cp, len) = decode(bytes, pos);
                let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                let (class, payload) = lookup_in(table, c);
                (c, len, class, payload)
            });
            pos += len;
            let at = i;
            i += 1;
            if at < skip_until {
                continue;
            }
            match class {
                Class::Drop => {}
                Class::Multi => {
                    // Each character of the expansion (⑴ → "(1)") is treated as if written.
                    for d in multi(payload).chars() {
                        let (dc, dp) = lookup(d);
                        self.step::<MAP>(&mut state, dc, char::from_u32(dp).unwrap_or(d), at);
                    }
                }
                Class::Sep if payload == '(' as u32 && state.last == Class::Cjk => {
                    if let Some(n) = romanisation_len(&original[here..]) {
                        // The annotation reads as a separator run: 诈骗(zhàpiàn)提醒 → 诈骗提醒.
                        skip_until = at + n as u32;
                        state.pending.get_or_insert(Pending::new(' ', at)).extend(skip_until);
                    } else {
                        self.step::<MAP>(&mut state, class, '(', at);
                    }
                }
                _ => self.step::<MAP>(&mut state, class, char::from_u32(payload).unwrap_or(c), at),
            }
        }
    }

    /// Writes one folded character that came from original character `i`.
    #[inline(always)]
    fn step<const MAP: bool>(&mut self, st: &mut State, class: Class, c: char, i: u32) {
        match class {
            Class::Drop | Class::Multi => {}
            Class::Sep => match &mut st.pending {
                Some(p) => p.extend(i + 1),
                None => st.pending = Some(Pending::new(c, i)),
            },
            Class::Cjk | Class::Ascii | Class::Word => {
                if let Some(p) = st.pending.take() {
                    if let Some(sep) = p.joiner(st.last, st.last_char, class, c) {
                        self.push::<MAP>(sep, p.start, p.end);
                    }
                }
                self.push::<MAP>(c, i, i + 1);
                st.last = class;
                st.last_char = c;
            }
        }
    }
}

/// What the normalizer remembers between characters.
struct State {
    /// Class and character of the last character written.
    last: Class,
    last_char: char,
    /// A run of separators waiting to learn what follows it.
    pending: Option<Pending>,
}

/// A run of separators between two written characters.
struct Pending {
    first: char,
    len: u32,
    start: u32,
    end: u32,
}

impl Pending {
    fn new(first: char, at: u32) -> Pending {
        Pending { first, len: 1, start: at, end: at + 1 }
    }

    fn extend(&mut self, end: u32) {
        self.len += 1;
        self.end = end;
    }

    /// What the run becomes between `before` and `after`: nothing next to CJK, a kept decimal
    /// point or a dropped thousands separator between digits, one space between words.
    fn joiner(&self, before: Class, before_c: char, after: Class, after_c: char) -> Option<char> {
        let wordish = |c: Class| matches!(c, Class::Ascii | Class::Word);
        if !wordish(before) || !wordish(after) {
            return None;
        }
        if before_c.is_ascii_digit() && after_c.is_ascii_digit() && self.len == 1 {
            return match self.first {
                '.' => Some('.'),
                ',' => None,
                _ => Some(' '),
            };
        }
        Some(' ')
    }
}

/// The code point at byte `pos` of valid UTF-8, and its length.
#[inline(always)]
fn decode(b: &[u8], pos: usize) -> (u32, usize) {
    let b0 = b[pos];
    let c = |x: u8| (x & 0x3F) as u32;
    // One bounds check per character: the slice pattern takes the whole sequence at once.
    match b0 {
        0..0x80 => (b0 as u32, 1),
        0xE0..0xF0 => match b.get(pos..pos + 3) {
            Some(&[_, b1, b2]) => (((b0 & 0x0F) as u32) << 12 | c(b1) << 6 | c(b2), 3),
            _ => (0xFFFD, 1),
        },
        0xC0..0xE0 => match b.get(pos..pos + 2) {
            Some(&[_, b1]) => (((b0 & 0x1F) as u32) << 6 | c(b1), 2),
            _ => (0xFFFD, 1),
        },
        _ => match b.get(pos..pos + 4) {
            Some(&[_, b1, b2, b3]) => (((b0 & 0x07) as u32) << 18 | c(b1) << 12 | c(b2) << 6 | c(b3), 4),
            _ => (0xFFFD, 1),
        },
    }
}

/// If `rest` starts with a parenthesised romanisation — `(zhàpiàn)`, `（it kiú kiú jī nî）` —
/// returns its length in characters, parentheses included.
fn romanisation_len(rest: &str) -> Option<usize> {
    let mut letters = 0;
    for (n, c) in rest.chars().enumerate().skip(1) {
        if n > 80 {
            return None;
        }
        let (class, payload) = lookup(c);
        match class {
            Class::Ascii | Class::Word => {
                if char::from_u32(payload).is_some_and(|d| d.is_alphabetic()) {
                    letters += 1;
                }
            }
            Class::Drop => {}
            Class::Sep => match char::from_u32(payload) {
                Some(')') => return (letters > 0).then_some(n + 1),
                Some(' ' | '-' | '\'' | '’' | '·' | '.' | ',') => {}
                _ => return None,
            },
            Class::Cjk | Class::Multi => return None,
        }
    }
    None
}

/// Folds a string the way messages are folded and returns the folded text.
///
/// This is what rule literals go through at compile time; [`Folded`] is the allocation-free
/// version for the scan path.
///
/// ```
/// assert_eq!(fanzha::fold("先 出-票"), "先出票");
/// assert_eq!(fanzha::fold("兩萬塊 ＶＸ"), "两万块vx");
/// assert_eq!(fanzha::fold("诈骗(zhàpiàn)"), "诈骗");
/// ```
pub fn fold(text: &str) -> String {
    let mut f = Folded::new();
    f.fold_from(text);
    f.text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> (String, Vec<(u32, u32)>) {
        let mut f = Folded::new();
        f.fold_from(text);
        (f.text.clone(), f.origin.clone())
    }

    #[test]
    fn separators_between_cjk_are_skipped() {
        assert_eq!(fold("先 出-票"), "先出票");
        assert_eq!(fold("先\u{200b}出\u{202e}票"), "先出票");
        assert_eq!(fold("先🎫出票！！"), "先出票");
        assert_eq!(fold("先　出　票"), "先出票");
    }

    #[test]
    fn words_keep_one_space() {
        assert_eq!(fold("add  my   VX"), "add my vx");
        assert_eq!(fold("加 vx 123"), "加vx 123");
    }

    #[test]
    fn width_case_and_script_fold() {
        assert_eq!(fold("ＶＸ"), "vx");
        assert_eq!(fold("５萬"), "5万");
        assert_eq!(fold("⑤"), "5");
        // Enclosed numerals NFKC leaves alone, and financial numerals.
        assert_eq!(fold("❺万 ➊➋ ⓵⓪ ⓫ ⓿"), "5万12 10 11 0");
        assert_eq!(fold("伍仟 贰拾 捌拾份 陆万"), "五千二十八十份陆万");
        assert_eq!(fold("頭家"), "头家");
        assert_eq!(fold("轉帳"), "转账");
        assert_eq!(fold("piào"), "piao");
    }

    #[test]
    fn digits_keep_decimal_point_and_drop_thousands_separator() {
        assert_eq!(fold("1.5万"), "1.5万");
        assert_eq!(fold("5,000元"), "5000元");
        assert_eq!(fold("5, 000"), "5 000");
    }

    #[test]
    fn romanisation_annotations_are_dropped() {
        assert_eq!(fold("诈骗(zhàpiàn)"), "诈骗");
        assert_eq!(fold("一九九二年（it kiú kiú jī nî）"), "一九九二年");
        assert_eq!(fold("一人一个樣（tsi̍t-lâng tsi̍t-ê iūnn）"), "一人一个样");
        // Not after CJK, or not romanisation: kept as a separator.
        assert_eq!(fold("a (b) c"), "a b c");
        assert_eq!(fold("先出票(100)"), "先出票100");
    }

    #[test]
    fn the_cheap_character_index_agrees_with_the_full_map() {
        for text in ["先 出-票 add  VX 5,000元", "诈骗(zhàpiàn)提醒⑴", "", "ok", "頭家，一碗扁食偌濟箍？"]
        {
            let mut full = Folded::new();
            full.fold_from(text);
            let mut cheap = Folded::new();
            cheap.fold_text(text);
            cheap.index_chars();
            assert_eq!(cheap.as_str(), full.as_str());
            for b in 0..=full.as_str().len() {
                assert_eq!(cheap.char_index(b), full.char_index(b), "{text:?} byte {b}");
            }
            cheap.locate();
            assert_eq!(cheap.origin, full.origin);
        }
    }

    #[test]
    fn offsets_point_into_the_original() {
        let (text, origin) = spans("先 出-票");
        assert_eq!(text, "先出票");
        let chars: Vec<(u32, u32)> = text.char_indices().map(|(b, _)| origin[b]).collect();
        assert_eq!(chars, vec![(0, 1), (2, 3), (4, 5)]);
        let (text, origin) = spans("㎡");
        assert_eq!(text, "m2");
        assert_eq!(origin, vec![(0, 1), (0, 1)]);
    }

    #[test]
    fn folding_is_idempotent_on_samples() {
        for s in ["先 出-票", "兩萬塊 ＶＸ", "诈骗(zhàpiàn)", "Add Me ON wx!!", "㎡①ﬁ"] {
            let once = fold(s);
            assert_eq!(fold(&once), once, "{s}");
        }
    }
}
