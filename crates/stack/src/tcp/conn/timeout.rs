//! Expired timers: retransmission (RFC 6298) with the R1/R2 and user-timeout limits
//! (RFC 9293 section 3.8.3), delayed ACK, zero-window probing, keep-alive and
//! TIME-WAIT.

use super::{AckDue, Connection, TcpError};
use crate::tcp::state::State;
use crate::tcp::timer::Timer;
use crate::time::Instant;

impl Connection {
    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                Timer::Retransmit => self.on_retransmit_timeout(now),
                Timer::DelayedAck => {
                    if self.ack_due != AckDue::No {
                        self.ack_due = AckDue::Now;
                        self.counters.delayed_acks = self.counters.delayed_acks.saturating_add(1);
                    }
                }
                Timer::Persist => self.on_persist_timeout(now),
                Timer::KeepAlive => self.on_keepalive_timeout(now),
                // Taking it cleared it: the held-back data may leave now.
                Timer::Pacing => {}
                Timer::Reorder => self.on_reorder_timeout(now),
                Timer::Probe => self.on_probe_timeout(now),
                Timer::Linger => match self.state {
                    State::TimeWait | State::FinWait2 => self.set_state(State::Closed),
                    _ => {}
                },
            }
            if self.state == State::Closed {
                break;
            }
        }
    }

    fn on_retransmit_timeout(&mut self, now: Instant) {
        self.rto_count += 1;
        self.counters.timeouts = self.counters.timeouts.saturating_add(1);
        match self.state {
            State::SynSent => {
                if self.rto_count > self.config.syn_retries {
                    self.fail(self.soft_error.unwrap_or(TcpError::TimedOut));
                    return;
                }
                self.syn_due = true;
                self.snd_nxt = self.iss;
            }
            State::SynReceived => {
                if self.rto_count > self.config.synack_retries {
                    if self.passive {
                        self.set_state(State::Closed);
                    } else {
                        self.fail(TcpError::TimedOut);
                    }
                    return;
                }
                self.syn_due = true;
                self.snd_nxt = self.iss;
            }
            State::Closed | State::Listen | State::TimeWait | State::FinWait2 => return,
            _ => {
                if self.outstanding() == 0 {
                    self.rto_count = 0;
                    return;
                }
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
                //# An application MUST (MUST-21) be able to set the value for R2 for
                //# a particular connection.
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.8
                //# For any state if the user timeout expires, flush all queues,
                //# signal the user "error: connection aborted due to user timeout"
                //# in general and for any outstanding calls, delete the TCB, enter
                //# the CLOSED state, and return.
                if let (Some(limit), Some(since)) = (self.options.user_timeout, self.unacked_since)
                {
                    if now.saturating_duration_since(since) >= limit {
                        self.fail(self.soft_error.unwrap_or(TcpError::TimedOut));
                        return;
                    }
                } else if self.snd_wnd == 0 {
                    // The peer shrank its window to zero under data in flight: the
                    // retransmissions become window probes, sent whatever the window
                    // says, and the connection lives while the peer answers (Linux's
                    // tcp_retransmit_timer does the same). A peer silent for the
                    // maximum RTO is given up on.
                    if now.saturating_duration_since(self.last_recv) > self.config.rtt.max_rto {
                        self.fail(TcpError::TimedOut);
                        return;
                    }
                    self.retransmit_una = true;
                    self.rtt_probe = None;
                    self.rtt.on_timeout();
                    self.timers.set(Timer::Retransmit, now + self.rtt.rto());
                    return;
                } else if self.rto_count > self.r2() {
                    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
                    //# (b)  When the number of transmissions of the same segment
                    //#      reaches a threshold R2 greater than R1, close the
                    //#      connection.
                    // Like Linux (tcp_write_err), a soft error seen meanwhile (an
                    // ICMP host unreachable) says better why than "timed out".
                    self.fail(self.soft_error.unwrap_or(TcpError::TimedOut));
                    return;
                }
                if self.rto_count == self.config.retries1 {
                    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
                    //# (a)  When the number of transmissions of the same segment
                    //#      reaches or exceeds threshold R1, pass negative advice
                    //#      (see Section 3.3.1.4 of [19]) to the IP layer, to
                    //#      trigger dead-gateway diagnosis.
                    self.counters.r1_reached = self.counters.r1_reached.saturating_add(1);
                    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
                    // SHLD-9: the application hears of the delivery problem between
                    // R1 and R2 as a soft error (unless an ICMP error already said
                    // more), with an event; an acceptable ACK clears it.
                    self.set_soft_error(self.soft_error.unwrap_or(TcpError::TimedOut));
                }
                let frto = self.frto_may_start();
                self.on_rto_cc(now);
                // A path MTU probe in flight failed; past R1, a full-sized
                // segment's timeouts may be a PMTU black hole: the resend below
                // goes at a smaller size (`plpmtud`).
                self.on_rto_plpmtud();
                self.timers.clear(Timer::Probe);
                self.timers.clear(Timer::Reorder);
                //= https://www.rfc-editor.org/rfc/rfc6298#section-5
                //# (5.4) Retransmit the earliest segment that has not been
                //# acknowledged by the TCP receiver.
                // Go back to SND.UNA: slow start resends what follows as the window
                // grows again.
                self.snd_nxt = self.snd_una;
                self.retransmit_una = false;
                self.dupacks = 0;
                self.rtt_probe = None;
                self.on_rto_frto(frto);
            }
        }
        self.rtt.on_timeout();
        //= https://www.rfc-editor.org/rfc/rfc6298#section-5
        //# (5.6) Start the retransmission timer, such that it expires after RTO
        //# seconds (for the value of RTO after the doubling operation outlined
        //# in 5.5).
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// R2 for this connection.
    fn r2(&self) -> u32 {
        self.config.retries2
    }

    fn on_persist_timeout(&mut self, now: Instant) {
        if !self.state.is_synchronized() || self.snd_wnd > 0 {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.1
        //# The transmitting TCP implementation MUST regularly transmit the
        //# zero-window probe (MUST-36) ... as long as the receiving TCP
        //# implementation continues to send acknowledgments.
        // Each answered probe resets the count (the ACK processing does), so a
        // window may stay zero forever; only a silent peer is given up on.
        self.persist_probes += 1;
        self.persist_backoff += 1;
        if self.persist_probes > self.r2() {
            self.abort_with_rst(TcpError::TimedOut);
            return;
        }
        self.counters.window_probes = self.counters.window_probes.saturating_add(1);
        self.probe_due = true;
        self.arm_persist(now);
    }

    /// Arms the keep-alive timer from the last segment received, if keep-alive is
    /// on and the state calls for it.
    #[inline]
    pub(super) fn arm_keepalive(&mut self, now: Instant) {
        if self.options.keepalive.is_none() {
            self.timers.clear(Timer::KeepAlive);
            return;
        }
        self.arm_keepalive_on(now);
    }

    /// [`arm_keepalive`](Self::arm_keepalive) with keep-alive on. Out of line:
    /// the segment paths that arm it stay dense when it is off (the default).
    #[inline(never)]
    fn arm_keepalive_on(&mut self, _now: Instant) {
        match self.options.keepalive {
            Some(ka) if matches!(self.state, State::Established | State::CloseWait) => {
                let at = self.last_recv
                    + if self.keepalive_probes == 0 {
                        ka.idle
                    } else {
                        ka.interval
                    };
                self.timers.set(Timer::KeepAlive, at);
            }
            _ => self.timers.clear(Timer::KeepAlive),
        }
    }

    fn on_keepalive_timeout(&mut self, now: Instant) {
        let Some(ka) = self.options.keepalive else {
            return;
        };
        if !matches!(self.state, State::Established | State::CloseWait) {
            return;
        }
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
        //# Keep-alive packets MUST only be sent when no sent data is
        //# outstanding, and no data or acknowledgment packets have been received
        //# for the connection within an interval (MUST-26).
        if self.outstanding() > 0 {
            self.timers.set(Timer::KeepAlive, now + ka.idle);
            return;
        }
        if self.keepalive_probes >= ka.probes {
            self.abort_with_rst(TcpError::TimedOut);
            return;
        }
        self.keepalive_probes += 1;
        self.counters.keepalive_probes = self.counters.keepalive_probes.saturating_add(1);
        self.probe_due = true;
        self.timers.set(Timer::KeepAlive, now + ka.interval);
    }
}
