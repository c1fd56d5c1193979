//! Transparent listeners and UDP sockets (`transparent`) between two stacks in
//! memory: A, a client with default routes, reaches any address through B.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::tests::{pattern, segment, transfer, Impairment, Pair, A4, A6, B4, B6};
use super::*;
use crate::error::Error;
use crate::event::EventKind;
use crate::ip::route::Route;
use crate::rand::StackRng;
use crate::tcp::State;
use crate::time::Duration;
use crate::wire::{SeqNumber, TcpFlags};

pub(super) const FOREIGN4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
pub(super) const FOREIGN6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);

pub(super) fn any4(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

pub(super) fn any6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
}

/// A pair whose stacks route everything to each other (default routes of
/// both families, on-link): A's packets to any address reach B.
pub(super) fn routed_pair(seed: u64) -> Pair {
    Pair::with_config(Impairment::default(), seed, |c| {
        c.routes
            .push(Route::new("0.0.0.0/0".parse().unwrap(), None));
        c.routes.push(Route::new("::/0".parse().unwrap(), None));
    })
}

/// Connects A to `server` (on B) and has `listener` accept it; returns (client,
/// server side).
pub(super) fn connect_through(
    pair: &mut Pair,
    listener: SocketHandle,
    server: SocketAddr,
) -> (SocketHandle, SocketHandle) {
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(30), |p| {
        if accepted.is_none() {
            accepted = p.b.tcp_accept(listener).ok().map(|(h, _)| h);
        }
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok, "handshake with {server} did not complete");
    (c, accepted.unwrap())
}

/// The source address of an IP packet.
pub(super) fn source_of(packet: &[u8]) -> IpAddr {
    match packet[0] >> 4 {
        4 => IpAddr::V4(Ipv4Addr::new(
            packet[12], packet[13], packet[14], packet[15],
        )),
        _ => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&packet[8..24]);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// A SYN from `src` to `dst` as a whole IP packet.
pub(super) fn syn(stack: &mut Stack, src: SocketAddr, dst: SocketAddr, seq: u32) -> Vec<u8> {
    segment(stack, src, dst, TcpFlags::SYN, seq, SeqNumber(0), &[])
}

/// Everything `stack` sends now.
pub(super) fn drain(stack: &mut Stack, now: crate::time::Instant) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 2000];
    std::iter::from_fn(|| {
        stack
            .poll_transmit(now, &mut buf)
            .map(|n| buf[..n].to_vec())
    })
    .collect()
}

#[test]
fn a_transparent_listener_terminates_connections_to_any_address_of_either_family() {
    let mut pair = routed_pair(1701);
    let l4 = pair
        .b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    let l6 = pair
        .b
        .tcp_listen_transparent(any6(0), ListenOptions::default())
        .unwrap();
    for (listener, server) in [
        (l4, SocketAddr::new(IpAddr::V4(FOREIGN4), 443)),
        (l6, SocketAddr::new(IpAddr::V6(FOREIGN6), 80)),
    ] {
        let sent_before = pair.sent.len();
        let fixed_before = pair.b.rx_paths.fixed_v4 + pair.b.rx_paths.fixed_v6;
        let (c, s) = connect_through(&mut pair, listener, server);
        let (local, remote) = pair.b.tcp_addrs(s).unwrap();
        assert_eq!(local, server, "the server side is the SYN's destination");
        assert_eq!(remote, pair.a.tcp_addrs(c).unwrap().0);
        let up = pattern(200_000, 1);
        assert_eq!(transfer(&mut pair, true, c, s, &up), up);
        let down = pattern(150_000, 2);
        assert_eq!(transfer(&mut pair, false, s, c, &down), down);
        pair.a.close(pair.now, c).unwrap();
        pair.b.close(pair.now, s).unwrap();
        let closed = pair.run_until(Duration::from_secs(5), |p| {
            p.a.tcp_state(c) == Ok(State::TimeWait) || p.a.tcp_state(c).is_err()
        });
        assert!(closed, "close with {server}");
        // The foreign destination's segments took the fixed-layout path.
        let fixed = pair.b.rx_paths.fixed_v4 + pair.b.rx_paths.fixed_v6 - fixed_before;
        assert!(fixed > 100, "{server}: {fixed}");
        // Every packet B sent for this connection came from the SYN's
        // destination, none from B's own addresses.
        let from_b: Vec<IpAddr> = pair.sent[sent_before..]
            .iter()
            .filter(|(_, to_b, _)| !to_b)
            .map(|(_, _, p)| source_of(p))
            .collect();
        assert!(from_b.len() > 10, "{server}: {}", from_b.len());
        assert!(
            from_b.iter().all(|&ip| ip == server.ip()),
            "{server}: {from_b:?}"
        );
    }
    assert_eq!(pair.b.stats().tcp.passive_opens, 2);
    assert_eq!(pair.b.stats().tcp.out_rsts, 0);
    assert_eq!(pair.b.stats().ip.in_addr_errors, 0);
    assert_eq!(pair.b.stats().ip6.in_addr_errors, 0);
}

