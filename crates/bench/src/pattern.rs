//! The byte stream `bulk` sends and checks: [`PatternSource`] and [`PatternSink`].
//!
//! Byte `i` of the stream is `i % 251` (251 is prime, so the pattern does not line up
//! with segment, buffer or window sizes and a lost, duplicated or reordered chunk shows
//! as a mismatch). The source hands out slices of one precomputed buffer, so sending
//! costs the stack's copy only; the sink compares each chunk the application read with
//! the same buffer (a `memcmp`).

use crate::error::BenchError;

/// The pattern's period in bytes.
pub const PERIOD: usize = 251;

/// The largest slice handed to or read from a socket at once (1 MiB).
pub const CHUNK: usize = 1 << 20;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % PERIOD) as u8).collect()
}

/// The sending application: a `total`-byte pattern stream, offered in chunks.
#[derive(Debug)]
pub struct PatternSource {
    data: Vec<u8>,
    total: u64,
    sent: u64,
}

impl PatternSource {
    /// A stream of `total` bytes.
    pub fn new(total: u64) -> Self {
        PatternSource {
            data: pattern(CHUNK + PERIOD),
            total,
            sent: 0,
        }
    }

    /// The next bytes to send (at most [`CHUNK`]); empty when everything was sent.
    pub fn next_chunk(&self) -> &[u8] {
        let want = (self.total - self.sent).min(CHUNK as u64) as usize;
        let off = (self.sent % PERIOD as u64) as usize;
        &self.data[off..off + want]
    }

    /// Record that the stack took `n` bytes of [`PatternSource::next_chunk`].
    pub fn advance(&mut self, n: usize) {
        self.sent = (self.sent + n as u64).min(self.total);
    }

    /// Bytes handed to the stack so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the whole stream was handed to the stack.
    pub fn is_done(&self) -> bool {
        self.sent == self.total
    }
}

/// The receiving application: reads into its own buffer and checks the pattern.
#[derive(Debug)]
pub struct PatternSink {
    expected: Vec<u8>,
    buf: Vec<u8>,
    received: u64,
    verify: bool,
}

impl PatternSink {
    /// A sink that checks what it receives if `verify`.
    pub fn new(verify: bool) -> Self {
        PatternSink {
            expected: if verify {
                pattern(CHUNK + PERIOD)
            } else {
                Vec::new()
            },
            buf: vec![0; CHUNK],
            received: 0,
            verify,
        }
    }

    /// The application buffer to read into ([`CHUNK`] bytes).
    pub fn buf_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Record that the first `n` bytes of [`PatternSink::buf_mut`] were read from the
    /// stack; checks them against the pattern if verifying.
    pub fn accept(&mut self, n: usize) -> Result<(), BenchError> {
        let n = n.min(self.buf.len());
        if self.verify {
            let off = (self.received % PERIOD as u64) as usize;
            let got = &self.buf[..n];
            let want = &self.expected[off..off + n];
            if got != want {
                let at = got.iter().zip(want).position(|(g, w)| g != w).unwrap_or(0);
                return Err(BenchError::Corrupt {
                    offset: self.received + at as u64,
                });
            }
        }
        self.received += n as u64;
        Ok(())
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Move `total` bytes from source to sink in `step`-sized pieces.
    fn pump(total: u64, step: usize) -> Result<u64, BenchError> {
        let mut src = PatternSource::new(total);
        let mut sink = PatternSink::new(true);
        while !src.is_done() {
            let chunk = src.next_chunk();
            let n = chunk.len().min(step);
            sink.buf_mut()[..n].copy_from_slice(&chunk[..n]);
            src.advance(n);
            sink.accept(n)?;
        }
        Ok(sink.received())
    }

    #[test]
    fn stream_in_odd_pieces_verifies() {
        assert_eq!(
            pump(3 * CHUNK as u64 + 17, 1460).unwrap(),
            3 * CHUNK as u64 + 17
        );
        assert_eq!(pump(10_000, 1).unwrap(), 10_000);
    }

    #[test]
    fn skipped_byte_is_reported_at_its_offset() {
        let src = PatternSource::new(10_000);
        let mut sink = PatternSink::new(true);
        sink.buf_mut()[..100].copy_from_slice(&src.next_chunk()[..100]);
        sink.accept(100).unwrap();
        // Skip byte 100: deliver 101..201 as if it were 100..200.
        sink.buf_mut()[..100].copy_from_slice(&src.next_chunk()[101..201]);
        match sink.accept(100) {
            Err(BenchError::Corrupt { offset }) => assert_eq!(offset, 100),
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn unverified_sink_only_counts() {
        let mut sink = PatternSink::new(false);
        sink.buf_mut()[..10].fill(0xff);
        sink.accept(10).unwrap();
        assert_eq!(sink.received(), 10);
    }
}
