//! Writing capture files.

use std::io::{self, Write};

use super::{
    LinkType, PcapRecord, FILE_HEADER_LEN, MAGIC_NANOS, MAX_RECORD_LEN, NANOS_PER_SEC,
    RECORD_HEADER_LEN, VERSION_MAJOR, VERSION_MINOR,
};

/// Writes a classic pcap file: little-endian, nanosecond timestamps, version 2.4.
///
/// [`PcapWriter::new`] writes the file header at once; each
/// [`PcapWriter::write_packet`] writes one record with two `write_all` calls and
/// nothing is buffered here, so give it a `std::io::BufWriter` when writing to a file
/// and call [`PcapWriter::flush`] (or the `BufWriter`'s) before the end. A failed write
/// may leave a partial record behind; the file is then truncated for every reader.
///
/// tcpdump (libpcap) refuses records larger than 262144 octets
/// ([`super::DEFAULT_SNAPLEN`]) for most link types, so keep `snaplen` at or below that
/// for files meant for tcpdump.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    inner: W,
    link_type: LinkType,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header and returns a writer for the records.
    ///
    /// Records longer than `snaplen` are truncated to it. `snaplen` must be in
    /// `1..=MAX_RECORD_LEN` so that [`super::PcapReader`] reads every file written
    /// here; anything else is an `InvalidInput` error and nothing is written.
    pub fn new(mut inner: W, link_type: LinkType, snaplen: u32) -> io::Result<Self> {
        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-4
        //# This value MUST NOT be zero; if no limit was specified, the value
        //# SHOULD be a number greater than or equal to the largest packet
        //# length in the file.
        if snaplen == 0 || snaplen > MAX_RECORD_LEN {
            return Err(invalid_input("pcap snaplen must be in 1..=16 MiB"));
        }
        let mut h = [0u8; FILE_HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC_NANOS.to_le_bytes());
        h[4..6].copy_from_slice(&VERSION_MAJOR.to_le_bytes());
        h[6..8].copy_from_slice(&VERSION_MINOR.to_le_bytes());
        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-4
        //# Reserved1 (32 bits):  not used - SHOULD be filled with 0 by pcap file
        //# writers, and MUST be ignored by pcap file readers.
        // Reserved1 and Reserved2 (octets 8..16) stay zero.
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        // No FCS length, reserved bits zero: the field is just the link type.
        h[20..24].copy_from_slice(&u32::from(link_type).to_le_bytes());
        inner.write_all(&h)?;
        Ok(PcapWriter {
            inner,
            link_type,
            snaplen,
        })
    }

    /// Writes one packet captured at `timestamp_ns` (nanoseconds since the Unix epoch).
    ///
    /// The record keeps the first `snaplen` octets of `data` and `data.len()` as the
    /// original length. Errors with `InvalidInput`, writing nothing, when the
    /// timestamp is past 2106-02-07 (the seconds field is 32 bits) or `data` is 4 GiB
    /// or longer.
    pub fn write_packet(&mut self, timestamp_ns: u64, data: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(data.len())
            .map_err(|_| invalid_input("packet too long for a pcap record"))?;
        self.write(timestamp_ns, data, orig_len)
    }

    /// Writes a record read from another file, keeping its original length (so a
    /// record that was already truncated stays marked as truncated).
    ///
    /// `record.data` is cut to this writer's snaplen; the original length written is
    /// the larger of `record.orig_len` and the data length. Errors as
    /// [`PcapWriter::write_packet`].
    pub fn write_record(&mut self, record: &PcapRecord) -> io::Result<()> {
        let data_len = u32::try_from(record.data.len())
            .map_err(|_| invalid_input("packet too long for a pcap record"))?;
        self.write(
            record.timestamp_ns,
            &record.data,
            record.orig_len.max(data_len),
        )
    }

    fn write(&mut self, timestamp_ns: u64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = u32::try_from(timestamp_ns / NANOS_PER_SEC)
            .map_err(|_| invalid_input("timestamp beyond the pcap range (year 2106)"))?;
        // Below 10^9, so it fits.
        let nanos = (timestamp_ns % NANOS_PER_SEC) as u32;
        let incl = data.len().min(self.snaplen as usize);
        let data = data.get(..incl).unwrap_or(data);

        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-5
        //# It will be the minimum value among the
        //# Original Packet Length and the snapshot length for the interface
        //# (SnapLen, defined in Figure 1).
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&nanos.to_le_bytes());
        // incl <= snaplen <= MAX_RECORD_LEN, so it fits in u32.
        h[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.inner.write_all(&h)?;
        self.inner.write_all(data)
    }

    /// The link type written in the file header.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The snapshot length written in the file header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer, mutably (writing to it directly corrupts the file).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Returns the underlying writer, without flushing it.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

