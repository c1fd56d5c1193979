//! The receive shortcuts against the paths they shorten: the fixed-layout IPv4 TCP
//! parse (`Stack::handle_ipv4_tcp_fixed`) against `handle_ipv4` and `deliver_tcp`,
//! and the stack's header-prediction book-keeping (`Stack::tcp_segment_predicted`)
//! against the general pass (`with_conn`). Two stacks built alike, one with a
//! shortcut turned off (`RxPaths`), get the same packets; their whole state
//! (`Debug`), counters, events and the packets they send next must match.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::ingress::RxPaths;
use super::tests::{connect, pattern, Impairment, Pair, B4, B6};
use super::*;
use crate::event::Event;
use crate::time::{Duration, Instant};
use crate::wire::{checksum, ChecksumMode, Ipv4TcpSegment};

const GENERAL_PARSE: RxPaths = RxPaths {
    fixed_layout: false,
    fixed_v4: 0,
    fixed_v6: 0,
    prediction: true,
    batch: true,
    predicted: 0,
};
const NO_PREDICTION: RxPaths = RxPaths {
    fixed_layout: true,
    fixed_v4: 0,
    fixed_v6: 0,
    prediction: false,
    batch: true,
    predicted: 0,
};
const GENERAL_ONLY: RxPaths = RxPaths {
    fixed_layout: false,
    fixed_v4: 0,
    fixed_v6: 0,
    prediction: false,
    batch: true,
    predicted: 0,
};

/// The whole state of a stack as `Debug` prints it, less the fields that only say
/// which shortcuts ran (the switches and the fixed path's address cache).
fn state(stack: &mut Stack) -> String {
    let saved = (stack.rx_v4_peers.take(), stack.rx_paths);
    stack.rx_paths = RxPaths::default();
    let s = format!("{stack:?}");
    (stack.rx_v4_peers, stack.rx_paths) = saved;
    s
}

pub(super) fn drain_events(stack: &mut Stack) -> Vec<Event> {
    std::iter::from_fn(|| stack.poll_event()).collect()
}

/// Everything a run shows from outside and inside.
#[derive(Debug, PartialEq)]
struct Outcome {
    sent: Vec<(Instant, bool, Vec<u8>)>,
    events: Vec<(Instant, bool, Event)>,
    got_at_b: Vec<u8>,
    got_at_a: Vec<u8>,
    stats: (Stats, Stats),
    state: (String, String),
}

/// A connection over an impaired link carrying data both ways and then closed,
/// with both stacks on `paths`.
fn run(paths: RxPaths, imp: Impairment, seed: u64) -> Outcome {
    run_to(SocketAddr::new(IpAddr::V4(B4), 80), paths, imp, seed)
}

/// [`run`] with the server at `server` (IPv4 or IPv6).
fn run_to(server: SocketAddr, paths: RxPaths, imp: Impairment, seed: u64) -> Outcome {
    let mut pair = Pair::new(imp, seed);
    pair.a.rx_paths = paths;
    pair.b.rx_paths = paths;
    let (c, _l, s) = connect(&mut pair, server);
    let to_b = pattern(400_000, seed);
    let to_a = pattern(60_000, seed + 1);
    let (mut sent_b, mut sent_a) = (0, 0);
    let (mut got_at_b, mut got_at_a) = (Vec::new(), Vec::new());
    let mut events = Vec::new();
    let mut buf = vec![0u8; 7000];
    let mut closed = false;
    let done = pair.run_until(Duration::from_secs(600), |p| {
        let now = p.now;
        while sent_b < to_b.len() {
            match p.a.tcp_send(now, c, &to_b[sent_b..]) {
                Ok(n) if n > 0 => sent_b += n,
                _ => break,
            }
        }
        // B sends once it has everything: A's data first arrives at a receiver
        // with nothing in flight, which header prediction takes.
        while got_at_b.len() == to_b.len() && sent_a < to_a.len() {
            match p.b.tcp_send(now, s, &to_a[sent_a..]) {
                Ok(n) if n > 0 => sent_a += n,
                _ => break,
            }
        }
        while let Ok(n) = p.b.tcp_recv(now, s, &mut buf) {
            if n == 0 {
                break;
            }
            got_at_b.extend_from_slice(&buf[..n]);
        }
        while let Ok(n) = p.a.tcp_recv(now, c, &mut buf) {
            if n == 0 {
                break;
            }
            got_at_a.extend_from_slice(&buf[..n]);
        }
        events.extend(drain_events(&mut p.a).into_iter().map(|e| (now, false, e)));
        events.extend(drain_events(&mut p.b).into_iter().map(|e| (now, true, e)));
        if !closed && got_at_b.len() == to_b.len() && got_at_a.len() == to_a.len() {
            closed = true;
            let _ = p.a.tcp_shutdown(now, c, Shutdown::Both);
            let _ = p.b.tcp_shutdown(now, s, Shutdown::Both);
        }
        closed && p.a.tcp_state(c) != Ok(crate::tcp::State::Established)
    });
    assert!(done, "the transfer stalled");
    // The shortcuts ran when on: the fixed-layout path keeps the pair it last
    // took, and prediction took most of the segments.
    if server.is_ipv4() {
        assert_eq!(pair.b.rx_v4_peers.is_some(), paths.fixed_layout);
    } else {
        assert_eq!(pair.b.rx_paths.fixed_v6 > 100, paths.fixed_layout);
        assert_eq!(pair.a.rx_paths.fixed_v6 > 10, paths.fixed_layout);
    }
    assert_eq!(pair.b.rx_paths.predicted > 100, paths.prediction);
    // The closing handshake and TIME-WAIT.
    pair.run_until(Duration::from_secs(300), |_| false);
    events.extend(
        drain_events(&mut pair.a)
            .into_iter()
            .map(|e| (pair.now, false, e)),
    );
    events.extend(
        drain_events(&mut pair.b)
            .into_iter()
            .map(|e| (pair.now, true, e)),
    );
    assert_eq!(got_at_b, to_b);
    assert_eq!(got_at_a, to_a);
    Outcome {
        sent: std::mem::take(&mut pair.sent),
        events,
        got_at_b,
        got_at_a,
        stats: (pair.a.stats().clone(), pair.b.stats().clone()),
        state: (state(&mut pair.a), state(&mut pair.b)),
    }
}

