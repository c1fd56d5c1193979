//! A live connection under attack: [`layer4_sim::live::run_ops`] takes the address
//! family from the input's first byte (low bit 0: IPv4, 1: IPv6, so that the
//! stack's IPv6 receive path and its runs are attacked as well as IPv4's) and
//! decodes the rest into steps (deliveries, losses, duplicates, reorderings, time jumps, reads,
//! writes, closes, segments forged from the client's 4-tuple near the live window,
//! raw segments) against two stacks with an established connection, and checks
//! after every step that nothing panicked, SND.UNA ≤ SND.NXT ≤ SND.MAX, buffers and
//! out-of-order ranges stay within their caps, every byte read is the peer's
//! pattern, and no transmit loop runs away. Its property-test twin is
//! `crates/sim/tests/live_fuzz.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = layer4_sim::live::run_ops(data) {
        panic!("invariant violated: {e}");
    }
});
