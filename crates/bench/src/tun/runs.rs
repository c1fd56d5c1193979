//! One run of each `tun` pairing. Every run builds its namespaces afresh and leaves
//! nothing behind.
//!
//! - layer4 ↔ Linux: one namespace, one TUN; the kernel of that namespace is 10.215.0.1
//!   on it, layer4 (a `layer4_net::Runtime` on the TUN) is 10.215.0.2 behind it. The
//!   "Linux" peer is that kernel's TCP, reached through the TUN (one TUN crossing).
//! - Linux → Linux over a TUN wire: namespaces A (10.216.0.1 on its TUN) and B
//!   (10.216.0.2), the two TUNs joined by [`super::wire::Wire`] (two TUN crossings
//!   and a forwarder: the plain-TUN ceiling of limits.md 3a).
//! - Linux → Linux over veth: named namespaces A (10.217.0.1) and B (10.217.0.2)
//!   with a veth pair between them, offloads at their defaults (on).

use std::net::{Ipv4Addr, Shutdown, SocketAddr, UdpSocket};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::{runtime, ControlSocket, Runtime, RuntimeOptions, Tun};

use super::netns::{in_fresh_netns, ip, join, spawn_thread, NamedNetns};
use super::stream::{echo_server, one_exchange, recv_to_eof, send_bytes, IO_TIMEOUT, STOP};
use super::wire::Wire;
use super::{io_err, setup_err};
use crate::BenchError;

const L4_KERNEL: Ipv4Addr = Ipv4Addr::new(10, 215, 0, 1);
const L4_ADDR: Ipv4Addr = Ipv4Addr::new(10, 215, 0, 2);
const WIRE_A: Ipv4Addr = Ipv4Addr::new(10, 216, 0, 1);
const WIRE_B: Ipv4Addr = Ipv4Addr::new(10, 216, 0, 2);
const VETH_A: Ipv4Addr = Ipv4Addr::new(10, 217, 0, 1);
const VETH_B: Ipv4Addr = Ipv4Addr::new(10, 217, 0, 2);
const PORT: u16 = 5201;

/// Which way layer4's bulk transfer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// layer4 sends, the kernel receives.
    Layer4ToLinux,
    /// The kernel sends, layer4 receives.
    LinuxToLayer4,
}

/// One timed transfer: bytes received and the receiver's time from its stream's
/// start to end of stream.
#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    /// Bytes received.
    pub bytes: u64,
    /// Receiver's elapsed time.
    pub elapsed: Duration,
    /// Segments layer4 retransmitted (layer4 runs only).
    pub retransmits: Option<u64>,
    /// Packets layer4's runtime could not write to the TUN (layer4 runs only).
    pub tun_refused: Option<u64>,
}

impl Transfer {
    /// Payload Gbit/s (10⁹ bit/s).
    pub fn gbit_per_s(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.elapsed.as_secs_f64().max(1e-9) / 1e9
    }
}

/// A TUN in the calling thread's namespace, with the kernel at `addr/prefix`, up;
/// with `offload`, opened with `IFF_VNET_HDR` and TCP segmentation offloads.
fn tun(name: &str, addr: Ipv4Addr, prefix: u8, mtu: u16, offload: bool) -> Result<Tun, BenchError> {
    let t = if offload {
        Tun::open_offload(name)
    } else {
        Tun::open(name)
    }
    .map_err(setup_err("open TUN"))?;
    t.set_mtu(mtu).map_err(setup_err("TUN MTU"))?;
    t.set_ipv4_address(addr, prefix)
        .map_err(setup_err("TUN address"))?;
    t.set_up().map_err(setup_err("TUN up"))?;
    Ok(t)
}

