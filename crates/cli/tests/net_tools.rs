//! `l4 nc`, `l4 ss` and `l4 stat` end to end.
//!
//! The `nc` tests run the binary in a private network namespace (the test thread
//! unshares one; the processes it starts inherit it), against the Linux kernel
//! through `socat` or std sockets: the kernel is 10.213.0.1, layer4 10.213.0.2.
//! They need root and /dev/net/tun (and socat); without them they print why and
//! pass, except where `CI=true`, where they fail. `ss`/`stat` run anywhere: two
//! in-process runtimes joined by a `DatagramDevice` pair, one answering on a
//! control socket in a temporary directory. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::{netns, ControlSocket, DatagramDevice, Runtime, RuntimeOptions};

mod common;
use common::{ci, l4, pattern, text};

const WATCHDOG: Duration = Duration::from_secs(60);

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `body` on a thread in a fresh network namespace, bounded by the watchdog;
/// skips (or fails under CI=true) when that cannot be done.
fn in_netns(name: &str, needs_socat: bool, body: impl FnOnce(&Path) + Send + 'static) {
    let why = if !Path::new("/dev/net/tun").exists() {
        Some("/dev/net/tun does not exist".to_string())
    } else if needs_socat && !have("socat") {
        Some("socat is not installed".to_string())
    } else {
        None
    };
    if let Some(why) = why {
        assert!(!ci(), "{name}: cannot run under CI=true: {why}");
        eprintln!("SKIP {name}: {why}");
        return;
    }
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let r = netns::unshare_thread().map_err(|e| format!("{e} (not root?)"));
        if r.is_ok() {
            // The runtimes' control sockets go here, not to /run/layer4.
            let dir = tempfile::tempdir().expect("tempdir");
            body(dir.path());
        }
        let _ = tx.send(());
        r
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: no result after {WATCHDOG:?}"),
    }
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(why)) if ci() => panic!("{name}: cannot run under CI=true: {why}"),
        Ok(Err(why)) => eprintln!("SKIP {name}: {why}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Starts `l4 nc` with `args`, feeding `input` to its stdin (then closing it).
fn spawn_nc(dir: &Path, args: &[&str], input: Vec<u8>) -> Child {
    let mut child = l4()
        .arg("nc")
        .args(args)
        .env("LAYER4_CONTROL_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("l4 nc runs");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    child
}

/// Reads the child's stderr until a line contains `what`; the lines read.
fn wait_for_line(child: &mut Child, what: &str) -> String {
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("l4 nc ended before saying {what:?}: {seen}");
        }
        seen.push_str(&line);
        if line.contains(what) {
            // Keep draining so the child never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            return seen;
        }
    }
}

