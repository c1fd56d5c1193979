//! What `l4 emulate` prints when it stops: one line per direction, and the same
//! counters as JSON for `--stats-json`.

use std::fmt::Write;
use std::time::Duration;

use layer4_net::emulator::DeviceStats;
use layer4_sim::link::{Link, LinkStats};

/// One direction's counters: the link's, and the devices' at either end.
#[derive(Debug)]
pub struct Direction {
    /// Packets read from the sending side's TUN.
    read: u64,
    /// Packets dropped before the link because it held too many already.
    dropped_held: u64,
    /// The link's counters.
    link: LinkStats,
    /// Packets written into the receiving side's TUN, and refused writes.
    written: u64,
    write_errors: u64,
    /// Packets still queued or propagating when the emulator stopped (dropped).
    queued_at_exit: usize,
}

impl Direction {
    /// The counters of `link`, fed from a TUN that read `read` packets, delivering
    /// into one whose device did `to`.
    pub fn new(link: &Link, dropped_held: u64, read: u64, to: DeviceStats) -> Direction {
        Direction {
            read,
            dropped_held,
            link: link.stats(),
            written: to.written,
            write_errors: to.write_errors,
            queued_at_exit: link.queue_len_packets(),
        }
    }

    fn line(&self, name: &str) -> String {
        let l = &self.link;
        let d = &l.drops;
        let loss_pct = if l.packets_in == 0 {
            0.0
        } else {
            100.0 * d.total() as f64 / l.packets_in as f64
        };
        let mut s = format!(
            "{name}: {} packets in, {} delivered, {} dropped ({loss_pct:.2}%: loss {}, overflow {}, aqm {}, mtu {}, outage {}, icmp {}), {} reordered, {} duplicated, {} corrupted, {} CE-marked",
            l.packets_in,
            l.packets_delivered,
            d.total(),
            d.loss,
            d.overflow,
            d.aqm,
            d.mtu,
            d.outage,
            d.filtered,
            l.reordered,
            l.duplicated,
            l.corrupted,
            l.ce_marks,
        );
        if self.dropped_held > 0 {
            let _ = write!(
                s,
                ", {} dropped as the link held too many",
                self.dropped_held
            );
        }
        if self.write_errors > 0 {
            let _ = write!(s, ", {} refused by the kernel", self.write_errors);
        }
        s
    }

    fn json(&self) -> serde_json::Value {
        let l = &self.link;
        let d = &l.drops;
        serde_json::json!({
            "read": self.read,
            "dropped_held": self.dropped_held,
            "packets_in": l.packets_in,
            "bytes_in": l.bytes_in,
            "packets_delivered": l.packets_delivered,
            "bytes_delivered": l.bytes_delivered,
            "written": self.written,
            "write_errors": self.write_errors,
            "drops": {
                "total": d.total(),
                "loss": d.loss,
                "overflow": d.overflow,
                "aqm": d.aqm,
                "mtu": d.mtu,
                "outage": d.outage,
                "filtered": d.filtered,
            },
            "reordered": l.reordered,
            "duplicated": l.duplicated,
            "corrupted": l.corrupted,
            "ce_marks": l.ce_marks,
            "queued_at_exit": self.queued_at_exit,
        })
    }
}

/// A whole run.
#[derive(Debug)]
pub struct Summary {
    /// The seed of the random models.
    pub seed: u64,
    /// How long it ran.
    pub elapsed: Duration,
    /// Why it stopped.
    pub stopped: String,
    /// Left to right.
    pub to_right: Direction,
    /// Right to left.
    pub to_left: Direction,
}

impl Summary {
    /// One line per direction.
    pub fn lines(&self) -> String {
        format!(
            "{}\n{}\n",
            self.to_right.line("left->right"),
            self.to_left.line("right->left")
        )
    }

    /// The counters as a JSON document.
    pub fn json(&self) -> String {
        let v = serde_json::json!({
            "seed": self.seed,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "stopped": self.stopped,
            "to_right": self.to_right.json(),
            "to_left": self.to_left.json(),
        });
        format!("{v:#}\n")
    }
}
