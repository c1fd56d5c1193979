//! Resource exhaustion (issue 7): floods at the bounds the stack keeps, each beside
//! a legitimate transfer that must complete with its data intact (every byte read
//! is checked against the sender's pattern and the stream hash compared). Each test
//! checks the memory stays under its cap at every step and that the counter of the
//! bound shows the drops.
//!
//! Two stacks on the in-memory wire of [`layer4_sim::live`]; the attacker's packets
//! are made by hand and handed to the server from spoofed on-link sources
//! (10.1.0.0/16), its replies to them dropped off the wire. Virtual time moves 10 ms
//! per round. Sizes are chosen to run in a few seconds in debug.

use layer4::rand::StackRng;
use layer4::time::Duration;
use layer4::wire::{IpProtocol, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use layer4::{Config, State};
use layer4_sim::live::{
    client_config, ip_packet, parse_tcp, pattern_hash, server_config, tcp_packet, udp_packet, Dir,
    LivePair, CLIENT_ADDR, SERVER_ADDR, SERVER_PORT,
};
use std::net::{Ipv4Addr, SocketAddrV4};

fn pair(server: impl FnOnce(&mut Config)) -> LivePair {
    let mut s = server_config(7);
    s.checksum_rx = layer4::wire::ChecksumMode::Enabled;
    server(&mut s);
    LivePair::with_configs(s, client_config(7)).unwrap()
}

/// One round of the legitimate transfer: the client writes, the wire settles, the
/// server reads (checking every byte).
fn legit_round(p: &mut LivePair, bytes: usize) {
    p.client_write(bytes).unwrap();
    p.settle(20).unwrap();
    p.server_read(usize::MAX).unwrap();
    // Replies to spoofed sources go nowhere.
    p.to_client
        .retain(|packet| packet.get(16..20) == Some(&CLIENT_ADDR.octets()[..]));
}

/// The legitimate transfer finished whole and the connection is still up.
fn legit_complete(p: &mut LivePair, min_bytes: u64) {
    for _ in 0..200 {
        if p.server_read == p.client_written {
            break;
        }
        p.advance(Duration::from_millis(200)).unwrap();
        legit_round(p, 0);
    }
    assert_eq!(
        p.server_read, p.client_written,
        "the legitimate transfer stalled"
    );
    assert!(p.client_written >= min_bytes, "{} bytes", p.client_written);
    assert_eq!(p.server_read_hash, pattern_hash(0, p.client_written));
    assert_eq!(p.server_state(), State::Established);
}

/// A spoofed source address in 10.1.0.0/16.
fn spoofed(rng: &mut StackRng) -> Ipv4Addr {
    let r = rng.u32();
    Ipv4Addr::new(10, 1, (r >> 8) as u8, (r as u8).max(1))
}

/// A connection the attacker opened by hand (it does answer: an attacker's own
/// machine, not a spoofed one).
struct RawConn {
    addr: Ipv4Addr,
    port: u16,
    /// Its next sequence number.
    snd: SeqNumber,
    /// The server's next sequence number.
    rcv: SeqNumber,
}

impl RawConn {
    fn segment(&self, seq: SeqNumber, flags: TcpFlags, payload: &[u8]) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: self.port,
            dst_port: SERVER_PORT,
            seq_number: seq,
            ack_number: self.rcv,
            flags,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::new(),
            payload,
        };
        tcp_packet(self.addr, SERVER_ADDR, &repr)
    }
}

