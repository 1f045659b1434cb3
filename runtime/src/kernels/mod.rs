//! Kernels of the operations that are not generated code: one Rust function per operation, called
//! by the interpreter and by the JIT's generated code alike, so every backend computes the same
//! values in the same order.

mod csc;

pub use csc::Csc;
