//! Two stacks joined in memory: handshakes, transfers over a lossy, duplicating,
//! reordering link, UDP, ICMP, and the stack's answers to strangers.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::config::Config;
use crate::error::Error;
use crate::event::EventKind;
use crate::rand::StackRng;
use crate::tcp::State;
use crate::time::{Duration, Instant};

pub(super) const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub(super) const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
pub(super) const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

fn config(v4: Ipv4Addr, v6: Ipv6Addr, seed: u64) -> Config {
    Config::with_address(format!("{v4}/24").parse().unwrap())
        .address(format!("{v6}/64").parse().unwrap())
        .seed(seed)
}

/// What the link between the two stacks does to packets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Impairment {
    /// Drop probability, in parts per thousand.
    pub loss: u32,
    /// Duplication probability, per mille.
    pub dup: u32,
    /// Probability of holding a packet back behind the next one, per mille.
    pub reorder: u32,
}

/// Two stacks and the packets in flight between them, with a one-way delay.
pub(crate) struct Pair {
    pub a: Stack,
    pub b: Stack,
    pub now: Instant,
    delay: Duration,
    in_flight: Vec<(Instant, bool, Vec<u8>)>,
    held: Option<(bool, Vec<u8>)>,
    imp: Impairment,
    rng: StackRng,
    pub delivered: u64,
    /// Every packet either stack sent (time, towards B, bytes), before the link's
    /// impairments.
    pub sent: Vec<(Instant, bool, Vec<u8>)>,
}

impl Pair {
    pub fn new(imp: Impairment, seed: u64) -> Pair {
        Pair::with_config(imp, seed, |_| {})
    }

    /// [`new`](Self::new), with both stacks' configurations changed by `edit`.
    pub fn with_config(imp: Impairment, seed: u64, edit: impl Fn(&mut Config)) -> Pair {
        let (mut a, mut b) = (config(A4, A6, seed), config(B4, B6, seed + 1));
        edit(&mut a);
        edit(&mut b);
        Pair {
            a: Stack::new(a).unwrap(),
            b: Stack::new(b).unwrap(),
            now: Instant::from_nanos(1_000_000_000),
            delay: Duration::from_millis(5),
            in_flight: Vec::new(),
            held: None,
            imp,
            rng: StackRng::from_seed(seed ^ 0x5eed),
            delivered: 0,
            sent: Vec::new(),
        }
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.rng.range(0..1000u32) < per_mille
    }

    /// Moves every packet both stacks want to send onto the link.
    fn drain(&mut self) {
        let mut buf = vec![0u8; 2000];
        for to_b in [true, false] {
            loop {
                let stack = if to_b { &mut self.a } else { &mut self.b };
                let Some(n) = stack.poll_transmit(self.now, &mut buf) else {
                    break;
                };
                let packet = buf[..n].to_vec();
                self.sent.push((self.now, to_b, packet.clone()));
                if self.chance(self.imp.loss) {
                    continue;
                }
                let copies = if self.chance(self.imp.dup) { 2 } else { 1 };
                for _ in 0..copies {
                    if self.chance(self.imp.reorder) && self.held.is_none() {
                        self.held = Some((to_b, packet.clone()));
                        continue;
                    }
                    self.in_flight
                        .push((self.now + self.delay, to_b, packet.clone()));
                    if let Some((dir, p)) = self.held.take() {
                        self.in_flight.push((self.now + self.delay, dir, p));
                    }
                }
            }
        }
    }

    /// Runs until `deadline` or until `done` says so; returns whether `done` did.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.drain();
            if done(self) {
                return true;
            }
            // The next thing to happen: a delivery or a timer.
            let next_packet = self.in_flight.iter().map(|p| p.0).min();
            let next = [
                next_packet,
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.held.as_ref().map(|_| self.now + self.delay),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { return false };
            if next > deadline {
                return false;
            }
            self.now = self.now.max(next);
            if self.held.is_some() && next_packet.is_none_or(|p| p > self.now) {
                if let Some((dir, p)) = self.held.take() {
                    self.in_flight.push((self.now, dir, p));
                }
            }
            let now = self.now;
            let mut due = Vec::new();
            self.in_flight.retain(|p| {
                if p.0 <= now {
                    due.push((p.1, p.2.clone()));
                    false
                } else {
                    true
                }
            });
            for (to_b, p) in due {
                self.delivered += 1;
                if to_b {
                    self.b.handle_packet(now, &p);
                } else {
                    self.a.handle_packet(now, &p);
                }
            }
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
        }
    }
}

fn events(stack: &mut Stack) -> Vec<Event> {
    std::iter::from_fn(|| stack.poll_event()).collect()
}

/// Connects A to a listener on B; returns (client, listener, server).
pub(super) fn connect(
    pair: &mut Pair,
    server: SocketAddr,
) -> (SocketHandle, SocketHandle, SocketHandle) {
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(30), |p| {
        if accepted.is_none() {
            accepted = p.b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok, "handshake did not complete");
    (c, l, accepted.unwrap())
}

/// Sends `data` from `src` to `dst` over the pair, returns what arrived.
pub(super) fn transfer(
    pair: &mut Pair,
    from_a: bool,
    src: SocketHandle,
    dst: SocketHandle,
    data: &[u8],
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let ok = pair.run_until(Duration::from_secs(600), |p| {
        let (tx, rx) = if from_a {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        while sent < data.len() {
            match tx.tcp_send(p.now, src, &data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        while let Ok(n) = rx.tcp_recv(p.now, dst, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got.len() >= data.len()
    });
    assert!(
        ok,
        "transfer stalled at {} of {} bytes",
        got.len(),
        data.len()
    );
    got
}

pub(super) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = StackRng::from_seed(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

/// Hands A the ICMPv4 message `icmp` from `src`, in an IP packet B builds.
pub(super) fn icmp_to_a(
    pair: &mut Pair,
    now: Instant,
    src: IpAddr,
    icmp: &crate::wire::Icmpv4Repr<'_>,
) {
    use crate::wire::{Icmpv4Packet, IpProtocol};
    let mut body = vec![0u8; icmp.buffer_len()];
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        crate::wire::ChecksumMode::Enabled,
    );
    let p = pair
        .b
        .build_ip_packet(src, IpAddr::V4(A4), IpProtocol::Icmp, &body, 64, 0)
        .unwrap();
    pair.a.handle_packet(now, &p);
}

#[test]
fn handshake_and_close_over_ipv4() {
    let mut pair = Pair::new(Impairment::default(), 1);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    assert!(events(&mut pair.a)
        .iter()
        .any(|e| e.handle == c && e.kind == EventKind::Connected));
    pair.a.close(pair.now, c).unwrap();
    pair.b.close(pair.now, s).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.a.stats().tcp.active_opens, 1);
    assert_eq!(pair.b.stats().tcp.passive_opens, 1);
    assert_eq!(pair.a.stats().tcp.curr_estab, 0);
    // The client holds TIME-WAIT, then lets go.
    let table = pair.a.socket_table(pair.now);
    assert_eq!(table.len(), 1);
    assert_eq!(table[0].state, "TIME-WAIT");
    pair.run_until(Duration::from_secs(61), |_| false);
    assert!(pair.a.socket_table(pair.now).is_empty());
}

#[test]
fn megabytes_flow_both_ways_over_ipv6() {
    let mut pair = Pair::new(Impairment::default(), 2);
    let server = SocketAddr::new(IpAddr::V6(B6), 443);
    let (c, _l, s) = connect(&mut pair, server);
    let up = pattern(3 << 20, 7);
    assert_eq!(transfer(&mut pair, true, c, s, &up), up);
    let down = pattern(2 << 20, 8);
    assert_eq!(transfer(&mut pair, false, s, c, &down), down);
}

#[test]
fn lossy_duplicating_reordering_link_still_delivers_every_byte() {
    let imp = Impairment {
        loss: 20,
        dup: 10,
        reorder: 30,
    };
    for seed in [3, 4] {
        let mut pair = Pair::new(imp, seed);
        let server = SocketAddr::new(IpAddr::V4(B4), 8080);
        let (c, _l, s) = connect(&mut pair, server);
        let up = pattern(2 << 20, seed);
        assert_eq!(transfer(&mut pair, true, c, s, &up), up);
        let down = pattern(1 << 20, seed + 100);
        assert_eq!(transfer(&mut pair, false, s, c, &down), down);
        let info = pair.a.tcp_info(pair.now, c).unwrap();
        assert!(info.total_retrans > 0, "loss caused retransmissions");
    }
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut pair = Pair::new(
            Impairment {
                loss: 10,
                dup: 5,
                reorder: 10,
            },
            seed,
        );
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let (c, _l, s) = connect(&mut pair, server);
        transfer(&mut pair, true, c, s, &pattern(200_000, 1));
        (pair.now, pair.delivered, pair.a.stats().clone())
    };
    assert_eq!(run(9), run(9));
}

#[test]
fn connect_to_closed_port_is_refused_by_rst() {
    let mut pair = Pair::new(Impairment::default(), 5);
    let c = pair
        .a
        .tcp_connect(pair.now, SocketAddr::new(IpAddr::V4(B4), 9), None)
        .unwrap();
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.tcp_state(c) == Ok(State::Closed)
    });
    assert_eq!(
        pair.a.tcp_recv(pair.now, c, &mut [0u8; 4]),
        Err(Error::ConnectionRefused)
    );
    assert_eq!(pair.b.stats().tcp.out_rsts, 1);
    assert_eq!(pair.a.stats().tcp.attempt_fails, 1);
}

#[test]
fn udp_round_trip_and_port_unreachable() {
    let mut pair = Pair::new(Impairment::default(), 6);
    let sb = pair
        .b
        .udp_bind(SocketAddr::new(IpAddr::V4(B4), 53))
        .unwrap();
    let sa = pair.a.udp_bind(SocketAddr::new(IpAddr::V4(A4), 0)).unwrap();
    let dst = SocketAddr::new(IpAddr::V4(B4), 53);
    pair.a.udp_send_to(sa, b"query", dst).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    let mut buf = [0u8; 64];
    let (n, from) = pair.b.udp_recv_from(sb, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"query");
    pair.b.udp_send_to(sb, b"answer", from).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.a.udp_recv_from(sa, &mut buf).map(|r| r.0), Ok(6));

    // A connected socket hears of a closed port.
    pair.a
        .udp_connect(sa, SocketAddr::new(IpAddr::V4(B4), 54))
        .unwrap();
    pair.a.udp_send(sa, b"anyone?").unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.stats().udp.no_ports, 1);
    assert_eq!(pair.b.stats().icmp.out_type[3], 1);
    assert_eq!(pair.a.udp_send(sa, b"again"), Err(Error::ConnectionRefused));
}

