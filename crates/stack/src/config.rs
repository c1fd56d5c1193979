//! [`Config`]: everything a [`Stack`](crate::Stack) is built from — addresses,
//! routes, the MTU, the seed, and every limit, each with its documented default.

use core::fmt;
use core::net::IpAddr;

use crate::ip::cidr::IpCidr;
use crate::ip::pmtu::PathMtuConfig;
use crate::ip::reassembly::ReassemblyConfig;
use crate::ip::route::Route;
use crate::ports::PortConfig;
use crate::tcp::TcpConfig;
use crate::wire::ChecksumMode;

/// UDP's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    /// The most bytes a socket's receive queue holds, each datagram counted as its
    /// payload plus [`crate::udp::DATAGRAM_OVERHEAD`] (128), as Linux counts a
    /// datagram's whole buffer; datagrams beyond are dropped and counted
    /// (`RcvbufErrors`). A datagram always enters an empty queue. Default 212,992
    /// (Linux `rmem_default`).
    pub recv_buffer: usize,
    /// The most payload bytes a socket's send queue holds before `send_to` would
    /// block. Default 212,992 (Linux `wmem_default`).
    pub send_buffer: usize,
    /// Time to live / hop limit of new sockets. Default 64.
    pub ttl: u8,
}

impl Default for UdpConfig {
    fn default() -> UdpConfig {
        UdpConfig {
            recv_buffer: 212_992,
            send_buffer: 212_992,
            ttl: 64,
        }
    }
}

/// The stack's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The local addresses with their prefixes (`10.0.0.1/24`, `fd00::1/64`). The
    /// prefix makes an on-link route.
    pub addresses: Vec<IpCidr>,
    /// Further routes (a default route: `0.0.0.0/0` via a gateway).
    pub routes: Vec<Route>,
    /// The link MTU. Default 1500.
    pub mtu: u16,
    /// The seed every random choice derives from (ISN keys, ephemeral ports,
    /// timestamp offsets). The real-network driver seeds from the OS. Default 0.
    pub seed: u64,
    /// Compute checksums on output (`Enabled`) or leave them to an offloading device
    /// (`Offloaded`). Default `Enabled`.
    pub checksum_tx: ChecksumMode,
    /// Verify checksums on input, or trust a device that did. Default `Enabled`.
    pub checksum_rx: ChecksumMode,
    /// TCP's tunables.
    pub tcp: TcpConfig,
    /// UDP's limits.
    pub udp: UdpConfig,
    /// The ephemeral port range and table (RFC 6056). Default 49152–65535.
    pub ports: PortConfig,
    /// Fragment reassembly limits.
    pub reassembly: ReassemblyConfig,
    /// The path MTU cache.
    pub pmtu: PathMtuConfig,
    /// ICMP errors sent per second (port unreachable, time exceeded). Default 1000
    /// (Linux `icmp_msgs_per_sec`).
    pub icmp_errors_per_sec: u32,
    /// The burst of ICMP errors allowed. Default 50 (Linux `icmp_msgs_burst`).
    pub icmp_errors_burst: u32,
    /// Answer ICMP echo requests. Default on.
    pub answer_pings: bool,
    /// The most stack-generated packets (RSTs, ICMP replies and errors) waiting for
    /// `poll_transmit`; beyond it they are dropped. Default 1024.
    pub max_control_queue: usize,
    /// The most sockets of all kinds in the stack's table, accepted connections
    /// included. Checked when the application opens one (`tcp_listen`,
    /// `tcp_connect`, `udp_bind`: `Error::LimitReached` beyond it); connections a
    /// listener accepts are bounded by `TcpConfig::max_connections` instead.
    /// Default 1,100,000.
    pub max_sockets: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addresses: Vec::new(),
            routes: Vec::new(),
            mtu: 1500,
            seed: 0,
            checksum_tx: ChecksumMode::Enabled,
            checksum_rx: ChecksumMode::Enabled,
            tcp: TcpConfig::default(),
            udp: UdpConfig::default(),
            ports: PortConfig::default(),
            reassembly: ReassemblyConfig::default(),
            pmtu: PathMtuConfig::default(),
            icmp_errors_per_sec: 1000,
            icmp_errors_burst: 50,
            answer_pings: true,
            max_control_queue: 1024,
            max_sockets: 1_100_000,
        }
    }
}

impl Config {
    /// A default configuration with one address.
    pub fn with_address(address: IpCidr) -> Config {
        Config {
            addresses: vec![address],
            ..Config::default()
        }
    }

    /// Adds an address.
    pub fn address(mut self, address: IpCidr) -> Config {
        self.addresses.push(address);
        self
    }

