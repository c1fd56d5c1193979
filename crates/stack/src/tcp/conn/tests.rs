//! Segment-level tests: one or two connections driven with explicit segments and
//! timestamps, named after the behaviour they show.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::*;
use crate::tcp::config::TcpConfig;
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};
use crate::wire::{
    AddrPair, ChecksumMode, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr, TcpTimestamp,
};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

fn params(local: SocketAddr, remote: SocketAddr, iss: u32, config: &TcpConfig) -> OpenParams {
    OpenParams {
        local,
        remote,
        iss: SeqNumber(iss),
        ts_offset: 1000,
        path_mtu: 1500,
        options: SocketOptions::from_config(config),
        cc: config.default_congestion_algorithm(),
    }
}

/// A segment as it left a connection, owned.
#[derive(Debug, Clone)]
pub(super) struct Seg {
    pub(super) bytes: Vec<u8>,
    pub(super) from: SocketAddr,
    pub(super) to: SocketAddr,
}

impl Seg {
    pub(super) fn repr(&self) -> TcpRepr<'_> {
        let addrs = AddrPair::new(self.from.ip(), self.to.ip()).unwrap();
        let packet = TcpPacket::new_checked(&self.bytes[..]).unwrap();
        TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap()
    }
}

fn poll(conn: &mut Connection, now: Instant) -> Option<Seg> {
    let mut buf = [0u8; 1600];
    let addrs = AddrPair::new(conn.local().ip(), conn.remote().ip()).unwrap();
    let n = conn.poll_transmit(now, &mut buf[..1480], &addrs, ChecksumMode::Enabled)?;
    Some(Seg {
        bytes: buf[..n].to_vec(),
        from: conn.local(),
        to: conn.remote(),
    })
}

pub(super) fn poll_all(conn: &mut Connection, now: Instant) -> Vec<Seg> {
    let mut out = Vec::new();
    while let Some(s) = poll(conn, now) {
        out.push(s);
        assert!(out.len() < 10_000, "runaway transmit loop");
    }
    out
}

/// A handshake between a client and a server connection; returns both established.
pub(super) fn pair(config: TcpConfig) -> (Connection, Connection) {
    pair_between(A, B, config)
}

/// [`pair`] between the client's address `a` and the server's `b`.
pub(super) fn pair_between(
    a: SocketAddr,
    b: SocketAddr,
    config: TcpConfig,
) -> (Connection, Connection) {
    let config = Arc::new(config);
    let now = t(0);
    let mut client = Connection::connect(now, config.clone(), params(a, b, 1000, &config));
    let syn = poll(&mut client, now).expect("SYN");
    let syn_repr = syn.repr();
    assert_eq!(syn_repr.flags, TcpFlags::SYN);
    let mut server = Connection::accept(
        now,
        config.clone(),
        params(b, a, 5000, &config),
        &SynInfo::from_repr(&syn_repr),
    );
    let synack = poll(&mut server, t(1)).expect("SYN-ACK");
    assert_eq!(synack.repr().flags, TcpFlags::SYN | TcpFlags::ACK);
    client.handle_segment(t(2), &synack.repr());
    assert_eq!(client.state(), State::Established);
    let ack = poll(&mut client, t(2)).expect("ACK");
    server.handle_segment(t(3), &ack.repr());
    assert_eq!(server.state(), State::Established);
    (client, server)
}

/// Moves segments both ways until both sides are quiet; returns the count moved.
pub(super) fn exchange(a: &mut Connection, b: &mut Connection, now: Instant) -> usize {
    let mut moved = 0;
    loop {
        let from_a = poll_all(a, now);
        let from_b = poll_all(b, now);
        if from_a.is_empty() && from_b.is_empty() {
            return moved;
        }
        moved += from_a.len() + from_b.len();
        for s in &from_a {
            b.handle_segment(now, &s.repr());
        }
        for s in &from_b {
            a.handle_segment(now, &s.repr());
        }
        assert!(moved < 1_000_000);
    }
}

#[test]
fn three_way_handshake_negotiates_options() {
    let (mut client, server) = pair(TcpConfig::default());
    let ci = client.info(t(3));
    let si = server.info(t(3));
    assert!(ci.timestamps && si.timestamps);
    assert!(ci.sack && si.sack);
    // 256 KiB buffers need a shift of 3.
    assert_eq!(ci.wscale, Some((3, 3)));
    // 1500 - 20 - 20 - 12 bytes of timestamp option.
    assert_eq!(client.mss(), 1448);
    assert!(client.take_events().contains(ConnEvents::CONNECTED));
}

#[test]
fn syn_carries_mss_wscale_sack_and_timestamp() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1, &config));
    let syn = poll(&mut c, t(0)).unwrap();
    let r = syn.repr();
    assert_eq!(r.options.mss, Some(1460));
    assert_eq!(r.options.window_scale, Some(3));
    assert!(r.options.sack_permitted);
    assert_eq!(r.options.timestamp.map(|t| t.tsecr), Some(0));
    assert_eq!(r.window_len, 65535);
}

#[test]
fn missing_mss_option_defaults_to_536_for_ipv4() {
    let config = Arc::new(TcpConfig::default());
    let syn = SynInfo {
        seq: SeqNumber(7),
        window: 8192,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        tsval: None,
        ecn_setup: false,
        accecn_setup: false,
        ip_ecn: crate::wire::Ecn::NotEct,
    };
    let s = Connection::accept(t(0), config.clone(), params(B, A, 1, &config), &syn);
    assert_eq!(s.mss(), 536);
}

#[test]
fn data_flows_both_ways_and_is_acknowledged() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut now = t(10);
    while got.len() < data.len() {
        if sent < data.len() {
            sent += c.send(&data[sent..]).unwrap_or(0);
        }
        exchange(&mut c, &mut s, now);
        let mut buf = [0u8; 8192];
        while let Ok(n) = s.recv(now, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        now += Duration::from_millis(50);
        c.handle_timeout(now);
        s.handle_timeout(now);
    }
    assert_eq!(got, data);
    exchange(&mut c, &mut s, now);
    assert_eq!(c.send_queue(), 0);
    assert_eq!(c.info(now).bytes_acked, data.len() as u64);
}

/// `tcp_info`'s delivery rate is the bytes the timed segment's round trip
/// delivered over that round trip (kept as the sample, divided when read).
#[test]
fn delivery_rate_is_the_timed_round_trips_bytes_over_its_time() {
    let (mut c, mut s) = pair(TcpConfig::default());
    assert_eq!(c.info(t(3)).delivery_rate, 0, "no data timed yet");
    assert_eq!(c.send(&[7u8; 1000]).unwrap(), 1000);
    let data = poll_all(&mut c, t(10));
    assert_eq!(data.len(), 1);
    s.handle_segment(t(10), &data[0].repr());
    let mut acks = poll_all(&mut s, t(10));
    if acks.is_empty() {
        // A delayed ACK: its time at the server does not matter here.
        s.handle_timeout(t(600));
        acks = poll_all(&mut s, t(600));
    }
    assert_eq!(acks.len(), 1);
    // 40 ms after the data left: 1000 bytes / 0.04 s.
    c.handle_segment(t(50), &acks[0].repr());
    assert_eq!(c.info(t(50)).bytes_acked, 1000);
    assert_eq!(c.info(t(50)).delivery_rate, 25_000);
}

#[test]
fn orderly_close_goes_through_fin_wait_and_time_wait() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.close(t(10));
    assert_eq!(c.state(), State::FinWait1);
    let fin = poll(&mut c, t(10)).unwrap();
    assert!(fin.repr().flags.contains(TcpFlags::FIN));
    s.handle_segment(t(11), &fin.repr());
    assert_eq!(s.state(), State::CloseWait);
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(t(11), &mut buf), Ok(0), "end of stream");
    let ack = poll(&mut s, t(11)).unwrap();
    c.handle_segment(t(12), &ack.repr());
    assert_eq!(c.state(), State::FinWait2);
    s.close(t(13));
    assert_eq!(s.state(), State::LastAck);
    let fin2 = poll(&mut s, t(13)).unwrap();
    c.handle_segment(t(14), &fin2.repr());
    assert_eq!(c.state(), State::TimeWait);
    let last = poll(&mut c, t(14)).unwrap();
    s.handle_segment(t(15), &last.repr());
    assert_eq!(s.state(), State::Closed);
    // TIME-WAIT lasts 2 MSL (60 s by default).
    c.handle_timeout(t(14) + Duration::from_secs(59));
    assert_eq!(c.state(), State::TimeWait);
    c.handle_timeout(t(14) + Duration::from_secs(60));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn simultaneous_close_passes_through_closing() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.close(t(10));
    s.close(t(10));
    let fc = poll(&mut c, t(10)).unwrap();
    let fs = poll(&mut s, t(10)).unwrap();
    c.handle_segment(t(11), &fs.repr());
    s.handle_segment(t(11), &fc.repr());
    assert_eq!(c.state(), State::Closing);
    assert_eq!(s.state(), State::Closing);
    exchange(&mut c, &mut s, t(12));
    assert_eq!(c.state(), State::TimeWait);
    assert_eq!(s.state(), State::TimeWait);
}

/// Two active opens whose SYNs crossed: both in SYN-RECEIVED at t(1), their
/// SYN-ACKs not yet sent.
fn simultaneous_syns() -> (Connection, Connection) {
    let config = Arc::new(TcpConfig::default());
    let mut a = Connection::connect(t(0), config.clone(), params(A, B, 100, &config));
    let mut b = Connection::connect(t(0), config.clone(), params(B, A, 900, &config));
    let sa = poll(&mut a, t(0)).unwrap();
    let sb = poll(&mut b, t(0)).unwrap();
    a.handle_segment(t(1), &sb.repr());
    b.handle_segment(t(1), &sa.repr());
    (a, b)
}

#[test]
fn simultaneous_open_reaches_established() {
    let (mut a, mut b) = simultaneous_syns();
    assert_eq!(a.state(), State::SynReceived);
    assert_eq!(b.state(), State::SynReceived);
    exchange(&mut a, &mut b, t(2));
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
}

#[test]
fn half_close_lets_the_other_side_keep_sending() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.shutdown_write(t(10));
    exchange(&mut c, &mut s, t(10));
    assert_eq!(c.state(), State::FinWait2);
    assert_eq!(s.state(), State::CloseWait);
    assert_eq!(s.send(b"still talking"), Ok(13));
    exchange(&mut c, &mut s, t(11));
    let mut buf = [0u8; 64];
    assert_eq!(c.recv(t(11), &mut buf), Ok(13));
    assert_eq!(&buf[..13], b"still talking");
}

#[test]
fn rst_in_syn_sent_with_acceptable_ack_is_refused() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let _syn = poll(&mut c, t(0)).unwrap();
    let rst = TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq_number: SeqNumber(0),
        ack_number: SeqNumber(1001),
        flags: TcpFlags::RST | TcpFlags::ACK,
        window_len: 0,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    c.handle_segment(t(1), &rst);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.error(), Some(TcpError::Refused));
}

fn segment(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq_number: SeqNumber(seq),
        ack_number: SeqNumber(ack),
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload,
    }
}

/// A client connection established against a hand-driven peer without options:
/// the peer's ISS is 5000 and ours 1000.
fn client_plain() -> Connection {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let _syn = poll(&mut c, t(0)).unwrap();
    let mut synack = segment(5000, 1001, TcpFlags::SYN | TcpFlags::ACK, &[]);
    synack.options.mss = Some(1000);
    c.handle_segment(t(1), &synack);
    assert_eq!(c.state(), State::Established);
    let _ack = poll(&mut c, t(1)).unwrap();
    c.take_events();
    c
}

#[test]
fn rst_with_exact_sequence_resets_connection() {
    let mut c = client_plain();
    c.handle_segment(t(2), &segment(5001, 0, TcpFlags::RST, &[]));
    assert_eq!(c.error(), Some(TcpError::Reset));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn rst_in_close_wait_is_its_own_error() {
    // Linux's `tcp_reset`: `EPIPE` in CLOSE-WAIT, where the peer had closed.
    let mut c = client_plain();
    c.handle_segment(
        t(2),
        &segment(5001, 1001, TcpFlags::FIN | TcpFlags::ACK, &[]),
    );
    assert_eq!(c.state(), State::CloseWait);
    c.handle_segment(t(3), &segment(5002, 0, TcpFlags::RST, &[]));
    assert_eq!(c.error(), Some(TcpError::ResetInCloseWait));
    assert_eq!(c.state(), State::Closed);
    // The stream ended with the FIN; sending fails with the error.
    assert_eq!(c.recv(t(3), &mut [0u8; 8]), Ok(0));
    assert_eq!(
        c.send(b"late"),
        Err(UserError::Failed(TcpError::ResetInCloseWait))
    );
}

#[test]
fn rst_in_window_but_not_exact_draws_challenge_ack() {
    let mut c = client_plain();
    c.handle_segment(t(2), &segment(5100, 0, TcpFlags::RST, &[]));
    assert_eq!(c.state(), State::Established);
    let ack = poll(&mut c, t(2)).expect("challenge ACK");
    let r = ack.repr();
    assert_eq!(r.flags, TcpFlags::ACK);
    assert_eq!(r.ack_number, SeqNumber(5001));
    assert_eq!(c.counters().challenge_acks, 1);
}

#[test]
fn challenge_acks_are_rate_limited_per_connection() {
    let mut c = client_plain();
    for i in 0..10 {
        c.handle_segment(t(2 + i), &segment(5100, 0, TcpFlags::RST, &[]));
    }
    assert_eq!(poll_all(&mut c, t(20)).len(), 1);
    assert_eq!(c.counters().invalid_answers_limited, 9);
    c.handle_segment(t(600), &segment(5100, 0, TcpFlags::RST, &[]));
    assert_eq!(poll_all(&mut c, t(600)).len(), 1);
}

#[test]
fn syn_in_established_draws_challenge_ack() {
    let mut c = client_plain();
    c.handle_segment(t(2), &segment(9999, 0, TcpFlags::SYN, &[]));
    assert_eq!(c.state(), State::Established);
    let r = poll(&mut c, t(2)).expect("challenge ACK");
    assert_eq!(r.repr().ack_number, SeqNumber(5001));
}

#[test]
fn rst_outside_window_is_ignored() {
    let mut c = client_plain();
    c.handle_segment(t(2), &segment(5001 + 10_000_000, 0, TcpFlags::RST, &[]));
    assert_eq!(c.state(), State::Established);
    assert!(poll(&mut c, t(2)).is_none());
}

#[test]
fn ack_for_unsent_data_is_dropped_and_answered() {
    let mut c = client_plain();
    c.handle_segment(t(2), &segment(5001, 9000, TcpFlags::ACK, b"xyz"));
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(t(2), &mut buf), Err(UserError::WouldBlock));
    let r = poll(&mut c, t(2)).expect("ACK");
    assert_eq!(r.repr().ack_number, SeqNumber(5001));
}

