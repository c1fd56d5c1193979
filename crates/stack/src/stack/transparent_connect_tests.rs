//! Connections opened from a foreign address (`Stack::tcp_connect_transparent`)
//! between two stacks in memory: A, with default routes, opens connections to
//! B's own addresses from addresses that are not A's.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::tests::{pattern, transfer, A6, B4, B6};
use super::transparent_tests::{routed_pair, source_of};
use super::*;
use crate::error::Error;
use crate::tcp::State;
use crate::time::Duration;

const PEER4: Ipv4Addr = Ipv4Addr::new(100, 64, 7, 9);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 9);

#[test]
fn a_connection_from_a_foreign_address_carries_data_both_ways_from_it() {
    let mut pair = routed_pair(1801);
    for (from, server) in [
        (
            SocketAddr::new(IpAddr::V4(PEER4), 41000),
            SocketAddr::new(IpAddr::V4(B4), 8080),
        ),
        (
            SocketAddr::new(IpAddr::V6(PEER6), 0),
            SocketAddr::new(IpAddr::V6(B6), 8080),
        ),
    ] {
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        let sent_before = pair.sent.len();
        let c = pair
            .a
            .tcp_connect_transparent(pair.now, server, from)
            .unwrap();
        let mut s = None;
        let ok = pair.run_until(Duration::from_secs(10), |p| {
            s = s.or_else(|| p.b.tcp_accept(l).ok());
            s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
        });
        assert!(ok, "handshake from {from}");
        let (s, peer) = s.unwrap();
        let (local, remote) = pair.a.tcp_addrs(c).unwrap();
        assert_eq!((local.ip(), remote), (from.ip(), server));
        if from.port() != 0 {
            assert_eq!(local.port(), from.port());
        } else {
            assert!(local.port() >= 49152, "an ephemeral port: {local}");
        }
        assert_eq!(peer, local, "the server sees the foreign address");
        let up = pattern(100_000, 3);
        assert_eq!(transfer(&mut pair, true, c, s, &up), up);
        let down = pattern(80_000, 4);
        assert_eq!(transfer(&mut pair, false, s, c, &down), down);
        // Every packet A sent came from the foreign address.
        let from_a: Vec<IpAddr> = pair.sent[sent_before..]
            .iter()
            .filter(|(_, to_b, _)| *to_b)
            .map(|(_, _, p)| source_of(p))
            .collect();
        assert!(from_a.len() > 10, "{from}: {}", from_a.len());
        assert!(from_a.iter().all(|&ip| ip == from.ip()), "{from_a:?}");
        pair.a.close(pair.now, c).unwrap();
        pair.b.close(pair.now, s).unwrap();
        pair.b.close(pair.now, l).unwrap();
        let closed = pair.run_until(Duration::from_secs(5), |p| {
            p.a.tcp_state(c).is_err() || p.a.tcp_state(c) == Ok(State::TimeWait)
        });
        assert!(closed, "close from {from}");
    }
    assert_eq!(pair.a.stats().tcp.active_opens, 2);
    assert_eq!(pair.a.stats().ip.in_addr_errors, 0);
    assert_eq!(pair.a.stats().ip6.in_addr_errors, 0);
}

#[test]
fn a_transparent_connect_refuses_a_source_no_host_may_use() {
    let mut pair = routed_pair(1802);
    let server4 = SocketAddr::new(IpAddr::V4(B4), 80);
    let server6 = SocketAddr::new(IpAddr::V6(B6), 80);
    let v4 = |a: [u8; 4]| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), 1000);
    for (server, from) in [
        (server4, v4([127, 0, 0, 1])),
        (server4, v4([224, 0, 0, 1])),
        (server4, v4([255, 255, 255, 255])),
        (server4, v4([0, 1, 2, 3])),
        // A broadcast of A's own prefix (10.0.0.0/24).
        (server4, v4([10, 0, 0, 255])),
        (server4, SocketAddr::new(IpAddr::V6(PEER6), 1000)),
        (server6, v4([100, 64, 7, 9])),
        (
            server6,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 1000),
        ),
        (server6, "[ff02::1]:1000".parse().unwrap()),
    ] {
        assert_eq!(
            pair.a.tcp_connect_transparent(pair.now, server, from),
            Err(Error::InvalidAddress),
            "{from} to {server}"
        );
    }
    // Nothing was opened, and ingress still takes no TCP to foreign addresses.
    assert_eq!(pair.a.stats().tcp.active_opens, 0);
    assert!(!pair.a.transparent.tcp_on());
}

#[test]
fn a_transparent_connect_from_the_stacks_own_address_is_an_ordinary_connect() {
    let mut pair = routed_pair(1803);
    let server = SocketAddr::new(IpAddr::V6(B6), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let own = SocketAddr::new(IpAddr::V6(A6), 5555);
    let c = pair
        .a
        .tcp_connect_transparent(pair.now, server, own)
        .unwrap();
    assert_eq!(pair.a.tcp_addrs(c).unwrap().0, own);
    assert!(!pair.a.transparent.tcp_on(), "nothing foreign to take");
    let ok = pair.run_until(Duration::from_secs(10), |p| p.b.tcp_accept(l).is_ok());
    assert!(ok);
    // The same tuple again: in use.
    assert_eq!(
        pair.a.tcp_connect_transparent(pair.now, server, own),
        Err(Error::AddrInUse)
    );
}

#[test]
fn a_foreign_tuple_in_use_is_refused_and_segments_nothing_takes_draw_no_rst() {
    let mut pair = routed_pair(1804);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let from = SocketAddr::new(IpAddr::V4(PEER4), 7000);
    // Nobody listens: B's RST reaches the connection at the foreign address.
    let c = pair
        .a
        .tcp_connect_transparent(pair.now, server, from)
        .unwrap();
    assert_eq!(
        pair.a.tcp_connect_transparent(pair.now, server, from),
        Err(Error::AddrInUse)
    );
    let failed = pair.run_until(Duration::from_secs(5), |p| {
        p.a.tcp_state(c) != Ok(State::SynSent)
    });
    assert!(failed);
    assert_eq!(pair.a.tcp_error(c), Ok(Some(Error::ConnectionRefused)));
    // A segment to another port of the foreign address: dropped unanswered.
    let stray = super::tests::segment(
        &mut pair.b,
        server,
        SocketAddr::new(IpAddr::V4(PEER4), 7001),
        crate::wire::TcpFlags::ACK,
        1,
        crate::wire::SeqNumber(1),
        &[],
    );
    let rsts = pair.a.stats().tcp.out_rsts;
    pair.a.handle_packet(pair.now, &stray);
    let mut buf = [0u8; 1500];
    assert!(pair.a.poll_transmit(pair.now, &mut buf).is_none());
    assert_eq!(pair.a.stats().tcp.out_rsts, rsts);
    assert_eq!(pair.a.stats().ip.in_addr_errors, 1);
}
