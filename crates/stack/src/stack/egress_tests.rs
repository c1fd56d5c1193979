//! The transmit path's fast emit (the segment template and the fixed-layout TCP
//! header) against the general one: every packet a stack sends, parsed and written
//! again through `Ipv4Repr`/`Ipv6Repr` and `TcpRepr`, is the same bytes.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::config::Config;
use crate::tcp::{EcnMode, State};
use crate::time::{Duration, Instant};
use crate::wire::{
    AddrPair, ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpPacket,
    TcpRepr,
};

const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// The TCP options a run negotiates.
#[derive(Debug, Clone, Copy)]
struct Setup {
    ipv6: bool,
    timestamps: bool,
    sack: bool,
    window_scaling: bool,
    ecn: EcnMode,
}

fn stack(v4: Ipv4Addr, v6: Ipv6Addr, seed: u64, s: Setup) -> Stack {
    let mut cfg = Config::with_address(format!("{v4}/24").parse().unwrap())
        .address(format!("{v6}/64").parse().unwrap())
        .seed(seed);
    cfg.tcp.timestamps = s.timestamps;
    cfg.tcp.sack = s.sack;
    cfg.tcp.window_scaling = s.window_scaling;
    cfg.tcp.ecn = s.ecn;
    Stack::new(cfg).unwrap()
}

/// What a packet was: its IP TTL / DSCP / ECN bits, whether its TCP header carried a
/// timestamp and SACK blocks, and its payload length.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    ttl: u8,
    dscp: u8,
    ect: bool,
    timestamp: bool,
    sack_blocks: bool,
    payload: usize,
    syn: bool,
    rst: bool,
    /// The SYN options: MSS, window scale, SACK-permitted.
    mss: bool,
    window_scale: bool,
    sack_permitted: bool,
}

/// Parses `packet` (checksums verified) and writes it again through the general
/// emitters; asserts the bytes are the same.
fn assert_general_emit_agrees(packet: &[u8]) -> Seen {
    let mut again = vec![0u8; packet.len()];
    let (hl, addrs, mut seen) = if packet[0] >> 4 == 4 {
        let ip = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(packet), ChecksumMode::Enabled)
            .expect("IPv4 header and checksum");
        assert_eq!(ip.protocol, IpProtocol::Tcp);
        ip.emit(
            &mut Ipv4Packet::new_unchecked(&mut again[..]),
            ChecksumMode::Enabled,
        );
        let seen = Seen {
            ttl: ip.ttl,
            dscp: ip.dscp,
            ect: ip.ecn != crate::wire::Ecn::NotEct,
            ..Seen::default()
        };
        (
            20,
            AddrPair::new(ip.src_addr.into(), ip.dst_addr.into()).unwrap(),
            seen,
        )
    } else {
        let ip = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(packet)).expect("IPv6 header");
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut again[..]));
        let seen = Seen {
            ttl: ip.hop_limit,
            dscp: ip.dscp,
            ect: ip.ecn != crate::wire::Ecn::NotEct,
            ..Seen::default()
        };
        (
            40,
            AddrPair::new(ip.src_addr.into(), ip.dst_addr.into()).unwrap(),
            seen,
        )
    };
    let tcp = TcpRepr::parse(
        &TcpPacket::new_unchecked(&packet[hl..]),
        &addrs,
        ChecksumMode::Enabled,
    )
    .expect("TCP header and checksum");
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut again[hl..]),
        &addrs,
        ChecksumMode::Enabled,
    );
    assert_eq!(again, packet, "the general emit writes other bytes: {tcp}");
    seen.timestamp = tcp.options.timestamp.is_some();
    seen.sack_blocks = !tcp.options.sack_ranges.is_empty();
    seen.payload = tcp.payload.len();
    seen.syn = tcp.flags.contains(crate::wire::TcpFlags::SYN);
    seen.rst = tcp.flags.contains(crate::wire::TcpFlags::RST);
    seen.mss = tcp.options.mss.is_some();
    seen.window_scale = tcp.options.window_scale.is_some();
    seen.sack_permitted = tcp.options.sack_permitted;
    seen
}

