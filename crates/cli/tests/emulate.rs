//! `l4 emulate` end to end: two fresh network namespaces (`ip netns add`, removed
//! when the test ends), the emulator between them with 25 ms of delay and 1 % loss
//! in *each* direction (so 50 ms of round-trip time, and a ping is lost with
//! probability 1 - 0.99² ≈ 2 %), and Linux's own ping and TCP across it, and layer4
//! (`l4 nc`) against Linux's TCP.
//!
//! They need root, /dev/net/tun, `ip`, `ping` and `socat`; without them they print
//! why and pass, except where `CI=true`, where they fail. Every wait is bounded.
//! The argument tests run anywhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::{ci, l4, text};

/// One-way delay of each direction, and the round trip it makes.
const DELAY_MS: f64 = 25.0;
const RTT_MS: f64 = 2.0 * DELAY_MS;
/// Loss per direction.
const LOSS: f64 = 0.01;

fn runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Why these tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun does not exist".into());
    }
    for (cmd, arg) in [("ip", "-V"), ("ping", "-V"), ("socat", "-V")] {
        if !runs(cmd, arg) {
            return Some(format!("{cmd} is not installed"));
        }
    }
    None
}

/// Two network namespaces made for one test, deleted on drop.
struct Namespaces {
    left: String,
    right: String,
}

impl Namespaces {
    /// Fresh namespaces, or `None` when they cannot be made here (the test then
    /// skips; under CI=true it fails).
    fn new(test: &str) -> Option<Namespaces> {
        match missing().map_or_else(Namespaces::add, Err) {
            Ok(ns) => Some(ns),
            Err(why) => {
                assert!(!ci(), "{test}: cannot run under CI=true: {why}");
                eprintln!("SKIP {test}: {why}");
                None
            }
        }
    }

