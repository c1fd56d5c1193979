//! `verify` on the golden captures: every real packet passes, and every single-bit
//! flip of every packet is caught, except where no checksum or structural rule covers
//! the bit. Those places are listed here with the reason:
//!
//! - **IPv4 fragments**: the transport checksum covers the reassembled datagram, so
//!   only the IPv4 header (covered by its own checksum) is checked in a fragment. A
//!   flip in a fragment's data (a later fragment's payload, or the transport bytes of
//!   a first fragment past what the structural check reads) shows only after
//!   reassembly.
//! - **IPv6 fragments**: the same, and IPv6 has no header checksum, so nothing in a
//!   fragment is covered: not the addresses or payload length (the pseudo-header
//!   checksum that covers them is in the reassembled datagram), nor the fragment
//!   header (offset, M flag, identification).
//! - **the version nibble turned from 4 into 6**: the packet is then read as IPv6,
//!   whose missing header checksum cannot fail (a link layer's type field would tell
//!   the two apart; [`verify`] sees only the IP packet).
//! - **IPv6 header fields outside the pseudo-header**: traffic class, flow label and
//!   hop limit are covered by nothing (RFC 8200 has no header checksum; the
//!   upper-layer pseudo-header covers the addresses, the payload length and the
//!   next header only).
//! - **IPv6 next header turned into a protocol `verify` does not parse**: the
//!   pseudo-header would catch it, but only a parser of that protocol computes it.

use std::fs;
use std::path::{Path, PathBuf};

use layer4_wire::dump::verify;
use layer4_wire::pcap::PcapReader;

fn kernel_captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/data is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 14, "the kernel golden captures");
    files
}

/// Every IP packet of a capture.
fn packets(pcap: &Path) -> Vec<Vec<u8>> {
    let file = fs::File::open(pcap).expect("capture opens");
    let mut reader = PcapReader::new(std::io::BufReader::new(file)).expect("pcap header");
    let link = reader.link_type();
    let mut out = Vec::new();
    while let Some(record) = reader.next_packet() {
        let record = record.expect("record");
        out.push(link.ip_payload(&record.data).expect("IP").to_vec());
    }
    out
}

#[test]
fn every_golden_packet_verifies() {
    let mut count = 0;
    for pcap in kernel_captures() {
        for (i, p) in packets(&pcap).iter().enumerate() {
            assert_eq!(verify(p), Ok(()), "{} #{}", pcap.display(), i + 1);
            count += 1;
        }
    }
    assert_eq!(count, 96);
}

#[test]
fn crafted_bad_packets_fail_verification() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crafted");
    let packets = packets(&dir.join("crafted_ipv4.pcap"));
    let names: Vec<String> = fs::read_to_string(dir.join("crafted_ipv4.cases.txt"))
        .expect("case names")
        .lines()
        .map(str::to_string)
        .collect();
    for (name, expected) in [
        ("tcp bad checksum", "bad tcp checksum"),
        ("udp bad checksum", "bad udp checksum"),
        ("ip bad header checksum", "bad ipv4 checksum"),
        ("icmp echo bad checksum", "bad icmp checksum"),
        ("tcp data offset below 5", "tcp: bad header length"),
        ("udp length field too long", "udp: truncated packet"),
        ("ip total length beyond frame", "ipv4: truncated packet"),
        ("tcp option length zero", "tcp: bad option (kind 8)"),
    ] {
        let i = names.iter().position(|n| n == name).expect(name);
        let e = verify(&packets[i]).expect_err(name);
        assert_eq!(e.to_string(), expected, "{name}");
    }
    let good = names
        .iter()
        .position(|n| n == "udp zero checksum")
        .expect("case");
    assert_eq!(
        verify(&packets[good]),
        Ok(()),
        "a zero UDP checksum over IPv4 means none"
    );
}

#[test]
fn routing_header_final_destination_is_in_the_pseudo_header() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crafted");
    let packets = packets(&dir.join("crafted_ipv6.pcap"));
    let names: Vec<String> = fs::read_to_string(dir.join("crafted_ipv6.cases.txt"))
        .expect("case names")
        .lines()
        .map(str::to_string)
        .collect();
    let find = |name: &str| &packets[names.iter().position(|n| n == name).expect(name)];
    for good in [
        "ipv6 routing type 0",
        "ipv6 routing type 2",
        "ipv6 routing type 4 srh",
    ] {
        assert_eq!(verify(find(good)), Ok(()), "{good}");
    }
    let bad = verify(find("ipv6 routing bad checksum uses final destination")).unwrap_err();
    assert_eq!(bad.to_string(), "bad udp checksum");
}

/// Whether a flip of `byte` in packet `p` may legitimately go unnoticed (see the
/// module docs).
fn uncovered(p: &[u8], byte: usize, flipped: &[u8]) -> bool {
    if byte == 0 && matches!(flipped[0] >> 4, 4 | 6) && flipped[0] >> 4 != p[0] >> 4 {
        // The version nibble picks the parser: an IPv4 packet that now says 6 is
        // read as IPv6, which has no header checksum to fail.
        return true;
    }
    match p[0] >> 4 {
        4 => {
            let flags_offset = u16::from_be_bytes([p[6], p[7]]);
            let fragment = flags_offset & 0x3fff != 0;
            let header_len = usize::from(p[0] & 0x0f) * 4;
            fragment && byte >= header_len
        }
        6 => {
            let fragment = p[6] == 44;
            let unchecked_fields = byte == 1
                || byte == 2
                || byte == 3
                || byte == 7
                || (byte == 0 && flipped[0] >> 4 == 6);
            let next_header = byte == 6 && !matches!(flipped[6], 6 | 17 | 58 | 0 | 43 | 44 | 60);
            fragment || unchecked_fields || next_header
        }
        _ => false,
    }
}

#[test]
fn every_single_bit_flip_is_caught_where_a_check_covers_it() {
    let mut caught = 0;
    let mut uncovered_flips = 0;
    let mut missed = Vec::new();
    for pcap in kernel_captures() {
        for (n, p) in packets(&pcap).iter().enumerate() {
            let mut flipped = p.clone();
            for byte in 0..p.len() {
                for bit in 0..8 {
                    flipped[byte] ^= 1 << bit;
                    let result = verify(&flipped);
                    if result.is_err() {
                        caught += 1;
                    } else if uncovered(p, byte, &flipped) {
                        uncovered_flips += 1;
                    } else {
                        missed.push(format!(
                            "{} #{} byte {byte} bit {bit}",
                            pcap.file_name().and_then(|f| f.to_str()).unwrap_or("?"),
                            n + 1
                        ));
                    }
                    flipped[byte] ^= 1 << bit;
                }
            }
        }
    }
    assert!(
        missed.is_empty(),
        "{} flips not caught: {:?}",
        missed.len(),
        &missed[..missed.len().min(20)]
    );
    assert!(caught > 130_000, "{caught} flips caught");
    eprintln!("{caught} flips caught, {uncovered_flips} in bits no check covers");
}
