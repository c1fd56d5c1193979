//! Accurate ECN (RFC 9768), segment by segment: connections driven with hand-made
//! segments and explicit times, timestamps off, MSS 1000. The client is A (ISS
//! 1000, data from 1001), the server B (ISS 5000).
//!
//! The handshake cases of RFC 9768 Table 2 (AccECN against AccECN, classic ECN,
//! no ECN and a "broken" server), the handshake feedback of the IP-ECN fields, the
//! receiver's ACE field with wrap-around, the sender's count and its reaction,
//! and hostile ACE values.

use std::sync::Arc;

use layer4::tcp::{Connection, EcnMode, OpenParams, SocketOptions, State, SynInfo, TcpConfig};
use layer4::time::Instant;
use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

const A: &str = "10.0.0.1:40000";
const B: &str = "10.0.0.2:80";

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

fn config(ecn: EcnMode) -> Arc<TcpConfig> {
    Arc::new(TcpConfig {
        ecn,
        timestamps: false,
        window_scaling: false,
        ..TcpConfig::default()
    })
}

fn params(local: &str, remote: &str, iss: u32, c: &TcpConfig) -> OpenParams {
    OpenParams {
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        iss: SeqNumber(iss),
        ts_offset: 0,
        path_mtu: 1040,
        options: SocketOptions::from_config(c),
        cc: c.default_congestion_algorithm(),
    }
}

/// A segment as it left a connection, with its IP codepoint.
struct Out {
    bytes: Vec<u8>,
    addrs: AddrPair,
    ecn: Ecn,
}

impl Out {
    fn repr(&self) -> TcpRepr<'_> {
        let packet = TcpPacket::new_checked(&self.bytes[..]).unwrap();
        TcpRepr::parse(&packet, &self.addrs, ChecksumMode::Enabled).unwrap()
    }

    fn ace(&self) -> u8 {
        ace(self.repr().flags)
    }
}

fn ace(f: TcpFlags) -> u8 {
    u8::from(f.contains(TcpFlags::AE)) << 2
        | u8::from(f.contains(TcpFlags::CWR)) << 1
        | u8::from(f.contains(TcpFlags::ECE))
}

fn ace_flags(v: u32) -> TcpFlags {
    let mut f = TcpFlags::empty();
    if v & 4 != 0 {
        f.insert(TcpFlags::AE);
    }
    if v & 2 != 0 {
        f.insert(TcpFlags::CWR);
    }
    if v & 1 != 0 {
        f.insert(TcpFlags::ECE);
    }
    f
}

fn poll(c: &mut Connection, now: Instant) -> Option<Out> {
    let mut buf = [0u8; 1600];
    let addrs = AddrPair::new(c.local().ip(), c.remote().ip()).unwrap();
    let n = c.poll_transmit(now, &mut buf[..1480], &addrs, ChecksumMode::Enabled)?;
    Some(Out {
        bytes: buf[..n].to_vec(),
        addrs,
        ecn: c.tx_ecn(),
    })
}

fn poll_all(c: &mut Connection, now: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    while let Some(s) = poll(c, now) {
        out.push(s);
        assert!(out.len() < 1000, "runaway transmit loop");
    }
    out
}

/// The outcome of a handshake between a client and a server.
struct Handshake {
    c: Connection,
    s: Connection,
    syn: TcpFlags,
    synack: TcpFlags,
    ack: TcpFlags,
}

