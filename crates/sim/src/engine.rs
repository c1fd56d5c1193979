//! The discrete-event engine: a [`Scheduler`] of events on virtual time, ordered by
//! (time, sequence) so that events due at the same instant run in the order they
//! were scheduled, and the seeded generators every component draws from.
//!
//! # Determinism
//!
//! Nothing here reads a clock or iterates a hash map. Two runs that schedule the
//! same events in the same order pop them in the same order, and every component's
//! random generator is derived from the scenario seed and the component's label
//! ([`component_rng`]), so adding a component does not shift another's numbers.
//!
//! # Wake-ups and one-off events
//!
//! A component (a host, a link direction) has at most one live wake-up, which it
//! moves often (a link after every packet). Each component owns a [`Slot`] in a
//! winner tree (a tournament over the slots' (time, sequence) keys): moving a
//! wake-up replaces the slot's key and replays the log₂(slots) matches above it,
//! and the earliest wake-up is at the root, so nothing stale is ever queued or
//! popped. Up to 16 slots (a dumbbell has 10) the matches are not kept: a scan of
//! the leaves finds the earliest for less. Rare one-off events (a packet a middlebox delayed) wait in a binary heap
//! beside the tree. Every wake-up set to a new time and every one-off event takes
//! the next number of one shared sequence, and [`Scheduler::pop_until`] returns
//! the smaller (time, sequence) of the tree's root and the heap's top: the order of
//! a single heap of all events with stale entries skipped, as before the tree
//! (a `BinaryHeap` with 40-byte entries and a generation per component was 6 % of
//! the instructions of a 1 Gbit/s `layer4-bench sim` run).

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
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
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
        self.key.cmp(&other.key)
    }
}

/// A component's wake-up slot in a [`Scheduler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(u32);

/// Bits of a key that number the slot.
const SLOT_BITS: u32 = 24;
/// The most slots a scheduler has.
pub const MAX_SLOTS: usize = (1 << SLOT_BITS) - 1;
/// Sequence numbers stay below this; reaching it renumbers what is queued.
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS);

/// Up to this many slots the earliest key is found by scanning them, which costs
/// less than keeping the tree's inner nodes up to date (two passes up the tree per
/// event, against one scan of a few cache lines).
const SCAN_WIDTH: usize = 16;

/// The key of a slot without a wake-up: above every real key.
const IDLE: u128 = u128::MAX;

/// (time, sequence, slot) as one number, ordered as (time, sequence): the time in
/// the high half, then the sequence (unique), then the slot. `Instant::as_nanos`
/// is at most `u64::MAX - 1`, so no real key equals [`IDLE`].
#[inline]
fn key(at: Instant, seq: u64, slot: usize) -> u128 {
    (u128::from(at.as_nanos()) << 64) | u128::from(seq << SLOT_BITS) | slot as u128
}

#[inline]
fn key_time(key: u128) -> Instant {
    Instant::from_nanos((key >> 64) as u64)
}

#[inline]
fn key_slot(key: u128) -> usize {
    (key as u64 & ((1 << SLOT_BITS) - 1)) as usize
}

/// What [`Scheduler::pop_until`] hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Fired<T, E> {
    /// The wake-up of the component registered with this target.
    Wake(T),
    /// A one-off event.
    Event(E),
}

/// Wake-ups of components (each registered with a target `T` saying which it is)
/// and one-off events `E` on virtual time. See the [module docs](self).
pub struct Scheduler<T, E> {
    /// Per registered slot: whom it wakes.
    targets: Vec<T>,
    /// The winner tree in pairs of siblings: node `j` (1-based, root 1, children
    /// `2j` and `2j + 1`) is `tree[j / 2][j % 2]`. Leaf `i` is node `width + i` and
    /// holds the slot's key ([`IDLE`] without a wake-up); an inner node holds the
    /// smaller key of its children, so the root holds the earliest.
    tree: Vec<[u128; 2]>,
    width: usize,
    /// The slot [`Scheduler::pop_until`] handed out last, whose key is still in the
    /// tree: most components set their next wake-up right away, which then costs
    /// one pass up the tree instead of two. It is cleared before the next look.
    fired: Option<usize>,
    once: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
}

