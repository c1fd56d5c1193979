//! A connection's failure is reported once, as Linux reports it (the socket's
//! `sk_err` is taken by the first call that sees it): after a peer's RST the
//! first read, peek or write fails with `ConnectionReset`, and from then on
//! reads return `Ok(0)` and writes fail with `BrokenPipe`. A RST after the
//! peer's FIN (CLOSE-WAIT) is `BrokenPipe`, which only a write reports.
//!
//! Each sequence of calls runs twice: on std's sockets over the kernel's
//! loopback (the reference, checked at every run, not remembered), and on
//! layer4's blocking streams over a `DatagramDevice` pair (no TUN, no root). The
//! two must give the same results. Every blocking call is under a timeout.

mod common;
mod datagram_pair;

use std::io::{self, Read, Write};

use common::reset::{self, Before, Call, Outcome};
use io::ErrorKind::{BrokenPipe, ConnectionReset};
use layer4_net::Runtime;
use Call::{Peek, Read as R, Write as W};

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(4, 9)
}

/// A connection from `a` to `b`, reset by its server.
fn layer4_reset(a: &Runtime, b: &Runtime) -> layer4_net::TcpStream {
    reset::layer4_reset(a, b, "10.9.4.2:0", Before::Nothing)
}

/// Runs `calls` on a reset connection of the kernel's and of layer4's; both
/// must give `expected`.
fn check(before: Before, calls: &[Call], expected: &[Outcome]) {
    reset::check(pair, "10.9.4.2:0", before, calls, expected);
}

#[test]
fn a_reset_read_first_is_reported_once_then_reads_end_and_writes_break() {
    check(
        Before::Nothing,
        &[R, R, W, W, R],
        &[
            Err(ConnectionReset),
            Ok(0),
            Err(BrokenPipe),
            Err(BrokenPipe),
            Ok(0),
        ],
    );
}

#[test]
fn a_reset_written_first_is_reported_once_then_writes_break_and_reads_end() {
    check(
        Before::Nothing,
        &[W, W, R, R],
        &[Err(ConnectionReset), Err(BrokenPipe), Ok(0), Ok(0)],
    );
}

#[test]
fn a_peek_takes_the_reset_as_a_read_does() {
    check(
        Before::Nothing,
        &[Peek, Peek, R, W],
        &[Err(ConnectionReset), Ok(0), Ok(0), Err(BrokenPipe)],
    );
}

#[test]
fn a_reset_in_close_wait_is_a_broken_pipe_that_reads_never_see() {
    // Linux's `tcp_reset` sets `EPIPE`, not `ECONNRESET`, in CLOSE-WAIT: the
    // peer had closed, so what fails is writing to it. A read ends the stream
    // as the FIN did (`tcp_recvmsg` finds `SOCK_DONE` before `sk_err`) and
    // takes nothing; the first write takes the error.
    check(
        Before::Fin,
        &[R, R, W, W, R],
        &[Ok(0), Ok(0), Err(BrokenPipe), Err(BrokenPipe), Ok(0)],
    );
    check(
        Before::Fin,
        &[W, W, R, R],
        &[Err(BrokenPipe), Err(BrokenPipe), Ok(0), Ok(0)],
    );
    check(
        Before::Fin,
        &[Peek, Peek, R, W],
        &[Ok(0), Ok(0), Ok(0), Err(BrokenPipe)],
    );
}

#[test]
fn clones_share_one_report_of_the_reset() {
    // Linux keeps the error in the socket, which `try_clone`'s descriptors
    // share: the clone that calls first takes it.
    let (a, b) = pair();
    let c = layer4_reset(&a, &b);
    let d = c.try_clone().unwrap();
    assert_eq!(
        (&d).read(&mut [0u8; 8]).map_err(|e| e.kind()),
        Err(ConnectionReset)
    );
    assert_eq!((&c).read(&mut [0u8; 8]).map_err(|e| e.kind()), Ok(0));
    assert_eq!((&c).write(b"x").map_err(|e| e.kind()), Err(BrokenPipe));
    // A new connection has its own.
    let e = layer4_reset(&a, &b);
    assert_eq!((&e).write(b"x").map_err(|e| e.kind()), Err(ConnectionReset));
}
