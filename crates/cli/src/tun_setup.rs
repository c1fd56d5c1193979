//! The TUN that `l4 nc` and `l4 tun2socks` run layer4 behind (Linux, root).
//!
//! [`start`] creates the TUN (or attaches to an existing one), gives the kernel
//! its address of each family on the link, brings it up, and starts a layer4
//! runtime on it whose addresses are the `--addr` CIDRs and whose default
//! gateway of each family is the kernel's address (unless `--gateway` says
//! otherwise). By default the TUN is opened with offloads (`IFF_VNET_HDR`, TCP
//! super-packets both ways), falling back to a plain TUN if the kernel refuses
//! them. [`Failure`] is the shared way the tools stop early.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use layer4::ip::cidr::{IpCidr, Ipv4Cidr, Ipv6Cidr};
use layer4::{Config, Stack};
use layer4_net::{runtime::os_seed, Runtime, Tun};

/// Why a tool stops early.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The network or the device failed: exit 1.
    Net(String),
}

/// A [`Failure::Usage`].
pub fn usage(m: impl std::fmt::Display) -> Failure {
    Failure::Usage(m.to_string())
}

/// The one-line reason for a socket error, in netcat's words.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::TimedOut => "connection timed out".into(),
        io::ErrorKind::HostUnreachable => "no route to host".into(),
        io::ErrorKind::NetworkUnreachable => "network is unreachable".into(),
        _ => e.to_string(),
    }
}

/// Turns an `io::Error` into a [`Failure::Net`] about `what`.
pub fn net(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> Failure {
    move |e| Failure::Net(format!("{what}: {}", describe(&e)))
}

/// `--addr`: at most one CIDR of each family, at least one.
pub fn parse_addrs(addrs: &[String]) -> Result<Vec<IpCidr>, Failure> {
    let mut cidrs: Vec<IpCidr> = Vec::new();
    for a in addrs {
        let c: IpCidr = a
            .parse()
            .map_err(|e| usage(format!("--addr {a}: {e} (an IPv4 or IPv6 CIDR)")))?;
        if cidrs.iter().any(|o| o.is_ipv4() == c.is_ipv4()) {
            return Err(usage(format!(
                "--addr {a}: one address of each family at most"
            )));
        }
        cidrs.push(c);
    }
    if cidrs.is_empty() {
        return Err(usage("--addr: none given"));
    }
    Ok(cidrs)
}

/// What [`start`] sets up.
#[derive(Debug)]
pub struct TunSetup<'a> {
    /// The TUN's name.
    pub tun: &'a str,
    /// layer4's addresses (from [`parse_addrs`]).
    pub cidrs: &'a [IpCidr],
    /// `--tun-addr`: the kernel's address of a family on the TUN.
    pub tun_addr: &'a [IpAddr],
    /// `--gateway`: layer4's default gateway of a family.
    pub gateway: &'a [IpAddr],
    /// `--cc`: the congestion controller.
    pub cc: Option<&'a str>,
    /// `--no-offload`.
    pub no_offload: bool,
    /// The tool's name for notes on stderr (`nc`), printed only with `verbose`.
    pub tool: &'a str,
    /// `-v`.
    pub verbose: bool,
}

/// The kernel's address on the link: the first host address of the prefix that is
/// not layer4's.
pub fn kernel_side(cidr: IpCidr) -> Option<IpAddr> {
    match cidr {
        IpCidr::V4(c) => kernel_side_v4(c).map(IpAddr::V4),
        IpCidr::V6(c) => kernel_side_v6(c).map(IpAddr::V6),
    }
}

fn kernel_side_v4(cidr: Ipv4Cidr) -> Option<Ipv4Addr> {
    let net = u32::from(cidr.network().addr());
    let size = 1u64 << (32 - u32::from(cidr.prefix_len()));
    let hosts: Vec<u32> = if size <= 2 {
        (0..size as u32).map(|i| net + i).collect()
    } else {
        (1..(size - 1) as u32).take(3).map(|i| net + i).collect()
    };
    hosts
        .into_iter()
        .map(Ipv4Addr::from)
        .find(|a| *a != cidr.addr())
}

/// IPv6: address 0 of a prefix is the subnet-router anycast address (RFC 4291
/// section 2.6.1), so hosts start at 1, except in a /127 (RFC 6164) or /128.
fn kernel_side_v6(cidr: Ipv6Cidr) -> Option<Ipv6Addr> {
    let net = u128::from(cidr.network().addr());
    let hosts: Vec<u128> = match cidr.prefix_len() {
        128 => vec![net],
        127 => vec![net, net + 1],
        _ => vec![net + 1, net + 2],
    };
    hosts
        .into_iter()
        .map(Ipv6Addr::from)
        .find(|a| *a != cidr.addr())
}

/// The kernel's address on the link for layer4's `cidr`: `--tun-addr` of that
/// family, else [`kernel_side`].
fn kernel_addr(setup: &TunSetup<'_>, cidr: IpCidr) -> Result<IpAddr, Failure> {
    match setup
        .tun_addr
        .iter()
        .find(|a| a.is_ipv4() == cidr.is_ipv4())
    {
        Some(a) => Ok(*a),
        None => kernel_side(cidr)
            .ok_or_else(|| usage(format!("--addr {cidr}: no room for the kernel's address"))),
    }
}

