//! Interop: files written by `PcapWriter` are read by tcpdump and tshark, and files
//! written by libpcap / Wireshark tools are read by `PcapReader`.
//!
//! Each test skips, printing why, when its tool is not installed.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use common::{have_tool, run, TempDir};
use layer4_wire::checksum;
use layer4_wire::pcap::{LinkType, PcapReader, PcapRecord, PcapWriter, DEFAULT_SNAPLEN};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const T1: u64 = 1_700_000_000_123_456_789;
const T2: u64 = 1_700_000_001_000_000_001;

/// An IPv4 + UDP packet with correct checksums, built by hand.
fn udp_packet(ident: u16, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len() as u16;
    let total = 20 + udp_len;
    let mut p = vec![
        0x45, 0x00, // version 4, IHL 5, DSCP/ECN 0
    ];
    p.extend(total.to_be_bytes());
    p.extend(ident.to_be_bytes());
    p.extend([0x40, 0x00, 64, 17, 0, 0]); // DF, TTL 64, UDP, checksum 0 for now
    p.extend(SRC.octets());
    p.extend(DST.octets());
    let ip_sum = checksum::finish(checksum::data(&p));
    p[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    let mut udp = Vec::new();
    udp.extend(src_port.to_be_bytes());
    udp.extend(dst_port.to_be_bytes());
    udp.extend(udp_len.to_be_bytes());
    udp.extend([0, 0]);
    udp.extend(payload);
    let pseudo = checksum::pseudo_header_v4(SRC, DST, 17, udp_len);
    let sum = match checksum::finish(checksum::combine(&[pseudo, checksum::data(&udp)])) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    p.extend(udp);
    p
}

fn packets() -> [(u64, Vec<u8>); 2] {
    [
        (T1, udp_packet(1, 40000, 9999, b"hello")),
        (T2, udp_packet(2, 40001, 9999, b"layer4 pcap")),
    ]
}

fn write_raw_file(path: &Path) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(file),
        LinkType::Raw,
        DEFAULT_SNAPLEN,
    )
    .expect("write header");
    for (ts, p) in packets() {
        w.write_packet(ts, &p).expect("write packet");
    }
    w.flush().expect("flush");
}

fn read_file(path: &Path) -> (LinkType, bool, Vec<PcapRecord>) {
    let file = std::fs::File::open(path).expect("open pcap");
    let r = PcapReader::new(std::io::BufReader::new(file)).expect("pcap header");
    let (link, nano) = (r.link_type(), r.is_nanosecond());
    let recs = r.collect::<Result<Vec<_>, _>>().expect("pcap records");
    (link, nano, recs)
}

