//! Transparent sockets without privileges: two runtimes joined by a
//! `DatagramDevice` pair, the first with a default route through the second,
//! whose transparent listener and UDP socket terminate whatever the first
//! sends to any address (what a tun2socks proxy does with a TUN).

mod datagram_pair;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use layer4_net::{TcpListener, TcpStream, UdpSocket};

#[test]
fn a_transparent_listener_and_udp_socket_terminate_any_address_blocking() {
    let (a, b) = datagram_pair::routed_pair(9, 41);
    let l = TcpListener::bind_transparent(&b, "0.0.0.0:0").unwrap();
    let server: SocketAddr = "203.0.113.7:443".parse().unwrap();
    let accept = std::thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        let local = s.local_addr().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"world").unwrap();
        (local, peer, buf)
    });
    let mut c = TcpStream::connect_timeout(&a, &server, Duration::from_secs(10)).unwrap();
    assert_eq!(c.peer_addr().unwrap(), server);
    c.write_all(b"hello").unwrap();
    let mut got = [0u8; 5];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"world");
    let (local, peer, heard) = accept.join().unwrap();
    assert_eq!(
        local, server,
        "the accepted stream is the address connected to"
    );
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(&heard, b"hello");

    let t = UdpSocket::bind_transparent(&b, "0.0.0.0:0").unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let u = UdpSocket::bind(&a, "10.9.9.1:0").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let dns: SocketAddr = "8.8.8.8:53".parse().unwrap();
    u.send_to(b"query", dns).unwrap();
    let mut buf = [0u8; 64];
    let (n, from, to) = t.recv_from_to(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from, to),
        (&b"query"[..], u.local_addr().unwrap(), dns)
    );
    t.send_from_to(b"answer", dns, from).unwrap();
    assert_eq!(u.recv_from(&mut buf).unwrap(), (6, dns));
    assert_eq!(&buf[..6], b"answer");
    // Of every port, it has no port to send from by itself.
    let e = t.send_to(b"x", from).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
}

#[cfg(feature = "tokio")]
#[test]
fn a_transparent_listener_and_udp_socket_terminate_any_address_async() {
    use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
    use layer4_net::tokio;
    let (a, b) = datagram_pair::routed_pair(10, 43);
    ::tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            let l = tokio::TcpListener::bind_transparent(&b, "0.0.0.0:80")
                .await
                .unwrap();
            let server: SocketAddr = "198.51.100.9:80".parse().unwrap();
            let accept = ::tokio::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let local = s.local_addr().unwrap();
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
                local
            });
            let mut c = tokio::TcpStream::connect(&a, server).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            c.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            assert_eq!(accept.await.unwrap(), server);

            let t = tokio::UdpSocket::bind_transparent(&b, "0.0.0.0:53")
                .await
                .unwrap();
            let u = tokio::UdpSocket::bind(&a, "10.9.10.1:0").await.unwrap();
            let dns: SocketAddr = "1.1.1.1:53".parse().unwrap();
            u.send_to(b"q", dns).await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from, to) = t.recv_from_to(&mut buf).await.unwrap();
            assert_eq!((n, to), (1, dns));
            t.send_from_to(b"a", dns, from).await.unwrap();
            assert_eq!(u.recv_from(&mut buf).await.unwrap(), (1, dns));
        });
}

/// A tun2socks proxy's SYN-level decision on the blocking API: the first SYN
/// is completed (the upstream answered), the second refused with a RST (the
/// upstream refused): the client's connects see exactly that.
#[test]
fn held_syns_are_completed_or_refused_as_the_application_decides_blocking() {
    use std::io::ErrorKind;
    let (a, b) = datagram_pair::routed_pair(11, 47);
    let l = TcpListener::bind_transparent(&b, "0.0.0.0:0").unwrap();
    let e = l.next_syn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "not holding: {e}");
    l.set_hold_syns(true).unwrap();
    l.set_nonblocking(true).unwrap();
    let e = l.next_syn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "nothing held: {e}");
    l.set_nonblocking(false).unwrap();
    let up: SocketAddr = "203.0.113.7:443".parse().unwrap();
    let down: SocketAddr = "198.51.100.20:25".parse().unwrap();
    let client = std::thread::spawn(move || {
        let mut c = TcpStream::connect_timeout(&a, &up, Duration::from_secs(20)).unwrap();
        let local = c.local_addr().unwrap();
        c.write_all(b"hello").unwrap();
        let mut got = [0u8; 5];
        c.read_exact(&mut got).unwrap();
        let refused = TcpStream::connect_timeout(&a, &down, Duration::from_secs(20));
        (local, got, refused.map(|_| ()).map_err(|e| e.kind()))
    });
    let syn = l.next_syn().unwrap();
    assert_eq!(syn.local, up);
    l.complete_syn(syn).unwrap();
    // Decided: no longer held.
    let e = l.complete_syn(syn).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    let (mut s, peer) = l.accept().unwrap();
    assert_eq!((s.local_addr().unwrap(), peer), (up, syn.remote));
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    s.write_all(b"world").unwrap();
    let syn = l.next_syn().unwrap();
    assert_eq!(syn.local, down);
    l.refuse_syn(syn, layer4_net::SynRefusal::Reset).unwrap();
    let (local, got, refused) = client.join().unwrap();
    assert_eq!(local, peer);
    assert_eq!((&buf, &got), (b"hello", b"world"));
    assert_eq!(refused, Err(ErrorKind::ConnectionRefused));
}