#[test]
fn listeners_of_tcp_listen_win_over_a_transparent_one_and_it_takes_the_rest() {
    let mut pair = routed_pair(1702);
    let specific = pair
        .b
        .tcp_listen(
            SocketAddr::new(IpAddr::V4(B4), 443),
            ListenOptions::default(),
        )
        .unwrap();
    // A wildcard listener keeps its meaning: B's own addresses only.
    let wildcard = pair
        .b
        .tcp_listen(any4(8080), ListenOptions::default())
        .unwrap();
    let on_443 = pair
        .b
        .tcp_listen_transparent(any4(443), ListenOptions::default())
        .unwrap();
    let every = pair
        .b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    let v4 = |ip: Ipv4Addr, port| SocketAddr::new(IpAddr::V4(ip), port);
    for (server, listener) in [
        (v4(B4, 443), specific),
        (v4(FOREIGN4, 443), on_443),
        (v4(B4, 8080), wildcard),
        (v4(FOREIGN4, 8080), every),
        // The last resort before the RST, for B's own addresses too.
        (v4(B4, 444), every),
        (v4(FOREIGN4, 22), every),
    ] {
        let (_, s) = connect_through(&mut pair, listener, server);
        assert_eq!(pair.b.tcp_addrs(s).unwrap().0, server);
    }
    for l in [specific, wildcard, on_443, every] {
        assert_eq!(pair.b.tcp_accept(l), Err(Error::WouldBlock));
    }
    // One transparent listener per family and port.
    assert_eq!(
        pair.b
            .tcp_listen_transparent(any4(443), ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    assert_eq!(
        pair.b.tcp_listen_transparent(
            SocketAddr::new(IpAddr::V4(FOREIGN4), 443),
            ListenOptions::default()
        ),
        Err(Error::InvalidAddress)
    );
    // Closing the port's transparent listener hands its port to the one of
    // every port, and leaves the wildcard listener of `tcp_listen` alone.
    pair.b.close(pair.now, on_443).unwrap();
    let (_, s) = connect_through(&mut pair, every, v4(FOREIGN4, 443));
    assert_eq!(pair.b.tcp_addrs(s).unwrap().0, v4(FOREIGN4, 443));
    connect_through(&mut pair, wildcard, v4(B4, 8080));
}

#[test]
fn without_a_transparent_listener_a_syn_to_a_foreign_address_draws_nothing() {
    let mut pair = routed_pair(1703);
    // A wildcard listener on the port: it does not take a foreign address.
    pair.b
        .tcp_listen(any4(443), ListenOptions::default())
        .unwrap();
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 40_000);
    let foreign = SocketAddr::new(IpAddr::V4(FOREIGN4), 443);
    let p = syn(&mut pair.a, client, foreign, 1);
    pair.b.handle_packet(now, &p);
    assert!(drain(&mut pair.b, now).is_empty());
    assert_eq!(pair.b.stats().ip.in_addr_errors, 1);
    assert_eq!(pair.b.stats().tcp.in_segs, 0);

    // A transparent listener of the other family changes nothing for IPv4.
    let l6 = pair
        .b
        .tcp_listen_transparent(any6(0), ListenOptions::default())
        .unwrap();
    pair.b.handle_packet(now, &p);
    assert!(drain(&mut pair.b, now).is_empty());
    assert_eq!(pair.b.stats().ip.in_addr_errors, 2);

    // Once IPv6's listener is closed, a SYN to a foreign IPv6 address is
    // dropped unanswered: no RST from an address nothing listens on.
    pair.b.close(now, l6).unwrap();
    let client6 = SocketAddr::new(IpAddr::V6(A6), 40_000);
    let p6 = syn(
        &mut pair.a,
        client6,
        SocketAddr::new(IpAddr::V6(FOREIGN6), 80),
        1,
    );
    pair.b.handle_packet(now, &p6);
    assert!(drain(&mut pair.b, now).is_empty());
    assert_eq!(pair.b.stats().ip6.in_addr_errors, 1);
    assert_eq!(pair.b.stats().tcp.out_rsts, 0);
    // A SYN to B's own closed port is still refused.
    let own = syn(&mut pair.a, client6, SocketAddr::new(IpAddr::V6(B6), 9), 1);
    pair.b.handle_packet(now, &own);
    assert_eq!(drain(&mut pair.b, now).len(), 1);
    assert_eq!(pair.b.stats().tcp.out_rsts, 1);
}

#[test]
fn a_transparent_listener_takes_no_broadcast_multicast_loopback_or_unspecified_destination() {
    let mut pair = routed_pair(1704);
    pair.b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    pair.b
        .tcp_listen_transparent(any6(0), ListenOptions::default())
        .unwrap();
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 40_000);
    for dst in [
        Ipv4Addr::new(10, 0, 0, 255),
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 1, 2, 3),
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::LOCALHOST,
    ] {
        let p = syn(&mut pair.a, client, SocketAddr::new(IpAddr::V4(dst), 80), 1);
        pair.b.handle_packet(now, &p);
        assert!(drain(&mut pair.b, now).is_empty(), "{dst}");
    }
    let client6 = SocketAddr::new(IpAddr::V6(A6), 40_000);
    for dst in [
        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::UNSPECIFIED,
        Ipv6Addr::LOCALHOST,
        Ipv4Addr::new(203, 0, 113, 7).to_ipv6_mapped(),
    ] {
        let p = syn(
            &mut pair.a,
            client6,
            SocketAddr::new(IpAddr::V6(dst), 80),
            1,
        );
        pair.b.handle_packet(now, &p);
        assert!(drain(&mut pair.b, now).is_empty(), "{dst}");
    }
    assert_eq!(pair.b.stats().tcp.passive_opens, 0);
    // The control: the same SYN to a foreign unicast address is answered.
    let p = syn(
        &mut pair.a,
        client,
        SocketAddr::new(IpAddr::V4(FOREIGN4), 80),
        1,
    );
    pair.b.handle_packet(now, &p);
    assert_eq!(drain(&mut pair.b, now).len(), 1);
    assert_eq!(pair.b.stats().tcp.passive_opens, 1);
}

