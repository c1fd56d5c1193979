//! What the `l4` command's integration tests share: whether they run under
//! CI (where a test that cannot run fails instead of skipping), the binary
//! itself, its output as text, and a test pattern.
#![allow(dead_code)] // each test file uses part of it

use std::process::Command;

/// Whether the tests run under CI (`CI=true`): a test that cannot run here
/// (no root, no TUN, a tool missing) then fails instead of printing why and
/// passing.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The `l4` binary under test, with backtraces on.
pub fn l4() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_l4"));
    c.env("RUST_BACKTRACE", "1");
    c
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `len` bytes of a pattern that differs per `seed`.
pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}
