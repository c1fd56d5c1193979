//! A live connection under attack: the driver of the `live` fuzz target
//! (`fuzz/fuzz_targets/live.rs`), of its property-test twin
//! (`crates/sim/tests/live_fuzz.rs`) and of the attack and fault tests
//! (`blind_injection.rs`, `exhaustion.rs`, `syn_flood_scale.rs`, `faults.rs`),
//! each over both families. Those spoof on-link sources
//! ([`Family::spoofed_addr`]) and drop the server's answers to them
//! ([`LivePair::drop_replies_to_others`]); [`ipv6_fragment`] makes their IPv6
//! fragments.
//!
//! [`LivePair`] joins two stacks by an in-memory wire, without the event engine:
//! a *server* (10.0.0.1/8, listening on port 80; the stack under attack, which does
//! not verify checksums so that forged segments reach TCP) and a *client*
//! (10.0.0.2/8, the legitimate peer; other addresses in 10.0.0.0/8 are on-link, free
//! for spoofed sources). Over IPv6 ([`Family::V6`]) the server is fd00::1/64 and
//! the client fd00::2/64 (other addresses in fd00::/64 on-link), so that the
//! stack's IPv6 receive path (the fixed-layout `Ipv6TcpSegment` path and its
//! `handle_packets` runs) is attacked too. The client connects; each side writes the
//! known byte pattern of [`app::pattern`](crate::app::pattern) (the server's
//! stream shifted by [`SERVER_STREAM_SHIFT`]) and checks every byte it reads. The
//! wire remembers the sequence numbers, acknowledgments and timestamps each side
//! sent, so that [`LivePair::forge`] can make segments from the client's 4-tuple
//! near the live window: the ones a blind or a fuzzing attacker would send.
//!
//! Forged payloads are always the pattern bytes of the stream offset their sequence
//! number names. An attacker who guesses the sequence number can inject data into
//! any TCP connection; with pattern payloads an accepted forgery cannot change a
//! byte, so "every byte read equals the pattern" is an invariant that holds
//! whatever is injected, and a violation is a bug.
//!
//! [`LivePair::check`] is what must hold after every step: each connection's
//! internal invariants (`Stack::tcp_check_invariants`: SND.UNA ≤ SND.NXT ≤ SND.MAX,
//! buffers and out-of-order ranges within their caps), and no runaway transmit
//! loop. Reads check the data as they go. [`run_ops`] decodes arbitrary bytes into
//! steps (deliveries, one packet at a time or in [`Stack::handle_packets`]
//! batches, losses, duplicates, reorderings, time jumps, reads, writes, closes,
//! forged and raw segments, handed over at once or queued among the client's) and
//! runs them, over the family the low bit of the input's first byte picks.

use crate::app::pattern;
use layer4::time::{Duration, Instant};
use layer4::wire::{
    AddrPair, ChecksumMode, Ecn, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6FragmentHeader,
    Ipv6FragmentRepr, Ipv6Packet, Ipv6Repr, SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr, TcpTimestamp, UdpPacket, UdpRepr,
};
use layer4::{Config, ListenOptions, SocketHandle, Stack, State};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The server's address.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The client's address.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The server's address over IPv6.
pub const SERVER_ADDR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
/// The client's address over IPv6.
pub const CLIENT_ADDR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
/// The server's port.
pub const SERVER_PORT: u16 = 80;
/// The server's stream is the pattern from this offset on, so the two directions
/// differ.
pub const SERVER_STREAM_SHIFT: u64 = 1000;
/// More packets than this from one step is a runaway loop (an ACK war).
pub const MAX_PACKETS_PER_STEP: usize = 100_000;

/// The address family a [`LivePair`] runs over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    /// 10.0.0.1/8 and 10.0.0.2/8.
    #[default]
    V4,
    /// fd00::1/64 and fd00::2/64.
    V6,
}

impl Family {
    /// The family a program's leading byte picks: its low bit (0: IPv4, 1: IPv6).
    pub fn from_byte(b: u8) -> Family {
        if b & 1 == 0 {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// The server's address ([`SERVER_ADDR`] or [`SERVER_ADDR_V6`]).
    pub fn server_addr(self) -> IpAddr {
        match self {
            Family::V4 => SERVER_ADDR.into(),
            Family::V6 => SERVER_ADDR_V6.into(),
        }
    }

    /// The client's address ([`CLIENT_ADDR`] or [`CLIENT_ADDR_V6`]).
    pub fn client_addr(self) -> IpAddr {
        match self {
            Family::V4 => CLIENT_ADDR.into(),
            Family::V6 => CLIENT_ADDR_V6.into(),
        }
    }

    /// An on-link address of the family that is neither the server's nor the
    /// client's, picked by `r`: a spoofed source. IPv4: 10.1.(r >> 8).(r & 0xff,
    /// at least 1), in 10.1.0.0/16. IPv6: fd00::1:(r >> 16):(r & 0xffff, at least
    /// 1), in fd00::1:0:0/96 inside the on-link fd00::/64: a unicast address the
    /// stack takes as a peer (not loopback, IPv4-mapped or multicast).
    pub fn spoofed_addr(self, r: u32) -> IpAddr {
        match self {
            Family::V4 => Ipv4Addr::new(10, 1, (r >> 8) as u8, (r as u8).max(1)).into(),
            Family::V6 => {
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 1, (r >> 16) as u16, (r as u16).max(1)).into()
            }
        }
    }

    /// The server's address with its on-link prefix.
    fn server_cidr(self) -> &'static str {
        match self {
            Family::V4 => "10.0.0.1/8",
            Family::V6 => "fd00::1/64",
        }
    }

