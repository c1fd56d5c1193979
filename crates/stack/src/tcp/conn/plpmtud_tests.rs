//! Segment-level tests of packetization-layer path MTU discovery (`plpmtud`):
//! timeouts of full-sized segments past R1 shrink the connection's packets,
//! and nothing else does; probes then find the path's size again, an
//! acknowledged one raising the packets, a lost one costing no congestion
//! response.

use core::net::SocketAddr;

use super::plpmtud::{PROBE_THRESHOLD, REPROBE_INTERVAL};
use super::tests::{pair, pair_between, poll_all, Seg};
use super::Connection;
use crate::tcp::config::{MtuProbing, TcpConfig};
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};

/// Payload of a full-sized segment at a 1500-byte path MTU with timestamps.
const FULL: usize = 1500 - 20 - 20 - 12;
/// The same once black-hole detection lowered packets to 1024 bytes.
const BASE: usize = 1024 - 20 - 20 - 12;
/// The same at IPv4's floor, 576-byte packets.
const FLOOR: usize = 576 - 20 - 20 - 12;

/// Runs the connection's timers until its next retransmission timeout has
/// fired (tail loss probes before it included); returns what it sent then.
fn until_rto(c: &mut Connection) -> (Instant, Vec<Seg>) {
    loop {
        let (timer, at) = c.next_timer().expect("a timer is armed");
        c.handle_timeout(at);
        let sent = poll_all(c, at);
        if timer == Timer::Retransmit {
            return (at, sent);
        }
    }
}

/// A client that sent `len` bytes in full-sized segments, none delivered.
fn sender(config: TcpConfig, len: usize) -> (Connection, Connection) {
    let (mut c, s) = pair(config);
    let data = vec![7u8; len];
    assert_eq!(c.send(&data), Ok(len));
    let sent = poll_all(&mut c, Instant::from_nanos(1_000_000));
    assert_eq!(sent[0].repr().payload.len(), FULL);
    (c, s)
}

#[test]
fn timeouts_of_full_sized_segments_shrink_packets_from_r1_on() {
    let config = TcpConfig::default();
    let r1 = config.retries1;
    let (mut c, _s) = sender(config, 40_000);
    let mut sizes = Vec::new();
    for _ in 0..r1 + 3 {
        let (_, sent) = until_rto(&mut c);
        sizes.push(sent[0].repr().payload.len());
    }
    let r1 = r1 as usize;
    // Before R1 the same full-sized segment is resent; at R1 it goes as a
    // 1024-byte packet, at the next timeout at IPv4's 576-byte floor, and no
    // lower.
    assert!(sizes[..r1 - 1].iter().all(|&n| n == FULL), "{sizes:?}");
    assert_eq!(&sizes[r1 - 1..], &[BASE, FLOOR, FLOOR, FLOOR], "{sizes:?}");
    assert_eq!(usize::from(c.mss()), FLOOR);
    assert_eq!(c.path_mtu(), 1500, "the path MTU itself is not lowered");
    assert_eq!(c.loss_counters().pmtu_black_holes, 2);
}

#[test]
fn with_mtu_probing_off_timeouts_resend_full_sized_segments() {
    let config = TcpConfig {
        mtu_probing: MtuProbing::Off,
        ..TcpConfig::default()
    };
    let rounds = config.retries1 + 3;
    let (mut c, _s) = sender(config, 40_000);
    for _ in 0..rounds {
        let (_, sent) = until_rto(&mut c);
        assert_eq!(sent[0].repr().payload.len(), FULL);
    }
    assert_eq!(usize::from(c.mss()), FULL);
    assert_eq!(c.loss_counters().pmtu_black_holes, 0);
}