/// The layer4 runtime on a fresh TUN in the calling thread's namespace.
/// `stack_buf`: layer4's TCP send and receive buffers (default: the stack's);
/// `tx_thread`: [`RuntimeOptions::tx_thread`].
fn layer4_runtime(
    mtu: u16,
    offload: bool,
    stack_buf: Option<usize>,
    tx_thread: bool,
) -> Result<Runtime, BenchError> {
    let t = tun("l4b0", L4_KERNEL, 30, mtu, offload)?;
    let cidr: IpCidr = format!("{L4_ADDR}/30")
        .parse()
        .map_err(|e| BenchError::Setup(format!("layer4 address: {e:?}")))?;
    let seed = runtime::os_seed().map_err(setup_err("seed"))?;
    let mut config = Config::with_address(cidr).seed(seed);
    if let Some(b) = stack_buf {
        config.tcp.send_buffer = b;
        config.tcp.recv_buffer = b;
    }
    let stack = Stack::new(config).map_err(|e| BenchError::Setup(format!("layer4 stack: {e}")))?;
    Runtime::with_options(
        stack,
        t,
        RuntimeOptions::default()
            .control(ControlSocket::Off)
            .tx_thread(tx_thread)
            // Buffers asked for are kept even when they equal the stack's defaults.
            .offload_tcp_buffers(if stack_buf.is_some() {
                0
            } else {
                runtime::OFFLOAD_TCP_BUFFERS
            }),
    )
    .map_err(setup_err("layer4 runtime"))
}

fn check_count(t: Transfer, want: u64) -> Result<Transfer, BenchError> {
    if t.bytes == want {
        Ok(t)
    } else {
        Err(BenchError::ConnectionFailed {
            conn: 0,
            why: format!("received {} of {want} bytes", t.bytes),
        })
    }
}

/// layer4 ↔ the kernel over one TUN, `bytes` one way.
pub fn layer4_bulk(
    dir: Direction,
    bytes: u64,
    buf: usize,
    mtu: u16,
    offload: bool,
    stack_buf: Option<usize>,
    tx_thread: bool,
) -> Result<Transfer, BenchError> {
    in_fresh_netns(move || {
        let rt = layer4_runtime(mtu, offload, stack_buf, tx_thread)?;
        let (got, elapsed) = match dir {
            Direction::Layer4ToLinux => {
                let l = std::net::TcpListener::bind((L4_KERNEL, PORT))
                    .map_err(setup_err("kernel bind"))?;
                let rx = std::thread::spawn(move || {
                    let (s, _) = l.accept()?;
                    s.set_read_timeout(Some(IO_TIMEOUT))?;
                    recv_to_eof(&s, buf)
                });
                let c = rt
                    .tcp_connect((L4_KERNEL, PORT))
                    .map_err(io_err("layer4 connect"))?;
                c.set_write_timeout(Some(IO_TIMEOUT))
                    .map_err(io_err("timeout"))?;
                send_bytes(&c, bytes, buf).map_err(io_err("layer4 send"))?;
                c.shutdown(Shutdown::Write)
                    .map_err(io_err("layer4 shutdown"))?;
                let r = rx
                    .join()
                    .map_err(|_| BenchError::Setup("receiver panicked".into()))?
                    .map_err(io_err("kernel receive"))?;
                drop(c);
                r
            }
            Direction::LinuxToLayer4 => {
                let l = rt
                    .tcp_bind((L4_ADDR, PORT))
                    .map_err(setup_err("layer4 bind"))?;
                let tx = std::thread::spawn(move || {
                    let to: SocketAddr = (L4_ADDR, PORT).into();
                    let s = std::net::TcpStream::connect_timeout(&to, IO_TIMEOUT)?;
                    s.set_write_timeout(Some(IO_TIMEOUT))?;
                    send_bytes(&s, bytes, buf)?;
                    s.shutdown(Shutdown::Write)
                });
                let (s, _) = l.accept().map_err(io_err("layer4 accept"))?;
                s.set_read_timeout(Some(IO_TIMEOUT))
                    .map_err(io_err("timeout"))?;
                let r = recv_to_eof(&s, buf).map_err(io_err("layer4 receive"))?;
                tx.join()
                    .map_err(|_| BenchError::Setup("sender panicked".into()))?
                    .map_err(io_err("kernel send"))?;
                r
            }
        };
        let retransmits = rt.with_stack(|s, _| s.stats().tcp.retrans_segs).ok();
        check_count(
            Transfer {
                bytes: got,
                elapsed,
                retransmits,
                tun_refused: Some(rt.stats().tx_errors),
            },
            bytes,
        )
    })
}