    /// The client's address with its on-link prefix.
    fn client_cidr(self) -> &'static str {
        match self {
            Family::V4 => "10.0.0.2/8",
            Family::V6 => "fd00::2/64",
        }
    }
}

/// A direction on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// What the wire saw one side send (the latest and the furthest values).
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    /// The initial sequence number (from the SYN or SYN-ACK).
    pub iss: Option<SeqNumber>,
    /// The furthest sequence number sent (seq + length of the furthest segment).
    pub seq_max: Option<SeqNumber>,
    /// The latest acknowledgment number sent (the sender's RCV.NXT).
    pub ack: Option<SeqNumber>,
    /// The latest timestamp option sent.
    pub ts: Option<TcpTimestamp>,
    /// The latest raw window field sent.
    pub window: u16,
    /// Segments sent.
    pub segments: u64,
}

impl Seen {
    fn observe(&mut self, seg: &TcpRepr<'_>) {
        self.segments += 1;
        if seg.flags.contains(TcpFlags::SYN) {
            self.iss = Some(seg.seq_number);
        }
        let syn_fin = usize::from(seg.flags.contains(TcpFlags::SYN))
            + usize::from(seg.flags.contains(TcpFlags::FIN));
        if !seg.flags.contains(TcpFlags::RST) {
            let end = seg.seq_number + (seg.payload.len() + syn_fin);
            self.seq_max = Some(self.seq_max.map_or(end, |m| m.max(end)));
        }
        if seg.flags.contains(TcpFlags::ACK) {
            self.ack = Some(seg.ack_number);
        }
        if seg.options.timestamp.is_some() {
            self.ts = seg.options.timestamp;
        }
        self.window = seg.window_len;
    }
}

/// How a forged segment's options are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgedOptions {
    /// The client's latest timestamp, as the client would send it.
    Mimic,
    /// No options.
    None,
    /// The client's latest timestamp with TSval moved by this much (PAWS).
    TsvalShift(i32),
    /// The client's latest timestamp with TSecr moved by this much.
    TsecrShift(i32),
    /// The timestamp, and SACK blocks at these offsets (pairs of start, length)
    /// from the server's furthest sequence number minus 64 KiB: lies, or not.
    Sack([(u16, u16); 2]),
    /// MSS and window scale (meaningful only on a SYN).
    SynOptions(u16, u8),
}

/// A segment to forge from the client's 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forged {
    /// Sequence number: the server's RCV.NXT (its latest ACK) plus this.
    pub seq_offset: i64,
    /// Acknowledgment number: the server's furthest sequence number plus this.
    pub ack_offset: i64,
    /// Control bits.
    pub flags: TcpFlags,
    /// The raw window field.
    pub window: u16,
    /// Payload bytes (pattern bytes of the stream offset).
    pub len: usize,
    /// Options.
    pub options: ForgedOptions,
}

/// Two stacks joined by an in-memory wire, one connection between them.
#[derive(Debug)]
pub struct LivePair {
    /// The stack under attack.
    pub server: Stack,
    /// The legitimate peer.
    pub client: Stack,
    /// The server's listener.
    pub listener: SocketHandle,
    /// The client's connection.
    pub client_conn: SocketHandle,
    /// The server's accepted connection (the first one accepted).
    pub server_conn: SocketHandle,
    /// Further connections the server accepted, in order (a forged SYN after a
    /// reset may open one on the same 4-tuple; tests with more clients take them
    /// from here). Bounded by what the listener lets through.
    pub extra_server_conns: Vec<SocketHandle>,
    /// Virtual time.
    pub now: Instant,
    /// Packets on the wire, each direction in order.
    pub to_server: VecDeque<Vec<u8>>,
    /// Packets on the wire towards the client.
    pub to_client: VecDeque<Vec<u8>>,
    /// What the client sent.
    pub client_seen: Seen,
    /// What the server sent.
    pub server_seen: Seen,
    /// Bytes the client wrote (its stream offset).
    pub client_written: u64,
    /// Bytes the server read (and checked).
    pub server_read: u64,
    /// FNV-1a of every byte the server read.
    pub server_read_hash: u64,
    /// Bytes the server wrote.
    pub server_written: u64,
    /// Bytes the client read (and checked).
    pub client_read: u64,
    /// Packets forged and handed to the server.
    pub forged: u64,
    /// The address family of both stacks and of every packet forged.
    pub family: Family,
    client_port: u16,
    buf: Vec<u8>,
}

/// The server's configuration: 64 KiB buffers, checksums not verified.
pub fn server_config(seed: u64) -> Config {
    server_config_in(Family::V4, seed)
}

