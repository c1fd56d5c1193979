//! What a program using the blocking API meets in daily use, checked against what
//! `std::net` does on Linux (each expectation below was seen with std's sockets
//! over the kernel's loopback): close with and without unread data, `shutdown`,
//! timeouts, `try_clone` across threads, blocked calls when the runtime goes or
//! the peer resets, and the error kinds. Two runtimes joined by a
//! `DatagramDevice` pair: no TUN, no root. Every blocking call is under a
//! timeout, so a bug fails a test instead of hanging it.

mod datagram_pair;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use layer4::{SocketProtocol, Stack};
use layer4_net::Runtime;
use layer4_net::{TcpListener, TcpStream, UdpSocket};

/// How long any blocking call may wait before the test counts it as hung.
const HUNG: Duration = Duration::from_secs(10);

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(2, 5)
}

/// A connection from `a` (the client) to `b` (the server), both ends with
/// [`HUNG`] as read and write timeouts.
fn connected(a: &Runtime, b: &Runtime) -> (TcpStream, TcpStream) {
    let l = TcpListener::bind(b, "10.9.2.2:0").unwrap();
    let c = TcpStream::connect(a, l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    for x in [&c, &s] {
        x.set_read_timeout(Some(HUNG)).unwrap();
        x.set_write_timeout(Some(HUNG)).unwrap();
    }
    (c, s)
}

/// Waits (at most [`HUNG`]) until `cond` holds on `rt`'s stack.
fn wait_for(rt: &Runtime, what: &str, cond: impl Fn(&Stack) -> bool) {
    let start = Instant::now();
    while !rt.with_stack(|s, _| cond(s)).unwrap() {
        assert!(start.elapsed() < HUNG, "{what}: not within {HUNG:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `s` has received bytes it has not read (`peek` takes nothing).
fn wait_readable(s: &TcpStream) {
    assert!(s.peek(&mut [0u8; 1]).unwrap() > 0, "nothing arrived");
}

/// The `ss` states of `rt`'s TCP connections (TIME-WAIT records included).
fn tcp_states(rt: &Runtime) -> Vec<&'static str> {
    rt.with_stack(|s, now| {
        s.socket_table(now)
            .into_iter()
            .filter(|e| e.remote.is_some() && e.protocol == SocketProtocol::Tcp)
            .map(|e| e.state)
            .collect()
    })
    .unwrap()
}

/// Waits (at most [`HUNG`]) until `rt`'s connections are in `states`.
fn wait_for_states(rt: &Runtime, states: &[&str]) {
    let start = Instant::now();
    while tcp_states(rt) != states {
        assert!(
            start.elapsed() < HUNG,
            "{:?}, not {states:?}, within {HUNG:?}",
            tcp_states(rt)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn resets_sent(rt: &Runtime) -> u64 {
    rt.with_stack(|s, _| s.stats().tcp.out_rsts).unwrap()
}

fn kind<T: std::fmt::Debug>(r: io::Result<T>) -> io::ErrorKind {
    r.unwrap_err().kind()
}

#[test]
fn dropping_a_stream_with_unread_data_resets_the_connection() {
    let (a, b) = pair();
    let (mut c, s) = connected(&a, &b);
    c.write_all(b"never read").unwrap();
    wait_readable(&s);
    let before = resets_sent(&b);
    drop(s);
    // RFC 9293 3.10.4 (RFC 2525 2.17), as Linux: a RST, not a FIN.
    wait_for(&b, "a RST leaves", |st| {
        st.stats().tcp.out_rsts == before + 1
    });
    assert_eq!(kind(c.read(&mut [0u8; 16])), io::ErrorKind::ConnectionReset);
    // As std on Linux: the reset is reported once, then writes see a dead
    // pipe (`tests/reset_reported_once.rs` has the rest).
    assert_eq!(kind(c.write(b"more")), io::ErrorKind::BrokenPipe);
}

#[test]
fn dropping_a_stream_with_unsent_data_delivers_it_then_the_fin() {
    let (a, b) = pair();
    let (c, mut s) = connected(&a, &b);
    // Several send buffers' worth (256 KiB each): when the writer drops the
    // stream, most of it is still to send.
    const N: usize = 2 << 20;
    let writer = std::thread::spawn(move || {
        let mut c = c;
        c.write_all(&vec![0x5a; N]).unwrap();
        drop(c);
    });
    let before = resets_sent(&a);
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert_eq!(got.len(), N);
    assert!(got.iter().all(|&x| x == 0x5a));
    assert_eq!(resets_sent(&a), before, "the close sent a RST");
}

#[test]
fn data_received_before_a_reset_is_read_before_the_reset_is_reported() {
    let (a, b) = pair();
    let (mut c, mut s) = connected(&a, &b);
    s.write_all(b"for c").unwrap();
    c.write_all(b"never read by s").unwrap();
    wait_readable(&c);
    wait_readable(&s);
    drop(s);
    wait_for(&a, "the RST arrives", |st| st.stats().tcp.estab_resets == 1);
    let mut buf = [0u8; 16];
    assert_eq!(c.read(&mut buf).unwrap(), 5, "the bytes before the RST");
    assert_eq!(&buf[..5], b"for c");
    assert_eq!(kind(c.read(&mut buf)), io::ErrorKind::ConnectionReset);
}

#[test]
fn shutdown_write_sends_the_fin_reads_go_on_and_writes_fail_with_broken_pipe() {
    let (a, b) = pair();
    let (mut c, mut s) = connected(&a, &b);
    c.write_all(b"request").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(kind(c.write(b"late")), io::ErrorKind::BrokenPipe);
    // A second shutdown is no error (as on Linux).
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"request");
    s.write_all(b"response").unwrap();
    drop(s);
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"response");
}

#[test]
fn shutdown_read_returns_what_was_buffered_then_end_of_stream() {
    let (a, b) = pair();
    let (mut c, mut s) = connected(&a, &b);
    c.write_all(b"hello").unwrap();
    wait_readable(&s);
    s.shutdown(Shutdown::Read).unwrap();
    let mut buf = [0u8; 16];
    // Linux hands out what is already buffered, then 0 (never waiting).
    assert_eq!(s.read(&mut buf).unwrap(), 5);
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    // Writing is untouched.
    s.write_all(b"still").unwrap();
    let mut got = [0u8; 5];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"still");
}

#[test]
fn shutdown_read_wakes_a_reader_blocked_on_a_clone() {
    let (a, b) = pair();
    let (_c, s) = connected(&a, &b);
    let reader = s.try_clone().unwrap();
    let blocked = std::thread::spawn(move || (&reader).read(&mut [0u8; 16]).map_err(|e| e.kind()));
    // Whether the reader is already waiting or not, it sees the end of stream:
    // the way a std program stops a reading thread.
    std::thread::sleep(Duration::from_millis(20));
    s.shutdown(Shutdown::Read).unwrap();
    assert_eq!(blocked.join().unwrap(), Ok(0));
}

#[test]
fn shutdown_both_ends_reads_and_writes_and_the_peer_sees_the_end() {
    let (a, b) = pair();
    let (mut c, mut s) = connected(&a, &b);
    s.shutdown(Shutdown::Both).unwrap();
    assert_eq!(s.read(&mut [0u8; 8]).unwrap(), 0);
    assert_eq!(kind(s.write(b"x")), io::ErrorKind::BrokenPipe);
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
}

#[test]
fn shutdown_once_the_connection_is_gone_is_not_connected() {
    let (a, b) = pair();
    // Closed by a reset.
    let (mut c, s) = connected(&a, &b);
    c.write_all(b"never read").unwrap();
    wait_readable(&s);
    drop(s);
    wait_for(&a, "the RST arrives", |st| st.stats().tcp.estab_resets == 1);
    assert_eq!(
        kind(c.shutdown(Shutdown::Write)),
        io::ErrorKind::NotConnected
    );
    assert_eq!(kind(c.peer_addr()), io::ErrorKind::NotConnected);
    drop(c);
    // Closed by both FINs: the side that closed first is in TIME-WAIT.
    let (mut c, mut s) = connected(&a, &b);
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(s.read(&mut [0u8; 8]).unwrap(), 0);
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
    wait_for_states(&a, &["TIME-WAIT"]);
    wait_for_states(&b, &["UNCONN"]);
    assert_eq!(
        kind(c.shutdown(Shutdown::Both)),
        io::ErrorKind::NotConnected
    );
    assert_eq!(
        kind(s.shutdown(Shutdown::Both)),
        io::ErrorKind::NotConnected
    );
    assert_eq!(kind(s.peer_addr()), io::ErrorKind::NotConnected);
}

#[test]
fn read_and_write_timeouts_expire_with_would_block_and_zero_is_refused() {
    let (a, b) = pair();
    let (c, _s) = connected(&a, &b);
    let t = Duration::from_millis(100);
    c.set_read_timeout(Some(t)).unwrap();
    let start = Instant::now();
    assert_eq!(kind((&c).read(&mut [0u8; 8])), io::ErrorKind::WouldBlock);
    assert!(start.elapsed() >= t, "returned after {:?}", start.elapsed());
    // The peer never reads: the send buffer and its window fill, and then a
    // write waits out its timeout (std: whatever was taken, then WouldBlock).
    c.set_write_timeout(Some(t)).unwrap();
    let chunk = vec![0u8; 64 << 10];
    let mut taken = 0;
    let e = loop {
        match (&c).write(&chunk) {
            Ok(n) => taken += n,
            Err(e) => break e,
        }
        assert!(taken < 64 << 20, "64 MiB taken by a peer that never reads");
    };
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
    assert!(taken >= 256 << 10, "only {taken} bytes taken");
    for r in [
        c.set_read_timeout(Some(Duration::ZERO)),
        c.set_write_timeout(Some(Duration::ZERO)),
    ] {
        assert_eq!(kind(r), io::ErrorKind::InvalidInput);
    }
    assert_eq!(
        c.read_timeout().unwrap(),
        Some(t),
        "a refused timeout changed it"
    );
    let u = UdpSocket::bind(&a, "10.9.2.1:0").unwrap();
    assert_eq!(
        kind(u.set_read_timeout(Some(Duration::ZERO))),
        io::ErrorKind::InvalidInput
    );
    u.set_read_timeout(Some(t)).unwrap();
    assert_eq!(kind(u.recv_from(&mut [0u8; 8])), io::ErrorKind::WouldBlock);
}

#[test]
fn connect_timeout_to_a_silent_address_times_out_after_the_time_given() {
    let (a, _b) = pair();
    // On the link, but nobody answers: the peer runtime drops what is not its.
    let silent = "10.9.2.77:80".parse().unwrap();
    let t = Duration::from_millis(300);
    let start = Instant::now();
    let e = TcpStream::connect_timeout(&a, &silent, t).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    assert!(took >= t && took < HUNG, "took {took:?}");
    assert_eq!(
        kind(TcpStream::connect_timeout(&a, &silent, Duration::ZERO)),
        io::ErrorKind::InvalidInput
    );
    // The abandoned attempt is closed, not left retrying.
    wait_for_states(&a, &[]);
}

#[test]
fn clones_read_and_write_at_once_and_the_connection_lives_until_the_last_goes() {
    let (a, b) = pair();
    let (c, s) = connected(&a, &b);
    // An echo server on `b`.
    let echo = std::thread::spawn(move || {
        let mut s = s;
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return,
                n => s.write_all(&buf[..n]).unwrap(),
            }
        }
    });
    const N: usize = 1 << 20;
    let w = c.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
        (&w).write_all(&data).unwrap();
        w
    });
    let mut got = vec![0u8; N];
    (&c).read_exact(&mut got).unwrap();
    assert!(got.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
    // Dropping one handle leaves the connection open for the other.
    let w = writer.join().unwrap();
    drop(w);
    (&c).write_all(b"still open").unwrap();
    let mut back = [0u8; 10];
    (&c).read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still open");
    assert!(!echo.is_finished(), "the echo saw the end of the stream");
    // The last handle closes it.
    drop(c);
    echo.join().unwrap();
}