/// The kernel in namespace B receiving: binds `addr`, says so on `ready`, times
/// one connection to its end.
fn kernel_receiver(
    addr: Ipv4Addr,
    buf: usize,
    ready: mpsc::Sender<()>,
) -> Result<(u64, Duration), BenchError> {
    let l = std::net::TcpListener::bind((addr, PORT)).map_err(setup_err("kernel bind"))?;
    let _ = ready.send(());
    let (s, _) = l.accept().map_err(io_err("kernel accept"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(io_err("timeout"))?;
    recv_to_eof(&s, buf).map_err(io_err("kernel receive"))
}

/// The receiver's result once the sender's is known. A receiver whose sender failed
/// may wait in `accept` for ever, so it is not waited for then (the thread, and the
/// namespace it holds, end with the process).
fn join_after<T>(
    receiver: std::thread::JoinHandle<Result<T, BenchError>>,
    sent: &Result<(), BenchError>,
) -> Result<T, BenchError> {
    match sent {
        Ok(()) => join(receiver),
        Err(_) => Err(BenchError::Setup("the sender failed".into())),
    }
}

/// The kernel in namespace A sending `bytes` to `to`.
fn kernel_sender(to: Ipv4Addr, bytes: u64, buf: usize) -> Result<(), BenchError> {
    let s = std::net::TcpStream::connect_timeout(&(to, PORT).into(), IO_TIMEOUT)
        .map_err(io_err("kernel connect"))?;
    s.set_write_timeout(Some(IO_TIMEOUT))
        .map_err(io_err("timeout"))?;
    send_bytes(&s, bytes, buf).map_err(io_err("kernel send"))?;
    s.shutdown(Shutdown::Write)
        .map_err(io_err("kernel shutdown"))
}

/// Linux → Linux across two TUNs joined by the userspace forwarder.
pub fn linux_tun_wire(
    bytes: u64,
    buf: usize,
    mtu: u16,
    offload: bool,
) -> Result<Transfer, BenchError> {
    // Each side hands over its TUN and a UDP socket of its namespace, whose
    // datagrams to the other side wake the forwarder when it stops.
    let (tun_tx, tun_rx) = mpsc::channel::<(Arc<Tun>, UdpSocket)>();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let tun_b = tun_tx.clone();
    let receiver = spawn_thread(None, move || {
        let t = Arc::new(tun("l4wb", WIRE_B, 24, mtu, offload)?);
        let waker = UdpSocket::bind((WIRE_B, 0)).map_err(setup_err("waker"))?;
        let _ = tun_b.send((t.clone(), waker));
        kernel_receiver(WIRE_B, buf, ready_tx)
    });
    let sender = spawn_thread(None, move || {
        let t = Arc::new(tun("l4wa", WIRE_A, 24, mtu, offload)?);
        let waker = UdpSocket::bind((WIRE_A, 0)).map_err(setup_err("waker"))?;
        let _ = tun_tx.send((t.clone(), waker));
        go_rx
            .recv()
            .map_err(|_| BenchError::Setup("the wire did not start".into()))?;
        kernel_sender(WIRE_B, bytes, buf)
    });
    let wait = Duration::from_secs(10);
    let sides: Result<Vec<(Arc<Tun>, UdpSocket)>, _> =
        (0..2).map(|_| tun_rx.recv_timeout(wait)).collect();
    let mut wakers = Vec::new();
    let wire = match (sides, ready_rx.recv_timeout(wait)) {
        (Ok(s), Ok(())) => {
            let mut tuns = Vec::new();
            for (t, w) in s {
                tuns.push(t);
                wakers.push(w);
            }
            match tuns.as_slice() {
                [a, b] => Some(Wire::start(a.clone(), b.clone()).map_err(setup_err("wire"))?),
                _ => None,
            }
        }
        _ => None,
    };
    if wire.is_some() {
        let _ = go_tx.send(());
    }
    drop(go_tx);
    let sent = join(sender);
    let received = join_after(receiver, &sent);
    let carried = match wire {
        Some(w) => w
            .stop(|| {
                // A datagram from each side to the other: into that side's TUN.
                for waker in &wakers {
                    let from_a = waker.local_addr().is_ok_and(|a| a.ip() == WIRE_A);
                    let to = if from_a { WIRE_B } else { WIRE_A };
                    let _ = waker.send_to(&[0], (to, 9));
                }
            })
            .map_err(setup_err("forwarder"))?,
        None => {
            sent?;
            received?;
            return Err(BenchError::Setup("the TUN wire could not be built".into()));
        }
    };
    sent?;
    let (got, elapsed) = received?;
    let _ = carried;
    check_count(
        Transfer {
            bytes: got,
            elapsed,
            retransmits: None,
            tun_refused: None,
        },
        bytes,
    )
}

/// Linux → Linux across a veth pair between two named namespaces.
pub fn linux_veth(bytes: u64, buf: usize, mtu: u16) -> Result<Transfer, BenchError> {
    let ns = NamedNetns::create(&["a", "b"])?;
    let (a, b) = (ns.name(0).to_string(), ns.name(1).to_string());
    let mtu = mtu.to_string();
    ip(&[
        "-n", &a, "link", "add", "l4va", "mtu", &mtu, "type", "veth", "peer", "name", "l4vb",
        "mtu", &mtu, "netns", &b,
    ])?;
    ip(&[
        "-n",
        &a,
        "addr",
        "add",
        &format!("{VETH_A}/24"),
        "dev",
        "l4va",
    ])?;
    ip(&[
        "-n",
        &b,
        "addr",
        "add",
        &format!("{VETH_B}/24"),
        "dev",
        "l4vb",
    ])?;
    ip(&["-n", &a, "link", "set", "l4va", "up"])?;
    ip(&["-n", &b, "link", "set", "l4vb", "up"])?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = spawn_thread(Some(b), move || kernel_receiver(VETH_B, buf, ready_tx));
    let sent = match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => join(spawn_thread(Some(a), move || {
            kernel_sender(VETH_B, bytes, buf)
        })),
        Err(_) => Err(BenchError::Setup("the receiver did not start".into())),
    };
    let received = join_after(receiver, &sent);
    sent?;
    let (got, elapsed) = received?;
    drop(ns);
    check_count(
        Transfer {
            bytes: got,
            elapsed,
            retransmits: None,
            tun_refused: None,
        },
        bytes,
    )
}

/// Which client `tun connect` runs against the kernel listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// layer4 over the TUN.
    Layer4,
    /// The kernel itself, over loopback in the same namespace.
    LinuxLoopback,
}