/// A handshake between a client in `client` mode and a server in `server` mode;
/// the SYN arrives with IP-ECN `syn_ecn`, the SYN-ACK with `synack_ecn`.
fn handshake(client: EcnMode, server: EcnMode, syn_ecn: Ecn, synack_ecn: Ecn) -> Handshake {
    let (cc, sc) = (config(client), config(server));
    let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
    let syn = poll(&mut c, t(0)).unwrap();
    assert_eq!(syn.ecn, Ecn::NotEct, "a SYN is never ECT");
    let info = SynInfo {
        ip_ecn: syn_ecn,
        ..SynInfo::from_repr(&syn.repr())
    };
    let mut s = Connection::accept(t(0), sc.clone(), params(B, A, 5000, &sc), &info);
    let synack = poll(&mut s, t(1)).unwrap();
    assert_eq!(synack.ecn, Ecn::NotEct, "a SYN-ACK is never ECT");
    c.handle_segment_ecn(t(2), &synack.repr(), synack_ecn);
    assert_eq!(c.state(), State::Established);
    let ack = poll(&mut c, t(2)).unwrap();
    s.handle_segment_ecn(t(3), &ack.repr(), Ecn::NotEct);
    assert_eq!(s.state(), State::Established);
    Handshake {
        syn: syn.repr().flags,
        synack: synack.repr().flags,
        ack: ack.repr().flags,
        c,
        s,
    }
}

#[test]
fn accecn_on_both_sides_negotiates_accecn_and_feeds_back_the_handshake_ip_ecn() {
    let h = handshake(EcnMode::AccEcn, EcnMode::AccEcn, Ecn::NotEct, Ecn::NotEct);
    assert_eq!(ace(h.syn), 0b111, "an AccECN SYN sets AE, CWR and ECE");
    // Table 3: a Not-ECT SYN is fed back as (0, 1, 0).
    assert_eq!(ace(h.synack), 0b010);
    // Table 4: the handshake's ACK feeds back the Not-ECT SYN-ACK as (0, 1, 0).
    assert_eq!(ace(h.ack), 0b010);
    assert!(h.c.accecn_enabled() && h.s.accecn_enabled());
    assert!(h.c.ecn_enabled() && h.s.ecn_enabled());
    assert_eq!(h.c.accecn_cep(), Some((5, 5)), "both counters start at 5");
    assert_eq!(h.s.accecn_cep(), Some((5, 5)));
    let info = h.c.info(t(3));
    assert!(info.accecn && info.ecn);
    assert!(info.to_string().contains("accecn "));
}

#[test]
fn the_syn_ack_encodes_each_ip_ecn_value_of_the_syn() {
    for (ecn, want) in [
        (Ecn::NotEct, 0b010),
        (Ecn::Ect1, 0b011),
        (Ecn::Ect0, 0b100),
        (Ecn::Ce, 0b110),
    ] {
        let h = handshake(EcnMode::AccEcn, EcnMode::AccEcn, ecn, Ecn::NotEct);
        assert_eq!(ace(h.synack), want, "SYN arrived {ecn:?}");
        assert!(h.c.accecn_enabled(), "SYN arrived {ecn:?}");
        // And the handshake's ACK encodes the SYN-ACK's codepoint the same way.
        let h = handshake(EcnMode::AccEcn, EcnMode::AccEcn, Ecn::NotEct, ecn);
        assert_eq!(ace(h.ack), want, "SYN-ACK arrived {ecn:?}");
    }
}

#[test]
fn accecn_client_against_a_classic_ecn_server_uses_classic_ecn() {
    let h = handshake(EcnMode::AccEcn, EcnMode::On, Ecn::NotEct, Ecn::NotEct);
    assert_eq!(ace(h.synack), 0b001, "a classic ECN-setup SYN-ACK");
    assert!(h.c.ecn_enabled() && h.s.ecn_enabled());
    assert!(!h.c.accecn_enabled() && !h.s.accecn_enabled());
    assert!(h.c.info(t(3)).to_string().contains("ecn "));
    assert!(!h.c.info(t(3)).to_string().contains("accecn"));
    // The default (passive) server also answers with classic ECN.
    let h = handshake(EcnMode::AccEcn, EcnMode::Passive, Ecn::NotEct, Ecn::NotEct);
    assert!(h.c.ecn_enabled() && !h.c.accecn_enabled());
}

