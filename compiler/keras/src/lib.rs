//! snn-keras: Keras model files read in pure Rust, and a Keras-semantics evaluator.