/// Opens a connection from `addr:port` by hand: SYN (window scale 7, so the
/// server's full window is usable), the server's SYN-ACK read off the wire, ACK.
fn raw_handshake(p: &mut LivePair, addr: Ipv4Addr, port: u16, isn: u32) -> Option<RawConn> {
    let mut options = TcpOptions::new();
    options.mss = Some(1460);
    options.window_scale = Some(7);
    let syn = TcpRepr {
        src_port: port,
        dst_port: SERVER_PORT,
        seq_number: SeqNumber(isn),
        ack_number: SeqNumber(0),
        flags: TcpFlags::SYN,
        window_len: 65535,
        urgent_pointer: 0,
        options,
        payload: &[],
    };
    p.inject(&tcp_packet(addr, SERVER_ADDR, &syn)).ok()?;
    let mut rcv = None;
    p.to_client.retain(|packet| match parse_tcp(packet) {
        Some((_, dst, seg)) if dst == addr && seg.dst_port == port => {
            if seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
                rcv = Some(seg.seq_number + 1u32);
            }
            false
        }
        _ => true,
    });
    let conn = RawConn {
        addr,
        port,
        snd: SeqNumber(isn) + 1u32,
        rcv: rcv?,
    };
    p.inject(&conn.segment(conn.snd, TcpFlags::ACK, &[])).ok()?;
    Some(conn)
}

/// Tiny out-of-order segments with holes between them, on many connections: each
/// connection's ranges stop at `max_ooo_ranges` (the rest dropped, counted per
/// connection), and their sum stops at `max_ooo_bytes_total` (pruned, counted in
/// `TcpExtOfoPruned`). The legitimate connection loses a packet now and then, so it
/// holds out-of-order data of its own.
#[test]
fn out_of_order_flood_with_holes_stays_under_both_caps() {
    const CAP: usize = 1 << 20;
    let mut p = pair(|c| c.tcp.max_ooo_bytes_total = CAP);
    let mut rng = StackRng::from_seed(1);
    let mut conns = Vec::new();
    for i in 0..48u16 {
        let addr = Ipv4Addr::new(10, 1, 0, 1 + (i / 8) as u8);
        let conn = raw_handshake(&mut p, addr, 40_000 + i, rng.u32()).unwrap();
        conns.push(conn);
    }
    p.to_client
        .retain(|packet| packet.get(16..20) == Some(&CLIENT_ADDR.octets()[..]));
    let mut most = 0;
    for round in 0..300u32 {
        legit_round(&mut p, 16_384);
        if round % 7 == 3 {
            // A loss on the legitimate path.
            p.to_server.pop_front();
        }
        for conn in &conns {
            for _ in 0..4 {
                // One byte somewhere in the first 60 KiB past RCV.NXT (never at it).
                let offset = 2 + 2 * (rng.u32() % 30_000);
                let packet = conn.segment(conn.snd + offset, TcpFlags::ACK, b"x");
                p.inject(&packet).unwrap();
            }
        }
        most = most.max(p.server.tcp_ooo_bytes());
        assert!(
            p.server.tcp_ooo_bytes() <= CAP,
            "{} bytes out of order",
            p.server.tcp_ooo_bytes()
        );
        p.check().unwrap();
        p.advance(Duration::from_millis(10)).unwrap();
    }
    legit_complete(&mut p, 4_000_000);
    let stats = p.server.stats().tcp;
    let dropped: u64 = p
        .extra_server_conns
        .iter()
        .filter_map(|&h| p.server.tcp_counters(h).ok())
        .map(|c| u64::from(c.ooo_dropped))
        .sum();
    eprintln!(
        "most {most} bytes out of order (cap {CAP}); pruned {} times; {dropped} segments over the range cap",
        stats.ofo_pruned
    );
    assert!(stats.ofo_pruned > 0, "the stack-wide bound never bit");
    assert!(dropped > 0, "the per-connection range bound never bit");
    assert!(most > CAP / 2, "the flood never came near the cap: {most}");
}

