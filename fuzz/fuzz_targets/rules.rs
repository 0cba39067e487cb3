#![no_main]
// Any rule source loads or fails with diagnostics; what loads compiles and scans.
libfuzzer_sys::fuzz_target!(|s: &str| {
    if let Ok(rules) = fanzha::RuleSet::from_str("fuzz.toml", s) {
        if let Ok(engine) = fanzha::Engine::new(&rules) {
            engine.scan_text("老板先出票，两万块");
        }
    }
});
