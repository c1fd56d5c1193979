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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(3, 7)
}

fn block_on<F: Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
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
        // The kind tokio's own sockets give once their runtime shut down.
        assert_eq!(read.await.unwrap(), Err(io::ErrorKind::Other));
        assert_eq!(accept.await.unwrap(), Err(io::ErrorKind::Other));
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