/// [`server_config`] with the server's address of `family`.
pub fn server_config_in(family: Family, seed: u64) -> Config {
    let mut config =
        Config::with_address(family.server_cidr().parse().expect("a constant address")).seed(seed);
    config.checksum_rx = ChecksumMode::Offloaded;
    config.tcp.recv_buffer = 64 * 1024;
    config.tcp.send_buffer = 64 * 1024;
    config
}

/// The client's configuration: 64 KiB buffers.
pub fn client_config(seed: u64) -> Config {
    client_config_in(Family::V4, seed)
}

/// [`client_config`] with the client's address of `family`.
pub fn client_config_in(family: Family, seed: u64) -> Config {
    let mut config =
        Config::with_address(family.client_cidr().parse().expect("a constant address"))
            .seed(seed ^ 0x5eed);
    config.tcp.recv_buffer = 64 * 1024;
    config.tcp.send_buffer = 64 * 1024;
    config
}

impl LivePair {
    /// Two stacks over IPv4 with the default [`server_config`] and
    /// [`client_config`], the connection established.
    pub fn new(seed: u64) -> Result<LivePair, String> {
        LivePair::new_in(Family::V4, seed)
    }

    /// [`new`](Self::new) over `family`.
    pub fn new_in(family: Family, seed: u64) -> Result<LivePair, String> {
        LivePair::with_configs_in(
            family,
            server_config_in(family, seed),
            client_config_in(family, seed),
        )
    }

    /// Two stacks from these configurations (addresses as [`SERVER_ADDR`] and
    /// [`CLIENT_ADDR`]), the connection established over IPv4.
    pub fn with_configs(server: Config, client: Config) -> Result<LivePair, String> {
        LivePair::with_configs_in(Family::V4, server, client)
    }

    /// [`with_configs`](Self::with_configs) over `family` (the configurations
    /// hold that family's [`Family::server_addr`] and [`Family::client_addr`]).
    pub fn with_configs_in(
        family: Family,
        server: Config,
        client: Config,
    ) -> Result<LivePair, String> {
        let mut server = Stack::new(server).map_err(|e| e.to_string())?;
        let mut client = Stack::new(client).map_err(|e| e.to_string())?;
        let now = Instant::ZERO + Duration::from_secs(1);
        let target = SocketAddr::new(family.server_addr(), SERVER_PORT);
        let listener = server
            .tcp_listen(target, ListenOptions::default())
            .map_err(|e| e.to_string())?;
        let client_conn = client
            .tcp_connect(now, target, None)
            .map_err(|e| e.to_string())?;
        let client_port = client
            .tcp_addrs(client_conn)
            .map_err(|e| e.to_string())?
            .0
            .port();
        let mut pair = LivePair {
            server,
            client,
            listener,
            client_conn,
            server_conn: client_conn,
            extra_server_conns: Vec::new(),
            now,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            client_seen: Seen::default(),
            server_seen: Seen::default(),
            client_written: 0,
            server_read: 0,
            server_read_hash: FNV_OFFSET,
            server_written: 0,
            client_read: 0,
            forged: 0,
            family,
            client_port,
            buf: vec![0; 65536],
        };
        for _ in 0..8 {
            pair.drain()?;
            if !pair.extra_server_conns.is_empty() {
                break;
            }
            pair.deliver(Dir::ToServer, usize::MAX)?;
            pair.deliver(Dir::ToClient, usize::MAX)?;
        }
        if pair.extra_server_conns.is_empty() {
            return Err("the handshake did not complete".into());
        }
        pair.server_conn = pair.extra_server_conns.remove(0);
        pair.drain()?;
        Ok(pair)
    }

    /// Every packet both stacks want to send onto the wire, the events drained and
    /// new connections accepted, as a driver does after any input.
    pub fn drain(&mut self) -> Result<(), String> {
        let mut sent = 0;
        while let Some(n) = self.server.poll_transmit(self.now, &mut self.buf) {
            let packet = self.buf.get(..n).unwrap_or_default().to_vec();
            observe(&packet, &mut self.server_seen);
            self.to_client.push_back(packet);
            sent += 1;
            if sent > MAX_PACKETS_PER_STEP {
                return Err("runaway transmit at the server".into());
            }
        }
        while let Some(n) = self.client.poll_transmit(self.now, &mut self.buf) {
            let packet = self.buf.get(..n).unwrap_or_default().to_vec();
            observe(&packet, &mut self.client_seen);
            self.to_server.push_back(packet);
            sent += 1;
            if sent > MAX_PACKETS_PER_STEP {
                return Err("runaway transmit at the client".into());
            }
        }
        while self.server.poll_event().is_some() {}
        while self.client.poll_event().is_some() {}
        while let Ok((h, _)) = self.server.tcp_accept(self.listener) {
            self.extra_server_conns.push(h);
        }
        Ok(())
    }

