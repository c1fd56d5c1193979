//! TIME-WAIT as a compact record instead of a whole connection.
//!
//! Once the application has let go of a connection in TIME-WAIT (closed its handle,
//! or never had one) and the last ACK has left, nothing of the connection is needed
//! but what answers the peer's late segments: the sequence numbers, the window, the
//! timestamp state and the deadline. The stack then frees the connection's slot
//! (~900 bytes with its slab entry) and keeps a [`TimeWaitRecord`] (120 bytes in
//! a ring, plus an 8-byte index entry and both's spare capacity) here, so a busy
//! client's tens of thousands of TIME-WAIT connections cost a few megabytes, and
//! opening and closing a connection ends with its memory returned.
//!
//! The records sit in a FIFO ring in the order their deadlines were set: most enter
//! right after the connection entered TIME-WAIT, with the same 2 MSL ahead, so the
//! ring is in deadline order and the oldest record is at its front. (A connection
//! whose application held its handle for a while enters later with an earlier
//! deadline; it then waits behind newer ones and lives longer than 2 MSL, never
//! shorter.) A peer's retransmitted FIN restarts the 2 MSL timeout and moves the
//! record to the back. A hash table keyed by 4-tuple (the stack's keyed hash) holds
//! only each record's place in the ring and 32 bits of its hash.
//!
//! Why two structures: a busy client keeps up to `time_wait_limit` (262,144) records, tens
//! of megabytes. Records kept in the hash table itself put every connection's insert and
//! look-up at a random place in all of them (a cache and TLB miss each); the ring is
//! written at its back and read at its front, and the index a connection probes is about a
//! thirteenth of the size. `connect` one connection at a time, 200,000 of them, ran 13-20 %
//! faster with it and the harness clock fix together (docs/benchmarks.md, session 14). A
//! record that leaves early (a RST, a SYN that reuses the tuple, a restart) leaves an empty
//! slot behind, popped when it reaches the front; when empty slots outnumber the records
//! (plus 64) the ring is packed and the index rebuilt from the kept hashes, so the ring
//! never holds more than twice the records plus 64 slots, and its spare capacity is given
//! back when it falls to a quarter.
//!
//! The table holds at most `TcpConfig::time_wait_limit` records: when it is full,
//! the oldest record is recycled to make room and counted
//! (`TcpStats::time_wait_overflow`).
//!
//! Segment arrival follows what [`Connection`](crate::tcp::Connection) does in
//! TIME-WAIT: PAWS (RFC 7323), the acceptability test, a retransmitted FIN
//! acknowledged with the timeout restarted, RFC 5961's RST, SYN and ACK checks with
//! rate-limited challenge ACKs, and a new SYN that may end TIME-WAIT early (RFC 6191,
//! checked by the stack before the listener sees the SYN).

use std::collections::VecDeque;

use hashbrown::HashTable;

use super::demux::{FourTuple, KeyedState, TupleHash};
use crate::tcp::TcpConfig;
use crate::time::Instant;
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

/// What a TIME-WAIT connection keeps (taken from the connection when it is
/// compacted; see [`Connection::time_wait_state`](crate::tcp::Connection)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeWaitState {
    /// SND.NXT (after our FIN).
    pub(crate) snd_nxt: SeqNumber,
    /// RCV.NXT (after the peer's FIN).
    pub(crate) rcv_nxt: SeqNumber,
    /// The receive window last promised (RCV.ADV - RCV.NXT): the acceptability test.
    pub(crate) rcv_wnd: u32,
    /// The window field of our ACKs (already scaled).
    pub(crate) window: u16,
    /// The largest window the peer offered (RFC 5961's ACK check).
    pub(crate) max_snd_wnd: u32,
    /// TS.Recent, when timestamps are in use.
    pub(crate) ts_recent: Option<u32>,
    /// Our timestamp clock's offset.
    pub(crate) ts_offset: u32,
    /// When TIME-WAIT ends.
    pub(crate) expires: Instant,
    /// When an invalid segment was last answered (challenge-ACK rate limit).
    pub(crate) last_answer: Option<Instant>,
    /// IP TTL / hop limit and DSCP of our ACKs.
    pub(crate) ttl: u8,
    pub(crate) dscp: u8,
}

