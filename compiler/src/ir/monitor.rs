//! Firing-rate monitors: each neuron population's output summed over a run, added to a lowered
//! program as ordinary ops (an accumulating Copy into a signal nothing resets, and a probe that
//! samples it once, at the last step), so every backend supports them unchanged.

use super::{Op, OpKind, ProbeDecl, Program, Signal, SignalId};

/// Prefix of the probes the monitors add (not user-visible names: `.snn` names cannot start so).
pub const PROBE_PREFIX: &str = "__rate.";

/// One monitored population.
#[derive(Clone, Debug)]
pub struct RateMonitor {
    /// The population's name in the model (`conv0`, `net.a`).
    pub name: String,
    /// Index of its probe in [`Program::probes`].
    pub probe: usize,
    /// Output height of one spike times `dt` (spiking) or of one unit of rate: dividing the mean
    /// output by it gives Hz.
    pub amplitude: f64,
    /// Whether the population spikes (else its output is a rate).
    pub spiking: bool,
}

/// Firing-rate statistics of one population over a run, in Hz.
#[derive(Clone, Debug, PartialEq)]
pub struct RateStats {
    /// The population's name.
    pub name: String,
    /// Neurons in it.
    pub neurons: usize,
    /// Mean over the batch and the neurons of each neuron's mean rate.
    pub mean_hz: f64,
    /// Largest mean rate of any neuron in any batch element.
    pub max_hz: f64,
    /// Whether the population spikes.
    pub spiking: bool,
}

/// Add a monitor for every neuron population of `program`, for a run of `steps` steps.
pub fn add_rate_monitors(program: &mut Program, steps: usize) -> Vec<RateMonitor> {
    let mut monitors = Vec::new();
    if steps == 0 {
        return monitors;
    }
    let mut ops = Vec::with_capacity(program.ops.len());
    for op in std::mem::take(&mut program.ops) {
        let extra = match &op.kind {
            OpKind::SimNeurons { neuron, out, .. } => {
                let src = &program.signals[out.0 as usize];
                let name = src
                    .name
                    .strip_suffix(".neurons.out")
                    .or_else(|| src.name.strip_suffix(".out"))
                    .unwrap_or(&src.name)
                    .to_string();
                let size = src.size;
                let sum = SignalId(program.signals.len() as u32);
                program.signals.push(Signal {
                    name: format!("{name}.rate_sum"),
                    size,
                    init: Vec::new(),
                });
                monitors.push(RateMonitor {
                    name: name.clone(),
                    probe: program.probes.len(),
                    amplitude: neuron.amplitude().unwrap_or(1.0),
                    spiking: neuron.is_spiking(),
                });
                program.probes.push(ProbeDecl {
                    name: format!("{PROBE_PREFIX}{name}"),
                    signal: sum,
                    shape: vec![size],
                    every: steps,
                });
                Some(Op::new(
                    OpKind::Copy { src: *out, dst: sum, src_sel: None, dst_sel: None, inc: true },
                    op.origin,
                ))
            }
            _ => None,
        };
        ops.push(op);
        ops.extend(extra);
    }
    program.ops = ops;
    monitors
}

/// Statistics from a monitor's probe data (`(batch, 1, n)` sums over `steps` steps).
pub fn rate_stats(monitor: &RateMonitor, sums: &ndarray::ArrayD<f64>, steps: usize) -> RateStats {
    let neurons = sums.shape().last().copied().unwrap_or(0);
    let scale = 1.0 / (steps.max(1) as f64 * monitor.amplitude);
    let (mut total, mut max, mut count) = (0.0, f64::NEG_INFINITY, 0usize);
    for &s in sums.iter() {
        let hz = s * scale;
        total += hz;
        max = max.max(hz);
        count += 1;
    }
    RateStats {
        name: monitor.name.clone(),
        neurons,
        mean_hz: if count == 0 { 0.0 } else { total / count as f64 },
        max_hz: if count == 0 { 0.0 } else { max },
        spiking: monitor.spiking,
    }
}
