//! A connection's timers: one enum and a table, not scattered `Option<Instant>` fields.

use crate::time::Instant;

/// The timers a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Retransmission (RFC 6298), also the SYN and SYN-ACK retransmission timer.
    Retransmit,
    /// Delayed acknowledgment (RFC 9293 section 3.8.6.3).
    DelayedAck,
    /// Zero-window probing (RFC 9293 section 3.8.6.1).
    Persist,
    /// Keep-alive probing (RFC 9293 section 3.8.4).
    KeepAlive,
    /// TIME-WAIT (2 MSL) and the FIN-WAIT-2 timeout of an orphaned connection.
    Linger,
    /// Pacing: the next data segment may leave (the connection is paced out until
    /// then).
    Pacing,
    /// RACK's reorder timer (RFC 8985 section 6.2): segments sent before the most
    /// recently delivered one are deemed lost unless acknowledged by then.
    Reorder,
    /// The tail loss probe timeout, PTO (RFC 8985 section 7.2).
    Probe,
}

impl Timer {
    /// Every timer, in the order a tie is served: a probe or RACK's loss marking
    /// due with the retransmission timeout goes first, as Linux's single timer
    /// would have served it instead (both restart or stop the retransmission
    /// timer).
    pub const ALL: [Timer; 8] = [
        Timer::Reorder,
        Timer::Probe,
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::KeepAlive,
        Timer::Linger,
        Timer::Pacing,
    ];

    /// The timer's slot in the table, and its code there if the slot is shared
    /// (see [`TimerTable`]).
    fn slot(self) -> (usize, Option<u64>) {
        match self {
            Timer::Retransmit => (0, None),
            Timer::Persist => (1, None),
            Timer::DelayedAck => (2, None),
            Timer::KeepAlive => (3, None),
            Timer::Pacing => (4, None),
            Timer::Linger => (SHARED, Some(0)),
            Timer::Reorder => (SHARED, Some(1)),
            Timer::Probe => (SHARED, Some(2)),
        }
    }

    /// The name `ss -o` prints for the timer.
    pub fn ss_name(self) -> &'static str {
        match self {
            Timer::Retransmit => "on",
            Timer::Persist => "persist",
            Timer::DelayedAck => "delack",
            Timer::KeepAlive => "keepalive",
            Timer::Linger => "timewait",
            Timer::Pacing => "pacing",
            // Linux's `ss -o` shows the probe and the reorder timer as `on`, the
            // retransmission timer they share there.
            Timer::Reorder | Timer::Probe => "on",
        }
    }
}

/// The deadlines of a connection's timers.
///
/// Three timers that never run together share one slot, so that a connection's
/// state stays small: [`Timer::Linger`] runs only in FIN-WAIT-2 and TIME-WAIT,
/// with nothing outstanding; RACK-TLP's [`Timer::Reorder`] and [`Timer::Probe`]
/// run only with data outstanding, and never both (RFC 8985 schedules no probe
/// while the reorder timer waits, and the reorder timer replaces a probe). Setting
/// one replaces the others. The slot tells them apart by the deadline's
/// nanoseconds modulo 4 (0, 1, 2), each deadline rounded up by at most 3 ns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    /// Retransmit, Persist, DelayedAck, KeepAlive, Pacing, and the shared slot.
    deadlines: [Option<Instant>; 6],
}

/// The slot [`Timer::Linger`], [`Timer::Reorder`] and [`Timer::Probe`] share.
const SHARED: usize = 5;

