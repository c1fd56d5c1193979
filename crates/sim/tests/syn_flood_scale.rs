//! A SYN flood at scale (issue 7): spoofed SYNs at a listener while legitimate
//! clients connect. With SYN cookies (RFC 4987 section 3.6) at least 99 % of the
//! clients connect and the server's state stays under its bound (the SYN queue,
//! `syn_backlog`, plus the connections it accepted); without cookies the full SYN
//! queue turns the clients away.
//!
//! Two stacks on the in-memory wire of [`layer4_sim::live`] (no link delay); the
//! attacker's SYNs are made by hand from random sources in 10.1.0.0/16 (over IPv6,
//! fd00::1:0:0/96 inside the pair's fd00::/64: [`Family::spoofed_addr`]) and random
//! ports, handed to the server, and its SYN-ACKs to them dropped off the wire.
//! 10 ms of virtual time per round.
//!
//! The always-on tests run over IPv4 and, at the same size, over IPv6 (the
//! `_over_ipv6` twins); the spoofed IPv6 SYNs are checked to have the fixed layout
//! of the stack's `Ipv6TcpSegment` receive path (whether the stack took it is
//! counted only in its `#[cfg(test)]` `rx_paths`, out of reach here). The full
//! scale runs over IPv4 only.
//!
//! The full scale of the issue, 50,000 SYN/s for 10 s (500,000 SYNs, 100 clients),
//! is `#[ignore]`d (35 s in debug, under 1 s in release; run it with
//! `cargo test -p layer4-sim --release --test syn_flood_scale -- --ignored`); the
//! always-on versions send 5,000 SYN/s for 4 s with 40 clients, and 100,000 SYNs
//! (half-open connections that cost no state) in one burst.

