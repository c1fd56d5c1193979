//! The application's calls in any order against two stacks, from before the
//! handshake to after the close, with losses, duplicates, reorderings and time
//! (forwards and, as a broken clock would, backwards), and a path narrower
//! than the links (ICMP "too big" errors with any MTU, black holes for a while
//! or for good, small MSS options, estimates that expire within seconds: the
//! [`path`] module): whatever the order, no byte a `tcp_send` accepted is lost
//! without one side being told.
//!
//! [`run_ops`] decodes a byte program into [`Op`]s (the first byte picks the
//! address family and the configuration: buffers, SACK, timestamps, window
//! scaling, Nagle), runs them, then lets a reliable link and applications that
//! read everything run until both stacks are quiet (TIME-WAIT's end is not
//! waited for). Then, for each direction whose sender still holds its handle and
//! whose receiver still reads (a sender that closed its handle counts, unless
//! the receiver never had the connection: `close` still owes the bytes and the
//! FIN, or the receiver a reset), either side must have an error to report, or the
//! receiver read exactly what the sender's calls accepted, in order, followed by
//! the end of the stream if the sender shut down writing (a closed sender
//! behind a black hole it can never pass is excused: it gives up silently).
//! A settle behind no hole, or only holes the senders can pass, times no
//! connection out. Every byte read is
//! checked against the sender's pattern as it is read. Also: when both sides
//! shut down writing without an error, both FINs end acknowledged; and once a
//! stack has no timer left, it holds no socket the application let go of.
//!
//! It found: data written in SYN-SENT lost when writing was shut down before
//! the handshake completed, and two sides that had both timed out (go-back-N)
//! dropping each other's ACKs forever. Driven by the `app` fuzz target
//! (`fuzz/fuzz_targets/app.rs`) and its property-test twin
//! (`crates/sim/tests/app_model.rs`).

use std::collections::VecDeque;

pub mod path;
pub use path::{path_variant, Hole, Mtu};

use layer4::time::{Duration, Instant};

use layer4::{Config, Error, ListenOptions, Shutdown, SocketHandle, SocketProtocol, Stack, State};

use crate::live::Family;

/// One application call or one event of the link. `true` is the client's side
/// or the direction toward the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `tcp_send` of this many bytes of the side's pattern.
    Send(bool, u16),
    /// `tcp_send_urgent` of this many bytes of the side's pattern.
    SendUrgent(bool, u16),
    /// `tcp_recv` into a buffer of this size.
    Recv(bool, u16),
    /// `tcp_shutdown(Write)`.
    ShutWrite(bool),
    /// `tcp_shutdown(Read)`.
    ShutRead(bool),
    /// `close` of the handle (the server's listener, before it accepted).
    Close(bool),
    /// `tcp_abort`.
    Abort(bool),
    /// The server takes the connection from its listener, if there is one.
    Accept,
    /// Delivers the next packets of one direction.
    Deliver(bool, u8),
    /// Loses the next packet of one direction.
    Lose(bool),
    /// The next packet of one direction is refused by its destination: dropped,
    /// and answered with an ICMP port unreachable quoting it (fatal to a
    /// connection being opened; a soft error after).
    Refuse(bool),
    /// Sends the next packet of one direction twice.
    Duplicate(bool),
    /// Swaps the next two packets of one direction.
    Swap(bool),
    /// Moves time on by this many milliseconds, running the timers.
    Advance(u16),
    /// Moves the clock back by this many milliseconds (a driver's broken clock).
    Rewind(u16),
    /// The next packet of one direction is too big for a router on the path:
    /// dropped, and answered with a "fragmentation needed" (ICMPv4) or "packet
    /// too big" (ICMPv6) carrying this MTU, which may be anything (below the
    /// floors, equal to the packet's length, above the link's).
    TooBig(bool, Mtu),
    /// The same error, but the packet passes too (a stale or lying router).
    TooBigPassed(bool, Mtu),
    /// From now on, packets of one direction above a size are dropped, for a
    /// while or through the settle ([`Hole`]).
    BlackHole(bool, Hole),
}