#[test]
fn udp_datagram_larger_than_mtu_is_fragmented_and_reassembled() {
    let mut pair = Pair::new(Impairment::default(), 7);
    for (a, b) in [
        (IpAddr::V4(A4), IpAddr::V4(B4)),
        (IpAddr::V6(A6), IpAddr::V6(B6)),
    ] {
        let sb = pair.b.udp_bind(SocketAddr::new(b, 5000)).unwrap();
        let sa = pair.a.udp_bind(SocketAddr::new(a, 0)).unwrap();
        let data = pattern(5000, 3);
        pair.a
            .udp_send_to(sa, &data, SocketAddr::new(b, 5000))
            .unwrap();
        pair.run_until(Duration::from_secs(1), |_| false);
        let mut buf = [0u8; 8000];
        let (n, _) = pair.b.udp_recv_from(sb, &mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..]);
    }
    assert!(pair.b.stats().ip.reasm_oks >= 1);
    assert!(pair.b.stats().ip6.reasm_oks >= 1);
}

#[test]
fn ping_is_answered() {
    use crate::wire::{Icmpv4Packet, Icmpv4Repr, IpProtocol};
    let mut pair = Pair::new(Impairment::default(), 8);
    let req = Icmpv4Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"ping",
    };
    let mut body = vec![0u8; req.buffer_len()];
    req.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        crate::wire::ChecksumMode::Enabled,
    );
    let packet = pair
        .a
        .build_ip_packet(
            IpAddr::V4(A4),
            IpAddr::V4(B4),
            IpProtocol::Icmp,
            &body,
            64,
            0,
        )
        .unwrap();
    pair.b.handle_packet(pair.now, &packet);
    let mut buf = [0u8; 1500];
    let n = pair.b.poll_transmit(pair.now, &mut buf).unwrap();
    let text = crate::wire::dump(&buf[..n]).to_string();
    assert!(text.contains("ICMP echo reply, id 7, seq 1"), "{text}");
}

#[test]
fn listening_twice_is_addr_in_use() {
    let mut pair = Pair::new(Impairment::default(), 10);
    let addr = SocketAddr::new(IpAddr::V4(B4), 80);
    pair.b.tcp_listen(addr, ListenOptions::default()).unwrap();
    assert_eq!(
        pair.b.tcp_listen(addr, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80);
    assert_eq!(
        pair.b.tcp_listen(any, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
}

#[test]
fn time_wait_blocks_listen_unless_reuse_addr() {
    let mut pair = Pair::new(Impairment::default(), 11);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, l, s) = connect(&mut pair, server);
    // The server closes first and holds TIME-WAIT.
    pair.b.close(pair.now, s).unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    pair.a.close(pair.now, c).unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    pair.b.close(pair.now, l).unwrap();
    assert_eq!(pair.b.socket_table(pair.now)[0].state, "TIME-WAIT");
    assert_eq!(
        pair.b.tcp_listen(server, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    let reuse = ListenOptions {
        reuse_addr: true,
        ..ListenOptions::default()
    };
    assert!(pair.b.tcp_listen(server, reuse).is_ok());
}

#[test]
fn a_port_is_in_use_while_a_connection_is_in_the_tuple_map_and_free_once_closed() {
    let mut pair = Pair::new(Impairment::default(), 15);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, l, s) = connect(&mut pair, server);
    pair.b.close(pair.now, l).unwrap();
    // The listener is gone; its accepted connection still uses the port.
    assert_eq!(
        pair.b.tcp_listen(server, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80);
    assert_eq!(
        pair.b.tcp_listen(any, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    // The client's ephemeral port, on its own side, too; another port is free.
    let (local, _) = pair.a.tcp_addrs(c).unwrap();
    assert_eq!(
        pair.a.tcp_listen(local, ListenOptions::default()),
        Err(Error::AddrInUse)
    );
    let other = SocketAddr::new(local.ip(), local.port().wrapping_add(1));
    assert!(pair.a.tcp_listen(other, ListenOptions::default()).is_ok());
    // A port-0 listener never gets a port a connection uses.
    for _ in 0..20 {
        let got = pair
            .a
            .tcp_listen(SocketAddr::new(local.ip(), 0), ListenOptions::default());
        assert_ne!(pair.a.listener_addr(got.unwrap()).unwrap(), local);
    }
    // Reset: CLOSED and out of the tuple map, the port is free again although
    // the application still holds the handle.
    pair.a.tcp_abort(pair.now, c).unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(pair.b.tcp_state(s), Ok(State::Closed));
    assert!(pair.b.tcp_listen(server, ListenOptions::default()).is_ok());
}

#[test]
fn the_kept_listener_answers_what_the_listener_map_answers() {
    let mut b = Stack::new(config(B4, B6, 16)).unwrap();
    let at = |ip: IpAddr, port: u16| SocketAddr::new(ip, port);
    let (v4, v6) = (IpAddr::V4(B4), IpAddr::V6(B6));
    let (any4, any6) = (
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    );
    let queries = [at(v4, 80), at(v4, 81), at(v6, 80), at(v6, 81), at(v4, 82)];
    // Each query twice (the second from the kept answer), against the map's.
    let check = |b: &Stack, step: &str| {
        for q in queries {
            for _ in 0..2 {
                let map = b.find_listener_in_map((q.ip(), q.port()));
                b.last_listener.set(None);
                let _ = b.find_listener(q);
                assert_eq!(b.find_listener(q), map, "{step}: {q}");
            }
        }
    };
    check(&b, "none");
    let exact = b.tcp_listen(at(v4, 80), ListenOptions::default()).unwrap();
    check(&b, "exact");
    let wild = b
        .tcp_listen(at(any4, 81), ListenOptions::default())
        .unwrap();
    check(&b, "wildcard");
    // Warm the kept answer for port 80, then close that listener.
    assert_eq!(b.find_listener(at(v4, 80)), Some(exact));
    b.close(Instant::from_nanos(1), exact).unwrap();
    assert_eq!(b.find_listener(at(v4, 80)), None, "closed");
    check(&b, "closed");
    let wild80 = b
        .tcp_listen(at(any4, 80), ListenOptions::default())
        .unwrap();
    assert_eq!(b.find_listener(at(v4, 80)), Some(wild80), "a new wildcard");
    let v6l = b
        .tcp_listen(at(any6, 81), ListenOptions::default())
        .unwrap();
    assert_eq!(b.find_listener(at(v6, 81)), Some(v6l));
    assert_eq!(b.find_listener(at(v4, 81)), Some(wild));
    check(&b, "both families");
}

#[test]
fn ephemeral_ports_run_out_with_addr_not_available() {
    let mut cfg = config(A4, A6, 12);
    cfg.ports.range = 50000..=50003;
    let mut a = Stack::new(cfg).unwrap();
    let dst = SocketAddr::new(IpAddr::V4(B4), 80);
    let now = Instant::from_nanos(1);
    for _ in 0..4 {
        a.tcp_connect(now, dst, None).unwrap();
    }
    assert_eq!(a.tcp_connect(now, dst, None), Err(Error::AddrNotAvailable));
    // Another destination has its own four ports.
    assert!(a
        .tcp_connect(now, SocketAddr::new(IpAddr::V4(B4), 81), None)
        .is_ok());
}

#[test]
fn no_route_is_network_unreachable() {
    let mut a = Stack::new(config(A4, A6, 13)).unwrap();
    let far = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 80);
    assert_eq!(
        a.tcp_connect(Instant::from_nanos(1), far, None),
        Err(Error::NetworkUnreachable)
    );
    let with_gw = config(A4, A6, 13).gateway(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)));
    let mut b = Stack::new(with_gw).unwrap();
    assert!(b.tcp_connect(Instant::from_nanos(1), far, None).is_ok());
}

#[test]
fn garbage_packets_are_counted_never_a_panic() {
    let mut b = Stack::new(config(B4, B6, 14)).unwrap();
    let mut rng = StackRng::from_seed(99);
    let now = Instant::from_nanos(5);
    b.tcp_listen(
        SocketAddr::new(IpAddr::V4(B4), 80),
        ListenOptions::default(),
    )
    .unwrap();
    b.udp_bind(SocketAddr::new(IpAddr::V4(B4), 53)).unwrap();
    for i in 0..20_000 {
        let len = rng.range(0..200usize);
        let mut p = vec![0u8; len];
        rng.fill(&mut p);
        if len > 20 && i % 2 == 0 {
            // Make it look like IPv4 to us, to reach deeper parsers.
            p[0] = 0x45;
            p[12..16].copy_from_slice(&A4.octets());
            p[16..20].copy_from_slice(&B4.octets());
        }
        b.handle_packet(now, &p);
        let mut buf = [0u8; 1500];
        while b.poll_transmit(now, &mut buf).is_some() {}
    }
    assert!(b.stats().ip.in_hdr_errors > 0);
}

#[test]
fn fragmentation_needed_lowers_the_connection_mss() {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv4Repr};
    let mut pair = Pair::new(Impairment::default(), 20);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, _s) = connect(&mut pair, server);
    assert_eq!(pair.a.tcp_info(pair.now, c).unwrap().snd_mss, 1448);
    pair.a.tcp_send(pair.now, c, &pattern(3000, 1)).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(n, 1500);
    // A router on the way says the next hop takes 1400 bytes.
    let err = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::FragRequired,
        next_hop_mtu: 1400,
        invoking: &buf[..28],
    };
    let router = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
    let now = pair.now;
    icmp_to_a(&mut pair, now, router, &err);
    let info = pair.a.tcp_info(pair.now, c).unwrap();
    assert_eq!(info.pmtu, 1400);
    assert_eq!(info.snd_mss, 1400 - 20 - 20 - 12);
    // The segment that was too big goes again, at the new size.
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(n, 1400);
}

