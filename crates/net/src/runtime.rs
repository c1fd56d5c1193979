//! [`Runtime`]: drives a [`Stack`] from a [`Device`] on a thread of its own.
//!
//! # Design
//!
//! The stack sits in one `Mutex` shared by the runtime thread and the application
//! threads (no command channel: a socket call is a method call on the stack under the
//! lock, so results come back directly and nothing is copied twice).
//!
//! The runtime thread loops:
//!
//! 1. under the lock: read up to [`READ_BATCH`] packets from the device, hand each
//!    to [`Stack::handle_packet_offloaded`] (with what the device vouched for) and,
//!    every few packets, send what
//!    [`Stack::poll_transmit`] yields (so ACKs keep pace with the segments they
//!    acknowledge); call [`Stack::handle_timeout`] if the stack's
//!    deadline has passed; send everything [`Stack::poll_transmit`] yields; drain
//!    [`Stack::poll_event`] and `notify_all` the condition variable of each socket
//!    named (the order of polls the stack's docs prescribe);
//! 2. without the lock: `poll(2)` on the device and an `eventfd` until the device is
//!    readable, the stack's [`Stack::poll_timeout`] arrives, or the eventfd is
//!    written.
//!
//! An application thread takes the lock, makes its call (`tcp_send`, `tcp_recv`,
//! ...), and, if the call changed something, writes the eventfd so the runtime
//! transmits promptly and recomputes its deadline. A blocking call that gets
//! `WouldBlock` waits on its socket's condition variable (made on first use, one per
//! socket) with the lock released, and retries when the runtime reports an event for
//! that socket. No wakeup is lost: the caller checks and starts waiting under the
//! lock, and the runtime takes the lock to poll the event it then notifies.
//!
//! Offloads: on a device that segments TCP itself ([`Device::tso`], a
//! [`Tun`](crate::Tun) from [`Tun::open_offload`](crate::Tun::open_offload)), each
//! transmit pass feeds what [`Stack::poll_transmit`] yields through a
//! [`Coalescer`]: consecutive full-sized segments of one connection leave as one
//! super-packet of up to 64 KB (one `writev`), which the kernel cuts back into the
//! same segments. The stack keeps its MSS-sized segments (pacing, congestion
//! control, SACK and retransmission unchanged); only the syscalls are batched. On
//! receive, the device hands the stack whole TCP super-packets, which it takes like
//! any segment, through [`Stack::handle_packet_offloaded`]: a segment the local
//! kernel left with a partial checksum (or one it verified) is vouched for and not
//! summed at all ([`crate::vnet::receive`] says why that is safe); other partial
//! checksums are completed and verified. The reads of one turn
//! are already a batch ([`READ_BATCH`], until `WouldBlock`); a TUN has no
//! multi-packet read or write, so super-packets are how syscalls are saved.
//!
//! On such a device the runtime also, by default ([`RuntimeOptions`]):
//! - writes from a second thread (`tx_thread`): the transmit pass queues what
//!   it would have written and that thread writes it, because a write to a TUN runs
//!   the kernel's side of the conversation (for an ACK, the kernel's TCP sending its
//!   next super-packets) in the writer — 41 % of the runtime thread, profiled on
//!   Linux → layer4 — which then runs beside the reads instead of between them;
//! - raises the stack's TCP buffers from the 256 KiB defaults to 4 MiB
//!   ([`RuntimeOptions::offload_tcp_buffers`]): a 256 KiB window is four 64 KB
//!   super-packets.
//!
//! Time: [`layer4::time::Instant`] counts nanoseconds since the runtime was created
//! (`std::time::Instant`, a monotonic clock).
//!
//! Packets the device refuses (`write` errors) are dropped and counted, like a lossy
//! link; a read error other than `WouldBlock`/`EINTR` stops the runtime, and every
//! blocked or later socket call then fails (`NetworkDown`) with that error's message.
//! So does a panic on the runtime thread (a device's, or a bug), caught at the
//! thread's top (`run_until_stopped`).
//!
//! Stopping: [`Runtime::shutdown`] (module `shutdown`) is the graceful end: it closes the
//! application's sockets (the runtime keeps the set of those it holds, as a process's
//! descriptor table) and drives the stack until the connections have finished their
//! close, or a timeout. [`Runtime`]'s drop stops at once: the thread makes a last
//! transmit pass and ends, with no linger (nothing is retransmitted after it, unlike
//! an orphaned connection in the kernel). After either, every blocked or later call
//! fails with `NetworkDown`.
//!
//! A connection's failure reaches the application once, as through Linux's
//! `sk_err`: the stack keeps reporting it, and each socket (module `sk_err`, one
//! record per socket, shared by its handles) turns the later reports into the end
//! of the stream or `BrokenPipe`.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use layer4::time::Instant;
use layer4::{Error, EventKind, SocketHandle, Stack};