/// Asserts two runs are the same, saying where they part first.
fn assert_same(fast: &Outcome, slow: &Outcome) {
    let first = fast.sent.iter().zip(&slow.sent).position(|(f, s)| f != s);
    assert_eq!(first, None, "the runs send different packets from there on");
    assert_eq!(fast.sent.len(), slow.sent.len());
    assert_eq!(fast.events, slow.events);
    assert_eq!(fast.stats, slow.stats);
    assert!(
        fast.state == slow.state,
        "the stacks end in different states"
    );
    assert_eq!(fast, slow);
}

#[test]
fn fixed_layout_parse_and_prediction_change_nothing_over_a_clean_link() {
    let fast = run(RxPaths::default(), Impairment::default(), 11);
    // The shortcuts did run.
    assert!(fast.sent.len() > 300);
    assert_same(&fast, &run(GENERAL_PARSE, Impairment::default(), 11));
    assert_same(&fast, &run(NO_PREDICTION, Impairment::default(), 11));
    assert_same(&fast, &run(GENERAL_ONLY, Impairment::default(), 11));
}

#[test]
fn fixed_layout_parse_and_prediction_change_nothing_over_a_lossy_reordering_link() {
    let imp = Impairment {
        loss: 30,
        dup: 20,
        reorder: 30,
    };
    for seed in [21, 22] {
        let fast = run(RxPaths::default(), imp, seed);
        assert_same(&fast, &run(GENERAL_PARSE, imp, seed));
        assert_same(&fast, &run(GENERAL_ONLY, imp, seed));
    }
}

#[test]
fn the_ipv6_fixed_layout_parse_changes_nothing_over_a_clean_or_lossy_link() {
    let server = SocketAddr::new(IpAddr::V6(B6), 80);
    let lossy = Impairment {
        loss: 30,
        dup: 20,
        reorder: 30,
    };
    for (imp, seed) in [(Impairment::default(), 12), (lossy, 23)] {
        let fast = run_to(server, RxPaths::default(), imp, seed);
        assert!(fast.sent.len() > 300);
        assert_same(&fast, &run_to(server, GENERAL_PARSE, imp, seed));
        assert_same(&fast, &run_to(server, GENERAL_ONLY, imp, seed));
    }
}

/// An established connection from A to B, B having taken one data segment of
/// `len` bytes (so that the next owes an ACK at once), and A's next data segment
/// of `len` bytes (not yet delivered).
fn established_with_segment(seed: u64, len: usize) -> (Pair, Vec<u8>) {
    established_with_segment_to(SocketAddr::new(IpAddr::V4(B4), 80), seed, len)
}

/// [`established_with_segment`] with B's server at `server` (IPv4 or IPv6).
fn established_with_segment_to(server: SocketAddr, seed: u64, len: usize) -> (Pair, Vec<u8>) {
    let mut pair = Pair::new(Impairment::default(), seed);
    let (c, _l, _s) = connect(&mut pair, server);
    pair.run_until(Duration::from_millis(500), |_| false);
    let now = pair.now;
    let mut buf = vec![0u8; 2000];
    pair.a.tcp_set_nodelay(now, c, true).unwrap();
    pair.a.tcp_send(now, c, &pattern(len, seed)).unwrap();
    let n = pair.a.poll_transmit(now, &mut buf).unwrap();
    pair.b.handle_packet(now, &buf[..n]);
    while let Some(n) = pair.b.poll_transmit(now, &mut buf) {
        pair.a.handle_packet(now, &buf[..n]);
    }
    pair.a.tcp_send(now, c, &pattern(len, seed + 1)).unwrap();
    let n = pair.a.poll_transmit(now, &mut buf).unwrap();
    buf.truncate(n);
    (pair, buf)
}

/// Fills in the IPv4 header checksum of `p`.
pub(super) fn fix_ip_checksum(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p[10..12].fill(0);
    let sum = checksum::finish(checksum::data(&p[..ihl.min(p.len())]));
    p[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Fills in the TCP checksum of `p` (IPv4 header of any length).
pub(super) fn fix_tcp_checksum(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let seg = &mut p[ihl..];
    seg[16..18].fill(0);
    let pseudo = checksum::pseudo_header_v4(src, dst, 6, seg.len() as u16);
    let sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(seg)]));
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
}

