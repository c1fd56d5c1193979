//! [`Runtime::shutdown`]: the graceful end of a runtime, which lets the
//! connections being closed finish their close before the thread stops.
//!
//! # Why
//!
//! A program that writes, closes and exits expects its data delivered: on Linux
//! the kernel carries an orphaned connection's close on (retransmissions, the
//! FIN, its acknowledgement) after the process is gone. A layer4 stack lives in
//! the process; once its [`Runtime`] stops, nothing retransmits. Dropping the
//! runtime stops it at once (one last transmit pass, no waiting: a drop should
//! not block for seconds behind the caller's back); `shutdown` is the explicit
//! way to wait.
//!
//! # What it does
//!
//! 1. Stops taking work: every socket the application still holds is closed, as
//!    exit(2) closes a process's descriptors (a listener resets the connections
//!    it did not accept and new SYNs are refused; a stream sends its unsent data
//!    and a FIN, or a RST if it had received data never read or was given a
//!    zero linger (`set_zero_linger`), as Linux's close;
//!    a UDP socket's queued datagrams still leave), and every call, blocked or
//!    later, fails with `NetworkDown`.
//! 2. Drives the stack until every TCP connection has finished (its FIN
//!    acknowledged, FIN-WAIT-2 or TIME-WAIT, or closed by a reset or a timeout;
//!    TIME-WAIT is not waited out), or until the timeout.
//! 3. Stops the thread as a drop does, and returns how many connections were
//!    still unfinished: abandoned (nothing is sent for them after that).
//!
//! A runtime whose thread is gone (a device error, a panic) cannot drive
//! anything: step 2 ends as soon as it is known, with every unfinished
//! connection abandoned, rather than wait for a timeout (or forever).
//!
//! It blocks the calling thread; from async code, call it where blocking is
//! allowed (the end of `main`, `spawn_blocking`).

use std::time::Duration;

use layer4::time::Instant;
use layer4::{SocketProtocol, Stack, State};

use crate::runtime::Runtime;

impl Runtime {
    /// Ends the runtime gracefully: closes every socket still open (as a
    /// process's exit would), keeps driving the stack until every connection
    /// has finished its close (FIN acknowledged, reset, or TIME-WAIT reached)
    /// or `timeout` has passed, then stops as a drop does. Returns the number of
    /// connections abandoned unfinished: `0` when every connection got its FIN
    /// (and so all its data) acknowledged, or was over before (a connection
    /// reset, or given up on by the stack's own timeouts, counts as finished,
    /// not abandoned: its failure was the stack's to report, not the
    /// shutdown's).
    ///
    /// From the moment it is called every socket call fails with
    /// `io::ErrorKind::NetworkDown`. If the runtime has stopped, or stops while
    /// this waits (a device error, or a panic on its thread), nothing more is
    /// sent and it returns at once, whatever the timeout (`Duration::MAX`
    /// too), with the unfinished connections all abandoned: the count says
    /// how many connections did not finish, not why (the socket calls'
    /// `NetworkDown` message says why the runtime stopped). Blocks the
    /// calling thread for at most `timeout` plus one transmit pass.
    pub fn shutdown(mut self, timeout: Duration) -> usize {
        let deadline = std::time::Instant::now().checked_add(timeout);
        let shared = self.shared.clone();
        let mut g = shared.lock();
        g.draining = true;
        let now = shared.now();
        for h in std::mem::take(&mut g.open) {
            g.close_socket(now, h);
        }
        g.wake_all();
        shared.wake();
        let abandoned = loop {
            let left = unfinished_connections(&g.stack, shared.now());
            if (left == 0 && !g.udp_closes_pending()) || g.stopped().is_some() {
                break left;
            }
            g = match deadline {
                // A timeout beyond the clock's range: no deadline.
                None => shared.drained.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left_to_wait = d.saturating_duration_since(std::time::Instant::now());
                    if left_to_wait.is_zero() {
                        break left;
                    }
                    shared
                        .drained
                        .wait_timeout(g, left_to_wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        };
        drop(g);
        self.stop("the runtime was shut down");
        abandoned
    }
}

/// The connections of `stack` that have not finished: the handshake, the
/// transfer, or a close whose FIN is not yet acknowledged. Finished:
/// FIN-WAIT-2 and TIME-WAIT (our FIN acknowledged) and CLOSED (after the last
/// ACK, a reset or a timeout).
fn unfinished_connections(stack: &Stack, now: Instant) -> usize {
    // The socket table is built once per turn of the drain, which is short.
    stack
        .socket_table(now)
        .into_iter()
        .filter(|e| e.protocol == SocketProtocol::Tcp && e.remote.is_some())
        .filter(|e| {
            matches!(
                stack.tcp_state(e.handle),
                Ok(State::SynSent
                    | State::SynReceived
                    | State::Established
                    | State::CloseWait
                    | State::FinWait1
                    | State::Closing
                    | State::LastAck)
            )
        })
        .count()
}
