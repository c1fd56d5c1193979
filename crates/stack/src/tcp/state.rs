//! The TCP connection states of RFC 9293, section 3.3.2.

use core::fmt;

/// A connection's state, with the RFC's names.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.3.2
//# A connection progresses through a series of states during its
//# lifetime.  The states are: LISTEN, SYN-SENT, SYN-RECEIVED,
//# ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK,
//# TIME-WAIT, and the fictional state CLOSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request (a listener).
    Listen,
    /// A SYN was sent; waiting for the matching SYN.
    SynSent,
    /// A SYN was received and answered; waiting for its acknowledgment.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; waiting for our application to close.
    CloseWait,
    /// Both closed at once; waiting for the acknowledgment of our FIN.
    Closing,
    /// The peer closed first, then we did; waiting for the acknowledgment of our FIN.
    LastAck,
    /// Both FINs are acknowledged; waiting 2 MSL for stray segments to die.
    TimeWait,
}

impl State {
    /// Whether the state is synchronized (RFC 9293 3.10.7.4): ESTABLISHED and every
    /// state after it.
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// Whether data received in this state is delivered to the application
    /// (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
    pub fn receives_data(self) -> bool {
        matches!(self, State::Established | State::FinWait1 | State::FinWait2)
    }

    /// Whether the application may still send (ESTABLISHED, CLOSE-WAIT).
    pub fn can_send(self) -> bool {
        matches!(self, State::Established | State::CloseWait)
    }

    /// The name `ss` prints (`ESTAB`, `SYN-SENT`, `TIME-WAIT`, ...).
    pub fn ss_name(self) -> &'static str {
        match self {
            State::Closed => "UNCONN",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECV",
            State::Established => "ESTAB",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_rfc_names() {
        assert_eq!(State::SynReceived.to_string(), "SYN-RECEIVED");
        assert_eq!(State::FinWait1.to_string(), "FIN-WAIT-1");
        assert_eq!(State::TimeWait.to_string(), "TIME-WAIT");
    }

    #[test]
    fn synchronized_states_start_at_established() {
        assert!(!State::SynReceived.is_synchronized());
        assert!(State::Established.is_synchronized());
        assert!(State::TimeWait.is_synchronized());
    }
}
