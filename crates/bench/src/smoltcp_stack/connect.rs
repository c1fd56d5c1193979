//! `connect` on smoltcp: open, one byte each way, close; `window` connections at once.
//!
//! Client side (A): each window slot creates a socket, connects, sends one byte when
//! established, reads the server's one-byte reply (the bitwise complement), closes, and
//! is done when the socket reaches TIME-WAIT (or CLOSED). smoltcp keeps TIME-WAIT in the
//! socket itself for 10 s and cannot reuse it earlier, so the slot drops that socket and
//! creates a fresh one for its next connection; the final ACK has gone out by then.
//! Server side (B): `2 × window` sockets listen on one port (a server socket finishes
//! one round after its client, when the client's last ACK arrives, while that client's
//! slot is already connecting again); each reads the byte, answers, closes when the
//! client's FIN arrives, and listens again once its connection is CLOSED. A connection
//! counts when both sides are done.

use std::time::Duration;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::IpAddress;

use super::device::LinkEnd;
use super::{addr_a, addr_b, interface, now, prefix_len, setup_err, socket, SERVER_PORT};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::ConnectConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::results::ConnectResult;

/// Client ports cycle through 49152..=65535; a port comes round again only 16384
/// connections later, long after its previous connection is gone on both sides.
fn client_port(conn: u64) -> u16 {
    49152 + (conn % 16384) as u16
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    AwaitReply,
    Closing,
}

#[derive(Debug)]
struct ClientSlot {
    handle: SocketHandle,
    conn: u64,
    phase: Phase,
}

#[derive(Debug, Default, Clone, Copy)]
struct ServerSlot {
    busy: bool,
}

struct Client<'c> {
    iface: &'c mut Interface,
    sockets: &'c mut SocketSet<'static>,
    buf: usize,
    /// The server's address (IPv4 or IPv6).
    server: IpAddress,
}