/// Waits for the child with a deadline, reading its output meanwhile (so it never
/// blocks on a full pipe); kills it past the deadline.
fn finish(mut child: Child, within: Duration) -> Output {
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (out.join().unwrap(), err.join().unwrap());
            panic!(
                "still running after {within:?}; stdout {} bytes, stderr {}",
                o.len(),
                text(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

#[test]
fn nc_listener_and_socat_exchange_data_both_ways_and_half_close() {
    in_netns("l4 nc -l <-> socat", true, |dir| {
        let to_socat = pattern(1, 300_000);
        let to_nc = pattern(2, 200_000);
        let mut nc = spawn_nc(
            dir,
            &["-v", "-l", "--tun", "l4t0", "5000"],
            to_socat.clone(),
        );
        wait_for_line(&mut nc, "listening on");
        let mut socat = Command::new("socat")
            .args(["-t", "30", "-", "TCP:10.213.0.2:5000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socat runs");
        let mut stdin = socat.stdin.take().unwrap();
        let input = to_nc.clone();
        std::thread::spawn(move || stdin.write_all(&input));
        let s = finish(socat, Duration::from_secs(30));
        let n = finish(nc, Duration::from_secs(30));
        assert!(s.status.success(), "socat: {}", text(&s.stderr));
        assert!(n.status.success(), "l4 nc: {}", text(&n.stderr));
        assert!(
            s.stdout == to_socat,
            "socat got {} bytes, not l4's",
            s.stdout.len()
        );
        assert!(
            n.stdout == to_nc,
            "l4 nc got {} bytes, not socat's",
            n.stdout.len()
        );
    });
}

#[test]
fn nc_client_talks_to_a_kernel_listener_and_keeps_reading_after_its_fin() {
    in_netns("l4 nc -> kernel", false, |dir| {
        // Bound to every address: the TUN's comes with `l4 nc`.
        let l = std::net::TcpListener::bind("0.0.0.0:6000").unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, peer) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut req = Vec::new();
            s.read_to_end(&mut req).unwrap();
            // Only after l4's FIN: the answer, then our FIN.
            s.write_all(&pattern(4, 100_000)).unwrap();
            (req, peer)
        });
        let nc = spawn_nc(
            dir,
            &["--tun", "l4t0", "10.213.0.1", "6000"],
            pattern(3, 50_000),
        );
        let out = finish(nc, Duration::from_secs(30));
        let (req, peer) = server.join().unwrap();
        assert!(out.status.success(), "l4 nc: {}", text(&out.stderr));
        assert_eq!(peer.ip().to_string(), "10.213.0.2");
        assert!(
            req == pattern(3, 50_000),
            "the kernel got {} bytes",
            req.len()
        );
        assert!(
            out.stdout == pattern(4, 100_000),
            "l4 nc got {} bytes",
            out.stdout.len()
        );
    });
}

#[test]
fn nc_to_a_closed_port_exits_non_zero_saying_connection_refused() {
    in_netns("l4 nc refused", false, |dir| {
        let nc = spawn_nc(dir, &["--tun", "l4t0", "10.213.0.1", "5999"], Vec::new());
        let out = finish(nc, Duration::from_secs(30));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim(), "l4: nc: 10.213.0.1:5999: connection refused");
    });
}

#[test]
fn nc_exits_non_zero_saying_connection_reset_when_the_peer_resets() {
    in_netns("l4 nc reset", false, |dir| {
        let l = std::net::TcpListener::bind("0.0.0.0:6001").unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            std::thread::sleep(Duration::from_millis(300));
            // Closing with unread data makes Linux send a RST.
            drop(s);
        });
        let nc = spawn_nc(
            dir,
            &["--tun", "l4t0", "10.213.0.1", "6001"],
            vec![b'x'; 1000],
        );
        let out = finish(nc, Duration::from_secs(30));
        server.join().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(
            err.trim(),
            "l4: nc: 10.213.0.1:6001: connection reset by peer"
        );
    });
}

#[test]
fn nc_connect_to_a_silent_address_times_out_after_w() {
    in_netns("l4 nc -w", false, |dir| {
        // 10.213.0.5 is on the link (a /29) but nobody has it: the kernel, not
        // forwarding, drops the SYNs silently.
        let start = Instant::now();
        let nc = spawn_nc(
            dir,
            &[
                "-w",
                "1",
                "--tun",
                "l4t0",
                "--addr",
                "10.213.0.2/29",
                "10.213.0.5",
                "80",
            ],
            Vec::new(),
        );
        let out = finish(nc, Duration::from_secs(30));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim(), "l4: nc: 10.213.0.5:80: connection timed out");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    });
}

#[test]
fn nc_udp_sends_datagrams_and_prints_the_replies() {
    in_netns("l4 nc -u", false, |dir| {
        let k = std::net::UdpSocket::bind("0.0.0.0:7000").unwrap();
        k.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (n, from) = k.recv_from(&mut buf).unwrap();
            k.send_to(&buf[..n].to_ascii_uppercase(), from).unwrap();
            from
        });
        let nc = spawn_nc(
            dir,
            &["-u", "-w", "2", "--tun", "l4t0", "10.213.0.1", "7000"],
            b"hello over udp\n".to_vec(),
        );
        let out = finish(nc, Duration::from_secs(30));
        let from = echo.join().unwrap();
        assert!(out.status.success(), "l4 nc: {}", text(&out.stderr));
        assert_eq!(from.ip().to_string(), "10.213.0.2");
        assert_eq!(text(&out.stdout), "HELLO OVER UDP\n");
    });
}