/// The decoded program: configuration and steps.
#[derive(Debug, Clone)]
pub struct Program {
    /// Address family of both stacks.
    pub family: Family,
    /// Which of [`variant`]'s configurations both stacks run.
    pub variant: u8,
    /// Which of [`path_variant`]'s path configurations they run.
    pub path: u8,
    /// The steps.
    pub ops: Vec<Op>,
}

/// What [`run_ops`] saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Steps run.
    pub steps: usize,
    /// Bytes the client's sends accepted.
    pub client_sent: u64,
    /// Bytes the server read.
    pub server_read: u64,
    /// Bytes the server's sends accepted.
    pub server_sent: u64,
    /// Bytes the client read.
    pub client_read: u64,
    /// Whether either side met an error.
    pub error: bool,
}

/// Decodes `data`: the first byte's low bit is the family, the next four bits
/// the [`variant`], the top three the [`path_variant`]; each op is one byte and
/// an argument byte or two. Op bytes 0xe0 to 0xe3 and 0xf0 to 0xf3 are the
/// path's events (added later; the other bytes keep their meaning).
pub fn decode(data: &[u8]) -> Program {
    let (&head, mut rest) = data.split_first().unwrap_or((&0, &[]));
    let mut ops = Vec::new();
    let arg = |rest: &mut &[u8]| -> u8 {
        let (&b, r) = rest.split_first().unwrap_or((&0, &[]));
        *rest = r;
        b
    };
    while let Some((&op, r)) = rest.split_first() {
        rest = r;
        let side = op & 0x10 != 0;
        if let Some(op) = path::decode_op(op, side, &mut || arg(&mut rest)) {
            ops.push(op);
            continue;
        }
        let op = match op % 16 {
            0 | 1 => {
                let n = u16::from_be_bytes([arg(&mut rest), arg(&mut rest)]) % 12_000 + 1;
                if op % 16 == 0 {
                    Op::Send(side, n)
                } else {
                    Op::SendUrgent(side, n % 3000 + 1)
                }
            }
            2 | 3 => {
                let n = u16::from_be_bytes([arg(&mut rest), arg(&mut rest)]) % 16_000 + 1;
                Op::Recv(side, n)
            }
            4 => Op::ShutWrite(side),
            5 => Op::ShutRead(side),
            6 => Op::Close(side),
            7 => Op::Abort(side),
            8 => Op::Accept,
            9 => Op::Deliver(side, arg(&mut rest) % 8 + 1),
            10 => Op::Refuse(side),
            11 => Op::Lose(side),
            12 => Op::Duplicate(side),
            13 => Op::Swap(side),
            14 => Op::Advance(u16::from(arg(&mut rest)) * 16 + 1),
            _ => Op::Rewind(u16::from(arg(&mut rest)) * 4 + 1),
        };
        // Rare steps rarer still: an abort ends most of what could be checked
        // after it, a refusal most handshakes.
        if matches!(op, Op::Abort(_) | Op::Refuse(_)) && arg(&mut rest) < 224 {
            continue;
        }
        // A send of urgent data one time in four.
        if matches!(op, Op::SendUrgent(..)) && arg(&mut rest) < 192 {
            continue;
        }
        ops.push(op);
    }
    Program {
        family: Family::from_byte(head),
        variant: (head >> 1) & 15,
        path: head >> 5,
        ops,
    }
}

