//! Differential tests against the `etherparse` crate.
//!
//! - etherparse → ours: etherparse's `PacketBuilder` writes random valid packets
//!   (IPv4 with options / IPv6 with extension headers, carrying TCP with options, UDP,
//!   ICMPv4 or ICMPv6); we parse them with every checksum verified, and every field
//!   must be the value etherparse was told to write.
//! - ours → etherparse: we emit random reprs; etherparse's `SlicedPacket` and
//!   `PacketHeaders` must read back the same fields, and etherparse's own checksum
//!   calculations must give the checksums we wrote.

mod common;

use common::{parse_ip, parse_transport, IpView, Net, Transport};
use etherparse::{
    icmpv4, icmpv6, IcmpEchoHeader, Icmpv4Type, Icmpv6Type, IpDscp, IpEcn, IpFragOffset, IpHeaders,
    IpNumber, Ipv4Extensions, Ipv4Header, Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader,
    Ipv6Header, Ipv6RawExtHeader, Ipv6RoutingExtensions, NetHeaders, NetSlice, PacketBuilder,
    PacketHeaders, SlicedPacket, TcpHeader, TcpOptionElement, TcpOptionReadError,
    TcpOptionsIterator, TransportHeader, TransportSlice,
};
use layer4_wire::icmpv4::{Icmpv4ParamProblem, Icmpv4TimeExceeded};
use layer4_wire::icmpv6::{Icmpv6ParamProblem, Icmpv6TimeExceeded};
use layer4_wire::{
    AddrPair, ChecksumMode, Ecn, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Repr,
    Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Repr, IpProtocol, Ipv4Options, Ipv4Packet, Ipv4Repr,
    Ipv6ExtHeader, Ipv6ExtHeaderRepr, Ipv6FragmentHeader as OurFragHeader, Ipv6FragmentRepr,
    Ipv6Repr, SackBlocks, SeqNumber, TcpFlags, TcpOptions, TcpRepr, TcpTimestamp, TfoCookie,
    UdpRepr,
};
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const CASES: u32 = 256;

// =================================================================================
// Shared strategies
// =================================================================================

fn payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

/// Raw IPv4 option bytes: whole words, at most 40 bytes. The bytes are not
/// interpreted by either parser.
fn ipv4_option_bytes() -> impl Strategy<Value = Vec<u8>> {
    (0usize..=10).prop_flat_map(|words| vec(any::<u8>(), words * 4))
}

/// The data of a hop-by-hop or destination-options header (everything after its
/// first two octets, `6 + 8k` bytes): maybe one option of a random type, then
/// Pad1 / PadN to fill, so the TLVs tile the header exactly.
fn tlv_data() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..3,
        prop::option::of((2u8..=255, vec(any::<u8>(), 0..12))),
    )
        .prop_map(|(k, option)| {
            let len = 6 + 8 * k;
            let mut out = Vec::with_capacity(len);
            if let Some((kind, data)) = option {
                if 2 + data.len() <= len {
                    out.push(kind);
                    out.push(data.len() as u8);
                    out.extend(&data);
                }
            }
            match len - out.len() {
                0 => {}
                1 => out.push(0),
                n => {
                    out.push(1);
                    out.push((n - 2) as u8);
                    out.resize(len, 0);
                }
            }
            out
        })
}

/// Routing header data (`6 + 8k` bytes: routing type, segments left, data).
fn routing_data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..3).prop_flat_map(|k| vec(any::<u8>(), 6 + 8 * k))
}

/// Our TCP flags from etherparse's nine booleans, by bit (NS is AE's bit).
fn flags_of(h: &TcpHeader) -> u16 {
    [h.fin, h.syn, h.rst, h.psh, h.ack, h.urg, h.ece, h.cwr, h.ns]
        .iter()
        .enumerate()
        .map(|(i, &b)| u16::from(b) << i)
        .sum()
}

fn set_flags(h: &mut TcpHeader, bits: u16) {
    let bit = |i: u16| bits & (1 << i) != 0;
    h.fin = bit(0);
    h.syn = bit(1);
    h.rst = bit(2);
    h.psh = bit(3);
    h.ack = bit(4);
    h.urg = bit(5);
    h.ece = bit(6);
    h.cwr = bit(7);
    h.ns = bit(8);
}

/// Read TCP options with etherparse's iterator into our value type: the last of a
/// repeated option wins (as in our parser). etherparse does not know Fast Open
/// (kind 34), so it is read here from the bytes etherparse stopped at.
fn etherparse_tcp_options(options: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::new();
    let mut it = TcpOptionsIterator::from_slice(options);
    loop {
        let rest = it.rest();
        match it.next() {
            None => break,
            Some(Ok(TcpOptionElement::Noop)) => {}
            Some(Ok(TcpOptionElement::MaximumSegmentSize(v))) => out.mss = Some(v),
            Some(Ok(TcpOptionElement::WindowScale(v))) => out.window_scale = Some(v),
            Some(Ok(TcpOptionElement::SelectiveAcknowledgementPermitted)) => {
                out.sack_permitted = true
            }
            Some(Ok(TcpOptionElement::SelectiveAcknowledgement(first, more))) => {
                let mut blocks = SackBlocks::new();
                for (l, r) in std::iter::once(first).chain(more.into_iter().flatten()) {
                    assert!(blocks.push((SeqNumber(l), SeqNumber(r))));
                }
                out.sack_ranges = blocks;
            }
            Some(Ok(TcpOptionElement::Timestamp(tsval, tsecr))) => {
                out.timestamp = Some(TcpTimestamp { tsval, tsecr })
            }
            Some(Err(TcpOptionReadError::UnknownId(34))) => {
                let len = usize::from(rest[1]);
                out.fast_open = Some(TfoCookie::new(&rest[2..len]).expect("legal cookie"));
                // Our layout pads a cookie with NOPs only, and Fast Open comes last.
                assert!(rest[len..].iter().all(|&b| b == 1), "{rest:?}");
                break;
            }
            Some(Err(e)) => panic!("etherparse cannot read our options {options:?}: {e:?}"),
        }
    }
    out
}

// =================================================================================
// etherparse → ours
// =================================================================================

#[derive(Debug, Clone)]
struct V4Spec {
    src: [u8; 4],
    dst: [u8; 4],
    ttl: u8,
    ident: u16,
    df: bool,
    dscp: u8,
    ecn: u8,
    options: Vec<u8>,
}

#[derive(Debug, Clone)]
struct V6Spec {
    src: [u8; 16],
    dst: [u8; 16],
    hop_limit: u8,
    dscp: u8,
    ecn: u8,
    flow: u32,
    hop_by_hop: Option<Vec<u8>>,
    dst_opts: Option<Vec<u8>>,
    routing: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// An atomic fragment header with this identification.
    atomic_fragment: Option<u32>,
}

#[derive(Debug, Clone)]
enum NetSpec {
    V4(V4Spec),
    V6(V6Spec),
}

fn v4_spec() -> impl Strategy<Value = V4Spec> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
        0u8..64,
        0u8..4,
        ipv4_option_bytes(),
    )
        .prop_map(|(src, dst, ttl, ident, df, dscp, ecn, options)| V4Spec {
            src,
            dst,
            ttl,
            ident,
            df,
            dscp,
            ecn,
            options,
        })
}

fn v6_spec() -> impl Strategy<Value = V6Spec> {
    (
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            0u8..64,
            0u8..4,
            0u32..=0xf_ffff,
        ),
        (
            prop::option::of(tlv_data()),
            prop::option::of(tlv_data()),
            prop::option::of((routing_data(), prop::option::of(tlv_data()))),
            prop::option::of(any::<u32>()),
        ),
    )
        .prop_map(
            |(
                (src, dst, hop_limit, dscp, ecn, flow),
                (hop_by_hop, dst_opts, routing, atomic_fragment),
            )| V6Spec {
                src,
                dst,
                hop_limit,
                dscp,
                ecn,
                flow,
                hop_by_hop,
                dst_opts,
                routing,
                atomic_fragment,
            },
        )
}

