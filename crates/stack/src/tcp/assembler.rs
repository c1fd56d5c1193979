//! The receive side's out-of-order bookkeeping: which byte ranges beyond RCV.NXT have
//! arrived.
//!
//! The receive buffer holds the bytes; the [`Assembler`] only remembers where they
//! are, as sorted, non-overlapping, non-adjacent ranges of offsets relative to
//! RCV.NXT (offset 0 is the next byte the application is owed). It answers the three
//! questions the receiver asks:
//!
//! - what is new in this segment ([`Assembler::add`] returns how many bytes were not
//!   held before),
//! - what became deliverable ([`Assembler::remove_front`]: the contiguous bytes at
//!   offset 0, after which every offset shifts down as RCV.NXT advances),
//! - what to SACK ([`Assembler::sack_blocks`], most recently changed range first, as
//!   RFC 2018 section 4 asks).
//!
//! # The bound
//!
//! Out-of-order data can fragment without limit, so the number of out-of-order
//! ranges (ranges with a hole in front of them) is bounded by
//! [`Assembler::max_ranges`] (default 32). A segment that would open one more is
//! refused with [`TooManyHoles`] and changes nothing: the receiver drops it, counts
//! it, and the sender retransmits it later. A segment that touches or overlaps a
//! held range never opens a new one, and data at offset 0 (in order) has no hole in
//! front of it, so it is always accepted. Storage is allocated on the first
//! out-of-order segment, once, for `max_ranges + 1` ranges, and never grows.
//!
//! # Offsets
//!
//! Offsets are `u32` (the receive window is below 2^30); bytes at offsets from
//! `u32::MAX` on are ignored. The caller trims segments to its window first.

use core::fmt;
use core::ops::Range;

/// The default bound on out-of-order ranges.
pub const DEFAULT_MAX_RANGES: usize = 32;

/// A segment would open more out-of-order ranges than the bound allows; nothing was
/// changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyHoles;

impl fmt::Display for TooManyHoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many out-of-order ranges")
    }
}

impl core::error::Error for TooManyHoles {}

/// What [`Assembler::add`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddOutcome {
    /// Bytes of the segment that were not held before.
    pub new_bytes: usize,
}

impl AddOutcome {
    /// No byte was new: the whole segment was a duplicate (or empty).
    pub fn is_duplicate(&self) -> bool {
        self.new_bytes == 0
    }
}

/// One held range, `start..end` (end excluded, `start < end`), with the stamp of
/// the last segment that landed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    start: u32,
    end: u32,
    stamp: u64,
}

/// The set of byte ranges received beyond RCV.NXT. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Assembler {
    /// Sorted by `start`; for consecutive blocks `a.end < b.start` (a gap of at least
    /// one byte). At most one block starts at 0; at most `max_ranges` do not.
    blocks: Vec<Block>,
    max_ranges: usize,
    /// Incremented by every non-empty `add`; a block's stamp says how recent it is.
    clock: u64,
}

impl Default for Assembler {
    fn default() -> Assembler {
        Assembler::new(DEFAULT_MAX_RANGES)
    }
}

impl Assembler {
    /// An empty assembler that holds at most `max_ranges` out-of-order ranges. It
    /// allocates nothing until the first out-of-order segment.
    pub fn new(max_ranges: usize) -> Assembler {
        Assembler {
            blocks: Vec::new(),
            max_ranges,
            clock: 0,
        }
    }

    /// Makes this assembler what [`new`](Self::new)`(max_ranges)` makes: in
    /// place when its ranges' storage is not allocated, with nothing to drop.
    #[inline]
    pub(crate) fn renew(&mut self, max_ranges: usize) {
        if self.blocks.capacity() != 0 {
            crate::hint::cold_path();
            *self = Assembler::new(max_ranges);
            return;
        }
        self.max_ranges = max_ranges;
        self.clock = 0;
    }

    /// The bound on out-of-order ranges.
    pub fn max_ranges(&self) -> usize {
        self.max_ranges
    }

    /// Whether the ranges' storage is allocated (held ranges or not).
    pub(crate) fn holds_storage(&self) -> bool {
        self.blocks.capacity() != 0
    }

    /// Nothing is held.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The number of ranges held (including one at offset 0, if any).
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// The number of out-of-order ranges: those with a hole in front of them.
    pub fn holes(&self) -> usize {
        self.blocks.iter().filter(|b| b.start > 0).count()
    }

    /// The number of bytes held.
    pub fn held_bytes(&self) -> usize {
        self.blocks.iter().map(|b| (b.end - b.start) as usize).sum()
    }