/// The configurations a program may run: the defaults, small buffers (zero
/// windows, flow control), SACK off, timestamps off, window scaling off, Nagle
/// off, everything off with small buffers, RFC 6298's timer constants, and
/// buffers of odd and tiny sizes, down to one byte, with options mixed.
pub fn variant(mut config: Config, variant: u8) -> Config {
    let tcp = &mut config.tcp;
    let buffers = |tcp: &mut layer4::tcp::TcpConfig, send: usize, recv: usize| {
        tcp.send_buffer = send;
        tcp.recv_buffer = recv;
    };
    match variant {
        1 => buffers(tcp, 4096, 4096),
        2 => tcp.sack = false,
        3 => tcp.timestamps = false,
        4 => tcp.window_scaling = false,
        5 => tcp.nodelay = true,
        6 => {
            tcp.sack = false;
            tcp.timestamps = false;
            tcp.window_scaling = false;
            buffers(tcp, 2048, 3000);
        }
        7 => tcp.rtt = layer4::tcp::rtt::RttConfig::RFC6298,
        8 => buffers(tcp, 700, 700),
        9 => buffers(tcp, 1, 256 * 1024),
        10 => buffers(tcp, 256 * 1024, 1),
        11 => {
            buffers(tcp, 3000, 700);
            tcp.nodelay = true;
            tcp.sack = false;
        }
        12 => {
            buffers(tcp, 19_999, 1500);
            tcp.timestamps = false;
        }
        13 => {
            buffers(tcp, 5, 5);
            tcp.nodelay = true;
        }
        14 => {
            buffers(tcp, 1448, 2896);
            tcp.window_scaling = false;
            tcp.nodelay = true;
        }
        15 => {
            buffers(tcp, 4096, 4096);
            tcp.rtt = layer4::tcp::rtt::RttConfig::RFC6298;
            tcp.sack = false;
        }
        _ => {}
    }
    config
}

/// The byte at `offset` of the stream one side sends.
fn byte(client: bool, offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(client) << 63);
    (x >> 56) as u8
}

/// What the application on one side did and saw.
#[derive(Debug, Default)]
struct Side {
    handle: Option<SocketHandle>,
    closed: bool,
    /// The handle went by `tcp_abort`, not `close`.
    aborted: bool,
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

    fn open(&self) -> Option<SocketHandle> {
        self.handle.filter(|_| !self.closed)
    }
}

/// The most packets either direction holds (a runaway sender is an error).
const MAX_QUEUED: usize = 100_000;

struct Run {
    family: Family,
    /// The [`path_variant`].
    path: u8,
    /// The black hole of each direction (index 1: toward the server), with
    /// the instant it opened.
    holes: [Option<path::OpenHole>; 2],
    client: Stack,
    server: Stack,
    listener: SocketHandle,
    listener_closed: bool,
    now: Instant,
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
    c: Side,
    s: Side,
    buf: Vec<u8>,
}

impl Run {
    fn new(family: Family, v: u8, path: u8) -> Result<Run, String> {
        let config = |addr: std::net::IpAddr, seed, client| {
            let prefix = if addr.is_ipv6() { 64 } else { 24 };
            let cidr = format!("{addr}/{prefix}")
                .parse()
                .expect("a constant address");
            path_variant(
                variant(Config::with_address(cidr).seed(seed), v),
                path,
                client,
            )
        };
        let mut client =
            Stack::new(config(family.client_addr(), 1, true)).map_err(|e| e.to_string())?;
        let mut server =
            Stack::new(config(family.server_addr(), 2, false)).map_err(|e| e.to_string())?;
        let now = Instant::ZERO + Duration::from_secs(1);
        let server_end = std::net::SocketAddr::new(family.server_addr(), 80);
        let listener = server
            .tcp_listen(server_end, ListenOptions::default())
            .map_err(|e| e.to_string())?;
        let handle = client
            .tcp_connect(now, server_end, None)
            .map_err(|e| e.to_string())?;
        let mut run = Run {
            family,
            path,
            holes: [None; 2],
            client,
            server,
            listener,
            listener_closed: false,
            now,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            c: Side {
                handle: Some(handle),
                ..Side::default()
            },
            s: Side::default(),
            buf: vec![0u8; 65536],
        };
        run.collect()?;
        Ok(run)
    }

    fn collect(&mut self) -> Result<(), String> {
        while let Some(n) = self.client.poll_transmit(self.now, &mut self.buf) {
            self.to_server.push_back(self.buf[..n].to_vec());
            if self.to_server.len() > MAX_QUEUED {
                return Err("the client's transmit loop runs away".into());
            }
        }
        while let Some(n) = self.server.poll_transmit(self.now, &mut self.buf) {
            self.to_client.push_back(self.buf[..n].to_vec());
            if self.to_client.len() > MAX_QUEUED {
                return Err("the server's transmit loop runs away".into());
            }
        }
        Ok(())
    }

    fn side(&mut self, client: bool) -> (&mut Stack, &mut Side) {
        if client {
            (&mut self.client, &mut self.c)
        } else {
            (&mut self.server, &mut self.s)
        }
    }