use crate::control::server::ControlServer;
use crate::control::{self, ControlSocket};
use crate::device::Device;
use crate::gso::Coalescer;
use crate::loopback::poll_outbound;
use crate::tx_thread::{self, TxQueue};
use crate::vnet::VnetHdr;

/// The most packets read per turn of the loop before transmitting and reporting
/// events.
pub const READ_BATCH: usize = 64;

/// Within a batch, what the stack has to send goes out after every this many packets
/// read (an ACK for at most this many segments; RFC 9293 SHLD-19 asks for one per
/// two). Every packet costs TUN throughput (measured: about half, with `tun bulk`);
/// once per batch (64) made the kernel's sender see phantom losses.
const FLUSH_EVERY: usize = 4;

/// A packet read of at least this many bytes is a super-packet of several segments
/// (a device with receive offload): what it made due leaves at once, as after
/// [`FLUSH_EVERY`] packets (four 64 KB super-packets per ACK would be a whole
/// default receive window).
const SUPER_PACKET: usize = 8192;

/// The largest packet read from or written to a device.
const PACKET_BUF: usize = 65536;

/// What the runtime thread and the sockets share.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Written to wake the runtime thread.
    wake_fd: OwnedFd,
    origin: std::time::Instant,
    /// Notified by the runtime thread after each turn of a
    /// [`Runtime::shutdown`]'s drain, and when it stops.
    pub(crate) drained: Condvar,
}

/// The state under the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) stack: Stack,
    waiters: HashMap<SocketHandle, Waiters>,
    /// The sockets the application holds (what a [`Runtime::shutdown`] closes,
    /// as exit(2) closes a process's descriptors).
    pub(crate) open: HashSet<SocketHandle>,
    /// The streams given an `SO_LINGER` ([`crate::linger`]): how long.
    pub(crate) linger: HashMap<SocketHandle, std::time::Duration>,
    /// Set by [`Runtime::shutdown`]: the application's sockets are closed and
    /// its calls fail; the thread goes on until the connections finish.
    pub(crate) draining: bool,
    /// Set when the [`Runtime`] stops (dropped, or at the end of its
    /// shutdown): the thread exits.
    stop: bool,
    /// Why the runtime stopped, once it has.
    stopped: Option<String>,
    /// Packets the device refused to take.
    tx_errors: u64,
    /// The same, counted by the transmit thread.
    tx_thread_errors: u64,
    /// TCP super-packets written to a segmenting device, and the segments in them.
    tx_super_packets: u64,
    tx_super_segments: u64,
    /// UDP sockets dropped with datagrams still queued: closed after the next
    /// transmit pass.
    close_after_transmit: Vec<SocketHandle>,
}

/// Who waits for a socket: blocked threads (the condition variable) and async
/// tasks (wakers, one list per direction, each woken once and then forgotten).
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    cv: Arc<Condvar>,
    read: Vec<Waker>,
    write: Vec<Waker>,
}

/// Which of a socket's wakers an async call registers with: reads and accepts wait
/// for `Readable`/`Acceptable`, writes and connects for `Writable`/`Connected`.
// The waker machinery is std's; only the `tokio` feature's sockets use it.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
    /// Either (`ready(Interest::READABLE | Interest::WRITABLE)`).
    Both,
}

impl Waiters {
    /// Wakes whoever waits for `kind`: every blocked thread (they recheck), and the
    /// tasks of the direction the event concerns (both for connect, error, close).
    fn notify(&mut self, kind: EventKind) {
        self.cv.notify_all();
        let (read, write) = match kind {
            EventKind::Readable | EventKind::Acceptable | EventKind::Urgent => (true, false),
            EventKind::Writable => (false, true),
            _ => (true, true),
        };
        if read {
            self.read.drain(..).for_each(Waker::wake);
        }
        if write {
            self.write.drain(..).for_each(Waker::wake);
        }
    }

