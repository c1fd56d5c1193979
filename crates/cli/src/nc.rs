//! `l4 nc`: netcat over layer4 on a TUN device (Linux, root).
//!
//! `l4 nc` creates the TUN (or attaches to an existing one), gives the kernel its
//! address on the link, brings it up, and runs a layer4 stack behind it with the
//! address `--addr` (IPv4, IPv6, or one of each: `--addr 10.213.0.2/30 --addr
//! fd00:213::2/64`); the kernel's address of each family is layer4's default
//! gateway for that family unless `--gateway` says otherwise. Then it connects (or,
//! with `-l`, listens and accepts one connection) and copies stdin to the socket and
//! the socket to stdout. HOST may be an IPv6 address, bracketed or not
//! (`[fd00:213::1]`), or a name; the first of its addresses of a family layer4 has
//! an address of is used.
//!
//! TCP: at the end of stdin it shuts down writing (a FIN, like `nc -N`) and goes on
//! reading; it exits once the peer has closed too, after its own data and FIN are
//! acknowledged (`Runtime::shutdown`, at most 5 s). UDP (`-u`): each read of stdin is one datagram; with
//! `-w SECS` it exits SECS after stdin ends and no datagram came.
//!
//! Exit status: 0 when both directions ended cleanly; 1 with one line on stderr
//! (`l4: nc: 10.213.0.1:80: connection refused`) when the connection was refused,
//! reset or timed out, or the TUN could not be made; 2 for bad arguments.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use layer4::ip::cidr::IpCidr;
use layer4_net::{Runtime, TcpListener, TcpStream, UdpSocket};

use crate::tun_setup::{self, describe, net, parse_addrs, usage, Failure, TunSetup};

/// Arguments of `l4 nc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// UDP instead of TCP.
    #[arg(short = 'u')]
    udp: bool,
    /// Listen for a connection (TCP: accept one; UDP: answer the first sender).
    #[arg(short = 'l')]
    listen: bool,
    /// The TUN device to create or attach to.
    #[arg(long, value_name = "NAME", default_value = "l4nc0")]
    tun: String,
    /// layer4's address and prefix on the TUN link, IPv4 or IPv6; give it twice
    /// for both (at most one of each family).
    #[arg(long, value_name = "CIDR", default_value = "10.213.0.2/30")]
    addr: Vec<String>,
    /// The kernel's address on the TUN, one per family of `--addr` (default: the
    /// first other host address of the prefix).
    #[arg(long, value_name = "IP")]
    tun_addr: Vec<IpAddr>,
    /// layer4's default gateway, one per family (default: the kernel's address of
    /// that family on the TUN).
    #[arg(long, value_name = "IP")]
    gateway: Vec<IpAddr>,
    /// The congestion controller (cubic, newreno).
    #[arg(long, value_name = "NAME")]
    cc: Option<String>,
    /// TCP: give up connecting after SECS. UDP: exit SECS after stdin ended and
    /// nothing arrived.
    #[arg(short = 'w', value_name = "SECS")]
    wait: Option<f64>,
    /// Open the TUN without offloads (plain IFF_TUN | IFF_NO_PI). By default it is
    /// opened with IFF_VNET_HDR and TCP offloads (64 KB super-packets both ways),
    /// falling back to plain if the kernel refuses them.
    #[arg(long)]
    no_offload: bool,
    /// Say on stderr when listening and when connected.
    #[arg(short = 'v')]
    verbose: bool,
    /// HOST PORT to connect to; with -l, [HOST] PORT to listen on (HOST defaults to
    /// layer4's address).
    #[arg(value_name = "HOST PORT", num_args = 1..=2, required = true)]
    target: Vec<String>,
}

/// Runs `l4 nc`.
pub fn run(args: &Args) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => crate::error(m),
        Err(Failure::Net(m)) => {
            eprintln!("l4: nc: {m}");
            ExitCode::from(1)
        }
    }
}

