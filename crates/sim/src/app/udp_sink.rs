//! [`UdpSink`]: receives the datagrams of a [`UdpCbrSender`](super::UdpCbrSender),
//! counts them and checks each against the pattern at the offset its sequence
//! number gives.

use super::{pattern, AppContext, AppStats, Application};
use layer4::{Error, Event, SocketHandle};
use std::net::SocketAddr;

/// A UDP sink. See the [module docs](self).
#[derive(Debug)]
pub struct UdpSink {
    local: SocketAddr,
    socket: Option<SocketHandle>,
    buf: Vec<u8>,
    stats: AppStats,
}

impl UdpSink {
    /// A sink bound to `local`.
    pub fn new(local: SocketAddr) -> UdpSink {
        UdpSink {
            local,
            socket: None,
            buf: Vec::new(),
            stats: AppStats::default(),
        }
    }
}

impl Application for UdpSink {
    fn start(&mut self, cx: &mut AppContext<'_>) {
        self.stats.started_at = Some(cx.now());
        match cx.stack().udp_bind(self.local) {
            Ok(h) => {
                cx.claim(h);
                self.socket = Some(h);
            }
            Err(_) => self.stats.socket_errors += 1,
        }
    }

    fn handle_event(&mut self, cx: &mut AppContext<'_>, _event: Event) {
        let Some(h) = self.socket else { return };
        if self.buf.is_empty() {
            self.buf = vec![0u8; 65536];
        }
        loop {
            match cx.stack().udp_recv_from(h, &mut self.buf) {
                Ok((n, _)) => {
                    let data = &self.buf[..n];
                    let bad = if n >= 8 {
                        let mut k = [0u8; 8];
                        k.copy_from_slice(&data[..8]);
                        let base = u64::from_be_bytes(k).wrapping_mul(n as u64);
                        pattern::mismatches(base.wrapping_add(8), &data[8..])
                    } else {
                        0
                    };
                    self.stats.integrity_errors += bad;
                    self.stats.bytes_received += n as u64;
                    self.stats.messages += 1;
                    self.stats.last_received_at = Some(cx.now());
                }
                Err(Error::WouldBlock) => break,
                Err(_) => self.stats.socket_errors += 1,
            }
        }
    }

    fn stats(&self) -> AppStats {
        self.stats.clone()
    }
}