#[test]
fn out_of_order_data_is_acked_at_once_with_sack() {
    let config = TcpConfig::default();
    let (mut c, mut s) = pair(config);
    // Segment 2 of 2 arrives first.
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    c.send(&[1u8; 2000]).unwrap();
    let segs = poll_all(&mut c, t(10));
    assert_eq!(segs.len(), 2);
    s.handle_segment(t(11), &segs[1].repr());
    let ack = poll(&mut s, t(11)).expect("immediate ACK");
    let r = ack.repr();
    assert_eq!(r.options.sack_ranges.len(), 1);
    let (start, end) = r.options.sack_ranges.as_slice()[0];
    assert_eq!(end - start, 2000 - 1448);
    s.handle_segment(t(12), &segs[0].repr());
    let mut buf = [0u8; 4096];
    assert_eq!(s.recv(t(12), &mut buf), Ok(2000));
}

#[test]
fn duplicate_segment_is_reported_with_dsack() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"hello").unwrap();
    let seg = poll(&mut c, t(10)).unwrap();
    s.handle_segment(t(11), &seg.repr());
    let _ = poll_all(&mut s, t(60));
    s.handle_segment(t(70), &seg.repr());
    let ack = poll(&mut s, t(70)).expect("ACK for duplicate");
    let r = ack.repr();
    let blocks = r.options.sack_ranges.as_slice();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].1 - blocks[0].0, 5);
    assert!(
        blocks[0].1 <= r.ack_number,
        "D-SACK block lies below the ACK"
    );
}

#[test]
fn delayed_ack_fires_within_its_timeout() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    // Use up the quick-ACK allowance.
    for _ in 0..20 {
        c.send(b"x").unwrap();
        exchange(&mut c, &mut s, t(10));
    }
    s.handle_timeout(t(19));
    exchange(&mut c, &mut s, t(19));
    c.send(b"y").unwrap();
    let seg = poll(&mut c, t(20)).unwrap();
    s.handle_segment(t(20), &seg.repr());
    assert!(poll(&mut s, t(20)).is_none(), "ACK is delayed");
    let at = s.poll_timeout().unwrap();
    assert!(at <= t(20) + Duration::from_millis(40));
    s.handle_timeout(at);
    assert!(poll(&mut s, at).is_some());
}

#[test]
fn nagle_holds_small_segments_while_data_is_unacked() {
    let (mut c, _s) = pair(TcpConfig::default());
    c.send(b"a").unwrap();
    assert!(poll(&mut c, t(10)).is_some());
    c.send(b"b").unwrap();
    assert!(poll(&mut c, t(10)).is_none(), "Nagle holds the second byte");
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    assert!(poll(&mut c, t(10)).is_some(), "no-delay sends it");
}

#[test]
fn retransmission_timeout_resends_and_backs_off() {
    let mut c = client_plain();
    c.send(b"lost").unwrap();
    let first = poll(&mut c, t(10)).unwrap();
    let rto1 = c.poll_timeout().unwrap();
    c.handle_timeout(rto1);
    let again = poll(&mut c, rto1).expect("retransmission");
    assert_eq!(first.repr().seq_number, again.repr().seq_number);
    assert_eq!(again.repr().payload, b"lost");
    let rto2 = c.poll_timeout().unwrap();
    assert!(rto2 - rto1 >= (rto1 - t(10)) * 2 - Duration::from_millis(1));
    assert_eq!(c.info(rto1).retransmits, 1);
}

#[test]
fn retries2_exhausted_times_out() {
    let mut c = client_plain();
    c.send(b"void").unwrap();
    let _ = poll(&mut c, t(10));
    for _ in 0..100 {
        let Some(at) = c.poll_timeout() else { break };
        c.handle_timeout(at);
        let _ = poll_all(&mut c, at);
        if c.state() == State::Closed {
            break;
        }
    }
    assert_eq!(c.error(), Some(TcpError::TimedOut));
    assert_eq!(c.counters().timeouts, 16);
}

#[test]
fn user_timeout_aborts_sooner_than_r2() {
    let mut c = client_plain();
    c.set_user_timeout(Some(Duration::from_secs(2)));
    c.send(b"void").unwrap();
    let _ = poll(&mut c, t(10));
    let mut last = t(10);
    while c.state() != State::Closed {
        let at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
        let _ = poll_all(&mut c, at);
        last = at;
    }
    assert_eq!(c.error(), Some(TcpError::TimedOut));
    assert!(last < t(10) + Duration::from_secs(5));
}

#[test]
fn syn_retries_exhausted_times_out_connect() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1, &config));
    let mut syns = 0;
    while c.state() != State::Closed {
        syns += poll_all(&mut c, t(0)).len();
        let at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
    }
    assert_eq!(syns, 8, "one SYN and seven retries");
    assert_eq!(c.error(), Some(TcpError::TimedOut));
}

#[test]
fn three_duplicate_acks_trigger_fast_retransmit() {
    let mut c = client_plain();
    c.send(&[9u8; 5000]).unwrap();
    let segs = poll_all(&mut c, t(10));
    assert_eq!(segs.len(), 5);
    for i in 0..3 {
        c.handle_segment(t(11 + i), &segment(5001, 1001, TcpFlags::ACK, &[]));
    }
    let r = poll(&mut c, t(14)).expect("fast retransmit");
    assert_eq!(r.repr().seq_number, SeqNumber(1001));
    assert_eq!(c.counters().fast_retransmits, 1);
}

#[test]
fn ack_of_everything_sent_before_fast_retransmit_ends_recovery_without_resending() {
    let mut c = client_plain();
    c.send(&[9u8; 5000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 5, "1001..6001 in flight");
    // 1001 is lost: three duplicate ACKs, the fast retransmit, then a fourth
    // duplicate ACK inflates the window so that one new segment goes out.
    for i in 0..3 {
        c.handle_segment(t(11 + i), &segment(5001, 1001, TcpFlags::ACK, &[]));
    }
    let r = poll(&mut c, t(14)).expect("fast retransmit");
    assert_eq!(r.repr().seq_number, SeqNumber(1001));
    c.handle_segment(t(15), &segment(5001, 1001, TcpFlags::ACK, &[]));
    c.send(&[7u8; 1000]).unwrap();
    let new = poll_all(&mut c, t(15));
    assert_eq!(new.len(), 1);
    assert_eq!(
        new[0].repr().seq_number,
        SeqNumber(6001),
        "new data in recovery"
    );
    // The retransmission arrives: the peer acknowledges everything sent before
    // recovery began (up to and including `recover`, the highest sequence number
    // sent then, 6000). That is a full acknowledgment, not a partial one: 6001
    // must not be resent.
    c.handle_segment(t(30), &segment(5001, 6001, TcpFlags::ACK, &[]));
    let after = poll_all(&mut c, t(30));
    assert!(
        after.iter().all(|s| s.repr().seq_number != SeqNumber(6001)),
        "6001 resent after a full ACK: {:?}",
        after
            .iter()
            .map(|s| s.repr().seq_number)
            .collect::<Vec<_>>()
    );
    assert_eq!(c.counters().retrans_segs, 1, "only the fast retransmit");
    // Out of recovery: cwnd deflated to at most ssthresh (2 500 bytes).
    assert!(
        c.info(t(30)).cwnd_bytes <= 2500,
        "{}",
        c.info(t(30)).cwnd_bytes
    );
}

#[test]
fn zero_window_is_probed_and_may_stay_closed() {
    let mut c = client_plain();
    let mut zero = segment(5001, 1001, TcpFlags::ACK, &[]);
    zero.window_len = 0;
    c.handle_segment(t(2), &zero);
    c.send(b"waiting").unwrap();
    assert!(poll(&mut c, t(3)).is_none());
    for i in 0..30 {
        let at = c.poll_timeout().expect("persist timer");
        c.handle_timeout(at);
        let probe = poll(&mut c, at).expect("window probe");
        assert_eq!(probe.repr().seq_number, SeqNumber(1000));
        // The peer answers, window still zero: the connection lives on.
        let mut answer = segment(5001, 1001, TcpFlags::ACK, &[]);
        answer.window_len = 0;
        c.handle_segment(at, &answer);
        assert_eq!(c.state(), State::Established, "probe {i}");
    }
    let open = segment(5001, 1001, TcpFlags::ACK, &[]);
    c.handle_segment(t(10_000_000), &open);
    let data = poll(&mut c, t(10_000_000)).unwrap();
    assert_eq!(data.repr().payload, b"waiting");
}

#[test]
fn keepalive_probes_then_gives_up() {
    let config = TcpConfig {
        keepalive: Some(crate::tcp::config::KeepAlive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            probes: 3,
        }),
        ..TcpConfig::default()
    };
    let (mut c, _s) = pair(config);
    let mut probes = 0;
    while c.state() != State::Closed {
        let at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
        for s in poll_all(&mut c, at) {
            if s.repr().flags == TcpFlags::ACK {
                probes += 1;
            }
        }
    }
    assert_eq!(probes, 3);
    assert_eq!(c.error(), Some(TcpError::TimedOut));
}

#[test]
fn paws_drops_old_timestamps() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"one").unwrap();
    let seg = poll(&mut c, t(1000)).unwrap();
    s.handle_segment(t(1000), &seg.repr());
    // A segment whose TSval is older than TS.Recent.
    let mut old = seg.repr();
    old.seq_number += 3u32;
    old.options.timestamp = Some(TcpTimestamp {
        tsval: old.options.timestamp.unwrap().tsval - 100,
        tsecr: 0,
    });
    s.handle_segment(t(1001), &old);
    assert_eq!(s.counters().paws_drops, 1);
}

#[test]
fn close_with_unread_data_sends_rst() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"unread").unwrap();
    exchange(&mut c, &mut s, t(10));
    s.close(t(11));
    let rst = poll(&mut s, t(11)).unwrap();
    assert!(rst.repr().flags.contains(TcpFlags::RST));
    c.handle_segment(t(12), &rst.repr());
    assert_eq!(c.error(), Some(TcpError::Reset));
}

#[test]
fn close_with_unread_data_in_last_ack_sends_rst_so_a_peer_that_lost_our_data_hears_of_it() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"unread").unwrap();
    c.shutdown_write(t(10));
    exchange(&mut c, &mut s, t(10));
    assert_eq!((c.state(), s.state()), (State::FinWait2, State::CloseWait));
    // The server answers and shuts down writing; its data and FIN are lost.
    s.send(&[7u8; 537]).unwrap();
    s.shutdown_write(t(11));
    assert_eq!(s.state(), State::LastAck);
    assert!(!poll_all(&mut s, t(11)).is_empty());
    // Closed with "unread" unread: Linux's tcp_close resets here too.
    s.close(t(12));
    assert_eq!(s.state(), State::Closed);
    let rst = poll(&mut s, t(12)).expect("a RST, not a silent delete");
    let r = rst.repr();
    assert!(r.flags.contains(TcpFlags::RST));
    // Past the client's RCV.NXT (the lost data): a challenge ACK, whose
    // acknowledgment number a stack with no connection resets exactly
    // (RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>).
    c.handle_segment(t(13), &r);
    assert_eq!(c.error(), None);
    let challenge = poll(&mut c, t(13))
        .expect("challenge ACK")
        .repr()
        .ack_number;
    let reply = segment(challenge.0, 0, TcpFlags::RST, &[]);
    c.handle_segment(t(14), &reply);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.error(), Some(TcpError::Reset));
}

#[test]
fn abort_sends_rst_and_closes() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.abort();
    assert_eq!(c.state(), State::Closed);
    let rst = poll(&mut c, t(10)).unwrap();
    s.handle_segment(t(11), &rst.repr());
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), Some(TcpError::Reset));
}

#[test]
fn path_mtu_drop_shrinks_segments() {
    let (mut c, _s) = pair(TcpConfig::default());
    assert!(c.on_path_mtu(1280));
    assert_eq!(c.mss(), 1280 - 20 - 20 - 12);
    assert!(!c.on_path_mtu(1400), "increases are ignored");
}

#[test]
fn urgent_data_sets_pointer_past_last_urgent_byte() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"abc").unwrap();
    c.send_urgent(b"!").unwrap();
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    let seg = poll(&mut c, t(10)).unwrap();
    let r = seg.repr();
    assert!(r.flags.contains(TcpFlags::URG));
    assert_eq!(r.urgent_pointer, 4);
    s.handle_segment(t(11), &r);
    assert_eq!(s.urgent_mark(), Some(4));
    let mut buf = [0u8; 8];
    assert_eq!(s.recv(t(11), &mut buf), Ok(4));
    assert_eq!(s.urgent_mark(), None);
}

#[test]
fn missing_mss_option_defaults_to_1220_for_ipv6() {
    let config = Arc::new(TcpConfig::default());
    let a6 = SocketAddr::new(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 40000);
    let b6 = SocketAddr::new(
        IpAddr::V6(core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
        80,
    );
    let syn = SynInfo {
        seq: SeqNumber(7),
        window: 8192,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        tsval: None,
        ecn_setup: false,
        accecn_setup: false,
        ip_ecn: crate::wire::Ecn::NotEct,
    };
    let s = Connection::accept(t(0), config.clone(), params(b6, a6, 1, &config), &syn);
    assert_eq!(s.mss(), 1220);
}

#[test]
fn mss_option_is_sent_only_in_syn_segments() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(b"data").unwrap();
    let data = poll(&mut c, t(10)).expect("data segment");
    assert_eq!(data.repr().payload, b"data");
    assert_eq!(data.repr().options.mss, None);
    s.handle_segment(t(11), &data.repr());
    s.send(b"reply").unwrap();
    for seg in poll_all(&mut s, t(11)) {
        assert_eq!(seg.repr().options.mss, None);
    }
}

#[test]
fn push_is_set_on_the_last_segment_of_a_write() {
    let mut c = client_plain();
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(2), o);
    c.send(&[5u8; 2500]).unwrap();
    let segs = poll_all(&mut c, t(2));
    let lens: Vec<usize> = segs.iter().map(|s| s.repr().payload.len()).collect();
    assert_eq!(lens, [1000, 1000, 500]);
    let push: Vec<bool> = segs
        .iter()
        .map(|s| s.repr().flags.contains(TcpFlags::PSH))
        .collect();
    assert_eq!(push, [false, false, true]);
}

#[test]
fn icmp_errors_do_not_abort_an_established_connection() {
    let mut c = client_plain();
    c.handle_icmp(IcmpNotice::Unreachable);
    c.handle_icmp(IcmpNotice::Transient);
    c.handle_icmp(IcmpNotice::Refused);
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.error(), None);
    assert_eq!(c.send(b"still"), Ok(5));
}

#[test]
fn keepalive_is_off_by_default() {
    let mut c = client_plain();
    assert_eq!(c.options().keepalive, None);
    assert_eq!(
        c.poll_timeout(),
        None,
        "no timer runs on an idle connection"
    );
    let later = t(3 * 60 * 60 * 1000);
    c.handle_timeout(later);
    assert!(poll(&mut c, later).is_none(), "no keep-alive probe");
    assert_eq!(c.state(), State::Established);
}

#[test]
fn rst_is_processed_when_the_receive_window_is_zero() {
    let config = TcpConfig {
        recv_buffer: 4096,
        ..TcpConfig::default()
    };
    let (mut c, mut s) = pair(config);
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    assert_eq!(c.send(&[3u8; 4096]), Ok(4096));
    exchange(&mut c, &mut s, t(10));
    assert_eq!(s.recv_queue(), 4096);
    assert_eq!(s.rcv_wnd(), 0, "the receive window is closed");
    c.abort();
    let rst = poll(&mut c, t(11)).expect("RST");
    s.handle_segment(t(12), &rst.repr());
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), Some(TcpError::Reset));
}

