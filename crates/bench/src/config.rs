//! What each benchmark is asked to do: [`BulkConfig`], [`ConnectConfig`], [`IdleConfig`],
//! each over one [`IpFamily`].
//!
//! Both stacks get the same configuration; the defaults are the setup (IPv4).

/// The IP version both sides of a benchmark speak. The link's MTU is the same for
/// both, so an IPv6 segment carries 20 bytes less payload (its header is 40 bytes,
/// not 20: MSS 1440 at MTU 1500, not 1460).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv4 (the default): addresses from 198.18.0.0/15 (RFC 2544's benchmarking range).
    #[default]
    V4,
    /// IPv6: addresses from 2001:db8::/32 (RFC 3849's documentation prefix).
    V6,
}

impl IpFamily {
    /// `"IPv4"` or `"IPv6"`, for table titles.
    pub fn name(self) -> &'static str {
        match self {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        }
    }

    /// The IP header's fixed length: 20 (IPv4 without options) or 40 (IPv6).
    pub fn ip_header_len(self) -> usize {
        match self {
            IpFamily::V4 => 20,
            IpFamily::V6 => 40,
        }
    }

    /// The MSS of a link of IP MTU `mtu`: the MTU less this family's IP header
    /// and a 20-byte TCP header (RFC 9293 section 3.7.1; IPv6's fixed 40-byte header
    /// is RFC 8200 section 3).
    pub fn mss(self, mtu: usize) -> usize {
        mtu.saturating_sub(self.ip_header_len() + 20)
    }
}

/// `bulk`: one TCP connection between two stacks joined in memory on one thread; the
/// client sends `bytes` to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkConfig {
    /// Payload bytes to move (default 1 GiB).
    pub bytes: u64,
    /// IP MTU of the in-memory link (default 1500, i.e. MSS 1460 over IPv4, 1440 over IPv6).
    pub mtu: usize,
    /// Send and receive buffer size of both sockets, in bytes (default 256 KiB).
    pub buf: usize,
    /// Compare every received byte with the sent pattern (default on). The comparison is
    /// a `memcmp` of each chunk the application reads, about the cost of one more copy.
    pub verify: bool,
    /// IPv4 or IPv6 (default IPv4).
    pub family: IpFamily,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            bytes: 1 << 30,
            mtu: 1500,
            buf: 256 * 1024,
            verify: true,
            family: IpFamily::V4,
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
    /// IPv4 or IPv6 (default IPv4).
    pub family: IpFamily,
    /// Also time each side alone: the server's stack, then the client's, driven through
    /// a recorded run with the other side's packets replayed ([`crate::replay`]).
    pub sides: bool,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        ConnectConfig {
            conns: 200_000,
            window: 1,
            mtu: 1500,
            buf: 4096,
            clock_step: None,
            family: IpFamily::V4,
            sides: false,
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
    /// IPv4 or IPv6 (default IPv4).
    pub family: IpFamily,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            conns: 1_000_000,
            batch: 1024,
            mtu: 1500,
            buf: 4096,
            family: IpFamily::V4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IpFamily;

    #[test]
    fn ipv6_segments_carry_twenty_bytes_less() {
        assert_eq!(IpFamily::V4.mss(1500), 1460);
        assert_eq!(IpFamily::V6.mss(1500), 1440);
        assert_eq!(IpFamily::default(), IpFamily::V4);
    }
}
