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
    at, client_addr, client_local, deliver, drain, failed, server_addr, server_endpoint, service,
    setup_err, stack, PORTS_PER_ADDR,
};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::{ConnectConfig, IpFamily};
use crate::error::BenchError;
use crate::link::Link;
use crate::replay::{self, Recording, Tap};
use crate::results::{ConnectResult, SideRun};

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

/// Advance one client slot; returns whether its connection is finished. Inlined
/// (as [`Clients::step`]): one call per connection per round.
#[inline(always)]
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

/// Advance one server connection; returns whether it is finished. Inlined, as
/// [`client_step`].
#[inline(always)]
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
    let mut result = run_with(cfg, &mut ())?;
    if cfg.sides {
        let mut rec = Recording::default();
        run_with(cfg, &mut rec)?;
        result.server_alone = Some(server_alone(cfg, &rec)?);
        result.client_alone = Some(client_alone(cfg, &rec)?);
    }
    Ok(result)
}

/// The client's stack: an address per [`PORTS_PER_ADDR`] connections.
fn client_stack(cfg: &ConnectConfig) -> Result<Stack, BenchError> {
    let addrs: Vec<_> = (0..cfg.conns.div_ceil(PORTS_PER_ADDR).max(1))
        .map(|i| client_addr(cfg.family, i))
        .collect();
    stack(&addrs, 0x1234_5678, cfg.mtu, cfg.buf)
}

/// The server's stack and its listener.
fn server_stack(cfg: &ConnectConfig) -> Result<(Stack, SocketHandle), BenchError> {
    let mut b = stack(&[server_addr(cfg.family)], 0x8765_4321, cfg.mtu, cfg.buf)?;
    let listener = b
        .tcp_listen(server_endpoint(cfg.family), ListenOptions::default())
        .map_err(|e| setup_err("listen", e))?;
    Ok((b, listener))
}

/// The client's connections: each slot of the window holds one until it is done,
/// then the next.
struct Clients {
    to: Target,
    slots: Vec<Option<ClientSlot>>,
    started: u64,
    done: u64,
    conns: u64,
}

impl Clients {
    /// The first `window` connections, opened at `t`.
    fn open(
        a: &mut Stack,
        t: layer4::Instant,
        cfg: &ConnectConfig,
        window: usize,
    ) -> Result<Clients, BenchError> {
        let conns = cfg.conns;
        let mut c = Clients {
            to: Target {
                server: server_endpoint(cfg.family),
                family: cfg.family,
            },
            slots: Vec::with_capacity(window),
            started: 0,
            done: 0,
            conns,
        };
        while c.slots.len() < window && c.started < conns {
            c.slots.push(Some(open(a, t, c.to, c.started)?));
            c.started += 1;
        }
        Ok(c)
    }

    /// One round's client steps: each connection moves on; a finished one's slot
    /// opens the next. Inlined, as the loop body it was before the replays shared it:
    /// the timed loop's code stays what it was.
    #[inline(always)]
    fn step(&mut self, a: &mut Stack, t: layer4::Instant) -> Result<(), BenchError> {
        for entry in self.slots.iter_mut() {
            let Some(slot) = entry else { continue };
            if client_step(a, t, slot)? {
                self.done += 1;
                *entry = if self.started < self.conns {
                    self.started += 1;
                    Some(open(a, t, self.to, self.started - 1)?)
                } else {
                    None
                };
            }
        }
        Ok(())
    }
}

/// The server's connections, accepted and not yet done.
struct Servers {
    conns: Vec<(SocketHandle, bool)>,
    done: u64,
}

impl Servers {
    fn new(window: usize) -> Servers {
        Servers {
            conns: Vec::with_capacity(2 * window),
            done: 0,
        }
    }

    /// One round's server steps: accept what is queued, move each connection on.
    /// Inlined, as [`Clients::step`].
    #[inline(always)]
    fn step(
        &mut self,
        b: &mut Stack,
        listener: SocketHandle,
        t: layer4::Instant,
    ) -> Result<(), BenchError> {
        loop {
            match b.tcp_accept(listener) {
                Ok((h, _)) => self.conns.push((h, false)),
                Err(Error::WouldBlock) => break,
                Err(e) => return Err(call_failed(0, "accept", e)),
            }
        }
        let mut i = 0;
        while i < self.conns.len() {
            let (h, answered) = &mut self.conns[i];
            if server_step(b, t, *h, answered)? {
                self.done += 1;
                self.conns.swap_remove(i);
            } else {
                i += 1;
            }
        }
        Ok(())
    }
}

