//! `l4 tun2socks` end to end, against the Linux kernel on both sides.
//!
//! Each test makes two network namespaces with `ip netns add`: "client", where
//! `l4 tun2socks` runs with its TUN and the kernel routes 198.51.100.0/24 and
//! 2001:db8:5::/64 into it, and "server", where those prefixes' 198.51.100.5 and
//! 2001:db8:5::5 sit on `lo` with std servers behind them; `--upstream-netns`
//! makes the relay's OS sockets there, so nothing loops. The clients are std
//! sockets made in "client". They need root, /dev/net/tun and `ip` (iproute2);
//! without them they print why and pass, except where `CI=true`, where they
//! fail. Every wait is bounded; the namespaces and the relay are removed when a
//! test ends, failed or not. The argument checks run anywhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use layer4_net::netns;

mod common;
use common::{ci, l4, pattern, text};

const WATCHDOG: Duration = Duration::from_secs(90);
/// Any single wait: a connect, a read, a line from the relay.
const WAIT: Duration = Duration::from_secs(20);

/// Runs `ip ARGS`; its stderr on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            text(&out.stderr).trim()
        ))
    }
}

/// The two namespaces and the relay between them; all removed on drop.
struct Lab {
    client: String,
    server: String,
    relay: Mutex<Option<Child>>,
    /// The relay's stderr, line by line.
    lines: Mutex<Option<mpsc::Receiver<String>>>,
}

const SERVER4: &str = "198.51.100.5";
const SERVER6: &str = "2001:db8:5::5";

impl Lab {
    fn new() -> Result<Lab, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let lab = Lab {
            client: format!("l4t2s-c{tag}"),
            server: format!("l4t2s-s{tag}"),
            relay: Mutex::new(None),
            lines: Mutex::new(None),
        };
        ip(&["netns", "add", &lab.client])?;
        ip(&["netns", "add", &lab.server])?;
        for ns in [&lab.client, &lab.server] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        let s = lab.server.as_str();
        ip(&[
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER4}/32"),
            "dev",
            "lo",
        ])?;
        ip(&[
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER6}/128"),
            "dev",
            "lo",
            "nodad",
        ])?;
        Ok(lab)
    }

    /// Starts `l4 tun2socks -v` in "client" with `upstream` (`--direct`, or
    /// `--socks5 ...`) and `extra`, waits until it is ready, and routes the
    /// server's prefixes into its TUN.
    fn start(&self, upstream: &[&str], extra: &[&str]) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.client, env!("CARGO_BIN_EXE_l4")])
            .args(["tun2socks", "-v", "--tun", "t2s0"])
            .args(["--addr", "10.213.0.2/30", "--addr", "fd00:213::2/64"])
            .args(["--upstream-netns", &self.server])
            .args(upstream)
            .args(extra)
            .env("RUST_BACKTRACE", "1")
            // The runtime's control socket: not to /run/layer4.
            .env("LAYER4_CONTROL_DIR", std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("l4 tun2socks runs");
        let err = child.stderr.take().expect("stderr");
        *self.relay.lock().unwrap() = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        *self.lines.lock().unwrap() = Some(rx);
        self.wait_for_line("ready on t2s0");
        let c = self.client.as_str();
        ip(&["-n", c, "route", "add", "198.51.100.0/24", "dev", "t2s0"]).unwrap();
        ip(&[
            "-n",
            c,
            "-6",
            "route",
            "add",
            "2001:db8:5::/64",
            "dev",
            "t2s0",
        ])
        .unwrap();
    }

    /// Waits for a line of the relay's stderr containing `what`; the lines up
    /// to it.
    fn wait_for_line(&self, what: &str) -> String {
        let guard = self.lines.lock().unwrap();
        let rx = guard.as_ref().expect("relay started");
        let mut seen = String::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if line.contains(what) {
                        return seen;
                    }
                }
                Err(_) => panic!("l4 tun2socks did not say {what:?}; it said:\n{seen}"),
            }
        }
    }

    /// Stops the relay with SIGTERM: it must exit 0 within the bound, its last
    /// line being the counters; that line.
    fn stop(&self) -> String {
        let mut child = self.relay.lock().unwrap().take().expect("relay started");
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > WAIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("l4 tun2socks still running {WAIT:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let line = self.wait_for_line("stopped by SIGTERM");
        assert!(status.success(), "exit {status}: {line}");
        line.lines().last().unwrap_or_default().to_string()
    }

    /// Runs `f` on a thread inside namespace `ns`: sockets it makes live there.
    fn run_in<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        netns::run_in(ns, f)
    }
}

