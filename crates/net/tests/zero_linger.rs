//! `SO_LINGER` of layer4's async `TcpStream` (`set_linger`, `set_zero_linger`,
//! `linger`) against tokio's own streams on this kernel (the reference,
//! checked at every run): a zero linger makes the close a RST, the value is
//! kept in whole seconds, a longer linger closes as without it (what the peer
//! sees). layer4's side runs over a `DatagramDevice` pair (no TUN, no root).
//! Every wait is under a timeout.
#![allow(deprecated)] // tokio's `set_linger`, mirrored.

mod datagram_pair;

use std::io;
use std::time::{Duration, Instant};

use io::ErrorKind::{BrokenPipe, ConnectionReset};
use layer4::SocketProtocol;
use layer4_net::Runtime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any wait may take before the test counts it as hung.
const HUNG: Duration = Duration::from_secs(10);

fn pair(seed: u64) -> (Runtime, Runtime) {
    datagram_pair::pair(8, seed)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(HUNG, f).await.expect("hung")
}

/// A connected (client, server) pair of tokio's streams on the loopback.
async fn kernel_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = within(tokio::net::TcpStream::connect(l.local_addr().unwrap()))
        .await
        .unwrap();
    let (s, _) = within(l.accept()).await.unwrap();
    (c, s)
}

/// A connected (client, server) pair of layer4's streams, `a` to `b`.
async fn layer4_pair(
    a: &Runtime,
    b: &Runtime,
) -> (layer4_net::tokio::TcpStream, layer4_net::tokio::TcpStream) {
    let l = layer4_net::tokio::TcpListener::bind(b, "10.9.8.2:0")
        .await
        .unwrap();
    let c = within(layer4_net::tokio::TcpStream::connect(
        a,
        l.local_addr().unwrap(),
    ))
    .await
    .unwrap();
    let (s, _) = within(l.accept()).await.unwrap();
    (c, s)
}

/// What a stream's peer reads until the end or an error: the bytes, then the
/// error's kind (`None`: the end of the stream).
async fn read_all<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> (Vec<u8>, Option<io::ErrorKind>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match within(s.read(&mut buf)).await {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Some(e.kind())),
        }
    }
}

/// `linger()` at first, then after `set_linger` of each value.
fn linger_results(
    set: impl Fn(Option<Duration>) -> io::Result<()>,
    get: impl Fn() -> io::Result<Option<Duration>>,
) -> Vec<Option<Duration>> {
    let mut out = vec![get().unwrap()];
    for v in [
        Some(Duration::from_millis(1500)),
        Some(Duration::from_millis(500)),
        None,
        Some(Duration::from_secs(3)),
        Some(Duration::ZERO),
    ] {
        set(v).unwrap();
        out.push(get().unwrap());
    }
    out
}

#[test]
fn the_linger_is_kept_in_whole_seconds_as_linux_keeps_it() {
    let (a, b) = pair(3);
    block_on(async {
        let (kc, _ks) = kernel_pair().await;
        let kernel = linger_results(|d| kc.set_linger(d), || kc.linger());
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            kernel,
            [None, secs(1), secs(0), None, secs(3), secs(0)],
            "the kernel's reference changed"
        );
        let (c, _s) = layer4_pair(&a, &b).await;
        let layer4 = linger_results(|d| c.set_linger(d), || c.linger());
        assert_eq!(layer4, kernel);
        c.set_linger(None).unwrap();
        c.set_zero_linger().unwrap();
        assert_eq!(c.linger().unwrap(), secs(0));
    });
}

/// How each close looks to the peer: what it reads after the closer wrote
/// "bye" and dropped its stream with `linger` set (`None`: not set).
async fn closes<C, S>(
    mut c: C,
    mut s: S,
    linger: Option<Duration>,
    set: fn(&C, Option<Duration>),
) -> (Vec<u8>, Option<io::ErrorKind>)
where
    C: tokio::io::AsyncWrite + Unpin,
    S: tokio::io::AsyncRead + Unpin,
{
    c.write_all(b"bye").await.unwrap();
    // The bytes are at the peer before the close (a zero linger discards
    // only what is still unsent).
    let mut got = [0u8; 3];
    within(s.read_exact(&mut got)).await.unwrap();
    set(&c, linger);
    drop(c);
    let (mut rest, err) = read_all(&mut s).await;
    let mut all = got.to_vec();
    all.append(&mut rest);
    (all, err)
}