/// `p` (an IPv4 packet without IP options) rebuilt with these IP options, TCP
/// options and payload; lengths and checksums made right.
fn rebuilt(p: &[u8], ip_options: &[u8], tcp_options: &[u8], payload: &[u8]) -> Vec<u8> {
    let tcp_hl = 20 + tcp_options.len();
    let hl = 20 + ip_options.len();
    let mut out = p[..20].to_vec();
    out.extend_from_slice(ip_options);
    out.extend_from_slice(&p[20..40]);
    out.extend_from_slice(tcp_options);
    out.extend_from_slice(payload);
    out[0] = 0x40 | (hl / 4) as u8;
    let total = out.len() as u16;
    out[2..4].copy_from_slice(&total.to_be_bytes());
    out[hl + 12] = ((tcp_hl / 4) as u8) << 4 | (out[hl + 12] & 0x0f);
    fix_tcp_checksum(&mut out);
    fix_ip_checksum(&mut out);
    out
}

/// `p` with `edit` applied and both checksums made right again.
fn edited(p: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = p.to_vec();
    edit(&mut out);
    fix_tcp_checksum(&mut out);
    fix_ip_checksum(&mut out);
    out
}

/// `p` with `edit` applied and the checksums left as they were.
fn raw(p: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = p.to_vec();
    edit(&mut out);
    out
}

/// Hands `packet` to `probe`'s fixed-layout path alone and asserts whether it
/// takes it (`fixed`), and that a refusal changes nothing.
fn probe_fixed_path(name: &str, probe: &mut Stack, now: Instant, packet: &[u8], fixed: bool) {
    let before = state(probe);
    let took = probe.handle_ipv4_tcp_fixed(now, packet, false);
    assert_eq!(took, fixed, "{name}: fixed-layout path taken");
    if !took {
        assert!(
            before == state(probe),
            "{name}: a refusal changed the stack"
        );
    }
}

/// Three alike stacks take `packet` (B receives): one on every shortcut, one
/// with the general parse, and one that offers it to the fixed-layout path
/// alone. Asserts whether that path takes it (`fixed`), that it changes nothing
/// when it does not, and that the first two end alike and send alike, also after
/// the segment's good original (`good`) follows.
fn check(name: &str, seed: u64, len: usize, fixed: bool, variant: impl Fn(&[u8]) -> Vec<u8>) {
    let (mut fast, good) = established_with_segment(seed, len);
    let (mut slow, good2) = established_with_segment(seed, len);
    let (mut probe, _) = established_with_segment(seed, len);
    assert_eq!(good, good2);
    slow.b.rx_paths = GENERAL_PARSE;
    let packet = variant(&good);
    let now = fast.now;

    probe_fixed_path(name, &mut probe.b, now, &packet, fixed);

    for p in [&packet, &good] {
        fast.b.handle_packet(now, p);
        slow.b.handle_packet(now, p);
        assert_eq!(fast.b.stats(), slow.b.stats(), "{name}: counters");
        assert_eq!(
            drain_events(&mut fast.b),
            drain_events(&mut slow.b),
            "{name}: events"
        );
        assert!(state(&mut fast.b) == state(&mut slow.b), "{name}: state");
        let mut out_fast = vec![0u8; 2000];
        let mut out_slow = vec![0u8; 2000];
        loop {
            let f = fast.b.poll_transmit(now, &mut out_fast);
            let s = slow.b.poll_transmit(now, &mut out_slow);
            assert_eq!(f, s, "{name}: packets sent");
            let Some(n) = f else { break };
            assert_eq!(out_fast[..n], out_slow[..n], "{name}: packets sent");
        }
        assert_eq!(
            fast.b.poll_timeout(),
            slow.b.poll_timeout(),
            "{name}: timers"
        );
    }
}

#[test]
fn common_segments_take_the_fixed_layout_path_with_the_general_result() {
    check("as sent", 31, 1000, true, |p| p.to_vec());
    check("short, summed whole", 32, 40, true, |p| p.to_vec());
    check("no options", 33, 1000, true, |p| {
        let payload = p[52..].to_vec();
        rebuilt(p, &[], &[], &payload)
    });
    check("don't fragment", 34, 1000, true, |p| {
        edited(p, |q| q[6] |= 0x40)
    });
    check("reserved IP flag", 35, 1000, true, |p| {
        edited(p, |q| q[6] |= 0x80)
    });
    check("link padding", 36, 1000, true, |p| {
        raw(p, |q| q.extend_from_slice(&[0; 6]))
    });
    check("CE mark", 37, 1000, true, |p| edited(p, |q| q[1] |= 0x03));
    check("FIN with data", 38, 1000, true, |p| {
        edited(p, |q| q[33] |= 0x01)
    });
    check("SYN with data", 39, 1000, true, |p| {
        edited(p, |q| q[33] |= 0x02)
    });
    check("RST", 40, 1000, true, |p| edited(p, |q| q[33] |= 0x04));
    check("URG", 41, 1000, true, |p| edited(p, |q| q[33] |= 0x20));
    check("AE and reserved TCP bits", 42, 1000, true, |p| {
        edited(p, |q| q[32] |= 0x0f)
    });
    check("old sequence number", 43, 1000, true, |p| {
        edited(p, |q| q[24] ^= 0x80)
    });
    check("long segment, bad checksum", 44, 1000, true, |p| {
        raw(p, |q| q[600] ^= 0x10)
    });
}

