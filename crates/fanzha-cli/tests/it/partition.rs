//! How `fanzha check` reports partitioning (the library's side is in tests/it/partition.rs at
//! the repository's root).

const SPLIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/partition/split.toml");

#[test]
fn check_says_how_a_pack_partitions() {
    let out = super::cli::fanzha(&["check", "rules"], b"");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("partitions: by the values of conversation, merchant, payee, payer, sender"),
        "{err}"
    );
    // Valid rules that cannot be split are still valid: a note, not a failure.
    let out = super::cli::fanzha(&["check", SPLIT], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("partitions: cannot be split without changing verdicts"), "{err}");
    assert!(err.contains("split.fan-out"), "{err}");
}