#[test]
fn forged_icmp_outside_the_window_is_ignored() {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpProtocol};
    let mut pair = Pair::new(Impairment::default(), 21);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    let mut quote = buf[..n.min(48)].to_vec();
    // Another sequence number than the SYN's.
    quote[24] ^= 0x80;
    let err = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        invoking: &quote,
    };
    let mut body = vec![0u8; err.buffer_len()];
    err.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        crate::wire::ChecksumMode::Enabled,
    );
    let packet = pair
        .b
        .build_ip_packet(
            IpAddr::V4(B4),
            IpAddr::V4(A4),
            IpProtocol::Icmp,
            &body,
            64,
            0,
        )
        .unwrap();
    pair.a.handle_packet(pair.now, &packet);
    assert_eq!(pair.a.tcp_state(c), Ok(State::SynSent));
    // The genuine quote refuses the connection.
    let err = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        invoking: &buf[..n.min(48)],
    };
    let mut body = vec![0u8; err.buffer_len()];
    err.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        crate::wire::ChecksumMode::Enabled,
    );
    let packet = pair
        .b
        .build_ip_packet(
            IpAddr::V4(B4),
            IpAddr::V4(A4),
            IpProtocol::Icmp,
            &body,
            64,
            0,
        )
        .unwrap();
    pair.a.handle_packet(pair.now, &packet);
    assert_eq!(pair.a.tcp_state(c), Ok(State::Closed));
    assert_eq!(
        pair.a.tcp_recv(pair.now, c, &mut [0u8; 1]),
        Err(Error::ConnectionRefused)
    );
}

#[test]
fn with_cookies_off_full_syn_queue_drops_syns() {
    let mut cfg = config(B4, B6, 22);
    cfg.tcp.syn_backlog = 3;
    cfg.tcp.syn_cookies = false;
    let mut b = Stack::new(cfg).unwrap();
    let mut a = Stack::new(config(A4, A6, 23)).unwrap();
    let now = Instant::from_nanos(1);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    let mut buf = [0u8; 1500];
    for _ in 0..10 {
        a.tcp_connect(now, server, None).unwrap();
        let n = a.poll_transmit(now, &mut buf).unwrap();
        b.handle_packet(now, &buf[..n]);
    }
    // Three SYN-ACKs, seven SYNs dropped and counted.
    let mut synacks = 0;
    while b.poll_transmit(now, &mut buf).is_some() {
        synacks += 1;
    }
    assert_eq!(synacks, 3);
    assert_eq!(b.stats().tcp.listen_drops, 7);
    assert_eq!(b.socket_table(now).len(), 4);
}

#[test]
fn new_syn_with_newer_timestamp_reuses_time_wait() {
    let mut pair = Pair::new(Impairment::default(), 24);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let local = SocketAddr::new(IpAddr::V4(A4), 40000);
    let c = pair.a.tcp_connect(pair.now, server, Some(local)).unwrap();
    let mut s = None;
    pair.run_until(Duration::from_secs(5), |p| {
        s = s.or_else(|| p.b.tcp_accept(l).ok().map(|x| x.0));
        s.is_some()
    });
    // The server closes first: it holds TIME-WAIT for the 4-tuple.
    pair.b.close(pair.now, s.unwrap()).unwrap();
    pair.run_until(Duration::from_millis(50), |_| false);
    pair.a.close(pair.now, c).unwrap();
    pair.run_until(Duration::from_millis(50), |_| false);
    assert!(pair
        .b
        .socket_table(pair.now)
        .iter()
        .any(|e| e.state == "TIME-WAIT"));
    // Ten seconds later the client reconnects from the same port.
    pair.run_until(Duration::from_secs(10), |_| false);
    let c2 = pair.a.tcp_connect(pair.now, server, Some(local)).unwrap();
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        p.a.tcp_state(c2) == Ok(State::Established)
    });
    assert!(ok);
    assert_eq!(pair.b.stats().tcp.time_wait_recycled, 1);
}

#[test]
fn connect_to_broadcast_or_multicast_is_refused() {
    let mut a = Stack::new(config(A4, A6, 30)).unwrap();
    let now = Instant::from_nanos(1);
    for ip in [
        IpAddr::V4(Ipv4Addr::BROADCAST),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 255)),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
        // Never an IPv6 packet's peer (RFC 4291 2.5.3, RFC 6890).
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped()),
    ] {
        assert_eq!(
            a.tcp_connect(now, SocketAddr::new(ip, 80), None),
            Err(Error::InvalidAddress),
            "{ip}"
        );
    }
}

#[test]
fn syn_from_broadcast_source_is_dropped_unanswered() {
    let mut pair = Pair::new(Impairment::default(), 31);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let _ = c;
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    // Rewrite the source to the subnet broadcast (checksums are not what is tested:
    // verify nothing on input).
    let mut cfg = config(B4, B6, 32);
    cfg.checksum_rx = crate::wire::ChecksumMode::Offloaded;
    let mut b = Stack::new(cfg).unwrap();
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    buf[12..16].copy_from_slice(&[10, 0, 0, 255]);
    b.handle_packet(pair.now, &buf[..n]);
    assert!(b.poll_transmit(pair.now, &mut buf).is_none());
    assert_eq!(b.stats().tcp.passive_opens, 0);
    assert_eq!(b.stats().tcp.in_errs, 1);
}

#[test]
fn many_connections_each_get_their_own_segments_after_the_table_grows() {
    let mut pair = Pair::new(Impairment::default(), 41);
    let server = SocketAddr::new(IpAddr::V4(B4), 7000);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    // 600 connections: the connection table rehashes several times while they open.
    let clients: Vec<_> = (0..600)
        .map(|_| pair.a.tcp_connect(pair.now, server, None).unwrap())
        .collect();
    let mut accepted = Vec::new();
    let ok = pair.run_until(Duration::from_secs(30), |p| {
        while let Ok((h, peer)) = p.b.tcp_accept(l) {
            accepted.push((h, peer));
        }
        accepted.len() == clients.len()
    });
    assert!(ok, "only {} of {} accepted", accepted.len(), clients.len());
    for (i, &c) in clients.iter().enumerate() {
        assert_eq!(
            pair.a.tcp_send(pair.now, c, &(i as u16).to_be_bytes()),
            Ok(2)
        );
    }
    pair.run_until(Duration::from_secs(5), |_| false);
    // Each server-side connection got exactly the two bytes its own client sent.
    for &(h, peer) in &accepted {
        let i = clients
            .iter()
            .position(|&c| pair.a.tcp_addrs(c).unwrap().0.port() == peer.port())
            .unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(pair.b.tcp_recv(pair.now, h, &mut buf), Ok(2));
        assert_eq!(u16::from_be_bytes([buf[0], buf[1]]) as usize, i);
    }
}

/// A hand-made TCP segment from `src` to `dst` as a whole IP packet, checksums filled.
pub(super) fn tcp_packet(
    stack: &mut Stack,
    src: SocketAddr,
    dst: SocketAddr,
    repr: &crate::wire::TcpRepr<'_>,
) -> Vec<u8> {
    use crate::wire::{AddrPair, ChecksumMode, IpProtocol, TcpPacket};
    let addrs = AddrPair::new(src.ip(), dst.ip()).unwrap();
    let mut body = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut body[..]),
        &addrs,
        ChecksumMode::Enabled,
    );
    stack
        .build_ip_packet(src.ip(), dst.ip(), IpProtocol::Tcp, &body, 64, 0)
        .unwrap()
}

/// A TCP segment from `src` to `dst` with `flags`, `seq`, `ack` and
/// `payload`, a window of 65535 and no options, as a whole IP packet.
pub(super) fn segment(
    stack: &mut Stack,
    src: SocketAddr,
    dst: SocketAddr,
    flags: crate::wire::TcpFlags,
    seq: u32,
    ack: crate::wire::SeqNumber,
    payload: &[u8],
) -> Vec<u8> {
    let repr = crate::wire::TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq_number: crate::wire::SeqNumber(seq),
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options: crate::wire::TcpOptions::default(),
        payload,
    };
    tcp_packet(stack, src, dst, &repr)
}

/// The TCP segment inside an IPv4 packet, parsed.
pub(super) fn tcp_of(packet: &[u8]) -> crate::wire::TcpRepr<'_> {
    use crate::wire::{AddrPair, ChecksumMode, TcpPacket, TcpRepr};
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let addrs = AddrPair::new(IpAddr::V4(src), IpAddr::V4(dst)).unwrap();
    let hl = usize::from(packet[0] & 0x0f) * 4;
    let seg = TcpPacket::new_checked(&packet[hl..]).unwrap();
    TcpRepr::parse(&seg, &addrs, ChecksumMode::Enabled).unwrap()
}

/// An ICMPv4 message from `from` to A4, as a whole IP packet.
fn icmpv4_to_a(stack: &mut Stack, from: Ipv4Addr, repr: &crate::wire::Icmpv4Repr<'_>) -> Vec<u8> {
    use crate::wire::{ChecksumMode, Icmpv4Packet, IpProtocol};
    let mut body = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut body[..]),
        ChecksumMode::Enabled,
    );
    stack
        .build_ip_packet(
            IpAddr::V4(from),
            IpAddr::V4(A4),
            IpProtocol::Icmp,
            &body,
            64,
            0,
        )
        .unwrap()
}

#[test]
fn rst_in_syn_received_returns_the_listener_to_listening() {
    use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};
    let mut pair = Pair::new(Impairment::default(), 50);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let client = pair.a.tcp_addrs(c).unwrap().0;
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    pair.b.handle_packet(pair.now, &buf[..n]);
    let n = pair.b.poll_transmit(pair.now, &mut buf).unwrap();
    let synack = tcp_of(&buf[..n]);
    assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
    // The SYN-ACK is lost; a RST at RCV.NXT comes instead.
    let rst = TcpRepr {
        src_port: client.port(),
        dst_port: 80,
        seq_number: synack.ack_number,
        ack_number: SeqNumber(0),
        flags: TcpFlags::RST,
        window_len: 0,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    let packet = tcp_packet(&mut pair.a, client, server, &rst);
    pair.b.handle_packet(pair.now, &packet);
    assert!(
        pair.b.poll_transmit(pair.now, &mut buf).is_none(),
        "a RST is not answered"
    );
    let table = pair.b.socket_table(pair.now);
    assert_eq!(table.len(), 1, "{table:?}");
    assert_eq!(table[0].state, "LISTEN");
    assert_eq!(pair.b.tcp_accept(l), Err(Error::WouldBlock));
    // Counted as Linux's `tcp_check_req` counts a RST to a request socket.
    assert_eq!(pair.b.stats().tcp.attempt_fails, 1);
    // Still listening: the client's retransmitted SYN opens a connection.
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        accepted = accepted.or_else(|| p.b.tcp_accept(l).ok());
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok);
    assert_eq!(accepted.unwrap().1, client);
}