fn net_spec() -> impl Strategy<Value = NetSpec> {
    prop_oneof![
        v4_spec().prop_map(NetSpec::V4),
        v6_spec().prop_map(NetSpec::V6)
    ]
}

fn raw_ext(data: &[u8]) -> Ipv6RawExtHeader {
    // The next header is set by the builder.
    Ipv6RawExtHeader::new_raw(IpNumber(59), data).expect("6 + 8k bytes")
}

fn ipv4_header_of(s: &V4Spec) -> Ipv4Header {
    Ipv4Header {
        dscp: IpDscp::try_new(s.dscp).expect("six bits"),
        ecn: IpEcn::try_new(s.ecn).expect("two bits"),
        identification: s.ident,
        dont_fragment: s.df,
        more_fragments: false,
        fragment_offset: IpFragOffset::ZERO,
        time_to_live: s.ttl,
        source: s.src,
        destination: s.dst,
        options: s.options[..].try_into().expect("whole words"),
        ..Default::default()
    }
}

fn ip_headers_of(spec: &NetSpec) -> IpHeaders {
    match spec {
        NetSpec::V4(s) => IpHeaders::Ipv4(ipv4_header_of(s), Ipv4Extensions::default()),
        NetSpec::V6(s) => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: s.dscp << 2 | s.ecn,
                flow_label: Ipv6FlowLabel::try_new(s.flow).expect("20 bits"),
                hop_limit: s.hop_limit,
                source: s.src,
                destination: s.dst,
                ..Default::default()
            },
            Ipv6Extensions {
                hop_by_hop_options: s.hop_by_hop.as_deref().map(raw_ext),
                destination_options: s.dst_opts.as_deref().map(raw_ext),
                routing: s.routing.as_ref().map(|(r, fin)| Ipv6RoutingExtensions {
                    routing: raw_ext(r),
                    final_destination_options: fin.as_deref().map(raw_ext),
                }),
                fragment: s
                    .atomic_fragment
                    .map(|id| Ipv6FragmentHeader::new(IpNumber(59), IpFragOffset::ZERO, false, id)),
                auth: None,
            },
        ),
    }
}

/// The IP layer we parsed is what etherparse was told to write.
fn assert_net_matches(spec: &NetSpec, view: &IpView<'_>, packet: &[u8], protocol: IpProtocol) {
    match (spec, &view.net) {
        (NetSpec::V4(s), Net::V4(h)) => {
            assert_eq!(h.src_addr, Ipv4Addr::from(s.src));
            assert_eq!(h.dst_addr, Ipv4Addr::from(s.dst));
            assert_eq!(h.ttl, s.ttl);
            assert_eq!(h.ident, s.ident);
            assert_eq!(h.dont_frag, s.df);
            assert!(!h.more_frags);
            assert_eq!(h.frag_offset, 0);
            assert_eq!(h.dscp, s.dscp);
            assert_eq!(h.ecn, Ecn::from_bits(s.ecn));
            assert_eq!(h.options.as_bytes(), &s.options[..]);
            assert_eq!(h.protocol, protocol);
            assert_eq!(h.total_len(), packet.len());
            // The header re-emits byte for byte (checksum included).
            let mut out = vec![0u8; h.buffer_len()];
            h.emit(
                &mut Ipv4Packet::new_unchecked(&mut out[..]),
                ChecksumMode::Enabled,
            );
            assert_eq!(out, packet[..h.buffer_len()]);
        }
        (NetSpec::V6(s), Net::V6(h, upper)) => {
            assert_eq!(h.src_addr, Ipv6Addr::from(s.src));
            assert_eq!(h.dst_addr, Ipv6Addr::from(s.dst));
            assert_eq!(h.hop_limit, s.hop_limit);
            assert_eq!(h.dscp, s.dscp);
            assert_eq!(h.ecn, Ecn::from_bits(s.ecn));
            assert_eq!(h.flow_label, s.flow);
            assert_eq!(h.total_len(), packet.len());
            assert_eq!(upper.end, layer4_wire::ChainEnd::Upper(protocol));

            // etherparse writes hop-by-hop, destination options, routing, fragment,
            // then the final destination options.
            let mut want: Vec<(IpProtocol, Option<&[u8]>)> = Vec::new();
            if let Some(d) = &s.hop_by_hop {
                want.push((IpProtocol::HopByHop, Some(d)));
            }
            if let Some(d) = &s.dst_opts {
                want.push((IpProtocol::Ipv6Opts, Some(d)));
            }
            if let Some((r, _)) = &s.routing {
                want.push((IpProtocol::Ipv6Route, Some(r)));
            }
            if s.atomic_fragment.is_some() {
                want.push((IpProtocol::Ipv6Frag, None));
            }
            if let Some((_, Some(d))) = &s.routing {
                want.push((IpProtocol::Ipv6Opts, Some(d)));
            }
            let payload = &packet[40..];
            let got = upper.headers.as_slice();
            assert_eq!(got.len(), want.len(), "{got:?}");
            for (info, (kind, data)) in got.iter().zip(&want) {
                assert_eq!(info.kind, *kind);
                let bytes = info.bytes(payload).expect("in the payload");
                match data {
                    Some(data) => {
                        let r = Ipv6ExtHeaderRepr::parse(
                            &Ipv6ExtHeader::new_checked(bytes).expect("header"),
                        )
                        .expect("header");
                        assert_eq!(r.data, *data);
                    }
                    None => {
                        let f = Ipv6FragmentRepr::parse(
                            &OurFragHeader::new_checked(bytes).expect("fragment header"),
                        )
                        .expect("fragment header");
                        assert_eq!(Some(f.ident), s.atomic_fragment);
                        assert!(f.is_atomic());
                        assert_eq!(upper.fragment, Some(f));
                    }
                }
            }
        }
        (spec, net) => panic!("family mismatch: {spec:?} vs {net:?}"),
    }
}

#[derive(Debug, Clone)]
struct TcpSpec {
    src: u16,
    dst: u16,
    seq: u32,
    ack: u32,
    flags: u16,
    window: u16,
    urgent: u16,
    options: Vec<TcpOptionElement>,
}

#[derive(Debug, Clone)]
enum TransportSpec {
    Tcp(TcpSpec),
    Udp(u16, u16),
    /// ICMPv4 over IPv4, ICMPv6 over IPv6.
    Icmp(Icmpv4Type, Icmpv6Type),
}

fn option_element() -> impl Strategy<Value = TcpOptionElement> {
    let seq_pair = || (any::<u32>(), any::<u32>());
    prop_oneof![
        Just(TcpOptionElement::Noop),
        any::<u16>().prop_map(TcpOptionElement::MaximumSegmentSize),
        any::<u8>().prop_map(TcpOptionElement::WindowScale),
        Just(TcpOptionElement::SelectiveAcknowledgementPermitted),
        (seq_pair(), vec(seq_pair(), 0..=3)).prop_map(|(first, more)| {
            let mut rest = [None; 3];
            for (slot, block) in rest.iter_mut().zip(more) {
                *slot = Some(block);
            }
            TcpOptionElement::SelectiveAcknowledgement(first, rest)
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| TcpOptionElement::Timestamp(a, b)),
    ]
}

fn element_len(e: &TcpOptionElement) -> usize {
    match e {
        TcpOptionElement::Noop => 1,
        TcpOptionElement::MaximumSegmentSize(_) => 4,
        TcpOptionElement::WindowScale(_) => 3,
        TcpOptionElement::SelectiveAcknowledgementPermitted => 2,
        TcpOptionElement::SelectiveAcknowledgement(_, more) => {
            10 + 8 * more.iter().flatten().count()
        }
        TcpOptionElement::Timestamp(..) => 10,
    }
}

/// Up to 40 bytes of options, in any order, repeats allowed.
fn option_elements() -> impl Strategy<Value = Vec<TcpOptionElement>> {
    vec(option_element(), 0..8).prop_map(|mut elements| {
        while elements.iter().map(element_len).sum::<usize>() > 40 {
            elements.pop();
        }
        elements
    })
}

fn tcp_spec() -> impl Strategy<Value = TcpSpec> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        0u16..0x200,
        any::<u16>(),
        any::<u16>(),
        option_elements(),
    )
        .prop_map(
            |(src, dst, seq, ack, flags, window, urgent, options)| TcpSpec {
                src,
                dst,
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
            },
        )
}