#[test]
fn a_short_segment_timing_out_is_no_black_hole() {
    // A message that fits IPv4's 576-byte floor: its timeouts say nothing
    // about large packets (the peer may be gone), and shrinking would not
    // help it through.
    let config = TcpConfig::default();
    let rounds = config.retries1 + 3;
    let (mut c, _s) = pair(config);
    assert_eq!(c.send(&[1u8; FLOOR]), Ok(FLOOR));
    assert_eq!(poll_all(&mut c, Instant::from_nanos(1_000_000)).len(), 1);
    for _ in 0..rounds {
        let (_, sent) = until_rto(&mut c);
        assert_eq!(sent[0].repr().payload.len(), FLOOR);
    }
    assert_eq!(usize::from(c.mss()), FULL);
    assert_eq!(c.loss_counters().pmtu_black_holes, 0);
}

#[test]
fn a_message_tail_between_the_floor_and_1024_bytes_shrinks_to_the_floor() {
    // A 529-byte tail (a 581-byte packet) behind a black hole that carries
    // 576 bytes (the `app` model's program): the first step, 1024 bytes,
    // would not shrink it, and it used to be resent at its size until R2
    // gave up. At R1 it goes at the floor, the rest of it behind.
    let config = TcpConfig::default();
    let r1 = config.retries1;
    let (mut c, _s) = pair(config);
    assert_eq!(c.send(&[1u8; 529]), Ok(529));
    assert_eq!(poll_all(&mut c, Instant::from_nanos(1_000_000)).len(), 1);
    let mut sizes = Vec::new();
    for _ in 0..r1 + 1 {
        let (_, sent) = until_rto(&mut c);
        sizes.push(
            sent.iter()
                .map(|s| s.repr().payload.len())
                .collect::<Vec<_>>(),
        );
    }
    let r1 = r1 as usize;
    assert!(sizes[..r1 - 1].iter().all(|s| s[0] == 529), "{sizes:?}");
    assert_eq!(sizes[r1 - 1][0], FLOOR, "{sizes:?}");
    assert_eq!(usize::from(c.mss()), FLOOR);
    assert_eq!(c.loss_counters().pmtu_black_holes, 1);
}

#[test]
fn after_the_shrink_data_flows_at_the_smaller_size() {
    let config = TcpConfig::default();
    let r1 = config.retries1;
    let (mut c, mut s) = sender(config, 40_000);
    let mut at_r1 = None;
    for _ in 0..r1 {
        at_r1 = Some(until_rto(&mut c));
    }
    let (now, sent) = at_r1.unwrap();
    assert_eq!(sent[0].repr().payload.len(), BASE);
    // The smaller packet gets through and is acknowledged: the flight that
    // follows keeps the smaller size, and no further timeout shrinks it.
    s.handle_segment(now, &sent[0].repr());
    let acks = poll_all(&mut s, now);
    assert!(!acks.is_empty(), "the receiver acknowledges");
    for ack in &acks {
        c.handle_segment(now, &ack.repr());
    }
    let next = poll_all(&mut c, now);
    assert!(!next.is_empty(), "the acknowledgment opens the window");
    assert!(
        next.iter().all(|seg| seg.repr().payload.len() <= BASE),
        "every segment fits a 1024-byte packet"
    );
    assert_eq!(usize::from(c.mss()), BASE);
    assert_eq!(c.info(now).retransmits, 0, "the timeout count was reset");
    assert_eq!(c.loss_counters().pmtu_black_holes, 1);
}

#[test]
fn a_raised_path_mtu_does_not_undo_the_black_hole_size() {
    let config = TcpConfig::default();
    let r1 = config.retries1;
    let (mut c, _s) = sender(config, 40_000);
    for _ in 0..r1 {
        until_rto(&mut c);
    }
    assert_eq!(usize::from(c.mss()), BASE);
    // An ICMP error lowers the path MTU below the black-hole size, and its
    // expiry raises it back: the smaller of the two holds each time.
    assert!(c.on_path_mtu(900));
    assert_eq!(usize::from(c.mss()), 900 - 52);
    assert!(c.raise_path_mtu(1500));
    assert_eq!(usize::from(c.mss()), BASE);
}

