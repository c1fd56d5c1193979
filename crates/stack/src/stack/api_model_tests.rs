//! The application's calls in any order, from before the handshake to after the
//! close, interleaved with deliveries, losses and time: whatever the order, no
//! byte a `tcp_send` accepted is lost without one side being told. At the end a
//! reliable link runs until both stacks are quiet, then for each direction whose
//! sender still holds its handle and whose receiver still reads, either side has
//! an error to report, or the receiver read exactly what the sender's calls
//! accepted, in order, followed by the end of the stream if the sender shut down
//! writing.
//!
//! The link also duplicates and reorders packets, the applications also abort
//! and send urgent data (delivered inline, as Linux's `SO_OOBINLINE`), and each
//! case runs with its own TCP options (SACK, timestamps, window scaling, Nagle)
//! and buffer sizes, down to smaller than a segment.

use core::net::{IpAddr, SocketAddr};
use std::collections::VecDeque;

use proptest::prelude::*;

use super::icmp_tests::{icmpv4_body, icmpv6_body};
use super::tests::{B4, B6};
use super::*;
use crate::config::Config;
use crate::error::Error;
use crate::tcp::State;
use crate::time::{Duration, Instant};
use crate::wire::{
    Icmpv4DstUnreachable, Icmpv4Repr, Icmpv6DstUnreachable, Icmpv6Repr, IpProtocol, Ipv4Packet,
    Ipv6Packet,
};

/// One application call or one event of the link.
#[derive(Debug, Clone)]
enum Op {
    /// `tcp_send` of this many bytes of the side's pattern (client if true).
    Send(bool, u16),
    /// `tcp_recv` into a buffer of this size.
    Recv(bool, u16),
    ShutWrite(bool),
    ShutRead(bool),
    /// `close` of the handle.
    Close(bool),
    /// The server takes the connection from its listener, if there is one.
    Accept,
    /// Delivers the next packets of one direction (to the server if true).
    Deliver(bool, u8),
    /// Loses the next packet of one direction.
    Lose(bool),
    /// Moves time on by this many milliseconds, running the timers.
    Advance(u16),
    /// `tcp_abort` of the handle.
    Abort(bool),
    /// `tcp_send_urgent` of this many bytes of the side's pattern.
    SendUrgent(bool, u16),
    /// Delivers the next packet of one direction twice.
    Duplicate(bool),
    /// Swaps the next two packets of one direction.
    Reorder(bool),
    /// The next packet of one direction (from the client if true) is refused
    /// by its destination: dropped, and answered with an ICMP port
    /// unreachable quoting it (fatal to a connection being opened, SYN-SENT or
    /// SYN-RECEIVED; a soft error after).
    Refuse(bool),
}

/// The TCP options and buffer sizes both stacks run with.
#[derive(Debug, Clone)]
struct Options {
    sack: bool,
    timestamps: bool,
    window_scaling: bool,
    nodelay: bool,
    send_buffer: usize,
    recv_buffer: usize,
}

fn options() -> impl Strategy<Value = Options> {
    let buffer = prop_oneof![
        2 => Just(256 * 1024),
        1 => Just(700usize),
        1 => Just(3000usize),
        1 => 1usize..20_000,
    ];
    (any::<[bool; 4]>(), buffer.clone(), buffer).prop_map(
        |([sack, timestamps, window_scaling, nodelay], send_buffer, recv_buffer)| Options {
            sack,
            timestamps,
            window_scaling,
            nodelay,
            send_buffer,
            recv_buffer,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 1u16..6000).prop_map(|(c, n)| Op::Send(c, n)),
        4 => (any::<bool>(), 1u16..9000).prop_map(|(c, n)| Op::Recv(c, n)),
        1 => any::<bool>().prop_map(Op::ShutWrite),
        1 => any::<bool>().prop_map(Op::ShutRead),
        1 => any::<bool>().prop_map(Op::Close),
        2 => Just(Op::Accept),
        6 => (any::<bool>(), 1u8..8).prop_map(|(d, n)| Op::Deliver(d, n)),
        1 => any::<bool>().prop_map(Op::Lose),
        2 => (1u16..3000).prop_map(Op::Advance),
        1 => any::<bool>().prop_map(Op::Abort),
        1 => (any::<bool>(), 1u16..3000).prop_map(|(c, n)| Op::SendUrgent(c, n)),
        1 => any::<bool>().prop_map(Op::Duplicate),
        1 => any::<bool>().prop_map(Op::Reorder),
        1 => any::<bool>().prop_map(Op::Refuse),
    ]
}

