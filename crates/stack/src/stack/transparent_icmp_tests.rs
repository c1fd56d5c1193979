//! ICMP and ICMPv6 errors addressed to a transparent connection's or UDP
//! socket's foreign address (`transparent::takes_foreign_icmp`): taken when,
//! and only when, they quote what the stack sent from that address, then
//! handled as errors to the stack's own addresses are (path MTU, RFC 5927's
//! checks, SYN-RECEIVED's drop, UDP's connected-only reports); anything else
//! to a foreign address is dropped and counted as before (`InAddrErrors`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::icmp_tests::{hand, icmpv4_body, icmpv6_body};
use super::tests::{pattern, Pair, A4, A6, B4, B6};
use super::transparent_tests::{
    any4, any6, connect_through, drain, routed_pair, FOREIGN4, FOREIGN6,
};
use super::*;
use crate::error::Error;
use crate::stats::Stats;
use crate::tcp::State;
use crate::time::Duration;
use crate::wire::{Icmpv4DstUnreachable, Icmpv4Repr, Icmpv6DstUnreachable, Icmpv6Repr, IpProtocol};

const ROUTER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);

/// What an error handed to B reports.
#[derive(Debug, Clone, Copy)]
enum Report {
    /// "Fragmentation needed" / "packet too big" with this MTU.
    TooBig(u16),
    PortUnreachable,
    HostUnreachable,
}

fn family(v6: bool) -> (IpAddr, IpAddr, IpAddr, IpAddr) {
    // (foreign, A, B, router)
    match v6 {
        false => (
            IpAddr::V4(FOREIGN4),
            IpAddr::V4(A4),
            IpAddr::V4(B4),
            IpAddr::V4(ROUTER4),
        ),
        true => (
            IpAddr::V6(FOREIGN6),
            IpAddr::V6(A6),
            IpAddr::V6(B6),
            IpAddr::V6(ROUTER6),
        ),
    }
}

/// The ICMP or ICMPv6 message (by `quote`'s family) from `from` to `to`
/// reporting `report` about `quote` (as much of it as a router quotes).
fn error_body(from: IpAddr, to: IpAddr, quote: &[u8], report: Report) -> (IpProtocol, Vec<u8>) {
    if quote[0] >> 4 == 4 {
        let quote = &quote[..quote.len().min(576 - 28)];
        let (reason, next_hop_mtu) = match report {
            Report::TooBig(mtu) => (Icmpv4DstUnreachable::FragRequired, mtu),
            Report::PortUnreachable => (Icmpv4DstUnreachable::PortUnreachable, 0),
            Report::HostUnreachable => (Icmpv4DstUnreachable::HostUnreachable, 0),
        };
        let err = Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            invoking: quote,
        };
        (IpProtocol::Icmp, icmpv4_body(&err))
    } else {
        let quote = &quote[..quote.len().min(1280 - 48)];
        let err = match report {
            Report::TooBig(mtu) => Icmpv6Repr::PacketTooBig {
                mtu: u32::from(mtu),
                invoking: quote,
            },
            Report::PortUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::PortUnreachable,
                invoking: quote,
            },
            Report::HostUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::AddrUnreachable,
                invoking: quote,
            },
        };
        (IpProtocol::Icmpv6, icmpv6_body(from, to, &err))
    }
}

/// Hands B an error from `from` to `to` reporting `report` about `quote`.
fn error_to_b(pair: &mut Pair, from: IpAddr, to: IpAddr, quote: &[u8], report: Report) {
    let (proto, body) = error_body(from, to, quote, report);
    hand(pair, false, from, to, proto, &body);
}

/// B's counters as they must be after `n` packets to a foreign address of
/// `v6`'s family were dropped as not the stack's, starting from `before`.
fn dropped_as_foreign(before: &Stats, v6: bool, n: u64) -> Stats {
    let mut want = before.clone();
    let ip = if v6 { &mut want.ip6 } else { &mut want.ip };
    ip.in_receives += n;
    ip.in_addr_errors += n;
    want
}

/// A transparent listener of every port on B (of `v6`'s family) and a
/// connection A opened to `FOREIGN:443` through it: (A's side, B's side).
fn transparent_connection(pair: &mut Pair, v6: bool) -> (SocketHandle, SocketHandle) {
    let (foreign, ..) = family(v6);
    let any = if v6 { any6(0) } else { any4(0) };
    let l = pair
        .b
        .tcp_listen_transparent(any, ListenOptions::default())
        .unwrap();
    connect_through(pair, l, SocketAddr::new(foreign, 443))
}