#[test]
fn window_shrunk_to_zero_under_flight_is_probed_by_retransmissions() {
    let mut c = client_plain();
    c.send(b"in flight").unwrap();
    let _ = poll(&mut c, t(10)).unwrap();
    // The peer takes nothing and closes its window.
    let mut zero = segment(5001, 1001, TcpFlags::ACK, &[]);
    zero.window_len = 0;
    c.handle_segment(t(11), &zero);
    for _ in 0..40 {
        let at = c.poll_timeout().expect("retransmission timer");
        c.handle_timeout(at);
        let seg = poll(&mut c, at).expect("a probe goes despite the zero window");
        assert_eq!(seg.repr().seq_number, SeqNumber(1001));
        let mut answer = segment(5001, 1001, TcpFlags::ACK, &[]);
        answer.window_len = 0;
        c.handle_segment(at, &answer);
    }
    assert_eq!(
        c.state(),
        State::Established,
        "an answering peer keeps it alive"
    );
}

#[test]
fn retransmitted_syn_in_syn_received_resends_syn_ack() {
    let config = Arc::new(TcpConfig::default());
    let mut syn = segment(7000, 0, TcpFlags::SYN, &[]);
    syn.options.mss = Some(1000);
    let mut s = Connection::accept(
        t(0),
        config.clone(),
        params(B, A, 300, &config),
        &SynInfo::from_repr(&syn),
    );
    let first = poll(&mut s, t(0)).unwrap();
    assert_eq!(first.repr().flags, TcpFlags::SYN | TcpFlags::ACK);
    s.handle_segment(t(5), &syn);
    let again = poll(&mut s, t(5)).expect("SYN-ACK again");
    assert_eq!(again.repr().flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(again.repr().seq_number, SeqNumber(300));
}

#[test]
fn rst_in_syn_received_drops_a_passive_open_quietly_and_refuses_an_active_one() {
    let config = Arc::new(TcpConfig::default());
    // Passive: the half-open connection goes without an error; the listener (the
    // stack's) is untouched, so it is back to listening.
    let syn = segment(7000, 0, TcpFlags::SYN, &[]);
    let mut s = Connection::accept(
        t(0),
        config.clone(),
        params(B, A, 300, &config),
        &SynInfo::from_repr(&syn),
    );
    assert!(s.is_passive());
    let _synack = poll(&mut s, t(0)).unwrap();
    s.take_events();
    s.handle_segment(t(1), &segment(7001, 0, TcpFlags::RST, &[]));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), None);
    assert!(!s.take_events().contains(ConnEvents::ERROR));
    // Active (simultaneous open): the connection was never a listener's, so the
    // RST refuses it.
    let mut a = Connection::connect(t(0), config.clone(), params(A, B, 100, &config));
    let _syn = poll(&mut a, t(0)).unwrap();
    a.handle_segment(t(1), &segment(900, 0, TcpFlags::SYN, &[]));
    assert_eq!(a.state(), State::SynReceived);
    let _synack = poll(&mut a, t(1)).unwrap();
    a.handle_segment(t(2), &segment(901, 0, TcpFlags::RST, &[]));
    assert_eq!(a.state(), State::Closed);
    assert_eq!(a.error(), Some(TcpError::Refused));
}

#[test]
fn ack_of_a_retransmitted_segment_gives_no_rtt_sample_without_timestamps() {
    let mut c = client_plain();
    let before = c.info(t(5)).rtt;
    assert_eq!(
        before,
        Some(Duration::from_millis(1)),
        "the handshake's sample"
    );
    c.send(b"once").unwrap();
    let _ = poll(&mut c, t(10)).unwrap();
    let at = c.poll_timeout().unwrap();
    c.handle_timeout(at);
    let again = poll(&mut c, at).expect("retransmission");
    assert_eq!(again.repr().seq_number, SeqNumber(1001));
    // The ACK could answer either copy: Karn's algorithm takes no sample from it.
    let late = at + Duration::from_millis(5);
    c.handle_segment(late, &segment(5001, 1005, TcpFlags::ACK, &[]));
    assert_eq!(c.send_queue(), 0);
    assert_eq!(c.info(late).rtt, before, "no sample from an ambiguous ACK");
    // A segment sent once is timed again.
    c.send(b"twice").unwrap();
    let _ = poll(&mut c, t(2000)).unwrap();
    c.handle_segment(t(2050), &segment(5001, 1010, TcpFlags::ACK, &[]));
    let after = c.info(t(2050)).rtt.unwrap();
    assert!(
        after > before.unwrap(),
        "the 50 ms sample moved SRTT: {after:?}"
    );
}

#[test]
fn keepalive_is_sent_only_after_an_idle_interval_with_nothing_outstanding() {
    let config = TcpConfig {
        keepalive: Some(crate::tcp::config::KeepAlive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            probes: 3,
        }),
        ..TcpConfig::default()
    };
    let (mut c, mut s) = pair(config);
    // Data arrives 5 s in: the idle interval starts again.
    s.send(b"hi").unwrap();
    let d = poll(&mut s, t(5000)).unwrap();
    c.handle_segment(t(5000), &d.repr());
    let _ = poll_all(&mut c, t(5000));
    c.handle_timeout(t(10_002));
    let _ = poll_all(&mut c, t(10_002));
    assert_eq!(c.counters().keepalive_probes, 0, "not idle for 10 s yet");
    c.handle_timeout(t(15_000));
    let probe = poll(&mut c, t(15_000)).expect("keep-alive probe");
    assert_eq!(probe.repr().seq_number, SeqNumber(1000));
    assert!(probe.repr().payload.is_empty());
    assert_eq!(c.counters().keepalive_probes, 1);
    // With data outstanding, the peer's silence draws retransmissions, never a
    // keep-alive probe.
    c.send(b"unanswered").unwrap();
    let _ = poll(&mut c, t(15_001)).unwrap();
    while let Some(at) = c.poll_timeout() {
        if at > t(60_000) {
            break;
        }
        c.handle_timeout(at);
        let _ = poll_all(&mut c, at);
    }
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.counters().keepalive_probes, 1);
    assert!(c.counters().timeouts > 3);
}

#[test]
fn default_keepalive_waits_two_hours() {
    let ka = crate::tcp::config::KeepAlive::default();
    assert!(ka.idle >= Duration::from_secs(2 * 60 * 60));
    let mut c = client_plain();
    let mut o = *c.options();
    o.keepalive = Some(ka);
    c.set_options(t(2), o);
    // The last segment arrived at t(1).
    let two_hours = 2 * 60 * 60 * 1000;
    c.handle_timeout(t(two_hours));
    assert!(poll(&mut c, t(two_hours)).is_none(), "1 ms early");
    c.handle_timeout(t(two_hours + 1));
    let probe = poll(&mut c, t(two_hours + 1)).expect("keep-alive probe");
    assert_eq!(probe.repr().seq_number, SeqNumber(1000));
}

#[test]
fn urgent_data_longer_than_65535_bytes_moves_the_pointer_to_its_end() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    assert_eq!(c.send_urgent(&[7u8; 100_000]), Ok(100_000));
    let first = poll(&mut c, t(10)).unwrap();
    let r = first.repr();
    assert!(r.flags.contains(TcpFlags::URG));
    assert_eq!(r.urgent_pointer, 65535, "the pointer is beyond the field");
    s.handle_segment(t(10), &r);
    assert_eq!(s.urgent_mark(), Some(65535));
    exchange(&mut c, &mut s, t(11));
    assert_eq!(s.recv_queue(), 100_000);
    assert_eq!(
        s.urgent_mark(),
        Some(100_000),
        "the last segments carry the end"
    );
    let mut buf = vec![0u8; 99_999];
    assert_eq!(s.recv(t(12), &mut buf), Ok(99_999));
    assert_eq!(s.urgent_mark(), Some(1));
    assert_eq!(s.recv(t(12), &mut buf[..1]), Ok(1));
    assert_eq!(s.urgent_mark(), None);
}

#[test]
fn urgent_event_is_raised_once_per_new_urgent_pointer() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    s.take_events();
    // 2000 urgent bytes: two segments, both pointing at the same end.
    c.send_urgent(&[1u8; 2000]).unwrap();
    let segs = poll_all(&mut c, t(10));
    assert_eq!(segs.len(), 2);
    s.handle_segment(t(11), &segs[0].repr());
    assert!(s.take_events().contains(ConnEvents::URGENT));
    s.handle_segment(t(11), &segs[1].repr());
    let ev = s.take_events();
    assert!(ev.contains(ConnEvents::READABLE));
    assert!(!ev.contains(ConnEvents::URGENT), "the same pointer again");
    // A new urgent write moves the pointer: a new event.
    c.send_urgent(b"!").unwrap();
    exchange(&mut c, &mut s, t(12));
    assert!(s.take_events().contains(ConnEvents::URGENT));
}

#[test]
fn receiver_keeps_a_zero_window_shut_until_a_segment_fits() {
    let config = TcpConfig {
        recv_buffer: 4096,
        ..TcpConfig::default()
    };
    let (mut c, mut s) = pair(config);
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    assert_eq!(c.send(&[3u8; 4096]), Ok(4096));
    exchange(&mut c, &mut s, t(10));
    assert_eq!(s.rcv_wnd(), 0);
    c.send(b"more").unwrap();
    assert!(poll(&mut c, t(10)).is_none());
    // The application reads 100 bytes: no window update, and the answer to a
    // window probe still says zero (not a 100-byte silly window).
    let mut buf = [0u8; 2048];
    assert_eq!(s.recv(t(11), &mut buf[..100]), Ok(100));
    assert!(poll(&mut s, t(11)).is_none());
    let at = c.poll_timeout().expect("persist timer");
    c.handle_timeout(at);
    let probe = poll(&mut c, at).expect("window probe");
    s.handle_segment(at, &probe.repr());
    let answer = poll(&mut s, at).expect("answer to the probe");
    assert_eq!(answer.repr().window_len, 0);
    // Once a full segment's worth is free, the window opens, at once.
    assert_eq!(s.recv(at, &mut buf[..1400]), Ok(1400));
    let update = poll(&mut s, at).expect("window update");
    assert!(u32::from(update.repr().window_len) >= u32::from(s.mss()));
}

#[test]
fn rst_carrying_data_resets_the_connection() {
    let mut c = client_plain();
    c.handle_segment(
        t(2),
        &segment(5001, 0, TcpFlags::RST, b"diagnostic: no such service"),
    );
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.error(), Some(TcpError::Reset));
    let mut buf = [0u8; 64];
    assert_eq!(
        c.recv(t(3), &mut buf),
        Err(UserError::Failed(TcpError::Reset)),
        "the RST's text is not data"
    );
}

#[test]
fn time_wait_accepts_a_syn_only_with_a_newer_timestamp() {
    let (mut c, mut s) = pair(TcpConfig::default());
    c.close(t(10));
    exchange(&mut c, &mut s, t(10));
    s.close(t(11));
    let fin = poll(&mut s, t(11)).unwrap();
    let tsval = fin.repr().options.timestamp.unwrap().tsval;
    c.handle_segment(t(12), &fin.repr());
    assert_eq!(c.state(), State::TimeWait);
    let syn_with = |tsval: u32| {
        let mut syn = segment(5000 + 3_000_000, 0, TcpFlags::SYN, &[]);
        syn.options.timestamp = Some(TcpTimestamp { tsval, tsecr: 0 });
        syn
    };
    assert!(c.time_wait_accepts_syn(&syn_with(tsval.wrapping_add(1))));
    // A sequence number far ahead does not help an old timestamp.
    assert!(!c.time_wait_accepts_syn(&syn_with(tsval.wrapping_sub(1))));
    // Nor does the lack of one, once the connection used timestamps.
    assert!(!c.time_wait_accepts_syn(&segment(9_000_000, 0, TcpFlags::SYN, &[])));
}

#[test]
fn ipv6_syn_carries_an_mss_option_from_the_path_mtu() {
    let config = Arc::new(TcpConfig::default());
    let a6 = SocketAddr::new(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 40000);
    let b6 = SocketAddr::new(
        IpAddr::V6(core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
        80,
    );
    let mut c = Connection::connect(t(0), config.clone(), params(a6, b6, 1, &config));
    let syn = poll(&mut c, t(0)).unwrap();
    // 1500 - 40 (IPv6) - 20 (TCP).
    assert_eq!(syn.repr().options.mss, Some(1440));
}

#[test]
fn advertised_right_edge_never_moves_left() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    let mut edge: Option<SeqNumber> = None;
    let mut buf = vec![0u8; 777];
    for round in 0..400u32 {
        let now = t(10 + u64::from(round) * 50);
        // Odd sizes, so the free space is rarely a multiple of the 8-byte scale.
        let _ = c.send(&vec![round as u8; 1001 + (round as usize * 37) % 900]);
        let mut from_c = poll_all(&mut c, now);
        if round % 3 == 0 {
            from_c.reverse();
        }
        for seg in &from_c {
            s.handle_segment(now, &seg.repr());
        }
        if round % 2 == 0 {
            let _ = s.recv(now, &mut buf);
        }
        s.handle_timeout(now);
        for seg in poll_all(&mut s, now) {
            let r = seg.repr();
            let right = r.ack_number + (u32::from(r.window_len) << 3);
            if let Some(prev) = edge {
                assert!(right >= prev, "round {round}: edge {right:?} < {prev:?}");
            }
            edge = Some(right);
            c.handle_segment(now, &r);
        }
        c.handle_timeout(now);
    }
    assert!(
        s.rcv_wnd() < 65536,
        "the buffer filled up: the window was tested"
    );
}

#[test]
fn no_new_data_is_sent_beyond_a_shrunk_window() {
    let mut c = client_plain();
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(2), o);
    c.send(&[1u8; 3000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 3);
    // The peer acknowledges the first segment and takes back its window: the right
    // edge 2001 + 500 lies left of SND.NXT (4001).
    let mut shrink = segment(5001, 2001, TcpFlags::ACK, &[]);
    shrink.window_len = 500;
    c.handle_segment(t(11), &shrink);
    c.send(&[2u8; 3000]).unwrap();
    assert!(poll(&mut c, t(11)).is_none(), "nothing new past the window");
    // The window reopens 1500 bytes past SND.NXT: new data goes, within it.
    let mut open = segment(5001, 4001, TcpFlags::ACK, &[]);
    open.window_len = 1500;
    c.handle_segment(t(12), &open);
    let segs = poll_all(&mut c, t(12));
    assert!(!segs.is_empty());
    assert_eq!(segs[0].repr().seq_number, SeqNumber(4001));
    let sent: usize = segs.iter().map(|s| s.repr().payload.len()).sum();
    assert!(sent <= 1500, "{sent} bytes into a 1500-byte window");
}