    /// Forgets everything (the connection is gone, or its buffer was dropped).
    pub fn clear(&mut self) {
        self.blocks.clear();
    }

    /// Records that the `len` bytes at `offset` arrived, merging with the ranges they
    /// overlap or touch.
    ///
    /// Fails with [`TooManyHoles`], changing nothing, if the segment touches no held
    /// range, does not start at offset 0, and [`max_ranges`](Self::max_ranges)
    /// out-of-order ranges are already held. An empty segment changes nothing.
    pub fn add(&mut self, offset: u32, len: usize) -> Result<AddOutcome, TooManyHoles> {
        let start = offset;
        let end = u32::try_from(len)
            .ok()
            .and_then(|l| offset.checked_add(l))
            .unwrap_or(u32::MAX);
        if end <= start {
            return Ok(AddOutcome { new_bytes: 0 });
        }
        // The blocks this segment overlaps or touches form the run first..last.
        let first = self.blocks.partition_point(|b| b.end < start);
        let last = self.blocks.partition_point(|b| b.start <= end);
        let stamp = self.tick();

        if first == last {
            // Touches nothing: a new block, maybe a new hole.
            if start > 0 && self.holes() >= self.max_ranges {
                return Err(TooManyHoles);
            }
            if self.blocks.capacity() == 0 {
                // Once, for good: `max_ranges` out of order plus one at offset 0.
                self.blocks.reserve_exact(self.max_ranges.saturating_add(1));
            }
            self.blocks.insert(first, Block { start, end, stamp });
            return Ok(AddOutcome {
                new_bytes: (end - start) as usize,
            });
        }

        let run = &self.blocks[first..last];
        let held: u64 = run.iter().map(|b| u64::from(b.end - b.start)).sum();
        let merged = Block {
            start: start.min(run[0].start),
            end: end.max(run[run.len() - 1].end),
            stamp,
        };
        // Bytes covered after, minus bytes held before, all within the merged block.
        let new_bytes = u64::from(merged.end - merged.start) - held;
        self.blocks[first] = merged;
        self.blocks.drain(first + 1..last);
        Ok(AddOutcome {
            new_bytes: new_bytes as usize,
        })
    }

    /// If bytes are held at offset 0, removes them and returns how many: they are
    /// deliverable now. The remaining offsets shift down by that count, because the
    /// caller advances RCV.NXT by it.
    pub fn remove_front(&mut self) -> Option<usize> {
        match self.blocks.first() {
            Some(b) if b.start == 0 => {
                let n = b.end;
                self.blocks.remove(0);
                for b in &mut self.blocks {
                    // Every later block starts after `n` (blocks never touch).
                    b.start -= n;
                    b.end -= n;
                }
                Some(n as usize)
            }
            _ => None,
        }
    }

    /// RCV.NXT advanced by `n` (in-order data consumed without passing through the
    /// assembler): forgets held bytes below `n` and shifts the rest down by `n`. A
    /// range that reached `n` or beyond now starts at 0; take it with
    /// [`remove_front`](Self::remove_front).
    pub fn advance(&mut self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if n == 0 {
            return;
        }
        self.blocks.retain_mut(|b| {
            if b.end <= n {
                return false;
            }
            b.start = b.start.saturating_sub(n);
            b.end -= n;
            true
        });
    }

    /// The held ranges in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = Range<u32>> + '_ {
        self.blocks.iter().map(|b| b.start..b.end)
    }

    /// Up to `max` held ranges, the most recently changed first, for the SACK option
    /// (call [`remove_front`](Self::remove_front) first, so that delivered bytes are
    /// not reported).
    ///
    /// The first range is the one the last added segment landed in, and the others
    /// follow in the order segments last landed in them, which is the order in which
    /// they were last reported first.
    pub fn sack_blocks(&self, max: usize) -> SackBlocks<'_> {
        //= https://www.rfc-editor.org/rfc/rfc2018#section-4
        //# The first SACK block (i.e., the one immediately following the
        //# kind and length fields in the option) MUST specify the contiguous
        //# block of data containing the segment which triggered this ACK,
        //# unless that segment advanced the Acknowledgment Number field in
        //# the header.
        //
        //= https://www.rfc-editor.org/rfc/rfc2018#section-4
        //# The SACK option SHOULD be filled out by repeating the most
        //# recently reported SACK blocks (based on first SACK blocks in
        //# previous SACK options) that are not subsets of a SACK block
        //# already included in the SACK option being constructed.
        SackBlocks {
            blocks: &self.blocks,
            below: None,
            remaining: max,
        }
    }

    fn tick(&mut self) -> u64 {
        // 2^64 segments do not arrive; saturating keeps the order sane regardless
        // (ties fall back to the position).
        self.clock = self.clock.saturating_add(1);
        self.clock
    }
}