impl Lab {
    /// Kills the relay if it runs and removes the namespaces; again is harmless.
    fn clean_up(&self) {
        let relay = self.relay.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = relay {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = ip(&["netns", "del", &self.client]);
        let _ = ip(&["netns", "del", &self.server]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// Runs `body` with a fresh [`Lab`] on a thread bounded by the watchdog; skips
/// (or fails under CI=true) when that cannot be done. The lab is removed here,
/// on this thread, even if the body hangs.
fn with_lab(name: &str, body: impl FnOnce(&Lab) + Send + 'static) {
    let why = if !Path::new("/dev/net/tun").exists() {
        Some("/dev/net/tun does not exist".to_string())
    } else {
        None
    };
    let lab = match why.map_or_else(Lab::new, Err) {
        Ok(lab) => Arc::new(lab),
        Err(why) => {
            assert!(!ci(), "{name}: cannot run under CI=true: {why}");
            eprintln!("SKIP {name}: {why} (not root?)");
            return;
        }
    };
    let (tx, rx) = mpsc::channel();
    let l = lab.clone();
    let worker = std::thread::spawn(move || {
        body(&l);
        let _ = tx.send(());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The body still holds the lab: clean up from here.
            lab.clean_up();
            panic!("{name}: no result after {WATCHDOG:?}");
        }
    }
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

/// A TCP server in "server" on `addr`: each connection is read to its end
/// (the client's FIN), answered with `answer(request)` and closed; what it
/// received goes to the returned channel.
fn tcp_server(
    lab: &Lab,
    addr: SocketAddr,
    answer: fn(&[u8]) -> Vec<u8>,
) -> mpsc::Receiver<Vec<u8>> {
    let l = Lab::run_in(&lab.server, move || TcpListener::bind(addr)).expect("bind");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(WAIT)).unwrap();
                let mut req = Vec::new();
                if s.read_to_end(&mut req).is_ok() {
                    let _ = s.write_all(&answer(&req));
                }
                let _ = tx.send(req);
            });
        }
    });
    rx
}

/// The server's answer: 4 bytes of the request's length, then a pattern of
/// twice that.
fn answer_twice(req: &[u8]) -> Vec<u8> {
    let mut a = (req.len() as u32).to_be_bytes().to_vec();
    a.extend(pattern(9, req.len() * 2));
    a
}

/// From "client": connects to `to`, sends `req`, half-closes, reads to the end.
fn fetch(lab: &Lab, to: SocketAddr, req: Vec<u8>) -> std::io::Result<Vec<u8>> {
    Lab::run_in(&lab.client, move || {
        let mut s = TcpStream::connect_timeout(&to, WAIT)?;
        s.set_read_timeout(Some(WAIT))?;
        // The answer comes only after our FIN: both half-closes are passed on.
        s.write_all(&req)?;
        s.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?;
        Ok(got)
    })
}

