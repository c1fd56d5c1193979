//! BBR driven over a small fluid model of a path (a bottleneck of a given rate, a
//! drop-tail buffer, a base RTT, optional random loss), with the real delivery-rate
//! estimator between them: the behaviours of the draft's example test cases.

use std::collections::VecDeque;

use super::*;
use crate::cc::{CongestionControl, DeliveryRateEstimator, TxState};

const MSS: usize = 1000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A packet in the network.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// When its ACK reaches the sender (or, if dropped, when the sender finds out).
    at: Instant,
    tx: TxState,
    lost: bool,
}

/// One sender on a path: BBR, the estimator, a bottleneck and a base RTT.
struct Path {
    bbr: Bbr,
    est: DeliveryRateEstimator,
    now: Instant,
    /// Bottleneck rate, bytes per second.
    rate: u64,
    base_rtt: Duration,
    /// Drop-tail buffer at the bottleneck, bytes.
    buffer: u64,
    /// Every `loss_every`-th packet is dropped (0: none).
    loss_every: u64,
    /// Bytes the application still has to send (`u64::MAX`: unlimited).
    app_bytes: u64,
    link_free_at: Instant,
    next_send: Instant,
    flight: VecDeque<InFlight>,
    inflight: u64,
    sent: u64,
    min_rtt: Option<Duration>,
    in_recovery_until: Option<u64>,
    /// The largest queueing delay seen, for the bottleneck.
    max_queue_delay: Duration,
}

impl Path {
    fn new(rate_mbit: u64, rtt_ms: u64) -> Path {
        Path {
            bbr: Bbr::new(MSS, 10, 42),
            est: DeliveryRateEstimator::new(),
            now: Instant::from_nanos(1_000_000),
            rate: rate_mbit * 1_000_000 / 8,
            base_rtt: ms(rtt_ms),
            buffer: u64::MAX,
            loss_every: 0,
            app_bytes: u64::MAX,
            link_free_at: Instant::ZERO,
            next_send: Instant::ZERO,
            flight: VecDeque::new(),
            inflight: 0,
            sent: 0,
            min_rtt: None,
            in_recovery_until: None,
            max_queue_delay: Duration::ZERO,
        }
    }

    fn bdp(&self) -> u64 {
        model::volume(self.rate, self.base_rtt)
    }

    fn can_send(&self) -> bool {
        self.app_bytes > 0 && self.inflight + MSS as u64 <= self.bbr.window() as u64
    }

    /// Sends one packet now.
    fn send(&mut self) {
        let now = self.now;
        self.bbr.on_sent(now, MSS, self.inflight as usize);
        let tx = self.est.on_packet_sent(now, self.inflight as usize, MSS);
        self.sent += 1;
        self.app_bytes = self.app_bytes.saturating_sub(MSS as u64);
        let service = model::duration_for(MSS as u64, self.rate);
        let start = self.link_free_at.max(now);
        let queued = start.saturating_duration_since(now);
        let queue_bytes = model::volume(self.rate, queued);
        let dropped = queue_bytes + MSS as u64 > self.buffer
            || (self.loss_every > 0 && self.sent % self.loss_every == 0);
        let at;
        if dropped {
            // The sender learns of the loss about an RTT later (three duplicates).
            at = now + self.base_rtt + queued + 3 * service;
        } else {
            self.max_queue_delay = self.max_queue_delay.max(queued);
            self.link_free_at = start + service;
            at = self.link_free_at + self.base_rtt;
        }
        self.inflight += MSS as u64;
        // Keep the deque ordered by arrival.
        let pos = self.flight.partition_point(|p| p.at <= at);
        self.flight.insert(
            pos,
            InFlight {
                at,
                tx,
                lost: dropped,
            },
        );
        let rate = self.bbr.pacing_rate().unwrap_or(u64::MAX).max(1);
        self.next_send = self.next_send.max(now) + model::duration_for(MSS as u64, rate);
    }

