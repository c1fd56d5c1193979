//! Link tables: rate, delay, impairments, trace, outages and queue, the same for both
//! directions unless `forward` / `reverse` sub-tables override keys for one of them.

use super::error::Sink;
use super::queue::read_queue;
use super::reader::{Item, Read, Table};
use crate::link::trace::Trace;
use crate::link::{LinkConfig, LossModel, Outage, Reorder};
use layer4::time::Duration;
use std::collections::HashMap;

/// Keys that describe one direction of a link.
pub(crate) const DIRECTION_KEYS: &[&str] = &[
    "rate",
    "delay",
    "jitter",
    "jitter_reorders",
    "loss",
    "duplicate",
    "corrupt",
    "reorder",
    "mtu",
    "trace",
    "outages",
    "queue",
    "drop_icmp",
];

/// Smallest and largest MTU accepted (IPv4's minimum datagram; the IP maximum).
pub(crate) const MTU_RANGE: (u64, u64) = (68, 65_535);

/// Reads trace files named by `trace` keys: gets the text of a path as written in
/// the scenario (the caller resolves it against the scenario's folder).
pub type TraceLoader<'r> = &'r mut dyn FnMut(&str) -> Result<String, String>;

/// Loads and parses traces, each file once.
pub(crate) struct Traces<'r> {
    load: Option<TraceLoader<'r>>,
    cache: HashMap<String, Result<Vec<u64>, String>>,
}

impl std::fmt::Debug for Traces<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces")
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl<'r> Traces<'r> {
    pub(crate) fn new(load: Option<TraceLoader<'r>>) -> Traces<'r> {
        Traces {
            load,
            cache: HashMap::new(),
        }
    }

    fn get(&mut self, path: &str) -> Result<Vec<u64>, String> {
        if let Some(done) = self.cache.get(path) {
            return done.clone();
        }
        let result = match self.load.as_mut() {
            None => Err(
                "trace files cannot be read here (the scenario was parsed without a file loader)"
                    .to_string(),
            ),
            Some(load) => load(path).and_then(|text| {
                Trace::parse(&text)
                    .map(Trace::into_ms)
                    .map_err(|e| format!("{path}: {e}"))
            }),
        };
        self.cache.insert(path.to_string(), result.clone());
        result
    }
}

/// Reads a link table with both directions: `(forward, reverse)`. With
/// `directional` false, `forward`/`reverse` sub-tables are refused (`why` says why).
pub(crate) fn read_duplex(
    sink: &mut Sink<'_>,
    traces: &mut Traces<'_>,
    table: &Table<'_, '_>,
    directional: Result<(), &str>,
) -> Read<(LinkConfig, LinkConfig)> {
    let mut base = LinkConfig::default();
    let mut ok = apply(sink, traces, table, &mut base);
    let mut forward = base.clone();
    let mut reverse = base;
    for (key, config) in [("forward", &mut forward), ("reverse", &mut reverse)] {
        let Some(item) = table.get(key) else { continue };
        if let Err(why) = directional {
            item.error(sink, format!("not allowed here: {why}"));
            ok = false;
            continue;
        }
        match item.table(sink, DIRECTION_KEYS) {
            Some(sub) => ok &= apply(sink, traces, &sub, config),
            None => ok = false,
        }
    }
    for config in [&forward, &reverse] {
        ok &= check(sink, table, config);
    }
    ok.then_some((forward, reverse))
}

/// Checks that concern the keys together.
fn check(sink: &mut Sink<'_>, table: &Table<'_, '_>, config: &LinkConfig) -> bool {
    // The link's own rules (probabilities, MTU, reordering, outages, the queue),
    // reported at the link's table.
    if let Err(e) = config.validate() {
        sink.error(table.span(), table.path(), e.to_string());
        return false;
    }
    if config.trace_ms.is_some() && config.rate_bps.is_some() {
        let span = table
            .key_span("trace")
            .or_else(|| table.key_span("rate"))
            .unwrap_or(table.span());
        sink.error(
            span,
            table.path(),
            "set either rate or trace (a trace replaces the rate), not both",
        );
        return false;
    }
    true
}

/// Applies the direction keys present in `table` to `config`; false after an error.
fn apply(
    sink: &mut Sink<'_>,
    traces: &mut Traces<'_>,
    table: &Table<'_, '_>,
    config: &mut LinkConfig,
) -> bool {
    let before = sink.len();
    if let Some(v) = table.get("rate") {
        if let Some(rate) = v.rate(sink) {
            config.rate_bps = rate;
        }
    }
    if let Some(v) = table.get("delay") {
        if let Some(ns) = v.duration_ns(sink) {
            config.delay = Duration::from_nanos(ns);
        }
    }
    if let Some(v) = table.get("jitter") {
        if let Some(ns) = v.duration_ns(sink) {
            config.jitter = Duration::from_nanos(ns);
        }
    }
    if let Some(v) = table.get("jitter_reorders") {
        if let Some(b) = v.bool(sink) {
            config.jitter_reorders = b;
        }
    }
    if let Some(v) = table.get("loss") {
        if let Some(loss) = read_loss(sink, v) {
            config.loss = loss;
        }
    }
    if let Some(v) = table.get("duplicate") {
        if let Some(p) = v.probability(sink) {
            config.duplicate = p;
        }
    }
    if let Some(v) = table.get("drop_icmp") {
        if let Some(b) = v.bool(sink) {
            config.drop_icmp = b;
        }
    }
    if let Some(v) = table.get("corrupt") {
        if let Some(p) = v.probability(sink) {
            config.corrupt = p;
        }
    }
    if let Some(v) = table.get("reorder") {
        if let Some(reorder) = read_reorder(sink, v) {
            config.reorder = reorder;
        }
    }
    if let Some(v) = table.get("mtu") {
        if let Some(mtu) = v.int(sink, MTU_RANGE.0, MTU_RANGE.1) {
            config.mtu = mtu as usize;
        }
    }
    if let Some(v) = table.get("trace") {
        if let Some(path) = v.str(sink) {
            match traces.get(path) {
                Ok(ms) => config.trace_ms = Some(ms),
                Err(e) => v.error(sink, e),
            }
        }
    }
    if let Some(v) = table.get("outages") {
        if let Some(outages) = read_outages(sink, v) {
            config.outages = outages;
        }
    }
    if let Some(v) = table.get("queue") {
        if let Some(spec) = read_queue(sink, v) {
            match spec.to_config() {
                Ok(queue) => config.queue = queue,
                Err(e) => v.error(sink, e),
            }
        }
    }
    sink.len() == before
}

/// `loss = "1%"`, `loss = 0.01`, or a table with `model`.
fn read_loss(sink: &mut Sink<'_>, item: Item<'_, '_>) -> Read<LossModel> {
    if !item.is_table() {
        let p = item.probability(sink)?;
        return Some(if p == 0.0 {
            LossModel::None
        } else {
            LossModel::Bernoulli { p }
        });
    }
    let table = item.table(sink, &["model", "p", "r", "loss_bad", "loss_good"])?;
    let model = table.require(sink, "model")?;
    match model.str(sink)? {
        "bernoulli" => {
            table.reject(
                sink,
                &["r", "loss_bad", "loss_good"],
                "for the bernoulli model (its keys: model, p)",
            );
            let p = table.require(sink, "p")?.probability(sink)?;
            Some(LossModel::Bernoulli { p })
        }
        "gilbert-elliott" => {
            let p = table.require(sink, "p")?.probability(sink)?;
            let r = table.require(sink, "r")?.probability(sink)?;
            let loss_bad = match table.get("loss_bad") {
                Some(v) => v.probability(sink)?,
                None => 1.0,
            };
            let loss_good = match table.get("loss_good") {
                Some(v) => v.probability(sink)?,
                None => 0.0,
            };
            Some(LossModel::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            })
        }
        other => {
            model.error(
                sink,
                format!("unknown loss model {other:?} (known: bernoulli, gilbert-elliott)"),
            );
            None
        }
    }
}