/// From "client": the error of a connect to `to` (it must fail).
fn connect_error(lab: &Lab, to: SocketAddr) -> std::io::Error {
    Lab::run_in(&lab.client, move || {
        TcpStream::connect_timeout(&to, WAIT).map(|_| ())
    })
    .expect_err("the connect must fail")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn tcp_over_ipv4_and_ipv6_carries_data_both_ways_through_half_closes() {
    with_lab("tun2socks TCP", |lab| {
        let got4 = tcp_server(lab, sa("198.51.100.5:8080"), answer_twice);
        let got6 = tcp_server(lab, sa("[2001:db8:5::5]:8080"), answer_twice);
        lab.start(&["--direct"], &[]);
        for (to, got, seed, len) in [
            ("198.51.100.5:8080", &got4, 1u8, 300_000usize),
            ("[2001:db8:5::5]:8080", &got6, 2, 200_000),
        ] {
            let req = pattern(seed, len);
            let answer = fetch(lab, sa(to), req.clone()).unwrap_or_else(|e| panic!("{to}: {e}"));
            let received = got.recv_timeout(WAIT).expect("the server's request");
            assert!(
                received == req,
                "{to}: the server got {} bytes",
                received.len()
            );
            assert!(
                answer == answer_twice(&req),
                "{to}: the client got {} bytes",
                answer.len()
            );
        }
        // The server's FIN first: the client's data still goes through after.
        let first = Lab::run_in(&lab.server, || TcpListener::bind("198.51.100.5:8082")).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = first.accept().unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            s.write_all(&pattern(5, 50_000)).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut req = Vec::new();
            s.read_to_end(&mut req).unwrap();
            req
        });
        let (greeting, more) = Lab::run_in(&lab.client, || {
            let mut s = TcpStream::connect_timeout(&sa("198.51.100.5:8082"), WAIT)?;
            s.set_read_timeout(Some(WAIT))?;
            let mut greeting = Vec::new();
            s.read_to_end(&mut greeting)?;
            s.write_all(&pattern(6, 70_000))?;
            s.shutdown(Shutdown::Write)?;
            let mut more = Vec::new();
            s.read_to_end(&mut more)?;
            Ok((greeting, more))
        })
        .unwrap();
        assert!(greeting == pattern(5, 50_000), "{} bytes", greeting.len());
        assert!(more.is_empty());
        let req = server.join().unwrap();
        assert!(
            req == pattern(6, 70_000),
            "the server got {} bytes",
            req.len()
        );
        // Forty at once: each accepted stream reaches its own relay (by its
        // tuple), whichever order the handshakes finish in.
        let clients: Vec<_> = (0..40u8)
            .map(|i| {
                let to = match i % 2 {
                    0 => "198.51.100.5:8080",
                    _ => "[2001:db8:5::5]:8080",
                };
                let req = pattern(100 + i, 10_000 + usize::from(i) * 997);
                // The thread, started in "client", makes its socket there.
                Lab::run_in(&lab.client, move || {
                    Ok(std::thread::spawn(move || {
                        let mut s = TcpStream::connect_timeout(&sa(to), WAIT)?;
                        s.set_read_timeout(Some(WAIT))?;
                        s.write_all(&req)?;
                        s.shutdown(Shutdown::Write)?;
                        let mut got = Vec::new();
                        s.read_to_end(&mut got)?;
                        Ok::<_, std::io::Error>((req, got))
                    }))
                })
                .unwrap()
            })
            .collect();
        for c in clients {
            let (req, answer) = c.join().unwrap().unwrap();
            assert!(answer == answer_twice(&req), "{} bytes", answer.len());
        }
        let mut requests = 0;
        for got in [&got4, &got6] {
            for _ in 0..20 {
                got.recv_timeout(WAIT).expect("a server's request");
                requests += 1;
            }
        }
        assert_eq!(requests, 40);
        let counters = lab.stop();
        assert!(
            counters.contains(": 43 TCP connections relayed, 0 refused"),
            "{counters}"
        );
    });
}

#[test]
fn connects_are_refused_as_the_destination_refused_them() {
    with_lab("tun2socks refusals", |lab| {
        lab.start(&["--direct"], &[]);
        // Nothing listens on 8081 in "server": its kernel answers the relay's
        // SYN with a RST, and the client gets one from the held SYN, at once
        // (a SYN left unanswered would make this a timeout after `WAIT`).
        for to in ["198.51.100.5:8081", "[2001:db8:5::5]:8081"] {
            let e = connect_error(lab, sa(to));
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{to}: {e}");
            lab.wait_for_line(&format!("-> {to}: connection refused (RST)"));
        }
        // No route to .9 in "server": the client gets an ICMP host unreachable.
        for to in ["198.51.100.9:80", "[2001:db8:5::9]:80"] {
            let e = connect_error(lab, sa(to));
            assert_eq!(e.kind(), std::io::ErrorKind::HostUnreachable, "{to}: {e}");
            lab.wait_for_line(&format!(
                "-> {to}: network is unreachable (ICMP host unreachable)"
            ));
        }
        let counters = lab.stop();
        assert!(
            counters.contains(": 0 TCP connections relayed, 4 refused"),
            "{counters}"
        );
    });
}

