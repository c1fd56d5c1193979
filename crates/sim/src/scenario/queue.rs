//! The `queue` table of a link: `{ kind = "droptail", limit = "1000p" }` and the
//! AQM kinds `red`, `codel` and `fq_codel` with their parameters.
//!
//! Every kind is read and checked here into a [`QueueSpec`]; [`QueueSpec::to_config`]
//! turns it into the simulator's [`QueueConfig`]. Defaults come from the queue
//! configurations themselves ([`RedConfig`], [`CodelConfig`], [`FqCodelConfig`]),
//! so the scenario format and the Rust API never disagree.

use super::error::Sink;
use super::reader::{Item, Read};
use super::units::LimitValue;
use crate::queue::{CodelConfig, FqCodelConfig, Limit, QueueConfig, RedConfig};
use layer4::time::Duration;

/// Keys of every queue kind (a queue table may hold only its own kind's).
const KEYS: &[&str] = &[
    "kind",
    "limit",
    "limit_bytes",
    "min_bytes",
    "max_bytes",
    "max_p",
    "weight",
    "ecn",
    "target",
    "interval",
    "limit_packets",
    "flows",
    "quantum",
    "memory_limit_bytes",
    "ce_threshold",
];

/// A queue as the scenario file describes it, checked but not yet built.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueSpec {
    /// `kind = "droptail"`: first in, first out.
    DropTail {
        /// `limit`, default `"1000p"`.
        limit: LimitValue,
    },
    /// `kind = "red"`: Random Early Detection.
    Red(RedParams),
    /// `kind = "codel"`: CoDel (RFC 8289).
    Codel(CodelParams),
    /// `kind = "fq_codel"`: FQ-CoDel (RFC 8290).
    FqCodel(FqCodelParams),
}

/// RED's parameters (`kind = "red"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedParams {
    /// Hard limit of the queue in bytes (`limit_bytes`, default 400 KB).
    pub limit_bytes: u64,
    /// Average queue size where marking/dropping starts (`min_bytes`, default 30 KB).
    pub min_bytes: u64,
    /// Average queue size where the probability reaches `max_p` (`max_bytes`,
    /// default 90 KB).
    pub max_bytes: u64,
    /// Drop probability at `max_bytes` (`max_p`, default 0.1).
    pub max_p: f64,
    /// Weight of the moving average (`weight`, default 0.002).
    pub weight: f64,
    /// Mark ECN-capable packets CE instead of dropping them (`ecn`, default false).
    pub ecn: bool,
}

/// CoDel's parameters (`kind = "codel"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodelParams {
    /// Acceptable standing queue delay in ns (`target`, default 5 ms).
    pub target_ns: u64,
    /// Sliding window over which the minimum delay is taken, in ns (`interval`,
    /// default 100 ms).
    pub interval_ns: u64,
    /// Hard limit in packets (`limit_packets`, default 1000).
    pub limit_packets: u64,
    /// Mark instead of drop (`ecn`, default false).
    pub ecn: bool,
}

/// FQ-CoDel's parameters (`kind = "fq_codel"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FqCodelParams {
    /// Number of flow queues (`flows`, default 1024).
    pub flows: u64,
    /// Bytes a flow may dequeue per round (`quantum`, default 1514).
    pub quantum: u64,
    /// CoDel target per flow queue, ns (`target`, default 5 ms).
    pub target_ns: u64,
    /// CoDel interval, ns (`interval`, default 100 ms).
    pub interval_ns: u64,
    /// Hard limit in packets over all flow queues (`limit_packets`, default 10240).
    pub limit_packets: u64,
    /// Memory limit in bytes (`memory_limit_bytes`, default 32 MiB).
    pub memory_limit_bytes: u64,
    /// Mark instead of drop (`ecn`, default true).
    pub ecn: bool,
    /// Mark CE whenever a packet's sojourn exceeds this, ns (`ce_threshold`, default
    /// off).
    pub ce_threshold_ns: Option<u64>,
}

impl Default for RedParams {
    fn default() -> RedParams {
        let c = RedConfig::default();
        RedParams {
            limit_bytes: c.limit_bytes as u64,
            min_bytes: c.min_bytes as u64,
            max_bytes: c.max_bytes as u64,
            max_p: c.max_p,
            weight: c.weight,
            ecn: c.ecn,
        }
    }
}