fn invalid_input(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::DEFAULT_SNAPLEN;

    #[test]
    fn file_header_is_little_endian_nanosecond_2_4() {
        let w = PcapWriter::new(Vec::new(), LinkType::Raw, DEFAULT_SNAPLEN).unwrap();
        assert_eq!(
            w.into_inner(),
            [
                0x4d, 0x3c, 0xb2, 0xa1, // magic 0xa1b23c4d, little-endian
                2, 0, 4, 0, // version 2.4
                0, 0, 0, 0, // reserved1 (thiszone)
                0, 0, 0, 0, // reserved2 (sigfigs)
                0x00, 0x00, 0x04, 0x00, // snaplen 262144
                101, 0, 0, 0, // LINKTYPE_RAW
            ]
        );
    }

    #[test]
    fn record_holds_seconds_nanoseconds_and_both_lengths() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, 4).unwrap();
        w.write_packet(1_700_000_000_123_456_789, &[1, 2, 3, 4, 5, 6])
            .unwrap();
        w.write_packet(5, &[9]).unwrap();
        let f = w.into_inner();
        assert_eq!(f[20..24], [1, 0, 0, 0]);
        assert_eq!(
            f[24..],
            [
                0x00, 0xf1, 0x53, 0x65, // 1700000000 s
                0x15, 0xcd, 0x5b, 0x07, // 123456789 ns
                4, 0, 0, 0, // captured: cut to snaplen
                6, 0, 0, 0, // original
                1, 2, 3, 4, //
                0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9,
            ]
        );
    }

    #[test]
    fn zero_or_oversized_snaplen_is_refused_before_writing() {
        for snaplen in [0, MAX_RECORD_LEN + 1, u32::MAX] {
            let mut out = Vec::new();
            let e = PcapWriter::new(&mut out, LinkType::Raw, snaplen).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(out.is_empty());
        }
        assert!(PcapWriter::new(Vec::new(), LinkType::Raw, MAX_RECORD_LEN).is_ok());
    }

    #[test]
    fn timestamp_past_2106_is_refused_before_writing() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, 100).unwrap();
        let last = (u64::from(u32::MAX) + 1) * NANOS_PER_SEC - 1;
        w.write_packet(last, &[]).unwrap();
        let len = w.get_ref().len();
        let e = w.write_packet(last + 1, &[1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(w.get_ref().len(), len);
        assert_eq!(
            w.get_ref()[24..32],
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x9a, 0x3b]
        );
    }

    #[test]
    fn write_record_keeps_an_earlier_truncation() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, 2).unwrap();
        let rec = PcapRecord {
            timestamp_ns: 7,
            orig_len: 1500,
            data: vec![1, 2, 3],
        };
        w.write_record(&rec).unwrap();
        // orig_len below the data length is raised to it.
        let rec = PcapRecord {
            timestamp_ns: 7,
            orig_len: 0,
            data: vec![1],
        };
        w.write_record(&rec).unwrap();
        let f = w.into_inner();
        assert_eq!(f[32..40], [2, 0, 0, 0, 0xdc, 0x05, 0, 0]);
        assert_eq!(f[40..42], [1, 2]);
        assert_eq!(f[50..58], [1, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn accessors_report_the_header() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::LinuxSll2, 9000).unwrap();
        assert_eq!(w.link_type(), LinkType::LinuxSll2);
        assert_eq!(w.snaplen(), 9000);
        w.flush().unwrap();
        assert_eq!(w.get_mut().len(), 24);
    }

    #[test]
    fn write_errors_are_passed_through() {
        #[derive(Debug)]
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = PcapWriter::new(Full, LinkType::Raw, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    }
}
