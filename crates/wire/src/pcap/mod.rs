//! Classic libpcap capture files: [`PcapWriter`], [`PcapReader`] and [`LinkType`].
//!
//! The format is described by draft-ietf-opsawg-pcap: a 24-octet file header, then
//! records of a 16-octet header followed by the captured bytes. Every multi-octet field
//! is in the byte order of the writing host, which readers detect from the magic number.
//!
//! - [`PcapWriter`] always writes **little-endian** files with **nanosecond**
//!   timestamps (magic `0xa1b23c4d`, version 2.4). Little-endian is chosen explicitly
//!   rather than "native" so that a capture is byte-for-byte the same on every host
//!   (the simulator's captures are reproducible); readers detect the order by magic.
//! - [`PcapReader`] accepts both the microsecond and the nanosecond magic in both
//!   byte orders and reports every timestamp in nanoseconds. It treats the file as
//!   hostile: every header is validated, a record may not claim more than
//!   [`MAX_RECORD_LEN`] octets, and nothing is allocated before that check passes.
//! - [`LinkType::ip_payload`] strips the link-layer header (Ethernet, Linux cooked
//!   SLL/SLL2, BSD loopback, ...) so tools can read what tcpdump captured.
//!
//! The wire crate stays sans-IO: this module only uses the `std::io::Read` /
//! `std::io::Write` values its caller hands it. Neither side buffers; wrap files in
//! `std::io::BufReader` / `std::io::BufWriter`.
//!
//! Errors are [`PcapError`] rather than [`crate::Error`]: reading a file can fail on
//! I/O as well as on format, and the caller wants the `io::Error` itself.
//!
//! ```
//! use layer4_wire::pcap::{LinkType, PcapReader, PcapWriter, DEFAULT_SNAPLEN};
//!
//! let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, DEFAULT_SNAPLEN)?;
//! w.write_packet(1_700_000_000_123_456_789, &[0x45, 0, 0, 20])?;
//! let file = w.into_inner();
//!
//! let mut r = PcapReader::new(&file[..])?;
//! assert_eq!(r.link_type(), LinkType::Raw);
//! let rec = r.next_packet().unwrap()?;
//! assert_eq!(rec.timestamp_ns, 1_700_000_000_123_456_789);
//! assert_eq!(rec.data, [0x45, 0, 0, 20]);
//! assert!(r.next_packet().is_none());
//! # Ok::<(), layer4_wire::pcap::PcapError>(())
//! ```

//= https://datatracker.ietf.org/doc/html/draft-ietf-opsawg-pcap-08#section-3
//# A capture file begins with a File Header, followed by zero or more
//# Packet Records, one per packet.

mod link;
mod read;
mod write;

pub use link::{ip_payload, LinkType};
pub use read::PcapReader;
pub use write::PcapWriter;

use std::io;

/// The magic number of a file whose record timestamps are seconds and microseconds.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// The magic number of a file whose record timestamps are seconds and nanoseconds.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// The snapshot length [`PcapWriter`] users should pass unless they want truncation:
/// libpcap's maximum for almost every link type, so tcpdump reads every record.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// The largest record [`PcapReader`] accepts (16 MiB), whatever the file's snaplen says.
///
/// A record is also refused when it is larger than `max(snaplen, DEFAULT_SNAPLEN)`.
pub const MAX_RECORD_LEN: u32 = 16 * 1024 * 1024;

/// The file format's major version (the only one that exists).
const VERSION_MAJOR: u16 = 2;
/// The file format's minor version written, and the highest one read.
const VERSION_MINOR: u16 = 4;
/// Length of the file header in octets.
const FILE_HEADER_LEN: usize = 24;
/// Length of a record header in octets.
const RECORD_HEADER_LEN: usize = 16;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Why a pcap file could not be read.
///
/// This is its own type rather than a [`crate::Error`] variant because reading a file
/// fails on I/O as well as on format. `PcapError` converts into `io::Error`
/// (kind `InvalidData` for format problems, `UnexpectedEof` for truncation) for
/// callers that work in `io::Result`.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The underlying reader failed.
    #[error("pcap I/O error: {0}")]
    Io(#[from] io::Error),
    /// A file or record header holds a value the format forbids, or more than we accept.
    #[error("bad pcap file: {0}")]
    Format(&'static str),
    /// The file ends inside the file header or inside a record (names which part).
    #[error("truncated pcap file: ends inside {0}")]
    Truncated(&'static str),
}

impl From<PcapError> for io::Error {
    fn from(e: PcapError) -> io::Error {
        match e {
            PcapError::Io(e) => e,
            PcapError::Format(_) => io::Error::new(io::ErrorKind::InvalidData, e),
            PcapError::Truncated(_) => io::Error::new(io::ErrorKind::UnexpectedEof, e),
        }
    }
}

/// One packet read from a capture file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PcapRecord {
    /// Capture time in nanoseconds since 1970-01-01 00:00:00 UTC (microsecond files
    /// are converted, so their values are multiples of 1000).
    pub timestamp_ns: u64,
    /// The packet's length on the wire. Never less than `data.len()`: a file that
    /// claims otherwise is corrected as the format allows (see [`PcapReader`]).
    pub orig_len: u32,
    /// The captured octets, starting with the link-layer header of the file's
    /// [`LinkType`]; shorter than `orig_len` when the capture truncated the packet.
    pub data: Vec<u8>,
}

impl PcapRecord {
    /// Whether the capture kept less than the whole packet.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_to_io_errors_with_a_meaningful_kind() {
        let e: io::Error = PcapError::Format("x").into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let e: io::Error = PcapError::Truncated("record header").into();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let e: io::Error = PcapError::Io(io::Error::other("disk")).into();
        assert_eq!(e.kind(), io::ErrorKind::Other);
    }

    #[test]
    fn errors_say_why() {
        assert_eq!(
            PcapError::Truncated("record data").to_string(),
            "truncated pcap file: ends inside record data"
        );
        assert_eq!(
            PcapError::Format("bad magic number").to_string(),
            "bad pcap file: bad magic number"
        );
    }

    #[test]
    fn record_knows_when_it_is_truncated() {
        let mut r = PcapRecord {
            timestamp_ns: 0,
            orig_len: 3,
            data: vec![1, 2, 3],
        };
        assert!(!r.is_truncated());
        r.orig_len = 4;
        assert!(r.is_truncated());
    }
}