    /// Delivers up to `n` packets waiting in `dir`, in order, then drains (the
    /// answers join the wire, behind what waits there). A bounded number of
    /// rounds: answers to answers wait for the next call.
    pub fn deliver(&mut self, dir: Dir, n: usize) -> Result<(), String> {
        let queue_len = self.queue(dir).len();
        for _ in 0..n.min(queue_len) {
            let Some(packet) = self.queue(dir).pop_front() else {
                break;
            };
            match dir {
                Dir::ToServer => self.server.handle_packet(self.now, &packet),
                Dir::ToClient => self.client.handle_packet(self.now, &packet),
            }
        }
        self.drain()
    }

    /// [`deliver`](Self::deliver), in one [`Stack::handle_packets`] call: a
    /// batch, whose runs of in-order segments take the stack's run path
    /// (header prediction with the checksum verified while copying).
    pub fn deliver_batch(&mut self, dir: Dir, n: usize) -> Result<(), String> {
        let take = n.min(self.queue(dir).len());
        let batch: Vec<Vec<u8>> = self.queue(dir).drain(..take).collect();
        let stack = match dir {
            Dir::ToServer => &mut self.server,
            Dir::ToClient => &mut self.client,
        };
        stack.handle_packets(self.now, batch.iter().map(Vec::as_slice));
        self.drain()
    }

    /// Delivers both ways until the wire is empty (at most `rounds` rounds).
    pub fn settle(&mut self, rounds: usize) -> Result<(), String> {
        for _ in 0..rounds {
            if self.to_server.is_empty() && self.to_client.is_empty() {
                break;
            }
            self.deliver(Dir::ToServer, usize::MAX)?;
            self.deliver(Dir::ToClient, usize::MAX)?;
        }
        Ok(())
    }

    /// The packets waiting in `dir`.
    pub fn queue(&mut self, dir: Dir) -> &mut VecDeque<Vec<u8>> {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }

    /// Time moves on by `d`; both stacks handle their timers.
    pub fn advance(&mut self, d: Duration) -> Result<(), String> {
        self.now += d;
        self.server.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
        self.drain()
    }

    /// The client writes up to `n` more pattern bytes.
    pub fn client_write(&mut self, n: usize) -> Result<(), String> {
        let data = pattern::slice(self.client_written, n);
        if let Ok(k) = self.client.tcp_send(self.now, self.client_conn, data) {
            self.client_written += k as u64;
        }
        self.drain()
    }

    /// The server writes up to `n` more pattern bytes.
    pub fn server_write(&mut self, n: usize) -> Result<(), String> {
        let data = pattern::slice(self.server_written + SERVER_STREAM_SHIFT, n);
        if let Ok(k) = self.server.tcp_send(self.now, self.server_conn, data) {
            self.server_written += k as u64;
        }
        self.drain()
    }

    /// The server reads up to `n` bytes and checks them against the client's stream.
    pub fn server_read(&mut self, n: usize) -> Result<(), String> {
        let n = n.min(self.buf.len());
        if let Ok(k) = self
            .server
            .tcp_recv(self.now, self.server_conn, &mut self.buf[..n])
        {
            // No count check here: a forged segment may carry pattern bytes the
            // client has not written yet (the attacker guessed them right), which is
            // no corruption; every byte must still be the pattern's.
            let data = self.buf.get(..k).unwrap_or_default();
            let bad = pattern::mismatches(self.server_read, data);
            if bad > 0 {
                return Err(format!(
                    "{bad} corrupted bytes read by the server at offset {}",
                    self.server_read
                ));
            }
            self.server_read += k as u64;
            self.server_read_hash = fnv1a(self.server_read_hash, data);
        }
        // Connections opened by forged SYNs: their data is read and dropped.
        for &h in &self.extra_server_conns {
            let _ = self.server.tcp_recv(self.now, h, &mut self.buf[..n]);
        }
        self.drain()
    }

    /// The client reads up to `n` bytes and checks them against the server's stream.
    pub fn client_read(&mut self, n: usize) -> Result<(), String> {
        let n = n.min(self.buf.len());
        if let Ok(k) = self
            .client
            .tcp_recv(self.now, self.client_conn, &mut self.buf[..n])
        {
            let data = self.buf.get(..k).unwrap_or_default();
            if self.client_read + k as u64 > self.server_written {
                return Err(format!(
                    "the client read {} bytes, the server wrote {}",
                    self.client_read + k as u64,
                    self.server_written
                ));
            }
            let bad = pattern::mismatches(self.client_read + SERVER_STREAM_SHIFT, data);
            if bad > 0 {
                return Err(format!(
                    "{bad} corrupted bytes read by the client at offset {}",
                    self.client_read
                ));
            }
            self.client_read += k as u64;
        }
        self.drain()
    }

    /// Internal invariants of every connection of both stacks.
    pub fn check(&self) -> Result<(), String> {
        self.server
            .tcp_check_invariants(self.server_conn)
            .map_err(|e| format!("server: {e}"))?;
        self.client
            .tcp_check_invariants(self.client_conn)
            .map_err(|e| format!("client: {e}"))?;
        for &h in &self.extra_server_conns {
            self.server
                .tcp_check_invariants(h)
                .map_err(|e| format!("server (extra): {e}"))?;
        }
        Ok(())
    }