fn icmpv4_type() -> impl Strategy<Value = Icmpv4Type> {
    use icmpv4::DestUnreachableHeader as D;
    use icmpv4::ParameterProblemHeader as P;
    use icmpv4::TimeExceededCode as T;
    let echo = || (any::<u16>(), any::<u16>()).prop_map(|(id, seq)| IcmpEchoHeader { id, seq });
    prop_oneof![
        echo().prop_map(Icmpv4Type::EchoRequest),
        echo().prop_map(Icmpv4Type::EchoReply),
        prop_oneof![
            Just(D::Network),
            Just(D::Host),
            Just(D::Protocol),
            Just(D::Port),
            any::<u16>().prop_map(|next_hop_mtu| D::FragmentationNeeded { next_hop_mtu }),
            Just(D::SourceRouteFailed),
            Just(D::NetworkUnknown),
            Just(D::HostUnknown),
            Just(D::Isolated),
            Just(D::NetworkProhibited),
            Just(D::HostProhibited),
            Just(D::TosNetwork),
            Just(D::TosHost),
            Just(D::FilterProhibited),
            Just(D::HostPrecedenceViolation),
            Just(D::PrecedenceCutoff),
        ]
        .prop_map(Icmpv4Type::DestinationUnreachable),
        prop_oneof![
            Just(T::TtlExceededInTransit),
            Just(T::FragmentReassemblyTimeExceeded)
        ]
        .prop_map(Icmpv4Type::TimeExceeded),
        prop_oneof![
            any::<u8>().prop_map(P::PointerIndicatesError),
            Just(P::MissingRequiredOption),
            Just(P::BadLength),
        ]
        .prop_map(Icmpv4Type::ParameterProblem),
        (
            prop::sample::select(vec![
                0u8, 3, 4, 5, 6, 8, 9, 10, 11, 12, 15, 16, 17, 18, 42, 200, 255
            ]),
            any::<u8>(),
            any::<[u8; 4]>()
        )
            .prop_map(|(type_u8, code_u8, bytes5to8)| Icmpv4Type::Unknown {
                type_u8,
                code_u8,
                bytes5to8
            })
            .prop_filter("a type/code etherparse decodes itself", |t| {
                let Icmpv4Type::Unknown {
                    type_u8, code_u8, ..
                } = *t
                else {
                    return false;
                };
                match type_u8 {
                    0 | 8 => code_u8 != 0,
                    3 => code_u8 > 15,
                    5 => code_u8 > 3,
                    11 => code_u8 > 1,
                    12 => code_u8 > 2,
                    _ => true,
                }
            }),
    ]
}

fn icmpv6_type() -> impl Strategy<Value = Icmpv6Type> {
    use icmpv6::{DestUnreachableCode as D, ParameterProblemCode as P, TimeExceededCode as T};
    let echo = || (any::<u16>(), any::<u16>()).prop_map(|(id, seq)| IcmpEchoHeader { id, seq });
    prop_oneof![
        echo().prop_map(Icmpv6Type::EchoRequest),
        echo().prop_map(Icmpv6Type::EchoReply),
        prop::sample::select(vec![
            D::NoRoute,
            D::Prohibited,
            D::BeyondScope,
            D::Address,
            D::Port,
            D::SourceAddressFailedPolicy,
            D::RejectRoute,
        ])
        .prop_map(Icmpv6Type::DestinationUnreachable),
        any::<u32>().prop_map(|mtu| Icmpv6Type::PacketTooBig { mtu }),
        prop::sample::select(vec![T::HopLimitExceeded, T::FragmentReassemblyTimeExceeded])
            .prop_map(Icmpv6Type::TimeExceeded),
        (
            prop::sample::select(vec![
                P::ErroneousHeaderField,
                P::UnrecognizedNextHeader,
                P::UnrecognizedIpv6Option,
                P::Ipv6FirstFragmentIncompleteHeaderChain,
                P::SrUpperLayerHeaderError,
                P::UnrecognizedNextHeaderByIntermediateNode,
                P::ExtensionHeaderTooBig,
                P::ExtensionHeaderChainTooLong,
                P::TooManyExtensionHeaders,
                P::TooManyOptionsInExtensionHeader,
                P::OptionTooBig,
            ]),
            any::<u32>()
        )
            .prop_map(|(code, pointer)| Icmpv6Type::ParameterProblem(
                icmpv6::ParameterProblemHeader { code, pointer }
            )),
        (
            prop::sample::select(vec![
                0u8, 1, 2, 3, 4, 5, 100, 127, 128, 129, 130, 138, 143, 200, 255
            ]),
            any::<u8>(),
            any::<[u8; 4]>()
        )
            .prop_map(|(type_u8, code_u8, bytes5to8)| Icmpv6Type::Unknown {
                type_u8,
                code_u8,
                bytes5to8
            })
            .prop_filter("a type/code etherparse decodes itself", |t| {
                let Icmpv6Type::Unknown {
                    type_u8, code_u8, ..
                } = *t
                else {
                    return false;
                };
                match type_u8 {
                    1 => code_u8 > 6,
                    2 => code_u8 != 0,
                    3 => code_u8 > 1,
                    4 => code_u8 > 10,
                    128 | 129 => code_u8 != 0,
                    _ => true,
                }
            }),
    ]
}

fn transport_spec() -> impl Strategy<Value = TransportSpec> {
    prop_oneof![
        2 => tcp_spec().prop_map(TransportSpec::Tcp),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(s, d)| TransportSpec::Udp(s, d)),
        2 => (icmpv4_type(), icmpv6_type()).prop_map(|(a, b)| TransportSpec::Icmp(a, b)),
    ]
}

/// Build the packet with etherparse.
fn build_with_etherparse(net: &NetSpec, transport: &TransportSpec, payload: &[u8]) -> Vec<u8> {
    let ip = PacketBuilder::ip(ip_headers_of(net));
    let mut out = Vec::new();
    match (transport, net) {
        (TransportSpec::Tcp(t), _) => {
            let mut h = TcpHeader::new(t.src, t.dst, t.seq, t.window);
            h.acknowledgment_number = t.ack;
            set_flags(&mut h, t.flags);
            h.urgent_pointer = t.urgent;
            h.set_options(&t.options).expect("fits in 40 bytes");
            ip.tcp_header(h).write(&mut out, payload)
        }
        (TransportSpec::Udp(s, d), _) => ip.udp(*s, *d).write(&mut out, payload),
        (TransportSpec::Icmp(t, _), NetSpec::V4(_)) => {
            ip.icmpv4(t.clone()).write(&mut out, payload)
        }
        (TransportSpec::Icmp(_, t), NetSpec::V6(_)) => ip.icmpv6(*t).write(&mut out, payload),
    }
    .expect("etherparse writes the packet");
    out
}

