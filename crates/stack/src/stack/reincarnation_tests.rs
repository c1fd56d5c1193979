//! A tuple opened again while the clock stands still: its new incarnation must
//! not take sequence numbers the old one used (RFC 9293 sections 3.4.1 and
//! 3.6.1). A server driven with hand-made segments, every one at the same
//! instant, as a simulation that holds its clock may deliver them.

use core::net::{IpAddr, SocketAddr};

use super::tests::{segment, tcp_of, tcp_packet, A4, B4};
use super::*;
use crate::tcp::State;
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr, TcpTimestamp};

const NOW: Instant = Instant::from_nanos(5_000_000_000);

fn server_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(B4), 80)
}

fn client_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(A4), 40000)
}

/// The server: B4, listening on port 80.
fn server(seed: u64) -> (Stack, SocketHandle) {
    server_with(seed, |_| {})
}

/// [`server`] with its TCP configuration changed by `tcp`.
fn server_with(seed: u64, tcp: impl FnOnce(&mut crate::tcp::TcpConfig)) -> (Stack, SocketHandle) {
    let mut config = Config::with_address(format!("{B4}/24").parse().unwrap()).seed(seed);
    tcp(&mut config.tcp);
    let mut b = Stack::new(config).unwrap();
    let l = b
        .tcp_listen(server_addr(), ListenOptions::default())
        .unwrap();
    (b, l)
}

/// A segment from the client, with a timestamp option when `tsval` is given.
fn from_client(
    b: &mut Stack,
    seq: u32,
    ack: SeqNumber,
    flags: TcpFlags,
    tsval: Option<u32>,
) -> Vec<u8> {
    from_port(b, client_addr().port(), seq, ack, flags, tsval)
}

/// [`from_client`] from another of the client's ports.
fn from_port(
    b: &mut Stack,
    port: u16,
    seq: u32,
    ack: SeqNumber,
    flags: TcpFlags,
    tsval: Option<u32>,
) -> Vec<u8> {
    let options = TcpOptions {
        timestamp: tsval.map(|tsval| TcpTimestamp { tsval, tsecr: 0 }),
        ..TcpOptions::default()
    };
    let repr = TcpRepr {
        src_port: port,
        dst_port: server_addr().port(),
        seq_number: SeqNumber(seq),
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options,
        payload: &[],
    };
    let client = SocketAddr::new(client_addr().ip(), port);
    tcp_packet(b, client, server_addr(), &repr)
}

/// Delivers `packet` to `b` and returns (sequence number, flags) of every
/// segment `b` sends in answer.
fn exchange(b: &mut Stack, packet: &[u8]) -> Vec<(SeqNumber, TcpFlags)> {
    b.handle_packet(NOW, packet);
    let mut buf = [0u8; 2000];
    let mut sent = Vec::new();
    while let Some(n) = b.poll_transmit(NOW, &mut buf) {
        let seg = tcp_of(&buf[..n]);
        sent.push((seg.seq_number, seg.flags));
    }
    sent
}

/// The client's handshake with `b` from ISN `isn`: the server's ISS and its
/// accepted connection.
fn handshake(b: &mut Stack, isn: u32, tsval: Option<u32>) -> SeqNumber {
    let syn = from_client(b, isn, SeqNumber(0), TcpFlags::SYN, tsval);
    let answer = exchange(b, &syn);
    assert_eq!(answer.len(), 1, "{answer:?}");
    let (iss, flags) = answer[0];
    assert_eq!(flags, TcpFlags::SYN | TcpFlags::ACK);
    let ack = from_client(b, isn + 1, iss + 1u32, TcpFlags::ACK, tsval.map(|t| t + 1));
    assert!(exchange(b, &ack).is_empty());
    iss
}

