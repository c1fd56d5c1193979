//! A SYN flood from spoofed sources at a listener while legitimate clients connect
//! (issue 7): with SYN cookies (RFC 4987 section 3.6) the legitimate handshakes
//! complete; without them the full SYN queue turns them away.

use layer4::rand::StackRng;
use layer4::time::{Duration, Instant};
use layer4::wire::{AddrPair, Ipv4Packet, TcpPacket};
use layer4::{Config, ListenOptions, State};
use layer4_sim::link::LinkConfig;
use layer4_sim::network::{Direction, Network};
use layer4_sim::node::{Middlebox, Verdict};
use layer4_sim::packet::Packet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Rewrites every packet's IPv4 source to a random address in 10.99.0.0/16 (where
/// nothing lives), fixing both checksums: the attacker's spoofing.
#[derive(Debug)]
struct Spoofer {
    rng: StackRng,
}

impl Middlebox for Spoofer {
    fn on_packet(&mut self, _now: Instant, packet: &mut Packet) -> Verdict {
        let src = Ipv4Addr::new(10, 99, self.rng.u32() as u8, self.rng.u32() as u8);
        let data = &mut packet.data;
        if data.len() < 40 || data[0] >> 4 != 4 {
            return Verdict::Drop;
        }
        let hl = usize::from(data[0] & 0x0f) * 4;
        let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut data[..]);
            ip.set_src_addr(src);
            ip.fill_checksum();
        }
        let addrs = AddrPair::new(IpAddr::V4(src), IpAddr::V4(dst)).unwrap();
        TcpPacket::new_unchecked(&mut data[hl..]).fill_checksum(&addrs);
        Verdict::Pass
    }
}

const CLIENTS: usize = 20;
/// Spoofed SYNs per second.
const FLOOD_RATE: u64 = 1000;

/// Runs the flood; returns how many of the legitimate clients got connected, and
/// the server's cookie counters (sent, received).
fn flood(cookies: bool) -> (usize, u64, u64) {
    let mut net = Network::new(4987);
    let cfg = |a: &str| Config::with_address(a.parse().unwrap());
    let mut server_cfg = cfg("10.0.2.2/24");
    server_cfg.tcp.syn_backlog = 128;
    server_cfg.tcp.syn_cookies = cookies;
    net.add_host("server", server_cfg).unwrap();
    net.add_host("clients", cfg("10.0.1.2/24")).unwrap();
    net.add_host("attacker", cfg("10.0.3.2/24")).unwrap();
    net.add_router(
        "r",
        vec![
            "10.0.1.1/24".parse().unwrap(),
            "10.0.2.1/24".parse().unwrap(),
            "10.0.3.1/24".parse().unwrap(),
        ],
    )
    .unwrap();
    let link = LinkConfig {
        rate_bps: Some(100_000_000),
        delay: Duration::from_millis(5),
        ..LinkConfig::default()
    };
    net.add_link("cr", "clients", "r", link.clone(), link.clone())
        .unwrap();
    net.add_link("rs", "r", "server", link.clone(), link.clone())
        .unwrap();
    net.add_link("ar", "attacker", "r", link.clone(), link)
        .unwrap();
    net.compute_routes().unwrap();
    net.set_middlebox(
        "ar",
        Direction::Forward,
        Box::new(Spoofer {
            rng: StackRng::from_seed(7),
        }),
    )
    .unwrap();
    let server: SocketAddr = "10.0.2.2:80".parse().unwrap();
    let listener = net
        .with_stack("server", |s, _| {
            s.tcp_listen(server, ListenOptions::default())
        })
        .unwrap()
        .unwrap();

    let step = Duration::from_millis(10);
    let per_step = FLOOD_RATE / 100;
    let flood_end = Instant::ZERO + Duration::from_secs(6);
    let end = Instant::ZERO + Duration::from_secs(9);
    let mut clients = Vec::new();
    let mut t = Instant::ZERO;
    while t < end {
        t += step;
        net.run_until(t);
        if t <= flood_end {
            net.with_stack("attacker", |s, now| {
                for _ in 0..per_step {
                    // Ports may run out late in the flood: those SYNs are not sent.
                    let _ = s.tcp_connect(now, server, None);
                }
            });
        }
        // The legitimate clients arrive one every 200 ms from 1 s on, inside the
        // flood.
        let ms = t.as_nanos() / 1_000_000;
        if ms >= 1000 && ms % 200 == 0 && clients.len() < CLIENTS {
            let c = net
                .with_stack("clients", |s, now| s.tcp_connect(now, server, None))
                .unwrap()
                .unwrap();
            clients.push(c);
        }
        net.with_stack("server", |s, _| while s.tcp_accept(listener).is_ok() {});
    }
    let stack = net.stack("clients").unwrap();
    let connected = clients
        .iter()
        .filter(|&&c| stack.tcp_state(c) == Ok(State::Established))
        .count();
    let stats = net.stack("server").unwrap().stats().tcp;
    eprintln!("cookies {cookies}: {connected}/{CLIENTS} connected; {stats:?}");
    (connected, stats.syncookies_sent, stats.syncookies_recv)
}

#[test]
fn syn_flood_with_cookies_lets_legitimate_clients_connect() {
    let (connected, sent, recv) = flood(true);
    // At least 99 %: with 20 clients, all of them.
    assert!(connected * 100 >= CLIENTS * 99, "{connected}/{CLIENTS}");
    assert!(sent > 5_000, "{sent} cookies");
    assert!(recv >= CLIENTS as u64, "{recv} cookies back");
}

#[test]
fn syn_flood_without_cookies_turns_legitimate_clients_away() {
    let (connected, sent, _) = flood(false);
    assert_eq!(sent, 0);
    assert!(connected * 100 < CLIENTS * 99, "{connected}/{CLIENTS}");
}
