//! Reading capture files, which may be hostile.

use std::io::{self, Read};
use std::iter::FusedIterator;

use super::{
    LinkType, PcapError, PcapRecord, DEFAULT_SNAPLEN, FILE_HEADER_LEN, MAGIC_MICROS, MAGIC_NANOS,
    MAX_RECORD_LEN, NANOS_PER_SEC, RECORD_HEADER_LEN, VERSION_MAJOR, VERSION_MINOR,
};

/// The pcapng Section Header Block type, recognised to give a clearer error.
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;
/// Bits 16..26 (Reserved3) and bit 26 (R) of the link-type field.
const LINKTYPE_RESERVED_MASK: u32 = 0x0bff_0000;
/// The P bit: an FCS length is present.
const LINKTYPE_FCS_PRESENT: u32 = 0x0400_0000;

/// Reads a classic pcap file record by record.
///
/// Accepts files written with either magic (microsecond `0xa1b2c3d4` or nanosecond
/// `0xa1b23c4d`) in either byte order, version 2.0 to 2.4; timestamps come out in
/// nanoseconds. Headers are validated and a record is refused (with
/// [`PcapError::Format`]) when its captured length exceeds
/// `min(max(snaplen, DEFAULT_SNAPLEN), MAX_RECORD_LEN)` or its fractional timestamp
/// is a whole second or more, so a record never costs more than 16 MiB of memory
/// and the buffer is allocated only once the length has passed that check.
///
/// A record whose original length is below its captured length is not refused: its
/// `orig_len` is raised to the captured length, as the format allows.
///
/// The reader is fused: after the end of the file or any error, [`Self::next_packet`]
/// returns `None` (the position in the stream is no longer known after an error).
/// Nothing is buffered here; wrap files in a `std::io::BufReader`.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    inner: R,
    big_endian: bool,
    nanosecond: bool,
    version: (u16, u16),
    snaplen: u32,
    link_type: LinkType,
    fcs_len: Option<u8>,
    max_record_len: u32,
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Reads and validates the 24-octet file header.
    pub fn new(mut inner: R) -> Result<Self, PcapError> {
        let mut h = [0u8; FILE_HEADER_LEN];
        if read_full(&mut inner, &mut h)? < FILE_HEADER_LEN {
            return Err(PcapError::Truncated("file header"));
        }
        let magic_bytes = [h[0], h[1], h[2], h[3]];

        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-4
        //# These numbers can be used to distinguish sessions that have been
        //# written on little-endian machines from the ones written on big-
        //# endian machines, and to heuristically identify pcap files.
        let (big_endian, nanosecond) = match u32::from_le_bytes(magic_bytes) {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            le => match u32::from_be_bytes(magic_bytes) {
                MAGIC_MICROS => (true, false),
                MAGIC_NANOS => (true, true),
                _ if le == PCAPNG_MAGIC => {
                    return Err(PcapError::Format("pcapng file (only classic pcap is read)"))
                }
                _ => return Err(PcapError::Format("bad magic number")),
            },
        };
        let u16_at = |at: usize| {
            let b = [h[at], h[at + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_at = |at: usize| field_u32(&h, at, big_endian);

        let version = (u16_at(4), u16_at(6));
        if version.0 != VERSION_MAJOR {
            return Err(PcapError::Format("unsupported major version"));
        }
        if version.1 > VERSION_MINOR {
            return Err(PcapError::Format("unsupported minor version"));
        }
        // Reserved1 and Reserved2 (octets 8..16) MUST be ignored by readers.

        // A zero snaplen is forbidden but was written by old tools; like libpcap we
        // read such files, bounding records by DEFAULT_SNAPLEN instead.
        let snaplen = u32_at(16);

        let link_field = u32_at(20);
        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-4
        //# R (1 bit):  not used - MUST be set to zero by pcap writers, and MUST
        //# NOT be interpreted by pcap readers; a reader SHOULD treat a non-
        //# zero value as an error.
        if link_field & LINKTYPE_RESERVED_MASK != 0 {
            return Err(PcapError::Format(
                "reserved bits set in the link-type field",
            ));
        }
        let fcs_len =
            (link_field & LINKTYPE_FCS_PRESENT != 0).then(|| ((link_field >> 28) as u8) * 2);
        let link_type = LinkType::from((link_field & 0xffff) as u16);

        let max_record_len = snaplen.clamp(DEFAULT_SNAPLEN, MAX_RECORD_LEN);
        Ok(PcapReader {
            inner,
            big_endian,
            nanosecond,
            version,
            snaplen,
            link_type,
            fcs_len,
            max_record_len,
            done: false,
        })
    }

    /// The link type of every record (from the file header).
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The snapshot length from the file header, as written (possibly 0 in old files).
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Whether the file's timestamps have nanosecond resolution (else microsecond).
    pub fn is_nanosecond(&self) -> bool {
        self.nanosecond
    }

    /// Whether the file was written big-endian (the magic appeared byte-swapped).
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// The file format version, `(major, minor)`: `(2, 4)` for any modern file.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// Octets of frame check sequence at the end of each record, when the file header
    /// says (its P bit is set); `None` when unknown.
    pub fn fcs_len(&self) -> Option<u8> {
        self.fcs_len
    }

    /// The largest captured length a record of this file may have.
    pub fn max_record_len(&self) -> u32 {
        self.max_record_len
    }

    /// The next record; `None` at a clean end of file (between records) and after
    /// any error.
    pub fn next_packet(&mut self) -> Option<Result<PcapRecord, PcapError>> {
        if self.done {
            return None;
        }
        let next = self.read_record();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }

    fn read_record(&mut self) -> Option<Result<PcapRecord, PcapError>> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        match read_full(&mut self.inner, &mut h) {
            Ok(0) => return None,
            Ok(RECORD_HEADER_LEN) => {}
            Ok(_) => return Some(Err(PcapError::Truncated("record header"))),
            Err(e) => return Some(Err(e.into())),
        }
        Some(self.read_record_body(&h))
    }

    fn read_record_body(&mut self, h: &[u8; RECORD_HEADER_LEN]) -> Result<PcapRecord, PcapError> {
        let be = self.big_endian;
        let secs = field_u32(h, 0, be);
        let frac = field_u32(h, 4, be);
        let incl_len = field_u32(h, 8, be);
        let orig_len = field_u32(h, 12, be);

        let frac_ns = if self.nanosecond {
            if u64::from(frac) >= NANOS_PER_SEC {
                return Err(PcapError::Format("nanoseconds field is 10^9 or more"));
            }
            u64::from(frac)
        } else {
            if frac >= 1_000_000 {
                return Err(PcapError::Format("microseconds field is 10^6 or more"));
            }
            u64::from(frac) * 1000
        };
        // At most (2^32 - 1) * 10^9 + 10^9 - 1 < 2^63: no overflow.
        let timestamp_ns = u64::from(secs) * NANOS_PER_SEC + frac_ns;

        if incl_len > self.max_record_len {
            return Err(PcapError::Format(
                "captured length larger than the file allows",
            ));
        }

        //= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-5
        //# A pcap file reader MAY convert an Original Packet Length that is
        //# less than the Captured Packet Length to a value that is greater
        //# than or equal to the Captured Packet Length.
        let orig_len = orig_len.max(incl_len);

        // incl_len is bounded above (at most 16 MiB), so this allocation is too.
        let len = incl_len as usize;
        let mut data = Vec::with_capacity(len);
        (&mut self.inner)
            .take(u64::from(incl_len))
            .read_to_end(&mut data)?;
        if data.len() < len {
            return Err(PcapError::Truncated("record data"));
        }
        Ok(PcapRecord {
            timestamp_ns,
            orig_len,
            data,
        })
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Returns the underlying reader, positioned after the last record read.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Iterates over [`PcapReader::next_packet`].
impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<PcapRecord, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet()
    }
}

impl<R: Read> FusedIterator for PcapReader<R> {}

fn field_u32(h: &[u8], at: usize, big_endian: bool) -> u32 {
    let mut b = [0u8; 4];
    if let Some(src) = h.get(at..at + 4) {
        b.copy_from_slice(src);
    }
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// Fills `buf` from `r` until it is full or the stream ends; returns how much was read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::PcapWriter;
    use proptest::prelude::*;

    /// A microsecond, big-endian file as a SPARC would have written it: Ethernet,
    /// snaplen 65535, a 60-octet frame of which 42 octets were kept, then an empty one.
    fn big_endian_micro_file() -> Vec<u8> {
        let mut f = vec![
            0xa1, 0xb2, 0xc3, 0xd4, // magic, big-endian, microseconds
            0x00, 0x02, 0x00, 0x04, // version 2.4
            0xff, 0xff, 0xf1, 0xf0, // thiszone -3600 (ignored)
            0x00, 0x00, 0x00, 0x00, // sigfigs
            0x00, 0x00, 0xff, 0xff, // snaplen 65535
            0x00, 0x00, 0x00, 0x01, // Ethernet
            // record 1
            0x4d, 0x5b, 0x13, 0x80, // 1297814400 s
            0x00, 0x0f, 0x42, 0x3f, // 999999 us
            0x00, 0x00, 0x00, 0x2a, // captured 42
            0x00, 0x00, 0x00, 0x3c, // original 60
        ];
        f.extend((0..42u8).collect::<Vec<_>>());
        // record 2: zero-length
        f.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        f
    }

    fn sample_records() -> Vec<PcapRecord> {
        vec![
            PcapRecord {
                timestamp_ns: 0,
                orig_len: 0,
                data: vec![],
            },
            PcapRecord {
                timestamp_ns: 1,
                orig_len: 3,
                data: vec![0x45, 1, 2],
            },
            PcapRecord {
                timestamp_ns: 1_700_000_000_999_999_999,
                orig_len: 1500,
                data: vec![0x60; 1500],
            },
        ]
    }

    fn written(link: LinkType, snaplen: u32, recs: &[PcapRecord]) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), link, snaplen).unwrap();
        for r in recs {
            w.write_packet(r.timestamp_ns, &r.data).unwrap();
        }
        w.into_inner()
    }

    fn read_all(file: &[u8]) -> Result<Vec<PcapRecord>, PcapError> {
        PcapReader::new(file)?.collect()
    }

    #[test]
    fn written_file_reads_back_exactly() {
        let recs = sample_records();
        let file = written(LinkType::LinuxSll2, DEFAULT_SNAPLEN, &recs);
        let r = PcapReader::new(&file[..]).unwrap();
        assert_eq!(r.link_type(), LinkType::LinuxSll2);
        assert_eq!(r.snaplen(), DEFAULT_SNAPLEN);
        assert!(r.is_nanosecond());
        assert!(!r.is_big_endian());
        assert_eq!(r.version(), (2, 4));
        assert_eq!(r.fcs_len(), None);
        assert_eq!(r.collect::<Result<Vec<_>, _>>().unwrap(), recs);
    }

    #[test]
    fn truncation_at_snaplen_keeps_the_original_length() {
        let file = written(LinkType::Raw, 100, &sample_records());
        let got = read_all(&file).unwrap();
        assert_eq!(got[2].data, vec![0x60; 100]);
        assert_eq!(got[2].orig_len, 1500);
        assert!(got[2].is_truncated());
        assert_eq!(got[2].timestamp_ns, 1_700_000_000_999_999_999);
        assert!(!got[1].is_truncated());
    }

    #[test]
    fn big_endian_microsecond_file_is_read() {
        let file = big_endian_micro_file();
        let mut r = PcapReader::new(&file[..]).unwrap();
        assert!(r.is_big_endian());
        assert!(!r.is_nanosecond());
        assert_eq!(r.link_type(), LinkType::Ethernet);
        assert_eq!(r.snaplen(), 65535);
        let rec = r.next_packet().unwrap().unwrap();
        assert_eq!(rec.timestamp_ns, 1_297_814_400_999_999_000);
        assert_eq!(rec.orig_len, 60);
        assert_eq!(rec.data, (0..42u8).collect::<Vec<_>>());
        let rec = r.next_packet().unwrap().unwrap();
        assert_eq!(
            rec,
            PcapRecord {
                timestamp_ns: 1_000_002_000,
                orig_len: 0,
                data: vec![]
            }
        );
        assert!(r.next_packet().is_none());
        assert!(r.next_packet().is_none());
    }

    /// Rewrites a file in the other byte order, keeping its meaning.
    fn swap_order(file: &[u8]) -> Vec<u8> {
        let from_be = file[0] == 0xa1;
        let mut out = Vec::new();
        let swap4 = |out: &mut Vec<u8>, b: &[u8]| out.extend(b.iter().rev());
        swap4(&mut out, &file[0..4]);
        out.extend([file[5], file[4], file[7], file[6]]);
        for at in (8..24).step_by(4) {
            swap4(&mut out, &file[at..at + 4]);
        }
        let mut at = 24;
        while at < file.len() {
            let raw = file[at + 8..at + 12].try_into().unwrap();
            let incl = if from_be {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            };
            let incl = incl as usize;
            for f in 0..4 {
                swap4(&mut out, &file[at + 4 * f..at + 4 * f + 4]);
            }
            out.extend(&file[at + 16..at + 16 + incl]);
            at += 16 + incl;
        }
        out
    }

    #[test]
    fn swapped_magic_means_a_big_endian_file() {
        let recs = sample_records();
        let le = written(LinkType::Ipv6, 9000, &recs);
        let be = swap_order(&le);
        assert_eq!(be[..4], [0xa1, 0xb2, 0x3c, 0x4d]);
        let r = PcapReader::new(&be[..]).unwrap();
        assert!(r.is_big_endian() && r.is_nanosecond());
        assert_eq!(r.link_type(), LinkType::Ipv6);
        assert_eq!(r.snaplen(), 9000);
        assert_eq!(r.collect::<Result<Vec<_>, _>>().unwrap(), recs);
    }

    #[test]
    fn little_endian_microsecond_magic_is_read() {
        let le_micro = swap_order(&big_endian_micro_file());
        assert_eq!(le_micro[..4], [0xd4, 0xc3, 0xb2, 0xa1]);
        let r = PcapReader::new(&le_micro[..]).unwrap();
        assert!(!r.is_big_endian() && !r.is_nanosecond());
        let got = r.collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(got[0].timestamp_ns, 1_297_814_400_999_999_000);
    }

    fn header_error(edit: impl Fn(&mut Vec<u8>)) -> PcapError {
        let mut f = written(LinkType::Raw, 1000, &sample_records());
        edit(&mut f);
        PcapReader::new(&f[..]).unwrap_err()
    }

    fn assert_format(e: PcapError, want: &str) {
        match e {
            PcapError::Format(m) => assert_eq!(m, want),
            e => panic!("expected Format({want:?}), got {e:?}"),
        }
    }

    #[test]
    fn malformed_file_header_fields_are_rejected() {
        assert_format(header_error(|f| f[0] = 0x4e), "bad magic number");
        assert_format(header_error(|f| f[..4].fill(0)), "bad magic number");
        assert_format(
            header_error(|f| f[..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a])),
            "pcapng file (only classic pcap is read)",
        );
        assert_format(header_error(|f| f[4] = 1), "unsupported major version");
        assert_format(header_error(|f| f[4] = 3), "unsupported major version");
        assert_format(header_error(|f| f[5] = 2), "unsupported major version");
        assert_format(header_error(|f| f[6] = 5), "unsupported minor version");
        for bit in (16..26).chain([27]) {
            assert_format(
                header_error(|f| f[20..24].copy_from_slice(&(101u32 | 1 << bit).to_le_bytes())),
                "reserved bits set in the link-type field",
            );
        }
    }

    #[test]
    fn ignorable_header_fields_are_ignored() {
        let mut f = written(LinkType::Raw, 1000, &sample_records());
        f[8..16].fill(0xff); // reserved1, reserved2
        f[6] = 2; // version 2.2
        let r = PcapReader::new(&f[..]).unwrap();
        assert_eq!(r.version(), (2, 2));
        assert_eq!(r.count(), 3);
    }

    #[test]
    fn fcs_length_is_reported_when_present() {
        let mut f = written(LinkType::Ethernet, 1000, &[]);
        f[20..24].copy_from_slice(&(0x2400_0001u32).to_le_bytes());
        let r = PcapReader::new(&f[..]).unwrap();
        assert_eq!(r.fcs_len(), Some(4));
        assert_eq!(r.link_type(), LinkType::Ethernet);
        // FCS len without the P bit: unknown.
        f[20..24].copy_from_slice(&(0x2000_0001u32).to_le_bytes());
        assert_eq!(PcapReader::new(&f[..]).unwrap().fcs_len(), None);
    }

    #[test]
    fn every_truncation_of_the_file_header_is_truncated() {
        let f = written(LinkType::Raw, 1000, &[]);
        for n in 0..FILE_HEADER_LEN {
            match PcapReader::new(&f[..n]) {
                Err(PcapError::Truncated("file header")) => {}
                other => panic!("{n}: {other:?}"),
            }
        }
        assert!(PcapReader::new(&f[..]).unwrap().next_packet().is_none());
    }

    #[test]
    fn every_truncation_inside_a_record_is_an_error_and_between_records_is_eof() {
        let recs = sample_records();
        let f = written(LinkType::Raw, DEFAULT_SNAPLEN, &recs);
        let boundaries = [24, 24 + 16, 24 + 16 + 16 + 3, f.len()];
        for n in FILE_HEADER_LEN..=f.len() {
            let mut r = PcapReader::new(&f[..n]).unwrap();
            let mut ok = 0;
            let mut err = None;
            for item in r.by_ref() {
                match item {
                    Ok(_) => ok += 1,
                    Err(e) => err = Some(e),
                }
            }
            assert!(r.next_packet().is_none(), "fused after the end");
            if let Some(i) = boundaries.iter().position(|&b| b == n) {
                assert!(err.is_none(), "{n}: {err:?}");
                assert_eq!(ok, i);
            } else {
                let in_header = boundaries.iter().any(|&b| n > b && n < b + 16);
                let want = if in_header {
                    "record header"
                } else {
                    "record data"
                };
                match err {
                    Some(PcapError::Truncated(m)) => assert_eq!(m, want, "{n}"),
                    e => panic!("{n}: {e:?}"),
                }
            }
        }
    }

    fn record_error(edit: impl Fn(&mut Vec<u8>)) -> PcapError {
        let mut f = written(LinkType::Raw, 1000, &sample_records()[1..2]);
        edit(&mut f);
        let mut r = PcapReader::new(&f[..]).unwrap();
        let e = r.next_packet().unwrap().unwrap_err();
        assert!(r.next_packet().is_none(), "errors are sticky");
        e
    }

    #[test]
    fn malformed_record_fields_are_rejected() {
        let set = |at: usize, v: u32| {
            move |f: &mut Vec<u8>| f[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        assert_format(
            record_error(set(28, 1_000_000_000)),
            "nanoseconds field is 10^9 or more",
        );
        assert_format(
            record_error(set(28, u32::MAX)),
            "nanoseconds field is 10^9 or more",
        );
        let too_long = "captured length larger than the file allows";
        assert_format(record_error(set(32, DEFAULT_SNAPLEN + 1)), too_long);
        assert_format(record_error(set(32, u32::MAX)), too_long);
        // Within the bound but beyond the file: truncated, not a huge allocation.
        match record_error(set(32, DEFAULT_SNAPLEN)) {
            PcapError::Truncated("record data") => {}
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn microsecond_field_of_a_million_is_rejected() {
        let mut f = big_endian_micro_file();
        f[28..32].copy_from_slice(&1_000_000u32.to_be_bytes());
        let e = PcapReader::new(&f[..])
            .unwrap()
            .next_packet()
            .unwrap()
            .unwrap_err();
        assert_format(e, "microseconds field is 10^6 or more");
    }

    #[test]
    fn record_bound_follows_snaplen_up_to_16_mib() {
        let with_snaplen = |s: u32| {
            let mut f = written(LinkType::Raw, 1000, &[]);
            f[16..20].copy_from_slice(&s.to_le_bytes());
            PcapReader::new(&f[..]).unwrap().max_record_len()
        };
        assert_eq!(with_snaplen(0), DEFAULT_SNAPLEN);
        assert_eq!(with_snaplen(1500), DEFAULT_SNAPLEN);
        assert_eq!(with_snaplen(1 << 20), 1 << 20);
        assert_eq!(with_snaplen(u32::MAX), MAX_RECORD_LEN);
    }

    #[test]
    fn record_as_large_as_allowed_is_read() {
        let data = vec![7u8; (1 << 20) + 1];
        let f = written(
            LinkType::Raw,
            1 << 21,
            &[PcapRecord {
                timestamp_ns: 3,
                orig_len: 0,
                data: data.clone(),
            }],
        );
        let rec = PcapReader::new(&f[..])
            .unwrap()
            .next_packet()
            .unwrap()
            .unwrap();
        assert_eq!(rec.data, data);
        assert_eq!(rec.data.capacity(), data.len());
    }

    #[test]
    fn original_length_below_captured_length_is_raised() {
        let mut f = written(LinkType::Raw, 1000, &sample_records()[1..2]);
        f[36..40].copy_from_slice(&1u32.to_le_bytes());
        let rec = read_all(&f).unwrap().remove(0);
        assert_eq!(rec.orig_len, 3);
        assert_eq!(rec.data.len(), 3);
    }

    #[test]
    fn io_errors_are_reported_and_interrupts_retried() {
        /// Yields one byte per read, interrupting before each, then fails.
        #[derive(Debug)]
        struct Flaky<'a> {
            data: &'a [u8],
            interrupt: bool,
        }
        impl Read for Flaky<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.interrupt = !self.interrupt;
                if self.interrupt {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                match self.data.split_first() {
                    Some((&b, rest)) if !buf.is_empty() => {
                        buf[0] = b;
                        self.data = rest;
                        Ok(1)
                    }
                    _ if buf.is_empty() => Ok(0),
                    _ => Err(io::Error::other("cable cut")),
                }
            }
        }
        let f = written(LinkType::Raw, 1000, &sample_records());
        let r = PcapReader::new(Flaky {
            data: &f,
            interrupt: false,
        })
        .unwrap();
        let got: Vec<_> = r.collect();
        assert_eq!(got.len(), 4);
        assert!(got[..3].iter().all(Result::is_ok));
        assert!(matches!(&got[3], Err(PcapError::Io(e)) if e.to_string() == "cable cut"));
    }

    /// Every record's memory stays within the bound the header allows.
    fn check_bounded(bytes: &[u8]) {
        let Ok(r) = PcapReader::new(bytes) else {
            return;
        };
        let bound = r.max_record_len() as usize;
        assert!(bound <= MAX_RECORD_LEN as usize);
        // Each record consumes at least 16 octets, so this loop is bounded.
        for item in r.take(bytes.len() / RECORD_HEADER_LEN + 1) {
            let Ok(rec) = item else { break };
            assert!(rec.data.capacity() <= bound);
            assert!(rec.data.len() as u64 <= u64::from(rec.orig_len));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            check_bounded(&bytes);
        }

        #[test]
        fn arbitrary_records_after_a_valid_header_never_panic(
            magic in prop_oneof![Just(MAGIC_MICROS), Just(MAGIC_NANOS)],
            big_endian in any::<bool>(),
            snaplen in any::<u32>(),
            body in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut f = written(LinkType::Raw, 1000, &[]);
            let put = |f: &mut Vec<u8>, at: usize, v: u32| {
                let b = if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
                f[at..at + 4].copy_from_slice(&b);
            };
            put(&mut f, 0, magic);
            if big_endian {
                f.swap(4, 5);
                f.swap(6, 7);
            }
            put(&mut f, 16, snaplen);
            put(&mut f, 20, 101);
            f.extend(body);
            check_bounded(&f);
        }

        #[test]
        fn corrupted_valid_files_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut f = written(LinkType::Raw, 1000, &sample_records());
            for (at, byte) in edits {
                let i = at.index(f.len());
                f[i] = byte;
            }
            check_bounded(&f);
        }

        #[test]
        fn write_then_read_round_trips(
            snaplen in 1u32..2000,
            recs in proptest::collection::vec(
                (0u64..(u64::from(u32::MAX) + 1) * NANOS_PER_SEC,
                 proptest::collection::vec(any::<u8>(), 0..3000)),
                0..8,
            ),
        ) {
            let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, snaplen).unwrap();
            for (ts, data) in &recs {
                w.write_packet(*ts, data).unwrap();
            }
            let got = read_all(&w.into_inner()).unwrap();
            prop_assert_eq!(got.len(), recs.len());
            for (g, (ts, data)) in got.iter().zip(&recs) {
                prop_assert_eq!(g.timestamp_ns, *ts);
                prop_assert_eq!(g.orig_len as usize, data.len());
                prop_assert_eq!(&g.data[..], &data[..data.len().min(snaplen as usize)]);
            }
        }
    }
}
