//! `fold`: the normalizer on any text.
//!
//! * [`fanzha::fold`] is idempotent: folded text folds to itself (rules and messages meet in
//!   the middle, so a literal already folded must not move again).
//! * [`fanzha::Folded`] gives the same text as `fold`, counts its characters right, and maps
//!   every folded character back to a non-empty range of original characters inside the
//!   text, in order.

use fanzha::{fold, Folded};

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let once = fold(&text);
    assert_eq!(fold(&once), once, "fold is not idempotent on {text:?}");

    let mut f = Folded::new();
    // Fold something else first: the buffer is reused across messages.
    f.fold_from("頭家 先 出-票，ＶＸ转账5,000元 诈骗(zhàpiàn)");
    f.fold_from(&text);
    assert_eq!(f.as_str(), once, "Folded and fold differ on {text:?}");
    assert_eq!(f.char_len(), once.chars().count(), "char_len is wrong on {text:?}");
    check_map(&f, text.chars().count(), &text);
}

/// Every folded character comes from a non-empty range of original characters inside the
/// text, and the ranges move forward with the folded text.
pub fn check_map(f: &Folded, original_chars: usize, text: &str) {
    let folded = f.as_str();
    let mut last = (0, 0);
    for (b, c) in folded.char_indices() {
        let (s, e) = f.original_span(b, b + c.len_utf8());
        assert!(
            s < e && e <= original_chars,
            "folded {c:?} at byte {b} maps to [{s}, {e}) of {original_chars} chars in {text:?}"
        );
        assert!(
            s >= last.0 && e >= last.1,
            "folded {c:?} at byte {b} maps to [{s}, {e}), before [{}, {}), in {text:?}",
            last.0,
            last.1
        );
        last = (s, e);
    }
    if !folded.is_empty() {
        let (s, e) = f.original_span(0, folded.len());
        assert!(s < e && e <= original_chars, "the whole folded text maps to [{s}, {e}) in {text:?}");
    }
}