/// One round trip's worth of exchange at `now`: every segment the client sends
/// whose IP packet fits `path` (the narrowest link; larger ones are dropped
/// silently, as in a black hole) reaches the server, and every segment the
/// server sends back reaches the client, until neither has more. The client's
/// queue is topped up to `queued` bytes first. Returns the client's packets,
/// as IP sizes, dropped or not.
fn round(
    c: &mut Connection,
    s: &mut Connection,
    now: Instant,
    path: usize,
    queued: usize,
) -> Vec<usize> {
    let buffered = c.send_buf.len();
    if buffered < queued {
        let _ = c.send(&vec![9u8; queued - buffered]);
    }
    let mut sizes = Vec::new();
    for _ in 0..1000 {
        let out = poll_all(c, now);
        if out.is_empty() {
            break;
        }
        for seg in &out {
            let size = seg.bytes.len() + 20;
            sizes.push(size);
            if size <= path {
                s.handle_segment(now, &seg.repr());
            }
        }
        for ack in poll_all(s, now) {
            c.handle_segment(now, &ack.repr());
        }
        let mut buf = [0u8; 65536];
        while matches!(s.recv(now, &mut buf), Ok(n) if n > 0) {}
    }
    sizes
}

/// A client through a black hole at R1 (packets of 1024 bytes), then run for
/// `rounds` round trips of 50 ms over a path of `path` bytes with plenty
/// queued: its congestion window grows large enough to probe.
fn after_black_hole(path: usize, rounds: u64) -> (Connection, Connection, Instant) {
    after_black_hole_with(TcpConfig::default(), path, rounds)
}

/// [`after_black_hole`] with `config` on both sides.
fn after_black_hole_with(
    config: TcpConfig,
    path: usize,
    rounds: u64,
) -> (Connection, Connection, Instant) {
    let r1 = config.retries1;
    let (mut c, mut s) = sender(config, 40_000);
    let mut at_r1 = None;
    for _ in 0..r1 {
        at_r1 = Some(until_rto(&mut c));
    }
    assert_eq!(usize::from(c.mss()), BASE);
    assert_eq!(c.mtu_search().map(|m| m.bounds()), Some((1024, 1500)));
    // The timeout's resend, at 1024 bytes, goes through.
    let (mut now, sent) = at_r1.unwrap();
    for seg in &sent {
        s.handle_segment(now, &seg.repr());
    }
    for ack in poll_all(&mut s, now) {
        c.handle_segment(now, &ack.repr());
    }
    for _ in 0..rounds {
        now += Duration::from_millis(50);
        round(&mut c, &mut s, now, path, 200_000);
    }
    (c, s, now)
}

#[test]
fn an_acknowledged_probe_raises_the_packets_back_to_full_size() {
    // The path carries 1500-byte packets again (the outage is over): the
    // first probe, at the full size, is acknowledged, and the connection is
    // as it was before the black hole.
    let (mut c, mut s, mut now) = after_black_hole(1500, 30);
    assert_eq!(usize::from(c.mss()), BASE, "no probe before the deadline");
    let counters = *c.counters();
    let next = c.on_mtu_search_deadline(now).expect("a probe is due");
    assert!(next > now);
    now += Duration::from_millis(1);
    let sizes = round(&mut c, &mut s, now, 1500, 200_000);
    assert_eq!(sizes[0], 1500, "the probe is the first segment: {sizes:?}");
    assert!(sizes[1..].iter().all(|&n| n <= 1024), "{sizes:?}");
    // Acknowledged: at the next deadline the packets grow, and the search ends.
    now += Duration::from_millis(50);
    assert_eq!(c.on_mtu_search_deadline(now), None, "the search is over");
    assert_eq!(usize::from(c.mss()), FULL);
    assert!(c.mtu_search().is_none());
    let sizes = round(&mut c, &mut s, now, 1500, 200_000);
    assert!(
        sizes.contains(&1500),
        "full-sized segments again: {sizes:?}"
    );
    let lc = c.loss_counters();
    assert_eq!((lc.mtu_probe_successes, lc.mtu_probe_failures), (1, 0));
    assert_eq!(c.counters().fast_retransmits, counters.fast_retransmits);
    assert_eq!(c.counters().sack_recoveries, counters.sack_recoveries);
    assert_eq!(
        c.counters().timeouts,
        counters.timeouts,
        "no congestion response"
    );
}