/// The byte at `offset` of the stream one side sends.
fn byte(client: bool, offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(client) << 63;
    (x >> 56) as u8
}

/// What the application on one side did and saw.
#[derive(Debug, Default)]
struct Side {
    handle: Option<SocketHandle>,
    closed: bool,
    shut_read: bool,
    shut_write: bool,
    /// Bytes its sends accepted.
    accepted: u64,
    /// Bytes it read, each checked against the peer's pattern.
    read: u64,
    eof: bool,
    /// A call reported the connection broken (reset, timed out, refused...).
    error: Option<Error>,
}

impl Side {
    fn note(&mut self, e: Error) {
        if !matches!(e, Error::WouldBlock) {
            self.error.get_or_insert(e);
        }
    }
}

struct Run {
    client: Stack,
    server: Stack,
    listener: SocketHandle,
    now: Instant,
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
    c: Side,
    s: Side,
}

impl Run {
    fn new(v6: bool, o: &Options) -> Run {
        let (client_addr, server_addr): (IpAddr, IpAddr) = if v6 {
            ("fd00::1".parse().unwrap(), B6.into())
        } else {
            ("10.0.0.1".parse().unwrap(), B4.into())
        };
        let config = |addr: IpAddr, seed| {
            let prefix = if addr.is_ipv6() { 64 } else { 24 };
            let mut c =
                Config::with_address(format!("{addr}/{prefix}").parse().unwrap()).seed(seed);
            c.tcp.sack = o.sack;
            c.tcp.timestamps = o.timestamps;
            c.tcp.window_scaling = o.window_scaling;
            c.tcp.nodelay = o.nodelay;
            c.tcp.send_buffer = o.send_buffer;
            c.tcp.recv_buffer = o.recv_buffer;
            c
        };
        let mut client = Stack::new(config(client_addr, 1)).unwrap();
        let mut server = Stack::new(config(server_addr, 2)).unwrap();
        let now = Instant::from_nanos(1_000_000_000);
        let server_end = SocketAddr::new(server_addr, 80);
        let listener = server
            .tcp_listen(server_end, ListenOptions::default())
            .unwrap();
        let handle = client.tcp_connect(now, server_end, None).unwrap();
        Run {
            client,
            server,
            listener,
            now,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            c: Side {
                handle: Some(handle),
                ..Side::default()
            },
            s: Side::default(),
        }
    }

    fn collect(&mut self) {
        let mut buf = vec![0u8; 2048];
        while let Some(n) = self.client.poll_transmit(self.now, &mut buf) {
            self.to_server.push_back(buf[..n].to_vec());
            assert!(self.to_server.len() < 100_000, "runaway client");
        }
        while let Some(n) = self.server.poll_transmit(self.now, &mut buf) {
            self.to_client.push_back(buf[..n].to_vec());
            assert!(self.to_client.len() < 100_000, "runaway server");
        }
    }

    fn stack_side(&mut self, client: bool) -> (&mut Stack, &mut Side) {
        if client {
            (&mut self.client, &mut self.c)
        } else {
            (&mut self.server, &mut self.s)
        }
    }

    fn accept(&mut self) {
        if self.s.handle.is_none() && !self.s.closed {
            if let Ok((h, _)) = self.server.tcp_accept(self.listener) {
                self.s.handle = Some(h);
            }
        }
    }

