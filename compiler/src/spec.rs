//! Parameter values of the model that are sampled or interpreted later: neuron types,
//! distributions, synapses, solvers and processes, plus the table of neuron types.

use ndarray::ArrayD;

pub use snn_runtime::neurons::{
    Constraint, NeuronInfo, NeuronKind, Param, ParamUnit, StateVar, NEURON_TYPES,
};

/// A neuron type with its parameters (all defaults filled in). The types, their parameters and
/// state variables come from snn-runtime's table ([`NEURON_TYPES`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronSpec {
    /// Which type.
    pub kind: NeuronKind,
    /// Parameter values, in the table's order ([`NeuronInfo::params`]).
    pub params: Vec<f64>,
    /// Base rate type, for `regular_spiking` / `poisson_spiking`.
    pub base: Option<Box<NeuronSpec>>,
    /// Explicit initial values of state variables (Nengo's `initial_state`), each a constant,
    /// an array of one value per neuron or a distribution; the others take Nengo's defaults.
    pub initial: Vec<(StateVar, DistSpec)>,
}

impl NeuronSpec {
    /// A parameter's value by name, `None` if the type has no such parameter.
    pub fn param(&self, name: &str) -> Option<f64> {
        let i = self.kind.info().params.iter().position(|p| p.name == name)?;
        self.params.get(i).copied()
    }

    /// Whether the output is spikes.
    pub fn is_spiking(&self) -> bool {
        self.kind.info().spiking
    }

    /// The runtime's neuron type with these parameters.
    pub fn neuron_type(&self) -> snn_runtime::neurons::NeuronType {
        self.kind.build(&self.params, self.base.as_deref().map(NeuronSpec::neuron_type))
    }
}

/// A distribution or explicit array for a per-neuron / per-point parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum DistSpec {
    /// Nengo's default for this parameter (resolved in build).
    Default,
    /// Uniform(low, high).
    Uniform { low: f64, high: f64, integer: bool },
    /// Gaussian(mean, std).
    Gaussian { mean: f64, std: f64 },
    /// Choice among options (each a row).
    Choice(Vec<Vec<f64>>),
    /// Uniform on/in the hypersphere.
    UniformHypersphere { surface: bool },
    /// Nengo's ScatteredHypersphere.
    ScatteredHypersphere { surface: bool },
    /// Explicit values (shape checked by the consumer).
    Array(ArrayD<f64>),
}

/// A synapse model; `synapse none` is `Option::None` at the use site.
#[derive(Clone, Debug, PartialEq)]
pub enum SynapseSpec {
    /// Lowpass(tau).
    Lowpass(f64),
    /// Alpha(tau).
    Alpha(f64),
    /// LinearFilter(num, den), continuous time.
    LinearFilter { num: Vec<f64>, den: Vec<f64> },
}

/// Decoder solver options.
#[derive(Clone, Debug, PartialEq)]
pub struct SolverSpec {
    /// L2 regularisation relative to the largest activity.
    pub reg: f64,
    /// Solve for full weights (pre neurons → post neurons) instead of decoders.
    pub weights: bool,
    /// Decoders given instead of solved (`no_solver(values = D)`, Nengo's `NoSolver`):
    /// `(n_neurons, size)`, the decoded value's size being the column count.
    pub values: Option<ndarray::Array2<f64>>,
}

impl Default for SolverSpec {
    fn default() -> SolverSpec {
        SolverSpec { reg: 0.1, weights: false, values: None }
    }
}

/// Stochastic or data-driven node outputs (the runtime owns the type and its state).
pub use snn_runtime::process::ProcessSpec;

/// Host functions of nodes (the runtime owns them and their kernels).
pub use snn_runtime::kernels::host::{HostOp, KerasLayerOp};