    fn add() -> Result<Namespaces, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("l4emu{}-{n}", std::process::id());
        // Dropped (deleting what was made) if the second cannot be made.
        let ns = Namespaces {
            left: format!("{base}a"),
            right: format!("{base}b"),
        };
        for name in [&ns.left, &ns.right] {
            match Command::new("ip").args(["netns", "add", name]).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    return Err(format!(
                        "ip netns add: {} (not root?)",
                        text(&o.stderr).trim()
                    ))
                }
                Err(e) => return Err(format!("ip netns add: {e}")),
            }
        }
        Ok(ns)
    }

    /// `ip netns exec NS cmd args...`.
    fn exec(ns: &str, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, cmd]);
        c
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in [&self.left, &self.right] {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// A running `l4 emulate`; stopped with SIGTERM by [`Emulator::stop`] (or killed on
/// drop if a test fails first).
struct Emulator {
    child: Option<Child>,
    stats: PathBuf,
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts the emulator between `ns` with `options` and waits until it is ready.
    fn start(ns: &Namespaces, options: &[&str]) -> Emulator {
        let dir = tempfile::tempdir().expect("tempdir");
        let stats = dir.path().join("stats.json");
        let mut child = l4()
            .args([
                "emulate", "--left", &ns.left, "--right", &ns.right, "--seed", "1",
            ])
            .args(options)
            .arg("--stats-json")
            .arg(&stats)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("l4 emulate runs");
        let mut err = BufReader::new(child.stderr.take().expect("stderr"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = String::new();
            loop {
                let mut line = String::new();
                if err.read_line(&mut line).unwrap_or(0) == 0 {
                    let _ = tx.send(Err(seen));
                    return;
                }
                seen.push_str(&line);
                if line.contains("ready") {
                    let _ = tx.send(Ok(()));
                    let _ = std::io::copy(&mut err, &mut std::io::sink());
                    return;
                }
            }
        });
        let emulator = Emulator {
            child: Some(child),
            stats,
            _dir: dir,
        };
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => emulator,
            Ok(Err(said)) => panic!("l4 emulate ended before it was ready: {said}"),
            Err(_) => panic!("l4 emulate not ready after 10 s"),
        }
    }

    /// Sends SIGTERM; returns the summary it printed and its counters.
    fn stop(mut self) -> (String, serde_json::Value) {
        let child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let out = finish(child, Duration::from_secs(10));
        assert!(out.status.success(), "l4 emulate exit: {:?}", out.status);
        let json = std::fs::read_to_string(&self.stats).expect("--stats-json written");
        (
            text(&out.stdout),
            serde_json::from_str(&json).expect("--stats-json is JSON"),
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for the child with a deadline, reading its output meanwhile; kills it past
/// the deadline.
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
            panic!(
                "still running after {within:?}: {}",
                text(&err.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// `len` bytes of a pattern that differs per `seed`.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

fn sha256(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    let mut stdin = c.stdin.take().expect("stdin");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = c.wait_with_output().expect("sha256sum output");
    let _ = writer.join();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The largest number of losses out of `n` trials at probability `p` that is still
/// plausible: mean + 5 standard deviations + 1 (a binomial bound, not an exact
/// count; the seed is fixed, but the packets the kernels send are not).
fn most_plausible_losses(n: u64, p: f64) -> u64 {
    let n = n as f64;
    (n * p + 5.0 * (n * p * (1.0 - p)).sqrt() + 1.0).ceil() as u64
}

fn drops_loss(stats: &serde_json::Value, direction: &str) -> (u64, u64) {
    let d = &stats[direction];
    (
        d["drops"]["loss"].as_u64().expect("drops.loss"),
        d["packets_in"].as_u64().expect("packets_in"),
    )
}

/// Waits (bounded) until a TCP socket listens on `port` in the right namespace.
fn wait_until_listening(ns: &Namespaces, port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let out = Namespaces::exec(&ns.right, "ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .expect("ss runs");
        if !text(&out.stdout).trim().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port} after 10 s");
}

/// Sends `data` from the left namespace to a socat listening in the right one on
/// `port` with `sender`, and returns what the listener received.
fn transfer(ns: &Namespaces, port: u16, sender: Command, data: Vec<u8>) -> Output {
    let listener = Namespaces::exec(&ns.right, "socat")
        .args(["-u", &format!("TCP-LISTEN:{port},reuseaddr"), "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("socat listens");
    // Read what it receives meanwhile, or the pipe fills and stalls the transfer.
    let listener = std::thread::spawn(move || finish(listener, Duration::from_secs(60)));
    wait_until_listening(ns, port);
    let mut sender = sender;
    let mut sender = sender
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sender runs");
    let mut stdin = sender.stdin.take().expect("stdin");
    std::thread::spawn(move || stdin.write_all(&data));
    let s = finish(sender, Duration::from_secs(40));
    assert!(s.status.success(), "sender: {}", text(&s.stderr));
    let l = listener.join().expect("listener");
    assert!(l.status.success(), "socat listener: {}", text(&l.stderr));
    l
}

#[test]
fn ping_across_the_emulator_sees_the_configured_rtt_and_loss() {
    let test = "l4 emulate: ping";
    let Some(ns) = Namespaces::new(test) else {
        return;
    };
    let emulator = Emulator::start(&ns, &["--delay", "25ms", "--loss", "1%"]);
    let count = 400u64;
    let out = Namespaces::exec(&ns.left, "ping")
        .args([
            "-q",
            "-n",
            "-i",
            "0.01",
            "-W",
            "1",
            "-c",
            &count.to_string(),
            "10.77.0.2",
        ])
        .output()
        .expect("ping runs");
    let (summary, stats) = emulator.stop();
    let said = text(&out.stdout);
    // "400 packets transmitted, 392 received, 2% packet loss, time 4123ms"
    let counts: Vec<u64> = said
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary: {said}"))
        .split(',')
        .take(2)
        .filter_map(|part| part.split_whitespace().next()?.parse().ok())
        .collect();
    let (sent, received) = match counts[..] {
        [s, r] => (s, r),
        _ => panic!("ping summary unreadable: {said}"),
    };
    // "rtt min/avg/max/mdev = 50.140/51.009/57.179/1.406 ms"
    let rtt: Vec<f64> = said
        .lines()
        .find(|l| l.starts_with("rtt") || l.starts_with("round-trip"))
        .and_then(|l| l.split('=').nth(1))
        .map(|v| {
            v.trim()
                .trim_end_matches("ms")
                .split('/')
                .filter_map(|x| x.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| panic!("no rtt line: {said}"));
    let (min, avg) = (rtt[0], rtt[1]);
    eprintln!("{said}{summary}");

    assert_eq!(sent, count);
    // Nothing crosses faster than the delay; on average, within 10 % + 2 ms of it
    // (the kernels, the scheduler and the emulator's wake-ups add a little).
    assert!(
        min >= RTT_MS - 0.5,
        "min rtt {min} ms below the {RTT_MS} ms set"
    );
    let tolerance = RTT_MS * 0.1 + 2.0;
    assert!(
        (avg - RTT_MS).abs() <= tolerance,
        "avg rtt {avg} ms is not within {tolerance} ms of {RTT_MS} ms"
    );
    // A ping is lost if its request or its reply is: 1 - (1 - p)^2.
    let lost = sent - received;
    let round_trip_loss = 1.0 - (1.0 - LOSS) * (1.0 - LOSS);
    assert!(
        lost >= 1 && lost <= most_plausible_losses(sent, round_trip_loss),
        "{lost} of {sent} pings lost; expected about {:.1}",
        sent as f64 * round_trip_loss
    );
    // The emulator's own count, per direction, agrees with 1 %, and with ping.
    let mut link_losses = 0;
    for direction in ["to_right", "to_left"] {
        let (loss, packets) = drops_loss(&stats, direction);
        assert!(packets >= received, "{direction}: {packets} packets in");
        assert!(
            loss <= most_plausible_losses(packets, LOSS),
            "{direction}: {loss} of {packets} lost"
        );
        link_losses += loss;
    }
    assert!(
        lost <= link_losses,
        "ping lost {lost}, the links dropped only {link_losses}"
    );
}

#[test]
fn linux_tcp_across_a_lossy_emulated_link_arrives_intact() {
    let test = "l4 emulate: Linux TCP";
    let Some(ns) = Namespaces::new(test) else {
        return;
    };
    let emulator = Emulator::start(&ns, &["--delay", "25ms", "--loss", "1%"]);
    let data = pattern(7, 4_000_000);
    let mut sender = Namespaces::exec(&ns.left, "socat");
    sender.args(["-u", "-", "TCP:10.77.0.2:5001"]);
    let started = Instant::now();
    let got = transfer(&ns, 5001, sender, data.clone());
    let took = started.elapsed();
    let (summary, stats) = emulator.stop();
    eprintln!("4 MB in {took:?}\n{summary}");
    assert_eq!(got.stdout.len(), data.len(), "bytes received");
    assert_eq!(sha256(&got.stdout), sha256(&data), "SHA-256");
    assert!(got.stdout == data);
    // The data crossed real loss: the kernel's TCP had to repair it.
    let (loss, packets) = drops_loss(&stats, "to_right");
    assert!(packets > 2_500, "{packets} data packets");
    assert!(
        loss > 0 && loss <= most_plausible_losses(packets, LOSS),
        "{loss} of {packets} lost"
    );
}

#[test]
fn layer4_nc_to_linux_across_a_lossy_emulated_link_arrives_intact() {
    let test = "l4 emulate: l4 nc -> Linux";
    let Some(ns) = Namespaces::new(test) else {
        return;
    };
    let emulator = Emulator::start(&ns, &["--delay", "25ms", "--loss", "1%"]);
    // layer4 sits behind the left kernel (its own TUN, 10.213.0.2), which forwards
    // into the emulated link; the right kernel routes the answers back into it.
    let setup = [
        Namespaces::exec(&ns.left, "sysctl")
            .args(["-qw", "net.ipv4.ip_forward=1"])
            .status(),
        Command::new("ip")
            .args([
                "-n",
                &ns.right,
                "route",
                "add",
                "10.213.0.0/30",
                "dev",
                "l4emu0",
            ])
            .status(),
    ];
    for s in setup {
        assert!(s.is_ok_and(|s| s.success()), "namespace setup");
    }
    let data = pattern(9, 1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sender = Namespaces::exec(&ns.left, env!("CARGO_BIN_EXE_l4"));
    sender
        .args(["nc", "-w", "20", "10.77.0.2", "5002"])
        .env("LAYER4_CONTROL_DIR", dir.path());
    let started = Instant::now();
    let got = transfer(&ns, 5002, sender, data.clone());
    let took = started.elapsed();
    let (summary, stats) = emulator.stop();
    eprintln!("1 MB in {took:?}\n{summary}");
    assert_eq!(got.stdout.len(), data.len(), "bytes received");
    assert_eq!(sha256(&got.stdout), sha256(&data), "SHA-256");
    assert!(got.stdout == data);
    let (_, packets) = drops_loss(&stats, "to_right");
    assert!(packets > 600, "{packets} data packets");
}

#[test]
fn emulate_refuses_bad_options_with_exit_status_2() {
    for (args, needle) in [
        (
            &["--left", "a", "--right", "b", "--loss", "150%"][..],
            "--loss",
        ),
        (&["--left", "a", "--right", "a"][..], "same namespace"),
        (
            &["--left", "a", "--right", "b", "--left-addr", "10.1.2.3"][..],
            "--left-addr",
        ),
        (
            &["--left", "a", "--right", "b", "--to-right", "--delay soon"][..],
            "to-right",
        ),
        (
            &["--left", "a", "--right", "b", "--duration", "0"][..],
            "--duration",
        ),
    ] {
        let out = l4().arg("emulate").args(args).output().expect("l4 runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn emulate_into_a_missing_namespace_fails_with_exit_status_1() {
    let out = l4()
        .args([
            "emulate",
            "--left",
            "/nonexistent/l4-left",
            "--right",
            "/nonexistent/l4-right",
        ])
        .output()
        .expect("l4 runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("/nonexistent/l4-left"),
        "{}",
        text(&out.stderr)
    );
}
