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
use smoltcp::time::Instant;

use super::{addr_a, addr_b, interface, prefix_len, setup_err, socket, SERVER_PORT};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::ConnectConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::replay::{self, Recording, Tap};
use crate::results::{ConnectResult, SideRun};

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
    let mut result = run_with(cfg, &mut ())?;
    if cfg.sides {
        let mut rec = Recording::default();
        run_with(cfg, &mut rec)?;
        result.server_alone = Some(server_alone(cfg, &rec)?);
        result.client_alone = Some(client_alone(cfg, &rec)?);
    }
    Ok(result)
}

/// The server's listening sockets: twice the window, each re-listening once its
/// connection is done.
fn listeners(
    sockets: &mut SocketSet<'static>,
    window: usize,
    buf: usize,
) -> Result<Vec<(SocketHandle, ServerSlot)>, BenchError> {
    let mut servers = Vec::with_capacity(2 * window);
    for _ in 0..2 * window {
        let h = sockets.add(socket(buf));
        sockets
            .get_mut::<tcp::Socket<'_>>(h)
            .listen(SERVER_PORT)
            .map_err(|e| setup_err("listen", e))?;
        servers.push((h, ServerSlot::default()));
    }
    Ok(servers)
}

/// One round's server steps; returns the connections finished.
fn servers_step(
    sockets: &mut SocketSet<'static>,
    servers: &mut [(SocketHandle, ServerSlot)],
) -> Result<u64, BenchError> {
    let mut done = 0;
    for (h, slot) in servers.iter_mut() {
        if server_step(sockets.get_mut::<tcp::Socket<'_>>(*h), slot)? {
            done += 1;
        }
    }
    Ok(done)
}

/// The client's connections: each slot of the window holds one until it is done,
/// then the next.
struct Clients {
    slots: Vec<Option<ClientSlot>>,
    started: u64,
    done: u64,
    conns: u64,
}

impl Clients {
    /// The first `window` connections.
    fn open(client: &mut Client<'_>, window: usize, conns: u64) -> Result<Clients, BenchError> {
        let mut c = Clients {
            slots: Vec::with_capacity(window),
            started: 0,
            done: 0,
            conns,
        };
        while c.slots.len() < window && c.started < conns {
            c.slots.push(Some(client.open(c.started)?));
            c.started += 1;
        }
        Ok(c)
    }

    /// One round's client steps: each connection moves on; a finished one's slot
    /// opens the next.
    fn step(&mut self, client: &mut Client<'_>) -> Result<(), BenchError> {
        for entry in self.slots.iter_mut() {
            let Some(slot) = entry else { continue };
            if client.step(slot)? {
                self.done += 1;
                *entry = if self.started < self.conns {
                    self.started += 1;
                    Some(client.open(self.started - 1)?)
                } else {
                    None
                };
            }
        }
        Ok(())
    }
}

