//! Blind in-window attacks (RFC 5961) at a live transfer (issue 7): an off-path
//! attacker who knows the 4-tuple, but neither the sequence numbers nor the
//! timestamps, sprays RSTs, SYNs and data with garbage payloads. The connection
//! survives, every byte arrives as written (each byte read is checked against the
//! sender's pattern, and a hash of the stream is compared), and the challenge ACKs
//! stay within their per-connection rate limit; a RST at exactly RCV.NXT resets it.
//!
//! Two stacks on the in-memory wire of [`layer4_sim::live`] (no link delay: each
//! round delivers everything), 10 ms of virtual time per round. Each test runs
//! over IPv4 and, at the same size, over IPv6 (the `_over_ipv6` twins, fd00::2 to
//! fd00::1); the forged IPv6 segments are checked to have the fixed layout the
//! stack's `Ipv6TcpSegment` receive path reads (whether the stack took that path
//! is counted only in its `#[cfg(test)]` `rx_paths`, out of reach here).

use layer4::rand::StackRng;
use layer4::time::Duration;
use layer4::wire::{ChecksumMode, Ipv6TcpSegment, SeqNumber, TcpFlags};
use layer4::{Error, State};
use layer4_sim::live::{client_config_in, pattern_hash, server_config_in, Dir, Family, LivePair};

fn pair(family: Family, seed: u64) -> LivePair {
    let mut server = server_config_in(family, seed);
    // The stack under attack verifies checksums here, as a deployment does; the
    // attacker's packets have good ones.
    server.checksum_rx = ChecksumMode::Enabled;
    LivePair::with_configs_in(family, server, client_config_in(family, seed)).unwrap()
}

/// A blind segment from the client's 4-tuple ([`LivePair::forge_blind`]); over
/// IPv6 checked to have the fixed layout.
fn blind(p: &LivePair, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Vec<u8> {
    let packet = p.forge_blind(seq, ack, flags, payload);
    if p.family == Family::V6 {
        assert!(
            Ipv6TcpSegment::parse(&packet).is_some(),
            "not the fixed layout"
        );
    }
    packet
}

/// RSTs, SYNs and data at random sequence numbers, and RSTs inside the window,
/// for 10 s of a transfer.
fn blind_spray(family: Family) {
    let mut p = pair(family, 5961);
    let mut rng = StackRng::from_seed(42);
    let rounds = 1000; // 10 s of virtual time
    let per_round = 8;
    let (mut rsts, mut syns, mut data) = (0u64, 0u64, 0u64);
    for round in 0..rounds {
        p.client_write(8192).unwrap();
        for _ in 0..per_round {
            let seq = rng.u32();
            let ack = rng.u32();
            let packet = match rng.u32() % 4 {
                0 => {
                    rsts += 1;
                    blind(&p, seq, ack, TcpFlags::RST, &[])
                }
                1 => {
                    // A RST somewhere in the receive window, but not at RCV.NXT: what
                    // an attacker who guessed the window's place sends (RFC 5961
                    // section 3.2 answers it with a challenge ACK).
                    rsts += 1;
                    let rcv_nxt = p.server_seen.ack.unwrap_or(SeqNumber(0));
                    let inside = rcv_nxt + (1 + rng.u32() % 60_000);
                    blind(&p, inside.0, ack, TcpFlags::RST | TcpFlags::ACK, &[])
                }
                2 => {
                    syns += 1;
                    blind(&p, seq, 0, TcpFlags::SYN, &[])
                }
                _ => {
                    data += 1;
                    let garbage = [0xa5u8; 512];
                    blind(&p, seq, ack, TcpFlags::ACK | TcpFlags::PSH, &garbage)
                }
            };
            p.inject(&packet).unwrap();
        }
        p.settle(20).unwrap();
        // server_read checks every byte against the pattern and hashes it.
        p.server_read(usize::MAX).unwrap();
        p.check().unwrap();
        assert_eq!(p.server_state(), State::Established, "round {round}");
        p.advance(Duration::from_millis(10)).unwrap();
    }
    p.settle(50).unwrap();
    p.server_read(usize::MAX).unwrap();
    assert_eq!(p.server_read, p.client_written, "bytes lost");
    assert_eq!(
        p.server_read_hash,
        pattern_hash(0, p.client_written),
        "stream hash"
    );
    assert_eq!(p.server_state(), State::Established);
    assert_eq!(p.client_state(), State::Established);
    let c = p.server.tcp_counters(p.server_conn).unwrap();
    let stats = p.server.stats().tcp;
    eprintln!(
        "{rsts} RSTs, {syns} SYNs, {data} data segments; {} bytes; challenge ACKs {} (rst {}, syn {}, ack {}), limited {}; {stats:?}",
        p.server_read,
        c.challenge_acks,
        c.challenge_acks_rst,
        c.challenge_acks_syn,
        c.challenge_acks_ack,
        c.invalid_answers_limited
    );
    assert!(p.client_written >= 8_000_000, "{} bytes", p.client_written);
    assert_eq!(stats.estab_resets, 0);
    // One answer per 500 ms at most: 10 s of attack, 21 answers.
    let elapsed_ms = rounds * 10;
    assert!(
        c.challenge_acks > 0,
        "the attack never reached RFC 5961's checks"
    );
    assert!(
        u64::from(c.challenge_acks) <= elapsed_ms / 500 + 1,
        "{} challenge ACKs in {elapsed_ms} ms",
        c.challenge_acks
    );
    assert!(c.invalid_answers_limited > 0);
}

/// A RST one past RCV.NXT gets a challenge ACK; one at exactly RCV.NXT resets.
fn rst_at_rcv_nxt(family: Family) {
    let mut p = pair(family, 5962);
    p.client_write(20_000).unwrap();
    p.settle(20).unwrap();
    p.server_read(usize::MAX).unwrap();
    let rcv_nxt = p.server_seen.ack.unwrap();
    // One past RCV.NXT: a challenge ACK goes to the real client, nothing else.
    p.to_client.clear();
    let near = blind(&p, (rcv_nxt + 1u32).0, 0, TcpFlags::RST, &[]);
    p.inject(&near).unwrap();
    assert_eq!(p.server_state(), State::Established);
    assert_eq!(p.to_client.len(), 1, "one challenge ACK");
    let c = p.server.tcp_counters(p.server_conn).unwrap();
    assert_eq!(c.challenge_acks_rst, 1);
    p.deliver(Dir::ToClient, usize::MAX).unwrap();
    // Exactly RCV.NXT: the reset is accepted.
    let exact = blind(&p, rcv_nxt.0, 0, TcpFlags::RST, &[]);
    p.inject(&exact).unwrap();
    assert_eq!(p.server_state(), State::Closed);
    let mut buf = [0u8; 16];
    assert_eq!(
        p.server.tcp_recv(p.now, p.server_conn, &mut buf),
        Err(Error::ConnectionReset)
    );
    assert_eq!(p.server.stats().tcp.estab_resets, 1);
}

#[test]
fn blind_rst_syn_and_data_spray_does_not_break_a_transfer() {
    blind_spray(Family::V4);
}

#[test]
fn blind_rst_syn_and_data_spray_does_not_break_a_transfer_over_ipv6() {
    blind_spray(Family::V6);
}

#[test]
fn a_rst_at_exactly_rcv_nxt_resets_the_connection() {
    rst_at_rcv_nxt(Family::V4);
}

#[test]
fn a_rst_at_exactly_rcv_nxt_resets_the_connection_over_ipv6() {
    rst_at_rcv_nxt(Family::V6);
}
