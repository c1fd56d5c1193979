//! `idle` on smoltcp: establish N connections, measure what the server side holds.
//!
//! Connections are opened `batch` at a time: the server side adds one listening socket
//! per connection (smoltcp has no accept queue: a listening socket *becomes* the
//! connection), the client side one connecting socket, and both interfaces are polled
//! until the whole batch is ESTABLISHED on both sides. Every call into a side runs under
//! that side's allocation tag, so the server figure is everything smoltcp allocated for
//! the server: the `Interface`, the `SocketSet` (a `Vec` of socket slots, grown by
//! doubling) and each socket's fixed receive and send buffers.
//!
//! smoltcp finds the socket for an incoming segment, and the sockets with something to
//! send, by walking its whole `SocketSet`, and adding a socket scans for a free slot, so
//! setting up N connections costs O(N²): that is why the CLI runs smoltcp with fewer
//! connections than layer4 (the per-connection figure does not depend on N).
//! Server ports 5001.. and client ports 1024..61023 are combined so every 4-tuple is
//! distinct.

use std::time::Duration;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};

use super::device::LinkEnd;
use super::{addr_a, addr_b, interface, now, prefix_len, setup_err, socket};
use crate::alloc_count::{is_installed, resident_bytes, snapshot, with_tag, Tag};
use crate::clock::{Clock, StallGuard};
use crate::config::IdleConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::results::IdleResult;

const CLIENT_PORTS: usize = 60_000;

fn server_port(i: usize) -> u16 {
    5001 + (i / CLIENT_PORTS) as u16
}

fn client_port(i: usize) -> u16 {
    1024 + (i % CLIENT_PORTS) as u16
}

fn all_established(sockets: &SocketSet<'_>, handles: &[SocketHandle]) -> bool {
    handles
        .iter()
        .all(|h| sockets.get::<tcp::Socket<'_>>(*h).state() == State::Established)
}

pub(super) fn run(cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
    if !is_installed() {
        return Err(BenchError::NoAllocCounter);
    }
    let max = CLIENT_PORTS * usize::from(u16::MAX - 5001);
    if cfg.conns > max {
        return Err(BenchError::Setup(format!("at most {max} connections")));
    }
    let client_ip = addr_a(cfg.family)?;
    let server_ip = addr_b(cfg.family)?;
    let prefix = prefix_len(cfg.family);
    let rss_before = resident_bytes();
    let server_before = snapshot(Tag::Server);
    let client_before = snapshot(Tag::Client);

    let clock = Clock::start();
    let mut link = Link::new(cfg.mtu);
    let mut iface_a = with_tag(Tag::Client, || {
        interface(
            &mut LinkEnd::a(&mut link),
            client_ip,
            prefix,
            0x1234_5678,
            now(&clock),
        )
    });
    let mut iface_b = with_tag(Tag::Server, || {
        interface(
            &mut LinkEnd::b(&mut link),
            server_ip,
            prefix,
            0x8765_4321,
            now(&clock),
        )
    });
    let mut sockets_a = with_tag(Tag::Client, || SocketSet::new(Vec::new()));
    let mut sockets_b = with_tag(Tag::Server, || SocketSet::new(Vec::new()));

    let batch = cfg.batch.max(1);
    let mut batch_a = Vec::with_capacity(batch);
    let mut batch_b = Vec::with_capacity(batch);
    let mut guard = StallGuard::new("idle setup", Duration::from_secs(60));
    let mut established = 0usize;
    while established < cfg.conns {
        let end = (established + batch).min(cfg.conns);
        batch_a.clear();
        batch_b.clear();
        with_tag(Tag::Server, || {
            for i in established..end {
                let h = sockets_b.add(socket(cfg.buf));
                batch_b.push(h);
                sockets_b
                    .get_mut::<tcp::Socket<'_>>(h)
                    .listen(server_port(i))
                    .map_err(|e| setup_err("listen", e))?;
            }
            Ok::<(), BenchError>(())
        })?;
        with_tag(Tag::Client, || {
            for i in established..end {
                let h = sockets_a.add(socket(cfg.buf));
                batch_a.push(h);
                sockets_a
                    .get_mut::<tcp::Socket<'_>>(h)
                    .connect(
                        iface_a.context(),
                        (server_ip, server_port(i)),
                        client_port(i),
                    )
                    .map_err(|e| setup_err("connect", e))?;
            }
            Ok::<(), BenchError>(())
        })?;
        loop {
            let t = now(&clock);
            with_tag(Tag::Client, || {
                iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a)
            });
            with_tag(Tag::Server, || {
                iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b)
            });
            if link.is_idle()
                && all_established(&sockets_a, &batch_a)
                && all_established(&sockets_b, &batch_b)
            {
                break;
            }
            guard.check(
                link.a_to_b.packets() + link.b_to_a.packets(),
                clock.elapsed(),
            )?;
        }
        established = end;
    }
    let setup = clock.elapsed();

    let server = snapshot(Tag::Server);
    let client = snapshot(Tag::Client);
    let rss_growth = resident_bytes()
        .zip(rss_before)
        .map(|(after, before)| after.saturating_sub(before));
    let result = IdleResult {
        conns: cfg.conns,
        server_bytes: server.live_since(&server_before).max(0) as u64,
        server_blocks: server.blocks_since(&server_before).max(0) as u64,
        server_buffer_bytes: 2 * cfg.buf as u64 * cfg.conns as u64,
        client_bytes: client.live_since(&client_before).max(0) as u64,
        rss_growth_bytes: rss_growth,
        setup,
    };
    with_tag(Tag::Server, || drop(sockets_b));
    with_tag(Tag::Client, || drop(sockets_a));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc_count::TEST_COUNTER_LOCK;

    #[test]
    fn server_memory_is_buffers_plus_socket_state() {
        let _lock = TEST_COUNTER_LOCK.lock();
        let cfg = IdleConfig {
            conns: 300,
            batch: 64,
            buf: 1024,
            ..IdleConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 300);
        let (socket, _slot) = super::super::socket_sizes();
        let per_conn = r.server_bytes_per_conn();
        // Two 1 KiB buffers and at least one socket slot per connection...
        assert!(per_conn >= (2 * 1024 + socket) as f64, "{per_conn}");
        // ...and not much more (the slot Vec doubles, so at most about two slots).
        assert!(
            per_conn < (2 * 1024 + 3 * socket + 1024) as f64,
            "{per_conn}"
        );
        // Buffers are allocated per socket: at least two blocks per connection.
        assert!(r.server_blocks >= 600);
    }

    #[test]
    #[cfg(feature = "smoltcp-ipv6")]
    fn ipv6_server_memory_is_buffers_plus_socket_state() {
        let _lock = TEST_COUNTER_LOCK.lock();
        let cfg = IdleConfig {
            conns: 300,
            batch: 64,
            buf: 1024,
            family: crate::config::IpFamily::V6,
            ..IdleConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 300);
        let (socket, _slot) = super::super::socket_sizes();
        let per_conn = r.server_bytes_per_conn();
        assert!(per_conn >= (2 * 1024 + socket) as f64, "{per_conn}");
        assert!(r.server_blocks >= 600);
    }
}
