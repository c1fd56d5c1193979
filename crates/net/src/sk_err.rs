//! [`SkErr`]: a connection's failure is reported to the application once, as
//! Linux reports it.
//!
//! The stack keeps a failed connection's error (reset, timed out, refused,
//! unreachable, aborted) and returns it from every later receive and send. Linux
//! keeps it in the socket, `sk_err`, and takes it the first time it is read:
//! `sock_error()` clears it, whether a `read`, a `peek` (`MSG_PEEK` too), a
//! `write` or `SO_ERROR` read it. After that a read finds the receive side shut
//! (`tcp_done()` shut both ways) and returns 0, the end of the stream; a write
//! finds the send side shut and fails with `EPIPE`. Seen on this kernel with
//! std's and tokio's sockets over loopback, after a peer's RST:
//!
//! | calls, in order | results |
//! |---|---|
//! | read, read, write, write | `ConnectionReset`, `Ok(0)`, `BrokenPipe`, `BrokenPipe` |
//! | write, write, read | `ConnectionReset`, `BrokenPipe`, `Ok(0)` |
//! | peek, peek, read, write | `ConnectionReset`, `Ok(0)`, `Ok(0)`, `BrokenPipe` |
//! | reader and writer blocked at the RST | one gets `ConnectionReset`, the other `Ok(0)` / `BrokenPipe` |
//!
//! A RST after the peer's FIN (the connection in CLOSE-WAIT) is `EPIPE` in
//! `sk_err` (`tcp_reset`), the stack's `ResetInCloseWait`, whose kind is
//! `BrokenPipe`. The stack returns the end of the stream to a read, as Linux
//! does (`tcp_recvmsg` finds `SOCK_DONE`, set by the FIN, before `sk_err`), so
//! only a write or `take_error` takes it:
//!
//! | calls, in order | results |
//! |---|---|
//! | read, read, write, write | `Ok(0)`, `Ok(0)`, `BrokenPipe`, `BrokenPipe` |
//! | `take_error`, `take_error`, read, write | `BrokenPipe`, none, `Ok(0)`, `BrokenPipe` |
//!
//! A RST once both ends sent their FIN (our FIN not yet acknowledged: the
//! connection in CLOSING or LAST-ACK) is `ECONNRESET` in `sk_err`, though RFC
//! 9293 has it just close; the stack reports it as `ConnectionReset`. Reads
//! end the stream, the peer's FIN having come first; a write (the application
//! had shut writing down) or `take_error` takes it:
//!
//! | calls, in order | results |
//! |---|---|
//! | read, `take_error`, write | `Ok(0)`, `ConnectionReset`, `BrokenPipe` |
//! | write, `take_error`, read | `ConnectionReset`, none, `Ok(0)` |
//!
//! That is a socket-layer rule above TCP (the state machine only records why the
//! connection ended), so it lives here, one [`SkErr`] per socket, shared by every
//! handle of it (`try_clone`, the async halves) as the kernel's socket is by its
//! descriptors. The stack's own calls are unchanged.

use std::sync::atomic::{AtomicBool, Ordering};

use layer4::Error;

/// Whether a socket's failure has been reported to the application (Linux's
/// `sk_err` taken). Read and set under the stack's lock, next to the call whose
/// result it changes.
#[derive(Debug, Default)]
pub(crate) struct SkErr {
    taken: AtomicBool,
}

/// Whether `e` is a connection's failure (what Linux keeps in `sk_err`), as
/// opposed to a call's own error (`WouldBlock`, `BrokenPipe` after a shutdown,
/// an invalid handle).
fn is_failure(e: Error) -> bool {
    matches!(
        e,
        Error::ConnectionReset
            | Error::ResetInCloseWait
            | Error::ConnectionRefused
            | Error::ConnectionAborted
            | Error::TimedOut
            | Error::HostUnreachable
    )
}

impl SkErr {
    /// A read's (or peek's) result as the application sees it: the failure the
    /// first time, then the end of the stream.
    pub(crate) fn read(&self, r: Result<usize, Error>) -> Result<usize, Error> {
        match r {
            Err(e) if is_failure(e) && self.take() => Err(e),
            Err(e) if is_failure(e) => Ok(0),
            r => r,
        }
    }

    /// A write's result as the application sees it: the failure the first time,
    /// then `BrokenPipe`.
    pub(crate) fn write(&self, r: Result<usize, Error>) -> Result<usize, Error> {
        match r {
            Err(e) if is_failure(e) && self.take() => Err(e),
            Err(e) if is_failure(e) => Err(Error::BrokenPipe),
            r => r,
        }
    }

    /// Whether the failure was already reported (readiness then shows the
    /// closed directions, no longer the error).
    pub(crate) fn taken(&self) -> bool {
        self.taken.load(Ordering::Relaxed)
    }

    /// Takes the failure: `true` the first time.
    fn take(&self) -> bool {
        !self.taken.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_reported_once_then_reads_end_and_writes_break() {
        let e = SkErr::default();
        let reset = Err(Error::ConnectionReset);
        assert_eq!(e.read(Ok(5)), Ok(5), "data before the failure");
        assert_eq!(e.read(Err(Error::WouldBlock)), Err(Error::WouldBlock));
        assert!(!e.taken());
        assert_eq!(e.read(reset), reset);
        assert!(e.taken());
        assert_eq!(e.read(reset), Ok(0));
        assert_eq!(e.write(reset), Err(Error::BrokenPipe));
        // Data still buffered is not the failure's to hide.
        assert_eq!(e.read(Ok(3)), Ok(3));
    }

    #[test]
    fn a_write_takes_the_failure_for_the_reads_too() {
        let e = SkErr::default();
        let timed_out = Err(Error::TimedOut);
        assert_eq!(e.write(timed_out), timed_out);
        assert_eq!(e.write(timed_out), Err(Error::BrokenPipe));
        assert_eq!(e.read(timed_out), Ok(0));
    }

    #[test]
    fn a_reset_in_close_wait_is_a_failure_taken_once() {
        let e = SkErr::default();
        let pipe = Err(Error::ResetInCloseWait);
        assert_eq!(e.write(pipe), pipe);
        assert!(e.taken());
        assert_eq!(e.write(pipe), Err(Error::BrokenPipe));
    }

    #[test]
    fn a_calls_own_errors_take_nothing() {
        let e = SkErr::default();
        assert_eq!(e.write(Err(Error::BrokenPipe)), Err(Error::BrokenPipe));
        assert_eq!(e.read(Err(Error::InvalidHandle)), Err(Error::InvalidHandle));
        assert!(!e.taken());
        assert_eq!(
            e.read(Err(Error::ConnectionAborted)),
            Err(Error::ConnectionAborted)
        );
    }
}