#[test]
fn accecn_client_against_a_server_without_ecn_uses_none() {
    let mut h = handshake(EcnMode::AccEcn, EcnMode::Off, Ecn::NotEct, Ecn::NotEct);
    assert_eq!(ace(h.synack), 0b000);
    assert!(!h.c.ecn_enabled() && !h.s.ecn_enabled());
    assert_eq!(h.c.accecn_cep(), None);
    h.c.send(&[1; 3000]).unwrap();
    let data = poll_all(&mut h.c, t(4));
    assert!(!data.is_empty());
    assert!(data.iter().all(|d| d.ecn == Ecn::NotEct && d.ace() == 0));
}

#[test]
fn classic_client_against_an_accecn_server_uses_classic_ecn() {
    let h = handshake(EcnMode::On, EcnMode::AccEcn, Ecn::NotEct, Ecn::NotEct);
    assert_eq!(ace(h.syn), 0b011);
    assert_eq!(ace(h.synack), 0b001);
    assert!(h.c.ecn_enabled() && h.s.ecn_enabled());
    assert!(!h.c.accecn_enabled() && !h.s.accecn_enabled());
}

/// A client in AccECN mode whose SYN-ACK (from a hand-driven peer) has
/// (AE, CWR, ECE) = `synack_ace`.
fn client_with_synack(synack_ace: u32) -> Connection {
    let cc = config(EcnMode::AccEcn);
    let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
    poll(&mut c, t(0)).unwrap();
    let mut synack = from_b(
        5000,
        1001,
        TcpFlags::SYN | TcpFlags::ACK,
        ace_flags(synack_ace),
    );
    synack.options.mss = Some(1000);
    c.handle_segment_ecn(t(100), &synack, Ecn::NotEct);
    assert_eq!(c.state(), State::Established);
    poll_all(&mut c, t(100));
    c
}

fn from_b(seq: u32, ack: u32, flags: TcpFlags, ace: TcpFlags) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq_number: SeqNumber(seq),
        ack_number: SeqNumber(ack),
        flags: flags | ace,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    }
}

#[test]
fn a_syn_ack_reflecting_all_three_flags_means_no_ecn_and_the_reserved_one_accecn() {
    let c = client_with_synack(0b111);
    assert!(!c.ecn_enabled(), "(1, 1, 1) is a broken server: no ECN");
    let c = client_with_synack(0b101);
    assert!(c.accecn_enabled(), "(1, 0, 1) is reserved: AccECN");
}

#[test]
fn a_handshake_ack_with_a_zero_ace_field_turns_ecn_off_at_the_server() {
    let sc = config(EcnMode::AccEcn);
    let mut syn = from_b(1000, 0, TcpFlags::SYN, ace_flags(0b111));
    syn.src_port = 40000;
    syn.dst_port = 80;
    let mut s = Connection::accept(
        t(0),
        sc.clone(),
        params(B, A, 5000, &sc),
        &SynInfo::from_repr(&syn),
    );
    let synack = poll(&mut s, t(1)).unwrap();
    assert_eq!(synack.ace(), 0b010);
    // A middlebox cleared the flags of the handshake's ACK.
    let mut ack = from_b(1001, 5001, TcpFlags::ACK, TcpFlags::empty());
    ack.src_port = 40000;
    ack.dst_port = 80;
    s.handle_segment_ecn(t(2), &ack, Ecn::NotEct);
    assert_eq!(s.state(), State::Established);
    assert!(!s.ecn_enabled() && !s.accecn_enabled());
}

/// A data segment from the client to the server (after the handshake).
fn to_s(seq: u32, ace: TcpFlags) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq_number: SeqNumber(seq),
        ack_number: SeqNumber(5001),
        flags: TcpFlags::ACK | ace,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[0; 100],
    }
}