/// The two-stack run; `tap` sees every round and every batch of packets (`()` for a
/// timed run: [`Recording`] to record one).
fn run_with<T: Tap>(cfg: &ConnectConfig, tap: &mut T) -> Result<ConnectResult, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let clock = Clock::new(cfg.clock_step);
    let mut link = Link::new(cfg.mtu);
    let mut a = client_stack(cfg)?;
    let (mut b, listener) = server_stack(cfg)?;

    let start = Stopwatch::start();
    let nanos = clock.nanos();
    tap.start(nanos);
    let mut clients = Clients::open(&mut a, at(nanos), cfg, window)?;
    let mut servers = Servers::new(window);
    let mut guard = StallGuard::new("connect", Duration::from_secs(20));

    while clients.done < cfg.conns || servers.done < cfg.conns {
        // One clock reading per round, as an event loop reads it once per wake-up.
        let elapsed = clock.elapsed();
        let nanos = elapsed.as_nanos() as u64;
        tap.round(nanos);
        let t = at(nanos);
        clients.step(&mut a, t)?;
        drain(t, &mut a, &mut link.a_to_b);
        tap.to_b(&link.a_to_b);
        deliver(t, &mut link.a_to_b, &mut b);
        servers.step(&mut b, listener, t)?;
        drain(t, &mut b, &mut link.b_to_a);
        tap.to_a(&link.b_to_a);
        deliver(t, &mut link.b_to_a, &mut a);
        service(t, &mut a);
        service(t, &mut b);
        guard.check(clients.done + servers.done, elapsed)?;
    }
    let (elapsed, cpu) = start.stop();
    tap.end(link.a_to_b.packets(), link.b_to_a.packets());
    Ok(ConnectResult {
        conns: clients.done,
        elapsed,
        cpu,
        packets: link.a_to_b.packets() + link.b_to_a.packets(),
        server_alone: None,
        client_alone: None,
    })
}

/// The server's stack alone through the recorded run `rec`: each round at its clock
/// reading, the client's recorded packets where the client's stack delivered them.
#[inline(never)] // its own function in a profile
fn server_alone(cfg: &ConnectConfig, rec: &Recording) -> Result<SideRun, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let (mut b, listener) = server_stack(cfg)?;
    let mut servers = Servers::new(window);
    // The pipes and their buffers as in the two-stack run: what arrives is copied
    // into the pipe's buffers first (as the other stack's transmit would have
    // written it), what leaves is written into them and dropped.
    let mut link = Link::new(cfg.mtu);
    let mut to_b = rec.to_b.cursor();
    let start = Stopwatch::start();
    for &nanos in &rec.rounds {
        let t = at(nanos);
        to_b.next_batch().refill(&mut link.a_to_b);
        deliver(t, &mut link.a_to_b, &mut b);
        servers.step(&mut b, listener, t)?;
        drain(t, &mut b, &mut link.b_to_a);
        link.b_to_a.recycle_queued();
        service(t, &mut b);
    }
    let (elapsed, cpu) = start.stop();
    replay::check(
        "server",
        servers.done,
        cfg.conns,
        link.b_to_a.packets(),
        rec.b_sent,
    )?;
    Ok(SideRun { elapsed, cpu })
}

/// The client's stack alone through the recorded run `rec`, as [`server_alone`].
#[inline(never)] // its own function in a profile
fn client_alone(cfg: &ConnectConfig, rec: &Recording) -> Result<SideRun, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let mut a = client_stack(cfg)?;
    let mut link = Link::new(cfg.mtu);
    let mut to_a = rec.to_a.cursor();
    let start = Stopwatch::start();
    let mut clients = Clients::open(&mut a, at(rec.start_nanos), cfg, window)?;
    for &nanos in &rec.rounds {
        let t = at(nanos);
        clients.step(&mut a, t)?;
        drain(t, &mut a, &mut link.a_to_b);
        link.a_to_b.recycle_queued();
        to_a.next_batch().refill(&mut link.b_to_a);
        deliver(t, &mut link.b_to_a, &mut a);
        service(t, &mut a);
    }
    let (elapsed, cpu) = start.stop();
    replay::check(
        "client",
        clients.done,
        cfg.conns,
        link.a_to_b.packets(),
        rec.a_sent,
    )?;
    Ok(SideRun { elapsed, cpu })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_alone_finishes_every_connection_of_a_recorded_run() {
        for (window, family) in [(1, IpFamily::V4), (16, IpFamily::V4), (1, IpFamily::V6)] {
            let cfg = ConnectConfig {
                conns: 500,
                window,
                family,
                sides: true,
                ..ConnectConfig::default()
            };
            let r = run(&cfg).unwrap();
            assert_eq!(r.conns, 500);
            // `run` fails unless each replay finished all 500 and sent what was recorded.
            assert!(r.server_alone.is_some() && r.client_alone.is_some());
            let mut rec = Recording::default();
            run_with(&cfg, &mut rec).unwrap();
            assert!(
                rec.rounds.len() >= 3 * 500 / window,
                "{} rounds",
                rec.rounds.len()
            );
            assert!(rec.a_sent >= 3 * 500 && rec.b_sent >= 3 * 500);
        }
    }

    #[test]
    fn a_side_alone_that_strays_from_the_recording_is_an_error() {
        let cfg = ConnectConfig {
            conns: 200,
            ..ConnectConfig::default()
        };
        let mut rec = Recording::default();
        run_with(&cfg, &mut rec).unwrap();
        // The last rounds lost: the last connections never finish on either side.
        let keep = rec.rounds.len() - 5;
        rec.rounds.truncate(keep);
        for e in [
            server_alone(&cfg, &rec).unwrap_err(),
            client_alone(&cfg, &rec).unwrap_err(),
        ] {
            assert!(matches!(e, BenchError::ReplayDiverged { .. }), "{e}");
        }
    }

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