impl Default for CodelParams {
    fn default() -> CodelParams {
        let c = CodelConfig::default();
        CodelParams {
            target_ns: c.target.as_nanos() as u64,
            interval_ns: c.interval.as_nanos() as u64,
            limit_packets: c.limit_packets as u64,
            ecn: c.ecn,
        }
    }
}

impl Default for FqCodelParams {
    fn default() -> FqCodelParams {
        let c = FqCodelConfig::default();
        FqCodelParams {
            flows: c.flows as u64,
            quantum: c.quantum as u64,
            target_ns: c.target.as_nanos() as u64,
            interval_ns: c.interval.as_nanos() as u64,
            limit_packets: c.limit_packets as u64,
            memory_limit_bytes: c.memory_limit_bytes as u64,
            ecn: c.ecn,
            ce_threshold_ns: c.ce_threshold.map(|d| d.as_nanos() as u64),
        }
    }
}

impl Default for QueueSpec {
    /// Drop-tail, 1000 packets (like [`QueueConfig::default`]).
    fn default() -> QueueSpec {
        QueueSpec::DropTail {
            limit: LimitValue::Packets(1000),
        }
    }
}

impl QueueSpec {
    /// The kind's name as written in a scenario file.
    pub fn kind(&self) -> &'static str {
        match self {
            QueueSpec::DropTail { .. } => "droptail",
            QueueSpec::Red(_) => "red",
            QueueSpec::Codel(_) => "codel",
            QueueSpec::FqCodel(_) => "fq_codel",
        }
    }

    /// The simulator's queue configuration, or why this build cannot make one.
    pub fn to_config(&self) -> Result<QueueConfig, String> {
        let too_large = |n: u64| format!("limit {n} is too large");
        let size = |n: u64| usize::try_from(n).map_err(|_| too_large(n));
        match *self {
            QueueSpec::DropTail { limit } => Ok(QueueConfig::DropTail(match limit {
                LimitValue::Packets(n) => {
                    Limit::Packets(usize::try_from(n).map_err(|_| too_large(n))?)
                }
                LimitValue::Bytes(n) => Limit::Bytes(usize::try_from(n).map_err(|_| too_large(n))?),
            })),
            QueueSpec::Red(p) => Ok(QueueConfig::Red(RedConfig {
                limit_bytes: size(p.limit_bytes)?,
                min_bytes: size(p.min_bytes)?,
                max_bytes: size(p.max_bytes)?,
                max_p: p.max_p,
                weight: p.weight,
                ecn: p.ecn,
            })),
            QueueSpec::Codel(p) => Ok(QueueConfig::Codel(CodelConfig {
                target: Duration::from_nanos(p.target_ns),
                interval: Duration::from_nanos(p.interval_ns),
                limit_packets: size(p.limit_packets)?,
                ecn: p.ecn,
                ..CodelConfig::default()
            })),
            QueueSpec::FqCodel(p) => Ok(QueueConfig::FqCodel(FqCodelConfig {
                flows: size(p.flows)?,
                quantum: size(p.quantum)?,
                target: Duration::from_nanos(p.target_ns),
                interval: Duration::from_nanos(p.interval_ns),
                limit_packets: size(p.limit_packets)?,
                memory_limit_bytes: size(p.memory_limit_bytes)?,
                ecn: p.ecn,
                ce_threshold: p.ce_threshold_ns.map(Duration::from_nanos),
            })),
        }
        .and_then(|config: QueueConfig| {
            config
                .validate()
                .map(|()| config)
                .map_err(|e| e.to_string())
        })
    }
}