    fn queue(&mut self, to_server: bool) -> &mut VecDeque<Vec<u8>> {
        if to_server {
            &mut self.to_server
        } else {
            &mut self.to_client
        }
    }

    fn accept(&mut self) {
        if self.s.handle.is_none() && !self.s.closed {
            if let Ok((h, _)) = self.server.tcp_accept(self.listener) {
                self.s.handle = Some(h);
            }
        }
    }

    fn send(&mut self, client: bool, len: usize, urgent: bool) -> Result<(), String> {
        let now = self.now;
        let (stack, side) = self.side(client);
        let Some(h) = side.open() else {
            return Ok(());
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
            Ok(n) if side.shut_write && n > 0 => {
                return Err("a send accepted data after shutting down writing".into())
            }
            Ok(n) => side.accepted += n as u64,
            Err(Error::BrokenPipe | Error::WouldBlock | Error::NotConnected) => {}
            Err(e) => side.note(e),
        }
        Ok(())
    }

    /// Reads up to `len` bytes; returns whether anything (data, the end, an
    /// error) came out.
    fn recv(&mut self, client: bool, len: usize) -> Result<bool, String> {
        let now = self.now;
        let (stack, side) = if client {
            (&mut self.client, &mut self.c)
        } else {
            (&mut self.server, &mut self.s)
        };
        let buf = &mut self.buf[..len.min(65536)];
        let Some(h) = side.open() else {
            return Ok(false);
        };
        match stack.tcp_recv(now, h, buf) {
            // After shutting down reading, `Ok(0)` only says nothing is
            // buffered: later data is still returned, as on Linux.
            Ok(0) if side.shut_read => Ok(false),
            Ok(0) => {
                let new = !side.eof;
                side.eof = true;
                Ok(new)
            }
            Ok(n) => {
                if side.eof && !side.shut_read {
                    return Err("data after the end of the stream".into());
                }
                for (i, &b) in buf[..n].iter().enumerate() {
                    let at = side.read + i as u64;
                    if b != byte(!client, at) {
                        return Err(format!(
                            "byte {at} read by the {} is wrong",
                            if client { "client" } else { "server" }
                        ));
                    }
                }
                side.read += n as u64;
                Ok(true)
            }
            Err(Error::WouldBlock) => Ok(false),
            Err(e) => {
                let new = side.error.is_none();
                side.note(e);
                Ok(new)
            }
        }
    }