impl<T, E> std::fmt::Debug for Scheduler<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("slots", &self.targets.len())
            .field("one_off_pending", &self.once.len())
            .field("scheduled_total", &self.seq)
            .finish()
    }
}

impl<T: Copy, E> Default for Scheduler<T, E> {
    fn default() -> Self {
        Scheduler {
            targets: Vec::new(),
            tree: vec![[IDLE; 2]; 2],
            width: 2,
            fired: None,
            once: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T: Copy, E> Scheduler<T, E> {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new slot, without a wake-up, that wakes `target`; `None` past
    /// [`MAX_SLOTS`].
    pub fn add_slot(&mut self, target: T) -> Option<Slot> {
        let index = self.targets.len();
        if index >= MAX_SLOTS {
            return None;
        }
        self.targets.push(target);
        if index >= self.width {
            self.rebuild(self.width * 2);
        }
        Some(Slot(index as u32))
    }

    fn node(&self, j: usize) -> u128 {
        self.tree[j / 2][j % 2]
    }

    /// Widens the tree to `width` leaves (a power of two) and replays every match.
    fn rebuild(&mut self, width: usize) {
        let leaves: Vec<u128> = (0..self.width).map(|i| self.node(self.width + i)).collect();
        self.width = width;
        self.tree = vec![[IDLE; 2]; width];
        for (i, k) in leaves.into_iter().enumerate() {
            self.tree[(width + i) / 2][(width + i) % 2] = k;
        }
        for j in (1..width).rev() {
            let [l, r] = self.tree[j];
            self.tree[j / 2][j % 2] = l.min(r);
        }
    }

    /// Puts `key` at leaf `slot` and replays the matches above it, stopping where
    /// a node keeps its key (keys are unique, so nothing above changes either).
    #[inline]
    fn set_key(&mut self, slot: usize, key: u128) {
        let mut j = self.width + slot;
        self.tree[j / 2][j % 2] = key;
        if self.width <= SCAN_WIDTH {
            return;
        }
        while j > 1 {
            let [l, r] = self.tree[j / 2];
            let m = l.min(r);
            j /= 2;
            let parent = &mut self.tree[j / 2][j % 2];
            if *parent == m {
                break;
            }
            *parent = m;
        }
    }

    /// The earliest key: a scan of the leaves while the tree is narrow (the inner
    /// nodes are then left stale), else the root.
    #[inline]
    fn first(&self) -> u128 {
        if self.width <= SCAN_WIDTH {
            // The pairs holding registered slots' leaves; the rest are idle.
            let end = (self.width + self.targets.len()).div_ceil(2);
            self.tree[self.width / 2..end.max(self.width / 2)]
                .iter()
                .map(|&[l, r]| l.min(r))
                .min()
                .unwrap_or(IDLE)
        } else {
            self.node(1)
        }
    }

    /// Clears the wake-up handed out last if its component did not set a new one.
    #[inline]
    fn settle(&mut self) {
        if let Some(slot) = self.fired.take() {
            self.set_key(slot, IDLE);
        }
    }

    fn next_seq(&mut self) -> u64 {
        if self.seq + 1 >= SEQ_LIMIT {
            self.renumber();
        }
        self.seq += 1;
        self.seq
    }

    /// Gives everything queued new sequence numbers from 1, in their order, when
    /// the numbers run out (after 2⁴⁰ events: never in practice, but cheap to get
    /// right).
    fn renumber(&mut self) {
        self.settle();
        let mut keys: Vec<(u128, Option<E>)> = (0..self.width)
            .map(|i| self.node(self.width + i))
            .filter(|&k| k != IDLE)
            .map(|k| (k, None))
            .collect();
        keys.extend(
            std::mem::take(&mut self.once)
                .into_iter()
                .map(|Reverse(e)| (e.key, Some(e.event))),
        );
        keys.sort_by_key(|(k, _)| *k);
        self.seq = 0;
        for (k, event) in keys {
            self.seq += 1;
            let renumbered = key(key_time(k), self.seq, key_slot(k));
            match event {
                None => self.set_key(key_slot(k), renumbered),
                Some(event) => self.once.push(Reverse(Entry {
                    key: renumbered,
                    event,
                })),
            }
        }
    }

    /// Asks for `slot`'s component to be woken at `at` (or never), replacing its
    /// wake-up. A wake-up moved to a new time is scheduled anew (it runs after
    /// events already scheduled for that time); one left at its time keeps its place.
    #[inline]
    pub fn set(&mut self, slot: Slot, at: Option<Instant>) {
        let i = slot.0 as usize;
        let old = if self.fired == Some(i) {
            self.fired = None;
            // Still in the tree, but consumed.
            if at.is_none() {
                self.set_key(i, IDLE);
                return;
            }
            IDLE
        } else {
            self.node(self.width + i)
        };
        match at {
            None if old != IDLE => self.set_key(i, IDLE),
            Some(t) if old == IDLE || key_time(old) != t => {
                let seq = self.next_seq();
                self.set_key(i, key(t, seq, i));
            }
            _ => {}
        }
    }

    /// When `slot`'s component is to be woken.
    pub fn wake_at(&self, slot: Slot) -> Option<Instant> {
        let i = slot.0 as usize;
        let k = self.node(self.width + i);
        (k != IDLE && self.fired != Some(i)).then(|| key_time(k))
    }

    /// Schedules the one-off `event` at `at`.
    pub fn push(&mut self, at: Instant, event: E) {
        let seq = self.next_seq();
        self.once.push(Reverse(Entry {
            key: key(at, seq, 0),
            event,
        }));
    }

    /// When the earliest wake-up or event is due.
    pub fn peek_time(&mut self) -> Option<Instant> {
        self.settle();
        let once = self.once.peek().map_or(IDLE, |Reverse(e)| e.key);
        let k = self.first().min(once);
        (k != IDLE).then(|| key_time(k))
    }

    /// Removes and returns the earliest wake-up or event (the first scheduled among
    /// equal times) if it is due by `until`. A wake-up handed out is consumed: its
    /// slot is idle until set again.
    #[inline]
    pub fn pop_until(&mut self, until: Instant) -> Option<(Instant, Fired<T, E>)> {
        self.settle();
        let first = self.first();
        let once = self.once.peek().map_or(IDLE, |Reverse(e)| e.key);
        let k = first.min(once);
        if k == IDLE || key_time(k) > until {
            return None;
        }
        if once < first {
            let Reverse(e) = self.once.pop()?;
            Some((key_time(e.key), Fired::Event(e.event)))
        } else {
            let slot = key_slot(first);
            self.fired = Some(slot);
            Some((key_time(first), Fired::Wake(*self.targets.get(slot)?)))
        }
    }

    /// Wake-ups set and one-off events scheduled so far (since the last
    /// renumbering, which never happens in practice).
    pub fn scheduled_total(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> Instant {
        Instant::from_nanos(n)
    }

    fn drain(s: &mut Scheduler<char, char>) -> Vec<char> {
        std::iter::from_fn(|| {
            s.pop_until(Instant::MAX).map(|(_, f)| match f {
                Fired::Wake(c) | Fired::Event(c) => c,
            })
        })
        .collect()
    }

    #[test]
    fn events_at_the_same_time_pop_in_insertion_order() {
        let mut s: Scheduler<char, char> = Scheduler::new();
        s.push(t(5), 'b');
        s.push(t(1), 'a');
        let c = s.add_slot('c').unwrap();
        s.set(c, Some(t(5)));
        s.push(t(5), 'd');
        assert_eq!(drain(&mut s), ['a', 'b', 'c', 'd']);
    }

    #[test]
    fn a_moved_wake_up_runs_once_at_its_new_time_after_its_equals() {
        let mut s: Scheduler<char, char> = Scheduler::new();
        let slots: Vec<Slot> = "abcde".chars().map(|c| s.add_slot(c).unwrap()).collect();
        s.set(slots[0], Some(t(10)));
        s.set(slots[1], Some(t(7)));
        s.set(slots[2], Some(t(7)));
        s.set(slots[3], Some(t(3)));
        s.set(slots[4], Some(t(9)));
        s.set(slots[1], Some(t(7)));
        assert_eq!(s.wake_at(slots[1]), Some(t(7)), "same time keeps its place");
        s.set(slots[0], Some(t(7)));
        s.set(slots[3], None);
        assert_eq!(s.peek_time(), Some(t(7)));
        assert_eq!(s.pop_until(t(6)), None, "nothing due by 6");
        assert_eq!(drain(&mut s), ['b', 'c', 'a', 'e']);
        assert_eq!(s.wake_at(slots[0]), None, "a wake-up fires once");
    }

    /// The tree against the structure it replaced: one heap of (time, sequence)
    /// entries carrying a generation, stale entries skipped.
    #[test]
    fn pops_in_the_order_of_a_heap_with_stale_entries_skipped() {
        let mut rng = StackRng::from_seed(3);
        let mut s: Scheduler<usize, usize> = Scheduler::new();
        let mut heap: BinaryHeap<Reverse<(u64, u64, usize, u64)>> = BinaryHeap::new();
        let (mut seq, mut gens, mut live) = (0u64, Vec::new(), Vec::new());
        let mut slots = Vec::new();
        let mut now = 0u64;
        let mut got = Vec::new();
        let mut want = Vec::new();
        for step in 0..20_000u64 {
            if slots.len() < 37 && step % 50 == 0 {
                slots.push(s.add_slot(slots.len()).unwrap());
                gens.push(0u64);
                live.push(None::<u64>);
            }
            let i = rng.range_inclusive(0..=(slots.len() as u64 - 1)) as usize;
            match rng.range_inclusive(0u64..=9) {
                0 => {
                    s.set(slots[i], None);
                    live[i] = None;
                    gens[i] += 1;
                }
                1 => {
                    let at = now + rng.range_inclusive(0..=20);
                    s.push(t(at), 1000 + step as usize);
                    seq += 1;
                    heap.push(Reverse((at, seq, 1000 + step as usize, u64::MAX)));
                }
                2..=6 => {
                    let at = now + rng.range_inclusive(0..=20);
                    s.set(slots[i], Some(t(at)));
                    if live[i] != Some(at) {
                        live[i] = Some(at);
                        gens[i] += 1;
                        seq += 1;
                        heap.push(Reverse((at, seq, i, gens[i])));
                    }
                }
                _ => {
                    let until = now + rng.range_inclusive(0..=5);
                    if let Some((at, f)) = s.pop_until(t(until)) {
                        now = at.as_nanos();
                        got.push(match f {
                            Fired::Wake(i) | Fired::Event(i) => i,
                        });
                    }
                    while let Some(Reverse((at, _, who, generation))) = heap.peek().copied() {
                        if at > until {
                            break;
                        }
                        heap.pop();
                        if generation == u64::MAX {
                            want.push(who);
                            break;
                        }
                        if gens[who] == generation && live[who].is_some() {
                            live[who] = None;
                            want.push(who);
                            break;
                        }
                    }
                }
            }
        }
        assert!(got.len() > 5_000, "{}", got.len());
        assert_eq!(got, want);
    }

    #[test]
    fn running_out_of_sequence_numbers_keeps_the_order() {
        let mut s: Scheduler<char, char> = Scheduler::new();
        let a = s.add_slot('a').unwrap();
        let b = s.add_slot('b').unwrap();
        s.seq = SEQ_LIMIT - 3;
        s.set(a, Some(t(5)));
        s.push(t(5), 'x');
        s.set(b, Some(t(5)));
        s.push(t(5), 'y');
        s.push(t(4), 'w');
        assert!(s.scheduled_total() < 10, "renumbered");
        assert_eq!(drain(&mut s), ['w', 'a', 'x', 'b', 'y']);
    }

    #[test]
    fn component_generators_depend_on_seed_and_label() {
        assert_eq!(component_seed(1, "host/a"), component_seed(1, "host/a"));
        assert_ne!(component_seed(1, "host/a"), component_seed(1, "host/b"));
        assert_ne!(component_seed(1, "host/a"), component_seed(2, "host/a"));
    }
}