/// First fragments of datagrams that never complete, from spoofed sources: the
/// reassembly memory and datagram count stay under their bounds, the excess is
/// counted in `ReasmFails`.
#[test]
fn incomplete_fragment_flood_stays_under_the_reassembly_bounds() {
    let mut p = pair(|_| {});
    let bounds = p.server.config().reassembly;
    let mut rng = StackRng::from_seed(2);
    let payload = [0x42u8; 1200];
    let mut most = (0, 0);
    for _ in 0..200 {
        legit_round(&mut p, 16_384);
        for _ in 0..100 {
            let src = spoofed(&mut rng);
            let frag = ip_packet(
                src,
                SERVER_ADDR,
                IpProtocol::Udp,
                &payload,
                rng.u32() as u16,
                true,
                0,
            );
            p.inject(&frag).unwrap();
        }
        let bytes = p.server.ip_reassembly_bytes();
        let datagrams = p.server.ip_reassembly_datagrams();
        most = (most.0.max(bytes), most.1.max(datagrams));
        assert!(bytes <= bounds.max_bytes, "{bytes} bytes in reassembly");
        assert!(
            datagrams <= bounds.max_datagrams,
            "{datagrams} datagrams in reassembly"
        );
        p.advance(Duration::from_millis(10)).unwrap();
    }
    legit_complete(&mut p, 3_000_000);
    let ip = p.server.stats().ip;
    eprintln!("reassembly peaked at {most:?}; {ip:?}");
    assert_eq!(ip.reasm_reqds, 20_000);
    assert_eq!(ip.reasm_oks, 0);
    assert!(
        ip.reasm_fails > 15_000,
        "{} failures counted",
        ip.reasm_fails
    );
}

/// Datagrams at a bound UDP socket that never reads: its queue stays at its bound,
/// the rest counted in `RcvbufErrors`.
#[test]
fn udp_flood_at_a_socket_that_never_reads_stays_under_its_queue_bound() {
    let mut p = pair(|_| {});
    let bound = p.server.config().udp.recv_buffer;
    let socket = p
        .server
        .udp_bind(SocketAddrV4::new(SERVER_ADDR, 53).into())
        .unwrap();
    let mut rng = StackRng::from_seed(3);
    let payload = [0x17u8; 1000];
    for _ in 0..200 {
        legit_round(&mut p, 16_384);
        for _ in 0..100 {
            let src = SocketAddrV4::new(spoofed(&mut rng), 1024 + rng.u32() as u16 % 60_000);
            let packet = udp_packet(src, SocketAddrV4::new(SERVER_ADDR, 53), &payload);
            p.inject(&packet).unwrap();
        }
        let queued = p
            .server
            .socket_table(p.now)
            .iter()
            .find(|e| e.handle == socket)
            .map_or(0, |e| e.recv_q);
        assert!(queued <= bound, "{queued} bytes queued, bound {bound}");
        p.advance(Duration::from_millis(10)).unwrap();
    }
    legit_complete(&mut p, 3_000_000);
    let udp = p.server.stats().udp;
    eprintln!("{udp:?}");
    assert_eq!(udp.in_datagrams + udp.rcvbuf_errors, 20_000);
    assert!(udp.in_datagrams <= (bound / 1000) as u64 + 1);
    assert!(udp.rcvbuf_errors > 19_000);
}

