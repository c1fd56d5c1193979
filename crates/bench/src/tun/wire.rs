//! The plain TUN wire: two TUN devices (one per namespace) joined by a userspace
//! forwarder, one thread per direction, one `read` and one `write` per packet —
//! the bridge of limits.md (3a). The devices are non-blocking, so a thread with
//! nothing to read waits in `poll` (50 ms at most, to see the stop flag); under load
//! the reads succeed without it.

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
        match from.recv(&mut buf) {
            Ok(n) => match to.send(buf.get(..n).unwrap_or(&[])) {
                Ok(_) => done.packets += 1,
                Err(_) => done.refused += 1,
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                from.wait_readable(Duration::from_millis(50))?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl Wire {
    /// Starts forwarding between `a` and `b`, both ways.
    pub fn start(a: Arc<Tun>, b: Arc<Tun>) -> Wire {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (from, to) in [(a.clone(), b.clone()), (b, a)] {
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || forward(&from, &to, &stop)));
        }
        Wire { stop, threads }
    }

    /// Stops both directions: what each carried (a → b first).
    pub fn stop(mut self) -> io::Result<[Forwarded; 2]> {
        self.stop.store(true, Ordering::Relaxed);
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
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
