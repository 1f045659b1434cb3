//! The step IR: named signals and a scheduled list of ops, Nengo's builder model. Each step runs
//! the ops in order (sets → incs → reads → updates per signal), then probes sample signals.

pub mod monitor;
pub mod opt;
mod print;
mod schedule;
pub mod verify;

pub use print::{print, print_marked};
pub use schedule::schedule;
pub use verify::{verify, VerifyError};

use ndarray::Array2;
use snn_runtime::expr::FnExpr;
use snn_runtime::kernels::conv::ConvSpec;
use snn_runtime::kernels::host::HostOp;
use snn_runtime::neurons::{NeuronType, StateInit, StateVar};
use snn_runtime::process::ProcessSpec;
use snn_runtime::synapse::DiscreteFilter;
use snn_syntax::Span;

/// Index of a signal in [`Program::signals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalId(pub u32);

/// A named buffer of `size` values, starting at `init` (zeros when empty).
#[derive(Clone, Debug)]
pub struct Signal {
    /// Dotted name for printing (`a.neurons.in`).
    pub name: String,
    /// Number of values.
    pub size: usize,
    /// Initial value (empty = zeros).
    pub init: Vec<f64>,
}

/// Element selection on a signal: all of it, or these positions.
pub type Sel = Option<Vec<usize>>;

/// One operation of a step.
#[derive(Clone, Debug)]
pub struct Op {
    /// What it does.
    pub kind: OpKind,
    /// The source statement it comes from.
    pub origin: Span,
    /// Set by [`opt::events`]: the op's source carries spikes (mostly zeros), so backends add
    /// only the contributions of its nonzero elements.
    pub events: bool,
}

impl Op {
    /// An op from `origin`, run densely.
    pub fn new(kind: OpKind, origin: Span) -> Self {
        Self { kind, origin, events: false }
    }
}

/// The kinds of op.
#[derive(Clone, Debug)]
pub enum OpKind {
    /// Set `dst` from run-time input `input` (index into [`Program::inputs`]).
    Input { input: usize, dst: SignalId },
    /// Set `dst` to a constant (length 1 broadcasts).
    Reset { dst: SignalId, value: Vec<f64> },
    /// `dst[dst_sel] (+)= src[src_sel]`.
    Copy { src: SignalId, dst: SignalId, src_sel: Sel, dst_sel: Sel, inc: bool },
    /// `dst[dst_sel] += scale * src[src_sel]` (scale of length 1 broadcasts).
    ElementwiseInc { scale: Vec<f64>, src: SignalId, dst: SignalId, src_sel: Sel, dst_sel: Sel },
    /// `dst[dst_sel] += mat @ src[src_sel]`.
    DotInc { mat: Array2<f64>, src: SignalId, dst: SignalId, src_sel: Sel, dst_sel: Sel },
    /// `dst[dst_sel] += sparse @ src[src_sel]`.
    SparseDotInc {
        rows: Vec<usize>,
        cols: Vec<usize>,
        vals: Vec<f64>,
        src: SignalId,
        dst: SignalId,
        src_sel: Sel,
        dst_sel: Sel,
    },
    /// `dst += conv(src)`.
    ConvInc { spec: ConvSpec, src: SignalId, dst: SignalId },
    /// Neurons: read the current `j`, set `out` and the state signals.
    SimNeurons {
        neuron: NeuronType,
        j: SignalId,
        out: SignalId,
        /// The type's own state variables exposed as signals (probeable).
        states: Vec<(StateVar, SignalId)>,
        /// Explicitly initialised state variables (Nengo's `initial_state`); the others take
        /// the table's defaults ([`NeuronType::make_state`]).
        init: Vec<(StateVar, StateInit)>,
        seed: u64,
    },
    /// A synapse: read `src`, update `dst` (visible next step).
    Filter { filter: DiscreteFilter, src: SignalId, dst: SignalId },
    /// `dst *= factor`, an update: the decay of a synapse absorbed into its products
    /// ([`opt::absorb`]).
    Scale { dst: SignalId, factor: f64 },
    /// A node function: read time and `input`, set `dst`.
    NodeFn { f: FnExpr, input: Option<SignalId>, dst: SignalId },
    /// A process: set `dst` from the process at this step.
    Process { spec: ProcessSpec, dst: SignalId, seed: u64 },
    /// A host function: read `input`, set `dst` (off the neuromorphic path).
    HostFn { op: HostOp, input: SignalId, dst: SignalId },
}