/// A peer that never reads: the window closes, the sender keeps probing with
/// exponential backoff (up to the maximum RTO) for an hour, its memory bounded by
/// the send buffer, and the connection stays; when the peer reads, the data
/// arrives whole.
#[test]
fn a_peer_that_never_reads_is_probed_for_an_hour_within_bounded_memory() {
    let mut p = pair(|_| {});
    let send_cap = p.server.config().tcp.send_buffer;
    let recv_cap = p.client.config().tcp.recv_buffer;
    let mut probes_at = Vec::new();
    // Ten seconds of writing until both buffers are full.
    for _ in 0..1000 {
        p.server_write(16_384).unwrap();
        p.settle(20).unwrap();
        p.advance(Duration::from_millis(10)).unwrap();
    }
    let stuck = p.server_written;
    assert!(stuck as usize >= recv_cap, "{stuck} written");
    // An hour with a closed window.
    let mut last = 0;
    for s in 0..3600u64 {
        p.server_write(16_384).unwrap();
        p.settle(20).unwrap();
        p.advance(Duration::from_secs(1)).unwrap();
        let Ok(info) = p.server.tcp_info(p.now, p.server_conn) else {
            panic!(
                "the connection is gone at {s} s: {:?} {:?}",
                p.server.tcp_state(p.server_conn),
                p.server.tcp_counters(p.server_conn)
            );
        };
        assert_eq!(
            info.state,
            State::Established,
            "{s} s: {:?}",
            p.server.tcp_counters(p.server_conn)
        );
        assert!(info.send_q <= send_cap, "send queue {}", info.send_q);
        assert!(info.buffer_memory <= send_cap + p.server.config().tcp.recv_buffer);
        let probes = p.server.tcp_counters(p.server_conn).unwrap().window_probes;
        if probes > last {
            probes_at.push(s);
            last = probes;
        }
        p.check().unwrap();
    }
    assert_eq!(p.server_state(), State::Established);
    assert_eq!(p.server_written, stuck, "data taken beyond the buffers");
    let gaps: Vec<u64> = probes_at.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("{} probes; gaps {gaps:?}", probes_at.len());
    // Backoff: the gaps grow to the maximum RTO (120 s) and stay there, about 30
    // probes in the hour.
    assert!(
        probes_at.len() >= 20 && probes_at.len() <= 60,
        "{probes_at:?}"
    );
    assert!(gaps.iter().all(|&g| g <= 121), "{gaps:?}");
    assert!(gaps.iter().rev().take(5).all(|&g| g >= 100), "{gaps:?}");
    // The peer reads at last: everything arrives.
    for _ in 0..400 {
        p.client_read(usize::MAX).unwrap();
        p.settle(20).unwrap();
        p.advance(Duration::from_millis(100)).unwrap();
        if p.client_read == p.server_written {
            break;
        }
    }
    assert_eq!(p.client_read, p.server_written);
}

/// Handshakes completed by an attacker beyond `max_connections` are refused and
/// counted; the legitimate transfer goes on.
#[test]
fn connections_beyond_the_stack_bound_are_refused_and_counted() {
    let mut p = pair(|c| c.tcp.max_connections = 100);
    let mut rng = StackRng::from_seed(4);
    let mut opened = 0;
    for i in 0..300u16 {
        if i % 10 == 0 {
            legit_round(&mut p, 16_384);
        }
        let addr = spoofed(&mut rng);
        if raw_handshake(&mut p, addr, 30_000 + i, rng.u32()).is_some() {
            opened += 1;
        }
        let conns = p
            .server
            .socket_table(p.now)
            .iter()
            .filter(|e| e.remote.is_some())
            .count();
        assert!(conns <= 100, "{conns} connections");
    }
    legit_complete(&mut p, 400_000);
    let stats = p.server.stats().tcp;
    eprintln!("{opened} handshakes answered; {stats:?}");
    assert!(opened <= 99, "{opened}");
    assert!(
        stats.connection_limit_drops >= 200,
        "{}",
        stats.connection_limit_drops
    );
    let _ = Dir::ToServer;
}

/// Stack-made packets (here SYN-ACKs with cookies) pile up in the control queue
/// while the driver does not poll: beyond `max_control_queue` they are dropped and
/// counted in `IpOutDiscards`, and the connection goes on once the driver drains.
#[test]
fn stack_made_packets_beyond_the_control_queue_are_discarded_and_counted() {
    let mut p = pair(|_| {});
    let bound = p.server.config().max_control_queue;
    let backlog = p.server.config().tcp.syn_backlog;
    let mut rng = StackRng::from_seed(5);
    let syns = 5_000;
    for i in 0..syns {
        let mut options = TcpOptions::new();
        options.mss = Some(1460);
        let repr = TcpRepr {
            src_port: 1024 + i as u16,
            dst_port: SERVER_PORT,
            seq_number: SeqNumber(rng.u32()),
            ack_number: SeqNumber(0),
            flags: TcpFlags::SYN,
            window_len: 65535,
            urgent_pointer: 0,
            options,
            payload: &[],
        };
        // Handed over without draining: the driver is behind.
        p.server
            .handle_packet(p.now, &tcp_packet(spoofed(&mut rng), SERVER_ADDR, &repr));
    }
    let stats = p.server.stats().clone();
    eprintln!("{:?} {:?}", stats.ip, stats.tcp);
    // The first `backlog` SYNs got half-open connections (their SYN-ACKs wait in
    // the connections), the next `bound` cookies were queued, the rest dropped.
    assert_eq!(stats.ip.out_discards, (syns - backlog - bound) as u64);
    p.drain().unwrap();
    p.to_client
        .retain(|packet| packet.get(16..20) == Some(&CLIENT_ADDR.octets()[..]));
    for _ in 0..5 {
        legit_round(&mut p, 30_000);
    }
    legit_complete(&mut p, 100_000);
}