    fn notify_all(&mut self) {
        self.cv.notify_all();
        self.read.drain(..).for_each(Waker::wake);
        self.write.drain(..).for_each(Waker::wake);
    }

    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    fn register(&mut self, dir: Direction, waker: &Waker) {
        let lists = match dir {
            Direction::Read => [Some(&mut self.read), None],
            Direction::Write => [Some(&mut self.write), None],
            Direction::Both => [Some(&mut self.read), Some(&mut self.write)],
        };
        for list in lists.into_iter().flatten() {
            // A task polled again registers once (tokio's readiness semantics: the
            // latest waker of a task is the one woken).
            if !list.iter().any(|w| w.will_wake(waker)) {
                list.push(waker.clone());
            }
        }
    }
}

/// Counters of the runtime itself (the stack's are in [`Stack::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Packets the device refused to take (dropped).
    pub tx_errors: u64,
    /// TCP super-packets written to a device that segments them ([`Device::tso`]).
    pub tx_super_packets: u64,
    /// The segments those super-packets carried (each would have been a write).
    pub tx_super_segments: u64,
}

impl Shared {
    /// The current time on the stack's clock.
    pub(crate) fn now(&self) -> Instant {
        let ns = self.origin.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Locks the state (a panic in another holder does not make it unusable: the
    /// stack's own invariants are kept by its methods).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the runtime thread.
    pub(crate) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to the eventfd we own. An error
        // (EAGAIN when the counter is saturated) means a wakeup is already pending.
        unsafe {
            libc::write(
                self.wake_fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            );
        }
    }

    /// Runs `f` on the stack with the current time, then wakes the runtime.
    pub(crate) fn with_stack<R>(&self, f: impl FnOnce(&mut Stack, Instant) -> R) -> io::Result<R> {
        let mut g = self.lock();
        g.check_running()?;
        let now = self.now();
        let r = f(&mut g.stack, now);
        drop(g);
        self.wake();
        Ok(r)
    }

    /// Retries `f` until it stops returning `WouldBlock`, waiting for events on
    /// `handle` in between; past `deadline` the call fails with `timeout_kind`
    /// (`WouldBlock` for read/write timeouts, as std on Unix; `TimedOut` for
    /// connect).
    pub(crate) fn block_on<R>(
        &self,
        handle: SocketHandle,
        deadline: Option<std::time::Instant>,
        timeout_kind: io::ErrorKind,
        mut f: impl FnMut(&mut Stack, Instant) -> Result<R, Error>,
    ) -> io::Result<R> {
        let mut g = self.lock();
        loop {
            g.check_running()?;
            let now = self.now();
            match f(&mut g.stack, now) {
                Err(Error::WouldBlock) => {}
                other => {
                    drop(g);
                    self.wake();
                    return other.map_err(io::Error::from);
                }
            }
            let cv = g.waiters.entry(handle).or_default().cv.clone();
            g = match deadline {
                None => cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::new(timeout_kind, "operation timed out"));
                    }
                    cv.wait_timeout(g, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// One attempt of `f` for an async call: its result, or, on `WouldBlock`,
    /// `Pending` with `cx`'s waker registered for `dir` events on `handle`. The
    /// registration happens under the same lock as the attempt, and the runtime
    /// takes that lock to poll the event it wakes for, so no wakeup is lost.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        handle: SocketHandle,
        dir: Direction,
        f: impl FnOnce(&mut Stack, Instant) -> Result<R, Error>,
    ) -> Poll<io::Result<R>> {
        let mut g = self.lock();
        if let Err(e) = g.check_running() {
            return Poll::Ready(Err(e));
        }
        let now = self.now();
        match f(&mut g.stack, now) {
            Err(Error::WouldBlock) => {
                g.waiters
                    .entry(handle)
                    .or_default()
                    .register(dir, cx.waker());
                Poll::Pending
            }
            other => {
                drop(g);
                self.wake();
                Poll::Ready(other.map_err(io::Error::from))
            }
        }
    }

    /// Wakes whoever waits on `handle` (blocked calls and async tasks retry):
    /// for a change that ends what they wait for without a stack event.
    pub(crate) fn wake_waiters(&self, handle: SocketHandle) {
        if let Some(w) = self.lock().waiters.get_mut(&handle) {
            w.notify_all();
        }
    }

    /// Records `handle` as held by the application. During a
    /// [`Runtime::shutdown`] (a socket the stack made before it began, adopted
    /// after: an accepted connection, a connect) it is closed at once instead,
    /// as the shutdown closed the others.
    pub(crate) fn adopt(&self, handle: SocketHandle) {
        let mut g = self.lock();
        if g.draining {
            let now = self.now();
            g.close_socket(now, handle);
            drop(g);
            self.wake();
        } else {
            g.open.insert(handle);
        }
    }

    /// Closes `handle` in the stack and forgets its waiters (waking them). A UDP
    /// socket with datagrams not yet transmitted is closed by the runtime thread
    /// once it has sent them (the stack discards a closed socket's queue; with the
    /// kernel's UDP, a datagram `send_to` accepted is sent even if the socket is
    /// closed right after).
    ///
    /// A handle a [`Runtime::shutdown`] already closed is left alone (the stack
    /// may still hold its connection, closing).
    pub(crate) fn close(&self, handle: SocketHandle) {
        let mut g = self.lock();
        if !g.open.remove(&handle) {
            return;
        }
        let now = self.now();
        g.close_socket(now, handle);
        drop(g);
        self.wake();
    }
}

impl Inner {
    /// Why the runtime stopped, if it has.
    pub(crate) fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Whether UDP sockets closed with datagrams queued wait for a transmit pass.
    pub(crate) fn udp_closes_pending(&self) -> bool {
        !self.close_after_transmit.is_empty()
    }

    /// Packets the device refused.
    pub(crate) fn tx_errors(&self) -> u64 {
        self.tx_errors + self.tx_thread_errors
    }

    /// `Ok` while the runtime serves the application's calls; once it stops or
    /// begins its shutdown, the error every call gets: `NetworkDown` (see
    /// [`Runtime`]'s docs for why that kind).
    fn check_running(&self) -> io::Result<()> {
        if let Some(why) = &self.stopped {
            return Err(io::Error::new(
                io::ErrorKind::NetworkDown,
                format!("the layer4 runtime stopped: {why}"),
            ));
        }
        if self.draining {
            return Err(io::Error::new(
                io::ErrorKind::NetworkDown,
                "the layer4 runtime is shutting down",
            ));
        }
        Ok(())
    }

    /// The runtime has stopped (the first reason given is kept): every waiting
    /// call is woken to fail.
    fn stop_with(&mut self, why: String) {
        self.stopped.get_or_insert(why);
        self.wake_all();
    }

    /// Wakes every blocked call and async task (they recheck, and fail if the
    /// runtime is shutting down or stopped).
    pub(crate) fn wake_all(&mut self) {
        for w in self.waiters.values_mut() {
            w.notify_all();
        }
    }

    /// Closes `handle` in the stack (a UDP socket with datagrams still queued
    /// after the next transmit pass; a stream with a zero `SO_LINGER` with a
    /// RST, [`crate::linger`]) and wakes and forgets its waiters.
    pub(crate) fn close_socket(&mut self, now: Instant, handle: SocketHandle) {
        // Most sockets have no linger: no hashing then.
        let linger = if self.linger.is_empty() {
            None
        } else {
            self.linger.remove(&handle)
        };
        if crate::linger::close_abortively(&mut self.stack, now, handle, linger) {
            // Closed with its RST.
        } else if self.stack.udp_send_queue(handle).is_ok_and(|n| n > 0) {
            self.close_after_transmit.push(handle);
        } else {
            let _ = self.stack.close(now, handle);
        }
        if let Some(mut w) = self.waiters.remove(&handle) {
            w.notify_all();
        }
    }
}

/// A running stack: a thread that moves packets between a [`Device`] and a
/// [`Stack`], and the handle sockets are made from (see `std_api`).
///
/// # Ending it
///
/// [`Runtime::shutdown`] ends it gracefully: the sockets still open are closed
/// as a process's exit closes them, and the call returns once every connection
/// has finished its close (or after a timeout, with the number abandoned). Use it
/// before a program exits: unlike the kernel, which finishes a closed
/// connection's close after its process is gone, a layer4 stack stops with its
/// runtime.
///
/// Dropping it stops at once: it joins the thread, which first sends what the
/// stack has to send at that moment (a FIN or RST from a socket just closed) but
/// retransmits nothing after. The drop does not wait for connections on purpose:
/// a drop runs on every path out of a scope, unwinding included, where seconds of
/// hidden blocking would surprise; waiting is the explicit `shutdown`.
///
/// After either, every call on its sockets, blocked or later, fails with
/// `io::ErrorKind::NetworkDown` (the message says why the runtime stopped). Not
/// tokio's `Other` (its sockets' kind once their runtime has shut down), which
/// says nothing; not `NotConnected` or `BrokenPipe`, which a running stack
/// returns for a finished connection or a shut-down direction, so a program
/// could not tell the runtime's end from a connection's; not
/// `ConnectionAborted`, which accept loops (hyper 0.14's `AddrIncoming`, axum's
/// `serve`) take as one failed connection and retry at once, spinning on a
/// runtime that is gone (other kinds they retry after a second's pause). `NetworkDown` ("the system's networking is down") is
/// what happened, for streams, listeners and UDP sockets alike, and no socket of
/// a running stack reports it.
#[derive(Debug)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    control: Option<ControlServer>,
}

/// How a [`Runtime`] is set up beyond its stack and device.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeOptions {
    /// The control socket `l4 ss` and `l4 stat` read (default: under
    /// `/run/layer4/`, if it can be made).
    pub control: ControlSocket,
    /// Whether a device that segments TCP itself ([`Device::tso`], a TUN with
    /// offloads) is written from a thread of its own (`tx_thread`: the kernel's
    /// work behind each write then runs beside the reads, at the price of a
    /// cross-thread wake-up per transmit pass). Default `true`: with 4 MiB buffers
    /// it lifted Linux → layer4 from 3.0–5.1 to 4.8–5.9 Gbit/s in four A/B rounds
    /// (docs/benchmarks.md, TUN, session 5b). Devices without offloads are always
    /// written by the runtime thread.
    pub tx_thread: bool,
    /// On a device that segments TCP itself, the TCP send and receive buffers of a
    /// stack still at [`TcpConfig`](layer4::TcpConfig)'s defaults (256 KiB) are
    /// raised to this ([`Stack::set_tcp_buffers`]): four 64 KB super-packets per
    /// window starve a 10 Gbit/s device (Linux's own autotuning grows its buffers
    /// to 4 MiB and beyond, `tcp_wmem`/`tcp_rmem`). Buffers set explicitly are
    /// kept. `0` keeps the defaults. Default 4 MiB.
    pub offload_tcp_buffers: usize,
}

