//! Keras layer semantics: one Keras layer (class, config JSON, named weights) applied to its
//! inputs with Keras inference semantics. The kernel of `keras_layer` host ops, shared by every
//! backend, and the layer step of snn-keras's whole-model evaluator (the oracle of
//! `snnc verify`).

pub mod config;
pub mod dual;
pub mod error;
mod eval;
mod layer;
mod ops;
mod recurrent;
pub mod weights;

pub use config::{DataFormat, LayerConfig, Padding};
pub use error::{ErrorKind, KerasError};
pub use eval::{apply_in, apply_layer, check_layer, check_options, is_supported_class, Scalar};
pub use layer::{Layer, TensorRef, Weight};
pub use ops::{checked_size, deconv_output_length, depthwise_as_grouped, is_known_activation};
