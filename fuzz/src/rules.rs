//! `rules`: loading and compiling any rule source.
//!
//! The input is a rule pack: as lossy UTF-8 through [`RuleSet::from_str`], and, when it is
//! not valid UTF-8, also as raw bytes in a file through [`RuleSet::from_path`], which must
//! fail with `E009` at the first invalid byte (`E010` when over [`Limits::source_bytes`]). A
//! source loads, or fails with diagnostics whose line and column lie inside the source; what
//! loads compiles ([`Engine::new`]) or fails the same way; what compiles scans a few fixed
//! texts with verdicts that keep the verdict contract.

use fanzha::{Diagnostic, Engine, Error, Limits, RuleSet};

use crate::check_verdict;

const NAME: &str = "fuzz.toml";

const TEXTS: &[&str] = &[
    "老板先出票，两万块",
    "頭家先 出-piao 啦，等陣俾錢，ＶＸ转账5,000元",
    "民警提醒：冒充大客户让你先出票的千万别信",
    "",
    "add my vx 12345 诈骗(zhàpiàn) 🎫 \u{200b}",
];

pub fn run(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    match RuleSet::from_str(NAME, &source) {
        Ok(rules) => compile(&rules, &source),
        Err(e) => check_diagnostics(&e, &source, NAME),
    }
    if std::str::from_utf8(data).is_err() {
        raw_file(data);
    }
}

fn compile(rules: &RuleSet, source: &str) {
    match Engine::new(rules) {
        Ok(engine) => {
            let mut scanner = engine.scanner();
            for t in TEXTS {
                let v = scanner.scan_text(t);
                check_verdict(&v, t, engine.levels(), false);
            }
        }
        Err(e) => check_diagnostics(&e, source, NAME),
    }
}

/// Raw bytes, not UTF-8, in a file: `E009` located at the first invalid byte.
fn raw_file(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("fanzha-fuzz-rules-{}.toml", std::process::id()));
    std::fs::write(&path, data).expect("the temporary directory is writable");
    let result = RuleSet::from_path(&path);
    let _ = std::fs::remove_file(&path);
    let e = match result {
        Ok(_) => panic!("a file that is not UTF-8 loaded"),
        Err(e) => e,
    };
    let d = e.diagnostics();
    if data.len() > Limits::default().source_bytes {
        // Too large to be read at all: the size is checked first.
        assert!(d.iter().any(|d| d.code == "E010"), "no E010 for {} bytes: {d:?}", data.len());
        return;
    }
    let at = std::str::from_utf8(data).unwrap_err().valid_up_to();
    let before = std::str::from_utf8(&data[..at]).unwrap();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    assert!(
        d.iter().any(|d| d.code == "E009" && d.line == line && d.column == column),
        "no E009 at {line}:{column}: {d:?}"
    );
}

/// Every diagnostic names the source and a line and column inside it.
fn check_diagnostics(e: &Error, source: &str, name: &str) {
    let diags: &[Diagnostic] = e.diagnostics();
    assert!(!diags.is_empty(), "an error without diagnostics: {e}");
    let lines: Vec<&str> = source.split('\n').collect();
    for d in diags {
        assert_eq!(d.file, name, "a diagnostic names another file: {d}");
        assert!(d.code.len() == 4 && d.code.starts_with('E'), "odd code: {d}");
        assert!(d.line >= 1 && d.line <= lines.len(), "line outside the source ({} lines): {d}", lines.len());
        let width = lines[d.line - 1].chars().count();
        assert!(
            d.column >= 1 && d.column <= width + 1,
            "column outside line {} ({width} chars): {d}",
            d.line
        );
    }
}