    fn send(&mut self, client: bool, len: usize, urgent: bool) {
        let now = self.now;
        let (stack, side) = self.stack_side(client);
        let Some(h) = side.handle.filter(|_| !side.closed) else {
            return;
        };
        let data: Vec<u8> = (0..len as u64)
            .map(|i| byte(client, side.accepted + i))
            .collect();
        let sent = if urgent {
            stack.tcp_send_urgent(now, h, &data)
        } else {
            stack.tcp_send(now, h, &data)
        };
        match sent {
            Ok(n) => {
                assert!(!side.shut_write, "a send after shutting down writing");
                side.accepted += n as u64;
            }
            Err(Error::BrokenPipe | Error::WouldBlock | Error::NotConnected) => {}
            Err(e) => side.note(e),
        }
    }

    /// Reads up to `len` bytes; returns whether anything (data, the end, an
    /// error) came out.
    fn recv(&mut self, client: bool, len: usize) -> bool {
        let now = self.now;
        let (stack, side) = self.stack_side(client);
        let Some(h) = side.handle.filter(|_| !side.closed) else {
            return false;
        };
        let mut buf = vec![0u8; len];
        match stack.tcp_recv(now, h, &mut buf) {
            // After shutting down reading, `Ok(0)` only says nothing is
            // buffered: later data is still returned, as on Linux.
            Ok(0) if side.shut_read => false,
            Ok(0) => {
                let new = !side.eof;
                side.eof = true;
                new
            }
            Ok(n) => {
                assert!(!side.eof, "data after the end of the stream");
                for (i, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(
                        b,
                        byte(!client, side.read + i as u64),
                        "byte {} read by the {} is wrong",
                        side.read + i as u64,
                        if client { "client" } else { "server" }
                    );
                }
                side.read += n as u64;
                true
            }
            Err(Error::WouldBlock) => false,
            Err(e) => {
                let new = side.error.is_none();
                side.note(e);
                new
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        match *op {
            Op::Send(c, n) => self.send(c, n.into(), false),
            Op::SendUrgent(c, n) => self.send(c, n.into(), true),
            Op::Abort(c) => {
                let (stack, side) = self.stack_side(c);
                if let Some(h) = side.handle.filter(|_| !side.closed) {
                    stack.tcp_abort(now, h).unwrap();
                    // As a close: the application let go of the connection.
                    side.closed = true;
                }
            }
            Op::Duplicate(to_server) => {
                let q = if to_server {
                    &mut self.to_server
                } else {
                    &mut self.to_client
                };
                if let Some(p) = q.front().cloned() {
                    q.push_front(p);
                }
            }
            Op::Refuse(from_client) => self.refuse(from_client),
            Op::Reorder(to_server) => {
                let q = if to_server {
                    &mut self.to_server
                } else {
                    &mut self.to_client
                };
                if q.len() >= 2 {
                    q.swap(0, 1);
                }
            }
            Op::Recv(c, n) => {
                self.recv(c, n.into());
            }
            Op::ShutWrite(c) => {
                let (stack, side) = self.stack_side(c);
                if let Some(h) = side.handle.filter(|_| !side.closed) {
                    if stack.tcp_shutdown(now, h, Shutdown::Write).is_ok() {
                        side.shut_write = true;
                    }
                }
            }
            Op::ShutRead(c) => {
                let (stack, side) = self.stack_side(c);
                if let Some(h) = side.handle.filter(|_| !side.closed) {
                    if stack.tcp_shutdown(now, h, Shutdown::Read).is_ok() {
                        side.shut_read = true;
                    }
                }
            }
            Op::Close(c) => {
                let listener = self.listener;
                let (stack, side) = self.stack_side(c);
                if let Some(h) = side.handle.filter(|_| !side.closed) {
                    stack.close(now, h).unwrap();
                    side.closed = true;
                } else if !c && side.handle.is_none() {
                    // A server that has not accepted: it lets go of the listener
                    // instead (its queued connections are reset).
                    if !side.closed {
                        stack.close(now, listener).unwrap();
                        side.closed = true;
                    }
                }
            }
            Op::Accept => self.accept(),
            Op::Deliver(to_server, n) => {
                for _ in 0..n {
                    let p = if to_server {
                        self.to_server.pop_front()
                    } else {
                        self.to_client.pop_front()
                    };
                    let Some(p) = p else { break };
                    if to_server {
                        self.server.handle_packet(now, &p);
                    } else {
                        self.client.handle_packet(now, &p);
                    }
                }
            }
            Op::Lose(to_server) => {
                if to_server {
                    self.to_server.pop_front();
                } else {
                    self.to_client.pop_front();
                }
            }
            Op::Advance(ms) => self.advance(self.now + Duration::from_millis(ms.into())),
        }
        self.collect();
    }

    /// [`Op::Refuse`].
    fn refuse(&mut self, from_client: bool) {
        let now = self.now;
        let q = if from_client {
            &mut self.to_server
        } else {
            &mut self.to_client
        };
        let Some(p) = q.pop_front() else {
            return;
        };
        let (refuser, sender) = if from_client {
            (&mut self.server, &mut self.client)
        } else {
            (&mut self.client, &mut self.server)
        };
        let (src, dst, proto, body) = if p[0] >> 4 == 4 {
            let ip = Ipv4Packet::new_unchecked(&p[..]);
            let quote = &p[..(usize::from(p[0] & 0x0f) * 4 + 8).min(p.len())];
            let err = Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                invoking: quote,
            };
            let body = icmpv4_body(&err);
            (
                IpAddr::V4(ip.dst_addr()),
                IpAddr::V4(ip.src_addr()),
                IpProtocol::Icmp,
                body,
            )
        } else {
            let ip = Ipv6Packet::new_unchecked(&p[..]);
            let (src, dst) = (IpAddr::V6(ip.dst_addr()), IpAddr::V6(ip.src_addr()));
            let quote = &p[..(40 + 8).min(p.len())];
            let err = Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::PortUnreachable,
                invoking: quote,
            };
            (src, dst, IpProtocol::Icmpv6, icmpv6_body(src, dst, &err))
        };
        if let Some(packet) = refuser.build_ip_packet(src, dst, proto, &body, 64, 0) {
            sender.handle_packet(now, &packet);
        }
    }

