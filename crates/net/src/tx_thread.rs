//! [`TxQueue`] and [`spawn`]: the runtime's transmit thread, for a device that
//! segments TCP itself ([`Device::tso`]).
//!
//! Why a thread: a write to a TUN runs the kernel's receive path in the writer's
//! context. For an ACK layer4 sends, that is the kernel's TCP taking the ACK and
//! transmitting its next segments (down to `tun_net_xmit`); for a super-packet,
//! IP and TCP input and waking the reading socket. Profiled on Linux → layer4
//! with offloads (`perf record`, `tun bulk --offload`), those writes were 41 % of
//! the runtime thread, in series with the reads. On a thread of their own they run
//! beside the reads, on the other core, as in the Linux ↔ Linux TUN wire, whose
//! forwarder has one thread per direction.
//!
//! The runtime thread copies each packet (or super-packet, with its
//! `virtio_net_hdr`) into a recycled buffer of a bounded queue ([`QUEUE_BYTES`])
//! and wakes the writer only when it sleeps; a full queue is the device pushing
//! back (`WouldBlock`), and the writer wakes the runtime once it has drained it.
//! Order is kept: one writer, one queue.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::device::Device;
use crate::vnet::VnetHdr;

/// The most bytes queued for the writer; beyond, pushes are refused
/// (`WouldBlock`) until it has caught up (about 16 super-packets).
pub(crate) const QUEUE_BYTES: usize = 1 << 20;

/// Spare buffers kept for reuse.
const SPARE_BUFFERS: usize = 64;

/// One packet to write: its bytes, and the header of a super-packet.
#[derive(Debug)]
struct Packet {
    bytes: Vec<u8>,
    tso: Option<VnetHdr>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Packet>,
    spare: Vec<Vec<u8>>,
    queued_bytes: usize,
    /// The writer waits for packets.
    idle: bool,
    /// A push was refused: wake the runtime when the queue is drained.
    refused: bool,
    stop: bool,
}

/// The queue between the runtime thread and the writer.
#[derive(Debug, Default)]
pub(crate) struct TxQueue {
    state: Mutex<State>,
    work: Condvar,
    /// Packets the device refused (dropped).
    errors: AtomicU64,
}

impl TxQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `packet` (a super-packet when `tso` is given); `WouldBlock` when the
    /// queue is full.
    pub(crate) fn push(&self, packet: &[u8], tso: Option<VnetHdr>) -> io::Result<usize> {
        let mut s = self.lock();
        if s.queued_bytes + packet.len() > QUEUE_BYTES && !s.queue.is_empty() {
            s.refused = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut bytes = s.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(packet);
        s.queued_bytes += packet.len();
        s.queue.push_back(Packet { bytes, tso });
        if s.idle {
            s.idle = false;
            self.work.notify_one();
        }
        Ok(packet.len())
    }

    /// Packets the device refused.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.work.notify_one();
    }
}

/// The writer thread and its queue; dropping it stops and joins the thread once
/// it has written what was queued (what the device then refuses is dropped, as a
/// link that goes down drops it).
#[derive(Debug)]
pub(crate) struct TxThread {
    pub(crate) queue: Arc<TxQueue>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TxThread {
    fn drop(&mut self) {
        self.queue.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a thread writing what is pushed to its queue to `device`; `wake` is
/// called when a refused push may now succeed.
pub(crate) fn spawn<D: Device>(
    device: D,
    wake: impl Fn() + Send + 'static,
) -> io::Result<TxThread> {
    let queue = Arc::new(TxQueue::default());
    let q = queue.clone();
    let thread = std::thread::Builder::new()
        .name("layer4-tx".into())
        .spawn(move || write_loop(&q, device, wake))
        .map_err(|e| io::Error::new(e.kind(), format!("spawn transmit thread: {e}")))?;
    Ok(TxThread {
        queue,
        thread: Some(thread),
    })
}

fn write_loop<D: Device>(q: &TxQueue, mut device: D, wake: impl Fn()) {
    let mut batch = VecDeque::new();
    loop {
        {
            let mut s = q.lock();
            while s.queue.is_empty() && !s.stop {
                s.idle = true;
                s = q.work.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            // Told to stop, it still writes what was queued before (the runtime's
            // last transmit pass), unless the device pushes back.
            if s.queue.is_empty() {
                return;
            }
            std::mem::swap(&mut batch, &mut s.queue);
        }
        let mut written = 0;
        for p in &batch {
            written += p.bytes.len();
            if !write_one(q, &mut device, p) {
                return;
            }
        }
        let refused = {
            let mut s = q.lock();
            s.queued_bytes = s.queued_bytes.saturating_sub(written);
            for p in batch.drain(..) {
                if s.spare.len() < SPARE_BUFFERS {
                    s.spare.push(p.bytes);
                }
            }
            std::mem::take(&mut s.refused)
        };
        if refused {
            wake();
        }
    }
}

/// Writes `p`, waiting while the device pushes back; false when told to stop.
fn write_one<D: Device>(q: &TxQueue, device: &mut D, p: &Packet) -> bool {
    loop {
        let sent = match &p.tso {
            Some(hdr) => device.send_tso(&p.bytes, hdr),
            None => device.send(&p.bytes),
        };
        match sent {
            Ok(_) => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if q.lock().stop {
                    return false;
                }
                wait_writable(device);
            }
            Err(_) => {
                q.errors.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
    }
}

/// Waits up to 100 ms for the device to take writes again.
fn wait_writable<D: Device>(device: &D) {
    let mut fd = libc::pollfd {
        fd: device.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: `fd` is one live pollfd for the duration of the call.
    unsafe {
        libc::poll(&mut fd, 1, 100);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DatagramDevice;

    #[test]
    fn packets_leave_in_order_and_a_full_queue_pushes_back() {
        let (a, b) = DatagramDevice::pair().unwrap();
        let woken = Arc::new(AtomicU64::new(0));
        let w = woken.clone();
        let tx = spawn(a, move || {
            w.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        let mut b = b;
        let mut got = Vec::new();
        let mut buf = [0u8; 2000];
        let mut next = 0u32;
        let mut refused = 0;
        while got.len() < 3000 {
            while next < 3000 {
                let p = vec![next as u8; 1000 + (next % 7) as usize];
                match tx.queue.push(&p, None) {
                    Ok(_) => next += 1,
                    Err(e) => {
                        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
                        refused += 1;
                        break;
                    }
                }
            }
            loop {
                match b.recv(&mut buf) {
                    Ok(n) => got.push((buf[0], n)),
                    Err(e) => {
                        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
                        break;
                    }
                }
            }
            std::thread::yield_now();
        }
        for (i, (first, n)) in got.iter().enumerate() {
            assert_eq!(*first, i as u8, "packet {i} out of order");
            assert_eq!(*n, 1000 + i % 7);
        }
        // The socket pair's buffer is far smaller than 3000 packets: the writer
        // waited on it, the queue filled, and a refused push was answered by a wake.
        assert!(refused > 0);
        assert!(woken.load(Ordering::Relaxed) > 0);
        assert_eq!(tx.queue.errors(), 0);
    }
}