/// The server closes first, then the client: the server's side of the tuple
/// ends in TIME-WAIT, all at `NOW`. `orphan`: the application closes its handle
/// (the stack keeps a compact record) rather than shutting down its sending
/// half (the connection itself stays, in TIME-WAIT). Returns the server's ISS.
fn into_time_wait(b: &mut Stack, l: SocketHandle, orphan: bool) -> SeqNumber {
    let iss = handshake(b, 1000, Some(100));
    let (s, _) = b.tcp_accept(l).unwrap();
    match orphan {
        true => b.close(NOW, s).unwrap(),
        false => b.tcp_shutdown(NOW, s, Shutdown::Write).unwrap(),
    }
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert!(tcp_of(&buf[..n]).flags.contains(TcpFlags::FIN));
    let fin = from_client(
        b,
        1001,
        iss + 2u32,
        TcpFlags::FIN | TcpFlags::ACK,
        Some(102),
    );
    assert_eq!(exchange(b, &fin).len(), 1, "the last ACK");
    let states: Vec<_> = b.socket_table(NOW).iter().map(|e| e.state).collect();
    assert!(states.contains(&"TIME-WAIT"), "{states:?}");
    if !orphan {
        assert_eq!(b.tcp_state(s), Ok(State::TimeWait));
    }
    iss
}

#[test]
fn a_syn_that_ends_a_time_wait_record_opens_past_the_old_incarnations_numbers() {
    let (mut b, l) = server(1);
    let iss = into_time_wait(&mut b, l, true);
    // A new SYN with a newer timestamp, at the same instant: it ends TIME-WAIT
    // (RFC 6191), and its connection starts past the old one's FIN (iss + 1)
    // by Linux's unscaled window, whatever the standing clock would say.
    let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
    let answer = exchange(&mut b, &syn);
    assert_eq!(
        answer,
        vec![(iss + 2u32 + 65537u32, TcpFlags::SYN | TcpFlags::ACK)]
    );
    assert_eq!(b.stats().tcp.time_wait_recycled, 1);
}

#[test]
fn a_syn_that_ends_a_time_wait_connection_opens_past_the_old_incarnations_numbers() {
    let (mut b, l) = server(2);
    let iss = into_time_wait(&mut b, l, false);
    let held = b.socket_table(NOW);
    let old = held.iter().find(|e| e.state == "TIME-WAIT").unwrap().handle;
    let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
    let answer = exchange(&mut b, &syn);
    assert_eq!(
        answer,
        vec![(iss + 2u32 + 65537u32, TcpFlags::SYN | TcpFlags::ACK)]
    );
    assert_eq!(b.stats().tcp.time_wait_recycled, 1);
    // The application's handle on the old incarnation stays valid: CLOSED,
    // its reads at their end, until it closes it (before, the handle was
    // freed under it and every call said `InvalidHandle`).
    assert_eq!(b.tcp_state(old), Ok(State::Closed));
    assert_eq!(b.tcp_recv(NOW, old, &mut [0u8; 16]), Ok(0));
    assert_eq!(b.tcp_error(old), Ok(None));
    b.close(NOW, old).unwrap();
}

#[test]
fn a_held_syn_that_ended_time_wait_opens_past_the_old_incarnations_numbers() {
    let (mut b, l) = server(3);
    b.tcp_hold_syns(l, true).unwrap();
    // The first connection is completed by the application too.
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, Some(100));
    assert!(exchange(&mut b, &syn).is_empty());
    let tuple = b.tcp_next_syn(NOW, l).unwrap();
    b.tcp_complete_syn(NOW, l, tuple).unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    let iss = tcp_of(&buf[..n]).seq_number;
    let ack = from_client(&mut b, 1001, iss + 1u32, TcpFlags::ACK, Some(101));
    assert!(exchange(&mut b, &ack).is_empty());
    let (s, _) = b.tcp_accept(l).unwrap();
    b.close(NOW, s).unwrap();
    assert!(b.poll_transmit(NOW, &mut buf).is_some());
    let fin = from_client(
        &mut b,
        1001,
        iss + 2u32,
        TcpFlags::FIN | TcpFlags::ACK,
        Some(102),
    );
    assert_eq!(exchange(&mut b, &fin).len(), 1);
    // The new SYN ends TIME-WAIT and is held; completed, it opens past the
    // old numbers.
    let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
    assert!(exchange(&mut b, &syn).is_empty());
    let again = b.tcp_next_syn(NOW, l).unwrap();
    assert_eq!(again, tuple);
    b.tcp_complete_syn(NOW, l, again).unwrap();
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert_eq!(tcp_of(&buf[..n]).seq_number, iss + 2u32 + 65537u32);
}

