//! `take_error` (`SO_ERROR`) of layer4's std and tokio sockets, as Linux
//! answers it: a connection's failure is taken once (by `take_error` or by
//! the read, peek or write that meets it first; then reads return `Ok(0)` and
//! writes `BrokenPipe`), a soft error (an ICMP unreachable the connection
//! survives) is taken when there is no failure, a listener has none, and a
//! connected UDP socket takes an ICMP port unreachable for its peer.
//!
//! Each sequence runs on std's (or tokio's) sockets over the kernel's loopback
//! (the reference, checked at every run, not remembered) and on layer4's over a
//! `DatagramDevice` pair (no TUN, no root); the two must give the same results.
//! The soft error needs an ICMP error the kernel's loopback will not make
//! without privileges: there the test injects one into the stack, and Linux's
//! source is the reference. Every blocking call is under a timeout.

mod common;
mod datagram_pair;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::reset::{self, taken, Before, Call, Outcome, HUNG};
use io::ErrorKind::{BrokenPipe, ConnectionRefused, ConnectionReset, HostUnreachable};
use layer4::ip::cidr::IpCidr;
use layer4::{Config, SocketProtocol, Stack};
use layer4_net::{ControlSocket, DatagramDevice, Device, Runtime, RuntimeOptions};
use Call::{Peek, Read as R, TakeError as E, Write as W};

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(7, 31)
}

fn layer4_reset(a: &Runtime, b: &Runtime, before: Before) -> layer4_net::TcpStream {
    reset::layer4_reset(a, b, "10.9.7.2:0", before)
}

/// Runs `calls` on a reset connection of the kernel's and of layer4's; both
/// must give `expected`.
fn check(before: Before, calls: &[Call], expected: &[Outcome]) {
    reset::check(pair, "10.9.7.2:0", before, calls, expected);
}

#[test]
fn take_error_takes_a_reset_once_then_reads_end_and_writes_break() {
    check(
        Before::Nothing,
        &[E, E, R, W, E],
        &[Err(ConnectionReset), Ok(0), Ok(0), Err(BrokenPipe), Ok(0)],
    );
}

#[test]
fn a_reset_a_read_or_peek_reported_is_not_taken_again() {
    check(
        Before::Nothing,
        &[R, E, W],
        &[Err(ConnectionReset), Ok(0), Err(BrokenPipe)],
    );
    check(
        Before::Nothing,
        &[Peek, E, R],
        &[Err(ConnectionReset), Ok(0), Ok(0)],
    );
    check(
        Before::Nothing,
        &[W, E, R],
        &[Err(ConnectionReset), Ok(0), Ok(0)],
    );
}

#[test]
fn take_error_takes_a_reset_in_close_wait_as_a_broken_pipe() {
    // `tcp_reset` in CLOSE-WAIT: `sk_err` is `EPIPE`, taken once by
    // `SO_ERROR` or a write; reads end the stream without taking it.
    check(
        Before::Fin,
        &[E, E, R, W, E],
        &[Err(BrokenPipe), Ok(0), Ok(0), Err(BrokenPipe), Ok(0)],
    );
    check(
        Before::Fin,
        &[R, E, W],
        &[Ok(0), Err(BrokenPipe), Err(BrokenPipe)],
    );
    check(Before::Fin, &[Peek, E, R], &[Ok(0), Err(BrokenPipe), Ok(0)]);
    check(Before::Fin, &[W, E, R], &[Err(BrokenPipe), Ok(0), Ok(0)]);
}

#[test]
fn take_error_takes_a_reset_in_closing_or_last_ack_as_a_reset() {
    // Both ends closed, our FIN not acknowledged: RFC 9293 (3.10.7.4) has the
    // RST just close the connection, but Linux's `tcp_reset` sets `sk_err` to
    // `ECONNRESET` in every state but SYN-SENT and CLOSE-WAIT, taken once by
    // `SO_ERROR` or a write (then the write's own `EPIPE`); reads end the
    // stream, the FIN having come first (`SOCK_DONE` before `sk_err`).
    for before in [Before::Closing, Before::LastAck] {
        check(
            before,
            &[E, E, R, W, E],
            &[Err(ConnectionReset), Ok(0), Ok(0), Err(BrokenPipe), Ok(0)],
        );
        check(
            before,
            &[R, E, W],
            &[Ok(0), Err(ConnectionReset), Err(BrokenPipe)],
        );
        check(before, &[Peek, E, R], &[Ok(0), Err(ConnectionReset), Ok(0)]);
        check(before, &[W, E, R], &[Err(ConnectionReset), Ok(0), Ok(0)]);
    }
}

