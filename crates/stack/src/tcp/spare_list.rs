//! The list of a stack's spare-part pools (freed connection slots, congestion
//! states, ring storage): a `Vec` that keeps at most a configured number of
//! items (`TcpConfig::spare_slots`) and grows its room only as its use asks.
//!
//! The bound is the worst case a burst of closes can leave behind; a stack that
//! frees a connection now and then should not pay the bound's room for it (the
//! list doubles from 4), and a list at its bound holds no room past it (the
//! last step stops at the bound), so the bytes a pool reports stay within what
//! the bound documents.

/// Adds `item` to `list` unless it holds `max` items already, in which case
/// `item` is handed back (for the caller to drop, i.e. free).
#[inline]
pub(crate) fn push_bounded<T>(list: &mut Vec<T>, item: T, max: usize) -> Result<(), T> {
    if list.len() >= max {
        return Err(item);
    }
    if list.len() == list.capacity() {
        grow(list, max);
    }
    list.push(item);
    Ok(())
}

/// Doubles `list`'s room (from 4), never past `max`. Out of line: it runs only
/// while a pool first fills.
#[cold]
#[inline(never)]
fn grow<T>(list: &mut Vec<T>, max: usize) {
    let room = (list.capacity() * 2).max(4).min(max);
    list.reserve_exact(room - list.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_list_grows_by_doubling_up_to_its_bound_and_refuses_past_it() {
        let mut list = Vec::new();
        let mut rooms = Vec::new();
        for i in 0..20u32 {
            assert_eq!(push_bounded(&mut list, i, 12), Ok(()));
            rooms.push(list.capacity());
            if list.len() == 12 {
                break;
            }
        }
        assert_eq!(list.len(), 12);
        // 4, 8, then 12: the last step stops at the bound.
        assert_eq!(rooms[0], 4);
        assert_eq!(rooms[4], 8);
        assert_eq!(list.capacity(), 12);
        assert_eq!(push_bounded(&mut list, 99, 12), Err(99));
        assert_eq!((list.len(), list.capacity()), (12, 12));
        let mut none: Vec<u32> = Vec::new();
        assert_eq!(push_bounded(&mut none, 1, 0), Err(1));
        assert_eq!(none.capacity(), 0, "a bound of 0 allocates nothing");
    }
}
