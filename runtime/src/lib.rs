//! snn-runtime: the kernels every backend shares; depends on nothing else in snnc.
//!
//! Everything here reproduces Nengo 3.2 (and NengoDL 3.6 for `LeakyReLU`) in float64:
//! - [`neurons`]: neuron types, their step kernels, gain/bias maths and rate curves;
//! - [`synapse`]: linear filters discretised with zero-order hold, as Nengo does;
//! - [`process`]: white noise, band-limited white signal and present-input processes;
//! - [`kernels`]: every operation that is not generated code (dense and spike-driven products,
//!   convolutions, neuron-state set-up, host functions), one function every backend calls;
//! - [`expr`]: node-function expression trees and their evaluation;
//! - [`keras`]: one Keras layer applied with Keras semantics (the `keras_layer` host op);
//! - [`real`]: the float types a run computes in;
//! - [`batch`]: the one run loop of every backend (batch elements on threads, a chunk of steps
//!   at a time, probe samples handed out per chunk).
//!
//! Array files (`.npy`, `.npz`, `.safetensors`) are the sibling crate `snn-io` (runtime/io), so
//! that code linking these kernels pulls in no file-format reader.
// SIMD kernels need `unsafe`: only `kernels::simd` may use it.
#![deny(unsafe_code)]

pub mod batch;
pub mod expr;
pub mod keras;
pub mod kernels;
pub mod neurons;
pub mod process;
pub mod real;
pub mod synapse;

pub use real::{Precision, Real};
