//! `l4 demo` end to end: the built-in scenario runs and writes what `l4 sim` writes.

use std::fs;
use std::io::Read;
use std::process::Command;

#[test]
fn demo_writes_report_with_two_delivering_flows_plots_and_a_readable_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_l4"))
        .args(["demo", "--out", out_dir.to_str().unwrap(), "--quiet"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("l4 runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "--quiet prints nothing");

    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["scenario"], "demo");
    let flows = json["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 2);
    for f in flows {
        let delivered = f["bytes_delivered"].as_u64().expect("bytes_delivered");
        // Even the late flow has 15 s on a 50 Mbit/s link: far more than 1 MB.
        assert!(delivered > 1_000_000, "{}: {delivered} bytes", f["name"]);
    }
    let bottleneck = &json["links"][0];
    assert_eq!(bottleneck["name"], "bottleneck");
    assert!(bottleneck["utilization"].as_f64().unwrap() > 0.5);

    for stem in ["throughput", "cwnd", "rtt", "queue_delay"] {
        let png = fs::read(out_dir.join(format!("{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png");
        let svg = fs::read_to_string(out_dir.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{stem}.svg");
    }
    for csv in ["flows.csv", "links.csv"] {
        assert!(fs::metadata(out_dir.join(csv)).unwrap().len() > 0, "{csv}");
    }

    let pcap = out_dir.join("bottleneck.pcap");
    let mut magic = [0u8; 4];
    fs::File::open(&pcap)
        .and_then(|mut f| f.read_exact(&mut magic))
        .expect("bottleneck.pcap has a header");
    // Classic pcap with nanosecond timestamps, either byte order.
    assert!(
        magic == [0x4d, 0x3c, 0xb2, 0xa1] || magic == [0xa1, 0xb2, 0x3c, 0x4d],
        "pcap magic: {magic:02x?}"
    );
    match Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-c", "20", "-Y", "tcp"])
        .output()
    {
        Ok(t) => {
            assert!(
                t.status.success(),
                "tshark cannot read the capture: {}",
                String::from_utf8_lossy(&t.stderr)
            );
            let text = String::from_utf8_lossy(&t.stdout);
            assert!(text.contains("[SYN]"), "tshark output: {text}");
        }
        Err(e) => println!("skipping the tshark check: cannot run tshark ({e})"),
    }
}