#[test]
fn the_receiver_echoes_its_ce_count_modulo_8_on_every_ack() {
    let mut h = handshake(EcnMode::AccEcn, EcnMode::AccEcn, Ecn::NotEct, Ecn::NotEct);
    let s = &mut h.s;
    let mut seq = 1001;
    let mut marks = 0u32;
    // 30 segments, a CE pattern that wraps the field several times.
    for i in 0..30u64 {
        let ce = i % 3 != 1;
        let ecn = if ce { Ecn::Ce } else { Ecn::Ect0 };
        marks += u32::from(ce);
        s.handle_segment_ecn(t(10 + i), &to_s(seq, ace_flags(5)), ecn);
        seq += 100;
        for a in poll_all(s, t(10 + i)) {
            assert!(a.repr().flags.contains(TcpFlags::ACK));
            assert_eq!(u32::from(a.ace()), (5 + marks) % 8, "segment {i}");
        }
    }
    assert_eq!(s.accecn_cep().unwrap().0, 5 + marks);
    assert_eq!(s.ecn_counters().ce_received, marks);
    // The last ACK went out: the field matches the count.
    s.handle_segment_ecn(t(100), &to_s(seq, ace_flags(5)), Ecn::Ect0);
    let acks = poll_all(s, t(100));
    let last = acks
        .last()
        .expect("the change from CE to not-CE is acknowledged at once");
    assert_eq!(u32::from(last.ace()), (5 + marks) % 8);
}

#[test]
fn a_ce_mark_after_unmarked_data_is_acknowledged_at_once() {
    let mut h = handshake(EcnMode::AccEcn, EcnMode::AccEcn, Ecn::NotEct, Ecn::NotEct);
    let s = &mut h.s;
    let mut seq = 1001;
    // Past the quick-ACK start, some ECT(0) segments: delayed ACKs.
    for i in 0..40u64 {
        s.handle_segment_ecn(t(10 + i), &to_s(seq, ace_flags(5)), Ecn::Ect0);
        seq += 100;
        poll_all(s, t(10 + i));
    }
    s.handle_segment_ecn(t(60), &to_s(seq, ace_flags(5)), Ecn::Ect0);
    seq += 100;
    assert!(
        poll_all(s, t(60)).is_empty(),
        "ECT(0) data is delayed-ACKed"
    );
    s.handle_segment_ecn(t(61), &to_s(seq, ace_flags(5)), Ecn::Ce);
    let acks = poll_all(s, t(61));
    assert_eq!(acks.len(), 1, "a change to CE is acknowledged at once");
    assert_eq!(acks[0].ace(), 6);
}

/// Sends `n` segments of 1000 bytes from an AccECN client established against a
/// hand-driven peer; returns the client.
fn accecn_sender(n: usize) -> Connection {
    let mut c = client_with_synack(0b010);
    assert!(c.accecn_enabled());
    c.send(&vec![1; n * 1000]).unwrap();
    let sent = poll_all(&mut c, t(110));
    assert!(sent
        .iter()
        .filter(|s| !s.repr().payload.is_empty())
        .all(|s| s.ecn == Ecn::Ect0));
    assert!(sent.iter().all(|s| s.ace() == 5), "ACE = r.cep = 5 on data");
    c
}

#[test]
fn the_sender_counts_ce_from_ace_increments_and_reduces_once_per_round_trip() {
    let mut c = accecn_sender(10);
    let cwnd0 = c.info(t(110)).cwnd_bytes;
    // ACKs of one segment each; the first two report one CE mark each.
    let mut s_cep = 5u32;
    for i in 1..=10u32 {
        if i <= 2 {
            s_cep += 1;
        }
        c.handle_segment_ecn(
            t(200 + u64::from(i)),
            &from_b(5001, 1001 + i * 1000, TcpFlags::ACK, ace_flags(s_cep)),
            Ecn::NotEct,
        );
        poll_all(&mut c, t(200 + u64::from(i)));
    }
    assert_eq!(c.accecn_cep().unwrap().1, 7);
    assert_eq!(c.ecn_counters().ace_ce, 2);
    assert_eq!(
        c.ecn_counters().reactions,
        1,
        "one reduction per round trip"
    );
    assert!(c.info(t(210)).cwnd_bytes < cwnd0 + 10 * 1000);
    // No CWR in AccECN: the data sent after the reduction carries the ACE field.
    let sent = poll_all(&mut c, t(210));
    assert!(sent.iter().all(|s| s.ace() == 5));
}