impl OpKind {
    /// The signals this op sets, increments, reads and updates.
    pub fn access(&self) -> Access {
        let mut a = Access::default();
        match self {
            OpKind::Input { dst, .. } | OpKind::Reset { dst, .. } | OpKind::Process { dst, .. } => {
                a.sets.push(*dst)
            }
            OpKind::Copy { src, dst, inc, .. } => {
                a.reads.push(*src);
                if *inc {
                    a.incs.push(*dst);
                } else {
                    a.sets.push(*dst);
                }
            }
            OpKind::ElementwiseInc { src, dst, .. }
            | OpKind::DotInc { src, dst, .. }
            | OpKind::SparseDotInc { src, dst, .. }
            | OpKind::ConvInc { src, dst, .. } => {
                a.reads.push(*src);
                a.incs.push(*dst);
            }
            OpKind::SimNeurons { j, out, states, .. } => {
                a.reads.push(*j);
                a.sets.push(*out);
                a.sets.extend(states.iter().map(|(_, s)| *s));
            }
            OpKind::Filter { src, dst, .. } => {
                a.reads.push(*src);
                a.updates.push(*dst);
            }
            OpKind::Scale { dst, .. } => a.updates.push(*dst),
            OpKind::NodeFn { input, dst, .. } => {
                a.reads.extend(input.iter().copied());
                a.sets.push(*dst);
            }
            OpKind::HostFn { input, dst, .. } => {
                a.reads.push(*input);
                a.sets.push(*dst);
            }
        }
        a
    }

    /// Short op name for printing.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Input { .. } => "Input",
            OpKind::Reset { .. } => "Reset",
            OpKind::Copy { .. } => "Copy",
            OpKind::ElementwiseInc { .. } => "ElementwiseInc",
            OpKind::DotInc { .. } => "DotInc",
            OpKind::SparseDotInc { .. } => "SparseDotInc",
            OpKind::ConvInc { .. } => "ConvInc",
            OpKind::SimNeurons { .. } => "SimNeurons",
            OpKind::Filter { .. } => "Filter",
            OpKind::Scale { .. } => "Scale",
            OpKind::NodeFn { .. } => "NodeFn",
            OpKind::Process { .. } => "Process",
            OpKind::HostFn { .. } => "HostFn",
        }
    }
}

/// How an op touches signals.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Written first in a step.
    pub sets: Vec<SignalId>,
    /// Added to after sets.
    pub incs: Vec<SignalId>,
    /// Read after all sets and incs.
    pub reads: Vec<SignalId>,
    /// Written last (seen next step).
    pub updates: Vec<SignalId>,
}

/// A run-time input.
#[derive(Clone, Debug)]
pub struct InputDecl {
    /// Its name in the model.
    pub name: String,
    /// Its declared shape.
    pub shape: Vec<usize>,
}

/// A probe: which signal to sample, and how often.
#[derive(Clone, Debug)]
pub struct ProbeDecl {
    /// Name of the output array.
    pub name: String,
    /// The sampled signal.
    pub signal: SignalId,
    /// Shape of one sample.
    pub shape: Vec<usize>,
    /// Keep a sample every this many steps.
    pub every: usize,
}

/// A whole lowered model.
#[derive(Clone, Debug)]
pub struct Program {
    /// All signals.
    pub signals: Vec<Signal>,
    /// Ops run once before the first step (their results do not change over a run; moved
    /// here by [`opt::hoist`]), in execution order.
    pub once: Vec<Op>,
    /// Ops in execution order, every step.
    pub ops: Vec<Op>,
    /// Run-time inputs, in declaration order.
    pub inputs: Vec<InputDecl>,
    /// Probes, in declaration order.
    pub probes: Vec<ProbeDecl>,
    /// Time step (seconds).
    pub dt: f64,
    /// The ensembles the lowering made, for targets that map NEF structure themselves (the
    /// `loihi` target's decode neurons); passes do not keep it up to date.
    pub ensembles: Vec<EnsembleInfo>,
}

/// Where an ensemble is in a lowered program: its decoded-value input, the neurons' input
/// current that the `DotInc` of its scaled encoders writes, and what that matrix is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleInfo {
    /// The ensemble's dotted name.
    pub name: String,
    /// The value input (`NAME.in`, dims).
    pub input: SignalId,
    /// The neurons' input current (`NAME.neurons.in`).
    pub j: SignalId,
    /// The neurons' output (`NAME.neurons.out`).
    pub out: SignalId,
    /// The radius.
    pub radius: f64,
    /// Encoders times gains (`n × dims`, without the radius the program's matrix divides by).
    pub gain_encoders: ndarray::Array2<f64>,
}

impl Program {
    /// Inputs the hoisted ops read: they must be held over a run (given without a time axis).
    pub fn hoisted_inputs(&self) -> Vec<usize> {
        self.once
            .iter()
            .filter_map(|op| match op.kind {
                OpKind::Input { input, .. } => Some(input),
                _ => None,
            })
            .collect()
    }

    /// An error when input `i`, given with `per_b` values per batch element, is not held but a
    /// hoisted op reads it.
    pub fn check_held(&self, i: usize, per_b: usize) -> Result<(), String> {
        let size: usize = self.inputs.get(i).map_or(0, |d| d.shape.iter().product());
        if per_b != size && self.hoisted_inputs().contains(&i) {
            let name = self.inputs.get(i).map_or("?", |d| d.name.as_str());
            return Err(format!(
                "input `{name}` changes over time, but the program was optimised for it held"
            ));
        }
        Ok(())
    }
}
