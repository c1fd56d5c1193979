//! F-RTO (RFC 5682), segment by segment: one client connection driven with
//! hand-made ACKs and explicit times, timestamps off (so Eifel cannot tell), MSS
//! 1000, ISS 1000 (its data starts at 1001), the peer's window 65535.
//!
//! Each test brings the connection to the same point: 10 segments sent and
//! acknowledged 100 ms later (RTT 100 ms; slow start grows cwnd), a window more
//! sent (11001 to `high`), then silence until the retransmission timer fires.

use std::sync::Arc;

use layer4::tcp::{Connection, OpenParams, SocketOptions, State, TcpConfig};
use layer4::time::Instant;
use layer4::wire::{AddrPair, ChecksumMode, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr};

const A: &str = "10.0.0.1:40000";
const B: &str = "10.0.0.2:80";

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// A segment the client sent: its sequence number and payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    seq: u32,
    len: usize,
}

/// Everything the client sends at `now`.
fn poll_all(c: &mut Connection, now: Instant) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1600];
    let addrs = AddrPair::new(c.local().ip(), c.remote().ip()).unwrap();
    while let Some(n) = c.poll_transmit(now, &mut buf[..1480], &addrs, ChecksumMode::Enabled) {
        let packet = TcpPacket::new_checked(&buf[..n]).unwrap();
        let repr = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap();
        out.push(Sent {
            seq: repr.seq_number.0,
            len: repr.payload.len(),
        });
        assert!(out.len() < 1000, "runaway transmit loop");
    }
    out
}

/// The sequence numbers of the data segments among `sent`.
fn data(sent: &[Sent]) -> Vec<u32> {
    sent.iter().filter(|s| s.len > 0).map(|s| s.seq).collect()
}

/// A pure ACK from the peer, with SACK blocks.
fn ack(ack: u32, blocks: &[(u32, u32)]) -> TcpRepr<'static> {
    let mut options = TcpOptions::default();
    for &(a, b) in blocks {
        options.sack_ranges.push((SeqNumber(a), SeqNumber(b)));
    }
    TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq_number: SeqNumber(5001),
        ack_number: SeqNumber(ack),
        flags: TcpFlags::ACK,
        window_len: 65535,
        urgent_pointer: 0,
        options,
        payload: &[],
    }
}

/// An established client (no timestamps; SACK if `sack`) with `config`.
fn client(mut config: TcpConfig, sack: bool) -> Connection {
    config.timestamps = false;
    config.window_scaling = false;
    let config = Arc::new(config);
    let p = OpenParams {
        local: A.parse().unwrap(),
        remote: B.parse().unwrap(),
        iss: SeqNumber(1000),
        ts_offset: 0,
        path_mtu: 1500,
        options: SocketOptions::from_config(&config),
        cc: config.default_congestion_algorithm(),
    };
    let mut c = Connection::connect(t(0), config, p);
    poll_all(&mut c, t(0));
    let mut synack = ack(1001, &[]);
    synack.seq_number = SeqNumber(5000);
    synack.flags = TcpFlags::SYN | TcpFlags::ACK;
    synack.options.mss = Some(1000);
    synack.options.sack_permitted = sack;
    c.handle_segment(t(1), &synack);
    assert_eq!(c.state(), State::Established);
    poll_all(&mut c, t(1));
    c
}

/// What a test starts from: the client after the timeout, the time, and its
/// window before the timeout.
struct AfterRto {
    c: Connection,
    now: Instant,
    cwnd_before: u32,
    /// SND.MAX at the timeout: the recovery point plus one.
    high: u32,
}

/// Brings a client to the retransmission timeout (see the module docs) and
/// checks that the timeout resent the first unacknowledged segment alone.
fn after_rto(config: TcpConfig, sack: bool) -> AfterRto {
    let mut c = client(config, sack);
    c.send(&[7u8; 200_000]).unwrap();
    assert_eq!(data(&poll_all(&mut c, t(10))).len(), 10);
    c.handle_segment(t(110), &ack(11001, &[]));
    let second = data(&poll_all(&mut c, t(110)));
    let cwnd_before = c.info(t(110)).cwnd_bytes;
    assert!(cwnd_before >= 15_000, "slow start grew it: {cwnd_before}");
    assert_eq!(second.len() as u32, cwnd_before / 1000, "{second:?}");
    let mut high = second.last().unwrap() + 1000;
    // With SACK, RACK's tail loss probe goes first (one new segment, unanswered
    // too); then the retransmission timer fires.
    let mut rto = c.poll_timeout().unwrap();
    c.handle_timeout(rto);
    while c.counters().timeouts == 0 {
        for s in poll_all(&mut c, rto) {
            high = high.max(s.seq + s.len as u32);
        }
        rto = c.poll_timeout().unwrap();
        c.handle_timeout(rto);
    }
    assert_eq!(c.counters().timeouts, 1);
    assert_eq!(
        data(&poll_all(&mut c, rto)),
        vec![11001],
        "step 1: SND.UNA alone"
    );
    assert!(
        c.info(rto).cwnd_bytes <= 1000,
        "the timeout collapsed the window"
    );
    AfterRto {
        c,
        now: rto,
        cwnd_before,
        high,
    }
}

