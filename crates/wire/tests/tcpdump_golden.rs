//! Golden test: every packet of every capture in `tests/data` (real Linux traffic) and
//! `tests/data/crafted` (hand-made edge cases, see its README) renders exactly as
//! tcpdump 4.99.3 printed it: `NAME.tcpdump.txt` for `tcpdump -n -S -t` and
//! `NAME.tcpdump-v.txt` for `tcpdump -n -S -t -v`.
//!
//! A packet's tcpdump output may span several lines (hex dumps of undecoded data,
//! the IPv4 header details of `-v`): a line that starts with a tab or four spaces
//! continues the packet before it.
//!
//! Where our output differs for a reason we accept, the packet is listed in
//! [`EXCEPTIONS`] with the reason; the test checks that every listed packet still
//! differs, so the list cannot go stale. The list is empty: every packet matches.
//! (Known differences on packets *not* in these captures, such as application
//! protocols tcpdump decodes by port, are listed in the `layer4_wire::dump` docs.)

use std::fs;
use std::path::{Path, PathBuf};

use layer4_wire::dump::dump;
use layer4_wire::pcap::PcapReader;

/// Packets whose rendering differs from tcpdump's on purpose: (capture, verbose,
/// packet, why). A packet is named by its case name in `NAME.cases.txt` (crafted
/// captures) or by its 1-based number (`#3`).
const EXCEPTIONS: &[(&str, bool, &str, &str)] = &[];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every `.pcap` under `tests/data` and `tests/data/crafted`, sorted.
fn captures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [data_dir(), data_dir().join("crafted")] {
        for entry in fs::read_dir(&dir).expect("tests/data is readable") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "pcap") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 17, "golden captures missing: {files:?}");
    files
}

/// tcpdump's output for one capture, one string per packet (continuation lines
/// joined with `\n`).
fn expected(pcap: &Path, verbose: bool) -> Vec<String> {
    let suffix = if verbose {
        "tcpdump-v.txt"
    } else {
        "tcpdump.txt"
    };
    let path = pcap.with_extension(suffix);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut packets: Vec<String> = Vec::new();
    for line in text.lines() {
        let continues = line.starts_with('\t') || line.starts_with("    ");
        match packets.last_mut() {
            Some(last) if continues => {
                last.push('\n');
                last.push_str(line);
            }
            _ => packets.push(line.to_string()),
        }
    }
    packets
}

/// Our rendering of every packet of a capture.
fn rendered(pcap: &Path, verbose: bool) -> Vec<String> {
    let file = fs::File::open(pcap).expect("capture opens");
    let mut reader = PcapReader::new(std::io::BufReader::new(file)).expect("pcap header");
    let link = reader.link_type();
    let mut out = Vec::new();
    while let Some(record) = reader.next_packet() {
        let record = record.expect("pcap record");
        let ip = link
            .ip_payload(&record.data)
            .expect("every golden frame carries IP");
        let header_len = record.data.len() - ip.len();
        let orig = (record.orig_len as usize).saturating_sub(header_len);
        out.push(dump(ip).with_orig_len(orig).verbose(verbose).to_string());
    }
    out
}

fn case_names(pcap: &Path) -> Vec<String> {
    fs::read_to_string(pcap.with_extension("cases.txt"))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

fn exception(name: &str, verbose: bool, number: usize, case: &str) -> Option<&'static str> {
    let numbered = format!("#{number}");
    EXCEPTIONS
        .iter()
        .find(|(n, v, packet, _)| {
            *n == name && *v == verbose && (*packet == case || *packet == numbered)
        })
        .map(|e| e.3)
}

fn check(verbose: bool) {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut excepted = 0;
    for pcap in captures() {
        let name = pcap
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let want = expected(&pcap, verbose);
        let got = rendered(&pcap, verbose);
        let cases = case_names(&pcap);
        assert_eq!(
            got.len(),
            want.len(),
            "{name}: {} packets but tcpdump printed {} (verbose {verbose})",
            got.len(),
            want.len()
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let number = i + 1;
            let case = cases.get(i).map(String::as_str).unwrap_or("");
            match exception(&name, verbose, number, case) {
                Some(_) if g == w => failures.push(format!(
                    "{name} #{number} ({case}) is listed as an exception but now matches"
                )),
                Some(_) => excepted += 1,
                None if g != w => failures.push(format!(
                    "{name} #{number} ({case})\n  tcpdump: {w:?}\n  ours:    {g:?}"
                )),
                None => compared += 1,
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches (verbose {verbose}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("verbose {verbose}: {compared} packets match tcpdump, {excepted} listed exceptions");
}

#[test]
fn every_packet_renders_like_tcpdump() {
    check(false);
}

#[test]
fn every_packet_renders_like_tcpdump_verbose() {
    check(true);
}