#[test]
fn unusual_packets_take_the_general_path_with_its_result() {
    let seed = 50;
    let len = 1000;
    let ts = |p: &[u8]| p[40..52].to_vec();
    let payload = |p: &[u8]| p[52..].to_vec();
    check("IP options", seed, len, false, |p| {
        rebuilt(p, &[1, 1, 1, 0], &ts(p), &payload(p))
    });
    check("more fragments", seed, len, false, |p| {
        edited(p, |q| q[6] |= 0x20)
    });
    check("fragment offset", seed, len, false, |p| {
        edited(p, |q| q[7] = 0x10)
    });
    check("UDP", seed, len, false, |p| edited(p, |q| q[9] = 17));
    check("unknown protocol", seed, len, false, |p| {
        edited(p, |q| q[9] = 99)
    });
    check("IHL 4", seed, len, false, |p| edited(p, |q| q[0] = 0x44));
    check("IHL past the packet", seed, len, false, |p| {
        raw(p, |q| {
            q[0] = 0x4f;
            q.truncate(50);
            q[2..4].copy_from_slice(&50u16.to_be_bytes());
            fix_ip_checksum(q);
        })
    });
    check("bad IP checksum", seed, len, false, |p| {
        raw(p, |q| q[10] ^= 0x01)
    });
    check("short segment, bad TCP checksum", seed, 40, false, |p| {
        raw(p, |q| q[60] ^= 0x01)
    });
    check("total length past the buffer", seed, len, false, |p| {
        raw(p, |q| q.truncate(q.len() - 10))
    });
    check("total length below the headers", seed, len, false, |p| {
        edited(p, |q| q[2..4].copy_from_slice(&30u16.to_be_bytes()))
    });
    check("data offset past the segment", seed, len, false, |p| {
        raw(p, |q| {
            q.truncate(48);
            q[2..4].copy_from_slice(&48u16.to_be_bytes());
            fix_ip_checksum(q);
        })
    });
    check("timestamp of a bad length", seed, len, false, |p| {
        let mut o = ts(p);
        o[3] = 9;
        rebuilt(p, &[], &o, &payload(p))
    });
    check("option of length 1", seed, len, false, |p| {
        let mut o = ts(p);
        o[2..4].copy_from_slice(&[19, 1]);
        rebuilt(p, &[], &o, &payload(p))
    });
    check("option past the header", seed, len, false, |p| {
        rebuilt(p, &[], &[1, 1, 19, 3], &payload(p))
    });
    check(
        "short segment, options, bad TCP checksum",
        seed,
        40,
        false,
        |p| {
            let mut q = rebuilt(p, &[], &[2, 4, 5, 0xb4], &payload(p));
            q[50] ^= 0x01;
            q
        },
    );
    check(
        "long segment, options, data offset past it",
        seed,
        len,
        false,
        |p| {
            raw(p, |q| {
                q.truncate(70);
                q[2..4].copy_from_slice(&70u16.to_be_bytes());
                q[32] = 0xf0;
                fix_ip_checksum(q);
            })
        },
    );
}

