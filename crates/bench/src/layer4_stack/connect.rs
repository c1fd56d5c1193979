//! `connect` on layer4: open, one byte each way, close; `window` connections at once.
//!
//! Client side (A): each window slot connects from its own 4-tuple ([`client_local`]:
//! several client addresses, so that TIME-WAIT, which stays in the stack, never blocks
//! a tuple), sends one byte when established, reads the server's one-byte reply (the
//! bitwise complement), shuts down writing (FIN), and is done when the connection
//! reaches TIME-WAIT (or CLOSED); then it closes the handle (the TIME-WAIT goes on in
//! the stack) and the slot opens the next connection. Server side (B): one listener;
//! every round accepts what is queued, reads the byte, answers, shuts down writing
//! when the client's FIN arrives, and is done (closes the handle) when the connection
//! is CLOSED. A connection counts when both sides are done.

use core::net::SocketAddr;
use std::time::Duration;

use layer4::{Error, ListenOptions, Shutdown, SocketHandle, Stack, State};

use super::{
    client_addr, client_local, failed, now, pump, server_addr, server_endpoint, service, setup_err,
    stack, PORTS_PER_ADDR,
};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::{ConnectConfig, IpFamily};
use crate::error::BenchError;
use crate::link::Link;
use crate::results::ConnectResult;

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

/// The server's endpoint and the family of the client's addresses.
#[derive(Debug, Clone, Copy)]
struct Target {
    server: SocketAddr,
    family: IpFamily,
}

fn open(
    a: &mut Stack,
    t: layer4::Instant,
    to: Target,
    conn: u64,
) -> Result<ClientSlot, BenchError> {
    let handle = a
        .tcp_connect(t, to.server, Some(client_local(to.family, conn)))
        .map_err(|e| setup_err("connect", e))?;
    Ok(ClientSlot {
        handle,
        conn,
        phase: Phase::Connecting,
    })
}

/// Why connection `conn` (0: a server connection) failed, as `why` words it.
/// Out of line and cold, one copy per message: a run that goes well never
/// formats one, and the formatting code stays out of the loop's hot lines.
#[cold]
#[inline(never)]
fn fail_with(conn: u64, why: impl FnOnce() -> String) -> BenchError {
    failed(conn, why())
}

/// A stack call `what` of connection `conn` that returned `e`.
#[cold]
#[inline(never)]
fn call_failed(conn: u64, what: &str, e: Error) -> BenchError {
    failed(conn, format!("{what}: {e}"))
}

