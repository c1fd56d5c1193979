//! The stack's own clock: the latest `now` a caller has passed in.
//!
//! The sans-IO contract lets a driver pass any `now`, and a driver's clock can
//! step back (a wall clock set back, a value read on another thread, a bug). The
//! stack must not follow it: its timestamps (TSval, RFC 7323) would go back, so
//! the peer would drop our segments as old duplicates by PAWS and the connection
//! would stall until it timed out; RTT samples and deadlines would be measured
//! from instants already past. So every entry point that carries `now` first
//! passes it through [`StackClock::advance`], and the stack sees time stand still
//! instead of going back, as a monotonic clock (Linux's `tcp_clock_ns`) does.
//! (ngtcp2 asserts the same of its callers; a stack that must not fail on bad
//! input clamps instead.)

//= https://www.rfc-editor.org/rfc/rfc7323#section-5
//# PAWS uses the same TCP Timestamps option as the RTTM mechanism
//# described earlier, and assumes that every received TCP segment
//# (including data and ACK segments) contains a timestamp SEG.TSval
//# whose values are monotone non-decreasing in time.

use crate::time::Instant;

/// The latest instant the stack has been given.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StackClock {
    latest: Instant,
}

impl StackClock {
    /// `now`, or the latest instant already seen if `now` is earlier; that
    /// becomes the latest.
    #[inline(always)]
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        let now = now.max(self.latest);
        self.latest = now;
        now
    }

    /// `now`, or the latest instant already seen if `now` is earlier, for the
    /// calls that only read ([`Stack::tcp_info`](super::Stack::tcp_info),
    /// [`Stack::socket_table`](super::Stack::socket_table)).
    #[inline(always)]
    pub(crate) fn read(&self, now: Instant) -> Instant {
        now.max(self.latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_now_reads_as_the_latest_seen() {
        let mut c = StackClock::default();
        let t = |ms: u64| Instant::from_nanos(ms * 1_000_000);
        assert_eq!(c.advance(t(5)), t(5));
        assert_eq!(c.advance(t(3)), t(5));
        assert_eq!(c.read(t(1)), t(5));
        assert_eq!(c.advance(t(7)), t(7));
        assert_eq!(c.read(t(9)), t(9));
        assert_eq!(c.advance(t(6)), t(7));
    }
}

/// A transfer after one caller's clock stepped back 5 s (a wall clock set back),
/// the other's right: the stacks joined by hand, one round per millisecond.
#[cfg(test)]
mod rewind_tests {
    use core::net::{IpAddr, SocketAddr};

    use super::super::tests::{connect, pattern, tcp_of, Impairment, Pair, B4};
    use crate::time::{Duration, Instant};

    #[test]
    fn a_callers_clock_stepping_back_costs_no_paws_drop_and_no_stall() {
        let mut pair = Pair::new(Impairment::default(), 71);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let (c, _l, s) = connect(&mut pair, server);
        let data = pattern(200_000, 2);
        let (mut sent, mut got) = (0, Vec::new());
        let mut tsvals = Vec::new();
        let mut buf = vec![0u8; 2000];
        let mut right = pair.now + Duration::from_secs(10);
        // From round 20 on, A's caller reads its clock 5 s slow; the first
        // 1,000 bytes go before, so that B holds a TS.Recent of the right time.
        let slow = |t: Instant| Instant::from_nanos(t.as_nanos() - 5_000_000_000);
        let mut tsvals_before = 0;
        for round in 0..2000 {
            let (a_now, limit) = if round < 20 {
                tsvals_before = tsvals.len();
                (right, 1000)
            } else {
                (slow(right), data.len())
            };
            while sent < limit {
                match pair.a.tcp_send(a_now, c, &data[sent..limit]) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            while let Some(n) = pair.a.poll_transmit(a_now, &mut buf) {
                tsvals.extend(tcp_of(&buf[..n]).options.timestamp.map(|t| t.tsval));
                pair.b.handle_packet(right, &buf[..n]);
            }
            while let Ok(n) = pair.b.tcp_recv(right, s, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            while let Some(n) = pair.b.poll_transmit(right, &mut buf) {
                pair.a.handle_packet(a_now, &buf[..n]);
            }
            pair.a.handle_timeout(a_now);
            pair.b.handle_timeout(right);
            if got.len() == data.len() {
                break;
            }
            right += Duration::from_millis(1);
        }
        assert_eq!(got.len(), data.len(), "bytes delivered in 2,000 rounds");
        assert!(got == data, "bytes delivered differ");
        // Without the stack's own clock, A's TSvals went 5 s back and B dropped
        // every segment by PAWS until A's caller caught up, 5,000 rounds later.
        assert_eq!(pair.b.tcp_counters(s).unwrap().paws_drops, 0);
        assert!(tsvals_before > 0 && tsvals.len() > tsvals_before + 100);
        assert!(
            tsvals.windows(2).all(|w| w[1].wrapping_sub(w[0]) < 1 << 31),
            "TSvals went back"
        );
    }
}
