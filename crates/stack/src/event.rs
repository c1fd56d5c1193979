//! [`Event`]: what the stack tells the application through `poll_event`.

use crate::socket::SocketHandle;

/// What happened to a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A connect completed.
    Connected,
    /// A listener has a connection to accept, or (one that holds SYNs,
    /// [`Stack::tcp_hold_syns`](crate::Stack::tcp_hold_syns)) a SYN to decide.
    Acceptable,
    /// Data (or end of stream, or an error) can be read.
    Readable,
    /// Send buffer space opened up.
    Writable,
    /// The socket failed; the next call on it returns the error.
    Error,
    /// The connection is closed (after an error, or a completed close).
    Closed,
    /// The peer sent urgent data: a new urgent pointer lies ahead of the data read
    /// so far (`tcp_urgent_mark` says where urgent data ends). Raised once per
    /// advance of the pointer.
    Urgent,
    /// A problem the connection survives: an ICMP destination unreachable, or
    /// retransmissions reaching R1 (RFC 9293 section 3.8.3); `tcp_take_soft_error`
    /// says which.
    SoftError,
}

impl EventKind {
    pub(crate) const ALL: [EventKind; 8] = [
        EventKind::Connected,
        EventKind::Acceptable,
        EventKind::Readable,
        EventKind::Writable,
        EventKind::Error,
        EventKind::Closed,
        EventKind::Urgent,
        EventKind::SoftError,
    ];

    pub(crate) const fn bit(self) -> u8 {
        match self {
            EventKind::Connected => 1,
            EventKind::Acceptable => 2,
            EventKind::Readable => 4,
            EventKind::Writable => 8,
            EventKind::Error => 16,
            EventKind::Closed => 32,
            EventKind::Urgent => 64,
            EventKind::SoftError => 128,
        }
    }
}

/// One event for one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The socket.
    pub handle: SocketHandle,
    /// What happened.
    pub kind: EventKind,
}
