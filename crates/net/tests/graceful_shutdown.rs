//! `Runtime::shutdown`, the graceful end: what a program wrote and closed
//! before it is delivered (retransmissions included), the sockets still open
//! are closed as a process's exit closes them, calls fail with `NetworkDown`,
//! and connections that cannot finish are counted as abandoned, at once when
//! the runtime's thread has died. Two runtimes
//! joined by a `DatagramDevice` pair (one of them lossy where it matters): no
//! TUN, no root; every blocking call is under a timeout.

mod datagram_pair;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::{ControlSocket, Runtime, RuntimeOptions, TcpListener, TcpStream, UdpSocket};

/// How long any blocking call may wait before the test counts it as hung.
const HUNG: Duration = Duration::from_secs(10);

/// Waits (at most [`HUNG`]) until `cond` holds on `rt`'s stack.
fn wait_for(rt: &Runtime, what: &str, cond: impl Fn(&Stack) -> bool) {
    let start = Instant::now();
    while !rt.with_stack(|s, _| cond(s)).unwrap() {
        assert!(start.elapsed() < HUNG, "{what}: not within {HUNG:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn kind<T: std::fmt::Debug>(r: io::Result<T>) -> io::ErrorKind {
    r.unwrap_err().kind()
}

/// A megabyte whose every byte says where it belongs.
fn megabyte() -> Vec<u8> {
    (0..1usize << 20).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_megabyte_written_and_closed_over_a_lossy_link_arrives_whole_after_shutdown() {
    // `a` loses every 16th packet it sends: data segments, and the FIN sooner
    // or later, need retransmitting after the stream is closed.
    let (a, b) = datagram_pair::lossy_pair(5, 11, 16);
    let l = TcpListener::bind(&b, "10.9.5.2:80").unwrap();
    let mut c = TcpStream::connect(&a, "10.9.5.2:80").unwrap();
    c.set_write_timeout(Some(HUNG)).unwrap();
    let (mut s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(HUNG)).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        s.read_to_end(&mut got).map(|_| got)
    });
    let data = megabyte();
    c.write_all(&data).unwrap();
    wait_for(&a, "a loss", |st| st.stats().tcp.retrans_segs > 0);
    // What a program does before it exits: close, then end the runtime. A
    // drop of the runtime here would leave up to a send buffer (256 KiB)
    // unsent or unacknowledged, and the reader waiting.
    drop(c);
    assert_eq!(a.shutdown(HUNG), 0, "connections abandoned");
    let got = reader.join().unwrap().expect("every byte, then the end");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes lost or reordered");
}

#[test]
fn shutdown_counts_what_cannot_finish_as_abandoned() {
    let (a, b) = datagram_pair::pair(5, 13);
    let l = TcpListener::bind(&b, "10.9.5.2:80").unwrap();
    let mut c = TcpStream::connect(&a, "10.9.5.2:80").unwrap();
    let (_s, _) = l.accept().unwrap();
    // The peer is gone (the link unplugged): nothing will acknowledge the
    // data or the FIN.
    drop(b);
    c.write_all(b"into the void").unwrap();
    drop(c);
    assert_eq!(a.shutdown(Duration::from_millis(100)), 1);
}

#[test]
fn shutdown_closes_the_sockets_still_open_as_an_exit_would() {
    let (a, b) = datagram_pair::pair(5, 15);
    // On `a`: a stream never closed, with data written; a reader blocked on
    // its clone; a listener with a connection it never accepted; a UDP socket
    // with a datagram just sent.
    let lb = TcpListener::bind(&b, "10.9.5.2:80").unwrap();
    let c = TcpStream::connect(&a, "10.9.5.2:80").unwrap();
    let (mut s, _) = lb.accept().unwrap();
    s.set_read_timeout(Some(HUNG)).unwrap();
    (&c).write_all(b"last words").unwrap();
    let r = c.try_clone().unwrap();
    r.set_read_timeout(Some(HUNG)).unwrap();
    let reader = std::thread::spawn(move || (&r).read(&mut [0u8; 8]).map_err(|e| e.kind()));
    let la = TcpListener::bind(&a, "10.9.5.1:80").unwrap();
    let mut waiting = TcpStream::connect(&b, "10.9.5.1:80").unwrap();
    waiting.set_read_timeout(Some(HUNG)).unwrap();
    let ub = UdpSocket::bind(&b, "10.9.5.2:53").unwrap();
    ub.set_read_timeout(Some(HUNG)).unwrap();
    let ua = UdpSocket::bind(&a, "10.9.5.1:0").unwrap();
    ua.send_to(b"bye", "10.9.5.2:53").unwrap();
    std::thread::sleep(Duration::from_millis(20));

    assert_eq!(a.shutdown(HUNG), 0);

    // The blocked call and the later ones fail, with the kind of a runtime
    // that is gone.
    assert_eq!(reader.join().unwrap(), Err(io::ErrorKind::NetworkDown));
    assert_eq!(kind((&c).write(b"x")), io::ErrorKind::NetworkDown);
    assert_eq!(kind(la.accept()), io::ErrorKind::NetworkDown);
    assert_eq!(
        kind(ua.send_to(b"x", "10.9.5.2:53")),
        io::ErrorKind::NetworkDown
    );
    // The open stream was closed: its data, then the end of the stream.
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words");
    // The listener's unaccepted connection was reset, as a listener's close
    // does.
    assert_eq!(
        kind(waiting.read(&mut [0u8; 8])),
        io::ErrorKind::ConnectionReset
    );
    // The datagram sent left.
    let mut buf = [0u8; 8];
    let (n, _) = ub.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"bye");
    // Dropping the sockets of a runtime shut down is quiet.
    drop((c, la, ua));
}

