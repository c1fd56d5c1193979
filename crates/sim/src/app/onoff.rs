//! [`OnOffSender`]: a TCP client that, on one connection, offers data as fast as the
//! connection takes it for `on`, offers nothing for `off`, and repeats until the
//! run ends. Data already in the send buffer when an `on` period ends still drains
//! during the `off` period (as with a real application that stops writing).

use super::bulk::CHUNK;
use super::{pattern, AppContext, AppStats, Application};
use layer4::time::{Duration, Instant};
use layer4::{Error, Event, EventKind, SocketHandle};
use std::net::SocketAddr;

/// An on/off TCP sender. See the [module docs](self).
#[derive(Debug)]
pub struct OnOffSender {
    server: SocketAddr,
    on: Duration,
    off: Duration,
    socket: Option<SocketHandle>,
    connected: bool,
    sending: bool,
    /// When the current period ends.
    switch_at: Option<Instant>,
    stats: AppStats,
    /// The congestion controller to ask for.
    cc: Option<String>,
    /// Ask for ECN on the SYN.
    ecn: bool,
}

impl OnOffSender {
    /// Alternates `on` sending and `off` silence toward `server`.
    pub fn new(server: SocketAddr, on: Duration, off: Duration) -> OnOffSender {
        OnOffSender {
            server,
            on,
            off,
            socket: None,
            connected: false,
            sending: false,
            switch_at: None,
            stats: AppStats::default(),
            cc: None,
            ecn: false,
        }
    }

    /// Runs the data-sending connection(s) with the congestion controller `name`
    /// (`"cubic"`, `"newreno"`, `"bbr"`).
    pub fn congestion_control(mut self, name: &str) -> Self {
        self.cc = Some(name.to_string());
        self
    }

    /// Asks for ECN (RFC 3168) on the connection's SYN when `ecn`.
    pub fn ecn(mut self, ecn: bool) -> Self {
        self.ecn = ecn;
        self
    }

    fn fill(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket else { return };
        while self.sending && self.connected {
            let chunk = pattern::slice(self.stats.bytes_sent, CHUNK);
            let now = cx.now();
            match cx.stack().tcp_send(now, h, chunk) {
                Ok(0) | Err(Error::WouldBlock) => break,
                Ok(n) => self.stats.bytes_sent += n as u64,
                Err(_) => {
                    self.fail(cx);
                    break;
                }
            }
        }
    }

    fn fail(&mut self, cx: &mut AppContext<'_>) {
        self.stats.socket_errors += 1;
        let Some(h) = self.socket.take() else { return };
        let now = cx.now();
        self.stats.final_tcp_info = cx.stack().tcp_info(now, h).ok();
        cx.release(h);
        let _ = cx.stack().close(now, h);
        self.switch_at = None;
        self.sending = false;
    }
}

impl Application for OnOffSender {
    fn start(&mut self, cx: &mut AppContext<'_>) {
        let now = cx.now();
        self.stats.started_at = Some(now);
        match cx.stack().tcp_connect(now, self.server, None) {
            Ok(h) => {
                cx.claim(h);
                super::set_congestion_control(cx, h, self.cc.as_deref(), &mut self.stats);
                super::set_ecn(cx, h, self.ecn, &mut self.stats);
                self.socket = Some(h);
                self.stats.data_socket = Some(h);
                self.sending = true;
                self.switch_at = Some(now + self.on);
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event) {
        match event.kind {
            // Urgent data also raises Readable; soft errors are advisory.
            EventKind::Urgent | EventKind::SoftError => {}
            EventKind::Connected => {
                self.connected = true;
                self.fill(cx);
            }
            EventKind::Writable => self.fill(cx),
            EventKind::Readable | EventKind::Error | EventKind::Closed => {
                let Some(h) = self.socket else { return };
                let mut buf = [0u8; 2048];
                loop {
                    let now = cx.now();
                    match cx.stack().tcp_recv(now, h, &mut buf) {
                        Ok(0) => return self.fail(cx),
                        Ok(n) => self.stats.bytes_received += n as u64,
                        Err(Error::WouldBlock) => return,
                        Err(_) => return self.fail(cx),
                    }
                }
            }
            EventKind::Acceptable => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.switch_at
    }

    fn handle_timeout(&mut self, cx: &mut AppContext<'_>) {
        let now = cx.now();
        while let Some(t) = self.switch_at.filter(|t| *t <= now) {
            self.sending = !self.sending;
            let period = if self.sending { self.on } else { self.off };
            // A zero-length cycle would never end: stay in the current state.
            if period.is_zero() && (self.on + self.off).is_zero() {
                self.switch_at = None;
                break;
            }
            self.switch_at = Some(t + period);
        }
        self.fill(cx);
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