#[test]
fn a_lost_probe_lowers_the_search_without_a_congestion_response() {
    // A tunnel of 1400 bytes, its ICMP filtered: the probe at 1500 is lost.
    let (mut c, mut s, mut now) = after_black_hole(1400, 30);
    let info = c.info(now);
    let counters = *c.counters();
    c.on_mtu_search_deadline(now).expect("a probe is due");
    now += Duration::from_millis(1);
    let sizes = round(&mut c, &mut s, now, 1400, 200_000);
    assert_eq!(sizes[0], 1500, "the probe: {sizes:?}");
    // The segments behind it drew duplicate ACKs with SACKs: the probe failed.
    let lc = c.loss_counters();
    assert_eq!((lc.mtu_probe_successes, lc.mtu_probe_failures), (0, 1));
    assert_eq!(c.mtu_search().map(|m| m.bounds()), Some((1024, 1499)));
    let after = c.info(now);
    assert_eq!(after.ssthresh, info.ssthresh, "no congestion response");
    assert!(
        after.cwnd_bytes >= info.cwnd_bytes,
        "the window was not reduced"
    );
    assert_eq!(c.counters().fast_retransmits, counters.fast_retransmits);
    assert_eq!(c.counters().sack_recoveries, counters.sack_recoveries);
    assert_eq!(usize::from(c.mss()), BASE, "the packets keep their size");
    // Only the probe's bytes were resent, at the current size (not the
    // flight behind it), and they arrived: SND.UNA is past the probe.
    assert_eq!(after.bytes_retrans - info.bytes_retrans, FULL as u64);
    assert_eq!(
        after.total_retrans - info.total_retrans,
        2,
        "1448 bytes in two segments"
    );
    assert!(after.bytes_acked > info.bytes_acked + 20 * FULL as u64);
}

#[test]
fn probing_finds_a_tunnels_mtu_within_the_threshold() {
    let (mut c, mut s, mut now) = after_black_hole(1400, 30);
    let mut reprobe_at = None;
    for _ in 0..40 {
        let next = c.on_mtu_search_deadline(now).expect("the search goes on");
        if next >= now + REPROBE_INTERVAL {
            reprobe_at = Some(next);
            break;
        }
        // The probe and what follows it, then the round trips until the next
        // deadline.
        while now < next {
            now += Duration::from_millis(50);
            round(&mut c, &mut s, now, 1400, 200_000);
        }
    }
    assert!(reprobe_at.is_some(), "the search settled");
    // Within the threshold below the tunnel's 1400 bytes; the whole range is
    // searched again in 10 minutes.
    let (low, high) = c.mtu_search().map(|m| m.bounds()).unwrap();
    assert!(
        low <= 1400 && low > 1400 - PROBE_THRESHOLD,
        "({low}, {high})"
    );
    assert_eq!(high, 1500, "the next search starts from the full size");
    assert_eq!(c.mss(), low - 52);
    let lc = c.loss_counters();
    assert!(
        lc.mtu_probe_successes > 0 && lc.mtu_probe_failures > 0,
        "{lc:?}"
    );
    // No congestion response came from a probe: the only ones were the
    // black hole's timeouts.
    assert_eq!(c.counters().sack_recoveries, 0);
    assert_eq!(c.counters().fast_retransmits, 0);
    let sizes = round(
        &mut c,
        &mut s,
        now + Duration::from_millis(50),
        1400,
        200_000,
    );
    assert!(sizes.iter().all(|&n| n <= 1400), "{sizes:?}");
    assert!(sizes.contains(&usize::from(low)), "{sizes:?}");
}

