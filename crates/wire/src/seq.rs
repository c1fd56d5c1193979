//! TCP sequence numbers: 32-bit values compared modulo 2^32.

//= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
//# It is essential to remember that the actual sequence number space is
//# finite, though large.  This space ranges from 0 to 2^32 - 1.  Since the
//# space is finite, all arithmetic dealing with sequence numbers must be
//# performed modulo 2^32.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number.
///
/// Ordering is the RFC 9293 "modulo 2^32" comparison: `a < b` when `b` lies less than
/// 2^31 ahead of `a`. That relation is not transitive across the whole space, so
/// `SeqNumber` deliberately implements `PartialOrd` only and never `Ord`; do not sort
/// by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The signed distance from `other` to `self` (`self - other`), in -2^31..2^31.
    #[inline]
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The larger of two sequence numbers in modular order.
    #[inline]
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self.diff(other) >= 0 {
            self
        } else {
            other
        }
    }

    /// The smaller of two sequence numbers in modular order.
    #[inline]
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self.diff(other) <= 0 {
            self
        } else {
            other
        }
    }

    /// Whether `self` lies in the half-open window `[start, start + len)`.
    #[inline]
    pub fn in_window(self, start: SeqNumber, len: u32) -> bool {
        self.0.wrapping_sub(start.0) < len
    }
}

impl PartialOrd for SeqNumber {
    #[inline]
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    /// Advance by `rhs` octets. `rhs` must fit the window space (< 2^31); larger
    /// values are a logic error in the caller and wrap like any other.
    #[inline]
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<usize> for SeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl AddAssign<u32> for SeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: u32) {
        *self = *self + rhs;
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    #[inline]
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl Sub for SeqNumber {
    type Output = i32;
    /// The signed distance `self - rhs`; see [`SeqNumber::diff`].
    #[inline]
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.diff(rhs)
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNumber({})", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u32> for SeqNumber {
    fn from(v: u32) -> Self {
        SeqNumber(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comparison_wraps_around_zero() {
        let near_max = SeqNumber(u32::MAX - 10);
        let after_wrap = SeqNumber(5);
        assert!(near_max < after_wrap);
        assert!(after_wrap > near_max);
        assert_eq!(after_wrap - near_max, 16);
        assert_eq!(near_max + 16usize, after_wrap);
    }

    #[test]
    fn max_and_min_follow_modular_order() {
        let a = SeqNumber(u32::MAX);
        let b = SeqNumber(1);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }

    #[test]
    fn window_membership_is_half_open() {
        let start = SeqNumber(u32::MAX - 1);
        assert!(start.in_window(start, 4));
        assert!(SeqNumber(1).in_window(start, 4));
        assert!(!SeqNumber(2).in_window(start, 4));
        assert!(!SeqNumber(u32::MAX - 2).in_window(start, 4));
        assert!(!start.in_window(start, 0));
    }

    proptest! {
        #[test]
        fn adding_less_than_half_space_moves_forward(base: u32, step in 1u32..(1 << 31)) {
            let a = SeqNumber(base);
            let b = a + step;
            prop_assert!(a < b);
            prop_assert!(b > a);
            prop_assert_eq!(b - a, step as i32);
        }
    }
}
