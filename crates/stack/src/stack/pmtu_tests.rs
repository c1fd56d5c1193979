//! The path MTU of open connections over time: a lowered estimate is raised
//! again when it expires (RFC 1191 section 6.3, RFC 8201 section 4), never
//! sooner than its lifetime after the connection's own decrease, and a
//! connection shrinks on its packet-too-big even when the cache keeps nothing.

use core::net::{IpAddr, SocketAddr};

use super::icmp_tests::{sending_connection, too_big_to_a};
use super::tests::{connect, pattern, Impairment, Pair, B4, B6};
use super::*;
use crate::time::Duration;

/// A's connection `c`'s path MTU and MSS, as `tcp_info` reports them.
fn pmtu_and_mss(pair: &Pair, c: SocketHandle) -> (u16, u16) {
    let info = pair.a.tcp_info(pair.now, c).unwrap();
    (info.pmtu, info.snd_mss)
}

/// Moves the pair's clock to `at` (running whatever happens until then) and
/// runs A's and B's timers there.
fn advance_to(pair: &mut Pair, at: Instant) {
    let limit = at.saturating_duration_since(pair.now);
    pair.run_until(limit, |_| false);
    pair.now = pair.now.max(at);
    pair.a.handle_timeout(pair.now);
    pair.b.handle_timeout(pair.now);
}

/// Sends `data` from A's `c` to B's `s` and returns what B read. (Not
/// `tests::transfer`: its first send happens inside the run, which stops at
/// once when no timer is armed, as on a connection idle for minutes.)
fn send_all(pair: &mut Pair, c: SocketHandle, s: SocketHandle, data: &[u8]) -> Vec<u8> {
    let sent = pair.a.tcp_send(pair.now, c, data).unwrap();
    send_all_from(pair, c, s, data, sent)
}

/// [`send_all`] when the first `sent` bytes are already sent; checks A's
/// connection's invariants all along.
fn send_all_from(
    pair: &mut Pair,
    c: SocketHandle,
    s: SocketHandle,
    data: &[u8],
    mut sent: usize,
) -> Vec<u8> {
    let mut got = Vec::new();
    let mut rx = vec![0u8; 65536];
    let ok = pair.run_until(Duration::from_secs(60), |p| {
        if sent < data.len() {
            sent += p.a.tcp_send(p.now, c, &data[sent..]).unwrap_or(0);
        }
        while let Ok(n) = p.b.tcp_recv(p.now, s, &mut rx) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&rx[..n]);
        }
        p.a.tcp_check_invariants(c).unwrap();
        got.len() >= data.len()
    });
    assert!(ok, "stalled at {} of {}", got.len(), data.len());
    got
}

/// The MSS of a 1500-byte path with timestamps, over IPv4 or IPv6.
fn full_mss(v6: bool) -> u16 {
    1500 - if v6 { 40 } else { 20 } - 20 - 12
}

#[test]
fn a_lowered_path_mtu_is_raised_on_open_connections_when_it_expires() {
    for v6 in [false, true] {
        let mut pair = Pair::new(Impairment::default(), 150 + u64::from(v6));
        let (c, quote) = sending_connection(&mut pair, v6, 80);
        let lowered_at = pair.now;
        too_big_to_a(&mut pair, &quote, 1400);
        assert_eq!(pmtu_and_mss(&pair, c).0, 1400, "v6 {v6}");
        // A connection opened a minute later takes the cached estimate.
        advance_to(&mut pair, lowered_at + Duration::from_secs(60));
        let server = if v6 {
            SocketAddr::new(IpAddr::V6(B6), 81)
        } else {
            SocketAddr::new(IpAddr::V4(B4), 81)
        };
        let (d, _, d_server) = connect(&mut pair, server);
        assert_eq!(pmtu_and_mss(&pair, d).0, 1400, "v6 {v6}");

        // Not a moment before the estimate's ten minutes.
        advance_to(&mut pair, lowered_at + Duration::from_secs(599));
        assert_eq!(pmtu_and_mss(&pair, c).0, 1400, "v6 {v6}");
        assert_eq!(pmtu_and_mss(&pair, d).0, 1400, "v6 {v6}");
        // Then both connections are back at the link MTU, full-sized segments
        // as the peer's MSS allows.
        advance_to(&mut pair, lowered_at + Duration::from_secs(600));
        assert_eq!(pmtu_and_mss(&pair, c), (1500, full_mss(v6)), "v6 {v6}");
        assert_eq!(pmtu_and_mss(&pair, d), (1500, full_mss(v6)), "v6 {v6}");
        assert!(pair.a.pmtu_raises.is_empty());

        // And send them: a transfer on `d` arrives intact in 1500-byte packets.
        let from = pair.sent.len();
        let data = pattern(60_000, 7);
        assert!(send_all(&mut pair, d, d_server, &data) == data, "v6 {v6}");
        let largest = pair.sent[from..]
            .iter()
            .filter(|(_, to_b, _)| *to_b)
            .map(|(_, _, p)| p.len())
            .max();
        assert_eq!(largest, Some(1500), "v6 {v6}");
        pair.a.tcp_check_invariants(d).unwrap();
    }
}

