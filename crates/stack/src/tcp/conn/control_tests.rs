//! The fixed-layout SYN and SYN-ACK writer (`output_control`) against the general
//! encoder (`FORCE_GENERAL_SYN`): the same connections driven through the same
//! steps, with every option combination on either side, must send the same bytes
//! and end every step in the same state (`Debug`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::output_control::{FIXED_SYNS, FORCE_GENERAL_SYN};
use super::*;
use crate::tcp::config::{EcnMode, TcpConfig};
use crate::time::Instant;
use crate::wire::{AddrPair, ChecksumMode, SeqNumber, TcpFlags, TcpPacket, TcpRepr};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
const A6: SocketAddr = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd, 0, 0, 0, 0, 0, 0, 1)), 40000);
const B6: SocketAddr = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd, 0, 0, 0, 0, 0, 0, 2)), 80);

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000 + 123_457)
}

fn params(local: SocketAddr, remote: SocketAddr, iss: u32, config: &TcpConfig) -> OpenParams {
    OpenParams {
        local,
        remote,
        iss: SeqNumber(iss),
        ts_offset: 77_000,
        path_mtu: 1500,
        options: SocketOptions::from_config(config),
        cc: config.default_congestion_algorithm(),
    }
}

/// A configuration with window scaling, timestamps and SACK as the low three bits
/// of `bits` say, and ECN as its next two.
fn config(bits: u8) -> Arc<TcpConfig> {
    let ecn = [EcnMode::Off, EcnMode::Passive, EcnMode::On, EcnMode::AccEcn];
    Arc::new(TcpConfig {
        window_scaling: bits & 1 != 0,
        timestamps: bits & 2 != 0,
        sack: bits & 4 != 0,
        ecn: ecn[usize::from(bits >> 3) % 4],
        ..TcpConfig::default()
    })
}

/// What a run showed: every segment sent and both connections after every step.
#[derive(Default)]
struct Trace {
    steps: Vec<String>,
}

impl Trace {
    /// Every segment `from` wants to send at `now`, each also parsed; recorded.
    fn poll(&mut self, from: &mut Connection, now: Instant, room: usize) -> Vec<Vec<u8>> {
        let addrs = AddrPair::new(from.local().ip(), from.remote().ip()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 1600];
        while let Some(n) = from.poll_transmit(now, &mut buf[..room], &addrs, ChecksumMode::Enabled)
        {
            out.push(buf[..n].to_vec());
            assert!(out.len() < 1000, "runaway transmit loop");
        }
        for s in &out {
            self.steps.push(format!("{now:?} {s:?}"));
        }
        self.steps.push(format!("{from:?}"));
        out
    }

    /// `segs` (as `from` sent them) into `to`; recorded.
    fn deliver(&mut self, from: &Connection, to: &mut Connection, now: Instant, segs: &[Vec<u8>]) {
        let addrs = AddrPair::new(from.local().ip(), from.remote().ip()).unwrap();
        for s in segs {
            let packet = TcpPacket::new_checked(&s[..]).unwrap();
            let repr = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap();
            to.handle_segment(now, &repr);
        }
        self.steps.push(format!("{to:?}"));
    }
}

/// How the handshake goes.
#[derive(Debug, Clone, Copy)]
enum Open {
    /// SYN, SYN-ACK, ACK.
    Plain,
    /// The first SYN is lost and resent on the timeout.
    LostSyn,
    /// The SYN-ACK is lost: the client resends its SYN, the server its SYN-ACK.
    LostSynAck,
    /// Both sides connect to each other at once.
    Simultaneous,
}

/// How the connection ends.
#[derive(Debug, Clone, Copy)]
enum Close {
    ClientFirst,
    ServerFirst,
    Reset,
}

/// A connection between `client` and `server` configurations opened and closed as
/// said, with a byte each way in between.
fn run(client_bits: u8, server_bits: u8, open: Open, close: Close, v6: bool) -> Trace {
    let mut tr = Trace::default();
    let (ca, sa) = if v6 { (A6, B6) } else { (A, B) };
    let (cc, sc) = (config(client_bits), config(server_bits));
    let mut c = Connection::connect(t(0), cc.clone(), params(ca, sa, 1000, &cc));
    let mut now = 0;
    let mut s = match open {
        Open::Simultaneous => {
            let mut s = Connection::connect(t(0), sc.clone(), params(sa, ca, 9000, &sc));
            let syn_c = tr.poll(&mut c, t(0), 1480);
            let syn_s = tr.poll(&mut s, t(0), 1480);
            tr.deliver(&c, &mut s, t(1), &syn_c);
            tr.deliver(&s, &mut c, t(1), &syn_s);
            now = 1;
            s
        }
        _ => {
            let mut syn = tr.poll(&mut c, t(0), 1480);
            if matches!(open, Open::LostSyn) {
                now = 1500;
                c.handle_timeout(t(now));
                syn = tr.poll(&mut c, t(now), 1480);
            }
            let repr_bytes = syn.first().expect("a SYN").clone();
            let addrs = AddrPair::new(ca.ip(), sa.ip()).unwrap();
            let packet = TcpPacket::new_checked(&repr_bytes[..]).unwrap();
            let repr = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap();
            now += 1;
            let mut s = Connection::accept(
                t(now),
                sc.clone(),
                params(sa, ca, 9000, &sc),
                &SynInfo::from_repr(&repr),
            );
            tr.steps.push(format!("{s:?}"));
            if matches!(open, Open::LostSynAck) {
                let _lost = tr.poll(&mut s, t(now), 1480);
                now += 1500;
                c.handle_timeout(t(now));
                let again = tr.poll(&mut c, t(now), 1480);
                tr.deliver(&c, &mut s, t(now + 1), &again);
                now += 1;
            }
            s
        }
    };
    // Until both sides are established and quiet.
    for _ in 0..6 {
        now += 1;
        // Both sides' segments cross, as on a link.
        let from_s = tr.poll(&mut s, t(now), 1480);
        let from_c = tr.poll(&mut c, t(now), 1480);
        tr.deliver(&s, &mut c, t(now), &from_s);
        tr.deliver(&c, &mut s, t(now), &from_c);
    }
    assert_eq!(c.state(), State::Established, "{open:?}");
    assert_eq!(s.state(), State::Established, "{open:?}");
    c.send(&[7]).unwrap();
    s.send(&[8]).unwrap();
    match close {
        Close::ClientFirst => c.shutdown_write(t(now)),
        Close::ServerFirst => s.shutdown_write(t(now)),
        Close::Reset => c.abort(),
    }
    for _ in 0..4 {
        now += 1;
        let from_c = tr.poll(&mut c, t(now), 1480);
        tr.deliver(&c, &mut s, t(now), &from_c);
        let from_s = tr.poll(&mut s, t(now), 1480);
        tr.deliver(&s, &mut c, t(now), &from_s);
        match close {
            Close::ClientFirst => s.shutdown_write(t(now)),
            Close::ServerFirst => c.shutdown_write(t(now)),
            Close::Reset => {}
        }
    }
    // TIME-WAIT runs out.
    now += 300_000;
    c.handle_timeout(t(now));
    s.handle_timeout(t(now));
    tr.steps.push(format!("{c:?} {s:?}"));
    tr
}