#[test]
fn blocked_calls_fail_when_the_peer_resets() {
    let (a, b) = pair();
    let (c, s) = connected(&a, &b);
    // A reader waiting for data, and a writer waiting for room (the peer reads
    // nothing: its window and then the send buffer fill).
    let r = c.try_clone().unwrap();
    let reader = std::thread::spawn(move || (&r).read(&mut [0u8; 8]).map_err(|e| e.kind()));
    let writer = std::thread::spawn(move || {
        let chunk = vec![0u8; 64 << 10];
        loop {
            if let Err(e) = (&c).write_all(&chunk) {
                return e.kind();
            }
        }
    });
    wait_readable(&s);
    std::thread::sleep(Duration::from_millis(20));
    // Data unread: the drop resets the connection.
    drop(s);
    // Both return; as on Linux the reset is reported once, to whichever
    // woke first, and the other finds the connection over.
    let (read, write) = (reader.join().unwrap(), writer.join().unwrap());
    assert!(
        matches!(
            (read, write),
            (
                Err(io::ErrorKind::ConnectionReset),
                io::ErrorKind::BrokenPipe
            ) | (Ok(0), io::ErrorKind::ConnectionReset)
        ),
        "read {read:?}, write {write:?}"
    );
}

#[test]
fn dropping_the_runtime_fails_blocked_and_later_calls_without_panicking() {
    let (a, b) = pair();
    let (c, s) = connected(&a, &b);
    let l = Arc::new(TcpListener::bind(&b, "10.9.2.2:7").unwrap());
    let u = Arc::new(UdpSocket::bind(&b, "10.9.2.2:7").unwrap());
    u.set_read_timeout(Some(HUNG)).unwrap();
    let s = Arc::new(s);
    let blocked = [
        {
            let l = l.clone();
            std::thread::spawn(move || l.accept().map(drop).map_err(|e| e.kind()))
        },
        {
            let s = s.clone();
            std::thread::spawn(move || (&*s).read(&mut [0u8; 8]).map(drop).map_err(|e| e.kind()))
        },
        {
            let u = u.clone();
            std::thread::spawn(move || u.recv_from(&mut [0u8; 8]).map(drop).map_err(|e| e.kind()))
        },
    ];
    std::thread::sleep(Duration::from_millis(20));
    drop(b);
    // Each blocked call returns; the kind is `NetworkDown` (the runtime's
    // docs say why), which no socket of a running stack reports.
    for t in blocked {
        assert_eq!(t.join().unwrap(), Err(io::ErrorKind::NetworkDown));
    }
    assert_eq!(kind((&*s).write(b"x")), io::ErrorKind::NetworkDown);
    assert_eq!(kind(s.shutdown(Shutdown::Both)), io::ErrorKind::NetworkDown);
    assert_eq!(kind(l.local_addr()), io::ErrorKind::NetworkDown);
    assert_eq!(
        kind(u.send_to(b"x", "10.9.2.1:7")),
        io::ErrorKind::NetworkDown
    );
    // Dropping the sockets of a dead runtime is quiet.
    drop((l, u, s));
    // The other side never heard of it (nothing was sent): still open.
    c.set_nonblocking(true).unwrap();
    assert_eq!(kind((&c).read(&mut [0u8; 8])), io::ErrorKind::WouldBlock);
}