#[test]
fn a_connection_lowered_again_waits_for_its_own_ten_minutes() {
    let mut pair = Pair::new(Impairment::default(), 152);
    let (c, quote) = sending_connection(&mut pair, false, 80);
    let first = pair.now;
    too_big_to_a(&mut pair, &quote, 1400);
    // Five minutes later the same connection's segment draws another error.
    advance_to(&mut pair, first + Duration::from_secs(300));
    pair.a.tcp_send(pair.now, c, &pattern(3000, 2)).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(n, 1400);
    too_big_to_a(&mut pair, &buf[..28], 1300);
    let second = pair.now;
    assert_eq!(pmtu_and_mss(&pair, c).0, 1300);
    advance_to(&mut pair, first + Duration::from_secs(601));
    assert_eq!(
        pmtu_and_mss(&pair, c).0,
        1300,
        "raised 10 min after the first"
    );
    advance_to(&mut pair, second + Duration::from_secs(600));
    assert_eq!(pmtu_and_mss(&pair, c).0, 1500);
}

#[test]
fn a_packet_too_big_shrinks_its_connection_without_a_cache() {
    for v6 in [false, true] {
        let mut pair = Pair::with_config(Impairment::default(), 154 + u64::from(v6), |c| {
            c.pmtu.capacity = 0;
        });
        let dst = if v6 { IpAddr::V6(B6) } else { IpAddr::V4(B4) };
        let (c, quote) = sending_connection(&mut pair, v6, 80);
        let lowered_at = pair.now;
        too_big_to_a(&mut pair, &quote, 1400);
        // The cache keeps nothing; the connection whose segment was dropped
        // shrinks all the same, and resends at the new size.
        assert_eq!(pair.a.path_mtu(pair.now, dst), 1500, "v6 {v6}");
        assert_eq!(pmtu_and_mss(&pair, c).0, 1400, "v6 {v6}");
        let mut buf = [0u8; 1500];
        let sizes: Vec<usize> =
            core::iter::from_fn(|| pair.a.poll_transmit(pair.now, &mut buf)).collect();
        assert!(
            !sizes.is_empty() && sizes.iter().all(|&n| n <= 1400),
            "{sizes:?}"
        );
        // It goes back up ten minutes after its decrease, not before.
        advance_to(&mut pair, lowered_at + Duration::from_secs(599));
        assert_eq!(pmtu_and_mss(&pair, c).0, 1400, "v6 {v6}");
        advance_to(&mut pair, lowered_at + Duration::from_secs(600));
        assert_eq!(pmtu_and_mss(&pair, c), (1500, full_mss(v6)), "v6 {v6}");
    }
}