#[test]
fn a_syn_flood_to_random_addresses_and_ports_stays_within_the_syn_queue() {
    for cookies in [false, true] {
        let mut pair = Pair::with_config(Impairment::default(), 1705, |c| {
            c.routes
                .push(Route::new("0.0.0.0/0".parse().unwrap(), None));
            c.tcp.syn_backlog = 16;
            c.tcp.syn_cookies = cookies;
        });
        let l = pair
            .b
            .tcp_listen_transparent(any4(0), ListenOptions::default())
            .unwrap();
        let now = pair.now;
        let mut rng = StackRng::from_seed(17);
        let mut answers = 0;
        for i in 0..2_000u32 {
            let src = SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | rng.range(2..250u32))),
                rng.range(1024..65535u32) as u16,
            );
            let dst = SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from_bits(
                    0xc000_0000 | rng.range(0..0x00ff_ffffu32),
                )),
                rng.range(1..65535u32) as u16,
            );
            let p = syn(&mut pair.a, src, dst, i);
            pair.b.handle_packet(now, &p);
            answers += drain(&mut pair.b, now).len();
        }
        let pending = match pair.b.sockets.get(l).map(|e| &e.socket) {
            Some(Socket::Listener(l)) => l.syn_pending,
            _ => unreachable!(),
        };
        assert_eq!(pending, 16, "cookies {cookies}");
        assert_eq!(pair.b.tcp_conn_count, 16, "cookies {cookies}");
        let stats = &pair.b.stats().tcp;
        if cookies {
            assert_eq!(stats.syncookies_sent, 2_000 - 16);
            assert_eq!(answers, 2_000);
        } else {
            assert_eq!(stats.listen_drops, 2_000 - 16);
            assert_eq!(answers, 16);
        }
        // The held connections expire as any SYN-RECEIVED connection does.
        pair.run_until(Duration::from_secs(120), |p| p.b.tcp_conn_count == 0);
        assert_eq!(pair.b.tcp_conn_count, 0, "cookies {cookies}");
    }
}

#[test]
fn cookie_handshakes_to_foreign_addresses_complete_through_a_transparent_listener() {
    let mut pair = Pair::with_config(Impairment::default(), 1711, |c| {
        c.routes
            .push(Route::new("0.0.0.0/0".parse().unwrap(), None));
        c.tcp.syn_backlog = 1;
    });
    let l = pair
        .b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    let servers: Vec<SocketAddr> = (1..=3u8)
        .map(|i| {
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, i)),
                8000 + u16::from(i),
            )
        })
        .collect();
    let clients: Vec<SocketHandle> = servers
        .iter()
        .map(|&s| pair.a.tcp_connect(pair.now, s, None).unwrap())
        .collect();
    let mut accepted = Vec::new();
    let ok = pair.run_until(Duration::from_secs(10), |p| {
        while let Ok((h, _)) = p.b.tcp_accept(l) {
            accepted.push(h);
        }
        accepted.len() == 3
            && clients
                .iter()
                .all(|&c| p.a.tcp_state(c) == Ok(State::Established))
    });
    assert!(ok, "{} accepted", accepted.len());
    // One SYN queued, two answered with cookies whose ACKs, to addresses not
    // B's, found the transparent listener.
    assert_eq!(pair.b.stats().tcp.syncookies_sent, 2);
    assert_eq!(pair.b.stats().tcp.syncookies_recv, 2);
    let mut locals: Vec<SocketAddr> = accepted
        .iter()
        .map(|&h| pair.b.tcp_addrs(h).unwrap().0)
        .collect();
    locals.sort();
    assert_eq!(locals, servers);
}

