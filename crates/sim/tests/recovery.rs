//! Loss recovery end to end with RACK-TLP (RFC 8985), the default loss detection:
//! ten segments lost from one window are repaired in about one round trip, a lost
//! tail is repaired by a tail loss probe, a lost retransmission is found lost
//! again and resent without waiting for the retransmission timer, and a spurious
//! retransmission timeout (a delay spike, no loss) is detected and its congestion
//! response undone: by the timestamps (Eifel) where the peers use them, by F-RTO
//! (RFC 5682) where they do not.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use common::*;
use layer4::tcp::{ConnCounters, LossCounters};
use layer4::time::{Duration, Instant};
use layer4_sim::network::Direction;
use layer4_sim::node::{FnMiddlebox, Verdict};
use layer4_sim::scenario::IpVersion;
use layer4_sim::Simulation;

/// The TCP sequence number and payload length of an IPv4 TCP packet with payload.
fn tcp_data(p: &layer4_sim::Packet) -> Option<(u32, usize)> {
    let d = &p.data;
    if d.len() < 40 || d[0] >> 4 != 4 || d[9] != 6 {
        return None;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
    let tcp = d.get(ihl..)?;
    let doff = usize::from(tcp.get(12).copied()? >> 4) * 4;
    let seq = u32::from_be_bytes([*tcp.get(4)?, *tcp.get(5)?, *tcp.get(6)?, *tcp.get(7)?]);
    let len = total.checked_sub(ihl + doff)?;
    (len > 0).then_some((seq, len))
}

/// What a run shows.
struct Outcome {
    /// Completion time of the transfer, seconds.
    fct_s: f64,
    /// The client's counters at the end.
    counters: ConnCounters,
    /// Its loss-detection and undo counters at the end.
    loss: LossCounters,
    /// Packets the middlebox dropped.
    dropped: u64,
    /// The client's cwnd (bytes) sampled every millisecond.
    cwnd: Vec<(Instant, u32)>,
    /// The client stack's counters at the end, as `nstat` names them.
    nstat: Vec<(String, u64)>,
}

/// A transfer of `bytes` over 100 Mbit/s, 20 ms one way, with `mb` deciding the
/// fate of each packet entering the bottleneck in `direction` (forward: the data).
fn run(
    cc: &str,
    bytes: u64,
    direction: Direction,
    mb: impl FnMut(Instant, &mut layer4_sim::Packet) -> Verdict + 'static,
) -> Outcome {
    run_with(
        cc,
        bytes,
        direction,
        vec![(direction, Box::new(FnMiddlebox(mb)))],
    )
}

/// [`run`] with a middlebox in each of `boxes`' directions; `direction` is the
/// one whose drops are counted.
fn run_with(
    cc: &str,
    bytes: u64,
    direction: Direction,
    boxes: Vec<(Direction, Box<dyn layer4_sim::node::Middlebox>)>,
) -> Outcome {
    let mut flow = bulk("f", "left0", "right0", bytes);
    flow.cc = cc.to_string();
    let s = dumbbell(link(100_000_000, 20), IpVersion::V4, vec![flow], 30);
    let mut sim = Simulation::new(&s).unwrap();
    for (d, mb) in boxes {
        sim.network_mut()
            .set_middlebox("bottleneck", d, mb)
            .unwrap();
    }
    let mut now = Instant::ZERO;
    let mut last = None;
    let mut loss = LossCounters::default();
    let mut cwnd = Vec::new();
    let end = Instant::ZERO + Duration::from_secs(30);
    while now < end {
        now += Duration::from_millis(1);
        sim.network_mut().run_until(now);
        let (client, server) = sim.flow_stats("f").unwrap();
        if let Some(h) = client.data_socket {
            let stack = sim.network().stack("left0").unwrap();
            if let Ok(c) = stack.tcp_counters(h) {
                last = Some(c);
            }
            if let Ok(i) = stack.tcp_info(now, h) {
                cwnd.push((now, i.cwnd_bytes));
                loss = i.loss;
            }
        }
        if server.bytes_received == bytes {
            break;
        }
    }
    let (_, server) = sim.flow_stats("f").unwrap();
    assert_eq!(server.bytes_received, bytes, "the transfer completes");
    assert_eq!(server.integrity_errors, 0);
    Outcome {
        fct_s: now.as_nanos() as f64 / 1e9,
        counters: last.expect("the client connected"),
        loss,
        dropped: sim
            .network()
            .middlebox_drops("bottleneck", direction)
            .unwrap(),
        cwnd,
        nstat: sim.network().stack("left0").unwrap().stats().nstat_lines(),
    }
}

/// Drops the first transmission of data segments whose offset in the stream
/// (from the first data segment seen) satisfies `lost`; data sent before (below
/// the highest byte seen) passes.
fn drop_first_transmission(
    lost: impl Fn(u64, usize) -> bool + 'static,
) -> impl FnMut(Instant, &mut layer4_sim::Packet) -> Verdict {
    let first = Cell::new(None::<u32>);
    let highest = Cell::new(0u64);
    move |_now, p| {
        let Some((seq, len)) = tcp_data(p) else {
            return Verdict::Pass;
        };
        let s0 = *first.get().get_or_insert(seq);
        first.set(Some(s0));
        let off = u64::from(seq.wrapping_sub(s0));
        let end = off + len as u64;
        if end <= highest.get() {
            return Verdict::Pass;
        }
        highest.set(end);
        if lost(off, len) {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
}

#[test]
fn ten_segments_lost_from_one_window_are_repaired_in_about_one_rtt_without_rto() {
    for cc in ["cubic", "newreno"] {
        // Segments 60..70 of the stream (the fourth slow-start flight).
        let lost_from = 60 * 1448;
        let lost_to = 70 * 1448;
        let retransmitted_at = Rc::new(RefCell::new(Vec::new()));
        let log = retransmitted_at.clone();
        let mut dropper =
            drop_first_transmission(move |off, _| (lost_from..lost_to).contains(&off));
        let first_drop = Rc::new(Cell::new(None::<Instant>));
        let fd = first_drop.clone();
        let seen = RefCell::new(HashSet::new());
        let o = run(cc, 1_000_000, Direction::Forward, move |now, p| {
            let v = dropper(now, p);
            if matches!(v, Verdict::Drop) && fd.get().is_none() {
                fd.set(Some(now));
            }
            if let Some((seq, _)) = tcp_data(p) {
                if !seen.borrow_mut().insert(seq) {
                    log.borrow_mut().push(now);
                }
            }
            v
        });
        let c = &o.counters;
        let resent = retransmitted_at.borrow().clone();
        let first = first_drop.get().expect("segments were dropped");
        let last = resent.iter().max().copied().expect("retransmissions");
        let repair = last.saturating_duration_since(first);
        eprintln!(
            "{cc}: fct {:.3} s, dropped {}, RTOs {}, recoveries {}, retransmitted {} \
             within {repair:?} of the first drop, probes {}",
            o.fct_s, o.dropped, c.timeouts, c.sack_recoveries, c.retrans_segs, o.loss.loss_probes
        );
        assert_eq!(o.dropped, 10);
        assert_eq!(c.timeouts, 0, "{cc}: repaired without an RTO");
        assert_eq!(c.sack_recoveries, 1, "{cc}");
        assert!(c.retrans_segs >= 10 && c.retrans_segs <= 12, "{cc}: {c:?}");
        // The path's round trip is ~44 ms: the losses are noticed one RTT after
        // the first drop and repaired within about one more.
        assert!(
            repair < Duration::from_millis(2 * 44 + 30),
            "{cc}: last retransmission {repair:?} after the first drop"
        );
    }
}

#[test]
fn a_lost_tail_is_repaired_by_a_loss_probe_without_rto() {
    let bytes: u64 = 200_000;
    // The last two segments of the transfer.
    let tail = bytes - 2 * 1448;
    let o = run(
        "cubic",
        bytes,
        Direction::Forward,
        drop_first_transmission(move |off, len| off + len as u64 > tail),
    );
    let c = &o.counters;
    eprintln!(
        "fct {:.3} s, dropped {}, RTOs {}, probes {}, probe recoveries {}, recoveries {}, \
         retransmitted {}",
        o.fct_s,
        o.dropped,
        c.timeouts,
        o.loss.loss_probes,
        o.loss.loss_probe_recoveries,
        c.sack_recoveries,
        c.retrans_segs
    );
    // The last three segments (the last is short) hold the last 2 × 1448 bytes.
    assert_eq!(o.dropped, 3);
    assert_eq!(c.timeouts, 0, "repaired without an RTO");
    assert!(o.loss.loss_probes >= 1, "a probe was sent");
    assert!(c.retrans_segs <= 4, "{c:?}");
}

#[test]
fn a_lost_retransmission_is_found_lost_again_and_repaired_without_rto() {
    for cc in ["cubic", "bbr"] {
        // Segment 100 of the stream is dropped, and so is its first retransmission.
        let target = 100 * 1448u32;
        let first = Cell::new(None::<u32>);
        let sent = Cell::new(0u32);
        let o = run(cc, 1_000_000, Direction::Forward, move |_now, p| {
            let Some((seq, _)) = tcp_data(p) else {
                return Verdict::Pass;
            };
            let s0 = *first.get().get_or_insert(seq);
            first.set(Some(s0));
            if seq.wrapping_sub(s0) != target {
                return Verdict::Pass;
            }
            sent.set(sent.get() + 1);
            if sent.get() <= 2 {
                Verdict::Drop
            } else {
                Verdict::Pass
            }
        });
        let c = &o.counters;
        eprintln!(
            "{cc}: fct {:.3} s, dropped {}, RTOs {}, recoveries {}, retransmitted {}, {:?}",
            o.fct_s, o.dropped, c.timeouts, c.sack_recoveries, c.retrans_segs, o.loss
        );
        assert_eq!(o.dropped, 2, "{cc}: the original and its retransmission");
        assert_eq!(c.timeouts, 0, "{cc}: repaired without an RTO");
        assert_eq!(o.loss.lost_retransmits, 1, "{cc}: {:?}", o.loss);
        assert!(c.retrans_segs <= 3, "{cc}: {c:?}");
        // The stack-wide counter (`l4 stat`, nstat) shows it too.
        let lines = o.nstat;
        assert!(
            lines.contains(&("TcpExtTCPLostRetransmit".to_string(), 1)),
            "{cc}: {lines:?}"
        );
    }
}

#[test]
fn a_spurious_rto_from_a_delay_spike_is_detected_and_undone() {
    // From 200 ms, the return path holds every ACK for up to 350 ms (a link
    // outage with buffering): nothing is lost, but the sender's RTO fires.
    let spike_from = Instant::ZERO + Duration::from_millis(200);
    let spike_len = Duration::from_millis(300);
    let release = spike_from + Duration::from_millis(350);
    let o = run("cubic", 2_000_000, Direction::Reverse, move |now, _p| {
        if now >= spike_from && now < spike_from + spike_len {
            Verdict::Delay(release.saturating_duration_since(now))
        } else {
            Verdict::Pass
        }
    });
    let c = &o.counters;
    let before = o
        .cwnd
        .iter()
        .rev()
        .find(|(t, _)| *t <= spike_from + Duration::from_millis(40))
        .map(|x| x.1)
        .unwrap();
    let during = o
        .cwnd
        .iter()
        .filter(|(t, _)| *t > spike_from && *t < release)
        .map(|x| x.1)
        .min()
        .unwrap();
    let after = o
        .cwnd
        .iter()
        .filter(|(t, _)| *t >= release && *t < release + Duration::from_millis(40))
        .map(|x| x.1)
        .max()
        .unwrap();
    eprintln!(
        "fct {:.3} s, RTOs {}, retransmitted {}, {:?}, cwnd before {before} during {during} \
         after {after}",
        o.fct_s, c.timeouts, c.retrans_segs, o.loss
    );
    assert!(c.timeouts >= 1, "the spike fires the RTO");
    assert!(during <= 2 * 1448, "the RTO collapsed the window");
    assert!(
        o.loss.spurious_rtos >= 1,
        "and it is found spurious: {:?}",
        o.loss
    );
    assert!(o.loss.loss_undos >= 1, "by the timestamps (Eifel)");
    assert!(
        after >= before,
        "cwnd restored: {before} before, {after} after"
    );
}

/// A middlebox that removes the TCP options of `kinds` from SYNs (overwritten
/// with NOPs, the checksum made again), so that the peers do not negotiate them.
fn strip_syn_options(kinds: &'static [u8]) -> Box<dyn layer4_sim::node::Middlebox> {
    Box::new(FnMiddlebox(
        move |_now: Instant, p: &mut layer4_sim::Packet| {
            let d = &mut p.data;
            if d.len() < 40 || d[0] >> 4 != 4 || d[9] != 6 {
                return Verdict::Pass;
            }
            let ihl = usize::from(d[0] & 0x0f) * 4;
            let src = std::net::Ipv4Addr::new(d[12], d[13], d[14], d[15]);
            let dst = std::net::Ipv4Addr::new(d[16], d[17], d[18], d[19]);
            let tcp = &mut d[ihl..];
            if tcp.len() < 20 || tcp[13] & 0x02 == 0 {
                return Verdict::Pass;
            }
            let doff = usize::from(tcp[12] >> 4) * 4;
            let mut i = 20;
            while i < doff.min(tcp.len()) {
                match tcp[i] {
                    0 => break,
                    1 => i += 1,
                    kind => {
                        let len = usize::from(*tcp.get(i + 1).unwrap_or(&2)).max(2);
                        if kinds.contains(&kind) {
                            for b in tcp.iter_mut().skip(i).take(len) {
                                *b = 1;
                            }
                        }
                        i += len;
                    }
                }
            }
            let mut packet = layer4::wire::TcpPacket::new_unchecked(&mut tcp[..]);
            packet.fill_checksum(&layer4::wire::AddrPair::V4 { src, dst });
            Verdict::Pass
        },
    ))
}

/// The ACK path holds every ACK from 200 ms to 550 ms and then lets them go in
/// order (a link whose delay jumps past the RTO for a moment), with the options
/// of `strip` off; returns the outcome and the cwnd before the spike and just
/// after it.
fn delay_spike_without(strip: &'static [u8]) -> (Outcome, u32, u32) {
    let spike_from = Instant::ZERO + Duration::from_millis(200);
    let release = spike_from + Duration::from_millis(350);
    let spike = FnMiddlebox(move |now: Instant, _p: &mut layer4_sim::Packet| {
        if now >= spike_from && now < release {
            Verdict::Delay(release.saturating_duration_since(now))
        } else {
            Verdict::Pass
        }
    });
    let o = run_with(
        "cubic",
        2_000_000,
        Direction::Reverse,
        vec![
            (Direction::Forward, strip_syn_options(strip)),
            (Direction::Reverse, Box::new(spike)),
        ],
    );
    let before = o
        .cwnd
        .iter()
        .rev()
        .find(|(t, _)| *t <= spike_from + Duration::from_millis(40))
        .map(|x| x.1)
        .unwrap();
    let after = o
        .cwnd
        .iter()
        .filter(|(t, _)| *t >= release && *t < release + Duration::from_millis(40))
        .map(|x| x.1)
        .max()
        .unwrap();
    (o, before, after)
}

/// The same transfer with neither the spike nor the timestamps: its completion
/// time, seconds.
fn fct_without_spike(strip: &'static [u8]) -> f64 {
    run_with(
        "cubic",
        2_000_000,
        Direction::Forward,
        vec![(Direction::Forward, strip_syn_options(strip))],
    )
    .fct_s
}

/// RFC 7323's timestamps option.
const TIMESTAMPS: u8 = 8;
/// RFC 2018's SACK-permitted option.
const SACK_PERMITTED: u8 = 4;

fn check_frto_found_the_spike(strip: &'static [u8]) {
    let (o, before, after) = delay_spike_without(strip);
    let base = fct_without_spike(strip);
    let c = &o.counters;
    eprintln!(
        "fct {:.3} s (without the spike {base:.3} s), RTOs {}, retransmitted {}, {:?}, \
         cwnd before {before} after {after}",
        o.fct_s, c.timeouts, c.retrans_segs, o.loss
    );
    assert!(c.timeouts >= 1, "the spike fires the RTO");
    assert!(o.loss.spurious_rtos >= 1, "found spurious: {:?}", o.loss);
    assert_eq!(o.loss.loss_undos, 0, "not by timestamps: there are none");
    assert_eq!(
        o.loss.dsack_undos, 0,
        "nor by the D-SACK of the retransmission: F-RTO knew before it came"
    );
    assert!(
        c.retrans_segs <= 2,
        "no go-back-N of the window: {} resent",
        c.retrans_segs
    );
    assert!(
        after >= before,
        "cwnd restored: {before} before, {after} after"
    );
    // The ACKs were held 350 ms; the transfer loses about that and no more
    // (the window is not rebuilt from one segment).
    assert!(
        o.fct_s <= base + 0.35 + 0.1,
        "goodput recovers: {:.3} s against {base:.3} s",
        o.fct_s
    );
}

#[test]
fn a_spurious_rto_without_timestamps_is_found_by_sack_enhanced_frto() {
    check_frto_found_the_spike(&[TIMESTAMPS]);
}

#[test]
fn a_spurious_rto_without_timestamps_or_sack_is_found_by_basic_frto() {
    check_frto_found_the_spike(&[TIMESTAMPS, SACK_PERMITTED]);
}
