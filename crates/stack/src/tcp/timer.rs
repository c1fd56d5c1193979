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
}

impl Timer {
    /// Every timer, in the order a tie is served.
    pub const ALL: [Timer; 6] = [
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::KeepAlive,
        Timer::Linger,
        Timer::Pacing,
    ];

    fn index(self) -> usize {
        match self {
            Timer::Retransmit => 0,
            Timer::Persist => 1,
            Timer::DelayedAck => 2,
            Timer::KeepAlive => 3,
            Timer::Linger => 4,
            Timer::Pacing => 5,
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
        }
    }
}

/// The deadlines of a connection's timers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 6],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any earlier setting.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Arms `timer` for `at` unless it is already armed.
    pub fn set_if_idle(&mut self, timer: Timer, at: Instant) {
        let slot = &mut self.deadlines[timer.index()];
        if slot.is_none() {
            *slot = Some(at);
        }
    }

    /// Disarms `timer`.
    pub fn clear(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.deadlines = [None; 6];
    }

    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// Whether `timer` is armed.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest armed timer and its deadline.
    pub fn next(&self) -> Option<(Timer, Instant)> {
        // A plain loop: this runs after every segment a connection handles or sends,
        // and the iterator chain it replaces showed up at 10 % of a connect profile.
        let mut best: Option<(Timer, Instant)> = None;
        for (&timer, &deadline) in Timer::ALL.iter().zip(self.deadlines.iter()) {
            if let Some(at) = deadline {
                if best.is_none_or(|(_, b)| at < b) {
                    best = Some((timer, at));
                }
            }
        }
        best
    }

    /// The earliest deadline of any armed timer.
    pub fn earliest(&self) -> Option<Instant> {
        // A plain loop, as in `next`: the stack asks after every segment.
        let mut best: Option<Instant> = None;
        for &at in self.deadlines.iter().flatten() {
            if best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        }
        best
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
    fn set_if_idle_keeps_an_armed_deadline() {
        let mut t = TimerTable::default();
        t.set_if_idle(Timer::Persist, Instant::from_nanos(5));
        t.set_if_idle(Timer::Persist, Instant::from_nanos(9));
        assert_eq!(t.get(Timer::Persist), Some(Instant::from_nanos(5)));
    }
}