#[test]
fn two_handshakes_in_progress_on_one_listener_both_complete() {
    let mut pair = Pair::new(Impairment::default(), 51);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c1 = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let c2 = pair.a.tcp_connect(pair.now, server, None).unwrap();
    // Both SYNs reach the listener before either handshake completes.
    let mut buf = [0u8; 1500];
    while let Some(n) = pair.a.poll_transmit(pair.now, &mut buf) {
        pair.b.handle_packet(pair.now, &buf[..n]);
    }
    let table = pair.b.socket_table(pair.now);
    let half_open = table.iter().filter(|e| e.state == "SYN-RECV").count();
    assert_eq!(half_open, 2, "{table:?}");
    assert!(table.iter().any(|e| e.state == "LISTEN"));
    let mut accepted = Vec::new();
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        while let Ok((_, peer)) = p.b.tcp_accept(l) {
            accepted.push(peer);
        }
        accepted.len() == 2
            && p.a.tcp_state(c1) == Ok(State::Established)
            && p.a.tcp_state(c2) == Ok(State::Established)
    });
    assert!(ok);
    let mut peers: Vec<_> = [c1, c2]
        .iter()
        .map(|&c| pair.a.tcp_addrs(c).unwrap().0)
        .collect();
    peers.sort();
    accepted.sort();
    assert_eq!(accepted, peers);
}

#[test]
fn connect_from_an_explicit_local_address_uses_it() {
    let mut pair = Pair::new(Impairment::default(), 52);
    let second = Ipv4Addr::new(10, 0, 0, 3);
    pair.a = Stack::new(config(A4, A6, 52).address("10.0.0.3/24".parse().unwrap())).unwrap();
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    // Not one of A's addresses: refused.
    let foreign = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), 0);
    assert_eq!(
        pair.a.tcp_connect(pair.now, server, Some(foreign)),
        Err(Error::AddrNotAvailable)
    );
    let local = SocketAddr::new(IpAddr::V4(second), 0);
    let c = pair.a.tcp_connect(pair.now, server, Some(local)).unwrap();
    assert_eq!(pair.a.tcp_addrs(c).unwrap().0.ip(), IpAddr::V4(second));
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(&buf[12..16], &second.octets(), "the SYN's source");
    pair.b.handle_packet(pair.now, &buf[..n]);
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        accepted = accepted.or_else(|| p.b.tcp_accept(l).ok());
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok);
    let (s, peer) = accepted.unwrap();
    assert_eq!(peer.ip(), IpAddr::V4(second));
    assert_eq!(transfer(&mut pair, true, c, s, b"from .3"), b"from .3");
}

#[test]
fn passive_connection_answers_from_the_address_the_syn_was_sent_to() {
    let mut pair = Pair::new(Impairment::default(), 53);
    let second = Ipv4Addr::new(10, 0, 0, 4);
    pair.b = Stack::new(config(B4, B6, 54).address("10.0.0.4/24".parse().unwrap())).unwrap();
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80);
    let l = pair.b.tcp_listen(any, ListenOptions::default()).unwrap();
    let server = SocketAddr::new(IpAddr::V4(second), 80);
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    pair.b.handle_packet(pair.now, &buf[..n]);
    let n = pair.b.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(&buf[12..16], &second.octets(), "the SYN-ACK's source");
    pair.a.handle_packet(pair.now, &buf[..n]);
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        accepted = accepted.or_else(|| p.b.tcp_accept(l).ok());
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok);
    let s = accepted.unwrap().0;
    assert_eq!(pair.b.tcp_addrs(s).unwrap().0, server);
    assert_eq!(transfer(&mut pair, false, s, c, b"from .4"), b"from .4");
}

#[test]
fn dscp_set_and_changed_mid_connection_reaches_the_ip_header() {
    let mut pair = Pair::new(Impairment::default(), 55);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, _s) = connect(&mut pair, server);
    let mut buf = [0u8; 1500];
    for dscp in [46u8, 10, 0] {
        let mut o = pair.a.tcp_options(c).unwrap();
        o.dscp = dscp;
        pair.a.tcp_set_options(pair.now, c, o).unwrap();
        pair.a.tcp_send(pair.now, c, b"marked").unwrap();
        let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
        assert_eq!(tcp_of(&buf[..n]).payload, b"marked");
        assert_eq!(buf[1] >> 2, dscp, "DSCP");
        assert_eq!(buf[1] & 3, 0, "ECN bits untouched");
        pair.b.handle_packet(pair.now, &buf[..n]);
        pair.run_until(Duration::from_millis(100), |_| false);
    }
}

#[test]
fn ttl_is_configurable_per_stack_and_per_connection() {
    let mut pair = Pair::new(Impairment::default(), 56);
    let mut cfg = config(A4, A6, 56);
    cfg.tcp.ttl = 33;
    pair.a = Stack::new(cfg).unwrap();
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(buf[8], 33, "the stack's TTL on the SYN");
    pair.b.handle_packet(pair.now, &buf[..n]);
    let mut accepted = None;
    let ok = pair.run_until(Duration::from_secs(5), |p| {
        accepted = accepted.or_else(|| p.b.tcp_accept(l).ok());
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    assert!(ok);
    let mut o = pair.a.tcp_options(c).unwrap();
    o.ttl = 7;
    pair.a.tcp_set_options(pair.now, c, o).unwrap();
    pair.a.tcp_send(pair.now, c, b"short-lived").unwrap();
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(tcp_of(&buf[..n]).payload, b"short-lived");
    assert_eq!(buf[8], 7, "the connection's TTL");
}

#[test]
fn source_quench_is_ignored() {
    use crate::wire::{Icmpv4Message, Icmpv4Repr};
    let mut pair = Pair::new(Impairment::default(), 57);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    events(&mut pair.a);
    pair.a.tcp_send(pair.now, c, &pattern(2000, 1)).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    let before = pair.a.tcp_info(pair.now, c).unwrap();
    let quench = Icmpv4Repr::Other {
        msg_type: Icmpv4Message::SourceQuench,
        msg_code: 0,
        rest_of_header: [0; 4],
        data: &buf[..48],
    };
    let packet = icmpv4_to_a(&mut pair.b, B4, &quench);
    pair.a.handle_packet(pair.now, &packet);
    assert_eq!(pair.a.stats().icmp.in_type[4], 1, "it arrived");
    let after = pair.a.tcp_info(pair.now, c).unwrap();
    assert_eq!(after.state, State::Established);
    assert_eq!((after.cwnd, after.ssthresh), (before.cwnd, before.ssthresh));
    assert_eq!(pair.a.tcp_take_soft_error(c), Ok(None));
    assert!(events(&mut pair.a).is_empty());
    let mut got = vec![0u8; 4096];
    pair.b.handle_packet(pair.now, &buf[..n]);
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.tcp_recv(pair.now, s, &mut got), Ok(2000));
}

#[test]
fn segments_to_broadcast_or_multicast_addresses_are_dropped_without_a_rst() {
    let mut pair = Pair::new(Impairment::default(), 58);
    let mut cfg = config(B4, B6, 59);
    cfg.checksum_rx = crate::wire::ChecksumMode::Offloaded;
    let mut b = Stack::new(cfg).unwrap();
    for any in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ] {
        b.tcp_listen(SocketAddr::new(any, 80), ListenOptions::default())
            .unwrap();
    }
    let mut buf = [0u8; 1500];
    // An IPv4 SYN to port 80 (a listener) and to port 9 (nobody: normally a RST).
    for port in [80u16, 9] {
        pair.a
            .tcp_connect(pair.now, SocketAddr::new(IpAddr::V4(B4), port), None)
            .unwrap();
        let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
        for dst in [
            Ipv4Addr::new(10, 0, 0, 255),
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 1),
        ] {
            let mut p = buf[..n].to_vec();
            p[16..20].copy_from_slice(&dst.octets());
            b.handle_packet(pair.now, &p);
            assert!(
                b.poll_transmit(pair.now, &mut [0u8; 1500]).is_none(),
                "{dst}:{port}"
            );
        }
        // The same SYN to B's own address is answered (SYN-ACK or RST).
        b.handle_packet(pair.now, &buf[..n]);
        assert!(
            b.poll_transmit(pair.now, &mut [0u8; 1500]).is_some(),
            "control"
        );
    }
    // An IPv6 SYN to the all-nodes multicast address.
    pair.a
        .tcp_connect(pair.now, SocketAddr::new(IpAddr::V6(B6), 80), None)
        .unwrap();
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    let mut p = buf[..n].to_vec();
    p[24..40].copy_from_slice(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets());
    b.handle_packet(pair.now, &p);
    assert!(b.poll_transmit(pair.now, &mut buf).is_none());
    assert_eq!(b.stats().tcp.passive_opens, 1, "only the control SYN");
    assert_eq!(b.stats().tcp.out_rsts, 1, "only the control SYN to port 9");
}

#[test]
fn unreachable_codes_0_1_5_are_soft_errors_on_an_established_connection() {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv4Repr};
    let mut pair = Pair::new(Impairment::default(), 60);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    events(&mut pair.a);
    pair.a.tcp_send(pair.now, c, b"in flight").unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    let router = Ipv4Addr::new(10, 0, 0, 254);
    for reason in [
        Icmpv4DstUnreachable::NetUnreachable,
        Icmpv4DstUnreachable::HostUnreachable,
        Icmpv4DstUnreachable::SrcRouteFailed,
    ] {
        let err = Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu: 0,
            invoking: &buf[..48],
        };
        let packet = icmpv4_to_a(&mut pair.b, router, &err);
        pair.a.handle_packet(pair.now, &packet);
        assert!(
            events(&mut pair.a)
                .iter()
                .any(|e| e.handle == c && e.kind == EventKind::SoftError),
            "{reason:?}"
        );
        assert_eq!(
            pair.a.tcp_take_soft_error(c),
            Ok(Some(Error::HostUnreachable))
        );
        assert_eq!(pair.a.tcp_state(c), Ok(State::Established));
    }
    // The connection goes on.
    pair.b.handle_packet(pair.now, &buf[..n]);
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.tcp_recv(pair.now, s, &mut [0u8; 64]), Ok(9));
}