#[test]
fn a_too_big_for_a_probe_fails_it_and_resends_its_bytes() {
    let (mut c, mut s, mut now) = after_black_hole(1500, 30);
    let counters = *c.counters();
    assert_eq!(c.send(&[9u8; 100_000]), Ok(100_000));
    c.on_mtu_search_deadline(now).expect("a probe is due");
    // The probe waits for the windows: exchange until it leaves.
    let sent = loop {
        now += Duration::from_millis(50);
        let sent = poll_all(&mut c, now);
        if sent.iter().any(|seg| seg.repr().payload.len() == FULL) {
            break sent;
        }
        for seg in &sent {
            s.handle_segment(now, &seg.repr());
        }
        // The receiver's delayed ACK too.
        s.handle_timeout(now);
        for ack in poll_all(&mut s, now) {
            c.handle_segment(now, &ack.repr());
        }
        assert!(now < Instant::from_nanos(60_000_000_000), "no probe left");
    };
    let probe = sent[0].repr();
    assert_eq!(probe.payload.len(), FULL, "the probe, at 1500 bytes, first");
    let probe_seq = probe.seq_number;
    // A tunnel of 1400 bytes drops it, and its "too big" reaches the sender
    // before any duplicate ACK.
    assert!(c.on_path_mtu(1400));
    let lc = c.loss_counters();
    assert_eq!((lc.mtu_probe_successes, lc.mtu_probe_failures), (0, 1));
    assert_eq!(c.mtu_search().map(|m| m.bounds()), Some((1024, 1499)));
    // Its bytes go again at the current size, first of all.
    let resent = poll_all(&mut c, now);
    assert_eq!(resent[0].repr().seq_number, probe_seq);
    assert_eq!(resent[0].repr().payload.len(), BASE);
    for seg in sent[1..].iter().chain(&resent) {
        if seg.bytes.len() + 20 <= 1400 {
            s.handle_segment(now, &seg.repr());
        }
    }
    for ack in poll_all(&mut s, now) {
        c.handle_segment(now, &ack.repr());
    }
    assert_eq!(c.counters().fast_retransmits, counters.fast_retransmits);
    assert_eq!(c.counters().sack_recoveries, counters.sack_recoveries);
    assert!(
        c.snd_una > probe_seq + FULL as u32,
        "the probe's bytes arrived"
    );
}

#[test]
fn over_ipv6_packets_shrink_to_1280_bytes_and_no_lower() {
    // Every IPv6 link carries 1280 bytes (RFC 8200 section 5): the first step
    // goes there (1024 would be below it), and there is no second.
    let a = SocketAddr::new(
        core::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1).into(),
        40000,
    );
    let b = SocketAddr::new(
        core::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2).into(),
        80,
    );
    let config = TcpConfig::default();
    let r1 = config.retries1 as usize;
    let (mut c, _s) = pair_between(a, b, config);
    assert_eq!(c.send(&[7u8; 40_000]), Ok(40_000));
    let sent = poll_all(&mut c, Instant::from_nanos(1_000_000));
    assert_eq!(sent[0].repr().payload.len(), 1500 - 40 - 20 - 12);
    let mut sizes = Vec::new();
    for _ in 0..r1 + 3 {
        let (_, sent) = until_rto(&mut c);
        sizes.push(sent[0].repr().payload.len());
    }
    let floor = 1280 - 40 - 20 - 12;
    assert!(sizes[..r1 - 1].iter().all(|&n| n == 1428), "{sizes:?}");
    assert!(sizes[r1 - 1..].iter().all(|&n| n == floor), "{sizes:?}");
    assert_eq!(c.loss_counters().pmtu_black_holes, 1);
}