/// What our parser should make of the ICMPv4 message etherparse wrote.
fn expected_icmpv4<'a>(t: &Icmpv4Type, data: &'a [u8]) -> Icmpv4Repr<'a> {
    use icmpv4::DestUnreachableHeader as D;
    use icmpv4::ParameterProblemHeader as P;
    use icmpv4::TimeExceededCode as T;
    match *t {
        Icmpv4Type::EchoRequest(e) => Icmpv4Repr::EchoRequest {
            ident: e.id,
            seq_no: e.seq,
            data,
        },
        Icmpv4Type::EchoReply(e) => Icmpv4Repr::EchoReply {
            ident: e.id,
            seq_no: e.seq,
            data,
        },
        Icmpv4Type::DestinationUnreachable(ref d) => {
            let (reason, next_hop_mtu) = match *d {
                D::Network => (Icmpv4DstUnreachable::NetUnreachable, 0),
                D::Host => (Icmpv4DstUnreachable::HostUnreachable, 0),
                D::Protocol => (Icmpv4DstUnreachable::ProtoUnreachable, 0),
                D::Port => (Icmpv4DstUnreachable::PortUnreachable, 0),
                D::FragmentationNeeded { next_hop_mtu } => {
                    (Icmpv4DstUnreachable::FragRequired, next_hop_mtu)
                }
                D::SourceRouteFailed => (Icmpv4DstUnreachable::SrcRouteFailed, 0),
                D::NetworkUnknown => (Icmpv4DstUnreachable::DstNetUnknown, 0),
                D::HostUnknown => (Icmpv4DstUnreachable::DstHostUnknown, 0),
                D::Isolated => (Icmpv4DstUnreachable::SrcHostIsolated, 0),
                D::NetworkProhibited => (Icmpv4DstUnreachable::NetProhibited, 0),
                D::HostProhibited => (Icmpv4DstUnreachable::HostProhibited, 0),
                D::TosNetwork => (Icmpv4DstUnreachable::NetUnreachToS, 0),
                D::TosHost => (Icmpv4DstUnreachable::HostUnreachToS, 0),
                D::FilterProhibited => (Icmpv4DstUnreachable::CommProhibited, 0),
                D::HostPrecedenceViolation => (Icmpv4DstUnreachable::HostPrecedenceViolation, 0),
                D::PrecedenceCutoff => (Icmpv4DstUnreachable::PrecedenceCutoff, 0),
            };
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                invoking: data,
            }
        }
        Icmpv4Type::TimeExceeded(c) => Icmpv4Repr::TimeExceeded {
            reason: match c {
                T::TtlExceededInTransit => Icmpv4TimeExceeded::TtlExpired,
                T::FragmentReassemblyTimeExceeded => Icmpv4TimeExceeded::FragReassembly,
            },
            invoking: data,
        },
        Icmpv4Type::ParameterProblem(ref p) => {
            let (reason, pointer) = match *p {
                P::PointerIndicatesError(ptr) => (Icmpv4ParamProblem::AtPointer, ptr),
                P::MissingRequiredOption => (Icmpv4ParamProblem::MissingOption, 0),
                P::BadLength => (Icmpv4ParamProblem::BadLength, 0),
            };
            Icmpv4Repr::ParamProblem {
                reason,
                pointer,
                invoking: data,
            }
        }
        Icmpv4Type::Unknown {
            type_u8,
            code_u8,
            bytes5to8,
        } => match type_u8 {
            // A known error type with a code etherparse does not name.
            3 => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::Other(code_u8),
                next_hop_mtu: 0,
                invoking: data,
            },
            11 => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::Other(code_u8),
                invoking: data,
            },
            12 => Icmpv4Repr::ParamProblem {
                reason: Icmpv4ParamProblem::Other(code_u8),
                pointer: bytes5to8[0],
                invoking: data,
            },
            _ => Icmpv4Repr::Other {
                msg_type: Icmpv4Message::from(type_u8),
                msg_code: code_u8,
                rest_of_header: bytes5to8,
                data,
            },
        },
        ref other => panic!("not generated: {other:?}"),
    }
}

/// What our parser should make of the ICMPv6 message etherparse wrote.
fn expected_icmpv6<'a>(t: &Icmpv6Type, data: &'a [u8]) -> Icmpv6Repr<'a> {
    use icmpv6::{DestUnreachableCode as D, TimeExceededCode as T};
    match *t {
        Icmpv6Type::EchoRequest(e) => Icmpv6Repr::EchoRequest {
            ident: e.id,
            seq_no: e.seq,
            data,
        },
        Icmpv6Type::EchoReply(e) => Icmpv6Repr::EchoReply {
            ident: e.id,
            seq_no: e.seq,
            data,
        },
        Icmpv6Type::DestinationUnreachable(c) => Icmpv6Repr::DstUnreachable {
            reason: match c {
                D::NoRoute => Icmpv6DstUnreachable::NoRoute,
                D::Prohibited => Icmpv6DstUnreachable::AdminProhibit,
                D::BeyondScope => Icmpv6DstUnreachable::BeyondScope,
                D::Address => Icmpv6DstUnreachable::AddrUnreachable,
                D::Port => Icmpv6DstUnreachable::PortUnreachable,
                D::SourceAddressFailedPolicy => Icmpv6DstUnreachable::FailedPolicy,
                D::RejectRoute => Icmpv6DstUnreachable::RejectRoute,
            },
            invoking: data,
        },
        Icmpv6Type::PacketTooBig { mtu } => Icmpv6Repr::PacketTooBig {
            mtu,
            invoking: data,
        },
        Icmpv6Type::TimeExceeded(c) => Icmpv6Repr::TimeExceeded {
            reason: match c {
                T::HopLimitExceeded => Icmpv6TimeExceeded::HopLimitExceeded,
                T::FragmentReassemblyTimeExceeded => Icmpv6TimeExceeded::FragReassembly,
            },
            invoking: data,
        },
        Icmpv6Type::ParameterProblem(p) => Icmpv6Repr::ParamProblem {
            // RFC 4443 names codes 0-2, RFC 7112 code 3; later codes are `Other`.
            reason: match p.code as u8 {
                0 => Icmpv6ParamProblem::ErroneousHeaderField,
                1 => Icmpv6ParamProblem::UnrecognizedNextHeader,
                2 => Icmpv6ParamProblem::UnrecognizedOption,
                3 => Icmpv6ParamProblem::IncompleteHeaderChain,
                c => Icmpv6ParamProblem::Other(c),
            },
            pointer: p.pointer,
            invoking: data,
        },
        Icmpv6Type::Unknown {
            type_u8,
            code_u8,
            bytes5to8,
        } => match type_u8 {
            1 => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::Other(code_u8),
                invoking: data,
            },
            // The code of packet too big is ignored on receipt (RFC 4443 3.2).
            2 => Icmpv6Repr::PacketTooBig {
                mtu: u32::from_be_bytes(bytes5to8),
                invoking: data,
            },
            3 => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::Other(code_u8),
                invoking: data,
            },
            4 => Icmpv6Repr::ParamProblem {
                reason: Icmpv6ParamProblem::Other(code_u8),
                pointer: u32::from_be_bytes(bytes5to8),
                invoking: data,
            },
            _ => Icmpv6Repr::Other {
                msg_type: Icmpv6Message::from(type_u8),
                msg_code: code_u8,
                rest_of_header: bytes5to8,
                data,
            },
        },
        ref other => panic!("not generated: {other:?}"),
    }
}

