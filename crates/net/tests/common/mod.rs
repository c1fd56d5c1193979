//! The private network namespace each interop test runs in: a thread of its own
//! enters a fresh namespace (`unshare(CLONE_NEWNET)`), makes a TUN with the kernel
//! at 10.213.0.1/30 and layer4 at 10.213.0.2, and runs the test body there.
//! Nothing outside is touched and nothing needs cleaning up: the namespace, with
//! the TUN in it, vanishes when the thread ends — on success, failure or panic.
//!
//! Module `reset`: a connection reset by its peer, on the kernel's loopback and on
//! layer4 (no namespace), for the tests that compare the calls after it.
//!
//! Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and /dev/net/tun; without them a test
//! prints why and passes, except where `CI=true`, where it fails. Every wait is
//! bounded (socket timeouts, and a watchdog per test).
#![allow(dead_code)] // each test file uses part of it

pub mod reset;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::{netns, runtime, ControlSocket, Runtime, RuntimeOptions, Tun};

pub const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 1);
pub const L4: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 2);
/// With [`in_netns_dual`]: the kernel's and layer4's IPv6 addresses, in
/// fd00:213::/64 (a unique-local prefix).
pub const KERNEL6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x213, 0, 0, 0, 0, 0, 1);
pub const L46: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x213, 0, 0, 0, 0, 0, 2);
pub const WATCHDOG: Duration = Duration::from_secs(180);

/// The namespace with its TUN and the layer4 runtime on it.
pub struct Net {
    pub rt: Runtime,
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Builds the namespace on the calling thread (IPv4 only, or with IPv6 too when
/// `dual`; the TUN opened with `IFF_VNET_HDR` and TCP offloads when `offload`), or
/// says why it cannot.
pub fn setup(dual: bool, offload: bool) -> Result<Net, String> {
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun does not exist".into());
    }
    netns::unshare_thread().map_err(|e| format!("{e} (not root?)"))?;
    let tun = if offload {
        Tun::open_offload("l4test0")
    } else {
        Tun::open("l4test0")
    }
    .map_err(|e| e.to_string())?;
    tun.set_mtu(1500).map_err(|e| e.to_string())?;
    tun.set_ipv4_address(KERNEL, 30)
        .map_err(|e| e.to_string())?;
    tun.set_up().map_err(|e| e.to_string())?;
    assert_eq!(tun.mtu().map_err(|e| e.to_string())?, 1500);
    let cidr: IpCidr = format!("{L4}/30").parse().map_err(|e| format!("{e:?}"))?;
    let mut config =
        Config::with_address(cidr).seed(runtime::os_seed().map_err(|e| e.to_string())?);
    if dual {
        tun.set_ipv6_address(KERNEL6, 64)
            .map_err(|e| e.to_string())?;
        let cidr6: IpCidr = format!("{L46}/64").parse().map_err(|e| format!("{e:?}"))?;
        config = config.address(cidr6);
    }
    let stack = Stack::new(config).map_err(|e| e.to_string())?;
    // Tests leave /run/layer4 alone.
    let options = RuntimeOptions::default().control(ControlSocket::Off);
    let rt = Runtime::with_options(stack, tun, options).map_err(|e| e.to_string())?;
    Ok(Net { rt })
}

/// Runs `body` in a private namespace on its own thread, bounded by the watchdog;
/// skips (or fails under CI=true) when the namespace cannot be made.
pub fn in_netns(name: &str, body: impl FnOnce(&Net) + Send + 'static) {
    in_netns_full(name, false, false, body)
}

/// [`in_netns`] with IPv6 on the link too: the kernel at [`KERNEL6`], layer4 at
/// [`L46`] (fd00:213::/64), beside the IPv4 addresses.
#[allow(dead_code)] // not every test binary uses every helper
pub fn in_netns_dual(name: &str, body: impl FnOnce(&Net) + Send + 'static) {
    in_netns_full(name, true, false, body)
}

/// [`in_netns`], the TUN opened with offloads when `offload`.
#[allow(dead_code)]
pub fn in_netns_with(name: &str, offload: bool, body: impl FnOnce(&Net) + Send + 'static) {
    in_netns_full(name, false, offload, body)
}

fn in_netns_full(name: &str, dual: bool, offload: bool, body: impl FnOnce(&Net) + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let name = name.to_string();
    let worker = std::thread::spawn(move || {
        let result = match setup(dual, offload) {
            Err(why) => Err(why),
            Ok(net) => {
                body(&net);
                Ok(())
            }
        };
        let _ = done_tx.send(());
        result
    });
    match done_rx.recv_timeout(WATCHDOG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: no result after {WATCHDOG:?}"),
    }
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(why)) if ci() => panic!("{name}: cannot run under CI=true: {why}"),
        Ok(Err(why)) => eprintln!("SKIP {name}: {why}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A deterministic byte stream (xorshift64).
pub struct Pattern(pub u64);

impl Pattern {
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let b = self.0.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }

    /// `len` bytes of the pattern.
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        Pattern(seed).fill(&mut v);
        v
    }
}

/// True when every one of `tools` is on `PATH`. Otherwise the test should return:
/// this prints why, or panics under `CI=true`, where the tools must be installed
/// (`.ci/run` installs them).
pub fn have_tools(test: &str, tools: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !std::env::split_paths(&path).any(|dir| dir.join(t).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if ci() {
        panic!("{test}: missing {missing:?} under CI=true (.ci/run installs them)");
    }
    eprintln!("SKIP {test}: missing {missing:?}");
    false
}

/// A child process (a kernel-side tool: curl, socat, tcpdump, ...) that is killed
/// and reaped when dropped, so a failing test leaves nothing running, and killed by
/// the kernel if the thread that spawned it ends first (`PR_SET_PDEATHSIG`: the
/// namespace's thread, so nothing outlives the namespace either).
pub struct Proc {
    pub child: std::process::Child,
    pub name: String,
}

impl Proc {
    /// Spawns `cmd` (from the calling thread, so in its network namespace).
    pub fn spawn(name: &str, cmd: &mut std::process::Command) -> Proc {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the child between fork and exec and only makes
        // prctl(2), which is async-signal-safe; it allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
        }
    }

    /// Sends `signal` (e.g. SIGINT to make tcpdump flush and exit).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on our own child, which is not reaped yet (we hold it).
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Waits at most `limit` for the process to exit; panics (killing it) after.
    pub fn wait_for(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => panic!("{} still running after {limit:?}", self.name),
                Err(e) => panic!("{}: wait: {e}", self.name),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