    /// Adds a default route through `gateway`.
    pub fn gateway(mut self, gateway: IpAddr) -> Config {
        let dest = match gateway {
            IpAddr::V4(_) => IpCidr::new(IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED), 0),
            IpAddr::V6(_) => IpCidr::new(IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED), 0),
        };
        if let Ok(dest) = dest {
            self.routes.push(Route::new(dest, Some(gateway)));
        }
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Config {
        self.seed = seed;
        self
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.addresses.is_empty() {
            return Err(ConfigError::NoAddress);
        }
        if self.mtu < 576 {
            return Err(ConfigError::MtuTooSmall(self.mtu));
        }
        if self.addresses.iter().any(|a| a.is_ipv6()) && self.mtu < 1280 {
            return Err(ConfigError::MtuTooSmall(self.mtu));
        }
        if self.tcp.delayed_ack >= crate::time::Duration::from_millis(500) {
            return Err(ConfigError::DelayedAckTooLong);
        }
        if self.tcp.send_buffer == 0 || self.tcp.recv_buffer == 0 {
            return Err(ConfigError::ZeroBuffer);
        }
        if self.max_control_queue == 0 {
            return Err(ConfigError::ZeroLimit("max_control_queue"));
        }
        self.tcp
            .congestion_algorithm(&self.tcp.congestion_control)
            .map_err(ConfigError::CongestionControl)?;
        Ok(())
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No local address.
    NoAddress,
    /// The MTU is below 576 (IPv4) or 1280 (with an IPv6 address).
    MtuTooSmall(u16),
    /// The delayed-ACK timeout is 500 ms or more (RFC 9293 MUST-40).
    DelayedAckTooLong,
    /// A TCP buffer limit of zero.
    ZeroBuffer,
    /// A limit that must be positive is zero.
    ZeroLimit(&'static str),
    /// The ephemeral port configuration is unusable.
    Ports(crate::ports::PortConfigError),
    /// The default congestion controller is unknown or not yet implemented.
    CongestionControl(crate::cc::CcError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoAddress => f.write_str("no local address configured"),
            ConfigError::MtuTooSmall(m) => {
                write!(f, "MTU {m} is too small (at least 576, or 1280 with IPv6)")
            }
            ConfigError::DelayedAckTooLong => {
                f.write_str("the delayed-ACK timeout must be below 500 ms (RFC 9293 MUST-40)")
            }
            ConfigError::ZeroBuffer => f.write_str("TCP buffer limits must be positive"),
            ConfigError::ZeroLimit(name) => write!(f, "{name} must be positive"),
            ConfigError::Ports(e) => write!(f, "ephemeral ports: {e}"),
            ConfigError::CongestionControl(e) => write!(f, "tcp: {e}"),
        }
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use crate::Stack;

    fn v4() -> Config {
        Config::with_address("192.0.2.1/24".parse().unwrap())
    }

    /// `Stack::new` refuses what `validate` refuses, with the error that says why.
    fn refused(config: Config) -> ConfigError {
        let want = config.validate().expect_err("validate accepted it");
        let got = Stack::new(config).expect_err("Stack::new accepted it");
        assert_eq!(got, want);
        got
    }

    #[test]
    fn a_stack_without_an_address_is_refused() {
        let mut c = v4();
        c.addresses.clear();
        assert_eq!(refused(c), ConfigError::NoAddress);
    }

    #[test]
    fn an_mtu_below_the_minimum_of_its_families_is_refused() {
        let mut c = v4();
        c.mtu = 575;
        assert_eq!(refused(c), ConfigError::MtuTooSmall(575));
        let mut c = v4();
        c.mtu = 576;
        assert!(Stack::new(c).is_ok(), "IPv4 alone: 576 is enough");
        //= https://www.rfc-editor.org/rfc/rfc8200#section-5
        //# IPv6 requires that every link in the Internet have an MTU of 1280
        //# octets or greater.
        let c = v4().address("2001:db8::1/64".parse().unwrap());
        let mut c6 = c.clone();
        c6.mtu = 1279;
        assert_eq!(refused(c6), ConfigError::MtuTooSmall(1279));
        let mut c6 = c;
        c6.mtu = 1280;
        assert!(Stack::new(c6).is_ok());
    }

    //= https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.3
    //# The delay MUST be less than 0.5 seconds.
    #[test]
    fn a_delayed_ack_timeout_of_half_a_second_or_more_is_refused() {
        let mut c = v4();
        c.tcp.delayed_ack = Duration::from_millis(500);
        assert_eq!(refused(c), ConfigError::DelayedAckTooLong);
        let mut c = v4();
        c.tcp.delayed_ack = Duration::from_millis(499);
        assert!(Stack::new(c).is_ok());
    }

    #[test]
    fn zero_buffers_and_a_zero_control_queue_are_refused() {
        let mut c = v4();
        c.tcp.send_buffer = 0;
        assert_eq!(refused(c), ConfigError::ZeroBuffer);
        let mut c = v4();
        c.tcp.recv_buffer = 0;
        assert_eq!(refused(c), ConfigError::ZeroBuffer);
        let mut c = v4();
        c.max_control_queue = 0;
        assert_eq!(refused(c), ConfigError::ZeroLimit("max_control_queue"));
    }

    #[test]
    fn an_unknown_congestion_controller_is_refused_by_name() {
        let mut c = v4();
        c.tcp.congestion_control = "vegas".into();
        let e = refused(c);
        assert!(matches!(e, ConfigError::CongestionControl(_)), "{e:?}");
        assert!(e.to_string().contains("vegas"), "{e}");
    }

    #[test]
    fn the_default_configuration_with_an_address_is_accepted() {
        assert_eq!(v4().validate(), Ok(()));
    }
}
