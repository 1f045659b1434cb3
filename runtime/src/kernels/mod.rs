//! Kernels of the operations that are not generated code: one Rust function per operation, called
//! by the interpreter and by the JIT's generated code alike, so every backend computes the same
//! values in the same order.

pub mod conv;
mod csc;
pub mod dense;
pub mod host;
pub mod neurons;
#[allow(unsafe_code)]
pub(crate) mod simd;
pub mod spike;

pub use csc::Csc;
