//! The connection's side of congestion control: the controller ([`crate::cc`]) it
//! drives, NewReno's fast-recovery window (RFC 6582), and the per-segment records the
//! delivery-rate estimator needs. All of it lives in one box, [`CcState`], allocated
//! when the connection first sends data or meets a congestion event: a connection
//! that stays idle holds none of it.

use std::collections::VecDeque;

use super::Connection;
use crate::cc::{
    AckSample, Bbr, CcAlgorithm, CcParams, CongestionControl, CongestionKind, Cubic,
    DeliveryRateEstimator, NewReno, RateSample, TxState,
};
use crate::tcp::prr::Prr;
use crate::tcp::rack::Rack;
use crate::tcp::scoreboard::Scoreboard;
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// The most send records a connection keeps; past it a segment joins the last record
/// (its bytes then share that record's send state) and the merge is counted.
pub(crate) const MAX_TX_RECORDS: usize = 4096;

/// A fast recovery under way (RFC 6582).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// `recover`: the highest sequence number sent when it began (SND.MAX − 1).
    pub(crate) recover: SeqNumber,
    /// The window while it lasts: the controller's reduced window plus three
    /// segments, one more per further duplicate ACK, deflated by partial ACKs; in a
    /// SACK recovery, pipe plus PRR's sndcnt of the last ACK.
    pub(crate) cwnd: u32,
    /// A SACK recovery (RFC 6675) paced by proportional rate reduction (RFC 6937);
    /// `None` in NewReno's (RFC 6582).
    pub(crate) prr: Option<Prr>,
}

/// Payload bytes `[start, end)` sent with `tx`: one segment (its last
/// transmission), which is also what RACK (RFC 8985) times.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxRecord {
    pub(super) start: SeqNumber,
    pub(super) end: SeqNumber,
    pub(super) tx: TxState,
    /// The peer SACKed all of it (RACK has seen its delivery).
    pub(super) sacked: bool,
    /// It was sent more than once (`Segment.retransmitted` of RFC 8985).
    pub(super) retransmitted: bool,
    /// SACKed once: the delivery-rate estimator counted it delivered then (unlike
    /// `sacked`, never cleared: a timeout's resend must not count it twice).
    pub(super) rate_sacked: bool,
    /// RACK deemed its last transmission lost and the delivery-rate estimator
    /// counted it lost then, so its retransmission does not count it again
    /// (cleared when it is sent again).
    pub(super) rate_lost: bool,
}

/// The records one ACK delivers, for one call of
/// [`DeliveryRateEstimator::on_packet_delivered`]: calls per record, in sequence
/// order, add up their bytes and leave the estimator's sample on the last of the
/// most recently sent (the greatest send time, then the greatest delivered
/// count, later records winning ties), which is `newest`.
#[derive(Default)]
struct Delivered {
    bytes: usize,
    newest: Option<TxState>,
}

impl Delivered {
    #[inline]
    fn add(&mut self, bytes: usize, tx: &TxState) {
        self.bytes = self.bytes.saturating_add(bytes);
        let newer = self.newest.is_none_or(|n| {
            tx.sent_time > n.sent_time
                || (tx.sent_time == n.sent_time && tx.delivered >= n.delivered)
        });
        if newer {
            self.newest = Some(*tx);
        }
    }
}

/// The data delivered over the last timed round trip and that round trip, as
/// the RTT sample took them: the delivery rate `tcp_info` reports, divided out
/// when it is read rather than at every sample (a division per ACK of new data
/// that nothing on the data path reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DeliverySample {
    /// Bytes acknowledged between the timed segment's sending and its ACK.
    pub(super) bytes: u64,
    /// The round trip, in nanoseconds.
    pub(super) rtt_nanos: u64,
}

impl DeliverySample {
    /// Bytes per second (0 before the first sample, or with nothing delivered).
    pub(super) fn rate(&self) -> u64 {
        bytes_per_second(self.bytes, self.rtt_nanos)
    }
}

/// `bytes` over `rtt_nanos` nanoseconds in bytes per second (at most
/// `u64::MAX`). In 64 bits when `bytes` · 10⁹ fits, as it does for any real
/// sample: the same quotient without a 128-bit division.
fn bytes_per_second(bytes: u64, rtt_nanos: u64) -> u64 {
    let nanos = rtt_nanos.max(1);
    if let Some(scaled) = bytes.checked_mul(1_000_000_000) {
        return scaled / nanos;
    }
    (u128::from(bytes) * 1_000_000_000 / u128::from(nanos)).min(u128::from(u64::MAX)) as u64
}

/// [`CcState::probe_due`]'s bit for a tail loss probe (RFC 8985 section 7).
pub(super) const TLP_DUE: u8 = 1;
/// [`CcState::probe_due`]'s bit for a packetization-layer path MTU probe (RFC
/// 4821 section 7, `plpmtud`).
pub(super) const MTU_PROBE_DUE: u8 = 2;

/// The congestion-control state of a connection, with its controller at the end:
/// `Box<CcState>` holds a built-in controller in the same allocation (one
/// `malloc`/`free` per connection instead of two).
///
/// The fields are in a deliberate order (`#[repr(C)]`): the ones nearly every
/// segment touches are contiguous (264 bytes: at most 6 lines, wherever
/// `malloc` puts the box), the ones touched only at a loss or a reset are
/// apart. Measured in `layer4-bench connect --window 64`, where a
/// connection's state is out of the L1 data cache at each visit
/// (docs/benchmarks.md, session 12, branch data12).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct CcState<C: ?Sized = dyn CongestionControl> {
    // Touched when a loss is counted or the state is renewed.
    /// The last recovery point, kept after recovery ends so that duplicate ACKs for
    /// data sent before it do not start another recovery (RFC 6582 section 3.2 step 2).
    pub(super) last_recover: Option<SeqNumber>,
    /// The SND.UNA at which a resend from a rewound SND.NXT (a path MTU drop's
    /// go-back-N) last restarted the retransmission timer: once per SND.UNA
    /// (see `head_restart_allowed`).
    pub(super) head_restart_una: Option<SeqNumber>,
    /// Loss detection and undo counters (written through
    /// [`loss_mut`](Self::loss_mut), which notes the change).
    loss: crate::tcp::info::LossCounters,
    /// `loss` as the stack last summed it (see `take_new_loss_counts`).
    loss_reported: crate::tcp::info::LossCounters,

    // Touched by an ACK of new data (the delivery rate, undo, retransmissions out).
    /// The delivery-rate estimator.
    pub(super) rate: DeliveryRateEstimator,
    /// The controller heard of this run of retransmission timeouts.
    rto_reacted: bool,
    /// Retransmitted data still outstanding: our timestamp value when the first
    /// of it left, and where the highest of it ends (Linux's `retrans_stamp`).
    /// A congestion response that begins while it is outstanding inherits it (see
    /// [`Undo::begin`](super::undo::Undo::begin)).
    pub(super) retrans_out: Option<(u32, SeqNumber)>,
    /// The last congestion response, while it may still prove spurious.
    pub(super) undo: Option<super::undo::Undo>,
    /// The last timed round trip's delivery (here, not in the connection: the
    /// per-connection state of an idle socket stays small), kept as measured:
    /// only `tcp_info` reads the rate it makes ([`DeliverySample::rate`]).
    pub(super) delivery: DeliverySample,

    // Touched by nearly every segment in or out (RACK, F-RTO, recovery, the
    // records of segments sent and the scoreboard).
    /// RACK-TLP's state (RFC 8985).
    pub(super) rack: Rack,
    /// F-RTO (RFC 5682) after a retransmission timeout, while it runs.
    pub(super) frto: Option<super::frto::Frto>,
    /// The probes waiting to be sent, as bits: a tail loss probe
    /// ([`TLP_DUE`]) and a path MTU probe ([`MTU_PROBE_DUE`], `plpmtud`). One
    /// byte, so that the transmit paths' "is a probe due" stays one test.
    pub(super) probe_due: u8,
    /// `loss` changed since the stack last summed it: the book-keeping pass after
    /// every call asks, and comparing the nine counters each time cost more than
    /// this flag.
    loss_changed: bool,
    /// The fast recovery under way, with its window.
    pub(super) recovery: Option<Recovery>,
    /// Payload sent and not yet acknowledged, with its send state (at most
    /// [`MAX_TX_RECORDS`]).
    pub(super) tx_records: VecDeque<TxRecord>,
    /// The SACK scoreboard (RFC 6675), once the peer sent a SACK block or a
    /// recovery began on a connection that negotiated SACK.
    pub(super) board: Option<Scoreboard>,

    // Touched when pacing is on, and the controller.
    /// The pacing clock (here, not in the connection: only a sender needs it).
    pub(super) pacer: super::pacing::Pacer,
    /// The packetization-layer path MTU search (RFC 4821), from the first PMTU
    /// black hole found on (`plpmtud`); none before. Here, not in the
    /// connection: only a timeout starts it; after the hot group, which it
    /// would move.
    pub(super) mtu: Option<Box<super::plpmtud::MtuSearch>>,
    /// The controller (last: the one field of unknown size).
    pub(super) cc: C,
}