/// The stack [`start`] runs, and the kernel's address of each family: checks
/// every argument without touching the system.
pub fn stack(setup: &TunSetup<'_>) -> Result<(Stack, Vec<(IpCidr, IpAddr)>), Failure> {
    for a in setup.tun_addr.iter().chain(setup.gateway) {
        if !setup.cidrs.iter().any(|c| c.is_ipv4() == a.is_ipv4()) {
            return Err(usage(format!("{a}: no --addr of its family")));
        }
    }
    let mut kernel = Vec::new();
    for &c in setup.cidrs {
        kernel.push((c, kernel_addr(setup, c)?));
    }
    let mut config = Config::default().seed(os_seed().map_err(net("getrandom"))?);
    for &c in setup.cidrs {
        config = config.address(c);
    }
    for &(c, k) in &kernel {
        let gw = setup
            .gateway
            .iter()
            .find(|g| g.is_ipv4() == c.is_ipv4())
            .copied()
            .unwrap_or(k);
        config = config.gateway(gw);
    }
    if let Some(cc) = setup.cc {
        config
            .tcp
            .congestion_algorithm(cc)
            .map_err(|e| usage(format!("--cc {cc}: {e}")))?;
        config.tcp.congestion_control = cc.to_string();
    }
    let stack = Stack::new(config).map_err(|e| usage(format!("configuration: {e}")))?;
    Ok((stack, kernel))
}

/// Makes the TUN and starts the runtime on it.
pub fn start(setup: &TunSetup<'_>) -> Result<Runtime, Failure> {
    let (stack, kernel) = self::stack(setup)?;
    let dev = setup.tun;
    let offloaded = if setup.no_offload {
        None
    } else {
        match Tun::open_offload(dev) {
            Ok(t) => Some(t),
            Err(e) => {
                if setup.verbose {
                    eprintln!(
                        "l4: {}: TUN {dev}: no offloads ({e}); plain TUN",
                        setup.tool
                    );
                }
                None
            }
        }
    };
    let tun = match offloaded {
        Some(t) => t,
        None => Tun::open(dev).map_err(net(format!("TUN {dev} (root needed)")))?,
    };
    tun.set_mtu(1500).map_err(net(format!("TUN {dev}")))?;
    for &(c, k) in &kernel {
        let IpAddr::V4(k) = k else { continue };
        match tun.set_ipv4_address(k, c.prefix_len()) {
            // An existing TUN may have its address already.
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(net(format!("TUN {dev}"))(e));
            }
            _ => {}
        }
    }
    tun.set_up().map_err(net(format!("TUN {dev}")))?;
    // IPv6 after `up`: the kernel runs IPv6 on an interface once it is up.
    for &(c, k) in &kernel {
        let IpAddr::V6(k) = k else { continue };
        match tun.set_ipv6_address(k, c.prefix_len()) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(net(format!("TUN {dev}"))(e));
            }
            _ => {}
        }
    }
    Runtime::new(stack, tun).map_err(net("runtime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_ipv6_the_kernel_takes_host_1_or_2_never_the_anycast_address() {
        let c = |s: &str| s.parse::<Ipv6Cidr>().unwrap();
        let a = |s: &str| Some(s.parse::<Ipv6Addr>().unwrap());
        assert_eq!(kernel_side_v6(c("fd00:213::2/64")), a("fd00:213::1"));
        assert_eq!(kernel_side_v6(c("fd00:213::1/64")), a("fd00:213::2"));
        assert_eq!(kernel_side_v6(c("fd00::1/127")), a("fd00::"));
        assert_eq!(kernel_side_v6(c("fd00::1/128")), None);
    }

    #[test]
    fn the_kernel_takes_the_first_other_host_address() {
        let c = |s: &str| s.parse::<Ipv4Cidr>().unwrap();
        assert_eq!(
            kernel_side_v4(c("10.213.0.2/30")),
            Some(Ipv4Addr::new(10, 213, 0, 1))
        );
        assert_eq!(
            kernel_side_v4(c("10.213.0.1/30")),
            Some(Ipv4Addr::new(10, 213, 0, 2))
        );
        assert_eq!(
            kernel_side_v4(c("10.0.0.1/31")),
            Some(Ipv4Addr::new(10, 0, 0, 0))
        );
        assert_eq!(kernel_side_v4(c("10.0.0.1/32")), None);
    }

    #[test]
    fn addrs_take_one_cidr_of_each_family_and_at_least_one() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_addrs(&s(&["10.0.0.2/30", "fd00::2/64"]))
                .unwrap()
                .len(),
            2
        );
        for bad in [&[][..], &["10.0.0.2/30", "10.0.1.2/30"], &["10.0.0.2"]] {
            assert!(
                matches!(parse_addrs(&s(bad)), Err(Failure::Usage(_))),
                "{bad:?}"
            );
        }
    }
}
