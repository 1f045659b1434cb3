//! Parameter values of the model that are sampled or interpreted later: neuron types,
//! distributions, synapses, solvers and processes, plus the table of neuron types.

use ndarray::ArrayD;
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

/// Stochastic or data-driven node outputs.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcessSpec {
    /// Gaussian white noise.
    WhiteNoise { mean: f64, std: f64, scale: bool, seed: Option<u64> },
    /// Band-limited white signal.
    WhiteSignal { period: f64, high: f64, rms: f64, y0: Option<f64>, seed: Option<u64> },
    /// Present each row of `inputs` for `presentation_time`.
    PresentInput { inputs: ArrayD<f64>, presentation_time: f64 },
}

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
            HostOp::Elu { alpha } => {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = if v > 0.0 { v } else { alpha * v.exp_m1() };
                }
            }
            HostOp::Softmax { shape, axis } => {
                let n_axis = shape[*axis];
                let inner: usize = shape[axis + 1..].iter().product();
                let outer: usize = shape[..*axis].iter().product();
                for o in 0..outer {
                    for i in 0..inner {
                        let at = |k: usize| (o * n_axis + k) * inner + i;
                        let m = (0..n_axis).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                        let s: f64 = (0..n_axis).map(|k| (x[at(k)] - m).exp()).sum();
                        for k in 0..n_axis {
                            y[at(k)] = (x[at(k)] - m).exp() / s;
                        }
                    }
                }
            }
            HostOp::MaxPool {
                input_shape,
                output_shape,
                size,
                strides,
                pad_before,
                channels_last,
            } => {
                let nd = output_shape.len();
                let ch = if *channels_last { nd - 1 } else { 0 };
                let spatial: Vec<usize> = (0..nd).filter(|&d| d != ch).collect();
                let flat = |ix: &[usize], shape: &[usize]| {
                    ix.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
                };
                let mut ix = vec![0usize; nd];
                for (k, out) in y.iter_mut().enumerate() {
                    let mut r = k;
                    for d in (0..nd).rev() {
                        ix[d] = r % output_shape[d].max(1);
                        r /= output_shape[d].max(1);
                    }
                    let n_win: usize = size.iter().product();
                    let mut best = f64::NEG_INFINITY;
                    for w in 0..n_win {
                        let mut rem = w;
                        let mut src = ix.clone();
                        let mut inside = true;
                        for (s, &d) in spatial.iter().enumerate().rev() {
                            let off = rem % size[s].max(1);
                            rem /= size[s].max(1);
                            let p = (ix[d] * strides[s] + off) as isize - pad_before[s] as isize;
                            if p < 0 || p as usize >= input_shape[d] {
                                inside = false;
                            } else {
                                src[d] = p as usize;
                            }
                        }
                        if inside {
                            best = best.max(x[flat(&src, input_shape)]);
                        }
                    }
                    *out = best;
                }
            }
        }
    }
}