/// An ACK of new data (to `ack`, `acked` bytes) during a fast recovery: ends it
/// when `ack` passes its recovery point, else, in NewReno's, deflates its window
/// (a partial ACK). Returns (partial ACK, recovery ended). Out of line: the common
/// ACK finds no recovery.
#[cold]
#[inline(never)]
fn on_ack_in_recovery(s: &mut CcState, ack: SeqNumber, acked: u32, mss: u32) -> (bool, bool) {
    let mut partial = false;
    let mut ended = false;
    if let Some(r) = s.recovery.as_mut() {
        if ack > r.recover {
            s.last_recover = Some(r.recover);
            s.recovery = None;
            s.rack.on_recovery_exit();
            ended = true;
        } else if r.prr.is_some() {
            // A SACK recovery: the window follows PRR (`sack`), the scoreboard
            // says what to resend.
        } else {
            //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
            //# Partial acknowledgments:
            //# If this ACK does *not* acknowledge all of the data up to and
            //# including recover, then this is a partial ACK.  In this case,
            //# retransmit the first unacknowledged segment.  Deflate the
            //# congestion window by the amount of new data acknowledged by the
            //# Cumulative Acknowledgment field.  If the partial ACK
            //# acknowledges at least one SMSS of new data, then add back SMSS
            //# bytes to the congestion window.
            r.cwnd = r.cwnd.saturating_sub(acked);
            if acked >= mss {
                r.cwnd += mss;
            }
            r.cwnd = r.cwnd.max(mss);
            partial = true;
        }
    }
    (partial, ended)
}

impl CcState {
    /// What `loss` grew by since it was last reported, if anything, now reported
    /// (`Connection::take_new_loss_counts` once the loss counters were written).
    #[cold]
    #[inline(never)]
    fn take_loss_difference(&mut self) -> Option<crate::tcp::info::LossCounters> {
        if self.loss == self.loss_reported {
            return None;
        }
        let d = self.loss.since(&self.loss_reported);
        self.loss_reported = self.loss;
        Some(d)
    }
}

impl CcState {
    /// The loss and undo counters, to count an event.
    #[inline]
    pub(super) fn loss_mut(&mut self) -> &mut crate::tcp::info::LossCounters {
        self.loss_changed = true;
        &mut self.loss
    }

    /// The loss and undo counters.
    #[inline]
    pub(super) fn loss(&self) -> &crate::tcp::info::LossCounters {
        &self.loss
    }

    /// The state of a new connection around the controller `algorithm` builds
    /// (as [`CcAlgorithm::build`] would: an index the registry does not hold
    /// falls back to CUBIC).
    fn build(
        algorithm: CcAlgorithm,
        registry: &crate::cc::CcRegistry,
        params: &CcParams,
    ) -> Box<CcState> {
        match algorithm {
            CcAlgorithm::NewReno => CcState::boxed(NewReno::new(params.mss, params.initial_window)),
            CcAlgorithm::Cubic => CcState::boxed(Cubic::new(params.mss, params.initial_window)),
            CcAlgorithm::Bbr => {
                CcState::boxed(Bbr::new(params.mss, params.initial_window, params.seed))
            }
            CcAlgorithm::Custom(_) => {
                CcState::boxed(OwnController(algorithm.build(registry, params)))
            }
        }
    }

    /// A new state around `cc`, in one allocation.
    fn boxed<C: CongestionControl + 'static>(cc: C) -> Box<CcState> {
        Box::new(CcState {
            cc,
            recovery: None,
            last_recover: None,
            head_restart_una: None,
            board: None,
            rto_reacted: false,
            mtu: None,
            rate: DeliveryRateEstimator::new(),
            tx_records: VecDeque::new(),
            delivery: DeliverySample::default(),
            pacer: Default::default(),
            rack: Rack::new(),
            probe_due: 0,
            undo: None,
            retrans_out: None,
            loss: Default::default(),
            loss_changed: false,
            frto: None,
            loss_reported: Default::default(),
        })
    }
}

impl CcState {
    /// Makes this state the one [`build`](Self::build) would make for `algorithm`
    /// and `params`, in place (its allocation kept), when its controller can be
    /// renewed as `algorithm`'s ([`CongestionControl::renew`]); returns whether it
    /// was. Every field gets [`boxed`](Self::boxed)'s value (the pattern names
    /// them all, so a new field that is not renewed here does not compile).
    fn renew(&mut self, algorithm: CcAlgorithm, params: &CcParams) -> bool {
        if !self.cc.renew(algorithm, params) {
            return false;
        }
        let CcState {
            cc: _,
            recovery,
            last_recover,
            head_restart_una,
            board,
            rto_reacted,
            mtu,
            rate,
            tx_records,
            delivery,
            pacer,
            rack,
            probe_due,
            undo,
            retrans_out,
            loss,
            loss_changed,
            frto,
            loss_reported,
        } = self;
        *recovery = None;
        *last_recover = None;
        *head_restart_una = None;
        *board = None;
        *rto_reacted = false;
        *mtu = None;
        *rate = DeliveryRateEstimator::new();
        // The records' room (at most `TX_RECORDS_KEPT`, see `reusable`) is kept:
        // the next flight fills it without an allocation.
        tx_records.clear();
        *delivery = DeliverySample::default();
        *pacer = Default::default();
        *rack = Rack::new();
        *probe_due = 0;
        *undo = None;
        *retrans_out = None;
        *loss = Default::default();
        *loss_changed = false;
        *frto = None;
        *loss_reported = Default::default();
        true
    }
}

/// A freed connection's congestion state, kept (without the storage it held,
/// but for a short flight's send records' room: [`TX_RECORDS_KEPT`]) for the
/// connection that reuses the slot: its first
/// [`ccs`](Connection::ccs) renews it in place
/// ([`CcState::renew`]) instead of allocating a new one. Not part of the
/// connection's state: `Debug` prints nothing of it, so a reused connection
/// reads as a fresh one.
///
/// Behind a thin pointer to a small box of its own, so that the connection
/// grows by 8 bytes, not by the 16 of the state's wide pointer: its slot stays
/// one 896-byte `malloc` chunk (see `per_connection_state_stays_compact`). The
/// small box stays with the slot once made (taking the state leaves it empty),
/// so that reuse allocates and frees nothing: a connection in a reused slot
/// holds those 16 bytes more.
#[derive(Default)]
pub(crate) struct SpareCc(Option<Box<Option<Box<CcState>>>>);

impl std::fmt::Debug for SpareCc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpareCc")
    }
}

impl SpareCc {
    /// Keeps `cc` (a freed connection's, built for `algorithm`) for reuse,
    /// after letting go of the storage it holds (SACK scoreboard, send
    /// records' room past [`TX_RECORDS_KEPT`]). An
    /// application's own controller is never renewed ([`CongestionControl::renew`]),
    /// so its state is dropped here, with its connection, rather than kept
    /// (holding the application's object, and heap bytes `bytes` cannot see)
    /// until the slot's next connection drops it.
    pub(crate) fn keep(&mut self, cc: Option<Box<CcState>>, algorithm: CcAlgorithm) {
        if let Some(cc) = reusable(cc, algorithm) {
            self.put(cc);
        }
    }