/// B's connection `s` sends a full-sized segment: its IP packet, not
/// delivered.
fn full_segment_from_b(pair: &mut Pair, s: SocketHandle) -> Vec<u8> {
    pair.b.tcp_send(pair.now, s, &pattern(3000, 7)).unwrap();
    let mut buf = [0u8; 1500];
    let n = pair.b.poll_transmit(pair.now, &mut buf).unwrap();
    assert_eq!(n, 1500);
    let segment = buf[..n].to_vec();
    // The rest of the flight, lost.
    drain(&mut pair.b, pair.now);
    segment
}

/// Sends `data` from B's `s` to A's `c` through a router whose link towards
/// A carries at most `mtu` bytes: a larger packet is dropped and answered,
/// to its source, with a "fragmentation needed" or "packet too big"
/// reporting `mtu`, as a router does. Returns what A read, how many errors
/// the router sent, B's connection's path MTU right after the first, and the
/// largest packet B sent after it.
fn send_through_router(
    pair: &mut Pair,
    s: SocketHandle,
    c: SocketHandle,
    data: &[u8],
    mtu: u16,
) -> (Vec<u8>, usize, Option<u16>, usize) {
    let (mut sent, mut got) = (0, Vec::new());
    let (mut errors, mut pmtu_after_first, mut largest_after) = (0, None, 0);
    let mut buf = vec![0u8; 2000];
    let mut rx = vec![0u8; 65536];
    let deadline = pair.now + Duration::from_secs(120);
    while got.len() < data.len() && pair.now < deadline {
        if sent < data.len() {
            sent += pair.b.tcp_send(pair.now, s, &data[sent..]).unwrap_or(0);
        }
        let mut moved = false;
        while let Some(n) = pair.b.poll_transmit(pair.now, &mut buf) {
            moved = true;
            let packet = buf[..n].to_vec();
            if errors > 0 {
                largest_after = largest_after.max(n);
            }
            if n > usize::from(mtu) {
                let v6 = packet[0] >> 4 == 6;
                let (_, _, _, router) = family(v6);
                let source = pair.b.tcp_addrs(s).unwrap().0.ip();
                error_to_b(pair, router, source, &packet, Report::TooBig(mtu));
                errors += 1;
                if errors == 1 {
                    pmtu_after_first = Some(pair.b.tcp_info(pair.now, s).unwrap().pmtu);
                }
            } else {
                pair.a.handle_packet(pair.now, &packet);
            }
        }
        while let Some(n) = pair.a.poll_transmit(pair.now, &mut buf) {
            moved = true;
            let packet = buf[..n].to_vec();
            pair.b.handle_packet(pair.now, &packet);
        }
        while let Ok(n) = pair.a.tcp_recv(pair.now, c, &mut rx) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&rx[..n]);
        }
        // A millisecond per exchange; when nothing moved, the next timer.
        let next = match moved {
            true => Some(pair.now + Duration::from_millis(1)),
            false => [pair.a.poll_timeout(), pair.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min(),
        };
        let Some(next) = next else { break };
        pair.now = pair.now.max(next);
        pair.a.handle_timeout(pair.now);
        pair.b.handle_timeout(pair.now);
    }
    (got, errors, pmtu_after_first, largest_after)
}

