//! What each benchmark is asked to do: [`BulkConfig`], [`ConnectConfig`], [`IdleConfig`].
//!
//! Both stacks get the same configuration; the defaults are the setup.

/// `bulk`: one TCP connection between two stacks joined in memory on one thread; the
/// client sends `bytes` to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkConfig {
    /// Payload bytes to move (default 1 GiB).
    pub bytes: u64,
    /// IP MTU of the in-memory link (default 1500, i.e. MSS 1460).
    pub mtu: usize,
    /// Send and receive buffer size of both sockets, in bytes (default 256 KiB).
    pub buf: usize,
    /// Compare every received byte with the sent pattern (default on). The comparison is
    /// a `memcmp` of each chunk the application reads, about the cost of one more copy.
    pub verify: bool,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            bytes: 1 << 30,
            mtu: 1500,
            buf: 256 * 1024,
            verify: true,
        }
    }
}

/// `connect`: open a connection, send one byte each way, close; repeat `conns` times
/// with at most `window` connections in flight; one thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectConfig {
    /// Connections to complete.
    pub conns: u64,
    /// Connections in flight at once (1 = strictly sequential).
    pub window: usize,
    /// IP MTU of the in-memory link.
    pub mtu: usize,
    /// Send and receive buffer size per socket, for stacks that need them up front.
    pub buf: usize,
    /// `Some(step)`: the stacks' clock advances by `step` at every reading instead of
    /// following the wall clock ([`Clock::stepped`](crate::clock::Clock::stepped)), so
    /// that instruction counts repeat exactly from run to run.
    pub clock_step: Option<std::time::Duration>,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        ConnectConfig {
            conns: 200_000,
            window: 1,
            mtu: 1500,
            buf: 4096,
            clock_step: None,
        }
    }
}

/// `idle`: establish `conns` connections, leave them idle, and measure the memory the
/// server side holds for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdleConfig {
    /// Connections to establish.
    pub conns: usize,
    /// Connections opened per round before driving the handshakes to completion.
    pub batch: usize,
    /// IP MTU of the in-memory link.
    pub mtu: usize,
    /// Send and receive buffer size per socket, for stacks that allocate them up front
    /// (layer4 allocates lazily, so an idle connection holds none).
    pub buf: usize,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            conns: 1_000_000,
            batch: 1024,
            mtu: 1500,
            buf: 4096,
        }
    }
}
