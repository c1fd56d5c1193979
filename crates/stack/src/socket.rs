//! Socket handles and the slab that holds the sockets.
//!
//! A [`SocketHandle`] is an index plus a generation: once a socket is freed, its
//! handle stops working even if the slot is reused.

use core::fmt;

/// Names a socket of a [`Stack`](crate::Stack).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    index: u32,
    generation: u32,
}

impl SocketHandle {
    /// A handle no socket ever has (the socket table's rows for TIME-WAIT
    /// records, which have no socket): every call given it reports an invalid
    /// handle.
    pub const DETACHED: SocketHandle = SocketHandle {
        index: u32::MAX,
        generation: u32::MAX,
    };

    /// The slot index (stable while the socket lives; for tables and logs).
    pub fn index(self) -> u32 {
        self.index
    }
}

impl fmt::Debug for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index)
    }
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A slab of values addressed by [`SocketHandle`]s, with a free list.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
    /// How many times a value was lent out mutably, inserted or removed: a
    /// caller that remembers it knows, by finding it unchanged, that no one
    /// touched any value since (the stack's send burst, `stack::burst`). Not
    /// state: `Debug` leaves it out.
    lent: u64,
}

impl<T: fmt::Debug> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab")
            .field("slots", &self.slots)
            .field("free", &self.free)
            .field("len", &self.len)
            .finish()
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            lent: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots ever made, live or free: what [`iter`](Self::iter) walks.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The count of mutable loans, insertions and removals so far (see `lent`).
    pub(crate) fn lent(&self) -> u64 {
        self.lent
    }

    pub(crate) fn insert(&mut self, value: T) -> SocketHandle {
        self.lent = self.lent.wrapping_add(1);
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return SocketHandle {
                index,
                generation: slot.generation,
            };
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        SocketHandle {
            index,
            generation: 0,
        }
    }

    pub(crate) fn get(&self, h: SocketHandle) -> Option<&T> {
        let slot = self.slots.get(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        slot.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, h: SocketHandle) -> Option<&mut T> {
        self.lent = self.lent.wrapping_add(1);
        self.get_mut_uncounted(h)
    }

    /// [`get_mut`](Self::get_mut) without counting the loan: only for the send
    /// burst, whose own changes are the ones its guard allows.
    pub(crate) fn get_mut_uncounted(&mut self, h: SocketHandle) -> Option<&mut T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, h: SocketHandle) -> Option<T> {
        self.lent = self.lent.wrapping_add(1);
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(h.index);
        self.len -= 1;
        Some(value)
    }

    /// [`remove`](Self::remove) of the value at `h` if `remove` says so of it
    /// (one look-up); the loan is counted only when it is removed.
    pub(crate) fn remove_if(
        &mut self,
        h: SocketHandle,
        remove: impl FnOnce(&T) -> bool,
    ) -> Option<T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation || !slot.value.as_ref().is_some_and(remove) {
            return None;
        }
        self.remove(h)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (SocketHandle, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.value.as_ref().map(|v| {
                (
                    SocketHandle {
                        index: i as u32,
                        generation: s.generation,
                    },
                    v,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_if_removes_only_what_the_test_accepts_and_counts_only_that() {
        let mut slab = Slab::default();
        let a = slab.insert(1);
        let lent = slab.lent();
        assert_eq!(slab.remove_if(a, |&v| v == 2), None);
        assert_eq!(
            (slab.get(a), slab.lent()),
            (Some(&1), lent),
            "kept, uncounted"
        );
        assert_eq!(slab.remove_if(a, |&v| v == 1), Some(1));
        assert_eq!((slab.len(), slab.lent()), (0, lent + 1));
        assert_eq!(slab.remove_if(a, |_| true), None, "a stale handle");
    }

    #[test]
    fn removed_handle_stops_working_after_reuse() {
        let mut slab = Slab::default();
        let a = slab.insert(1);
        assert_eq!(slab.remove(a), Some(1));
        let b = slab.insert(2);
        assert_eq!(a.index(), b.index());
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.get(b), Some(&2));
        assert_eq!(slab.len(), 1);
    }
}
