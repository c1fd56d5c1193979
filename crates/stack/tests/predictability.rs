//! What an off-path attacker can predict (issue 7, RFC 6528 and RFC 6056): the
//! initial sequence numbers and ephemeral ports of many connections, read from the
//! SYNs a stack sends, pass simple statistical checks. No peer is needed: the SYNs
//! are taken from `poll_transmit` and parsed.
//!
//! The checks are deliberately coarse (they catch a counter, a constant step, a
//! repeated or a skewed value, not a weak hash): consecutive ISNs are not close to
//! each other, no ISN repeats across 4-tuples, the top 4 bits fall evenly into 16
//! buckets (chi-square below the 0.1 % critical value for 15 degrees of freedom,
//! 37.7); ports to different destinations spread over the whole range; ports to one
//! destination do not step by a constant.

use layer4::time::{Duration, Instant};
use layer4::wire::{AddrPair, ChecksumMode, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr};
use layer4::{Config, Stack};
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};

/// Connects to each destination in turn, `step` apart in time; returns each SYN's
/// (ISN, local port).
fn syns(seed: u64, dests: &[SocketAddr], step: Duration) -> Vec<(u32, u16)> {
    let mut config = Config::with_address("10.0.0.1/8".parse().unwrap()).seed(seed);
    config.tcp.max_connections = dests.len() + 1;
    let mut stack = Stack::new(config).unwrap();
    let mut now = Instant::ZERO + Duration::from_secs(1000);
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::new();
    for &dst in dests {
        stack.tcp_connect(now, dst, None).unwrap();
        while let Some(n) = stack.poll_transmit(now, &mut buf) {
            let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
            let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::Enabled).unwrap();
            let addrs = AddrPair::V4 {
                src: ip_repr.src_addr,
                dst: ip_repr.dst_addr,
            };
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            let seg = TcpRepr::parse(&tcp, &addrs, ChecksumMode::Enabled).unwrap();
            assert!(seg.flags.contains(TcpFlags::SYN));
            out.push((seg.seq_number.0, seg.src_port));
        }
        now += step;
    }
    out
}

/// `n` destinations: addresses in 10.0.0.0/8 and ports spread out.
fn many_destinations(n: usize) -> Vec<SocketAddr> {
    (0..n)
        .map(|i| {
            let i = i as u32 + 2;
            let addr = Ipv4Addr::from(0x0a00_0000 | ((i * 7919) & 0xff_ffff));
            SocketAddr::from((addr, 80 + (i % 7) as u16))
        })
        .collect()
}

/// Pearson's chi-square of the 4 bits of `values` at `shift` against a uniform
/// spread over 16 buckets.
fn chi_square_4bits(values: impl Iterator<Item = u32>, shift: u32) -> f64 {
    let mut buckets = [0u64; 16];
    let mut n = 0u64;
    for v in values {
        buckets[(v >> shift) as usize & 15] += 1;
        n += 1;
    }
    let expected = n as f64 / 16.0;
    buckets
        .iter()
        .map(|&b| (b as f64 - expected).powi(2) / expected)
        .sum()
}

/// 0.1 % critical value of chi-square with 15 degrees of freedom.
const CHI2_15_999: f64 = 37.7;

#[test]
fn isns_of_consecutive_connections_are_unrelated() {
    // 1 ms apart: RFC 6528's clock moves 250 ticks between two SYNs; a counter or a
    // clock alone would give steps of about that size.
    let syns = syns(11, &many_destinations(4096), Duration::from_millis(1));
    let isns: Vec<u32> = syns.iter().map(|s| s.0).collect();
    let close = isns
        .windows(2)
        .filter(|w| w[1].wrapping_sub(w[0]).min(w[0].wrapping_sub(w[1])) < 1 << 20)
        .count();
    // Unrelated values are within 2^20 of each other with probability 2^-11: about
    // 2 of 4095 pairs.
    assert!(close <= 12, "{close} consecutive ISN pairs within 2^20");
    let steps: HashSet<u32> = isns.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    assert!(steps.len() > 4000, "only {} distinct steps", steps.len());
}

#[test]
fn isns_never_repeat_across_four_tuples() {
    // All at the same instant: only the keyed hash of the 4-tuple tells them apart.
    let syns = syns(12, &many_destinations(4096), Duration::ZERO);
    let distinct: HashSet<u32> = syns.iter().map(|s| s.0).collect();
    // 4096 values of 32 bits collide with probability about 0.2 %; the seed is fixed.
    assert_eq!(distinct.len(), syns.len());
}

#[test]
fn isn_high_bits_are_roughly_uniform() {
    let syns = syns(13, &many_destinations(4096), Duration::from_micros(10));
    let chi2 = chi_square_4bits(syns.iter().map(|s| s.0), 28);
    assert!(
        chi2 < CHI2_15_999,
        "chi-square {chi2:.1} of the ISNs' top 4 bits"
    );
}

#[test]
fn ephemeral_ports_to_different_destinations_are_spread_and_unrelated() {
    let syns = syns(14, &many_destinations(4096), Duration::from_millis(1));
    let ports: Vec<u16> = syns.iter().map(|s| s.1).collect();
    // The range is 49152..=65535 (16,384 ports): the top 4 of its 14 low bits.
    let chi2 = chi_square_4bits(ports.iter().map(|&p| u32::from(p - 49152)), 10);
    assert!(
        chi2 < CHI2_15_999,
        "chi-square {chi2:.1} of the ports' top 4 bits"
    );
    let close = ports
        .windows(2)
        .filter(|w| w[1].abs_diff(w[0]) <= 8)
        .count();
    // Unrelated ports are within 8 with probability 17/16384: about 4 of 4095.
    assert!(
        close <= 16,
        "{close} consecutive ports within 8 of each other"
    );
}

#[test]
fn ephemeral_ports_to_one_destination_do_not_step_by_a_constant() {
    let dst = SocketAddr::from(([10, 9, 9, 9], 443));
    let syns = syns(15, &vec![dst; 1500], Duration::from_millis(1));
    let ports: Vec<u16> = syns.iter().map(|s| s.1).collect();
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ports.len(),
        "a port repeated on one 4-tuple"
    );
    // RFC 6056 algorithm 4 with Linux's random step (1..=8 per connection): the
    // steps vary, none dominates.
    let mut step_counts = [0u32; 9];
    for w in ports.windows(2) {
        let step = w[1].wrapping_sub(w[0]).wrapping_add(16384) % 16384;
        if let Some(c) = step_counts.get_mut(usize::from(step)) {
            *c += 1;
        }
    }
    let most = *step_counts.iter().max().unwrap();
    assert!(most < 1500 / 4, "one step dominates: {step_counts:?}");
}
