//! The send burst (`burst`, `tcp::conn::burst`) against the general pass it
//! shortens. Two pairs of stacks built alike, one with the burst turned off
//! (`FORCE_GENERAL_SEND`), get the same inputs; every packet they send, their
//! events, counters and whole state (`Debug`) must match. Each run also says
//! how many segments the burst wrote, so a test shows the burst ran (or that a
//! case it must refuse, such as pacing, never took it).

use core::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::burst::BURST_SEGMENTS;
use super::rx_path_tests::drain_events;
use super::tests::{connect, icmp_to_a, pattern, Impairment, Pair, B4};
use super::*;
use crate::event::Event;
use crate::tcp::conn::FORCE_GENERAL_SEND;
use crate::tcp::TcpConfig;
use crate::time::{Duration, Instant};
use crate::wire::ChecksumMode;

/// The whole state of a stack as `Debug` prints it, less the burst in progress
/// (which only says which path the next call takes).
fn state(stack: &mut Stack) -> String {
    let saved = stack.burst.take();
    let s = format!("{stack:?}");
    stack.burst = saved;
    s
}

/// Every packet B has for A at `now`, recorded and handed to A.
fn deliver_b_to_a(
    pair: &mut Pair,
    now: Instant,
    buf: &mut [u8],
    sent: &mut Vec<(Instant, bool, Vec<u8>)>,
) {
    while let Some(n) = pair.b.poll_transmit(now, buf) {
        sent.push((now, false, buf[..n].to_vec()));
        pair.a.handle_packet(now, &buf[..n]);
    }
}