#[test]
fn urgent_data_raises_one_urgent_event() {
    let mut pair = Pair::new(Impairment::default(), 61);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    events(&mut pair.b);
    pair.a.tcp_send(pair.now, c, b"abc").unwrap();
    pair.a.tcp_send_urgent(pair.now, c, b"!").unwrap();
    pair.run_until(Duration::from_millis(200), |_| false);
    let urgent = events(&mut pair.b)
        .iter()
        .filter(|e| e.handle == s && e.kind == EventKind::Urgent)
        .count();
    assert_eq!(urgent, 1);
    assert_eq!(pair.b.tcp_urgent_mark(s), Ok(Some(4)));
}

#[test]
fn stack_new_refuses_an_unknown_default_controller_and_takes_bbr() {
    use crate::cc::CcError;
    use crate::config::ConfigError;
    let mut c = config(A4, A6, 1);
    c.tcp.congestion_control = "vegas".into();
    assert_eq!(
        Stack::new(c.clone()).err(),
        Some(ConfigError::CongestionControl(CcError::Unknown(
            "vegas".into()
        )))
    );
    c.tcp.congestion_control = "bbr".into();
    let mut stack = Stack::new(c).unwrap();
    let h = stack
        .tcp_connect(Instant::ZERO, SocketAddr::new(IpAddr::V4(B4), 80), None)
        .unwrap();
    assert_eq!(stack.tcp_congestion_control(h), Ok("bbr"));
}

#[test]
fn congestion_control_is_chosen_per_socket_by_name() {
    let mut pair = Pair::new(Impairment::default(), 61);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    // The listener's choice goes to the connections it accepts.
    pair.b.tcp_set_congestion_control(l, "newreno").unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    assert_eq!(pair.a.tcp_congestion_control(c), Ok("cubic"), "the default");
    assert_eq!(
        pair.a.tcp_set_congestion_control(c, "vegas"),
        Err(Error::UnknownCongestionControl)
    );
    pair.a.tcp_set_congestion_control(c, "bbr").unwrap();
    assert_eq!(pair.a.tcp_congestion_control(c), Ok("bbr"));
    assert_eq!(Error::NotImplemented.to_string(), "not yet implemented");
    pair.a.tcp_set_congestion_control(c, "newreno").unwrap();
    let mut accepted = None;
    pair.run_until(Duration::from_secs(5), |p| {
        accepted = accepted.or_else(|| p.b.tcp_accept(l).ok().map(|(h, _)| h));
        accepted.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    });
    let s = accepted.unwrap();
    assert_eq!(pair.b.tcp_congestion_control(s), Ok("newreno"));
    let info = pair.a.tcp_info(pair.now, c).unwrap();
    assert_eq!(info.congestion_control, "newreno");
    assert!(info.to_string().contains(" newreno wscale:"), "{info}");
    // Once data has left, the choice is made.
    let got = transfer(&mut pair, true, c, s, &pattern(5000, 3));
    assert_eq!(got.len(), 5000);
    assert_eq!(
        pair.a.tcp_set_congestion_control(c, "cubic"),
        Err(Error::CongestionControlInUse)
    );
    assert_eq!(pair.a.tcp_congestion_control(c), Ok("newreno"));
}

