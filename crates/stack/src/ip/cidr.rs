//! Addresses with a prefix length: [`Ipv4Cidr`], [`Ipv6Cidr`] and [`IpCidr`], written
//! and parsed as `10.0.0.1/24` and `fd00::1/64` (RFC 4632 section 3.1, RFC 4291
//! section 2.3).
//!
//! A CIDR keeps the address it was given, host bits included, because an interface
//! address is exactly that: `10.0.0.1/24` is "my address 10.0.0.1 on the on-link
//! prefix 10.0.0.0/24". [`Ipv4Cidr::network`] clears the host bits.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// Why a prefix length or a CIDR string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrError {
    /// The string has no `/` between address and prefix length.
    MissingPrefix,
    /// The part before the `/` is not an address of the expected family.
    BadAddress,
    /// The part after the `/` is not a decimal number of one to three digits.
    BadPrefixLen,
    /// The prefix length is longer than the address (32 for IPv4, 128 for IPv6).
    PrefixTooLong {
        /// The length given.
        len: u8,
        /// The longest allowed for the family.
        max: u8,
    },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::MissingPrefix => f.write_str("missing '/prefix-length' after the address"),
            CidrError::BadAddress => f.write_str("invalid IP address before the '/'"),
            CidrError::BadPrefixLen => f.write_str("prefix length is not a decimal number"),
            CidrError::PrefixTooLong { len, max } => {
                write!(f, "prefix length {len} is longer than {max}")
            }
        }
    }
}

impl core::error::Error for CidrError {}

/// Split `addr/len` and parse the length, refusing signs, spaces and more than three
/// digits (which `u8::from_str` alone would let through or misreport).
fn split(s: &str) -> Result<(&str, u8), CidrError> {
    let (addr, len) = s.split_once('/').ok_or(CidrError::MissingPrefix)?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CidrError::BadPrefixLen);
    }
    let len: u16 = len.parse().map_err(|_| CidrError::BadPrefixLen)?;
    let len = u8::try_from(len).map_err(|_| CidrError::PrefixTooLong {
        len: u8::MAX,
        max: 128,
    })?;
    Ok((addr, len))
}

/// An IPv4 address with a prefix length of 0 to 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `addr/prefix_len`; [`CidrError::PrefixTooLong`] past 32.
    pub const fn new(addr: Ipv4Addr, prefix_len: u8) -> Result<Ipv4Cidr, CidrError> {
        if prefix_len > 32 {
            return Err(CidrError::PrefixTooLong {
                len: prefix_len,
                max: 32,
            });
        }
        Ok(Ipv4Cidr { addr, prefix_len })
    }

    /// The address, host bits included.
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length, 0 to 32.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask as a number: the top `prefix_len` bits set.
    pub const fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    /// The netmask as an address (`255.255.255.0` for a /24).
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask())
    }

    /// The same prefix with the host bits cleared: `10.0.0.0/24` for `10.0.0.1/24`.
    pub const fn network(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            addr: Ipv4Addr::from_bits(self.addr.to_bits() & self.mask()),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether `addr` lies within the prefix.
    pub const fn contains(&self, addr: Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.addr.to_bits()) & self.mask() == 0
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Ipv4Cidr, CidrError> {
        let (addr, len) = split(s)?;
        let addr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        Ipv4Cidr::new(addr, len)
    }
}

/// An IPv6 address with a prefix length of 0 to 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Cidr {
    addr: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// `addr/prefix_len`; [`CidrError::PrefixTooLong`] past 128.
    pub const fn new(addr: Ipv6Addr, prefix_len: u8) -> Result<Ipv6Cidr, CidrError> {
        if prefix_len > 128 {
            return Err(CidrError::PrefixTooLong {
                len: prefix_len,
                max: 128,
            });
        }
        Ok(Ipv6Cidr { addr, prefix_len })
    }

    /// The address, host bits included.
    pub const fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length, 0 to 128.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask as a number: the top `prefix_len` bits set.
    pub const fn mask(&self) -> u128 {
        if self.prefix_len == 0 {
            0
        } else {
            u128::MAX << (128 - self.prefix_len)
        }
    }

    /// The same prefix with the host bits cleared: `fd00::/64` for `fd00::1/64`.
    pub const fn network(&self) -> Ipv6Cidr {
        Ipv6Cidr {
            addr: Ipv6Addr::from_bits(self.addr.to_bits() & self.mask()),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether `addr` lies within the prefix.
    pub const fn contains(&self, addr: Ipv6Addr) -> bool {
        (addr.to_bits() ^ self.addr.to_bits()) & self.mask() == 0
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Ipv6Cidr, CidrError> {
        let (addr, len) = split(s)?;
        let addr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        Ipv6Cidr::new(addr, len)
    }
}

/// An IPv4 or IPv6 CIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpCidr {
    /// An IPv4 prefix.
    V4(Ipv4Cidr),
    /// An IPv6 prefix.
    V6(Ipv6Cidr),
}

impl IpCidr {
    /// `addr/prefix_len`, checking the length against the address's family.
    pub const fn new(addr: IpAddr, prefix_len: u8) -> Result<IpCidr, CidrError> {
        match addr {
            IpAddr::V4(a) => match Ipv4Cidr::new(a, prefix_len) {
                Ok(c) => Ok(IpCidr::V4(c)),
                Err(e) => Err(e),
            },
            IpAddr::V6(a) => match Ipv6Cidr::new(a, prefix_len) {
                Ok(c) => Ok(IpCidr::V6(c)),
                Err(e) => Err(e),
            },
        }
    }

    /// The address, host bits included.
    pub const fn addr(&self) -> IpAddr {
        match self {
            IpCidr::V4(c) => IpAddr::V4(c.addr()),
            IpCidr::V6(c) => IpAddr::V6(c.addr()),
        }
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        match self {
            IpCidr::V4(c) => c.prefix_len(),
            IpCidr::V6(c) => c.prefix_len(),
        }
    }

    /// The same prefix with the host bits cleared.
    pub const fn network(&self) -> IpCidr {
        match self {
            IpCidr::V4(c) => IpCidr::V4(c.network()),
            IpCidr::V6(c) => IpCidr::V6(c.network()),
        }
    }

    /// Whether `addr` lies within the prefix (never, for the other family: an
    /// IPv4-mapped IPv6 address is not inside an IPv4 prefix).
    pub const fn contains(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (IpCidr::V4(c), IpAddr::V4(a)) => c.contains(a),
            (IpCidr::V6(c), IpAddr::V6(a)) => c.contains(a),
            _ => false,
        }
    }

    /// Whether this is an IPv4 prefix.
    pub const fn is_ipv4(&self) -> bool {
        matches!(self, IpCidr::V4(_))
    }

    /// Whether this is an IPv6 prefix.
    pub const fn is_ipv6(&self) -> bool {
        matches!(self, IpCidr::V6(_))
    }
}

