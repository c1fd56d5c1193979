//! The property-test twin of the `app` fuzz target (`fuzz/fuzz_targets/app.rs`):
//! programs of application calls, losses, duplicates, reorderings and clock moves
//! ([`layer4_sim::app_model::run_ops`]) from before the handshake to after the
//! close, over both families and sixteen configurations (options off, buffers
//! down to one byte); after every step each connection's invariants hold and
//! `TcpCurrEstab` counts exactly the established connections; after a reliable
//! settle, no byte a send accepted may be missing without an error on one side.
//! (Until session 15 the stack crate had an op-level twin of this property,
//! `api_model_tests`; its operations and checks live here now.)
//! CI runs 256 cases; `PROPTEST_CASES=n` runs n.

use layer4_sim::app_model::{decode, run_ops, run_program, Op, Program};
use layer4_sim::live::Family;
use proptest::prelude::*;

/// 256, or `PROPTEST_CASES` when it is set to a number.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn no_byte_a_send_accepted_is_lost_unreported(
        program in proptest::collection::vec(any::<u8>(), 1..200),
    ) {
        if let Err(e) = run_ops(&program) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The two programs that found the bugs, kept as they were (the decoder may
/// change; these stay readable).
#[test]
fn the_programs_that_found_bugs_pass() {
    use Op::*;
    // Data written, then writing shut down, before the SYN-ACK: the data was
    // dropped with the connection.
    let syn_sent = Program {
        family: Family::V4,
        variant: 0,
        ops: vec![Send(true, 1), ShutWrite(true)],
    };
    for family in [Family::V4, Family::V6] {
        let s = run_program(&Program {
            family,
            ..syn_sent.clone()
        })
        .unwrap();
        assert_eq!((s.client_sent, s.server_read), (1, 1));
    }
    // Both sides timed out after the other had received everything: each
    // dropped the other's ACKs, whose sequence numbers went back with SND.NXT.
    let go_back_n = Program {
        family: Family::V4,
        variant: 0,
        ops: vec![
            Deliver(true, 1),
            Deliver(false, 1),
            Deliver(true, 1),
            Send(true, 1449),
            Advance(800),
            Accept,
            Send(true, 1),
            Accept,
            Send(false, 1449),
            ShutWrite(false),
        ],
    };
    for family in [Family::V4, Family::V6] {
        let s = run_program(&Program {
            family,
            ..go_back_n.clone()
        })
        .unwrap();
        assert_eq!((s.client_sent, s.server_read), (1450, 1450));
        assert_eq!((s.server_sent, s.client_read), (1449, 1449));
        assert!(!s.error);
    }
    // The same with 4 KiB buffers, both windows filled (found by the `app` fuzz
    // target in 13 s): the pure ACKs after the timeouts sat at the peer's right
    // edge, which a strict acceptability test dropped (the clock moving back
    // 53 ms made the last segment fail PAWS, so both sides timed out).
    let full_windows = Program {
        family: Family::V4,
        variant: 1,
        ops: vec![
            Deliver(true, 1),
            Deliver(false, 1),
            Deliver(true, 1),
            Accept,
            Send(true, 8988),
            Send(false, 10497),
            Rewind(53),
            ShutWrite(false),
            Advance(273),
        ],
    };
    let s = run_program(&full_windows).unwrap();
    assert_eq!((s.client_sent, s.server_read), (4096, 4096));
    assert_eq!((s.server_sent, s.client_read), (4096, 4096));
    assert!(!s.error);
    // Full windows over IPv6, both FINs out, the clock back almost a second:
    // every segment fails PAWS until the clock catches up, both sides time out,
    // and then a pure ACK at SND.MAX was one past the peer's window (its FIN),
    // so it went back to the rewound SND.NXT, below the peer's RCV.NXT. Now
    // the window's right edge, as Linux (found by the `app` fuzz target).
    let fins_past_full_windows = Program {
        family: Family::V6,
        variant: 1,
        ops: vec![
            Deliver(true, 1),
            Deliver(false, 4),
            Deliver(true, 1),
            Accept,
            Send(true, 5642),
            Send(false, 8343),
            ShutWrite(true),
            Rewind(969),
            ShutWrite(false),
        ],
    };
    let s = run_program(&fins_past_full_windows).unwrap();
    assert_eq!((s.server_sent, s.client_read), (4096, 4096));
    assert!(!s.error);
    // A simultaneous close past full windows, everything in flight while both
    // time out: each side's ACK then sits at its own FIN, one below the peer's
    // RCV.NXT, and was dropped as old; both stayed in CLOSING (the `app` fuzz
    // target). Such an ACK's acknowledgement is now taken.
    let simultaneous_close = Program {
        family: Family::V4,
        variant: 1,
        ops: vec![
            Deliver(true, 1),
            Deliver(false, 1),
            Deliver(true, 1),
            Accept,
            Send(false, 4385),
            Send(true, 8238),
            ShutWrite(true),
            ShutWrite(false),
            Advance(3649),
        ],
    };
    let s = run_program(&simultaneous_close).unwrap();
    assert_eq!((s.client_sent, s.server_read), (4096, 4096));
    assert!(!s.error);
    // Both sides went back behind windows of the other's they had not seen
    // grow (4 KiB buffers, a loss): each one's ACKs sat 248 bytes below the
    // other's RCV.NXT (the `app` fuzz target). An ACK alone up to a window
    // below is now taken.
    let stale_windows = Program {
        family: Family::V4,
        variant: 1,
        ops: vec![
            Deliver(true, 5),
            Send(true, 9307),
            Deliver(false, 1),
            Deliver(true, 2),
            Accept,
            Send(false, 6076),
            Deliver(false, 2),
            Lose(true),
            Deliver(false, 1),
            Deliver(true, 1),
            Send(false, 4354),
            Send(true, 5289),
            Advance(1489),
        ],
    };
    let s = run_program(&stale_windows).unwrap();
    assert_eq!((s.client_sent, s.server_read), (6992, 6992));
    assert_eq!((s.server_sent, s.client_read), (6992, 6992));
    assert!(!s.error);
}

#[test]
fn the_decoder_reads_every_kind_of_step() {
    let mut seen = std::collections::HashSet::new();
    for b in 0..=255u8 {
        for op in decode(&[0, b, 0xff, 0xff, 0xff]).ops {
            seen.insert(std::mem::discriminant(&op));
        }
    }
    assert_eq!(seen.len(), 15, "every Op variant is reachable");
}