/// `n` short connections that the server closes first (an HTTP/1.0-style server:
/// accept, close; the peer answers the FIN with its own), each leaving a TIME-WAIT
/// record behind, at a server holding at most `limit` of them: the count never
/// passes the limit, the oldest are recycled and counted in `time_wait_overflow`,
/// no connection slot is left behind, and the legitimate transfer beside completes.
fn time_wait_flood(n: u32, limit: usize) {
    let mut p = pair(|c| c.tcp.time_wait_limit = limit);
    let mut rng = StackRng::from_seed(6);
    let mut closed = 0u64;
    for i in 0..n {
        if i % 500 == 0 {
            legit_round(&mut p, 16_384);
        }
        let addr = spoofed(&mut rng);
        let port = 1024 + (i % 60_000) as u16;
        let Some(mut conn) = raw_handshake(&mut p, addr, port, rng.u32()) else {
            continue;
        };
        // The driver accepted it; the application closes it at once: FIN-WAIT-1.
        let Some(h) = p.extra_server_conns.pop() else {
            continue;
        };
        p.server.close(p.now, h).unwrap();
        p.drain().unwrap();
        let mut fin_end = None;
        p.to_client.retain(|packet| match parse_tcp(packet) {
            Some((_, dst, seg)) if dst == conn.addr && seg.dst_port == conn.port => {
                if seg.flags.contains(TcpFlags::FIN) {
                    fin_end = Some(seg.seq_number + seg.payload.len() + 1u32);
                }
                false
            }
            _ => true,
        });
        let Some(fin_end) = fin_end else {
            continue;
        };
        // The peer acknowledges the FIN and sends its own: the server is in
        // TIME-WAIT, its handle closed, so a compact record.
        conn.rcv = fin_end;
        p.inject(&conn.segment(conn.snd, TcpFlags::FIN | TcpFlags::ACK, &[]))
            .unwrap();
        p.to_client
            .retain(|packet| packet.get(16..20) == Some(&CLIENT_ADDR.octets()[..]));
        closed += 1;
        assert!(
            p.server.time_wait_count() <= limit,
            "{} TIME-WAIT records",
            p.server.time_wait_count()
        );
    }
    legit_complete(&mut p, u64::from(n / 500) * 16_384);
    let stats = p.server.stats().tcp;
    eprintln!(
        "{closed} connections closed; {} TIME-WAIT records held; {stats:?}",
        p.server.time_wait_count()
    );
    assert!(closed >= u64::from(n) * 99 / 100, "{closed} of {n} closed");
    assert_eq!(p.server.time_wait_count(), limit);
    assert_eq!(stats.time_wait_overflow, closed - limit as u64);
    // Nothing of the flood holds a connection: the table has the listener, the
    // legitimate connection and the records.
    let table = p.server.socket_table(p.now);
    let not_time_wait = table.iter().filter(|e| e.state != "TIME-WAIT").count();
    assert!(not_time_wait <= 2, "{not_time_wait} other sockets");
}

/// Always on: 5,000 connections at a limit of 1,000.
#[test]
fn short_connections_leave_at_most_the_time_wait_limit_behind() {
    time_wait_flood(5_000, 1_000);
}

/// The scale: 100,000 short connections at a limit of 10,000 (run with
/// `cargo test --release -p layer4-sim --test exhaustion -- --ignored`).
#[test]
#[ignore = "100,000 connections: run in --release with --ignored"]
fn a_hundred_thousand_short_connections_leave_at_most_the_time_wait_limit_behind() {
    time_wait_flood(100_000, 10_000);
}
