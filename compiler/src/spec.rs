//! Parameter values of the model that are sampled or interpreted later: neuron types,
//! distributions, synapses, solvers and processes, plus the table of neuron types.

use ndarray::ArrayD;
use snn_runtime::kernels::host;
use std::sync::Arc;

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
}

impl Default for SolverSpec {
    fn default() -> SolverSpec {
        SolverSpec { reg: 0.1, weights: false }
    }
}

/// Stochastic or data-driven node outputs (the runtime owns the type and its state).
pub use snn_runtime::process::ProcessSpec;

/// A function of a node's input computed on the host, off the neuromorphic path: what the Keras
/// importer emits for layers with no native conversion (NengoDL's TensorNode fallback).
#[derive(Clone, Debug, PartialEq)]
pub enum HostOp {
    /// Max pooling (TensorFlow semantics: cells outside the input never win).
    MaxPool {
        /// Input shape (spatial dims and channels).
        input_shape: Vec<usize>,
        /// Output shape.
        output_shape: Vec<usize>,
        /// Window size per spatial dim.
        size: Vec<usize>,
        /// Stride per spatial dim.
        strides: Vec<usize>,
        /// Padding before each spatial dim ("same": total / 2).
        pad_before: Vec<usize>,
        /// Channels are the last axis (else the first).
        channels_last: bool,
    },
    /// Softmax along `axis` of `shape` (max-subtracted, as TensorFlow).
    Softmax {
        /// The input (and output) shape.
        shape: Vec<usize>,
        /// The axis normalised over.
        axis: usize,
    },
    /// ELU: `x` for x > 0, `alpha (e^x − 1)` otherwise.
    Elu {
        /// The negative-side scale.
        alpha: f64,
    },
    /// One Keras layer evaluated with the Keras semantics of snn-keras's evaluator
    /// (`keras_layer(class = "Subtract", …)`): any layer the evaluator computes.
    Keras(Arc<KerasLayerOp>),
}

/// A Keras layer run as a host op: its inputs are concatenated (flat, in call order) into the
/// node's input.
#[derive(Clone, Debug, PartialEq)]
pub struct KerasLayerOp {
    /// The layer: class, config and named weights (checked by [`snn_runtime::keras::check_layer`]).
    pub layer: snn_runtime::keras::Layer,
    /// Shape of each input (without the batch dimension), in call order.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shape of the output (without the batch dimension).
    pub output_shape: Vec<usize>,
    /// Keras 3 definitions where the generations differ (`hard_sigmoid`).
    pub keras3: bool,
}

impl KerasLayerOp {
    /// The layer's output for flat inputs `x` (concatenated in call order), evaluated in `f64`
    /// with batch size 1.
    pub fn eval(&self, x: &[f64]) -> Result<ArrayD<f64>, String> {
        let mut args = Vec::with_capacity(self.input_shapes.len());
        let mut at = 0;
        for shape in &self.input_shapes {
            let n: usize = shape.iter().product();
            let part = x.get(at..at + n).ok_or("keras_layer: input too short")?;
            at += n;
            let mut full = vec![1];
            full.extend_from_slice(shape);
            args.push(
                ArrayD::from_shape_vec(ndarray::IxDyn(&full), part.to_vec())
                    .map_err(|e| e.to_string())?,
            );
        }
        let refs: Vec<&ArrayD<f64>> = args.iter().collect();
        snn_runtime::keras::apply_layer(&self.layer, &refs, self.keras3).map_err(|e| e.reason)
    }
}

impl HostOp {
    /// Its name in the language.
    pub fn name(&self) -> &'static str {
        match self {
            HostOp::MaxPool { size, .. } if size.len() == 1 => "max_pool1d",
            HostOp::MaxPool { .. } => "max_pool2d",
            HostOp::Softmax { .. } => "softmax",
            HostOp::Elu { .. } => "elu",
            HostOp::Keras(_) => "keras_layer",
        }
    }

    /// `y = op(x)` for a run in `T`: `x` widened to `f64` (in `wide.0`), [`HostOp::apply`] into
    /// zeros (`wide.1`), the result rounded to `T`. What every backend runs for a `HostFn` op.
    pub fn apply_in<T: snn_runtime::Real>(
        &self,
        x: &[T],
        y: &mut [T],
        wide: &mut (Vec<f64>, Vec<f64>),
    ) {
        let (wx, wy) = wide;
        wx.clear();
        wx.extend(x.iter().map(|v| v.widen()));
        wy.clear();
        wy.resize(y.len(), 0.0);
        self.apply(wx, wy);
        snn_runtime::real::cast_into(wy, y);
    }

    /// `y = op(x)`; `x` and `y` are flat, row-major. (A Keras layer, whose shapes were checked
    /// when the node was declared, cannot fail; were it to, `y` would be NaN.)
    pub fn apply(&self, x: &[f64], y: &mut [f64]) {
        match self {
            HostOp::Keras(k) => match k.eval(x) {
                Ok(out) if out.len() == y.len() => {
                    for (o, &v) in y.iter_mut().zip(out.iter()) {
                        *o = v;
                    }
                }
                _ => y.iter_mut().for_each(|o| *o = f64::NAN),
            },
            HostOp::Elu { alpha } => host::elu(*alpha, x, y),
            HostOp::Softmax { shape, axis } => host::softmax(shape, *axis, x, y),
            HostOp::MaxPool {
                input_shape,
                output_shape,
                size,
                strides,
                pad_before,
                channels_last,
            } => {
                let pool = host::Pool {
                    input_shape,
                    output_shape,
                    size,
                    strides,
                    pad_before,
                    channels_last: *channels_last,
                };
                host::max_pool(&pool, x, y);
            }
        }
    }
}
