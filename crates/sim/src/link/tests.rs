//! Tests of the whole link: a driver that feeds packets in and drains arrivals.

use super::*;
use crate::queue::{Limit, QueueConfig};
use proptest::prelude::*;

fn pkt(len: usize, uid: u64) -> Packet {
    let mut data = vec![0x45; len];
    for (i, b) in data.iter_mut().enumerate().skip(1) {
        *b = (uid as usize + i) as u8;
    }
    Packet::new(data, uid)
}

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

fn us(n: u64) -> Instant {
    Instant::ZERO + Duration::from_micros(n)
}

/// Delivers everything due by `until`, with arrival times.
fn drain(link: &mut Link, until: Instant, out: &mut Vec<(Instant, Packet)>) {
    while let Some(t) = link.poll_timeout() {
        if t > until {
            break;
        }
        while let Some(p) = link.poll_deliver(t) {
            out.push((t, p));
        }
    }
}

/// Offers each packet at its time and returns every arrival.
fn run(link: &mut Link, input: Vec<(Instant, Packet)>) -> Vec<(Instant, Packet)> {
    let mut out = Vec::new();
    for (t, p) in input {
        drain(link, t, &mut out);
        link.handle_packet(t, p);
    }
    drain(link, Instant::from_nanos(u64::MAX), &mut out);
    out
}

fn uids(arrivals: &[(Instant, Packet)]) -> Vec<u64> {
    arrivals.iter().map(|(_, p)| p.uid).collect()
}

fn times(arrivals: &[(Instant, Packet)]) -> Vec<Instant> {
    arrivals.iter().map(|(t, _)| *t).collect()
}

fn every_impairment() -> LinkConfig {
    LinkConfig {
        rate_bps: Some(10_000_000),
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        jitter_reorders: true,
        loss: LossModel::GilbertElliott {
            p: 0.05,
            r: 0.3,
            loss_bad: 0.7,
            loss_good: 0.01,
        },
        duplicate: 0.05,
        corrupt: 0.05,
        reorder: Some(Reorder {
            probability: 0.1,
            gap: 3,
        }),
        outages: vec![Outage {
            start: Duration::from_millis(300),
            duration: Duration::from_millis(50),
            period: Some(Duration::from_millis(1000)),
        }],
        queue: QueueConfig::DropTail(Limit::Packets(50)),
        ..LinkConfig::default()
    }
}

fn traffic(n: u64) -> Vec<(Instant, Packet)> {
    (0..n)
        .map(|i| (us(i * 700), pkt(200 + (i as usize * 37) % 1300, i)))
        .collect()
}