#[test]
fn errors_have_the_kinds_std_gives_on_linux() {
    let (a, b) = pair();
    assert_eq!(
        kind(TcpStream::connect(&a, "10.9.2.2:9")),
        io::ErrorKind::ConnectionRefused
    );
    let l = TcpListener::bind(&b, "10.9.2.2:80").unwrap();
    assert_eq!(
        kind(TcpListener::bind(&b, "10.9.2.2:80")),
        io::ErrorKind::AddrInUse
    );
    assert_eq!(
        kind(TcpListener::bind(&b, "0.0.0.0:80")),
        io::ErrorKind::AddrInUse
    );
    assert_eq!(
        kind(TcpListener::bind(&b, "10.9.2.1:80")),
        io::ErrorKind::AddrNotAvailable
    );
    let u = UdpSocket::bind(&b, "10.9.2.2:53").unwrap();
    assert_eq!(
        kind(UdpSocket::bind(&b, "10.9.2.2:53")),
        io::ErrorKind::AddrInUse
    );
    assert_eq!(
        kind(UdpSocket::bind(&b, "192.0.2.1:53")),
        io::ErrorKind::AddrNotAvailable
    );
    // A connected UDP socket hears of the ICMP port unreachable its datagram
    // drew, at its next receive (an unconnected one is not told, as on Linux).
    let ua = UdpSocket::bind(&a, "10.9.2.1:0").unwrap();
    ua.set_read_timeout(Some(HUNG)).unwrap();
    ua.connect("10.9.2.2:9").unwrap();
    ua.send(b"anyone?").unwrap();
    assert_eq!(
        kind(ua.recv(&mut [0u8; 8])),
        io::ErrorKind::ConnectionRefused
    );
    drop((l, u));
}