/// A transfer from A to B where every 29th data packet is lost (so that B's ACKs
/// carry SACK blocks and A resends), with A's TTL and DSCP changed by the
/// application halfway; every packet either way is checked against the general
/// emit. Returns what was seen from A and from B.
fn transfer_checking_every_packet(s: Setup) -> (Vec<Seen>, Vec<Seen>) {
    let mut a = stack(A4, A6, 7, s);
    let mut b = stack(B4, B6, 8, s);
    let server = if s.ipv6 {
        SocketAddr::new(IpAddr::V6(B6), 80)
    } else {
        SocketAddr::new(IpAddr::V4(B4), 80)
    };
    let mut now = Instant::from_nanos(1_000_000_000);
    let l = b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = a.tcp_connect(now, server, None).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let (mut sent, mut got, mut server_conn) = (0, 0usize, None);
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    let mut data_packets = 0;
    let mut retuned = false;
    let mut buf = vec![0u8; 1500];
    let mut rx = vec![0u8; 65536];
    for _ in 0..200_000 {
        if got >= data.len() {
            break;
        }
        if a.tcp_state(c) == Ok(State::Established) {
            if !retuned && sent >= data.len() / 2 {
                // The application changes the TTL and DSCP mid-transfer.
                let mut o = a.tcp_options(c).unwrap();
                o.ttl = 17;
                o.dscp = 46;
                a.tcp_set_options(now, c, o).unwrap();
                retuned = true;
            }
            while sent < data.len() {
                match a.tcp_send(now, c, &data[sent..]) {
                    Ok(n) if n > 0 => sent += n,
                    _ => break,
                }
            }
        }
        while let Some(n) = a.poll_transmit(now, &mut buf) {
            let seen = assert_general_emit_agrees(&buf[..n]);
            from_a.push(seen);
            if seen.payload > 0 {
                data_packets += 1;
                if data_packets % 29 == 0 {
                    continue;
                }
            }
            b.handle_packet(now, &buf[..n]);
        }
        if server_conn.is_none() {
            server_conn = b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        if let Some(h) = server_conn {
            while let Ok(n) = b.tcp_recv(now, h, &mut rx) {
                if n == 0 {
                    break;
                }
                assert_eq!(&rx[..n], &data[got..got + n]);
                got += n;
            }
        }
        while let Some(n) = b.poll_transmit(now, &mut buf) {
            from_b.push(assert_general_emit_agrees(&buf[..n]));
            a.handle_packet(now, &buf[..n]);
        }
        now += Duration::from_millis(1);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert_eq!(got, data.len(), "{s:?}: transfer incomplete");
    // A RST (never the template's path) ends it.
    a.tcp_abort(now, c).unwrap();
    while let Some(n) = a.poll_transmit(now, &mut buf) {
        from_a.push(assert_general_emit_agrees(&buf[..n]));
    }
    (from_a, from_b)
}

#[test]
fn every_segment_sent_is_what_the_general_emit_writes() {
    let ecns = [EcnMode::Off, EcnMode::On, EcnMode::AccEcn];
    for i in 0..16u32 {
        let s = Setup {
            ipv6: i & 1 != 0,
            timestamps: i & 2 != 0,
            sack: i & 4 != 0,
            window_scaling: i & 8 != 0,
            ecn: ecns[i as usize % 3],
        };
        let (from_a, from_b) = transfer_checking_every_packet(s);
        // The segments the fast emit refuses went the general way: the SYNs with
        // their options, the RST with none.
        for p in from_a.iter().chain(&from_b).filter(|p| p.syn) {
            assert!(p.mss, "{s:?}: SYN without MSS");
            assert_eq!(p.window_scale, s.window_scaling, "{s:?}");
            assert_eq!(p.sack_permitted, s.sack, "{s:?}");
            assert_eq!(p.timestamp, s.timestamps, "{s:?}");
        }
        assert_eq!(from_a.iter().filter(|p| p.syn).count(), 1, "{s:?}");
        assert_eq!(from_b.iter().filter(|p| p.syn).count(), 1, "{s:?}");
        let rst = from_a.last().filter(|p| p.rst);
        assert!(rst.is_some_and(|p| !p.timestamp && !p.sack_blocks), "{s:?}");
        let from_a = &from_a[..from_a.len() - 1];
        let data = || from_a.iter().filter(|p| p.payload > 0);
        assert!(data().count() > 200, "{s:?}");
        // The options the run negotiated are on the wire.
        assert!(data().all(|p| p.timestamp == s.timestamps), "{s:?}");
        assert_eq!(
            from_b.iter().any(|p| p.sack_blocks),
            s.sack,
            "{s:?}: ACKs with SACK blocks (the general path) iff SACK is on"
        );
        assert_eq!(data().any(|p| p.ect), s.ecn != EcnMode::Off, "{s:?}");
        // The TTL and DSCP the application set reach the IP header, before and
        // after the change.
        assert!(data().any(|p| p.ttl == 64 && p.dscp == 0), "{s:?}");
        assert!(
            from_a.last().is_some_and(|p| p.ttl == 17 && p.dscp == 46),
            "{s:?}"
        );
    }
}
