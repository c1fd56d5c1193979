//! Branch-layout hints for the compiler.
//!
//! A connection's common path runs through about 750 distinct 64-byte lines of
//! code, more than the 32 KiB L1 instruction cache holds; blocks that never run
//! in it but sit between its hot blocks make it longer (docs/benchmarks.md,
//! session 12, branch layout12). A call to [`cold_path`] at the start of a rare
//! branch tells LLVM that the branch is unlikely, so that it places the block
//! after the function's hot code instead of between it.

/// Marks the branch that calls it as rarely taken. Costs nothing at run time.
///
/// The same as `std::hint::cold_path` (stable since Rust 1.95): rustc gives a
/// branch into a block that calls any `#[cold]` function "unlikely" branch
/// weights, whether or not the call is inlined. Kept here rather than the std
/// function so the crate still builds with its minimum Rust version (1.85).
#[cold]
#[inline(always)]
pub(crate) fn cold_path() {}
