//! Packet capture: a pcap file in memory per captured link, both directions, as the
//! packets enter each direction (after the middlebox, before the queue, so packets
//! the queue or the loss model drops are in the file). Raw IP records
//! (`LINKTYPE_RAW`), nanosecond timestamps of virtual time (the run starts at the
//! Unix epoch).

use layer4::time::Instant;
use layer4::wire::pcap::DEFAULT_SNAPLEN;
use layer4::wire::{LinkType, PcapWriter};

/// One link's capture.
#[derive(Debug)]
pub struct Capture {
    writer: Option<PcapWriter<Vec<u8>>>,
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
    /// An empty capture (the file header already written).
    pub fn new() -> Capture {
        Capture {
            writer: PcapWriter::new(Vec::new(), LinkType::Raw, DEFAULT_SNAPLEN).ok(),
            packets: 0,
            write_errors: 0,
        }
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

    /// The pcap file so far; the capture starts again empty.
    pub fn take(&mut self) -> Vec<u8> {
        let old = std::mem::take(self);
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
}