fn assert_same(client_bits: u8, server_bits: u8, open: Open, close: Close, v6: bool) {
    let fast = run(client_bits, server_bits, open, close, v6);
    FORCE_GENERAL_SYN.set(true);
    let general = run(client_bits, server_bits, open, close, v6);
    FORCE_GENERAL_SYN.set(false);
    assert_eq!(fast.steps.len(), general.steps.len());
    for (i, (f, g)) in fast.steps.iter().zip(&general.steps).enumerate() {
        assert_eq!(
            f, g,
            "step {i} differs: client {client_bits:#b}, server {server_bits:#b}, {open:?}, {close:?}, v6 {v6}"
        );
    }
}

#[test]
fn fixed_layout_syn_and_syn_ack_are_the_general_encoders_for_every_option_set() {
    // Every combination of window scaling, timestamps and SACK on either side,
    // with the four ECN modes spread over them.
    for client in 0..32u8 {
        for server in [0u8, 7, 9, 14, 19, 23, 28, 31] {
            assert_same(client, server, Open::Plain, Close::ClientFirst, false);
        }
    }
    for server in 0..32u8 {
        assert_same(31, server, Open::Plain, Close::ServerFirst, server % 2 == 0);
    }
}

#[test]
fn fixed_layout_syn_and_syn_ack_match_on_resent_simultaneous_and_reset_connections() {
    for bits in [0u8, 3, 5, 6, 7, 15, 23, 31] {
        for open in [
            Open::Plain,
            Open::LostSyn,
            Open::LostSynAck,
            Open::Simultaneous,
        ] {
            for close in [Close::ClientFirst, Close::ServerFirst, Close::Reset] {
                assert_same(bits, 31 - bits, open, close, bits % 3 == 0);
            }
        }
    }
}

#[test]
fn a_buffer_too_short_for_the_syn_is_left_to_the_general_encoder() {
    for bits in [0u8, 7, 31] {
        let each = |force: bool| {
            FORCE_GENERAL_SYN.set(force);
            let mut tr = Trace::default();
            let cc = config(bits);
            let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
            // Too short for the header with its options: nothing is sent.
            let none = tr.poll(&mut c, t(0), 23);
            assert!(none.is_empty());
            FORCE_GENERAL_SYN.set(false);
            tr.steps
        };
        assert_eq!(each(false), each(true));
    }
}

#[test]
fn the_fixed_layout_writer_is_taken_and_writes_the_options_asked_for() {
    let cc = config(31);
    let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
    let mut tr = Trace::default();
    let before = FIXED_SYNS.get();
    let syn = tr.poll(&mut c, t(0), 1480);
    assert_eq!(FIXED_SYNS.get(), before + 1);
    let seg = syn.first().expect("a SYN");
    let addrs = AddrPair::new(A.ip(), B.ip()).unwrap();
    let packet = TcpPacket::new_checked(&seg[..]).unwrap();
    let repr = TcpRepr::parse(&packet, &addrs, ChecksumMode::Enabled).unwrap();
    assert!(repr
        .flags
        .contains(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR));
    assert_eq!(repr.options.mss, Some(1460));
    assert!(repr.options.sack_permitted);
    assert_eq!(repr.options.timestamp.map(|ts| ts.tsecr), Some(0));
    assert!(repr.options.window_scale.is_some());
}

#[test]
fn without_checksums_the_fixed_layout_syn_is_the_general_encoders() {
    for bits in [0u8, 7, 31] {
        let syn = |force: bool| {
            FORCE_GENERAL_SYN.set(force);
            let cc = config(bits);
            let mut c = Connection::connect(t(0), cc.clone(), params(A, B, 1000, &cc));
            let addrs = AddrPair::new(A.ip(), B.ip()).unwrap();
            let mut buf = [0u8; 100];
            let n = c.poll_transmit(t(0), &mut buf, &addrs, ChecksumMode::Offloaded);
            FORCE_GENERAL_SYN.set(false);
            (n.map(|n| buf[..n].to_vec()), format!("{c:?}"))
        };
        let fast = syn(false);
        assert!(fast.0.is_some());
        assert_eq!(fast, syn(true));
    }
}