/// [`RuntimeOptions::offload_tcp_buffers`]'s default.
pub const OFFLOAD_TCP_BUFFERS: usize = 4 << 20;

impl Default for RuntimeOptions {
    fn default() -> RuntimeOptions {
        RuntimeOptions {
            control: ControlSocket::default(),
            tx_thread: true,
            offload_tcp_buffers: OFFLOAD_TCP_BUFFERS,
        }
    }
}

impl RuntimeOptions {
    /// The options with the transmit thread on or off (see
    /// [`RuntimeOptions::tx_thread`](struct.RuntimeOptions.html#structfield.tx_thread)).
    pub fn tx_thread(mut self, on: bool) -> RuntimeOptions {
        self.tx_thread = on;
        self
    }

    /// The options with `bytes` as [`RuntimeOptions::offload_tcp_buffers`].
    pub fn offload_tcp_buffers(mut self, bytes: usize) -> RuntimeOptions {
        self.offload_tcp_buffers = bytes;
        self
    }

    /// The options with `control` as the control socket.
    pub fn control(mut self, control: ControlSocket) -> RuntimeOptions {
        self.control = control;
        self
    }
}

/// Numbers the runtimes of this process for their control-socket names.
static RUNTIMES: AtomicU32 = AtomicU32::new(0);