    fn step(&mut self, op: Op) -> Result<(), String> {
        let now = self.now;
        let listener = self.listener;
        // The server's application takes a connection its listener holds
        // before any call on it (a close before one is there lets go of the
        // listener): with `Accept` alone, one step in sixteen and only after a
        // handshake, random programs almost never had the server send.
        if matches!(
            op,
            Op::Send(false, _)
                | Op::SendUrgent(false, _)
                | Op::Recv(false, _)
                | Op::ShutWrite(false)
                | Op::ShutRead(false)
                | Op::Abort(false)
        ) {
            self.accept();
        }
        match op {
            Op::Send(c, n) => self.send(c, n.into(), false)?,
            Op::SendUrgent(c, n) => self.send(c, n.into(), true)?,
            Op::Refuse(from_client) => self.refuse(from_client),
            Op::Recv(c, n) => {
                self.recv(c, n.into())?;
            }
            Op::ShutWrite(c) | Op::ShutRead(c) => {
                let how = match op {
                    Op::ShutWrite(_) => Shutdown::Write,
                    _ => Shutdown::Read,
                };
                let (stack, side) = self.side(c);
                if let Some(h) = side.open() {
                    if stack.tcp_shutdown(now, h, how).is_ok() {
                        match how {
                            Shutdown::Write => side.shut_write = true,
                            _ => side.shut_read = true,
                        }
                    }
                }
            }
            Op::Close(c) | Op::Abort(c) => {
                let abort = matches!(op, Op::Abort(_));
                let (stack, side) = self.side(c);
                if let Some(h) = side.open() {
                    // A close with data unread is an abort (RFC 2525's RST, in
                    // every state but TIME-WAIT, as Linux's `tcp_close`): its
                    // one RST may be lost, and a peer in FIN-WAIT-2 sends
                    // nothing that would draw another (the `app` target found
                    // one waiting there for ever, as it would on Linux).
                    let unread = !abort
                        && stack
                            .tcp_info(now, h)
                            .is_ok_and(|i| i.recv_q > 0 && i.state != State::TimeWait);
                    let r = if abort {
                        stack.tcp_abort(now, h)
                    } else {
                        stack.close(now, h)
                    };
                    r.map_err(|e| format!("closing an open handle: {e}"))?;
                    side.closed = true;
                    side.aborted = abort || unread;
                } else if !c && side.handle.is_none() && !side.closed {
                    // A server that has not accepted lets go of its listener
                    // (its queued connections are reset).
                    stack
                        .close(now, listener)
                        .map_err(|e| format!("closing the listener: {e}"))?;
                    side.closed = true;
                    self.listener_closed = true;
                }
            }
            Op::Accept => self.accept(),
            Op::Deliver(to_server, n) => {
                for _ in 0..n {
                    let Some(p) = self.queue(to_server).pop_front() else {
                        break;
                    };
                    self.deliver(to_server, &p);
                }
            }
            Op::Lose(to_server) => {
                self.queue(to_server).pop_front();
            }
            Op::Duplicate(to_server) => {
                let q = self.queue(to_server);
                if let Some(p) = q.front().cloned() {
                    q.push_front(p);
                }
            }
            Op::Swap(to_server) => {
                let q = self.queue(to_server);
                if q.len() >= 2 {
                    q.swap(0, 1);
                }
            }
            Op::Advance(ms) => self.advance(self.now + Duration::from_millis(ms.into()))?,
            Op::TooBig(to_server, mtu) => self.too_big(to_server, mtu, false),
            Op::TooBigPassed(to_server, mtu) => self.too_big(to_server, mtu, true),
            Op::BlackHole(to_server, hole) => self.open_hole(to_server, hole),
            Op::Rewind(ms) => {
                let back = Duration::from_millis(ms.into());
                let ns = self.now.as_nanos().saturating_sub(back.as_nanos() as u64);
                self.now = Instant::from_nanos(ns.max(1));
            }
        }
        self.collect()
    }

    /// [`Op::Refuse`]: the next packet of one direction dropped and answered
    /// with a port unreachable quoting it, built by the refusing side's stack.
    fn refuse(&mut self, from_client: bool) {
        let Some(p) = self.queue(from_client).pop_front() else {
            return;
        };
        self.icmp_error(from_client, &p, path::IcmpKind::PortUnreachable);
    }

    /// What must hold after every step, on both stacks: each connection's own
    /// invariants (`Stack::tcp_check_invariants`), and `TcpCurrEstab` counting
    /// exactly the connections in ESTABLISHED or CLOSE-WAIT, whatever path they
    /// took there and out.
    fn check_stacks(&self) -> Result<(), String> {
        for (name, stack) in [("client", &self.client), ("server", &self.server)] {
            let mut estab = 0;
            for e in stack.socket_table(self.now) {
                if e.protocol != SocketProtocol::Tcp || e.remote.is_none() {
                    continue;
                }
                stack
                    .tcp_check_invariants(e.handle)
                    .map_err(|err| format!("{name}: {err}"))?;
                if matches!(
                    stack.tcp_state(e.handle),
                    Ok(State::Established | State::CloseWait)
                ) {
                    estab += 1;
                }
            }
            let counted = stack.stats().tcp.curr_estab;
            if counted != estab {
                return Err(format!(
                    "{name}: TcpCurrEstab {counted} with {estab} connections established"
                ));
            }
        }
        Ok(())
    }

