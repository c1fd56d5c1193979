//! `bulk` on smoltcp: one connection, client (A) sends to server (B), one thread.
//!
//! Each round: the client application copies as much of the pattern into its socket as
//! fits (`send_slice`); A polls (sends segments); B polls (receives them, ACKs); the
//! server application copies everything readable out (`recv_slice`) and checks it; B
//! polls again so that the window update goes out at once. The clock starts when the
//! connection is established and stops when the last byte has been read.

use std::time::Duration;

use smoltcp::iface::SocketSet;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;

use super::device::LinkEnd;
use super::{addr_a, addr_b, interface, now, prefix_len, setup_err, socket, SERVER_PORT};
use crate::clock::{Clock, StallGuard, Stopwatch};
use crate::config::BulkConfig;
use crate::error::BenchError;
use crate::link::Link;
use crate::pattern::{PatternSink, PatternSource};
use crate::results::BulkResult;

pub(super) fn run(cfg: &BulkConfig) -> Result<BulkResult, BenchError> {
    let client_ip = addr_a(cfg.family)?;
    let server_ip = addr_b(cfg.family)?;
    let prefix = prefix_len(cfg.family);
    let clock = Clock::start();
    let mut link = Link::new(cfg.mtu);
    let mut iface_a = interface(
        &mut LinkEnd::a(&mut link),
        client_ip,
        prefix,
        0x1234_5678,
        now(&clock),
    );
    let mut iface_b = interface(
        &mut LinkEnd::b(&mut link),
        server_ip,
        prefix,
        0x8765_4321,
        now(&clock),
    );

    let mut sockets_a = SocketSet::new(Vec::new());
    let mut sockets_b = SocketSet::new(Vec::new());
    let ha = sockets_a.add(socket(cfg.buf));
    let hb = sockets_b.add(socket(cfg.buf));
    sockets_b
        .get_mut::<tcp::Socket<'_>>(hb)
        .listen(SERVER_PORT)
        .map_err(|e| setup_err("listen", e))?;
    sockets_a
        .get_mut::<tcp::Socket<'_>>(ha)
        .connect(iface_a.context(), (server_ip, SERVER_PORT), 40000)
        .map_err(|e| setup_err("connect", e))?;

    let mut source = PatternSource::new(cfg.bytes);
    let mut sink = PatternSink::new(cfg.verify);
    let mut start: Option<Stopwatch> = None;
    let mut guard = StallGuard::new("bulk transfer", Duration::from_secs(20));

    while sink.received() < cfg.bytes {
        // One clock reading per round, as an event loop reads it once per wake-up.
        let elapsed = clock.elapsed();
        let t = Instant::from_micros(elapsed.as_micros() as i64);
        let client = sockets_a.get_mut::<tcp::Socket<'_>>(ha);
        if client.may_send() {
            start.get_or_insert_with(Stopwatch::start);
            while !source.is_done() && client.can_send() {
                let n = client
                    .send_slice(source.next_chunk())
                    .map_err(|e| failed(format!("send: {e}")))?;
                if n == 0 {
                    break;
                }
                source.advance(n);
            }
        }
        iface_a.poll(t, &mut LinkEnd::a(&mut link), &mut sockets_a);
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
        let server = sockets_b.get_mut::<tcp::Socket<'_>>(hb);
        while server.can_recv() {
            let n = server
                .recv_slice(sink.buf_mut())
                .map_err(|e| failed(format!("recv: {e}")))?;
            if n == 0 {
                break;
            }
            sink.accept(n)?;
        }
        iface_b.poll(t, &mut LinkEnd::b(&mut link), &mut sockets_b);
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

fn failed(why: String) -> BenchError {
    BenchError::ConnectionFailed { conn: 0, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_mebibytes_arrive_verified() {
        let cfg = BulkConfig {
            bytes: 8 << 20,
            ..BulkConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.bytes, 8 << 20);
        // At least one full-sized segment per MSS of payload.
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
    #[cfg(feature = "smoltcp-ipv6")]
    fn eight_mebibytes_arrive_verified_over_ipv6() {
        let cfg = BulkConfig {
            bytes: 8 << 20,
            family: crate::config::IpFamily::V6,
            ..BulkConfig::default()
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.bytes, 8 << 20);
        // IPv6's full-sized segments carry 1440 bytes at MTU 1500.
        assert!(r.packets_a_to_b >= (8 << 20) / 1440, "{}", r.packets_a_to_b);
    }
}
