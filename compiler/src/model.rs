//! The checked model: every object with its shape, every default applied, spans kept.
//! Produced by `resolve`, consumed by `build` and `lower`.

use crate::func::FnExpr;
use crate::spec::{DistSpec, NeuronSpec, ProcessSpec, SolverSpec, SynapseSpec};
use ndarray::{Array2, ArrayD};
use snn_syntax::Span;

/// Index of an object in [`Model::objects`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

/// A whole network, flattened: instances are expanded, names are dotted paths.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Inputs, nodes, ensembles and layers.
    pub objects: Vec<Object>,
    /// Connections in declaration order.
    pub connections: Vec<Connection>,
    /// Probes in declaration order; names are unique.
    pub probes: Vec<Probe>,
    /// The model seed (`seed N` at the top level), if given.
    pub seed: Option<u64>,
}

impl Model {
    /// The object with id `id`.
    pub fn object(&self, id: ObjectId) -> &Object {
        &self.objects[id.0 as usize]
    }

    /// Ids of the `input` objects in declaration order.
    pub fn inputs(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.kind, ObjectKind::Input))
            .map(|(i, _)| ObjectId(i as u32))
    }
}

/// One declared object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Full dotted name (`sub.ens`, `ea[2]`).
    pub name: String,
    /// What it is.
    pub kind: ObjectKind,
    /// Shape of its output value (decoded value for ensembles, neuron output for layers).
    pub shape: Vec<usize>,
    /// Size of the value its incoming connections add into (`0` for sources).
    pub size_in: usize,
    /// A seed derived from the model seed and the name, for its random parameters.
    pub seed: u64,
    /// The declaration.
    pub span: Span,
}

impl Object {
    /// Number of elements of its output.
    pub fn size_out(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of neurons, for ensembles and layers.
    pub fn n_neurons(&self) -> Option<usize> {
        match &self.kind {
            ObjectKind::Ensemble(e) => Some(e.n_neurons),
            ObjectKind::Layer(_) => Some(self.size_out()),
            _ => None,
        }
    }

    /// The neuron type, for ensembles and layers.
    pub fn neuron(&self) -> Option<&NeuronSpec> {
        match &self.kind {
            ObjectKind::Ensemble(e) => Some(&e.neuron),
            ObjectKind::Layer(l) => Some(&l.neuron),
            _ => None,
        }
    }
}

/// The kinds of object.
#[allow(clippy::large_enum_variant)] // one per object
#[derive(Clone, Debug)]
pub enum ObjectKind {
    /// Data fed at run time.
    Input,
    /// A node.
    Node(NodeKind),
    /// An NEF ensemble.
    Ensemble(Ensemble),
    /// A layer of neurons addressed one by one.
    Layer(Layer),
}

impl ObjectKind {
    /// The keyword that declares it.
    pub fn describe(&self) -> &'static str {
        match self {
            ObjectKind::Input => "input",
            ObjectKind::Node(_) => "node",
            ObjectKind::Ensemble(_) => "ensemble",
            ObjectKind::Layer(_) => "layer",
        }
    }
}

/// What a node computes.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A constant output.
    Const(ArrayD<f64>),
    /// Output = sum of inputs.
    Passthrough,
    /// Output = f(t) or f(t, x).
    Function(FnExpr),
    /// Output from a process (noise, signal, presented inputs).
    Process(ProcessSpec),
    /// Output = a host function of the sum of its inputs (max pooling, softmax, …).
    Host(crate::spec::HostOp),
}

/// An NEF ensemble with its parameters as given or defaulted; sampling happens in `build`.
#[derive(Clone, Debug)]
pub struct Ensemble {
    /// Number of neurons.
    pub n_neurons: usize,
    /// Represented dimensions.
    pub dims: usize,
    /// Neuron model.
    pub neuron: NeuronSpec,
    /// Maximum firing rates (Hz).
    pub max_rates: DistSpec,
    /// Intercepts.
    pub intercepts: DistSpec,
    /// Encoders (`n × dims` when explicit).
    pub encoders: DistSpec,
    /// Representational radius.
    pub radius: f64,
    /// Explicit gains (then `bias` is explicit too).
    pub gain: Option<DistSpec>,
    /// Explicit biases.
    pub bias: Option<DistSpec>,
    /// Evaluation points.
    pub eval_points: DistSpec,
    /// Number of eval points, if set.
    pub n_eval_points: Option<usize>,
    /// Whether encoders are normalised to unit length.
    pub normalize_encoders: bool,
    /// Whether `snnc train` trains its encoders (`trainable`, `ensemble.trainable`).
    pub train_encoders: bool,
    /// Whether `snnc train` trains its biases (`neurons.trainable`, else as the encoders).
    pub train_bias: bool,
}

