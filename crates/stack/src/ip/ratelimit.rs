//! A token bucket on integer nanoseconds, for the stack's rate limits: ICMP and
//! ICMPv6 errors (RFC 4443 section 2.4 (f), RFC 1812 section 4.3.2.8; Linux's
//! `icmp_msgs_per_sec` 1000 and `icmp_msgs_burst` 50) and RFC 5961 challenge ACKs
//! (section 7, "ACK throttling").
//!
//! The bucket holds up to `burst` tokens and gains `rate_per_sec` tokens a second;
//! each allowed event takes one. Tokens are kept in units of 10^-9 token, so the
//! refill `elapsed_ns * rate_per_sec` is exact integer arithmetic (u128): the same
//! inputs always give the same answers, with no drift from rounding. It starts full.

use crate::time::Instant;

const UNIT: u128 = 1_000_000_000;

/// A deterministic token bucket. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    rate_per_sec: u32,
    burst: u32,
    /// Tokens, in units of 10^-9 token; at most `burst * UNIT`.
    credit: u128,
    /// When `credit` was last brought up to date; `None` before the first call.
    last: Option<Instant>,
}

impl TokenBucket {
    /// Linux's global ICMP limit: 1000 messages a second, bursts of 50
    /// (`net.ipv4.icmp_msgs_per_sec`, `net.ipv4.icmp_msgs_burst`).
    pub const ICMP_RATE_PER_SEC: u32 = 1000;
    /// See [`TokenBucket::ICMP_RATE_PER_SEC`].
    pub const ICMP_BURST: u32 = 50;

    /// A full bucket of `burst` tokens refilled at `rate_per_sec`. A zero burst allows
    /// nothing; a zero rate allows the first `burst` events and nothing after.
    pub fn new(rate_per_sec: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            rate_per_sec,
            burst,
            credit: u128::from(burst) * UNIT,
            last: None,
        }
    }

    /// Linux's ICMP error limit: [`TokenBucket::ICMP_RATE_PER_SEC`] a second,
    /// [`TokenBucket::ICMP_BURST`] at once.
    //= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
    //# (f) Finally, in order to limit the bandwidth and forwarding costs
    //#     incurred by originating ICMPv6 error messages, an IPv6 node MUST
    //#     limit the rate of ICMPv6 error messages it originates.
    pub fn icmp() -> TokenBucket {
        TokenBucket::new(Self::ICMP_RATE_PER_SEC, Self::ICMP_BURST)
    }

    /// The refill rate, tokens a second.
    pub fn rate_per_sec(&self) -> u32 {
        self.rate_per_sec
    }

    /// The bucket's size.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn refill(&mut self, now: Instant) {
        let cap = u128::from(self.burst) * UNIT;
        match self.last {
            // Time going backwards refills nothing, and the clock the bucket keeps
            // stays at the latest instant seen.
            Some(last) if now <= last => {}
            Some(last) => {
                let elapsed = u128::from(now.as_nanos() - last.as_nanos());
                let gained = elapsed.saturating_mul(u128::from(self.rate_per_sec));
                self.credit = self.credit.saturating_add(gained).min(cap);
                self.last = Some(now);
            }
            None => self.last = Some(now),
        }
    }

    /// Whether one more event may happen at `now`; if so, it takes a token.
    pub fn allow(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.credit >= UNIT {
            self.credit -= UNIT;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now` (without taking any).
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        u32::try_from(self.credit / UNIT).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn burst_is_allowed_then_refused() {
        let mut b = TokenBucket::icmp();
        for _ in 0..50 {
            assert!(b.allow(ms(0)));
        }
        assert!(!b.allow(ms(0)));
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let mut b = TokenBucket::new(1000, 50);
        while b.allow(ms(0)) {}
        // One token a millisecond.
        assert!(!b.allow(Instant::from_nanos(999_999)));
        assert!(b.allow(ms(1)));
        assert!(!b.allow(ms(1)));
        assert_eq!(b.available(ms(11)), 10);
        // Never more than the burst.
        assert_eq!(b.available(ms(1_000_000)), 50);
    }

    #[test]
    fn fractional_refill_accumulates_exactly() {
        // Three a second: one token every 333,333,333.33 ns.
        let mut b = TokenBucket::new(3, 10);
        while b.allow(ms(0)) {}
        let mut allowed = 0;
        for step in 1..=3000u64 {
            if b.allow(ms(step)) {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 9);
    }

    #[test]
    fn zero_burst_or_rate() {
        let mut none = TokenBucket::new(1000, 0);
        assert!(!none.allow(ms(0)));
        assert!(!none.allow(ms(10_000)));
        let mut once = TokenBucket::new(0, 2);
        assert!(once.allow(ms(0)));
        assert!(once.allow(ms(0)));
        assert!(!once.allow(ms(10_000)));
    }

    #[test]
    fn time_going_backwards_does_not_mint_tokens() {
        let mut b = TokenBucket::new(1000, 1);
        assert!(b.allow(ms(100)));
        assert!(!b.allow(ms(50)));
        assert!(!b.allow(ms(100)));
        assert!(b.allow(ms(101)));
    }

    proptest! {
        #[test]
        fn never_more_than_burst_plus_rate_times_elapsed(
            rate in 0u32..5000, burst in 0u32..100,
            steps in proptest::collection::vec(0u64..5_000_000, 1..300),
        ) {
            let mut b = TokenBucket::new(rate, burst);
            let mut now = 0u64;
            let mut allowed = 0u128;
            for dt in steps {
                now += dt;
                if b.allow(Instant::from_nanos(now)) {
                    allowed += 1;
                }
                let bound = u128::from(burst) + u128::from(now) * u128::from(rate) / UNIT;
                prop_assert!(allowed <= bound);
            }
        }
    }
}
