//! `bulk` on layer4: one connection, client (A) sends to server (B), one thread.
//!
//! Each round: the client application copies as much of the pattern into its socket as
//! the send buffer takes (`tcp_send` until `WouldBlock`); A's packets go to B; the
//! server application accepts the connection (once) and reads everything readable
//! (`tcp_recv` until `WouldBlock`) and checks it; B's packets (ACKs, window updates) go
//! to A; both stacks' events are drained and due timers run. The clock starts when the
//! connection is established and stops when the last byte has been read.

use std::time::Duration;

use layer4::{Error, ListenOptions, State};

use super::{
    at, client_addr, failed, now, pump, server_addr, server_endpoint, service, setup_err, stack,
};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::BulkConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::pattern::{PatternSink, PatternSource};
use crate::results::BulkResult;

pub(super) fn run(cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
    let clock = Clock::start();
    let mut link = Link::new(cfg.mtu);
    let family = cfg.family;
    let mut a = stack(&[client_addr(family, 0)], 0x1234_5678, cfg.mtu, cfg.buf)?;
    let mut b = stack(&[server_addr(family)], 0x8765_4321, cfg.mtu, cfg.buf)?;
    let endpoint = server_endpoint(family);
    let listener = b
        .tcp_listen(endpoint, ListenOptions::default())
        .map_err(|e| setup_err("listen", e))?;
    let client = a
        .tcp_connect(now(&clock), endpoint, None)
        .map_err(|e| setup_err("connect", e))?;
    let mut server = None;

    let mut source = PatternSource::new(cfg.bytes);
    let mut sink = PatternSink::new(cfg.verify);
    let mut start: Option<Stopwatch> = None;
    let mut guard = StallGuard::new("bulk transfer", Duration::from_secs(20));

    while sink.received() < cfg.bytes {
        // One clock reading per round, as an event loop reads it once per wake-up.
        let elapsed = clock.elapsed();
        let t = at(elapsed.as_nanos() as u64);
        if start.is_none() {
            match a.tcp_state(client) {
                Ok(State::Established) => start = Some(Stopwatch::start()),
                Ok(State::SynSent) => {}
                Ok(s) => return Err(failed(0, format!("client in {s:?} before sending"))),
                Err(e) => return Err(failed(0, format!("client: {e}"))),
            }
        }
        if start.is_some() {
            while !source.is_done() {
                match a.tcp_send(t, client, source.next_chunk()) {
                    Ok(0) | Err(Error::WouldBlock) => break,
                    Ok(n) => source.advance(n),
                    Err(e) => return Err(failed(0, format!("send: {e}"))),
                }
            }
        }
        pump(t, &mut a, &mut link.a_to_b, &mut b);
        if server.is_none() {
            match b.tcp_accept(listener) {
                Ok((h, _)) => server = Some(h),
                Err(Error::WouldBlock) => {}
                Err(e) => return Err(failed(0, format!("accept: {e}"))),
            }
        }
        if let Some(h) = server {
            loop {
                match b.tcp_recv(t, h, sink.buf_mut()) {
                    Ok(0) => return Err(failed(0, "end of stream before all data".into())),
                    Ok(n) => sink.accept(n)?,
                    Err(Error::WouldBlock) => break,
                    Err(e) => return Err(failed(0, format!("recv: {e}"))),
                }
            }
        }
        pump(t, &mut b, &mut link.b_to_a, &mut a);
        service(t, &mut a);
        service(t, &mut b);
        guard.check(sink.received(), elapsed)?;
    }
    let (elapsed, cpu) = start.map(|s| s.stop()).unwrap_or_default();
    Ok(BulkResult {
        bytes: sink.received(),
        elapsed,
        cpu,
        packets_a_to_b: link.a_to_b.packets(),
        packets_b_to_a: link.b_to_a.packets(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpFamily;

    #[test]
    fn eight_mebibytes_arrive_verified() {
        let cfg = BulkConfig {
            bytes: 8 << 20,
            ..BulkConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.bytes, 8 << 20);
        assert!(r.packets_a_to_b >= (8 << 20) / 1460);
        assert!(r.packets_b_to_a > 0);
    }

    #[test]
    fn odd_size_small_mtu_and_small_buffers_arrive_verified() {
        let cfg = BulkConfig {
            bytes: 1_000_003,
            mtu: 576,
            buf: 4096,
            ..BulkConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().bytes, 1_000_003);
    }

    #[test]
    fn eight_mebibytes_arrive_verified_over_ipv6() {
        let cfg = BulkConfig {
            bytes: 8 << 20,
            family: IpFamily::V6,
            ..BulkConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.bytes, 8 << 20);
        // Full-sized IPv6 segments carry 1440 bytes: more of them than over IPv4's
        // 1460 (the test fails if the stacks spoke IPv4 or got a larger MSS).
        assert!(r.packets_a_to_b >= (8 << 20) / 1440, "{}", r.packets_a_to_b);
    }

    #[test]
    fn odd_size_small_mtu_arrives_verified_over_ipv6() {
        let cfg = BulkConfig {
            bytes: 1_000_003,
            mtu: 1280,
            buf: 4096,
            family: IpFamily::V6,
            ..BulkConfig::default()
        };
        assert_eq!(run(&cfg).unwrap().bytes, 1_000_003);
    }
}
