//! layer4 and the Linux kernel over IPv6 on a TUN, in a private network namespace
//! (see `common::in_netns_dual`: the kernel is fd00:213::1/64, layer4 fd00:213::2):
//!
//! - `ping -6` to layer4's address is answered (ICMPv6 echo);
//! - UDP both ways: the kernel's UDP sends to a layer4 socket, which answers each
//!   datagram, and a layer4 socket sends to the kernel's, which answers; both
//!   sides check every payload (SHA-256 of all of them, and each echo);
//! - layer4 and the kernel see each other's IPv6 addresses as the peer.
//!
//! TCP over IPv6 against curl, python's http.server and socat is in
//! `kernel_tools_interop.rs`.

use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

mod common;
use common::{have_tools, in_netns_dual, Pattern, Proc, KERNEL6, L46};

const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Datagrams each way.
const DATAGRAMS: usize = 200;

/// The payload of datagram `i` of `seed`: its size varies from 1 to 1400 bytes
/// (below the 1500-byte MTU: no fragments).
fn payload(seed: u64, i: usize) -> Vec<u8> {
    Pattern::bytes(seed ^ (i as u64) << 8, 1 + (i * 397) % 1400)
}

/// The SHA-256 of the datagrams `payload(seed, 0..DATAGRAMS)`.
fn expected_sha(seed: u64) -> Vec<u8> {
    let mut h = Sha256::new();
    for i in 0..DATAGRAMS {
        h.update(payload(seed, i));
    }
    h.finalize().to_vec()
}

/// What an echoing side sends back: the datagram with every byte inverted.
fn answer(d: &[u8]) -> Vec<u8> {
    d.iter().map(|b| !b).collect()
}

#[test]
fn ping6_to_a_layer4_address_is_answered() {
    const NAME: &str = "ping -6 -> layer4";
    if !have_tools(NAME, &["ping"]) {
        return;
    }
    in_netns_dual(NAME, |net| {
        let mut ping = Proc::spawn(
            "ping -6",
            Command::new("ping")
                .args(["-6", "-n", "-c", "3", "-i", "0.2", "-W", "2"])
                .arg(L46.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let status = ping.wait_for(Duration::from_secs(20));
        let mut out = String::new();
        if let Some(mut o) = ping.child.stdout.take() {
            std::io::Read::read_to_string(&mut o, &mut out).expect("ping output");
        }
        assert!(status.success(), "ping -6: {status}\n{out}");
        assert!(out.contains("3 received"), "{out}");
        let echoes = net
            .rt
            // ICMPv6 type 129: echo reply.
            .with_stack(|s, _| s.stats().icmp6.out_type[129])
            .expect("stack");
        assert!(echoes >= 3, "layer4 sent {echoes} echo replies");
    });
}

#[test]
fn kernel_udp_sends_to_layer4_over_ipv6_and_gets_each_datagram_answered() {
    in_netns_dual("kernel UDP -> layer4 over IPv6", |net| {
        let l4 = net.rt.udp_bind((L46, 7001)).expect("layer4 bind");
        l4.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let echo = std::thread::spawn(move || {
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 2048];
            let mut peer = None;
            for _ in 0..DATAGRAMS {
                let (n, from) = l4.recv_from(&mut buf).expect("layer4 recv_from");
                h.update(&buf[..n]);
                l4.send_to(&answer(&buf[..n]), from)
                    .expect("layer4 send_to");
                peer = Some(from);
            }
            (h.finalize().to_vec(), peer)
        });
        let k = std::net::UdpSocket::bind((KERNEL6, 7000)).expect("kernel bind");
        k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut buf = vec![0u8; 2048];
        for i in 0..DATAGRAMS {
            let d = payload(61, i);
            k.send_to(&d, (L46, 7001)).expect("kernel send_to");
            let (n, from) = k.recv_from(&mut buf).expect("kernel recv_from");
            assert_eq!(from, SocketAddr::from((L46, 7001)));
            assert!(buf[..n] == answer(&d), "answer to datagram {i}");
        }
        let (got, peer) = echo.join().expect("layer4 side");
        assert_eq!(got, expected_sha(61), "layer4 received other bytes");
        assert_eq!(peer, Some(SocketAddr::from((KERNEL6, 7000))));
    });
}

#[test]
fn layer4_udp_sends_to_the_kernel_over_ipv6_and_gets_each_datagram_answered() {
    in_netns_dual("layer4 UDP -> kernel over IPv6", |net| {
        let k = std::net::UdpSocket::bind((KERNEL6, 7100)).expect("kernel bind");
        k.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let echo = std::thread::spawn(move || {
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 2048];
            let mut peer = None;
            for _ in 0..DATAGRAMS {
                let (n, from) = k.recv_from(&mut buf).expect("kernel recv_from");
                h.update(&buf[..n]);
                k.send_to(&answer(&buf[..n]), from).expect("kernel send_to");
                peer = Some(from);
            }
            (h.finalize().to_vec(), peer)
        });
        let l4 = net
            .rt
            .udp_bind((IpAddr::from(L46), 0))
            .expect("layer4 bind");
        l4.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        l4.connect((KERNEL6, 7100)).expect("layer4 connect");
        let mut buf = vec![0u8; 2048];
        for i in 0..DATAGRAMS {
            let d = payload(71, i);
            l4.send(&d).expect("layer4 send");
            let n = l4.recv(&mut buf).expect("layer4 recv");
            assert!(buf[..n] == answer(&d), "answer to datagram {i}");
        }
        let (got, peer) = echo.join().expect("kernel side");
        assert_eq!(got, expected_sha(71), "the kernel received other bytes");
        assert_eq!(peer, Some(l4.local_addr().unwrap()));
        assert_eq!(peer.map(|p| p.ip()), Some(IpAddr::from(L46)));
    });
}