    /// Runs the timers due up to `until`, one instant at a time.
    fn advance(&mut self, until: Instant) -> Result<(), String> {
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
                    self.collect()?;
                }
                _ => {
                    self.now = self.now.max(until);
                    return Ok(());
                }
            }
        }
        Err("timers never settle".into())
    }

    /// A reliable link and applications that read everything, until nothing
    /// moves (TIME-WAIT's end is not waited for), then an error a side has not
    /// met yet, asked for with an empty send.
    fn settle(&mut self) -> Result<(), String> {
        // Until quiet, or 15 minutes without a byte read: a connection that is
        // slow but moving (a one-byte window moves a byte per round trip) is
        // not a stall, and gets up to a day. So does a connection behind a
        // black hole that lasts: it may have to wait for R2 to give up.
        let day = self.now + Duration::from_secs(24 * 3600);
        let lasting_hole = self.hole_lasts();
        let mut end = if lasting_hole {
            day
        } else {
            self.now + Duration::from_secs(900)
        };
        let mut progress = (self.c.read, self.s.read);
        let mut rounds = 0;
        while self.now < end {
            rounds += 1;
            if rounds > 5_000_000 {
                return Err("the connection never quiets".into());
            }
            self.accept();
            while self.recv(true, 65536)? || self.recv(false, 65536)? {}
            if (self.c.read, self.s.read) != progress {
                progress = (self.c.read, self.s.read);
                if !lasting_hole {
                    end = (self.now + Duration::from_secs(900)).min(day);
                }
            }
            self.collect()?;
            if self.to_server.is_empty() && self.to_client.is_empty() {
                let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t < end => self.advance(t)?,
                    _ => break,
                }
                continue;
            }
            self.now += Duration::from_millis(5);
            while let Some(p) = self.to_server.pop_front() {
                self.deliver(true, &p);
            }
            while let Some(p) = self.to_client.pop_front() {
                self.deliver(false, &p);
            }
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        for client in [true, false] {
            let now = self.now;
            let (stack, side) = self.side(client);
            if let Some(h) = side.open() {
                match stack.tcp_send(now, h, &[]) {
                    Ok(_) | Err(Error::BrokenPipe | Error::NotConnected | Error::WouldBlock) => {}
                    Err(e) => side.note(e),
                }
            }
        }
        Ok(())
    }

    /// Once neither stack has a timer left, nothing will ever free what is
    /// still in it: every socket must be one the application holds (its
    /// connection, the server's listener). A connection whose handle was
    /// closed, still there with no timer, would stay forever.
    fn check_no_leak(&self) -> Result<(), String> {
        for (name, stack, side) in [
            ("client", &self.client, &self.c),
            ("server", &self.server, &self.s),
        ] {
            if stack.poll_timeout().is_some() {
                continue;
            }
            for e in stack.socket_table(self.now) {
                let held = side.open() == Some(e.handle)
                    || (name == "server" && e.handle == self.listener && !self.listener_closed);
                if !held {
                    return Err(format!(
                        "the {name} keeps a socket nobody holds and no timer will free: {} {} {:?}",
                        e.state, e.local, e.remote
                    ));
                }
            }
        }
        Ok(())
    }

    /// Both sides shut down writing, and neither met an error: once settled,
    /// both FINs were acknowledged (no FIN-WAIT-1, CLOSING or LAST-ACK left).
    fn check_closed_cleanly(&self) -> Result<(), String> {
        if !(self.c.shut_write && self.s.shut_write)
            || self.c.error.is_some()
            || self.s.error.is_some()
        {
            return Ok(());
        }
        for (name, stack, side) in [
            ("client", &self.client, &self.c),
            ("server", &self.server, &self.s),
        ] {
            let Some(h) = side.open() else { continue };
            if let Ok(state) = stack.tcp_state(h) {
                if matches!(state, State::FinWait1 | State::Closing | State::LastAck) {
                    return Err(format!(
                        "the {name}'s FIN was never acknowledged: {state:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// A reliable link, or one with holes the senders can get through
    /// ([`path`]'s docs), never times a connection out: a side that had no
    /// error when the settle began has no `TimedOut` after it.
    /// Whether each side (client, server) has an error: one the application
    /// met, or one its stack holds for the connection and nobody asked for
    /// yet (a SYN never delivered times out during the steps; the settle's
    /// empty send is the first to ask).
    /// A connection that already sent its last retransmission (the last SYN, or
    /// the R2-th resend) counts too: if the steps lost that one, it times out
    /// in the settle whatever the link does then (a client whose eight SYNs
    /// the steps all dropped, 0.1 s before its last timeout).
    fn errors_held(&self) -> (bool, bool) {
        let held = |stack: &Stack, side: &Side| {
            side.error.is_some()
                || side.open().is_some_and(|h| {
                    matches!(stack.tcp_error(h), Ok(Some(_))) || out_of_retries(stack, h)
                })
        };
        (held(&self.client, &self.c), held(&self.server, &self.s))
    }

    fn check_no_new_timeout(&self, before: (bool, bool)) -> Result<(), String> {
        if !(self.passable(true) && self.passable(false)) {
            return Ok(());
        }
        for (name, side, had) in [("client", &self.c, before.0), ("server", &self.s, before.1)] {
            if !had && side.error == Some(Error::TimedOut) {
                return Err(format!(
                    "the {name} timed out while settling (holes {:?})",
                    self.holes
                ));
            }
        }
        Ok(())
    }

    /// The property, for the bytes one side sent the other.
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
        // A side that aborted, or let go of reading, accepted losing; so did
        // a receiver that let go of its handle. A sender that closed its
        // handle did not: `close` sends what it accepted, and the FIN after
        // it, or the receiver hears of a reset (the sender can no longer hear
        // of an error itself; nor can a receiver that never had the
        // connection).
        if from.handle.is_none() || from.aborted || to.closed || to.shut_read {
            return Ok(());
        }
        if from.closed && (to.error.is_some() || to.handle.is_none()) {
            return Ok(());
        }
        // Behind a hole its segments can never pass, a sender that closed its
        // handle gives up at R2 and tells nobody (no RST on a timeout, as
        // Linux); the receiver, without keep-alive, cannot know: TCP itself
        // promises nothing more here. The same behind a hole of the other
        // direction, which may drop the acknowledgments (the `app` fuzz target
        // found it: a 68-byte hole toward an IPv6 client drops even pure ACKs).
        if from.closed && !(self.passable(true) && self.passable(false)) {
            return Ok(());
        }
        if from.error.is_some() || to.error.is_some() {
            return Ok(());
        }
        if to.handle.is_none() {
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
        if (from.shut_write || from.closed) && !to.eof {
            return Err(format!("{dir}: shut down, but no end of stream"));
        }
        Ok(())
    }
}

/// Runs the program `data` encodes ([`decode`]); an error says which property
/// failed, with the program.
pub fn run_ops(data: &[u8]) -> Result<Summary, String> {
    run_program(&decode(data))
}

/// Whether connection `h` sent its last retransmission: its next timeout
/// gives up (`TcpConfig::syn_retries` in SYN-SENT, `retries2` once
/// synchronized; both count the timeouts in a row, `TcpInfo::retransmits`).
fn out_of_retries(stack: &Stack, h: SocketHandle) -> bool {
    let Ok(info) = stack.tcp_info(Instant::ZERO, h) else {
        return false;
    };
    let tcp = &stack.config().tcp;
    let limit = match info.state {
        State::SynSent => tcp.syn_retries,
        State::SynReceived => tcp.synack_retries,
        _ => tcp.retries2,
    };
    info.retransmits >= limit
}

/// Runs a decoded program.
pub fn run_program(program: &Program) -> Result<Summary, String> {
    let fail = |e: String| format!("{e}\nprogram: {program:?}");
    let mut run = Run::new(program.family, program.variant, program.path).map_err(fail)?;
    for &op in &program.ops {
        run.step(op).map_err(fail)?;
        run.check_stacks()
            .map_err(|e| fail(format!("after {op:?}: {e}")))?;
    }
    let errors_before = run.errors_held();
    run.settle().map_err(fail)?;
    run.check_no_new_timeout(errors_before).map_err(fail)?;
    run.check_stacks()
        .map_err(|e| fail(format!("settled: {e}")))?;
    run.check(true).map_err(fail)?;
    run.check(false).map_err(fail)?;
    run.check_closed_cleanly().map_err(fail)?;
    run.check_no_leak().map_err(fail)?;
    Ok(Summary {
        steps: program.ops.len(),
        client_sent: run.c.accepted,
        server_read: run.s.read,
        server_sent: run.s.accepted,
        client_read: run.c.read,
        error: run.c.error.is_some() || run.s.error.is_some(),
    })
}