/// Connections per second: connect, one byte each way, the server closes, the
/// client closes; until `conns` are done or `limit` has passed.
pub fn connect_rate(
    who: Connector,
    conns: Option<u64>,
    limit: Duration,
    mtu: u16,
) -> Result<(u64, Duration), BenchError> {
    in_fresh_netns(move || {
        let rt = layer4_runtime(mtu, false, None, true)?;
        let server_addr = match who {
            Connector::Layer4 => L4_KERNEL,
            Connector::LinuxLoopback => {
                ip(&["link", "set", "lo", "up"])?;
                Ipv4Addr::LOCALHOST
            }
        };
        let l =
            std::net::TcpListener::bind((server_addr, PORT)).map_err(setup_err("kernel bind"))?;
        let server = std::thread::spawn(move || echo_server(l));
        let to: SocketAddr = (server_addr, PORT).into();
        let once = |byte: u8| -> Result<(), BenchError> {
            match who {
                Connector::Layer4 => {
                    let s = layer4_net::TcpStream::connect_timeout(&rt, &to, IO_TIMEOUT)
                        .map_err(io_err("layer4 connect"))?;
                    s.set_read_timeout(Some(IO_TIMEOUT))
                        .map_err(io_err("timeout"))?;
                    one_exchange(&s, byte).map_err(io_err("layer4 exchange"))
                }
                Connector::LinuxLoopback => {
                    let s = std::net::TcpStream::connect_timeout(&to, IO_TIMEOUT)
                        .map_err(io_err("kernel connect"))?;
                    s.set_read_timeout(Some(IO_TIMEOUT))
                        .map_err(io_err("timeout"))?;
                    one_exchange(&s, byte).map_err(io_err("kernel exchange"))
                }
            }
        };
        let start = Instant::now();
        let mut done = 0u64;
        let result = loop {
            let enough = match conns {
                Some(n) => done >= n,
                None => start.elapsed() >= limit,
            };
            if enough {
                break Ok(());
            }
            if let Err(e) = once(1) {
                break Err(e);
            }
            done += 1;
        };
        let elapsed = start.elapsed();
        // The last connection ends the server (also after an error, if it can).
        let stopped = once(STOP);
        result?;
        // Without the stop connection the server would wait in accept for ever: it
        // is left behind then (it ends with the process).
        stopped?;
        server
            .join()
            .map_err(|_| BenchError::Setup("server panicked".into()))?
            .map_err(io_err("kernel server"))?;
        Ok((done, elapsed))
    })
}