#[test]
fn udp_to_any_address_is_received_with_its_destination_and_answered_from_it() {
    let mut pair = routed_pair(1706);
    let t4 = pair.b.udp_bind_transparent(any4(0)).unwrap();
    let t6 = pair.b.udp_bind_transparent(any6(53)).unwrap();
    // B's own wildcard socket on 53 takes B's addresses, not foreign ones.
    let own = pair.b.udp_bind(any4(53)).unwrap();
    let a4 = pair.a.udp_bind(SocketAddr::new(IpAddr::V4(A4), 0)).unwrap();
    let a6 = pair.a.udp_bind(SocketAddr::new(IpAddr::V6(A6), 0)).unwrap();
    let dns4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)), 53);
    let dns6 = SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888)),
        53,
    );
    let local53 = SocketAddr::new(IpAddr::V4(B4), 53);
    let quic = SocketAddr::new(IpAddr::V4(FOREIGN4), 443);
    for (sock, dst) in [(a4, dns4), (a6, dns6), (a4, local53), (a4, quic)] {
        pair.a
            .udp_send_to(sock, dst.to_string().as_bytes(), dst)
            .unwrap();
    }
    pair.run_until(Duration::from_secs(1), |_| false);
    let mut buf = [0u8; 128];
    let a4_addr = pair.a.udp_local_addr(a4).unwrap();
    let a4_from = SocketAddr::new(IpAddr::V4(A4), a4_addr.port());
    let (n, from, to) = pair.b.udp_recv_from_to(t4, &mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from, to),
        (dns4.to_string().as_bytes(), a4_from, dns4)
    );
    let (n, _, to) = pair.b.udp_recv_from_to(t4, &mut buf).unwrap();
    assert_eq!((&buf[..n], to), (quic.to_string().as_bytes(), quic));
    assert_eq!(
        pair.b.udp_recv_from_to(t4, &mut buf),
        Err(Error::WouldBlock)
    );
    let (_, from6, to6) = pair.b.udp_recv_from_to(t6, &mut buf).unwrap();
    assert_eq!(to6, dns6);
    let (_, _, to) = pair.b.udp_recv_from_to(own, &mut buf).unwrap();
    assert_eq!(to, local53);

    // Answers from the addresses asked.
    pair.b
        .udp_send_from_to(t4, b"A 1.2.3.4", dns4, from)
        .unwrap();
    pair.b.udp_send_from_to(t4, b"quic", quic, from).unwrap();
    pair.b.udp_send_from_to(t6, b"AAAA", dns6, from6).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.a.udp_recv_from(a4, &mut buf), Ok((9, dns4)));
    assert_eq!(pair.a.udp_recv_from(a4, &mut buf), Ok((4, quic)));
    assert_eq!(pair.a.udp_recv_from(a6, &mut buf), Ok((4, dns6)));

    // A transparent socket of every port has no port to send from by itself;
    // one of a port sends from it, from B's address.
    assert_eq!(
        pair.b.udp_send_to(t4, b"x", from),
        Err(Error::InvalidAddress)
    );
    pair.b.udp_send_to(t6, b"plain", from6).unwrap();
    // A socket of `udp_bind` sends only from its own addresses.
    assert_eq!(
        pair.b.udp_send_from_to(own, b"x", dns4, from),
        Err(Error::AddrNotAvailable)
    );
    pair.b
        .udp_send_from_to(own, b"own", SocketAddr::new(IpAddr::V4(B4), 0), from)
        .unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(
        pair.a.udp_recv_from(a6, &mut buf),
        Ok((5, SocketAddr::new(IpAddr::V6(B6), 53)))
    );
    assert_eq!(pair.a.udp_recv_from(a4, &mut buf), Ok((3, local53)));
    assert_eq!(pair.b.stats().udp.in_datagrams, 4);
    assert_eq!(pair.b.stats().udp.no_ports, 0);
}

#[test]
fn udp_to_a_foreign_address_nothing_takes_draws_no_icmp_error() {
    let mut pair = routed_pair(1707);
    let a4 = pair.a.udp_bind(SocketAddr::new(IpAddr::V4(A4), 0)).unwrap();
    let dns4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)), 53);
    // No transparent socket: dropped at the IP layer, as before.
    pair.a.udp_send_to(a4, b"q", dns4).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.stats().ip.in_addr_errors, 1);
    // A transparent socket of another port: counted, not answered.
    let t = pair.b.udp_bind_transparent(any4(5353)).unwrap();
    pair.a.udp_send_to(a4, b"q", dns4).unwrap();
    // A broadcast goes to `udp_bind`'s sockets only, never a transparent one.
    pair.a.udp_set_broadcast(a4, true).unwrap();
    let broadcast = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 255)), 5353);
    pair.a.udp_send_to(a4, b"b", broadcast).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.stats().udp.no_ports, 2);
    assert_eq!(pair.b.stats().icmp.out_type[3], 0);
    assert_eq!(
        pair.b.udp_recv_from_to(t, &mut [0u8; 8]),
        Err(Error::WouldBlock)
    );
    // Closed, it takes nothing more: the IP layer drops again.
    pair.b.close(pair.now, t).unwrap();
    pair.a
        .udp_send_to(a4, b"q", SocketAddr::new(dns4.ip(), 5353))
        .unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.stats().ip.in_addr_errors, 2);
    // ICMP to a foreign address is never answered.
    assert_eq!(pair.b.stats().icmp.out_type[0], 0);
}