/// Segments with TCP options other than the timestamp alone (the handshake's,
/// SACK blocks, ...) take the fixed-layout path, their options read as the
/// general parse reads them, with the general path's result.
#[test]
fn segments_with_other_tcp_options_take_the_fixed_layout_path_with_the_general_result() {
    let seed = 55;
    let len = 1000;
    let ts = |p: &[u8]| p[40..52].to_vec();
    let payload = |p: &[u8]| p[52..].to_vec();
    for (name, options) in [
        ("data offset 6", vec![1, 1, 1, 1]),
        ("data offset 7", vec![1; 8]),
        ("data offset 15", vec![1; 40]),
    ] {
        check(name, seed, len, true, |p| {
            rebuilt(p, &[], &options, &payload(p))
        });
    }
    check("timestamp first, NOPs after", seed, len, true, |p| {
        let t = ts(p);
        let mut o = t[2..].to_vec();
        o.extend_from_slice(&[1, 1]);
        rebuilt(p, &[], &o, &payload(p))
    });
    check("timestamp and a SACK block", seed, len, true, |p| {
        let mut o = ts(p);
        o.extend_from_slice(&[1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        rebuilt(p, &[], &o, &payload(p))
    });
    check(
        "SACK-permitted beside the timestamp",
        seed,
        len,
        true,
        |p| {
            let mut o = ts(p);
            o[0..2].copy_from_slice(&[4, 2]);
            rebuilt(p, &[], &o, &payload(p))
        },
    );
    check(
        "unknown option in the timestamp's place",
        seed,
        len,
        true,
        |p| {
            let mut o = ts(p);
            o[2] = 19;
            rebuilt(p, &[], &o, &payload(p))
        },
    );
    check("MSS option on data", seed, len, true, |p| {
        rebuilt(p, &[], &[2, 4, 5, 0xb4], &payload(p))
    });
    check("MSS option on a short segment", seed, 40, true, |p| {
        rebuilt(p, &[], &[2, 4, 5, 0xb4], &payload(p))
    });
    check("SYN options on data", seed, len, true, |p| {
        let t = ts(p);
        let mut o = vec![2, 4, 5, 0xb4, 4, 2];
        o.extend_from_slice(&t[2..]);
        o.extend_from_slice(&[1, 3, 3, 7]);
        rebuilt(p, &[], &o, &payload(p))
    });
    check(
        "long segment, options, bad checksum",
        seed,
        len,
        true,
        |p| {
            let mut q = rebuilt(p, &[], &[2, 4, 5, 0xb4], &payload(p));
            q[600] ^= 0x10;
            q
        },
    );
}

#[test]
fn wrong_addresses_and_ports_take_the_general_path_with_its_result() {
    let seed = 60;
    let len = 1000;
    let set_src = |a: Ipv4Addr| move |q: &mut Vec<u8>| q[12..16].copy_from_slice(&a.octets());
    let set_dst = |a: Ipv4Addr| move |q: &mut Vec<u8>| q[16..20].copy_from_slice(&a.octets());
    check("not our address", seed, len, false, |p| {
        edited(p, set_dst(Ipv4Addr::new(10, 0, 0, 3)))
    });
    check("directed broadcast", seed, len, false, |p| {
        edited(p, set_dst(Ipv4Addr::new(10, 0, 0, 255)))
    });
    check("limited broadcast", seed, len, false, |p| {
        edited(p, set_dst(Ipv4Addr::BROADCAST))
    });
    check("multicast destination", seed, len, false, |p| {
        edited(p, set_dst(Ipv4Addr::new(224, 0, 0, 1)))
    });
    check("from the limited broadcast", seed, len, false, |p| {
        edited(p, set_src(Ipv4Addr::BROADCAST))
    });
    check("from a directed broadcast", seed, len, false, |p| {
        edited(p, set_src(Ipv4Addr::new(10, 0, 0, 255)))
    });
    check("from multicast", seed, len, false, |p| {
        edited(p, set_src(Ipv4Addr::new(224, 0, 0, 1)))
    });
    check("from 0.0.0.0", seed, len, false, |p| {
        edited(p, set_src(Ipv4Addr::UNSPECIFIED))
    });
    check("from a stranger", seed, len, true, |p| {
        edited(p, set_src(Ipv4Addr::new(10, 0, 0, 9)))
    });
    check("from ourselves", seed, len, true, |p| {
        edited(p, set_src(B4))
    });
    check("source port 0", seed, len, false, |p| {
        edited(p, |q| q[20..22].fill(0))
    });
    check("destination port 0", seed, len, false, |p| {
        edited(p, |q| q[22..24].fill(0))
    });
    check("another port", seed, len, true, |p| {
        edited(p, |q| q[22..24].copy_from_slice(&81u16.to_be_bytes()))
    });
    // The address cache answers only for the pair it holds: a good segment first,
    // then one to an address that is not ours.
    let (mut pair, good) = established_with_segment(seed, len);
    let now = pair.now;
    assert!(pair.b.handle_ipv4_tcp_fixed(now, &good, false));
    let stranger = edited(&good, set_dst(Ipv4Addr::new(10, 0, 0, 3)));
    assert!(!pair.b.handle_ipv4_tcp_fixed(now, &stranger, false));
    let errors = pair.b.stats().ip.in_addr_errors;
    pair.b.handle_packet(now, &stranger);
    assert_eq!(pair.b.stats().ip.in_addr_errors, errors + 1);
}

#[test]
fn a_checksum_the_device_vouched_for_is_not_summed_on_the_fixed_layout_path() {
    let (mut pair, good) = established_with_segment(70, 40);
    let now = pair.now;
    let bad = raw(&good, |q| q[36] ^= 0x5a);
    // Without the device's word a short segment with a bad sum is the general
    // path's to count; with it, the fixed-layout path takes it as it is.
    assert!(!pair.b.handle_ipv4_tcp_fixed(now, &bad, false));
    let parsed = Ipv4TcpSegment::parse(&bad, ChecksumMode::Enabled).unwrap();
    assert_eq!(parsed.tcp.payload.len(), 40);
    assert!(pair.b.handle_ipv4_tcp_fixed(now, &bad, true));
    assert_eq!(pair.b.stats().tcp.in_csum_errors, 0);
}

/// Three alike pairs: B listens on port 80, A has sent its SYN (`syn`, not yet
/// delivered).
fn pair_with_syn(seed: u64) -> (Pair, Vec<u8>) {
    pair_with_syn_to(SocketAddr::new(IpAddr::V4(B4), 80), seed)
}

/// [`pair_with_syn`] with B listening on `server` (IPv4 or IPv6).
fn pair_with_syn_to(server: SocketAddr, seed: u64) -> (Pair, Vec<u8>) {
    let mut pair = Pair::new(Impairment::default(), seed);
    pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut buf = vec![0u8; 2000];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    buf.truncate(n);
    (pair, buf)
}

/// The handshake's segments on both receive paths: `variant` of A's SYN
/// arrives at B, then the packets B sends (its SYN-ACK, or a RST) at A, then
/// A's answers at B, and so on until both are quiet; the fixed-layout path takes
/// the variant or not (`fixed`), and both pairs end alike, having sent alike.
fn check_handshake(name: &str, seed: u64, fixed: bool, variant: impl Fn(&[u8]) -> Vec<u8>) {
    let (mut fast, syn) = pair_with_syn(seed);
    let (mut slow, _) = pair_with_syn(seed);
    let (mut probe, _) = pair_with_syn(seed);
    slow.a.rx_paths = GENERAL_PARSE;
    slow.b.rx_paths = GENERAL_PARSE;
    let packet = variant(&syn);
    let now = fast.now;
    probe_fixed_path(name, &mut probe.b, now, &packet, fixed);
    let mut to_b = vec![packet];
    let mut to_a: Vec<Vec<u8>> = Vec::new();
    let mut out = vec![0u8; 2000];
    let mut out_slow = vec![0u8; 2000];
    for _ in 0..4 {
        for (p, to) in to_b
            .drain(..)
            .map(|p| (p, true))
            .chain(to_a.drain(..).map(|p| (p, false)))
            .collect::<Vec<_>>()
        {
            let (f, s) = if to {
                (&mut fast.b, &mut slow.b)
            } else {
                (&mut fast.a, &mut slow.a)
            };
            f.handle_packet(now, &p);
            s.handle_packet(now, &p);
            assert_eq!(f.stats(), s.stats(), "{name}: counters");
            assert_eq!(drain_events(f), drain_events(s), "{name}: events");
            assert!(state(f) == state(s), "{name}: state");
            loop {
                let n = f.poll_transmit(now, &mut out);
                assert_eq!(n, s.poll_transmit(now, &mut out_slow), "{name}: sent");
                let Some(n) = n else { break };
                assert_eq!(out[..n], out_slow[..n], "{name}: sent");
                if to {
                    to_a.push(out[..n].to_vec());
                } else {
                    to_b.push(out[..n].to_vec());
                }
            }
            assert_eq!(f.poll_timeout(), s.poll_timeout(), "{name}: timers");
        }
    }
}

#[test]
fn the_handshake_takes_the_fixed_layout_path_with_the_general_result() {
    check_handshake("as sent", 80, true, |p| p.to_vec());
    // The SYN's options: MSS, SACK-permitted, timestamps, window scale.
    let options = |p: &[u8]| p[40..usize::from(p[32] >> 4) * 4 + 20].to_vec();
    check_handshake("no options", 81, true, |p| rebuilt(p, &[], &[], &[]));
    check_handshake("MSS alone", 82, true, |p| {
        rebuilt(p, &[], &[2, 4, 2, 0x18], &[])
    });
    check_handshake("options reversed", 83, true, |p| {
        let o = options(p);
        let mut r = o[16..].to_vec();
        r.extend_from_slice(&o[4..16]);
        r.extend_from_slice(&o[..4]);
        rebuilt(p, &[], &r, &[])
    });
    check_handshake("SYN with data", 84, true, |p| {
        rebuilt(p, &[], &options(p), b"early data")
    });
    check_handshake("to a closed port", 85, true, |p| {
        edited(p, |q| q[22..24].copy_from_slice(&81u16.to_be_bytes()))
    });
    check_handshake("ACK to the listener", 86, true, |p| {
        edited(p, |q| q[33] = 0x10)
    });
    check_handshake("RST to the listener", 87, true, |p| {
        edited(p, |q| q[33] = 0x04)
    });
    // Hostile: refused by the fixed-layout path, counted by the general one.
    check_handshake("bad TCP checksum", 88, false, |p| raw(p, |q| q[36] ^= 0x01));
    check_handshake("bad IP checksum", 89, false, |p| raw(p, |q| q[10] ^= 0x01));
    check_handshake("MSS of a bad length", 90, false, |p| {
        let mut o = options(p);
        o[1] = 3;
        rebuilt(p, &[], &o, &[])
    });
    check_handshake("window scale past the header", 91, false, |p| {
        let mut o = options(p);
        o[18] = 4;
        rebuilt(p, &[], &o, &[])
    });
    check_handshake("data offset past the segment", 92, false, |p| {
        raw(p, |q| {
            q[32] = 0xf0 | (q[32] & 0x0f);
            fix_tcp_checksum(q);
        })
    });
    check_handshake("data offset 4", 93, false, |p| {
        edited(p, |q| q[32] = 0x40 | (q[32] & 0x0f))
    });
    check_handshake("port 0", 94, false, |p| edited(p, |q| q[20..22].fill(0)));
}

/// `packet` arrives at B of both pairs (`fast` on every shortcut, `slow` on the
/// general parse), the first time through `handle_packets` with `good` after it
/// (a batch); both end alike: counters, events, state, packets sent, timers.
fn same_on_both_paths(fast: &mut Pair, slow: &mut Pair, packet: &[u8], good: &[u8]) {
    let now = fast.now;
    fast.b.handle_packets(now, [packet, good]);
    slow.b.handle_packets(now, [packet, good]);
    for p in [packet, good] {
        for (f, s) in [(&mut fast.b, &mut slow.b)] {
            assert_eq!(f.stats(), s.stats(), "counters");
            assert_eq!(drain_events(f), drain_events(s), "events");
            assert!(state(f) == state(s), "state");
            let mut out_fast = vec![0u8; 2000];
            let mut out_slow = vec![0u8; 2000];
            loop {
                let n = f.poll_transmit(now, &mut out_fast);
                assert_eq!(n, s.poll_transmit(now, &mut out_slow), "sent");
                let Some(n) = n else { break };
                assert_eq!(out_fast[..n], out_slow[..n], "sent");
            }
            assert_eq!(f.poll_timeout(), s.poll_timeout(), "timers");
            f.handle_packet(now, p);
            s.handle_packet(now, p);
        }
    }
    assert_eq!(fast.b.stats(), slow.b.stats(), "counters");
    assert!(state(&mut fast.b) == state(&mut slow.b), "state");
}

/// `p` with `flips` (offset, XOR mask) applied anywhere, `sets` (offset past
/// the fixed headers, new value: small values make option kinds and lengths)
/// in its TCP options and payload, cut or extended, and with its IP and TCP
/// checksums made right again as `fix` says.
fn mangled(
    p: &[u8],
    flips: &[(usize, u8)],
    sets: &[(usize, u8)],
    cut: usize,
    extra: &[u8],
    fix: (bool, bool),
) -> Vec<u8> {
    let mut q = p.to_vec();
    for &(at, mask) in flips {
        let len = q.len();
        if let Some(b) = q.get_mut(at % len.max(1)) {
            *b ^= mask;
        }
    }
    for &(at, value) in sets {
        let past = q.len().saturating_sub(40);
        if let Some(b) = q.get_mut(40 + at % past.max(1)) {
            *b = value;
        }
    }
    q.truncate(q.len().saturating_sub(cut));
    q.extend_from_slice(extra);
    // The fixers index the headers: only where they are there to fix.
    let ihl = usize::from(q.first().map_or(0, |b| b & 0x0f)) * 4;
    if fix.1 && ihl >= 20 && q.len() >= ihl + 20 {
        fix_tcp_checksum(&mut q);
    }
    if fix.0 && ihl >= 20 && q.len() >= ihl {
        fix_ip_checksum(&mut q);
    }
    q
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Hostile variants of a SYN (bit flips anywhere in its headers and
    /// options, cut, extended, checksums made right or not) and of a data
    /// segment of an established connection, and random bytes after an IPv4
    /// version nibble: the fixed-layout path and the general parse give the
    /// same result, and nothing panics.
    #[test]
    fn mangled_packets_give_the_same_result_on_both_receive_paths(
        seed in 0u64..4,
        data in proptest::prelude::any::<bool>(),
        // Short (summed whole) or long (its sum deferred to the copy).
        len in proptest::prop_oneof![proptest::strategy::Just(40usize), proptest::strategy::Just(1000)],
        flips in proptest::collection::vec((0usize..80, 1u8..=255), 0..3),
        sets in proptest::collection::vec((0usize..40, 0u8..16), 0..3),
        cut in proptest::prop_oneof![3 => proptest::strategy::Just(0usize), 1 => 0usize..24],
        extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        fix in proptest::prop_oneof![
            3 => proptest::strategy::Just((true, true)),
            1 => (proptest::prelude::any::<bool>(), proptest::prelude::any::<bool>()),
        ],
        random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
    ) {
        let ((mut fast, good), (mut slow, _)) = if data {
            (established_with_segment(300 + seed, len), established_with_segment(300 + seed, len))
        } else {
            (pair_with_syn(200 + seed), pair_with_syn(200 + seed))
        };
        slow.b.rx_paths = GENERAL_PARSE;
        let packet = mangled(&good, &flips, &sets, cut, &extra, fix);
        same_on_both_paths(&mut fast, &mut slow, &packet, &good);
        let mut noise = random;
        if let Some(b) = noise.first_mut() {
            *b = 0x40 | (*b & 0x0f);
        }
        let noise = mangled(&noise, &[], &[], 0, &[], fix);
        same_on_both_paths(&mut fast, &mut slow, &noise, &good);
    }
}

/// The TCP checksum of an IPv6 packet `q` made right again, where its Payload
/// Length leaves a TCP header inside the buffer to fix.
pub(super) fn fix_tcp_checksum_v6(q: &mut [u8]) {
    let len = usize::from(u16::from_be_bytes([q[4], q[5]]));
    if len < 20 || q.len() < 40 + len {
        return;
    }
    let addr = |b: &[u8]| {
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        core::net::Ipv6Addr::from(o)
    };
    let pseudo = checksum::pseudo_header_v6(addr(&q[8..24]), addr(&q[24..40]), 6, len as u32);
    q[56..58].fill(0);
    let sum = checksum::finish(checksum::combine(&[
        pseudo,
        checksum::data(&q[40..40 + len]),
    ]));
    q[56..58].copy_from_slice(&sum.to_be_bytes());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Hostile variants of an IPv6 SYN (bit flips in its fixed header, TCP
    /// header and options, cut, extended, its checksum made right or not): the
    /// IPv6 fixed-layout path and the general parse give the same result
    /// (counters, events, state, packets sent, timers), and nothing panics.
    #[test]
    fn mangled_ipv6_packets_give_the_same_result_on_both_receive_paths(
        seed in 0u64..4,
        flips in proptest::collection::vec((0usize..80, 1u8..=255), 0..3),
        cut in proptest::prop_oneof![3 => proptest::strategy::Just(0usize), 1 => 0usize..24],
        extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        fix in proptest::prelude::any::<bool>(),
    ) {
        let server = SocketAddr::new(IpAddr::V6(B6), 80);
        let (mut fast, syn) = pair_with_syn_to(server, 400 + seed);
        let (mut slow, _) = pair_with_syn_to(server, 400 + seed);
        slow.b.rx_paths = GENERAL_PARSE;
        let mut q = syn.clone();
        for &(at, mask) in &flips {
            let len = q.len();
            q[at % len] ^= mask;
        }
        q.truncate(q.len().saturating_sub(cut));
        q.extend_from_slice(&extra);
        if fix && q.len() >= 40 {
            fix_tcp_checksum_v6(&mut q);
        }
        same_on_both_paths(&mut fast, &mut slow, &q, &syn);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Hostile variants of an IPv6 data segment of an established connection
    /// (short: summed whole; long: its sum deferred to the copy, the segment
    /// a candidate for header prediction and for a run with its good original
    /// after it): bit flips anywhere, small values in its TCP options and
    /// payload, cut, extended, its checksum made right or not. The IPv6
    /// fixed-layout path (with prediction and runs) and the general parse give
    /// the same result, and nothing panics.
    #[test]
    fn mangled_ipv6_data_segments_give_the_same_result_on_both_receive_paths(
        seed in 0u64..4,
        len in proptest::prop_oneof![proptest::strategy::Just(40usize), proptest::strategy::Just(1000)],
        flips in proptest::collection::vec((0usize..80, 1u8..=255), 0..3),
        sets in proptest::collection::vec((40usize..80, 0u8..16), 0..3),
        cut in proptest::prop_oneof![3 => proptest::strategy::Just(0usize), 1 => 0usize..24],
        extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        fix in proptest::prop_oneof![3 => proptest::strategy::Just(true), 1 => proptest::prelude::any::<bool>()],
    ) {
        let server = SocketAddr::new(IpAddr::V6(B6), 80);
        let (mut fast, good) = established_with_segment_to(server, 500 + seed, len);
        let (mut slow, _) = established_with_segment_to(server, 500 + seed, len);
        slow.b.rx_paths = GENERAL_PARSE;
        let mut q = good.clone();
        for &(at, mask) in &flips {
            let n = q.len();
            q[at % n] ^= mask;
        }
        for &(at, value) in &sets {
            let n = q.len();
            q[at % n] = value;
        }
        q.truncate(q.len().saturating_sub(cut));
        q.extend_from_slice(&extra);
        if fix && q.len() >= 40 {
            fix_tcp_checksum_v6(&mut q);
        }
        same_on_both_paths(&mut fast, &mut slow, &q, &good);
        // The handshake and the first data segment took the IPv6 fixed-layout
        // path on the fast pair, never on the slow one.
        proptest::prop_assert!(fast.b.rx_paths.fixed_v6 >= 2);
        proptest::prop_assert_eq!(slow.b.rx_paths.fixed_v6, 0);
    }
}

/// A SYN over IPv6 from a source that cannot be a peer (multicast, unspecified:
/// RFC 9293 MUST-63), to an address not ours, or with a port 0: dropped and
/// never answered on the IPv6 fixed-layout path as on the general one, and
/// counted alike (`InErrs`, or the IPv6 `InAddrErrors`). Its checksum is made
/// right, so only the address and port checks can drop it.
#[test]
fn ipv6_syns_from_or_to_addresses_that_cannot_be_peers_are_dropped_on_both_paths() {
    let server = SocketAddr::new(IpAddr::V6(B6), 80);
    // (name, the edit, whether TCP counts it in InErrs rather than IPv6 in
    // InAddrErrors)
    type Case = (&'static str, fn(&mut Vec<u8>), bool);
    let cases: [Case; 7] = [
        (
            "multicast source",
            |q| q[8..24].copy_from_slice(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets()),
            true,
        ),
        ("unspecified source", |q| q[8..24].fill(0), true),
        (
            "loopback source",
            |q| q[8..24].copy_from_slice(&Ipv6Addr::LOCALHOST.octets()),
            true,
        ),
        (
            "IPv4-mapped source",
            |q| q[8..24].copy_from_slice(&Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped().octets()),
            true,
        ),
        ("destination not ours", |q| q[39] ^= 0x80, false),
        ("source port 0", |q| q[40..42].fill(0), true),
        ("destination port 0", |q| q[42..44].fill(0), true),
    ];
    for (i, (name, edit, tcp_error)) in cases.into_iter().enumerate() {
        let seed = 700 + i as u64;
        let (mut fast, syn) = pair_with_syn_to(server, seed);
        let (mut slow, _) = pair_with_syn_to(server, seed);
        slow.b.rx_paths = GENERAL_PARSE;
        let mut q = syn.clone();
        edit(&mut q);
        fix_tcp_checksum_v6(&mut q);
        let now = fast.now;
        for b in [&mut fast.b, &mut slow.b] {
            b.handle_packet(now, &q);
            let mut out = vec![0u8; 2000];
            assert_eq!(b.poll_transmit(now, &mut out), None, "{name}: answered");
            let s = b.stats();
            assert_eq!(s.tcp.passive_opens, 0, "{name}");
            assert_eq!(s.tcp.in_errs, u64::from(tcp_error), "{name}: InErrs");
            assert_eq!(s.ip6.in_addr_errors, u64::from(!tcp_error), "{name}");
            assert_eq!(s.tcp.in_csum_errors, 0, "{name}: the checksum was right");
        }
        assert_eq!(fast.b.stats(), slow.b.stats(), "{name}: counters");
        assert!(state(&mut fast.b) == state(&mut slow.b), "{name}: state");
        // The good SYN after it is taken on the fixed-layout path.
        same_on_both_paths(&mut fast, &mut slow, &syn, &syn);
        assert_eq!(fast.b.stats().tcp.passive_opens, 1, "{name}");
        assert!(fast.b.rx_paths.fixed_v6 >= 1, "{name}");
    }
}