#[test]
fn timeout_retransmits_old_data_within_a_shrunk_window() {
    let mut c = client_plain();
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(2), o);
    c.send(&[1u8; 3000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 3);
    // The peer acknowledges nothing and shrinks its window to one segment.
    let mut shrink = segment(5001, 1001, TcpFlags::ACK, &[]);
    shrink.window_len = 1000;
    c.handle_segment(t(11), &shrink);
    let at = c.poll_timeout().unwrap();
    c.handle_timeout(at);
    let segs = poll_all(&mut c, at);
    assert_eq!(segs.len(), 1, "only what the window holds");
    assert_eq!(segs[0].repr().seq_number, SeqNumber(1001));
    assert_eq!(segs[0].repr().payload.len(), 1000);
}

#[test]
fn fast_retransmit_resends_una_even_beyond_a_shrunk_window() {
    let mut c = client_plain();
    c.send(&[9u8; 5000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 5);
    let mut dup = segment(5001, 1001, TcpFlags::ACK, &[]);
    dup.window_len = 500;
    // The first announces the smaller window; three duplicates follow.
    for i in 0..4 {
        c.handle_segment(t(11 + i), &dup);
    }
    let r = poll(&mut c, t(15)).expect("fast retransmit");
    assert_eq!(r.repr().seq_number, SeqNumber(1001));
    assert_eq!(
        r.repr().payload.len(),
        1000,
        "past SND.UNA + SND.WND = 1501"
    );
}

#[test]
fn every_second_full_sized_segment_is_acked_at_once() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    // Use up the quick-ACK allowance.
    for _ in 0..20 {
        c.send(b"x").unwrap();
        exchange(&mut c, &mut s, t(10));
    }
    s.handle_timeout(t(100));
    exchange(&mut c, &mut s, t(100));
    c.send(&vec![1u8; 2 * usize::from(c.mss())]).unwrap();
    let segs = poll_all(&mut c, t(200));
    assert_eq!(segs.len(), 2);
    s.handle_segment(t(200), &segs[0].repr());
    assert!(
        poll(&mut s, t(200)).is_none(),
        "the first is acknowledged later"
    );
    s.handle_segment(t(200), &segs[1].repr());
    let ack = poll(&mut s, t(200)).expect("ACK at the second full-sized segment");
    assert_eq!(
        ack.repr().ack_number,
        segs[1].repr().seq_number + c.mss() as u32
    );
}

#[test]
fn a_super_packet_of_several_full_sized_segments_is_acked_at_once() {
    // What a TUN with receive offload hands over: the peer's segments joined.
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    for _ in 0..20 {
        c.send(b"x").unwrap();
        exchange(&mut c, &mut s, t(10));
    }
    s.handle_timeout(t(100));
    exchange(&mut c, &mut s, t(100));
    c.send(&vec![1u8; 2 * usize::from(c.mss())]).unwrap();
    let segs = poll_all(&mut c, t(200));
    assert_eq!(segs.len(), 2);
    let joined: Vec<u8> = [segs[0].repr().payload, segs[1].repr().payload].concat();
    let mut whole = segs[0].repr();
    whole.payload = &joined;
    s.handle_segment(t(200), &whole);
    let ack = poll(&mut s, t(200)).expect("ACK for 2 * MSS in one segment");
    assert_eq!(
        ack.repr().ack_number,
        segs[0].repr().seq_number + joined.len() as u32
    );
}

#[test]
fn zero_window_probes_start_after_one_rto_and_back_off_exponentially() {
    let mut c = client_plain();
    let mut zero = segment(5001, 1001, TcpFlags::ACK, &[]);
    zero.window_len = 0;
    c.handle_segment(t(2), &zero);
    c.send(b"waiting").unwrap();
    assert!(poll(&mut c, t(3)).is_none());
    let rto = c.info(t(3)).rto;
    let max_rto = TcpConfig::default().rtt.max_rto;
    let mut last = t(3);
    let mut expected = rto;
    for i in 0..12 {
        let at = c.poll_timeout().expect("persist timer");
        assert_eq!(at - last, expected, "interval before probe {i}");
        c.handle_timeout(at);
        let probe = poll(&mut c, at).expect("window probe");
        assert!(probe.repr().payload.is_empty());
        // Answered, still zero: the interval keeps growing.
        c.handle_segment(at, &zero);
        last = at;
        expected = (expected * 2).min(max_rto);
    }
    assert_eq!(expected, max_rto, "the backoff reached its cap");
}

#[test]
fn retransmissions_reaching_r1_raise_a_soft_error_that_an_ack_clears() {
    let mut c = client_plain();
    assert_eq!(TcpConfig::default().retries1, 3);
    c.send(b"lost").unwrap();
    let _ = poll(&mut c, t(10)).unwrap();
    for n in 1..=3 {
        let at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
        let _ = poll_all(&mut c, at);
        let ev = c.take_events();
        assert_eq!(ev.contains(ConnEvents::SOFT_ERROR), n == 3, "timeout {n}");
    }
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.take_soft_error(), Some(TcpError::TimedOut));
    assert_eq!(c.take_soft_error(), None, "taken");
    // Recorded again (an ICMP error this time), then cleared by an ACK.
    c.handle_icmp(IcmpNotice::Unreachable);
    c.handle_segment(t(60_000), &segment(5001, 1005, TcpFlags::ACK, &[]));
    assert_eq!(c.take_soft_error(), None, "the peer answered");
}

#[test]
fn unreachable_on_an_established_connection_is_a_soft_error() {
    let mut c = client_plain();
    c.handle_icmp(IcmpNotice::Unreachable);
    assert!(c.take_events().contains(ConnEvents::SOFT_ERROR));
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.error(), None);
    assert_eq!(c.take_soft_error(), Some(TcpError::HostUnreachable));
    // Kept until taken; a connection that then times out says why.
    c.handle_icmp(IcmpNotice::Unreachable);
    c.send(b"void").unwrap();
    let _ = poll(&mut c, t(10));
    while c.state() != State::Closed {
        let at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
        let _ = poll_all(&mut c, at);
    }
    assert_eq!(c.error(), Some(TcpError::HostUnreachable));
}

/// A client that negotiated SACK (no timestamps, MSS 1000) with an initial window
/// of `iw` segments, against a hand-driven peer (ISS 5000; ours 1000).
fn client_sack(iw: u32) -> Connection {
    client_sack_config(TcpConfig {
        initial_cwnd: iw,
        ..TcpConfig::default()
    })
}

/// [`client_sack`] with a configuration of its own.
fn client_sack_config(config: TcpConfig) -> Connection {
    client_sack_iss(config, 1000)
}

/// [`client_sack_config`] with the initial send sequence number `iss`.
fn client_sack_iss(config: TcpConfig, iss: u32) -> Connection {
    let config = Arc::new(config);
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, iss, &config));
    let syn = poll(&mut c, t(0)).unwrap();
    assert!(syn.repr().options.sack_permitted);
    let mut synack = segment(
        5000,
        iss.wrapping_add(1),
        TcpFlags::SYN | TcpFlags::ACK,
        &[],
    );
    synack.options.mss = Some(1000);
    synack.options.sack_permitted = true;
    c.handle_segment(t(1), &synack);
    assert_eq!(c.state(), State::Established);
    let _ack = poll(&mut c, t(1)).unwrap();
    c.take_events();
    c
}

/// A pure ACK from the peer with SACK blocks.
fn sack_ack(ack: u32, blocks: &[(u32, u32)]) -> TcpRepr<'static> {
    let mut s = segment(5001, ack, TcpFlags::ACK, &[]);
    for &(a, b) in blocks {
        s.options.sack_ranges.push((SeqNumber(a), SeqNumber(b)));
    }
    s
}

#[test]
fn ten_segments_lost_from_one_window_are_resent_within_one_rtt_by_sack_recovery() {
    let mut c = client_sack(40);
    c.send(&[3u8; 40_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 40, "1001..41001 in flight");
    // RTT 100 ms, one ACK per millisecond. The peer receives segments 0..5 and
    // 15..40: 6001..16001 (ten segments) are lost.
    let mut now = 110;
    for k in 1..=5u32 {
        c.handle_segment(t(now), &sack_ack(1001 + k * 1000, &[]));
        assert!(
            poll_all(&mut c, t(now)).is_empty(),
            "all 40 000 bytes were sent"
        );
        now += 1;
    }
    let first_dupack = now;
    let mut resent: Vec<(u32, u64)> = Vec::new();
    let mut mid_recovery = None;
    for k in 1..=25u32 {
        c.handle_segment(t(now), &sack_ack(6001, &[(16001, 16001 + k * 1000)]));
        c.handle_timeout(t(now));
        for s in poll_all(&mut c, t(now)) {
            let r = s.repr();
            assert!(r.payload.len() <= 1000);
            resent.push((r.seq_number.0, now));
        }
        if k == 10 {
            mid_recovery = Some(c.info(t(now)));
        }
        now += 1;
    }
    let mut seqs: Vec<u32> = resent.iter().map(|r| r.0).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let lost: Vec<u32> = (0..10).map(|i| 6001 + i * 1000).collect();
    assert!(
        lost.iter().all(|l| seqs.contains(l)),
        "not all lost segments resent: {resent:?}"
    );
    assert!(
        resent.iter().all(|r| r.0 < 16001),
        "only holes are resent: {resent:?}"
    );
    let last = resent.iter().map(|r| r.1).max().unwrap();
    assert!(
        last - first_dupack < 100,
        "repaired {} ms after the first duplicate ACK",
        last - first_dupack
    );
    let info = mid_recovery.unwrap();
    assert_eq!(info.sacked, 10);
    assert!(info.lost > 0 && info.lost <= 10, "lost {}", info.lost);
    assert_eq!(c.counters().sack_recoveries, 1);
    assert!(c.counters().sack_retransmits >= 9);
    // The retransmissions arrive: everything is acknowledged, no timeout fired.
    c.handle_segment(t(first_dupack + 100), &sack_ack(41001, &[]));
    c.handle_timeout(t(first_dupack + 100));
    assert_eq!(c.outstanding(), 0);
    assert_eq!(c.counters().timeouts, 0);
    assert_eq!(c.counters().fast_retransmits, 1);
    assert!(c.counters().retrans_segs <= 11, "{:?}", c.counters());
    // Out of recovery at the controller's reduced window (CUBIC: 0.7 × 35).
    assert!(c.cwnd() <= 25_000, "{}", c.cwnd());
}

#[test]
fn sack_recovery_begins_when_the_scoreboard_marks_una_lost_before_three_dupacks() {
    let mut c = client_sack(10);
    c.send(&[3u8; 10_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 10);
    // One ACK SACKs three segments above the hole at 1001: IsLost(HighACK + 1).
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 5001)]));
    assert_eq!(c.counters().dupacks_in, 1);
    let out = poll_all(&mut c, t(110));
    assert_eq!(
        out.first().map(|s| s.repr().seq_number),
        Some(SeqNumber(1001))
    );
    assert_eq!(c.counters().sack_recoveries, 1);
}

#[test]
fn without_sack_recovery_stays_newreno() {
    let mut c = client_plain();
    c.send(&[9u8; 5000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 5);
    for i in 0..3 {
        c.handle_segment(t(11 + i), &sack_ack(1001, &[(2001, 3001)]));
    }
    assert_eq!(c.counters().sack_recoveries, 0);
    assert_eq!(c.counters().fast_retransmits, 1);
    assert_eq!(c.info(t(14)).sacked, 0, "SACK was not negotiated");
}

/// A handshake with a 100 ms round trip (the client's first RTT sample), with
/// pacing on or off in both configurations.
fn pair_100ms(pacing: bool) -> (Connection, Connection) {
    let config = Arc::new(TcpConfig {
        pacing,
        ..TcpConfig::default()
    });
    let mut client = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let syn = poll(&mut client, t(0)).expect("SYN");
    let mut server = Connection::accept(
        t(50),
        config.clone(),
        params(B, A, 5000, &config),
        &SynInfo::from_repr(&syn.repr()),
    );
    let synack = poll(&mut server, t(50)).expect("SYN-ACK");
    client.handle_segment(t(100), &synack.repr());
    assert_eq!(client.state(), State::Established);
    let ack = poll(&mut client, t(100)).expect("ACK");
    server.handle_segment(t(150), &ack.repr());
    assert_eq!(server.state(), State::Established);
    assert_eq!(client.info(t(100)).rtt, Some(Duration::from_millis(100)));
    (client, server)
}

/// Runs `c`'s timers and sends until it has nothing more to say before `until`;
/// returns when each data segment left.
fn paced_sends(c: &mut Connection, from: Instant, until: Instant) -> Vec<Instant> {
    let mut now = from;
    let mut times = Vec::new();
    loop {
        c.handle_timeout(now);
        for s in poll_all(c, now) {
            if !s.repr().payload.is_empty() {
                times.push(now);
            }
        }
        match c.poll_timeout() {
            Some(at) if at < until => {
                assert!(at > now, "busy polling: timer at {at:?}, now {now:?}");
                now = at;
            }
            _ => return times,
        }
    }
}

#[test]
fn paced_window_leaves_spread_over_half_an_rtt_in_slow_start() {
    let (mut c, _s) = pair_100ms(true);
    assert!(c.pacing_enabled());
    // 2 × cwnd / srtt: 10 segments of 1448 bytes per 50 ms, 5 ms a segment.
    assert_eq!(c.pacing_rate(), Some(2 * 14480 * 10));
    c.send(&[7u8; 10 * 1448]).unwrap();
    // The first segments go at once (the 2-segment burst allowance), then the
    // connection is paced out and says when it may send again.
    let first = poll_all(&mut c, t(100));
    assert_eq!(first.len(), 3);
    assert_eq!(c.poll_timeout(), Some(t(105)));
    assert_eq!(c.next_timer(), Some((Timer::Pacing, t(105))));
    // Nothing leaves early.
    assert!(poll(&mut c, t(104)).is_none());
    let rest = paced_sends(&mut c, t(105), t(300));
    let expected: Vec<Instant> = (1..=7).map(|i| t(100 + 5 * i)).collect();
    assert_eq!(rest, expected);
    // Spread over srtt / 2 less the burst allowance: 35 ms rather than at once.
    assert_eq!(rest.last().copied(), Some(t(135)));
}

#[test]
fn unpaced_window_leaves_at_once() {
    let (mut c, _s) = pair_100ms(false);
    assert!(!c.pacing_enabled());
    c.send(&[7u8; 10 * 1448]).unwrap();
    let segs = poll_all(&mut c, t(100));
    assert_eq!(segs.len(), 10);
    assert!(!c.timers.is_set(Timer::Pacing));
    // The probe timeout (2 SRTT and 2 ms) comes before the RTO.
    assert_eq!(
        c.next_timer(),
        Some((Timer::Probe, t(302) + Duration::from_nanos(2)))
    );
}

#[test]
fn pacing_switched_on_per_socket_applies_to_the_next_window() {
    let (mut c, _s) = pair_100ms(false);
    let mut o = *c.options();
    o.pacing = true;
    c.set_options(t(100), o);
    c.send(&[7u8; 10 * 1448]).unwrap();
    assert_eq!(poll_all(&mut c, t(100)).len(), 3);
    // And off again: the hold is lifted at once.
    o.pacing = false;
    c.set_options(t(101), o);
    assert_eq!(poll_all(&mut c, t(101)).len(), 7);
}

#[test]
fn acks_are_never_held_back_by_pacing() {
    let (mut c, mut s) = pair_100ms(true);
    c.send(&[7u8; 10 * 1448]).unwrap();
    assert_eq!(poll_all(&mut c, t(100)).len(), 3);
    assert!(c.paced_out());
    // The peer's data arrives while the client is paced out: its ACK leaves at once,
    // and it carries no held-back data.
    s.send(&[9u8; 2 * 1448]).unwrap();
    for seg in poll_all(&mut s, t(150)) {
        c.handle_segment(t(101), &seg.repr());
    }
    assert!(c.wants_to_send());
    let ack = poll(&mut c, t(101)).expect("ACK not held back");
    let r = ack.repr();
    assert!(r.flags.contains(TcpFlags::ACK));
    assert!(r.payload.is_empty());
    assert_eq!(r.ack_number, SeqNumber(5001 + 2 * 1448));
    assert!(poll(&mut c, t(101)).is_none());
}

#[test]
fn no_pacing_before_the_first_rtt_sample() {
    let config = TcpConfig {
        pacing: true,
        ..TcpConfig::default()
    };
    let config = Arc::new(config);
    let c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    assert!(c.pacing_enabled());
    assert_eq!(c.pacing_rate(), None);
}

/// A reader that drains every full-sized segment as it arrives keeps its small
/// receive ring (no allocation per segment); the read after a short segment (the end
/// of the message) frees it, so an idle connection still holds no buffer.
#[test]
fn a_streaming_peer_keeps_the_receive_ring_until_a_short_segment_is_read() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let mut o = *c.options();
    o.nodelay = true;
    c.set_options(t(10), o);
    c.send(&[5u8; 1448 * 3 + 100]).unwrap();
    let segs = poll_all(&mut c, t(10));
    assert_eq!(segs.len(), 4);
    let mut buf = [0u8; 4096];
    for (i, seg) in segs.iter().enumerate() {
        s.handle_segment(t(11), &seg.repr());
        let want = if i < 3 { 1448 } else { 100 };
        assert_eq!(s.recv(t(11), &mut buf), Ok(want));
        let held = s.info(t(11)).buffer_memory;
        if i < 3 {
            assert!(held > 0, "segment {i}: ring freed while the peer streams");
        } else {
            assert_eq!(held, 0, "the short last segment's read frees the ring");
        }
    }
}