/// A UDP echo in "server" on `addr`, answering in upper case; each datagram's
/// sender goes to the returned channel.
fn udp_echo(lab: &Lab, addr: SocketAddr) -> mpsc::Receiver<SocketAddr> {
    let s = Lab::run_in(&lab.server, move || UdpSocket::bind(addr)).expect("bind");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n].to_ascii_uppercase(), from);
            if tx.send(from).is_err() {
                break;
            }
        }
    });
    rx
}

/// From "client": a socket bound to an ephemeral port of `to`'s family.
fn client_udp(lab: &Lab, to: SocketAddr) -> UdpSocket {
    let any = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let s = Lab::run_in(&lab.client, move || UdpSocket::bind(any)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Sends `msg` to `to` and checks the echo comes back from `to`; the sender
/// the server saw.
fn echo(
    s: &UdpSocket,
    to: SocketAddr,
    msg: &[u8],
    seen: &mpsc::Receiver<SocketAddr>,
) -> SocketAddr {
    s.send_to(msg, to).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = s
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("{to}: {e}"));
    assert_eq!(from, to, "the answer comes from the destination");
    assert_eq!(&buf[..n], msg.to_ascii_uppercase().as_slice());
    seen.recv_timeout(WAIT).unwrap()
}

#[test]
fn udp_answers_come_back_from_the_destination_and_flows_are_bounded() {
    with_lab("tun2socks UDP", |lab| {
        let seen4 = udp_echo(lab, sa("198.51.100.5:7000"));
        let seen6 = udp_echo(lab, sa("[2001:db8:5::5]:7000"));
        lab.start(
            &["--direct"],
            &["--udp-timeout", "3", "--max-udp-flows", "2"],
        );
        let (to4, to6) = (sa("198.51.100.5:7000"), sa("[2001:db8:5::5]:7000"));
        let a = client_udp(lab, to4);
        // One flow: both datagrams leave from the same upstream socket.
        let first = echo(&a, to4, b"hello over udp", &seen4);
        assert_eq!(echo(&a, to4, b"once more", &seen4), first);
        let b = client_udp(lab, to6);
        echo(&b, to6, b"hello over udp6", &seen6);
        // A third flow with two allowed: the least recently used (a's) goes.
        let c = client_udp(lab, to4);
        echo(&c, to4, b"third", &seen4);
        // Past the idle timeout every flow has ended: a's next datagram opens
        // a fourth.
        std::thread::sleep(Duration::from_secs(5));
        echo(&a, to4, b"after idling", &seen4);
        let counters = lab.stop();
        assert!(
            counters.contains("; 4 UDP flows (1 evicted), 0 datagrams dropped"),
            "{counters}"
        );
    });
}

/// A minimal SOCKS5 server (RFC 1928, CONNECT, no authentication) in "server"
/// on `addr`; the targets it was asked for go to the returned channel.
fn socks5_server(lab: &Lab, addr: SocketAddr) -> mpsc::Receiver<SocketAddr> {
    fn serve(mut c: TcpStream) -> std::io::Result<SocketAddr> {
        c.set_read_timeout(Some(WAIT))?;
        let mut head = [0u8; 2];
        c.read_exact(&mut head)?;
        let mut methods = vec![0u8; usize::from(head[1])];
        c.read_exact(&mut methods)?;
        assert_eq!((head[0], methods.contains(&0)), (5, true));
        c.write_all(&[5, 0])?;
        let mut req = [0u8; 4];
        c.read_exact(&mut req)?;
        assert_eq!(&req[..3], &[5, 1, 0], "a CONNECT");
        let ip: std::net::IpAddr = match req[3] {
            1 => {
                let mut a = [0u8; 4];
                c.read_exact(&mut a)?;
                a.into()
            }
            4 => {
                let mut a = [0u8; 16];
                c.read_exact(&mut a)?;
                a.into()
            }
            t => panic!("address type {t}"),
        };
        let mut port = [0u8; 2];
        c.read_exact(&mut port)?;
        let target = SocketAddr::new(ip, u16::from_be_bytes(port));
        let up = match TcpStream::connect_timeout(&target, WAIT) {
            Ok(up) => up,
            Err(e) => {
                let rep = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    5
                } else {
                    4
                };
                c.write_all(&[5, rep, 0, 1, 0, 0, 0, 0, 0, 0])?;
                return Ok(target);
            }
        };
        c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
        c.set_read_timeout(None)?;
        let (mut c2, mut up2) = (c.try_clone()?, up.try_clone()?);
        let (mut c, mut up) = (c, up);
        let there = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut up2);
            let _ = up2.shutdown(Shutdown::Write);
        });
        let _ = std::io::copy(&mut up, &mut c);
        let _ = c.shutdown(Shutdown::Write);
        let _ = there.join();
        Ok(target)
    }
    let l = Lab::run_in(&lab.server, move || TcpListener::bind(addr)).expect("bind");
    let (tx, rx) = mpsc::channel();
    let server = lab.server.clone();
    std::thread::spawn(move || {
        // Its connections to the targets are made in "server" too (by the
        // threads this one starts), not in the test's own namespace.
        netns::enter(&server).expect("setns");
        for c in l.incoming() {
            let Ok(c) = c else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                if let Ok(target) = serve(c) {
                    let _ = tx.send(target);
                }
            });
        }
    });
    rx
}

