//! A capture of layer4 talking to the Linux kernel, checked by Wireshark's
//! dissectors: `tcpdump` records the TUN (inside the test's private namespace,
//! see `common`) while the two stacks exchange a few MiB each way over two
//! connections (handshakes, data, FIN closes), refuse a connection each (RST) and
//! swap a UDP datagram; then `tshark`, with checksum validation on, must find no
//! bad IP/TCP/UDP/ICMP checksum, no malformed packet and no expert error.
//!
//! Both directions are asserted: the TUN is made without offloads, so the kernel
//! computes its checksums in full before tcpdump sees them (the test reads
//! `ethtool -k` and, if `tx-checksumming` were on, would assert only on what
//! layer4 sent, saying so). So that the check cannot pass vacuously on some tshark
//! version, the test also requires that tshark marked many packets of each side
//! "Good", and that it flags a hand-made packet with a wrong TCP checksum.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{have_tools, in_netns, Pattern, Proc, KERNEL, L4};

const SIZE: usize = 3 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const TUN: &str = "l4test0";

/// tshark's checksum status values (`proto_checksum_enum_e` in Wireshark's
/// proto.h: 0 Bad, 1 Good, 2 Unverified, ...). Numbers rather than the labels
/// `"Bad"`/`"Good"`, which older display-filter engines do not compare.
const BAD: u8 = 0;
const GOOD: u8 = 1;

/// Sends `Pattern(send)` then half-closes on a thread while reading to the end;
/// checks what came is `Pattern(recv)`.
fn both_ways<S>(s: S, w: S, send: u64, recv: u64, shut: fn(&S), who: &str)
where
    S: Send + 'static,
    for<'a> &'a S: Read + Write,
{
    let writer = std::thread::spawn(move || {
        (&w).write_all(&Pattern::bytes(send, SIZE)).expect("send");
        shut(&w);
    });
    let mut got = Vec::new();
    (&s).read_to_end(&mut got)
        .unwrap_or_else(|e| panic!("{who}: {e}"));
    writer.join().expect("writer");
    assert!(
        got == Pattern::bytes(recv, SIZE),
        "{who}: received data differs"
    );
}

/// The traffic captured: both stacks as client and server, refusals, UDP.
fn traffic(net: &common::Net) {
    // Kernel client, layer4 server.
    let l = net.rt.tcp_bind((L4, 5100)).unwrap();
    let client = std::thread::spawn(|| {
        let k = std::net::TcpStream::connect_timeout(&(L4, 5100).into(), IO_TIMEOUT).unwrap();
        k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = k.try_clone().unwrap();
        both_ways(
            k,
            w,
            1,
            2,
            |s| s.shutdown(Shutdown::Write).unwrap(),
            "kernel client",
        );
    });
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let w = s.try_clone().unwrap();
    both_ways(
        s,
        w,
        2,
        1,
        |s| s.shutdown(Shutdown::Write).unwrap(),
        "layer4 server",
    );
    client.join().expect("kernel client");

    // layer4 client, kernel server.
    let kl = std::net::TcpListener::bind((KERNEL, 0)).unwrap();
    let addr = kl.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (k, _) = kl.accept().unwrap();
        k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = k.try_clone().unwrap();
        both_ways(
            k,
            w,
            3,
            4,
            |s| s.shutdown(Shutdown::Write).unwrap(),
            "kernel server",
        );
    });
    let c = net.rt.tcp_connect(addr).unwrap();
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let w = c.try_clone().unwrap();
    both_ways(
        c,
        w,
        4,
        3,
        |s| s.shutdown(Shutdown::Write).unwrap(),
        "layer4 client",
    );
    server.join().expect("kernel server");

    // Refused both ways: each stack answers a SYN to a closed port with a RST.
    let e = std::net::TcpStream::connect_timeout(&(L4, 5999).into(), IO_TIMEOUT).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    let e = layer4_net::TcpStream::connect_timeout(&net.rt, &(KERNEL, 5999).into(), IO_TIMEOUT)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");

    // A UDP datagram each way.
    let k = std::net::UdpSocket::bind((KERNEL, 0)).unwrap();
    k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let u = net.rt.udp_bind((L4, 5300)).unwrap();
    u.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    u.send_to(&[7u8; 1200], k.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = k.recv_from(&mut buf).unwrap();
    k.send_to(&buf[..n], from).unwrap();
    let (n, _) = u.recv_from(&mut buf).unwrap();
    assert_eq!(n, 1200);
}

