//! layer4's blocking sockets against the Linux kernel's own TCP, UDP and ICMP over
//! a TUN device, each test in a private network namespace (see `common`: the
//! kernel is 10.213.0.1, layer4 10.213.0.2).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

mod common;
use common::{in_netns, Net, Pattern, KERNEL, L4};

const TRANSFER: usize = 10 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);

fn fnv1a(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The hash of the `TRANSFER` bytes `Pattern(seed)` produces.
fn expected_hash(seed: u64) -> u64 {
    let mut p = Pattern(seed);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut left, mut h) = (TRANSFER, FNV_START);
    while left > 0 {
        let n = left.min(buf.len());
        p.fill(&mut buf[..n]);
        h = fnv1a(h, &buf[..n]);
        left -= n;
    }
    h
}

/// Writes `TRANSFER` bytes of `Pattern(seed)`, then calls `done` (a half-close).
fn send_pattern(mut w: impl Write, seed: u64, done: impl FnOnce()) -> io::Result<()> {
    let mut p = Pattern(seed);
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = TRANSFER;
    while left > 0 {
        let n = left.min(buf.len());
        p.fill(&mut buf[..n]);
        w.write_all(&buf[..n])?;
        left -= n;
    }
    done();
    Ok(())
}

/// Reads to the end of the stream: the byte count and hash.
fn recv_all(mut r: impl Read) -> io::Result<(usize, u64)> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut h) = (0, FNV_START);
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((total, h));
        }
        total += n;
        h = fnv1a(h, &buf[..n]);
    }
}

/// Sends `Pattern(send_seed)` on a thread while receiving; checks the received
/// stream is `Pattern(recv_seed)`. Returns the elapsed time.
fn exchange<S>(
    reader: S,
    writer: S,
    send_seed: u64,
    recv_seed: u64,
    who: &str,
    shut: fn(&S),
) -> Duration
where
    S: Send + 'static,
    for<'a> &'a S: Read + Write,
{
    let start = Instant::now();
    let who_w = who.to_string();
    let w = std::thread::spawn(move || {
        send_pattern(&writer, send_seed, || shut(&writer))
            .unwrap_or_else(|e| panic!("{who_w}: send: {e}"));
    });
    let (n, h) = recv_all(&reader).unwrap_or_else(|e| panic!("{who}: recv: {e}"));
    w.join().expect("writer thread");
    assert_eq!(n, TRANSFER, "{who}: received byte count");
    assert_eq!(h, expected_hash(recv_seed), "{who}: received data differs");
    start.elapsed()
}

fn kernel_shut(s: &std::net::TcpStream) {
    s.shutdown(Shutdown::Write).expect("kernel shutdown");
}

fn l4_shut(s: &layer4_net::TcpStream) {
    s.shutdown(Shutdown::Write).expect("layer4 shutdown");
}

fn report(net: &Net, what: &str, d: Duration) {
    let mb = (2 * TRANSFER) as f64 / 1e6;
    let retrans = net
        .rt
        .with_stack(|s, _| s.stats().tcp.retrans_segs)
        .unwrap_or(0);
    eprintln!(
        "{what}: 2 x {} MB in {:.2} s = {:.1} MB/s (both directions together); \
         layer4 retransmitted {retrans} segments, the TUN refused {} packets",
        TRANSFER / (1024 * 1024),
        d.as_secs_f64(),
        mb / d.as_secs_f64(),
        net.rt.stats().tx_errors,
    );
}

#[test]
fn layer4_client_exchanges_10mb_each_way_with_kernel_listener() {
    in_netns("layer4 client -> kernel listener", |net| {
        let listener = std::net::TcpListener::bind((KERNEL, 0)).expect("kernel bind");
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, peer) = listener.accept().expect("kernel accept");
            assert_eq!(peer.ip(), L4);
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            let w = s.try_clone().unwrap();
            exchange(s, w, 2, 1, "kernel server", kernel_shut);
        });
        let c = net.rt.tcp_connect(addr).expect("layer4 connect");
        assert_eq!(c.peer_addr().unwrap(), addr);
        assert_eq!(c.local_addr().unwrap().ip(), L4);
        c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        c.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = c.try_clone().unwrap();
        let d = exchange(c, w, 1, 2, "layer4 client", l4_shut);
        server.join().expect("kernel server");
        report(net, "layer4 client <-> kernel server", d);
    });
}

