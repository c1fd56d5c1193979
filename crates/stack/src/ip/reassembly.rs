//! IPv4 and IPv6 fragment reassembly, bounded in memory, datagrams and time.
//!
//! The stack hands every received IP packet that might be a fragment to
//! [`Reassembler::handle_ipv4`] or [`Reassembler::handle_ipv6`], which answers with a
//! [`Reassembled`]: not a fragment (process the packet as it is), held (wait for the
//! rest), complete (a new buffer holding the whole packet, with a valid header), or
//! dropped (with a [`DropReason`]).
//!
//! # Rules
//!
//! - Fragments belong together when they share (source, destination, protocol,
//!   identification) for IPv4 (RFC 791 section 3.2) and (source, destination,
//!   identification) for IPv6 (RFC 8200 section 4.5; the Next Header of later
//!   fragments may differ and only the first fragment's is used).
//! - Overlapping fragments discard the whole datagram, silently, for IPv6 (RFC 5722
//!   section 4, as amended by erratum 3089, and RFC 8200 section 4.5) and, as Linux
//!   has done since 2018 (4.19, "ip: discard IPv4 datagrams with overlapping
//!   segments"), for IPv4 as well. An exact duplicate (same offset, same bytes) is
//!   tolerated and ignored. After a discard, the datagram's key stays known until its
//!   timeout, and further fragments of it are dropped too
//!   ([`DropReason::Discarded`]), as the original text of RFC 5722 asked ("including
//!   those not yet received").
//! - A last fragment that disagrees with the length already known, or a fragment
//!   reaching past the known end, discards the datagram ([`DropReason::Inconsistent`]).
//! - A datagram longer than 65,535 bytes (IPv4 total length; IPv6 payload length) is
//!   refused ([`DropReason::TooLong`]).
//! - Every fragment but the last carries a multiple of 8 bytes
//!   ([`DropReason::BadLength`]); empty fragments are refused.
//! - An IPv6 atomic fragment (offset 0, M clear) is a whole packet (RFC 6946,
//!   RFC 8200 section 4.5): it comes back at once as [`Reassembled::Complete`], with its
//!   fragment header removed, and never touches a reassembly in progress.
//! - ECN codepoints of the fragments are combined as RFC 3168 section 5.3 asks and
//!   Linux's `ip_frag_ecn_table` does: CE on any fragment makes the packet CE; a mix of
//!   Not-ECT and ECT/CE discards it ([`DropReason::EcnMismatch`]).
//!
//! # Bounds
//!
//! - Memory: at most [`ReassemblyConfig::max_bytes`] held, counted as each stored
//!   fragment's data plus [`FRAGMENT_OVERHEAD`] plus the first fragment's header. When
//!   a new fragment would pass the bound, other reassemblies are evicted (each
//!   counted in `reasm_fails`; which ones: see the shares below); if that is not
//!   enough the fragment's own datagram is dropped ([`DropReason::MemoryLimit`]).
//!   The bound is never exceeded.
//! - Datagrams: at most [`ReassemblyConfig::max_datagrams`] reassemblies (and
//!   discarded keys) at once; a new one evicts another (see the shares).
//! - Shares: when a bound bites, a sender (an IPv4 source; an IPv6 source's /64,
//!   since a host may use any address of its /64) that would hold more than half
//!   of it makes room from its own datagrams, oldest first; any other sender's
//!   fragment takes room from the one sender holding more than half, if there is
//!   one; otherwise the oldest datagram goes. So a fast sender of incomplete
//!   datagrams can fill room nobody else uses, but no longer evicts a slower
//!   sender's datagram to hold more than half of either bound. A new reassembly
//!   that a later fragment (offset above 0) of a sender over half would start
//!   is refused rather than evicting the sender's oldest: it may be the rest of
//!   a datagram just evicted, and each such rest evicting the sender's next
//!   datagram in progress left none of them to complete. The price: a busy
//!   honest sender holding more than half loses its oldest datagram to any
//!   other sender's arrival, spoofed or not, where the oldest of all (another
//!   sender's stale one) went before the shares. Spoofed sources
//!   (each holding little) are not held back by this: against them only the
//!   bounds and the timeout help, as on Linux, which keeps no per-source share
//!   at all (a memory threshold per network namespace; new reassemblies are
//!   refused above it), and FreeBSD, whose limits are global, per datagram
//!   (`maxfragsperpacket`) and per bucket of a keyed hash of (source,
//!   destination, identification) (`maxfragbucketsize`), not per source.
//!   Cost: one map update per fragment and per datagram (`BTreeMap`,
//!   O(log n)), and a sender's oldest found through an index by sender.
//! - Time: a reassembly is abandoned [`ReassemblyConfig::timeout_v4`] or
//!   [`ReassemblyConfig::timeout_v6`] after its first fragment arrived. If the
//!   fragment with offset 0 had arrived, a [`TimeExceeded`] (the first fragment, to
//!   quote in an ICMP Time Exceeded, code 1) is queued for
//!   [`Reassembler::poll_time_exceeded`], at most [`MAX_TIME_EXCEEDED`] at a time.
//!
//! # Driving it
//!
//! Call [`Reassembler::handle_timeout`] when [`Reassembler::poll_timeout`] says, then
//! drain [`Reassembler::poll_time_exceeded`]. `handle_ipv4`/`handle_ipv6` also expire
//! what is due at their `now` first, so a late timer call never lets a stale
//! reassembly complete.
//!
//! The IPv4 header checksum is not verified here: the stack has validated the packet
//! before asking. Per-fragment IPv6 extension headers (those before the fragment
//! header) are the stack's to process; only the first fragment's are kept.
//!
//! # Cost
//!
//! Reassemblies live in a `BTreeMap` keyed by the addresses and identification
//! (O(log n), no hashing of attacker-chosen keys, deterministic), each holding its
//! fragments in a `BTreeMap` by offset: inserting a fragment is O(log f) with an
//! overlap check against its two neighbours. Completing copies each byte once.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::{BTreeMap, VecDeque};

use crate::time::{Duration, Instant};
use crate::wire::ipv6::fragment::{self as v6frag, Ipv6FragmentHeader};
use crate::wire::{
    walk_chain, Ecn, Error as WireError, IpProtocol, Ipv4Packet, Ipv6ExtHeader, Ipv6FragmentRepr,
    Ipv6Packet, MAX_EXT_HEADERS,
};

/// Bytes charged against [`ReassemblyConfig::max_bytes`] for each stored fragment on
/// top of its data, so that many tiny fragments cannot hold much more memory than
/// the bound says.
pub const FRAGMENT_OVERHEAD: usize = 64;

/// The most [`TimeExceeded`] notices queued; more are not kept (ICMP errors are rate
/// limited anyway).
pub const MAX_TIME_EXCEEDED: usize = 16;

/// The most bytes of an IPv4 first fragment a [`TimeExceeded`] quotes: 576 (RFC 1812
/// section 4.3.2.3) minus the IPv4 and ICMP headers of the error.
pub const QUOTE_LIMIT_V4: usize = 576 - 20 - 8;

/// The most bytes of an IPv6 first fragment a [`TimeExceeded`] quotes: the minimum
/// IPv6 MTU minus the IPv6 and ICMPv6 headers of the error.
//= https://www.rfc-editor.org/rfc/rfc4443#section-2.4
//# (c) Every ICMPv6 error message (type < 128) MUST include as much of
//#     the IPv6 offending (invoking) packet (the packet that caused the
//#     error) as possible without making the error message packet exceed
//#     the minimum IPv6 MTU [IPv6].
pub const QUOTE_LIMIT_V6: usize = 1280 - 40 - 8;

/// The largest IPv4 datagram (total length) and IPv6 payload.
const MAX_LEN: usize = 65535;

/// How much reassembly may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// The most bytes held across all reassemblies (see [`FRAGMENT_OVERHEAD`]).
    /// Default 4 MiB, Linux's `net.ipv4.ipfrag_high_thresh`.
    pub max_bytes: usize,
    /// How long an IPv4 reassembly may wait for its missing fragments, from its
    /// first fragment. Default 30 s, Linux's `net.ipv4.ipfrag_time`.
    pub timeout_v4: Duration,
    /// How long an IPv6 reassembly may wait. Default 60 s (RFC 8200 section 4.5).
    pub timeout_v6: Duration,
    /// The most reassemblies in progress at once (discarded datagrams remembered
    /// until their timeout included). Default 1024.
    pub max_datagrams: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> ReassemblyConfig {
        ReassemblyConfig {
            max_bytes: 4 * 1024 * 1024,
            timeout_v4: Duration::from_secs(30),
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# If insufficient fragments are received to complete reassembly
            //# of a packet within 60 seconds of the reception of the first-
            //# arriving fragment of that packet, reassembly of that packet
            //# must be abandoned and all the fragments that have been
            //# received for that packet must be discarded.
            timeout_v6: Duration::from_secs(60),
            max_datagrams: 1024,
        }
    }
}

/// What became of a packet handed to the [`Reassembler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassembled {
    /// Not a fragment: process the packet as it is.
    NotFragment,
    /// A fragment, kept until the rest arrives (or an exact duplicate of one already
    /// kept). Nothing to do.
    Held,
    /// The whole packet, in a new buffer, with a valid header: IPv4 with MF and offset
    /// cleared and total length and checksum recomputed; IPv6 with the fragment header
    /// removed, the preceding Next Header fixed and the payload length recomputed.
    Complete(Vec<u8>),
    /// The packet was dropped.
    Dropped(DropReason),
}