/// Reads a `queue` table.
pub(crate) fn read_queue(sink: &mut Sink<'_>, item: Item<'_, '_>) -> Read<QueueSpec> {
    let table = item.table(sink, KEYS)?;
    let kind = match table.get("kind") {
        Some(k) => k.str(sink)?,
        None => "droptail",
    };
    let own: &[&str] = match kind {
        "droptail" => &["kind", "limit"],
        "red" => &[
            "kind",
            "limit_bytes",
            "min_bytes",
            "max_bytes",
            "max_p",
            "weight",
            "ecn",
        ],
        "codel" => &["kind", "target", "interval", "limit_packets", "ecn"],
        "fq_codel" => &[
            "kind",
            "flows",
            "quantum",
            "target",
            "interval",
            "limit_packets",
            "memory_limit_bytes",
            "ecn",
            "ce_threshold",
        ],
        other => {
            if let Some(k) = table.get("kind") {
                k.error(
                    sink,
                    format!("unknown queue kind {other:?} (known: droptail, red, codel, fq_codel)"),
                );
            }
            return None;
        }
    };
    let foreign: Vec<&str> = KEYS.iter().copied().filter(|k| !own.contains(k)).collect();
    table.reject(
        sink,
        &foreign,
        &format!("for queue kind {kind:?} (its keys: {})", own.join(", ")),
    );

    let mut ok = true;
    let mut size = |key: &str, into: &mut u64, sink: &mut Sink<'_>| {
        if let Some(v) = table.get(key) {
            match v.size(sink) {
                Some(n) => *into = n,
                None => ok = false,
            }
        }
    };
    let spec = match kind {
        "droptail" => {
            let limit = match table.get("limit") {
                Some(v) => v.limit(sink)?,
                None => LimitValue::Packets(1000),
            };
            if matches!(limit, LimitValue::Packets(0) | LimitValue::Bytes(0)) {
                if let Some(v) = table.get("limit") {
                    v.error(sink, "a queue limit must be more than 0");
                }
                return None;
            }
            QueueSpec::DropTail { limit }
        }
        "red" => {
            let mut p = RedParams::default();
            size("limit_bytes", &mut p.limit_bytes, sink);
            size("min_bytes", &mut p.min_bytes, sink);
            size("max_bytes", &mut p.max_bytes, sink);
            if let Some(v) = table.get("max_p") {
                p.max_p = v.probability(sink)?;
            }
            if let Some(v) = table.get("weight") {
                p.weight = v.probability(sink)?;
            }
            if let Some(v) = table.get("ecn") {
                p.ecn = v.bool(sink)?;
            }
            if !(p.min_bytes < p.max_bytes && p.max_bytes <= p.limit_bytes) {
                sink.error(
                    table.span(),
                    table.path(),
                    format!(
                        "RED needs min_bytes < max_bytes <= limit_bytes (have {} < {} <= {})",
                        p.min_bytes, p.max_bytes, p.limit_bytes
                    ),
                );
                return None;
            }
            QueueSpec::Red(p)
        }
        "codel" => {
            let mut p = CodelParams::default();
            read_codel(
                sink,
                &table,
                &mut p.target_ns,
                &mut p.interval_ns,
                &mut p.limit_packets,
            )?;
            if let Some(v) = table.get("ecn") {
                p.ecn = v.bool(sink)?;
            }
            QueueSpec::Codel(p)
        }
        _ => {
            let mut p = FqCodelParams::default();
            read_codel(
                sink,
                &table,
                &mut p.target_ns,
                &mut p.interval_ns,
                &mut p.limit_packets,
            )?;
            if let Some(v) = table.get("flows") {
                p.flows = v.int(sink, 1, 65_536)?;
            }
            if let Some(v) = table.get("quantum") {
                p.quantum = v.int(sink, 64, 1 << 20)?;
            }
            size("memory_limit_bytes", &mut p.memory_limit_bytes, sink);
            if let Some(v) = table.get("ecn") {
                p.ecn = v.bool(sink)?;
            }
            if let Some(v) = table.get("ce_threshold") {
                p.ce_threshold_ns = Some(v.duration_ns(sink)?);
            }
            QueueSpec::FqCodel(p)
        }
    };
    ok.then_some(spec)
}

/// `target`, `interval` and `limit_packets`, shared by CoDel and FQ-CoDel.
fn read_codel(
    sink: &mut Sink<'_>,
    table: &super::reader::Table<'_, '_>,
    target: &mut u64,
    interval: &mut u64,
    limit: &mut u64,
) -> Read<()> {
    if let Some(v) = table.get("target") {
        *target = v.duration_ns(sink)?;
    }
    if let Some(v) = table.get("interval") {
        *interval = v.duration_ns(sink)?;
    }
    if let Some(v) = table.get("limit_packets") {
        *limit = v.int(sink, 1, 1 << 24)?;
    }
    if *target == 0 || *interval == 0 || *target >= *interval {
        sink.error(
            table.span(),
            table.path(),
            "CoDel needs 0 < target < interval",
        );
        return None;
    }
    Some(())
}
