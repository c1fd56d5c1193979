use super::*;
use crate::checksum;
use crate::Error;
use proptest::prelude::*;

/// A real Linux SYN, 10.77.1.2.46800 > 10.77.2.2.5000, from `tests/data/tcp4_session.pcap`
/// (packet 1, Ethernet header removed).
const SYN: [u8; 60] = [
    0x45, 0x00, 0x00, 0x3c, 0x73, 0x1b, 0x40, 0x00, 0x40, 0x06, 0xb0, 0x03, 0x0a, 0x4d, 0x01, 0x02,
    0x0a, 0x4d, 0x02, 0x02, 0xb6, 0xd0, 0x13, 0x88, 0x59, 0x4c, 0x05, 0x0d, 0x00, 0x00, 0x00, 0x00,
    0xa0, 0xc2, 0xfa, 0xf0, 0xac, 0x7c, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x05, 0x1d, 0x5a, 0x63, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
];

const SYN_LINE: &str = "IP 10.77.1.2.46800 > 10.77.2.2.5000: Flags [SEW], seq 1498154253, \
    win 64240, options [mss 1460,sackOK,TS val 85809763 ecr 0,nop,wscale 10], length 0";

#[test]
fn real_syn_renders_like_tcpdump() {
    assert_eq!(dump(&SYN).to_string(), SYN_LINE);
}

#[test]
fn real_syn_verifies() {
    assert_eq!(verify(&SYN), Ok(()));
}

#[test]
fn verbose_syn_adds_ip_details_and_checksum_verdict() {
    assert_eq!(
        dump(&SYN).verbose(true).to_string(),
        "IP (tos 0x0, ttl 64, id 29467, offset 0, flags [DF], proto TCP (6), length 60)\n    \
         10.77.1.2.46800 > 10.77.2.2.5000: Flags [SEW], cksum 0xac7c (correct), seq 1498154253, \
         win 64240, options [mss 1460,sackOK,TS val 85809763 ecr 0,nop,wscale 10], length 0"
    );
}

/// Expected strings checked against tcpdump 4.99.3 on the same bytes.
#[test]
fn flipped_tcp_bit_is_a_bad_tcp_checksum() {
    let mut p = SYN;
    p[50] ^= 0x10;
    let e = verify(&p).unwrap_err();
    assert_eq!((e.layer, e.error), (Layer::Tcp, Error::BadChecksum));
    assert_eq!(e.to_string(), "bad tcp checksum");
    // The rendering does not check checksums, as tcpdump without -v.
    assert!(dump(&p)
        .to_string()
        .starts_with("IP 10.77.1.2.46800 > 10.77.2.2.5000"));
    assert!(dump(&p)
        .verbose(true)
        .to_string()
        .contains("cksum 0xac7c (incorrect -> 0xbc7c)"));
}

#[test]
fn flipped_ip_header_bit_is_a_bad_ipv4_checksum() {
    let mut p = SYN;
    p[8] ^= 0x01; // TTL
    let e = verify(&p).unwrap_err();
    assert_eq!((e.layer, e.error), (Layer::Ipv4, Error::BadChecksum));
    assert!(dump(&p)
        .verbose(true)
        .to_string()
        .contains(", bad cksum b003 (->af03)!)"));
}

#[test]
fn truncated_capture_prints_tcp_marker() {
    let line = dump(&SYN[..30]).with_orig_len(60).to_string();
    assert_eq!(line, "IP 10.77.1.2.46800 > 10.77.2.2.5000:  [|tcp]");
    assert_eq!(
        verify(&SYN[..30]).unwrap_err(),
        VerifyError {
            layer: Layer::Ipv4,
            error: Error::Truncated
        }
    );
}

#[test]
fn short_total_length_is_reported_like_tcpdump() {
    let line = dump(&SYN[..40]).to_string();
    assert_eq!(
        line,
        "IP truncated-ip - 20 bytes missing! 10.77.1.2.46800 > 10.77.2.2.5000: Flags [SEW], \
         seq 1498154253, win 64240, options [ [|tcp]"
    );
}

#[test]
fn empty_and_unknown_versions() {
    assert_eq!(dump(&[]).to_string(), "truncated-ip 0");
    assert_eq!(dump(&[]).with_orig_len(20).to_string(), " [|ipn]");
    assert_eq!(dump(&[0x50; 30]).to_string(), "unknown ip 5");
    assert_eq!(dump(&[0x45; 10]).to_string(), "IP  [|ip]");
    assert_eq!(dump(&[0x60; 10]).to_string(), " [|ip6]");
    assert_eq!(verify(&[]).unwrap_err().layer, Layer::Ip);
    assert_eq!(verify(&[0x50; 30]).unwrap_err().error, Error::BadVersion(5));
}