    /// The kept state, if any (the small box stays).
    fn take(&mut self) -> Option<Box<CcState>> {
        self.0.as_deref_mut().and_then(Option::take)
    }

    /// Whether a state is kept.
    fn holds_state(&self) -> bool {
        self.0.as_deref().is_some_and(Option::is_some)
    }

    /// Bytes the kept state holds, with the small box.
    pub(crate) fn bytes(&self) -> usize {
        self.0.as_deref().map_or(0, |kept| {
            core::mem::size_of::<Option<Box<CcState>>>() + kept.as_deref().map_or(0, kept_bytes)
        })
    }

    /// Keeps `cc`, a state taken from the stack's [`CcPool`] (already without
    /// storage past a short flight's records).
    fn put(&mut self, cc: Box<CcState>) {
        match &mut self.0 {
            Some(kept) => **kept = Some(cc),
            None => self.0 = Some(Box::new(Some(cc))),
        }
    }
}

/// A freed connection's state `cc`, built for `algorithm`, without the storage
/// it holds (SACK scoreboard, send records: their room is kept, empty, when it
/// is at most [`TX_RECORDS_KEPT`]), if it can be renewed: an
/// application's own controller never is ([`CongestionControl::renew`]), so its
/// state is dropped here, with its connection.
#[inline]
fn reusable(cc: Option<Box<CcState>>, algorithm: CcAlgorithm) -> Option<Box<CcState>> {
    if matches!(algorithm, CcAlgorithm::Custom(_)) {
        crate::hint::cold_path();
        return None;
    }
    let mut cc = cc?;
    if cc.tx_records.capacity() > TX_RECORDS_KEPT {
        // A bulk sender's room: once per such connection.
        crate::hint::cold_path();
        cc.tx_records = VecDeque::new();
    } else {
        cc.tx_records.clear();
    }
    if cc.board.is_some() {
        // A scoreboard is made by the first SACK that reports a hole.
        crate::hint::cold_path();
        cc.board = None;
    }
    Some(cc)
}

/// The most send records' room a kept state holds on to (see [`reusable`]): a
/// short connection's flight (an initial window's segments) fits, so its
/// records cost no allocation, while a bulk sender's room (up to
/// [`MAX_TX_RECORDS`]) is freed with its connection.
pub(crate) const TX_RECORDS_KEPT: usize = 16;

/// Heap bytes of `cc`'s state with the send records' room it holds (a kept
/// state holds no scoreboard: [`reusable`]).
fn kept_bytes(cc: &CcState) -> usize {
    core::mem::size_of_val(cc) + cc.tx_records.capacity() * core::mem::size_of::<TxRecord>()
}

/// The stack's kept congestion states, at most `max`: a freed slot's state
/// ([`SpareCc`]) comes here when the slot is kept for reuse, and goes to a
/// connection only when it is about to send ([`CcPool::lend`]), so that a
/// connection that stays idle in a reused slot holds no state it does not use
/// (an idle server connection would otherwise carry its slot's previous
/// state, 560 to 960 bytes, for as long as it lives).
#[derive(Debug, Default)]
pub(crate) struct CcPool(Vec<Box<CcState>>);

impl CcPool {
    /// Takes the states of a freed connection, `conn`, its own and any it was
    /// lent and did not use, keeping them while the pool holds fewer than `max`
    /// (the rest are freed). Run before [`Connection::shed`], which then finds
    /// no state to keep in the slot.
    pub(crate) fn collect(&mut self, conn: &mut Connection, max: usize) {
        if let Some(cc) = reusable(conn.cc.take(), conn.cc_algorithm) {
            self.push(cc, max);
        }
        if let Some(cc) = conn.cc_spare.take() {
            self.push(cc, max);
        }
    }

    fn push(&mut self, cc: Box<CcState>, max: usize) {
        // Past the bound the state is handed back, and freed here.
        let _ = crate::tcp::spare_list::push_bounded(&mut self.0, cc, max);
    }

    /// Hands a kept state to `conn` when it has no controller yet and keeps
    /// none: it is about to send, and its first segment makes its controller
    /// ([`Connection::make_ccs`], which renews the state when the algorithm
    /// matches). An own controller is never renewed, so it gets none.
    #[inline]
    pub(crate) fn lend(&mut self, conn: &mut Connection) {
        if self.0.is_empty()
            || conn.cc.is_some()
            || matches!(conn.cc_algorithm, CcAlgorithm::Custom(_))
            || conn.cc_spare.holds_state()
        {
            return;
        }
        if let Some(cc) = self.0.pop() {
            conn.cc_spare.put(cc);
        }
    }

    /// Bytes the kept states hold, with the list.
    pub(crate) fn bytes(&self) -> usize {
        self.0.iter().map(|s| kept_bytes(s)).sum::<usize>()
            + self.0.capacity() * core::mem::size_of::<Box<CcState>>()
    }

    /// States kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// An application's own controller (from the registry, already boxed) as the
/// controller of a [`CcState`]: every call is forwarded.
struct OwnController(Box<dyn CongestionControl>);

impl std::fmt::Debug for OwnController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl CongestionControl for OwnController {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn window(&self) -> usize {
        self.0.window()
    }
    fn ssthresh(&self) -> Option<usize> {
        self.0.ssthresh()
    }
    fn in_slow_start(&self) -> bool {
        self.0.in_slow_start()
    }
    fn pacing_rate(&self) -> Option<u64> {
        self.0.pacing_rate()
    }
    fn on_sent(&mut self, now: Instant, bytes: usize, bytes_in_flight: usize) {
        self.0.on_sent(now, bytes, bytes_in_flight);
    }
    fn on_ack(&mut self, now: Instant, sample: &AckSample) {
        self.0.on_ack(now, sample);
    }
    fn on_congestion_event(&mut self, now: Instant, kind: CongestionKind, bytes_in_flight: usize) {
        self.0.on_congestion_event(now, kind, bytes_in_flight);
    }
    fn on_recovery_end(&mut self, now: Instant, bytes_in_flight: usize) {
        self.0.on_recovery_end(now, bytes_in_flight);
    }
    fn on_spurious_congestion_event(&mut self, now: Instant) {
        self.0.on_spurious_congestion_event(now);
    }
    fn on_mtu_update(&mut self, mss: usize) {
        self.0.on_mtu_update(mss);
    }
    fn controls_recovery_window(&self) -> bool {
        self.0.controls_recovery_window()
    }
    fn model(&self) -> Option<crate::cc::CcModel> {
        self.0.model()
    }
}

/// Frees the send records' grown buffer once every record is acknowledged. Out
/// of line: only a connection that had more than 64 records in flight needs it.
#[cold]
#[inline(never)]
fn shrink_tx_records(s: &mut CcState) {
    s.tx_records.shrink_to_fit();
}

impl Connection {
    /// The parameters a controller of this connection is made with.
    fn cc_params(&self) -> CcParams {
        CcParams {
            mss: usize::from(self.mss.max(1)),
            initial_window: self.config.initial_cwnd,
            seed: u64::from(self.iss.0),
        }
    }

    /// The congestion state, allocated on first use.
    #[inline]
    pub(super) fn ccs(&mut self) -> &mut CcState {
        if self.cc.is_none() {
            self.make_ccs();
        }
        match self.cc.as_deref_mut() {
            Some(s) => s,
            None => unreachable!("allocated above"),
        }
    }

    /// Allocates the congestion state (once per connection: kept out of line, so
    /// that `ccs`, called for every segment sent and ACK taken, is inlined).
    /// A freed connection's state kept in this slot ([`SpareCc`]) is renewed in
    /// place when it can be: the same state as a new one, without the
    /// allocation.
    #[cold]
    #[inline(never)]
    fn make_ccs(&mut self) {
        let params = self.cc_params();
        if let Some(mut spare) = self.cc_spare.take() {
            if spare.renew(self.cc_algorithm, &params) {
                self.cc = Some(spare);
                return;
            }
        }
        self.cc = Some(CcState::build(
            self.cc_algorithm,
            &self.config.custom_congestion_controls,
            &params,
        ));
    }