/// `at` rounded up to the nanosecond that says `code` (modulo 4).
fn with_code(at: Instant, code: u64) -> Instant {
    let n = at.as_nanos();
    let up = (code + 4 - n % 4) % 4;
    Instant::from_nanos(n.saturating_add(up))
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any earlier setting.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        let (slot, code) = timer.slot();
        self.deadlines[slot] = Some(match code {
            Some(code) => with_code(at, code),
            None => at,
        });
    }

    /// Arms `timer` for `at` unless it is already armed.
    pub fn set_if_idle(&mut self, timer: Timer, at: Instant) {
        if !self.is_set(timer) {
            self.set(timer, at);
        }
    }

    /// Disarms `timer`.
    pub fn clear(&mut self, timer: Timer) {
        if self.is_set(timer) {
            self.deadlines[timer.slot().0] = None;
        }
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.deadlines = [None; 6];
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        let (slot, code) = timer.slot();
        let at = self.deadlines[slot]?;
        match code {
            Some(code) if at.as_nanos() % 4 != code => None,
            _ => Some(at),
        }
    }

    /// Whether `timer` is armed.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest armed timer and its deadline (on a tie, the first in
    /// [`Timer::ALL`]).
    pub fn next(&self) -> Option<(Timer, Instant)> {
        // A plain loop: this runs after every segment a connection handles or sends,
        // and an iterator chain it replaced showed up at 10 % of a connect profile.
        let mut best: Option<(Timer, Instant)> = None;
        for timer in Timer::ALL {
            if let Some(at) = self.get(timer) {
                if best.is_none_or(|(_, b)| at < b) {
                    best = Some((timer, at));
                }
            }
        }
        best
    }

    /// The earliest deadline of any armed timer.
    pub fn earliest(&self) -> Option<Instant> {
        // Branch-free, as nanoseconds with `u64::MAX` (never an instant: the
        // latest is `u64::MAX - 1`) for an unarmed slot: the stack asks after
        // every segment and every call.
        let mut best = u64::MAX;
        for at in &self.deadlines {
            best = best.min(at.map_or(u64::MAX, Instant::as_nanos));
        }
        (best != u64::MAX).then(|| Instant::from_nanos(best))
    }

    /// Disarms and returns the earliest timer due at `now`, if any.
    pub fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, at) = self.next()?;
        if at <= now {
            self.clear(timer);
            Some(timer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_is_the_minimum_armed_deadline() {
        let mut t = TimerTable::default();
        assert_eq!(t.earliest(), None);
        t.set(Timer::Persist, Instant::MAX);
        assert_eq!(t.earliest(), Some(Instant::MAX));
        t.set(Timer::Probe, Instant::from_nanos(41));
        assert_eq!(t.earliest(), Some(Instant::from_nanos(42)));
        t.set(Timer::Retransmit, Instant::ZERO);
        assert_eq!(t.earliest(), Some(Instant::ZERO));
        t.clear_all();
        assert_eq!(t.earliest(), None);
    }

    #[test]
    fn next_is_the_earliest_armed_timer() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::KeepAlive, Instant::from_nanos(50));
        t.set(Timer::DelayedAck, Instant::from_nanos(10));
        assert_eq!(t.next(), Some((Timer::DelayedAck, Instant::from_nanos(10))));
    }

    #[test]
    fn take_expired_returns_due_timers_in_deadline_order() {
        let mut t = TimerTable::default();
        t.set(Timer::Retransmit, Instant::from_nanos(20));
        t.set(Timer::DelayedAck, Instant::from_nanos(10));
        t.set(Timer::Linger, Instant::from_nanos(99));
        let now = Instant::from_nanos(30);
        assert_eq!(t.take_expired(now), Some(Timer::DelayedAck));
        assert_eq!(t.take_expired(now), Some(Timer::Retransmit));
        assert_eq!(t.take_expired(now), None);
        assert!(t.is_set(Timer::Linger));
    }

    #[test]
    fn linger_reorder_and_probe_share_a_slot_and_stay_apart() {
        let mut t = TimerTable::default();
        t.set(Timer::Probe, Instant::from_nanos(1000));
        assert!(t.is_set(Timer::Probe) && !t.is_set(Timer::Reorder));
        assert!(!t.is_set(Timer::Linger));
        assert_eq!(t.get(Timer::Probe), Some(Instant::from_nanos(1002)));
        t.clear(Timer::Reorder);
        assert!(t.is_set(Timer::Probe), "clearing another one leaves it");
        t.set(Timer::Reorder, Instant::from_nanos(2001));
        assert_eq!(t.next(), Some((Timer::Reorder, Instant::from_nanos(2001))));
        assert!(!t.is_set(Timer::Probe));
        assert_eq!(
            t.take_expired(Instant::from_nanos(3000)),
            Some(Timer::Reorder)
        );
        assert_eq!(t.next(), None);
        t.set(Timer::Linger, Instant::from_nanos(4001));
        assert_eq!(t.get(Timer::Linger), Some(Instant::from_nanos(4004)));
        assert_eq!(t.earliest(), Some(Instant::from_nanos(4004)));
    }

    #[test]
    fn a_probe_due_with_the_retransmission_timeout_is_served_first() {
        let mut t = TimerTable::default();
        t.set(Timer::Retransmit, Instant::from_nanos(22));
        t.set(Timer::Probe, Instant::from_nanos(22));
        assert_eq!(t.take_expired(Instant::from_nanos(22)), Some(Timer::Probe));
    }

    #[test]
    fn set_if_idle_keeps_an_armed_deadline() {
        let mut t = TimerTable::default();
        t.set_if_idle(Timer::Persist, Instant::from_nanos(5));
        t.set_if_idle(Timer::Persist, Instant::from_nanos(9));
        assert_eq!(t.get(Timer::Persist), Some(Instant::from_nanos(5)));
    }
}
