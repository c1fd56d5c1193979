//! A simulated host: a layer4 [`Stack`], the applications on it, and the one link
//! it sends into.
//!
//! After every input (a packet, a timer, an application start) the host drives its
//! stack in the order the stack documents: `poll_transmit` until empty (each packet
//! goes onto the link), then `poll_event` until empty (each event goes to the
//! application that claimed the socket; what the application does may produce more
//! packets, so the two steps repeat until both are quiet), then it schedules its
//! next wake-up at the earliest of the stack's `poll_timeout`, the applications'
//! timers and their start times.

use crate::app::{AppContext, Application};
use crate::engine::Slot;
use crate::network::Fabric;
use crate::packet::Packet;
use layer4::time::Instant;
use layer4::Stack;

/// An application and when it starts.
#[derive(Debug)]
pub(crate) struct AppSlot {
    pub(crate) app: Box<dyn Application>,
    /// `Some` until started.
    pub(crate) start_at: Option<Instant>,
}

/// A host. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) stack: Stack,
    pub(crate) apps: Vec<AppSlot>,
    pub(crate) owners: crate::app::Owners,
    /// The link direction leaving the host.
    pub(crate) link: Option<usize>,
    /// The host's wake-up slot in the scheduler.
    pub(crate) wake: Slot,
    /// Packets the stack sent while the host had no link.
    pub(crate) unsent: u64,
}

impl Host {
    pub(crate) fn new(stack: Stack, wake: Slot) -> Host {
        Host {
            stack,
            apps: Vec::new(),
            owners: crate::app::Owners::default(),
            link: None,
            wake,
            unsent: 0,
        }
    }

    /// A packet arrived from the link.
    pub(crate) fn deliver(&mut self, now: Instant, mut packet: Packet, fabric: &mut Fabric) {
        packet.write_pending();
        self.stack.handle_packet(now, &packet.data);
        fabric.recycle(packet.data);
        self.service(now, fabric);
    }

    /// The host's wake-up: stack timers, application starts and timers.
    pub(crate) fn on_wake(&mut self, now: Instant, fabric: &mut Fabric) {
        if self.stack.poll_timeout().is_some_and(|t| t <= now) {
            self.stack.handle_timeout(now);
        }
        for i in 0..self.apps.len() {
            let slot = &mut self.apps[i];
            let mut cx = AppContext::new(now, &mut self.stack, &mut self.owners, i);
            match slot.start_at {
                Some(t) if t <= now => {
                    slot.start_at = None;
                    slot.app.start(&mut cx);
                }
                Some(_) => {}
                None => {
                    if slot.app.poll_timeout().is_some_and(|t| t <= now) {
                        slot.app.handle_timeout(&mut cx);
                    }
                }
            }
        }
        self.service(now, fabric);
    }

    /// Drains the stack's transmissions and events, then reschedules.
    pub(crate) fn service(&mut self, now: Instant, fabric: &mut Fabric) {
        loop {
            // The stack writes each packet straight into a pooled buffer, which
            // becomes the packet: no copy (the buffers of full-size packets come back
            // at full length, so preparing one costs nothing either).
            let mtu = usize::from(self.stack.config().mtu);
            loop {
                let mut buf = fabric.tx_buffer(mtu);
                let Some(n) = self.stack.poll_transmit(now, &mut buf) else {
                    fabric.recycle(buf);
                    break;
                };
                buf.truncate(n);
                match self.link {
                    Some(link) => {
                        let mut packet = fabric.packet_from_vec(buf);
                        // The stack has just written the header: summarize it now,
                        // so the routers on the way need not read it again.
                        packet.learn_header();
                        fabric.offer(now, link, packet);
                    }
                    None => {
                        self.unsent += 1;
                        fabric.recycle(buf);
                    }
                }
            }
            let mut any = false;
            while let Some(event) = self.stack.poll_event() {
                any = true;
                let Some(&i) = self.owners.get(&event.handle) else {
                    continue;
                };
                let mut cx = AppContext::new(now, &mut self.stack, &mut self.owners, i);
                if let Some(slot) = self.apps.get_mut(i) {
                    slot.app.handle_event(&mut cx, event);
                }
            }
            if !any {
                break;
            }
        }
        self.reschedule(fabric);
    }

    /// Queues the next wake-up if it changed.
    pub(crate) fn reschedule(&mut self, fabric: &mut Fabric) {
        let mut next = self.stack.poll_timeout();
        for slot in &self.apps {
            let t = match slot.start_at {
                Some(t) => Some(t),
                None => slot.app.poll_timeout(),
            };
            next = match (next, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        fabric.events.set(self.wake, next);
    }
}
