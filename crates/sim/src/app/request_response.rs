//! Request/response over one TCP connection: [`RequestClient`] sends a request of
//! `request_bytes`, [`ResponseServer`] answers each complete request with
//! `response_bytes`, and the client sends the next request `think_time` after a
//! response has arrived in full, `count` times (or until the run ends). Both
//! directions carry the [pattern](super::pattern) at their stream offsets and both
//! sides check what they read.

use super::bulk::CHUNK;
use super::{pattern, AppContext, AppStats, Application};
use layer4::time::{Duration, Instant};
use layer4::{Error, Event, EventKind, ListenOptions, Shutdown, SocketHandle};
use std::net::SocketAddr;

/// Bytes owed on one direction of a connection and the stream offset of the next.
#[derive(Debug, Default)]
struct Writer {
    pending: u64,
}

impl Writer {
    /// Writes as much of what is pending as the stack takes. `Err` on a socket error.
    fn write(
        &mut self,
        cx: &mut AppContext<'_>,
        h: SocketHandle,
        stats: &mut AppStats,
    ) -> Result<(), ()> {
        while self.pending > 0 {
            let chunk = pattern::slice(stats.bytes_sent, self.pending.min(CHUNK as u64) as usize);
            let now = cx.now();
            match cx.stack().tcp_send(now, h, chunk) {
                Ok(0) | Err(Error::WouldBlock) => return Ok(()),
                Ok(n) => {
                    stats.bytes_sent += n as u64;
                    self.pending -= n as u64;
                }
                Err(_) => return Err(()),
            }
        }
        Ok(())
    }
}

/// Reads everything available on `h`, verifying against the pattern; returns the
/// bytes read and whether the stream ended, or `Err` on a socket error.
fn drain(
    cx: &mut AppContext<'_>,
    h: SocketHandle,
    stats: &mut AppStats,
) -> Result<(u64, bool), ()> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let now = cx.now();
        match cx.stack().tcp_recv(now, h, &mut buf) {
            Ok(0) => return Ok((total, true)),
            Ok(n) => {
                stats.integrity_errors += pattern::mismatches(stats.bytes_received, &buf[..n]);
                stats.bytes_received += n as u64;
                stats.last_received_at = Some(now);
                total += n as u64;
            }
            Err(Error::WouldBlock) => return Ok((total, false)),
            Err(_) => return Err(()),
        }
    }
}

/// The client of a request/response flow. See the [module docs](self).
#[derive(Debug)]
pub struct RequestClient {
    server: SocketAddr,
    request_bytes: u64,
    response_bytes: u64,
    think_time: Duration,
    count: Option<u64>,
    socket: Option<SocketHandle>,
    writer: Writer,
    awaiting: u64,
    next_request_at: Option<Instant>,
    done: bool,
    stats: AppStats,
    /// The congestion controller to ask for.
    cc: Option<String>,
    /// Ask for ECN on the SYN.
    ecn: bool,
}

