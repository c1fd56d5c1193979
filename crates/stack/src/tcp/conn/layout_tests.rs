//! The layout of a connection's state: its size, and which fields share a
//! cache line (see [`Connection`]'s docs for why the order matters).

use core::mem::{align_of, offset_of, size_of};

use super::Connection;
use crate::stack::TcpSlot;

/// The 64-byte group of `TcpSlot`, counted from its start, that
/// `Connection`'s field at `offset` is in.
fn slot_line(offset: usize) -> usize {
    (offset_of!(TcpSlot, conn) + offset) / 64
}

#[test]
fn slot_holds_the_connection_after_its_own_fields() {
    // Not line-aligned (see `TcpSlot`'s docs): malloc's 16 bytes.
    assert_eq!(align_of::<TcpSlot>(), 8);
    assert_eq!(size_of::<TcpSlot>(), 888);
    assert_eq!(offset_of!(TcpSlot, conn), 24);
    // No padding inside `Connection`: its fields sum to 864 bytes.
    assert_eq!(size_of::<Connection>(), 864);
}

#[test]
fn what_every_visit_reads_shares_one_line() {
    let line = slot_line(offset_of!(Connection, state));
    for (name, offset) in [
        ("events", offset_of!(Connection, events)),
        ("ack_due", offset_of!(Connection, ack_due)),
        ("fin_queued", offset_of!(Connection, fin_queued)),
        ("snd_una", offset_of!(Connection, snd_una)),
        ("snd_nxt", offset_of!(Connection, snd_nxt)),
        ("rcv_nxt", offset_of!(Connection, rcv_nxt)),
        ("rcv_adv", offset_of!(Connection, rcv_adv)),
        ("error", offset_of!(Connection, error)),
    ] {
        assert_eq!(slot_line(offset), line, "{name} left the state's group");
    }
}

#[test]
fn send_side_fields_share_one_line() {
    let line = slot_line(offset_of!(Connection, snd_max));
    for (name, offset) in [
        ("snd_wnd", offset_of!(Connection, snd_wnd)),
        ("mss", offset_of!(Connection, mss)),
        ("last_ack_sent", offset_of!(Connection, last_ack_sent)),
        ("sack_ok", offset_of!(Connection, sack_ok)),
        ("ts", offset_of!(Connection, ts)),
        ("path_mtu", offset_of!(Connection, path_mtu)),
    ] {
        assert_eq!(slot_line(offset), line, "{name} left snd_max's group");
    }
}
