//! Where the async API's behaviour is its own, checked against what `tokio::net`
//! does: `poll_shutdown` sends the FIN, dropping an `OwnedWriteHalf` shuts down
//! writing, a cancelled read loses nothing, a pending call fails when the
//! runtime goes. (What it shares with the blocking API, the close, reset and
//! error semantics, is in `std_semantics.rs`.) Two runtimes joined by a
//! `DatagramDevice` pair: no TUN, no root; every test under a timeout.

mod datagram_pair;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use layer4_net::tokio::{TcpListener, TcpStream};
use layer4_net::Runtime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, Ready};

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(3, 7)
}

fn block_on<F: Future<Output = ()>>(f: F) {
    // I/O for the reference sockets (tokio's own, over the kernel).
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), f)
                .await
                .expect("not done within 20 s");
        });
}

/// A connection from `a` (the client) to `b` (the server).
async fn connected(a: &Runtime, b: &Runtime) -> (TcpStream, TcpStream) {
    let l = TcpListener::bind(b, "10.9.3.2:0").await.unwrap();
    let c = TcpStream::connect(a, l.local_addr().unwrap())
        .await
        .unwrap();
    let (s, _) = l.accept().await.unwrap();
    (c, s)
}

#[test]
fn poll_shutdown_sends_the_fin_and_later_writes_fail_with_broken_pipe() {
    let (a, b) = pair();
    block_on(async {
        let (mut c, mut s) = connected(&a, &b).await;
        c.write_all(b"request").await.unwrap();
        c.shutdown().await.unwrap();
        let e = c.write(b"late").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");
        // Reading goes on after the shutdown.
        s.write_all(b"response").await.unwrap();
        drop(s);
        let mut got = Vec::new();
        c.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"response");
        // As tokio's, a shutdown of a finished connection is no error.
        c.shutdown().await.unwrap();
    });
}

#[test]
fn dropping_the_owned_write_half_shuts_down_writing_and_the_read_half_reads_on() {
    let (a, b) = pair();
    block_on(async {
        let (c, mut s) = connected(&a, &b).await;
        let (mut r, mut w) = c.into_split();
        w.write_all(b"last words").await.unwrap();
        drop(w);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words", "no FIN after the write half went");
        s.write_all(b"reply").await.unwrap();
        let mut back = [0u8; 5];
        r.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"reply");
        // Dropping the read half, the last handle, closes the connection.
        drop(r);
        assert_eq!(s.read(&mut [0u8; 8]).await.unwrap(), 0);

        // The read half going first closes nothing.
        let (c, mut s) = connected(&a, &b).await;
        let (r, mut w) = c.into_split();
        drop(r);
        w.write_all(b"still writing").await.unwrap();
        let mut got = [0u8; 13];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"still writing");
    });
}