#[test]
fn take_error_reports_a_reset_before_the_data_that_came_ahead_of_it() {
    // The 5 bytes stay readable after the error is taken; then the end.
    check(
        Before::Data,
        &[E, R, R, E],
        &[Err(ConnectionReset), Ok(5), Ok(0), Ok(0)],
    );
    // Without `take_error`: the data, then the reset.
    check(
        Before::Data,
        &[R, R, R],
        &[Ok(5), Err(ConnectionReset), Ok(0)],
    );
}

#[test]
fn clones_share_what_take_error_took() {
    let (a, b) = pair();
    let c = layer4_reset(&a, &b, Before::Nothing);
    let d = c.try_clone().unwrap();
    assert_eq!(taken(d.take_error()), Err(ConnectionReset));
    assert_eq!((&c).read(&mut [0u8; 8]).map_err(|e| e.kind()), Ok(0));
    assert_eq!(taken(c.take_error()), Ok(0));
}

#[test]
fn a_healthy_connection_and_a_listener_have_no_error() {
    let kl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let kc = std::net::TcpStream::connect(kl.local_addr().unwrap()).unwrap();
    assert_eq!(taken(kl.take_error()), Ok(0));
    assert_eq!(taken(kc.take_error()), Ok(0));
    let (a, b) = pair();
    let l = layer4_net::TcpListener::bind(&b, "10.9.7.2:0").unwrap();
    let c = layer4_net::TcpStream::connect(&a, l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    assert_eq!(taken(l.take_error()), Ok(0));
    assert_eq!(taken(c.take_error()), Ok(0));
    assert_eq!(taken(s.take_error()), Ok(0));
}

/// Sends a datagram from an unconnected socket and then from a connected one
/// to the closed port `closed`; waits until the connected one has its error
/// (the ICMP port unreachables come back in order) and returns what the two
/// `take_error`s give, then the connected one's second.
fn udp_errors<U>(
    unconnected: &U,
    connected: &U,
    closed: SocketAddr,
    send_to: impl Fn(&U, SocketAddr) -> io::Result<usize>,
    send: impl Fn(&U) -> io::Result<usize>,
    take_error: impl Fn(&U) -> io::Result<Option<io::Error>>,
) -> [Outcome; 3] {
    send_to(unconnected, closed).unwrap();
    send(connected).unwrap();
    let start = Instant::now();
    let first = loop {
        match taken(take_error(connected)) {
            Ok(0) => {
                assert!(start.elapsed() < HUNG, "no ICMP within {HUNG:?}");
                std::thread::sleep(Duration::from_millis(1));
            }
            r => break r,
        }
    };
    [
        taken(take_error(unconnected)),
        first,
        taken(take_error(connected)),
    ]
}

#[test]
fn a_connected_udp_socket_takes_a_port_unreachable_for_its_peer() {
    let want = [Ok(0), Err(ConnectionRefused), Ok(0)];
    // The kernel's: a port just closed.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ku = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let kc = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    kc.connect(closed).unwrap();
    let kernel = udp_errors(
        &ku,
        &kc,
        closed,
        |u, to| u.send_to(b"x", to),
        |u| u.send(b"x"),
        std::net::UdpSocket::take_error,
    );
    assert_eq!(kernel, want, "the kernel's reference changed");
    // layer4's: a port nothing is bound to on the other stack.
    let (a, _b) = pair();
    let closed: SocketAddr = "10.9.7.2:9".parse().unwrap();
    let u = layer4_net::UdpSocket::bind(&a, "10.9.7.1:0").unwrap();
    let c = layer4_net::UdpSocket::bind(&a, "10.9.7.1:0").unwrap();
    c.connect(closed).unwrap();
    let layer4 = udp_errors(
        &u,
        &c,
        closed,
        |u, to| u.send_to(b"x", to),
        |u| u.send(b"x"),
        layer4_net::UdpSocket::take_error,
    );
    assert_eq!(layer4, kernel);
}

/// A `DatagramDevice` end that keeps a copy of what it sends.
struct Recording {
    dev: DatagramDevice,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl std::os::fd::AsRawFd for Recording {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.dev.as_raw_fd()
    }
}

impl Device for Recording {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.dev.recv(buf)
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<usize> {
        self.sent.lock().unwrap().push(packet.to_vec());
        self.dev.send(packet)
    }
}

/// The Internet checksum of `data`, as a header stores it.
fn checksum(data: &[u8]) -> u16 {
    layer4_wire::checksum::finish(layer4_wire::checksum::data(data))
}

/// An ICMP destination unreachable (code 1, host unreachable) from `from` to
/// the sender of the IPv4 `packet`, quoting its header and 8 bytes beyond.
fn host_unreachable(from: [u8; 4], packet: &[u8]) -> Vec<u8> {
    let ihl = usize::from(packet[0] & 15) * 4;
    let quote = &packet[..ihl + 8];
    let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(quote);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&from);
    ip.extend_from_slice(&packet[12..16]);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

#[test]
fn take_error_takes_an_icmp_soft_error_but_not_a_retransmission_notice() {
    // Linux: an ICMP host unreachable on an established connection is a soft
    // error (`tcp_v4_err` sets `sk_err_soft`), which `SO_ERROR` takes when
    // there is no `sk_err`; retransmissions past R1 set nothing `SO_ERROR`
    // returns (the stack's own notice of them is not reported).
    let (da, db) = DatagramDevice::pair().unwrap();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let stack = |host: u8| {
        let cidr: IpCidr = format!("10.9.7.{host}/24").parse().unwrap();
        Stack::new(Config::with_address(cidr).seed(40 + u64::from(host))).unwrap()
    };
    let options = || RuntimeOptions::default().control(ControlSocket::Off);
    let recording = Recording {
        dev: da,
        sent: sent.clone(),
    };
    let a = Runtime::with_options(stack(1), recording, options()).unwrap();
    let b = Runtime::with_options(stack(2), db, options()).unwrap();
    let l = layer4_net::TcpListener::bind(&b, "10.9.7.2:7010").unwrap();
    let c = layer4_net::TcpStream::connect(&a, "10.9.7.2:7010").unwrap();
    let (s, _) = l.accept().unwrap();
    // The peer goes away: what `a` sends from now on is never acknowledged.
    drop((s, l));
    b.shutdown(Duration::ZERO);
    (&c).write_all(b"into the void").unwrap();
    let timeouts = || {
        a.with_stack(|st, now| {
            st.socket_table(now)
                .iter()
                .filter(|e| e.protocol == SocketProtocol::Tcp && e.remote.is_some())
                .map(|e| st.tcp_counters(e.handle).unwrap().timeouts)
                .sum::<u32>()
        })
        .unwrap()
    };
    // Past R1 (3 retransmissions).
    let start = Instant::now();
    while timeouts() < 4 {
        assert!(start.elapsed() < 2 * HUNG, "no 4th timeout");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(taken(c.take_error()), Ok(0), "R1 is not an SO_ERROR");
    // A host unreachable quoting the data in flight.
    let data = sent
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|p| p[9] == 6 && u16::from_be_bytes([p[2], p[3]]) > 52)
        .cloned()
        .expect("a data segment");
    let icmp = host_unreachable([10, 9, 7, 2], &data);
    a.with_stack(|st, now| st.handle_packet(now, &icmp))
        .unwrap();
    assert_eq!(taken(c.take_error()), Err(HostUnreachable));
    assert_eq!(taken(c.take_error()), Ok(0), "taken");
    // The connection goes on: a soft error fails nothing.
    assert!(c.peer_addr().is_ok());
    assert_eq!((&c).write(b"more").map_err(|e| e.kind()), Ok(4));
}

#[test]
fn the_async_sockets_take_errors_as_tokio_s_do() {
    let (a, b) = pair();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A reset: taken once, then the end of the stream and a broken pipe,
        // as tokio's own sockets on this kernel.
        let kl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut kc = tokio::net::TcpStream::connect(kl.local_addr().unwrap())
            .await
            .unwrap();
        let (ks, _) = kl.accept().await.unwrap();
        kc.write_all(b"never read").await.unwrap();
        ks.peek(&mut [0u8; 1]).await.unwrap();
        drop(ks);
        while kc.peer_addr().is_ok() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let kernel = [
            taken(kc.take_error()),
            taken(kc.take_error()),
            kc.read(&mut [0u8; 8]).await.map_err(|e| e.kind()),
            kc.write(b"x").await.map_err(|e| e.kind()),
        ];
        assert_eq!(
            kernel,
            [Err(ConnectionReset), Ok(0), Ok(0), Err(BrokenPipe)],
            "the kernel's reference changed"
        );
        let l = layer4_net::tokio::TcpListener::bind(&b, "10.9.7.2:0")
            .await
            .unwrap();
        let c = layer4_net::tokio::TcpStream::connect(&a, l.local_addr().unwrap());
        let mut c = tokio::time::timeout(HUNG, c).await.unwrap().unwrap();
        let (s, _) = tokio::time::timeout(HUNG, l.accept())
            .await
            .unwrap()
            .unwrap();
        c.write_all(b"never read").await.unwrap();
        tokio::time::timeout(HUNG, s.peek(&mut [0u8; 1]))
            .await
            .unwrap()
            .unwrap();
        drop(s);
        let start = Instant::now();
        while c.peer_addr().is_ok() {
            assert!(start.elapsed() < HUNG, "no RST within {HUNG:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Readiness shows the error until it is taken, then the closed
        // directions only.
        let interest = tokio::io::Interest::READABLE | tokio::io::Interest::ERROR;
        let ready = c.ready(interest).await.unwrap();
        assert!(ready.is_error(), "{ready:?}");
        let layer4 = [
            taken(c.take_error()),
            taken(c.take_error()),
            c.read(&mut [0u8; 8]).await.map_err(|e| e.kind()),
            c.write(b"x").await.map_err(|e| e.kind()),
        ];
        assert_eq!(layer4, kernel);
        let ready = c.ready(interest).await.unwrap();
        assert!(ready.is_read_closed() && !ready.is_error(), "{ready:?}");
        // UDP: a connected socket's port unreachable, taken once.
        let u = layer4_net::tokio::UdpSocket::bind(&a, "10.9.7.1:0")
            .await
            .unwrap();
        u.connect("10.9.7.2:9").await.unwrap();
        u.send(b"x").await.unwrap();
        tokio::time::timeout(HUNG, u.readable())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken(u.take_error()), Err(ConnectionRefused));
        assert_eq!(taken(u.take_error()), Ok(0));
    });
}