#[test]
fn packet_arrives_after_serialization_plus_delay() {
    let config = LinkConfig {
        rate_bps: Some(8_000_000), // 1 byte per microsecond
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    link.handle_packet(Instant::ZERO, pkt(1000, 7));
    let due = ms(11);
    // Nothing waits behind it, so the next thing to happen is its arrival.
    assert_eq!(link.poll_timeout(), Some(due));
    assert_eq!(
        link.poll_deliver(Instant::from_nanos(due.as_nanos() - 1)),
        None
    );
    assert_eq!(link.poll_deliver(due).map(|p| p.uid), Some(7));
    assert_eq!(link.stats().busy, Duration::from_millis(1));
}

#[test]
fn a_waiting_packet_needs_no_wake_up_before_it_can_arrive() {
    let config = LinkConfig {
        rate_bps: Some(8_000_000),
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    link.handle_packet(Instant::ZERO, pkt(1000, 1));
    link.handle_packet(Instant::ZERO, pkt(1000, 2));
    // The second packet starts when the first has left, at 1 ms, and cannot arrive
    // before 11 ms, when the first does: no wake-up at 1 ms.
    assert_eq!(link.poll_timeout(), Some(ms(11)));
    assert_eq!(link.queue_len_packets(), 1);
    // Its transmission is completed when asked for, at its own time.
    link.handle_timeout(ms(5));
    assert_eq!(link.queue_len_packets(), 0);
    assert_eq!(link.stats().sojourn.packets, 2);
    assert_eq!(link.poll_deliver(ms(11)).map(|p| p.uid), Some(1));
    assert_eq!(link.poll_deliver(ms(11)), None);
    assert_eq!(link.poll_timeout(), Some(ms(12)));
    assert_eq!(link.poll_deliver(ms(12)).map(|p| p.uid), Some(2));
}

#[test]
fn a_waiting_packet_that_may_be_reordered_wakes_the_link_when_the_transmitter_frees() {
    let config = LinkConfig {
        rate_bps: Some(8_000_000),
        delay: Duration::from_millis(10),
        reorder: Some(Reorder {
            probability: 1.0,
            gap: 1,
        }),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    link.handle_packet(Instant::ZERO, pkt(1000, 1));
    link.handle_packet(Instant::ZERO, pkt(1000, 2));
    // Reordered packets skip the delay: the first arrives as it leaves, at 1 ms,
    // and the second could too, at 2 ms.
    assert_eq!(link.poll_timeout(), Some(ms(1)));
    assert_eq!(link.poll_deliver(ms(1)).map(|p| p.uid), Some(1));
    assert_eq!(link.poll_deliver(ms(1)), None);
    assert_eq!(link.poll_timeout(), Some(ms(2)));
    assert_eq!(link.poll_deliver(ms(2)).map(|p| p.uid), Some(2));
}

#[test]
fn back_to_back_packets_are_spaced_by_the_rate() {
    let config = LinkConfig {
        rate_bps: Some(8_000_000),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    link.handle_packet(Instant::ZERO, pkt(1000, 1));
    link.handle_packet(Instant::ZERO, pkt(1000, 2));
    let t1 = ms(1);
    assert_eq!(link.poll_deliver(t1).map(|p| p.uid), Some(1));
    assert_eq!(link.poll_deliver(t1), None);
    assert_eq!(link.poll_timeout(), Some(ms(2)));
    assert_eq!(link.poll_deliver(ms(2)).map(|p| p.uid), Some(2));
}

#[test]
fn oversize_packet_is_dropped_and_counted() {
    let mut link = Link::new(LinkConfig::default(), StackRng::from_seed(1));
    link.handle_packet(Instant::ZERO, pkt(1501, 1));
    assert_eq!(link.stats().drops.mtu, 1);
    assert_eq!(link.poll_timeout(), None);
}

#[test]
fn same_seed_and_input_deliver_identical_sequences() {
    let a = run(
        &mut Link::new(every_impairment(), StackRng::from_seed(42)),
        traffic(3000),
    );
    let b = run(
        &mut Link::new(every_impairment(), StackRng::from_seed(42)),
        traffic(3000),
    );
    assert_eq!(a, b);
    let c = run(
        &mut Link::new(every_impairment(), StackRng::from_seed(43)),
        traffic(3000),
    );
    assert_ne!(a, c);
}

#[test]
fn every_impairment_shows_in_the_counters() {
    let mut link = Link::new(every_impairment(), StackRng::from_seed(5));
    let out = run(&mut link, traffic(5000));
    let s = link.stats();
    assert_eq!(s.packets_in, 5000);
    assert!(s.drops.loss > 0 && s.drops.outage > 0);
    assert!(s.duplicated > 0 && s.corrupted > 0 && s.reordered > 0);
    assert_eq!(s.packets_delivered, out.len() as u64);
    // Every packet offered is delivered, dropped, or delivered twice.
    let dropped = s.drops.total();
    assert_eq!(s.packets_in + s.duplicated, s.packets_delivered + dropped);
}

#[test]
fn certain_loss_delivers_nothing() {
    let config = LinkConfig {
        loss: LossModel::Bernoulli { p: 1.0 },
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    assert!(run(&mut link, traffic(100)).is_empty());
    assert_eq!(link.stats().drops.loss, 100);
}

#[test]
fn certain_duplication_delivers_each_packet_twice_intact() {
    let config = LinkConfig {
        duplicate: 1.0,
        delay: Duration::from_millis(3),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input = traffic(50);
    let out = run(&mut link, input.clone());
    assert_eq!(out.len(), 100);
    for (i, (_, p)) in input.iter().enumerate() {
        for (_, got) in &out[2 * i..2 * i + 2] {
            assert_eq!((&got.data, got.uid), (&p.data, p.uid));
        }
    }
    assert_eq!(link.stats().duplicated, 50);
}

#[test]
fn certain_corruption_flips_exactly_one_bit_per_packet() {
    let config = LinkConfig {
        corrupt: 1.0,
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input = traffic(200);
    let out = run(&mut link, input.clone());
    for ((_, sent), (_, got)) in input.iter().zip(&out) {
        let flipped: u32 = sent
            .data
            .iter()
            .zip(&got.data)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(flipped, 1);
    }
    assert_eq!(link.stats().corrupted, 200);
}

#[test]
fn order_keeping_jitter_delivers_in_order_with_varying_delay() {
    let config = LinkConfig {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(8),
        jitter_reorders: false,
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(8));
    let input = traffic(2000);
    let out = run(&mut link, input.clone());
    assert_eq!(uids(&out), (0..2000).collect::<Vec<_>>());
    assert_eq!(link.stats().reordered, 0);
    let delays: Vec<Duration> = input
        .iter()
        .zip(&out)
        .map(|((sent, _), (arrived, _))| *arrived - *sent)
        .collect();
    assert!(delays.iter().all(|d| *d >= Duration::from_millis(10)));
    assert!(delays.iter().any(|d| *d > Duration::from_millis(15)));
}

#[test]
fn reordering_jitter_delivers_some_packets_out_of_order() {
    let config = LinkConfig {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(8),
        jitter_reorders: true,
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(8));
    let out = run(&mut link, traffic(2000));
    let ids = uids(&out);
    assert!(ids.windows(2).any(|w| w[1] < w[0]));
    assert!(link.stats().reordered > 0);
    assert!(times(&out).windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn reordered_packet_overtakes_the_packets_still_propagating() {
    // 1 ms between packets, 10 ms delay, every 5th packet skips the delay.
    let config = LinkConfig {
        delay: Duration::from_millis(10),
        reorder: Some(Reorder {
            probability: 1.0,
            gap: 5,
        }),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..10).map(|i| (ms(i), pkt(100, i))).collect();
    let out = run(&mut link, input);
    // Packet 4 is sent at 4 ms and arrives then, ahead of 0..=3 (due at 10..=13).
    assert_eq!(uids(&out), [4, 9, 0, 1, 2, 3, 5, 6, 7, 8]);
    assert_eq!(link.stats().reordered, 2);
}

#[test]
fn packets_offered_during_an_outage_are_dropped() {
    let config = LinkConfig {
        outages: vec![Outage {
            start: Duration::from_millis(10),
            duration: Duration::from_millis(10),
            period: None,
        }],
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..30).map(|i| (ms(i), pkt(100, i))).collect();
    let out = run(&mut link, input);
    let expected: Vec<u64> = (0..10).chain(20..30).collect();
    assert_eq!(uids(&out), expected);
    assert_eq!(link.stats().drops.outage, 10);
}

#[test]
fn packets_arriving_during_an_outage_are_dropped() {
    // Sent before the outage, due during it.
    let config = LinkConfig {
        delay: Duration::from_millis(15),
        outages: vec![Outage {
            start: Duration::from_millis(20),
            duration: Duration::from_millis(10),
            period: None,
        }],
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..20).map(|i| (ms(i), pkt(100, i))).collect();
    let out = run(&mut link, input);
    // Sent at 0..=4 arrive 15..=19; 5..=14 would arrive 20..=29; 15..=19 at 30..=34.
    let expected: Vec<u64> = (0..5).chain(15..20).collect();
    assert_eq!(uids(&out), expected);
    assert_eq!(link.stats().drops.outage, 10);
}

#[test]
fn trace_opportunity_sends_one_full_sized_packet_each() {
    let config = LinkConfig {
        trace_ms: Some(vec![1]), // one opportunity per millisecond: 12 Mbit/s
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..5).map(|i| (Instant::ZERO, pkt(1500, i))).collect();
    let out = run(&mut link, input);
    assert_eq!(times(&out), [ms(1), ms(2), ms(3), ms(4), ms(5)]);
    assert_eq!(link.stats().busy, Duration::from_millis(5));
}

#[test]
fn trace_packets_share_and_span_opportunities_by_bytes() {
    let config = LinkConfig {
        trace_ms: Some(vec![1]),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..3).map(|i| (Instant::ZERO, pkt(1000, i))).collect();
    let out = run(&mut link, input);
    // 1 ms: packet 0 and half of packet 1; 2 ms: the rest of 1, and 2.
    assert_eq!(times(&out), [ms(1), ms(2), ms(2)]);
    assert_eq!(uids(&out), [0, 1, 2]);
}

#[test]
fn trace_repeated_timestamps_are_several_opportunities() {
    let config = LinkConfig {
        trace_ms: Some(Trace::parse("2\n2\n2\n4\n").unwrap().into_ms()),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..6).map(|i| (Instant::ZERO, pkt(1500, i))).collect();
    let out = run(&mut link, input);
    // Cycle 0: 2, 2, 2, 4; cycle 1 (period 4): 6, 6.
    assert_eq!(times(&out), [ms(2), ms(2), ms(2), ms(4), ms(6), ms(6)]);
}

#[test]
fn trace_wastes_opportunities_while_idle_and_resumes_after() {
    let config = LinkConfig {
        trace_ms: Some(vec![0, 10]),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    // An hour of idling is skipped in one step; the packet waits for the next
    // opportunity after its arrival (at multiples of 10 ms).
    let t = Instant::ZERO + Duration::from_secs(3600) + Duration::from_micros(1);
    let out = run(&mut link, vec![(t, pkt(100, 1))]);
    assert_eq!(
        times(&out),
        [Instant::ZERO + Duration::from_secs(3600) + Duration::from_millis(10)]
    );
    // A packet offered exactly at an opportunity misses it.
    let mut link = Link::new(
        LinkConfig {
            trace_ms: Some(vec![0, 10]),
            ..LinkConfig::default()
        },
        StackRng::from_seed(1),
    );
    let out = run(&mut link, vec![(ms(20), pkt(100, 1))]);
    assert_eq!(times(&out), [ms(30)]);
}

#[test]
fn trace_utilization_is_the_used_fraction_of_capacity() {
    let config = LinkConfig {
        trace_ms: Some(vec![1]),
        queue: QueueConfig::DropTail(Limit::Packets(100_000)),
        ..LinkConfig::default()
    };
    // Saturated for a second: busy for the whole second.
    let mut link = Link::new(config.clone(), StackRng::from_seed(1));
    let input: Vec<_> = (0..1000).map(|i| (Instant::ZERO, pkt(1500, i))).collect();
    run(&mut link, input);
    assert_eq!(link.stats().busy, Duration::from_secs(1));
    // 750-byte packets, one per ms: half of each opportunity.
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..1000).map(|i| (ms(i), pkt(750, i))).collect();
    run(&mut link, input);
    assert_eq!(link.stats().busy, Duration::from_millis(500));
}

#[test]
fn invalid_trace_falls_back_to_the_rate() {
    let config = LinkConfig {
        trace_ms: Some(vec![]),
        rate_bps: Some(8_000_000),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let out = run(&mut link, vec![(Instant::ZERO, pkt(1000, 1))]);
    assert_eq!(times(&out), [ms(1)]);
}

#[test]
fn sojourn_records_the_wait_in_the_queue() {
    let config = LinkConfig {
        rate_bps: Some(8_000_000), // 1000 bytes per ms
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..3).map(|i| (Instant::ZERO, pkt(1000, i))).collect();
    run(&mut link, input);
    let s = link.sojourn().summary();
    assert_eq!(s.packets, 3);
    assert_eq!(s.mean, Duration::from_millis(1));
    assert_eq!(s.max, Duration::from_millis(2));
    let totals = link.stats().sojourn;
    assert_eq!(totals.packets, 3);
    assert_eq!(totals.total, Duration::from_millis(3));
}

#[test]
fn sojourn_with_a_trace_is_measured_to_the_opportunity() {
    let config = LinkConfig {
        trace_ms: Some(vec![1]),
        ..LinkConfig::default()
    };
    let mut link = Link::new(config, StackRng::from_seed(1));
    let input: Vec<_> = (0..2).map(|i| (Instant::ZERO, pkt(1500, i))).collect();
    run(&mut link, input);
    assert_eq!(link.stats().sojourn.total, Duration::from_millis(3));
}

#[test]
fn any_config_builds_a_link_that_does_not_panic() {
    let nan = f64::NAN;
    let config = LinkConfig {
        rate_bps: Some(0),
        jitter: Duration::MAX,
        loss: LossModel::GilbertElliott {
            p: nan,
            r: 7.0,
            loss_bad: -1.0,
            loss_good: nan,
        },
        duplicate: 2.0,
        corrupt: nan,
        reorder: Some(Reorder {
            probability: 5.0,
            gap: 0,
        }),
        mtu: 0,
        trace_ms: Some(vec![0]),
        outages: vec![Outage {
            start: Duration::MAX,
            duration: Duration::MAX,
            period: Some(Duration::ZERO),
        }],
        ..LinkConfig::default()
    };
    assert!(config.validate().is_err());
    let mut link = Link::new(config, StackRng::from_seed(1));
    run(&mut link, vec![(Instant::ZERO, Packet::new(Vec::new(), 1))]);
    run(&mut link, traffic(10));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unimpaired_link_delivers_every_packet_once_in_order_unchanged(
        rate in prop::option::of(100_000u64..10_000_000_000),
        delay_us in 0u64..100_000,
        trace in prop::option::of(prop::collection::vec(0u64..20, 1..20)),
        packets in prop::collection::vec((0u64..5_000, 20usize..=1500), 1..200),
    ) {
        let trace_ms = trace.map(|mut t| {
            t.sort_unstable();
            if let Some(last) = t.last_mut() {
                *last += 1;
            }
            t
        });
        let config = LinkConfig {
            rate_bps: rate,
            delay: Duration::from_micros(delay_us),
            trace_ms,
            queue: QueueConfig::DropTail(Limit::Packets(10_000)),
            ..LinkConfig::default()
        };
        prop_assert_eq!(config.validate(), Ok(()));
        let mut link = Link::new(config, StackRng::from_seed(3));
        let mut t = Instant::ZERO;
        let input: Vec<_> = packets
            .iter()
            .enumerate()
            .map(|(i, &(gap_us, len))| {
                t += Duration::from_micros(gap_us);
                (t, pkt(len, i as u64))
            })
            .collect();
        let out = run(&mut link, input.clone());
        prop_assert_eq!(out.len(), input.len());
        for ((sent_at, sent), (arrived_at, got)) in input.iter().zip(&out) {
            prop_assert_eq!(&sent.data, &got.data);
            prop_assert_eq!(sent.uid, got.uid);
            prop_assert!(*arrived_at >= *sent_at + Duration::from_micros(delay_us));
        }
        let s = link.stats();
        prop_assert_eq!(s.bytes_in, s.bytes_delivered);
        prop_assert_eq!(s.packets_in, s.packets_delivered);
        prop_assert_eq!(s.drops.total(), 0);
        prop_assert_eq!(s.reordered, 0);
        prop_assert_eq!(s.sojourn.packets, s.packets_in);
    }
}
