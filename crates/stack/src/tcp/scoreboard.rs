//! The sender's SACK scoreboard and the loss-recovery rules of RFC 6675: which
//! bytes above SND.UNA the peer selectively acknowledged (RFC 2018), which holes
//! are presumed lost (`IsLost`), what to send next (`NextSeg`) and how many bytes
//! are in the network (`SetPipe`).
//!
//! The scoreboard is byte-based and knows nothing of the send buffer: the
//! connection tells it the cumulative ACK, the SACK blocks of each ACK and the
//! highest sequence number sent (HighData), and asks it where to retransmit.
//! It keeps at most [`Scoreboard::max_ranges`] disjoint ranges; a block that would
//! need more is dropped and counted (the peer repeats its newest blocks, so the
//! information comes back).

use crate::wire::SeqNumber;

/// RFC 6675's DupThresh.
//= https://www.rfc-editor.org/rfc/rfc6675#section-2
pub const DUP_THRESH: u32 = 3;

/// The most SACKed ranges a scoreboard keeps by default.
pub const DEFAULT_MAX_RANGES: usize = 32;

/// What [`Scoreboard::next_seg`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextSeg {
    /// Rule (1) or (3): retransmit `len` bytes from `seq`.
    Retransmit {
        /// The first byte.
        seq: SeqNumber,
        /// At most one SMSS, never into SACKed data or past HighData.
        len: u32,
    },
    /// Rule (2): send new data.
    NewData,
    /// Rule (4): the rescue retransmission of `len` bytes from `seq` (once per
    /// recovery, of the highest outstanding unSACKed data).
    Rescue {
        /// The first byte.
        seq: SeqNumber,
        /// Up to one SMSS, ending at the highest unSACKed byte.
        len: u32,
    },
}

/// What one ACK changed on the scoreboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SackUpdate {
    /// Bytes newly delivered by this ACK: the cumulative advance plus the change in
    /// SACKed bytes (RFC 6937's DeliveredData), never negative.
    pub delivered: u32,
    /// Bytes newly SACKed by this ACK.
    pub newly_sacked: u32,
    /// The peer seems to have discarded SACKed data (reneging): the scoreboard was
    /// cleared.
    pub reneged: bool,
}

/// The SACK scoreboard of one connection. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Scoreboard {
    /// SACKed ranges `[start, end)`, sorted, disjoint, not touching, all above
    /// HighACK.
    ranges: Vec<(SeqNumber, SeqNumber)>,
    /// The bound on `ranges`.
    max_ranges: usize,
    /// HighACK: the cumulative acknowledgment point (SND.UNA).
    high_ack: SeqNumber,
    /// HighRxt, kept one past the last byte retransmitted by rules (1) and (3).
    high_rxt: SeqNumber,
    /// RescueRxt: the rescue retransmission of this recovery, if sent.
    rescue_rxt: Option<SeqNumber>,
    /// Bytes in `ranges`.
    sacked: u32,
    /// Blocks dropped because the scoreboard was full.
    dropped: u64,
    /// Times reneging was detected.
    renegings: u64,
    /// With RACK (RFC 8985) deciding losses: every unSACKed byte below this point
    /// is lost, and DupThresh plays no part. `None`: the RFC 6675 `IsLost` rules.
    rack_lost_to: Option<SeqNumber>,
    /// Ranges below HighRxt whose retransmission RACK deemed lost too, sorted,
    /// disjoint, unSACKed, at most `max_ranges`: they are to be resent again
    /// before anything else, and their retransmission is no longer in the pipe.
    relost: Vec<(SeqNumber, SeqNumber)>,
}

impl Scoreboard {
    /// An empty scoreboard at SND.UNA `una` keeping at most `max_ranges` ranges.
    pub fn new(una: SeqNumber, max_ranges: usize) -> Scoreboard {
        Scoreboard {
            ranges: Vec::new(),
            max_ranges: max_ranges.max(1),
            high_ack: una,
            high_rxt: una,
            rescue_rxt: None,
            sacked: 0,
            dropped: 0,
            renegings: 0,
            rack_lost_to: None,
            relost: Vec::new(),
        }
    }

    /// The bound on the ranges kept.
    pub fn max_ranges(&self) -> usize {
        self.max_ranges
    }

    /// The SACKed ranges, lowest first.
    pub fn ranges(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.ranges
    }

