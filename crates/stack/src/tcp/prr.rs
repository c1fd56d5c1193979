//! Proportional Rate Reduction (RFC 6937): during a loss recovery, how much each
//! ACK lets the sender transmit, so that the data in flight falls from the flight
//! size at the loss to the controller's new ssthresh smoothly over the recovery
//! round trip rather than in a silence followed by a burst, and climbs back to
//! ssthresh with the slow-start reduction bound (PRR-SSRB) when losses drove it
//! below.
//!
//! Byte-based; the connection calls [`Prr::on_ack`] for each ACK during recovery
//! with the delivered bytes and the pipe (RFC 6675 SetPipe), and [`Prr::on_sent`]
//! for each byte sent or resent. Its window is then `pipe + sndcnt`.

/// The PRR state of one recovery episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prr {
    /// The target: the controller's ssthresh after its reduction.
    ssthresh: u64,
    /// RecoverFS: the flight size when recovery began.
    recover_fs: u64,
    /// prr_delivered: bytes delivered to the receiver since recovery began.
    delivered: u64,
    /// prr_out: bytes sent since recovery began.
    out: u64,
}

impl Prr {
    /// A recovery begins with `ssthresh` as the target and `recover_fs` bytes in
    /// flight (SND.NXT − SND.UNA).
    //= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
    pub fn new(ssthresh: u32, recover_fs: u32) -> Prr {
        Prr {
            ssthresh: u64::from(ssthresh),
            recover_fs: u64::from(recover_fs.max(1)),
            delivered: 0,
            out: 0,
        }
    }

    /// An ACK during recovery delivered `delivered` bytes (DeliveredData: the
    /// cumulative advance plus the change in SACKed bytes), after which `pipe`
    /// bytes are in flight: returns sndcnt, the bytes this ACK allows to send.
    //= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
    // if (pipe > ssthresh): sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS)
    // - prr_out; else (PRR-SSRB): limit = MAX(prr_delivered - prr_out,
    // DeliveredData) + MSS, sndcnt = MIN(ssthresh - pipe, limit).
    pub fn on_ack(&mut self, delivered: u32, pipe: u32, mss: u32) -> u32 {
        self.delivered = self.delivered.saturating_add(u64::from(delivered));
        let pipe = u64::from(pipe);
        let sndcnt = if pipe > self.ssthresh {
            // Proportional Rate Reduction.
            let target = (u128::from(self.delivered) * u128::from(self.ssthresh))
                .div_ceil(u128::from(self.recover_fs));
            (target.min(u128::from(u64::MAX)) as u64).saturating_sub(self.out)
        } else {
            // The slow-start reduction bound.
            let limit = self
                .delivered
                .saturating_sub(self.out)
                .max(u64::from(delivered))
                .saturating_add(u64::from(mss));
            (self.ssthresh - pipe).min(limit)
        };
        sndcnt.min(u64::from(u32::MAX)) as u32
    }

    /// `bytes` were sent (new data or a retransmission) during recovery.
    pub fn on_sent(&mut self, bytes: u32) {
        self.out = self.out.saturating_add(u64::from(bytes));
    }

    /// prr_delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// prr_out.
    pub fn sent(&self) -> u64 {
        self.out
    }

    /// The ssthresh recovery converges to.
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh.min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::scoreboard::{NextSeg, Scoreboard};
    use crate::wire::SeqNumber;

    const MSS: u32 = 1000;

    /// A window of 20 segments from 0, the first lost; the ACK of each later
    /// segment SACKs it. Recovery starts at the third duplicate ACK with CUBIC's
    /// β = 0.7. Returns the segments sent per ACK during recovery.
    fn one_loss_in_twenty() -> Vec<u32> {
        let mut board = Scoreboard::new(SeqNumber(0), 32);
        let mut high_data = SeqNumber(20 * MSS);
        let mut prr: Option<Prr> = None;
        let mut per_ack = Vec::new();
        for i in 1..20u32 {
            let seg = (SeqNumber(i * MSS), SeqNumber((i + 1) * MSS));
            let u = board.on_ack(SeqNumber(0), &[seg], high_data);
            let mut sent = 0;
            if prr.is_none() && board.is_lost(SeqNumber(0), MSS) {
                board.on_recovery_start();
                let mut p = Prr::new(14 * MSS, 20 * MSS);
                // The fast retransmit.
                board.on_retransmit(SeqNumber(0), MSS);
                p.on_sent(MSS);
                sent += 1;
                prr = Some(p);
            }
            if let Some(p) = prr.as_mut() {
                let pipe = board.pipe(high_data, MSS);
                let cwnd = pipe + p.on_ack(u.delivered, pipe, MSS);
                while cwnd.saturating_sub(board.pipe(high_data, MSS)) >= MSS {
                    match board.next_seg(high_data, MSS, true, SeqNumber(20 * MSS - 1)) {
                        Some(NextSeg::Retransmit { seq, len }) => board.on_retransmit(seq, len),
                        Some(NextSeg::NewData) => high_data += MSS,
                        _ => break,
                    }
                    p.on_sent(MSS);
                    sent += 1;
                }
                per_ack.push(sent);
            }
        }
        per_ack
    }

    #[test]
    fn one_loss_in_a_window_of_twenty_sends_about_fourteen_spread_over_the_round() {
        let per_ack = one_loss_in_twenty();
        let total: u32 = per_ack.iter().sum();
        // 0.7 × 20 segments over the round: the fast retransmit, a segment for
        // about every 1/0.7 ACKs while pipe exceeds ssthresh, then one per ACK
        // holding pipe at ssthresh.
        assert_eq!(total, 14, "{per_ack:?}");
        assert!(per_ack.iter().all(|&n| n <= 1), "a burst: {per_ack:?}");
        assert!(
            per_ack.iter().filter(|&&n| n > 0).count() >= 12,
            "spread: {per_ack:?}"
        );
    }

    #[test]
    fn proportional_part_sends_ssthresh_over_recover_fs_per_delivered_byte() {
        let mut p = Prr::new(7 * MSS, 10 * MSS);
        // pipe above ssthresh: 0.7 segments per delivered segment.
        assert_eq!(p.on_ack(MSS, 9 * MSS, MSS), 700);
        assert_eq!(p.on_ack(MSS, 9 * MSS, MSS), 1400);
        p.on_sent(MSS);
        assert_eq!(p.on_ack(MSS, 9 * MSS, MSS), 1100);
    }

    #[test]
    fn slow_start_reduction_bound_catches_up_to_ssthresh_gradually() {
        let mut p = Prr::new(10 * MSS, 20 * MSS);
        // Heavy losses: pipe fell to 2 segments. PRR-SSRB allows what was
        // delivered and not yet sent plus one segment, not the whole gap at once.
        assert_eq!(p.on_ack(MSS, 2 * MSS, MSS), 2 * MSS);
        p.on_sent(2 * MSS);
        assert_eq!(p.on_ack(MSS, 3 * MSS, MSS), 2 * MSS);
        // Never past ssthresh.
        assert_eq!(p.on_ack(5 * MSS, 9 * MSS, MSS), MSS);
    }
}
