//! Regression: a connection records the right edge of the window it promised when
//! the peer's SYN (or SYN-ACK) arrives. Active and passive opens alike (SYN-cookie
//! ones excepted) used to keep a placeholder of 0, which sequence-space comparison
//! puts "after" every edge for peer ISNs in half the space: the receive
//! window then read as up to 2^31 bytes, so the connection advertised and accepted
//! far past its buffer (the excess dropped, the peer retransmitting into it until
//! R2), and a blind attacker's acceptable window was that large. Found by
//! `crates/sim/tests/exhaustion.rs` (a peer that never reads).

use layer4::time::{Duration, Instant};
use layer4::{Config, ListenOptions, Stack};
use std::net::SocketAddr;

#[test]
fn the_receive_window_stays_within_the_buffer_for_any_peer_isn_on_both_sides() {
    let (mut high_server_isn, mut high_client_isn) = (0, 0);
    for seed in 0..16u64 {
        let mut client =
            Stack::new(Config::with_address("10.0.0.2/24".parse().unwrap()).seed(seed)).unwrap();
        let mut server =
            Stack::new(Config::with_address("10.0.0.1/24".parse().unwrap()).seed(seed + 100))
                .unwrap();
        let addr: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let listener = server.tcp_listen(addr, ListenOptions::default()).unwrap();
        let now = Instant::ZERO + Duration::from_secs(1);
        let conn = client.tcp_connect(now, addr, None).unwrap();
        let mut buf = vec![0u8; 2048];
        for _ in 0..4 {
            while let Some(n) = client.poll_transmit(now, &mut buf) {
                // The client's SYN: is its ISN in the upper half?
                if buf[33] & 0x12 == 0x02 && buf[24] & 0x80 != 0 {
                    high_client_isn += 1;
                }
                server.handle_packet(now, &buf[..n]);
            }
            while let Some(n) = server.poll_transmit(now, &mut buf) {
                // The server's SYN-ACK: note whether its ISN is in the upper half.
                if buf[33] & 0x12 == 0x12 && buf[24] & 0x80 != 0 {
                    high_server_isn += 1;
                }
                client.handle_packet(now, &buf[..n]);
            }
        }
        let (accepted, _) = server.tcp_accept(listener).unwrap();
        let info = server.tcp_info(now, accepted).unwrap();
        let limit = server.config().tcp.recv_buffer as u32;
        assert!(
            info.rcv_wnd <= limit,
            "seed {seed}: passive open's window {} over the buffer {limit}",
            info.rcv_wnd
        );
        let info = client.tcp_info(now, conn).unwrap();
        let limit = client.config().tcp.recv_buffer as u32;
        assert!(
            info.rcv_wnd <= limit,
            "seed {seed}: window {} over the buffer {limit}",
            info.rcv_wnd
        );
    }
    assert!(
        high_server_isn > 0 && high_client_isn > 0,
        "ISNs in the upper half: {high_server_isn} server, {high_client_isn} client"
    );
}
