//! A connection reset by its peer, on the kernel's loopback (std's sockets,
//! the reference, checked at every run) and on layer4 (its blocking streams
//! over a `DatagramDevice` pair), and the sequences of calls after it whose
//! results the two must share: what `reset_reported_once.rs` and
//! `take_error.rs` compare. Every blocking call is under a timeout.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use layer4_net::Runtime;

/// How long any blocking call may wait before the test counts it as hung.
pub const HUNG: Duration = Duration::from_secs(10);

/// What the tests need of a stream, std's or layer4's.
pub trait Stream: Read + Write {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// `peer_addr` fails with `NotConnected` once the connection is over,
    /// without taking its error (on Linux as in layer4).
    fn is_over(&self) -> bool;
    fn set_timeouts(&self, t: Duration);
    fn shutdown_write(&self);
    fn set_nonblocking(&self, on: bool);
}

macro_rules! impl_stream {
    ($t:ty) => {
        impl Stream for $t {
            fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$t>::peek(self, buf)
            }
            fn take_error(&self) -> io::Result<Option<io::Error>> {
                <$t>::take_error(self)
            }
            fn is_over(&self) -> bool {
                self.peer_addr()
                    .is_err_and(|e| e.kind() == io::ErrorKind::NotConnected)
            }
            fn set_timeouts(&self, t: Duration) {
                self.set_read_timeout(Some(t)).unwrap();
                self.set_write_timeout(Some(t)).unwrap();
            }
            fn shutdown_write(&self) {
                self.shutdown(std::net::Shutdown::Write).unwrap();
            }
            fn set_nonblocking(&self, on: bool) {
                <$t>::set_nonblocking(self, on).unwrap();
            }
        }
    };
}

impl_stream!(std::net::TcpStream);
impl_stream!(layer4_net::TcpStream);

/// Waits until `client`'s connection is over (its peer's RST arrived).
pub fn wait_over<S: Stream>(client: &S) {
    let start = Instant::now();
    while !client.is_over() {
        assert!(start.elapsed() < HUNG, "no RST within {HUNG:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What came before the peer's RST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Nothing: the RST finds the client ESTABLISHED, nothing to read.
    Nothing,
    /// 5 bytes from the server, received and unread: ESTABLISHED.
    Data,
    /// The server's FIN, which the client has seen (a peek returned the end
    /// of the stream): the RST finds the client in CLOSE-WAIT.
    Fin,
    /// The client shut down writing behind more than the server's window can
    /// take (its FIN waits behind the data), then the server's FIN came: the
    /// RST finds the client in CLOSING, its FIN not acknowledged (not even
    /// sent).
    Closing,
    /// The server's FIN, then the client shut down writing behind more than
    /// the server's window can take: the RST finds the client in LAST-ACK.
    LastAck,
}

/// Writes to `s` until its send buffer and the peer's window are full.
fn fill<S: Stream>(s: &mut S) {
    s.set_nonblocking(true);
    let chunk = [0x55u8; 65536];
    // Until a write has been refused for a while: the first refusal only says
    // the send buffer is full, and while the stack drains it into the peer's
    // window there is room again. Stopping there let layer4's whole send buffer
    // fit in the server's receive buffer, so the FIN behind it went out and was
    // acknowledged before the reset (a third of the runs, under load).
    let mut refused_since: Option<Instant> = None;
    loop {
        match s.write(&chunk) {
            Ok(_) => refused_since = None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let since = *refused_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(300) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("filling: {e}"),
        }
    }
    s.set_nonblocking(false);
}

/// Makes `server` reset `client`'s connection: the client writes, the server
/// sees the bytes arrive and closes without reading them (a RST, RFC 9293
/// 3.10.4 / RFC 2525 2.17, on Linux and in layer4, also after its FIN), and
/// the client waits until the RST has arrived. `before`: what came first.
pub fn reset_by_peer<S: Stream, T: Stream>(mut client: S, mut server: T, before: Before) -> S {
    client.set_timeouts(HUNG);
    server.set_timeouts(HUNG);
    if before == Before::Data {
        server.write_all(b"hello").unwrap();
        assert_eq!(client.peek(&mut [0u8; 8]).unwrap(), 5);
    }
    client.write_all(b"never read").unwrap();
    assert!(server.peek(&mut [0u8; 1]).unwrap() > 0, "nothing arrived");
    match before {
        Before::Fin => {
            server.shutdown_write();
            assert_eq!(client.peek(&mut [0u8; 8]).unwrap(), 0, "no FIN");
        }
        Before::Closing => {
            fill(&mut client);
            client.shutdown_write();
            server.shutdown_write();
            assert_eq!(client.peek(&mut [0u8; 8]).unwrap(), 0, "no FIN");
        }
        Before::LastAck => {
            server.shutdown_write();
            assert_eq!(client.peek(&mut [0u8; 8]).unwrap(), 0, "no FIN");
            fill(&mut client);
            client.shutdown_write();
        }
        Before::Nothing | Before::Data => {}
    }
    drop(server);
    wait_over(&client);
    client
}

/// A connection over the kernel's loopback, reset by its server.
pub fn kernel_reset(before: Before) -> std::net::TcpStream {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    reset_by_peer(c, s, before)
}

/// A connection from `a` to a listener of `b` at `listen`, reset by its
/// server.
pub fn layer4_reset(
    a: &Runtime,
    b: &Runtime,
    listen: &str,
    before: Before,
) -> layer4_net::TcpStream {
    let l = layer4_net::TcpListener::bind(b, listen).unwrap();
    let c = layer4_net::TcpStream::connect(a, l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    reset_by_peer(c, s, before)
}

#[derive(Debug, Clone, Copy)]
pub enum Call {
    Read,
    Write,
    Peek,
    TakeError,
}

/// A call's result: bytes, or the kind of the error it returned or took.
pub type Outcome = Result<usize, io::ErrorKind>;

/// `take_error`'s result as an [`Outcome`]: `Ok(0)` for none.
pub fn taken(r: io::Result<Option<io::Error>>) -> Outcome {
    match r {
        Ok(None) => Ok(0),
        Ok(Some(e)) | Err(e) => Err(e.kind()),
    }
}

/// The results of `calls` on `s`, in order.
pub fn results(s: &mut impl Stream, calls: &[Call]) -> Vec<Outcome> {
    let mut buf = [0u8; 16];
    calls
        .iter()
        .map(|call| match call {
            Call::Read => s.read(&mut buf).map_err(|e| e.kind()),
            Call::Write => s.write(b"more").map_err(|e| e.kind()),
            Call::Peek => s.peek(&mut buf).map_err(|e| e.kind()),
            Call::TakeError => taken(s.take_error()),
        })
        .collect()
}

/// Runs `calls` on a reset connection of the kernel's and of layer4's (the
/// runtimes `pair` makes, the server listening at `listen`); both must give
/// `expected`.
pub fn check(
    pair: fn() -> (Runtime, Runtime),
    listen: &str,
    before: Before,
    calls: &[Call],
    expected: &[Outcome],
) {
    let kernel = results(&mut kernel_reset(before), calls);
    assert_eq!(kernel, expected, "the kernel's reference changed");
    let (a, b) = pair();
    let layer4 = results(&mut layer4_reset(&a, &b, listen, before), calls);
    assert_eq!(layer4, kernel, "layer4 and the kernel differ for {calls:?}");
}