/// Why a fragment was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The packet's IP header (or, for IPv6, an extension header before the fragment
    /// header, or the fragment header itself) does not parse.
    Malformed(WireError),
    /// A fragment other than the last whose data is not a multiple of 8 bytes (for
    /// IPv6, RFC 8200 asks for an ICMPv6 Parameter Problem, code 0, pointing to the
    /// Payload Length field).
    BadLength,
    /// A fragment with no data.
    Empty,
    /// The fragment would make the datagram longer than 65,535 bytes (for IPv6,
    /// RFC 8200 asks for a Parameter Problem, code 0, pointing to the Fragment
    /// Offset field).
    TooLong,
    /// An IPv6 first fragment that does not hold the whole extension-header chain
    /// (RFC 8200 section 4.5 and RFC 7112 ask for a Parameter Problem, code 3).
    IncompleteHeaderChain,
    /// The fragment overlaps another: the whole datagram was discarded, silently.
    Overlap,
    /// The fragment disagrees with the datagram's known length: the datagram was
    /// discarded.
    Inconsistent,
    /// The fragment belongs to a datagram already discarded.
    Discarded,
    /// There is no room for the fragment within the memory bound: its datagram was
    /// discarded.
    MemoryLimit,
    /// Not-ECT and ECN-capable fragments were mixed: the datagram was discarded.
    EcnMismatch,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Malformed(e) => write!(f, "malformed fragment: {e}"),
            DropReason::BadLength => f.write_str("non-last fragment not a multiple of 8 bytes"),
            DropReason::Empty => f.write_str("empty fragment"),
            DropReason::TooLong => f.write_str("reassembled datagram would exceed 65535 bytes"),
            DropReason::IncompleteHeaderChain => {
                f.write_str("first fragment does not hold the whole header chain")
            }
            DropReason::Overlap => f.write_str("overlapping fragment, datagram discarded"),
            DropReason::Inconsistent => f.write_str("inconsistent fragment length"),
            DropReason::Discarded => f.write_str("fragment of a discarded datagram"),
            DropReason::MemoryLimit => f.write_str("reassembly memory limit reached"),
            DropReason::EcnMismatch => f.write_str("fragments mix Not-ECT and ECT"),
        }
    }
}

/// Reassembly counters for one IP version, named after Linux's `netstat -s`
/// (`ReasmReqds`, `ReasmOKs`, `ReasmFails`, `ReasmTimeout`, `ReasmOverlaps`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Fragments received that needed reassembly (atomic IPv6 fragments included).
    pub reasm_reqds: u64,
    /// Datagrams reassembled (atomic IPv6 fragments included).
    pub reasm_oks: u64,
    /// Failures: datagrams discarded (overlap, inconsistency, ECN mismatch, memory or
    /// datagram bound, timeout) and single fragments refused (bad length, empty, too
    /// long, incomplete header chain).
    pub reasm_fails: u64,
    /// Datagrams abandoned at their timeout (also counted in `reasm_fails`).
    pub reasm_timeout: u64,
    /// Datagrams discarded for overlapping fragments (also counted in
    /// `reasm_fails`).
    pub reasm_overlaps: u64,
}

/// A reassembly abandoned at its timeout after its first fragment had arrived: the
/// stack may send an ICMP (or ICMPv6) Time Exceeded, code 1, "fragment reassembly
/// time exceeded", to `src`, quoting `quote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeExceeded {
    /// The source of the fragments.
    pub src: IpAddr,
    /// The start of the first fragment as it arrived (header included), at most
    /// [`QUOTE_LIMIT_V4`] or [`QUOTE_LIMIT_V6`] bytes.
    pub quote: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    V4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        ident: u16,
    },
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        ident: u32,
    },
}

impl Key {
    fn is_v4(&self) -> bool {
        matches!(self, Key::V4 { .. })
    }