// ---- RACK-TLP (RFC 8985) and undo ----

/// Sequence numbers of the data segments in `segs`.
fn data_seqs(segs: &[Seg]) -> Vec<u32> {
    segs.iter()
        .map(|s| s.repr())
        .filter(|r| !r.payload.is_empty())
        .map(|r| r.seq_number.0)
        .collect()
}

#[test]
fn one_sacked_segment_marks_the_earlier_hole_lost_when_the_reorder_timer_fires() {
    let mut c = client_sack(10);
    c.send(&[3u8; 10_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 10);
    // 100 ms later the second segment is SACKed, the first is missing. RACK:
    // the first was sent no later than the second (same instant, lower end), so
    // it is lost once RACK.rtt (100 ms) + reo_wnd (min_RTT / 4 = 0.25 ms, no
    // DupThresh segments SACKed yet) passed since it left.
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 3001)]));
    assert!(data_seqs(&poll_all(&mut c, t(110))).is_empty(), "not yet");
    let (timer, at) = c.next_timer().unwrap();
    assert_eq!(timer, Timer::Reorder);
    assert!(
        at > t(110) && at <= t(110) + Duration::from_micros(300),
        "{at:?}"
    );
    c.handle_timeout(at);
    assert_eq!(data_seqs(&poll_all(&mut c, at)).first(), Some(&1001));
    assert_eq!(c.counters().sack_recoveries, 1);
    assert_eq!(c.loss_counters().rack_reorder_timeouts, 1);
}

/// The sender's reaction to one loss pattern, with sequence numbers made relative
/// to `iss`: the data segments sent at each step, and whether RACK saw reordering.
fn rack_reaction_from_iss(iss: u32) -> (Vec<(u64, Vec<u32>)>, u32) {
    let rel = |r: u32| iss.wrapping_add(r);
    let mut c = client_sack_iss(
        TcpConfig {
            initial_cwnd: 10,
            ..TcpConfig::default()
        },
        iss,
    );
    c.send(&[3u8; 10_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 10);
    let mut trace = Vec::new();
    let mut step = |c: &mut Connection, now: u64, ack: u32, blocks: &[(u32, u32)]| {
        let blocks: Vec<_> = blocks.iter().map(|&(a, b)| (rel(a), rel(b))).collect();
        c.handle_segment(t(now), &sack_ack(rel(ack), &blocks));
        let sent = data_seqs(&poll_all(c, t(now)));
        trace.push((now, sent.iter().map(|s| s.wrapping_sub(iss)).collect()));
    };
    // The first two segments arrive in order; the third (2001..3001) is lost and
    // the three after it are SACKed one by one.
    step(&mut c, 110, 1001, &[]);
    step(&mut c, 111, 2001, &[]);
    step(&mut c, 112, 2001, &[(3001, 4001)]);
    step(&mut c, 113, 2001, &[(3001, 5001)]);
    step(&mut c, 114, 2001, &[(3001, 6001)]);
    (trace, c.loss_counters().sack_reorders)
}

/// RACK.fack starts from the first delivered segment, not from sequence number
/// 0: with modular comparison (RFC 1982), an ISS in the upper half of the space
/// put every delivered segment "below" 0, so each in-order ACK counted as
/// reordering and the reordering window stayed open (a quarter of min_RTT, not
/// the DupThresh behaviour of RFC 8985 section 6.2) for the whole connection.
#[test]
fn in_order_delivery_is_no_reordering_and_losses_are_repaired_alike_whatever_the_iss() {
    let (reference, reorders) = rack_reaction_from_iss(1000);
    assert_eq!(reorders, 0);
    // Three segments SACKed above the hole and no reordering seen: lost at once.
    assert_eq!(reference.last().map(|s| s.1.first()), Some(Some(&2001)));
    for iss in [
        0x7fff_ffff,
        0x8000_0000,
        0xc000_0000,
        u32::MAX - (1 << 20), // the transfer crosses 2^32 after 1 MB
        u32::MAX - 2500,      // ... inside this window
    ] {
        assert_eq!(
            rack_reaction_from_iss(iss),
            (reference.clone(), 0),
            "ISS {iss:#x}"
        );
    }
}

#[test]
fn without_rack_one_sacked_segment_waits_for_dupthresh() {
    let mut c = client_sack_config(TcpConfig {
        initial_cwnd: 10,
        rack: false,
        ..TcpConfig::default()
    });
    c.send(&[3u8; 10_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 10);
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 3001)]));
    assert!(data_seqs(&poll_all(&mut c, t(110))).is_empty());
    assert_ne!(c.next_timer().map(|x| x.0), Some(Timer::Reorder));
    c.handle_segment(t(111), &sack_ack(1001, &[(2001, 4001)]));
    c.handle_segment(t(112), &sack_ack(1001, &[(2001, 5001)]));
    // Three segments SACKed above the hole: IsLost (RFC 6675).
    assert_eq!(data_seqs(&poll_all(&mut c, t(112))).first(), Some(&1001));
}

#[test]
fn a_tail_loss_probe_resends_the_last_segment_two_srtt_and_a_slack_after_the_last_send() {
    let mut c = client_sack(10);
    c.send(&[3u8; 3000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 3);
    // SRTT is the handshake's 1 ms: PTO = 2 ms + 2 ms of slack (Linux's
    // TCP_TIMEOUT_MIN_US), well before the RTO.
    let (timer, at) = c.next_timer().unwrap();
    assert_eq!(timer, Timer::Probe);
    assert!(
        at >= t(14) && at < t(14) + Duration::from_micros(1),
        "{at:?}"
    );
    c.handle_timeout(at);
    let probe = poll_all(&mut c, at);
    assert_eq!(data_seqs(&probe), vec![3001], "the last segment, once");
    assert_eq!(c.loss_counters().loss_probes, 1);
    assert_eq!(c.counters().timeouts, 0);
    // One probe per episode: the next timer is the RTO.
    assert_eq!(c.next_timer().map(|x| x.0), Some(Timer::Retransmit));
}

/// A receive buffer smaller than one MSS announces its window again once the
/// application reads it empty (the `app` fuzz target: a 700-byte buffer filled,
/// read, and never announced, so the sender had only its timers left; behind a
/// path whose MTU estimate kept expiring they never got a segment through).
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.2
//# RCV.BUFF - RCV.USER - RCV.WND  >=
//#
//#        min( Fr * RCV.BUFF, Eff.snd.MSS )
#[test]
fn a_receive_buffer_under_one_mss_announces_its_window_after_a_read() {
    let (mut client, mut server) = pair(TcpConfig {
        recv_buffer: 700,
        ..TcpConfig::default()
    });
    client.send(&[7u8; 700]).unwrap();
    exchange(&mut client, &mut server, t(10));
    assert_eq!(server.info(t(10)).rcv_wnd, 0, "the buffer is full");
    assert_eq!(client.info(t(10)).snd_wnd, 0);
    let mut out = [0u8; 1000];
    assert_eq!(server.recv(t(11), &mut out), Ok(700));
    let update = poll_all(&mut server, t(11));
    assert_eq!(update.len(), 1, "a window update");
    assert_eq!(update[0].repr().window_len, 700);
    client.handle_segment(t(12), &update[0].repr());
    assert_eq!(client.info(t(12)).snd_wnd, 700);
}

/// A "too big" behind a zero window resends the first segment at once, at the
/// new size, as a window probe (Linux's `__tcp_retransmit_skb` lets the head
/// through a zero window): the retransmission timer's resend may come only
/// after the lowered estimate expired, at the old size again.
#[test]
fn a_too_big_behind_a_zero_window_resends_the_first_segment_at_once_at_the_new_size() {
    let mut c = client_plain();
    c.send(&[5u8; 2000]).unwrap();
    assert_eq!(data_seqs(&poll_all(&mut c, t(2))), vec![1001, 2001]);
    let mut closed = segment(5001, 1001, TcpFlags::ACK, &[]);
    closed.window_len = 0;
    c.handle_segment(t(3), &closed);
    assert!(
        poll_all(&mut c, t(3)).is_empty(),
        "nothing goes into a zero window"
    );
    assert!(c.on_path_mtu(576));
    let resend = poll_all(&mut c, t(4));
    assert_eq!(data_seqs(&resend), vec![1001]);
    assert_eq!(resend[0].repr().payload.len(), 536, "576 less the headers");
}

/// The ACK that completes a passive open is one RTT sample, as the SYN-ACK in
/// SYN-SENT is: the handshake's timing and the timestamp echo of that same ACK
/// were both taken (RTTVAR 0.75 ms from one 2 ms round trip, not RFC 6298's
/// first-measurement 1 ms; Linux's `tcp_synack_rtt_meas` takes the one sample).
//= https://www.rfc-editor.org/rfc/rfc6298#section-2
//# (2.2) When the first RTT measurement R is made, the host MUST set
//#
//#         SRTT <- R
//#         RTTVAR <- R/2
#[test]
fn the_handshake_is_one_rtt_sample_on_both_sides() {
    let (client, server) = pair(TcpConfig::default());
    for (name, c) in [("client", &client), ("server", &server)] {
        let info = c.info(t(3));
        assert_eq!(info.rtt, Some(Duration::from_millis(2)), "{name}");
        assert_eq!(info.rttvar, Some(Duration::from_millis(1)), "{name}");
    }
}

/// The probe's "last segment again" is that segment as it was sent: with the
/// peer's window at one byte, the one byte, not a full segment of bytes never
/// sent (the `app` fuzz target: 1,428 bytes went into a one-byte window, and
/// the SND.MAX they left past the window put the pure ACKs after them outside
/// it, so both sides dropped each other's ACKs until one timed out).
#[test]
fn a_tail_loss_probe_resends_only_what_was_sent_however_much_waits() {
    let mut c = client_sack(10);
    let mut one_byte_window = segment(5001, 1001, TcpFlags::ACK, &[]);
    one_byte_window.window_len = 1;
    c.handle_segment(t(5), &one_byte_window);
    c.send(&[3u8; 3000]).unwrap();
    let sent = poll_all(&mut c, t(10));
    assert_eq!(data_seqs(&sent), vec![1001]);
    assert_eq!(sent[0].repr().payload.len(), 1, "what the window lets go");
    let (timer, at) = c.next_timer().unwrap();
    assert_eq!(timer, Timer::Probe);
    c.handle_timeout(at);
    let probe = poll_all(&mut c, at);
    assert_eq!(data_seqs(&probe), vec![1001]);
    assert_eq!(probe[0].repr().payload.len(), 1, "the segment as sent");
    assert_eq!(c.loss_counters().loss_probes, 1);
    assert_eq!(c.counters().bytes_retrans, 1);
}

#[test]
fn a_probe_sends_new_data_when_there_is_some_whatever_the_window() {
    let mut c = client_sack(2);
    c.send(&[3u8; 5000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 2, "cwnd is two segments");
    let (timer, at) = c.next_timer().unwrap();
    assert_eq!(timer, Timer::Probe);
    c.handle_timeout(at);
    assert_eq!(data_seqs(&poll_all(&mut c, at)), vec![3001]);
}

#[test]
fn a_probe_that_repairs_a_lost_tail_makes_the_controller_reduce_its_window() {
    let mut c = client_sack(10);
    c.send(&[3u8; 3000]).unwrap();
    poll_all(&mut c, t(10));
    let (_, at) = c.next_timer().unwrap();
    c.handle_timeout(at);
    poll_all(&mut c, at);
    // The first two segments and the probe (a copy of the lost third) arrive: the
    // ACK reaches TLP.end_seq with no D-SACK. Whether the original also arrived
    // shows only with the next ACK (a D-SACK, or a duplicate ACK, if it did).
    c.handle_segment(t(20), &sack_ack(4001, &[]));
    assert_eq!(c.loss_counters().loss_probe_recoveries, 0);
    assert_eq!(c.info(t(20)).ssthresh, None, "still in slow start");
    // New data, acknowledged beyond TLP.end_seq without a D-SACK: the probe
    // repaired a loss, and the controller reduces its window.
    c.send(&[3u8; 1000]).unwrap();
    assert_eq!(data_seqs(&poll_all(&mut c, t(21))), vec![4001]);
    c.handle_segment(t(30), &sack_ack(5001, &[]));
    assert_eq!(c.loss_counters().loss_probe_recoveries, 1);
    assert!(
        c.info(t(30)).ssthresh.is_some(),
        "slow start ended by the loss"
    );
}

#[test]
fn a_dsack_of_every_retransmission_undoes_the_recovery_and_restores_cwnd() {
    let mut c = client_sack(10);
    c.send(&[3u8; 10_000]).unwrap();
    poll_all(&mut c, t(10));
    let before = c.cwnd();
    // Segments 2..5 SACKed: DupThresh of them, so RACK's window is zero and the
    // first is resent at once.
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 6001)]));
    let resent = data_seqs(&poll_all(&mut c, t(110)));
    assert_eq!(resent.first(), Some(&1001));
    assert!(c.cwnd() < before);
    // It was only late: everything is acknowledged, then each resent copy comes
    // back as a duplicate (D-SACK below the cumulative ACK).
    c.handle_segment(t(111), &sack_ack(11001, &[]));
    for (i, &seq) in resent.iter().enumerate() {
        assert_eq!(c.loss_counters().dsack_undos, 0, "not before the last");
        c.handle_segment(t(160 + i as u64), &sack_ack(11001, &[(seq, seq + 1000)]));
    }
    assert_eq!(c.loss_counters().dsack_undos, 1);
    assert!(c.cwnd() >= before, "{} restored to {}", before, c.cwnd());
}