    /// The server connection's state (`Closed` once it is gone).
    pub fn server_state(&self) -> State {
        self.server
            .tcp_state(self.server_conn)
            .unwrap_or(State::Closed)
    }

    /// The client connection's state (`Closed` once it is gone).
    pub fn client_state(&self) -> State {
        self.client
            .tcp_state(self.client_conn)
            .unwrap_or(State::Closed)
    }

    /// The IP packet (of the pair's family) of a forged segment from the client's
    /// 4-tuple to the server.
    pub fn forge(&self, f: &Forged) -> Vec<u8> {
        let rcv_nxt = self
            .server_seen
            .ack
            .or(self.client_seen.seq_max)
            .unwrap_or(SeqNumber(0));
        let snd_max = self.server_seen.seq_max.unwrap_or(SeqNumber(0));
        let seq = rcv_nxt + (f.seq_offset as u32);
        let ack = snd_max + (f.ack_offset as u32);
        // Payload: the client's stream at the offset `seq` names (after a SYN).
        let first = seq + u32::from(f.flags.contains(TcpFlags::SYN));
        let client_data_start = self.client_seen.iss.map_or(SeqNumber(1), |s| s + 1u32);
        // Bytes before the stream's start (a sequence number below the client's
        // ISS + 1) can never be delivered; the rest are the stream's own.
        let stream_offset = i64::from(first.diff(client_data_start));
        let mut payload = vec![0u8; f.len.min(4096)];
        let skip = usize::try_from(-stream_offset)
            .unwrap_or(0)
            .min(payload.len());
        if let Some(rest) = payload.get_mut(skip..) {
            pattern::fill(stream_offset.max(0) as u64, rest);
        }
        let mut options = TcpOptions::new();
        let ts = self.client_seen.ts;
        match f.options {
            ForgedOptions::Mimic => options.timestamp = ts,
            ForgedOptions::None => {}
            ForgedOptions::TsvalShift(d) => {
                options.timestamp = ts.map(|t| TcpTimestamp {
                    tsval: t.tsval.wrapping_add(d as u32),
                    tsecr: t.tsecr,
                });
            }
            ForgedOptions::TsecrShift(d) => {
                options.timestamp = ts.map(|t| TcpTimestamp {
                    tsval: t.tsval,
                    tsecr: t.tsecr.wrapping_add(d as u32),
                });
            }
            ForgedOptions::Sack(blocks) => {
                options.timestamp = ts;
                let base = snd_max - 65536u32;
                let mut sack = SackBlocks::new();
                for (start, len) in blocks {
                    let s = base + u32::from(start) * 4;
                    sack.push((s, s + u32::from(len)));
                }
                options.sack_ranges = sack;
            }
            ForgedOptions::SynOptions(mss, ws) => {
                options.mss = Some(mss);
                options.window_scale = Some(ws);
                options.sack_permitted = true;
                options.timestamp = ts;
            }
        }
        let repr = TcpRepr {
            src_port: self.client_port,
            dst_port: SERVER_PORT,
            seq_number: seq,
            ack_number: ack,
            flags: f.flags,
            window_len: f.window,
            urgent_pointer: 0,
            options,
            payload: &payload,
        };
        self.client_packet(&repr)
    }

    /// A segment from the client's 4-tuple with these absolute numbers, no options
    /// and `payload` (any bytes): what a blind attacker, who knows the 4-tuple but
    /// not the sequence space or the timestamps, sends.
    pub fn forge_blind(&self, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: self.client_port,
            dst_port: SERVER_PORT,
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(ack),
            flags,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::new(),
            payload,
        };
        self.client_packet(&repr)
    }

    /// A raw TCP segment (any bytes) from the client's 4-tuple, with its sequence
    /// number moved half the sequence space away from the server's RCV.NXT so that
    /// its payload can never be taken as data. Its ports are the connection's.
    pub fn raw_segment(&self, bytes: &[u8]) -> Vec<u8> {
        let mut segment = bytes.to_vec();
        if segment.len() >= 8 {
            segment[..2].copy_from_slice(&self.client_port.to_be_bytes());
            segment[2..4].copy_from_slice(&SERVER_PORT.to_be_bytes());
            let rcv_nxt = self.server_seen.ack.unwrap_or(SeqNumber(0));
            let far = rcv_nxt + 0x8000_0000u32;
            segment[4..8].copy_from_slice(&far.0.to_be_bytes());
        }
        ip_packet_any(
            self.family.client_addr(),
            self.family.server_addr(),
            IpProtocol::Tcp,
            &segment,
        )
    }

    /// A TCP segment from the client to the server, in the pair's family,
    /// checksums filled.
    fn client_packet(&self, repr: &TcpRepr<'_>) -> Vec<u8> {
        tcp_packet(self.family.client_addr(), self.family.server_addr(), repr)
    }

    /// Drops every packet on the wire towards the client that is not addressed
    /// to it: the server's answers to spoofed sources, which go nowhere.
    pub fn drop_replies_to_others(&mut self) {
        let client = self.family.client_addr();
        self.to_client
            .retain(|packet| ip_dst(packet) == Some(client));
    }

    /// Hands a packet to the server (as if from the network), then drains.
    pub fn inject(&mut self, packet: &[u8]) -> Result<(), String> {
        self.forged += 1;
        self.server.handle_packet(self.now, packet);
        self.drain()
    }

    /// Puts a packet on the wire to the server, behind the client's: it arrives
    /// with them (in a batch, if delivered as one).
    pub fn inject_queued(&mut self, packet: Vec<u8>) {
        // Counted only when queued: a packet over the wire's cap never reaches the server.
        if self.to_server.len() < 10_000 {
            self.forged += 1;
            self.to_server.push_back(packet);
        }
    }
}

