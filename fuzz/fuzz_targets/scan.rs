#![no_main]
// The bundled packs scan any text without panicking, and spans stay inside it.
use std::sync::OnceLock;
static ENGINE: OnceLock<fanzha::Engine> = OnceLock::new();
libfuzzer_sys::fuzz_target!(|s: &str| {
    let v = ENGINE.get_or_init(|| fanzha::Engine::bundled().unwrap()).scan_text(s);
    let n = s.chars().count();
    assert!(v.hits.iter().all(|h| h.spans.iter().all(|&[a, b]| a < b && b <= n)));
});