impl Runtime {
    /// Starts a thread driving `stack` from `device`, with the default control
    /// socket (`/run/layer4/<pid>-<n>.sock` when it can be made).
    pub fn new<D: Device>(stack: Stack, device: D) -> io::Result<Runtime> {
        Runtime::with_options(stack, device, RuntimeOptions::default())
    }

    /// Starts a thread driving `stack` from `device`, set up by `options`.
    pub fn with_options<D: Device>(
        mut stack: Stack,
        device: D,
        options: RuntimeOptions,
    ) -> io::Result<Runtime> {
        if device.tso() {
            let default = layer4::TcpConfig::default();
            let tcp = &stack.config().tcp;
            let raise = |now: usize, default: usize| {
                if now == default {
                    options.offload_tcp_buffers
                } else {
                    0
                }
            };
            let send = raise(tcp.send_buffer, default.send_buffer);
            let recv = raise(tcp.recv_buffer, default.recv_buffer);
            stack.set_tcp_buffers(send, recv);
        }
        // SAFETY: eventfd(2) takes no pointers; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("eventfd: {e}")));
        }
        // SAFETY: `fd` was just returned by eventfd(2) and is owned by nobody else.
        let wake_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                stack,
                waiters: HashMap::new(),
                open: HashSet::new(),
                linger: HashMap::new(),
                draining: false,
                stop: false,
                stopped: None,
                tx_errors: 0,
                tx_thread_errors: 0,
                tx_super_packets: 0,
                tx_super_segments: 0,
                close_after_transmit: Vec::new(),
            }),
            wake_fd,
            origin: std::time::Instant::now(),
            drained: Condvar::new(),
        });
        let s = shared.clone();
        let tx_thread = options.tx_thread;
        let thread = std::thread::Builder::new()
            .name("layer4-runtime".into())
            .spawn(move || run_until_stopped(&s, device, tx_thread))
            .map_err(|e| io::Error::new(e.kind(), format!("spawn runtime thread: {e}")))?;
        let mut rt = Runtime {
            shared,
            thread: Some(thread),
            control: None,
        };
        let n = RUNTIMES.fetch_add(1, Ordering::Relaxed);
        rt.control = match options.control {
            ControlSocket::Off => None,
            // Dropping `rt` on error stops the thread.
            ControlSocket::At(path) => Some(ControlServer::start(path, rt.shared.clone(), n)?),
            ControlSocket::Default => {
                let path = control::dir().join(format!("{}-{n}.sock", std::process::id()));
                ControlServer::start(path, rt.shared.clone(), n).ok()
            }
        };
        Ok(rt)
    }

    /// The control socket's path, if the runtime has one.
    pub fn control_path(&self) -> Option<&std::path::Path> {
        self.control.as_ref().map(|c| c.path())
    }

    /// Runs `f` on the stack (statistics, `tcp_info`, the socket table, options the
    /// socket types do not cover) with the current time, then lets the runtime
    /// transmit whatever that caused.
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack, Instant) -> R) -> io::Result<R> {
        self.shared.with_stack(f)
    }

    /// The runtime's own counters.
    pub fn stats(&self) -> RuntimeStats {
        let g = self.shared.lock();
        RuntimeStats {
            tx_errors: g.tx_errors(),
            tx_super_packets: g.tx_super_packets,
            tx_super_segments: g.tx_super_segments,
        }
    }

    /// The current time on the stack's clock.
    pub fn now(&self) -> Instant {
        self.shared.now()
    }
}