/// Whether B sent anything since `since` (an index into `pair.sent`).
fn b_sent_since(pair: &Pair, since: usize) -> usize {
    pair.sent[since..]
        .iter()
        .filter(|(_, to_b, _)| !to_b)
        .count()
}

/// A pair whose B has a transparent IPv4 listener that holds SYNs.
fn holding_pair(seed: u64, edit: impl Fn(&mut crate::config::Config)) -> (Pair, SocketHandle) {
    let mut pair = Pair::with_config(Impairment::default(), seed, |c| {
        c.routes
            .push(Route::new("0.0.0.0/0".parse().unwrap(), None));
        edit(c);
    });
    let l = pair
        .b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    pair.b.tcp_hold_syns(l, true).unwrap();
    (pair, l)
}

#[test]
fn a_held_syn_is_answered_only_once_completed_then_accepted_as_any_connection() {
    let (mut pair, l) = holding_pair(1708, |_| {});
    let server = SocketAddr::new(IpAddr::V4(FOREIGN4), 443);
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let start = pair.sent.len();
    // Three seconds: the client's SYN and its first two retransmissions.
    pair.run_until(Duration::from_secs(3), |_| false);
    assert_eq!(b_sent_since(&pair, start), 0, "a held SYN is not answered");
    assert!(pair.a.stats().tcp.retrans_segs >= 1);
    let events: Vec<_> = std::iter::from_fn(|| pair.b.poll_event()).collect();
    assert!(events
        .iter()
        .any(|e| e.handle == l && e.kind == EventKind::Acceptable));
    let tuple = pair.b.tcp_next_syn(pair.now, l).unwrap();
    assert_eq!(tuple.local, server);
    assert_eq!(tuple.remote, pair.a.tcp_addrs(c).unwrap().0);
    // The retransmitted SYNs are the same held one.
    assert_eq!(pair.b.tcp_next_syn(pair.now, l), Err(Error::WouldBlock));
    assert_eq!(pair.b.tcp_accept(l), Err(Error::WouldBlock));
    assert_eq!(pair.b.stats().tcp.passive_opens, 0);

    pair.b.tcp_complete_syn(pair.now, l, tuple).unwrap();
    let mut s = None;
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        if s.is_none() {
            s = p.b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok, "the completed handshake did not end");
    let s = s.unwrap();
    assert_eq!(pair.b.tcp_addrs(s).unwrap(), (tuple.local, tuple.remote));
    let up = pattern(50_000, 3);
    assert_eq!(transfer(&mut pair, true, c, s, &up), up);
    let down = pattern(50_000, 4);
    assert_eq!(transfer(&mut pair, false, s, c, &down), down);
    // Decided: it is held no more.
    assert_eq!(
        pair.b.tcp_complete_syn(pair.now, l, tuple),
        Err(Error::TimedOut)
    );
    // A listener that does not hold SYNs has none to hand out.
    let plain = pair
        .b
        .tcp_listen_transparent(any6(0), ListenOptions::default())
        .unwrap();
    assert_eq!(
        pair.b.tcp_next_syn(pair.now, plain),
        Err(Error::WrongSocketType)
    );
}