impl RequestClient {
    /// `count` requests (or until the run ends) of `request_bytes` to `server`, each
    /// answered by `response_bytes`, `think_time` apart.
    pub fn new(
        server: SocketAddr,
        request_bytes: u64,
        response_bytes: u64,
        think_time: Duration,
        count: Option<u64>,
    ) -> RequestClient {
        RequestClient {
            server,
            request_bytes,
            response_bytes,
            think_time,
            count,
            socket: None,
            writer: Writer::default(),
            awaiting: 0,
            next_request_at: None,
            done: false,
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

    fn send_request(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket else { return };
        if self.done || self.count.is_some_and(|c| self.stats.messages >= c) {
            return;
        }
        self.writer.pending += self.request_bytes;
        self.awaiting += self.response_bytes;
        if self.writer.write(cx, h, &mut self.stats).is_err() {
            self.fail(cx);
        }
    }

    fn read(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket else { return };
        let (n, eof) = match drain(cx, h, &mut self.stats) {
            Ok(r) => r,
            Err(()) => return self.fail(cx),
        };
        if n > 0 && self.awaiting > 0 {
            self.awaiting = self.awaiting.saturating_sub(n);
            if self.awaiting == 0 {
                self.stats.messages += 1;
                let now = cx.now();
                if self.count.is_some_and(|c| self.stats.messages >= c) {
                    self.stats.completed_at = Some(now);
                    self.done = true;
                    let _ = cx.stack().tcp_shutdown(now, h, Shutdown::Write);
                } else {
                    self.next_request_at = Some(now + self.think_time);
                }
            }
        }
        if eof {
            self.finish(cx);
        }
    }

    fn finish(&mut self, cx: &mut AppContext<'_>) {
        let Some(h) = self.socket.take() else { return };
        let now = cx.now();
        self.stats.final_tcp_info = cx.stack().tcp_info(now, h).ok();
        cx.release(h);
        let _ = cx.stack().close(now, h);
        self.next_request_at = None;
        self.done = true;
    }

    fn fail(&mut self, cx: &mut AppContext<'_>) {
        self.stats.socket_errors += 1;
        self.finish(cx);
    }
}

impl Application for RequestClient {
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
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event) {
        match event.kind {
            // Urgent data also raises Readable; soft errors are advisory.
            EventKind::Urgent | EventKind::SoftError => {}
            EventKind::Connected => self.send_request(cx),
            EventKind::Writable => {
                if let Some(h) = self.socket {
                    if self.writer.write(cx, h, &mut self.stats).is_err() {
                        self.fail(cx);
                    }
                }
            }
            EventKind::Readable | EventKind::Error => self.read(cx),
            EventKind::Closed => self.finish(cx),
            EventKind::Acceptable => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_request_at
    }

    fn handle_timeout(&mut self, cx: &mut AppContext<'_>) {
        if self.next_request_at.is_some_and(|t| t <= cx.now()) {
            self.next_request_at = None;
            self.send_request(cx);
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}

/// One connection of the server: request bytes received toward the next request.
#[derive(Debug)]
struct ServerConn {
    handle: SocketHandle,
    partial: u64,
    writer: Writer,
}

/// The server of a request/response flow. See the [module docs](self).
#[derive(Debug)]
pub struct ResponseServer {
    local: SocketAddr,
    request_bytes: u64,
    response_bytes: u64,
    listener: Option<SocketHandle>,
    conns: Vec<ServerConn>,
    stats: AppStats,
    /// The congestion controller to ask for.
    cc: Option<String>,
}

impl ResponseServer {
    /// Listens on `local`; answers each `request_bytes` with `response_bytes`.
    pub fn new(local: SocketAddr, request_bytes: u64, response_bytes: u64) -> ResponseServer {
        ResponseServer {
            local,
            request_bytes,
            response_bytes,
            listener: None,
            conns: Vec::new(),
            stats: AppStats::default(),
            cc: None,
        }
    }

    /// Runs the data-sending connection(s) with the congestion controller `name`
    /// (`"cubic"`, `"newreno"`, `"bbr"`).
    pub fn congestion_control(mut self, name: &str) -> Self {
        self.cc = Some(name.to_string());
        self
    }

    fn close(&mut self, cx: &mut AppContext<'_>, i: usize) {
        let c = self.conns.swap_remove(i);
        let now = cx.now();
        if self.stats.data_socket == Some(c.handle) {
            self.stats.final_tcp_info = cx.stack().tcp_info(now, c.handle).ok();
        }
        cx.release(c.handle);
        let _ = cx.stack().close(now, c.handle);
    }

    fn service(&mut self, cx: &mut AppContext<'_>, handle: SocketHandle, readable: bool) {
        let Some(i) = self.conns.iter().position(|c| c.handle == handle) else {
            return;
        };
        let mut eof = false;
        if readable {
            match drain(cx, handle, &mut self.stats) {
                Ok((n, end)) => {
                    eof = end;
                    let c = &mut self.conns[i];
                    c.partial += n;
                    if self.request_bytes == 0 {
                        // Zero-byte requests cannot be delimited; answer nothing.
                    } else {
                        while c.partial >= self.request_bytes {
                            c.partial -= self.request_bytes;
                            c.writer.pending += self.response_bytes;
                            self.stats.messages += 1;
                        }
                    }
                }
                Err(()) => {
                    self.stats.socket_errors += 1;
                    return self.close(cx, i);
                }
            }
        }
        let c = &mut self.conns[i];
        if c.writer.write(cx, handle, &mut self.stats).is_err() {
            self.stats.socket_errors += 1;
            return self.close(cx, i);
        }
        if eof {
            // Whatever is still buffered is sent before the FIN.
            self.stats.completed_at = Some(cx.now());
            self.close(cx, i);
        }
    }
}

impl Application for ResponseServer {
    fn start(&mut self, cx: &mut AppContext<'_>) {
        self.stats.started_at = Some(cx.now());
        match cx.stack().tcp_listen(self.local, ListenOptions::default()) {
            Ok(l) => {
                cx.claim(l);
                // The listener passes the choice to the connections it accepts.
                super::set_congestion_control(cx, l, self.cc.as_deref(), &mut self.stats);
                self.listener = Some(l);
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event) {
        match event.kind {
            // Urgent data also raises Readable; soft errors are advisory.
            EventKind::Urgent | EventKind::SoftError => {}
            EventKind::Acceptable => {
                let Some(l) = self.listener else { return };
                while let Ok((h, _)) = cx.stack().tcp_accept(l) {
                    cx.claim(h);
                    if self.stats.data_socket.is_none() {
                        self.stats.data_socket = Some(h);
                    }
                    self.conns.push(ServerConn {
                        handle: h,
                        partial: 0,
                        writer: Writer::default(),
                    });
                }
            }
            EventKind::Readable | EventKind::Error | EventKind::Closed => {
                self.service(cx, event.handle, true)
            }
            EventKind::Writable => self.service(cx, event.handle, false),
            EventKind::Connected => {}
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