fn check_etherparse_packet(net: &NetSpec, transport: &TransportSpec, payload: &[u8]) {
    let packet = build_with_etherparse(net, transport, payload);
    let view = parse_ip(&packet).expect("our IP parser");
    assert!(!view.fragment);
    let protocol = match (transport, net) {
        (TransportSpec::Tcp(_), _) => IpProtocol::Tcp,
        (TransportSpec::Udp(..), _) => IpProtocol::Udp,
        (TransportSpec::Icmp(..), NetSpec::V4(_)) => IpProtocol::Icmp,
        (TransportSpec::Icmp(..), NetSpec::V6(_)) => IpProtocol::Icmpv6,
    };
    assert_net_matches(net, &view, &packet, protocol);

    // Every checksum verifies in our parser (parse_transport uses Enabled).
    let parsed = parse_transport(&view)
        .expect("a transport we parse")
        .expect("transport parses with its checksum verified");
    match (transport, net, parsed) {
        (TransportSpec::Tcp(t), _, Transport::Tcp(r)) => {
            assert_eq!(r.src_port, t.src);
            assert_eq!(r.dst_port, t.dst);
            assert_eq!(r.seq_number, SeqNumber(t.seq));
            assert_eq!(r.ack_number, SeqNumber(t.ack));
            assert_eq!(r.flags.bits(), t.flags);
            assert_eq!(r.window_len, t.window);
            assert_eq!(r.urgent_pointer, t.urgent);
            let mut options = [0u8; 40];
            let len = {
                let mut h = TcpHeader::default();
                h.set_options(&t.options).expect("fits");
                let bytes = h.options.as_slice();
                options[..bytes.len()].copy_from_slice(bytes);
                bytes.len()
            };
            assert_eq!(r.options, etherparse_tcp_options(&options[..len]));
            assert_eq!(r.payload, payload);
        }
        (TransportSpec::Udp(s, d), _, Transport::Udp(r)) => {
            assert_eq!((r.src_port, r.dst_port), (*s, *d));
            assert_eq!(r.payload, payload);
            assert_eq!(common::udp_bytes(&r, &view.addrs), view.transport);
        }
        // A message re-emits byte for byte unless it had bytes our repr drops: the
        // unused field (or packet-too-big code) of an error with an unnamed code.
        (TransportSpec::Icmp(t, _), NetSpec::V4(_), Transport::Icmpv4(r)) => {
            assert_eq!(r, expected_icmpv4(t, payload));
            if !matches!(t, Icmpv4Type::Unknown { .. }) || matches!(r, Icmpv4Repr::Other { .. }) {
                assert_eq!(common::icmpv4_bytes(&r), view.transport);
            }
        }
        (TransportSpec::Icmp(_, t), NetSpec::V6(_), Transport::Icmpv6(r)) => {
            assert_eq!(r, expected_icmpv6(t, payload));
            if !matches!(t, Icmpv6Type::Unknown { .. }) || matches!(r, Icmpv6Repr::Other { .. }) {
                assert_eq!(common::icmpv6_bytes(&r, &view.addrs), view.transport);
            }
        }
        (t, _, parsed) => panic!("{t:?} parsed as {parsed:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn etherparse_built_packets_parse_to_the_same_fields(
        net in net_spec(),
        transport in transport_spec(),
        payload in payload(),
    ) {
        check_etherparse_packet(&net, &transport, &payload);
    }

    /// IPv4 headers of any protocol and any fragment fields (the transport is not
    /// looked at).
    #[test]
    fn etherparse_ipv4_headers_parse_to_the_same_fields(
        spec in v4_spec(),
        protocol: u8,
        more_frags: bool,
        offset_units in 0u16..=0x1fff,
        payload in payload(),
    ) {
        let mut h = ipv4_header_of(&spec);
        h.more_fragments = more_frags;
        h.fragment_offset = IpFragOffset::try_new(offset_units).expect("13 bits");
        let mut packet = Vec::new();
        PacketBuilder::ip(IpHeaders::Ipv4(h, Ipv4Extensions::default()))
            .write(&mut packet, IpNumber(protocol), &payload)
            .expect("etherparse writes the packet");
        let p = Ipv4Packet::new_checked(&packet[..]).expect("our view");
        let r = Ipv4Repr::parse(&p, ChecksumMode::Enabled).expect("checksum verifies");
        prop_assert_eq!(r.protocol, IpProtocol::from(protocol));
        prop_assert_eq!(r.more_frags, more_frags);
        prop_assert_eq!(r.frag_offset, offset_units * 8);
        prop_assert_eq!(r.ident, spec.ident);
        prop_assert_eq!(r.dont_frag, spec.df);
        prop_assert_eq!(r.ttl, spec.ttl);
        prop_assert_eq!((r.dscp, r.ecn.bits()), (spec.dscp, spec.ecn));
        prop_assert_eq!(r.options.as_bytes(), &spec.options[..]);
        prop_assert_eq!(r.payload_len, payload.len());
        prop_assert_eq!(p.payload(), &payload[..]);
    }
}

// =================================================================================
// ours → etherparse
// =================================================================================

#[derive(Debug, Clone)]
struct OurV6 {
    header: Ipv6Repr,
    hop_by_hop: Option<Vec<u8>>,
    dst_opts: Option<Vec<u8>>,
    atomic_fragment: Option<u32>,
}

#[derive(Debug, Clone)]
enum OurNet {
    V4(Ipv4Repr),
    V6(OurV6),
}

fn our_ipv4() -> impl Strategy<Value = Ipv4Repr> {
    v4_spec().prop_map(|s| Ipv4Repr {
        src_addr: s.src.into(),
        dst_addr: s.dst.into(),
        protocol: IpProtocol::Tcp, // set per packet
        payload_len: 0,
        ttl: s.ttl,
        dscp: s.dscp,
        ecn: Ecn::from_bits(s.ecn),
        ident: s.ident,
        dont_frag: s.df,
        more_frags: false,
        frag_offset: 0,
        options: Ipv4Options::new(&s.options).expect("whole words"),
    })
}

fn our_ipv6() -> impl Strategy<Value = OurV6> {
    v6_spec().prop_map(|s| OurV6 {
        header: Ipv6Repr {
            src_addr: s.src.into(),
            dst_addr: s.dst.into(),
            next_header: IpProtocol::Tcp, // set per packet
            payload_len: 0,
            hop_limit: s.hop_limit,
            dscp: s.dscp,
            ecn: Ecn::from_bits(s.ecn),
            flow_label: s.flow,
        },
        hop_by_hop: s.hop_by_hop,
        dst_opts: s.dst_opts,
        atomic_fragment: s.atomic_fragment,
    })
}

fn our_net() -> impl Strategy<Value = OurNet> {
    prop_oneof![
        our_ipv4().prop_map(OurNet::V4),
        our_ipv6().prop_map(OurNet::V6)
    ]
}

impl OurNet {
    fn addrs(&self) -> AddrPair {
        match self {
            OurNet::V4(h) => AddrPair::V4 {
                src: h.src_addr,
                dst: h.dst_addr,
            },
            OurNet::V6(v) => AddrPair::V6 {
                src: v.header.src_addr,
                dst: v.header.dst_addr,
            },
        }
    }

    /// The whole packet around `transport` (of `protocol`), emitted with our reprs.
    fn packet(&self, protocol: IpProtocol, transport: &[u8]) -> Vec<u8> {
        match self {
            OurNet::V4(h) => common::ipv4_packet(&Ipv4Repr { protocol, ..*h }, transport),
            OurNet::V6(v) => {
                // Headers in order, each with its own kind and bytes.
                let mut chain: Vec<(IpProtocol, Vec<u8>)> = Vec::new();
                for (kind, data) in [
                    (IpProtocol::HopByHop, &v.hop_by_hop),
                    (IpProtocol::Ipv6Opts, &v.dst_opts),
                ] {
                    if let Some(data) = data {
                        chain.push((kind, data.clone()));
                    }
                }
                if let Some(ident) = v.atomic_fragment {
                    chain.push((IpProtocol::Ipv6Frag, ident.to_be_bytes().to_vec()));
                }
                let mut payload = Vec::new();
                for (i, (kind, data)) in chain.iter().enumerate() {
                    let next = chain.get(i + 1).map_or(protocol, |(k, _)| *k);
                    if *kind == IpProtocol::Ipv6Frag {
                        let repr = Ipv6FragmentRepr {
                            next_header: next,
                            frag_offset: 0,
                            more_frags: false,
                            ident: u32::from_be_bytes(data[..].try_into().expect("4 bytes")),
                        };
                        let mut buf = [0u8; 8];
                        repr.emit(&mut OurFragHeader::new_unchecked(&mut buf[..]));
                        payload.extend(buf);
                    } else {
                        let repr = Ipv6ExtHeaderRepr {
                            next_header: next,
                            data,
                        };
                        let mut buf = vec![0u8; repr.buffer_len()];
                        repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[..]));
                        payload.extend(buf);
                    }
                }
                let first = chain.first().map_or(protocol, |(k, _)| *k);
                payload.extend(transport);
                common::ipv6_packet(
                    &Ipv6Repr {
                        next_header: first,
                        ..v.header
                    },
                    &payload,
                )
            }
        }
    }
}