/// A bulk transfer that the receiver's window limits (the congestion window
/// is larger): the flight always fills the send window, so a probe due finds
/// no room for itself and the segments behind it. As Linux's `tcp_mtu_probe`
/// (its "return 0": `tcp_write_xmit` sends nothing), new data waits while the
/// flight drains to make the room; sending it instead kept the window full for
/// as long as the transfer lasted, the probe never went, and the flag it left
/// set kept the burst path off and `wants_to_send` true throughout.
#[test]
fn a_probe_due_in_a_receive_window_limited_transfer_goes() {
    let config = TcpConfig {
        recv_buffer: 32 * 1024,
        window_scaling: false,
        ..TcpConfig::default()
    };
    let (mut c, mut s, mut now) = after_black_hole_with(config, 1500, 30);
    assert_eq!(usize::from(c.mss()), BASE);
    // Plenty queued; the flight fills the peer's window.
    let _ = c.send(&vec![9u8; 200_000]);
    let mut flight: std::collections::VecDeque<Seg> = poll_all(&mut c, now).into();
    let info = c.info(now);
    assert!(
        info.cwnd_bytes > info.snd_wnd + 8 * BASE as u32,
        "window-limited: {info:?}"
    );
    let mut buf = vec![0u8; 65536];
    let mut probe = None;
    for i in 0..400 {
        if i == 50 {
            // In the steady state: the probe falls due.
            c.on_mtu_search_deadline(now).expect("a probe is due");
        }
        now += Duration::from_millis(1);
        // Two segments arrive and are read; the ACK opens the window again.
        for _ in 0..2 {
            if let Some(seg) = flight.pop_front() {
                s.handle_segment(now, &seg.repr());
            }
        }
        while matches!(s.recv(now, &mut buf), Ok(n) if n > 0) {}
        s.handle_timeout(now);
        for ack in poll_all(&mut s, now) {
            c.handle_segment(now, &ack.repr());
        }
        let buffered = c.send_buf.len();
        let _ = c.send(&vec![9u8; 200_000 - buffered.min(200_000)]);
        let sent = poll_all(&mut c, now);
        if let Some(p) = sent.iter().find(|seg| seg.repr().payload.len() > BASE) {
            probe = Some(p.repr().payload.len());
            break;
        }
        flight.extend(sent);
    }
    assert_eq!(probe, Some(FULL), "the probe never went");
}

/// A peer whose window cannot hold a probe and the segments behind it (its
/// application reads slowly): no probe can go, and none is kept waiting
/// (Linux's `tcp_mtu_probe` returns -1 when `snd_wnd` is below the size
/// needed). Kept waiting, its flag held `wants_to_send` true, and the burst
/// path off, until the window opened.
#[test]
fn a_peer_window_too_small_for_a_probe_keeps_none_waiting() {
    let (mut c, mut s, mut now) = after_black_hole(1500, 30);
    // The server stops reading: its window closes down to less than a probe
    // and four segments behind it need, not to zero.
    let needed = (FULL + 4 * BASE) as u32;
    for _ in 0..1000 {
        now += Duration::from_millis(1);
        let _ = c.send(&vec![9u8; 200_000 - c.send_buf.len().min(200_000)]);
        let sent = poll_all(&mut c, now);
        for seg in &sent {
            s.handle_segment(now, &seg.repr());
        }
        s.handle_timeout(now);
        for ack in poll_all(&mut s, now) {
            c.handle_segment(now, &ack.repr());
        }
        if c.info(now).snd_wnd < needed {
            break;
        }
    }
    let info = c.info(now);
    assert!(info.snd_wnd > 0 && info.snd_wnd < needed, "{info:?}");
    c.on_mtu_search_deadline(now).expect("a probe is due");
    let _ = poll_all(&mut c, now);
    assert!(!c.probe_due(), "the probe is kept waiting");
    assert!(!c.wants_to_send());
}