#[test]
fn nc_over_ipv6_listener_and_socat_exchange_data_both_ways() {
    in_netns("l4 nc -l <-> socat over IPv6", true, |dir| {
        let to_socat = pattern(5, 300_000);
        let to_nc = pattern(6, 200_000);
        let mut nc = spawn_nc(
            dir,
            &[
                "-v",
                "-l",
                "--tun",
                "l4t0",
                "--addr",
                "fd00:213::2/64",
                "5000",
            ],
            to_socat.clone(),
        );
        wait_for_line(&mut nc, "listening on [fd00:213::2]:5000");
        let mut socat = Command::new("socat")
            .args(["-t", "30", "-", "TCP6:[fd00:213::2]:5000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socat runs");
        let mut stdin = socat.stdin.take().unwrap();
        let input = to_nc.clone();
        std::thread::spawn(move || stdin.write_all(&input));
        let s = finish(socat, Duration::from_secs(30));
        let n = finish(nc, Duration::from_secs(30));
        assert!(s.status.success(), "socat: {}", text(&s.stderr));
        assert!(n.status.success(), "l4 nc: {}", text(&n.stderr));
        assert!(s.stdout == to_socat, "socat got {} bytes", s.stdout.len());
        assert!(n.stdout == to_nc, "l4 nc got {} bytes", n.stdout.len());
    });
}

#[test]
fn nc_dual_stack_udp_reaches_a_bracketed_ipv6_host() {
    in_netns("l4 nc -u over IPv6", false, |dir| {
        let k = std::net::UdpSocket::bind("[::]:7000").unwrap();
        k.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (n, from) = k.recv_from(&mut buf).unwrap();
            k.send_to(&buf[..n].to_ascii_uppercase(), from).unwrap();
            from
        });
        let nc = spawn_nc(
            dir,
            &[
                "-u",
                "-w",
                "2",
                "--tun",
                "l4t0",
                "--addr",
                "10.213.0.2/30",
                "--addr",
                "fd00:213::2/64",
                "[fd00:213::1]",
                "7000",
            ],
            b"hello over udp6\n".to_vec(),
        );
        let out = finish(nc, Duration::from_secs(30));
        assert!(out.status.success(), "l4 nc: {}", text(&out.stderr));
        let from = echo.join().unwrap();
        assert_eq!(from.ip().to_string(), "fd00:213::2");
        assert_eq!(text(&out.stdout), "HELLO OVER UDP6\n");
    });
}

