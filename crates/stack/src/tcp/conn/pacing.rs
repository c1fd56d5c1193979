//! Pacing: data segments leave spread over the round trip at a rate, instead of
//! in one burst per window.
//!
//! When a connection paces ([`Connection::pacing_enabled`]), a data segment may
//! leave only once `next_send_time` is reached (less a small burst allowance);
//! after `len` bytes left, `next_send_time = max(now, next_send_time) + len / rate`.
//! While paced out, [`Timer::Pacing`] is armed for the moment the next segment may
//! leave, so `poll_timeout` reports it and no one polls in a loop.
//!
//! The rate is the controller's [`pacing_rate`](crate::cc::CongestionControl::pacing_rate)
//! when it has one; otherwise Linux's default (`tcp_update_pacing_rate`, no RFC):
//! `ratio × max(cwnd, flight) / srtt`, the ratio 200 % while the window is below
//! half the slow-start threshold (`tcp_pacing_ss_ratio`) and 120 % after
//! (`tcp_pacing_ca_ratio`). Before the first RTT sample there is no rate and no
//! pacing.
//!
//! What is paced: new data and the data resent after a timeout (both come from
//! the send-window logic). What is not: ACKs, window updates, SYN, RST, a FIN
//! without data, probes, the fast retransmission of SND.UNA and the RFC 6675
//! retransmissions of a SACK recovery. Linux paces retransmissions too; here they
//! are already clocked by the ACKs (PRR releases about one segment per segment
//! delivered), holding the repair of a loss back only adds to its latency, and
//! they still count against `next_send_time`, so the average rate holds.

use super::Connection;
use crate::tcp::timer::Timer;
use crate::time::{Duration, Instant};

/// Pacing rate in slow start, percent of cwnd/srtt (Linux `tcp_pacing_ss_ratio`).
pub(super) const PACING_SS_RATIO: u64 = 200;
/// Pacing rate after slow start, percent of cwnd/srtt (Linux `tcp_pacing_ca_ratio`).
pub(super) const PACING_CA_RATIO: u64 = 120;
/// The burst allowed ahead of the pacing clock, in segments (Linux fq's quantum is
/// two segments).
pub(super) const PACING_QUANTUM_SEGMENTS: u64 = 2;
/// The burst allowed ahead of the pacing clock, in time: at high rates a segment
/// each would mean a timer per segment.
pub(super) const PACING_QUANTUM_TIME: Duration = Duration::from_millis(1);

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Pacing's state on a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pacer {
    /// When the next data segment may leave (ahead of it by at most the quantum).
    pub(super) next_send_time: Option<Instant>,
}

impl Connection {
    /// Whether this connection paces its data: the socket option
    /// ([`SocketOptions::pacing`](super::SocketOptions::pacing)) is on, or the
    /// controller has a pacing rate of its own.
    pub fn pacing_enabled(&self) -> bool {
        self.options.pacing || self.controller().is_some_and(|c| c.pacing_rate().is_some())
    }

    /// The pacing rate in bytes per second: the controller's, else Linux's default
    /// from the window and the smoothed RTT; `None` before the first RTT sample.
    pub fn pacing_rate(&self) -> Option<u64> {
        let cc = self.controller();
        if let Some(rate) = cc.and_then(|c| c.pacing_rate()) {
            return Some(rate);
        }
        let srtt = self.rtt.srtt().filter(|d| !d.is_zero())?;
        let cwnd = u64::from(self.cwnd());
        // Linux: the slow-start ratio only while cwnd < ssthresh / 2, as nearing
        // ssthresh the sender should slow down.
        let ratio = match cc.and_then(|c| c.ssthresh()) {
            Some(ssthresh) if cwnd >= ssthresh as u64 / 2 => PACING_CA_RATIO,
            _ => PACING_SS_RATIO,
        };
        let window = u128::from(cwnd.max(u64::from(self.flight())));
        let rate = window * u128::from(ratio) * NANOS_PER_SEC / 100 / srtt.as_nanos().max(1);
        Some(u64::try_from(rate).unwrap_or(u64::MAX).max(1))
    }

    /// Whether new data is held back by pacing now (the pacing timer is armed).
    pub(super) fn paced_out(&self) -> bool {
        self.timers.is_set(Timer::Pacing)
    }

    /// Clears a pacing hold that expired at `now` (the stack may ask for segments
    /// before it ran the timer).
    pub(super) fn release_pacing(&mut self, now: Instant) {
        if self.timers.get(Timer::Pacing).is_some_and(|at| at <= now) {
            self.timers.clear(Timer::Pacing);
        }
    }

    /// `len` data bytes left at `now`: advances the pacing clock and holds the next
    /// segment back until it may leave.
    pub(super) fn on_paced_send(&mut self, now: Instant, len: usize) {
        if !self.pacing_enabled() {
            self.stop_pacing();
            return;
        }
        self.advance_pacing_clock(now, len);
    }

    /// [`on_paced_send`](Self::on_paced_send) when the connection paces.
    #[cold]
    #[inline(never)]
    fn advance_pacing_clock(&mut self, now: Instant, len: usize) {
        let Some(rate) = self.pacing_rate() else {
            return;
        };
        let rate = u128::from(rate.max(1));
        let pacer = &mut self.ccs().pacer;
        let base = pacer.next_send_time.map_or(now, |t| t.max(now));
        let cost = Duration::from_nanos(
            u64::try_from(len as u128 * NANOS_PER_SEC / rate).unwrap_or(u64::MAX),
        );
        let next = base.checked_add(cost).unwrap_or(base);
        pacer.next_send_time = Some(next);
        let quantum_bytes = u128::from(self.mss.max(1)) * u128::from(PACING_QUANTUM_SEGMENTS);
        let quantum_segments = Duration::from_nanos(
            u64::try_from(quantum_bytes * NANOS_PER_SEC / rate).unwrap_or(u64::MAX),
        );
        let slack = quantum_segments.max(PACING_QUANTUM_TIME);
        let release = next
            .as_nanos()
            .saturating_sub(slack.as_nanos().min(u128::from(u64::MAX)) as u64);
        let release = Instant::from_nanos(release);
        if release > now {
            self.timers.set(Timer::Pacing, release);
        } else {
            self.timers.clear(Timer::Pacing);
        }
    }

    /// Pacing was switched on or off for the socket.
    pub(super) fn on_pacing_option(&mut self) {
        if !self.pacing_enabled() {
            self.stop_pacing();
        }
    }

    fn stop_pacing(&mut self) {
        if let Some(s) = self.cc.as_deref_mut() {
            s.pacer.next_send_time = None;
        }
        self.timers.clear(Timer::Pacing);
    }
}
