//! Time as the stack sees it: nanoseconds since an arbitrary origin, supplied by the
//! caller. The simulator's virtual clock and the real clock produce the same type.

use core::fmt;
use core::num::NonZeroU64;
use core::ops::{Add, AddAssign, Sub};

pub use core::time::Duration;

/// A point in time: nanoseconds since an origin the driver chooses.
///
/// Stored as nanoseconds + 1 in a `NonZeroU64`, so `Option<Instant>` is 8 bytes, not
/// 16: a connection holds several optional deadlines, and a million idle connections
/// feel every byte. The price is one value: the latest instant is `u64::MAX - 1`
/// nanoseconds (584 years), and `from_nanos(u64::MAX)` saturates to it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

impl Default for Instant {
    fn default() -> Instant {
        Instant::ZERO
    }
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant::from_nanos(0);

    /// The latest representable instant, `u64::MAX - 1` nanoseconds after the origin.
    pub const MAX: Instant = Instant::from_nanos(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin (at most [`Instant::MAX`]).
    #[inline]
    pub const fn from_nanos(nanos: u64) -> Instant {
        match NonZeroU64::new(nanos.saturating_add(1)) {
            Some(n) => Instant(n),
            None => Instant(NonZeroU64::MAX),
        }
    }

    /// Nanoseconds since the origin.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0.get() - 1
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    #[inline]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.saturating_nanos_since(earlier))
    }

    /// [`saturating_duration_since`](Self::saturating_duration_since) in
    /// nanoseconds, for arithmetic that stays in integers.
    #[inline]
    pub fn saturating_nanos_since(self, earlier: Instant) -> u64 {
        self.0.get().saturating_sub(earlier.0.get())
    }

    /// `self + d`, or `None` past [`Instant::MAX`].
    #[inline]
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        u64::try_from(d.as_nanos())
            .ok()
            .and_then(|n| self.as_nanos().checked_add(n))
            .filter(|&n| n < u64::MAX)
            .map(Instant::from_nanos)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far future rather than wrapping.
    #[inline]
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant::MAX)
    }
}

impl AddAssign<Duration> for Instant {
    #[inline]
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero.
    #[inline]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.as_nanos() / 1_000_000_000,
            self.as_nanos() % 1_000_000_000
        )
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates_instead_of_wrapping() {
        let late = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(late + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::MAX.as_nanos(), u64::MAX - 1);
        assert_eq!(Instant::from_nanos(u64::MAX), Instant::MAX);
    }

    #[test]
    fn an_optional_instant_is_as_small_as_an_instant() {
        assert_eq!(core::mem::size_of::<Option<Instant>>(), 8);
        assert!(Instant::ZERO < Instant::from_nanos(1));
        assert_eq!(Instant::from_nanos(7).as_nanos(), 7);
    }

    #[test]
    fn subtraction_saturates_at_zero() {
        let a = Instant::from_nanos(5);
        let b = Instant::from_nanos(9);
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(b - a, Duration::from_nanos(4));
    }

    #[test]
    fn debug_prints_seconds_with_nanoseconds() {
        assert_eq!(
            format!("{:?}", Instant::from_nanos(1_500_000_000)),
            "1.500000000s"
        );
    }
}
