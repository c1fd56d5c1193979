//! SACK loss recovery end to end: ten segments dropped from one window of a bulk
//! transfer between two stacks are repaired by RFC 6675 recovery with PRR, without a
//! retransmission timeout.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::*;
use layer4::time::{Duration, Instant};
use layer4_sim::network::Direction;
use layer4_sim::node::{FnMiddlebox, Verdict};
use layer4_sim::scenario::IpVersion;
use layer4_sim::Simulation;

/// Whether an IPv4 packet carries TCP payload.
fn is_tcp_data(p: &layer4_sim::Packet) -> bool {
    let d = &p.data;
    if d.len() < 40 || d[0] >> 4 != 4 || d[9] != 6 {
        return false;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
    let Some(tcp) = d.get(ihl..) else {
        return false;
    };
    let doff = usize::from(tcp.get(12).copied().unwrap_or(0) >> 4) * 4;
    total > ihl + doff
}

struct Outcome {
    fct_s: f64,
    dropped: u64,
    timeouts: u32,
    sack_recoveries: u32,
    sack_retransmits: u32,
    retrans_segs: u64,
    max_sacked: u32,
}

/// A 2 MB transfer over 100 Mbit/s, 20 ms one way; the 41st to 50th data
/// segments (ten consecutive segments of the third slow-start flight) are dropped.
fn run(cc: &str) -> Outcome {
    let bytes = 2_000_000;
    let mut flow = bulk("f", "left0", "right0", bytes);
    flow.cc = cc.to_string();
    let s = dumbbell(link(100_000_000, 20), IpVersion::V4, vec![flow], 30);
    let mut sim = Simulation::new(&s).unwrap();
    let seen = Rc::new(Cell::new(0u64));
    let counter = seen.clone();
    let mb = FnMiddlebox(move |_now: Instant, p: &mut layer4_sim::Packet| {
        if !is_tcp_data(p) {
            return Verdict::Pass;
        }
        counter.set(counter.get() + 1);
        if (41..=50).contains(&counter.get()) {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    });
    sim.network_mut()
        .set_middlebox("bottleneck", Direction::Forward, Box::new(mb))
        .unwrap();
    let mut now = Instant::ZERO;
    let mut last = None;
    let mut max_sacked = 0;
    let end = Instant::ZERO + Duration::from_secs(30);
    while now < end {
        now += Duration::from_millis(1);
        sim.network_mut().run_until(now);
        let (client, server) = sim.flow_stats("f").unwrap();
        if let Some(h) = client.data_socket {
            let stack = sim.network().stack("left0").unwrap();
            if let Ok(c) = stack.tcp_counters(h) {
                last = Some(c);
            }
            if let Ok(i) = stack.tcp_info(now, h) {
                max_sacked = max_sacked.max(i.sacked);
            }
        }
        if server.bytes_received == bytes {
            break;
        }
    }
    let (_, server) = sim.flow_stats("f").unwrap();
    assert_eq!(server.bytes_received, bytes, "the transfer completes");
    assert_eq!(server.integrity_errors, 0);
    let c = last.expect("the client connected");
    Outcome {
        fct_s: now.as_nanos() as f64 / 1e9,
        dropped: sim
            .network()
            .middlebox_drops("bottleneck", Direction::Forward)
            .unwrap(),
        timeouts: c.timeouts,
        sack_recoveries: c.sack_recoveries,
        sack_retransmits: c.sack_retransmits,
        retrans_segs: c.retrans_segs,
        max_sacked,
    }
}

#[test]
fn ten_segments_dropped_from_one_window_are_repaired_without_a_timeout() {
    for cc in ["cubic", "newreno"] {
        let o = run(cc);
        eprintln!(
            "{cc}: fct {:.3} s, dropped {}, RTOs {}, SACK recoveries {}, SACK retransmits {}, \
             retransmitted segments {}, most SACKed {}",
            o.fct_s,
            o.dropped,
            o.timeouts,
            o.sack_recoveries,
            o.sack_retransmits,
            o.retrans_segs,
            o.max_sacked
        );
        assert_eq!(o.dropped, 10);
        assert_eq!(o.timeouts, 0, "{cc}: repaired without an RTO");
        assert_eq!(o.sack_recoveries, 1, "{cc}");
        assert!(o.sack_retransmits >= 9, "{cc}");
        assert!(o.retrans_segs <= 12, "{cc}: {} resent", o.retrans_segs);
        assert!(o.max_sacked >= 10, "{cc}: tcp_info shows the scoreboard");
    }
}
