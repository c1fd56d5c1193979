//! [`TcpSink`]: a TCP server that accepts connections, reads everything, checks it
//! against the [pattern](super::pattern) and counts it, and closes at end of stream.

use super::{pattern, AppContext, AppStats, Application};
use layer4::{Error, Event, EventKind, ListenOptions, SocketHandle};
use std::net::SocketAddr;

/// A connection being read and the stream offset of its next byte.
#[derive(Debug)]
struct Conn {
    handle: SocketHandle,
    offset: u64,
}

/// A TCP sink. See the [module docs](self).
#[derive(Debug)]
pub struct TcpSink {
    local: SocketAddr,
    listener: Option<SocketHandle>,
    conns: Vec<Conn>,
    buf: Vec<u8>,
    stats: AppStats,
}

impl TcpSink {
    /// A sink listening on `local`.
    pub fn new(local: SocketAddr) -> TcpSink {
        TcpSink {
            local,
            listener: None,
            conns: Vec::new(),
            buf: Vec::new(),
            stats: AppStats::default(),
        }
    }

    fn accept(&mut self, cx: &mut AppContext<'_>) {
        let Some(l) = self.listener else { return };
        while let Ok((h, _)) = cx.stack().tcp_accept(l) {
            cx.claim(h);
            self.conns.push(Conn {
                handle: h,
                offset: 0,
            });
        }
    }

    fn read(&mut self, cx: &mut AppContext<'_>, handle: SocketHandle) {
        let Some(i) = self.conns.iter().position(|c| c.handle == handle) else {
            return;
        };
        if self.buf.is_empty() {
            self.buf = vec![0u8; 64 * 1024];
        }
        loop {
            let now = cx.now();
            match cx.stack().tcp_recv(now, handle, &mut self.buf) {
                Ok(0) => {
                    self.stats.completed_at = Some(now);
                    self.close(cx, i);
                    return;
                }
                Ok(n) => {
                    let conn = &mut self.conns[i];
                    self.stats.integrity_errors += pattern::mismatches(conn.offset, &self.buf[..n]);
                    conn.offset += n as u64;
                    self.stats.bytes_received += n as u64;
                    self.stats.last_received_at = Some(now);
                }
                Err(Error::WouldBlock) => return,
                Err(_) => {
                    self.stats.socket_errors += 1;
                    self.close(cx, i);
                    return;
                }
            }
        }
    }

    fn close(&mut self, cx: &mut AppContext<'_>, i: usize) {
        let conn = self.conns.swap_remove(i);
        cx.release(conn.handle);
        let now = cx.now();
        let _ = cx.stack().close(now, conn.handle);
    }
}

impl Application for TcpSink {
    fn start(&mut self, cx: &mut AppContext<'_>) {
        self.stats.started_at = Some(cx.now());
        match cx.stack().tcp_listen(self.local, ListenOptions::default()) {
            Ok(l) => {
                cx.claim(l);
                self.listener = Some(l);
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, event: Event) {
        match event.kind {
            // Urgent data also raises Readable; soft errors are advisory.
            EventKind::Urgent | EventKind::SoftError => {}
            EventKind::Acceptable => self.accept(cx),
            EventKind::Readable | EventKind::Error | EventKind::Closed => {
                self.read(cx, event.handle)
            }
            EventKind::Connected | EventKind::Writable => {}
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