#[test]
fn an_ack_echoing_the_original_after_a_timeout_undoes_it_and_stops_the_resending() {
    // Timestamps on: the client of `pair` against a real server.
    let (mut c, mut s) = pair(TcpConfig::default());
    c.send(&[5u8; 20_000]).unwrap();
    let first = poll_all(&mut c, t(10));
    assert!(first.len() >= 10);
    let before = c.cwnd();
    // The path stalls: the RTO fires and resends the first segment.
    let rto = c.poll_timeout().unwrap();
    let mut now = rto;
    while c.counters().timeouts == 0 {
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
    }
    let resent = poll_all(&mut c, now);
    assert_eq!(data_seqs(&resent).len(), 1);
    assert!(c.cwnd() < before);
    // Then the originals arrive and their ACKs come back, echoing the original
    // timestamps: Eifel says the timeout was spurious.
    for seg in &first {
        s.handle_segment(now, &seg.repr());
    }
    for ack in poll_all(&mut s, now) {
        c.handle_segment(now + Duration::from_millis(1), &ack.repr());
    }
    let lc = c.loss_counters();
    assert_eq!((lc.spurious_rtos, lc.loss_undos), (1, 1), "{lc:?}");
    assert!(c.cwnd() >= before, "{} restored to {}", before, c.cwnd());
    // No go-back-N: what follows is new data.
    let next = data_seqs(&poll_all(&mut c, now + Duration::from_millis(1)));
    let highest_sent = first.iter().map(|s| s.repr().seq_number.0).max().unwrap();
    assert!(next.iter().all(|&q| q > highest_sent), "{next:?}");
}

#[test]
fn limited_transmit_sends_one_new_segment_on_each_of_the_first_two_duplicate_acks() {
    let mut c = client_sack(10);
    c.send(&[3u8; 20_000]).unwrap();
    assert_eq!(poll_all(&mut c, t(10)).len(), 10, "the initial window");
    // The first segment is missing; each duplicate ACK SACKs one more.
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 3001)]));
    assert_eq!(data_seqs(&poll_all(&mut c, t(110))), vec![11001]);
    c.handle_segment(t(110), &sack_ack(1001, &[(2001, 4001)]));
    assert_eq!(data_seqs(&poll_all(&mut c, t(110))), vec![12001]);
    assert_eq!(c.counters().sack_recoveries, 0, "no recovery yet");
    assert_eq!(c.cwnd(), 10_000, "the window itself did not change");
}

#[test]
fn a_recovery_begun_at_an_already_resent_una_is_not_undone_by_that_copys_ack() {
    // Timestamps and SACK on, 100 ms round trip.
    let (mut c, mut s) = pair_100ms(false);
    c.send(&[5u8; 60_000]).unwrap();
    let w1 = poll_all(&mut c, t(110));
    assert!(w1.len() >= 10);
    // The first segment is lost; the others reach the server.
    for seg in &w1[1..] {
        s.handle_segment(t(160), &seg.repr());
    }
    let mut resent = Vec::new();
    for ack in poll_all(&mut s, t(160)) {
        c.handle_segment(t(210), &ack.repr());
    }
    // Recovery 1: the first segment again, and new data (the window allows some).
    let w2 = poll_all(&mut c, t(210));
    let seqs = data_seqs(&w2);
    let first = w1[0].repr().seq_number.0;
    assert_eq!(seqs.first(), Some(&first), "{seqs:?}");
    let new: Vec<&Seg> = w2
        .iter()
        .filter(|x| x.repr().seq_number.0 > first && !x.repr().payload.is_empty())
        .collect();
    assert!(new.len() >= 4, "{seqs:?}");
    // Of the new data the first segment is lost too; the rest arrives and its
    // SACKs make RACK resend it (still in recovery 1: the first segment's
    // retransmission is not delivered yet).
    let lost = new[0].repr().seq_number.0;
    for seg in &new[1..] {
        s.handle_segment(t(260), &seg.repr());
    }
    for ack in poll_all(&mut s, t(260)) {
        c.handle_segment(t(310), &ack.repr());
    }
    for seg in poll_all(&mut c, t(310)) {
        if seg.repr().seq_number.0 == lost && !seg.repr().payload.is_empty() {
            resent.push(seg);
        }
    }
    assert_eq!(resent.len(), 1, "the lost new segment resent in recovery 1");
    // The first segment's retransmission arrives: SND.UNA moves to the lost new
    // segment, past recovery 1's point; a new recovery begins there and resends
    // it once more, although its first resend is on its way.
    s.handle_segment(t(320), &w2[0].repr());
    for ack in poll_all(&mut s, t(320)) {
        c.handle_segment(t(370), &ack.repr());
    }
    for seg in poll_all(&mut c, t(370)) {
        if seg.repr().seq_number.0 == lost && !seg.repr().payload.is_empty() {
            resent.push(seg);
        }
    }
    assert_eq!(c.counters().sack_recoveries, 2);
    assert_eq!(resent.len(), 2, "resent again by the second recovery");
    // The first resend arrives; its ACK echoes its timestamp, older than the
    // second recovery's resend but not than the data's first retransmission:
    // nothing was spurious.
    s.handle_segment(t(360), &resent[0].repr());
    for ack in poll_all(&mut s, t(360)) {
        c.handle_segment(t(410), &ack.repr());
    }
    let lc = c.loss_counters();
    assert_eq!((lc.full_undos, lc.dsack_undos), (0, 0), "{lc:?}");
}

/// Feeds `seg` to two identical connections from `setup`, as the stack does: its
/// payload prestored, then header prediction tried on one (falling back to the
/// general path when it refuses) and the general path alone on the other. Returns
/// whether the prediction took the segment; asserts that both connections end the
/// same (every field, the events, and what they send next), and that a refused
/// segment left the connection untouched before the general path ran.
fn predicted_same_as_general(
    setup: impl Fn() -> Connection,
    now: Instant,
    seg: &TcpRepr<'_>,
    ecn: crate::wire::Ecn,
) -> bool {
    let mut fast = setup();
    let mut slow = setup();
    assert_eq!(
        format!("{fast:?}"),
        format!("{slow:?}"),
        "setup is deterministic"
    );
    fast.prestore_payload(seg, &mut crate::tcp::ring_pool::RingPool::new(0));
    let before = format!("{fast:?}");
    let predicted = fast.handle_predicted_segment(now, seg, ecn);
    if !predicted {
        assert_eq!(
            before,
            format!("{fast:?}"),
            "a refused segment changes nothing"
        );
        fast.handle_segment_ecn(now, seg, ecn);
    }
    fast.forget_prestored();
    slow.prestore_payload(seg, &mut crate::tcp::ring_pool::RingPool::new(0));
    slow.handle_segment_ecn(now, seg, ecn);
    slow.forget_prestored();
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    assert_eq!(fast.take_events(), slow.take_events());
    assert_eq!(fast.wants_to_send(), slow.wants_to_send());
    let out_fast: Vec<Vec<u8>> = poll_all(&mut fast, now)
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    let out_slow: Vec<Vec<u8>> = poll_all(&mut slow, now)
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    assert_eq!(out_fast, out_slow);
    predicted
}

/// A server connection after the handshake with default options (timestamps,
/// SACK, window scaling), and the client's next data segment of `len` bytes.
fn server_and_data_segment(len: usize) -> (Connection, Seg) {
    let (mut c, s) = pair(TcpConfig::default());
    let data = vec![0x5a; len];
    c.send(&data).unwrap();
    let seg = poll(&mut c, t(4)).expect("data segment");
    (s, seg)
}

#[test]
fn header_prediction_takes_in_order_data_with_timestamps_as_the_general_path_would() {
    let (_, seg) = server_and_data_segment(1000);
    let repr = seg.repr();
    assert!(repr.options.timestamp.is_some());
    let setup = || server_and_data_segment(1000).0;
    assert!(predicted_same_as_general(
        setup,
        t(5),
        &repr,
        crate::wire::Ecn::NotEct
    ));
    // ECT marks are no reason to refuse.
    assert!(predicted_same_as_general(
        setup,
        t(5),
        &repr,
        crate::wire::Ecn::Ect0
    ));
}

#[test]
fn header_prediction_takes_in_order_data_without_options() {
    let payload = [7u8; 300];
    let seg = segment(5001, 1001, TcpFlags::ACK | TcpFlags::PSH, &payload);
    assert!(predicted_same_as_general(
        client_plain,
        t(2),
        &seg,
        crate::wire::Ecn::NotEct
    ));
    let seg = segment(5001, 1001, TcpFlags::ACK, &payload);
    assert!(predicted_same_as_general(
        client_plain,
        t(2),
        &seg,
        crate::wire::Ecn::NotEct
    ));
}

#[test]
fn header_prediction_refuses_what_the_general_path_must_handle() {
    use crate::wire::{Ecn, SackBlocks};
    let payload = [7u8; 300];
    let now = t(2);
    let data = |seq: u32, flags: TcpFlags| segment(seq, 1001, flags, &payload);
    let refused = |seg: &TcpRepr<'_>, ecn: Ecn, what: &str| {
        assert!(
            !predicted_same_as_general(client_plain, now, seg, ecn),
            "{what} must take the general path"
        );
    };
    refused(&data(5101, TcpFlags::ACK), Ecn::NotEct, "out-of-order data");
    refused(&data(4901, TcpFlags::ACK), Ecn::NotEct, "partly old data");
    let mut window = data(5001, TcpFlags::ACK);
    window.window_len = 1000;
    refused(&window, Ecn::NotEct, "a window change");
    refused(
        &data(5001, TcpFlags::ACK | TcpFlags::FIN),
        Ecn::NotEct,
        "a FIN",
    );
    let mut urgent = data(5001, TcpFlags::ACK | TcpFlags::URG);
    urgent.urgent_pointer = 10;
    refused(&urgent, Ecn::NotEct, "urgent data");
    let mut sack = data(5001, TcpFlags::ACK);
    let mut blocks = SackBlocks::default();
    blocks.push((SeqNumber(900), SeqNumber(950)));
    sack.options.sack_ranges = blocks;
    refused(&sack, Ecn::NotEct, "SACK blocks");
    refused(&data(5001, TcpFlags::ACK), Ecn::Ce, "a CE mark");
    refused(
        &data(5001, TcpFlags::ACK | TcpFlags::ECE),
        Ecn::NotEct,
        "ECE",
    );
    refused(
        &data(5001, TcpFlags::ACK | TcpFlags::RST),
        Ecn::NotEct,
        "a RST",
    );
    refused(
        &data(5001, TcpFlags::ACK | TcpFlags::SYN),
        Ecn::NotEct,
        "a SYN",
    );
    refused(&data(5001, TcpFlags::empty()), Ecn::NotEct, "no ACK");
    refused(
        &segment(5001, 1001, TcpFlags::ACK, &[]),
        Ecn::NotEct,
        "a pure ACK",
    );
    refused(
        &segment(5001, 1000, TcpFlags::ACK, &payload),
        Ecn::NotEct,
        "an old ACK number",
    );
    refused(
        &segment(5001, 1501, TcpFlags::ACK, &payload),
        Ecn::NotEct,
        "an ACK of unsent data",
    );
    // Data of our own in flight: the ACK field may acknowledge it.
    let sending = || {
        let mut c = client_plain();
        c.send(&[1u8; 500]).unwrap();
        poll_all(&mut c, t(1));
        c
    };
    for ack in [1001, 1201, 1501] {
        let seg = segment(5001, ack, TcpFlags::ACK, &payload);
        assert!(!predicted_same_as_general(sending, now, &seg, Ecn::NotEct));
    }
}

#[test]
fn header_prediction_refuses_an_old_timestamp_and_a_full_buffer() {
    let (_, seg) = server_and_data_segment(1000);
    let mut repr = seg.repr();
    let setup = || server_and_data_segment(1000).0;
    // PAWS: a timestamp older than TS.Recent.
    let mut old = repr;
    old.options.timestamp = old.options.timestamp.map(|mut ts| {
        ts.tsval = ts.tsval.wrapping_sub(1_000_000);
        ts
    });
    assert!(!predicted_same_as_general(
        setup,
        t(5),
        &old,
        crate::wire::Ecn::NotEct
    ));
    // More than the receive buffer has room for.
    let big = vec![0x5a; 300_000];
    repr.payload = &big;
    assert!(!predicted_same_as_general(
        setup,
        t(5),
        &repr,
        crate::wire::Ecn::NotEct
    ));
}

/// One lossy transfer from a client to a server, then both close: `drops` are
/// the indexes (from 1) of the client's segments the network loses, `late` those
/// it delivers 5 ms late, after the segments sent in between (reordering). Returns everything observable after each step (both
/// connections' `Debug` state, their events, the segments they sent) and how
/// many ACKs reached the client with the loss-side steps idle and not.
fn ack_trace(config: &TcpConfig, drops: &[usize], late: &[usize]) -> (Vec<String>, [u32; 2]) {
    let (mut c, mut s) = pair(config.clone());
    let mut trace = Vec::new();
    let mut idle = [0u32; 2];
    let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let mut sent = 0;
    let mut now = t(10);
    let mut n = 0usize;
    let mut buf = vec![0u8; 65536];
    let mut closed = false;
    let mut held: Vec<(Instant, Seg)> = Vec::new();
    for _ in 0..2_000 {
        if sent < data.len() {
            sent += c.send(&data[sent..]).unwrap_or(0);
        } else if !closed && c.send_queue() == 0 {
            c.shutdown_write(now);
            closed = true;
        }
        let out_c = poll_all(&mut c, now);
        let mut out_s = Vec::new();
        let mut arriving: Vec<Seg> = Vec::new();
        held.retain(|(due, seg)| {
            let keep = *due > now;
            if !keep {
                arriving.push(seg.clone());
            }
            keep
        });
        for seg in &out_c {
            n += 1;
            trace.push(format!("c> {:?}", seg.bytes));
            if drops.contains(&n) {
                continue;
            }
            if late.contains(&n) {
                held.push((now + Duration::from_millis(5), seg.clone()));
                continue;
            }
            arriving.push(seg.clone());
        }
        for seg in &arriving {
            s.handle_segment(now, &seg.repr());
            // Each segment's ACK leaves before the next arrives.
            out_s.extend(poll_all(&mut s, now));
        }
        while let Ok(k) = s.recv(now, &mut buf) {
            if k == 0 {
                if s.state() == State::CloseWait {
                    s.shutdown_write(now);
                }
                break;
            }
        }
        out_s.extend(poll_all(&mut s, now));
        for seg in &out_s {
            trace.push(format!("s> {:?}", seg.bytes));
            idle[usize::from(!c.loss_idle())] += 1;
            c.handle_segment(now, &seg.repr());
        }
        trace.push(format!("{c:?} {:?}", c.take_events()));
        trace.push(format!("{s:?} {:?}", s.take_events()));
        if c.state() == State::Closed
            || (c.state() == State::TimeWait && s.state() == State::Closed)
        {
            break;
        }
        if out_c.is_empty() && out_s.is_empty() && arriving.is_empty() {
            let next = [c.poll_timeout(), s.poll_timeout()]
                .into_iter()
                .chain(held.iter().map(|(due, _)| Some(*due)))
                .flatten()
                .min();
            let Some(next) = next else { break };
            now = next.max(now);
            c.handle_timeout(now);
            s.handle_timeout(now);
        } else {
            now += Duration::from_millis(1);
        }
    }
    (trace, idle)
}

