#![no_main]
// Any line is an event or an error, never a panic.
libfuzzer_sys::fuzz_target!(|s: &str| {
    let _ = fanzha::Event::from_json(s);
});