/// `ethtool -k <dev>` says the kernel leaves its transmit checksums to the device.
fn tx_checksum_offloaded(dev: &str) -> bool {
    let out = Command::new("ethtool")
        .args(["-k", dev])
        .output()
        .expect("ethtool");
    assert!(out.status.success(), "ethtool -k {dev}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("tx-checksumming:"))
        .unwrap_or_else(|| panic!("no tx-checksumming in ethtool -k {dev}: {text}"));
    line.contains(": on")
}

/// Runs tshark on `pcap` with checksum validation on; returns stdout.
fn tshark(pcap: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args(["-o", "udp.check_checksum:TRUE", "-r"])
        .arg(pcap)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many packets of `pcap` match the display filter.
/// Keeps the temporary directory (the capture) for a failing run to be read
/// afterwards, and says where it is.
fn keep(dir: &tempfile::TempDir) -> String {
    let path = dir.path().to_path_buf();
    // Renamed, the directory is out of reach of `dir`'s delete on drop.
    let kept = path.with_extension("kept");
    match std::fs::rename(&path, &kept) {
        Ok(()) => kept.display().to_string(),
        Err(e) => format!("(not kept: {e})"),
    }
}

fn count(pcap: &std::path::Path, filter: &str) -> usize {
    tshark(pcap, &["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// The checksum-status fields this tshark has, out of ip/tcp/udp/icmp.
fn checksum_status_fields() -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-G", "fields"])
        .stdin(Stdio::null())
        .output()
        .expect("tshark -G fields");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<String> = ["ip", "tcp", "udp", "icmp"]
        .iter()
        .map(|p| format!("{p}.checksum.status"))
        .filter(|f| {
            text.lines()
                .any(|l| l.split('\t').nth(2) == Some(f.as_str()))
        })
        .collect();
    assert!(
        fields.iter().any(|f| f == "tcp.checksum.status")
            && fields.iter().any(|f| f == "ip.checksum.status"),
        "this tshark has no tcp/ip.checksum.status fields ({fields:?}): cannot check"
    );
    fields
}

/// The RFC 1071 internet checksum of `data`.
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A raw-IP pcap holding one IPv4 SYN whose TCP checksum is wrong (and whose IP
/// checksum is right).
fn pcap_with_bad_tcp_checksum(path: &std::path::Path) {
    let mut ip = vec![
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 213, 0, 2, 10, 213, 0, 1,
    ];
    let c = internet_checksum(&ip).to_be_bytes();
    ip[10..12].copy_from_slice(&c);
    let mut tcp = vec![
        0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];
    let mut pseudo = vec![10, 213, 0, 2, 10, 213, 0, 1, 0, 6, 0, 20];
    pseudo.extend_from_slice(&tcp);
    let wrong = internet_checksum(&pseudo) ^ 0x00ff;
    tcp[16..18].copy_from_slice(&wrong.to_be_bytes());
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    for word in [0u32, 0, 65_535, 101 /* LINKTYPE_RAW */, 1, 0, 40, 40] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend_from_slice(&ip);
    file.extend_from_slice(&tcp);
    std::fs::write(path, file).expect("write the control pcap");
}

#[test]
fn kernel_and_layer4_packets_pass_wireshark_checksum_and_expert_checks() {
    const NAME: &str = "pcap of layer4 <-> kernel checked by tshark";
    if !have_tools(NAME, &["tcpdump", "tshark", "ethtool"]) {
        return;
    }
    in_netns(NAME, |net| {
        let dir = tempfile::tempdir().expect("temp dir");
        let pcap = dir.path().join("capture.pcap");
        let offloaded = tx_checksum_offloaded(TUN);
        if offloaded {
            eprintln!("{NAME}: the kernel offloads TX checksums on {TUN}: asserting on layer4's packets only");
        }

        // -Z root: tcpdump keeps root to write into our root-owned temp dir.
        let mut tcpdump = Proc::spawn(
            "tcpdump",
            Command::new("tcpdump")
                .args(["-i", TUN, "-n", "-U", "--immediate-mode", "-B", "16384"])
                .args(["-s", "0", "-Z", "root", "-w"])
                .arg(&pcap)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let stderr = tcpdump.child.stderr.take().expect("tcpdump stderr");
        let (line_tx, line_rx) = std::sync::mpsc::channel();
        let lines = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = line_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        loop {
            let line = line_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("tcpdump did not say it is listening");
            if line.contains("listening on") {
                break;
            }
        }

        traffic(net);

        std::thread::sleep(Duration::from_millis(300));
        tcpdump.signal(libc::SIGINT);
        let status = tcpdump.wait_for(Duration::from_secs(10));
        let said = lines.join().expect("tcpdump stderr");
        assert!(status.success(), "tcpdump: {status}: {said}");
        eprintln!("{NAME}: tcpdump: {}", said.trim().replace('\n', "; "));

        // The capture holds what the test is about.
        let kernel = format!("ip.src == {KERNEL}");
        let layer4 = format!("ip.src == {L4}");
        for side in [&kernel, &layer4] {
            for what in [
                "tcp.flags.syn == 1 && tcp.flags.ack == 0",
                "tcp.flags.syn == 1 && tcp.flags.ack == 1",
                "tcp.flags.fin == 1",
                "tcp.flags.reset == 1",
                "udp",
            ] {
                assert!(
                    count(&pcap, &format!("{side} && {what}")) >= 1,
                    "no {what} from {side}"
                );
            }
        }

        let fields = checksum_status_fields();
        let bad = fields
            .iter()
            .map(|f| format!("{f} == {BAD}"))
            .collect::<Vec<_>>()
            .join(" || ");
        // Linux now and then sends a TCP checksum of 0xffff where the sum
        // computes to 0x0000: the other one's-complement zero, which every
        // receiver accepts (RFC 1624 section 3) and Wireshark marks Bad with a
        // warning. Such a kernel segment is not an error of the capture;
        // layer4's own segments get no such allowance.
        let kernel_negative_zero =
            format!("({kernel} && tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000)");
        let scope = if offloaded {
            layer4.clone()
        } else {
            format!("({kernel} || {layer4}) && !{kernel_negative_zero}")
        };

        // The filter finds a bad checksum when there is one.
        let control = dir.path().join("control.pcap");
        pcap_with_bad_tcp_checksum(&control);
        assert_eq!(
            count(&control, &bad),
            1,
            "tshark missed a wrong TCP checksum with `{bad}`"
        );

        // tshark verified checksums of both sides (not just left them unverified).
        let sides: &[&String] = if offloaded {
            &[&layer4]
        } else {
            &[&kernel, &layer4]
        };
        for side in sides {
            for field in ["ip.checksum.status", "tcp.checksum.status"] {
                let good = count(&pcap, &format!("{side} && {field} == {GOOD}"));
                assert!(
                    good > 100,
                    "only {good} packets with {field} Good from {side}"
                );
            }
        }

        let found = tshark(
            &pcap,
            &[
                "-Y",
                &format!("{scope} && ({bad})"),
                "-T",
                "fields",
                "-e",
                "frame.number",
            ],
        );
        assert!(
            found.trim().is_empty(),
            "bad checksums in frames: {found} (capture kept in {})",
            keep(&dir)
        );

        // No malformed packet and no expert error.
        let malformed = count(&pcap, "_ws.malformed");
        let expert = tshark(&pcap, &["-q", "-z", "expert,error"]);
        let clean = malformed == 0 && !expert.contains("Malformed") && !expert.contains("Errors (");
        assert!(
            clean,
            "tshark finds errors ({malformed} packets): {expert} (capture kept in {})",
            keep(&dir)
        );
        let packets = count(&pcap, "frame");
        eprintln!(
            "{NAME}: {packets} packets, no bad checksum, no malformed packet, no expert error"
        );
    });
}
