//! Lowering: a checked [`Model`] plus its built NEF parameters → a scheduled [`ir::Program`].

use crate::build::Built;
use crate::ir::{self, InputDecl, Op, OpKind, ProbeDecl, Program, Sel, Signal, SignalId};
use crate::model::{Endpoint, Model, NodeKind, ObjectKind, Port, ProbeAttr, Transform};
use crate::spec::{DistSpec, NeuronSpec, SynapseSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_runtime::neurons::{NeuronType, StateInit, StateVar};
use snn_runtime::synapse::Synapse;
use snn_syntax::{codes, Diagnostic, Span};

/// Signals of one object.
#[derive(Clone, Copy, Debug)]
struct ObjSignals {
    /// What connections add into (node input, ensemble input, neuron current).
    input: Option<SignalId>,
    /// The object's output value (node output, layer/ensemble neuron output).
    out: SignalId,
    /// Neuron input current, for ensembles and layers.
    j: Option<SignalId>,
}

struct Lowerer<'a> {
    model: &'a Model,
    built: &'a Built,
    dt: f64,
    signals: Vec<Signal>,
    ops: Vec<Op>,
    objs: Vec<ObjSignals>,
    states: Vec<Vec<(StateVar, SignalId)>>,
    /// Problems found while lowering objects (a distribution that cannot be sampled).
    errors: Vec<Diagnostic>,
    /// The ensembles lowered, for [`Program::ensembles`].
    ensembles: Vec<crate::ir::EnsembleInfo>,
}

/// Convert a neuron spec to the runtime's neuron type.
pub fn neuron_type(spec: &NeuronSpec) -> NeuronType {
    spec.neuron_type()
}

/// The initial values of state variable `var` of `n` neurons given as `dist`: constants and
/// arrays as they are, `uniform(low, high)` drawn by the runtime as Nengo's default voltage is
/// (per batch element, from the op's stream), other distributions sampled here from a stream of
/// the op's seed and the variable.
fn state_init(dist: &DistSpec, n: usize, seed: u64, var: StateVar) -> Result<StateInit, String> {
    Ok(match dist {
        DistSpec::Choice(opts) if opts.len() == 1 && opts[0].len() == 1 => {
            StateInit::Constant(opts[0][0])
        }
        DistSpec::Array(a) => StateInit::Values(a.iter().copied().collect()),
        DistSpec::Uniform { low, high, integer: false } => {
            StateInit::Uniform { low: *low, high: *high }
        }
        other => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (0x5eed_0000 + var.index() as u64));
            let dist = crate::build::dist(other, crate::nef::Dist::uniform(0.0, 1.0));
            let samples = dist.sample_1d(n, &mut rng).map_err(|e| e.to_string())?;
            StateInit::Values(samples.to_vec())
        }
    })
}

/// Convert a synapse spec to the runtime's synapse.
pub fn synapse(spec: &SynapseSpec) -> Synapse {
    match spec {
        SynapseSpec::Lowpass(tau) => Synapse::Lowpass { tau: *tau },
        SynapseSpec::Alpha(tau) => Synapse::Alpha { tau: *tau },
        SynapseSpec::LinearFilter { num, den } => {
            Synapse::LinearFilter { num: num.clone(), den: den.clone() }
        }
    }
}

/// The name of the signal connection `index`'s transform adds into (training finds the
/// connection's parameter op by it).
pub fn weighted_signal_name(index: usize) -> String {
    format!("conn{index}.weighted")
}