#[cfg(feature = "tokio")]
#[test]
fn held_syns_are_completed_or_refused_as_the_application_decides_async() {
    use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
    use layer4_net::tokio;
    let (a, b) = datagram_pair::routed_pair(12, 53);
    ::tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            let l = tokio::TcpListener::bind_transparent(&b, "0.0.0.0:0")
                .await
                .unwrap();
            l.set_hold_syns(true).unwrap();
            let up: SocketAddr = "198.51.100.9:80".parse().unwrap();
            let down: SocketAddr = "198.51.100.10:80".parse().unwrap();
            let proxy = ::tokio::spawn(async move {
                let syn = l.next_syn().await.unwrap();
                assert_eq!(syn.local, up);
                l.complete_syn(syn).unwrap();
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
                let syn = l.next_syn().await.unwrap();
                assert_eq!(syn.local, down);
                l.refuse_syn(syn, layer4_net::SynRefusal::Reset).unwrap();
                s
            });
            let mut c = tokio::TcpStream::connect(&a, up).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            c.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            let e = tokio::TcpStream::connect(&a, down).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
            let s = proxy.await.unwrap();
            assert_eq!(s.local_addr().unwrap(), up);
        });
}

/// A connection opened from a foreign address (a VPN delivering a peer's
/// connection into its TUN from the peer's address): the server sees that
/// address, and data goes both ways.
#[test]
fn a_connection_from_a_foreign_address_reaches_the_server_from_it() {
    let (a, b) = datagram_pair::routed_pair(13, 59);
    let l = TcpListener::bind(&b, "10.9.13.2:8080").unwrap();
    let from: SocketAddr = "100.64.7.9:0".parse().unwrap();
    let server: SocketAddr = "10.9.13.2:8080".parse().unwrap();
    let mut c = TcpStream::connect_transparent(&a, server, from).unwrap();
    let local = c.local_addr().unwrap();
    assert_eq!(local.ip(), from.ip());
    assert_ne!(local.port(), 0);
    let (mut s, peer) = l.accept().unwrap();
    assert_eq!(peer, local);
    c.write_all(b"in").unwrap();
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).unwrap();
    s.write_all(b"ok").unwrap();
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ok");
    // A source no host may use.
    let e = TcpStream::connect_transparent(&a, server, "127.0.0.1:1".parse().unwrap())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
}

#[cfg(feature = "tokio")]
#[test]
fn a_connection_from_a_foreign_address_reaches_the_server_from_it_async() {
    use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
    use layer4_net::tokio;
    let (a, b) = datagram_pair::routed_pair(14, 61);
    ::tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            let l = tokio::TcpListener::bind(&b, "10.9.14.2:8080")
                .await
                .unwrap();
            let from: SocketAddr = "100.64.7.10:40000".parse().unwrap();
            let server: SocketAddr = "10.9.14.2:8080".parse().unwrap();
            let mut c = tokio::TcpStream::connect_transparent(&a, server, from)
                .await
                .unwrap();
            assert_eq!(c.local_addr().unwrap(), from);
            let (mut s, peer) = l.accept().await.unwrap();
            assert_eq!(peer, from);
            c.write_all(b"in").await.unwrap();
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"in");
        });
}

/// A task waiting for a held SYN when holding is turned off is woken, and its
/// next poll fails with `InvalidInput` (the listener no longer holds SYNs)
/// rather than waiting for an event that nothing raises: the blocking
/// `next_syn` waits on the same notification. Before, it slept until the
/// listener's next connection, if one ever came.
#[cfg(feature = "tokio")]
#[test]
fn turning_holding_off_wakes_a_task_waiting_for_a_held_syn() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// Records that it was woken.
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let (_a, b) = datagram_pair::routed_pair(13, 59);
    let l = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(layer4_net::tokio::TcpListener::bind_transparent(
            &b,
            "0.0.0.0:0",
        ))
        .unwrap();
    l.set_hold_syns(true).unwrap();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(l.poll_next_syn(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst));
    l.set_hold_syns(false).unwrap();
    assert!(flag.0.load(Ordering::SeqCst), "not woken");
    match l.poll_next_syn(&mut cx) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}"),
        other => panic!("{other:?}"),
    }
}