#[test]
fn a_held_syn_refused_fails_the_connect_as_the_refusal_says() {
    for how in [
        SynRefusal::Reset,
        SynRefusal::HostUnreachable,
        SynRefusal::Silent,
    ] {
        let (mut pair, l) = holding_pair(1709, |_| {});
        let server = SocketAddr::new(IpAddr::V4(FOREIGN4), 80);
        let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
        pair.run_until(Duration::from_millis(100), |_| false);
        let tuple = pair.b.tcp_next_syn(pair.now, l).unwrap();
        let start = pair.sent.len();
        pair.b.tcp_refuse_syn(pair.now, l, tuple, how).unwrap();
        pair.run_until(Duration::from_millis(100), |_| false);
        let answers: Vec<&Vec<u8>> = pair.sent[start..]
            .iter()
            .filter(|(_, to_b, _)| !to_b)
            .map(|(_, _, p)| p)
            .collect();
        match how {
            SynRefusal::Reset => {
                assert_eq!(answers.len(), 1);
                assert_eq!(source_of(answers[0]), IpAddr::V4(FOREIGN4));
                assert_eq!(pair.a.tcp_state(c), Ok(State::Closed));
                assert_eq!(
                    pair.a.tcp_recv(pair.now, c, &mut [0u8; 4]),
                    Err(Error::ConnectionRefused)
                );
            }
            SynRefusal::HostUnreachable => {
                assert_eq!(answers.len(), 1);
                // ICMP (protocol 1) from the SYN's destination, host unreachable.
                assert_eq!(answers[0][9], 1);
                assert_eq!(source_of(answers[0]), IpAddr::V4(FOREIGN4));
                assert_eq!(&answers[0][20..22], &[3, 1]);
                assert_eq!(pair.b.stats().icmp.out_type[3], 1);
                // The client took it as its connection's (a soft error in
                // SYN-SENT, its SYN retried until it gives up).
                assert_eq!(pair.a.tcp_state(c), Ok(State::SynSent));
                assert_eq!(
                    pair.a.tcp_take_soft_error(c),
                    Ok(Some(Error::HostUnreachable))
                );
            }
            SynRefusal::Silent => {
                assert!(answers.is_empty());
                assert_eq!(pair.a.tcp_state(c), Ok(State::SynSent));
            }
        }
        // Refused, the tuple is free again: the client's next SYN is held anew
        // (the silent refusal's retry, one second later).
        if how == SynRefusal::Silent {
            pair.run_until(Duration::from_secs(2), |_| false);
            assert_eq!(pair.b.tcp_next_syn(pair.now, l), Ok(tuple));
        }
        assert_eq!(
            pair.b.tcp_refuse_syn(pair.now, l, tuple, how).map(|_| ()),
            if how == SynRefusal::Silent {
                Ok(())
            } else {
                Err(Error::TimedOut)
            },
            "{how:?}"
        );
        let pending = match pair.b.sockets.get(l).map(|e| &e.socket) {
            Some(Socket::Listener(l)) => l.syn_pending,
            _ => unreachable!(),
        };
        assert_eq!(pending, 0, "{how:?}");
    }
}

#[test]
fn held_syns_count_against_the_syn_queue_and_expire() {
    let (mut pair, l) = holding_pair(1710, |c| {
        c.tcp.syn_backlog = 4;
        c.tcp.syn_cookies = true;
    });
    let now = pair.now;
    let client = |port| SocketAddr::new(IpAddr::V4(A4), port);
    let foreign = |port| SocketAddr::new(IpAddr::V4(FOREIGN4), port);
    for port in 1..=10u16 {
        let p = syn(&mut pair.a, client(40_000 + port), foreign(port), 7);
        pair.b.handle_packet(now, &p);
    }
    // Four held, six dropped and counted, none answered: no cookies for a
    // listener that holds SYNs (a cookie would complete the handshake).
    assert!(drain(&mut pair.b, now).is_empty());
    assert_eq!(pair.b.stats().tcp.listen_drops, 6);
    assert_eq!(pair.b.stats().tcp.syncookies_sent, 0);
    let held: Vec<FourTuple> = std::iter::from_fn(|| pair.b.tcp_next_syn(now, l).ok()).collect();
    assert_eq!(held.len(), 4);
    assert_eq!(held[0].local, foreign(1));
    // A SYN-RECEIVED connection lives 63 s (1 s, doubled over 5 retries):
    // just before, the held SYNs still fill the queue.
    let later = now + Duration::from_millis(62_999);
    let p = syn(&mut pair.a, client(50_000), foreign(99), 7);
    pair.b.handle_packet(later, &p);
    assert_eq!(pair.b.stats().tcp.listen_drops, 7);
    // After, they have expired: a new SYN is held, and the old ones cannot be
    // decided any more.
    let expired = now + Duration::from_secs(63);
    pair.b.handle_packet(expired, &p);
    assert_eq!(pair.b.stats().tcp.listen_drops, 7);
    assert_eq!(
        pair.b.tcp_next_syn(expired, l).map(|t| t.local),
        Ok(foreign(99))
    );
    assert_eq!(
        pair.b.tcp_complete_syn(expired, l, held[0]),
        Err(Error::TimedOut)
    );
    let pending = match pair.b.sockets.get(l).map(|e| &e.socket) {
        Some(Socket::Listener(l)) => l.syn_pending,
        _ => unreachable!(),
    };
    assert_eq!(pending, 1);
    // Turned off, the listener answers at once again, the held SYNs dropped.
    pair.b.tcp_hold_syns(l, false).unwrap();
    let p = syn(&mut pair.a, client(50_001), foreign(99), 7);
    pair.b.handle_packet(expired, &p);
    assert_eq!(drain(&mut pair.b, expired).len(), 1, "a SYN-ACK");
    assert_eq!(pair.b.stats().tcp.passive_opens, 1);
}