#[test]
fn dropping_a_listener_resets_the_connections_it_did_not_accept() {
    let (a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.2.2:80").unwrap();
    // The handshake completes in the listener's queue; nobody accepts.
    let mut c = TcpStream::connect(&a, "10.9.2.2:80").unwrap();
    c.set_read_timeout(Some(HUNG)).unwrap();
    drop(l);
    assert_eq!(kind(c.read(&mut [0u8; 8])), io::ErrorKind::ConnectionReset);
}

#[test]
fn a_listener_rebinds_its_port_while_its_old_connections_linger() {
    // std sets SO_REUSEADDR on a listener (so does tokio): a server restarted
    // on its port does not wait for its old connections.
    let (a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.2.2:80").unwrap();
    let mut c = TcpStream::connect(&a, "10.9.2.2:80").unwrap();
    c.set_read_timeout(Some(HUNG)).unwrap();
    let (s, _) = l.accept().unwrap();
    // The server closes first: its side waits in TIME-WAIT.
    drop(s);
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
    drop(c);
    wait_for_states(&b, &["TIME-WAIT"]);
    drop(l);
    let l = TcpListener::bind(&b, "10.9.2.2:80").expect("rebind beside TIME-WAIT");
    // And with an accepted connection still open.
    let _c = TcpStream::connect(&a, "10.9.2.2:80").unwrap();
    let (_s, _) = l.accept().unwrap();
    drop(l);
    TcpListener::bind(&b, "10.9.2.2:80").expect("rebind beside a live connection");
}

#[test]
fn a_datagram_longer_than_the_buffer_is_truncated_and_the_rest_discarded() {
    let (a, b) = pair();
    let ua = UdpSocket::bind(&a, "10.9.2.1:0").unwrap();
    let ub = UdpSocket::bind(&b, "10.9.2.2:53").unwrap();
    ub.set_read_timeout(Some(HUNG)).unwrap();
    ua.send_to(b"0123456789", "10.9.2.2:53").unwrap();
    ua.send_to(b"second", "10.9.2.2:53").unwrap();
    let mut small = [0u8; 4];
    // A peek truncates too, and leaves the whole datagram.
    assert_eq!(ub.peek_from(&mut small).unwrap().0, 4);
    assert_eq!(ub.recv_from(&mut small).unwrap().0, 4);
    assert_eq!(&small, b"0123");
    let mut buf = [0u8; 16];
    let (n, _) = ub.recv_from(&mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        b"second",
        "the rest of the first was not discarded"
    );
}

#[test]
fn a_stream_closed_just_before_its_runtime_is_dropped_still_sends_its_data_and_fin() {
    let (a, b) = pair();
    for _ in 0..20 {
        let (mut c, mut s) = connected(&a, &b);
        c.write_all(b"goodbye").unwrap();
        drop(c);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"goodbye");
    }
    let (mut c, mut s) = connected(&a, &b);
    c.write_all(b"goodbye").unwrap();
    drop(c);
    drop(a);
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"goodbye");
}

