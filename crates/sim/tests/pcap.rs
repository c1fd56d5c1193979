//! The capture of a link is a pcap file tshark reads without complaint.

mod common;

use common::*;
use layer4::wire::PcapReader;
use layer4_sim::scenario::IpVersion;
use layer4_sim::Simulation;
use std::process::Command;

fn capture(ip: IpVersion) -> Vec<u8> {
    capture_with_snaplen(ip, 0)
}

fn capture_with_snaplen(ip: IpVersion, snaplen: u32) -> Vec<u8> {
    let mut s = dumbbell(
        link(10_000_000, 5),
        ip,
        vec![bulk("f", "left0", "right0", 200_000)],
        2,
    );
    s.capture_snaplen = snaplen;
    let mut sim = Simulation::new(&s).unwrap();
    sim.run(&mut |_| {});
    sim.take_capture("bottleneck").unwrap()
}

#[test]
fn capture_holds_both_directions_in_time_order() {
    let pcap = capture(IpVersion::V4);
    let mut r = PcapReader::new(&pcap[..]).unwrap();
    let (mut last, mut fwd, mut rev) = (0, 0, 0);
    while let Some(rec) = r.next_packet() {
        let rec = rec.unwrap();
        assert!(rec.timestamp_ns >= last);
        last = rec.timestamp_ns;
        // Source 10.1.0.2 (left0) or 10.2.0.2 (right0).
        match rec.data[12..16] {
            [10, 1, 0, 2] => fwd += 1,
            [10, 2, 0, 2] => rev += 1,
            _ => panic!("unexpected source"),
        }
    }
    assert!(fwd > 130 && rev > 50, "{fwd} {rev}");
}

#[test]
fn capture_opens_in_tshark_without_malformed_packets() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("skipped: tshark is not installed");
        return;
    }
    for ip in [IpVersion::V4, IpVersion::V6] {
        let pcap = capture(ip);
        let path = std::env::temp_dir().join(format!(
            "layer4-sim-capture-{}-{ip:?}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, &pcap).unwrap();
        let stat = Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args(["-q", "-z", "io,stat,0"])
            .output()
            .unwrap();
        assert!(
            stat.status.success(),
            "{}",
            String::from_utf8_lossy(&stat.stderr)
        );
        let verbose = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .arg("-V")
            .output()
            .unwrap();
        assert!(verbose.status.success());
        let text = String::from_utf8_lossy(&verbose.stdout);
        assert!(
            !text.contains("Malformed"),
            "tshark found a malformed packet"
        );
        assert!(text.contains("Transmission Control Protocol"));
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn snaplen_128_keeps_headers_and_the_real_length() {
    for ip in [IpVersion::V4, IpVersion::V6] {
        let pcap = capture_with_snaplen(ip, 128);
        let whole = capture(ip);
        assert!(
            pcap.len() * 5 < whole.len(),
            "{} {}",
            pcap.len(),
            whole.len()
        );
        let mut r = PcapReader::new(&pcap[..]).unwrap();
        assert_eq!(r.snaplen(), 128);
        let mut w = PcapReader::new(&whole[..]).unwrap();
        let mut truncated = 0;
        while let Some(rec) = r.next_packet() {
            let rec = rec.unwrap();
            let full = w.next_packet().unwrap().unwrap();
            assert!(rec.data.len() <= 128);
            assert_eq!(rec.orig_len as usize, full.data.len());
            assert_eq!(rec.data, full.data[..rec.data.len()]);
            truncated += usize::from(rec.is_truncated());
        }
        assert!(w.next_packet().is_none());
        assert!(truncated > 130, "{ip:?}: {truncated} data packets cut");
    }
}

#[test]
fn truncated_capture_opens_in_tshark_with_both_lengths() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("skipped: tshark is not installed");
        return;
    }
    for ip in [IpVersion::V4, IpVersion::V6] {
        let pcap = capture_with_snaplen(ip, 128);
        let path = std::env::temp_dir().join(format!(
            "layer4-sim-snaplen-{}-{ip:?}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, &pcap).unwrap();
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .arg("-V")
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("Malformed"),
            "tshark found a malformed packet"
        );
        // tshark shows both lengths ("Frame 4: 1500 bytes on wire (12000 bits),
        // 128 bytes captured (1024 bits)"); some versions add "[Packet size limited
        // during capture]" where a dissector runs out of captured bytes, which is
        // not a malformed packet.
        assert!(
            text.contains("bytes on wire (12000 bits), 128 bytes captured (1024 bits)"),
            "tshark shows no truncated 1500-byte packet"
        );
        assert!(text.contains("Transmission Control Protocol"));
        // The headers survive the cut: ports and sequence numbers are decoded.
        assert!(text.contains("Destination Port: 5001"));
        assert!(text.contains("Sequence Number"));
    }
}
