//! The real-time half of `l4 emulate`: two TUN devices, one in each of two network
//! namespaces, and a loop that carries the packets one reads through an impaired
//! path (a [`PacketPath`]: the simulator's link model, in `l4`) and writes them out
//! of the other at the time the path delivers them.
//!
//! ```text
//!  namespace left                                   namespace right
//!  kernel ── tun (10.77.0.1/24) ─┐            ┌─ tun (10.77.0.2/24) ── kernel
//!                                └─ to_right ─┘
//!                                ┌─ to_left ──┐
//! ```
//!
//! Each path is sans-IO, like the stack: [`PacketPath::handle_packet`] takes a
//! packet read from a TUN at `now`, [`PacketPath::poll_deliver`] hands out the
//! packets whose time has come, [`PacketPath::poll_timeout`] says when to look
//! next. Time is [`layer4::time::Instant`], nanoseconds of the monotonic clock
//! since [`Emulator::run`] started (so a trace or an outage schedule starts then).
//!
//! The loop: deliver what is due on both paths, then `ppoll` on both TUNs and a
//! `signalfd` (SIGINT, SIGTERM) until a packet arrives, a path's next deadline, or
//! the end of the run; read every waiting packet (at most [`READ_BATCH`] per device
//! per turn, so one busy side cannot starve the other) and offer it. The thread's
//! timer slack is set to 1 µs, so wake-ups are late by the scheduler's latency
//! alone (tens of microseconds on an idle machine), not Linux's default 50 µs.
//!
//! [`Termination`] must be made before any other thread is started: it blocks
//! SIGINT and SIGTERM in the calling thread (threads spawned later inherit the
//! mask) so that they arrive on its descriptor instead of killing the process.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use layer4::time::Instant;

use crate::netns;
use crate::tun::Tun;

/// Packets read from one device before the loop turns to the other.
pub const READ_BATCH: usize = 64;

/// The largest packet read from a TUN.
const READ_BUFFER: usize = 65_536;

/// One direction of the emulated link: packets in at `now`, out when their time has
/// come. Time never goes backwards between calls.
pub trait PacketPath {
    /// Offers `packet` (an IP datagram read from a TUN) at `now`.
    fn handle_packet(&mut self, now: Instant, packet: Vec<u8>);
    /// When the path next has something to do, if anything is in progress.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The next packet due at the far end by `now`.
    fn poll_deliver(&mut self, now: Instant) -> Option<Vec<u8>>;
}

/// One end of the emulated link: a TUN made inside a network namespace.
#[derive(Debug, Clone)]
pub struct SideConfig {
    /// The namespace (`ip netns` name, or a path such as `/proc/PID/ns/net`).
    pub namespace: String,
    /// The TUN's name inside it.
    pub tun: String,
    /// The kernel's address on the TUN.
    pub addr: Ipv4Addr,
    /// Its prefix length: the namespace routes the prefix into the TUN.
    pub prefix_len: u8,
    /// The TUN's MTU.
    pub mtu: u16,
}

/// What one side's device did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Packets read from this side's TUN (offered to the path away from it).
    pub read: u64,
    /// Packets written into this side's TUN (delivered by the path towards it).
    pub written: u64,
    /// Writes the kernel refused (the packet is lost; counted, not retried).
    pub write_errors: u64,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM arrived.
    Signal(i32),
    /// The duration given to [`Emulator::run`] passed.
    Elapsed,
}

/// SIGINT and SIGTERM, taken from their default action (death) and delivered to a
/// descriptor the loop polls.
#[derive(Debug)]
pub struct Termination {
    fd: OwnedFd,
}

impl Termination {
    /// Blocks SIGINT and SIGTERM in the calling thread (and so in the threads it
    /// spawns afterwards) and opens a `signalfd` for them. Call it before any other
    /// thread exists, or those threads may still take the signals' default action.
    pub fn install() -> io::Result<Termination> {
        // SAFETY: `set` is a live sigset_t initialized by sigemptyset before use;
        // pthread_sigmask and signalfd read it during the calls only; the returned
        // descriptor is checked before being owned.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("signalfd: {e}")));
            }
            Ok(Termination {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// Blocks the calling thread until SIGINT or SIGTERM arrives; the signal's
    /// number. For a program that waits for the signals on a thread of its own
    /// (`l4 tun2socks`) rather than in [`Emulator::run`]'s loop.
    pub fn wait(&self) -> io::Result<i32> {
        loop {
            if let Some(signal) = self.take() {
                return Ok(signal);
            }
            wait([self.fd.as_raw_fd()], None)?;
        }
    }

    /// The signal that arrived, if one did.
    fn take(&self) -> Option<i32> {
        // SAFETY: an all-zero signalfd_siginfo is valid; read(2) writes at most its
        // size into it.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is live and `size` bytes long.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        (usize::try_from(n).ok() == Some(size)).then_some(info.ssi_signo as i32)
    }
}

/// The two TUNs of an emulated link, ready to run.
#[derive(Debug)]
pub struct Emulator {
    left: Tun,
    right: Tun,
}

/// Makes (or attaches to) the TUN of `side` inside its namespace, gives the kernel
/// its address there, sets the MTU and brings it up.
fn open_side(side: &SideConfig) -> io::Result<Tun> {
    let s = side.clone();
    netns::run_in(&side.namespace, move || {
        let tun = Tun::open(&s.tun)?;
        tun.set_mtu(s.mtu)?;
        tun.set_ipv4_address(s.addr, s.prefix_len)?;
        tun.set_up()?;
        Ok(tun)
    })
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("namespace {:?}, TUN {:?}: {e}", side.namespace, side.tun),
        )
    })
}

