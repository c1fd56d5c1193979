//! The discrete-event engine: a queue of events on virtual time, ordered by (time,
//! insertion sequence) so that events due at the same instant run in the order they
//! were scheduled, and the seeded generators every component draws from.
//!
//! # Determinism
//!
//! Nothing here reads a clock or iterates a hash map. Two runs that schedule the
//! same events in the same order pop them in the same order, and every component's
//! random generator is derived from the scenario seed and the component's label
//! ([`component_rng`]), so adding a component does not shift another's numbers.
//!
//! # Rescheduling
//!
//! A component (a host, a link direction) has at most one live wake-up. Instead of
//! removing events from the heap, a [`Wake`] keeps a generation number: scheduling a
//! new time bumps it, and an event carrying an older generation is stale and skipped
//! when popped.

use layer4::rand::StackRng;
use layer4::time::Instant;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// The generator for the component named `label` (e.g. `"host/left0"`,
/// `"link/bottleneck/fwd"`) in a run seeded with `seed`.
pub fn component_rng(seed: u64, label: &str) -> StackRng {
    StackRng::from_seed(seed).fork(label)
}

/// A 64-bit seed for the component named `label` (a host's stack `Config.seed`).
pub fn component_seed(seed: u64, label: &str) -> u64 {
    component_rng(seed, label).u64()
}

struct Entry<E> {
    at: Instant,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Events of type `E` on virtual time, popped earliest first; ties in insertion order.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("pending", &self.heap.len())
            .field("scheduled_total", &self.seq)
            .finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Instant, event: E) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Removes the earliest event (the first scheduled among equals).
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.event))
    }

    /// Events waiting (stale ones included).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events ever scheduled.
    pub fn scheduled_total(&self) -> u64 {
        self.seq
    }
}

/// One component's single live wake-up: its time and a generation that makes older
/// queued events stale. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wake {
    at: Option<Instant>,
    generation: u64,
}

impl Wake {
    /// Asks to be woken at `at` (or never). Returns the (time, generation) of an
    /// event to queue when that differs from what is already queued.
    pub fn set(&mut self, at: Option<Instant>) -> Option<(Instant, u64)> {
        if at == self.at {
            return None;
        }
        self.at = at;
        self.generation += 1;
        at.map(|t| (t, self.generation))
    }

    /// Whether an event of `generation` is the live one; if so the wake-up is
    /// consumed (nothing is queued for the component afterwards).
    pub fn fire(&mut self, generation: u64) -> bool {
        if generation == self.generation && self.at.is_some() {
            self.at = None;
            true
        } else {
            false
        }
    }

    /// The time of the live wake-up.
    pub fn at(&self) -> Option<Instant> {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_at_the_same_time_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        let t = Instant::from_nanos(5);
        q.push(t, 'b');
        q.push(Instant::from_nanos(1), 'a');
        q.push(t, 'c');
        q.push(t, 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ['a', 'b', 'c', 'd']);
    }

    #[test]
    fn rescheduled_wake_makes_the_old_event_stale() {
        let mut w = Wake::default();
        let (t1, g1) = w.set(Some(Instant::from_nanos(10))).unwrap();
        assert_eq!(w.set(Some(t1)), None, "same time queues nothing");
        let (_, g2) = w.set(Some(Instant::from_nanos(5))).unwrap();
        assert!(!w.fire(g1));
        assert!(w.fire(g2));
        assert!(!w.fire(g2), "a wake fires once");
    }

    #[test]
    fn component_generators_depend_on_seed_and_label() {
        assert_eq!(component_seed(1, "host/a"), component_seed(1, "host/a"));
        assert_ne!(component_seed(1, "host/a"), component_seed(1, "host/b"));
        assert_ne!(component_seed(1, "host/a"), component_seed(2, "host/a"));
    }
}