/// Fuzz finding 9 (`fuzz/README.md`), at segment level: a connection reset,
/// then an old duplicate of its SYN at the same instant. Before, the new
/// connection got the old ISS again, and the client's old ACK completed its
/// handshake; the client went on sending into a connection that was not the
/// one it opened, and never heard of the reset.
#[test]
fn a_tuple_opened_again_at_the_same_instant_takes_a_new_iss() {
    let (mut b, l) = server(4);
    let iss = handshake(&mut b, 1000, None);
    let (s, _) = b.tcp_accept(l).unwrap();
    b.tcp_abort(NOW, s).unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert!(tcp_of(&buf[..n]).flags.contains(TcpFlags::RST));
    // The old SYN again: a new connection, with another ISS.
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, None);
    let answer = exchange(&mut b, &syn);
    assert_eq!(answer.len(), 1);
    let (iss2, flags) = answer[0];
    assert_eq!(flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_ne!(iss2, iss);
    // The client's next segment, acknowledging the old SYN-ACK: not this
    // connection's; answered with a RST, and the connection is not accepted.
    let old_ack = from_client(&mut b, 1001, iss + 1u32, TcpFlags::ACK, None);
    let answer = exchange(&mut b, &old_ack);
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert!(answer[0].1.contains(TcpFlags::RST));
    assert_eq!(answer[0].0, iss + 1u32);
    assert!(b.tcp_accept(l).is_err());
}

/// Fuzz finding 10: the same as finding 9 when the old connection used more
/// sequence numbers than the ISN clock's next tick skips (here 100 bytes of
/// data): a tick on, the new ISS was inside the old connection's numbers, and
/// the peer's ACK of the old data (its challenge ACK to the new SYN-ACK, in
/// the fuzz target's program) completed the new handshake. A failed
/// connection's tuple is remembered (`ended_tuples`), and its next
/// incarnation opens past everything it sent.
#[test]
fn a_tuple_reset_after_sending_data_opens_again_past_it() {
    let (mut b, l) = server(5);
    let iss = handshake(&mut b, 1000, None);
    let (s, _) = b.tcp_accept(l).unwrap();
    assert_eq!(b.tcp_send(NOW, s, &[7u8; 100]), Ok(100));
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert_eq!(tcp_of(&buf[..n]).payload.len(), 100);
    let acked = from_client(&mut b, 1001, iss + 101u32, TcpFlags::ACK, None);
    assert!(exchange(&mut b, &acked).is_empty());
    b.tcp_abort(NOW, s).unwrap();
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert!(tcp_of(&buf[..n]).flags.contains(TcpFlags::RST));
    // The old SYN again, at the same instant.
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, None);
    let answer = exchange(&mut b, &syn);
    assert_eq!(
        answer,
        vec![(iss + 101u32 + 65537u32, TcpFlags::SYN | TcpFlags::ACK)]
    );
    // The client's ACK of the old data is not this connection's.
    let answer = exchange(&mut b, &acked);
    assert_eq!(answer, vec![(iss + 101u32, TcpFlags::RST)]);
    assert!(b.tcp_accept(l).is_err());
    // The record is taken: a third incarnation takes the clock's ISS again.
    assert!(b.ended.is_empty());
}

/// A connection that failed before sending anything past its SYN leaves no
/// record: the ISN clock's next tick already avoids its one number.
#[test]
fn a_tuple_that_failed_on_its_syn_leaves_no_record() {
    let (mut b, l) = server(6);
    let _ = handshake(&mut b, 1000, None);
    let (s, _) = b.tcp_accept(l).unwrap();
    b.tcp_abort(NOW, s).unwrap();
    assert!(b.ended.is_empty());
}