/// One TIME-WAIT connection: its tuple and [`TimeWaitState`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeWaitRecord {
    pub(crate) tuple: FourTuple,
    pub(crate) state: TimeWaitState,
    /// The tuple's keyed hash, kept so that packing the ring rebuilds the index
    /// without hashing every tuple again, and a record finds its index entry.
    hash: u64,
}

/// What to do with a segment that reached a TIME-WAIT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeWaitVerdict {
    /// Drop it silently.
    Drop,
    /// Send an ACK.
    Ack,
    /// The peer retransmitted its FIN: send an ACK; the timeout was restarted.
    AckRestart,
    /// An exact RST: TIME-WAIT ends now.
    Close,
}

/// The ISS of a connection that a SYN opened by ending TIME-WAIT: past every
/// sequence number the old incarnation used (`snd_max`, its SND.NXT after the
/// FIN), by a further unscaled window as Linux leaves, so that nothing of the
/// old incarnation (an ACK of its data, a duplicate of its segments) is
/// acceptable to the new one whatever the ISN clock reads; a clock that
/// stands still would give the tuple its old ISS again.
//= https://www.rfc-editor.org/rfc/rfc9293#section-3.6.1
//# However, it MAY accept a new SYN from the remote TCP endpoint to
//# reopen the connection directly from TIME-WAIT state (MAY-2), if it:
//#
//# (1)  assigns its initial sequence number for the new connection to be
//#      larger than the largest sequence number it used on the previous
//#      connection incarnation, and
pub(crate) fn reincarnation_iss(snd_max: SeqNumber) -> SeqNumber {
    snd_max + (u32::from(u16::MAX) + 2)
}

impl TimeWaitRecord {
    /// Whether a SYN may end TIME-WAIT and open a new incarnation (RFC 6191): its
    /// timestamp is newer than TS.Recent, or without timestamps its sequence number
    /// lies beyond RCV.NXT. Same rule as `Connection::time_wait_accepts_syn`.
    //= https://www.rfc-editor.org/rfc/rfc6191#section-2
    //# If the previous incarnation of the connection used Timestamps, then:
    //# if ... the timestamp value of the SYN segment is greater than TS.Recent
    //# ... the TIME-WAIT state may be ... and the new connection accepted
    pub(crate) fn accepts_syn(&self, seg: &TcpRepr<'_>) -> bool {
        match (self.state.ts_recent, seg.options.timestamp) {
            (Some(recent), Some(opt)) => (opt.tsval.wrapping_sub(recent) as i32) > 0,
            (Some(_), None) => false,
            (None, _) => seg.seq_number > self.state.rcv_nxt,
        }
    }

    /// A segment arrived (RFC 9293 section 3.10.7.4 for TIME-WAIT).
    pub(crate) fn on_segment(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        config: &TcpConfig,
    ) -> TimeWaitVerdict {
        let s = &mut self.state;
        let flags = seg.flags;
        let rst = flags.contains(TcpFlags::RST);
        //= https://www.rfc-editor.org/rfc/rfc7323#section-5.3
        //# If SEG.TSval < TS.Recent and the RST bit is off:
        if !rst {
            if let (Some(recent), Some(opt)) = (s.ts_recent, seg.options.timestamp) {
                if (opt.tsval.wrapping_sub(recent) as i32) < 0 {
                    return Self::answer_invalid(s, now, config);
                }
            }
        }
        if !acceptable(s, seg) {
            if rst {
                return TimeWaitVerdict::Drop;
            }
            if flags.contains(TcpFlags::FIN) {
                //= https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4
                //# TIME-WAIT STATE
                //# The only thing that can arrive in this state is a
                //# retransmission of the remote FIN.  Acknowledge it, and
                //# restart the 2 MSL timeout.
                s.expires = now + config.time_wait;
                return TimeWaitVerdict::AckRestart;
            }
            return Self::answer_invalid(s, now, config);
        }
        //= https://www.rfc-editor.org/rfc/rfc7323#section-4.3
        //# If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent
        //# then SEG.TSval is copied to TS.Recent; otherwise, it is ignored.
        if let (Some(recent), Some(opt)) = (s.ts_recent, seg.options.timestamp) {
            if seg.seq_number <= s.rcv_nxt && (opt.tsval.wrapping_sub(recent) as i32) >= 0 {
                s.ts_recent = Some(opt.tsval);
            }
        }
        if rst {
            //= https://www.rfc-editor.org/rfc/rfc5961#section-3.2
            //# 2) If the RST bit is set and the sequence number exactly matches
            //#    the next expected sequence number (RCV.NXT), then TCP MUST reset
            //#    the connection.
            if seg.seq_number == s.rcv_nxt {
                return TimeWaitVerdict::Close;
            }
            return Self::answer_invalid(s, now, config);
        }
        if flags.contains(TcpFlags::SYN) {
            //= https://www.rfc-editor.org/rfc/rfc5961#section-4.2
            //# If the SYN bit is set, irrespective of the sequence number, TCP
            //# MUST send an ACK (also referred to as challenge ACK) to the remote
            //# peer:
            return Self::answer_invalid(s, now, config);
        }
        if !flags.contains(TcpFlags::ACK) {
            return TimeWaitVerdict::Drop;
        }
        //= https://www.rfc-editor.org/rfc/rfc5961#section-5.2
        //# All incoming segments whose ACK value doesn't satisfy the above
        //# condition MUST be discarded and an ACK sent back.
        let oldest = s.snd_nxt - s.max_snd_wnd.max(65535);
        if seg.ack_number > s.snd_nxt || seg.ack_number < oldest {
            return Self::answer_invalid(s, now, config);
        }
        TimeWaitVerdict::Drop
    }