impl Client<'_> {
    fn open(&mut self, conn: u64) -> Result<ClientSlot, BenchError> {
        let handle = self.sockets.add(socket(self.buf));
        self.sockets
            .get_mut::<tcp::Socket<'_>>(handle)
            .connect(
                self.iface.context(),
                (self.server, SERVER_PORT),
                client_port(conn),
            )
            .map_err(|e| setup_err("connect", e))?;
        Ok(ClientSlot {
            handle,
            conn,
            phase: Phase::Connecting,
        })
    }

    /// Advance one slot; returns whether its connection is finished.
    fn step(&mut self, slot: &mut ClientSlot) -> Result<bool, BenchError> {
        let fail = |why: String| BenchError::ConnectionFailed {
            conn: slot.conn,
            why,
        };
        let s = self.sockets.get_mut::<tcp::Socket<'_>>(slot.handle);
        match slot.phase {
            Phase::Connecting => {
                if s.state() == State::Closed {
                    return Err(fail("client: connection refused or reset".into()));
                }
                if s.can_send() {
                    s.send_slice(&[slot.conn as u8])
                        .map_err(|e| fail(format!("client send: {e}")))?;
                    slot.phase = Phase::AwaitReply;
                }
            }
            Phase::AwaitReply => {
                if s.can_recv() {
                    let mut b = [0u8; 1];
                    s.recv_slice(&mut b)
                        .map_err(|e| fail(format!("client recv: {e}")))?;
                    if b[0] != !(slot.conn as u8) {
                        return Err(fail(format!("client got reply {:#04x}", b[0])));
                    }
                    s.close();
                    slot.phase = Phase::Closing;
                } else if !s.may_recv() {
                    return Err(fail(format!("client: {} before the reply", s.state())));
                }
            }
            Phase::Closing => {
                if matches!(s.state(), State::TimeWait | State::Closed) {
                    self.sockets.remove(slot.handle);
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// Advance one server socket; returns whether it just finished a connection.
fn server_step(s: &mut tcp::Socket<'_>, slot: &mut ServerSlot) -> Result<bool, BenchError> {
    let fail = |why: String| BenchError::ConnectionFailed { conn: 0, why };
    match s.state() {
        State::Listen => Ok(false),
        State::Closed => {
            s.listen(SERVER_PORT).map_err(|e| setup_err("listen", e))?;
            Ok(std::mem::take(&mut slot.busy))
        }
        _ => {
            slot.busy = true;
            if s.can_recv() {
                let mut b = [0u8; 1];
                s.recv_slice(&mut b)
                    .map_err(|e| fail(format!("server recv: {e}")))?;
                s.send_slice(&[!b[0]])
                    .map_err(|e| fail(format!("server send: {e}")))?;
            }
            if s.state() == State::CloseWait && !s.may_recv() {
                s.close();
            }
            Ok(false)
        }
    }
}

pub(super) fn run(cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let client_ip = addr_a(cfg.family)?;
    let server_ip = addr_b(cfg.family)?;
    let prefix = prefix_len(cfg.family);
    let clock = Clock::new(cfg.clock_step);
    let mut link = Link::new(cfg.mtu);
    let mut iface_a = interface(
        &mut LinkEnd::a(&mut link),
        client_ip,
        prefix,
        0x1234_5678,
        &clock,
    );
    let mut iface_b = interface(
        &mut LinkEnd::b(&mut link),
        server_ip,
        prefix,
        0x8765_4321,
        &clock,
    );
    let mut sockets_a = SocketSet::new(Vec::new());
    let mut sockets_b = SocketSet::new(Vec::new());

    let mut servers = Vec::with_capacity(2 * window);
    for _ in 0..2 * window {
        let h = sockets_b.add(socket(cfg.buf));
        sockets_b
            .get_mut::<tcp::Socket<'_>>(h)
            .listen(SERVER_PORT)
            .map_err(|e| setup_err("listen", e))?;
        servers.push((h, ServerSlot::default()));
    }

    let start = Stopwatch::start();
    let mut started = 0u64;
    let mut client_done = 0u64;
    let mut server_done = 0u64;
    let mut slots: Vec<Option<ClientSlot>> = Vec::with_capacity(window);
    {
        let mut client = Client {
            iface: &mut iface_a,
            sockets: &mut sockets_a,
            buf: cfg.buf,
            server: server_ip,
        };
        while slots.len() < window && started < cfg.conns {
            slots.push(Some(client.open(started)?));
            started += 1;
        }
    }
    let mut guard = StallGuard::new("connect", Duration::from_secs(20));

    while client_done < cfg.conns || server_done < cfg.conns {
        let elapsed = clock.elapsed();
        let t = now(&clock);
        {
            let mut client = Client {
                iface: &mut iface_a,
                sockets: &mut sockets_a,
                buf: cfg.buf,
                server: server_ip,
            };
            for entry in slots.iter_mut() {
                let Some(slot) = entry else { continue };
                if client.step(slot)? {
                    client_done += 1;
                    *entry = if started < cfg.conns {
                        started += 1;
                        Some(client.open(started - 1)?)
                    } else {
                        None
                    };
                }
            }
        }
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        for (h, slot) in servers.iter_mut() {
            if server_step(sockets_b.get_mut::<tcp::Socket<'_>>(*h), slot)? {
                server_done += 1;
            }
        }
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        guard.check(client_done + server_done, elapsed)?;
    }
    let (elapsed, cpu) = start.stop();
    Ok(ConnectResult {
        conns: client_done,
        elapsed,
        cpu,
        packets: link.a_to_b.packets() + link.b_to_a.packets(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_connections_complete_on_both_sides() {
        let cfg = ConnectConfig {
            conns: 300,
            window: 1,
            ..ConnectConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 300);
        // SYN, SYN-ACK, ACK, two data segments, two FINs, final ACK: at least 7.
        assert!(r.packets >= 300 * 7, "{} packets", r.packets);
    }

    #[test]
    #[cfg(feature = "smoltcp-ipv6")]
    fn sequential_ipv6_connections_complete_on_both_sides() {
        let cfg = ConnectConfig {
            conns: 300,
            window: 1,
            family: crate::config::IpFamily::V6,
            ..ConnectConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 300);
        assert!(r.packets >= 300 * 7, "{} packets", r.packets);
    }

    #[test]
    #[cfg(feature = "smoltcp-ipv6")]
    fn windowed_ipv6_connections_wrap_the_port_range() {
        let cfg = ConnectConfig {
            conns: 20_000,
            window: 32,
            family: crate::config::IpFamily::V6,
            ..ConnectConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().conns, 20_000);
    }

    #[test]
    #[cfg(not(feature = "smoltcp-ipv6"))]
    fn ipv6_without_the_feature_is_unavailable_not_a_failure() {
        let cfg = ConnectConfig {
            conns: 1,
            family: crate::config::IpFamily::V6,
            ..ConnectConfig::default()
        };
        assert!(matches!(run(&cfg), Err(BenchError::Unavailable(_))));
    }

    #[test]
    fn windowed_connections_wrap_the_port_range() {
        let cfg = ConnectConfig {
            conns: 20_000,
            window: 32,
            ..ConnectConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().conns, 20_000);
    }
}