#[test]
fn a_too_big_to_a_transparent_connections_address_lowers_its_mss_and_the_data_still_arrives() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1801 + u64::from(v6));
        let (c, s) = transparent_connection(&mut pair, v6);
        let (_, a, _, _) = family(v6);
        let data = pattern(200_000, 3);
        let (got, errors, pmtu, largest) = send_through_router(&mut pair, s, c, &data, 1400);
        assert!(
            got == data,
            "v6 {v6}: {} of {} bytes",
            got.len(),
            data.len()
        );
        // The first error lowered the connection at once (RFC 1191, RFC
        // 8201): no retransmission timeout, no black-hole detection needed.
        assert_eq!(pmtu, Some(1400), "v6 {v6}");
        assert!(errors >= 1, "v6 {v6}");
        assert!(largest <= 1400, "v6 {v6}: {largest}");
        let info = pair.b.tcp_info(pair.now, s).unwrap();
        let headers = if v6 { 40 + 20 + 12 } else { 20 + 20 + 12 };
        assert_eq!((info.pmtu, info.snd_mss), (1400, 1400 - headers), "v6 {v6}");
        // The estimate is the client's: the cache is keyed by destination.
        assert_eq!(pair.b.path_mtu(pair.now, a), 1400, "v6 {v6}");
        let st = pair.b.stats();
        assert_eq!(st.tcp.loss.pmtu_black_holes, 0, "v6 {v6}");
        assert_eq!(st.tcp.timeouts, 0, "v6 {v6}");
        let (addr_errors, icmp) = match v6 {
            false => (st.ip.in_addr_errors, &st.icmp),
            true => (st.ip6.in_addr_errors, &st.icmp6),
        };
        assert_eq!(addr_errors, 0, "v6 {v6}");
        assert_eq!(icmp.in_msgs, errors as u64, "v6 {v6}");
        assert_eq!(icmp.in_errors, 0, "v6 {v6}");
    }
}

#[test]
fn a_port_unreachable_quoting_a_transparent_syn_acks_isn_drops_the_half_open_connection() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1803 + u64::from(v6));
        let (foreign, a, _, _) = family(v6);
        let any = if v6 { any6(0) } else { any4(0) };
        pair.b
            .tcp_listen_transparent(any, ListenOptions::default())
            .unwrap();
        // A's SYN to the foreign address reaches B, whose SYN-ACK (from
        // that address) is kept here, never delivered.
        pair.a
            .tcp_connect(pair.now, SocketAddr::new(foreign, 443), None)
            .unwrap();
        let mut buf = [0u8; 1500];
        let n = pair.a.poll_transmit(pair.now, &mut buf).unwrap();
        pair.b.handle_packet(pair.now, &buf[..n]);
        let syn_ack = drain(&mut pair.b, pair.now).remove(0);
        let hl = if v6 { 40 } else { 20 };
        assert_eq!(syn_ack[hl + 13] & 0x12, 0x12, "v6 {v6}: a SYN-ACK");
        assert_eq!(pair.b.tcp_conn_count, 1);
        let isn = u32::from_be_bytes(syn_ack[hl + 4..hl + 8].try_into().unwrap());
        // Forged: our ISN plus or minus one (RFC 5927): ignored, and
        // counted as for the stack's own addresses.
        for delta in [1u32, u32::MAX] {
            let mut forged = syn_ack.clone();
            forged[hl + 4..hl + 8].copy_from_slice(&isn.wrapping_add(delta).to_be_bytes());
            error_to_b(&mut pair, a, foreign, &forged, Report::PortUnreachable);
        }
        assert_eq!(pair.b.stats().tcp.out_of_window_icmps, 2, "v6 {v6}");
        // A soft error leaves it (RFC 9293 MUST-56).
        error_to_b(&mut pair, a, foreign, &syn_ack, Report::HostUnreachable);
        assert_eq!(pair.b.tcp_conn_count, 1, "v6 {v6}");
        // The genuine quote: the half-open connection goes, as Linux's
        // `tcp_req_err` drops it and counts it (a ListenDrop).
        error_to_b(&mut pair, a, foreign, &syn_ack, Report::PortUnreachable);
        assert_eq!(pair.b.tcp_conn_count, 0, "v6 {v6}");
        let st = pair.b.stats();
        assert_eq!(st.tcp.listen_drops, 1, "v6 {v6}");
        assert_eq!(st.tcp.out_of_window_icmps, 2, "v6 {v6}");
        let (addr_errors, icmp) = match v6 {
            false => (st.ip.in_addr_errors, &st.icmp),
            true => (st.ip6.in_addr_errors, &st.icmp6),
        };
        assert_eq!((addr_errors, icmp.in_msgs, icmp.in_errors), (0, 4, 0));
        // Nothing answers an ICMP error (RFC 1122 section 3.2.2).
        assert!(drain(&mut pair.b, pair.now).is_empty(), "v6 {v6}");
        // The client's next SYN opens a new one, which completes.
        let ok = pair.run_until(Duration::from_secs(10), |p| {
            p.b.tcp_conn_count == 1 && p.a.stats().tcp.curr_estab == 1
        });
        assert!(ok, "v6 {v6}: the retried handshake did not complete");
    }
}

