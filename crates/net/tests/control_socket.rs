//! The control socket, without privileges: two runtimes joined by a
//! `DatagramDevice` pair (no TUN), one of them answering on a socket in a
//! temporary directory.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::control::client::{query, sockets_in};
use layer4_net::control::proto::{Request, Response};
use layer4_net::{ControlSocket, DatagramDevice, Runtime, RuntimeOptions};

const T: Duration = Duration::from_secs(5);

fn runtime(addr: &str, device: DatagramDevice, control: ControlSocket) -> Runtime {
    let cidr: IpCidr = addr.parse().unwrap();
    let stack = Stack::new(Config::with_address(cidr).seed(7)).unwrap();
    Runtime::with_options(stack, device, RuntimeOptions::default().control(control)).unwrap()
}

/// Asks until `ok` holds for the answer (the stack moves on its own thread).
fn until(path: &Path, req: Request, ok: impl Fn(&Response) -> bool) -> Response {
    let start = Instant::now();
    loop {
        let r = query(path, req, T).expect("query");
        if ok(&r) || start.elapsed() > T {
            return r;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn control_socket_reports_sockets_tcp_info_and_counters_then_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/a.sock");
    let (da, db) = DatagramDevice::pair().unwrap();
    let a = runtime("10.9.0.1/24", da, ControlSocket::At(path.clone()));
    let b = runtime("10.9.0.2/24", db, ControlSocket::Off);
    assert_eq!(a.control_path(), Some(path.as_path()));
    assert_eq!(b.control_path(), None);
    assert_eq!(
        sockets_in(&dir.path().join("sub")).unwrap(),
        vec![path.clone()]
    );

    let l = b.tcp_bind("10.9.0.2:80").unwrap();
    let c = a.tcp_connect("10.9.0.2:80").unwrap();
    let (mut s, _) = l.accept().unwrap();
    (&c).write_all(&[7u8; 1000]).unwrap();
    let mut buf = [0u8; 1000];
    s.read_exact(&mut buf).unwrap();
    let u = a.udp_bind("10.9.0.1:53").unwrap();

    let r = until(&path, Request::Sockets, |r| {
        r.sockets.as_ref().is_some_and(|s| {
            s.iter()
                .any(|row| row.tcp_info.as_ref().is_some_and(|i| i.bytes_acked == 1000))
        })
    });
    assert_eq!(r.origin.pid, std::process::id());
    assert_eq!(r.origin.addresses, vec!["10.9.0.1/24".to_string()]);
    let rows = r.sockets.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let tcp = rows.iter().find(|r| r.protocol == "tcp").unwrap();
    assert_eq!(tcp.state, "ESTAB");
    assert_eq!(tcp.local, c.local_addr().unwrap());
    assert_eq!(tcp.remote, Some("10.9.0.2:80".parse().unwrap()));
    let info = tcp.tcp_info.as_ref().unwrap();
    assert_eq!((info.bytes_sent, info.bytes_acked), (1000, 1000));
    assert!(
        info.rtt_us.is_some() && info.cwnd > 0 && info.snd_mss > 0,
        "{info:?}"
    );
    let udp = rows.iter().find(|r| r.protocol == "udp").unwrap();
    assert_eq!(
        (udp.state.as_str(), udp.local),
        ("UNCONN", u.local_addr().unwrap())
    );
    assert!(udp.tcp_info.is_none());

    let r = query(&path, Request::Counters, T).unwrap();
    let counters = r.counters.unwrap();
    let get = |n: &str| counters.iter().find(|c| c.name == n).map(|c| c.value);
    assert_eq!(get("TcpActiveOpens"), Some(1));
    assert_eq!(get("TcpPassiveOpens"), Some(0));
    assert!(get("TcpOutSegs").unwrap() >= 3);
    assert_eq!(get("RuntimeTxErrors"), Some(0));

    drop((c, s, l, u));
    drop(a);
    assert!(
        !path.exists(),
        "the socket file is removed with the runtime"
    );
    let e = query(&path, Request::Sockets, T).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
}

#[test]
fn bad_requests_get_an_error_line_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sock");
    let (da, _db) = DatagramDevice::pair().unwrap();
    let _a = runtime("10.9.0.1/24", da, ControlSocket::At(path.clone()));
    let s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut line = String::new();
    for bad in ["not json\n", "{\"request\":\"shutdown\"}\n"] {
        w.write_all(bad.as_bytes()).unwrap();
        line.clear();
        r.read_line(&mut line).unwrap();
        let resp: Response = serde_json::from_str(&line).unwrap();
        assert!(
            resp.error.is_some_and(|e| e.contains("bad request")),
            "{line}"
        );
    }
    w.write_all(b"{\"request\":\"counters\"}\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    let resp: Response = serde_json::from_str(&line).unwrap();
    assert!(resp.counters.is_some(), "{line}");
    // An over-long line is refused, skipped, and the next request answered.
    w.write_all(&vec![b'x'; 10_000]).unwrap();
    w.write_all(b"\n{\"request\":\"sockets\"}\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("longer than"), "{line}");
    line.clear();
    r.read_line(&mut line).unwrap();
    let resp: Response = serde_json::from_str(&line).unwrap();
    assert!(resp.sockets.is_some(), "{line}");
}

#[test]
fn a_stale_socket_file_is_refused_to_clients_and_replaced_by_a_new_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("1-0.sock");
    // A dead process's socket: the file stays, nobody answers.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let e = query(&path, Request::Sockets, T).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    let (da, _db) = DatagramDevice::pair().unwrap();
    let a = runtime("10.9.0.1/24", da, ControlSocket::At(path.clone()));
    assert!(query(&path, Request::Sockets, T)
        .unwrap()
        .sockets
        .unwrap()
        .is_empty());
    // A live runtime's path is not taken over.
    let (dc, _dd) = DatagramDevice::pair().unwrap();
    let cidr: IpCidr = "10.9.0.3/24".parse().unwrap();
    let stack = Stack::new(Config::with_address(cidr).seed(1)).unwrap();
    let e = Runtime::with_options(
        stack,
        dc,
        RuntimeOptions::default().control(ControlSocket::At(path.clone())),
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
    drop(a);
}
