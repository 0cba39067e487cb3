//! Masking personal data in verdict evidence.
//!
//! Evidence quotes the message, and a scam message often carries the numbers it wants used:
//! the fraudster's phone, a bank card to pay into, an ID number to look official, or the
//! victim's own. Verdicts go to logs, dashboards and group chats that should not collect
//! them, so [`Verdict::mask_personal_data`](crate::Verdict::mask_personal_data) hides every
//! long number in the evidence but its last four digits, the way banks print card numbers.
//!
//! A number is a run of at least [`MIN_DIGITS`] digits (ASCII or full-width), which may be
//! broken by single spaces, hyphens or dots (`138 1234 5678`, `6222-0212-3456-7890`) and may
//! end in the `X` of an ID card number. That covers mobile numbers (11 digits), ID card
//! numbers (15 or 18), bank cards (16 to 19) and QQ numbers of nine digits or more, and
//! leaves amounts (`20000`), dates (`2025-05-19`) and times alone. Each masked character
//! becomes one `*`, so the evidence keeps its length and the spans still fit it. Numbers
//! spelled in Chinese numerals are not recognised.

use std::borrow::Cow;

/// The fewest digits a number needs to be masked.
const MIN_DIGITS: usize = 9;
/// Digits left visible at the end of a masked number.
const KEEP: usize = 4;

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{3000}' | '－')
}

/// Digits in a row from character `at`.
fn digits_from(chars: &[(usize, char)], at: usize) -> usize {
    chars.get(at..).map_or(0, |rest| rest.iter().take_while(|&&(_, c)| is_digit(c)).count())
}

/// `text` with every long number masked but its last four digits; borrowed when there is
/// nothing to mask.
///
/// A number is a run of nine digits or more (ASCII or full-width), perhaps in groups of three
/// or more joined by single spaces, hyphens or dots, perhaps ending in an ID card's `X`:
/// mobile numbers, ID card numbers, bank cards and long QQ numbers, but not amounts, dates
/// or times. Each masked character becomes one `*`, so the text keeps its length in
/// characters. Numbers written in Chinese numerals are not recognised.
///
/// ```
/// use fanzha::mask_personal_data;
///
/// assert_eq!(mask_personal_data("加我13812345678"), "加我*******5678");
/// assert_eq!(mask_personal_data("卡号 6222 0212 3456 7890"), "卡号 **** **** **** 7890");
/// assert_eq!(mask_personal_data("转20000元"), "转20000元");
/// ```
pub fn mask_personal_data(text: &str) -> Cow<'_, str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i].1) {
            i += 1;
            continue;
        }
        // A run: groups of digits joined by single separators, and perhaps a final X. Only
        // groups of three digits or more join, as phone and card numbers are written
        // (138 1234 5678); dates and times (2025-05-19 08:00) have groups of two.
        let start = i;
        let mut end = i + 1;
        let mut group = 1;
        while end < chars.len() {
            let c = chars[end].1;
            if is_digit(c) {
                end += 1;
                group += 1;
            } else if is_separator(c) && group >= 3 && digits_from(&chars, end + 1) >= 3 {
                end += 1;
                group = 0;
            } else {
                break;
            }
        }
        if chars.get(end).is_some_and(|&(_, c)| matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')) {
            end += 1;
        }
        let digits = chars[start..end].iter().filter(|&&(_, c)| !is_separator(c)).count();
        if digits >= MIN_DIGITS {
            runs.push((start, end));
        }
        i = end;
    }
    if runs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut next = 0;
    for (start, end) in runs {
        out.extend(chars[next..start].iter().map(|&(_, c)| c));
        let mut left = chars[start..end].iter().filter(|&&(_, c)| !is_separator(c)).count();
        for &(_, c) in &chars[start..end] {
            if is_separator(c) {
                out.push(c);
            } else {
                out.push(if left > KEEP { '*' } else { c });
                left -= 1;
            }
        }
        next = end;
    }
    out.extend(chars[next..].iter().map(|&(_, c)| c));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::mask_personal_data as mask;

    #[test]
    fn phones_ids_and_cards_keep_only_their_last_four_digits() {
        assert_eq!(mask("13812345678"), "*******5678");
        assert_eq!(mask("电话：138-1234-5678。"), "电话：***-****-5678。");
        assert_eq!(mask("１３８１２３４５６７８"), "*******５６７８");
        assert_eq!(mask("身份证11010519491231002X"), "身份证**************002X");
        assert_eq!(mask("身份证110105194912310"), "身份证***********2310");
        assert_eq!(mask("6222021234567890123 和 13812345678"), "***************0123 和 *******5678");
        assert_eq!(mask("QQ 123456789"), "QQ *****6789");
    }

    #[test]
    fn amounts_dates_and_short_numbers_are_left_alone() {
        for text in ["转20000元", "1000000", "2025-05-19 08:00", "12345678", "第 1 2 3 期", "价 3.50 元", ""]
        {
            assert!(matches!(mask(text), std::borrow::Cow::Borrowed(_)), "{text}");
        }
        // Separators never join numbers that stand apart ("1  2" has two spaces).
        assert_eq!(mask("12345  67890"), "12345  67890");
    }

    #[test]
    fn masking_keeps_the_length_in_characters() {
        for text in ["加我13812345678好吗", "卡 6222 0212 3456 7890 户名张三", "１３８１２３４５６７８"]
        {
            assert_eq!(mask(text).chars().count(), text.chars().count(), "{text}");
        }
    }
}