/// An IPv4 header (20 bytes, correct checksum) for a payload of `len` bytes.
fn ipv4_header(protocol: u8, len: usize, flags_offset: u16) -> Vec<u8> {
    let total = (20 + len) as u16;
    let mut h = vec![0x45, 0];
    h.extend(total.to_be_bytes());
    h.extend([0x12, 0x34]);
    h.extend(flags_offset.to_be_bytes());
    h.extend([64, protocol, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2]);
    let sum = checksum::finish(checksum::data(&h));
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

#[test]
fn later_ipv4_fragment_names_its_protocol_and_is_not_checked() {
    let mut p = ipv4_header(17, 8, 0x0001); // offset 8
    p.extend([0xff; 8]);
    assert_eq!(
        dump(&p).to_string(),
        "IP 192.0.2.1 > 198.51.100.2: ip-proto-17"
    );
    assert_eq!(verify(&p), Ok(()));
}

#[test]
fn first_ipv4_fragment_checks_transport_structure_only() {
    // UDP header claiming 1000 bytes, of which this fragment holds 8.
    let mut p = ipv4_header(17, 8, 0x2000);
    p.extend([0x13, 0x88, 0x17, 0x70, 0x03, 0xe8, 0xde, 0xad]);
    assert_eq!(
        dump(&p).to_string(),
        "IP 192.0.2.1.5000 > 198.51.100.2.6000: UDP, length 992"
    );
    assert_eq!(verify(&p), Ok(()));
    let mut bad = ipv4_header(17, 6, 0x2000);
    bad.extend([0x13, 0x88, 0x17, 0x70, 0x03, 0xe8]);
    assert_eq!(verify(&bad).unwrap_err().layer, Layer::Udp);
}

#[test]
fn unknown_protocol_prints_number_and_length() {
    let mut p = ipv4_header(253, 4, 0x4000);
    p.extend([1, 2, 3, 4]);
    assert_eq!(
        dump(&p).to_string(),
        "IP 192.0.2.1 > 198.51.100.2:  ip-proto-253 4"
    );
    assert_eq!(verify(&p), Ok(()));
}

#[test]
fn tcp_options_follow_tcpdumps_walk() {
    let mut tcp = vec![0u8; 20];
    tcp[12] = 0x70; // 28-byte header
    tcp[13] = 0x10;
    tcp.extend([0x02, 0x05, 0x05, 0xb4, 0xff, 0x01, 0x01, 0x01]); // mss with length 5
    let mut p = ipv4_header(6, tcp.len(), 0x4000);
    p.extend(&tcp);
    assert_eq!(
        dump(&p).to_string(),
        "IP 192.0.2.1.0 > 198.51.100.2.0: Flags [.], ack 0, win 0, options [mss 1460[len 5],[bad opt]]"
    );
    assert_eq!(verify(&p).unwrap_err().layer, Layer::Tcp);
}

#[test]
fn ipv6_fragment_header_cut_short_wraps_like_tcpdump() {
    let mut p = vec![0x60, 0, 0, 0, 0, 5, 44, 64];
    p.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    p.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
    p.extend([17, 0, 0, 1, 0]);
    assert_eq!(
        dump(&p).to_string(),
        "IP6 2001:db8::1 > 2001:db8::2: frag (0|18446744073709551613) "
    );
    assert_eq!(verify(&p).unwrap_err().layer, Layer::Ipv6);
}

fn ip_like() -> impl Strategy<Value = Vec<u8>> {
    // Mostly plausible first bytes, so the printers past the IP header get exercised.
    let first = prop_oneof![
        Just(0x45u8),
        Just(0x46),
        Just(0x4f),
        Just(0x60),
        any::<u8>()
    ];
    let proto = prop_oneof![
        Just(6u8),
        Just(17),
        Just(1),
        Just(58),
        Just(0),
        Just(43),
        Just(44),
        Just(60),
        Just(4),
        Just(41),
        any::<u8>()
    ];
    (first, proto, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(
        |(first, proto, mut rest)| {
            rest.insert(0, first);
            if rest.len() > 9 {
                rest[9] = proto; // IPv4 protocol
            }
            if rest.len() > 6 && first >> 4 == 6 {
                rest[6] = proto; // IPv6 next header
            }
            if rest.len() > 3 && first >> 4 == 4 {
                // A total length that often fits the buffer.
                let total = (rest.len() as u16).min(u16::from(rest[3]) + 20);
                rest[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if rest.len() > 5 && first >> 4 == 6 {
                let payload = (rest.len().saturating_sub(40) as u16).min(u16::from(rest[5]));
                rest[4..6].copy_from_slice(&payload.to_be_bytes());
            }
            rest
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_render_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), extra in 0usize..100) {
        let _ = dump(&bytes).to_string();
        let _ = dump(&bytes).verbose(true).with_orig_len(bytes.len() + extra).to_string();
        let _ = verify(&bytes);
    }

    #[test]
    fn plausible_packets_render_without_panic(bytes in ip_like(), cut in 0usize..300) {
        let cut = cut.min(bytes.len());
        let _ = dump(&bytes).to_string();
        let _ = dump(&bytes).verbose(true).to_string();
        let _ = dump(&bytes[..cut]).with_orig_len(bytes.len()).to_string();
        let _ = dump(&bytes[..cut]).with_orig_len(bytes.len()).verbose(true).to_string();
        let _ = verify(&bytes);
    }

    #[test]
    fn every_truncation_of_a_real_packet_renders(cut in 0usize..60) {
        let line = dump(&SYN[..cut]).with_orig_len(60).to_string();
        prop_assert!(!line.is_empty());
        prop_assert!(verify(&SYN[..cut]).is_err());
    }
}