use layer4::rand::StackRng;
use layer4::time::Duration;
use layer4::wire::{Ipv6TcpSegment, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use layer4::State;
use layer4_sim::live::{
    client_config_in, server_config_in, tcp_packet, Family, LivePair, SERVER_PORT,
};
use std::net::SocketAddr;

/// A SYN from a random spoofed source of `family`, as SYN flooders send them
/// (MSS, SACK, window scale, timestamps).
fn spoofed_syn(family: Family, rng: &mut StackRng) -> Vec<u8> {
    let r = rng.u32();
    let src = family.spoofed_addr(r);
    let mut options = TcpOptions::new();
    options.mss = Some(1460);
    options.window_scale = Some(7);
    options.sack_permitted = true;
    let repr = TcpRepr {
        src_port: 1024 + (r >> 16) as u16 % 60_000,
        dst_port: SERVER_PORT,
        seq_number: SeqNumber(rng.u32()),
        ack_number: SeqNumber(0),
        flags: TcpFlags::SYN,
        window_len: 64240,
        urgent_pointer: 0,
        options,
        payload: &[],
    };
    let syn = tcp_packet(src, family.server_addr(), &repr);
    if family == Family::V6 {
        assert!(
            Ipv6TcpSegment::parse(&syn).is_some(),
            "not the fixed layout"
        );
    }
    syn
}

struct Outcome {
    connected: usize,
    most_sockets: usize,
    cookies_sent: u64,
    cookies_recv: u64,
    listen_drops: u64,
}

/// `rate` spoofed SYN/s for `secs` seconds while `clients` connect, evenly spread
/// over the flood, over `family`; counts the clients connected 500 ms after it
/// ends.
fn flood(family: Family, rate: u64, secs: u64, clients: usize, cookies: bool) -> Outcome {
    let mut server = server_config_in(family, 4987);
    server.checksum_rx = layer4::wire::ChecksumMode::Enabled;
    server.tcp.syn_cookies = cookies;
    let backlog = server.tcp.syn_backlog;
    let mut p = LivePair::with_configs_in(family, server, client_config_in(family, 4987)).unwrap();
    let mut rng = StackRng::from_seed(7);
    let per_round = rate / 100;
    let rounds = secs * 100;
    let every = (rounds as usize / clients).max(1);
    let target = SocketAddr::new(family.server_addr(), SERVER_PORT);
    let mut conns = Vec::new();
    let mut most_sockets = 0;
    for round in 0..rounds + 50 {
        if round < rounds {
            for _ in 0..per_round {
                let syn = spoofed_syn(family, &mut rng);
                p.server.handle_packet(p.now, &syn);
            }
            if round as usize % every == every / 2 && conns.len() < clients {
                conns.push(p.client.tcp_connect(p.now, target, None).unwrap());
            }
        }
        p.drain().unwrap();
        p.drop_replies_to_others();
        p.settle(10).unwrap();
        if round % 10 == 0 {
            let sockets = p.server.socket_table(p.now).len();
            most_sockets = most_sockets.max(sockets);
            // The listener, the pair's own connection, the half-open ones (at most
            // the backlog) and the legitimate clients accepted.
            assert!(
                sockets <= backlog + clients + 2,
                "{sockets} sockets at round {round}"
            );
        }
        p.advance(Duration::from_millis(10)).unwrap();
        p.drop_replies_to_others();
    }
    let connected = conns
        .iter()
        .filter(|&&c| p.client.tcp_state(c) == Ok(State::Established))
        .count();
    let stats = p.server.stats().tcp;
    eprintln!(
        "{family:?}: {rate} SYN/s for {secs} s, cookies {cookies}: {connected}/{clients} connected, at most {most_sockets} sockets; {stats:?}"
    );
    Outcome {
        connected,
        most_sockets,
        cookies_sent: stats.syncookies_sent,
        cookies_recv: stats.syncookies_recv,
        listen_drops: stats.listen_drops,
    }
}

fn assert_cookies_held(o: &Outcome, rate: u64, secs: u64, clients: usize) {
    assert!(
        o.connected * 100 >= clients * 99,
        "{}/{clients}",
        o.connected
    );
    // Every SYN past the full queue was answered with a cookie.
    assert!(
        o.cookies_sent + 1024 >= rate * secs,
        "{} cookies",
        o.cookies_sent
    );
    assert!(
        o.cookies_recv >= o.connected as u64 / 2,
        "{} cookies back",
        o.cookies_recv
    );
    assert!(
        o.most_sockets > 1024,
        "the SYN queue never filled: {}",
        o.most_sockets
    );
}

/// 5,000 SYN/s for 4 s with cookies, 40 clients: 99 % connect.
fn flood_with_cookies(family: Family) {
    let o = flood(family, 5_000, 4, 40, true);
    assert_cookies_held(&o, 5_000, 4, 40);
}

/// The same flood without cookies: the full SYN queue turns clients away.
fn flood_without_cookies(family: Family) {
    let o = flood(family, 5_000, 4, 40, false);
    assert_eq!(o.cookies_sent, 0);
    assert!(o.listen_drops > 15_000, "{} drops", o.listen_drops);
    assert!(o.connected * 100 < 40 * 99, "{}/40", o.connected);
}

/// 100,000 SYNs in one second, 5 clients: at most the SYN queue is kept.
fn half_open_burst(family: Family) {
    let o = flood(family, 100_000, 1, 5, true);
    assert_cookies_held(&o, 100_000, 1, 5);
    assert!(o.most_sockets <= 1024 + 5 + 2);
}

#[test]
fn syn_flood_of_5000_per_second_with_cookies_lets_99_percent_connect() {
    flood_with_cookies(Family::V4);
}

#[test]
fn syn_flood_of_5000_per_second_with_cookies_lets_99_percent_connect_over_ipv6() {
    flood_with_cookies(Family::V6);
}

#[test]
fn syn_flood_of_5000_per_second_without_cookies_turns_clients_away() {
    flood_without_cookies(Family::V4);
}

#[test]
fn syn_flood_of_5000_per_second_without_cookies_turns_clients_away_over_ipv6() {
    flood_without_cookies(Family::V6);
}

/// The full scale: 50,000 SYN/s for 10 s, 100 clients.
#[test]
#[ignore = "full scale, 35 s in debug: run with --release -- --ignored"]
fn syn_flood_of_50000_per_second_for_10_s_with_cookies_lets_99_percent_connect() {
    let o = flood(Family::V4, 50_000, 10, 100, true);
    assert_cookies_held(&o, 50_000, 10, 100);
}

#[test]
#[ignore = "full scale, 35 s in debug: run with --release -- --ignored"]
fn syn_flood_of_50000_per_second_for_10_s_without_cookies_turns_clients_away() {
    let o = flood(Family::V4, 50_000, 10, 100, false);
    assert_eq!(o.cookies_sent, 0);
    assert!(o.connected * 100 < 100 * 99, "{}/100", o.connected);
}

/// 100,000 half-open connections in one second: with cookies the server keeps at
/// most its SYN queue of them, and a client still connects.
#[test]
fn a_hundred_thousand_half_open_connections_cost_only_the_syn_queue() {
    half_open_burst(Family::V4);
}

#[test]
fn a_hundred_thousand_half_open_connections_cost_only_the_syn_queue_over_ipv6() {
    half_open_burst(Family::V6);
}
