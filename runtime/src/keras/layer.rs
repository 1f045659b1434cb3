//! One Keras layer application: class, config, inputs and named weights.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use ndarray::ArrayD;

use super::config::LayerConfig;

/// One named weight tensor of a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// One application of one Keras layer, nested models flattened away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