    /// An own controller is made at once: its initial window is its own business.
    pub(super) fn init_custom_cc(&mut self) {
        if matches!(self.cc_algorithm, CcAlgorithm::Custom(_)) {
            self.ccs();
        }
    }

    /// The controller, if it was made.
    pub(super) fn controller(&self) -> Option<&dyn CongestionControl> {
        self.cc.as_deref().map(|s| &s.cc)
    }

    /// The window the sender uses: the recovery window during fast recovery (unless
    /// the controller keeps the window then too), else the controller's (the initial window before the controller is made: both
    /// built-in controllers start there).
    pub(super) fn cwnd(&self) -> u32 {
        match self.cc.as_deref() {
            Some(CcState {
                recovery: Some(r),
                cc,
                ..
            }) if !cc.controls_recovery_window() => r.cwnd,
            Some(s) => u32::try_from(s.cc.window()).unwrap_or(u32::MAX),
            None => self.initial_cwnd(),
        }
    }

    /// [`cwnd`](Self::cwnd) before the controller is made. Out of line: the
    /// controller is made by a connection's first data segment or ACK, so only
    /// its first few looks at the window come here.
    #[cold]
    #[inline(never)]
    fn initial_cwnd(&self) -> u32 {
        let p = self.cc_params();
        u32::try_from(p.mss.saturating_mul(p.initial_window.max(1) as usize)).unwrap_or(u32::MAX)
    }

    /// The congestion controller's name (`"cubic"`).
    pub fn congestion_control(&self) -> &'static str {
        match self.controller() {
            Some(cc) => cc.name(),
            None => self.cc_algorithm.builtin_name().unwrap_or(""),
        }
    }

    /// Replaces the congestion controller with a new one of `algorithm`; refused
    /// (false) once data was sent, as the window it built would be lost.
    pub fn set_congestion_control(&mut self, algorithm: CcAlgorithm) -> bool {
        if self.counters.data_segs_out > 0 {
            return false;
        }
        self.cc_algorithm = algorithm;
        self.cc = None;
        self.init_custom_cc();
        true
    }

    /// Whether a retransmission of the first unacknowledged segment restarts the
    /// retransmission timer. A fast retransmission (SND.NXT ahead of it) always
    /// does, as Linux's `tcp_xmit_retransmit_queue`. A resend from a rewound
    /// SND.NXT (a path MTU drop's go-back-N) does once per SND.UNA: a path MTU
    /// that falls again and again before any ACK (a raise on expiry, then the
    /// next "too big", each cycle shorter than the RTO) would otherwise put the
    /// timer, and with it R2, off for ever (the `app` model found a connection
    /// behind a lasting black hole resending for a day, never timing out).
    #[cold]
    #[inline(never)]
    fn head_restart_allowed(&mut self) -> bool {
        if self.snd_nxt != self.snd_una {
            return true;
        }
        let una = self.snd_una;
        let s = self.ccs();
        s.head_restart_una.replace(una) != Some(una)
    }

    /// A segment with `len` payload bytes from `seq` left at `now`; `flight` bytes
    /// were in flight before it.
    #[inline(always)]
    pub(super) fn on_data_sent(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        len: usize,
        retransmit: bool,
        flight: u32,
    ) {
        if retransmit && seq == self.snd_una && self.rto_count == 0 && self.head_restart_allowed() {
            // A fast retransmission of the first unacknowledged segment restarts
            // the retransmission timer, as Linux's tcp_xmit_retransmit_queue does:
            // its ACK needs a round trip, and a timer armed by the last ACK may
            // expire first when loss detection took most of one (RACK waits
            // RACK.rtt + reo_wnd).
            self.timers
                .set(crate::tcp::timer::Timer::Retransmit, now + self.rtt.rto());
        }
        // Only a retransmission needs our timestamp value (worked out once per
        // segment already, for its header): not looked at for new data.
        let tsval = if retransmit { self.ts_now(now) } else { 0 };
        let s = self.ccs();
        if retransmit {
            if let Some(u) = s.undo.as_mut() {
                u.on_retransmit(tsval);
            }
            let end = seq + len;
            s.retrans_out = Some(match s.retrans_out {
                Some((first, high)) => (first, high.max(end)),
                None => (tsval, end),
            });
        }
        if let Some(prr) = s.recovery.as_mut().and_then(|r| r.prr.as_mut()) {
            //= https://www.rfc-editor.org/rfc/rfc6937#section-3.1
            // On any data transmission or retransmission: prr_out += (data sent).
            prr.on_sent(u32::try_from(len).unwrap_or(u32::MAX));
        }
        let end = seq + len;
        if retransmit {
            // A segment is resent because it was presumed lost (a SACK hole, the
            // fast retransmission, a timeout): the estimator counts it lost (C.lost),
            // less what the peer SACKed (a timeout's go-back-N resends that too)
            // and what was counted when RACK deemed it lost (`on_rack_marked_lost`).
            let sacked: usize = s
                .tx_records
                .iter()
                .take_while(|r| r.start < end)
                .filter(|r| (r.rate_sacked || r.rate_lost) && r.end > seq)
                .map(|r| r.end.min(end).diff(r.start.max(seq)).max(0) as usize)
                .sum();
            s.rate.on_packet_lost(len.saturating_sub(sacked));
        }
        let tx = s.rate.on_packet_sent(now, flight as usize, len);
        s.cc.on_sent(now, len, flight as usize);
        if retransmit {
            // The records this segment covers were sent again: their state is now.
            for r in s.tx_records.iter_mut() {
                if r.start >= end {
                    break;
                }
                if r.end > seq {
                    r.tx = tx;
                    r.retransmitted = true;
                    r.rate_lost = false;
                }
            }
            // A retransmission within the records needs nothing more.
            if s.tx_records.back().is_none_or(|r| r.end >= end) {
                return;
            }
        }
        let start = match s.tx_records.back() {
            Some(last) if last.end > seq => last.end,
            _ => seq,
        };
        if start >= end {
            return;
        }
        if s.tx_records.len() >= MAX_TX_RECORDS {
            if let Some(last) = s.tx_records.back_mut() {
                last.end = end;
                self.counters.tx_records_merged = self.counters.tx_records_merged.saturating_add(1);
                return;
            }
        }
        s.tx_records.push_back(TxRecord {
            start,
            end,
            tx,
            sacked: false,
            retransmitted: false,
            rate_sacked: false,
            rate_lost: false,
        });
    }

