//! `scan`: the bundled packs on any text.
//!
//! The input is read as lossy UTF-8 and cut at newlines into up to four texts, scanned in
//! turn by one scanner. Each verdict keeps the verdict contract ([`crate::check_verdict`]:
//! spans inside the text with their evidence, level from score, ordered hits), is the same
//! as a fresh scanner's (reused scratch leaks nothing from one text into the next), and the
//! scanner's folded text is `fold` of the text with an offset map inside it.

use fanzha::fold;

use crate::{bundled, check_verdict};

pub fn run(data: &[u8]) {
    let engine = bundled();
    let levels = engine.levels();
    let text = String::from_utf8_lossy(data);
    let mut scanner = engine.scanner();
    for t in text.splitn(4, '\n') {
        let v = scanner.scan_text(t);
        check_verdict(&v, t, levels, true);
        assert_eq!(v, engine.scan_text(t), "a used scanner and a fresh one differ on {t:?}");
        let folded = scanner.folded();
        assert_eq!(folded.as_str(), fold(t), "the scanner's folded text is not fold({t:?})");
        crate::fold::check_map(folded, t.chars().count(), t);
    }
}
