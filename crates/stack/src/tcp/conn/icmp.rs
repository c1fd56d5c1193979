//! ICMP errors about this connection (RFC 9293 section 3.9.3, RFC 1122 4.2.3.9,
//! RFC 5927): what the stack tells a connection after matching the quoted segment.

use super::{Connection, TcpError};
use crate::tcp::state::State;
use crate::wire::{SeqNumber, TcpRepr};

/// What an ICMP error said, as far as TCP cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpNotice {
    /// Port or protocol unreachable: a hard error.
    Refused,
    /// Network or host unreachable (and the other soft codes).
    Unreachable,
    /// Time exceeded or parameter problem.
    Transient,
}

impl Connection {
    /// Whether `seq`, quoted by an ICMP error, is data this connection has in flight:
    /// an error quoting anything else is forged or stale and is ignored.
    //= https://www.rfc-editor.org/rfc/rfc5927#section-4.1
    //# TCP SHOULD check that the TCP sequence number contained in the
    //# payload of the ICMP error message is within the range SND.UNA =<
    //# SEG.SEQ < SND.NXT.
    pub fn seq_in_flight(&self, seq: SeqNumber) -> bool {
        seq >= self.snd_una && seq < self.snd_max
    }

    /// An ICMP error concerning this connection arrived.
    pub fn handle_icmp(&mut self, notice: IcmpNotice) {
        self.counters.icmp_errors = self.counters.icmp_errors.saturating_add(1);
        match notice {
            //= https://www.rfc-editor.org/rfc/rfc9293#section-3.9.3
            // (MUST-56, in our words: the exact text could not be checked here.) Time
            // exceeded and parameter problem are transient: they never abort the
            // connection.
            IcmpNotice::Transient => {}
            // A hard error fails a connection still being opened, as Linux does;
            // an established connection keeps going (RFC 5461). In SYN-RECEIVED
            // the error quotes our SYN-ACK (the stack checked that its sequence
            // number is our ISN, RFC 5927): the host we answered refuses it, as
            // a host that never sent the SYN (a spoofed source) does. Linux drops
            // such a half-open request (`tcp_req_err`: IPv6 on port unreachable;
            // IPv4 instead on net / host unreachable, time exceeded and parameter
            // problem, which RFC 9293's MUST-56 says must not abort a connection,
            // so here they stay soft errors).
            //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.9
            //# These are hard error conditions, so TCP SHOULD abort
            //# the connection.
            IcmpNotice::Refused if matches!(self.state, State::SynSent | State::SynReceived) => {
                self.fail(TcpError::Refused)
            }
            IcmpNotice::Refused | IcmpNotice::Unreachable => {
                //= https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.9
                //# Since these Unreachable messages indicate soft error
                //# conditions, TCP MUST NOT abort the connection, and it
                //# SHOULD make the information available to the
                //# application.
                // As Linux keeps `sk_err_soft`: the application can take it
                // (`take_soft_error`), hears of it through an event, and a timeout
                // reports it instead of "timed out".
                self.set_soft_error(if notice == IcmpNotice::Refused {
                    TcpError::Refused
                } else {
                    TcpError::HostUnreachable
                });
            }
        }
    }

    /// Whether a SYN arriving for this connection in TIME-WAIT may start a new
    /// incarnation (RFC 6191): its timestamp is newer, or without timestamps its
    /// sequence number lies beyond everything received.
    //= https://www.rfc-editor.org/rfc/rfc6191#section-2
    //# If the previous incarnation of the connection used Timestamps, then:
    //# if ... the timestamp value of the SYN segment is greater than TS.Recent
    //# ... the TIME-WAIT state may be ... and the new connection accepted
    pub fn time_wait_accepts_syn(&self, seg: &TcpRepr<'_>) -> bool {
        if self.state != State::TimeWait {
            return false;
        }
        match (self.ts, seg.options.timestamp) {
            (Some(ts), Some(opt)) => (opt.tsval.wrapping_sub(ts.recent) as i32) > 0,
            (Some(_), None) => false,
            (None, _) => seg.seq_number > self.rcv_nxt,
        }
    }
}
