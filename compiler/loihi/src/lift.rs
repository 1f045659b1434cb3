//! From a lowered [`Program`] to the float [`Net`] of blocks nengo-loihi would build.
//!
//! Every neuron population (`SimNeurons` op) becomes a block. Its input current signal is
//! expanded backwards through the linear ops that write it (`Reset`, `Copy`,
//! `ElementwiseInc`, `DotInc`, `SparseDotInc`) and at most one synapse (`Filter`) into a
//! constant (the bias) and one term per connection: a linear map from a source population's
//! spikes, and the synapse's time constant. Anything else on the way (nodes, inputs, host
//! functions, non-lowpass synapses, other neuron types) is reported with the op's source span.

use crate::block::{
    Block, ChipValue, HostEncoder, Model, Net, PopLayout, Population, Probe, ProbeKey, Synapse,
    NO_SIGNAL,
};
use crate::codes;
use crate::nef;
use snn_compiler::ir::{OpKind, Program, Sel, SignalId};
use snn_runtime::neurons::{NeuronType, StateVar};
use snn_runtime::synapse::DiscreteFilter;
use snn_syntax::{Diagnostic, Span};
use std::collections::BTreeMap;

/// A sparse linear map: per output row, `(source column, value)`.
type Rows = Vec<Vec<(usize, f64)>>;

/// One connection's contribution to a signal.
#[derive(Clone, Debug)]
struct Term {
    /// Source population.
    pop: usize,
    /// Rows of the signal from columns of the source's spikes (amplitude / dt each).
    map: Rows,
    /// From a dense matrix (every entry a synapse).
    dense: bool,
    /// The synapse's time constant (`None`: not filtered yet).
    tau: Option<f64>,
    /// The op that created it (the connection statement).
    origin: Span,
    /// The connection's name (the signal its product writes, e.g. `conn0`).
    name: String,
    /// The source columns the connection reads (each an input axon, weights or not).
    cols: std::collections::BTreeSet<usize>,
    /// A convolution (nengo-loihi divides its kernel by dt rather than multiplying by 1/dt).
    conv: bool,
    /// A convolution's source layout (population axons).
    layout: Option<PopLayout>,
}

/// What kind of product an op is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Every entry a synapse (dense matrices, elementwise scales, copies).
    Dense,
    /// Only the listed entries.
    Sparse,
    /// A convolution: the kernel taps that land inside the input.
    Conv,
}

/// The rows of a convolution as a linear map (output `n` values), found by convolving each
/// one-hot input with the runtime's spike-driven kernel (so the taps are the runtime's).
fn conv_rows(spec: &snn_runtime::kernels::conv::ConvSpec, n: usize) -> Result<Rows, String> {
    let conv = snn_runtime::kernels::conv::Conv::<f64>::new(spec, true)?;
    let g = conv.geometry();
    let (ni, no) = (g.input_len(), g.output_len());
    if no != n {
        return Err(format!("output of {no} values into {n}"));
    }
    let mut rows: Rows = vec![Vec::new(); n];
    let mut x = vec![0.0; ni];
    let mut y = vec![0.0; no];
    let mut acc = vec![0.0; conv.scratch_len()];
    for i in 0..ni {
        x[i] = 1.0;
        conv.apply(&x, &mut y, &mut acc, true)?;
        x[i] = 0.0;
        for (o, v) in y.iter_mut().enumerate() {
            if *v != 0.0 {
                rows[o].push((i, *v));
                *v = 0.0;
            }
        }
    }
    Ok(rows)
}

/// A signal as an affine function of the populations' spikes.
#[derive(Clone, Debug)]
struct Lin {
    constant: Vec<f64>,
    terms: Vec<Term>,
}

struct Lifter<'a> {
    p: &'a Program,
    /// Population of each `SimNeurons` output signal.
    out_pop: BTreeMap<SignalId, usize>,
    diags: Vec<Diagnostic>,
    depth: usize,
    /// The encoders of the ensembles (value input, neurons' input): their `DotInc` is not
    /// expanded (decoded input reaches an ensemble through decode neurons).
    enc_skip: std::collections::BTreeSet<(SignalId, SignalId)>,
    /// Ops not expanded (host values into neurons, mapped through on/off neurons).
    skip_ops: std::collections::BTreeSet<usize>,
}

fn sel_idx(sel: &Sel, size: usize) -> Vec<usize> {
    match sel {
        Some(v) => v.clone(),
        None => (0..size).collect(),
    }
}

/// The lowpass time constant of `f` (`Some(0)` is impossible here), or `None` when `f` is not
/// a unit-gain first-order lowpass.
fn lowpass_tau(f: &DiscreteFilter, dt: f64) -> Option<f64> {
    if f.order() != 1 || f.d != 0.0 {
        return None;
    }
    let a = f.a[[0, 0]];
    let gain = f.c[0] * f.b[0];
    if !(a > 0.0 && a < 1.0) || ((gain - (1.0 - a)) / (1.0 - a)).abs() > 1e-9 {
        return None;
    }
    Some(-dt / a.ln())
}