#[test]
fn tcpdump_reads_our_file_with_nanosecond_timestamps() {
    if !have_tool(
        "tcpdump",
        "tcpdump_reads_our_file_with_nanosecond_timestamps",
    ) {
        return;
    }
    let dir = TempDir::new("tcpdump-read");
    let f = dir.path("ours.pcap");
    write_raw_file(&f);

    let out = run(Command::new("tcpdump")
        .arg("-r")
        .arg(&f)
        .args(["-n", "--nano", "-tt"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "tcpdump printed:\n{out}");
    assert!(
        lines[0].starts_with(
            "1700000000.123456789 IP 192.0.2.1.40000 > 198.51.100.2.9999: UDP, length 5"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "1700000001.000000001 IP 192.0.2.1.40001 > 198.51.100.2.9999: UDP, length 11"
        ),
        "{}",
        lines[1]
    );

    // -vv makes tcpdump verify both checksums: our hand-made packets are valid.
    let out = run(Command::new("tcpdump")
        .arg("-r")
        .arg(&f)
        .args(["-n", "-vv"]));
    assert!(
        !out.contains("bad"),
        "tcpdump -vv found a bad checksum:\n{out}"
    );
    assert_eq!(out.matches("udp sum ok").count(), 2, "{out}");
}

#[test]
fn tshark_reads_our_file_with_nanosecond_timestamps() {
    if !have_tool("tshark", "tshark_reads_our_file_with_nanosecond_timestamps") {
        return;
    }
    let dir = TempDir::new("tshark-read");
    let f = dir.path("ours.pcap");
    write_raw_file(&f);

    let out = run(Command::new("tshark").arg("-r").arg(&f).args([
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "ip.src",
        "-e",
        "udp.srcport",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "tshark printed:\n{out}");
    assert!(
        lines[0].starts_with("1700000000.123456789\t192.0.2.1\t40000"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("1700000001.000000001\t192.0.2.1\t40001"),
        "{}",
        lines[1]
    );
}

#[test]
fn files_rewritten_by_tcpdump_read_back() {
    if !have_tool("tcpdump", "files_rewritten_by_tcpdump_read_back") {
        return;
    }
    let dir = TempDir::new("tcpdump-rewrite");
    let ours = dir.path("ours.pcap");
    write_raw_file(&ours);

    // libpcap writes a nanosecond file when asked for nanoseconds...
    let nano = dir.path("nano.pcap");
    run(Command::new("tcpdump")
        .arg("-r")
        .arg(&ours)
        .arg("--nano")
        .arg("-w")
        .arg(&nano));
    let (link, is_nano, recs) = read_file(&nano);
    assert_eq!(link, LinkType::Raw);
    assert!(is_nano);
    let want: Vec<PcapRecord> = packets()
        .into_iter()
        .map(|(ts, p)| PcapRecord {
            timestamp_ns: ts,
            orig_len: p.len() as u32,
            data: p,
        })
        .collect();
    assert_eq!(recs, want);

    // ...and a microsecond file otherwise: timestamps lose their last three digits.
    let micro = dir.path("micro.pcap");
    run(Command::new("tcpdump")
        .arg("-r")
        .arg(&ours)
        .arg("-w")
        .arg(&micro));
    let (link, is_nano, recs) = read_file(&micro);
    assert_eq!(link, LinkType::Raw);
    assert!(!is_nano);
    let ts: Vec<u64> = recs.iter().map(|r| r.timestamp_ns).collect();
    assert_eq!(ts, [T1 / 1000 * 1000, T2 / 1000 * 1000]);
    assert_eq!(recs[1].data, want[1].data);
}

#[test]
fn ethernet_file_from_text2pcap_yields_our_ip_packets() {
    if !have_tool(
        "text2pcap",
        "ethernet_file_from_text2pcap_yields_our_ip_packets",
    ) {
        return;
    }
    let dir = TempDir::new("text2pcap");
    // text2pcap's input: an offset, then hex octets, one packet per offset-0 block.
    let mut hex = String::new();
    for (_, p) in packets() {
        for (i, chunk) in p.chunks(16).enumerate() {
            hex.push_str(&format!("{:06x}", i * 16));
            for b in chunk {
                hex.push_str(&format!(" {b:02x}"));
            }
            hex.push('\n');
        }
    }
    let txt = dir.path("packets.txt");
    std::fs::write(&txt, hex).expect("write hex dump");
    let eth = dir.path("eth.pcap");
    run(Command::new("text2pcap")
        .args(["-q", "-F", "pcap", "-e", "0x800"])
        .arg(&txt)
        .arg(&eth));

    let (link, _, recs) = read_file(&eth);
    assert_eq!(link, LinkType::Ethernet);
    assert_eq!(recs.len(), 2);
    for (rec, (_, p)) in recs.iter().zip(packets()) {
        // Short frames are padded to Ethernet's 60-octet minimum: the IP packet comes
        // first, and its total length says where it ends.
        assert_eq!(rec.data.len(), (14 + p.len()).max(60));
        let ip = link.ip_payload(&rec.data).expect("an IPv4 frame");
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert_eq!(&ip[..total], &p[..]);
    }
}
