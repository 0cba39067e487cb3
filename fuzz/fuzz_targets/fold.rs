#![no_main]
// Folding never panics and is idempotent.
libfuzzer_sys::fuzz_target!(|s: &str| {
    let once = fanzha::fold(s);
    assert_eq!(fanzha::fold(&once), once);
});