/// A segment to a foreign address that no connection, TIME-WAIT record or
/// transparent listener takes is an IP-level discard, counted as ingress
/// counts one, on both receive paths: InAddrErrors, not InDelivers or InSegs
/// (it was counted in all three).
#[test]
fn a_foreign_segment_nothing_takes_counts_as_an_address_error_only() {
    for fixed in [true, false] {
        for (any, foreign, client) in [
            (any4(443), IpAddr::V4(FOREIGN4), IpAddr::V4(A4)),
            (any6(443), IpAddr::V6(FOREIGN6), IpAddr::V6(A6)),
        ] {
            let mut pair = routed_pair(1801);
            pair.b.rx_paths.fixed_layout = fixed;
            pair.b
                .tcp_listen_transparent(any, ListenOptions::default())
                .unwrap();
            let now = pair.now;
            let client = SocketAddr::new(client, 40_000);
            let p = syn(&mut pair.a, client, SocketAddr::new(foreign, 80), 1);
            pair.b.handle_packet(now, &p);
            assert!(drain(&mut pair.b, now).is_empty());
            let s = pair.b.stats();
            let ip = if foreign.is_ipv6() { &s.ip6 } else { &s.ip };
            let case = format!("fixed layout {fixed}, {foreign}");
            assert_eq!(ip.in_receives, 1, "{case}");
            assert_eq!(ip.in_addr_errors, 1, "{case}");
            assert_eq!(ip.in_delivers, 0, "{case}");
            assert_eq!(s.tcp.in_segs, 0, "{case}");
            // The port the listener takes: delivered and counted as before.
            let p = syn(&mut pair.a, client, SocketAddr::new(foreign, 443), 1);
            pair.b.handle_packet(now, &p);
            let s = pair.b.stats();
            let ip = if foreign.is_ipv6() { &s.ip6 } else { &s.ip };
            assert_eq!((ip.in_delivers, s.tcp.in_segs), (1, 1), "{case}");
            assert_eq!(s.tcp.passive_opens, 1, "{case}");
        }
    }
}

/// The held SYNs' map, arrival queue and hand-out queue of `l`.
fn held_sizes(pair: &Pair, l: SocketHandle) -> (usize, usize, usize) {
    match pair.b.sockets.get(l).map(|e| &e.socket) {
        Some(Socket::Listener(l)) => l.held.as_deref().unwrap().sizes(),
        _ => unreachable!(),
    }
}

/// A flood of SYNs to a holding listener whose application does not ask for
/// them (or not yet): the SYN queue bounds the held SYNs, and what is kept
/// for them stays within it as they expire and new ones take their place
/// (the hand-out queue kept every expired one: 200 after these 50 rounds).
#[test]
fn an_undrained_holding_listener_keeps_its_queues_within_the_held_syns() {
    let (mut pair, l) = holding_pair(1802, |c| c.tcp.syn_backlog = 4);
    let mut now = pair.now;
    let client = |port| SocketAddr::new(IpAddr::V4(A4), port);
    let foreign = |port| SocketAddr::new(IpAddr::V4(FOREIGN4), port);
    for round in 0..50u16 {
        for i in 0..6u16 {
            let p = syn(&mut pair.a, client(1000 + round * 6 + i), foreign(80), 7);
            pair.b.handle_packet(now, &p);
        }
        assert_eq!(held_sizes(&pair, l), (4, 4, 4), "round {round}");
        now += Duration::from_secs(64);
    }
    assert_eq!(pair.b.stats().tcp.listen_drops, 100);
    // The last round's four are handed out, in order, and nothing else.
    let handed: Vec<u16> = std::iter::from_fn(|| {
        pair.b
            .tcp_next_syn(pair.now + Duration::from_secs(64 * 49), l)
            .ok()
    })
    .map(|t| t.remote.port())
    .collect();
    assert_eq!(handed, [1294, 1295, 1296, 1297]);
}

/// A tuple held, not handed out, expired, then held again by a new SYN: one
/// SYN held, handed out once (it was handed out twice, the expired entry
/// taken for the new one).
#[test]
fn a_tuple_held_again_after_it_expired_is_handed_out_once() {
    let (mut pair, l) = holding_pair(1803, |_| {});
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 1000);
    let p = syn(
        &mut pair.a,
        client,
        SocketAddr::new(IpAddr::V4(FOREIGN4), 80),
        7,
    );
    pair.b.handle_packet(now, &p);
    let later = now + Duration::from_secs(64);
    pair.b.handle_packet(later, &p);
    let tuple = pair.b.tcp_next_syn(later, l).unwrap();
    assert_eq!(tuple.remote, client);
    assert_eq!(pair.b.tcp_next_syn(later, l), Err(Error::WouldBlock));
    assert_eq!(held_sizes(&pair, l), (1, 1, 0));
    pair.b.tcp_complete_syn(later, l, tuple).unwrap();
    assert_eq!(drain(&mut pair.b, later).len(), 1, "the SYN-ACK");
}