    fn src(&self) -> IpAddr {
        match *self {
            Key::V4 { src, .. } => IpAddr::V4(src),
            Key::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// Who a share is counted for: the IPv4 source, or the IPv6 source's /64 (a
    /// host's addresses usually lie in one /64, any of which it may use).
    fn sender(&self) -> IpAddr {
        match *self {
            Key::V4 { src, .. } => IpAddr::V4(src),
            Key::V6 { src, .. } => {
                IpAddr::V6(Ipv6Addr::from(u128::from(src) & !u128::from(u64::MAX)))
            }
        }
    }
}

/// What one sender ([`Key::sender`]) holds.
#[derive(Debug, Default, Clone, Copy)]
struct Share {
    datagrams: usize,
    bytes: usize,
}

/// What the first fragment (offset 0) contributes besides its data.
#[derive(Debug)]
struct First {
    /// The fragment's headers as they arrived: for IPv4 the IP header with options;
    /// for IPv6 everything up to and including the fragment header.
    header: Vec<u8>,
    /// IPv6: where the fragment header starts in `header`.
    frag_at: usize,
    /// IPv6: where the Next Header byte that named the fragment header is.
    prev_nh: usize,
    /// IPv6: the fragment header's Next Header.
    next_header: u8,
}

#[derive(Debug, Default)]
struct Live {
    /// Fragment data by offset; no two overlap.
    frags: BTreeMap<usize, Vec<u8>>,
    /// Sum of the stored data lengths.
    data_len: usize,
    /// The end of the data, once the last fragment arrived.
    total: Option<usize>,
    /// The furthest end seen.
    max_end: usize,
    first: Option<First>,
    /// One bit per ECN codepoint seen.
    ecn: u8,
    /// Bytes charged against the memory bound.
    charged: usize,
}

#[derive(Debug)]
struct Datagram {
    created: Instant,
    seq: u64,
    /// `None` once discarded: the key is remembered until its timeout.
    live: Option<Live>,
}

/// One fragment, parsed, borrowing the packet.
struct Fragment<'a> {
    offset: usize,
    data: &'a [u8],
    more: bool,
    ecn: Ecn,
    /// The header to keep when this is the first fragment.
    first: Option<(&'a [u8], usize, usize, u8)>,
}

/// Bounded IPv4 and IPv6 fragment reassembly. See the [module docs](self).
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    datagrams: BTreeMap<Key, Datagram>,
    /// Per family, by (created, seq): the expiry order, since each family has one
    /// timeout.
    order_v4: BTreeMap<(Instant, u64), Key>,
    order_v6: BTreeMap<(Instant, u64), Key>,
    next_seq: u64,
    held: usize,
    /// What each sender holding a datagram (or a discarded key) holds.
    shares: BTreeMap<IpAddr, Share>,
    /// Every datagram by (sender, created, seq): a sender's oldest first.
    by_sender: BTreeMap<(IpAddr, Instant, u64), Key>,
    /// The sender holding more than half the datagram bound, if one does.
    heavy_datagrams: Option<IpAddr>,
    /// The sender holding more than half the memory bound, if one does.
    heavy_bytes: Option<IpAddr>,
    time_exceeded: VecDeque<TimeExceeded>,
    stats_v4: ReassemblyStats,
    stats_v6: ReassemblyStats,
}

impl Reassembler {
    /// A reassembler with the given bounds.
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler {
            config,
            datagrams: BTreeMap::new(),
            order_v4: BTreeMap::new(),
            order_v6: BTreeMap::new(),
            next_seq: 0,
            held: 0,
            shares: BTreeMap::new(),
            by_sender: BTreeMap::new(),
            heavy_datagrams: None,
            heavy_bytes: None,
            time_exceeded: VecDeque::new(),
            stats_v4: ReassemblyStats::default(),
            stats_v6: ReassemblyStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    /// IPv4 counters.
    pub fn stats_v4(&self) -> &ReassemblyStats {
        &self.stats_v4
    }

    /// IPv6 counters.
    pub fn stats_v6(&self) -> &ReassemblyStats {
        &self.stats_v6
    }

    /// Bytes held, as counted against [`ReassemblyConfig::max_bytes`].
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Reassemblies in progress (discarded datagrams still remembered included).
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    /// Whether [`poll_timeout`](Self::poll_timeout) has a deadline to give
    /// (a reassembly or a remembered datagram).
    pub(crate) fn has_deadline(&self) -> bool {
        !self.order_v4.is_empty() || !self.order_v6.is_empty()
    }

    /// Whether nothing is being reassembled or remembered.
    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    fn stats_mut(&mut self, v4: bool) -> &mut ReassemblyStats {
        if v4 {
            &mut self.stats_v4
        } else {
            &mut self.stats_v6
        }
    }

    fn timeout(&self, v4: bool) -> Duration {
        if v4 {
            self.config.timeout_v4
        } else {
            self.config.timeout_v6
        }
    }

    /// Handle a received IPv4 packet, `packet` starting at the IP header (bytes past
    /// the total length, link padding, are ignored).
    pub fn handle_ipv4(&mut self, now: Instant, packet: &[u8]) -> Reassembled {
        self.handle_timeout(now);
        let p = match Ipv4Packet::new_checked(packet) {
            Ok(p) => p,
            Err(e) => return Reassembled::Dropped(DropReason::Malformed(e)),
        };
        if !p.more_frags() && p.frag_offset() == 0 {
            return Reassembled::NotFragment;
        }
        self.stats_v4.reasm_reqds += 1;
        let header_len = p.header_len();
        let data = p.payload();
        let offset = usize::from(p.frag_offset());
        if let Some(reason) = check_fragment(offset, data.len(), p.more_frags(), header_len) {
            self.stats_v4.reasm_fails += 1;
            return Reassembled::Dropped(reason);
        }
        let key = Key::V4 {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol().into(),
            ident: p.ident(),
        };
        let first = packet.get(..header_len).filter(|_| offset == 0);
        let fragment = Fragment {
            offset,
            data,
            more: p.more_frags(),
            ecn: p.ecn(),
            first: first.map(|h| (h, 0, 0, 0)),
        };
        self.insert(now, key, fragment)
    }

    /// Handle a received IPv6 packet, `packet` starting at the IPv6 header (bytes past
    /// the payload length are ignored). A packet is a fragment when a fragment header
    /// follows the fixed header and any hop-by-hop, routing or destination-options
    /// headers before it.
    pub fn handle_ipv6(&mut self, now: Instant, packet: &[u8]) -> Reassembled {
        self.handle_timeout(now);
        let p = match Ipv6Packet::new_checked(packet) {
            Ok(p) => p,
            Err(e) => return Reassembled::Dropped(DropReason::Malformed(e)),
        };
        let payload = p.payload();
        let (frag_at, prev_nh) = match find_fragment_header(p.next_header(), payload) {
            Ok(Some(found)) => found,
            Ok(None) => return Reassembled::NotFragment,
            Err(e) => return Reassembled::Dropped(DropReason::Malformed(e)),
        };
        let rest = payload.get(frag_at..).unwrap_or_default();
        let repr =
            match Ipv6FragmentHeader::new_checked(rest).and_then(|h| Ipv6FragmentRepr::parse(&h)) {
                Ok(r) => r,
                Err(e) => return Reassembled::Dropped(DropReason::Malformed(e)),
            };
        let data = rest.get(v6frag::HEADER_LEN..).unwrap_or_default();
        let header_end = HEADER_LEN_V6 + frag_at + v6frag::HEADER_LEN;
        self.stats_v6.reasm_reqds += 1;
        //= https://www.rfc-editor.org/rfc/rfc6946#section-4
        //# A host that receives an IPv6 packet that includes a Fragment
        //# Header with the "Fragment Offset" equal to 0 and the "M" flag equal
        //# to 0 MUST process that packet in isolation from any other packets/
        //# fragments, even if such packets/fragments contain the same set
        //# {IPv6 Source Address, IPv6 Destination Address, Fragment
        //# Identification}.
        if repr.is_atomic() {
            let Some(header) = packet.get(..header_end) else {
                return Reassembled::Dropped(DropReason::Malformed(WireError::Truncated));
            };
            let out = build_v6(header, frag_at, prev_nh, repr.next_header.into(), [data]);
            self.stats_v6.reasm_oks += 1;
            return Reassembled::Complete(out);
        }
        let offset = usize::from(repr.frag_offset);
        if let Some(reason) = check_fragment(offset, data.len(), repr.more_frags, frag_at) {
            self.stats_v6.reasm_fails += 1;
            return Reassembled::Dropped(reason);
        }
        let mut first = None;
        if offset == 0 {
            //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
            //# If the first fragment does not include all headers through an
            //# Upper-Layer header, then that fragment should be discarded and
            //# an ICMP Parameter Problem, Code 3, message should be sent to
            //# the source of the fragment, with the Pointer field set to zero.
            if let Err(WireError::Truncated) = walk_chain(repr.next_header, data) {
                self.stats_v6.reasm_fails += 1;
                return Reassembled::Dropped(DropReason::IncompleteHeaderChain);
            }
            first = packet
                .get(..header_end)
                .map(|h| (h, frag_at, prev_nh, repr.next_header.into()));
        }
        let key = Key::V6 {
            src: p.src_addr(),
            dst: p.dst_addr(),
            ident: repr.ident,
        };
        let fragment = Fragment {
            offset,
            data,
            more: repr.more_frags,
            ecn: p.ecn(),
            first,
        };
        self.insert(now, key, fragment)
    }

    fn insert(&mut self, now: Instant, key: Key, frag: Fragment<'_>) -> Reassembled {
        let v4 = key.is_v4();
        if !self.datagrams.contains_key(&key) {
            if self.config.max_datagrams == 0 {
                self.stats_mut(v4).reasm_fails += 1;
                return Reassembled::Dropped(DropReason::MemoryLimit);
            }
            if self.datagrams.len() >= self.config.max_datagrams
                && frag.offset > 0
                && self.over_half(key, None, 0)
            {
                // A later fragment of a sender over half: see `over_half`.
                self.stats_mut(v4).reasm_fails += 1;
                return Reassembled::Dropped(DropReason::MemoryLimit);
            }
            while self.datagrams.len() >= self.config.max_datagrams {
                let Some(victim) = self.victim(key, None, 0) else {
                    break;
                };
                self.evict(victim);
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.datagrams.insert(
                key,
                Datagram {
                    created: now,
                    seq,
                    live: Some(Live::default()),
                },
            );
            self.order_mut(v4).insert((now, seq), key);
            self.by_sender.insert((key.sender(), now, seq), key);
            self.change_share(key, |s| s.datagrams += 1);
        }
        let Some(live) = self.datagrams.get(&key).and_then(|d| d.live.as_ref()) else {
            return Reassembled::Dropped(DropReason::Discarded);
        };
        let end = frag.offset + frag.data.len();

        // Overlaps and exact duplicates, against the two neighbours.
        //= https://www.rfc-editor.org/rfc/rfc5722#section-4
        //# When reassembling an IPv6 datagram, if
        //# one or more its constituent fragments is determined to be an
        //# overlapping fragment, the entire datagram (and any constituent
        //# fragments) MUST be silently discarded.
        //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
        //# It should be noted that fragments may be duplicated in the
        //# network.  Instead of treating these exact duplicate fragments
        //# as overlapping fragments, an implementation may choose to
        //# detect this case and drop exact duplicate fragments while
        //# keeping the other fragments belonging to the same packet.
        if let Some((&prev_off, prev)) = live.frags.range(..=frag.offset).next_back() {
            if prev_off == frag.offset && prev.as_slice() == frag.data {
                return Reassembled::Held;
            }
            if prev_off + prev.len() > frag.offset {
                self.stats_mut(v4).reasm_overlaps += 1;
                return self.discard(key, DropReason::Overlap);
            }
        }
        if let Some((&next_off, _)) = live.frags.range(frag.offset + 1..).next() {
            if next_off < end {
                self.stats_mut(v4).reasm_overlaps += 1;
                return self.discard(key, DropReason::Overlap);
            }
        }

        // The length the last fragment fixes.
        let total = if frag.more {
            match live.total {
                Some(t) if end > t => return self.discard(key, DropReason::Inconsistent),
                t => t,
            }
        } else {
            match live.total {
                Some(t) if t != end => return self.discard(key, DropReason::Inconsistent),
                _ if end < live.max_end => return self.discard(key, DropReason::Inconsistent),
                _ => Some(end),
            }
        };

        // Memory: make room, oldest other reassemblies first.
        let header_charge = frag.first.map_or(0, |(h, ..)| h.len());
        let charge = frag.data.len() + FRAGMENT_OVERHEAD + header_charge;
        if self.held + charge > self.config.max_bytes
            && frag.offset > 0
            && !self.holds_bytes(&key)
            && self.over_half(key, Some(key), charge)
        {
            // A later fragment of a sender over half: see `over_half`. The key
            // stays, discarded, so that the datagram's other fragments are
            // dropped at once.
            return self.discard(key, DropReason::MemoryLimit);
        }
        while self.held + charge > self.config.max_bytes {
            match self.victim(key, Some(key), charge) {
                Some(victim) => self.evict(victim),
                None => {
                    return self.discard(key, DropReason::MemoryLimit);
                }
            }
        }

        if self.datagrams.get(&key).is_none_or(|d| d.live.is_none()) {
            return Reassembled::Dropped(DropReason::Discarded);
        }
        self.held += charge;
        self.change_share(key, |s| s.bytes += charge);
        let Some(live) = self.datagrams.get_mut(&key).and_then(|d| d.live.as_mut()) else {
            return Reassembled::Dropped(DropReason::Discarded);
        };
        live.charged += charge;
        live.frags.insert(frag.offset, frag.data.to_vec());
        live.data_len += frag.data.len();
        live.max_end = live.max_end.max(end);
        live.total = total;
        live.ecn |= 1 << frag.ecn.bits();
        if let Some((header, frag_at, prev_nh, next_header)) = frag.first {
            live.first = Some(First {
                header: header.to_vec(),
                frag_at,
                prev_nh,
                next_header,
            });
        }
        match (live.total, &live.first) {
            (Some(t), Some(_)) if live.data_len == t => self.complete(key),
            _ => Reassembled::Held,
        }
    }

    /// Build the packet of a datagram whose fragments cover `0..total` and remove it.
    fn complete(&mut self, key: Key) -> Reassembled {
        let v4 = key.is_v4();
        let Some(live) = self.remove(key).and_then(|d| d.live) else {
            return Reassembled::Dropped(DropReason::Discarded);
        };
        self.uncharge(key, live.charged);
        let Some(first) = live.first else {
            return Reassembled::Dropped(DropReason::Discarded);
        };
        let ce = match ecn_combine(live.ecn) {
            Some(ce) => ce,
            None => {
                self.stats_mut(v4).reasm_fails += 1;
                return Reassembled::Dropped(DropReason::EcnMismatch);
            }
        };
        let unfragmentable = if v4 {
            first.header.len()
        } else {
            first.frag_at
        };
        if unfragmentable + live.data_len > MAX_LEN {
            self.stats_mut(v4).reasm_fails += 1;
            return Reassembled::Dropped(DropReason::TooLong);
        }
        let data = live.frags.values().map(Vec::as_slice);
        let out = if v4 {
            build_v4(&first.header, data, live.data_len, ce)
        } else {
            let mut out = build_v6(
                &first.header,
                first.frag_at,
                first.prev_nh,
                first.next_header,
                data,
            );
            if ce {
                Ipv6Packet::new_unchecked(&mut out[..]).set_ecn(Ecn::Ce);
            }
            out
        };
        self.stats_mut(v4).reasm_oks += 1;
        Reassembled::Complete(out)
    }

    /// Give up on `key`'s datagram, remembering the key until its timeout so later
    /// fragments of it are dropped too.
    fn discard(&mut self, key: Key, reason: DropReason) -> Reassembled {
        if let Some(live) = self.datagrams.get_mut(&key).and_then(|d| d.live.take()) {
            self.uncharge(key, live.charged);
            self.stats_mut(key.is_v4()).reasm_fails += 1;
        }
        Reassembled::Dropped(reason)
    }

    /// Forget `key` entirely, counting a failure if it was still live.
    fn evict(&mut self, key: Key) {
        if let Some(live) = self.remove(key).and_then(|d| d.live) {
            self.uncharge(key, live.charged);
            self.stats_mut(key.is_v4()).reasm_fails += 1;
        }
    }

    fn remove(&mut self, key: Key) -> Option<Datagram> {
        let d = self.datagrams.remove(&key)?;
        self.order_mut(key.is_v4()).remove(&(d.created, d.seq));
        self.by_sender.remove(&(key.sender(), d.created, d.seq));
        self.change_share(key, |s| s.datagrams -= 1);
        Some(d)
    }

    /// `charged` bytes of `key`'s datagram are no longer held.
    fn uncharge(&mut self, key: Key, charged: usize) {
        self.held -= charged;
        self.change_share(key, |s| s.bytes -= charged);
    }

    /// Changes the share of `key`'s sender, forgetting it once it holds nothing,
    /// and notes whether it now holds more than half of either bound (at most
    /// one sender can).
    fn change_share(&mut self, key: Key, change: impl FnOnce(&mut Share)) {
        let sender = key.sender();
        let share = self.shares.entry(sender).or_default();
        change(share);
        let share = *share;
        if share.datagrams == 0 && share.bytes == 0 {
            self.shares.remove(&sender);
        }
        let heavy = |over: bool, slot: &mut Option<IpAddr>| {
            if over {
                *slot = Some(sender);
            } else if *slot == Some(sender) {
                *slot = None;
            }
        };
        heavy(
            share.datagrams * 2 > self.config.max_datagrams,
            &mut self.heavy_datagrams,
        );
        heavy(
            share.bytes * 2 > self.config.max_bytes,
            &mut self.heavy_bytes,
        );
    }

    /// The datagram to evict so that `key`'s datagram gets room: at the datagram
    /// bound (`except` `None`) for one more datagram, at the memory bound (`except`
    /// the datagram itself, only datagrams holding bytes) for `charge` more bytes.
    ///
    /// A sender that would then hold more than half the bound pays from its own
    /// datagrams; another sender's arrival takes from the one holding more than
    /// half, if any; otherwise (or when the chosen sender has nothing else to
    /// give) the oldest datagram goes. So a fast sender of incomplete datagrams
    /// may fill what nobody else uses, but never evicts a slower sender's
    /// datagram to hold more than half of either bound.
    fn victim(&self, key: Key, except: Option<Key>, charge: usize) -> Option<Key> {
        let memory = except.is_some();
        let heavy = if memory {
            self.heavy_bytes
        } else {
            self.heavy_datagrams
        };
        let payer = if self.over_half(key, except, charge) {
            Some(key.sender())
        } else {
            heavy
        };
        payer
            .and_then(|p| self.oldest_of(p, except, memory))
            .or_else(|| self.oldest(except, memory))
    }

    /// Whether `key`'s sender would hold more than half of the bound that
    /// bites ([`victim`](Self::victim)'s `except` and `charge`) once `key`'s
    /// datagram has its room.
    ///
    /// Such a sender's new datagram makes room from the sender's own, oldest
    /// first, except one that a later fragment (offset above 0) starts: that
    /// one is refused instead. It may be what is left of a datagram just
    /// evicted, which can never complete; taking room for it would evict the
    /// sender's next datagram, whose later fragments would do the same, until
    /// none of the sender's datagrams in progress completes. A datagram whose
    /// first fragment does not come first is refused too, where the sender's
    /// oldest would have gone for it.
    fn over_half(&self, key: Key, except: Option<Key>, charge: usize) -> bool {
        let memory = except.is_some();
        let (own, bound) = match self.shares.get(&key.sender()) {
            Some(share) if memory => (share.bytes + charge, self.config.max_bytes),
            Some(share) => (share.datagrams + 1, self.config.max_datagrams),
            None if memory => (charge, self.config.max_bytes),
            None => (1, self.config.max_datagrams),
        };
        own * 2 > bound
    }

    /// The oldest datagram of `sender` other than `except`; with `holding`, only
    /// one that holds bytes.
    fn oldest_of(&self, sender: IpAddr, except: Option<Key>, holding: bool) -> Option<Key> {
        self.by_sender
            .range((sender, Instant::ZERO, 0)..)
            .take_while(|((s, _, _), _)| *s == sender)
            .map(|(_, k)| *k)
            .filter(|k| Some(*k) != except)
            .find(|k| !holding || self.holds_bytes(k))
    }

    fn holds_bytes(&self, key: &Key) -> bool {
        self.datagrams
            .get(key)
            .is_some_and(|d| d.live.as_ref().is_some_and(|l| l.charged > 0))
    }

    fn order_mut(&mut self, v4: bool) -> &mut BTreeMap<(Instant, u64), Key> {
        if v4 {
            &mut self.order_v4
        } else {
            &mut self.order_v6
        }
    }

    /// The oldest datagram other than `except`; with `holding`, only one that holds
    /// bytes.
    fn oldest(&self, except: Option<Key>, holding: bool) -> Option<Key> {
        let candidates = |order: &BTreeMap<(Instant, u64), Key>| {
            order
                .iter()
                .filter(|(_, k)| Some(**k) != except)
                .find(|(_, k)| {
                    !holding
                        || self
                            .datagrams
                            .get(k)
                            .is_some_and(|d| d.live.as_ref().is_some_and(|l| l.charged > 0))
                })
                .map(|(age, k)| (*age, *k))
        };
        match (candidates(&self.order_v4), candidates(&self.order_v6)) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a.1 } else { b.1 }),
            (a, b) => a.or(b).map(|(_, k)| k),
        }
    }