    /// Processes the next ACK (or loss notice).
    fn receive(&mut self) {
        let Some(p) = self.flight.pop_front() else {
            return;
        };
        self.now = self.now.max(p.at);
        let now = self.now;
        let before = self.inflight;
        self.inflight -= MSS as u64;
        if p.lost {
            self.est.on_packet_lost(MSS);
            if self.in_recovery_until.is_none() {
                self.in_recovery_until = Some(self.sent);
                self.bbr
                    .on_congestion_event(now, CongestionKind::Loss, self.inflight as usize);
            }
            return;
        }
        self.est.on_packet_delivered(now, MSS, &p.tx);
        let rtt = now.saturating_duration_since(p.tx.sent_time);
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        let rs = self.est.generate(now, self.min_rtt);
        let in_recovery = self.in_recovery_until.is_some();
        let sample = AckSample {
            newly_acked: MSS,
            bytes_in_flight_before: before as usize,
            bytes_in_flight: self.inflight as usize,
            rtt: Some(rtt),
            srtt: self.min_rtt,
            min_rtt: self.min_rtt,
            rate: rs,
            delivered: self.est.delivered(),
            in_recovery,
            ece: false,
            ce_marked: 0,
        };
        self.bbr.on_ack(now, &sample);
        if let Some(end) = self.in_recovery_until {
            if p.tx.delivered / MSS as u64 >= end.saturating_sub(1) {
                self.in_recovery_until = None;
                self.bbr.on_recovery_end(now, self.inflight as usize);
            }
        }
        if self.app_bytes == 0 {
            self.est.on_app_limited(self.inflight as usize);
        }
    }

    /// One event: a send if the window and the pacer allow one now, else the next
    /// ACK or the pacer's next slot, whichever is first.
    fn step(&mut self) {
        let ack_at = self.flight.front().map(|p| p.at);
        if self.can_send() {
            if self.next_send <= self.now {
                self.send();
                return;
            }
            if ack_at.is_none_or(|a| self.next_send < a) {
                self.now = self.next_send;
                self.send();
                return;
            }
        }
        if ack_at.is_some() {
            self.receive();
        } else if self.app_bytes > 0 {
            self.now = self.now.max(self.next_send);
        } else {
            // Nothing to do: idle a millisecond.
            self.now += ms(1);
        }
    }

    /// Runs until `until` after the start, calling `watch` after every event.
    fn run_for(&mut self, d: Duration, mut watch: impl FnMut(&Path)) {
        let end = self.now + d;
        while self.now < end {
            self.step();
            watch(self);
        }
    }
}

#[test]
fn a_new_controller_starts_in_startup_with_the_initial_window_and_pacing() {
    let b = Bbr::new(MSS, 10, 1);
    assert_eq!(b.name(), "bbr");
    assert_eq!(b.state(), BbrState::Startup);
    assert_eq!(b.window(), 10 * MSS);
    assert!(b.in_slow_start());
    // 2.77 × 10 000 bytes / 1 ms before an RTT is known.
    assert_eq!(b.pacing_rate(), Some(27_700_000));
    let m = b.model().unwrap();
    assert_eq!(
        (m.mode, m.pacing_gain_percent, m.min_rtt),
        ("startup", 277, None)
    );
}

#[test]
fn startup_exits_after_three_rounds_without_25_percent_growth() {
    let mut p = Path::new(10, 40);
    let link = p.rate;
    let mut round_at_full_rate = None;
    let mut exit = None;
    p.run_for(Duration::from_secs(3), |p| {
        if round_at_full_rate.is_none() && p.bbr.max_bw() * 5 >= link * 4 {
            round_at_full_rate = Some(p.bbr.round_count);
        }
        if exit.is_none() && p.bbr.state() != BbrState::Startup {
            exit = Some((p.bbr.round_count, p.bbr.full_bw_count));
        }
    });
    let (exit_round, count) = exit.expect("Startup ended");
    let full = round_at_full_rate.unwrap();
    assert_eq!(count, FULL_BW_COUNT);
    assert!(p.bbr.full_bw_reached());
    assert!(
        exit_round >= full + 2 && exit_round <= full + 4,
        "plateau from round {full}, exit at {exit_round}"
    );
    // The estimate is the bottleneck rate, within 10 %.
    let bw = p.bbr.max_bw();
    assert!(
        bw * 10 >= link * 9 && bw * 10 <= link * 11,
        "max_bw {bw} of {link}"
    );
    assert_eq!(
        p.bbr.inflight_longterm(),
        None,
        "no loss, no long-term bound"
    );
}