impl Runtime {
    /// Stops the thread (after its last transmit pass) and fails every call
    /// from now on with `why`.
    pub(crate) fn stop(&mut self, why: &str) {
        // The control socket first: its file goes before the stack stops answering.
        self.control = None;
        self.shared.lock().stop = true;
        self.shared.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.lock().stop_with(why.into());
    }
}

/// Stops at once, without waiting for anything: no hidden blocking in a drop
/// (the thread is joined, which takes one transmit pass). [`Runtime::shutdown`]
/// is the graceful end.
impl Drop for Runtime {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop("the runtime was dropped");
        }
    }
}

/// What the runtime thread keeps for transmitting: the buffer the stack writes
/// into, a packet the device pushed back, and, for a device that segments TCP
/// itself, the super-packet being built.
struct Tx {
    buf: Vec<u8>,
    /// A packet in `buf` not yet sent (or not yet in the coalescer).
    pending: Option<usize>,
    /// `Some` when the device takes TCP super-packets ([`Device::tso`]).
    gso: Option<Coalescer>,
}

impl Tx {
    fn new<D: Device>(device: &D) -> Tx {
        Tx {
            buf: vec![0u8; PACKET_BUF],
            pending: None,
            gso: device.tso().then(Coalescer::new),
        }
    }

    /// Whether something waits for the device to become writable.
    fn blocked(&self) -> bool {
        self.pending.is_some() || self.gso.as_ref().is_some_and(Coalescer::is_closed)
    }
}

/// Sends everything the stack has to transmit at `now` (what it sends to itself
/// goes back to it: `loopback`), or until the device pushes back: a packet the device refused with `WouldBlock` waits (in `tx`) and the stack
/// is not asked for more until it leaves, so a full device queue holds packets back
/// instead of dropping them (the runtime then waits for the device to become
/// writable). With a segmenting device, consecutive full-sized segments of one
/// connection leave as one super-packet.
fn flush<D: Device>(
    stack: &mut Stack,
    device: &mut D,
    queue: Option<&TxQueue>,
    tx: &mut Tx,
    now: Instant,
    counts: &mut TxCounts<'_>,
) {
    let Some(gso) = tx.gso.as_mut() else {
        loop {
            let n = match tx.pending.take() {
                Some(n) => n,
                None => match poll_outbound(stack, now, &mut tx.buf) {
                    Some(n) => n,
                    None => return,
                },
            };
            match send_one(device, queue, &tx.buf[..n], None) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tx.pending = Some(n);
                    return;
                }
                Err(_) => *counts.errors += 1,
            }
        }
    };
    loop {
        if gso.is_closed() {
            let segments = gso.segments() as u64;
            let (packet, hdr) = gso.finish();
            let sent = send_one(device, queue, packet, hdr.as_ref());
            match sent {
                Ok(_) if segments > 1 => {
                    *counts.super_packets += 1;
                    *counts.super_segments += segments;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => *counts.errors += 1,
            }
            gso.clear();
        }
        let n = match tx.pending.take() {
            Some(n) => n,
            None => match poll_outbound(stack, now, &mut tx.buf) {
                Some(n) => n,
                None if gso.is_empty() => return,
                None => {
                    gso.close();
                    continue;
                }
            },
        };
        if !gso.push(&tx.buf[..n]) {
            // It starts the next super-packet once this one is out.
            tx.pending = Some(n);
        }
    }
}

