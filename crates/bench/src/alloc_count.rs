//! A counting global allocator with per-side attribution, for the `idle` benchmark.
//!
//! [`CountingAlloc`] wraps [`std::alloc::System`] and keeps, per [`Tag`], how many bytes
//! and blocks were allocated and freed. The tag is a thread-local that the harness sets
//! with [`with_tag`] around every call into one side (client stack, server stack, the
//! in-memory link), so "bytes the server side holds" is simply the server tag's
//! `allocated - freed` between two [`snapshot`]s. Everything runs on one thread, so the
//! attribution is exact.
//!
//! Counted sizes are the sizes requested from the allocator; malloc's own per-block
//! overhead (about 8–16 B per block with glibc) is not in them, which is why the idle
//! report also prints the number of blocks and the process RSS growth.
//!
//! The binary installs it with `#[global_allocator]`; without that the counters stay at
//! zero and [`is_installed`] says so.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Who an allocation is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Tag {
    /// Anything outside a [`with_tag`] scope (the CLI, the report, other threads).
    Other = 0,
    /// The connecting (client) stack and its sockets.
    Client = 1,
    /// The accepting (server) stack and its sockets.
    Server = 2,
    /// The in-memory link between the two stacks (packet buffers and queues).
    Link = 3,
}

const TAGS: usize = 4;

struct Counters {
    allocated: AtomicU64,
    freed: AtomicU64,
    allocs: AtomicU64,
    frees: AtomicU64,
}

impl Counters {
    const fn new() -> Self {
        Counters {
            allocated: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
        }
    }
}

static COUNTERS: [Counters; TAGS] = [const { Counters::new() }; TAGS];
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // `const` initialiser and no destructor: reading it never allocates, so the
    // allocator may use it.
    static CURRENT: Cell<u8> = const { Cell::new(Tag::Other as u8) };
}

fn current() -> usize {
    CURRENT.try_with(Cell::get).unwrap_or(Tag::Other as u8) as usize
}

fn on_alloc(size: usize) {
    let c = &COUNTERS[current()];
    c.allocated.fetch_add(size as u64, Relaxed);
    c.allocs.fetch_add(1, Relaxed);
}

fn on_free(size: usize) {
    let c = &COUNTERS[current()];
    c.freed.fetch_add(size as u64, Relaxed);
    c.frees.fetch_add(1, Relaxed);
}

/// The counting allocator. Install it in a binary with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// only adds counter updates, which neither allocate nor touch the returned memory.
//
// Every method is out of line: inlined (fat LTO does it), the counting code (a
// thread-local read and two atomic adds) was copied into every allocation and free site
// of the stacks, bloating the benchmarked code paths with bytes a real binary's
// allocator call does not have (`connect`: 13 fewer hot 64-B lines of code per
// connection out of line; docs/benchmarks.md, session 12).
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Relaxed);
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        on_free(layout.size());
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            on_free(layout.size());
            on_alloc(new_size);
        }
        p
    }
}

/// Whether [`CountingAlloc`] is the global allocator of this process.
pub fn is_installed() -> bool {
    drop(std::hint::black_box(Box::new(0u64)));
    INSTALLED.load(Relaxed)
}

/// Run `f` with its allocations charged to `tag` (on this thread), then restore the
/// previous tag.
pub fn with_tag<R>(tag: Tag, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(tag as u8));
    let r = f();
    CURRENT.with(|c| c.set(previous));
    r
}

/// The counters of one tag at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocSnapshot {
    /// Bytes allocated so far (reallocation counts the new size).
    pub allocated: u64,
    /// Bytes freed so far (reallocation counts the old size).
    pub freed: u64,
    /// Blocks allocated so far.
    pub allocs: u64,
    /// Blocks freed so far.
    pub frees: u64,
}

impl AllocSnapshot {
    /// Bytes held now that were not held at `earlier` (negative if more was freed).
    pub fn live_since(&self, earlier: &AllocSnapshot) -> i64 {
        (self.allocated - earlier.allocated) as i64 - (self.freed - earlier.freed) as i64
    }

    /// Blocks held now that were not held at `earlier`.
    pub fn blocks_since(&self, earlier: &AllocSnapshot) -> i64 {
        (self.allocs - earlier.allocs) as i64 - (self.frees - earlier.frees) as i64
    }
}

/// The counters of `tag` now.
pub fn snapshot(tag: Tag) -> AllocSnapshot {
    let c = &COUNTERS[tag as usize];
    AllocSnapshot {
        allocated: c.allocated.load(Relaxed),
        freed: c.freed.load(Relaxed),
        allocs: c.allocs.load(Relaxed),
        frees: c.frees.load(Relaxed),
    }
}

/// Serialises the tests (across this crate) that read the global counters.
#[cfg(test)]
pub(crate) static TEST_COUNTER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The resident set size of this process in bytes (`VmRSS` in `/proc/self/status`), if
/// the platform has it.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_inside_scope_is_charged_to_its_tag() {
        // The lib's test build installs the counting allocator (see lib.rs).
        assert!(is_installed());
        let _lock = TEST_COUNTER_LOCK.lock();
        let before = snapshot(Tag::Link);
        let v = with_tag(Tag::Link, || vec![7u8; 10_000]);
        let after = snapshot(Tag::Link);
        assert!(after.live_since(&before) >= 10_000);
        assert!(after.blocks_since(&before) >= 1);
        with_tag(Tag::Link, || drop(v));
        assert!(snapshot(Tag::Link).live_since(&before) < 10_000);
    }

    #[test]
    fn tag_is_restored_after_scope() {
        with_tag(Tag::Client, || {
            with_tag(Tag::Server, || assert_eq!(current(), Tag::Server as usize));
            assert_eq!(current(), Tag::Client as usize);
        });
        assert_eq!(current(), Tag::Other as usize);
    }

    #[test]
    fn resident_size_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