#[test]
fn ecn_data_leaves_ect0_and_a_ce_mark_is_echoed_reacted_to_and_counted() {
    use crate::tcp::EcnMode;
    use crate::wire::{Ecn, Ipv4Packet, TcpFlags, TcpPacket};
    let mut a = Stack::new(config(A4, A6, 1)).unwrap();
    let mut b = Stack::new(config(B4, B6, 2)).unwrap();
    let mut now = Instant::from_nanos(1_000_000_000);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = a.tcp_connect(now, server, None).unwrap();
    a.tcp_set_ecn(now, c, EcnMode::On).unwrap();
    let mut buf = vec![0u8; 2000];
    let (mut ect0, mut not_ect_data, mut marked, mut ece) = (0, 0, false, false);
    let mut accepted = None;
    for _ in 0..200 {
        if a.tcp_state(c) == Ok(State::Established) {
            let _ = a.tcp_send(now, c, &[7; 4000]);
        }
        while let Some(n) = a.poll_transmit(now, &mut buf) {
            let packet = &mut buf[..n];
            let (ecn, has_data) = {
                let ip = Ipv4Packet::new_checked(&*packet).unwrap();
                let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
                (ip.ecn(), !tcp.payload().is_empty())
            };
            match (ecn, has_data) {
                (Ecn::Ect0, true) => ect0 += 1,
                (Ecn::NotEct, true) => not_ect_data += 1,
                (Ecn::NotEct, false) => {}
                other => panic!("unexpected codepoint {other:?}"),
            }
            if has_data && !marked {
                // A router on the way marks the first data packet.
                let mut ip = Ipv4Packet::new_unchecked(&mut *packet);
                ip.set_ecn(Ecn::Ce);
                ip.fill_checksum();
                marked = true;
            }
            b.handle_packet(now, packet);
        }
        if accepted.is_none() {
            accepted = b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        if let Some(s) = accepted {
            while b.tcp_recv(now, s, &mut buf).is_ok_and(|n| n > 0) {}
        }
        while let Some(n) = b.poll_transmit(now, &mut buf) {
            let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
            assert_eq!(ip.ecn(), Ecn::NotEct, "pure ACKs are Not-ECT");
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            ece |= tcp.flags().contains(TcpFlags::ECE) && !tcp.flags().contains(TcpFlags::SYN);
            a.handle_packet(now, &buf[..n]);
        }
        now += Duration::from_millis(5);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert!(a.tcp_info(now, c).unwrap().ecn);
    assert!(ect0 > 10, "{ect0} data packets ECT(0)");
    assert_eq!(not_ect_data, 0, "no retransmissions on this clean link");
    assert!(ece, "B echoed the mark");
    let (sa, sb) = (a.stats().tcp, b.stats().tcp);
    assert_eq!((sa.ecn_negotiated, sb.ecn_negotiated), (1, 1));
    assert_eq!(sb.ecn_ce_received, 1);
    assert!(sa.ecn_ece_received >= 1);
    assert_eq!(sa.ecn_reactions, 1);
    assert_eq!(sa.ecn_cwr_sent, 1);
}

/// A pair whose server (B) answers every SYN with a cookie (a SYN queue of size 0),
/// with timestamps on the client (A) or not.
fn cookie_pair(seed: u64, client_timestamps: bool) -> Pair {
    let mut pair = Pair::new(Impairment::default(), seed);
    let mut cfg = config(B4, B6, seed + 1);
    cfg.tcp.syn_backlog = 0;
    pair.b = Stack::new(cfg).unwrap();
    let mut cfg = config(A4, A6, seed);
    cfg.tcp.timestamps = client_timestamps;
    pair.a = Stack::new(cfg).unwrap();
    pair
}

#[test]
fn full_syn_queue_answers_with_cookie_syn_ack_and_keeps_no_state() {
    let mut cfg = config(B4, B6, 22);
    cfg.tcp.syn_backlog = 3;
    let mut b = Stack::new(cfg).unwrap();
    let mut a = Stack::new(config(A4, A6, 23)).unwrap();
    let now = Instant::from_nanos(1);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    let mut buf = [0u8; 1500];
    let mut syns = Vec::new();
    for _ in 0..10 {
        a.tcp_connect(now, server, None).unwrap();
        let n = a.poll_transmit(now, &mut buf).unwrap();
        let syn = tcp_of(&buf[..n]);
        syns.push((syn.src_port, syn.seq_number));
        b.handle_packet(now, &buf[..n]);
    }
    // Ten SYN-ACKs: three from half-open connections, seven cookies.
    let mut synacks = Vec::new();
    while let Some(n) = b.poll_transmit(now, &mut buf) {
        let seg = tcp_of(&buf[..n]);
        assert!(seg
            .flags
            .contains(crate::wire::TcpFlags::SYN | crate::wire::TcpFlags::ACK));
        synacks.push((seg.dst_port, seg.seq_number, seg.ack_number));
    }
    assert_eq!(synacks.len(), 10);
    assert_eq!(b.stats().tcp.syncookies_sent, 7);
    assert_eq!(b.stats().tcp.listen_drops, 0);
    // No state for the seven: the listener and its three half-open connections.
    assert_eq!(b.socket_table(now).len(), 4);
    let mut cookies = 0;
    for (port, seq) in syns.iter().copied() {
        let &(_, iss, ack) = synacks.iter().find(|s| s.0 == port).unwrap();
        assert_eq!(ack, seq + 1u32);
        let client = SocketAddr::new(IpAddr::V4(A4), port);
        // The client announced MSS 1460: index 3 of the IPv4 table.
        if b.syn_cookies.check(now, server, client, seq, iss) == Ok(3) {
            cookies += 1;
        }
    }
    assert_eq!(cookies, 7);
}

#[test]
fn cookie_handshake_establishes_a_connection_that_carries_data_both_ways() {
    let mut pair = cookie_pair(60, true);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let stats = pair.b.stats().tcp;
    assert_eq!(stats.syncookies_sent, 1);
    assert_eq!(stats.syncookies_recv, 1);
    assert_eq!(stats.syncookies_failed, 0);
    assert_eq!(stats.passive_opens, 1);
    assert_eq!(stats.curr_estab, 1);
    let up = pattern(300_000, 61);
    assert_eq!(transfer(&mut pair, true, c, s, &up), up);
    let down = pattern(300_000, 62);
    assert_eq!(transfer(&mut pair, false, s, c, &down), down);
}

#[test]
fn cookie_connection_keeps_mss_window_scale_and_sack_through_timestamps() {
    let mut pair = cookie_pair(63, true);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let client = pair.a.tcp_info(pair.now, c).unwrap();
    let info = pair.b.tcp_info(pair.now, s).unwrap();
    assert!(info.timestamps && client.timestamps);
    assert!(info.sack && client.sack, "{info:?} {client:?}");
    let (client_snd, client_rcv) = client.wscale.unwrap();
    assert!(client_rcv > 0);
    assert_eq!(info.wscale, Some((client_rcv, client_snd)));
    // MSS 1460 from the table, less the timestamp option.
    assert_eq!(info.snd_mss, 1448);
    let data = pattern(200_000, 64);
    assert_eq!(transfer(&mut pair, false, s, c, &data), data);
}

#[test]
fn cookie_without_timestamps_runs_without_window_scaling_and_sack() {
    let mut pair = cookie_pair(65, false);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let client = pair.a.tcp_info(pair.now, c).unwrap();
    let info = pair.b.tcp_info(pair.now, s).unwrap();
    assert!(!info.timestamps && !info.sack && info.wscale.is_none());
    assert!(!client.sack && client.wscale.is_none());
    assert_eq!(info.snd_mss, 1460);
    assert_eq!(pair.b.stats().tcp.syncookies_recv, 1);
    let data = pattern(100_000, 66);
    assert_eq!(transfer(&mut pair, true, c, s, &data), data);
}

#[test]
fn wrong_or_expired_cookie_ack_is_dropped_and_counted() {
    use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
    let mut cfg = config(B4, B6, 67);
    cfg.tcp.syn_backlog = 0;
    let mut b = Stack::new(cfg).unwrap();
    let mut a = Stack::new(config(A4, A6, 68)).unwrap();
    let now = Instant::from_nanos(1_000_000_000_000);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = b.tcp_listen(server, ListenOptions::default()).unwrap();
    let mut buf = [0u8; 1500];
    a.tcp_connect(now, server, None).unwrap();
    let n = a.poll_transmit(now, &mut buf).unwrap();
    let syn = tcp_of(&buf[..n]);
    let (port, isn) = (syn.src_port, syn.seq_number);
    let client = SocketAddr::new(IpAddr::V4(A4), port);
    b.handle_packet(now, &buf[..n]);
    let n = b.poll_transmit(now, &mut buf).unwrap();
    let cookie = tcp_of(&buf[..n]).seq_number;
    assert_eq!(b.stats().tcp.syncookies_sent, 1);
    let ack = |ack_number| TcpRepr {
        src_port: port,
        dst_port: 80,
        seq_number: isn + 1u32,
        ack_number,
        flags: TcpFlags::ACK,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    // A wrong cookie.
    let p = tcp_packet(&mut b, client, server, &ack(cookie + 0x1235u32));
    b.handle_packet(now, &p);
    // A cookie made two steps (128 s) ago.
    let old = b.syn_cookies.check(now, server, client, isn, cookie);
    assert_eq!(old, Ok(3));
    let then = Instant::from_nanos(now.as_nanos() - 128_000_000_000);
    let stale = b.syn_cookies.cookie(then, server, client, isn, 3);
    let p = tcp_packet(&mut b, client, server, &ack(stale + 1u32));
    b.handle_packet(now, &p);
    // Dropped silently: no RST, no connection.
    assert_eq!(b.stats().tcp.syncookies_failed, 2);
    assert_eq!(b.stats().tcp.syncookies_recv, 0);
    assert!(b.poll_transmit(now, &mut buf).is_none());
    assert_eq!(b.socket_table(now).len(), 1);
    // The genuine cookie, one step later, still opens the connection.
    let later = Instant::from_nanos(now.as_nanos() + 64_000_000_000);
    let p = tcp_packet(&mut b, client, server, &ack(cookie + 1u32));
    b.handle_packet(later, &p);
    assert_eq!(b.stats().tcp.syncookies_recv, 1);
    let (h, peer) = b.tcp_accept(l).unwrap();
    assert_eq!(peer, client);
    assert_eq!(b.tcp_state(h), Ok(State::Established));
}

#[test]
fn ack_to_a_listener_that_sent_no_cookies_is_answered_with_rst() {
    use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
    let mut b = Stack::new(config(B4, B6, 69)).unwrap();
    let now = Instant::from_nanos(1);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    let client = SocketAddr::new(IpAddr::V4(A4), 4000);
    let repr = TcpRepr {
        src_port: 4000,
        dst_port: 80,
        seq_number: crate::wire::SeqNumber(5),
        ack_number: crate::wire::SeqNumber(77),
        flags: TcpFlags::ACK,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    let p = tcp_packet(&mut b, client, server, &repr);
    b.handle_packet(now, &p);
    let mut buf = [0u8; 1500];
    let n = b.poll_transmit(now, &mut buf).unwrap();
    assert!(tcp_of(&buf[..n]).flags.contains(TcpFlags::RST));
    assert_eq!(b.stats().tcp.syncookies_failed, 0);
}

#[test]
fn cookie_handshake_over_ipv6_uses_the_ipv6_mss_table() {
    let mut pair = cookie_pair(70, true);
    let server = SocketAddr::new(IpAddr::V6(B6), 80);
    let (c, _l, s) = connect(&mut pair, server);
    assert_eq!(pair.b.stats().tcp.syncookies_recv, 1);
    let info = pair.b.tcp_info(pair.now, s).unwrap();
    // The client announced 1440 (MTU 1500 less 60): an entry of the IPv6 table;
    // less the timestamp option.
    assert_eq!(info.snd_mss, 1428);
    let data = pattern(100_000, 71);
    assert_eq!(transfer(&mut pair, true, c, s, &data), data);
}

#[test]
fn paced_connections_set_per_socket_and_through_a_listener_move_data_both_ways() {
    let mut pair = Pair::new(Impairment::default(), 77);
    let server = SocketAddr::new(IpAddr::V4(B4), 7100);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    // The listener's choice passes to what it accepts; the client sets its own.
    pair.b.tcp_set_pacing(pair.now, l, true).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    pair.a.tcp_set_pacing(pair.now, c, true).unwrap();
    let mut s = None;
    assert!(pair.run_until(Duration::from_secs(30), |p| {
        if s.is_none() {
            s = p.b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    }));
    let s = s.unwrap();
    assert!(pair.a.tcp_options(c).unwrap().pacing);
    assert!(pair.b.tcp_options(s).unwrap().pacing);
    // Paced data flows both ways, byte-exact, through the stack's timers.
    let data = pattern(600_000, 5);
    assert_eq!(transfer(&mut pair, true, c, s, &data), data);
    let back = pattern(300_000, 6);
    assert_eq!(transfer(&mut pair, false, s, c, &back), back);
    let info = pair.a.tcp_info(pair.now, c).unwrap();
    assert!(info.pacing_rate > 0, "{info}");
    // Not a TCP socket: refused.
    let u = pair
        .a
        .udp_bind(SocketAddr::new(IpAddr::V4(A4), 5353))
        .unwrap();
    assert!(pair.a.tcp_set_pacing(pair.now, u, true).is_err());
}

#[test]
fn a_corrupted_in_order_segment_is_dropped_and_its_copy_never_read() {
    let mut pair = Pair::new(Impairment::default(), 78);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let now = pair.now;
    pair.a.tcp_send(now, c, &[0x55; 1000]).unwrap();
    let mut buf = vec![0u8; 2000];
    let n = pair.a.poll_transmit(now, &mut buf).unwrap();
    // The payload's checksum is verified while it is copied into the receive
    // buffer: a flipped payload byte is caught there.
    let mut bad = buf[..n].to_vec();
    bad[n - 1] ^= 0xff;
    let errors = pair.b.stats().tcp.in_csum_errors;
    pair.b.handle_packet(now, &bad);
    assert_eq!(pair.b.stats().tcp.in_csum_errors, errors + 1);
    let mut out = [0u8; 2000];
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Err(Error::WouldBlock));
    // The good copy is read intact.
    pair.b.handle_packet(now, &buf[..n]);
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Ok(1000));
    assert!(out[..1000].iter().all(|&b| b == 0x55));
}

#[test]
fn a_segment_the_device_vouched_for_is_not_summed_and_one_without_the_flag_still_is() {
    let mut pair = Pair::new(Impairment::default(), 80);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let now = pair.now;
    pair.a.tcp_send(now, c, &[0x33; 1000]).unwrap();
    let mut buf = vec![0u8; 2000];
    let n = pair.a.poll_transmit(now, &mut buf).unwrap();
    // A TUN with offloads hands over a local kernel's segment with the checksum
    // field holding only the pseudo-header sum: stand-in, a field that does not
    // verify.
    let mut partial = buf[..n].to_vec();
    partial[20 + 16] ^= 0x5a;
    let mut out = [0u8; 2000];
    // The IPv4 header checksum is verified whatever the device said.
    let mut bad_ip = partial.clone();
    bad_ip[10] ^= 0xff;
    let hdr_errors = pair.b.stats().ip.in_hdr_errors;
    pair.b
        .handle_packet_offloaded(now, &bad_ip, RxOffload::L4_CSUM_VERIFIED);
    assert_eq!(pair.b.stats().ip.in_hdr_errors, hdr_errors + 1);
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Err(Error::WouldBlock));
    // Without the device's word it is a bad checksum, dropped.
    let errors = pair.b.stats().tcp.in_csum_errors;
    pair.b
        .handle_packet_offloaded(now, &partial, RxOffload::NONE);
    assert_eq!(pair.b.stats().tcp.in_csum_errors, errors + 1);
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Err(Error::WouldBlock));
    // With it, the segment is taken as it is.
    pair.b
        .handle_packet_offloaded(now, &partial, RxOffload::L4_CSUM_VERIFIED);
    assert_eq!(pair.b.stats().tcp.in_csum_errors, errors + 1);
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Ok(1000));
    assert!(out[..1000].iter().all(|&b| b == 0x33));
}

#[test]
fn a_bad_segment_after_a_good_one_leaves_the_readable_bytes_alone() {
    let mut pair = Pair::new(Impairment::default(), 79);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let got = transfer(&mut pair, true, c, s, &data);
    assert_eq!(got, data);
    pair.run_until(Duration::from_millis(500), |_| false);
    // A corrupted copy of the next data must not change what the good copy
    // delivers.
    let now = pair.now;
    pair.a.tcp_send(now, c, &[7; 600]).unwrap();
    let mut buf = vec![0u8; 2000];
    let n = pair.a.poll_transmit(now, &mut buf).unwrap();
    let mut bad = buf[..n].to_vec();
    bad[n - 300] ^= 0x01;
    pair.b.handle_packet(now, &bad);
    pair.b.handle_packet(now, &buf[..n]);
    let mut out = [0u8; 2000];
    assert_eq!(pair.b.tcp_recv(now, s, &mut out), Ok(600));
    assert!(out[..600].iter().all(|&b| b == 7));
}