/// Lower `model` with time step `dt`. Errors are diagnostics at the source line.
pub fn lower(model: &Model, built: &Built, dt: f64) -> Result<Program, Vec<Diagnostic>> {
    let mut lw = Lowerer {
        model,
        built,
        dt,
        signals: Vec::new(),
        ops: Vec::new(),
        objs: Vec::new(),
        states: Vec::new(),
        errors: Vec::new(),
        ensembles: Vec::new(),
    };
    let mut inputs = Vec::new();
    for (i, o) in model.objects.iter().enumerate() {
        let sig = lw.object(i, o, &mut inputs);
        lw.objs.push(sig);
    }
    let mut errors = std::mem::take(&mut lw.errors);
    for (ci, c) in model.connections.iter().enumerate() {
        if let Err(d) = lw.connection(ci, c) {
            errors.push(d);
        }
    }
    let mut probes = Vec::new();
    for (pi, p) in model.probes.iter().enumerate() {
        match lw.probe(pi, p) {
            Ok(pd) => probes.push(pd),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let ops = ir::schedule(lw.ops).map_err(|e| {
        vec![Diagnostic::error(
            codes::ALGEBRAIC_LOOP,
            format!("{} operations form a same-step cycle", e.ops.len()),
            Span::default(),
            "internal scheduling error",
        )]
    })?;
    let program = Program {
        signals: lw.signals,
        once: Vec::new(),
        ops,
        inputs,
        probes,
        dt,
        ensembles: lw.ensembles,
    };
    if cfg!(debug_assertions) {
        if let Err(errors) = ir::verify(&program) {
            panic!("{}", ir::verify::failure("lower", &errors));
        }
    }
    Ok(program)
}

impl Lowerer<'_> {
    fn signal(&mut self, name: String, size: usize, init: Vec<f64>) -> SignalId {
        let id = SignalId(self.signals.len() as u32);
        self.signals.push(Signal { name, size, init });
        id
    }

    fn op(&mut self, kind: OpKind, origin: Span) {
        self.ops.push(Op::new(kind, origin));
    }

    fn object(
        &mut self,
        idx: usize,
        o: &crate::model::Object,
        inputs: &mut Vec<InputDecl>,
    ) -> ObjSignals {
        let name = &o.name;
        let mut states = Vec::new();
        let sig = match &o.kind {
            ObjectKind::Input => {
                let out = self.signal(format!("{name}.out"), o.size_out(), Vec::new());
                self.op(OpKind::Input { input: inputs.len(), dst: out }, o.span);
                inputs.push(InputDecl { name: name.clone(), shape: o.shape.clone() });
                ObjSignals { input: None, out, j: None }
            }
            ObjectKind::Node(NodeKind::Const(v)) => {
                let out =
                    self.signal(format!("{name}.out"), o.size_out(), v.iter().copied().collect());
                ObjSignals { input: None, out, j: None }
            }
            ObjectKind::Node(NodeKind::Passthrough) => {
                let s = self.signal(format!("{name}.out"), o.size_out(), Vec::new());
                self.op(OpKind::Reset { dst: s, value: vec![0.0] }, o.span);
                ObjSignals { input: Some(s), out: s, j: None }
            }
            ObjectKind::Node(NodeKind::Function(f)) => {
                let out = self.signal(format!("{name}.out"), o.size_out(), Vec::new());
                let input = (f.size_in > 0)
                    .then(|| self.signal(format!("{name}.in"), f.size_in, Vec::new()));
                if let Some(i) = input {
                    self.op(OpKind::Reset { dst: i, value: vec![0.0] }, o.span);
                }
                self.op(OpKind::NodeFn { f: f.clone(), input, dst: out }, o.span);
                ObjSignals { input, out, j: None }
            }
            ObjectKind::Node(NodeKind::Host(h)) => {
                let out = self.signal(format!("{name}.out"), o.size_out(), Vec::new());
                let input = self.signal(format!("{name}.in"), o.size_in, Vec::new());
                self.op(OpKind::Reset { dst: input, value: vec![0.0] }, o.span);
                self.op(OpKind::HostFn { op: h.clone(), input, dst: out }, o.span);
                ObjSignals { input: Some(input), out, j: None }
            }
            ObjectKind::Node(NodeKind::Process(p)) => {
                let out = self.signal(format!("{name}.out"), o.size_out(), Vec::new());
                self.op(OpKind::Process { spec: p.clone(), dst: out, seed: o.seed }, o.span);
                ObjSignals { input: None, out, j: None }
            }
            ObjectKind::Layer(l) => {
                let n = o.size_out();
                let j = self.signal(format!("{name}.in"), n, Vec::new());
                let out = self.signal(format!("{name}.out"), n, Vec::new());
                self.op(OpKind::Reset { dst: j, value: l.bias.clone() }, o.span);
                states = self.sim_neurons(name, &l.neuron, j, out, n, o.seed, o.span);
                ObjSignals { input: Some(j), out, j: Some(j) }
            }
            ObjectKind::Ensemble(e) => {
                let b = &self.built.ensembles[idx];
                let n = e.n_neurons;
                let input = self.signal(format!("{name}.in"), e.dims, Vec::new());
                let j = self.signal(format!("{name}.neurons.in"), n, Vec::new());
                let out = self.signal(format!("{name}.neurons.out"), n, Vec::new());
                self.op(OpKind::Reset { dst: input, value: vec![0.0] }, o.span);
                let bias = b.as_ref().map(|b| b.bias.clone()).unwrap_or_default();
                self.op(OpKind::Reset { dst: j, value: bias }, o.span);
                if let Some(b) = b {
                    self.op(
                        OpKind::DotInc {
                            mat: b.scaled_encoders.clone(),
                            src: input,
                            dst: j,
                            src_sel: None,
                            dst_sel: None,
                        },
                        o.span,
                    );
                }
                states = self.sim_neurons(name, &e.neuron, j, out, n, o.seed, o.span);
                if let Some(b) = b {
                    let mut gain_encoders = b.encoders.clone();
                    for (mut row, g) in gain_encoders.outer_iter_mut().zip(&b.gain) {
                        row.mapv_inplace(|v| v * g);
                    }
                    self.ensembles.push(crate::ir::EnsembleInfo {
                        name: name.to_string(),
                        input,
                        j,
                        out,
                        radius: e.radius,
                        gain_encoders,
                    });
                }
                ObjSignals { input: Some(input), out, j: Some(j) }
            }
        };
        self.states.push(states);
        sig
    }

    #[allow(clippy::too_many_arguments)]
    fn sim_neurons(
        &mut self,
        name: &str,
        spec: &NeuronSpec,
        j: SignalId,
        out: SignalId,
        n: usize,
        seed: u64,
        span: Span,
    ) -> Vec<(StateVar, SignalId)> {
        let neuron = neuron_type(spec);
        let states: Vec<(StateVar, SignalId)> = spec
            .kind
            .info()
            .states
            .iter()
            .map(|s| (s.var, self.signal(format!("{name}.neurons.{}", s.var), n, Vec::new())))
            .collect();
        let mut init = Vec::new();
        for (var, dist) in &spec.initial {
            match state_init(dist, n, seed, *var) {
                Ok(i) => init.push((*var, i)),
                Err(e) => self.errors.push(Diagnostic::error(
                    codes::BUILD,
                    format!("initial `{var}`: {e}"),
                    span,
                    "while building this",
                )),
            }
        }
        self.op(OpKind::SimNeurons { neuron, j, out, states: states.clone(), init, seed }, span);
        states
    }

    /// Gains applied to a connection into `ep` (neurons of an ensemble or a layer), if any.
    fn post_gain(&self, ep: &Endpoint) -> Option<Vec<f64>> {
        let o = self.model.object(ep.obj);
        let pick = |g: &Vec<f64>| -> Vec<f64> {
            if g.len() == 1 {
                g.clone()
            } else {
                match &ep.indices {
                    Some(ix) => ix.iter().map(|&i| g[i]).collect(),
                    None => g.clone(),
                }
            }
        };
        match (&o.kind, ep.port) {
            (ObjectKind::Layer(l), _) => Some(pick(&l.gain)),
            (ObjectKind::Ensemble(_), Port::Neurons) => {
                self.built.ensembles[ep.obj.0 as usize].as_ref().map(|b| pick(&b.gain))
            }
            _ => None,
        }
    }

    fn connection(&mut self, index: usize, c: &crate::model::Connection) -> Result<(), Diagnostic> {
        let pre = self.objs[c.pre.obj.0 as usize];
        let post = self.objs[c.post.obj.0 as usize];
        let name = format!("conn{index}");
        // The value the transform reads: decoded connections read neuron output via decoders.
        let decoded = c.is_decoded(self.model);
        let (src, src_sel, transform) = if decoded {
            let w = self.built.connections.get(index).cloned().flatten().ok_or_else(|| {
                Diagnostic::error(
                    codes::BUILD,
                    "decoders were not solved for this connection",
                    c.span,
                    "not built",
                )
            })?;
            (pre.out, None, Transform::Dense(w))
        } else {
            (pre.out, c.pre.indices.clone(), c.transform.clone())
        };
        // A weight solver folds the post ensemble's scaled encoders (gains included) into the
        // weights, which then target all of its neurons directly.
        let full_weights = decoded && c.solver.weights;
        let size_mid = match (&transform, full_weights) {
            (Transform::Dense(w), true) => w.nrows(),
            _ => c.post.size,
        };
        let weighted = self.signal(weighted_signal_name(index), size_mid, Vec::new());
        self.op(OpKind::Reset { dst: weighted, value: vec![0.0] }, c.span);
        self.transform_op(&transform, src, weighted, src_sel, c.span);
        let filtered = match &c.synapse {
            None => weighted,
            Some(s) => {
                let filter = synapse(s).discretize(self.dt).map_err(|e| {
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!("cannot discretise this synapse: {e}"),
                        c.span,
                        "synapse",
                    )
                })?;
                let out = self.signal(format!("{name}.out"), size_mid, Vec::new());
                self.op(OpKind::Filter { filter, src: weighted, dst: out }, c.span);
                out
            }
        };
        let dst = match (c.post.port, full_weights) {
            (Port::Neurons, _) | (_, true) => post.j.unwrap_or(post.out),
            (Port::Value, false) => post.input.unwrap_or(post.out),
        };
        let dst_sel: Sel = if full_weights { None } else { c.post.indices.clone() };
        let gain = if full_weights { None } else { self.post_gain(&c.post) };
        match gain {
            Some(g) => self.op(
                OpKind::ElementwiseInc { scale: g, src: filtered, dst, src_sel: None, dst_sel },
                c.span,
            ),
            None => self
                .op(OpKind::Copy { src: filtered, dst, src_sel: None, dst_sel, inc: true }, c.span),
        }
        Ok(())
    }

    fn transform_op(
        &mut self,
        t: &Transform,
        src: SignalId,
        dst: SignalId,
        src_sel: Sel,
        span: Span,
    ) {
        let kind = match t {
            Transform::Identity => OpKind::Copy { src, dst, src_sel, dst_sel: None, inc: true },
            Transform::Scalar(s) => {
                OpKind::ElementwiseInc { scale: vec![*s], src, dst, src_sel, dst_sel: None }
            }
            Transform::Elementwise(v) => {
                OpKind::ElementwiseInc { scale: v.clone(), src, dst, src_sel, dst_sel: None }
            }
            Transform::Dense(m) => {
                OpKind::DotInc { mat: m.clone(), src, dst, src_sel, dst_sel: None }
            }
            Transform::Sparse { indices, values, .. } => OpKind::SparseDotInc {
                rows: indices.iter().map(|p| p.0).collect(),
                cols: indices.iter().map(|p| p.1).collect(),
                vals: values.clone(),
                src,
                dst,
                src_sel,
                dst_sel: None,
            },
            Transform::Conv(spec) => OpKind::ConvInc { spec: spec.clone(), src, dst },
        };
        self.op(kind, span);
    }

    fn probe(&mut self, index: usize, p: &crate::model::Probe) -> Result<ProbeDecl, Diagnostic> {
        let o = self.model.object(p.target.obj);
        let sig = self.objs[p.target.obj.0 as usize];
        let size: usize = p.shape.iter().product();
        let (src, src_sel, transform) = match (&p.attr, p.target.port, &o.kind) {
            (ProbeAttr::State(s), _, _) => {
                let st = self.states[p.target.obj.0 as usize]
                    .iter()
                    .find(|(n, _)| n == s)
                    .map(|(_, id)| *id);
                let st = st.ok_or_else(|| {
                    Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        format!("no state `{s}`"),
                        p.span,
                        "here",
                    )
                })?;
                (st, p.target.indices.clone(), Transform::Identity)
            }
            (ProbeAttr::Output, Port::Value, ObjectKind::Ensemble(_)) => {
                let w = self.built.probes.get(index).cloned().flatten().ok_or_else(|| {
                    Diagnostic::error(
                        codes::BUILD,
                        "decoders were not solved for this probe",
                        p.span,
                        "not built",
                    )
                })?;
                (sig.out, None, Transform::Dense(w))
            }
            _ => (sig.out, p.target.indices.clone(), Transform::Identity),
        };
        let every = match p.sample_every {
            // Nengo samples at steps n with n mod (sample_every / dt) < 1: regular only when
            // the period is a whole number of steps (or below one step: every step)
            Some(t) => {
                let period = t / self.dt;
                let steps = period.round();
                if period > 1.0 && (period - steps).abs() > 1e-9 * period {
                    return Err(Diagnostic::error(
                        codes::BUILD,
                        format!(
                            "sample_every {} is not a whole number of time steps (dt = {}): Nengo samples such a probe at irregular steps",
                            as_ms(t),
                            as_ms(self.dt)
                        ),
                        p.span,
                        format!("{period:.4} steps"),
                    )
                    .with_help(format!(
                        "use a multiple of dt, e.g. sample_every {}",
                        as_ms(steps * self.dt)
                    )));
                }
                (steps as usize).max(1)
            }
            None => 1,
        };
        // Direct probes of unsliced signals need no ops.
        let direct =
            matches!(transform, Transform::Identity) && src_sel.is_none() && p.synapse.is_none();
        if direct {
            return Ok(ProbeDecl {
                name: p.name.clone(),
                signal: src,
                shape: p.shape.clone(),
                every,
            });
        }
        let value = self.signal(format!("probe.{}", p.name), size, Vec::new());
        if matches!(transform, Transform::Identity) {
            self.op(OpKind::Copy { src, dst: value, src_sel, dst_sel: None, inc: false }, p.span);
        } else {
            self.op(OpKind::Reset { dst: value, value: vec![0.0] }, p.span);
            self.transform_op(&transform, src, value, src_sel, p.span);
        }
        let signal = match &p.synapse {
            None => value,
            Some(s) => {
                let filter = synapse(s).discretize(self.dt).map_err(|e| {
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!("cannot discretise this synapse: {e}"),
                        p.span,
                        "synapse",
                    )
                })?;
                let filtered = self.signal(format!("probe.{}.filtered", p.name), size, Vec::new());
                self.op(OpKind::Filter { filter, src: value, dst: filtered }, p.span);
                let out = self.signal(format!("probe.{}.out", p.name), size, Vec::new());
                self.op(
                    OpKind::Copy {
                        src: filtered,
                        dst: out,
                        src_sel: None,
                        dst_sel: None,
                        inc: false,
                    },
                    p.span,
                );
                out
            }
        };
        Ok(ProbeDecl { name: p.name.clone(), signal, shape: p.shape.clone(), every })
    }
}

/// A time in milliseconds as the language writes it (`1.5ms`), to nanosecond precision.
fn as_ms(t: f64) -> String {
    format!("{}ms", (t * 1e9).round() / 1e6)
}
