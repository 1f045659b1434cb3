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
use ndarray::{ArrayD, IxDyn};
use snn_compiler::ir::{opt, Program};
use snn_compiler::target::{Executable, Resumable, Target, TargetError};
use snn_runtime::batch::{self, ProbeSpec, Stepper};
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
    // at least one core per 1024 compartments of each block: past the chips allowed, say so
    // before splitting (whose pieces of a huge block would not fit in memory either)
    let least: usize =
        net.blocks.iter().map(|b| b.n.div_ceil(config::MAX_COMPARTMENTS).max(1)).sum();
    if let Some(d) = check_chips(least) {
        let at = net.blocks.iter().max_by_key(|b| b.n).map_or_else(Default::default, |b| b.origin);
        let d = Diagnostic {
            primary: snn_syntax::Label { span: at, message: "the largest population".into() },
            ..d
        };
        return Err(vec![d]);
    }
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
        Prepared::new(program, chip, precision)
    }
}

/// A program mapped onto the chip, ready to emulate.
pub struct Prepared {
    /// The discretized network.
    pub chip: Chip,
    emu: emulator::Program,
    host: host::HostPart,
    /// Each program input: name, values per sample.
    inputs: Vec<(String, usize)>,
    /// Per program probe: where it is computed.
    places: Vec<Place>,
    /// Per chip probe: the program probe it is.
    chip_places: Vec<usize>,
    /// Per probe of the host's post part: name, values per sample, steps per sample, shape.
    host_specs: Vec<(String, usize, usize, Vec<usize>)>,
    /// Per chip probe: the compartments it reads, in output order.
    index: Vec<Vec<usize>>,
    /// Per host population sending spikes: its compartments.
    send_index: Vec<Vec<usize>>,
    /// Per input of the host's post part the chip feeds: (input among the chip inputs,
    /// compartments, spike height or decoded value weight, is a decoded value).
    recv_index: Vec<(usize, Vec<usize>, f64, bool)>,
}

/// Where a program probe is computed.
#[derive(Clone, Copy)]
enum Place {
    /// Read from the chip: chip probe `i`.
    Chip(usize),
    /// Computed by the host's post part: its probe `i`.
    Host(usize),
}