/// Writes `packet` (a super-packet when `tso` is given) to the device, or queues it
/// for the transmit thread when there is one (a full queue is `WouldBlock`).
fn send_one<D: Device>(
    device: &mut D,
    queue: Option<&TxQueue>,
    packet: &[u8],
    tso: Option<&VnetHdr>,
) -> io::Result<usize> {
    match (queue, tso) {
        (Some(q), tso) => q.push(packet, tso.copied()),
        (None, Some(hdr)) => device.send_tso(packet, hdr),
        (None, None) => device.send(packet),
    }
}

/// The runtime's transmit counters, borrowed from [`Inner`] for a flush.
struct TxCounts<'a> {
    errors: &'a mut u64,
    super_packets: &'a mut u64,
    super_segments: &'a mut u64,
}

impl Inner {
    /// The stack and the transmit counters, borrowed apart.
    fn split_tx(&mut self) -> (&mut Stack, TxCounts<'_>) {
        (
            &mut self.stack,
            TxCounts {
                errors: &mut self.tx_errors,
                super_packets: &mut self.tx_super_packets,
                super_segments: &mut self.tx_super_segments,
            },
        )
    }
}

/// The runtime thread: [`run`], and if it panics (in a device's call, or a
/// bug), the runtime stopped as after a device error: every blocked or later
/// call fails with `NetworkDown` and [`Runtime::shutdown`] stops waiting for
/// connections nothing will drive any more. (The panic's message was printed
/// by the panic hook already; the thread then ends normally.)
fn run_until_stopped<D: Device>(shared: &Arc<Shared>, device: D, tx_thread: bool) {
    // Unwind safety: what the panic may have left half done is the stack's,
    // which no call uses again (they all fail once `stopped` is set), apart
    // from the shutdown's count of unfinished connections, read-only.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(shared, device, tx_thread)
    }));
    if let Err(panic) = ran {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        shared
            .lock()
            .stop_with(format!("the runtime thread panicked: {what}"));
        shared.drained.notify_all();
    }
}