fn our_tcp_options() -> impl Strategy<Value = TcpOptions> {
    let seq_pair = || (any::<u32>(), any::<u32>()).prop_map(|(l, r)| (SeqNumber(l), SeqNumber(r)));
    (
        prop::option::of(any::<u16>()),
        prop::option::of(any::<u8>()),
        any::<bool>(),
        vec(seq_pair(), 0..=4),
        prop::option::of((any::<u32>(), any::<u32>())),
        prop::option::of(
            prop_oneof![Just(0usize), (2usize..=8).prop_map(|n| 2 * n)]
                .prop_flat_map(|len| vec(any::<u8>(), len)),
        ),
    )
        .prop_map(
            |(mss, window_scale, sack_permitted, sack, ts, tfo)| TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                sack_ranges: SackBlocks::from_slice(&sack).expect("at most four"),
                timestamp: ts.map(|(tsval, tsecr)| TcpTimestamp { tsval, tsecr }),
                fast_open: tfo.map(|c| TfoCookie::new(&c).expect("legal length")),
            },
        )
}

#[derive(Debug, Clone)]
struct OurTcp {
    src: u16,
    dst: u16,
    seq: u32,
    ack: u32,
    flags: u16,
    window: u16,
    urgent: u16,
    options: TcpOptions,
}

impl OurTcp {
    fn repr<'a>(&self, payload: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: self.src,
            dst_port: self.dst,
            seq_number: SeqNumber(self.seq),
            ack_number: SeqNumber(self.ack),
            flags: TcpFlags::from_bits_truncate(self.flags),
            window_len: self.window,
            urgent_pointer: self.urgent,
            options: self.options,
            payload,
        }
    }
}

fn our_tcp() -> impl Strategy<Value = OurTcp> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        0u16..0x200,
        any::<u16>(),
        any::<u16>(),
        our_tcp_options(),
    )
        .prop_map(
            |(src, dst, seq, ack, flags, window, urgent, options)| OurTcp {
                src,
                dst,
                seq,
                ack,
                flags,
                window,
                urgent,
                options,
            },
        )
}

/// An ICMPv4 message without its data. Fields the message does not carry are zero,
/// as a parse would leave them.
#[derive(Debug, Clone, Copy)]
enum OurIcmpv4 {
    EchoRequest(u16, u16),
    EchoReply(u16, u16),
    DstUnreachable(u8, u16),
    TimeExceeded(u8),
    ParamProblem(u8, u8),
    Other(u8, u8, [u8; 4]),
}

impl OurIcmpv4 {
    fn repr(self, data: &[u8]) -> Icmpv4Repr<'_> {
        match self {
            OurIcmpv4::EchoRequest(ident, seq_no) => Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            OurIcmpv4::EchoReply(ident, seq_no) => Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
            OurIcmpv4::DstUnreachable(code, mtu) => Icmpv4Repr::DstUnreachable {
                reason: code.into(),
                next_hop_mtu: if code == 4 { mtu } else { 0 },
                invoking: data,
            },
            OurIcmpv4::TimeExceeded(code) => Icmpv4Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            OurIcmpv4::ParamProblem(code, pointer) => Icmpv4Repr::ParamProblem {
                reason: code.into(),
                pointer,
                invoking: data,
            },
            OurIcmpv4::Other(t, code, rest) => Icmpv4Repr::Other {
                msg_type: t.into(),
                msg_code: code,
                rest_of_header: rest,
                data,
            },
        }
    }
}

fn our_icmpv4() -> impl Strategy<Value = OurIcmpv4> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(i, s)| OurIcmpv4::EchoRequest(i, s)),
        (any::<u16>(), any::<u16>()).prop_map(|(i, s)| OurIcmpv4::EchoReply(i, s)),
        (prop_oneof![0u8..16, any::<u8>()], any::<u16>())
            .prop_map(|(c, m)| OurIcmpv4::DstUnreachable(c, m)),
        prop_oneof![0u8..2, any::<u8>()].prop_map(OurIcmpv4::TimeExceeded),
        // etherparse keeps the pointer of code 0 only; other codes send it as zero.
        prop_oneof![
            any::<u8>().prop_map(|p| OurIcmpv4::ParamProblem(0, p)),
            (1u8..=255).prop_map(|c| OurIcmpv4::ParamProblem(c, 0)),
        ],
        // Types with no variant of their own (timestamps excluded: etherparse wants
        // their fixed length).
        (
            prop::sample::select(vec![4u8, 5, 6, 9, 10, 15, 16, 17, 18, 42, 200, 255]),
            any::<u8>(),
            any::<[u8; 4]>()
        )
            .prop_map(|(t, c, r)| OurIcmpv4::Other(t, c, r)),
    ]
}

#[derive(Debug, Clone, Copy)]
enum OurIcmpv6 {
    EchoRequest(u16, u16),
    EchoReply(u16, u16),
    DstUnreachable(u8),
    PacketTooBig(u32),
    TimeExceeded(u8),
    ParamProblem(u8, u32),
    Other(u8, u8, [u8; 4]),
}

impl OurIcmpv6 {
    fn repr(self, data: &[u8]) -> Icmpv6Repr<'_> {
        match self {
            OurIcmpv6::EchoRequest(ident, seq_no) => Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            OurIcmpv6::EchoReply(ident, seq_no) => Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
            OurIcmpv6::DstUnreachable(code) => Icmpv6Repr::DstUnreachable {
                reason: code.into(),
                invoking: data,
            },
            OurIcmpv6::PacketTooBig(mtu) => Icmpv6Repr::PacketTooBig {
                mtu,
                invoking: data,
            },
            OurIcmpv6::TimeExceeded(code) => Icmpv6Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            OurIcmpv6::ParamProblem(code, pointer) => Icmpv6Repr::ParamProblem {
                reason: code.into(),
                pointer,
                invoking: data,
            },
            OurIcmpv6::Other(t, code, rest) => Icmpv6Repr::Other {
                msg_type: t.into(),
                msg_code: code,
                rest_of_header: rest,
                data,
            },
        }
    }
}

fn our_icmpv6() -> impl Strategy<Value = OurIcmpv6> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(i, s)| OurIcmpv6::EchoRequest(i, s)),
        (any::<u16>(), any::<u16>()).prop_map(|(i, s)| OurIcmpv6::EchoReply(i, s)),
        prop_oneof![0u8..7, any::<u8>()].prop_map(OurIcmpv6::DstUnreachable),
        any::<u32>().prop_map(OurIcmpv6::PacketTooBig),
        prop_oneof![0u8..2, any::<u8>()].prop_map(OurIcmpv6::TimeExceeded),
        (prop_oneof![0u8..11, any::<u8>()], any::<u32>())
            .prop_map(|(c, p)| OurIcmpv6::ParamProblem(c, p)),
        // Types with no variant of their own; neighbour discovery (133-137) excluded,
        // as etherparse assumes their reserved bytes are zero.
        (
            prop::sample::select(vec![0u8, 5, 100, 127, 130, 131, 132, 138, 143, 200, 255]),
            any::<u8>(),
            any::<[u8; 4]>()
        )
            .prop_map(|(t, c, r)| OurIcmpv6::Other(t, c, r)),
    ]
}