/// The client's latest SYN of a held tuple is the one the SYN-ACK answers: a
/// client that gave up and connected again on the same tuple (a new ISN),
/// or one that dropped options from a retry. (The first SYN's ISN was
/// acknowledged: the client's new connection would take it as unacceptable
/// and reset it.)
#[test]
fn a_held_tuple_is_answered_for_its_latest_syn() {
    let (mut pair, l) = holding_pair(1804, |_| {});
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 1000);
    let foreign = SocketAddr::new(IpAddr::V4(FOREIGN4), 80);
    let first = syn(&mut pair.a, client, foreign, 7);
    pair.b.handle_packet(now, &first);
    let again = syn(&mut pair.a, client, foreign, 9000);
    pair.b.handle_packet(now + Duration::from_secs(1), &again);
    let tuple = pair.b.tcp_next_syn(now, l).unwrap();
    assert_eq!(pair.b.tcp_next_syn(now, l), Err(Error::WouldBlock));
    pair.b.tcp_complete_syn(now, l, tuple).unwrap();
    let out = drain(&mut pair.b, now);
    assert_eq!(out.len(), 1);
    // IPv4 without options: the TCP flags at 33, the acknowledgment at 28.
    assert_eq!(out[0][33], 0x12, "a SYN-ACK");
    let ack = u32::from_be_bytes(out[0][28..32].try_into().unwrap());
    assert_eq!(ack, 9001);
}

/// A destination in 0.0.0.0/8 ("this host on this network", a source only)
/// is no address to terminate: Linux drops it as a martian. A transparent
/// listener took a SYN to 0.1.2.3 and answered it from there.
#[test]
fn a_transparent_listener_takes_nothing_to_this_network() {
    let mut pair = routed_pair(1805);
    pair.b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    let u = pair.b.udp_bind_transparent(any4(0)).unwrap();
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 40_000);
    for dst in [Ipv4Addr::new(0, 1, 2, 3), Ipv4Addr::new(0, 255, 255, 255)] {
        let p = syn(&mut pair.a, client, SocketAddr::new(IpAddr::V4(dst), 80), 1);
        pair.b.handle_packet(now, &p);
        assert!(drain(&mut pair.b, now).is_empty(), "{dst}");
    }
    assert_eq!(pair.b.stats().tcp.passive_opens, 0);
    assert_eq!(pair.b.stats().ip.in_addr_errors, 2);
    // Nor is it a source to answer from.
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(0, 1, 2, 3)), 53);
    assert_eq!(
        pair.b.udp_send_from_to(u, b"a", from, client),
        Err(Error::AddrNotAvailable)
    );
    // The next address up is an address like any other.
    let p = syn(
        &mut pair.a,
        client,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(1, 0, 0, 0)), 80),
        1,
    );
    pair.b.handle_packet(now, &p);
    assert_eq!(pair.b.stats().tcp.passive_opens, 1);
}

#[test]
fn nothing_to_port_zero_is_taken_by_a_socket_of_every_port() {
    let mut pair = routed_pair(1711);
    let l = pair
        .b
        .tcp_listen_transparent(any4(0), ListenOptions::default())
        .unwrap();
    let u = pair.b.udp_bind_transparent(any4(0)).unwrap();
    let now = pair.now;
    let client = SocketAddr::new(IpAddr::V4(A4), 40_000);
    let zero = SocketAddr::new(IpAddr::V4(FOREIGN4), 0);
    let p = syn(&mut pair.a, client, zero, 1);
    pair.b.handle_packet(now, &p);
    assert!(drain(&mut pair.b, now).is_empty(), "a SYN to port 0");
    assert_eq!(pair.b.stats().tcp.passive_opens, 0);
    assert_eq!(pair.b.tcp_accept(l).map(|_| ()), Err(Error::WouldBlock));
    // A datagram to port 0 (checksum 0: none, as IPv4 allows).
    let mut udp = vec![0u8; 8];
    udp[0..2].copy_from_slice(&40_000u16.to_be_bytes());
    udp[4..6].copy_from_slice(&8u16.to_be_bytes());
    let d = pair
        .a
        .build_ip_packet(
            client.ip(),
            zero.ip(),
            crate::wire::IpProtocol::Udp,
            &udp,
            64,
            0,
        )
        .unwrap();
    pair.b.handle_packet(now, &d);
    assert!(drain(&mut pair.b, now).is_empty(), "a datagram to port 0");
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.b.udp_recv_from_to(u, &mut buf).map(|_| ()),
        Err(Error::WouldBlock)
    );
    // Any other port is taken as ever.
    let p = syn(
        &mut pair.a,
        client,
        SocketAddr::new(IpAddr::V4(FOREIGN4), 1),
        1,
    );
    pair.b.handle_packet(now, &p);
    assert_eq!(drain(&mut pair.b, now).len(), 1, "the SYN-ACK");
}
