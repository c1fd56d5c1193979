//! Ephemeral port selection: RFC 6056 Algorithm 4, "double-hash port selection".
//!
//! A connection's local port is chosen from a configured range by two keyed hashes of
//! (local address, remote address, remote port):
//!
//! - `offset = F(...)`: where in the range this destination's ports start, so that
//!   different destinations get unrelated ports;
//! - `index = G(...)`: which counter of a perturbation table this destination uses;
//!   the counter moves on each time a port is handed out, so the next connection to
//!   the same destination gets another port, and an observer who learns the ports it
//!   was given learns nothing about the ports other destinations get (they mostly
//!   use other counters).
//!
//! The candidates `offset + table[index] + k` for `k = 0, 1, ...` (modulo the range)
//! are offered to the caller's `is_free` predicate, each port of the range at most
//! once; the first free one wins, and `None` means the range is exhausted for this
//! destination (`AddrNotAvailable` to the application).
//!
//! # Deviations from the RFC's pseudo-code, and why
//!
//! - **Table size.** RFC 6056 suggests a table of 10 counters; later work (Klein and
//!   Pinkas, "Device tracking via Linux's new TCP source port selection algorithm",
//!   2022) showed a small table lets a website fingerprint a device, and Linux went to
//!   65,536 counters. Here the length is [`PortConfig::table_len`], 4,096 by default
//!   (16 KiB, allocated when the selector is built).
//! - **Counters are 32-bit**, as in Linux: 2^16 is not a multiple of most range sizes,
//!   so 16-bit counters would wrap onto a different port sequence.
//! - **Random step.** The RFC advances the counter by exactly the number of ports
//!   tried, so consecutive connections to one destination get consecutive ports. Like
//!   Linux since 2022, the counter is advanced by at least a random step drawn from
//!   `1..=`[`PortConfig::max_step`] (default 8), so the next port to the same
//!   destination is not predictable from the last one. `max_step = 1` is the RFC's
//!   algorithm exactly.
//!
//! The hashes are SipHash-2-4 under two 128-bit keys drawn from the selector's own
//! [`StackRng`], which it keeps for the random steps. Inputs are hashed as explicit
//! bytes, never through `core::hash::Hash` (not promised stable across Rust
//! releases), so the same seed picks the same ports on any toolchain.

use core::fmt;
use core::net::{IpAddr, SocketAddr};
use core::ops::RangeInclusive;

use siphasher::sip::SipHasher24;

use crate::rand::StackRng;
use crate::tcp::isn::put_tagged_ip;

/// How ephemeral ports are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// The ports to choose from, both ends included. Default 49152..=65535, the IANA
    /// dynamic range that RFC 6056 section 3.2 recommends (Linux's default is
    /// 32768..=60999).
    pub range: RangeInclusive<u16>,
    /// The number of counters in the perturbation table. Default 4096.
    pub table_len: usize,
    /// The largest random step a counter takes after handing out a port; 1 gives
    /// the RFC's strictly sequential ports per destination. Default 8.
    pub max_step: u32,
}

impl PortConfig {
    /// The IANA dynamic and/or private ports (RFC 6335): 49152..=65535.
    pub const DYNAMIC: RangeInclusive<u16> = 49152..=65535;
}

impl Default for PortConfig {
    fn default() -> PortConfig {
        PortConfig {
            range: PortConfig::DYNAMIC,
            table_len: 4096,
            max_step: 8,
        }
    }
}

/// Why a [`PortConfig`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortConfigError {
    /// The range is empty or contains port 0, which is never a valid port.
    BadRange,
    /// `table_len` is zero.
    EmptyTable,
    /// `max_step` is zero.
    ZeroStep,
}

impl fmt::Display for PortConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortConfigError::BadRange => "ephemeral port range is empty or contains port 0",
            PortConfigError::EmptyTable => "ephemeral port table length is zero",
            PortConfigError::ZeroStep => "ephemeral port max_step is zero",
        })
    }
}

impl core::error::Error for PortConfigError {}