#[test]
fn tcp_peek_shows_the_next_bytes_and_recv_still_returns_them() {
    let mut pair = Pair::new(Impairment::default(), 31);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _l, s) = connect(&mut pair, server);
    let mut buf = [0u8; 64];
    assert_eq!(pair.b.tcp_peek(s, &mut buf), Err(Error::WouldBlock));
    pair.a.tcp_send(pair.now, c, b"hello, peek").unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    let _ = events(&mut pair.b);
    assert_eq!(pair.b.tcp_peek(s, &mut buf[..5]), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(pair.b.tcp_peek(s, &mut buf), Ok(11));
    // Peeking changed nothing: no event, the same bytes for recv.
    assert!(events(&mut pair.b).is_empty());
    assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().recv_q, 11);
    assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(11));
    assert_eq!(&buf[..11], b"hello, peek");
    // At the end of the stream, peek says so as recv does.
    pair.a.tcp_shutdown(pair.now, c, Shutdown::Write).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.tcp_peek(s, &mut buf), Ok(0));
    assert_eq!(pair.b.tcp_recv(pair.now, s, &mut buf), Ok(0));
}

#[test]
fn udp_peek_from_leaves_the_datagram_and_readiness_follows_the_queues() {
    let mut pair = Pair::new(Impairment::default(), 32);
    let sb = pair
        .b
        .udp_bind(SocketAddr::new(IpAddr::V6(B6), 53))
        .unwrap();
    let sa = pair.a.udp_bind(SocketAddr::new(IpAddr::V6(A6), 0)).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(pair.b.udp_peek_from(sb, &mut buf), Err(Error::WouldBlock));
    assert_eq!(pair.b.udp_readiness(sb), Ok((false, true)));
    let dst = SocketAddr::new(IpAddr::V6(B6), 53);
    pair.a.udp_send_to(sa, b"query", dst).unwrap();
    pair.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(pair.b.udp_readiness(sb), Ok((true, true)));
    let (n, from) = pair.b.udp_peek_from(sb, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"query");
    assert_eq!(from.ip(), IpAddr::V6(A6));
    assert_eq!(pair.b.udp_recv_from(sb, &mut buf), Ok((5, from)));
    assert_eq!(pair.b.udp_readiness(sb), Ok((false, true)));
    assert_eq!(pair.b.udp_peek_from(sb, &mut buf), Err(Error::WouldBlock));
}

#[test]
fn tcp_buffers_set_after_construction_size_the_connections_opened_later() {
    let mut pair = Pair::new(Impairment::default(), 81);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (_c, _l, s) = connect(&mut pair, server);
    let before = pair.b.tcp_info(pair.now, s).unwrap().rcv_space;
    assert_eq!(before, 256 * 1024);
    pair.b.set_tcp_buffers(4 << 20, 4 << 20);
    assert_eq!(pair.b.config().tcp.recv_buffer, 4 << 20);
    // The open connection keeps its window; a new one advertises the larger one.
    assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().rcv_space, before);
    let (_c2, _l2, s2) = connect(&mut pair, SocketAddr::new(IpAddr::V4(B4), 81));
    let after = pair.b.tcp_info(pair.now, s2).unwrap();
    assert_eq!(after.rcv_space, 4 << 20);
    // Scaled so that the whole buffer can be offered.
    assert!(after
        .wscale
        .is_some_and(|(a, b)| 65535u64 << a.max(b) >= 4 << 20));
    // A zero leaves a limit alone.
    pair.b.set_tcp_buffers(0, 0);
    assert_eq!(pair.b.config().tcp.send_buffer, 4 << 20);
}

#[test]
fn a_held_fragment_and_a_learned_path_mtu_are_the_stacks_next_timeouts() {
    use crate::wire::{Icmpv4DstUnreachable, Icmpv4Repr};
    // Stacks with no connection and no TIME-WAIT: the reassembly and path-MTU
    // deadlines are the only ones, read on `poll_timeout`'s rare path.
    let mut pair = Pair::new(Impairment::default(), 31);
    assert_eq!(pair.b.poll_timeout(), None);
    let sb = pair
        .b
        .udp_bind(SocketAddr::new(IpAddr::V4(B4), 5000))
        .unwrap();
    let sa = pair.a.udp_bind(SocketAddr::new(IpAddr::V4(A4), 0)).unwrap();
    pair.a
        .udp_send_to(sa, &pattern(3000, 5), SocketAddr::new(IpAddr::V4(B4), 5000))
        .unwrap();
    let mut buf = [0u8; 2000];
    let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
    // The first fragment alone: B holds it until the reassembly timeout.
    pair.b.handle_packet(pair.now, &buf[..n]);
    assert!(pair.b.reassembler.has_deadline());
    let held = pair.b.reassembler.poll_timeout();
    assert!(held.is_some_and(|at| at > pair.now));
    assert_eq!(pair.b.poll_timeout(), held);
    // Past it, the fragment is dropped and no deadline is left.
    pair.b.handle_timeout(held.unwrap());
    assert_eq!(pair.b.poll_timeout(), None);
    let mut rbuf = [0u8; 4000];
    assert!(pair.b.udp_recv_from(sb, &mut rbuf).is_err());

    // A router tells A the path to B takes 1400 bytes: the estimate expires.
    while pair.a.poll_transmit(pair.now, &mut [0u8; 2000]).is_some() {}
    let err = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::FragRequired,
        next_hop_mtu: 1400,
        invoking: &buf[..28],
    };
    let router = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254));
    assert_eq!(pair.a.poll_timeout(), None);
    let now = pair.now;
    icmp_to_a(&mut pair, now, router, &err);
    assert!(pair.a.pmtu.has_deadline());
    let expiry = pair.a.pmtu.poll_timeout();
    assert!(expiry.is_some_and(|at| at > pair.now));
    assert_eq!(pair.a.poll_timeout(), expiry);
}

#[test]
fn a_port_zero_listener_takes_the_one_ephemeral_port_no_connection_uses() {
    // Two ephemeral ports: a connection takes one, so a port-0 listener must get
    // the other, and a second one finds none free.
    let mut cfg = config(A4, A6, 21);
    cfg.ports.range = 50_000..=50_001;
    let mut a = Stack::new(cfg).unwrap();
    let now = Instant::ZERO;
    let c = a
        .tcp_connect(now, SocketAddr::new(IpAddr::V4(B4), 80), None)
        .unwrap();
    let (local, _) = a.tcp_addrs(c).unwrap();
    let listener = a
        .tcp_listen(SocketAddr::new(local.ip(), 0), ListenOptions::default())
        .unwrap();
    let got = a.listener_addr(listener).unwrap();
    assert_eq!(got.ip(), local.ip());
    assert_ne!(got.port(), local.port());
    assert!((50_000..=50_001).contains(&got.port()));
    assert_eq!(
        a.tcp_listen(SocketAddr::new(local.ip(), 0), ListenOptions::default()),
        Err(Error::AddrNotAvailable)
    );
}

#[test]
fn closing_a_listener_frees_a_queued_connection_already_closed_with_its_rst_due() {
    // A connection in the accept queue that keep-alive gave up on is CLOSED
    // with its RST still to send when the application closes the listener:
    // nobody will ever hold a handle to it, so it must go once the RST left.
    let mut pair = Pair::new(Impairment::default(), 16);
    let mut cfg = config(B4, B6, 16);
    cfg.tcp.keepalive = Some(crate::tcp::KeepAlive {
        idle: Duration::from_secs(1),
        interval: Duration::from_secs(1),
        probes: 1,
    });
    pair.b = Stack::new(cfg).unwrap();
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.a.tcp_state(c) == Ok(State::Established) && p.b.tcp_conn_count == 1
    }));
    pair.run_until(Duration::from_millis(100), |_| false);
    let queued = |b: &Stack| match b.sockets.get(l) {
        Some(Entry {
            socket: Socket::Listener(l),
            ..
        }) => l.accept_queue.len(),
        _ => 0,
    };
    assert_eq!(
        queued(&pair.b),
        1,
        "the connection waits in the accept queue"
    );
    // The client goes silent: the server's probes are lost. The driver closes
    // the listener after the timeout that gave up, before it polls again.
    let mut now = pair.now;
    let mut buf = [0u8; 2000];
    for _ in 0..20 {
        now = pair.b.poll_timeout().unwrap();
        pair.b.handle_timeout(now);
        if pair.b.tcp_conn_count == 0 {
            break;
        }
        while pair.b.poll_transmit(now, &mut buf).is_some() {}
    }
    assert_eq!(pair.b.tcp_conn_count, 0, "keep-alive gave up");
    assert_eq!(
        pair.b.sockets.len(),
        2,
        "the listener and its RST-due child"
    );
    pair.b.close(now, l).unwrap();
    let mut sent = 0;
    while pair.b.poll_transmit(now, &mut buf).is_some() {
        sent += 1;
    }
    assert!(sent >= 1, "the RST");
    assert_eq!(pair.b.sockets.len(), 0, "nothing left behind");
}

#[test]
fn aborting_a_connection_the_peer_reset_frees_it() {
    // `tcp_abort` says the handle becomes invalid: so it must for a connection
    // already CLOSED by the peer's RST too, or an application that trusts it and
    // drops the handle leaves the slot behind for ever.
    let mut pair = Pair::new(Impairment::default(), 17);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _, s) = connect(&mut pair, server);
    pair.b.tcp_abort(pair.now, s).unwrap();
    pair.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(pair.a.tcp_state(c), Ok(State::Closed), "reset by the peer");
    let before = pair.a.sockets.len();
    pair.a.tcp_abort(pair.now, c).unwrap();
    assert_eq!(pair.a.tcp_state(c), Err(Error::InvalidHandle));
    assert_eq!(pair.a.sockets.len(), before - 1);
}

