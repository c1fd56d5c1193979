//! The blocking API without privileges: two runtimes joined by a `DatagramDevice`
//! pair (no TUN, no namespace): `peek`, `peek_from` and non-blocking mode.

mod datagram_pair;

use std::io::{self, Read, Write};
use std::time::Duration;

use layer4_net::Runtime;
use layer4_net::{TcpListener, TcpStream, UdpSocket};

const TIMEOUT: Duration = Duration::from_secs(20);

fn pair() -> (Runtime, Runtime) {
    datagram_pair::pair(1, 3)
}

#[test]
fn tcp_peek_waits_for_data_and_leaves_it_for_read() {
    let (a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.1.2:80").unwrap();
    let mut c = TcpStream::connect(&a, "10.9.1.2:80").unwrap();
    let (mut s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        c.write_all(b"peekaboo").unwrap();
        c
    });
    let mut buf = [0u8; 64];
    // Waits for the bytes; may see part of them only if they came in pieces.
    let n = s.peek(&mut buf).unwrap();
    assert!(n > 0 && buf[..n] == b"peekaboo"[..n], "{:?}", &buf[..n]);
    let mut all = [0u8; 8];
    s.read_exact(&mut all).unwrap();
    assert_eq!(&all, b"peekaboo");
    drop(writer.join().unwrap());
    assert_eq!(s.peek(&mut buf).unwrap(), 0, "end of stream");
}

#[test]
fn nonblocking_calls_say_would_block_instead_of_waiting() {
    let (a, b) = pair();
    let l = TcpListener::bind(&b, "10.9.1.2:81").unwrap();
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let mut c = TcpStream::connect(&a, "10.9.1.2:81").unwrap();
    let s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        (&s).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(
        s.peek(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    c.write_all(b"now").unwrap();
    // Back to blocking on a clone: the mode is the connection's.
    s.try_clone().unwrap().set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(s.peek(&mut buf).unwrap(), 3);
    assert_eq!((&s).read(&mut buf).unwrap(), 3);

    let ua = UdpSocket::bind(&a, "10.9.1.1:53").unwrap();
    let ub = UdpSocket::bind(&b, "10.9.1.2:53").unwrap();
    ub.set_nonblocking(true).unwrap();
    assert_eq!(
        ub.recv_from(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(
        ub.peek_from(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    ua.send_to(b"dgram", "10.9.1.2:53").unwrap();
    ub.set_nonblocking(false).unwrap();
    ub.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (n, from) = ub.peek_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from.to_string().as_str()),
        (&b"dgram"[..], "10.9.1.1:53")
    );
    ub.connect("10.9.1.1:53").unwrap();
    assert_eq!(ub.peek(&mut buf).unwrap(), 5);
    assert_eq!(ub.recv(&mut buf).unwrap(), 5);
    ub.set_nonblocking(true).unwrap();
    assert_eq!(
        ub.peek(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}