/// The RFC 6056 Algorithm 4 port selector. `Debug` prints the configuration only,
/// never the keys or the table.
pub struct EphemeralPorts {
    lo: u16,
    /// The number of ports in the range, 1..=65535.
    count: u32,
    key_offset: [u8; 16],
    key_index: [u8; 16],
    table: Vec<u32>,
    max_step: u32,
    rng: StackRng,
    /// The last destination's (local, remote, offset, index): a client opening
    /// connection after connection to one server computes `F` and `G` (two
    /// SipHashes) once. Both are pure functions of the destination under keys
    /// fixed at creation, so the memo answers exactly what they would.
    last: Option<(IpAddr, SocketAddr, u64, usize)>,
}

impl EphemeralPorts {
    /// A selector for `config`, keyed (and its table seeded) from `rng`, which it keeps
    /// for the random steps: give it a generator of its own,
    /// `EphemeralPorts::new(config, rng.fork("ephemeral-ports"))`.
    pub fn new(config: PortConfig, mut rng: StackRng) -> Result<EphemeralPorts, PortConfigError> {
        let (lo, hi) = (*config.range.start(), *config.range.end());
        if lo == 0 || hi < lo {
            return Err(PortConfigError::BadRange);
        }
        if config.table_len == 0 {
            return Err(PortConfigError::EmptyTable);
        }
        if config.max_step == 0 {
            return Err(PortConfigError::ZeroStep);
        }
        let key_offset = rng.bytes();
        let key_index = rng.bytes();
        // The RFC starts each counter at a random value.
        let table = (0..config.table_len).map(|_| rng.u32()).collect();
        Ok(EphemeralPorts {
            lo,
            count: u32::from(hi - lo) + 1,
            key_offset,
            key_index,
            table,
            max_step: config.max_step,
            rng,
            last: None,
        })
    }

    /// The ports this selector chooses from.
    pub fn range(&self) -> RangeInclusive<u16> {
        // `count - 1` fits: lo + count - 1 = hi.
        self.lo..=self.lo + (self.count - 1) as u16
    }

    /// A local port for a connection from `local` to `remote`: the first candidate for
    /// which `is_free` returns true, or `None` once every port of the range has been
    /// offered (each at most once).
    ///
    /// `is_free(port)` is the caller's demultiplexing check (no connection with this
    /// 4-tuple, or 5-tuple for UDP, exists and no listener owns the port); keep one
    /// selector per protocol.
    pub fn select(
        &mut self,
        local: IpAddr,
        remote: SocketAddr,
        mut is_free: impl FnMut(u16) -> bool,
    ) -> Option<u16> {
        //= https://www.rfc-editor.org/rfc/rfc6056#section-3.3.4
        // Algorithm 4: offset = F(local_IP, remote_IP, remote_port, secret_key1),
        // index = G(local_IP, remote_IP, remote_port, secret_key2), and the candidate
        // port is min_ephemeral + (offset + table[index]) % num_ephemeral, with
        // table[index] incremented for every port tried, until a suitable port is
        // found or num_ephemeral ports have been tried.
        let (offset, index) = self.offset_and_index(local, remote);
        let counter = self.table.get(index).copied().unwrap_or(0);
        let count = u64::from(self.count);
        // Reduce once, so that walking k = 0..count never wraps a counter mid-walk.
        let start = (offset.wrapping_add(u64::from(counter)) % count) as u32;
        for tried in 0..self.count {
            let port = self.lo_plus((start + tried) % self.count);
            if is_free(port) {
                // The RFC advances by the ports tried; also step a random amount so
                // that the next port for this destination is not the next number.
                let step = (tried + 1).max(self.rng.range_inclusive(1..=self.max_step));
                if let Some(c) = self.table.get_mut(index) {
                    *c = c.wrapping_add(step);
                }
                return Some(port);
            }
        }
        // Every port tried: the RFC's loop has advanced the counter by the range size.
        if let Some(c) = self.table.get_mut(index) {
            *c = c.wrapping_add(self.count);
        }
        None
    }

    /// RFC 6056 Algorithm 4's `F` (the offset) and `G` (the table index) for a
    /// destination, from the one-entry memo when it is the last one's.
    #[inline]
    fn offset_and_index(&mut self, local: IpAddr, remote: SocketAddr) -> (u64, usize) {
        if let Some((l, r, offset, index)) = self.last {
            if l == local && r == remote {
                return (offset, index);
            }
        }
        self.offset_and_index_uncached(local, remote)
    }