#[test]
fn a_zero_linger_resets_and_a_longer_one_closes_as_without_it() {
    let cases = [
        (None, (b"bye".to_vec(), None)),
        (
            Some(Duration::ZERO),
            (b"bye".to_vec(), Some(ConnectionReset)),
        ),
        // Under a second is zero.
        (
            Some(Duration::from_millis(300)),
            (b"bye".to_vec(), Some(ConnectionReset)),
        ),
        // Linux blocks the close until the FIN is acknowledged (at once on the
        // loopback); the peer sees the data and the FIN, as without it.
        (Some(Duration::from_secs(5)), (b"bye".to_vec(), None)),
    ];
    let (a, b) = pair(5);
    block_on(async {
        for (linger, want) in cases {
            let (kc, ks) = kernel_pair().await;
            let kernel = closes(kc, ks, linger, |c, d| c.set_linger(d).unwrap()).await;
            assert_eq!(kernel, want, "the kernel's reference changed: {linger:?}");
            let (c, s) = layer4_pair(&a, &b).await;
            let layer4 = closes(c, s, linger, |c, d| c.set_linger(d).unwrap()).await;
            assert_eq!(layer4, kernel, "{linger:?}");
        }
    });
}

/// The states of the TCP connections `rt`'s stack still has (TIME-WAIT
/// records included).
fn connections(rt: &Runtime) -> Vec<&'static str> {
    rt.with_stack(|s, now| {
        s.socket_table(now)
            .iter()
            .filter(|e| e.protocol == SocketProtocol::Tcp && e.remote.is_some())
            .map(|e| e.state)
            .collect()
    })
    .unwrap()
}

/// Waits until `rt`'s connections are in `states`.
async fn wait_for(rt: &Runtime, states: &[&str]) {
    let start = Instant::now();
    while connections(rt) != states {
        assert!(start.elapsed() < HUNG, "still {:?}", connections(rt));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_reset_close_leaves_no_time_wait_behind() {
    let (a, b) = pair(7);
    block_on(async {
        let (c, mut s) = layer4_pair(&a, &b).await;
        c.set_zero_linger().unwrap();
        drop(c);
        assert_eq!(read_all(&mut s).await, (Vec::new(), Some(ConnectionReset)));
        wait_for(&a, &[]).await;
        // An ordinary close, closing first, stays in TIME-WAIT.
        let (c, mut s) = layer4_pair(&a, &b).await;
        drop(c);
        assert_eq!(read_all(&mut s).await, (Vec::new(), None));
        drop(s);
        wait_for(&a, &["TIME-WAIT"]).await;
    });
}

#[test]
fn a_zero_linger_after_a_write_shutdown_still_resets() {
    // Linux resets in FIN-WAIT-1 and FIN-WAIT-2 too (`tcp_need_reset`).
    let (a, b) = pair(9);
    block_on(async {
        /// `over(s)`: the peer's connection is over (its `peer_addr` fails,
        /// which takes no error).
        async fn run<C, S>(
            mut c: C,
            mut s: S,
            zero: fn(&C),
            over: fn(&S) -> bool,
        ) -> Vec<io::Result<usize>>
        where
            C: tokio::io::AsyncWrite + Unpin,
            S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
        {
            zero(&c);
            c.shutdown().await.unwrap();
            let mut buf = [0u8; 8];
            let eof = within(s.read(&mut buf)).await;
            drop(c);
            let start = Instant::now();
            while !over(&s) {
                assert!(start.elapsed() < HUNG, "no RST within {HUNG:?}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let write = s.write(b"late").await;
            vec![eof, write]
        }
        let kinds = |r: Vec<io::Result<usize>>| -> Vec<Result<usize, io::ErrorKind>> {
            r.into_iter().map(|r| r.map_err(|e| e.kind())).collect()
        };
        let (kc, ks) = kernel_pair().await;
        let kernel = kinds(
            run(
                kc,
                ks,
                |c| c.set_zero_linger().unwrap(),
                |s| s.peer_addr().is_err(),
            )
            .await,
        );
        let (c, s) = layer4_pair(&a, &b).await;
        let layer4 = kinds(
            run(
                c,
                s,
                |c| c.set_zero_linger().unwrap(),
                |s| s.peer_addr().is_err(),
            )
            .await,
        );
        assert_eq!(
            kernel,
            [Ok(0), Err(BrokenPipe)],
            "the kernel's reference changed"
        );
        // Without the RST the peer's write would succeed. A RST that finds
        // the peer in CLOSE-WAIT is `EPIPE` (`tcp_reset`), in layer4 too.
        assert_eq!(layer4, kernel);
    });
}

#[test]
fn a_runtime_shutdown_resets_the_streams_with_a_zero_linger() {
    // As a process's exit closes its descriptors, with their options.
    let (a, b) = pair(11);
    block_on(async move {
        let (c, mut s) = layer4_pair(&a, &b).await;
        let (c2, mut s2) = layer4_pair(&a, &b).await;
        c.set_zero_linger().unwrap();
        // Blocks this thread (the layer4 runtime's runs on).
        let abandoned = a.shutdown(HUNG);
        assert_eq!(abandoned, 0);
        assert_eq!(read_all(&mut s).await, (Vec::new(), Some(ConnectionReset)));
        assert_eq!(read_all(&mut s2).await, (Vec::new(), None));
        drop((c, c2));
    });
}