#[test]
fn shutdown_does_not_wait_out_time_wait_or_a_peer_that_never_closes() {
    let (a, b) = datagram_pair::pair(5, 17);
    let l = TcpListener::bind(&b, "10.9.5.2:80").unwrap();
    // One connection `a` closed first and the peer too: TIME-WAIT on `a`
    // (two minutes' worth).
    let c1 = TcpStream::connect(&a, "10.9.5.2:80").unwrap();
    let (mut s1, _) = l.accept().unwrap();
    s1.set_read_timeout(Some(HUNG)).unwrap();
    drop(c1);
    assert_eq!(s1.read(&mut [0u8; 8]).unwrap(), 0);
    drop(s1);
    wait_for(&a, "TIME-WAIT", |st| st.time_wait_count() == 1);
    // One `a` closed, whose peer never closes: FIN-WAIT-2 once the FIN is
    // acknowledged.
    let c2 = TcpStream::connect(&a, "10.9.5.2:80").unwrap();
    let (s2, _) = l.accept().unwrap();
    drop(c2);
    // Neither holds the shutdown: both finished their part. (The timeout is
    // the test's: an unfinished connection would make this return 1 after
    // it.)
    assert_eq!(a.shutdown(HUNG), 0);
    drop(s2);
}

#[test]
fn a_runtime_that_has_nothing_left_shuts_down_with_nothing_abandoned() {
    let (a, _b) = datagram_pair::pair(5, 19);
    let calls = UdpSocket::bind(&a, "10.9.5.1:0").unwrap();
    assert_eq!(a.shutdown(HUNG), 0);
    assert_eq!(kind(calls.local_addr()), io::ErrorKind::NetworkDown);
}

/// An `accept` blocked on another thread when the shutdown begins (nothing
/// to accept) returns `NetworkDown` at once. (A blocked `connect` cannot race
/// a shutdown: it borrows the runtime, which `shutdown` takes.)
#[test]
fn an_accept_blocked_when_the_shutdown_begins_fails_with_network_down() {
    let (a, _b) = datagram_pair::pair(5, 21);
    let l = TcpListener::bind(&a, "10.9.5.1:80").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(l.accept().map(|_| ()).map_err(|e| e.kind()));
    });
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(a.shutdown(HUNG), 0);
    assert_eq!(
        rx.recv_timeout(HUNG).expect("accept still blocked"),
        Err(io::ErrorKind::NetworkDown)
    );
}

/// A `DatagramDevice` end whose reads panic once `armed`: a runtime thread
/// that dies.
struct DiesWhenArmed {
    dev: layer4_net::DatagramDevice,
    armed: Arc<AtomicBool>,
}

impl std::os::fd::AsRawFd for DiesWhenArmed {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.dev.as_raw_fd()
    }
}

impl layer4_net::Device for DiesWhenArmed {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.dev.recv(buf)?;
        assert!(
            !self.armed.load(Ordering::Relaxed),
            "the test's device dies"
        );
        Ok(n)
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<usize> {
        self.dev.send(packet)
    }
}

/// A runtime at 10.9.6.`host`/24 on `dev`.
fn runtime<D: layer4_net::Device>(host: u8, dev: D) -> Runtime {
    let cidr: IpCidr = format!("10.9.6.{host}/24").parse().unwrap();
    let stack = Stack::new(Config::with_address(cidr).seed(60 + u64::from(host))).unwrap();
    let options = RuntimeOptions::default().control(ControlSocket::Off);
    Runtime::with_options(stack, dev, options).unwrap()
}

#[test]
fn shutdown_returns_at_once_when_the_runtime_thread_has_died() {
    let (da, db) = layer4_net::DatagramDevice::pair().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let dying = DiesWhenArmed {
        dev: da,
        armed: armed.clone(),
    };
    let a = runtime(1, dying);
    let b = runtime(2, db);
    let l = TcpListener::bind(&b, "10.9.6.2:80").unwrap();
    let c = TcpStream::connect(&a, "10.9.6.2:80").unwrap();
    c.set_read_timeout(Some(HUNG)).unwrap();
    let (mut s, _) = l.accept().unwrap();
    // The next packet `a` reads kills its runtime thread.
    armed.store(true, Ordering::Relaxed);
    s.write_all(b"x").unwrap();
    // A blocked call is woken to fail, as after a device error, and says why.
    let e = (&c).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NetworkDown);
    assert!(e.to_string().contains("panicked"), "{e}");
    // The watchdog: `shutdown` runs on a thread of its own, so that one that
    // waits for the dead thread fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(a.shutdown(Duration::MAX));
    });
    let abandoned = rx
        .recv_timeout(HUNG)
        .expect("shutdown still waiting for a runtime thread that died");
    // The connection never finished its close: abandoned.
    assert_eq!(abandoned, 1);
    drop(c);
}
