//! The delivery-rate estimator of draft-cheng-iccrg-delivery-rate-estimation: per
//! acknowledgment, the rate at which the network delivered the most recent flight,
//! and whether the application rather than the window limited it.
//!
//! The transport keeps a [`TxState`] with every packet it sends
//! ([`DeliveryRateEstimator::on_packet_sent`]), hands each one back when the packet is
//! acknowledged ([`DeliveryRateEstimator::on_packet_delivered`]) and, once the whole
//! acknowledgment is processed, asks for the sample
//! ([`DeliveryRateEstimator::generate`]). Byte-based: "delivered" counts bytes.

use crate::time::{Duration, Instant};

/// What the estimator remembers of one packet, taken when it was sent.
//= https://datatracker.ietf.org/doc/html/draft-cheng-iccrg-delivery-rate-estimation-02#section-3.2
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxState {
    /// `C.delivered` when the packet was sent (`P.delivered`).
    pub delivered: u64,
    /// `C.delivered_time` when the packet was sent (`P.delivered_time`).
    pub delivered_time: Instant,
    /// `C.first_sent_time` when the packet was sent (`P.first_sent_time`).
    pub first_sent_time: Instant,
    /// The sender was application-limited when it was sent (`P.is_app_limited`).
    pub is_app_limited: bool,
    /// When the packet was sent (`P.sent_time`).
    pub sent_time: Instant,
    /// Bytes in flight right after the packet left, the packet included
    /// (`P.tx_in_flight`).
    pub tx_in_flight: u64,
    /// `C.lost` when the packet was sent (`P.lost`).
    pub lost: u64,
}

/// One delivery-rate sample (`rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSample {
    /// `C.delivered` when the most recently sent of the acknowledged packets left
    /// (`rs.prior_delivered`): a packet with a larger `TxState::delivered` was sent
    /// after it, which is how round trips are counted.
    pub prior_delivered: u64,
    /// Bytes delivered over [`RateSample::interval`] (`rs.delivered`).
    pub delivered: u64,
    /// The interval over which [`RateSample::delivered`] was delivered, the longer
    /// of the send and the ACK interval (`rs.interval`); `None` when it is shorter
    /// than the minimum RTT (ACK compression) or zero, so no rate can be had.
    pub interval: Option<Duration>,
    /// The most recently sent of the acknowledged packets was sent while the
    /// application limited the sender (`rs.is_app_limited`).
    pub is_app_limited: bool,
    /// The RTT of that packet (now minus its send time).
    pub rtt: Duration,
    /// Bytes marked lost since the last sample (`RS.newly_lost`).
    pub newly_lost: u64,
    /// Bytes in flight when that packet left, itself included (`RS.tx_in_flight`).
    pub tx_in_flight: u64,
    /// Bytes marked lost between that packet's transmission and its
    /// acknowledgment (`RS.lost`, `C.lost − P.lost`): with
    /// [`RateSample::tx_in_flight`], the loss rate of its flight.
    pub lost: u64,
}

impl RateSample {
    /// The delivery rate in bytes per second, when the sample has an interval.
    pub fn delivery_rate(&self) -> Option<u64> {
        let ns = self.interval?.as_nanos();
        if ns == 0 {
            return None;
        }
        Some((u128::from(self.delivered) * 1_000_000_000 / ns).min(u128::from(u64::MAX)) as u64)
    }
}

/// The sample under construction while an acknowledgment is processed. The
/// intervals are kept in nanoseconds: an ACK compares and picks them, and only
/// the sample's result becomes a `Duration`.
#[derive(Debug, Clone, Copy)]
struct Pending {
    prior_delivered: u64,
    send_elapsed: u64,
    ack_elapsed: u64,
    is_app_limited: bool,
    sent_time: Instant,
    tx_in_flight: u64,
    prior_lost: u64,
}