/// FNV-1a's offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a of `data`, continuing from `hash` (start from [`FNV_OFFSET`]).
pub fn fnv1a(hash: u64, data: &[u8]) -> u64 {
    data.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// FNV-1a of the first `len` bytes of the pattern from `offset`.
pub fn pattern_hash(offset: u64, len: u64) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut done = 0;
    while done < len {
        let chunk = pattern::slice(offset + done, (len - done).min(1 << 20) as usize);
        hash = fnv1a(hash, chunk);
        done += chunk.len() as u64;
    }
    hash
}

/// Records what a packet a stack sent says, for forging.
fn observe(packet: &[u8], seen: &mut Seen) {
    if let Some((_, _, seg)) = parse_tcp(packet) {
        seen.observe(&seg);
    }
}

/// The address pair of `src` and `dst`.
///
/// # Panics
///
/// When their families differ: a caller's mistake, as no such packet exists.
fn addr_pair(src: IpAddr, dst: IpAddr) -> AddrPair {
    AddrPair::new(src, dst).expect("source and destination of one family")
}

/// `repr` from `src` to `dst` (both IPv4 or both IPv6), checksums filled: a
/// segment from anywhere.
pub fn tcp_packet(src: impl Into<IpAddr>, dst: impl Into<IpAddr>, repr: &TcpRepr<'_>) -> Vec<u8> {
    let (src, dst) = (src.into(), dst.into());
    let mut segment = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut segment[..]),
        &addr_pair(src, dst),
        ChecksumMode::Enabled,
    );
    ip_packet_any(src, dst, IpProtocol::Tcp, &segment)
}

/// A UDP datagram from `src` to `dst` (both IPv4 or both IPv6), checksums filled.
pub fn udp_packet(
    src: impl Into<SocketAddr>,
    dst: impl Into<SocketAddr>,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst) = (src.into(), dst.into());
    let repr = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        payload,
    };
    let mut datagram = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut datagram[..]),
        &addr_pair(src.ip(), dst.ip()),
        ChecksumMode::Enabled,
    );
    ip_packet_any(src.ip(), dst.ip(), IpProtocol::Udp, &datagram)
}

/// `payload` behind an IPv4 header ([`ip_packet`], unfragmented) or an IPv6
/// fixed header ([`ipv6_packet`]), as the addresses' family is.
///
/// # Panics
///
/// When the families of `src` and `dst` differ.
pub fn ip_packet_any(src: IpAddr, dst: IpAddr, protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => ip_packet(src, dst, protocol, payload, 0, false, 0),
        (IpAddr::V6(src), IpAddr::V6(dst)) => ipv6_packet(src, dst, protocol, payload),
        _ => panic!("source and destination of one family"),
    }
}

/// An IPv6 packet carrying `payload` right after the fixed header (no extension
/// headers: the layout of `Ipv6TcpSegment`), cut at 65535 payload bytes.
pub fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    payload: &[u8],
) -> Vec<u8> {
    let payload = payload.get(..65535).unwrap_or(payload);
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: payload.len(),
        hop_limit: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        flow_label: 0,
    };
    let mut packet = vec![0u8; repr.total_len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]));
    packet[repr.buffer_len()..].copy_from_slice(payload);
    packet
}

/// An IPv6 fragment: the fixed header, a Fragment header (RFC 8200 section 4.5;
/// `next_header` the fragmentable part's first header, `frag_offset` in bytes, a
/// multiple of 8) and `payload`, the fragment's data.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//# The Fragment header is identified by a Next Header value of 44 in the
//# immediately preceding header
pub fn ipv6_fragment(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    payload: &[u8],
    ident: u32,
    more_frags: bool,
    frag_offset: u16,
) -> Vec<u8> {
    let repr = Ipv6FragmentRepr {
        next_header,
        frag_offset,
        more_frags,
        ident,
    };
    let mut body = vec![0u8; repr.buffer_len() + payload.len()];
    repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut body[..]));
    body[repr.buffer_len()..].copy_from_slice(payload);
    ipv6_packet(src, dst, IpProtocol::Ipv6Frag, &body)
}

/// The destination address of an IPv4 or IPv6 packet, read from its fixed
/// header (nothing else checked), or `None` for a packet too short or of
/// another version.
pub fn ip_dst(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let octets: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(Ipv4Addr::from(octets).into())
        }
        6 => {
            let octets: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(Ipv6Addr::from(octets).into())
        }
        _ => None,
    }
}