#[test]
fn a_forged_error_quoting_an_out_of_window_sequence_number_is_ignored_and_counted_as_for_own_addresses(
) {
    for v6 in [false, true] {
        let mut pair = routed_pair(1805 + u64::from(v6));
        let (foreign, a, _, router) = family(v6);
        let (_c, s) = transparent_connection(&mut pair, v6);
        let segment = full_segment_from_b(&mut pair, s);
        let hl = if v6 { 40 } else { 20 };
        let before = pair.b.stats().clone();
        // A sequence number B never sent, and the last byte before what is
        // in flight (SND.UNA - 1): both outside the flight.
        let seq = u32::from_be_bytes(segment[hl + 4..hl + 8].try_into().unwrap());
        for forged_seq in [seq ^ 0x8000_0000, seq.wrapping_sub(1)] {
            let mut forged = segment.clone();
            forged[hl + 4..hl + 8].copy_from_slice(&forged_seq.to_be_bytes());
            error_to_b(&mut pair, router, foreign, &forged, Report::TooBig(1280));
        }
        let st = pair.b.stats().clone();
        assert_eq!(st.tcp.out_of_window_icmps, 2, "v6 {v6}");
        let (icmp, icmp_before) = match v6 {
            false => (&st.icmp, &before.icmp),
            true => (&st.icmp6, &before.icmp6),
        };
        assert_eq!(icmp.in_msgs, icmp_before.in_msgs + 2, "v6 {v6}");
        assert_eq!(icmp.in_errors, icmp_before.in_errors, "v6 {v6}");
        assert_eq!(st.ip.in_addr_errors + st.ip6.in_addr_errors, 0);
        assert_eq!(pair.b.path_mtu(pair.now, a), 1500, "v6 {v6}: the cache");
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1500, "v6 {v6}");
        // The control: the genuine quote lowers both.
        error_to_b(&mut pair, router, foreign, &segment, Report::TooBig(1280));
        assert_eq!(pair.b.path_mtu(pair.now, a), 1280, "v6 {v6}");
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1280, "v6 {v6}");
    }
}