/// The ACK shortcuts (`sack_idle`, `loss_idle`) against every step of the general
/// processing, on the same transfer: the same states, events and segments.
fn ack_shortcuts_agree(config: &TcpConfig, drops: &[usize], late: &[usize]) -> [u32; 2] {
    let (fast, idle) = ack_trace(config, drops, late);
    super::ack::FORCE_GENERAL_ACK.set(true);
    let (general, _) = ack_trace(config, drops, late);
    super::ack::FORCE_GENERAL_ACK.set(false);
    assert_eq!(fast.len(), general.len());
    for (i, (a, b)) in fast.iter().zip(&general).enumerate() {
        assert_eq!(a, b, "step {i} differs (drops {drops:?}, late {late:?})");
    }
    idle
}

#[test]
fn rack_one_pass_update_is_taken_in_order_and_refused_for_resent_or_reordered_records() {
    let runs = || super::rack::RACK_RUNS.get();
    let [t0, n0] = runs();
    ack_shortcuts_agree(&TcpConfig::default(), &[], &[]);
    let [t1, n1] = runs();
    assert!(t1 - t0 > 10, "the one pass is taken ({})", t1 - t0);
    assert_eq!(n1, n0, "nothing resent or reordered");
    // Losses and reordering: retransmitted records and deliveries below RACK.fack
    // take the per-record updates, with the same result (`ack_shortcuts_agree`).
    for (drops, late) in [(&[3][..], &[][..]), (&[], &[3, 4]), (&[], &[20])] {
        let [_, n0] = runs();
        ack_shortcuts_agree(&TcpConfig::default(), drops, late);
        let [_, n1] = runs();
        assert!(n1 > n0, "drops {drops:?}, late {late:?}: refused");
    }
}

#[test]
fn ack_shortcuts_change_nothing_in_a_clean_transfer() {
    let [idle, busy] = ack_shortcuts_agree(&TcpConfig::default(), &[], &[]);
    assert!(idle > 10, "the shortcut is taken ({idle})");
    assert_eq!(busy, 0);
}

#[test]
fn ack_shortcuts_refuse_sack_recovery_and_undo_and_change_nothing() {
    for drops in [&[3][..], &[3, 4, 9], &[12, 13, 14, 15], &[1]] {
        let [idle, busy] = ack_shortcuts_agree(&TcpConfig::default(), drops, &[]);
        assert!(
            idle > 0 && busy > 0,
            "drops {drops:?}: {idle} idle, {busy} not"
        );
    }
}

#[test]
fn ack_shortcuts_refuse_a_tail_loss_and_its_retransmission_and_change_nothing() {
    // The last data segments and a retransmission are lost: probe, timeout, F-RTO.
    for drops in [&[28, 29][..], &[29], &[5, 31], &[29, 30, 31, 32]] {
        ack_shortcuts_agree(&TcpConfig::default(), drops, &[]);
    }
}

#[test]
fn ack_shortcuts_change_nothing_without_sack_or_timestamps() {
    let no_sack = TcpConfig {
        sack: false,
        ..TcpConfig::default()
    };
    let no_ts = TcpConfig {
        timestamps: false,
        ..TcpConfig::default()
    };
    let newreno = TcpConfig {
        congestion_control: "newreno".into(),
        ..TcpConfig::default()
    };
    let no_rack = TcpConfig {
        rack: false,
        ..TcpConfig::default()
    };
    for config in [no_sack, no_ts, newreno, no_rack] {
        for drops in [&[][..], &[3], &[3, 4, 9], &[29]] {
            ack_shortcuts_agree(&config, drops, &[]);
        }
    }
}

#[test]
fn ack_shortcuts_refuse_a_spurious_recovery_and_its_undo_and_change_nothing() {
    // Reordered segments draw duplicate ACKs and SACK blocks, a retransmission
    // that proves spurious (D-SACK, Eifel) and an undo.
    for late in [&[3][..], &[3, 4], &[5, 12], &[20]] {
        let [idle, busy] = ack_shortcuts_agree(&TcpConfig::default(), &[], late);
        assert!(
            idle > 0 && busy > 0,
            "late {late:?}: {idle} idle, {busy} not"
        );
    }
    let no_sack = TcpConfig {
        sack: false,
        ..TcpConfig::default()
    };
    ack_shortcuts_agree(&no_sack, &[], &[3, 4]);
    // Without timestamps no Eifel: the D-SACK decides, ACKs later.
    let no_ts = TcpConfig {
        timestamps: false,
        ..TcpConfig::default()
    };
    for late in [&[3][..], &[3, 4], &[5, 12], &[20]] {
        ack_shortcuts_agree(&no_ts, &[], late);
    }
}

#[test]
fn a_fin_ahead_of_a_hole_waits_through_pure_acks_and_is_taken_when_the_hole_fills() {
    let (mut c, mut s) = pair(TcpConfig::default());
    // Two full-sized segments, both sent at once.
    let data = pattern_bytes(2 * 1448);
    assert_eq!(c.send(&data), Ok(data.len()));
    let segs = poll_all(&mut c, t(10));
    assert_eq!(segs.len(), 2);
    // A bare FIN (no data with it) after the data.
    c.close(t(10));
    let fin = poll(&mut c, t(10)).unwrap();
    assert!(fin.repr().flags.contains(TcpFlags::FIN) && fin.repr().payload.is_empty());
    // The first segment is lost: the rest, and the FIN, lie past a hole.
    for seg in segs[1..].iter().chain([&fin]) {
        s.handle_segment(t(11), &seg.repr());
    }
    assert_eq!(s.state(), State::Established);
    // Pure ACKs from the client (of the server's own data) meanwhile: the FIN
    // stays held, and the data past the hole with it.
    assert_eq!(s.send(b"reply"), Ok(5));
    for round in 0..2 {
        for seg in poll_all(&mut s, t(12 + round)) {
            c.handle_segment(t(12 + round), &seg.repr());
        }
        for ack in poll_all(&mut c, t(12 + round)) {
            let repr = ack.repr();
            assert!(repr.payload.is_empty() && !repr.flags.contains(TcpFlags::FIN));
            s.handle_segment(t(12 + round), &repr);
        }
        assert_eq!(s.state(), State::Established);
    }
    let mut buf = [0u8; 4096];
    // Nothing readable before the hole fills.
    assert!(s.recv(t(15), &mut buf).is_err());
    // The retransmission fills the hole: the data and then the FIN are taken.
    s.handle_segment(t(16), &segs[0].repr());
    assert_eq!(s.state(), State::CloseWait);
    let mut read = Vec::new();
    loop {
        match s.recv(t(16), &mut buf) {
            Ok(0) => break,
            Ok(n) => read.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{e:?} after {} bytes", read.len()),
        }
    }
    assert_eq!(read, data);
}

fn pattern_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Reads everything `conn` has in order; `None` once it reports end of stream
/// with nothing read.
fn read_all(conn: &mut Connection, now: Instant) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.recv(now, &mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.2
//# SYN-SENT STATE
//# SYN-RECEIVED STATE
//# Queue the data for transmission after entering ESTABLISHED state.
#[test]
fn data_written_while_connecting_then_shut_down_goes_out_before_the_fin() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let syn = poll(&mut c, t(0)).expect("SYN");
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(c.send(&data), Ok(data.len()));
    // The application is done writing before the handshake completes: the FIN
    // waits behind the data (BSD's TF_NEEDFIN), nothing written is dropped.
    c.shutdown_write(t(0));
    assert_eq!(c.state(), State::SynSent);
    assert_eq!(c.send(b"more"), Err(UserError::SendClosed));
    let mut s = Connection::accept(
        t(1),
        config.clone(),
        params(B, A, 5000, &config),
        &SynInfo::from_repr(&syn.repr()),
    );
    exchange(&mut c, &mut s, t(2));
    let (got, eof) = read_all(&mut s, t(2));
    assert_eq!(got, data);
    assert!(eof, "the FIN follows the data");
    assert_eq!(c.state(), State::FinWait2);
    assert_eq!(s.state(), State::CloseWait);
    // Only writing was shut down: the client still reads what the server sends.
    assert_eq!(s.send(b"reply"), Ok(5));
    exchange(&mut c, &mut s, t(3));
    assert_eq!(read_all(&mut c, t(3)).0, b"reply");
}

#[test]
fn closing_while_connecting_with_data_written_still_delivers_it() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let syn = poll(&mut c, t(0)).expect("SYN");
    assert_eq!(c.send(b"request"), Ok(7));
    c.close(t(0));
    assert_eq!(c.state(), State::SynSent);
    let mut s = Connection::accept(
        t(1),
        config.clone(),
        params(B, A, 5000, &config),
        &SynInfo::from_repr(&syn.repr()),
    );
    exchange(&mut c, &mut s, t(2));
    assert_eq!(read_all(&mut s, t(2)), (b"request".to_vec(), true));
    assert_eq!(c.state(), State::FinWait2);
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
//# SYN-SENT STATE
//# Delete the TCB and return "error: closing" responses to any
//# queued SENDs, or RECEIVEs.
#[test]
fn shutting_down_while_connecting_with_nothing_written_ends_the_connection() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let _syn = poll(&mut c, t(0)).expect("SYN");
    c.shutdown_write(t(0));
    assert_eq!(c.state(), State::Closed);
    assert!(
        poll(&mut c, t(1)).is_none(),
        "nothing is sent for a deleted TCB"
    );
}

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.4
//# SYN-RECEIVED STATE
//# If no SENDs have been issued and there is no pending data to send,
//# then form a FIN segment and send it, and enter FIN-WAIT-1 state;
//# otherwise, queue for processing after entering ESTABLISHED state.
#[test]
fn shutting_down_in_syn_received_sends_a_fin_not_a_reset() {
    let (mut a, mut b) = simultaneous_syns();
    assert_eq!(a.state(), State::SynReceived);
    assert_eq!(a.send(b"last words"), Ok(10));
    a.shutdown_write(t(1));
    assert_eq!(a.error(), None);
    exchange(&mut a, &mut b, t(2));
    assert_eq!(b.error(), None, "no reset reached the peer");
    assert_eq!(read_all(&mut b, t(2)), (b"last words".to_vec(), true));
    assert_eq!(a.state(), State::FinWait2);
    assert_eq!(b.state(), State::CloseWait);
}

/// Both sides time out after the other received all their data but before any
/// ACK got through: each goes back to SND.UNA (go-back-N), so SND.NXT falls
/// below what the peer already holds.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
//# If a segment's contents straddle the boundary between old and new, only
//# the new parts are processed.
#[test]
fn acks_after_a_go_back_n_timeout_carry_the_highest_sequence_sent() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let len = 3 * u32::from(c.info(t(10)).snd_mss);
    both_time_out_after_delivering(&mut c, &mut s);
    let next = assert_an_ack_alone_takes_snd_max(&mut c, &mut s, 1001 + len);
    assert_acks_get_through(&mut c, &mut s, next);
}

/// After [`both_time_out_after_delivering`], the server's next retransmission
/// reaches the client, which answers with an ACK alone: at the highest
/// sequence number it sent, `snd_max`, not at the SND.NXT its timeout moved
/// back to its ISS + 1. Returns when; the answer has reached the server.
fn assert_an_ack_alone_takes_snd_max(
    c: &mut Connection,
    s: &mut Connection,
    snd_max: u32,
) -> Instant {
    let next = s.poll_timeout().expect("the server's retransmission timer");
    s.handle_timeout(next);
    let from_s = poll_all(s, next);
    c.handle_segment(next, &from_s[0].repr());
    let answer = poll_all(c, next)
        .into_iter()
        .find(|seg| seg.repr().payload.is_empty())
        .expect("an ACK alone");
    assert_eq!(answer.repr().seq_number, SeqNumber(snd_max));
    s.handle_segment(next, &answer.repr());
    next
}