    /// Acknowledges an invalid segment, at most once per `invalid_ratelimit`.
    fn answer_invalid(s: &mut TimeWaitState, now: Instant, config: &TcpConfig) -> TimeWaitVerdict {
        if let Some(last) = s.last_answer {
            if now.saturating_duration_since(last) < config.invalid_ratelimit {
                return TimeWaitVerdict::Drop;
            }
        }
        s.last_answer = Some(now);
        TimeWaitVerdict::Ack
    }
}

/// The acceptability test of RFC 9293 section 3.10.7.4, as `Connection` runs it.
fn acceptable(s: &TimeWaitState, seg: &TcpRepr<'_>) -> bool {
    let len = seg.segment_len() as u32;
    let wnd = s.rcv_wnd;
    let seq = seg.seq_number;
    match (len, wnd) {
        (0, 0) => seq == s.rcv_nxt,
        (0, _) => seq.in_window(s.rcv_nxt, wnd),
        (_, 0) => seq == s.rcv_nxt,
        (_, _) => seq.in_window(s.rcv_nxt, wnd) || (seq + (len - 1)).in_window(s.rcv_nxt, wnd),
    }
}

/// The TIME-WAIT records of a stack. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct TimeWaitTable {
    /// The records in the order their deadlines were set: the record of serial
    /// `s` sits at `ring[s - base]`; `None` where one left before its turn at the
    /// front (removed, or moved to the back by a restart). The front is never
    /// `None`.
    ring: VecDeque<Option<TimeWaitRecord>>,
    /// The serial of `ring[0]`.
    base: u32,
    /// 4-tuple → serial: eight bytes a record, so the look-ups and inserts a
    /// connection makes touch a table a sixteenth of the records' size.
    index: HashTable<IndexEntry>,
    /// Records held (the `Some`s of `ring`).
    live: usize,
    hasher: KeyedState,
}

/// Where a tuple's record is, and its hash's low 32 bits: enough to grow the
/// index without reading the records, and to skip all but the right record.
#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    serial: u32,
    hash32: u32,
}

