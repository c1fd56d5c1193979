//! [`BulkSender`]: a TCP client that connects, sends the [pattern](super::pattern)
//! for a number of bytes or for a time (whichever ends first), shuts down its
//! sending side and closes once the peer has closed too.

use super::{pattern, AppContext, AppStats, Application};
use layer4::time::{Duration, Instant};
use layer4::{Error, Event, EventKind, Shutdown, SocketHandle};
use std::net::SocketAddr;

/// The most bytes offered to `tcp_send` at once.
pub(crate) const CHUNK: usize = 64 * 1024;

/// A TCP bulk sender. See the [module docs](self).
#[derive(Debug)]
pub struct BulkSender {
    server: SocketAddr,
    bytes: Option<u64>,
    duration: Option<Duration>,
    socket: Option<SocketHandle>,
    stop_at: Option<Instant>,
    write_closed: bool,
    stats: AppStats,
    /// The congestion controller to ask for.
    cc: Option<String>,
    /// Ask for ECN on the SYN.
    ecn: bool,
}

impl BulkSender {
    /// Sends `bytes` (or for `duration`; both: whichever ends first; neither: until
    /// the run ends) to `server`.
    pub fn new(server: SocketAddr, bytes: Option<u64>, duration: Option<Duration>) -> BulkSender {
        BulkSender {
            server,
            bytes,
            duration,
            socket: None,
            stop_at: None,
            write_closed: false,
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
        while !self.write_closed {
            let remaining = match self.bytes {
                Some(b) => b.saturating_sub(self.stats.bytes_sent),
                None => u64::MAX,
            };
            if remaining == 0 {
                self.close_write(cx);
                break;
            }
            let chunk = pattern::slice(self.stats.bytes_sent, remaining.min(CHUNK as u64) as usize);
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

    fn close_write(&mut self, cx: &mut AppContext<'_>) {
        self.write_closed = true;
        self.stop_at = None;
        if let Some(h) = self.socket {
            let now = cx.now();
            let _ = cx.stack().tcp_shutdown(now, h, Shutdown::Write);
        }
    }

    /// Snapshots `tcp_info`, releases and closes the socket.
    fn finish(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket.take() else { return };
        let now = cx.now();
        self.stats.final_tcp_info = cx.stack().tcp_info(now, h).ok();
        cx.release(h);
        let _ = cx.stack().close(now, h);
        self.write_closed = true;
        self.stop_at = None;
    }

    fn fail(&mut self, cx: &mut AppContext<'_>) {
        self.stats.socket_errors += 1;
        self.finish(cx);
    }

    fn read(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket else { return };
        let mut buf = [0u8; 2048];
        loop {
            let now = cx.now();
            match cx.stack().tcp_recv(now, h, &mut buf) {
                Ok(0) => {
                    // The peer closed after reading everything: the transfer is done.
                    if self.write_closed {
                        self.stats.completed_at = Some(now);
                    }
                    self.finish(cx);
                    return;
                }
                Ok(n) => self.stats.bytes_received += n as u64,
                Err(Error::WouldBlock) => return,
                Err(_) => {
                    self.fail(cx);
                    return;
                }
            }
        }
    }
}

impl Application for BulkSender {
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
                self.stop_at = self.duration.map(|d| now + d);
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event) {
        match event.kind {
            // Urgent data also raises Readable; soft errors are advisory.
            EventKind::Urgent | EventKind::SoftError => {}
            EventKind::Connected | EventKind::Writable => self.fill(cx),
            EventKind::Readable => self.read(cx),
            EventKind::Error => self.read(cx),
            EventKind::Closed => self.finish(cx),
            EventKind::Acceptable => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.stop_at
    }

    fn handle_timeout(&mut self, cx: &mut AppContext<'_>) {
        if self.stop_at.is_some_and(|t| t <= cx.now()) {
            self.close_write(cx);
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
