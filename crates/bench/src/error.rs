//! [`BenchError`]: why a benchmark run produced no figure.

use thiserror::Error;

/// Why a benchmark run produced no figure.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The stack under test cannot run this benchmark (yet). The CLI prints the message
    /// as the row's note and carries on.
    #[error("{0}")]
    Unavailable(&'static str),
    /// Nothing moved for too long: a lost segment nobody retransmits, a harness bug.
    #[error("no progress for {secs} s during {phase}: {detail}")]
    Stalled {
        /// What the harness was doing (`"bulk transfer"`, `"connect"`, ...).
        phase: &'static str,
        /// How long nothing moved.
        secs: u64,
        /// Where it stopped (bytes received, connections done, ...).
        detail: String,
    },
    /// Received data differs from what was sent.
    #[error("received data differs from the sent pattern at stream offset {offset}")]
    Corrupt {
        /// Stream offset of the first differing byte.
        offset: u64,
    },
    /// A connection ended in a way the benchmark does not expect (refused, reset, ...).
    #[error("connection {conn} failed: {why}")]
    ConnectionFailed {
        /// Index of the connection in the run.
        conn: u64,
        /// What happened.
        why: String,
    },
    /// The stack refused a setup call (bind, listen, connect, ...).
    #[error("setup failed: {0}")]
    Setup(String),
    /// One side run alone against a recording (`connect --sides`) did not do what it
    /// did when recorded: the stack is not deterministic in its inputs, or the replay
    /// does not drive it as the recorded run did.
    #[error("{side} side alone diverged from the recording: {detail}")]
    ReplayDiverged {
        /// `"server"` or `"client"`.
        side: &'static str,
        /// What differed.
        detail: String,
    },
    /// `idle` needs [`crate::alloc_count::CountingAlloc`] as the global allocator.
    #[error(
        "the counting allocator is not installed (#[global_allocator]), memory cannot be measured"
    )]
    NoAllocCounter,
}
