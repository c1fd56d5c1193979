//! The scenario reader fed arbitrary text: every input gives a `Scenario` or an
//! error, never a panic; a trace file named in it reads as arbitrary text too (the
//! same input), so the Mahimahi parser is exercised through the reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut load = |_: &str| Ok(text.to_string());
    let _ = layer4_sim::scenario::parse_with(text, "fuzz.toml", &mut load);
});
