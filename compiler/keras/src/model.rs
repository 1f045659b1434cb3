//! The flattened Keras model graph: inputs, layer applications in topological order, outputs.

use std::sync::Arc;

use ndarray::ArrayD;

use crate::config::LayerConfig;

/// Which container the model was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// A legacy HDF5 model file (`model.save("x.h5")`, Keras 2): `model_config` attribute + `model_weights`.
    H5,
    /// A `.keras` zip archive (Keras 3, or Keras 2.13+): `config.json` + `model.weights.h5`.
    KerasZip,
}

/// One named weight tensor of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    /// Canonical name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`,
    /// `depthwise_kernel`, ... (for layer classes this crate does not know, the stored
    /// variable name in Keras 2 files and the variable index in Keras 3 files).
    pub name: String,
    /// The values, widened to f64 (exact for f32 data).
    pub array: ArrayD<f64>,
    /// Whether the file stored this tensor as f64 (otherwise f32).
    pub stored_f64: bool,
}

/// A reference to one output tensor of one layer application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorRef {
    /// Flattened layer name (or model input name).
    pub layer: String,
    /// Which application (call) of the layer, counted in the flattened graph.
    pub node: usize,
    /// Which output tensor of that application.
    pub tensor: usize,
}

impl TensorRef {
    /// The first output of the first application of `layer`.
    pub fn first(layer: &str) -> Self {
        Self { layer: layer.to_string(), node: 0, tensor: 0 }
    }
}

/// A model input.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// Name of the Keras InputLayer (tensors refer to it as `TensorRef { layer: name, node: 0, tensor: 0 }`).
    pub name: String,
    /// Shape without the batch dimension; `None` for an unknown (variable) dimension.
    pub shape: Vec<Option<usize>>,
    /// Declared dtype name (e.g. `float32`).
    pub dtype: String,
}

/// One application of one Keras layer, nested models flattened away.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Flattened name: the Keras layer name, prefixed by enclosing model names (`inner/dense`).
    pub name: String,
    /// Keras class name (`Dense`, `Conv2D`, ...; custom classes keep their own name).
    pub class_name: String,
    /// The layer's config.
    pub config: LayerConfig,
    /// Which application of this layer this is (0 unless the layer is shared).
    pub node: usize,
    /// Total number of applications of this layer in the flattened graph (> 1: shared weights).
    pub n_calls: usize,
    /// Input tensors, in call order.
    pub inbound: Vec<TensorRef>,
    /// Weights in Keras order; shared (same `Arc`) between applications of a shared layer.
    pub weights: Arc<Vec<Weight>>,
}

impl Layer {
    /// The weight called `name`, if any.
    pub fn weight(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.weights.iter().find(|w| w.name == name).map(|w| &w.array)
    }

    /// Whether this layer is applied more than once (its weights are shared).
    pub fn is_shared(&self) -> bool {
        self.n_calls > 1
    }

    /// The first output tensor of this application.
    pub fn output(&self) -> TensorRef {
        TensorRef { layer: self.name.clone(), node: self.node, tensor: 0 }
    }
}

/// A Keras model read from a file, as a flat graph.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasModel {
    /// The file (or name hint) it was read from; used in error messages.
    pub source: String,
    /// Container format.
    pub format: SourceFormat,
    /// Keras version recorded in the file, if any.
    pub keras_version: Option<String>,
    /// The model's name.
    pub name: String,
    /// Model inputs, in Keras order.
    pub inputs: Vec<ModelInput>,
    /// Layer applications in topological order (InputLayers excluded; they are `inputs`).
    pub layers: Vec<Layer>,
    /// Model outputs, in Keras order.
    pub outputs: Vec<TensorRef>,
}

impl KerasModel {
    /// The first application of the layer called `name` (flattened name).
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// `Ok` if the evaluator supports every layer class and activation of the model; otherwise an
    /// `Unsupported` error naming the file and the first offending layer.
    pub fn check_supported(&self) -> Result<(), crate::error::KerasError> {
        crate::eval::check_supported(self)
    }

    /// Layers whose class the evaluator does not implement (name, class), in graph order,
    /// one entry per layer (not per application).
    pub fn unsupported_layers(&self) -> Vec<(String, String)> {
        let mut res: Vec<(String, String)> = Vec::new();
        for l in &self.layers {
            if !crate::eval::is_supported_class(&l.class_name)
                && !res.iter().any(|(n, _)| *n == l.name)
            {
                res.push((l.name.clone(), l.class_name.clone()));
            }
        }
        res
    }
}