    /// Bytes SACKed above HighACK.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// HighACK.
    pub fn high_ack(&self) -> SeqNumber {
        self.high_ack
    }

    /// HighRxt (one past the last byte retransmitted).
    pub fn high_rxt(&self) -> SeqNumber {
        self.high_rxt
    }

    /// RescueRxt.
    pub fn rescue_rxt(&self) -> Option<SeqNumber> {
        self.rescue_rxt
    }

    /// Blocks dropped because the scoreboard held its bound.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Times the peer reneged.
    pub fn renegings(&self) -> u64 {
        self.renegings
    }

    /// Whether nothing above HighACK is SACKed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The highest SACKed byte plus one.
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.ranges.last().map(|r| r.1)
    }

    /// Forgets every SACKed range (after a retransmission timeout, or reneging).
    //= https://www.rfc-editor.org/rfc/rfc2018#section-8
    pub fn clear(&mut self) {
        if self.rack_lost_to.is_some() {
            self.rack_lost_to = Some(self.high_ack);
        }
        self.ranges.clear();
        self.sacked = 0;
        self.high_rxt = self.high_ack;
        self.rescue_rxt = None;
        self.relost.clear();
    }

    /// Hands the loss decisions to RACK (RFC 8985): from now on a byte is lost when
    /// [`Scoreboard::mark_lost_to`] said so, not by the DupThresh rules.
    pub fn use_rack(&mut self) {
        if self.rack_lost_to.is_none() {
            self.rack_lost_to = Some(self.high_ack);
        }
    }

    /// Whether RACK decides the losses.
    pub fn uses_rack(&self) -> bool {
        self.rack_lost_to.is_some()
    }

    /// RACK's lost boundary (HighACK or above), if RACK decides the losses.
    pub fn rack_lost_to(&self) -> Option<SeqNumber> {
        self.rack_lost_to.map(|l| l.max(self.high_ack))
    }

    /// RACK deemed every unSACKed byte below `end` lost. Returns whether the
    /// boundary moved.
    pub fn mark_lost_to(&mut self, end: SeqNumber) -> bool {
        match self.rack_lost_to {
            Some(l) if end > l.max(self.high_ack) => {
                self.rack_lost_to = Some(end);
                true
            }
            _ => false,
        }
    }

    /// A loss recovery begins: HighRxt and RescueRxt restart from HighACK.
    pub fn on_recovery_start(&mut self) {
        self.high_rxt = self.high_ack;
        self.rescue_rxt = None;
        self.relost.clear();
    }

    /// RACK deemed the retransmission of `[start, end)` lost too (RFC 8985: a
    /// retransmission updates the segment's transmission time, and it is lost
    /// again once a segment sent after it was delivered and `RACK.rtt + reo_wnd`
    /// passed). The part below HighRxt becomes a range to resend again (rule 1
    /// before any other), and leaves the pipe. Returns the bytes newly marked.
    /// When `max_ranges` ranges are kept already, the highest is given up (and
    /// counted in [`Scoreboard::dropped`]): the retransmission timer repairs it.
    //= https://www.rfc-editor.org/rfc/rfc8985#section-6.2
    pub fn mark_retransmission_lost(&mut self, start: SeqNumber, end: SeqNumber) -> u32 {
        let start = start.max(self.high_ack);
        let end = end.min(self.high_rxt);
        if end <= start {
            return 0;
        }
        let before = self.relost_bytes();
        let first = self
            .relost
            .iter()
            .position(|r| r.1 >= start)
            .unwrap_or(self.relost.len());
        let mut last = first;
        while last < self.relost.len() && self.relost[last].0 <= end {
            last += 1;
        }
        if first == last {
            if self.relost.len() >= self.max_ranges {
                self.dropped = self.dropped.saturating_add(1);
                if first >= self.relost.len() {
                    return 0;
                }
                self.relost.pop();
            }
            self.relost.insert(first, (start, end));
        } else {
            let merged = (
                self.relost[first].0.min(start),
                self.relost[last - 1].1.max(end),
            );
            self.relost.drain(first + 1..last);
            self.relost[first] = merged;
        }
        self.relost_bytes().saturating_sub(before)
    }

    /// The ranges whose retransmission was lost, lowest first.
    pub fn relost(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.relost
    }

    /// Bytes whose retransmission was lost.
    fn relost_bytes(&self) -> u32 {
        self.relost
            .iter()
            .map(|r| r.1.diff(r.0).max(0) as u32)
            .sum()
    }

    /// Takes `[start, end)` out of the ranges to resend again (resent, SACKed or
    /// acknowledged).
    fn unmark_relost(&mut self, start: SeqNumber, end: SeqNumber) {
        if end <= start || !self.relost.iter().any(|r| r.0 < end && start < r.1) {
            return;
        }
        let mut out = Vec::with_capacity(self.relost.len() + 1);
        for &(a, b) in &self.relost {
            if b <= start || a >= end {
                out.push((a, b));
                continue;
            }
            if a < start {
                out.push((a, start));
            }
            if b > end {
                out.push((end, b));
            }
        }
        self.relost = out;
    }

    /// Processes an ACK: the cumulative acknowledgment `ack` and its SACK
    /// `blocks`; `high_data` is one past the highest byte sent. Blocks below `ack`
    /// (D-SACK) or beyond `high_data` are ignored.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-5
    pub fn on_ack(
        &mut self,
        ack: SeqNumber,
        blocks: &[(SeqNumber, SeqNumber)],
        high_data: SeqNumber,
    ) -> SackUpdate {
        let before = self.sacked;
        let advance = if ack > self.high_ack {
            ack.diff(self.high_ack) as u32
        } else {
            0
        };
        if ack > self.high_ack {
            let old = self.high_ack;
            self.high_ack = ack;
            self.trim_below(ack);
            self.unmark_relost(old, ack);
        }
        if self.high_rxt < self.high_ack {
            self.high_rxt = self.high_ack;
        }
        let mut newly = 0u32;
        for &(start, end) in blocks {
            if end <= start || end <= self.high_ack || end > high_data {
                continue;
            }
            let start = start.max(self.high_ack);
            newly = newly.saturating_add(self.insert(start, end));
            self.unmark_relost(start, end);
        }
        let mut reneged = false;
        //= https://www.rfc-editor.org/rfc/rfc2018#section-8
        // A SACKed range that starts at the cumulative ACK would have been
        // acknowledged by it had the receiver kept the data: it reneged.
        if self.ranges.first().is_some_and(|r| r.0 == self.high_ack) {
            self.renegings = self.renegings.saturating_add(1);
            self.clear();
            reneged = true;
        }
        let delivered = (i64::from(advance) + i64::from(self.sacked) - i64::from(before))
            .clamp(0, i64::from(u32::MAX)) as u32;
        SackUpdate {
            delivered,
            newly_sacked: newly,
            reneged,
        }
    }

    /// Drops what `ack` cumulatively acknowledges.
    fn trim_below(&mut self, ack: SeqNumber) {
        let mut removed = 0u32;
        self.ranges.retain_mut(|r| {
            if r.1 <= ack {
                removed += r.1.diff(r.0) as u32;
                false
            } else {
                if r.0 < ack {
                    removed += ack.diff(r.0) as u32;
                    r.0 = ack;
                }
                true
            }
        });
        self.sacked = self.sacked.saturating_sub(removed);
    }

    /// Merges `[start, end)` into the ranges; returns the bytes newly SACKed.
    fn insert(&mut self, start: SeqNumber, end: SeqNumber) -> u32 {
        // The first range that ends at or after `start` (touching merges).
        let first = self
            .ranges
            .iter()
            .position(|r| r.1 >= start)
            .unwrap_or(self.ranges.len());
        // One past the last range that starts at or before `end`.
        let mut last = first;
        while last < self.ranges.len() && self.ranges[last].0 <= end {
            last += 1;
        }
        if first == last {
            // Disjoint from everything: a new range.
            if self.ranges.len() >= self.max_ranges {
                self.dropped = self.dropped.saturating_add(1);
                // Keep the lowest ranges: they decide what is lost first.
                if first >= self.ranges.len() {
                    return 0;
                }
                if let Some(top) = self.ranges.pop() {
                    self.sacked = self.sacked.saturating_sub(top.1.diff(top.0) as u32);
                }
            }
            let len = end.diff(start) as u32;
            self.ranges.insert(first, (start, end));
            self.sacked = self.sacked.saturating_add(len);
            return len;
        }
        let merged_start = self.ranges[first].0.min(start);
        let merged_end = self.ranges[last - 1].1.max(end);
        let old: u32 = self.ranges[first..last]
            .iter()
            .map(|r| r.1.diff(r.0) as u32)
            .sum();
        self.ranges.drain(first + 1..last);
        self.ranges[first] = (merged_start, merged_end);
        let new = merged_end.diff(merged_start) as u32;
        self.sacked = self.sacked.saturating_sub(old).saturating_add(new);
        new.saturating_sub(old)
    }

    /// Whether `seq` is SACKed.
    pub fn is_sacked(&self, seq: SeqNumber) -> bool {
        self.ranges.iter().any(|r| r.0 <= seq && seq < r.1)
    }

    /// The lost boundary: an unSACKed byte below it is lost, one at or above it is
    /// not. HighACK when nothing is lost.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    // IsLost (SeqNum): DupThresh discontiguous SACKed segments above SeqNum, or
    // more than (DupThresh - 1) * SMSS bytes SACKed above it. Both only grow as
    // SeqNum falls, so walking the ranges from the top finds where it turns true.
    fn lost_boundary(&self, smss: u32) -> SeqNumber {
        if let Some(lost_to) = self.rack_lost_to {
            return lost_to.max(self.high_ack);
        }
        let smss = smss.max(1);
        let mut segs = 0u32;
        let mut bytes = 0u32;
        for r in self.ranges.iter().rev() {
            let len = r.1.diff(r.0) as u32;
            segs = segs.saturating_add(len.div_ceil(smss));
            bytes = bytes.saturating_add(len);
            if segs >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss {
                return r.0;
            }
        }
        self.high_ack
    }

    /// RFC 6675's IsLost(seq) for a sender with segments of `smss` bytes.
    pub fn is_lost(&self, seq: SeqNumber, smss: u32) -> bool {
        seq >= self.high_ack && !self.is_sacked(seq) && seq < self.lost_boundary(smss)
    }

    /// Bytes presumed lost: unSACKed bytes below the lost boundary.
    pub fn lost_bytes(&self, smss: u32) -> u32 {
        let boundary = self.lost_boundary(smss);
        self.holes(boundary)
            .map(|(a, b)| b.diff(a).max(0) as u32)
            .sum()
    }

    /// The holes (unSACKed ranges) between HighACK and `limit`.
    fn holes(&self, limit: SeqNumber) -> impl Iterator<Item = (SeqNumber, SeqNumber)> + '_ {
        let mut at = self.high_ack;
        let mut i = 0;
        core::iter::from_fn(move || {
            while at < limit {
                let (start, end) = match self.ranges.get(i) {
                    Some(&r) => r,
                    None => {
                        let hole = (at, limit);
                        at = limit;
                        return Some(hole);
                    }
                };
                i += 1;
                let hole_end = start.min(limit);
                let hole = (at, hole_end);
                at = at.max(end);
                if hole.0 < hole.1 {
                    return Some(hole);
                }
            }
            None
        })
    }

    /// SetPipe(): the bytes in the network, up to `high_data`: each byte not
    /// SACKed and not lost counts once, each retransmitted byte (below HighRxt)
    /// once more.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    pub fn pipe(&self, high_data: SeqNumber, smss: u32) -> u32 {
        let boundary = self.lost_boundary(smss);
        let mut pipe = 0u32;
        for (a, b) in self.holes(high_data) {
            let not_lost_from = a.max(boundary);
            if not_lost_from < b {
                pipe = pipe.saturating_add(b.diff(not_lost_from) as u32);
            }
            let rxt_to = b.min(self.high_rxt);
            if a < rxt_to {
                pipe = pipe.saturating_add(rxt_to.diff(a) as u32);
                // A retransmission deemed lost is no longer in the network.
                for &(ra, rb) in &self.relost {
                    let (x, y) = (ra.max(a), rb.min(rxt_to));
                    if x < y {
                        pipe = pipe.saturating_sub(y.diff(x) as u32);
                    }
                }
            }
        }
        pipe
    }

    /// NextSeg(): what to send next, for segments of `smss` bytes, data sent up to
    /// `high_data`, `new_data` whether new data can be sent (rule 2), and the
    /// recovery's `recovery_point`.
    //= https://www.rfc-editor.org/rfc/rfc6675#section-4
    pub fn next_seg(
        &self,
        high_data: SeqNumber,
        smss: u32,
        new_data: bool,
        recovery_point: SeqNumber,
    ) -> Option<NextSeg> {
        let smss = smss.max(1);
        // A lost retransmission first: it holds the lowest lost data.
        if let Some(&(a, b)) = self.relost.first() {
            let len = b.diff(a).min(smss as i32).max(0) as u32;
            if len > 0 {
                return Some(NextSeg::Retransmit { seq: a, len });
            }
        }
        let from = self.high_rxt.max(self.high_ack);
        // The first unSACKed byte at or above HighRxt, and its hole.
        let first_hole = self
            .holes(high_data)
            .find(|h| h.1 > from)
            .map(|(a, b)| (a.max(from), b));
        let highest_sacked = self.highest_sacked();
        if let Some((s, end)) = first_hole {
            // Rule (1): S2 > HighRxt, below the highest SACKed byte, IsLost(S2).
            if highest_sacked.is_some_and(|h| s < h) && s < self.lost_boundary(smss) {
                let len = end.diff(s).min(smss as i32) as u32;
                return Some(NextSeg::Retransmit { seq: s, len });
            }
        }
        // Rule (2): new data.
        if new_data {
            return Some(NextSeg::NewData);
        }
        // Rule (3): unSACKed, above HighRxt, below the highest SACKed byte.
        if let Some((s, end)) = first_hole {
            if let Some(h) = highest_sacked {
                if s < h {
                    let len = end.min(h).diff(s).min(smss as i32) as u32;
                    return Some(NextSeg::Retransmit { seq: s, len });
                }
            }
        }
        // Rule (4): one rescue retransmission per recovery, when HighACK passed
        // RescueRxt, of the highest outstanding unSACKed data.
        if self.rescue_rxt.is_none_or(|r| self.high_ack > r) {
            if let Some((a, b)) = self.holes(high_data).last() {
                let seq = a.max(b - smss);
                if recovery_point >= self.high_ack {
                    return Some(NextSeg::Rescue {
                        seq,
                        len: b.diff(seq) as u32,
                    });
                }
            }
        }
        None
    }

    /// A segment of `len` bytes from `seq` was retransmitted by rule (1) or (3):
    /// HighRxt moves past it.
    pub fn on_retransmit(&mut self, seq: SeqNumber, len: u32) {
        let end = seq + len;
        self.unmark_relost(seq, end);
        if end > self.high_rxt {
            self.high_rxt = end;
        }
    }

    /// The rescue retransmission was sent: RescueRxt is the recovery point.
    pub fn on_rescue(&mut self, recovery_point: SeqNumber) {
        self.rescue_rxt = Some(recovery_point);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 100;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    /// A board at 1000 with 20 segments (1000..3000) sent.
    fn board() -> Scoreboard {
        Scoreboard::new(s(1000), DEFAULT_MAX_RANGES)
    }

    const HIGH: SeqNumber = SeqNumber(3000);

    #[test]
    fn blocks_merge_and_count_newly_sacked_bytes() {
        let mut b = board();
        let u = b.on_ack(s(1000), &[(s(1200), s(1300))], HIGH);
        assert_eq!((u.newly_sacked, u.delivered), (100, 100));
        let u = b.on_ack(s(1000), &[(s(1300), s(1400)), (s(1200), s(1300))], HIGH);
        assert_eq!(u.newly_sacked, 100);
        assert_eq!(b.ranges(), &[(s(1200), s(1400))]);
        b.on_ack(s(1000), &[(s(1500), s(1600))], HIGH);
        b.on_ack(s(1000), &[(s(1350), s(1550))], HIGH);
        assert_eq!(b.ranges(), &[(s(1200), s(1600))]);
        assert_eq!(b.sacked_bytes(), 400);
    }

    #[test]
    fn dsack_and_blocks_beyond_high_data_are_ignored() {
        let mut b = board();
        b.on_ack(s(1500), &[(s(1000), s(1100)), (s(2900), s(3100))], HIGH);
        assert!(b.is_empty());
    }

    #[test]
    fn cumulative_ack_trims_sacked_ranges_and_delivers_the_difference() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1300)), (s(1400), s(1500))], HIGH);
        // The ACK covers the hole 1000..1100 and the SACKed 1100..1300: 300 bytes
        // of sequence space, 200 of which were delivered (SACKed) before.
        let u = b.on_ack(s(1300), &[(s(1400), s(1500))], HIGH);
        assert_eq!(u.delivered, 100);
        assert!(!u.reneged);
        assert_eq!(b.ranges(), &[(s(1400), s(1500))]);
        assert_eq!(b.sacked_bytes(), 100);
    }

    #[test]
    fn a_sacked_range_at_the_cumulative_ack_means_reneging_and_clears_the_board() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1300))], HIGH);
        let u = b.on_ack(s(1100), &[], HIGH);
        assert!(u.reneged);
        assert!(b.is_empty());
        assert_eq!(b.renegings(), 1);
    }

    #[test]
    fn the_bound_drops_the_highest_range_and_counts() {
        let mut b = Scoreboard::new(s(1000), 2);
        b.on_ack(s(1000), &[(s(1100), s(1200))], HIGH);
        b.on_ack(s(1000), &[(s(1300), s(1400))], HIGH);
        b.on_ack(s(1000), &[(s(1500), s(1600))], HIGH);
        assert_eq!(b.ranges(), &[(s(1100), s(1200)), (s(1300), s(1400))]);
        assert_eq!(b.dropped(), 1);
        b.on_ack(s(1000), &[(s(1250), s(1260))], HIGH);
        assert_eq!(b.ranges(), &[(s(1100), s(1200)), (s(1250), s(1260))]);
        assert_eq!(b.dropped(), 2);
        assert_eq!(b.sacked_bytes(), 110);
    }

    #[test]
    fn is_lost_needs_three_sacked_segments_above() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1200)), (s(1300), s(1400))], HIGH);
        assert!(!b.is_lost(s(1000), MSS), "two segments above");
        b.on_ack(s(1000), &[(s(1500), s(1600))], HIGH);
        assert!(b.is_lost(s(1000), MSS));
        assert!(
            !b.is_lost(s(1200), MSS),
            "two segments above the second hole"
        );
        assert!(!b.is_lost(s(1400), MSS), "one above");
        assert!(!b.is_lost(s(1100), MSS), "SACKed bytes are not lost");
    }

    #[test]
    fn is_lost_by_bytes_counts_more_than_two_smss() {
        let mut b = board();
        // Two "segments" of 150 bytes: more than 2 × 100 bytes SACKed above.
        b.on_ack(s(1000), &[(s(1100), s(1250))], HIGH);
        assert!(!b.is_lost(s(1000), 200), "150 bytes, one 200-byte segment");
        b.on_ack(s(1000), &[(s(1300), s(1560))], HIGH);
        assert!(b.is_lost(s(1000), 200), "410 > 400");
        assert!(!b.is_lost(s(1250), 200), "260 bytes, two segments above");
    }

    #[test]
    fn pipe_counts_unsacked_unlost_bytes_and_retransmissions() {
        let mut b = board();
        // 1000..1100 lost (three SACKed segments above), 1400..3000 in flight.
        b.on_ack(s(1000), &[(s(1100), s(1400))], HIGH);
        assert_eq!(b.lost_bytes(MSS), 100);
        assert_eq!(b.pipe(HIGH, MSS), 1600);
        b.on_recovery_start();
        b.on_retransmit(s(1000), 100);
        assert_eq!(b.pipe(HIGH, MSS), 1700, "the retransmission is in flight");
    }

    #[test]
    fn next_seg_rule_1_retransmits_the_first_lost_hole_up_to_sacked_data() {
        let mut b = board();
        b.on_ack(
            s(1000),
            &[(s(1150), s(1200)), (s(1300), s(1400)), (s(1500), s(1700))],
            HIGH,
        );
        b.on_recovery_start();
        assert_eq!(
            b.next_seg(HIGH, MSS, true, s(2999)),
            Some(NextSeg::Retransmit {
                seq: s(1000),
                len: 100
            })
        );
        b.on_retransmit(s(1000), 100);
        assert_eq!(
            b.next_seg(HIGH, MSS, true, s(2999)),
            Some(NextSeg::Retransmit {
                seq: s(1100),
                len: 50
            }),
            "stops at the SACKed range"
        );
        b.on_retransmit(s(1100), 50);
        assert_eq!(
            b.next_seg(HIGH, MSS, true, s(2999)),
            Some(NextSeg::Retransmit {
                seq: s(1200),
                len: 100
            })
        );
        b.on_retransmit(s(1200), 100);
        // 1400..1500 has only two SACKed segments above: not lost. Rule (2).
        assert_eq!(b.next_seg(HIGH, MSS, true, s(2999)), Some(NextSeg::NewData));
    }

    #[test]
    fn next_seg_rule_3_retransmits_unlost_holes_when_no_new_data() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1400)), (s(1500), s(1600))], HIGH);
        b.on_recovery_start();
        b.on_retransmit(s(1000), 100);
        assert_eq!(
            b.next_seg(HIGH, MSS, false, s(2999)),
            Some(NextSeg::Retransmit {
                seq: s(1400),
                len: 100
            })
        );
        b.on_retransmit(s(1400), 100);
        // Above the highest SACKed byte rule (3) does not apply: rule (4).
        assert_eq!(
            b.next_seg(HIGH, MSS, false, s(2999)),
            Some(NextSeg::Rescue {
                seq: s(2900),
                len: 100
            })
        );
    }

    #[test]
    fn next_seg_rule_4_rescue_is_once_per_recovery_until_high_ack_passes_it() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1400))], HIGH);
        b.on_recovery_start();
        b.on_retransmit(s(1000), 100);
        let rescue = b.next_seg(HIGH, MSS, false, s(2999));
        assert_eq!(
            rescue,
            Some(NextSeg::Rescue {
                seq: s(2900),
                len: 100
            })
        );
        b.on_rescue(s(2999));
        assert_eq!(b.next_seg(HIGH, MSS, false, s(2999)), None);
        assert_eq!(b.high_rxt(), s(1100), "HighRxt is not moved by a rescue");
    }

    #[test]
    fn next_seg_is_none_with_nothing_lost_and_nothing_new() {
        let mut b = board();
        b.on_ack(s(1000), &[(s(1100), s(1200))], s(1200));
        b.on_recovery_start();
        // Rule (3): the hole below the SACKed data, though not lost.
        assert_eq!(
            b.next_seg(s(1200), MSS, false, s(1199)),
            Some(NextSeg::Retransmit {
                seq: s(1000),
                len: 100
            })
        );
        b.on_retransmit(s(1000), 100);
        b.on_rescue(s(1199));
        assert_eq!(b.next_seg(s(1200), MSS, false, s(1199)), None);
    }

    #[test]
    fn a_lost_retransmission_is_resent_again_first_and_leaves_the_pipe() {
        let mut b = board();
        b.use_rack();
        // 1000..1200 lost (RACK), 1200..1400 SACKed, 1400..3000 in flight.
        b.on_ack(s(1000), &[(s(1200), s(1400))], HIGH);
        b.mark_lost_to(s(1200));
        b.on_recovery_start();
        b.on_retransmit(s(1000), 100);
        b.on_retransmit(s(1100), 100);
        assert_eq!(b.pipe(HIGH, MSS), 1600 + 200);
        // Both retransmissions in flight: new data next.
        assert_eq!(b.next_seg(HIGH, MSS, true, s(2999)), Some(NextSeg::NewData));
        // RACK finds the first retransmission lost as well.
        assert_eq!(b.mark_retransmission_lost(s(1000), s(1100)), 100);
        assert_eq!(b.relost(), &[(s(1000), s(1100))]);
        assert_eq!(b.pipe(HIGH, MSS), 1600 + 100, "no longer in the network");
        assert_eq!(
            b.next_seg(HIGH, MSS, true, s(2999)),
            Some(NextSeg::Retransmit {
                seq: s(1000),
                len: 100
            }),
            "before new data"
        );
        b.on_retransmit(s(1000), 100);
        assert!(b.relost().is_empty());
        assert_eq!(b.pipe(HIGH, MSS), 1600 + 200);
        assert_eq!(b.high_rxt(), s(1200), "HighRxt stays");
        // Above HighRxt there is no retransmission to lose; a SACK or the
        // cumulative ACK takes a range back out.
        assert_eq!(b.mark_retransmission_lost(s(1400), s(1500)), 0);
        b.mark_retransmission_lost(s(1000), s(1200));
        b.on_ack(s(1100), &[(s(1150), s(1400))], HIGH);
        assert_eq!(b.relost(), &[(s(1100), s(1150))]);
        b.clear();
        assert!(b.relost().is_empty());
    }

    #[test]
    fn sequence_numbers_wrap() {
        let base = u32::MAX - 150;
        let mut b = Scoreboard::new(s(base), 8);
        let high = s(base) + 1000u32;
        b.on_ack(s(base), &[(s(base) + 100u32, s(base) + 400u32)], high);
        assert!(b.is_lost(s(base), MSS));
        assert_eq!(b.pipe(high, MSS), 600);
        assert_eq!(b.sacked_bytes(), 300);
    }
}
