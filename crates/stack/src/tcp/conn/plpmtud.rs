//! PMTU black-hole detection: packetization-layer path MTU discovery's first
//! half (RFC 4821 section 3; RFC 2923 section 2.1), as Linux's
//! `tcp_mtu_probing = 1` (`tcp_mtu_probing` in net/ipv4/tcp_timer.c).
//!
//! A path whose bottleneck drops full-sized packets (DF set, too big for a
//! tunnel) while a firewall drops the ICMP errors that would say so never
//! lowers the path MTU (`on_path_mtu` never hears of it): every retransmission
//! of the full-sized segment is lost, and the connection stalls until R2 gives
//! up. Here, once retransmission timeouts of a full-sized segment reach R1 (the
//! point where RFC 9293 section 3.8.3 has TCP suspect the path), the
//! connection's packets shrink: first to [`BASE_MTU`] (RFC 4821's initial
//! `search_low`), then, if timeouts go on, to half the size, never below the
//! IP version's minimum MTU. The go-back-N that follows the timeout resends
//! what was in flight at the new size, and the size stays (`CcState::plpmtu`)
//! for the connection's life.
//!
//! Choices, against Linux's:
//! - Linux's floor is a 48-byte MSS (`tcp_mtu_probe_floor`), reached after five
//!   more timeouts; ours is the IP version's minimum MTU (576 bytes for IPv4,
//!   RFC 791's datagram every host accepts; 1280 for IPv6, which every IPv6
//!   link carries, RFC 8200 section 5). A smaller step would be for paths IPv4
//!   does not promise, and without upward probing a peer that is merely dead
//!   (or a transient outage of many timeouts) would leave the connection with
//!   tiny segments for good.
//! - Linux lowers whatever is outstanding; here only when the segment the
//!   timeout resends is larger than the new size: a lost 100-byte segment is
//!   no sign of a black hole, and shrinking would not help it through.
//! - Linux then probes upward (`tcp_mtu_probe`, RFC 4821 section 7); layer4
//!   does not yet, so a path that lost its ICMP only briefly keeps the smaller
//!   size for the connection's life (docs/SECURITY.md).
//!
//! Cost: nothing on the per-segment paths. This runs on a retransmission
//! timeout past R1; the size limit is read where the MSS is recomputed (a path
//! MTU change), not per segment.

use super::Connection;
use crate::tcp::config::MtuProbing;

use super::open::{TCP_HEADER_LEN, TS_OPTION_LEN};

/// The first size black-hole detection tries, in bytes of IP packet.
//= https://www.rfc-editor.org/rfc/rfc4821#section-7.2
// (In our words: the exact text could not be checked here.) search_low
// should start at an MTU likely to work over a very wide range of
// environments; 1024 bytes is suggested as probably safe enough. Linux's
// `tcp_base_mss` is the same 1024 as an MSS.
pub(crate) const BASE_MTU: u16 = 1024;

/// The smallest IPv4 packet size black-hole detection goes down to: the
/// datagram every IPv4 host must accept (RFC 791, RFC 1122 3.3.3).
pub(crate) const MIN_MTU_V4: u16 = 576;

/// The smallest IPv6 packet size black-hole detection goes down to.
//= https://www.rfc-editor.org/rfc/rfc8200#section-5
//# IPv6 requires that every link in the Internet have an MTU of 1280
//# octets or greater.
pub(crate) const MIN_MTU_V6: u16 = 1280;

impl Connection {
    /// The largest packet a full-sized segment may fill: the path MTU, or less
    /// once black-hole detection lowered it.
    pub(super) fn packet_limit(&self) -> u16 {
        match self.cc.as_deref().map_or(0, |s| s.plpmtu) {
            0 => self.path_mtu,
            plpmtu => plpmtu.min(self.path_mtu),
        }
    }

    /// The IP packet size of a full-sized segment now.
    fn full_packet_len(&self) -> u16 {
        let options = if self.ts.is_some() { TS_OPTION_LEN } else { 0 };
        self.mss
            .saturating_add(TCP_HEADER_LEN + options)
            .saturating_add(self.ip_header_len)
    }

    /// A retransmission timeout of data, the `rto_count`-th in a row, after the
    /// congestion response and before the resend: once the count reached R1,
    /// and the segment it resends is full-sized, shrinks the connection's
    /// packets (see the [module docs](self)). Returns whether it did.
    //= https://www.rfc-editor.org/rfc/rfc2923#section-2.1
    // (In our words: the exact text could not be checked here.) A black hole
    // shows as a connection that times out on its large packets; after several
    // timeouts TCP should try smaller packets.
    //= https://www.rfc-editor.org/rfc/rfc4821#section-3
    // (In our words, likewise.) PLPMTUD runs in the packetization layer,
    // where loss of a packet is seen directly, and so works where ICMP
    // messages are filtered; an MTU change comes with the congestion control
    // adjustments it needs (here `update_mss_within` tells the controller).
    pub(super) fn on_rto_black_hole(&mut self) -> bool {
        if self.config.mtu_probing == MtuProbing::Off || self.rto_count < self.config.retries1 {
            return false;
        }
        self.lower_for_black_hole()
    }

    #[cold]
    #[inline(never)]
    fn lower_for_black_hole(&mut self) -> bool {
        let current = self.full_packet_len();
        let floor = if self.ip_header_len > 20 {
            MIN_MTU_V6
        } else {
            MIN_MTU_V4
        };
        let plpmtu = self.cc.as_deref().map_or(0, |s| s.plpmtu);
        let next = if plpmtu == 0 && current > BASE_MTU {
            BASE_MTU
        } else {
            current / 2
        }
        .max(floor);
        // The segment this timeout resends, as a packet: a short one (the tail
        // of a message) is no sign of a black hole, and would not shrink.
        let data = self.send_buf.len().min(self.outstanding() as usize);
        let resent = self.mss.min(u16::try_from(data).unwrap_or(u16::MAX));
        let resent_packet = current - (self.mss - resent);
        if next >= current || resent_packet <= next {
            return false;
        }
        let s = self.ccs();
        s.plpmtu = next;
        s.loss_mut().pmtu_black_holes = s.loss().pmtu_black_holes.saturating_add(1);
        self.update_mss_within(self.packet_limit());
        // What was in flight at the old size is resent at the new one by the
        // go-back-N that follows; Karn's rule already voids the timed segment.
        self.rtt_probe = None;
        true
    }
}
