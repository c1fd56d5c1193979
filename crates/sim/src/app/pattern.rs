//! The deterministic byte pattern of the built-in applications: the byte at stream
//! offset `i` is `TABLE[i mod 65521]`, where the table is a fixed pseudo-random
//! sequence. A prime period means a segment delivered at the wrong offset is caught
//! unless it is off by a multiple of 65,521 bytes; the sender copies straight from
//! the table and the receiver compares slices, so checking costs a `memcmp`.

use std::sync::OnceLock;

/// The pattern's period in bytes (the largest prime below 2^16).
pub const PERIOD: usize = 65_521;

fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // xorshift64*, fixed seed: the same bytes in every run and on every machine.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut t = Vec::with_capacity(2 * PERIOD);
        for _ in 0..PERIOD {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            t.push((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8);
        }
        // Twice over, so any run of up to PERIOD bytes is one contiguous slice.
        t.extend_from_within(..PERIOD);
        t
    })
}

/// Up to `max` pattern bytes (at most [`PERIOD`]) starting at stream offset `offset`.
pub fn slice(offset: u64, max: usize) -> &'static [u8] {
    let start = (offset % PERIOD as u64) as usize;
    &table()[start..start + max.min(PERIOD)]
}

/// Fills `buf` with the pattern from stream offset `offset`.
pub fn fill(offset: u64, buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        let s = slice(offset + done as u64, buf.len() - done);
        buf[done..done + s.len()].copy_from_slice(s);
        done += s.len();
    }
}

/// How many bytes of `data`, received at stream offset `offset`, differ from the
/// pattern.
pub fn mismatches(offset: u64, data: &[u8]) -> u64 {
    let mut bad = 0;
    let mut done = 0;
    while done < data.len() {
        let want = slice(offset + done as u64, data.len() - done);
        let got = &data[done..done + want.len()];
        if got != want {
            bad += got.iter().zip(want).filter(|(a, b)| a != b).count() as u64;
        }
        done += want.len();
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_checks_out_across_the_period_boundary() {
        let mut buf = vec![0u8; 3 * PERIOD + 17];
        fill(12_345, &mut buf);
        assert_eq!(mismatches(12_345, &buf), 0);
        assert_eq!(mismatches(12_345 + PERIOD as u64, &buf), 0, "periodic");
        buf[PERIOD + 3] ^= 1;
        assert_eq!(mismatches(12_345, &buf), 1);
    }

    #[test]
    fn data_at_the_wrong_offset_is_caught() {
        let mut buf = vec![0u8; 1460];
        fill(1460, &mut buf);
        assert!(mismatches(0, &buf) > 1000);
    }
}