/// The iterator [`Assembler::sack_blocks`] returns: ranges by decreasing recency.
#[derive(Debug, Clone)]
pub struct SackBlocks<'a> {
    blocks: &'a [Block],
    /// The (stamp, start) key of the last range yielded; the next is the largest
    /// key below it.
    below: Option<(u64, u32)>,
    remaining: usize,
}

impl Iterator for SackBlocks<'_> {
    type Item = Range<u32>;

    fn next(&mut self) -> Option<Range<u32>> {
        if self.remaining == 0 {
            return None;
        }
        // At most max_ranges + 1 blocks and a handful of SACK slots: a scan per item
        // costs less than sorting.
        let best = self
            .blocks
            .iter()
            .map(|b| ((b.stamp, b.start), b))
            .filter(|(key, _)| self.below.is_none_or(|below| *key < below))
            .max_by_key(|(key, _)| *key)?;
        self.below = Some(best.0);
        self.remaining -= 1;
        Some(best.1.start..best.1.end)
    }
}

#[cfg(test)]
// One-range expectations read best as `[a..b]`.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ranges(a: &Assembler) -> Vec<Range<u32>> {
        a.iter().collect()
    }

    fn sacks(a: &Assembler, max: usize) -> Vec<Range<u32>> {
        a.sack_blocks(max).collect()
    }

    #[test]
    fn renew_makes_what_new_makes_with_or_without_storage() {
        let mut a = Assembler::new(4);
        a.add(10, 5).unwrap();
        assert!(a.holds_storage());
        a.renew(8);
        assert_eq!(format!("{a:?}"), format!("{:?}", Assembler::new(8)));
        // No storage: renewed in place.
        a.renew(3);
        assert_eq!(format!("{a:?}"), format!("{:?}", Assembler::new(3)));
    }

    #[test]
    fn a_new_assembler_is_empty_and_allocates_nothing() {
        let a = Assembler::default();
        assert!(a.is_empty());
        assert_eq!(a.max_ranges(), 32);
        assert_eq!(a.blocks.capacity(), 0);
        assert_eq!(sacks(&a, 4), []);
    }

    #[test]
    fn out_of_order_segments_are_held_and_sorted() {
        let mut a = Assembler::default();
        assert_eq!(a.add(300, 100), Ok(AddOutcome { new_bytes: 100 }));
        assert_eq!(a.add(100, 50), Ok(AddOutcome { new_bytes: 50 }));
        assert_eq!(ranges(&a), [100..150, 300..400]);
        assert_eq!(a.holes(), 2);
        assert_eq!(a.held_bytes(), 150);
        assert_eq!(a.remove_front(), None);
    }

    #[test]
    fn overlapping_and_adjacent_segments_merge() {
        let mut a = Assembler::default();
        a.add(100, 100).unwrap();
        a.add(300, 100).unwrap();
        // Touches the end of the first.
        assert_eq!(a.add(200, 10).unwrap().new_bytes, 10);
        assert_eq!(ranges(&a), [100..210, 300..400]);
        // Bridges both, overlapping each.
        assert_eq!(a.add(150, 200).unwrap().new_bytes, 90);
        assert_eq!(ranges(&a), [100..400]);
        // Touches the start.
        assert_eq!(a.add(90, 10).unwrap().new_bytes, 10);
        assert_eq!(ranges(&a), [90..400]);
    }

    #[test]
    fn a_segment_spanning_several_ranges_swallows_them() {
        let mut a = Assembler::default();
        for i in 0..5 {
            a.add(100 + i * 20, 10).unwrap();
        }
        assert_eq!(a.len(), 5);
        assert_eq!(a.add(50, 200).unwrap().new_bytes, 200 - 50);
        assert_eq!(ranges(&a), [50..250]);
    }

    #[test]
    fn duplicates_add_nothing() {
        let mut a = Assembler::default();
        a.add(100, 100).unwrap();
        let dup = a.add(120, 30).unwrap();
        assert!(dup.is_duplicate());
        assert_eq!(ranges(&a), [100..200]);
        assert!(a.add(500, 0).unwrap().is_duplicate());
        assert_eq!(ranges(&a), [100..200]);
    }

    #[test]
    fn in_order_data_is_delivered_with_what_it_joins() {
        let mut a = Assembler::default();
        a.add(100, 100).unwrap();
        a.add(300, 50).unwrap();
        assert_eq!(a.remove_front(), None);
        // The missing first 100 bytes arrive.
        assert_eq!(a.add(0, 100).unwrap().new_bytes, 100);
        assert_eq!(a.remove_front(), Some(200));
        // RCV.NXT moved by 200: the last range is now at 100..150.
        assert_eq!(ranges(&a), [100..150]);
        assert_eq!(a.remove_front(), None);
    }

    #[test]
    fn advance_trims_and_shifts() {
        let mut a = Assembler::default();
        a.add(10, 10).unwrap();
        a.add(30, 10).unwrap();
        a.add(50, 10).unwrap();
        a.advance(35);
        // 10..20 gone, 30..40 trimmed to 35..40 -> 0..5, 50..60 -> 15..25.
        assert_eq!(ranges(&a), [0..5, 15..25]);
        assert_eq!(a.remove_front(), Some(5));
        assert_eq!(ranges(&a), [10..20]);
        a.advance(usize::MAX);
        assert!(a.is_empty());
        a.advance(0);
        assert!(a.is_empty());
    }

    #[test]
    fn the_bound_refuses_a_new_hole_without_changing_anything() {
        let mut a = Assembler::new(3);
        for i in 1..=3 {
            a.add(i * 100, 10).unwrap();
        }
        let before = ranges(&a);
        assert_eq!(a.add(1000, 10), Err(TooManyHoles));
        assert_eq!(a.add(50, 10), Err(TooManyHoles));
        assert_eq!(ranges(&a), before);
        // Extending or merging is still fine.
        assert_eq!(a.add(110, 10).unwrap().new_bytes, 10);
        assert_eq!(a.add(150, 200).unwrap().new_bytes, 180);
        assert_eq!(ranges(&a), [100..120, 150..350]);
        // And a freed slot can be used again.
        assert!(a.add(1000, 10).is_ok());
    }

    #[test]
    fn in_order_data_is_accepted_even_at_the_bound() {
        let mut a = Assembler::new(2);
        a.add(100, 10).unwrap();
        a.add(200, 10).unwrap();
        assert_eq!(a.add(0, 10).unwrap().new_bytes, 10);
        assert_eq!(a.len(), 3);
        assert!(a.blocks.capacity() <= 3);
        assert_eq!(a.remove_front(), Some(10));
        assert_eq!(ranges(&a), [90..100, 190..200]);
    }

    #[test]
    fn a_zero_bound_holds_only_in_order_data() {
        let mut a = Assembler::new(0);
        assert_eq!(a.add(1, 1), Err(TooManyHoles));
        assert_eq!(a.add(0, 5).unwrap().new_bytes, 5);
        assert_eq!(a.remove_front(), Some(5));
    }

    #[test]
    fn storage_is_allocated_once_for_the_bound() {
        let mut a = Assembler::new(4);
        a.add(10, 1).unwrap();
        let cap = a.blocks.capacity();
        assert_eq!(cap, 5);
        for i in 2..100 {
            let _ = a.add(i * 10, 1);
            let _ = a.add(0, 1);
        }
        assert_eq!(a.blocks.capacity(), cap);
    }

    #[test]
    fn offsets_past_u32_max_are_ignored_without_panicking() {
        let mut a = Assembler::default();
        assert_eq!(a.add(u32::MAX - 10, 100).unwrap().new_bytes, 10);
        assert_eq!(ranges(&a), [u32::MAX - 10..u32::MAX]);
        assert!(a.add(u32::MAX, 5).unwrap().is_duplicate());
        assert_eq!(
            a.add(0, usize::MAX).unwrap().new_bytes,
            (u32::MAX - 10) as usize
        );
        assert_eq!(a.remove_front(), Some(u32::MAX as usize));
        assert!(a.is_empty());
    }

    #[test]
    fn sack_blocks_put_the_latest_segment_first() {
        let mut a = Assembler::default();
        a.add(100, 10).unwrap();
        a.add(300, 10).unwrap();
        a.add(500, 10).unwrap();
        assert_eq!(sacks(&a, 4), [500..510, 300..310, 100..110]);
        // A segment landing in the oldest range makes it the most recent.
        a.add(110, 10).unwrap();
        assert_eq!(sacks(&a, 4), [100..120, 500..510, 300..310]);
        // A duplicate too: the first block must contain the segment that
        // triggered the ACK.
        a.add(300, 5).unwrap();
        assert_eq!(sacks(&a, 4), [300..310, 100..120, 500..510]);
        // A merge takes the new stamp.
        a.add(310, 190).unwrap();
        assert_eq!(sacks(&a, 4), [300..510, 100..120]);
    }

    #[test]
    fn sack_blocks_respect_the_limit() {
        let mut a = Assembler::default();
        for i in 0..10 {
            a.add(100 + i * 100, 10).unwrap();
        }
        assert_eq!(sacks(&a, 3), [1000..1010, 900..910, 800..810]);
        assert_eq!(sacks(&a, 0), []);
        assert_eq!(a.sack_blocks(40).count(), 10);
    }

    #[test]
    fn sack_order_survives_delivery() {
        let mut a = Assembler::default();
        a.add(200, 10).unwrap();
        a.add(100, 10).unwrap();
        a.add(0, 100).unwrap();
        assert_eq!(a.remove_front(), Some(110));
        assert_eq!(sacks(&a, 4), [90..100]);
    }

    #[test]
    fn saturated_clock_still_orders_without_panicking() {
        let mut a = Assembler {
            clock: u64::MAX - 1,
            ..Assembler::default()
        };
        a.add(100, 1).unwrap();
        a.add(200, 1).unwrap();
        a.add(300, 1).unwrap();
        assert_eq!(a.sack_blocks(4).count(), 3);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut a = Assembler::default();
        a.add(5, 5).unwrap();
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a.remove_front(), None);
    }

    #[test]
    fn too_many_holes_displays_a_reason() {
        assert_eq!(TooManyHoles.to_string(), "too many out-of-order ranges");
    }

    /// The naive model: one bool per byte offset.
    #[derive(Debug, Clone)]
    struct Model {
        bits: Vec<bool>,
    }

    const MODEL_LEN: usize = 1024;

    impl Model {
        fn new() -> Model {
            Model {
                bits: vec![false; MODEL_LEN],
            }
        }

        fn runs(&self) -> Vec<Range<u32>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < self.bits.len() {
                if self.bits[i] {
                    let s = i;
                    while i < self.bits.len() && self.bits[i] {
                        i += 1;
                    }
                    out.push(s as u32..i as u32);
                } else {
                    i += 1;
                }
            }
            out
        }

        fn holes(&self) -> usize {
            self.runs().iter().filter(|r| r.start > 0).count()
        }

        fn shift(&mut self, n: usize) {
            let n = n.min(self.bits.len());
            self.bits.drain(..n);
            self.bits.resize(MODEL_LEN, false);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u32, usize),
        Advance(usize),
        RemoveFront,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u32..400, 0usize..48).prop_map(|(o, l)| Op::Add(o, l)),
            1 => (0usize..40).prop_map(Op::Advance),
            1 => Just(Op::RemoveFront),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn matches_a_bitmap_model(
            max in 0usize..8,
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let mut a = Assembler::new(max);
            let mut m = Model::new();
            let mut last_added: Option<Range<u32>> = None;
            for op in ops {
                match op {
                    Op::Add(off, len) => {
                        let mut next = m.clone();
                        let mut fresh = 0;
                        for i in off as usize..off as usize + len {
                            fresh += usize::from(!next.bits[i]);
                            next.bits[i] = true;
                        }
                        let got = a.add(off, len);
                        if next.holes() > max {
                            prop_assert_eq!(got, Err(TooManyHoles));
                        } else {
                            prop_assert_eq!(got, Ok(AddOutcome { new_bytes: fresh }));
                            m = next;
                            if len > 0 {
                                last_added = Some(off..off + len as u32);
                            }
                        }
                    }
                    Op::Advance(n) => {
                        a.advance(n);
                        m.shift(n);
                        last_added = None;
                    }
                    Op::RemoveFront => {
                        let want = m.runs().first().filter(|r| r.start == 0).map(|r| r.end as usize);
                        prop_assert_eq!(a.remove_front(), want);
                        if let Some(n) = want {
                            m.shift(n);
                        }
                        last_added = None;
                    }
                }
                // Same bytes covered, same deliverable prefix.
                prop_assert_eq!(ranges(&a), m.runs());
                // The bound holds, and storage never grows past it.
                prop_assert!(a.holes() <= max);
                prop_assert!(a.len() <= max + 1);
                prop_assert!(a.blocks.capacity() <= max + 1);
                prop_assert_eq!(a.held_bytes(), m.bits.iter().filter(|b| **b).count());
                // SACK blocks: every range once, the latest segment's first.
                let mut s = sacks(&a, usize::MAX);
                if let (Some(first), Some(seg)) = (s.first(), &last_added) {
                    prop_assert!(first.start <= seg.start && seg.end <= first.end);
                }
                s.sort_by_key(|r| r.start);
                prop_assert_eq!(s, m.runs());
            }
        }
    }
}