    /// Test-only: the shares add up to what is held, and the sender over half
    /// of a bound, if any, is the one noted.
    #[cfg(test)]
    fn check_shares(&self) {
        let bytes: usize = self.shares.values().map(|s| s.bytes).sum();
        let datagrams: usize = self.shares.values().map(|s| s.datagrams).sum();
        assert_eq!(bytes, self.held);
        assert_eq!(datagrams, self.datagrams.len());
        assert_eq!(self.by_sender.len(), self.datagrams.len());
        let over = |f: fn(&Share) -> usize, bound: usize| {
            self.shares
                .iter()
                .find(|(_, s)| f(s) * 2 > bound)
                .map(|(a, _)| *a)
        };
        assert_eq!(
            over(|s| s.datagrams, self.config.max_datagrams),
            self.heavy_datagrams
        );
        assert_eq!(over(|s| s.bytes, self.config.max_bytes), self.heavy_bytes);
    }

    /// Abandon the reassemblies whose time is up. For each one whose first fragment
    /// had arrived, a [`TimeExceeded`] is queued (up to [`MAX_TIME_EXCEEDED`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        for v4 in [true, false] {
            let timeout = self.timeout(v4);
            loop {
                let order = if v4 { &self.order_v4 } else { &self.order_v6 };
                let Some((&(created, _), &key)) = order.first_key_value() else {
                    break;
                };
                if created + timeout > now {
                    break;
                }
                let Some(live) = self.remove(key).and_then(|d| d.live) else {
                    continue;
                };
                self.uncharge(key, live.charged);
                let stats = self.stats_mut(v4);
                stats.reasm_fails += 1;
                stats.reasm_timeout += 1;
                //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
                //# If the first fragment (i.e., the one
                //# with a Fragment Offset of zero) has been received, an ICMP
                //# Time Exceeded -- Fragment Reassembly Time Exceeded message
                //# should be sent to the source of that fragment.
                //= https://www.rfc-editor.org/rfc/rfc1122#section-3.3.2
                //# If the reassembly timeout expires, the partially-reassembled
                //# datagram MUST be discarded and an ICMP Time Exceeded message
                //# sent to the source host (if fragment zero has been
                //# received).
                if let (Some(first), Some(data)) = (live.first, live.frags.get(&0)) {
                    if self.time_exceeded.len() < MAX_TIME_EXCEEDED {
                        let limit = if v4 { QUOTE_LIMIT_V4 } else { QUOTE_LIMIT_V6 };
                        let mut quote = first.header;
                        quote.truncate(limit);
                        let room = limit - quote.len();
                        quote.extend_from_slice(&data[..data.len().min(room)]);
                        self.time_exceeded.push_back(TimeExceeded {
                            src: key.src(),
                            quote,
                        });
                    }
                }
            }
        }
    }

    /// When [`Reassembler::handle_timeout`] next has something to do, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.has_deadline() {
            return None;
        }
        let v4 = self
            .order_v4
            .first_key_value()
            .map(|(&(created, _), _)| created + self.config.timeout_v4);
        let v6 = self
            .order_v6
            .first_key_value()
            .map(|(&(created, _), _)| created + self.config.timeout_v6);
        match (v4, v6) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next abandoned reassembly to report with an ICMP Time Exceeded, oldest
    /// first.
    pub fn poll_time_exceeded(&mut self) -> Option<TimeExceeded> {
        self.time_exceeded.pop_front()
    }
}

const HEADER_LEN_V6: usize = crate::wire::ipv6::HEADER_LEN;

/// Per-fragment checks that need no state. `unfragmentable` is the length before the
/// fragment's data that the reassembled datagram carries too (IPv4 header; IPv6
/// per-fragment extension headers).
fn check_fragment(
    offset: usize,
    len: usize,
    more: bool,
    unfragmentable: usize,
) -> Option<DropReason> {
    if len == 0 {
        return Some(DropReason::Empty);
    }
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# If the length of a fragment, as derived from the fragment packet's
    //# Payload Length field, is not a multiple of 8 octets and the M flag
    //# of that fragment is 1, then that fragment must be discarded and an
    //# ICMP Parameter Problem, Code 0, message should be sent to the
    //# source of the fragment, pointing to the Payload Length field of
    //# the fragment packet.
    if more && len % 8 != 0 {
        return Some(DropReason::BadLength);
    }
    //= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    //# If the length and offset of a fragment are such that the Payload
    //# Length of the packet reassembled from that fragment would exceed
    //# 65,535 octets, then that fragment must be discarded and an ICMP
    //# Parameter Problem, Code 0, message should be sent to the source of
    //# the fragment, pointing to the Fragment Offset field of the
    //# fragment packet.
    if unfragmentable + offset + len > MAX_LEN {
        return Some(DropReason::TooLong);
    }
    None
}