#[derive(Debug, Clone)]
enum OurTransport {
    Tcp(OurTcp),
    Udp(u16, u16),
    /// ICMPv4 over IPv4, ICMPv6 over IPv6.
    Icmp(OurIcmpv4, OurIcmpv6),
}

fn our_transport() -> impl Strategy<Value = OurTransport> {
    prop_oneof![
        2 => our_tcp().prop_map(OurTransport::Tcp),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(s, d)| OurTransport::Udp(s, d)),
        2 => (our_icmpv4(), our_icmpv6()).prop_map(|(a, b)| OurTransport::Icmp(a, b)),
    ]
}

/// The ICMPv4 type etherparse should decode from what we emitted.
fn expected_etherparse_icmpv4(r: &Icmpv4Repr<'_>) -> Icmpv4Type {
    use icmpv4::DestUnreachableHeader as D;
    use icmpv4::ParameterProblemHeader as P;
    use icmpv4::RedirectCode as R;
    use icmpv4::TimeExceededCode as T;
    let unknown = |type_u8: u8, code_u8: u8, bytes5to8: [u8; 4]| Icmpv4Type::Unknown {
        type_u8,
        code_u8,
        bytes5to8,
    };
    match *r {
        Icmpv4Repr::EchoRequest { ident, seq_no, .. } => Icmpv4Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv4Repr::EchoReply { ident, seq_no, .. } => Icmpv4Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            ..
        } => Icmpv4Type::DestinationUnreachable(match u8::from(reason) {
            0 => D::Network,
            1 => D::Host,
            2 => D::Protocol,
            3 => D::Port,
            4 => D::FragmentationNeeded { next_hop_mtu },
            5 => D::SourceRouteFailed,
            6 => D::NetworkUnknown,
            7 => D::HostUnknown,
            8 => D::Isolated,
            9 => D::NetworkProhibited,
            10 => D::HostProhibited,
            11 => D::TosNetwork,
            12 => D::TosHost,
            13 => D::FilterProhibited,
            14 => D::HostPrecedenceViolation,
            15 => D::PrecedenceCutoff,
            c => return unknown(3, c, [0; 4]),
        }),
        Icmpv4Repr::TimeExceeded { reason, .. } => match u8::from(reason) {
            0 => Icmpv4Type::TimeExceeded(T::TtlExceededInTransit),
            1 => Icmpv4Type::TimeExceeded(T::FragmentReassemblyTimeExceeded),
            c => unknown(11, c, [0; 4]),
        },
        Icmpv4Repr::ParamProblem {
            reason, pointer, ..
        } => match u8::from(reason) {
            0 => Icmpv4Type::ParameterProblem(P::PointerIndicatesError(pointer)),
            1 => Icmpv4Type::ParameterProblem(P::MissingRequiredOption),
            2 => Icmpv4Type::ParameterProblem(P::BadLength),
            c => unknown(12, c, [pointer, 0, 0, 0]),
        },
        Icmpv4Repr::Other {
            msg_type,
            msg_code,
            rest_of_header,
            ..
        } => {
            let t = u8::from(msg_type);
            let code = match (t, msg_code) {
                (5, 0) => Some(R::RedirectForNetwork),
                (5, 1) => Some(R::RedirectForHost),
                (5, 2) => Some(R::RedirectForTypeOfServiceAndNetwork),
                (5, 3) => Some(R::RedirectForTypeOfServiceAndHost),
                _ => None,
            };
            match code {
                Some(code) => Icmpv4Type::Redirect(icmpv4::RedirectHeader {
                    code,
                    gateway_internet_address: rest_of_header,
                }),
                None => unknown(t, msg_code, rest_of_header),
            }
        }
    }
}

/// The ICMPv6 type etherparse should decode from what we emitted.
fn expected_etherparse_icmpv6(r: &Icmpv6Repr<'_>) -> Icmpv6Type {
    use icmpv6::{DestUnreachableCode as D, ParameterProblemCode as P, TimeExceededCode as T};
    let unknown = |type_u8: u8, code_u8: u8, bytes5to8: [u8; 4]| Icmpv6Type::Unknown {
        type_u8,
        code_u8,
        bytes5to8,
    };
    match *r {
        Icmpv6Repr::EchoRequest { ident, seq_no, .. } => Icmpv6Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv6Repr::EchoReply { ident, seq_no, .. } => Icmpv6Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv6Repr::DstUnreachable { reason, .. } => {
            Icmpv6Type::DestinationUnreachable(match u8::from(reason) {
                0 => D::NoRoute,
                1 => D::Prohibited,
                2 => D::BeyondScope,
                3 => D::Address,
                4 => D::Port,
                5 => D::SourceAddressFailedPolicy,
                6 => D::RejectRoute,
                c => return unknown(1, c, [0; 4]),
            })
        }
        Icmpv6Repr::PacketTooBig { mtu, .. } => Icmpv6Type::PacketTooBig { mtu },
        Icmpv6Repr::TimeExceeded { reason, .. } => match u8::from(reason) {
            0 => Icmpv6Type::TimeExceeded(T::HopLimitExceeded),
            1 => Icmpv6Type::TimeExceeded(T::FragmentReassemblyTimeExceeded),
            c => unknown(3, c, [0; 4]),
        },
        Icmpv6Repr::ParamProblem {
            reason, pointer, ..
        } => {
            let code = match u8::from(reason) {
                0 => P::ErroneousHeaderField,
                1 => P::UnrecognizedNextHeader,
                2 => P::UnrecognizedIpv6Option,
                3 => P::Ipv6FirstFragmentIncompleteHeaderChain,
                4 => P::SrUpperLayerHeaderError,
                5 => P::UnrecognizedNextHeaderByIntermediateNode,
                6 => P::ExtensionHeaderTooBig,
                7 => P::ExtensionHeaderChainTooLong,
                8 => P::TooManyExtensionHeaders,
                9 => P::TooManyOptionsInExtensionHeader,
                10 => P::OptionTooBig,
                c => return unknown(4, c, pointer.to_be_bytes()),
            };
            Icmpv6Type::ParameterProblem(icmpv6::ParameterProblemHeader { code, pointer })
        }
        Icmpv6Repr::Other {
            msg_type,
            msg_code,
            rest_of_header,
            ..
        } => unknown(u8::from(msg_type), msg_code, rest_of_header),
    }
}