#[test]
fn startup_exits_on_high_loss_with_inflight_longterm_set() {
    let mut p = Path::new(20, 40);
    // A shallow buffer of five packets: Startup's 2.77× overshoot overflows it.
    p.buffer = 5 * MSS as u64;
    let mut exit = None;
    p.run_for(Duration::from_secs(3), |p| {
        if exit.is_none() && p.bbr.state() != BbrState::Startup {
            exit = Some((p.bbr.full_bw_count, p.bbr.inflight_longterm()));
        }
    });
    let (count, longterm) = exit.expect("Startup ended");
    assert!(count < FULL_BW_COUNT, "ended by loss, not by the plateau");
    let longterm = longterm.expect("inflight_longterm set by the loss");
    let bdp = p.bdp();
    assert!(
        longterm >= bdp / 2 && longterm <= 3 * bdp,
        "inflight_longterm {longterm}, BDP {bdp}"
    );
}

#[test]
fn drain_lasts_until_the_flight_is_at_most_the_bdp() {
    let mut p = Path::new(10, 40);
    let mut drain_rounds = None;
    let mut entered = None;
    let mut inflight_at_exit = 0;
    let mut bdp_at_exit = 0;
    p.run_for(Duration::from_secs(3), |p| {
        let st = p.bbr.state();
        if entered.is_none() && st == BbrState::Drain {
            entered = Some(p.bbr.round_count);
        }
        if let (Some(e), None) = (entered, drain_rounds) {
            if st != BbrState::Drain {
                drain_rounds = Some(p.bbr.round_count - e);
                inflight_at_exit = p.inflight;
                bdp_at_exit = p.bbr.inflight_at(p.bbr.bw(), 1.0);
            }
        }
    });
    let rounds = drain_rounds.expect("Drain ended");
    assert!(rounds <= DRAIN_MAX_ROUNDS + 1, "drained in {rounds} rounds");
    assert!(
        inflight_at_exit <= bdp_at_exit,
        "in flight {inflight_at_exit} > BDP {bdp_at_exit}"
    );
    assert!(matches!(
        p.bbr.state(),
        BbrState::ProbeBw(_) | BbrState::ProbeRtt
    ));
}

#[test]
fn probe_bw_cycles_down_cruise_refill_up_with_their_gains() {
    let mut p = Path::new(10, 40);
    let mut phases: Vec<BbrState> = Vec::new();
    let mut gains_ok = true;
    p.run_for(Duration::from_secs(12), |p| {
        let st = p.bbr.state();
        if phases.last() != Some(&st) {
            phases.push(st);
            let expected = match st {
                BbrState::ProbeBw(ProbeBwPhase::Down) => Some(PROBE_DOWN_PACING_GAIN),
                BbrState::ProbeBw(ProbeBwPhase::Up) => Some(PROBE_UP_PACING_GAIN),
                BbrState::ProbeBw(_) => Some(1.0),
                _ => None,
            };
            if expected.is_some_and(|g| g != p.bbr.pacing_gain()) {
                gains_ok = false;
            }
        }
    });
    assert!(gains_ok);
    let probe_bw: Vec<_> = phases
        .iter()
        .filter_map(|s| match s {
            BbrState::ProbeBw(ph) => Some(*ph),
            _ => None,
        })
        .collect();
    use ProbeBwPhase::*;
    // Every REFILL is followed by UP, every UP by DOWN; at least two full cycles.
    for w in probe_bw.windows(2) {
        match w[0] {
            Refill => assert_eq!(w[1], Up, "{probe_bw:?}"),
            Up => assert_eq!(w[1], Down, "{probe_bw:?}"),
            Down => assert!(matches!(w[1], Cruise | Refill), "{probe_bw:?}"),
            // (Cruise to Cruise: a ProbeRTT in between, which returns to CRUISE.)
            Cruise => assert!(matches!(w[1], Refill | Cruise), "{probe_bw:?}"),
        }
    }
    let ups = probe_bw.iter().filter(|p| **p == Up).count();
    assert!(ups >= 2, "{probe_bw:?}");
    // The estimate stayed at the bottleneck rate.
    let bw = p.bbr.max_bw();
    assert!(bw * 10 >= p.rate * 9 && bw * 10 <= p.rate * 11, "{bw}");
}