#[test]
fn nc_rejects_bad_arguments_before_touching_the_network() {
    for (args, says) in [
        (&["--cc", "bogus", "10.213.0.1", "80"][..], "--cc bogus"),
        (
            &["--addr", "10.213.0.2", "10.213.0.1", "80"][..],
            "--addr 10.213.0.2: missing '/prefix-length' after the address",
        ),
        (
            &["--addr", "10.213.0.2/33", "10.213.0.1", "80"][..],
            "--addr 10.213.0.2/33: prefix length 33 is longer than 32",
        ),
        (&["10.213.0.1", "http"][..], "port \"http\""),
        (&["-w", "0", "10.213.0.1", "80"][..], "-w 0"),
        (&["10.213.0.1"][..], "HOST PORT"),
        (&["[fd00::1]", "80"][..], "no IPv4 address"),
        (
            &[
                "--addr",
                "fd00::2/64",
                "--addr",
                "fd01::2/64",
                "fd00::1",
                "80",
            ][..],
            "one address of each family",
        ),
        (
            &[
                "--addr",
                "fd00::2/64",
                "--gateway",
                "10.0.0.1",
                "fd00::1",
                "80",
            ][..],
            "10.0.0.1: no --addr of its family",
        ),
    ] {
        let out = l4()
            .arg("nc")
            .args(["--tun", "l4nobody0"])
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
}

fn runtime(addr: &str, device: DatagramDevice, control: ControlSocket) -> Runtime {
    let cidr: IpCidr = addr.parse().unwrap();
    let stack = Stack::new(Config::with_address(cidr).seed(3)).unwrap();
    Runtime::with_options(stack, device, RuntimeOptions::default().control(control)).unwrap()
}

#[test]
fn ss_and_stat_show_the_connections_and_counters_of_a_running_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (da, db) = DatagramDevice::pair().unwrap();
    let a = runtime(
        "10.9.0.1/24",
        da,
        ControlSocket::At(dir.path().join("a.sock")),
    );
    let b = runtime("10.9.0.2/24", db, ControlSocket::Off);
    // A dead process's socket file: skipped with a note.
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("999999-0.sock")).unwrap());

    let l = b.tcp_bind("10.9.0.2:80").unwrap();
    let c = a.tcp_connect("10.9.0.2:80").unwrap();
    let (mut s, _) = l.accept().unwrap();
    (&c).write_all(&[1u8; 5000]).unwrap();
    let mut buf = [0u8; 5000];
    s.read_exact(&mut buf).unwrap();
    let listener = a.tcp_bind("10.9.0.1:443").unwrap();
    let local = c.local_addr().unwrap().to_string();

    let ss = |args: &[&str]| {
        let out = l4()
            .arg("ss")
            .args(args)
            .args(["--dir", d])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (table, err) = ss(&["-tn"]);
    assert!(
        err.contains("999999-0.sock") && err.contains("stale"),
        "{err}"
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Netid State"), "{table}");
    assert!(lines[0].contains("Local Address:Port") && lines[0].ends_with("Process"));
    assert_eq!(lines.len(), 2, "only the connection without -a/-l: {table}");
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&cols[..2], ["tcp", "ESTAB"], "{table}");
    assert_eq!(&cols[4..6], [local.as_str(), "10.9.0.2:80"], "{table}");
    assert!(
        cols[6].contains(&format!("pid={}", std::process::id())),
        "{table}"
    );

    let (table, _) = ss(&["-l"]);
    assert!(
        table.contains("LISTEN") && table.contains("10.9.0.1:443"),
        "{table}"
    );
    assert!(!table.contains("ESTAB"), "{table}");

    // -i: the tcp_info line; wait until the 5000 bytes are acknowledged.
    let start = Instant::now();
    let info = loop {
        let (table, _) = ss(&["-ti"]);
        if table.contains("bytes_acked:5000") || start.elapsed() > Duration::from_secs(5) {
            break table;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for field in [
        "rto:",
        "rtt:",
        "mss:",
        "cwnd:",
        "bytes_sent:5000",
        "bytes_acked:5000",
        "segs_out:",
        "retrans:0/0",
    ] {
        assert!(info.contains(field), "no {field} in {info}");
    }

    let (json, _) = ss(&["-a", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let socks = v[0]["sockets"].as_array().unwrap();
    assert_eq!(socks.len(), 2, "{json}");
    assert!(
        socks.iter().any(|s| s["tcp_info"]["bytes_acked"] == 5000),
        "{json}"
    );

    let out = l4().args(["stat", "--dir", d]).output().unwrap();
    let stat = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stat.contains("Tcp:\n"), "{stat}");
    assert!(
        stat.contains("    1 active connection openings\n"),
        "{stat}"
    );
    assert!(
        stat.contains("    0 passive connection openings\n"),
        "{stat}"
    );
    let out = l4().args(["stat", "--json", "--dir", d]).output().unwrap();
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(v[0]["counters"]["TcpActiveOpens"], 1);
    assert!(v[0]["counters"]["TcpOutSegs"].as_u64().unwrap() >= 3);
    drop((c, s, l, listener, b));
}
