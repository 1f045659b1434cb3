//! The flattened Keras model graph: inputs, layer applications in topological order, outputs.

pub use snn_runtime::keras::{Layer, TensorRef, Weight};

/// Which container the model was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// A legacy HDF5 model file (`model.save("x.h5")`, Keras 2): `model_config` attribute + `model_weights`.
    H5,
    /// A `.keras` zip archive (Keras 3, or Keras 2.13+): `config.json` + `model.weights.h5`.
    KerasZip,
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