/// The runtime thread's loop.
fn run<D: Device>(shared: &Arc<Shared>, mut device: D, tx_thread: bool) {
    let mut rx = vec![0u8; PACKET_BUF];
    let mut tx = Tx::new(&device);
    // A device that segments TCP gets its writes from a thread of their own (see
    // `tx_thread`); if that cannot be had, this thread writes.
    let writer = match device.writer() {
        Ok(Some(w)) if tx_thread && device.tso() => {
            let s = shared.clone();
            tx_thread::spawn(w, move || s.wake()).ok()
        }
        _ => None,
    };
    let queue = writer.as_ref().map(|w| &*w.queue);
    loop {
        let timeout = {
            let mut g = shared.lock();
            if g.stop {
                // A last transmit pass: what the stack owes the network now (the
                // data and FIN of a stream closed just before the runtime was
                // dropped, a RST) leaves, as far as the peer's window allows,
                // instead of vanishing with the thread. Nothing is retransmitted
                // after this.
                let now = shared.now();
                let (stack, mut counts) = g.split_tx();
                flush(stack, &mut device, queue, &mut tx, now, &mut counts);
                return;
            }
            let inner = &mut *g;
            let now = shared.now();
            for i in 0..READ_BATCH {
                match device.recv_offloaded(&mut rx) {
                    Ok((n, offload)) => {
                        inner.stack.handle_packet_offloaded(now, &rx[..n], offload);
                        if (i + 1) % FLUSH_EVERY != 0 && n < SUPER_PACKET {
                            continue;
                        }
                        // What the packets made due (ACKs among them) leaves every few
                        // packets, not once per batch: a batch of 64 segments answered
                        // by one ACK starves the peer's ACK clock and makes its loss
                        // detection misfire.
                        let (stack, mut counts) = inner.split_tx();
                        flush(stack, &mut device, queue, &mut tx, now, &mut counts);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        inner.stop_with(format!("device read: {e}"));
                        shared.drained.notify_all();
                        return;
                    }
                }
            }
            if inner.stack.poll_timeout().is_some_and(|t| t <= now) {
                inner.stack.handle_timeout(now);
            }
            let (stack, mut counts) = inner.split_tx();
            flush(stack, &mut device, queue, &mut tx, now, &mut counts);
            if let Some(q) = queue {
                inner.tx_thread_errors = q.errors();
            }
            for h in std::mem::take(&mut inner.close_after_transmit) {
                let _ = inner.stack.close(now, h);
            }
            while let Some(ev) = inner.stack.poll_event() {
                if let Some(w) = inner.waiters.get_mut(&ev.handle) {
                    w.notify(ev.kind);
                }
            }
            if inner.draining {
                // The shutdown rechecks what is left to finish.
                shared.drained.notify_all();
            }
            inner
                .stack
                .poll_timeout()
                .map(|t| t.saturating_duration_since(shared.now()))
        };
        // With a transmit thread, a full queue is answered through the eventfd.
        let want_write = tx.blocked() && queue.is_none();
        if let Err(e) = wait(&device, shared, timeout, want_write) {
            shared.lock().stop_with(format!("poll: {e}"));
            shared.drained.notify_all();
            return;
        }
    }
}

/// Waits until the device is readable, the eventfd was written, or `timeout` passed.
fn wait<D: Device>(
    device: &D,
    shared: &Shared,
    timeout: Option<std::time::Duration>,
    want_write: bool,
) -> io::Result<()> {
    let device_events = if want_write {
        libc::POLLIN | libc::POLLOUT
    } else {
        libc::POLLIN
    };
    let mut fds = [
        libc::pollfd {
            fd: device.as_raw_fd(),
            events: device_events,
            revents: 0,
        },
        libc::pollfd {
            fd: shared.wake_fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9, so it fits a 32-bit c_long too.
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a live array of two pollfds, `ts_ptr` is null or points to a
    // live timespec, and a null signal mask leaves the mask unchanged.
    let r = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, ts_ptr, std::ptr::null()) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(e);
    }
    if fds[1].revents & libc::POLLIN != 0 {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from the eventfd we own (resetting
        // its counter); EAGAIN is harmless.
        unsafe {
            libc::read(
                shared.wake_fd.as_raw_fd(),
                (&mut v as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            );
        }
    }
    Ok(())
}

/// CPU time the calling thread has used (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`:
/// exact to the call, where `/proc/thread-self/schedstat` is brought up to date only
/// at scheduler ticks), for benchmarks' figures per on-CPU second.
pub fn thread_cpu_time() -> io::Result<std::time::Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0);
    Ok(std::time::Duration::new(secs, nanos))
}

/// A seed for [`layer4::Config::seed`] from the OS (`getrandom(2)`), so ISNs,
/// ephemeral ports and timestamp offsets differ between runs on a real network.
pub fn os_seed() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    // SAFETY: `buf` is valid for writes of 8 bytes for the call.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n != 8 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("getrandom: {e}")));
    }
    Ok(u64::from_ne_bytes(buf))
}

#[cfg(test)]
mod cpu_time_tests {
    use super::thread_cpu_time;
    use std::time::{Duration, Instant};

    #[test]
    fn thread_cpu_time_advances_with_work_and_never_past_the_wall_clock() {
        let wall = Instant::now();
        let start = thread_cpu_time().unwrap();
        let mut spins = 0u64;
        let mut now = start;
        // Spin until this thread has used 5 ms of CPU (at most 10 s of wall time,
        // however loaded the machine).
        while now - start < Duration::from_millis(5) && wall.elapsed() < Duration::from_secs(10) {
            spins = std::hint::black_box(spins + 1);
            let next = thread_cpu_time().unwrap();
            assert!(next >= now, "the thread's CPU time went back");
            now = next;
        }
        let used = now - start;
        assert!(
            used >= Duration::from_millis(5),
            "{used:?} of CPU in 10 s of spinning"
        );
        assert!(
            used <= wall.elapsed(),
            "{used:?} of CPU in {:?}",
            wall.elapsed()
        );
    }
}