/// What a tokio-like stream `$c`, reset by its peer `$s` after the peer's FIN
/// (CLOSE-WAIT), reports: two `take_error`s, a read and a write, each after
/// `$check_ready(stream, taken)`.
macro_rules! close_wait_reset {
    ($c:expr, $s:expr, $check_ready:expr) => {{
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut c, mut s) = ($c, $s);
        c.write_all(b"never read").await.unwrap();
        within(s.peek(&mut [0u8; 1])).await.unwrap();
        s.shutdown().await.unwrap();
        assert_eq!(within(c.peek(&mut [0u8; 8])).await.unwrap(), 0, "no FIN");
        drop(s);
        let start = Instant::now();
        while c.peer_addr().is_ok() {
            assert!(start.elapsed() < HUNG, "no RST within {HUNG:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        $check_ready(&c, false).await;
        let first = taken(c.take_error());
        $check_ready(&c, true).await;
        [
            first,
            taken(c.take_error()),
            c.read(&mut [0u8; 8]).await.map_err(|e| e.kind()),
            c.write(b"x").await.map_err(|e| e.kind()),
        ]
    }};
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(HUNG, f).await.expect("hung")
}

#[test]
fn the_async_sockets_take_a_reset_in_close_wait_as_tokio_s_do() {
    let (a, b) = pair();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(async {
        let kl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let kc = tokio::net::TcpStream::connect(kl.local_addr().unwrap());
        let kc = within(kc).await.unwrap();
        let (ks, _) = within(kl.accept()).await.unwrap();
        // tokio's readiness of the kernel's socket is what its reactor last
        // saw (the FIN, or the RST too), so it is not compared.
        async fn any(_: &tokio::net::TcpStream, _: bool) {}
        let kernel = close_wait_reset!(kc, ks, any);
        assert_eq!(
            kernel,
            [Err(BrokenPipe), Ok(0), Ok(0), Err(BrokenPipe)],
            "the kernel's reference changed"
        );
        let l = layer4_net::tokio::TcpListener::bind(&b, "10.9.7.2:0")
            .await
            .unwrap();
        let c = layer4_net::tokio::TcpStream::connect(&a, l.local_addr().unwrap());
        let c = within(c).await.unwrap();
        let (s, _) = within(l.accept()).await.unwrap();
        // As `tcp_poll`, which sets `EPOLLERR` while `sk_err` (here `EPIPE`)
        // is set, though a read would only end the stream.
        async fn error_until_taken(c: &layer4_net::tokio::TcpStream, taken: bool) {
            let interest = tokio::io::Interest::READABLE | tokio::io::Interest::ERROR;
            let ready = within(c.ready(interest)).await.unwrap();
            assert!(ready.is_read_closed(), "{ready:?}");
            assert_eq!(ready.is_error(), !taken, "{ready:?}");
        }
        let layer4 = close_wait_reset!(c, s, error_until_taken);
        assert_eq!(layer4, kernel);
    });
}
