//! The error type of the crate: every failure names the file, the layer when there is one, and why.

use std::fmt;

/// What kind of failure a [`KerasError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read from disk.
    Io,
    /// The container is broken: not a zip / HDF5 file, truncated, or a required member is missing.
    Format,
    /// The model configuration JSON is missing, malformed or inconsistent.
    Config,
    /// A layer's weights are missing or have the wrong number or shape.
    Weights,
    /// A layer class, option or activation that this crate cannot evaluate.
    Unsupported,
    /// Inputs given to the evaluator do not match the model, or a shape does not fit a layer.
    Shape,
}

/// A failure to read or evaluate a Keras model.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The file (or name hint) the model came from.
    pub file: String,
    /// The layer concerned, if any (flattened name, e.g. `inner/dense`).
    pub layer: Option<String>,
    /// A human-readable reason.
    pub reason: String,
}

impl KerasError {
    /// A new error without a layer.
    pub fn new(kind: ErrorKind, file: &str, reason: impl Into<String>) -> Self {
        Self { kind, file: file.to_string(), layer: None, reason: reason.into() }
    }

    /// A new error concerning one layer.
    pub fn layer(kind: ErrorKind, file: &str, layer: &str, reason: impl Into<String>) -> Self {
        Self { kind, file: file.to_string(), layer: Some(layer.to_string()), reason: reason.into() }
    }

    /// The same error, attributed to `layer` if it names no layer yet.
    pub fn in_layer(mut self, layer: &str) -> Self {
        if self.layer.is_none() {
            self.layer = Some(layer.to_string());
        }
        self
    }
}

impl fmt::Display for KerasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layer {
            Some(layer) => write!(f, "{}: layer `{}`: {}", self.file, layer, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for KerasError {}
