//! The one place `l4 sim` touches the simulator engine: build a
//! `layer4_sim::Simulation` from the scenario, run it with a progress callback, and
//! take the pcap bytes of each captured link.
//!

use layer4_sim::metrics::RunMetrics;
use layer4_sim::scenario::Scenario;

/// What a run produced: the metrics and `(link, pcap bytes)` per captured link.
pub type Simulated = (RunMetrics, Vec<(String, Vec<u8>)>);

/// How `l4 sim` runs a scenario (the real engine, or a fake in tests).
pub type SimulateFn = fn(&Scenario, &mut dyn FnMut(f64)) -> Result<Simulated, String>;

/// Runs `scenario`, calling `progress` with the fraction of virtual time done.
pub fn simulate(scenario: &Scenario, progress: &mut dyn FnMut(f64)) -> Result<Simulated, String> {
    let mut sim = layer4_sim::Simulation::new(scenario).map_err(|e| e.to_string())?;
    let metrics = sim.run(progress);
    if let Some(at) = sim.stalled() {
        return Err(format!(
            "virtual time stopped at {:.9} s: more than {} events and deliveries at that instant, so the run \
             could never end (a flow across links with no delay and no rate limit answers \
             itself at once: give a link on its path a delay or a rate)",
            at.as_nanos() as f64 / 1e9,
            layer4_sim::network::MAX_WORK_AT_ONE_INSTANT
        ));
    }
    let captures = scenario
        .captures
        .iter()
        .filter_map(|link| Some((link.clone(), sim.take_capture(link)?)))
        .collect();
    Ok((metrics, captures))
}