    /// An ACK of new data (`acked` bytes of sequence space, `ack` the new SND.UNA,
    /// `flight_before` the bytes in flight before it, `rtt` its RTT sample): the
    /// recovery window, the rate sample and the controller. Returns true for a
    /// partial ACK in recovery, after which the first unacknowledged segment is
    /// resent.
    pub(super) fn on_ack_cc(
        &mut self,
        now: Instant,
        ack: SeqNumber,
        acked: u32,
        flight_before: u32,
        rtt: Option<Duration>,
    ) -> bool {
        let min_rtt_nanos = self.rtt.min_rtt_nanos();
        // No data sent and no congestion seen yet (the ACK of a SYN or of a lone FIN):
        // nothing for a controller, and none is made for it.
        let Some(s) = self.cc.as_deref_mut() else {
            return false;
        };
        // The records up to `ack` are delivered: the estimator hears of them (of a
        // SACKed one it already heard) in one call, with their bytes summed and
        // the most recently sent of them, which is what a call per record in
        // sequence order would leave (`Delivered::newest`).
        let mut delivered = Delivered::default();
        // The wholly acknowledged ones leave in one drain.
        let mut done = 0;
        for r in s.tx_records.iter_mut() {
            if r.start >= ack {
                break;
            }
            if r.end <= ack {
                if !r.rate_sacked {
                    delivered.add(r.end.diff(r.start).max(0) as usize, &r.tx);
                }
                done += 1;
            } else {
                // Partly acknowledged: deliver the front, keep the rest. Only
                // when the peer acknowledges part of a segment.
                crate::hint::cold_path();
                if !r.rate_sacked {
                    delivered.add(ack.diff(r.start).max(0) as usize, &r.tx);
                }
                r.start = ack;
                break;
            }
        }
        if done == s.tx_records.len() {
            // All of them (the ACK of everything sent): without a drain's
            // machinery.
            s.tx_records.clear();
        } else {
            s.tx_records.drain(..done);
        }
        if let Some(tx) = delivered.newest {
            s.rate.on_packet_delivered(now, delivered.bytes, &tx);
        }
        if s.tx_records.is_empty() && s.tx_records.capacity() > 64 {
            shrink_tx_records(s);
        }
        let rate: Option<RateSample> = s.rate.generate_nanos(now, min_rtt_nanos);
        let delivered = s.rate.delivered();
        // The rest of the sample, read here rather than before the records'
        // walk (which changes none of it): fewer values held across the walk.
        let mss = u32::from(self.mss.max(1));
        let flight = self.flight();
        // What the window is measured against: the pipe in a SACK recovery (as
        // before a recovery's end below).
        let in_flight = self.flight_for_window();
        let ece_rx = self.ece_rx();
        let ce_marked = self.accecn_ce_delta();
        let srtt = self.rtt.srtt();
        let Some(s) = self.cc.as_deref_mut() else {
            return false;
        };
        let in_recovery = s.recovery.is_some();
        let (partial, ended) = if in_recovery {
            on_ack_in_recovery(s, ack, acked, mss)
        } else {
            (false, false)
        };
        let sample = AckSample {
            newly_acked: acked as usize,
            bytes_in_flight_before: flight_before as usize,
            bytes_in_flight: in_flight as usize,
            rtt,
            srtt,
            min_rtt: min_rtt_nanos.map(Duration::from_nanos),
            rate,
            delivered,
            in_recovery,
            ece: ece_rx,
            ce_marked,
        };
        s.cc.on_ack(now, &sample);
        if ended {
            s.cc.on_recovery_end(now, flight as usize);
        }
        partial
    }

    /// An ACK SACKed `newly_sacked` new bytes: the records the scoreboard's ranges
    /// now cover are delivered, as the delivery-rate estimator counts data
    /// selectively acknowledged (draft-ietf-ccwg-bbr section 2: "acknowledged" or
    /// "delivered" data includes data SACKed), so that a hole does not hold the
    /// delivered count back for a round trip and then release it at once. Walks
    /// each range down from its top to the first record already counted, so an
    /// ACK costs about what it newly SACKed; a record that only part of a range
    /// covers, or that a range grew down over, waits for the cumulative ACK.
    pub(super) fn on_sack_delivered_cc(&mut self, now: Instant, newly_sacked: u32) {
        if newly_sacked == 0 {
            return;
        }
        let Some(s) = self.cc.as_deref_mut() else {
            return;
        };
        let Some(board) = s.board.as_ref() else {
            return;
        };
        let records = &mut s.tx_records;
        for &(start, end) in board.ranges() {
            // The first record past the range's end, then down.
            let mut i = records.partition_point(|r| r.end <= end);
            while i > 0 {
                i -= 1;
                let Some(r) = records.get_mut(i) else {
                    break;
                };
                if r.rate_sacked || r.start < start {
                    break;
                }
                if r.end <= end {
                    r.rate_sacked = true;
                    let bytes = r.end.diff(r.start).max(0) as usize;
                    let tx = r.tx;
                    s.rate.on_packet_delivered(now, bytes, &tx);
                }
            }
        }
    }

    /// RACK deemed lost the records from the one at index `first` up to
    /// `lost_to`: the delivery-rate estimator counts them lost now (C.lost), when
    /// loss detection marks them, as the draft's estimator does, instead of when
    /// the window lets their retransmission go, up to a round trip later in a
    /// large recovery. BBR's loss rate per round (draft-ietf-ccwg-bbr section
    /// 5.5.10.2, and Startup's exit on high loss) then sees a loss in the round it
    /// was found, not in the one its repair left in.
    pub(super) fn on_rack_marked_lost(s: &mut CcState, first: usize, lost_to: SeqNumber) {
        let mut bytes = 0usize;
        for r in s.tx_records.range_mut(first..) {
            if r.start >= lost_to {
                break;
            }
            if r.sacked || r.rate_sacked || r.rate_lost {
                continue;
            }
            r.rate_lost = true;
            bytes = bytes.saturating_add(r.end.min(lost_to).diff(r.start).max(0) as usize);
        }
        if bytes > 0 {
            s.rate.on_packet_lost(bytes);
        }
    }

    /// The third duplicate ACK, acknowledging `ack`: enters fast recovery unless one
    /// is under way or the ACK does not cover the last one's recovery point. Returns
    /// whether it did (and the first unacknowledged segment is to be resent).
    pub(super) fn on_triple_dupack(&mut self, now: Instant, ack: SeqNumber) -> bool {
        // A path MTU probe lost at SND.UNA is no congestion (`plpmtud`).
        if self.on_loss_at_mtu_probe(ack) {
            return false;
        }
        let outstanding = self.outstanding();
        let snd_max = self.snd_max;
        let mss = u32::from(self.mss.max(1));
        let s = self.ccs();
        if s.recovery.is_some() {
            return false;
        }
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# If the Cumulative Acknowledgment field didn't cover more than
        //# recover, check to see if the congestion window is greater than
        //# SMSS bytes and the difference between highest_ack and
        //# prev_highest_ack is at most 4*SMSS bytes.
        if s.last_recover.is_some_and(|last| ack <= last) {
            return false;
        }
        s.cc.on_congestion_event(now, CongestionKind::Loss, outstanding as usize);
        s.undo = Some(super::undo::Undo::begin(s, ack, snd_max, false));
        s.rack.cancel_probe();
        s.probe_due = 0;
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# The lost segment starting at SND.UNA MUST be retransmitted and
        //# cwnd set to ssthresh plus 3*SMSS.
        let base = u32::try_from(s.cc.window()).unwrap_or(u32::MAX);
        //= https://www.rfc-editor.org/rfc/rfc6582#section-3.2
        //# If so, the value of
        //# recover is incremented to the value of the highest sequence number
        //# transmitted by the TCP so far.
        // (SND.MAX is one past it.)
        s.recovery = Some(Recovery {
            recover: snd_max - 1u32,
            cwnd: base.saturating_add(3 * mss),
            prr: None,
        });
        self.on_window_reduced_ecn();
        true
    }

    /// A further duplicate ACK in fast recovery.
    pub(super) fn on_dupack_in_recovery(&mut self) {
        let mss = u32::from(self.mss.max(1));
        //= https://www.rfc-editor.org/rfc/rfc5681#section-3.2
        //# For each additional duplicate ACK received (after the third),
        //# cwnd MUST be incremented by SMSS.
        if let Some(r) = self.cc.as_deref_mut().and_then(|s| s.recovery.as_mut()) {
            if r.prr.is_none() {
                r.cwnd = r.cwnd.saturating_add(mss);
            }
        }
    }

    /// The retransmission timer expired with data outstanding: the controller reacts
    /// to the first expiry of a run; any recovery is over, and duplicate ACKs for data
    /// sent before now start no new one.
    pub(super) fn on_rto_cc(&mut self, now: Instant) {
        let outstanding = self.outstanding() as usize;
        let (snd_una, snd_max) = (self.snd_una, self.snd_max);
        let s = self.ccs();
        if !s.rto_reacted {
            s.rto_reacted = true;
            s.cc.on_congestion_event(now, CongestionKind::Timeout, outstanding);
            s.undo = Some(super::undo::Undo::begin(s, snd_una, snd_max, true));
        }
        if s.recovery.is_some() {
            s.rack.on_recovery_exit();
        }
        s.recovery = None;
        s.rack.on_rto(now, snd_una);
        s.probe_due = 0;
        // The SACKed ranges are forgotten (below), and with them what RACK knew.
        for r in s.tx_records.iter_mut() {
            r.sacked = false;
        }
        s.last_recover = Some(snd_max - 1u32);
        //= https://www.rfc-editor.org/rfc/rfc2018#section-8
        // After a retransmission timeout the SACKed ranges are forgotten: the peer
        // may have reneged, and go-back-N resends from SND.UNA.
        if let Some(board) = s.board.as_mut() {
            board.clear();
        }
        self.on_window_reduced_ecn();
    }