    /// Runs the timers due up to `until`, one instant at a time.
    fn advance(&mut self, until: Instant) {
        for _ in 0..10_000 {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                    self.collect();
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
        panic!("timers never settle");
    }

    /// A reliable link and applications that read everything, until nothing
    /// moves for a while (TIME-WAIT's end is not waited for).
    fn settle(&mut self) {
        let end = self.now + Duration::from_secs(900);
        while self.now < end {
            self.accept();
            while self.recv(true, 65536) || self.recv(false, 65536) {}
            self.collect();
            if self.to_server.is_empty() && self.to_client.is_empty() {
                let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t < end => self.advance(t),
                    _ => break,
                }
                continue;
            }
            self.now += Duration::from_millis(5);
            while let Some(p) = self.to_server.pop_front() {
                self.server.handle_packet(self.now, &p);
            }
            while let Some(p) = self.to_client.pop_front() {
                self.client.handle_packet(self.now, &p);
            }
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        // An error a side has not met yet, asked for with an empty send.
        for client in [true, false] {
            let now = self.now;
            let (stack, side) = self.stack_side(client);
            if let Some(h) = side.handle.filter(|_| !side.closed) {
                match stack.tcp_send(now, h, &[]) {
                    Ok(_) | Err(Error::BrokenPipe | Error::NotConnected | Error::WouldBlock) => {}
                    Err(e) => side.note(e),
                }
            }
        }
    }

    /// What must hold after every step, on both stacks: each connection's own
    /// invariants, and `TcpCurrEstab` counting exactly the connections in
    /// ESTABLISHED or CLOSE-WAIT (RFC 4022's `tcpCurrEstab`), whatever path
    /// they took there and out.
    fn check_stacks(&self) -> Result<(), String> {
        for (name, stack) in [("client", &self.client), ("server", &self.server)] {
            let mut estab = 0;
            for (handle, entry) in stack.sockets.iter() {
                if let Socket::Tcp(slot) = &entry.socket {
                    stack
                        .tcp_check_invariants(handle)
                        .map_err(|e| format!("{name}: {e}"))?;
                    if matches!(slot.conn.state(), State::Established | State::CloseWait) {
                        estab += 1;
                    }
                }
            }
            if stack.stats.tcp.curr_estab != estab {
                return Err(format!(
                    "{name}: TcpCurrEstab {} with {estab} connections established",
                    stack.stats.tcp.curr_estab
                ));
            }
        }
        Ok(())
    }

    /// The property, for the bytes `from` sent to `to`.
    fn check(&self, from_client: bool) -> Result<(), String> {
        let (from, to) = if from_client {
            (&self.c, &self.s)
        } else {
            (&self.s, &self.c)
        };
        let dir = if from_client {
            "client to server"
        } else {
            "server to client"
        };
        // A side that let go of its handle, or of reading, accepted losing.
        if from.handle.is_none() || from.closed || to.closed || to.shut_read {
            return Ok(());
        }
        if from.error.is_some() || to.error.is_some() {
            return Ok(());
        }
        if to.handle.is_none() {
            // The server never got a connection: nothing may have been
            // accepted for it without an error on the client.
            return match from.accepted {
                0 => Ok(()),
                n => Err(format!(
                    "{dir}: {n} bytes accepted, no connection, no error"
                )),
            };
        }
        if to.read != from.accepted {
            return Err(format!(
                "{dir}: {} bytes accepted, {} read, no error on either side",
                from.accepted, to.read
            ));
        }
        if from.shut_write && !to.eof {
            return Err(format!("{dir}: shut down, but no end of stream"));
        }
        Ok(())
    }
}

/// One case: the calls and events `ops` on a fresh pair, then the settling
/// and the property.
fn run_case(v6: bool, o: &Options, ops: &[Op]) -> Result<(), String> {
    let mut run = Run::new(v6, o);
    run.collect();
    for op in ops {
        run.apply(op);
        run.check_stacks()
            .map_err(|e| format!("after {op:?}: {e}"))?;
    }
    run.settle();
    run.check_stacks().map_err(|e| format!("settled: {e}"))?;
    let c = run.check(true);
    let s = run.check(false);
    if c.is_err() || s.is_err() {
        return Err(format!(
            "{c:?} {s:?}\nclient {:?}\nserver {:?}",
            run.c, run.s
        ));
    }
    Ok(())
}

/// The cases the property first failed on (kept as they were drawn: the
/// persisted seeds draw other cases since the options were added).
#[test]
fn the_cases_found_before_stay_fixed() {
    let defaults = Options {
        sack: true,
        timestamps: true,
        window_scaling: true,
        nodelay: false,
        send_buffer: 256 * 1024,
        recv_buffer: 256 * 1024,
    };
    use Op::*;
    let cases: [&[Op]; 2] = [
        // The FIN asked for in SYN-SENT with data written.
        &[Send(true, 1), ShutWrite(true)],
        // Both sides timed out after the other received everything.
        &[
            Deliver(true, 1),
            Deliver(false, 1),
            Deliver(true, 1),
            Send(false, 1),
            Send(true, 1449),
            Advance(800),
            Accept,
            Send(true, 1),
            Accept,
            Send(false, 1449),
            ShutWrite(false),
        ],
    ];
    for ops in cases {
        for v6 in [false, true] {
            run_case(v6, &defaults, ops).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_byte_a_send_accepted_is_lost_unreported(
        v6 in any::<bool>(),
        o in options(),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let r = run_case(v6, &o, &ops);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}