#[test]
fn a_program_connects_to_its_own_address_and_sends_datagrams_to_itself() {
    // Linux delivers a packet to one of its own addresses through `lo`: a
    // server and its client in one program, on one runtime, just work.
    let (_a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.2.2:80").unwrap();
    let addr = "10.9.2.2:80".parse().unwrap();
    let mut c = TcpStream::connect_timeout(&b, &addr, HUNG).expect("connect to self");
    let (mut s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    s.set_read_timeout(Some(HUNG)).unwrap();
    c.set_read_timeout(Some(HUNG)).unwrap();
    const N: usize = 1 << 20;
    let writer = std::thread::spawn(move || {
        c.write_all(&vec![0x33; N]).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        c
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert!(got.len() == N && got.iter().all(|&x| x == 0x33));
    s.write_all(b"done").unwrap();
    drop(s);
    let mut c = writer.join().unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"done");
    // A closed port of its own refuses at once.
    assert_eq!(
        kind(TcpStream::connect_timeout(
            &b,
            &"10.9.2.2:9".parse().unwrap(),
            HUNG
        )),
        io::ErrorKind::ConnectionRefused
    );
    let u = UdpSocket::bind(&b, "10.9.2.2:0").unwrap();
    u.set_read_timeout(Some(HUNG)).unwrap();
    u.send_to(b"to me", u.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = u.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"to me"[..], u.local_addr().unwrap()));
}

#[test]
fn listener_and_udp_clones_share_one_socket_that_lives_until_the_last_goes() {
    let (a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.2.2:80").unwrap();
    let l2 = l.try_clone().unwrap();
    let accepting = std::thread::spawn(move || l2.accept().map(|(s, _)| s));
    // Dropping one handle while the other waits in accept closes nothing (as
    // closing one of two `dup`ed descriptors): the accept takes the next
    // connection.
    std::thread::sleep(Duration::from_millis(20));
    drop(l);
    let mut c = TcpStream::connect(&a, "10.9.2.2:80").expect("the clone still listens");
    let mut s = accepting.join().unwrap().unwrap();
    s.set_read_timeout(Some(HUNG)).unwrap();
    c.write_all(b"hi").unwrap();
    let mut got = [0u8; 2];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");

    let ub = UdpSocket::bind(&b, "10.9.2.2:53").unwrap();
    ub.set_read_timeout(Some(HUNG)).unwrap();
    let receiver = ub.try_clone().unwrap();
    assert_eq!(
        receiver.read_timeout().unwrap(),
        Some(HUNG),
        "options are shared"
    );
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        let (n, from) = receiver.recv_from(&mut buf).unwrap();
        (buf[..n].to_vec(), from)
    });
    let ua = UdpSocket::bind(&a, "10.9.2.1:0").unwrap();
    ua.set_read_timeout(Some(HUNG)).unwrap();
    ua.send_to(b"ping", "10.9.2.2:53").unwrap();
    let (got, from) = echo.join().unwrap();
    assert_eq!(got, b"ping");
    // The receiving clone is gone; the first handle still sends.
    ub.send_to(b"pong", from).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = ua.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");
}