/// Find the fragment header among the per-fragment headers at the start of an IPv6
/// payload: `(its offset in the payload, where in the packet the Next Header byte that
/// names it is)`, or `None` if the chain reaches something else first.
fn find_fragment_header(
    first: IpProtocol,
    payload: &[u8],
) -> Result<Option<(usize, usize)>, WireError> {
    let mut next = first;
    let mut offset = 0;
    // The fixed header's Next Header byte.
    let mut prev_nh = 6;
    for _ in 0..=MAX_EXT_HEADERS {
        match next {
            IpProtocol::Ipv6Frag => return Ok(Some((offset, prev_nh))),
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let rest = payload.get(offset..).ok_or(WireError::Truncated)?;
                let header = Ipv6ExtHeader::new_checked(rest)?;
                prev_nh = HEADER_LEN_V6 + offset;
                next = header.next_header();
                offset += header.header_len();
            }
            _ => return Ok(None),
        }
    }
    Err(WireError::ChainTooLong)
}

/// `Some(set CE)` for a valid mix of ECN codepoints (bit `1 << codepoint` each),
/// `None` for Not-ECT mixed with ECT or CE.
//= https://www.rfc-editor.org/rfc/rfc3168#section-5.3
// A CE mark on any fragment must survive reassembly; fragments of one datagram that
// disagree on ECN capability (Not-ECT beside ECT/CE) are not a valid datagram. This is
// Linux's `ip_frag_ecn_table`.
fn ecn_combine(seen: u8) -> Option<bool> {
    let not_ect = seen & (1 << Ecn::NotEct.bits()) != 0;
    let ce = seen & (1 << Ecn::Ce.bits()) != 0;
    let ect = seen & ((1 << Ecn::Ect0.bits()) | (1 << Ecn::Ect1.bits())) != 0;
    if not_ect && (ce || ect) {
        None
    } else {
        Some(ce)
    }
}

/// The IPv4 datagram: the first fragment's header, then the data.
fn build_v4<'a>(
    header: &[u8],
    data: impl Iterator<Item = &'a [u8]>,
    data_len: usize,
    ce: bool,
) -> Vec<u8> {
    let total = header.len() + data_len;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(header);
    data.for_each(|d| out.extend_from_slice(d));
    let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
    // `total` was checked against 65535 by the caller.
    p.set_total_len(u16::try_from(total).unwrap_or(u16::MAX));
    p.set_more_frags(false);
    p.set_frag_offset(0);
    if ce {
        p.set_ecn(Ecn::Ce);
    }
    p.fill_checksum();
    out
}

