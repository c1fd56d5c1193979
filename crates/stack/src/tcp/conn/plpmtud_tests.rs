//! Segment-level tests of PMTU black-hole detection (`plpmtud`): timeouts of
//! full-sized segments past R1 shrink the connection's packets, and nothing
//! else does.

use core::net::SocketAddr;

use super::tests::pair;
use super::Connection;
use crate::tcp::config::{MtuProbing, TcpConfig};
use crate::tcp::timer::Timer;
use crate::time::Instant;
use crate::wire::{AddrPair, ChecksumMode, TcpPacket, TcpRepr};

/// Payload of a full-sized segment at a 1500-byte path MTU with timestamps.
const FULL: usize = 1500 - 20 - 20 - 12;
/// The same once black-hole detection lowered packets to 1024 bytes.
const BASE: usize = 1024 - 20 - 20 - 12;
/// The same at IPv4's floor, 576-byte packets.
const FLOOR: usize = 576 - 20 - 20 - 12;

/// A segment as it left a connection: its bytes and addresses.
struct Seg {
    bytes: Vec<u8>,
    from: SocketAddr,
    to: SocketAddr,
}

impl Seg {
    fn repr(&self) -> TcpRepr<'_> {
        let addrs = AddrPair::new(self.from.ip(), self.to.ip()).unwrap();
        let packet = TcpPacket::new_checked(&self.bytes[..]).unwrap();
        TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap()
    }
}

/// Every segment the connection sends at `now` (the buffer holds a 1500-byte
/// packet's TCP part).
fn poll_all(c: &mut Connection, now: Instant) -> Vec<Seg> {
    let addrs = AddrPair::new(c.local().ip(), c.remote().ip()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1480];
    while let Some(n) = c.poll_transmit(now, &mut buf, &addrs, ChecksumMode::Enabled) {
        out.push(Seg {
            bytes: buf[..n].to_vec(),
            from: c.local(),
            to: c.remote(),
        });
        assert!(out.len() < 10_000, "runaway transmit loop");
    }
    out
}

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
    // A 600-byte message fits a 1024-byte packet: its timeouts say nothing
    // about large packets (the peer may be gone), and shrinking would not
    // help it through.
    let config = TcpConfig::default();
    let rounds = config.retries1 + 3;
    let (mut c, _s) = pair(config);
    assert_eq!(c.send(&[1u8; 600]), Ok(600));
    assert_eq!(poll_all(&mut c, Instant::from_nanos(1_000_000)).len(), 1);
    for _ in 0..rounds {
        let (_, sent) = until_rto(&mut c);
        assert_eq!(sent[0].repr().payload.len(), 600);
    }
    assert_eq!(usize::from(c.mss()), FULL);
    assert_eq!(c.loss_counters().pmtu_black_holes, 0);
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
