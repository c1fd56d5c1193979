//! layer4 against the Linux kernel over a TUN opened with offloads (`IFF_VNET_HDR`,
//! `TUNSETOFFLOAD` CSUM|TSO4|TSO6), each test in a private network namespace (see
//! `common`). The kernel hands layer4 TCP super-packets of up to 64 KB with partial
//! checksums, and layer4's runtime hands the kernel super-packets it segments.
//!
//! Checked: the bytes arrive intact both ways at once (SHA-256 of each stream), the
//! offloads were really used (layer4 wrote super-packets; it received fewer TCP
//! segments than the data would have taken at the MSS), and no checksum failed on
//! either side (layer4's counters; the kernel's `TcpInCsumErrors`/`UdpInCsumErrors`
//! of the test's namespace). A capture would not help here: tcpdump on the TUN sees
//! the super-packets before segmentation, with checksums legitimately partial.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use sha2::{Digest, Sha256};

mod common;
use common::{in_netns_with, Pattern, KERNEL, L4};

const TRANSFER: usize = 24 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// MSS at MTU 1500 with the timestamp option.
const MSS: usize = 1448;

/// Writes `TRANSFER` bytes of `Pattern(seed)`; their SHA-256.
fn send_pattern(mut w: impl Write, seed: u64) -> io::Result<[u8; 32]> {
    let mut p = Pattern(seed);
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = TRANSFER;
    let mut h = Sha256::new();
    while left > 0 {
        let n = left.min(buf.len());
        p.fill(&mut buf[..n]);
        w.write_all(&buf[..n])?;
        h.update(&buf[..n]);
        left -= n;
    }
    Ok(h.finalize().into())
}

/// Reads to the end of the stream: the byte count and SHA-256.
fn recv_all(mut r: impl Read) -> io::Result<(usize, [u8; 32])> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    let mut h = Sha256::new();
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((total, h.finalize().into()));
        }
        total += n;
        h.update(&buf[..n]);
    }
}

/// A counter of the calling thread's namespace from `/proc/thread-self/net/snmp`
/// (`Tcp` / `InCsumErrors`, ...).
fn kernel_snmp(group: &str, name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/snmp").expect("read snmp");
    let prefix = format!("{group}:");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
    let [names, values, ..] = lines.as_slice() else {
        panic!("no {group} lines in snmp");
    };
    let i = names
        .split_whitespace()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no {group} {name} in snmp"));
    values
        .split_whitespace()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .expect("snmp value")
}

#[test]
fn bulk_both_ways_at_once_over_offloaded_tun_is_intact_and_uses_super_packets() {
    in_netns_with("TCP both ways over an offloaded TUN", true, |net| {
        let listener = std::net::TcpListener::bind((KERNEL, 0)).expect("kernel bind");
        let addr = listener.local_addr().unwrap();
        let kernel = std::thread::spawn(move || {
            let (s, peer) = listener.accept().expect("kernel accept");
            assert_eq!(peer.ip(), L4);
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            let w = s.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                let h = send_pattern(&w, 2).expect("kernel send");
                w.shutdown(Shutdown::Write).expect("kernel shutdown");
                h
            });
            let got = recv_all(&s).expect("kernel receive");
            (got, writer.join().expect("kernel writer"))
        });
        let c = net.rt.tcp_connect(addr).expect("layer4 connect");
        c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        c.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = c.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let h = send_pattern(&w, 1).expect("layer4 send");
            w.shutdown(Shutdown::Write).expect("layer4 shutdown");
            h
        });
        let (l4_got, l4_hash) = recv_all(&c).expect("layer4 receive");
        let l4_sent = writer.join().expect("layer4 writer");
        let ((k_got, k_hash), k_sent) = kernel.join().expect("kernel side");

        assert_eq!(l4_got, TRANSFER, "layer4 received byte count");
        assert_eq!(k_got, TRANSFER, "kernel received byte count");
        assert_eq!(
            l4_hash, k_sent,
            "what layer4 received differs from what the kernel sent"
        );
        assert_eq!(
            k_hash, l4_sent,
            "what the kernel received differs from what layer4 sent"
        );

        let rts = net.rt.stats();
        let tcp = net.rt.with_stack(|s, _| s.stats().tcp).unwrap();
        eprintln!(
            "layer4 wrote {} super-packets carrying {} segments; received {} TCP segments \
             for {} bytes ({} at the MSS); retransmitted {}",
            rts.tx_super_packets,
            rts.tx_super_segments,
            tcp.in_segs,
            TRANSFER,
            TRANSFER / MSS,
            tcp.retrans_segs,
        );
        assert!(
            rts.tx_super_packets > 0 && rts.tx_super_segments > 2 * rts.tx_super_packets,
            "layer4 sent super-packets: {rts:?}"
        );
        assert!(
            (tcp.in_segs as usize) < TRANSFER / MSS / 2,
            "the kernel handed layer4 super-packets ({} segments in)",
            tcp.in_segs
        );
        assert_eq!(tcp.in_csum_errors, 0, "layer4 saw TCP checksum errors");
        assert_eq!(tcp.in_errs, 0, "layer4 saw bad TCP segments");
        assert_eq!(
            kernel_snmp("Tcp", "InCsumErrors"),
            0,
            "the kernel saw TCP checksum errors"
        );
        assert_eq!(rts.tx_errors, 0, "the TUN refused layer4's writes");
    });
}

#[test]
fn udp_echo_over_offloaded_tun_has_valid_checksums_both_ways() {
    in_netns_with("UDP over an offloaded TUN", true, |net| {
        let l4 = net.rt.udp_bind((L4, 7007)).expect("layer4 bind");
        l4.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let kernel = std::net::UdpSocket::bind((KERNEL, 0)).expect("kernel bind");
        kernel.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut buf = vec![0u8; 2048];
        for (i, len) in [1usize, 2, 3, 100, 1000, 1472].into_iter().enumerate() {
            let msg = Pattern::bytes(i as u64 + 10, len);
            // The kernel's datagram reaches layer4 with a partial checksum it completes.
            kernel.send_to(&msg, (L4, 7007)).expect("kernel send");
            let (n, from) = l4.recv_from(&mut buf).expect("layer4 recv");
            assert_eq!(&buf[..n], &msg[..], "datagram of {len} bytes to layer4");
            l4.send_to(&buf[..n], from).expect("layer4 send");
            let (n, _) = kernel.recv_from(&mut buf).expect("kernel recv");
            assert_eq!(&buf[..n], &msg[..], "datagram of {len} bytes back");
        }
        let udp = net.rt.with_stack(|s, _| s.stats().udp).unwrap();
        assert_eq!(udp.in_csum_errors, 0, "layer4 saw UDP checksum errors");
        assert_eq!(kernel_snmp("Udp", "InCsumErrors"), 0);
    });
}