#[test]
fn kernel_client_exchanges_10mb_each_way_with_layer4_listener() {
    in_netns("kernel client -> layer4 listener", |net| {
        let listener = net.rt.tcp_bind((L4, 5001)).expect("layer4 bind");
        assert_eq!(
            listener.local_addr().unwrap(),
            SocketAddr::V4(SocketAddrV4::new(L4, 5001))
        );
        let client = std::thread::spawn(move || {
            let s = std::net::TcpStream::connect_timeout(&(L4, 5001).into(), IO_TIMEOUT)
                .expect("kernel connect");
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            let w = s.try_clone().unwrap();
            exchange(s, w, 3, 4, "kernel client", kernel_shut);
        });
        let (s, peer) = listener.accept().expect("layer4 accept");
        assert_eq!(peer.ip(), KERNEL);
        s.set_nodelay(true).unwrap();
        assert!(s.nodelay().unwrap());
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = s.try_clone().unwrap();
        let d = exchange(s, w, 4, 3, "layer4 server", l4_shut);
        client.join().expect("kernel client");
        report(net, "kernel client <-> layer4 server", d);
    });
}

#[test]
fn closed_ports_refuse_connections_both_ways() {
    in_netns("connection refused", |net| {
        // The kernel connecting to a layer4 port nobody listens on gets a RST.
        let e = std::net::TcpStream::connect_timeout(&(L4, 5999).into(), IO_TIMEOUT)
            .expect_err("kernel connect to a closed layer4 port");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        // And layer4 connecting to a closed kernel port.
        let free = std::net::TcpListener::bind((KERNEL, 0)).unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let e = layer4_net::TcpStream::connect_timeout(&net.rt, &addr, IO_TIMEOUT)
            .expect_err("layer4 connect to a closed kernel port");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        // A layer4 read timeout is WouldBlock, as std's on Unix.
        let l = net.rt.tcp_bind((L4, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let _k = std::net::TcpStream::connect_timeout(&(L4, port).into(), IO_TIMEOUT).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let e = (&s).read(&mut [0u8; 16]).expect_err("nothing to read");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        // The port is taken while the listener lives.
        let e = net.rt.tcp_bind((L4, port)).expect_err("second bind");
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        let e = net.rt.tcp_bind((KERNEL, 0)).expect_err("not our address");
        assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable, "{e}");
    });
}

#[test]
fn kernel_reset_is_connection_reset_for_layer4() {
    in_netns("connection reset", |net| {
        let listener = std::net::TcpListener::bind((KERNEL, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let c = net.rt.tcp_connect(addr).expect("layer4 connect");
        let (k, _) = listener.accept().unwrap();
        (&c).write_all(b"unread").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // Closing with unread data makes Linux send a RST.
        drop(k);
        c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let e = (&c).read(&mut [0u8; 16]).expect_err("read after RST");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    });
}

#[test]
fn udp_echo_both_ways() {
    in_netns("udp echo", |net| {
        // layer4 client, kernel echo server.
        let k = std::net::UdpSocket::bind((KERNEL, 0)).unwrap();
        k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let kaddr = k.local_addr().unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            for _ in 0..3 {
                let (n, from) = k.recv_from(&mut buf).expect("kernel recv_from");
                k.send_to(&buf[..n], from).unwrap();
            }
        });
        let u = net.rt.udp_bind((L4, 0)).unwrap();
        u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 2048];
        for i in 0..2u8 {
            let msg = [i; 1000];
            u.send_to(&msg, kaddr).unwrap();
            let (n, from) = u.recv_from(&mut buf).expect("layer4 recv_from");
            assert_eq!((&buf[..n], from), (&msg[..], kaddr));
        }
        u.connect(kaddr).unwrap();
        u.send(b"connected").unwrap();
        let n = u.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"connected");
        echo.join().unwrap();

        // Kernel client, layer4 echo server.
        let s = net.rt.udp_bind((L4, 7)).unwrap();
        let k = std::net::UdpSocket::bind((KERNEL, 0)).unwrap();
        k.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let kaddr = k.local_addr().unwrap();
        for i in 0..3u8 {
            let msg = vec![i; 100 + usize::from(i) * 500];
            k.send_to(&msg, (L4, 7)).unwrap();
            let (n, from) = s.recv_from(&mut buf).unwrap();
            assert_eq!(from, kaddr);
            s.send_to(&buf[..n], from).unwrap();
            let (n, from) = k.recv_from(&mut buf).expect("kernel gets the echo");
            assert_eq!((&buf[..n], from), (&msg[..], SocketAddr::from((L4, 7))));
        }
    });
}

#[test]
fn linux_ping_is_answered() {
    if !common::have_tools("ping", &["ping"]) {
        return;
    }
    in_netns("ping", |_net| {
        let out = std::process::Command::new("ping")
            .args(["-c", "3", "-i", "0.2", "-W", "2", "-n"])
            .arg(L4.to_string())
            .output();
        match out {
            Err(e) => panic!("ping: {e}"),
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "ping failed: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(text.contains("3 received"), "{text}");
            }
        }
    });
}
