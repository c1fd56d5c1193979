//! What a socket is ready for, as tokio's [`Ready`] bits, and which of them an
//! [`Interest`] asks about: the state behind `ready(Interest)`, `readable()` and
//! `writable()` of the async [`TcpStream`](super::TcpStream) and
//! [`UdpSocket`](super::UdpSocket).

use ::tokio::io::{Interest, Ready};
use layer4::{Error, SocketHandle, Stack, State};

use crate::runtime::Direction;

/// The bits `interest` asks about. As in tokio, a closed direction counts as ready
/// for it: `READABLE` comes with `READ_CLOSED`, `WRITABLE` with `WRITE_CLOSED`.
pub(crate) fn mask(interest: Interest) -> Ready {
    let mut r = Ready::EMPTY;
    if interest.is_readable() {
        r |= Ready::READABLE | Ready::READ_CLOSED;
    }
    if interest.is_writable() {
        r |= Ready::WRITABLE | Ready::WRITE_CLOSED;
    }
    if interest.is_error() {
        r |= Ready::ERROR;
    }
    if interest.is_priority() {
        r |= Ready::PRIORITY;
    }
    r
}

/// Which wakers a wait for `interest` registers with.
pub(crate) fn direction(interest: Interest) -> Direction {
    match (interest.is_readable(), interest.is_writable()) {
        (true, false) => Direction::Read,
        (false, true) => Direction::Write,
        // Errors and urgent data are reported through both lists' events.
        _ => Direction::Both,
    }
}

/// What connection `h` is ready for now: readable when a read would not wait
/// (data, the end of the stream, or an error), writable when a write would not
/// (room in the send buffer, or writing is over and the write reports it).
/// `failure_taken`: the connection's failure was reported already
/// ([`SkErr`](crate::sk_err::SkErr)), so a read ends the stream instead.
pub(crate) fn tcp(s: &Stack, h: SocketHandle, failure_taken: bool) -> Ready {
    let read = match s.tcp_peek(h, &mut [0u8; 1]) {
        // A RST after the peer's FIN (CLOSE-WAIT) leaves the end of the stream
        // to read and the error for a write or `take_error`; Linux's
        // `tcp_poll` shows `EPOLLERR` while `sk_err` is set all the same.
        Ok(0) if !failure_taken && matches!(s.tcp_error(h), Ok(Some(_))) => {
            Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR
        }
        Ok(0) => Ready::READABLE | Ready::READ_CLOSED,
        Ok(_) => Ready::READABLE,
        Err(Error::WouldBlock) => Ready::EMPTY,
        Err(_) if failure_taken => Ready::READABLE | Ready::READ_CLOSED,
        Err(_) => Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
    };
    let write = match s.tcp_state(h) {
        Ok(State::SynSent | State::SynReceived) => Ready::EMPTY,
        Ok(State::Established | State::CloseWait) => match s.tcp_send_capacity(h) {
            Ok(0) => Ready::EMPTY,
            Ok(_) => Ready::WRITABLE,
            Err(_) => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
        },
        Ok(_) => Ready::WRITABLE | Ready::WRITE_CLOSED,
        Err(_) => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::ERROR,
    };
    let urgent = match s.tcp_urgent_mark(h) {
        Ok(Some(_)) => Ready::PRIORITY,
        _ => Ready::EMPTY,
    };
    read | write | urgent
}

/// What UDP socket `h` is ready for now: readable with a datagram (or an error)
/// waiting, writable with room in the send queue.
pub(crate) fn udp(s: &Stack, h: SocketHandle) -> Ready {
    match s.udp_readiness(h) {
        Ok((read, write)) => {
            let mut r = Ready::EMPTY;
            if read {
                r |= Ready::READABLE;
            }
            if write {
                r |= Ready::WRITABLE;
            }
            r
        }
        Err(_) => Ready::READABLE | Ready::WRITABLE | Ready::ERROR,
    }
}

/// `Ok` with the bits of `now` that `interest` asks about, or `WouldBlock` when
/// there are none (the caller waits).
pub(crate) fn select(now: Ready, interest: Interest) -> Result<Ready, Error> {
    let r = now & mask(interest);
    if r.is_empty() {
        Err(Error::WouldBlock)
    } else {
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interest_selects_its_bits_and_the_closed_bit_of_its_direction() {
        let all = Ready::ALL;
        let r = select(all, Interest::READABLE).unwrap();
        assert!(r.is_readable() && r.is_read_closed());
        assert!(!r.is_writable() && !r.is_write_closed());
        let w = select(all, Interest::WRITABLE).unwrap();
        assert!(w.is_writable() && w.is_write_closed() && !w.is_readable());
        assert_eq!(
            select(Ready::WRITABLE, Interest::READABLE),
            Err(Error::WouldBlock)
        );
        let both = select(Ready::WRITABLE, Interest::READABLE | Interest::WRITABLE).unwrap();
        assert!(both.is_writable() && !both.is_readable());
    }

    #[test]
    fn interests_pick_the_waker_lists() {
        assert_eq!(direction(Interest::READABLE), Direction::Read);
        assert_eq!(direction(Interest::WRITABLE), Direction::Write);
        assert_eq!(
            direction(Interest::READABLE | Interest::WRITABLE),
            Direction::Both
        );
        assert_eq!(direction(Interest::ERROR), Direction::Both);
    }
}