/// Everything `stack` has to read on `h` at `now`, appended to `got`.
fn read_all(stack: &mut Stack, now: Instant, h: SocketHandle, buf: &mut [u8], got: &mut Vec<u8>) {
    while let Ok(n) = stack.tcp_recv(now, h, buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// The end of a step at `now`: both stacks' events recorded, then the clock a
/// millisecond on and both stacks' timers run.
fn end_step(pair: &mut Pair, now: Instant, events: &mut Vec<(Instant, bool, Event)>) {
    events.extend(
        drain_events(&mut pair.a)
            .into_iter()
            .map(|e| (now, false, e)),
    );
    events.extend(
        drain_events(&mut pair.b)
            .into_iter()
            .map(|e| (now, true, e)),
    );
    pair.now = now + Duration::from_millis(1);
    pair.a.handle_timeout(pair.now);
    pair.b.handle_timeout(pair.now);
}

/// Everything a run shows from outside and inside.
#[derive(Debug, PartialEq)]
struct Outcome {
    sent: Vec<(Instant, bool, Vec<u8>)>,
    events: Vec<(Instant, bool, Event)>,
    got: Vec<Vec<u8>>,
    stats: (Stats, Stats),
    state: (String, String),
}

/// A transfer from A to B over the pair's link.
#[derive(Clone, Copy)]
struct Transfer {
    imp: Impairment,
    seed: u64,
    /// Bytes per connection.
    bytes: usize,
    /// Connections, each sending `bytes` (they share A's transmit queue).
    conns: usize,
    /// Changes to both stacks' TCP configuration.
    tcp: fn(&mut TcpConfig),
    /// B reads nothing before this long after the start (its window closes).
    read_after: Duration,
    /// A writes at most this much per step (small writes: Nagle's question).
    write_chunk: usize,
    /// Over IPv6 (else IPv4).
    ipv6: bool,
    /// Checksums left to the device on both sides (else computed).
    offloaded: bool,
}

const CLEAN: Transfer = Transfer {
    imp: Impairment {
        loss: 0,
        dup: 0,
        reorder: 0,
    },
    seed: 5,
    bytes: 1_500_000,
    conns: 1,
    tcp: |_| {},
    read_after: Duration::ZERO,
    write_chunk: usize::MAX,
    ipv6: false,
    offloaded: false,
};

/// B's IPv6 address in `Pair`.
const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// Runs `t` with the burst on (`general` false) or off; returns the outcome and
/// how many segments the burst wrote.
fn run(t: Transfer, general: bool) -> (Outcome, u64) {
    FORCE_GENERAL_SEND.set(general);
    BURST_SEGMENTS.set(0);
    let mut pair = Pair::new(t.imp, t.seed);
    for stack in [&mut pair.a, &mut pair.b] {
        let mut cfg = (*stack.tcp_config).clone();
        (t.tcp)(&mut cfg);
        stack.tcp_config = Arc::new(cfg);
        if t.offloaded {
            stack.config.checksum_tx = ChecksumMode::Offloaded;
            stack.config.checksum_rx = ChecksumMode::Offloaded;
        }
    }
    let mut conns = Vec::new();
    for i in 0..t.conns {
        let ip = if t.ipv6 {
            IpAddr::V6(B6)
        } else {
            IpAddr::V4(B4)
        };
        let (c, _l, s) = connect(&mut pair, SocketAddr::new(ip, 80 + i as u16));
        conns.push((c, s));
    }
    let data: Vec<Vec<u8>> = (0..t.conns)
        .map(|i| pattern(t.bytes, t.seed + i as u64))
        .collect();
    let mut sent = vec![0; t.conns];
    let mut got = vec![Vec::new(); t.conns];
    let mut events = Vec::new();
    let mut buf = vec![0u8; 70_000];
    let start = pair.now;
    let done = pair.run_until(Duration::from_secs(600), |p| {
        let now = p.now;
        for (i, &(c, s)) in conns.iter().enumerate() {
            let mut budget = t.write_chunk;
            while sent[i] < t.bytes && budget > 0 {
                let end = (sent[i] + budget.min(t.bytes - sent[i])).min(t.bytes);
                match p.a.tcp_send(now, c, &data[i][sent[i]..end]) {
                    Ok(n) if n > 0 => {
                        sent[i] += n;
                        budget = budget.saturating_sub(n);
                    }
                    _ => break,
                }
            }
            if now >= start + t.read_after {
                read_all(&mut p.b, now, s, &mut buf, &mut got[i]);
            }
        }
        events.extend(drain_events(&mut p.a).into_iter().map(|e| (now, false, e)));
        events.extend(drain_events(&mut p.b).into_iter().map(|e| (now, true, e)));
        got.iter().all(|g| g.len() == t.bytes)
    });
    assert!(done, "the transfer stalled");
    for &(c, s) in &conns {
        let now = pair.now;
        let _ = pair.a.tcp_shutdown(now, c, Shutdown::Both);
        let _ = pair.b.tcp_shutdown(now, s, Shutdown::Both);
    }
    pair.run_until(Duration::from_secs(300), |_| false);
    for (side, stack) in [(false, &mut pair.a), (true, &mut pair.b)] {
        let now = pair.now;
        events.extend(drain_events(stack).into_iter().map(|e| (now, side, e)));
    }
    for (g, d) in got.iter().zip(&data) {
        assert!(g == d, "the data arrived changed");
    }
    let bursts = BURST_SEGMENTS.get();
    FORCE_GENERAL_SEND.set(false);
    let outcome = Outcome {
        sent: std::mem::take(&mut pair.sent),
        events,
        got,
        stats: (pair.a.stats().clone(), pair.b.stats().clone()),
        state: (state(&mut pair.a), state(&mut pair.b)),
    };
    (outcome, bursts)
}

/// Asserts two runs are the same, saying where they part first.
fn assert_same(fast: &Outcome, slow: &Outcome) {
    let first = fast.sent.iter().zip(&slow.sent).position(|(f, s)| f != s);
    assert_eq!(first, None, "the runs send different packets from there on");
    assert_eq!(fast.sent.len(), slow.sent.len());
    assert_eq!(fast.events, slow.events);
    assert_eq!(fast.stats, slow.stats);
    assert!(
        fast.state.0 == slow.state.0,
        "the senders end in different states"
    );
    assert!(
        fast.state.1 == slow.state.1,
        "the receivers end in different states"
    );
    assert_eq!(fast, slow);
}

/// Runs `t` both ways, asserts they match; returns the burst's segment count.
fn compare(t: Transfer) -> u64 {
    let (fast, bursts) = run(t, false);
    let (slow, none) = run(t, true);
    assert_eq!(none, 0, "the switch turns the burst off");
    assert_same(&fast, &slow);
    bursts
}

#[test]
fn send_burst_changes_nothing_over_several_windows() {
    let bursts = compare(CLEAN);
    assert!(bursts > 500, "the burst wrote {bursts} segments");
}

#[test]
fn send_burst_changes_nothing_over_ipv6() {
    let bursts = compare(Transfer {
        ipv6: true,
        bytes: 500_000,
        ..CLEAN
    });
    assert!(bursts > 100, "the burst wrote {bursts} segments");
}

#[test]
fn send_burst_changes_nothing_with_checksums_offloaded() {
    for ipv6 in [false, true] {
        let bursts = compare(Transfer {
            ipv6,
            offloaded: true,
            bytes: 500_000,
            ..CLEAN
        });
        assert!(bursts > 100, "the burst wrote {bursts} segments");
    }
}

#[test]
fn send_burst_changes_nothing_with_a_small_congestion_window() {
    let bursts = compare(Transfer {
        tcp: |c| c.initial_cwnd = 2,
        bytes: 300_000,
        ..CLEAN
    });
    assert!(bursts > 0);
}

#[test]
fn send_burst_changes_nothing_through_a_zero_window() {
    let bursts = compare(Transfer {
        tcp: |c| c.recv_buffer = 20_000,
        bytes: 200_000,
        read_after: Duration::from_secs(3),
        ..CLEAN
    });
    assert!(bursts > 0);
}

#[test]
fn send_burst_changes_nothing_for_small_writes_with_and_without_nagle() {
    for nodelay in [false, true] {
        let tcp: fn(&mut TcpConfig) = if nodelay {
            |c| c.nodelay = true
        } else {
            |c| c.nodelay = false
        };
        compare(Transfer {
            tcp,
            bytes: 200_000,
            write_chunk: 7_000,
            ..CLEAN
        });
    }
}

#[test]
fn send_burst_is_never_taken_while_pacing() {
    for cc in [0, 1] {
        let tcp: fn(&mut TcpConfig) = if cc == 0 {
            |c| c.congestion_control = "bbr".to_string()
        } else {
            |c| c.pacing = true
        };
        let bursts = compare(Transfer {
            tcp,
            bytes: 400_000,
            ..CLEAN
        });
        // Before the first RTT sample there is no rate and no pacing: only the
        // first flight may burst.
        assert!(
            bursts < 20,
            "the burst wrote {bursts} segments while pacing"
        );
    }
}

#[test]
fn send_burst_changes_nothing_over_a_lossy_reordering_link() {
    for seed in [31, 32] {
        let bursts = compare(Transfer {
            imp: Impairment {
                loss: 20,
                dup: 10,
                reorder: 20,
            },
            seed,
            bytes: 600_000,
            ..CLEAN
        });
        assert!(bursts > 0);
    }
}

#[test]
fn send_burst_changes_nothing_with_two_connections_sharing_the_queue() {
    compare(Transfer {
        conns: 2,
        bytes: 500_000,
        ..CLEAN
    });
}

/// A transfer both ways with immediate delivery in which A is polled a few
/// segments at a time and, between them at the same `now`, something else
/// happens: the application writes (normal or urgent data) or switches Nagle,
/// B's packets (ACKs and data) arrive, or the next poll comes at a later `now`.
fn interleaved(general: bool) -> (Outcome, u64) {
    FORCE_GENERAL_SEND.set(general);
    BURST_SEGMENTS.set(0);
    let mut pair = Pair::new(Impairment::default(), 9);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let data = pattern(2_000_000, 9);
    let back = pattern(300_000, 10);
    let (mut sent, mut got) = (0, Vec::new());
    let (mut sent_back, mut got_back) = (0, Vec::new());
    let mut sent_packets = Vec::new();
    let mut events = Vec::new();
    let mut out = vec![0u8; 1500];
    let mut buf = vec![0u8; 100_000];
    let mut step = 0u32;
    while (got.len() < data.len() || got_back.len() < back.len()) && step < 20_000 {
        step += 1;
        let mut now = pair.now;
        let mut polls = 0u32;
        loop {
            // Every few segments, something else happens at the same `now`.
            if polls % 8 == 5 {
                match (step + polls / 8) % 5 {
                    0 => {
                        if let Ok(n) = pair.a.tcp_send(now, c, &data[sent..]) {
                            sent += n;
                        }
                    }
                    1 => {
                        let _ = pair.a.tcp_set_nodelay(now, c, polls % 2 == 0);
                    }
                    2 => {
                        deliver_b_to_a(&mut pair, now, &mut out, &mut sent_packets);
                    }
                    // Rarely: the urgent pointer holds bursts off until it is passed.
                    3 if sent < data.len() && step % 40 == 0 => {
                        if let Ok(n) = pair.a.tcp_send_urgent(now, c, &data[sent..sent + 1]) {
                            sent += n;
                        }
                    }
                    _ => now += Duration::from_micros(1),
                }
            }
            polls += 1;
            let Some(n) = pair.a.poll_transmit(now, &mut out) else {
                break;
            };
            sent_packets.push((now, true, out[..n].to_vec()));
            pair.b.handle_packet(now, &out[..n]);
        }
        if let Ok(n) = pair.a.tcp_send(now, c, &data[sent..]) {
            sent += n;
        }
        if let Ok(n) = pair
            .b
            .tcp_send(now, s, &back[sent_back..(sent_back + 5000).min(back.len())])
        {
            sent_back += n;
        }
        read_all(&mut pair.b, now, s, &mut buf, &mut got);
        read_all(&mut pair.a, now, c, &mut buf, &mut got_back);
        deliver_b_to_a(&mut pair, now, &mut out, &mut sent_packets);
        end_step(&mut pair, now, &mut events);
    }
    assert!(got == data, "the transfer did not complete intact");
    assert!(
        got_back == back,
        "the transfer back did not complete intact"
    );
    let bursts = BURST_SEGMENTS.get();
    FORCE_GENERAL_SEND.set(false);
    let outcome = Outcome {
        sent: sent_packets,
        events,
        got: vec![got, got_back],
        stats: (pair.a.stats().clone(), pair.b.stats().clone()),
        state: (state(&mut pair.a), state(&mut pair.b)),
    };
    (outcome, bursts)
}

#[test]
fn send_burst_changes_nothing_when_socket_calls_come_between_its_segments() {
    let (fast, bursts) = interleaved(false);
    let (slow, none) = interleaved(true);
    assert!(bursts > 100, "the burst wrote {bursts} segments");
    assert_eq!(none, 0);
    assert_same(&fast, &slow);
}

/// An own controller with a fixed window that starts pacing in the `on_sent` of
/// its 40th segment: in the middle of a burst the general path would hold the
/// next segment for the pacer, so the burst must stop there too.
#[derive(Debug)]
struct PacesFromTheFortiethSegment {
    mss: usize,
    sent: usize,
}

impl crate::cc::CongestionControl for PacesFromTheFortiethSegment {
    fn name(&self) -> &'static str {
        "pace40"
    }
    fn window(&self) -> usize {
        100 * self.mss
    }
    fn ssthresh(&self) -> Option<usize> {
        None
    }
    fn in_slow_start(&self) -> bool {
        false
    }
    fn pacing_rate(&self) -> Option<u64> {
        (self.sent >= 40).then_some(2_000_000)
    }
    fn on_sent(&mut self, _: Instant, _: usize, _: usize) {
        self.sent += 1;
    }
    fn on_ack(&mut self, _: Instant, _: &crate::cc::AckSample) {}
    fn on_congestion_event(&mut self, _: Instant, _: crate::cc::CongestionKind, _: usize) {}
    fn on_mtu_update(&mut self, mss: usize) {
        self.mss = mss;
    }
}

#[test]
fn send_burst_is_never_taken_by_an_own_controller_that_starts_pacing_mid_flight() {
    let bursts = compare(Transfer {
        tcp: |c| {
            let factory: crate::cc::CcFactory = Arc::new(|p: &crate::cc::CcParams| {
                Box::new(PacesFromTheFortiethSegment {
                    mss: p.mss,
                    sent: 0,
                }) as Box<dyn crate::cc::CongestionControl>
            });
            c.custom_congestion_controls
                .register("pace40", factory)
                .expect("a free name");
            c.congestion_control = "pace40".to_string();
        },
        bytes: 300_000,
        ..CLEAN
    });
    // An own controller never takes the burst: what its `on_sent` does is its
    // own business.
    assert_eq!(bursts, 0, "the burst wrote {bursts} segments");
}

/// A one-way transfer in which, between A's polls at the same `now`, inputs that
/// are not calls on the connection come at random: `handle_timeout`, `poll_event`,
/// an ICMP echo request (a stack-made reply waits), an ICMP "fragmentation needed"
/// quoting A's last segment, a UDP datagram, new TTL and DSCP, `set_tcp_buffers`,
/// B's packets, and a different buffer size for the next poll.
fn unrelated_inputs(general: bool, seed: u64) -> (Outcome, u64) {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv4Repr};
    FORCE_GENERAL_SEND.set(general);
    BURST_SEGMENTS.set(0);
    let mut pair = Pair::new(Impairment::default(), seed);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let udp = pair
        .a
        .udp_bind(SocketAddr::new(IpAddr::V4(super::tests::A4), 5000))
        .unwrap();
    let data = pattern(3_000_000, seed);
    let (mut sent, mut got) = (0, Vec::new());
    let mut sent_packets = Vec::new();
    let mut events = Vec::new();
    let mut out = vec![0u8; 9000];
    let mut buf = vec![0u8; 100_000];
    let mut step = 0u32;
    let mut rng = crate::rand::StackRng::from_seed(seed);
    let mut last_a: Vec<u8> = Vec::new();
    let mut mtus = 0u16;
    while got.len() < data.len() && step < 20_000 {
        step += 1;
        let mut now = pair.now;
        // Only a segment sent at this step is quoted (one still in flight).
        last_a.clear();
        loop {
            if rng.range(0u32..4) == 0 {
                match rng.range(0u32..9) {
                    0 => pair.a.handle_timeout(now),
                    1 => events.extend(
                        drain_events(&mut pair.a)
                            .into_iter()
                            .map(|e| (now, false, e)),
                    ),
                    2 => {
                        let req = Icmpv4Repr::EchoRequest {
                            ident: 7,
                            seq_no: 1,
                            data: b"ping",
                        };
                        icmp_to_a(&mut pair, now, IpAddr::V4(B4), &req);
                    }
                    3 if last_a.len() >= 28 && mtus < 6 => {
                        mtus += 1;
                        let mtu = 1500 - 40 * mtus;
                        let err = Icmpv4Repr::DstUnreachable {
                            reason: Icmpv4DstUnreachable::FragRequired,
                            next_hop_mtu: mtu,
                            invoking: &last_a[..28],
                        };
                        let router = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 254));
                        icmp_to_a(&mut pair, now, router, &err);
                    }
                    4 => {
                        let _ =
                            pair.a
                                .udp_send_to(udp, b"hello", SocketAddr::new(IpAddr::V4(B4), 9));
                    }
                    5 => {
                        if let Ok(mut o) = pair.a.tcp_options(c) {
                            o.ttl = 32 + rng.range(0u8..4);
                            o.dscp = rng.range(0u8..3);
                            let _ = pair.a.tcp_set_options(now, c, o);
                        }
                    }
                    6 => pair.a.set_tcp_buffers(1 << 20, 1 << 20),
                    7 => {
                        let sizes = [1500usize, 1000, 9000, 1499, 100];
                        out.resize(sizes[rng.range(0usize..5)], 0);
                    }
                    _ => {
                        deliver_b_to_a(&mut pair, now, &mut buf, &mut sent_packets);
                    }
                }
            }
            if rng.range(0u32..20) == 0 {
                now += Duration::from_micros(1);
            }
            let Some(n) = pair.a.poll_transmit(now, &mut out) else {
                break;
            };
            last_a = out[..n].to_vec();
            sent_packets.push((now, true, out[..n].to_vec()));
            pair.b.handle_packet(now, &out[..n]);
        }
        if let Ok(n) = pair.a.tcp_send(now, c, &data[sent..]) {
            sent += n;
        }
        read_all(&mut pair.b, now, s, &mut buf, &mut got);
        deliver_b_to_a(&mut pair, now, &mut buf, &mut sent_packets);
        end_step(&mut pair, now, &mut events);
    }
    assert!(got == data, "the transfer did not complete intact");
    let pmtu = pair.a.tcp_info(pair.now, c).unwrap().pmtu;
    assert!(
        pmtu < 1500,
        "no fragmentation-needed message lowered the path MTU"
    );
    let bursts = BURST_SEGMENTS.get();
    FORCE_GENERAL_SEND.set(false);
    let outcome = Outcome {
        sent: sent_packets,
        events,
        got: vec![got],
        stats: (pair.a.stats().clone(), pair.b.stats().clone()),
        state: (state(&mut pair.a), state(&mut pair.b)),
    };
    (outcome, bursts)
}

#[test]
fn send_burst_changes_nothing_when_other_inputs_come_between_its_segments() {
    for seed in 1..4 {
        let (fast, bursts) = unrelated_inputs(false, seed);
        let (slow, none) = unrelated_inputs(true, seed);
        assert!(bursts > 100, "the burst wrote {bursts} segments");
        assert_eq!(none, 0);
        assert_same(&fast, &slow);
    }
}