impl Lifter<'_> {
    fn size(&self, s: SignalId) -> usize {
        self.p.signals[s.0 as usize].size
    }

    fn name(&self, s: SignalId) -> &str {
        &self.p.signals[s.0 as usize].name
    }

    fn err(&mut self, code: &'static str, span: Span, msg: String, help: &str) {
        self.err_label(code, span, "", msg, help);
    }

    fn err_label(&mut self, code: &'static str, span: Span, label: &str, msg: String, help: &str) {
        self.diags.push(Diagnostic::error(code, msg, span, label).with_help(help));
    }

    /// How `sig` depends on host values (inputs, nodes, host functions): 0 not at all, 1
    /// through linear ops and synapses, 2 through a convolution.
    fn host_kind(&mut self, sig: SignalId, memo: &mut BTreeMap<SignalId, u8>) -> u8 {
        if let Some(&k) = memo.get(&sig) {
            return k;
        }
        memo.insert(sig, 0);
        let mut k = 0;
        for op in &self.p.ops {
            let a = op.kind.access();
            if !a.sets.contains(&sig) && !a.incs.contains(&sig) && !a.updates.contains(&sig) {
                continue;
            }
            k = k.max(match &op.kind {
                OpKind::Input { .. }
                | OpKind::NodeFn { .. }
                | OpKind::Process { .. }
                | OpKind::HostFn { .. } => 1,
                OpKind::ConvInc { src, .. } => 2 * u8::from(self.host_kind(*src, memo) > 0),
                OpKind::Copy { src, .. }
                | OpKind::ElementwiseInc { src, .. }
                | OpKind::DotInc { src, .. }
                | OpKind::SparseDotInc { src, .. }
                | OpKind::Filter { src, .. } => self.host_kind(*src, memo),
                _ => 0,
            });
        }
        memo.insert(sig, k);
        k
    }

    /// Whether `sig` depends on the spikes of a population in `chip` (through any ops).
    fn reads_pop(&self, sig: SignalId, chip: &[SignalId], seen: &mut Vec<SignalId>) -> bool {
        if chip.contains(&sig) {
            return true;
        }
        if seen.contains(&sig) {
            return false;
        }
        seen.push(sig);
        for op in &self.p.ops {
            let a = op.kind.access();
            if !a.sets.contains(&sig) && !a.incs.contains(&sig) && !a.updates.contains(&sig) {
                continue;
            }
            for r in a.reads {
                if self.reads_pop(r, chip, seen) {
                    return true;
                }
            }
        }
        false
    }

    /// `sig` as an affine function of spikes.
    fn expand(&mut self, sig: SignalId) -> Lin {
        let n = self.size(sig);
        let mut lin = Lin { constant: vec![0.0; n], terms: Vec::new() };
        if let Some(&pop) = self.out_pop.get(&sig) {
            let map = (0..n).map(|i| vec![(i, 1.0)]).collect();
            let origin = Span::default();
            let cols = (0..n).collect();
            lin.terms.push(Term {
                pop,
                map,
                dense: true,
                tau: None,
                origin,
                name: String::new(),
                cols,
                conv: false,
                layout: None,
            });
            return lin;
        }
        self.depth += 1;
        if self.depth > 64 {
            self.depth -= 1;
            return lin;
        }
        let p = self.p;
        for (oi, op) in p.ops.iter().enumerate() {
            if self.skip_ops.contains(&oi) {
                continue;
            }
            let a = op.kind.access();
            if !a.sets.contains(&sig) && !a.incs.contains(&sig) && !a.updates.contains(&sig) {
                continue;
            }
            let span = op.origin;
            if let OpKind::DotInc { src, .. } = &op.kind {
                if self.enc_skip.contains(&(*src, sig)) {
                    continue;
                }
            }
            match &op.kind {
                OpKind::Reset { value, .. } => {
                    for (i, c) in lin.constant.iter_mut().enumerate() {
                        *c += if value.len() == 1 { value[0] } else { value[i] };
                    }
                }
                OpKind::Copy { src, src_sel, dst_sel, .. } => {
                    let (si, di) = (sel_idx(src_sel, self.size(*src)), sel_idx(dst_sel, n));
                    let mut rows: Rows = vec![Vec::new(); n];
                    for (s, d) in si.iter().zip(&di) {
                        rows[*d].push((*s, 1.0));
                    }
                    self.compose(&mut lin, sig, *src, &si, rows, Kind::Dense, None, span);
                }
                OpKind::ElementwiseInc { scale, src, src_sel, dst_sel, .. } => {
                    let (si, di) = (sel_idx(src_sel, self.size(*src)), sel_idx(dst_sel, n));
                    let mut rows: Rows = vec![Vec::new(); n];
                    for (k, (s, d)) in si.iter().zip(&di).enumerate() {
                        let v = if scale.len() == 1 { scale[0] } else { scale[k] };
                        rows[*d].push((*s, v));
                    }
                    self.compose(&mut lin, sig, *src, &si, rows, Kind::Dense, None, span);
                }
                OpKind::DotInc { mat, src, src_sel, dst_sel, .. } => {
                    let (si, di) = (sel_idx(src_sel, self.size(*src)), sel_idx(dst_sel, n));
                    let mut rows: Rows = vec![Vec::new(); n];
                    for (r, d) in di.iter().enumerate() {
                        for (c, s) in si.iter().enumerate() {
                            rows[*d].push((*s, mat[[r, c]]));
                        }
                    }
                    self.compose(&mut lin, sig, *src, &si, rows, Kind::Dense, None, span);
                }
                OpKind::SparseDotInc { rows: rr, cols, vals, src, src_sel, dst_sel, .. } => {
                    let (si, di) = (sel_idx(src_sel, self.size(*src)), sel_idx(dst_sel, n));
                    let mut rows: Rows = vec![Vec::new(); n];
                    for ((r, c), v) in rr.iter().zip(cols).zip(vals) {
                        rows[di[*r]].push((si[*c], *v));
                    }
                    self.compose(&mut lin, sig, *src, &si, rows, Kind::Sparse, None, span);
                }
                OpKind::Filter { filter, src, .. } => {
                    let Some(tau) = lowpass_tau(filter, p.dt) else {
                        self.err(
                            codes::SYNAPSE,
                            span,
                            format!("this connection's synapse is not a lowpass (order {}): Loihi cannot run it", filter.order()),
                            "Loihi filters a compartment's input with one first-order lowpass: use `synapse lowpass(TAU)` or `synapse none`",
                        );
                        continue;
                    };
                    let inner = self.expand(*src);
                    if inner.constant.iter().any(|c| *c != 0.0) {
                        self.err(
                            codes::HOST,
                            span,
                            "a constant passes through a synapse here".into(),
                            "give the constant to the population as its bias instead",
                        );
                    }
                    for mut t in inner.terms {
                        if t.tau.is_some() {
                            self.err(
                                codes::SYNAPSE,
                                span,
                                "two synapses in series".into(),
                                "Loihi applies one lowpass per connection: merge the synapses into one",
                            );
                        }
                        t.tau = Some(tau);
                        lin.terms.push(t);
                    }
                }
                OpKind::SimNeurons { .. } => {}
                OpKind::Input { .. }
                | OpKind::NodeFn { .. }
                | OpKind::Process { .. }
                | OpKind::HostFn { .. } => {
                    self.err_label(
                        codes::HOST,
                        span,
                        "on the host",
                        format!(
                            "`{}` runs on the host (an input, node or host function) and drives neurons",
                            self.name(sig).strip_suffix(".out").unwrap_or(self.name(sig))
                        ),
                        "a host value reaches the chip through on/off neurons (a connection into an ensemble, or a transform into neurons) or a convolution into a population; this path (through a host function, a synapse that is not a lowpass, a function of a node connection) is not mapped",
                    );
                }
                OpKind::ConvInc { spec, src, .. } => match conv_rows(spec, n) {
                    Ok(rows) => self.compose(
                        &mut lin,
                        sig,
                        *src,
                        &(0..self.size(*src)).collect::<Vec<_>>(),
                        rows,
                        Kind::Conv,
                        pop_layout(spec),
                        span,
                    ),
                    Err(e) => self.err(
                        codes::HOST,
                        span,
                        format!("convolution: {e}"),
                        "check the convolution's shapes",
                    ),
                },
                OpKind::Scale { .. } => {
                    self.err(
                        codes::HOST,
                        span,
                        format!(
                            "`{}`: {} is not mapped onto Loihi yet",
                            self.name(sig),
                            op.kind.name()
                        ),
                        "use dense or sparse transforms between populations",
                    );
                }
            }
        }
        self.depth -= 1;
        lin
    }

    /// `lin += rows ∘ expand(src)` for an op writing `dst` (`sparse`: a sparse product, whose
    /// absent entries are not synapses).
    #[allow(clippy::too_many_arguments)]
    fn compose(
        &mut self,
        lin: &mut Lin,
        dst: SignalId,
        src: SignalId,
        si: &[usize],
        rows: Rows,
        kind: Kind,
        pop: Option<PopLayout>,
        span: Span,
    ) {
        let inner = self.expand(src);
        for (r, row) in rows.iter().enumerate() {
            for &(c, v) in row {
                lin.constant[r] += v * inner.constant[c];
            }
        }
        let name = self.name(dst).split('.').next().unwrap_or("").to_string();
        for t in inner.terms {
            let mut map: Rows = vec![Vec::new(); rows.len()];
            for (r, row) in rows.iter().enumerate() {
                let mut acc: BTreeMap<usize, f64> = BTreeMap::new();
                for &(c, v) in row {
                    for &(k, w) in &t.map[c] {
                        *acc.entry(k).or_insert(0.0) += v * w;
                    }
                }
                map[r] = acc.into_iter().collect();
            }
            let fresh = t.origin == Span::default();
            let cols = if fresh { si.iter().copied().collect() } else { t.cols.clone() };
            lin.terms.push(Term {
                pop: t.pop,
                map,
                dense: kind == Kind::Dense && t.dense,
                conv: t.conv || kind == Kind::Conv,
                layout: if kind == Kind::Conv { pop } else { t.layout },
                tau: t.tau,
                origin: if fresh { span } else { t.origin },
                name: if t.name.is_empty() { name.clone() } else { t.name },
                cols,
            });
        }
    }
}