impl Emulator {
    /// Opens both sides. The TUNs vanish when the emulator is dropped.
    pub fn open(left: &SideConfig, right: &SideConfig) -> io::Result<Emulator> {
        Ok(Emulator {
            left: open_side(left)?,
            right: open_side(right)?,
        })
    }

    /// Carries packets until a signal arrives on `termination` or `duration` (if
    /// given) has passed: left's packets through `to_right`, right's through
    /// `to_left`. Returns why it stopped and what each side's device did
    /// (`(left, right)`). Packets still in a path when it stops are dropped.
    pub fn run(
        &self,
        to_right: &mut dyn PacketPath,
        to_left: &mut dyn PacketPath,
        termination: &Termination,
        duration: Option<Duration>,
    ) -> io::Result<(Stopped, DeviceStats, DeviceStats)> {
        set_timer_slack_ns(1_000);
        let origin = std::time::Instant::now();
        let clock = || {
            let ns = origin.elapsed().as_nanos();
            Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
        };
        let end =
            duration.map(|d| Instant::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)));
        let mut left_stats = DeviceStats::default();
        let mut right_stats = DeviceStats::default();
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let now = clock();
            deliver(to_right, now, &self.right, &mut right_stats);
            deliver(to_left, now, &self.left, &mut left_stats);
            if end.is_some_and(|e| now >= e) {
                return Ok((Stopped::Elapsed, left_stats, right_stats));
            }
            let deadline = [to_right.poll_timeout(), to_left.poll_timeout(), end]
                .into_iter()
                .flatten()
                .min();
            let timeout =
                deadline.map(|d| Duration::from_nanos(d.as_nanos().saturating_sub(now.as_nanos())));
            let ready = wait(
                [
                    self.left.as_raw_fd(),
                    self.right.as_raw_fd(),
                    termination.fd.as_raw_fd(),
                ],
                timeout,
            )?;
            if ready[2] {
                if let Some(signal) = termination.take() {
                    return Ok((Stopped::Signal(signal), left_stats, right_stats));
                }
            }
            if ready[0] {
                read_into(&self.left, to_right, clock(), &mut buf, &mut left_stats)?;
            }
            if ready[1] {
                read_into(&self.right, to_left, clock(), &mut buf, &mut right_stats)?;
            }
        }
    }
}

/// Writes every packet `path` has due by `now` into `tun`.
fn deliver(path: &mut dyn PacketPath, now: Instant, tun: &Tun, stats: &mut DeviceStats) {
    while let Some(packet) = path.poll_deliver(now) {
        match tun.send(&packet) {
            Ok(_) => stats.written += 1,
            Err(_) => stats.write_errors += 1,
        }
    }
}

/// Reads up to [`READ_BATCH`] packets from `tun` into `path`.
fn read_into(
    tun: &Tun,
    path: &mut dyn PacketPath,
    now: Instant,
    buf: &mut [u8],
    stats: &mut DeviceStats,
) -> io::Result<()> {
    for _ in 0..READ_BATCH {
        match tun.recv(buf) {
            Ok(0) => break,
            Ok(n) => {
                stats.read += 1;
                path.handle_packet(now, buf.get(..n).unwrap_or_default().to_vec());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("read {}: {e}", tun.name()),
                ))
            }
        }
    }
    Ok(())
}

/// Waits until one of `fds` is readable or `timeout` passed; which are readable.
fn wait<const N: usize>(fds: [i32; N], timeout: Option<Duration>) -> io::Result<[bool; N]> {
    let mut pollfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9, so it fits a 32-bit c_long too.
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `pollfds` is a live array of N pollfds, `ts_ptr` is null or points to
    // a live timespec, and a null signal mask leaves the mask unchanged.
    let r = unsafe {
        libc::ppoll(
            pollfds.as_mut_ptr(),
            N as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok([false; N]);
        }
        return Err(io::Error::new(e.kind(), format!("ppoll: {e}")));
    }
    Ok(pollfds.map(|p| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0))
}

/// Sets the calling thread's timer slack (how late the kernel may fire its timers
/// to batch wake-ups); best effort.
fn set_timer_slack_ns(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termination_wait_returns_the_signal_raised() {
        // On a thread of its own: the signal is blocked there and raised at it
        // alone, so no other test thread sees it.
        let got = std::thread::spawn(|| {
            let t = Termination::install().expect("signalfd");
            // SAFETY: raise(3) sends SIGTERM to the calling thread, where it
            // is blocked and so only queued for the signalfd.
            assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
            t.wait().expect("wait")
        })
        .join()
        .expect("thread");
        assert_eq!(got, libc::SIGTERM);
    }

    #[test]
    fn wait_times_out_with_nothing_ready() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let ready = wait([a.as_raw_fd()], Some(Duration::from_millis(5))).expect("ppoll");
        assert_eq!(ready, [false]);
    }

    #[test]
    fn wait_reports_the_readable_descriptor() {
        use std::io::Write;
        let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let (c, _d) = std::os::unix::net::UnixStream::pair().expect("pair");
        b.write_all(b"x").expect("write");
        let ready =
            wait([c.as_raw_fd(), a.as_raw_fd()], Some(Duration::from_secs(5))).expect("ppoll");
        assert_eq!(ready, [false, true]);
    }
}