/// A connection to port 80 that sent 6000 bytes and then aborted: the server's
/// handle (`pair.b`) and every packet the client sent (the data, then its RST),
/// in order, none delivered yet.
fn data_then_rst(pair: &mut Pair) -> (SocketHandle, Vec<Vec<u8>>) {
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let (c, _, s) = connect(pair, server);
    let now = pair.now;
    pair.a.tcp_send(now, c, &[7u8; 6000]).unwrap();
    let mut buf = [0u8; 2000];
    let mut pkts = Vec::new();
    while let Some(n) = pair.a.poll_transmit(now, &mut buf) {
        pkts.push(buf[..n].to_vec());
    }
    pair.a.tcp_abort(now, c).unwrap();
    while let Some(n) = pair.a.poll_transmit(now, &mut buf) {
        pkts.push(buf[..n].to_vec());
    }
    (s, pkts)
}

#[test]
fn a_reset_connection_forgets_the_ack_it_owed() {
    // Data then the peer's RST in one batch: the data made an ACK due, but CLOSED
    // sends nothing but a RST it owes, so nothing is left flagged to send; a held
    // handle is not queued for transmit passes that can only come back empty.
    let mut pair = Pair::new(Impairment::default(), 18);
    let (s, pkts) = data_then_rst(&mut pair);
    let now = pair.now;
    for p in &pkts[..pkts.len() - 1] {
        pair.b.handle_packet(now, p);
    }
    assert!(
        pair.b.conn(s).unwrap().wants_to_send(),
        "the data made an ACK due"
    );
    pair.b.handle_packet(now, &pkts[pkts.len() - 1]);
    assert_eq!(pair.b.tcp_state(s), Ok(State::Closed));
    assert!(!pair.b.conn(s).unwrap().wants_to_send());
    let mut buf = [0u8; 2000];
    assert_eq!(pair.b.poll_transmit(now, &mut buf), None);
}

#[test]
fn a_connection_reset_with_an_ack_due_is_freed_when_closed() {
    // Data then the peer's RST in one batch, before the stack polls: the ACK the
    // data made due is never sent (CLOSED drops it); the application's close
    // must free the slot.
    let mut pair = Pair::new(Impairment::default(), 18);
    let (s, pkts) = data_then_rst(&mut pair);
    let now = pair.now;
    for p in &pkts {
        pair.b.handle_packet(now, p);
    }
    assert_eq!(pair.b.tcp_state(s), Ok(State::Closed));
    let before = pair.b.sockets.len();
    pair.b.close(now, s).unwrap();
    let mut buf = [0u8; 2000];
    for _ in 0..5 {
        while pair.b.poll_transmit(now, &mut buf).is_some() {}
        pair.b.handle_timeout(now + Duration::from_secs(1000));
    }
    assert_eq!(pair.b.sockets.len(), before - 1);
}

#[test]
fn a_request_written_and_shut_down_while_connecting_arrives_whole_then_eof() {
    // A proxy's pattern: the client's request and its end arrive before the
    // upstream connection is established; nothing of it may be lost.
    let mut pair = Pair::new(Impairment::default(), 21);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = pair.a.tcp_connect(pair.now, server, None).unwrap();
    let request = pattern(100_000, 9);
    assert_eq!(pair.a.tcp_send(pair.now, c, &request), Ok(request.len()));
    pair.a.tcp_shutdown(pair.now, c, Shutdown::Write).unwrap();
    assert_eq!(pair.a.tcp_state(c), Ok(State::SynSent));
    let mut accepted = None;
    let mut got = Vec::new();
    let mut eof = false;
    let mut buf = vec![0u8; 65536];
    let done = pair.run_until(Duration::from_secs(30), |p| {
        if accepted.is_none() {
            accepted = p.b.tcp_accept(l).ok().map(|(h, _)| h);
        }
        if let Some(s) = accepted {
            while let Ok(n) = p.b.tcp_recv(p.now, s, &mut buf) {
                if n == 0 {
                    eof = true;
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
        }
        eof
    });
    assert!(
        done,
        "no end of stream; {} of {} bytes",
        got.len(),
        request.len()
    );
    assert!(got == request, "the request arrived changed");
    let s = accepted.unwrap();
    // Writing only was shut down: the answer still reaches the client.
    pair.b.tcp_send(pair.now, s, b"answer").unwrap();
    pair.b.tcp_shutdown(pair.now, s, Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    pair.run_until(Duration::from_secs(5), |p| {
        while let Ok(n) = p.a.tcp_recv(p.now, c, &mut buf) {
            if n == 0 {
                return true;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        false
    });
    assert_eq!(answer, b"answer");
    assert_eq!(pair.a.tcp_state(c), Ok(State::TimeWait));
    let st = pair.a.stats().tcp;
    assert_eq!(
        (st.active_opens, st.attempt_fails, st.curr_estab),
        (1, 0, 0)
    );
}

/// Runs `stack`'s timers, sending nothing anywhere, until `done` or 10 minutes.
fn run_timers_alone(stack: &mut Stack, mut now: Instant, done: impl Fn(&Stack) -> bool) {
    let end = now + Duration::from_secs(600);
    let mut buf = [0u8; 1500];
    while !done(stack) && now < end {
        while stack.poll_transmit(now, &mut buf).is_some() {}
        now = stack.poll_timeout().unwrap_or(end).max(now);
        stack.handle_timeout(now);
    }
}

/// A listener's half-open connection whose SYN-ACK retries run out goes
/// uncounted, as Linux's request socket does (`reqsk_timer_handler` drops it
/// with `inet_csk_reqsk_queue_drop_and_put`; its `tcp_syn_ack_timeout` counts
/// only `TcpExt:TCPTimeouts`, one per expiry, the last included), while a RST
/// in SYN-RECEIVED is an AttemptFail
/// (`tcp_check_req`) and an active open whose SYN retries run out is one too
/// (`tcp_done` from SYN-SENT).
#[test]
fn syn_ack_retries_running_out_is_no_attempt_fail_unlike_syn_retries() {
    let now = Instant::from_nanos(1);
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let mut b = Stack::new(config(B4, B6, 60)).unwrap();
    let mut a = Stack::new(config(A4, A6, 61)).unwrap();
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    let c = a.tcp_connect(now, server, None).unwrap();
    let mut buf = [0u8; 1500];
    let n = a.poll_transmit(now, &mut buf).unwrap();
    b.handle_packet(now, &buf[..n]);
    assert_eq!(b.socket_table(now).len(), 2, "a half-open connection");
    // The client never hears the SYN-ACKs (nor its SYNs' answers).
    run_timers_alone(&mut b, now, |b| b.socket_table(now).len() == 1);
    assert_eq!(
        b.socket_table(now).len(),
        1,
        "the half-open connection went"
    );
    let st = b.stats().tcp;
    assert_eq!((st.passive_opens, st.attempt_fails), (1, 0));
    let synack_expiries = u64::from(b.tcp_config.synack_retries) + 1;
    assert_eq!(st.timeouts, synack_expiries, "TcpExtTCPTimeouts");
    run_timers_alone(&mut a, now, |a| a.tcp_state(c) == Ok(State::Closed));
    assert_eq!(
        a.tcp_recv(now, c, &mut [0u8; 1]),
        Err(Error::TimedOut),
        "the active open timed out"
    );
    let st = a.stats().tcp;
    assert_eq!((st.active_opens, st.attempt_fails), (1, 1));
    let syn_expiries = u64::from(a.tcp_config.syn_retries) + 1;
    assert_eq!(st.timeouts, syn_expiries, "TcpExtTCPTimeouts");
    assert_eq!(u64::from(a.tcp_counters(c).unwrap().timeouts), syn_expiries);
}

#[test]
fn a_syn_with_fin_set_is_discarded_by_a_listener_as_linux_does() {
    use crate::wire::{SeqNumber, TcpFlags};
    let mut b = Stack::new(config(B4, B6, 71)).unwrap();
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    b.tcp_listen(server, ListenOptions::default()).unwrap();
    let client = SocketAddr::new(IpAddr::V4(A4), 40_000);
    let now = Instant::from_nanos(1_000_000);
    let mut buf = [0u8; 1500];
    for (flags, answered) in [
        (TcpFlags::SYN | TcpFlags::FIN, false),
        (TcpFlags::SYN, true),
    ] {
        let p = segment(&mut b, client, server, flags, 7_000, SeqNumber(0), &[]);
        b.handle_packet(now, &p);
        let sent = b.poll_transmit(now, &mut buf);
        assert_eq!(sent.is_some(), answered, "{flags:?}");
        assert_eq!(
            b.stats().tcp.passive_opens,
            u64::from(answered),
            "{flags:?}"
        );
    }
}

#[test]
fn a_syn_to_a_listener_whose_accept_queue_is_full_is_dropped_and_counted() {
    use crate::wire::{SeqNumber, TcpFlags};
    let mut b = Stack::new(config(B4, B6, 72)).unwrap();
    let server = SocketAddr::new(IpAddr::V4(B4), 80);
    let options = ListenOptions {
        backlog: 1,
        ..ListenOptions::default()
    };
    let l = b.tcp_listen(server, options).unwrap();
    let now = Instant::from_nanos(1_000_000);
    let mut buf = [0u8; 1500];
    let client = |port| SocketAddr::new(IpAddr::V4(A4), port);
    // The first connection fills the accept queue of one.
    let p = segment(
        &mut b,
        client(40_000),
        server,
        TcpFlags::SYN,
        100,
        SeqNumber(0),
        &[],
    );
    b.handle_packet(now, &p);
    let n = b.poll_transmit(now, &mut buf).unwrap();
    let iss = tcp_of(&buf[..n]).seq_number;
    let p = segment(
        &mut b,
        client(40_000),
        server,
        TcpFlags::ACK,
        101,
        iss + 1u32,
        &[],
    );
    b.handle_packet(now, &p);
    assert!(b.poll_transmit(now, &mut buf).is_none());
    // The next SYN finds it full: no SYN-ACK, no connection, counted.
    let p = segment(
        &mut b,
        client(40_001),
        server,
        TcpFlags::SYN,
        500,
        SeqNumber(0),
        &[],
    );
    b.handle_packet(now, &p);
    assert!(b.poll_transmit(now, &mut buf).is_none());
    let st = b.stats().tcp;
    assert_eq!(
        (st.passive_opens, st.listen_overflows, st.listen_drops),
        (1, 1, 1)
    );
    // Once the application accepts, the client's retry is answered.
    b.tcp_accept(l).unwrap();
    b.handle_packet(now, &p);
    assert!(b.poll_transmit(now, &mut buf).is_some());
    assert_eq!(b.stats().tcp.passive_opens, 2);
}