/// The two-stack run; `tap` sees every round and every batch of packets (`()` for a
/// timed run: [`Recording`] to record one).
fn run_with<T: Tap>(cfg: &ConnectConfig, tap: &mut T) -> Result<ConnectResult, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let server_ip = addr_b(cfg.family)?;
    let clock = Clock::new(cfg.clock_step);
    let mut link = Link::new(cfg.mtu);
    let start_micros = clock.micros();
    tap.start(start_micros as u64 * 1_000);
    let t0 = Instant::from_micros(start_micros);
    let mut iface_a = client_interface(cfg, &mut link, t0)?;
    let mut iface_b = server_interface(cfg, &mut link, t0)?;
    let mut sockets_a = SocketSet::new(Vec::new());
    let mut sockets_b = SocketSet::new(Vec::new());
    let mut servers = listeners(&mut sockets_b, window, cfg.buf)?;

    let start = Stopwatch::start();
    let mut server_done = 0u64;
    let mut clients = Clients::open(
        &mut Client {
            iface: &mut iface_a,
            sockets: &mut sockets_a,
            buf: cfg.buf,
            server: server_ip,
        },
        window,
        cfg.conns,
    )?;
    let mut guard = StallGuard::new("connect", Duration::from_secs(20));

    while clients.done < cfg.conns || server_done < cfg.conns {
        // One clock reading per round, as an event loop reads it once per wake-up.
        let elapsed = clock.elapsed();
        let micros = elapsed.as_micros() as i64;
        tap.round(micros as u64 * 1_000);
        let t = Instant::from_micros(micros);
        clients.step(&mut Client {
            iface: &mut iface_a,
            sockets: &mut sockets_a,
            buf: cfg.buf,
            server: server_ip,
        })?;
        tap.to_a(&link.b_to_a);
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        tap.to_b(&link.a_to_b);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        server_done += servers_step(&mut sockets_b, &mut servers)?;
        tap.to_b(&link.a_to_b);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        tap.to_a(&link.b_to_a);
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        guard.check(clients.done + server_done, elapsed)?;
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

/// The client's interface (side A of `link`), its address of `cfg`'s family.
fn client_interface(
    cfg: &ConnectConfig,
    link: &mut Link,
    now: Instant,
) -> Result<Interface, BenchError> {
    let ip = addr_a(cfg.family)?;
    let prefix = prefix_len(cfg.family);
    Ok(interface(
        &mut LinkEnd::a(link),
        ip,
        prefix,
        0x1234_5678,
        now,
    ))
}

/// The server's interface (side B of `link`), as [`client_interface`].
fn server_interface(
    cfg: &ConnectConfig,
    link: &mut Link,
    now: Instant,
) -> Result<Interface, BenchError> {
    let ip = addr_b(cfg.family)?;
    let prefix = prefix_len(cfg.family);
    Ok(interface(
        &mut LinkEnd::b(link),
        ip,
        prefix,
        0x8765_4321,
        now,
    ))
}

/// The recorded clock reading `nanos` as smoltcp's `Instant`.
fn at(nanos: u64) -> Instant {
    Instant::from_micros((nanos / 1_000) as i64)
}

/// The server's stack alone through the recorded run `rec`: each round at its clock
/// reading, the pipe into it holding what it held in the recording at each poll; what
/// it sends is dropped.
#[inline(never)] // its own function in a profile
fn server_alone(cfg: &ConnectConfig, rec: &Recording) -> Result<SideRun, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let mut link = Link::new(cfg.mtu);
    let t0 = at(rec.start_nanos);
    let mut iface_b = server_interface(cfg, &mut link, t0)?;
    let mut sockets_b = SocketSet::new(Vec::new());
    let mut servers = listeners(&mut sockets_b, window, cfg.buf)?;
    let mut to_b = rec.to_b.cursor();
    let mut done = 0u64;
    let start = Stopwatch::start();
    for &nanos in &rec.rounds {
        let t = at(nanos);
        to_b.next_batch().refill(&mut link.a_to_b);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        done += servers_step(&mut sockets_b, &mut servers)?;
        to_b.next_batch().refill(&mut link.a_to_b);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        link.b_to_a.recycle_queued();
    }
    let (elapsed, cpu) = start.stop();
    replay::check("server", done, cfg.conns, link.b_to_a.packets(), rec.b_sent)?;
    Ok(SideRun { elapsed, cpu })
}

/// The client's stack alone through the recorded run `rec`, as [`server_alone`].
#[inline(never)] // its own function in a profile
fn client_alone(cfg: &ConnectConfig, rec: &Recording) -> Result<SideRun, BenchError> {
    let window = cfg.window.clamp(1, 16384);
    let mut link = Link::new(cfg.mtu);
    let t0 = at(rec.start_nanos);
    let server_ip = addr_b(cfg.family)?;
    let mut iface_a = client_interface(cfg, &mut link, t0)?;
    let mut sockets_a = SocketSet::new(Vec::new());
    let mut to_a = rec.to_a.cursor();
    let start = Stopwatch::start();
    let mut clients = Clients::open(
        &mut Client {
            iface: &mut iface_a,
            sockets: &mut sockets_a,
            buf: cfg.buf,
            server: server_ip,
        },
        window,
        cfg.conns,
    )?;
    for &nanos in &rec.rounds {
        let t = at(nanos);
        clients.step(&mut Client {
            iface: &mut iface_a,
            sockets: &mut sockets_a,
            buf: cfg.buf,
            server: server_ip,
        })?;
        to_a.next_batch().refill(&mut link.b_to_a);
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        link.a_to_b.recycle_queued();
        to_a.next_batch().refill(&mut link.b_to_a);
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        link.a_to_b.recycle_queued();
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
        use crate::config::IpFamily;
        let mut cases = vec![(1, IpFamily::V4), (16, IpFamily::V4)];
        if cfg!(feature = "smoltcp-ipv6") {
            cases.push((1, IpFamily::V6));
        }
        for (window, family) in cases {
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