/// `reorder = { probability = "25%", gap = 5 }`.
fn read_reorder(sink: &mut Sink<'_>, item: Item<'_, '_>) -> Read<Option<Reorder>> {
    let table = item.table(sink, &["probability", "gap"])?;
    let probability = table.require(sink, "probability")?.probability(sink)?;
    let gap = match table.get("gap") {
        Some(v) => v.int(sink, 1, 1_000_000)? as u32,
        None => 1,
    };
    Some((probability > 0.0).then_some(Reorder { probability, gap }))
}

/// `outages = [{ start = "2s", duration = "500ms", period = "5s" }]`.
fn read_outages(sink: &mut Sink<'_>, item: Item<'_, '_>) -> Read<Vec<Outage>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (path, value) in item.array(sink)? {
        let element = Item { path: &path, value };
        let Some(table) = element.table(sink, &["start", "duration", "period"]) else {
            ok = false;
            continue;
        };
        let read = (|| {
            let start = table.require(sink, "start")?.duration_ns(sink)?;
            let duration_item = table.require(sink, "duration")?;
            let duration = duration_item.duration_ns(sink)?;
            if duration == 0 {
                duration_item.error(sink, "an outage lasts more than 0");
                return None;
            }
            let period = match table.get("period") {
                Some(v) => {
                    let period = v.duration_ns(sink)?;
                    if period <= duration {
                        v.error(sink, "the period must be longer than the outage's duration");
                        return None;
                    }
                    Some(Duration::from_nanos(period))
                }
                None => None,
            };
            Some(Outage {
                start: Duration::from_nanos(start),
                duration: Duration::from_nanos(duration),
                period,
            })
        })();
        match read {
            Some(o) => out.push(o),
            None => ok = false,
        }
    }
    ok.then_some(out)
}