/// The connection's delivery-rate state (`C.*` of the draft).
#[derive(Debug, Clone, Default)]
pub struct DeliveryRateEstimator {
    /// Bytes delivered so far (`C.delivered`).
    delivered: u64,
    /// When `delivered` last changed (`C.delivered_time`).
    delivered_time: Option<Instant>,
    /// The send time of the most recently sent packet that was delivered
    /// (`C.first_sent_time`).
    first_sent_time: Option<Instant>,
    /// While nonzero, the index of the last byte of an application-limited flight
    /// (`C.app_limited`).
    app_limited: u64,
    /// Bytes lost since the last sample.
    lost_since_sample: u64,
    /// Bytes marked lost over the connection's life (`C.lost`).
    lost_total: u64,
    pending: Option<Pending>,
}

impl DeliveryRateEstimator {
    /// A fresh estimator.
    pub fn new() -> DeliveryRateEstimator {
        DeliveryRateEstimator::default()
    }

    /// Bytes delivered so far (`C.delivered`).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether the sender is marked application-limited.
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// Bytes marked lost over the connection's life (`C.lost`).
    pub fn lost(&self) -> u64 {
        self.lost_total
    }

    /// A packet of `bytes` leaves at `now` with `bytes_in_flight` bytes in flight
    /// before it: the state to keep with it.
    //= https://datatracker.ietf.org/doc/html/draft-cheng-iccrg-delivery-rate-estimation-02#section-3.2
    pub fn on_packet_sent(
        &mut self,
        now: Instant,
        bytes_in_flight: usize,
        bytes: usize,
    ) -> TxState {
        // With nothing in flight the send and ACK clocks restart from now, so that an
        // idle period does not count as delivery time.
        if bytes_in_flight == 0 || self.delivered_time.is_none() {
            self.first_sent_time = Some(now);
            self.delivered_time = Some(now);
        }
        TxState {
            delivered: self.delivered,
            delivered_time: self.delivered_time.unwrap_or(now),
            first_sent_time: self.first_sent_time.unwrap_or(now),
            is_app_limited: self.app_limited != 0,
            sent_time: now,
            tx_in_flight: bytes_in_flight.saturating_add(bytes) as u64,
            lost: self.lost_total,
        }
    }

    /// `bytes` of a packet sent with `tx` were acknowledged at `now`.
    //= https://datatracker.ietf.org/doc/html/draft-cheng-iccrg-delivery-rate-estimation-02#section-3.3
    pub fn on_packet_delivered(&mut self, now: Instant, bytes: usize, tx: &TxState) {
        self.delivered = self.delivered.saturating_add(bytes as u64);
        self.delivered_time = Some(now);
        // The sample follows the most recently sent of the packets delivered (the
        // later send time; at the same instant, the one sent with more delivered).
        let newest = match self.pending {
            None => true,
            Some(p) => {
                tx.sent_time > p.sent_time
                    || (tx.sent_time == p.sent_time && tx.delivered >= p.prior_delivered)
            }
        };
        if newest {
            self.pending = Some(Pending {
                prior_delivered: tx.delivered,
                send_elapsed: tx.sent_time.saturating_nanos_since(tx.first_sent_time),
                ack_elapsed: now.saturating_nanos_since(tx.delivered_time),
                is_app_limited: tx.is_app_limited,
                sent_time: tx.sent_time,
                tx_in_flight: tx.tx_in_flight,
                prior_lost: tx.lost,
            });
            self.first_sent_time = Some(tx.sent_time);
        }
    }

    /// `bytes` were found lost; the next sample reports them.
    pub fn on_packet_lost(&mut self, bytes: usize) {
        self.lost_since_sample = self.lost_since_sample.saturating_add(bytes as u64);
        self.lost_total = self.lost_total.saturating_add(bytes as u64);
    }

    /// The sender has less than a segment to send, nothing queued for retransmission,
    /// and its window is not full: the flight now in the network, `bytes_in_flight`,
    /// is limited by the application.
    //= https://datatracker.ietf.org/doc/html/draft-cheng-iccrg-delivery-rate-estimation-02#section-3.4
    pub fn on_app_limited(&mut self, bytes_in_flight: usize) {
        self.app_limited = self.delivered.saturating_add(bytes_in_flight as u64).max(1);
    }

