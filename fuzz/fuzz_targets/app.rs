//! The application's calls in any order against two stacks:
//! [`layer4_sim::app_model::run_ops`] decodes the input into a configuration
//! (family, buffers, options) and steps (sends, reads, shutdowns, closes, aborts,
//! accepts, deliveries, losses, duplicates, reorderings, the clock moving either
//! way), lets a reliable link settle them, and checks that no byte a send
//! accepted was lost without one side being told, and that every byte read is
//! the peer's. Its property-test twin is `crates/sim/tests/app_model.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = layer4_sim::app_model::run_ops(data) {
        panic!("property violated: {e}");
    }
});
