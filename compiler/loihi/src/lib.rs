//! The `loihi` target of snnc: a lowered program mapped onto Loihi 1 neuron cores the way
//! nengo-loihi 1.1 maps a Nengo network, and run by an integer emulator that reproduces
//! nengo-loihi's emulator bit for bit (docs/LOIHI.md).
//!
//! The chain: [`lift::lift`] (program → float blocks, with located diagnostics for what cannot
//! map), [`chip::Chip::new`] (nengo-loihi's discretization, [`discretize`]), then
//! [`emulator::State::step`]. [`Loihi`] is the [`Target`] `snnc run --backend loihi` names.

pub mod block;
pub mod chip;
pub mod codes;
pub mod config;
pub mod discretize;
pub mod emulator;
pub mod host;
pub mod lift;
pub mod nef;
pub mod split;

use chip::Chip;
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use snn_compiler::ir::{opt, Program};
use snn_compiler::target::{Executable, Target, TargetError};
use snn_runtime::Precision;
use snn_syntax::Diagnostic;

/// The loihi target.
pub struct Loihi;

/// Chips a configuration may use (Nahuku boards hold 32; Pohoiki Springs 768).
pub const MAX_CHIPS: usize = 32;

/// nengo-loihi 1.1's build profile (`builder/builder.py` `Model`): intercepts limited to
/// 0.95 (`intercept_limit`) and decoders solved from `loihi_rates`.
pub const BUILD_OPTIONS: snn_compiler::build::BuildOptions =
    snn_compiler::build::BuildOptions { intercept_limit: Some(0.95), loihi_rates: true };

/// The target's name on the command line.
pub const NAME: &str = "loihi";