#[test]
fn a_cumulative_ack_that_may_have_wrapped_the_field_counts_the_worst_case() {
    let mut c = accecn_sender(10);
    // One ACK for 10 segments, the field moved by 2 (from 5 to 7): 2 or 10 marks.
    c.handle_segment_ecn(
        t(200),
        &from_b(5001, 11001, TcpFlags::ACK, ace_flags(7)),
        Ecn::NotEct,
    );
    assert_eq!(c.ecn_counters().ace_ce, 10);
    assert_eq!(c.accecn_cep().unwrap().1, 15);
    assert_eq!(c.ecn_counters().reactions, 1);
}

#[test]
fn an_ack_without_forward_progress_does_not_move_the_count() {
    let mut c = accecn_sender(4);
    c.handle_segment_ecn(
        t(200),
        &from_b(5001, 2001, TcpFlags::ACK, ace_flags(5)),
        Ecn::NotEct,
    );
    // A duplicate ACK (reordered, older) with a changed field: ignored.
    c.handle_segment_ecn(
        t(201),
        &from_b(5001, 2001, TcpFlags::ACK, ace_flags(4)),
        Ecn::NotEct,
    );
    assert_eq!(c.accecn_cep().unwrap().1, 5);
    assert_eq!(c.ecn_counters().ace_ignored, 1);
    assert_eq!(c.ecn_counters().reactions, 0);
}

#[test]
fn hostile_ace_values_never_panic_and_never_count_more_than_delivered() {
    for start in 0..8u32 {
        let mut c = accecn_sender(10);
        let mut delivered = 0u32;
        for i in 0..40u32 {
            let v = (start * 5 + i * 3) % 8;
            // ACK numbers jump around, some beyond SND.MAX, some old.
            let ack = 1001 + (i * 7919 % 14) * 1000;
            let mut seg = from_b(5001, ack, TcpFlags::ACK, ace_flags(v));
            if i % 5 == 0 {
                seg.options
                    .sack_ranges
                    .push((SeqNumber(ack + 1000), SeqNumber(ack + 900)));
            }
            c.handle_segment_ecn(t(200 + u64::from(i)), &seg, Ecn::Ce);
            poll_all(&mut c, t(200 + u64::from(i)));
            delivered = delivered.max(ack.saturating_sub(1001) / 1000);
        }
        let counters = c.ecn_counters();
        // Each of up to 40 ACKs reports at most 7 marks unless it delivers more.
        assert!(counters.ace_ce <= 40 * 7 + delivered, "{counters:?}");
    }
}

#[test]
fn a_ce_marked_segment_completing_the_handshake_is_counted() {
    let sc = config(EcnMode::AccEcn);
    let mut syn = from_b(1000, 0, TcpFlags::SYN, ace_flags(0b111));
    syn.src_port = 40000;
    syn.dst_port = 80;
    let mut s = Connection::accept(
        t(0),
        sc.clone(),
        params(B, A, 5000, &sc),
        &SynInfo::from_repr(&syn),
    );
    poll(&mut s, t(1)).unwrap();
    // The handshake's ACK carries data and arrives CE-marked.
    let mut ack = to_s(1001, ace_flags(0b010));
    ack.ack_number = SeqNumber(5001);
    s.handle_segment_ecn(t(2), &ack, Ecn::Ce);
    assert_eq!(s.state(), State::Established);
    assert!(s.accecn_enabled());
    assert_eq!(s.accecn_cep(), Some((6, 5)));
    let acks = poll_all(&mut s, t(2));
    assert_eq!(acks.last().expect("an ACK").ace(), 6);
}