    /// An ECN-Echo to react to (`flight` bytes outstanding): the controller reduces
    /// its window, unless a fast recovery already did for this window of data.
    /// Returns whether it did.
    pub(super) fn on_ecn_cc(&mut self, now: Instant, flight: u32) -> bool {
        let s = self.ccs();
        if s.recovery.is_some() {
            return false;
        }
        s.cc.on_congestion_event(now, CongestionKind::Ecn, flight as usize);
        // A window reduced for ECN is no loss to undo.
        s.undo = None;
        true
    }

    /// What the loss counters grew by since the last call, if anything: the
    /// stack sums them into its `TcpExt` counters.
    /// The flag test is in line (the stack's book-keeping pass after every call
    /// makes it); the rare comparison and difference are out of line.
    #[inline]
    pub(crate) fn take_new_loss_counts(&mut self) -> Option<crate::tcp::info::LossCounters> {
        let s = self.cc.as_deref_mut()?;
        if !core::mem::take(&mut s.loss_changed) {
            return None;
        }
        s.take_loss_difference()
    }

    /// Whether [`take_new_loss_counts`](Self::take_new_loss_counts) would return
    /// something besides `mtu_probe_failures`, the one counter sending may move (a retransmission
    /// over a path MTU probe fails it: `on_resend_of_mtu_probe`). For a debug
    /// check of the transmit path.
    pub(crate) fn has_new_loss_counts_but_probe_failures(&self) -> bool {
        self.cc.as_deref().is_some_and(|s| {
            let mut loss = s.loss;
            loss.mtu_probe_failures = s.loss_reported.mtu_probe_failures;
            loss != s.loss_reported
        })
    }

    /// An ACK of new data ends a run of retransmission timeouts.
    pub(super) fn on_rto_run_over(&mut self) {
        if let Some(s) = self.cc.as_deref_mut() {
            s.rto_reacted = false;
        }
    }

    /// The segment size changed: the controller and the recovery window follow,
    /// keeping their size in segments.
    pub(super) fn on_mss_cc(&mut self, old: u16, new: u16) {
        let Some(s) = self.cc.as_deref_mut() else {
            // A controller made later starts with the new size.
            return;
        };
        s.cc.on_mtu_update(usize::from(new.max(1)));
        if let Some(r) = s.recovery.as_mut() {
            let segs = (r.cwnd / u32::from(old.max(1))).max(1);
            r.cwnd = segs.saturating_mul(u32::from(new.max(1)));
        }
    }

