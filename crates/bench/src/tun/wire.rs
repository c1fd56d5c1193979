//! The TUN wire: two TUN devices (one per namespace) joined by a userspace
//! forwarder, one thread per direction, one `read` and one `write` per packet —
//! the bridge of limits.md (3a; with offloads, 3g: the `virtio_net_hdr` passed
//! through). Reads and writes block, as in that bridge; to
//! stop, [`Wire::stop`] raises a flag and has the caller send a packet into each
//! TUN (a UDP datagram from each side's kernel) so each blocked read returns.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use layer4_net::Tun;

/// The two forwarding threads of a wire; [`Wire::stop`] ends them.
#[derive(Debug)]
pub struct Wire {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<io::Result<Forwarded>>>,
}

/// What one direction carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// Packets read and written.
    pub packets: u64,
    /// Packets the receiving TUN refused (counted as lost on the wire).
    pub refused: u64,
}

/// Carries packets from `from` to `to` until `stop`.
fn forward(from: &Tun, to: &Tun, stop: &AtomicBool) -> io::Result<Forwarded> {
    let mut buf = vec![0u8; 65_536];
    let mut done = Forwarded::default();
    while !stop.load(Ordering::Relaxed) {
        // With offloads the virtio_net_hdr goes through untouched (super-packets,
        // partial checksums), as in limits.md's bridge (3g).
        let sent = if from.offload() {
            from.recv_vnet(&mut buf)
                .map(|(hdr, n)| to.send_vnet(&hdr, buf.get(..n).unwrap_or(&[])))
        } else {
            from.recv(&mut buf)
                .map(|n| to.send(buf.get(..n).unwrap_or(&[])))
        };
        match sent {
            Ok(Ok(_)) => done.packets += 1,
            Ok(Err(_)) => done.refused += 1,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl Wire {
    /// Starts forwarding between `a` and `b`, both ways, with blocking I/O.
    pub fn start(a: Arc<Tun>, b: Arc<Tun>) -> io::Result<Wire> {
        a.set_nonblocking(false)?;
        b.set_nonblocking(false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (from, to) in [(a.clone(), b.clone()), (b, a)] {
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || forward(&from, &to, &stop)));
        }
        Ok(Wire { stop, threads })
    }

    /// Stops both directions: what each carried (a → b first). `wake` must put a
    /// packet into both TUNs; it is called (every 10 ms, at most 500 times) until
    /// both threads have seen the flag.
    pub fn stop(mut self, wake: impl Fn()) -> io::Result<[Forwarded; 2]> {
        self.stop.store(true, Ordering::Relaxed);
        for _ in 0..500 {
            if self.threads.iter().all(JoinHandle::is_finished) {
                break;
            }
            wake();
            std::thread::sleep(Duration::from_millis(10));
        }
        if !self.threads.iter().all(JoinHandle::is_finished) {
            return Err(io::Error::other("the forwarder threads did not stop"));
        }
        let mut out = [Forwarded::default(); 2];
        for (slot, t) in out.iter_mut().zip(self.threads.drain(..)) {
            *slot = t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("forwarder panicked")))?;
        }
        Ok(out)
    }
}

impl Drop for Wire {
    /// Without [`Wire::stop`] (an error path) the threads cannot be woken here: they
    /// are left to end at the next packet, or with the process.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
