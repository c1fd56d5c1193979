//! The one error type of the wire crate: every parse failure says why.

/// Why a sequence of bytes is not a valid packet of the expected kind.
///
/// Parsing never panics on untrusted input; it returns one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer ends before the header (or a length field) says it should.
    #[error("truncated packet")]
    Truncated,
    /// The IP version nibble is not the one expected.
    #[error("bad IP version {0}")]
    BadVersion(u8),
    /// A header-length field is below the minimum or beyond the buffer.
    #[error("bad header length")]
    BadHeaderLen,
    /// An IPv4 total length or IPv6 payload length is inconsistent with the buffer.
    #[error("bad total length")]
    BadTotalLen,
    /// A UDP or ICMP length field is inconsistent with the buffer.
    #[error("bad length field")]
    BadLength,
    /// The checksum does not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// A TCP or IPv6 option has an illegal length (RFC 9293 MUST-7).
    #[error("bad option (kind {kind})")]
    BadOption {
        /// The option kind whose length is illegal.
        kind: u8,
    },
    /// A field holds a value the format forbids (e.g. a zero UDP checksum over IPv6).
    #[error("illegal field value")]
    Illegal,
    /// The IPv6 extension-header chain is longer than we are willing to walk.
    #[error("extension header chain too long")]
    ChainTooLong,
    /// A well-formed packet of a kind this crate does not represent.
    #[error("unsupported packet kind")]
    Unsupported,
    /// The output buffer is too small for what is to be emitted.
    #[error("buffer too small to emit")]
    BufferTooSmall,
}

/// The result of a wire-format operation.
pub type Result<T> = core::result::Result<T, Error>;
