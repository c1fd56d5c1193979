//! A connection's failure is reported once, as Linux reports it (the socket's
//! `sk_err` is taken by the first call that sees it): after a peer's RST the
//! first read, peek or write fails with `ConnectionReset`, and from then on
//! reads return `Ok(0)` and writes fail with `BrokenPipe`.
//!
//! Each sequence of calls runs twice: on std's sockets over the kernel's
//! loopback (the reference, checked at every run, not remembered), and on
//! layer4's blocking streams over a `DatagramDevice` pair (no TUN, no root). The
//! two must give the same results. Every blocking call is under a timeout.

mod datagram_pair;

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use io::ErrorKind::{BrokenPipe, ConnectionReset};
use layer4_net::Runtime;
use Call::{Peek, Read as R, Write as W};

/// How long any blocking call may wait before the test counts it as hung.
const HUNG: Duration = Duration::from_secs(10);

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(4, 9)
}

/// What the test needs of a stream, std's or layer4's.
trait Stream: Read + Write {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// `peer_addr` fails with `NotConnected` once the connection is over,
    /// without taking its error (on Linux as in layer4).
    fn is_over(&self) -> bool;
    fn set_timeouts(&self, t: Duration);
}

impl Stream for std::net::TcpStream {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::net::TcpStream::peek(self, buf)
    }
    fn is_over(&self) -> bool {
        self.peer_addr()
            .is_err_and(|e| e.kind() == io::ErrorKind::NotConnected)
    }
    fn set_timeouts(&self, t: Duration) {
        self.set_read_timeout(Some(t)).unwrap();
        self.set_write_timeout(Some(t)).unwrap();
    }
}

impl Stream for layer4_net::TcpStream {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        layer4_net::TcpStream::peek(self, buf)
    }
    fn is_over(&self) -> bool {
        self.peer_addr()
            .is_err_and(|e| e.kind() == io::ErrorKind::NotConnected)
    }
    fn set_timeouts(&self, t: Duration) {
        self.set_read_timeout(Some(t)).unwrap();
        self.set_write_timeout(Some(t)).unwrap();
    }
}

/// Makes `server` reset the connection of `client`: the client writes, the
/// server sees the bytes arrive and closes without reading them (a RST, RFC
/// 9293 3.10.4 / RFC 2525 2.17, on Linux and in layer4), and the client waits
/// until the RST has arrived.
fn reset_by_peer<S: Stream, T: Stream>(mut client: S, server: T) -> S {
    client.set_timeouts(HUNG);
    server.set_timeouts(HUNG);
    client.write_all(b"never read").unwrap();
    assert!(server.peek(&mut [0u8; 1]).unwrap() > 0, "nothing arrived");
    drop(server);
    let start = Instant::now();
    while !client.is_over() {
        assert!(start.elapsed() < HUNG, "no RST within {HUNG:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    client
}

/// A connection over the kernel's loopback, reset by its server.
fn kernel_reset() -> std::net::TcpStream {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    reset_by_peer(c, s)
}

/// A connection from `a` to `b`, reset by its server.
fn layer4_reset(a: &Runtime, b: &Runtime) -> layer4_net::TcpStream {
    let l = layer4_net::TcpListener::bind(b, "10.9.4.2:0").unwrap();
    let c = layer4_net::TcpStream::connect(a, l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    reset_by_peer(c, s)
}

#[derive(Debug, Clone, Copy)]
enum Call {
    Read,
    Write,
    Peek,
}

/// The results of `calls` on `s`, in order.
fn results(s: &mut impl Stream, calls: &[Call]) -> Vec<Result<usize, io::ErrorKind>> {
    let mut buf = [0u8; 16];
    calls
        .iter()
        .map(|call| match call {
            Call::Read => s.read(&mut buf),
            Call::Write => s.write(b"more"),
            Call::Peek => s.peek(&mut buf),
        })
        .map(|r| r.map_err(|e| e.kind()))
        .collect()
}

/// Runs `calls` on a reset connection of the kernel's and of layer4's; both
/// must give `expected`.
fn check(calls: &[Call], expected: &[Result<usize, io::ErrorKind>]) {
    let kernel = results(&mut kernel_reset(), calls);
    assert_eq!(kernel, expected, "the kernel's reference changed");
    let (a, b) = pair();
    let layer4 = results(&mut layer4_reset(&a, &b), calls);
    assert_eq!(layer4, kernel, "layer4 and the kernel differ for {calls:?}");
}

#[test]
fn a_reset_read_first_is_reported_once_then_reads_end_and_writes_break() {
    check(
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
        &[W, W, R, R],
        &[Err(ConnectionReset), Err(BrokenPipe), Ok(0), Ok(0)],
    );
}

#[test]
fn a_peek_takes_the_reset_as_a_read_does() {
    check(
        &[Peek, Peek, R, W],
        &[Err(ConnectionReset), Ok(0), Ok(0), Err(BrokenPipe)],
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