fn ms(base: Instant, n: u64) -> Instant {
    base + layer4::time::Duration::from_millis(n)
}

#[test]
fn a_spurious_timeout_without_timestamps_is_found_by_frto_and_undone() {
    let AfterRto {
        mut c,
        now,
        cwnd_before,
        high,
    } = after_rto(TcpConfig::default(), false);
    // The path only stalled: the delayed ACKs of the originals come back. The
    // first advances SND.UNA past the resent segment, short of the recovery
    // point: two new segments go out, not the rest of the window again.
    c.handle_segment(ms(now, 1), &ack(13001, &[]));
    assert_eq!(data(&poll_all(&mut c, ms(now, 1))), vec![high, high + 1000]);
    assert_eq!(c.loss_counters().spurious_rtos, 0, "not yet");
    // The second acknowledges more data that was never resent: spurious.
    c.handle_segment(ms(now, 2), &ack(15001, &[]));
    let lc = c.loss_counters();
    assert_eq!(lc.spurious_rtos, 1, "{lc:?}");
    assert_eq!((lc.loss_undos, lc.dsack_undos), (0, 0), "F-RTO, not Eifel");
    assert!(
        c.info(ms(now, 2)).cwnd_bytes >= cwnd_before,
        "cwnd restored: {} from {cwnd_before}",
        c.info(ms(now, 2)).cwnd_bytes
    );
    // What follows is new data only, and the rest of the window is not resent
    // as its ACKs come in.
    let next = data(&poll_all(&mut c, ms(now, 2)));
    assert!(
        !next.is_empty() && next.iter().all(|&s| s >= high + 2000),
        "{next:?}"
    );
    for (at, a) in (3..).zip((17001..=high).step_by(2000)) {
        c.handle_segment(ms(now, at), &ack(a, &[]));
        let sent = data(&poll_all(&mut c, ms(now, at)));
        assert!(sent.iter().all(|&s| s >= high + 2000), "{sent:?}");
    }
    assert_eq!(c.counters().retrans_segs, 1, "the timeout's one segment");
}

#[test]
fn a_duplicate_ack_after_the_new_data_means_a_real_loss_and_go_back_n_resumes() {
    let AfterRto {
        mut c, now, high, ..
    } = after_rto(TcpConfig::default(), false);
    c.handle_segment(ms(now, 1), &ack(13001, &[]));
    assert_eq!(data(&poll_all(&mut c, ms(now, 1))), vec![high, high + 1000]);
    // The new segments arrive, 13001 does not: a duplicate ACK.
    c.handle_segment(ms(now, 2), &ack(13001, &[]));
    assert_eq!(c.loss_counters().spurious_rtos, 0);
    let cwnd = c.info(ms(now, 2)).cwnd_bytes;
    assert!(cwnd <= 3000, "no more than 3 * MSS: {cwnd}");
    // The conventional recovery: resending from SND.UNA in slow start.
    let resent = data(&poll_all(&mut c, ms(now, 2)));
    assert_eq!(resent.first(), Some(&13001), "{resent:?}");
    assert!(resent.iter().all(|&s| s < high), "{resent:?}");
    assert!(c.info(ms(now, 2)).ssthresh.is_some());
}

#[test]
fn a_duplicate_ack_before_the_first_new_ack_ends_basic_frto() {
    let AfterRto {
        mut c, now, high, ..
    } = after_rto(TcpConfig::default(), false);
    // Without SACK, a duplicate ACK in step 2 reverts to the conventional
    // recovery: the next new ACK brings resends, not new data.
    c.handle_segment(ms(now, 1), &ack(11001, &[]));
    c.handle_segment(ms(now, 2), &ack(13001, &[]));
    let sent = data(&poll_all(&mut c, ms(now, 2)));
    assert_eq!(sent, vec![13001, 14001], "resent, not new");
    assert!(sent.iter().all(|&s| s < high), "{sent:?}");
    c.handle_segment(ms(now, 3), &ack(15001, &[]));
    assert_eq!(c.loss_counters().spurious_rtos, 0);
}