/// An IPv4 packet (or fragment: `more_frags`, `frag_offset` in bytes) carrying
/// `payload`, header checksum filled.
pub fn ip_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    payload: &[u8],
    ident: u16,
    more_frags: bool,
    frag_offset: u16,
) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: payload.len(),
        ttl: 64,
        dscp: 0,
        ecn: Ecn::NotEct,
        ident,
        dont_frag: !more_frags && frag_offset == 0,
        more_frags,
        frag_offset,
        options: Ipv4Options::default(),
    };
    let mut packet = vec![0u8; repr.total_len().min(65535)];
    repr.emit(
        &mut Ipv4Packet::new_unchecked(&mut packet[..]),
        ChecksumMode::Enabled,
    );
    let total = packet.len();
    let hl = total - payload.len().min(total);
    packet[hl..].copy_from_slice(&payload[..total - hl]);
    packet
}

/// The source, destination and segment of an IPv4 or IPv6 TCP packet (checksums
/// not checked; IPv6 with TCP right after the fixed header), or `None`.
pub fn parse_tcp(packet: &[u8]) -> Option<(IpAddr, IpAddr, TcpRepr<'_>)> {
    match packet.first()? >> 4 {
        4 => parse_tcp_v4(packet),
        6 => parse_tcp_v6(packet),
        _ => None,
    }
}

/// [`parse_tcp`] of an IPv4 packet.
fn parse_tcp_v4(packet: &[u8]) -> Option<(IpAddr, IpAddr, TcpRepr<'_>)> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::Offloaded).ok()?;
    if ip_repr.protocol != IpProtocol::Tcp {
        return None;
    }
    let addrs = AddrPair::V4 {
        src: ip_repr.src_addr,
        dst: ip_repr.dst_addr,
    };
    let payload = packet.get(ip.header_len()..usize::from(ip.total_len()))?;
    let tcp = TcpPacket::new_checked(payload).ok()?;
    let seg = TcpRepr::parse(&tcp, &addrs, ChecksumMode::Offloaded).ok()?;
    Some((ip_repr.src_addr.into(), ip_repr.dst_addr.into(), seg))
}

/// [`parse_tcp`] of an IPv6 packet.
fn parse_tcp_v6(packet: &[u8]) -> Option<(IpAddr, IpAddr, TcpRepr<'_>)> {
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    let ip_repr = Ipv6Repr::parse(&ip).ok()?;
    if ip_repr.next_header != IpProtocol::Tcp {
        return None;
    }
    let addrs = AddrPair::V6 {
        src: ip_repr.src_addr,
        dst: ip_repr.dst_addr,
    };
    let payload = packet.get(ip_repr.buffer_len()..ip_repr.total_len())?;
    let tcp = TcpPacket::new_checked(payload).ok()?;
    let seg = TcpRepr::parse(&tcp, &addrs, ChecksumMode::Offloaded).ok()?;
    Some((ip_repr.src_addr.into(), ip_repr.dst_addr.into(), seg))
}

/// Reads the bytes of one step.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn i16(&mut self) -> i16 {
        self.u16() as i16
    }
}

/// What [`run_ops`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Steps run.
    pub steps: u64,
    /// Packets forged or raw.
    pub forged: u64,
    /// Bytes the server read (all checked).
    pub server_read: u64,
    /// Bytes the client read (all checked).
    pub client_read: u64,
    /// Whether the server's connection was still synchronized at the end.
    pub server_alive: bool,
    /// The address family the program ran over.
    pub family: Family,
}

/// Decodes `data` into steps and runs them against a fresh [`LivePair`], checking
/// the invariants after each. Every byte string is a valid program: the first byte
/// picks the address family (its low bit, [`Family::from_byte`]: 0 IPv4, 1 IPv6;
/// an empty input runs over IPv4), then an op byte chooses each step, the bytes
/// after it its arguments (zeros past the end). [`run_ops_in`] runs a program
/// (without that leading byte) over a family given.
///
/// | op % 16 | step | argument bytes |
/// |---|---|---|
/// | (the input's first byte) | the family, by its low bit: 0 IPv4 (10.0.0.2 → 10.0.0.1), 1 IPv6 (fd00::2 → fd00::1) | |
/// | 0, 1 | deliver to the server, to the client (with op bit 4 set: in one [`Stack::handle_packets`] batch) | count (0: all) |
/// | 2 | drop the first packet of a direction (a loss) | direction |
/// | 3 | duplicate it | direction |
/// | 4 | swap the first two (reordering) | direction |
/// | 5 | time jumps: t × 10 ms, or (t - 200) × 10 s from t = 200 | t |
/// | 6, 7 | the client writes, the server writes | length (2 bytes) |
/// | 8, 9 | the server reads, the client reads | length (2 bytes) |
/// | 10, 11, 12 | a forged segment near the live window (op bit 4 set: queued on the wire to the server instead of handed over at once) | 11 bytes |
/// | 13 | a raw segment (sequence number far away; op bit 4 as for 10) | length, bytes |
/// | 14 | the client shuts down writing (FIN) | |
/// | 15 | the server closes | |
pub fn run_ops(data: &[u8]) -> Result<Summary, String> {
    match data.split_first() {
        Some((&family, program)) => run_ops_in(Family::from_byte(family), program),
        None => run_ops_in(Family::V4, data),
    }
}

