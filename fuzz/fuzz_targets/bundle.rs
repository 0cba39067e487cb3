#![no_main]
// The body, and what it checks, is in src/bundle.rs (replayed on stable by tests/replay.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| fanzha_fuzz::bundle::run(data));