/// Advance one client slot; returns whether its connection is finished.
fn client_step(
    a: &mut Stack,
    t: layer4::Instant,
    slot: &mut ClientSlot,
) -> Result<bool, BenchError> {
    let conn = slot.conn;
    let h = slot.handle;
    let state = a
        .tcp_state(h)
        .map_err(|e| call_failed(conn, "client state", e))?;
    match slot.phase {
        Phase::Connecting => match state {
            State::SynSent => {}
            State::Established => {
                a.tcp_send(t, h, &[conn as u8])
                    .map_err(|e| call_failed(conn, "client send", e))?;
                slot.phase = Phase::AwaitReply;
            }
            s => {
                return Err(fail_with(conn, || {
                    format!("client in {s:?} while connecting")
                }))
            }
        },
        Phase::AwaitReply => {
            let mut b = [0u8; 1];
            match a.tcp_recv(t, h, &mut b) {
                Ok(1) => {
                    if b[0] != !(conn as u8) {
                        return Err(fail_with(conn, || {
                            format!("client got reply {:#04x}", b[0])
                        }));
                    }
                    a.tcp_shutdown(t, h, Shutdown::Write)
                        .map_err(|e| call_failed(conn, "client shutdown", e))?;
                    slot.phase = Phase::Closing;
                }
                Err(Error::WouldBlock) => {}
                Ok(_) => {
                    return Err(fail_with(conn, || {
                        format!("client: end of stream in {state:?}")
                    }))
                }
                Err(e) => return Err(call_failed(conn, "client recv", e)),
            }
        }
        Phase::Closing => {
            if matches!(state, State::TimeWait | State::Closed) {
                a.close(t, h)
                    .map_err(|e| call_failed(conn, "client close", e))?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Advance one server connection; returns whether it is finished.
fn server_step(
    b: &mut Stack,
    t: layer4::Instant,
    h: SocketHandle,
    answered: &mut bool,
) -> Result<bool, BenchError> {
    let state = b
        .tcp_state(h)
        .map_err(|e| call_failed(0, "server state", e))?;
    if state == State::Closed {
        b.close(t, h)
            .map_err(|e| call_failed(0, "server close", e))?;
        return Ok(true);
    }
    let mut buf = [0u8; 1];
    loop {
        match b.tcp_recv(t, h, &mut buf) {
            Ok(0) => {
                if state == State::CloseWait {
                    b.tcp_shutdown(t, h, Shutdown::Write)
                        .map_err(|e| call_failed(0, "server shutdown", e))?;
                }
                return Ok(false);
            }
            Ok(_) => {
                if *answered {
                    return Err(fail_with(0, || "server got a second byte".into()));
                }
                *answered = true;
                b.tcp_send(t, h, &[!buf[0]])
                    .map_err(|e| call_failed(0, "server send", e))?;
            }
            Err(Error::WouldBlock) => return Ok(false),
            Err(e) => return Err(call_failed(0, "server recv", e)),
        }
    }
}

pub(super) fn run(cfg: &ConnectConfig) -> Result<ConnectResult, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let clock = Clock::new(cfg.clock_step);
    let mut link = Link::new(cfg.mtu);
    let family = cfg.family;
    let to = Target {
        server: server_endpoint(family),
        family,
    };
    let addrs: Vec<_> = (0..cfg.conns.div_ceil(PORTS_PER_ADDR).max(1))
        .map(|i| client_addr(family, i))
        .collect();
    let mut a = stack(&addrs, 0x1234_5678, cfg.mtu, cfg.buf)?;
    let mut b = stack(&[server_addr(family)], 0x8765_4321, cfg.mtu, cfg.buf)?;
    let listener = b
        .tcp_listen(to.server, ListenOptions::default())
        .map_err(|e| setup_err("listen", e))?;

    let start = Stopwatch::start();
    let mut started = 0u64;
    let mut client_done = 0u64;
    let mut server_done = 0u64;
    let mut slots: Vec<Option<ClientSlot>> = Vec::with_capacity(window);
    let t = now(&clock);
    while slots.len() < window && started < cfg.conns {
        slots.push(Some(open(&mut a, t, to, started)?));
        started += 1;
    }
    let mut servers: Vec<(SocketHandle, bool)> = Vec::with_capacity(2 * window);
    let mut guard = StallGuard::new("connect", Duration::from_secs(20));

    while client_done < cfg.conns || server_done < cfg.conns {
        let elapsed = clock.elapsed();
        let t = now(&clock);
        for entry in slots.iter_mut() {
            let Some(slot) = entry else { continue };
            if client_step(&mut a, t, slot)? {
                client_done += 1;
                *entry = if started < cfg.conns {
                    started += 1;
                    Some(open(&mut a, t, to, started - 1)?)
                } else {
                    None
                };
            }
        }
        pump(t, &mut a, &mut link.a_to_b, &mut b);
        loop {
            match b.tcp_accept(listener) {
                Ok((h, _)) => servers.push((h, false)),
                Err(Error::WouldBlock) => break,
                Err(e) => return Err(call_failed(0, "accept", e)),
            }
        }
        let mut i = 0;
        while i < servers.len() {
            let (h, answered) = &mut servers[i];
            if server_step(&mut b, t, *h, answered)? {
                server_done += 1;
                servers.swap_remove(i);
            } else {
                i += 1;
            }
        }
        pump(t, &mut b, &mut link.b_to_a, &mut a);
        service(t, &mut a);
        service(t, &mut b);
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
        assert!(r.packets >= 300 * 7, "{} packets", r.packets);
    }

    #[test]
    fn sequential_ipv6_connections_complete_on_both_sides() {
        let cfg = ConnectConfig {
            conns: 300,
            window: 1,
            family: IpFamily::V6,
            ..ConnectConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 300);
        assert!(r.packets >= 300 * 7, "{} packets", r.packets);
    }

    #[test]
    fn windowed_ipv6_connections_span_client_addresses() {
        let cfg = ConnectConfig {
            conns: 70_000,
            window: 32,
            family: IpFamily::V6,
            ..ConnectConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().conns, 70_000);
    }

    #[test]
    fn windowed_connections_span_client_addresses() {
        let cfg = ConnectConfig {
            conns: 70_000,
            window: 32,
            ..ConnectConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().conns, 70_000);
    }
}