    #[inline(never)]
    fn offset_and_index_uncached(&mut self, local: IpAddr, remote: SocketAddr) -> (u64, usize) {
        let offset = hash(&self.key_offset, local, remote);
        let index = (hash(&self.key_index, local, remote) % self.table.len() as u64) as usize;
        self.last = Some((local, remote, offset, index));
        (offset, index)
    }

    /// The `i`-th port of the range, for `i < count`.
    fn lo_plus(&self, i: u32) -> u16 {
        // lo + i <= hi <= u16::MAX.
        self.lo + i as u16
    }
}

/// SipHash-2-4 under `key` of (local address, remote address, remote port), with
/// family tags so that IPv4 and IPv6 inputs never collide by construction.
fn hash(key: &[u8; 16], local: IpAddr, remote: SocketAddr) -> u64 {
    // The tagged addresses and the port gathered into one byte string, hashed
    // in one shot: SipHash's result depends only on the bytes, and one call
    // costs a fraction of five `write`s.
    let mut bytes = [0u8; 36];
    let mut n = put_tagged_ip(&mut bytes, 0, local);
    n = put_tagged_ip(&mut bytes, n, remote.ip());
    bytes[n..n + 2].copy_from_slice(&remote.port().to_be_bytes());
    n += 2;
    SipHasher24::new_with_key(key).hash(&bytes[..n])
}