/// HOST without the brackets of `[fd00::1]`.
fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn run_inner(args: &Args) -> Result<(), Failure> {
    let cidrs = parse_addrs(&args.addr)?;
    let first = cidrs[0];
    let wait = match args.wait {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(usage(format!(
                "-w {s}: must be a positive number of seconds"
            )))
        }
    };
    let (host, port) = match args.target.as_slice() {
        [port] if args.listen => (first.addr().to_string(), port.clone()),
        [host, port] => (unbracket(host).to_string(), port.clone()),
        _ => return Err(usage("give HOST PORT (or, with -l, [HOST] PORT)")),
    };
    let port: u16 = port
        .parse()
        .map_err(|_| usage(format!("port {port:?}: not a number from 0 to 65535")))?;
    let families = cidrs
        .iter()
        .map(|c| if c.is_ipv4() { "IPv4" } else { "IPv6" })
        .collect::<Vec<_>>()
        .join(" or ");
    let target = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| usage(format!("{host}: {e}")))?
        .find(|t| cidrs.iter().any(|c| c.is_ipv4() == t.is_ipv4()))
        .ok_or_else(|| usage(format!("{host}: no {families} address (see --addr)")))?;
    // The local address of the target's family.
    let local = cidrs
        .iter()
        .find(|c| c.is_ipv4() == target.is_ipv4())
        .map_or(first.addr(), |c| c.addr());
    let rt = start(args, &cidrs)?;
    let copied = match (args.udp, args.listen) {
        (false, false) => {
            let stream = match wait {
                Some(w) => TcpStream::connect_timeout(&rt, &target, w),
                None => TcpStream::connect(&rt, target),
            }
            .map_err(net(target))?;
            if args.verbose {
                eprintln!("l4: nc: connected to {target}");
            }
            tcp_copy(stream, target)
        }
        (false, true) => {
            let l = TcpListener::bind(&rt, target).map_err(net(target))?;
            if args.verbose {
                eprintln!("l4: nc: listening on {target}");
            }
            let (stream, peer) = l.accept().map_err(net(target))?;
            drop(l);
            if args.verbose {
                eprintln!("l4: nc: connection from {peer}");
            }
            tcp_copy(stream, peer)
        }
        (true, listen) => udp_copy(&rt, args, local, target, listen, wait),
    };
    // What was written and closed reaches the peer before the process exits:
    // the runtime keeps retransmitting until the FIN is acknowledged.
    let abandoned = rt.shutdown(LINGER);
    if abandoned > 0 && args.verbose {
        eprintln!("l4: nc: the close did not finish within {LINGER:?}");
    }
    copied
}

/// How long `l4 nc` waits at exit for its connection to finish its close.
const LINGER: Duration = Duration::from_secs(5);

/// Makes the TUN and starts the runtime on it.
fn start(args: &Args, cidrs: &[IpCidr]) -> Result<Runtime, Failure> {
    tun_setup::start(&TunSetup {
        tun: &args.tun,
        cidrs,
        tun_addr: &args.tun_addr,
        gateway: &args.gateway,
        cc: args.cc.as_deref(),
        no_offload: args.no_offload,
        tool: "nc",
        verbose: args.verbose,
    })
}

/// stdin → the stream (then a FIN), the stream → stdout, until both ended.
fn tcp_copy(stream: TcpStream, peer: SocketAddr) -> Result<(), Failure> {
    let writer = stream.clone();
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("stdin: {e}"))),
            };
            (&writer).write_all(&buf[..n])?;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = (&stream).read(&mut buf).map_err(net(peer))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .and_then(|()| out.flush())
            .map_err(|e| Failure::Net(format!("stdout: {e}")))?;
    }
    match sender.join() {
        Ok(r) => r.map_err(net(peer))?,
        Err(_) => return Err(Failure::Net("the stdin thread panicked".into())),
    }
    Ok(())
}

/// UDP: each stdin read is a datagram to the peer; datagrams from it go to stdout.
fn udp_copy(
    rt: &Runtime,
    args: &Args,
    local: IpAddr,
    target: SocketAddr,
    listen: bool,
    wait: Option<Duration>,
) -> Result<(), Failure> {
    let sock = if listen {
        UdpSocket::bind(rt, target).map_err(net(target))?
    } else {
        let s = UdpSocket::bind(rt, (local, 0)).map_err(net(target))?;
        s.connect(target).map_err(net(target))?;
        s
    };
    let sock = Arc::new(sock);
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; 65536];
    let peer = if listen {
        if args.verbose {
            eprintln!("l4: nc: listening on {target} (udp)");
        }
        let (n, from) = sock.recv_from(&mut buf).map_err(net(target))?;
        sock.connect(from).map_err(net(from))?;
        out.write_all(&buf[..n])
            .and_then(|()| out.flush())
            .map_err(|e| Failure::Net(format!("stdout: {e}")))?;
        from
    } else {
        target
    };
    let stdin_done = Arc::new(AtomicBool::new(false));
    let (s, done) = (sock.clone(), stdin_done.clone());
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 65507];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Err(e) = s.send(&buf[..n]) {
                        eprintln!("l4: nc: {peer}: {}", describe(&e));
                        break;
                    }
                }
            }
        }
        done.store(true, Ordering::Release);
    });
    sock.set_read_timeout(wait).map_err(net(peer))?;
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => out
                .write_all(&buf[..n])
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Net(format!("stdout: {e}")))?,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stdin_done.load(Ordering::Acquire) {
                    return Ok(());
                }
            }
            Err(e) => return Err(net(peer)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_brackets() {
        assert_eq!(unbracket("[fd00::1]"), "fd00::1");
        assert_eq!(unbracket("fd00::1"), "fd00::1");
        assert_eq!(unbracket("example.com"), "example.com");
        assert_eq!(unbracket("[x"), "[x");
    }
}