/// Three full segments each way (a partial one would wait for Nagle), each
/// delivered and read, every ACK of them lost, and everything either side
/// sends lost too until both retransmission timers have fired (a tail loss
/// probe comes first).
fn both_time_out_after_delivering(c: &mut Connection, s: &mut Connection) {
    let len = 3 * usize::from(c.info(t(10)).snd_mss);
    let data = vec![0x5a; len];
    assert_eq!(c.send(&data), Ok(len));
    assert_eq!(s.send(&data), Ok(len));
    let from_c = poll_all(c, t(10));
    let from_s = poll_all(s, t(10));
    assert_eq!((from_c.len(), from_s.len()), (3, 3));
    for seg in &from_c {
        s.handle_segment(t(11), &seg.repr());
    }
    for seg in &from_s {
        c.handle_segment(t(11), &seg.repr());
    }
    let _ = poll_all(c, t(11));
    let _ = poll_all(s, t(11));
    let mut buf = vec![0u8; 8192];
    assert_eq!(c.recv(t(11), &mut buf), Ok(len));
    assert_eq!(s.recv(t(11), &mut buf), Ok(len));
    let _ = poll_all(c, t(11));
    let _ = poll_all(s, t(11));
    let mut rto = t(11);
    while c.info(rto).backoff == 0 || s.info(rto).backoff == 0 {
        rto = [c.poll_timeout(), s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        c.handle_timeout(rto);
        s.handle_timeout(rto);
        let _ = poll_all(c, rto);
        let _ = poll_all(s, rto);
        assert!(rto < t(10_000));
    }
}

/// From `rto` the link delivers everything: within a few more timeouts, and
/// two seconds, both sides learn that all they sent arrived.
fn assert_acks_get_through(c: &mut Connection, s: &mut Connection, rto: Instant) {
    let mut now = rto;
    for _ in 0..6 {
        exchange(c, s, now);
        if c.info(now).unacked == 0 && s.info(now).unacked == 0 {
            break;
        }
        now = [c.poll_timeout(), s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        c.handle_timeout(now);
        s.handle_timeout(now);
    }
    assert_eq!(
        (c.info(now).unacked, s.info(now).unacked),
        (0, 0),
        "each side keeps discarding the other's ACKs"
    );
    assert!(
        now < rto + Duration::from_secs(2),
        "recovered only at {now:?}"
    );
}

#[test]
fn an_abort_after_a_go_back_n_timeout_resets_the_peer() {
    let (mut c, mut s) = pair(TcpConfig::default());
    let len = 3 * usize::from(c.info(t(10)).snd_mss);
    assert_eq!(c.send(&vec![7; len]), Ok(len));
    for seg in poll_all(&mut c, t(10)) {
        s.handle_segment(t(11), &seg.repr());
    }
    // The server's ACKs are lost; the client times out and goes back to SND.UNA.
    let _ = poll_all(&mut s, t(11));
    let mut now = t(11);
    while c.info(now).backoff == 0 {
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        let _ = poll_all(&mut c, now);
    }
    c.abort();
    let rst = poll(&mut c, now).expect("RST");
    assert!(rst.repr().flags.contains(TcpFlags::RST));
    s.handle_segment(now, &rst.repr());
    assert_eq!(
        s.state(),
        State::Closed,
        "the RST fell outside the peer's window"
    );
    assert_eq!(s.error(), Some(TcpError::Reset));
}

/// A peer that filled our window sends its ACKs at its SND.NXT, our window's
/// right edge, while the data before it is still on the way (or lost).
#[test]
fn an_ack_at_the_right_edge_of_the_window_is_accepted_as_linux_accepts_it() {
    let mut c = client_plain();
    assert_eq!(c.send(&[1; 100]), Ok(100));
    let data = poll(&mut c, t(2)).expect("data");
    let wnd = u32::from(data.repr().window_len) << c.info(t(2)).wscale.map_or(0, |w| w.1);
    assert!(wnd > 0);
    let edge = 5001 + wnd;
    c.handle_segment(t(3), &segment(edge, 1101, TcpFlags::ACK, &[]));
    assert_eq!(
        c.info(t(3)).unacked,
        0,
        "the ACK at the right edge was dropped"
    );
    // One past the edge is still outside the window.
    assert_eq!(c.send(&[2; 10]), Ok(10));
    let _ = poll(&mut c, t(4)).expect("data");
    c.handle_segment(t(5), &segment(edge + 1, 1111, TcpFlags::ACK, &[]));
    assert_eq!(c.info(t(5)).unacked, 10);
}

#[test]
fn an_abort_in_closing_last_ack_or_time_wait_sends_no_reset() {
    // TIME-WAIT: the client closed first, the handshake of FINs is done.
    let (mut c, mut s) = pair(TcpConfig::default());
    c.shutdown_write(t(10));
    exchange(&mut c, &mut s, t(10));
    s.shutdown_write(t(11));
    exchange(&mut c, &mut s, t(11));
    assert_eq!(c.state(), State::TimeWait);
    // LAST-ACK: the server's FIN not yet acknowledged.
    let (mut c2, mut s2) = pair(TcpConfig::default());
    c2.shutdown_write(t(10));
    exchange(&mut c2, &mut s2, t(10));
    s2.shutdown_write(t(11));
    let _fin = poll(&mut s2, t(11)).expect("FIN");
    assert_eq!(s2.state(), State::LastAck);
    for (conn, was) in [(&mut c, State::TimeWait), (&mut s2, State::LastAck)] {
        conn.abort();
        assert_eq!(conn.state(), State::Closed, "from {was:?}");
        let sent = poll_all(conn, t(12));
        assert!(
            sent.iter()
                .all(|seg| !seg.repr().flags.contains(TcpFlags::RST)),
            "a RST from {was:?}"
        );
    }
}

/// A peer that went back to SND.UNA after a timeout, with its FIN past our
/// window, sends its ACKs at its FIN's place: one below our RCV.NXT.
#[test]
fn an_ack_alone_below_rcv_nxt_acknowledging_new_data_is_taken_and_answered() {
    let mut c = client_plain();
    c.handle_segment(
        t(2),
        &segment(5001, 1001, TcpFlags::FIN | TcpFlags::ACK, &[]),
    );
    assert_eq!(c.state(), State::CloseWait);
    let _ack = poll_all(&mut c, t(2));
    assert_eq!(c.send(&[9; 100]), Ok(100));
    let _data = poll(&mut c, t(3)).expect("data");
    // Our RCV.NXT is 5002 (past the FIN): the ACK at 5001 is old, yet true.
    c.handle_segment(t(4), &segment(5001, 1101, TcpFlags::ACK, &[]));
    assert_eq!(c.info(t(4)).unacked, 0, "the acknowledgement was dropped");
    let answer = poll(&mut c, t(4)).expect("answered as a keep-alive");
    assert_eq!(answer.repr().ack_number, SeqNumber(5002));
    // More than a window below is still only answered.
    assert_eq!(c.send(&[9; 10]), Ok(10));
    let _data = poll(&mut c, t(5)).expect("data");
    let far = 5002u32.wrapping_sub(1 << 20);
    c.handle_segment(t(6), &segment(far, 1111, TcpFlags::ACK, &[]));
    assert_eq!(c.info(t(6)).unacked, 10);
    // Within a window below (a peer that went back behind a window of ours it
    // has not seen grow), it is taken.
    c.handle_segment(t(7), &segment(4000, 1111, TcpFlags::ACK, &[]));
    assert_eq!(c.info(t(7)).unacked, 0);
}

/// The ACK alone below RCV.NXT is taken at most the largest window we can
/// advertise below it, not the receive buffer's size: without window scaling
/// (the peer offered none), 65,535 bytes, however large the buffer. (A
/// buffer-sized span gave a blind forger four times the sequence numbers of
/// the window above RCV.NXT with the default 256 KiB buffer, where
/// docs/SECURITY.md counts one window.)
#[test]
fn an_ack_alone_further_below_rcv_nxt_than_the_largest_window_is_only_answered() {
    let mut c = client_plain();
    assert_eq!(c.info(t(2)).wscale, None);
    assert!(c.recv_buf.limit() > 65535);
    assert_eq!(c.send(&[9; 100]), Ok(100));
    let _data = poll(&mut c, t(3)).expect("data");
    c.handle_segment(
        t(4),
        &segment(5001u32.wrapping_sub(70_000), 1101, TcpFlags::ACK, &[]),
    );
    assert_eq!(c.info(t(4)).unacked, 100, "taken from 70,000 below");
    c.handle_segment(
        t(5),
        &segment(5001u32.wrapping_sub(65_535), 1101, TcpFlags::ACK, &[]),
    );
    assert_eq!(c.info(t(5)).unacked, 0, "not taken from a window below");
}

/// [`an_ack_alone_below_rcv_nxt_acknowledging_new_data_is_taken_and_answered`]
/// between two connections that negotiated ECN: a pure ACK carries ECN flags
/// too (with Accurate ECN, the ACE counter in AE, CWR and ECE, which starts at
/// 5; with RFC 3168's ECN, ECE while it echoes a CE mark). It is still an ACK
/// alone: no SYN, FIN, RST or URG, and no data.
#[test]
fn an_ack_alone_below_rcv_nxt_with_ecn_flags_is_taken() {
    for ecn in [
        crate::tcp::config::EcnMode::AccEcn,
        crate::tcp::config::EcnMode::On,
    ] {
        let config = Arc::new(TcpConfig {
            ecn,
            ..TcpConfig::default()
        });
        let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
        let syn = poll(&mut c, t(0)).expect("SYN");
        let mut s = Connection::accept(
            t(0),
            config.clone(),
            params(B, A, 5000, &config),
            &SynInfo::from_repr(&syn.repr()),
        );
        exchange(&mut c, &mut s, t(1));
        assert!(c.info(t(1)).ecn, "{ecn:?} negotiated");
        // The server's FIN reaches the client: CLOSE-WAIT, RCV.NXT past it.
        s.shutdown_write(t(10));
        exchange(&mut c, &mut s, t(10));
        assert_eq!(c.state(), State::CloseWait);
        let fin_seq = s.snd_max - 1u32;
        assert_eq!(c.send(&[9; 100]), Ok(100));
        let data = poll_all(&mut c, t(11));
        s.handle_segment(t(11), &data[0].repr());
        s.handle_timeout(t(12));
        let acks = poll_all(&mut s, t(12));
        let mut ack = acks.last().expect("the server's ACK").repr();
        if ecn == crate::tcp::config::EcnMode::On {
            // The server echoes a CE mark.
            ack.flags.insert(TcpFlags::ECE);
        }
        assert_ne!(ack.flags, TcpFlags::ACK, "{ecn:?}: ECN flags on the ACK");
        // The server went back to its FIN's place (a timeout): its ACK is at
        // the FIN's sequence number, one below the client's RCV.NXT.
        ack.seq_number = fin_seq;
        c.handle_segment(t(12), &ack);
        assert_eq!(
            c.info(t(12)).unacked,
            0,
            "{ecn:?}: the acknowledgement was dropped"
        );
    }
}

/// [`acks_after_a_go_back_n_timeout_carry_the_highest_sequence_sent`] with each
/// side's flight filling the peer's window exactly (receive buffers of three
/// segments): SND.MAX is then the window's right edge, where the peer, which
/// received everything (RCV.NXT = SND.MAX), still accepts a zero-length
/// segment (RFC 9293: with RCV.WND > 0, RCV.NXT =< SEG.SEQ; with RCV.WND = 0,
/// SEG.SEQ = RCV.NXT) and SND.NXT is below RCV.NXT. Linux's
/// `tcp_acceptable_seq` takes SND.NXT whenever it is not past the window's end.
#[test]
fn acks_after_a_go_back_n_timeout_take_snd_max_also_at_the_windows_edge() {
    let mss = usize::from(pair(TcpConfig::default()).0.info(t(10)).snd_mss);
    let (mut c, mut s) = pair(TcpConfig {
        recv_buffer: 3 * mss,
        window_scaling: false,
        ..TcpConfig::default()
    });
    let len = 3 * u32::from(c.info(t(10)).snd_mss);
    both_time_out_after_delivering(&mut c, &mut s);
    let next = assert_an_ack_alone_takes_snd_max(&mut c, &mut s, 1001 + len);
    assert_acks_get_through(&mut c, &mut s, next);
}

/// A SYN-ACK that carries a FIN reaches a client that wrote and shut down
/// writing while connecting: ESTABLISHED, at once FIN-WAIT-1 for the queued
/// FIN, and the peer's FIN takes it on to CLOSING (RFC 9293 section
/// 3.10.7.4, the FIN in FIN-WAIT-1 before ours is acknowledged); the data and
/// the FIN then go out, the end of the stream is read, and the ACK of our FIN
/// ends in TIME-WAIT.
#[test]
fn a_syn_ack_with_a_fin_after_a_shutdown_while_connecting_closes_both_ways() {
    let config = Arc::new(TcpConfig::default());
    let mut c = Connection::connect(t(0), config.clone(), params(A, B, 1000, &config));
    let syn = poll(&mut c, t(0)).expect("SYN");
    assert_eq!(c.send(b"request"), Ok(7));
    c.shutdown_write(t(0));
    let mut s = Connection::accept(
        t(1),
        config.clone(),
        params(B, A, 5000, &config),
        &SynInfo::from_repr(&syn.repr()),
    );
    let synack = poll(&mut s, t(1)).expect("SYN-ACK");
    let mut repr = synack.repr();
    repr.flags.insert(TcpFlags::FIN);
    let _ = c.take_events();
    c.handle_segment(t(2), &repr);
    assert_eq!(c.state(), State::Closing);
    assert!(c.take_events().contains(ConnEvents::CONNECTED));
    assert_eq!(read_all(&mut c, t(2)), (Vec::new(), true));
    let out = poll_all(&mut c, t(2));
    let sent: Vec<_> = out.iter().map(|s| s.repr()).collect();
    let data: Vec<u8> = sent.iter().flat_map(|r| r.payload.to_vec()).collect();
    assert_eq!(data, b"request");
    let last = sent.last().unwrap();
    assert!(last.flags.contains(TcpFlags::FIN), "{sent:?}");
    // The SYN-ACK's FIN is acknowledged: 5000 + SYN + FIN.
    assert_eq!(last.ack_number, SeqNumber(5002));
    assert_eq!(last.seq_number, SeqNumber(1001));
    // The peer acknowledges the data and the FIN.
    let mut ack = repr;
    ack.flags = TcpFlags::ACK;
    ack.seq_number = SeqNumber(5002);
    ack.ack_number = SeqNumber(1001 + 7 + 1);
    ack.options = Default::default();
    ack.payload = &[];
    c.handle_segment(t(3), &ack);
    assert_eq!(c.state(), State::TimeWait);
}

#[test]
fn sack_blocks_on_data_segments_come_out_of_the_payload_not_past_the_peer_mss() {
    // The peer's MSS is 1000 (no timestamps): a segment's data and options
    // together may not exceed it (RFC 9293 3.7.1, RFC 6691).
    let mut c = client_sack(10);
    // Data from the peer out of order: the client owes SACK blocks on what it sends.
    c.handle_segment(t(5), &segment(6001, 1001, TcpFlags::ACK, &[9u8; 500]));
    let ack = poll_all(&mut c, t(5));
    assert_eq!(ack.len(), 1, "the immediate ACK of out-of-order data");
    assert_eq!(ack[0].repr().options.sack_ranges.len(), 1);
    let mut o = *c.options();
    o.nodelay = true; // the short last segment goes too
    c.set_options(t(5), o);
    c.send(&[3u8; 3000]).unwrap();
    let segs = poll_all(&mut c, t(6));
    let mut sent = 0;
    for s in &segs {
        let r = s.repr();
        assert_eq!(
            r.options.sack_ranges.len(),
            1,
            "SACK blocks on every segment"
        );
        let options = r.header_len() - 20;
        assert!(
            r.payload.len() + options <= 1000,
            "{} bytes of data and {options} of options",
            r.payload.len()
        );
        sent += r.payload.len();
    }
    assert_eq!(sent, 3000, "all of it sent, in segments made smaller");
    assert_eq!(
        segs[0].repr().payload.len(),
        1000 - 12,
        "a SACK option of one block: 10 bytes, padded to 12"
    );
}

#[test]
fn a_path_mtu_that_keeps_falling_postpones_the_retransmission_timer_only_once() {
    let (mut c, _s) = pair(TcpConfig::default());
    c.send(&[1u8; 4000]).unwrap();
    assert!(!poll_all(&mut c, t(10)).is_empty());
    // A "too big": everything in flight goes again at the smaller size, and
    // the resend of the first segment restarts the timer (its ACK needs a round
    // trip).
    assert!(c.on_path_mtu(1000));
    assert!(!poll_all(&mut c, t(20)).is_empty());
    let deadline = c.timers.get(Timer::Retransmit).expect("RTO armed");
    assert!(deadline > t(20));
    // The estimate expires and is raised, and the next "too big" comes, with no
    // ACK between: the resend does not put the timer off again.
    assert!(c.raise_path_mtu(1500));
    assert!(c.on_path_mtu(1000));
    assert!(!poll_all(&mut c, t(30)).is_empty());
    assert_eq!(c.timers.get(Timer::Retransmit), Some(deadline));
    // The timeout fires then (after a tail loss probe due no later).
    for _ in 0..3 {
        let (timer, at) = c.next_timer().expect("a timer");
        assert!(at <= deadline, "{timer:?} at {at:?}");
        c.handle_timeout(at);
        poll_all(&mut c, at);
        if timer == Timer::Retransmit {
            break;
        }
    }
    assert_eq!(c.info(deadline).retransmits, 1, "the timeout fired");
}