    /// The application writes: if less than a segment waits unsent, nothing waits to
    /// be resent and the window is not full, what is in flight is application-limited
    /// (draft-cheng-iccrg-delivery-rate-estimation section 3.4).
    pub(super) fn check_app_limited(&mut self) {
        let off = self.snd_nxt.diff(self.snd_una).max(0) as usize;
        let unsent = self.send_buf.len().saturating_sub(off);
        let flight = self.flight();
        if unsent < usize::from(self.mss)
            && !self.retransmit_una
            && self.snd_nxt >= self.snd_max
            && flight < self.cwnd()
        {
            if let Some(s) = self.cc.as_deref_mut() {
                s.rate.on_app_limited(flight as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::{Arc, Mutex};

    use super::super::{Connection, OpenParams, SocketOptions};
    use super::CcState;
    use crate::cc::{AckSample, CcParams, CongestionControl, CongestionKind};
    use crate::tcp::config::TcpConfig;
    use crate::tcp::state::State;
    use crate::time::{Duration, Instant};
    use crate::wire::{AddrPair, ChecksumMode, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

    const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
    const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

    #[test]
    fn per_segment_fields_are_contiguous() {
        use core::mem::{offset_of, size_of};
        type S = CcState<crate::cc::cubic::Cubic>;
        let first = offset_of!(S, rack);
        let end = offset_of!(S, board) + size_of::<Option<crate::tcp::scoreboard::Scoreboard>>();
        for (name, at) in [
            ("frto", offset_of!(S, frto)),
            ("probe_due", offset_of!(S, probe_due)),
            ("loss_changed", offset_of!(S, loss_changed)),
            ("recovery", offset_of!(S, recovery)),
            ("tx_records", offset_of!(S, tx_records)),
        ] {
            assert!((first..end).contains(&at), "{name} left the hot group");
        }
        assert!(end - first <= 264, "hot group spans {} bytes", end - first);
        for (name, at) in [
            ("last_recover", offset_of!(S, last_recover)),
            ("loss", offset_of!(S, loss)),
            ("loss_reported", offset_of!(S, loss_reported)),
            ("pacer", offset_of!(S, pacer)),
        ] {
            assert!(!(first..end).contains(&at), "{name} is in the hot group");
        }
        // Reordering added no padding. (760: the path MTU search's box and
        // the loss counters' three PLPMTUD counts, twice; 768: the SND.UNA of
        // the last go-back-N timer restart, `head_restart_una`; 776: the
        // delivery rate kept as its sample, `delivery`, not divided out.)
        assert_eq!(size_of::<S>(), 776);
    }

    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    /// Segments sent (their count).
    fn send_all(c: &mut Connection, now: Instant) -> usize {
        let mut buf = [0u8; 1600];
        let addrs = AddrPair::new(c.local().ip(), c.remote().ip()).unwrap();
        let mut n = 0;
        while c
            .poll_transmit(now, &mut buf[..1480], &addrs, ChecksumMode::Enabled)
            .is_some()
        {
            n += 1;
            assert!(n < 10_000);
        }
        n
    }

    fn ack(ack: u32) -> TcpRepr<'static> {
        TcpRepr {
            src_port: 80,
            dst_port: 40000,
            seq_number: SeqNumber(5001),
            ack_number: SeqNumber(ack),
            flags: TcpFlags::ACK,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        }
    }

    /// A client with MSS 1000 and no options, established at t = 1 ms against a
    /// hand-driven peer (its ISS 5000, ours 1000), running `cc`.
    fn client(config: TcpConfig, cc: &str) -> Connection {
        let alg = config.congestion_algorithm(cc).unwrap();
        let config = Arc::new(config);
        let p = OpenParams {
            local: A,
            remote: B,
            iss: SeqNumber(1000),
            ts_offset: 0,
            path_mtu: 1500,
            options: SocketOptions::from_config(&config),
            cc: alg,
        };
        let mut c = Connection::connect(t(0), config, p);
        send_all(&mut c, t(0));
        let mut synack = ack(1001);
        synack.seq_number = SeqNumber(5000);
        synack.flags = TcpFlags::SYN | TcpFlags::ACK;
        synack.options.mss = Some(1000);
        c.handle_segment(t(1), &synack);
        assert_eq!(c.state(), State::Established);
        send_all(&mut c, t(1));
        c
    }

    #[test]
    fn an_idle_connection_makes_no_controller_until_it_sends() {
        let mut c = client(TcpConfig::default(), "cubic");
        assert!(c.cc.is_none());
        assert_eq!(c.congestion_control(), "cubic");
        assert_eq!(c.cwnd(), 10_000, "the initial window all the same");
        c.send(&[1u8; 100]).unwrap();
        send_all(&mut c, t(2));
        assert!(c.cc.is_some());
    }

    #[test]
    fn newreno_recovery_inflates_by_three_segments_and_deflates_on_partial_acks() {
        let mut c = client(TcpConfig::default(), "newreno");
        c.send(&[9u8; 10_000]).unwrap();
        assert_eq!(send_all(&mut c, t(10)), 10);
        for i in 0..3 {
            c.handle_segment(t(11 + i), &ack(1001));
        }
        let info = c.info(t(14));
        assert_eq!(info.congestion_control, "newreno");
        // ssthresh = FlightSize / 2; cwnd = ssthresh + 3 * SMSS.
        assert_eq!(info.ssthresh, Some(5));
        assert_eq!(info.cwnd_bytes, 8000);
        c.handle_segment(t(15), &ack(1001));
        assert_eq!(c.cwnd(), 9000, "one SMSS per further duplicate");
        // A partial ACK of 2000 bytes: minus 2000, plus one SMSS.
        c.handle_segment(t(16), &ack(3001));
        assert_eq!(c.cwnd(), 8000);
        // The full ACK: min(ssthresh, max(FlightSize, SMSS) + SMSS).
        c.handle_segment(t(17), &ack(11001));
        assert_eq!(c.cwnd(), 2000);
        assert_eq!(c.info(t(17)).ssthresh, Some(5));
    }

    #[test]
    fn cubic_recovery_starts_from_beta_times_the_flight() {
        let mut c = client(TcpConfig::default(), "cubic");
        c.send(&[9u8; 10_000]).unwrap();
        assert_eq!(send_all(&mut c, t(10)), 10);
        for i in 0..3 {
            c.handle_segment(t(11 + i), &ack(1001));
        }
        let info = c.info(t(14));
        assert_eq!(info.congestion_control, "cubic");
        assert_eq!(info.ssthresh, Some(7));
        assert_eq!(info.cwnd_bytes, 10_000, "0.7 × 10 000 + 3 SMSS");
        assert_eq!(c.counters().fast_retransmits, 1);
    }

    #[test]
    fn back_to_back_timeouts_reduce_ssthresh_once() {
        let mut c = client(TcpConfig::default(), "cubic");
        c.send(&[9u8; 10_000]).unwrap();
        send_all(&mut c, t(10));
        let first = c.poll_timeout().unwrap();
        c.handle_timeout(first);
        let info = c.info(first);
        assert_eq!((info.cwnd, info.ssthresh), (1, Some(7)));
        send_all(&mut c, first);
        let second = c.poll_timeout().unwrap();
        c.handle_timeout(second);
        let info = c.info(second);
        assert_eq!((info.cwnd, info.ssthresh), (1, Some(7)));
        assert_eq!(c.counters().timeouts, 2);
    }

    #[test]
    fn the_controller_cannot_change_once_data_was_sent() {
        let config = TcpConfig::default();
        let mut c = client(config.clone(), "cubic");
        assert!(c.set_congestion_control(config.congestion_algorithm("newreno").unwrap()));
        assert_eq!(c.congestion_control(), "newreno");
        c.send(b"x").unwrap();
        send_all(&mut c, t(2));
        assert!(!c.set_congestion_control(config.congestion_algorithm("cubic").unwrap()));
        assert_eq!(c.congestion_control(), "newreno");
    }

    /// A controller with a fixed window that keeps what it is told.
    #[derive(Debug)]
    struct Recorder(Arc<Mutex<Vec<AckSample>>>);

    impl CongestionControl for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn window(&self) -> usize {
            4000
        }
        fn ssthresh(&self) -> Option<usize> {
            None
        }
        fn in_slow_start(&self) -> bool {
            false
        }
        fn on_ack(&mut self, _: Instant, s: &AckSample) {
            self.0.lock().unwrap().push(*s);
        }
        fn on_congestion_event(&mut self, _: Instant, _: CongestionKind, _: usize) {}
        fn on_mtu_update(&mut self, _: usize) {}
    }

    #[test]
    fn an_own_controller_sets_the_window_and_sees_rate_samples() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut config = TcpConfig::default();
        let s = seen.clone();
        config
            .custom_congestion_controls
            .register(
                "recorder",
                Arc::new(move |_: &CcParams| Box::new(Recorder(s.clone())) as _),
            )
            .unwrap();
        let mut c = client(config, "recorder");
        assert_eq!(c.congestion_control(), "recorder");
        c.send(&[7u8; 10_000]).unwrap();
        assert_eq!(send_all(&mut c, t(10)), 4, "the controller's 4000 bytes");
        c.handle_segment(t(110), &ack(5001));
        let samples = seen.lock().unwrap();
        let s = samples.last().unwrap();
        assert_eq!(s.newly_acked, 4000);
        assert_eq!((s.bytes_in_flight_before, s.bytes_in_flight), (4000, 0));
        let rate = s.rate.unwrap();
        assert_eq!(rate.delivered, 4000);
        assert_eq!(rate.interval, Some(Duration::from_millis(100)));
        assert_eq!(rate.delivery_rate(), Some(40_000));
        // The write found the connection idle: like Linux, the first flight counts
        // as application-limited.
        assert!(rate.is_app_limited);
        assert_eq!(s.delivered, 4000);
    }

    #[test]
    fn the_one_allocation_state_holds_the_controller_build_makes() {
        use crate::cc::CcAlgorithm;
        let registry = config_with_own_pacer().custom_congestion_controls;
        let params = CcParams {
            mss: 1000,
            initial_window: 10,
            seed: 7,
        };
        for algorithm in [
            CcAlgorithm::NewReno,
            CcAlgorithm::Cubic,
            CcAlgorithm::Bbr,
            CcAlgorithm::Custom(0),
            // An index the registry does not hold: CUBIC, as `build` falls back.
            CcAlgorithm::Custom(9),
        ] {
            let state = CcState::build(algorithm, &registry, &params);
            let alone = algorithm.build(&registry, &params);
            assert_eq!(format!("{:?}", &state.cc), format!("{alone:?}"));
            assert_eq!(state.cc.name(), alone.name());
            assert_eq!(state.cc.window(), alone.window());
            assert_eq!(state.cc.pacing_rate(), alone.pacing_rate());
            assert_eq!(
                state.cc.controls_recovery_window(),
                alone.controls_recovery_window()
            );
        }
    }

    /// A client of `cc` as [`client`] makes it, opened fresh or in `used` (a
    /// connection freed after it ran `used_cc` through a recovery), then run
    /// through the same segments: the Debug state after each step.
    fn run_opened(used: Option<&str>, cc: &str) -> Vec<String> {
        let config = config_with_own_pacer();
        let alg = config.congestion_algorithm(cc).unwrap();
        let config = Arc::new(config);
        let p = OpenParams {
            local: A,
            remote: B,
            iss: SeqNumber(1000),
            ts_offset: 0,
            path_mtu: 1500,
            options: SocketOptions::from_config(&config),
            cc: alg,
        };
        let now = t(500);
        let (mut c, kept) = match used {
            None => (Connection::connect(now, config.clone(), p), None),
            Some(used_cc) => {
                let mut c = client(config_with_own_pacer(), used_cc);
                // Dirty every part of the state: data in flight, a recovery, a
                // timeout, SACK never negotiated but records kept.
                c.send(&[9u8; 10_000]).unwrap();
                send_all(&mut c, t(10));
                for i in 0..3 {
                    c.handle_segment(t(11 + i), &ack(1001));
                }
                c.handle_segment(t(15), &ack(3001));
                let rto = c.poll_timeout().unwrap();
                c.handle_timeout(rto);
                send_all(&mut c, rto);
                let kept = c.cc.as_deref().map(|s| s as *const CcState as *const u8);
                assert!(kept.is_some());
                c.abort();
                c.shed();
                assert!(c.cc.is_none());
                // A built-in controller's state is kept; an own one is not.
                assert_eq!(c.shed_bytes() > 0, used_cc != "ownpacer", "kept");
                c.reopen(now, &config, &p, super::super::Opening::Active);
                (c, kept)
            }
        };
        let mut steps = vec![format!("{c:?}")];
        send_all(&mut c, now);
        let mut synack = ack(1001);
        synack.seq_number = SeqNumber(5000);
        synack.flags = TcpFlags::SYN | TcpFlags::ACK;
        synack.options.mss = Some(1000);
        c.handle_segment(t(501), &synack);
        send_all(&mut c, t(501));
        steps.push(format!("{c:?}"));
        c.send(&[7u8; 20_000]).unwrap();
        send_all(&mut c, t(502));
        steps.push(format!("{c:?}"));
        // Two ACKs of new data (the window grows), three duplicates (a
        // recovery), a partial then a full ACK.
        for (i, a) in [3001u32, 5001, 5001, 5001, 5001, 8001, 21_001]
            .into_iter()
            .enumerate()
        {
            c.handle_segment(t(510 + i as u64), &ack(a));
            send_all(&mut c, t(510 + i as u64));
            steps.push(format!("{c:?} cwnd {}", c.cwnd()));
        }
        // A built-in controller's state was reused in place (its allocation);
        // any other was built afresh.
        let now_at = c.cc.as_deref().map(|s| s as *const CcState as *const u8);
        let builtin = cc != "ownpacer";
        if used == Some(cc) && builtin {
            assert_eq!(now_at, kept, "{cc} reused");
        }
        assert!(!c.cc_spare.holds_state(), "the spare was taken");
        steps
    }

    fn config_with_own_pacer() -> TcpConfig {
        let mut config = TcpConfig::default();
        config
            .custom_congestion_controls
            .register("ownpacer", Arc::new(|_: &CcParams| Box::new(OwnPacer) as _))
            .unwrap();
        config
    }

    #[test]
    fn a_reused_congestion_state_behaves_as_a_new_one() {
        let names = ["newreno", "cubic", "bbr", "ownpacer"];
        for cc in names {
            let fresh = run_opened(None, cc);
            assert!(fresh.last().unwrap().contains("cwnd"));
            for used in names {
                assert_eq!(run_opened(Some(used), cc), fresh, "{used} reused for {cc}");
            }
        }
    }

    #[test]
    fn a_state_is_renewed_only_as_its_own_algorithm() {
        use crate::cc::CcAlgorithm;
        let registry = config_with_own_pacer().custom_congestion_controls;
        let params = CcParams {
            mss: 1000,
            initial_window: 10,
            seed: 7,
        };
        let all = [
            CcAlgorithm::NewReno,
            CcAlgorithm::Cubic,
            CcAlgorithm::Bbr,
            CcAlgorithm::Custom(0),
        ];
        for made in all {
            for wanted in all {
                let mut state = CcState::build(made, &registry, &params);
                state
                    .cc
                    .on_congestion_event(t(1), CongestionKind::Loss, 5000);
                let before = format!("{:?}", &state.cc);
                let renewed = state.renew(wanted, &params);
                let builtin = !matches!(made, CcAlgorithm::Custom(_));
                assert_eq!(renewed, builtin && made == wanted, "{made:?} as {wanted:?}");
                if renewed {
                    let new = CcState::build(wanted, &registry, &params);
                    assert_eq!(format!("{state:?}"), format!("{new:?}"));
                } else {
                    assert_eq!(format!("{:?}", &state.cc), before, "left as it was");
                }
            }
        }
    }

    /// An own controller cannot be renewed, so a freed connection does not
    /// keep it: the application's object goes when its connection goes (not
    /// whenever the slot is next used), and the spare slot holds no bytes that
    /// `shed_bytes` cannot see (the controller's own).
    #[test]
    fn a_freed_connection_drops_its_own_controller() {
        // The recorder's shared list lives as long as the controllers that hold it.
        let alive = Arc::new(Mutex::new(Vec::new()));
        let mut config = TcpConfig::default();
        let held = alive.clone();
        config
            .custom_congestion_controls
            .register(
                "recorder",
                Arc::new(move |_: &CcParams| Box::new(Recorder(held.clone())) as _),
            )
            .unwrap();
        let config_again = config.clone();
        let mut c = client(config, "recorder");
        c.send(&[7u8; 3000]).unwrap();
        send_all(&mut c, t(10));
        let base = Arc::strong_count(&alive) - 1;
        c.abort();
        c.shed();
        assert_eq!(Arc::strong_count(&alive), base, "dropped when shed");
        assert_eq!(c.shed_bytes(), 0);
        // A slot reopened without `shed` drops it too.
        let mut c = client(config_again, "recorder");
        c.send(&[7u8; 3000]).unwrap();
        send_all(&mut c, t(10));
        let base = Arc::strong_count(&alive) - 1;
        let config = c.config.clone();
        let p = OpenParams {
            local: A,
            remote: B,
            iss: SeqNumber(9000),
            ts_offset: 0,
            path_mtu: 1500,
            options: SocketOptions::from_config(&config),
            cc: crate::cc::CcAlgorithm::NewReno,
        };
        c.abort();
        c.reopen(t(20), &config, &p, super::super::Opening::Active);
        assert_eq!(Arc::strong_count(&alive), base, "dropped when reopened");
    }

    /// A controller with a large fixed window and a pacing rate of its own.
    #[derive(Debug)]
    struct OwnPacer;

    impl CongestionControl for OwnPacer {
        fn name(&self) -> &'static str {
            "ownpacer"
        }
        fn window(&self) -> usize {
            20_000
        }
        fn ssthresh(&self) -> Option<usize> {
            None
        }
        fn in_slow_start(&self) -> bool {
            false
        }
        fn pacing_rate(&self) -> Option<u64> {
            Some(1_000_000)
        }
        fn on_ack(&mut self, _: Instant, _: &AckSample) {}
        fn on_congestion_event(&mut self, _: Instant, _: CongestionKind, _: usize) {}
        fn on_mtu_update(&mut self, _: usize) {}
    }

    #[test]
    fn a_controller_with_a_pacing_rate_paces_even_with_pacing_off() {
        let config = config_with_own_pacer();
        assert!(!config.pacing);
        let mut c = client(config, "ownpacer");
        assert!(c.pacing_enabled());
        c.send(&[7u8; 10_000]).unwrap();
        // 1000-byte segments at 1 MB/s: 1 ms each, a 2 ms burst allowance.
        assert_eq!(send_all(&mut c, t(10)), 3);
        assert_eq!(c.poll_timeout(), Some(t(11)));
        c.handle_timeout(t(11));
        assert_eq!(send_all(&mut c, t(11)), 1);
        assert_eq!(c.poll_timeout(), Some(t(12)));
        assert_eq!(c.info(t(11)).pacing_rate, 1_000_000);
    }

    #[test]
    fn a_write_with_the_window_open_marks_the_flight_app_limited() {
        let mut c = client(TcpConfig::default(), "cubic");
        c.send(&[1u8; 1000]).unwrap();
        send_all(&mut c, t(10));
        // Less than a segment waits and the window is far from full.
        c.send(&[1u8; 100]).unwrap();
        assert!(c.cc.as_ref().unwrap().rate.is_app_limited());
    }

    #[test]
    fn one_delivery_call_per_ack_samples_as_one_per_record() {
        use super::Delivered;
        use crate::cc::DeliveryRateEstimator;
        // Records sent at various times, several at the same (latest) instant:
        // the last of those is the sample's.
        let sends: [(u64, usize); 7] = [
            (0, 0),
            (0, 1000),
            (1, 2000),
            (5, 3000),
            (5, 4000),
            (3, 5000),
            (5, 6000),
        ];
        for split in 0..sends.len() {
            let mut e = DeliveryRateEstimator::new();
            let txs: Vec<_> = sends
                .iter()
                .map(|&(ms, flight)| e.on_packet_sent(t(ms), flight, 1000))
                .collect();
            let mut one = e.clone();
            let mut each = e;
            // An earlier ACK delivered the first `split` records.
            for tx in &txs[..split] {
                one.on_packet_delivered(t(20), 1000, tx);
                each.on_packet_delivered(t(20), 1000, tx);
            }
            let mut d = Delivered::default();
            for (i, tx) in txs[split..].iter().enumerate() {
                d.add(500 + i, tx);
                each.on_packet_delivered(t(30), 500 + i, tx);
            }
            if let Some(tx) = d.newest {
                one.on_packet_delivered(t(30), d.bytes, &tx);
            }
            assert_eq!(format!("{one:?}"), format!("{each:?}"), "split {split}");
            assert_eq!(one.generate(t(30), None), each.generate(t(30), None));
        }
    }
}
