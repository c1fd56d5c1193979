//! Packet capture: a pcap file in memory per captured link, both directions, as the
//! packets enter each direction (after the middlebox, before the queue, so packets
//! the queue or the loss model drops are in the file). Raw IP records
//! (`LINKTYPE_RAW`), nanosecond timestamps of virtual time (the run starts at the
//! Unix epoch).
//!
//! A capture may keep only the first `snaplen` octets of each packet (the scenario
//! default is 128, enough for the IP and TCP headers): the record then holds the
//! cut data and the packet's real length as its original length, which readers
//! (tshark: "Packet size limited during capture") show as a truncated packet.

use layer4::time::Instant;
use layer4::wire::pcap::DEFAULT_SNAPLEN;
use layer4::wire::{LinkType, PcapWriter};

/// One link's capture.
#[derive(Debug)]
pub struct Capture {
    writer: Option<PcapWriter<Vec<u8>>>,
    snaplen: u32,
    packets: u64,
    /// Records that could not be written (never, for an in-memory file, unless a
    /// timestamp passes the year 2106).
    pub write_errors: u64,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

impl Capture {
    /// An empty capture of whole packets (the file header already written).
    pub fn new() -> Capture {
        Capture::with_snaplen(0)
    }

    /// An empty capture keeping the first `snaplen` octets of each packet; 0, or
    /// anything above libpcap's limit ([`DEFAULT_SNAPLEN`], 262144), keeps whole
    /// packets (the file header says 262144 then).
    pub fn with_snaplen(snaplen: u32) -> Capture {
        let snaplen = if snaplen == 0 || snaplen > DEFAULT_SNAPLEN {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        Capture {
            writer: PcapWriter::new(Vec::new(), LinkType::Raw, snaplen).ok(),
            snaplen,
            packets: 0,
            write_errors: 0,
        }
    }

    /// The snapshot length written in the file header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Records `data` seen at `now`.
    pub fn record(&mut self, now: Instant, data: &[u8]) {
        let Some(w) = self.writer.as_mut() else {
            self.write_errors += 1;
            return;
        };
        match w.write_packet(now.as_nanos(), data) {
            Ok(()) => self.packets += 1,
            Err(_) => self.write_errors += 1,
        }
    }

    /// Packets recorded.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The pcap file so far; the capture starts again empty, same snapshot length.
    pub fn take(&mut self) -> Vec<u8> {
        let old = std::mem::replace(self, Capture::with_snaplen(self.snaplen));
        old.writer.map(|w| w.into_inner()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer4::wire::PcapReader;

    #[test]
    fn capture_reads_back_with_nanosecond_timestamps() {
        let mut c = Capture::new();
        c.record(Instant::from_nanos(1_500_000_123), &[0x45, 0, 0, 20]);
        let bytes = c.take();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert!(r.is_nanosecond());
        assert_eq!(r.link_type().value(), 101);
        let rec = r.next_packet().unwrap().unwrap();
        assert_eq!(rec.data, [0x45, 0, 0, 20]);
        assert_eq!(c.packets(), 0, "take starts a new file");
    }

    #[test]
    fn snaplen_cuts_records_and_keeps_the_original_length() {
        let mut c = Capture::with_snaplen(128);
        let packet: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        c.record(Instant::from_nanos(1), &packet);
        c.record(Instant::from_nanos(2), &packet[..60]);
        let bytes = c.take();
        assert_eq!(c.snaplen(), 128, "take keeps the snapshot length");
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.snaplen(), 128);
        let rec = r.next_packet().unwrap().unwrap();
        assert_eq!(rec.data, packet[..128]);
        assert_eq!(rec.orig_len, 1500);
        assert!(rec.is_truncated());
        let rec = r.next_packet().unwrap().unwrap();
        assert_eq!(rec.data, packet[..60]);
        assert_eq!(rec.orig_len, 60);
        assert!(!rec.is_truncated());
    }

    #[test]
    fn zero_snaplen_captures_whole_packets() {
        for snaplen in [0, u32::MAX] {
            let mut c = Capture::with_snaplen(snaplen);
            assert_eq!(c.snaplen(), DEFAULT_SNAPLEN);
            c.record(Instant::from_nanos(1), &[7; 9000]);
            let bytes = c.take();
            let rec = PcapReader::new(&bytes[..])
                .unwrap()
                .next_packet()
                .unwrap()
                .unwrap();
            assert_eq!(rec.data.len(), 9000);
        }
    }
}