/// A SYN that ends TIME-WAIT while the listener's SYN queue is full: it opens
/// its connection past the old incarnation's numbers all the same, beyond the
/// queue's bound, as Linux's `tcp_conn_request` ("TW buckets are converted to
/// open requests without limitations"). Before, it got a SYN cookie, whose
/// ISS knows nothing of the old incarnation, or (cookies off) was dropped
/// with TIME-WAIT already gone, so that the client's retry took the ISN clock's
/// ISS.
#[test]
fn a_syn_that_ends_time_wait_opens_past_the_old_numbers_with_the_syn_queue_full() {
    for cookies in [true, false] {
        let (mut b, l) = server_with(5, |tcp| {
            tcp.syn_backlog = 1;
            tcp.syn_cookies = cookies;
        });
        let iss = into_time_wait(&mut b, l, true);
        // Another client's handshake fills the SYN queue.
        let other = from_port(&mut b, 40001, 7000, SeqNumber(0), TcpFlags::SYN, Some(50));
        assert_eq!(exchange(&mut b, &other).len(), 1);
        let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
        let answer = exchange(&mut b, &syn);
        let new_iss = iss + 2u32 + 65537u32;
        assert_eq!(
            answer,
            vec![(new_iss, TcpFlags::SYN | TcpFlags::ACK)],
            "cookies {cookies}"
        );
        let tcp = b.stats().tcp;
        assert_eq!(
            (
                tcp.time_wait_recycled,
                tcp.syncookies_sent,
                tcp.listen_drops
            ),
            (1, 0, 0)
        );
        let ack = from_client(&mut b, 5001, new_iss + 1u32, TcpFlags::ACK, Some(104));
        assert!(exchange(&mut b, &ack).is_empty());
        assert_eq!(b.tcp_accept(l).unwrap().1, client_addr());
    }
}

/// The same for a listener that holds SYNs: the SYN that ended TIME-WAIT is
/// held beyond a full SYN queue, and completed it opens past the old numbers.
#[test]
fn a_held_syn_that_ends_time_wait_is_held_with_the_syn_queue_full() {
    let (mut b, l) = server_with(6, |tcp| tcp.syn_backlog = 1);
    let iss = into_time_wait(&mut b, l, true);
    b.tcp_hold_syns(l, true).unwrap();
    let other = from_port(&mut b, 40001, 7000, SeqNumber(0), TcpFlags::SYN, Some(50));
    assert!(exchange(&mut b, &other).is_empty());
    let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
    assert!(exchange(&mut b, &syn).is_empty());
    assert_eq!(b.stats().tcp.listen_drops, 0);
    let first = b.tcp_next_syn(NOW, l).unwrap();
    assert_eq!(first.remote.port(), 40001);
    let tuple = b.tcp_next_syn(NOW, l).unwrap();
    assert_eq!(tuple.remote, client_addr());
    b.tcp_complete_syn(NOW, l, tuple).unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert_eq!(tcp_of(&buf[..n]).seq_number, iss + 2u32 + 65537u32);
}

/// The application's own connection on the client's tuple, from the
/// listener's port (`b` holding a SYN of that tuple), through its handshake
/// into TIME-WAIT: closed (`orphan`: the stack keeps a record) or shut down
/// (the connection stays). Returns its ISS.
fn own_connection_into_time_wait(b: &mut Stack, orphan: bool) -> SeqNumber {
    let c = b
        .tcp_connect(NOW, client_addr(), Some(server_addr()))
        .unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    let iss = tcp_of(&buf[..n]).seq_number;
    let syn_ack = from_client(
        b,
        9000,
        iss + 1u32,
        TcpFlags::SYN | TcpFlags::ACK,
        Some(1000),
    );
    assert_eq!(exchange(b, &syn_ack).len(), 1, "the ACK");
    match orphan {
        true => b.close(NOW, c).unwrap(),
        false => b.tcp_shutdown(NOW, c, Shutdown::Write).unwrap(),
    }
    assert!(b.poll_transmit(NOW, &mut buf).is_some(), "the FIN");
    let fin = from_client(
        b,
        9001,
        iss + 2u32,
        TcpFlags::FIN | TcpFlags::ACK,
        Some(1001),
    );
    assert_eq!(exchange(b, &fin).len(), 1, "the last ACK");
    match orphan {
        true => assert_eq!(b.time_wait_count(), 1),
        false => assert_eq!(b.tcp_state(c), Ok(State::TimeWait)),
    }
    iss
}