    /// The acknowledgment is processed: the sample for it, if a packet was delivered.
    //= https://datatracker.ietf.org/doc/html/draft-cheng-iccrg-delivery-rate-estimation-02#section-3.3
    pub fn generate(&mut self, now: Instant, min_rtt: Option<Duration>) -> Option<RateSample> {
        // A minimum RTT past u64::MAX nanoseconds is longer than any interval
        // between two instants, as u64::MAX is.
        self.generate_nanos(
            now,
            min_rtt.map(|m| u64::try_from(m.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// [`generate`](Self::generate) with the minimum RTT in nanoseconds, as the
    /// transport keeps it: no `Duration` built to be compared.
    pub(crate) fn generate_nanos(
        &mut self,
        now: Instant,
        min_rtt_nanos: Option<u64>,
    ) -> Option<RateSample> {
        // The application-limited flight is delivered: the bubble has passed.
        if self.app_limited != 0 && self.delivered > self.app_limited {
            self.app_limited = 0;
        }
        let p = self.pending.take()?;
        let lost = core::mem::take(&mut self.lost_since_sample);
        // Use the longer of the send and the ACK interval: ACK compression can make
        // the ACKs arrive faster than the bottleneck delivered the data.
        let interval = p.send_elapsed.max(p.ack_elapsed);
        let valid = interval != 0 && min_rtt_nanos.is_none_or(|m| interval >= m);
        Some(RateSample {
            prior_delivered: p.prior_delivered,
            delivered: self.delivered.saturating_sub(p.prior_delivered),
            interval: valid.then(|| Duration::from_nanos(interval)),
            is_app_limited: p.is_app_limited,
            rtt: Duration::from_nanos(now.saturating_nanos_since(p.sent_time)),
            newly_lost: lost,
            tx_in_flight: p.tx_in_flight,
            lost: self.lost_total.saturating_sub(p.prior_lost),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    #[test]
    fn a_flight_acked_one_rtt_later_gives_its_bytes_over_the_rtt() {
        let mut e = DeliveryRateEstimator::new();
        // Ten packets of 1000 bytes leave back to back at t = 0.
        let txs: Vec<_> = (0..10)
            .map(|i| e.on_packet_sent(ms(0), i * 1000, 1000))
            .collect();
        // They are acknowledged one by one, 100 ms later, 1 ms apart.
        let mut last = None;
        for (i, tx) in txs.iter().enumerate() {
            let now = ms(100 + i as u64);
            e.on_packet_delivered(now, 1000, tx);
            last = e.generate(now, Some(Duration::from_millis(100)));
        }
        let rs = last.unwrap();
        // The last sample covers the first packet's send at t=0 ... its ACK clock
        // started at the first send: 10 000 bytes over 109 ms.
        assert_eq!(rs.prior_delivered, 0);
        assert_eq!(rs.delivered, 10_000);
        assert_eq!(rs.interval, Some(Duration::from_millis(109)));
        assert_eq!(rs.delivery_rate(), Some(10_000 * 1000 / 109));
        assert!(!rs.is_app_limited);
        assert_eq!(e.delivered(), 10_000);
    }

    #[test]
    fn the_second_round_measures_from_the_first_rounds_deliveries() {
        let mut e = DeliveryRateEstimator::new();
        let a = e.on_packet_sent(ms(0), 0, 1000);
        let b = e.on_packet_sent(ms(0), 1000, 1000);
        e.on_packet_delivered(ms(50), 1000, &a);
        e.generate(ms(50), None);
        // A packet sent now carries delivered = 1000 at t = 50.
        let c = e.on_packet_sent(ms(50), 1000, 1000);
        e.on_packet_delivered(ms(60), 1000, &b);
        e.generate(ms(60), None);
        e.on_packet_delivered(ms(100), 1000, &c);
        let rs = e.generate(ms(100), None).unwrap();
        assert_eq!(rs.prior_delivered, 1000);
        assert_eq!(rs.delivered, 2000);
        // ACK interval 100 - 50; send interval 50 - 0 (c left 50 ms after b, the newest
        // delivered when c was sent... b was sent at 0).
        assert_eq!(rs.interval, Some(Duration::from_millis(50)));
        assert_eq!(rs.rtt, Duration::from_millis(50));
    }

    #[test]
    fn ack_compression_shorter_than_min_rtt_gives_no_rate() {
        let mut e = DeliveryRateEstimator::new();
        let a = e.on_packet_sent(ms(0), 0, 1000);
        e.on_packet_delivered(ms(5), 1000, &a);
        let rs = e.generate(ms(5), Some(Duration::from_millis(10))).unwrap();
        assert_eq!(rs.interval, None);
        assert_eq!(rs.delivery_rate(), None);
        assert_eq!(rs.delivered, 1000);
    }

    #[test]
    fn packets_sent_while_app_limited_mark_their_samples_until_the_flight_passes() {
        let mut e = DeliveryRateEstimator::new();
        let a = e.on_packet_sent(ms(0), 0, 1000);
        // The application has nothing more to send: the 1000 bytes in flight are
        // app-limited.
        e.on_app_limited(1000);
        let b = e.on_packet_sent(ms(1), 1000, 1000);
        assert!(!a.is_app_limited && b.is_app_limited);
        e.on_packet_delivered(ms(50), 1000, &a);
        assert!(!e.generate(ms(50), None).unwrap().is_app_limited);
        assert!(
            e.is_app_limited(),
            "delivered 1000 is not past the mark yet"
        );
        e.on_packet_delivered(ms(51), 1000, &b);
        let rs = e.generate(ms(51), None).unwrap();
        assert!(rs.is_app_limited);
        assert!(!e.is_app_limited(), "the app-limited flight is delivered");
        let c = e.on_packet_sent(ms(52), 0, 1000);
        assert!(!c.is_app_limited);
    }

    #[test]
    fn an_idle_period_does_not_count_as_delivery_time() {
        let mut e = DeliveryRateEstimator::new();
        let a = e.on_packet_sent(ms(0), 0, 1000);
        e.on_packet_delivered(ms(10), 1000, &a);
        e.generate(ms(10), None);
        // Ten seconds idle, then one packet with nothing in flight.
        let b = e.on_packet_sent(ms(10_010), 0, 1000);
        e.on_packet_delivered(ms(10_020), 1000, &b);
        let rs = e.generate(ms(10_020), None).unwrap();
        assert_eq!(rs.interval, Some(Duration::from_millis(10)));
        assert_eq!(rs.delivered, 1000);
    }

    #[test]
    fn no_delivery_no_sample_and_losses_are_reported_once() {
        let mut e = DeliveryRateEstimator::new();
        assert_eq!(e.generate(ms(1), None), None);
        let a = e.on_packet_sent(ms(0), 0, 1000);
        e.on_packet_lost(1500);
        e.on_packet_delivered(ms(20), 1000, &a);
        let rs = e.generate(ms(20), None).unwrap();
        assert_eq!(
            (rs.newly_lost, rs.lost, rs.tx_in_flight),
            (1500, 1500, 1000)
        );
        let b = e.on_packet_sent(ms(20), 0, 1000);
        e.on_packet_delivered(ms(40), 1000, &b);
        let rs = e.generate(ms(40), None).unwrap();
        assert_eq!((rs.newly_lost, rs.lost), (0, 0));
        assert_eq!(e.lost(), 1500);
    }

    #[test]
    fn a_minimum_rtt_beyond_any_interval_gives_no_rate_and_nanoseconds_agree() {
        let mut e = DeliveryRateEstimator::new();
        let a = e.on_packet_sent(ms(0), 0, 1000);
        e.on_packet_delivered(ms(20), 1000, &a);
        let rs = e.generate(ms(20), Some(Duration::MAX)).unwrap();
        assert_eq!((rs.interval, rs.rtt), (None, Duration::from_millis(20)));
        // The same delivery, judged against 20 ms in nanoseconds: an exact rate.
        let mut f = DeliveryRateEstimator::new();
        let b = f.on_packet_sent(ms(0), 0, 1000);
        f.on_packet_delivered(ms(20), 1000, &b);
        let rs = f.generate_nanos(ms(20), Some(20_000_000)).unwrap();
        assert_eq!(rs.interval, Some(Duration::from_millis(20)));
    }
}