/// The IPv6 packet: the first fragment's per-fragment headers with the Next Header
/// that named the fragment header set to the fragment header's, then the data.
//= https://www.rfc-editor.org/rfc/rfc8200#section-4.5
//# The Next Header field of the last header of the Per-Fragment
//# headers is obtained from the Next Header field of the first
//# fragment's Fragment header.
fn build_v6<'a>(
    header: &[u8],
    frag_at: usize,
    prev_nh: usize,
    next_header: u8,
    data: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let per_fragment = &header[..(HEADER_LEN_V6 + frag_at).min(header.len())];
    let mut out = per_fragment.to_vec();
    data.into_iter().for_each(|d| out.extend_from_slice(d));
    if let Some(b) = out.get_mut(prev_nh) {
        *b = next_header;
    }
    let payload_len = out.len().saturating_sub(HEADER_LEN_V6);
    // The caller checked the payload length against 65535.
    Ipv6Packet::new_unchecked(&mut out[..])
        .set_payload_len(u16::try_from(payload_len).unwrap_or(u16::MAX));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::{ChecksumMode, Ipv4Repr, Ipv6Repr};
    use proptest::prelude::*;

    const SRC4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

    fn src6() -> Ipv6Addr {
        "2001:db8::1".parse().unwrap()
    }

    fn dst6() -> Ipv6Addr {
        "2001:db8::2".parse().unwrap()
    }

    fn t(secs: u64) -> Instant {
        Instant::from_nanos(secs * 1_000_000_000)
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// A whole IPv4 UDP-ish packet with `payload_len` bytes of payload.
    pub(crate) fn v4_packet(payload_len: usize, ident: u16, options: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: SRC4,
            dst_addr: DST4,
            protocol: IpProtocol::Udp,
            payload_len,
            ttl: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: crate::wire::Ipv4Options::new(options).unwrap(),
        };
        let mut buf = vec![0u8; repr.total_len()];
        repr.emit(
            &mut Ipv4Packet::new_unchecked(&mut buf[..]),
            ChecksumMode::Enabled,
        );
        let hl = repr.buffer_len();
        buf[hl..].copy_from_slice(&pattern(payload_len, ident as u8));
        buf
    }

    /// Fragments of a whole IPv4 packet (no options), `chunk` data bytes each, built
    /// by hand (independently of the fragmenter).
    fn v4_fragments(packet: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let p = Ipv4Packet::new_checked(packet).unwrap();
        let hl = p.header_len();
        let data = p.payload();
        let mut out = Vec::new();
        for (i, piece) in data.chunks(chunk).enumerate() {
            let mut f = packet[..hl].to_vec();
            f.extend_from_slice(piece);
            let mut fp = Ipv4Packet::new_unchecked(&mut f[..]);
            fp.set_total_len((hl + piece.len()) as u16);
            fp.set_frag_offset((i * chunk) as u16);
            fp.set_more_frags((i + 1) * chunk < data.len());
            fp.fill_checksum();
            out.push(f);
        }
        out
    }

    /// A whole IPv6 packet: fixed header, an optional hop-by-hop header (PadN), then
    /// `payload_len` bytes of UDP-ish payload.
    pub(crate) fn v6_packet(payload_len: usize, hbh: bool, seed: u8) -> Vec<u8> {
        let ext: &[u8] = if hbh { &[17, 0, 1, 4, 0, 0, 0, 0] } else { &[] };
        let repr = Ipv6Repr {
            src_addr: src6(),
            dst_addr: dst6(),
            next_header: if hbh {
                IpProtocol::HopByHop
            } else {
                IpProtocol::Udp
            },
            payload_len: ext.len() + payload_len,
            hop_limit: 64,
            dscp: 0,
            ecn: Ecn::NotEct,
            flow_label: 0x12345,
        };
        let mut buf = vec![0u8; repr.total_len()];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        buf[40..40 + ext.len()].copy_from_slice(ext);
        buf[40 + ext.len()..].copy_from_slice(&pattern(payload_len, seed));
        buf
    }

    /// Fragments of an IPv6 packet built by [`v6_packet`], by hand.
    fn v6_fragments(packet: &[u8], chunk: usize, ident: u32) -> Vec<Vec<u8>> {
        let hbh = packet[6] == 0;
        let unfrag = if hbh { 48 } else { 40 };
        let nh_at = if hbh { 40 } else { 6 };
        let data = &packet[unfrag..];
        let mut out = Vec::new();
        for (i, piece) in data.chunks(chunk).enumerate() {
            let mut f = packet[..unfrag].to_vec();
            let next = f[nh_at];
            f[nh_at] = 44;
            let repr = Ipv6FragmentRepr {
                next_header: next.into(),
                frag_offset: (i * chunk) as u16,
                more_frags: (i + 1) * chunk < data.len(),
                ident,
            };
            let mut fh = [0u8; 8];
            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut fh[..]));
            f.extend_from_slice(&fh);
            f.extend_from_slice(piece);
            let plen = (f.len() - 40) as u16;
            Ipv6Packet::new_unchecked(&mut f[..]).set_payload_len(plen);
            out.push(f);
        }
        out
    }

    fn reasm() -> Reassembler {
        Reassembler::new(ReassemblyConfig::default())
    }

    fn feed4(r: &mut Reassembler, now: Instant, frags: &[Vec<u8>]) -> Vec<Reassembled> {
        frags.iter().map(|f| r.handle_ipv4(now, f)).collect()
    }

    #[test]
    fn whole_packets_are_not_fragments() {
        let mut r = reasm();
        assert_eq!(
            r.handle_ipv4(t(0), &v4_packet(100, 1, &[])),
            Reassembled::NotFragment
        );
        assert_eq!(
            r.handle_ipv6(t(0), &v6_packet(100, true, 1)),
            Reassembled::NotFragment
        );
        assert_eq!(r.stats_v4().reasm_reqds, 0);
        assert!(r.is_empty());
    }

    #[test]
    fn in_order_ipv4_fragments_reassemble_with_a_valid_header() {
        let mut r = reasm();
        let whole = v4_packet(3000, 7, &[]);
        let frags = v4_fragments(&whole, 1480);
        assert_eq!(frags.len(), 3);
        let results = feed4(&mut r, t(1), &frags);
        assert_eq!(results[..2], [Reassembled::Held, Reassembled::Held]);
        let Reassembled::Complete(out) = &results[2] else {
            panic!("{:?}", results[2]);
        };
        assert_eq!(out, &whole);
        let p = Ipv4Packet::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(r.stats_v4().reasm_reqds, 3);
        assert_eq!(r.stats_v4().reasm_oks, 1);
        assert_eq!(r.held_bytes(), 0);
        assert!(r.is_empty());
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn ipv4_options_of_the_first_fragment_are_kept() {
        let mut r = reasm();
        // Record route (not copied) padded with EOL: a 28-byte header.
        let whole = v4_packet(64, 9, &[7, 7, 4, 0, 0, 0, 0, 0]);
        let frags = v4_fragments(&whole, 32);
        let results = feed4(&mut r, t(0), &frags);
        assert_eq!(results[1], Reassembled::Complete(whole));
    }

    #[test]
    fn in_order_ipv6_fragments_reassemble_without_the_fragment_header() {
        for hbh in [false, true] {
            let mut r = reasm();
            let whole = v6_packet(2000, hbh, 3);
            let frags = v6_fragments(&whole, 1232, 0xdead_beef);
            let results: Vec<_> = frags.iter().map(|f| r.handle_ipv6(t(0), f)).collect();
            assert_eq!(results[0], Reassembled::Held);
            assert_eq!(results[1], Reassembled::Complete(whole));
            assert_eq!(r.stats_v6().reasm_oks, 1);
            assert_eq!(r.held_bytes(), 0);
        }
    }

    #[test]
    fn exact_duplicate_fragment_is_tolerated() {
        let mut r = reasm();
        let whole = v4_packet(100, 2, &[]);
        let frags = v4_fragments(&whole, 48);
        assert_eq!(r.handle_ipv4(t(0), &frags[0]), Reassembled::Held);
        let held = r.held_bytes();
        assert_eq!(r.handle_ipv4(t(0), &frags[0]), Reassembled::Held);
        assert_eq!(r.held_bytes(), held);
        assert_eq!(r.handle_ipv4(t(0), &frags[1]), Reassembled::Held);
        assert_eq!(r.handle_ipv4(t(0), &frags[2]), Reassembled::Complete(whole));
        assert_eq!(r.stats_v4().reasm_overlaps, 0);
    }

    #[test]
    fn overlapping_ipv4_fragment_drops_datagram_and_later_fragments() {
        let mut r = reasm();
        let whole = v4_packet(64, 5, &[]);
        let a = v4_fragments(&whole, 32);
        let b = v4_fragments(&whole, 16);
        assert_eq!(r.handle_ipv4(t(0), &a[0]), Reassembled::Held);
        // 16..32 lies inside 0..32.
        assert_eq!(
            r.handle_ipv4(t(0), &b[1]),
            Reassembled::Dropped(DropReason::Overlap)
        );
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(
            r.handle_ipv4(t(0), &a[1]),
            Reassembled::Dropped(DropReason::Discarded)
        );
        let s = r.stats_v4();
        assert_eq!((s.reasm_overlaps, s.reasm_fails, s.reasm_oks), (1, 1, 0));
        // The key is forgotten at the timeout, silently.
        r.handle_timeout(t(30));
        assert!(r.is_empty());
        assert_eq!(r.stats_v4().reasm_timeout, 0);
        assert_eq!(r.poll_time_exceeded(), None);
    }

    #[test]
    fn overlapping_ipv6_fragment_drops_datagram() {
        let mut r = reasm();
        let whole = v6_packet(64, false, 5);
        let a = v6_fragments(&whole, 32, 1);
        let b = v6_fragments(&whole, 24, 1);
        assert_eq!(r.handle_ipv6(t(0), &a[1]), Reassembled::Held);
        // 24..48 overlaps 32..64 from the left.
        assert_eq!(
            r.handle_ipv6(t(0), &b[1]),
            Reassembled::Dropped(DropReason::Overlap)
        );
        assert_eq!(
            r.handle_ipv6(t(0), &a[0]),
            Reassembled::Dropped(DropReason::Discarded)
        );
        assert_eq!(r.stats_v6().reasm_overlaps, 1);
    }

    #[test]
    fn same_offset_with_different_bytes_is_an_overlap() {
        let mut r = reasm();
        let whole = v4_packet(64, 5, &[]);
        let frags = v4_fragments(&whole, 32);
        let mut evil = frags[0].clone();
        let last = evil.len() - 1;
        evil[last] ^= 0xff;
        assert_eq!(r.handle_ipv4(t(0), &frags[0]), Reassembled::Held);
        assert_eq!(
            r.handle_ipv4(t(0), &evil),
            Reassembled::Dropped(DropReason::Overlap)
        );
    }

    #[test]
    fn inconsistent_last_fragment_drops_datagram() {
        let mut r = reasm();
        let whole = v4_packet(96, 5, &[]);
        let frags = v4_fragments(&whole, 32);
        // A second "last" fragment ending elsewhere: 32..64 with MF clear.
        let mut short_last = frags[1].clone();
        Ipv4Packet::new_unchecked(&mut short_last[..]).set_more_frags(false);
        assert_eq!(r.handle_ipv4(t(0), &frags[2]), Reassembled::Held);
        assert_eq!(
            r.handle_ipv4(t(0), &short_last),
            Reassembled::Dropped(DropReason::Inconsistent)
        );
        assert_eq!(r.stats_v4().reasm_fails, 1);

        // A fragment reaching past the known end.
        let mut r = reasm();
        let other = v4_packet(200, 5, &[]);
        let beyond = &v4_fragments(&other, 32)[3];
        assert_eq!(r.handle_ipv4(t(0), &frags[2]), Reassembled::Held);
        assert_eq!(
            r.handle_ipv4(t(0), beyond),
            Reassembled::Dropped(DropReason::Inconsistent)
        );

        // A last fragment ending before data already held.
        let mut r = reasm();
        assert_eq!(
            r.handle_ipv4(t(0), &v4_fragments(&other, 32)[4]),
            Reassembled::Held
        );
        assert_eq!(
            r.handle_ipv4(t(0), &frags[2]),
            Reassembled::Dropped(DropReason::Inconsistent)
        );
    }

    #[test]
    fn non_last_fragment_not_multiple_of_8_is_dropped() {
        let mut r = reasm();
        // The first 56-byte fragment cut to 50 bytes, MF still set.
        let mut f = v4_fragments(&v4_packet(100, 5, &[]), 56).remove(0);
        f.truncate(20 + 50);
        let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
        p.set_total_len(70);
        p.fill_checksum();
        assert_eq!(
            r.handle_ipv4(t(0), &f),
            Reassembled::Dropped(DropReason::BadLength)
        );
        let mut f6 = v6_fragments(&v6_packet(100, false, 5), 56, 9).remove(0);
        f6.truncate(48 + 50);
        Ipv6Packet::new_unchecked(&mut f6[..]).set_payload_len(58);
        assert_eq!(
            r.handle_ipv6(t(0), &f6),
            Reassembled::Dropped(DropReason::BadLength)
        );
        assert!(r.is_empty());
    }

    #[test]
    fn datagram_longer_than_65535_is_dropped() {
        let mut r = reasm();
        // Offset 65528 with 16 bytes: 20 + 65544 > 65535.
        let mut f = v4_packet(16, 5, &[]);
        let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
        p.set_frag_offset(65528);
        p.fill_checksum();
        assert_eq!(
            r.handle_ipv4(t(0), &f),
            Reassembled::Dropped(DropReason::TooLong)
        );
        // IPv6: a last fragment of 7 bytes at 65528 fits exactly in 65535 bytes.
        let mut fits = v6_fragments(&v6_packet(15, false, 5), 8, 3)[1].clone();
        Ipv6FragmentHeader::new_unchecked(&mut fits[40..]).set_frag_offset(65528);
        assert_eq!(r.handle_ipv6(t(0), &fits), Reassembled::Held);
        let mut too_long = v6_fragments(&v6_packet(16, false, 5), 8, 4)[1].clone();
        Ipv6FragmentHeader::new_unchecked(&mut too_long[40..]).set_frag_offset(65528);
        assert_eq!(
            r.handle_ipv6(t(0), &too_long),
            Reassembled::Dropped(DropReason::TooLong)
        );
        assert_eq!(r.stats_v4().reasm_fails, 1);
    }

    #[test]
    fn empty_fragment_is_dropped() {
        let mut r = reasm();
        let mut f = v4_packet(0, 5, &[]);
        let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
        p.set_more_frags(true);
        p.fill_checksum();
        assert_eq!(
            r.handle_ipv4(t(0), &f),
            Reassembled::Dropped(DropReason::Empty)
        );
    }

    #[test]
    fn ipv6_atomic_fragment_is_a_whole_packet_processed_in_isolation() {
        let mut r = reasm();
        let whole = v6_packet(64, true, 8);
        let frags = v6_fragments(&whole, 32, 77);
        assert_eq!(r.handle_ipv6(t(0), &frags[0]), Reassembled::Held);
        // The same identification, as an atomic fragment.
        let atomic = v6_fragments(&whole, 64, 77).remove(0);
        assert_eq!(
            r.handle_ipv6(t(0), &atomic),
            Reassembled::Complete(whole.clone())
        );
        // The reassembly in progress is untouched.
        assert_eq!(r.handle_ipv6(t(0), &frags[1]), Reassembled::Complete(whole));
        assert_eq!(r.stats_v6().reasm_oks, 2);
    }

    #[test]
    fn ipv6_first_fragment_without_the_whole_header_chain_is_dropped() {
        let mut r = reasm();
        // Fragmentable part starts with a 16-byte destination-options header, but the
        // first fragment carries only 8 bytes of it.
        let mut whole = v6_packet(40, false, 1);
        whole[6] = 60;
        whole[40] = 17;
        whole[41] = 1;
        whole[42] = 1;
        whole[43] = 12;
        whole[44..56].fill(0);
        let frags = v6_fragments(&whole, 8, 5);
        assert_eq!(
            r.handle_ipv6(t(0), &frags[0]),
            Reassembled::Dropped(DropReason::IncompleteHeaderChain)
        );
        // With the whole chain in the first fragment it reassembles.
        let frags = v6_fragments(&whole, 24, 6);
        let results: Vec<_> = frags.iter().map(|f| r.handle_ipv6(t(0), f)).collect();
        assert_eq!(results.last(), Some(&Reassembled::Complete(whole)));
    }

    #[test]
    fn ipv4_reassembly_times_out_after_30_seconds_with_time_exceeded() {
        let mut r = reasm();
        let whole = v4_packet(3000, 7, &[]);
        let frags = v4_fragments(&whole, 1480);
        r.handle_ipv4(t(10), &frags[0]);
        r.handle_ipv4(t(20), &frags[2]);
        assert_eq!(r.poll_timeout(), Some(t(40)));
        r.handle_timeout(t(39));
        assert_eq!(r.len(), 1);
        r.handle_timeout(t(40));
        assert!(r.is_empty());
        assert_eq!(r.held_bytes(), 0);
        let s = r.stats_v4();
        assert_eq!((s.reasm_timeout, s.reasm_fails), (1, 1));
        let te = r.poll_time_exceeded().unwrap();
        assert_eq!(te.src, IpAddr::V4(SRC4));
        assert_eq!(te.quote, frags[0][..QUOTE_LIMIT_V4]);
        assert_eq!(r.poll_time_exceeded(), None);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn ipv6_reassembly_times_out_after_60_seconds_reporting_only_with_first_fragment() {
        let mut r = reasm();
        let a = v6_fragments(&v6_packet(2000, false, 1), 1232, 1);
        let b = v6_fragments(&v6_packet(2000, false, 2), 1232, 2);
        r.handle_ipv6(t(0), &a[0]);
        r.handle_ipv6(t(1), &b[1]);
        assert_eq!(r.poll_timeout(), Some(t(60)));
        r.handle_timeout(t(61));
        assert_eq!(r.stats_v6().reasm_timeout, 2);
        let te = r.poll_time_exceeded().unwrap();
        assert_eq!(te.src, IpAddr::V6(src6()));
        assert_eq!(te.quote, a[0][..QUOTE_LIMIT_V6]);
        // b's first fragment never came: nothing to report.
        assert_eq!(r.poll_time_exceeded(), None);
    }

    #[test]
    fn late_fragment_after_the_timeout_does_not_complete_a_stale_datagram() {
        let mut r = reasm();
        let whole = v4_packet(100, 1, &[]);
        let frags = v4_fragments(&whole, 56);
        r.handle_ipv4(t(0), &frags[0]);
        // No handle_timeout call: the next input expires what is due first.
        assert_eq!(r.handle_ipv4(t(31), &frags[1]), Reassembled::Held);
        assert_eq!(r.stats_v4().reasm_timeout, 1);
    }

    #[test]
    fn memory_bound_evicts_the_oldest_and_is_never_exceeded() {
        let max = 3 * (1480 + FRAGMENT_OVERHEAD + 20);
        let mut r = Reassembler::new(ReassemblyConfig {
            max_bytes: max,
            ..ReassemblyConfig::default()
        });
        for id in 0..3u16 {
            let frags = v4_fragments(&v4_packet(3000, id, &[]), 1480);
            assert_eq!(
                r.handle_ipv4(t(u64::from(id)), &frags[0]),
                Reassembled::Held
            );
        }
        assert!(r.held_bytes() <= max);
        let frags = v4_fragments(&v4_packet(3000, 9, &[]), 1480);
        assert_eq!(r.handle_ipv4(t(5), &frags[0]), Reassembled::Held);
        assert!(r.held_bytes() <= max);
        assert_eq!(r.len(), 3);
        assert_eq!(r.stats_v4().reasm_fails, 1);
        // Datagram 0 was the one evicted: its second fragment starts afresh.
        let old = v4_fragments(&v4_packet(3000, 0, &[]), 1480);
        r.handle_ipv4(t(6), &old[1]);
        assert_eq!(r.stats_v4().reasm_fails, 2);
    }

    #[test]
    fn datagram_bigger_than_the_memory_bound_is_dropped() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_bytes: 2000,
            ..ReassemblyConfig::default()
        });
        let frags = v4_fragments(&v4_packet(3000, 1, &[]), 1480);
        assert_eq!(r.handle_ipv4(t(0), &frags[0]), Reassembled::Held);
        assert_eq!(
            r.handle_ipv4(t(0), &frags[1]),
            Reassembled::Dropped(DropReason::MemoryLimit)
        );
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(
            r.handle_ipv4(t(0), &frags[2]),
            Reassembled::Dropped(DropReason::Discarded)
        );
    }

    #[test]
    fn datagram_bound_evicts_the_oldest() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_datagrams: 2,
            ..ReassemblyConfig::default()
        });
        let a = v4_fragments(&v4_packet(100, 1, &[]), 56);
        let b = v6_fragments(&v6_packet(100, false, 2), 56, 2);
        let c = v4_fragments(&v4_packet(100, 3, &[]), 56);
        r.handle_ipv4(t(0), &a[0]);
        r.handle_ipv6(t(1), &b[0]);
        r.handle_ipv4(t(2), &c[0]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.stats_v4().reasm_fails, 1);
        assert!(matches!(
            r.handle_ipv6(t(3), &b[1]),
            Reassembled::Complete(_)
        ));
        assert!(matches!(
            r.handle_ipv4(t(3), &c[1]),
            Reassembled::Complete(_)
        ));
    }

    /// The fragments of a datagram of `len` bytes, `chunk` bytes each, from
    /// `src`, identification `ident` (IPv4 or IPv6 as `src` is).
    fn fragments_from(src: IpAddr, len: usize, chunk: usize, ident: u16) -> Vec<Vec<u8>> {
        match src {
            IpAddr::V4(a) => {
                let mut whole = v4_packet(len, ident, &[]);
                let mut p = Ipv4Packet::new_unchecked(&mut whole[..]);
                p.set_src_addr(a);
                p.fill_checksum();
                v4_fragments(&whole, chunk)
            }
            IpAddr::V6(a) => {
                let mut whole = v6_packet(len, false, ident as u8);
                whole[8..24].copy_from_slice(&a.octets());
                v6_fragments(&whole, chunk, u32::from(ident))
            }
        }
    }

    fn feed(r: &mut Reassembler, now: Instant, fragment: &[u8]) -> Reassembled {
        if fragment[0] >> 4 == 4 {
            r.handle_ipv4(now, fragment)
        } else {
            r.handle_ipv6(now, fragment)
        }
    }

    /// An honest sender's datagram, then a flood of first fragments from one
    /// other sender (over IPv6, from many addresses of one /64), then the
    /// honest datagram's last fragment: it completes, whichever bound the flood
    /// meets. Before the shares, the flood evicted it (the oldest).
    #[test]
    fn a_fast_flooder_no_longer_evicts_a_slow_senders_datagram() {
        let honest4: IpAddr = "192.0.2.7".parse().unwrap();
        let flooder4: IpAddr = "203.0.113.9".parse().unwrap();
        let honest6: IpAddr = "2001:db8:1::7".parse().unwrap();
        for v6 in [false, true] {
            // (max_datagrams, max_bytes): the datagram bound bites first, then
            // the memory bound does.
            for (max_datagrams, max_bytes) in [(8, 1 << 20), (1024, 6 * (1000 + 64 + 60))] {
                let mut r = Reassembler::new(ReassemblyConfig {
                    max_datagrams,
                    max_bytes,
                    ..ReassemblyConfig::default()
                });
                let honest = if v6 { honest6 } else { honest4 };
                let mine = fragments_from(honest, 2000, 1000, 1);
                assert_eq!(feed(&mut r, t(0), &mine[0]), Reassembled::Held);
                // A second honest sender arrives during the flood.
                let later: IpAddr = if v6 {
                    "2001:db8:2::7".parse().unwrap()
                } else {
                    "192.0.2.8".parse().unwrap()
                };
                let theirs = fragments_from(later, 2000, 1000, 2);
                for i in 0..200u16 {
                    let src = if v6 {
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xf, 0, 0, 0, i, 1))
                    } else {
                        flooder4
                    };
                    let f = fragments_from(src, 2000, 1000, 100 + i);
                    feed(&mut r, t(1), &f[0]);
                    if i == 100 {
                        assert_eq!(feed(&mut r, t(1), &theirs[0]), Reassembled::Held);
                    }
                    assert!(r.len() <= max_datagrams && r.held_bytes() <= max_bytes);
                }
                let why = format!("v6 {v6}, bounds {max_datagrams} / {max_bytes}");
                assert!(
                    matches!(feed(&mut r, t(2), &mine[1]), Reassembled::Complete(_)),
                    "{why}"
                );
                assert!(
                    matches!(feed(&mut r, t(2), &theirs[1]), Reassembled::Complete(_)),
                    "{why}"
                );
                // The flooder paid for its own: at most half of the bound it met,
                // plus what nobody else wanted.
                let stats = if v6 { r.stats_v6() } else { r.stats_v4() };
                assert!(stats.reasm_fails >= 150, "{why}: {stats:?}");
                r.check_shares();
            }
        }
    }

    /// A busy sender holding more than half of a bound (five reassemblies of
    /// eight; or of the memory for eight first fragments), older datagrams of
    /// three other senders, then one more sender's first fragment: one of the busy
    /// sender's datagrams is evicted for it (it holds more than half). The
    /// evicted datagram's last fragment, arriving next, would start a
    /// reassembly that cannot complete; it must not evict the busy sender's
    /// next datagram in turn (whose last fragment would then do the same,
    /// until none of them completes: none did): it is refused. At the
    /// datagram bound the four others then complete (before the shares all
    /// five did: the oldest, the others', went). At the memory bound each
    /// completion needs room, which the share rule takes from the sender's
    /// own, so fewer complete: not asserted.
    #[test]
    fn an_evicted_datagrams_later_fragments_do_not_evict_their_senders_others() {
        for v6 in [false, true] {
            // What a first fragment holds, IPv4 or IPv6: the memory bound is
            // eight of them.
            let src: IpAddr = if v6 {
                "2001:db8:ff::1".parse().unwrap()
            } else {
                "198.18.0.255".parse().unwrap()
            };
            let first = fragments_from(src, 2000, 1000, 1);
            let mut probe = Reassembler::new(ReassemblyConfig::default());
            feed(&mut probe, t(0), &first[0]);
            let first_charge = probe.held_bytes();
            for (max_datagrams, max_bytes) in [(8, 1 << 20), (1024, 8 * first_charge)] {
                let mut r = Reassembler::new(ReassemblyConfig {
                    max_datagrams,
                    max_bytes,
                    ..ReassemblyConfig::default()
                });
                let why = format!("v6 {v6}, bounds {max_datagrams} / {max_bytes}");
                let addr = |i: u16| -> IpAddr {
                    if v6 {
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1))
                    } else {
                        IpAddr::V4(Ipv4Addr::new(198, 18, 0, i as u8))
                    }
                };
                for i in 1..4u16 {
                    let f = fragments_from(addr(i), 2000, 1000, 900 + i);
                    assert_eq!(feed(&mut r, t(0), &f[0]), Reassembled::Held);
                }
                let busy: Vec<_> = (0..5u16)
                    .map(|i| fragments_from(addr(7), 2000, 1000, i))
                    .collect();
                for f in &busy {
                    assert_eq!(feed(&mut r, t(1), &f[0]), Reassembled::Held);
                }
                // Who the shares count: the source, or its /64.
                let sender = if v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0))
                } else {
                    addr(7)
                };
                let live_of_busy = |r: &Reassembler| {
                    r.by_sender
                        .iter()
                        .filter(|((s, _, _), k)| *s == sender && r.holds_bytes(k))
                        .count()
                };
                let f = fragments_from(addr(9), 2000, 1000, 999);
                feed(&mut r, t(2), &f[0]);
                assert_eq!(live_of_busy(&r), 4, "{why}");
                for frag in &busy[0][1..] {
                    assert!(
                        matches!(feed(&mut r, t(3), frag), Reassembled::Dropped(_)),
                        "{why}"
                    );
                    assert_eq!(live_of_busy(&r), 4, "{why}: the next one evicted");
                }
                let completed = busy[1..]
                    .iter()
                    .filter(|f| {
                        f[1..]
                            .iter()
                            .map(|frag| feed(&mut r, t(3), frag))
                            .any(|got| matches!(got, Reassembled::Complete(_)))
                    })
                    .count();
                if max_datagrams == 8 {
                    assert_eq!(completed, 4, "{why}");
                }
                r.check_shares();
            }
        }
    }

    #[test]
    fn a_sender_alone_may_use_all_the_room() {
        let mut r = Reassembler::new(ReassemblyConfig {
            max_datagrams: 8,
            ..ReassemblyConfig::default()
        });
        for id in 0..8u16 {
            let f = v4_fragments(&v4_packet(100, id, &[]), 56);
            assert_eq!(r.handle_ipv4(t(0), &f[0]), Reassembled::Held);
        }
        assert_eq!(r.len(), 8);
        assert_eq!(r.stats_v4().reasm_fails, 0);
        r.check_shares();
    }

    #[test]
    fn ce_on_one_fragment_marks_the_datagram_and_not_ect_mix_drops_it() {
        let whole = v4_packet(100, 1, &[]);
        let mut frags = v4_fragments(&whole, 56);
        for f in &mut frags {
            let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
            p.set_ecn(Ecn::Ect0);
            p.fill_checksum();
        }
        let mut ce = frags.clone();
        let mut p = Ipv4Packet::new_unchecked(&mut ce[1][..]);
        p.set_ecn(Ecn::Ce);
        p.fill_checksum();
        let mut r = reasm();
        let out = feed4(&mut r, t(0), &ce);
        let Reassembled::Complete(out) = &out[1] else {
            panic!("{out:?}");
        };
        let p = Ipv4Packet::new_checked(&out[..]).unwrap();
        assert_eq!(p.ecn(), Ecn::Ce);
        assert!(p.verify_checksum());

        let mut mixed = frags.clone();
        let mut p = Ipv4Packet::new_unchecked(&mut mixed[1][..]);
        p.set_ecn(Ecn::NotEct);
        p.fill_checksum();
        let out = feed4(&mut r, t(0), &mixed);
        assert_eq!(out[1], Reassembled::Dropped(DropReason::EcnMismatch));
    }

    #[test]
    fn malformed_packets_say_why() {
        let mut r = reasm();
        assert_eq!(
            r.handle_ipv4(t(0), &[0x45, 0]),
            Reassembled::Dropped(DropReason::Malformed(WireError::Truncated))
        );
        let mut v6 = v6_fragments(&v6_packet(100, false, 1), 56, 1).remove(0);
        v6.truncate(44);
        Ipv6Packet::new_unchecked(&mut v6[..]).set_payload_len(4);
        assert_eq!(
            r.handle_ipv6(t(0), &v6),
            Reassembled::Dropped(DropReason::Malformed(WireError::Truncated))
        );
    }

    fn shuffled_with_duplicates(n: usize) -> impl Strategy<Value = Vec<usize>> {
        (
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(0..n, 0..4),
        )
            .prop_map(|(mut order, dups)| {
                for (i, d) in dups.into_iter().enumerate() {
                    order.insert((i * 7) % (order.len() + 1), d);
                }
                order
            })
    }

    proptest! {
        #[test]
        fn ipv4_fragments_in_any_order_with_duplicates_reassemble(
            (len, chunk, order) in (9usize..4000, 1usize..200).prop_flat_map(|(len, units)| {
                let chunk = units * 8;
                let n = len.div_ceil(chunk);
                (Just(len), Just(chunk), shuffled_with_duplicates(n))
            })
        ) {
            let mut r = reasm();
            let whole = v4_packet(len, len as u16, &[]);
            let frags = v4_fragments(&whole, chunk);
            prop_assume!(frags.len() >= 2);
            let mut done = Vec::new();
            for i in order {
                match r.handle_ipv4(t(0), &frags[i]) {
                    Reassembled::Complete(out) => done.push(out),
                    Reassembled::Held => {}
                    other => prop_assert!(false, "{other:?}"),
                }
            }
            // Duplicates arriving after completion start a new reassembly, which may
            // complete again: the network delivered the datagram twice.
            prop_assert!(!done.is_empty());
            prop_assert!(done.iter().all(|d| d == &whole), "reassembled bytes differ");
            prop_assert_eq!(r.stats_v4().reasm_oks, done.len() as u64);
        }

        #[test]
        fn ipv6_fragments_in_any_order_with_duplicates_reassemble(
            (len, chunk, hbh, order) in (9usize..4000, 1usize..200, any::<bool>())
                .prop_flat_map(|(len, units, hbh)| {
                    let chunk = units * 8;
                    let n = len.div_ceil(chunk);
                    (Just(len), Just(chunk), Just(hbh), shuffled_with_duplicates(n))
                })
        ) {
            let mut r = reasm();
            let whole = v6_packet(len, hbh, len as u8);
            let frags = v6_fragments(&whole, chunk, len as u32);
            prop_assume!(frags.len() >= 2);
            let mut done = Vec::new();
            for i in order {
                match r.handle_ipv6(t(0), &frags[i]) {
                    Reassembled::Complete(out) => done.push(out),
                    Reassembled::Held => {}
                    other => prop_assert!(false, "{other:?}"),
                }
            }
            prop_assert!(!done.is_empty());
            prop_assert!(done.iter().all(|d| d == &whole), "reassembled bytes differ");
        }

        #[test]
        fn hostile_fragments_never_panic_or_pass_the_bounds(
            packets in proptest::collection::vec(
                (any::<bool>(), any::<u16>(), any::<u8>(), 0usize..600, any::<bool>(),
                 any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64), 0u64..100),
                1..60,
            )
        ) {
            let max_bytes = 4000;
            let mut r = Reassembler::new(ReassemblyConfig {
                max_bytes,
                max_datagrams: 4,
                ..ReassemblyConfig::default()
            });
            let mut now = 0;
            for (v4, offset, ident, len, more, ecn, garbage, dt) in packets {
                now += dt;
                let at = t(now);
                if v4 {
                    let mut f = v4_packet(len, u16::from(ident % 3), &[]);
                    let mut p = Ipv4Packet::new_unchecked(&mut f[..]);
                    // Two senders, so that the shares come into play.
                    p.set_src_addr(Ipv4Addr::new(192, 0, 2, ecn >> 7));
                    p.set_frag_offset(offset & !7);
                    p.set_more_frags(more);
                    p.set_ecn(Ecn::from_bits(ecn));
                    let _ = r.handle_ipv4(at, &f);
                } else {
                    let whole = v6_packet(len.max(1), ident % 2 == 0, ident);
                    let mut f = v6_fragments(&whole, 8 * 1024, u32::from(ident % 3)).remove(0);
                    let at40 = if ident % 2 == 0 { 48 } else { 40 };
                    let mut h = Ipv6FragmentHeader::new_unchecked(&mut f[at40..]);
                    h.set_frag_offset(offset & !7);
                    h.set_more_frags(more);
                    let _ = r.handle_ipv6(at, &f);
                }
                let _ = r.handle_ipv4(at, &garbage);
                let _ = r.handle_ipv6(at, &garbage);
                prop_assert!(r.held_bytes() <= max_bytes);
                prop_assert!(r.len() <= 4);
                r.check_shares();
                if let Some(deadline) = r.poll_timeout() {
                    prop_assert!(deadline > at);
                }
            }
            r.handle_timeout(t(now + 61));
            prop_assert!(r.is_empty());
            prop_assert_eq!(r.held_bytes(), 0);
            prop_assert!(r.shares.is_empty() && r.by_sender.is_empty());
            prop_assert!(r.poll_time_exceeded().into_iter().count() <= MAX_TIME_EXCEEDED);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut r = reasm();
            let _ = r.handle_ipv4(t(0), &bytes);
            let _ = r.handle_ipv6(t(0), &bytes);
            // With a plausible version nibble, to get past the first check.
            let mut b = bytes.clone();
            if let Some(first) = b.first_mut() {
                *first = 0x45;
            }
            let _ = r.handle_ipv4(t(0), &b);
            if let Some(first) = b.first_mut() {
                *first = 0x60;
            }
            let _ = r.handle_ipv6(t(0), &b);
        }
    }
}
