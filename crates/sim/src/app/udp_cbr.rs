//! [`UdpCbrSender`]: UDP datagrams of a fixed payload size at a constant bit rate.
//! Datagram `k` leaves at `start + k · packet_bytes · 8 / rate` (computed from `k`,
//! so the schedule does not drift) and carries `k` in its first 8 bytes (big
//! endian) followed by the [pattern](super::pattern) at offset `k · packet_bytes + 8`;
//! [`UdpSink`](super::UdpSink) checks both.

use super::{pattern, AppContext, AppStats, Application};
use layer4::time::{Duration, Instant};
use layer4::{Error, Event, SocketHandle};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A constant-bit-rate UDP sender. See the [module docs](self).
#[derive(Debug)]
pub struct UdpCbrSender {
    server: SocketAddr,
    rate_bps: u64,
    packet_bytes: usize,
    duration: Option<Duration>,
    socket: Option<SocketHandle>,
    start: Instant,
    next: u64,
    next_at: Option<Instant>,
    stop_at: Option<Instant>,
    buf: Vec<u8>,
    /// Datagrams the stack refused (its send queue was full).
    pub send_drops: u64,
    stats: AppStats,
}

impl UdpCbrSender {
    /// Sends `packet_bytes`-byte datagrams to `server` at `rate_bps` for `duration`
    /// (or until the run ends).
    pub fn new(
        server: SocketAddr,
        rate_bps: u64,
        packet_bytes: usize,
        duration: Option<Duration>,
    ) -> UdpCbrSender {
        UdpCbrSender {
            server,
            rate_bps,
            packet_bytes,
            duration,
            socket: None,
            start: Instant::ZERO,
            next: 0,
            next_at: None,
            stop_at: None,
            buf: Vec::new(),
            send_drops: 0,
            stats: AppStats::default(),
        }
    }

    /// When datagram `k` is due.
    fn due(&self, k: u64) -> Option<Instant> {
        if self.rate_bps == 0 {
            return None;
        }
        let bits = u128::from(k) * self.packet_bytes as u128 * 8;
        let ns = bits * 1_000_000_000 / u128::from(self.rate_bps);
        let at = self
            .start
            .checked_add(Duration::from_nanos(u64::try_from(ns).ok()?))?;
        match self.stop_at {
            Some(stop) if at >= stop => None,
            _ => Some(at),
        }
    }

    fn send_one(&mut self, cx: &mut AppContext<'_>, h: SocketHandle, k: u64) {
        let len = self.packet_bytes;
        self.buf.resize(len, 0);
        let base = k * len as u64;
        if len >= 8 {
            self.buf[..8].copy_from_slice(&k.to_be_bytes());
            pattern::fill(base + 8, &mut self.buf[8..]);
        } else {
            pattern::fill(base, &mut self.buf);
        }
        match cx.stack().udp_send(h, &self.buf) {
            Ok(n) => self.stats.bytes_sent += n as u64,
            Err(Error::WouldBlock) => self.send_drops += 1,
            Err(_) => self.stats.socket_errors += 1,
        }
    }
}

impl Application for UdpCbrSender {
    fn start(&mut self, cx: &mut AppContext<'_>) {
        let now = cx.now();
        self.stats.started_at = Some(now);
        self.start = now;
        self.stop_at = self.duration.map(|d| now + d);
        let any = match self.server.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let stack = cx.stack();
        let h = match stack.udp_bind(SocketAddr::new(any, 0)) {
            Ok(h) => h,
            Err(_) => {
                self.stats.socket_errors += 1;
                return;
            }
        };
        if stack.udp_connect(h, self.server).is_err() {
            self.stats.socket_errors += 1;
            let _ = stack.close(now, h);
            return;
        }
        cx.claim(h);
        self.socket = Some(h);
        self.next_at = self.due(0);
        if self.next_at.is_none() {
            self.stats.completed_at = Some(now);
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, _event: Event) {
        // Errors (ICMP port unreachable on a connected socket) are counted; received
        // datagrams are discarded.
        let Some(h) = self.socket else { return };
        let mut buf = [0u8; 64];
        loop {
            match cx.stack().udp_recv_from(h, &mut buf) {
                Ok(_) => {}
                Err(Error::WouldBlock) => break,
                Err(_) => self.stats.socket_errors += 1,
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    fn handle_timeout(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket else { return };
        let now = cx.now();
        while let Some(at) = self.next_at.filter(|t| *t <= now) {
            let _ = at;
            self.send_one(cx, h, self.next);
            self.next += 1;
            self.next_at = self.due(self.next);
        }
        if self.next_at.is_none() && self.stats.completed_at.is_none() {
            self.stats.completed_at = Some(now);
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