#[test]
fn probe_rtt_comes_every_five_seconds_and_holds_the_window_for_200_ms() {
    let mut p = Path::new(10, 40);
    let mut entries: Vec<Instant> = Vec::new();
    let mut exits: Vec<Instant> = Vec::new();
    let mut over_cap = None;
    p.run_for(Duration::from_secs(12), |p| {
        let in_probe = p.bbr.state() == BbrState::ProbeRtt;
        let was = entries.len() > exits.len();
        if in_probe && !was {
            entries.push(p.now);
        } else if !in_probe && was {
            exits.push(p.now);
        }
        if in_probe && p.bbr.window() as u64 > p.bbr.probe_rtt_cwnd() {
            over_cap = Some((p.bbr.window(), p.bbr.probe_rtt_cwnd()));
        }
    });
    assert!(entries.len() >= 2, "ProbeRTT entered at {entries:?}");
    let gap = entries[1].saturating_duration_since(entries[0]);
    assert!(
        gap >= Duration::from_secs(5) && gap <= Duration::from_millis(5_600),
        "{gap:?} between ProbeRTTs"
    );
    for (a, b) in entries.iter().zip(&exits) {
        let held = b.saturating_duration_since(*a);
        assert!(held >= PROBE_RTT_DURATION, "ProbeRTT lasted {held:?}");
        assert!(
            held <= Duration::from_millis(400),
            "ProbeRTT lasted {held:?}"
        );
    }
    // The window is held at ProbeRTTCwnd: half the BDP, at least four segments.
    assert_eq!(over_cap, None, "cwnd above ProbeRTTCwnd");
    let (bdp, cap) = (p.bdp(), p.bbr.probe_rtt_cwnd());
    assert!(cap >= 4 * MSS as u64);
    assert!(
        cap <= (bdp / 2 + bdp / 10).max(4 * MSS as u64),
        "{cap} for a BDP of {bdp}"
    );
}

#[test]
fn probe_rtt_cwnd_is_four_segments_on_a_small_bdp_path() {
    // 1 Mbit/s × 20 ms = 2 500 bytes: half a BDP is below MinPipeCwnd.
    let mut p = Path::new(1, 20);
    let mut seen = None;
    p.run_for(Duration::from_secs(7), |p| {
        if p.bbr.state() == BbrState::ProbeRtt {
            seen = Some(p.bbr.window());
        }
    });
    assert_eq!(seen, Some(MIN_PIPE_CWND_SEGMENTS * MSS));
}

#[test]
fn max_bw_adapts_down_within_two_cycles_after_a_tenfold_drop() {
    let mut p = Path::new(20, 40);
    p.run_for(Duration::from_secs(3), |_| {});
    let before = p.bbr.max_bw();
    assert!(before * 10 >= p.rate * 9, "{before}");
    p.rate /= 10;
    p.run_for(Duration::from_secs(8), |p| {
        if std::env::var("BBR_TRACE").is_ok() && p.bbr.round_start {
            eprintln!(
                "{:?} {:?} max_bw {} bw {} cwnd {} inflight {} rtt {:?}",
                p.now,
                p.bbr.state(),
                p.bbr.max_bw(),
                p.bbr.bw(),
                p.bbr.window(),
                p.inflight,
                p.bbr.min_rtt()
            );
        }
    });
    let after = p.bbr.max_bw();
    assert!(
        after <= p.rate * 3 / 2,
        "max_bw {after} still near the old rate {before} (now {})",
        p.rate
    );
    assert!(p.bbr.bw() <= p.rate * 3 / 2);
}

#[test]
fn app_limited_sending_without_loss_never_ends_startup() {
    let mut p = Path::new(10, 40);
    // Four segments every 40 ms: far below the 10 Mbit/s the path carries.
    let mut next = p.now;
    let end = p.now + Duration::from_secs(2);
    while p.now < end {
        if p.now >= next {
            p.app_bytes = 4 * MSS as u64;
            next += ms(40);
        }
        p.step();
    }
    assert_eq!(p.bbr.state(), BbrState::Startup);
    assert!(!p.bbr.full_bw_reached());
}