/// A layer of neurons: `J = gain * input + bias` per neuron.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Neuron model.
    pub neuron: NeuronSpec,
    /// Gain per neuron (length 1 broadcasts).
    pub gain: Vec<f64>,
    /// Bias per neuron (length 1 broadcasts).
    pub bias: Vec<f64>,
    /// Whether `snnc train` trains its biases (`trainable`, `layer.trainable`).
    pub train_bias: bool,
}

/// Which value of an object a connection reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// The object's value: node/input output, ensemble decoded value or input, layer neurons.
    Value,
    /// An ensemble's neurons (`a.neurons`).
    Neurons,
}

/// One side of a connection.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The object.
    pub obj: ObjectId,
    /// Value or neurons.
    pub port: Port,
    /// Selected flat indices, or all.
    pub indices: Option<Vec<usize>>,
    /// Size after selection.
    pub size: usize,
    /// Where it is written.
    pub span: Span,
}

/// A connection's linear map from the (decoded) pre value to the post value.
#[derive(Clone, Debug)]
pub enum Transform {
    /// Identity (sizes equal).
    Identity,
    /// Multiply by a scalar.
    Scalar(f64),
    /// Multiply elementwise.
    Elementwise(Vec<f64>),
    /// Dense matrix `(size_out, size_in)`.
    Dense(Array2<f64>),
    /// Sparse matrix.
    Sparse { shape: (usize, usize), indices: Vec<(usize, usize)>, values: Vec<f64> },
    /// A convolution, or a transposed convolution.
    Conv(ConvSpec),
}

/// Convolution geometry, resolved (the runtime's convolution kernels own the type).
pub use snn_runtime::kernels::conv::ConvSpec;

/// A connection, with all defaults applied.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Source.
    pub pre: Endpoint,
    /// Target.
    pub post: Endpoint,
    /// Linear map.
    pub transform: Transform,
    /// Decoded function (decoded connections only).
    pub function: Option<FnExpr>,
    /// Synapse on the connection; `None` is same-step.
    pub synapse: Option<SynapseSpec>,
    /// Decoder solver (decoded connections).
    pub solver: SolverSpec,
    /// Eval points for the decoders, if not the ensemble's.
    pub eval_points: Option<DistSpec>,
    /// Seed for anything random in it.
    pub seed: u64,
    /// Whether `snnc train` trains its weights (`trainable` clause, `connect.trainable`).
    pub trainable: bool,
    /// The statement.
    pub span: Span,
}

impl Connection {
    /// Whether decoders are solved for it (pre is an ensemble's value).
    pub fn is_decoded(&self, model: &Model) -> bool {
        self.pre.port == Port::Value
            && matches!(model.object(self.pre.obj).kind, ObjectKind::Ensemble(_))
    }
}

/// What a probe records.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeAttr {
    /// Output value (decoded for ensembles, neuron output for layers and `.neurons`).
    Output,
    /// A neuron state variable such as `voltage`.
    State(crate::spec::StateVar),
}

/// A probe.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Name of the array in the output file.
    pub name: String,
    /// What is probed.
    pub target: Endpoint,
    /// Output or a state variable.
    pub attr: ProbeAttr,
    /// Filter on the probed signal.
    pub synapse: Option<SynapseSpec>,
    /// Keep one sample every this long (seconds); every step when `None`.
    pub sample_every: Option<f64>,
    /// Solver, for decoded ensemble probes.
    pub solver: SolverSpec,
    /// Shape of one sample.
    pub shape: Vec<usize>,
    /// The statement.
    pub span: Span,
}