#[test]
fn a_cancelled_read_loses_no_data() {
    let (a, b) = pair();
    block_on(async {
        let (mut c, mut s) = connected(&a, &b).await;
        let mut buf = [0u8; 64];
        // A read polled while nothing is there, then dropped...
        {
            let mut read = pin!(s.read(&mut buf));
            std::future::poll_fn(|cx| {
                assert!(read.as_mut().poll(cx).is_pending(), "data out of nowhere");
                Poll::Ready(())
            })
            .await;
        }
        c.write_all(b"abc").await.unwrap();
        s.readable().await.unwrap();
        // ... and one made once the data is there, never polled: neither took it.
        drop(s.read(&mut buf));
        assert_eq!(s.read(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");

        // A megabyte read by a loop that cancels the read whenever it is not
        // ready within one turn of the executor (`select!`'s usual shape).
        const N: usize = 1 << 20;
        let writer = tokio::spawn(async move {
            let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
            for chunk in data.chunks(10_000) {
                c.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            c
        });
        let mut got = Vec::with_capacity(N);
        let mut cancelled = 0u32;
        let mut buf = vec![0u8; 4096];
        while got.len() < N {
            tokio::select! {
                biased;
                r = s.read(&mut buf) => {
                    let n = r.unwrap();
                    assert!(n > 0, "end of stream after {} bytes", got.len());
                    got.extend_from_slice(&buf[..n]);
                }
                () = tokio::task::yield_now() => cancelled += 1,
            }
        }
        drop(writer.await.unwrap());
        assert!(
            cancelled > 0,
            "no read was cancelled: the test proves nothing"
        );
        assert!(
            got.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8),
            "bytes lost or reordered across {cancelled} cancelled reads"
        );
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn pending_calls_fail_when_the_runtime_is_dropped() {
    let (a, b) = pair();
    block_on(async {
        let (_c, s) = connected(&a, &b).await;
        let l = TcpListener::bind(&b, "10.9.3.2:7").await.unwrap();
        let read = tokio::spawn(async move {
            let mut s = s;
            s.read(&mut [0u8; 8]).await.map(drop).map_err(|e| e.kind())
        });
        let accept = tokio::spawn(async move { l.accept().await.map(drop).map_err(|e| e.kind()) });
        // Both are waiting (their tasks ran up to their first `Pending`).
        tokio::task::yield_now().await;
        assert!(!read.is_finished() && !accept.is_finished());
        drop(b);
        // Not tokio's `Other` (its sockets' kind once their runtime shut
        // down): `NetworkDown`, as the blocking API (the runtime's docs say
        // why).
        assert_eq!(read.await.unwrap(), Err(io::ErrorKind::NetworkDown));
        assert_eq!(accept.await.unwrap(), Err(io::ErrorKind::NetworkDown));
    });
}

#[test]
fn a_listener_rebinds_its_port_beside_its_old_connection_in_time_wait() {
    // tokio, like std, sets SO_REUSEADDR on a listener.
    let (a, b) = pair();
    block_on(async {
        let l = TcpListener::bind(&b, "10.9.3.2:80").await.unwrap();
        let mut c = TcpStream::connect(&a, "10.9.3.2:80").await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        drop(s);
        assert_eq!(c.read(&mut [0u8; 8]).await.unwrap(), 0);
        drop(c);
        // The server's side, which closed first, reaches TIME-WAIT.
        while b.with_stack(|s, _| s.time_wait_count()).unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(l);
        TcpListener::bind(&b, "10.9.3.2:80")
            .await
            .expect("rebind beside TIME-WAIT");
    });
}

/// The results of reads (`R`) and writes (`W`) on `c`, in order.
async fn results<S>(c: &mut S, calls: &str) -> Vec<Result<usize, io::ErrorKind>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    for call in calls.chars() {
        let r = match call {
            'R' => c.read(&mut [0u8; 16]).await,
            _ => c.write(b"more").await,
        };
        out.push(r.map_err(|e| e.kind()));
    }
    out
}

/// Readable, writable, read closed, write closed.
fn bits(r: Ready) -> [bool; 4] {
    [
        r.is_readable(),
        r.is_writable(),
        r.is_read_closed(),
        r.is_write_closed(),
    ]
}

/// Waits until `over` says the RST has arrived (`peer_addr` is
/// `NotConnected`, which takes no error, on Linux as in layer4).
async fn until_reset(over: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !over() {
        assert!(start.elapsed() < Duration::from_secs(10), "no RST");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn not_connected<T>(r: io::Result<T>) -> bool {
    r.is_err_and(|e| e.kind() == io::ErrorKind::NotConnected)
}

#[test]
fn a_reset_is_reported_once_as_tokio_reports_it() {
    let (a, b) = pair();
    let both = Interest::READABLE | Interest::WRITABLE;
    block_on(async {
        for calls in ["RRWW", "WWRR"] {
            // The reference: tokio's own stream over the kernel's loopback.
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = tokio::net::TcpStream::connect(l.local_addr().unwrap())
                .await
                .unwrap();
            let (s, _) = l.accept().await.unwrap();
            c.write_all(b"never read").await.unwrap();
            s.peek(&mut [0u8; 1]).await.unwrap();
            // Closed with data unread: a RST.
            drop(s);
            until_reset(|| not_connected(c.peer_addr())).await;
            let kernel = results(&mut c, calls).await;
            let kernel_ready = bits(c.ready(both).await.unwrap());

            let (mut c, s) = connected(&a, &b).await;
            c.write_all(b"never read").await.unwrap();
            s.peek(&mut [0u8; 1]).await.unwrap();
            drop(s);
            until_reset(|| not_connected(c.peer_addr())).await;
            let layer4 = results(&mut c, calls).await;
            let layer4_ready = bits(c.ready(both).await.unwrap());

            let reset = Err(io::ErrorKind::ConnectionReset);
            let broken = Err(io::ErrorKind::BrokenPipe);
            let expected = match calls {
                "RRWW" => vec![reset, Ok(0), broken, broken],
                _ => vec![reset, broken, Ok(0), Ok(0)],
            };
            assert_eq!(kernel, expected, "tokio's reference changed");
            assert_eq!(layer4, kernel, "layer4 and tokio differ for {calls}");
            // Both directions ready, and closed.
            assert_eq!(kernel_ready, [true; 4], "tokio's reference changed");
            assert_eq!(layer4_ready, kernel_ready);
        }
    });
}

#[test]
fn shutdown_fails_pending_calls_and_delivers_what_a_task_wrote_and_closed() {
    let (a, b) = pair();
    block_on(async {
        let (c, mut s) = connected(&a, &b).await;
        let (idle, _idle_peer) = connected(&a, &b).await;
        let pending = tokio::spawn(async move {
            let mut idle = idle;
            idle.read(&mut [0u8; 8]).await.map_err(|e| e.kind())
        });
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.map(|_| got)
        });
        let data: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
        let mut c = c;
        c.write_all(&data).await.unwrap();
        drop(c);
        tokio::task::yield_now().await;
        assert!(!pending.is_finished());
        // It blocks: from async code, where blocking is allowed.
        let abandoned = tokio::task::spawn_blocking(move || a.shutdown(Duration::from_secs(10)))
            .await
            .unwrap();
        assert_eq!(abandoned, 0);
        assert_eq!(pending.await.unwrap(), Err(io::ErrorKind::NetworkDown));
        let got = reader.await.unwrap().unwrap();
        assert!(got == data, "{} bytes of {}", got.len(), data.len());
    });
}