/// A held SYN whose tuple entered TIME-WAIT after it was held (the
/// application connected from the listener's port to the client itself, and
/// that connection ended): completing it is refused as for a tuple a
/// connection holds. Before, it opened a connection beside the TIME-WAIT
/// record, with the ISN clock's ISS (below the record's numbers when the
/// clock stands still); a SYN that then ended that connection's TIME-WAIT
/// but not the record's left its ISS stashed for the next listener's SYN.
#[test]
fn a_held_syn_is_not_completed_into_a_tuple_in_time_wait() {
    let (mut b, l) = server(7);
    b.tcp_hold_syns(l, true).unwrap();
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, Some(500));
    assert!(exchange(&mut b, &syn).is_empty());
    let tuple = b.tcp_next_syn(NOW, l).unwrap();
    own_connection_into_time_wait(&mut b, true);
    assert_eq!(
        b.tcp_complete_syn(NOW, l, tuple),
        Err(crate::error::Error::AddrInUse)
    );
    let mut buf = [0u8; 2000];
    assert_eq!(b.poll_transmit(NOW, &mut buf), None);
    // Not held any more.
    assert_eq!(
        b.tcp_refuse_syn(NOW, l, tuple, SynRefusal::Silent),
        Err(crate::error::Error::TimedOut)
    );
}

/// A repeated SYN of a held tuple that itself ended TIME-WAIT (of the
/// application's own connection on the tuple, made after the first SYN was
/// held): the held SYN takes its ISS, past that connection's numbers. Before,
/// the held SYN kept the ISS it had (none: the ISN clock's, one past that
/// connection's ISS when the clock stands still).
#[test]
fn a_repeated_held_syn_that_ends_time_wait_takes_its_iss() {
    let (mut b, l) = server(8);
    b.tcp_hold_syns(l, true).unwrap();
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, Some(500));
    assert!(exchange(&mut b, &syn).is_empty());
    let iss = own_connection_into_time_wait(&mut b, false);
    let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(1002));
    assert!(exchange(&mut b, &syn).is_empty());
    assert_eq!(b.stats().tcp.time_wait_recycled, 1);
    let tuple = b.tcp_next_syn(NOW, l).unwrap();
    assert!(b.tcp_next_syn(NOW, l).is_err(), "held once");
    b.tcp_complete_syn(NOW, l, tuple).unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    let syn_ack = tcp_of(&buf[..n]);
    assert_eq!(syn_ack.seq_number, iss + 2u32 + 65537u32);
    assert_eq!(syn_ack.ack_number, SeqNumber(5001), "the latest SYN's");
}

/// The review's form of finding 10: the server closes (its FIN), the client
/// acknowledges the FIN with 3 bytes of data, which the closed server answers
/// with a RST (data after close); the old SYN again at the same instant opens
/// past the FIN, and the client's next data, acknowledging it, draws a RST
/// instead of completing the new handshake.
#[test]
fn data_after_close_resets_and_the_tuple_opens_again_past_the_fin() {
    let (mut b, l) = server(21);
    let iss = handshake(&mut b, 1000, None);
    let (s, _) = b.tcp_accept(l).unwrap();
    b.close(NOW, s).unwrap();
    let mut buf = [0u8; 2000];
    let n = b.poll_transmit(NOW, &mut buf).unwrap();
    assert!(tcp_of(&buf[..n]).flags.contains(TcpFlags::FIN));
    let data = segment(
        &mut b,
        client_addr(),
        server_addr(),
        TcpFlags::ACK | TcpFlags::PSH,
        1001,
        iss + 2u32,
        b"abc",
    );
    let answer = exchange(&mut b, &data);
    assert!(
        answer.iter().any(|(_, f)| f.contains(TcpFlags::RST)),
        "{answer:?}"
    );
    let syn = from_client(&mut b, 1000, SeqNumber(0), TcpFlags::SYN, None);
    let answer = exchange(&mut b, &syn);
    assert_eq!(
        answer,
        vec![(iss + 2u32 + 65537u32, TcpFlags::SYN | TcpFlags::ACK)]
    );
    let next = from_client(&mut b, 1004, iss + 2u32, TcpFlags::ACK, None);
    let answer = exchange(&mut b, &next);
    assert_eq!(answer, vec![(iss + 2u32, TcpFlags::RST)]);
    assert!(b.tcp_accept(l).is_err());
}