#[test]
fn an_error_to_a_foreign_address_naming_nothing_of_ours_is_an_address_error_only() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1807 + u64::from(v6));
        let (foreign, a, b, router) = family(v6);
        let (_c, s) = transparent_connection(&mut pair, v6);
        // A transparent UDP socket of port 53 (one of every port would take
        // any UDP quote from the foreign address: it may have sent it).
        let on_53 = if v6 { any6(53) } else { any4(53) };
        pair.b.udp_bind_transparent(on_53).unwrap();
        let segment = full_segment_from_b(&mut pair, s);
        let hl = if v6 { 40 } else { 20 };
        let other_foreign = match foreign {
            IpAddr::V4(f) => IpAddr::V4(Ipv4Addr::from_bits(f.to_bits() + 1)),
            IpAddr::V6(f) => IpAddr::V6(Ipv6Addr::from_bits(f.to_bits() + 1)),
        };
        let with_source = |src: IpAddr| {
            let mut q = segment.clone();
            match src {
                IpAddr::V4(s) => q[12..16].copy_from_slice(&s.octets()),
                IpAddr::V6(s) => q[8..24].copy_from_slice(&s.octets()),
            }
            q
        };
        let proto_at = if v6 { 6 } else { 9 };
        // Another source port: no connection has that tuple.
        let mut no_conn = segment.clone();
        no_conn[hl] ^= 0x55;
        // The same bytes as UDP: no UDP socket has the connection's port.
        let mut udp_nobody = segment.clone();
        udp_nobody[proto_at] = 17;
        // An ICMP quote: no ports, nothing to check it against.
        let mut icmp_quote = segment[..hl].to_vec();
        icmp_quote[proto_at] = if v6 { 58 } else { 1 };
        icmp_quote.extend_from_slice(&[if v6 { 128 } else { 8 }, 0, 0, 0, 0, 0, 0, 0]);
        // The quote cut inside the sequence number: to one of B's own
        // addresses an IcmpInError, here nothing.
        let cut = segment[..hl + 6].to_vec();
        let cases: Vec<(&str, IpAddr, Vec<u8>)> = vec![
            ("no connection", foreign, no_conn),
            ("UDP of no socket", foreign, udp_nobody),
            ("an ICMP quote", foreign, icmp_quote),
            ("a cut quote", foreign, cut),
            // The genuine quote, but sent from another foreign address, or
            // from B's own one, or the error sent to another address.
            ("another source", foreign, with_source(other_foreign)),
            ("B's source", foreign, with_source(b)),
            ("to another address", other_foreign, segment.clone()),
            ("to A's address", a, segment.clone()),
        ];
        for (what, to, quote) in &cases {
            let before = pair.b.stats().clone();
            error_to_b(&mut pair, router, *to, quote, Report::TooBig(1280));
            let want = dropped_as_foreign(&before, v6, 1);
            assert_eq!(*pair.b.stats(), want, "v6 {v6}: {what}");
        }
        // The genuine error with a bad checksum, the genuine quote in a
        // message the stack does not act on (a redirect; an unknown ICMPv6
        // error), and (IPv4) the genuine error as the first fragment of
        // itself: all dropped as before.
        let (proto, mut body) = error_body(router, foreign, &segment, Report::TooBig(1280));
        let mut bodies = Vec::new();
        body[2] ^= 0x01;
        bodies.push(("a bad checksum", body.clone()));
        body[2] ^= 0x01;
        let not_acted_on = match v6 {
            false => icmpv4_body(&Icmpv4Repr::Other {
                msg_type: crate::wire::Icmpv4Message::Redirect,
                msg_code: 1,
                rest_of_header: [10, 0, 0, 99],
                data: &segment[..hl + 8],
            }),
            // An error type RFC 4443 does not define (below 128: an error).
            true => icmpv6_body(
                router,
                foreign,
                &Icmpv6Repr::Other {
                    msg_type: crate::wire::Icmpv6Message::from(5),
                    msg_code: 0,
                    rest_of_header: [0; 4],
                    data: &segment[..hl + 8],
                },
            ),
        };
        bodies.push(("a redirect / an unknown error", not_acted_on));
        for (what, body) in &bodies {
            let before = pair.b.stats().clone();
            hand(&mut pair, false, router, foreign, proto, body);
            assert_eq!(
                *pair.b.stats(),
                dropped_as_foreign(&before, v6, 1),
                "v6 {v6}: {what}"
            );
        }
        if !v6 {
            let before = pair.b.stats().clone();
            let mut packet = pair
                .b
                .build_ip_packet(router, foreign, proto, &body, 64, 0)
                .unwrap();
            packet[6] |= 0x20; // more fragments
            crate::wire::Ipv4Packet::new_unchecked(&mut packet[..]).fill_checksum();
            pair.b.handle_packet(pair.now, &packet);
            assert_eq!(
                *pair.b.stats(),
                dropped_as_foreign(&before, v6, 1),
                "a fragment"
            );
        }
        // None of it reached the connection or drew an answer.
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1500, "v6 {v6}");
        assert_eq!(pair.b.path_mtu(pair.now, a), 1500, "v6 {v6}");
        assert!(drain(&mut pair.b, pair.now).is_empty(), "v6 {v6}");
        // The control: the genuine error is taken.
        hand(&mut pair, false, router, foreign, proto, &body);
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1280, "v6 {v6}");
    }
}

#[test]
fn an_echo_request_to_a_foreign_address_is_still_not_answered() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1809 + u64::from(v6));
        let (foreign, a, b, _) = family(v6);
        // Transparent sockets of the family, and a live connection.
        let _ = transparent_connection(&mut pair, v6);
        let any = if v6 { any6(0) } else { any4(0) };
        pair.b.udp_bind_transparent(any).unwrap();
        drain(&mut pair.b, pair.now);
        let body = |to: IpAddr| match v6 {
            false => {
                let req = Icmpv4Repr::EchoRequest {
                    ident: 9,
                    seq_no: 1,
                    data: b"ping",
                };
                (IpProtocol::Icmp, icmpv4_body(&req))
            }
            true => {
                let req = Icmpv6Repr::EchoRequest {
                    ident: 9,
                    seq_no: 1,
                    data: b"ping",
                };
                (IpProtocol::Icmpv6, icmpv6_body(a, to, &req))
            }
        };
        let before = pair.b.stats().clone();
        let (proto, ping) = body(foreign);
        hand(&mut pair, false, a, foreign, proto, &ping);
        assert!(drain(&mut pair.b, pair.now).is_empty(), "v6 {v6}");
        assert_eq!(
            *pair.b.stats(),
            dropped_as_foreign(&before, v6, 1),
            "v6 {v6}"
        );
        // The control: to B's own address it is answered.
        let (proto, ping) = body(b);
        hand(&mut pair, false, a, b, proto, &ping);
        assert_eq!(drain(&mut pair.b, pair.now).len(), 1, "v6 {v6}");
    }
}