/// [`run_ops`] over `family`, `program` being the op bytes alone (no leading
/// family byte).
pub fn run_ops_in(family: Family, program: &[u8]) -> Result<Summary, String> {
    let mut pair = LivePair::new_in(family, 1)?;
    let mut r = Reader(program);
    let mut steps = 0;
    while let Some((&op, rest)) = r.0.split_first() {
        r.0 = rest;
        steps += 1;
        step(&mut pair, op, &mut r)?;
        pair.check()?;
    }
    // Whatever is left on the wire arrives; reads collect what was delivered.
    pair.settle(64)?;
    pair.server_read(usize::MAX)?;
    pair.client_read(usize::MAX)?;
    pair.check()?;
    Ok(Summary {
        steps,
        forged: pair.forged,
        server_read: pair.server_read,
        client_read: pair.client_read,
        server_alive: pair.server_state().is_synchronized(),
        family,
    })
}

fn dir(b: u8) -> Dir {
    if b & 1 == 0 {
        Dir::ToServer
    } else {
        Dir::ToClient
    }
}

fn step(pair: &mut LivePair, op: u8, r: &mut Reader<'_>) -> Result<(), String> {
    match op % 16 {
        0 | 1 => {
            let n = match r.u8() {
                0 => usize::MAX,
                n => usize::from(n),
            };
            let dir = if op % 16 == 0 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            if op & 0x10 != 0 {
                pair.deliver_batch(dir, n)
            } else {
                pair.deliver(dir, n)
            }
        }
        2 => {
            pair.queue(dir(r.u8())).pop_front();
            Ok(())
        }
        3 => {
            let q = pair.queue(dir(r.u8()));
            if let Some(p) = q.front().cloned() {
                if q.len() < 10_000 {
                    q.push_front(p);
                }
            }
            Ok(())
        }
        4 => {
            let q = pair.queue(dir(r.u8()));
            if q.len() >= 2 {
                q.swap(0, 1);
            }
            Ok(())
        }
        5 => {
            let t = u64::from(r.u8());
            let d = if t < 200 {
                Duration::from_millis(10 * t)
            } else {
                Duration::from_secs(10 * (t - 199))
            };
            pair.advance(d)
        }
        6 => {
            let n = usize::from(r.u16());
            pair.client_write(n)
        }
        7 => {
            let n = usize::from(r.u16());
            pair.server_write(n)
        }
        8 => {
            let n = usize::from(r.u16());
            pair.server_read(n)
        }
        9 => {
            let n = usize::from(r.u16());
            pair.client_read(n)
        }
        10..=12 => {
            let f = decode_forged(r);
            let packet = pair.forge(&f);
            inject(pair, op, packet)
        }
        13 => {
            let len = usize::from(r.u8());
            let take = len.min(r.0.len());
            let (bytes, rest) = r.0.split_at(take);
            r.0 = rest;
            let packet = pair.raw_segment(bytes);
            inject(pair, op, packet)
        }
        14 => {
            let _ = pair
                .client
                .tcp_shutdown(pair.now, pair.client_conn, layer4::Shutdown::Write);
            pair.drain()
        }
        _ => {
            let _ = pair.server.close(pair.now, pair.server_conn);
            pair.drain()
        }
    }
}

/// A forged or raw packet to the server: handed over now, or (op bit 4) queued
/// on the wire.
fn inject(pair: &mut LivePair, op: u8, packet: Vec<u8>) -> Result<(), String> {
    if op & 0x10 != 0 {
        pair.inject_queued(packet);
        Ok(())
    } else {
        pair.inject(&packet)
    }
}

/// 11 bytes into a [`Forged`]: offsets scaled by a shift so that both the edges of
/// the window and far-away numbers are reached.
fn decode_forged(r: &mut Reader<'_>) -> Forged {
    let shift = r.u8();
    let seq_offset = i64::from(r.i16()) << (shift & 15);
    let ack_offset = i64::from(r.i16()) << (shift >> 4);
    let flags = TcpFlags::from_bits_truncate(u16::from(r.u8()));
    let window = r.u16();
    let len = usize::from(r.u8()) * 8;
    let kind = r.u8();
    let a = r.u8();
    let options = match kind % 6 {
        0 => ForgedOptions::Mimic,
        1 => ForgedOptions::None,
        2 => ForgedOptions::TsvalShift(i32::from(a as i8) << (kind >> 3)),
        3 => ForgedOptions::TsecrShift(i32::from(a as i8) << (kind >> 3)),
        4 => ForgedOptions::Sack([
            (u16::from(a) << 6, u16::from(kind) * 64),
            (u16::from(a) << 7, 1460),
        ]),
        _ => ForgedOptions::SynOptions(u16::from(a) * 8, kind >> 4),
    };
    Forged {
        seq_offset,
        ack_offset,
        flags,
        window,
        len,
        options,
    }
}