#[test]
fn sack_enhanced_frto_waits_through_duplicate_acks_and_finds_a_spurious_timeout_by_sack() {
    let AfterRto {
        mut c,
        now,
        cwnd_before,
        high,
    } = after_rto(TcpConfig::default(), true);
    // A duplicate ACK with a SACK before the first new ACK: step 2 waits.
    c.handle_segment(ms(now, 1), &ack(11001, &[(12001, 13001)]));
    let sent = data(&poll_all(&mut c, ms(now, 1)));
    assert!(sent.is_empty(), "{sent:?}");
    c.handle_segment(ms(now, 2), &ack(14001, &[]));
    assert_eq!(data(&poll_all(&mut c, ms(now, 2))), vec![high, high + 1000]);
    // The next ACK moves nothing cumulatively but SACKs data sent before the
    // timeout, never resent: spurious.
    c.handle_segment(ms(now, 3), &ack(14001, &[(15001, 17001)]));
    let lc = c.loss_counters();
    assert_eq!(lc.spurious_rtos, 1, "{lc:?}");
    assert!(c.info(ms(now, 3)).cwnd_bytes >= cwnd_before);
    let next = data(&poll_all(&mut c, ms(now, 3)));
    assert!(next.iter().all(|&s| s >= high + 2000), "{next:?}");
    assert_eq!(c.counters().retrans_segs, 1);
    assert_eq!(c.loss_counters().loss_probes, 1);
}

#[test]
fn sack_enhanced_frto_takes_a_sack_of_only_the_new_data_as_a_real_loss() {
    let AfterRto {
        mut c, now, high, ..
    } = after_rto(TcpConfig::default(), true);
    c.handle_segment(ms(now, 1), &ack(13001, &[]));
    assert_eq!(data(&poll_all(&mut c, ms(now, 1))), vec![high, high + 1000]);
    // The new data arrives and is SACKed above the recovery point; what was
    // sent before the timeout from 13001 on did not arrive.
    c.handle_segment(ms(now, 2), &ack(13001, &[(high, high + 1000)]));
    assert_eq!(c.loss_counters().spurious_rtos, 0);
    let resent = data(&poll_all(&mut c, ms(now, 2)));
    assert_eq!(resent.first(), Some(&13001), "{resent:?}");
    assert!(resent.iter().all(|&s| s < high), "{resent:?}");
}

#[test]
fn with_frto_off_a_timeout_resends_the_window_and_is_not_found_spurious() {
    let config = TcpConfig {
        frto: false,
        ..TcpConfig::default()
    };
    let AfterRto { mut c, now, .. } = after_rto(config, false);
    // The same delayed ACKs: go-back-N resends what they leave unacknowledged.
    c.handle_segment(ms(now, 1), &ack(13001, &[]));
    assert_eq!(data(&poll_all(&mut c, ms(now, 1))), vec![13001, 14001]);
    c.handle_segment(ms(now, 2), &ack(15001, &[]));
    let resent = data(&poll_all(&mut c, ms(now, 2)));
    assert_eq!(resent.first(), Some(&15001), "{resent:?}");
    assert_eq!(c.loss_counters().spurious_rtos, 0);
    assert!(c.counters().retrans_segs >= 3);
}

#[test]
fn a_timeout_that_recurs_before_the_first_ack_starts_frto_again() {
    let AfterRto {
        mut c,
        now,
        cwnd_before,
        high,
    } = after_rto(TcpConfig::default(), false);
    // Still nothing: the timer fires again (backed off) and resends SND.UNA.
    let again = c.poll_timeout().unwrap();
    assert!(again > now);
    c.handle_timeout(again);
    assert_eq!(c.counters().timeouts, 2);
    assert_eq!(data(&poll_all(&mut c, again)), vec![11001]);
    // Then the delayed ACKs of the originals: F-RTO runs as after one timeout.
    c.handle_segment(ms(again, 1), &ack(13001, &[]));
    assert_eq!(
        data(&poll_all(&mut c, ms(again, 1))),
        vec![high, high + 1000]
    );
    c.handle_segment(ms(again, 2), &ack(15001, &[]));
    assert_eq!(c.loss_counters().spurious_rtos, 1);
    assert!(c.info(ms(again, 2)).cwnd_bytes >= cwnd_before);
    assert_eq!(c.counters().retrans_segs, 2);
}