impl Prepared {
    fn new(program: &Program, chip: Chip, precision: Precision) -> Result<Self, TargetError> {
        let host = host::HostPart::new(program, &chip.net, precision)?;
        let emu = emulator::Program::new(&chip);
        let net = &chip.net;
        let mut places = Vec::with_capacity(net.probe_place.len());
        let mut chip_places = Vec::with_capacity(net.probes.len());
        let mut n_host = 0;
        for (i, place) in net.probe_place.iter().enumerate() {
            places.push(match place {
                Some(_) => (Place::Chip(chip_places.len()), chip_places.push(i)).0,
                None => (Place::Host(n_host), n_host += 1).0,
            });
        }
        if chip_places.len() != net.probes.len() || n_host != host.probes.len() {
            return Err(TargetError::Invalid {
                target: NAME,
                what: "probes not all placed".into(),
            });
        }
        let index = net
            .probes
            .iter()
            .map(|p| {
                let all = chip.population_index(p.population);
                p.select.iter().map(|&i| all[i]).collect()
            })
            .collect();
        let send_index = host.sends.iter().map(|&k| chip.population_index(k)).collect();
        let recv_index = match &host.post {
            Some(post) => post
                .chip_inputs
                .iter()
                .enumerate()
                .filter(|(j, _)| post.used[*j])
                .map(|(j, &k)| {
                    let idx = chip.population_index(k);
                    match post.values[j] {
                        Some(radius) => {
                            let b0 = net.populations[k].blocks[0];
                            (j, idx, radius / chip.discrete[b0].v_scale, true)
                        }
                        None => (j, idx, height(net, k), false),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let inputs =
            program.inputs.iter().map(|d| (d.name.clone(), d.shape.iter().product())).collect();
        let mut host_specs = Vec::with_capacity(host.probes.len());
        for &i in &host.probes {
            let d = program.probes.get(i).ok_or_else(|| TargetError::Invalid {
                target: NAME,
                what: "a host probe is not the program's".into(),
            })?;
            let size = program.signals.get(d.signal.0 as usize).map_or(0, |s| s.size);
            host_specs.push((d.name.clone(), size, d.every, d.shape.clone()));
        }
        Ok(Prepared {
            chip,
            emu,
            host,
            inputs,
            places,
            chip_places,
            host_specs,
            index,
            send_index,
            recv_index,
        })
    }

    /// Values per sample of chip probe `pi`.
    fn chip_probe_size(&self, pi: usize) -> usize {
        match self.chip.net.probes[pi].key {
            block::ProbeKey::Decoded { .. } => self.index[pi].len() / 2,
            _ => self.index[pi].len(),
        }
    }
}

/// Spike height (amplitude / dt) of population `pop`.
fn height(net: &block::Net, pop: usize) -> f64 {
    match net.populations[pop].blocks.first() {
        Some(&b) => (1.0 / net.dt) * net.blocks[b].amplitude,
        None => 1.0 / net.dt,
    }
}

/// A prepared program with the inputs of one run: what the run loop steps.
struct Bound<'a> {
    prep: &'a Prepared,
    inputs: &'a [ArrayD<f64>],
}

/// One batch element between chunks: the chip's state, the host parts' elements, and what
/// crosses a chunk's end.
struct Elem<'a> {
    state: emulator::State,
    pre: Option<Box<dyn Resumable + 'a>>,
    post: Option<Box<dyn Resumable + 'a>>,
    /// Per chip probe: rate monitors' spikes summed since the first step.
    sums: Vec<Vec<f64>>,
    /// Per chip probe: decoded probes' filtered values (nengo-loihi's `ProbeFilter`).
    filtered: Vec<Vec<f64>>,
    /// Per host population sending spikes: its spikes of the last step run.
    sent_last: Vec<Vec<f64>>,
    /// Per chip input of the post part: what the chip sent at the last step run (the host
    /// reads it at the next step).
    recv_last: Vec<Vec<f64>>,
}

impl Bound<'_> {
    /// Batch element `b`'s values of each input for steps `k0 + 1 ..= k1`: held, or per step.
    fn input_rows(&self, b: usize, (k0, k1): (u64, u64)) -> Result<Vec<&[f64]>, String> {
        let mut rows = Vec::with_capacity(self.inputs.len());
        for (a, (_, size)) in self.inputs.iter().zip(&self.prep.inputs) {
            let row = batch::element_row(a, b)?;
            rows.push(if row.len() == *size {
                row
            } else {
                &row[k0 as usize * size..k1 as usize * size]
            });
        }
        Ok(rows)
    }

    /// [`Stepper::advance`], calling `observe` with the emulator's state after every chip step.
    fn advance_observed(
        &self,
        e: &mut Elem<'_>,
        b: usize,
        (k0, k1): (u64, u64),
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
        mut observe: Option<&mut dyn FnMut(&emulator::State)>,
    ) -> Result<(), String> {
        let p = self.prep;
        let net = &p.chip.net;
        let n = (k1 - k0) as usize;
        let own = self.input_rows(b, (k0, k1))?;
        let held_zeros = |part: &host::Part| -> Vec<Vec<f64>> {
            part.chip_inputs
                .iter()
                .zip(&part.values)
                .map(|(&k, v)| vec![0.0; net.populations[k].n / if v.is_some() { 2 } else { 1 }])
                .collect()
        };
        // the host's pre part: the spikes the host populations send in these steps
        let mut sent: Vec<Vec<f64>> =
            p.host.sends.iter().map(|&k| vec![0.0; n * net.populations[k].n]).collect();
        if let (Some(pre), Some(part)) = (e.pre.as_mut(), &p.host.pre) {
            let zeros = held_zeros(part);
            let mut ins = own.clone();
            ins.extend(zeros.iter().map(Vec::as_slice));
            let mut outs: Vec<&mut [f64]> = sent.iter_mut().map(Vec::as_mut_slice).collect();
            pre.advance((k0, k1), &ins, &mut outs, &mut |_| {}).map_err(|e| e.to_string())?;
        }
        // what the chip sends the post part, one row per host step k0 + 1 ..= k1
        let mut recv: Vec<Vec<f64>> = match &p.host.post {
            Some(post) => held_zeros(post)
                .into_iter()
                .zip(&post.used)
                .map(|(z, &u)| if u { vec![0.0; n * z.len()] } else { z })
                .collect(),
            None => Vec::new(),
        };
        let mut filled = vec![0usize; net.probes.len()];
        for k in k0 as usize + 1..=k1 as usize {
            // host spikes of step k - 1 arrive now (none at the first step)
            for (si, idx) in p.send_index.iter().enumerate() {
                let m = idx.len();
                let prev: &[f64] = if k < 2 {
                    &[]
                } else if k - 1 == k0 as usize {
                    &e.sent_last[si]
                } else {
                    let r = k - 2 - k0 as usize;
                    &sent[si][r * m..(r + 1) * m]
                };
                for (i, &g) in idx.iter().enumerate() {
                    e.state.spiked[g] = prev.get(i).is_some_and(|&v| v != 0.0);
                }
            }
            e.state.step(&p.emu);
            if let Some(f) = observe.as_mut() {
                f(&e.state);
            }
            for (pi, pr) in net.probes.iter().enumerate() {
                let h = height(net, pr.population);
                let idx = &p.index[pi];
                if pr.key == block::ProbeKey::SpikeSum {
                    for (s, &g) in e.sums[pi].iter_mut().zip(idx) {
                        if e.state.spiked[g] {
                            *s += h;
                        }
                    }
                }
                if let block::ProbeKey::Decoded { radius, tau } = pr.key {
                    let b0 = net.populations[pr.population].blocks[0];
                    let w = radius / p.chip.discrete[b0].v_scale;
                    let a = if tau > 0.0 { (-net.dt / tau).exp() } else { 0.0 };
                    let d = idx.len() / 2;
                    for (j, y) in e.filtered[pi].iter_mut().enumerate() {
                        let on = f64::from(e.state.voltage[idx[j]]);
                        let off = f64::from(e.state.voltage[idx[d + j]]);
                        *y = a * *y + (1.0 - a) * (on * w + off * -w);
                    }
                }
                if k % pr.every.max(1) != 0 {
                    continue;
                }
                let dst = &mut out[p.chip_places[pi]];
                let size = p.chip_probe_size(pi);
                let row = dst
                    .get_mut(filled[pi]..filled[pi] + size)
                    .ok_or("a chip probe holds more samples than its buffer")?;
                filled[pi] += size;
                match pr.key {
                    block::ProbeKey::Decoded { .. } => row.copy_from_slice(&e.filtered[pi]),
                    block::ProbeKey::SpikeSum => row.copy_from_slice(&e.sums[pi]),
                    block::ProbeKey::Spikes => {
                        for (v, &g) in row.iter_mut().zip(idx) {
                            *v = if e.state.spiked[g] { h } else { 0.0 };
                        }
                    }
                    block::ProbeKey::Voltage => {
                        for (v, &g) in row.iter_mut().zip(idx) {
                            *v = f64::from(e.state.voltage[g]);
                        }
                    }
                }
            }
            // the host reads at step k what the chip sent at step max(k − 1, 1): chip step k
            // is host step k + 1 (and host step 1 for the first)
            for (r, (j, idx, w, value)) in p.recv_index.iter().enumerate() {
                let local = k - 1 - k0 as usize;
                let buf = &mut recv[*j];
                let row = &mut e.recv_last[r];
                let width = row.len();
                if local == 0 && k > 1 {
                    // host step k0 + 1 reads chip step k0, run in the previous chunk
                    buf[..width].copy_from_slice(row);
                }
                if *value {
                    // nengo-loihi's chip-to-host probe: (v_on − v_off) · r / v_scale
                    let d = idx.len() / 2;
                    for (i, v) in row.iter_mut().enumerate() {
                        let on = f64::from(e.state.voltage[idx[i]]);
                        let off = f64::from(e.state.voltage[idx[d + i]]);
                        *v = on * *w + off * -*w;
                    }
                } else {
                    for (v, &g) in row.iter_mut().zip(idx) {
                        *v = if e.state.spiked[g] { *w } else { 0.0 };
                    }
                }
                // `recv_last` now holds chip step k: the host reads it at step k + 1 (in this
                // chunk, or the next one's first), and at step 1 too when k is 1
                if k == 1 {
                    buf[..width].copy_from_slice(row);
                }
                if local + 1 < n {
                    buf[(local + 1) * width..(local + 2) * width].copy_from_slice(row);
                }
            }
            if (k - k0 as usize).is_multiple_of(1000) {
                report(1000);
            }
        }
        report((n % 1000) as u64);
        for (last, s) in e.sent_last.iter_mut().zip(&sent) {
            if n > 0 {
                let m = last.len();
                last.copy_from_slice(&s[(n - 1) * m..n * m]);
            }
        }
        if let Some(post) = e.post.as_mut() {
            let mut ins = own;
            ins.extend(recv.iter().map(Vec::as_slice));
            let mut outs: Vec<Option<&mut [f64]>> = out
                .iter_mut()
                .zip(&p.places)
                .map(|(o, pl)| matches!(pl, Place::Host(_)).then_some(&mut **o))
                .collect();
            let mut host_outs: Vec<&mut [f64]> = Vec::with_capacity(p.host.probes.len());
            for &i in &p.host.probes {
                host_outs.push(
                    outs.get_mut(i).and_then(Option::take).ok_or("a host probe is misplaced")?,
                );
            }
            post.advance((k0, k1), &ins, &mut host_outs, &mut |_| {}).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl<'a> Stepper<f64> for Bound<'a> {
    type Element = Elem<'a>;

    fn element(&self, b: usize) -> Result<Elem<'a>, String> {
        let p = self.prep;
        let net = &p.chip.net;
        let part = |part: &'a Option<host::Part>| -> Result<_, String> {
            part.as_ref().map(|h| h.exe.element(b)).transpose().map_err(|e| e.to_string())
        };
        let recv_last = p
            .recv_index
            .iter()
            .map(|(_, idx, _, value)| vec![0.0; if *value { idx.len() / 2 } else { idx.len() }])
            .collect();
        Ok(Elem {
            state: emulator::State::new(&p.emu),
            pre: part(&p.host.pre)?,
            post: part(&p.host.post)?,
            sums: p.index.iter().map(|i| vec![0.0; i.len()]).collect(),
            filtered: p.index.iter().map(|i| vec![0.0; i.len() / 2]).collect(),
            sent_last: p.host.sends.iter().map(|&k| vec![0.0; net.populations[k].n]).collect(),
            recv_last,
        })
    }

    fn advance(
        &self,
        e: &mut Elem<'a>,
        b: usize,
        steps: (u64, u64),
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        self.advance_observed(e, b, steps, out, report, None)
    }
}

impl Prepared {
    /// The probes as the run loop sees them, in the program's order.
    fn probe_specs(&self) -> Vec<ProbeSpec<'_>> {
        self.places
            .iter()
            .map(|pl| match *pl {
                Place::Chip(i) => {
                    let pr = &self.chip.net.probes[i];
                    ProbeSpec {
                        name: &pr.name,
                        size: self.chip_probe_size(i),
                        every: pr.every,
                        shape: &pr.shape,
                    }
                }
                Place::Host(i) => {
                    let (name, size, every, shape) = &self.host_specs[i];
                    ProbeSpec { name, size: *size, every: *every, shape }
                }
            })
            .collect()
    }

    /// The run of `steps` steps over `inputs`, checked: one row per batch element, each held
    /// or holding at least `steps` steps.
    fn bind<'a>(
        &'a self,
        steps: usize,
        batch: usize,
        inputs: &'a [ArrayD<f64>],
    ) -> Result<Bound<'a>, TargetError> {
        let decls: Vec<(&str, usize)> = self.inputs.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        batch::check_inputs(&decls, inputs, steps, batch).map_err(TargetError::Run)?;
        Ok(Bound { prep: self, inputs })
    }

    /// [`Executable::run`] for one batch element, calling `observe` with the emulator's
    /// state after every chip step (the tests compare it with nengo-loihi's).
    pub fn run_observed(
        &self,
        steps: usize,
        inputs: &[ArrayD<f64>],
        observe: &mut dyn FnMut(&emulator::State),
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        let bound = self.bind(steps, 1, inputs)?;
        let specs = self.probe_specs();
        let mut e = bound.element(0).map_err(TargetError::Run)?;
        let mut bufs: Vec<Vec<f64>> =
            specs.iter().map(|s| vec![0.0; s.samples(0, steps as u64) * s.size]).collect();
        let mut outs: Vec<&mut [f64]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        bound
            .advance_observed(&mut e, 0, (0, steps as u64), &mut outs, &mut |_| {}, Some(observe))
            .map_err(TargetError::Run)?;
        specs
            .iter()
            .zip(bufs)
            .map(|(s, buf)| {
                let mut shape = vec![1, buf.len().checked_div(s.size).unwrap_or(0)];
                shape.extend(s.shape);
                ArrayD::from_shape_vec(IxDyn(&shape), buf)
                    .map_err(|e| TargetError::Run(format!("probe {}: {e}", s.name)))
            })
            .collect()
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
        let bound = self.bind(steps, batch, inputs)?;
        let specs = self.probe_specs();
        batch::run_whole(&bound, &specs, steps, batch, threads, progress).map_err(TargetError::Run)
    }

    fn streams(&self) -> bool {
        true
    }

    fn run_streaming(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        chunk: usize,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn FnMut(Vec<ArrayD<f64>>) -> Result<(), String>,
    ) -> Result<(), TargetError> {
        let bound = self.bind(steps, batch, inputs)?;
        let specs = self.probe_specs();
        batch::run_chunked(&bound, &specs, steps, batch, threads, chunk, progress, sink)
            .map_err(TargetError::Run)
    }

    fn describe(&self) -> Vec<String> {
        vec![format!(
            "loihi: {} blocks, {} compartments",
            self.chip.net.blocks.len(),
            self.chip.n_compartments()
        )]
    }
}