#[test]
fn a_raise_with_holes_in_flight_keeps_sack_and_retransmissions_consistent() {
    for v6 in [false, true] {
        // A short estimate lifetime, so that the raise comes while segments
        // sent at the small size are still missing.
        let mut pair = Pair::with_config(Impairment::default(), 156 + u64::from(v6), |c| {
            c.pmtu.expires = Duration::from_secs(2);
        });
        let server = if v6 {
            SocketAddr::new(IpAddr::V6(B6), 80)
        } else {
            SocketAddr::new(IpAddr::V4(B4), 80)
        };
        let (c, _l, s) = connect(&mut pair, server);
        let data = pattern(40_000, 3);
        let sent = pair.a.tcp_send(pair.now, c, &data).unwrap();
        let mut buf = [0u8; 1500];
        let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
        let hl = if v6 { 40 } else { 20 };
        let lowered_at = pair.now;
        too_big_to_a(&mut pair, &buf[..hl + 8], 1280);
        assert_eq!(n, 1500);
        assert_eq!(pmtu_and_mss(&pair, c).0, 1280);
        // The flight at the small size: every other segment reaches B, which
        // answers with SACKs the link carries later.
        let mut i = 0;
        while let Some(n) = pair.a.poll_transmit(pair.now, &mut buf) {
            assert!(n <= 1280, "{n}");
            if i % 2 == 1 {
                pair.b
                    .handle_packet(pair.now + Duration::from_millis(5), &buf[..n]);
            }
            i += 1;
        }
        assert!(i >= 6, "{i} segments");
        // The raise comes before any of B's ACKs: the holes are resent at the
        // new size, over ranges cut at the old one.
        pair.now = lowered_at + Duration::from_secs(2);
        pair.a.handle_timeout(pair.now);
        assert_eq!(pmtu_and_mss(&pair, c), (1500, full_mss(v6)), "v6 {v6}");
        pair.a.tcp_check_invariants(c).unwrap();
        let got = send_all_from(&mut pair, c, s, &data, sent);
        assert!(got == data, "v6 {v6}: the stream arrived altered");
        let info = pair.a.tcp_info(pair.now, c).unwrap();
        assert!(info.total_retrans > 0, "v6 {v6}: nothing was resent");
    }
}

/// A connection raised at its deadline to an estimate the cache still holds
/// (lower than the link's, newer than its own decrease) is raised again when
/// that one expires, not left at it for the rest of its life. The cache can
/// hold such an estimate when the connection's own was evicted (a `capacity`
/// of 1 here; a host reporting "too big"s for many destinations evicts the
/// same way) and another connection's error then lowered the path less far.
#[test]
fn a_connection_raised_to_a_newer_estimate_is_raised_again_when_that_expires() {
    let mut pair = Pair::with_config(Impairment::default(), 158, |c| {
        c.pmtu.capacity = 1;
    });
    let (c, quote) = sending_connection(&mut pair, false, 80);
    let first = pair.now;
    too_big_to_a(&mut pair, &quote, 1280);
    assert_eq!(pmtu_and_mss(&pair, c).0, 1280);
    // Another destination's estimate evicts the first (B's IPv6 address).
    let (_e, quote6) = sending_connection(&mut pair, true, 80);
    too_big_to_a(&mut pair, &quote6, 1400);
    assert_eq!(pair.a.path_mtu(pair.now, IpAddr::V4(B4)), 1500);
    // A minute later another connection to B over IPv4 meets a 1400 path.
    advance_to(&mut pair, first + Duration::from_secs(60));
    let (f, quote_f) = sending_connection(&mut pair, false, 81);
    let second = pair.now;
    too_big_to_a(&mut pair, &quote_f, 1400);
    assert_eq!(pmtu_and_mss(&pair, f).0, 1400);
    // `c`'s ten minutes: it takes the path's estimate, 1400.
    advance_to(&mut pair, first + Duration::from_secs(600));
    assert_eq!(pmtu_and_mss(&pair, c).0, 1400);
    // That estimate's ten minutes: both are back at the link's MTU.
    advance_to(&mut pair, second + Duration::from_secs(600));
    assert_eq!(pmtu_and_mss(&pair, f).0, 1500);
    assert_eq!(
        pmtu_and_mss(&pair, c).0,
        1500,
        "left at the estimate it was raised to"
    );
}