#[test]
fn without_a_transparent_socket_an_error_to_a_foreign_address_is_dropped_as_before() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1811 + u64::from(v6));
        let (foreign, a, b, router) = family(v6);
        // A connection of B's own address, sending.
        let l = pair
            .b
            .tcp_listen(SocketAddr::new(b, 443), ListenOptions::default())
            .unwrap();
        let (_c, s) = connect_through(&mut pair, l, SocketAddr::new(b, 443));
        let segment = full_segment_from_b(&mut pair, s);
        // Its genuine quote to a foreign address, and made a quote from
        // that address: dropped as not the stack's, nothing else counted.
        let mut from_foreign = segment.clone();
        match foreign {
            IpAddr::V4(f) => from_foreign[12..16].copy_from_slice(&f.octets()),
            IpAddr::V6(f) => from_foreign[8..24].copy_from_slice(&f.octets()),
        }
        let before = pair.b.stats().clone();
        for quote in [&segment, &from_foreign] {
            for report in [Report::TooBig(1280), Report::PortUnreachable] {
                error_to_b(&mut pair, router, foreign, quote, report);
            }
        }
        assert_eq!(
            *pair.b.stats(),
            dropped_as_foreign(&before, v6, 4),
            "v6 {v6}"
        );
        assert!(drain(&mut pair.b, pair.now).is_empty(), "v6 {v6}");
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1500, "v6 {v6}");
        assert_eq!(pair.b.tcp_state(s), Ok(State::Established), "v6 {v6}");
        assert_eq!(pair.b.path_mtu(pair.now, a), 1500, "v6 {v6}");
        // The control: to B's own address, the genuine quote is taken.
        error_to_b(&mut pair, router, b, &segment, Report::TooBig(1280));
        assert_eq!(pair.b.tcp_info(pair.now, s).unwrap().pmtu, 1280, "v6 {v6}");
    }
}