/// The population-axon layout of a convolution's input.
fn pop_layout(spec: &snn_runtime::kernels::conv::ConvSpec) -> Option<PopLayout> {
    let (channels, pixels) = if spec.channels_last {
        let (c, px) = spec.input_shape.split_last()?;
        (*c, px.iter().product())
    } else {
        let (c, px) = spec.input_shape.split_first()?;
        (*c, px.iter().product())
    };
    let out = match spec.output_shape.as_slice() {
        [r, c, f] if spec.channels_last => Some([*r, *c, *f]),
        _ => None,
    };
    Some(PopLayout { channels, pixels, channels_last: spec.channels_last, out })
}

/// The neuron model of `nt`, if Loihi has it.
fn model_of(nt: &NeuronType) -> Option<(Model, f64)> {
    match nt {
        NeuronType::Lif(l) => Some((
            Model::Lif { tau_rc: l.tau_rc, tau_ref: l.tau_ref, min_voltage: l.min_voltage },
            l.amplitude,
        )),
        NeuronType::SpikingRectifiedLinear(r) => Some((Model::Relu, r.amplitude)),
        // nengo-loihi's build_regularspiking: the base's amplitude must be 1
        NeuronType::RegularSpiking(rs) => match rs.base.as_ref() {
            NeuronType::LifRate(l) if l.amplitude == 1.0 => Some((
                Model::Lif { tau_rc: l.tau_rc, tau_ref: l.tau_ref, min_voltage: 0.0 },
                rs.amplitude,
            )),
            NeuronType::RectifiedLinear(r) if r.amplitude == 1.0 => {
                Some((Model::Relu, rs.amplitude))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Lifts `p` into blocks (one per population, not yet split), or the located reasons it
/// cannot run on Loihi.
pub fn lift(p: &Program) -> Result<Net, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    // populations in declaration order (their input signals' order)
    let mut neurons: Vec<(SignalId, usize)> = Vec::new();
    for (i, op) in p.ops.iter().enumerate() {
        if let OpKind::SimNeurons { j, .. } = &op.kind {
            neurons.push((*j, i));
        }
    }
    neurons.sort();
    let mut out_pop = BTreeMap::new();
    let mut populations = Vec::new();
    let mut blocks = Vec::new();
    let mut voltage = BTreeMap::new();
    // other neuron state and input current: not readable from the compartments
    let mut unreadable = BTreeMap::new();
    for (k, &(_, i)) in neurons.iter().enumerate() {
        let op = &p.ops[i];
        let OpKind::SimNeurons { neuron, out, states, j, .. } = &op.kind else { continue };
        out_pop.insert(*out, k);
        unreadable.insert(*j, (k, op.origin));
        for (v, s) in states {
            if *v == StateVar::Voltage {
                voltage.insert(*s, k);
            } else {
                unreadable.insert(*s, (k, op.origin));
            }
        }
        let sig = &p.signals[out.0 as usize];
        let name = sig.name.strip_suffix(".out").unwrap_or(&sig.name);
        // an ensemble's neurons are the ensemble on the chip
        let name = name.strip_suffix(".neurons").unwrap_or(name).to_string();
        let (model, amplitude) = match model_of(neuron) {
            Some(m) => m,
            None => {
                diags.push(
                    Diagnostic::error(
                        codes::NEURON_TYPE,
                        format!("`{name}` uses {} neurons, which Loihi does not have", neuron.name()),
                        op.origin,
                        "not on Loihi",
                    )
                    .with_help("use `lif(...)`, `spiking_relu(...)` or `regular_spiking(lif_rate(...) | relu())` with the amplitude on `regular_spiking` (what nengo-loihi runs), or train the network with one of them"),
                );
                (Model::Relu, 1.0)
            }
        };
        populations.push(Population {
            name: name.clone(),
            origin: op.origin,
            n: sig.size,
            blocks: vec![k],
            host: false,
            out: *out,
        });
        blocks.push(Block {
            name,
            origin: op.origin,
            n: sig.size,
            model,
            amplitude,
            tau_s: 0.0,
            tau_set: false,
            bias: Vec::new(),
            synapses: Vec::new(),
            population: k,
            offset: 0,
            members: (0..sig.size).collect(),
        });
    }
    let enc_skip = p.ensembles.iter().map(|e| (e.input, e.j)).collect();
    let mut lifter =
        Lifter { p, out_pop, diags: Vec::new(), depth: 0, enc_skip, skip_ops: Default::default() };
    let mut extra = Extra::default();
    // a population a host value drives through a convolution runs on the host (nengo-loihi
    // cannot encode a convolution from the host; its keras-to-loihi example sets such a layer
    // `on_chip=False`) and sends its spikes to the chip
    let mut memo = BTreeMap::new();
    for (k, &(j, _)) in neurons.iter().enumerate() {
        if lifter.host_kind(j, &mut memo) == 2 {
            populations[k].host = true;
        }
    }
    let chip_outs: Vec<SignalId> =
        lifter.out_pop.iter().filter(|(_, &k)| !populations[k].host).map(|(&s, _)| s).collect();
    for (k, &(j, i)) in neurons.iter().enumerate() {
        if populations[k].host && lifter.reads_pop(j, &chip_outs, &mut Vec::new()) {
            lifter.diags.push(
                Diagnostic::error(
                    codes::HOST,
                    format!(
                        "`{}` runs on the host (a convolution of a host value drives it) and also reads spikes from the chip: a loop through the host",
                        populations[k].name
                    ),
                    p.ops[i].origin,
                    "on the host",
                )
                .with_help("drive it from the host only, or from chip populations only"),
            );
        }
    }
    for (k, &(j, _)) in neurons.iter().enumerate() {
        if populations[k].host {
            continue;
        }
        let host_in = host_neuron_inputs(&mut lifter, &mut extra, j, blocks[k].n, &chip_outs);
        let lin = lifter.expand(j);
        let block = &mut blocks[k];
        block.bias = lin.constant.iter().map(|&b| b as f32).collect();
        let mut terms = lin.terms;
        terms.sort_by_key(|t| (t.origin.file, t.origin.start));
        let mut entries: Vec<(Span, f64, Synapse)> = host_in;
        for t in terms {
            let tau = t.tau.unwrap_or(0.0);
            let n_pre = populations[t.pop].n;
            let scale = 1.0 / p.dt;
            let amp = blocks_amp(&populations, t.pop, &neurons, p);
            let mut cols: BTreeMap<usize, Vec<(u32, f32)>> =
                t.cols.iter().map(|&c| (c, Vec::new())).collect();
            for (r, row) in t.map.iter().enumerate() {
                for &(c, v) in row {
                    let w = if t.conv { (v / p.dt) * amp } else { (v * scale) * amp } as f32;
                    cols.entry(c).or_default().push((r as u32, w));
                }
            }
            // a dense matrix stores every target of every used column: past what every chip's
            // synapse memory holds together (at least 8 bits a synapse), it cannot map, and
            // would not fit in this machine's memory either
            let stored = if t.dense {
                (cols.len() as u128) * (block.n as u128)
            } else {
                t.map.iter().map(|r| r.len() as u128).sum()
            };
            let most = (crate::MAX_CHIPS * crate::config::CORES_PER_CHIP) as u128
                * (crate::config::MAX_SYNAPSE_BITS / 8) as u128;
            if stored > most {
                lifter.diags.push(
                    Diagnostic::error(
                        codes::CAPACITY,
                        format!(
                            "this connection into `{}` needs {stored} synapses; {} chips hold at most {most}",
                            block.name,
                            crate::MAX_CHIPS
                        ),
                        t.origin,
                        "too many synapses",
                    )
                    .with_help("use a sparse or elementwise transform, or smaller populations"),
                );
                continue;
            }
            let mut axon_of = vec![None; n_pre];
            let mut axons = Vec::new();
            for (c, mut ws) in cols {
                axon_of[c] = Some(axons.len());
                if t.dense {
                    // a dense matrix stores every target, zeros included (expand_matrix)
                    let mut full = vec![0f32; block.n];
                    for (r, w) in ws {
                        full[r as usize] = w;
                    }
                    ws = full.into_iter().enumerate().map(|(r, w)| (r as u32, w)).collect();
                }
                axons.push(ws);
            }
            entries.push((
                t.origin,
                tau,
                Synapse {
                    name: t.name,
                    origin: t.origin,
                    source: t.pop,
                    axon_of,
                    axons,
                    dense: t.dense,
                    pop: t.layout.filter(|_| t.conv),
                    alias: false,
                },
            ));
        }
        if let Some(e) = p.ensembles.iter().find(|e| e.j == j) {
            let chip_outs: Vec<SignalId> = lifter
                .out_pop
                .iter()
                .filter(|(_, &k)| !populations[k].host)
                .map(|(&s, _)| s)
                .collect();
            entries.extend(nef_inputs(
                &mut lifter,
                &mut extra,
                e,
                &populations,
                &neurons,
                &chip_outs,
            ));
        }
        // ensembles share one encoder synapse per kind (the first connection's; the others
        // drive it too)
        entries.sort_by_key(|(o, _, _)| (o.file, o.start));
        let mut seen = std::collections::BTreeSet::new();
        let mut taus: Vec<(f64, Span)> = Vec::new();
        for (origin, tau, mut s) in entries {
            taus.push((tau, origin));
            if s.name.starts_with(ENCODERS) && !seen.insert(s.name.clone()) {
                s.alias = true;
            }
            block.synapses.push(s);
        }
        // nengo-loihi's configure_filter: the first connection sets tau_s, a larger one
        // replaces it, a smaller one is ignored with a warning
        if let Some(&(first, _)) = taus.first() {
            let mut cur = first;
            for &(t, span) in &taus[1..] {
                if t != cur {
                    lifter.diags.push(
                        Diagnostic::warning(
                            codes::SHARED_FILTER,
                            format!(
                                "`{}` receives synapses of {} ms and {} ms; Loihi uses one, the largest",
                                block.name,
                                ms(cur),
                                ms(t)
                            ),
                            span,
                            "",
                        )
                        .with_help("give every connection into a population the same synapse"),
                    );
                }
                cur = cur.max(t);
            }
            block.tau_s = cur;
            block.tau_set = true;
        }
    }
    chip_to_host(&mut lifter, &mut extra, &populations, &neurons);
    let mut probes = Vec::new();
    let mut probe_place = Vec::new();
    let mut probe_blocks: Vec<(Population, Block)> = Vec::new();
    for pr in &p.probes {
        if let Some((src, mat, tau, ens)) = decoded_probe(p, pr.signal) {
            if let Some(&k) = lifter.out_pop.get(&src).filter(|k| !populations[**k].host) {
                let d = mat.nrows();
                let rows: Vec<Vec<(usize, f64)>> =
                    (0..d).map(|r| (0..mat.ncols()).map(|c| (c, mat[[r, c]])).collect()).collect();
                let amp = blocks_amp(&populations, k, &neurons, p);
                let n_pre = populations[k].n;
                let w = nef::loihi_weights(&rows, n_pre, p.dt, amp, 1.0);
                let name = format!("{}.probe", pr.name);
                let block =
                    nef::probe_block(&name, pr_span(p, pr.signal), &w, ens.radius, n_pre, k);
                probe_place.push(Some(probes.len()));
                probes.push(Probe {
                    name: pr.name.clone(),
                    population: PROBE_BASE + probe_blocks.len(),
                    select: (0..2 * d).collect(),
                    key: ProbeKey::Decoded { radius: ens.radius, tau: tau.unwrap_or(0.0) },
                    every: pr.every.max(1),
                    shape: pr.shape.clone(),
                });
                probe_blocks.push((
                    Population {
                        name: name.clone(),
                        origin: block.origin,
                        n: 2 * d,
                        blocks: Vec::new(),
                        host: false,
                        out: NO_SIGNAL,
                    },
                    block,
                ));
                continue;
            }
        }
        // a sliced probe reads a copy of the population's signal
        // (an accumulating copy is a rate monitor: the spikes summed over the run)
        let (signal, select, sum) = match probe_copy(p, pr.signal) {
            Some((src, sel, inc)) => (src, Some(sel), inc),
            None => (pr.signal, None, false),
        };
        let on_chip = |k: &&usize| !populations[**k].host;
        let (pop, key) = if let Some(&k) = lifter.out_pop.get(&signal).filter(on_chip) {
            (k, if sum { ProbeKey::SpikeSum } else { ProbeKey::Spikes })
        } else if let Some(&k) = voltage.get(&signal).filter(on_chip) {
            (k, ProbeKey::Voltage)
        } else if let Some(&(k, span)) =
            unreadable.get(&signal).filter(|(k, _)| !populations[*k].host)
        {
            lifter.diags.push(
                Diagnostic::error(
                    codes::HOST,
                    format!(
                        "probe `{}` reads `{}`, which Loihi's compartments of `{}` do not give",
                        pr.name, p.signals[signal.0 as usize].name, populations[k].name
                    ),
                    span,
                    "on the chip",
                )
                .with_help("probe the population's spikes or voltage"),
            );
            probe_place.push(None);
            continue;
        } else {
            // computed on the host from what the chip sends (nengo-loihi's chip-to-host
            // connections and host probes)
            probe_place.push(None);
            continue;
        };
        probe_place.push(Some(probes.len()));
        probes.push(Probe {
            name: pr.name.clone(),
            population: pop,
            select: select.unwrap_or_else(|| (0..populations[pop].n).collect()),
            key,
            every: pr.every.max(1),
            shape: pr.shape.clone(),
        });
    }
    diags.append(&mut lifter.diags);
    if diags.iter().any(|d| d.is_error()) {
        return Err(diags);
    }
    // the populations the mapping adds: decode neurons (in connection order), decoded probes,
    // then the host's on/off input neurons (no blocks)
    let base = populations.len();
    extra.decode.sort_by_key(|(_, o, _, _)| (o.file, o.start));
    let mut index = BTreeMap::new();
    let mut all: Vec<Option<Block>> = blocks.into_iter().map(Some).collect();
    for (i, (old, _, pop, b)) in extra.decode.into_iter().enumerate() {
        index.insert(old, base + i);
        populations.push(pop);
        all.push(Some(b));
    }
    for (i, (pop, b)) in probe_blocks.into_iter().enumerate() {
        index.insert(PROBE_BASE + i, populations.len());
        populations.push(pop);
        all.push(Some(b));
    }
    for (i, (pop, mut h)) in extra.host.into_iter().enumerate() {
        index.insert(HOST_BASE + i, populations.len());
        h.population = populations.len();
        populations.push(pop);
        all.push(None);
        extra.encoders.push(h);
    }
    let fix = |k: &mut usize| {
        if let Some(&n) = index.get(k) {
            *k = n;
        }
    };
    for b in all.iter_mut().flatten() {
        for s in &mut b.synapses {
            fix(&mut s.source);
        }
    }
    for pr in &mut probes {
        fix(&mut pr.population);
    }
    for v in &mut extra.values {
        fix(&mut v.population);
    }
    // host populations hold no blocks
    let mut kept = Vec::new();
    for (k, b) in all.into_iter().enumerate() {
        match b {
            Some(mut b) if !populations[k].host => {
                b.population = k;
                populations[k].blocks = vec![kept.len()];
                kept.push(b);
            }
            _ => populations[k].blocks.clear(),
        }
    }
    Ok(Net {
        dt: p.dt,
        blocks: kept,
        populations,
        probes,
        probe_place,
        warnings: diags,
        host_encoders: extra.encoders,
        chip_values: extra.values,
    })
}

fn blocks_amp(_pops: &[Population], pop: usize, neurons: &[(SignalId, usize)], p: &Program) -> f64 {
    let (_, i) = neurons[pop];
    match &p.ops[i].kind {
        OpKind::SimNeurons { neuron, .. } => model_of(neuron).map_or(1.0, |m| m.1),
        _ => 1.0,
    }
}

/// Seconds as milliseconds for messages (rounded to a nanosecond).
fn ms(s: f64) -> f64 {
    (s * 1e6).round() / 1e3
}

/// When `sig` is written only by one whole `Copy` of another signal (what a sliced probe
/// lowers to; accumulating: a rate monitor), that signal, the positions read and whether the
/// copy accumulates.
fn probe_copy(p: &Program, sig: SignalId) -> Option<(SignalId, Vec<usize>, bool)> {
    let mut found = None;
    for op in &p.ops {
        let a = op.kind.access();
        if !a.sets.contains(&sig) && !a.incs.contains(&sig) && !a.updates.contains(&sig) {
            continue;
        }
        match (&op.kind, &found) {
            (OpKind::Copy { src, dst_sel: None, src_sel, inc, .. }, None) => {
                found = Some((*src, sel_idx(src_sel, p.signals[src.0 as usize].size), *inc));
            }
            _ => return None,
        }
    }
    found
}

/// Names of the ensembles' shared encoder synapses start with this.
const ENCODERS: &str = "encoders:";
/// Placeholder population indices of decode blocks, probe blocks and host on/off
/// populations until the mapping numbers them.
const DECODE_BASE: usize = 1 << 40;
const PROBE_BASE: usize = 2 << 40;
const HOST_BASE: usize = 3 << 40;

/// What the NEF mapping adds besides the program's populations.
#[derive(Default)]
struct Extra {
    /// Decode-neuron blocks: (placeholder index, connection span, population, block).
    decode: Vec<(usize, Span, Population, Block)>,
    /// Host on/off populations (placeholder index `HOST_BASE + i`).
    host: Vec<(Population, HostEncoder)>,
    /// The host encoders, numbered.
    encoders: Vec<HostEncoder>,
    /// Chip-to-host decoded connections (population: placeholder index until numbered).
    values: Vec<ChipValue>,
}

/// The span of the op writing `sig` (a probe's statement).
fn pr_span(p: &Program, sig: SignalId) -> Span {
    writers(p, sig).first().map_or(Span::default(), |&i| p.ops[i].origin)
}

/// The ops writing `sig` (set, inc or update), in order.
fn writers(p: &Program, sig: SignalId) -> Vec<usize> {
    p.ops
        .iter()
        .enumerate()
        .filter(|(_, op)| {
            let a = op.kind.access();
            a.sets.contains(&sig) || a.incs.contains(&sig) || a.updates.contains(&sig)
        })
        .map(|(i, _)| i)
        .collect()
}

/// A decoded probe of an ensemble (`probe.X` = decoders · the ensemble's spikes, optionally
/// lowpass-filtered and copied): the ensemble's spike signal, the decoders, the probe's
/// time constant and the ensemble.
fn decoded_probe(
    p: &Program,
    sig: SignalId,
) -> Option<(SignalId, ndarray::Array2<f64>, Option<f64>, &snn_compiler::ir::EnsembleInfo)> {
    let w = writers(p, sig);
    let (value, tau) = match w.as_slice() {
        [i] => match &p.ops[*i].kind {
            OpKind::Copy { src, src_sel: None, dst_sel: None, inc: false, .. } => {
                match writers(p, *src).as_slice() {
                    [f] => match &p.ops[*f].kind {
                        OpKind::Filter { filter, src: v, .. } => {
                            (*v, Some(lowpass_tau(filter, p.dt)?))
                        }
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            _ => return None,
        },
        _ => (sig, None),
    };
    let w = writers(p, value);
    let [r, d] = w.as_slice() else { return None };
    match (&p.ops[*r].kind, &p.ops[*d].kind) {
        (
            OpKind::Reset { value: z, .. },
            OpKind::DotInc { mat, src, src_sel: None, dst_sel: None, .. },
        ) if z.iter().all(|x| *x == 0.0) => {
            let ens = p.ensembles.iter().find(|e| e.out == *src)?;
            Some((*src, mat.clone(), tau, ens))
        }
        _ => None,
    }
}

/// The synapses into chip ensemble `e` from its decoded input, as
/// nengo-loihi builds them: per connection from chip populations a decode-neuron block (added
/// to `extra`) and the ensemble's decode-neuron encoder synapse from it; per connection from
/// the host an on/off host population and the ensemble's node encoder synapse. Each with its
/// connection's span and the filter it asks of the ensemble (`decode_tau`).
fn nef_inputs(
    lifter: &mut Lifter<'_>,
    extra: &mut Extra,
    e: &snn_compiler::ir::EnsembleInfo,
    populations: &[Population],
    neurons: &[(SignalId, usize)],
    chip_outs: &[SignalId],
) -> Vec<(Span, f64, Synapse)> {
    let p = lifter.p;
    let dt = p.dt;
    let d_post = p.signals[e.input.0 as usize].size;
    let mut out = Vec::new();
    let mut memo = BTreeMap::new();
    for i in writers(p, e.input) {
        let op = &p.ops[i];
        let span = op.origin;
        let (src, dst_sel) = match &op.kind {
            OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0) => continue,
            OpKind::Copy { src, src_sel: None, dst_sel, inc: true, .. } => (*src, dst_sel),
            _ => {
                lifter.err(
                    codes::HOST,
                    span,
                    format!("`{}`: this input to an ensemble is not mapped onto Loihi", e.name),
                    "connect into an ensemble from ensembles, neurons or nodes",
                );
                continue;
            }
        };
        let d_mid = p.signals[src.0 as usize].size;
        let inds = sel_idx(dst_sel, d_post);
        let conn = p.signals[src.0 as usize].name.split('.').next().unwrap_or("").to_string();
        if lifter.host_kind(src, &mut memo) > 0 {
            if lifter.reads_pop(src, chip_outs, &mut Vec::new()) {
                lifter.err(
                    codes::HOST,
                    span,
                    format!("`{}` is driven by a host value that reads chip spikes: a loop through the host", e.name),
                    "drive the ensemble from the host only, or from chip populations only",
                );
                continue;
            }
            let dn = nef::DecodeNeurons::on_off(dt);
            let h = extra.host.len();
            let name = format!("{conn}.onoff");
            let pop = Population {
                name: name.clone(),
                origin: span,
                n: 2 * d_mid,
                blocks: Vec::new(),
                host: true,
                out: host_encoder_signal(p, h),
            };
            let axon_map = nef::post_inds(&inds, d_post, 1);
            let s = nef::encoder_synapse(
                &format!("{ENCODERS}node"),
                span,
                HOST_BASE + h,
                &e.gain_encoders,
                dn.scale,
                &axon_map,
            );
            extra.host.push((
                pop,
                HostEncoder {
                    population: 0,
                    value: src,
                    op: i,
                    dims: d_mid,
                    radius: e.radius,
                    source: None,
                },
            ));
            out.push((span, nef::DECODE_TAU, s));
            continue;
        }
        let lin = lifter.expand(src);
        if lin.constant.iter().any(|c| *c != 0.0) {
            lifter.err(
                codes::HOST,
                span,
                "a constant passes through a decoded connection here".into(),
                "give the constant to the ensemble as a bias instead",
            );
        }
        let dn = nef::DecodeNeurons::preset10(dt);
        for t in lin.terms {
            let amp = blocks_amp(populations, t.pop, neurons, p);
            let n_pre = populations[t.pop].n;
            let w = nef::loihi_weights(&t.map, n_pre, dt, amp, e.radius);
            let cols: Vec<usize> = t.cols.iter().copied().collect();
            let idx = DECODE_BASE + extra.decode.len();
            let name = format!("{}.decode", t.name);
            let block = nef::decode_block(
                &name,
                t.origin,
                &dn,
                &w,
                &cols,
                n_pre,
                t.pop,
                &t.name,
                t.tau.unwrap_or(0.0),
                dt,
            );
            let axon_map = nef::post_inds(&inds, d_post, nef::PAIRS);
            let s = nef::encoder_synapse(
                &format!("{ENCODERS}decode"),
                t.origin,
                idx,
                &e.gain_encoders,
                dn.scale,
                &axon_map,
            );
            out.push((t.origin, nef::DECODE_TAU, s));
            let pop = Population {
                name: name.clone(),
                origin: t.origin,
                n: block.n,
                blocks: Vec::new(),
                host: false,
                out: NO_SIGNAL,
            };
            extra.decode.push((idx, t.origin, pop, block));
        }
    }
    out
}

/// The spike signal the host gives on/off population `h` (after the program's signals: its
/// input current, spikes and voltage, three per population).
pub fn host_encoder_signal(p: &Program, h: usize) -> SignalId {
    SignalId((p.signals.len() + 3 * h + 1) as u32)
}

/// Decoded connections from chip ensembles whose product does not reach a chip population
/// (a node, a host function: nengo-loihi's `build_chip_to_host`): each a non-spiking block
/// fed through the connection's decoders, placed among the decode blocks in connection
/// order, whose value the host receives.
fn chip_to_host(
    lifter: &mut Lifter<'_>,
    extra: &mut Extra,
    populations: &[Population],
    neurons: &[(SignalId, usize)],
) {
    let p = lifter.p;
    // what the chip reads: chip ensembles' value inputs and chip populations' currents
    let mut sinks = std::collections::BTreeSet::new();
    for (k, &(j, _)) in neurons.iter().enumerate() {
        if !populations[k].host {
            sinks.insert(j);
            if let Some(e) = p.ensembles.iter().find(|e| e.j == j) {
                sinks.insert(e.input);
            }
        }
    }
    for (i, op) in p.ops.iter().enumerate() {
        let OpKind::DotInc { mat, src, dst, src_sel: None, dst_sel: None } = &op.kind else {
            continue;
        };
        let Some(ens) = p.ensembles.iter().find(|e| e.out == *src) else { continue };
        let Some(&k) = lifter.out_pop.get(src) else { continue };
        if populations[k].host || !p.signals[dst.0 as usize].name.ends_with(".weighted") {
            continue;
        }
        // follow the product through its synapse and copies
        let mut frontier = vec![*dst];
        let mut reaches_chip = false;
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in frontier {
                if sinks.contains(&s) {
                    reaches_chip = true;
                }
                for o in &p.ops {
                    match &o.kind {
                        OpKind::Filter { src, dst, .. }
                        | OpKind::Copy { src, dst, .. }
                        | OpKind::ElementwiseInc { src, dst, .. }
                            if *src == s =>
                        {
                            next.push(*dst)
                        }
                        _ => {}
                    }
                }
            }
            frontier = next;
        }
        if reaches_chip {
            continue;
        }
        let w = writers(p, *dst);
        let reset = w.iter().copied().find(|&r| {
            matches!(&p.ops[r].kind, OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0))
        });
        let (Some(reset), 2) = (reset, w.len()) else { continue };
        let d = mat.nrows();
        let rows: Vec<Vec<(usize, f64)>> =
            (0..d).map(|r| (0..mat.ncols()).map(|c| (c, mat[[r, c]])).collect()).collect();
        let amp = blocks_amp(populations, k, neurons, p);
        let n_pre = populations[k].n;
        let weights = nef::loihi_weights(&rows, n_pre, p.dt, amp, 1.0);
        let conn = p.signals[dst.0 as usize].name.split('.').next().unwrap_or("").to_string();
        let name = format!("{conn}.host");
        let block = nef::probe_block(&name, op.origin, &weights, ens.radius, n_pre, k);
        let idx = DECODE_BASE + extra.decode.len();
        let pop = Population {
            name,
            origin: op.origin,
            n: block.n,
            blocks: Vec::new(),
            host: false,
            out: NO_SIGNAL,
        };
        extra.decode.push((idx, op.origin, pop, block));
        extra.values.push(ChipValue {
            population: idx,
            op: i,
            reset,
            dst: *dst,
            radius: ens.radius,
        });
    }
}

/// A host value into chip neurons (`node -> layer`, `node -> ens.neurons`) as nengo-loihi's
/// `build_host_to_chip` maps it: on/off neurons on the host encode the node's value filtered
/// by the connection's synapse (`transform = 1` on the host); the chip applies the transform
/// and the post gain to their spikes (`[T, −T] · gain`, no `1/dt`), filtered by
/// `decode_tau`. Returns the synapses into the population whose input current is `j` (its
/// `n` neurons); the ops it maps are not expanded again.
fn host_neuron_inputs(
    lifter: &mut Lifter<'_>,
    extra: &mut Extra,
    j: SignalId,
    n: usize,
    chip_outs: &[SignalId],
) -> Vec<(Span, f64, Synapse)> {
    let p = lifter.p;
    let mut out = Vec::new();
    let mut memo = BTreeMap::new();
    for oi in writers(p, j) {
        let (gain, filtered, dst_sel) = match &p.ops[oi].kind {
            OpKind::ElementwiseInc { scale, src, src_sel: None, dst_sel, .. } => {
                (scale.clone(), *src, dst_sel)
            }
            OpKind::Copy { src, src_sel: None, dst_sel, inc: true, .. } => {
                (vec![1.0], *src, dst_sel)
            }
            _ => continue,
        };
        if lifter.host_kind(filtered, &mut memo) != 1 {
            continue;
        }
        // filtered <- Filter <- weighted <- Reset 0 + one transform of the host value
        let (weighted, filter) = match writers(p, filtered).as_slice() {
            [f] => match &p.ops[*f].kind {
                OpKind::Filter { filter, src, .. } => (*src, Some(filter.clone())),
                _ => (filtered, None),
            },
            _ => (filtered, None),
        };
        if let Some(f) = &filter {
            if lowpass_tau(f, p.dt).is_none() {
                continue;
            }
        }
        let w = writers(p, weighted);
        let [r, t] = w.as_slice() else { continue };
        if !matches!(&p.ops[*r].kind, OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0))
        {
            continue;
        }
        let n_mid = p.signals[weighted.0 as usize].size;
        // T as rows of the product: (column of the selected source, value); dense or not
        let (x, src_sel, rows, dense): (SignalId, &Sel, Rows, bool) = match &p.ops[*t].kind {
            // a scalar or vector transform is a sparse diagonal (`expand_matrix`)
            OpKind::Copy { src, src_sel, dst_sel: None, .. } => {
                (*src, src_sel, (0..n_mid).map(|i| vec![(i, 1.0)]).collect(), false)
            }
            OpKind::ElementwiseInc { scale, src, src_sel, dst_sel: None, .. } => (
                *src,
                src_sel,
                (0..n_mid)
                    .map(|i| vec![(i, if scale.len() == 1 { scale[0] } else { scale[i] })])
                    .collect(),
                false,
            ),
            OpKind::DotInc { mat, src, src_sel, dst_sel: None, .. } => (
                *src,
                src_sel,
                (0..n_mid).map(|i| (0..mat.ncols()).map(|c| (c, mat[[i, c]])).collect()).collect(),
                true,
            ),
            _ => continue,
        };
        if lifter.host_kind(x, &mut memo) != 1 || !p.ensembles.iter().all(|e| e.out != x) {
            continue;
        }
        let span = p.ops[*t].origin;
        lifter.skip_ops.insert(oi);
        if lifter.reads_pop(x, chip_outs, &mut Vec::new()) {
            lifter.err_label(
                codes::HOST,
                span,
                "a loop through the host",
                "this host value reads chip spikes and drives chip neurons: a loop through the host"
                    .into(),
                "drive the neurons from the host only, or from chip populations only",
            );
            continue;
        }
        let dim = match src_sel {
            Some(s) => s.len(),
            None => p.signals[x.0 as usize].size,
        };
        let di = sel_idx(dst_sel, n);
        let h = extra.host.len();
        let conn = p.signals[weighted.0 as usize].name.split('.').next().unwrap_or("").to_string();
        let name = format!("{conn}.onoff");
        // per on/off neuron (axon): the targets and f32(±T · gain)
        let mut axons: Vec<Vec<(u32, f32)>> = vec![Vec::new(); 2 * dim];
        let mut full = vec![vec![0.0f64; n]; dim];
        for (r, row) in rows.iter().enumerate() {
            let g = if gain.len() == 1 { gain[0] } else { gain[r] };
            for &(c, v) in row {
                full[c][di[r]] = v * g;
            }
        }
        for c in 0..dim {
            for (i, &v) in full[c].iter().enumerate() {
                if dense || v != 0.0 {
                    axons[c].push((i as u32, v as f32));
                    axons[dim + c].push((i as u32, (-v) as f32));
                }
            }
        }
        out.push((
            span,
            nef::DECODE_TAU,
            Synapse {
                name: conn.clone(),
                origin: span,
                source: HOST_BASE + h,
                axon_of: (0..2 * dim).map(Some).collect(),
                axons,
                dense,
                pop: None,
                alias: false,
            },
        ));
        extra.host.push((
            Population {
                name,
                origin: span,
                n: 2 * dim,
                blocks: Vec::new(),
                host: true,
                out: host_encoder_signal(p, h),
            },
            HostEncoder {
                population: 0,
                value: x,
                op: *t,
                dims: dim,
                radius: 1.0,
                source: Some((src_sel.clone(), filter)),
            },
        ));
    }
    out
}
