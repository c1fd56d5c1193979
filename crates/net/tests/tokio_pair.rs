//! The async API without privileges: two runtimes joined by a `DatagramDevice`
//! pair (no TUN, no namespace), driven from one current-thread tokio runtime. The
//! same behaviours run against the Linux kernel in `tokio_interop.rs` (root).

mod datagram_pair;

use std::io;
use std::time::Duration;

use layer4_net::tokio::{TcpListener, TcpStream, UdpSocket};
use layer4_net::Runtime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(0, 1)
}

fn block_on<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), f)
                .await
                .expect("not done within 60 s");
        });
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

#[test]
fn async_streams_exchange_a_megabyte_each_way_with_half_closes() {
    let (a, b) = pair();
    block_on(async {
        const N: usize = 1 << 20;
        let l = TcpListener::bind(&b, "10.9.0.2:80").await.unwrap();
        let server = tokio::spawn(async move {
            let (s, peer) = l.accept().await.unwrap();
            assert_eq!(peer.ip().to_string(), "10.9.0.1");
            let (mut r, mut w) = s.into_split();
            let send = tokio::spawn(async move {
                w.write_all(&bytes(2, N)).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            send.await.unwrap();
            got
        });
        let mut c = TcpStream::connect(&a, "10.9.0.2:80").await.unwrap();
        let (mut r, mut w) = c.split();
        let (sent, got) = tokio::join!(
            async {
                w.write_all(&bytes(1, N)).await.unwrap();
                w.shutdown().await.unwrap();
            },
            async {
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                got
            }
        );
        let () = sent;
        assert!(got == bytes(2, N), "client received other bytes");
        assert!(
            server.await.unwrap() == bytes(1, N),
            "server received other bytes"
        );
    });
}

#[test]
fn async_errors_and_try_calls_follow_tokio() {
    let (a, b) = pair();
    block_on(async {
        let e = TcpStream::connect(&a, "10.9.0.2:81").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let l = TcpListener::bind(&b, "10.9.0.2:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let c = TcpStream::connect(&a, addr).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let e = s.try_read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        c.writable().await.unwrap();
        assert_eq!(c.try_write(b"ping").unwrap(), 4);
        // The readiness loop of tokio's docs: wait, then try.
        let mut buf = [0u8; 8];
        let n = loop {
            s.readable().await.unwrap();
            match s.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"ping");
        // After the peer's FIN, readable at once and the read is the end.
        drop(c);
        s.readable().await.unwrap();
        let mut s = s;
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn async_udp_sockets_exchange_datagrams() {
    let (a, b) = pair();
    block_on(async {
        let ua = UdpSocket::bind(&a, "10.9.0.1:0").await.unwrap();
        let ub = UdpSocket::bind(&b, "10.9.0.2:53").await.unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            for _ in 0..3 {
                let (n, from) = ub.recv_from(&mut buf).await.unwrap();
                ub.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let mut buf = [0u8; 1500];
        for i in 0..3u8 {
            let msg = vec![i; 100 * usize::from(i + 1)];
            ua.send_to(&msg, "10.9.0.2:53").await.unwrap();
            let (n, from) = ua.recv_from(&mut buf).await.unwrap();
            assert_eq!(
                (&buf[..n], from.to_string().as_str()),
                (&msg[..], "10.9.0.2:53")
            );
        }
        echo.await.unwrap();
    });
}

#[test]
fn a_datagram_sent_just_before_the_socket_is_dropped_still_leaves() {
    let (a, b) = pair();
    let ub = b.udp_bind("10.9.0.2:9").unwrap();
    ub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 0..20u8 {
        let ua = a.udp_bind("10.9.0.1:0").unwrap();
        ua.send_to(&[i; 64], "10.9.0.2:9").unwrap();
        drop(ua);
        let mut buf = [0u8; 64];
        let (n, _) = ub.recv_from(&mut buf).expect("the datagram arrives");
        assert_eq!(&buf[..n], &[i; 64]);
    }
}

#[test]
fn ready_reports_writable_then_readable_and_peek_leaves_the_bytes_for_read() {
    use tokio::io::Interest;
    let (a, b) = pair();
    block_on(async {
        let l = TcpListener::bind(&b, "10.9.0.2:81").await.unwrap();
        let c = TcpStream::connect(&a, "10.9.0.2:81").await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        // Nothing to read yet: ready() answers for the writable side alone.
        let r = s
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert!(r.is_writable() && !r.is_readable(), "{r:?}");
        let mut buf = [0u8; 64];
        let e = s.try_read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        c.writable().await.unwrap();
        assert_eq!(c.try_write(b"hello, ready").unwrap(), 12);
        let r = s.ready(Interest::READABLE).await.unwrap();
        assert!(r.is_readable() && !r.is_read_closed(), "{r:?}");
        assert_eq!(s.peek(&mut buf[..5]).await.unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        // Peeked bytes are still there for the read.
        assert_eq!(s.try_read(&mut buf).unwrap(), 12);
        assert_eq!(&buf[..12], b"hello, ready");
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        // The peer's FIN: readable with READ_CLOSED, and a read of 0.
        drop(c);
        let r = s.ready(Interest::READABLE).await.unwrap();
        assert!(r.is_readable() && r.is_read_closed(), "{r:?}");
        assert_eq!(s.peek(&mut buf).await.unwrap(), 0);
        assert_eq!(s.try_read(&mut buf).unwrap(), 0);
    });
}

#[test]
fn a_readiness_wait_is_woken_by_data_sent_later() {
    let (a, b) = pair();
    block_on(async {
        let l = TcpListener::bind(&b, "10.9.0.2:82").await.unwrap();
        let c = TcpStream::connect(&a, "10.9.0.2:82").await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let waiter = tokio::spawn(async move {
            s.readable().await.unwrap();
            let mut buf = [0u8; 16];
            let mut rbuf = tokio::io::ReadBuf::new(&mut buf);
            let n = std::future::poll_fn(|cx| s.poll_peek(cx, &mut rbuf))
                .await
                .unwrap();
            (n, rbuf.filled().to_vec())
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "readable() returned with nothing sent"
        );
        c.try_write(b"late").unwrap();
        let (n, peeked) = waiter.await.unwrap();
        assert_eq!((n, peeked.as_slice()), (4, &b"late"[..]));
    });
}

#[test]
fn udp_readiness_try_calls_and_peeks_follow_the_queues() {
    use tokio::io::Interest;
    let (a, b) = pair();
    block_on(async {
        let ua = UdpSocket::bind(&a, "10.9.0.1:5300").await.unwrap();
        let ub = UdpSocket::bind(&b, "10.9.0.2:5300").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            ub.try_recv_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(
            ub.try_peek_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let r = ub
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert!(r.is_writable() && !r.is_readable(), "{r:?}");
        ua.writable().await.unwrap();
        ua.try_send_to(b"one", "10.9.0.2:5300".parse().unwrap())
            .unwrap();
        ub.readable().await.unwrap();
        let (n, from) = ub.peek_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.to_string().as_str()),
            (&b"one"[..], "10.9.0.1:5300")
        );
        assert_eq!(ub.try_peek_sender().unwrap(), from);
        assert_eq!(ub.peek_sender().await.unwrap(), from);
        // Still there for the receive, then gone.
        assert_eq!(ub.try_recv_from(&mut buf).unwrap(), (3, from));
        assert_eq!(
            ub.try_peek_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        // Connected: try_send / peek / try_recv.
        ua.connect("10.9.0.2:5300").await.unwrap();
        ub.connect("10.9.0.1:5300").await.unwrap();
        assert_eq!(ua.try_send(b"two!").unwrap(), 4);
        let r = ub.ready(Interest::READABLE).await.unwrap();
        assert!(r.is_readable(), "{r:?}");
        assert_eq!(ub.peek(&mut buf).await.unwrap(), 4);
        assert_eq!(ub.try_peek(&mut buf).unwrap(), 4);
        assert_eq!(ub.try_recv(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"two!");
        assert_eq!(
            ub.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    });
}