#[test]
fn a_transparent_udp_socket_learns_errors_as_an_unconnected_or_connected_socket_does() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1813 + u64::from(v6));
        let (foreign, a, _, router) = family(v6);
        let any = |port| if v6 { any6(port) } else { any4(port) };
        let every = pair.b.udp_bind_transparent(any(0)).unwrap();
        let on_5353 = pair.b.udp_bind_transparent(any(5353)).unwrap();
        pair.b
            .udp_connect(on_5353, SocketAddr::new(a, 7001))
            .unwrap();
        let sent = |pair: &mut Pair, h, sport, dport| {
            let (src, dst) = (SocketAddr::new(foreign, sport), SocketAddr::new(a, dport));
            pair.b.udp_send_from_to(h, &[0x42; 1200], src, dst).unwrap();
            let mut out = drain(&mut pair.b, pair.now);
            assert_eq!(out.len(), 1);
            out.remove(0)
        };
        let icmp_of = |st: &Stats| match v6 {
            false => (st.icmp.in_msgs, st.icmp.in_errors, st.ip.in_addr_errors),
            true => (st.icmp6.in_msgs, st.icmp6.in_errors, st.ip6.in_addr_errors),
        };
        // An answer from 53 (a DNS proxy's) to a closed port of A: the
        // socket is not connected, and fails no call (Linux without
        // IP_RECVERR); the error was taken all the same.
        let answer = sent(&mut pair, every, 53, 7000);
        error_to_b(&mut pair, a, foreign, &answer, Report::PortUnreachable);
        assert_eq!(icmp_of(pair.b.stats()), (1, 0, 0), "v6 {v6}");
        assert_eq!(pair.b.udp_take_error(every), Ok(None), "v6 {v6}");
        // A "too big" lowers the estimate for A, which every later datagram
        // to it is fragmented to.
        error_to_b(&mut pair, router, foreign, &answer, Report::TooBig(1300));
        assert_eq!(pair.b.path_mtu(pair.now, a), 1300, "v6 {v6}");
        let fragments = drain(&mut pair.b, pair.now);
        assert!(fragments.is_empty(), "v6 {v6}: {}", fragments.len());
        let again = {
            let src = SocketAddr::new(foreign, 53);
            pair.b
                .udp_send_from_to(every, &[0x42; 1400], src, SocketAddr::new(a, 7000))
                .unwrap();
            drain(&mut pair.b, pair.now)
        };
        assert!(
            again.len() == 2 && again.iter().all(|p| p.len() <= 1300),
            "v6 {v6}: {:?}",
            again.iter().map(Vec::len).collect::<Vec<_>>()
        );
        // The connected socket's datagram to its peer: the next call fails.
        let to_peer = sent(&mut pair, on_5353, 5353, 7001);
        error_to_b(&mut pair, a, foreign, &to_peer, Report::PortUnreachable);
        assert_eq!(
            pair.b.udp_take_error(on_5353),
            Ok(Some(Error::ConnectionRefused)),
            "v6 {v6}"
        );
        assert_eq!(icmp_of(pair.b.stats()), (3, 0, 0), "v6 {v6}");
        // A quote from its port to another destination names no socket
        // (as `deliver_udp` would not give it that datagram): dropped as
        // not the stack's.
        let mut elsewhere = to_peer.clone();
        let hl = if v6 { 40 } else { 20 };
        elsewhere[hl + 2..hl + 4].copy_from_slice(&7002u16.to_be_bytes());
        error_to_b(&mut pair, a, foreign, &elsewhere, Report::PortUnreachable);
        assert_eq!(icmp_of(pair.b.stats()), (3, 0, 1), "v6 {v6}");
        assert_eq!(pair.b.udp_take_error(on_5353), Ok(None), "v6 {v6}");
        // Once the sockets are closed, their errors are nobody's.
        pair.b.close(pair.now, every).unwrap();
        pair.b.close(pair.now, on_5353).unwrap();
        error_to_b(&mut pair, a, foreign, &answer, Report::PortUnreachable);
        assert_eq!(icmp_of(pair.b.stats()), (3, 0, 2), "v6 {v6}");
    }
}

/// An error to a foreign address quoting UDP from there, while the stack is
/// transparent for TCP only: no socket sent it (a socket of `udp_bind`, the
/// wildcard one too, sends from the stack's own addresses only, and takes
/// no datagram to a foreign one), so it is dropped as not the stack's. It
/// reached the wildcard socket of the quoted port: a connected one failed
/// its next call, and a "too big" lowered the estimate for the quoted
/// destination, from an address that socket never sent from.
#[test]
fn an_error_to_a_foreign_address_quoting_udp_reaches_no_socket_of_udp_bind() {
    for v6 in [false, true] {
        let mut pair = routed_pair(1815 + u64::from(v6));
        let (foreign, a, _, router) = family(v6);
        let (_c, s) = transparent_connection(&mut pair, v6);
        let wildcard = SocketAddr::new(super::demux::unspecified_like(a), 5353);
        let u = pair.b.udp_bind(wildcard).unwrap();
        pair.b.udp_connect(u, SocketAddr::new(a, 7001)).unwrap();
        // The connection's segment (from the foreign address to A) made a
        // datagram from the foreign address's port 5353 to A's 7001.
        let mut quote = full_segment_from_b(&mut pair, s);
        let hl = if v6 { 40 } else { 20 };
        quote[if v6 { 6 } else { 9 }] = 17;
        quote[hl..hl + 2].copy_from_slice(&5353u16.to_be_bytes());
        quote[hl + 2..hl + 4].copy_from_slice(&7001u16.to_be_bytes());
        for report in [Report::PortUnreachable, Report::TooBig(1280)] {
            let before = pair.b.stats().clone();
            error_to_b(&mut pair, router, foreign, &quote, report);
            let want = dropped_as_foreign(&before, v6, 1);
            assert_eq!(*pair.b.stats(), want, "v6 {v6}: {report:?}");
        }
        assert_eq!(pair.b.udp_take_error(u), Ok(None), "v6 {v6}");
        assert_eq!(pair.b.path_mtu(pair.now, a), 1500, "v6 {v6}");
    }
}