impl From<Ipv4Cidr> for IpCidr {
    fn from(c: Ipv4Cidr) -> IpCidr {
        IpCidr::V4(c)
    }
}

impl From<Ipv6Cidr> for IpCidr {
    fn from(c: Ipv6Cidr) -> IpCidr {
        IpCidr::V6(c)
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpCidr::V4(c) => c.fmt(f),
            IpCidr::V6(c) => c.fmt(f),
        }
    }
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<IpCidr, CidrError> {
        let (addr, len) = split(s)?;
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        IpCidr::new(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_ipv4_cidr() {
        let c: Ipv4Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(c.addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(c.to_string(), "10.0.0.1/24");
        assert_eq!(c.network().to_string(), "10.0.0.0/24");
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
    }

    #[test]
    fn parses_and_prints_ipv6_cidr() {
        let c: IpCidr = "fd00::1/64".parse().unwrap();
        assert!(c.is_ipv6());
        assert_eq!(c.to_string(), "fd00::1/64");
        assert_eq!(c.network().to_string(), "fd00::/64");
        assert!(c.contains("fd00::ffff:1".parse().unwrap()));
        assert!(!c.contains("fd01::1".parse().unwrap()));
    }

    #[test]
    fn bad_strings_say_why() {
        assert_eq!("10.0.0.1".parse::<IpCidr>(), Err(CidrError::MissingPrefix));
        assert_eq!("10.0.0/8".parse::<IpCidr>(), Err(CidrError::BadAddress));
        assert_eq!("10.0.0.1/".parse::<IpCidr>(), Err(CidrError::BadPrefixLen));
        assert_eq!(
            "10.0.0.1/+8".parse::<IpCidr>(),
            Err(CidrError::BadPrefixLen)
        );
        assert_eq!(
            "10.0.0.1/ 8".parse::<IpCidr>(),
            Err(CidrError::BadPrefixLen)
        );
        assert_eq!(
            "10.0.0.1/0008".parse::<IpCidr>(),
            Err(CidrError::BadPrefixLen)
        );
        assert_eq!(
            "10.0.0.1/33".parse::<IpCidr>(),
            Err(CidrError::PrefixTooLong { len: 33, max: 32 })
        );
        assert_eq!(
            "::1/129".parse::<IpCidr>(),
            Err(CidrError::PrefixTooLong { len: 129, max: 128 })
        );
        assert!(matches!(
            "::1/999".parse::<IpCidr>(),
            Err(CidrError::PrefixTooLong { .. })
        ));
        assert_eq!("::1/64".parse::<Ipv4Cidr>(), Err(CidrError::BadAddress));
        assert_eq!(
            CidrError::PrefixTooLong { len: 33, max: 32 }.to_string(),
            "prefix length 33 is longer than 32"
        );
    }

    #[test]
    fn zero_prefix_contains_everything_of_its_family_only() {
        let any4: IpCidr = "0.0.0.0/0".parse().unwrap();
        let any6: IpCidr = "::/0".parse().unwrap();
        assert!(any4.contains("203.0.113.9".parse().unwrap()));
        assert!(!any4.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert!(any6.contains("2001:db8::1".parse().unwrap()));
        assert!(!any6.contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn host_prefix_contains_only_itself() {
        let c: Ipv4Cidr = "192.0.2.7/32".parse().unwrap();
        assert!(c.contains(Ipv4Addr::new(192, 0, 2, 7)));
        assert!(!c.contains(Ipv4Addr::new(192, 0, 2, 6)));
        let c: Ipv6Cidr = "2001:db8::7/128".parse().unwrap();
        assert!(c.contains("2001:db8::7".parse().unwrap()));
        assert!(!c.contains("2001:db8::8".parse().unwrap()));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(bits: u128, len in 0u8..=128, v4: bool) {
            let c = if v4 {
                IpCidr::new(IpAddr::V4(Ipv4Addr::from_bits(bits as u32)), len % 33).unwrap()
            } else {
                IpCidr::new(IpAddr::V6(Ipv6Addr::from_bits(bits)), len).unwrap()
            };
            prop_assert_eq!(c.to_string().parse::<IpCidr>(), Ok(c));
            prop_assert!(c.contains(c.addr()));
            prop_assert!(c.network().contains(c.addr()));
            prop_assert_eq!(c.network().network(), c.network());
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in ".{0,60}") {
            let _ = s.parse::<IpCidr>();
        }
    }
}