/// A "too big" below the search's `search_low` while a probe is in flight
/// behind other data: the probe failed (its bytes to resend) and the
/// connection's segments shrink, so everything in flight goes again from
/// SND.UNA (`on_path_mtu`'s go-back-N). The resend of the probe's bytes, ahead
/// of the rewound SND.NXT, took SND.NXT past the bytes between SND.UNA and the
/// probe, which then waited for a retransmission timeout.
#[test]
fn a_too_big_below_search_low_with_data_ahead_of_the_probe_resends_from_snd_una() {
    let (mut c, mut s, mut now) = after_black_hole(1500, 30);
    assert_eq!(c.send(&[9u8; 100_000]), Ok(100_000));
    let mut flight: std::collections::VecDeque<Seg> = poll_all(&mut c, now).into();
    c.on_mtu_search_deadline(now).expect("a probe is due");
    // Exchange until the probe leaves with data ahead of it unacknowledged.
    let (probe_seq, una) = 'probe: {
        for _ in 0..1000 {
            now += Duration::from_millis(1);
            let sent = poll_all(&mut c, now);
            if let Some(p) = sent.iter().find(|seg| seg.repr().payload.len() == FULL) {
                let una = c.snd_una;
                assert!(p.repr().seq_number > una, "nothing ahead of the probe");
                break 'probe (p.repr().seq_number, una);
            }
            flight.extend(sent);
            // The flight arrives two segments at a time.
            for _ in 0..2 {
                if let Some(seg) = flight.pop_front() {
                    s.handle_segment(now, &seg.repr());
                }
            }
            s.handle_timeout(now);
            for ack in poll_all(&mut s, now) {
                c.handle_segment(now, &ack.repr());
            }
        }
        panic!("no probe");
    };
    // A link of 1000 bytes on the way: its "too big" arrives.
    assert!(c.on_path_mtu(1000));
    assert_eq!(usize::from(c.mss()), 1000 - 52);
    let resent = poll_all(&mut c, now);
    let first = resent.first().expect("a resend").repr();
    assert_eq!(
        first.seq_number, una,
        "the resend starts at SND.UNA (the probe was at {probe_seq:?})"
    );
    // In order from there, each within the new size, and SND.NXT where they
    // end: nothing skipped.
    let mut next = una;
    for seg in &resent {
        let r = seg.repr();
        assert_eq!(r.seq_number, next);
        assert!(seg.bytes.len() + 20 <= 1000);
        next += r.payload.len();
    }
    assert_eq!(c.snd_nxt, next);
}

#[test]
fn sack_blocks_owed_during_a_search_keep_packets_within_search_low_and_the_probe_at_its_size() {
    // The search's packets are 1024 bytes (search_low) and the probe 1500;
    // the client also owes the server SACK blocks (the server's data arrived
    // out of order). The blocks come out of the data: a packet one SACK
    // option larger than search_low would be lost in the black hole, and a
    // probe larger than its size would test another size (and here, be lost).
    let (mut c, mut s, mut now) = after_black_hole(1500, 30);
    assert_eq!(s.send(&[5u8; 2 * FULL]), Ok(2 * FULL));
    let from_server = poll_all(&mut s, now);
    assert_eq!(from_server.len(), 2);
    c.handle_segment(now, &from_server[1].repr());
    let acks = poll_all(&mut c, now);
    assert!(!acks.is_empty() && acks[0].repr().options.sack_ranges.len() == 1);
    c.on_mtu_search_deadline(now).expect("a probe is due");
    now += Duration::from_millis(1);
    let before = c.loss_counters().mtu_probe_successes;
    let sizes = round(&mut c, &mut s, now, 1500, 200_000);
    assert_eq!(sizes[0], 1500, "the probe, at its size: {sizes:?}");
    assert!(sizes[1..].iter().all(|&n| n <= 1024), "{sizes:?}");
    now += Duration::from_millis(50);
    c.on_mtu_search_deadline(now);
    assert_eq!(c.loss_counters().mtu_probe_successes, before + 1);
}