fn check_our_packet(net: &OurNet, transport: &OurTransport, payload: &[u8]) {
    let addrs = net.addrs();
    let (protocol, bytes) = match (transport, net) {
        (OurTransport::Tcp(t), _) => (IpProtocol::Tcp, common::tcp_bytes(&t.repr(payload), &addrs)),
        (OurTransport::Udp(s, d), _) => {
            let r = UdpRepr {
                src_port: *s,
                dst_port: *d,
                payload,
            };
            (IpProtocol::Udp, common::udp_bytes(&r, &addrs))
        }
        (OurTransport::Icmp(m, _), OurNet::V4(_)) => {
            (IpProtocol::Icmp, common::icmpv4_bytes(&m.repr(payload)))
        }
        (OurTransport::Icmp(_, m), OurNet::V6(_)) => (
            IpProtocol::Icmpv6,
            common::icmpv6_bytes(&m.repr(payload), &addrs),
        ),
    };
    let packet = net.packet(protocol, &bytes);

    // --- SlicedPacket: the zero-copy view ------------------------------------
    let sliced = SlicedPacket::from_ip(&packet).expect("etherparse slices our packet");
    match (net, &sliced.net) {
        (OurNet::V4(h), Some(NetSlice::Ipv4(s))) => {
            let sh = s.header();
            assert_eq!(sh.source_addr(), h.src_addr);
            assert_eq!(sh.destination_addr(), h.dst_addr);
            assert_eq!(sh.ttl(), h.ttl);
            assert_eq!(sh.identification(), h.ident);
            assert_eq!(sh.dont_fragment(), h.dont_frag);
            assert!(!sh.more_fragments());
            assert_eq!(sh.fragments_offset().value(), 0);
            assert_eq!(sh.dcp().value(), h.dscp);
            assert_eq!(sh.ecn().value(), h.ecn.bits());
            assert_eq!(sh.options(), h.options.as_bytes());
            assert_eq!(sh.protocol(), IpNumber(protocol.into()));
            assert_eq!(usize::from(sh.total_len()), packet.len());
            // etherparse computes the header checksum we wrote.
            assert_eq!(sh.to_header().calc_header_checksum(), sh.header_checksum());
        }
        (OurNet::V6(v), Some(NetSlice::Ipv6(s))) => {
            let sh = s.header();
            let h = v.header;
            assert_eq!(sh.source_addr(), h.src_addr);
            assert_eq!(sh.destination_addr(), h.dst_addr);
            assert_eq!(sh.hop_limit(), h.hop_limit);
            assert_eq!(sh.dscp().value(), h.dscp);
            assert_eq!(sh.ecn().value(), h.ecn.bits());
            assert_eq!(sh.flow_label().value(), h.flow_label);
            assert_eq!(usize::from(sh.payload_length()) + 40, packet.len());
            assert!(!s.is_payload_fragmented());
        }
        (net, got) => panic!("{net:?} sliced as {got:?}"),
    }
    match (transport, &sliced.transport) {
        (OurTransport::Tcp(t), Some(TransportSlice::Tcp(s))) => {
            let r = t.repr(payload);
            assert_eq!(s.source_port(), r.src_port);
            assert_eq!(s.destination_port(), r.dst_port);
            assert_eq!(s.sequence_number(), r.seq_number.0);
            assert_eq!(s.acknowledgment_number(), r.ack_number.0);
            assert_eq!(flags_of(&s.to_header()), r.flags.bits());
            assert_eq!(s.window_size(), r.window_len);
            assert_eq!(s.urgent_pointer(), r.urgent_pointer);
            assert_eq!(usize::from(s.data_offset()) * 4, r.header_len());
            let mut want = r.options;
            want.sack_ranges.truncate(want.sack_blocks_emitted());
            assert_eq!(etherparse_tcp_options(s.options()), want);
            assert_eq!(s.payload(), payload);
            let sum = match addrs {
                AddrPair::V4 { src, dst } => s.calc_checksum_ipv4(src.octets(), dst.octets()),
                AddrPair::V6 { src, dst } => s.calc_checksum_ipv6(src.octets(), dst.octets()),
            }
            .expect("length fits");
            assert_eq!(sum, s.checksum(), "etherparse's TCP checksum");
        }
        (OurTransport::Udp(sp, dp), Some(TransportSlice::Udp(s))) => {
            assert_eq!((s.source_port(), s.destination_port()), (*sp, *dp));
            assert_eq!(usize::from(s.length()), 8 + payload.len());
            assert_eq!(s.payload(), payload);
        }
        (OurTransport::Icmp(..), Some(TransportSlice::Icmpv4(s))) => {
            assert_eq!(s.payload(), payload);
            assert_eq!(s.slice(), &bytes[..]);
            assert_eq!(s.type_u8(), bytes[0]);
            assert_eq!(s.code_u8(), bytes[1]);
        }
        (OurTransport::Icmp(..), Some(TransportSlice::Icmpv6(s))) => {
            assert_eq!(s.payload(), payload);
            let AddrPair::V6 { src, dst } = addrs else {
                panic!("ICMPv6 over IPv4")
            };
            assert!(s.is_checksum_valid(src.octets(), dst.octets()));
        }
        (t, got) => panic!("{t:?} sliced as {got:?}"),
    }

    // --- PacketHeaders: owned headers and checksum calculations ---------------
    let headers = PacketHeaders::from_ip_slice(&packet).expect("etherparse reads our packet");
    assert_eq!(headers.payload.slice(), payload);
    if let (OurNet::V6(v), Some(NetHeaders::Ipv6(_, exts))) = (net, &headers.net) {
        assert_eq!(
            exts.hop_by_hop_options.as_ref().map(|h| h.payload()),
            v.hop_by_hop.as_deref()
        );
        assert_eq!(
            exts.destination_options.as_ref().map(|h| h.payload()),
            v.dst_opts.as_deref()
        );
        assert!(exts.routing.is_none());
        assert_eq!(
            exts.fragment.as_ref().map(|f| (
                f.identification,
                f.fragment_offset.value(),
                f.more_fragments
            )),
            v.atomic_fragment.map(|id| (id, 0, false))
        );
    }
    match (&headers.net, &headers.transport, transport) {
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Udp(u)), _) => {
            assert_eq!(u.calc_checksum_ipv4(ip, payload).expect("fits"), u.checksum);
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Udp(u)), _) => {
            assert_eq!(u.calc_checksum_ipv6(ip, payload).expect("fits"), u.checksum);
        }
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Tcp(t)), _) => {
            assert_eq!(t.calc_checksum_ipv4(ip, payload).expect("fits"), t.checksum);
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Tcp(t)), _) => {
            assert_eq!(t.calc_checksum_ipv6(ip, payload).expect("fits"), t.checksum);
        }
        (_, Some(TransportHeader::Icmpv4(i)), OurTransport::Icmp(m, _)) => {
            assert_eq!(i.icmp_type, expected_etherparse_icmpv4(&m.repr(payload)));
            assert_eq!(i.icmp_type.calc_checksum(payload), i.checksum);
        }
        (
            Some(NetHeaders::Ipv6(ip, _)),
            Some(TransportHeader::Icmpv6(i)),
            OurTransport::Icmp(_, m),
        ) => {
            assert_eq!(i.icmp_type, expected_etherparse_icmpv6(&m.repr(payload)));
            let sum = i
                .icmp_type
                .calc_checksum(ip.source, ip.destination, payload)
                .expect("fits");
            assert_eq!(sum, i.checksum);
        }
        (net, t, _) => panic!("unexpected headers {net:?} / {t:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn etherparse_reads_our_packets_and_agrees_on_checksums(
        net in our_net(),
        transport in our_transport(),
        payload in payload(),
    ) {
        check_our_packet(&net, &transport, &payload);
    }

    /// IPv4 headers of any protocol and any fragment fields.
    #[test]
    fn etherparse_reads_our_ipv4_headers(
        header in our_ipv4(),
        protocol: u8,
        more_frags: bool,
        offset_units in 0u16..=0x1fff,
        payload in payload(),
    ) {
        let header = Ipv4Repr {
            protocol: IpProtocol::from(protocol),
            more_frags,
            frag_offset: offset_units * 8,
            ..header
        };
        let packet = common::ipv4_packet(&header, &payload);
        let (h, rest) = Ipv4Header::from_slice(&packet).expect("etherparse reads the header");
        prop_assert_eq!(h.protocol, IpNumber(protocol));
        prop_assert_eq!(h.more_fragments, more_frags);
        prop_assert_eq!(h.fragment_offset.value(), offset_units);
        prop_assert_eq!(h.identification, header.ident);
        prop_assert_eq!(h.dont_fragment, header.dont_frag);
        prop_assert_eq!(h.time_to_live, header.ttl);
        prop_assert_eq!(h.options.as_slice(), header.options.as_bytes());
        prop_assert_eq!(h.calc_header_checksum(), h.header_checksum);
        prop_assert_eq!(&rest[..payload.len()], &payload[..]);
    }
}