/// A SYN that may end TIME-WAIT, when no listener would take it: TIME-WAIT
/// stays and answers with an ACK, as Linux's (`tcp_v4_rcv` acknowledges a
/// `TCP_TW_SYN` no listener takes), for the compact record and for a
/// connection still held. Before, TIME-WAIT was thrown away first and the
/// SYN drew a RST.
#[test]
fn a_syn_no_listener_takes_leaves_time_wait_in_place_and_is_acknowledged() {
    for orphan in [true, false] {
        let (mut b, l) = server(22 + u64::from(orphan));
        let iss = into_time_wait(&mut b, l, orphan);
        b.close(NOW, l).unwrap();
        let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
        let answer = exchange(&mut b, &syn);
        assert_eq!(answer, vec![(iss + 2u32, TcpFlags::ACK)], "orphan {orphan}");
        assert_eq!(b.stats().tcp.time_wait_recycled, 0);
        let states: Vec<_> = b.socket_table(NOW).iter().map(|e| e.state).collect();
        assert!(states.contains(&"TIME-WAIT"), "orphan {orphan}: {states:?}");
    }
}

/// A SYN with RST set does not end TIME-WAIT, for the compact record and for
/// a connection still held alike (Linux's `tcp_timewait_state_process` takes
/// `th->syn && !th->rst && !th->ack`): a RST ends TIME-WAIT only at exactly
/// RCV.NXT (RFC 5961), where SYN|RST with any newer timestamp or any later
/// sequence number did, for a connection the application held.
#[test]
fn a_syn_with_rst_does_not_end_time_wait() {
    for orphan in [true, false] {
        let (mut b, l) = server(24 + u64::from(orphan));
        into_time_wait(&mut b, l, orphan);
        let syn_rst = from_client(
            &mut b,
            5000,
            SeqNumber(0),
            TcpFlags::SYN | TcpFlags::RST,
            Some(103),
        );
        exchange(&mut b, &syn_rst);
        assert_eq!(b.stats().tcp.time_wait_recycled, 0, "orphan {orphan}");
        let states: Vec<_> = b.socket_table(NOW).iter().map(|e| e.state).collect();
        assert!(states.contains(&"TIME-WAIT"), "orphan {orphan}: {states:?}");
    }
}

/// A SYN that may end TIME-WAIT while the stack holds `max_connections`:
/// the listener would drop it, so TIME-WAIT stays and acknowledges it, as
/// when no listener takes it. Before, the compact record was thrown away and
/// the SYN dropped: the tuple kept neither TIME-WAIT nor a connection. A
/// held TIME-WAIT connection's own end makes room: it is still recycled.
#[test]
fn a_syn_the_connection_limit_would_drop_leaves_time_wait_in_place() {
    for orphan in [true, false] {
        let limit = if orphan { 1 } else { 2 };
        let (mut b, l) = server_with(26 + u64::from(orphan), |t| t.max_connections = limit);
        let iss = into_time_wait(&mut b, l, orphan);
        // Another connection fills the limit.
        let syn = from_port(&mut b, 40001, 9000, SeqNumber(0), TcpFlags::SYN, Some(100));
        assert_eq!(exchange(&mut b, &syn).len(), 1, "orphan {orphan}");
        let syn = from_client(&mut b, 5000, SeqNumber(0), TcpFlags::SYN, Some(103));
        let answer = exchange(&mut b, &syn);
        let flags = answer.iter().map(|&(_, f)| f).collect::<Vec<_>>();
        if orphan {
            assert_eq!(answer, vec![(iss + 2u32, TcpFlags::ACK)]);
            assert_eq!(b.stats().tcp.time_wait_recycled, 0);
            assert_eq!(b.stats().tcp.connection_limit_drops, 0);
            let states: Vec<_> = b.socket_table(NOW).iter().map(|e| e.state).collect();
            assert!(states.contains(&"TIME-WAIT"), "{states:?}");
        } else {
            assert_eq!(flags, vec![TcpFlags::SYN | TcpFlags::ACK]);
            assert_eq!(b.stats().tcp.time_wait_recycled, 1);
        }
    }
}