#[test]
fn socks5_carries_a_connection_and_passes_on_a_refusal() {
    with_lab("tun2socks --socks5", |lab| {
        let got = tcp_server(lab, sa("198.51.100.5:8080"), answer_twice);
        let asked = socks5_server(lab, sa("198.51.100.5:1080"));
        lab.start(&["--socks5", "198.51.100.5:1080"], &[]);
        let req = pattern(3, 100_000);
        let answer = fetch(lab, sa("198.51.100.5:8080"), req.clone()).unwrap();
        assert_eq!(asked.recv_timeout(WAIT).unwrap(), sa("198.51.100.5:8080"));
        assert!(
            got.recv_timeout(WAIT).unwrap() == req,
            "the server's request"
        );
        assert!(answer == answer_twice(&req), "{} bytes", answer.len());
        // Over IPv6 to a closed port: the proxy's reply 5 becomes a RST.
        let e = connect_error(lab, sa("[2001:db8:5::5]:8081"));
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
        assert_eq!(
            asked.recv_timeout(WAIT).unwrap(),
            sa("[2001:db8:5::5]:8081")
        );
        lab.wait_for_line("-> [2001:db8:5::5]:8081: SOCKS5 reply 5: connection refused (RST)");
        let counters = lab.stop();
        assert!(
            counters.contains(": 1 TCP connections relayed, 1 refused; 0 UDP flows"),
            "{counters}"
        );
    });
}

#[test]
fn tun2socks_rejects_bad_arguments_before_touching_the_network() {
    let base = ["tun2socks", "--tun", "l4nobody0", "--addr", "10.213.0.2/30"];
    for (args, says) in [
        (&["--direct", "--udp-timeout", "0"][..], "--udp-timeout 0"),
        (
            &["--socks5", "proxy"][..],
            "--socks5 \"proxy\": not HOST:PORT",
        ),
        (
            &["--direct", "--addr", "10.1.0.2/30"][..],
            "one address of each family",
        ),
        (
            &["--direct", "--upstream-netns", "l4-no-such-netns"][..],
            "no such network namespace",
        ),
        (
            &["--direct", "--addr", "fd00::2/129"][..],
            "--addr fd00::2/129",
        ),
    ] {
        let out = l4()
            .args(base)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("l4: error: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
    // clap's own checks: one way out, exactly.
    for args in [&[][..], &["--direct", "--socks5", "h:1"]] {
        let out = l4()
            .args(base)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