impl fmt::Debug for EphemeralPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralPorts")
            .field("range", &self.range())
            .field("table_len", &self.table.len())
            .field("max_step", &self.max_step)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;
    use std::collections::HashSet;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn dst(i: u32, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i)), port)
    }

    fn selector(seed: u64, config: PortConfig) -> EphemeralPorts {
        EphemeralPorts::new(config, StackRng::from_seed(seed).fork("ephemeral-ports")).unwrap()
    }

    fn small(range: RangeInclusive<u16>) -> PortConfig {
        PortConfig {
            range,
            ..PortConfig::default()
        }
    }

    #[test]
    fn default_range_is_the_iana_dynamic_range() {
        let p = selector(0, PortConfig::default());
        assert_eq!(p.range(), 49152..=65535);
    }

    #[test]
    fn bad_configs_are_refused() {
        let rng = || StackRng::from_seed(0);
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 10..=9;
        for (config, err) in [
            (small(empty), PortConfigError::BadRange),
            (small(0..=10), PortConfigError::BadRange),
            (
                PortConfig {
                    table_len: 0,
                    ..PortConfig::default()
                },
                PortConfigError::EmptyTable,
            ),
            (
                PortConfig {
                    max_step: 0,
                    ..PortConfig::default()
                },
                PortConfigError::ZeroStep,
            ),
        ] {
            assert_eq!(EphemeralPorts::new(config, rng()).unwrap_err(), err);
        }
    }

    #[test]
    fn every_port_of_a_small_range_is_found_before_none() {
        let mut p = selector(1, small(1000..=1009));
        let mut used = HashSet::new();
        let remote = dst(1, 80);
        for _ in 0..10 {
            let port = p.select(LOCAL, remote, |c| !used.contains(&c)).unwrap();
            assert!((1000..=1009).contains(&port));
            assert!(used.insert(port));
        }
        let mut offered = 0;
        assert_eq!(
            p.select(LOCAL, remote, |_| {
                offered += 1;
                false
            }),
            None
        );
        assert_eq!(offered, 10);
    }

    #[test]
    fn exhaustion_offers_each_port_exactly_once() {
        let mut p = selector(2, small(40000..=40999));
        let mut offered = Vec::new();
        let got = p.select(LOCAL, dst(7, 443), |c| {
            offered.push(c);
            false
        });
        assert_eq!(got, None);
        assert_eq!(offered.len(), 1000);
        let distinct: HashSet<_> = offered.iter().copied().collect();
        assert_eq!(distinct.len(), 1000);
        assert!(offered.iter().all(|c| (40000..=40999).contains(c)));
    }

    #[test]
    fn the_full_port_range_works() {
        let mut p = selector(3, small(1..=65535));
        assert_eq!(p.range(), 1..=65535);
        let port = p.select(LOCAL, dst(1, 80), |_| true).unwrap();
        assert_ne!(port, 0);
        let mut n = 0u32;
        assert_eq!(
            p.select(LOCAL, dst(1, 80), |_| {
                n += 1;
                false
            }),
            None
        );
        assert_eq!(n, 65535);
    }

    #[test]
    fn a_one_port_range_gives_that_port() {
        let mut p = selector(4, small(5000..=5000));
        assert_eq!(p.select(LOCAL, dst(1, 80), |_| true), Some(5000));
        assert_eq!(p.select(LOCAL, dst(1, 80), |_| false), None);
    }

    #[test]
    fn first_ports_are_spread_uniformly_across_destinations() {
        let mut p = selector(5, PortConfig::default());
        let mut buckets = [0u32; 16];
        let n = 16_000;
        for i in 0..n {
            let port = p.select(LOCAL, dst(i, 443), |_| true).unwrap();
            buckets[usize::from((port - 49152) / 1024)] += 1;
        }
        // Expect 1000 per bucket; chi-square with 15 degrees of freedom stays under
        // 37.7 with probability 0.999.
        let chi2: f64 = buckets
            .iter()
            .map(|&b| (f64::from(b) - 1000.0).powi(2) / 1000.0)
            .sum();
        assert!(chi2 < 37.7, "chi2 = {chi2}, {buckets:?}");
    }

    #[test]
    fn sequential_connections_to_one_destination_are_not_sequential_ports() {
        let mut p = selector(6, PortConfig::default());
        let mut used = HashSet::new();
        let remote = dst(9, 443);
        let mut prev = None;
        let mut sequential = 0;
        for _ in 0..200 {
            let port = p.select(LOCAL, remote, |c| !used.contains(&c)).unwrap();
            used.insert(port);
            if prev.map(|q: u16| q.wrapping_add(1)) == Some(port) {
                sequential += 1;
            }
            prev = Some(port);
        }
        // A step of 1 is drawn with probability 1/8: expect ~25 of 200.
        assert!(sequential < 50, "{sequential} sequential of 200");
    }

    #[test]
    fn max_step_one_is_the_rfc_sequence() {
        let config = PortConfig {
            max_step: 1,
            ..PortConfig::default()
        };
        let mut p = selector(7, config);
        let remote = dst(3, 22);
        let first = p.select(LOCAL, remote, |_| true).unwrap();
        for i in 1..20u16 {
            let port = p.select(LOCAL, remote, |_| true).unwrap();
            let want = 49152 + (first - 49152 + i) % 16384;
            assert_eq!(port, want);
        }
    }

    #[test]
    fn busy_ports_advance_the_counter_past_them() {
        let config = PortConfig {
            max_step: 1,
            ..PortConfig::default()
        };
        let mut p = selector(8, config);
        let remote = dst(4, 22);
        let mut offered = Vec::new();
        // Refuse the first two candidates.
        let got = p
            .select(LOCAL, remote, |c| {
                offered.push(c);
                offered.len() > 2
            })
            .unwrap();
        assert_eq!(got, offered[2]);
        // RFC: table[index] went up by 3, so the next walk starts after `got`.
        let next = p.select(LOCAL, remote, |_| true).unwrap();
        assert_eq!(next, if got == 65535 { 49152 } else { got + 1 });
    }

    #[test]
    fn destinations_do_not_share_one_sequence() {
        let mut p = selector(9, PortConfig::default());
        let a1 = p.select(LOCAL, dst(1, 80), |_| true).unwrap();
        let b1 = p.select(LOCAL, dst(2, 80), |_| true).unwrap();
        let a2 = p.select(LOCAL, dst(1, 80), |_| true).unwrap();
        // a2 follows a1 by a small step; b1 is somewhere unrelated.
        let step = a2.wrapping_sub(a1);
        assert!((1..=8).contains(&step), "a1 {a1} a2 {a2}");
        assert!(b1.abs_diff(a1) > 8, "a1 {a1} b1 {b1}");
    }

    #[test]
    fn remote_port_and_family_change_the_choice() {
        let mut p = selector(10, small(1024..=65535));
        let a = p.select(LOCAL, dst(1, 80), |_| false);
        assert_eq!(a, None);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let first = |p: &mut EphemeralPorts, l, r| {
            let mut first = None;
            p.select(l, r, |c| {
                first.get_or_insert(c);
                false
            });
            first.unwrap()
        };
        let x = first(&mut p, LOCAL, dst(1, 80));
        let y = first(&mut p, LOCAL, dst(1, 81));
        let z = first(&mut p, v6, dst(1, 80));
        assert_ne!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn reproducible_from_the_seed() {
        let run = |seed| {
            let mut p = selector(seed, PortConfig::default());
            (0..50)
                .map(|i| p.select(LOCAL, dst(i % 7, 443), |c| c % 3 != 0).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
    }

    #[test]
    fn debug_shows_config_not_secrets() {
        let p = selector(0, small(1000..=1009));
        let s = format!("{p:?}");
        assert_eq!(
            s,
            "EphemeralPorts { range: 1000..=1009, table_len: 4096, max_step: 8, .. }"
        );
    }

    /// The hash as five separate writes (the form before the bytes were
    /// gathered into one).
    fn hash_by_parts(key: &[u8; 16], local: IpAddr, remote: SocketAddr) -> u64 {
        use core::hash::Hasher;
        let mut h = SipHasher24::new_with_key(key);
        for ip in [local, remote.ip()] {
            crate::tcp::isn::write_ip(&mut h, ip);
        }
        h.write(&remote.port().to_be_bytes());
        h.finish()
    }

    #[test]
    fn a_remembered_destination_gets_the_ports_an_unremembered_one_would() {
        // The same selector twice: one keeps its memo of the last destination,
        // the other forgets it before every call.
        let mut kept = selector(7, PortConfig::default());
        let mut forgot = selector(7, PortConfig::default());
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 443);
        let v6_local = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        let calls = [
            (LOCAL, dst(1, 80)),
            (LOCAL, dst(1, 80)),
            (LOCAL, dst(1, 81)),
            (LOCAL, dst(2, 80)),
            (LOCAL, dst(1, 80)),
            (v6_local, v6),
            (v6_local, v6),
            (LOCAL, dst(1, 80)),
        ];
        for (local, remote) in calls {
            forgot.last = None;
            let a = kept.select(local, remote, |p| p % 3 == 0);
            let b = forgot.select(local, remote, |p| p % 3 == 0);
            assert_eq!(a, b, "{local} -> {remote}");
        }
        assert_eq!(kept.table, forgot.table);
    }

    proptest! {
        #[test]
        fn one_write_hashes_as_the_separate_writes(
            key: [u8; 16], l4: u32, r4: u32, l6: u128, r6: u128, port: u16,
        ) {
            let (l4, r4) = (IpAddr::V4(Ipv4Addr::from(l4)), IpAddr::V4(Ipv4Addr::from(r4)));
            let (l6, r6) = (IpAddr::V6(Ipv6Addr::from(l6)), IpAddr::V6(Ipv6Addr::from(r6)));
            for (local, remote) in [(l4, r4), (l6, r6), (l4, r6), (l6, r4)] {
                let remote = SocketAddr::new(remote, port);
                prop_assert_eq!(hash(&key, local, remote), hash_by_parts(&key, local, remote));
            }
        }

        #[test]
        fn walk_visits_each_port_once_then_none(
            seed: u64, lo in 1u16..=65535, span in 0u16..300,
            table_len in 1usize..64, max_step in 1u32..20,
            remote_ip: u32, remote_port: u16,
        ) {
            let hi = lo.saturating_add(span);
            let config = PortConfig { range: lo..=hi, table_len, max_step };
            let mut p = EphemeralPorts::new(config, StackRng::from_seed(seed)).unwrap();
            let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(remote_ip)), remote_port);
            let mut used = HashSet::new();
            while let Some(port) = p.select(LOCAL, remote, |c| !used.contains(&c)) {
                prop_assert!((lo..=hi).contains(&port));
                prop_assert!(used.insert(port));
            }
            prop_assert_eq!(used.len(), usize::from(hi - lo) + 1);
        }
    }
}