/// Lifts and discretizes `program`: the chip, or every located reason it does not map.
pub fn map(program: &Program) -> Result<Chip, Vec<Diagnostic>> {
    let net = lift::lift(program)?;
    let mut diags = Vec::new();
    for (b, block) in net.blocks.iter().enumerate() {
        if split::pieces(&net, b).is_none() {
            diags.push(
                Diagnostic::error(
                    codes::CAPACITY,
                    format!("`{}` does not fit Loihi cores however it is split", block.name),
                    block.origin,
                    "too many input axons or synapses per compartment",
                )
                .with_help(
                    "reduce the connections into it (fewer source neurons, or a sparse transform)",
                ),
            );
        }
    }
    let net = split::split(net);
    diags.extend(check_chips(net.blocks.len()));
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut errs = Vec::new();
    for b in &net.blocks {
        if let Err(e) = discretize::discretize_block(b, net.dt) {
            errs.push(
                Diagnostic::error(codes::RANGE, e.to_string(), b.origin, "does not discretize")
                    .with_help("shorten the time constant, or bring weights, biases and thresholds closer together in scale"),
            );
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Chip::new(net).map_err(|e| {
        vec![Diagnostic::error(codes::RANGE, e.to_string(), snn_syntax::Span::default(), "")]
    })
}

/// The error for a configuration of `cores` cores when it needs more than [`MAX_CHIPS`]
/// chips.
pub fn check_chips(cores: usize) -> Option<Diagnostic> {
    let chips = cores.div_ceil(config::CORES_PER_CHIP);
    (chips > MAX_CHIPS).then(|| {
        Diagnostic::error(
            codes::CAPACITY,
            format!("the model needs {cores} cores on {chips} chips (at most {MAX_CHIPS})"),
            snn_syntax::Span::default(),
            "",
        )
        .with_help("use fewer or smaller populations")
    })
}

/// Weight quantization error (rms, relative to a block's largest weight) above which
/// [`check`] warns.
pub const QUANT_WARN: f64 = 0.02;

/// Everything `snnc check --target loihi` reports for `program`: the errors that stop it
/// mapping, the warnings of the mapping (different synapses into one population), and a
/// warning per connection whose weights lose more than [`QUANT_WARN`] to 8-bit quantization.
pub fn check(program: &Program) -> Vec<Diagnostic> {
    let mut out = match lift::lift(program) {
        Ok(net) => net_warnings(&net),
        Err(d) => return d,
    };
    match map(program) {
        Err(d) => out.extend(d.into_iter().filter(|d| d.is_error())),
        Ok(chip) => {
            for (b, d) in chip.net.blocks.iter().zip(&chip.discrete) {
                for (s, ds) in b.synapses.iter().zip(&d.synapses) {
                    if ds.quant_error > QUANT_WARN {
                        out.push(
                            Diagnostic::warning(
                                codes::QUANTIZATION,
                                format!(
                                    "weights of this connection into `{}` lose {:.1}% (rms, of its largest weight) to 8-bit quantization",
                                    b.name,
                                    100.0 * ds.quant_error
                                ),
                                s.origin,
                                "quantized coarsely",
                            )
                            .with_help("weights much smaller than the largest one into the same population get few bits: scale them up, or split the population's inputs"),
                        );
                    }
                }
            }
        }
    }
    out
}

/// The warnings `lift` produced.
fn net_warnings(net: &block::Net) -> Vec<Diagnostic> {
    net.warnings.clone()
}

impl Target for Loihi {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build_options(&self) -> snn_compiler::build::BuildOptions {
        BUILD_OPTIONS
    }

    /// None: the chip mapping reads the program as lowered (connections, synapses and
    /// populations one op chain each).
    fn passes(&self) -> Vec<opt::Pass> {
        Vec::new()
    }

    fn prepare(
        &self,
        program: &Program,
        precision: Precision,
    ) -> Result<Box<dyn Executable>, TargetError> {
        Ok(Box::new(prepare(program, precision)?))
    }
}

/// [`Target::prepare`] of the loihi target, as its concrete type.
pub fn prepare(program: &Program, precision: Precision) -> Result<Prepared, TargetError> {
    {
        let chip = map(program).map_err(|d| TargetError::Unsupported {
            target: NAME,
            what: d
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        })?;
        let host = host::HostPart::new(program, &chip.net, precision)?;
        let emu = emulator::Program::new(&chip);
        Ok(Prepared { chip, emu, host, n_probes: program.probes.len() })
    }
}

/// A program mapped onto the chip, ready to emulate.
pub struct Prepared {
    /// The discretized network.
    pub chip: Chip,
    emu: emulator::Program,
    host: host::HostPart,
    n_probes: usize,
}

/// Values a batch chunk's host arrays may hold (the chunk shrinks to fit).
const CHUNK_VALUES: usize = 1 << 25;

impl Prepared {
    /// Spike height (amplitude / dt) of population `pop`.
    fn height(&self, pop: usize) -> f64 {
        let net = &self.chip.net;
        match net.populations[pop].blocks.first() {
            Some(&b) => (1.0 / net.dt) * net.blocks[b].amplitude,
            None => 1.0 / net.dt,
        }
    }
}

/// Rows `b0..b0 + nb` of every input (all of its batch when it has one row).
fn slice_batch(inputs: &[ArrayD<f64>], b0: usize, nb: usize) -> Vec<ArrayD<f64>> {
    inputs
        .iter()
        .map(|a| {
            if a.shape().first().copied().unwrap_or(0) > b0 {
                a.slice_axis(Axis(0), Slice::from(b0..b0 + nb)).to_owned()
            } else {
                a.clone()
            }
        })
        .collect()
}

impl Prepared {
    /// [`Executable::run`] for one batch element, calling `observe` with the emulator's
    /// state after every chip step (the tests compare it with nengo-loihi's).
    pub fn run_observed(
        &self,
        steps: usize,
        inputs: &[ArrayD<f64>],
        observe: &mut dyn FnMut(&emulator::State),
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        self.run_inner(steps, 1, inputs, 1, &mut |_| {}, Some(observe))
    }

    fn run_inner(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
        mut observe: Option<&mut dyn FnMut(&emulator::State)>,
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        let net = &self.chip.net;
        let index: Vec<Vec<usize>> = net
            .probes
            .iter()
            .map(|p| {
                let all = self.chip.population_index(p.population);
                p.select.iter().map(|&i| all[i]).collect()
            })
            .collect();
        let chip_probe_shape = |p: &block::Probe| {
            let samples = (1..=steps).filter(|k| k % p.every == 0).count();
            let mut shape = vec![batch, samples];
            shape.extend(&p.shape);
            shape
        };
        let mut chip_outs: Vec<ArrayD<f64>> =
            net.probes.iter().map(|p| ArrayD::zeros(IxDyn(&chip_probe_shape(p)))).collect();
        let mut host_outs: Vec<Option<ArrayD<f64>>> = vec![None; self.host.probes.len()];
        let send_n: usize = self.host.sends.iter().map(|&k| net.populations[k].n).sum();
        let recv_n: usize = self.host.post.as_ref().map_or(0, |p| {
            p.chip_inputs
                .iter()
                .zip(&p.used)
                .filter(|(_, u)| **u)
                .map(|(&k, _)| net.populations[k].n)
                .sum()
        });
        let chunk =
            (CHUNK_VALUES / (steps.max(1) * (send_n + recv_n).max(1))).clamp(1, batch.max(1));
        let zeros_for = |part: &host::Part, nb: usize, per_step: bool| -> Vec<ArrayD<f64>> {
            part.chip_inputs
                .iter()
                .zip(&part.used)
                .zip(&part.values)
                .map(|((&k, &u), v)| {
                    let n = net.populations[k].n / if v.is_some() { 2 } else { 1 };
                    if u && per_step {
                        ArrayD::zeros(IxDyn(&[nb, steps, n]))
                    } else {
                        ArrayD::zeros(IxDyn(&[nb, n]))
                    }
                })
                .collect()
        };
        let mut state = emulator::State::new(&self.emu);
        let mut b0 = 0;
        while b0 < batch {
            let nb = chunk.min(batch - b0);
            let mine = slice_batch(inputs, b0, nb);
            // the host's pre part: the spikes the host populations send
            let sent = match &self.host.pre {
                Some(pre) => {
                    let mut ins = mine.clone();
                    ins.extend(zeros_for(pre, nb, false));
                    pre.exe.run(steps, nb, &ins, threads, &mut |_| {})?
                }
                None => Vec::new(),
            };
            let send_index: Vec<Vec<usize>> =
                self.host.sends.iter().map(|&k| self.chip.population_index(k)).collect();
            // what the chip sends the host's post part: chip spikes per step
            let mut recv = match &self.host.post {
                Some(post) => zeros_for(post, nb, true),
                None => Vec::new(),
            };
            // (input, compartments, spike height or decoded value weight, is a value)
            let recv_index: Vec<(usize, Vec<usize>, f64, bool)> = match &self.host.post {
                Some(post) => post
                    .chip_inputs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| post.used[*j])
                    .map(|(j, &k)| {
                        let idx = self.chip.population_index(k);
                        match post.values[j] {
                            Some(radius) => {
                                let b0 = net.populations[k].blocks[0];
                                (j, idx, radius / self.chip.discrete[b0].v_scale, true)
                            }
                            None => (j, idx, self.height(k), false),
                        }
                    })
                    .collect(),
                None => Vec::new(),
            };
            for b in 0..nb {
                state = emulator::State::new(&self.emu);
                let mut rows: Vec<Vec<f64>> = vec![Vec::new(); net.probes.len()];
                // rate monitors: the spikes summed since the first step
                let mut sums: Vec<Vec<f64>> = index.iter().map(|i| vec![0.0; i.len()]).collect();
                // decoded probes: the filtered values (nengo-loihi's `ProbeFilter`)
                let mut filtered: Vec<Vec<f64>> =
                    index.iter().map(|i| vec![0.0; i.len() / 2]).collect();
                for k in 1..=steps {
                    // host spikes of step k - 1 arrive now (none at the first step)
                    for (si, idx) in send_index.iter().enumerate() {
                        let flat = sent[si]
                            .as_slice()
                            .ok_or_else(|| TargetError::Run("host spikes layout".into()))?;
                        let n = idx.len();
                        for (i, &g) in idx.iter().enumerate() {
                            state.spiked[g] = k >= 2 && flat[(b * steps + (k - 2)) * n + i] != 0.0;
                        }
                    }
                    state.step(&self.emu);
                    if let Some(f) = observe.as_mut() {
                        f(&state);
                    }
                    for (pi, p) in net.probes.iter().enumerate() {
                        let height = self.height(p.population);
                        if p.key == block::ProbeKey::SpikeSum {
                            for (s, &g) in sums[pi].iter_mut().zip(&index[pi]) {
                                if state.spiked[g] {
                                    *s += height;
                                }
                            }
                        }
                        if let block::ProbeKey::Decoded { radius, tau } = p.key {
                            let b0 = net.populations[p.population].blocks[0];
                            let w = radius / self.chip.discrete[b0].v_scale;
                            let a = if tau > 0.0 { (-net.dt / tau).exp() } else { 0.0 };
                            let d = index[pi].len() / 2;
                            for (j, y) in filtered[pi].iter_mut().enumerate() {
                                let on = f64::from(state.voltage[index[pi][j]]);
                                let off = f64::from(state.voltage[index[pi][d + j]]);
                                *y = a * *y + (1.0 - a) * (on * w + off * -w);
                            }
                            if k % p.every == 0 {
                                rows[pi].extend_from_slice(&filtered[pi]);
                            }
                            continue;
                        }
                        if k % p.every != 0 {
                            continue;
                        }
                        for (j, &g) in index[pi].iter().enumerate() {
                            rows[pi].push(match p.key {
                                block::ProbeKey::Spikes => {
                                    if state.spiked[g] {
                                        height
                                    } else {
                                        0.0
                                    }
                                }
                                block::ProbeKey::Voltage => f64::from(state.voltage[g]),
                                block::ProbeKey::SpikeSum => sums[pi][j],
                                block::ProbeKey::Decoded { .. } => 0.0,
                            });
                        }
                    }
                    // the host reads at step k what the chip sent at step max(k - 1, 1):
                    // chip step k is host step k + 1 (and host step 1 for the first)
                    for (j, idx, height, value) in &recv_index {
                        let flat = recv[*j]
                            .as_slice_mut()
                            .ok_or_else(|| TargetError::Run("chip spikes layout".into()))?;
                        let mut put = |hk: usize| {
                            if *value {
                                // nengo-loihi's chip-to-host probe: (v_on − v_off) · r / v_scale
                                let d = idx.len() / 2;
                                for i in 0..d {
                                    let on = f64::from(state.voltage[idx[i]]);
                                    let off = f64::from(state.voltage[idx[d + i]]);
                                    flat[(b * steps + hk - 1) * d + i] =
                                        on * *height + off * -*height;
                                }
                                return;
                            }
                            let n = idx.len();
                            for (i, &g) in idx.iter().enumerate() {
                                flat[(b * steps + hk - 1) * n + i] =
                                    if state.spiked[g] { *height } else { 0.0 };
                            }
                        };
                        if k == 1 {
                            put(1);
                        }
                        if k < steps {
                            put(k + 1);
                        }
                    }
                    if k % 1000 == 0 {
                        progress(1000);
                    }
                }
                for (out, row) in chip_outs.iter_mut().zip(&rows) {
                    let per_b = row.len();
                    let flat = out
                        .as_slice_mut()
                        .ok_or_else(|| TargetError::Run("probe layout".into()))?;
                    flat[(b0 + b) * per_b..(b0 + b + 1) * per_b].copy_from_slice(row);
                }
                progress((steps % 1000) as u64);
            }
            if let Some(post) = &self.host.post {
                let mut ins = mine;
                ins.extend(recv);
                let outs = post.exe.run(steps, nb, &ins, threads, &mut |_| {})?;
                for (slot, o) in host_outs.iter_mut().zip(outs) {
                    match slot {
                        None => {
                            let mut shape = o.shape().to_vec();
                            shape[0] = batch;
                            let mut full = ArrayD::zeros(IxDyn(&shape));
                            full.slice_axis_mut(Axis(0), Slice::from(b0..b0 + nb)).assign(&o);
                            *slot = Some(full);
                        }
                        Some(full) => {
                            full.slice_axis_mut(Axis(0), Slice::from(b0..b0 + nb)).assign(&o)
                        }
                    }
                }
            }
            b0 += nb;
        }
        drop(state);
        // the program's probes, in order
        let mut chip_outs = chip_outs.into_iter();
        let mut host_outs = host_outs.into_iter();
        let mut out = Vec::with_capacity(self.n_probes);
        for place in &net.probe_place {
            out.push(
                match place {
                    Some(_) => chip_outs.next(),
                    None => host_outs.next().flatten(),
                }
                .ok_or_else(|| TargetError::Run("a probe was not computed".into()))?,
            );
        }
        Ok(out)
    }
}

impl Executable for Prepared {
    fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        self.run_inner(steps, batch, inputs, threads, progress, None)
    }

    fn describe(&self) -> Vec<String> {
        vec![format!(
            "loihi: {} blocks, {} compartments",
            self.chip.net.blocks.len(),
            self.chip.n_compartments()
        )]
    }
}