/// The index's hash of a record: its tuple hash's low 32 bits, spread over 64
/// (the index must rehash from what its entries hold).
#[inline]
fn index_hash(hash32: u32) -> u64 {
    u64::from(hash32).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl IndexEntry {
    /// Its hash in the index, from what it holds (so the index can grow and
    /// shrink without the ring).
    #[inline]
    fn rehash(&self) -> u64 {
        index_hash(self.hash32)
    }
}

/// Adds the entry of the record with serial `serial` and hash `hash32`.
fn index_insert(index: &mut HashTable<IndexEntry>, serial: u32, hash32: u32) {
    index.insert_unique(
        index_hash(hash32),
        IndexEntry { serial, hash32 },
        IndexEntry::rehash,
    );
}

/// The most records a table holds whatever the configured limit (serials are 32
/// bits and the ring holds at most twice the records, plus slack).
pub(crate) const MAX_RECORDS: usize = 1 << 30;

impl TimeWaitTable {
    pub(crate) fn new(hasher: KeyedState) -> TimeWaitTable {
        TimeWaitTable {
            ring: VecDeque::new(),
            base: 0,
            index: HashTable::new(),
            live: 0,
            hasher,
        }
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The ring position of the record `tuple` (hash `hash`) if it has one.
    #[inline]
    fn find(&self, tuple: &FourTuple, hash: u64) -> Option<usize> {
        let hash32 = hash as u32;
        let (ring, base) = (&self.ring, self.base);
        self.index
            .find(index_hash(hash32), |e| {
                e.hash32 == hash32
                    && ring
                        .get(e.serial.wrapping_sub(base) as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|r| r.tuple == *tuple)
            })
            .map(|e| e.serial.wrapping_sub(base) as usize)
    }

    /// Whether `tuple` is in TIME-WAIT (`hash`: its hash, computed here if not yet).
    pub(crate) fn contains(&self, tuple: &FourTuple, hash: &mut TupleHash) -> bool {
        self.find(tuple, hash.of(&self.hasher, tuple)).is_some()
    }

    /// The record of `tuple`, to read.
    pub(crate) fn get(&self, tuple: &FourTuple, hash: &mut TupleHash) -> Option<&TimeWaitRecord> {
        let at = self.find(tuple, hash.of(&self.hasher, tuple))?;
        self.ring[at].as_ref()
    }

    /// The record of `tuple`.
    pub(crate) fn get_mut(
        &mut self,
        tuple: &FourTuple,
        hash: &mut TupleHash,
    ) -> Option<&mut TimeWaitRecord> {
        let at = self.find(tuple, hash.of(&self.hasher, tuple))?;
        self.ring[at].as_mut()
    }

    /// Adds a record at the back (the tuple must not be in the table).
    pub(crate) fn insert(&mut self, tuple: FourTuple, hash: &mut TupleHash, state: TimeWaitState) {
        let hash = hash.of(&self.hasher, &tuple);
        self.push_back(TimeWaitRecord { tuple, state, hash });
        self.live += 1;
    }

    /// Puts `record` at the back of the ring and in the index.
    fn push_back(&mut self, record: TimeWaitRecord) {
        let serial = self.base.wrapping_add(self.ring.len() as u32);
        let hash32 = record.hash as u32;
        self.ring.push_back(Some(record));
        index_insert(&mut self.index, serial, hash32);
    }

    /// Takes the record at ring position `at` out of the ring and the index.
    fn take(&mut self, at: usize) -> Option<TimeWaitRecord> {
        let record = self.ring.get_mut(at)?.take()?;
        let serial = self.base.wrapping_add(at as u32);
        if let Ok(e) = self
            .index
            .find_entry(index_hash(record.hash as u32), |e| e.serial == serial)
        {
            e.remove();
        }
        self.live -= 1;
        Some(record)
    }

    /// Pops the records that left ahead of their turn off the front, packs the
    /// ring when they make up more than half of it (plus slack), so that the ring
    /// stays within twice the records however often they leave early, and gives
    /// back spare capacity when a burst of records has gone.
    fn tidy(&mut self) {
        while matches!(self.ring.front(), Some(None)) {
            self.ring.pop_front();
            self.base = self.base.wrapping_add(1);
        }
        if self.ring.len() > 2 * self.live + 64 {
            self.ring.retain(Option::is_some);
            self.base = 0;
            self.index.clear();
            for (serial, r) in self.ring.iter().flatten().enumerate() {
                index_insert(&mut self.index, serial as u32, r.hash as u32);
            }
        }
        if self.ring.capacity() > 4 * self.ring.len() + 1024 {
            self.ring.shrink_to(2 * self.ring.len());
            self.index.shrink_to(2 * self.live, IndexEntry::rehash);
        }
    }

    /// Moves the record to the back of the ring after its timeout was restarted:
    /// its new deadline comes after every other one queued so far.
    pub(crate) fn restarted(&mut self, tuple: &FourTuple, hash: &mut TupleHash) {
        let Some(at) = self.find(tuple, hash.of(&self.hasher, tuple)) else {
            return;
        };
        if at + 1 == self.ring.len() {
            return; // already last
        }
        if let Some(record) = self.take(at) {
            self.push_back(record);
            self.live += 1;
        }
        self.tidy();
    }

    /// Removes the record of `tuple`.
    pub(crate) fn remove(
        &mut self,
        tuple: &FourTuple,
        hash: &mut TupleHash,
    ) -> Option<TimeWaitRecord> {
        let at = self.find(tuple, hash.of(&self.hasher, tuple))?;
        let record = self.take(at);
        self.tidy();
        record
    }

    /// Removes and returns the oldest record: the first whose deadline is at or
    /// before `until` (any, when `until` is `None`).
    pub(crate) fn pop_oldest(&mut self, until: Option<Instant>) -> Option<TimeWaitRecord> {
        let front = self.ring.front()?.as_ref()?;
        if until.is_some_and(|u| front.state.expires > u) {
            return None;
        }
        let record = self.take(0);
        self.tidy();
        record
    }

    /// The earliest deadline: the front record's (one that entered late with an
    /// earlier deadline waits behind it, so it lives longer than 2 MSL, never
    /// shorter).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.ring
            .front()
            .and_then(Option::as_ref)
            .map(|r| r.state.expires)
    }

    /// Every record, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &TimeWaitRecord> {
        self.ring.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    use super::*;
    use crate::stack::tests::{Impairment, Pair};
    use crate::stack::{ListenOptions, Stack};
    use crate::time::Duration;
    use crate::wire::{TcpOptions, TcpTimestamp};
    use crate::Config;
    use proptest::prelude::*;

    const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A pair whose client (A) keeps at most `limit` TIME-WAIT records.
    fn pair_with_limit(limit: usize, seed: u64) -> Pair {
        let mut pair = Pair::new(Impairment::default(), seed);
        let mut cfg = Config::with_address(format!("{A4}/24").parse().unwrap()).seed(seed);
        cfg.tcp.time_wait_limit = limit;
        pair.a = Stack::new(cfg).unwrap();
        pair
    }

    /// Opens a connection from `port`, exchanges nothing, and closes it client
    /// first (the client ends in TIME-WAIT), both handles closed.
    fn open_and_close(pair: &mut Pair, listener: crate::SocketHandle, port: u16) {
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let local = SocketAddr::new(IpAddr::V4(A4), port);
        let c = pair.a.tcp_connect(pair.now, server, Some(local)).unwrap();
        let mut s = None;
        assert!(pair.run_until(Duration::from_secs(2), |p| {
            s = s.or_else(|| p.b.tcp_accept(listener).ok().map(|x| x.0));
            s.is_some()
        }));
        pair.a.close(pair.now, c).unwrap();
        pair.run_until(Duration::from_millis(50), |_| false);
        pair.b.close(pair.now, s.unwrap()).unwrap();
        pair.run_until(Duration::from_millis(50), |_| false);
    }

    #[test]
    fn a_closed_time_wait_connection_frees_its_slot_and_keeps_a_record() {
        let mut pair = pair_with_limit(16, 40);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        open_and_close(&mut pair, l, 40001);
        assert_eq!(pair.a.sockets.len(), 0, "the connection's slot is freed");
        assert_eq!(pair.a.time_wait_count(), 1);
        let rows = pair.a.socket_table(pair.now);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, "TIME-WAIT");
        assert_eq!(rows[0].handle, crate::SocketHandle::DETACHED);
        assert_eq!(rows[0].timer.map(|t| t.0), Some("timewait"));
        // The tuple stays in use until TIME-WAIT ends.
        let local = SocketAddr::new(IpAddr::V4(A4), 40001);
        assert_eq!(
            pair.a.tcp_connect(pair.now, server, Some(local)),
            Err(crate::Error::AddrInUse)
        );
        pair.run_until(Duration::from_secs(61), |_| false);
        assert_eq!(pair.a.time_wait_count(), 0);
        assert!(pair.a.tcp_connect(pair.now, server, Some(local)).is_ok());
    }

    #[test]
    fn the_time_wait_limit_recycles_the_oldest_record_and_counts_it() {
        let mut pair = pair_with_limit(2, 41);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        for port in [40001, 40002, 40003] {
            open_and_close(&mut pair, l, port);
        }
        assert_eq!(pair.a.time_wait_count(), 2);
        assert_eq!(pair.a.stats().tcp.time_wait_overflow, 1);
        let in_time_wait: Vec<u16> = pair
            .a
            .socket_table(pair.now)
            .iter()
            .map(|r| r.local.port())
            .collect();
        assert!(in_time_wait.contains(&40002) && in_time_wait.contains(&40003));
        // The oldest tuple is free again, the others are not.
        let local = |p| Some(SocketAddr::new(IpAddr::V4(A4), p));
        assert_eq!(
            pair.a.tcp_connect(pair.now, server, local(40002)),
            Err(crate::Error::AddrInUse)
        );
        assert!(pair.a.tcp_connect(pair.now, server, local(40001)).is_ok());
    }

    /// `tcp_listen`'s `AddrInUse` walks the TIME-WAIT records (no per-port
    /// count): a record's port is in use until the record goes, whether it goes
    /// by the limit (the oldest evicted) or by its time running out.
    #[test]
    fn a_listener_may_take_a_port_once_its_time_wait_record_is_gone() {
        let mut pair = pair_with_limit(2, 43);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        for port in [40001, 40002, 40003] {
            open_and_close(&mut pair, l, port);
        }
        assert_eq!(pair.a.time_wait_count(), 2);
        let at = |p| SocketAddr::new(IpAddr::V4(A4), p);
        let any = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p);
        let opts = ListenOptions::default;
        for p in [40002, 40003] {
            assert_eq!(
                pair.a.tcp_listen(at(p), opts()),
                Err(crate::Error::AddrInUse)
            );
            assert_eq!(
                pair.a.tcp_listen(any(p), opts()),
                Err(crate::Error::AddrInUse)
            );
        }
        // The evicted record's port is free; `reuse_addr` takes a record's.
        let evicted = pair.a.tcp_listen(at(40001), opts()).unwrap();
        let reuse = ListenOptions {
            reuse_addr: true,
            ..opts()
        };
        let reused = pair.a.tcp_listen(at(40002), reuse).unwrap();
        for h in [evicted, reused] {
            pair.a.close(pair.now, h).unwrap();
        }
        pair.run_until(Duration::from_secs(61), |_| false);
        assert_eq!(pair.a.time_wait_count(), 0);
        assert!(pair.a.tcp_listen(any(40003), opts()).is_ok(), "expired");
        // With no record kept at all, the port is free at once.
        let mut pair = pair_with_limit(0, 44);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        open_and_close(&mut pair, l, 40001);
        assert!(pair.a.tcp_listen(at(40001), opts()).is_ok());
    }

    #[test]
    fn a_zero_time_wait_limit_keeps_no_record() {
        let mut pair = pair_with_limit(0, 42);
        let server = SocketAddr::new(IpAddr::V4(B4), 80);
        let l = pair.b.tcp_listen(server, ListenOptions::default()).unwrap();
        open_and_close(&mut pair, l, 40001);
        assert_eq!(pair.a.time_wait_count(), 0);
        assert_eq!(pair.a.sockets.len(), 0);
        assert_eq!(pair.a.stats().tcp.time_wait_overflow, 1);
    }

    fn record(ts_recent: Option<u32>) -> TimeWaitRecord {
        TimeWaitRecord {
            tuple: FourTuple::new(
                SocketAddr::new(IpAddr::V4(A4), 40001),
                SocketAddr::new(IpAddr::V4(B4), 80),
            ),
            state: TimeWaitState {
                snd_nxt: SeqNumber(5000),
                rcv_nxt: SeqNumber(9000),
                rcv_wnd: 65535,
                window: 65535,
                max_snd_wnd: 65535,
                ts_recent,
                ts_offset: 0,
                expires: Instant::from_nanos(60_000_000_000),
                last_answer: None,
                ttl: 64,
                dscp: 0,
            },
            hash: 0,
        }
    }

    #[test]
    fn records_stay_found_and_expire_in_order_as_the_table_grows() {
        let mut table = TimeWaitTable::new(KeyedState::new(crate::rand::StackRng::from_seed(3)));
        let tuple = |i: u16| {
            FourTuple::new(
                SocketAddr::new(IpAddr::V4(A4), 1024 + i),
                SocketAddr::new(IpAddr::V4(B4), 80),
            )
        };
        // Many growths of the table, each rehashing every record with its kept hash.
        for i in 0..3000 {
            let mut state = record(None).state;
            state.expires = Instant::from_nanos(u64::from(i) + 1);
            table.insert(tuple(i), &mut TupleHash::default(), state);
        }
        for i in 0..3000 {
            assert!(table.contains(&tuple(i), &mut TupleHash::default()), "{i}");
        }
        assert!(!table.contains(&tuple(3000), &mut TupleHash::default()));
        for i in 0..3000 {
            let r = table.pop_oldest(None).unwrap();
            assert_eq!(r.tuple, tuple(i));
            assert!(!table.contains(&tuple(i), &mut TupleHash::default()));
        }
        assert!(table.is_empty());
    }

    /// One step of [`the_ring_and_its_index_agree_with_a_plain_queue`].
    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u64),
        Remove(u16),
        Restart(u16, u64),
        Pop(Option<u64>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..48u16, 1..1000u64).prop_map(|(i, t)| Op::Insert(i, t)),
            2 => (0..48u16).prop_map(Op::Remove),
            3 => (0..48u16, 1..2000u64).prop_map(|(i, t)| Op::Restart(i, t)),
            1 => proptest::option::of(0..2000u64).prop_map(Op::Pop),
        ]
    }

    proptest! {
        /// The ring, its index, the tombstones that restarts and early removals
        /// leave, the packing and serials that wrap around 2^32 against a plain
        /// queue of (tuple, deadline) in the order the deadlines were set.
        #[test]
        fn the_ring_and_its_index_agree_with_a_plain_queue(
            base in prop_oneof![Just(0u32), Just(u32::MAX - 20), any::<u32>()],
            ops in proptest::collection::vec(op(), 1..400),
        ) {
            let mut table =
                TimeWaitTable::new(KeyedState::new(crate::rand::StackRng::from_seed(9)));
            table.base = base;
            let tuple = |i: u16| {
                FourTuple::new(
                    SocketAddr::new(IpAddr::V4(A4), 1024 + i),
                    SocketAddr::new(IpAddr::V4(B4), 80),
                )
            };
            let at = Instant::from_nanos;
            let mut model: Vec<(FourTuple, Instant)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(i, t) => {
                        if !model.iter().any(|m| m.0 == tuple(i)) {
                            let mut state = record(None).state;
                            state.expires = at(t);
                            table.insert(tuple(i), &mut TupleHash::default(), state);
                            model.push((tuple(i), at(t)));
                        }
                    }
                    Op::Remove(i) => {
                        let got = table.remove(&tuple(i), &mut TupleHash::default());
                        let want = model.iter().position(|m| m.0 == tuple(i)).map(|p| model.remove(p));
                        prop_assert_eq!(got.map(|r| (r.tuple, r.state.expires)), want);
                    }
                    Op::Restart(i, t) => {
                        let key = tuple(i);
                        if let Some(r) = table.get_mut(&key, &mut TupleHash::default()) {
                            r.state.expires = at(t);
                            table.restarted(&key, &mut TupleHash::default());
                        }
                        if let Some(p) = model.iter().position(|m| m.0 == key) {
                            model.remove(p);
                            model.push((key, at(t)));
                        }
                    }
                    Op::Pop(until) => {
                        let got = table.pop_oldest(until.map(at));
                        let want = match model.first() {
                            Some(m) if until.is_none_or(|u| m.1 <= at(u)) => Some(model.remove(0)),
                            _ => None,
                        };
                        prop_assert_eq!(got.map(|r| (r.tuple, r.state.expires)), want);
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                let order: Vec<_> = table.iter().map(|r| (r.tuple, r.state.expires)).collect();
                prop_assert_eq!(&order, &model);
                for (t, _) in &model {
                    prop_assert!(table.contains(t, &mut TupleHash::default()));
                }
                prop_assert_eq!(table.poll_timeout(), model.first().map(|m| m.1));
                prop_assert!(table.ring.len() <= 2 * table.len() + 64);
                prop_assert!(!matches!(table.ring.front(), Some(None)));
                prop_assert_eq!(table.index.len(), table.len());
            }
        }
    }

    /// A peer that retransmits its FIN again and again moves its record to the
    /// back each time: the ring stays within twice the records.
    #[test]
    fn restarts_without_end_keep_the_ring_bounded() {
        let mut table = TimeWaitTable::new(KeyedState::new(crate::rand::StackRng::from_seed(5)));
        let tuple = |i: u16| {
            FourTuple::new(
                SocketAddr::new(IpAddr::V4(A4), 1024 + i),
                SocketAddr::new(IpAddr::V4(B4), 80),
            )
        };
        for i in 0..100 {
            table.insert(tuple(i), &mut TupleHash::default(), record(None).state);
        }
        for n in 0..100_000u64 {
            let key = tuple((n % 99) as u16); // never the last one: always a move
            let r = table.get_mut(&key, &mut TupleHash::default()).unwrap();
            r.state.expires = Instant::from_nanos(n);
            table.restarted(&key, &mut TupleHash::default());
            assert!(table.ring.len() <= 2 * 100 + 64, "{}", table.ring.len());
        }
        assert_eq!(table.len(), 100);
        assert!((0..100).all(|i| table.contains(&tuple(i), &mut TupleHash::default())));
    }

    fn seg(seq: u32, ack: u32, flags: TcpFlags, tsval: Option<u32>) -> TcpRepr<'static> {
        let options = TcpOptions {
            timestamp: tsval.map(|tsval| TcpTimestamp { tsval, tsecr: 0 }),
            ..TcpOptions::default()
        };
        TcpRepr {
            src_port: 80,
            dst_port: 40001,
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(ack),
            flags,
            window_len: 1000,
            urgent_pointer: 0,
            options,
            payload: &[],
        }
    }

    #[test]
    fn a_retransmitted_fin_is_acknowledged_and_restarts_the_timeout() {
        let cfg = TcpConfig::default();
        let mut r = record(None);
        let now = Instant::from_nanos(30_000_000_000);
        let fin = seg(8999, 5000, TcpFlags::FIN | TcpFlags::ACK, None);
        assert_eq!(r.on_segment(now, &fin, &cfg), TimeWaitVerdict::AckRestart);
        assert_eq!(r.state.expires, now + cfg.time_wait);
        // Again at once: still answered (the FIN's ACK is not rate-limited).
        assert_eq!(r.on_segment(now, &fin, &cfg), TimeWaitVerdict::AckRestart);
    }

    #[test]
    fn rst_and_syn_follow_rfc_5961() {
        let cfg = TcpConfig::default();
        let now = Instant::from_nanos(30_000_000_000);
        let mut r = record(None);
        // A RST in the window but not at RCV.NXT draws a challenge ACK ...
        let near = seg(9100, 0, TcpFlags::RST, None);
        assert_eq!(r.on_segment(now, &near, &cfg), TimeWaitVerdict::Ack);
        // ... rate-limited ...
        assert_eq!(r.on_segment(now, &near, &cfg), TimeWaitVerdict::Drop);
        // ... one outside the window is dropped, one at RCV.NXT ends TIME-WAIT.
        let far = seg(900_000, 0, TcpFlags::RST, None);
        assert_eq!(r.on_segment(now, &far, &cfg), TimeWaitVerdict::Drop);
        let exact = seg(9000, 0, TcpFlags::RST, None);
        assert_eq!(r.on_segment(now, &exact, &cfg), TimeWaitVerdict::Close);
        // A SYN in the window draws a challenge ACK.
        let mut r = record(None);
        let syn = seg(9000, 0, TcpFlags::SYN, None);
        assert_eq!(r.on_segment(now, &syn, &cfg), TimeWaitVerdict::Ack);
    }

    #[test]
    fn a_syn_reuses_the_tuple_only_with_a_newer_timestamp() {
        let r = record(Some(1000));
        assert!(r.accepts_syn(&seg(1, 0, TcpFlags::SYN, Some(1001))));
        assert!(!r.accepts_syn(&seg(1, 0, TcpFlags::SYN, Some(999))));
        assert!(!r.accepts_syn(&seg(1, 0, TcpFlags::SYN, None)));
        let r = record(None);
        assert!(r.accepts_syn(&seg(9001, 0, TcpFlags::SYN, None)));
        assert!(!r.accepts_syn(&seg(8000, 0, TcpFlags::SYN, None)));
    }

    #[test]
    fn an_old_timestamp_is_answered_and_changes_nothing() {
        let cfg = TcpConfig::default();
        let now = Instant::from_nanos(30_000_000_000);
        let mut r = record(Some(1000));
        let old = seg(9000, 5000, TcpFlags::ACK, Some(999));
        assert_eq!(r.on_segment(now, &old, &cfg), TimeWaitVerdict::Ack);
        assert_eq!(r.state.ts_recent, Some(1000));
    }
}

#[cfg(test)]
mod size_tests {
    /// A record is what a TIME-WAIT connection costs once its slot is freed
    /// (plus its index entry and both structures' spare capacity).
    #[test]
    fn a_time_wait_record_stays_small() {
        let size = core::mem::size_of::<Option<super::TimeWaitRecord>>();
        assert!(size <= 120, "{size}");
        assert_eq!(core::mem::size_of::<super::IndexEntry>(), 8);
    }
}
