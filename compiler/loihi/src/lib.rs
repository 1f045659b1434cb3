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
pub mod lift;
pub mod split;

use chip::Chip;
use ndarray::{ArrayD, IxDyn};
use snn_compiler::ir::{opt, Program};
use snn_compiler::target::{Executable, Target, TargetError};
use snn_runtime::Precision;
use snn_syntax::Diagnostic;

/// The loihi target.
pub struct Loihi;

/// Chips a configuration may use (Nahuku boards hold 32; Pohoiki Springs 768).
pub const MAX_CHIPS: usize = 32;

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

    /// None: the chip mapping reads the program as lowered (connections, synapses and
    /// populations one op chain each).
    fn passes(&self) -> Vec<opt::Pass> {
        Vec::new()
    }

    fn prepare(
        &self,
        program: &Program,
        _precision: Precision,
    ) -> Result<Box<dyn Executable>, TargetError> {
        let chip = map(program).map_err(|d| TargetError::Unsupported {
            target: NAME,
            what: d
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        })?;
        if !program.inputs.is_empty() {
            return Err(TargetError::Unsupported {
                target: NAME,
                what: "run-time inputs (host input is not mapped yet)".into(),
            });
        }
        let emu = emulator::Program::new(&chip);
        Ok(Box::new(Prepared { chip, emu }))
    }
}

/// A program mapped onto the chip, ready to emulate.
pub struct Prepared {
    /// The discretized network.
    pub chip: Chip,
    emu: emulator::Program,
}

impl Executable for Prepared {
    fn run(
        &self,
        steps: usize,
        batch: usize,
        _inputs: &[ArrayD<f64>],
        _threads: usize,
        progress: &mut dyn FnMut(u64),
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
        let mut outs: Vec<ArrayD<f64>> = net
            .probes
            .iter()
            .map(|p| {
                let samples = (1..=steps).filter(|k| k % p.every == 0).count();
                let mut shape = vec![batch, samples];
                shape.extend(&p.shape);
                ArrayD::zeros(IxDyn(&shape))
            })
            .collect();
        // every batch element is the same run: the chip has no input and starts at zero
        let mut state = emulator::State::new(self.emu.len());
        let mut rows: Vec<Vec<f64>> = vec![Vec::new(); net.probes.len()];
        // rate monitors: the spikes summed since the first step
        let mut sums: Vec<Vec<f64>> = index.iter().map(|i| vec![0.0; i.len()]).collect();
        for k in 1..=steps {
            state.step(&self.emu);
            for (pi, p) in net.probes.iter().enumerate() {
                let height =
                    (1.0 / net.dt) * net.blocks[net.populations[p.population].blocks[0]].amplitude;
                if p.key == block::ProbeKey::SpikeSum {
                    for (s, &g) in sums[pi].iter_mut().zip(&index[pi]) {
                        if state.spiked[g] {
                            *s += height;
                        }
                    }
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
                    });
                }
            }
            if k % 1000 == 0 {
                progress(1000 * batch as u64);
            }
        }
        for (out, row) in outs.iter_mut().zip(&rows) {
            let per_b = row.len();
            for b in 0..batch {
                let flat =
                    out.as_slice_mut().ok_or_else(|| TargetError::Run("probe layout".into()))?;
                flat[b * per_b..(b + 1) * per_b].copy_from_slice(row);
            }
        }
        Ok(outs)
    }

    fn describe(&self) -> Vec<String> {
        vec![format!(
            "loihi: {} blocks, {} compartments",
            self.chip.net.blocks.len(),
            self.chip.n_compartments()
        )]
    }
}
