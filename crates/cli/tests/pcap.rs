//! `l4 pcap` end to end: the binary against the golden captures of the wire crate.
//!
//! Exit status contract: 0 success, 1 `--check` found a bad packet, 2 an error (with
//! one `l4: error: ...` line on stderr, never a panic).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn l4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_l4"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("l4 runs")
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/tests/data")
}

fn golden(name: &str) -> String {
    data().join(name).to_string_lossy().into_owned()
}

/// The kernel golden captures (not the crafted ones).
fn goldens() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(data())
        .expect("golden data")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 14);
    files
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 errors")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("l4-pcap-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write temp file");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A clean error: exit status 2, one `l4: error:` line, no panic, nothing on stdout
/// unless packets came before the error.
fn assert_clean_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("l4: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn without_timestamps_every_golden_equals_tcpdump() {
    for pcap in goldens() {
        let o = l4(&["pcap", "-t", &pcap.to_string_lossy()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let want = fs::read_to_string(pcap.with_extension("tcpdump.txt")).expect("golden text");
        assert_eq!(stdout(&o), want, "{}", pcap.display());
    }
}

#[test]
fn verbose_equals_tcpdump_v() {
    for pcap in goldens() {
        let o = l4(&["pcap", "-t", "-v", &pcap.to_string_lossy()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let want = fs::read_to_string(pcap.with_extension("tcpdump-v.txt")).expect("golden text");
        assert_eq!(stdout(&o), want, "{}", pcap.display());
    }
}

#[test]
fn timestamps_are_seconds_and_nanoseconds() {
    let o = l4(&["pcap", &golden("icmp4_echo.pcap")]);
    assert!(o.status.success());
    let want = fs::read_to_string(data().join("icmp4_echo.tcpdump.txt")).expect("golden");
    let out = stdout(&o);
    for (line, expected) in out.lines().zip(want.lines()) {
        let (stamp, rest) = line.split_once(' ').expect("timestamp then line");
        let (secs, nanos) = stamp.split_once('.').expect("SECONDS.NANOSECONDS");
        assert!(secs.parse::<u64>().is_ok() && secs.len() == 10, "{stamp}");
        assert!(nanos.len() == 9 && nanos.parse::<u32>().is_ok(), "{stamp}");
        assert_eq!(rest, expected);
    }
    assert_eq!(out.lines().count(), 4);
}

#[test]
fn count_stops_after_n_packets_across_files() {
    let o = l4(&[
        "pcap",
        "-t",
        "-c",
        "3",
        &golden("udp4.pcap"),
        &golden("udp6.pcap"),
    ]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 3);
    let o = l4(&[
        "pcap",
        "-t",
        "-c",
        "14",
        &golden("udp4.pcap"),
        &golden("udp6.pcap"),
    ]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 14);
    assert!(out.lines().nth(13).expect("line 14").starts_with("IP6 "));
}

#[test]
fn check_passes_every_golden() {
    let files: Vec<String> = goldens()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["pcap", "--check"];
    args.extend(files.iter().map(String::as_str));
    let o = l4(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "96 packets, 0 bad\n");
}

#[test]
fn check_fails_on_a_corrupted_copy() {
    let dir = TempDir::new("corrupt");
    let mut bytes = fs::read(data().join("tcp4_session.pcap")).expect("golden");
    // The fourth packet carries 36 bytes of data; flip a bit in its last byte.
    // File header 24 bytes, then records of 16 + caplen bytes.
    let mut at = 24;
    for _ in 0..3 {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + caplen as usize;
    }
    let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
    bytes[at + 16 + caplen as usize - 1] ^= 0x04;
    let path = dir.file("corrupt.pcap", &bytes);

    let o = l4(&["pcap", "--check", &path]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("packet 4 "), "{out}");
    assert!(
        lines[0].contains("bad tcp checksum: IP 10.77.1.2.46800 > 10.77.2.2.5000: Flags [P.]"),
        "{out}"
    );
    assert_eq!(lines[1], "10 packets, 1 bad");
    // Without --check the corrupted copy prints like the original (tcpdump does not
    // verify checksums without -v either).
    let o = l4(&["pcap", "-t", &path]);
    assert!(o.status.success());
    let want = fs::read_to_string(data().join("tcp4_session.tcpdump.txt")).expect("golden");
    assert_eq!(stdout(&o), want);
}

#[test]
fn missing_file_is_a_clean_error() {
    let o = l4(&["pcap", "/nonexistent/l4-test.pcap"]);
    assert_clean_error(&o, "/nonexistent/l4-test.pcap: ");
    assert!(o.stdout.is_empty());
}

#[test]
fn non_pcap_file_is_a_clean_error() {
    let dir = TempDir::new("notpcap");
    let path = dir.file("notes.txt", b"this is not a capture file at all\n");
    assert_clean_error(&l4(&["pcap", &path]), "bad magic number");
}

#[test]
fn pcapng_is_a_clean_error() {
    let dir = TempDir::new("pcapng");
    let mut ng = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a,
    ];
    ng.extend([
        1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0, 0, 0,
    ]);
    let path = dir.file("capture.pcapng", &ng);
    assert_clean_error(&l4(&["pcap", &path]), "pcapng");
}

#[test]
fn truncated_file_prints_what_it_can_then_errors() {
    let dir = TempDir::new("truncated");
    let bytes = fs::read(data().join("udp4.pcap")).expect("golden");
    // File header, first record (16 + 42 bytes), and part of the second.
    let path = dir.file("short.pcap", &bytes[..24 + 16 + 42 + 20]);
    let o = l4(&["pcap", "-t", &path]);
    assert_clean_error(&o, "truncated pcap file");
    assert_eq!(
        stdout(&o),
        "IP 10.77.1.2.40000 > 10.77.2.2.7777: UDP, length 0\n"
    );
}

#[test]
fn non_ip_frames_are_noted_and_skipped() {
    let dir = TempDir::new("arp");
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    file.extend(65535u32.to_le_bytes());
    file.extend(1u32.to_le_bytes()); // Ethernet
    let mut arp = vec![0xff; 6];
    arp.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend([0; 28]);
    file.extend(5u32.to_le_bytes()); // seconds
    file.extend(7u32.to_le_bytes()); // microseconds
    file.extend((arp.len() as u32).to_le_bytes());
    file.extend((arp.len() as u32).to_le_bytes());
    file.extend(&arp);
    let path = dir.file("arp.pcap", &file);
    let o = l4(&["pcap", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "5.000007000 non-IP frame, length 42 (skipped)\n"
    );
    let o = l4(&["pcap", "--check", &path]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "1 packets, 0 bad, 1 not checked (not IP, or cut short by the capture)\n"
    );
}

#[test]
fn no_file_is_a_usage_error() {
    let o = l4(&["pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FILE"));
}