#[test]
fn one_percent_random_loss_costs_little_goodput() {
    let mut p = Path::new(20, 40);
    p.loss_every = 100;
    p.run_for(Duration::from_secs(2), |_| {});
    let (t0, d0) = (p.now, p.est.delivered());
    p.run_for(Duration::from_secs(10), |_| {});
    let secs = p.now.saturating_duration_since(t0).as_secs_f64();
    let goodput = (p.est.delivered() - d0) as f64 / secs;
    eprintln!("goodput {:.0} of {} bytes/s", goodput, p.rate);
    // A round losing 1 % is below LossThresh: the short-term bounds are left
    // alone (they would slide down ~2 % a round otherwise; see
    // `adapt_lower_bounds_from_congestion`).
    assert!(
        goodput >= p.rate as f64 * 0.9,
        "goodput {goodput:.0} of {}",
        p.rate
    );
}

#[test]
fn a_round_needs_losses_clearly_above_the_loss_threshold_to_count_as_lossy() {
    // 100 Mbit/s and 50 ms: a BDP of 625,000 bytes, 625 segments of 1,000.
    let mut bbr = Bbr::new(MSS, 10, 1);
    bbr.max_bw = 12_500_000;
    bbr.bw = bbr.max_bw;
    bbr.rtt.min_rtt = Some(ms(50));
    let seg = MSS as u64;
    // LossThresh allows 12.5 segments; random loss scatters a round's count by
    // about √12.5 ≈ 3.5, so the bar is 12.5 + 2 × 3.5 ≈ 19.6 segments.
    bbr.delivered_last_round = 620 * seg;
    assert!(
        !bbr.round_lost_too_much(12 * seg),
        "1.9 %: below LossThresh"
    );
    assert!(
        !bbr.round_lost_too_much(18 * seg),
        "2.8 %: within the noise"
    );
    assert!(bbr.round_lost_too_much(21 * seg), "3.3 %: beyond the noise");
    assert!(
        bbr.round_lost_too_much(60 * seg),
        "an overflowing queue's 9 %"
    );
    // A round ended early by a retransmission's ACK (a fifth of a flight
    // delivered) reads its losses against a whole BDP at max_bw, not against the
    // model's (possibly cut) bw.
    bbr.delivered_last_round = 125 * seg;
    bbr.bw = bbr.max_bw / 2;
    assert!(!bbr.round_lost_too_much(18 * seg));
    assert!(bbr.round_lost_too_much(21 * seg));
}

#[test]
fn only_rounds_losing_more_than_the_loss_threshold_cut_the_short_term_model() {
    for (loss_every, cut_expected) in [(100, false), (20, true)] {
        let mut p = Path::new(20, 40);
        p.loss_every = loss_every;
        p.run_for(Duration::from_secs(2), |_| {});
        let mut cut = false;
        p.run_for(Duration::from_secs(4), |p| {
            cut |= p.bbr.inflight_shortterm().is_some();
        });
        assert_eq!(cut, cut_expected, "one loss in {loss_every}");
    }
}

#[test]
fn a_deep_buffer_stays_nearly_empty() {
    let mut p = Path::new(10, 40);
    p.run_for(Duration::from_secs(2), |_| {});
    p.max_queue_delay = Duration::ZERO;
    p.run_for(Duration::from_secs(8), |_| {});
    // BBR's queue: what a ProbeBW_UP (1.25 × BDP) or the cwnd cap (2 × BDP) can
    // build, never a bufferful.
    assert!(
        p.max_queue_delay <= p.base_rtt,
        "max queueing delay {:?}",
        p.max_queue_delay
    );
}

#[test]
fn an_ecn_echo_ends_startup() {
    let mut b = Bbr::new(MSS, 10, 3);
    b.on_congestion_event(Instant::from_nanos(1), CongestionKind::Ecn, 10 * MSS);
    assert_eq!(b.state(), BbrState::Drain);
    assert!(b.full_bw_reached());
    assert!(b.inflight_longterm().is_some());
}

#[test]
fn a_timeout_drops_the_window_to_one_segment() {
    let mut p = Path::new(10, 40);
    p.run_for(Duration::from_secs(2), |_| {});
    let before = p.bbr.window();
    p.bbr
        .on_congestion_event(p.now, CongestionKind::Timeout, p.inflight as usize);
    assert_eq!(p.bbr.window(), MSS);
    assert_eq!(p.bbr.prior_cwnd, before);
}

#[test]
fn a_new_mss_keeps_the_window_in_segments() {
    let mut b = Bbr::new(1000, 10, 3);
    b.on_mtu_update(1400);
    assert_eq!(b.window(), 14_000);
}
